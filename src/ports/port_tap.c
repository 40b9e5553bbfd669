/*
 * port_tap.c - a Linux tap interface as a port: one /dev/net/tun fd per queue
 * (IFF_MULTI_QUEUE when there is more than one), every frame behind a 12-byte
 * virtio-net header (IFF_VNET_HDR, TUNSETVNETHDRSZ 12: the header with
 * num_buffers). By default checksum and TCP segmentation offloads are on
 * (TUNSETOFFLOAD CSUM, TSO4, TSO6, TSO_ECN, and USO4/USO6 where the kernel
 * has them): the kernel hands us partial checksums and super-frames of up to
 * 64 KiB, read into the pool's big buffers, and accepts the same from us; the
 * header's fields travel in pbuf.ol (checked by the switch, not here). With
 * offloads=off (TUNSETOFFLOAD 0) frames are plain and checksummed both ways.
 *
 * Contexts: open and close on the control thread; a tap queue is ready from
 * the end of open until close, and open/close report that through
 * events.queue_state. The bursts make one readv/writev per frame: a syscall
 * per packet is inherent to tap. Statistics are per queue and direction, each
 * written by that direction's single (or serialised) caller and read relaxed
 * by anyone.
 */
#include "port.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../lib/compiler.h"
#include "../virtio/vq.h"

#define TAP_HDR_LEN  VIRTIO_NET_HDR_LEN_MRG
#define TAP_MIN_LEN  14 /* an Ethernet header */
#define TAP_DEV_PATH "/dev/net/tun"

_Static_assert(sizeof(struct virtio_net_hdr) == TAP_HDR_LEN, "vnet header with num_buffers");
_Static_assert(PORT_NAME_MAX <= IFNAMSIZ, "port names fit interface names");

/* Counters of one direction of one queue; single writer. */
struct tap_stats {
	uint64_t packets;
	uint64_t bytes;
	uint64_t drop_full;
	uint64_t drop_too_big;
	uint64_t drop_malformed;
	uint64_t drop_error;
};

struct tap_queue {
	int fd;				    /* set by open, closed by close; -1 when none */
	struct tap_stats rx RS_CACHE_ALIGN; /* written by the rx queue's owner */
	struct tap_stats tx RS_CACHE_ALIGN; /* written by the (serialised) tx callers */
};

struct port_tap {
	char ifname[IFNAMSIZ]; /* as the kernel named it */
	bool offloads;	       /* TUNSETOFFLOAD enabled something */
	uint16_t nq;
	struct tap_queue q[PORT_MAX_QUEUES];
};

/* ---- control thread ------------------------------------------------------ */

#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif
#define TAP_OFFLOADS (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN)

/*
 * Enables what 'want' asks of TUNSETOFFLOAD, without USO on kernels that
 * refuse it (before 6.2). Returns the PORT_OL_* now on, or a negative errno.
 */
static int tap_set_offload(int fd, bool want)
{
	if (!want)
		return ioctl(fd, TUNSETOFFLOAD, 0ul) < 0 ? -errno : 0;
	if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)(TAP_OFFLOADS | TUN_F_USO4 | TUN_F_USO6)) == 0)
		return (int)(PORT_OL_CSUM | PORT_OL_TSO4 | PORT_OL_TSO6 | PORT_OL_ECN |
			     PORT_OL_USO);
	if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)TAP_OFFLOADS) == 0)
		return (int)(PORT_OL_CSUM | PORT_OL_TSO4 | PORT_OL_TSO6 | PORT_OL_ECN);
	return -errno;
}

