/*
 * cls.c - the flow table: immutable tuple-space-search snapshots, the
 * copy-on-write builder that makes the next one, rule ids and per-thread
 * statistics. The contract (ranking, ties, who calls what) is in cls.h.
 *
 * Ownership: a snapshot holds one reference on each of its subtables; a
 * subtable (and a builder's draft) holds one reference on each of its rules;
 * a rule object holds one reference on its id. All counts are plain integers
 * touched only by the control thread. Readers never write anything here.
 */
#include "cls.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* One hash slot of a subtable: the best rule of one distinct match. */
struct cls_bucket {
	const struct cls_rule *best; /* NULL: empty slot */
	uint32_t hash;
	uint32_t first; /* index in rules[] where this match's group starts */
};

/* All rules with one mask. Immutable once built; shared by snapshots. */
struct cls_subtable {
	struct flow_key mask;
	uint8_t words[FLOW_KEY_WORDS]; /* indices of the mask's non-zero words */
	uint32_t n_words;
	uint32_t bucket_mask; /* buckets - 1; at most half the buckets are used */
	struct cls_bucket *buckets;
	struct cls_rule **rules; /* grouped by match, priority descending within */
	uint32_t n_rules;
	uint32_t refcnt;   /* snapshots holding it */
	uint32_t max_prio; /* best rule: highest priority ... */
	uint64_t min_seq;  /* ... and lowest seq among those */
};

/* A snapshot's entry for a subtable: its best rank, kept inline for the scan. */
struct cls_ref {
	uint32_t max_prio;
	uint64_t min_seq;
	struct cls_subtable *st;
};

struct cls {
	struct cls_table *table;
	uint64_t gen;
	uint32_t n_rules;
	uint32_t n_subs;
	struct cls_ref refs[]; /* best rank first */
};

struct cls_table {
	uint32_t max_rules;
	uint32_t max_threads;
	uint32_t *id_refs;  /* rule objects using each id */
	uint32_t *free_ids; /* stack of unused ids */
	uint32_t n_free;
	uint64_t next_seq;
	uint64_t last_gen;
	struct cls_stats **blocks; /* [max_threads], NULL: free */
	struct cls_stats *retired; /* counts of unregistered threads */
};

/* A builder's view of one mask: the base subtable until first changed. */
struct cls_draft {
	struct flow_key mask;
	struct cls_subtable *old; /* the base snapshot's subtable, or NULL */
	bool dirty;		  /* rules[] (holding references) is current */
	struct cls_rule **rules;
	uint32_t n, cap;
	uint32_t *index;     /* (priority, value) -> rules[] position + 1; 0: empty */
	uint32_t index_mask; /* index slots - 1; 0: none (rebuilt when needed) */
	uint32_t scans;	     /* finds done by a linear scan, see CLS_SCANS */
	bool aligned;	     /* rules[i] has the identity of old->rules[i], i < old's count */
};

/*
 * The first few finds in a draft scan it (cheaper than indexing a big
 * subtable for one change); after that the draft keeps a hash index, so a
 * bulk load is linear, not quadratic.
 */
#define CLS_SCANS 4

struct cls_builder {
	struct cls_table *t;
	struct cls_draft *d;
	uint32_t n, cap;
	bool changed;
};

/* --- small helpers ------------------------------------------------------ */

static const uint64_t *cls_words(const struct flow_key *k)
{
	return flow_words(k);
}

