/*
 * test_sw_metrics.c - the /metrics page (src/model/sw_metrics.c) rendered
 * from hand-made snapshots and read back by a strict parser of the
 * Prometheus text format 0.0.4: every name starts with ringswitch_; every
 * family has one HELP and one TYPE line before its samples, and its samples
 * in one group; counters end in _total; no series twice; label values come
 * back unescaped byte for byte (a port name and a version holding a
 * backslash, a double quote and a newline); every counter row of
 * sw_stats.h shows the snapshot's value; which queues get series.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "model/sw_metrics.h"

#define HOSTILE "we\"ird\\na\nme"

#define MAX_SERIES 1024
#define MAX_FAM	   128

struct series {
	char name[96];
	char labels[512]; /* NAME=VALUE pairs, unescaped, '\x1f'-separated, in page order */
	unsigned long long value;
};

struct page {
	unsigned n;
	struct series s[MAX_SERIES];
	unsigned n_fam;
	struct {
		char name[96];
		char type[16];
		int help, type_seen, samples_done;
	} fam[MAX_FAM];
};

static int fam_index(struct page *p, const char *name)
{
	for (unsigned i = 0; i < p->n_fam; i++)
		if (strcmp(p->fam[i].name, name) == 0)
			return (int)i;
	assert_true(p->n_fam < MAX_FAM);
	snprintf(p->fam[p->n_fam].name, sizeof(p->fam[0].name), "%s", name);
	return (int)p->n_fam++;
}

static const char *metric_name(const char *s, char *out, size_t cap)
{
	size_t n = 0;
	while ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') || s[n] == '_' ||
	       (n && s[n] >= '0' && s[n] <= '9'))
		n++;
	if (n == 0 || n >= cap)
		fail_msg("bad metric or label name at '%.30s'", s);
	memcpy(out, s, n);
	out[n] = '\0';
	return s + n;
}

/* '{k="v",...}' from 's' into 'out'; returns past the '}'. */
static const char *parse_labels(const char *s, char *out, size_t cap)
{
	size_t o = 0;
	char key[64];
	assert_true(*s == '{');
	s++;
	while (*s != '}') {
		s = metric_name(s, key, sizeof(key));
		if (s[0] != '=' || s[1] != '"')
			fail_msg("label %s: want =\"", key);
		s += 2;
		o += (size_t)snprintf(out + o, cap - o, "%s%s=", o ? "\x1f" : "", key);
		for (; *s != '"'; s++) {
			char c = *s;
			if (c == '\0' || c == '\n')
				fail_msg("label %s: unterminated value", key);
			if (c == '\\') {
				s++;
				c = *s == 'n' ? '\n' : *s;
				if (*s != 'n' && *s != '\\' && *s != '"')
					fail_msg("label %s: bad escape \\%c", key, *s);
			}
			assert_true(o + 1 < cap);
			out[o++] = c;
			out[o] = '\0';
		}
		s++;
		if (*s == ',')
			s++;
		else if (*s != '}')
			fail_msg("label %s: want , or }", key);
	}
	return s + 1;
}

static void parse_page(const char *text, struct page *p)
{
	char line[2048], name[96], type[16];
	int last = -1;
	memset(p, 0, sizeof(*p));
	for (const char *l = text; *l;) {
		const char *nl = strchr(l, '\n');
		assert_non_null(nl); /* every line ends with a newline */
		assert_true((size_t)(nl - l) < sizeof(line));
		memcpy(line, l, (size_t)(nl - l));
		line[nl - l] = '\0';
		l = nl + 1;
		if (strncmp(line, "# HELP ", 7) == 0 || strncmp(line, "# TYPE ", 7) == 0) {
			const char *r = metric_name(line + 7, name, sizeof(name));
			int f = fam_index(p, name);
			if (p->fam[f].samples_done || (last >= 0 && last != f && p->fam[f].help))
				fail_msg("%s: HELP/TYPE after its samples", name);
			if (line[2] == 'H') {
				assert_int_equal(p->fam[f].help++, 0);
				assert_true(r[0] == ' ' && r[1] != '\0'); /* a text */
			} else {
				assert_int_equal(p->fam[f].type_seen++, 0);
				assert_int_equal(sscanf(r, " %15s", type), 1);
				snprintf(p->fam[f].type, sizeof(p->fam[f].type), "%s", type);
			}
			if (last >= 0 && last != f)
				p->fam[last].samples_done = 1;
			last = f;
			continue;
		}
		assert_true(line[0] != '#');
		assert_true(p->n < MAX_SERIES);
		struct series *s = &p->s[p->n++];
		const char *r = metric_name(line, s->name, sizeof(s->name));
		if (*r == '{')
			r = parse_labels(r, s->labels, sizeof(s->labels));
		char *end;
		if (*r != ' ' || (s->value = strtoull(r + 1, &end, 10), *end))
			fail_msg("%s: bad value '%s'", s->name, r);
		int f = fam_index(p, s->name);
		if (f != last || !p->fam[f].help || !p->fam[f].type_seen)
			fail_msg("%s: sample outside its family's group, or before HELP and TYPE",
				 s->name);
	}
}

