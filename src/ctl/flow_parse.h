/*
 * flow_parse.h - the flow-rule language: a subset of ovs-ofctl's flow syntax
 * parsed into a struct ctl_flow (match, mask, priority, actions) and
 * formatted back into canonical text. Pure: port names are resolved through a
 * caller-supplied callback, so the same code runs in the daemon, in ringctl,
 * in the config loader and in fuzzers.
 *
 * Grammar (fields are separated by commas and/or blanks; order is free
 * except that actions= comes last and takes the rest of the string):
 *
 *   flow     := field* [ "actions=" actlist ]
 *   field    := "priority=" u16                       (add-flow, del-flows --strict)
 *             | "in_port=" PORT
 *             | ("dl_src" | "dl_dst" | "arp_sha" | "arp_tha") "=" MAC ["/" MAC]
 *             | "dl_type=" u16
 *             | "dl_vlan=" (0..4095 | 0xffff)         (0xffff: untagged packets only)
 *             | "dl_vlan_pcp=" 0..7                    (tagged packets with that PCP)
 *             | ("nw_src" | "nw_dst" | "arp_spa" | "arp_tpa") "=" IPV4 ["/" (0..32 | IPV4)]
 *             | ("ipv6_src" | "ipv6_dst") "=" IPV6 ["/" (0..128 | IPV6)]
 *             | "nw_proto=" u8 | "nw_ttl=" u8
 *             | "nw_tos=" u8                          (multiple of 4: ECN bits are not matched)
 *             | ("tp_src" | "tp_dst") "=" u16 ["/" u16]
 *             | ("icmp_type" | "icmp_code") "=" u8
 *             | "arp_op=" u16
 *             | shorthand
 *   shorthand:= ip | ipv6 | arp | rarp | icmp | icmp6 | tcp | tcp6 | udp | udp6 | sctp | sctp6
 *   actlist  := "" | "drop" | action ("," action)*    (at most ACT_MAX; drop only alone)
 *   action   := "output:" PORT | "normal" | "flood" | "pop_vlan" | "strip_vlan"
 *             | "push_vlan:" 0..4095 ["/" 0..7]       (VID, optional PCP, default 0)
 *             | ("set_eth_src" | "mod_dl_src") ":" MAC
 *             | ("set_eth_dst" | "mod_dl_dst") ":" MAC
 *   PORT     := decimal 0..65535 (a port number) | port NAME (resolved)
 *   numbers  := decimal or 0x-prefixed hexadecimal
 *
 * Each field may appear once (nw_src and arp_spa, tp_src and icmp_type share
 * a key field and count as the same one; a shorthand sets dl_type and,
 * except ip/ipv6/arp/rarp, nw_proto). Values are masked by their masks, as
 * OVS does (nw_dst=10.0.0.1/24 is 10.0.0.0/24). Prerequisites are checked
 * once all fields are read, as in OVS:
 *   nw_src, nw_dst                   need dl_type=0x0800
 *   nw_proto, nw_tos, nw_ttl          need dl_type=0x0800 or 0x86dd
 *   tp_src, tp_dst                    need nw_proto=6, 17 or 132 (with ip or ipv6)
 *   icmp_type, icmp_code              need ip with nw_proto=1 or ipv6 with nw_proto=58
 *   arp_op, arp_spa/tpa/sha/tha       need dl_type=0x0806 or 0x8035
 *   ipv6_src, ipv6_dst                need dl_type=0x86dd
 *
 * Key encoding (struct flow_key, network byte order except in_port):
 *   dl_vlan=V       vlan_tci = htons(FLOW_VLAN_PRESENT | V), mask htons(0x1fff)
 *   dl_vlan_pcp=P   vlan_tci |= htons(FLOW_VLAN_PRESENT | P << 13), mask |= htons(0xf000)
 *   dl_vlan=0xffff  vlan_tci = 0, mask 0xffff
 *   icmp_type=T     tp_src = htons(T), mask 0xffff (likewise icmp_code in tp_dst)
 *   arp_spa/arp_tpa nw_src/nw_dst;  arp_op in arp_op
 *   nw_tos=T        nw_tos = T, mask 0xfc
 * A field that is not matched has value 0 and mask 0.
 */
#ifndef RS_CTL_FLOW_PARSE_H
#define RS_CTL_FLOW_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../net/flow.h"
#include "../switch/action.h"
#include "ctl_lex.h"

