/*
 * flow_parse.c - parse and format the flow-rule language described in
 * flow_parse.h. Owns: nothing; every function works on caller memory.
 *
 * Parsing is one pass over the fields (each recorded in a "slot", the key
 * field it writes, with the text that set it) followed by one prerequisite
 * pass, so that field order does not matter and errors point at the field
 * that needs the missing prerequisite.
 */
#include "flow_parse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ETH_TYPE_IP   0x0800
#define ETH_TYPE_ARP  0x0806
#define ETH_TYPE_RARP 0x8035
#define ETH_TYPE_IPV6 0x86dd

/* Slots: one per key field a rule can set. */
enum slot {
	S_PRIORITY,
	S_IN_PORT,
	S_DL_VLAN,
	S_DL_VLAN_PCP,
	S_DL_SRC,
	S_DL_DST,
	S_DL_TYPE,
	S_NW_PROTO,
	S_NW_SRC,
	S_NW_DST,
	S_NW_TOS,
	S_NW_TTL,
	S_TP_SRC,
	S_TP_DST,
	S_ARP_OP,
	S_ARP_SHA,
	S_ARP_THA,
	S_IPV6_SRC,
	S_IPV6_DST,
	S_N
};

enum kind {
	K_PRIORITY,
	K_PORT,
	K_VLAN,
	K_PCP,
	K_MAC,
	K_U16,
	K_U8,
	K_TOS,
	K_IPV4,
	K_TP,
	K_ICMP,
	K_IPV6
};

enum prereq { P_NONE, P_IP4, P_IP, P_L4, P_ICMP, P_ARP, P_IP6 };

struct field_def {
	const char *name;
	uint8_t slot;
	uint8_t kind;
	uint8_t prereq;
	uint8_t off; /* offset of the key field (K_MAC, K_U16, K_U8, K_TOS, K_IPV4, K_TP, K_ICMP,
			K_IPV6) */
};

#define KOFF(f) ((uint8_t)offsetof(struct flow_key, f))

static const struct field_def fields[] = {
    {"priority", S_PRIORITY, K_PRIORITY, P_NONE, 0},
    {"in_port", S_IN_PORT, K_PORT, P_NONE, 0},
    {"dl_vlan", S_DL_VLAN, K_VLAN, P_NONE, 0},
    {"dl_vlan_pcp", S_DL_VLAN_PCP, K_PCP, P_NONE, 0},
    {"dl_src", S_DL_SRC, K_MAC, P_NONE, KOFF(dl_src)},
    {"dl_dst", S_DL_DST, K_MAC, P_NONE, KOFF(dl_dst)},
    {"dl_type", S_DL_TYPE, K_U16, P_NONE, KOFF(dl_type)},
    {"nw_proto", S_NW_PROTO, K_U8, P_IP, KOFF(nw_proto)},
    {"nw_src", S_NW_SRC, K_IPV4, P_IP4, KOFF(nw_src)},
    {"nw_dst", S_NW_DST, K_IPV4, P_IP4, KOFF(nw_dst)},
    {"nw_tos", S_NW_TOS, K_TOS, P_IP, KOFF(nw_tos)},
    {"nw_ttl", S_NW_TTL, K_U8, P_IP, KOFF(nw_ttl)},
    {"tp_src", S_TP_SRC, K_TP, P_L4, KOFF(tp_src)},
    {"tp_dst", S_TP_DST, K_TP, P_L4, KOFF(tp_dst)},
    {"icmp_type", S_TP_SRC, K_ICMP, P_ICMP, KOFF(tp_src)},
    {"icmp_code", S_TP_DST, K_ICMP, P_ICMP, KOFF(tp_dst)},
    {"arp_op", S_ARP_OP, K_U16, P_ARP, KOFF(arp_op)},
    {"arp_spa", S_NW_SRC, K_IPV4, P_ARP, KOFF(nw_src)},
    {"arp_tpa", S_NW_DST, K_IPV4, P_ARP, KOFF(nw_dst)},
    {"arp_sha", S_ARP_SHA, K_MAC, P_ARP, KOFF(arp_sha)},
    {"arp_tha", S_ARP_THA, K_MAC, P_ARP, KOFF(arp_tha)},
    {"ipv6_src", S_IPV6_SRC, K_IPV6, P_IP6, KOFF(ipv6_src)},
    {"ipv6_dst", S_IPV6_DST, K_IPV6, P_IP6, KOFF(ipv6_dst)},
};

struct shorthand {
	const char *name;
	uint16_t dl_type;
	int16_t nw_proto; /* -1: none */
};

