/*
 * sw_ports.c - the port and settings commands: add-port, del-port, set-port
 * and set. Each prepares the configuration it would make (a new port, the
 * flow table without a deleted port's rules, a port's or the global settings
 * merged, a new metrics listener bound) without touching the running switch,
 * saves it, and only then applies it. Built on the core (sw.c); called by sw_exec.c.
 */
#include "sw_cmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/log.h"

static unsigned sw_free_id(struct sw_port *const *ports)
{
	for (unsigned id = 1; id < DP_MAX_PORTS; id++)
		if (!ports[id])
			return id;
	return 0;
}

int sw_add_port(struct sw *sw, const struct ctl_port_spec *spec, struct ctl_error *err)
{
	if (sw_port_by_name(sw, spec->name)) {
		sw_err(err, 1, "port '%s' already exists", spec->name);
		return -EEXIST;
	}
	uid_t uid;
	gid_t gid;
	int rc = sw_port_owner_ids(spec, &uid, &gid, err);
	if (rc)
		return rc;
	unsigned id = sw_free_id(sw->ports);
	if (!id) {
		sw_err(err, 1, "no free port id (at most %d ports)", DP_MAX_PORTS - 1);
		return -ENOSPC;
	}
	struct sw_port *sp = sw_port_new(sw, spec, id);
	if (!sp)
		return -ENOMEM;
	if (sp->port.cfg.type != PORT_TAP && !sp->path_ok) {
		sw_err(err, 1,
		       "port %s: socket path %s/%s.sock is longer than %zu bytes; give path=",
		       spec->name, sw->run_dir, spec->name, sizeof(sp->spec.path) - 1);
		free(sp);
		return -ENAMETOOLONG;
	}
	/* Prepare: the config with the new port; save; then start it. */
	struct sw_port *next[DP_MAX_PORTS];
	memcpy(next, sw->ports, sizeof(next));
	next[id] = sp;
	struct sw_conf conf = {.settings = &sw->settings, .ports = next, .cls = dp_rules(sw->dp)};
	rc = sw_save(sw, &conf, err);
	if (rc == 0 && (rc = sw_port_start(sw, sp, false, err)) != 0) {
		struct sw_conf old;
		struct ctl_error ignored;
		sw_current_conf(sw, &old);
		(void)sw_save(sw, &old, &ignored);
	}
	if (rc)
		free(sp);
	return rc;
}

int sw_del_port(struct sw *sw, const char *name, struct ctl_error *err)
{
	struct sw_port *sp = sw_port_by_name(sw, name);
	if (!sp) {
		sw_err(err, 1, "no port '%s'", name);
		return -ENOENT;
	}
	int rc;
	struct cls *flows = sw_flows_without_port(dp_rules(sw->dp), sp->port.id, &rc);
	if (!flows) {
		sw_err(err, -1, "cannot update the flow table: %s", strerror(-rc));
		return rc;
	}
	struct sw_port *next[DP_MAX_PORTS];
	memcpy(next, sw->ports, sizeof(next));
	next[sp->port.id] = NULL;
	struct sw_conf conf = {.settings = &sw->settings, .ports = next, .cls = flows};
	rc = sw_save(sw, &conf, err);
	if (rc) {
		cls_free(flows);
		return rc;
	}
	dp_set_rules(sw->dp, flows);
	sw_port_stop(sw, sp);
	RS_LOG(RS_LOG_INFO, "sw", "port %s deleted", name);
	return 0;
}

int sw_set_port(struct sw *sw, const struct ctl_port_spec *upd, struct ctl_error *err)
{
	struct sw_port *sp = sw_port_by_name(sw, upd->name);
	if (!sp) {
		sw_err(err, 1, "no port '%s'", upd->name);
		return -ENOENT;
	}
	struct sw_port shadow = *sp;
	int rc = ctl_port_apply(&shadow.spec, upd, err);
	if (rc)
		return rc;
	struct sw_port *next[DP_MAX_PORTS];
	memcpy(next, sw->ports, sizeof(next));
	next[sp->port.id] = &shadow;
	struct sw_conf conf = {.settings = &sw->settings, .ports = next, .cls = dp_rules(sw->dp)};
	rc = sw_save(sw, &conf, err);
	if (rc)
		return rc;
	return sw_port_reconfigure(sw, sp, &shadow.spec);
}

int sw_set(struct sw *sw, const struct ctl_settings *upd, struct ctl_error *err)
{
	struct ctl_settings next = sw->settings;
	struct dp_settings ds;
	sw_merge_settings(&next, upd);
	int rc = sw_dp_settings(&next, &ds, err);
	if (rc)
		return rc;
	/* metrics-listen named (even unchanged: a retry after a failure): bind it first. */
	if ((upd->set & CTL_SET_F_METRICS) &&
	    (rc = sw_metrics_prepare(sw, next.metrics_listen, err)) != 0)
		return rc;
	struct sw_conf conf = {.settings = &next, .ports = sw->ports, .cls = dp_rules(sw->dp)};
	rc = sw_save(sw, &conf, err);
	if (rc) {
		sw_metrics_abort(sw);
		return rc;
	}
	rc = sw_apply_settings(sw, &next, err);
	sw_metrics_commit(sw);
	return rc;
}
