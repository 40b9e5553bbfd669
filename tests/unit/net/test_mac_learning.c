/*
 * test_mac_learning.c - the MAC learning table (src/switch/mac_learning.c):
 * learn and lookup, VLAN isolation, aging with a fake clock, MAC moves, the
 * size limit and eviction order, flushes, iteration, and a bounded
 * multi-thread stress test (learners, readers and a flushing control thread)
 * that checks no lookup ever returns a port that MAC was not learnt on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include <cmocka.h>

#include "switch/mac_learning.h"

#define SEED 0x5eed

static struct eth_addr mac_n(uint32_t n)
{
	struct eth_addr m = {
	    {0x02, 0x00, (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n}};
	return m;
}

static void test_learn_lookup(void **state)
{
	(void)state;
	struct ml_table t;
	assert_int_equal(ml_init(&t, 0, 0, SEED), 0);
	assert_int_equal(t.limit, ML_DEFAULT_LIMIT);
	assert_int_equal(ml_get_aging(&t), ML_DEFAULT_AGING);

	struct eth_addr a = mac_n(1), b = mac_n(2);
	assert_int_equal(ml_lookup(&t, 1, &a, 10), -1);
	assert_int_equal(ml_learn(&t, 1, &a, 3, 10), 0);
	assert_int_equal(ml_learn(&t, 1, &b, 0, 10), 0);
	assert_int_equal(ml_lookup(&t, 1, &a, 10), 3);
	assert_int_equal(ml_lookup(&t, 1, &b, 11), 0);
	assert_int_equal(ml_learn(&t, 1, &a, 3, 12), 0); /* refresh */
	assert_int_equal(ml_count(&t), 2);

	struct ml_stats st;
	ml_get_stats(&t, &st);
	assert_int_equal(st.learned, 2);
	assert_int_equal(st.moves, 0);

	/* Bad arguments; group source addresses are never learnt. */
	struct eth_addr mc = {{0x01, 0x00, 0x5e, 0, 0, 1}};
	assert_int_equal(ml_learn(&t, 4096, &a, 1, 1), -EINVAL);
	assert_int_equal(ml_learn(&t, 1, &a, 0xffff, 1), -EINVAL);
	assert_int_equal(ml_learn(&t, 1, &mc, 1, 1), -EINVAL);
	assert_int_equal(ml_lookup(&t, 4096, &a, 1), -1);
	assert_int_equal(ml_learn(&t, 4095, &a, ML_PORT_MAX, 1), 0);
	assert_int_equal(ml_lookup(&t, 4095, &a, 1), ML_PORT_MAX);
	ml_fini(&t);
}

static void test_vlan_isolation(void **state)
{
	(void)state;
	struct ml_table t;
	assert_int_equal(ml_init(&t, 64, 300, SEED), 0);
	struct eth_addr a = mac_n(7);
	assert_int_equal(ml_learn(&t, 10, &a, 1, 0), 0);
	assert_int_equal(ml_learn(&t, 20, &a, 2, 0), 0);
	assert_int_equal(ml_lookup(&t, 10, &a, 0), 1);
	assert_int_equal(ml_lookup(&t, 20, &a, 0), 2);
	assert_int_equal(ml_lookup(&t, 0, &a, 0), -1);
	assert_int_equal(ml_lookup(&t, 30, &a, 0), -1);
	assert_int_equal(ml_count(&t), 2);
	ml_fini(&t);
}

