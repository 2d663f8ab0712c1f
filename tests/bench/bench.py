#!/usr/bin/env python3
"""`make bench`, inside the test VM: what reset, reboot, SVQ switch and
migration cost each QEMU, for guest memory as users back it.

    python3 -m tests.bench.bench --system NAME --qemu NAME=PATH...
        [--sizes 256M,1G] [--backings thp,4k,hugetlbfs] [--rounds 3]
        [--linux-rounds 3] [--out FILE.jsonl]

Runs go round-robin: each round runs every size x backing x QEMU once (the
QEMUs in an order rotated by one each round), and rounds repeat, so drift in
the machine's load spreads over all peers and sizes.

One run: a source QEMU (-accel qtest) on /dev/vhost-vdpa-0 is driven to
DRIVER_OK by the qtest virtio-net driver (tests/lib/virtio_net.py) and
echoes a frame; the device is reset and brought up again (reset cycle); the
machine is reset with QMP system_reset (the qemu_system_reset path of a
guest reboot) and the driver brings the device up again (reboot); a
destination QEMU on /dev/vhost-vdpa-1 is started with -incoming defer and
told to listen (destination start-up); the source migrates to it over tcp,
first held back by a bandwidth limit until "active" (the SVQ switch is a
phase of its own), then at full speed; the destination's NIC echoes a frame.

Then, --linux-rounds times, each QEMU (rotated likewise) boots the Linux
test guest (tests/guest-linux) through its firmware, which then reboots
itself (reboot(2)) under traffic: a guest reboot as users see it, with
firmware and the guest's own virtio_net driver (linux_reboot_run).

A second QMP monitor on each QEMU is polled every PROBE_INTERVAL by a
thread (QmpProbe): the worst latency of a command outstanding during a phase
is how long QMP could not answer then.  IOTLB messages come from QEMU's
trace (tools/iotlb_trace.py); the downtime is split by QEMU's
vmstate_downtime_checkpoint events.  One JSON object per run goes to FILE,
after one describing the system; tests/bench/report.py makes docs/bench.
"""

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

from tests.lib import procfs
from tests.lib.guest_vm import GuestVM
from tests.lib.nic import NIC_SLOT, nic_args
from tests.lib.qtest import TRACE_EVENTS, QTestMachine
from tests.lib.virtio_net import STATUS, VirtioNetPCI
from tools import iotlb_trace

DRIVER_OK_ALL = 0xf
TIMEOUT = 300           # seconds, per QMP/qtest reply or wait
HOLD_BANDWIDTH = 64 << 10   # bytes/s while the SVQ switch is measured
FULL_BANDWIDTH = 100 << 30
PROBE_INTERVAL = 0.05   # seconds between QMP probes
HUGE_PAGE = 2 << 20
# Migration's own downtime checkpoints: the source's stop, the destination's start
EVENTS = TRACE_EVENTS + ['vmstate_downtime_checkpoint']
# The downtime from the source's stop to the destination's start, in parts
DOWNTIME_PARTS = (
    ('src_stop', 'src-downtime-start', 'src-vm-stopped'),
    ('src_save', 'src-vm-stopped', 'src-non-iterable-saved'),
    ('load', 'src-non-iterable-saved', 'dst-precopy-loadvm-completed'),
    ('dst_bh', 'dst-precopy-loadvm-completed', 'dst-precopy-bh-announced'),
    ('dst_start', 'dst-precopy-bh-announced', 'dst-precopy-bh-vm-started'),
)
THP = '/sys/kernel/mm/transparent_hugepage/enabled'
NR_HUGEPAGES = '/proc/sys/vm/nr_hugepages'
COMPACT = '/proc/sys/vm/compact_memory'


def ms(seconds):
    return round(seconds * 1000, 3)


def size_bytes(size):
    return int(float(size[:-1]) * {'M': 1 << 20, 'G': 1 << 30}[size[-1].upper()])


