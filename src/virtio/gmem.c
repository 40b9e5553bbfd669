/*
 * gmem.c - the guest memory table: a sorted array of at most GMEM_MAX_REGIONS
 * non-overlapping regions and the translations every guest address goes
 * through. A range is translated as (address, length) and only when every
 * byte is mapped; all arithmetic is done on offsets inside a region so that a
 * guest-chosen address or length near 2^64 can never wrap into a bogus
 * in-range result. Lookups try the caller's last-hit hint, then a binary
 * search. Pure bookkeeping: no syscalls, no allocation.
 */
#include "gmem.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "../lib/compiler.h"

void gmem_init(struct gmem *m)
{
	memset(m, 0, sizeof(*m));
}

/* Last byte of [start, start+size), or false when size is 0 or the range wraps. */
static bool gmem_last_byte(uint64_t start, uint64_t size, uint64_t *last)
{
	if (size == 0 || start + (size - 1) < start)
		return false;
	*last = start + (size - 1);
	return true;
}

/* Inclusive ranges [a0, a1] and [b0, b1] share a byte. */
static bool gmem_ranges_overlap(uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1)
{
	return a0 <= b1 && b0 <= a1;
}

int gmem_add(struct gmem *m, const struct gmem_region *r)
{
	uint64_t gpa_last, uva_last;

	if (!gmem_last_byte(r->gpa, r->size, &gpa_last) ||
	    !gmem_last_byte(r->uva, r->size, &uva_last) || !r->host)
		return -EINVAL;
	uint32_t pos = m->nregions;
	for (uint32_t i = 0; i < m->nregions; i++) {
		const struct gmem_region *o = &m->regions[i];
		if (gmem_ranges_overlap(r->gpa, gpa_last, o->gpa, o->gpa + (o->size - 1)) ||
		    gmem_ranges_overlap(r->uva, uva_last, o->uva, o->uva + (o->size - 1)))
			return -EINVAL;
		if (pos == m->nregions && o->gpa > r->gpa)
			pos = i;
	}
	if (m->nregions >= GMEM_MAX_REGIONS)
		return -ENOSPC;
	memmove(&m->regions[pos + 1], &m->regions[pos],
		(m->nregions - pos) * sizeof(m->regions[0]));
	m->regions[pos] = *r;
	m->nregions++;
	return 0;
}

int gmem_remove(struct gmem *m, uint64_t gpa, uint64_t size, uint64_t uva, struct gmem_region *out)
{
	for (uint32_t i = 0; i < m->nregions; i++) {
		const struct gmem_region *r = &m->regions[i];
		if (r->gpa != gpa || r->size != size || r->uva != uva)
			continue;
		if (out)
			*out = *r;
		memmove(&m->regions[i], &m->regions[i + 1],
			(m->nregions - i - 1) * sizeof(m->regions[0]));
		m->nregions--;
		return 0;
	}
	return -ENOENT;
}

/*
 * Index of the region holding byte 'gpa', or -1. Tries '*hint' first (any
 * value is safe: it is bounds-checked), then a binary search for the last
 * region starting at or below 'gpa'.
 */
static int gmem_find(const struct gmem *m, uint32_t *hint, uint64_t gpa)
{
	uint32_t h = *hint;

	if (RS_LIKELY(h < m->nregions && gpa - m->regions[h].gpa < m->regions[h].size &&
		      gpa >= m->regions[h].gpa))
		return (int)h;
	uint32_t lo = 0, hi = m->nregions; /* candidates: [lo, hi) */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (m->regions[mid].gpa <= gpa)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return -1;
	const struct gmem_region *r = &m->regions[lo - 1];
	if (gpa - r->gpa >= r->size)
		return -1;
	*hint = lo - 1;
	return (int)(lo - 1);
}

void *gmem_translate(const struct gmem *m, uint32_t *hint, uint64_t gpa, uint64_t len)
{
	int i = gmem_find(m, hint, gpa);
	if (i < 0)
		return NULL;
	return gmem_region_translate(&m->regions[i], gpa, len);
}

/*
 * Walks [gpa, gpa+len) region by region. Calls 'fn' for each host piece
 * (stopping early when it returns non-zero, which is then returned). Returns 0
 * or -EFAULT when a byte is unmapped. Each step moves to a higher region
 * index, so at most nregions steps are taken.
 */
typedef int (*gmem_piece_fn)(void *ctx, uint8_t *host, uint64_t len);

static int gmem_walk(const struct gmem *m, uint32_t *hint, uint64_t gpa, uint64_t len,
		     gmem_piece_fn fn, void *ctx)
{
	if (len == 0)
		return 0;
	int i = gmem_find(m, hint, gpa);
	if (i < 0)
		return -EFAULT;
	for (uint32_t k = (uint32_t)i;; k++) {
		const struct gmem_region *r = &m->regions[k];
		uint64_t off = gpa - r->gpa;
		uint64_t piece = RS_MIN(len, r->size - off);
		int rc = fn(ctx, r->host + off, piece);
		if (rc)
			return rc;
		len -= piece;
		if (len == 0)
			return 0;
		/* The next byte must start the next region (no gap). */
		gpa = r->gpa + r->size; /* cannot wrap: len > 0 bytes remain */
		if (k + 1 >= m->nregions || m->regions[k + 1].gpa != gpa)
			return -EFAULT;
	}
}

struct gmem_iov_ctx {
	struct gmem_iov *iov;
	unsigned max;
	unsigned n;
	bool too_big;
};

static int gmem_iov_piece(void *ctx, uint8_t *host, uint64_t len)
{
	struct gmem_iov_ctx *c = ctx;

	/* Keep walking after overflow so that an unmapped byte still wins. */
	if (c->too_big || c->n >= c->max || len > UINT32_MAX) {
		c->too_big = true;
		return 0;
	}
	c->iov[c->n].base = host;
	c->iov[c->n].len = (uint32_t)len;
	c->n++;
	return 0;
}

int gmem_to_iov(const struct gmem *m, uint32_t *hint, uint64_t gpa, uint64_t len,
		struct gmem_iov *iov, unsigned max)
{
	/* Fast path: the whole range inside the hinted (or found) region. */
	if (RS_LIKELY(len != 0 && len <= UINT32_MAX && max != 0)) {
		void *p = gmem_translate(m, hint, gpa, len);
		if (RS_LIKELY(p != NULL)) {
			iov[0].base = p;
			iov[0].len = (uint32_t)len;
			return 1;
		}
	}
	struct gmem_iov_ctx c = {.iov = iov, .max = max};
	int rc = gmem_walk(m, hint, gpa, len, gmem_iov_piece, &c);

	if (rc)
		return rc;
	return c.too_big ? -E2BIG : (int)c.n;
}

static int gmem_read_piece(void *ctx, uint8_t *host, uint64_t len)
{
	uint8_t **dst = ctx;

	memcpy(*dst, host, len);
	*dst += len;
	return 0;
}

int gmem_read(const struct gmem *m, uint32_t *hint, uint64_t gpa, void *dst, uint64_t len)
{
	uint8_t *d = dst;

	return gmem_walk(m, hint, gpa, len, gmem_read_piece, &d);
}

void *gmem_uva_to_host(const struct gmem *m, uint64_t uva, uint64_t len)
{
	for (uint32_t i = 0; i < m->nregions; i++) {
		const struct gmem_region *r = &m->regions[i];
		uint64_t off = uva - r->uva;
		if (uva >= r->uva && off < r->size && len <= r->size - off)
			return r->host + off;
	}
	return NULL;
}
