/*
 * ctl_cmd.c - tokens to struct ctl_cmd and back. The verb table says how
 * many arguments each verb takes and whether a config file may hold it; port
 * and global keys have their own tables. Owns: nothing.
 */
#include "ctl_cmd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../lib/log.h"

/* One parse in progress. */
struct pc {
	const struct ctl_tokens *t;
	ctl_port_resolve_fn *resolve;
	void *ctx;
	struct ctl_error *err;
};

static int fail_at(struct pc *p, int idx, size_t off, const char *fmt, ...) RS_PRINTF(4, 5);

/*
 * Fails naming token 'idx', with the column of byte 'off' inside it (off 0:
 * the token's own column, which is that of an opening quote if any).
 */
static int fail_at(struct pc *p, int idx, size_t off, const char *fmt, ...)
{
	char why[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (idx >= p->t->n) /* a missing argument: point just past the line */
		ctl_error_set(
		    p->err, idx,
		    p->t->n ? ctl_tok_column(p->t, p->t->n - 1, p->t->tok[p->t->n - 1].len) + 1 : 1,
		    NULL, 0, "%s", why);
	else
		ctl_error_set(p->err, idx,
			      off ? ctl_tok_column(p->t, idx, off) : p->t->tok[idx].column,
			      p->t->tok[idx].text, p->t->tok[idx].len, "%s", why);
	return -EINVAL;
}

static bool str_is(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

static void bit_set(uint64_t *map, unsigned bit)
{
	map[bit / 64] |= 1ull << (bit % 64);
}

/* ---- values ---- */

/* A list "A,B,C-D" of numbers 0..max into 'map'; 'what' names an element. */
static int parse_list(struct pc *p, int idx, size_t voff, uint32_t max, const char *what,
		      uint64_t *map)
{
	const char *s = p->t->tok[idx].text;
	size_t n = p->t->tok[idx].len, i = voff;

	if (i >= n)
		return fail_at(p, idx, i, "empty list");
	for (;;) {
		size_t start = i;
		while (i < n && s[i] != ',')
			i++;
		const char *dash = memchr(s + start, '-', i - start);
		size_t alen = dash ? (size_t)(dash - (s + start)) : i - start;
		uint32_t lo, hi;
		if (i == start)
			return fail_at(p, idx, start, "empty element in list");
		if (ctl_parse_u32(s + start, alen, max, &lo) < 0)
			return fail_at(p, idx, start, "%s out of range 0..%u", what, max);
		hi = lo;
		if (dash && ctl_parse_u32(dash + 1, i - start - alen - 1, max, &hi) < 0)
			return fail_at(p, idx, start, "%s out of range 0..%u", what, max);
		if (hi < lo)
			return fail_at(p, idx, start, "bad range %u-%u", lo, hi);
		for (uint32_t b = lo; b <= hi; b++) {
			if (ctl_bitmap_test(map, b))
				return fail_at(p, idx, start, "%s %u listed twice", what, b);
			bit_set(map, b);
		}
		if (i == n)
			return 0;
		i++;
	}
}

static int parse_rxq_aff(struct pc *p, int idx, size_t voff, struct ctl_port_spec *ps)
{
	const char *s = p->t->tok[idx].text;
	size_t n = p->t->tok[idx].len, i = voff;
	uint32_t seen = 0, q, c;

	if (i >= n)
		return fail_at(p, idx, i, "empty list");
	for (;;) {
		size_t start = i;
		while (i < n && s[i] != ',')
			i++;
		const char *colon = memchr(s + start, ':', i - start);
		size_t qlen = colon ? (size_t)(colon - (s + start)) : 0;
		if (!colon || ctl_parse_u32(s + start, qlen, CTL_QUEUES_MAX - 1, &q) < 0 ||
		    ctl_parse_u32(colon + 1, i - start - qlen - 1, CTL_CPU_MAX - 1, &c) < 0)
			return fail_at(p, idx, start,
				       "rxq-affinity wants QUEUE:CORE, queue 0..%d, core 0..%d",
				       CTL_QUEUES_MAX - 1, CTL_CPU_MAX - 1);
		if (seen & (1u << q))
			return fail_at(p, idx, start, "queue %u listed twice", q);
		seen |= 1u << q;
		ps->rxq_aff[ps->n_rxq_aff].queue = (uint16_t)q;
		ps->rxq_aff[ps->n_rxq_aff].core = (uint16_t)c;
		ps->n_rxq_aff++;
		if (i == n)
			return 0;
		i++;
	}
}

static int parse_num(struct pc *p, int idx, size_t voff, uint32_t lo, uint32_t hi, const char *what,
		     uint32_t *out)
{
	const struct ctl_token *k = &p->t->tok[idx];

	if (ctl_parse_u32(k->text + voff, k->len - voff, hi, out) < 0 || *out < lo)
		return fail_at(p, idx, voff, "%s out of range %u..%u", what, lo, hi);
	return 0;
}

/* A choice among 'names' (NULL-terminated); *out = index + base. */
static int parse_enum(struct pc *p, int idx, size_t voff, const char *const *names, int base,
		      const char *what, uint8_t *out)
{
	const struct ctl_token *k = &p->t->tok[idx];
	char alts[96] = "";

	for (int i = 0; names[i]; i++) {
		if (str_is(k->text + voff, k->len - voff, names[i])) {
			*out = (uint8_t)(i + base);
			return 0;
		}
		snprintf(alts + strlen(alts), sizeof(alts) - strlen(alts), "%s%s", i ? "|" : "",
			 names[i]);
	}
	return fail_at(p, idx, voff, "%s must be %s", what, alts);
}

/* metrics-listen's value: "off", "" or an address (ctl_listen_parse). */
static int parse_listen(struct pc *p, int idx, size_t voff, char *out)
{
	const struct ctl_token *k = &p->t->tok[idx];
	const char *why;

	out[0] = '\0';
	if (voff == k->len || str_is(k->text + voff, k->len - voff, "off"))
		return 0;
	if (ctl_listen_parse(k->text + voff, k->len - voff, NULL, NULL, out, &why) < 0)
		return fail_at(p, idx, voff, "metrics-listen: %s", why);
	return 0;
}

static const char *const vlan_mode_names[] = {"access", "trunk", NULL};
static const char *const poll_mode_names[] = {"busy", "adaptive", NULL};
static const char *const off_on_names[] = {"off", "on", NULL};
static const char *const log_level_names[] = {"err", "warn", "info", "debug", NULL};
static const char *const port_type_names[] = {"vhost-user-server", "vhost-user-client", "tap",
					      NULL};

/* ---- ports ---- */

#define TY(t)	 (1u << (t))
#define TY_ALL	 (TY(CTL_PORT_VHOST_SERVER) | TY(CTL_PORT_VHOST_CLIENT) | TY(CTL_PORT_TAP))
#define TY_VHOST (TY(CTL_PORT_VHOST_SERVER) | TY(CTL_PORT_VHOST_CLIENT))

struct port_key {
	const char *name;
	uint32_t flag;
	uint32_t types; /* TY() of the port types that take it */
};

static const struct port_key port_keys[] = {
    {"path", CTL_PORT_F_PATH, TY_VHOST},
    {"perm", CTL_PORT_F_PERM, TY(CTL_PORT_VHOST_SERVER)},
    {"reconnect-ms", CTL_PORT_F_RECONNECT, TY(CTL_PORT_VHOST_CLIENT)},
    {"ifname", CTL_PORT_F_IFNAME, TY(CTL_PORT_TAP)},
    {"queues", CTL_PORT_F_QUEUES, TY_ALL},
    {"vlan-mode", CTL_PORT_F_VLAN_MODE, TY_ALL},
    {"tag", CTL_PORT_F_TAG, TY_ALL},
    {"trunks", CTL_PORT_F_TRUNKS, TY_ALL},
    {"rxq-affinity", CTL_PORT_F_RXQ_AFF, TY_ALL},
    {"allowed-mac", CTL_PORT_F_ALLOW_MAC, TY_ALL},
    {"allowed-ip", CTL_PORT_F_ALLOW_IP, TY_ALL},
    {"owner", CTL_PORT_F_OWNER, TY(CTL_PORT_VHOST_SERVER)},
    {"group", CTL_PORT_F_GROUP, TY(CTL_PORT_VHOST_SERVER)},
    {"offloads", CTL_PORT_F_OFFLOADS, TY_ALL},
};

static const char *ifname_check(const char *s, size_t n)
{
	if (n == 0 || n > CTL_PORT_NAME_MAX)
		return "ifname must be 1..15 bytes";
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '.' || s[i] == '-'))
			return "ifname may only hold A-Z a-z 0-9 _ . -";
	if (str_is(s, n, ".") || str_is(s, n, ".."))
		return "ifname must not be '.' or '..'";
	return NULL;
}

