/*
 * loopback.c - ringswitch-loopback: serves N vhost-user ports and wires them
 * together (pair mode: ports 2k and 2k+1) or reflects every frame back out of
 * the port it came from, so real front-ends (QEMU guests, dpdk-testpmd) can be
 * tested against the device layer before the switch exists.
 *
 * Two threads. The main (control) thread runs a poll() loop over the vhost
 * sockets and a signalfd, and owns every configuration change. One
 * forwarding thread polls the ready queues in bursts; when idle it re-enables
 * guest kicks and sleeps in epoll on the kick eventfds (adaptive mode). The
 * hand-off between them is the per-queue 'active' flag plus the forwarding
 * thread's quiescence counter: see lb_queue_state().
 *
 * Contract used by tests and scripts (keep it): flags as in usage(), sockets
 * DIR/port<i>.sock, "ready" on stdout once listening, per-queue stats lines on
 * SIGUSR1, clean exit on SIGTERM/SIGINT.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/compiler.h"
#include "lib/log.h"
#include "lib/pbuf.h"
#include "vhost/vhost_dev.h"
#include "vhost/vhost_sock.h"

#define LB_MAX_PORTS 64
#define LB_POOL_BUFS 256
#define LB_POOL_ROOM 10240
#define LB_IDLE_NS   200000 /* busy-poll this long without packets before sleeping */
#define LB_SLEEP_MS  100    /* upper bound of one sleep; kicks wake us earlier */

enum lb_mode { LB_PAIR, LB_REFLECT };

struct lb_queue {
	atomic_bool active;	 /* written by control, read by the forwarding thread */
	bool broken_seen;	 /* forwarding thread: logged and parked */
	int kick_fd;		 /* control: registered in the epoll set, or -1 */
	uint64_t drop_not_ready; /* forwarding thread: peer queue not ready */
};

struct lb_port {
	unsigned idx;
	atomic_uint rx_pairs; /* control: highest active RX queue pair + 1 */
	char name[16];
	struct vhost_dev *dev;
	struct vhost_sock *sock;
	struct lb_queue q[VHOST_MAX_QUEUES];
};

struct lb {
	enum lb_mode mode;
	bool busy_poll;
	unsigned nports;
	struct lb_port ports[LB_MAX_PORTS];
	int epfd;		      /* kick fds of active TX queues + wake_fd */
	int wake_fd;		      /* eventfd: control wakes a sleeping forwarder */
	atomic_uint_fast64_t fwd_seq; /* bumped after every forwarding iteration */
	atomic_bool fwd_sleeping;
	atomic_bool stop;
	struct pbuf_pool pool;
};

static struct lb lb;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- forwarding thread ---- */

static struct lb_port *lb_peer(struct lb_port *p)
{
	if (lb.mode == LB_REFLECT)
		return p;
	unsigned peer = p->idx ^ 1u;
	return peer < lb.nports ? &lb.ports[peer] : NULL;
}

static void lb_signal_guest(struct lb_port *p, uint16_t qid, struct vq *vq)
{
	int fd = vhost_dev_call_fd(p->dev, qid);
	if (fd >= 0 && vq_guest_wants_interrupt(vq))
		(void)eventfd_write(fd, 1);
}

/* Returns the RX queue of 'peer' for traffic from TX queue pair 'pair', or -1. */
static int lb_pick_rx(struct lb_port *peer, uint16_t pair)
{
	unsigned npairs = atomic_load_explicit(&peer->rx_pairs, memory_order_relaxed);
	if (npairs == 0)
		return -1;
	uint16_t rx = (uint16_t)(2 * (pair % npairs));
	return atomic_load(&peer->q[rx].active) ? rx : -1;
}

static void lb_queue_broken(struct lb_port *p, uint16_t qid, struct vq *vq)
{
	struct lb_queue *q = &p->q[qid];
	if (!q->broken_seen) {
		q->broken_seen = true;
		RS_LOG_RL(RS_LOG_WARN, "loopback", "queue broken: %s q%u: %s; queue stopped",
			  p->name, qid, vq_broken_reason_name(vq->broken));
	}
}

