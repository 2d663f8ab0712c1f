"""A guest's PASID-based IOTLB invalidations reach the host IOMMU.

Runs in the test VM booted with --viommu: the VM's kernel drives an
emulated VT-d (L0 QEMU, first-level translation) and QEMU's edu device,
which this test binds to vfio-pci.  Our QEMU (L1) assigns edu to a qtest
machine behind its own emulated VT-d in scalable mode; the test writes
the root, context and PASID tables that put edu in guest domain DOMAIN
with RID2PASID as its PASID for requests without PASID, then programs
that vIOMMU's invalidation queue with PASID-selective and
page-selective-within-PASID IOTLB invalidation descriptors, as a guest
driver would, and follows each one down the chain:

  qtest descriptor -> L1 intel-iommu (vtd_piotlb_propagate)
  -> VFIO_IOMMU_CACHE_INVALIDATE (vfio_container_cache_invalidate ... ret 0)
  -> the VM kernel's intel-iommu driver -> L0's VT-d
     (vtd_inv_desc_iotlb_pasid / _pasid_pages in $QVP_OUT/l0-trace.log)

The host attaches edu's domain to its requests without PASID only, so a
descriptor for another PASID or another domain is not propagated.

QVP_CACHE_INV=unsupported (a kernel without VFIO_IOMMU_CACHE_INVALIDATE)
checks the other side: QEMU reports the failure at most once a second,
sends nothing to the host, and the machine keeps running.
"""

import os
import re
import time
import unittest

from tests.lib.edu import edu_bdfs
from tests.lib.qtest import QTestMachine
from tests.lib.wait import wait_for

SUPPORTED = os.environ.get('QVP_CACHE_INV', 'supported') == 'supported'
L0_TRACE = os.path.join(os.environ.get('QVP_OUT', '/tmp'), 'l0-trace.log')
EVENTS = ['vtd_piotlb_propagate*', 'vfio_container_cache_invalidate',
          'vfio_legacy_probe_cache_inv', 'vtd_inv_desc_iotlb_pasid*']

# VT-d registers (q35: at 0xfed90000) and what is written to them
DMAR = 0xfed90000
GCMD, GSTS, RTADDR, FSTS, IQH, IQT, IQA = 0x18, 0x1c, 0x20, 0x34, 0x80, 0x88, 0x90
GCMD_QIE = 1 << 26
GCMD_SRTP = 1 << 30
RTADDR_SMT = 1 << 10        # scalable-mode root table
FSTS_IQE = 1 << 4
IQA_DW = 1 << 11            # 256-bit descriptors (scalable mode)
QUEUE = 0x200000            # the invalidation queue, in guest memory
DESC_SIZE = 32

# Scalable-mode translation structures (VT-d 9.4, 9.5, 9.6), in guest memory
ROOT = 0x210000             # root table: bus 0 -> CONTEXT
CONTEXT = 0x211000          # lower context table: devfn 0-127 -> PASID_DIR
PASID_DIR = 0x212000        # PASID directory: 64 PASIDs per entry
PASID_TABLE = 0x21a000      # the PASID table of RID2PASID
PGTT_PT = 4 << 6            # PASID entry: pass-through

# PASID-based IOTLB invalidation descriptor (VT-d 6.5.2.4)
PIOTLB = 0x6
G_PASID, G_PSI = 2, 3       # all in PASID, page-selective within PASID

# Distinctive values, to find each request at every level
DOMAIN = 0x2a
RID2PASID = 0x3c3           # the PASID of edu's requests without PASID
OTHER_PASID = 0x5a5a5
HOST_RID2PASID = 0          # the VM kernel's (Linux 6.1's PASID_RID2PASID)
PSI_ADDR, PSI_AM = 0x7e5a000000, 3          # 8 pages of 4 KiB
PSI_SIZE = 4096 << PSI_AM
L0_WAIT = 60                # seconds for the VM kernel's descriptors to show
REPORT_INTERVAL = 1         # s: QEMU reports a failed propagation at most this often


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


def le64(*vals):
    return b''.join(v.to_bytes(8, 'little') for v in vals)


