/*
 * vhost_dev.c - one vhost-user net device: feature negotiation, the memory
 * table, per-ring configuration, queue readiness (see vhost_dev.h) and the
 * handler table that vhost_dev_handle dispatches through. Owns every fd a
 * front-end gives us (kick/call/err eventfds, the backend request socket,
 * through vhost_mem.c the memory fds) and releases them on reset, disconnect
 * and free. Validation of the wire format is vhost_msg.c's job; handlers see
 * only messages vhost_msg_check accepted.
 *
 * Every handler that changes something a ready queue uses stops the queue
 * first (ops->queue_state false), changes it, then re-evaluates readiness
 * (ops->queue_state true when usable again).
 */
#include "vhost_dev.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/log.h"
#include "vhost_mem.h"
#include "vhost_msg.h"

#define LOG_MOD "vhost_dev"

/* GET_MAX_MEM_SLOTS answer: what struct gmem holds. */
#define VHOST_DEV_MAX_MEM_SLOTS GMEM_MAX_REGIONS

#define BIT(b) VIRTIO_BIT(b)

/* Features the ring code cannot honour, never offered whatever cfg says. */
#define VHOST_F_LOG_ALL_BIT 26 /* vhost-user "Migration": dirty logging, which we cannot do */
#define VHOST_DEV_NEVER                                                                            \
	(BIT(VIRTIO_F_RING_PACKED) | BIT(VIRTIO_F_ACCESS_PLATFORM) | BIT(VHOST_F_LOG_ALL_BIT))

/*
 * VIRTIO_F_IN_ORDER (2.7.9): the ring code uses every buffer in the order it
 * was made available (dropped and held chains included; test_vq_net
 * test_in_order), so the promise costs nothing, and a front-end that acks it
 * (DPDK's virtio-user does) runs its cheaper in-order paths.
 */
#define VHOST_DEV_DEFAULT_FEATURES                                                                 \
	(BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_F_IN_ORDER) | BIT(VIRTIO_NET_F_MRG_RXBUF) |          \
	 BIT(VIRTIO_RING_F_INDIRECT_DESC) | BIT(VIRTIO_RING_F_EVENT_IDX) | BIT(VIRTIO_NET_F_MQ) |  \
	 BIT(VIRTIO_NET_F_CTRL_VQ) | BIT(VIRTIO_NET_F_GUEST_ANNOUNCE) | BIT(VIRTIO_NET_F_STATUS) | \
	 VHOST_DEV_OFFLOAD_FEATURES)

#define VHOST_DEV_PROTOCOL_FEATURES                                                                \
	(BIT(VHOST_USER_PROTOCOL_F_MQ) | BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK) |                    \
	 BIT(VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS) | BIT(VHOST_USER_PROTOCOL_F_NET_MTU) |     \
	 BIT(VHOST_USER_PROTOCOL_F_BACKEND_REQ) | BIT(VHOST_USER_PROTOCOL_F_STATUS))

/* One virtqueue's configuration as the front-end set it. */
struct vhost_vring {
	struct vq vq;	   /* set up while 'ready' */
	uint64_t desc_uva; /* SET_VRING_ADDR, front-end virtual addresses */
	uint64_t avail_uva;
	uint64_t used_uva;
	uint32_t num;  /* SET_VRING_NUM; 0 = not set */
	uint16_t base; /* next avail index when (re)started */
	bool addr_set;
	bool kick_set; /* SET_VRING_KICK seen (fd or NOFD) since the last stop */
	bool enabled;  /* SET_VRING_ENABLE */
	bool ready;    /* as last reported through ops->queue_state */
	int kick_fd;   /* -1: none (the front-end does not kick; we poll) */
	int call_fd;   /* -1: none (the guest polls) */
	int err_fd;
};

