/*
 * fe.c - the test front-end's lifecycle: configuration defaults, the
 * QEMU-like negotiation (vhost-user.rst "Starting and stopping rings",
 * "Multiple queue support", REPLY_ACK), guest memory and ring bring-up, and
 * teardown with GET_VRING_BASE. The data path lives in fe_net.c.
 */
#include "fe.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* Protocol features the front-end acks when offered. */
#define FE_PROTOCOL_WANTED                                                                         \
	(VIRTIO_BIT(VHOST_USER_PROTOCOL_F_MQ) | VIRTIO_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK) |      \
	 VIRTIO_BIT(VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS))

void fe_init(struct fe *fe, const struct fe_cfg *cfg)
{
	memset(fe, 0, sizeof(*fe));
	fe->cfg = *cfg;
	struct fe_cfg *c = &fe->cfg;
	c->queue_pairs = c->queue_pairs ? c->queue_pairs : 1;
	c->queue_size = c->queue_size ? c->queue_size : 256;
	c->nregions = c->nregions ? c->nregions : 1;
	c->max_frame = c->max_frame ? c->max_frame : 1514;
	c->rx_buf_size = c->rx_buf_size ? c->rx_buf_size : VIRTIO_NET_HDR_LEN_MRG + c->max_frame;
	c->rx_segs = c->rx_segs ? c->rx_segs : 1;
	c->tx_segs = c->tx_segs ? c->tx_segs : 1;
	c->timeout_ms = c->timeout_ms ? c->timeout_ms : 3000;
	fe->sock = -1;
	fe->mem.fd = -1;
	for (unsigned i = 0; i < FE_MAX_QUEUES; i++)
		fe->vq[i].kickfd = fe->vq[i].callfd = -1;
}

static int fe_set_u64(struct fe *fe, uint32_t request, uint64_t v)
{
	return fe_request(fe, request, &v, sizeof(v), NULL, 0);
}

/* GET_PROTOCOL_FEATURES / SET_PROTOCOL_FEATURES, then the queries they enable. */
static int fe_negotiate_protocol(struct fe *fe)
{
	int err = fe_get_u64(fe, VHOST_USER_GET_PROTOCOL_FEATURES, &fe->dev_protocol);
	if (err < 0)
		return err;
	uint64_t p = fe->dev_protocol & (FE_PROTOCOL_WANTED | fe->cfg.protocol_extra) &
		     ~fe->cfg.protocol_off;
	/* Not acked: REPLY_ACK only applies once this message has been processed. */
	err = fe_msg_send(fe, VHOST_USER_SET_PROTOCOL_FEATURES, VHOST_USER_VERSION, &p, sizeof(p),
			  NULL, 0);
	if (err < 0)
		return err;
	fe->protocol = p;
	if (p & VIRTIO_BIT(VHOST_USER_PROTOCOL_F_MQ)) {
		err = fe_get_u64(fe, VHOST_USER_GET_QUEUE_NUM, &fe->dev_queue_num);
		if (err < 0)
			return err;
		if (fe->dev_queue_num < fe->cfg.queue_pairs)
			return fe_fail(fe, -ENOTSUP, "back-end offers %llu queue pairs, want %u",
				       (unsigned long long)fe->dev_queue_num, fe->cfg.queue_pairs);
	}
	if (p & VIRTIO_BIT(VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS)) {
		err = fe_get_u64(fe, VHOST_USER_GET_MAX_MEM_SLOTS, &fe->dev_mem_slots);
		if (err < 0)
			return err;
		if (fe->dev_mem_slots < fe->cfg.nregions)
			return fe_fail(fe, -ENOTSUP, "back-end has %llu memory slots",
				       (unsigned long long)fe->dev_mem_slots);
	}
	return 0;
}

