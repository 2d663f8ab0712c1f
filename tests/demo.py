#!/usr/bin/env python3
"""`make demo`, inside the test VM: our QEMU drives a vhost-vdpa device.

Runs the reset-cycle scenario (tests/lib/reset_cycle.py) on
/dev/vhost-vdpa-0, once with upstream behaviour (x-iotlb-persist=off) and
once with the fork's (x-iotlb-persist=on), and prints the IOTLB traffic of
each phase: what a guest pays in map/unmap messages when its NIC is reset.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), 'lib'))
import reset_cycle  # noqa: E402
from iotlb_trace import table  # noqa: E402

OUT = os.environ.get('QVP_OUT', '/tmp')
PHASES = ('init',) + reset_cycle.PHASES + ('end',)

print('qemu-system-x86_64 -M q35 -m 256M -netdev vhost-vdpa on vdpa_sim_net:\n'
      'init = QEMU start-up, start = first DRIVER_OK + a frame echoed,\n'
      'reset = device reset, restart = DRIVER_OK + a frame echoed again,\n'
      'end = QEMU exit.')
for mode, what in (('off', 'upstream behaviour'), ('on', 'the fork')):
    trace = os.path.join(OUT, f'demo-trace-{mode}.log')
    phases, echoes = reset_cycle.run(netdev_opts=f',x-iotlb-persist={mode}',
                                     trace=trace)
    intact = sum(e == p for e, p in zip(echoes, reset_cycle.PAYLOADS))
    print(f'\n== x-iotlb-persist={mode} ({what}); frames echoed intact: '
          f'{intact} of {len(reset_cycle.PAYLOADS)}; trace: '
          f'{os.path.basename(trace)}')
    print(table([phases[p] for p in PHASES if p in phases]))