static const struct series *find(const struct page *p, const char *name, const char *labels)
{
	for (unsigned i = 0; i < p->n; i++)
		if (strcmp(p->s[i].name, name) == 0 && strcmp(p->s[i].labels, labels) == 0)
			return &p->s[i];
	return NULL;
}

static unsigned long long value(const struct page *p, const char *name, const char *labels)
{
	const struct series *s = find(p, name, labels);
	if (!s)
		fail_msg("no series %s{%s}", name, labels);
	return s->value;
}

/* A snapshot with two ports (one with a hostile name), two threads. */
static void fill(struct sw_metrics_snapshot *snap)
{
	memset(snap, 0, sizeof(*snap));
	snap->version = "1.2\"3\\4\n5";
	snap->n_ports = 2;
	struct sw_metrics_port *a = &snap->ports[0], *b = &snap->ports[1];
	a->name = "vm1";
	a->type = "vhost-user-server";
	a->link_up = true;
	a->features = 0x1310000000ull;
	a->rxq_ready = 0x3;
	a->txq_ready = 0x1;
	a->c.n_queues = 4;
	/* Every counter of the port a distinct value: 1000 + its index. */
	uint64_t *pc = (uint64_t *)&a->c;
	for (unsigned i = 0; i < offsetof(struct sw_port_counts, n_queues) / 8; i++)
		pc[i] = 1000 + i;
	a->c.q[PORT_RX][0] = (struct port_queue_stats){.packets = 10, .bytes = 640};
	a->c.q[PORT_RX][3] = (struct port_queue_stats){.broken = 1, .broken_reason = "bad_desc"};
	a->c.q[PORT_TX][0] = (struct port_queue_stats){.packets = 7, .bytes = 448, .drop_full = 2};
	a->c.q[PORT_TX][2] = (struct port_queue_stats){.drop_error = 5};
	b->name = HOSTILE;
	b->type = "tap";
	b->c.n_queues = 1;
	b->c.q[PORT_RX][0].drop_too_big = 3;
	snap->n_threads = 2;
	snap->threads[0].ti = (struct dp_thread_info){
	    .core = 1, .n_rxq = 2, .packets = 17, .busy_cycles = 99, .idle_cycles = 12345};
	snap->threads[0].ti.rxq[0].port = 1;
	snap->threads[0].ti.rxq[1].port = 1;
	snap->threads[0].ti.rxq[1].q = 1;
	snap->threads[0].rxq_port[0] = snap->threads[0].rxq_port[1] = "vm1";
	snap->threads[1].ti = (struct dp_thread_info){.core = 3, .memo_hits = 4};
	snap->mac_entries = 3;
	snap->flow_rules = 2;
}

static struct sw_metrics_snapshot snap;
static struct page pg;

static void render(const struct sw_metrics_snapshot *s, struct page *p)
{
	size_t len = 0;
	char *text = sw_metrics_render(s, &len);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	parse_page(text, p);
	free(text);
}

/* fill() rendered and parsed into 'pg'. */
static int setup_filled(void **state)
{
	(void)state;
	fill(&snap);
	render(&snap, &pg);
	return 0;
}

static void test_format(void **state)
{
	(void)state;
	const struct page *p = &pg;
	for (unsigned f = 0; f < p->n_fam; f++) {
		const char *n = p->fam[f].name, *t = p->fam[f].type;
		if (strncmp(n, "ringswitch_", 11))
			fail_msg("%s: not under ringswitch_", n);
		if (!p->fam[f].help || !p->fam[f].type_seen)
			fail_msg("%s: HELP %d TYPE %d", n, p->fam[f].help, p->fam[f].type_seen);
		size_t l = strlen(n);
		bool total = l > 6 && strcmp(n + l - 6, "_total") == 0;
		if (strcmp(t, "counter") == 0 ? !total : strcmp(t, "gauge") || total)
			fail_msg("%s: type %s", n, t);
	}
	for (unsigned i = 0; i < p->n; i++)
		for (unsigned j = i + 1; j < p->n; j++)
			if (strcmp(p->s[i].name, p->s[j].name) == 0 &&
			    strcmp(p->s[i].labels, p->s[j].labels) == 0)
				fail_msg("series twice: %s{%s}", p->s[i].name, p->s[i].labels);
	assert_int_equal(value(p, "ringswitch_build_info", "version=1.2\"3\\4\n5"), 1);
	assert_int_equal(value(p, "ringswitch_port_info", "port=" HOSTILE "\x1ftype=tap"), 1);
	assert_int_equal(value(p, "ringswitch_port_link_up", "port=vm1"), 1);
	assert_int_equal(value(p, "ringswitch_port_link_up", "port=" HOSTILE), 0);
	assert_int_equal(value(p, "ringswitch_port_features", "port=vm1"), 0x1310000000ull);
	assert_int_equal(value(p, "ringswitch_port_rx_queues_ready", "port=vm1"), 2);
	assert_int_equal(value(p, "ringswitch_mac_table_entries", ""), 3);
	assert_int_equal(value(p, "ringswitch_flow_rules", ""), 2);
	printf("%u families, %u series\n", p->n_fam, p->n);
}

