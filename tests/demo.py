#!/usr/bin/env python3
"""`make demo`, inside the test VM: live-migrate a guest with a vhost-vdpa NIC.

The tiny guest (tests/guest) sends numbered frames through vdpa_sim_net and
checks every echo, resetting its NIC every RESET_EVERY frames.  It runs on
/dev/vhost-vdpa-0, is reset as a whole (system_reset: the firmware boots
again) and live-migrated over tcp to a QEMU on /dev/vhost-vdpa-1, once with
upstream behaviour (x-iotlb-persist=off) and once with the fork's; the
table sums up what each cost.
"""

import os
import sys

from tests.lib import migration
from tests.lib.guest_vm import GuestVM
from tools.iotlb_trace import table

OUT = os.environ.get('QVP_OUT', '/tmp')
MEM = '256M'
RESET_EVERY = 100
RESETS = 3          # NIC resets counted before the migration


def scenario(mode, port):
    work = os.path.join(OUT, f'demo-{mode}')
    os.makedirs(work, exist_ok=True)
    uri = f'tcp:127.0.0.1:{port}'
    opts = dict(mem=MEM, persist=mode, append=f'reset_every={RESET_EVERY}')
    src = GuestVM('src', work, '/dev/vhost-vdpa-0', **opts)
    dst = GuestVM('dst', work, '/dev/vhost-vdpa-1', incoming=uri, **opts)
    try:
        src.launch()
        first = src.wait_counter('resets', 0, timeout=120)
        src.mark('resets')
        last = src.wait_counter('resets', first['resets'] + RESETS - 1, timeout=120)
        src.mark('system-reset')
        src.cmd('system_reset')
        src.wait_recv(5, since=src.wait_boot(2))   # booted again, NIC back up
        src.mark('running')
        pinned_src = src.pinned_kib()
        dst.launch()
        pinned_dst = dst.pinned_kib()
        migration.start(src, dst, uri)
        info = migration.finish(src, dst)
        before = src.counters()
        after = dst.wait_recv(before['recv'] + 20)
        sp, dp = src.phases(), dst.phases()
    finally:
        for vm in (src, dst):
            vm.shutdown()
    return {
        'resets': last['resets'] - first['resets'], 'reset': sp['resets'],
        'system_reset': sp['system-reset'],
        'migrate': sp['migrate'], 'dst_init': dp['init'], 'dst': dp['migrate'],
        'pinned_src': pinned_src, 'pinned_dst': pinned_dst,
        'downtime': info['downtime'], 'lost': migration.lost_frames(before, after),
        'bad': after['corrupt'] + after['ooo'], 'src_phases': sp, 'dst_phases': dp,
    }


def msgs(phase):
    return f"{phase['guest_map']}/{phase['guest_unmap']}"


def pinned_mib(phase):
    return f"{phase['guest_map_bytes'] / (1 << 20):.1f} MiB"


def main():
    print(f'qemu-system-x86_64 -M pc -m {MEM} -kernel tests/guest (a tiny guest '
          f'echoing numbered frames,\nresetting its NIC every {RESET_EVERY} '
          f'frames) -netdev vhost-vdpa on vdpa_sim_net,\nlive-migrated over tcp '
          f'to a second QEMU on a second vdpa_sim_net device.\n')
    results = {}
    for port, mode in ((47001, 'off'), (47002, 'on')):
        results[mode] = r = scenario(mode, port)
        print(f'== x-iotlb-persist={mode}: IOTLB messages per phase, source '
              f'(traces in out/demo/demo-{mode}/)')
        print(table([r['src_phases'][p] for p in
                     ('init', 'resets', 'system-reset', 'running', 'migrate',
                      'after')
                     if p in r['src_phases']]))
        print('destination')
        print(table([r['dst_phases'][p] for p in ('init', 'migrate', 'after')
                     if p in r['dst_phases']]))
        print()
    head = ('', f'guest-memory map/unmap in {RESETS} NIC resets',
            'system_reset (firmware boots again): map/unmap, pinned again',
            'at migration: source', 'destination before / at switchover',
            'pinned before migration, MiB: source / destination',
            'downtime ms', 'frames lost / corrupt or out of order')
    rows = [head]
    for mode, what in (('off', 'upstream (x-iotlb-persist=off)'),
                       ('on', 'fork (x-iotlb-persist=on)')):
        r = results[mode]
        rows.append((what, f"{msgs(r['reset'])} ({r['resets']} resets)",
                     f"{msgs(r['system_reset'])}, {pinned_mib(r['system_reset'])}",
                     msgs(r['migrate']), f"{msgs(r['dst_init'])} / {msgs(r['dst'])}",
                     f"{r['pinned_src'] >> 10} / {r['pinned_dst'] >> 10}",
                     str(r['downtime']), f"{r['lost']} / {r['bad']}"))
    print('Summary (map/unmap = IOTLB messages for guest memory):\n')
    for row in rows:
        print('| ' + ' | '.join(row) + ' |')
        if row is head:
            print('|' + '---|' * len(row))
    sys.exit(1 if any(r['bad'] for r in results.values()) else 0)


if __name__ == '__main__':
    main()
