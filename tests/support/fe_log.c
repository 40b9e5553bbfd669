/*
 * fe_log.c - the test front-end's side of live migration's dirty page log
 * (vhost-user.rst "Dirty page logging", "Migration"): the log as a memfd
 * shared with the back-end, its bit arithmetic, and the messages QEMU 7.2
 * sends to turn logging on (hw/virtio/vhost.c vhost_migration_log and
 * vhost_dev_set_log, hw/virtio/vhost-user.c vhost_user_set_log_base).
 */
#include "fe.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* QEMU's VHOST_LOG_CHUNK: one 64-bit word of log covers 64 pages. */
#define FE_LOG_CHUNK (64ull << FE_LOG_PAGE_SHIFT)

uint64_t fe_log_bytes_for(const struct fe_mem *m)
{
	uint64_t last = fe_mem_end(m) - 1;
	return (last / FE_LOG_CHUNK + 1) * sizeof(uint64_t);
}

int fe_log_create(struct fe_log *log, uint64_t size)
{
	log->fd = -1;
	log->bits = NULL;
	log->size = size;
	if (size == 0)
		return -EINVAL;
	log->fd = memfd_create("rs-fe-log", MFD_CLOEXEC);
	if (log->fd < 0)
		return -errno;
	if (ftruncate(log->fd, (off_t)size) < 0)
		goto fail;
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, log->fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	log->bits = p;
	return 0;
fail:;
	int err = -errno;
	fe_log_destroy(log);
	return err;
}

void fe_log_destroy(struct fe_log *log)
{
	if (log->bits)
		munmap(log->bits, log->size);
	if (log->fd >= 0)
		close(log->fd);
	log->bits = NULL;
	log->fd = -1;
	log->size = 0;
}

void fe_log_clear(struct fe_log *log)
{
	/* The back-end sets bits with an atomic OR meanwhile: take whole words. */
	for (uint64_t i = 0; i + 8 <= log->size; i += 8)
		(void)__atomic_exchange_n((uint64_t *)(log->bits + i), 0, __ATOMIC_ACQ_REL);
	for (uint64_t i = log->size & ~7ull; i < log->size; i++)
		(void)__atomic_exchange_n(log->bits + i, 0, __ATOMIC_ACQ_REL);
}

bool fe_log_test(const struct fe_log *log, uint64_t page)
{
	if (page / 8 >= log->size)
		return false;
	/* Pairs with the back-end's release OR, after the bytes the bit stands for. */
	return __atomic_load_n(log->bits + page / 8, __ATOMIC_ACQUIRE) & (1u << (page % 8));
}

uint64_t fe_log_count(const struct fe_log *log, uint64_t first, uint64_t n)
{
	uint64_t c = 0;
	for (uint64_t p = first; p - first < n; p++)
		c += fe_log_test(log, p);
	return c;
}

int fe_log_base(struct fe *fe, const struct fe_log *log)
{
	if (!(fe->protocol & VIRTIO_BIT(VHOST_USER_PROTOCOL_F_LOG_SHMFD)))
		return fe_fail(fe, -ENOTSUP, "SET_LOG_BASE: LOG_SHMFD not negotiated");
	struct vhost_user_log l = {.mmap_size = log->size, .mmap_offset = 0};
	int err = fe_msg_send(fe, VHOST_USER_SET_LOG_BASE, VHOST_USER_VERSION, &l, sizeof(l),
			      &log->fd, 1);
	if (err < 0)
		return err;
	/* "the back-end must reply with zero-sized payload"; QEMU blocks on it. */
	return fe_wait_reply(fe, VHOST_USER_SET_LOG_BASE, 0, fe->cfg.timeout_ms);
}

int fe_log_start(struct fe *fe, const struct fe_log *log)
{
	uint64_t all = VIRTIO_BIT(VHOST_F_LOG_ALL);
	if (!(fe->dev_features & all))
		return fe_fail(fe, -ENOTSUP, "back-end does not offer VHOST_F_LOG_ALL");
	int err = fe_log_base(fe, log);
	if (err < 0)
		return err;
	uint64_t f = fe->features | all;
	err = fe_request(fe, VHOST_USER_SET_FEATURES, &f, sizeof(f), NULL, 0);
	if (err < 0)
		return err;
	fe->features = f;
	/* vhost_virtqueue_set_addr(..., enable_log): log_guest_addr is used_phys. */
	for (uint16_t q = 0; q < fe->nqueues && !err; q++)
		err = fe_vring_addr(fe, &fe->vq[q], 1u << VHOST_VRING_F_LOG, fe->vq[q].used_gpa);
	return err;
}
