"""The reset-cycle scenario: one vhost-vdpa virtio-net device under qtest.

Brings the device to DRIVER_OK and echoes a frame, resets it, brings it up
and echoes again; each step is a trace phase, and the
IOTLB traffic of each phase is counted with tools/iotlb_trace.py.
"""


from tests.lib.nic import NIC_SLOT, VHOSTDEV, nic_args
from tests.lib.qtest import QTestMachine
from tests.lib.virtio_net import VirtioNetPCI

PHASES = ('start', 'reset', 'restart')
# What is sent after the first DRIVER_OK and after the reset
PAYLOADS = (b'first frame ' + bytes(range(64)), b'after reset ' + bytes(range(64)))


def run(vhostdev=VHOSTDEV, mem='256M', persist=None, trace=None):
    """Run the scenario; return ({phase: counts}, [echoed payload, ...])."""
    args = ['-M', 'q35', '-m', mem] + nic_args(vhostdev, persist, slot=NIC_SLOT)
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