static const struct shorthand shorthands[] = {
    {"ip", ETH_TYPE_IP, -1},	 {"ipv6", ETH_TYPE_IPV6, -1}, {"arp", ETH_TYPE_ARP, -1},
    {"rarp", ETH_TYPE_RARP, -1}, {"icmp", ETH_TYPE_IP, 1},    {"icmp6", ETH_TYPE_IPV6, 58},
    {"tcp", ETH_TYPE_IP, 6},	 {"tcp6", ETH_TYPE_IPV6, 6},  {"udp", ETH_TYPE_IP, 17},
    {"udp6", ETH_TYPE_IPV6, 17}, {"sctp", ETH_TYPE_IP, 132},  {"sctp6", ETH_TYPE_IPV6, 132},
};

/* One parse in progress. */
struct fp {
	const char *s;
	unsigned flags;
	ctl_port_resolve_fn *resolve;
	void *ctx;
	struct ctl_flow *f;
	struct ctl_error *err;
	uint32_t seen;			 /* slots set so far */
	size_t at[S_N], atlen[S_N];	 /* the text that set each slot */
	const struct field_def *by[S_N]; /* the field that set it (NULL: a shorthand) */
	size_t tok, toklen;		 /* the token being parsed */
};

static int fp_fail(struct fp *p, const char *fmt, ...) RS_PRINTF(2, 3);

static int fp_fail(struct fp *p, const char *fmt, ...)
{
	char why[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	ctl_error_set(p->err, -1, (int)p->tok + 1, p->s + p->tok, p->toklen, "%s", why);
	return -EINVAL;
}

/* ---- small value parsers ---- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int ctl_parse_u32(const char *s, size_t len, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;
	size_t i = 0;
	unsigned base = 10;

	if (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (i >= len)
		return -EINVAL;
	for (; i < len; i++) {
		int d = hexval(s[i]);
		if (d < 0 || (unsigned)d >= base)
			return -EINVAL;
		v = v * base + (unsigned)d;
		if (v > max)
			return -ERANGE;
	}
	*out = (uint32_t)v;
	return 0;
}

int ctl_parse_mac(const char *s, size_t len, struct eth_addr *out)
{
	size_t i = 0;

	for (int b = 0; b < 6; b++) {
		int hi = i < len ? hexval(s[i]) : -1;
		if (hi < 0)
			return -EINVAL;
		i++;
		int lo = i < len ? hexval(s[i]) : -1;
		if (lo >= 0) {
			out->b[b] = (uint8_t)(hi << 4 | lo);
			i++;
		} else {
			out->b[b] = (uint8_t)hi;
		}
		if (b < 5) {
			if (i >= len || s[i] != ':')
				return -EINVAL;
			i++;
		}
	}
	return i == len ? 0 : -EINVAL;
}

static int parse_ipv4(const char *s, size_t len, uint8_t out[4])
{
	char tmp[INET_ADDRSTRLEN];

	if (len == 0 || len >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	return inet_pton(AF_INET, tmp, out) == 1 ? 0 : -EINVAL;
}

static int parse_ipv6(const char *s, size_t len, uint8_t out[16])
{
	char tmp[INET6_ADDRSTRLEN];

	if (len == 0 || len >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	return inet_pton(AF_INET6, tmp, out) == 1 ? 0 : -EINVAL;
}

/* A mask of 'len' leading one bits over 'n' bytes. */
static void prefix_mask(uint8_t *m, size_t n, unsigned len)
{
	for (size_t i = 0; i < n; i++) {
		unsigned bits = len > i * 8 ? RS_MIN(len - i * 8, 8u) : 0;
		m[i] = (uint8_t)(0xff00 >> bits);
	}
}

/* The prefix length of mask 'm', or -1 when its ones are not leading. */
static int mask_prefix(const uint8_t *m, size_t n)
{
	int len = 0;
	size_t i = 0;

	for (; i < n && m[i] == 0xff; i++)
		len += 8;
	if (i == n)
		return len;
	uint8_t b = m[i];
	while (b & 0x80) {
		b = (uint8_t)(b << 1);
		len++;
	}
	if (b)
		return -1;
	for (i++; i < n; i++)
		if (m[i])
			return -1;
	return len;
}

const char *ctl_port_name_check(const char *s, size_t len)
{
	bool digits = true;

	if (len == 0 || len > CTL_PORT_NAME_MAX)
		return "port name must be 1..15 bytes";
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
		if (!ok)
			return "port name may only hold A-Z a-z 0-9 _ . -";
		if (c < '0' || c > '9')
			digits = false;
	}
	if (digits)
		return "port name must not be all digits (it would read as a port number)";
	if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
		return "port name must not be '.' or '..'";
	return NULL;
}

/* ---- fields ---- */

static uint8_t *kv(struct ctl_flow *f, uint8_t off)
{
	return (uint8_t *)&f->match + off;
}

