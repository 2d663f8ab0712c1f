/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The test frames both test guests send, and what their echoes count as.
 * Shared by the freestanding guest (tests/guest) and the Linux guest's init
 * (tests/guest-linux), so that one format and one accounting hold for both.
 *
 * A frame: destination and source MAC, EtherType 0x88b5 (local
 * experimental), then a body of 64..200 bytes whose length and bytes are a
 * function of the 64-bit sequence number it starts with.
 */
#ifndef FRAME_H
#define FRAME_H

#include <stdint.h>

#define FRAME_HLEN	14
#define FRAME_BODY_MIN	64
#define FRAME_BODY_MAX	200
#define FRAME_MAX	(FRAME_HLEN + FRAME_BODY_MAX)

struct traffic {
	const uint8_t *dst, *src;	/* the MACs frames carry */
	uint64_t sent;		/* frames handed to the device */
	uint64_t recv;		/* intact echoes, in order */
	uint64_t corrupt;	/* received frames that are not an intact one of ours */
	uint64_t ooo;		/* intact echoes at or below the highest received */
	uint64_t lost;		/* frames whose echo did not come in time */
	uint64_t last_recv;	/* highest sequence number received */
};

/* Write frame seq into f (FRAME_MAX bytes); its length. */
uint32_t frame_build(const struct traffic *t, uint64_t seq, uint8_t *f);

/*
 * Account for one frame received while waiting for the echo of seq; 1 if it
 * is that echo.  An echo of an earlier frame that was already counted lost
 * is late, not lost: it moves from lost to recv.
 */
int traffic_account(struct traffic *t, const uint8_t *f, uint32_t len,
		    uint64_t seq);

#endif
