/*
 * rs_gen.c - the benchmark's own traffic generator: a vhost-user front-end
 * (the test front-end of tests/support, fe.h) attached to two switch ports.
 * It transmits pre-built frames on port 0 as fast as the switch takes them,
 * keeps port 1's RX ring full and counts what arrives there, for a warm-up
 * and then a measured window, and prints one line of key=value pairs.
 *
 * Cheap per packet, so that the switch and not the generator is the
 * bottleneck: fe.h's ring layout and negotiation are used, but not its
 * per-frame API. Every TX head keeps one pre-built frame and one descriptor
 * for the whole run; a head the switch returns is put straight back in the
 * avail ring; avail->idx is published once per batch; the switch is kicked
 * only when it asked for it (VIRTIO_RING_F_EVENT_IDX avail_event, or
 * VIRTQ_USED_F_NO_NOTIFY; virtio 1.2 section 2.7.10), and interrupts are
 * suppressed (used_event kept a quarter to half a ring-index space ahead,
 * rewritten every 0x4000 entries, 2.7.7), so a busy-polling switch costs the
 * generator no system call at all. RX entries are counted from the used
 * ring alone (each RX buffer holds a whole frame); the frame itself is not
 * read.
 *
 * Like DPDK's virtio driver, it writes no ring line it does not have to, so
 * that the switch's core is not made to fetch it back: an avail slot is
 * stored only when it changes (vq_update_avail_ring), and with
 * VIRTIO_F_IN_ORDER the TX used entries are not read, since heads come back
 * in the order they were made available (2.7.9; virtio_xmit_cleanup_inorder)
 * - except once every GEN_CHECK_EVERY packets, when the batch's ids are
 * checked against that order.
 *
 * Port 1 also sends a few "learn" frames (source = the MAC port 0 sends
 * to) at start and once a second, so an L2-learning switch forwards port
 * 0's unicast frames instead of flooding them; they arrive on port 0's RX
 * queue and are counted as rev_rx.
 *
 * Usage:
 *   rs_gen [--server] [--size BYTES] [--flows N] [--warmup S] [--secs S]
 *          [--ring N] [--mrg 0|1] [--idle S] SOCK0 SOCK1
 * --server: listen on SOCK0 and SOCK1 and wait for the switch to connect
 * (its ports are vhost-user clients: OVS dpdkvhostuserclient, ringswitch
 * vhost-user-client). --idle S: attach, post RX buffers, ask for
 * interrupts like an idle guest, send nothing for S seconds, exit.
 * Output (one line): rs_gen: size= flows= secs= tx_pps= rx_pps= rx_bps=
 * tx_packets= rx_packets= rx_bad= rev_rx= kicks= loss_pct= in_order=
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fe.h"
#include "lib/compiler.h"

#define GEN_MAX_FRAME	1518   /* largest frame: RX buffers hold hdr + this */
#define GEN_LEARN_N	4      /* learn frames per round */
#define GEN_MIN_FRAME	60     /* Ethernet minimum without FCS */
#define GEN_CHECK_EVERY 4096   /* in order: TX used ids checked once per this many packets */
#define GEN_EVENT_STALE 0x4000 /* used_event rewritten when this far behind */

struct gen_opts {
	const char *path[2];
	bool server;
	uint32_t size;	/* frame bytes after the virtio-net header (no FCS) */
	uint32_t flows; /* distinct UDP source ports */
	double warmup, secs, idle;
	uint16_t ring;
	bool mrg;
};

/* Per-queue counters of the fast path. */
struct gen_q {
	struct fe_vq *vq;
	uint8_t *owned; /* 1 while the device holds the head */
	uint64_t packets, bytes, bad;
	uint16_t event_base; /* last_used when used_event was last written */
};

struct gen {
	struct gen_opts o;
	struct fe fe[2];
	struct gen_q tx, rx, rev; /* port 0 TX, port 1 RX, port 0 RX */
	uint8_t frame[GEN_MAX_FRAME];
	uint8_t learn[64];
};

static volatile sig_atomic_t gen_stop;

static void gen_on_signal(int sig)
{
	(void)sig;
	gen_stop = 1;
}

