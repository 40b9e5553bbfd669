/*
 * sw_exec.c - the top of the switch model: creating the switch from its
 * config file, reloading it (both run the file through the plan, sw_plan.c),
 * destroying it, and sw_exec, which dispatches each ringctl command to the
 * commands (sw_ports.c, sw_flows.c) and reports (sw_show.c) below it.
 */
#include "sw.h"

#include "sw_cmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "../lib/log.h"

#define SW_MAX_RULES 65536

const char sw_default_config[] = "# ringswitch default configuration: one bridge, L2 learning\n"
				 "add-port vm1 vhost-user-server\n"
				 "add-port vm2 vhost-user-server\n";

static int sw_load_config(struct sw *sw, struct ctl_config *cfg, struct ctl_config_error *cerr,
			  bool *created)
{
	*created = false;
	int rc = ctl_config_load(sw->config_path, cfg, cerr);
	if (rc != -ENOENT)
		return rc;
	*created = true;
	return ctl_config_parse(sw_default_config, strlen(sw_default_config), "(default)", cfg,
				cerr);
}

int sw_reload(struct sw *sw, struct ctl_error *err)
{
	struct ctl_config cfg = {0};
	struct ctl_config_error cerr;
	bool created;
	int rc = sw_load_config(sw, &cfg, &cerr, &created);
	if (rc) {
		sw_err(err, -1, "%s; running configuration kept", cerr.msg);
		return rc;
	}
	rc = sw_converge(sw, &cfg, err);
	ctl_config_free(&cfg);
	if (rc == 0 && created) {
		struct sw_conf conf;
		sw_current_conf(sw, &conf);
		rc = sw_save(sw, &conf, err);
	}
	if (rc == 0)
		RS_LOG(RS_LOG_INFO, "sw", "configuration loaded from %s", sw->config_path);
	return rc;
}

struct sw *sw_create(const struct sw_options *opt, struct ctl_config_error *cerr)
{
	struct sw *sw = calloc(1, sizeof(*sw));
	struct ctl_error err;
	struct dp_settings ds;
	uint32_t seed = 0;

	memset(cerr, 0, sizeof(*cerr));
	if (!sw)
		return NULL;
	snprintf(sw->config_path, sizeof(sw->config_path), "%s", opt->config_path);
	snprintf(sw->run_dir, sizeof(sw->run_dir), "%s", opt->run_dir);
	sw->metrics = opt->metrics;
	sw->metrics_ctx = opt->metrics_ctx;
	sw_default_settings(&sw->settings);
	(void)!getrandom(&seed, sizeof(seed), 0);
	/* The learning table's size is fixed at start: read it from the file first. */
	struct ctl_config cfg = {0};
	bool created;
	if (sw_load_config(sw, &cfg, cerr, &created))
		goto fail;
	for (size_t i = 0; i < cfg.n; i++)
		if (cfg.v[i].cmd.verb == CTL_SET)
			sw_merge_settings(&sw->settings, &cfg.v[i].cmd.u.settings);
	ctl_config_free(&cfg);
	if (ml_init(&sw->ml, sw->settings.mac_table_size, sw->settings.mac_aging, seed) ||
	    !(sw->clst = cls_table_create(SW_MAX_RULES, DP_MAX_THREADS * 2)))
		goto fail_msg;
	if (sw_dp_settings(&sw->settings, &ds, &err)) {
		if (snprintf(cerr->msg, sizeof(cerr->msg), "%s: %s", sw->config_path, err.msg) < 0)
			cerr->msg[0] = '\0';
		goto fail;
	}
	if (!(sw->dp = dp_create(&ds, &sw->ml, sw->clst)))
		goto fail_msg;
	dp_set_rules(sw->dp, cls_create(sw->clst));
	if (sw_reload(sw, &err)) {
		snprintf(cerr->msg, sizeof(cerr->msg), "%s", err.msg);
		sw_destroy(sw);
		return NULL;
	}
	return sw;
fail_msg:
	snprintf(cerr->msg, sizeof(cerr->msg), "cannot start the switch: %s", strerror(errno));
fail:
	sw_destroy(sw);
	return NULL;
}

void sw_destroy(struct sw *sw)
{
	if (!sw)
		return;
	for (unsigned id = 1; id < DP_MAX_PORTS; id++)
		if (sw->ports[id])
			sw_port_stop(sw, sw->ports[id]);
	dp_destroy(sw->dp);
	if (sw->clst)
		cls_table_destroy(sw->clst);
	if (sw->ml.keys)
		ml_fini(&sw->ml);
	free(sw);
}

/* ---- dispatch ---- */

int sw_exec(struct sw *sw, const struct ctl_cmd *cmd, bool json, json_t **result,
	    struct ctl_error *err)
{
	int rc = 0;
	*result = NULL;
	memset(err, 0, sizeof(*err));
	err->token_index = -1;
	switch (cmd->verb) {
	case CTL_SHOW:
		*result = sw_show(sw, json);
		break;
	case CTL_PORT_STATS:
		*result = sw_port_stats(sw, cmd->u.port, json, err, &rc);
		break;
	case CTL_PMD_SHOW:
		*result = sw_pmd_show(sw, json);
		break;
	case CTL_DUMP_FLOWS:
		*result = sw_dump_flows(sw, &cmd->u.filter, json);
		break;
	case CTL_FDB_SHOW:
		*result = sw_fdb_show(sw, json);
		break;
	case CTL_FDB_FLUSH:
		if (cmd->u.port[0]) {
			struct sw_port *sp = sw_port_by_name(sw, cmd->u.port);
			if (!sp) {
				sw_err(err, 1, "no port '%s'", cmd->u.port);
				return -ENOENT;
			}
			ml_flush_port(&sw->ml, (uint16_t)sp->port.id);
		} else {
			ml_flush_all(&sw->ml);
		}
		break;
	case CTL_RELOAD:
		rc = sw_reload(sw, err);
		break;
	case CTL_ADD_PORT:
		rc = sw_add_port(sw, &cmd->u.port_spec, err);
		break;
	case CTL_DEL_PORT:
		rc = sw_del_port(sw, cmd->u.port, err);
		break;
	case CTL_SET_PORT:
		rc = sw_set_port(sw, &cmd->u.port_spec, err);
		break;
	case CTL_SET:
		rc = sw_set(sw, &cmd->u.settings, err);
		break;
	case CTL_ADD_FLOW:
		rc = sw_flow_add(sw, &cmd->u.flow, err);
		break;
	case CTL_DEL_FLOWS:
		rc = sw_flows_del(sw, &cmd->u.filter, result, err);
		break;
	default:
		sw_err(err, 0, "unknown command");
		rc = -EINVAL;
	}
	if (rc == 0 && !*result && !json)
		*result = json_string("");
	return rc;
}
