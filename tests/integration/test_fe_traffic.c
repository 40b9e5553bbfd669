/*
 * test_fe_traffic.c - end-to-end traffic through ringswitch-loopback in pair
 * mode between two of the project's front-ends: frames of many sizes both
 * ways, byte for byte and in order, under every ring layout the front-end
 * can produce (mergeable RX or not, event index or not, indirect tables,
 * chains split over several descriptors, buffers crossing memory regions,
 * legacy 10-byte header, multiqueue, jumbo frames, queue sizes 1 to 32768,
 * index wrap-around, back-end in client mode). The tool's SIGUSR1 counters
 * must match what was sent and received. Needs $RS_LOOPBACK (skips without).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fe.h"
#include "it.h"
#include "lb.h"

#define F(b) VIRTIO_BIT(b)

struct tt {
	struct lb lb;
	struct fe a, b;
	struct it_count sent_a[FE_MAX_PAIRS], sent_b[FE_MAX_PAIRS];
	uint32_t seq;
};

static struct tt T;

static void tt_start(const char *const *args)
{
	if (!lb_binary())
		skip();
	struct fe_cfg none = {0};
	memset(&T, 0, sizeof(T));
	fe_init(&T.a, &none);
	fe_init(&T.b, &none);
	int err = lb_start(&T.lb, args, false);
	if (err < 0)
		fail_msg("loopback did not start: %d (log %s)", err, T.lb.log);
}

static void tt_open(struct fe *fe, int port, const struct fe_cfg *cfg)
{
	char path[256];
	lb_sock_path(&T.lb, port, path, sizeof(path));
	int err = fe_open(fe, cfg, path);
	if (err < 0)
		fail_msg("front-end on port %d: %d: %s", port, err, fe->err);
}

static void tt_xfer_ok(int r)
{
	if (r < 0)
		fail_msg("%s", it_err);
}

/* Both directions, 'n' mixed-size frames each way on every pair. */
static void tt_both_ways(unsigned n)
{
	for (unsigned p = 0; p < T.a.cfg.queue_pairs; p++) {
		tt_xfer_ok(it_xfer_mixed(&T.a, p, &T.b, p, n, &T.seq, &T.sent_a[p]));
		tt_xfer_ok(it_xfer_mixed(&T.b, p, &T.a, p, n, &T.seq, &T.sent_b[p]));
	}
}

static void tt_check_q(const struct lb_stats *s, int port, int qid, const struct it_count *c)
{
	const struct lb_qstat *q = lb_find(s, port, qid);
	if (!q)
		fail_msg("no stats line for port %d qid %d", port, qid);
	if (q->packets != c->packets || q->bytes != c->bytes)
		fail_msg(
		    "port %d qid %d: tool counted %llu packets %llu bytes, front-ends %llu %llu",
		    port, qid, (unsigned long long)q->packets, (unsigned long long)q->bytes,
		    (unsigned long long)c->packets, (unsigned long long)c->bytes);
	assert_int_equal(q->ready, 1);
	assert_string_equal(q->broken, "none");
	assert_int_equal(q->drop_ring_full + q->drop_too_big + q->drop_too_many_iov, 0);
}

/* Every frame the front-ends sent was counted once on TX and once on the peer's RX. */
static void tt_check_stats(void)
{
	struct lb_stats s;
	assert_int_equal(lb_stats(&T.lb, &s), 0);
	for (unsigned p = 0; p < T.a.cfg.queue_pairs; p++) {
		tt_check_q(&s, 0, 2 * p + 1, &T.sent_a[p]);
		tt_check_q(&s, 1, 2 * p, &T.sent_a[p]);
		tt_check_q(&s, 1, 2 * p + 1, &T.sent_b[p]);
		tt_check_q(&s, 0, 2 * p, &T.sent_b[p]);
	}
}

