/*
 * hostile_rows.h - the table of hostile front-end rows shared by
 * tests/integration/test_hostile.c (against ringswitch-loopback) and
 * tests/switch/test_sw_hostile.c (against ringswitchd). Each row attacks one
 * port (the "hostile port") through HX.h: rings broken in every way the
 * chain walker must catch, malformed and out-of-range messages, wrong fd
 * counts, bad memory tables, silence; some rows also use HX.p, a
 * well-behaved front-end on a "peer port" that can reach the hostile port.
 * A row asserts what the virtio and vhost-user specs demand (the queue
 * reported broken with the right reason, an error reply, or the connection
 * dropped); the including suite's teardown checks the rest (target alive,
 * good traffic, fds and mappings back to the baseline).
 *
 * Included once, into the suite's .c file, after cmocka.h, fe.h and it.h.
 * The suite defines these, anywhere in the file:
 *
 *   static void hx_sock_path(bool peer, char *out, size_t cap);
 *       socket of the hostile port (peer false) or of the peer port;
 *   static void hx_good_traffic(void);
 *       fails the test unless the suite's well-behaved pair forwards now;
 *   static bool hx_alive(void);
 *       the target process is running;
 *   static struct hx_qstat hx_stat(int qid);
 *       counters of the hostile port's vhost queue 'qid' (2k: the guest's
 *       RX queue k, 2k+1: its TX queue k); zeros and broken "none" when the
 *       target reports nothing for it. Counters survive reconnects; the
 *       broken state lasts until the queue is set up again.
 *
 * Rows are listed by HX_ROWS(ROW): the suite defines ROW(t) as its
 * cmocka_unit_test_setup_teardown, resets HX.h and HX.p (fe_init) in its
 * setup and closes them in its teardown.
 */
#ifndef RS_TESTS_HOSTILE_ROWS_H
#define RS_TESTS_HOSTILE_ROWS_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define F(b)	   VIRTIO_BIT(b)
#define HX_QSIZE   32
#define HX_TX	   1 /* the hostile front-end's TX queue */
#define HX_RX	   0
#define NEED_REPLY (VHOST_USER_VERSION | VHOST_USER_FLAG_NEED_REPLY)

/* One vhost queue of the hostile port, as the target reports it. */
struct hx_qstat {
	int ready; /* the target polls it */
	uint64_t packets, bytes;
	uint64_t drop_too_many_iov; /* chains with more pieces than the target gathers */
	char broken[32];	    /* "none" or the reason */
};

/* The front-ends the rows drive. */
static struct {
	struct fe h; /* hostile, on the hostile port */
	struct fe p; /* well-behaved, on the peer port, when a row needs one */
} HX;

static void hx_sock_path(bool peer, char *out, size_t cap);
static void hx_good_traffic(void);
static bool hx_alive(void);
static struct hx_qstat hx_stat(int qid);

/* Opens HX.p, fully set up, on the peer port. */
static void hx_open_peer(const struct fe_cfg *cfg)
{
	char path[256];
	hx_sock_path(true, path, sizeof(path));
	if (fe_open(&HX.p, cfg, path) < 0)
		fail_msg("front-end on the peer port: %s", HX.p.err);
}

/* ---- hostile front-end helpers ---- */

static void hx_connect(const struct fe_cfg *cfg)
{
	char path[256];
	hx_sock_path(false, path, sizeof(path));
	fe_init(&HX.h, cfg);
	if (fe_connect(&HX.h, path) < 0)
		fail_msg("connect: %s", HX.h.err);
}

/* Connected, features and protocol features (REPLY_ACK) negotiated, no memory. */
static void hx_negotiated(void)
{
	struct fe_cfg c = {.queue_size = HX_QSIZE};
	hx_connect(&c);
	if (fe_negotiate(&HX.h) < 0)
		fail_msg("negotiate: %s", HX.h.err);
	assert_true(HX.h.protocol & F(VHOST_USER_PROTOCOL_F_REPLY_ACK));
}

/* Fully set up, queue size 32 (or 'qsize'), RX buffers left to the row. */
static struct fe_vq *hx_ready_cfg(struct fe_cfg *c)
{
	c->rx_manual = true;
	c->queue_size = c->queue_size ? c->queue_size : HX_QSIZE;
	hx_connect(c);
	if (fe_setup(&HX.h) < 0)
		fail_msg("setup: %s", HX.h.err);
	return &HX.h.vq[HX_TX];
}

static struct fe_vq *hx_ready(void)
{
	struct fe_cfg c = {.features_off = F(VIRTIO_RING_F_EVENT_IDX)};
	return hx_ready_cfg(&c);
}

/* A valid 12-byte header and 60-byte frame at the first data slot; returns its gpa. */
static uint64_t hx_frame(struct fe_vq *vq)
{
	uint8_t b[72] = {0};
	it_frame(b + 12, 60, 1);
	fe_mem_write(&HX.h.mem, vq->buf_gpa, b, sizeof(b));
	return vq->buf_gpa;
}

static void hx_push(struct fe_vq *vq, uint16_t head)
{
	fe_vq_publish(vq, head);
	fe_vq_kick(vq);
}

static struct virtq_desc *hx_itab(struct fe_vq *vq)
{
	return fe_mem_ptr(&HX.h.mem, vq->itab_gpa, 16ull * FE_MAX_SEGS * vq->num);
}

/*
 * The hostile queue 'qid' is reported broken for 'want' (or 'alt') within 2 s,
 * and the target is still alive.
 */
static void hx_expect_broken(int qid, const char *want, const char *alt)
{
	int64_t deadline = fe_now_ms() + 2000;
	struct hx_qstat q;
	do {
		q = hx_stat(qid);
		if (strcmp(q.broken, "none") != 0)
			break;
		usleep(10000);
	} while (fe_now_ms() < deadline);
	if (strcmp(q.broken, want) != 0 && !(alt && strcmp(q.broken, alt) == 0))
		fail_msg("hostile port qid %d: broken=%s, want %s%s%s", qid, q.broken, want,
			 alt ? " or " : "", alt ? alt : "");
	assert_true(hx_alive());
}

static struct hx_qstat HX_BEFORE; /* hx_stat before the row's action */

