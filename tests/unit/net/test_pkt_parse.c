/*
 * test_pkt_parse.c - the packet parser, table-driven: each row is a frame in
 * hex and the whole flow key and header offsets it must produce. Then every
 * prefix of every row (truncation at each byte), which must never read past
 * the frame (frames live in exact-size heap buffers for ASan), must report
 * truncation where a header is cut, and must fill only fields of the full
 * parse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include "lib/compiler.h"
#include "net/pkt_parse.h"
#include "frame_hex.h"

#define IN_PORT 7

/* Building blocks; every checksum is left 0 (the parser does not check them). */
// clang-format off
#define ETH(type)                "020000000002 020000000001" type
#define TAG(tpid, tci, type)     "020000000002 020000000001" tpid tci type
/* IPv4 without options: TOS b8, id 1, TTL 64, 10.0.0.1 -> 10.0.0.2. */
#define IP4(tot, frag, proto)    "45b8" tot "0001" frag "40" proto "0000 0a000001 0a000002"
#define IP4_IHL(ihl, tot, proto) ihl "b8" tot "00010000 40" proto "0000 0a000001 0a000002"
/* IPv6: traffic class b8, hop limit 64, 2001:db8::1 -> 2001:db8::2. */
#define IP6(plen, nh)            "6b800000" plen nh "40" \
				 "20010db8000000000000000000000001" \
				 "20010db8000000000000000000000002"
#define TCP    "1f900050 00000001 00000000 5002ffff 00000000" /* 8080 -> 80, SYN */
#define UDP    "0035d431 00080000"                            /* 53 -> 54321 */
#define SCTP   "0b590b5a 00000000 00000000"                   /* 2905 -> 2906 */
#define ICMP   "0800 0000 00010001"                           /* echo request */
#define ICMP6  "8000 0000 00010001"                           /* echo request */
#define DSTOPT(nh)   nh "00 010400000000"                     /* 8 bytes, PadN */
#define ARP(op, tha) "0001 0800 06 04" op "020000000001 0a000001" tha "0a000002"
// clang-format on

#define NONE 0 /* in the table: offset absent (PKT_OFS_NONE) */
#define V4S  "10.0.0.1"
#define V4D  "10.0.0.2"
#define V6S  "2001:db8::1"
#define V6D  "2001:db8::2"

/* One row: a frame and everything pkt_parse() must say about it. */
struct parse_case {
	const char *name;
	const char *hex;
	uint16_t ret;	  /* return value (PKT_ERR_MASK bits) */
	uint16_t flags;	  /* all of meta.flags */
	uint16_t dl_type; /* host order */
	uint16_t tci;	  /* host order, FLOW_VLAN_PRESENT included */
	uint16_t l3, l4;  /* offsets, NONE when absent */
	uint8_t proto, tos, ttl, frag;
	const char *src, *dst; /* IPv4/ARP or IPv6 text, NULL for zero */
	uint16_t tp_src, tp_dst, arp_op;
	bool sha, tha; /* ARP addresses as in ARP() with tha 02..02 */
};

