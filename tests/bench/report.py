#!/usr/bin/env python3
"""Turn `make bench` results (tests/bench/bench.py JSON lines) into
bench.md (tables, ratios, versions) and one plot per kernel.

    python3 -m tests.bench.report [--out DIR] [--mode full|quick]
        [--fork-commit TEXT] RESULTS.jsonl...

Each cell (kernel, backing, guest size, QEMU) is the median of its runs,
with [min-max] where they differ.  Ratios compare the fork with each peer,
and with the strongest peer of each metric (the one with the lower median).
Plots need python3-matplotlib; without it they are skipped and said so.
"""

import argparse
import json
import os
import statistics
import time

MIB = 1 << 20


def load(paths):
    """The systems (one per kernel: the descriptions of one kernel in two
    files, say a run of the matrix and one of the Linux reboots, are one),
    the runs of the matrix, and the Linux guest's reboots."""
    systems, runs, reboots = {}, [], []
    for path in paths:
        with open(path) as f:
            for line in f:
                rec = json.loads(line)
                rec['_path'] = path
                if rec['type'] == 'system':
                    merge_system(systems, rec)
                else:
                    (runs if rec['type'] == 'run' else reboots).append(rec)
    return list(systems.values()), runs, reboots


def merge_system(systems, rec):
    rec.setdefault('linux_rounds', 0)
    # written before the Linux reboots and vhost_vdpa's limit were recorded
    rec.setdefault('max_iotlb_entries',
                   {'vdpa_sim': rec.get('vdpa_sim_max_iotlb_entries', '?')})
    seen = systems.get(rec['system'])
    if seen is None:
        systems[rec['system']] = rec
        return
    if seen['rounds'] and rec['rounds']:
        raise SystemExit(f'report: two runs of the matrix on kernel {rec["system"]} '
                         f'({seen["_path"]}, {rec["_path"]}): give one')
    if not seen['rounds']:
        seen, rec = rec, seen
        systems[seen['system']] = seen
    if rec['linux_rounds']:
        seen['linux_rounds'] += rec['linux_rounds']
        seen['linux_mem'] = rec['linux_mem']
        seen['linux_date'] = rec['date']


def get(rec, path):
    for key in path.split('.'):
        rec = rec.get(key) if isinstance(rec, dict) else None
    return rec


def msgs(phase):
    return lambda r: _sum(r, f'iotlb.{phase}.guest_map', f'iotlb.{phase}.guest_unmap')


def mib(*paths):
    return lambda r: None if (v := _sum(r, *paths)) is None else v / MIB


def _sum(r, *paths):
    vals = [get(r, p) for p in paths]
    return None if any(v is None for v in vals) else sum(vals)


def field(path):
    return lambda r: get(r, path)


def downtime_msgs(r):
    return _sum(r, *(f'iotlb.downtime.{side}.guest_{k}'
                     for side in ('src', 'dst') for k in ('map', 'unmap')))


def downtime_mib(r):
    v = _sum(r, *(f'iotlb.downtime.{side}.guest_{k}_bytes'
                  for side in ('src', 'dst') for k in ('map', 'unmap')))
    return None if v is None else v / MIB


