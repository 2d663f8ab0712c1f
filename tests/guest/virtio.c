// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-net over modern virtio-pci (virtio 1.x), polled: queue 0 is RX,
 * queue 1 is TX, split rings, no interrupts, no control queue.
 */
#include "guest.h"

#define VIRTIO_VENDOR		0x1af4
#define VIRTIO_NET_MODERN	0x1041

#define PCI_COMMAND		0x04
#define PCI_COMMAND_MEMORY	0x0002
#define PCI_COMMAND_MASTER	0x0004
#define PCI_STATUS		0x06
#define PCI_STATUS_CAP_LIST	0x0010
#define PCI_CAPABILITY_LIST	0x34
#define PCI_CAP_ID_VNDR		0x09

/* struct virtio_pci_cap: cfg_type at +3, bar at +4, offset at +8. */
#define VIRTIO_PCI_CAP_COMMON_CFG	1
#define VIRTIO_PCI_CAP_NOTIFY_CFG	2
#define VIRTIO_PCI_CAP_ISR_CFG		3
#define VIRTIO_PCI_CAP_DEVICE_CFG	4

/* struct virtio_pci_common_cfg */
#define CC_DFSELECT	0x00
#define CC_DF		0x04
#define CC_GFSELECT	0x08
#define CC_GF		0x0c
#define CC_NUM_QUEUES	0x12
#define CC_STATUS	0x14
#define CC_CFG_GEN	0x15
#define CC_Q_SELECT	0x16
#define CC_Q_SIZE	0x18
#define CC_Q_MSIX	0x1a
#define CC_Q_ENABLE	0x1c
#define CC_Q_NOFF	0x1e
#define CC_Q_DESC	0x20
#define CC_Q_DRIVER	0x28
#define CC_Q_DEVICE	0x30

#define S_ACKNOWLEDGE	0x01
#define S_DRIVER	0x02
#define S_DRIVER_OK	0x04
#define S_FEATURES_OK	0x08

#define VIRTIO_NET_F_MAC	(1ull << 5)
#define VIRTIO_F_VERSION_1	(1ull << 32)
/* Paging is off and nothing enables a vIOMMU: DMA addresses are physical. */
#define VIRTIO_F_ACCESS_PLATFORM (1ull << 33)

#define VRING_DESC_F_WRITE	2
#define VIRTIO_MSI_NO_VECTOR	0xffff

#define QMAX	64		/* ring entries we use at most */

struct vring_desc {
	u64 addr;
	u32 len;
	u16 flags;
	u16 next;
};

struct vring_avail {
	u16 flags;
	u16 idx;
	u16 ring[QMAX];
	u16 used_event;
};

struct vring_used {
	u16 flags;
	u16 idx;
	struct {
		u32 id;
		u32 len;
	} ring[QMAX];
	u16 avail_event;
};

/* One ring; the spec wants 16-, 2- and 4-byte alignment, a page is plenty. */
struct vring {
	struct vring_desc desc[QMAX];
	struct vring_avail avail;
	struct vring_used used __aligned(4);
} __aligned(4096);

struct queue {
	struct vring *ring;
	u8 *bufs;
	u32 buf_size;
	u16 index, num;
	u16 avail_idx;		/* what we have published in avail.idx */
	u16 used_idx;		/* next used entry we have not consumed */
	u16 nfree;		/* TX: descriptors not owned by the device */
	u16 free[QMAX];
	uintptr notify;
};

static struct vring rx_ring, tx_ring;
static u8 rx_bufs[QMAX][RX_BUF_SIZE] __aligned(4096);
static u8 tx_bufs[QMAX][TX_BUF_SIZE] __aligned(4096);
static struct queue rxq, txq;

static struct pci_dev pdev;
static uintptr common, notify_base, isr, devcfg;
static u32 notify_mult;