static uint8_t *km(struct ctl_flow *f, uint8_t off)
{
	return (uint8_t *)&f->mask + off;
}

/* A port NAME or number; 'name' receives the name ("" for a number). */
static int parse_port(struct fp *p, const char *v, size_t n, uint32_t *id, char *name)
{
	uint32_t num;
	bool digits = n > 0;

	for (size_t i = 0; i < n; i++)
		digits = digits && v[i] >= '0' && v[i] <= '9';
	name[0] = '\0';
	if (digits) {
		if (ctl_parse_u32(v, n, CTL_PORT_ID_MAX, &num) < 0)
			return fp_fail(p, "port number out of range 0..%u", CTL_PORT_ID_MAX);
		*id = num;
		return 0;
	}
	const char *why = ctl_port_name_check(v, n);
	if (why)
		return fp_fail(p, "%s", why);
	memcpy(name, v, n);
	name[n] = '\0';
	int r = p->resolve ? p->resolve(p->ctx, name) : -EAGAIN;
	if (r == -EAGAIN) {
		*id = CTL_PORT_UNRESOLVED;
		return 0;
	}
	if (r < 0 || (uint32_t)r > CTL_PORT_ID_MAX)
		return fp_fail(p, "unknown port '%s'", name);
	*id = (uint32_t)r;
	return 0;
}

/* value[/mask] with 'len' byte fields: MAC, IPv4 or IPv6. */
static int parse_addr(struct fp *p, const struct field_def *d, const char *v, size_t n)
{
	const char *slash = memchr(v, '/', n);
	size_t alen = slash ? (size_t)(slash - v) : n;
	uint8_t val[16], msk[16];
	size_t w = d->kind == K_MAC ? 6 : d->kind == K_IPV4 ? 4 : 16;
	const char *what = d->kind == K_MAC ? "MAC" : d->kind == K_IPV4 ? "IPv4" : "IPv6";

	int r = d->kind == K_MAC    ? ctl_parse_mac(v, alen, (struct eth_addr *)val)
		: d->kind == K_IPV4 ? parse_ipv4(v, alen, val)
				    : parse_ipv6(v, alen, val);
	if (r < 0)
		return fp_fail(p, "bad %s address '%.*s'", what, (int)RS_MIN(alen, 64u), v);
	memset(msk, 0xff, w);
	if (slash) {
		const char *m = slash + 1;
		size_t mlen = n - alen - 1;
		uint32_t plen;
		if (d->kind != K_MAC && mlen > 0 && mlen <= 3 && memchr(m, '.', mlen) == NULL &&
		    memchr(m, ':', mlen) == NULL) {
			if (ctl_parse_u32(m, mlen, 1000, &plen) < 0 || plen > w * 8)
				return fp_fail(p, "prefix length out of range 0..%zu", w * 8);
			prefix_mask(msk, w, plen);
		} else {
			r = d->kind == K_MAC	? ctl_parse_mac(m, mlen, (struct eth_addr *)msk)
			    : d->kind == K_IPV4 ? parse_ipv4(m, mlen, msk)
						: parse_ipv6(m, mlen, msk);
			if (r < 0)
				return fp_fail(p, "bad %s mask '%.*s'", what,
					       (int)RS_MIN(mlen, 64u), m);
		}
	}
	for (size_t i = 0; i < w; i++) {
		kv(p->f, d->off)[i] = val[i] & msk[i];
		km(p->f, d->off)[i] = msk[i];
	}
	return 0;
}

static int set_u16(struct ctl_flow *f, uint8_t off, uint16_t v, uint16_t m)
{
	uint16_t nv = htons(v & m), nm = htons(m);
	memcpy(kv(f, off), &nv, 2);
	memcpy(km(f, off), &nm, 2);
	return 0;
}

static int parse_vlan(struct fp *p, const struct field_def *d, const char *v, size_t n)
{
	struct ctl_flow *f = p->f;
	uint32_t x;
	uint16_t tci = ntohs(f->match.vlan_tci), m = ntohs(f->mask.vlan_tci);
	bool other = p->seen & (1u << (d->slot == S_DL_VLAN ? S_DL_VLAN_PCP : S_DL_VLAN));

	if (d->kind == K_VLAN) {
		if (ctl_parse_u32(v, n, 0xffff, &x) < 0 || (x > 4095 && x != 0xffff))
			return fp_fail(p, "VLAN id out of range 0..4095 (or 0xffff: untagged)");
		if (x == 0xffff) {
			if (other)
				return fp_fail(
				    p, "dl_vlan=0xffff (untagged) conflicts with dl_vlan_pcp");
			tci = 0;
			m = 0xffff;
		} else {
			tci |= (uint16_t)(FLOW_VLAN_PRESENT | x);
			m |= FLOW_VLAN_PRESENT | FLOW_VLAN_VID_MASK;
		}
	} else {
		if (ctl_parse_u32(v, n, 7, &x) < 0)
			return fp_fail(p, "VLAN PCP out of range 0..7");
		if (other && m == 0xffff && tci == 0)
			return fp_fail(p, "dl_vlan_pcp conflicts with dl_vlan=0xffff (untagged)");
		tci |= (uint16_t)(FLOW_VLAN_PRESENT | x << FLOW_VLAN_PCP_SHIFT);
		m |= (uint16_t)(FLOW_VLAN_PRESENT | 7u << FLOW_VLAN_PCP_SHIFT);
	}
	f->match.vlan_tci = htons(tci);
	f->mask.vlan_tci = htons(m);
	return 0;
}

