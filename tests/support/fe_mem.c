/*
 * fe_mem.c - the test front-end's guest memory: one memfd cut into regions
 * that are contiguous in guest-physical space but mapped separately here (so
 * their userspace addresses are not contiguous), a bump allocator, and
 * copies that follow a guest range across region boundaries.
 */
#include "fe.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Region sizes are multiples of this, so aligned power-of-2 slots up to it never straddle. */
#define FE_REGION_ALIGN 65536ull

static uint64_t fe_round_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

int fe_mem_create(struct fe_mem *m, uint64_t size, unsigned nregions)
{
	memset(m, 0, sizeof(*m));
	m->fd = -1;
	if (nregions == 0 || nregions > FE_MAX_REGIONS || size == 0)
		return -EINVAL;
	uint64_t rsize = fe_round_up((size + nregions - 1) / nregions, FE_REGION_ALIGN);
	m->fd = memfd_create("rs-fe-guest", MFD_CLOEXEC);
	if (m->fd < 0)
		return -errno;
	m->fd_size = rsize * nregions;
	if (ftruncate(m->fd, (off_t)m->fd_size) < 0)
		goto fail;
	for (unsigned i = 0; i < nregions; i++) {
		void *p = mmap(NULL, rsize, PROT_READ | PROT_WRITE, MAP_SHARED, m->fd,
			       (off_t)(i * rsize));
		if (p == MAP_FAILED)
			goto fail;
		m->r[i].gpa = FE_GPA_BASE + i * rsize;
		m->r[i].size = rsize;
		m->r[i].mmap_offset = i * rsize;
		m->r[i].host = p;
		m->nregions = i + 1;
	}
	m->next = FE_GPA_BASE;
	return 0;
fail:;
	int err = -errno;
	fe_mem_destroy(m);
	return err;
}

void fe_mem_destroy(struct fe_mem *m)
{
	for (unsigned i = 0; i < m->nregions; i++)
		munmap(m->r[i].host, m->r[i].size);
	if (m->fd >= 0)
		close(m->fd);
	memset(m, 0, sizeof(*m));
	m->fd = -1;
}

uint64_t fe_mem_end(const struct fe_mem *m)
{
	if (m->nregions == 0)
		return FE_GPA_BASE;
	const struct fe_region *last = &m->r[m->nregions - 1];
	return last->gpa + last->size;
}

/* Region holding 'gpa', or NULL. */
static const struct fe_region *fe_mem_find(const struct fe_mem *m, uint64_t gpa)
{
	for (unsigned i = 0; i < m->nregions; i++)
		if (gpa >= m->r[i].gpa && gpa - m->r[i].gpa < m->r[i].size)
			return &m->r[i];
	return NULL;
}

uint64_t fe_mem_alloc(struct fe_mem *m, uint64_t len, uint64_t align, bool one_region)
{
	uint64_t at = fe_round_up(m->next, align ? align : 1);
	if (one_region) {
		const struct fe_region *r = fe_mem_find(m, at);
		if (r && at + len > r->gpa + r->size)
			at = fe_round_up(r->gpa + r->size, align ? align : 1);
		r = fe_mem_find(m, at);
		if (!r || at + len > r->gpa + r->size)
			return 0;
	}
	if (len == 0 || at + len > fe_mem_end(m))
		return 0;
	m->next = at + len;
	return at;
}

uint64_t fe_mem_boundary_after(const struct fe_mem *m, uint64_t gpa)
{
	for (unsigned i = 1; i < m->nregions; i++)
		if (m->r[i].gpa > gpa)
			return m->r[i].gpa;
	return 0;
}

void *fe_mem_ptr(const struct fe_mem *m, uint64_t gpa, uint64_t len)
{
	const struct fe_region *r = fe_mem_find(m, gpa);
	if (!r || len > r->size - (gpa - r->gpa))
		return NULL;
	return r->host + (gpa - r->gpa);
}

/* Copies between guest range and 'buf' in either direction, piece by piece. */
static int fe_mem_copy(const struct fe_mem *m, uint64_t gpa, void *buf, uint64_t len, bool to_guest)
{
	uint8_t *b = buf;
	while (len > 0) {
		const struct fe_region *r = fe_mem_find(m, gpa);
		if (!r)
			return -EFAULT;
		uint64_t off = gpa - r->gpa;
		uint64_t n = r->size - off < len ? r->size - off : len;
		if (to_guest)
			memcpy(r->host + off, b, n);
		else
			memcpy(b, r->host + off, n);
		b += n;
		gpa += n;
		len -= n;
	}
	return 0;
}

int fe_mem_write(const struct fe_mem *m, uint64_t gpa, const void *src, uint64_t len)
{
	return fe_mem_copy(m, gpa, (void *)src, len, true);
}

int fe_mem_read(const struct fe_mem *m, uint64_t gpa, void *dst, uint64_t len)
{
	return fe_mem_copy(m, gpa, dst, len, false);
}

uint32_t fe_mem_table(const struct fe_mem *m, struct vhost_user_mem_table *t)
{
	memset(t, 0, sizeof(*t));
	t->nregions = m->nregions;
	for (unsigned i = 0; i < m->nregions; i++) {
		t->regions[i].guest_phys_addr = m->r[i].gpa;
		t->regions[i].memory_size = m->r[i].size;
		t->regions[i].userspace_addr = (uint64_t)(uintptr_t)m->r[i].host;
		t->regions[i].mmap_offset = m->r[i].mmap_offset;
	}
	return 8 + m->nregions * (uint32_t)sizeof(struct vhost_user_mem_region);
}
