/*
 * guest_sim.h - a fake guest for the virtio unit tests: guest memory made of
 * one or more separately allocated regions that are adjacent in guest
 * physical space (so a buffer can straddle two host allocations and the
 * sanitizers catch any overrun), a split ring placed in the first region, and
 * the few driver-side operations the tests need (write descriptors, publish
 * heads, read used entries). Header-only; every function is static.
 */
#ifndef RS_TEST_GUEST_SIM_H
#define RS_TEST_GUEST_SIM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/compiler.h"
#include "virtio/gmem.h"
#include "virtio/vq.h"

#define GSIM_GPA	 0x100000ull
#define GSIM_UVA_OFFSET	 0x7f0000000000ull
#define GSIM_MAX_REGIONS 4

struct gsim {
	struct gmem mem;
	uint8_t *host[GSIM_MAX_REGIONS];
	uint64_t rsize[GSIM_MAX_REGIONS];
	unsigned nregions;
	uint64_t brk; /* next free guest address for buffers */
	uint64_t end; /* first guest address past the memory */
	uint32_t size;
	struct virtq_desc *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;
	uint16_t avail_idx; /* the driver's copy */
	uint16_t next_desc; /* next descriptor handed out, round robin */
	struct vq vq;
};

static inline uint64_t gsim_align(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* Region k's first guest address. */
static inline uint64_t gsim_region_gpa(const struct gsim *g, unsigned k)
{
	uint64_t gpa = GSIM_GPA;
	for (unsigned i = 0; i < k; i++)
		gpa += g->rsize[i];
	return gpa;
}

/*
 * Builds memory from 'nregions' regions of 'rsizes' bytes (region 0 must hold
 * the rings) and a queue of 'size' entries (1..32768) with 'features',
 * starting at index 'base'. Returns 0 or the vq_setup error.
 */
static inline int gsim_init_regions(struct gsim *g, uint32_t size, uint64_t features, uint16_t base,
				    const uint64_t *rsizes, unsigned nregions)
{
	memset(g, 0, sizeof(*g));
	gmem_init(&g->mem);
	g->size = size;
	g->nregions = nregions;
	uint64_t gpa = GSIM_GPA;
	for (unsigned k = 0; k < nregions; k++) {
		g->rsize[k] = rsizes[k];
		g->host[k] = aligned_alloc(4096, gsim_align(rsizes[k], 4096));
		if (!g->host[k])
			abort();
		memset(g->host[k], 0xa5, rsizes[k]);
		struct gmem_region r = {.gpa = gpa,
					.size = rsizes[k],
					.uva = gpa + GSIM_UVA_OFFSET,
					.host = g->host[k],
					.fd = -1};
		if (gmem_add(&g->mem, &r))
			abort();
		gpa += rsizes[k];
	}
	g->end = gpa;
	uint64_t desc_gpa = GSIM_GPA;
	uint64_t avail_gpa = gsim_align(desc_gpa + virtq_desc_bytes(size), 64);
	uint64_t used_gpa = gsim_align(avail_gpa + virtq_avail_bytes(size), 64);
	g->brk = gsim_align(used_gpa + virtq_used_bytes(size), 64);
	if (g->brk > GSIM_GPA + rsizes[0])
		abort();
	g->desc = (void *)(g->host[0] + (desc_gpa - GSIM_GPA));
	g->avail = (void *)(g->host[0] + (avail_gpa - GSIM_GPA));
	g->used = (void *)(g->host[0] + (used_gpa - GSIM_GPA));
	memset(g->host[0], 0, g->brk - GSIM_GPA);
	g->avail->idx = base;
	g->used->idx = base;
	g->avail_idx = base;
	return vq_setup(&g->vq, &g->mem, (uint16_t)(size == VIRTQ_MAX_SIZE ? 0 : size), g->desc,
			g->avail, g->used, features, base);
}

/* One 'mem_bytes' region (rounded up to hold the rings). */
static inline int gsim_init(struct gsim *g, uint32_t size, uint64_t features, uint16_t base,
			    uint64_t mem_bytes)
{
	uint64_t rings =
	    64 * 3 + virtq_desc_bytes(size) + virtq_avail_bytes(size) + virtq_used_bytes(size);
	return gsim_init_regions(g, size, features, base, (uint64_t[]){rings + mem_bytes}, 1);
}

static inline void gsim_fini(struct gsim *g)
{
	for (unsigned k = 0; k < g->nregions; k++)
		free(g->host[k]);
	memset(g, 0, sizeof(*g));
}

/* 'len' bytes of guest memory for buffers; aborts when memory runs out. */
static inline uint64_t gsim_alloc(struct gsim *g, uint64_t len)
{
	uint64_t gpa = g->brk;
	if (len > g->end - gpa)
		abort();
	g->brk = gsim_align(gpa + len, 8);
	return gpa;
}

/* Copies into guest memory, across regions. */
static inline void gsim_write(struct gsim *g, uint64_t gpa, const void *src, uint64_t len)
{
	struct gmem_iov iov[GSIM_MAX_REGIONS];
	uint32_t hint = 0;
	int n = gmem_to_iov(&g->mem, &hint, gpa, len, iov, GSIM_MAX_REGIONS);
	if (n < 0)
		abort();
	const uint8_t *s = src;
	for (int i = 0; i < n; i++) {
		memcpy(iov[i].base, s, iov[i].len);
		s += iov[i].len;
	}
}

static inline void gsim_read(struct gsim *g, uint64_t gpa, void *dst, uint64_t len)
{
	uint32_t hint = 0;
	if (gmem_read(&g->mem, &hint, gpa, dst, len))
		abort();
}

static inline void gsim_desc(struct gsim *g, uint16_t idx, uint64_t gpa, uint32_t len,
			     uint16_t flags, uint16_t next)
{
	g->desc[idx].addr = gpa;
	g->desc[idx].len = len;
	g->desc[idx].flags = flags;
	g->desc[idx].next = next;
}

/* Makes 'head' available (2.7.13): ring entry, then idx with release. */
static inline void gsim_push(struct gsim *g, uint16_t head)
{
	g->avail->ring[g->avail_idx & (g->size - 1)] = head;
	g->avail_idx++;
	rs_store_release(&g->avail->idx, g->avail_idx);
}

static inline struct virtq_used_elem gsim_used(const struct gsim *g, uint16_t idx)
{
	return g->used->ring[idx & (g->size - 1)];
}

static inline uint16_t gsim_take_desc(struct gsim *g)
{
	uint16_t d = g->next_desc;
	g->next_desc = (uint16_t)((g->next_desc + 1) & (g->size - 1));
	return d;
}

/*
 * Builds a chain over the 'len' bytes at 'gpa', split into 'nseg' descriptors
 * (the last takes the remainder) with 'flags' (0 or VIRTQ_DESC_F_WRITE).
 * Returns the head; does not publish it.
 */
static inline uint16_t gsim_chain(struct gsim *g, uint64_t gpa, uint32_t len, unsigned nseg,
				  uint16_t flags)
{
	uint16_t head = gsim_take_desc(g), cur = head;
	uint32_t per = len / nseg;
	for (unsigned s = 0; s < nseg; s++) {
		uint32_t l = s + 1 == nseg ? len - per * s : per;
		uint16_t next = s + 1 == nseg ? 0 : gsim_take_desc(g);
		gsim_desc(g, cur, gpa + (uint64_t)per * s, l,
			  (uint16_t)(flags | (s + 1 == nseg ? 0 : VIRTQ_DESC_F_NEXT)), next);
		cur = next;
	}
	return head;
}

/* A TX packet: 'hdr' (hdr_len bytes) then 'frame', in 'nseg' pieces; published. */
static inline uint16_t gsim_tx(struct gsim *g, const void *hdr, uint32_t hdr_len, const void *frame,
			       uint32_t flen, unsigned nseg)
{
	uint64_t gpa = gsim_alloc(g, hdr_len + flen);
	gsim_write(g, gpa, hdr, hdr_len);
	gsim_write(g, gpa + hdr_len, frame, flen);
	uint16_t head = gsim_chain(g, gpa, hdr_len + flen, nseg, 0);
	gsim_push(g, head);
	return head;
}

/* An RX buffer of 'len' bytes in 'nseg' pieces; published. Returns its address. */
static inline uint64_t gsim_rx(struct gsim *g, uint32_t len, unsigned nseg)
{
	uint64_t gpa = gsim_alloc(g, len);
	gsim_push(g, gsim_chain(g, gpa, len, nseg, VIRTQ_DESC_F_WRITE));
	return gpa;
}

#endif
