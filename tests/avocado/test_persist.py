"""What x-iotlb-persist changes at a migration, and migration with SVQ always.

vdpa_sim_net has no dirty page tracking, so QEMU switches the NIC to shadow
virtqueues when the migration starts.  Upstream (x-iotlb-persist=off) unmaps
and remaps guest memory at that switch and maps it on the destination only
at switchover; the fork keeps it mapped and maps the destination first.
"""

from vdpa_migration import MIB, VdpaMigrationTest


class PersistTest(VdpaMigrationTest):
    def tcp_migration(self):
        src, dst, uri = self.tcp_pair()
        return self.migrate(src, dst, uri)


class PersistOnTest(PersistTest):
    persist = 'on'

    def test_guest_memory_stays_mapped(self):
        self.assert_guest_memory_pinned_once(self.tcp_migration())


class PersistOffTest(PersistTest):
    persist = 'off'

    def test_upstream_remaps_guest_memory(self):
        r = self.tcp_migration()
        self.assertGreater(r['src_migrate_guest_unmap'], 0)
        self.assertGreater(r['src_migrate_guest_map'], 0)
        self.assertEqual(r['dst_init_guest_map_bytes'], 0)
        self.assertGreaterEqual(r['dst_migrate_guest_map_bytes'], 128 * MIB)


class SvqAlwaysTest(PersistTest):
    svq = True

    def test_migrate_with_svq(self):
        r = self.tcp_migration()
        self.assertEqual(r['src_migrate_guest_unmap'], 0)


class FirmwareTest(VdpaMigrationTest):
    """SeaBIOS re-lays out memory below 1 MiB (PAM) at every boot, and each
    change merges or splits the RAM section: the IOTLB follows by difference,
    so only the window whose backing changes is unmapped and mapped, and
    guest memory is pinned once for the life of the VM."""
    mem = '256M'

    def assert_mapped_once(self, phase):
        ram = 256 * MIB
        self.assertGreaterEqual(phase['guest_map_bytes'], ram)
        self.assertLess(phase['guest_map_bytes'], ram + MIB,
                        'guest memory mapped more than once')
        self.assertLess(phase['guest_unmap_bytes'], MIB,
                        'guest memory unmapped while the firmware booted')

    def test_boot_maps_guest_memory_once(self):
        vm = self.running_source()
        self.assert_mapped_once(vm.phases()['init'])

    def test_system_reset_keeps_guest_memory(self):
        vm = self.running_source()
        vm.mark('system-reset')
        vm.cmd('system_reset')
        vm.wait_recv(5, since=vm.wait_boot(2))    # booted again, NIC back up
        reset = vm.phases()['system-reset']
        # Only the firmware window below 1 MiB changes backing
        self.assertLess(reset['guest_unmap_bytes'], 2 * MIB,
                        'guest memory unmapped by the machine reset')
        self.assertLess(reset['guest_map_bytes'], 2 * MIB,
                        'guest memory pinned again after the machine reset')
