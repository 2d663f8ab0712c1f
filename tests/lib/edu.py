"""QEMU's edu PCI device (1234:11e8) in the test VM: what the VFIO suites
assign.

    python3 -m tests.lib.edu [N]     exits 1 unless the VM has N (1) of them

tests/vm/run --viommu adds one and tests/run.py's VFIO suites a second, so a
missing one is a broken set-up: it fails the suite instead of skipping it.
"""

import glob
import os
import sys

EDU = ('0x1234', '0x11e8')


def edu_bdfs(want=1):
    """Every edu device, in bus order; AssertionError if fewer than want."""
    found = []
    for dev in sorted(glob.glob('/sys/bus/pci/devices/*')):
        with open(f'{dev}/vendor') as v, open(f'{dev}/device') as d:
            if (v.read().strip(), d.read().strip()) == EDU:
                found.append(os.path.basename(dev))
    if len(found) < want:
        raise AssertionError(f'{len(found)} edu device(s) (1234:11e8), expected '
                             f'{want}: tests/vm/run --viommu adds one, '
                             f'--qemu-arg=-device --qemu-arg=edu another')
    return found


if __name__ == '__main__':
    try:
        edu_bdfs(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
    except AssertionError as e:
        sys.exit(f'edu: {e}')