# (key, group, label, value of a run, digits); lower is better for all
METRICS = [
    ('reset_msgs', 'reset', 'guest-memory map+unmap msgs per reset', msgs('reset'), 0),
    ('reset_mib', 'reset', 'MiB unmapped+re-pinned per reset',
     mib('iotlb.reset.guest_map_bytes', 'iotlb.reset.guest_unmap_bytes'), 1),
    ('reset_ms', 'reset', 'reset cycle ms (driver view)', field('reset_ms'), 0),
    ('reset_device_ms', 'reset', 'status 0 + DRIVER_OK writes ms',
     lambda r: _sum(r, 'stop_ms', 'start_ms'), 0),
    ('qmp_reset', 'reset', 'QMP worst ms during the reset cycle',
     field('qmp_worst_ms.reset'), 0),
    ('reboot_msgs', 'reboot', 'guest-memory map+unmap msgs per reboot', msgs('reboot'), 0),
    ('reboot_mib', 'reboot', 'MiB re-pinned per reboot',
     mib('iotlb.reboot.guest_map_bytes'), 1),
    ('reboot_ms', 'reboot', 'reboot ms (system_reset to DRIVER_OK)', field('reboot_ms'), 0),
    ('reboot_start_ms', 'reboot', 'of which the DRIVER_OK write ms',
     field('reboot_start_ms'), 0),
    ('qmp_reboot', 'reboot', 'QMP worst ms during the reboot',
     field('qmp_worst_ms.reboot'), 0),
    ('svq_msgs', 'svq', 'guest-memory map+unmap msgs per SVQ switch', msgs('svq'), 0),
    ('svq_mib', 'svq', 'MiB unmapped+re-pinned per SVQ switch',
     mib('iotlb.svq.guest_map_bytes', 'iotlb.svq.guest_unmap_bytes'), 1),
    ('svq_ms', 'svq', 'SVQ switch ms (vhost-vdpa events)', field('svq_ms'), 0),
    ('qmp_svq', 'svq', 'QMP worst ms during the SVQ switch', field('qmp_worst_ms.svq'), 0),
    ('dst_startup_ms', 'destination', 'destination start-up to ready for the stream ms',
     field('dst_startup_ms'), 0),
    ('qmp_dst_startup', 'destination', 'QMP worst ms during destination start-up',
     field('qmp_worst_ms.dst_startup'), 0),
    ('dst_pin_ms', 'destination', 'destination pins guest memory ms (whenever)',
     field('dst_pin_ms'), 0),
    ('qmp_dst_pinning', 'destination', 'QMP worst ms while the destination pins',
     field('qmp_worst_ms.dst_pinning'), 0),
    ('dst_before_msgs', 'destination', 'guest-memory map msgs before switchover',
     field('iotlb.dst_before.guest_map'), 0),
    ('dst_before_mib', 'destination', 'MiB pinned before switchover',
     mib('iotlb.dst_before.guest_map_bytes'), 1),
    ('dst_switchover_mib', 'destination', 'MiB pinned from switchover on',
     mib('iotlb.dst_switchover.guest_map_bytes'), 1),
    ('dst_times', 'destination', 'guest memory pinned on the destination, times (target 1)',
     lambda r: None if (v := _sum(r, 'iotlb.dst_before.guest_map_bytes',
                                  'iotlb.dst_switchover.guest_map_bytes')) is None
     else v / MIB / size_mib(r['size']), 2),
    ('dst_pinned_mib', 'destination', 'VmPin MiB when ready (before the stream)',
     lambda r: None if (v := get(r, 'pinned_kib.dst_ready')) is None else v / 1024, 0),
    ('downtime_ms', 'downtime', 'downtime ms (QEMU, source view)', field('downtime_ms'), 0),
    ('guest_downtime_ms', 'downtime', 'stop to start ms (guest view)',
     field('guest_downtime_ms'), 0),
    ('dt_src_stop', 'downtime', 'of which source stop ms',
     field('downtime_parts_ms.src_stop'), 0),
    ('dt_src_save', 'downtime', 'source saves the rest ms',
     field('downtime_parts_ms.src_save'), 0),
    ('dt_load', 'downtime', 'to the destination loaded ms',
     field('downtime_parts_ms.load'), 0),
    ('dt_dst_bh', 'downtime', 'destination bottom half ms',
     field('downtime_parts_ms.dst_bh'), 0),
    ('dt_dst_start', 'downtime', 'destination starts devices ms',
     field('downtime_parts_ms.dst_start'), 0),
    ('downtime_msgs', 'downtime', 'guest-memory map+unmap msgs in the downtime (both sides)',
     downtime_msgs, 0),
    ('downtime_mib', 'downtime', 'MiB unmapped+pinned in the downtime (both sides)',
     downtime_mib, 1),
    ('qmp_dst_switchover', 'downtime', 'QMP worst ms on the destination in the downtime',
     field('qmp_worst_ms.dst_switchover'), 0),
    ('total_ms', 'downtime', 'migration total ms (incl. the held SVQ phase)',
     field('total_ms'), 0),
]
# The Linux test guest's reboot (type linux_reboot)
LINUX_METRICS = [
    ('linux_reboot_msgs', 'linux', 'guest-memory map+unmap msgs per reboot',
     msgs('reboot'), 0),
    ('linux_reboot_mib', 'linux', 'MiB re-pinned per reboot',
     mib('iotlb.reboot.guest_map_bytes'), 1),
    ('linux_reboot_pin_ms', 'linux', 'ms QEMU sends guest-memory maps in the reboot',
     field('reboot_pin_ms'), 0),
    ('linux_reboot_echo_ms', 'linux', 'reboot(2) to the first echo after it ms',
     field('reboot_to_echo_ms'), 0),
    ('linux_boot_echo_ms', 'linux', 'QEMU start to the first echo ms (first boot)',
     field('boot_to_echo_ms'), 0),
]
GROUPS = [
    ('reset', 'Device reset (status 0, then the driver starts the device again)'),
    ('reboot', 'Guest reboot (QMP system_reset, then the driver starts from scratch)'),
    ('svq', 'Switch to shadow virtqueues at migration start'),
    ('destination', 'Migration destination before switchover'),
    ('downtime', 'Downtime and what it is spent on'),
]
# The metrics of the summary and of the plots
HEADLINE = ['reset_ms', 'reset_mib', 'reboot_ms', 'reboot_mib', 'svq_ms',
            'dst_startup_ms', 'qmp_dst_startup', 'qmp_dst_pinning', 'dst_times',
            'dst_switchover_mib',
            'guest_downtime_ms', 'downtime_ms', 'qmp_dst_switchover']
