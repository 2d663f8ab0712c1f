"""Migration destination: guest memory is pinned before the switchover.

A destination QEMU waiting for an incoming migration already has guest
memory mapped (and so pinned) with a persistent IOTLB, so the downtime does
not contain it; upstream maps it only when the device starts, at switchover.
"""

import os
import unittest

from qtest import QTestMachine

GUEST_MEM = 256 << 20


def incoming_trace(mode):
    trace = os.path.join(os.environ.get('QVP_OUT', '/tmp'),
                         f'incoming-{mode}.log')
    args = ['-M', 'q35', '-m', '256M', '-incoming', 'defer',
            '-netdev', f'vhost-vdpa,vhostdev=/dev/vhost-vdpa-0,id=n0,'
                       f'x-iotlb-persist={mode}',
            '-device', 'virtio-net-pci,netdev=n0,id=nic0']
    with QTestMachine(args, trace=trace) as qt:
        status = qt.qmp('query-status')['status']
        qt.mark('waiting')
    phases = qt.phases()
    return status, phases['init']


class IncomingPremapTest(unittest.TestCase):
    def test_persist_maps_during_incoming_setup(self):
        status, init = incoming_trace('on')
        self.assertEqual(status, 'inmigrate')
        self.assertGreaterEqual(init['guest_map_bytes'] - init['guest_unmap_bytes'],
                                GUEST_MEM, 'guest memory not mapped while waiting')

    def test_upstream_maps_nothing_before_switchover(self):
        status, init = incoming_trace('off')
        self.assertEqual(status, 'inmigrate')
        self.assertEqual(init['map'], 0)