static double gen_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static const uint8_t gen_mac0[6] = {0x02, 0, 0, 0, 0, 0x01}; /* port 0's source */
static const uint8_t gen_mac1[6] = {0x02, 0, 0, 0, 0, 0x02}; /* port 1's source */

static uint16_t gen_csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Ethernet + IPv4 + UDP, 'len' bytes, from 'src' to 'dst' MAC, UDP source port 'sport'. */
static void gen_build(uint8_t *f, uint32_t len, const uint8_t *src, const uint8_t *dst,
		      uint16_t sport)
{
	memset(f, 0, len);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x08; /* IPv4 */
	uint8_t *ip = f + 14;
	uint16_t iplen = (uint16_t)(len - 14);
	ip[0] = 0x45;
	ip[2] = (uint8_t)(iplen >> 8);
	ip[3] = (uint8_t)iplen;
	ip[8] = 64;
	ip[9] = 17; /* UDP */
	memcpy(ip + 12, (uint8_t[]){198, 18, 0, src[5]}, 4);
	memcpy(ip + 16, (uint8_t[]){198, 18, 0, dst[5]}, 4);
	uint16_t c = gen_csum(ip, 20);
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	uint8_t *udp = ip + 20;
	uint16_t ulen = (uint16_t)(iplen - 20);
	udp[0] = (uint8_t)(sport >> 8);
	udp[1] = (uint8_t)sport;
	udp[2] = 0x04; /* port 1234 */
	udp[3] = 0xd2;
	udp[4] = (uint8_t)(ulen >> 8);
	udp[5] = (uint8_t)ulen; /* checksum 0: none (RFC 768) */
}

static int gen_parse(struct gen_opts *o, int argc, char **argv)
{
	*o = (struct gen_opts){
	    .size = 64, .flows = 1, .warmup = 1, .secs = 5, .ring = 256, .mrg = true};
	int n = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--server")) {
			o->server = true;
			continue;
		}
		if (a[0] == '-' && a[1] == '-' && !v)
			return -1;
		if (!strcmp(a, "--size"))
			o->size = (uint32_t)strtoul(v, NULL, 0);
		else if (!strcmp(a, "--flows"))
			o->flows = (uint32_t)strtoul(v, NULL, 0);
		else if (!strcmp(a, "--warmup"))
			o->warmup = strtod(v, NULL);
		else if (!strcmp(a, "--secs"))
			o->secs = strtod(v, NULL);
		else if (!strcmp(a, "--idle"))
			o->idle = strtod(v, NULL);
		else if (!strcmp(a, "--ring"))
			o->ring = (uint16_t)strtoul(v, NULL, 0);
		else if (!strcmp(a, "--mrg"))
			o->mrg = strtoul(v, NULL, 0) != 0;
		else if (a[0] != '-' && n < 2) {
			o->path[n++] = a;
			continue;
		} else
			return -1;
		i++;
	}
	bool ring_ok = o->ring >= 2 && o->ring <= 32768 && !(o->ring & (o->ring - 1));
	if (n != 2 || o->size < GEN_MIN_FRAME || o->size > GEN_MAX_FRAME || o->flows < 1 ||
	    o->flows > 65535 || !ring_ok || o->secs <= 0 || o->warmup < 0)
		return -1;
	return 0;
}

/* Connects (or, with --server, accepts) both ports and runs the bring-up. */
static int gen_attach(struct gen *g)
{
	struct fe_cfg cfg = {
	    .queue_size = g->o.ring,
	    .max_frame = GEN_MAX_FRAME,
	    .features_off = g->o.mrg ? 0 : VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF),
	    .timeout_ms = 10000,
	};
	int lfd[2] = {-1, -1}, err = 0;
	for (unsigned p = 0; p < 2; p++)
		fe_init(&g->fe[p], &cfg);
	for (unsigned p = 0; p < 2 && g->o.server; p++)
		if ((lfd[p] = fe_listen(g->o.path[p])) < 0) {
			fprintf(stderr, "rs_gen: listen %s: %s\n", g->o.path[p], strerror(-lfd[p]));
			err = lfd[p];
			goto out;
		}
	for (unsigned p = 0; p < 2; p++) {
		if (g->o.server) {
			int s = fe_accept(lfd[p], 60000);
			if (s < 0) {
				fprintf(stderr, "rs_gen: accept %s: %s\n", g->o.path[p],
					strerror(-s));
				err = s;
				goto out;
			}
			fe_adopt(&g->fe[p], s);
		} else if ((err = fe_connect(&g->fe[p], g->o.path[p])) < 0) {
			fprintf(stderr, "rs_gen: %s\n", g->fe[p].err);
			goto out;
		}
		if ((err = fe_setup(&g->fe[p])) < 0) {
			fprintf(stderr, "rs_gen: setup %s: %s\n", g->o.path[p], g->fe[p].err);
			goto out;
		}
	}