/* value[/mask] for tp_src/tp_dst. */
static int parse_tp(struct fp *p, const struct field_def *d, const char *v, size_t n)
{
	const char *slash = memchr(v, '/', n);
	size_t alen = slash ? (size_t)(slash - v) : n;
	uint32_t x, m = 0xffff;

	if (ctl_parse_u32(v, alen, 0xffff, &x) < 0)
		return fp_fail(p, "port out of range 0..65535");
	if (slash && ctl_parse_u32(slash + 1, n - alen - 1, 0xffff, &m) < 0)
		return fp_fail(p, "port mask out of range 0..0xffff");
	return set_u16(p->f, d->off, (uint16_t)x, (uint16_t)m);
}

static int parse_value(struct fp *p, const struct field_def *d, const char *v, size_t n)
{
	struct ctl_flow *f = p->f;
	uint32_t x;

	switch (d->kind) {
	case K_PRIORITY:
		if (!(p->flags & CTL_FLOW_PRIORITY))
			return fp_fail(p, "priority is only allowed with add-flow or --strict");
		if (ctl_parse_u32(v, n, 65535, &x) < 0)
			return fp_fail(p, "priority out of range 0..65535");
		f->priority = (uint16_t)x;
		return 0;
	case K_PORT:
		f->mask.in_port = UINT32_MAX;
		return parse_port(p, v, n, &f->match.in_port, f->in_port_name);
	case K_VLAN:
	case K_PCP:
		return parse_vlan(p, d, v, n);
	case K_MAC:
	case K_IPV4:
	case K_IPV6:
		return parse_addr(p, d, v, n);
	case K_U16:
		if (ctl_parse_u32(v, n, 0xffff, &x) < 0)
			return fp_fail(p, "%s out of range 0..0xffff", d->name);
		return set_u16(f, d->off, (uint16_t)x, 0xffff);
	case K_U8:
	case K_TOS:
		if (ctl_parse_u32(v, n, 255, &x) < 0)
			return fp_fail(p, "%s out of range 0..255", d->name);
		if (d->kind == K_TOS && (x & 3))
			return fp_fail(p, "nw_tos must be a multiple of 4 (the ECN bits are not "
					  "matched)");
		*kv(f, d->off) = (uint8_t)x;
		*km(f, d->off) = d->kind == K_TOS ? 0xfc : 0xff;
		return 0;
	case K_TP:
		return parse_tp(p, d, v, n);
	case K_ICMP:
		if (ctl_parse_u32(v, n, 255, &x) < 0)
			return fp_fail(p, "%s out of range 0..255", d->name);
		return set_u16(f, d->off, (uint16_t)x, 0xffff);
	}
	return fp_fail(p, "internal: unhandled field kind");
}

