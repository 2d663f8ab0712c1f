"""The SVQ-switch scenario: what a migration start and cancel do to the NIC.

A vhost-vdpa device without dirty page tracking (vdpa_sim_net) is migrated
through shadow virtqueues (SVQ): QEMU restarts it with shadowed data
virtqueues when a migration starts, and back without them when it ends or is
cancelled.  The scenario brings the device up and echoes a frame, starts a
slow migration to a file (phase svq-on), echoes a frame through SVQ,
cancels the migration (phase svq-off) and echoes again.
"""

import os
import tempfile

from tests.lib.migration import wait_status
from tests.lib.nic import NIC_SLOT, VHOSTDEV, nic_args
from tests.lib.qtest import QTestMachine
from tests.lib.virtio_net import VirtioNetPCI

PHASES = ('start', 'svq-on', 'svq-off')
PAYLOADS = (b'before migration', b'through SVQ', b'after cancel')


def run(vhostdev=VHOSTDEV, mem='256M', persist=None, trace=None):
    """Run the scenario; return ({phase: counts}, [echoed payload, ...])."""
    args = ['-M', 'q35', '-m', mem] + nic_args(vhostdev, persist, slot=NIC_SLOT)
    echoes = []
    target = os.path.join(tempfile.mkdtemp(prefix='qvp-mig-'), 'state')
    with QTestMachine(args, trace=trace) as qt:
        nic = VirtioNetPCI(qt, NIC_SLOT)
        qt.mark('start')
        nic.start()
        echoes.append(nic.echo(PAYLOADS[0]))
        # Slow enough to still be running when it is cancelled
        qt.qmp('migrate-set-parameters', **{'max-bandwidth': 1 << 20})
        qt.mark('svq-on')
        qt.qmp('migrate', uri=f'file:{target}')
        wait_status(qt, ('active',), timeout=60)
        echoes.append(nic.echo(PAYLOADS[1]))
        qt.mark('svq-off')
        qt.qmp('migrate_cancel')
        wait_status(qt, ('cancelled',), timeout=60)
        echoes.append(nic.echo(PAYLOADS[2]))
        qt.mark('end')
    os.unlink(target)
    return qt.phases(), echoes
