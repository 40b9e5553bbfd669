/*
 * emc.h - the exact-match cache: a per-forwarding-thread cache in front of the
 * classifier, keyed by the whole flow key, remembering which rule (or that
 * no rule) a key matched in a given classifier snapshot.
 *
 * Layout: 4-way set associative. A set is one tag cache line (the four keys'
 * hashes and generations) followed by the four (key, rule) entries, 512 bytes
 * in all, cache-line aligned. A lookup reads the tag line and, only when a
 * tag matches, the one entry it names: one or two further lines.
 *
 * Validity: every entry carries the generation of the classifier snapshot
 * (cls_generation) it was computed from. A lookup passes the generation of
 * the snapshot the thread currently holds; any other generation is a miss,
 * so publishing a new snapshot invalidates the whole cache at once and a
 * stale rule pointer is never returned (nor dereferenced here: the cache
 * never reads through 'rule'). Generation 0 marks an empty entry.
 *
 * Threads: an emc belongs to one forwarding thread; nothing here is shared.
 * The counters may be read by others (relaxed, see rs_stat_get).
 */
#ifndef RS_SWITCH_EMC_H
#define RS_SWITCH_EMC_H

#include <stdbool.h>
#include <stdint.h>

#include "../lib/compiler.h"
#include "../net/flow.h"

struct cls_rule;

#define EMC_WAYS 4

struct emc_entry {
	struct flow_key key;
	const struct cls_rule *rule; /* NULL: a cached "no rule matched" */
};

struct emc_set {
	uint32_t hash[EMC_WAYS]; /* the key's hash, as given by the caller */
	uint64_t gen[EMC_WAYS];	 /* snapshot generation; 0: empty */
	uint8_t victim;		 /* next way to evict when all are live */
	struct emc_entry e[EMC_WAYS] RS_CACHE_ALIGN;
} RS_CACHE_ALIGN;

struct emc_stats {
	uint64_t hits;	 /* including negative hits */
	uint64_t misses; /* absent, other generation, or hash collision */
	uint64_t inserts;
	uint64_t evictions; /* a live (current generation) entry was overwritten */
};

struct emc {
	struct emc_set *sets; /* owned */
	uint32_t set_mask;    /* number of sets - 1 */
	struct emc_stats stats;
};

/*
 * Sets up a cache of 'n_entries' entries (a power of two, >= EMC_WAYS), all
 * empty. 0, -EINVAL, -ENOMEM.
 */
int emc_init(struct emc *emc, uint32_t n_entries);

/* Frees the entries; 'emc' may be initialised again. */
void emc_fini(struct emc *emc);

/* Empties every entry (counters are kept). */
void emc_flush(struct emc *emc);

/*
 * Looks 'key' (whose hash is 'hash') up for snapshot generation 'gen'. On a
 * hit returns true and stores the cached rule, possibly NULL, in '*rule'.
 */
bool emc_lookup(struct emc *emc, const struct flow_key *key, uint32_t hash, uint64_t gen,
		const struct cls_rule **rule);

/*
 * Caches 'rule' (NULL: no rule matched) for 'key' in generation 'gen' (!= 0).
 * Replaces the key's entry if present, else an empty or stale way, else the
 * set's round-robin victim.
 */
void emc_insert(struct emc *emc, const struct flow_key *key, uint32_t hash, uint64_t gen,
		const struct cls_rule *rule);

/*
 * A hash of the whole key, for callers that have none (e.g. no RSS hash).
 * Any hash works as long as the same key always gets the same one.
 */
uint32_t emc_hash_key(const struct flow_key *key);

/*
 * The cheap alternative the forwarding threads use: the set and tag derived
 * from the frame's steering hash (pkt_flow_hash) and ingress port, as OVS's
 * EMC uses the RSS hash. Keys that share it (same 5-tuple, other MACs or
 * VLAN) share a set and are told apart by the full-key compare.
 */
static inline uint32_t emc_hash_from_flow(uint32_t flow_hash, uint32_t in_port)
{
	return flow_hash ^ (in_port * 0x9e3779b1u);
}

#endif