// clang-format off
static const struct parse_case cases[] = {
	/* L2 */
	{"lldp", ETH("88cc") "0207040200000000010404", .dl_type = 0x88cc},
	{"eth header only", ETH("0800"), .ret = PKT_TRUNC_L3, .flags = PKT_TRUNC_L3,
	 .dl_type = 0x0800},
	{"runt 13 bytes", "020000000002 020000000001 08", .ret = PKT_TRUNC_L2,
	 .flags = PKT_TRUNC_L2},
	{"empty", "", .ret = PKT_TRUNC_L2, .flags = PKT_TRUNC_L2},
	{"vlan udp", TAG("8100", "a064", "0800") IP4("001c", "0000", "11") UDP,
	 .flags = PKT_VLAN, .dl_type = 0x0800, .tci = 0xb064, .l3 = 18, .l4 = 38, .proto = 17,
	 .tos = 0xb8, .ttl = 64, .src = V4S, .dst = V4D, .tp_src = 53, .tp_dst = 54321},
	{"vlan dei bit replaced by present", TAG("8100", "1005", "88cc") "00",
	 .flags = PKT_VLAN, .dl_type = 0x88cc, .tci = 0x1005},
	{"802.1ad outer tag", TAG("88a8", "000a", "0800") IP4("001c", "0000", "11") UDP,
	 .flags = PKT_VLAN, .dl_type = 0x0800, .tci = 0x100a, .l3 = 18, .l4 = 38, .proto = 17,
	 .tos = 0xb8, .ttl = 64, .src = V4S, .dst = V4D, .tp_src = 53, .tp_dst = 54321},
	{"qinq stops at inner tag",
	 TAG("88a8", "000a", "8100") "0064 0800" IP4("001c", "0000", "11") UDP,
	 .flags = PKT_VLAN | PKT_QINQ, .dl_type = 0x8100, .tci = 0x100a},
	{"tag cut", ETH("8100") "00", .ret = PKT_TRUNC_L2, .flags = PKT_TRUNC_L2,
	 .dl_type = 0x8100},
	{"802.3 stp", "0180c2000000 020000000001 0026 424203 0000000000",
	 .flags = PKT_LLC, .dl_type = PKT_DL_TYPE_NONE},
	{"802.3 snap ipv4", ETH("0030") "aaaa03000000 0800" IP4("001c", "0000", "11") UDP,
	 .flags = PKT_LLC, .dl_type = 0x0800, .l3 = 22, .l4 = 42, .proto = 17, .tos = 0xb8,
	 .ttl = 64, .src = V4S, .dst = V4D, .tp_src = 53, .tp_dst = 54321},
	{"802.3 snap other oui", ETH("0030") "aaaa03000001 0800 45",
	 .flags = PKT_LLC, .dl_type = PKT_DL_TYPE_NONE},
	{"802.3 snap type is a length", ETH("0030") "aaaa03000000 0100 45",
	 .flags = PKT_LLC, .dl_type = PKT_DL_TYPE_NONE},
	{"802.3 llc cut", ETH("0003") "aaaa", .flags = PKT_LLC, .dl_type = PKT_DL_TYPE_NONE},
	{"vlan then 802.3", TAG("8100", "0064", "0026") "424203",
	 .flags = PKT_VLAN | PKT_LLC, .dl_type = PKT_DL_TYPE_NONE, .tci = 0x1064},

	/* IPv4 */
	{"ipv4 tcp", ETH("0800") IP4("0028", "0000", "06") TCP, .dl_type = 0x0800, .l3 = 14,
	 .l4 = 34, .proto = 6, .tos = 0xb8, .ttl = 64, .src = V4S, .dst = V4D, .tp_src = 8080,
	 .tp_dst = 80},
	{"ipv4 udp", ETH("0800") IP4("001c", "0000", "11") UDP, .dl_type = 0x0800, .l3 = 14,
	 .l4 = 34, .proto = 17, .tos = 0xb8, .ttl = 64, .src = V4S, .dst = V4D, .tp_src = 53,
	 .tp_dst = 54321},
	{"ipv4 udp, ethernet padding",
	 ETH("0800") IP4("001c", "0000", "11") UDP "000000000000000000000000000000000000",
	 .dl_type = 0x0800, .l3 = 14, .l4 = 34, .proto = 17, .tos = 0xb8, .ttl = 64, .src = V4S,
	 .dst = V4D, .tp_src = 53, .tp_dst = 54321},
	{"ipv4 icmp echo", ETH("0800") IP4("001c", "0000", "01") ICMP, .dl_type = 0x0800,
	 .l3 = 14, .l4 = 34, .proto = 1, .tos = 0xb8, .ttl = 64, .src = V4S, .dst = V4D,
	 .tp_src = 8, .tp_dst = 0},
	{"ipv4 icmp unreachable code 3",
	 ETH("0800") IP4("001c", "0000", "01") "0303000000000000",
	 .dl_type = 0x0800, .l3 = 14, .l4 = 34, .proto = 1, .tos = 0xb8, .ttl = 64, .src = V4S,
	 .dst = V4D, .tp_src = 3, .tp_dst = 3},
	{"ipv4 sctp", ETH("0800") IP4("0020", "0000", "84") SCTP, .dl_type = 0x0800, .l3 = 14,
	 .l4 = 34, .proto = 132, .tos = 0xb8, .ttl = 64, .src = V4S, .dst = V4D, .tp_src = 2905,
	 .tp_dst = 2906},
	{"ipv4 gre: payload offset only", ETH("0800") IP4("0018", "0000", "2f") "00000800",
	 .dl_type = 0x0800, .l3 = 14, .l4 = 34, .proto = 47, .tos = 0xb8, .ttl = 64, .src = V4S,
	 .dst = V4D},
	{"ipv4 options ihl 6", ETH("0800") IP4_IHL("46", "002c", "06") "01010100" TCP,
	 .dl_type = 0x0800, .l3 = 14, .l4 = 38, .proto = 6, .tos = 0xb8, .ttl = 64, .src = V4S,
	 .dst = V4D, .tp_src = 8080, .tp_dst = 80},
	{"ipv4 ihl 4", ETH("0800") IP4_IHL("44", "0028", "06") TCP, .ret = PKT_BAD_L3,
	 .flags = PKT_BAD_L3, .dl_type = 0x0800},
	{"ipv4 version 6", ETH("0800") IP4_IHL("65", "0028", "06") TCP, .ret = PKT_BAD_L3,
	 .flags = PKT_BAD_L3, .dl_type = 0x0800},
	{"ipv4 ihl 15 beyond frame", ETH("0800") IP4_IHL("4f", "0028", "06") TCP,
	 .ret = PKT_TRUNC_L3, .flags = PKT_TRUNC_L3, .dl_type = 0x0800},
	{"ipv4 total length below ihl", ETH("0800") IP4("0010", "0000", "06") TCP,
	 .ret = PKT_BAD_L3, .flags = PKT_BAD_L3, .dl_type = 0x0800},
	{"ipv4 total length past frame", ETH("0800") IP4("0400", "0000", "06") TCP,
	 .ret = PKT_IP_LEN, .flags = PKT_IP_LEN, .dl_type = 0x0800, .l3 = 14, .l4 = 34,
	 .proto = 6, .tos = 0xb8, .ttl = 64, .src = V4S, .dst = V4D, .tp_src = 8080, .tp_dst = 80},
	{"ipv4 total length cuts tcp", ETH("0800") IP4("0020", "0000", "06") TCP,
	 .ret = PKT_TRUNC_L4, .flags = PKT_TRUNC_L4, .dl_type = 0x0800, .l3 = 14, .proto = 6,
	 .tos = 0xb8, .ttl = 64, .src = V4S, .dst = V4D},
	{"ipv4 first fragment", ETH("0800") IP4("0028", "2000", "06") TCP, .dl_type = 0x0800,
	 .l3 = 14, .l4 = 34, .proto = 6, .tos = 0xb8, .ttl = 64, .frag = FLOW_FRAG_ANY,
	 .src = V4S, .dst = V4D, .tp_src = 8080, .tp_dst = 80},
	{"ipv4 middle fragment", ETH("0800") IP4("0028", "20b9", "06") TCP, .dl_type = 0x0800,
	 .l3 = 14, .proto = 6, .tos = 0xb8, .ttl = 64, .frag = FLOW_FRAG_ANY | FLOW_FRAG_LATER,
	 .src = V4S, .dst = V4D},
	{"ipv4 last fragment", ETH("0800") IP4("0028", "00b9", "06") TCP, .dl_type = 0x0800,
	 .l3 = 14, .proto = 6, .tos = 0xb8, .ttl = 64, .frag = FLOW_FRAG_ANY | FLOW_FRAG_LATER,
	 .src = V4S, .dst = V4D},
	{"ipv4 df is not a fragment", ETH("0800") IP4("001c", "4000", "11") UDP,
	 .dl_type = 0x0800, .l3 = 14, .l4 = 34, .proto = 17, .tos = 0xb8, .ttl = 64, .src = V4S,
	 .dst = V4D, .tp_src = 53, .tp_dst = 54321},
	{"tcp data offset 4",
	 ETH("0800") IP4("0028", "0000", "06") "1f900050 00000001 00000000 40020000 00000000",
	 .ret = PKT_BAD_L4, .flags = PKT_BAD_L4, .dl_type = 0x0800, .l3 = 14, .proto = 6,
	 .tos = 0xb8, .ttl = 64, .src = V4S, .dst = V4D},
	{"tcp options past datagram",
	 ETH("0800") IP4("0028", "0000", "06") "1f900050 00000001 00000000 f0020000 00000000",
	 .ret = PKT_TRUNC_L4, .flags = PKT_TRUNC_L4, .dl_type = 0x0800, .l3 = 14, .proto = 6,
	 .tos = 0xb8, .ttl = 64, .src = V4S, .dst = V4D},

	/* IPv6 */
	{"ipv6 tcp", ETH("86dd") IP6("0014", "06") TCP, .dl_type = 0x86dd, .l3 = 14, .l4 = 54,
	 .proto = 6, .tos = 0xb8, .ttl = 64, .src = V6S, .dst = V6D, .tp_src = 8080, .tp_dst = 80},
	{"ipv6 udp", ETH("86dd") IP6("0008", "11") UDP, .dl_type = 0x86dd, .l3 = 14, .l4 = 54,
	 .proto = 17, .tos = 0xb8, .ttl = 64, .src = V6S, .dst = V6D, .tp_src = 53,
	 .tp_dst = 54321},
	{"ipv6 icmpv6 echo", ETH("86dd") IP6("0008", "3a") ICMP6, .dl_type = 0x86dd, .l3 = 14,
	 .l4 = 54, .proto = 58, .tos = 0xb8, .ttl = 64, .src = V6S, .dst = V6D, .tp_src = 128},
	{"ipv6 icmp(v4) is not parsed", ETH("86dd") IP6("0008", "01") ICMP, .dl_type = 0x86dd,
	 .l3 = 14, .l4 = 54, .proto = 1, .tos = 0xb8, .ttl = 64, .src = V6S, .dst = V6D},
	{"ipv6 icmpv6 cut", ETH("86dd") IP6("0002", "3a") "8000", .ret = PKT_TRUNC_L4,
	 .flags = PKT_TRUNC_L4, .dl_type = 0x86dd, .l3 = 14, .proto = 58, .tos = 0xb8, .ttl = 64,
	 .src = V6S, .dst = V6D},
	{"ipv6 hop-by-hop, dest opts, tcp",
	 ETH("86dd") IP6("0024", "00") DSTOPT("3c") DSTOPT("06") TCP,
	 .dl_type = 0x86dd, .l3 = 14, .l4 = 70, .proto = 6, .tos = 0xb8, .ttl = 64, .src = V6S,
	 .dst = V6D, .tp_src = 8080, .tp_dst = 80},
	{"ipv6 routing 16 bytes, udp",
	 ETH("86dd") IP6("0018", "2b") "1101000000000000 0000000000000000" UDP,
	 .dl_type = 0x86dd, .l3 = 14, .l4 = 70, .proto = 17, .tos = 0xb8, .ttl = 64, .src = V6S,
	 .dst = V6D, .tp_src = 53, .tp_dst = 54321},
	{"ipv6 ah, tcp",
	 ETH("86dd") IP6("002c", "33") "06040000 00000001 00000001 000000000000000000000000" TCP,
	 .dl_type = 0x86dd, .l3 = 14, .l4 = 78, .proto = 6, .tos = 0xb8, .ttl = 64, .src = V6S,
	 .dst = V6D, .tp_src = 8080, .tp_dst = 80},
	{"ipv6 first fragment", ETH("86dd") IP6("0010", "2c") "11000001 12345678" UDP,
	 .dl_type = 0x86dd, .l3 = 14, .l4 = 62, .proto = 17, .tos = 0xb8, .ttl = 64,
	 .frag = FLOW_FRAG_ANY, .src = V6S, .dst = V6D, .tp_src = 53, .tp_dst = 54321},
	{"ipv6 later fragment", ETH("86dd") IP6("0010", "2c") "110005c8 12345678" UDP,
	 .dl_type = 0x86dd, .l3 = 14, .proto = 17, .tos = 0xb8, .ttl = 64,
	 .frag = FLOW_FRAG_ANY | FLOW_FRAG_LATER, .src = V6S, .dst = V6D},
	{"ipv6 8 ext headers (the cap)",
	 ETH("86dd") IP6("0054", "3c") DSTOPT("3c") DSTOPT("3c") DSTOPT("3c") DSTOPT("3c")
	 DSTOPT("3c") DSTOPT("3c") DSTOPT("3c") DSTOPT("06") TCP,
	 .dl_type = 0x86dd, .l3 = 14, .l4 = 118, .proto = 6, .tos = 0xb8, .ttl = 64, .src = V6S,
	 .dst = V6D, .tp_src = 8080, .tp_dst = 80},
	{"ipv6 9 ext headers",
	 ETH("86dd") IP6("005c", "3c") DSTOPT("3c") DSTOPT("3c") DSTOPT("3c") DSTOPT("3c")
	 DSTOPT("3c") DSTOPT("3c") DSTOPT("3c") DSTOPT("3c") DSTOPT("06") TCP,
	 .ret = PKT_EXT_LIMIT, .flags = PKT_EXT_LIMIT, .dl_type = 0x86dd, .l3 = 14, .tos = 0xb8,
	 .ttl = 64, .src = V6S, .dst = V6D},
	{"ipv6 ext header cut", ETH("86dd") IP6("0004", "3c") "06000000", .ret = PKT_TRUNC_L3,
	 .flags = PKT_TRUNC_L3, .dl_type = 0x86dd, .l3 = 14, .tos = 0xb8, .ttl = 64, .src = V6S,
	 .dst = V6D},
	{"ipv6 ext length past payload", ETH("86dd") IP6("001c", "3c") "0604000000000000" TCP,
	 .ret = PKT_TRUNC_L3, .flags = PKT_TRUNC_L3, .dl_type = 0x86dd, .l3 = 14, .tos = 0xb8,
	 .ttl = 64, .src = V6S, .dst = V6D},
	{"ipv6 version 4",
	 ETH("86dd") "4b800000 0014 06 40 20010db8000000000000000000000001"
	 "20010db8000000000000000000000002" TCP,
	 .ret = PKT_BAD_L3, .flags = PKT_BAD_L3, .dl_type = 0x86dd},
	{"ipv6 header cut", ETH("86dd") "6b800000 0014 06 40 2001", .ret = PKT_TRUNC_L3,
	 .flags = PKT_TRUNC_L3, .dl_type = 0x86dd},
	{"ipv6 payload length past frame", ETH("86dd") IP6("0100", "06") TCP, .ret = PKT_IP_LEN,
	 .flags = PKT_IP_LEN, .dl_type = 0x86dd, .l3 = 14, .l4 = 54, .proto = 6, .tos = 0xb8,
	 .ttl = 64, .src = V6S, .dst = V6D, .tp_src = 8080, .tp_dst = 80},
	{"vlan ipv6 tcp", TAG("8100", "0005", "86dd") IP6("0014", "06") TCP, .flags = PKT_VLAN,
	 .dl_type = 0x86dd, .tci = 0x1005, .l3 = 18, .l4 = 58, .proto = 6, .tos = 0xb8, .ttl = 64,
	 .src = V6S, .dst = V6D, .tp_src = 8080, .tp_dst = 80},

	/* ARP */
	{"arp request", ETH("0806") ARP("0001", "000000000000"), .dl_type = 0x0806, .l3 = 14,
	 .proto = 1, .arp_op = 1, .src = V4S, .dst = V4D, .sha = true},
	{"arp reply, padded",
	 ETH("0806") ARP("0002", "020000000002") "000000000000000000000000000000000000",
	 .dl_type = 0x0806, .l3 = 14, .proto = 2, .arp_op = 2, .src = V4S, .dst = V4D, .sha = true,
	 .tha = true},
	{"arp opcode above 255", ETH("0806") ARP("0101", "000000000000"), .dl_type = 0x0806,
	 .l3 = 14, .arp_op = 0x101, .src = V4S, .dst = V4D, .sha = true},
	{"vlan arp", TAG("8100", "0064", "0806") ARP("0001", "000000000000"), .flags = PKT_VLAN,
	 .dl_type = 0x0806, .tci = 0x1064, .l3 = 18, .proto = 1, .arp_op = 1, .src = V4S,
	 .dst = V4D, .sha = true},
	{"arp htype 6", ETH("0806") "0006 0800 06 04 0001 020000000001 0a000001 000000000000 0a000002",
	 .ret = PKT_BAD_L3, .flags = PKT_BAD_L3, .dl_type = 0x0806},
	{"arp plen 16", ETH("0806") "0001 0800 06 10 0001 020000000001 0a000001 000000000000 0a000002",
	 .ret = PKT_BAD_L3, .flags = PKT_BAD_L3, .dl_type = 0x0806},
	{"arp cut", ETH("0806") "0001 0800 06 04 0001 020000000001 0a00", .ret = PKT_TRUNC_L3,
	 .flags = PKT_TRUNC_L3, .dl_type = 0x0806},
};
// clang-format on

