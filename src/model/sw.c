/*
 * sw.c - the switch model's core: the state behind struct sw and the
 * operations every command is built from. Ports (creating one from its spec,
 * starting, reconfiguring, stopping), settings (defaults, merging, applying),
 * the flow table's representation (a config line <-> a classifier rule, the
 * table without a port's rules), writing a configuration to the config file,
 * and the ports' event sources.
 *
 * The bottom of src/model: it calls nothing else of the model. Above it, the
 * commands and reports (sw_ports.c, sw_flows.c, sw_show.c) and the plan that
 * converges to a config file (sw_plan.c); above those, sw_exec.c (creation,
 * reload and command dispatch). sw_internal.h, this file's header, does not
 * declare the commands, reports or plan (sw_cmd.h does), so a call from here
 * to them does not compile. Of sw.h's entry points the core implements
 * sw_resolve_port, sw_pollfds and sw_handle, and calls none.
 */
#include "sw_internal.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/log.h"

#define SW_DEFAULT_IDLE_US	200
#define SW_DEFAULT_MAC_AGING	300
#define SW_DEFAULT_MAC_TABLE	8192
#define SW_VHOST_DEFAULT_QUEUES PORT_MAX_QUEUES /* offering queues costs nothing */

void sw_err(struct ctl_error *err, int token, const char *fmt, ...)
{
	va_list ap;
	memset(err, 0, sizeof(*err));
	err->token_index = token;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

void sw_text_add(struct sw_text *t, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		va_start(ap, fmt);
		int n = vsnprintf(t->buf ? t->buf + t->len : NULL, t->buf ? t->cap - t->len : 0,
				  fmt, ap);
		va_end(ap);
		if (n < 0 || t->oom) {
			t->oom = true;
			return;
		}
		if (t->buf && t->len + (size_t)n < t->cap) {
			t->len += (size_t)n;
			return;
		}
		size_t cap = (t->cap + (size_t)n + 1) * 2;
		char *nb = realloc(t->buf, cap);
		if (!nb) {
			t->oom = true;
			return;
		}
		t->buf = nb;
		t->cap = cap;
	}
}

struct sw_port *sw_port_by_name(struct sw *sw, const char *name)
{
	for (unsigned id = 1; id < DP_MAX_PORTS; id++)
		if (sw->ports[id] && strcmp(sw->ports[id]->spec.name, name) == 0)
			return sw->ports[id];
	return NULL;
}

int sw_resolve_port(void *ctx, const char *name)
{
	struct sw_port *p = sw_port_by_name(ctx, name);
	return p ? (int)p->port.id : -ENOENT;
}

const char *sw_port_name(void *ctx, uint32_t id)
{
	struct sw_port *const *ports = ctx;
	return id < DP_MAX_PORTS && ports[id] ? ports[id]->spec.name : NULL;
}

/* ---- settings ---- */

void sw_default_settings(struct ctl_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->set = CTL_SET_F_PMD_CORES | CTL_SET_F_POLL_MODE | CTL_SET_F_IDLE_US |
		 CTL_SET_F_MAC_AGING | CTL_SET_F_MAC_TABLE | CTL_SET_F_LOG_LEVEL;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned core = ncpu > 1 ? (unsigned)ncpu - 1 : 0; /* leave core 0 to the system */
	s->pmd_cores[core / 64] |= 1ull << (core % 64);
	s->poll_mode = CTL_POLL_ADAPTIVE;
	s->idle_us = SW_DEFAULT_IDLE_US;
	s->mac_aging = SW_DEFAULT_MAC_AGING;
	s->mac_table_size = SW_DEFAULT_MAC_TABLE;
	s->log_level = RS_LOG_INFO;
	s->set |= CTL_SET_F_METRICS; /* metrics_listen "": off */
}

