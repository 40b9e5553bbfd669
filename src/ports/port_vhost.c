/*
 * port_vhost.c - vhost-user ports, server (we listen, QEMU connects with
 * reconnect=1) and client (QEMU listens with server=on; we connect and keep
 * reconnecting): a vhost_dev for the protocol and the rings, a vhost_sock for
 * the socket, and the mapping between the two naming schemes.
 *
 * Queue names: vhost queue 2k is the guest's RX queue k, which the switch
 * fills: port TX queue k. Vhost queue 2k+1 is the guest's TX queue k, which
 * the switch drains: port RX queue k.
 *
 * Contexts: open, close, pollfds, handle and timeout_ms run on the control
 * thread, and so do the vhost_dev callbacks (they come from vhost_sock_handle
 * and vhost_sock_close), which we forward to p->events. The bursts and rxq_*
 * run on the forwarding thread that owns the queue, only while the queue is
 * ready: vhost_dev calls queue_state(false) before it changes anything the
 * queue uses, and p->events.queue_state returns only once no forwarding
 * thread is inside the queue. Statistics live in the vq (vq_stats) and
 * survive disconnects, so a vhost-user-client port whose QEMU restarts keeps
 * its counters.
 *
 * Fast path: one vq burst per VQ_BURST_MAX frames, and at most one eventfd
 * write per port burst, made only when the guest asked for it
 * (vq_guest_wants_interrupt: EVENT_IDX used_event, else NO_INTERRUPT).
 */
#include "port.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#include "../lib/compiler.h"
#include "../lib/log.h"
#include "../net/pkt_rarp.h"
#include "../vhost/vhost_dev.h"
#include "../vhost/vhost_sock.h"

#define LOG_MOD "port_vhost"

_Static_assert(PORT_MAX_QUEUES <= VHOST_MAX_QUEUE_PAIRS, "port queues must fit a vhost device");
_Static_assert(PORT_MAX_QUEUES <= 32, "ready masks are 32 bits");

struct port_vhost {
	struct port *p;
	struct vhost_dev *dev;
	struct vhost_sock *sock;
	/*
	 * Bit k: queue k of that direction is ready. Written by the control
	 * thread (queue_state), read by anyone (nr_queues).
	 */
	uint32_t ready_mask[2];
	/*
	 * The queue's broken state has been logged. Written by the forwarding
	 * thread that owns the vhost queue; cleared by the control thread in
	 * queue_state(true), when no forwarding thread can be inside the queue.
	 */
	bool broken_logged[VHOST_MAX_QUEUES];
	/*
	 * A RARP announcement to inject (SEND_RARP after a live migration): 0 for
	 * none, else PV_RARP_PENDING | the MAC in the low 48 bits. Set by the
	 * control thread, taken (exchanged for 0) by the thread that owns rx
	 * queue 0; one word, so the MAC is never read half-written.
	 */
	uint64_t rarp;
	uint64_t announces; /* RARP frames injected; written by rx queue 0's thread */
	bool connected;	    /* a front-end is connected (conn_state); control thread */
	/* Dirty-log pages lost (vq_stats.log_outside) as last logged; owned as broken_logged. */
	uint64_t log_outside_seen[VHOST_MAX_QUEUES];
};

#define PV_RARP_PENDING (1ull << 63)

static inline uint16_t pv_rx_qid(uint16_t q)
{
	return (uint16_t)(2u * q + 1u); /* the guest's TX queue */
}

static inline uint16_t pv_tx_qid(uint16_t q)
{
	return (uint16_t)(2u * q); /* the guest's RX queue */
}

/* ---- vhost_dev callbacks (control thread) -------------------------------- */

