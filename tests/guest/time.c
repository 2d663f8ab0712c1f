// SPDX-License-Identifier: GPL-2.0
/*
 * Guest time from the TSC, calibrated once against PIT channel 2 (its
 * gate and output are on port 0x61, so no interrupt is needed).  Under
 * QEMU the TSC stops while the VM is stopped and is migrated with it, so
 * a timeout never expires during a migration's downtime.
 */
#include "guest.h"

#define PIT_HZ		1193182
#define PIT_CH2		0x42
#define PIT_MODE	0x43
#define PORT_61		0x61
#define CAL_MS		50
#define CAL_COUNT	(PIT_HZ * CAL_MS / 1000)	/* fits 16 bits */

static u64 tsc0;
static u32 tsc_per_ms;

void time_init(void)
{
	u64 start, end, d;
	u32 spins = 0;

	/* Gate on, speaker off; channel 2, lobyte/hibyte, mode 0, binary. */
	outb(PORT_61, (inb(PORT_61) & ~0x02) | 0x01);
	outb(PIT_MODE, 0xb0);
	outb(PIT_CH2, CAL_COUNT & 0xff);
	outb(PIT_CH2, CAL_COUNT >> 8);
	start = rdtsc();
	/* OUT2 goes high when the count reaches zero. */
	while (!(inb(PORT_61) & 0x20))
		if (++spins == 0x10000000)
			fatal("PIT calibration: channel 2 never expired");
	end = rdtsc();

	d = end - start;
	do_div(&d, CAL_MS);
	if (!d || d >> 32)
		fatal("PIT calibration: implausible TSC rate");
	tsc_per_ms = (u32)d;
	tsc0 = end;
}

u64 time_ms(void)
{
	u64 t = rdtsc() - tsc0;

	do_div(&t, tsc_per_ms);
	return t;
}

u64 ms_to_tsc(u32 ms)
{
	return (u64)ms * tsc_per_ms;
}
