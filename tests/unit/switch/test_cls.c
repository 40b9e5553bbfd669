/*
 * test_cls.c - the classifier on hand-written cases: empty table, priorities,
 * IPv4 prefixes /0 to /32, early stop across subtables, the tie rule,
 * replace, strict and non-strict delete and modify, copy-on-write snapshots,
 * id exhaustion and per-thread statistics.
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

/* Replaces '*c' by '*c' plus the rule; frees the old one (no readers here). */
static int add(struct cls **c, const struct cls_match *m, uint32_t prio, uint64_t cookie)
{
	struct cls_rule_spec s = tu_spec(m, prio, cookie);
	struct cls_builder *b = cls_builder_create(*c);
	int rc, err;

	assert_non_null(b);
	rc = cls_builder_add(b, &s);
	if (rc < 0) {
		cls_builder_abort(b);
		return rc;
	}
	struct cls *n = cls_builder_finish(b, &err);
	assert_non_null(n);
	assert_true(cls_generation(n) > cls_generation(*c));
	cls_free(*c);
	*c = n;
	return rc;
}

static int del(struct cls **c, const struct cls_match *f, bool strict, uint32_t prio)
{
	int n, err;
	struct cls *nc = cls_with_rules_deleted(*c, f, strict, prio, &n, &err);

	assert_non_null(nc);
	cls_free(*c);
	*c = nc;
	return n;
}

/* Cookie of the rule 'key' hits, or 0 for none. */
static uint64_t hit(const struct cls *c, const struct flow_key *key)
{
	const struct cls_rule *r = cls_lookup(c, key);
	return r ? r->cookie : 0;
}

static struct flow_key ipkey(uint32_t src, uint32_t dst)
{
	struct flow_key k;

	memset(&k, 0, sizeof(k));
	k.in_port = 1;
	k.dl_type = htons(0x0800);
	k.nw_proto = 6;
	k.nw_src = htonl(src);
	k.nw_dst = htonl(dst);
	k.tp_src = htons(1234);
	k.tp_dst = htons(80);
	return k;
}

static void test_empty(void **state)
{
	(void)state;
	struct cls_table *t = cls_table_create(16, 2);
	struct cls *c = cls_create(t);
	struct flow_key k = ipkey(1, 2);
	struct cls_match all;
	const struct cls_rule **rules;
	size_t n;

	memset(&all, 0, sizeof(all));
	assert_non_null(c);
	assert_true(cls_generation(c) != 0);
	assert_null(cls_lookup(c, &k));
	assert_int_equal(cls_count(c), 0);
	assert_int_equal(cls_n_subtables(c), 0);
	assert_int_equal(cls_dump(c, &rules, &n), 0);
	assert_int_equal(n, 0);
	free(rules);
	assert_int_equal(del(&c, &all, false, 0), 0);
	assert_null(cls_find_exact(c, &all, 0));
	assert_null(cls_lookup(c, &k));
	cls_free(c);
	cls_free(NULL);
	cls_table_destroy(t);
	assert_null(cls_table_create(0, 1));
	assert_null(cls_table_create(1, 0));
}

static void test_priorities(void **state)
{
	(void)state;
	struct cls_table *t = cls_table_create(64, 1);
	struct cls *c = cls_create(t);
	struct cls_match any, ip, web, port;
	struct flow_key k = ipkey(0x0a000001, 0x0a000002);

	memset(&any, 0, sizeof(any));
	ip = web = port = any;
	tu_dl_type(&ip, 0x0800);
	tu_dl_type(&web, 0x0800);
	tu_nw_proto(&web, 6);
	tu_tp_dst(&web, 80);
	tu_in_port(&port, 1);
	assert_int_equal(add(&c, &any, 0, 1), 0);
	assert_int_equal(hit(c, &k), 1);
	assert_int_equal(add(&c, &web, 20, 2), 0);
	assert_int_equal(add(&c, &ip, 10, 3), 0);
	assert_int_equal(hit(c, &k), 2);
	assert_int_equal(add(&c, &port, 30, 4), 0);
	assert_int_equal(hit(c, &k), 4);
	k.in_port = 2;
	assert_int_equal(hit(c, &k), 2);
	k.tp_dst = htons(443);
	assert_int_equal(hit(c, &k), 3);
	k.dl_type = htons(0x86dd);
	assert_int_equal(hit(c, &k), 1);
	assert_int_equal(cls_count(c), 4);
	assert_int_equal(cls_n_subtables(c), 4);
	cls_free(c);
	cls_table_destroy(t);
}

