/*
 * dp_memo.h - the burst's flow memo: what the pipeline decided for the
 * previous frame of a burst (its parsed key, steering hash, port-security
 * verdict, classifier rule and L2 destination), reused for the next frame
 * when that frame is provably the same flow. A burst is mostly one flow (a
 * TCP window, a generator's stream), and OVS groups each batch per flow for
 * the same reason.
 *
 * Soundness: the parser is a pure function of the frame's length and the
 * bytes it reads. The memo records an upper bound of the bytes read (the
 * extent, pkt_parse_extent()) and matches only a frame of the same length whose first 'extent'
 * bytes equal the recorded copy, taken from the pbuf (the switch's private
 * copy, not guest memory) before any action changed it. So a hit yields
 * exactly the key a new parse would, and everything derived from the key in
 * the same view (hash, verdicts, rule, learning table lookups within the
 * burst) is the same too. Frames the parser flagged as anomalous are never
 * memoised. A burst whose flows interleave stops memoising after
 * DP_MEMO_STRIKES misses in a row, so it pays for at most that many copies.
 * Lives in the per-thread burst scratch space; reset per burst.
 */
#ifndef RS_DP_MEMO_H
#define RS_DP_MEMO_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "../lib/compiler.h"
#include "../net/flow.h"
#include "../net/pkt_parse.h"

/* Most header bytes a memo compares: Ethernet + VLAN + IPv6 + a few extension headers + TCP. */
#define DP_MEMO_HDR_MAX 128
/* Misses in a row after which a burst stops memoising (its flows interleave). */
#define DP_MEMO_STRIKES 2

struct cls_rule;

struct dp_memo {
	bool valid;
	bool sec_ok;		     /* port security verdict */
	bool l2_done;		     /* l2_port holds normal's decision for this frame's key */
	uint8_t strikes;	     /* misses of a valid memo since the last hit */
	int l2_port;		     /* known destination port, or -1: flood */
	uint32_t len;		     /* frame length */
	uint32_t extent;	     /* bytes compared: at least every byte the parser read */
	uint32_t hash;		     /* pkt_flow_hash of the key */
	const struct cls_rule *rule; /* the classifier's verdict (NULL: no rule) */
	struct flow_key key;	     /* as parsed, before any action changed it */
	uint8_t hdr[DP_MEMO_HDR_MAX];
};

/* Records the parse of 'data' ('len' bytes) whose extent is 'ext' (> 0). */
static inline void dp_memo_store(struct dp_memo *m, const uint8_t *data, uint32_t len, uint32_t ext,
				 const struct flow_key *key, uint32_t hash, bool sec_ok)
{
	m->valid = true;
	m->len = len;
	m->extent = ext;
	m->hash = hash;
	m->sec_ok = sec_ok;
	m->rule = NULL;
	m->l2_done = false;
	m->key = *key;
	memcpy(m->hdr, data, ext);
}

/* Is the frame ('len' bytes, the first 'head' of them at 'data') the memoised flow? */
static inline bool dp_memo_match(const struct dp_memo *m, const uint8_t *data, uint32_t len,
				 uint32_t head)
{
	return m->valid && m->len == len && m->extent <= head &&
	       memcmp(m->hdr, data, m->extent) == 0;
}

#endif