static void fill_addr(struct flow_key *k, bool v6, const char *src, const char *dst)
{
	if (v6) {
		if (src)
			assert_int_equal(inet_pton(AF_INET6, src, k->ipv6_src), 1);
		if (dst)
			assert_int_equal(inet_pton(AF_INET6, dst, k->ipv6_dst), 1);
	} else {
		if (src)
			assert_int_equal(inet_pton(AF_INET, src, &k->nw_src), 1);
		if (dst)
			assert_int_equal(inet_pton(AF_INET, dst, &k->nw_dst), 1);
	}
}

/* The key a row describes (MACs come from the frame: the "lldp" test checks them). */
static void expected_key(const struct parse_case *c, const uint8_t *f, int len, struct flow_key *k)
{
	static const struct eth_addr sha = {{2, 0, 0, 0, 0, 1}}, tha = {{2, 0, 0, 0, 0, 2}};

	memset(k, 0, sizeof(*k));
	k->in_port = IN_PORT;
	if (len >= 14) {
		memcpy(&k->dl_dst, f, 6);
		memcpy(&k->dl_src, f + 6, 6);
	}
	k->dl_type = htons(c->dl_type);
	k->vlan_tci = htons(c->tci);
	k->nw_proto = c->proto;
	k->nw_tos = c->tos;
	k->nw_ttl = c->ttl;
	k->nw_frag = c->frag;
	fill_addr(k, c->dl_type == 0x86dd, c->src, c->dst);
	k->tp_src = htons(c->tp_src);
	k->tp_dst = htons(c->tp_dst);
	k->arp_op = htons(c->arp_op);
	if (c->sha)
		k->arp_sha = sha;
	if (c->tha)
		k->arp_tha = tha;
}