/* Attaches one more queue fd to interface 'ifr' (created by the first); '*ol': PORT_OL_* on. */
static int tap_open_queue(struct ifreq *ifr, bool offloads, int *out, uint32_t *ol)
{
	int hdr = TAP_HDR_LEN;
	int fd = open(TAP_DEV_PATH, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -errno;
	if (ioctl(fd, TUNSETIFF, ifr) < 0 || ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	rc = tap_set_offload(fd, offloads);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	*ol = (uint32_t)rc;
	*out = fd;
	return 0;
}

/* SIOCSIFFLAGS IFF_UP through a throw-away socket (any family reaches dev_ioctl). */
static int tap_link_up(const char *ifname)
{
	struct ifreq ifr;
	int rc = 0;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, ifname, strnlen(ifname, IFNAMSIZ - 1));
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		rc = -errno;
	if (rc == 0 && !(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
			rc = -errno;
	}
	close(s);
	return rc;
}

static void tap_report(struct port *p, uint16_t nq, bool ready)
{
	for (uint16_t k = 0; k < nq && p->events.queue_state; k++) {
		p->events.queue_state(p->events_opaque, p, PORT_RX, k, ready);
		p->events.queue_state(p->events_opaque, p, PORT_TX, k, ready);
	}
	if (p->events.link_state)
		p->events.link_state(p->events_opaque, p, ready);
}

static void tap_close_fds(struct port_tap *t)
{
	for (unsigned k = 0; k < PORT_MAX_QUEUES; k++) {
		if (t->q[k].fd >= 0)
			close(t->q[k].fd);
		t->q[k].fd = -1;
	}
}

static int tap_open(struct port *p)
{
	const char *name = p->cfg.ifname[0] ? p->cfg.ifname : p->name[0] ? p->name : p->cfg.name;
	struct port_tap *t;
	struct ifreq ifr;
	int rc;

	if (p->cfg.type != PORT_TAP || p->cfg.queues < 1 || p->cfg.queues > PORT_MAX_QUEUES)
		return -EINVAL;
	if (name[0] == '\0' || strnlen(name, IFNAMSIZ) >= IFNAMSIZ)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	for (unsigned k = 0; k < PORT_MAX_QUEUES; k++)
		t->q[k].fd = -1;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, name, strnlen(name, IFNAMSIZ - 1));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (p->cfg.queues > 1)
		ifr.ifr_flags |= IFF_MULTI_QUEUE;
	uint32_t ol = 0;
	for (uint16_t k = 0; k < p->cfg.queues; k++) {
		/* After the first TUNSETIFF ifr_name holds the kernel's name: later ones attach. */
		rc = tap_open_queue(&ifr, !p->cfg.no_offloads, &t->q[k].fd, &ol);
		if (rc < 0)
			goto fail;
	}
	/* The kernel takes from us what it may hand to us (tun_get_user parses any GSO). */
	p->ol_rx = p->ol_tx = ol;
	t->offloads = ol != 0;
	memcpy(t->ifname, ifr.ifr_name, IFNAMSIZ);
	t->ifname[IFNAMSIZ - 1] = '\0';
	rc = tap_link_up(t->ifname);
	if (rc < 0)
		goto fail;
	t->nq = p->cfg.queues;
	p->priv = t;
	tap_report(p, t->nq, true);
	return 0;

fail:
	tap_close_fds(t);
	free(t);
	return rc;
}

static void tap_close(struct port *p)
{
	struct port_tap *t = p->priv;

	if (t == NULL)
		return;
	tap_report(p, t->nq, false);
	tap_close_fds(t); /* the last fd of a non-persistent tap removes the interface */
	free(t);
	p->priv = NULL;
}

static unsigned tap_pollfds(struct port *p, struct pollfd *pfd, unsigned max)
{
	(void)p, (void)pfd, (void)max;
	return 0;
}

static void tap_handle(struct port *p, const struct pollfd *pfd, unsigned n, uint64_t now_ms)
{
	(void)p, (void)pfd, (void)n, (void)now_ms;
}

static int tap_timeout_ms(struct port *p, uint64_t now_ms)
{
	(void)p, (void)now_ms;
	return -1;
}

/* ---- datapath ------------------------------------------------------------ */

/*
 * Without offloads enabled the kernel sends a header with no flags and no GSO
 * (virtio 1.2 section 5.1.6.4, which tap follows). DATA_VALID only says the
 * checksum was already verified: harmless, ignored. NEEDS_CSUM or any GSO type
 * is metadata we did not ask for and cannot honour: the frame is dropped.
 * With offloads the switch checks the metadata against the frame.
 */
static bool tap_hdr_ok(const struct port_tap *t, const struct virtio_net_hdr *h)
{
	return t->offloads || ((h->flags & ~VIRTIO_NET_HDR_F_DATA_VALID) == 0 &&
			       h->gso_type == VIRTIO_NET_HDR_GSO_NONE);
}

static int tap_rx_burst(struct port *p, uint16_t q, struct pbuf_pool *pool, struct pbuf **pkts,
			unsigned max)
{
	struct port_tap *t = p->priv;
	struct virtio_net_hdr h = {0}; /* num_buffers 0; the rest per frame */
	uint8_t spill;
	unsigned got = 0;
	uint64_t bytes = 0;

	if (RS_UNLIKELY(q >= t->nq))
		return -EINVAL;
	struct tap_queue *tq = &t->q[q];
	while (got < max) {
		/* With offloads a read may be a 64 KiB super-frame: a big buffer when the pool has
		 * them. */
		struct pbuf *b =
		    t->offloads && pool->big ? pbuf_alloc(pool->big) : pbuf_alloc(pool);
		if (b == NULL)
			break; /* the frame stays in the tap queue */
		/* One spare byte tells a frame that fills the pbuf from a truncated one. */
		struct iovec iov[3] = {{&h, sizeof(h)}, {b->data, b->room}, {&spill, 1}};
		ssize_t n = readv(tq->fd, iov, 3);
		if (n < 0) {
			pbuf_free(pool, b);
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				rs_stat_add(&tq->rx.drop_error, 1);
			break;
		}
		/* tun truncates a frame larger than the buffers (and may report either length). */
		if ((size_t)n > sizeof(h) + b->room) {
			rs_stat_add(&tq->rx.drop_too_big, 1);
		} else if ((size_t)n < sizeof(h) + TAP_MIN_LEN || !tap_hdr_ok(t, &h)) {
			rs_stat_add(&tq->rx.drop_malformed, 1);
		} else {
			b->len = (uint32_t)((size_t)n - sizeof(h));
			if (t->offloads)
				vq_hdr_to_ol(&h, &b->ol);
			b->in_port = (uint16_t)p->id;
			b->in_queue = q;
			bytes += b->len;
			pkts[got++] = b;
			continue;
		}
		pbuf_free(pool, b);
	}
	if (got) {
		rs_stat_add(&tq->rx.packets, got);
		rs_stat_add(&tq->rx.bytes, bytes);
	}
	return (int)got;
}

/* Returns the frames written; the others are counted as drops. The caller keeps every pbuf. */
static int tap_tx_burst(struct port *p, uint16_t q, struct pbuf *const *pkts, unsigned n)
{
	struct port_tap *t = p->priv;
	struct virtio_net_hdr h = {0}; /* num_buffers 0; the rest per frame */
	unsigned sent = 0;
	uint64_t bytes = 0;

	if (RS_UNLIKELY(q >= t->nq))
		return -EINVAL;
	struct tap_queue *tq = &t->q[q];
	for (unsigned i = 0; i < n; i++) {
		/* The switch sends offloaded frames only to a port whose ol_tx has them. */
		vq_ol_to_hdr(&pkts[i]->ol, &h);
		/* A split frame (pbuf.h) goes out in two pieces: still one copy. */
		const struct pbuf *f = pkts[i];
		uint32_t head = pbuf_head_len(f);
		struct iovec iov[3] = {
		    {&h, sizeof(h)}, {f->data, head}, {(void *)f->tail, f->len - head}};
		int niov = f->tail ? 3 : 2;
		ssize_t r = writev(tq->fd, iov, niov);
		if (r < 0 && errno == EINTR)
			r = writev(tq->fd, iov, niov);
		if (RS_LIKELY(r >= 0)) {
			sent++;
			bytes += pkts[i]->len;
		} else if (errno == EAGAIN || errno == ENOBUFS || errno == ENOMEM) {
			rs_stat_add(&tq->tx.drop_full, 1);
		} else if (errno == EMSGSIZE || errno == EINVAL) {
			rs_stat_add(&tq->tx.drop_too_big, 1);
		} else {
			rs_stat_add(&tq->tx.drop_error, 1); /* EIO: the interface is down */
		}
	}
	if (sent) {
		rs_stat_add(&tq->tx.packets, sent);
		rs_stat_add(&tq->tx.bytes, bytes);
	}
	return (int)sent;
}

/* The queue's tun fd: readable (level-triggered) while frames wait. */
static int tap_rxq_wait_fd(struct port *p, uint16_t q)
{
	struct port_tap *t = p->priv;

	return q < t->nq ? t->q[q].fd : -1;
}

static bool tap_rxq_notify(struct port *p, uint16_t q, bool enable)
{
	/* The tun fd always signals readability: nothing to switch. */
	(void)p, (void)q, (void)enable;
	return false;
}

/* ---- any thread ---------------------------------------------------------- */

static void tap_queue_stats(struct port *p, enum port_dir dir, uint16_t q,
			    struct port_queue_stats *out)
{
	struct port_tap *t = p->priv;

	memset(out, 0, sizeof(*out));
	if (t == NULL || q >= PORT_MAX_QUEUES)
		return;
	const struct tap_stats *s = dir == PORT_RX ? &t->q[q].rx : &t->q[q].tx;
	out->packets = rs_stat_get(&s->packets);
	out->bytes = rs_stat_get(&s->bytes);
	out->drop_full = rs_stat_get(&s->drop_full);
	out->drop_too_big = rs_stat_get(&s->drop_too_big);
	out->drop_malformed = rs_stat_get(&s->drop_malformed);
	out->drop_error = rs_stat_get(&s->drop_error);
}

static uint16_t tap_nr_queues(struct port *p, enum port_dir dir)
{
	struct port_tap *t = p->priv;

	(void)dir;
	return t ? t->nq : 0;
}

static void tap_peer(struct port *p, bool *up, uint64_t *features)
{
	*up = p->priv != NULL; /* open: the device exists and was brought up */
	*features = 0;
}

const struct port_ops port_tap_ops = {
    .type_name = "tap",
    .open = tap_open,
    .close = tap_close,
    .pollfds = tap_pollfds,
    .handle = tap_handle,
    .timeout_ms = tap_timeout_ms,
    .rx_burst = tap_rx_burst,
    .tx_burst = tap_tx_burst,
    .rxq_wait_fd = tap_rxq_wait_fd,
    .rxq_notify = tap_rxq_notify,
    .queue_stats = tap_queue_stats,
    .nr_queues = tap_nr_queues,
    .peer = tap_peer,
};
