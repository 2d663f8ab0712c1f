#!/usr/bin/env python3
"""Run every test suite, host-side or in the test VM, and sum up their TAP.

    tests/run.py [SUITE...]        (default: all; see SUITES)

Each suite prints TAP ("ok N - name" / "not ok N - name"); a suite that exits
non-zero without reporting a failure counts as one failure, and a suite that
prints no TAP at all (a build check) counts as one test, passed if it exits 0.
A suite whose plans ("1..N", summed over the TAP streams it prints) say no
test or a number other than the results it reports counts as one failure
more: a suite that ran nothing, or stopped half-way, has not passed.
The last line is "N passed, N failed, N skipped".
"""

import os
import re
import subprocess
import sys
import time

TOP = os.path.realpath(os.path.join(os.path.dirname(__file__), '..'))
VM = [os.path.join(TOP, 'tests', 'vm', 'run')]
# Linux 6.1 without our series (make kernel-upstream)
UPSTREAM_KERNEL = ['--kernel', os.path.join(TOP, 'kernel', 'build-upstream', 'arch',
                                            'x86', 'boot', 'bzImage')]
# Python suites, run from TOP: that makes the tree's packages importable
TAP = ['python3', '-m', 'tests.lib.tap']
# A second edu device in the test VM: two VFIO groups behind one IOMMU
EDU2 = ['--qemu-arg=-device', '--qemu-arg=edu']
# QEMU's C qtest of the IOTLB across reset (patches/qemu), persist on/off/auto
# The device is an explicit opt-in: the test sends frames through it
QTEST = ['env', 'QTEST_QEMU_BINARY=qemu/build/qemu-system-x86_64',
         'VHOST_VDPA_DEV=/dev/vhost-vdpa-0',
         'qemu/build/tests/qtest/qos-test', '--tap', '-k', '-p',
         '/x86_64/pc/i440FX-pcihost/pci-bus-pc/pci-bus/virtio-net-pci/'
         'virtio-net/virtio-net-tests/vhost-vdpa']

# The Debian packages as installed (make deb): Debian's stock 6.1 kernel with
# the vDPA modules dkms built from our package (make kernel-debian-6.1), and
# our QEMU package installed by dpkg into a root (tests/deb/dpkg_root.py)
DEBIAN_61 = ['--kernel', 'kernel/build-debian-6.1/vmlinuz', '--qemu-arg=-initrd',
             '--qemu-arg=kernel/build-debian-6.1/initrd.img']