struct vhost_dev {
	char name[64];
	const struct vhost_dev_ops *ops;
	void *opaque;
	uint16_t max_queue_pairs;
	uint16_t cfg_mtu;
	uint64_t offered;	 /* GET_FEATURES */
	uint64_t features;	 /* SET_FEATURES */
	uint64_t proto_features; /* SET_PROTOCOL_FEATURES */
	uint16_t mtu;		 /* NET_SET_MTU, 0 = none */
	uint8_t status;		 /* SET_STATUS */
	bool owner;		 /* SET_OWNER seen */
	bool connected;		 /* conn_state(true) reported */
	int backend_req_fd;	 /* SET_BACKEND_REQ_FD, -1 = none */
	struct gmem *mem;	 /* current table; read by forwarding threads */
	struct vhost_vring vrings[VHOST_MAX_QUEUES];
};

typedef int (*vhost_handler_fn)(struct vhost_dev *dev, const struct vhost_user_msg *msg, int *fds,
				struct vhost_user_msg *reply);

static void fd_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* ---- queue readiness ---------------------------------------------------- */

static void dev_queue_state(struct vhost_dev *dev, uint16_t q, bool ready)
{
	if (dev->ops && dev->ops->queue_state)
		dev->ops->queue_state(dev->opaque, dev, q, ready);
}

/* Stops a ready queue: no forwarding thread uses it once this returns. */
static void vring_stop(struct vhost_dev *dev, uint16_t q)
{
	struct vhost_vring *r = &dev->vrings[q];

	if (!r->ready)
		return;
	dev_queue_state(dev, q, false);
	r->ready = false;
	r->base = r->vq.last_avail;
	vq_reset(&r->vq);
}

static void dev_stop_all(struct vhost_dev *dev)
{
	for (uint16_t q = 0; q < VHOST_MAX_QUEUES; q++)
		vring_stop(dev, q);
}

/* Translates the ring addresses through the current table: 0 or -EFAULT. */
static int vring_translate(const struct vhost_dev *dev, const struct vhost_vring *r, void **desc,
			   void **avail, void **used)
{
	*desc = gmem_uva_to_host(dev->mem, r->desc_uva, virtq_desc_bytes(r->num));
	*avail = gmem_uva_to_host(dev->mem, r->avail_uva, virtq_avail_bytes(r->num));
	*used = gmem_uva_to_host(dev->mem, r->used_uva, virtq_used_bytes(r->num));
	return (*desc && *avail && *used) ? 0 : -EFAULT;
}

static bool vring_startable(const struct vhost_dev *dev, const struct vhost_vring *r)
{
	bool enabled = r->enabled || !(dev->features & BIT(VHOST_USER_F_PROTOCOL_FEATURES));

	return dev->mem->nregions > 0 && r->num && r->addr_set && r->kick_set && enabled;
}

/* Starts the queue when everything is set; 0, or the error that keeps it stopped. */
static int vring_update(struct vhost_dev *dev, uint16_t q)
{
	struct vhost_vring *r = &dev->vrings[q];
	void *desc, *avail, *used;
	int rc;

	if (r->ready || !vring_startable(dev, r))
		return 0;
	rc = vring_translate(dev, r, &desc, &avail, &used);
	if (rc == 0)
		rc = vq_setup(&r->vq, dev->mem, (uint16_t)r->num, desc, avail, used, dev->features,
			      r->base);
	if (rc < 0) {
		RS_LOG_RL(RS_LOG_WARN, LOG_MOD, "%s: queue %u not started: rings %s", dev->name, q,
			  rc == -EFAULT ? "outside guest memory" : "misaligned");
		return rc;
	}
	r->ready = true;
	dev_queue_state(dev, q, true);
	return 0;
}

static void dev_update_all(struct vhost_dev *dev)
{
	for (uint16_t q = 0; q < VHOST_MAX_QUEUES; q++)
		vring_update(dev, q);
}

/* Forgets a ring's configuration (RESET_OWNER, disconnect); the queue must be stopped. */
static void vring_forget(struct vhost_vring *r)
{
	struct vq_stats stats = r->vq.stats;

	fd_close(&r->kick_fd);
	fd_close(&r->call_fd);
	fd_close(&r->err_fd);
	memset(r, 0, sizeof(*r));
	r->vq.stats = stats;
	r->kick_fd = r->call_fd = r->err_fd = -1;
}

