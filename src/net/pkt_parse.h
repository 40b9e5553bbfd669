/*
 * pkt_parse.h - the packet parser: one pass over an Ethernet frame from a
 * guest (untrusted, possibly truncated or malformed) that fills the flow key
 * and records where each header starts, plus the steering hash used to pick
 * a queue. A pure function over a byte buffer: no allocation, no state, no
 * syscalls, so it can be fuzzed directly.
 *
 * What is parsed (everything else is left zero in the key):
 *   Ethernet II, or IEEE 802.3 with an LLC/SNAP header (OUI 0) whose type is
 *     used; any other 802.3 frame gets dl_type PKT_DL_TYPE_NONE (as OVS);
 *   one VLAN tag, TPID 0x8100 or 0x88a8 (IEEE 802.1Q / 802.1ad). When a second
 *     tag follows (QinQ), the key holds the outer tag, dl_type is the inner
 *     TPID and parsing stops there (PKT_QINQ);
 *   IPv4 (RFC 791) with options, fragments; IPv6 (RFC 8200) with at most
 *     PKT_IPV6_EXT_MAX extension headers (hop-by-hop, routing, destination
 *     options, fragment, and AH, RFC 4302; nw_proto stays 0 when the walk
 *     fails);
 *   TCP (header including options must fit), UDP, SCTP ports; ICMP and ICMPv6 type and code (tp_src
 * = type, tp_dst = code, each as a network-order 16-bit value, as OVS); ARP for Ethernet/IPv4 (RFC
 * 826: htype 1, ptype 0x0800, hlen 6, plen 4).
 *
 * Rule for bad input: the parser never reads outside [frame, frame + len),
 * stops at the first header that is incomplete or invalid, records why in
 * pkt_meta.flags, and leaves the key valid as far as it got: every field it
 * filled comes from a header that was complete and valid.
 */
#ifndef RS_NET_PKT_PARSE_H
#define RS_NET_PKT_PARSE_H

#include <stdint.h>

#include "flow.h"

/* dl_type of an 802.3 frame without a usable SNAP header (OVS FLOW_DL_TYPE_NONE). */
#define PKT_DL_TYPE_NONE 0x05ff
#define PKT_OFS_NONE	 0xffff
/* IPv6 extension headers skipped at most; past that L4 is not parsed. */
#define PKT_IPV6_EXT_MAX 8

/*
 * pkt_meta.flags. The PKT_ERR_MASK bits are anomalies: pkt_parse() returns
 * them, and a caller counts each one (a named counter per drop reason).
 */
#define PKT_TRUNC_L2  0x0001 /* frame ends inside the Ethernet header or the VLAN tag */
#define PKT_TRUNC_L3  0x0002 /* ends inside the IPv4/IPv6/ARP header or an IPv6 ext header */
#define PKT_TRUNC_L4  0x0004 /* ends inside the TCP/UDP/SCTP/ICMP/ICMPv6 header */
#define PKT_BAD_L3    0x0008 /* IP version, IHL < 5, IPv4 length < IHL, or non-Ethernet/IPv4 ARP */
#define PKT_IP_LEN    0x0010 /* IP length field reaches past the frame: parsed over what is there */
#define PKT_EXT_LIMIT 0x0020 /* more than PKT_IPV6_EXT_MAX IPv6 extension headers */
#define PKT_BAD_L4    0x0040 /* TCP data offset below 5 words */
#define PKT_ERR_MASK  0x00ff
/* Informational bits. */
#define PKT_VLAN 0x0100 /* a VLAN tag was parsed into vlan_tci */
#define PKT_QINQ 0x0200 /* a second tag follows the first one: not parsed */
#define PKT_LLC	 0x0400 /* 802.3 frame (length field instead of EtherType) */

/*
 * Where the headers are. An offset is set only when the whole fixed header at
 * that offset is inside the frame and valid, so a consumer (checksums,
 * set-field actions) may touch it without another length check; otherwise it
 * is PKT_OFS_NONE. Offsets fit in 16 bits: the last header starts at most
 * 14 + 8 + 40 + 8 * 2048 bytes in.
 */
struct pkt_meta {
	uint16_t l2_ofs; /* Ethernet header: 0 when the frame has 14 bytes */
	uint16_t l3_ofs; /* IPv4, IPv6 or ARP header */
	uint16_t l4_ofs; /* TCP/UDP/SCTP/ICMP/ICMPv6 header; for other IP protocols, the
			    start of the IP payload; none for non-first fragments */
	uint16_t flags;	 /* PKT_* */
	uint32_t l3_end; /* end of the IP datagram: min(IP length, frame length); 0 without IP */
};

/*
 * Parses 'len' bytes at 'frame' into 'key' (zeroed first; in_port set to
 * 'in_port') and, when 'meta' is not NULL, 'meta'. 'frame' may be NULL when
 * 'len' is 0.
 *
 * Returns 0 when every header present was complete and valid, otherwise the
 * PKT_ERR_MASK bits of meta->flags (a positive value). It never fails: even a
 * runt frame yields a key with in_port set. This departs from the 0/-errno
 * rule on purpose: a malformed guest packet is data to classify and count,
 * not an error of the call.
 */
int pkt_parse(const uint8_t *frame, uint32_t len, uint32_t in_port, struct flow_key *key,
	      struct pkt_meta *meta);

/*
 * The steering hash for multiqueue (RSS-like): over nw_src, nw_dst, nw_proto
 * and the L4 ports for IPv4, over the IPv6 addresses, nw_proto and ports for
 * IPv6, and over dl_dst, dl_src and dl_type otherwise. For IP fragments
 * (FLOW_FRAG_ANY) the ports are left out, so every fragment of a datagram
 * takes the queue of its first one. Nothing else (in_port, VLAN, TTL, TOS,
 * MACs of IP packets) changes the value. Never returns 0, so 0 can mean "not
 * computed" (pbuf.hash).
 */
uint32_t pkt_flow_hash(const struct flow_key *key);

/* Bytes pkt_parse_mask() describes at most. */
#define PKT_PARSE_MASK_MAX 128

/*
 * Which bytes of a 'len'-byte frame the key pkt_parse() made of it (with
 * 'meta' and result 'err') depends on: mask[i] is 0xff for every such byte
 * (a superset of what the parser read, length checks aside) and 0 for the
 * others, for i < PKT_PARSE_MASK_MAX. So a frame of the same length that
 * agrees with this one on the masked bytes parses into the same key; the IP
 * id and checksum and the TCP sequence numbers, which change from frame to
 * frame of one flow, are not masked. Returns the extent (one past the last
 * masked byte), or 0 when no mask is given: anomalies, QinQ, EtherTypes
 * other than IP and ARP, IP without a parsed L4 header (later fragments),
 * headers reaching past PKT_PARSE_MASK_MAX.
 */
uint32_t pkt_parse_mask(const struct flow_key *key, const struct pkt_meta *meta, int err,
			uint32_t len, uint8_t mask[PKT_PARSE_MASK_MAX]);

#endif
