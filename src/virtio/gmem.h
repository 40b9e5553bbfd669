/*
 * gmem.h - the guest memory table: which guest-physical ranges are mapped
 * where in this process. It is pure bookkeeping (no syscalls): the vhost layer
 * mmaps the front-end's fds and records the mappings here; the ring code
 * translates guest addresses through it. A translation is always of a range,
 * (address, length), and succeeds only when every byte of the range lies in
 * mapped guest memory.
 *
 * Concurrency: the table is written by the control thread only while every
 * queue of the device is stopped (see vhost_dev.h); forwarding threads read
 * it. Each reader keeps its own last-hit hint, so lookups write nothing
 * shared.
 */
#ifndef RS_VIRTIO_GMEM_H
#define RS_VIRTIO_GMEM_H

#include <stddef.h>
#include <stdint.h>

/* vhost-user CONFIGURE_MEM_SLOTS: QEMU offers at most 509 slots. */
#define GMEM_MAX_REGIONS 509

struct gmem_region {
	uint64_t gpa;         /* guest physical address of the first byte */
	uint64_t size;        /* bytes; never 0 */
	uint64_t uva;         /* front-end's virtual address (for ring addresses) */
	uint64_t mmap_offset; /* offset of gpa in the front-end's fd */
	uint8_t *host;        /* our address of gpa */
	void *map_base;       /* what to munmap (owned by the vhost layer) */
	size_t map_len;
	int fd;               /* the region's fd, or -1 (owned by the vhost layer) */
	uint32_t refs;        /* vhost layer: ADD_MEM_REGs naming this region (QEMU sends
				 one per queue pair); unmapped when the last is removed */
};

struct gmem {
	uint32_t nregions;
	struct gmem_region regions[GMEM_MAX_REGIONS]; /* sorted by gpa, non-overlapping */
};

/* One contiguous host piece of a guest range. */
struct gmem_iov {
	void *base;
	uint32_t len;
};

void gmem_init(struct gmem *m);

/*
 * Inserts 'r' keeping the table sorted. Fails with -EINVAL when the region is
 * empty, wraps around the address space, or overlaps an existing region in
 * guest-physical or user-virtual space, and with -ENOSPC when full.
 */
int gmem_add(struct gmem *m, const struct gmem_region *r);

/*
 * Removes the region matching (gpa, size, uva) exactly, copying it to 'out'
 * so the caller can unmap and close it. Returns 0 or -ENOENT.
 */
int gmem_remove(struct gmem *m, uint64_t gpa, uint64_t size, uint64_t uva,
		struct gmem_region *out);

/*
 * Translates [gpa, gpa+len) when it lies inside one region; returns NULL
 * otherwise (including len 0 at an unmapped address and ranges that wrap).
 * '*hint' is the caller's last-hit region index, read and updated; any value
 * is safe.
 */
void *gmem_translate(const struct gmem *m, uint32_t *hint, uint64_t gpa, uint64_t len);

/* The host address of [gpa, gpa+len) when the range lies wholly inside region 'r', else NULL. */
static inline void *gmem_region_translate(const struct gmem_region *r, uint64_t gpa, uint64_t len)
{
	uint64_t off = gpa - r->gpa;
	if (gpa < r->gpa || off >= r->size || len > r->size - off)
		return NULL;
	return r->host + off;
}

/*
 * Splits [gpa, gpa+len) into host pieces, following adjacent regions. Returns
 * the number of pieces written (len 0 gives 0), -EFAULT when any byte is
 * unmapped, -E2BIG when more than 'max' pieces would be needed or a piece
 * exceeds UINT32_MAX.
 */
int gmem_to_iov(const struct gmem *m, uint32_t *hint, uint64_t gpa, uint64_t len,
		struct gmem_iov *iov, unsigned max);

/* Copies guest bytes into 'dst', across region boundaries. Returns 0 or -EFAULT. */
int gmem_read(const struct gmem *m, uint32_t *hint, uint64_t gpa, void *dst, uint64_t len);

/* Translates a front-end virtual address range (ring addresses). NULL on failure. */
void *gmem_uva_to_host(const struct gmem *m, uint64_t uva, uint64_t len);

#endif
