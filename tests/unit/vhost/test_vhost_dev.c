/*
 * test_vhost_dev.c - the vhost-user device driven through vhost_dev_handle
 * with memfd-backed guest memory and real eventfds: the QEMU start sequence,
 * queue_state callbacks at the right moments (stop before change, start
 * after), ring translation, hostile messages (fds closed, clear error
 * replies, nothing changed), and no fd or mapping leak over 1,000
 * connect/disconnect cycles.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "msg_build.h"
#include "vhost/vhost_dev.h"
#include "vhost/vhost_msg.h"

#define MEM_SIZE (1024 * 1024)
#define UVA	 0x7f0000000000ull
#define GPA	 0x0ull
#define NUM	 256
#define P(b)	 (1ull << VHOST_USER_PROTOCOL_F_##b)
#define F(b)	 (1ull << (b))
#define NOFD	 VHOST_USER_VRING_NOFD_MASK

/* Ring parts of queue q, as guest offsets inside the one region. */
#define RING_OFF(q) (0x10000ull * ((q) + 1))
#define DESC(q)	    (UVA + RING_OFF(q))
#define AVAIL(q)    (UVA + RING_OFF(q) + 0x1000)
#define USED(q)	    (UVA + RING_OFF(q) + 0x2000)

struct rec {
	struct vhost_dev *dev;
	unsigned nev;
	struct {
		uint16_t q;
		bool ready;
	} ev[512];
	unsigned up, down;
	bool bad_order; /* a callback saw the queue already changed */
	unsigned announces;
	uint8_t mac[6]; /* the last SEND_RARP's */
};

static void on_queue(void *opaque, struct vhost_dev *dev, uint16_t q, bool ready)
{
	struct rec *r = opaque;

	/* Stop is announced before the ring is touched; start after it is set up. */
	if (vhost_dev_vq(dev, q)->desc == NULL || vhost_dev_queue_ready(dev, q) != true)
		r->bad_order = true;
	if (r->nev < sizeof(r->ev) / sizeof(r->ev[0])) {
		r->ev[r->nev].q = q;
		r->ev[r->nev].ready = ready;
	}
	r->nev++;
}

static void on_conn(void *opaque, struct vhost_dev *dev, bool up)
{
	struct rec *r = opaque;

	(void)dev;
	if (up)
		r->up++;
	else
		r->down++;
}

static void on_announce(void *opaque, struct vhost_dev *dev, const uint8_t mac[6])
{
	struct rec *r = opaque;

	(void)dev;
	r->announces++;
	memcpy(r->mac, mac, 6);
}

static const struct vhost_dev_ops ops = {
    .queue_state = on_queue, .conn_state = on_conn, .announce = on_announce};
static uint16_t cur_pairs; /* max_queue_pairs of the device under test */

static int new_memfd(void)
{
	int fd = memfd_create("guest", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, MEM_SIZE), 0);
	return fd;
}

static int new_eventfd(void)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(fd >= 0);
	return fd;
}

static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static unsigned count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static unsigned count_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned n = 0;
	int c;

	assert_non_null(f);
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static bool cfg_no_offloads; /* the next new_dev() offers no offloads */

static struct vhost_dev *new_dev(struct rec *rec, uint16_t pairs, uint16_t mtu)
{
	struct vhost_dev_cfg cfg = {.name = "vm1.eth0",
				    .max_queue_pairs = pairs,
				    .mtu = mtu,
				    .no_offloads = cfg_no_offloads};

	memset(rec, 0, sizeof(*rec));
	cur_pairs = pairs;
	rec->dev = vhost_dev_new(&cfg, &ops, rec);
	assert_non_null(rec->dev);
	return rec->dev;
}

/* Sends one message; returns vhost_dev_handle's result. */
static int send_msg(struct vhost_dev *dev, const struct vhost_user_msg *m, int *fds, unsigned nfds,
		    struct vhost_user_msg *reply)
{
	int local[VHOST_USER_MAX_FDS + 2];

	if (nfds) /* fds may be NULL with none: memcpy from NULL is undefined even for 0 bytes */
		memcpy(local, fds, nfds * sizeof(int));
	return vhost_dev_handle(dev, m, local, nfds, reply);
}

/* Sends with NEED_REPLY and returns the acked u64 (0 = success). */
static uint64_t ack(struct vhost_dev *dev, struct vhost_user_msg *m, int *fds, unsigned nfds)
{
	struct vhost_user_msg reply;

	m->hdr.flags |= VHOST_USER_FLAG_NEED_REPLY;
	assert_int_equal(send_msg(dev, m, fds, nfds, &reply), 1);
	assert_int_equal(reply.hdr.request, m->hdr.request);
	assert_int_equal(reply.hdr.flags, VHOST_USER_VERSION | VHOST_USER_FLAG_REPLY);
	assert_int_equal(reply.hdr.size, 8);
	return reply.payload.u64;
}

static uint64_t get_u64(struct vhost_dev *dev, uint32_t req)
{
	struct vhost_user_msg m, reply;

	mb_init(&m, req, 0);
	assert_int_equal(send_msg(dev, &m, NULL, 0, &reply), 1);
	assert_int_equal(reply.hdr.size, 8);
	assert_int_equal(reply.hdr.flags, VHOST_USER_VERSION | VHOST_USER_FLAG_REPLY);
	return reply.payload.u64;
}

static uint64_t set_u64(struct vhost_dev *dev, uint32_t req, uint64_t v)
{
	struct vhost_user_msg m;

	mb_u64(&m, req, v);
	return ack(dev, &m, NULL, 0);
}