/* Moves one burst from TX queue 'qid' of 'p'; returns packets moved. */
static unsigned lb_forward_queue(struct lb_port *p, uint16_t qid)
{
	struct pbuf *pkts[VQ_BURST_MAX];
	struct vq *txq = vhost_dev_vq(p->dev, qid);
	if (p->q[qid].broken_seen)
		return 0;
	int n = vq_dequeue_burst(txq, &lb.pool, pkts, VQ_BURST_MAX);
	if (n < 0) {
		lb_queue_broken(p, qid, txq);
		return 0;
	}
	if (n == 0)
		return 0;
	lb_signal_guest(p, qid, txq);

	struct lb_port *peer = lb_peer(p);
	int rx = peer ? lb_pick_rx(peer, qid / 2) : -1;
	if (rx < 0) {
		rs_stat_add(&p->q[qid].drop_not_ready, (uint64_t)n);
	} else if (!peer->q[rx].broken_seen) {
		struct vq *rxq = vhost_dev_vq(peer->dev, (uint16_t)rx);
		int sent = vq_enqueue_burst(rxq, pkts, (unsigned)n);
		if (sent < 0)
			lb_queue_broken(peer, (uint16_t)rx, rxq);
		else if (sent > 0)
			lb_signal_guest(peer, (uint16_t)rx, rxq);
	}
	pbuf_free_bulk(&lb.pool, pkts, (unsigned)n);
	return (unsigned)n;
}

static unsigned lb_poll_all(void)
{
	unsigned moved = 0;
	for (unsigned i = 0; i < lb.nports; i++) {
		struct lb_port *p = &lb.ports[i];
		for (uint16_t qid = 1; qid < VHOST_MAX_QUEUES; qid += 2)
			if (atomic_load_explicit(&p->q[qid].active, memory_order_acquire))
				moved += lb_forward_queue(p, qid);
	}
	return moved;
}

/* Re-arms kicks on every active TX queue; false when work arrived meanwhile or a queue can't kick.
 */
static bool lb_arm_kicks(bool enable)
{
	bool can_sleep = true;
	for (unsigned i = 0; i < lb.nports; i++) {
		struct lb_port *p = &lb.ports[i];
		for (uint16_t qid = 1; qid < VHOST_MAX_QUEUES; qid += 2) {
			if (!atomic_load(&p->q[qid].active) || p->q[qid].broken_seen)
				continue;
			struct vq *vq = vhost_dev_vq(p->dev, qid);
			if (!enable) {
				vq_disable_kicks(vq);
				continue;
			}
			if (vq_enable_kicks(vq) || vhost_dev_kick_fd(p->dev, qid) < 0)
				can_sleep = false;
		}
	}
	return can_sleep;
}

static void lb_sleep(void)
{
	struct epoll_event ev[32];

	/* Edge-triggered: every kick is a new edge, so nothing needs draining, and this
	 * thread never reads an fd that control may have closed and reused meanwhile. */
	atomic_store(&lb.fwd_sleeping, true);
	(void)epoll_wait(lb.epfd, ev, RS_ARRAY_SIZE(ev), LB_SLEEP_MS);
	atomic_store(&lb.fwd_sleeping, false);
}

static void *lb_forwarder(void *arg)
{
	(void)arg;
	uint64_t last_work = now_ns();

	while (!atomic_load(&lb.stop)) {
		unsigned moved = lb_poll_all();
		atomic_fetch_add(&lb.fwd_seq, 1);
		if (moved) {
			last_work = now_ns();
			continue;
		}
		if (lb.busy_poll || now_ns() - last_work < LB_IDLE_NS)
			continue;
		/* Re-enable kicks, then re-check the rings: a chain made available between our
		 * last poll and the enable would otherwise sleep until the next kick. */
		if (lb_arm_kicks(true))
			lb_sleep();
		lb_arm_kicks(false);
		last_work = now_ns();
	}
	return NULL;
}

/* ---- control thread ---- */

/* Returns once the forwarding thread can no longer be inside a queue that was active. */
static void lb_quiesce(void)
{
	uint64_t seq = atomic_load(&lb.fwd_seq);
	(void)eventfd_write(lb.wake_fd, 1);
	while (atomic_load(&lb.fwd_seq) == seq && !atomic_load(&lb.fwd_sleeping))
		sched_yield();
}