static void test_aging(void **state)
{
	(void)state;
	struct ml_table t;
	assert_int_equal(ml_init(&t, 64, 300, SEED), 0);
	struct eth_addr a = mac_n(1), b = mac_n(2);

	assert_int_equal(ml_learn(&t, 1, &a, 5, 1000), 0);
	assert_int_equal(ml_learn(&t, 1, &b, 6, 1000), 0);
	assert_int_equal(ml_lookup(&t, 1, &a, 1300), 5);
	assert_int_equal(ml_lookup(&t, 1, &a, 1301), -1);
	/* A thread whose clock is a little behind still sees the entry. */
	assert_int_equal(ml_lookup(&t, 1, &a, 999), 5);

	/* Refresh keeps it alive; an aged entry comes back when learnt again. */
	assert_int_equal(ml_learn(&t, 1, &a, 5, 1200), 0);
	assert_int_equal(ml_lookup(&t, 1, &a, 1500), 5);
	assert_int_equal(ml_lookup(&t, 1, &b, 1500), -1);
	assert_int_equal(ml_learn(&t, 1, &b, 7, 1500), 0);
	assert_int_equal(ml_lookup(&t, 1, &b, 1500), 7);

	/* Aging time changes apply to existing entries. */
	ml_set_aging(&t, 10);
	assert_int_equal(ml_get_aging(&t), 10);
	assert_int_equal(ml_lookup(&t, 1, &b, 1510), 7);
	assert_int_equal(ml_lookup(&t, 1, &b, 1511), -1);

	/* ml_expire reclaims aged entries. */
	assert_int_equal(ml_count(&t), 2);
	assert_int_equal(ml_expire(&t, 1505), 1); /* a, last seen 1200 */
	assert_int_equal(ml_count(&t), 1);
	assert_int_equal(ml_expire(&t, 1600), 1);
	assert_int_equal(ml_count(&t), 0);
	struct ml_stats st;
	ml_get_stats(&t, &st);
	assert_int_equal(st.expired, 2);

	/* Clock wrap-around: ages are differences. */
	ml_set_aging(&t, 300);
	assert_int_equal(ml_learn(&t, 1, &a, 1, 0xffffff00u), 0);
	assert_int_equal(ml_lookup(&t, 1, &a, 0x10), 1);
	ml_fini(&t);
}

static void test_move(void **state)
{
	(void)state;
	struct ml_table t;
	struct ml_stats st;
	assert_int_equal(ml_init(&t, 64, 300, SEED), 0);
	struct eth_addr a = mac_n(1);

	assert_int_equal(ml_learn(&t, 1, &a, 1, 10), 0);
	assert_int_equal(ml_learn(&t, 1, &a, 2, 10), 0); /* same second: still moves */
	assert_int_equal(ml_lookup(&t, 1, &a, 10), 2);
	assert_int_equal(ml_learn(&t, 1, &a, 3, 11), 0);
	assert_int_equal(ml_lookup(&t, 1, &a, 11), 3);
	ml_get_stats(&t, &st);
	assert_int_equal(st.moves, 2);
	assert_int_equal(st.learned, 1);
	assert_int_equal(ml_count(&t), 1);

	/* Reappearing elsewhere after aging out is not a move. */
	assert_int_equal(ml_learn(&t, 1, &a, 4, 1000), 0);
	assert_int_equal(ml_lookup(&t, 1, &a, 1000), 4);
	ml_get_stats(&t, &st);
	assert_int_equal(st.moves, 2);
	ml_fini(&t);
}

/* At the limit the least recently seen entry goes (exact LRU for small limits). */
static void test_limit_evicts_oldest(void **state)
{
	(void)state;
	struct ml_table t;
	assert_int_equal(ml_init(&t, 4, 300, SEED), 0);
	struct eth_addr m[6];
	for (uint32_t i = 0; i < 6; i++)
		m[i] = mac_n(i + 1);

	for (uint32_t i = 0; i < 4; i++)
		assert_int_equal(ml_learn(&t, 1, &m[i], (uint16_t)i, 1 + i), 0);
	assert_int_equal(ml_learn(&t, 1, &m[0], 0, 5), 0); /* m0 is now the newest */
	assert_int_equal(ml_learn(&t, 1, &m[4], 4, 6), 0);
	assert_int_equal(ml_count(&t), 4);
	assert_int_equal(ml_lookup(&t, 1, &m[1], 6), -1); /* seen at 2: evicted */
	assert_int_equal(ml_lookup(&t, 1, &m[0], 6), 0);
	assert_int_equal(ml_lookup(&t, 1, &m[2], 6), 2);
	assert_int_equal(ml_lookup(&t, 1, &m[3], 6), 3);
	assert_int_equal(ml_lookup(&t, 1, &m[4], 6), 4);

	assert_int_equal(ml_learn(&t, 1, &m[5], 5, 7), 0);
	assert_int_equal(ml_lookup(&t, 1, &m[2], 7), -1); /* seen at 3 */
	struct ml_stats st;
	ml_get_stats(&t, &st);
	assert_int_equal(st.evicted, 2);
	assert_int_equal(st.learned, 6);
	ml_fini(&t);
}

