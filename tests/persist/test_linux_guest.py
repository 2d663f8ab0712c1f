"""Machine reset and guest reboot under traffic, with the Linux test guest.

QMP system_reset and a reboot the guest asks for itself (reboot(2): the
kernel shuts virtio_net down, which resets the device, then resets the
machine) both go through qemu_system_reset: the firmware boots again and
re-lays out memory below 1 MiB.  With a persistent IOTLB only that window
changes backing, so guest RAM is pinned once for the life of the VM;
upstream unmaps and pins all of it again at each one.

A Linux boot takes a minute or two here (TCG in the TCG test VM), so each
machine type boots once and then goes through both events.
"""

import tempfile
import unittest

from tests.lib.guest_vm import GuestVM

MIB = 1 << 20
MEM = 256 * MIB
# What the firmware's PAM/ROM window may cost at a reboot
WINDOW = 2 * MIB


def system_reset(vm):
    vm.cmd('system_reset')


def guest_reboot(vm):
    vm.command('reboot')


class RebootTest(unittest.TestCase):
    def reboots_keep_ram_pinned(self, machine):
        vm = GuestVM(f'linux-{machine}', tempfile.mkdtemp(prefix='qvp-reboot-'),
                     '/dev/vhost-vdpa-0', mem=f'{MEM // MIB}M', machine=machine,
                     guest_os='linux')
        self.addCleanup(vm.shutdown)
        vm.launch().wait_recv(5)
        for boot, (event, how) in enumerate((('system-reset', system_reset),
                                             ('guest-reboot', guest_reboot)), 2):
            vm.mark(event)
            how(vm)
            after = vm.wait_recv(20, since=vm.wait_boot(boot))
            self.assertEqual((after['corrupt'], after['ooo']), (0, 0),
                             f'{event}: {after}')
            vm.mark('running')
            phase = vm.phases()[event]
            print(f'# {machine} {event}: guest memory map/unmap '
                  f'{phase["guest_map"]}/{phase["guest_unmap"]}, '
                  f'{phase["guest_map_bytes"] / MIB:.1f} MiB pinned again',
                  flush=True)
            self.assertLess(phase['guest_unmap_bytes'], WINDOW,
                            f'guest memory unmapped by the {event}')
            self.assertLess(phase['guest_map_bytes'], WINDOW,
                            f'guest memory pinned again after the {event}')

    def test_pc(self):
        self.reboots_keep_ram_pinned('pc')

    def test_q35(self):
        self.reboots_keep_ram_pinned('q35')
