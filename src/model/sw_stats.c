/*
 * sw_stats.c - the switch's counters, defined once (sw_stats.h): the row
 * tables that name every counter for port-stats, pmd-show and /metrics, and
 * the collector that reads a port's counters from its queues and the
 * datapath. Owns nothing; reads with relaxed loads. Control thread only.
 */
#include "sw_stats.h"

#include <string.h>

#define QOFF(f) offsetof(struct port_queue_stats, f)
#define POFF(f) offsetof(struct sw_port_counts, f)
#define TOFF(f) offsetof(struct dp_thread_info, f)

/* A queue's rows for direction D ("rx": frames from the peer, "tx": to it). */
#define QDROP_HELP(D)                                                                              \
	"Frames dropped by a port's " D " queue itself, by reason (also counted in "               \
	"ringswitch_port_drops_total)."
#define QDROP(D, k, reason)                                                                        \
	{                                                                                          \
		NULL, #k, "port_" D "_queue_drops_total", "reason=" reason, QDROP_HELP(D), QOFF(k) \
	}
#define QCOUNT(D, k, help)                                                                         \
	{                                                                                          \
		NULL, #k, "port_" D "_" #k "_total", NULL, help, QOFF(k)                           \
	}
#define SW_QUEUE_DIR_ROWS(D, WHAT)                                                                 \
	{                                                                                          \
		QCOUNT(D, packets, "Frames " WHAT " the port's peer, per queue."),                 \
		    QCOUNT(D, bytes, "Bytes of the frames " WHAT " the port's peer, per queue."),  \
		    QDROP(D, drop_full, "queue_full"), QDROP(D, drop_too_big, "too_big"),          \
		    QDROP(D, drop_malformed, "malformed"), QDROP(D, drop_error, "io_error"),       \
	}

const struct sw_stat sw_queue_rows[2][SW_QUEUE_ROWS] = {
    [PORT_RX] = SW_QUEUE_DIR_ROWS("rx", "received from"),
    [PORT_TX] = SW_QUEUE_DIR_ROWS("tx", "sent to"),
};

#define DROPS_HELP                                                                                 \
	"Frames the switch dropped at a port, by reason (port-stats drops: at ingress for "        \
	"frames from the port, at egress for frames to it)."
#define DROP(k)                                                                                    \
	{                                                                                          \
		"drops", #k, "port_drops_total", "reason=" #k, DROPS_HELP, POFF(drops.k)           \
	}

const struct sw_stat sw_port_rows[SW_PORT_ROWS] = {
    /* JSON only: /metrics has them per queue (port_rx_packets_total{queue} ...). */
    {NULL, "rx_packets", NULL, NULL, NULL, POFF(rx_packets)},
    {NULL, "rx_bytes", NULL, NULL, NULL, POFF(rx_bytes)},
    {NULL, "tx_packets", NULL, NULL, NULL, POFF(tx_packets)},
    {NULL, "tx_bytes", NULL, NULL, NULL, POFF(tx_bytes)},
    DROP(no_rule),
    DROP(not_ready),
    DROP(malformed),
    DROP(vlan),
    DROP(queue_full),
    DROP(too_big),
    DROP(broken),
    DROP(port_security),
    DROP(bad_offload),
    DROP(io_error),
    {"offload", "rx_gso", "port_offload_rx_gso_total", NULL,
     "GSO super-frames received from the port's peer.", POFF(offload.rx_gso)},
    {"offload", "rx_csum", "port_offload_rx_csum_total", NULL,
     "Frames received from the port's peer with a partial checksum.", POFF(offload.rx_csum)},
    {"offload", "tx_segmented", "port_offload_tx_segmented_total", NULL,
     "Super-frames segmented in software for the port (it did not negotiate the offload).",
     POFF(offload.tx_segmented)},
    {"offload", "tx_csum_sw", "port_offload_tx_csum_sw_total", NULL,
     "Checksums completed in software for the port.", POFF(offload.tx_csum_sw)},
    {"migration", "announces", "port_migration_announces_total", NULL,
     "RARP announcements injected for the port's guest after a live migration (SEND_RARP).",
     POFF(migration.announces)},
    {"migration", "dirty_log_lost", "port_migration_dirty_log_lost_total", NULL,
     "Guest pages written outside the dirty log QEMU gave (a migration would miss them).",
     POFF(migration.dirty_log_lost)},
};