/* PORT_OL_* from negotiated virtio features: 'host' bits for rx, 'guest' bits for tx. */
static uint32_t pv_ol_caps(uint64_t f, bool guest)
{
	uint32_t ol = 0;
#define PV_OL(bit, flag)                                                                           \
	do {                                                                                       \
		if (f & VIRTIO_BIT(bit))                                                           \
			ol |= (flag);                                                              \
	} while (0)
	if (guest) {
		PV_OL(VIRTIO_NET_F_GUEST_CSUM, PORT_OL_CSUM);
		PV_OL(VIRTIO_NET_F_GUEST_TSO4, PORT_OL_TSO4);
		PV_OL(VIRTIO_NET_F_GUEST_TSO6, PORT_OL_TSO6);
		PV_OL(VIRTIO_NET_F_GUEST_ECN, PORT_OL_ECN);
		if ((f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_USO4)) &&
		    (f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_USO6)))
			ol |= PORT_OL_USO;
	} else {
		PV_OL(VIRTIO_NET_F_CSUM, PORT_OL_CSUM);
		PV_OL(VIRTIO_NET_F_HOST_TSO4, PORT_OL_TSO4);
		PV_OL(VIRTIO_NET_F_HOST_TSO6, PORT_OL_TSO6);
		PV_OL(VIRTIO_NET_F_HOST_ECN, PORT_OL_ECN);
		PV_OL(VIRTIO_NET_F_HOST_USO, PORT_OL_USO);
	}
#undef PV_OL
	/* 5.1.3.1: every GSO feature requires the matching checksum feature. */
	return (ol & PORT_OL_CSUM) ? ol : 0;
}

static void pv_queue_state(void *opaque, struct vhost_dev *dev, uint16_t qid, bool ready)
{
	struct port_vhost *pv = opaque;
	struct port *p = pv->p;
	enum port_dir dir = (qid & 1) ? PORT_RX : PORT_TX;
	uint16_t k = qid / 2;
	uint32_t bit = 1u << k;

	/* Features are fixed while any queue runs (SET_FEATURES stops them first). */
	p->ol_rx = pv_ol_caps(vhost_dev_features(dev), false);
	p->ol_tx = pv_ol_caps(vhost_dev_features(dev), true);
	/* vhost_msg bounds qid by the pairs we offered (cfg.queues): cannot trigger. */
	if (k >= p->cfg.queues)
		return;
	if (ready) {
		/* The queue is stopped: nobody else touches broken_logged now. */
		pv->broken_logged[qid] = false;
		__atomic_fetch_or(&pv->ready_mask[dir], bit, __ATOMIC_RELEASE);
	} else {
		__atomic_fetch_and(&pv->ready_mask[dir], ~bit, __ATOMIC_RELEASE);
	}
	RS_LOG(RS_LOG_DEBUG, LOG_MOD, "%s: %s queue %u %s", p->name, dir == PORT_RX ? "rx" : "tx",
	       k, ready ? "ready" : "stopped");
	if (p->events.queue_state)
		p->events.queue_state(p->events_opaque, p, dir, k, ready);
}

static void pv_conn_state(void *opaque, struct vhost_dev *dev, bool up)
{
	struct port_vhost *pv = opaque;
	struct port *p = pv->p;

	(void)dev;
	pv->connected = up;
	if (p->events.link_state)
		p->events.link_state(p->events_opaque, p, up);
}

/*
 * SEND_RARP: the guest moved here and cannot announce itself. The frame is
 * injected into the switch by rx queue 0's thread as if the guest had sent it
 * (pv_rx_burst), so the MAC table, and every switch behind a flood, moves
 * the MAC to this port. A kick on that queue wakes its thread if it sleeps.
 */
static void pv_announce(void *opaque, struct vhost_dev *dev, const uint8_t mac[6])
{
	struct port_vhost *pv = opaque;
	uint64_t v = PV_RARP_PENDING;

	for (unsigned i = 0; i < 6; i++)
		v |= (uint64_t)mac[i] << (8 * i);
	__atomic_store_n(&pv->rarp, v, __ATOMIC_RELEASE);
	int kick = vhost_dev_kick_fd(dev, pv_rx_qid(0));
	if (kick >= 0)
		(void)eventfd_write(kick, 1);
}

static const struct vhost_dev_ops pv_dev_ops = {
    .queue_state = pv_queue_state,
    .conn_state = pv_conn_state,
    .announce = pv_announce,
};

/* ---- control thread ------------------------------------------------------ */

