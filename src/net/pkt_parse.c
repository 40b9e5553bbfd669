/*
 * pkt_parse.c - the packet parser and the steering hash (see pkt_parse.h).
 *
 * Every header step has the same shape: check that the fixed header is inside
 * [ofs, end), check that its fields are valid, then fill the key and the
 * offset, then move on. A step that fails sets one PKT_ERR_* flag and ends the
 * parse. 'end' is the frame length for L2/L3 and the end of the IP datagram
 * for what the datagram carries, so Ethernet padding is never read as L4.
 */
#include "pkt_parse.h"

#include <string.h>
#include <arpa/inet.h>

#include "flow_hash.h"

#define ETH_HDR_LEN   14
#define VLAN_HDR_LEN  4
#define LLC_SNAP_LEN  8
#define ETH_TYPE_MIN  0x0600 /* smaller values are 802.3 lengths */
#define ETH_TYPE_IPV4 0x0800
#define ETH_TYPE_ARP  0x0806
#define ETH_TYPE_VLAN 0x8100 /* IEEE 802.1Q */
#define ETH_TYPE_QINQ 0x88a8 /* IEEE 802.1ad service tag */
#define ETH_TYPE_IPV6 0x86dd

#define IPV4_HDR_MIN   20
#define IPV4_FRAG_MF   0x2000
#define IPV4_FRAG_OFS  0x1fff
#define IPV6_HDR_LEN   40
#define IPV6_EXT_MIN   8
#define IPV6_FRAG_OFS  0xfff8
#define ARP_HDR_FIXED  8  /* htype, ptype, hlen, plen, op */
#define ARP_ETH_IP_LEN 28 /* plus sha, spa, tha, tpa for Ethernet/IPv4 */

#define IPPROTO_HOPOPTS_ 0
#define IPPROTO_ICMP_	 1
#define IPPROTO_TCP_	 6
#define IPPROTO_UDP_	 17
#define IPPROTO_ROUTING_ 43
#define IPPROTO_FRAG_	 44
#define IPPROTO_AH_	 51
#define IPPROTO_ICMPV6_	 58
#define IPPROTO_DSTOPTS_ 60
#define IPPROTO_SCTP_	 132

/* One parse: the frame and what has been learnt so far. */
struct pkt_ctx {
	const uint8_t *p;
	uint32_t len;
	struct flow_key *key;
	struct pkt_meta *meta;
};

static inline uint16_t pkt_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline int pkt_fail(struct pkt_ctx *c, uint16_t flag)
{
	c->meta->flags |= flag;
	return -1;
}

static inline bool pkt_is_tpid(uint16_t type)
{
	return type == ETH_TYPE_VLAN || type == ETH_TYPE_QINQ;
}

/*
 * 802.3 frame: the type comes from an LLC/SNAP header with OUI 00-00-00
 * (RFC 1042), if there is one. Returns the EtherType and advances '*ofs'.
 */
static uint16_t pkt_parse_llc(struct pkt_ctx *c, uint32_t *ofs)
{
	static const uint8_t snap[6] = {0xaa, 0xaa, 0x03, 0, 0, 0};
	const uint8_t *h = c->p + *ofs;

	c->meta->flags |= PKT_LLC;
	if (c->len - *ofs < LLC_SNAP_LEN || memcmp(h, snap, sizeof(snap)) != 0)
		return PKT_DL_TYPE_NONE;
	uint16_t type = pkt_be16(h + 6);
	if (type < ETH_TYPE_MIN)
		return PKT_DL_TYPE_NONE;
	*ofs += LLC_SNAP_LEN;
	return type;
}

/*
 * Ethernet header, one VLAN tag, LLC/SNAP. Returns the offset of the L3
 * header (dl_type set), or -1 when there is nothing more to parse.
 */