#define CYCLES_HELP                                                                                \
	"TSC cycles of a forwarding thread: busy (iterations that moved packets) or idle."

const struct sw_stat sw_thread_rows[SW_THREAD_ROWS] = {
    {NULL, "packets", "pmd_packets_total", NULL, "Frames a forwarding thread received.",
     TOFF(packets)},
    {NULL, "busy_cycles", "pmd_cycles_total", "state=busy", CYCLES_HELP, TOFF(busy_cycles)},
    {NULL, "idle_cycles", "pmd_cycles_total", "state=idle", CYCLES_HELP, TOFF(idle_cycles)},
    {NULL, "sleeps", "pmd_sleeps_total", NULL,
     "Times a forwarding thread slept on its queues' eventfds (adaptive polling).", TOFF(sleeps)},
    {NULL, "emc_hits", "pmd_emc_hits_total", NULL, "Exact-match cache hits.", TOFF(emc_hits)},
    {NULL, "emc_misses", "pmd_emc_misses_total", NULL, "Exact-match cache misses.",
     TOFF(emc_misses)},
    {NULL, "bursts", "pmd_bursts_total", NULL, "Non-empty receive bursts.", TOFF(bursts)},
    {NULL, "memo_hits", "pmd_memo_hits_total", NULL,
     "Frames that reused the previous frame's flow decisions (flow memo).", TOFF(memo_hits)},
};

bool sw_queue_counted(const struct port_queue_stats *s)
{
	/* The rx and tx rows read the same fields. */
	for (unsigned i = 0; i < SW_QUEUE_ROWS; i++)
		if (sw_stat_get(&sw_queue_rows[PORT_RX][i], s))
			return true;
	return s->broken != 0;
}

void sw_port_counts(struct sw *sw, struct sw_port *sp, struct sw_port_counts *c)
{
	struct port *p = &sp->port;
	struct dp_port_counters d;
	memset(c, 0, sizeof(*c));
	c->n_queues = sp->opened ? sp->spec.queues : 0;
	for (int dir = PORT_RX; dir <= PORT_TX; dir++)
		for (uint16_t q = 0; q < c->n_queues; q++) {
			struct port_queue_stats *s = &c->q[dir][q];
			p->ops->queue_stats(p, (enum port_dir)dir, q, s);
			*(dir == PORT_RX ? &c->rx_packets : &c->tx_packets) += s->packets;
			*(dir == PORT_RX ? &c->rx_bytes : &c->tx_bytes) += s->bytes;
			c->drops.queue_full += s->drop_full;
			c->drops.too_big += s->drop_too_big;
			c->drops.io_error += s->drop_error;
			if (dir == PORT_RX)
				c->drops.malformed += s->drop_malformed;
			c->migration.announces += s->announces;
			c->migration.dirty_log_lost += s->dirty_log_lost;
		}
	dp_port_counters(sw->dp, sp->port.id, &d);
	c->drops.no_rule = d.drop_no_rule;
	c->drops.not_ready = d.drop_not_ready;
	c->drops.malformed += d.drop_malformed;
	c->drops.vlan = d.drop_vlan;
	c->drops.broken = d.drop_broken;
	c->drops.port_security = d.drop_port_security;
	c->drops.bad_offload = d.drop_bad_offload;
	c->offload.rx_gso = d.rx_gso;
	c->offload.rx_csum = d.rx_csum;
	c->offload.tx_segmented = d.tx_segmented;
	c->offload.tx_csum_sw = d.tx_csum_sw;
}