/*
 * allowed-mac / allowed-ip: "any", or a list of at most CTL_PORT_ALLOWED_MAX
 * unicast MACs (IPv4 addresses), each at most once. "any" leaves a count of 0.
 */
static int parse_allowed(struct pc *p, int idx, size_t voff, bool mac, struct ctl_port_spec *ps)
{
	const char *s = p->t->tok[idx].text;
	size_t n = p->t->tok[idx].len, i = voff;
	const char *what = mac ? "MAC" : "IPv4 address";
	uint8_t *count = mac ? &ps->n_allowed_mac : &ps->n_allowed_ip;

	if (str_is(s + voff, n - voff, "any"))
		return 0;
	for (;;) {
		size_t start = i;
		while (i < n && s[i] != ',')
			i++;
		if (i == start)
			return fail_at(p, idx, start, "empty element in list");
		if (*count == CTL_PORT_ALLOWED_MAX)
			return fail_at(p, idx, start, "at most %d addresses", CTL_PORT_ALLOWED_MAX);
		if (mac) {
			struct eth_addr a;
			if (ctl_parse_mac(s + start, i - start, &a) < 0)
				return fail_at(p, idx, start, "bad MAC (want xx:xx:xx:xx:xx:xx)");
			if (a.b[0] & 1)
				return fail_at(p, idx, start, "a multicast MAC cannot be a source");
			for (unsigned k = 0; k < *count; k++)
				if (memcmp(ps->allowed_mac[k], a.b, 6) == 0)
					return fail_at(p, idx, start, "%s listed twice", what);
			memcpy(ps->allowed_mac[*count], a.b, 6);
		} else {
			char tmp[INET_ADDRSTRLEN];
			uint32_t a;
			if (i - start >= sizeof(tmp))
				return fail_at(p, idx, start, "bad IPv4 address (want A.B.C.D)");
			memcpy(tmp, s + start, i - start);
			tmp[i - start] = '\0';
			if (inet_pton(AF_INET, tmp, &a) != 1)
				return fail_at(p, idx, start, "bad IPv4 address (want A.B.C.D)");
			for (unsigned k = 0; k < *count; k++)
				if (ps->allowed_ip[k] == a)
					return fail_at(p, idx, start, "%s listed twice", what);
			ps->allowed_ip[*count] = a;
		}
		(*count)++;
		if (i == n)
			return 0;
		i++;
	}
}

