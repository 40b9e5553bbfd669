/*
 * sw_plan.c - converging the running switch to a config file (start, reload,
 * SIGHUP) in two steps. The plan replays every line of the file in order
 * (set, add-port, set-port, del-port, add-flow, del-flows) into the desired
 * settings, ports with their ids, and a classifier snapshot, without touching
 * the running switch; any error refuses the whole file. Only a complete plan
 * is applied. Ports that keep their kind (type, path, queues...) keep their
 * id and running state; a port that cannot be opened stays configured with
 * its error shown, so one bad port never takes the others down.
 *
 * Built on the core (sw.c) alone; called by sw_exec.c (sw_create, sw_reload).
 */
#include "sw_cmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/log.h"

/* Ids for ports that a later line deletes: never visible outside the plan. */
#define SW_PLAN_TEMP_ID 0x8000u

struct sw_plan_port {
	struct ctl_port_spec spec; /* defaults filled */
	unsigned id;
	struct sw_port *keep; /* the running port it continues, or NULL */
};

struct sw_plan {
	struct ctl_settings settings;
	unsigned n;
	struct sw_plan_port ports[DP_MAX_PORTS - 1];
	/* name -> id of every port the file ever adds, for resolving flows in order */
	unsigned n_names;
	struct {
		char name[CTL_PORT_NAME_SIZE];
		unsigned id;
	} names[CTL_CONFIG_MAX_PORTS];
	struct cls *cls;
};

static struct sw_plan_port *plan_port(struct sw_plan *p, const char *name)
{
	for (unsigned i = 0; i < p->n; i++)
		if (strcmp(p->ports[i].spec.name, name) == 0)
			return &p->ports[i];
	return NULL;
}

static void plan_err_line(struct ctl_error *err, const struct sw *sw, int line, const char *why)
{
	char msg[sizeof(err->msg)];
	snprintf(msg, sizeof(msg), "%s", why);
	sw_err(err, -1, "%s:%d: %s", sw->config_path, line, msg);
}

/* Pass 1: settings and the final set of ports. */
static int plan_ports(struct sw *sw, const struct ctl_config *cfg, struct sw_plan *p,
		      struct ctl_error *err)
{
	sw_default_settings(&p->settings);
	for (size_t i = 0; i < cfg->n; i++) {
		const struct ctl_cmd *c = &cfg->v[i].cmd;
		struct sw_plan_port *pp;
		int line = cfg->v[i].line;
		switch (c->verb) {
		case CTL_SET:
			sw_merge_settings(&p->settings, &c->u.settings);
			break;
		case CTL_ADD_PORT:
			if (plan_port(p, c->u.port_spec.name) || p->n == RS_ARRAY_SIZE(p->ports)) {
				plan_err_line(err, sw, line,
					      "port exists already, or too many ports");
				return -EINVAL;
			}
			p->ports[p->n++].spec = c->u.port_spec;
			break;
		case CTL_DEL_PORT:
			pp = plan_port(p, c->u.port);
			if (pp)
				*pp = p->ports[--p->n];
			break;
		case CTL_SET_PORT:
			pp = plan_port(p, c->u.port_spec.name);
			if (pp && ctl_port_apply(&pp->spec, &c->u.port_spec, err)) {
				plan_err_line(err, sw, line, err->msg);
				return -EINVAL;
			}
			break;
		default:
			break;
		}
	}
	struct dp_settings ds;
	if (sw_dp_settings(&p->settings, &ds, err)) {
		plan_err_line(err, sw, 0, err->msg);
		return -EINVAL;
	}
	for (unsigned i = 0; i < p->n; i++) {
		uid_t uid;
		gid_t gid;
		if (sw_port_owner_ids(&p->ports[i].spec, &uid, &gid, err)) {
			plan_err_line(err, sw, 0, err->msg);
			return -EINVAL;
		}
		if (sw_port_fill_defaults(sw, &p->ports[i].spec)) {
			sw_err(err, -1,
			       "%s: port %s: socket path %s/%s.sock is too long; give path=",
			       sw->config_path, p->ports[i].spec.name, sw->run_dir,
			       p->ports[i].spec.name);
			return -ENAMETOOLONG;
		}
	}
	return 0;
}

/* Pass 2: ids. Kept ports keep theirs; new ones take the lowest free ids. */
static void plan_ids(struct sw *sw, struct sw_plan *p)
{
	bool used[DP_MAX_PORTS] = {0};
	for (unsigned i = 0; i < p->n; i++) {
		struct sw_port *sp = sw_port_by_name(sw, p->ports[i].spec.name);
		if (sp && sw_port_same_kind(&sp->spec, &p->ports[i].spec)) {
			p->ports[i].keep = sp;
			p->ports[i].id = sp->port.id;
			used[sp->port.id] = true;
		}
	}
	unsigned next = 1;
	for (unsigned i = 0; i < p->n; i++) {
		if (p->ports[i].keep)
			continue;
		while (used[next])
			next++;
		p->ports[i].id = next;
		used[next] = true;
	}
}