SUITES = {
    # name: command
    'tools': TAP + ['tests/tools'],
    # patches/qemu's unit tests: the IOVA allocator, the guest memory map
    'qemu-unit': ['sh', '-c', 'for t in qemu/build/tests/unit/test-iova-tree '
                  'qemu/build/tests/unit/test-vhost-vdpa-guest-map; do $t --tap '
                  '|| exit 1; done'],
    'checkpatch-kernel': ['sh', 'scripts/checkpatch.sh', 'kernel'],
    'checkpatch-qemu': ['sh', 'scripts/checkpatch.sh', 'qemu'],
    'smoke': VM + ['--vdpa', '1', '--timeout', '900', '--'] + TAP + ['tests/smoke'],
    'smoke-upstream-kernel': VM + UPSTREAM_KERNEL + ['--vdpa', '1', '--timeout', '900',
                                                     '--'] + TAP + ['tests/smoke'],
    'qtest-vhost-vdpa': VM + ['--vdpa', '1', '--timeout', '900', '--'] + QTEST,
    'qtest-vhost-vdpa-upstream-kernel': VM + UPSTREAM_KERNEL + ['--vdpa', '1', '--timeout',
                                                                '900', '--'] + QTEST,
    # with the Linux guest's reboots on pc and q35 (1-2 min per Linux boot)
    'persist': VM + ['--vdpa', '1', '--timeout', '1800', '--'] + TAP + ['tests/persist'],
    # live migration of the tiny and the Linux guest between two devices
    'migration': VM + ['--vdpa', '2', '--mem', '4G', '--timeout', '1800', '--'] + TAP
    + ['tests/avocado'],
    # Debian's libvirt (two daemons) runs our QEMU: vDPA interface (tests/libvirt)
    'libvirt': VM + ['--vdpa', '2', '--timeout', '1800', '--'] + TAP + ['tests/libvirt'],
    # vdpa_sim as a set_map parent (its default) and as a dma_map parent
    'kselftest-vhost': VM + ['--vdpa', '1', '--timeout', '900', '--',
                             'kernel/build/kselftest/vhost/vhost_vdpa_iotlb'],
    'kselftest-vhost-dma-map': VM + ['--vdpa', '1', '--timeout', '900',
                                     '--append', 'vdpa_sim.batch_mapping=0', '--',
                                     'kernel/build/kselftest/vhost/vhost_vdpa_iotlb'],
    # VFIO_IOMMU_CACHE_INVALIDATE on QEMU's VT-d (first level) with an edu
    # device; descriptors checked in L0's trace.  The selftest skips without
    # edu devices (kselftest's way); here both must be there.
    'kselftest-vfio-cache-inv': VM + ['--viommu', '--vdpa', '0', '--timeout', '900']
    + EDU2 + ['--', 'sh', '-c', 'python3 -m tests.lib.edu 2 && '
              'VFIO_IOMMU_TRACE=$QVP_OUT/l0-trace.log exec '
              'kernel/build/kselftest/vfio/vfio_cache_inv'],
    # QEMU's intel-iommu passes a guest's PASID-based IOTLB invalidations on
    # to VFIO_IOMMU_CACHE_INVALIDATE (L1 trace, then L0's); without the
    # kernel's support it reports that at most once a second and keeps running
    'viommu-cache-inv': VM + ['--viommu', '--vdpa', '0', '--timeout', '900']
    + EDU2 + ['--'] + TAP + ['tests/viommu'],
    # (second level in L0: stock 6.1 WARNs on unaligned first-level flushes)
    'viommu-cache-inv-upstream-kernel': VM + UPSTREAM_KERNEL + [
        '--viommu', 'second', '--vdpa', '0', '--timeout', '900', '--',
        'env', 'QVP_CACHE_INV=unsupported'] + TAP + ['tests/viommu'],
    'mlx5-build': ['make', '-s', 'mlx5-build'],
    'deb-lintian': ['sh', '-c', 'lintian --info --pedantic --fail-on error,warning '
                    'out/deb/*.deb'],
    # Debian's qemu-system-x86 -> ours -> Debian's, in a dpkg root
    'deb-upgrade': TAP + ['tests/deb/test_upgrade.py'],
    'install': TAP + ['tests/deb/test_install.py'],
    # the modules are dkms's, then the kernel selftest on them
    'deb-kselftest': VM + DEBIAN_61 + [
        '--vdpa', '1', '--timeout', '900', '--', 'sh', '-c',
        'python3 -m tests.lib.tap tests/deb/test_kernel.py; r=$?; '
        'kernel/build/kselftest/vhost/vhost_vdpa_iotlb || r=1; exit $r'],
    # migration with persistence, the packaged qemu-system-x86_64 in L1
    'deb-migration': ['python3', 'tests/deb/dpkg_root.py', '--run'] + VM + DEBIAN_61 + [
        '--vdpa', '2', '--mem', '4G', '--timeout', '1800', '--', 'env',
        'QVP_QEMU={root}/usr/bin/qemu-system-x86_64'] + TAP + [
        'tests/avocado/test_persist.py'],
}

RESULT = re.compile(r'^(not ok|ok)\b(.*#\s*SKIP)?', re.IGNORECASE)
PLAN = re.compile(r'^1\.\.(\d+)')


def plan_problem(plans, reported):
    """What is wrong with a suite's TAP plans (None: nothing)."""
    if not plans:
        return f'{reported} results without a TAP plan' if reported else None
    if sum(plans) == 0:
        return 'its TAP plan is 1..0: no test ran'
    if sum(plans) != reported:
        return f'its TAP plans announce {sum(plans)} tests, it reported {reported}'
    return None


def run_suite(name, cmd):
    print(f'=== {name}: {" ".join(cmd)}', flush=True)
    start = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=TOP, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    passed = failed = skipped = 0
    plans = []
    for line in proc.stdout:
        sys.stdout.write(line)
        plan = PLAN.match(line.strip())
        if plan:
            plans.append(int(plan.group(1)))
        m = RESULT.match(line.strip())
        if not m:
            continue
        if m.group(1) == 'not ok':
            failed += 1
        elif m.group(2):
            skipped += 1
        else:
            passed += 1
    rc = proc.wait()
    problem = plan_problem(plans, passed + failed + skipped)
    if problem:
        print(f'not ok - {name}: {problem}')
        failed += 1
    if rc == 0 and passed + failed + skipped == 0:
        passed = 1
    if rc != 0 and failed == 0:
        print(f'not ok - {name}: exited {rc} without reporting a failure')
        failed = 1
    print(f'=== {name}: {passed} passed, {failed} failed, {skipped} skipped '
          f'in {time.monotonic() - start:.0f} s', flush=True)
    return passed, failed, skipped


def main():
    names = sys.argv[1:] or list(SUITES)
    unknown = [n for n in names if n not in SUITES]
    if unknown:
        sys.exit(f'unknown suite(s) {" ".join(unknown)}; known: {" ".join(SUITES)}')
    totals = [0, 0, 0]
    for name in names:
        for i, n in enumerate(run_suite(name, SUITES[name])):
            totals[i] += n
    print(f'{totals[0]} passed, {totals[1]} failed, {totals[2]} skipped')
    sys.exit(1 if totals[1] else 0)


if __name__ == '__main__':
    main()
