"""A guest's PASID-based IOTLB invalidations reach the host IOMMU.

Runs in the test VM booted with --viommu: the VM's kernel drives an
emulated VT-d (L0 QEMU, first-level translation) and QEMU's edu device,
which this test binds to vfio-pci.  Our QEMU (L1) assigns edu to a qtest
machine behind its own emulated VT-d in scalable mode; the test programs
that vIOMMU's invalidation queue with PASID-selective and
page-selective-within-PASID IOTLB invalidation descriptors, as a guest
driver would, and follows each one down the chain:

  qtest descriptor -> L1 intel-iommu (vtd_piotlb_propagate)
  -> VFIO_IOMMU_CACHE_INVALIDATE (vfio_container_cache_invalidate ... ret 0)
  -> the VM kernel's intel-iommu driver -> L0's VT-d
     (vtd_inv_desc_iotlb_pasid / _pasid_pages in $QVP_OUT/l0-trace.log)

QVP_CACHE_INV=unsupported (a kernel without VFIO_IOMMU_CACHE_INVALIDATE)
checks the other side: QEMU warns once, sends nothing to the host, and the
machine keeps running.
"""

import glob
import os
import re
import time
import unittest

from qtest import QTestMachine

EDU = ('0x1234', '0x11e8')
SUPPORTED = os.environ.get('QVP_CACHE_INV', 'supported') == 'supported'
L0_TRACE = os.path.join(os.environ.get('QVP_OUT', '/tmp'), 'l0-trace.log')
EVENTS = ['vtd_piotlb_propagate*', 'vfio_container_cache_invalidate',
          'vfio_legacy_setup_cache_inv', 'vtd_inv_desc_iotlb_pasid*']

# VT-d registers (q35: at 0xfed90000) and what is written to them
DMAR = 0xfed90000
GCMD, GSTS, FSTS, IQH, IQT, IQA = 0x18, 0x1c, 0x34, 0x80, 0x88, 0x90
GCMD_QIE = 1 << 26
FSTS_IQE = 1 << 4
IQA_DW = 1 << 11            # 256-bit descriptors (scalable mode)
QUEUE = 0x200000            # the invalidation queue, in guest memory
DESC_SIZE = 32

# PASID-based IOTLB invalidation descriptor (VT-d 6.5.2.4)
PIOTLB = 0x6
G_PASID, G_PSI = 2, 3       # all in PASID, page-selective within PASID

# Distinctive values, to find each request at every level
DOMAIN = 0x2a
PASID_ALL = 0x5a5a5
PASID_PSI = 0x3c3c3
PSI_ADDR, PSI_AM = 0x7e5a000000, 3          # 8 pages of 4 KiB
PSI_SIZE = 4096 << PSI_AM
L0_WAIT = 60                # seconds for the VM kernel's descriptors to show


def edu_bdf():
    for dev in glob.glob('/sys/bus/pci/devices/*'):
        with open(f'{dev}/vendor') as v, open(f'{dev}/device') as d:
            if (v.read().strip(), d.read().strip()) == EDU:
                return os.path.basename(dev)
    raise unittest.SkipTest('no edu device: run the VM with --viommu')


def bind_vfio(bdf):
    """Bind bdf to vfio-pci; return /dev/vfio/<group>."""
    dev = f'/sys/bus/pci/devices/{bdf}'
    driver = os.path.realpath(f'{dev}/driver') if os.path.exists(
        f'{dev}/driver') else None
    if not driver or os.path.basename(driver) != 'vfio-pci':
        if driver:
            with open(f'{dev}/driver/unbind', 'w') as f:
                f.write(bdf)
        with open(f'{dev}/driver_override', 'w') as f:
            f.write('vfio-pci')
        with open('/sys/bus/pci/drivers_probe', 'w') as f:
            f.write(bdf)
    group = os.path.basename(os.path.realpath(f'{dev}/iommu_group'))
    node = f'/dev/vfio/{group}'
    if not os.path.exists(node):
        raise AssertionError(f'{bdf} bound to vfio-pci but {node} is missing')
    return node


def piotlb_pasid(domain, pasid):
    return (PIOTLB | G_PASID << 4 | domain << 16 | pasid << 32, 0)


def piotlb_psi(domain, pasid, addr, am, ih):
    return (PIOTLB | G_PSI << 4 | domain << 16 | pasid << 32,
            addr | ih << 6 | am)


class VTd:
    """The invalidation queue of the machine's VT-d, driven as a guest would."""

    def __init__(self, qt):
        self.qt = qt
        self.tail = 0
        qt.memwrite(QUEUE, bytes(4096))
        qt.write(DMAR + IQA, 8, QUEUE | IQA_DW)     # 128 descriptors
        qt.write(DMAR + GCMD, 4, GCMD_QIE)
        if not qt.read(DMAR + GSTS, 4) & GCMD_QIE:
            raise AssertionError('queued invalidation did not get enabled')

    def submit(self, desc):
        """Queue one descriptor and let the vIOMMU process it."""
        lo, hi = desc
        data = b''.join(v.to_bytes(8, 'little') for v in (lo, hi, 0, 0))
        self.qt.memwrite(QUEUE + self.tail * DESC_SIZE, data)
        self.tail += 1
        self.qt.write(DMAR + IQT, 8, self.tail * DESC_SIZE)
        # qtest is synchronous: the descriptor has been processed
        head = self.qt.read(DMAR + IQH, 8) // DESC_SIZE
        if self.qt.read(DMAR + FSTS, 4) & FSTS_IQE or head != self.tail:
            raise AssertionError(f'descriptor {lo:#x} {hi:#x} was rejected '
                                 f'(IQH {head}, IQT {self.tail})')