static int plan_resolve(void *ctx, const char *name)
{
	struct sw_plan *p = ctx;
	for (unsigned i = 0; i < p->n_names; i++)
		if (strcmp(p->names[i].name, name) == 0)
			return (int)p->names[i].id;
	return -ENOENT;
}

/* The id a port name has at this point of the file (final id, or a temporary one). */
static void plan_name_added(struct sw_plan *p, const char *name)
{
	if (plan_resolve(p, name) >= 0 || p->n_names == RS_ARRAY_SIZE(p->names))
		return;
	struct sw_plan_port *pp = plan_port(p, name);
	unsigned id = pp ? pp->id : SW_PLAN_TEMP_ID + p->n_names;
	snprintf(p->names[p->n_names].name, CTL_PORT_NAME_SIZE, "%s", name);
	p->names[p->n_names++].id = id;
}

/* Applies one flow line to '*c' (replacing the snapshot). */
static int plan_flow_line(struct sw_plan *p, const struct ctl_cmd *c, struct cls **cur,
			  struct ctl_error *err)
{
	int rc = 0, n;
	struct cls *next = NULL;
	if (c->verb == CTL_DEL_PORT) {
		int id = plan_resolve(p, c->u.port);
		next = id < 0 ? NULL : sw_flows_without_port(*cur, (uint32_t)id, &rc);
		if (id < 0)
			return 0;
	} else if (c->verb == CTL_ADD_FLOW) {
		struct ctl_flow f = c->u.flow;
		struct cls_rule_spec spec;
		if ((rc = ctl_flow_resolve(&f, plan_resolve, p, err)) != 0)
			return rc;
		sw_spec_from_flow(&f, &spec);
		next = cls_with_rule_added(*cur, &spec, &rc);
	} else if (c->verb == CTL_DEL_FLOWS) {
		struct ctl_flow_filter flt = c->u.filter;
		if ((rc = ctl_flow_resolve(&flt.flow, plan_resolve, p, err)) != 0)
			return rc;
		struct cls_match m = {.value = flt.flow.match, .mask = flt.flow.mask};
		next = cls_with_rules_deleted(*cur, &m, flt.strict, flt.flow.priority, &n, &rc);
	} else {
		return 0;
	}
	if (!next) {
		sw_err(err, -1, "flow table: %s", strerror(-rc));
		return rc ? rc : -ENOMEM;
	}
	cls_free(*cur);
	*cur = next;
	return 0;
}

/* Pass 3: the flow table, replaying flow and port lines in order. */
static int plan_flows(struct sw *sw, const struct ctl_config *cfg, struct sw_plan *p,
		      struct ctl_error *err)
{
	struct cls *cur = cls_create(sw->clst);
	if (!cur)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n; i++) {
		const struct ctl_cmd *c = &cfg->v[i].cmd;
		if (c->verb == CTL_ADD_PORT)
			plan_name_added(p, c->u.port_spec.name);
		int rc = plan_flow_line(p, c, &cur, err);
		if (rc) {
			plan_err_line(err, sw, cfg->v[i].line, err->msg);
			cls_free(cur);
			return rc;
		}
	}
	p->cls = cur;
	return 0;
}

static int plan_build(struct sw *sw, const struct ctl_config *cfg, struct sw_plan *p,
		      struct ctl_error *err)
{
	int rc = plan_ports(sw, cfg, p, err);
	if (rc)
		return rc;
	plan_ids(sw, p);
	return plan_flows(sw, cfg, p, err);
}

/* Applies a complete plan; 'p->cls' passes to the datapath. */
static void plan_apply(struct sw *sw, struct sw_plan *p)
{
	struct ctl_error err;
	if (sw_apply_settings(sw, &p->settings, &err))
		RS_LOG(RS_LOG_ERR, "sw", "%s", err.msg);
	sw_metrics_converge(sw, p->settings.metrics_listen);
	for (unsigned id = 1; id < DP_MAX_PORTS; id++) {
		bool kept = false;
		for (unsigned i = 0; i < p->n && sw->ports[id] && !kept; i++)
			kept = p->ports[i].keep == sw->ports[id];
		if (sw->ports[id] && !kept)
			sw_port_stop(sw, sw->ports[id]);
	}
	/* Before new ports exist: no rule of the old table can reach a reused id. */
	dp_set_rules(sw->dp, p->cls);
	p->cls = NULL;
	for (unsigned i = 0; i < p->n; i++) {
		struct sw_plan_port *pp = &p->ports[i];
		if (pp->keep) {
			sw_port_reconfigure(sw, pp->keep, &pp->spec);
			if (!pp->keep->opened)
				sw_port_retry_open(sw, pp->keep);
			continue;
		}
		struct sw_port *sp = sw_port_new(sw, &pp->spec, pp->id);
		if (sp && sw_port_start(sw, sp, true, &err))
			RS_LOG(RS_LOG_ERR, "sw", "%s", err.msg);
	}
}

int sw_converge(struct sw *sw, const struct ctl_config *cfg, struct ctl_error *err)
{
	struct sw_plan *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	int rc = plan_build(sw, cfg, p, err);
	if (rc == 0)
		plan_apply(sw, p);
	cls_free(p->cls);
	free(p);
	return rc;
}
