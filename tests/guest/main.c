// SPDX-License-Identifier: GPL-2.0
/*
 * Send numbered frames through the NIC one at a time (stop-and-wait),
 * check each echo, and print the counters on COM1 every period_ms.
 *
 * Frames (frame.h) go to the broadcast address: vdpa_sim_net's receive
 * filter passes broadcast whatever MAC it was given.
 */
#include "guest.h"
#include "frame.h"

#define MB_BOOT_MAGIC	0x2badb002
#define MB_INFO_CMDLINE	(1u << 2)

#define ECHO_TIMEOUT_MS	100

struct multiboot_info {
	u32 flags;
	u32 mem_lower, mem_upper, boot_device;
	u32 cmdline;
};

static u32 reset_every;		/* frames between NIC resets, 0: never */
static u32 period_ms = 100;	/* between two counter lines */

static const u8 broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static struct vnet_info nic;
static struct traffic traffic = { .dst = broadcast, .src = nic.mac };
static u64 resets;
static u64 period_tsc, next_tick;

/* -- command line -------------------------------------------------------- */

static void __noreturn bad_option(const char *what, const char *s,
				  const char *end)
{
	char tok[64];
	u32 n = 0;

	while (s < end && n < sizeof(tok) - 1)
		tok[n++] = *s++;
	tok[n] = 0;
	error_begin();
	put_str(what);
	put_str(" ");
	put_str(tok);
	error_end();
}

static u32 parse_u32(const char *s, const char *end, const char *tok)
{
	u64 v = 0;

	if (s == end)
		bad_option("bad number in option", tok, end);
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			bad_option("bad number in option", tok, end);
		v = v * 10 + (u32)(*s - '0');
		if (v > 0xffffffffu)
			bad_option("number too large in option", tok, end);
	}
	return (u32)v;
}

static int is_key(const char *s, const char *eq, const char *key)
{
	while (s < eq && *key && *s == *key) {
		s++;
		key++;
	}
	return s == eq && !*key;
}

/* "path opt=val ...": QEMU (like GRUB) puts the kernel's path first. */
static void parse_cmdline(const char *s)
{
	const char *tok, *end, *eq;
	int first = 1;

	while (*s) {
		while (*s == ' ')
			s++;
		if (!*s)
			break;
		tok = s;
		while (*s && *s != ' ')
			s++;
		end = s;
		if (first) {
			first = 0;
			continue;
		}
		for (eq = tok; eq < end && *eq != '='; eq++)
			;
		if (eq == end)
			bad_option("unknown option", tok, end);
		if (is_key(tok, eq, "reset_every")) {
			reset_every = parse_u32(eq + 1, end, tok);
		} else if (is_key(tok, eq, "period_ms")) {
			period_ms = parse_u32(eq + 1, end, tok);
			if (!period_ms)
				bad_option("period_ms must be > 0:", tok, end);
		} else {
			bad_option("unknown option", tok, end);
		}
	}
}

/* -- counters ------------------------------------------------------------ */

static void put_counter(const char *name, u64 v)
{
	put_str(" ");
	put_str(name);
	put_str("=");
	put_dec(v);
}

static void tick(void)
{
	u64 now = rdtsc();

	if (now < next_tick)
		return;
	/* Late (a slow host): skip the missed ticks rather than burst. */
	while (next_tick <= now)
		next_tick += period_tsc;
	put_str("qvp-guest:");
	put_counter("t", time_ms());
	put_counter("sent", traffic.sent);
	put_counter("recv", traffic.recv);
	put_counter("corrupt", traffic.corrupt);
	put_counter("ooo", traffic.ooo);
	put_counter("lost", traffic.lost);
	put_counter("resets", resets);
	put_str("\n");
}

/* Send seq and wait up to ECHO_TIMEOUT_MS for its echo. */
static void send_and_wait(u64 seq)
{
	static u8 frame[FRAME_MAX];
	u64 deadline = rdtsc() + ms_to_tsc(ECHO_TIMEOUT_MS);
	int queued, done = 0;
	const u8 *f;
	u32 len;

	queued = vnet_tx(frame, frame_build(&traffic, seq, frame));
	if (queued)
		traffic.sent++;
	/*
	 * Not queued (TX ring full: the device stopped taking frames) still
	 * waits out the timeout, so that a stuck device costs time, not a
	 * busy loop, and the counters keep coming.
	 */
	while (!done) {
		tick();
		f = vnet_rx_peek(&len);
		if (f) {
			done = traffic_account(&traffic, f, len, seq) && queued;
			vnet_rx_done();
			continue;
		}
		if (rdtsc() > deadline) {
			traffic.lost++;
			break;
		}
		cpu_relax();
	}
}

static void print_ready(void)
{
	int i;

	put_str("qvp-guest: ready mac=");
	for (i = 0; i < 6; i++) {
		if (i)
			put_str(":");
		put_hex8(nic.mac[i]);
	}
	put_str(" features=");
	put_hex(nic.features);
	put_str("\n");
}

void guest_main(u32 magic, const struct multiboot_info *mbi)
{
	u32 since_reset = 0;
	u64 seq;

	serial_init();
	if (magic != MB_BOOT_MAGIC)
		fatal("not started by a multiboot loader");
	if (mbi->flags & MB_INFO_CMDLINE)
		parse_cmdline((const char *)(uintptr)mbi->cmdline);

	time_init();
	vnet_probe();
	vnet_start(&nic);
	print_ready();

	period_tsc = ms_to_tsc(period_ms);
	next_tick = rdtsc() + period_tsc;
	for (seq = 1;; seq++) {
		send_and_wait(seq);
		if (reset_every && ++since_reset == reset_every) {
			vnet_start(&nic);	/* resets first */
			resets++;
			since_reset = 0;
		}
	}
}
