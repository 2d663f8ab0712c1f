"""Behind a vIOMMU the IOTLB is not kept across reset.

The device then maps what the guest maps in its IOMMU, and the guest may
change that while the device is stopped, so a mapping kept across reset
could outlive the guest's.  The fork drops it at reset as upstream does,
even with x-iotlb-persist=on, and maps again at the next start.
"""

import os
import unittest

from tests.lib.nic import NIC_SLOT, nic_args
from tests.lib.qtest import QTestMachine
from tests.lib.reset_cycle import PAYLOADS
from tests.lib.virtio_net import VirtioNetPCI


class ViommuTest(unittest.TestCase):
    def test_no_persistence_behind_viommu(self):
        trace = os.path.join(os.environ.get('QVP_OUT', '/tmp'), 'viommu.log')
        args = ['-M', 'q35', '-m', '256M', '-device', 'intel-iommu']
        args += nic_args(persist='on', slot=NIC_SLOT, iommu_platform=True)
        with QTestMachine(args, trace=trace) as qt:
            nic = VirtioNetPCI(qt, NIC_SLOT)
            qt.mark('start')
            nic.start(features=(1 << 32) | (1 << 33))  # VERSION_1, ACCESS_PLATFORM
            self.assertEqual(nic.echo(PAYLOADS[0]), PAYLOADS[0])
            qt.mark('reset')
            nic.reset()
            qt.mark('restart')
            nic.start(features=(1 << 32) | (1 << 33))
            self.assertEqual(nic.echo(PAYLOADS[1]), PAYLOADS[1])
            qt.mark('end')
        p = qt.phases()
        self.assertGreater(p['start']['guest_map'], 0,
                           'the DMA address space was not mapped at start')
        self.assertEqual(p['reset']['guest_unmap'], p['start']['guest_map'],
                         'a mapping made through the vIOMMU outlived the reset')
        self.assertEqual(p['restart']['guest_map'], p['start']['guest_map'])