void sw_merge_settings(struct ctl_settings *dst, const struct ctl_settings *upd)
{
	if (upd->set & CTL_SET_F_PMD_CORES)
		memcpy(dst->pmd_cores, upd->pmd_cores, sizeof(dst->pmd_cores));
	if (upd->set & CTL_SET_F_POLL_MODE)
		dst->poll_mode = upd->poll_mode;
	if (upd->set & CTL_SET_F_IDLE_US)
		dst->idle_us = upd->idle_us;
	if (upd->set & CTL_SET_F_MAC_AGING)
		dst->mac_aging = upd->mac_aging;
	if (upd->set & CTL_SET_F_MAC_TABLE)
		dst->mac_table_size = upd->mac_table_size;
	if (upd->set & CTL_SET_F_LOG_LEVEL)
		dst->log_level = upd->log_level;
	if (upd->set & CTL_SET_F_METRICS)
		memcpy(dst->metrics_listen, upd->metrics_listen, sizeof(dst->metrics_listen));
}

int sw_dp_settings(const struct ctl_settings *s, struct dp_settings *out, struct ctl_error *err)
{
	memset(out, 0, sizeof(*out));
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);
	for (unsigned c = 0; c < CTL_CPU_MAX; c++) {
		if (!ctl_bitmap_test(s->pmd_cores, c))
			continue;
		if (ncpu > 0 && c >= (unsigned)ncpu) {
			sw_err(err, -1, "pmd-cores: CPU %u does not exist (this machine has %ld)",
			       c, ncpu);
			return -EINVAL;
		}
		if (out->n_cores == DP_MAX_THREADS) {
			sw_err(err, -1, "pmd-cores: at most %d forwarding threads", DP_MAX_THREADS);
			return -EINVAL;
		}
		out->cores[out->n_cores++] = (int)c;
	}
	out->busy_poll = s->poll_mode == CTL_POLL_BUSY;
	out->idle_us = s->idle_us;
	return 0;
}

/* Applies settings that need no restart of anything and the datapath's. */
int sw_apply_settings(struct sw *sw, const struct ctl_settings *s, struct ctl_error *err)
{
	struct dp_settings ds;
	int rc = sw_dp_settings(s, &ds, err);
	if (rc)
		return rc;
	rs_log_set_level((enum rs_log_level)s->log_level);
	ml_set_aging(&sw->ml, s->mac_aging);
	if (s->mac_table_size != sw->settings.mac_table_size)
		RS_LOG(RS_LOG_WARN, "sw", "mac-table-size %u takes effect at the next restart",
		       s->mac_table_size);
	rc = dp_set_settings(sw->dp, &ds);
	if (rc)
		sw_err(err, -1, "cannot restart forwarding threads: %s", strerror(-rc));
	sw->settings = *s;
	return rc;
}

/* ---- the metrics listener ---- */

int sw_metrics_prepare(struct sw *sw, const char *addr, struct ctl_error *err)
{
	char why[160];
	sw_metrics_abort(sw);
	if (strcmp(addr, sw->metrics_serving) == 0 && !sw->metrics_error[0])
		return 0;
	if (!sw->metrics) {
		if (!addr[0])
			return 0;
		sw_err(err, -1, "metrics-listen=%s: this process serves no metrics", addr);
		return -ENOTSUP;
	}
	int rc = sw->metrics->prepare(sw->metrics_ctx, addr, why, sizeof(why));
	if (rc) {
		sw_err(err, -1, "metrics-listen=%s: %s", addr, why);
		return rc;
	}
	snprintf(sw->metrics_prepared, sizeof(sw->metrics_prepared), "%s", addr);
	sw->metrics_pending = true;
	return 0;
}

void sw_metrics_abort(struct sw *sw)
{
	if (sw->metrics_pending)
		sw->metrics->abort(sw->metrics_ctx);
	sw->metrics_pending = false;
}

void sw_metrics_commit(struct sw *sw)
{
	if (!sw->metrics_pending)
		return;
	sw->metrics->commit(sw->metrics_ctx);
	sw->metrics_pending = false;
	memcpy(sw->metrics_serving, sw->metrics_prepared, sizeof(sw->metrics_serving));
	sw->metrics_error[0] = '\0';
	if (sw->metrics_serving[0])
		RS_LOG(RS_LOG_INFO, "sw", "metrics: serving http://%s/metrics",
		       sw->metrics_serving);
	else
		RS_LOG(RS_LOG_INFO, "sw", "metrics: off");
}

