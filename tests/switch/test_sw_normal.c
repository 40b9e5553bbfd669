/*
 * test_sw_normal.c - the L2 learning switch ("normal", no flow rules) of a
 * real ringswitchd with three vhost-user-server ports and three test
 * front-ends with distinct MACs: unknown unicast, broadcast and multicast
 * flood to every other port and never back to the sender; learned unicast
 * goes only to its port, also within one burst whose frames change
 * destination (the flow memo); fdb-show lists what was learned where; fdb-flush
 * (all, one port) forgets; a MAC that moves is followed; every frame arrives
 * byte for byte; port-stats counts exactly what the front-ends sent and got.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "swtest.h"

#define NP	  3
#define SILENT_MS 100

static const char *const names[NP] = {"vm1", "vm2", "vm3"};

struct nt {
	struct swd d;
	struct fe fe[NP];
	struct swt_mac mac[NP];
	uint64_t sent_pk[NP], sent_by[NP], got_pk[NP], got_by[NP];
	uint32_t seq;
};

static struct nt T;

static void nt_send(int from, const uint8_t *f, size_t len)
{
	swt_send(&T.fe[from], 0, f, len);
	T.sent_pk[from]++;
	T.sent_by[from] += len;
}

static void nt_expect(int to, const uint8_t *f, size_t len)
{
	swt_expect(&T.fe[to], names[to], 0, f, len);
	T.got_pk[to]++;
	T.got_by[to] += len;
}

/* Sends from 'from' to 'dst'; expects it on the ports in 'mask' (bit i: port i) only. */
static void nt_check(int from, struct swt_mac dst, struct swt_mac src, size_t len, unsigned mask)
{
	uint8_t f[SWT_FRAME_MAX];
	swt_eth(f, len, dst, src, ++T.seq);
	nt_send(from, f, len);
	for (int i = 0; i < NP; i++)
		if (mask & (1u << i))
			nt_expect(i, f, len);
	for (int i = 0; i < NP; i++)
		if (!(mask & (1u << i)))
			swt_silence(&T.fe[i], names[i], SILENT_MS);
}

/* The forwarding threads' flow memo hits so far (pmd-show). */
static long long nt_memo_hits(void)
{
	json_t *pmd = swctl_ok(&T.d, true, "pmd-show");
	long long hits = 0;
	size_t i;
	json_t *th;
	json_array_foreach(pmd, i, th) hits += json_integer_value(json_object_get(th, "memo_hits"));
	json_decref(pmd);
	return hits;
}

/*
 * One burst from vm1 (its 24 frames reach the switch together): 6 frames to
 * the learned vm2 MAC, 6 to an unknown MAC (flood), 6 to vm2 again, 6
 * broadcasts. The burst's flow memo keeps normal's one destination for the
 * unicast runs and must drop it at each change: vm2 gets all 24 in order,
 * vm3 exactly the 12 flooded ones, vm1 none.
 */
static void nt_burst(struct swt_mac src, struct swt_mac known, struct swt_mac unknown)
{
	const struct swt_mac dst[4] = {known, unknown, known, swt_bcast};
	uint8_t f[4 * 6][SWT_FRAME_MAX];
	size_t len[4 * 6];
	long long hits0 = nt_memo_hits();

	fe_tx_hold(&T.fe[0], 0);
	for (int i = 0; i < 24; i++) {
		/* UDP: the memo keeps IP flows (a frame of another EtherType is parsed anew) */
		len[i] = swt_ip4(f[i], dst[i / 6], src, 17, SWT_IP(10, 0, 0, 1),
				 SWT_IP(10, 0, 0, 2), 4000, 5000, 100, ++T.seq);
		nt_send(0, f[i], len[i]);
	}
	fe_tx_flush(&T.fe[0], 0);
	for (int i = 0; i < 24; i++)
		nt_expect(1, f[i], len[i]);
	for (int i = 0; i < 24; i++)
		if (i / 6 == 1 || i / 6 == 3)
			nt_expect(2, f[i], len[i]);
	for (int i = 0; i < NP; i++)
		swt_silence(&T.fe[i], names[i], SILENT_MS);
	long long hits = nt_memo_hits() - hits0;
	if (hits < 20) /* four runs of 6: the first frame of each parsed */
		fail_msg("memo_hits +%lld over the burst, want >= 20", hits);
}

/* The fdb-show entry for 'mac' as "port/vlan", "" when absent; '*n' = entries. */
static void nt_fdb(struct swt_mac mac, char *out, size_t cap, size_t *n)
{
	char want[18];
	snprintf(want, sizeof(want), "%02x:%02x:%02x:%02x:%02x:%02x", mac.b[0], mac.b[1], mac.b[2],
		 mac.b[3], mac.b[4], mac.b[5]);
	json_t *a = swctl_ok(&T.d, true, "fdb-show");
	assert_true(json_is_array(a));
	out[0] = '\0';
	*n = json_array_size(a);
	size_t i;
	json_t *e;
	json_array_foreach(a, i, e)
	{
		if (strcmp(json_string_value(json_object_get(e, "mac")), want) == 0)
			snprintf(out, cap, "%s/%lld", json_string_value(json_object_get(e, "port")),
				 (long long)json_integer_value(json_object_get(e, "vlan")));
	}
	json_decref(a);
}

