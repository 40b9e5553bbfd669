/*
 * sw_metrics.c - the /metrics page (sw_metrics.h): a snapshot of the model,
 * and its rendering in the Prometheus text format 0.0.4. The counters come
 * from sw_stats.c's collectors and row tables (the same as port-stats' and
 * pmd-show's); the gauges (link state, negotiated features, ready queues,
 * queue assignment, MAC table, flow rules, build info) are defined here.
 * A report: reads the model, changes nothing. Control thread only.
 */
#include "sw_metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef RS_VERSION
#define RS_VERSION "unknown"
#endif

#define PREFIX "ringswitch_"

/* A series' source: its labels (rendered, escaped) and the struct its rows read. */
struct sw_msrc {
	char *labels; /* 'port="vm1",queue="0"'; malloc'ed */
	const void *src;
};

/* 'v' escaped as a label value (backslash, double quote, newline) or a HELP text. */
static void sw_escape(struct sw_text *t, const char *v, bool label)
{
	while (*v) {
		size_t n = strcspn(v, label ? "\\\"\n" : "\\\n");
		if (n)
			sw_text_add(t, "%.*s", (int)n, v);
		v += n;
		if (!*v)
			break;
		sw_text_add(t, "%s", *v == '\n' ? "\\n" : *v == '"' ? "\\\"" : "\\\\");
		v++;
	}
}

/* Appends 'NAME="VALUE"' (with a leading comma unless 't' is empty). */
static void sw_label(struct sw_text *t, const char *name, const char *value)
{
	sw_text_add(t, "%s%s=\"", t->len ? "," : "", name);
	sw_escape(t, value, true);
	sw_text_add(t, "\"");
}

static void sw_family(struct sw_text *t, const char *name, const char *type, const char *help)
{
	sw_text_add(t, "# HELP " PREFIX "%s ", name);
	sw_escape(t, help, false);
	sw_text_add(t, "\n# TYPE " PREFIX "%s %s\n", name, type);
}

/* NAME{LABELS,EXTRA} VALUE; 'extra' is a row's "NAME=VALUE" label or NULL. */
static void sw_sample(struct sw_text *t, const char *name, const char *labels, const char *extra,
		      uint64_t v)
{
	struct sw_text l = {0};
	if (labels && labels[0])
		sw_text_add(&l, "%s", labels);
	if (extra) {
		const char *eq = strchr(extra, '=');
		char key[32];
		snprintf(key, sizeof(key), "%.*s", (int)(eq - extra), extra);
		sw_label(&l, key, eq + 1);
	}
	sw_text_add(t, PREFIX "%s%s%s%s %llu\n", name, l.len ? "{" : "", l.len ? l.buf : "",
		    l.len ? "}" : "", (unsigned long long)v);
	t->oom |= l.oom;
	free(l.buf);
}

/*
 * Every family of 'rows' (a run of rows with one family name) of type
 * 'type', one sample per source and row; a row reads its source at
 * 'base' + its offset. Rows without a family are JSON only.
 */
static void sw_rows(struct sw_text *t, const struct sw_stat *rows, unsigned n, const char *type,
		    const struct sw_msrc *srcs, unsigned n_src, size_t base)
{
	for (unsigned i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && rows[i].family && rows[j].family &&
				strcmp(rows[i].family, rows[j].family) == 0;
		     j++)
			;
		if (!rows[i].family)
			continue;
		sw_family(t, rows[i].family, type, rows[i].help);
		for (unsigned s = 0; s < n_src; s++)
			for (unsigned k = i; k < j; k++)
				sw_sample(t, rows[k].family, srcs[s].labels, rows[k].label,
					  sw_stat_get(&rows[k], (const char *)srcs[s].src + base));
	}
}

/* A port's gauges, as rows over this struct. */
struct sw_port_gauges {
	uint64_t link_up, features, rxqs, txqs;
};
#define GOFF(f) offsetof(struct sw_port_gauges, f)
static const struct sw_stat sw_port_gauge_rows[] = {
    {NULL, NULL, "port_link_up", NULL,
     "1 when the port has a peer: a vhost-user front-end connected, a tap device open.",
     GOFF(link_up)},
    {NULL, NULL, "port_features", NULL,
     "Virtio feature bits negotiated with the port's front-end (0: none, and for taps).",
     GOFF(features)},
    {NULL, NULL, "port_rx_queues_ready", NULL, "Receive queues of the port the switch polls.",
     GOFF(rxqs)},
    {NULL, NULL, "port_tx_queues_ready", NULL, "Transmit queues of the port the switch uses.",
     GOFF(txqs)},
};