/* Stops the rings: every TX chain was consumed, so GET_VRING_BASE is our avail idx. */
static void tt_stop_fe(struct fe *fe)
{
	if (fe->sock < 0)
		return;
	for (unsigned p = 0; p < fe->cfg.queue_pairs; p++)
		assert_int_equal(fe_tx_reclaim(fe, p), 0);
	if (fe_stop(fe) < 0)
		fail_msg("GET_VRING_BASE: %s", fe->err);
	for (unsigned p = 0; p < fe->cfg.queue_pairs; p++)
		assert_int_equal(fe->vq[2 * p + 1].stop_base, fe->vq[2 * p + 1].avail_idx);
	for (unsigned q = 0; q < fe->nqueues; q++) {
		const struct fe_vq_stats *st = &fe->vq[q].st;
		if (getenv("RS_IT_VERBOSE"))
			print_message(
			    "  q%u: kicks %llu suppressed %llu calls %llu missed %llu\n", q,
			    (unsigned long long)st->kicks, (unsigned long long)st->kicks_suppressed,
			    (unsigned long long)st->calls, (unsigned long long)st->missed_calls);
		assert_int_equal(st->missed_calls, 0);
	}
	assert_int_equal(fe->dev_errors, 0);
	fe_close(fe);
}

static void tt_finish(void)
{
	tt_stop_fe(&T.a);
	tt_stop_fe(&T.b);
	assert_int_equal(lb_stop(&T.lb), 0);
}

/* Same configuration on both ends, mixed traffic, counters. */
static void tt_run_same(const char *const *args, const struct fe_cfg *cfg, unsigned n)
{
	tt_start(args);
	tt_open(&T.a, 0, cfg);
	tt_open(&T.b, 1, cfg);
	tt_both_ways(n);
	tt_check_stats();
	tt_finish();
}

static void test_default(void **state)
{
	(void)state;
	struct fe_cfg c = {.features_need = F(VIRTIO_F_VERSION_1) | F(VIRTIO_NET_F_MRG_RXBUF) |
					    F(VIRTIO_RING_F_EVENT_IDX) |
					    F(VHOST_USER_F_PROTOCOL_FEATURES)};
	tt_start(NULL);
	tt_open(&T.a, 0, &c);
	tt_open(&T.b, 1, &c);
	assert_true(T.a.protocol & F(VHOST_USER_PROTOCOL_F_REPLY_ACK));
	assert_true(T.a.features & F(VIRTIO_NET_F_MRG_RXBUF));
	assert_int_equal(T.a.hdr_len, 12);
	tt_both_ways(200);
	tt_check_stats();
	tt_finish();
}

static void test_no_mrg_split_chains(void **state)
{
	(void)state;
	struct fe_cfg c = {.features_off = F(VIRTIO_NET_F_MRG_RXBUF), .tx_segs = 4, .rx_segs = 3};
	tt_run_same(NULL, &c, 150);
}

static void test_no_event_idx(void **state)
{
	(void)state;
	struct fe_cfg c = {.features_off = F(VIRTIO_RING_F_EVENT_IDX)};
	tt_run_same(NULL, &c, 150);
}

static void test_no_event_idx_no_mrg(void **state)
{
	(void)state;
	struct fe_cfg c = {.features_off = F(VIRTIO_RING_F_EVENT_IDX) | F(VIRTIO_NET_F_MRG_RXBUF),
			   .tx_segs = 2};
	tt_run_same(NULL, &c, 100);
}

static void test_indirect(void **state)
{
	(void)state;
	struct fe_cfg c = {.features_need = F(VIRTIO_RING_F_INDIRECT_DESC),
			   .tx_indirect = true,
			   .rx_indirect = true,
			   .tx_segs = 5,
			   .rx_segs = 2,
			   .features_off = F(VIRTIO_NET_F_MRG_RXBUF)};
	tt_run_same(NULL, &c, 150);
}

static void test_indirect_mrg(void **state)
{
	(void)state;
	struct fe_cfg c = {.features_need = F(VIRTIO_RING_F_INDIRECT_DESC),
			   .tx_indirect = true,
			   .rx_indirect = true,
			   .tx_segs = 16,
			   .rx_segs = 4,
			   .rx_buf_size = 512};
	tt_run_same(NULL, &c, 150);
}

/* Mergeable RX in 256-byte buffers; 4 regions; buffers and pieces straddle region ends. */
static void test_mrg_small_bufs_regions(void **state)
{
	(void)state;
	struct fe_cfg c = {.features_need = F(VIRTIO_NET_F_MRG_RXBUF),
			   .rx_buf_size = 256,
			   .tx_segs = 3,
			   .nregions = 4,
			   .straddle = true};
	tt_start(NULL);
	tt_open(&T.a, 0, &c);
	tt_open(&T.b, 1, &c);
	tt_both_ways(200);
	/* Pieces that cross a region boundary were really handed to the tool, both ways. */
	assert_true(T.a.straddled > 0 && T.b.straddled > 0);
	tt_check_stats();
	tt_finish();
}