/* owner= / group=: a user or group name, or a number; resolved by the daemon. */
static int parse_id_name(struct pc *p, int idx, size_t voff, const char *what, char *out)
{
	const char *v = p->t->tok[idx].text + voff;
	size_t vn = p->t->tok[idx].len - voff;

	if (vn >= CTL_ID_NAME_SIZE)
		return fail_at(p, idx, voff, "%s must be 1..%d bytes", what, CTL_ID_NAME_SIZE - 1);
	for (size_t i = 0; i < vn; i++)
		if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') ||
		      (v[i] >= '0' && v[i] <= '9') || v[i] == '_' || v[i] == '.' ||
		      (v[i] == '-' && i > 0)))
			return fail_at(p, idx, voff,
				       "%s must be a name ([A-Za-z0-9_.-], not starting with -) "
				       "or a number",
				       what);
	memcpy(out, v, vn);
	out[vn] = '\0';
	return 0;
}

static int port_value(struct pc *p, int idx, size_t voff, uint32_t flag, struct ctl_port_spec *ps)
{
	const struct ctl_token *k = &p->t->tok[idx];
	const char *v = k->text + voff;
	size_t vn = k->len - voff;
	uint32_t x;
	const char *why;

	switch (flag) {
	case CTL_PORT_F_PATH:
		if (v[0] != '/')
			return fail_at(p, idx, voff, "path must be absolute");
		if (vn >= CTL_PATH_SIZE)
			return fail_at(p, idx, voff,
				       "path too long for a unix socket (max %d bytes)",
				       CTL_PATH_SIZE - 1);
		memcpy(ps->path, v, vn + 1);
		return 0;
	case CTL_PORT_F_PERM:
		x = 0;
		for (size_t i = 0; i < vn && i < 5; i++)
			x = v[i] >= '0' && v[i] <= '7' ? x * 8 + (uint32_t)(v[i] - '0') : 01000;
		if (vn > 4 || x > 0777)
			return fail_at(p, idx, voff, "perm must be octal 0..0777");
		ps->perm = (uint16_t)x;
		return 0;
	case CTL_PORT_F_RECONNECT:
		return parse_num(p, idx, voff, 0, 3600000, "reconnect-ms", &ps->reconnect_ms);
	case CTL_PORT_F_IFNAME:
		why = ifname_check(v, vn);
		if (why)
			return fail_at(p, idx, voff, "%s", why);
		memcpy(ps->ifname, v, vn + 1);
		return 0;
	case CTL_PORT_F_QUEUES:
		if (parse_num(p, idx, voff, 1, CTL_QUEUES_MAX, "queues", &x) < 0)
			return -EINVAL;
		ps->queues = (uint16_t)x;
		return 0;
	case CTL_PORT_F_VLAN_MODE:
		return parse_enum(p, idx, voff, vlan_mode_names, CTL_VLAN_ACCESS, "vlan-mode",
				  &ps->vlan_mode);
	case CTL_PORT_F_OFFLOADS:
		return parse_enum(p, idx, voff, off_on_names, 0, "offloads", &ps->offloads);
	case CTL_PORT_F_TAG:
		if (parse_num(p, idx, voff, 0, 4095, "tag", &x) < 0)
			return -EINVAL;
		ps->tag = (uint16_t)x;
		return 0;
	case CTL_PORT_F_TRUNKS:
		return parse_list(p, idx, voff, 4095, "VLAN", ps->trunks);
	case CTL_PORT_F_RXQ_AFF:
		return parse_rxq_aff(p, idx, voff, ps);
	case CTL_PORT_F_ALLOW_MAC:
		return parse_allowed(p, idx, voff, true, ps);
	case CTL_PORT_F_ALLOW_IP:
		return parse_allowed(p, idx, voff, false, ps);
	case CTL_PORT_F_OWNER:
		return parse_id_name(p, idx, voff, "owner", ps->owner);
	case CTL_PORT_F_GROUP:
		return parse_id_name(p, idx, voff, "group", ps->group);
	}
	return fail_at(p, idx, 0, "internal: unhandled key");
}

/* The token index that set 'flag', for messages about combinations. */
static int key_token(const int *at, uint32_t flag)
{
	return at[__builtin_ctz(flag)];
}