/* A queue's broken state, per direction. */
#define BROKEN(D)                                                                                  \
	{                                                                                          \
		{NULL,                                                                             \
		 NULL,                                                                             \
		 "port_" D "_queue_broken",                                                        \
		 NULL,                                                                             \
		 "1 when the queue was stopped for a protocol violation (port-stats names why).",  \
		 offsetof(struct port_queue_stats, broken)},                                       \
	}
static const struct sw_stat sw_queue_gauge_rows[2][1] = {
    [PORT_RX] = BROKEN("rx"), [PORT_TX] = BROKEN("tx")};

static char *sw_labels(const char *n1, const char *v1, const char *n2, const char *v2, bool *oom)
{
	struct sw_text l = {0};
	sw_label(&l, n1, v1);
	if (n2)
		sw_label(&l, n2, v2);
	*oom |= l.oom;
	return l.buf;
}

static void sw_free_srcs(struct sw_msrc *s, unsigned n)
{
	for (unsigned i = 0; s && i < n; i++)
		free(s[i].labels);
	free(s);
}

/* The queue series of direction 'dir': queues that counted something, or are ready. */
static void sw_render_queues(struct sw_text *t, const struct sw_metrics_snapshot *snap, int dir)
{
	struct sw_msrc *qs = calloc((size_t)snap->n_ports * PORT_MAX_QUEUES + 1, sizeof(*qs));
	unsigned n = 0;
	char qn[8];
	if (!qs) {
		t->oom = true;
		return;
	}
	for (unsigned i = 0; i < snap->n_ports; i++) {
		const struct sw_metrics_port *p = &snap->ports[i];
		uint32_t ready = dir == PORT_RX ? p->rxq_ready : p->txq_ready;
		for (uint16_t q = 0; q < p->c.n_queues; q++) {
			if (!sw_queue_counted(&p->c.q[dir][q]) && !(ready & (1u << q)))
				continue;
			snprintf(qn, sizeof(qn), "%u", q);
			qs[n].labels = sw_labels("port", p->name, "queue", qn, &t->oom);
			qs[n++].src = &p->c.q[dir][q];
		}
	}
	sw_rows(t, sw_queue_rows[dir], SW_QUEUE_ROWS, "counter", qs, n, 0);
	sw_rows(t, sw_queue_gauge_rows[dir], 1, "gauge", qs, n, 0);
	sw_free_srcs(qs, n);
}

static void sw_render_ports(struct sw_text *t, const struct sw_metrics_snapshot *snap)
{
	unsigned n = snap->n_ports;
	struct sw_msrc *ps = calloc(n + 1, sizeof(*ps));
	struct sw_port_gauges *g = calloc(n + 1, sizeof(*g));
	if (!ps || !g) {
		t->oom = true;
		goto out;
	}
	sw_family(t, "port_info", "gauge", "Every port of the switch, with its type.");
	for (unsigned i = 0; i < n; i++) {
		const struct sw_metrics_port *p = &snap->ports[i];
		ps[i].labels = sw_labels("port", p->name, NULL, NULL, &t->oom);
		ps[i].src = &g[i];
		g[i] = (struct sw_port_gauges){p->link_up, p->features,
					       (uint64_t)__builtin_popcount(p->rxq_ready),
					       (uint64_t)__builtin_popcount(p->txq_ready)};
		char *info = sw_labels("port", p->name, "type", p->type, &t->oom);
		sw_sample(t, "port_info", info, NULL, 1);
		free(info);
	}
	sw_rows(t, sw_port_gauge_rows, RS_ARRAY_SIZE(sw_port_gauge_rows), "gauge", ps, n, 0);
	for (int dir = PORT_RX; dir <= PORT_TX; dir++)
		sw_render_queues(t, snap, dir);
	for (unsigned i = 0; i < n; i++)
		ps[i].src = &snap->ports[i];
	sw_rows(t, sw_port_rows, SW_PORT_ROWS, "counter", ps, n,
		offsetof(struct sw_metrics_port, c));
out:
	sw_free_srcs(ps, n);
	free(g);
}

