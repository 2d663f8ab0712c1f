#!/usr/bin/env python3
"""`make demo`, inside the test VM: our QEMU drives a vhost-vdpa device.

Runs the reset-cycle scenario (tests/lib/reset_cycle.py) on
/dev/vhost-vdpa-0 and prints the IOTLB traffic of each phase: what a guest
pays in map/unmap messages every time its NIC is reset.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), 'lib'))
import reset_cycle  # noqa: E402
from iotlb_trace import table  # noqa: E402

print('Our qemu-system-x86_64 (upstream behaviour), -netdev vhost-vdpa on '
      'vdpa_sim_net,\n256 MiB guest: device started, frame echoed, reset, '
      'started again.\n')
trace = os.path.join(os.environ.get('QVP_OUT', '/tmp'), 'demo-trace.log')
phases, echoes = reset_cycle.run(trace=trace)
print(table([phases[p] for p in reset_cycle.PHASES]))
print(f'\nframes echoed intact: {len(echoes)} of 2; full trace: {trace}')
