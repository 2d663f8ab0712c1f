"""system_reset, the firmware's memory re-layout and memory hotplug with a
persistent IOTLB.

Guest memory is pinned once for the life of the VM: a machine reset keeps
it mapped, and when the memory map changes (the firmware's PAM registers
below 1 MiB, hotplugged memory) only what really changes backing is
unmapped or mapped, by difference; upstream unmaps and re-pins all the RAM
the changed section merges with or splits from.
"""

import resource
import unittest

from tests.lib.nic import NIC_SLOT, nic_args
from tests.lib.paths import out_path
from tests.lib.procfs import pinned_kib
from tests.lib.qtest import QTestMachine
from tests.lib.reset_cycle import PAYLOADS
from tests.lib.virtio_net import VirtioNetPCI

DIMM = 128 << 20


# PAM0 of q35's host bridge (00.0): bits 5:4 decode 0xf0000-0xfffff (3: RAM)
MCH_PAM0 = 0x90


def write_pam0(qt, val):
    qt.pci_write8(0, MCH_PAM0, val)


def machine(name, persist='on'):
    trace = out_path(f'{name}.log')
    args = ['-M', 'q35', '-m', '256M,slots=2,maxmem=1G']
    args += nic_args(persist=persist, slot=NIC_SLOT)
    return QTestMachine(args, trace=trace)


class MachineEventsTest(unittest.TestCase):
    def test_system_reset_keeps_guest_memory(self):
        with machine('system-reset') as qt:
            nic = VirtioNetPCI(qt, NIC_SLOT)
            nic.start()
            self.assertEqual(nic.echo(PAYLOADS[0]), PAYLOADS[0])
            qt.mark('system-reset')
            qt.qmp('system_reset')
            qt.mark('restart')
            nic = VirtioNetPCI(qt, NIC_SLOT)      # the BARs were reset too
            nic.start()
            self.assertEqual(nic.echo(PAYLOADS[1]), PAYLOADS[1])
            qt.mark('end')
        p = qt.phases()
        for phase in ('system-reset', 'restart'):
            self.assertEqual((p[phase]['guest_map'], p[phase]['guest_unmap']),
                             (0, 0), f'guest memory remapped in {phase}')

    def pam_change(self, mode):
        """Shadow the BIOS (0xf0000 becomes RAM) and back, NIC running."""
        with machine(f'pam-{mode}', mode) as qt:
            nic = VirtioNetPCI(qt, NIC_SLOT)
            nic.start()
            qt.mark('pam-ram')
            write_pam0(qt, 0x30)
            qt.mark('pam-rom')
            write_pam0(qt, 0x00)
            qt.mark('end')
            self.assertEqual(nic.echo(PAYLOADS[0]), PAYLOADS[0])
        return qt.phases()

    def test_pam_change_remaps_only_the_window(self):
        p = self.pam_change('on')
        for phase in ('pam-ram', 'pam-rom'):
            self.assertGreater(p[phase]['guest_map'], 0, phase)
            self.assertLessEqual(p[phase]['guest_map_bytes'], 0x20000, phase)
            self.assertLessEqual(p[phase]['guest_unmap_bytes'], 0x20000, phase)

    def test_upstream_pam_change_repins_ram(self):
        p = self.pam_change('off')
        self.assertGreaterEqual(p['pam-ram']['guest_unmap_bytes'], 255 << 20)
        self.assertGreaterEqual(p['pam-ram']['guest_map_bytes'], 255 << 20)

    def test_hotplugged_memory_mapped_alone(self):
        with machine('memory-hotplug') as qt:
            nic = VirtioNetPCI(qt, NIC_SLOT)
            nic.start()
            qt.mark('hotplug')
            qt.qmp('object-add', **{'qom-type': 'memory-backend-ram',
                                    'id': 'mem1', 'size': DIMM})
            qt.qmp('device_add', driver='pc-dimm', id='dimm1', memdev='mem1')
            qt.mark('end')
            self.assertEqual(nic.echo(PAYLOADS[0]), PAYLOADS[0])
        hotplug = qt.phases()['hotplug']
        self.assertEqual((hotplug['guest_map'], hotplug['guest_unmap']), (1, 0))
        self.assertEqual(hotplug['guest_map_bytes'], DIMM)

    def test_failed_map_retried_at_next_start(self):
        """Memory hotplugged past RLIMIT_MEMLOCK is mapped at the next start."""
        with machine('memlock') as qt:
            nic = VirtioNetPCI(qt, NIC_SLOT)
            nic.start()
            pid = qt.proc.pid
            limit = pinned_kib(pid) * 1024 + DIMM // 2
            resource.prlimit(pid, resource.RLIMIT_MEMLOCK, (limit, limit))
            qt.qmp('object-add', **{'qom-type': 'memory-backend-ram',
                                    'id': 'mem1', 'size': DIMM})
            qt.qmp('device_add', driver='pc-dimm', id='dimm1', memdev='mem1')
            self.assertEqual(nic.echo(PAYLOADS[0]), PAYLOADS[0])
            pinned = pinned_kib(pid)
            unlimited = (resource.RLIM_INFINITY, resource.RLIM_INFINITY)
            resource.prlimit(pid, resource.RLIMIT_MEMLOCK, unlimited)
            nic.reset()
            qt.mark('restart')
            nic.start()
            qt.mark('end')
            self.assertEqual(nic.echo(PAYLOADS[1]), PAYLOADS[1])
            self.assertEqual(pinned_kib(pid) - pinned, DIMM >> 10,
                             'the DIMM was not pinned at the next start')
        self.assertIn('Raise it by', qt.log_text(),
                      'no word on what to raise RLIMIT_MEMLOCK to')
        restart = qt.phases()['restart']
        self.assertEqual(restart['guest_map_bytes'], DIMM)
