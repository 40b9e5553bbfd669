/*
 * cls.h - the flow table (classifier): OpenFlow-style rules, each a priority, a
 * masked match on struct flow_key and an action list; a lookup returns the
 * highest-priority rule whose match covers the key.
 *
 * Algorithm: tuple-space search. Rules are grouped by mask into subtables,
 * one open-addressing hash table per distinct mask, keyed by the masked
 * value. Subtables are sorted by the best rule they hold; a lookup probes
 * them in that order and stops as soon as the best match so far outranks
 * everything the next subtable could return. Rules with the same match and
 * different priorities share one hash bucket, highest priority first.
 *
 * Ranking and ties: rule A outranks rule B when A.priority > B.priority, or
 * the priorities are equal and A was added first (A.seq < B.seq). Every rule
 * has a distinct seq, so this is a total order: among overlapping rules of the
 * same priority, the one added first wins, deterministically. Replacing a
 * rule (same priority and match) keeps its seq, i.e. its place in that order.
 *
 * Concurrency (see also "Publishing" below):
 *  - struct cls is an immutable snapshot. Any number of threads may call
 *    cls_lookup() and the other const readers on it with no lock, for as long
 *    as the snapshot lives.
 *  - Changes are made by ONE control thread: a struct cls_builder starts from
 *    a snapshot, takes adds/deletes/modifies, and cls_builder_finish() returns
 *    a new snapshot (copy-on-write: subtables the changes did not touch, and
 *    every rule object, are shared with the old snapshot, refcounted).
 *  - Every function that is not a const reader (builders, cls_free, the
 *    cls_table_* and cls_stats_register/unregister calls) runs on that control
 *    thread only; refcounts are plain integers.
 *
 * Publishing (the owner's job, not done here): store the new snapshot pointer
 * with release (rs_store_release), forwarding threads load it with acquire
 * once per burst and hold it until their next quiescent point; once every
 * forwarding thread has passed a quiescent point after the store, the owner
 * calls cls_free() on the old snapshot. cls_free() of the last snapshot that
 * references a rule is what retires that rule's statistics slot, so it must
 * not run before that grace period.
 *
 * Statistics: per forwarding thread, lock-free. Each forwarding thread owns a
 * struct cls_stats (from cls_stats_register) holding one counter triple per
 * rule id, and adds to it with cls_stats_add() - plain loads and stores, no
 * locked instruction; call it once per (rule, burst) with the burst's totals.
 * The control thread sums the blocks on demand (cls_rule_get_stats). A rule id
 * is a dense slot number 0..max_rules-1; it is reused only after the rule is
 * gone from every snapshot (and so from every thread), and the slot's
 * counters are zeroed at that moment, before the id can be given out again.
 * Modifying a rule's actions (an add with the same priority and match, or
 * cls_builder_modify) keeps its id and therefore its statistics, unless the
 * spec asks for reset_stats.
 *
 * A forwarding thread's burst, as the datapath is expected to write it:
 *
 *	c = rs_load_acquire(&owner->cls);        // pairs with the publish
 *	gen = cls_generation(c);
 *	for each packet: if (!emc_lookup(emc, key, hash, gen, &rule)) {
 *		rule = cls_lookup(c, key); emc_insert(emc, key, hash, gen, rule); }
 *	for each distinct rule of the burst: cls_stats_add(st, rule, n, bytes, now);
 *	quiescent point: c and every rule pointer from it are dropped.
 */
#ifndef RS_SWITCH_CLS_H
#define RS_SWITCH_CLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/compiler.h"
#include "../net/flow.h"
#include "action.h"

/* A match: key matches when (key & mask) == (value & mask), word by word. */
struct cls_match {
	struct flow_key value; /* bits outside 'mask' are ignored (masked on add) */
	struct flow_key mask;  /* 1 bits: the rule cares about this bit */
};

/* What the control plane asks for; copied, the caller keeps ownership. */
struct cls_rule_spec {
	struct cls_match match;
	uint32_t priority; /* higher wins */
	uint64_t cookie;   /* opaque to the classifier */
	uint64_t created;  /* caller's clock, opaque; kept on replace unless reset_stats */
	struct action_list actions;
	bool reset_stats; /* when replacing: fresh id and zeroed counters */
};

/*
 * A rule, as stored. Immutable once its snapshot is published; shared by every
 * snapshot that contains it; freed by cls_free() of the last one. Readers get
 * const pointers valid while they hold a snapshot containing the rule.
 */
struct cls_rule {
	struct flow_key value; /* pre-masked; first, next to priority, for lookup */
	uint32_t priority;
	uint32_t id;  /* statistics slot; unique among live rules, see above */
	uint64_t seq; /* add order, for ties: lower wins */
	struct flow_key mask;
	uint64_t cookie;
	uint64_t created;
	struct action_list actions;
	uint32_t refcnt; /* private: subtables + builders holding it (control) */
};

/* One rule's counters in one thread's block; 'used' is the caller's clock. */
struct cls_counters {
	uint64_t packets;
	uint64_t bytes;
	uint64_t used; /* last time a packet hit the rule, 0: never */
};

/* A forwarding thread's counters, indexed by rule id. Written only by it. */
struct cls_stats {
	uint32_t n_slots; /* == the table's max_rules */
	uint32_t index;	  /* private: registration slot */
	struct cls_counters c[];
};

struct cls_table;   /* control-side context: ids, generations, stat blocks */
struct cls;	    /* immutable snapshot */
struct cls_builder; /* a change in progress */

/* --- table (control thread) ------------------------------------------- */

/*
 * Creates the context shared by every snapshot of one flow table: room for
 * 'max_rules' live rule ids (counting rules only old, not yet freed,
 * snapshots still hold) and 'max_threads' statistics blocks. NULL on bad
 * sizes or no memory.
 */