def machine(name, bdf):
    trace = os.path.join(os.environ.get('QVP_OUT', '/tmp'), f'{name}.log')
    args = ['-M', 'q35', '-m', '128M',
            '-device', 'intel-iommu,x-scalable-mode=on,caching-mode=on,aw-bits=39',
            '-device', f'vfio-pci,host={bdf},id=hostdev0']
    return QTestMachine(args, trace=trace, events=EVENTS)


def l0_trace():
    try:
        with open(L0_TRACE, errors='replace') as f:
            return f.read()
    except FileNotFoundError:
        return ''


def wait_l0(pattern, what):
    """Wait for pattern in L0's trace; return the match."""
    deadline = time.monotonic() + L0_WAIT
    while True:
        m = re.search(pattern, l0_trace())
        if m or time.monotonic() > deadline:
            break
        time.sleep(1)
    if not m:
        raise AssertionError(f'L0 never saw {what} within {L0_WAIT} s '
                             f'(/{pattern}/ not in {L0_TRACE})')
    return m


class CacheInvalidateTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.bdf = edu_bdf()
        cls.group = bind_vfio(cls.bdf)

    def run_guest(self, name, descs):
        """Submit descs in a fresh machine; return its trace text."""
        with machine(name, self.bdf) as qt:
            vtd = VTd(qt)
            for d in descs:
                vtd.submit(d)
            self.assertEqual(qt.qmp('query-status')['status'], 'running')
        return qt.log_text()

    @unittest.skipUnless(SUPPORTED, 'the kernel lacks VFIO_IOMMU_CACHE_INV')
    def test_pasid_selective(self):
        log = self.run_guest('cache-inv-pasid',
                             [piotlb_pasid(DOMAIN, PASID_ALL)])
        self.assertRegex(log, r'vfio_legacy_setup_cache_inv .*VFIO_IOMMU_CACHE_INV 1',
                         'the container does not support cache invalidation')
        self.assertRegex(log, rf'vtd_piotlb_propagate {self.bdf}: domain '
                              rf'{DOMAIN:#x} pasid {PASID_ALL:#x} granularity 1')
        self.assertRegex(log, rf'vfio_container_cache_invalidate .* cache 0x1 '
                              rf'granularity 1 pasid {PASID_ALL:#x} .* ret 0\b',
                         'VFIO_IOMMU_CACHE_INVALIDATE did not succeed')
        self.assertNotIn('does not support cache invalidation', log)
        # the VM's kernel invalidated that PASID on L0's VT-d
        wait_l0(rf'vtd_inv_desc_iotlb_pasid .*pasid {PASID_ALL:#x}\b',
                f'a PASID-based IOTLB invalidation of PASID {PASID_ALL:#x}')

    @unittest.skipUnless(SUPPORTED, 'the kernel lacks VFIO_IOMMU_CACHE_INV')
    def test_page_selective_within_pasid(self):
        log = self.run_guest('cache-inv-psi',
                             [piotlb_psi(DOMAIN, PASID_PSI, PSI_ADDR, PSI_AM,
                                         ih=1)])
        self.assertRegex(log, rf'vtd_piotlb_propagate {self.bdf}: domain '
                              rf'{DOMAIN:#x} pasid {PASID_PSI:#x} granularity 2 '
                              rf'addr {PSI_ADDR:#x} size {PSI_SIZE:#x}')
        self.assertRegex(log, rf'vfio_container_cache_invalidate .* cache 0x1 '
                              rf'granularity 2 pasid {PASID_PSI:#x} addr '
                              rf'{PSI_ADDR:#x} granule_size {PSI_SIZE:#x} '
                              rf'nb_granules 1 ret 0\b',
                         'VFIO_IOMMU_CACHE_INVALIDATE did not succeed')
        wait_l0(rf'vtd_inv_desc_iotlb_pasid_pages .*addr {PSI_ADDR:#x} '
                    rf'mask {PSI_AM:#x} pasid {PASID_PSI:#x}\b',
                    f'a page-selective invalidation of {PSI_ADDR:#x} '
                    f'(mask {PSI_AM}) in PASID {PASID_PSI:#x}')
        # IH (leaf only) went down as IOMMU_INV_ADDR_FLAGS_LEAF and back up
        raw = f'p-iotlb high {PSI_ADDR | 1 << 6 | PSI_AM:#x}'
        self.assertIn(raw, l0_trace(),
                      'the invalidation hint was lost on the way')

    @unittest.skipIf(SUPPORTED, 'the kernel supports VFIO_IOMMU_CACHE_INV')
    def test_unsupported_host_warns_once(self):
        descs = [piotlb_pasid(DOMAIN, PASID_ALL),
                 piotlb_psi(DOMAIN, PASID_PSI, PSI_ADDR, PSI_AM, ih=0),
                 piotlb_pasid(DOMAIN, PASID_ALL)]
        log = self.run_guest('cache-inv-unsupported', descs)
        self.assertRegex(log, r'vfio_legacy_setup_cache_inv .*VFIO_IOMMU_CACHE_INV 0')
        self.assertEqual(len(re.findall(rf'vtd_piotlb_propagate_unsupported '
                                        rf'{self.bdf}:', log)), len(descs))
        warnings = re.findall(r'warning: .*does not support cache invalidation',
                              log)
        self.assertEqual(len(warnings), 1, f'expected one warning: {warnings}')
        self.assertNotIn('vfio_container_cache_invalidate', log,
                         'a request was sent to a host without support')
        self.assertNotRegex(l0_trace(), rf'pasid ({PASID_ALL:#x}|{PASID_PSI:#x})\b')


if __name__ == '__main__':
    unittest.main()