/* Locate the four virtio structures through the vendor capabilities. */
void vnet_probe(void)
{
	uintptr *slot;
	u32 n;
	u8 ptr, bar;

	if (!pci_find(VIRTIO_VENDOR, VIRTIO_NET_MODERN, &pdev))
		fatal("no virtio-net-pci 1af4:1041 on PCI bus 0 "
		      "(use -device virtio-net-pci,disable-legacy=on)");
	pci_write16(&pdev, PCI_COMMAND, pci_read16(&pdev, PCI_COMMAND) |
		    PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	if (!(pci_read16(&pdev, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		fatal("virtio-net-pci has no capability list");

	ptr = pci_read8(&pdev, PCI_CAPABILITY_LIST) & 0xfc;
	for (n = 0; ptr && n < 48; n++) {	/* bound: a loop in the list */
		if (pci_read8(&pdev, ptr) == PCI_CAP_ID_VNDR) {
			switch (pci_read8(&pdev, ptr + 3)) {
			case VIRTIO_PCI_CAP_COMMON_CFG:
				slot = &common;
				break;
			case VIRTIO_PCI_CAP_NOTIFY_CFG:
				slot = &notify_base;
				break;
			case VIRTIO_PCI_CAP_ISR_CFG:
				slot = &isr;
				break;
			case VIRTIO_PCI_CAP_DEVICE_CFG:
				slot = &devcfg;
				break;
			default:
				slot = NULL;
			}
			/* The first of each type is the preferred one. */
			if (slot && !*slot) {
				bar = pci_read8(&pdev, ptr + 4);
				*slot = pci_bar(&pdev, bar) +
					pci_read32(&pdev, ptr + 8);
				if (slot == &notify_base)
					notify_mult = pci_read32(&pdev,
								 ptr + 16);
			}
		}
		ptr = pci_read8(&pdev, ptr + 1) & 0xfc;
	}
	if (!common || !notify_base || !isr || !devcfg)
		fatal("virtio-net-pci lacks a modern virtio capability "
		      "(common, notify, ISR or device config)");
}

static u8 get_status(void)
{
	return mmio_read8(common + CC_STATUS);
}

static void add_status(u8 bits)
{
	mmio_write8(common + CC_STATUS, get_status() | bits);
}

/* Status 0, then wait for the device to read back 0 (reset complete). */
void vnet_reset(void)
{
	u64 deadline;

	mmio_write8(common + CC_STATUS, 0);
	deadline = rdtsc() + ms_to_tsc(1000);
	while (get_status() != 0) {
		if (rdtsc() > deadline)
			fatal("device status did not read back 0 within 1 s "
			      "of a reset");
		cpu_relax();
	}
	/* Drop an interrupt left pending from before (reading ISR acks it). */
	(void)mmio_read8(isr);
}

static void write64(uintptr reg, u64 v)
{
	mmio_write32(reg, (u32)v);
	mmio_write32(reg + 4, (u32)(v >> 32));
}

static void kick(struct queue *q)
{
	barrier();
	mmio_write16(q->notify, q->index);
}

static void setup_queue(struct queue *q, u16 index, struct vring *ring,
			u8 *bufs, u32 buf_size)
{
	u16 max, i;

	mmio_write16(common + CC_Q_SELECT, index);
	max = mmio_read16(common + CC_Q_SIZE);
	if (!max)
		fatal("the device has no queue 0 or 1");
	memset(q, 0, sizeof(*q));
	memset(ring, 0, sizeof(*ring));
	q->ring = ring;
	q->bufs = bufs;
	q->buf_size = buf_size;
	q->index = index;
	q->num = max < QMAX ? max : QMAX;
	if (q->num & (q->num - 1))
		fatal("queue size is not a power of 2");
	q->notify = notify_base +
		    (uintptr)mmio_read16(common + CC_Q_NOFF) * notify_mult;
	for (i = 0; i < q->num; i++)
		q->free[q->nfree++] = i;

	mmio_write16(common + CC_Q_SIZE, q->num);
	mmio_write16(common + CC_Q_MSIX, VIRTIO_MSI_NO_VECTOR);
	write64(common + CC_Q_DESC, (uintptr)ring->desc);
	write64(common + CC_Q_DRIVER, (uintptr)&ring->avail);
	write64(common + CC_Q_DEVICE, (uintptr)&ring->used);
	mmio_write16(common + CC_Q_ENABLE, 1);
}

/* Hand descriptor id (its buffer, len bytes) to the device. */
static void publish(struct queue *q, u16 id, u32 len, u16 flags)
{
	struct vring_desc *d = &q->ring->desc[id];

	d->addr = (uintptr)(q->bufs + (u32)id * q->buf_size);
	d->len = len;
	d->flags = flags;
	d->next = 0;
	q->ring->avail.ring[q->avail_idx % q->num] = id;
	barrier();	/* entry before index; x86 keeps stores in order */
	q->avail_idx++;
	WRITE_ONCE(q->ring->avail.idx, q->avail_idx);
}

static u64 read_features(void)
{
	u64 f;

	mmio_write32(common + CC_DFSELECT, 0);
	f = mmio_read32(common + CC_DF);
	mmio_write32(common + CC_DFSELECT, 1);
	return f | (u64)mmio_read32(common + CC_DF) << 32;
}

static void read_mac(u8 mac[6])
{
	u8 gen;
	int i;

	do {
		gen = mmio_read8(common + CC_CFG_GEN);
		for (i = 0; i < 6; i++)
			mac[i] = mmio_read8(devcfg + i);
	} while (gen != mmio_read8(common + CC_CFG_GEN));
}

/* Full initialisation (virtio 1.x, 3.1.1) up to DRIVER_OK, RX filled. */
void vnet_start(struct vnet_info *info)
{
	static const u8 default_mac[6] = { 0x02, 0, 0, 0, 0, 1 };
	u64 offered, want;
	u8 status;
	u16 i;

	vnet_reset();
	add_status(S_ACKNOWLEDGE);
	add_status(S_DRIVER);

	offered = read_features();
	if (!(offered & VIRTIO_F_VERSION_1))
		fatal("the device does not offer VIRTIO_F_VERSION_1");
	want = offered & (VIRTIO_F_VERSION_1 | VIRTIO_NET_F_MAC |
			  VIRTIO_F_ACCESS_PLATFORM);
	mmio_write32(common + CC_GFSELECT, 0);
	mmio_write32(common + CC_GF, (u32)want);
	mmio_write32(common + CC_GFSELECT, 1);
	mmio_write32(common + CC_GF, (u32)(want >> 32));
	add_status(S_FEATURES_OK);
	if (!(get_status() & S_FEATURES_OK)) {
		error_begin();
		put_str("the device refused FEATURES_OK for features ");
		put_hex(want);
		error_end();
	}
	info->features = want;

	if (mmio_read16(common + CC_NUM_QUEUES) < 2)
		fatal("the device has fewer than 2 queues");
	setup_queue(&rxq, 0, &rx_ring, &rx_bufs[0][0], RX_BUF_SIZE);
	setup_queue(&txq, 1, &tx_ring, &tx_bufs[0][0], TX_BUF_SIZE);
	for (i = 0; i < rxq.num; i++)
		publish(&rxq, i, RX_BUF_SIZE, VRING_DESC_F_WRITE);
	rxq.nfree = 0;

	if (want & VIRTIO_NET_F_MAC)
		read_mac(info->mac);
	else
		memcpy(info->mac, default_mac, 6);

	add_status(S_DRIVER_OK);
	status = get_status();
	if (status != (S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK |
		       S_DRIVER_OK)) {
		error_begin();
		put_str("device status ");
		put_hex(status);
		put_str(" after DRIVER_OK");
		error_end();
	}
	kick(&rxq);
}

/* Take back the TX descriptors the device is done with. */
void vnet_tx_reap(void)
{
	u16 id;

	while (txq.used_idx != READ_ONCE(txq.ring->used.idx)) {
		barrier();
		id = (u16)txq.ring->used.ring[txq.used_idx % txq.num].id;
		if (id >= txq.num || txq.nfree >= txq.num)
			fatal("the device returned a bad TX descriptor id");
		txq.free[txq.nfree++] = id;
		txq.used_idx++;
	}
}

/* Queue one frame (without virtio_net_hdr); 0 if the TX ring is full. */
int vnet_tx(const void *frame, u32 len)
{
	u16 id;
	u8 *buf;

	vnet_tx_reap();
	if (!txq.nfree)
		return 0;
	if (len > TX_BUF_SIZE - NET_HDR_LEN)
		fatal("frame too long for a TX buffer");
	id = txq.free[--txq.nfree];
	buf = txq.bufs + (u32)id * TX_BUF_SIZE;
	memset(buf, 0, NET_HDR_LEN);	/* no offloads: all zero */
	memcpy(buf + NET_HDR_LEN, frame, len);
	publish(&txq, id, NET_HDR_LEN + len, 0);
	kick(&txq);
	return 1;
}

/*
 * The next received frame (after its virtio_net_hdr) or NULL; *len is
 * its length.  vnet_rx_done() gives the buffer back to the device.
 */
const u8 *vnet_rx_peek(u32 *len)
{
	u32 id, n;

	if (rxq.used_idx == READ_ONCE(rxq.ring->used.idx))
		return NULL;
	barrier();
	id = rxq.ring->used.ring[rxq.used_idx % rxq.num].id;
	n = rxq.ring->used.ring[rxq.used_idx % rxq.num].len;
	if (id >= rxq.num)
		fatal("the device returned a bad RX descriptor id");
	if (n > RX_BUF_SIZE)	/* cannot be: let the caller see a bad frame */
		n = RX_BUF_SIZE;
	*len = n > NET_HDR_LEN ? n - NET_HDR_LEN : 0;
	return rxq.bufs + id * RX_BUF_SIZE + NET_HDR_LEN;
}

void vnet_rx_done(void)
{
	u16 id = (u16)rxq.ring->used.ring[rxq.used_idx % rxq.num].id;

	rxq.used_idx++;
	publish(&rxq, id, RX_BUF_SIZE, VRING_DESC_F_WRITE);
	kick(&rxq);
}