static bool cls_key_eq(const struct flow_key *a, const struct flow_key *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

static void cls_mask_value(struct flow_key *out, const struct cls_match *m)
{
	const uint64_t *v = cls_words(&m->value), *k = cls_words(&m->mask);
	uint64_t w[FLOW_KEY_WORDS];

	for (size_t i = 0; i < FLOW_KEY_WORDS; i++)
		w[i] = v[i] & k[i];
	memcpy(out, w, sizeof(*out));
}

/* True when a outranks b: higher priority, or equal and added earlier. */
static bool cls_outranks(uint32_t pa, uint64_t sa, uint32_t pb, uint64_t sb)
{
	return pa > pb || (pa == pb && sa < sb);
}

/* The subtable hash of (k & m) over the listed words; own, small, no deps. */
static uint32_t cls_hash(const uint64_t *k, const uint64_t *m, const uint8_t *w, uint32_t n)
{
	uint64_t h = 0x243f6a8885a308d3ULL;

	for (uint32_t i = 0; i < n; i++) {
		h ^= k[w[i]] & m[w[i]];
		h *= 0x9e3779b97f4a7c15ULL;
		h ^= h >> 32;
	}
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 32;
	return (uint32_t)h;
}

static bool cls_words_match(const uint64_t *k, const uint64_t *m, const uint64_t *v,
			    const uint8_t *w, uint32_t n)
{
	uint64_t diff = 0;

	for (uint32_t i = 0; i < n; i++)
		diff |= (k[w[i]] & m[w[i]]) ^ v[w[i]];
	return diff == 0;
}

/* --- ids and statistics --------------------------------------------------- */

static struct cls_stats *cls_stats_alloc(uint32_t n_slots)
{
	size_t size = sizeof(struct cls_stats) + (size_t)n_slots * sizeof(struct cls_counters);
	struct cls_stats *st;

	size = (size + RS_CACHE_LINE - 1) & ~(size_t)(RS_CACHE_LINE - 1);
	st = aligned_alloc(RS_CACHE_LINE, size);
	if (!st)
		return NULL;
	memset(st, 0, size);
	st->n_slots = n_slots;
	return st;
}

struct cls_table *cls_table_create(uint32_t max_rules, uint32_t max_threads)
{
	struct cls_table *t;

	if (max_rules == 0 || max_threads == 0)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->max_rules = max_rules;
	t->max_threads = max_threads;
	t->id_refs = calloc(max_rules, sizeof(*t->id_refs));
	t->free_ids = calloc(max_rules, sizeof(*t->free_ids));
	t->blocks = calloc(max_threads, sizeof(*t->blocks));
	t->retired = cls_stats_alloc(max_rules);
	if (!t->id_refs || !t->free_ids || !t->blocks || !t->retired) {
		cls_table_destroy(t);
		return NULL;
	}
	for (uint32_t i = 0; i < max_rules; i++)
		t->free_ids[i] = max_rules - 1 - i; /* id 0 is handed out first */
	t->n_free = max_rules;
	return t;
}

void cls_table_destroy(struct cls_table *t)
{
	if (!t)
		return;
	for (uint32_t i = 0; t->blocks && i < t->max_threads; i++)
		free(t->blocks[i]);
	free(t->blocks);
	free(t->retired);
	free(t->free_ids);
	free(t->id_refs);
	free(t);
}

struct cls_stats *cls_stats_register(struct cls_table *t)
{
	for (uint32_t i = 0; i < t->max_threads; i++) {
		if (t->blocks[i])
			continue;
		t->blocks[i] = cls_stats_alloc(t->max_rules);
		if (t->blocks[i])
			t->blocks[i]->index = i;
		return t->blocks[i];
	}
	return NULL;
}

void cls_stats_unregister(struct cls_table *t, struct cls_stats *st)
{
	struct cls_counters *r = t->retired->c;

	if (!st)
		return;
	for (uint32_t i = 0; i < t->max_rules; i++) {
		r[i].packets += rs_stat_get(&st->c[i].packets);
		r[i].bytes += rs_stat_get(&st->c[i].bytes);
		r[i].used = RS_MAX(r[i].used, rs_stat_get(&st->c[i].used));
	}
	t->blocks[st->index] = NULL;
	free(st);
}

static void cls_counters_fold(struct cls_counters *out, const struct cls_counters *c)
{
	uint64_t used = rs_stat_get(&c->used);

	out->packets += rs_stat_get(&c->packets);
	out->bytes += rs_stat_get(&c->bytes);
	out->used = RS_MAX(out->used, used);
}

void cls_rule_get_stats(const struct cls_table *t, const struct cls_rule *rule,
			struct cls_counters *out)
{
	memset(out, 0, sizeof(*out));
	cls_counters_fold(out, &t->retired->c[rule->id]);
	for (uint32_t i = 0; i < t->max_threads; i++)
		if (t->blocks[i])
			cls_counters_fold(out, &t->blocks[i]->c[rule->id]);
}

static int cls_id_alloc(struct cls_table *t, uint32_t *id)
{
	if (t->n_free == 0)
		return -ENOSPC;
	*id = t->free_ids[--t->n_free];
	t->id_refs[*id] = 1;
	return 0;
}

/*
 * Drops one reference on 'id'. The last one retires it: nothing can reach a
 * rule with this id any more (the grace period has passed, see cls_free), so
 * the owning threads will not write these counters again until a rule
 * published later reuses the id; zeroing them now is race-free.
 */
static void cls_counters_zero(struct cls_counters *c)
{
	rs_store_relaxed(&c->packets, 0);
	rs_store_relaxed(&c->bytes, 0);
	rs_store_relaxed(&c->used, 0);
}

static void cls_id_put(struct cls_table *t, uint32_t id)
{
	if (--t->id_refs[id] != 0)
		return;
	cls_counters_zero(&t->retired->c[id]);
	for (uint32_t i = 0; i < t->max_threads; i++)
		if (t->blocks[i])
			cls_counters_zero(&t->blocks[i]->c[id]);
	t->free_ids[t->n_free++] = id;
}

/* --- rules -------------------------------------------------------------- */

static void cls_rule_put(struct cls_table *t, struct cls_rule *r)
{
	if (--r->refcnt != 0)
		return;
	cls_id_put(t, r->id);
	free(r);
}

/* A copy of 'r' with 'actions', sharing its id (one more id reference). */
static struct cls_rule *cls_rule_clone(struct cls_table *t, const struct cls_rule *r,
				       const struct action_list *actions)
{
	struct cls_rule *n = malloc(sizeof(*n));

	if (!n)
		return NULL;
	*n = *r;
	n->actions = *actions;
	n->refcnt = 1;
	t->id_refs[n->id]++;
	return n;
}

bool cls_rule_covered(const struct cls_rule *rule, const struct cls_match *filter)
{
	const uint64_t *rm = cls_words(&rule->mask), *rv = cls_words(&rule->value);
	const uint64_t *fm = cls_words(&filter->mask), *fv = cls_words(&filter->value);

	for (size_t i = 0; i < FLOW_KEY_WORDS; i++)
		if ((rm[i] & fm[i]) != fm[i] || (rv[i] & fm[i]) != (fv[i] & fm[i]))
			return false;
	return true;
}

/* 'filter' is pre-masked here. */
static bool cls_rule_selected(const struct cls_rule *r, const struct cls_match *filter, bool strict,
			      uint32_t priority)
{
	if (!strict)
		return cls_rule_covered(r, filter);
	return r->priority == priority && cls_key_eq(&r->mask, &filter->mask) &&
	       cls_key_eq(&r->value, &filter->value);
}

static int cls_rank_cmp(const struct cls_rule *a, const struct cls_rule *b)
{
	if (cls_outranks(a->priority, a->seq, b->priority, b->seq))
		return -1;
	return cls_outranks(b->priority, b->seq, a->priority, a->seq) ? 1 : 0;
}

static int cls_rule_ptr_cmp(const void *a, const void *b)
{
	return cls_rank_cmp(*(const struct cls_rule *const *)a, *(const struct cls_rule *const *)b);
}

/* --- subtables ------------------------------------------------------------ */

static uint32_t cls_value_hash(const struct cls_subtable *st, const struct flow_key *value)
{
	return cls_hash(cls_words(value), cls_words(&st->mask), st->words, st->n_words);
}

/* The bucket holding pre-masked 'value', or the empty one where it would go. */
static uint32_t cls_subtable_slot(const struct cls_subtable *st, uint32_t h,
				  const struct flow_key *value)
{
	for (uint32_t i = h & st->bucket_mask;; i = (i + 1) & st->bucket_mask) {
		const struct cls_bucket *b = &st->buckets[i];

		if (!b->best || (b->hash == h && cls_key_eq(&b->best->value, value)))
			return i;
	}
}

static const struct cls_rule *cls_subtable_lookup(const struct cls_subtable *st,
						  const struct flow_key *key)
{
	const uint64_t *k = cls_words(key), *m = cls_words(&st->mask);
	uint32_t h = cls_hash(k, m, st->words, st->n_words);

	for (uint32_t i = h & st->bucket_mask;; i = (i + 1) & st->bucket_mask) {
		const struct cls_bucket *b = &st->buckets[i];

		if (!b->best)
			return NULL;
		if (b->hash == h &&
		    cls_words_match(k, m, cls_words(&b->best->value), st->words, st->n_words))
			return b->best;
	}
}

static void cls_subtable_put(struct cls_table *t, struct cls_subtable *st)
{
	if (--st->refcnt != 0)
		return;
	for (uint32_t i = 0; i < st->n_rules; i++)
		cls_rule_put(t, st->rules[i]);
	free(st->rules);
	free(st->buckets);
	free(st);
}

/* Frees a subtable that holds no rule references yet (NULL is fine). */
static void cls_subtable_free_empty(struct cls_subtable *st)
{
	if (!st)
		return;
	free(st->rules);
	free(st->buckets);
	free(st);
}

static struct cls_subtable *cls_subtable_alloc(const struct flow_key *mask, uint32_t n)
{
	struct cls_subtable *st = calloc(1, sizeof(*st));
	uint32_t nb = 2;

	if (!st)
		return NULL;
	while (nb < 2 * n)
		nb <<= 1;
	st->mask = *mask;
	for (uint32_t i = 0; i < FLOW_KEY_WORDS; i++)
		if (cls_words(mask)[i])
			st->words[st->n_words++] = (uint8_t)i;
	st->bucket_mask = nb - 1;
	st->buckets = calloc(nb, sizeof(*st->buckets));
	st->rules = malloc((size_t)n * sizeof(*st->rules));
	if (!st->buckets || !st->rules) {
		cls_subtable_free_empty(st);
		return NULL;
	}
	st->n_rules = n;
	return st;
}

/* Sorts each match group by rank, points its bucket at the best, sets max. */
static void cls_subtable_finish(struct cls_subtable *st)
{
	for (uint32_t i = 0; i <= st->bucket_mask; i++) {
		struct cls_bucket *b = &st->buckets[i];
		uint32_t end = b->first + 1;

		if (!b->best)
			continue;
		while (end < st->n_rules && cls_key_eq(&st->rules[end]->value, &b->best->value))
			end++;
		qsort(&st->rules[b->first], end - b->first, sizeof(*st->rules), cls_rule_ptr_cmp);
		b->best = st->rules[b->first];
	}
	st->max_prio = st->rules[0]->priority;
	st->min_seq = st->rules[0]->seq;
	for (uint32_t i = 1; i < st->n_rules; i++) {
		const struct cls_rule *r = st->rules[i];

		if (cls_outranks(r->priority, r->seq, st->max_prio, st->min_seq)) {
			st->max_prio = r->priority;
			st->min_seq = r->seq;
		}
	}
}

/*
 * Builds a subtable of the 'n' (> 0) rules, all with mask 'mask' and distinct
 * (priority, match), taking a reference on each. Two passes: place each rule's
 * match in a bucket and count its group, then lay the groups out contiguously.
 */
static struct cls_subtable *cls_subtable_build(const struct flow_key *mask,
					       struct cls_rule *const *rules, uint32_t n)
{
	struct cls_subtable *st = cls_subtable_alloc(mask, n);
	uint32_t *slot = malloc((size_t)n * sizeof(*slot));
	uint32_t *fill = st ? calloc(st->bucket_mask + 1, sizeof(*fill)) : NULL;
	uint32_t pos = 0;

	if (!st || !slot || !fill) {
		free(slot);
		free(fill);
		cls_subtable_free_empty(st);
		return NULL;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint32_t h = cls_value_hash(st, &rules[i]->value);
		uint32_t s = cls_subtable_slot(st, h, &rules[i]->value);

		st->buckets[s].best = rules[i];
		st->buckets[s].hash = h;
		fill[s]++;
		slot[i] = s;
	}
	for (uint32_t s = 0; s <= st->bucket_mask; s++) {
		st->buckets[s].first = pos;
		pos += fill[s];
		fill[s] = 0;
	}
	for (uint32_t i = 0; i < n; i++) {
		struct cls_bucket *b = &st->buckets[slot[i]];

		st->rules[b->first + fill[slot[i]]++] = rules[i];
		rules[i]->refcnt++;
	}
	free(slot);
	free(fill);
	cls_subtable_finish(st);
	return st;
}

/* --- snapshots ------------------------------------------------------------ */

static struct cls *cls_alloc(struct cls_table *t, uint32_t n_subs)
{
	struct cls *c = calloc(1, sizeof(*c) + (size_t)n_subs * sizeof(c->refs[0]));

	if (c)
		c->table = t;
	return c;
}

struct cls *cls_create(struct cls_table *t)
{
	struct cls *c = cls_alloc(t, 0);

	if (c)
		c->gen = ++t->last_gen;
	return c;
}

void cls_free(struct cls *c)
{
	if (!c)
		return;
	for (uint32_t i = 0; i < c->n_subs; i++)
		cls_subtable_put(c->table, c->refs[i].st);
	free(c);
}

const struct cls_rule *cls_lookup(const struct cls *c, const struct flow_key *key)
{
	const struct cls_rule *best = NULL;

	for (uint32_t i = 0; i < c->n_subs; i++) {
		const struct cls_ref *ref = &c->refs[i];
		const struct cls_rule *hit;

		/* Sorted by rank: nothing from here on can beat 'best'. */
		if (best && cls_outranks(best->priority, best->seq, ref->max_prio, ref->min_seq))
			break;
		hit = cls_subtable_lookup(ref->st, key);
		if (hit &&
		    (!best || cls_outranks(hit->priority, hit->seq, best->priority, best->seq)))
			best = hit;
	}
	return best;
}

uint64_t cls_generation(const struct cls *c)
{
	return c->gen;
}

size_t cls_count(const struct cls *c)
{
	return c->n_rules;
}

size_t cls_n_subtables(const struct cls *c)
{
	return c->n_subs;
}

struct cls_table *cls_get_table(const struct cls *c)
{
	return c->table;
}

/* Index in st->rules[] of the rule with this pre-masked value and priority, or -1. */
static int cls_subtable_find(const struct cls_subtable *st, const struct flow_key *value,
			     uint32_t priority)
{
	const struct cls_bucket *b =
	    &st->buckets[cls_subtable_slot(st, cls_value_hash(st, value), value)];

	for (uint32_t j = b->first; b->best && j < st->n_rules; j++) {
		if (!cls_key_eq(&st->rules[j]->value, value))
			break;
		if (st->rules[j]->priority == priority)
			return (int)j;
	}
	return -1;
}

const struct cls_rule *cls_find_exact(const struct cls *c, const struct cls_match *m,
				      uint32_t priority)
{
	struct flow_key value;

	cls_mask_value(&value, m);
	for (uint32_t i = 0; i < c->n_subs; i++) {
		const struct cls_subtable *st = c->refs[i].st;
		int j;

		if (!cls_key_eq(&st->mask, &m->mask))
			continue;
		j = cls_subtable_find(st, &value, priority);
		return j < 0 ? NULL : st->rules[j];
	}
	return NULL;
}

int cls_dump(const struct cls *c, const struct cls_rule ***rules, size_t *n)
{
	const struct cls_rule **out = malloc((c->n_rules ? c->n_rules : 1) * sizeof(*out));
	size_t k = 0;

	if (!out)
		return -ENOMEM;
	for (uint32_t i = 0; i < c->n_subs; i++)
		for (uint32_t j = 0; j < c->refs[i].st->n_rules; j++)
			out[k++] = c->refs[i].st->rules[j];
	qsort(out, k, sizeof(*out), cls_rule_ptr_cmp);
	*rules = out;
	*n = k;
	return 0;
}

/* --- builder ---------------------------------------------------------------- */

static void cls_draft_release(struct cls_table *t, struct cls_draft *d)
{
	if (d->dirty)
		for (uint32_t i = 0; i < d->n; i++)
			cls_rule_put(t, d->rules[i]);
	free(d->rules);
	free(d->index);
}

static void cls_builder_free(struct cls_builder *b)
{
	for (uint32_t i = 0; i < b->n; i++)
		cls_draft_release(b->t, &b->d[i]);
	free(b->d);
	free(b);
}

void cls_builder_abort(struct cls_builder *b)
{
	if (b)
		cls_builder_free(b);
}

static struct cls_draft *cls_draft_new(struct cls_builder *b, const struct flow_key *mask)
{
	if (b->n == b->cap) {
		uint32_t cap = b->cap ? 2 * b->cap : 8;
		struct cls_draft *d = realloc(b->d, cap * sizeof(*d));

		if (!d)
			return NULL;
		b->d = d;
		b->cap = cap;
	}
	memset(&b->d[b->n], 0, sizeof(b->d[0]));
	b->d[b->n].mask = *mask;
	return &b->d[b->n++];
}

struct cls_builder *cls_builder_create(const struct cls *base)
{
	struct cls_builder *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->t = base->table;
	for (uint32_t i = 0; i < base->n_subs; i++) {
		struct cls_draft *d = cls_draft_new(b, &base->refs[i].st->mask);

		if (!d) {
			cls_builder_free(b);
			return NULL;
		}
		d->old = base->refs[i].st;
	}
	return b;
}

static int cls_draft_reserve(struct cls_draft *d, uint32_t n)
{
	uint32_t cap = d->cap ? d->cap : 8;
	struct cls_rule **r;

	if (n <= d->cap)
		return 0;
	while (cap < n)
		cap *= 2;
	r = realloc(d->rules, cap * sizeof(*r));
	if (!r)
		return -ENOMEM;
	d->rules = r;
	d->cap = cap;
	return 0;
}

/* Makes rules[] current: a referenced copy of the base subtable's rules. */
static int cls_draft_materialize(struct cls_draft *d)
{
	uint32_t n = d->old ? d->old->n_rules : 0;

	if (d->dirty)
		return 0;
	if (cls_draft_reserve(d, n + 1))
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		d->rules[i] = d->old->rules[i];
		d->rules[i]->refcnt++;
	}
	d->n = n;
	d->dirty = true;
	d->aligned = d->old != NULL;
	return 0;
}