static int pkt_parse_l2(struct pkt_ctx *c)
{
	struct flow_key *k = c->key;

	if (c->len < ETH_HDR_LEN)
		return pkt_fail(c, PKT_TRUNC_L2);
	c->meta->l2_ofs = 0;
	memcpy(&k->dl_dst, c->p, 6);
	memcpy(&k->dl_src, c->p + 6, 6);

	uint16_t type = pkt_be16(c->p + 12);
	uint32_t ofs = ETH_HDR_LEN;
	if (pkt_is_tpid(type)) {
		if (c->len - ofs < VLAN_HDR_LEN) {
			k->dl_type = htons(type);
			return pkt_fail(c, PKT_TRUNC_L2);
		}
		/* The DEI bit's position carries FLOW_VLAN_PRESENT instead (as OVS). */
		k->vlan_tci = htons(pkt_be16(c->p + ofs) | FLOW_VLAN_PRESENT);
		c->meta->flags |= PKT_VLAN;
		type = pkt_be16(c->p + ofs + 2);
		ofs += VLAN_HDR_LEN;
		if (pkt_is_tpid(type)) {
			k->dl_type = htons(type);
			c->meta->flags |= PKT_QINQ;
			return -1;
		}
	}
	if (type < ETH_TYPE_MIN)
		type = pkt_parse_llc(c, &ofs);
	k->dl_type = htons(type);
	return (int)ofs;
}

/* Bytes of the fixed L4 header we need, or 0 for a protocol we do not parse. */
static uint32_t pkt_l4_min(uint8_t proto, bool ipv6)
{
	switch (proto) {
	case IPPROTO_TCP_:
		return 20; /* RFC 9293 3.1 */
	case IPPROTO_UDP_:
		return 8; /* RFC 768 */
	case IPPROTO_SCTP_:
		return 12; /* RFC 9260 3.1, common header */
	case IPPROTO_ICMP_:
		return ipv6 ? 0 : 8; /* RFC 792: type, code, checksum, 4 more */
	case IPPROTO_ICMPV6_:
		return ipv6 ? 4 : 0; /* RFC 4443 2.1: type, code, checksum */
	default:
		return 0;
	}
}

/* The L4 header of an IP datagram (first fragment or unfragmented) in [ofs, end). */
static void pkt_parse_l4(struct pkt_ctx *c, uint32_t ofs, uint32_t end, uint8_t proto, bool ipv6)
{
	struct flow_key *k = c->key;
	const uint8_t *h = c->p + ofs;
	uint32_t need = pkt_l4_min(proto, ipv6);

	if (need == 0) {
		c->meta->l4_ofs = (uint16_t)ofs; /* start of a payload we do not parse */
		return;
	}
	if (end - ofs < need) {
		pkt_fail(c, PKT_TRUNC_L4);
		return;
	}
	if (proto == IPPROTO_TCP_ && end - ofs < (uint32_t)(h[12] >> 4) * 4u) {
		pkt_fail(c, PKT_TRUNC_L4); /* data offset (header with options) past the end */
		return;
	}
	if (proto == IPPROTO_TCP_ && (h[12] >> 4) < 5) {
		pkt_fail(c, PKT_BAD_L4);
		return;
	}
	if (proto == IPPROTO_ICMP_ || proto == IPPROTO_ICMPV6_) {
		k->tp_src = htons(h[0]);
		k->tp_dst = htons(h[1]);
	} else {
		memcpy(&k->tp_src, h, 2);
		memcpy(&k->tp_dst, h + 2, 2);
	}
	c->meta->l4_ofs = (uint16_t)ofs;
}