static uint64_t set_state(struct vhost_dev *dev, uint32_t req, uint32_t q, uint32_t num)
{
	struct vhost_user_msg m;

	mb_state(&m, req, q, num);
	return ack(dev, &m, NULL, 0);
}

static uint64_t set_file(struct vhost_dev *dev, uint32_t req, uint32_t q, int fd)
{
	struct vhost_user_msg m;

	mb_u64(&m, req, fd < 0 ? (q | NOFD) : q);
	return ack(dev, &m, &fd, fd < 0 ? 0 : 1);
}

static uint64_t set_mem(struct vhost_dev *dev, int fd)
{
	struct vhost_user_mem_region r = mb_region(GPA, MEM_SIZE, UVA, 0);
	struct vhost_user_msg m;

	mb_mem_table(&m, 1, &r);
	return ack(dev, &m, &fd, 1);
}

static uint64_t set_addr(struct vhost_dev *dev, uint32_t q)
{
	struct vhost_user_msg m;

	mb_addr(&m, q, DESC(q), AVAIL(q), USED(q));
	return ack(dev, &m, NULL, 0);
}

static const uint64_t acked_features = F(VIRTIO_F_VERSION_1) | F(VIRTIO_NET_F_MRG_RXBUF) |
				       F(VIRTIO_RING_F_EVENT_IDX) |
				       F(VHOST_USER_F_PROTOCOL_FEATURES);

/* The negotiation QEMU does on connect. */
static void negotiate(struct vhost_dev *dev, uint64_t features)
{
	struct vhost_user_msg m;
	struct vhost_user_msg reply;

	uint64_t offered = get_u64(dev, VHOST_USER_GET_FEATURES);
	assert_int_equal(features & ~offered, 0);
	mb_init(&m, VHOST_USER_SET_OWNER, 0);
	assert_int_equal(send_msg(dev, &m, NULL, 0, &reply), 0);
	uint64_t proto = get_u64(dev, VHOST_USER_GET_PROTOCOL_FEATURES);
	assert_int_equal(set_u64(dev, VHOST_USER_SET_PROTOCOL_FEATURES, proto), 0);
	assert_int_equal(get_u64(dev, VHOST_USER_GET_QUEUE_NUM), cur_pairs);
	assert_int_equal(get_u64(dev, VHOST_USER_GET_MAX_MEM_SLOTS), 509);
	assert_int_equal(set_u64(dev, VHOST_USER_SET_FEATURES, features), 0);
}

/* NUM, BASE, ADDR, KICK, CALL for queue q, as vhost_virtqueue_start sends them. */
static void ring_setup(struct vhost_dev *dev, uint32_t q)
{
	assert_int_equal(set_state(dev, VHOST_USER_SET_VRING_NUM, q, NUM), 0);
	assert_int_equal(set_state(dev, VHOST_USER_SET_VRING_BASE, q, 0), 0);
	assert_int_equal(set_addr(dev, q), 0);
	assert_int_equal(set_file(dev, VHOST_USER_SET_VRING_KICK, q, new_eventfd()), 0);
	assert_int_equal(set_file(dev, VHOST_USER_SET_VRING_CALL, q, new_eventfd()), 0);
}

static void expect_events(struct rec *rec, unsigned from, const char *spec)
{
	/* spec: "0+ 1+ 0-" = queue 0 ready, queue 1 ready, queue 0 stopped */
	unsigned i = from;
	for (const char *p = spec; *p; p++) {
		if (*p == ' ')
			continue;
		assert_true(i < rec->nev);
		assert_int_equal(rec->ev[i].q, (unsigned)(*p - '0'));
		p++;
		assert_int_equal(rec->ev[i].ready, *p == '+');
		i++;
	}
	assert_int_equal(rec->nev, i);
	assert_false(rec->bad_order);
}