void sw_metrics_converge(struct sw *sw, const char *addr)
{
	struct ctl_error err;
	if (sw_metrics_prepare(sw, addr, &err) == 0) {
		sw_metrics_commit(sw);
		return;
	}
	RS_LOG(RS_LOG_ERR, "sw", "%s; retried on reload", err.msg);
	/* What was served no longer matches the configuration: stop serving it. */
	if (sw->metrics_serving[0] && sw_metrics_prepare(sw, "", &err) == 0)
		sw_metrics_commit(sw);
	snprintf(sw->metrics_error, sizeof(sw->metrics_error), "%s", err.msg);
}

/* ---- the flow table: config lines <-> classifier rules ---- */

void sw_spec_from_flow(const struct ctl_flow *f, struct cls_rule_spec *spec)
{
	memset(spec, 0, sizeof(*spec));
	spec->match.value = f->match;
	spec->match.mask = f->mask;
	spec->priority = f->priority;
	spec->actions = f->actions;
	spec->created = dp_now_s();
}

void sw_flow_from_rule(const struct cls_rule *r, struct ctl_flow *f)
{
	memset(f, 0, sizeof(*f));
	f->match = r->value;
	f->mask = r->mask;
	f->priority = (uint16_t)r->priority;
	f->actions = r->actions;
}

size_t sw_flow_line(const struct cls_rule *r, struct sw_port *const *ports, char *buf, size_t size)
{
	struct ctl_flow f;
	sw_flow_from_rule(r, &f);
	return ctl_add_flow_format(&f, sw_port_name, (void *)ports, buf, size);
}

static bool sw_rule_uses_port(const struct cls_rule *r, uint32_t id)
{
	if (r->mask.in_port && (r->value.in_port & r->mask.in_port) == id)
		return true;
	for (unsigned i = 0; i < r->actions.n; i++)
		if (r->actions.a[i].type == ACT_OUTPUT && r->actions.a[i].port == id)
			return true;
	return false;
}

struct cls *sw_flows_without_port(const struct cls *base, uint32_t id, int *err)
{
	const struct cls_rule **rules;
	size_t n;
	*err = cls_dump(base, &rules, &n);
	if (*err)
		return NULL;
	struct cls_builder *b = cls_builder_create(base);
	for (size_t i = 0; b && i < n; i++) {
		if (!sw_rule_uses_port(rules[i], id))
			continue;
		struct cls_match m = {.value = rules[i]->value, .mask = rules[i]->mask};
		if (cls_builder_delete(b, &m, true, rules[i]->priority) < 0) {
			cls_builder_abort(b);
			b = NULL;
		}
	}
	free(rules);
	if (!b) {
		*err = -ENOMEM;
		return NULL;
	}
	return cls_builder_finish(b, err);
}

/* ---- config file ---- */

void sw_current_conf(struct sw *sw, struct sw_conf *conf)
{
	conf->settings = &sw->settings;
	conf->ports = sw->ports;
	conf->cls = dp_rules(sw->dp);
}

/* Writes 'conf' atomically to the config file. 0 or -errno with 'err' set. */
int sw_save(struct sw *sw, const struct sw_conf *conf, struct ctl_error *err)
{
	const struct cls_rule **rules = NULL;
	size_t n_rules = 0, n = 0;
	int rc = -ENOMEM;

	if (conf->cls && cls_dump(conf->cls, &rules, &n_rules))
		return -ENOMEM;
	size_t cap = 1 + DP_MAX_PORTS + n_rules;
	char **lines = calloc(cap, sizeof(*lines));
	if (!lines)
		goto out;
	char buf[CTL_CMD_TEXT_MAX];
	ctl_settings_format(conf->settings, buf, sizeof(buf));
	if (!(lines[n++] = strdup(buf)))
		goto out;
	for (unsigned id = 1; id < DP_MAX_PORTS; id++) {
		if (!conf->ports[id])
			continue;
		ctl_port_format(&conf->ports[id]->spec, buf, sizeof(buf));
		if (!(lines[n++] = strdup(buf)))
			goto out;
	}
	for (size_t i = 0; i < n_rules; i++) {
		sw_flow_line(rules[i], conf->ports, buf, sizeof(buf));
		if (!(lines[n++] = strdup(buf)))
			goto out;
	}
	struct ctl_config_error cerr;
	rc = ctl_config_save(sw->config_path, (const char *const *)lines, n, NULL, &cerr);
	if (rc)
		sw_err(err, -1, "configuration not saved, nothing changed: %s", cerr.msg);
out:
	for (size_t i = 0; lines && i < n; i++)
		free(lines[i]);
	free(lines);
	free(rules);
	return rc;
}