/* Neither VERSION_1 nor MRG_RXBUF: the 10-byte legacy header. */
static void test_legacy_header(void **state)
{
	(void)state;
	struct fe_cfg c = {.features_off = F(VIRTIO_F_VERSION_1) | F(VIRTIO_NET_F_MRG_RXBUF),
			   .tx_segs = 2};
	tt_start(NULL);
	tt_open(&T.a, 0, &c);
	tt_open(&T.b, 1, &c);
	assert_int_equal(T.a.hdr_len, 10);
	tt_both_ways(100);
	tt_check_stats();
	tt_finish();
}

/* One end mergeable, the other not: the tool fills each as negotiated. */
static void test_mixed_peers(void **state)
{
	(void)state;
	struct fe_cfg ca = {.rx_buf_size = 300};
	struct fe_cfg cb = {.features_off = F(VIRTIO_NET_F_MRG_RXBUF) | F(VIRTIO_RING_F_EVENT_IDX),
			    .tx_indirect = true,
			    .tx_segs = 3};
	tt_start(NULL);
	tt_open(&T.a, 0, &ca);
	tt_open(&T.b, 1, &cb);
	tt_both_ways(150);
	tt_check_stats();
	tt_finish();
}

static void tt_multiqueue(uint16_t pairs)
{
	const char *args[] = {"--queues", "4", NULL};
	struct fe_cfg c = {.queue_pairs = pairs, .features_need = F(VIRTIO_NET_F_MQ)};
	tt_start(args);
	tt_open(&T.a, 0, &c);
	tt_open(&T.b, 1, &c);
	assert_true(T.a.dev_queue_num >= pairs);
	tt_both_ways(60);
	/* Interleaved: one frame per pair in turn, each must land on its own pair. */
	for (unsigned r = 0; r < 10; r++)
		for (unsigned p = 0; p < pairs; p++)
			tt_xfer_ok(it_xfer_mixed(&T.a, p, &T.b, p, 1, &T.seq, &T.sent_a[p]));
	tt_check_stats();
	tt_finish();
}

static void test_multiqueue_2(void **state)
{
	(void)state;
	tt_multiqueue(2);
}

static void test_multiqueue_4(void **state)
{
	(void)state;
	tt_multiqueue(4);
}

static void tt_jumbo(const struct fe_cfg *c)
{
	static const size_t sizes[] = {60, 1514, 1515, 4096, 8000, 8999, 9000, 9014, 60, 9014};
	const char *args[] = {"--mtu", "9000", NULL};
	tt_start(args);
	tt_open(&T.a, 0, c);
	tt_open(&T.b, 1, c);
	for (int r = 0; r < 5; r++) {
		tt_xfer_ok(it_xfer(&T.a, 0, &T.b, 0, sizes, 10, 4, &T.seq, &T.sent_a[0]));
		tt_xfer_ok(it_xfer(&T.b, 0, &T.a, 0, sizes, 10, 4, &T.seq, &T.sent_b[0]));
	}
	if (c->straddle)
		assert_true(T.a.straddled > 0 && T.b.straddled > 0);
	tt_check_stats();
	tt_finish();
}

static void test_jumbo_mrg(void **state)
{
	(void)state;
	struct fe_cfg c = {
	    .max_frame = 9014, .rx_buf_size = 2048, .features_need = F(VIRTIO_NET_F_MRG_RXBUF)};
	tt_jumbo(&c);
}

static void test_jumbo_no_mrg(void **state)
{
	(void)state;
	struct fe_cfg c = {.max_frame = 9014,
			   .features_off = F(VIRTIO_NET_F_MRG_RXBUF),
			   .tx_segs = 3,
			   .rx_segs = 4,
			   .nregions = 3,
			   .straddle = true};
	tt_jumbo(&c);
}

