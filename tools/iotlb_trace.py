#!/usr/bin/env python3
"""Count vhost-vdpa IOTLB traffic per phase in a QEMU trace.

Input is QEMU's "log" trace backend output taken with -msg timestamp=on
(lines "pid@sec.usec:event args"), into which a test harness has appended
phase markers of the same shape:

    0@1700000000.000001:mark phase=reset

Every trace line after a marker, up to the next marker, belongs to that
marker's phase; lines before the first marker belong to phase "init".
For each phase the tool reports IOTLB map and unmap messages, bytes mapped
and unmapped (split by address space), batches, and elapsed time from the
phase's marker to the next one.  Messages that the memory listener sends for
guest memory (those right after a vhost_vdpa_listener_region_add/del event)
are also counted apart from the rest (shadow vrings, CVQ buffers): the
listener sends one message per region (two only for a region spanning all
of a 64-bit address space, which guest RAM never does).  With a persistent
IOTLB, guest memory is mapped by difference when a memory transaction
ends; each such message follows a vhost_vdpa_guest_map/unmap event.

Usage: iotlb_trace.py [--json] TRACE
"""

import argparse
import datetime
import json
import re
import sys

# QEMU up to 10.0 stamps a line "pid@sec.usec:", from 10.1 on
# "2025-01-31T12:00:00.000001Z " (UTC); harness markers use the first form.
LINE = re.compile(r'^(?:(?P<pid>\d+)@(?P<ts>\d+\.\d+):'
                  r'|(?P<iso>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z) )'
                  r'(?P<event>\w+)\s*(?P<args>.*)$')
FIELD = re.compile(r'(\w+)[:=]\s*(0x[0-9a-fA-F]+|-?\d+|\S+)')

COUNTERS = ('map', 'unmap', 'map_bytes', 'unmap_bytes', 'batches',
            'guest_map', 'guest_unmap', 'guest_map_bytes', 'guest_unmap_bytes')
# Events right before an IOTLB message for guest memory
GUEST_EVENTS = ('vhost_vdpa_listener_region_add', 'vhost_vdpa_listener_region_del',
                'vhost_vdpa_guest_map', 'vhost_vdpa_guest_unmap')
# Events that may stand between a listener event and the messages it sends
BATCH_EVENTS = ('vhost_vdpa_listener_begin_batch', 'vhost_vdpa_listener_commit')


def timestamp(m):
    """Seconds since the epoch of a LINE match, in either stamp form."""
    if m['ts']:
        return float(m['ts'])
    return datetime.datetime.fromisoformat(m['iso'].replace('Z', '+00:00')).timestamp()


def parse_args(args):
    """Return the name: value fields of a trace line's arguments."""
    out = {}
    for key, val in FIELD.findall(args):
        try:
            out[key] = int(val, 0)
        except ValueError:
            out[key] = val
    return out


class Phase:
    def __init__(self, name, start):
        self.name = name
        self.start = start
        self.end = start
        self.counts = dict.fromkeys(COUNTERS, 0)
        self.asid = {}          # asid -> {'map': n, 'unmap': n, ...}

    def add(self, key, asid, amount=1):
        self.counts[key] += amount
        per = self.asid.setdefault(asid, dict.fromkeys(COUNTERS, 0))
        per[key] += amount

    def as_dict(self):
        return {'phase': self.name,
                'elapsed_ms': round((self.end - self.start) * 1000, 3),
                **self.counts,
                'asid': {str(k): v for k, v in sorted(self.asid.items())}}


