"""A vDPA interface under libvirt, as its users run it (issue 13, item 3).

In the test VM, two Debian libvirt daemons (libvirtd.sh: each its own
runtime directories and host UUID, on TCP loopback) run our QEMU.  One
domain (domain.xml: <interface type='vdpa'> on /dev/vhost-vdpa-0) lives
through, in this order: define and start, with IOTLB_PERSIST acked through
the file descriptor libvirt passes; virsh reset and virsh reboot under
traffic, neither pinning guest RAM again; virsh migrate --live to the second
daemon on /dev/vhost-vdpa-1, whose QEMU pins guest memory once, before the
switchover, the traffic going on there; virsh destroy, after which no page is
left pinned and both devices can be opened again.
"""

import os
import shutil
import tempfile
import time
import unittest

from libvirt_env import (EMULATOR, GUEST_MEM, MIB, NAME, Domain, Libvirtd,
                         device_busy, linux_guest, pinned_pages)
from tests.lib.paths import out_path
from tests.lib.wait import wait_for

DEVICES = ('/dev/vhost-vdpa-0', '/dev/vhost-vdpa-1')
# Echoes to see after an event for traffic to count as going on
FRAMES_AFTER = 20
# A machine reset re-lays out the firmware's window below 1 MiB (PAM),
# whose backing changes; guest RAM above it must stay mapped and pinned.
FIRMWARE_WINDOW = 2 * MIB
MIGRATION_PORT = 49152
# Under TCG in TCG on a loaded machine a Linux guest boot took 160 s
BOOT_TIMEOUT = 600