/* The draft for 'mask' (made current), created empty if new. */
static struct cls_draft *cls_draft_get(struct cls_builder *b, const struct flow_key *mask)
{
	struct cls_draft *d = NULL;

	for (uint32_t i = 0; i < b->n && !d; i++)
		if (cls_key_eq(&b->d[i].mask, mask))
			d = &b->d[i];
	if (!d)
		d = cls_draft_new(b, mask);
	if (!d || cls_draft_materialize(d))
		return NULL;
	return d;
}

/* Hash of a rule's identity; 'value' is pre-masked, so it can mask itself. */
static uint32_t cls_identity_hash(const struct flow_key *value, uint32_t priority)
{
	static const uint8_t all[FLOW_KEY_WORDS] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
	const uint64_t *v = cls_words(value);

	return cls_hash(v, v, all, FLOW_KEY_WORDS) ^ (priority * 0x9e3779b1u);
}

static void cls_index_insert(struct cls_draft *d, uint32_t pos)
{
	const struct cls_rule *r = d->rules[pos];
	uint32_t i = cls_identity_hash(&r->value, r->priority) & d->index_mask;

	while (d->index[i])
		i = (i + 1) & d->index_mask;
	d->index[i] = pos + 1;
}

/* Makes sure the index covers rules[] with room for one more at most half full. */
static int cls_index_reserve(struct cls_draft *d)
{
	uint32_t size = 16;

	if (!d->index_mask && d->scans < CLS_SCANS)
		return 0;
	if (d->index_mask && 2 * (d->n + 1) <= d->index_mask + 1)
		return 0;
	while (size < 4 * (d->n + 1))
		size <<= 1;
	free(d->index);
	d->index_mask = 0;
	d->index = calloc(size, sizeof(*d->index));
	if (!d->index)
		return -ENOMEM;
	d->index_mask = size - 1;
	for (uint32_t i = 0; i < d->n; i++)
		cls_index_insert(d, i);
	return 0;
}