out:
	for (unsigned p = 0; p < 2; p++)
		if (lfd[p] >= 0) {
			close(lfd[p]);
			unlink(g->o.path[p]);
		}
	return err;
}

static void *gen_slot(struct fe *fe, struct fe_vq *vq, uint16_t head)
{
	return fe_mem_ptr(&fe->mem, vq->buf_gpa + (uint64_t)head * vq->slot_size, vq->slot_size);
}

/*
 * 2.7.7: no interrupts wanted: used_event 0x7fff ahead of last_used, so the
 * switch's used->idx never crosses it before it is rewritten, 0x4000 entries
 * later (gen_cycle). Not rewritten per batch: each store would pull the
 * line away from the switch, which reads it at every burst.
 */
static void gen_event_write(struct gen_q *q)
{
	struct fe_vq *vq = q->vq;
	q->event_base = vq->last_used;
	rs_store_relaxed(&vq->avail->ring[vq->num],
			 cpu_to_vle16((uint16_t)(vq->last_used + 0x7fff)));
}

/* Stores head 'id' in avail slot 'slot', unless it is there already. */
static void gen_avail_put(struct fe_vq *vq, uint16_t slot, uint16_t id)
{
	uint16_t *e = &vq->avail->ring[slot & (vq->num - 1)];
	if (*e != cpu_to_vle16(id))
		*e = cpu_to_vle16(id);
}

/* Wraps queue 'vq'; 'posted': fe_setup already gave the device every head (RX). */
static int gen_q_init(struct gen_q *q, struct fe_vq *vq, bool posted)
{
	q->vq = vq;
	q->owned = calloc(vq->num, 1);
	if (!q->owned)
		return -ENOMEM;
	if (posted)
		memset(q->owned, 1, vq->num);
	rs_store_relaxed(&vq->avail->flags, cpu_to_vle16(VIRTQ_AVAIL_F_NO_INTERRUPT));
	gen_event_write(q);
	return 0;
}

/*
 * Port 0's TX queue: every head gets its slot with a zero virtio-net header
 * and a frame (flow = head % flows), one read-only descriptor, and is
 * published. The descriptors never change afterwards.
 */
static void gen_tx_prepare(struct gen *g)
{
	struct fe *fe = &g->fe[0];
	struct fe_vq *vq = g->tx.vq;
	uint16_t old = vq->avail_idx;
	for (uint16_t h = 0; h < vq->num; h++) {
		uint8_t *s = gen_slot(fe, vq, h);
		memset(s, 0, fe->hdr_len); /* 5.1.6.2: no offloads */
		gen_build(s + fe->hdr_len, g->o.size, gen_mac0, gen_mac1,
			  (uint16_t)(1024 + h % g->o.flows));
		fe_vq_set_desc(&vq->desc[h], vq->buf_gpa + (uint64_t)h * vq->slot_size,
			       fe->hdr_len + g->o.size, 0, 0);
		vq->avail->ring[(uint16_t)(vq->avail_idx + h) & (vq->num - 1)] = cpu_to_vle16(h);
		g->tx.owned[h] = 1;
	}
	vq->avail_idx = (uint16_t)(vq->avail_idx + vq->num);
	rs_store_release(&vq->avail->idx, cpu_to_vle16(vq->avail_idx));
	fe_vq_notify(vq, old);
}

/*
 * Takes every used entry of 'q' and hands the heads straight back to the
 * device, publishing avail->idx once. With 'flows' above the ring size the
 * TX frame's UDP source port is rewritten (2 bytes) per packet. Returns the
 * entries taken, or -EPROTO when the device used a head it did not hold.
 */
