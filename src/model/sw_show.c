/*
 * sw_show.c - what the query commands report: show, port-stats, pmd-show,
 * dump-flows and fdb-show. Each builds its JSON object first; without --json
 * the same data is rendered as text for a person (a JSON string result).
 * Reads the core's state (sw_internal.h) and changes nothing; called by
 * sw_exec.c.
 */
#include "sw_cmd.h"
#include "sw_stats.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *sw_text_result(struct sw_text *t)
{
	json_t *s = json_string(t->buf ? t->buf : "");
	free(t->buf);
	return s;
}

static json_t *sw_bits_array(uint32_t bits)
{
	json_t *a = json_array();
	for (unsigned q = 0; q < 32; q++)
		if (bits & (1u << q))
			json_array_append_new(a, json_integer(q));
	return a;
}

static void sw_bits_text(struct sw_text *t, uint32_t bits)
{
	bool first = true;
	for (unsigned q = 0; q < 32; q++)
		if (bits & (1u << q)) {
			sw_text_add(t, "%s%u", first ? "" : ",", q);
			first = false;
		}
	if (first)
		sw_text_add(t, "none");
}

/* ---- show ---- */

static json_t *sw_port_json(struct sw *sw, struct sw_port *sp)
{
	char cmd[CTL_CMD_TEXT_MAX];
	int thread_of[PORT_MAX_QUEUES];
	ctl_port_format(&sp->spec, cmd, sizeof(cmd));
	uint32_t rx = dp_port_rxq_ready(sw->dp, &sp->port, thread_of);
	uint32_t tx = dp_port_txq_ready(sw->dp, &sp->port);
	json_t *threads = json_array();
	for (unsigned q = 0; q < PORT_MAX_QUEUES; q++)
		if (rx & (1u << q))
			json_array_append_new(threads, json_integer(thread_of[q]));
	return json_pack(
	    "{s:s, s:i, s:s, s:s, s:s, s:i, s:o, s:o, s:o, s:s*}", "name", sp->spec.name, "id",
	    (int)sp->port.id, "type", port_type_name(sp->port.cfg.type), "config", cmd, "path",
	    sp->port.cfg.type == PORT_TAP ? sp->port.cfg.ifname : sp->port.cfg.path, "queues",
	    sp->spec.queues, "rxq_ready", sw_bits_array(rx), "txq_ready", sw_bits_array(tx),
	    "rxq_thread", threads, "error", sp->error[0] ? sp->error : NULL);
}

json_t *sw_show(struct sw *sw, bool json)
{
	char settings[CTL_CMD_TEXT_MAX];
	ctl_settings_format(&sw->settings, settings, sizeof(settings));
	const struct cls *rules = dp_rules(sw->dp);
	json_t *ports = json_array();
	for (unsigned id = 1; id < DP_MAX_PORTS; id++)
		if (sw->ports[id])
			json_array_append_new(ports, sw_port_json(sw, sw->ports[id]));
	json_t *o = json_pack("{s:s, s:s, s:i, s:i, s:o, s:s*}", "config", sw->config_path,
			      "settings", settings, "flows", (int)(rules ? cls_count(rules) : 0),
			      "threads", (int)dp_n_threads(sw->dp), "ports", ports, "metrics_error",
			      sw->metrics_error[0] ? sw->metrics_error : NULL);
	if (json)
		return o;
	struct sw_text t = {0};
	sw_text_add(&t, "ringswitch: config %s\n  %s\n  flows: %zu%s\n", sw->config_path, settings,
		    rules ? cls_count(rules) : 0,
		    rules && cls_count(rules) ? "" : " (every packet takes 'normal')");
	if (sw->metrics_serving[0])
		sw_text_add(&t, "  metrics: http://%s/metrics\n", sw->metrics_serving);
	if (sw->metrics_error[0])
		sw_text_add(&t, "  metrics: ERROR: %s\n", sw->metrics_error);
	size_t i;
	json_t *p;
	json_array_foreach(ports, i, p)
	{
		uint32_t id = (uint32_t)json_integer_value(json_object_get(p, "id"));
		struct sw_port *sp = sw->ports[id];
		sw_text_add(&t, "  port %u: %s\n    rxq ready: ", id,
			    json_string_value(json_object_get(p, "config")));
		sw_bits_text(&t, dp_port_rxq_ready(sw->dp, &sp->port, NULL));
		sw_text_add(&t, "  txq ready: ");
		sw_bits_text(&t, dp_port_txq_ready(sw->dp, &sp->port));
		sw_text_add(&t, "\n");
		if (sp->error[0])
			sw_text_add(&t, "    ERROR: %s\n", sp->error);
	}
	json_decref(o);
	return sw_text_result(&t);
}

