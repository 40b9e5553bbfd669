/*
 * test_sw_hostile.c - the hostile front-end rows of tests/support/
 * hostile_rows.h (the same table test_hostile runs against the loopback)
 * against a running ringswitchd, plus rows only a switch has.
 *
 * Ports: 'a' and 'b' (access VLAN 1) carry a well-behaved pair whose traffic
 * never stops: a thread sends and receives mixed-size frames both ways and
 * compares every one byte for byte, for the whole run. 'h' (VLAN 2, 4 queue
 * pairs) is attacked; 'p' (VLAN 2) is its peer, for rows that need frames to
 * reach 'h'. The VLANs keep the peer's floods away from the good pair.
 *
 * After every row: the daemon is alive; a ring row has already seen the
 * attacked queue reported broken, with the reason the spec calls for, in
 * ringctl port-stats --json (the queue's "broken" field); the good pair kept
 * forwarding during the row and still does; once the hostile front-ends are
 * gone the daemon's open fds (/proc/PID/fd) and mappings (/proc/PID/maps)
 * are back to their count before the row.
 *
 * Switch-only rows: a front-end that never consumes its RX ring (the switch
 * counts drops.queue_full, the peer's frames are all accounted for, nobody
 * else stalls); one that floods valid requests (the control socket keeps
 * answering); a flood of connections sending garbage; a dirty log too small
 * for the guest's memory (the lost pages logged as an error).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

#include "fe.h"
#include "it.h"
#include "lb.h"
#include "swtest.h"
#include "hostile_rows.h"

#define HS_PROGRESS_MS 5000 /* the good pair must complete rounds within this */

static const char hs_config[] = "add-port a vhost-user-server queues=1 tag=1\n"
				"add-port b vhost-user-server queues=1 tag=1\n"
				"add-port h vhost-user-server queues=4 tag=2\n"
				"add-port p vhost-user-server queues=1 tag=2\n";

static struct hs {
	struct swd d;
	struct fe a, b; /* the good pair: owned by the traffic thread while it runs */
	pthread_t thr;
	bool thr_started;
	atomic_bool stop;
	atomic_uint_fast64_t rounds; /* completed checked round trips of 8+8 frames */
	atomic_bool failed;
	char err[600];
	uint32_t seq;
	int base_fds, base_maps;
} H;

/* ---- the good pair ---- */

static void *hs_traffic(void *arg)
{
	(void)arg;
	while (!atomic_load(&H.stop)) {
		if (it_xfer_mixed(&H.a, 0, &H.b, 0, 8, &H.seq, NULL) < 0 ||
		    it_xfer_mixed(&H.b, 0, &H.a, 0, 8, &H.seq, NULL) < 0) {
			snprintf(H.err, sizeof(H.err), "after %llu rounds: %s",
				 (unsigned long long)atomic_load(&H.rounds), it_err);
			atomic_store(&H.failed, true);
			break;
		}
		atomic_fetch_add(&H.rounds, 1);
	}
	return NULL;
}

static void hs_traffic_stop(void)
{
	if (!H.thr_started)
		return;
	atomic_store(&H.stop, true);
	pthread_join(H.thr, NULL);
	H.thr_started = false;
}

/* The pair completes three more round trips, byte for byte. */
static void hx_good_traffic(void)
{
	uint64_t r0 = atomic_load(&H.rounds);
	int64_t deadline = fe_now_ms() + HS_PROGRESS_MS;
	while (!atomic_load(&H.failed) && atomic_load(&H.rounds) < r0 + 3 && fe_now_ms() < deadline)
		usleep(2000);
	if (atomic_load(&H.failed)) {
		swd_dump_log(&H.d);
		fail_msg("good pair: %s", H.err);
	}
	if (atomic_load(&H.rounds) < r0 + 3)
		fail_msg("good pair: %llu round trips in %d ms (stalled?)",
			 (unsigned long long)(atomic_load(&H.rounds) - r0), HS_PROGRESS_MS);
}

/* ---- what the rows need ---- */

static void hx_sock_path(bool peer, char *out, size_t cap)
{
	swd_sock(&H.d, peer ? "p" : "h", out, cap);
}

static bool hx_alive(void)
{
	return !swd_exited(&H.d);
}