static int gen_cycle(struct gen *g, struct fe *fe, struct gen_q *q, bool tx)
{
	struct fe_vq *vq = q->vq;
	uint16_t mask = (uint16_t)(vq->num - 1);
	/* Pairs with the device's release of used->idx after writing the entries. */
	uint16_t n = (uint16_t)(vle16_to_cpu(rs_load_acquire(&vq->used->idx)) - vq->last_used);
	if (n == 0)
		return 0;
	if (n > vq->num)
		return -EPROTO;
	uint16_t old = vq->avail_idx;
	bool rewrite = tx && g->o.flows > vq->num;
	/* In order, TX used entry k is avail slot k's head (len is 0 on TX). */
	bool by_order = tx && vq->in_order &&
			(q->packets + n) / GEN_CHECK_EVERY == q->packets / GEN_CHECK_EVERY;
	for (uint16_t i = 0; i < n; i++) {
		uint16_t pos = (uint16_t)(vq->last_used + i);
		uint32_t id, len = 0;
		if (by_order) {
			id = vle16_to_cpu(vq->avail->ring[pos & mask]);
		} else {
			struct virtq_used_elem e = vq->used->ring[pos & mask];
			id = vle32_to_cpu(e.id);
			len = vle32_to_cpu(e.len);
			if (vq->in_order && id != vle16_to_cpu(vq->avail->ring[pos & mask]))
				return -EPROTO; /* 2.7.9: out of order */
		}
		if (id >= vq->num || !q->owned[id]) /* 2.7.8: only heads it was given */
			return -EPROTO;
		q->owned[id] = 0;
		if (!tx) { /* 2.7.8.2: len is what the device wrote, header included */
			if (len < fe->hdr_len || len > fe->hdr_len + (uint32_t)GEN_MAX_FRAME)
				q->bad++;
			else
				q->bytes += len - fe->hdr_len;
		} else if (rewrite) {
			uint8_t *u = (uint8_t *)gen_slot(fe, vq, (uint16_t)id) + fe->hdr_len + 34;
			uint16_t sport = (uint16_t)(1024 + (q->packets + i) % g->o.flows);
			u[0] = (uint8_t)(sport >> 8);
			u[1] = (uint8_t)sport;
		}
		gen_avail_put(vq, (uint16_t)(old + i), (uint16_t)id);
	}
	for (uint16_t i = 0; i < n; i++)
		q->owned[vle16_to_cpu(vq->avail->ring[(uint16_t)(old + i) & mask])] = 1;
	q->packets += n;
	vq->last_used = (uint16_t)(vq->last_used + n);
	vq->avail_idx = (uint16_t)(old + n);
	if ((uint16_t)(vq->last_used - q->event_base) >= GEN_EVENT_STALE)
		gen_event_write(q);
	/* Pairs with the device's acquire of avail->idx before it reads the ring slots. */
	rs_store_release(&vq->avail->idx, cpu_to_vle16(vq->avail_idx));
	fe_vq_notify(vq, old);
	return n;
}

/* A few frames from port 1 so that a learning switch knows where gen_mac1 lives. */
static void gen_learn(struct gen *g)
{
	struct fe *fe = &g->fe[1];
	fe_tx_reclaim(fe, 0);
	for (unsigned i = 0; i < GEN_LEARN_N && fe->vq[1].nfree > 0; i++)
		if (fe_send(fe, 0, g->learn, sizeof(g->learn)) < 0)
			break;
}

struct gen_snap {
	double t;
	uint64_t tx, rx, rx_bytes;
};

static struct gen_snap gen_snap(const struct gen *g)
{
	return (struct gen_snap){gen_now(), g->tx.packets, g->rx.packets, g->rx.bytes};
}

