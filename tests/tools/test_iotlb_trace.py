"""tools/iotlb_trace.py on a trace in the exact format QEMU 10.0 writes."""

import unittest

from tools import iotlb_trace

TRACE = """\
101@100.000000:vhost_vdpa_set_owner dev: 0x5581 
0@100.100000:mark phase=start
101@100.100050:vhost_vdpa_listener_region_add vdpa: 0x55 iova 0x0 llend 0x80000 vaddr: 0x7f00 read-only: 0
101@100.100100:vhost_vdpa_listener_begin_batch vdpa_shared:0x55 fd: 11 msg_type: 2 type: 5
101@100.100200:vhost_vdpa_dma_map vdpa_shared:0x55 fd: 11 msg_type: 2 asid: 0 iova: 0x0 size: 0x80000 uaddr: 0x7f00 perm: 0x3 type: 2
101@100.100250:vhost_vdpa_listener_region_add vdpa: 0x55 iova 0x100000 llend 0x10000000 vaddr: 0x7f10 read-only: 0
101@100.100300:vhost_vdpa_dma_map vdpa_shared:0x55 fd: 11 msg_type: 2 asid: 0 iova: 0x100000 size: 0xff00000 uaddr: 0x7f10 perm: 0x3 type: 2
101@100.100350:vhost_vdpa_dev_start dev: 0x5581 started: 1
101@100.100400:vhost_vdpa_dma_map vdpa_shared:0x55 fd: 11 msg_type: 2 asid: 1 iova: 0x1000 size: 0x1000 uaddr: 0x7f20 perm: 0x1 type: 2
qemu-system-x86_64: some unrelated message
0@100.200000:mark phase=reset
101@100.200050:vhost_vdpa_listener_region_del vdpa: 0x55 iova 0x0 llend 0x7ffff
101@100.200100:vhost_vdpa_dma_unmap vdpa_shared:0x55 fd: 11 msg_type: 2 asid: 0 iova: 0x0 size: 0x80000 type: 3
101@100.200150:vhost_vdpa_listener_region_del vdpa: 0x55 iova 0x100000 llend 0xfffffff
101@100.200200:vhost_vdpa_dma_unmap vdpa_shared:0x55 fd: 11 msg_type: 2 asid: 0 iova: 0x100000 size: 0xff00000 type: 3
101@100.200300:vhost_vdpa_dma_unmap vdpa_shared:0x55 fd: 11 msg_type: 2 asid: 1 iova: 0x1000 size: 0x1000 type: 3
0@100.500000:mark phase=end
"""


class IotlbTraceTest(unittest.TestCase):
    def setUp(self):
        self.rows = {r['phase']: r for r in iotlb_trace.analyse(TRACE.splitlines())}

    def test_phases_in_order(self):
        self.assertEqual(list(self.rows), ['init', 'start', 'reset', 'end'])

    def test_map_counts_and_bytes(self):
        start = self.rows['start']
        self.assertEqual((start['map'], start['unmap'], start['batches']), (3, 0, 1))
        self.assertEqual(start['map_bytes'], 0x80000 + 0xff00000 + 0x1000)
        self.assertEqual(start['asid']['1']['map_bytes'], 0x1000)

    def test_unmap_counts_and_bytes(self):
        reset = self.rows['reset']
        self.assertEqual((reset['map'], reset['unmap']), (0, 3))
        self.assertEqual(reset['unmap_bytes'], 0x80000 + 0xff00000 + 0x1000)

    def test_guest_memory_told_apart(self):
        start, reset = self.rows['start'], self.rows['reset']
        self.assertEqual((start['guest_map'], start['guest_map_bytes']),
                         (2, 0x80000 + 0xff00000))
        self.assertEqual((reset['guest_unmap'], reset['guest_unmap_bytes']),
                         (2, 0x80000 + 0xff00000))

    def test_elapsed_runs_marker_to_marker(self):
        self.assertAlmostEqual(self.rows['reset']['elapsed_ms'], 300.0, places=3)
        self.assertAlmostEqual(self.rows['start']['elapsed_ms'], 100.0, places=3)

    def test_marks_inserted_by_timestamp(self):
        # The same trace without its markers, given them by time instead
        bare = [line for line in TRACE.splitlines() if ':mark ' not in line]
        marks = [(100.5, 'end'), (100.1, 'start'), (100.2, 'reset')]
        rows = {r['phase']: r for r in
                iotlb_trace.analyse(iotlb_trace.with_marks(bare, marks))}
        self.assertEqual(rows, self.rows)

    def test_marks_after_the_last_line_kept(self):
        lines = iotlb_trace.with_marks(['101@1.0:vhost_vdpa_set_owner'],
                                       [(2.0, 'late')])
        self.assertEqual([r['phase'] for r in iotlb_trace.analyse(lines)],
                         ['init', 'late'])


if __name__ == '__main__':
    unittest.main()


# Persistent IOTLB: guest memory unmapped by difference at commit time
GUEST_MAP_TRACE = """\
101@200.000100:vhost_vdpa_dev_start dev: 0x5581 started: 1
101@200.000200:vhost_vdpa_listener_region_del vdpa: 0x55 iova 0xf0000 llend 0xfffff
101@200.000300:vhost_vdpa_guest_unmap vdpa_shared: 0x55 iova: 0xf0000 size: 0x10000
101@200.000350:vhost_vdpa_listener_begin_batch vdpa_shared:0x55 fd: 11 msg_type: 2 type: 5
101@200.000400:vhost_vdpa_dma_unmap vdpa_shared:0x55 fd: 11 msg_type: 2 asid: 0 iova: 0xf0000 size: 0x10000 type: 3
101@200.000500:vhost_vdpa_guest_map vdpa_shared: 0x55 iova: 0xf0000 size: 0x10000
101@200.000600:vhost_vdpa_dma_map vdpa_shared:0x55 fd: 11 msg_type: 2 asid: 0 iova: 0xf0000 size: 0x10000 uaddr: 0x7f20 perm: 0x3 type: 2
"""


class UnmapOrderTest(unittest.TestCase):
    def test_guest_map_events_count_as_guest_memory(self):
        row = iotlb_trace.analyse(GUEST_MAP_TRACE.splitlines())[0]
        self.assertEqual((row['guest_map'], row['guest_unmap']), (1, 1))
        self.assertEqual(row['guest_unmap_bytes'], 0x10000)

    def test_unmaps_of_a_running_device_reported(self):
        bad = iotlb_trace.unmaps_while_running(TRACE.splitlines())
        self.assertEqual(len(bad), 2, bad)
        self.assertTrue(all('asid: 0' in line for line in bad))
        self.assertEqual(len(iotlb_trace.unmaps_while_running(
            GUEST_MAP_TRACE.splitlines())), 1)

    def test_unmaps_after_reset_accepted(self):
        lines = TRACE.replace(
            '0@100.200000:mark phase=reset\n',
            '0@100.200000:mark phase=reset\n'
            '101@100.200010:vhost_vdpa_dev_start dev: 0x5581 started: 0\n'
            '101@100.200020:vhost_vdpa_reset_device dev: 0x5581\n').splitlines()
        self.assertEqual(iotlb_trace.unmaps_while_running(lines), [])


class ShadowMapsTest(unittest.TestCase):
    def test_only_non_guest_maps(self):
        self.assertEqual(iotlb_trace.shadow_maps(TRACE.splitlines()),
                         [(1, 0x1000, 0x1000)])
        self.assertEqual(iotlb_trace.shadow_maps(GUEST_MAP_TRACE.splitlines()), [])