struct cls_table *cls_table_create(uint32_t max_rules, uint32_t max_threads);

/* Frees 't'. Every snapshot and builder of it must be gone already. */
void cls_table_destroy(struct cls_table *t);

/*
 * A statistics block for one forwarding thread, zeroed; NULL when
 * 'max_threads' blocks are registered or on no memory. The thread writes it
 * with cls_stats_add only.
 */
struct cls_stats *cls_stats_register(struct cls_table *t);

/*
 * Folds 'st' into the table's retired totals (so no count is lost) and frees
 * it. The owning thread must no longer be able to touch it.
 */
void cls_stats_unregister(struct cls_table *t, struct cls_stats *st);

/*
 * Sums 'rule''s counters over every thread (packets, bytes; 'used' is the
 * latest). Valid while 'rule' is alive; counts may be slightly behind
 * packets in flight. Control thread.
 */
void cls_rule_get_stats(const struct cls_table *t, const struct cls_rule *rule,
			struct cls_counters *out);

/* Fast path: 'packets' packets of 'bytes' bytes in total hit 'rule' at 'now'. */
static inline void cls_stats_add(struct cls_stats *st, const struct cls_rule *rule,
				 uint32_t packets, uint64_t bytes, uint64_t now)
{
	struct cls_counters *c = &st->c[rule->id];

	rs_stat_add(&c->packets, packets);
	rs_stat_add(&c->bytes, bytes);
	rs_store_relaxed(&c->used, now);
}

/* --- snapshots ---------------------------------------------------------- */

/* A new, empty snapshot of 't' (control thread). NULL on no memory. */
struct cls *cls_create(struct cls_table *t);

/*
 * Frees snapshot 'c' (NULL is fine): drops its references on subtables and
 * rules, and retires the ids of rules no other snapshot holds. Control thread,
 * and only after every reader passed a quiescent point since 'c' was
 * unpublished.
 */
void cls_free(struct cls *c);

/*
 * The best rule matching 'key' (see "Ranking and ties"), or NULL. Lock-free,
 * no allocation, no writes; any thread.
 */
const struct cls_rule *cls_lookup(const struct cls *c, const struct flow_key *key);

/*
 * The snapshot's generation: unique and increasing per table, never 0. A
 * cached lookup result tagged with it is valid exactly while 'c' is current.
 */
uint64_t cls_generation(const struct cls *c);

size_t cls_count(const struct cls *c);	     /* rules */
size_t cls_n_subtables(const struct cls *c); /* distinct masks */
struct cls_table *cls_get_table(const struct cls *c);

/* The rule with exactly this match and priority, or NULL. */
const struct cls_rule *cls_find_exact(const struct cls *c, const struct cls_match *m,
				      uint32_t priority);

/*
 * True when 'filter' covers 'rule' (OpenFlow non-strict semantics): every bit
 * the filter's mask has, the rule's mask has too, and the rule's value agrees
 * with the filter's value on those bits. An all-zero filter covers every rule.
 */
bool cls_rule_covered(const struct cls_rule *rule, const struct cls_match *filter);

/*
 * Every rule of 'c' in lookup precedence order (priority descending, then
 * seq ascending) into a new array '*rules' of '*n' entries, which the caller
 * frees with free(). The pointers are valid while 'c' lives. 0 or -ENOMEM.
 */
int cls_dump(const struct cls *c, const struct cls_rule ***rules, size_t *n);

/* --- changes (control thread) ------------------------------------------ */

/*
 * Starts a change from snapshot 'base' (which is not modified and may be
 * freed only after the builder finished or was aborted). NULL on no memory.
 */
struct cls_builder *cls_builder_create(const struct cls *base);

/*
 * Adds a rule. A rule with the same priority and match is replaced: the new
 * cookie and actions, the old id, seq and statistics (new id and zero counts
 * if 'spec->reset_stats'). Returns 0 when added, 1 when replaced, -EINVAL on a
 * bad action count, -ENOSPC when max_rules ids are in use, -ENOMEM.
 */
int cls_builder_add(struct cls_builder *b, const struct cls_rule_spec *spec);

/*
 * Deletes rules: with 'strict', the one rule whose match equals 'filter'
 * exactly (mask and masked value) and whose priority is 'priority'; without,
 * every rule 'filter' covers (cls_rule_covered), whatever its priority.
 * Returns how many rules were deleted, or -ENOMEM.
 */
int cls_builder_delete(struct cls_builder *b, const struct cls_match *filter, bool strict,
		       uint32_t priority);

/*
 * Replaces the actions of the rules cls_builder_delete would delete with
 * the same arguments; ids, seq and statistics are kept. Returns how many rules
 * were changed, -EINVAL on a bad action count, -ENOMEM.
 */
int cls_builder_modify(struct cls_builder *b, const struct cls_match *filter, bool strict,
		       uint32_t priority, const struct action_list *actions);

/* True once an add, delete or modify actually changed something. */
bool cls_builder_changed(const struct cls_builder *b);

/*
 * Ends the change: the new snapshot (next generation), or NULL with '*err'
 * set (-ENOMEM). The builder is freed either way.
 */
struct cls *cls_builder_finish(struct cls_builder *b, int *err);

/* Drops the change; frees 'b' (NULL is fine). */
void cls_builder_abort(struct cls_builder *b);

/* One-change shortcuts over a builder. NULL with '*err' set on failure. */
struct cls *cls_with_rule_added(const struct cls *old, const struct cls_rule_spec *spec, int *err);

/* '*n_deleted' gets the count; NULL with '*err' set on failure. */
struct cls *cls_with_rules_deleted(const struct cls *old, const struct cls_match *filter,
				   bool strict, uint32_t priority, int *n_deleted, int *err);

#endif