static void vring_init(struct vhost_vring *r)
{
	memset(r, 0, sizeof(*r));
	r->kick_fd = r->call_fd = r->err_fd = -1;
}

/* ---- device-wide handlers ----------------------------------------------- */

static int h_get_features(struct vhost_dev *dev, const struct vhost_user_msg *msg, int *fds,
			  struct vhost_user_msg *reply)
{
	(void)msg, (void)fds;
	reply->payload.u64 = dev->offered;
	reply->hdr.size = sizeof(uint64_t);
	return 0;
}

static int h_set_features(struct vhost_dev *dev, const struct vhost_user_msg *msg, int *fds,
			  struct vhost_user_msg *reply)
{
	uint64_t f = msg->payload.u64;

	(void)fds, (void)reply;
	if (f & ~dev->offered) {
		RS_LOG_RL(RS_LOG_WARN, LOG_MOD,
			  "%s: SET_FEATURES 0x%llx has bits not offered 0x%llx", dev->name,
			  (unsigned long long)f, (unsigned long long)(f & ~dev->offered));
		return -EINVAL;
	}
	if (f == dev->features)
		return 0;
	/* Header length, event index and enable rules may change: restart every queue. */
	dev_stop_all(dev);
	dev->features = f;
	RS_LOG_RL(RS_LOG_INFO, LOG_MOD, "%s: front-end acked features 0x%llx:%s%s%s%s%s%s",
		  dev->name, (unsigned long long)f, f & BIT(VIRTIO_F_VERSION_1) ? " version_1" : "",
		  f & BIT(VIRTIO_F_IN_ORDER) ? " in_order" : "",
		  f & BIT(VIRTIO_NET_F_MRG_RXBUF) ? " mrg_rxbuf" : "",
		  f & BIT(VIRTIO_RING_F_EVENT_IDX) ? " event_idx" : "",
		  f & BIT(VIRTIO_RING_F_INDIRECT_DESC) ? " indirect_desc" : "",
		  f & VHOST_DEV_OFFLOAD_FEATURES ? " offloads" : "");
	dev_update_all(dev);
	return 0;
}

static int h_get_protocol_features(struct vhost_dev *dev, const struct vhost_user_msg *msg,
				   int *fds, struct vhost_user_msg *reply)
{
	(void)dev, (void)msg, (void)fds;
	reply->payload.u64 = VHOST_DEV_PROTOCOL_FEATURES;
	reply->hdr.size = sizeof(uint64_t);
	return 0;
}

static int h_set_protocol_features(struct vhost_dev *dev, const struct vhost_user_msg *msg,
				   int *fds, struct vhost_user_msg *reply)
{
	uint64_t f = msg->payload.u64;

	(void)fds, (void)reply;
	if (f & ~(uint64_t)VHOST_DEV_PROTOCOL_FEATURES) {
		RS_LOG_RL(RS_LOG_WARN, LOG_MOD, "%s: SET_PROTOCOL_FEATURES 0x%llx not offered",
			  dev->name, (unsigned long long)f);
		return -EINVAL;
	}
	dev->proto_features = f;
	return 0;
}

static int h_set_owner(struct vhost_dev *dev, const struct vhost_user_msg *msg, int *fds,
		       struct vhost_user_msg *reply)
{
	(void)msg, (void)fds, (void)reply;
	dev->owner = true;
	return 0;
}

/*
 * RESET_OWNER is deprecated; the spec recommends back-ends "either ignore this
 * message, or use it to disable all rings". We disable (stop and forget) all
 * rings and keep memory and negotiated features.
 */
static int h_reset_owner(struct vhost_dev *dev, const struct vhost_user_msg *msg, int *fds,
			 struct vhost_user_msg *reply)
{
	(void)msg, (void)fds, (void)reply;
	dev_stop_all(dev);
	for (uint16_t q = 0; q < VHOST_MAX_QUEUES; q++)
		vring_forget(&dev->vrings[q]);
	return 0;
}

