/*
 * action.h - what a flow rule does with a matching packet: an ordered list of
 * at most ACT_MAX actions, applied left to right, as in OpenFlow. Pure data:
 * the executor lives with the forwarding code, the text form with the rule
 * parser.
 */
#ifndef RS_SWITCH_ACTION_H
#define RS_SWITCH_ACTION_H

#include <stdint.h>

#include "../net/flow.h"

#define ACT_MAX 8

enum act_type {
	ACT_OUTPUT = 1,   /* output:PORT (port id) */
	ACT_NORMAL,       /* normal: L2 learning switch */
	ACT_FLOOD,        /* flood: all ports of the VLAN but the ingress one */
	ACT_DROP,         /* drop (also: an empty list) */
	ACT_PUSH_VLAN,    /* push_vlan:VID (vid 0..4095, pcp 0..7) */
	ACT_POP_VLAN,     /* pop_vlan */
	ACT_SET_ETH_SRC,  /* set_eth_src:MAC */
	ACT_SET_ETH_DST,  /* set_eth_dst:MAC */
};

struct action {
	uint8_t type;      /* enum act_type */
	uint8_t pcp;       /* ACT_PUSH_VLAN */
	uint16_t vid;      /* ACT_PUSH_VLAN */
	uint32_t port;     /* ACT_OUTPUT */
	struct eth_addr mac; /* ACT_SET_ETH_* */
};

struct action_list {
	uint8_t n;
	struct action a[ACT_MAX];
};

#endif
