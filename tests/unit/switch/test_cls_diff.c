/*
 * test_cls_diff.c - differential test: the classifier against a trivial
 * linear classifier (written here, byte by byte, sharing no code with cls.c)
 * on random rule sets. Masks come from a pool of realistic field
 * combinations with random prefix lengths (plus some arbitrary bit masks);
 * priorities are drawn from a narrow range in half of the seeds so that
 * ties are common. After every change, both must agree on the count, on
 * the dump order, and on the rule thousands of random and rule-derived keys
 * hit; older snapshots must keep answering as they did (copy-on-write).
 *
 * RS_CLS_DIFF_SEEDS=n runs n seeds instead of the default.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cls_testutil.h"

#define DEFAULT_SEEDS	120
#define KEYS_PER_CHECK	600 /* half random, half derived from rules */
#define MAX_TABLE_RULES 4096

/* --- the reference: a list and a linear scan ------------------------------ */

struct ref_rule {
	struct flow_key value, mask;
	uint32_t prio;
	uint64_t seq;
	uint64_t cookie;
	uint32_t port; /* actions.a[0].port, changed by modify */
};

struct ref {
	struct ref_rule *r;
	size_t n, cap;
	uint64_t next_seq;
};

static const uint8_t *B(const struct flow_key *k)
{
	return (const uint8_t *)k;
}

static bool ref_matches(const struct ref_rule *r, const struct flow_key *key)
{
	for (size_t i = 0; i < sizeof(*key); i++)
		if ((B(key)[i] & B(&r->mask)[i]) != B(&r->value)[i])
			return false;
	return true;
}

static bool ref_better(const struct ref_rule *a, const struct ref_rule *b)
{
	return a->prio > b->prio || (a->prio == b->prio && a->seq < b->seq);
}

static const struct ref_rule *ref_lookup(const struct ref *ref, const struct flow_key *key)
{
	const struct ref_rule *best = NULL;

	for (size_t i = 0; i < ref->n; i++)
		if (ref_matches(&ref->r[i], key) && (!best || ref_better(&ref->r[i], best)))
			best = &ref->r[i];
	return best;
}

static void ref_mask(struct flow_key *out, const struct cls_match *m)
{
	for (size_t i = 0; i < sizeof(*out); i++)
		((uint8_t *)out)[i] = B(&m->value)[i] & B(&m->mask)[i];
}

static void ref_add(struct ref *ref, const struct cls_rule_spec *s)
{
	struct ref_rule n = {.mask = s->match.mask, .prio = s->priority, .cookie = s->cookie};

	ref_mask(&n.value, &s->match);
	n.port = s->actions.a[0].port;
	for (size_t i = 0; i < ref->n; i++) {
		struct ref_rule *r = &ref->r[i];
		if (r->prio == n.prio && !memcmp(&r->mask, &n.mask, sizeof(n.mask)) &&
		    !memcmp(&r->value, &n.value, sizeof(n.value))) {
			r->cookie = n.cookie;
			r->port = n.port;
			return;
		}
	}
	if (ref->n == ref->cap) {
		ref->cap = ref->cap ? 2 * ref->cap : 64;
		ref->r = realloc(ref->r, ref->cap * sizeof(*ref->r));
		assert_non_null(ref->r);
	}
	n.seq = ref->next_seq++;
	ref->r[ref->n++] = n;
}

static bool ref_selected(const struct ref_rule *r, const struct cls_match *f, bool strict,
			 uint32_t prio)
{
	struct flow_key fv;

	ref_mask(&fv, f);
	if (strict)
		return r->prio == prio && !memcmp(&r->mask, &f->mask, sizeof(fv)) &&
		       !memcmp(&r->value, &fv, sizeof(fv));
	for (size_t i = 0; i < sizeof(fv); i++) {
		uint8_t fm = B(&f->mask)[i];
		if ((B(&r->mask)[i] & fm) != fm || (B(&r->value)[i] & fm) != B(&fv)[i])
			return false;
	}
	return true;
}