static int h_get_queue_num(struct vhost_dev *dev, const struct vhost_user_msg *msg, int *fds,
			   struct vhost_user_msg *reply)
{
	(void)msg, (void)fds;
	reply->payload.u64 = dev->max_queue_pairs;
	reply->hdr.size = sizeof(uint64_t);
	return 0;
}

static int h_get_max_mem_slots(struct vhost_dev *dev, const struct vhost_user_msg *msg, int *fds,
			       struct vhost_user_msg *reply)
{
	(void)dev, (void)msg, (void)fds;
	reply->payload.u64 = VHOST_DEV_MAX_MEM_SLOTS;
	reply->hdr.size = sizeof(uint64_t);
	return 0;
}

static int h_net_set_mtu(struct vhost_dev *dev, const struct vhost_user_msg *msg, int *fds,
			 struct vhost_user_msg *reply)
{
	uint64_t mtu = msg->payload.u64;

	(void)fds, (void)reply;
	/* "the back-end must respond with zero in case the specified MTU is valid" */
	if (dev->cfg_mtu && mtu > dev->cfg_mtu) {
		RS_LOG_RL(RS_LOG_WARN, LOG_MOD, "%s: NET_SET_MTU %llu above the port's %u",
			  dev->name, (unsigned long long)mtu, dev->cfg_mtu);
		return -EINVAL;
	}
	dev->mtu = (uint16_t)mtu;
	return 0;
}

static int h_set_backend_req_fd(struct vhost_dev *dev, const struct vhost_user_msg *msg, int *fds,
				struct vhost_user_msg *reply)
{
	(void)msg, (void)reply;
	fd_close(&dev->backend_req_fd);
	dev->backend_req_fd = fds[0];
	fds[0] = -1;
	return 0;
}

static int h_send_rarp(struct vhost_dev *dev, const struct vhost_user_msg *msg, int *fds,
		       struct vhost_user_msg *reply)
{
	/* Accepted; announcing the guest's MAC is the switch layer's job, later. */
	(void)dev, (void)msg, (void)fds, (void)reply;
	return 0;
}

static int h_set_status(struct vhost_dev *dev, const struct vhost_user_msg *msg, int *fds,
			struct vhost_user_msg *reply)
{
	(void)fds, (void)reply;
	dev->status = (uint8_t)msg->payload.u64;
	return 0;
}

static int h_get_status(struct vhost_dev *dev, const struct vhost_user_msg *msg, int *fds,
			struct vhost_user_msg *reply)
{
	(void)msg, (void)fds;
	reply->payload.u64 = dev->status;
	reply->hdr.size = sizeof(uint64_t);
	return 0;
}

/* ---- memory table ------------------------------------------------------- */

static void log_region_error(const struct vhost_dev *dev, const char *req, unsigned idx,
			     const struct vhost_user_mem_region *r, int rc)
{
	RS_LOG_RL(RS_LOG_WARN, LOG_MOD,
		  "%s: %s region %u (gpa 0x%llx size 0x%llx offset 0x%llx): %s", dev->name, req,
		  idx, (unsigned long long)r->guest_phys_addr, (unsigned long long)r->memory_size,
		  (unsigned long long)r->mmap_offset, vhost_mem_strerror(rc));
}

/*
 * The new table is mapped completely before anything changes, so a bad region
 * leaves the device exactly as it was. Then: stop the ready queues, swap,
 * unmap the old table, re-translate and restart.
 */
static int h_set_mem_table(struct vhost_dev *dev, const struct vhost_user_msg *msg, int *fds,
			   struct vhost_user_msg *reply)
{
	struct gmem *m = malloc(sizeof(*m));
	unsigned bad;
	int rc;

	(void)reply;
	if (m == NULL)
		return -ENOMEM;
	gmem_init(m);
	rc = vhost_mem_load_table(m, &msg->payload.mem, fds, &bad);
	if (rc < 0) {
		log_region_error(dev, "SET_MEM_TABLE", bad, &msg->payload.mem.regions[bad], rc);
		free(m);
		return rc;
	}
	dev_stop_all(dev);
	struct gmem *old = dev->mem;
	dev->mem = m;
	vhost_mem_clear(old);
	free(old);
	dev_update_all(dev);
	return 0;
}

