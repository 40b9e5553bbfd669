/*
 * test_port_vhost.c - vhost-user ports driven in-process against the test
 * front-end (tests/support/fe.h) over real unix sockets in a temporary
 * directory. A control thread runs the port's pollfds/handle loop; the test
 * thread plays the guest (fe_*) and the forwarding thread (the bursts), so
 * the front-end's blocking request/reply calls are answered while it waits.
 *
 * The hand-off of port.h is honoured as the datapath does: queue_state(false)
 * clears the queue's ready flag, then waits until the test thread is outside
 * every burst (a Dekker pair of seq_cst flags).
 *
 * Covered: queue_state and link_state callbacks, queue numbering (port rx
 * queue k = guest TX queue k), frames both ways byte for byte, in_port and
 * in_queue, bursts larger than VQ_BURST_MAX, the call eventfd written once
 * per burst and only when the guest asked (EVENT_IDX and flags), kick
 * suppression and the wait fd, drop and broken statistics, client-mode
 * reconnection with counters kept, and open() argument errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fe.h"
#include "lib/pbuf.h"
#include "ports/port.h"

#define WAIT_MS	  3000
#define POOL_BUFS 512
#define POOL_ROOM 2048
#define ETH_TEST  0x88b5 /* IEEE 802 local experimental ethertype */

struct harness {
	char dir[64];
	char path[96];
	struct port port;
	bool opened;
	pthread_t ctl;
	bool ctl_running;
	atomic_bool stop;
	atomic_bool ready[2][PORT_MAX_QUEUES];
	atomic_int ready_events[2];
	atomic_int stop_events[2];
	atomic_int link_up, link_down;
	atomic_int in_dp; /* the test thread is inside a burst */
	struct pbuf_pool pool;
	struct fe fe;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/* ---- port events (control thread) ---------------------------------------- */

static void on_queue_state(void *opaque, struct port *p, enum port_dir dir, uint16_t q, bool ready)
{
	struct harness *h = opaque;

	/* The control thread: cmocka's assertions are not thread-safe. */
	if (p != &h->port || q >= PORT_MAX_QUEUES || (unsigned)dir > PORT_TX)
		abort();
	if (ready) {
		atomic_store(&h->ready[dir][q], true);
		atomic_fetch_add(&h->ready_events[dir], 1);
		return;
	}
	atomic_store(&h->ready[dir][q], false);
	/* Pairs with the test thread's store of in_dp before it reads the ready flag. */
	while (atomic_load(&h->in_dp))
		sched_yield();
	atomic_fetch_add(&h->stop_events[dir], 1);
}

static void on_link_state(void *opaque, struct port *p, bool up)
{
	struct harness *h = opaque;

	if (p != &h->port)
		abort();
	atomic_fetch_add(up ? &h->link_up : &h->link_down, 1);
}

static void *ctl_main(void *arg)
{
	struct harness *h = arg;
	struct port *p = &h->port;

	while (!atomic_load(&h->stop)) {
		struct pollfd pfd[PORT_MAX_POLLFDS];
		unsigned n = p->ops->pollfds(p, pfd, PORT_MAX_POLLFDS);
		int t = p->ops->timeout_ms(p, now_ms());
		if (t < 0 || t > 10)
			t = 10;
		(void)poll(pfd, n, t);
		p->ops->handle(p, pfd, n, now_ms());
	}
	return NULL;
}

/* ---- fixture ------------------------------------------------------------- */

/* The harness goes in *state so that the teardown cleans up after a failed assertion. */
static struct harness *harness_new(void **state)
{
	struct harness *h = calloc(1, sizeof(*h));