/* One rule per prefix length with priority = length: longest prefix match. */
static void test_prefixes(void **state)
{
	(void)state;
	struct cls_table *t = cls_table_create(64, 1);
	struct cls *c = cls_create(t);
	const uint32_t dst = 0x0a8155c3; /* 10.129.85.195 */

	for (int p = 0; p <= 32; p++) {
		struct cls_match m;
		memset(&m, 0, sizeof(m));
		tu_nw_dst(&m, dst, p);
		assert_int_equal(add(&c, &m, (uint32_t)p, 100 + (uint64_t)p), 0);
	}
	assert_int_equal(cls_n_subtables(c), 33);
	/* Flipping bit i (from the top) leaves exactly a /i match. */
	for (int i = 0; i < 32; i++) {
		struct flow_key k = ipkey(0, dst ^ (0x80000000u >> i));
		assert_int_equal(hit(c, &k), 100 + (uint64_t)i);
	}
	struct flow_key k = ipkey(0, dst);
	for (int p = 32; p >= 0; p--) {
		struct cls_match m;
		memset(&m, 0, sizeof(m));
		tu_nw_dst(&m, dst, p);
		assert_int_equal(hit(c, &k), 100 + (uint64_t)p);
		assert_int_equal(del(&c, &m, true, (uint32_t)p), 1);
	}
	assert_null(cls_lookup(c, &k));
	assert_int_equal(cls_count(c), 0);
	cls_free(c);
	cls_table_destroy(t);
}

/*
 * Early stop must not stop at the first subtable that matches: its matching
 * rule can be lower than the best rule of a later subtable.
 */
static void test_early_stop(void **state)
{
	(void)state;
	struct cls_table *t = cls_table_create(64, 1);
	struct cls *c = cls_create(t);
	struct cls_match a1, a2, b, z;
	struct flow_key k = ipkey(1, 2);

	memset(&a1, 0, sizeof(a1));
	a2 = b = z = a1;
	tu_in_port(&a1, 1);
	tu_in_port(&a2, 2);
	tu_dl_type(&b, 0x0800);
	tu_nw_src(&z, 1, 32);
	add(&c, &a1, 100, 1);
	add(&c, &a2, 10, 2);
	add(&c, &b, 50, 3);
	add(&c, &z, 5, 4);
	assert_int_equal(hit(c, &k), 1);
	k.in_port = 2;
	assert_int_equal(hit(c, &k), 3); /* in_port subtable first, hit 10 < 50 */
	k.dl_type = 0;
	assert_int_equal(hit(c, &k), 2); /* 10 beats the nw_src rule at 5 */
	k.in_port = 3;
	assert_int_equal(hit(c, &k), 4);
	k.nw_src = 0;
	assert_null(cls_lookup(c, &k));
	cls_free(c);
	cls_table_destroy(t);
}