/* ---- ports ---- */

int sw_port_fill_defaults(struct sw *sw, struct ctl_port_spec *s)
{
	bool vhost = s->type != CTL_PORT_TAP;
	if (!(s->set & CTL_PORT_F_QUEUES)) {
		s->queues = vhost ? SW_VHOST_DEFAULT_QUEUES : 1;
		s->set |= CTL_PORT_F_QUEUES;
	}
	if (s->type == CTL_PORT_VHOST_SERVER && !(s->set & CTL_PORT_F_PATH)) {
		if (snprintf(s->path, sizeof(s->path), "%s/%s.sock", sw->run_dir, s->name) >=
		    (int)sizeof(s->path))
			return -ENAMETOOLONG;
		s->set |= CTL_PORT_F_PATH;
	}
	return 0;
}

/* 'name' as a number, or -1 when it is not all digits (or too large for an id). */
static long sw_id_number(const char *name)
{
	char *end;
	if (name[0] < '0' || name[0] > '9')
		return -1;
	errno = 0;
	unsigned long v = strtoul(name, &end, 10);
	return *end || errno || v >= (unsigned long)(uid_t)-1 ? -1 : (long)v;
}

int sw_port_owner_ids(const struct ctl_port_spec *s, uid_t *uid, gid_t *gid, struct ctl_error *err)
{
	char buf[4096];
	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	if (s->set & CTL_PORT_F_OWNER) {
		struct passwd pw, *res = NULL;
		long n = sw_id_number(s->owner);
		if (n >= 0)
			*uid = (uid_t)n;
		else if (getpwnam_r(s->owner, &pw, buf, sizeof(buf), &res) == 0 && res)
			*uid = pw.pw_uid;
		else {
			sw_err(err, -1, "port %s: owner=%s: no such user", s->name, s->owner);
			return -ENOENT;
		}
	}
	if (s->set & CTL_PORT_F_GROUP) {
		struct group gr, *res = NULL;
		long n = sw_id_number(s->group);
		if (n >= 0)
			*gid = (gid_t)n;
		else if (getgrnam_r(s->group, &gr, buf, sizeof(buf), &res) == 0 && res)
			*gid = gr.gr_gid;
		else {
			sw_err(err, -1, "port %s: group=%s: no such group", s->name, s->group);
			return -ENOENT;
		}
	}
	return 0;
}

static void sw_port_cfg(const struct ctl_port_spec *s, struct port_cfg *c)
{
	struct ctl_error ignored;
	memset(c, 0, sizeof(*c));
	c->type = s->type == CTL_PORT_TAP	     ? PORT_TAP
		  : s->type == CTL_PORT_VHOST_CLIENT ? PORT_VHOST_CLIENT
						     : PORT_VHOST_SERVER;
	snprintf(c->name, sizeof(c->name), "%s", s->name);
	snprintf(c->path, sizeof(c->path), "%s", s->path);
	snprintf(c->ifname, sizeof(c->ifname), "%s", s->ifname[0] ? s->ifname : s->name);
	c->perm = (s->set & CTL_PORT_F_PERM) ? (mode_t)s->perm : 0660;
	/* Checked when the command or file was accepted; a user deleted since then is ignored. */
	if (sw_port_owner_ids(s, &c->owner, &c->group, &ignored))
		RS_LOG(RS_LOG_WARN, "sw", "%s; socket keeps the daemon's ownership", ignored.msg);
	c->queues = s->queues;
	c->reconnect_ms = s->reconnect_ms;
	c->no_offloads = (s->set & CTL_PORT_F_OFFLOADS) && !s->offloads;
}