class QmpProbe(threading.Thread):
    """A second QMP monitor that asks QEMU something every PROBE_INTERVAL and
    records when each command was sent and how long its reply took."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path = path
        if os.path.exists(path):
            os.unlink(path)             # the last run's
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(1)
        self.sock.settimeout(TIMEOUT)
        self.samples = []       # (sent, latency), wall clock like the trace
        self.pending = None     # sent time of the command in flight
        self.stopped = threading.Event()

    def args(self):
        return ['-chardev', f'socket,path={self.path},id=probe',
                '-mon', 'chardev=probe,mode=control']

    def _ask(self, f, command):
        sent = time.time()
        self.pending = sent
        f.write(json.dumps({'execute': command}) + '\n')
        f.flush()
        while True:
            line = f.readline()
            if not line:
                raise EOFError
            reply = json.loads(line)
            if 'return' in reply or 'error' in reply:
                break
        self.samples.append((sent, time.time() - sent))
        self.pending = None

    def run(self):
        try:
            conn, _ = self.sock.accept()
            f = conn.makefile('rw')
            # asked at once: answered when QEMU's main loop first runs
            self._ask(f, 'qmp_capabilities')
            while not self.stopped.wait(PROBE_INTERVAL):
                self._ask(f, 'query-name')
        except (OSError, EOFError, ValueError):
            pass
        finally:
            self.sock.close()

    def worst_ms(self, start, end):
        """The longest reply time of a command outstanding in [start, end]."""
        lat = [lat for sent, lat in self.samples
               if sent <= end and sent + lat >= start]
        pending = self.pending          # the thread may clear it meanwhile
        if pending is not None and pending <= end:
            lat.append(time.time() - pending)
        return ms(max(lat)) if lat else None


class Machine(QTestMachine):
    """A QTestMachine with a QMP probe and what a migration benchmark asks."""

    def __init__(self, args, probe_path, **kw):
        self.probe = QmpProbe(probe_path)
        self.probe.start()
        self.launched = time.time()
        super().__init__(list(args) + self.probe.args(), **kw)

    def close(self):
        self.probe.stopped.set()
        super().close()
        self.probe.join(5)

    def lines(self):
        return self.log_text().splitlines()

    def checkpoint(self, name):
        """Time of a vmstate_downtime_checkpoint in the trace."""
        for event, fields, _, line in iotlb_trace.events(self.lines()):
            if event == 'vmstate_downtime_checkpoint' and name in line.split()[1:]:
                return iotlb_trace.timestamp(iotlb_trace.LINE.match(line))
        raise RuntimeError(f'no downtime checkpoint {name} in the trace')

    def pinned_kib(self):
        return procfs.pinned_kib(self.proc.pid)

    def wait(self, what, check, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() > deadline:
                raise RuntimeError(f'no {what} after {timeout} s')
            time.sleep(0.02)

    def wait_migration(self, status):
        def check():
            info = self.qmp('query-migrate')
            if info.get('status') in ('failed', 'cancelled'):
                raise RuntimeError(f'migration {info["status"]}: '
                                   f'{info.get("error-desc", "")}')
            return info if info.get('status') == status else None
        return self.wait(f'migration status {status}', check)


def window(lines, start, end=float('inf')):
    """IOTLB counts of the trace lines stamped in [start, end)."""
    inside = [line for line in lines
              if (m := iotlb_trace.LINE.match(line.strip()))
              and m['event'] != 'mark' and start <= iotlb_trace.timestamp(m) < end]
    rows = iotlb_trace.analyse(inside)
    return iotlb(rows[0] if rows else None)


def iotlb(row):
    keys = ('guest_map', 'guest_unmap', 'guest_map_bytes', 'guest_unmap_bytes',
            'map', 'unmap', 'map_bytes', 'unmap_bytes')
    return {k: (row or {}).get(k, 0) for k in keys}


def phase_span(lines, phase):
    """(first, last) time stamp of the vhost_vdpa_* events of a phase."""
    current, first, last = None, None, None
    for line in lines:
        m = iotlb_trace.LINE.match(line.strip())
        if not m:
            continue
        if m['event'] == 'mark':
            current = iotlb_trace.parse_args(m['args']).get('phase')
        elif current == phase and m['event'].startswith('vhost_vdpa_'):
            first = first or iotlb_trace.timestamp(m)
            last = iotlb_trace.timestamp(m)
    return first, last


def pin_windows(lines):
    """[(start, end), ...] of each guest-memory map message of a trace: from
    its event (written before the message is sent) to the next trace line."""
    windows, open_at = [], None
    for event, _, guest, line in iotlb_trace.events(lines):
        ts = iotlb_trace.timestamp(iotlb_trace.LINE.match(line))
        if open_at is not None and event != 'mark':
            windows.append((open_at, ts))
            open_at = None
        if event == 'vhost_vdpa_dma_map' and guest:
            open_at = ts
    return windows


def timed_status_writes(nic):
    """Record when each write to the device status register was issued and
    when it returned: [(value, issued, returned), ...]."""
    times = []
    write = nic._w

    def w(off, width, val):
        issued = time.monotonic()
        write(off, width, val)
        if off == STATUS:
            times.append((val, issued, time.monotonic()))
    nic._w = w
    return times


def bring_up(qt, payload):
    """A driver that brings the NIC to DRIVER_OK and checks an echo: the
    status writes it made, and the NIC."""
    nic = VirtioNetPCI(qt, NIC_SLOT)
    writes = timed_status_writes(nic)
    nic.start()
    if nic.echo(payload) != payload:
        raise RuntimeError('frame not echoed intact')
    return nic, writes


def driver_ok_ms(writes):
    _, issued, returned = [w for w in writes if w[0] == DRIVER_OK_ALL][0]
    return ms(returned - issued)


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def machine_args(dev, size, backing, hugedir, incoming=False):
    machine = 'q35'
    extra = []
    if backing == 'hugetlbfs':
        machine += ',memory-backend=ram0'
        extra = ['-object', f'memory-backend-file,id=ram0,size={size},'
                 f'mem-path={hugedir},prealloc=off']
    args = ['-M', machine, '-m', size, *extra, *nic_args(dev, slot=NIC_SLOT)]
    return args + (['-incoming', 'defer'] if incoming else [])


def local_copy(name, path, work):
    """A copy of a QEMU binary in the VM's memory (tmpfs), so that starting
    it does not page it in over 9p, and the firmware directory (-L) of the
    build tree beside it (qemu-bundle, as QEMU would have found it)."""
    copy = os.path.join(work, f'{name}-qemu-system-x86_64')
    shutil.copy2(path, copy)
    return copy, os.path.join(os.path.dirname(path), 'qemu-bundle', 'usr',
                              'local', 'share', 'qemu')


def one_run(qemu, size, backing, work, hugedir):
    qemu, datadir = qemu
    traces = {side: os.path.join(work, f'{side}.log') for side in ('src', 'dst')}
    r = {'pinned_kib': {}, 'qmp_worst_ms': {}}
    pins, qmp = r['pinned_kib'], r['qmp_worst_ms']
    payload = b'bench ' + bytes(range(64))
    kw = {'timeout': TIMEOUT, 'qemu': qemu, 'events': EVENTS}
    firmware = ['-L', datadir]
    with Machine(machine_args('/dev/vhost-vdpa-0', size, backing, hugedir) + firmware,
                 os.path.join(work, 'src-probe.sock'), trace=traces['src'],
                 **kw) as src:
        r['src_startup_ms'] = ms(time.time() - src.launched)
        qmp['src_startup'] = src.probe.worst_ms(src.launched, time.time())
        pins['src_init'] = src.pinned_kib()
        src.mark('start')
        nic, writes = bring_up(src, payload)
        r['first_start_ms'] = driver_ok_ms(writes)
        pins['src_running'] = src.pinned_kib()

        # the reset cycle: status 0, then the driver starts the device again
        src.mark('reset')
        t = time.time()
        writes.clear()
        nic.reset()
        pins['src_reset'] = src.pinned_kib()
        nic.start()
        zero = writes[0]
        r['reset_ms'] = ms(writes[-1][2] - zero[1])
        r['stop_ms'] = ms(zero[2] - zero[1])       # QEMU stops the device
        r['start_ms'] = driver_ok_ms(writes)       # and starts it again
        qmp['reset'] = src.probe.worst_ms(t, time.time())
        src.mark('running')
        if nic.echo(payload) != payload:
            raise RuntimeError('frame not echoed after the reset')

        # the reboot: system_reset, then the driver starts from scratch
        src.mark('reboot')
        t, t0 = time.time(), time.monotonic()
        src.qmp('system_reset')
        # the reset clears the NIC's PCI command register (memory decode)
        src.wait('the machine reset', lambda: not src.pci_read(
            NIC_SLOT << 3, 0x04, 2) & 0x2)
        nic, writes = bring_up(src, payload)
        r['reboot_ms'] = ms(writes[-1][2] - t0)    # to DRIVER_OK returned
        r['reboot_start_ms'] = driver_ok_ms(writes)
        qmp['reboot'] = src.probe.worst_ms(t, time.time())
        pins['src_rebooted'] = src.pinned_kib()
        src.mark('running')

        dst_launch = time.time()
        with Machine(machine_args('/dev/vhost-vdpa-1', size, backing, hugedir,
                                  incoming=True) + firmware,
                     os.path.join(work, 'dst-probe.sock'), trace=traces['dst'],
                     **kw) as dst:
            # multifd: zero pages are not read on the destination, which
            # would otherwise lag the source by a socket buffer of them
            for vm in (src, dst):
                vm.qmp('migrate-set-capabilities', capabilities=[
                    {'capability': 'multifd', 'state': True}])
            uri = f'tcp:127.0.0.1:{free_port()}'
            dst.mark('incoming')
            dst.qmp('migrate-incoming', uri=uri)
            ready = time.time()
            r['dst_startup_ms'] = ms(ready - dst_launch)
            qmp['dst_startup'] = dst.probe.worst_ms(dst_launch, ready)
            pins['dst_ready'] = dst.pinned_kib()

            src.qmp('migrate-set-parameters', **{'max-bandwidth': HOLD_BANDWIDTH})
            src.mark('svq')
            t = time.time()
            src.qmp('migrate', uri=uri)
            src.wait_migration('active')
            qmp['svq'] = src.probe.worst_ms(t, time.time())
            src.mark('migrate')
            src.qmp('migrate-set-parameters', **{'max-bandwidth': FULL_BANDWIDTH})
            info = src.wait_migration('completed')
            dst.wait('destination running',
                     lambda: dst.qmp('query-status')['status'] == 'running')
            src.mark('end')
            dst.mark('end')
            pins['dst_running'] = dst.pinned_kib()
            r['downtime_ms'] = info['downtime']
            r['setup_ms'] = info['setup-time']
            r['total_ms'] = info['total-time']
            points = {}
            for vm in (src, dst):
                for _, a, b in DOWNTIME_PARTS:
                    for name in (a, b):
                        if name.startswith(('src' if vm is src else 'dst')):
                            points[name] = vm.checkpoint(name)
            stop = points['src-downtime-start']
            started = points['dst-precopy-bh-vm-started']
            # what the guest sees: from the source's stop to the destination's
            # start (QEMU's downtime ends when the source has sent it all)
            r['guest_downtime_ms'] = ms(started - stop)
            r['downtime_parts_ms'] = {k: ms(points[b] - points[a])
                                      for k, a, b in DOWNTIME_PARTS}
            qmp['dst_switchover'] = dst.probe.worst_ms(stop, started)
            # The driver carries on against the destination's device
            for obj in (nic, nic.rx, nic.tx):
                obj.qt = dst
            r['echo_after_migration'] = nic.echo(payload) == payload
            src_lines, dst_lines = src.lines(), dst.lines()
            # while the destination pins guest memory, whenever it does
            pinning = pin_windows(dst_lines)
            qmp['dst_pinning'] = max((dst.probe.worst_ms(*w) or 0 for w in pinning),
                                     default=None)
            r['dst_pin_ms'] = ms(sum(b - a for a, b in pinning))
            sp = {p['phase']: p for p in iotlb_trace.analyse(src_lines)}
    first, last = phase_span(src_lines, 'svq')
    r['svq_ms'] = ms(last - first) if first else 0.0
    r['iotlb_persist'] = any('iotlb_persist: 1' in line for line in src_lines)
    r['iotlb'] = {
        'first_start': iotlb(sp.get('start')),
        'reset': iotlb(sp.get('reset')),
        'reboot': iotlb(sp.get('reboot')),
        'svq': iotlb(sp.get('svq')),
        'src_init': iotlb(sp.get('init')),
        # the destination before the source stops, and from then on
        'dst_before': window(dst_lines, 0, stop),
        'dst_switchover': window(dst_lines, stop),
        'src_switchover': window(src_lines, stop),
        'downtime': {'src': window(src_lines, stop, started),
                     'dst': window(dst_lines, stop, started)},
    }
    return r


LINUX_MEM = '256M'      # the Linux test guest's, as in tests/persist


def linux_reboot_run(qemu, work):
    """The Linux test guest boots, echoes, reboots itself, echoes again: what
    the reboot cost in IOTLB messages, in time QEMU spent sending guest-memory
    maps, and in time until the guest's first echo after it."""
    qemu, datadir = qemu
    vm = GuestVM('linux', work, '/dev/vhost-vdpa-0', mem=LINUX_MEM, persist=None,
                 machine='q35', guest_os='linux', qemu=qemu,
                 extra_args=['-L', datadir])
    try:
        t0 = time.monotonic()
        vm.launch().wait_recv(0)
        r = {'size': LINUX_MEM, 'boot_to_echo_ms': ms(time.monotonic() - t0)}
        vm.mark('reboot')
        t, t0 = time.time(), time.monotonic()
        vm.command('reboot')
        after = vm.wait_recv(0, since=vm.wait_boot(2))
        r['reboot_to_echo_ms'] = ms(time.monotonic() - t0)
        vm.mark('running')
        if after['corrupt'] or after['ooo']:
            raise RuntimeError(f'echoes after the reboot: {after}')
        with open(vm.trace, errors='replace') as f:
            lines = f.read().splitlines()
        r['reboot_pin_ms'] = ms(sum(b - a for a, b in pin_windows(lines) if a >= t))
        r['iotlb_persist'] = any('iotlb_persist: 1' in line for line in lines)
        r['iotlb'] = {'reboot': iotlb(vm.phases().get('reboot'))}
    finally:
        vm.shutdown()
    return r


