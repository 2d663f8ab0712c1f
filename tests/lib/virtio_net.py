"""A minimal modern virtio-pci virtio-net driver, over qtest.

Enough of a guest driver to take a virtio-net-pci device backed by
vhost-vdpa through the status sequence to DRIVER_OK, exchange frames on
queue pair 0 (vdpa_sim_net echoes TX to RX), and reset it again.
"""

import struct

from tests.lib.wait import wait_for

PCI_COMMAND_MEMORY = 0x2
PCI_COMMAND_MASTER = 0x4
PCI_CAP_ID_VNDR = 0x09

VIRTIO_PCI_CAP_COMMON_CFG = 1
VIRTIO_PCI_CAP_NOTIFY_CFG = 2

STATUS_ACKNOWLEDGE = 1
STATUS_DRIVER = 2
STATUS_DRIVER_OK = 4
STATUS_FEATURES_OK = 8

VIRTIO_F_VERSION_1 = 32
VRING_DESC_F_WRITE = 2
NET_HDR_LEN = 12                       # struct virtio_net_hdr_v1

# Common configuration structure offsets (virtio 1.x, 4.1.4.3).
DFSELECT, DF, GFSELECT, GF = 0x00, 0x04, 0x08, 0x0c
STATUS = 0x14
Q_SELECT, Q_SIZE, Q_ENABLE, Q_NOTIFY_OFF = 0x16, 0x18, 0x1c, 0x1e
Q_DESC, Q_DRIVER, Q_DEVICE = 0x20, 0x28, 0x30

BAR_BASE = 0xe0000000                  # inside q35's 32-bit PCI hole
RING_BASE = 0x01000000                 # guest RAM used for rings and buffers
QUEUE_SIZE = 64
BUF_SIZE = 2048


class VirtioError(Exception):
    pass