static void test_qemu_sequence(void **state)
{
	(void)state;
	struct rec rec;
	struct vhost_dev *dev = new_dev(&rec, 2, 0);
	uint8_t *guest;

	assert_int_equal(vhost_dev_nr_queues(dev), 0);
	uint64_t offered = get_u64(dev, VHOST_USER_GET_FEATURES);
	assert_int_equal(rec.up, 1);
	assert_true(offered & F(VIRTIO_F_VERSION_1));
	assert_true(offered & F(VHOST_USER_F_PROTOCOL_FEATURES));
	assert_true(offered & F(VIRTIO_RING_F_INDIRECT_DESC));
	assert_true(offered & F(VIRTIO_NET_F_MQ));
	assert_false(offered & F(VIRTIO_NET_F_MTU)); /* cfg.mtu 0 */
	/* Checksum and segmentation offloads by default (and never UFO). */
	assert_int_equal(offered & VHOST_DEV_OFFLOAD_FEATURES, VHOST_DEV_OFFLOAD_FEATURES);
	assert_false(offered & (F(VIRTIO_NET_F_GUEST_UFO) | F(VIRTIO_NET_F_HOST_UFO)));
	assert_false(offered & F(VIRTIO_F_RING_PACKED));

	negotiate(dev, acked_features);
	assert_int_equal(vhost_dev_features(dev), acked_features);
	int memfd = new_memfd();
	guest = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	assert_true(guest != MAP_FAILED);
	assert_int_equal(set_mem(dev, memfd), 0);
	assert_true(fd_open(memfd)); /* kept by the device */

	ring_setup(dev, 0);
	ring_setup(dev, 1);
	assert_int_equal(rec.nev, 0); /* protocol features: disabled until SET_VRING_ENABLE */
	assert_int_equal(vhost_dev_nr_queues(dev), 2);
	assert_int_equal(set_state(dev, VHOST_USER_SET_VRING_ENABLE, 0, 1), 0);
	assert_int_equal(set_state(dev, VHOST_USER_SET_VRING_ENABLE, 1, 1), 0);
	expect_events(&rec, 0, "0+ 1+");

	/* The ring the datapath sees is the guest's memory, through our mapping. */
	struct vq *vq = vhost_dev_vq(dev, 1);
	memset(guest + RING_OFF(1), 0x5a, 16);
	assert_int_equal(((uint8_t *)vq->desc)[7], 0x5a);
	((uint8_t *)vq->used)[0] = 0x77;
	assert_int_equal(guest[RING_OFF(1) + 0x2000], 0x77);
	assert_int_equal(vq->size, NUM);
	assert_int_equal(vq->hdr_len, 12);
	assert_true(vq->event_idx);
	assert_true(vhost_dev_kick_fd(dev, 0) >= 0);
	assert_true(vhost_dev_call_fd(dev, 0) >= 0);

	/* A new call fd on a running queue: stop, swap, start. */
	unsigned n = rec.nev;
	assert_int_equal(set_file(dev, VHOST_USER_SET_VRING_CALL, 0, -1), 0);
	expect_events(&rec, n, "0- 0+");
	assert_int_equal(vhost_dev_call_fd(dev, 0), -1);

	/* A new memory table: both stop, rings re-translated, both restart. */
	n = rec.nev;
	void *old_desc = vhost_dev_vq(dev, 0)->desc;
	assert_int_equal(set_mem(dev, new_memfd()), 0);
	expect_events(&rec, n, "0- 1- 0+ 1+");
	assert_ptr_not_equal(vhost_dev_vq(dev, 0)->desc, old_desc);
	assert_false(fd_open(memfd)); /* the old table's fd is released */

	/* GET_VRING_BASE stops the ring and answers the next avail index. */
	vhost_dev_vq(dev, 0)->last_avail = 17;
	struct vhost_user_msg m, reply;
	mb_state(&m, VHOST_USER_GET_VRING_BASE, 0, 0);
	n = rec.nev;
	assert_int_equal(send_msg(dev, &m, NULL, 0, &reply), 1);
	assert_int_equal(reply.hdr.size, 8);
	assert_int_equal(reply.payload.state.index, 0);
	assert_int_equal(reply.payload.state.num, 17);
	expect_events(&rec, n, "0-");
	assert_false(vhost_dev_queue_ready(dev, 0));
	assert_int_equal(vhost_dev_kick_fd(dev, 0), -1);
	/* ...until kicked again; it resumes where it stopped. */
	assert_int_equal(set_file(dev, VHOST_USER_SET_VRING_KICK, 0, new_eventfd()), 0);
	expect_events(&rec, n, "0- 0+");
	assert_int_equal(vhost_dev_vq(dev, 0)->last_avail, 17);

	/* Features without VERSION_1/MRG_RXBUF: restart with a 10-byte header. */
	n = rec.nev;
	assert_int_equal(set_u64(dev, VHOST_USER_SET_FEATURES,
				 F(VIRTIO_RING_F_EVENT_IDX) | F(VHOST_USER_F_PROTOCOL_FEATURES)),
			 0);
	expect_events(&rec, n, "0- 1- 0+ 1+");
	assert_int_equal(vhost_dev_vq(dev, 0)->hdr_len, 10);
	assert_true(vhost_dev_vq(dev, 0)->event_idx);

	/* SET_VRING_ENABLE 0 stops. */
	n = rec.nev;
	assert_int_equal(set_state(dev, VHOST_USER_SET_VRING_ENABLE, 1, 0), 0);
	expect_events(&rec, n, "1-");

	n = rec.nev;
	vhost_dev_disconnect(dev);
	expect_events(&rec, n, "0-");
	assert_int_equal(rec.down, 1);
	assert_int_equal(vhost_dev_features(dev), 0);
	assert_int_equal(vhost_dev_nr_queues(dev), 0);
	vhost_dev_free(dev);
	assert_int_equal(rec.down, 1);
	munmap(guest, MEM_SIZE);
}

/* Without VHOST_USER_F_PROTOCOL_FEATURES a ring starts enabled; rings may precede the table. */
static void test_rings_before_mem_table(void **state)
{
	(void)state;
	struct rec rec;
	struct vhost_dev *dev = new_dev(&rec, 1, 1500);

	assert_true(get_u64(dev, VHOST_USER_GET_FEATURES) & F(VIRTIO_NET_F_MTU));
	assert_int_equal(set_u64(dev, VHOST_USER_SET_FEATURES, F(VIRTIO_F_VERSION_1)), 0);
	ring_setup(dev, 0);
	ring_setup(dev, 1);
	assert_int_equal(rec.nev, 0);
	assert_int_equal(set_mem(dev, new_memfd()), 0);
	expect_events(&rec, 0, "0+ 1+");
	assert_non_null(vhost_dev_vq(dev, 0)->desc);
	vhost_dev_free(dev);
	expect_events(&rec, 0, "0+ 1+ 0- 1-");
}

