"""Drive a QEMU process through the qtest protocol and QMP, with a trace.

QMP is QEMU's own client (python/qemu's qemu.qmp), as for the tiny guest's
QEMU (tests/lib/guest_vm.py, QEMUMachine); the qtest protocol is a line
protocol spoken here.

QEMU runs with -accel qtest: no guest CPU, the test reads and writes guest
memory and I/O ports itself.  QEMU's trace (log backend, -msg timestamp=on)
goes to a file opened for appending; mark() appends phase markers to the same
file, so tools/iotlb_trace.py can count IOTLB traffic per phase.  Every qtest
command is synchronous, so a marker lands after all trace output of the
commands before it.
"""

import os
import socket
import subprocess
import tempfile
import time

from qemu.qmp import ExecuteError
from qemu.qmp.legacy import QEMUMonitorProtocol

from tests.lib.paths import QEMU
from tests.lib.wait import wait_for
from tools import iotlb_trace

# Trace events the IOTLB counts and phase analysis read.
TRACE_EVENTS = ['vhost_vdpa_*']


class QTestError(Exception):
    pass


class QTestMachine:
    """One QEMU process under qtest.  Use as a context manager."""

    def __init__(self, args, trace=None, events=TRACE_EVENTS, timeout=60,
                 qemu=QEMU, name='qtest'):
        self.name = name
        self.dir = tempfile.mkdtemp(prefix='qvp-qtest-')
        self.trace = trace or os.path.join(self.dir, 'trace.log')
        self.timeout = timeout
        qtest_sock = self._listen('qtest.sock')
        qmp_sock = self._listen('qmp.sock')
        cmd = [qemu, '-accel', 'qtest', '-nodefaults', '-display', 'none',
               '-msg', 'timestamp=on',
               '-qtest', f'unix:{self.dir}/qtest.sock', '-qtest-log', '/dev/null',
               '-chardev', f'socket,path={self.dir}/qmp.sock,id=qmp',
               '-mon', 'chardev=qmp,mode=control']
        for e in events:
            cmd += ['-trace', e]
        self.args = cmd + list(args)
        open(self.trace, 'w').close()      # a fresh trace per machine
        self._log = open(self.trace, 'a')
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=self._log)
        try:
            self.qtest = self._accept(qtest_sock).makefile('rw', buffering=1)
            self._qmp = QEMUMonitorProtocol(self._accept(qmp_sock))
        finally:
            qtest_sock.close()
            qmp_sock.close()
        self._qmp.settimeout(self.timeout)
        self._qmp.connect()                    # greeting, qmp_capabilities

    def _listen(self, name):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(os.path.join(self.dir, name))
        s.listen(1)
        s.settimeout(1)
        return s

    def _accept(self, sock):
        def connection():
            if self.proc.poll() is not None:
                raise QTestError(f'QEMU exited ({self.proc.returncode}) before '
                                 f'connecting:\n{self.log_text()}')
            try:
                return sock.accept()[0]     # waits up to a second
            except socket.timeout:
                return None
        conn = wait_for(f'QEMU to connect to {sock.getsockname()}', connection,
                        timeout=self.timeout, interval=0)
        conn.settimeout(self.timeout)
        return conn

    def log_text(self):
        with open(self.trace, errors='replace') as f:
            return f.read()

    def phases(self):
        """IOTLB traffic per trace phase so far: {phase name: counts}."""
        return {p['phase']: p
                for p in iotlb_trace.analyse(self.log_text().splitlines())}

    # -- qtest protocol ----------------------------------------------------
    def cmd(self, line):
        self.qtest.write(line + '\n')
        while True:
            reply = self.qtest.readline()
            if not reply:
                raise QTestError(f'QEMU closed qtest during "{line}":\n'
                                 f'{self.log_text()[-4000:]}')
            if reply.startswith('IRQ'):
                continue
            if not reply.startswith('OK'):
                raise QTestError(f'"{line}" failed: {reply.strip()}')
            return reply[2:].strip()

    def outl(self, port, val):
        self.cmd(f'outl {port:#x} {val:#x}')

    def inl(self, port):
        return int(self.cmd(f'inl {port:#x}'), 16)

    def write(self, addr, width, val):
        self.cmd(f'write{"bwlq"[width.bit_length() - 1]} {addr:#x} {val:#x}')

    def read(self, addr, width):
        return int(self.cmd(f'read{"bwlq"[width.bit_length() - 1]} {addr:#x}'), 16)

    def memwrite(self, addr, data):
        if data:
            self.cmd(f'write {addr:#x} {len(data):#x} 0x{data.hex()}')

    def memset(self, addr, size, byte=0):
        if size:
            self.cmd(f'memset {addr:#x} {size:#x} {byte:#x}')

    def memread(self, addr, size):
        return bytes.fromhex(self.cmd(f'read {addr:#x} {size:#x}')[2:])

    # PCI configuration mechanism #1, bus 0 (pc and q35)
    def _pci_select(self, devfn, reg):
        self.outl(0xcf8, 0x80000000 | devfn << 8 | (reg & 0xfc))

    def pci_read(self, devfn, reg, width=4):
        self._pci_select(devfn, reg)
        val = self.inl(0xcfc) >> (8 * (reg & 3))
        return val & ((1 << (8 * width)) - 1)

    def pci_write32(self, devfn, reg, val):
        self._pci_select(devfn, reg)
        self.outl(0xcfc, val)

    def pci_write8(self, devfn, reg, val):
        """Write one byte, keeping the others of its dword."""
        shift = 8 * (reg & 3)
        old = self.pci_read(devfn, reg & ~3)
        self.pci_write32(devfn, reg & ~3, old & ~(0xff << shift) | val << shift)

    # -- QMP ---------------------------------------------------------------
    def qmp(self, command, **arguments):
        """The command's result; QEMU's error as qemu.qmp.ExecuteError."""
        try:
            return self._qmp.cmd(command, **arguments)
        except ExecuteError:
            raise
        except Exception as e:          # the connection, or QEMU, went away
            raise QTestError(f'QMP {command}: {e!r}:\n'
                             f'{self.log_text()[-4000:]}') from e

    # -- trace markers -----------------------------------------------------
    def mark(self, phase):
        """Start a new trace phase (see tools/iotlb_trace.py)."""
        self._log.flush()
        with open(self.trace, 'a') as f:
            f.write(f'0@{time.time():.6f}:mark phase={phase}\n')

    def close(self):
        if self.proc.poll() is None:
            try:
                self.qmp('quit')
            except QTestError:
                pass
            try:
                self.proc.wait(self.timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        try:
            self._qmp.close()
        except Exception:               # QEMU closed it first: nothing to do
            pass
        self._log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
