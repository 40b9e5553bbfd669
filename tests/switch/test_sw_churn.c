/*
 * test_sw_churn.c - the control plane changes everything the forwarding
 * threads read while traffic runs; built for ThreadSanitizer (meson
 * -Db_sanitize=thread, see README "Tests") this is the race test of the
 * datapath, and in the normal builds a functional one.
 *
 * ringswitchd runs two forwarding threads (pmd-cores=0,1 when the machine
 * has two CPUs), so rx queues have different owners and tx queues are shared
 * under their locks. A thread keeps a well-behaved pair (ports a and b, VLAN 1)
 * forwarding mixed-size frames both ways, every one checked byte for byte,
 * while the main thread loops for RS_CHURN_SECS (default 5) through:
 *  - add-flow / del-flows (rules that never match the pair's frames, plus
 *    a priority=1 'normal' rule removed and re-added, switching between the
 *    classifier and plain learning);
 *  - add-port x and y (VLAN 7) with front-ends attached, a frame from x to
 *    y, set-port tag changes that split and rejoin them, del-port of both;
 *  - set-port on a and b that change nothing they forward with (tag,
 *    vlan-mode, rxq-affinity moving their rx queues between threads, port
 *    security lists that allow their frames): each publishes a new view and
 *    flushes learning;
 *  - now and then set pmd-cores (threads restarted, one or two) and every query
 *    (port-stats, pmd-show, fdb-show, dump-flows), which read the threads'
 *    counters.
 * Then pinned rx queues must keep their cores across a restart of the
 * threads. Afterwards: the pair never lost or corrupted a frame and kept moving, the
 * daemon is alive, exits cleanly on SIGTERM, and its log holds no sanitizer
 * report.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fe.h"
#include "it.h"
#include "swtest.h"

static struct ch {
	struct swd d;
	struct fe a, b, x, y;
	pthread_t thr;
	bool thr_started;
	atomic_bool stop, failed;
	atomic_uint_fast64_t rounds;
	char err[600];
	uint32_t seq, xseq;
	bool two_cpus;
} T;

static void *ch_traffic(void *arg)
{
	(void)arg;
	while (!atomic_load(&T.stop)) {
		if (it_xfer_mixed(&T.a, 0, &T.b, 0, 16, &T.seq, NULL) < 0 ||
		    it_xfer_mixed(&T.b, 0, &T.a, 0, 16, &T.seq, NULL) < 0) {
			snprintf(T.err, sizeof(T.err), "after %llu rounds: %s",
				 (unsigned long long)atomic_load(&T.rounds), it_err);
			atomic_store(&T.failed, true);
			break;
		}
		atomic_fetch_add(&T.rounds, 1);
	}
	return NULL;
}

static void ch_stop_traffic(void)
{
	if (!T.thr_started)
		return;
	atomic_store(&T.stop, true);
	pthread_join(T.thr, NULL);
	T.thr_started = false;
}

static int ch_setup(void **state)
{
	(void)state;
	memset(&T, 0, sizeof(T));
	struct fe_cfg c = {0};
	fe_init(&T.a, &c);
	fe_init(&T.b, &c);
	fe_init(&T.x, &c);
	fe_init(&T.y, &c);
	return 0;
}

static int ch_teardown(void **state)
{
	(void)state;
	ch_stop_traffic();
	fe_close(&T.a);
	fe_close(&T.b);
	fe_close(&T.x);
	fe_close(&T.y);
	swd_cleanup(&T.d);
	return 0;
}

static void ch_check_pair(void)
{
	if (atomic_load(&T.failed)) {
		swd_dump_log(&T.d);
		fail_msg("good pair: %s", T.err);
	}
}

/* Ports x and y come, talk, change VLANs and go. */
static void ch_ports(unsigned i)
{
	uint8_t f[SWT_FRAME_MAX];
	swctl_do(&T.d, "add-port", "x", "vhost-user-server", "queues=2", "tag=7");
	swctl_do(&T.d, "add-port", "y", "vhost-user-server", "queues=1", "tag=7");
	swt_fe_attach(&T.d, &T.x, "x", 1 + i % 2);
	swt_fe_attach(&T.d, &T.y, "y", 1);
	size_t len = swt_eth(f, 64 + i % 1400, swt_bcast, swt_mac(0x70), ++T.xseq);
	swt_send(&T.x, 0, f, len);
	swt_expect(&T.y, "y", 0, f, len);
	swctl_do(&T.d, "set-port", "x", "tag=8");
	swt_send(&T.x, 0, f, len);
	swctl_do(&T.d, "set-port", "y", "trunks=8,9");
	len = swt_eth(f, 80, swt_bcast, swt_mac(0x70), ++T.xseq);
	swt_send(&T.x, 0, f, len);
	uint8_t tagged[SWT_FRAME_MAX];
	memcpy(tagged, f, len);
	size_t tlen = swt_tag(tagged, len, 8);
	/* The frame sent while x and y were apart may or may not come: y drops nothing else. */
	static uint8_t got[SWT_FRAME_MAX + 64];
	size_t n;
	int64_t deadline = fe_now_ms() + 3000;
	for (;;) {
		int r = fe_recv_wait(&T.y, 0, got, sizeof(got), &n, 100);
		if (r == 0 && n == tlen && memcmp(got, tagged, tlen) == 0)
			break;
		if (fe_now_ms() > deadline)
			fail_msg("y: the tagged frame from x never came (%d)", r);
	}
	swt_fe_detach(&T.x);
	if (i % 2)
		swt_fe_detach(&T.y); /* else y's front-end is still attached at del-port */
	swctl_do(&T.d, "del-port", "x");
	swctl_do(&T.d, "del-port", "y");
	fe_close(&T.y);
}

