/*
 * cls_testutil.h - helpers shared by the classifier tests: setting match
 * fields (value and mask together, host-order arguments), prefixes, rule
 * specs, and one-call snapshot changes that fail the test on error.
 */
#ifndef RS_TEST_CLS_TESTUTIL_H
#define RS_TEST_CLS_TESTUTIL_H

#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

#include "switch/cls.h"

static inline uint32_t tu_prefix_mask(int plen)
{
	return plen <= 0 ? 0 : (uint32_t)(~0ULL << (32 - plen));
}

static inline void tu_in_port(struct cls_match *m, uint32_t port)
{
	m->value.in_port = port;
	m->mask.in_port = UINT32_MAX;
}

static inline void tu_dl_type(struct cls_match *m, uint16_t type)
{
	m->value.dl_type = htons(type);
	m->mask.dl_type = UINT16_MAX;
}

static inline void tu_nw_proto(struct cls_match *m, uint8_t proto)
{
	m->value.nw_proto = proto;
	m->mask.nw_proto = UINT8_MAX;
}

static inline void tu_nw_src(struct cls_match *m, uint32_t addr, int plen)
{
	m->value.nw_src = htonl(addr & tu_prefix_mask(plen));
	m->mask.nw_src = htonl(tu_prefix_mask(plen));
}

static inline void tu_nw_dst(struct cls_match *m, uint32_t addr, int plen)
{
	m->value.nw_dst = htonl(addr & tu_prefix_mask(plen));
	m->mask.nw_dst = htonl(tu_prefix_mask(plen));
}

static inline void tu_tp_dst(struct cls_match *m, uint16_t port)
{
	m->value.tp_dst = htons(port);
	m->mask.tp_dst = UINT16_MAX;
}

static inline void tu_tp_src(struct cls_match *m, uint16_t port)
{
	m->value.tp_src = htons(port);
	m->mask.tp_src = UINT16_MAX;
}

static inline void tu_dl_dst(struct cls_match *m, uint8_t last)
{
	struct eth_addr a = {{0x02, 0, 0, 0, 0, last}};
	m->value.dl_dst = a;
	memset(&m->mask.dl_dst, 0xff, sizeof(m->mask.dl_dst));
}

static inline struct cls_rule_spec tu_spec(const struct cls_match *m, uint32_t prio,
					   uint64_t cookie)
{
	struct cls_rule_spec s;

	memset(&s, 0, sizeof(s));
	s.match = *m;
	s.priority = prio;
	s.cookie = cookie;
	s.actions.n = 1;
	s.actions.a[0].type = ACT_OUTPUT;
	s.actions.a[0].port = (uint32_t)cookie;
	return s;
}

#endif