static void test_ring_addresses_outside_memory(void **state)
{
	(void)state;
	struct rec rec;
	struct vhost_dev *dev = new_dev(&rec, 1, 0);
	struct vhost_user_msg m;

	negotiate(dev, acked_features);
	assert_int_equal(set_mem(dev, new_memfd()), 0);
	assert_int_equal(set_state(dev, VHOST_USER_SET_VRING_NUM, 0, NUM), 0);
	/* Used ring straddles the end of the region. */
	mb_addr(&m, 0, DESC(0), AVAIL(0), UVA + MEM_SIZE - 8);
	assert_int_equal(ack(dev, &m, NULL, 0), EFAULT);
	mb_addr(&m, 0, 0x1000, AVAIL(0), USED(0)); /* a guest address, not a user one */
	assert_int_equal(ack(dev, &m, NULL, 0), EFAULT);
	assert_int_equal(set_file(dev, VHOST_USER_SET_VRING_KICK, 0, -1), 0);
	assert_int_equal(set_state(dev, VHOST_USER_SET_VRING_ENABLE, 0, 1), 0);
	assert_false(vhost_dev_queue_ready(dev, 0));
	/* Misaligned descriptor table: refused by vq_setup when the ring would start. */
	mb_addr(&m, 0, DESC(0) + 8, AVAIL(0), USED(0));
	assert_int_equal(ack(dev, &m, NULL, 0), EINVAL);
	assert_false(vhost_dev_queue_ready(dev, 0));
	/* Fixed addresses: the ring starts (kick NOFD: the front-end does not kick). */
	assert_int_equal(set_addr(dev, 0), 0);
	assert_true(vhost_dev_queue_ready(dev, 0));
	assert_int_equal(vhost_dev_kick_fd(dev, 0), -1);
	expect_events(&rec, 0, "0+");
	vhost_dev_free(dev);
}

static void test_mem_slots(void **state)
{
	(void)state;
	struct rec rec;
	struct vhost_dev *dev = new_dev(&rec, 1, 0);
	struct vhost_user_msg m;
	struct vhost_user_mem_region lo = mb_region(0, MEM_SIZE / 2, UVA, 0);
	struct vhost_user_mem_region hi =
	    mb_region(MEM_SIZE / 2, MEM_SIZE / 2, UVA + MEM_SIZE / 2, MEM_SIZE / 2);
	int fd;

	negotiate(dev, acked_features);
	fd = new_memfd();
	mb_single_region(&m, VHOST_USER_ADD_MEM_REG, lo);
	assert_int_equal(ack(dev, &m, &fd, 1), 0);
	assert_true(fd_open(fd));
	ring_setup(dev, 0);
	assert_int_equal(set_state(dev, VHOST_USER_SET_VRING_ENABLE, 0, 1), 0);
	expect_events(&rec, 0, "0+");
	/* Adding a region stops and restarts the queues around the table change. */
	int fd2 = new_memfd();
	mb_single_region(&m, VHOST_USER_ADD_MEM_REG, hi);
	assert_int_equal(ack(dev, &m, &fd2, 1), 0);
	expect_events(&rec, 0, "0+ 0- 0+");
	/* The same region again (QEMU with mq=on sends one per queue pair): a reference;
	 * its fd is closed unused and the queue runs again. */
	int fd3 = new_memfd();
	assert_int_equal(ack(dev, &m, &fd3, 1), 0);
	assert_false(fd_open(fd3));
	assert_true(vhost_dev_queue_ready(dev, 0));
	/* A different region overlapping it: error, the fd is closed, the queue runs again. */
	struct vhost_user_mem_region over = hi;
	over.userspace_addr += 0x100000;
	mb_single_region(&m, VHOST_USER_ADD_MEM_REG, over);
	fd3 = new_memfd();
	assert_int_equal(ack(dev, &m, &fd3, 1), EINVAL);
	assert_false(fd_open(fd3));
	assert_true(vhost_dev_queue_ready(dev, 0));
	/* Removing the region holding the rings leaves the queue stopped. */
	int stray = new_eventfd();
	mb_single_region(&m, VHOST_USER_REM_MEM_REG, lo);
	assert_int_equal(ack(dev, &m, &stray, 1), 0); /* tolerated fd, closed unused */
	assert_false(fd_open(stray));
	assert_false(fd_open(fd));
	assert_false(vhost_dev_queue_ready(dev, 0));
	assert_int_equal(ack(dev, &m, NULL, 0), ENOENT);
	/* Adding it back: re-translated and restarted. */
	fd = new_memfd();
	mb_single_region(&m, VHOST_USER_ADD_MEM_REG, lo);
	assert_int_equal(ack(dev, &m, &fd, 1), 0);
	assert_true(vhost_dev_queue_ready(dev, 0));
	vhost_dev_free(dev);
}