static void lb_watch_kick(struct lb_port *p, uint16_t qid, bool on)
{
	struct lb_queue *q = &p->q[qid];
	if (q->kick_fd >= 0) {
		epoll_ctl(lb.epfd, EPOLL_CTL_DEL, q->kick_fd, NULL);
		q->kick_fd = -1;
	}
	int fd = on ? vhost_dev_kick_fd(p->dev, qid) : -1;
	if (fd >= 0) {
		struct epoll_event ev = {.events = EPOLLIN | EPOLLET,
					 .data.u64 = (uint64_t)(unsigned)fd};
		if (epoll_ctl(lb.epfd, EPOLL_CTL_ADD, fd, &ev) == 0)
			q->kick_fd = fd;
	}
}

static void lb_update_rx_pairs(struct lb_port *p)
{
	unsigned pairs = 0;
	for (unsigned qid = 0; qid < VHOST_MAX_QUEUES; qid += 2)
		if (atomic_load(&p->q[qid].active))
			pairs = qid / 2 + 1;
	atomic_store(&p->rx_pairs, pairs);
}

static void lb_queue_state(void *opaque, struct vhost_dev *dev, uint16_t qid, bool ready)
{
	struct lb_port *p = opaque;
	(void)dev;
	if (qid >= VHOST_MAX_QUEUES)
		return;
	if (!ready) {
		atomic_store(&p->q[qid].active, false);
		lb_quiesce();
		if (qid & 1)
			lb_watch_kick(p, qid, false);
		lb_update_rx_pairs(p);
		RS_LOG(RS_LOG_DEBUG, "loopback", "%s q%u stopped", p->name, qid);
		return;
	}
	/* Safe: the queue is inactive, so the forwarder does not read broken_seen now. */
	p->q[qid].broken_seen = false;
	if (qid & 1)
		lb_watch_kick(p, qid, true);
	atomic_store_explicit(&p->q[qid].active, true, memory_order_release);
	lb_update_rx_pairs(p);
	(void)eventfd_write(lb.wake_fd, 1);
	RS_LOG(RS_LOG_INFO, "loopback", "%s q%u ready", p->name, qid);
}

static void lb_conn_state(void *opaque, struct vhost_dev *dev, bool up)
{
	struct lb_port *p = opaque;
	(void)dev;
	RS_LOG(RS_LOG_INFO, "loopback", "%s: front-end %s", p->name, up ? "connected" : "gone");
}

static const struct vhost_dev_ops lb_ops = {
    .queue_state = lb_queue_state,
    .conn_state = lb_conn_state,
};

static void lb_print_stats(void)
{
	for (unsigned i = 0; i < lb.nports; i++) {
		struct lb_port *p = &lb.ports[i];
		uint16_t nq = vhost_dev_nr_queues(p->dev);
		for (uint16_t qid = 0; qid < nq && qid < VHOST_MAX_QUEUES; qid++) {
			struct vq *vq = vhost_dev_vq(p->dev, qid);
			const struct vq_stats *s = &vq->stats;
			enum vq_broken_reason br = rs_load_relaxed(&vq->broken);
			printf("stats port=%u qid=%u dir=%s ready=%d packets=%" PRIu64
			       " bytes=%" PRIu64 " drop_ring_full=%" PRIu64 " drop_too_big=%" PRIu64
			       " drop_too_many_iov=%" PRIu64 " drop_not_ready=%" PRIu64
			       " broken=%s\n",
			       i, qid, (qid & 1) ? "tx" : "rx",
			       atomic_load(&p->q[qid].active) ? 1 : 0, rs_stat_get(&s->packets),
			       rs_stat_get(&s->bytes), rs_stat_get(&s->drop_ring_full),
			       rs_stat_get(&s->drop_too_big), rs_stat_get(&s->drop_too_many_iov),
			       rs_stat_get(&p->q[qid].drop_not_ready),
			       br == VQ_OK ? "none" : vq_broken_reason_name(br));
		}
	}
	printf("stats end\n");
	fflush(stdout);
}

static uint64_t now_ms(void)
{
	return now_ns() / 1000000;
}

