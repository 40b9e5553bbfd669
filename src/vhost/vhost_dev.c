/*
 * vhost_dev.c - one vhost-user net device: feature negotiation, the memory
 * table, per-ring configuration, queue readiness (see vhost_dev.h) and the
 * handler table that vhost_dev_handle dispatches through. Owns every fd a
 * front-end gives us (kick/call/err eventfds, the backend request socket,
 * through vhost_mem.c the memory fds) and releases them on reset, disconnect
 * and free. Validation of the wire format is vhost_msg.c's job; handlers see
 * only messages vhost_msg_check accepted.
 *
 * The dispatcher, not the handlers, stops what a message changes and
 * re-evaluates readiness afterwards, from the "stops" column of the message's
 * row in VHOST_MSG_LIST (vhost_msg.h): nothing, the ring it names, or the
 * whole device (ops->queue_state false before, true when usable again).
 *
 * Live migration (vhost-user.rst "Migration"): with VHOST_F_LOG_ALL
 * negotiated and a log from SET_LOG_BASE, every queue set up logs what it
 * writes into guest memory (vq_set_log). A new log replaces the old one with
 * the whole device stopped, so once the reply is sent no forwarding thread
 * can still set a bit in the old one.
 */
#include "vhost_dev.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../lib/log.h"
#include "vhost_mem.h"
#include "vhost_msg.h"

#define LOG_MOD "vhost_dev"

/* GET_MAX_MEM_SLOTS answer: what struct gmem holds. */
#define VHOST_DEV_MAX_MEM_SLOTS GMEM_MAX_REGIONS

#define BIT(b) VIRTIO_BIT(b)

/* Features the ring code cannot honour, never offered whatever cfg says. */
#define VHOST_DEV_NEVER (BIT(VIRTIO_F_RING_PACKED) | BIT(VIRTIO_F_ACCESS_PLATFORM))

/*
 * VIRTIO_F_IN_ORDER (2.7.9): the ring code uses every buffer in the order it
 * was made available (dropped and held chains included; test_vq_net
 * test_in_order), so the promise costs nothing, and a front-end that acks it
 * (DPDK's virtio-user does) runs its cheaper in-order paths. VHOST_F_LOG_ALL
 * with the protocol feature LOG_SHMFD lets QEMU migrate the guest ("Migration
 * disabled: vhost lacks VHOST_F_LOG_ALL feature" otherwise); GUEST_ANNOUNCE
 * (which needs CTRL_VQ) lets the guest announce itself after a migration, and
 * RARP makes QEMU ask us to announce one that cannot (SEND_RARP).
 */
#define VHOST_DEV_DEFAULT_FEATURES                                                                 \
	(BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_F_IN_ORDER) | BIT(VIRTIO_NET_F_MRG_RXBUF) |          \
	 BIT(VIRTIO_RING_F_INDIRECT_DESC) | BIT(VIRTIO_RING_F_EVENT_IDX) | BIT(VIRTIO_NET_F_MQ) |  \
	 BIT(VIRTIO_NET_F_CTRL_VQ) | BIT(VIRTIO_NET_F_GUEST_ANNOUNCE) | BIT(VIRTIO_NET_F_STATUS) | \
	 BIT(VHOST_F_LOG_ALL) | VHOST_DEV_OFFLOAD_FEATURES)

#define VHOST_DEV_PROTOCOL_FEATURES                                                                \
	(BIT(VHOST_USER_PROTOCOL_F_MQ) | BIT(VHOST_USER_PROTOCOL_F_LOG_SHMFD) |                    \
	 BIT(VHOST_USER_PROTOCOL_F_RARP) | BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK) |                  \
	 BIT(VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS) | BIT(VHOST_USER_PROTOCOL_F_NET_MTU) |     \
	 BIT(VHOST_USER_PROTOCOL_F_BACKEND_REQ) | BIT(VHOST_USER_PROTOCOL_F_STATUS))