/* Non-mergeable 1000-byte RX buffers: a larger frame is dropped and counted, never truncated. */
static void test_too_big_dropped(void **state)
{
	(void)state;
	struct fe_cfg ca = {0};
	struct fe_cfg cb = {.features_off = F(VIRTIO_NET_F_MRG_RXBUF), .rx_buf_size = 12 + 1000};
	tt_start(NULL);
	tt_open(&T.a, 0, &ca);
	tt_open(&T.b, 1, &cb);
	uint8_t f[1514];
	it_frame(f, 1001, 7777);
	assert_int_equal(fe_send(&T.a, 0, f, 1001), 0);
	it_frame(f, 1514, 7778);
	assert_int_equal(fe_send(&T.a, 0, f, 1514), 0);
	tt_xfer_ok(it_expect_silence(&T.b, 0, 300));
	size_t ok[] = {1000, 60};
	tt_xfer_ok(it_xfer(&T.a, 0, &T.b, 0, ok, 2, 2, &T.seq, NULL));
	struct lb_stats s;
	assert_int_equal(lb_stats(&T.lb, &s), 0);
	const struct lb_qstat *rx = lb_find(&s, 1, 0), *tx = lb_find(&s, 0, 1);
	assert_non_null(rx);
	assert_non_null(tx);
	assert_int_equal(rx->drop_too_big, 2);
	assert_int_equal(rx->packets, 2);
	assert_int_equal(rx->bytes, 1060);
	assert_int_equal(tx->packets, 4);
	assert_string_equal(rx->broken, "none");
	tt_finish();
}

static void tt_ring_size(uint16_t size, unsigned frames)
{
	struct fe_cfg c = {.queue_size = size, .features_off = F(VIRTIO_NET_F_MRG_RXBUF)};
	size_t sizes[64];
	unsigned batch = size < 16 ? size : 16;
	tt_start(NULL);
	tt_open(&T.a, 0, &c);
	tt_open(&T.b, 1, &c);
	for (unsigned i = 0; i < 64; i++)
		sizes[i] = 60 + (i * 97) % 1455;
	for (unsigned done = 0; done < frames; done += 64) {
		tt_xfer_ok(it_xfer(&T.a, 0, &T.b, 0, sizes, 64, batch, &T.seq, &T.sent_a[0]));
		tt_xfer_ok(it_xfer(&T.b, 0, &T.a, 0, sizes, 64, batch, &T.seq, &T.sent_b[0]));
	}
	tt_check_stats();
	tt_finish();
}

static void test_ring_size_1(void **state)
{
	(void)state;
	tt_ring_size(1, 128);
}

static void test_ring_size_2(void **state)
{
	(void)state;
	tt_ring_size(2, 128);
}

static void test_ring_size_32768(void **state)
{
	(void)state;
	tt_ring_size(32768, 256);
}

/* More than 65536 chains through 64-entry rings: the 16-bit indices wrap. */
static void test_index_wrap(void **state)
{
	(void)state;
	struct fe_cfg c = {.queue_size = 64};
	size_t sizes[64];
	for (unsigned i = 0; i < 64; i++)
		sizes[i] = 60;
	tt_start(NULL);
	tt_open(&T.a, 0, &c);
	tt_open(&T.b, 1, &c);
	for (unsigned i = 0; i < 66000 / 64 + 1; i++)
		tt_xfer_ok(it_xfer(&T.a, 0, &T.b, 0, sizes, 64, 32, &T.seq, &T.sent_a[0]));
	assert_true(T.a.vq[1].avail_idx < 1000); /* wrapped */
	tt_both_ways(20);
	tt_check_stats();
	tt_finish();
}

/* The tool goes idle between bursts; kicks and interrupts must wake both sides. */
static void tt_idle(const struct fe_cfg *c, const char *const *args)
{
	tt_start(args);
	tt_open(&T.a, 0, c);
	tt_open(&T.b, 1, c);
	for (int r = 0; r < 4; r++) {
		usleep(250000);
		tt_both_ways(3);
	}
	tt_check_stats();
	tt_finish();
}

static void test_idle_wakeup_event_idx(void **state)
{
	(void)state;
	struct fe_cfg c = {.features_need = F(VIRTIO_RING_F_EVENT_IDX)};
	tt_idle(&c, NULL);
}

static void test_idle_wakeup_no_event_idx(void **state)
{
	(void)state;
	struct fe_cfg c = {.features_off = F(VIRTIO_RING_F_EVENT_IDX)};
	tt_idle(&c, NULL);
}

static void test_poll_busy(void **state)
{
	(void)state;
	const char *args[] = {"--poll", "busy", NULL};
	struct fe_cfg c = {.features_off = F(VIRTIO_RING_F_EVENT_IDX)};
	tt_idle(&c, args);
}