/* Wrong fd counts: every fd that came with a rejected message is closed. */
static void test_hostile_fds_closed(void **state)
{
	(void)state;
	struct rec rec;
	struct vhost_dev *dev = new_dev(&rec, 1, 0);
	struct vhost_user_msg m, reply;
	int fds[9];

	negotiate(dev, acked_features);
	/* SET_FEATURES with an fd: rejected (no reply owed), fd closed. */
	fds[0] = new_eventfd();
	mb_u64(&m, VHOST_USER_SET_FEATURES, acked_features);
	assert_int_equal(send_msg(dev, &m, fds, 1, &reply), 0);
	assert_false(fd_open(fds[0]));
	/* SET_MEM_TABLE, 2 regions, 1 fd. */
	struct vhost_user_mem_region regs[9];
	for (int i = 0; i < 9; i++)
		regs[i] =
		    mb_region((uint64_t)i * MEM_SIZE, MEM_SIZE, UVA + (uint64_t)i * MEM_SIZE, 0);
	fds[0] = new_memfd();
	mb_mem_table(&m, 2, regs);
	assert_int_equal(ack(dev, &m, fds, 1), EINVAL);
	assert_false(fd_open(fds[0]));
	/* Nine regions with eight fds. */
	for (int i = 0; i < 8; i++)
		fds[i] = new_memfd();
	mb_mem_table(&m, 8, regs);
	m.payload.mem.nregions = 9;
	assert_int_equal(ack(dev, &m, fds, 8), EINVAL);
	for (int i = 0; i < 8; i++)
		assert_false(fd_open(fds[i]));
	/* KICK with NOFD and an fd anyway; KICK with two fds. */
	fds[0] = new_eventfd();
	fds[1] = new_eventfd();
	mb_u64(&m, VHOST_USER_SET_VRING_KICK, 0 | NOFD);
	assert_int_equal(ack(dev, &m, fds, 1), EINVAL);
	mb_u64(&m, VHOST_USER_SET_VRING_KICK, 0);
	assert_int_equal(ack(dev, &m, fds, 2), EINVAL);
	assert_false(fd_open(fds[0]) || fd_open(fds[1]));
	/* Nine fds on anything. */
	for (int i = 0; i < 9; i++)
		fds[i] = new_eventfd();
	mb_init(&m, VHOST_USER_SET_OWNER, 0);
	assert_int_equal(ack(dev, &m, fds, 9), EINVAL);
	for (int i = 0; i < 9; i++)
		assert_false(fd_open(fds[i]));
	/* Unknown request with an fd: closed; reply only when asked. */
	fds[0] = new_eventfd();
	mb_init(&m, VHOST_USER_SET_LOG_FD, 0);
	assert_int_equal(send_msg(dev, &m, fds, 1, &reply), 0);
	assert_false(fd_open(fds[0]));
	mb_init(&m, 77, 0);
	assert_int_equal(ack(dev, &m, NULL, 0), EINVAL);
	assert_int_equal(rec.nev, 0);
	vhost_dev_free(dev);
}

static void test_hostile_memory_tables(void **state)
{
	(void)state;
	struct rec rec;
	struct vhost_dev *dev = new_dev(&rec, 1, 0);
	struct vhost_user_msg m;
	int fds[2];

	negotiate(dev, acked_features);
	assert_int_equal(set_mem(dev, new_memfd()), 0);
	ring_setup(dev, 0);
	assert_int_equal(set_state(dev, VHOST_USER_SET_VRING_ENABLE, 0, 1), 0);
	expect_events(&rec, 0, "0+");
	void *desc = vhost_dev_vq(dev, 0)->desc;

	/* Overlapping regions. */
	struct vhost_user_mem_region ov[2] = {
	    mb_region(0, MEM_SIZE, UVA, 0),
	    mb_region(MEM_SIZE / 2, MEM_SIZE, UVA + 2 * MEM_SIZE, 0)};
	fds[0] = new_memfd();
	fds[1] = new_memfd();
	mb_mem_table(&m, 2, ov);
	assert_int_equal(ack(dev, &m, fds, 2), EINVAL);
	assert_false(fd_open(fds[0]) || fd_open(fds[1]));
	/* Offset past the fd's size. */
	struct vhost_user_mem_region past = mb_region(0, MEM_SIZE, UVA, 4096);
	fds[0] = new_memfd();
	mb_mem_table(&m, 1, &past);
	assert_int_equal(ack(dev, &m, fds, 1), ERANGE);
	assert_false(fd_open(fds[0]));
	/* Not a mappable file. */
	fds[0] = new_eventfd();
	struct vhost_user_mem_region ok = mb_region(0, MEM_SIZE, UVA, 0);
	mb_mem_table(&m, 1, &ok);
	assert_int_equal(ack(dev, &m, fds, 1), ENODEV);
	assert_false(fd_open(fds[0]));
	/* Truncated table. */
	fds[0] = new_memfd();
	mb_mem_table(&m, 1, &ok);
	m.hdr.size = 30;
	assert_int_equal(ack(dev, &m, fds, 1), EINVAL);
	assert_false(fd_open(fds[0]));
	/* None of it disturbed the running queue or its table. */
	expect_events(&rec, 0, "0+");
	assert_ptr_equal(vhost_dev_vq(dev, 0)->desc, desc);
	vhost_dev_free(dev);
}

