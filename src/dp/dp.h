/*
 * dp.h - the datapath: forwarding threads pinned to cores, which rx queue
 * each thread polls, and the per-packet pipeline (parse, exact-match cache,
 * classifier, actions, L2 learning, output). The control thread changes what
 * the threads see by publishing a new immutable view and waiting until every
 * thread has passed a quiescent point (RCU-like); a thread never waits for the
 * control thread, and takes no lock except the tx-queue lock of a queue that
 * more than one thread can write.
 *
 * Every function here runs on the control thread.
 */
#ifndef RS_DP_DP_H
#define RS_DP_DP_H

#include <stdbool.h>
#include <stdint.h>

#include "../ports/port.h"
#include "../switch/cls.h"
#include "../switch/mac_learning.h"

#define DP_MAX_THREADS 16
#define DP_MAX_PORTS   256 /* port ids 1..255; 0 is never a port */

struct dp_settings {
	unsigned n_cores;	   /* forwarding threads, one per core */
	int cores[DP_MAX_THREADS]; /* CPU ids */
	bool busy_poll;		   /* poll-mode=busy: never sleep */
	uint32_t idle_us;	   /* adaptive: idle time before sleeping */
};

enum dp_vlan_mode { DP_VLAN_ACCESS, DP_VLAN_TRUNK };

/* VLAN membership, used by the normal and flood actions (as in OVS). */
struct dp_port_vlan {
	uint8_t mode;	     /* enum dp_vlan_mode */
	uint16_t tag;	     /* access: the port's VLAN (0: untagged segment) */
	uint64_t trunks[64]; /* trunk: allowed VLANs, bit per VID; all zero: every VLAN */
};

/*
 * Port security: the only source addresses a port may send with. A list with
 * n == 0 allows everything. With macs: the Ethernet source (and an ARP
 * request's or reply's sender hardware address) must be listed. With ips: an
 * IPv4 frame's source and an ARP sender protocol address must be listed;
 * 0.0.0.0 passes for ARP probes (RFC 5227) and DHCP client requests (UDP
 * 68 -> 67). Other frames fail when any list is set and their addresses do
 * not match; frames that fail are dropped at ingress, before learning, and
 * counted in drop_port_security.
 */
#define DP_SEC_MAX 8
struct dp_port_sec {
	uint8_t n_mac, n_ip;
	struct eth_addr mac[DP_SEC_MAX];
	uint32_t ip[DP_SEC_MAX]; /* network byte order */
};

/* Switch-level counters of one port (summed over threads). */
struct dp_port_counters {
	uint64_t rx_packets, rx_bytes;
	uint64_t drop_no_rule;	     /* rules exist, none matched */
	uint64_t drop_not_ready;     /* output to a port with no ready queue */
	uint64_t drop_malformed;     /* runt frame, shorter than an Ethernet header */
	uint64_t drop_vlan;	     /* VLAN not allowed on the ingress port */
	uint64_t drop_broken;	     /* rx queue stopped for a ring-protocol violation */
	uint64_t drop_port_security; /* source address not allowed (struct dp_port_sec) */
	uint64_t drop_bad_offload;   /* offload metadata not negotiated or not matching the frame */
	uint64_t rx_gso;	     /* GSO super-frames received */
	uint64_t rx_csum;	     /* frames received with a partial checksum */
	uint64_t tx_segmented;	     /* super-frames segmented in software for this port */
	uint64_t tx_csum_sw;	     /* checksums completed in software for this port */
};

struct dp_thread_info {
	int core;
	unsigned n_rxq;
	struct {
		uint32_t port;
		uint16_t q;
	} rxq[64];
	uint64_t packets;
	uint64_t busy_cycles; /* TSC cycles in iterations that moved packets */
	uint64_t idle_cycles; /* TSC cycles in empty iterations and asleep */
	uint64_t sleeps;      /* times the thread slept on its queues' eventfds */
	uint64_t bursts;      /* non-empty rx bursts (packets / bursts: the batch size) */
	uint64_t emc_hits, emc_misses;
	uint64_t memo_hits; /* frames that reused the previous frame's flow decisions */
};

struct dp;

/*
 * Starts the threads described by 's'. 'ml' (learning table) and 'clst' (the
 * flow table context) stay owned by the caller and must outlive the dp.
 * Returns NULL with errno set.
 */
struct dp *dp_create(const struct dp_settings *s, struct ml_table *ml, struct cls_table *clst);
/* Stops the threads; every port must have been removed. Frees the current rules. */
void dp_destroy(struct dp *dp);

/* Changes threads/cores or polling; restarting threads when the cores change. */
int dp_set_settings(struct dp *dp, const struct dp_settings *s);
void dp_get_settings(const struct dp *dp, struct dp_settings *out);

/*
 * Adds an opened-or-about-to-open port (p->id in 1..DP_MAX_PORTS-1, unique).
 * Installs dp's handlers in p->events, so call it before p->ops->open().
 * 'rxq_core[q]' pins rx queue q to a core (-1: round-robin). 'sec' (NULL:
 * none) restricts the port's source addresses. 0 or -errno.
 */
int dp_port_add(struct dp *dp, struct port *p, const struct dp_port_vlan *vlan,
		const struct dp_port_sec *sec, const int rxq_core[PORT_MAX_QUEUES]);
/* Removes a port from every thread; afterwards the caller may close it. */
void dp_port_del(struct dp *dp, struct port *p);
int dp_port_set_vlan(struct dp *dp, struct port *p, const struct dp_port_vlan *vlan);
/* Replaces the port's security lists (publishes only when they change). */
int dp_port_set_sec(struct dp *dp, struct port *p, const struct dp_port_sec *sec);
int dp_port_set_affinity(struct dp *dp, struct port *p, const int rxq_core[PORT_MAX_QUEUES]);

/* Publishes 'c' (ownership passes to dp); the old snapshot is freed after a grace period. */
void dp_set_rules(struct dp *dp, struct cls *c);
/* The published rules (control thread; valid until the next dp_set_rules). */
const struct cls *dp_rules(const struct dp *dp);

void dp_port_counters(const struct dp *dp, uint32_t port_id, struct dp_port_counters *out);
unsigned dp_n_threads(const struct dp *dp);
void dp_thread_info(const struct dp *dp, unsigned idx, struct dp_thread_info *out);
/* Rx queues of 'p' that are ready, as a bitmap (bit q), and the thread polling each. */
uint32_t dp_port_rxq_ready(const struct dp *dp, const struct port *p,
			   int thread_of[PORT_MAX_QUEUES]);
uint32_t dp_port_txq_ready(const struct dp *dp, const struct port *p);

/* Monotonic seconds, the clock of MAC learning and rule 'used' times. */
uint32_t dp_now_s(void);
/* Monotonic milliseconds, for control-thread timers. */
uint64_t dp_now_ms(void);

#endif
