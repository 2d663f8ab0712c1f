"""libvirt as its users run it, in the test VM: Debian's libvirtd with our
qemu-system-x86_64 as the emulator of a domain with a vDPA interface.

Libvirtd is one daemon in a mount namespace of its own (libvirtd.sh), reached
over TCP on the loopback.  Domain is one side of a domain (the source, or the
destination of a migration): its XML is domain.xml filled in, and its guest's
counters (serial file) and QEMU's vhost_vdpa_* trace are read as GuestVM
reads them.  QVP_LIBVIRT_PERSIST=off runs the domains on qemu-persist-off
(upstream behaviour) instead of our QEMU: the suite's red run.
"""

import json
import os
import re
import string
import subprocess
import uuid

from tests.lib import procfs
from tests.lib.guest_vm import GUEST, GuestVM
from tests.lib.paths import GUEST_LINUX_INITRD, GUEST_LINUX_KERNEL, QEMU
from tests.lib.wait import wait_for
from tools import iotlb_trace

HERE = os.path.dirname(os.path.abspath(__file__))
NAME = 'virt13'
MIB = 1 << 20
GUEST_MEM = 256 * MIB       # domain.xml's <memory>
VIRSH_TIMEOUT = 300
EMULATOR = (os.path.join(HERE, 'qemu-persist-off')
            if os.environ.get('QVP_LIBVIRT_PERSIST') == 'off' else QEMU)
# The tiny guest drives only a modern-only virtio-net-pci (tests/guest)
TINY_GUEST_OVERRIDE = """  <qemu:override>
    <qemu:device alias='net0'>
      <qemu:frontend>
        <qemu:property name='disable-legacy' type='string' value='on'/>
      </qemu:frontend>
    </qemu:device>
  </qemu:override>
"""


class VirshError(Exception):
    pass


def linux_guest():
    """Whether the Linux test guest is built (make guest-linux)."""
    return os.path.exists(GUEST_LINUX_KERNEL) and os.path.exists(GUEST_LINUX_INITRD)


def domain_xml(vhostdev, serial, trace):
    """domain.xml for the Linux test guest, or for the tiny guest until
    that is built (no initrd or command line, a modern-only NIC)."""
    with open(os.path.join(HERE, 'domain.xml')) as f:
        template = string.Template(f.read())
    xml = template.substitute(
        kernel=GUEST_LINUX_KERNEL if linux_guest() else GUEST,
        initrd=GUEST_LINUX_INITRD, emulator=EMULATOR, vhostdev=vhostdev,
        serial=serial, trace=trace)
    if not linux_guest():
        xml = re.sub(r'\n\s*<(initrd|cmdline)>.*</\1>', '', xml)
        xml = xml.replace('</domain>', TINY_GUEST_OVERRIDE + '</domain>')
    return xml


def pinned_pages():
    """Pages pinned for DMA (FOLL_PIN, as vhost-vdpa pins guest memory) in
    the whole VM and not yet released."""
    with open('/proc/vmstat') as f:
        stat = dict(line.split() for line in f)
    return int(stat['nr_foll_pin_acquired']) - int(stat['nr_foll_pin_released'])


def device_busy(path):
    """Whether a process holds the vhost-vdpa device (it has one opener)."""
    try:
        os.close(os.open(path, os.O_RDWR))
    except OSError:
        return True
    return False