class Backing:
    """Guest RAM as users back it, set up in this (test) VM for one run:
    thp: anonymous memory, THP always (the VM's default);
    4k: anonymous memory with THP never, so every page is 4 KiB;
    hugetlbfs: a memory-backend-file on hugetlbfs, 2 MiB pages reserved
    for the source and the destination."""

    def __init__(self, work):
        self.hugedir = os.path.join(work, 'hugepages')
        # the VM's THP setting, "[always] madvise never": QEMU madvises
        # guest RAM, so always and madvise both give it huge pages
        self.thp_default = self._read(THP).split('[')[1].split(']')[0]
        self.mounted = False

    @staticmethod
    def _write(path, value):
        with open(path, 'w') as f:
            f.write(f'{value}\n')

    @staticmethod
    def _read(path):
        with open(path) as f:
            return f.read().strip()

    def use(self, backing, size):
        if backing == 'hugetlbfs' and not self.mounted:
            os.makedirs(self.hugedir, exist_ok=True)
            subprocess.run(['mount', '-t', 'hugetlbfs', '-o', 'pagesize=2M',
                            'bench-huge', self.hugedir], check=True)
            self.mounted = True
        self._write(THP, 'never' if backing == '4k' else self.thp_default)
        want = 2 * size_bytes(size) // HUGE_PAGE if backing == 'hugetlbfs' else 0
        # Every run starts from memory as unfragmented as the VM can make
        # it, whatever the runs before it left: the number of IOTLB entries
        # a 4 KiB guest needs depends on it (docs/bench/README.md)
        if os.path.exists(COMPACT):
            self._write(COMPACT, 1)
        if not want and not os.path.exists(NR_HUGEPAGES):
            return                  # a kernel without hugetlbfs
        self._write(NR_HUGEPAGES, want)
        got = int(self._read(NR_HUGEPAGES))
        if got != want:
            raise RuntimeError(f'{got} huge pages reserved, {want} wanted')

    def close(self):
        self.use('thp', '0M')
        if self.mounted:
            subprocess.run(['umount', self.hugedir])


