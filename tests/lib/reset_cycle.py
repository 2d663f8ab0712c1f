"""The reset-cycle scenario: one vhost-vdpa virtio-net device under qtest.

Brings the device to DRIVER_OK and echoes a frame, resets it, brings it up
and echoes again; each step is a trace phase, and the
IOTLB traffic of each phase is counted with tools/iotlb_trace.py.
"""


from tests.lib.qtest import QTestMachine
from tests.lib.virtio_net import VirtioNetPCI

NIC_SLOT = 4
PHASES = ('start', 'reset', 'restart')
# What is sent after the first DRIVER_OK and after the reset
PAYLOADS = (b'first frame ' + bytes(range(64)), b'after reset ' + bytes(range(64)))


def run(vhostdev='/dev/vhost-vdpa-0', mem='256M', netdev_opts='', trace=None):
    """Run the scenario; return ({phase: counts}, [echoed payload, ...])."""
    args = ['-M', 'q35', '-m', mem,
            '-netdev', f'vhost-vdpa,vhostdev={vhostdev},id=n0{netdev_opts}',
            '-device', f'virtio-net-pci,netdev=n0,id=nic0,addr={NIC_SLOT:02x}.0']
    echoes = []
    with QTestMachine(args, trace=trace) as qt:
        nic = VirtioNetPCI(qt, NIC_SLOT)
        qt.mark('start')
        nic.start()
        echoes.append(nic.echo(PAYLOADS[0]))
        qt.mark('reset')
        nic.reset()
        qt.mark('restart')
        nic.start()
        echoes.append(nic.echo(PAYLOADS[1]))
        qt.mark('end')
    return qt.phases(), echoes