class Libvirtd:
    """One libvirt daemon (libvirtd.sh), started at once, and virsh
    connected to it (after wait())."""

    def __init__(self, name, port, workdir):
        self.name = name
        self.uri = f'qemu+tcp://127.0.0.1:{port}/system'
        self.log = os.path.join(workdir, f'libvirtd-{name}.log')
        cache = os.path.join(workdir, 'capabilities-cache')
        os.makedirs(cache, exist_ok=True)
        host_uuid = str(uuid.uuid5(uuid.NAMESPACE_DNS, f'{name}.libvirt.qvp'))
        with open(os.path.join(workdir, f'libvirtd-{name}.out'), 'w') as out:
            self.proc = subprocess.Popen(
                ['unshare', '--mount', 'sh', os.path.join(HERE, 'libvirtd.sh'),
                 name, str(port), host_uuid, cache, self.log],
                stdout=out, stderr=subprocess.STDOUT)


    def wait(self):
        """Wait until the daemon answers virsh; return it."""
        def answers():
            if self.proc.poll() is not None:
                raise VirshError(f'libvirtd {self.name} exited {self.proc.returncode}; '
                                 f'log: {self.log_tail()}')
            return self.virsh('list', check=False).returncode == 0
        wait_for(f'libvirtd {self.name} to answer on {self.uri}', answers,
                 timeout=180, interval=1, details=self.log_tail)
        return self

    def log_tail(self):
        try:
            with open(self.log, errors='replace') as f:
                return ' | '.join(f.read().splitlines()[-5:])
        except FileNotFoundError:
            return '(no log)'

    def virsh(self, *args, check=True):
        proc = subprocess.run(['virsh', '-c', self.uri, *args], text=True,
                              capture_output=True, timeout=VIRSH_TIMEOUT)
        if check and proc.returncode:
            raise VirshError(f'virsh {" ".join(args)} on {self.name}: '
                             f'{proc.stderr.strip()}')
        return proc

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Domain(GuestVM):
    """The domain NAME as one libvirtd runs it, on one vhost-vdpa device.

    Its guest's counters and QEMU's trace are GuestVM's (lines(), counters(),
    wait_recv(), mark(), phases()); QMP goes through virsh
    qemu-monitor-command."""

    def __init__(self, daemon, side, workdir, vhostdev):
        # Not QEMUMachine's: libvirt starts QEMU
        self.daemon = daemon
        self.name = side
        self.vhostdev = vhostdev
        self.serial = os.path.join(workdir, f'{side}-serial.log')
        self.trace = os.path.join(workdir, f'{side}-trace.log')
        self.marks = []
        self.xml = domain_xml(vhostdev, self.serial, self.trace)

    def virsh(self, *args, check=True):
        return self.daemon.virsh(*args, check=check)

    def start(self):
        """virsh define and virsh start, as a user would."""
        path = self.serial.replace('-serial.log', '.xml')
        with open(path, 'w') as f:
            f.write(self.xml)
        self.virsh('define', path)
        self.mark('init')
        self.virsh('start', NAME)
        return self

    def cmd(self, command, **args):
        out = self.virsh('qemu-monitor-command', NAME,
                         json.dumps({'execute': command, 'arguments': args}))
        return json.loads(out.stdout)['return']

    def state(self):
        return self.virsh('domstate', NAME, check=False).stdout.strip()

    def pid(self):
        """The QEMU process of this side (the one writing its trace)."""
        for entry in os.listdir('/proc'):
            try:
                with open(f'/proc/{entry}/cmdline', 'rb') as f:
                    args = f.read().decode(errors='replace').split('\0')
            except (OSError, ValueError):
                continue
            if self.trace in args:
                return int(entry)
        return None

    def cmdline(self):
        with open(f'/proc/{self.pid()}/cmdline', 'rb') as f:
            return f.read().decode(errors='replace').split('\0')

    def pinned_kib(self):
        return procfs.pinned_kib(self.pid())

    def mark_at_first(self, event, phase, **fields):
        """Start phase `phase` at the first trace line of `event` whose
        arguments include `fields` (say the device start at switchover)."""
        with open(self.trace, errors='replace') as f:
            for line in f:
                m = iotlb_trace.LINE.match(line.strip())
                if m and m['event'] == event and fields.items() <= \
                        iotlb_trace.parse_args(m['args']).items():
                    self.marks.append((float(m['ts']), phase))
                    return
        raise AssertionError(f'{self.name}: no {event} {fields} in {self.trace}')

    def migratable_xml_for(self, other):
        """The XML of the running domain for `other`'s side: its device,
        serial file and trace (virsh migrate --xml)."""
        xml = self.virsh('dumpxml', '--migratable', NAME).stdout
        for mine, theirs in ((self.vhostdev, other.vhostdev),
                             (self.serial, other.serial), (self.trace, other.trace)):
            xml = xml.replace(f"'{mine}'", f"'{theirs}'")
        return xml

    def destroy(self):
        self.virsh('destroy', NAME)
