/*
 * it.c - checked frame transfers between test front-ends; see it.h.
 */
#include "it.h"

#include <stdio.h>
#include <errno.h>
#include <string.h>

char it_err[512];

void it_frame(uint8_t *buf, size_t len, uint32_t seq)
{
	static const uint8_t hdr[14] = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x88, 0xb5};
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(seq * 31u + i * 7u + (i >> 8));
	memcpy(buf, hdr, len < sizeof(hdr) ? len : sizeof(hdr));
	for (size_t i = 0; i < 4 && 14 + i < len; i++)
		buf[14 + i] = (uint8_t)(seq >> (8 * i));
}

static int it_recv_one(struct fe *rx, unsigned rp, size_t want, uint32_t seq)
{
	static uint8_t got[IT_MAX_FRAME + 64], exp[IT_MAX_FRAME];
	size_t len = 0;
	int err = fe_recv(rx, rp, got, sizeof(got), &len);
	if (err < 0) {
		snprintf(it_err, sizeof(it_err), "frame %u (%zu bytes) on pair %u: recv %d: %s",
			 seq, want, rp, err, rx->err);
		return -1;
	}
	it_frame(exp, want, seq);
	if (len != want || memcmp(got, exp, want) != 0) {
		uint32_t gseq = 0;
		if (len >= 18)
			memcpy(&gseq, got + 14, 4);
		snprintf(it_err, sizeof(it_err),
			 "frame %u on pair %u: got %zu bytes (seq %u), want %zu, contents %s", seq,
			 rp, len, gseq, want, len == want ? "differ" : "-");
		return -1;
	}
	return 0;
}

int it_xfer(struct fe *tx, unsigned tp, struct fe *rx, unsigned rp, const size_t *sizes, unsigned n,
	    unsigned batch, uint32_t *seq, struct it_count *sent)
{
	static uint8_t frame[IT_MAX_FRAME];
	for (unsigned i = 0; i < n; i += batch) {
		unsigned m = n - i < batch ? n - i : batch;
		for (unsigned j = 0; j < m; j++) {
			it_frame(frame, sizes[i + j], *seq + j);
			int err = fe_send(tx, tp, frame, sizes[i + j]);
			if (err < 0) {
				snprintf(it_err, sizeof(it_err),
					 "send %zu bytes on pair %u: %d: %s", sizes[i + j], tp, err,
					 tx->err);
				return -1;
			}
			if (sent) {
				sent->packets++;
				sent->bytes += sizes[i + j];
			}
		}
		for (unsigned j = 0; j < m; j++)
			if (it_recv_one(rx, rp, sizes[i + j], *seq + j) < 0)
				return -1;
		*seq += m;
	}
	if (tx->dev_errors || rx->dev_errors) {
		snprintf(it_err, sizeof(it_err), "device protocol errors: tx %llu rx %llu",
			 (unsigned long long)tx->dev_errors, (unsigned long long)rx->dev_errors);
		return -1;
	}
	return 0;
}

int it_xfer_mixed(struct fe *tx, unsigned tp, struct fe *rx, unsigned rp, unsigned n, uint32_t *seq,
		  struct it_count *sent)
{
	static const size_t cycle[] = {60,   64,   65,	 127,  128,  200,  511,	 512,  513,
				       1000, 1023, 1024, 1025, 1200, 1499, 1500, 1513, 1514};
	size_t sizes[256];
	if (n > 256)
		n = 256;
	for (unsigned i = 0; i < n; i++)
		sizes[i] = cycle[(i + *seq) % (sizeof(cycle) / sizeof(cycle[0]))];
	return it_xfer(tx, tp, rx, rp, sizes, n, 16, seq, sent);
}

int it_expect_silence(struct fe *rx, unsigned rp, int ms)
{
	static uint8_t got[IT_MAX_FRAME + 64];
	size_t len = 0;
	int err = fe_recv_wait(rx, rp, got, sizeof(got), &len, ms);
	if (err == -ETIMEDOUT)
		return 0;
	snprintf(it_err, sizeof(it_err), "expected nothing on pair %u, got %d (%zu bytes): %s", rp,
		 err, len, rx->err);
	return -1;
}