/* IPv4 header (RFC 791 3.1) at 'ofs', then its payload. */
static void pkt_parse_ipv4(struct pkt_ctx *c, uint32_t ofs)
{
	struct flow_key *k = c->key;
	const uint8_t *h = c->p + ofs;
	uint32_t avail = c->len - ofs;

	if (avail < IPV4_HDR_MIN) {
		pkt_fail(c, PKT_TRUNC_L3);
		return;
	}
	uint32_t hlen = (h[0] & 0x0fu) * 4;
	if ((h[0] >> 4) != 4 || hlen < IPV4_HDR_MIN) {
		pkt_fail(c, PKT_BAD_L3);
		return;
	}
	if (hlen > avail) {
		pkt_fail(c, PKT_TRUNC_L3);
		return;
	}
	uint32_t tot = pkt_be16(h + 2);
	if (tot < hlen) {
		pkt_fail(c, PKT_BAD_L3);
		return;
	}
	if (tot > avail) {
		c->meta->flags |= PKT_IP_LEN;
		tot = avail;
	}
	k->nw_tos = h[1];
	k->nw_ttl = h[8];
	k->nw_proto = h[9];
	memcpy(&k->nw_src, h + 12, 4);
	memcpy(&k->nw_dst, h + 16, 4);
	c->meta->l3_ofs = (uint16_t)ofs;
	c->meta->l3_end = ofs + tot;

	uint16_t frag = pkt_be16(h + 6);
	if (frag & (IPV4_FRAG_MF | IPV4_FRAG_OFS)) {
		k->nw_frag = FLOW_FRAG_ANY;
		if (frag & IPV4_FRAG_OFS) {
			k->nw_frag |= FLOW_FRAG_LATER;
			return;
		}
	}
	pkt_parse_l4(c, ofs + hlen, ofs + tot, k->nw_proto, false);
}

/* Length of the IPv6 extension header 'nh' at 'h', or 0 when 'nh' is not one we skip. */
static uint32_t pkt_ipv6_ext_len(uint8_t nh, const uint8_t *h)
{
	switch (nh) {
	case IPPROTO_HOPOPTS_:
	case IPPROTO_ROUTING_:
	case IPPROTO_DSTOPTS_:
		return ((uint32_t)h[1] + 1) * 8; /* RFC 8200 4.3, 4.4, 4.6 */
	case IPPROTO_AH_:
		return ((uint32_t)h[1] + 2) * 4; /* RFC 4302 2.2 */
	case IPPROTO_FRAG_:
		return 8; /* RFC 8200 4.5 */
	default:
		return 0;
	}
}

static bool pkt_ipv6_is_ext(uint8_t nh)
{
	return nh == IPPROTO_HOPOPTS_ || nh == IPPROTO_ROUTING_ || nh == IPPROTO_DSTOPTS_ ||
	       nh == IPPROTO_AH_ || nh == IPPROTO_FRAG_;
}

/* How the extension-header walk ended. */
enum pkt_ext_end {
	PKT_EXT_UPPER, /* '*nh' is the upper-layer protocol at '*ofs': parse it */
	PKT_EXT_LATER, /* non-first fragment: '*nh' is the upper-layer protocol, no header */
	PKT_EXT_STOP,  /* truncated, or too many headers: flag set, protocol unknown */
};

/* Skips at most PKT_IPV6_EXT_MAX extension headers from '*ofs' (before 'end'). */
static enum pkt_ext_end pkt_ipv6_skip_ext(struct pkt_ctx *c, uint32_t *ofs, uint32_t end,
					  uint8_t *nh)
{
	for (unsigned n = 0; pkt_ipv6_is_ext(*nh); n++) {
		const uint8_t *h = c->p + *ofs;
		if (n == PKT_IPV6_EXT_MAX) {
			pkt_fail(c, PKT_EXT_LIMIT);
			return PKT_EXT_STOP;
		}
		if (end - *ofs < IPV6_EXT_MIN || pkt_ipv6_ext_len(*nh, h) > end - *ofs) {
			pkt_fail(c, PKT_TRUNC_L3);
			return PKT_EXT_STOP;
		}
		if (*nh == IPPROTO_FRAG_) {
			c->key->nw_frag = FLOW_FRAG_ANY;
			if (pkt_be16(h + 2) & IPV6_FRAG_OFS) {
				c->key->nw_frag |= FLOW_FRAG_LATER;
				*nh = h[0];
				return PKT_EXT_LATER;
			}
		}
		*ofs += pkt_ipv6_ext_len(*nh, h);
		*nh = h[0];
	}
	return PKT_EXT_UPPER;
}