/* A full table of the default size keeps every entry, and never exceeds its limit. */
static void test_fill_default(void **state)
{
	(void)state;
	struct ml_table t;
	struct ml_stats st;
	assert_int_equal(ml_init(&t, 0, 300, SEED), 0);
	for (uint32_t i = 0; i < ML_DEFAULT_LIMIT; i++)
		assert_int_equal(
		    ml_learn(&t, (uint16_t)(i % 4096),
			     &(struct eth_addr){{2, 0, 0, 0, (uint8_t)(i >> 12), (uint8_t)i}},
			     (uint16_t)(i % 100), 1),
		    0);
	ml_get_stats(&t, &st);
	assert_int_equal(ml_count(&t), ML_DEFAULT_LIMIT - st.collisions);
	assert_true(st.collisions < ML_DEFAULT_LIMIT / 100);
	unsigned found = 0;
	for (uint32_t i = 0; i < ML_DEFAULT_LIMIT; i++) {
		struct eth_addr m = {{2, 0, 0, 0, (uint8_t)(i >> 12), (uint8_t)i}};
		int port = ml_lookup(&t, (uint16_t)(i % 4096), &m, 2);
		if (port >= 0) {
			assert_int_equal(port, i % 100);
			found++;
		}
	}
	assert_int_equal(found, ml_count(&t));

	/* A MAC flood: three times the limit of new addresses. */
	for (uint32_t i = 0; i < 3 * ML_DEFAULT_LIMIT; i++) {
		struct eth_addr m = mac_n(0x100000 + i);
		assert_int_equal(ml_learn(&t, 7, &m, 1, 3 + i / 1000), 0);
		assert_true(ml_count(&t) <= ML_DEFAULT_LIMIT);
	}
	struct eth_addr last = mac_n(0x100000 + 3 * ML_DEFAULT_LIMIT - 1);
	assert_int_equal(ml_lookup(&t, 7, &last, 30), 1);
	ml_fini(&t);
}

static void test_flush(void **state)
{
	(void)state;
	struct ml_table t;
	assert_int_equal(ml_init(&t, 256, 300, SEED), 0);
	for (uint32_t i = 0; i < 100; i++) {
		struct eth_addr m = mac_n(i);
		assert_int_equal(ml_learn(&t, (uint16_t)(i % 2), &m, (uint16_t)(i % 5), 1), 0);
	}
	assert_int_equal(ml_count(&t), 100);

	assert_int_equal(ml_flush_port(&t, 3), 20);
	assert_int_equal(ml_count(&t), 80);
	for (uint32_t i = 0; i < 100; i++) {
		struct eth_addr m = mac_n(i);
		int want = i % 5 == 3 ? -1 : (int)(i % 5);
		assert_int_equal(ml_lookup(&t, (uint16_t)(i % 2), &m, 1), want);
	}
	assert_int_equal(ml_flush_port(&t, 3), 0);

	assert_int_equal(ml_flush_vlan(&t, 1), 40);
	assert_int_equal(ml_count(&t), 40);
	struct eth_addr m1 = mac_n(1), m0 = mac_n(0);
	assert_int_equal(ml_lookup(&t, 1, &m1, 1), -1);
	assert_int_equal(ml_lookup(&t, 0, &m0, 1), 0);

	assert_int_equal(ml_flush_all(&t), 40);
	assert_int_equal(ml_count(&t), 0);
	assert_int_equal(ml_lookup(&t, 0, &m0, 1), -1);

	/* Slots freed by flushes are reused. */
	assert_int_equal(ml_learn(&t, 0, &m0, 9, 2), 0);
	assert_int_equal(ml_lookup(&t, 0, &m0, 2), 9);
	ml_fini(&t);
}