static void test_hostile_values(void **state)
{
	(void)state;
	struct rec rec;
	struct vhost_dev *dev = new_dev(&rec, 1, 1500);
	struct vhost_user_msg m, reply;

	/* Before protocol features: gated requests refused. */
	assert_int_equal(set_u64(dev, VHOST_USER_NET_SET_MTU, 1500), EINVAL);
	negotiate(dev, acked_features);
	assert_int_equal(set_state(dev, VHOST_USER_SET_VRING_NUM, 2, NUM), EINVAL);
	assert_int_equal(set_state(dev, VHOST_USER_SET_VRING_NUM, 0, 100), EINVAL);
	assert_int_equal(set_state(dev, VHOST_USER_SET_VRING_BASE, 0, 0x10000), EINVAL);
	assert_int_equal(set_file(dev, VHOST_USER_SET_VRING_CALL, 5, -1), EINVAL);
	mb_addr(&m, 0, DESC(0), AVAIL(0), USED(0));
	m.hdr.size = 24; /* truncated */
	assert_int_equal(ack(dev, &m, NULL, 0), EINVAL);
	assert_int_equal(set_u64(dev, VHOST_USER_SET_FEATURES, F(VIRTIO_NET_F_HOST_UFO)), EINVAL);
	assert_int_equal(set_u64(dev, VHOST_USER_SET_PROTOCOL_FEATURES, P(CONFIG)), EINVAL);
	assert_int_equal(set_u64(dev, VHOST_USER_NET_SET_MTU, 9000), EINVAL); /* above cfg */
	assert_int_equal(set_u64(dev, VHOST_USER_NET_SET_MTU, 1500), 0);
	assert_int_equal(set_u64(dev, VHOST_USER_SET_STATUS, 0xf), 0);
	assert_int_equal(get_u64(dev, VHOST_USER_GET_STATUS), 0xf);
	assert_int_equal(set_u64(dev, VHOST_USER_SEND_RARP, 0x665544332211ull), 0);
	/* Version 0 flags: refused, with the reply the request asked for. */
	mb_u64(&m, VHOST_USER_SET_FEATURES, acked_features);
	m.hdr.flags = VHOST_USER_FLAG_NEED_REPLY;
	assert_int_equal(send_msg(dev, &m, NULL, 0, &reply), 1);
	assert_int_equal(reply.payload.u64, EINVAL);
	/* A malformed GET: the reply comes, empty, so the front-end sees the error. */
	mb_state(&m, VHOST_USER_GET_VRING_BASE, 7, 0);
	assert_int_equal(send_msg(dev, &m, NULL, 0, &reply), 1);
	assert_int_equal(reply.hdr.size, 0);
	assert_int_equal(reply.hdr.request, VHOST_USER_GET_VRING_BASE);
	mb_init(&m, VHOST_USER_GET_FEATURES, 0);
	m.hdr.flags |= VHOST_USER_FLAG_REPLY;
	assert_int_equal(send_msg(dev, &m, NULL, 0, &reply), 1);
	assert_int_equal(reply.hdr.size, 0);
	/* A GET with NEED_REPLY gets one reply: its own body. */
	mb_init(&m, VHOST_USER_GET_QUEUE_NUM, 0);
	assert_int_equal(ack(dev, &m, NULL, 0), 1);
	/* Framing the socket layer never produces: connection beyond repair. */
	int fd = new_eventfd();
	mb_init(&m, VHOST_USER_SET_OWNER, VHOST_USER_PAYLOAD_MAX + 1);
	assert_true(send_msg(dev, &m, &fd, 1, &reply) < 0);
	assert_false(fd_open(fd));
	/* Backend request fd is kept, and replaced. */
	int b1 = new_eventfd(), b2 = new_eventfd();
	mb_init(&m, VHOST_USER_SET_BACKEND_REQ_FD, 0);
	assert_int_equal(ack(dev, &m, &b1, 1), 0);
	assert_int_equal(ack(dev, &m, &b2, 1), 0);
	assert_false(fd_open(b1));
	assert_true(fd_open(b2));
	/* RESET_OWNER disables rings but keeps the memory. */
	assert_int_equal(set_mem(dev, new_memfd()), 0);
	ring_setup(dev, 0);
	assert_int_equal(set_state(dev, VHOST_USER_SET_VRING_ENABLE, 0, 1), 0);
	mb_init(&m, VHOST_USER_RESET_OWNER, 0);
	assert_int_equal(ack(dev, &m, NULL, 0), 0);
	expect_events(&rec, 0, "0+ 0-");
	ring_setup(dev, 0);
	assert_int_equal(set_state(dev, VHOST_USER_SET_VRING_ENABLE, 0, 1), 0);
	expect_events(&rec, 0, "0+ 0- 0+");
	vhost_dev_free(dev);
	assert_false(fd_open(b2));
}

