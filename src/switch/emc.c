/*
 * emc.c - the exact-match cache: set selection by the low hash bits, a tag
 * check on the set's first cache line, a full-key compare on a tag hit.
 */
#include "emc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(struct emc_set) == 512, "a set is 8 cache lines");
_Static_assert(offsetof(struct emc_set, e) == RS_CACHE_LINE, "tags fill the first line");

int emc_init(struct emc *emc, uint32_t n_entries)
{
	memset(emc, 0, sizeof(*emc));
	if (n_entries < EMC_WAYS || (n_entries & (n_entries - 1)) != 0)
		return -EINVAL;
	emc->sets = aligned_alloc(RS_CACHE_LINE, (size_t)n_entries / EMC_WAYS * sizeof(*emc->sets));
	if (!emc->sets)
		return -ENOMEM;
	emc->set_mask = n_entries / EMC_WAYS - 1;
	emc_flush(emc);
	return 0;
}

void emc_fini(struct emc *emc)
{
	free(emc->sets);
	emc->sets = NULL;
	emc->set_mask = 0;
}

void emc_flush(struct emc *emc)
{
	memset(emc->sets, 0, ((size_t)emc->set_mask + 1) * sizeof(*emc->sets));
}

static bool emc_key_eq(const struct flow_key *a, const struct flow_key *b)
{
	const uint64_t *x = flow_words(a), *y = flow_words(b);
	uint64_t diff = 0;

	for (size_t i = 0; i < FLOW_KEY_WORDS; i++)
		diff |= x[i] ^ y[i];
	return diff == 0;
}

bool emc_lookup(struct emc *emc, const struct flow_key *key, uint32_t hash, uint64_t gen,
		const struct cls_rule **rule)
{
	const struct emc_set *s = &emc->sets[hash & emc->set_mask];

	for (int w = 0; w < EMC_WAYS; w++) {
		if (s->hash[w] == hash && s->gen[w] == gen && emc_key_eq(&s->e[w].key, key)) {
			*rule = s->e[w].rule;
			rs_stat_add(&emc->stats.hits, 1);
			return true;
		}
	}
	rs_stat_add(&emc->stats.misses, 1);
	return false;
}

/* The way to write 'key' to: its own, else empty or stale, else the victim. */
static int emc_pick_way(struct emc *emc, struct emc_set *s, const struct flow_key *key,
			uint32_t hash, uint64_t gen)
{
	int w;

	for (w = 0; w < EMC_WAYS; w++)
		if (s->gen[w] && s->hash[w] == hash && emc_key_eq(&s->e[w].key, key))
			return w;
	for (w = 0; w < EMC_WAYS; w++)
		if (s->gen[w] != gen)
			return w;
	w = s->victim;
	s->victim = (uint8_t)((w + 1) % EMC_WAYS);
	rs_stat_add(&emc->stats.evictions, 1);
	return w;
}

void emc_insert(struct emc *emc, const struct flow_key *key, uint32_t hash, uint64_t gen,
		const struct cls_rule *rule)
{
	struct emc_set *s = &emc->sets[hash & emc->set_mask];
	int w = emc_pick_way(emc, s, key, hash, gen);

	s->e[w].key = *key;
	s->e[w].rule = rule;
	s->hash[w] = hash;
	s->gen[w] = gen;
	rs_stat_add(&emc->stats.inserts, 1);
}

uint32_t emc_hash_key(const struct flow_key *key)
{
	const uint64_t *k = flow_words(key);
	uint64_t h = 0x452821e638d01377ULL;

	for (size_t i = 0; i < FLOW_KEY_WORDS; i++) {
		h ^= k[i];
		h *= 0x9e3779b97f4a7c15ULL;
		h ^= h >> 32;
	}
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 32;
	return (uint32_t)h;
}
