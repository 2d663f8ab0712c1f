"""The SVQ switch at migration start and cancel: guest memory is not remapped.

Upstream QEMU unmaps all guest memory and maps it again at new IOVAs when
data virtqueues switch to shadow virtqueues, and once more when they switch
back.  With a persistent IOTLB the fork keeps guest memory at IOVA = GPA in
both modes: only the shadow vrings are mapped and unmapped.
"""

import unittest

from tests.lib import svq_switch
from tests.lib.nic import NIC_SLOT, nic_args
from tests.lib.paths import out_path
from tests.lib.qtest import QTestMachine
from tests.lib.virtio_net import VirtioNetPCI
from tools import iotlb_trace

GUEST_MEM = 256 << 20


class SvqSwitchTest(unittest.TestCase):
    def run_switch(self, mode):
        trace = out_path(f'svq-switch-{mode}.log')
        phases, echoes = svq_switch.run(persist=mode, trace=trace)
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


# i440fx: SMRAM register (D_OPEN | G_SMRAME | 0xa0000 segment) opens RAM at
# 0xa0000-0xbffff; std VGA's BAR0 is 16 MiB of RAM the guest can put
# anywhere in the PCI hole, here right above guest RAM.
I440FX_SMRAM = 0x72
SMRAM_OPEN = 0x4a
VGA_SLOT, VGA_BAR = 5, 0x10000000


class ShadowIovaTest(unittest.TestCase):
    def test_shadow_iovas_outside_guest_memory(self):
        """RAM appearing in a hole while SVQ runs is mapped; nothing collides."""
        trace = out_path('svq-holes.log')
        args = ['-M', 'pc', '-m', '256M', '-device', f'VGA,addr={VGA_SLOT:02x}.0']
        args += nic_args(persist='on', svq=True, slot=NIC_SLOT)
        with QTestMachine(args, trace=trace) as qt:
            nic = VirtioNetPCI(qt, NIC_SLOT)
            nic.start()
            self.assertEqual(nic.echo(b'before'), b'before')
            qt.mark('ram-in-holes')
            qt.pci_write8(0, I440FX_SMRAM, SMRAM_OPEN)
            vga = VGA_SLOT << 3
            qt.pci_write32(vga, 0x10, VGA_BAR)
            qt.pci_write32(vga, 0x04, qt.pci_read(vga, 0x04) | 0x2)  # memory on
            qt.mark('end')
            self.assertEqual(nic.echo(b'after'), b'after')
        log = qt.log_text()
        self.assertFalse("Can't record guest memory" in log,
                         'RAM in a hole collided with a shadow IOVA')
        holes = qt.phases()['ram-in-holes']
        self.assertGreaterEqual(holes['guest_map_bytes'], (16 << 20) + 0x20000,
                                'RAM that appeared in a hole was not mapped')
        shadow = [iova for asid, iova, _ in iotlb_trace.shadow_maps(log.splitlines())
                  if asid == 0]
        self.assertTrue(shadow, 'no shadow vring mapped')
        self.assertTrue(all(iova >= 1 << 32 for iova in shadow),
                        f'shadow vrings at {[hex(i) for i in shadow]}, '
                        'inside the guest-physical space')