/* Runs until SIGTERM/SIGINT. Returns 0. */
static int lb_control_loop(int sigfd)
{
	struct pollfd pfd[1 + LB_MAX_PORTS * 2];
	unsigned base[LB_MAX_PORTS], cnt[LB_MAX_PORTS];

	for (;;) {
		unsigned n = 1;
		int timeout = -1;
		uint64_t now = now_ms();
		pfd[0] = (struct pollfd){.fd = sigfd, .events = POLLIN};
		for (unsigned i = 0; i < lb.nports; i++) {
			base[i] = n;
			cnt[i] = vhost_sock_pollfds(lb.ports[i].sock, &pfd[n], 2);
			n += cnt[i];
			int t = vhost_sock_timeout_ms(lb.ports[i].sock, now);
			if (t >= 0 && (timeout < 0 || t < timeout))
				timeout = t;
		}
		if (poll(pfd, n, timeout) < 0 && errno != EINTR)
			return -errno;
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sigfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGUSR1)
					lb_print_stats();
				else if (si.ssi_signo != SIGHUP)
					return 0;
			}
		}
		now = now_ms();
		for (unsigned i = 0; i < lb.nports; i++)
			vhost_sock_handle(lb.ports[i].sock, &pfd[base[i]], cnt[i], now);
	}
}

static void usage(FILE *f)
{
	fprintf(f, "usage: ringswitch-loopback [--run-dir DIR] [--ports N] [--mode pair|reflect]\n"
		   "         [--queues Q] [--client] [--socket-perm OCTAL] [--poll busy|adaptive]\n"
		   "         [--mtu N] [--log-level err|warn|info|debug]\n"
		   "Serves vhost-user sockets DIR/port<i>.sock and wires ports 2k<->2k+1 (pair)\n"
		   "or sends every frame back out of its own port (reflect).\n"
		   "SIGUSR1 prints per-queue statistics; SIGTERM exits cleanly.\n");
}

struct lb_opts {
	const char *run_dir;
	unsigned queues;
	bool client;
	mode_t perm;
	unsigned mtu;
};

