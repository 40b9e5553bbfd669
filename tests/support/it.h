/*
 * it.h - helpers shared by the integration tests: deterministic test frames
 * and a checked transfer (send a batch on one front-end, receive it on
 * another, compare byte for byte, in order). Errors are returned with a
 * description in it_err so cmocka tests can print why.
 */
#ifndef RS_TESTS_IT_H
#define RS_TESTS_IT_H

#include <stddef.h>
#include <stdint.h>

#include "fe.h"

#define IT_MAX_FRAME 9018

extern char it_err[512];

/* Frame 'seq' of 'len' bytes: Ethernet header (type 0x88b5), sequence, pattern. */
void it_frame(uint8_t *buf, size_t len, uint32_t seq);

/* Running totals for comparing with the tool's statistics. */
struct it_count {
	uint64_t packets;
	uint64_t bytes;
};

/*
 * Sends frames of 'sizes[0..n)' from 'tx' (pair 'tp') to 'rx' (pair 'rp') in
 * batches of 'batch', receiving and comparing each batch in order. '*seq'
 * numbers the frames and advances. Adds to 'sent' (may be NULL). Returns 0,
 * or -1 with it_err set.
 */
int it_xfer(struct fe *tx, unsigned tp, struct fe *rx, unsigned rp, const size_t *sizes, unsigned n,
	    unsigned batch, uint32_t *seq, struct it_count *sent);

/* it_xfer of 'n' frames of sizes cycling through 60..1514. */
int it_xfer_mixed(struct fe *tx, unsigned tp, struct fe *rx, unsigned rp, unsigned n, uint32_t *seq,
		  struct it_count *sent);

/* Nothing arrives on 'rx' pair 'rp' within 'ms'; 0 or -1 with it_err. */
int it_expect_silence(struct fe *rx, unsigned rp, int ms);

#endif