static void sw_port_vlan(const struct ctl_port_spec *s, struct dp_port_vlan *v)
{
	memset(v, 0, sizeof(*v));
	if (s->vlan_mode == CTL_VLAN_ACCESS) {
		v->mode = DP_VLAN_ACCESS;
		v->tag = s->tag;
		return;
	}
	v->mode = DP_VLAN_TRUNK; /* no VLAN config: every VLAN, like OVS */
	if (s->vlan_mode == CTL_VLAN_TRUNK)
		memcpy(v->trunks, s->trunks, sizeof(v->trunks));
}

static void sw_port_sec(const struct ctl_port_spec *s, struct dp_port_sec *sec)
{
	_Static_assert(CTL_PORT_ALLOWED_MAX == DP_SEC_MAX, "allowed lists must fit the datapath");
	memset(sec, 0, sizeof(*sec));
	if (s->set & CTL_PORT_F_ALLOW_MAC) {
		sec->n_mac = s->n_allowed_mac;
		for (unsigned i = 0; i < s->n_allowed_mac; i++)
			memcpy(sec->mac[i].b, s->allowed_mac[i], 6);
	}
	if (s->set & CTL_PORT_F_ALLOW_IP) {
		sec->n_ip = s->n_allowed_ip;
		memcpy(sec->ip, s->allowed_ip, sizeof(sec->ip));
	}
}

static void sw_port_affinity(const struct ctl_port_spec *s, int core[PORT_MAX_QUEUES])
{
	for (unsigned q = 0; q < PORT_MAX_QUEUES; q++)
		core[q] = -1;
	for (unsigned i = 0; i < s->n_rxq_aff; i++)
		if (s->rxq_aff[i].queue < PORT_MAX_QUEUES)
			core[s->rxq_aff[i].queue] = s->rxq_aff[i].core;
}

/*
 * Registers a port with the datapath and opens it. When opening fails, a port
 * from the config file ('keep_on_error') stays configured, closed, with its
 * error shown and retried on reload; an interactive add-port is undone.
 */
int sw_port_start(struct sw *sw, struct sw_port *sp, bool keep_on_error, struct ctl_error *err)
{
	struct dp_port_vlan vlan;
	struct dp_port_sec sec;
	int core[PORT_MAX_QUEUES];

	sw_port_vlan(&sp->spec, &vlan);
	sw_port_sec(&sp->spec, &sec);
	sw_port_affinity(&sp->spec, core);
	sp->port.ops = port_ops_for(sp->port.cfg.type);
	int rc = dp_port_add(sw->dp, &sp->port, &vlan, &sec, core);
	if (rc) {
		sw_err(err, 1, "port %s: cannot add to the datapath: %s", sp->spec.name,
		       strerror(-rc));
		return rc;
	}
	sw->ports[sp->port.id] = sp;
	rc = sp->port.ops->open(&sp->port);
	if (rc) {
		sw_err(err, 1, "port %s: cannot open %s: %s", sp->spec.name,
		       sp->port.cfg.type == PORT_TAP ? sp->port.cfg.ifname : sp->port.cfg.path,
		       strerror(-rc));
		snprintf(sp->error, sizeof(sp->error), "%s", err->msg);
		if (keep_on_error)
			return rc;
		dp_port_del(sw->dp, &sp->port);
		sw->ports[sp->port.id] = NULL;
		return rc;
	}
	sp->opened = true;
	sp->error[0] = '\0';
	RS_LOG(RS_LOG_INFO, "sw", "port %s (id %u, %s) added", sp->spec.name, sp->port.id,
	       port_type_name(sp->port.cfg.type));
	return 0;
}

void sw_port_retry_open(struct sw *sw, struct sw_port *sp)
{
	(void)sw;
	int rc = sp->port.ops->open(&sp->port);
	if (rc) {
		RS_LOG(RS_LOG_ERR, "sw", "port %s: still cannot open: %s", sp->spec.name,
		       strerror(-rc));
		return;
	}
	sp->opened = true;
	sp->error[0] = '\0';
	RS_LOG(RS_LOG_INFO, "sw", "port %s opened", sp->spec.name);
}

void sw_port_stop(struct sw *sw, struct sw_port *sp)
{
	dp_port_del(sw->dp, &sp->port);
	if (sp->opened)
		sp->port.ops->close(&sp->port);
	sw->ports[sp->port.id] = NULL;
	free(sp);
}