/* --socket-perm applies to every socket file. */
static void test_socket_perm(void **state)
{
	(void)state;
	const char *args[] = {"--socket-perm", "0600", "--ports", "3", NULL};
	struct stat st;
	char p[256];
	tt_start(args);
	for (int i = 0; i < 3; i++) {
		lb_sock_path(&T.lb, i, p, sizeof(p));
		assert_int_equal(stat(p, &st), 0);
		assert_true(S_ISSOCK(st.st_mode));
		assert_int_equal(st.st_mode & 0777, 0600);
	}
	lb_sock_path(&T.lb, 3, p, sizeof(p));
	assert_int_equal(stat(p, &st), -1);
	struct fe_cfg c = {0};
	tt_open(&T.a, 0, &c);
	tt_open(&T.b, 1, &c);
	tt_both_ways(10);
	tt_finish();
}

/* --client: the tool connects to our sockets, and comes back after we drop it. */
static void test_client_mode(void **state)
{
	(void)state;
	const char *args[] = {"--client", NULL};
	char p0[256], p1[256];
	struct fe_cfg c = {0};
	if (!lb_binary())
		skip();
	memset(&T, 0, sizeof(T));
	fe_init(&T.a, &c);
	fe_init(&T.b, &c);
	assert_int_equal(lb_start(&T.lb, args, true), 0);
	lb_sock_path(&T.lb, 0, p0, sizeof(p0));
	lb_sock_path(&T.lb, 1, p1, sizeof(p1));
	int l0 = fe_listen(p0), l1 = fe_listen(p1);
	assert_true(l0 >= 0 && l1 >= 0);
	for (int round = 0; round < 2; round++) {
		fe_init(&T.a, &c);
		fe_init(&T.b, &c);
		int s0 = fe_accept(l0, 10000), s1 = fe_accept(l1, 10000);
		assert_true(s0 >= 0 && s1 >= 0);
		fe_adopt(&T.a, s0);
		fe_adopt(&T.b, s1);
		if (fe_setup(&T.a) < 0 || fe_setup(&T.b) < 0)
			fail_msg("setup: %s / %s", T.a.err, T.b.err);
		tt_both_ways(50);
		tt_check_stats();
		tt_stop_fe(&T.a);
		tt_stop_fe(&T.b);
	}
	close(l0);
	close(l1);
	unlink(p0);
	unlink(p1);
	assert_int_equal(lb_stop(&T.lb), 0);
}

static int tt_teardown(void **state)
{
	(void)state;
	fe_close(&T.a);
	fe_close(&T.b);
	if (T.lb.pid > 0)
		lb_stop(&T.lb);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_default, tt_teardown),
	    cmocka_unit_test_teardown(test_no_mrg_split_chains, tt_teardown),
	    cmocka_unit_test_teardown(test_no_event_idx, tt_teardown),
	    cmocka_unit_test_teardown(test_no_event_idx_no_mrg, tt_teardown),
	    cmocka_unit_test_teardown(test_indirect, tt_teardown),
	    cmocka_unit_test_teardown(test_indirect_mrg, tt_teardown),
	    cmocka_unit_test_teardown(test_mrg_small_bufs_regions, tt_teardown),
	    cmocka_unit_test_teardown(test_legacy_header, tt_teardown),
	    cmocka_unit_test_teardown(test_mixed_peers, tt_teardown),
	    cmocka_unit_test_teardown(test_multiqueue_2, tt_teardown),
	    cmocka_unit_test_teardown(test_multiqueue_4, tt_teardown),
	    cmocka_unit_test_teardown(test_jumbo_mrg, tt_teardown),
	    cmocka_unit_test_teardown(test_jumbo_no_mrg, tt_teardown),
	    cmocka_unit_test_teardown(test_too_big_dropped, tt_teardown),
	    cmocka_unit_test_teardown(test_ring_size_1, tt_teardown),
	    cmocka_unit_test_teardown(test_ring_size_2, tt_teardown),
	    cmocka_unit_test_teardown(test_ring_size_32768, tt_teardown),
	    cmocka_unit_test_teardown(test_index_wrap, tt_teardown),
	    cmocka_unit_test_teardown(test_idle_wakeup_event_idx, tt_teardown),
	    cmocka_unit_test_teardown(test_idle_wakeup_no_event_idx, tt_teardown),
	    cmocka_unit_test_teardown(test_poll_busy, tt_teardown),
	    cmocka_unit_test_teardown(test_socket_perm, tt_teardown),
	    cmocka_unit_test_teardown(test_client_mode, tt_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
