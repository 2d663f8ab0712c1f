"""The tiny guest (tests/guest) in a QEMU process, through QEMU's python/qemu.

The guest sends numbered frames through the vhost-vdpa NIC and checks the
echoes; every period it prints its counters on the serial port, which goes
to a file here.  QEMU's vhost_vdpa_* trace goes to another file (-D), and
mark() records phase boundaries by time for tools/iotlb_trace.py.
"""

import os
import re
import time

from qemu.machine import QEMUMachine

from tests.lib import procfs
from tests.lib.nic import nic_args
from tests.lib.paths import QEMU, TOP
from tests.lib.wait import wait_for
from tools import iotlb_trace

GUEST = os.path.join(TOP, 'tests', 'guest', 'build', 'guest.elf')
COUNTERS = ('t', 'sent', 'recv', 'corrupt', 'ooo', 'lost', 'resets')
LINE = re.compile(r'^qvp-guest: ' + ' '.join(rf'{c}=(\d+)' for c in COUNTERS))


class GuestError(Exception):
    pass


class GuestVM:
    """One QEMU running the tiny guest with a vhost-vdpa virtio-net NIC."""

    def __init__(self, name, workdir, vhostdev, mem='128M', persist='on',
                 svq=False, append='', incoming=None, machine='pc'):
        self.name = name
        self.serial = os.path.join(workdir, f'{name}-serial.log')
        self.trace = os.path.join(workdir, f'{name}-trace.log')
        for f in (self.serial, self.trace):
            if os.path.exists(f):
                os.unlink(f)
        args = ['-M', machine, '-accel', 'tcg', '-m', mem, '-nodefaults',
                '-msg', 'timestamp=on', '-kernel', GUEST,
                '-serial', f'file:{self.serial}',
                '-trace', 'enable=vhost_vdpa_*', '-D', self.trace]
        args += nic_args(vhostdev, persist=persist, svq=svq, modern_only=True)
        if append:
            args += ['-append', append]
        if incoming:
            args += ['-incoming', incoming]
        self.vm = QEMUMachine(QEMU, args=args, name=name, base_temp_dir=workdir)
        self.marks = []

    def launch(self):
        if not os.path.exists(GUEST):
            raise GuestError(f'{GUEST} is missing: run "make guest"')
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

    def wait_counter(self, counter, above, timeout=60, since=0):
        """Wait until the guest's counter (COUNTERS) is above `above`, in
        serial lines from line `since` on (a rebooted guest counts from 0
        again); return the counters then."""
        def observe():
            if self.errors():
                raise GuestError(f'{self.name}: {self.errors()[0]}')
            return self.counters(since)
        return wait_for(f'{self.name}: guest counter {counter} above {above}',
                        observe, lambda now: now and now[counter] > above,
                        timeout, details=lambda: f'serial: {self.lines()[-3:]}')

    def wait_recv(self, above, timeout=60, since=0):
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

    def shutdown(self):
        self.vm.shutdown()

    def kill(self):
        self.vm.kill()
