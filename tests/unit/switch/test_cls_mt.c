/*
 * test_cls_mt.c - snapshots under concurrency: one control thread publishes a
 * new snapshot at every step while two forwarding threads look up with no
 * lock (through their own EMC) and account statistics. Old snapshots are
 * freed through a tiny QSBR written here: each reader publishes the epoch it
 * last saw at its quiescent point (between bursts); a snapshot retired at
 * epoch E is freed once every reader has seen E.
 *
 * Every lookup must be consistent with the one snapshot the reader holds:
 * the marker rule (replaced at every step, cookie = the snapshot's
 * generation) and a toggled rule present exactly in even generations. Use-
 * after-free would show under ASan; at the end the per-thread counters of a
 * long-lived rule must add up to the hits the readers counted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sched.h>

#include <cmocka.h>

#include "cls_testutil.h"
#include "switch/emc.h"

#define N_READERS   2
#define N_STEPS	    3000
#define MAX_RETIRED 64

struct reader {
	pthread_t tid;
	uint64_t seen;	 /* QSBR: last epoch observed at a quiescent point */
	uint64_t online; /* 0 once the reader stopped for good */
	struct cls_stats *stats;
	uint64_t long_hits; /* lookups that hit the long-lived rule */
	uint64_t errors;
	uint64_t bursts;
};

static struct cls *current; /* published snapshot */
static uint64_t epoch = 1;
static uint64_t stop;
static struct reader readers[N_READERS];
static struct cls_match m_marker, m_toggle, m_long;

static struct flow_key key_for(uint32_t i)
{
	struct flow_key k;

	memset(&k, 0, sizeof(k));
	k.in_port = 1 + (i & 1);
	k.dl_type = htons(0x0800);
	k.nw_src = htonl(0x0b000000 + (i & 7));
	k.nw_dst = htonl(0x0a000000 + (i & 15));
	return k;
}

/* What 'key' must hit in a snapshot of generation 'gen'. */
static bool lookup_ok(const struct cls_rule *r, const struct flow_key *k, uint64_t gen)
{
	bool marker = k->in_port == 1, toggle = ntohl(k->nw_dst) == 0x0a000003;

	if (marker)
		return r && r->priority == 300 && r->cookie == gen;
	if (toggle && gen % 2 == 0)
		return r && r->priority == 200 && r->cookie == 2;
	return r && r->priority == 100 && r->cookie == 1;
}

static void *reader_main(void *arg)
{
	struct reader *rd = arg;
	struct emc emc;
	uint32_t i = 0;

	if (emc_init(&emc, 64) != 0)
		return NULL;
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		/* Pairs with the writer's release store of 'current'. */
		const struct cls *c = __atomic_load_n(&current, __ATOMIC_ACQUIRE);
		uint64_t gen = cls_generation(c);

		for (int n = 0; n < 32; n++, i++) {
			struct flow_key k = key_for(i);
			uint32_t h = emc_hash_key(&k);
			const struct cls_rule *r;

			if (!emc_lookup(&emc, &k, h, gen, &r)) {
				r = cls_lookup(c, &k);
				emc_insert(&emc, &k, h, gen, r);
			}
			if (!lookup_ok(r, &k, gen))
				rd->errors++;
			if (r) {
				cls_stats_add(rd->stats, r, 1, 64, gen);
				rd->long_hits += r->priority == 100;
			}
		}
		rd->bursts++;
		/* Quiescent: 'c' and every rule from it are dropped. */
		__atomic_store_n(&rd->seen, __atomic_load_n(&epoch, __ATOMIC_SEQ_CST),
				 __ATOMIC_SEQ_CST);
	}
	__atomic_store_n(&rd->online, 0, __ATOMIC_SEQ_CST);
	emc_fini(&emc);
	return NULL;
}

struct retired {
	struct cls *c;
	uint64_t epoch;
};

static bool grace_passed(uint64_t e)
{
	for (int i = 0; i < N_READERS; i++)
		if (__atomic_load_n(&readers[i].online, __ATOMIC_SEQ_CST) &&
		    __atomic_load_n(&readers[i].seen, __ATOMIC_SEQ_CST) < e)
			return false;
	return true;
}

