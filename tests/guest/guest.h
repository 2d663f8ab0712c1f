/* SPDX-License-Identifier: GPL-2.0 */
/*
 * qvp-guest: a freestanding 32-bit guest (multiboot, paging off) that
 * drives a modern virtio-net-pci device and checks that every frame it
 * sends comes back intact (vdpa_sim_net loops TX to RX).
 *
 * Physical addresses equal virtual ones: pointers are handed to the
 * device as they are.
 */
#ifndef GUEST_H
#define GUEST_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef unsigned long uintptr;
typedef unsigned int size_t;

#define NULL ((void *)0)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define __noreturn __attribute__((noreturn))
#define __aligned(n) __attribute__((aligned(n)))

/* Stop the compiler from moving memory accesses across this point. */
#define barrier() __asm__ __volatile__("" : : : "memory")

/* Ring indices the device also touches: one real access each time. */
#define READ_ONCE(x) (*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))

static inline void outb(u16 port, u8 v)
{
	__asm__ __volatile__("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(u16 port, u32 v)
{
	__asm__ __volatile__("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline u8 inb(u16 port)
{
	u8 v;

	__asm__ __volatile__("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline u32 inl(u16 port)
{
	u32 v;

	__asm__ __volatile__("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline u64 rdtsc(void)
{
	u64 v;

	__asm__ __volatile__("rdtsc" : "=A"(v));
	return v;
}

static inline void cpu_relax(void)
{
	__asm__ __volatile__("pause" : : : "memory");
}

/* MMIO: one access of exactly the given width (virtio-pci wants that). */
static inline u8 mmio_read8(uintptr a) { return *(volatile u8 *)a; }
static inline u16 mmio_read16(uintptr a) { return *(volatile u16 *)a; }
static inline u32 mmio_read32(uintptr a) { return *(volatile u32 *)a; }
static inline void mmio_write8(uintptr a, u8 v) { *(volatile u8 *)a = v; }
static inline void mmio_write16(uintptr a, u16 v) { *(volatile u16 *)a = v; }
static inline void mmio_write32(uintptr a, u32 v) { *(volatile u32 *)a = v; }

/*
 * n /= base, returning the remainder, without libgcc's __udivdi3 (there
 * is no 32-bit libgcc without gcc-multilib): two 64-by-32 divl steps.
 */
static inline u32 do_div(u64 *n, u32 base)
{
	u32 hi = (u32)(*n >> 32), lo = (u32)*n, qhi = 0, rem;

	if (hi >= base) {
		qhi = hi / base;
		hi %= base;
	}
	__asm__("divl %4" : "=a"(lo), "=d"(rem) : "0"(lo), "1"(hi), "rm"(base));
	*n = ((u64)qhi << 32) | lo;
	return rem;
}

/* main.c, called by boot.S */
struct multiboot_info;
void guest_main(u32 magic, const struct multiboot_info *mbi);

/* lib.c */
void *memset(void *s, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);

/* serial.c: COM1 */
void serial_init(void);
void put_str(const char *s);
void put_dec(u64 v);
void put_hex(u64 v);
void put_hex8(u8 v);
void error_begin(void);
void __noreturn error_end(void);
void __noreturn fatal(const char *text);

/* time.c: TSC calibrated against the PIT */
void time_init(void);
u64 time_ms(void);
u64 ms_to_tsc(u32 ms);

/* pci.c: configuration mechanism #1 on bus 0 */
struct pci_dev {
	u8 bus, devfn;
};
int pci_find(u16 vendor, u16 device, struct pci_dev *pd);
u8 pci_read8(const struct pci_dev *pd, u8 reg);
u16 pci_read16(const struct pci_dev *pd, u8 reg);
u32 pci_read32(const struct pci_dev *pd, u8 reg);
void pci_write16(const struct pci_dev *pd, u8 reg, u16 v);
uintptr pci_bar(const struct pci_dev *pd, u8 bar);

/* virtio.c: virtio-net over modern virtio-pci, queue pair 0 */
#define NET_HDR_LEN 12		/* struct virtio_net_hdr_v1 */
#define RX_BUF_SIZE 2048
#define TX_BUF_SIZE 256

struct vnet_info {
	u8 mac[6];
	u64 features;		/* negotiated */
};
void vnet_probe(void);
void vnet_start(struct vnet_info *info);
void vnet_reset(void);
int vnet_tx(const void *frame, u32 len);
void vnet_tx_reap(void);
const u8 *vnet_rx_peek(u32 *len);
void vnet_rx_done(void);

#endif