static int pv_check_cfg(const struct port *p)
{
	const struct port_cfg *c = &p->cfg;

	if (c->type != PORT_VHOST_SERVER && c->type != PORT_VHOST_CLIENT)
		return -EINVAL;
	if (c->queues < 1 || c->queues > PORT_MAX_QUEUES)
		return -EINVAL;
	if (memchr(c->path, '\0', sizeof(c->path)) == NULL)
		return -ENAMETOOLONG;
	if (c->path[0] == '\0')
		return -EINVAL;
	return 0;
}

static int pv_open(struct port *p)
{
	struct port_vhost *pv;
	int rc = pv_check_cfg(p);

	if (rc < 0)
		return rc;
	pv = calloc(1, sizeof(*pv));
	if (pv == NULL)
		return -ENOMEM;
	pv->p = p;
	struct vhost_dev_cfg dcfg = {
	    .name = p->name,
	    .max_queue_pairs = p->cfg.queues,
	    .mtu = p->cfg.mtu,
	    .no_offloads = p->cfg.no_offloads,
	};
	pv->dev = vhost_dev_new(&dcfg, &pv_dev_ops, pv);
	if (pv->dev == NULL) {
		rc = -errno;
		goto fail_free;
	}
	struct vhost_sock_cfg scfg = {
	    .path = p->cfg.path,
	    .mode = p->cfg.type == PORT_VHOST_CLIENT ? VHOST_SOCK_CLIENT : VHOST_SOCK_SERVER,
	    .perm = p->cfg.perm,
	    .owner = p->cfg.owner,
	    .group = p->cfg.group,
	    .reconnect_min_ms = p->cfg.reconnect_ms,
	};
	/* No callback can run before vhost_sock_handle: priv is set in time. */
	p->priv = pv;
	pv->sock = vhost_sock_open(&scfg, pv->dev);
	if (pv->sock == NULL) {
		rc = -errno;
		goto fail_dev;
	}
	return 0;

fail_dev:
	p->priv = NULL;
	vhost_dev_free(pv->dev);
fail_free:
	free(pv);
	return rc < 0 ? rc : -EIO;
}

static void pv_close(struct port *p)
{
	struct port_vhost *pv = p->priv;

	if (pv == NULL)
		return;
	/* Disconnects: every ready queue is stopped through queue_state(false) first. */
	vhost_sock_close(pv->sock);
	vhost_dev_free(pv->dev);
	free(pv);
	p->priv = NULL;
}

static unsigned pv_pollfds(struct port *p, struct pollfd *pfd, unsigned max)
{
	struct port_vhost *pv = p->priv;

	return vhost_sock_pollfds(pv->sock, pfd, max);
}

static void pv_handle(struct port *p, const struct pollfd *pfd, unsigned n, uint64_t now_ms)
{
	struct port_vhost *pv = p->priv;

	vhost_sock_handle(pv->sock, pfd, n, now_ms);
}

static int pv_timeout_ms(struct port *p, uint64_t now_ms)
{
	struct port_vhost *pv = p->priv;

	return vhost_sock_timeout_ms(pv->sock, now_ms);
}

/* ---- datapath ------------------------------------------------------------ */

/* Logs a broken queue once per break (the vq layer has counted it). */
static void pv_broken(struct port_vhost *pv, uint16_t qid, const struct vq *vq)
{
	if (pv->broken_logged[qid])
		return;
	pv->broken_logged[qid] = true;
	RS_LOG_RL(RS_LOG_WARN, LOG_MOD,
		  "%s: %s queue %u broken by the guest (%s): stopped until the front-end resets it",
		  pv->p->name, (qid & 1) ? "rx" : "tx", qid / 2, vq_broken_reason_name(vq->broken));
	vhost_dev_signal_err(pv->dev, qid);
}

/* While migrating: says loudly when written pages fell outside the front-end's log. */
static void pv_log_check(struct port_vhost *pv, uint16_t qid, const struct vq *vq)
{
	uint64_t lost = rs_stat_get(&vq->stats.log_outside);

	if (RS_LIKELY(lost == pv->log_outside_seen[qid]))
		return;
	RS_LOG_RL(RS_LOG_ERR, LOG_MOD,
		  "%s: %s queue %u: %llu written pages outside the migration's dirty log: the "
		  "front-end's log is too small, the migrated guest may miss them",
		  pv->p->name, (qid & 1) ? "rx" : "tx", qid / 2,
		  (unsigned long long)(lost - pv->log_outside_seen[qid]));
	pv->log_outside_seen[qid] = lost;
}