/* KEY=VALUE tokens from 'first' on; set-port when ps->type is CTL_PORT_NONE. */
static int port_keys_parse(struct pc *p, int first, struct ctl_port_spec *ps)
{
	int at[32] = {0};
	uint32_t given = 0;
	bool setport = ps->type == CTL_PORT_NONE;

	for (int i = first; i < p->t->n; i++) {
		const struct ctl_token *k = &p->t->tok[i];
		const char *eq = memchr(k->text, '=', k->len);
		size_t klen = eq ? (size_t)(eq - k->text) : k->len;
		const struct port_key *pk = NULL;
		for (size_t j = 0; j < RS_ARRAY_SIZE(port_keys) && !pk; j++)
			if (str_is(k->text, klen, port_keys[j].name))
				pk = &port_keys[j];
		if (!pk)
			return fail_at(p, i, 0, "unknown port key '%.*s'", (int)RS_MIN(klen, 64u),
				       k->text);
		if (!eq || klen + 1 == k->len)
			return fail_at(p, i, 0, "missing value: use %s=VALUE", pk->name);
		if (setport && !(pk->flag & CTL_PORT_F_CHANGEABLE))
			return fail_at(
			    p, i, 0,
			    "%s cannot be changed by set-port: del-port and add-port again",
			    pk->name);
		if (!setport && !(pk->types & TY(ps->type)))
			return fail_at(p, i, 0, "%s does not apply to %s ports", pk->name,
				       ctl_port_type_name(ps->type));
		if (given & pk->flag)
			return fail_at(p, i, 0, "duplicate key %s", pk->name);
		given |= pk->flag;
		at[__builtin_ctz(pk->flag)] = i;
		if (port_value(p, i, klen + 1, pk->flag, ps) < 0)
			return -EINVAL;
	}
	if ((given & CTL_PORT_F_TAG) && (given & CTL_PORT_F_TRUNKS))
		return fail_at(p, key_token(at, CTL_PORT_F_TRUNKS), 0,
			       "tag and trunks exclude each other");
	if ((given & CTL_PORT_F_TAG) && (given & CTL_PORT_F_VLAN_MODE) &&
	    ps->vlan_mode != CTL_VLAN_ACCESS)
		return fail_at(p, key_token(at, CTL_PORT_F_TAG), 0,
			       "tag requires vlan-mode=access");
	if ((given & CTL_PORT_F_TRUNKS) && (given & CTL_PORT_F_VLAN_MODE) &&
	    ps->vlan_mode != CTL_VLAN_TRUNK)
		return fail_at(p, key_token(at, CTL_PORT_F_TRUNKS), 0,
			       "trunks requires vlan-mode=trunk");
	if (given & CTL_PORT_F_TAG)
		ps->vlan_mode = CTL_VLAN_ACCESS;
	if (given & CTL_PORT_F_TRUNKS)
		ps->vlan_mode = CTL_VLAN_TRUNK;
	if (given & (CTL_PORT_F_TAG | CTL_PORT_F_TRUNKS))
		given |= CTL_PORT_F_VLAN_MODE;
	if (setport && given == 0)
		return fail_at(p, first, 0, "set-port needs at least one KEY=VALUE");
	/* add-port: "any" is the same as not giving the key. */
	if (!setport && (given & CTL_PORT_F_ALLOW_MAC) && ps->n_allowed_mac == 0)
		given &= ~(uint32_t)CTL_PORT_F_ALLOW_MAC;
	if (!setport && (given & CTL_PORT_F_ALLOW_IP) && ps->n_allowed_ip == 0)
		given &= ~(uint32_t)CTL_PORT_F_ALLOW_IP;
	if (!setport && ps->type == CTL_PORT_VHOST_CLIENT && !(given & CTL_PORT_F_PATH))
		return fail_at(p, 2, 0, "vhost-user-client ports need path=");
	unsigned queues = (given & CTL_PORT_F_QUEUES) ? ps->queues : CTL_PORT_DEFAULT_QUEUES;
	for (unsigned i = 0; !setport && i < ps->n_rxq_aff; i++)
		if (ps->rxq_aff[i].queue >= queues)
			return fail_at(p, key_token(at, CTL_PORT_F_RXQ_AFF), 0,
				       "rxq-affinity queue %u but the port has %u queue(s)",
				       ps->rxq_aff[i].queue, queues);
	ps->set = given;
	return 0;
}

static int parse_name(struct pc *p, int idx, char *out)
{
	const struct ctl_token *k = &p->t->tok[idx];
	const char *why = ctl_port_name_check(k->text, k->len);

	if (why)
		return fail_at(p, idx, 0, "%s", why);
	memcpy(out, k->text, k->len + 1);
	return 0;
}

static int cmd_add_port(struct pc *p, struct ctl_cmd *c)
{
	struct ctl_port_spec *ps = &c->u.port_spec;

	if (parse_name(p, 1, ps->name) < 0)
		return -EINVAL;
	if (parse_enum(p, 2, 0, port_type_names, CTL_PORT_VHOST_SERVER, "port type", &ps->type) < 0)
		return -EINVAL;
	return port_keys_parse(p, 3, ps);
}

static int cmd_set_port(struct pc *p, struct ctl_cmd *c)
{
	if (parse_name(p, 1, c->u.port_spec.name) < 0)
		return -EINVAL;
	return port_keys_parse(p, 2, &c->u.port_spec);
}

static int cmd_port_arg(struct pc *p, struct ctl_cmd *c)
{
	return p->t->n > 1 ? parse_name(p, 1, c->u.port) : 0;
}

/* ---- global settings ---- */

