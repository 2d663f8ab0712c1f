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
phase's marker to the next one.

Usage: iotlb_trace.py [--json] TRACE
"""

import argparse
import json
import re
import sys

LINE = re.compile(r'^(?P<pid>\d+)@(?P<ts>\d+\.\d+):(?P<event>\w+)\s*(?P<args>.*)$')
FIELD = re.compile(r'(\w+)[:=]\s*(0x[0-9a-fA-F]+|-?\d+|\S+)')

COUNTERS = ('map', 'unmap', 'map_bytes', 'unmap_bytes', 'batches')


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
    for line in lines:
        m = LINE.match(line.strip())
        if not m:
            continue
        ts = float(m['ts'])
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
        if event == 'vhost_vdpa_dma_map':
            current.add('map', asid)
            current.add('map_bytes', asid, fields.get('size', 0))
        elif event == 'vhost_vdpa_dma_unmap':
            current.add('unmap', asid)
            current.add('unmap_bytes', asid, fields.get('size', 0))
        elif event == 'vhost_vdpa_listener_begin_batch':
            current.add('batches', 0)
    return [p.as_dict() for p in phases]


def mib(n):
    return f'{n / (1 << 20):.1f}'


def table(rows):
    out = [f"{'phase':<16}{'map':>6}{'unmap':>7}{'MiB mapped':>12}"
           f"{'MiB unmapped':>14}{'batches':>9}{'ms':>10}"]
    for r in rows:
        out.append(f"{r['phase']:<16}{r['map']:>6}{r['unmap']:>7}"
                   f"{mib(r['map_bytes']):>12}{mib(r['unmap_bytes']):>14}"
                   f"{r['batches']:>9}{r['elapsed_ms']:>10.1f}")
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