def qemu_version(path):
    out = subprocess.run([path, '--version'], capture_output=True, text=True)
    return out.stdout.splitlines()[0] if out.stdout else '?'


def read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return '?'


def schedule(rounds, sizes, backings, qemus):
    """Every size x backing x QEMU once per round; the QEMUs rotate."""
    names = list(qemus)
    for n in range(rounds):
        order = names[n % len(names):] + names[:n % len(names)]
        for size in sizes:
            for backing in backings:
                for name in order:
                    yield n + 1, size, backing, name


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--system', required=True, help='name of this kernel')
    ap.add_argument('--qemu', action='append', required=True,
                    metavar='NAME=PATH', help='a QEMU binary to measure')
    ap.add_argument('--sizes', default='256M,1G,2G')
    ap.add_argument('--backings', default='thp,4k,hugetlbfs')
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--linux-rounds', type=int, default=3,
                    help='guest reboots with the Linux test guest, per QEMU')
    ap.add_argument('--out', default=os.path.join(os.environ.get('QVP_OUT', '/tmp'),
                                                  'bench.jsonl'))
    opts = ap.parse_args()
    qemus = dict(q.split('=', 1) for q in opts.qemu)
    sizes = opts.sizes.split(',')
    backings = opts.backings.split(',')
    skipped = {}
    if 'hugetlbfs' in backings and not os.path.exists(NR_HUGEPAGES):
        backings.remove('hugetlbfs')
        skipped['hugetlbfs'] = 'this kernel has no hugetlbfs (CONFIG_HUGETLBFS)'
        print(f'bench: WARNING: no hugetlbfs backing on {opts.system}: '
              f'{skipped["hugetlbfs"]}', flush=True)
    meta = {'type': 'system', 'system': opts.system, 'kernel': platform.release(),
            'kernel_version': read('/proc/version'),
            'thp': read(THP), 'vm_mem_kib': int(read('/proc/meminfo').split()[1]),
            'compaction_before_runs': os.path.exists(COMPACT),
            'max_iotlb_entries': {
                m: read(f'/sys/module/{m}/parameters/max_iotlb_entries')
                for m in ('vhost_vdpa', 'vdpa_sim')},
            'qemu': {n: qemu_version(p) for n, p in qemus.items()},
            'qemu_built': {n: time.strftime('%F %T', time.gmtime(os.stat(p).st_mtime))
                           for n, p in qemus.items()},
            'sizes': sizes, 'backings': backings, 'skipped': skipped,
            'rounds': opts.rounds, 'linux_rounds': opts.linux_rounds,
            'linux_mem': LINUX_MEM,
            'probe_interval_ms': PROBE_INTERVAL * 1000,
            'date': time.strftime('%F %T %z')}
    runs = list(schedule(opts.rounds, sizes, backings, qemus))
    linux_runs = list(schedule(opts.linux_rounds, [LINUX_MEM], ['thp'], qemus))
    failed = 0
    start = time.monotonic()
    work = tempfile.mkdtemp(prefix='bench14-')     # tmpfs: traces off 9p
    keep = os.path.join(os.path.dirname(opts.out), 'traces')
    os.makedirs(keep, exist_ok=True)
    binaries = {name: local_copy(name, path, work) for name, path in qemus.items()}
    backing_setup = Backing(work)
    todo = [('run', *r) for r in runs] + [('linux_reboot', *r) for r in linux_runs]
    try:
        # One run thrown away: the first QEMU of a VM boot finds every cache
        # cold (its libraries over 9p, the VM's page cache), whoever it is
        if runs:
            n, size, backing, name = runs[0]
            t = time.monotonic()
            try:
                backing_setup.use(backing, size)
                one_run(binaries[name], size, backing, work, backing_setup.hugedir)
            except Exception as e:
                print(f'bench: warm-up run failed: {e}', flush=True)
            print(f'bench: warm-up run ({name} {size} {backing}) took '
                  f'{time.monotonic() - t:.0f} s, not counted', flush=True)
        with open(opts.out, 'w') as out:
            out.write(json.dumps(meta) + '\n')
            for done, (kind, n, size, backing, name) in enumerate(todo, 1):
                rec = {'type': kind, 'system': opts.system, 'qemu': name,
                       'size': size, 'backing': backing, 'round': n}
                t = time.monotonic()
                try:
                    backing_setup.use(backing, size)
                    if kind == 'run':
                        rec.update(one_run(binaries[name], size, backing, work,
                                           backing_setup.hugedir))
                    else:
                        rec.update(linux_reboot_run(binaries[name], work))
                except Exception as e:      # record it, go on with the rest
                    rec['error'] = f'{type(e).__name__}: {e}'[:2000]
                    failed += 1
                rec['run_s'] = round(time.monotonic() - t, 1)
                for side in ('src', 'dst', 'linux-trace', 'linux-serial'):
                    trace = os.path.join(work, f'{side}.log')
                    if os.path.exists(trace):
                        shutil.move(trace, os.path.join(
                            keep, f'{opts.system}-{kind}-{name}-{size}-{backing}-{n}-'
                            f'{side}.log'))
                out.write(json.dumps(rec) + '\n')
                out.flush()
                progress(rec, done, len(todo), time.monotonic() - start)
    finally:
        backing_setup.close()
    sys.exit(1 if failed else 0)