/* Position of the rule with this priority and value in the current draft, or -1. */
static int cls_draft_find(struct cls_draft *d, const struct flow_key *value, uint32_t priority)
{
	if (!d->index_mask) {
		uint32_t from = 0;

		if (d->aligned) { /* the base's hash table, then the rules added since */
			int pos = cls_subtable_find(d->old, value, priority);

			if (pos >= 0)
				return pos;
			from = d->old->n_rules;
		}
		d->scans++;
		for (uint32_t i = from; i < d->n; i++)
			if (d->rules[i]->priority == priority &&
			    cls_key_eq(&d->rules[i]->value, value))
				return (int)i;
		return -1;
	}
	for (uint32_t i = cls_identity_hash(value, priority) & d->index_mask; d->index[i];
	     i = (i + 1) & d->index_mask) {
		const struct cls_rule *r = d->rules[d->index[i] - 1];

		if (r->priority == priority && cls_key_eq(&r->value, value))
			return (int)d->index[i] - 1;
	}
	return -1;
}

static struct cls_rule *cls_rule_from_spec(const struct cls_rule_spec *spec)
{
	struct cls_rule *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	cls_mask_value(&r->value, &spec->match);
	r->mask = spec->match.mask;
	r->priority = spec->priority;
	r->cookie = spec->cookie;
	r->created = spec->created;
	r->actions = spec->actions;
	r->refcnt = 1; /* the draft's */
	return r;
}