/* Deletes (port < 0) or sets the port of the selected rules; returns count. */
static int ref_apply(struct ref *ref, const struct cls_match *f, bool strict, uint32_t prio,
		     int64_t port)
{
	size_t kept = 0;
	int hits = 0;

	for (size_t i = 0; i < ref->n; i++) {
		struct ref_rule r = ref->r[i];
		if (ref_selected(&r, f, strict, prio)) {
			hits++;
			if (port < 0)
				continue;
			r.port = (uint32_t)port;
		}
		ref->r[kept++] = r;
	}
	ref->n = kept;
	return hits;
}

static struct ref ref_clone(const struct ref *ref)
{
	struct ref c = *ref;

	c.r = malloc((ref->cap ? ref->cap : 1) * sizeof(*c.r));
	assert_non_null(c.r);
	memcpy(c.r, ref->r, ref->n * sizeof(*c.r));
	return c;
}

/* --- random rules and keys --------------------------------------------------- */

static uint64_t rng_state;
static unsigned cur_seed;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static uint32_t rn(uint32_t n)
{
	return (uint32_t)(rnd() % n);
}

static void random_key(struct flow_key *k)
{
	static const uint16_t types[] = {0x0800, 0x0800, 0x0800, 0x86dd, 0x0806};
	static const uint8_t protos[] = {6, 6, 17, 1};
	static const uint16_t ports[] = {22, 53, 80, 443, 8080, 1024, 1025, 1026};

	memset(k, 0, sizeof(*k));
	k->in_port = 1 + rn(4);
	k->dl_type = htons(types[rn(5)]);
	k->vlan_tci = rn(2) ? htons((uint16_t)(FLOW_VLAN_PRESENT | (1 + rn(3)))) : 0;
	k->dl_dst = (struct eth_addr){{2, 0, 0, 0, 0, (uint8_t)(1 + rn(6))}};
	k->dl_src = (struct eth_addr){{2, 0, 0, 0, 0, (uint8_t)(1 + rn(6))}};
	k->nw_proto = protos[rn(4)];
	k->nw_tos = (uint8_t)(rn(4) << 2);
	k->nw_ttl = 64;
	k->nw_src = htonl(0x0a000000 | rn(4) << 16 | rn(4) << 8 | rn(8));
	k->nw_dst = htonl(0x0a000000 | rn(4) << 16 | rn(4) << 8 | rn(8));
	k->ipv6_dst[0] = 0xfd;
	k->ipv6_dst[7] = (uint8_t)rn(4);
	k->ipv6_dst[15] = (uint8_t)rn(8);
	k->tp_src = htons(ports[rn(8)]);
	k->tp_dst = htons(ports[rn(8)]);
}

static int random_plen(bool wide)
{
	static const int common[] = {8, 16, 24, 32};
	return wide ? (int)rn(33) : common[rn(4)];
}

static void mask_ipv6_dst(struct flow_key *m, int plen)
{
	for (int i = 0; i < 16; i++) {
		int bits = plen - 8 * i;
		m->ipv6_dst[i] = bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
	}
}

/* A mask from the pool of realistic field combinations. */
static void random_mask(struct flow_key *m, bool wide)
{
	struct cls_match x;

	memset(&x, 0, sizeof(x));
	switch (rn(11)) {
	case 0: /* catch-all */
		break;
	case 1:
		tu_in_port(&x, 0);
		break;
	case 2:
		tu_dl_dst(&x, 0);
		break;
	case 3:
		tu_dl_type(&x, 0);
		tu_nw_dst(&x, 0, random_plen(wide));
		break;
	case 4:
		tu_dl_type(&x, 0);
		tu_nw_src(&x, 0, random_plen(wide));
		tu_nw_dst(&x, 0, random_plen(wide));
		break;
	case 5:
		tu_dl_type(&x, 0);
		tu_nw_proto(&x, 0);
		tu_tp_dst(&x, 0);
		break;
	case 6:
		tu_in_port(&x, 0);
		tu_dl_type(&x, 0);
		tu_nw_proto(&x, 0);
		tu_nw_dst(&x, 0, random_plen(wide));
		tu_tp_dst(&x, 0);
		break;
	case 7:
		memset(&x.mask.dl_src, 0xff, sizeof(x.mask.dl_src));
		x.mask.vlan_tci = htons(FLOW_VLAN_PRESENT | FLOW_VLAN_VID_MASK);
		break;
	case 8:
		tu_dl_type(&x, 0);
		mask_ipv6_dst(&x.mask, 8 * (int)rn(17));
		break;
	case 9:
		tu_dl_type(&x, 0);
		tu_nw_proto(&x, 0);
		tu_nw_src(&x, 0, random_plen(wide));
		tu_tp_src(&x, 0);
		tu_tp_dst(&x, 0);
		break;
	default: /* arbitrary bits */
		x.mask.tp_dst = (uint16_t)rnd();
		x.mask.nw_tos = (uint8_t)(rn(2) ? 0x0c : 0);
		x.mask.in_port = rn(2) ? 3 : 0;
		break;
	}
	*m = x.mask;
}