int fe_negotiate(struct fe *fe)
{
	int err = fe_get_u64(fe, VHOST_USER_GET_FEATURES, &fe->dev_features);
	if (err < 0)
		return err;
	err = fe_request(fe, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0);
	if (err < 0)
		return err;
	if (fe->dev_features & VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES)) {
		err = fe_negotiate_protocol(fe);
		if (err < 0)
			return err;
	}
	if (fe->cfg.features_need & ~fe->dev_features)
		return fe_fail(fe, -ENOTSUP, "back-end features 0x%llx lack 0x%llx",
			       (unsigned long long)fe->dev_features,
			       (unsigned long long)(fe->cfg.features_need & ~fe->dev_features));
	if (fe->cfg.queue_pairs > 1 && !(fe->protocol & VIRTIO_BIT(VHOST_USER_PROTOCOL_F_MQ)))
		return fe_fail(fe, -ENOTSUP, "multiqueue wanted but PROTOCOL_F_MQ not offered");
	fe->features = fe->dev_features & (FE_FEATURES_SUPPORTED | fe->cfg.features_extra) &
		       ~fe->cfg.features_off;
	if (fe->cfg.queue_pairs == 1)
		fe->features &= ~VIRTIO_BIT(VIRTIO_NET_F_MQ);
	bool modern =
	    fe->features & (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF));
	fe->hdr_len = modern ? VIRTIO_NET_HDR_LEN_MRG : VIRTIO_NET_HDR_LEN_LEGACY;
	return fe_set_u64(fe, VHOST_USER_SET_FEATURES, fe->features);
}

static uint32_t fe_pow2(uint32_t v)
{
	uint32_t p = 64;
	while (p < v)
		p <<= 1;
	return p;
}

/* Data bytes per head: room for a whole TX frame or one RX chain, with gaps. */
static uint32_t fe_slot_size(const struct fe *fe)
{
	const struct fe_cfg *c = &fe->cfg;
	uint32_t tx = VIRTIO_NET_HDR_LEN_MRG + c->max_frame + FE_SEG_GAP * FE_MAX_SEGS;
	uint32_t rx = c->rx_buf_size + FE_SEG_GAP * FE_MAX_SEGS;
	uint32_t need = tx > rx ? tx : rx;
	if (c->straddle) /* an odd multiple of 64: slot starts drift across region boundaries */
		return (need + 63) / 64 * 64 | 64;
	return fe_pow2(need);
}

static uint64_t fe_mem_needed(const struct fe *fe, uint32_t slot)
{
	uint64_t n = fe->cfg.queue_size;
	uint64_t q = 4096 + virtq_desc_bytes(n) + virtq_avail_bytes(n) + 64 + 4096 +
		     virtq_used_bytes(n) + n * 16 * FE_MAX_SEGS + 2048 + n * slot + slot;
	if (fe->cfg.straddle) /* one region per queue, each queue's data crossing into the next */
		return fe->cfg.nregions * (q + 65536);
	uint64_t slack = fe->cfg.nregions * (n * 16 * FE_MAX_SEGS + 16 * n + 2 * slot + 65536);
	return q * 2 * fe->cfg.queue_pairs + slack;
}

static int fe_send_mem_table(struct fe *fe)
{
	struct vhost_user_mem_table t;
	uint32_t size = fe_mem_table(&fe->mem, &t);
	int fds[FE_MAX_REGIONS];
	for (unsigned i = 0; i < fe->mem.nregions; i++)
		fds[i] = fe->mem.fd;
	return fe_request(fe, VHOST_USER_SET_MEM_TABLE, &t, size, fds, fe->mem.nregions);
}

int fe_vring_addr(struct fe *fe, const struct fe_vq *vq, uint32_t flags, uint64_t log_gpa)
{
	struct vhost_user_vring_addr a = {
	    .index = vq->qid,
	    .flags = flags,
	    .desc_user_addr = (uint64_t)(uintptr_t)vq->desc,
	    .used_user_addr = (uint64_t)(uintptr_t)vq->used,
	    .avail_user_addr = (uint64_t)(uintptr_t)vq->avail,
	    .log_guest_addr = log_gpa,
	};
	return fe_request(fe, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0);
}

/* SET_VRING_NUM, _BASE, _ADDR, _KICK, _CALL for one queue (vhost-user.rst "Starting rings"). */
static int fe_setup_queue(struct fe *fe, struct fe_vq *vq)
{
	struct vhost_user_vring_state st = {.index = vq->qid, .num = vq->num};
	int err = fe_request(fe, VHOST_USER_SET_VRING_NUM, &st, sizeof(st), NULL, 0);
	st.num = 0;
	if (!err)
		err = fe_request(fe, VHOST_USER_SET_VRING_BASE, &st, sizeof(st), NULL, 0);
	if (!err)
		err = fe_vring_addr(fe, vq, 0, 0);
	uint64_t idx = vq->qid;
	if (!err)
		err = fe_request(fe, VHOST_USER_SET_VRING_KICK, &idx, sizeof(idx), &vq->kickfd, 1);
	if (!err)
		err = fe_request(fe, VHOST_USER_SET_VRING_CALL, &idx, sizeof(idx), &vq->callfd, 1);
	return err;
}