class Virtqueue:
    def __init__(self, qt, index, base, size, notify):
        self.qt, self.index, self.size, self.notify = qt, index, size, notify
        self.desc = base
        self.avail = base + 16 * size
        self.used = base + 0x1000 * ((16 * size + 6 + 2 * size) // 0x1000 + 1)
        self.buffers = self.used + 0x1000
        self.avail_idx = 0
        self.used_idx = 0
        qt.memset(base, self.buffers + size * BUF_SIZE - base)

    def add(self, slot, data=b'', writable=False):
        """Offer buffer <slot> to the device and kick it."""
        addr = self.buffers + slot * BUF_SIZE
        length = BUF_SIZE if writable else len(data)
        self.qt.memwrite(addr, data)
        self.qt.memwrite(self.desc + 16 * slot,
                         struct.pack('<QIHH', addr, length,
                                     VRING_DESC_F_WRITE if writable else 0, 0))
        self.qt.write(self.avail + 4 + 2 * (self.avail_idx % self.size), 2, slot)
        self.avail_idx = (self.avail_idx + 1) & 0xffff
        self.qt.write(self.avail + 2, 2, self.avail_idx)
        self.qt.write(self.notify, 2, self.index)

    def get(self, timeout):
        """Wait for the next used buffer; return (slot, bytes written)."""
        wait_for(f'queue {self.index}: a used buffer past index {self.used_idx}',
                 lambda: self.qt.read(self.used + 2, 2),
                 lambda idx: idx != self.used_idx, timeout, interval=0.01)
        slot, length = struct.unpack(
            '<II', self.qt.memread(self.used + 4 + 8 * (self.used_idx % self.size), 8))
        self.used_idx = (self.used_idx + 1) & 0xffff
        return slot, length

    def read_buffer(self, slot, length):
        return self.qt.memread(self.buffers + slot * BUF_SIZE, length)


class VirtioNetPCI:
    """virtio-net-pci at bus 0, device <slot> of a q35 machine."""

    def __init__(self, qt, slot):
        self.qt = qt
        self.devfn = slot << 3
        self.common = None
        self.notify_base = None
        self.notify_mult = None
        self.rx = self.tx = None
        self._map_bars()

    # -- PCI configuration space -------------------------------------------
    def cfg_read(self, reg, width):
        return self.qt.pci_read(self.devfn, reg, width)

    def cfg_write32(self, reg, val):
        self.qt.pci_write32(self.devfn, reg, val)

    def _map_bars(self):
        if self.cfg_read(0, 2) != 0x1af4:
            raise VirtioError(f'no virtio device at devfn {self.devfn:#x}')
        caps = []
        ptr = self.cfg_read(0x34, 1)
        while ptr:
            if self.cfg_read(ptr, 1) == PCI_CAP_ID_VNDR:
                caps.append((self.cfg_read(ptr + 3, 1), self.cfg_read(ptr + 4, 1),
                             self.cfg_read(ptr + 8, 4), ptr))
            ptr = self.cfg_read(ptr + 1, 1)
        bars = {}
        for cfg_type, bar, offset, ptr in caps:
            if bar not in bars:
                bars[bar] = BAR_BASE + len(bars) * 0x1000000
                reg = 0x10 + 4 * bar
                self.cfg_write32(reg, bars[bar] & 0xffffffff)
                if self.cfg_read(reg, 4) & 0x4:           # 64-bit BAR
                    self.cfg_write32(reg + 4, bars[bar] >> 32)
            if cfg_type == VIRTIO_PCI_CAP_COMMON_CFG:
                self.common = bars[bar] + offset
            elif cfg_type == VIRTIO_PCI_CAP_NOTIFY_CFG:
                self.notify_base = bars[bar] + offset
                self.notify_mult = self.cfg_read(ptr + 16, 4)
        if self.common is None or self.notify_base is None:
            raise VirtioError('not a modern virtio-pci device')
        cmd = self.cfg_read(0x04, 2) | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER
        self.cfg_write32(0x04, cmd)

    # -- virtio ------------------------------------------------------------
    def _w(self, off, width, val):
        self.qt.write(self.common + off, width, val)

    def _r(self, off, width):
        return self.qt.read(self.common + off, width)

    def status(self):
        return self._r(STATUS, 1)

    def _setup_queue(self, index, base):
        self._w(Q_SELECT, 2, index)
        if self._r(Q_SIZE, 2) < QUEUE_SIZE:
            raise VirtioError(f'queue {index} too small')
        self._w(Q_SIZE, 2, QUEUE_SIZE)
        notify = self.notify_base + self._r(Q_NOTIFY_OFF, 2) * self.notify_mult
        vq = Virtqueue(self.qt, index, base, QUEUE_SIZE, notify)
        self._w(Q_DESC, 8, vq.desc)
        self._w(Q_DRIVER, 8, vq.avail)
        self._w(Q_DEVICE, 8, vq.used)
        self._w(Q_ENABLE, 2, 1)
        return vq

    def start(self, features=1 << VIRTIO_F_VERSION_1):
        """Bring the device to DRIVER_OK with RX buffers posted."""
        self._w(STATUS, 1, 0)
        self._w(STATUS, 1, STATUS_ACKNOWLEDGE)
        self._w(STATUS, 1, STATUS_ACKNOWLEDGE | STATUS_DRIVER)
        offered = 0
        for sel in (0, 1):
            self._w(DFSELECT, 4, sel)
            offered |= self._r(DF, 4) << (32 * sel)
        if features & ~offered:
            raise VirtioError(f'device does not offer features '
                              f'{features & ~offered:#x}')
        for sel in (0, 1):
            self._w(GFSELECT, 4, sel)
            self._w(GF, 4, (features >> (32 * sel)) & 0xffffffff)
        self._w(STATUS, 1, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK)
        if not self.status() & STATUS_FEATURES_OK:
            raise VirtioError('device refused FEATURES_OK')
        self.rx = self._setup_queue(0, RING_BASE)
        self.tx = self._setup_queue(1, RING_BASE + 0x100000)
        self._w(STATUS, 1, STATUS_ACKNOWLEDGE | STATUS_DRIVER |
                STATUS_FEATURES_OK | STATUS_DRIVER_OK)
        if self.status() != 0xf:
            raise VirtioError(f'device status {self.status():#x} after DRIVER_OK')
        for slot in range(QUEUE_SIZE // 2):
            self.rx.add(slot, writable=True)

    def reset(self):
        self._w(STATUS, 1, 0)
        wait_for('device status 0 (reset done)', self.status,
                 lambda status: status == 0, timeout=10, interval=0.01)

    def echo(self, payload, timeout=10):
        """Send one broadcast frame; return the payload of the frame that
        comes back (vdpa_sim_net loops TX to RX)."""
        eth = b'\xff' * 6 + b'\x52\x54\x00\x00\x00\x01' + b'\x88\xb5'
        self.tx.add(self.tx.avail_idx % QUEUE_SIZE,
                    bytes(NET_HDR_LEN) + eth + payload)
        self.tx.get(timeout)
        slot, length = self.rx.get(timeout)
        data = self.rx.read_buffer(slot, length)[NET_HDR_LEN:]
        self.rx.add(slot, writable=True)
        if data[:len(eth)] != eth:
            raise VirtioError(f'echoed Ethernet header {data[:len(eth)].hex()}'
                              f' differs from the sent {eth.hex()}')
        return data[len(eth):]