#define CTL_PORT_NAME_MAX   15 /* fits an interface name */
#define CTL_PORT_NAME_SIZE  (CTL_PORT_NAME_MAX + 1)
#define CTL_PORT_ID_MAX	    65535u
#define CTL_PORT_UNRESOLVED UINT32_MAX /* a port id whose name is not resolved yet */

#define CTL_FLOW_PRIORITY_DEFAULT 32768
#define CTL_FLOW_TEXT_MAX	  1024 /* enough for any formatted rule */

/*
 * Name -> port id. Returns the id (0..CTL_PORT_ID_MAX), -ENOENT for an
 * unknown name, or -EAGAIN to accept the name and leave the id unresolved
 * (CTL_PORT_UNRESOLVED) for ctl_flow_resolve() to fill in later: the config
 * loader does that, since ports are created by earlier lines.
 */
typedef int ctl_port_resolve_fn(void *ctx, const char *name);
/* Id -> name for formatting; NULL when the id has no name (printed as a number). */
typedef const char *ctl_port_name_fn(void *ctx, uint32_t id);

struct ctl_flow {
	struct flow_key match;	    /* values, already masked */
	struct flow_key mask;	    /* 1 bits are matched */
	uint16_t priority;	    /* CTL_FLOW_PRIORITY_DEFAULT unless given */
	struct action_list actions; /* n == 0 means drop */
	/* The names the text used, "" where a number was given; kept so that
	 * unresolved rules can be resolved later and formatted as written. */
	char in_port_name[CTL_PORT_NAME_SIZE];
	char out_name[ACT_MAX][CTL_PORT_NAME_SIZE]; /* out_name[i] for actions.a[i] */
};

/* ctl_flow_parse() flags */
#define CTL_FLOW_ACTIONS  0x1 /* actions= required (add-flow); else forbidden */
#define CTL_FLOW_PRIORITY 0x2 /* priority= allowed (add-flow, del-flows --strict) */

/*
 * Parses the NUL-terminated rule text 's' into 'out' (fully overwritten).
 * 'resolve' may be NULL: every name is then left unresolved. Returns 0 or
 * -EINVAL with 'err' set: token_index -1, column = 1-based byte offset in 's'
 * of the offending field, msg "token 'FIELD=VALUE': why".
 */
int ctl_flow_parse(const char *s, unsigned flags, ctl_port_resolve_fn *resolve, void *ctx,
		   struct ctl_flow *out, struct ctl_error *err);

/*
 * Resolves the ids of every name in 'f' still at CTL_PORT_UNRESOLVED.
 * Returns 0, or -ENOENT with err->msg "unknown port 'NAME'" (column 0).
 */
int ctl_flow_resolve(struct ctl_flow *f, ctl_port_resolve_fn *resolve, void *ctx,
		     struct ctl_error *err);

/*
 * Canonical text of 'f' into 'buf' (always NUL-terminated when size > 0):
 * priority (with CTL_FLOW_PRIORITY), shorthand or dl_type, the other fields
 * in a fixed order, then actions (with CTL_FLOW_ACTIONS). Ports print as the
 * stored name, else name(ctx, id) when 'name' is given and knows the id, else
 * the number. Returns the length needed, like snprintf. For any 'f' that
 * ctl_flow_parse() produced, parsing the output yields 'f' again.
 */
size_t ctl_flow_format(const struct ctl_flow *f, unsigned flags, ctl_port_name_fn *name, void *ctx,
		       char *buf, size_t size);

/* The action list alone ("drop" when empty), same conventions. */
size_t ctl_actions_format(const struct ctl_flow *f, ctl_port_name_fn *name, void *ctx, char *buf,
			  size_t size);

/*
 * NULL when the 'len' bytes at 's' are a valid port name ([A-Za-z0-9_.-],
 * 1..15 bytes, not all digits so it cannot read as a number, not "." or
 * ".."), else the reason.
 */
const char *ctl_port_name_check(const char *s, size_t len);

/* Small value parsers shared with ctl_cmd.c. Return 0 or -EINVAL. */
int ctl_parse_u32(const char *s, size_t len, uint32_t max, uint32_t *out); /* dec or 0x hex */
int ctl_parse_mac(const char *s, size_t len, struct eth_addr *out);

#endif
