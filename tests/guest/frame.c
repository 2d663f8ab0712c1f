// SPDX-License-Identifier: GPL-2.0
/* The test frames and their accounting (frame.h).  No library calls. */
#include "frame.h"

#define ETHERTYPE	0x88b5
#define ETH_P_RARP	0x8035

/* A well-mixed 32-bit function of the sequence number (murmur3's finaliser). */
static uint32_t seq_hash(uint64_t seq)
{
	uint32_t h = (uint32_t)seq ^ (uint32_t)(seq >> 32) * 0x9e3779b9u;

	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

static uint32_t body_len(uint64_t seq)
{
	return FRAME_BODY_MIN +
	       seq_hash(seq) % (FRAME_BODY_MAX - FRAME_BODY_MIN + 1);
}

/* Byte i of the body after the sequence number: an xorshift32 stream. */
static uint32_t fill_seed(uint64_t seq)
{
	return seq_hash(seq) | 1;	/* xorshift must not start at 0 */
}

static uint32_t xorshift32(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

uint32_t frame_build(const struct traffic *t, uint64_t seq, uint8_t *f)
{
	uint32_t n = body_len(seq), x = fill_seed(seq), i;
	uint8_t *body = f + FRAME_HLEN;

	for (i = 0; i < 6; i++) {
		f[i] = t->dst[i];
		f[6 + i] = t->src[i];
	}
	f[12] = ETHERTYPE >> 8;
	f[13] = ETHERTYPE & 0xff;
	for (i = 0; i < 8; i++)
		body[i] = (uint8_t)(seq >> (8 * i));
	for (i = 8; i < n; i++)
		body[i] = (uint8_t)xorshift32(&x);
	return FRAME_HLEN + n;
}

/* 1 and *seq if f is one of our frames, intact; 0 if not. */
static int frame_check(const struct traffic *t, const uint8_t *f,
		       uint32_t len, uint64_t *seq)
{
	const uint8_t *body = f + FRAME_HLEN;
	uint32_t n, x, i;
	uint64_t s = 0;

	if (len < FRAME_HLEN + FRAME_BODY_MIN)
		return 0;
	for (i = 0; i < 6; i++)
		if (f[i] != t->dst[i] || f[6 + i] != t->src[i])
			return 0;
	if (f[12] != ETHERTYPE >> 8 || f[13] != (ETHERTYPE & 0xff))
		return 0;
	for (i = 0; i < 8; i++)
		s |= (uint64_t)body[i] << (8 * i);
	n = body_len(s);
	if (len != FRAME_HLEN + n)
		return 0;
	x = fill_seed(s);
	for (i = 8; i < n; i++)
		if (body[i] != (uint8_t)xorshift32(&x))
			return 0;
	*seq = s;
	return 1;
}

/*
 * QEMU announces a migrated NIC with RARP broadcasts sent through its
 * backend; a loopback backend (a UDP socket to itself, say; vhost-vdpa
 * drops them) brings them back to us.  They are not corruption.
 */
static int is_rarp(const uint8_t *f, uint32_t len)
{
	return len >= FRAME_HLEN && f[12] == ETH_P_RARP >> 8 &&
	       f[13] == (ETH_P_RARP & 0xff);
}

int traffic_account(struct traffic *t, const uint8_t *f, uint32_t len,
		    uint64_t seq)
{
	uint64_t s;

	if (is_rarp(f, len))
		return 0;
	if (!frame_check(t, f, len, &s) || s > seq) {
		t->corrupt++;
		return 0;
	}
	if (s <= t->last_recv) {
		t->ooo++;
		return 0;
	}
	t->recv++;
	if (s < seq)
		t->lost--;
	t->last_recv = s;
	return s == seq;
}