static void print_key(const char *what, const struct flow_key *k)
{
	const uint64_t *w = flow_words(k);
	print_message("%s:", what);
	for (size_t i = 0; i < FLOW_KEY_WORDS; i++)
		print_message(" %016llx", (unsigned long long)w[i]);
	print_message("\n");
}

static void check_case(const struct parse_case *c)
{
	uint8_t buf[512];
	int len = frame_hex_decode(c->hex, buf, sizeof(buf));
	assert_true(len >= 0);
	uint8_t *f = frame_dup(buf, len < 0 ? 0 : (size_t)len);
	struct flow_key key, want;
	struct pkt_meta meta;

	int ret = pkt_parse(f, (uint32_t)len, IN_PORT, &key, &meta);
	expected_key(c, f, len, &want);
	if (memcmp(&key, &want, sizeof(key)) != 0 || ret != c->ret || meta.flags != c->flags ||
	    meta.l3_ofs != (c->l3 ? c->l3 : PKT_OFS_NONE) ||
	    meta.l4_ofs != (c->l4 ? c->l4 : PKT_OFS_NONE)) {
		print_message("case \"%s\": ret %#x (want %#x) flags %#x (want %#x) l3 %u (%u) "
			      "l4 %u (%u)\n",
			      c->name, ret, c->ret, meta.flags, c->flags, meta.l3_ofs, c->l3,
			      meta.l4_ofs, c->l4);
		print_key(" got ", &key);
		print_key(" want", &want);
		free(f);
		fail();
	}
	assert_int_equal(meta.l2_ofs, len >= 14 ? 0 : PKT_OFS_NONE);
	free(f);
}