struct sw_port *sw_port_new(struct sw *sw, const struct ctl_port_spec *spec, unsigned id)
{
	struct sw_port *sp = calloc(1, sizeof(*sp));
	if (!sp)
		return NULL;
	sp->spec = *spec;
	sp->path_ok = sw_port_fill_defaults(sw, &sp->spec) == 0;
	sp->port.id = id;
	snprintf(sp->port.name, sizeof(sp->port.name), "%s", spec->name);
	sw_port_cfg(&sp->spec, &sp->port.cfg);
	return sp;
}

/*
 * Applies the changeable fields of 'spec' to a running port, touching only
 * what changed: a VLAN change flushes the port's learned MACs and an affinity
 * change moves queues between threads, so a reload that keeps a port as it
 * was must do neither.
 */
int sw_port_reconfigure(struct sw *sw, struct sw_port *sp, const struct ctl_port_spec *spec)
{
	struct dp_port_vlan vlan, old_vlan;
	struct dp_port_sec sec, old_sec;
	int core[PORT_MAX_QUEUES], old_core[PORT_MAX_QUEUES];
	int rc = 0;

	sw_port_vlan(&sp->spec, &old_vlan);
	sw_port_sec(&sp->spec, &old_sec);
	sw_port_affinity(&sp->spec, old_core);
	sw_port_vlan(spec, &vlan);
	sw_port_sec(spec, &sec);
	sw_port_affinity(spec, core);
	sp->spec = *spec;
	sp->port.cfg.reconnect_ms = spec->reconnect_ms;
	if (memcmp(&vlan, &old_vlan, sizeof(vlan)))
		rc = dp_port_set_vlan(sw->dp, &sp->port, &vlan);
	if (rc == 0 && memcmp(&sec, &old_sec, sizeof(sec)))
		rc = dp_port_set_sec(sw->dp, &sp->port, &sec);
	if (rc == 0 && memcmp(core, old_core, sizeof(core)))
		rc = dp_port_set_affinity(sw->dp, &sp->port, core);
	return rc;
}

bool sw_port_same_kind(const struct ctl_port_spec *a, const struct ctl_port_spec *b)
{
	bool a_off = (a->set & CTL_PORT_F_OFFLOADS) && !a->offloads;
	bool b_off = (b->set & CTL_PORT_F_OFFLOADS) && !b->offloads;
	return a->type == b->type && a->queues == b->queues && a->perm == b->perm && a_off == b_off &&
	       strcmp(a->path, b->path) == 0 && strcmp(a->ifname, b->ifname) == 0 &&
	       (a->set & (CTL_PORT_F_OWNER | CTL_PORT_F_GROUP)) ==
		   (b->set & (CTL_PORT_F_OWNER | CTL_PORT_F_GROUP)) &&
	       strcmp(a->owner, b->owner) == 0 && strcmp(a->group, b->group) == 0;
}

/* ---- events ---- */

unsigned sw_pollfds(struct sw *sw, struct pollfd *pfd, unsigned max, int *timeout_ms)
{
	unsigned n = 0;
	uint64_t now = (uint64_t)dp_now_ms();
	for (unsigned id = 1; id < DP_MAX_PORTS; id++) {
		struct sw_port *sp = sw->ports[id];
		if (!sp || !sp->opened)
			continue;
		sp->pfd_base = n;
		sp->pfd_n = sp->port.ops->pollfds(&sp->port, &pfd[n], max - n);
		n += sp->pfd_n;
		int t = sp->port.ops->timeout_ms(&sp->port, now);
		if (t >= 0 && (*timeout_ms < 0 || t < *timeout_ms))
			*timeout_ms = t;
	}
	return n;
}

void sw_handle(struct sw *sw, const struct pollfd *pfd, unsigned n)
{
	uint64_t now = (uint64_t)dp_now_ms();
	for (unsigned id = 1; id < DP_MAX_PORTS; id++) {
		struct sw_port *sp = sw->ports[id];
		if (!sp || !sp->opened || sp->pfd_base + sp->pfd_n > n)
			continue;
		sp->port.ops->handle(&sp->port, &pfd[sp->pfd_base], sp->pfd_n, now);
	}
}
