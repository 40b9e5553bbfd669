/*
 * test_cycles.c - 1,000 connect / negotiate / disconnect cycles of the test
 * front-end against one port of ringswitch-loopback, each with a memory
 * table and rings, ending in different ways (orderly GET_VRING_BASE, abrupt
 * close with chains in flight, close half-way through negotiation). The
 * tool must not grow: its fd count and mapping count return exactly to the
 * baseline and VmRSS stays within a small bound. Traffic with the peer port
 * is checked byte for byte every 50 cycles. Needs $RS_LOOPBACK.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fe.h"
#include "it.h"
#include "lb.h"

#define CY_CYCLES    1000
#define CY_WARMUP    20
#define CY_RSS_SLACK (4 * 1024) /* kB of VmRSS growth allowed after warm-up */

/*
 * The tool is built with the same flags as this test. Under AddressSanitizer
 * freed memory sits in a quarantine (up to 256 MB), so VmRSS says nothing
 * about leaks there; the fd and mapping counts still must return exactly.
 */
#if defined(__SANITIZE_ADDRESS__)
#define CY_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CY_SANITIZED 1
#endif
#endif
#ifndef CY_SANITIZED
#define CY_SANITIZED 0
#endif

static struct lb LB;
static struct fe PEER, FE;
static uint32_t SEQ;

/* Cycle 'i': its configuration varies with i so regions, queues and features all churn. */
static void cy_cfg(unsigned i, struct fe_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->queue_size = (uint16_t)(64u << (i % 3));
	c->nregions = 1 + i % 4;
	c->queue_pairs = 1 + (i % 5 == 0);
	if (i % 7 == 0)
		c->features_off =
		    VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX) | VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
}

static void cy_fail(const char *what, unsigned i, const struct fe *fe)
{
	fail_msg("cycle %u: %s: %s", i, what, fe->err);
}

/* Takes what abrupt cycles left in flight towards the peer: only their 200-byte frames. */
static void cy_drain_peer(void)
{
	static uint8_t b[IT_MAX_FRAME];
	size_t len;
	int r;
	while ((r = fe_recv_wait(&PEER, 0, b, sizeof(b), &len, 20)) == 0)
		assert_int_equal(len, 200);
	if (r != -ETIMEDOUT)
		fail_msg("peer drain: %d: %s", r, PEER.err);
}

/* One cycle; ends three ways. */
static void cy_one(const char *path, unsigned i)
{
	struct fe_cfg c;
	cy_cfg(i, &c);
	fe_init(&FE, &c);
	if (fe_connect(&FE, path) < 0)
		cy_fail("connect", i, &FE);
	if (i % 3 == 2) { /* gone after the memory table, before the rings */
		if (fe_negotiate(&FE) < 0)
			cy_fail("negotiate", i, &FE);
		assert_int_equal(fe_mem_create(&FE.mem, 1 << 20, c.nregions), 0);
		struct vhost_user_mem_table t;
		uint32_t size = fe_mem_table(&FE.mem, &t);
		int fds[FE_MAX_REGIONS] = {FE.mem.fd, FE.mem.fd, FE.mem.fd, FE.mem.fd};
		if (fe_request(&FE, VHOST_USER_SET_MEM_TABLE, &t, size, fds, FE.mem.nregions) < 0)
			cy_fail("mem table", i, &FE);
		fe_close(&FE);
		return;
	}
	if (fe_setup(&FE) < 0)
		cy_fail("setup", i, &FE);
	if (i % 50 == 0)
		cy_drain_peer();
	if (i % 50 == 0 && (it_xfer_mixed(&FE, 0, &PEER, 0, 4, &SEQ, NULL) < 0 ||
			    it_xfer_mixed(&PEER, 0, &FE, 0, 4, &SEQ, NULL) < 0))
		fail_msg("cycle %u traffic: %s", i, it_err);
	if (i % 3 == 0) { /* orderly */
		if (fe_stop(&FE) < 0)
			cy_fail("stop", i, &FE);
	} else { /* abrupt, with a frame possibly still in flight */
		uint8_t f[200];
		it_frame(f, sizeof(f), i);
		if (fe_send(&FE, 0, f, sizeof(f)) < 0)
			cy_fail("send", i, &FE);
	}
	fe_close(&FE);
}

static void test_cycles(void **state)
{
	(void)state;
	if (!lb_binary())
		skip();
	assert_int_equal(lb_start(&LB, NULL, false), 0);
	char p0[256], p1[256];
	lb_sock_path(&LB, 0, p0, sizeof(p0));
	lb_sock_path(&LB, 1, p1, sizeof(p1));
	struct fe_cfg pc = {0};
	if (fe_open(&PEER, &pc, p1) < 0)
		fail_msg("peer: %s", PEER.err);
	for (unsigned i = 0; i < CY_WARMUP; i++)
		cy_one(p0, i);
	usleep(200000);
	int fds = lb_fd_count(LB.pid), maps = lb_map_count(LB.pid);
	long rss = lb_rss_kb(LB.pid);
	assert_true(fds > 0 && maps > 0 && rss > 0);
	int64_t t0 = fe_now_ms();
	for (unsigned i = CY_WARMUP; i < CY_CYCLES; i++)
		cy_one(p0, i);
	int64_t ms = fe_now_ms() - t0;
	if (lb_wait_counts(LB.pid, fds, maps, 3000) < 0)
		fail_msg("after %u cycles: fds %d (baseline %d), maps %d (baseline %d)", CY_CYCLES,
			 lb_fd_count(LB.pid), fds, lb_map_count(LB.pid), maps);
	long rss_end = lb_rss_kb(LB.pid);
	if (!CY_SANITIZED && rss_end > rss + CY_RSS_SLACK)
		fail_msg("VmRSS grew from %ld kB to %ld kB", rss, rss_end);
	print_message("%u cycles in %lld ms; fds %d maps %d rss %ld -> %ld kB\n",
		      CY_CYCLES - CY_WARMUP, (long long)ms, fds, maps, rss, rss_end);
	fe_init(&FE, &pc);
	if (fe_open(&FE, &pc, p0) < 0)
		fail_msg("final: %s", FE.err);
	cy_drain_peer();
	if (it_xfer_mixed(&FE, 0, &PEER, 0, 32, &SEQ, NULL) < 0 ||
	    it_xfer_mixed(&PEER, 0, &FE, 0, 32, &SEQ, NULL) < 0)
		fail_msg("final traffic: %s", it_err);
	fe_close(&FE);
	fe_close(&PEER);
	assert_int_equal(lb_stop(&LB), 0);
}

static int cy_teardown(void **state)
{
	(void)state;
	fe_close(&FE);
	fe_close(&PEER);
	if (LB.pid > 0)
		lb_stop(&LB);
	return 0;
}

int main(void)
{
	struct fe_cfg c = {0};
	fe_init(&FE, &c);
	fe_init(&PEER, &c);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_cycles, cy_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
