/*
 * sw_internal.h - the switch model's core (sw.c): the private state every
 * file of src/model shares, and the operations on it that the commands,
 * reports and plan are built from. The core is the bottom of the model: what
 * is declared here calls nothing declared in sw_cmd.h or implemented in
 * sw_exec.c. Control thread only.
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
	/* The /metrics listener (sw.h, struct sw_listener_ops). */
	const struct sw_listener_ops *metrics;
	void *metrics_ctx;
	char metrics_serving[CTL_LISTEN_SIZE];	/* the address served, "" for none */
	char metrics_prepared[CTL_LISTEN_SIZE]; /* valid while metrics_pending */
	bool metrics_pending;			/* prepared, not yet committed or aborted */
	char metrics_error[256];		/* why metrics-listen is not served, "" */
};

/* A configuration as it would be saved: what prepare computes before save. */
struct sw_conf {
	const struct ctl_settings *settings;
	struct sw_port *const *ports; /* DP_MAX_PORTS entries, by id */
	const struct cls *cls;
};

/* A growing text buffer for the reports (text forms, the /metrics page). */
struct sw_text {
	char *buf; /* malloc'ed, NUL-terminated once anything was added; the caller frees it */
	size_t len, cap;
	bool oom; /* an addition failed for want of memory: the text is incomplete */
};
void sw_text_add(struct sw_text *t, const char *fmt, ...) RS_PRINTF(2, 3);

/* Fills 'err' (token 'token', or -1 for none) with a formatted message. */
void sw_err(struct ctl_error *err, int token, const char *fmt, ...) RS_PRINTF(3, 4);
struct sw_port *sw_port_by_name(struct sw *sw, const char *name);
const char *sw_port_name(void *ctx, uint32_t id); /* ctx: struct sw_port *const * (by id) */

/* Settings: defaults, merging an update, the datapath's form, applying them. */
void sw_default_settings(struct ctl_settings *s);
void sw_merge_settings(struct ctl_settings *dst, const struct ctl_settings *upd);
int sw_dp_settings(const struct ctl_settings *s, struct dp_settings *out, struct ctl_error *err);
int sw_apply_settings(struct sw *sw, const struct ctl_settings *s, struct ctl_error *err);

/*
 * The metrics listener. prepare: binds 'addr' unless it is what is served
 * already (0 then, nothing pending); 0 or -errno with 'err' set. commit and
 * abort finish a prepare (no-ops when nothing is pending). converge (a
 * config file: start, reload): prepare + commit; a failure is logged and
 * shown by show (metrics_error), never fatal, and retried on the next reload.
 */
int sw_metrics_prepare(struct sw *sw, const char *addr, struct ctl_error *err);
void sw_metrics_commit(struct sw *sw);
void sw_metrics_abort(struct sw *sw);
void sw_metrics_converge(struct sw *sw, const char *addr);

/* The flow table: a flow command's rule, a rule as a flow or as its config line. */
void sw_spec_from_flow(const struct ctl_flow *f, struct cls_rule_spec *spec);
void sw_flow_from_rule(const struct cls_rule *r, struct ctl_flow *f);
/* The config line "add-flow '...'" of a rule. */
size_t sw_flow_line(const struct cls_rule *r, struct sw_port *const *ports, char *buf, size_t size);
/* A snapshot of 'base' without rules that match on or output to port 'id'. */
struct cls *sw_flows_without_port(const struct cls *base, uint32_t id, int *err);

/* The config file: writes 'conf' atomically; 0 or -errno with 'err' set. */
int sw_save(struct sw *sw, const struct sw_conf *conf, struct ctl_error *err);
void sw_current_conf(struct sw *sw, struct sw_conf *conf);

/* Ports. */
int sw_port_fill_defaults(struct sw *sw, struct ctl_port_spec *s);
/* The uid/gid of owner=/group= ((uid_t)-1 when not given); -ENOENT with 'err' when unknown. */
int sw_port_owner_ids(const struct ctl_port_spec *s, uid_t *uid, gid_t *gid, struct ctl_error *err);
bool sw_port_same_kind(const struct ctl_port_spec *a, const struct ctl_port_spec *b);
struct sw_port *sw_port_new(struct sw *sw, const struct ctl_port_spec *spec, unsigned id);
int sw_port_start(struct sw *sw, struct sw_port *sp, bool keep_on_error, struct ctl_error *err);
void sw_port_retry_open(struct sw *sw, struct sw_port *sp);
void sw_port_stop(struct sw *sw, struct sw_port *sp);
int sw_port_reconfigure(struct sw *sw, struct sw_port *sp, const struct ctl_port_spec *spec);

#endif