def analyse(lines):
    """Split trace lines into phases and count IOTLB traffic in each."""
    phases = []
    current = None
    listener = False        # the last event was the memory listener's
    for line in lines:
        m = LINE.match(line.strip())
        if not m:
            continue
        ts = timestamp(m)
        event = m['event']
        if event == 'mark':
            if current:
                current.end = ts
            current = Phase(parse_args(m['args']).get('phase', '?'), ts)
            phases.append(current)
            continue
        if current is None:
            current = Phase('init', ts)
            phases.append(current)
        current.end = max(current.end, ts)
        fields = parse_args(m['args'])
        asid = fields.get('asid', 0)
        if event in ('vhost_vdpa_dma_map', 'vhost_vdpa_dma_unmap'):
            kind = 'map' if event == 'vhost_vdpa_dma_map' else 'unmap'
            size = fields.get('size', 0)
            current.add(kind, asid)
            current.add(kind + '_bytes', asid, size)
            if listener:
                current.add('guest_' + kind, asid)
                current.add('guest_' + kind + '_bytes', asid, size)
                listener = False
            continue
        if event == 'vhost_vdpa_listener_begin_batch':
            current.add('batches', 0)
        if event not in BATCH_EVENTS:
            listener = event in GUEST_EVENTS
    return [p.as_dict() for p in phases]


def events(lines):
    """(event, fields, guest, line) of each trace line; guest is True for an
    IOTLB message the memory listener sent for guest memory."""
    listener = False
    for line in lines:
        m = LINE.match(line.strip())
        if not m:
            continue
        event = m['event']
        guest = False
        if event in ('vhost_vdpa_dma_map', 'vhost_vdpa_dma_unmap'):
            guest, listener = listener, False
        elif event not in BATCH_EVENTS:
            listener = event in GUEST_EVENTS
        yield event, parse_args(m['args']), guest, line.strip()


def shadow_maps(lines):
    """(asid, iova, size) of every map message that is not guest memory."""
    return [(f.get('asid', 0), f.get('iova', 0), f.get('size', 0))
            for event, f, guest, _ in events(lines)
            if event == 'vhost_vdpa_dma_map' and not guest]


def unmaps_while_running(lines):
    """Trace lines of guest-memory unmaps the device could still DMA into.

    A device is stopped and reset (vhost_vdpa_reset_device) before the guest
    memory it uses is unmapped: every guest-memory unmap message sent after a
    device start (vhost_vdpa_dev_start started: 1) with no reset since is
    returned.
    """
    bad = []
    running = False
    for event, fields, guest, line in events(lines):
        if event == 'vhost_vdpa_dev_start':
            running = running or fields.get('started') == 1
        elif event == 'vhost_vdpa_reset_device':
            running = False
        elif event == 'vhost_vdpa_dma_unmap' and guest and running:
            bad.append(line)
    return bad


def with_marks(lines, marks):
    """Insert phase markers [(unix time, phase), ...] into trace lines.

    For traces a harness cannot append to while QEMU writes them (QEMU's -D
    file): each marker goes before the first line stamped at or after it.
    """
    out = []
    pending = sorted(marks)
    for line in lines:
        m = LINE.match(line.strip())
        while m and pending and pending[0][0] <= timestamp(m):
            ts, phase = pending.pop(0)
            out.append(f'0@{ts:.6f}:mark phase={phase}')
        out.append(line)
    out += [f'0@{ts:.6f}:mark phase={phase}' for ts, phase in pending]
    return out


def mib(n):
    return f'{n / (1 << 20):.1f}'


def table(rows):
    out = [f"{'phase':<16}{'map':>6}{'unmap':>7}{'MiB mapped':>12}"
           f"{'MiB unmapped':>14}{'guest map/unmap':>17}{'batches':>9}"
           f"{'ms':>10}"]
    for r in rows:
        guest = f"{r['guest_map']}/{r['guest_unmap']}"
        out.append(f"{r['phase']:<16}{r['map']:>6}{r['unmap']:>7}"
                   f"{mib(r['map_bytes']):>12}{mib(r['unmap_bytes']):>14}"
                   f"{guest:>17}{r['batches']:>9}{r['elapsed_ms']:>10.1f}")
    return '\n'.join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--json', action='store_true', help='print JSON')
    ap.add_argument('trace', help='QEMU trace file, "-" for stdin')
    opts = ap.parse_args()
    with (sys.stdin if opts.trace == '-' else open(opts.trace)) as f:
        rows = analyse(f)
    print(json.dumps(rows, indent=1) if opts.json else table(rows))


if __name__ == '__main__':
    main()
