/*
 * sw_show.c - what the query commands report: show, port-stats, pmd-show,
 * dump-flows and fdb-show. Each builds its JSON object first; without --json
 * the same data is rendered as text for a person (a JSON string result).
 * Reads the core's state (sw_internal.h) and changes nothing; called by
 * sw_exec.c.
 */
#include "sw_cmd.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A growing text buffer for the human-readable forms. */
struct sw_text {
	char *buf;
	size_t len, cap;
};

static void sw_text_add(struct sw_text *t, const char *fmt, ...) RS_PRINTF(2, 3);
static void sw_text_add(struct sw_text *t, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		va_start(ap, fmt);
		int n = vsnprintf(t->buf ? t->buf + t->len : NULL, t->buf ? t->cap - t->len : 0,
				  fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (t->buf && t->len + (size_t)n < t->cap) {
			t->len += (size_t)n;
			return;
		}
		size_t cap = (t->cap + (size_t)n + 1) * 2;
		char *nb = realloc(t->buf, cap);
		if (!nb)
			return;
		t->buf = nb;
		t->cap = cap;
	}
}

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
	json_t *o = json_pack("{s:s, s:s, s:i, s:i, s:o}", "config", sw->config_path, "settings",
			      settings, "flows", (int)(rules ? cls_count(rules) : 0), "threads",
			      (int)dp_n_threads(sw->dp), "ports", ports);
	if (json)
		return o;
	struct sw_text t = {0};
	sw_text_add(&t, "ringswitch: config %s\n  %s\n  flows: %zu%s\n", sw->config_path, settings,
		    rules ? cls_count(rules) : 0,
		    rules && cls_count(rules) ? "" : " (every packet takes 'normal')");
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

/* Live-migration counters summed over a port's queues (port_queue_stats). */
struct sw_mig_counts {
	uint64_t dirty_log_lost;
	uint64_t announces;
};

static json_t *sw_queue_json(struct sw_port *sp, enum port_dir dir, uint16_t q, uint64_t *pk,
			     uint64_t *by, uint64_t *full, uint64_t *big, uint64_t *mal,
			     struct sw_mig_counts *mig)
{
	struct port_queue_stats s = {0};
	sp->port.ops->queue_stats(&sp->port, dir, q, &s);
	mig->dirty_log_lost += s.dirty_log_lost;
	mig->announces += s.announces;
	*pk += s.packets;
	*by += s.bytes;
	*full += s.drop_full;
	*big += s.drop_too_big;
	*mal += s.drop_malformed;
	if (!s.packets && !s.drop_full && !s.drop_too_big && !s.drop_malformed && !s.broken)
		return NULL;
	return json_pack("{s:s, s:i, s:I, s:I, s:I, s:I, s:I, s:s*}", "dir",
			 dir == PORT_RX ? "rx" : "tx", "queue", q, "packets", (json_int_t)s.packets,
			 "bytes", (json_int_t)s.bytes, "drop_full", (json_int_t)s.drop_full,
			 "drop_too_big", (json_int_t)s.drop_too_big, "drop_malformed",
			 (json_int_t)s.drop_malformed, "broken", s.broken ? s.broken_reason : NULL);
}

static json_t *sw_one_port_stats(struct sw *sw, struct sw_port *sp)
{
	uint64_t pk[2] = {0}, by[2] = {0}, full[2] = {0}, big[2] = {0}, mal[2] = {0};
	struct sw_mig_counts mig = {0};
	json_t *queues = json_array();
	for (int d = 0; d < 2 && sp->opened; d++)
		for (uint16_t q = 0; q < sp->spec.queues; q++) {
			json_t *j = sw_queue_json(sp, (enum port_dir)d, q, &pk[d], &by[d], &full[d],
						  &big[d], &mal[d], &mig);
			if (j)
				json_array_append_new(queues, j);
		}
	struct dp_port_counters c;
	dp_port_counters(sw->dp, sp->port.id, &c);
	json_t *drops = json_pack(
	    "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "no_rule", (json_int_t)c.drop_no_rule,
	    "not_ready", (json_int_t)c.drop_not_ready, "malformed",
	    (json_int_t)(c.drop_malformed + mal[0]), "vlan", (json_int_t)c.drop_vlan, "queue_full",
	    (json_int_t)(full[0] + full[1]), "too_big", (json_int_t)(big[0] + big[1]), "broken",
	    (json_int_t)c.drop_broken, "port_security", (json_int_t)c.drop_port_security,
	    "bad_offload", (json_int_t)c.drop_bad_offload);
	json_t *ol = json_pack("{s:I, s:I, s:I, s:I}", "rx_gso", (json_int_t)c.rx_gso, "rx_csum",
			       (json_int_t)c.rx_csum, "tx_segmented", (json_int_t)c.tx_segmented,
			       "tx_csum_sw", (json_int_t)c.tx_csum_sw);
	json_t *mj = json_pack("{s:I, s:I}", "announces", (json_int_t)mig.announces,
			       "dirty_log_lost", (json_int_t)mig.dirty_log_lost);
	return json_pack("{s:s, s:i, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:o}", "name",
			 sp->spec.name, "id", (int)sp->port.id, "rx_packets",
			 (json_int_t)pk[PORT_RX], "rx_bytes", (json_int_t)by[PORT_RX], "tx_packets",
			 (json_int_t)pk[PORT_TX], "tx_bytes", (json_int_t)by[PORT_TX], "drops", drops,
			 "offload", ol, "migration", mj, "queues", queues);
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
		json_array_append_new(
		    threads,
		    json_pack("{s:i, s:o, s:I, s:I, s:I, s:f, s:f, s:I, s:I, s:I, s:I, s:f, s:I}", "core",
			      ti.core,
			      "rxqs", rxqs, "packets", (json_int_t)ti.packets, "busy_cycles",
			      (json_int_t)ti.busy_cycles, "idle_cycles", (json_int_t)ti.idle_cycles,
			      "cycles_per_packet", cpp, "busy_pct", busy_pct, "sleeps",
			      (json_int_t)ti.sleeps, "emc_hits", (json_int_t)ti.emc_hits,
			      "emc_misses", (json_int_t)ti.emc_misses, "bursts", (json_int_t)ti.bursts,
			      "packets_per_burst", ppb, "memo_hits", (json_int_t)ti.memo_hits));
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