/* One virtqueue's configuration as the front-end set it. */
struct vhost_vring {
	struct vq vq;	   /* set up while 'ready' */
	uint64_t desc_uva; /* SET_VRING_ADDR, front-end virtual addresses */
	uint64_t avail_uva;
	uint64_t used_uva;
	uint64_t log_gpa; /* SET_VRING_ADDR log_guest_addr, with log_used */
	bool log_used;	  /* VHOST_VRING_F_LOG: log used-ring writes at log_gpa */
	uint32_t num;	  /* SET_VRING_NUM; 0 = not set */
	uint16_t base;	  /* next avail index when (re)started */
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
	uint64_t offered;	    /* GET_FEATURES */
	uint64_t features;	    /* SET_FEATURES */
	uint64_t proto_features;    /* SET_PROTOCOL_FEATURES */
	uint16_t mtu;		    /* NET_SET_MTU, 0 = none */
	uint8_t status;		    /* SET_STATUS */
	bool owner;		    /* SET_OWNER seen */
	bool connected;		    /* conn_state(true) reported */
	int backend_req_fd;	    /* SET_BACKEND_REQ_FD, -1 = none */
	struct gmem *mem;	    /* current table; read by forwarding threads */
	struct vq_log log;	    /* SET_LOG_BASE's bitmap; read by forwarding threads */
	struct gmem_region log_map; /* its mapping and fd (fd -1 when none) */
	struct vhost_vring vrings[VHOST_MAX_QUEUES];
};

/* What a handler works on: one message that vhost_msg_check accepted. */
struct vhost_req {
	struct vhost_dev *dev;
	const struct vhost_user_msg *msg;
	int *fds;			    /* a handler that keeps fds[i] sets it to -1 */
	struct vhost_user_msg *reply;	    /* the reply body of requests that have one */
	uint16_t q;			    /* the vring the message names (0 when none) */
	union {				    /* what the row's preparation made, for its handler */
		struct gmem *table;	    /* SET_MEM_TABLE: the new table, mapped */
		struct gmem_region log_map; /* SET_LOG_BASE: the new log, mapped */
	} prep;
};

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
	if ((dev->features & BIT(VHOST_F_LOG_ALL)) && dev->log.bits != NULL)
		vq_set_log(&r->vq, &dev->log, r->log_used, r->log_gpa);
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

/* Replies with a u64 ('reply' body of GET_* requests). */
static int req_reply_u64(struct vhost_req *rq, uint64_t v)
{
	rq->reply->payload.u64 = v;
	rq->reply->hdr.size = sizeof(uint64_t);
	return 0;
}

static int h_get_features(struct vhost_req *rq)
{
	return req_reply_u64(rq, rq->dev->offered);
}

/* Header length, event index, enable rules and logging may change: the device is stopped. */
static int h_set_features(struct vhost_req *rq)
{
	struct vhost_dev *dev = rq->dev;
	uint64_t f = rq->msg->payload.u64;

	if (f & ~dev->offered) {
		RS_LOG_RL(RS_LOG_WARN, LOG_MOD,
			  "%s: SET_FEATURES 0x%llx has bits not offered 0x%llx", dev->name,
			  (unsigned long long)f, (unsigned long long)(f & ~dev->offered));
		return -EINVAL;
	}
	if (f == dev->features)
		return 0;
	if ((f ^ dev->features) & BIT(VHOST_F_LOG_ALL))
		RS_LOG_RL(RS_LOG_INFO, LOG_MOD, "%s: dirty page logging %s", dev->name,
			  (f & BIT(VHOST_F_LOG_ALL)) ? "on (migration started)" : "off");
	if ((f & ~BIT(VHOST_F_LOG_ALL)) != (dev->features & ~BIT(VHOST_F_LOG_ALL)))
		RS_LOG_RL(RS_LOG_INFO, LOG_MOD, "%s: front-end acked features 0x%llx:%s%s%s%s%s%s",
			  dev->name, (unsigned long long)f,
			  f & BIT(VIRTIO_F_VERSION_1) ? " version_1" : "",
			  f & BIT(VIRTIO_F_IN_ORDER) ? " in_order" : "",
			  f & BIT(VIRTIO_NET_F_MRG_RXBUF) ? " mrg_rxbuf" : "",
			  f & BIT(VIRTIO_RING_F_EVENT_IDX) ? " event_idx" : "",
			  f & BIT(VIRTIO_RING_F_INDIRECT_DESC) ? " indirect_desc" : "",
			  f & VHOST_DEV_OFFLOAD_FEATURES ? " offloads" : "");
	dev->features = f;
	return 0;
}