/* Frees what every reader is done with; returns how many remain. */
static size_t reclaim(struct retired *list, size_t n)
{
	size_t kept = 0;

	for (size_t i = 0; i < n; i++) {
		if (grace_passed(list[i].epoch))
			cls_free(list[i].c);
		else
			list[kept++] = list[i];
	}
	return kept;
}

/* The next snapshot: marker cookie = its generation; toggle in even ones. */
static struct cls *next_snapshot(const struct cls *old)
{
	uint64_t gen = cls_generation(old) + 1;
	struct cls_builder *b = cls_builder_create(old);
	struct cls_rule_spec s = tu_spec(&m_marker, 300, gen);
	int err;

	assert_non_null(b);
	assert_true(cls_builder_add(b, &s) >= 0);
	if (gen % 2 == 0) {
		s = tu_spec(&m_toggle, 200, 2);
		assert_int_equal(cls_builder_add(b, &s), 0);
	} else {
		cls_builder_delete(b, &m_toggle, true, 200);
	}
	struct cls *n = cls_builder_finish(b, &err);
	assert_non_null(n);
	assert_int_equal(cls_generation(n), gen);
	return n;
}

static void setup_matches(void)
{
	memset(&m_marker, 0, sizeof(m_marker));
	m_toggle = m_long = m_marker;
	tu_in_port(&m_marker, 1);
	tu_nw_dst(&m_toggle, 0x0a000003, 32);
	tu_dl_type(&m_long, 0x0800);
}

static void test_concurrent_swap(void **state)
{
	(void)state;
	struct cls_table *t = cls_table_create(64, N_READERS);
	struct retired list[MAX_RETIRED];
	size_t n_retired = 0;
	int err;

	setup_matches();
	struct cls *c0 = cls_create(t);
	struct cls_rule_spec s = tu_spec(&m_long, 100, 1);
	struct cls *c1 = cls_with_rule_added(c0, &s, &err);
	current = next_snapshot(c1); /* with the marker from the start */
	cls_free(c0);
	cls_free(c1);
	for (int i = 0; i < N_READERS; i++) {
		readers[i].stats = cls_stats_register(t);
		readers[i].online = 1;
		assert_int_equal(pthread_create(&readers[i].tid, NULL, reader_main, &readers[i]),
				 0);
	}
	for (int step = 0; step < N_STEPS; step++) {
		struct cls *old = current, *n = next_snapshot(old);

		__atomic_store_n(&current, n, __ATOMIC_RELEASE);
		uint64_t e = __atomic_add_fetch(&epoch, 1, __ATOMIC_SEQ_CST);
		while (n_retired == MAX_RETIRED) {
			sched_yield();
			n_retired = reclaim(list, n_retired);
		}
		list[n_retired++] = (struct retired){old, e};
		n_retired = reclaim(list, n_retired);
		if (step % 64 == 0)
			sched_yield();
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < N_READERS; i++)
		pthread_join(readers[i].tid, NULL);
	n_retired = reclaim(list, n_retired);
	assert_int_equal(n_retired, 0);

	uint64_t hits = 0;
	for (int i = 0; i < N_READERS; i++) {
		assert_int_equal(readers[i].errors, 0);
		assert_true(readers[i].bursts > 0);
		hits += readers[i].long_hits;
	}
	struct cls_counters cnt;
	cls_rule_get_stats(t, cls_find_exact(current, &m_long, 100), &cnt);
	assert_int_equal(cnt.packets, hits);
	assert_int_equal(cnt.bytes, hits * 64);
	print_message("%d snapshots, %llu reader bursts, %llu long-rule hits\n", N_STEPS,
		      (unsigned long long)(readers[0].bursts + readers[1].bursts),
		      (unsigned long long)hits);
	for (int i = 0; i < N_READERS; i++)
		cls_stats_unregister(t, readers[i].stats);
	cls_free(current);
	cls_table_destroy(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_concurrent_swap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
