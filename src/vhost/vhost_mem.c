/*
 * vhost_mem.c - mmap and munmap of the front-end's memory regions. Owns
 * every guest-memory mapping and region fd of the vhost layer: each one is
 * made here and released here, on success and on every failure path.
 * Spec: vhost-user.rst "Memory region description" and SET_MEM_TABLE /
 * ADD_MEM_REG / REM_MEM_REG.
 */
#include "vhost_mem.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * Mapping granularity: the page size, or the file's block size when larger
 * (hugetlbfs reports the huge page size there, and its mmap offsets must be
 * aligned to it).
 */
static uint64_t mem_align(const struct stat *st)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t blk = st->st_blksize > 0 ? (uint64_t)st->st_blksize : page;

	if (blk > page && (blk & (blk - 1)) == 0)
		return blk;
	return page;
}

/*
 * Checks the region against the file behind 'fd' and computes what to map:
 * [*off, *off + *len) of the file, covering the region's bytes.
 */
static int mem_plan(const struct vhost_user_mem_region *r, int fd, uint64_t *off, uint64_t *len)
{
	struct stat st;

	if (r->memory_size == 0)
		return -EINVAL;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -ENODEV;
	uint64_t end = r->mmap_offset + r->memory_size;
	if (end < r->mmap_offset)
		return -EOVERFLOW;
	if (st.st_size < 0 || end > (uint64_t)st.st_size)
		return -ERANGE;

	uint64_t align = mem_align(&st);
	*off = r->mmap_offset & ~(align - 1);
	*len = end - *off;
	/* Round the length up to whole mapping units (hugetlbfs requires it). */
	uint64_t rounded = (*len + align - 1) & ~(align - 1);
	if (rounded < *len || rounded > SIZE_MAX || *off > (uint64_t)INT64_MAX)
		return -EOVERFLOW;
	*len = rounded;
	return 0;
}

int vhost_mem_map_region(const struct vhost_user_mem_region *r, int fd, struct gmem_region *out)
{
	uint64_t off = 0, len = 0;
	int rc = mem_plan(r, fd, &off, &len);

	if (rc < 0)
		return rc;
	void *base = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)off);
	if (base == MAP_FAILED)
		return -errno;

	memset(out, 0, sizeof(*out));
	out->gpa = r->guest_phys_addr;
	out->size = r->memory_size;
	out->uva = r->userspace_addr;
	out->mmap_offset = r->mmap_offset;
	out->host = (uint8_t *)base + (r->mmap_offset - off);
	out->map_base = base;
	out->map_len = (size_t)len;
	out->fd = fd;
	return 0;
}

int vhost_mem_map_log(const struct vhost_user_log *l, int fd, struct gmem_region *out)
{
	const struct vhost_user_mem_region r = {.memory_size = l->mmap_size,
						.mmap_offset = l->mmap_offset};

	return vhost_mem_map_region(&r, fd, out);
}

void vhost_mem_unmap_region(struct gmem_region *r)
{
	if (r->map_base != NULL && r->map_len != 0)
		munmap(r->map_base, r->map_len);
	if (r->fd >= 0)
		close(r->fd);
	r->map_base = NULL;
	r->map_len = 0;
	r->host = NULL;
	r->fd = -1;
}

void vhost_mem_clear(struct gmem *m)
{
	for (uint32_t i = 0; i < m->nregions; i++)
		vhost_mem_unmap_region(&m->regions[i]);
	gmem_init(m);
}

/* Maps one region and inserts it; on failure nothing is left behind and 'fd' is not closed. */
static int mem_insert(struct gmem *m, const struct vhost_user_mem_region *r, int fd)
{
	struct gmem_region gr;
	int rc = vhost_mem_map_region(r, fd, &gr);

	if (rc < 0)
		return rc;
	gr.refs = 1;
	rc = gmem_add(m, &gr);
	if (rc < 0) {
		gr.fd = -1; /* the caller still owns it */
		vhost_mem_unmap_region(&gr);
	}
	return rc;
}

int vhost_mem_load_table(struct gmem *m, const struct vhost_user_mem_table *t, int *fds,
			 unsigned *bad)
{
	uint32_t n = t->nregions;
	uint32_t i;
	int rc = 0;

	*bad = 0;
	if (n > VHOST_MEMORY_BASELINE_NREGIONS)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		rc = mem_insert(m, &t->regions[i], fds[i]);
		if (rc < 0)
			goto undo;
	}
	for (i = 0; i < n; i++)
		fds[i] = -1;
	return 0;

undo:
	*bad = i;
	/* Unmap what was inserted without closing: the fds go back to the caller. */
	for (uint32_t k = 0; k < m->nregions; k++) {
		m->regions[k].fd = -1;
		vhost_mem_unmap_region(&m->regions[k]);
	}
	gmem_init(m);
	return rc;
}

/* The region equal to 'r' in every field, or NULL. */
static struct gmem_region *mem_find_same(struct gmem *m, const struct vhost_user_mem_region *r)
{
	for (uint32_t i = 0; i < m->nregions; i++) {
		struct gmem_region *g = &m->regions[i];
		if (g->gpa == r->guest_phys_addr && g->size == r->memory_size &&
		    g->uva == r->userspace_addr && g->mmap_offset == r->mmap_offset)
			return g;
	}
	return NULL;
}

int vhost_mem_add(struct gmem *m, const struct vhost_user_mem_region *r, int *fd)
{
	/*
	 * QEMU's multiqueue vhost-user-net sends every region once per queue pair
	 * on the same socket (each pair is its own vhost device to QEMU), and later
	 * removes it once per pair: the same region again is a reference, not an
	 * overlap. Its fd stays with the caller, which closes it.
	 */
	struct gmem_region *same = mem_find_same(m, r);
	if (same) {
		same->refs++;
		return 0;
	}
	int rc = mem_insert(m, r, *fd);

	if (rc == 0)
		*fd = -1;
	return rc;
}

int vhost_mem_remove(struct gmem *m, const struct vhost_user_mem_region *r)
{
	struct gmem_region out;
	struct gmem_region *same = mem_find_same(m, r);
	if (same && same->refs > 1) {
		same->refs--;
		return 0;
	}
	int rc = gmem_remove(m, r->guest_phys_addr, r->memory_size, r->userspace_addr, &out);

	if (rc < 0)
		return rc;
	vhost_mem_unmap_region(&out);
	return 0;
}

const char *vhost_mem_strerror(int err)
{
	switch (err) {
	case -EINVAL:
		return "region empty, wrapping or overlapping another region";
	case -ENODEV:
		return "fd is not a regular file (memfd, tmpfs or hugetlbfs)";
	case -EOVERFLOW:
		return "mmap_offset + size overflows";
	case -ERANGE:
		return "mmap_offset + size past the end of the fd";
	case -ENOSPC:
		return "too many memory regions";
	case -ENOENT:
		return "no such memory region";
	case -ENOMEM:
		return "out of address space or memory";
	case -EBADF:
		return "bad fd";
	default:
		return strerror(-err);
	}
}
