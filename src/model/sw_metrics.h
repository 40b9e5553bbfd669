/*
 * sw_metrics.h - the switch's /metrics page: the Prometheus text exposition
 * format 0.0.4 (one HELP and one TYPE line per family, then its samples,
 * every family in one group; label values escaped: backslash, double quote,
 * newline). Every name starts with "ringswitch_". The counters are those of
 * port-stats and pmd-show, named by sw_stats.h's row tables and read by its
 * collectors, so the page and those reports agree by construction.
 *
 * Two steps: sw_metrics_read() takes a snapshot of the model (counters read
 * with relaxed loads: nothing the forwarding threads wait for), and
 * sw_metrics_render() turns a snapshot into the page, a pure function that
 * tests can feed with any snapshot. sw_metrics_page() (sw.h) does both; the daemon
 * shell's HTTP server (src/daemon/metrics_http.c) calls it on the control
 * thread, where the model may be read.
 */
#ifndef RS_MODEL_SW_METRICS_H
#define RS_MODEL_SW_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sw_stats.h"

struct sw_metrics_port {
	const char *name;
	const char *type;	       /* port_type_name() */
	bool link_up;		       /* a peer is attached (port_ops.peer) */
	uint64_t features;	       /* virtio features negotiated with it */
	uint32_t rxq_ready, txq_ready; /* bitmaps of the queues the datapath uses */
	struct sw_port_counts c;
};

struct sw_metrics_thread {
	struct dp_thread_info ti;
	const char *rxq_port[64]; /* the port name of ti.rxq[k] */
};

struct sw_metrics_snapshot {
	const char *version;
	unsigned n_ports, n_threads;
	struct sw_metrics_port ports[DP_MAX_PORTS];
	struct sw_metrics_thread threads[DP_MAX_THREADS];
	uint64_t mac_entries;
	uint64_t flow_rules;
};

/* Fills 'snap' from the model (its strings point into the model: render before changing it). */
void sw_metrics_read(struct sw *sw, struct sw_metrics_snapshot *snap);

/* The page for 'snap': malloc'ed text the caller frees, its length in '*len'; NULL on ENOMEM. */
char *sw_metrics_render(const struct sw_metrics_snapshot *snap, size_t *len);

/* sw_metrics_page (sw.h, for the daemon): sw_metrics_read + sw_metrics_render. */

#endif