/* The queue numbers of show --json's "rxq_ready" or "txq_ready" of port h hold 'q'. */
static bool hs_ready(const char *key, int q)
{
	json_t *s = swctl_ok(&H.d, true, "show");
	size_t i, j;
	json_t *p, *v;
	bool r = false;
	json_array_foreach(json_object_get(s, "ports"), i, p)
	{
		if (strcmp(json_string_value(json_object_get(p, "name")), "h") != 0)
			continue;
		json_array_foreach(json_object_get(p, key), j, v) r |= json_integer_value(v) == q;
	}
	json_decref(s);
	return r;
}

/*
 * Vhost queue 2k+1 (the guest's TX) is the switch's rx queue k, 2k (the
 * guest's RX) its tx queue k. A chain with too many pieces counts as
 * drop_malformed there.
 */
static struct hx_qstat hx_stat(int qid)
{
	struct hx_qstat z = {0};
	const char *dir = qid & 1 ? "rx" : "tx";
	strcpy(z.broken, "none");
	json_t *ps = swt_port_stats(&H.d, "h");
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(ps, "queues"), i, e)
	{
		if (strcmp(json_string_value(json_object_get(e, "dir")), dir) != 0 ||
		    json_integer_value(json_object_get(e, "queue")) != qid / 2)
			continue;
		z.packets = (uint64_t)json_integer_value(json_object_get(e, "packets"));
		z.bytes = (uint64_t)json_integer_value(json_object_get(e, "bytes"));
		z.drop_too_many_iov =
		    (uint64_t)json_integer_value(json_object_get(e, "drop_malformed"));
		const char *br = json_string_value(json_object_get(e, "broken"));
		if (br)
			snprintf(z.broken, sizeof(z.broken), "%s", br);
	}
	json_decref(ps);
	z.ready = hs_ready(qid & 1 ? "rxq_ready" : "txq_ready", qid / 2);
	return z;
}

/* ---- fixture ---- */

static int hs_group_setup(void **state)
{
	(void)state;
	struct fe_cfg c = {0};
	memset(&H, 0, sizeof(H));
	fe_init(&H.a, &c);
	fe_init(&H.b, &c);
	fe_init(&HX.h, &c);
	fe_init(&HX.p, &c);
	if (!swt_switchd() || !swt_ringctl())
		return 0; /* every row skips */
	swd_start(&H.d, hs_config);
	swt_fe_attach(&H.d, &H.a, "a", 1);
	swt_fe_attach(&H.d, &H.b, "b", 1);
	if (it_xfer_mixed(&H.a, 0, &H.b, 0, 8, &H.seq, NULL) < 0)
		fail_msg("good pair: %s", it_err);
	/* Prime whatever the daemon allocates on first use of ports h and p. */
	swt_fe_attach(&H.d, &HX.h, "h", 1);
	swt_fe_attach(&H.d, &HX.p, "p", 1);
	if (it_xfer_mixed(&HX.h, 0, &HX.p, 0, 4, &H.seq, NULL) < 0)
		fail_msg("h to p: %s", it_err);
	fe_close(&HX.h);
	fe_close(&HX.p);
	(void)hx_stat(HX_TX);
	if (pthread_create(&H.thr, NULL, hs_traffic, NULL))
		return -1;
	H.thr_started = true;
	hx_good_traffic();
	usleep(200000);
	H.base_fds = lb_fd_count(H.d.pid);
	H.base_maps = swt_map_count(H.d.pid);
	return H.base_fds > 0 && H.base_maps > 0 ? 0 : -1;
}

static int hs_group_teardown(void **state)
{
	(void)state;
	hs_traffic_stop();
	int rc = 0;
	if (H.d.pid > 0) {
		uint64_t rounds = atomic_load(&H.rounds);
		int broken_logs = swd_log_count(&H.d, "broken by the guest");
		fprintf(stderr,
			"good pair: %llu checked round trips of 16 frames; %d broken-queue "
			"log lines\n",
			(unsigned long long)rounds, broken_logs);
		if (atomic_load(&H.failed) || broken_logs == 0 || !hx_alive())
			rc = -1;
		if (swd_signal_wait(&H.d, SIGTERM, 5000) != 0)
			rc = -1;
	}
	fe_close(&H.a);
	fe_close(&H.b);
	fe_close(&HX.h);
	fe_close(&HX.p);
	if (rc)
		swd_dump_log(&H.d);
	swd_cleanup(&H.d);
	return rc;
}

