/*
 * test_sw_multiqueue.c - flow-hash steering on a multiqueue port of a real
 * ringswitchd: vm2's front-end sets up 4 queue pairs, vm1's one. Many UDP
 * flows (source ports varied) from vm1: every frame of one 4-tuple arrives on
 * one vm2 RX queue, byte for byte; the flows spread over at least 3 of the 4
 * queues; port-stats --json counts per queue exactly what arrived there. The
 * other way, frames sent on each of vm2's TX queues are counted on that rx
 * queue of the port.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "swtest.h"

#define PAIRS  4
#define FLOWS  64
#define ROUNDS 4
#define PLEN   100
#define BACK_N 8 /* frames per vm2 TX queue on the way back */

static struct mt {
	struct swd d;
	struct fe a, b;
	int flow_q[FLOWS];
	uint64_t q_pk[PAIRS], q_by[PAIRS];
} T;

static size_t mt_frame(uint8_t *f, int flow, int round)
{
	uint32_t seq = (uint32_t)(flow * ROUNDS + round);
	return swt_ip4(f, swt_mac(2), swt_mac(1), 17, SWT_IP(10, 0, 0, 1), SWT_IP(10, 0, 0, 2),
		       (uint16_t)(20000 + flow * 17), 4789, PLEN + (size_t)flow, seq);
}

/* Receives 'n' frames spread over vm2's pairs; checks each and records its queue. */
static void mt_collect(unsigned n)
{
	static uint8_t got[SWT_FRAME_MAX + 64], exp[SWT_FRAME_MAX];
	unsigned seen = 0;
	int64_t deadline = fe_now_ms() + 3000;
	while (seen < n) {
		bool any = false;
		for (unsigned q = 0; q < PAIRS; q++) {
			size_t len;
			if (fe_recv_wait(&T.b, q, got, sizeof(got), &len, 0) != 0)
				continue;
			any = true;
			seen++;
			if (len < 46)
				fail_msg("a %zu-byte frame on vm2 queue %u", len, q);
			int flow = ((got[34] << 8 | got[35]) - 20000) / 17;
			int seq = got[42] << 24 | got[43] << 16 | got[44] << 8 | got[45];
			if (flow < 0 || flow >= FLOWS || seq / ROUNDS != flow)
				fail_msg("an unknown frame on vm2 queue %u (flow %d seq %d)", q,
					 flow, seq);
			size_t elen = mt_frame(exp, flow, seq % ROUNDS);
			if (len != elen || memcmp(got, exp, len) != 0)
				fail_msg("flow %d frame %d differs on vm2 queue %u", flow, seq, q);
			if (T.flow_q[flow] < 0)
				T.flow_q[flow] = (int)q;
			else if (T.flow_q[flow] != (int)q)
				fail_msg("flow %d (source port %d) arrived on queue %d and on %u",
					 flow, 20000 + flow * 17, T.flow_q[flow], q);
			T.q_pk[q]++;
			T.q_by[q] += len;
		}
		if (!any) {
			if (fe_now_ms() > deadline)
				fail_msg("received %u of %u frames on vm2 within 3 s", seen, n);
			usleep(1000);
		}
	}
}

static void test_sw_multiqueue(void **state)
{
	(void)state;
	memset(&T, 0, sizeof(T));
	swd_start(&T.d, "add-port vm1 vhost-user-server\n"
			"add-port vm2 vhost-user-server queues=4\n");
	swt_fe_attach(&T.d, &T.a, "vm1", 1);
	swt_fe_attach(&T.d, &T.b, "vm2", PAIRS);
	for (int i = 0; i < FLOWS; i++)
		T.flow_q[i] = -1;

	uint8_t f[SWT_FRAME_MAX];
	uint64_t sent_by = 0;
	for (int round = 0; round < ROUNDS; round++) {
		for (int flow = 0; flow < FLOWS; flow++) {
			size_t len = mt_frame(f, flow, round);
			swt_send(&T.a, 0, f, len);
			sent_by += len;
		}
		mt_collect(FLOWS);
	}
	swt_silence(&T.b, "vm2", 100);

	unsigned used = 0;
	for (unsigned q = 0; q < PAIRS; q++)
		used += T.q_pk[q] != 0;
	char dist[128];
	snprintf(dist, sizeof(dist), "%llu/%llu/%llu/%llu", (unsigned long long)T.q_pk[0],
		 (unsigned long long)T.q_pk[1], (unsigned long long)T.q_pk[2],
		 (unsigned long long)T.q_pk[3]);
	if (used < 3)
		fail_msg("%d flows used only %u of %d queues (frames per queue %s)", FLOWS, used,
			 PAIRS, dist);
	fprintf(stderr, "frames per vm2 queue: %s\n", dist);

	/* The port's counters per queue: what arrived there, nothing else. */
	int64_t total = FLOWS * ROUNDS;
	assert_int_equal(swt_wait_stat(&T.d, "vm2", "tx_packets", total), total);
	assert_int_equal(swt_wait_stat(&T.d, "vm1", "rx_packets", total), total);
	json_t *ps = swt_port_stats(&T.d, "vm2");
	for (int q = 0; q < PAIRS; q++) {
		if (swt_queue_stat(ps, "tx", q, "packets") != (int64_t)T.q_pk[q] ||
		    swt_queue_stat(ps, "tx", q, "bytes") != (int64_t)T.q_by[q])
			fail_msg("vm2 tx queue %d: port-stats %lld packets %lld bytes, the "
				 "front-end got %llu %llu",
				 q, (long long)swt_queue_stat(ps, "tx", q, "packets"),
				 (long long)swt_queue_stat(ps, "tx", q, "bytes"),
				 (unsigned long long)T.q_pk[q], (unsigned long long)T.q_by[q]);
	}
	assert_int_equal(json_integer_value(json_object_get(ps, "tx_bytes")), sent_by);
	json_decref(ps);
	ps = swt_port_stats(&T.d, "vm1");
	assert_int_equal(swt_queue_stat(ps, "rx", 0, "packets"), total);
	assert_int_equal(swt_queue_stat(ps, "rx", 0, "bytes"), sent_by);
	json_decref(ps);

	/* Back: BACK_N frames on each of vm2's TX queues, counted per rx queue of the port. */
	uint32_t seq = 1000;
	for (unsigned q = 0; q < PAIRS; q++) {
		for (int i = 0; i < BACK_N; i++) {
			size_t len = swt_eth(f, 64 + q, swt_mac(1), swt_mac(2), ++seq);
			swt_send(&T.b, q, f, len);
			swt_expect(&T.a, "vm1", 0, f, len);
		}
	}
	assert_int_equal(swt_wait_stat(&T.d, "vm2", "rx_packets", PAIRS * BACK_N), PAIRS * BACK_N);
	ps = swt_port_stats(&T.d, "vm2");
	for (int q = 0; q < PAIRS; q++) {
		assert_int_equal(swt_queue_stat(ps, "rx", q, "packets"), BACK_N);
		assert_int_equal(swt_queue_stat(ps, "rx", q, "bytes"), BACK_N * (64 + q));
	}
	json_decref(ps);

	swt_fe_detach(&T.a);
	swt_fe_detach(&T.b);
	swd_cleanup(&T.d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_sw_multiqueue)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