	assert_non_null(h);
	*state = h;
	strcpy(h->dir, "/tmp/rs-port-vhost-XXXXXX");
	assert_non_null(mkdtemp(h->dir));
	snprintf(h->path, sizeof(h->path), "%s/p.sock", h->dir);
	assert_int_equal(pbuf_pool_init(&h->pool, POOL_BUFS, POOL_ROOM), 0);
	fe_init(&h->fe, &(struct fe_cfg){0}); /* fe_close is safe from here on */
	return h;
}

static int harness_open(struct harness *h, enum port_type type, uint16_t queues)
{
	struct port *p = &h->port;

	memset(p, 0, sizeof(*p));
	p->id = 7;
	snprintf(p->name, sizeof(p->name), "vh%u", (unsigned)type);
	p->cfg.type = type;
	memcpy(p->cfg.name, p->name, sizeof(p->name));
	snprintf(p->cfg.path, sizeof(p->cfg.path), "%s", h->path);
	p->cfg.owner = (uid_t)-1;
	p->cfg.group = (gid_t)-1;
	p->cfg.queues = queues;
	p->cfg.reconnect_ms = 20;
	p->ops = port_ops_for(type);
	p->events.queue_state = on_queue_state;
	p->events.link_state = on_link_state;
	p->events_opaque = h;
	int rc = p->ops->open(p);
	if (rc == 0) {
		h->opened = true;
		atomic_store(&h->stop, false);
		assert_int_equal(pthread_create(&h->ctl, NULL, ctl_main, h), 0);
		h->ctl_running = true;
	}
	return rc;
}

static void harness_stop_ctl(struct harness *h)
{
	if (!h->ctl_running)
		return;
	atomic_store(&h->stop, true);
	pthread_join(h->ctl, NULL);
	h->ctl_running = false;
}

static void harness_free(struct harness *h)
{
	fe_close(&h->fe);
	harness_stop_ctl(h);
	if (h->opened)
		h->port.ops->close(&h->port); /* the test thread is the control thread now */
	pbuf_pool_fini(&h->pool);
	unlink(h->path);
	rmdir(h->dir);
	free(h);
}

#define WAIT_FOR(cond)                                                                             \
	do {                                                                                       \
		uint64_t deadline_ = now_ms() + WAIT_MS;                                           \
		while (!(cond) && now_ms() < deadline_)                                            \
			sleep_ms(1);                                                               \
		assert_true(cond);                                                                 \
	} while (0)

static bool all_ready(struct harness *h, uint16_t pairs, bool want)
{
	for (uint16_t q = 0; q < pairs; q++)
		if (atomic_load(&h->ready[PORT_RX][q]) != want ||
		    atomic_load(&h->ready[PORT_TX][q]) != want)
			return false;
	return true;
}

/* Connects the front-end as a server-mode port's peer and waits for every queue. */
static void fe_up(struct harness *h, const struct fe_cfg *cfg)
{
	int rc = fe_open(&h->fe, cfg, h->path);

	if (rc < 0)
		fail_msg("fe_open: %s (%s)", strerror(-rc), h->fe.err);
	WAIT_FOR(all_ready(h, h->fe.cfg.queue_pairs, true));
}

/* ---- datapath wrappers (the test thread as forwarding thread) ------------- */

static int dp_rx(struct harness *h, uint16_t q, struct pbuf **pkts, unsigned max)
{
	struct port *p = &h->port;
	int n = -EAGAIN;

	atomic_store(&h->in_dp, 1);
	if (atomic_load(&h->ready[PORT_RX][q])) {
		n = p->ops->rx_burst(p, q, &h->pool, pkts, max);
		/* The test keeps the frames: copy split ones in before their buffers go back. */
		for (int i = 0; i < n; i++)
			pbuf_linearize(pkts[i]);
		if (p->ops->rx_done)
			p->ops->rx_done(p, q);
	}
	atomic_store(&h->in_dp, 0);
	return n;
}

static int dp_tx(struct harness *h, uint16_t q, struct pbuf *const *pkts, unsigned n)
{
	struct port *p = &h->port;
	int r = -EAGAIN;

	atomic_store(&h->in_dp, 1);
	if (atomic_load(&h->ready[PORT_TX][q]))
		r = p->ops->tx_burst(p, q, pkts, n);
	atomic_store(&h->in_dp, 0);
	return r;
}

/* Polls rx queue q until 'want' frames came (or the deadline); returns how many. */
static unsigned rx_collect(struct harness *h, uint16_t q, struct pbuf **pkts, unsigned want)
{
	uint64_t deadline = now_ms() + WAIT_MS;
	unsigned got = 0;

	while (got < want && now_ms() < deadline) {
		int n = dp_rx(h, q, pkts + got, want - got);
		assert_true(n >= 0);
		got += (unsigned)n;
		if (n == 0)
			sleep_ms(1);
	}
	return got;
}

/* ---- frames -------------------------------------------------------------- */

static size_t frame_len(unsigned seed)
{
	return 60 + (seed * 97) % 1400;
}

static void frame_fill(uint8_t *f, size_t len, unsigned seed)
{
	static const uint8_t dst[6] = {0x02, 0, 0, 0, 0, 0x02};
	static const uint8_t src[6] = {0x02, 0, 0, 0, 0, 0x01};

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = ETH_TEST >> 8;
	f[13] = ETH_TEST & 0xff;
	for (size_t i = 14; i < len; i++)
		f[i] = (uint8_t)(seed * 31 + i * 7);
}

static void check_frame(const uint8_t *got, size_t got_len, unsigned seed)
{
	uint8_t want[POOL_ROOM];
	size_t len = frame_len(seed);

	frame_fill(want, len, seed);
	assert_int_equal(got_len, len);
	assert_memory_equal(got, want, len);
}

static void fe_send_frames(struct harness *h, unsigned pair, unsigned first, unsigned n)
{
	uint8_t f[POOL_ROOM];

	for (unsigned i = first; i < first + n; i++) {
		size_t len = frame_len(i);
		frame_fill(f, len, i);
		int rc = fe_send(&h->fe, pair, f, len);
		if (rc < 0)
			fail_msg("fe_send: %s", h->fe.err);
	}
}

/* Receives 'n' frames on rx queue q and checks them against seeds first.. */
static uint64_t port_recv_frames(struct harness *h, uint16_t q, unsigned first, unsigned n)
{
	struct pbuf *pkts[256];
	uint64_t bytes = 0;

	assert_true(n <= 256);
	assert_int_equal(rx_collect(h, q, pkts, n), n);
	for (unsigned i = 0; i < n; i++) {
		check_frame(pkts[i]->data, pkts[i]->len, first + i);
		assert_int_equal(pkts[i]->in_port, 7);
		assert_int_equal(pkts[i]->in_queue, q);
		bytes += pkts[i]->len;
	}
	pbuf_free_bulk(&h->pool, pkts, n);
	return bytes;
}

/* Sends 'n' frames (seeds first..) in one tx_burst; returns the count delivered. */
static int port_send_frames(struct harness *h, uint16_t q, unsigned first, unsigned n)
{
	struct pbuf *pkts[256];

	assert_true(n <= 256);
	for (unsigned i = 0; i < n; i++) {
		pkts[i] = pbuf_alloc(&h->pool);
		assert_non_null(pkts[i]);
		pkts[i]->len = (uint32_t)frame_len(first + i);
		frame_fill(pkts[i]->data, pkts[i]->len, first + i);
	}
	int r = dp_tx(h, q, pkts, n);
	pbuf_free_bulk(&h->pool, pkts, n);
	return r;
}

static uint64_t fe_recv_frames(struct harness *h, unsigned pair, unsigned first, unsigned n)
{
	uint8_t buf[POOL_ROOM];
	uint64_t bytes = 0;

	for (unsigned i = first; i < first + n; i++) {
		size_t len = 0;
		int rc = fe_recv(&h->fe, pair, buf, sizeof(buf), &len);
		if (rc < 0)
			fail_msg("fe_recv frame %u: %s (%s)", i, strerror(-rc), h->fe.err);
		check_frame(buf, len, i);
		bytes += len;
	}
	return bytes;
}

/* Eventfd writes the port made to the guest's call fd of 'qid' since the last look. */
static uint64_t calls(struct harness *h, uint16_t qid)
{
	uint64_t v = 0;

	if (read(h->fe.vq[qid].callfd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

static struct port_queue_stats stats(struct harness *h, enum port_dir dir, uint16_t q)
{
	struct port_queue_stats s;

	h->port.ops->queue_stats(&h->port, dir, q, &s);
	return s;
}

/* Guest side: "interrupt me once used->idx passes its current value" (2.7.10). */
static void guest_arm(struct fe_vq *vq)
{
	if (vq->event_idx)
		vq->avail->ring[vq->num] = vq->used->idx; /* used_event */
	else
		vq->avail->flags = 0;
	atomic_thread_fence(memory_order_seq_cst);
}

/* Guest side: no interrupts wanted. */
static void guest_mute(struct fe_vq *vq)
{
	if (vq->event_idx)
		vq->avail->ring[vq->num] = (uint16_t)(vq->used->idx - 1); /* already passed */
	else
		vq->avail->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	atomic_thread_fence(memory_order_seq_cst);
}

/* ---- tests --------------------------------------------------------------- */

static void test_port_types(void **state)
{
	static const struct {
		const char *s;
		int rc;
		enum port_type t;
	} cases[] = {
	    {"vhost-user-server", 0, PORT_VHOST_SERVER},
	    {"vhost-user-client", 0, PORT_VHOST_CLIENT},
	    {"tap", 0, PORT_TAP},
	    {"vhost-user", -EINVAL, 0},
	    {"TAP", -EINVAL, 0},
	    {"", -EINVAL, 0},
	    {"tap ", -EINVAL, 0},
	};
	(void)state;
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum port_type t = (enum port_type)99;
		assert_int_equal(port_type_parse(cases[i].s, &t), cases[i].rc);
		if (cases[i].rc == 0) {
			assert_int_equal(t, cases[i].t);
			assert_string_equal(port_type_name(t), cases[i].s);
		}
	}
	assert_int_equal(port_type_parse(NULL, &(enum port_type){0}), -EINVAL);
	assert_string_equal(port_type_name((enum port_type)42), "unknown");
	assert_ptr_equal(port_ops_for(PORT_VHOST_SERVER), &port_vhost_ops);
	assert_ptr_equal(port_ops_for(PORT_VHOST_CLIENT), &port_vhost_ops);
	assert_ptr_equal(port_ops_for(PORT_TAP), &port_tap_ops);
}

static void test_open_errors(void **state)
{
	struct harness *h = harness_new(state);

	(void)state;
	assert_int_equal(harness_open(h, PORT_VHOST_SERVER, 0), -EINVAL);
	assert_int_equal(harness_open(h, PORT_VHOST_SERVER, PORT_MAX_QUEUES + 1), -EINVAL);
	/* A file that is not a socket is never removed. */
	int fd = open(h->path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(harness_open(h, PORT_VHOST_SERVER, 1), -EEXIST);
	unlink(h->path);
	h->path[0] = '\0';
	assert_int_equal(harness_open(h, PORT_VHOST_SERVER, 1), -EINVAL);
	assert_int_equal(atomic_load(&h->ready_events[PORT_RX]), 0);
	harness_free(h);
	*state = NULL;
}

/* Two pairs: callbacks, numbering, both directions byte for byte, stats, disconnect. */
static void test_server_traffic(void **state)
{
	struct harness *h = harness_new(state);
	struct port *p = &h->port;

	(void)state;
	assert_int_equal(harness_open(h, PORT_VHOST_SERVER, 2), 0);
	struct stat st;
	assert_int_equal(stat(h->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0660);
	assert_int_equal(p->ops->nr_queues(p, PORT_RX), 0);

	fe_up(h, &(struct fe_cfg){.queue_pairs = 2});
	assert_int_equal(atomic_load(&h->link_up), 1);
	assert_int_equal(atomic_load(&h->ready_events[PORT_RX]), 2);
	assert_int_equal(atomic_load(&h->ready_events[PORT_TX]), 2);
	assert_int_equal(p->ops->nr_queues(p, PORT_RX), 2);
	assert_int_equal(p->ops->nr_queues(p, PORT_TX), 2);

	/* Guest TX pair k arrives on port rx queue k; more than VQ_BURST_MAX in one call. */
	fe_send_frames(h, 0, 0, 5);
	fe_send_frames(h, 1, 100, 40);
	uint64_t b0 = port_recv_frames(h, 0, 0, 5);
	uint64_t b1 = port_recv_frames(h, 1, 100, 40);
	struct pbuf *none[4];
	assert_int_equal(dp_rx(h, 0, none, 4), 0);
	assert_int_equal(dp_rx(h, 1, none, 4), 0);

	/* Port tx queue k reaches the guest's RX pair k. */
	assert_int_equal(port_send_frames(h, 0, 200, 3), 3);
	assert_int_equal(port_send_frames(h, 1, 300, 50), 50);
	uint64_t t0 = fe_recv_frames(h, 0, 200, 3);
	uint64_t t1 = fe_recv_frames(h, 1, 300, 50);
	assert_int_equal(h->fe.dev_errors, 0);

	struct port_queue_stats s = stats(h, PORT_RX, 0);
	assert_int_equal(s.packets, 5);
	assert_int_equal(s.bytes, b0);
	assert_int_equal(s.broken, 0);
	assert_null(s.broken_reason);
	s = stats(h, PORT_RX, 1);
	assert_int_equal(s.packets, 40);
	assert_int_equal(s.bytes, b1);
	s = stats(h, PORT_TX, 0);
	assert_int_equal(s.packets, 3);
	assert_int_equal(s.bytes, t0);
	assert_int_equal(s.drop_full + s.drop_too_big + s.drop_malformed, 0);
	s = stats(h, PORT_TX, 1);
	assert_int_equal(s.packets, 50);
	assert_int_equal(s.bytes, t1);

	/* The front-end goes away: every queue stopped, link down, counters kept. */
	fe_close(&h->fe);
	WAIT_FOR(atomic_load(&h->link_down) == 1);
	assert_true(all_ready(h, 2, false));
	assert_int_equal(atomic_load(&h->stop_events[PORT_RX]), 2);
	assert_int_equal(atomic_load(&h->stop_events[PORT_TX]), 2);
	assert_int_equal(p->ops->nr_queues(p, PORT_RX), 0);
	assert_int_equal(stats(h, PORT_RX, 1).packets, 40);
	assert_int_equal(stats(h, PORT_TX, 1).packets, 50);
	harness_free(h);
	*state = NULL;
}

/*
 * The call eventfd: at most one write per port burst, whatever its size, and
 * only when the guest asked (used_event with EVENT_IDX, else the flag).
 */
static void interrupts(void **state, bool event_idx)
{
	struct harness *h = harness_new(state);
	uint64_t off = event_idx ? 0 : VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX);

	assert_int_equal(harness_open(h, PORT_VHOST_SERVER, 1), 0);
	fe_up(h, &(struct fe_cfg){.features_off = off});
	struct fe_vq *gtx = &h->fe.vq[1], *grx = &h->fe.vq[0];
	assert_int_equal(gtx->event_idx, event_idx);

	/* Port rx (guest TX): 40 frames, two vq bursts, one call. */
	guest_arm(gtx);
	fe_send_frames(h, 0, 0, 40);
	assert_int_equal(calls(h, 1), 0);
	port_recv_frames(h, 0, 0, 40);
	assert_int_equal(calls(h, 1), 1);
	/* Not asked: no call. */
	guest_mute(gtx);
	fe_send_frames(h, 0, 40, 8);
	port_recv_frames(h, 0, 40, 8);
	assert_int_equal(calls(h, 1), 0);
	/* Asked again: one call for the next burst. */
	guest_arm(gtx);
	fe_send_frames(h, 0, 48, 3);
	port_recv_frames(h, 0, 48, 3);
	assert_int_equal(calls(h, 1), 1);
	/* An empty burst publishes nothing and never calls. */
	struct pbuf *none[4];
	assert_int_equal(dp_rx(h, 0, none, 4), 0);
	assert_int_equal(calls(h, 1), 0);

	/* Port tx (guest RX): the same rules. */
	guest_arm(grx);
	assert_int_equal(port_send_frames(h, 0, 500, 40), 40);
	assert_int_equal(calls(h, 0), 1);
	fe_recv_frames(h, 0, 500, 40);
	(void)calls(h, 0);
	guest_mute(grx);
	assert_int_equal(port_send_frames(h, 0, 600, 5), 5);
	assert_int_equal(calls(h, 0), 0);
	fe_recv_frames(h, 0, 600, 5);
	(void)calls(h, 0);
	guest_arm(grx);
	assert_int_equal(port_send_frames(h, 0, 700, 2), 2);
	assert_int_equal(calls(h, 0), 1);
	fe_recv_frames(h, 0, 700, 2);
	assert_int_equal(h->fe.dev_errors, 0);
	harness_free(h);
	*state = NULL;
}

static void test_interrupts_event_idx(void **state)
{
	interrupts(state, true);
}

static void test_interrupts_flags(void **state)
{
	interrupts(state, false);
}

static bool fd_readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static void drain(int fd)
{
	uint64_t v;

	(void)!read(fd, &v, sizeof(v));
}

/* rxq_notify drives kick suppression; rxq_wait_fd is the guest's kick eventfd. */
static void kicks(void **state, bool event_idx)
{
	struct harness *h = harness_new(state);
	struct port *p = &h->port;
	uint64_t off = event_idx ? 0 : VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX);

	assert_int_equal(harness_open(h, PORT_VHOST_SERVER, 1), 0);
	fe_up(h, &(struct fe_cfg){.features_off = off});
	struct fe_vq *gtx = &h->fe.vq[1];
	int wfd = p->ops->rxq_wait_fd(p, 0);
	assert_true(wfd >= 0);
	drain(wfd);

	/* Enabled with nothing pending: sleep allowed; the next frame kicks. */
	assert_false(p->ops->rxq_notify(p, 0, true));
	uint64_t k0 = gtx->st.kicks;
	fe_send_frames(h, 0, 0, 1);
	assert_int_equal(gtx->st.kicks, k0 + 1);
	assert_true(fd_readable(wfd));
	drain(wfd);
	/* Enabled again with a chain pending: do not sleep. */
	assert_true(p->ops->rxq_notify(p, 0, true));
	/* Disabled while polling: the guest stops kicking. */
	p->ops->rxq_notify(p, 0, false);
	port_recv_frames(h, 0, 0, 1);
	k0 = gtx->st.kicks;
	uint64_t s0 = gtx->st.kicks_suppressed;
	fe_send_frames(h, 0, 1, 4);
	if (event_idx) /* avail_event stays behind: at most the first publish kicks */
		assert_true(gtx->st.kicks <= k0 + 1);
	else
		assert_int_equal(gtx->st.kicks, k0);
	assert_true(gtx->st.kicks_suppressed >= s0 + 3);
	port_recv_frames(h, 0, 1, 4);
	drain(wfd);
	assert_false(p->ops->rxq_notify(p, 0, true));
	fe_send_frames(h, 0, 5, 1);
	assert_true(fd_readable(wfd));
	port_recv_frames(h, 0, 5, 1);
	harness_free(h);
	*state = NULL;
}

static void test_kicks_event_idx(void **state)
{
	kicks(state, true);
}

static void test_kicks_flags(void **state)
{
	kicks(state, false);
}

/* Drops are counted per reason, never truncated; a ring violation breaks only its queue. */
static void test_drops_and_broken(void **state)
{
	struct harness *h = harness_new(state);

	(void)state;
	assert_int_equal(harness_open(h, PORT_VHOST_SERVER, 1), 0);
	/* One buffer per frame (no MRG_RXBUF) of 12 + 1514 bytes, only 4 of them posted. */
	fe_up(h,
	      &(struct fe_cfg){.features_off = VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF), .rx_post = 4});
	struct pbuf *big = pbuf_alloc(&h->pool);
	big->len = 1600;
	frame_fill(big->data, big->len, 9);
	assert_int_equal(dp_tx(h, 0, &big, 1), 0);
	pbuf_free(&h->pool, big);
	struct port_queue_stats s = stats(h, PORT_TX, 0);
	assert_int_equal(s.drop_too_big, 1);
	assert_int_equal(s.packets, 0);

	assert_int_equal(port_send_frames(h, 0, 0, 6), 4);
	s = stats(h, PORT_TX, 0);
	assert_int_equal(s.packets, 4);
	assert_int_equal(s.drop_full, 2);
	fe_recv_frames(h, 0, 0, 4);

	/* The front-end's error eventfd for its TX queue (vhost queue 1). */
	int err = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	uint64_t idx1 = 1;
	assert_true(err >= 0);
	assert_int_equal(fe_request(&h->fe, VHOST_USER_SET_VRING_ERR, &idx1, 8, &err, 1), 0);
	WAIT_FOR(atomic_load(&h->ready[PORT_RX][0]));

	/* The guest moves its TX avail index by more than the queue size (2.7.13.3). */
	fe_send_frames(h, 0, 10, 1);
	port_recv_frames(h, 0, 10, 1);
	struct fe_vq *gtx = &h->fe.vq[1];
	gtx->avail->idx = (uint16_t)(gtx->avail_idx + gtx->num + 1);
	struct pbuf *pkts[4];
	assert_int_equal(dp_rx(h, 0, pkts, 4), -EIO);
	assert_int_equal(dp_rx(h, 0, pkts, 4), -EIO);
	s = stats(h, PORT_RX, 0);
	assert_int_equal(s.broken, 1);
	assert_non_null(s.broken_reason);
	assert_string_equal(s.broken_reason, "avail_idx_jump");
	assert_int_equal(s.packets, 1);
	/* "VHOST_USER_SET_VRING_ERR ... used to signal an error condition": once per break. */
	eventfd_t nerr = 0;
	assert_int_equal(eventfd_read(err, &nerr), 0);
	assert_int_equal(nerr, 1);
	close(err);
	/* The other direction is unaffected. */
	assert_int_equal(stats(h, PORT_TX, 0).broken, 0);
	assert_int_equal(port_send_frames(h, 0, 20, 1), 1);
	fe_recv_frames(h, 0, 20, 1);
	harness_free(h);
	*state = NULL;
}

/*
 * SEND_RARP after a live migration: the port injects, on rx queue 0, the
 * announcement DPDK's vhost library builds (make_rarp_packet), as if the
 * guest had sent it: 64 bytes, broadcast from the guest's MAC, type 0x8035,
 * Ethernet/IPv4, opcode 3 (reverse request), both hardware addresses the
 * guest's, protocol addresses and padding zero. Once, not again.
 */
static void test_send_rarp_injects(void **state)
{
	struct harness *h = harness_new(state);
	static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0xab, 0xcd, 0xef};
	uint8_t want[64] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0x00, 0xab, 0xcd,
			    0xef, 0x80, 0x35, 0x00, 0x01, 0x08, 0x00, 6,    4,	  0x00, 0x03};
	uint64_t v = 0;
	struct pbuf *pkts[4];