/* Gives 'r' the identity of 'old' (or a fresh id with reset_stats). */
static int cls_rule_inherit(struct cls_table *t, struct cls_rule *r, const struct cls_rule *old,
			    bool reset)
{
	r->seq = old->seq;
	if (reset)
		return cls_id_alloc(t, &r->id);
	r->id = old->id;
	r->created = old->created;
	t->id_refs[r->id]++;
	return 0;
}

int cls_builder_add(struct cls_builder *b, const struct cls_rule_spec *spec)
{
	struct cls_rule *r;
	struct cls_draft *d;
	int idx, err;

	if (spec->actions.n > ACT_MAX)
		return -EINVAL;
	r = cls_rule_from_spec(spec);
	d = r ? cls_draft_get(b, &spec->match.mask) : NULL;
	if (!d || cls_draft_reserve(d, d->n + 1) || cls_index_reserve(d)) {
		free(r);
		return -ENOMEM;
	}
	idx = cls_draft_find(d, &r->value, r->priority);
	if (idx >= 0)
		err = cls_rule_inherit(b->t, r, d->rules[idx], spec->reset_stats);
	else
		err = cls_id_alloc(b->t, &r->id);
	if (err) {
		free(r);
		return err;
	}
	b->changed = true;
	if (idx >= 0) {
		cls_rule_put(b->t, d->rules[idx]);
		d->rules[idx] = r;
		return 1;
	}
	r->seq = b->t->next_seq++;
	d->rules[d->n] = r;
	if (d->index_mask)
		cls_index_insert(d, d->n);
	d->n++;
	return 0;
}