static void test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < RS_ARRAY_SIZE(cases); i++)
		check_case(&cases[i]);
}

/* Header bytes the full parse says a frame must have; 0 when any prefix is acceptable. */
static uint32_t needed_len(const struct flow_key *k, const struct pkt_meta *m)
{
	if (m->flags & PKT_LLC)
		return 0; /* a cut SNAP header leaves a valid plain 802.3 frame */
	if (m->l3_end)
		return m->l3_end; /* IP: every byte of the datagram */
	if (k->dl_type == htons(0x0806) && m->l3_ofs != PKT_OFS_NONE)
		return m->l3_ofs + 28u;
	return 0;
}

/*
 * Every prefix of every row: no read past the end (ASan), truncation reported
 * when the datagram or ARP header is cut, and no field the full parse did not
 * produce (each byte of the key is zero or equal to the full parse's; dl_type
 * excepted, since a cut tag or SNAP header changes it).
 */
static void test_every_prefix(void **state)
{
	(void)state;
	for (size_t i = 0; i < RS_ARRAY_SIZE(cases); i++) {
		uint8_t buf[512];
		int len = frame_hex_decode(cases[i].hex, buf, sizeof(buf));
		struct flow_key full, key;
		struct pkt_meta fm, m;
		int full_ret = pkt_parse(buf, (uint32_t)len, IN_PORT, &full, &fm);
		uint32_t need = full_ret == 0 ? needed_len(&full, &fm) : 0;

		for (int n = 0; n < len; n++) {
			uint8_t *f = frame_dup(buf, (size_t)n);
			int ret = pkt_parse(f, (uint32_t)n, IN_PORT, &key, &m);
			free(f);
			assert_int_equal(ret, m.flags & PKT_ERR_MASK);
			if ((uint32_t)n < need && ret == 0) {
				print_message("case \"%s\" cut at %d: no truncation reported\n",
					      cases[i].name, n);
				fail();
			}
			key.dl_type = full.dl_type;
			const uint8_t *a = (const uint8_t *)&key, *b = (const uint8_t *)&full;
			for (size_t j = 0; j < sizeof(key); j++)
				if (a[j] != 0 && a[j] != b[j]) {
					print_message("case \"%s\" cut at %d: key byte %zu is %#x, "
						      "full parse %#x\n",
						      cases[i].name, n, j, a[j], b[j]);
					fail();
				}
		}
	}
}

