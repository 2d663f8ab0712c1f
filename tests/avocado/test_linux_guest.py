"""Live migration of the Linux test guest (tests/guest-linux).

The kernel's own virtio_net drives the NIC: it negotiates the control
virtqueue, which QEMU shadows in address space 1 of vdpa_sim_net, and its
frames go to its own MAC, which the device's receive filter checks.
"""

from tests.lib.vdpa_dev import device_mac
from vdpa_migration import MIB, VdpaMigrationTest
# No zero byte: vdpa_sim_net compares MACs with strncmp
NEW_MAC = '02:11:22:33:44:55'


class LinuxGuestTest(VdpaMigrationTest):
    guest_os = 'linux'
    mem = '256M'

    def tcp_migration(self, src=None):
        src, dst, uri = self.tcp_pair(src)
        return dst, self.migrate(src, dst, uri)


class PersistOnTest(LinuxGuestTest):
    def test_migrate_with_mac_set_through_cvq(self):
        """Guest memory pinned once on each side; the MAC the guest set
        through the control virtqueue is the destination device's after
        the migration (QEMU replays it through the shadow CVQ), so the
        guest's unicast frames to it keep echoing."""
        src = self.running_source()
        src.command(f'mac {NEW_MAC}')
        src.wait_line(f'qvp-guest: mac={NEW_MAC}')
        self.assert_traffic_continues(src)
        _, r = self.tcp_migration(src)
        self.assertEqual(device_mac('vdpa1'), NEW_MAC,
                         'the destination device does not have the MAC')
        self.assert_guest_memory_pinned_once(r)


class PersistOffTest(LinuxGuestTest):
    persist = 'off'

    def test_upstream_migrate(self):
        _, r = self.tcp_migration()
        self.assertGreater(r['src_migrate_guest_unmap'], 0)
        self.assertEqual(r['dst_init_guest_map_bytes'], 0)
        self.assertGreaterEqual(r['dst_migrate_guest_map_bytes'], 256 * MIB)


class DriverReloadTest(LinuxGuestTest):
    """virtio_net unbound and bound again every 10 frames, before, during
    and after the migration: each rebind resets the device, on the source
    running on shadow virtqueues, then on the destination."""
    append = 'qvp.rebind_every=10'

    def test_driver_reloads_during_migration(self):
        src = self.running_source()
        src.wait_counter('resets', 0)
        dst, r = self.tcp_migration(src)
        dst.wait_counter('resets', dst.counters()['resets'] + 1)
        self.assert_traffic_continues(dst)
        self.assertEqual((r['src_migrate_guest_map'], r['src_migrate_guest_unmap']),
                         (0, 0), 'a driver reload remapped guest memory while '
                         'migrating')