/* Queues: a series when the queue counted something, is broken, or is ready. */
static void test_queues(void **state)
{
	(void)state;
	const struct page *p = &pg;
	const char *rx = "ringswitch_port_rx_packets_total",
		   *tx = "ringswitch_port_tx_packets_total";
	assert_int_equal(value(p, rx, "port=vm1\x1fqueue=0"), 10);
	assert_int_equal(value(p, "ringswitch_port_rx_bytes_total", "port=vm1\x1fqueue=0"), 640);
	assert_int_equal(value(p, rx, "port=vm1\x1fqueue=1"), 0); /* ready */
	assert_null(find(p, rx, "port=vm1\x1fqueue=2"));	  /* idle, not ready */
	assert_int_equal(value(p, "ringswitch_port_rx_queue_broken", "port=vm1\x1fqueue=3"), 1);
	assert_int_equal(value(p, "ringswitch_port_rx_queue_broken", "port=vm1\x1fqueue=0"), 0);
	assert_int_equal(value(p, tx, "port=vm1\x1fqueue=0"), 7);
	assert_null(find(p, tx, "port=vm1\x1fqueue=1"));
	assert_int_equal(value(p, "ringswitch_port_tx_queue_drops_total",
			       "port=vm1\x1fqueue=0\x1freason=queue_full"),
			 2);
	assert_int_equal(value(p, "ringswitch_port_tx_queue_drops_total",
			       "port=vm1\x1fqueue=2\x1freason=io_error"),
			 5);
	assert_int_equal(value(p, "ringswitch_port_rx_queue_drops_total",
			       "port=" HOSTILE "\x1fqueue=0\x1freason=too_big"),
			 3);
	assert_null(find(p, rx, "port=vm1\x1fqueue=4")); /* past n_queues */
}

/* Every counter row of sw_stats.h with a family: its series, with the snapshot's value. */
static void test_rows(void **state)
{
	(void)state;
	const struct page *p = &pg;
	char name[128], labels[256];
	unsigned seen = 0;
	for (unsigned i = 0; i < SW_PORT_ROWS; i++) {
		const struct sw_stat *r = &sw_port_rows[i];
		if (!r->family)
			continue;
		snprintf(name, sizeof(name), "ringswitch_%s", r->family);
		snprintf(labels, sizeof(labels), "port=vm1%s%s", r->label ? "\x1f" : "",
			 r->label ? r->label : "");
		assert_int_equal(value(p, name, labels), sw_stat_get(r, &snap.ports[0].c));
		assert_int_equal(sw_stat_get(r, &snap.ports[0].c) >= 1000, 1);
		seen++;
	}
	for (unsigned i = 0; i < SW_THREAD_ROWS; i++) {
		const struct sw_stat *r = &sw_thread_rows[i];
		snprintf(name, sizeof(name), "ringswitch_%s", r->family);
		snprintf(labels, sizeof(labels), "core=1%s%s", r->label ? "\x1f" : "",
			 r->label ? r->label : "");
		assert_int_equal(value(p, name, labels), sw_stat_get(r, &snap.threads[0].ti));
		seen++;
	}
	assert_int_equal(value(p, "ringswitch_pmd_memo_hits_total", "core=3"), 4);
	assert_int_equal(value(p, "ringswitch_pmd_rxq", "core=1\x1fport=vm1\x1fqueue=1"), 1);
	/* Every drop reason of port-stats is a reason of ringswitch_port_drops_total. */
	unsigned drops = 0;
	for (unsigned i = 0; i < SW_PORT_ROWS; i++)
		drops += sw_port_rows[i].group && strcmp(sw_port_rows[i].group, "drops") == 0;
	assert_int_equal(drops, 10);
	assert_int_equal(seen, SW_PORT_ROWS - 4 + SW_THREAD_ROWS);
}

/* An empty switch still gives a valid page, and every family's header. */
static void test_empty(void **state)
{
	(void)state;
	memset(&snap, 0, sizeof(snap));
	snap.version = "";
	render(&snap, &pg);
	assert_true(pg.n_fam > 20);
	assert_int_equal(value(&pg, "ringswitch_build_info", "version="), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_format, setup_filled),
	    cmocka_unit_test_setup(test_queues, setup_filled),
	    cmocka_unit_test_setup(test_rows, setup_filled),
	    cmocka_unit_test(test_empty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