PLOTTED = ['reset_ms', 'reboot_ms', 'svq_ms', 'dst_startup_ms',
           'qmp_dst_pinning', 'guest_downtime_ms']
BACKING_NAMES = {'thp': 'THP', '4k': '4 KiB pages', 'hugetlbfs': 'hugetlbfs 2 MiB'}


def size_mib(size):
    return int(float(size[:-1]) * {'M': 1, 'G': 1024}[size[-1].upper()])


def stat(recs, fn):
    vals = [v for v in map(fn, recs) if v is not None]
    return (statistics.median(vals), min(vals), max(vals)) if vals else None


def fmt(s, digits=0):
    if s is None:
        return '-'
    med, lo, hi = s
    text = f'{med:.{digits}f}'
    if f'{lo:.{digits}f}' != f'{hi:.{digits}f}':
        text += f' [{lo:.{digits}f}-{hi:.{digits}f}]'
    return text


def ratio(a, b, digits):
    """fork / peer of two medians, as text."""
    if a is None or b is None:
        return '-'
    a, b = round(a[0], digits), round(b[0], digits)
    if a == 0 or b == 0:
        return '= (both 0)' if a == b else f'{a:g} vs {b:g}'
    return f'{a / b:.2f}x'


class Results:
    def __init__(self, runs):
        self.ok = [r for r in runs if 'error' not in r]
        self.failed = [r for r in runs if 'error' in r]
        self.cells = {}
        for r in self.ok:
            key = (r['system'], r['backing'], r['size'], r['qemu'])
            self.cells.setdefault(key, []).append(r)

    def axes(self, systems):
        qemus = list(dict.fromkeys(q for s in systems for q in s['qemu']))
        return qemus

    def stat(self, system, backing, size, qemu, metric):
        recs = self.cells.get((system, backing, size, qemu), [])
        return stat(recs, metric[3]) if recs else None

    def runs(self, system, backing, size, qemu):
        return len(self.cells.get((system, backing, size, qemu), []))


def peers_of(qemus):
    return [q for q in qemus if q != 'fork']


def strongest(res, key, metric, peers):
    """The peer with the lowest median for a metric in a cell."""
    best = None
    for p in peers:
        s = res.stat(*key, p, metric)
        if s is not None and (best is None or s[0] < best[1][0]):
            best = (p, s)
    return best


def summary_table(res, system, backings, sizes, qemus):
    peers = peers_of(qemus)
    head = ['backing', 'guest', 'metric', *qemus,
            *(f'fork / {p}' for p in peers), 'strongest peer', 'fork / strongest']
    rows = [head, ['---'] * len(head)]
    by_key = {m[0]: m for m in METRICS}
    for backing in backings:
        for size in sizes:
            for key in HEADLINE:
                m = by_key[key]
                vals = {q: res.stat(system, backing, size, q, m) for q in qemus}
                best = strongest(res, (system, backing, size), m, peers)
                rows.append([BACKING_NAMES.get(backing, backing), size, m[2],
                             *(fmt(vals[q], m[4]) for q in qemus),
                             *(ratio(vals['fork'], vals[p], m[4]) for p in peers),
                             best[0] if best else '-',
                             ratio(vals['fork'], best[1], m[4]) if best else '-'])
    return rows


