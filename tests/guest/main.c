// SPDX-License-Identifier: GPL-2.0
/*
 * Send numbered frames through the NIC one at a time (stop-and-wait),
 * check each echo, and print the counters on COM1 every period_ms.
 *
 * A frame: broadcast destination (vdpa_sim_net's receive filter passes
 * broadcast whatever MAC it was given), our MAC as source, EtherType
 * 0x88b5 (local experimental), then a body of 64..200 bytes whose length
 * and bytes are a function of the 64-bit sequence number it starts with.
 */
#include "guest.h"

#define MB_BOOT_MAGIC	0x2badb002
#define MB_INFO_CMDLINE	(1u << 2)

#define ETH_HLEN	14
#define ETHERTYPE	0x88b5
#define ETH_P_RARP	0x8035
#define BODY_MIN	64
#define BODY_MAX	200
#define ECHO_TIMEOUT_MS	100

struct multiboot_info {
	u32 flags;
	u32 mem_lower, mem_upper, boot_device;
	u32 cmdline;
};

static u32 reset_every;		/* frames between NIC resets, 0: never */
static u32 period_ms = 100;	/* between two counter lines */

static struct vnet_info nic;
static u64 sent, recv, corrupt, ooo, lost, resets;
static u64 last_recv;		/* highest sequence number received */
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

/* -- frames -------------------------------------------------------------- */

/* A well-mixed 32-bit function of the sequence number (murmur3's finaliser). */
static u32 seq_hash(u64 seq)
{
	u32 h = (u32)seq ^ (u32)(seq >> 32) * 0x9e3779b9u;

	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

static u32 body_len(u64 seq)
{
	return BODY_MIN + seq_hash(seq) % (BODY_MAX - BODY_MIN + 1);
}

/* Byte i of the body after the sequence number: an xorshift32 stream. */
static u32 fill_seed(u64 seq)
{
	return seq_hash(seq) | 1;	/* xorshift must not start at 0 */
}

static u32 xorshift32(u32 *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

static u32 build_frame(u64 seq, u8 *f)
{
	u32 n = body_len(seq), x = fill_seed(seq), i;
	u8 *body = f + ETH_HLEN;

	memset(f, 0xff, 6);
	memcpy(f + 6, nic.mac, 6);
	f[12] = ETHERTYPE >> 8;
	f[13] = ETHERTYPE & 0xff;
	for (i = 0; i < 8; i++)
		body[i] = (u8)(seq >> (8 * i));
	for (i = 8; i < n; i++)
		body[i] = (u8)xorshift32(&x);
	return ETH_HLEN + n;
}

/* 1 and *seq if f is one of our frames, intact; 0 if not. */
static int check_frame(const u8 *f, u32 len, u64 *seq)
{
	const u8 *body = f + ETH_HLEN;
	u32 n, x, i;
	u64 s = 0;

	if (len < ETH_HLEN + BODY_MIN)
		return 0;
	for (i = 0; i < 6; i++)
		if (f[i] != 0xff || f[6 + i] != nic.mac[i])
			return 0;
	if (f[12] != ETHERTYPE >> 8 || f[13] != (ETHERTYPE & 0xff))
		return 0;
	for (i = 0; i < 8; i++)
		s |= (u64)body[i] << (8 * i);
	n = body_len(s);
	if (len != ETH_HLEN + n)
		return 0;
	x = fill_seed(s);
	for (i = 8; i < n; i++)
		if (body[i] != (u8)xorshift32(&x))
			return 0;
	*seq = s;
	return 1;
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
	put_counter("sent", sent);
	put_counter("recv", recv);
	put_counter("corrupt", corrupt);
	put_counter("ooo", ooo);
	put_counter("lost", lost);
	put_counter("resets", resets);
	put_str("\n");
}

/*
 * QEMU announces a migrated NIC with RARP broadcasts sent through its
 * backend; a loopback backend (a UDP socket to itself, say; vhost-vdpa
 * drops them) brings them back to us.  They are not corruption.
 */
static int is_rarp(const u8 *f, u32 len)
{
	return len >= ETH_HLEN && f[12] == ETH_P_RARP >> 8 &&
	       f[13] == (ETH_P_RARP & 0xff);
}

/*
 * Account for one received frame while waiting for seq; 1 if it is the
 * echo of seq.  An echo of an earlier frame that already timed out was
 * counted lost then: it is late, not lost, so it moves to recv.
 */
static int account(const u8 *f, u32 len, u64 seq)
{
	u64 s;

	if (is_rarp(f, len))
		return 0;
	if (!check_frame(f, len, &s) || s > seq) {
		corrupt++;
		return 0;
	}
	if (s <= last_recv) {
		ooo++;
		return 0;
	}
	recv++;
	if (s < seq)
		lost--;
	last_recv = s;
	return s == seq;
}

/* Send seq and wait up to ECHO_TIMEOUT_MS for its echo. */
static void send_and_wait(u64 seq)
{
	static u8 frame[ETH_HLEN + BODY_MAX];
	u64 deadline = rdtsc() + ms_to_tsc(ECHO_TIMEOUT_MS);
	int queued, done = 0;
	const u8 *f;
	u32 len;

	queued = vnet_tx(frame, build_frame(seq, frame));
	if (queued)
		sent++;
	/*
	 * Not queued (TX ring full: the device stopped taking frames) still
	 * waits out the timeout, so that a stuck device costs time, not a
	 * busy loop, and the counters keep coming.
	 */
	while (!done) {
		tick();
		f = vnet_rx_peek(&len);
		if (f) {
			done = account(f, len, seq) && queued;
			vnet_rx_done();
			continue;
		}
		if (rdtsc() > deadline) {
			lost++;
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