static int hs_setup(void **state)
{
	(void)state;
	if (H.d.pid <= 0)
		skip();
	struct fe_cfg c = {0};
	fe_init(&HX.h, &c);
	fe_init(&HX.p, &c);
	return 0;
}

/* Common end of every row: alive, good traffic, hostile gone, resources back. */
static int hs_teardown(void **state)
{
	(void)state;
	if (H.d.pid <= 0)
		return 0;
	assert_true(hx_alive());
	hx_good_traffic();
	fe_close(&HX.h);
	fe_close(&HX.p);
	if (swt_wait_counts(H.d.pid, H.base_fds, H.base_maps, 3000) < 0) {
		int fds = H.base_fds, maps = H.base_maps;
		H.base_fds = lb_fd_count(H.d.pid); /* later rows compare with the new level */
		H.base_maps = swt_map_count(H.d.pid);
		fail_msg("daemon resources not back to baseline: fds %d (was %d), maps %d (was %d)",
			 H.base_fds, fds, H.base_maps, maps);
	}
	assert_true(hx_alive());
	hx_good_traffic();
	return 0;
}

/* ---- rows only a switch has ---- */

/*
 * 'h' posts its RX buffers once and never takes a frame: the peer's frames
 * fill the ring, then are dropped and counted as queue_full on 'h'; every
 * frame is accounted for (delivered + dropped), the peer's TX completes and
 * the good pair never stalls.
 */
static void test_sw_rx_never_consumed(void **state)
{
	(void)state;
	enum { N = 400 };
	char path[192];
	struct fe_cfg c = {.queue_size = 64};
	hx_sock_path(false, path, sizeof(path));
	if (fe_open(&HX.h, &c, path) < 0)
		fail_msg("h: %s", HX.h.err);
	struct fe_cfg pc = {0};
	hx_open_peer(&pc);
	int64_t full0 = swt_stat(&H.d, "h", "drops.queue_full");
	int64_t tx0 = swt_stat(&H.d, "h", "tx_packets");
	int64_t prx0 = swt_stat(&H.d, "p", "rx_packets");
	uint8_t f[600];
	for (unsigned i = 0; i < N; i++) {
		it_frame(f, sizeof(f), 7000 + i);
		if (fe_send(&HX.p, 0, f, sizeof(f)) < 0)
			fail_msg("peer send %u: %s", i, HX.p.err);
		if (i % 100 == 0)
			hx_good_traffic();
	}
	int64_t deadline = fe_now_ms() + 3000, full = 0, tx = 0;
	do {
		full = swt_stat(&H.d, "h", "drops.queue_full") - full0;
		tx = swt_stat(&H.d, "h", "tx_packets") - tx0;
		if (full + tx == N)
			break;
		usleep(20000);
	} while (fe_now_ms() < deadline);
	print_message("  h never reads: %lld delivered into its ring, %lld dropped queue_full\n",
		      (long long)tx, (long long)full);
	if (full + tx != N || tx > 64 || full < N - 64)
		fail_msg("peer sent %d: h delivered %lld + queue_full %lld", N, (long long)tx,
			 (long long)full);
	assert_int_equal(swt_stat(&H.d, "p", "rx_packets") - prx0, N);
	int64_t t0 = fe_now_ms();
	while (fe_tx_reclaim(&HX.p, 0) > 0 && fe_now_ms() < t0 + 2000)
		usleep(1000);
	assert_int_equal(fe_tx_reclaim(&HX.p, 0), 0);
	assert_int_equal(HX.h.dev_errors, 0);
	hx_good_traffic();
}

/*
 * Valid requests as fast as the front-end can write them and read the
 * replies, for about a second: the control thread serves ringctl meanwhile
 * and the good pair keeps going.
 */