/*
 * pkt_parse_mask() covers what the key depends on: for every row that has a
 * mask, any value of the other bytes (random, 200 draws) parses into the
 * same key. And it leaves out what changes within one flow: the IPv4 id and
 * checksum, the TCP sequence numbers, every payload byte.
 */
static void test_mask(void **state)
{
	(void)state;
	unsigned with_mask = 0, tcp4 = 0;
	srandom(7);
	for (size_t i = 0; i < RS_ARRAY_SIZE(cases); i++) {
		uint8_t buf[512], mask[PKT_PARSE_MASK_MAX];
		int len = frame_hex_decode(cases[i].hex, buf, sizeof(buf));
		struct flow_key full, key;
		struct pkt_meta fm, m;
		int ret = pkt_parse(buf, (uint32_t)len, IN_PORT, &full, &fm);
		uint32_t ext = pkt_parse_mask(&full, &fm, ret, (uint32_t)len, mask);
		if (ret != 0)
			assert_int_equal(ext, 0);
		if (ext == 0)
			continue;
		with_mask++;
		assert_true(ext <= (uint32_t)len);
		if (full.dl_type == htons(0x0800) && full.nw_proto == 6) {
			uint32_t l3 = fm.l3_ofs, l4 = fm.l4_ofs;
			assert_int_equal(ext, l4 + 13);
			for (uint32_t j = 0; j < 2; j++) {
				assert_int_equal(mask[l3 + 4 + j], 0);	/* id */
				assert_int_equal(mask[l3 + 10 + j], 0); /* checksum */
			}
			for (uint32_t j = 4; j < 12; j++)
				assert_int_equal(mask[l4 + j], 0); /* seq, ack */
			tcp4++;
		}
		for (int draw = 0; draw < 200; draw++) {
			uint8_t f[512];
			for (int j = 0; j < len; j++)
				f[j] = (uint32_t)j < ext && mask[j] ? buf[j] : (uint8_t)random();
			assert_int_equal(pkt_parse(f, (uint32_t)len, IN_PORT, &key, &m), 0);
			if (memcmp(&key, &full, sizeof(key)) != 0) {
				print_message(
				    "case \"%s\": a byte outside the mask changed the key\n",
				    cases[i].name);
				fail();
			}
		}
	}
	assert_true(with_mask >= 10);
	assert_true(tcp4 >= 1);
}

