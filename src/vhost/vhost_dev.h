/*
 * vhost_dev.h - one vhost-user net device as the layers above see it: the
 * negotiated state, its virtqueues, and the contract that keeps forwarding
 * threads away from a queue while the front-end reconfigures it.
 *
 * Execution contexts: every function here runs on the control thread, except
 * the accessors marked "datapath", which a forwarding thread may call for a
 * queue it was told is ready.
 *
 * Queue readiness: queue 2k is the guest's RX queue k (we write), 2k+1 its TX
 * queue k (we read). A queue is ready when the memory table, size, addresses
 * and kick are set, and it is enabled (immediately without
 * VHOST_USER_F_PROTOCOL_FEATURES, else by SET_VRING_ENABLE 1). Before any
 * message changes state a ready queue depends on (memory table, addresses,
 * call fd, GET_VRING_BASE, reset, disconnect) the device calls
 * ops->queue_state(..., false), which must return only once no forwarding
 * thread touches the queue; afterwards, if the queue is usable again,
 * queue_state(..., true).
 */
#ifndef RS_VHOST_DEV_H
#define RS_VHOST_DEV_H

#include <stdbool.h>
#include <stdint.h>

#include "../virtio/vq.h"
#include "vhost_user.h"

/* QEMU allows up to 1024 queues; we support this many pairs. */
#define VHOST_MAX_QUEUE_PAIRS 16
#define VHOST_MAX_QUEUES      (2 * VHOST_MAX_QUEUE_PAIRS)

struct vhost_dev;

struct vhost_dev_ops {
	/* See "Queue readiness" above. */
	void (*queue_state)(void *opaque, struct vhost_dev *dev, uint16_t qid, bool ready);
	/* The front-end connected (true) or went away / reset the device (false). */
	void (*conn_state)(void *opaque, struct vhost_dev *dev, bool up);
	/* SEND_RARP: announce the guest whose MAC is 'mac' as if it had sent a RARP
	 * (after a live migration). Optional. */
	void (*announce)(void *opaque, struct vhost_dev *dev, const uint8_t mac[6]);
};

struct vhost_dev_cfg {
	const char *name;	  /* for logs: the port name */
	uint16_t max_queue_pairs; /* 1..VHOST_MAX_QUEUE_PAIRS */
	uint64_t features;	  /* virtio features offered; 0 = the layer's default */
	uint16_t mtu;		  /* offered with VIRTIO_NET_F_MTU; 0 = do not offer */
	bool no_offloads;	  /* leave VHOST_DEV_OFFLOAD_FEATURES out of the offer */
};

/*
 * The checksum and segmentation offloads offered by default (5.1.3): the
 * front-end may send partial checksums and TCP/UDP GSO frames (CSUM,
 * HOST_*) and accepts them (GUEST_*). The caller honours what was
 * negotiated: the vq layer carries the header fields, nothing more.
 */
#define VHOST_DEV_OFFLOAD_FEATURES                                                                 \
	(VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |                     \
	 VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) |                 \
	 VIRTIO_BIT(VIRTIO_NET_F_HOST_ECN) | VIRTIO_BIT(VIRTIO_NET_F_HOST_USO) |                   \
	 VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) |               \
	 VIRTIO_BIT(VIRTIO_NET_F_GUEST_ECN) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_USO4) |                \
	 VIRTIO_BIT(VIRTIO_NET_F_GUEST_USO6))

struct vhost_dev *vhost_dev_new(const struct vhost_dev_cfg *cfg, const struct vhost_dev_ops *ops,
				void *opaque);
/* Stops every queue (through ops), unmaps memory, closes fds, frees. */
void vhost_dev_free(struct vhost_dev *dev);

/*
 * Handles one decoded message with the fds that came with it. Takes
 * ownership of every fd in 'fds' (keeps or closes each). Fills 'reply' and
 * returns 1 when a reply must be sent, 0 when none, or a negative errno when
 * the connection must be dropped (protocol state beyond repair).
 */
int vhost_dev_handle(struct vhost_dev *dev, const struct vhost_user_msg *msg, int *fds,
		     unsigned nfds, struct vhost_user_msg *reply);

/* The front-end went away: stop queues, release memory and fds, reset state. */
void vhost_dev_disconnect(struct vhost_dev *dev);

const char *vhost_dev_name(const struct vhost_dev *dev);
uint64_t vhost_dev_features(const struct vhost_dev *dev); /* negotiated */
/* Queues the front-end has set up so far (2 * pairs in use), 0 when none. */
uint16_t vhost_dev_nr_queues(const struct vhost_dev *dev);
bool vhost_dev_queue_ready(const struct vhost_dev *dev, uint16_t qid);

/* Datapath: the ring of a ready queue. */
struct vq *vhost_dev_vq(struct vhost_dev *dev, uint16_t qid);
/* Datapath: eventfd to signal the guest (-1: none, the guest polls). */
int vhost_dev_call_fd(const struct vhost_dev *dev, uint16_t qid);
/* Control: the guest's kick eventfd for sleeping on (-1: none). */
int vhost_dev_kick_fd(const struct vhost_dev *dev, uint16_t qid);
/* Datapath: the queue broke; signals the front-end's SET_VRING_ERR eventfd, if any. */
void vhost_dev_signal_err(const struct vhost_dev *dev, uint16_t qid);

#endif
