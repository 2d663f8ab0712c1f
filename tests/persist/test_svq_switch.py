"""The SVQ switch at migration start and cancel: guest memory is not remapped.

Upstream QEMU unmaps all guest memory and maps it again at new IOVAs when
data virtqueues switch to shadow virtqueues, and once more when they switch
back.  With a persistent IOTLB the fork keeps guest memory at IOVA = GPA in
both modes: only the shadow vrings are mapped and unmapped.
"""

import os
import unittest

import svq_switch

GUEST_MEM = 256 << 20


class SvqSwitchTest(unittest.TestCase):
    def run_switch(self, mode):
        trace = os.path.join(os.environ.get('QVP_OUT', '/tmp'),
                             f'svq-switch-{mode}.log')
        phases, echoes = svq_switch.run(netdev_opts=f',x-iotlb-persist={mode}',
                                        trace=trace)
        self.assertEqual(echoes, list(svq_switch.PAYLOADS),
                         'a frame did not come back intact')
        return phases

    def test_persist_keeps_guest_memory_mapped(self):
        phases = self.run_switch('on')
        for phase in ('svq-on', 'svq-off'):
            p = phases[phase]
            self.assertEqual((p['guest_map'], p['guest_unmap']), (0, 0),
                             f'guest memory remapped in {phase}')
        self.assertGreater(phases['svq-on']['map'], 0,
                           'no shadow vring mapped at the switch to SVQ')
        self.assertEqual(phases['svq-off']['unmap'], phases['svq-on']['map'],
                         'shadow vrings not all unmapped at the switch back')

    def test_upstream_remaps_guest_memory(self):
        phases = self.run_switch('off')
        for phase in ('svq-on', 'svq-off'):
            p = phases[phase]
            self.assertGreaterEqual(p['guest_unmap_bytes'], GUEST_MEM, phase)
            self.assertGreaterEqual(p['guest_map_bytes'], GUEST_MEM, phase)