def linux_table(res, system, size, qemus):
    """The Linux guest's reboot: a row per metric, medians and ratios."""
    peers = peers_of(qemus)
    head = ['metric', *(f'{q} ({res.runs(system, "thp", size, q)} runs)'
                        for q in qemus), *(f'fork / {p}' for p in peers)]
    rows = [head, ['---'] * len(head)]
    for m in LINUX_METRICS:
        vals = {q: res.stat(system, 'thp', size, q, m) for q in qemus}
        rows.append([m[2], *(fmt(vals[q], m[4]) for q in qemus),
                     *(ratio(vals['fork'], vals[p], m[4]) for p in peers)])
    return rows


def group_table(res, system, group, backings, sizes, qemus):
    metrics = [m for m in METRICS if m[1] == group]
    head = ['backing', 'guest', 'QEMU', 'runs', *(m[2] for m in metrics)]
    rows = [head, ['---'] * len(head)]
    for backing in backings:
        for size in sizes:
            for q in qemus:
                n = res.runs(system, backing, size, q)
                if not n:
                    continue
                rows.append([BACKING_NAMES.get(backing, backing), size, q, str(n),
                             *(fmt(res.stat(system, backing, size, q, m), m[4])
                               for m in metrics)])
    return rows


def md(rows):
    return '\n'.join('| ' + ' | '.join(r) + ' |' for r in rows)


