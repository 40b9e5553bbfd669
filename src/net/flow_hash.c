/*
 * flow_hash.c - the masked whole-key hash (see flow_hash.h).
 */
#include "flow_hash.h"

uint32_t flow_key_hash(const struct flow_key *key, const struct flow_key *mask, uint32_t basis)
{
	const uint64_t *k = flow_words(key);
	uint32_t h = basis;

	if (mask) {
		const uint64_t *m = flow_words(mask);
		for (size_t i = 0; i < FLOW_KEY_WORDS; i++)
			h = flow_hash_add64(h, k[i] & m[i]);
	} else {
		for (size_t i = 0; i < FLOW_KEY_WORDS; i++)
			h = flow_hash_add64(h, k[i]);
	}
	return flow_hash_finish(h, sizeof(*key));
}