/* The busy loop: warm-up, then the window; returns 0 or -EPROTO. */
static int gen_run(struct gen *g, struct gen_snap *a, struct gen_snap *b)
{
	double start = gen_now(), next_learn = start + 1;
	double t_win = start + g->o.warmup, t_end = t_win + g->o.secs;
	bool in_window = false;
	gen_tx_prepare(g);
	printf("rs_gen: running\n");
	fflush(stdout);
	for (uint64_t it = 0; !gen_stop; it++) {
		if (gen_cycle(g, &g->fe[0], &g->tx, true) < 0 ||
		    gen_cycle(g, &g->fe[1], &g->rx, false) < 0 ||
		    gen_cycle(g, &g->fe[0], &g->rev, false) < 0)
			return -EPROTO;
		if (it & 255)
			continue;
		double now = gen_now();
		if (!in_window && now >= t_win) {
			*a = gen_snap(g);
			in_window = true;
		}
		if (now >= t_end) {
			*b = gen_snap(g);
			return 0;
		}
		if (now >= next_learn) {
			gen_learn(g);
			next_learn = now + 1;
		}
	}
	return -EINTR;
}

/* --idle: like an idle guest, RX buffers posted and interrupts requested. */
static void gen_idle(struct gen *g)
{
	for (unsigned p = 0; p < 2; p++) {
		struct fe_vq *vq = &g->fe[p].vq[0];
		rs_store_relaxed(&vq->avail->flags, 0);
		rs_store_relaxed(&vq->avail->ring[vq->num], cpu_to_vle16(vq->last_used));
	}
	double end = gen_now() + g->o.idle;
	while (!gen_stop && gen_now() < end)
		usleep(100000);
	printf("rs_gen: idle=%.1f\n", g->o.idle);
}

static void gen_report(const struct gen *g, const struct gen_snap *a, const struct gen_snap *b)
{
	double dt = b->t - a->t;
	double txp = (double)(b->tx - a->tx) / dt, rxp = (double)(b->rx - a->rx) / dt;
	uint64_t kicks = 0;
	for (unsigned p = 0; p < 2; p++)
		for (unsigned q = 0; q < 2; q++)
			kicks += g->fe[p].vq[q].st.kicks;
	printf("rs_gen: size=%u flows=%u secs=%.3f tx_pps=%.0f rx_pps=%.0f rx_bps=%.0f "
	       "tx_packets=%llu rx_packets=%llu rx_bad=%llu rev_rx=%llu kicks=%llu "
	       "loss_pct=%.3f in_order=%d\n",
	       g->o.size, g->o.flows, dt, txp, rxp, (double)(b->rx_bytes - a->rx_bytes) * 8 / dt,
	       (unsigned long long)(b->tx - a->tx), (unsigned long long)(b->rx - a->rx),
	       (unsigned long long)g->rx.bad, (unsigned long long)g->rev.packets,
	       (unsigned long long)kicks, txp > 0 ? 100.0 * (txp - rxp) / txp : 0.0,
	       g->tx.vq->in_order);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static struct gen g; /* two struct fe: too big for the stack */
	if (gen_parse(&g.o, argc, argv) < 0) {
		fprintf(stderr, "usage: rs_gen [--server] [--size 60..1518] [--flows N] "
				"[--warmup S] [--secs S] [--ring N] [--mrg 0|1] [--idle S] "
				"SOCK0 SOCK1\n");
		return 2;
	}
	signal(SIGINT, gen_on_signal);
	signal(SIGTERM, gen_on_signal);
	signal(SIGPIPE, SIG_IGN);
	gen_build(g.learn, sizeof(g.learn), gen_mac1, gen_mac0, 1024);
	int err = gen_attach(&g);
	if (!err) {
		printf("rs_gen: attached\n");
		fflush(stdout);
	}
	if (!err && g.o.idle > 0) {
		gen_idle(&g);
	} else if (!err) {
		err = gen_q_init(&g.tx, &g.fe[0].vq[1], false);
		if (!err)
			err = gen_q_init(&g.rx, &g.fe[1].vq[0], true);
		if (!err)
			err = gen_q_init(&g.rev, &g.fe[0].vq[0], true);
		gen_learn(&g);
		struct gen_snap a = {0}, b = {0};
		if (!err)
			err = gen_run(&g, &a, &b);
		if (err == -EPROTO)
			fprintf(stderr, "rs_gen: the switch used a head it did not hold\n");
		if (!err)
			gen_report(&g, &a, &b);
	}
	for (unsigned p = 0; p < 2; p++)
		fe_close(&g.fe[p]);
	free(g.tx.owned);
	free(g.rx.owned);
	free(g.rev.owned);
	return err ? 1 : 0;
}