/*
 * Rules come and go, but whenever any exists the 'normal' rule does too
 * (rules without it would drop the pair's frames as no_rule): added first,
 * deleted only with everything else.
 */
static void ch_flows(unsigned i)
{
	char rule[128];
	snprintf(rule, sizeof(rule), "priority=%u,tcp,tp_dst=%u,actions=drop", 10 + i % 50,
		 1000 + i);
	switch (i % 3) {
	case 0:
		swctl_do(&T.d, "add-flow", "priority=1,actions=normal");
		swctl_do(&T.d, "add-flow", rule);
		break;
	case 1:
		swctl_do(&T.d, "add-flow", rule);
		swctl_do(&T.d, "del-flows", "tcp");
		break;
	default:
		swctl_do(&T.d, "del-flows");
		break;
	}
}

/* set-port a and b in ways that keep them forwarding to each other. */
static void ch_set_pair(unsigned i)
{
	static const char *const keys[] = {
	    "tag=1",
	    "vlan-mode=access",
	    "rxq-affinity=0:0",
	    "rxq-affinity=0:1",
	    "allowed-mac=02:00:00:00:00:01,02:00:00:00:00:02",
	    "allowed-mac=any",
	    "allowed-ip=10.9.9.9",
	    "allowed-ip=any",
	};
	const char *k = keys[i % (sizeof(keys) / sizeof(keys[0]))];
	if (!T.two_cpus && strstr(k, "rxq-affinity"))
		k = "tag=1";
	swctl_do(&T.d, "set-port", i % 2 ? "a" : "b", k);
}

static void ch_queries(void)
{
	static const char *const q[] = {"port-stats", "pmd-show", "fdb-show", "dump-flows", "show"};
	for (unsigned k = 0; k < sizeof(q) / sizeof(q[0]); k++)
		json_decref(swctl_ok(&T.d, true, q[k]));
}

/* The core pmd-show --json says polls rx queue 0 of 'port', or -1. */
static int ch_core_of(json_t *pmd, const char *port)
{
	size_t i, j;
	json_t *t, *q;
	json_array_foreach(pmd, i, t)
	{
		json_array_foreach(json_object_get(t, "rxqs"), j, q)
		{
			if (strcmp(json_string_value(json_object_get(q, "port")), port) == 0 &&
			    json_integer_value(json_object_get(q, "queue")) == 0)
				return (int)json_integer_value(json_object_get(t, "core"));
		}
	}
	return -1;
}