/* Whether any rule of 'd' can be selected, judged from the mask alone. */
static bool cls_draft_may_select(const struct cls_draft *d, const struct cls_match *f, bool strict)
{
	const uint64_t *dm = cls_words(&d->mask), *fm = cls_words(&f->mask);

	if (strict)
		return cls_key_eq(&d->mask, &f->mask);
	for (size_t i = 0; i < FLOW_KEY_WORDS; i++)
		if ((dm[i] & fm[i]) != fm[i])
			return false;
	return true;
}

/*
 * Deletes (actions == NULL) or re-actions the selected rules of draft 'd'.
 * Returns how many, or -ENOMEM (the draft then stays consistent).
 */
static int cls_draft_apply(struct cls_builder *b, struct cls_draft *d, const struct cls_match *f,
			   bool strict, uint32_t priority, const struct action_list *actions)
{
	const struct cls_subtable *old = d->dirty ? NULL : d->old;
	uint32_t n = old ? old->n_rules : (d->dirty ? d->n : 0), kept = 0;
	struct cls_rule *const *rules = old ? old->rules : d->rules;
	int hits = 0;

	if (!cls_draft_may_select(d, f, strict))
		return 0;
	for (uint32_t i = 0; i < n; i++)
		hits += cls_rule_selected(rules[i], f, strict, priority);
	if (hits == 0)
		return 0;
	if (cls_draft_materialize(d))
		return -ENOMEM;
	b->changed = true;
	/* Modifying never drops a rule, so kept == i if a clone fails. */
	for (uint32_t i = 0; i < d->n; i++) {
		struct cls_rule *r = d->rules[i], *n2;

		if (!cls_rule_selected(r, f, strict, priority)) {
			d->rules[kept++] = r;
		} else if (!actions) {
			cls_rule_put(b->t, r);
		} else {
			n2 = cls_rule_clone(b->t, r, actions);
			if (!n2)
				return -ENOMEM;
			cls_rule_put(b->t, r);
			d->rules[kept++] = n2;
		}
	}
	if (kept != d->n) { /* positions moved */
		d->index_mask = 0;
		d->aligned = false;
	}
	d->n = kept;
	return hits;
}