static int h_get_protocol_features(struct vhost_req *rq)
{
	return req_reply_u64(rq, VHOST_DEV_PROTOCOL_FEATURES);
}

static int h_set_protocol_features(struct vhost_req *rq)
{
	uint64_t f = rq->msg->payload.u64;

	if (f & ~(uint64_t)VHOST_DEV_PROTOCOL_FEATURES) {
		RS_LOG_RL(RS_LOG_WARN, LOG_MOD, "%s: SET_PROTOCOL_FEATURES 0x%llx not offered",
			  rq->dev->name, (unsigned long long)f);
		return -EINVAL;
	}
	rq->dev->proto_features = f;
	return 0;
}

static int h_set_owner(struct vhost_req *rq)
{
	rq->dev->owner = true;
	return 0;
}

/*
 * RESET_OWNER is deprecated; the spec recommends back-ends "either ignore this
 * message, or use it to disable all rings". We disable (forget) all rings and
 * keep memory and negotiated features.
 */
static int h_reset_owner(struct vhost_req *rq)
{
	for (uint16_t q = 0; q < VHOST_MAX_QUEUES; q++)
		vring_forget(&rq->dev->vrings[q]);
	return 0;
}

static int h_get_queue_num(struct vhost_req *rq)
{
	return req_reply_u64(rq, rq->dev->max_queue_pairs);
}

static int h_get_max_mem_slots(struct vhost_req *rq)
{
	return req_reply_u64(rq, VHOST_DEV_MAX_MEM_SLOTS);
}

static int h_net_set_mtu(struct vhost_req *rq)
{
	struct vhost_dev *dev = rq->dev;
	uint64_t mtu = rq->msg->payload.u64;

	/* "the back-end must respond with zero in case the specified MTU is valid" */
	if (dev->cfg_mtu && mtu > dev->cfg_mtu) {
		RS_LOG_RL(RS_LOG_WARN, LOG_MOD, "%s: NET_SET_MTU %llu above the port's %u",
			  dev->name, (unsigned long long)mtu, dev->cfg_mtu);
		return -EINVAL;
	}
	dev->mtu = (uint16_t)mtu;
	return 0;
}

static int h_set_backend_req_fd(struct vhost_req *rq)
{
	fd_close(&rq->dev->backend_req_fd);
	rq->dev->backend_req_fd = rq->fds[0];
	rq->fds[0] = -1;
	return 0;
}

/*
 * "Ask vhost user back-end to broadcast a fake RARP to notify the migration is
 * terminated for guest that does not support GUEST_ANNOUNCE": the first six
 * bytes of the payload are the guest's MAC. The port builds and injects the
 * frame (ops->announce).
 */
