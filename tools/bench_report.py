#!/usr/bin/env python3
"""Turn `make bench` results (tests/bench/bench.py JSON lines) into
docs/bench/bench.md (tables, targets, versions) and bench.png (plots).

Usage: bench_report.py [--out DIR] [--seconds N] RESULTS.jsonl...

Each cell (kernel, QEMU, guest size) shows the median of its runs, with
[min-max] where the runs differ.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import time

MIB = 1 << 20
TOP = os.path.realpath(os.path.join(os.path.dirname(__file__), '..'))


def load(paths):
    systems, runs = [], []
    for path in paths:
        with open(path) as f:
            for line in f:
                rec = json.loads(line)
                if 'stop_ms' in rec:
                    rec['device_ms'] = rec['stop_ms'] + rec['start_ms']
                (systems if rec['type'] == 'system' else runs).append(rec)
    return systems, runs


def size_mib(size):
    n, unit = float(size[:-1]), size[-1].upper()
    return int(n * {'M': 1, 'G': 1024}[unit])


def get(rec, path):
    for key in path.split('.'):
        rec = rec.get(key) if isinstance(rec, dict) else None
    return rec


def stat(recs, path, scale=1.0):
    """(median, min, max) of a field over runs, or None."""
    vals = [get(r, path) / scale for r in recs if get(r, path) is not None]
    return (statistics.median(vals), min(vals), max(vals)) if vals else None


def fmt(s, digits=0):
    if s is None:
        return '-'
    med, lo, hi = s
    text = f'{med:.{digits}f}'
    if f'{lo:.{digits}f}' != f'{hi:.{digits}f}':
        text += f' [{lo:.{digits}f}-{hi:.{digits}f}]'
    return text


def msgs(recs, phase):
    """Guest-memory map/unmap messages, and all of them in parentheses."""
    def one(kind):
        return fmt(stat(recs, f'iotlb.{phase}.{kind}'))
    return (f'{one("guest_map")}/{one("guest_unmap")} '
            f'({one("map")}/{one("unmap")})')


def mib(recs, phase):
    return (f'{fmt(stat(recs, f"iotlb.{phase}.map_bytes", MIB), 1)}/'
            f'{fmt(stat(recs, f"iotlb.{phase}.unmap_bytes", MIB), 1)}')


def cells(runs):
    """{(system, qemu, size): [good runs]} in the order they were run."""
    out = {}
    for r in runs:
        out.setdefault((r['system'], r['qemu'], r['size']), [])
        if 'error' not in r:
            out[(r['system'], r['qemu'], r['size'])].append(r)
    return dict(sorted(out.items(), key=lambda kv: (
        [r['system'] for r in runs].index(kv[0][0]), kv[0][1] != 'fork',
        kv[0][1], size_mib(kv[0][2]))))


def table(head, rows):
    out = ['| ' + ' | '.join(head) + ' |', '|' + ' --- |' * len(head)]
    out += ['| ' + ' | '.join(str(c) for c in row) + ' |' for row in rows]
    return '\n'.join(out)


def key_cols(key, recs):
    system, qemu, size = key
    persist = ' (persist)' if recs and recs[0].get('iotlb_persist') else ''
    return [system, qemu + persist, size, len(recs)]


def tables(cs):
    keys = ['kernel', 'QEMU', 'guest', 'runs']
    reset = table(keys + ['map/unmap msgs per reset: guest (all)',
                          'MiB mapped/unmapped', 'reset cycle ms',
                          'status 0 write ms', 'DRIVER_OK write ms',
                          'driver\'s second status 0 ms'],
                  [key_cols(k, v) + [msgs(v, 'reset'), mib(v, 'reset'),
                                     fmt(stat(v, 'reset_ms')), fmt(stat(v, 'stop_ms')),
                                     fmt(stat(v, 'start_ms')),
                                     fmt(stat(v, 'zero_again_ms'))]
                   for k, v in cs.items()])
    svq = table(keys + ['map/unmap msgs per SVQ switch: guest (all)',
                        'MiB mapped/unmapped', 'switch ms'],
                [key_cols(k, v) + [msgs(v, 'svq'), mib(v, 'svq'), fmt(stat(v, 'svq_ms'))]
                 for k, v in cs.items()])
    mig = table(keys + ['map/unmap msgs per migration: guest (all)',
                        'MiB mapped/unmapped', 'of which at switchover: guest (all)',
                        'downtime ms (QEMU)', 'stop to start ms (guest)',
                        'of which source stop ms', 'destination start ms',
                        'setup ms', 'total s'],
                [key_cols(k, v) + [msgs(v, 'migration'), mib(v, 'migration'),
                                   msgs(v, 'switchover'), fmt(stat(v, 'downtime_ms')),
                                   fmt(stat(v, 'guest_downtime_ms')),
                                   fmt(stat(v, 'src_stop_ms')),
                                   fmt(stat(v, 'dst_start_ms')),
                                   fmt(stat(v, 'setup_ms')),
                                   fmt(stat(v, 'total_ms', 1000), 1)]
                 for k, v in cs.items()])
    pin = table(keys + ['source before DRIVER_OK', 'source in reset', 'source running',
                        'destination waiting', 'destination running'],
                [key_cols(k, v) + [fmt(stat(v, f'pinned_kib.{p}', 1024)) for p in
                                   ('src_init', 'src_reset', 'src_running',
                                    'dst_init', 'dst_running')]
                 for k, v in cs.items()])
    return reset, svq, mig, pin


def ratio(cs, system, qemu, field, big='4G', small='256M'):
    """Median at 4 GiB over median at 256 MiB, or None."""
    a, b = cs.get((system, qemu, big)), cs.get((system, qemu, small))
    if not a or not b or not stat(a, field) or not stat(b, field):
        return None
    return stat(a, field)[0] / max(stat(b, field)[0], 1e-9)


def targets(cs):
    """The issue's targets for the fork on a kernel where it acked
    IOTLB_PERSIST, with upstream QEMU on the same kernel beside it."""
    systems = list(dict.fromkeys(k[0] for k in cs))
    persist = [s for s in systems
               if any(r.get('iotlb_persist') for r in cs.get((s, 'fork', '256M'), []))]

    def x(s, q, field):
        r = ratio(cs, s, q, field)
        return '-' if r is None else f'{r:.2f}x'

    def verdict(s, field, limit=1.10):
        r = ratio(cs, s, 'fork', field)
        return '-' if r is None else ('met' if r <= limit else 'not met')

    rows = []
    for s in persist:
        recs = [r for k, v in cs.items() if k[0] == s and k[1] == 'fork' for r in v]
        worst = {p: max(r['iotlb'][p]['guest_map'] + r['iotlb'][p]['guest_unmap']
                        for r in recs) for p in ('reset', 'svq')}
        rows.append([s, 'guest-memory map+unmap messages per reset / per SVQ switch, '
                     'the most at any size (target 0)',
                     f'{worst["reset"]} / {worst["svq"]}', '-',
                     'met' if not any(worst.values()) else 'not met'])
        for field, what in (('reset_ms', 'reset cycle time, 4 GiB over 256 MiB (target 1.10)'),
                            ('device_ms', 'of which the status 0 and DRIVER_OK writes'),
                            ('downtime_ms', 'downtime (QEMU), 4 GiB over 256 MiB '
                                            '(target 1.10)'),
                            ('guest_downtime_ms', 'stop to start (guest), 4 GiB over '
                                                  '256 MiB')):
            rows.append([s, what, x(s, 'fork', field), x(s, 'upstream', field),
                         verdict(s, field)])
    return table(['kernel', 'target', 'fork', 'upstream', 'fork: target'], rows)


def plot(cs, path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.ticker import ScalarFormatter
    panels = (('reset_ms', 'device reset cycle (status 0 to DRIVER_OK)'),
              ('device_ms', 'of which QEMU stopping + starting the device'),
              ('svq_ms', 'switch to shadow virtqueues'),
              ('downtime_ms', 'migration downtime reported by QEMU'),
              ('guest_downtime_ms', 'source stop to destination start'),
              ('dst_start_ms', 'of which the destination starting its device'))
    fig, axes = plt.subplots(2, 3, figsize=(16, 9))
    series = {}
    for (system, qemu, size), recs in cs.items():
        if recs:
            series.setdefault((system, qemu), []).append((size_mib(size), recs))
    styles = [('-', 'o'), ('--', 's'), (':', '^'), ('-.', 'D')]
    systems = list(dict.fromkeys(s for s, _ in series))
    qemus = list(dict.fromkeys(q for _, q in series))
    for ax, (field, title) in zip(axes.flat, panels):
        for (system, qemu), pts in series.items():
            line, marker = styles[systems.index(system) % len(styles)]
            pts = [(x, stat(r, field)) for x, r in pts if stat(r, field)]
            st = [s for _, s in pts]
            ax.errorbar([x for x, _ in pts], [s[0] for s in st],
                        yerr=[[s[0] - s[1] for s in st], [s[2] - s[0] for s in st]],
                        capsize=3, marker=marker, linestyle=line,
                        color=f'C{qemus.index(qemu)}', label=f'{qemu} QEMU, {system} kernel')
        ax.set_title(title + ', ms', fontsize=10)
        ax.set_xscale('log', base=2)
        ax.set_yscale('log')
        ax.yaxis.set_major_formatter(ScalarFormatter())
        ax.set_xticks([256, 1024, 2048, 4096], ['256 MiB', '1 GiB', '2 GiB', '4 GiB'])
        ax.set_xlabel('guest memory')
        ax.grid(True, which='both', alpha=0.3)
    axes.flat[0].legend(fontsize=8)
    fig.suptitle('vhost-vdpa on vdpa_sim_net in the test VM (nested TCG): median of '
                 'the runs, bars min-max, log scales', fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=80)


def sh(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, cwd=TOP).stdout.strip()
    except OSError:
        return '?'


def setup(systems, seconds, fork_commit):
    cpu = '?'
    with open('/proc/cpuinfo') as f:
        for line in f:
            if line.startswith('model name'):
                cpu = line.split(':', 1)[1].strip()
                break
    lines = [f'- Run on {time.strftime("%F")}, checkout {sh("git", "describe", "--always", "--dirty")}'
             + (f', fork built from qemu/src {fork_commit}' if fork_commit else '')
             + (f'; the test VM runs took {seconds / 60:.0f} min in all' if seconds else '')
             + '.',
             f'- Host: {cpu}, {os.cpu_count()} CPUs shared with other work, '
             f'{platform.release()}; the test VM runs under TCG (`-accel tcg,thread=multi '
             f'-smp 2`) in {sh("qemu/build/qemu-system-x86_64", "--version").splitlines()[0]} '
             '(the fork).']
    for s in systems:
        q = ', '.join(f'{n}: {v}' + (f' (built {s["qemu_built"][n]} UTC)'
                                      if 'qemu_built' in s else '')
                      for n, v in s['qemu'].items())
        lines.append(f'- Kernel "{s["system"]}": `{s["kernel"]}`, {round(s["vm_mem_kib"] / (1 << 20))} GiB '
                     f'VM, THP `{s["thp"]}`; {s["runs"]} runs of {", ".join(s["sizes"])}; {q}.')
    return '\n'.join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', default=os.path.join(TOP, 'docs', 'bench'))
    ap.add_argument('--seconds', type=float, help='how long the run took '
                    '(default: the sum of the "seconds" files beside the results)')
    ap.add_argument('--fork-commit', help='qemu/src commit the fork was built from')
    ap.add_argument('results', nargs='+')
    opts = ap.parse_args()
    systems, runs = load(opts.results)
    seconds = [os.path.join(os.path.dirname(p), 'seconds') for p in opts.results]
    if all(os.path.exists(p) for p in seconds):
        opts.seconds = sum(float(open(p).read()) for p in seconds)
    cs = cells(runs)
    reset, svq, mig, pin = tables(cs)
    failed = [r for r in runs if 'error' in r]
    os.makedirs(opts.out, exist_ok=True)
    plot(cs, os.path.join(opts.out, 'bench.png'))
    md = f"""# Benchmark results

Written by `make bench` (`tools/bench_report.py`); how to run it and what each column
means: [README.md](README.md). Medians of the runs, [min-max] where they differ.
"guest" messages are those for guest memory; in parentheses all messages, shadow
vrings and CVQ buffers included. "(persist)": the fork acked IOTLB_PERSIST.

![plots](bench.png)

## Setup

{setup(systems, opts.seconds, opts.fork_commit)}

## Targets

{targets(cs)}

## Device reset (status 0, then the driver brings the device back to DRIVER_OK)

{reset}

## Switch to shadow virtqueues at migration start

{svq}

## Live migration (source and destination in the test VM, tcp, multifd)

{mig}

## Pinned memory, MiB (VmPin of the QEMU process)

{pin}
"""
    if failed:
        md += '\n## Failed runs\n\n' + '\n'.join(
            f'- {r["system"]} {r["qemu"]} {r["size"]} run {r["run"]}: {r["error"]}'
            for r in failed) + '\n'
    with open(os.path.join(opts.out, 'bench.md'), 'w') as f:
        f.write(md)
    print(f'bench: wrote {opts.out}/bench.md and bench.png '
          f'({len(runs) - len(failed)} runs, {len(failed)} failed)')


if __name__ == '__main__':
    main()