/* offloads=off: none of the offload features is offered, and acking one is refused. */
/* A memfd of 'size' bytes for a dirty log, and our mapping of it. */
static int new_log(size_t size, uint8_t **map)
{
	int fd = memfd_create("log", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	*map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(*map != MAP_FAILED);
	return fd;
}

/* SET_LOG_BASE as QEMU 7.2 sends it (no NEED_REPLY); returns the reply's size, -1 when none. */
static int set_log_base(struct vhost_dev *dev, int fd, uint64_t size, uint64_t offset)
{
	struct vhost_user_msg m, reply;

	mb_init(&m, VHOST_USER_SET_LOG_BASE, sizeof(struct vhost_user_log));
	m.payload.log.mmap_size = size;
	m.payload.log.mmap_offset = offset;
	if (send_msg(dev, &m, &fd, 1, &reply) != 1)
		return -1;
	/* "the back-end must reply with zero-sized payload": QEMU 7.2 blocks on it. */
	assert_int_equal(reply.hdr.request, VHOST_USER_SET_LOG_BASE);
	assert_int_equal(reply.hdr.flags, VHOST_USER_VERSION | VHOST_USER_FLAG_REPLY);
	return (int)reply.hdr.size;
}

static uint64_t set_addr_log(struct vhost_dev *dev, uint32_t q, uint64_t log_gpa)
{
	struct vhost_user_msg m;

	mb_addr(&m, q, DESC(q), AVAIL(q), USED(q));
	m.payload.addr.flags = 1u << VHOST_VRING_F_LOG;
	m.payload.addr.log_guest_addr = log_gpa;
	return ack(dev, &m, NULL, 0);
}

/*
 * QEMU 7.2's migration sequence on a running device: SET_LOG_BASE (once per
 * queue pair), SET_FEATURES with LOG_ALL, SET_VRING_ADDR with the log flag;
 * a second SET_LOG_BASE replaces the log; LOG_ALL off again at the end. The
 * queues' vq carries the log exactly while LOG_ALL is on, and the ring code
 * sets bits in the front-end's memfd.
 */
static void test_dirty_log_sequence(void **state)
{
	(void)state;
	struct rec rec;
	struct vhost_dev *dev = new_dev(&rec, 1, 0);
	uint8_t *bits1, *bits2;
	int log1 = new_log(4096, &bits1), log2 = new_log(4096, &bits2);

	assert_true(get_u64(dev, VHOST_USER_GET_FEATURES) & F(VHOST_F_LOG_ALL));
	negotiate(dev, acked_features);
	assert_true(get_u64(dev, VHOST_USER_GET_PROTOCOL_FEATURES) & P(LOG_SHMFD));
	assert_int_equal(set_mem(dev, new_memfd()), 0);
	for (uint32_t q = 0; q < 2; q++) {
		ring_setup(dev, q);
		assert_int_equal(set_state(dev, VHOST_USER_SET_VRING_ENABLE, q, 1), 0);
	}
	expect_events(&rec, 0, "0+ 1+");

	/* Repeats are idempotent: each replaces the log with the same one. */
	for (int i = 0; i < 2; i++)
		assert_int_equal(set_log_base(dev, dup(log1), 4096, 0), 0);
	assert_null(vhost_dev_vq(dev, 0)->log); /* LOG_ALL not acked yet */
	assert_int_equal(set_u64(dev, VHOST_USER_SET_FEATURES, acked_features | F(VHOST_F_LOG_ALL)),
			 0);
	assert_non_null(vhost_dev_vq(dev, 0)->log);
	assert_false(vhost_dev_vq(dev, 0)->log_used);
	assert_int_equal(set_addr_log(dev, 0, 0x7000), 0);
	struct vq *vq = vhost_dev_vq(dev, 0);
	assert_true(vq->log_used);
	assert_int_equal(vq->log_used_gpa, 0x7000);

	/* Bits land in the front-end's memfd: page 0x123 and the used ring's. */
	vq_log_gpa(vq, 0x123000 + 10, 1);
	assert_int_equal(bits1[0x123 / 8], 1u << (0x123 % 8));
	vq_log_used(vq, &vq->used->idx, 2);
	assert_int_equal(bits1[0], 1u << 7); /* 0x7000 + 2 is in page 7 */

	/* A new log: the old one gets nothing more once the reply is out. */
	assert_int_equal(set_log_base(dev, log2, 4096, 0), 0);
	memset(bits1, 0, 4096);
	vq = vhost_dev_vq(dev, 0);
	vq_log_gpa(vq, 0x3000, 0x2000); /* pages 3 and 4 */
	assert_int_equal(bits2[0], (1u << 3) | (1u << 4));
	for (int i = 0; i < 4096; i++)
		assert_int_equal(bits1[i], 0);
	/* A page past the log's end is counted, never written. */
	uint64_t lost = vq->stats.log_outside;
	vq_log_gpa(vq, 4096ull * 8 * 4096, 1);
	assert_int_equal(vq->stats.log_outside, lost + 1);

	/* Logging off: the queues run without a log. */
	assert_int_equal(set_u64(dev, VHOST_USER_SET_FEATURES, acked_features), 0);
	assert_null(vhost_dev_vq(dev, 0)->log);
	assert_true(vhost_dev_queue_ready(dev, 0) && vhost_dev_queue_ready(dev, 1));
	vhost_dev_free(dev);
	munmap(bits1, 4096);
	munmap(bits2, 4096);
}

/*
 * Hostile SET_LOG_BASE: past the fd's end (DPDK's CVE-2020-10722), size 0,
 * wrapping offset, too large, not a file, no fd. Each is refused with the
 * empty reply, its fd closed, and the running queues untouched.
 */
static void test_dirty_log_hostile(void **state)
{
	(void)state;
	struct rec rec;
	struct vhost_dev *dev = new_dev(&rec, 1, 0);
	struct vhost_user_msg m, reply;
	uint8_t *bits;
	int log = new_log(4096, &bits);
	struct {
		uint64_t size, offset;
		bool eventfd;
	} bad[] = {
	    {4097, 0, false},		{4096, 1, false},	{0, 0, false},
	    {4096, ~0ull - 100, false}, {1ull << 33, 0, false}, {4096, 0, true},
	};

	negotiate(dev, acked_features | F(VHOST_F_LOG_ALL));
	assert_int_equal(set_mem(dev, new_memfd()), 0);
	ring_setup(dev, 0);
	assert_int_equal(set_state(dev, VHOST_USER_SET_VRING_ENABLE, 0, 1), 0);
	expect_events(&rec, 0, "0+");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int fd = bad[i].eventfd ? new_eventfd() : dup(log);
		assert_int_equal(set_log_base(dev, fd, bad[i].size, bad[i].offset), 0);
		assert_false(fd_open(fd));
		assert_null(vhost_dev_vq(dev, 0)->log);
	}
	/* Without an fd: rejected by the validator, still answered. */
	mb_init(&m, VHOST_USER_SET_LOG_BASE, sizeof(struct vhost_user_log));
	m.payload.log.mmap_size = 4096;
	assert_int_equal(send_msg(dev, &m, NULL, 0, &reply), 1);
	assert_int_equal(reply.hdr.size, 0);
	expect_events(&rec, 0, "0+"); /* the queue never stopped */
	/* A log smaller than the memory table is taken (pages past it are counted). */
	assert_int_equal(set_log_base(dev, log, 8, 0), 0);
	assert_non_null(vhost_dev_vq(dev, 0)->log);
	vhost_dev_free(dev);
	munmap(bits, 4096);
}

/* SEND_RARP hands the guest's MAC (the payload's first six bytes) to the port. */
static void test_send_rarp(void **state)
{
	(void)state;
	struct rec rec;
	struct vhost_dev *dev = new_dev(&rec, 1, 0);
	const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
	uint64_t v = 0;

	negotiate(dev, acked_features);
	memcpy(&v, mac, 6);
	assert_int_equal(set_u64(dev, VHOST_USER_SEND_RARP, v), 0);
	assert_int_equal(rec.announces, 1);
	assert_memory_equal(rec.mac, mac, 6);
	vhost_dev_free(dev);
}