/* Hostile queue 'qid' once 'pred' (comparing with HX_BEFORE) holds, or fail after 2 s. */
static struct hx_qstat hx_wait_stat(int qid, bool (*pred)(const struct hx_qstat *))
{
	int64_t deadline = fe_now_ms() + 2000;
	struct hx_qstat q;
	do {
		q = hx_stat(qid);
		if (pred(&q))
			return q;
		usleep(20000);
	} while (fe_now_ms() < deadline);
	fail_msg("hostile port qid %d: packets +%lld too_many_iov +%lld broken %s", qid,
		 (long long)(q.packets - HX_BEFORE.packets),
		 (long long)(q.drop_too_many_iov - HX_BEFORE.drop_too_many_iov), q.broken);
	return q;
}

/* The request was refused: an error ack, or the connection dropped. Never accepted. */
static void hx_expect_reject(uint32_t request)
{
	int r = fe_wait_ack(&HX.h, request, 2000);
	if (getenv("RS_IT_VERBOSE"))
		print_message("  request %u: %s\n", request,
			      r == -EIO		 ? "error ack"
			      : r == -ECONNRESET ? "dropped"
						 : "?");
	if (r == -EIO || r == -ECONNRESET)
		return;
	if (r == 0)
		fail_msg("request %u accepted", request);
	fail_msg("request %u: neither refused nor dropped: %d: %s", request, r, HX.h.err);
}

static void hx_expect_closed(void)
{
	int r = fe_wait_closed(&HX.h, 2000);
	if (r < 0)
		fail_msg("connection not dropped: %d: %s", r, HX.h.err);
}

/* The connection still answers requests. */
static void hx_expect_alive_conn(void)
{
	uint64_t f;
	if (fe_get_u64(&HX.h, VHOST_USER_GET_FEATURES, &f) < 0)
		fail_msg("connection unusable after the row: %s", HX.h.err);
	assert_int_equal(f, HX.h.dev_features);
}

/* ---- ring rows: the hostile front-end's TX queue (qid 1) unless noted ---- */

static bool hx_one_packet(const struct hx_qstat *q)
{
	return q->packets == HX_BEFORE.packets + 1;
}

/* Control: a legal chain exactly as long as the queue is forwarded, not broken. */
static void test_ring_chain_equal_queue_size(void **state)
{
	(void)state;
	struct fe_vq *vq = hx_ready();
	uint64_t buf = hx_frame(vq);
	int head = fe_vq_alloc_chain(vq, HX_QSIZE);
	assert_int_equal(head, 0);
	uint16_t d = (uint16_t)head;
	for (unsigned i = 0; i < HX_QSIZE; i++) { /* header, then 31 pieces of 2 bytes */
		uint16_t next = fe_vq_next(vq, d);
		uint64_t at = i == 0 ? buf : buf + 12 + 2 * (i - 1);
		uint32_t len = i == 0 ? 12 : (i == HX_QSIZE - 1 ? 60 - 2 * (HX_QSIZE - 2) : 2);
		fe_vq_set_desc(&vq->desc[d], at, len, i + 1 < HX_QSIZE ? VIRTQ_DESC_F_NEXT : 0,
			       next);
		d = next;
	}
	HX_BEFORE = hx_stat(HX_TX);
	hx_push(vq, (uint16_t)head);
	struct hx_qstat q = hx_wait_stat(HX_TX, hx_one_packet);
	assert_int_equal(q.bytes - HX_BEFORE.bytes, 60);
	assert_string_equal(q.broken, "none");
	assert_int_equal(fe_vq_pending(vq), 1); /* the chain was completed */
}

static bool hx_too_many_iov(const struct hx_qstat *q)
{
	return q->drop_too_many_iov == HX_BEFORE.drop_too_many_iov + 1;
}

/* 65 pieces in a 128-entry queue: legal but beyond the tool's iov limit, dropped. */
static void test_ring_too_many_pieces(void **state)
{
	(void)state;
	struct fe_cfg c = {.queue_size = 128, .features_off = F(VIRTIO_RING_F_EVENT_IDX)};
	struct fe_vq *vq = hx_ready_cfg(&c);
	uint64_t buf = hx_frame(vq);
	int head = fe_vq_alloc_chain(vq, 65);
	uint16_t d = (uint16_t)head;
	for (unsigned i = 0; i < 65; i++) {
		uint16_t next = fe_vq_next(vq, d);
		fe_vq_set_desc(&vq->desc[d], buf + i, i == 0 ? 12 : 1,
			       i < 64 ? VIRTQ_DESC_F_NEXT : 0, next);
		d = next;
	}
	HX_BEFORE = hx_stat(HX_TX);
	hx_push(vq, (uint16_t)head);
	struct hx_qstat q = hx_wait_stat(HX_TX, hx_too_many_iov);
	assert_string_equal(q.broken, "none");
	assert_int_equal(q.packets, HX_BEFORE.packets);
	usleep(20000);
	assert_int_equal(fe_vq_pending(vq), 1); /* dropped means completed, not left in the ring */
}

static void test_ring_loop_direct(void **state)
{
	(void)state;
	struct fe_vq *vq = hx_ready();
	uint64_t buf = hx_frame(vq);
	fe_vq_set_desc(&vq->desc[0], buf, 40, VIRTQ_DESC_F_NEXT, 1);
	fe_vq_set_desc(&vq->desc[1], buf + 40, 32, VIRTQ_DESC_F_NEXT, 0);
	hx_push(vq, 0);
	hx_expect_broken(HX_TX, "desc_loop", NULL);
}

static void test_ring_loop_self(void **state)
{
	(void)state;
	struct fe_vq *vq = hx_ready();
	fe_vq_set_desc(&vq->desc[5], hx_frame(vq), 72, VIRTQ_DESC_F_NEXT, 5);
	hx_push(vq, 5);
	hx_expect_broken(HX_TX, "desc_loop", NULL);
}

static void test_ring_loop_indirect(void **state)
{
	(void)state;
	struct fe_vq *vq = hx_ready();
	uint64_t buf = hx_frame(vq);
	struct virtq_desc *t = hx_itab(vq);
	fe_vq_set_desc(&t[0], buf, 40, VIRTQ_DESC_F_NEXT, 1);
	fe_vq_set_desc(&t[1], buf + 40, 32, VIRTQ_DESC_F_NEXT, 0);
	fe_vq_set_desc(&vq->desc[0], vq->itab_gpa, 32, VIRTQ_DESC_F_INDIRECT, 0);
	hx_push(vq, 0);
	hx_expect_broken(HX_TX, "desc_loop", "indirect");
}