/* The truncation classes of a plain IPv4/TCP frame, byte by byte. */
static void test_tcp_truncated_each_byte(void **state)
{
	(void)state;
	uint8_t buf[64];
	int len = frame_hex_decode(ETH("0800") IP4("0028", "0000", "06") TCP, buf, sizeof(buf));
	assert_int_equal(len, 54);
	for (int n = 0; n <= len; n++) {
		struct flow_key key;
		struct pkt_meta m;
		uint8_t *f = frame_dup(buf, (size_t)n);
		int ret = pkt_parse(f, (uint32_t)n, IN_PORT, &key, &m);
		free(f);
		int want = n < 14   ? PKT_TRUNC_L2
			   : n < 34 ? PKT_TRUNC_L3
			   : n < 54 ? PKT_TRUNC_L4 | PKT_IP_LEN
				    : 0;
		assert_int_equal(ret, want);
		assert_int_equal(m.l3_ofs, n >= 34 ? 14 : PKT_OFS_NONE);
		assert_int_equal(m.l4_ofs, n == 54 ? 34 : PKT_OFS_NONE);
		assert_int_equal(m.l3_end, n >= 34 ? (uint32_t)n : 0);
		assert_int_equal(key.tp_dst, n == 54 ? htons(80) : 0);
	}
}