static int cls_builder_apply(struct cls_builder *b, const struct cls_match *filter, bool strict,
			     uint32_t priority, const struct action_list *actions)
{
	struct cls_match f = *filter;
	int total = 0;

	if (actions && actions->n > ACT_MAX)
		return -EINVAL;
	cls_mask_value(&f.value, filter);
	for (uint32_t i = 0; i < b->n; i++) {
		int n = cls_draft_apply(b, &b->d[i], &f, strict, priority, actions);

		if (n < 0)
			return n;
		total += n;
	}
	return total;
}

int cls_builder_delete(struct cls_builder *b, const struct cls_match *filter, bool strict,
		       uint32_t priority)
{
	return cls_builder_apply(b, filter, strict, priority, NULL);
}

int cls_builder_modify(struct cls_builder *b, const struct cls_match *filter, bool strict,
		       uint32_t priority, const struct action_list *actions)
{
	return cls_builder_apply(b, filter, strict, priority, actions);
}

bool cls_builder_changed(const struct cls_builder *b)
{
	return b->changed;
}

static int cls_ref_cmp(const void *a, const void *b)
{
	const struct cls_ref *x = a, *y = b;

	if (cls_outranks(x->max_prio, x->min_seq, y->max_prio, y->min_seq))
		return -1;
	return cls_outranks(y->max_prio, y->min_seq, x->max_prio, x->min_seq) ? 1 : 0;
}

