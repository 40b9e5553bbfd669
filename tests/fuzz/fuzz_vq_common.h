/*
 * fuzz_vq_common.h - the fake guest the virtqueue fuzzers share. The input is
 * a 16-byte parameter block followed by the guest memory image:
 *
 *   [0]      queue size as log2, taken mod 11 (1..1024)
 *   [1]      features: bit0 INDIRECT_DESC, bit1 VERSION_1, bit2 MRG_RXBUF,
 *            bit3 EVENT_IDX
 *   [2..3]   first avail index (SET_VRING_BASE), little-endian
 *   [4..5]   pbuf data room (TX), little-endian, 0 means 1
 *   [6..13]  four frame lengths for RX, little-endian, taken mod 9217
 *   [14..15] fuzz_vq_chain: one more head index, walked directly
 *   [16..]   guest memory: FUZZ_MEM0 bytes of region 0 (the rings sit at its
 *            start, desc, then avail and used each 64-byte aligned), then
 *            FUZZ_MEM1 bytes of region 1, adjacent in guest-physical space;
 *            missing bytes are zero. Region 2 sits after a gap.
 *
 * Every region is its own exact-size allocation so the sanitizers flag a
 * single byte read or written outside guest memory. tests/fuzz/gen_vq_seeds.py
 * writes seeds in this format.
 */
#ifndef RS_FUZZ_VQ_COMMON_H
#define RS_FUZZ_VQ_COMMON_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "virtio/gmem.h"
#include "virtio/vq.h"

#define FUZZ_HDR      16
#define FUZZ_GPA0     0x10000ull
#define FUZZ_MEM0     32768u
#define FUZZ_MEM1     32768u
#define FUZZ_GPA2     0x40000ull
#define FUZZ_MEM2     4096u
#define FUZZ_MAX_LOG2 11

struct fuzz_guest {
	struct gmem mem;
	uint8_t *host[3];
	struct vq vq;
	uint16_t room;
	uint16_t lens[4];
};

static inline uint16_t fuzz_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint64_t fuzz_align64(uint64_t v)
{
	return (v + 63) & ~63ull;
}

/* Builds the guest from the input; returns 0, or -1 when the input is too short. */
static inline int fuzz_guest_init(struct fuzz_guest *g, const uint8_t *data, size_t size)
{
	static const uint64_t gpa[3] = {FUZZ_GPA0, FUZZ_GPA0 + FUZZ_MEM0, FUZZ_GPA2};
	static const uint32_t len[3] = {FUZZ_MEM0, FUZZ_MEM1, FUZZ_MEM2};

	if (size < FUZZ_HDR)
		return -1;
	memset(g, 0, sizeof(*g));
	gmem_init(&g->mem);
	const uint8_t *img = data + FUZZ_HDR;
	size_t left = size - FUZZ_HDR;
	for (int k = 0; k < 3; k++) {
		g->host[k] = calloc(1, len[k]);
		if (!g->host[k])
			abort();
		size_t n = left < len[k] ? left : len[k];
		memcpy(g->host[k], img, n);
		img += n;
		left -= n;
		struct gmem_region r = {
		    .gpa = gpa[k], .size = len[k], .uva = gpa[k], .host = g->host[k], .fd = -1};
		if (gmem_add(&g->mem, &r))
			abort();
	}
	uint32_t qsize = 1u << (data[0] % FUZZ_MAX_LOG2);
	uint64_t features = 0;
	if (data[1] & 1)
		features |= VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC);
	if (data[1] & 2)
		features |= VIRTIO_BIT(VIRTIO_F_VERSION_1);
	if (data[1] & 4)
		features |= VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
	if (data[1] & 8)
		features |= VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX);
	uint64_t avail_off = fuzz_align64(virtq_desc_bytes(qsize));
	uint64_t used_off = fuzz_align64(avail_off + virtq_avail_bytes(qsize));
	if (used_off + virtq_used_bytes(qsize) > FUZZ_MEM0)
		abort();
	g->room = fuzz_le16(data + 4) ? fuzz_le16(data + 4) : 1;
	for (int i = 0; i < 4; i++)
		g->lens[i] = (uint16_t)(fuzz_le16(data + 6 + 2 * i) % 9217);
	if (vq_setup(&g->vq, &g->mem, (uint16_t)qsize, (struct virtq_desc *)g->host[0],
		     (struct virtq_avail *)(g->host[0] + avail_off),
		     (struct virtq_used *)(g->host[0] + used_off), features, fuzz_le16(data + 2)))
		abort();
	return 0;
}

static inline void fuzz_guest_fini(struct fuzz_guest *g)
{
	for (int k = 0; k < 3; k++)
		free(g->host[k]);
}

/* The notification side, which reads guest-written fields too. */
static inline void fuzz_guest_notify(struct fuzz_guest *g)
{
	(void)vq_guest_wants_interrupt(&g->vq);
	vq_disable_kicks(&g->vq);
	(void)vq_enable_kicks(&g->vq);
	(void)vq_avail_count(&g->vq);
}

#endif
