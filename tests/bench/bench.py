#!/usr/bin/env python3
"""`make bench`, inside the test VM: what reset, SVQ switch and migration cost.

    bench.py --system NAME --qemu NAME=PATH... [--sizes 256M,1G] [--runs 5]
             [--out FILE.jsonl]

For each guest memory size, run and QEMU binary (interleaved, so drift in
the machine's load spreads over all of them) one run is: a source QEMU on
/dev/vhost-vdpa-0 under qtest brings its virtio-net device to DRIVER_OK
(tests/lib/virtio_net.py) and echoes a frame; the device is reset and
brought up again (the reset cycle); a destination QEMU on /dev/vhost-vdpa-1
waits for an incoming migration; the source migrates to it over tcp, first
held back by a bandwidth limit until it is "active" (so the switch to shadow
virtqueues is a phase of its own), then at full speed; the destination's
NIC echoes a frame.  Each QEMU runs with its defaults (the fork:
x-iotlb-persist=auto).  One JSON object per run goes to FILE, after one
describing the system; tools/bench_report.py turns them into tables.
"""

import argparse
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from tests.lib import procfs
from tests.lib.qtest import TRACE_EVENTS, QTestMachine
from tests.lib.virtio_net import STATUS, VirtioNetPCI

NIC_SLOT = 4
DRIVER_OK_ALL = 0xf
TIMEOUT = 300           # seconds, per QMP/qtest reply or wait: 4 GiB under nested TCG
HOLD_BANDWIDTH = 64 << 10   # bytes/s while the SVQ switch is measured
FULL_BANDWIDTH = 100 << 30
TRACE_LINE = re.compile(r'^\d+@(\d+\.\d+):(vhost_vdpa_\w+|mark)\s*(.*)$')
# Migration's own downtime checkpoints: the source's stop, the destination's start
EVENTS = TRACE_EVENTS + ['vmstate_downtime_checkpoint']
CHECKPOINT = re.compile(r'^\d+@(\d+\.\d+):vmstate_downtime_checkpoint (\S+)')


