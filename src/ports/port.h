/*
 * port.h - a switch port: one ops table, one file per port type (vhost-user
 * server/client in port_vhost.c, tap in port_tap.c). Queues are named from
 * the switch's side: rx queue k carries frames from the port into the switch,
 * tx queue k carries frames out of the switch to the port.
 *
 * Execution contexts: the control-thread ops (open, close, pollfds, handle,
 * timeout_ms) run on the control thread only. The datapath ops (rx_burst,
 * tx_burst, rxq_*) run on forwarding threads, and only for a queue the port
 * has reported ready through 'events.queue_state'. rx_burst on one rx queue
 * is called by one thread at a time (its owner). tx_burst on one tx queue may
 * be called by several threads: the caller serialises (dp holds the queue's
 * lock when more than one thread can reach it).
 *
 * Queue state: a port calls events.queue_state(opaque, port, dir, q, false)
 * before it changes anything a ready queue depends on; the callee returns only
 * once no forwarding thread can be inside that queue. It calls it with true
 * when the queue becomes usable.
 */
#ifndef RS_PORTS_PORT_H
#define RS_PORTS_PORT_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../lib/pbuf.h"

#define PORT_NAME_MAX	 16 /* including the NUL; fits an interface name */
#define PORT_MAX_QUEUES	 16
#define PORT_MAX_POLLFDS 2 /* most pollfds one port asks for (vhost server: listen + conn) */

enum port_type { PORT_VHOST_SERVER, PORT_VHOST_CLIENT, PORT_TAP };
enum port_dir { PORT_RX, PORT_TX };

struct port;

struct port_events {
	/* See "Queue state" above. */
	void (*queue_state)(void *opaque, struct port *p, enum port_dir dir, uint16_t q,
			    bool ready);
	/* The peer (front-end, tap) connected or went away; for logs and show. */
	void (*link_state)(void *opaque, struct port *p, bool up);
};

/* Type-specific configuration; the control layer fills it from its command language. */
struct port_cfg {
	enum port_type type;
	char name[PORT_NAME_MAX];
	char path[108];		    /* vhost-user socket path (sun_path size) */
	char ifname[PORT_NAME_MAX]; /* tap interface name; "" means the port name */
	mode_t perm;		    /* vhost-user server socket mode; 0 means 0660 */
	uid_t owner;		    /* (uid_t)-1 keeps ours */
	gid_t group;		    /* (gid_t)-1 keeps ours */
	uint16_t queues;	    /* queue pairs offered (1..PORT_MAX_QUEUES) */
	uint16_t mtu;		    /* offered to guests with VIRTIO_NET_F_MTU; 0 = do not offer */
	uint32_t reconnect_ms;	    /* vhost-user client: first backoff step; 0 = default */
	bool no_offloads;	    /* offloads=off: plain, fully checksummed frames only */
};

/*
 * Offloads (virtio 1.2 section 5.1.6.2, the virtio-net header's meaning):
 * what a port may send into the switch (ol_rx) and what it accepts from it
 * (ol_tx). CSUM: a partial checksum (VIRTIO_NET_HDR_F_NEEDS_CSUM); TSO4/TSO6:
 * TCP GSO super-frames; ECN: with the ECN bit; USO: UDP_L4 GSO.
 */
#define PORT_OL_CSUM 0x01u
#define PORT_OL_TSO4 0x02u
#define PORT_OL_TSO6 0x04u
#define PORT_OL_ECN  0x08u
#define PORT_OL_USO  0x10u

struct port_queue_stats {
	uint64_t packets;
	uint64_t bytes;
	uint64_t drop_full;	   /* tx: no room in the guest/tap queue */
	uint64_t drop_too_big;	   /* frame larger than the buffers */
	uint64_t drop_malformed;   /* rx: bad frame or offload metadata from the port */
	uint64_t drop_error;	   /* the port's fd failed (tap: interface down, I/O error) */
	uint64_t dirty_log_lost;   /* live migration: written pages outside the dirty log */
	uint64_t announces;	   /* rx: RARP announcements injected (vhost-user SEND_RARP) */
	uint64_t broken;	   /* 1 when the queue was stopped for a protocol violation */
	const char *broken_reason; /* static string, or NULL */
};

struct port_ops {
	const char *type_name;
	/* Control thread. open() returns 0 or a negative errno and logs nothing: the caller does.
	 */
	int (*open)(struct port *p);
	void (*close)(struct port *p);
	unsigned (*pollfds)(struct port *p, struct pollfd *pfd, unsigned max);
	void (*handle)(struct port *p, const struct pollfd *pfd, unsigned n, uint64_t now_ms);
	int (*timeout_ms)(struct port *p, uint64_t now_ms); /* -1: none */
	/* Datapath. Bursts return a count (>= 0) or -EIO when the queue is broken.
	 * rx_burst sets in_port (the low 16 bits of id) and in_queue of every pbuf it returns. */
	int (*rx_burst)(struct port *p, uint16_t q, struct pbuf_pool *pool, struct pbuf **pkts,
			unsigned max);
	/* Optional: called after every rx_burst once its frames are freed (they may be split,
	 * pbuf.h, and refer to the peer's memory until then). */
	void (*rx_done)(struct port *p, uint16_t q);
	/* Copies the frames out; the caller keeps ownership of every pbuf. Returns the frames
	 * delivered: the others were counted (drop_full, drop_too_big, drop_error). */
	int (*tx_burst)(struct port *p, uint16_t q, struct pbuf *const *pkts, unsigned n);
	/* Adaptive polling: the fd to sleep on for rx queue q (-1: cannot sleep), valid while
	 * the queue is ready. Watch it edge-triggered (EPOLLET), as tools/loopback.c does: a
	 * vhost kick eventfd is never drained, so level-triggered it would stay readable. */
	int (*rxq_wait_fd)(struct port *p, uint16_t q);
	/* Enables (true) or disables wake-ups for rx queue q; on enable returns true
	 * when frames arrived meanwhile (do not sleep). */
	bool (*rxq_notify)(struct port *p, uint16_t q, bool enable);
	/* Any thread, relaxed reads. */
	void (*queue_stats)(struct port *p, enum port_dir dir, uint16_t q,
			    struct port_queue_stats *out);
	/* Queue count the peer uses now (0 when not connected). */
	uint16_t (*nr_queues)(struct port *p, enum port_dir dir);
	/* Control thread, for reports: whether a peer is attached (a vhost-user
	 * front-end connected; a tap device open) and the virtio features
	 * negotiated with it (0 when none, and for taps). */
	void (*peer)(struct port *p, bool *up, uint64_t *features);
};

struct port {
	uint32_t id; /* switch port number, stable for the port's life */
	char name[PORT_NAME_MAX];
	struct port_cfg cfg;
	const struct port_ops *ops;
	void *priv; /* the type's state */
	struct port_events events;
	void *events_opaque;
	/* PORT_OL_* negotiated with the peer; written by the port type on the control
	 * thread before it reports a queue ready, read by the control thread's dp view. */
	uint32_t ol_rx;
	uint32_t ol_tx;
};

const struct port_ops *port_ops_for(enum port_type type);
const char *port_type_name(enum port_type type);
/* "vhost-user-server" etc. to the enum; -EINVAL when unknown. */
int port_type_parse(const char *s, enum port_type *out);

extern const struct port_ops port_vhost_ops; /* server and client: cfg.type decides */
extern const struct port_ops port_tap_ops;

#endif