struct world {
	struct cls_table *t;
	struct cls *c;
	struct ref ref;
	bool wide;	/* any prefix length, not just /8 /16 /24 /32 */
	uint32_t prios; /* priorities in [0, prios) */
	uint64_t cookie;
};

static void key_from_rule(struct flow_key *k, const struct ref_rule *r)
{
	random_key(k);
	for (size_t i = 0; i < sizeof(*k); i++)
		((uint8_t *)k)[i] = (uint8_t)((B(k)[i] & ~B(&r->mask)[i]) | B(&r->value)[i]);
}

static struct cls_rule_spec random_spec(struct world *w)
{
	struct cls_match m;

	if (w->ref.n && rn(10) == 0) { /* same match and priority: a replace */
		const struct ref_rule *r = &w->ref.r[rn((uint32_t)w->ref.n)];
		m.mask = r->mask;
		m.value = r->value;
		return tu_spec(&m, r->prio, ++w->cookie);
	}
	random_mask(&m.mask, w->wide);
	random_key(&m.value); /* cls masks it */
	return tu_spec(&m, rn(w->prios), ++w->cookie);
}

/* --- checks ------------------------------------------------------------------ */

static void fail_at(const char *what, size_t i)
{
	print_error("seed %u: %s mismatch at %zu\n", cur_seed, what, i);
	fail();
}

static void check_key(const struct cls *c, const struct ref *ref, const struct flow_key *k,
		      size_t i)
{
	const struct cls_rule *got = cls_lookup(c, k);
	const struct ref_rule *want = ref_lookup(ref, k);

	if (!got != !want)
		fail_at(got ? "lookup (unexpected hit)" : "lookup (unexpected miss)", i);
	if (got && (got->cookie != want->cookie || got->actions.a[0].port != want->port ||
		    got->priority != want->prio))
		fail_at("lookup (wrong rule)", i);
}

static int ref_cmp(const void *a, const void *b)
{
	return ref_better(a, b) ? -1 : ref_better(b, a) ? 1 : 0;
}

static void check_dump(const struct cls *c, const struct ref *ref)
{
	struct ref sorted = ref_clone(ref);
	const struct cls_rule **rules;
	size_t n;

	assert_int_equal(cls_dump(c, &rules, &n), 0);
	if (n != ref->n)
		fail_at("count", n);
	qsort(sorted.r, sorted.n, sizeof(*sorted.r), ref_cmp);
	for (size_t i = 0; i < n; i++)
		if (rules[i]->cookie != sorted.r[i].cookie)
			fail_at("dump order", i);
	free(rules);
	free(sorted.r);
}

static void check(const struct cls *c, const struct ref *ref)
{
	struct flow_key k;

	if (cls_count(c) != ref->n)
		fail_at("cls_count", cls_count(c));
	check_dump(c, ref);
	for (size_t i = 0; i < KEYS_PER_CHECK; i++) {
		if (i % 2 == 0 || ref->n == 0)
			random_key(&k);
		else
			key_from_rule(&k, &ref->r[rn((uint32_t)ref->n)]);
		check_key(c, ref, &k, i);
	}
}

/* --- changes, applied to both ------------------------------------------------- */

static void commit(struct world *w, struct cls_builder *b, bool keep_old)
{
	int err;
	struct cls *n = cls_builder_finish(b, &err);

	assert_non_null(n);
	if (!keep_old)
		cls_free(w->c);
	w->c = n;
}