struct collect {
	unsigned n;
	struct ml_entry_info e[16];
};

static int collect_cb(const struct ml_entry_info *e, void *arg)
{
	struct collect *c = arg;
	c->e[c->n++] = *e;
	return c->n == 16 ? 99 : 0;
}

static void test_foreach(void **state)
{
	(void)state;
	struct ml_table t;
	struct collect c = {0};
	assert_int_equal(ml_init(&t, 64, 300, SEED), 0);
	for (uint32_t i = 0; i < 5; i++) {
		struct eth_addr m = mac_n(0xabcdef00 + i);
		assert_int_equal(ml_learn(&t, (uint16_t)(100 + i), &m, (uint16_t)(10 + i), 100 + i),
				 0);
	}
	struct eth_addr old = mac_n(0x77);
	assert_int_equal(ml_learn(&t, 1, &old, 1, 1), 0); /* aged out at 400 */

	assert_int_equal(ml_foreach(&t, 400, collect_cb, &c), 0);
	assert_int_equal(c.n, 5);
	unsigned seen = 0;
	for (unsigned j = 0; j < c.n; j++) {
		uint32_t i = c.e[j].vlan - 100u;
		assert_true(i < 5);
		struct eth_addr m = mac_n(0xabcdef00 + i);
		assert_memory_equal(&c.e[j].mac, &m, sizeof(m));
		assert_int_equal(c.e[j].port, 10 + i);
		assert_int_equal(c.e[j].age, 300 - i);
		seen |= 1u << i;
	}
	assert_int_equal(seen, 0x1f);

	/* The callback's non-zero value stops the walk. */
	for (uint32_t i = 0; i < 20; i++) {
		struct eth_addr m = mac_n(0x1000 + i);
		assert_int_equal(ml_learn(&t, 2, &m, 2, 400), 0);
	}
	c.n = 0;
	assert_int_equal(ml_foreach(&t, 400, collect_cb, &c), 99);
	assert_int_equal(c.n, 16);
	ml_fini(&t);
}

static void test_init_errors(void **state)
{
	(void)state;
	struct ml_table t;
	assert_int_equal(ml_init(&t, (1u << 28) + 1, 0, 0), -EINVAL);
	assert_int_equal(ml_init(&t, 1, 0, 0), 0);
	struct eth_addr a = mac_n(1), b = mac_n(2);
	assert_int_equal(ml_learn(&t, 1, &a, 1, 1), 0);
	assert_int_equal(ml_learn(&t, 1, &b, 2, 2), 0);
	assert_int_equal(ml_count(&t), 1);
	assert_int_equal(ml_lookup(&t, 1, &b, 2), 2);
	ml_fini(&t);
	ml_fini(&t); /* idempotent */
}

/*
 * Stress: two forwarding threads learn and look up 512 MACs in a table
 * limited to 256 (so inserts, evictions and moves all race with lookups),
 * while the main thread flushes ports and expires entries. MAC i is only ever
 * learnt on port i % 7 (thread 0) or 7 + i % 5 (thread 1), so any other
 * answer would be a torn MAC/port pairing.
 */
#define STRESS_MACS 512

struct stress {
	struct ml_table t;
	int stop;
	unsigned id;
	unsigned long bad, hits, ops;
};

static int stress_port_ok(uint32_t i, int port)
{
	return port == -1 || port == (int)(i % 7) || port == (int)(7 + i % 5);
}