/* Every descriptor of the queue chained, the last pointing back to the first. */
static void test_ring_chain_longer_than_queue(void **state)
{
	(void)state;
	struct fe_vq *vq = hx_ready();
	uint64_t buf = hx_frame(vq);
	for (unsigned i = 0; i < HX_QSIZE; i++)
		fe_vq_set_desc(&vq->desc[i], buf + i, i == 0 ? 12 : 1, VIRTQ_DESC_F_NEXT,
			       (uint16_t)((i + 1) % HX_QSIZE));
	hx_push(vq, 0);
	hx_expect_broken(HX_TX, "desc_loop", NULL);
}

static bool hx_broken_or_done(const struct hx_qstat *q)
{
	return strcmp(q->broken, "none") != 0 || q->packets == HX_BEFORE.packets + 1;
}

/*
 * 2.7.5.3.1 (driver MUST NOT): an indirect table of 33 chained entries in a
 * 32-entry queue. The walker is bounded by the table, so the tool may either
 * refuse it (desc_loop or indirect) or forward it; it must do one of them.
 */
static void test_ring_indirect_longer_than_queue(void **state)
{
	(void)state;
	struct fe_vq *vq = hx_ready();
	uint64_t buf = hx_frame(vq);
	struct virtq_desc *t = hx_itab(vq);
	for (unsigned i = 0; i < HX_QSIZE + 1; i++)
		fe_vq_set_desc(&t[i], buf + (i == 0 ? 0 : 11 + i), i == 0 ? 12 : 1,
			       i < HX_QSIZE ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	fe_vq_set_desc(&vq->desc[0], vq->itab_gpa, 16 * (HX_QSIZE + 1), VIRTQ_DESC_F_INDIRECT, 0);
	HX_BEFORE = hx_stat(HX_TX);
	hx_push(vq, 0);
	struct hx_qstat q = hx_wait_stat(HX_TX, hx_broken_or_done);
	if (strcmp(q.broken, "none") != 0)
		assert_true(strcmp(q.broken, "desc_loop") == 0 ||
			    strcmp(q.broken, "indirect") == 0);
	else
		assert_int_equal(q.bytes - HX_BEFORE.bytes, 32);
}

static void test_ring_next_out_of_range(void **state)
{
	(void)state;
	struct fe_vq *vq = hx_ready();
	fe_vq_set_desc(&vq->desc[0], hx_frame(vq), 12, VIRTQ_DESC_F_NEXT, HX_QSIZE);
	hx_push(vq, 0);
	hx_expect_broken(HX_TX, "desc_next", NULL);
}

/* 'addr' is absolute, or below the end of guest memory when 'from_end'. */
static void hx_bad_addr(uint64_t addr, uint32_t len, bool from_end)
{
	struct fe_vq *vq = hx_ready();
	hx_frame(vq);
	if (from_end)
		addr = fe_mem_end(&HX.h.mem) - addr;
	fe_vq_set_desc(&vq->desc[0], addr, len, 0, 0);
	hx_push(vq, 0);
	hx_expect_broken(HX_TX, "desc_addr", NULL);
}

static void test_ring_addr_below_memory(void **state)
{
	(void)state;
	hx_bad_addr(0x1000, 72, false);
}

static void test_ring_addr_far_away(void **state)
{
	(void)state;
	hx_bad_addr(1ull << 40, 72, false);
}

static void test_ring_addr_wraps(void **state)
{
	(void)state;
	hx_bad_addr(UINT64_MAX - 8, 72, false);
}

static void test_ring_addr_straddles_end(void **state)
{
	(void)state;
	hx_bad_addr(10, 72, true);
}

/* Five pieces of 896 MiB inside 1 GiB of (sparse) guest memory: more than 4 GiB in all. */
static void test_ring_len_overflow(void **state)
{
	(void)state;
	struct fe_cfg c = {.mem_size = (1ull << 30) + (8ull << 20),
			   .features_off = F(VIRTIO_RING_F_EVENT_IDX)};
	struct fe_vq *vq = hx_ready_cfg(&c);
	hx_frame(vq);
	uint32_t piece = 896u << 20;
	for (uint16_t i = 0; i < 5; i++)
		fe_vq_set_desc(&vq->desc[i], FE_GPA_BASE, piece, i < 4 ? VIRTQ_DESC_F_NEXT : 0,
			       (uint16_t)(i + 1));
	hx_push(vq, 0);
	hx_expect_broken(HX_TX, "len_overflow", NULL);
}

static void test_ring_nested_indirect(void **state)
{
	(void)state;
	struct fe_vq *vq = hx_ready();
	uint64_t buf = hx_frame(vq);
	struct virtq_desc *t = hx_itab(vq);
	fe_vq_set_desc(&t[0], vq->itab_gpa + 256, 16, VIRTQ_DESC_F_INDIRECT, 0);
	fe_vq_set_desc(&t[16], buf, 72, 0, 0);
	fe_vq_set_desc(&vq->desc[0], vq->itab_gpa, 16, VIRTQ_DESC_F_INDIRECT, 0);
	hx_push(vq, 0);
	hx_expect_broken(HX_TX, "indirect", NULL);
}

static void test_ring_indirect_with_next(void **state)
{
	(void)state;
	struct fe_vq *vq = hx_ready();
	uint64_t buf = hx_frame(vq);
	struct virtq_desc *t = hx_itab(vq);
	fe_vq_set_desc(&t[0], buf, 72, 0, 0);
	fe_vq_set_desc(&vq->desc[0], vq->itab_gpa, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT,
		       1);
	fe_vq_set_desc(&vq->desc[1], buf, 72, 0, 0);
	hx_push(vq, 0);
	hx_expect_broken(HX_TX, "indirect", NULL);
}

static void test_ring_indirect_bad_len(void **state)
{
	(void)state;
	struct fe_vq *vq = hx_ready();
	struct virtq_desc *t = hx_itab(vq);
	fe_vq_set_desc(&t[0], hx_frame(vq), 72, 0, 0);
	fe_vq_set_desc(&vq->desc[0], vq->itab_gpa, 24, VIRTQ_DESC_F_INDIRECT, 0);
	hx_push(vq, 0);
	hx_expect_broken(HX_TX, "indirect", NULL);
}

static void test_ring_indirect_empty(void **state)
{
	(void)state;
	struct fe_vq *vq = hx_ready();
	fe_vq_set_desc(&vq->desc[0], vq->itab_gpa, 0, VIRTQ_DESC_F_INDIRECT, 0);
	hx_push(vq, 0);
	hx_expect_broken(HX_TX, "indirect", NULL);
}

static void test_ring_indirect_table_unmapped(void **state)
{
	(void)state;
	struct fe_vq *vq = hx_ready();
	fe_vq_set_desc(&vq->desc[0], 1ull << 40, 64, VIRTQ_DESC_F_INDIRECT, 0);
	hx_push(vq, 0);
	hx_expect_broken(HX_TX, "indirect", "desc_addr");
}

/* 2.7.4.2: device-writable then device-readable. */
static void test_ring_write_then_read(void **state)
{
	(void)state;
	struct fe_vq *vq = hx_ready();
	uint64_t buf = hx_frame(vq);
	fe_vq_set_desc(&vq->desc[0], buf, 12, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	fe_vq_set_desc(&vq->desc[1], buf + 12, 60, 0, 0);
	hx_push(vq, 0);
	hx_expect_broken(HX_TX, "desc_order", NULL);
}

static void test_ring_tx_writable(void **state)
{
	(void)state;
	struct fe_vq *vq = hx_ready();
	fe_vq_set_desc(&vq->desc[0], hx_frame(vq), 72, VIRTQ_DESC_F_WRITE, 0);
	hx_push(vq, 0);
	hx_expect_broken(HX_TX, "desc_dir", NULL);
}

/* 2.7.13.3: avail idx moved by more than the queue size. */
static void test_ring_avail_idx_jump(void **state)
{
	(void)state;
	struct fe_vq *vq = hx_ready();
	fe_vq_set_desc(&vq->desc[0], hx_frame(vq), 72, 0, 0);
	for (unsigned i = 0; i < HX_QSIZE; i++)
		vq->avail->ring[i] = 0;
	__atomic_store_n(&vq->avail->idx, HX_QSIZE + 1, __ATOMIC_RELEASE);
	fe_vq_kick(vq);
	hx_expect_broken(HX_TX, "avail_idx_jump", NULL);
}

static void hx_bad_head(uint16_t head)
{
	struct fe_vq *vq = hx_ready();
	fe_vq_set_desc(&vq->desc[0], hx_frame(vq), 72, 0, 0);
	hx_push(vq, head);
	hx_expect_broken(HX_TX, "head_range", NULL);
}

static void test_ring_head_out_of_range(void **state)
{
	(void)state;
	hx_bad_head(HX_QSIZE);
}

static void test_ring_head_ffff(void **state)
{
	(void)state;
	hx_bad_head(0xffff);
}

/* CVE-2022-2132: a chain shorter than the virtio-net header. */
static void test_ring_short_chain(void **state)
{
	(void)state;
	struct fe_vq *vq = hx_ready();
	fe_vq_set_desc(&vq->desc[0], hx_frame(vq), 4, 0, 0);
	hx_push(vq, 0);
	hx_expect_broken(HX_TX, "short_chain", NULL);
}

static void test_ring_short_chain_split(void **state)
{
	(void)state;
	struct fe_vq *vq = hx_ready();
	uint64_t buf = hx_frame(vq);
	fe_vq_set_desc(&vq->desc[0], buf, 5, VIRTQ_DESC_F_NEXT, 1);
	fe_vq_set_desc(&vq->desc[1], buf + 100, 6, 0, 0);
	hx_push(vq, 0);
	hx_expect_broken(HX_TX, "short_chain", NULL);
}

static void test_ring_empty_chain(void **state)
{
	(void)state;
	struct fe_vq *vq = hx_ready();
	fe_vq_set_desc(&vq->desc[0], hx_frame(vq), 0, 0, 0);
	hx_push(vq, 0);
	hx_expect_broken(HX_TX, "short_chain", NULL);
}

/* RX rows: a peer on port3 sends a frame the tool must put into port2's RX queue. */
static void hx_rx_case(void (*write_rx)(struct fe_vq *rx, uint64_t buf), const char *want,
		       const char *alt)
{
	struct fe_vq *tx = hx_ready();
	struct fe_vq *rx = &HX.h.vq[HX_RX];
	write_rx(rx, hx_frame(tx) + 4096);
	struct fe_cfg c = {0};
	hx_open_peer(&c);
	uint8_t f[100];
	it_frame(f, sizeof(f), 4242);
	assert_int_equal(fe_send(&HX.p, 0, f, sizeof(f)), 0);
	hx_expect_broken(HX_RX, want, alt);
}

static void hx_rx_readable(struct fe_vq *rx, uint64_t buf)
{
	fe_vq_set_desc(&rx->desc[0], buf, 2048, 0, 0);
	hx_push(rx, 0);
}

static void test_ring_rx_readable(void **state)
{
	(void)state;
	hx_rx_case(hx_rx_readable, "desc_dir", NULL);
}

static void hx_rx_loop(struct fe_vq *rx, uint64_t buf)
{
	fe_vq_set_desc(&rx->desc[0], buf, 64, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	fe_vq_set_desc(&rx->desc[1], buf + 64, 64, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 0);
	hx_push(rx, 0);
}

static void test_ring_rx_loop(void **state)
{
	(void)state;
	hx_rx_case(hx_rx_loop, "desc_loop", NULL);
}

static void hx_rx_bad_addr(struct fe_vq *rx, uint64_t buf)
{
	(void)buf;
	fe_vq_set_desc(&rx->desc[0], fe_mem_end(&HX.h.mem) - 100, 2048, VIRTQ_DESC_F_WRITE, 0);
	hx_push(rx, 0);
}

static void test_ring_rx_addr_straddles_end(void **state)
{
	(void)state;
	hx_rx_case(hx_rx_bad_addr, "desc_addr", NULL);
}

/* After GET_VRING_BASE the ring is stopped: new chains are not processed. */
static void test_ring_kick_after_stop(void **state)
{
	(void)state;
	struct fe_vq *vq = hx_ready();
	struct vhost_user_vring_state st = {.index = HX_TX};
	struct vhost_user_msg m;
	assert_int_equal(fe_msg_send(&HX.h, VHOST_USER_GET_VRING_BASE, VHOST_USER_VERSION, &st,
				     sizeof(st), NULL, 0),
			 0);
	assert_int_equal(fe_msg_recv(&HX.h, &m, 2000), 0);
	assert_int_equal(m.payload.state.num, 0);
	fe_vq_set_desc(&vq->desc[0], hx_frame(vq), 72, 0, 0);
	hx_push(vq, 0);
	usleep(200000);
	assert_int_equal(fe_vq_pending(vq), 0);
	assert_int_equal(vq->used->idx, 0);
}

/* New memory table while the rings live in the old one: no crash, no use of stale memory. */
static void test_ring_mem_table_replaced(void **state)
{
	(void)state;
	struct fe_vq *vq = hx_ready();
	struct fe_mem m2;
	assert_int_equal(fe_mem_create(&m2, 1 << 20, 1), 0);
	struct vhost_user_mem_table t;
	uint32_t size = fe_mem_table(&m2, &t);
	int r = fe_request(&HX.h, VHOST_USER_SET_MEM_TABLE, &t, size, &m2.fd, 1);
	fe_mem_destroy(&m2);
	if (r == 0) {
		fe_vq_set_desc(&vq->desc[0], hx_frame(vq), 72, 0, 0);
		hx_push(vq, 0);
		usleep(100000);
		assert_int_equal(vq->used->idx, 0);
	}
}

/* The hostile side vanishes with chains in flight. */
static void test_ring_disconnect_in_flight(void **state)
{
	(void)state;
	struct fe_cfg c = {.queue_size = 256};
	hx_connect(&c);
	assert_int_equal(fe_setup(&HX.h), 0);
	uint8_t f[1514];
	for (unsigned i = 0; i < 200; i++) {
		it_frame(f, 1514, i);
		if (fe_send(&HX.h, 0, f, 1514) < 0)
			fail_msg("send: %s", HX.h.err);
	}
	fe_close(&HX.h);
}

/* ---- message rows ---- */

/* vhost-user.rst REPLY_ACK: an unknown request with NEED_REPLY gets a failure ack. */
static void test_msg_unknown_request(void **state)
{
	(void)state;
	hx_negotiated();
	uint64_t v = 0;
	assert_int_equal(fe_msg_send(&HX.h, 99, NEED_REPLY, &v, sizeof(v), NULL, 0), 0);
	int r = fe_wait_ack(&HX.h, 99, 2000);
	if (r != -EIO)
		fail_msg("unknown request: want an error ack, got %d: %s", r, HX.h.err);
	hx_expect_alive_conn();
}

static void test_msg_unknown_request_max(void **state)
{
	(void)state;
	hx_negotiated();
	assert_int_equal(fe_msg_send(&HX.h, 0xffffffffu, NEED_REPLY, NULL, 0, NULL, 0), 0);
	int r = fe_wait_ack(&HX.h, 0xffffffffu, 2000);
	if (r != -EIO)
		fail_msg("unknown request: want an error ack, got %d: %s", r, HX.h.err);
	hx_expect_alive_conn();
}

/* SET_VRING_NUM whose size field (and payload) is 4 bytes instead of 8. */
static void test_msg_truncated_payload(void **state)
{
	(void)state;
	hx_negotiated();
	uint32_t idx = 0;
	assert_int_equal(fe_msg_send(&HX.h, VHOST_USER_SET_VRING_NUM, NEED_REPLY, &idx, 4, NULL, 0),
			 0);
	hx_expect_reject(VHOST_USER_SET_VRING_NUM);
}

static void test_msg_truncated_u64(void **state)
{
	(void)state;
	hx_negotiated();
	uint16_t f = 0;
	assert_int_equal(fe_msg_send(&HX.h, VHOST_USER_SET_FEATURES, NEED_REPLY, &f, 2, NULL, 0),
			 0);
	hx_expect_reject(VHOST_USER_SET_FEATURES);
}

/* Header promises 8 bytes, 4 arrive, then the front-end is gone. */
static void test_msg_partial_then_close(void **state)
{
	(void)state;
	hx_negotiated();
	struct vhost_user_hdr h = {VHOST_USER_SET_FEATURES, NEED_REPLY, 8};
	uint8_t b[sizeof(h) + 4] = {0};
	memcpy(b, &h, sizeof(h));
	assert_int_equal(fe_raw_send(&HX.h, b, sizeof(b), NULL, 0), 0);
	fe_close(&HX.h);
}

/* Half a message held open must not stall other ports' control or data. */
static void test_msg_partial_held_open(void **state)
{
	(void)state;
	hx_negotiated();
	struct vhost_user_hdr h = {VHOST_USER_SET_MEM_TABLE, NEED_REPLY, 8 + 32};
	assert_int_equal(fe_raw_send(&HX.h, &h, sizeof(h), NULL, 0), 0);
	struct fe_cfg c = {0};
	hx_open_peer(&c);
	hx_good_traffic();
	assert_true(hx_alive());
}

static void hx_size_field(uint32_t size, size_t send)
{
	hx_negotiated();
	static uint8_t b[8192];
	struct vhost_user_hdr h = {VHOST_USER_SET_FEATURES, NEED_REPLY, size};
	memset(b, 0, sizeof(b));
	memcpy(b, &h, sizeof(h));
	assert_int_equal(fe_raw_send(&HX.h, b, sizeof(h) + send, NULL, 0), 0);
}

static void test_msg_size_field_over_max(void **state)
{
	(void)state;
	hx_size_field(VHOST_USER_PAYLOAD_MAX + 1, VHOST_USER_PAYLOAD_MAX + 1);
	hx_expect_reject(VHOST_USER_SET_FEATURES);
}

static void test_msg_size_field_huge(void **state)
{
	(void)state;
	hx_size_field(0xffffffffu, 100);
	hx_expect_closed();
}

/* Version bits 0 (vhost-user.rst: the version is 0x1). */
static void test_msg_bad_version(void **state)
{
	(void)state;
	hx_negotiated();
	uint64_t f = HX.h.features;
	assert_int_equal(
	    fe_msg_send(&HX.h, VHOST_USER_SET_FEATURES, VHOST_USER_FLAG_NEED_REPLY, &f, 8, NULL, 0),
	    0);
	hx_expect_reject(VHOST_USER_SET_FEATURES);
}

/* ---- memory-table rows ---- */

struct hx_mt {
	struct fe_mem mem;
	struct vhost_user_mem_table t;
	uint32_t size;
	int fds[16];
};

static struct hx_mt MT;

/* A valid table over 'nregions' regions of fresh memory, fds filled in. */
static void hx_mt_build(unsigned nregions)
{
	hx_negotiated();
	if (MT.mem.nregions)
		fe_mem_destroy(&MT.mem);
	assert_int_equal(fe_mem_create(&MT.mem, nregions << 20, nregions), 0);
	MT.size = fe_mem_table(&MT.mem, &MT.t);
	for (unsigned i = 0; i < 16; i++)
		MT.fds[i] = MT.mem.fd;
}

static void hx_mt_send_reject(uint32_t size, unsigned nfds)
{
	assert_int_equal(
	    fe_msg_send(&HX.h, VHOST_USER_SET_MEM_TABLE, NEED_REPLY, &MT.t, size, MT.fds, nfds), 0);
	hx_expect_reject(VHOST_USER_SET_MEM_TABLE);
	fe_mem_destroy(&MT.mem);
}

/* Refused or accepted, either is allowed; the fds must not leak (checked at teardown). */
static void hx_mt_send_any(uint32_t size, unsigned nfds)
{
	assert_int_equal(
	    fe_msg_send(&HX.h, VHOST_USER_SET_MEM_TABLE, NEED_REPLY, &MT.t, size, MT.fds, nfds), 0);
	int r = fe_wait_ack(&HX.h, VHOST_USER_SET_MEM_TABLE, 2000);
	if (r != 0 && r != -EIO && r != -ECONNRESET)
		fail_msg("SET_MEM_TABLE: no answer: %d: %s", r, HX.h.err);
	fe_mem_destroy(&MT.mem);
}

static void test_mem_fewer_fds(void **state)
{
	(void)state;
	hx_mt_build(2);
	hx_mt_send_reject(MT.size, 1);
}

static void test_mem_no_fds(void **state)
{
	(void)state;
	hx_mt_build(1);
	hx_mt_send_reject(MT.size, 0);
}

static void test_mem_extra_fds(void **state)
{
	(void)state;
	hx_mt_build(1);
	hx_mt_send_any(MT.size, 3);
}

static void test_mem_too_many_fds(void **state)
{
	(void)state;
	hx_mt_build(1);
	hx_mt_send_any(MT.size, 12);
}

static void test_mem_zero_regions(void **state)
{
	(void)state;
	hx_mt_build(1);
	MT.t.nregions = 0;
	hx_mt_send_reject(8, 0);
}

static void test_mem_nine_regions(void **state)
{
	(void)state;
	hx_mt_build(1);
	static uint8_t b[8 + 9 * 32];
	struct vhost_user_mem_table *t = (void *)b;
	memset(b, 0, sizeof(b));
	t->nregions = 9;
	for (unsigned i = 0; i < 9; i++) {
		struct vhost_user_mem_region *r = (void *)(b + 8 + 32 * i);
		r->guest_phys_addr = FE_GPA_BASE + (i << 16);
		r->memory_size = 1 << 16;
		r->userspace_addr = (uint64_t)(uintptr_t)MT.mem.r[0].host + (i << 16);
		r->mmap_offset = i << 16;
	}
	assert_int_equal(
	    fe_msg_send(&HX.h, VHOST_USER_SET_MEM_TABLE, NEED_REPLY, b, sizeof(b), MT.fds, 9), 0);
	hx_expect_reject(VHOST_USER_SET_MEM_TABLE);
	fe_mem_destroy(&MT.mem);
}

/* nregions says 2, the payload carries one region. */
static void test_mem_size_mismatch(void **state)
{
	(void)state;
	hx_mt_build(2);
	hx_mt_send_reject(8 + 32, 2);
}

static void test_mem_overlap_gpa(void **state)
{
	(void)state;
	hx_mt_build(2);
	MT.t.regions[1].guest_phys_addr = MT.t.regions[0].guest_phys_addr + 4096;
	hx_mt_send_reject(MT.size, 2);
}

static void test_mem_overlap_uva(void **state)
{
	(void)state;
	hx_mt_build(2);
	MT.t.regions[1].userspace_addr = MT.t.regions[0].userspace_addr + 4096;
	hx_mt_send_reject(MT.size, 2);
}

static void test_mem_offset_past_fd(void **state)
{
	(void)state;
	hx_mt_build(1);
	MT.t.regions[0].mmap_offset = MT.mem.fd_size + 4096;
	hx_mt_send_reject(MT.size, 1);
}

static void test_mem_size_past_fd(void **state)
{
	(void)state;
	hx_mt_build(1);
	MT.t.regions[0].memory_size = MT.mem.fd_size * 4;
	hx_mt_send_reject(MT.size, 1);
}

static void test_mem_zero_size(void **state)
{
	(void)state;
	hx_mt_build(1);
	MT.t.regions[0].memory_size = 0;
	hx_mt_send_reject(MT.size, 1);
}

static void test_mem_gpa_wraps(void **state)
{
	(void)state;
	hx_mt_build(1);
	MT.t.regions[0].guest_phys_addr = UINT64_MAX - 4095;
	hx_mt_send_reject(MT.size, 1);
}

/* The fd is not memory at all: an eventfd. */
static void test_mem_fd_not_mappable(void **state)
{
	(void)state;
	hx_mt_build(1);
	int e = eventfd(0, EFD_CLOEXEC);
	MT.fds[0] = e;
	hx_mt_send_reject(MT.size, 1);
	close(e);
}

/* ---- vring message rows ---- */

static void hx_state_reject(uint32_t request, uint32_t index, uint32_t num)
{
	struct vhost_user_vring_state st = {.index = index, .num = num};
	assert_int_equal(fe_msg_send(&HX.h, request, NEED_REPLY, &st, sizeof(st), NULL, 0), 0);
	hx_expect_reject(request);
}

static void test_vring_num_index_range(void **state)
{
	(void)state;
	hx_negotiated();
	hx_state_reject(VHOST_USER_SET_VRING_NUM, 200, 256);
}

static void test_vring_base_index_range(void **state)
{
	(void)state;
	hx_negotiated();
	hx_state_reject(VHOST_USER_SET_VRING_BASE, 1000, 0);
}

static void test_vring_enable_index_range(void **state)
{
	(void)state;
	hx_negotiated();
	hx_state_reject(VHOST_USER_SET_VRING_ENABLE, 200, 1);
}

/* Queue 8 is past the 4 pairs the tool offers (GET_QUEUE_NUM). */
static void test_vring_num_first_unoffered_queue(void **state)
{
	(void)state;
	hx_negotiated();
	hx_state_reject(VHOST_USER_SET_VRING_NUM, (uint32_t)(2 * HX.h.dev_queue_num), 256);
}

static void test_vring_addr_index_range(void **state)
{
	(void)state;
	struct fe_vq *vq = hx_ready();
	struct vhost_user_vring_addr a = {.index = 200,
					  .desc_user_addr = (uintptr_t)vq->desc,
					  .used_user_addr = (uintptr_t)vq->used,
					  .avail_user_addr = (uintptr_t)vq->avail};
	assert_int_equal(
	    fe_msg_send(&HX.h, VHOST_USER_SET_VRING_ADDR, NEED_REPLY, &a, sizeof(a), NULL, 0), 0);
	hx_expect_reject(VHOST_USER_SET_VRING_ADDR);
}

static void hx_fd_msg(uint32_t request, uint64_t payload, unsigned nfds)
{
	int e = eventfd(0, EFD_CLOEXEC);
	int fds[2] = {e, e};
	assert_int_equal(fe_msg_send(&HX.h, request, NEED_REPLY, &payload, 8, fds, nfds), 0);
	close(e);
}

static void test_vring_kick_index_range(void **state)
{
	(void)state;
	hx_negotiated();
	hx_fd_msg(VHOST_USER_SET_VRING_KICK, 200, 1);
	hx_expect_reject(VHOST_USER_SET_VRING_KICK);
}

static void test_vring_kick_no_fd(void **state)
{
	(void)state;
	hx_negotiated();
	hx_fd_msg(VHOST_USER_SET_VRING_KICK, 1, 0);
	hx_expect_reject(VHOST_USER_SET_VRING_KICK);
}

static void test_vring_call_no_fd(void **state)
{
	(void)state;
	hx_negotiated();
	hx_fd_msg(VHOST_USER_SET_VRING_CALL, 1, 0);
	hx_expect_reject(VHOST_USER_SET_VRING_CALL);
}

static void test_vring_kick_two_fds(void **state)
{
	(void)state;
	hx_negotiated();
	hx_fd_msg(VHOST_USER_SET_VRING_KICK, 1, 2);
	hx_expect_reject(VHOST_USER_SET_VRING_KICK);
}

/* NOFD set and an fd attached anyway: whatever the answer, the fd must be closed. */
static void test_vring_kick_nofd_with_fd(void **state)
{
	(void)state;
	hx_negotiated();
	hx_fd_msg(VHOST_USER_SET_VRING_KICK, 1 | VHOST_USER_VRING_NOFD_MASK, 1);
	int r = fe_wait_ack(&HX.h, VHOST_USER_SET_VRING_KICK, 2000);
	assert_true(r == 0 || r == -EIO || r == -ECONNRESET);
}

/* fds on a request that takes none. */
static void test_msg_fds_on_get_features(void **state)
{
	(void)state;
	hx_negotiated();
	int e = eventfd(0, EFD_CLOEXEC);
	int fds[2] = {e, e};
	assert_int_equal(
	    fe_msg_send(&HX.h, VHOST_USER_GET_FEATURES, VHOST_USER_VERSION, NULL, 0, fds, 2), 0);
	close(e);
	struct vhost_user_msg m;
	int r = fe_msg_recv(&HX.h, &m, 2000);
	assert_true(r == 0 || r == -ECONNRESET);
}

static void test_vring_num_bad(void **state)
{
	(void)state;
	static const uint32_t bad[] = {0, 3, 100, 65536, 0xffffffffu};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fe_close(&HX.h);
		hx_negotiated();
		hx_state_reject(VHOST_USER_SET_VRING_NUM, 1, bad[i]);
	}
}

/* Ring addresses outside every region: refused, or the queue never becomes ready. */
static void hx_vring_addr_case(uint64_t desc_off)
{
	struct fe_cfg c = {.queue_size = HX_QSIZE, .rx_manual = true};
	hx_connect(&c);
	assert_int_equal(fe_negotiate(&HX.h), 0);
	assert_int_equal(fe_mem_create(&HX.h.mem, 1 << 20, 1), 0);
	struct vhost_user_mem_table t;
	uint32_t size = fe_mem_table(&HX.h.mem, &t);
	assert_int_equal(fe_request(&HX.h, VHOST_USER_SET_MEM_TABLE, &t, size, &HX.h.mem.fd, 1), 0);
	uint8_t *base = HX.h.mem.r[0].host;
	struct vhost_user_vring_state st = {.index = HX_TX, .num = HX_QSIZE};
	assert_int_equal(fe_request(&HX.h, VHOST_USER_SET_VRING_NUM, &st, sizeof(st), NULL, 0), 0);
	struct vhost_user_vring_addr a = {.index = HX_TX,
					  .desc_user_addr = (uintptr_t)base + desc_off,
					  .avail_user_addr = (uintptr_t)base + 8192,
					  .used_user_addr = (uintptr_t)base + 12288};
	assert_int_equal(
	    fe_msg_send(&HX.h, VHOST_USER_SET_VRING_ADDR, NEED_REPLY, &a, sizeof(a), NULL, 0), 0);
	int r = fe_wait_ack(&HX.h, VHOST_USER_SET_VRING_ADDR, 2000);
	if (r == -EIO || r == -ECONNRESET)
		return;
	assert_int_equal(r, 0);
	int kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	uint64_t idx = HX_TX;
	r = fe_request(&HX.h, VHOST_USER_SET_VRING_KICK, &idx, 8, &kick, 1);
	struct vhost_user_vring_state en = {.index = HX_TX, .num = 1};
	if (r == 0)
		r = fe_request(&HX.h, VHOST_USER_SET_VRING_ENABLE, &en, sizeof(en), NULL, 0);
	uint64_t one = 1;
	assert_int_equal(write(kick, &one, 8), 8);
	close(kick);
	usleep(100000);
	if (hx_stat(HX_TX).ready)
		fail_msg("queue with ring addresses outside memory became ready");
}

static void test_vring_addr_unmapped(void **state)
{
	(void)state;
	hx_vring_addr_case(64ull << 20);
}

static void test_vring_addr_straddles_region_end(void **state)
{
	(void)state;
	hx_vring_addr_case((1 << 20) - 64); /* 32 descriptors = 512 bytes, 64 fit */
}

static void test_vring_addr_misaligned(void **state)
{
	(void)state;
	hx_vring_addr_case(4096 + 1);
}

/* Rings configured before any memory table: refused, or never ready. */
static void test_vring_before_mem_table(void **state)
{
	(void)state;
	hx_negotiated();
	static uint8_t fake[65536] __attribute__((aligned(4096)));
	struct vhost_user_vring_state st = {.index = HX_TX, .num = HX_QSIZE};
	int r = fe_request(&HX.h, VHOST_USER_SET_VRING_NUM, &st, sizeof(st), NULL, 0);
	st.num = 0;
	if (r == 0)
		r = fe_request(&HX.h, VHOST_USER_SET_VRING_BASE, &st, sizeof(st), NULL, 0);
	struct vhost_user_vring_addr a = {.index = HX_TX,
					  .desc_user_addr = (uintptr_t)fake,
					  .avail_user_addr = (uintptr_t)fake + 8192,
					  .used_user_addr = (uintptr_t)fake + 16384};
	if (r == 0)
		r = fe_request(&HX.h, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0);
	int kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	uint64_t idx = HX_TX;
	if (r == 0)
		r = fe_request(&HX.h, VHOST_USER_SET_VRING_KICK, &idx, 8, &kick, 1);
	st.num = 1;
	if (r == 0)
		r = fe_request(&HX.h, VHOST_USER_SET_VRING_ENABLE, &st, sizeof(st), NULL, 0);
	uint64_t one = 1;
	assert_int_equal(write(kick, &one, 8), 8);
	close(kick);
	if (r != 0 && r != -EIO && r != -ECONNRESET)
		fail_msg("no answer: %d: %s", r, HX.h.err);
	usleep(100000);
	if (hx_stat(HX_TX).ready)
		fail_msg("queue became ready without a memory table");
}

/* Connects and says nothing; other ports keep working meanwhile. */
static void test_conn_silent(void **state)
{
	(void)state;
	struct fe_cfg c = {0};
	hx_connect(&c);
	struct fe_cfg pc = {0};
	hx_open_peer(&pc);
	hx_good_traffic();
	usleep(200000);
	assert_true(hx_alive());
}

/* Many requests without reading a single reply. */
static void test_conn_never_reads(void **state)
{
	(void)state;
	hx_negotiated();
	for (unsigned i = 0; i < 20000; i++) {
		struct vhost_user_hdr h = {VHOST_USER_GET_FEATURES, VHOST_USER_VERSION, 0};
		if (fe_raw_send(&HX.h, &h, sizeof(h), NULL, 0) < 0)
			break; /* the tool may give up on us: fine */
		if (i % 1000 == 0)
			hx_good_traffic();
	}
	struct fe_cfg c = {0};
	hx_open_peer(&c); /* the control plane is not stuck writing to us */
}

#include "hostile_log_rows.h"

/* Every row, in order. */
#define HX_ROWS(ROW)                                                                               \
	ROW(test_ring_chain_equal_queue_size), ROW(test_ring_too_many_pieces),                     \
	    ROW(test_ring_loop_direct), ROW(test_ring_loop_self), ROW(test_ring_loop_indirect),    \
	    ROW(test_ring_chain_longer_than_queue), ROW(test_ring_indirect_longer_than_queue),     \
	    ROW(test_ring_next_out_of_range), ROW(test_ring_addr_below_memory),                    \
	    ROW(test_ring_addr_far_away), ROW(test_ring_addr_wraps),                               \
	    ROW(test_ring_addr_straddles_end), ROW(test_ring_len_overflow),                        \
	    ROW(test_ring_nested_indirect), ROW(test_ring_indirect_with_next),                     \
	    ROW(test_ring_indirect_bad_len), ROW(test_ring_indirect_empty),                        \
	    ROW(test_ring_indirect_table_unmapped), ROW(test_ring_write_then_read),                \
	    ROW(test_ring_tx_writable), ROW(test_ring_avail_idx_jump),                             \
	    ROW(test_ring_head_out_of_range), ROW(test_ring_head_ffff),                            \
	    ROW(test_ring_short_chain), ROW(test_ring_short_chain_split),                          \
	    ROW(test_ring_empty_chain), ROW(test_ring_rx_readable), ROW(test_ring_rx_loop),        \
	    ROW(test_ring_rx_addr_straddles_end), ROW(test_ring_kick_after_stop),                  \
	    ROW(test_ring_mem_table_replaced), ROW(test_ring_disconnect_in_flight),                \
	    ROW(test_msg_unknown_request), ROW(test_msg_unknown_request_max),                      \
	    ROW(test_msg_truncated_payload), ROW(test_msg_truncated_u64),                          \
	    ROW(test_msg_partial_then_close), ROW(test_msg_partial_held_open),                     \
	    ROW(test_msg_size_field_over_max), ROW(test_msg_size_field_huge),                      \
	    ROW(test_msg_bad_version), ROW(test_msg_fds_on_get_features), ROW(test_mem_fewer_fds), \
	    ROW(test_mem_no_fds), ROW(test_mem_extra_fds), ROW(test_mem_too_many_fds),             \
	    ROW(test_mem_zero_regions), ROW(test_mem_nine_regions), ROW(test_mem_size_mismatch),   \
	    ROW(test_mem_overlap_gpa), ROW(test_mem_overlap_uva), ROW(test_mem_offset_past_fd),    \
	    ROW(test_mem_size_past_fd), ROW(test_mem_zero_size), ROW(test_mem_gpa_wraps),          \
	    ROW(test_mem_fd_not_mappable), ROW(test_vring_num_index_range),                        \
	    ROW(test_vring_base_index_range), ROW(test_vring_enable_index_range),                  \
	    ROW(test_vring_num_first_unoffered_queue), ROW(test_vring_addr_index_range),           \
	    ROW(test_vring_kick_index_range), ROW(test_vring_kick_no_fd),                          \
	    ROW(test_vring_call_no_fd), ROW(test_vring_kick_two_fds),                              \
	    ROW(test_vring_kick_nofd_with_fd), ROW(test_vring_num_bad),                            \
	    ROW(test_vring_addr_unmapped), ROW(test_vring_addr_straddles_region_end),              \
	    ROW(test_vring_addr_misaligned), ROW(test_vring_before_mem_table),                     \
	    ROW(test_conn_silent), ROW(test_conn_never_reads), HX_LOG_ROWS(ROW)

#endif