static int h_add_mem_reg(struct vhost_dev *dev, const struct vhost_user_msg *msg, int *fds,
			 struct vhost_user_msg *reply)
{
	const struct vhost_user_mem_region *r = &msg->payload.mem_reg.region;
	int rc;

	(void)reply;
	/* gmem_add shifts entries forwarding threads read: stop them first. */
	dev_stop_all(dev);
	rc = vhost_mem_add(dev->mem, r, &fds[0]);
	if (rc < 0)
		log_region_error(dev, "ADD_MEM_REG", 0, r, rc);
	dev_update_all(dev);
	return rc;
}

static int h_rem_mem_reg(struct vhost_dev *dev, const struct vhost_user_msg *msg, int *fds,
			 struct vhost_user_msg *reply)
{
	const struct vhost_user_mem_region *r = &msg->payload.mem_reg.region;
	int rc;

	(void)fds, (void)reply; /* an fd, if any, is closed by the dispatcher unused */
	dev_stop_all(dev);
	rc = vhost_mem_remove(dev->mem, r);
	if (rc < 0)
		log_region_error(dev, "REM_MEM_REG", 0, r, rc);
	/* Rings inside the removed region no longer translate and stay stopped. */
	dev_update_all(dev);
	return rc;
}

/* ---- per-ring handlers -------------------------------------------------- */

static int h_set_vring_num(struct vhost_dev *dev, const struct vhost_user_msg *msg, int *fds,
			   struct vhost_user_msg *reply)
{
	uint16_t q = (uint16_t)msg->payload.state.index;

	(void)fds, (void)reply;
	vring_stop(dev, q);
	dev->vrings[q].num = msg->payload.state.num;
	return vring_update(dev, q);
}

static int h_set_vring_addr(struct vhost_dev *dev, const struct vhost_user_msg *msg, int *fds,
			    struct vhost_user_msg *reply)
{
	const struct vhost_user_vring_addr *a = &msg->payload.addr;
	uint16_t q = (uint16_t)a->index;
	struct vhost_vring *r = &dev->vrings[q];
	void *desc, *avail, *used;

	(void)fds, (void)reply;
	vring_stop(dev, q);
	r->desc_uva = a->desc_user_addr;
	r->avail_uva = a->avail_user_addr;
	r->used_uva = a->used_user_addr;
	r->addr_set = true;
	/* Without a table or size yet, translation waits for them (vring_update). */
	if (dev->mem->nregions > 0 && r->num && vring_translate(dev, r, &desc, &avail, &used) < 0) {
		RS_LOG_RL(RS_LOG_WARN, LOG_MOD,
			  "%s: SET_VRING_ADDR queue %u: desc 0x%llx avail 0x%llx used 0x%llx "
			  "not inside the memory table",
			  dev->name, q, (unsigned long long)r->desc_uva,
			  (unsigned long long)r->avail_uva, (unsigned long long)r->used_uva);
		r->addr_set = false;
		return -EFAULT;
	}
	return vring_update(dev, q);
}

static int h_set_vring_base(struct vhost_dev *dev, const struct vhost_user_msg *msg, int *fds,
			    struct vhost_user_msg *reply)
{
	uint16_t q = (uint16_t)msg->payload.state.index;

	(void)fds, (void)reply;
	vring_stop(dev, q);
	dev->vrings[q].base = (uint16_t)msg->payload.state.num;
	return vring_update(dev, q);
}

/*
 * "stop ring upon receiving VHOST_USER_GET_VRING_BASE" (Ring states): the
 * queue stays stopped until the next SET_VRING_KICK. The reply carries the
 * next avail index we would have processed.
 */
static int h_get_vring_base(struct vhost_dev *dev, const struct vhost_user_msg *msg, int *fds,
			    struct vhost_user_msg *reply)
{
	uint16_t q = (uint16_t)msg->payload.state.index;
	struct vhost_vring *r = &dev->vrings[q];