/* The subtable draft 'd' ends up as (a new reference), NULL if empty. */
static int cls_draft_commit(struct cls_draft *d, struct cls_subtable **out)
{
	*out = NULL;
	if (!d->dirty && d->old) {
		*out = d->old;
		d->old->refcnt++;
	} else if (d->n > 0) {
		*out = cls_subtable_build(&d->mask, d->rules, d->n);
		if (!*out)
			return -ENOMEM;
		(*out)->refcnt = 1;
	}
	return 0;
}

struct cls *cls_builder_finish(struct cls_builder *b, int *err)
{
	struct cls *c = cls_alloc(b->t, b->n);

	*err = c ? 0 : -ENOMEM;
	for (uint32_t i = 0; c && i < b->n; i++) {
		struct cls_subtable *st;

		*err = cls_draft_commit(&b->d[i], &st);
		if (*err) {
			cls_free(c);
			c = NULL;
		} else if (st) {
			c->refs[c->n_subs++] = (struct cls_ref){st->max_prio, st->min_seq, st};
			c->n_rules += st->n_rules;
		}
	}
	if (c) {
		qsort(c->refs, c->n_subs, sizeof(c->refs[0]), cls_ref_cmp);
		c->gen = ++b->t->last_gen;
	}
	cls_builder_free(b);
	return c;
}

struct cls *cls_with_rule_added(const struct cls *old, const struct cls_rule_spec *spec, int *err)
{
	struct cls_builder *b = cls_builder_create(old);
	int rc;

	if (!b) {
		*err = -ENOMEM;
		return NULL;
	}
	rc = cls_builder_add(b, spec);
	if (rc < 0) {
		cls_builder_abort(b);
		*err = rc;
		return NULL;
	}
	return cls_builder_finish(b, err);
}

struct cls *cls_with_rules_deleted(const struct cls *old, const struct cls_match *filter,
				   bool strict, uint32_t priority, int *n_deleted, int *err)
{
	struct cls_builder *b = cls_builder_create(old);
	int rc;

	*n_deleted = 0;
	if (!b) {
		*err = -ENOMEM;
		return NULL;
	}
	rc = cls_builder_delete(b, filter, strict, priority);
	if (rc < 0) {
		cls_builder_abort(b);
		*err = rc;
		return NULL;
	}
	*n_deleted = rc;
	return cls_builder_finish(b, err);
}