/* ---- port-stats ---- */

/* Members of 'o' for 'rows' over 'src' (inside each row's group object when it has one). */
static void sw_stats_json(json_t *o, const struct sw_stat *rows, unsigned n, const void *src)
{
	for (unsigned i = 0; i < n; i++) {
		json_t *dst = o;
		if (rows[i].group && !(dst = json_object_get(o, rows[i].group))) {
			dst = json_object();
			json_object_set_new(o, rows[i].group, dst);
		}
		json_object_set_new(dst, rows[i].key,
				    json_integer((json_int_t)sw_stat_get(&rows[i], src)));
	}
}

static json_t *sw_one_port_stats(struct sw *sw, struct sw_port *sp)
{
	struct sw_port_counts c;
	sw_port_counts(sw, sp, &c);
	json_t *o = json_pack("{s:s, s:i}", "name", sp->spec.name, "id", (int)sp->port.id);
	sw_stats_json(o, sw_port_rows, SW_PORT_ROWS, &c);
	json_t *queues = json_array();
	for (int d = PORT_RX; d <= PORT_TX; d++)
		for (uint16_t q = 0; q < c.n_queues; q++) {
			const struct port_queue_stats *s = &c.q[d][q];
			if (!sw_queue_counted(s))
				continue;
			json_t *j =
			    json_pack("{s:s, s:i}", "dir", d == PORT_RX ? "rx" : "tx", "queue", q);
			sw_stats_json(j, sw_queue_rows[d], SW_QUEUE_ROWS, s);
			if (s->broken)
				json_object_set_new(
				    j, "broken",
				    json_string(s->broken_reason ? s->broken_reason : "?"));
			json_array_append_new(queues, j);
		}
	json_object_set_new(o, "queues", queues);
	return o;
}

static void sw_port_stats_text(struct sw_text *t, json_t *p)
{
	json_t *d = json_object_get(p, "drops"), *q;
	size_t i;
	sw_text_add(t, "port %s (id %d): rx %lld pkts %lld bytes, tx %lld pkts %lld bytes\n",
		    json_string_value(json_object_get(p, "name")),
		    (int)json_integer_value(json_object_get(p, "id")),
		    json_integer_value(json_object_get(p, "rx_packets")),
		    json_integer_value(json_object_get(p, "rx_bytes")),
		    json_integer_value(json_object_get(p, "tx_packets")),
		    json_integer_value(json_object_get(p, "tx_bytes")));
	const char *key;
	json_t *v;
	sw_text_add(t, "  drops:");
	json_object_foreach(d, key, v) sw_text_add(t, " %s=%lld", key, json_integer_value(v));
	sw_text_add(t, "\n  offload:");
	json_object_foreach(json_object_get(p, "offload"), key, v)
	    sw_text_add(t, " %s=%lld", key, json_integer_value(v));
	sw_text_add(t, "\n  migration:");
	json_object_foreach(json_object_get(p, "migration"), key, v)
	    sw_text_add(t, " %s=%lld", key, json_integer_value(v));
	sw_text_add(t, "\n");
	json_array_foreach(json_object_get(p, "queues"), i, q)
	{
		const char *br = json_string_value(json_object_get(q, "broken"));
		sw_text_add(t, "  %sq %d: %lld pkts %lld bytes full=%lld too_big=%lld%s%s\n",
			    json_string_value(json_object_get(q, "dir")),
			    (int)json_integer_value(json_object_get(q, "queue")),
			    json_integer_value(json_object_get(q, "packets")),
			    json_integer_value(json_object_get(q, "bytes")),
			    json_integer_value(json_object_get(q, "drop_full")),
			    json_integer_value(json_object_get(q, "drop_too_big")),
			    br ? " BROKEN: " : "", br ? br : "");
	}
}