/*
 * Pinned rx queues keep their cores across a restart of the threads (it
 * used to assign them while no thread existed: every queue to thread 0).
 */
static void ch_affinity_after_restart(void)
{
	swctl_do(&T.d, "set", "pmd-cores=0,1");
	swctl_do(&T.d, "set-port", "a", "rxq-affinity=0:1");
	swctl_do(&T.d, "set-port", "b", "rxq-affinity=0:0");
	swctl_do(&T.d, "set", "idle-us=123");
	json_t *pmd = swctl_ok(&T.d, true, "pmd-show");
	int ca = ch_core_of(pmd, "a"), cb = ch_core_of(pmd, "b");
	json_decref(pmd);
	if (ca != 1 || cb != 0)
		fail_msg(
		    "after a restart of the threads: a rxq 0 on core %d (pinned to 1), b rxq 0 "
		    "on core %d (pinned to 0)",
		    ca, cb);
}

static void test_sw_churn(void **state)
{
	(void)state;
	const char *e = getenv("RS_CHURN_SECS");
	long secs = e && *e ? strtol(e, NULL, 10) : 5;
	if (secs < 1)
		secs = 1;
	T.two_cpus = sysconf(_SC_NPROCESSORS_ONLN) >= 2;
	char conf[256];
	snprintf(conf, sizeof(conf),
		 "set pmd-cores=%s idle-us=50\n"
		 "add-port a vhost-user-server queues=1 tag=1\n"
		 "add-port b vhost-user-server queues=1 tag=1\n",
		 T.two_cpus ? "0,1" : "0");
	swd_start(&T.d, conf);
	swt_fe_attach(&T.d, &T.a, "a", 1);
	swt_fe_attach(&T.d, &T.b, "b", 1);
	assert_int_equal(pthread_create(&T.thr, NULL, ch_traffic, NULL), 0);
	T.thr_started = true;

	int64_t end = fe_now_ms() + secs * 1000;
	unsigned i = 0, restarts = 0;
	uint64_t r0 = atomic_load(&T.rounds);
	while (fe_now_ms() < end) {
		ch_flows(i);
		ch_set_pair(i);
		if (i % 4 == 0)
			ch_ports(i);
		if (i % 5 == 0)
			ch_queries();
		if (T.two_cpus && i % 10 == 9) {
			/* Threads restart: one thread, then two again. */
			swctl_do(&T.d, "set", restarts % 2 ? "pmd-cores=0,1" : "pmd-cores=1");
			restarts++;
		}
		ch_check_pair();
		i++;
	}
	if (T.two_cpus)
		ch_affinity_after_restart();
	/* The pair must still be moving after the last change. */
	uint64_t r1 = atomic_load(&T.rounds);
	int64_t deadline = fe_now_ms() + 5000;
	while (atomic_load(&T.rounds) < r1 + 5 && !atomic_load(&T.failed) && fe_now_ms() < deadline)
		usleep(1000);
	ch_check_pair();
	ch_stop_traffic();
	ch_check_pair();
	print_message("  %u change rounds, %u thread restarts, %llu checked round trips of 32 "
		      "frames\n",
		      i, restarts, (unsigned long long)(atomic_load(&T.rounds) - r0));
	assert_true(atomic_load(&T.rounds) >= r1 + 5);
	assert_false(swd_exited(&T.d));
	int st = swd_signal_wait(&T.d, SIGTERM, 10000);
	int reports = swd_log_count(&T.d, "WARNING: ThreadSanitizer") +
		      swd_log_count(&T.d, "ERROR: AddressSanitizer") +
		      swd_log_count(&T.d, "runtime error:");
	if (reports || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		swd_dump_log(&T.d);
		fail_msg("daemon: %d sanitizer reports, exit status %#x", reports, st);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_sw_churn, ch_setup, ch_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