static void test_sw_flood_requests(void **state)
{
	(void)state;
	hx_negotiated();
	int64_t end = fe_now_ms() + 1000, worst = 0;
	unsigned n = 0;
	while (fe_now_ms() < end) {
		for (unsigned i = 0; i < 200; i++) {
			uint32_t rq =
			    i & 1 ? VHOST_USER_GET_PROTOCOL_FEATURES : VHOST_USER_GET_FEATURES;
			struct vhost_user_hdr h = {rq, VHOST_USER_VERSION, 0};
			assert_int_equal(fe_raw_send(&HX.h, &h, sizeof(h), NULL, 0), 0);
		}
		for (unsigned i = 0; i < 200; i++) {
			struct vhost_user_msg m;
			if (fe_msg_recv(&HX.h, &m, 2000) < 0)
				fail_msg("reply %u of the flood: %s", n + i, HX.h.err);
			assert_int_equal(m.hdr.request, i & 1 ? VHOST_USER_GET_PROTOCOL_FEATURES
							      : VHOST_USER_GET_FEATURES);
		}
		n += 200;
		int64_t t0 = fe_now_ms();
		json_decref(swctl_ok(&H.d, true, "show"));
		if (fe_now_ms() - t0 > worst)
			worst = fe_now_ms() - t0;
	}
	print_message("  %u requests flooded; slowest ringctl show %lld ms\n", n, (long long)worst);
	assert_true(worst < 2000);
	hx_good_traffic();
	hx_expect_alive_conn();
}

/* Connections that each write garbage and vanish, hundreds in a row. */
static void test_sw_flood_connections(void **state)
{
	(void)state;
	char path[192];
	hx_sock_path(false, path, sizeof(path));
	uint8_t junk[512];
	for (unsigned i = 0; i < 300; i++) {
		struct fe_cfg c = {.timeout_ms = 2000};
		fe_init(&HX.h, &c);
		if (fe_connect(&HX.h, path) < 0)
			fail_msg("connect %u: %s", i, HX.h.err);
		for (size_t k = 0; k < sizeof(junk); k++)
			junk[k] = (uint8_t)(i * 131 + k * 17);
		(void)fe_raw_send(&HX.h, junk, 12 + i % 500, NULL, 0);
		fe_close(&HX.h);
		if (i % 50 == 0)
			hx_good_traffic();
	}
	struct fe_cfg c = {0};
	fe_init(&HX.h, &c);
	if (fe_open(&HX.h, &c, path) < 0)
		fail_msg("a well-behaved front-end after the flood: %s", HX.h.err);
}

/*
 * Live migration with a dirty log too small for h's memory (8 bytes: guest-
 * physical 0-256 KiB, none of h's memory): taken with a warning, and every
 * page the switch then writes into h lies past it; those pages are counted
 * and the daemon says so at error level, naming the port and queue, instead
 * of losing them silently (the loopback has no such line: test_fe_dirty_log).
 * Lines are rate-limited per call site, 10 per 5 s: traffic goes on until
 * one appears, for up to two windows.
 */
static void test_sw_log_too_small(void **state)
{
	(void)state;
	static const char lost[] = "h: tx queue 0: ";
	hl_ready(true);
	int fd = hl_bad_fd(8);
	hl_send(8, 0, &fd, 1);
	int before = swd_log_count(&H.d, lost);
	int64_t deadline = fe_now_ms() + 11000;
	do
		hl_traffic();
	while (swd_log_count(&H.d, lost) == before && fe_now_ms() < deadline);
	int n = swd_log_count(&H.d, lost) - before;
	print_message("  log of 8 bytes: %d new error lines about lost pages; %d warnings at "
		      "SET_LOG_BASE\n",
		      n, swd_log_count(&H.d, "smaller than the memory table needs"));
	assert_true(n > 0);
	assert_true(swd_log_count(&H.d, "outside the migration's dirty log") >= n);
	assert_true(swd_log_count(&H.d, "h: SET_LOG_BASE: log of 8 bytes is smaller") > 0);
	hl_free(&HL.ok);
	hl_free(&HL.bad);
}

#define ROW(t) cmocka_unit_test_setup_teardown(t, hs_setup, hs_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    HX_ROWS(ROW) ROW(test_sw_rx_never_consumed),
	    ROW(test_sw_flood_requests),
	    ROW(test_sw_flood_connections),
	    ROW(test_sw_log_too_small),
	};
	return cmocka_run_group_tests(tests, hs_group_setup, hs_group_teardown);
}
