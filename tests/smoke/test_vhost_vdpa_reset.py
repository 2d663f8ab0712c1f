"""Smoke test: our QEMU drives a real vhost-vdpa device (vdpa_sim_net).

Asserts what upstream QEMU 10.0 does on every device reset, read from its
trace: guest memory is mapped when the device starts, all of it is unmapped
at reset and mapped again at the next start.  The fork behaves like that
with x-iotlb-persist=off, on any kernel.
"""

import os
import unittest

from tests.lib import reset_cycle

VHOSTDEV = '/dev/vhost-vdpa-0'
GUEST_MEM = 256 << 20


class VhostVdpaResetTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists(VHOSTDEV):
            raise AssertionError(f'{VHOSTDEV} is missing: run inside tests/vm/run')
        cls.trace = os.path.join(os.environ.get('QVP_OUT', '/tmp'),
                                 'smoke-trace.log')
        cls.phases, cls.echoes = reset_cycle.run(
            VHOSTDEV, persist='off', trace=cls.trace)

    def counts(self, phase):
        return self.phases[phase]['asid'].get('0', {'map': 0, 'unmap': 0,
                                                    'map_bytes': 0,
                                                    'unmap_bytes': 0})

    def test_frames_echoed(self):
        self.assertEqual(self.echoes, list(reset_cycle.PAYLOADS))

    def test_guest_memory_mapped_at_start(self):
        start = self.counts('start')
        self.assertGreater(start['map'], 0, 'no IOTLB map at DRIVER_OK')
        self.assertGreaterEqual(start['map_bytes'], GUEST_MEM,
                                'less than guest RAM mapped at DRIVER_OK')

    def test_reset_unmaps_everything_mapped(self):
        start, reset = self.counts('start'), self.counts('reset')
        self.assertEqual(reset['unmap'], start['map'],
                         'reset did not unmap every mapping')
        self.assertEqual(reset['unmap_bytes'], start['map_bytes'])
        self.assertEqual(reset['map'], 0)

    def test_restart_maps_again(self):
        start, restart = self.counts('start'), self.counts('restart')
        self.assertEqual(restart['map'], start['map'])
        self.assertEqual(restart['map_bytes'], start['map_bytes'])