class VTd:
    """The invalidation queue of the machine's VT-d, driven as a guest would."""

    def __init__(self, qt):
        self.qt = qt
        self.tail = 0
        self.set_up_tables()
        qt.memwrite(QUEUE, bytes(4096))
        qt.write(DMAR + IQA, 8, QUEUE | IQA_DW)     # 128 descriptors
        qt.write(DMAR + GCMD, 4, GCMD_QIE)
        if not qt.read(DMAR + GSTS, 4) & GCMD_QIE:
            raise AssertionError('queued invalidation did not get enabled')

    def set_up_tables(self):
        """Every device on bus 0 in DOMAIN, with RID2PASID, pass-through."""
        qt = self.qt
        qt.memwrite(ROOT, le64(CONTEXT | 1, 0) + bytes(4096 - 16))
        qt.memwrite(CONTEXT, le64(PASID_DIR | 1, RID2PASID, 0, 0) * 128)
        qt.memwrite(PASID_DIR, bytes(0x8000))
        qt.memwrite(PASID_DIR + (RID2PASID >> 6) * 8, le64(PASID_TABLE | 1))
        entry = le64(PGTT_PT | 1, DOMAIN, 0, 0, 0, 0, 0, 0)
        qt.memwrite(PASID_TABLE, bytes(4096))
        qt.memwrite(PASID_TABLE + (RID2PASID & 0x3f) * 64, entry)
        qt.write(DMAR + RTADDR, 8, ROOT | RTADDR_SMT)
        qt.write(DMAR + GCMD, 4, GCMD_SRTP)
        if not qt.read(DMAR + GSTS, 4) & GCMD_SRTP:
            raise AssertionError('the root table pointer was not latched')

    def submit(self, desc):
        """Queue one descriptor and let the vIOMMU process it."""
        lo, hi = desc
        data = le64(lo, hi, 0, 0)
        self.qt.memwrite(QUEUE + self.tail * DESC_SIZE, data)
        self.tail += 1
        self.qt.write(DMAR + IQT, 8, self.tail * DESC_SIZE)
        # qtest is synchronous: the descriptor has been processed
        head = self.qt.read(DMAR + IQH, 8) // DESC_SIZE
        if self.qt.read(DMAR + FSTS, 4) & FSTS_IQE or head != self.tail:
            raise AssertionError(f'descriptor {lo:#x} {hi:#x} was rejected '
                                 f'(IQH {head}, IQT {self.tail})')


def machine(name, bdfs):
    trace = os.path.join(os.environ.get('QVP_OUT', '/tmp'), f'{name}.log')
    args = ['-M', 'q35', '-m', '128M',
            '-device', 'intel-iommu,x-scalable-mode=on,caching-mode=on,aw-bits=39']
    for i, bdf in enumerate(bdfs):
        args += ['-device', f'vfio-pci,host={bdf},id=hostdev{i}']
    return QTestMachine(args, trace=trace, events=EVENTS)


def l0_trace(start=0):
    """L0's trace from byte offset start."""
    try:
        with open(L0_TRACE, 'rb') as f:
            f.seek(start)
            return f.read().decode(errors='replace')
    except FileNotFoundError:
        return ''


def l0_size():
    try:
        return os.path.getsize(L0_TRACE)
    except FileNotFoundError:
        return 0


def wait_l0(pattern, what, start=0):
    """Wait for pattern in L0's trace past start; return the match."""
    return wait_for(f'L0 to see {what} (/{pattern}/ in {L0_TRACE})',
                    lambda: re.search(pattern, l0_trace(start)),
                    timeout=L0_WAIT, interval=1)


class CacheInvalidateTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.bdfs = edu_bdfs()
        cls.bdf = cls.bdfs[0]
        for bdf in cls.bdfs:
            bind_vfio(bdf)

    def run_guest(self, name, descs, then=None, bdfs=None):
        """Submit descs in a fresh machine (assigned: bdfs, or the first edu),
        call then(l0_start) while it still runs (the VM kernel's own
        invalidations when QEMU exits must not be mistaken for ours); return
        its trace text."""
        with machine(name, bdfs or [self.bdf]) as qt:
            vtd = VTd(qt)
            start = l0_size()
            for d in descs:
                if d == 'pause':
                    time.sleep(REPORT_INTERVAL + 0.5)
                    continue
                vtd.submit(d)
            self.assertEqual(qt.qmp('query-status')['status'], 'running')
            if then:
                then(start)
        return qt.log_text()

    @unittest.skipUnless(SUPPORTED, 'the kernel lacks VFIO_IOMMU_CACHE_INV')
    def test_pasid_selective(self):
        def l0(start):
            # the VM kernel invalidated its RID2PASID of edu's domain
            wait_l0(rf'vtd_inv_desc_iotlb_pasid .*pasid {HOST_RID2PASID:#x}\b',
                    'a PASID-based IOTLB invalidation of the host RID2PASID',
                    start)
        log = self.run_guest('cache-inv-pasid',
                             [piotlb_pasid(DOMAIN, RID2PASID)], l0)
        self.assertRegex(log, r'vfio_legacy_probe_cache_inv .*VFIO_IOMMU_CACHE_INV 1',
                         'the container does not support cache invalidation')
        self.assertRegex(log, rf'vtd_piotlb_propagate {self.bdf}: domain '
                              rf'{DOMAIN:#x} pasid {RID2PASID:#x} granularity 0 ')
        self.assertRegex(log, r'vfio_container_cache_invalidate .* cache 0x1 '
                              r'granularity 0 pasid 0x0 .* done 1 ret 0\b',
                         'VFIO_IOMMU_CACHE_INVALIDATE did not succeed')
        self.assertNotIn('does not support cache invalidation', log)

    @unittest.skipUnless(SUPPORTED, 'the kernel lacks VFIO_IOMMU_CACHE_INV')
    def test_page_selective_within_pasid(self):
        def l0(start):
            wait_l0(rf'vtd_inv_desc_iotlb_pasid_pages .*addr {PSI_ADDR:#x} '
                    rf'mask {PSI_AM:#x} pasid {HOST_RID2PASID:#x}\b',
                    f'a page-selective invalidation of {PSI_ADDR:#x} '
                    f'(mask {PSI_AM}) of the host RID2PASID', start)
            # IH (leaf only) went down as IOMMU_INV_ADDR_FLAGS_LEAF and back
            raw = f'p-iotlb high {PSI_ADDR | 1 << 6 | PSI_AM:#x}'
            self.assertIn(raw, l0_trace(start),
                          'the invalidation hint was lost on the way')
        log = self.run_guest('cache-inv-psi',
                             [piotlb_psi(DOMAIN, RID2PASID, PSI_ADDR, PSI_AM,
                                         ih=1)], l0)
        self.assertRegex(log, rf'vtd_piotlb_propagate {self.bdf}: domain '
                              rf'{DOMAIN:#x} pasid {RID2PASID:#x} granularity 2 '
                              rf'addr {PSI_ADDR:#x} size {PSI_SIZE:#x}')
        self.assertRegex(log, rf'vfio_container_cache_invalidate .* cache 0x1 '
                              rf'granularity 2 pasid 0x0 addr '
                              rf'{PSI_ADDR:#x} granule_size {PSI_SIZE:#x} '
                              rf'nb_granules 1 done 1 ret 0\b',
                         'VFIO_IOMMU_CACHE_INVALIDATE did not succeed')

    @unittest.skipUnless(SUPPORTED, 'the kernel lacks VFIO_IOMMU_CACHE_INV')
    def test_two_devices_each_container_once(self):
        """Behind the vIOMMU each assigned device has its own address space,
        so its own container: each container gets each request once."""
        self.assertGreaterEqual(len(self.bdfs), 2, 'one edu device: the suite '
                                'boots the VM with a second one')
        descs = [piotlb_pasid(DOMAIN, RID2PASID),
                 piotlb_psi(DOMAIN, RID2PASID, PSI_ADDR, PSI_AM, ih=0)]
        log = self.run_guest('cache-inv-two', descs, bdfs=self.bdfs[:2])
        probed = re.findall(r'vfio_legacy_probe_cache_inv container->fd=(\d+) '
                            r'VFIO_IOMMU_CACHE_INV 1', log)
        self.assertEqual(len(set(probed)), 2, f'containers probed: {probed}')
        sent = re.findall(r'vfio_container_cache_invalidate container->fd=(\d+) '
                          r'.* done 1 ret 0\b', log)
        for fd in set(probed):
            self.assertEqual(sent.count(fd), len(descs),
                             f'container fd {fd}: expected one request per '
                             f'descriptor, sent {sent}')

    def test_not_the_device_not_propagated(self):
        """Another PASID or another domain: nothing of it is on the host."""
        descs = [piotlb_pasid(DOMAIN, OTHER_PASID),
                 piotlb_psi(DOMAIN + 1, RID2PASID, PSI_ADDR, PSI_AM, ih=0)]
        log = self.run_guest('cache-inv-skip', descs)
        self.assertEqual(len(re.findall(rf'vtd_piotlb_propagate_skip '
                                        rf'{self.bdf}:', log)), len(descs))
        self.assertNotIn('vfio_container_cache_invalidate', log)
        self.assertNotIn('does not support cache invalidation', log)

    @unittest.skipIf(SUPPORTED, 'the kernel supports VFIO_IOMMU_CACHE_INV')
    def test_unsupported_host_reported_rate_limited(self):
        descs = [piotlb_pasid(DOMAIN, RID2PASID),
                 piotlb_psi(DOMAIN, RID2PASID, PSI_ADDR, PSI_AM, ih=0),
                 piotlb_pasid(DOMAIN, RID2PASID),
                 'pause',
                 piotlb_pasid(DOMAIN, RID2PASID)]
        start = l0_size()
        log = self.run_guest('cache-inv-unsupported', descs)
        self.assertRegex(log, r'vfio_legacy_probe_cache_inv .*VFIO_IOMMU_CACHE_INV 0')
        self.assertEqual(len(re.findall(rf'vtd_piotlb_propagate_unsupported '
                                        rf'{self.bdf}:', log)), 4)
        errors = re.findall(r'does not support cache invalidation', log)
        self.assertEqual(len(errors), 2,
                         'expected the first failure reported, the next two '
                         f'suppressed, and the one after a pause: {errors}')
        self.assertIn('2 earlier failure(s) not reported', log)
        self.assertNotIn('vfio_container_cache_invalidate', log,
                         'a request was sent to a host without support')
        self.assertNotRegex(l0_trace(start), rf'addr {PSI_ADDR:#x}\b')


if __name__ == '__main__':
    unittest.main()
