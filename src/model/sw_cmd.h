/*
 * sw_cmd.h - the middle of the switch model: the commands that change the
 * switch (sw_ports.c, sw_flows.c), the reports (sw_show.c) and the plan that
 * converges it to a config file (sw_plan.c). Each is built on the core
 * (sw_internal.h) and none calls another; only sw_exec.c (creation, reload,
 * dispatch) calls them. So the model's edges run one way:
 *
 *     sw_exec.c  ->  sw_ports.c / sw_flows.c / sw_show.c / sw_plan.c  ->  sw.c
 *
 * Every change command prepares its effect without touching the running
 * switch, saves the resulting configuration, and only then applies it
 * (sw.h). Control thread only.
 */
#ifndef RS_MODEL_SW_CMD_H
#define RS_MODEL_SW_CMD_H

#include "sw_internal.h"

/* sw_ports.c: add-port, del-port, set-port, set. 0 or -errno with 'err' set. */
int sw_add_port(struct sw *sw, const struct ctl_port_spec *spec, struct ctl_error *err);
int sw_del_port(struct sw *sw, const char *name, struct ctl_error *err);
int sw_set_port(struct sw *sw, const struct ctl_port_spec *upd, struct ctl_error *err);
int sw_set(struct sw *sw, const struct ctl_settings *upd, struct ctl_error *err);

/* sw_flows.c: add-flow, del-flows ('*result': {"deleted": N}). */
int sw_flow_add(struct sw *sw, const struct ctl_flow *f, struct ctl_error *err);
int sw_flows_del(struct sw *sw, const struct ctl_flow_filter *flt, json_t **result,
		 struct ctl_error *err);

/* sw_plan.c: converges the running switch to 'cfg' or refuses it whole. */
int sw_converge(struct sw *sw, const struct ctl_config *cfg, struct ctl_error *err);

/* sw_show.c: the query commands' results (JSON, or a JSON string of text). */
json_t *sw_show(struct sw *sw, bool json);
json_t *sw_port_stats(struct sw *sw, const char *name, bool json, struct ctl_error *err, int *rc);
json_t *sw_pmd_show(struct sw *sw, bool json);
json_t *sw_dump_flows(struct sw *sw, const struct ctl_flow_filter *flt, bool json);
json_t *sw_fdb_show(struct sw *sw, bool json);

#endif