static void sw_render_threads(struct sw_text *t, const struct sw_metrics_snapshot *snap)
{
	unsigned n = snap->n_threads;
	struct sw_msrc *ts = calloc(n + 1, sizeof(*ts));
	char core[16], qn[8];
	if (!ts) {
		t->oom = true;
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		snprintf(core, sizeof(core), "%d", snap->threads[i].ti.core);
		ts[i].labels = sw_labels("core", core, NULL, NULL, &t->oom);
		ts[i].src = &snap->threads[i].ti;
	}
	sw_rows(t, sw_thread_rows, SW_THREAD_ROWS, "counter", ts, n, 0);
	sw_family(t, "pmd_rxq", "gauge", "1 for each receive queue a forwarding thread polls.");
	for (unsigned i = 0; i < n; i++) {
		const struct sw_metrics_thread *th = &snap->threads[i];
		for (unsigned k = 0; k < th->ti.n_rxq; k++) {
			struct sw_text l = {0};
			snprintf(qn, sizeof(qn), "%u", th->ti.rxq[k].q);
			sw_text_add(&l, "%s", ts[i].labels ? ts[i].labels : "");
			sw_label(&l, "port", th->rxq_port[k] ? th->rxq_port[k] : "?");
			sw_label(&l, "queue", qn);
			sw_sample(t, "pmd_rxq", l.buf, NULL, 1);
			t->oom |= l.oom;
			free(l.buf);
		}
	}
	sw_free_srcs(ts, n);
}

char *sw_metrics_render(const struct sw_metrics_snapshot *snap, size_t *len)
{
	struct sw_text t = {0};
	sw_family(&t, "build_info", "gauge", "Always 1; the version of ringswitch running.");
	char *l = sw_labels("version", snap->version, NULL, NULL, &t.oom);
	sw_sample(&t, "build_info", l, NULL, 1);
	free(l);
	sw_render_ports(&t, snap);
	sw_render_threads(&t, snap);
	sw_family(&t, "mac_table_entries", "gauge", "MAC addresses in the learning table.");
	sw_sample(&t, "mac_table_entries", NULL, NULL, snap->mac_entries);
	sw_family(&t, "flow_rules", "gauge",
		  "Rules in the flow table (0: every frame takes 'normal').");
	sw_sample(&t, "flow_rules", NULL, NULL, snap->flow_rules);
	if (t.oom) {
		free(t.buf);
		return NULL;
	}
	*len = t.len;
	return t.buf;
}

void sw_metrics_read(struct sw *sw, struct sw_metrics_snapshot *snap)
{
	memset(snap, 0, sizeof(*snap));
	snap->version = RS_VERSION;
	for (unsigned id = 1; id < DP_MAX_PORTS; id++) {
		struct sw_port *sp = sw->ports[id];
		if (!sp)
			continue;
		struct sw_metrics_port *p = &snap->ports[snap->n_ports++];
		p->name = sp->spec.name;
		p->type = port_type_name(sp->port.cfg.type);
		if (sp->opened && sp->port.ops->peer)
			sp->port.ops->peer(&sp->port, &p->link_up, &p->features);
		p->rxq_ready = dp_port_rxq_ready(sw->dp, &sp->port, NULL);
		p->txq_ready = dp_port_txq_ready(sw->dp, &sp->port);
		sw_port_counts(sw, sp, &p->c);
	}
	snap->n_threads = RS_MIN(dp_n_threads(sw->dp), (unsigned)DP_MAX_THREADS);
	for (unsigned i = 0; i < snap->n_threads; i++) {
		struct sw_metrics_thread *th = &snap->threads[i];
		dp_thread_info(sw->dp, i, &th->ti);
		for (unsigned k = 0; k < th->ti.n_rxq; k++)
			th->rxq_port[k] = sw_port_name(sw->ports, th->ti.rxq[k].port);
	}
	snap->mac_entries = ml_count(&sw->ml);
	const struct cls *rules = dp_rules(sw->dp);
	snap->flow_rules = rules ? cls_count(rules) : 0;
}

char *sw_metrics_page(struct sw *sw, size_t *len)
{
	struct sw_metrics_snapshot *snap = malloc(sizeof(*snap));
	if (!snap)
		return NULL;
	sw_metrics_read(sw, snap);
	char *page = sw_metrics_render(snap, len);
	free(snap);
	return page;
}