static int cmd_set(struct pc *p, struct ctl_cmd *c)
{
	static const char *const keys[] = {"pmd-cores",	    "poll-mode",      "idle-us",
					   "mac-aging",	    "mac-table-size", "log-level",
					   "metrics-listen"};
	struct ctl_settings *s = &c->u.settings;

	for (int i = 1; i < p->t->n; i++) {
		const struct ctl_token *k = &p->t->tok[i];
		const char *eq = memchr(k->text, '=', k->len);
		size_t klen = eq ? (size_t)(eq - k->text) : k->len, v = klen + 1;
		unsigned key = 0;
		while (key < RS_ARRAY_SIZE(keys) && !str_is(k->text, klen, keys[key]))
			key++;
		if (key == RS_ARRAY_SIZE(keys))
			return fail_at(p, i, 0, "unknown setting '%.*s'", (int)RS_MIN(klen, 64u),
				       k->text);
		/* metrics-listen= (empty) turns metrics off. */
		if (!eq || (v == k->len && (1u << key) != CTL_SET_F_METRICS))
			return fail_at(p, i, 0, "missing value: use %s=VALUE", keys[key]);
		if (s->set & (1u << key))
			return fail_at(p, i, 0, "duplicate key %s", keys[key]);
		s->set |= 1u << key;
		int r;
		switch (1u << key) {
		case CTL_SET_F_PMD_CORES:
			r = parse_list(p, i, v, CTL_CPU_MAX - 1, "CPU", s->pmd_cores);
			break;
		case CTL_SET_F_POLL_MODE:
			r = parse_enum(p, i, v, poll_mode_names, CTL_POLL_BUSY, "poll-mode",
				       &s->poll_mode);
			break;
		case CTL_SET_F_IDLE_US:
			r = parse_num(p, i, v, 0, 10000000, "idle-us", &s->idle_us);
			break;
		case CTL_SET_F_MAC_AGING:
			r = parse_num(p, i, v, 1, 86400, "mac-aging", &s->mac_aging);
			break;
		case CTL_SET_F_MAC_TABLE:
			r = parse_num(p, i, v, 16, 16777216, "mac-table-size", &s->mac_table_size);
			break;
		case CTL_SET_F_LOG_LEVEL:
			r = parse_enum(p, i, v, log_level_names, RS_LOG_ERR, "log-level",
				       &s->log_level);
			break;
		default:
			r = parse_listen(p, i, v, s->metrics_listen);
			break;
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- flows ---- */

/* Parses token 'idx' as a flow; maps the error column into the source line. */
static int flow_arg(struct pc *p, int idx, unsigned flags, struct ctl_flow *f)
{
	const char *s = idx < p->t->n ? p->t->tok[idx].text : "";
	int r = ctl_flow_parse(s, flags, p->resolve, p->ctx, f, p->err);

	if (r < 0 && p->err) {
		p->err->token_index = idx;
		p->err->column =
		    idx < p->t->n ? ctl_tok_column(p->t, idx, (size_t)RS_MAX(p->err->column - 1, 0))
				  : 0;
	}
	return r;
}

static int cmd_add_flow(struct pc *p, struct ctl_cmd *c)
{
	return flow_arg(p, 1, CTL_FLOW_ACTIONS | CTL_FLOW_PRIORITY, &c->u.flow);
}

static int cmd_filter(struct pc *p, struct ctl_cmd *c)
{
	struct ctl_flow_filter *f = &c->u.filter;
	int i = 1;

	if (c->verb == CTL_DEL_FLOWS && i < p->t->n &&
	    str_is(p->t->tok[i].text, p->t->tok[i].len, "--strict")) {
		f->strict = true;
		i++;
	}
	if (i < p->t->n - 1)
		return fail_at(p, i + 1, 0, "%s takes one MATCH argument: quote it",
			       ctl_verb_name(c->verb));
	if (i < p->t->n && p->t->tok[i].text[0] == '-')
		return fail_at(p, i, 0, "unknown option");
	return flow_arg(p, i, f->strict ? CTL_FLOW_PRIORITY : 0, &f->flow);
}

static int cmd_none(struct pc *p, struct ctl_cmd *c)
{
	(void)p;
	(void)c;
	return 0;
}

/* ---- verbs ---- */

struct verb_def {
	const char *name;
	const char *usage;
	int min_args, max_args; /* after the verb */
	bool config;		/* allowed in a config file */
	int (*parse)(struct pc *p, struct ctl_cmd *c);
};

static const struct verb_def verbs[CTL_VERB_COUNT] = {
    [CTL_SHOW] = {"show", "show", 0, 0, false, cmd_none},
    [CTL_PORT_STATS] = {"port-stats", "port-stats [PORT]", 0, 1, false, cmd_port_arg},
    [CTL_PMD_SHOW] = {"pmd-show", "pmd-show", 0, 0, false, cmd_none},
    [CTL_DUMP_FLOWS] = {"dump-flows", "dump-flows [MATCH]", 0, 1, false, cmd_filter},
    [CTL_FDB_SHOW] = {"fdb-show", "fdb-show", 0, 0, false, cmd_none},
    [CTL_FDB_FLUSH] = {"fdb-flush", "fdb-flush [PORT]", 0, 1, false, cmd_port_arg},
    [CTL_RELOAD] = {"reload", "reload", 0, 0, false, cmd_none},
    [CTL_ADD_PORT] = {"add-port", "add-port NAME TYPE [KEY=VALUE...]", 2, CTL_LEX_MAX_TOKENS, true,
		      cmd_add_port},
    [CTL_DEL_PORT] = {"del-port", "del-port NAME", 1, 1, true, cmd_port_arg},
    [CTL_SET_PORT] = {"set-port", "set-port NAME KEY=VALUE...", 2, CTL_LEX_MAX_TOKENS, true,
		      cmd_set_port},
    [CTL_SET] = {"set", "set KEY=VALUE...", 1, CTL_LEX_MAX_TOKENS, true, cmd_set},
    [CTL_ADD_FLOW] = {"add-flow", "add-flow FLOW (one argument: quote it)", 1, 1, true,
		      cmd_add_flow},
    [CTL_DEL_FLOWS] = {"del-flows", "del-flows [--strict] [MATCH]", 0, 2, true, cmd_filter},
};

const char *ctl_verb_name(enum ctl_verb verb)
{
	return verb > CTL_VERB_NONE && verb < CTL_VERB_COUNT ? verbs[verb].name : NULL;
}

bool ctl_verb_in_config(enum ctl_verb verb)
{
	return verb > CTL_VERB_NONE && verb < CTL_VERB_COUNT && verbs[verb].config;
}

const char *ctl_port_type_name(enum ctl_port_type type)
{
	return type >= CTL_PORT_VHOST_SERVER && type <= CTL_PORT_TAP
		   ? port_type_names[type - CTL_PORT_VHOST_SERVER]
		   : "unknown";
}

int ctl_cmd_parse(const struct ctl_tokens *toks, ctl_port_resolve_fn *resolve, void *ctx,
		  struct ctl_cmd *cmd, struct ctl_error *err)
{
	struct pc p = {.t = toks, .resolve = resolve, .ctx = ctx, .err = err};

	memset(cmd, 0, sizeof(*cmd));
	if (toks->n == 0) {
		ctl_error_set(err, -1, 0, NULL, 0, "empty command");
		return -EINVAL;
	}
	const struct ctl_token *v = &toks->tok[0];
	for (int i = 1; i < CTL_VERB_COUNT; i++) {
		const struct verb_def *d = &verbs[i];
		if (!str_is(v->text, v->len, d->name))
			continue;
		int nargs = toks->n - 1;
		if (nargs < d->min_args)
			return fail_at(&p, toks->n, 0, "missing argument: usage: %s", d->usage);
		if (nargs > d->max_args)
			return fail_at(&p, d->max_args + 1, 0, "too many arguments: usage: %s",
				       d->usage);
		cmd->verb = (enum ctl_verb)i;
		int r = d->parse(&p, cmd);
		if (r < 0)
			memset(cmd, 0, sizeof(*cmd));
		return r;
	}
	return fail_at(&p, 0, 0, "unknown command");
}

int ctl_cmd_parse_line(const char *line, size_t len, ctl_port_resolve_fn *resolve, void *ctx,
		       struct ctl_cmd *cmd, struct ctl_error *err)
{
	struct ctl_tokens t;
	int r = ctl_lex(line, len, CTL_LEX_COMMENTS, &t, err);

	memset(cmd, 0, sizeof(*cmd));
	if (r < 0)
		return r;
	r = t.n == 0 ? -ENODATA : ctl_cmd_parse(&t, resolve, ctx, cmd, err);
	ctl_tokens_free(&t);
	return r;
}

/* ---- set-port on an existing port ---- */

int ctl_port_apply(struct ctl_port_spec *port, const struct ctl_port_spec *upd,
		   struct ctl_error *err)
{
	struct ctl_port_spec r = *port;
	uint32_t s = upd->set;

	if (s & ~CTL_PORT_F_CHANGEABLE) {
		ctl_error_set(
		    err, -1, 0, NULL, 0,
		    "only reconnect-ms, vlan-mode, tag, trunks, rxq-affinity, allowed-mac and "
		    "allowed-ip can change");
		return -EINVAL;
	}
	if (s & CTL_PORT_F_RECONNECT) {
		if (r.type != CTL_PORT_VHOST_CLIENT) {
			ctl_error_set(err, -1, 0, NULL, 0,
				      "reconnect-ms does not apply to %s ports",
				      ctl_port_type_name(r.type));
			return -EINVAL;
		}
		r.reconnect_ms = upd->reconnect_ms;
	}
	if (s & CTL_PORT_F_VLAN_MODE) {
		r.vlan_mode = upd->vlan_mode;
		if (r.vlan_mode != CTL_VLAN_ACCESS) {
			r.set &= ~CTL_PORT_F_TAG;
			r.tag = 0;
		}
		if (r.vlan_mode != CTL_VLAN_TRUNK) {
			r.set &= ~CTL_PORT_F_TRUNKS;
			memset(r.trunks, 0, sizeof(r.trunks));
		}
	}
	if (s & CTL_PORT_F_TAG)
		r.tag = upd->tag;
	if (s & CTL_PORT_F_TRUNKS)
		memcpy(r.trunks, upd->trunks, sizeof(r.trunks));
	if (s & CTL_PORT_F_RXQ_AFF) {
		unsigned queues = (r.set & CTL_PORT_F_QUEUES) ? r.queues : CTL_PORT_DEFAULT_QUEUES;
		for (unsigned i = 0; i < upd->n_rxq_aff; i++) {
			if (upd->rxq_aff[i].queue >= queues) {
				ctl_error_set(err, -1, 0, NULL, 0,
					      "rxq-affinity queue %u but port %s has %u queue(s)",
					      upd->rxq_aff[i].queue, r.name, queues);
				return -EINVAL;
			}
		}
		r.n_rxq_aff = upd->n_rxq_aff;
		memcpy(r.rxq_aff, upd->rxq_aff, sizeof(r.rxq_aff));
	}
	if (s & CTL_PORT_F_ALLOW_MAC) {
		r.n_allowed_mac = upd->n_allowed_mac;
		memcpy(r.allowed_mac, upd->allowed_mac, sizeof(r.allowed_mac));
	}
	if (s & CTL_PORT_F_ALLOW_IP) {
		r.n_allowed_ip = upd->n_allowed_ip;
		memcpy(r.allowed_ip, upd->allowed_ip, sizeof(r.allowed_ip));
	}
	r.set |= s;
	/* "any": the restriction is lifted, as if the key had never been given. */
	if (r.n_allowed_mac == 0)
		r.set &= ~(uint32_t)CTL_PORT_F_ALLOW_MAC;
	if (r.n_allowed_ip == 0)
		r.set &= ~(uint32_t)CTL_PORT_F_ALLOW_IP;
	*port = r;
	return 0;
}

/* ---- listen addresses ---- */

int ctl_listen_parse(const char *s, size_t n, struct sockaddr_storage *sa, socklen_t *len,
		     char *canon, const char **why)
{
	char host[INET6_ADDRSTRLEN];
	unsigned char addr[sizeof(struct in6_addr)];
	const char *h = s, *colon;
	bool v6 = n > 0 && s[0] == '[';
	uint32_t port;

	if (v6) {
		const char *rb = memchr(s, ']', n);
		colon = rb && rb + 1 < s + n && rb[1] == ':' ? rb + 1 : NULL;
		h = s + 1;
		if (!colon) {
			*why = "want [IPV6]:PORT";
			return -EINVAL;
		}
	} else {
		colon = memchr(s, ':', n);
		if (colon && memchr(colon + 1, ':', n - (size_t)(colon + 1 - s))) {
			*why = "an IPv6 address goes in brackets: [IPV6]:PORT";
			return -EINVAL;
		}
		if (!colon) {
			*why = "want IPV4:PORT or [IPV6]:PORT";
			return -EINVAL;
		}
	}
	size_t hlen = (size_t)(colon - h) - (v6 ? 1 : 0);
	if (hlen == 0 || hlen >= sizeof(host)) {
		*why = hlen ? "address too long" : "missing address before ':PORT'";
		return -EINVAL;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (ctl_parse_u32(colon + 1, n - (size_t)(colon + 1 - s), 65535, &port) < 0 || port == 0) {
		*why = "port out of range 1..65535";
		return -EINVAL;
	}
	if (inet_pton(v6 ? AF_INET6 : AF_INET, host, addr) != 1) {
		*why = v6 ? "not an IPv6 address"
			  : "not a numeric IPv4 address (host names are not resolved)";
		return -EINVAL;
	}
	if (canon) {
		char txt[INET6_ADDRSTRLEN];
		inet_ntop(v6 ? AF_INET6 : AF_INET, addr, txt, sizeof(txt));
		snprintf(canon, CTL_LISTEN_SIZE, v6 ? "[%s]:%u" : "%s:%u", txt, port);
	}
	if (sa) {
		memset(sa, 0, sizeof(*sa));
		if (v6) {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)sa;
			a->sin6_family = AF_INET6;
			a->sin6_port = htons((uint16_t)port);
			memcpy(&a->sin6_addr, addr, sizeof(a->sin6_addr));
		} else {
			struct sockaddr_in *a = (struct sockaddr_in *)sa;
			a->sin_family = AF_INET;
			a->sin_port = htons((uint16_t)port);
			memcpy(&a->sin_addr, addr, sizeof(a->sin_addr));
		}
	}
	if (len)
		*len = v6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	return 0;
}

/* ---- formatting ---- */

/* " " then 's' quoted as one token. */
static void out_arg(struct ctl_out *o, const char *s)
{
	ctl_outf(o, " ");
	size_t room = o->n < o->size ? o->size - o->n : 0;
	o->n += ctl_lex_quote(s, room ? o->buf + o->n : NULL, room);
}

/* A bitmap as "a,b-c" (no leading separator). */
static void out_list(struct ctl_out *o, const uint64_t *map, unsigned bits)
{
	bool first = true;

	for (unsigned b = 0; b < bits; b++) {
		if (!ctl_bitmap_test(map, b))
			continue;
		unsigned e = b;
		while (e + 1 < bits && ctl_bitmap_test(map, e + 1))
			e++;
		ctl_outf(o, first ? "%u" : ",%u", b);
		if (e > b)
			ctl_outf(o, "-%u", e);
		first = false;
		b = e;
	}
}

static void port_keys_format(struct ctl_out *o, const struct ctl_port_spec *p)
{
	char tmp[CTL_PATH_SIZE + 16];

	if (p->set & CTL_PORT_F_PATH) {
		snprintf(tmp, sizeof(tmp), "path=%s", p->path);
		out_arg(o, tmp);
	}
	if (p->set & CTL_PORT_F_PERM)
		ctl_outf(o, " perm=%04o", p->perm);
	if (p->set & CTL_PORT_F_OWNER)
		ctl_outf(o, " owner=%s", p->owner);
	if (p->set & CTL_PORT_F_GROUP)
		ctl_outf(o, " group=%s", p->group);
	if (p->set & CTL_PORT_F_RECONNECT)
		ctl_outf(o, " reconnect-ms=%u", p->reconnect_ms);
	if (p->set & CTL_PORT_F_IFNAME)
		ctl_outf(o, " ifname=%s", p->ifname);
	if (p->set & CTL_PORT_F_QUEUES)
		ctl_outf(o, " queues=%u", p->queues);
	if (p->set & CTL_PORT_F_OFFLOADS)
		ctl_outf(o, " offloads=%s", off_on_names[p->offloads ? 1 : 0]);
	if ((p->set & CTL_PORT_F_VLAN_MODE) && p->vlan_mode >= CTL_VLAN_ACCESS &&
	    p->vlan_mode <= CTL_VLAN_TRUNK)
		ctl_outf(o, " vlan-mode=%s", vlan_mode_names[p->vlan_mode - CTL_VLAN_ACCESS]);
	if (p->set & CTL_PORT_F_TAG)
		ctl_outf(o, " tag=%u", p->tag);
	if (p->set & CTL_PORT_F_TRUNKS) {
		ctl_outf(o, " trunks=");
		out_list(o, p->trunks, 4096);
	}
	if (p->set & CTL_PORT_F_RXQ_AFF) {
		ctl_outf(o, " rxq-affinity=");
		for (unsigned i = 0; i < p->n_rxq_aff && i < CTL_QUEUES_MAX; i++)
			ctl_outf(o, "%s%u:%u", i ? "," : "", p->rxq_aff[i].queue,
				 p->rxq_aff[i].core);
	}
	if (p->set & CTL_PORT_F_ALLOW_MAC) {
		ctl_outf(o, " allowed-mac=%s", p->n_allowed_mac ? "" : "any");
		for (unsigned i = 0; i < p->n_allowed_mac && i < CTL_PORT_ALLOWED_MAX; i++) {
			const uint8_t *m = p->allowed_mac[i];
			ctl_outf(o, "%s%02x:%02x:%02x:%02x:%02x:%02x", i ? "," : "", m[0], m[1],
				 m[2], m[3], m[4], m[5]);
		}
	}
	if (p->set & CTL_PORT_F_ALLOW_IP) {
		ctl_outf(o, " allowed-ip=%s", p->n_allowed_ip ? "" : "any");
		for (unsigned i = 0; i < p->n_allowed_ip && i < CTL_PORT_ALLOWED_MAX; i++) {
			const uint8_t *a = (const uint8_t *)&p->allowed_ip[i];
			ctl_outf(o, "%s%u.%u.%u.%u", i ? "," : "", a[0], a[1], a[2], a[3]);
		}
	}
}

size_t ctl_port_format(const struct ctl_port_spec *p, char *buf, size_t size)
{
	struct ctl_out o = {buf, size, 0};

	if (size)
		buf[0] = '\0';
	if (p->type == CTL_PORT_NONE)
		ctl_outf(&o, "set-port %s", p->name);
	else
		ctl_outf(&o, "add-port %s %s", p->name, ctl_port_type_name(p->type));
	port_keys_format(&o, p);
	return o.n;
}

size_t ctl_settings_format(const struct ctl_settings *s, char *buf, size_t size)
{
	struct ctl_out o = {buf, size, 0};

	if (size)
		buf[0] = '\0';
	ctl_outf(&o, "set");
	if (s->set & CTL_SET_F_PMD_CORES) {
		ctl_outf(&o, " pmd-cores=");
		out_list(&o, s->pmd_cores, CTL_CPU_MAX);
	}
	if ((s->set & CTL_SET_F_POLL_MODE) && s->poll_mode >= CTL_POLL_BUSY &&
	    s->poll_mode <= CTL_POLL_ADAPTIVE)
		ctl_outf(&o, " poll-mode=%s", poll_mode_names[s->poll_mode - CTL_POLL_BUSY]);
	if (s->set & CTL_SET_F_IDLE_US)
		ctl_outf(&o, " idle-us=%u", s->idle_us);
	if (s->set & CTL_SET_F_MAC_AGING)
		ctl_outf(&o, " mac-aging=%u", s->mac_aging);
	if (s->set & CTL_SET_F_MAC_TABLE)
		ctl_outf(&o, " mac-table-size=%u", s->mac_table_size);
	if ((s->set & CTL_SET_F_LOG_LEVEL) && s->log_level <= RS_LOG_DEBUG)
		ctl_outf(&o, " log-level=%s", log_level_names[s->log_level]);
	if (s->set & CTL_SET_F_METRICS)
		ctl_outf(&o, " metrics-listen=%s",
			 s->metrics_listen[0] ? s->metrics_listen : "off");
	return o.n;
}

/* "VERB [--strict] 'FLOW'" */
static size_t flow_cmd_format(const char *verb, bool strict, const struct ctl_flow *f,
			      unsigned flags, bool omit_empty, ctl_port_name_fn *name, void *ctx,
			      char *buf, size_t size)
{
	struct ctl_out o = {buf, size, 0};
	char text[CTL_FLOW_TEXT_MAX];

	if (size)
		buf[0] = '\0';
	ctl_outf(&o, "%s%s", verb, strict ? " --strict" : "");
	ctl_flow_format(f, flags, name, ctx, text, sizeof(text));
	if (!omit_empty || text[0])
		out_arg(&o, text);
	return o.n;
}

size_t ctl_add_flow_format(const struct ctl_flow *f, ctl_port_name_fn *name, void *ctx, char *buf,
			   size_t size)
{
	return flow_cmd_format("add-flow", false, f, CTL_FLOW_ACTIONS | CTL_FLOW_PRIORITY, false,
			       name, ctx, buf, size);
}

size_t ctl_cmd_format(const struct ctl_cmd *cmd, ctl_port_name_fn *name, void *ctx, char *buf,
		      size_t size)
{
	struct ctl_out o = {buf, size, 0};
	const struct ctl_flow_filter *fl = &cmd->u.filter;

	if (size)
		buf[0] = '\0';
	switch (cmd->verb) {
	case CTL_ADD_PORT:
	case CTL_SET_PORT:
		return ctl_port_format(&cmd->u.port_spec, buf, size);
	case CTL_SET:
		return ctl_settings_format(&cmd->u.settings, buf, size);
	case CTL_ADD_FLOW:
		return ctl_add_flow_format(&cmd->u.flow, name, ctx, buf, size);
	case CTL_DEL_FLOWS:
	case CTL_DUMP_FLOWS:
		return flow_cmd_format(ctl_verb_name(cmd->verb), fl->strict, &fl->flow,
				       fl->strict ? CTL_FLOW_PRIORITY : 0, true, name, ctx, buf,
				       size);
	case CTL_PORT_STATS:
	case CTL_FDB_FLUSH:
	case CTL_DEL_PORT:
		ctl_outf(&o, "%s", ctl_verb_name(cmd->verb));
		if (cmd->u.port[0])
			ctl_outf(&o, " %s", cmd->u.port);
		return o.n;
	default:
		ctl_outf(&o, "%s", ctl_verb_name(cmd->verb) ? ctl_verb_name(cmd->verb) : "?");
		return o.n;
	}
}