	(void)fds;
	vring_stop(dev, q);
	r->kick_set = false;
	fd_close(&r->kick_fd);
	reply->payload.state.index = q;
	reply->payload.state.num = r->base;
	reply->hdr.size = sizeof(reply->payload.state);
	return 0;
}

/* SET_VRING_KICK/CALL/ERR: swaps the ring's eventfd ('fds[0]', or none with NOFD). */
static int vring_set_file(struct vhost_dev *dev, const struct vhost_user_msg *msg, int *fds,
			  int which)
{
	uint16_t q = (uint16_t)(msg->payload.u64 & VHOST_USER_VRING_IDX_MASK);
	bool nofd = (msg->payload.u64 & VHOST_USER_VRING_NOFD_MASK) != 0;
	struct vhost_vring *r = &dev->vrings[q];
	int *slot = which == VHOST_USER_SET_VRING_KICK	 ? &r->kick_fd
		    : which == VHOST_USER_SET_VRING_CALL ? &r->call_fd
							 : &r->err_fd;

	if (which != VHOST_USER_SET_VRING_ERR)
		vring_stop(dev, q);
	fd_close(slot);
	if (!nofd) {
		*slot = fds[0];
		fds[0] = -1;
	}
	if (which == VHOST_USER_SET_VRING_KICK)
		r->kick_set = true;
	return vring_update(dev, q);
}

static int h_set_vring_kick(struct vhost_dev *dev, const struct vhost_user_msg *msg, int *fds,
			    struct vhost_user_msg *reply)
{
	(void)reply;
	return vring_set_file(dev, msg, fds, VHOST_USER_SET_VRING_KICK);
}

static int h_set_vring_call(struct vhost_dev *dev, const struct vhost_user_msg *msg, int *fds,
			    struct vhost_user_msg *reply)
{
	(void)reply;
	return vring_set_file(dev, msg, fds, VHOST_USER_SET_VRING_CALL);
}

static int h_set_vring_err(struct vhost_dev *dev, const struct vhost_user_msg *msg, int *fds,
			   struct vhost_user_msg *reply)
{
	(void)reply;
	return vring_set_file(dev, msg, fds, VHOST_USER_SET_VRING_ERR);
}

static int h_set_vring_enable(struct vhost_dev *dev, const struct vhost_user_msg *msg, int *fds,
			      struct vhost_user_msg *reply)
{
	uint16_t q = (uint16_t)msg->payload.state.index;

	(void)fds, (void)reply;
	dev->vrings[q].enabled = msg->payload.state.num != 0;
	if (!dev->vrings[q].enabled)
		vring_stop(dev, q);
	return vring_update(dev, q);
}

/* ---- dispatch ----------------------------------------------------------- */

static const vhost_handler_fn handlers[VHOST_USER_REQUEST_MAX] = {
    [VHOST_USER_GET_FEATURES] = h_get_features,
    [VHOST_USER_SET_FEATURES] = h_set_features,
    [VHOST_USER_SET_OWNER] = h_set_owner,
    [VHOST_USER_RESET_OWNER] = h_reset_owner,
    [VHOST_USER_SET_MEM_TABLE] = h_set_mem_table,
    [VHOST_USER_SET_VRING_NUM] = h_set_vring_num,
    [VHOST_USER_SET_VRING_ADDR] = h_set_vring_addr,
    [VHOST_USER_SET_VRING_BASE] = h_set_vring_base,
    [VHOST_USER_GET_VRING_BASE] = h_get_vring_base,
    [VHOST_USER_SET_VRING_KICK] = h_set_vring_kick,
    [VHOST_USER_SET_VRING_CALL] = h_set_vring_call,
    [VHOST_USER_SET_VRING_ERR] = h_set_vring_err,
    [VHOST_USER_GET_PROTOCOL_FEATURES] = h_get_protocol_features,
    [VHOST_USER_SET_PROTOCOL_FEATURES] = h_set_protocol_features,
    [VHOST_USER_GET_QUEUE_NUM] = h_get_queue_num,
    [VHOST_USER_SET_VRING_ENABLE] = h_set_vring_enable,
    [VHOST_USER_SEND_RARP] = h_send_rarp,
    [VHOST_USER_NET_SET_MTU] = h_net_set_mtu,
    [VHOST_USER_SET_BACKEND_REQ_FD] = h_set_backend_req_fd,
    [VHOST_USER_GET_MAX_MEM_SLOTS] = h_get_max_mem_slots,
    [VHOST_USER_ADD_MEM_REG] = h_add_mem_reg,
    [VHOST_USER_REM_MEM_REG] = h_rem_mem_reg,
    [VHOST_USER_SET_STATUS] = h_set_status,
    [VHOST_USER_GET_STATUS] = h_get_status,
};

