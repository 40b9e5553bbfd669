/*
 * sw_stats.h - the switch's counters, defined once. What `port-stats` and
 * `pmd-show` report (sw_show.c, JSON) and what /metrics exposes
 * (sw_metrics.c, Prometheus families) are both read by the collectors below
 * and named by the row tables below, so a counter cannot appear in one and
 * not in the other, nor with another value.
 *
 * Three levels, each a struct of uint64_t counters and a table of rows:
 *   - a queue of a port, per direction: struct port_queue_stats (the port
 *     type's own counters), rows sw_queue_rows[dir];
 *   - a port: struct sw_port_counts (its queues summed, and the datapath's
 *     per-port counters), rows sw_port_rows;
 *   - a forwarding thread: struct dp_thread_info, rows sw_thread_rows.
 * A row gives the counter's JSON member (inside the object 'group' when
 * set) and its metric family, with the label telling it apart from the
 * other rows of the same family. Rows of one family are contiguous.
 *
 * Part of the model's core level: calls nothing above sw.c. Collectors read
 * counters with relaxed loads (the ports' queue_stats, dp_port_counters,
 * dp_thread_info): no lock, nothing the forwarding threads wait for.
 * Control thread only.
 */
#ifndef RS_MODEL_SW_STATS_H
#define RS_MODEL_SW_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "sw_internal.h"

/* One counter as the reports name it. */
struct sw_stat {
	const char *group;  /* JSON: member of the level's object holding it; NULL: the object */
	const char *key;    /* JSON: its member name */
	const char *family; /* metric family after "ringswitch_"; NULL: JSON only */
	const char *label;  /* "NAME=VALUE" setting this row apart in its family, or NULL */
	const char *help;   /* the family's HELP text (every row of the family repeats it) */
	size_t off;	    /* offset of its uint64_t in the level's struct */
};

static inline uint64_t sw_stat_get(const struct sw_stat *row, const void *src)
{
	return *(const uint64_t *)((const char *)src + row->off);
}

/* A port's counters at one moment. */
struct sw_port_counts {
	uint64_t rx_packets, rx_bytes; /* taken from the peer: its queues summed */
	uint64_t tx_packets, tx_bytes; /* given to the peer */
	struct {
		uint64_t no_rule, not_ready, malformed, vlan, queue_full, too_big, broken,
		    port_security, bad_offload, io_error;
	} drops;
	struct {
		uint64_t rx_gso, rx_csum, tx_segmented, tx_csum_sw;
	} offload;
	struct {
		uint64_t announces, dirty_log_lost;
	} migration;
	uint16_t n_queues; /* queues read, per direction (0: the port is not open) */
	struct port_queue_stats q[2][PORT_MAX_QUEUES]; /* [enum port_dir][queue] */
};

#define SW_QUEUE_ROWS  6
#define SW_PORT_ROWS   20
#define SW_THREAD_ROWS 8
extern const struct sw_stat sw_queue_rows[2][SW_QUEUE_ROWS]; /* [enum port_dir] */
extern const struct sw_stat sw_port_rows[SW_PORT_ROWS];
extern const struct sw_stat sw_thread_rows[SW_THREAD_ROWS];

/* Reads every counter of port 'sp' (its queues, the datapath's counters of it). */
void sw_port_counts(struct sw *sw, struct sw_port *sp, struct sw_port_counts *out);

/* A queue worth reporting on its own: it counted something, or it is broken. */
bool sw_queue_counted(const struct port_queue_stats *s);

#endif
