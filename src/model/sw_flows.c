/*
 * sw_flows.c - the flow-table commands: add-flow and del-flows. Every change
 * builds a new classifier snapshot beside the published one, saves the
 * config that holds it, and only then publishes it to the datapath. How a
 * rule is written as a config line, and the table without a port's rules,
 * belong to the core (sw.c), which saving and the plan share.
 */
#include "sw_cmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Output ports must exist now: a rule to nowhere is a typo, not a plan. */
static int sw_flow_check_ports(struct sw_port *const *ports, const struct ctl_flow *f,
			       struct ctl_error *err)
{
	for (unsigned i = 0; i < f->actions.n; i++) {
		const struct action *a = &f->actions.a[i];
		if (a->type == ACT_OUTPUT && (a->port >= DP_MAX_PORTS || !ports[a->port])) {
			sw_err(err, 1, "output:%u: no such port", a->port);
			return -ENOENT;
		}
	}
	return 0;
}

int sw_flow_add(struct sw *sw, const struct ctl_flow *f, struct ctl_error *err)
{
	struct cls_rule_spec spec;
	int rc = sw_flow_check_ports(sw->ports, f, err);
	if (rc)
		return rc;
	sw_spec_from_flow(f, &spec);
	struct cls *next = cls_with_rule_added(dp_rules(sw->dp), &spec, &rc);
	if (!next) {
		sw_err(err, 1, "cannot add the flow: %s",
		       rc == -ENOSPC ? "flow table full" : strerror(-rc));
		return rc;
	}
	struct sw_conf conf = {.settings = &sw->settings, .ports = sw->ports, .cls = next};
	rc = sw_save(sw, &conf, err);
	if (rc) {
		cls_free(next);
		return rc;
	}
	dp_set_rules(sw->dp, next);
	return 0;
}

int sw_flows_del(struct sw *sw, const struct ctl_flow_filter *flt, json_t **result,
		 struct ctl_error *err)
{
	struct cls_match m = {.value = flt->flow.match, .mask = flt->flow.mask};
	int n = 0, rc = 0;
	struct cls *next =
	    cls_with_rules_deleted(dp_rules(sw->dp), &m, flt->strict, flt->flow.priority, &n, &rc);
	if (!next) {
		sw_err(err, -1, "cannot delete flows: %s", strerror(-rc));
		return rc;
	}
	struct sw_conf conf = {.settings = &sw->settings, .ports = sw->ports, .cls = next};
	rc = n ? sw_save(sw, &conf, err) : 0;
	if (rc) {
		cls_free(next);
		return rc;
	}
	dp_set_rules(sw->dp, next);
	*result = json_pack("{s:i}", "deleted", n);
	return 0;
}