static void close_fds(int *fds, unsigned nfds)
{
	for (unsigned i = 0; i < nfds; i++)
		fd_close(&fds[i]);
}

/*
 * The reply for a handled message: a request with its own reply body sends
 * it, or an empty body (size 0) on failure, which QEMU reports as a bad
 * reply size; any other request answers NEED_REPLY (REPLY_ACK) with a u64,
 * 0 on success, the positive errno on failure.
 */
static int dev_reply(const struct vhost_user_msg *msg, int rc, struct vhost_user_msg *reply)
{
	const struct vhost_msg_desc *d = vhost_msg_desc(msg->hdr.request);

	if (!vhost_msg_reply_owed(msg))
		return 0;
	reply->hdr.request = msg->hdr.request;
	reply->hdr.flags = VHOST_USER_VERSION | VHOST_USER_FLAG_REPLY;
	if (d && d->reply) {
		if (rc < 0)
			reply->hdr.size = 0;
	} else {
		reply->payload.u64 = rc < 0 ? (uint64_t)-rc : 0;
		reply->hdr.size = sizeof(uint64_t);
	}
	return 1;
}

static void dev_log_reject(const struct vhost_dev *dev, const struct vhost_user_msg *msg,
			   unsigned nfds, enum vhost_msg_err e)
{
	RS_LOG_RL(RS_LOG_WARN, LOG_MOD,
		  "%s: rejected %s (request %u, flags 0x%x, size %u, %u fds, vring %d): %s",
		  dev->name, vhost_msg_name(msg->hdr.request), msg->hdr.request, msg->hdr.flags,
		  msg->hdr.size, nfds, vhost_msg_vring_index(msg), vhost_msg_strerror(e));
}

int vhost_dev_handle(struct vhost_dev *dev, const struct vhost_user_msg *msg, int *fds,
		     unsigned nfds, struct vhost_user_msg *reply)
{
	struct vhost_msg_ctx ctx = {2u * dev->max_queue_pairs, dev->proto_features};
	enum vhost_msg_err e;
	int rc;

	memset(&reply->hdr, 0, sizeof(reply->hdr));
	reply->payload.u64 = 0;
	if (msg->hdr.size > VHOST_USER_PAYLOAD_MAX) {
		/* The framing layer never hands us this: the stream is corrupt. */
		close_fds(fds, nfds);
		return -EBADMSG;
	}
	if (!dev->connected) {
		dev->connected = true;
		if (dev->ops && dev->ops->conn_state)
			dev->ops->conn_state(dev->opaque, dev, true);
	}
	e = vhost_msg_check(msg, nfds, &ctx);
	if (e == VHOST_MSG_OK && handlers[msg->hdr.request] == NULL)
		e = VHOST_MSG_E_UNKNOWN;
	if (e != VHOST_MSG_OK) {
		dev_log_reject(dev, msg, nfds, e);
		close_fds(fds, nfds);
		return dev_reply(msg, -EINVAL, reply);
	}
	rc = handlers[msg->hdr.request](dev, msg, fds, reply);
	/* CVE-2022-0669 lesson: whatever a handler did not take is closed here. */
	close_fds(fds, nfds);
	return dev_reply(msg, rc, reply);
}

/* ---- lifecycle and accessors -------------------------------------------- */

