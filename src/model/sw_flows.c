/*
 * sw_flows.c - the flow-table commands: add-flow, del-flows, and the flow
 * table of a configuration (built from config lines on load, written back as
 * add-flow lines on save). Every change builds a new classifier snapshot
 * beside the published one, saves the config that holds it, and only then
 * publishes it to the datapath.
 */
#include "sw_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
