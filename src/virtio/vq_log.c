/*
 * vq_log.c - dirty page logging for live migration (vhost-user.rst "Dirty page
 * logging" and "Migration"): while the front-end migrates the guest, every
 * page of guest memory the device writes must be marked in the shared log,
 * so that the front-end copies it again. Owns the bit arithmetic and the
 * translation of what the ring code wrote (a host address, or an offset in
 * the used ring) into guest-physical pages.
 *
 * Concurrency: the front-end reads and clears the bitmap while we set bits
 * (QEMU: an atomic exchange per 64-bit word, then it copies the pages). A bit
 * is set with an atomic OR and release order, after the bytes it stands for
 * were written: a front-end that collects the bit (acquire) and then copies
 * the page sees them; one that collected the word before the OR finds the bit
 * set again in its next pass. A bit is never skipped because it looked set:
 * it may be cleared between the look and the write.
 */
#include "vq.h"

#include "../lib/compiler.h"

void vq_set_log(struct vq *vq, const struct vq_log *log, bool log_used, uint64_t used_gpa)
{
	vq->log = log;
	vq->log_used = log != NULL && log_used;
	vq->log_used_gpa = used_gpa;
}

/* "the bit is set for every page ... VHOST_LOG_PAGE 0x1000" */
static void vq_log_pages(struct vq *vq, uint64_t first, uint64_t last)
{
	const struct vq_log *log = vq->log;

	for (uint64_t page = first; page <= last; page++) {
		uint64_t byte = page >> 3;
		if (RS_UNLIKELY(byte >= log->size)) {
			/* The front-end sized its log too small: it will miss these pages. */
			rs_stat_add(&vq->stats.log_outside, last - page + 1);
			return;
		}
		__atomic_fetch_or(&log->bits[byte], (uint8_t)(1u << (page & 7)), __ATOMIC_RELEASE);
	}
}

void vq_log_gpa(struct vq *vq, uint64_t gpa, uint64_t len)
{
	if (vq->log == NULL || len == 0)
		return;
	uint64_t last = gpa + len - 1;
	if (last < gpa) /* wraps: only a log_guest_addr near 2^64 can do this */
		last = UINT64_MAX;
	vq_log_pages(vq, gpa >> VQ_LOG_PAGE_SHIFT, last >> VQ_LOG_PAGE_SHIFT);
}

/* The region holding host address 'h', the last hit first; NULL when none. */
static const struct gmem_region *vq_log_region(const struct vq *vq, const uint8_t *h)
{
	const struct gmem *m = vq->mem;

	if (vq->mem_hint < m->nregions) {
		const struct gmem_region *r = &m->regions[vq->mem_hint];
		if (h >= r->host && (uint64_t)(h - r->host) < r->size)
			return r;
	}
	for (uint32_t i = 0; i < m->nregions; i++) {
		const struct gmem_region *r = &m->regions[i];
		if (h >= r->host && (uint64_t)(h - r->host) < r->size)
			return r;
	}
	return NULL;
}

/*
 * A chain's piece was translated inside one region (gmem_to_iov cuts at
 * region ends); a range that runs on is followed into the next region all
 * the same, so no written byte goes unlogged.
 */
void vq_log_host(struct vq *vq, const void *host, uint64_t len)
{
	const uint8_t *h = host;

	if (vq->log == NULL)
		return;
	while (len > 0) {
		const struct gmem_region *r = vq_log_region(vq, h);
		if (r == NULL) { /* cannot happen for a translated piece: count it, never skip */
			rs_stat_add(&vq->stats.log_outside, 1);
			return;
		}
		uint64_t off = (uint64_t)(h - r->host);
		uint64_t n = RS_MIN(len, r->size - off);
		vq_log_gpa(vq, r->gpa + off, n);
		h += n;
		len -= n;
	}
}

/* "VHOST_VRING_F_LOG ... log_guest_addr: the used ring's writes are logged there" */
void vq_log_used(struct vq *vq, const void *host, uint64_t len)
{
	if (!vq->log_used)
		return;
	uint64_t off = (uint64_t)((const uint8_t *)host - (const uint8_t *)vq->used);
	vq_log_gpa(vq, vq->log_used_gpa + off, len);
}
