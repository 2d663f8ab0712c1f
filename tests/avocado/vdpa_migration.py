"""Base class of the migration scenarios, in the style of QEMU's avocado
migration tests (tests/avocado/migration.py there), on QEMU's python/qemu.

Runs inside the test VM: source and destination QEMU each own one
vdpa_sim_net device (/dev/vhost-vdpa-0 and -1) and run the tiny guest, which
sends numbered frames through its NIC and checks every echo.  A scenario
passes when query-migrate says completed on both sides, the destination runs,
the source is in postmigrate, and the guest's counters keep rising on the
destination with no corrupt or out-of-order frame.  Each migration's
downtime, setup and total time, frames lost and IOTLB messages are printed
as TAP comments and appended to $QVP_OUT/migration-results.jsonl.
"""

import json
import os
import shutil
import socket
import tempfile
import unittest

from tests.lib import migration
from tests.lib.guest_vm import GuestVM

OUT = os.environ.get('QVP_OUT', tempfile.gettempdir())
RESULTS = os.path.join(OUT, 'migration-results.jsonl')
MIB = 1 << 20
# Echoes the destination must receive after switchover to count as running
FRAMES_AFTER = 20


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class VdpaMigrationTest(unittest.TestCase):
    guest_os = 'tiny'           # or 'linux' (tests/guest-linux)
    mem = '128M'
    persist = 'on'
    svq = False
    append = ''

    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix='qvp-mig-')
        self.vms = []

    def tearDown(self):
        for vm in self.vms:
            try:
                vm.shutdown()
            except Exception:       # already gone: killed or failed
                pass
        # Keep serial logs and traces where the host can read them
        keep = os.path.join(OUT, 'avocado', self.id())
        shutil.rmtree(keep, ignore_errors=True)
        shutil.copytree(self.workdir, keep,
                        ignore=shutil.ignore_patterns('*.sock', '*.fifo', '*-monitor*'))
        shutil.rmtree(self.workdir, ignore_errors=True)

    # -- machines --------------------------------------------------------
    def guest(self, name, dev, incoming=None, **opts):
        kw = dict(mem=self.mem, persist=self.persist, svq=self.svq,
                  append=self.append, guest_os=self.guest_os)
        kw.update(opts)
        vm = GuestVM(name, self.workdir, f'/dev/vhost-vdpa-{dev}',
                     incoming=incoming, **kw)
        self.vms.append(vm)
        return vm.launch()

    def running_source(self, dev=0, **opts):
        """A source whose guest has its NIC up and echoes coming back."""
        src = self.guest('src', dev, **opts)
        src.wait_recv(5)
        return src

    def tcp_pair(self, src=None):
        """A running source (new unless given) and a destination waiting
        for it on tcp."""
        uri = f'tcp:127.0.0.1:{free_port()}'
        src = src or self.running_source()
        return src, self.guest('dst', 1, incoming=uri), uri

    # -- assertions --------------------------------------------------------
    def assert_no_bad_frames(self, vm):
        now = vm.counters()
        self.assertIsNotNone(now, f'{vm.name}: no counters on serial')
        self.assertEqual((now['corrupt'], now['ooo']), (0, 0),
                         f'{vm.name}: corrupt or out-of-order frames: {now}')

    def assert_migration(self, src, dst):
        """What QEMU's avocado migration tests assert, plus the traffic."""
        before = src.counters()
        self.assertEqual(src.cmd('query-migrate')['status'], 'completed')
        self.assertEqual(dst.cmd('query-migrate')['status'], 'completed')
        self.assertEqual(dst.status(), 'running')
        self.assertEqual(src.status(), 'postmigrate')
        after = dst.wait_recv(before['recv'] + FRAMES_AFTER)
        self.assertGreater(after['sent'], before['sent'])
        self.assert_no_bad_frames(src)
        self.assert_no_bad_frames(dst)
        return before, after

    def assert_guest_memory_pinned_once(self, r):
        """What a persistent IOTLB promises at a migration (r: record())."""
        mem = int(self.mem.rstrip('M')) * MIB
        self.assertEqual((r['src_migrate_guest_map'], r['src_migrate_guest_unmap']),
                         (0, 0), 'source remapped guest memory at the SVQ switch')
        self.assertGreaterEqual(r['dst_init_guest_map_bytes'], mem,
                                'destination did not map guest memory before '
                                'the migration')
        # ... once: its start-up reset re-lays out only the window below 1 MiB
        self.assertLess(r['dst_init_guest_map_bytes'], mem + 2 * MIB,
                        'destination mapped guest memory more than once')
        self.assertLessEqual(r['dst_init_guest_unmap_bytes'], MIB,
                             'destination unmapped guest memory before the '
                             'migration')
        # Loading the machine state re-lays out the PC's ROM/PAM window
        # below 1 MiB; RAM itself is not mapped again
        self.assertLess(r['dst_migrate_guest_map_bytes'], MIB,
                        'destination pinned guest memory again at switchover')

    def assert_traffic_continues(self, vm):
        before = vm.counters()
        vm.wait_recv(before['recv'] + FRAMES_AFTER)
        self.assert_no_bad_frames(vm)

    # -- the usual migration, with its numbers recorded ----------------------
    def migrate(self, src, dst, uri):
        migration.start(src, dst, uri)
        info = migration.finish(src, dst)
        before, after = self.assert_migration(src, dst)
        return self.record(src, dst, info, before, after)

    def record(self, src, dst, info, before, after):
        sp, dp = src.phases(), dst.phases()
        empty = {'guest_map': 0, 'guest_unmap': 0, 'map': 0, 'unmap': 0,
                 'guest_map_bytes': 0, 'guest_unmap_bytes': 0}
        smig, dinit = sp.get('migrate', empty), dp.get('init', empty)
        dmig = dp.get('migrate', empty)
        result = {
            'test': self.id(), 'mem': self.mem, 'persist': self.persist,
            'svq': self.svq, 'downtime_ms': info.get('downtime'),
            'setup_ms': info.get('setup-time'),
            'total_ms': info.get('total-time'),
            'frames_lost': migration.lost_frames(before, after),
            'src_migrate_map': smig['map'], 'src_migrate_unmap': smig['unmap'],
            'src_migrate_guest_map': smig['guest_map'],
            'src_migrate_guest_unmap': smig['guest_unmap'],
            'src_migrate_guest_unmap_bytes': smig['guest_unmap_bytes'],
            'dst_init_guest_map_bytes': dinit['guest_map_bytes'],
            'dst_init_guest_unmap_bytes': dinit['guest_unmap_bytes'],
            'dst_migrate_guest_map': dmig['guest_map'],
            'dst_migrate_guest_map_bytes': dmig['guest_map_bytes'],
            'dst_pinned_kib': dst.pinned_kib(),
        }
        print('# ' + ' '.join(f'{k}={v}' for k, v in result.items()), flush=True)
        with open(RESULTS, 'a') as f:
            f.write(json.dumps(result) + '\n')
        return result
