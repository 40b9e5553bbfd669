/*
 * flow_hash.h - hashing of flow keys: the 32-bit mixing steps (MurmurHash3's
 * block and finalisation functions, public domain) that every hash in the
 * tree builds on, and flow_key_hash(), the masked whole-key hash that the
 * classifier and the exact-match cache use.
 *
 * Why not the SSE4.2 crc32 instruction: it needs -msse4.2 or a run-time
 * dispatch, and its value would differ between builds. The multiply-rotate
 * mix below costs a few cycles per 32-bit word, distributes well in every bit
 * (crc32 is weak in the high bits for short inputs) and gives the same value
 * on every build and machine, so tests can pin it down.
 */
#ifndef RS_NET_FLOW_HASH_H
#define RS_NET_FLOW_HASH_H

#include <stdint.h>

#include "flow.h"

static inline uint32_t flow_hash_rotl(uint32_t x, unsigned r)
{
	return (x << r) | (x >> (32 - r));
}

/* Mixes the 32-bit 'data' into the running hash 'h' (one MurmurHash3 block). */
static inline uint32_t flow_hash_add(uint32_t h, uint32_t data)
{
	data *= 0xcc9e2d51u;
	data = flow_hash_rotl(data, 15);
	data *= 0x1b873593u;
	h ^= data;
	h = flow_hash_rotl(h, 13);
	return h * 5 + 0xe6546b64u;
}

static inline uint32_t flow_hash_add64(uint32_t h, uint64_t data)
{
	return flow_hash_add(flow_hash_add(h, (uint32_t)data), (uint32_t)(data >> 32));
}

/* Final avalanche; 'nbytes' is the number of bytes mixed in. */
static inline uint32_t flow_hash_finish(uint32_t h, uint32_t nbytes)
{
	h ^= nbytes;
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/*
 * Hashes all FLOW_KEY_WORDS words of 'key', each ANDed with the same word of
 * 'mask' when 'mask' is not NULL, starting from 'basis'. Two keys that are
 * equal under the mask hash equally; pad fields count, so callers keep them
 * zero (pkt_parse() does).
 */
uint32_t flow_key_hash(const struct flow_key *key, const struct flow_key *mask, uint32_t basis);

#endif
