/*
 * test_hostile.c - a hostile front-end against ringswitch-loopback. Four
 * ports in pair mode: well-behaved front-ends on port0 and port1 keep
 * exchanging traffic; one table row per test runs a hostile front-end on
 * port2 (rings broken in every way the chain walker must catch, malformed
 * and out-of-range messages, wrong fd counts, bad memory tables, silence).
 * After every row: the tool is alive, the row's outcome is what the virtio
 * and vhost-user specs demand (the queue marked broken with the right
 * reason, an error reply, or the connection dropped), the good pair still
 * forwards byte for byte, and once the hostile front-end is gone the tool's
 * fds and mappings are back to the baseline. The rows live in
 * tests/support/hostile_rows.h, shared with tests/switch/test_sw_hostile.c
 * (the same attacks on ringswitchd). Needs $RS_LOOPBACK.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "fe.h"
#include "it.h"
#include "lb.h"
#include "hostile_rows.h"

#define HX_PORT 2 /* hostile; port3 is its peer */

struct hx {
	struct lb lb;
	struct fe a, b; /* the good pair, port0 and port1 */
	uint32_t seq;
	int base_fds, base_maps;
};

static struct hx H;

/* ---- fixture ---- */

static void hx_path(int port, char *out, size_t cap)
{
	lb_sock_path(&H.lb, port, out, cap);
}

static void hx_sock_path(bool peer, char *out, size_t cap)
{
	hx_path(peer ? HX_PORT + 1 : HX_PORT, out, cap);
}

static bool hx_alive(void)
{
	return lb_alive(&H.lb);
}

/* Port2 'qid' counters now (zero when the tool prints no line for it). */
static struct hx_qstat hx_stat(int qid)
{
	static struct lb_stats s;
	struct hx_qstat z = {0};
	strcpy(z.broken, "none");
	assert_int_equal(lb_stats(&H.lb, &s), 0);
	const struct lb_qstat *q = lb_find(&s, HX_PORT, qid);
	if (!q)
		return z;
	z.ready = q->ready;
	z.packets = q->packets;
	z.bytes = q->bytes;
	z.drop_too_many_iov = q->drop_too_many_iov;
	snprintf(z.broken, sizeof(z.broken), "%s", q->broken);
	return z;
}

static void hx_open(struct fe *fe, int port, const struct fe_cfg *cfg)
{
	char path[256];
	hx_path(port, path, sizeof(path));
	if (fe_open(fe, cfg, path) < 0)
		fail_msg("front-end on port %d: %s", port, fe->err);
}

static void hx_good_traffic(void)
{
	if (it_xfer_mixed(&H.a, 0, &H.b, 0, 8, &H.seq, NULL) < 0 ||
	    it_xfer_mixed(&H.b, 0, &H.a, 0, 8, &H.seq, NULL) < 0)
		fail_msg("good pair: %s", it_err);
}

static int hx_group_setup(void **state)
{
	(void)state;
	const char *args[] = {"--ports", "4", NULL};
	struct fe_cfg c = {0};
	memset(&H, 0, sizeof(H));
	fe_init(&H.a, &c);
	fe_init(&H.b, &c);
	fe_init(&HX.h, &c);
	fe_init(&HX.p, &c);
	if (!lb_binary())
		return 0; /* every test skips */
	if (lb_start(&H.lb, args, false) < 0)
		return -1;
	hx_open(&H.a, 0, &c);
	hx_open(&H.b, 1, &c);
	hx_good_traffic();
	/* Prime whatever the tool allocates on first use of ports 2 and 3. */
	hx_open(&HX.h, 2, &c);
	hx_open(&HX.p, 3, &c);
	if (it_xfer_mixed(&HX.h, 0, &HX.p, 0, 4, &H.seq, NULL) < 0)
		return -1;
	fe_close(&HX.h);
	fe_close(&HX.p);
	usleep(200000);
	H.base_fds = lb_fd_count(H.lb.pid);
	H.base_maps = lb_map_count(H.lb.pid);
	return H.base_fds > 0 && H.base_maps > 0 ? 0 : -1;
}

static int hx_group_teardown(void **state)
{
	(void)state;
	fe_close(&H.a);
	fe_close(&H.b);
	fe_close(&HX.h);
	fe_close(&HX.p);
	if (H.lb.pid > 0) {
		int queue_broken_logs = lb_log_count(&H.lb, "queue broken: port2");
		int rc = lb_stop(&H.lb);
		if (rc != 0 || queue_broken_logs == 0) {
			fprintf(stderr, "loopback exit %d, broken-queue log lines %d\n", rc,
				queue_broken_logs);
			return -1;
		}
	}
	return 0;
}

static int hx_setup(void **state)
{
	(void)state;
	if (!lb_binary())
		skip();
	struct fe_cfg c = {0};
	fe_init(&HX.h, &c);
	fe_init(&HX.p, &c);
	return 0;
}

/* Common end of every row: alive, good traffic, hostile gone, resources back. */
static int hx_teardown(void **state)
{
	(void)state;
	if (!lb_binary())
		return 0;
	assert_true(lb_alive(&H.lb));
	hx_good_traffic();
	fe_close(&HX.h);
	fe_close(&HX.p);
	if (lb_wait_counts(H.lb.pid, H.base_fds, H.base_maps, 3000) < 0) {
		int fds = H.base_fds, maps = H.base_maps;
		H.base_fds = lb_fd_count(H.lb.pid); /* later rows compare with the new level */
		H.base_maps = lb_map_count(H.lb.pid);
		fail_msg("tool resources not back to baseline: fds %d (was %d), maps %d (was %d)",
			 H.base_fds, fds, H.base_maps, maps);
	}
	assert_true(lb_alive(&H.lb));
	hx_good_traffic();
	return 0;
}

#define ROW(t) cmocka_unit_test_setup_teardown(t, hx_setup, hx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {HX_ROWS(ROW)};
	return cmocka_run_group_tests(tests, hx_group_setup, hx_group_teardown);
}
