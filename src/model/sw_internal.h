/*
 * sw_internal.h - the switch model's private state, shared by sw.c (ports,
 * settings, config file), sw_flows.c (the flow table) and sw_show.c (what
 * the query commands report).
 */
#ifndef RS_MODEL_SW_INTERNAL_H
#define RS_MODEL_SW_INTERNAL_H

#include <limits.h>

#include "sw.h"
#include "../dp/dp.h"
#include "../ports/port.h"

struct sw_port {
	struct port port;	   /* the running port (id, name, cfg, ops) */
	struct ctl_port_spec spec; /* as configured, defaults filled in */
	bool opened;
	bool path_ok;		  /* vhost-user: spec.path is set (explicitly or derived) */
	char error[256];	  /* why the port is not open, \"\" when it is */
	unsigned pfd_base, pfd_n; /* its slice of the last sw_pollfds() */
};

struct sw {
	char config_path[PATH_MAX];
	char run_dir[PATH_MAX];
	struct ctl_settings settings;	     /* every CTL_SET_F_* field valid */
	struct sw_port *ports[DP_MAX_PORTS]; /* by id; [0] unused */
	struct ml_table ml;
	struct cls_table *clst;
	struct dp *dp;
};

/* A configuration as it would be saved: what prepare computes before save. */
struct sw_conf {
	const struct ctl_settings *settings;
	struct sw_port *const *ports; /* DP_MAX_PORTS entries, by id */
	const struct cls *cls;
};

/* sw.c */
void sw_default_settings(struct ctl_settings *s);
void sw_merge_settings(struct ctl_settings *dst, const struct ctl_settings *upd);
int sw_dp_settings(const struct ctl_settings *s, struct dp_settings *out, struct ctl_error *err);
int sw_apply_settings(struct sw *sw, const struct ctl_settings *s, struct ctl_error *err);
int sw_port_fill_defaults(struct sw *sw, struct ctl_port_spec *s);
/* The uid/gid of owner=/group= ((uid_t)-1 when not given); -ENOENT with 'err' when unknown. */
int sw_port_owner_ids(const struct ctl_port_spec *s, uid_t *uid, gid_t *gid, struct ctl_error *err);
bool sw_port_same_kind(const struct ctl_port_spec *a, const struct ctl_port_spec *b);
struct sw_port *sw_port_new(struct sw *sw, const struct ctl_port_spec *spec, unsigned id);
int sw_port_start(struct sw *sw, struct sw_port *sp, bool keep_on_error, struct ctl_error *err);
void sw_port_retry_open(struct sw *sw, struct sw_port *sp);
void sw_port_stop(struct sw *sw, struct sw_port *sp);
int sw_port_reconfigure(struct sw *sw, struct sw_port *sp, const struct ctl_port_spec *spec);
int sw_save(struct sw *sw, const struct sw_conf *conf, struct ctl_error *err);
void sw_current_conf(struct sw *sw, struct sw_conf *conf);
struct sw_port *sw_port_by_name(struct sw *sw, const char *name);
const char *sw_port_name(void *ctx, uint32_t id); /* ctx: struct sw_port *const * (by id) */
void sw_err(struct ctl_error *err, int token, const char *fmt, ...) RS_PRINTF(3, 4);

/* sw_flows.c */
int sw_flow_add(struct sw *sw, const struct ctl_flow *f, struct ctl_error *err);
int sw_flows_del(struct sw *sw, const struct ctl_flow_filter *flt, json_t **result,
		 struct ctl_error *err);
/* A snapshot of 'base' without rules that match on or output to port 'id'. */
struct cls *sw_flows_without_port(const struct cls *base, uint32_t id, int *err);
void sw_spec_from_flow(const struct ctl_flow *f, struct cls_rule_spec *spec);

/* sw_plan.c: converges the running switch to 'cfg' or refuses it whole. */
int sw_converge(struct sw *sw, const struct ctl_config *cfg, struct ctl_error *err);
/* The config line "add-flow '...'" of a rule. */
size_t sw_flow_line(const struct cls_rule *r, struct sw_port *const *ports, char *buf, size_t size);
void sw_flow_from_rule(const struct cls_rule *r, struct ctl_flow *f);

/* sw_show.c */
json_t *sw_show(struct sw *sw, bool json);
json_t *sw_port_stats(struct sw *sw, const char *name, bool json, struct ctl_error *err, int *rc);
json_t *sw_pmd_show(struct sw *sw, bool json);
json_t *sw_dump_flows(struct sw *sw, const struct ctl_flow_filter *flt, bool json);
json_t *sw_fdb_show(struct sw *sw, bool json);

#endif