static void nt_fdb_is(struct swt_mac mac, const char *want)
{
	char got[64];
	size_t n;
	nt_fdb(mac, got, sizeof(got), &n);
	if (strcmp(got, want) != 0)
		fail_msg("fdb-show: MAC 02:..:%02x: want '%s', got '%s'", mac.b[5], want, got);
}

static size_t nt_fdb_size(void)
{
	char got[64];
	size_t n;
	nt_fdb(swt_mac(0), got, sizeof(got), &n);
	return n;
}

static void nt_check_stats(void)
{
	for (int i = 0; i < NP; i++) {
		const char *n = names[i];
		int64_t v;
		if ((v = swt_wait_stat(&T.d, n, "rx_packets", (int64_t)T.sent_pk[i])) !=
		    (int64_t)T.sent_pk[i])
			fail_msg("%s rx_packets %lld, sent %llu", n, (long long)v,
				 (unsigned long long)T.sent_pk[i]);
		if ((v = swt_wait_stat(&T.d, n, "tx_packets", (int64_t)T.got_pk[i])) !=
		    (int64_t)T.got_pk[i])
			fail_msg("%s tx_packets %lld, received %llu", n, (long long)v,
				 (unsigned long long)T.got_pk[i]);
		json_t *ps = swt_port_stats(&T.d, n);
		assert_int_equal(json_integer_value(json_object_get(ps, "rx_bytes")), T.sent_by[i]);
		assert_int_equal(json_integer_value(json_object_get(ps, "tx_bytes")), T.got_by[i]);
		assert_int_equal(swt_queue_stat(ps, "rx", 0, "packets"), T.sent_pk[i]);
		assert_int_equal(swt_queue_stat(ps, "tx", 0, "bytes"), T.got_by[i]);
		const char *key;
		json_t *v2;
		json_object_foreach(json_object_get(ps, "drops"), key, v2)
		{
			if (json_integer_value(v2) != 0)
				fail_msg("%s drops.%s = %lld, want 0", n, key,
					 (long long)json_integer_value(v2));
		}
		json_decref(ps);
	}
}

static void test_sw_normal(void **state)
{
	(void)state;
	memset(&T, 0, sizeof(T));
	swd_start(&T.d, "add-port vm1 vhost-user-server\n"
			"add-port vm2 vhost-user-server\n"
			"add-port vm3 vhost-user-server\n");
	for (int i = 0; i < NP; i++) {
		T.mac[i] = swt_mac((uint8_t)(i + 1));
		swt_fe_attach(&T.d, &T.fe[i], names[i], 1);
	}
	struct swt_mac *m = T.mac;
	struct swt_mac mcast = {{0x01, 0x00, 0x5e, 0x00, 0x00, 0x42}};
	struct swt_mac stranger = swt_mac(0x77);

	/* Nothing learned yet: unknown unicast floods, never back to the sender. */
	assert_int_equal(nt_fdb_size(), 0);
	nt_check(0, m[1], m[0], 60, 0x6);
	/* Broadcast from vm2 floods; vm1 and vm2 are now known. */
	nt_check(1, swt_bcast, m[1], 300, 0x5);
	/* Learned unicast: only the destination, both ways, several sizes. */
	nt_check(0, m[1], m[0], 1514, 0x2);
	nt_check(1, m[0], m[1], 61, 0x1);
	nt_check(0, m[1], m[0], 777, 0x2);
	nt_burst(m[0], m[1], swt_mac(0x77));
	/* vm3 to an unknown MAC floods (and vm3 is learned); multicast always floods. */
	nt_check(2, stranger, m[2], 128, 0x3);
	nt_check(0, mcast, m[0], 90, 0x6);
	nt_check(1, m[2], m[1], 200, 0x4);

	nt_fdb_is(m[0], "vm1/0");
	nt_fdb_is(m[1], "vm2/0");
	nt_fdb_is(m[2], "vm3/0");
	nt_fdb_is(stranger, "");
	assert_int_equal(nt_fdb_size(), 3);

	/* fdb-flush empties the table; unicast floods again until relearned. */
	swctl_do(&T.d, "fdb-flush");
	assert_int_equal(nt_fdb_size(), 0);
	nt_check(0, m[1], m[0], 100, 0x6); /* learns vm1 */
	nt_check(1, m[0], m[1], 100, 0x1); /* learns vm2, vm1 known */
	assert_int_equal(nt_fdb_size(), 2);
	/* fdb-flush PORT forgets that port's MACs only. */
	swctl_do(&T.d, "fdb-flush", "vm1");
	nt_fdb_is(m[0], "");
	nt_fdb_is(m[1], "vm2/0");
	nt_check(1, m[0], m[1], 100, 0x5); /* vm1's MAC unknown again: floods */

	/* MAC move: vm2's MAC now sends from vm3; frames for it follow. */
	nt_check(0, m[1], m[0], 100, 0x2);     /* still vm2; relearns vm1 */
	nt_check(2, swt_bcast, m[1], 64, 0x3); /* from vm3 with vm2's MAC */
	nt_fdb_is(m[1], "vm3/0");
	nt_check(0, m[1], m[0], 400, 0x4);
	/* ... and back. */
	nt_check(1, swt_bcast, m[1], 64, 0x5);
	nt_fdb_is(m[1], "vm2/0");
	nt_check(0, m[1], m[0], 401, 0x2);

	nt_check_stats();
	for (int i = 0; i < NP; i++)
		swt_fe_detach(&T.fe[i]);
	swd_cleanup(&T.d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_sw_normal)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
