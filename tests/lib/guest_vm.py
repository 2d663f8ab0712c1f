"""A test guest in a QEMU process, through QEMU's python/qemu: the tiny
freestanding one (tests/guest) or the Linux one (tests/guest-linux).

Either sends numbered frames through the vhost-vdpa NIC and checks the
echoes; every period it prints its counters on the serial port, which goes
to a file here.  The Linux guest also takes commands (command()) on its
second serial port, a Unix socket here.  QEMU's
vhost_vdpa_* trace goes to another file (-D), and mark() records phase
boundaries by time for tools/iotlb_trace.py.
"""

import os
import re
import socket
import time

from qemu.machine import QEMUMachine

from tests.lib import procfs
from tests.lib.nic import nic_args
from tests.lib.paths import GUEST_LINUX_INITRD, GUEST_LINUX_KERNEL, QEMU, TOP
from tests.lib.wait import wait_for
from tools import iotlb_trace

GUEST = os.path.join(TOP, 'tests', 'guest', 'build', 'guest.elf')
COUNTERS = ('t', 'sent', 'recv', 'corrupt', 'ooo', 'lost', 'resets')
LINE = re.compile(r'^qvp-guest: ' + ' '.join(rf'{c}=(\d+)' for c in COUNTERS))


class GuestError(Exception):
    pass


def tiny_guest_args(serial, control, append):
    args = ['-kernel', GUEST, '-serial', f'file:{serial}']
    return args + (['-append', append] if append else [])


def linux_guest_args(serial, control, append):
    """ttyS0 is the console, ttyS1 reads commands from the socket control."""
    return ['-kernel', GUEST_LINUX_KERNEL, '-initrd', GUEST_LINUX_INITRD,
            '-append', f'console=ttyS0 quiet {append}'.strip(),
            '-serial', f'file:{serial}',
            '-chardev', f'socket,id=ctl,path={control},server=on,wait=off',
            '-serial', 'chardev:ctl']


# guest_os: (its files, how to make them, its QEMU arguments, seconds its
# waits allow: Linux boots in 1-2 minutes under TCG in the TCG test VM)
GUESTS = {
    'tiny': ((GUEST,), 'make guest', tiny_guest_args, 60),
    'linux': ((GUEST_LINUX_KERNEL, GUEST_LINUX_INITRD), 'make guest-linux',
              linux_guest_args, 300),
}


class GuestVM:
    """One QEMU running a test guest with a vhost-vdpa virtio-net NIC.

    persist: x-iotlb-persist, None for QEMU's default (the only choice for a
    QEMU without our series); qemu: another binary than ours (the benchmark's
    peers), extra_args: more of its options."""

    def __init__(self, name, workdir, vhostdev, mem='128M', persist='on',
                 svq=False, append='', incoming=None, machine='pc',
                 guest_os='tiny', qemu=QEMU, extra_args=()):
        self.name = name
        self.files, self.make, guest_args, self.timeout = GUESTS[guest_os]
        self.serial = os.path.join(workdir, f'{name}-serial.log')
        self.control_path = os.path.join(workdir, f'{name}-control.sock')
        self.control = None
        self.trace = os.path.join(workdir, f'{name}-trace.log')
        for f in (self.serial, self.trace):
            if os.path.exists(f):
                os.unlink(f)
        args = ['-M', machine, '-accel', 'tcg', '-m', mem, '-nodefaults',
                '-msg', 'timestamp=on', '-trace', 'enable=vhost_vdpa_*',
                '-D', self.trace] + guest_args(self.serial, self.control_path, append)
        args += nic_args(vhostdev, persist=persist, svq=svq, modern_only=True)
        if incoming:
            args += ['-incoming', incoming]
        args += list(extra_args)
        self.vm = QEMUMachine(qemu, args=args, name=name, base_temp_dir=workdir)
        self.marks = []

    def launch(self):
        for f in self.files:
            if not os.path.exists(f):
                raise GuestError(f'{f} is missing: run "{self.make}"')
        self.mark('init')
        self.vm.launch()
        return self

    def cmd(self, command, **args):
        return self.vm.cmd(command, **args)

    # the name QTestMachine gives it: tests/lib/migration.py drives either
    qmp = cmd

    def status(self):
        return self.cmd('query-status')['status']

    def mark(self, phase):
        self.marks.append((time.time(), phase))

    def command(self, text):
        """A command line to the Linux guest (tests/guest-linux/README.md)."""
        if not self.control:
            self.control = socket.socket(socket.AF_UNIX)
            self.control.connect(self.control_path)
        self.control.sendall(text.encode() + b'\n')

    # -- the guest's counters ------------------------------------------------
    def lines(self):
        try:
            with open(self.serial, errors='replace') as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def samples(self, since=0):
        """Every counter line so far (from line `since` on), as dicts."""
        return [dict(zip(COUNTERS, map(int, m.groups())))
                for m in map(LINE.match, self.lines()[since:]) if m]

    def counters(self, since=0):
        samples = self.samples(since)
        return samples[-1] if samples else None

    def errors(self):
        return [line for line in self.lines() if line.startswith('qvp-guest: error')]

    def boots(self):
        """The serial line numbers where the guest came up, one per boot."""
        # A machine reset can cut the line before it short: "in", not startswith
        return [i for i, line in enumerate(self.lines())
                if 'qvp-guest: ready' in line]

    def wait_boot(self, n, timeout=None):
        """Wait for the guest's n-th boot; the line number it starts at."""
        return wait_for(f'{self.name}: boot {n} of the guest', self.boots,
                        lambda boots: len(boots) >= n, timeout or self.timeout,
                        details=lambda: f'serial: {self.lines()[-3:]}')[n - 1]

    def wait_line(self, text, timeout=None, since=0):
        """Wait for a serial line that is exactly text."""
        wait_for(f'{self.name}: serial line {text!r}',
                 lambda: text in self.lines()[since:], timeout=timeout or self.timeout,
                 details=lambda: f'serial: {self.lines()[-3:]}')

    def wait_counter(self, counter, above, timeout=None, since=0):
        """Wait until the guest's counter (COUNTERS) is above `above`, in
        serial lines from line `since` on (a rebooted guest counts from 0
        again); return the counters then."""
        def observe():
            if self.errors():
                raise GuestError(f'{self.name}: {self.errors()[0]}')
            return self.counters(since)
        return wait_for(f'{self.name}: guest counter {counter} above {above}',
                        observe, lambda now: now and now[counter] > above,
                        timeout or self.timeout,
                        details=lambda: f'serial: {self.lines()[-3:]}')

    def wait_recv(self, above, timeout=None, since=0):
        """Wait until the guest has received more than `above` echoes."""
        return self.wait_counter('recv', above, timeout, since)

    # -- what the host sees --------------------------------------------------
    def pinned_kib(self):
        return procfs.pinned_kib(self.vm.get_pid())

    def phases(self):
        """IOTLB traffic per phase (see mark()): {phase: counts}."""
        try:
            with open(self.trace, errors='replace') as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            lines = []
        rows = iotlb_trace.analyse(iotlb_trace.with_marks(lines, self.marks))
        return {r['phase']: r for r in rows}

    def close_control(self):
        if self.control:
            self.control.close()
            self.control = None

    def shutdown(self):
        self.close_control()
        self.vm.shutdown()

    def kill(self):
        self.close_control()
        self.vm.kill()