/* IPv6 fixed header (RFC 8200 3), extension headers, then the upper layer. */
static void pkt_parse_ipv6(struct pkt_ctx *c, uint32_t ofs)
{
	struct flow_key *k = c->key;
	const uint8_t *h = c->p + ofs;
	uint32_t avail = c->len - ofs;

	if (avail < IPV6_HDR_LEN) {
		pkt_fail(c, PKT_TRUNC_L3);
		return;
	}
	if ((h[0] >> 4) != 6) {
		pkt_fail(c, PKT_BAD_L3);
		return;
	}
	uint32_t tot = IPV6_HDR_LEN + pkt_be16(h + 4);
	if (tot > avail) {
		c->meta->flags |= PKT_IP_LEN;
		tot = avail;
	}
	k->nw_tos = (uint8_t)((h[0] & 0x0f) << 4 | h[1] >> 4);
	k->nw_ttl = h[7];
	memcpy(k->ipv6_src, h + 8, 16);
	memcpy(k->ipv6_dst, h + 24, 16);
	c->meta->l3_ofs = (uint16_t)ofs;
	c->meta->l3_end = ofs + tot;

	uint32_t end = ofs + tot;
	uint8_t nh = h[6];
	ofs += IPV6_HDR_LEN;
	enum pkt_ext_end how = pkt_ipv6_skip_ext(c, &ofs, end, &nh);
	if (how == PKT_EXT_STOP)
		return;
	k->nw_proto = nh;
	if (how == PKT_EXT_UPPER)
		pkt_parse_l4(c, ofs, end, nh, true);
}

/* ARP for Ethernet and IPv4 (RFC 826). */
static void pkt_parse_arp(struct pkt_ctx *c, uint32_t ofs)
{
	struct flow_key *k = c->key;
	const uint8_t *h = c->p + ofs;
	uint32_t avail = c->len - ofs;

	if (avail < ARP_HDR_FIXED) {
		pkt_fail(c, PKT_TRUNC_L3);
		return;
	}
	if (pkt_be16(h) != 1 || pkt_be16(h + 2) != ETH_TYPE_IPV4 || h[4] != 6 || h[5] != 4) {
		pkt_fail(c, PKT_BAD_L3);
		return;
	}
	if (avail < ARP_ETH_IP_LEN) {
		pkt_fail(c, PKT_TRUNC_L3);
		return;
	}
	uint16_t op = pkt_be16(h + 6);
	k->arp_op = htons(op);
	k->nw_proto = op <= 0xff ? (uint8_t)op : 0; /* only the low byte is matchable */
	memcpy(&k->arp_sha, h + 8, 6);
	memcpy(&k->nw_src, h + 14, 4);
	memcpy(&k->arp_tha, h + 18, 6);
	memcpy(&k->nw_dst, h + 24, 4);
	c->meta->l3_ofs = (uint16_t)ofs;
}

int pkt_parse(const uint8_t *frame, uint32_t len, uint32_t in_port, struct flow_key *key,
	      struct pkt_meta *meta)
{
	struct pkt_meta scratch;
	struct pkt_ctx c = {.p = frame, .len = len, .key = key, .meta = meta ? meta : &scratch};

	memset(key, 0, sizeof(*key));
	key->in_port = in_port;
	*c.meta = (struct pkt_meta){
	    .l2_ofs = PKT_OFS_NONE, .l3_ofs = PKT_OFS_NONE, .l4_ofs = PKT_OFS_NONE};

	int ofs = pkt_parse_l2(&c);
	if (ofs >= 0) {
		switch (ntohs(key->dl_type)) {
		case ETH_TYPE_IPV4:
			pkt_parse_ipv4(&c, (uint32_t)ofs);
			break;
		case ETH_TYPE_IPV6:
			pkt_parse_ipv6(&c, (uint32_t)ofs);
			break;
		case ETH_TYPE_ARP:
			pkt_parse_arp(&c, (uint32_t)ofs);
			break;
		default:
			break;
		}
	}
	return c.meta->flags & PKT_ERR_MASK;
}

/* Bytes of the L4 header pkt_parse_l4() reads: ports (and TCP's data offset), or type and code. */
static uint32_t pkt_l4_read(uint8_t proto, bool ipv6)
{
	switch (pkt_l4_min(proto, ipv6) ? proto : 0) {
	case IPPROTO_TCP_:
		return 13;
	case IPPROTO_UDP_:
	case IPPROTO_SCTP_:
		return 4;
	case IPPROTO_ICMP_:
	case IPPROTO_ICMPV6_:
		return 2;
	default:
		return 0;
	}
}