static int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 0);
	if (errno || *s == '\0' || *end != '\0' || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_args(int argc, char **argv, struct lb_opts *o)
{
	static const struct option longopts[] = {{"run-dir", required_argument, NULL, 'd'},
						 {"ports", required_argument, NULL, 'n'},
						 {"mode", required_argument, NULL, 'm'},
						 {"queues", required_argument, NULL, 'q'},
						 {"client", no_argument, NULL, 'c'},
						 {"socket-perm", required_argument, NULL, 'p'},
						 {"poll", required_argument, NULL, 'P'},
						 {"mtu", required_argument, NULL, 'M'},
						 {"log-level", required_argument, NULL, 'l'},
						 {"help", no_argument, NULL, 'h'},
						 {NULL, 0, NULL, 0}};
	unsigned long v;
	enum rs_log_level lvl;
	int c, li = 0;

	while ((c = getopt_long(argc, argv, "", longopts, &li)) != -1) {
		int bad = 0;
		switch (c) {
		case 'd':
			o->run_dir = optarg;
			break;
		case 'n':
			bad = parse_uint(optarg, 1, LB_MAX_PORTS, &v);
			lb.nports = (unsigned)v;
			break;
		case 'q':
			bad = parse_uint(optarg, 1, VHOST_MAX_QUEUE_PAIRS, &v);
			o->queues = (unsigned)v;
			break;
		case 'p':
			bad = parse_uint(optarg, 0, 0777, &v);
			o->perm = (mode_t)v;
			break;
		case 'M':
			bad = parse_uint(optarg, 68, 65535, &v);
			o->mtu = (unsigned)v;
			break;
		case 'c':
			o->client = true;
			break;
		case 'm':
			bad = strcmp(optarg, "pair") && strcmp(optarg, "reflect");
			lb.mode = strcmp(optarg, "reflect") ? LB_PAIR : LB_REFLECT;
			break;
		case 'P':
			bad = strcmp(optarg, "busy") && strcmp(optarg, "adaptive");
			lb.busy_poll = strcmp(optarg, "busy") == 0;
			break;
		case 'l':
			bad = rs_log_parse_level(optarg, &lvl);
			rs_log_set_level(lvl);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
		if (bad) {
			fprintf(stderr, "ringswitch-loopback: bad value '%s' for --%s\n", optarg,
				longopts[li].name);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ringswitch-loopback: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

static int lb_open_ports(const struct lb_opts *o)
{
	for (unsigned i = 0; i < lb.nports; i++) {
		struct lb_port *p = &lb.ports[i];
		char path[4096];
		p->idx = i;
		snprintf(p->name, sizeof(p->name), "port%u", i);
		for (unsigned q = 0; q < VHOST_MAX_QUEUES; q++)
			p->q[q].kick_fd = -1;
		struct vhost_dev_cfg dcfg = {.name = p->name,
					     .max_queue_pairs = (uint16_t)o->queues,
					     .mtu = (uint16_t)o->mtu,
					     /* frames go to the other port as they came: no
					      * software fallback for a peer without offloads */
					     .no_offloads = true};
		p->dev = vhost_dev_new(&dcfg, &lb_ops, p);
		if (!p->dev)
			return -ENOMEM;
		snprintf(path, sizeof(path), "%s/port%u.sock", o->run_dir, i);
		struct vhost_sock_cfg scfg = {.path = path,
					      .mode =
						  o->client ? VHOST_SOCK_CLIENT : VHOST_SOCK_SERVER,
					      .perm = o->perm,
					      .owner = (uid_t)-1,
					      .group = (gid_t)-1};
		p->sock = vhost_sock_open(&scfg, p->dev);
		if (!p->sock) {
			int err = errno;
			RS_LOG(RS_LOG_ERR, "loopback", "%s: cannot open %s: %s", p->name, path,
			       strerror(err));
			return -err;
		}
	}
	return 0;
}

static void lb_close_ports(void)
{
	for (unsigned i = 0; i < lb.nports; i++) {
		if (lb.ports[i].sock)
			vhost_sock_close(lb.ports[i].sock);
		if (lb.ports[i].dev)
			vhost_dev_free(lb.ports[i].dev);
	}
}

int main(int argc, char **argv)
{
	struct lb_opts o = {.run_dir = "/tmp/ringswitch-loopback", .queues = 4, .perm = 0660};
	pthread_t fwd;
	sigset_t sigs;
	int rc = 1;

	lb.nports = 2;
	if (parse_args(argc, argv, &o))
		return 2;
	if (mkdir(o.run_dir, 0770) && errno != EEXIST) {
		fprintf(stderr, "ringswitch-loopback: cannot create %s: %s\n", o.run_dir,
			strerror(errno));
		return 1;
	}
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGUSR1);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL); /* inherited by the forwarder */
	signal(SIGPIPE, SIG_IGN);
	int sigfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	lb.epfd = epoll_create1(EPOLL_CLOEXEC);
	lb.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (sigfd < 0 || lb.epfd < 0 || lb.wake_fd < 0 ||
	    pbuf_pool_init(&lb.pool, LB_POOL_BUFS, LB_POOL_ROOM)) {
		perror("ringswitch-loopback: setup");
		return 1;
	}
	struct epoll_event ev = {.events = EPOLLIN | EPOLLET,
				 .data.u64 = (uint64_t)(unsigned)lb.wake_fd};
	epoll_ctl(lb.epfd, EPOLL_CTL_ADD, lb.wake_fd, &ev);
	if (pthread_create(&fwd, NULL, lb_forwarder, NULL)) {
		perror("ringswitch-loopback: thread");
		return 1;
	}
	if (lb_open_ports(&o) == 0) {
		printf("ready\n");
		fflush(stdout);
		rc = lb_control_loop(sigfd) ? 1 : 0;
		lb_print_stats();
	}
	lb_close_ports(); /* stops every queue through lb_queue_state before freeing */
	atomic_store(&lb.stop, true);
	(void)eventfd_write(lb.wake_fd, 1);
	pthread_join(fwd, NULL);
	pbuf_pool_fini(&lb.pool);
	close(lb.epfd);
	close(lb.wake_fd);
	close(sigfd);
	return rc;
}