/* A broken queue signals the SET_VRING_ERR eventfd. */
static void test_vring_err_signalled(void **state)
{
	(void)state;
	struct rec rec;
	struct vhost_dev *dev = new_dev(&rec, 1, 0);
	int err = new_eventfd();
	eventfd_t n = 0;

	negotiate(dev, acked_features);
	assert_int_equal(set_file(dev, VHOST_USER_SET_VRING_ERR, 1, dup(err)), 0);
	vhost_dev_signal_err(dev, 0); /* queue 0 has no err fd: nothing */
	assert_int_equal(eventfd_read(err, &n), -1);
	vhost_dev_signal_err(dev, 1);
	assert_int_equal(eventfd_read(err, &n), 0);
	assert_int_equal(n, 1);
	close(err);
	vhost_dev_free(dev);
}

static void test_no_offloads(void **state)
{
	(void)state;
	struct rec rec;

	cfg_no_offloads = true;
	struct vhost_dev *dev = new_dev(&rec, 1, 0);
	cfg_no_offloads = false;
	uint64_t offered = get_u64(dev, VHOST_USER_GET_FEATURES);
	assert_int_equal(offered & VHOST_DEV_OFFLOAD_FEATURES, 0);
	assert_true(offered & F(VIRTIO_F_VERSION_1));
	assert_int_equal(set_u64(dev, VHOST_USER_SET_FEATURES, F(VIRTIO_NET_F_HOST_TSO4)), EINVAL);
	vhost_dev_free(dev);
}

static void test_new_refuses_bad_cfg(void **state)
{
	(void)state;
	struct vhost_dev_cfg cfg = {.name = "x", .max_queue_pairs = 0};

	assert_null(vhost_dev_new(&cfg, &ops, NULL));
	cfg.max_queue_pairs = VHOST_MAX_QUEUE_PAIRS + 1;
	assert_null(vhost_dev_new(&cfg, &ops, NULL));
	cfg.max_queue_pairs = VHOST_MAX_QUEUE_PAIRS;
	struct vhost_dev *dev = vhost_dev_new(&cfg, NULL, NULL); /* ops are optional */
	assert_non_null(dev);
	assert_string_equal(vhost_dev_name(dev), "x");
	assert_null(vhost_dev_vq(dev, VHOST_MAX_QUEUES));
	assert_int_equal(vhost_dev_call_fd(dev, 999), -1);
	assert_false(vhost_dev_queue_ready(dev, 999));
	vhost_dev_free(dev);
	vhost_dev_free(NULL);
}

/* One full session, with some hostile traffic mixed in. */
static void one_cycle(struct vhost_dev *dev)
{
	struct vhost_user_msg m;
	int fd;

	negotiate(dev, acked_features);
	assert_int_equal(set_mem(dev, new_memfd()), 0);
	ring_setup(dev, 0);
	ring_setup(dev, 1);
	assert_int_equal(set_state(dev, VHOST_USER_SET_VRING_ENABLE, 0, 1), 0);
	assert_int_equal(set_state(dev, VHOST_USER_SET_VRING_ENABLE, 1, 1), 0);
	assert_int_equal(set_file(dev, VHOST_USER_SET_VRING_ERR, 0, new_eventfd()), 0);
	fd = new_eventfd();
	mb_init(&m, VHOST_USER_SET_BACKEND_REQ_FD, 0);
	assert_int_equal(ack(dev, &m, &fd, 1), 0);
	fd = new_memfd();
	struct vhost_user_mem_region past = mb_region(0, MEM_SIZE, UVA, 8192);
	mb_mem_table(&m, 1, &past);
	assert_int_equal(ack(dev, &m, &fd, 1), ERANGE);
	assert_int_equal(set_mem(dev, new_memfd()), 0); /* replace the table while running */
	assert_true(vhost_dev_queue_ready(dev, 1));
}

static void test_no_leak_over_1000_cycles(void **state)
{
	(void)state;
	struct rec rec;
	struct vhost_dev *dev = new_dev(&rec, 2, 0);

	one_cycle(dev); /* warm up lazily allocated state (logs, allocator) */
	vhost_dev_disconnect(dev);
	unsigned fds = count_fds(), maps = count_maps();
	for (int i = 0; i < 1000; i++) {
		one_cycle(dev);
		vhost_dev_disconnect(dev);
	}
	assert_int_equal(count_fds(), fds);
	/* A leaked mapping per cycle would add 1,000 lines; allow allocator noise. */
	assert_true(count_maps() <= maps + 16);
	assert_int_equal(rec.up, 1001);
	assert_int_equal(rec.down, 1001);
	assert_false(rec.bad_order);
	vhost_dev_free(dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_qemu_sequence),
	    cmocka_unit_test(test_rings_before_mem_table),
	    cmocka_unit_test(test_ring_addresses_outside_memory),
	    cmocka_unit_test(test_mem_slots),
	    cmocka_unit_test(test_hostile_fds_closed),
	    cmocka_unit_test(test_hostile_memory_tables),
	    cmocka_unit_test(test_hostile_values),
	    cmocka_unit_test(test_dirty_log_sequence),
	    cmocka_unit_test(test_dirty_log_hostile),
	    cmocka_unit_test(test_send_rarp),
	    cmocka_unit_test(test_vring_err_signalled),
	    cmocka_unit_test(test_no_offloads),
	    cmocka_unit_test(test_new_refuses_bad_cfg),
	    cmocka_unit_test(test_no_leak_over_1000_cycles),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
