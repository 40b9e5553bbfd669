/*
 * dp_memo.h - the burst's memos. The flow memo: what the pipeline decided
 * for the previous frame of a burst (its parsed key, steering hash,
 * port-security verdict, classifier rule, and normal's destination when the
 * frame went unchanged to one port), reused for the next frame when
 * that frame is provably the same flow. A burst is mostly one flow (a TCP
 * window, a generator's stream), and OVS groups each batch per flow for the
 * same reason. The L2 memo: normal's learning decision for the last pair of
 * addresses, which many flows share.
 *
 * Soundness: the parser is a pure function of the frame's length and the
 * bytes it reads. The memo records which bytes the key depends on
 * (pkt_parse_mask(), a superset the fuzzer checks) and matches only a frame
 * of the same length that agrees on those bytes with the recorded copy,
 * taken from the pbuf (the switch's private copy, not guest memory) before
 * any action changed it. The IP id and checksum and TCP sequence numbers are
 * not among them, so the segments of one TCP stream match too. A hit yields
 * exactly the key a new parse would, and everything derived from the key in
 * the same view (hash, verdicts, rule) is the same too; normal's destination
 * is the L2 memo's answer for the same addresses in the same burst. Frames the parser
 * flagged as anomalous are never memoised. A burst whose flows interleave
 * stops memoising after DP_MEMO_STRIKES misses in a row, so it pays for at
 * most that many copies. Both live in the per-thread burst scratch space and
 * are reset per burst.
 */
#ifndef RS_DP_MEMO_H
#define RS_DP_MEMO_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "../net/flow.h"
#include "../net/pkt_parse.h"

/* Most header bytes a memo compares: Ethernet + VLAN + IPv6 + a few extension headers + TCP. */
#define DP_MEMO_HDR_MAX PKT_PARSE_MASK_MAX
/* Misses in a row after which a burst stops memoising (its flows interleave). */
#define DP_MEMO_STRIKES 2

struct cls_rule;

struct dp_memo {
	bool valid;
	bool sec_ok;		     /* port security verdict */
	uint8_t strikes;	     /* misses of a valid memo since the last hit */
	uint32_t len;		     /* frame length */
	uint32_t extent;	     /* one past the last byte under the mask */
	uint32_t hash;		     /* pkt_flow_hash of the key */
	const struct cls_rule *rule; /* the classifier's verdict (NULL: no rule) */
	uint32_t normal_port;	     /* normal's one destination for the frame as it is, or 0 */
	struct flow_key key;	     /* as parsed, before any action changed it */
	uint8_t hdr[DP_MEMO_HDR_MAX];
	uint8_t mask[DP_MEMO_HDR_MAX]; /* pkt_parse_mask() */
};

/*
 * The learning decision for one (VLAN, source, destination) in this burst:
 * the refresh is per second and the burst is one instant, so it holds for
 * every frame between the same two addresses, whatever flow they carry.
 */
struct dp_l2_memo {
	bool valid;
	uint16_t vlan;
	struct eth_addr src, dst;
	int port;
};

/* Records the parse of 'data' ('len' bytes) whose mask (extent 'ext' > 0) is in m->mask. */
static inline void dp_memo_store(struct dp_memo *m, const uint8_t *data, uint32_t len, uint32_t ext,
				 const struct flow_key *key, uint32_t hash, bool sec_ok)
{
	m->valid = true;
	m->len = len;
	m->extent = ext;
	m->hash = hash;
	m->sec_ok = sec_ok;
	m->rule = NULL;
	m->normal_port = 0;
	m->key = *key;
	memcpy(m->hdr, data, ext);
}

/* 16 bytes compared at once (SSE2 on x86-64; the compiler splits it elsewhere). */
typedef uint64_t dp_memo_v __attribute__((vector_size(16)));

/* The bits under the mask where block 'i' of 'data' differs from the memo's copy. */
static inline dp_memo_v dp_memo_block(const struct dp_memo *m, const uint8_t *data, uint32_t i)
{
	dp_memo_v a, b, k;
	memcpy(&a, data + i, sizeof(a));
	memcpy(&b, m->hdr + i, sizeof(b));
	memcpy(&k, m->mask + i, sizeof(k));
	return (a ^ b) & k;
}

/*
 * Is the frame ('len' bytes, the first 'head' of them at 'data') the memoised
 * flow? Reads 16-byte blocks up to the extent rounded up, and at least 64
 * bytes: a pbuf's room always has them, and the mask is 0 past the extent.
 */
static inline bool dp_memo_match(const struct dp_memo *m, const uint8_t *data, uint32_t len,
				 uint32_t head)
{
	if (!m->valid || m->len != len || m->extent > head)
		return false;
	/* Ethernet + IPv4 + UDP or TCP ports fit in 64 bytes: four blocks, no loop. */
	dp_memo_v diff = dp_memo_block(m, data, 0) | dp_memo_block(m, data, 16) |
			 dp_memo_block(m, data, 32) | dp_memo_block(m, data, 48);
	for (uint32_t i = 64; i < m->extent; i += sizeof(dp_memo_v))
		diff |= dp_memo_block(m, data, i);
	return (diff[0] | diff[1]) == 0;
}

#endif
