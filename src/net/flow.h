/*
 * flow.h - the flow key: every header field the switch can match on, parsed
 * once per packet, and the mask that says which bits of it a rule cares
 * about. The key is a flat, zero-padded struct of FLOW_KEY_WORDS 64-bit words
 * so that masking, comparing and hashing are word loops with no per-field
 * branches. Packet fields keep the byte order they have on the wire (network
 * order); in_port is host order.
 */
#ifndef RS_NET_FLOW_H
#define RS_NET_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct eth_addr {
	uint8_t b[6];
};

/* vlan_tci: network-order TCI with FLOW_VLAN_PRESENT set when a tag was seen. */
#define FLOW_VLAN_PRESENT 0x1000 /* the CFI/DEI bit position, host order */
#define FLOW_VLAN_VID_MASK 0x0fff
#define FLOW_VLAN_PCP_SHIFT 13

/* nw_frag */
#define FLOW_FRAG_ANY   1 /* an IP fragment */
#define FLOW_FRAG_LATER 2 /* not the first fragment: no L4 header */

struct flow_key {
	/* word 0 */
	uint32_t in_port;   /* host order */
	uint16_t dl_type;   /* EtherType after any VLAN tag, network order */
	uint16_t vlan_tci;  /* network order, FLOW_VLAN_PRESENT (host value, converted) when tagged */
	/* words 1-2 */
	struct eth_addr dl_dst;
	struct eth_addr dl_src;
	uint8_t nw_proto;   /* IP protocol; low byte of the ARP opcode for ARP */
	uint8_t nw_tos;     /* DSCP+ECN byte (IPv4 TOS, IPv6 traffic class) */
	uint8_t nw_ttl;     /* IPv4 TTL, IPv6 hop limit */
	uint8_t nw_frag;    /* FLOW_FRAG_* */
	/* word 3 */
	uint32_t nw_src;    /* IPv4 source; ARP sender protocol address */
	uint32_t nw_dst;    /* IPv4 destination; ARP target protocol address */
	/* words 4-7 */
	uint8_t ipv6_src[16];
	uint8_t ipv6_dst[16];
	/* word 8 */
	uint16_t tp_src;    /* TCP/UDP/SCTP source port; ICMP/ICMPv6 type (low byte) */
	uint16_t tp_dst;    /* TCP/UDP/SCTP destination port; ICMP/ICMPv6 code (low byte) */
	uint16_t arp_op;    /* ARP opcode, network order */
	uint16_t pad0;
	/* words 9-10 */
	struct eth_addr arp_sha;
	struct eth_addr arp_tha;
	uint32_t pad1;
	/* word 11 */
	uint64_t pad2;
};

#define FLOW_KEY_WORDS (sizeof(struct flow_key) / sizeof(uint64_t))
_Static_assert(sizeof(struct flow_key) == 96, "flow_key must stay 12 words");

static inline const uint64_t *flow_words(const struct flow_key *k)
{
	return (const uint64_t *)(const void *)k;
}

/* True when (key & mask) == value, word by word ('value' is pre-masked). */
static inline bool flow_match(const struct flow_key *key, const struct flow_key *mask,
			      const struct flow_key *value)
{
	const uint64_t *k = flow_words(key), *m = flow_words(mask), *v = flow_words(value);
	uint64_t diff = 0;
	for (size_t i = 0; i < FLOW_KEY_WORDS; i++)
		diff |= (k[i] & m[i]) ^ v[i];
	return diff == 0;
}

#endif