uint32_t pkt_parse_mask(const struct flow_key *key, const struct pkt_meta *meta, int err,
			uint32_t len, uint8_t mask[PKT_PARSE_MASK_MAX])
{
	/* The IPv4 header bytes pkt_parse_ipv4() reads: not the id and the checksum (4-5,
	 * 10-11), which change from frame to frame of one flow, nor the options. */
	static const uint8_t ip4_read[IPV4_HDR_MIN] = {1, 1, 1, 1, 0, 0, 1, 1, 1, 1,
						       0, 0, 1, 1, 1, 1, 1, 1, 1, 1};
	uint16_t type = ntohs(key->dl_type);
	uint32_t l3 = meta->l3_ofs, l4 = meta->l4_ofs, ext;

	if (err || (meta->flags & PKT_QINQ) || l3 == PKT_OFS_NONE)
		return 0;
	if (type == ETH_TYPE_ARP)
		ext = l3 + ARP_ETH_IP_LEN;
	else if (l4 != PKT_OFS_NONE)
		ext = l4 + pkt_l4_read(key->nw_proto, type == ETH_TYPE_IPV6);
	else
		return 0; /* IP without a parsed L4 header (later fragments): rare */
	if (ext > len || ext > PKT_PARSE_MASK_MAX)
		return 0;
	memset(mask, 0, PKT_PARSE_MASK_MAX);
	memset(mask, 0xff, l3); /* Ethernet, VLAN tag, LLC/SNAP */
	if (type == ETH_TYPE_ARP) {
		memset(mask + l3, 0xff, ARP_ETH_IP_LEN);
		return ext;
	}
	if (type == ETH_TYPE_IPV4) {
		for (uint32_t i = 0; i < IPV4_HDR_MIN; i++)
			mask[l3 + i] = ip4_read[i] ? 0xff : 0;
	} else {
		memset(mask + l3, 0xff, l4 - l3); /* IPv6 header and extension headers */
	}
	memset(mask + l4, 0xff, ext - l4);
	if (key->nw_proto == IPPROTO_TCP_ && ext == l4 + 13)
		memset(mask + l4 + 4, 0, 8); /* sequence and acknowledgment numbers */
	return ext;
}

/* Mixes 'n' bytes (a multiple of 4) at 'p' into 'h'. */
static uint32_t pkt_hash_bytes(uint32_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i += 4) {
		uint32_t w;
		memcpy(&w, b + i, 4);
		h = flow_hash_add(h, w);
	}
	return h;
}

uint32_t pkt_flow_hash(const struct flow_key *key)
{
	uint16_t type = ntohs(key->dl_type);
	uint32_t h = 0;
	uint32_t n;

	if (type == ETH_TYPE_IPV4 || type == ETH_TYPE_IPV6) {
		if (type == ETH_TYPE_IPV4) {
			h = flow_hash_add(h, key->nw_src);
			h = flow_hash_add(h, key->nw_dst);
			n = 8;
		} else {
			h = pkt_hash_bytes(h, key->ipv6_src, 16);
			h = pkt_hash_bytes(h, key->ipv6_dst, 16);
			n = 32;
		}
		uint32_t ports = 0;
		if (!(key->nw_frag & FLOW_FRAG_ANY))
			ports = (uint32_t)key->tp_src << 16 | key->tp_dst;
		h = flow_hash_add(h, ports);
		h = flow_hash_add(h, key->nw_proto);
		n += 8;
	} else {
		uint8_t l2[16] = {0};
		memcpy(l2, &key->dl_dst, 6);
		memcpy(l2 + 6, &key->dl_src, 6);
		memcpy(l2 + 12, &key->dl_type, 2);
		h = pkt_hash_bytes(h, l2, sizeof(l2));
		n = 14;
	}
	h = flow_hash_finish(h, n);
	return h ? h : 1;
}