class LibvirtVdpaTest(unittest.TestCase):
    """The scenarios share one domain and run in the order of their names."""

    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix='virt13-')
        cls.baseline_pinned = pinned_pages()
        cls.daemons = []
        cls.addClassCleanup(cls.clean_up)
        cls.src = cls.daemon('src', 16601)
        cls.dst = cls.daemon('dst', 16602)
        start = time.monotonic()
        for d in cls.daemons:
            d.wait()
        up = time.monotonic()
        cls.dom = Domain(cls.src, 'src', cls.workdir, DEVICES[0]).start()
        started = time.monotonic()
        print(f'# guest: {"Linux" if linux_guest() else "tiny (tests/guest)"}; '
              f'emulator: {EMULATOR}', flush=True)
        cls.dom.wait_recv(5, timeout=BOOT_TIMEOUT)
        print(f'# both daemons answering after {up - start:.0f} s, domain defined '
              f'and started in {started - up:.0f} s (QEMU probed), first echoes '
              f'{time.monotonic() - started:.0f} s later', flush=True)

    @classmethod
    def daemon(cls, name, port):
        d = Libvirtd(name, port, cls.workdir)
        cls.daemons.append(d)
        return d

    @classmethod
    def clean_up(cls):
        for d in cls.daemons:
            d.virsh('destroy', NAME, check=False)
            d.stop()
        keep = out_path('libvirt')
        shutil.rmtree(keep, ignore_errors=True)
        shutil.copytree(cls.workdir, keep,
                        ignore=shutil.ignore_patterns('capabilities-cache'))
        shutil.rmtree(cls.workdir, ignore_errors=True)

    # -- assertions --------------------------------------------------------
    def assert_no_bad_frames(self, dom):
        now = dom.counters()
        self.assertEqual((now['corrupt'], now['ooo']), (0, 0),
                         f'{dom.name}: corrupt or out-of-order frames: {now}')

    def assert_traffic_goes_on(self, dom, since=0):
        before = dom.counters(since) or {'recv': 0}
        dom.wait_recv(before['recv'] + FRAMES_AFTER, timeout=BOOT_TIMEOUT, since=since)
        self.assert_no_bad_frames(dom)

    def restart_under_traffic(self, command, guest_says=None):
        """virsh reset or reboot while frames flow: the guest boots again
        in the same QEMU and its traffic goes on, with guest RAM neither
        unmapped nor pinned again (only the firmware window changes
        backing).  guest_says: a line the guest prints on the way."""
        dom = self.dom
        pid = dom.pid()
        self.assert_traffic_goes_on(dom)
        since = len(dom.lines())
        dom.mark(command)
        dom.virsh(command, NAME)
        wait_for(f'{dom.name}: the guest ready again after virsh {command}',
                 # (the reset may cut the line before it short)
                 lambda: [line for line in dom.lines()[since:]
                          if 'qvp-guest: ready' in line],
                 timeout=BOOT_TIMEOUT, details=lambda: dom.lines()[-3:])
        self.assert_traffic_goes_on(dom, since)
        dom.mark(f'after-{command}')
        self.assertEqual(dom.pid(), pid, f'QEMU restarted at virsh {command}')
        if guest_says:
            self.assertIn(guest_says, dom.lines()[since:])
        phase = dom.phases()[command]
        print(f'# virsh {command}: guest memory map/unmap '
              f'{phase["guest_map"]}/{phase["guest_unmap"]}, '
              f'{phase["guest_map_bytes"] / MIB:.1f} MiB mapped again', flush=True)
        self.assertLess(phase['guest_map_bytes'], FIRMWARE_WINDOW,
                        f'guest RAM pinned again at virsh {command}')
        self.assertLess(phase['guest_unmap_bytes'], FIRMWARE_WINDOW,
                        f'guest RAM unmapped at virsh {command}')

    # -- the scenarios -----------------------------------------------------
    def test_1_start_acks_iotlb_persist(self):
        """libvirt opens the device and passes QEMU its descriptor; with the
        default x-iotlb-persist=auto, QEMU probes and acks IOTLB_PERSIST
        through it and pins guest memory."""
        netdev = [a for a in self.dom.cmdline() if '"vhost-vdpa"' in a]
        self.assertEqual(len(netdev), 1, self.dom.cmdline())
        print(f'# -netdev {netdev[0]}', flush=True)
        self.assertIn('"vhostdev":"/dev/fdset/', netdev[0])
        with open(self.dom.trace) as f:
            acked = [line.strip() for line in f if 'vhost_vdpa_set_backend_cap' in line]
        print(f'# {acked[-1] if acked else "no vhost_vdpa_set_backend_cap"}', flush=True)
        self.assertTrue(acked and acked[-1].endswith('iotlb_persist: 1'),
                        f'IOTLB_PERSIST not acked: {acked}')
        self.assertGreaterEqual(self.dom.pinned_kib() * 1024, GUEST_MEM)
        self.assertEqual(self.dom.cmd('query-status')['status'], 'running')
        self.assertNotIn('x-iotlb-persist', netdev[0], 'not the default (auto)')

    def test_2_reset_under_traffic(self):
        self.restart_under_traffic('reset')

    @unittest.skipUnless(linux_guest(), 'virsh reboot needs ACPI: the Linux test '
                         'guest (make guest-linux)')
    def test_3_reboot_under_traffic(self):
        """libvirt's reboot: ACPI power button, the guest powers off, libvirt
        resets the machine and resumes it."""
        self.restart_under_traffic('reboot', guest_says='qvp-guest: poweroff')

    def test_4_migrate_live(self):
        """To the second daemon over loopback: the destination QEMU pins
        guest memory once, before the switchover; the source does not remap
        it when the NIC switches to shadow virtqueues."""
        src = self.dom
        dst = Domain(self.dst, 'dst', self.workdir, DEVICES[1])
        xml = os.path.join(self.workdir, 'dst-migrate.xml')
        with open(xml, 'w') as f:
            f.write(src.migratable_xml_for(dst))
        before = src.counters()
        src.mark('migrate')
        src.virsh('migrate', '--live', '--xml', xml, NAME, self.dst.uri,
                  # the VM has no IPv6, libvirt's default listen address
                  '--listen-address', '127.0.0.1',
                  '--migrateuri', f'tcp://127.0.0.1:{MIGRATION_PORT}')
        type(self).dom = dst
        self.assertEqual(dst.state(), 'running')
        self.assertEqual(src.virsh('list', '--name').stdout.strip(), '')
        dst.wait_recv(before['recv'] + FRAMES_AFTER, timeout=BOOT_TIMEOUT)
        self.assert_no_bad_frames(dst)

        # (until the source QEMU exits, unmapping what it mapped)
        src.mark_at_first('vhost_vdpa_cleanup', 'exit')
        migrating = src.phases()['migrate']
        dst.mark_at_first('vhost_vdpa_dev_start', 'switchover', started=1)
        dp = dst.phases()
        print(f'# source while migrating: guest memory map/unmap '
              f'{migrating["guest_map"]}/{migrating["guest_unmap"]}; destination: '
              f'{dp["init"]["guest_map_bytes"] / MIB:.1f} MiB mapped before the '
              f'switchover, {dp["switchover"]["guest_map_bytes"] / MIB:.1f} MiB at it',
              flush=True)
        self.assertGreaterEqual(dp['init']['guest_map_bytes'], GUEST_MEM,
                                'the destination did not pin guest memory '
                                'before the switchover')
        self.assertLess(dp['init']['guest_map_bytes'], GUEST_MEM + FIRMWARE_WINDOW,
                        'the destination mapped guest memory more than once')
        self.assertLess(dp['switchover']['guest_map_bytes'], FIRMWARE_WINDOW,
                        'the destination pinned guest RAM at the switchover')
        self.assertEqual((migrating['guest_map'], migrating['guest_unmap']), (0, 0),
                         'the source remapped guest memory')

    def test_5_destroy_unpins(self):
        """virsh destroy: QEMU goes, and with it every pinned page; both
        devices can be opened again."""
        dom = self.dom
        pid = dom.pid()
        self.assertGreaterEqual(dom.pinned_kib() * 1024, GUEST_MEM)
        self.assertGreater(pinned_pages(), self.baseline_pinned)
        dom.destroy()
        wait_for(f'the pages QEMU {pid} pinned to be released after virsh destroy',
                 pinned_pages, lambda n: n == self.baseline_pinned, timeout=60)
        self.assertEqual([d for d in DEVICES if device_busy(d)], [],
                         'a vhost-vdpa device still held after virsh destroy')
