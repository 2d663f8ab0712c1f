"""Migration destination: guest memory is pinned once, before the switchover.

A destination QEMU waiting for an incoming migration already has guest
memory mapped (and so pinned) with a persistent IOTLB, so the downtime does
not contain it; upstream maps it only when the device starts, at switchover.
It is pinned exactly once, and only for a NIC that will use it directly:
not for a netdev no NIC uses, nor for a NIC behind a vIOMMU, which gets the
guest's IOVAs at its start.
"""

import unittest

from tests.lib.nic import device_args, netdev_args
from tests.lib.paths import out_path
from tests.lib.qtest import QTestMachine

GUEST_MEM = 256 << 20
MIB = 1 << 20


def incoming_trace(name, mode='on', nic=True, viommu=False):
    trace = out_path(f'incoming-{name}.log')
    args = ['-M', 'q35', '-m', '256M', '-incoming', 'defer'] + netdev_args(persist=mode)
    if viommu:
        args += ['-device', 'intel-iommu']
    if nic:
        args += device_args(iommu_platform=viommu)
    with QTestMachine(args, trace=trace) as qt:
        status = qt.qmp('query-status')['status']
        qt.mark('waiting')
    phases = qt.phases()
    return status, phases['init']


class IncomingPremapTest(unittest.TestCase):
    def test_persist_maps_once_during_incoming_setup(self):
        status, init = incoming_trace('on')
        self.assertEqual(status, 'inmigrate')
        self.assertGreaterEqual(init['guest_map_bytes'], GUEST_MEM,
                                'guest memory not mapped while waiting')
        # The start-up reset re-lays out the firmware window below 1 MiB
        # (its own IOTLB entries); the RAM above is pinned once
        self.assertLessEqual(init['guest_unmap_bytes'], MIB,
                             'guest memory unmapped before the migration')
        self.assertLess(init['guest_map_bytes'], GUEST_MEM + 2 * MIB,
                        'guest memory mapped more than once')

    def test_upstream_maps_nothing_before_switchover(self):
        status, init = incoming_trace('off', 'off')
        self.assertEqual(status, 'inmigrate')
        self.assertEqual(init['map'], 0)

    def test_no_premap_without_nic(self):
        status, init = incoming_trace('no-nic', nic=False)
        self.assertEqual(status, 'inmigrate')
        self.assertEqual(init['map'], 0, 'mapped for a netdev no NIC uses')

    def test_no_premap_behind_viommu(self):
        status, init = incoming_trace('viommu', viommu=True)
        self.assertEqual(status, 'inmigrate')
        self.assertEqual(init['map'], 0, 'mapped for a NIC behind a vIOMMU')