json_t *sw_port_stats(struct sw *sw, const char *name, bool json, struct ctl_error *err, int *rc)
{
	json_t *ports = json_array();
	for (unsigned id = 1; id < DP_MAX_PORTS; id++) {
		struct sw_port *sp = sw->ports[id];
		if (sp && (!name[0] || strcmp(name, sp->spec.name) == 0))
			json_array_append_new(ports, sw_one_port_stats(sw, sp));
	}
	if (name[0] && json_array_size(ports) == 0) {
		json_decref(ports);
		sw_err(err, 1, "no port '%s'", name);
		*rc = -ENOENT;
		return NULL;
	}
	if (json)
		return ports;
	struct sw_text t = {0};
	size_t i;
	json_t *p;
	json_array_foreach(ports, i, p) sw_port_stats_text(&t, p);
	json_decref(ports);
	return sw_text_result(&t);
}

/* ---- pmd-show ---- */

json_t *sw_pmd_show(struct sw *sw, bool json)
{
	json_t *threads = json_array();
	struct sw_text t = {0};
	for (unsigned i = 0; i < dp_n_threads(sw->dp); i++) {
		struct dp_thread_info ti;
		dp_thread_info(sw->dp, i, &ti);
		json_t *rxqs = json_array();
		for (unsigned k = 0; k < ti.n_rxq; k++) {
			const char *pn = sw_port_name(sw->ports, ti.rxq[k].port);
			json_array_append_new(rxqs, json_pack("{s:s, s:i}", "port", pn ? pn : "?",
							      "queue", ti.rxq[k].q));
		}
		uint64_t total = ti.busy_cycles + ti.idle_cycles;
		double cpp = ti.packets ? (double)ti.busy_cycles / (double)ti.packets : 0.0;
		double busy_pct = total ? 100.0 * (double)ti.busy_cycles / (double)total : 0.0;
		double ppb = ti.bursts ? (double)ti.packets / (double)ti.bursts : 0.0;
		json_t *o = json_pack("{s:i, s:o}", "core", ti.core, "rxqs", rxqs);
		sw_stats_json(o, sw_thread_rows, SW_THREAD_ROWS, &ti);
		json_object_set_new(o, "cycles_per_packet", json_real(cpp));
		json_object_set_new(o, "busy_pct", json_real(busy_pct));
		json_object_set_new(o, "packets_per_burst", json_real(ppb));
		json_array_append_new(threads, o);
		sw_text_add(
		    &t,
		    "pmd thread core %d:\n  packets: %llu  cycles/packet: %.1f  packets/burst: %.1f"
		    "  busy: %.1f%%  sleeps: %llu  emc hits: %llu misses: %llu  memo hits: %llu\n"
		    "  rx queues:",
		    ti.core, (unsigned long long)ti.packets, cpp, ppb, busy_pct,
		    (unsigned long long)ti.sleeps, (unsigned long long)ti.emc_hits,
		    (unsigned long long)ti.emc_misses, (unsigned long long)ti.memo_hits);
		for (unsigned k = 0; k < ti.n_rxq; k++) {
			const char *pn = sw_port_name(sw->ports, ti.rxq[k].port);
			sw_text_add(&t, " %s:%u", pn ? pn : "?", ti.rxq[k].q);
		}
		sw_text_add(&t, "%s\n", ti.n_rxq ? "" : " none");
	}
	if (json) {
		free(t.buf);
		return threads;
	}
	json_decref(threads);
	return sw_text_result(&t);
}

