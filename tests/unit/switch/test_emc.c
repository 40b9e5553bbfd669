/*
 * test_emc.c - the exact-match cache: hits, negative entries, misses after a
 * generation change, hash collisions, way selection and eviction, and the
 * cache in front of a real classifier.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include <cmocka.h>

#include "cls_testutil.h"
#include "switch/emc.h"

static struct flow_key key_n(uint32_t n)
{
	struct flow_key k;

	memset(&k, 0, sizeof(k));
	k.in_port = 1;
	k.dl_type = htons(0x0800);
	k.nw_dst = htonl(n);
	return k;
}

/* Fake rule pointers: the cache never dereferences them. */
static const struct cls_rule *R(uintptr_t n)
{
	return (const struct cls_rule *)(n * 64);
}

static void test_init(void **state)
{
	(void)state;
	struct emc e;

	assert_int_equal(emc_init(&e, 0), -EINVAL);
	assert_int_equal(emc_init(&e, 2), -EINVAL);
	assert_int_equal(emc_init(&e, 24), -EINVAL);
	assert_int_equal(emc_init(&e, 4), 0);
	assert_int_equal(e.set_mask, 0);
	assert_int_equal((uintptr_t)e.sets % 64, 0);
	emc_fini(&e);
	assert_int_equal(emc_init(&e, 8192), 0);
	assert_int_equal(e.set_mask, 2047);
	emc_fini(&e);
}

static void test_hit_miss_negative(void **state)
{
	(void)state;
	struct emc e;
	const struct cls_rule *r = R(99);
	struct flow_key a = key_n(1), b = key_n(2);
	uint32_t ha = emc_hash_key(&a), hb = emc_hash_key(&b);

	assert_int_equal(emc_init(&e, 1024), 0);
	assert_int_not_equal(ha, hb);
	assert_int_equal(ha, emc_hash_key(&a));
	assert_false(emc_lookup(&e, &a, ha, 1, &r));
	emc_insert(&e, &a, ha, 1, R(1));
	emc_insert(&e, &b, hb, 1, NULL); /* negative */
	assert_true(emc_lookup(&e, &a, ha, 1, &r));
	assert_ptr_equal(r, R(1));
	r = R(99);
	assert_true(emc_lookup(&e, &b, hb, 1, &r));
	assert_null(r);
	/* Another generation: a miss, even for the negative entry. */
	assert_false(emc_lookup(&e, &a, ha, 2, &r));
	assert_false(emc_lookup(&e, &b, hb, 2, &r));
	emc_insert(&e, &a, ha, 2, R(2));
	assert_true(emc_lookup(&e, &a, ha, 2, &r));
	assert_ptr_equal(r, R(2));
	assert_false(emc_lookup(&e, &a, ha, 1, &r));
	/* One bit of difference in the key is a miss. */
	struct flow_key a2 = a;
	a2.pad2 = 1;
	assert_false(emc_lookup(&e, &a2, ha, 2, &r));
	emc_flush(&e);
	assert_false(emc_lookup(&e, &a, ha, 2, &r));
	assert_int_equal(e.stats.hits, 3);
	assert_int_equal(e.stats.inserts, 3);
	assert_int_equal(e.stats.evictions, 0);
	emc_fini(&e);
}