	(void)state;
	memcpy(want + 22, mac, 6); /* sender hardware address, then sender IP 0 */
	memcpy(want + 32, mac, 6); /* target hardware address, then target IP 0 */
	assert_int_equal(harness_open(h, PORT_VHOST_SERVER, 1), 0);
	fe_up(h, &(struct fe_cfg){0});
	memcpy(&v, mac, 6);
	assert_int_equal(fe_request(&h->fe, VHOST_USER_SEND_RARP, &v, 8, NULL, 0), 0);
	assert_int_equal(rx_collect(h, 0, pkts, 1), 1);
	assert_int_equal(pkts[0]->len, 64);
	assert_memory_equal(pkts[0]->data, want, 64);
	assert_int_equal(pkts[0]->in_port, (uint16_t)h->port.id);
	assert_int_equal(pkts[0]->in_queue, 0);
	pbuf_free(&h->pool, pkts[0]);
	assert_int_equal(dp_rx(h, 0, pkts, 4), 0);
	assert_int_equal(stats(h, PORT_RX, 0).announces, 1);
	/* Guest frames still flow behind it. */
	fe_send_frames(h, 0, 7, 3);
	port_recv_frames(h, 0, 7, 3);
	harness_free(h);
	*state = NULL;
}

/* Client mode: the front-end listens, goes away, comes back; same port, counters kept. */
static void test_client_reconnect(void **state)
{
	struct harness *h = harness_new(state);
	struct port *p = &h->port;
	struct fe_cfg cfg = {.queue_pairs = 1};

	(void)state;
	int lfd = fe_listen(h->path);
	assert_true(lfd >= 0);
	assert_int_equal(harness_open(h, PORT_VHOST_CLIENT, 1), 0);
	for (unsigned round = 0; round < 2; round++) {
		int fd = fe_accept(lfd, WAIT_MS);
		assert_true(fd >= 0);
		fe_init(&h->fe, &cfg);
		fe_adopt(&h->fe, fd);
		int rc = fe_setup(&h->fe);
		if (rc < 0)
			fail_msg("fe_setup round %u: %s", round, h->fe.err);
		WAIT_FOR(all_ready(h, 1, true));
		assert_int_equal(atomic_load(&h->link_up), round + 1);
		assert_int_equal(p->ops->nr_queues(p, PORT_RX), 1);

		fe_send_frames(h, 0, round * 10, 3);
		port_recv_frames(h, 0, round * 10, 3);
		assert_int_equal(port_send_frames(h, 0, 100 + round * 10, 2), 2);
		fe_recv_frames(h, 0, 100 + round * 10, 2);
		assert_int_equal(stats(h, PORT_RX, 0).packets, 3 * (round + 1));
		assert_int_equal(stats(h, PORT_TX, 0).packets, 2 * (round + 1));

		/* QEMU exits: connection and listening socket gone. */
		fe_close(&h->fe);
		close(lfd);
		unlink(h->path);
		WAIT_FOR(atomic_load(&h->link_down) == (int)round + 1);
		assert_true(all_ready(h, 1, false));
		assert_int_equal(p->ops->nr_queues(p, PORT_TX), 0);
		sleep_ms(50); /* a few failed attempts: the backoff grows */
		lfd = fe_listen(h->path);
		assert_true(lfd >= 0);
	}
	assert_int_equal(stats(h, PORT_RX, 0).packets, 6);
	assert_int_equal(stats(h, PORT_TX, 0).packets, 4);
	close(lfd);
	harness_free(h);
	*state = NULL;
}

static int teardown(void **state)
{
	if (*state)
		harness_free(*state);
	*state = NULL;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_port_types),
	    cmocka_unit_test_teardown(test_open_errors, teardown),
	    cmocka_unit_test_teardown(test_server_traffic, teardown),
	    cmocka_unit_test_teardown(test_interrupts_event_idx, teardown),
	    cmocka_unit_test_teardown(test_interrupts_flags, teardown),
	    cmocka_unit_test_teardown(test_kicks_event_idx, teardown),
	    cmocka_unit_test_teardown(test_kicks_flags, teardown),
	    cmocka_unit_test_teardown(test_drops_and_broken, teardown),
	    cmocka_unit_test_teardown(test_send_rarp_injects, teardown),
	    cmocka_unit_test_teardown(test_client_reconnect, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
