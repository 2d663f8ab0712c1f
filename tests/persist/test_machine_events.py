"""system_reset and memory hotplug with a persistent IOTLB.

A whole-machine reset releases guest memory, as upstream does, because the
firmware that runs next re-lays out low memory (tests/avocado/test_persist.py
boots real firmware); the NIC's next start maps it once.  Hotplugged memory
is mapped on its own, region by region, without touching the rest.
"""

import os
import unittest

from qtest import QTestMachine
from reset_cycle import NIC_SLOT, PAYLOADS
from virtio_net import VirtioNetPCI

DIMM = 128 << 20


def machine(name):
    trace = os.path.join(os.environ.get('QVP_OUT', '/tmp'), f'{name}.log')
    args = ['-M', 'q35', '-m', '256M,slots=2,maxmem=1G',
            '-netdev', 'vhost-vdpa,vhostdev=/dev/vhost-vdpa-0,id=n0,'
                       'x-iotlb-persist=on',
            '-device', f'virtio-net-pci,netdev=n0,id=nic0,addr={NIC_SLOT:02x}.0']
    return QTestMachine(args, trace=trace)


class MachineEventsTest(unittest.TestCase):
    def test_system_reset_releases_guest_memory(self):
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
        reset, restart = p['system-reset'], p['restart']
        self.assertEqual(reset['guest_map'], 0)
        self.assertGreaterEqual(reset['guest_unmap_bytes'], 256 << 20)
        self.assertGreaterEqual(restart['guest_map_bytes'], 256 << 20)
        self.assertEqual(restart['guest_unmap'], 0)

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