/* Five keys in one set: the round-robin victim goes, the rest stay. */
static void test_eviction(void **state)
{
	(void)state;
	struct emc e;
	const struct cls_rule *r;
	struct flow_key k[6];
	uint32_t h[6];

	assert_int_equal(emc_init(&e, 64), 0); /* 16 sets */
	for (uint32_t i = 0; i < 6; i++) {
		k[i] = key_n(i);
		h[i] = 5 + (i << 8); /* all in set 5 */
	}
	for (uint32_t i = 0; i < 4; i++)
		emc_insert(&e, &k[i], h[i], 7, R(i + 1));
	assert_int_equal(e.stats.evictions, 0);
	/* Re-inserting a present key updates its way, evicting nothing. */
	emc_insert(&e, &k[2], h[2], 7, R(33));
	assert_int_equal(e.stats.evictions, 0);
	emc_insert(&e, &k[4], h[4], 7, R(5));
	assert_int_equal(e.stats.evictions, 1);
	assert_false(emc_lookup(&e, &k[0], h[0], 7, &r)); /* way 0 was the victim */
	for (uint32_t i = 1; i < 5; i++) {
		assert_true(emc_lookup(&e, &k[i], h[i], 7, &r));
		assert_ptr_equal(r, i == 2 ? R(33) : R(i + 1));
	}
	emc_insert(&e, &k[5], h[5], 7, R(6));
	assert_int_equal(e.stats.evictions, 2);
	assert_false(emc_lookup(&e, &k[1], h[1], 7, &r));
	/* Stale entries are taken before live ones. */
	emc_insert(&e, &k[0], h[0], 8, R(1));
	assert_int_equal(e.stats.evictions, 2);
	/* Other sets are untouched. */
	struct flow_key o = key_n(100);
	assert_false(emc_lookup(&e, &o, 6, 7, &r));
	emc_fini(&e);
}

/* Equal hashes, different keys: both cached, told apart by the key. */
static void test_hash_collision(void **state)
{
	(void)state;
	struct emc e;
	const struct cls_rule *r;
	struct flow_key a = key_n(1), b = key_n(2);

	assert_int_equal(emc_init(&e, 16), 0);
	emc_insert(&e, &a, 42, 1, R(1));
	emc_insert(&e, &b, 42, 1, R(2));
	assert_true(emc_lookup(&e, &a, 42, 1, &r));
	assert_ptr_equal(r, R(1));
	assert_true(emc_lookup(&e, &b, 42, 1, &r));
	assert_ptr_equal(r, R(2));
	assert_false(emc_lookup(&e, &a, 43, 1, &r));
	emc_fini(&e);
}

/* The datapath pattern: EMC, then classifier on a miss, then insert. */
static void test_with_classifier(void **state)
{
	(void)state;
	struct cls_table *t = cls_table_create(16, 1);
	struct cls *c = cls_create(t), *n;
	struct cls_match m;
	struct emc e;
	const struct cls_rule *r;
	int err;

	assert_int_equal(emc_init(&e, 256), 0);
	memset(&m, 0, sizeof(m));
	tu_nw_dst(&m, 0x0a000000, 24);
	struct cls_rule_spec s = tu_spec(&m, 1, 7);
	n = cls_with_rule_added(c, &s, &err);
	cls_free(c);
	c = n;
	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t i = 0; i < 512; i++) {
			struct flow_key k = key_n(0x0a000000 + i);
			uint32_t h = emc_hash_key(&k);
			if (!emc_lookup(&e, &k, h, cls_generation(c), &r)) {
				r = cls_lookup(c, &k);
				emc_insert(&e, &k, h, cls_generation(c), r);
			}
			assert_ptr_equal(r, cls_lookup(c, &k));
			assert_true(i < 256 ? r != NULL : r == NULL);
		}
	}
	assert_true(e.stats.hits > 0);
	/* A new snapshot: the first lookup of every key misses again. */
	uint64_t misses = e.stats.misses;
	n = cls_with_rules_deleted(c, &m, false, 0, &err, &err);
	cls_free(c);
	c = n;
	struct flow_key k = key_n(0x0a000001);
	assert_false(emc_lookup(&e, &k, emc_hash_key(&k), cls_generation(c), &r));
	assert_int_equal(e.stats.misses, misses + 1);
	assert_null(cls_lookup(c, &k));
	emc_fini(&e);
	cls_free(c);
	cls_table_destroy(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init),
	    cmocka_unit_test(test_hit_miss_negative),
	    cmocka_unit_test(test_eviction),
	    cmocka_unit_test(test_hash_collision),
	    cmocka_unit_test(test_with_classifier),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