static void test_eth_fields_and_meta(void **state)
{
	(void)state;
	static const uint8_t f[] = {0x01, 0x80, 0xc2, 0,    0,	  0x0e, 0x52, 0x54,
				    0,	  0x12, 0x34, 0x56, 0x88, 0xcc, 0xaa};
	struct flow_key key;
	struct pkt_meta m;

	assert_int_equal(pkt_parse(f, sizeof(f), 0xfffffffeu, &key, &m), 0);
	assert_memory_equal(&key.dl_dst, f, 6);
	assert_memory_equal(&key.dl_src, f + 6, 6);
	assert_int_equal(key.dl_type, htons(0x88cc));
	assert_int_equal(key.in_port, 0xfffffffeu);
	assert_int_equal(m.l2_ofs, 0);
	assert_int_equal(m.l3_ofs, PKT_OFS_NONE);
	assert_int_equal(m.l4_ofs, PKT_OFS_NONE);
	assert_int_equal(m.l3_end, 0);

	/* NULL frame of length 0, NULL meta. */
	assert_int_equal(pkt_parse(NULL, 0, 3, &key, NULL), PKT_TRUNC_L2);
	assert_int_equal(key.in_port, 3);
}

/* l3_end stops at the IP length, not at the Ethernet padding. */
static void test_l3_end(void **state)
{
	(void)state;
	uint8_t buf[128];
	int len = frame_hex_decode(ETH("0800") IP4("001c", "0000", "11") UDP
				   "00000000000000000000000000000000000000",
				   buf, sizeof(buf));
	struct flow_key key;
	struct pkt_meta m;
	assert_int_equal(pkt_parse(buf, (uint32_t)len, 1, &key, &m), 0);
	assert_int_equal(m.l3_end, 14 + 28);

	len = frame_hex_decode(ETH("86dd") IP6("0008", "11") UDP "0000", buf, sizeof(buf));
	assert_int_equal(pkt_parse(buf, (uint32_t)len, 1, &key, &m), 0);
	assert_int_equal(m.l3_end, 14 + 48);
}

/* The parser never writes the key's padding: flow_match and hashing rely on it. */
static void test_padding_zero(void **state)
{
	(void)state;
	for (size_t i = 0; i < RS_ARRAY_SIZE(cases); i++) {
		uint8_t buf[512];
		int len = frame_hex_decode(cases[i].hex, buf, sizeof(buf));
		struct flow_key key;
		memset(&key, 0xa5, sizeof(key));
		pkt_parse(buf, (uint32_t)len, IN_PORT, &key, NULL);
		assert_int_equal(key.pad0, 0);
		assert_int_equal(key.pad1, 0);
		assert_int_equal(key.pad2, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_every_prefix),
	    cmocka_unit_test(test_mask),
	    cmocka_unit_test(test_tcp_truncated_each_byte),
	    cmocka_unit_test(test_eth_fields_and_meta),
	    cmocka_unit_test(test_l3_end),
	    cmocka_unit_test(test_padding_zero),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