static void *stress_thread(void *arg)
{
	struct stress *s = arg;
	unsigned id = __atomic_fetch_add(&s->id, 1, __ATOMIC_RELAXED);
	uint64_t x = 0x243f6a8885a308d3ull * (id + 1);
	unsigned long bad = 0, hits = 0, ops = 0;

	while (!__atomic_load_n(&s->stop, __ATOMIC_RELAXED)) {
		for (int j = 0; j < 1024; j++, ops++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			uint32_t i = (uint32_t)(x % STRESS_MACS);
			uint32_t now = (uint32_t)(ops >> 14);
			struct eth_addr m = mac_n(i);
			uint16_t port = (uint16_t)(id == 0 ? i % 7 : 7 + i % 5);
			if ((x >> 40) & 1)
				ml_learn(&s->t, (uint16_t)(i & 3), &m, port, now);
			int got = ml_lookup(&s->t, (uint16_t)(i & 3), &m, now);
			bad += !stress_port_ok(i, got);
			hits += got >= 0;
		}
	}
	__atomic_fetch_add(&s->bad, bad, __ATOMIC_RELAXED);
	__atomic_fetch_add(&s->hits, hits, __ATOMIC_RELAXED);
	__atomic_fetch_add(&s->ops, ops, __ATOMIC_RELAXED);
	return NULL;
}

static int stress_check_cb(const struct ml_entry_info *e, void *arg)
{
	unsigned long *bad = arg;
	uint32_t i = (uint32_t)e->mac.b[4] << 8 | e->mac.b[5];
	*bad += !stress_port_ok(i, e->port) || e->vlan != (i & 3);
	return 0;
}

static void test_stress_threads(void **state)
{
	(void)state;
	static struct stress s;
	pthread_t th[2];
	struct timespec start, now;

	memset(&s, 0, sizeof(s));
	assert_int_equal(ml_init(&s.t, 256, 300, SEED), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, stress_thread, &s), 0);

	unsigned long bad = 0;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (unsigned round = 0;; round++) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 >
		    1500)
			break;
		if (round % 3 == 0)
			ml_flush_port(&s.t, (uint16_t)(round % 12));
		else if (round % 3 == 1)
			ml_flush_vlan(&s.t, (uint16_t)(round & 3));
		else
			ml_foreach(&s.t, 0, stress_check_cb, &bad);
		assert_true(ml_count(&s.t) <= 256);
		struct timespec nap = {0, 2000000};
		nanosleep(&nap, NULL);
	}
	__atomic_store_n(&s.stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);

	struct ml_stats st;
	ml_get_stats(&s.t, &st);
	print_message("stress: %lu ops, %lu hits, learned %llu moves %llu evicted %llu "
		      "collisions %llu contended %llu\n",
		      s.ops, s.hits, (unsigned long long)st.learned, (unsigned long long)st.moves,
		      (unsigned long long)st.evicted, (unsigned long long)st.collisions,
		      (unsigned long long)st.contended);
	assert_int_equal(s.bad, 0);
	assert_int_equal(bad, 0);
	assert_true(s.hits > 0);
	assert_true(ml_count(&s.t) <= 256);
	/* The live count matches the table's contents once quiet. */
	unsigned long n = 0;
	for (uint32_t i = 0; i <= s.t.mask; i++)
		n += s.t.keys[i] != 0;
	assert_int_equal(n, ml_count(&s.t));
	ml_fini(&s.t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_learn_lookup),
	    cmocka_unit_test(test_vlan_isolation),
	    cmocka_unit_test(test_aging),
	    cmocka_unit_test(test_move),
	    cmocka_unit_test(test_limit_evicts_oldest),
	    cmocka_unit_test(test_fill_default),
	    cmocka_unit_test(test_flush),
	    cmocka_unit_test(test_foreach),
	    cmocka_unit_test(test_init_errors),
	    cmocka_unit_test(test_stress_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