static bool str_is(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

/* Marks 'slot' as set by the current token, or fails if already set. */
static int claim(struct fp *p, unsigned slot, const struct field_def *d)
{
	if (p->seen & (1u << slot))
		return fp_fail(p, "duplicate field: already set by '%.*s'",
			       (int)RS_MIN(p->atlen[slot], 64u), p->s + p->at[slot]);
	p->seen |= 1u << slot;
	p->at[slot] = p->tok;
	p->atlen[slot] = p->toklen;
	p->by[slot] = d;
	return 0;
}

static int parse_field(struct fp *p, const char *name, size_t nlen, const char *v, size_t vlen,
		       bool has_eq)
{
	for (size_t i = 0; i < RS_ARRAY_SIZE(shorthands); i++) {
		const struct shorthand *sh = &shorthands[i];
		if (!str_is(name, nlen, sh->name))
			continue;
		if (has_eq)
			return fp_fail(p, "'%s' takes no value", sh->name);
		if (claim(p, S_DL_TYPE, NULL) < 0)
			return -EINVAL;
		set_u16(p->f, KOFF(dl_type), sh->dl_type, 0xffff);
		if (sh->nw_proto >= 0) {
			if (claim(p, S_NW_PROTO, NULL) < 0)
				return -EINVAL;
			p->f->match.nw_proto = (uint8_t)sh->nw_proto;
			p->f->mask.nw_proto = 0xff;
		}
		return 0;
	}
	for (size_t i = 0; i < RS_ARRAY_SIZE(fields); i++) {
		const struct field_def *d = &fields[i];
		if (!str_is(name, nlen, d->name))
			continue;
		if (!has_eq || vlen == 0)
			return fp_fail(p, "missing value: use %s=VALUE", d->name);
		if (claim(p, d->slot, d) < 0)
			return -EINVAL;
		return parse_value(p, d, v, vlen);
	}
	if (str_is(name, nlen, "actions"))
		return fp_fail(p, "actions need a value (actions=drop to drop)");
	return fp_fail(p, "unknown field '%.*s'", (int)RS_MIN(nlen, 64u), name);
}

/* ---- actions ---- */

static int parse_action(struct fp *p, const char *a, size_t n, bool *drop)
{
	struct action_list *al = &p->f->actions;
	const char *colon = memchr(a, ':', n);
	size_t nlen = colon ? (size_t)(colon - a) : n;
	const char *arg = colon ? colon + 1 : NULL;
	size_t alen = colon ? n - nlen - 1 : 0;
	uint32_t x;

	if (n == 0)
		return fp_fail(p, "empty action");
	if (*drop || str_is(a, n, "drop")) {
		if (al->n > 0 || *drop)
			return fp_fail(p, "drop must be the only action");
		*drop = true;
		return 0;
	}
	if (al->n == ACT_MAX)
		return fp_fail(p, "too many actions (max %d)", ACT_MAX);
	struct action *act = &al->a[al->n];
	memset(act, 0, sizeof(*act));
	if (str_is(a, nlen, "output")) {
		if (!arg || alen == 0)
			return fp_fail(p, "output needs a port: output:PORT");
		act->type = ACT_OUTPUT;
		if (parse_port(p, arg, alen, &act->port, p->f->out_name[al->n]) < 0)
			return -EINVAL;
	} else if (str_is(a, nlen, "normal") || str_is(a, nlen, "flood") ||
		   str_is(a, nlen, "pop_vlan") || str_is(a, nlen, "strip_vlan")) {
		if (arg)
			return fp_fail(p, "%.*s takes no argument", (int)nlen, a);
		act->type = a[0] == 'n' ? ACT_NORMAL : a[0] == 'f' ? ACT_FLOOD : ACT_POP_VLAN;
	} else if (str_is(a, nlen, "push_vlan")) {
		const char *slash = arg ? memchr(arg, '/', alen) : NULL;
		size_t vlen = slash ? (size_t)(slash - arg) : alen;
		if (!arg || ctl_parse_u32(arg, vlen, 4095, &x) < 0)
			return fp_fail(p, "push_vlan needs VID 0..4095: push_vlan:VID[/PCP]");
		act->type = ACT_PUSH_VLAN;
		act->vid = (uint16_t)x;
		if (slash) {
			if (ctl_parse_u32(slash + 1, alen - vlen - 1, 7, &x) < 0)
				return fp_fail(p, "push_vlan PCP out of range 0..7");
			act->pcp = (uint8_t)x;
		}
	} else if (str_is(a, nlen, "set_eth_src") || str_is(a, nlen, "set_eth_dst") ||
		   str_is(a, nlen, "mod_dl_src") || str_is(a, nlen, "mod_dl_dst")) {
		act->type = a[nlen - 3] == 's' ? ACT_SET_ETH_SRC : ACT_SET_ETH_DST;
		if (!arg || ctl_parse_mac(arg, alen, &act->mac) < 0)
			return fp_fail(p, "%.*s needs a MAC address: %.*s:xx:xx:xx:xx:xx:xx",
				       (int)nlen, a, (int)nlen, a);
	} else {
		return fp_fail(p, "unknown action '%.*s'", (int)RS_MIN(nlen, 64u), a);
	}
	if (act->type != ACT_OUTPUT)
		p->f->out_name[al->n][0] = '\0';
	al->n++;
	return 0;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* The comma-separated list from 'i' to the end of the string. */
static int parse_actions(struct fp *p, size_t i, size_t end)
{
	bool drop = false;

	while (i < end && is_blank(p->s[i]))
		i++;
	if (i == end)
		return 0; /* "actions=" alone: drop */
	for (;;) {
		while (i < end && is_blank(p->s[i]))
			i++;
		size_t start = i;
		while (i < end && p->s[i] != ',')
			i++;
		size_t stop = i;
		while (stop > start && is_blank(p->s[stop - 1]))
			stop--;
		p->tok = start;
		p->toklen = stop - start;
		if (parse_action(p, p->s + start, stop - start, &drop) < 0)
			return -EINVAL;
		if (i == end)
			return 0;
		i++; /* the comma */
	}
}

/* ---- prerequisites ---- */

static bool slot_is(const struct fp *p, unsigned slot)
{
	return p->seen & (1u << slot);
}

static int check_prereq(struct fp *p, const struct field_def *d)
{
	uint16_t dl = slot_is(p, S_DL_TYPE) ? ntohs(p->f->match.dl_type) : 0;
	int proto = slot_is(p, S_NW_PROTO) ? p->f->match.nw_proto : -1;
	bool ip4 = dl == ETH_TYPE_IP, ip6 = dl == ETH_TYPE_IPV6;

	switch (d->prereq) {
	case P_IP4:
		return ip4 ? 0 : fp_fail(p, "%s requires dl_type=0x0800 (ip)", d->name);
	case P_IP:
		return ip4 || ip6 ? 0
				  : fp_fail(p, "%s requires dl_type=0x0800 or 0x86dd (ip or ipv6)",
					    d->name);
	case P_L4:
		if ((ip4 || ip6) && (proto == 6 || proto == 17 || proto == 132))
			return 0;
		return fp_fail(p, "%s requires nw_proto=6, 17 or 132", d->name);
	case P_ICMP:
		if ((ip4 && proto == 1) || (ip6 && proto == 58))
			return 0;
		return fp_fail(p, "%s requires nw_proto=1 (with ip) or 58 (with ipv6)", d->name);
	case P_ARP:
		return dl == ETH_TYPE_ARP || dl == ETH_TYPE_RARP
			   ? 0
			   : fp_fail(p, "%s requires dl_type=0x0806 (arp) or 0x8035 (rarp)",
				     d->name);
	case P_IP6:
		return ip6 ? 0 : fp_fail(p, "%s requires dl_type=0x86dd (ipv6)", d->name);
	}
	return 0;
}

int ctl_flow_parse(const char *s, unsigned flags, ctl_port_resolve_fn *resolve, void *ctx,
		   struct ctl_flow *out, struct ctl_error *err)
{
	struct fp p = {
	    .s = s, .flags = flags, .resolve = resolve, .ctx = ctx, .f = out, .err = err};
	size_t n = strlen(s), i = 0;
	bool actions = false;

	memset(out, 0, sizeof(*out));
	out->priority = CTL_FLOW_PRIORITY_DEFAULT;
	for (;;) {
		while (i < n && (s[i] == ',' || is_blank(s[i])))
			i++;
		if (i >= n)
			break;
		size_t start = i;
		while (i < n && s[i] != ',' && !is_blank(s[i]) && s[i] != '=')
			i++;
		size_t nlen = i - start;
		bool eq = i < n && s[i] == '=';
		if (eq && str_is(s + start, nlen, "actions")) {
			p.tok = start;
			p.toklen = n - start;
			if (!(flags & CTL_FLOW_ACTIONS))
				return fp_fail(&p, "actions are not allowed here");
			if (parse_actions(&p, i + 1, n) < 0)
				return -EINVAL;
			actions = true;
			break;
		}
		size_t v = eq ? i + 1 : i;
		i = v;
		while (i < n && s[i] != ',' && !is_blank(s[i]))
			i++;
		p.tok = start;
		p.toklen = i - start;
		if (parse_field(&p, s + start, nlen, s + v, i - v, eq) < 0)
			return -EINVAL;
	}
	if ((flags & CTL_FLOW_ACTIONS) && !actions) {
		p.tok = 0;
		p.toklen = n;
		return fp_fail(&p, "missing actions= (use actions=drop to drop)");
	}
	for (unsigned slot = 0; slot < S_N; slot++) {
		if (!slot_is(&p, slot) || !p.by[slot])
			continue;
		p.tok = p.at[slot];
		p.toklen = p.atlen[slot];
		if (check_prereq(&p, p.by[slot]) < 0)
			return -EINVAL;
	}
	return 0;
}

int ctl_flow_resolve(struct ctl_flow *f, ctl_port_resolve_fn *resolve, void *ctx,
		     struct ctl_error *err)
{
	const char *names[ACT_MAX + 1];
	uint32_t *ids[ACT_MAX + 1];
	int n = 0;

	if (f->mask.in_port) {
		names[n] = f->in_port_name;
		ids[n++] = &f->match.in_port;
	}
	for (unsigned i = 0; i < f->actions.n && i < ACT_MAX; i++) {
		if (f->actions.a[i].type != ACT_OUTPUT)
			continue;
		names[n] = f->out_name[i];
		ids[n++] = &f->actions.a[i].port;
	}
	for (int i = 0; i < n; i++) {
		if (*ids[i] != CTL_PORT_UNRESOLVED || names[i][0] == '\0')
			continue;
		int r = resolve(ctx, names[i]);
		if (r < 0 || (uint32_t)r > CTL_PORT_ID_MAX) {
			ctl_error_set(err, -1, 0, NULL, 0, "unknown port '%s'", names[i]);
			return -ENOENT;
		}
		*ids[i] = (uint32_t)r;
	}
	return 0;
}

/* ---- formatting ---- */

static void sep(struct ctl_out *o)
{
	if (o->n > 0)
		ctl_outf(o, ",");
}

static void out_mac(struct ctl_out *o, const uint8_t *b)
{
	ctl_outf(o, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
}

static void out_port(struct ctl_out *o, uint32_t id, const char *stored, ctl_port_name_fn *name,
		     void *ctx)
{
	const char *nm = stored[0] ? stored : name ? name(ctx, id) : NULL;
	if (nm)
		ctl_outf(o, "%s", nm);
	else
		ctl_outf(o, "%u", id);
}

static bool all_zero(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static void out_addr(struct ctl_out *o, const struct ctl_flow *f, const char *fname, uint8_t kind,
		     uint8_t off)
{
	const uint8_t *v = (const uint8_t *)&f->match + off, *m = (const uint8_t *)&f->mask + off;
	size_t w = kind == K_MAC ? 6 : kind == K_IPV4 ? 4 : 16;
	char t[INET6_ADDRSTRLEN];

	if (all_zero(m, w))
		return;
	sep(o);
	ctl_outf(o, "%s=", fname);
	if (kind == K_MAC) {
		out_mac(o, v);
		if (mask_prefix(m, w) != 48) {
			ctl_outf(o, "/");
			out_mac(o, m);
		}
		return;
	}
	int af = kind == K_IPV4 ? AF_INET : AF_INET6;
	ctl_outf(o, "%s", inet_ntop(af, v, t, sizeof(t)) ? t : "?");
	int plen = mask_prefix(m, w);
	if (plen >= 0 && (size_t)plen != w * 8)
		ctl_outf(o, "/%d", plen);
	else if (plen < 0)
		ctl_outf(o, "/%s", inet_ntop(af, m, t, sizeof(t)) ? t : "?");
}

static uint16_t get16(const struct flow_key *k, uint8_t off)
{
	uint16_t v;
	memcpy(&v, (const uint8_t *)k + off, 2);
	return ntohs(v);
}

static void out_u16(struct ctl_out *o, const struct ctl_flow *f, const char *fname, uint8_t off)
{
	uint16_t v = get16(&f->match, off), m = get16(&f->mask, off);

	if (m == 0)
		return;
	sep(o);
	if (m == 0xffff)
		ctl_outf(o, "%s=%u", fname, v);
	else
		ctl_outf(o, "%s=0x%x/0x%x", fname, v, m);
}

static void out_vlan(struct ctl_out *o, const struct ctl_flow *f)
{
	uint16_t tci = ntohs(f->match.vlan_tci), m = ntohs(f->mask.vlan_tci);

	if (m == 0xffff && tci == 0) {
		sep(o);
		ctl_outf(o, "dl_vlan=0xffff");
		return;
	}
	if (m & FLOW_VLAN_VID_MASK) {
		sep(o);
		ctl_outf(o, "dl_vlan=%u", tci & FLOW_VLAN_VID_MASK);
	}
	if (m & (7u << FLOW_VLAN_PCP_SHIFT)) {
		sep(o);
		ctl_outf(o, "dl_vlan_pcp=%u", tci >> FLOW_VLAN_PCP_SHIFT);
	}
}

/* Prints the shorthand for dl_type/nw_proto; returns true when it covered nw_proto. */
static bool out_shorthand(struct ctl_out *o, const struct ctl_flow *f)
{
	uint16_t dl = ntohs(f->match.dl_type);

	if (f->mask.dl_type == 0)
		return false;
	for (size_t i = 0; f->mask.nw_proto && i < RS_ARRAY_SIZE(shorthands); i++) {
		const struct shorthand *sh = &shorthands[i];
		if (sh->dl_type == dl && sh->nw_proto == f->match.nw_proto) {
			sep(o);
			ctl_outf(o, "%s", sh->name);
			return true;
		}
	}
	for (size_t i = 0; i < RS_ARRAY_SIZE(shorthands); i++) {
		if (shorthands[i].dl_type == dl && shorthands[i].nw_proto < 0) {
			sep(o);
			ctl_outf(o, "%s", shorthands[i].name);
			return false;
		}
	}
	sep(o);
	ctl_outf(o, "dl_type=0x%04x", dl);
	return false;
}

size_t ctl_actions_format(const struct ctl_flow *f, ctl_port_name_fn *name, void *ctx, char *buf,
			  size_t size)
{
	struct ctl_out o = {buf, size, 0};

	if (size)
		buf[0] = '\0';
	if (f->actions.n == 0)
		ctl_outf(&o, "drop");
	for (unsigned i = 0; i < f->actions.n && i < ACT_MAX; i++) {
		const struct action *a = &f->actions.a[i];
		sep(&o);
		switch (a->type) {
		case ACT_OUTPUT:
			ctl_outf(&o, "output:");
			out_port(&o, a->port, f->out_name[i], name, ctx);
			break;
		case ACT_NORMAL:
			ctl_outf(&o, "normal");
			break;
		case ACT_FLOOD:
			ctl_outf(&o, "flood");
			break;
		case ACT_DROP:
			ctl_outf(&o, "drop");
			break;
		case ACT_PUSH_VLAN:
			ctl_outf(&o, "push_vlan:%u", a->vid);
			if (a->pcp)
				ctl_outf(&o, "/%u", a->pcp);
			break;
		case ACT_POP_VLAN:
			ctl_outf(&o, "pop_vlan");
			break;
		case ACT_SET_ETH_SRC:
		case ACT_SET_ETH_DST:
			ctl_outf(&o, a->type == ACT_SET_ETH_SRC ? "set_eth_src:" : "set_eth_dst:");
			out_mac(&o, a->mac.b);
			break;
		default:
			ctl_outf(&o, "unknown_action_%u", a->type);
			break;
		}
	}
	return o.n;
}

size_t ctl_flow_format(const struct ctl_flow *f, unsigned flags, ctl_port_name_fn *name, void *ctx,
		       char *buf, size_t size)
{
	struct ctl_out o = {buf, size, 0};
	uint16_t dl = ntohs(f->match.dl_type);
	bool arp = f->mask.dl_type && (dl == ETH_TYPE_ARP || dl == ETH_TYPE_RARP);
	bool icmp = f->mask.nw_proto && ((dl == ETH_TYPE_IP && f->match.nw_proto == 1) ||
					 (dl == ETH_TYPE_IPV6 && f->match.nw_proto == 58));

	if (size)
		buf[0] = '\0';
	if (flags & CTL_FLOW_PRIORITY)
		ctl_outf(&o, "priority=%u", f->priority);
	bool proto_done = out_shorthand(&o, f);
	if (f->mask.in_port) {
		sep(&o);
		ctl_outf(&o, "in_port=");
		out_port(&o, f->match.in_port, f->in_port_name, name, ctx);
	}
	out_vlan(&o, f);
	out_addr(&o, f, "dl_src", K_MAC, KOFF(dl_src));
	out_addr(&o, f, "dl_dst", K_MAC, KOFF(dl_dst));
	if (f->mask.nw_proto && !proto_done) {
		sep(&o);
		ctl_outf(&o, "nw_proto=%u", f->match.nw_proto);
	}
	out_addr(&o, f, arp ? "arp_spa" : "nw_src", K_IPV4, KOFF(nw_src));
	out_addr(&o, f, arp ? "arp_tpa" : "nw_dst", K_IPV4, KOFF(nw_dst));
	if (f->mask.nw_tos) {
		sep(&o);
		ctl_outf(&o, "nw_tos=%u", f->match.nw_tos);
	}
	if (f->mask.nw_ttl) {
		sep(&o);
		ctl_outf(&o, "nw_ttl=%u", f->match.nw_ttl);
	}
	out_u16(&o, f, icmp ? "icmp_type" : "tp_src", KOFF(tp_src));
	out_u16(&o, f, icmp ? "icmp_code" : "tp_dst", KOFF(tp_dst));
	out_u16(&o, f, "arp_op", KOFF(arp_op));
	out_addr(&o, f, "arp_sha", K_MAC, KOFF(arp_sha));
	out_addr(&o, f, "arp_tha", K_MAC, KOFF(arp_tha));
	out_addr(&o, f, "ipv6_src", K_IPV6, KOFF(ipv6_src));
	out_addr(&o, f, "ipv6_dst", K_IPV6, KOFF(ipv6_dst));
	if (flags & CTL_FLOW_ACTIONS) {
		sep(&o);
		ctl_outf(&o, "actions=");
		size_t room = o.n < size ? size - o.n : 0;
		o.n += ctl_actions_format(f, name, ctx, room ? buf + o.n : NULL, room);
	}
	return o.n;
}
