"""Guest memory is unmapped only once the device is stopped and reset.

Whatever ends the device's use of guest memory (the NIC unplugged, QEMU
exiting, a reset behind a vIOMMU), the order is: stop, device reset, then
unmap; otherwise the device may DMA into pages that are no longer pinned.
Each path is checked in QEMU's own trace (tools/iotlb_trace.py), with the
netdev created at start-up and with netdev_add later.
"""

import unittest

from tests.lib.nic import NIC_SLOT, netdev_options, nic_args, nic_options
from tests.lib.paths import out_path
from tests.lib.qtest import QTestMachine
from tests.lib.reset_cycle import PAYLOADS
from tests.lib.virtio_net import VirtioNetPCI
from tools import iotlb_trace

NIC = nic_args(persist='on', slot=NIC_SLOT)
ACPI_PCIHP_EJ = 0xae08          # the pc machine's ACPI PCI hotplug eject


def trace_path(name):
    return out_path(f'order-{name}.log')


class UnmapOrderTest(unittest.TestCase):
    def check_order(self, qt):
        lines = qt.log_text().splitlines()
        unmaps = sum(p['guest_unmap'] for p in iotlb_trace.analyse(lines))
        self.assertGreater(unmaps, 0, 'guest memory was never unmapped')
        bad = iotlb_trace.unmaps_while_running(lines)
        self.assertEqual(bad, [], 'guest memory unmapped before the device '
                         'was stopped and reset')

    def run_nic(self, qt):
        nic = VirtioNetPCI(qt, NIC_SLOT)
        nic.start()
        self.assertEqual(nic.echo(PAYLOADS[0]), PAYLOADS[0])
        return nic

    def unplug(self, qt):
        qt.qmp('device_del', id='nic0')
        qt.outl(ACPI_PCIHP_EJ, 1 << NIC_SLOT)
        self.assertNotIn('nic0', [d.get('qdev_id') for b in qt.qmp('query-pci')
                                  for d in b['devices']])

    def test_device_del(self):
        args = ['-M', 'pc', '-m', '256M'] + NIC
        with QTestMachine(args, trace=trace_path('device-del')) as qt:
            self.run_nic(qt)
            self.unplug(qt)
        self.check_order(qt)

    def test_netdev_add_then_system_reset_and_device_del(self):
        with QTestMachine(['-M', 'pc', '-m', '256M'],
                          trace=trace_path('netdev-add')) as qt:
            qt.qmp('netdev_add', **netdev_options(persist='on'))
            qt.qmp('device_add', **nic_options(slot=NIC_SLOT))
            self.run_nic(qt)
            qt.qmp('system_reset')
            self.run_nic(qt)
            self.unplug(qt)
        self.check_order(qt)

    def test_exit(self):
        args = ['-M', 'q35', '-m', '256M'] + NIC
        with QTestMachine(args, trace=trace_path('exit')) as qt:
            self.run_nic(qt)
        self.check_order(qt)

    def test_reset_behind_viommu(self):
        args = ['-M', 'q35', '-m', '256M', '-device', 'intel-iommu']
        args += nic_args(persist='on', slot=NIC_SLOT, iommu_platform=True)
        with QTestMachine(args, trace=trace_path('viommu')) as qt:
            nic = VirtioNetPCI(qt, NIC_SLOT)
            nic.start(features=(1 << 32) | (1 << 33))  # VERSION_1, ACCESS_PLATFORM
            self.assertEqual(nic.echo(PAYLOADS[0]), PAYLOADS[0])
            nic.reset()
        self.check_order(qt)