static int fe_enable_queue(struct fe *fe, uint16_t qid)
{
	if (!(fe->features & VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES)))
		return 0; /* rings start enabled without protocol features */
	struct vhost_user_vring_state st = {.index = qid, .num = 1};
	return fe_request(fe, VHOST_USER_SET_VRING_ENABLE, &st, sizeof(st), NULL, 0);
}

int fe_setup_rings(struct fe *fe)
{
	uint32_t slot = fe_slot_size(fe);
	if (fe->cfg.straddle && fe->cfg.nregions <= 2u * fe->cfg.queue_pairs)
		return fe_fail(fe, -EINVAL, "straddle needs more regions than queues");
	int err =
	    fe_mem_create(&fe->mem, fe->cfg.mem_size ? fe->cfg.mem_size : fe_mem_needed(fe, slot),
			  fe->cfg.nregions);
	if (err < 0)
		return fe_fail(fe, err, "guest memory: %s", strerror(-err));
	fe->nqueues = (uint16_t)(2 * fe->cfg.queue_pairs);
	bool eidx = fe->features & VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX);
	for (uint16_t q = 0; q < fe->nqueues; q++) {
		err = fe_vq_create(&fe->vq[q], &fe->mem, q, fe->cfg.queue_size, slot, eidx,
				   fe->cfg.straddle);
		if (err < 0)
			return fe_fail(fe, err, "queue %u layout: %s", q, strerror(-err));
		fe->vq[q].in_order = fe->features & VIRTIO_BIT(VIRTIO_F_IN_ORDER);
	}
	err = fe_send_mem_table(fe);
	for (uint16_t q = 0; q < fe->nqueues && !err; q++)
		err = fe_setup_queue(fe, &fe->vq[q]);
	for (uint16_t q = 0; q < fe->nqueues && !err; q++)
		err = fe_enable_queue(fe, q);
	for (unsigned p = 0; p < fe->cfg.queue_pairs && !err && !fe->cfg.rx_manual; p++)
		err = fe_rx_fill(fe, p);
	return err;
}

int fe_setup(struct fe *fe)
{
	int err = fe_negotiate(fe);
	if (err < 0)
		return err;
	return fe_setup_rings(fe);
}

int fe_open(struct fe *fe, const struct fe_cfg *cfg, const char *path)
{
	fe_init(fe, cfg);
	int err = fe_connect(fe, path);
	if (err < 0)
		return err;
	return fe_setup(fe);
}

int fe_stop(struct fe *fe)
{
	int ret = 0;
	for (uint16_t q = 0; q < fe->nqueues && fe->sock >= 0; q++) {
		struct vhost_user_vring_state st = {.index = q, .num = 0};
		int err = fe_msg_send(fe, VHOST_USER_GET_VRING_BASE, VHOST_USER_VERSION, &st,
				      sizeof(st), NULL, 0);
		struct vhost_user_msg m;
		if (!err)
			err = fe_msg_recv(fe, &m, fe->cfg.timeout_ms);
		if (!err && (m.hdr.request != VHOST_USER_GET_VRING_BASE ||
			     m.hdr.size != sizeof(st) || m.payload.state.index != q))
			err = fe_fail(fe, -EPROTO, "bad GET_VRING_BASE reply for queue %u", q);
		if (err < 0) {
			ret = err;
			break;
		}
		fe->vq[q].stop_base = (uint16_t)m.payload.state.num;
	}
	return ret;
}

void fe_close(struct fe *fe)
{
	if (fe->sock >= 0)
		close(fe->sock);
	fe->sock = -1;
	for (unsigned q = 0; q < FE_MAX_QUEUES; q++)
		if (fe->vq[q].dnext || fe->vq[q].kickfd >= 0 || fe->vq[q].callfd >= 0)
			fe_vq_destroy(&fe->vq[q]);
	if (fe->mem.fd >= 0 || fe->mem.nregions)
		fe_mem_destroy(&fe->mem);
}
