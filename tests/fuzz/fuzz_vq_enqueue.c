/*
 * fuzz_vq_enqueue.c - libFuzzer target for the guest RX path: the input is a
 * guest memory image with a split ring of receive chains (format in
 * fuzz_vq_common.h) and four frame lengths; a few enqueue bursts copy the
 * frames in, with or without MRG_RXBUF. Two of the four frames are split
 * when longer than PBUF_SPLIT_HEAD (copy once, pbuf.h): their tail comes
 * from another buffer, as from a sender guest's memory. No crash, no byte
 * written outside guest memory or read outside the frames, always
 * terminating, and the used index we publish matches our copy.
 *
 * With bit 4 of the features byte, dirty logging is on (live migration,
 * vq_log.c), the used ring logged at its own guest address: after each burst
 * and the notification side, every 4 KiB page of guest memory that changed
 * must have its bit set in the log (a missed bit is a page the migrated
 * guest would lack).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_vq_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint64_t region_gpa[3] = {FUZZ_GPA0, FUZZ_GPA0 + FUZZ_MEM0, FUZZ_GPA2};
static const uint32_t region_len[3] = {FUZZ_MEM0, FUZZ_MEM1, FUZZ_MEM2};
static uint8_t snap[3][FUZZ_MEM0 > FUZZ_MEM1 ? FUZZ_MEM0 : FUZZ_MEM1];
static uint8_t log_bits[(FUZZ_GPA2 + FUZZ_MEM2) / 4096 / 8 + 1];
static const struct vq_log fuzz_log = {log_bits, sizeof(log_bits)};

static void log_snapshot(const struct fuzz_guest *g)
{
	for (int k = 0; k < 3; k++)
		memcpy(snap[k], g->host[k], region_len[k]);
	memset(log_bits, 0, sizeof(log_bits));
}

/* Every page that differs from the snapshot has its bit (regions are page aligned). */
static void log_check(const struct fuzz_guest *g)
{
	for (int k = 0; k < 3; k++)
		for (uint32_t off = 0; off < region_len[k]; off += 4096) {
			uint64_t page = (region_gpa[k] + off) >> 12;
			if (memcmp(snap[k] + off, g->host[k] + off, 4096) != 0 &&
			    !(log_bits[page / 8] & (1u << (page % 8))))
				abort();
		}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_guest g;
	static struct pbuf_pool pool;
	static struct pbuf *pkts[4];
	static uint8_t tail_src[2][9216]; /* the split frames' tails */

	if (!pool.count) {
		if (pbuf_pool_init(&pool, 4, 9216))
			abort();
		for (int i = 0; i < 4; i++) {
			pkts[i] = pbuf_alloc(&pool);
			for (uint32_t b = 0; b < 9216; b++)
				pkts[i]->data[b] = (uint8_t)(b * 13 + i);
		}
	}
	if (fuzz_guest_init(&g, data, size))
		return 0;
	bool logging = (data[1] & 16) != 0;
	if (logging)
		vq_set_log(&g.vq, &fuzz_log, true,
			   FUZZ_GPA0 + (uint64_t)((uint8_t *)g.vq.used - g.host[0]));
	for (int i = 0; i < 4; i++) {
		pkts[i]->len = g.lens[i];
		pkts[i]->ol.flags = (uint8_t)i;
		pkts[i]->ol.gso_size = g.lens[i];
		bool split = (i & 1) && g.lens[i] > PBUF_SPLIT_HEAD;
		pkts[i]->head = PBUF_SPLIT_HEAD;
		pkts[i]->tail = split ? tail_src[i / 2] : NULL;
	}
	for (int round = 0; round < 4; round++) {
		/* used->idx is guest memory: only a burst that published sets it,
		 * and a later one may overwrite it when the guest points its
		 * receive buffers at its own ring. */
		const uint16_t before = g.vq.last_used;
		if (logging)
			log_snapshot(&g);
		int n = vq_enqueue_burst(&g.vq, pkts, 4);
		if (n < -EIO || n > 4 ||
		    (g.vq.last_used != before && g.vq.used->idx != g.vq.last_used))
			abort();
		fuzz_guest_notify(&g);
		if (logging)
			log_check(&g);
		if (n <= 0)
			break;
	}
	fuzz_guest_fini(&g);
	return 0;
}
