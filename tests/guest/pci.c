// SPDX-License-Identifier: GPL-2.0
/*
 * PCI configuration mechanism #1 (ports 0xcf8/0xcfc), bus 0 only: that is
 * where QEMU puts -device virtio-net-pci on both pc and q35.  SeaBIOS has
 * already assigned the BARs; we only read them.
 */
#include "guest.h"

#define PCI_ADDR	0xcf8
#define PCI_DATA	0xcfc

static u32 cfg_read(u8 bus, u8 devfn, u8 reg)
{
	outl(PCI_ADDR, 0x80000000u | (u32)bus << 16 | (u32)devfn << 8 |
	     (reg & 0xfc));
	return inl(PCI_DATA);
}

u32 pci_read32(const struct pci_dev *pd, u8 reg)
{
	return cfg_read(pd->bus, pd->devfn, reg);
}

u16 pci_read16(const struct pci_dev *pd, u8 reg)
{
	return (u16)(pci_read32(pd, reg) >> (8 * (reg & 2)));
}

u8 pci_read8(const struct pci_dev *pd, u8 reg)
{
	return (u8)(pci_read32(pd, reg) >> (8 * (reg & 3)));
}

/* Read-modify-write of the dword: fine for the command register. */
void pci_write16(const struct pci_dev *pd, u8 reg, u16 v)
{
	u32 shift = 8 * (reg & 2);
	u32 d = pci_read32(pd, reg);

	d = (d & ~(0xffffu << shift)) | (u32)v << shift;
	outl(PCI_ADDR, 0x80000000u | (u32)pd->bus << 16 |
	     (u32)pd->devfn << 8 | (reg & 0xfc));
	outl(PCI_DATA, d);
}

int pci_find(u16 vendor, u16 device, struct pci_dev *pd)
{
	u32 dev, fn, id;

	for (dev = 0; dev < 32; dev++) {
		for (fn = 0; fn < 8; fn++) {
			pd->bus = 0;
			pd->devfn = (u8)(dev << 3 | fn);
			id = pci_read32(pd, 0x00);
			if ((id & 0xffff) == 0xffff) {
				if (fn == 0)
					break;	/* no device in this slot */
				continue;
			}
			if (id == ((u32)device << 16 | vendor))
				return 1;
			/* Header type bit 7: more functions than 0. */
			if (fn == 0 && !(pci_read8(pd, 0x0e) & 0x80))
				break;
		}
	}
	return 0;
}

/*
 * Address of a memory BAR.  We run with paging off in 32-bit mode, so a
 * 64-bit BAR that SeaBIOS put above 4 GiB is out of reach: say so and stop.
 */
uintptr pci_bar(const struct pci_dev *pd, u8 bar)
{
	u8 reg = (u8)(0x10 + 4 * bar);
	u32 lo = pci_read32(pd, reg);

	if (bar > 5 || (lo & 1)) {
		error_begin();
		put_str("BAR");
		put_dec(bar);
		put_str(" is not a memory BAR");
		error_end();
	}
	if ((lo & 6) == 4 && bar < 5 && pci_read32(pd, reg + 4)) {
		error_begin();
		put_str("BAR");
		put_dec(bar);
		put_str(" is a 64-bit BAR at ");
		put_hex((u64)pci_read32(pd, reg + 4) << 32 | (lo & ~0xfu));
		put_str(", above 4 GiB: unreachable with paging off");
		error_end();
	}
	if (!(lo & ~0xfu)) {
		error_begin();
		put_str("BAR");
		put_dec(bar);
		put_str(" is not assigned");
		error_end();
	}
	return lo & ~0xfu;
}
