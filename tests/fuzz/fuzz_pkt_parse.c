/*
 * fuzz_pkt_parse.c - libFuzzer target for the packet parser. The input is a
 * frame as a guest could send it; the in_port is taken from its last 4 bytes
 * (arbitrary, and the frame stays a real frame so the seeds are plain
 * captures). Whatever the bytes, pkt_parse() must stay inside the frame
 * (ASan), be deterministic, and keep its contract: the return value is the
 * anomaly flags, padding stays zero, every offset it reports has its whole
 * header inside the frame, non-first fragments have no L4. Then the frame
 * is tagged and untagged through a pbuf: push must give a tagged frame that
 * parses to the same tag, and pop must restore the original bytes. And
 * pkt_parse_mask() must cover every byte the key depends on: the frame with
 * every other byte flipped parses into the same key.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "lib/pbuf.h"
#include "net/flow_hash.h"
#include "net/pkt_parse.h"
#include "net/pkt_vlan.h"

#define FUZZ_ROOM 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check(bool ok)
{
	if (!ok)
		abort();
}

/* Bytes of the fixed header at l4_ofs for the protocols the parser decodes; 0 otherwise. */
static uint32_t fuzz_l4_min(const struct flow_key *k)
{
	bool v6 = k->dl_type == htons(0x86dd);
	switch (k->nw_proto) {
	case 6:
		return 20;
	case 17:
		return 8;
	case 132:
		return 12;
	case 1:
		return v6 ? 0 : 8;
	case 58:
		return v6 ? 4 : 0;
	default:
		return 0;
	}
}

static void fuzz_check_offsets(const struct flow_key *k, const struct pkt_meta *m, uint32_t len)
{
	fuzz_check(m->l2_ofs == (len >= 14 ? 0 : PKT_OFS_NONE));
	if (m->l3_ofs != PKT_OFS_NONE) {
		uint32_t hdr = k->dl_type == htons(0x0800)   ? 20
			       : k->dl_type == htons(0x86dd) ? 40
							     : 28;
		fuzz_check(m->l3_ofs >= 14 && m->l3_ofs + hdr <= len);
		if (hdr != 28)
			fuzz_check(m->l3_end >= m->l3_ofs + hdr && m->l3_end <= len);
	} else {
		fuzz_check(m->l3_end == 0 && m->l4_ofs == PKT_OFS_NONE);
	}
	if (m->l4_ofs != PKT_OFS_NONE) {
		fuzz_check(m->l4_ofs >= m->l3_ofs + 20u && m->l4_ofs <= m->l3_end);
		fuzz_check(m->l4_ofs + fuzz_l4_min(k) <= m->l3_end);
		fuzz_check(!(k->nw_frag & FLOW_FRAG_LATER));
	}
	if (k->nw_frag & FLOW_FRAG_LATER)
		fuzz_check(k->tp_src == 0 && k->tp_dst == 0);
}

/* Every byte outside pkt_parse_mask() changed: the key must not change (dp_memo.h relies on it). */
static void fuzz_mask(const uint8_t *data, uint32_t len, uint32_t in_port, const struct flow_key *k,
		      const struct pkt_meta *m, int ret)
{
	uint8_t mask[PKT_PARSE_MASK_MAX];
	uint32_t ext = pkt_parse_mask(k, m, ret, len, mask);
	if (ext == 0)
		return;
	fuzz_check(ext <= len && ext <= PKT_PARSE_MASK_MAX);
	uint8_t *copy = malloc(len);
	fuzz_check(copy != NULL);
	for (uint32_t i = 0; i < len; i++)
		copy[i] = i < ext && mask[i] ? data[i] : (uint8_t)~data[i];
	struct flow_key k2;
	struct pkt_meta m2;
	fuzz_check(pkt_parse(copy, len, in_port, &k2, &m2) == 0);
	fuzz_check(memcmp(k, &k2, sizeof(k2)) == 0);
	free(copy);
}

/* Tag, parse, untag: the bytes must come back unchanged. */
static void fuzz_vlan_round_trip(const uint8_t *data, uint32_t len, uint16_t tci)
{
	static struct pbuf_pool pool;
	static bool ready;
	if (!ready) {
		fuzz_check(pbuf_pool_init(&pool, 1, FUZZ_ROOM) == 0);
		ready = true;
	}
	if (len < 14 || len > FUZZ_ROOM - PKT_VLAN_TAG_LEN)
		return;

	struct pbuf *p = pbuf_alloc(&pool);
	memcpy(p->data, data, len);
	p->len = len;
	fuzz_check(pkt_vlan_push(p, tci) == 0);
	fuzz_check(p->len == len + PKT_VLAN_TAG_LEN);

	struct flow_key k;
	struct pkt_meta m;
	pkt_parse(p->data, p->len, 0, &k, &m);
	fuzz_check(k.vlan_tci == htons(tci | FLOW_VLAN_PRESENT) && (m.flags & PKT_VLAN));

	fuzz_check(pkt_vlan_pop(p) == 0);
	fuzz_check(p->len == len && memcmp(p->data, data, len) == 0);
	pbuf_free(&pool, p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > UINT16_MAX)
		return 0;
	uint32_t len = (uint32_t)size, in_port = 0;
	if (len >= 4)
		memcpy(&in_port, data + len - 4, 4);

	struct flow_key k1, k2;
	struct pkt_meta m1, m2;
	int ret = pkt_parse(data, len, in_port, &k1, &m1);
	fuzz_check(ret == (m1.flags & PKT_ERR_MASK));
	fuzz_check(k1.in_port == in_port);
	fuzz_check(k1.pad0 == 0 && k1.pad1 == 0 && k1.pad2 == 0);
	fuzz_check_offsets(&k1, &m1, len);

	memset(&k2, 0x5a, sizeof(k2));
	fuzz_check(pkt_parse(data, len, in_port, &k2, &m2) == ret);
	fuzz_check(memcmp(&k1, &k2, sizeof(k1)) == 0 && memcmp(&m1, &m2, sizeof(m1)) == 0);
	fuzz_check(pkt_flow_hash(&k1) != 0);
	fuzz_check(flow_key_hash(&k1, NULL, 0) == flow_key_hash(&k2, NULL, 0));

	fuzz_mask(data, len, in_port, &k1, &m1, ret);
	fuzz_vlan_round_trip(data, len, (uint16_t)(in_port >> 16));
	return 0;
}