static void add_batch(struct world *w, uint32_t count)
{
	struct cls_builder *b = cls_builder_create(w->c);

	for (uint32_t i = 0; i < count; i++) {
		struct cls_rule_spec s = random_spec(w);
		assert_true(cls_builder_add(b, &s) >= 0);
		ref_add(&w->ref, &s);
	}
	commit(w, b, false);
}

/* A filter covering 'r' or something near it: some of its words, shorter prefixes. */
static void random_filter(struct cls_match *f, const struct ref_rule *r)
{
	uint64_t m[FLOW_KEY_WORDS];

	memcpy(m, &r->mask, sizeof(m));
	for (size_t i = 0; i < FLOW_KEY_WORDS; i++)
		if (rn(2))
			m[i] = 0;
	memcpy(&f->mask, m, sizeof(m));
	if (f->mask.nw_dst && rn(2))
		f->mask.nw_dst &= htonl(tu_prefix_mask((int)rn(33)));
	if (rn(4) == 0) /* sometimes a filter that covers nothing of r */
		random_mask(&f->mask, true);
	random_key(&f->value);
	if (rn(4) != 0)
		key_from_rule(&f->value, r);
}

static void change_batch(struct world *w, uint32_t count)
{
	struct cls_builder *b = cls_builder_create(w->c);

	for (uint32_t i = 0; i < count && w->ref.n; i++) {
		const struct ref_rule *r = &w->ref.r[rn((uint32_t)w->ref.n)];
		struct cls_match f = {.value = r->value, .mask = r->mask};
		uint32_t prio = r->prio + (rn(8) == 0); /* strict miss now and then */
		bool strict = rn(3) == 0;
		int64_t port = rn(5) == 0 ? (int64_t)rn(1000) : -1;
		struct action_list acts = {.n = 1, .a = {{.type = ACT_OUTPUT}}};
		int got, want;

		if (!strict)
			random_filter(&f, r);
		want = ref_apply(&w->ref, &f, strict, prio, port);
		if (port < 0) {
			got = cls_builder_delete(b, &f, strict, prio);
		} else {
			acts.a[0].port = (uint32_t)port;
			got = cls_builder_modify(b, &f, strict, prio, &acts);
		}
		if (got != want)
			fail_at(port < 0 ? "delete count" : "modify count", (size_t)got);
	}
	commit(w, b, false);
}

static void run_seed(unsigned seed)
{
	struct world w = {0};
	struct cls *old;
	struct ref old_ref;

	cur_seed = seed;
	rng_state = 0x9e3779b97f4a7c15ULL * (seed + 1);
	w.t = cls_table_create(MAX_TABLE_RULES, 1);
	w.c = cls_create(w.t);
	w.wide = rn(2);
	w.prios = rn(2) ? 8 : 1000;
	for (uint32_t n = 20 + rn(280); w.ref.n < n;)
		add_batch(&w, 1 + rn(rn(2) ? 3 : 60));
	check(w.c, &w.ref);

	/* Keep this snapshot; it must not see anything that follows. */
	old = w.c;
	old_ref = ref_clone(&w.ref);
	commit(&w, cls_builder_create(w.c), true);
	for (int round = 0; round < 4; round++) {
		change_batch(&w, 1 + rn(round < 2 ? 4 : 20));
		check(w.c, &w.ref);
		add_batch(&w, rn(10));
	}
	check(w.c, &w.ref);
	check(old, &old_ref);
	cls_free(old);

	struct cls_match all;
	memset(&all, 0, sizeof(all));
	struct cls_builder *b = cls_builder_create(w.c);
	assert_int_equal(cls_builder_delete(b, &all, false, 0), (int)w.ref.n);
	commit(&w, b, false);
	assert_int_equal(cls_count(w.c), 0);
	assert_int_equal(cls_n_subtables(w.c), 0);
	cls_free(w.c);
	cls_table_destroy(w.t);
	free(w.ref.r);
	free(old_ref.r);
}

static void test_differential(void **state)
{
	(void)state;
	const char *env = getenv("RS_CLS_DIFF_SEEDS");
	unsigned seeds = env ? (unsigned)strtoul(env, NULL, 0) : DEFAULT_SEEDS;

	for (unsigned s = 0; s < seeds; s++)
		run_seed(s);
	print_message("differential: %u seeds passed\n", seeds);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_differential),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