/* Takes a pending SEND_RARP announcement as a frame from the guest (rx queue 0 only). */
static unsigned pv_rarp_take(struct port_vhost *pv, struct pbuf_pool *pool, struct pbuf **pkts)
{
	uint64_t v = __atomic_exchange_n(&pv->rarp, 0, __ATOMIC_ACQUIRE);
	uint8_t mac[6];

	if (!(v & PV_RARP_PENDING))
		return 0;
	struct pbuf *p = pbuf_alloc_len(pool, PKT_RARP_LEN);
	if (p == NULL) { /* try again next burst */
		__atomic_store_n(&pv->rarp, v, __ATOMIC_RELAXED);
		return 0;
	}
	for (unsigned i = 0; i < 6; i++)
		mac[i] = (uint8_t)(v >> (8 * i));
	pkt_rarp_build(p->data, mac);
	p->len = PKT_RARP_LEN;
	pkts[0] = p;
	rs_stat_add(&pv->announces, 1);
	return 1;
}

/* After a burst that published used entries: one eventfd write, if the guest wants it. */
static void pv_signal(struct port_vhost *pv, uint16_t qid, struct vq *vq)
{
	int fd = vhost_dev_call_fd(pv->dev, qid);

	if (fd >= 0 && vq_guest_wants_interrupt(vq))
		(void)eventfd_write(fd, 1);
}

static int pv_rx_burst(struct port *p, uint16_t q, struct pbuf_pool *pool, struct pbuf **pkts,
		       unsigned max)
{
	struct port_vhost *pv = p->priv;
	uint16_t qid = pv_rx_qid(q);
	struct vq *vq = vhost_dev_vq(pv->dev, qid);
	unsigned got = 0;

	if (RS_UNLIKELY(vq == NULL))
		return -EINVAL;
	if (RS_UNLIKELY(q == 0 && __atomic_load_n(&pv->rarp, __ATOMIC_RELAXED) != 0))
		got = pv_rarp_take(pv, pool, pkts);
	while (got < max) {
		unsigned want = RS_MIN(max - got, (unsigned)VQ_BURST_MAX);
		int n = vq_dequeue_burst_ref(vq, pool, pkts + got, want);
		if (RS_UNLIKELY(n < 0)) {
			pv_broken(pv, qid, vq);
			if (got == 0)
				return -EIO;
			break; /* deliver what came before the bad chain */
		}
		got += (unsigned)n;
		if ((unsigned)n < want)
			break; /* ring empty or pool empty */
	}
	if (got == 0)
		return 0;
	for (unsigned i = 0; i < got; i++) {
		pkts[i]->in_port = (uint16_t)p->id;
		pkts[i]->in_queue = q;
	}
	return (int)got;
}

/* The frames of the last rx bursts are gone: their guest buffers go back to the guest. */
static void pv_rx_done(struct port *p, uint16_t q)
{
	struct port_vhost *pv = p->priv;
	uint16_t qid = pv_rx_qid(q);
	struct vq *vq = vhost_dev_vq(pv->dev, qid);

	if (vq && vq_dequeue_release(vq)) {
		pv_signal(pv, qid, vq);
		if (RS_UNLIKELY(vq->log != NULL))
			pv_log_check(pv, qid, vq);
	}
}

/*
 * Returns the frames delivered; the others were counted as drops by the vq
 * (drop_ring_full, drop_too_big). The caller keeps every pbuf.
 */