/* Same priority, overlapping, different subtables: the one added first wins. */
static void test_ties(void **state)
{
	(void)state;
	struct cls_table *t = cls_table_create(64, 1);
	struct cls *c = cls_create(t);
	struct cls_match p, d, w;
	struct flow_key k = ipkey(1, 2);
	const struct cls_rule **rules;
	size_t n;

	memset(&p, 0, sizeof(p));
	d = w = p;
	tu_in_port(&p, 1);
	tu_dl_type(&d, 0x0800);
	tu_tp_dst(&w, 80);
	add(&c, &d, 7, 1);
	add(&c, &p, 7, 2);
	assert_int_equal(hit(c, &k), 1);
	add(&c, &w, 7, 3);
	assert_int_equal(hit(c, &k), 1);
	/* Replacing the winner keeps its place in the order. */
	assert_int_equal(add(&c, &d, 7, 11), 1);
	assert_int_equal(hit(c, &k), 11);
	assert_int_equal(del(&c, &d, true, 7), 1);
	assert_int_equal(hit(c, &k), 2);
	add(&c, &d, 7, 12); /* re-added: now the newest */
	assert_int_equal(hit(c, &k), 2);
	add(&c, &w, 8, 13);
	assert_int_equal(cls_dump(c, &rules, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(rules[0]->cookie, 13);
	assert_int_equal(rules[1]->cookie, 2);
	assert_int_equal(rules[2]->cookie, 3);
	assert_int_equal(rules[3]->cookie, 12);
	free(rules);
	cls_free(c);
	cls_table_destroy(t);
}

/*
 * The early stop with ties: the first subtable's best rule does not match,
 * its matching rule has priority 5 but was added after a priority-5 rule of
 * a later subtable, which must therefore still be probed, and win.
 */
static void test_tie_across_early_stop(void **state)
{
	(void)state;
	struct cls_table *t = cls_table_create(64, 1);
	struct cls *c = cls_create(t);
	struct cls_match p9, p1, d;
	struct flow_key k = ipkey(1, 2);

	memset(&p9, 0, sizeof(p9));
	p1 = d = p9;
	tu_in_port(&p9, 9);
	tu_in_port(&p1, 1);
	tu_dl_type(&d, 0x0800);
	add(&c, &p9, 7, 1);
	add(&c, &d, 5, 2);
	add(&c, &p1, 5, 3);
	assert_int_equal(hit(c, &k), 2);
	k.dl_type = 0;
	assert_int_equal(hit(c, &k), 3);
	cls_free(c);
	cls_table_destroy(t);
}

/* Same match, several priorities: chained; delete peels them off. */
static void test_same_match_chain(void **state)
{
	(void)state;
	struct cls_table *t = cls_table_create(64, 1);
	struct cls *c = cls_create(t);
	struct cls_match m;
	struct flow_key k = ipkey(1, 2);
	const uint32_t prios[] = {5, 50, 20, 1, 35};

	memset(&m, 0, sizeof(m));
	tu_dl_type(&m, 0x0800);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(add(&c, &m, prios[i], prios[i]), 0);
	assert_int_equal(cls_n_subtables(c), 1);
	const uint32_t order[] = {50, 35, 20, 5, 1};
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(hit(c, &k), order[i]);
		assert_non_null(cls_find_exact(c, &m, order[i]));
		assert_int_equal(del(&c, &m, true, order[i]), 1);
		assert_null(cls_find_exact(c, &m, order[i]));
	}
	assert_null(cls_lookup(c, &k));
	assert_int_equal(cls_n_subtables(c), 0);
	cls_free(c);
	cls_table_destroy(t);
}

static void test_replace_and_stats(void **state)
{
	(void)state;
	struct cls_table *t = cls_table_create(8, 2);
	struct cls_stats *s0 = cls_stats_register(t), *s1 = cls_stats_register(t);
	struct cls *c = cls_create(t);
	struct cls_match m;
	struct cls_counters cnt;
	struct flow_key k = ipkey(1, 2);

	assert_non_null(s0);
	assert_non_null(s1);
	assert_null(cls_stats_register(t));
	memset(&m, 0, sizeof(m));
	tu_nw_dst(&m, 2, 24);
	add(&c, &m, 10, 1);
	const struct cls_rule *r = cls_lookup(c, &k);
	uint32_t id = r->id;
	cls_stats_add(s0, r, 3, 300, 1000);
	cls_stats_add(s1, r, 2, 128, 999);
	cls_rule_get_stats(t, r, &cnt);
	assert_int_equal(cnt.packets, 5);
	assert_int_equal(cnt.bytes, 428);
	assert_int_equal(cnt.used, 1000);

	/* Replace keeps id and counts... */
	assert_int_equal(add(&c, &m, 10, 2), 1);
	r = cls_lookup(c, &k);
	assert_int_equal(r->cookie, 2);
	assert_int_equal(r->actions.a[0].port, 2);
	assert_int_equal(r->id, id);
	assert_int_equal(cls_count(c), 1);
	cls_rule_get_stats(t, r, &cnt);
	assert_int_equal(cnt.packets, 5);

	/* ...unless asked to reset. */
	struct cls_rule_spec s = tu_spec(&m, 10, 3);
	s.reset_stats = true;
	int err;
	struct cls *n = cls_with_rule_added(c, &s, &err);
	assert_non_null(n);
	cls_free(c);
	c = n;
	r = cls_lookup(c, &k);
	assert_int_equal(r->cookie, 3);
	assert_int_not_equal(r->id, id);
	cls_rule_get_stats(t, r, &cnt);
	assert_int_equal(cnt.packets, 0);

	/* The old id was retired and zeroed: a new rule reusing it starts at 0. */
	struct cls_match m2 = m;
	tu_in_port(&m2, 9);
	add(&c, &m2, 1, 4);
	const struct cls_rule *r2 = cls_find_exact(c, &m2, 1);
	assert_int_equal(r2->id, id);
	cls_rule_get_stats(t, r2, &cnt);
	assert_int_equal(cnt.packets, 0);
	assert_int_equal(cnt.used, 0);

	/* Unregistering folds a thread's counts into the totals. */
	r = cls_lookup(c, &k);
	cls_stats_add(s1, r, 7, 70, 5);
	cls_stats_unregister(t, s1);
	cls_stats_add(s0, r, 1, 10, 6);
	cls_rule_get_stats(t, r, &cnt);
	assert_int_equal(cnt.packets, 8);
	assert_int_equal(cnt.bytes, 80);
	assert_int_equal(cnt.used, 6);
	s1 = cls_stats_register(t);
	assert_non_null(s1);
	cls_free(c);
	cls_stats_unregister(t, s0);
	cls_stats_unregister(t, s1);
	cls_table_destroy(t);
}

/* OpenFlow del-flows: non-strict deletes what the filter covers. */
static void test_delete_nonstrict(void **state)
{
	(void)state;
	struct cls_table *t = cls_table_create(64, 1);
	struct cls *c = cls_create(t);
	struct cls_match f, m;

	memset(&f, 0, sizeof(f));
	for (int p = 0; p <= 32; p += 8) {
		m = f;
		tu_dl_type(&m, 0x0800);
		tu_nw_dst(&m, 0x0a010203, p);
		add(&c, &m, (uint32_t)p, 1 + (uint64_t)p);
		m = f;
		tu_dl_type(&m, 0x0800);
		tu_nw_dst(&m, 0x0b010203, p); /* 11/8 */
		add(&c, &m, 100 + (uint32_t)p, 100 + (uint64_t)p);
	}
	m = f;
	tu_in_port(&m, 1); /* does not care about nw_dst: never covered below */
	add(&c, &m, 3, 999);
	assert_int_equal(cls_count(c), 11); /* the two /0 rules: one match, two priorities */

	/* 10.0.0.0/8 covers 10/8, 10.1/16, 10.1.2/24, /32 (any priority). */
	m = f;
	tu_dl_type(&m, 0x0800);
	tu_nw_dst(&m, 0x0a000000, 8);
	assert_int_equal(del(&c, &m, false, 0), 4);
	assert_int_equal(cls_count(c), 7);
	/* A filter more specific than a rule does not cover it. */
	m = f;
	tu_dl_type(&m, 0x0800);
	tu_nw_dst(&m, 0x0b010203, 16);
	const struct cls_rule *r16 = cls_find_exact(c, &m, 116);
	assert_non_null(r16);
	assert_true(cls_rule_covered(r16, &m));
	tu_nw_dst(&m, 0x0b010203, 24);
	assert_false(cls_rule_covered(r16, &m));
	assert_int_equal(del(&c, &m, false, 0), 2); /* 11.1.2/24 and /32 only */
	assert_int_equal(cls_count(c), 5);
	/* Strict needs the exact match and priority. */
	m = f;
	tu_dl_type(&m, 0x0800);
	tu_nw_dst(&m, 0x0b010203, 16);
	assert_int_equal(del(&c, &m, true, 115), 0);
	assert_int_equal(del(&c, &m, true, 116), 1);
	/* Filter value bits outside the mask are ignored. */
	m = f;
	m.value.nw_dst = htonl(0x0b999999);
	m.mask.nw_dst = htonl(0xff000000);
	tu_dl_type(&m, 0x0800);
	assert_int_equal(del(&c, &m, false, 0), 1); /* 11/8 */
	assert_int_equal(cls_count(c), 3);
	memset(&m, 0, sizeof(m));
	assert_int_equal(del(&c, &m, false, 0), 3); /* empty filter: all */
	assert_int_equal(cls_count(c), 0);
	assert_int_equal(cls_n_subtables(c), 0);
	cls_free(c);
	cls_table_destroy(t);
}

static void test_modify(void **state)
{
	(void)state;
	struct cls_table *t = cls_table_create(64, 1);
	struct cls *c = cls_create(t);
	struct cls_match m, f;
	struct action_list drop = {.n = 1, .a = {{.type = ACT_DROP}}};
	struct flow_key k = ipkey(1, 0x0a000005);
	int err;

	memset(&f, 0, sizeof(f));
	m = f;
	tu_nw_dst(&m, 0x0a000005, 32);
	add(&c, &m, 9, 1);
	m = f;
	tu_nw_dst(&m, 0x0a000000, 24);
	add(&c, &m, 8, 2);
	m = f;
	tu_in_port(&m, 1);
	add(&c, &m, 1, 3);
	uint32_t id = cls_lookup(c, &k)->id;

	struct cls_builder *b = cls_builder_create(c);
	assert_false(cls_builder_changed(b));
	tu_nw_dst(&f, 0x0a000000, 8);
	assert_int_equal(cls_builder_modify(b, &f, false, 0, &drop), 2);
	assert_true(cls_builder_changed(b));
	struct action_list bad = {.n = ACT_MAX + 1};
	assert_int_equal(cls_builder_modify(b, &f, false, 0, &bad), -EINVAL);
	struct cls *n = cls_builder_finish(b, &err);
	assert_non_null(n);
	const struct cls_rule *r = cls_lookup(n, &k);
	assert_int_equal(r->actions.a[0].type, ACT_DROP);
	assert_int_equal(r->cookie, 1);
	assert_int_equal(r->id, id);
	k.nw_dst = htonl(0x0a000006);
	assert_int_equal(cls_lookup(n, &k)->actions.a[0].type, ACT_DROP);
	k.nw_dst = htonl(0x0b000006);
	assert_int_equal(cls_lookup(n, &k)->actions.a[0].type, ACT_OUTPUT);
	/* The old snapshot is untouched (copy-on-write). */
	k.nw_dst = htonl(0x0a000005);
	assert_int_equal(cls_lookup(c, &k)->actions.a[0].type, ACT_OUTPUT);
	cls_free(c);
	cls_free(n);
	cls_table_destroy(t);
}

static void test_cow_snapshots(void **state)
{
	(void)state;
	struct cls_table *t = cls_table_create(64, 1);
	struct cls *c0 = cls_create(t), *c1, *c2;
	struct cls_match m, m2;
	struct flow_key k = ipkey(1, 2);
	int err, n;

	memset(&m, 0, sizeof(m));
	m2 = m;
	tu_in_port(&m, 1);
	tu_dl_type(&m2, 0x0800);
	struct cls_rule_spec s = tu_spec(&m, 5, 1), s2 = tu_spec(&m2, 6, 2);
	c1 = cls_with_rule_added(c0, &s, &err);
	c2 = cls_with_rule_added(c1, &s2, &err);
	assert_null(cls_lookup(c0, &k));
	assert_int_equal(hit(c1, &k), 1);
	assert_int_equal(hit(c2, &k), 2);
	/* Free in creation order: shared subtables and rules must survive. */
	cls_free(c0);
	cls_free(c1);
	assert_int_equal(hit(c2, &k), 2);
	struct cls *c3 = cls_with_rules_deleted(c2, &m2, true, 6, &n, &err);
	assert_int_equal(n, 1);
	assert_int_equal(hit(c3, &k), 1);
	assert_int_equal(hit(c2, &k), 2);
	assert_true(cls_generation(c3) > cls_generation(c2));
	cls_free(c3);
	assert_int_equal(hit(c2, &k), 2);
	cls_free(c2);
	cls_table_destroy(t);
}

static void test_errors(void **state)
{
	(void)state;
	struct cls_table *t = cls_table_create(3, 1);
	struct cls *c = cls_create(t), *old;
	struct cls_match m;
	int err;

	memset(&m, 0, sizeof(m));
	struct cls_rule_spec s = tu_spec(&m, 1, 1);
	s.actions.n = ACT_MAX + 1;
	assert_null(cls_with_rule_added(c, &s, &err));
	assert_int_equal(err, -EINVAL);
	for (uint32_t i = 0; i < 3; i++)
		assert_int_equal(add(&c, &m, i, i + 1), 0);
	assert_int_equal(add(&c, &m, 3, 4), -ENOSPC);
	assert_int_equal(add(&c, &m, 2, 5), 1); /* replacing needs no new id */
	/* A deleted rule's id is free only once no snapshot holds it. */
	old = c;
	int ndel;
	struct cls *n = cls_with_rules_deleted(c, &m, true, 0, &ndel, &err);
	assert_non_null(n);
	assert_int_equal(ndel, 1);
	c = n;
	assert_int_equal(add(&c, &m, 3, 6), -ENOSPC);
	cls_free(old);
	assert_int_equal(add(&c, &m, 3, 6), 0);
	/* Builder abort leaves nothing behind. */
	struct cls_builder *b = cls_builder_create(c);
	struct cls_rule_spec s2 = tu_spec(&m, 9, 9);
	assert_int_equal(cls_builder_delete(b, &m, false, 0), 3);
	assert_int_equal(cls_builder_add(b, &s2), -ENOSPC);
	cls_builder_abort(b);
	assert_int_equal(cls_count(c), 3);
	cls_free(c);
	cls_table_destroy(t);
}

/* The value is masked on add: bits outside the mask do not matter. */
static void test_value_masked(void **state)
{
	(void)state;
	struct cls_table *t = cls_table_create(8, 1);
	struct cls *c = cls_create(t);
	struct cls_match m;
	struct flow_key k = ipkey(1, 0x0a0000ff);

	memset(&m, 0, sizeof(m));
	m.value.nw_dst = htonl(0x0a0000aa);
	m.mask.nw_dst = htonl(0xffffff00);
	m.value.tp_dst = 77; /* not in the mask */
	add(&c, &m, 1, 1);
	assert_int_equal(hit(c, &k), 1);
	const struct cls_rule *r = cls_lookup(c, &k);
	assert_int_equal(r->value.nw_dst, htonl(0x0a000000));
	assert_int_equal(r->value.tp_dst, 0);
	assert_ptr_equal(cls_find_exact(c, &m, 1), r);
	cls_free(c);
	cls_table_destroy(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_priorities),
	    cmocka_unit_test(test_prefixes),
	    cmocka_unit_test(test_early_stop),
	    cmocka_unit_test(test_ties),
	    cmocka_unit_test(test_tie_across_early_stop),
	    cmocka_unit_test(test_same_match_chain),
	    cmocka_unit_test(test_replace_and_stats),
	    cmocka_unit_test(test_delete_nonstrict),
	    cmocka_unit_test(test_modify),
	    cmocka_unit_test(test_cow_snapshots),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_value_masked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
