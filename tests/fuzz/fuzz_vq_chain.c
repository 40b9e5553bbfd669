/*
 * fuzz_vq_chain.c - libFuzzer target for the guest TX path: the input is a
 * guest memory image with a split ring in it (format in fuzz_vq_common.h);
 * a few dequeue bursts run over it, then one chain is walked from an
 * arbitrary head. Whatever the guest wrote, the queue must come out either
 * working or marked broken: no crash, no access outside guest memory or the
 * pbufs, no endless loop, and the used index we publish matches our copy.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_vq_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Where packet bytes are summed, so the reads cannot be optimised away. */
static volatile uint8_t fuzz_sink;

static void fuzz_check(bool ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_guest g; /* the memory table is large: keep it off the stack */
	static struct vq_chain c;
	struct pbuf_pool pool;
	struct pbuf *pkts[VQ_BURST_MAX];

	if (fuzz_guest_init(&g, data, size))
		return 0;
	if (pbuf_pool_init(&pool, 8, g.room))
		abort();
	for (int round = 0; round < 4; round++) {
		const uint16_t before =
		    g.vq.last_used; /* used->idx is the guest's until we publish */
		int n = vq_dequeue_burst(&g.vq, &pool, pkts, VQ_BURST_MAX);
		fuzz_check(n >= -EIO && n <= 8);
		fuzz_check(g.vq.last_used == before || g.vq.used->idx == g.vq.last_used);
		for (int i = 0; i < n; i++) {
			fuzz_check(pkts[i]->len <= g.room);
			for (uint32_t b = 0; b < pkts[i]->len; b += 64)
				fuzz_sink += pkts[i]->data[b]; /* the bytes are really ours */
		}
		if (n > 0)
			pbuf_free_bulk(&pool, pkts, (unsigned)n);
		fuzz_guest_notify(&g);
		if (n <= 0)
			break;
	}
	if (!g.vq.broken) {
		int rc = vq_walk_chain(&g.vq, fuzz_le16(data + 14), &c);
		fuzz_check(rc == 0 || rc == -EIO || rc == -E2BIG);
		fuzz_check((rc == -EIO) == (g.vq.broken != VQ_OK));
		if (rc == 0)
			fuzz_check(c.nr_out + c.nr_in <= VQ_MAX_IOV);
	}
	pbuf_pool_fini(&pool);
	fuzz_guest_fini(&g);
	return 0;
}