static uint64_t dev_offered_features(const struct vhost_dev_cfg *cfg)
{
	uint64_t f = cfg->features ? cfg->features : VHOST_DEV_DEFAULT_FEATURES;

	f |= BIT(VHOST_USER_F_PROTOCOL_FEATURES);
	if (cfg->no_offloads)
		f &= ~(uint64_t)VHOST_DEV_OFFLOAD_FEATURES;
	if (cfg->mtu)
		f |= BIT(VIRTIO_NET_F_MTU);
	else
		f &= ~BIT(VIRTIO_NET_F_MTU);
	return f & ~(uint64_t)VHOST_DEV_NEVER;
}

struct vhost_dev *vhost_dev_new(const struct vhost_dev_cfg *cfg, const struct vhost_dev_ops *ops,
				void *opaque)
{
	struct vhost_dev *dev;

	if (cfg == NULL || cfg->max_queue_pairs < 1 ||
	    cfg->max_queue_pairs > VHOST_MAX_QUEUE_PAIRS) {
		errno = EINVAL;
		return NULL;
	}
	dev = calloc(1, sizeof(*dev));
	if (dev == NULL)
		goto fail;
	dev->mem = malloc(sizeof(*dev->mem));
	if (dev->mem == NULL)
		goto fail_dev;
	gmem_init(dev->mem);
	snprintf(dev->name, sizeof(dev->name), "%s", cfg->name ? cfg->name : "vhost");
	dev->ops = ops;
	dev->opaque = opaque;
	dev->max_queue_pairs = cfg->max_queue_pairs;
	dev->cfg_mtu = cfg->mtu;
	dev->offered = dev_offered_features(cfg);
	dev->backend_req_fd = -1;
	for (unsigned q = 0; q < VHOST_MAX_QUEUES; q++)
		vring_init(&dev->vrings[q]);
	return dev;

fail_dev:
	free(dev);
fail:
	errno = ENOMEM;
	return NULL;
}

void vhost_dev_disconnect(struct vhost_dev *dev)
{
	dev_stop_all(dev);
	for (uint16_t q = 0; q < VHOST_MAX_QUEUES; q++)
		vring_forget(&dev->vrings[q]);
	vhost_mem_clear(dev->mem);
	fd_close(&dev->backend_req_fd);
	dev->features = 0;
	dev->proto_features = 0;
	dev->mtu = 0;
	dev->status = 0;
	dev->owner = false;
	if (dev->connected) {
		dev->connected = false;
		if (dev->ops && dev->ops->conn_state)
			dev->ops->conn_state(dev->opaque, dev, false);
	}
}

void vhost_dev_free(struct vhost_dev *dev)
{
	if (dev == NULL)
		return;
	vhost_dev_disconnect(dev);
	free(dev->mem);
	free(dev);
}

const char *vhost_dev_name(const struct vhost_dev *dev)
{
	return dev->name;
}

uint64_t vhost_dev_features(const struct vhost_dev *dev)
{
	return dev->features;
}

uint16_t vhost_dev_nr_queues(const struct vhost_dev *dev)
{
	uint16_t n = 0;

	for (uint16_t q = 0; q < VHOST_MAX_QUEUES; q++) {
		const struct vhost_vring *r = &dev->vrings[q];
		if (r->num || r->addr_set || r->kick_set)
			n = q + 1;
	}
	return (uint16_t)((n + 1) & ~1u);
}

bool vhost_dev_queue_ready(const struct vhost_dev *dev, uint16_t qid)
{
	return qid < VHOST_MAX_QUEUES && dev->vrings[qid].ready;
}

struct vq *vhost_dev_vq(struct vhost_dev *dev, uint16_t qid)
{
	return qid < VHOST_MAX_QUEUES ? &dev->vrings[qid].vq : NULL;
}

int vhost_dev_call_fd(const struct vhost_dev *dev, uint16_t qid)
{
	return qid < VHOST_MAX_QUEUES ? dev->vrings[qid].call_fd : -1;
}

int vhost_dev_kick_fd(const struct vhost_dev *dev, uint16_t qid)
{
	return qid < VHOST_MAX_QUEUES ? dev->vrings[qid].kick_fd : -1;
}