def progress(r, done, total, elapsed):
    head = (f'[{r["system"]} {done}/{total}, {elapsed / 60:.1f} min, '
            f'~{elapsed / done * (total - done) / 60:.0f} min left on this kernel] '
            f'{r["qemu"]} {r["size"]} {r["backing"]} round {r["round"]} '
            f'({r["run_s"]:.0f} s):')
    if 'error' in r:
        print(f'{head} FAILED: {r["error"]}', flush=True)
        return
    io = r['iotlb']
    if r['type'] == 'linux_reboot':
        print(f'{head} Linux guest: first echo after {r["boot_to_echo_ms"] / 1000:.0f} s; '
              f'its reboot: {io["reboot"]["guest_map"]}/{io["reboot"]["guest_unmap"]} '
              f'guest map/unmap, {io["reboot"]["guest_map_bytes"] / (1 << 20):.1f} MiB '
              f're-pinned in {r["reboot_pin_ms"]:.0f} ms, first echo after '
              f'{r["reboot_to_echo_ms"] / 1000:.1f} s', flush=True)
        return
    print(f'{head} reset {r["reset_ms"]:.0f} ms '
          f'({io["reset"]["guest_map"]}/{io["reset"]["guest_unmap"]} guest map/unmap), '
          f'reboot {io["reboot"]["guest_map_bytes"] >> 20} MiB re-pinned, '
          f'SVQ switch {r["svq_ms"]:.0f} ms, dst start-up {r["dst_startup_ms"]:.0f} ms '
          f'({io["dst_before"]["guest_map_bytes"] >> 20} MiB pinned before switchover, '
          f'QMP worst {r["qmp_worst_ms"]["dst_startup"]} ms), '
          f'downtime {r["downtime_ms"]} ms (guest {r["guest_downtime_ms"]:.0f} ms), '
          f'echo after migration {"ok" if r["echo_after_migration"] else "BAD"}',
          flush=True)


if __name__ == '__main__':
    main()