class Machine(QTestMachine):
    """A QTestMachine with the helpers a migration benchmark needs."""

    def checkpoint(self, name):
        """Time of a vmstate_downtime_checkpoint in the trace."""
        for m in map(CHECKPOINT.match, self.log_text().splitlines()):
            if m and m[2] == name:
                return float(m[1])
        raise RuntimeError(f'no downtime checkpoint {name} in the trace')

    def pinned_kib(self):
        return procfs.pinned_kib(self.proc.pid)

    def wait(self, what, check, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() > deadline:
                raise RuntimeError(f'no {what} after {timeout} s')
            time.sleep(0.02)

    def wait_migration(self, status):
        def check():
            info = self.qmp('query-migrate')
            if info.get('status') in ('failed', 'cancelled'):
                raise RuntimeError(f'migration {info["status"]}: '
                                   f'{info.get("error-desc", "")}')
            return info if info.get('status') == status else None
        return self.wait(f'migration status {status}', check)


def vhost_span_ms(trace, phase):
    """Time from the first to the last vhost_vdpa trace event of a phase:
    what QEMU spent on the device, without the harness's polling."""
    current, first, last = None, None, None
    with open(trace, errors='replace') as f:
        for line in f:
            m = TRACE_LINE.match(line)
            if not m:
                continue
            if m[2] == 'mark':
                current = m[3].split('=', 1)[-1]
            elif current == phase:
                first = first or float(m[1])
                last = float(m[1])
    return round((last - first) * 1000, 3) if first else 0.0


def timed_status_writes(nic):
    """Record when the first write of each value to the device status
    register was issued and when it returned: {value: (issued, returned)}."""
    times = {}
    write = nic._w

    def w(off, width, val):
        issued = time.monotonic()
        write(off, width, val)
        if off == STATUS:
            times.setdefault(val, (issued, time.monotonic()))   # the first
            times.setdefault('all', []).append((val, issued, time.monotonic()))
    nic._w = w
    return times


def ms(seconds):
    return round(seconds * 1000, 3)


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def iotlb(phases, *names):
    """Sum the IOTLB counters of some trace phases."""
    keys = ('map', 'unmap', 'map_bytes', 'unmap_bytes', 'guest_map',
            'guest_unmap', 'guest_map_bytes', 'guest_unmap_bytes')
    return {k: sum(phases[n][k] for n in names if n in phases) for k in keys}


def one_run(qemu, size, work):
    def args(dev):
        return ['-M', 'q35', '-m', size,
                '-netdev', f'vhost-vdpa,vhostdev={dev},id=n0',
                '-device', f'virtio-net-pci,netdev=n0,id=nic0,addr={NIC_SLOT:02x}.0']
    traces = {side: os.path.join(work, f'{side}.log') for side in ('src', 'dst')}
    r = {'pinned_kib': {}}
    pins = r['pinned_kib']
    payload = b'bench ' + bytes(range(64))
    with Machine(args('/dev/vhost-vdpa-0'), trace=traces['src'], timeout=TIMEOUT,
                 qemu=qemu, events=EVENTS) as src:
        nic = VirtioNetPCI(src, NIC_SLOT)     # qtest replies: start-up is over
        pins['src_init'] = src.pinned_kib()
        src.mark('start')
        nic.start()
        assert nic.echo(payload) == payload, 'frame not echoed intact'
        pins['src_running'] = src.pinned_kib()

        status = timed_status_writes(nic)
        src.mark('reset')
        nic.reset()
        pins['src_reset'] = src.pinned_kib()
        nic.start()
        r['reset_ms'] = ms(status[DRIVER_OK_ALL][1] - status[0][0])
        # the two status writes alone: QEMU stopping and starting the device
        r['stop_ms'] = ms(status[0][1] - status[0][0])
        r['start_ms'] = ms(status[DRIVER_OK_ALL][1] - status[DRIVER_OK_ALL][0])
        # the driver's own status 0 before it starts again (a reset too)
        again = [t for t in status['all'] if t[0] == 0][1:2]
        r['zero_again_ms'] = ms(again[0][2] - again[0][1]) if again else None
        src.mark('running')
        assert nic.echo(payload) == payload, 'frame not echoed after reset'

        with Machine(args('/dev/vhost-vdpa-1') + ['-incoming', 'defer'],
                     trace=traces['dst'], timeout=TIMEOUT, qemu=qemu,
                     events=EVENTS) as dst:
            pins['dst_init'] = dst.pinned_kib()
            # multifd: zero pages are not read on the destination, which
            # would otherwise lag the source by a socket buffer of them
            for vm in (src, dst):
                vm.qmp('migrate-set-capabilities', capabilities=[
                    {'capability': 'multifd', 'state': True}])
            uri = f'tcp:127.0.0.1:{free_port()}'
            dst.mark('incoming')
            dst.qmp('migrate-incoming', uri=uri)
            src.qmp('migrate-set-parameters', **{'max-bandwidth': HOLD_BANDWIDTH})
            src.mark('svq')
            src.qmp('migrate', uri=uri)
            src.wait_migration('active')
            src.mark('migrate')
            src.qmp('migrate-set-parameters', **{'max-bandwidth': FULL_BANDWIDTH})
            info = src.wait_migration('completed')
            dst.wait('destination running',
                     lambda: dst.qmp('query-status')['status'] == 'running')
            src.mark('end')
            dst.mark('end')
            pins['dst_running'] = dst.pinned_kib()
            r['downtime_ms'] = info['downtime']
            r['setup_ms'] = info['setup-time']
            r['total_ms'] = info['total-time']
            # what the guest sees: from the source's stop to the destination's
            # start (QEMU's downtime ends when the source has sent it all)
            r['guest_downtime_ms'] = round(
                (dst.checkpoint('dst-precopy-bh-vm-started')
                 - src.checkpoint('src-downtime-start')) * 1000, 3)
            # the parts of it where vhost-vdpa stops and starts the device
            r['src_stop_ms'] = ms(src.checkpoint('src-vm-stopped')
                                  - src.checkpoint('src-downtime-start'))
            r['dst_start_ms'] = ms(dst.checkpoint('dst-precopy-bh-vm-started')
                                   - dst.checkpoint('dst-precopy-bh-announced'))
            # The driver carries on against the destination's device
            for obj in (nic, nic.rx, nic.tx):
                obj.qt = dst
            r['echo_after_migration'] = nic.echo(payload) == payload
            sp, dp = src.phases(), dst.phases()
    r['svq_ms'] = vhost_span_ms(traces['src'], 'svq')
    with open(traces['src'], errors='replace') as f:     # the fork says so
        r['iotlb_persist'] = 'iotlb_persist: 1' in f.read()
    r['iotlb'] = {
        'reset': iotlb(sp, 'reset'),
        'svq': iotlb(sp, 'svq'),
        # everything the migration costs, both sides, SVQ switch included
        'migration': iotlb({**{'s-' + k: v for k, v in sp.items()},
                            **{'d-' + k: v for k, v in dp.items()}},
                           's-svq', 's-migrate', 'd-init', 'd-incoming'),
        # what of it lands between the source's stop and the end
        'switchover': iotlb({**{'s-' + k: v for k, v in sp.items()},
                             **{'d-' + k: v for k, v in dp.items()}},
                            's-migrate', 'd-incoming'),
    }
    return r


def qemu_version(path):
    out = subprocess.run([path, '--version'], capture_output=True, text=True)
    return out.stdout.splitlines()[0] if out.stdout else '?'


def read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return '?'


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--system', required=True, help='name of this kernel')
    ap.add_argument('--qemu', action='append', required=True,
                    metavar='NAME=PATH', help='a QEMU binary to measure')
    ap.add_argument('--sizes', default='256M,1G,2G,4G')
    ap.add_argument('--runs', type=int, default=5)
    ap.add_argument('--out', default=os.path.join(os.environ.get('QVP_OUT', '/tmp'),
                                                  'bench.jsonl'))
    opts = ap.parse_args()
    qemus = dict(q.split('=', 1) for q in opts.qemu)
    sizes = opts.sizes.split(',')
    meta = {'type': 'system', 'system': opts.system, 'kernel': platform.release(),
            'kernel_version': read('/proc/version'),
            'thp': read('/sys/kernel/mm/transparent_hugepage/enabled'),
            'vm_mem_kib': int(read('/proc/meminfo').split()[1]),
            'qemu': {n: qemu_version(p) for n, p in qemus.items()},
            'qemu_built': {n: time.strftime('%F %T', time.gmtime(os.stat(p).st_mtime))
                           for n, p in qemus.items()},
            'sizes': sizes, 'runs': opts.runs, 'date': time.strftime('%F %T %z')}
    total = len(sizes) * opts.runs * len(qemus)
    done = failed = 0
    start = time.monotonic()
    work = tempfile.mkdtemp(prefix='qvp-bench-')     # tmpfs: traces off 9p
    keep = os.path.join(os.path.dirname(opts.out), 'traces')
    os.makedirs(keep, exist_ok=True)
    with open(opts.out, 'w') as out:
        out.write(json.dumps(meta) + '\n')
        for size in sizes:
            for run in range(1, opts.runs + 1):
                for name, path in qemus.items():
                    rec = {'type': 'run', 'system': opts.system, 'qemu': name,
                           'size': size, 'run': run}
                    try:
                        rec.update(one_run(path, size, work))
                    except Exception as e:      # record it, go on with the rest
                        rec['error'] = f'{type(e).__name__}: {e}'[:2000]
                        failed += 1
                    for side in ('src', 'dst'):
                        if os.path.exists(os.path.join(work, f'{side}.log')):
                            shutil.copy(os.path.join(work, f'{side}.log'), os.path.join(
                                keep, f'{opts.system}-{name}-{size}-{run}-{side}.log'))
                    out.write(json.dumps(rec) + '\n')
                    out.flush()
                    done += 1
                    progress(rec, done, total, time.monotonic() - start)
    sys.exit(1 if failed else 0)


def progress(r, done, total, elapsed):
    head = (f'[{r["system"]} {done}/{total}, {elapsed / 60:.1f} min, '
            f'~{elapsed / done * (total - done) / 60:.0f} min left] '
            f'{r["qemu"]} {r["size"]} run {r["run"]}:')
    if 'error' in r:
        print(f'{head} FAILED: {r["error"]}', flush=True)
        return
    io = r['iotlb']
    print(f'{head} reset {r["reset_ms"]:.0f} ms '
          f'({io["reset"]["guest_map"]}/{io["reset"]["guest_unmap"]} guest map/unmap), '
          f'SVQ switch {r["svq_ms"]:.0f} ms '
          f'({io["svq"]["guest_map"]}/{io["svq"]["guest_unmap"]}), '
          f'downtime {r["downtime_ms"]} ms (guest {r["guest_downtime_ms"]:.0f} ms), '
          f'echo after migration {"ok" if r["echo_after_migration"] else "BAD"}',
          flush=True)


if __name__ == '__main__':
    main()