def plot(res, system, backings, sizes, qemus, path):
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        print('report: python3-matplotlib is missing, no plots')
        return False
    by_key = {m[0]: m for m in METRICS}
    fig, axs = plt.subplots(len(PLOTTED), len(backings), squeeze=False,
                            figsize=(4.2 * len(backings), 2.6 * len(PLOTTED)))
    xs = [size_mib(s) / 1024 for s in sizes]
    for row, key in enumerate(PLOTTED):
        m = by_key[key]
        for col, backing in enumerate(backings):
            ax = axs[row][col]
            for n, q in enumerate(qemus):
                pts = [(x, res.stat(system, backing, s, q, m)) for x, s in zip(xs, sizes)]
                pts = [(x, s) for x, s in pts if s]
                if not pts:
                    continue
                ax.errorbar([x for x, _ in pts], [s[0] for _, s in pts],
                            yerr=[[s[0] - s[1] for _, s in pts],
                                  [s[2] - s[0] for _, s in pts]],
                            marker='o', capsize=3, label=q, color=f'C{n}')
            ax.set_title(f'{BACKING_NAMES.get(backing, backing)}: {m[2]}', fontsize=8)
            ax.set_xlabel('guest memory, GiB', fontsize=8)
            ax.tick_params(labelsize=7)
            ax.set_ylim(bottom=0)
            ax.grid(alpha=0.3)
    fig.legend(handles=[plt.Line2D([], [], color=f'C{n}', marker='o', label=q)
                        for n, q in enumerate(qemus)],
               loc='upper right', ncol=len(qemus), fontsize=8)
    fig.suptitle(f'make bench, kernel {system}: medians of the rounds, bars min-max',
                 fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.savefig(path, dpi=80)
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', default='docs/bench')
    ap.add_argument('--mode', default='full')
    ap.add_argument('--fork-commit', default='?')
    ap.add_argument('results', nargs='+')
    opts = ap.parse_args()
    systems, runs, reboots = load(opts.results)
    res = Results(runs)
    linux = Results(reboots)
    os.makedirs(opts.out, exist_ok=True)
    out = ['# Benchmark results', '',
           f'Written by `make bench` (mode {opts.mode}, `tests/bench/report.py`); how it '
           'runs and what each column means: [README.md](README.md). Medians of the '
           'rounds, [min-max] where they differ; every ratio is fork / peer of medians '
           'from the same interleaved run (below 1: the fork is ahead).', '']
    out += ['## Setup', '',
            f'- Run on {time.strftime("%Y-%m-%d")}, fork built from qemu/src '
            f'{opts.fork_commit}.']
    for s in systems:
        secs = None
        try:
            with open(os.path.join(os.path.dirname(s.get('_path', '')), 'seconds')) as f:
                secs = int(f.read())
        except (OSError, ValueError):
            pass
        out.append(f'- Kernel "{s["system"]}": `{s["kernel"]}`, test VM of '
                   f'{s["vm_mem_kib"] >> 20} GiB, THP `{s["thp"]}`, max_iotlb_entries '
                   + ', '.join(f'{m}={n}' for m, n in s['max_iotlb_entries'].items())
                   + '; '
                   f'{s["rounds"]} rounds of '
                   f'{", ".join(s["sizes"])} x {", ".join(s["backings"])}, started {s["date"]}'
                   + (f', {secs / 60:.0f} min' if secs else '')
                   + (f'; {s["linux_rounds"]} rounds of reboots of the Linux test guest'
                      if s['linux_rounds'] else '')
                   + (f' (started {s["linux_date"]})' if 'linux_date' in s else '')
                   + '.')
        for backing, why in s.get('skipped', {}).items():
            out.append(f'  - **not measured on this kernel: {backing}**: {why}.')
        for q, v in s['qemu'].items():
            out.append(f'  - `{q}`: {v} (binary built {s["qemu_built"][q]} UTC)')
    for s in systems:
        qemus = list(s['qemu'])
        sizes, backings = s['sizes'], s['backings']
        sysname = s['system']
        out += ['', f'## Kernel {sysname}: the fork against each peer', '']
        if s['rounds']:
            png = f'bench-{sysname}.png'
            if plot(res, sysname, backings, sizes, qemus, os.path.join(opts.out, png)):
                out += [f'![plots, kernel {sysname}]({png})', '']
            out += [md(summary_table(res, sysname, backings, sizes, qemus)), '']
            for group, title in GROUPS:
                out += [f'### {title} ({sysname})', '',
                        md(group_table(res, sysname, group, backings, sizes, qemus)), '']
        if s['linux_rounds']:
            out += [f'### Reboot of the Linux test guest, firmware and all, '
                    f'{s["linux_mem"]} THP ({sysname})', '',
                    md(linux_table(linux, sysname, s['linux_mem'], qemus)), '']
    failed = res.failed + linux.failed
    if failed:
        out += ['## Failed runs', '']
        out += [f'- {r["system"]} {r["qemu"]} {r["size"]} {r["backing"]} '
                f'{"Linux reboot " if r["type"] == "linux_reboot" else ""}round '
                f'{r["round"]}: {r["error"][:300]}' for r in failed]
    with open(os.path.join(opts.out, 'bench.md'), 'w') as f:
        f.write('\n'.join(out) + '\n')
    with open(os.path.join(opts.out, 'summary.json'), 'w') as f:
        json.dump(ratios_json(res, systems) + linux_json(linux, systems), f, indent=1)
    print(f'report: {opts.out}/bench.md ({len(res.ok)} runs, {len(res.failed)} failed; '
          f'{len(linux.ok)} Linux reboots, {len(linux.failed)} failed)')


def ratios_json(res, systems):
    """Medians and fork/peer ratios of the headline metrics, for the docs."""
    out = []
    by_key = {m[0]: m for m in METRICS}
    for s in systems:
        for backing in s['backings']:
            for size in s['sizes']:
                for key in HEADLINE:
                    m = by_key[key]
                    med = {q: (st[0] if (st := res.stat(s['system'], backing, size, q, m))
                               else None) for q in s['qemu']}
                    out.append({'system': s['system'], 'backing': backing, 'size': size,
                                'metric': key, 'median': med})
    return out


def linux_json(res, systems):
    return [{'system': s['system'], 'backing': 'thp', 'size': s['linux_mem'],
             'metric': m[0],
             'median': {q: (st[0] if (st := res.stat(s['system'], 'thp', s['linux_mem'],
                                                     q, m)) else None)
                        for q in s['qemu']}}
            for s in systems if s['linux_rounds'] for m in LINUX_METRICS]


if __name__ == '__main__':
    main()