/* ---- dump-flows ---- */

json_t *sw_dump_flows(struct sw *sw, const struct ctl_flow_filter *flt, bool json)
{
	const struct cls *c = dp_rules(sw->dp);
	const struct cls_rule **rules = NULL;
	size_t n = 0;
	json_t *flows = json_array();
	struct sw_text t = {0};
	uint32_t now = dp_now_s();
	struct cls_match m = {.value = flt->flow.match, .mask = flt->flow.mask};

	if (c && cls_dump(c, &rules, &n))
		n = 0;
	for (size_t i = 0; i < n; i++) {
		if (!cls_rule_covered(rules[i], &m))
			continue;
		struct ctl_flow f;
		struct cls_counters cnt;
		char match[CTL_FLOW_TEXT_MAX], acts[CTL_FLOW_TEXT_MAX];
		sw_flow_from_rule(rules[i], &f);
		ctl_flow_format(&f, CTL_FLOW_PRIORITY, sw_port_name, sw->ports, match,
				sizeof(match));
		ctl_actions_format(&f, sw_port_name, sw->ports, acts, sizeof(acts));
		cls_rule_get_stats(cls_get_table(c), rules[i], &cnt);
		int idle = cnt.used ? (int)(now - (uint32_t)cnt.used) : -1;
		json_array_append_new(flows, json_pack("{s:i, s:s, s:s, s:I, s:I, s:i}", "priority",
						       (int)rules[i]->priority, "match", match,
						       "actions", acts, "n_packets",
						       (json_int_t)cnt.packets, "n_bytes",
						       (json_int_t)cnt.bytes, "idle_age", idle));
		char age[16];
		if (idle < 0)
			snprintf(age, sizeof(age), "never");
		else
			snprintf(age, sizeof(age), "%d", idle);
		sw_text_add(&t, " n_packets=%llu, n_bytes=%llu, idle_age=%s, %s actions=%s\n",
			    (unsigned long long)cnt.packets, (unsigned long long)cnt.bytes, age,
			    match, acts);
	}
	free(rules);
	if (json) {
		free(t.buf);
		return flows;
	}
	json_decref(flows);
	return sw_text_result(&t);
}

/* ---- fdb-show ---- */

struct sw_fdb_ctx {
	struct sw *sw;
	json_t *entries;
	struct sw_text *t;
};

static int sw_fdb_entry(const struct ml_entry_info *e, void *arg)
{
	struct sw_fdb_ctx *c = arg;
	char mac[18];
	const char *pn = sw_port_name(c->sw->ports, e->port);
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", e->mac.b[0], e->mac.b[1],
		 e->mac.b[2], e->mac.b[3], e->mac.b[4], e->mac.b[5]);
	json_array_append_new(c->entries, json_pack("{s:s, s:i, s:s, s:i}", "port", pn ? pn : "?",
						    "vlan", e->vlan, "mac", mac, "age", e->age));
	sw_text_add(c->t, " %-15s %4u  %s  %u\n", pn ? pn : "?", e->vlan, mac, e->age);
	return 0;
}

json_t *sw_fdb_show(struct sw *sw, bool json)
{
	struct sw_text t = {0};
	struct sw_fdb_ctx c = {.sw = sw, .entries = json_array(), .t = &t};
	sw_text_add(&t, " port            VLAN  MAC                Age\n");
	ml_foreach(&sw->ml, dp_now_s(), sw_fdb_entry, &c);
	if (json) {
		free(t.buf);
		return c.entries;
	}
	json_decref(c.entries);
	return sw_text_result(&t);
}