static int h_send_rarp(struct vhost_req *rq)
{
	struct vhost_dev *dev = rq->dev;
	uint8_t mac[6];

	memcpy(mac, &rq->msg->payload.u64, sizeof(mac));
	RS_LOG_RL(RS_LOG_INFO, LOG_MOD,
		  "%s: SEND_RARP %02x:%02x:%02x:%02x:%02x:%02x: announcing the guest", dev->name,
		  mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	if (dev->ops && dev->ops->announce)
		dev->ops->announce(dev->opaque, dev, mac);
	return 0;
}

static int h_set_status(struct vhost_req *rq)
{
	/* QEMU 7.2 sends SET_STATUS(0) before GET_VRING_BASE: ring state is kept
	 * until GET_VRING_BASE stops each ring. */
	rq->dev->status = (uint8_t)rq->msg->payload.u64;
	return 0;
}

static int h_get_status(struct vhost_req *rq)
{
	return req_reply_u64(rq, rq->dev->status);
}

/* ---- dirty log ---------------------------------------------------------- */

/* Unmaps the log; the device's queues must be stopped. */
static void dev_log_clear(struct vhost_dev *dev)
{
	vhost_mem_unmap_region(&dev->log_map);
	dev->log.bits = NULL;
	dev->log.size = 0;
}

/* The bytes of log a memory table needs: one bit per 4 KiB page up to its end. */
static uint64_t dev_log_need(const struct gmem *m)
{
	uint64_t end = 0;

	for (uint32_t i = 0; i < m->nregions; i++)
		end = RS_MAX(end, m->regions[i].gpa + m->regions[i].size);
	return (end + (8ull << VQ_LOG_PAGE_SHIFT) - 1) >> (VQ_LOG_PAGE_SHIFT + 3);
}

/*
 * SET_LOG_BASE's preparation: maps the new log, checked against the fd's real
 * size, before anything stops; a refused log changes nothing. The refusal is
 * answered like a success (QEMU 7.2 reads only the reply's header) and not
 * by closing the connection: 7.2 aborts the whole VM when logging cannot be
 * started (vhost_log_global_start). So it is logged as an error: a guest
 * migrated now may miss the pages written from here on.
 */
static int p_map_log(struct vhost_req *rq)
{
	const struct vhost_user_log *l = &rq->msg->payload.log;
	int rc = vhost_mem_map_log(l, rq->fds[0], &rq->prep.log_map);

	if (rc < 0) {
		RS_LOG_RL(RS_LOG_ERR, LOG_MOD,
			  "%s: SET_LOG_BASE (size 0x%llx offset 0x%llx) refused: %s; pages written "
			  "from now on are not logged for a migration",
			  rq->dev->name, (unsigned long long)l->mmap_size,
			  (unsigned long long)l->mmap_offset, vhost_mem_strerror(rc));
		return rc;
	}
	rq->fds[0] = -1;
	return 0;
}

/*
 * The device is stopped: the new log replaces the old one, which no
 * forwarding thread can still write, and is unmapped. A log smaller than the
 * memory table is taken, with a warning: pages past its end are counted
 * (log_outside) and logged by the port when written.
 */
static int h_set_log_base(struct vhost_req *rq)
{
	struct vhost_dev *dev = rq->dev;

	dev_log_clear(dev);
	dev->log_map = rq->prep.log_map;
	dev->log.bits = dev->log_map.host;
	dev->log.size = dev->log_map.size;
	if (dev_log_need(dev->mem) > dev->log.size)
		RS_LOG_RL(RS_LOG_WARN, LOG_MOD,
			  "%s: SET_LOG_BASE: log of %llu bytes is smaller than the memory table "
			  "needs (%llu): writes past it cannot be logged",
			  dev->name, (unsigned long long)dev->log.size,
			  (unsigned long long)dev_log_need(dev->mem));
	return 0;
}

/* SET_LOG_FD: "the back-end may use this ... to signal" the log was written; unused. */
static int h_set_log_fd(struct vhost_req *rq)
{
	(void)rq; /* the dispatcher closes the fd */
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
 * SET_MEM_TABLE's preparation: the new table is mapped completely before
 * anything stops, so a bad region leaves the device exactly as it was.
 */
static int p_map_table(struct vhost_req *rq)
{
	struct gmem *m = malloc(sizeof(*m));
	unsigned bad;
	int rc;

	if (m == NULL)
		return -ENOMEM;
	gmem_init(m);
	rc = vhost_mem_load_table(m, &rq->msg->payload.mem, rq->fds, &bad);
	if (rc < 0) {
		log_region_error(rq->dev, "SET_MEM_TABLE", bad, &rq->msg->payload.mem.regions[bad],
				 rc);
		free(m);
		return rc;
	}
	rq->prep.table = m;
	return 0;
}

/* The device is stopped: swap the tables, unmap the old one. */
static int h_set_mem_table(struct vhost_req *rq)
{
	struct gmem *old = rq->dev->mem;

	rq->dev->mem = rq->prep.table;
	vhost_mem_clear(old);
	free(old);
	return 0;
}

/* gmem_add shifts entries forwarding threads read: the device is stopped. */
static int h_add_mem_reg(struct vhost_req *rq)
{
	const struct vhost_user_mem_region *r = &rq->msg->payload.mem_reg.region;
	int rc = vhost_mem_add(rq->dev->mem, r, &rq->fds[0]);

	if (rc < 0)
		log_region_error(rq->dev, "ADD_MEM_REG", 0, r, rc);
	return rc;
}

/* Rings inside the removed region no longer translate and stay stopped. */
static int h_rem_mem_reg(struct vhost_req *rq)
{
	const struct vhost_user_mem_region *r = &rq->msg->payload.mem_reg.region;
	int rc = vhost_mem_remove(rq->dev->mem, r);

	if (rc < 0)
		log_region_error(rq->dev, "REM_MEM_REG", 0, r, rc);
	return rc;
}

/* ---- per-ring handlers (the ring is stopped, and restarted after) -------- */

static int h_set_vring_num(struct vhost_req *rq)
{
	rq->dev->vrings[rq->q].num = rq->msg->payload.state.num;
	return 0;
}

static int h_set_vring_addr(struct vhost_req *rq)
{
	struct vhost_dev *dev = rq->dev;
	const struct vhost_user_vring_addr *a = &rq->msg->payload.addr;
	struct vhost_vring *r = &dev->vrings[rq->q];
	void *desc, *avail, *used;

	r->desc_uva = a->desc_user_addr;
	r->avail_uva = a->avail_user_addr;
	r->used_uva = a->used_user_addr;
	/* "VHOST_VRING_F_LOG ... log_guest_addr": may lie outside the memory table. */
	r->log_used = (a->flags & (1u << VHOST_VRING_F_LOG)) != 0;
	r->log_gpa = a->log_guest_addr;
	r->addr_set = true;
	/* Without a table or size yet, translation waits for them (vring_update). */
	if (dev->mem->nregions > 0 && r->num && vring_translate(dev, r, &desc, &avail, &used) < 0) {
		RS_LOG_RL(RS_LOG_WARN, LOG_MOD,
			  "%s: SET_VRING_ADDR queue %u: desc 0x%llx avail 0x%llx used 0x%llx "
			  "not inside the memory table",
			  dev->name, rq->q, (unsigned long long)r->desc_uva,
			  (unsigned long long)r->avail_uva, (unsigned long long)r->used_uva);
		r->addr_set = false;
		return -EFAULT;
	}
	return 0;
}

static int h_set_vring_base(struct vhost_req *rq)
{
	rq->dev->vrings[rq->q].base = (uint16_t)rq->msg->payload.state.num;
	return 0;
}

/*
 * "stop ring upon receiving VHOST_USER_GET_VRING_BASE" (Ring states): the
 * queue stays stopped until the next SET_VRING_KICK, so after this reply
 * nothing more is written into the guest through it (no frame, no used entry,
 * no log bit). The reply carries the next avail index we would have
 * processed; the destination of a migration starts there (SET_VRING_BASE).
 */
static int h_get_vring_base(struct vhost_req *rq)
{
	struct vhost_vring *r = &rq->dev->vrings[rq->q];

	r->kick_set = false;
	fd_close(&r->kick_fd);
	rq->reply->payload.state.index = rq->q;
	rq->reply->payload.state.num = r->base;
	rq->reply->hdr.size = sizeof(rq->reply->payload.state);
	return 0;
}

/* SET_VRING_KICK/CALL/ERR: swaps the ring's eventfd ('fds[0]', or none with NOFD). */
static int vring_set_file(struct vhost_req *rq, int *slot)
{
	fd_close(slot);
	if (!(rq->msg->payload.u64 & VHOST_USER_VRING_NOFD_MASK)) {
		*slot = rq->fds[0];
		rq->fds[0] = -1;
	}
	return 0;
}

static int h_set_vring_kick(struct vhost_req *rq)
{
	rq->dev->vrings[rq->q].kick_set = true;
	return vring_set_file(rq, &rq->dev->vrings[rq->q].kick_fd);
}

static int h_set_vring_call(struct vhost_req *rq)
{
	return vring_set_file(rq, &rq->dev->vrings[rq->q].call_fd);
}

static int h_set_vring_err(struct vhost_req *rq)
{
	return vring_set_file(rq, &rq->dev->vrings[rq->q].err_fd);
}

static int h_set_vring_enable(struct vhost_req *rq)
{
	rq->dev->vrings[rq->q].enabled = rq->msg->payload.state.num != 0;
	return 0;
}

/* ---- dispatch ----------------------------------------------------------- */

/* Rows without a preparation. */
static int p_none(struct vhost_req *rq)
{
	(void)rq;
	return 0;
}

/*
 * The handler table, generated from VHOST_MSG_LIST: row FOO's preparation is
 * p_<third column> and its handler h_<second column>.
 */
struct vhost_dev_row {
	int (*prepare)(struct vhost_req *rq);
	int (*handle)(struct vhost_req *rq);
};
#define VHOST_DEV_ROW(req, fn, prep, ...) [VHOST_USER_##req] = {p_##prep, h_##fn},
static const struct vhost_dev_row rows[VHOST_USER_REQUEST_MAX] = {VHOST_MSG_LIST(VHOST_DEV_ROW)};
#undef VHOST_DEV_ROW

static void close_fds(int *fds, unsigned nfds)
{
	for (unsigned i = 0; i < nfds; i++)
		fd_close(&fds[i]);
}

/* Before the handler: stops what the message's row says it changes. */
static void dev_stop_for(struct vhost_dev *dev, const struct vhost_msg_desc *d, uint16_t q)
{
	if (d->stops == VHOST_MSG_STOP_DEVICE)
		dev_stop_all(dev);
	else if (d->stops == VHOST_MSG_STOP_RING)
		vring_stop(dev, q);
}

/* After the handler: restarts what is usable again; the ring's error, or 0. */
static int dev_restart_for(struct vhost_dev *dev, const struct vhost_msg_desc *d, uint16_t q)
{
	if (d->stops == VHOST_MSG_STOP_DEVICE)
		dev_update_all(dev);
	else if (d->stops == VHOST_MSG_STOP_RING)
		return vring_update(dev, q);
	return 0;
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
	if (e != VHOST_MSG_OK) {
		dev_log_reject(dev, msg, nfds, e);
		close_fds(fds, nfds);
		return dev_reply(msg, -EINVAL, reply);
	}
	const struct vhost_msg_desc *d = vhost_msg_desc(msg->hdr.request);
	int idx = vhost_msg_vring_index(msg);
	struct vhost_req rq = {
	    .dev = dev, .msg = msg, .fds = fds, .reply = reply, .q = idx < 0 ? 0 : (uint16_t)idx};

	const struct vhost_dev_row *row = &rows[msg->hdr.request];
	int rc = row->prepare(&rq);
	if (rc == 0) {
		dev_stop_for(dev, d, rq.q);
		rc = row->handle(&rq);
		int re = dev_restart_for(dev, d, rq.q);
		if (rc == 0)
			rc = re;
	}
	/* CVE-2022-0669 lesson: whatever a handler did not take is closed here. */
	close_fds(fds, nfds);
	return dev_reply(msg, rc, reply);
}

/*
 * The queue broke (vq_mark_broken): "VHOST_USER_SET_VRING_ERR ... used to
 * signal an error condition". Forwarding thread of the queue; the err fd
 * only changes while the queue is stopped.
 */
void vhost_dev_signal_err(const struct vhost_dev *dev, uint16_t qid)
{
	if (qid < VHOST_MAX_QUEUES && dev->vrings[qid].err_fd >= 0)
		(void)eventfd_write(dev->vrings[qid].err_fd, 1);
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
	dev->log_map.fd = -1;
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
	dev_log_clear(dev);
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