static int pv_tx_burst(struct port *p, uint16_t q, struct pbuf *const *pkts, unsigned n)
{
	struct port_vhost *pv = p->priv;
	uint16_t qid = pv_tx_qid(q);
	struct vq *vq = vhost_dev_vq(pv->dev, qid);
	unsigned sent = 0;

	if (RS_UNLIKELY(vq == NULL))
		return -EINVAL;
	for (unsigned i = 0; i < n;) {
		unsigned want = RS_MIN(n - i, (unsigned)VQ_BURST_MAX);
		int r = vq_enqueue_burst(vq, pkts + i, want);
		if (RS_UNLIKELY(r < 0)) {
			pv_broken(pv, qid, vq);
			if (sent == 0)
				return -EIO;
			break;
		}
		sent += (unsigned)r;
		i += want; /* frames not delivered were counted: go on, each is counted once */
	}
	if (sent > 0)
		pv_signal(pv, qid, vq);
	if (RS_UNLIKELY(vq->log != NULL))
		pv_log_check(pv, qid, vq);
	return (int)sent;
}

/*
 * The guest's kick eventfd of its TX queue. It is an eventfd nobody drains:
 * watch it edge-triggered. It changes only while the queue is stopped.
 */
static int pv_rxq_wait_fd(struct port *p, uint16_t q)
{
	struct port_vhost *pv = p->priv;

	return vhost_dev_kick_fd(pv->dev, pv_rx_qid(q));
}

static bool pv_rxq_notify(struct port *p, uint16_t q, bool enable)
{
	struct port_vhost *pv = p->priv;
	struct vq *vq = vhost_dev_vq(pv->dev, pv_rx_qid(q));

	if (RS_UNLIKELY(vq == NULL))
		return false;
	if (enable)
		return vq_enable_kicks(vq);
	vq_disable_kicks(vq);
	return false;
}

/* ---- any thread ---------------------------------------------------------- */

static void pv_queue_stats(struct port *p, enum port_dir dir, uint16_t q,
			   struct port_queue_stats *out)
{
	struct port_vhost *pv = p->priv;
	struct vq *vq = vhost_dev_vq(pv->dev, dir == PORT_RX ? pv_rx_qid(q) : pv_tx_qid(q));

	memset(out, 0, sizeof(*out));
	if (vq == NULL)
		return;
	const struct vq_stats *s = &vq->stats;
	out->packets = rs_stat_get(&s->packets);
	out->bytes = rs_stat_get(&s->bytes);
	out->drop_full = rs_stat_get(&s->drop_ring_full);
	out->drop_too_big = rs_stat_get(&s->drop_too_big);
	/* A guest TX chain with more pieces than we gather is a frame we cannot read. */
	out->drop_malformed = rs_stat_get(&s->drop_too_many_iov);
	out->dirty_log_lost = rs_stat_get(&s->log_outside);
	if (dir == PORT_RX && q == 0)
		out->announces = rs_stat_get(&pv->announces);
	enum vq_broken_reason br = rs_load_relaxed(&vq->broken);
	out->broken = br != VQ_OK;
	out->broken_reason = br != VQ_OK ? vq_broken_reason_name(br) : NULL;
}

/* Highest ready queue + 1: the queues the guest has set up and enabled. */
static uint16_t pv_nr_queues(struct port *p, enum port_dir dir)
{
	struct port_vhost *pv = p->priv;
	uint32_t m = __atomic_load_n(&pv->ready_mask[dir], __ATOMIC_ACQUIRE);

	return m ? (uint16_t)(32 - __builtin_clz(m)) : 0;
}

static void pv_peer(struct port *p, bool *up, uint64_t *features)
{
	struct port_vhost *pv = p->priv;

	*up = pv && pv->connected;
	*features = *up ? vhost_dev_features(pv->dev) : 0;
}

const struct port_ops port_vhost_ops = {
    .type_name = "vhost-user",
    .open = pv_open,
    .close = pv_close,
    .pollfds = pv_pollfds,
    .handle = pv_handle,
    .timeout_ms = pv_timeout_ms,
    .rx_burst = pv_rx_burst,
    .rx_done = pv_rx_done,
    .tx_burst = pv_tx_burst,
    .rxq_wait_fd = pv_rxq_wait_fd,
    .rxq_notify = pv_rxq_notify,
    .queue_stats = pv_queue_stats,
    .nr_queues = pv_nr_queues,
    .peer = pv_peer,
};
