/*
 * dp_thread.c - the forwarding threads: the poll loop over the rx queues a
 * view assigns to a thread, adaptive polling (busy-poll while packets flow;
 * after 'idle_us' without any, re-enable notifications, re-check the queues
 * and sleep in epoll on their wait fds and the thread's wake eventfd), and
 * the quiescent-state bookkeeping that lets the control thread know when an
 * old view is no longer in use (dp_synchronize).
 */
#include "dp_internal.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "../lib/log.h"

uint32_t dp_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint32_t)ts.tv_sec;
}

uint64_t dp_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t dp_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool broken_logged(struct dp_thread *t, uint32_t port, uint16_t q, bool set)
{
	uint8_t bit = (uint8_t)(1u << (q & 7));
	bool was = t->broken_logged[port][q / 8] & bit;
	if (set)
		t->broken_logged[port][q / 8] |= bit;
	return was;
}

/*
 * A broken queue stays in the view until its front-end resets it (which
 * stops it: a new view). Forgetting what was logged whenever the view changes
 * logs the next break of a reset queue, or of a new port that reuses the id,
 * at the price of one more (rate-limited) line for a queue still broken.
 */
static void dp_rxq_broken(struct dp_thread *t, const struct dp_view *v, struct port *p, uint16_t q)
{
	rs_stat_add(&t->pc[p->id].drop_broken, 1);
	if (t->broken_version != v->version) {
		memset(t->broken_logged, 0, sizeof(t->broken_logged));
		t->broken_version = v->version;
	}
	if (broken_logged(t, p->id, q, true))
		return;
	struct port_queue_stats st = {0};
	p->ops->queue_stats(p, PORT_RX, q, &st);
	RS_LOG_RL(RS_LOG_WARN, "dp", "port %s rxq %u stopped: guest broke the ring (%s)", p->name,
		  q, st.broken_reason ? st.broken_reason : "unknown");
}

/* Receives and switches one burst from one rx queue; returns frames received. */
static unsigned dp_poll_rxq(struct dp_thread *t, const struct dp_view *v,
			    const struct dp_rxq_ref *r)
{
	struct pbuf *pkts[DP_BURST];
	struct port *p = v->ports[r->port].port;
	int n = p->ops->rx_burst(p, r->q, &t->pool, pkts, DP_BURST);
	if (RS_UNLIKELY(n < 0)) {
		dp_rxq_broken(t, v, p, r->q);
		n = 0;
	}
	if (n > 0) {
		rs_stat_add(&t->bursts, 1);
		dp_pipeline_run(t, v, r->port, pkts, (unsigned)n);
	}
	/* After the pipeline freed the frames (split frames refer to the sender's buffers). */
	if (p->ops->rx_done)
		p->ops->rx_done(p, r->q);
	return (unsigned)n;
}

/* Turns notifications of every owned queue on or off; on: false when work is pending. */
static bool dp_notify_all(struct dp_thread *t, const struct dp_view *v, bool enable)
{
	bool quiet = true;
	for (unsigned i = 0; i < v->n_rxq[t->idx]; i++) {
		const struct dp_rxq_ref *r = &v->rxq[t->idx][i];
		struct port *p = v->ports[r->port].port;
		if (p->ops->rxq_notify(p, r->q, enable))
			quiet = false;
	}
	return quiet;
}

/* Rebuilds the epoll set for view 'v'; false when some queue has no wait fd. */
static bool dp_epoll_rebuild(struct dp_thread *t, const struct dp_view *v)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLET};
	bool ok = true;

	/* A fresh set each time: a closed fd's number may have been reused since. */
	if (t->epfd >= 0)
		close(t->epfd);
	t->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (t->epfd < 0)
		return false;
	ev.data.fd = t->wake_fd;
	epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->wake_fd, &ev);
	for (unsigned i = 0; i < v->n_rxq[t->idx]; i++) {
		const struct dp_rxq_ref *r = &v->rxq[t->idx][i];
		struct port *p = v->ports[r->port].port;
		int fd = p->ops->rxq_wait_fd(p, r->q);
		ev.data.fd = fd;
		if (fd < 0 || (epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev) && errno != EEXIST))
			ok = false;
	}
	t->ep_version = ok ? v->version : 0;
	return ok;
}

/*
 * Sleeps until a queue or control wakes the thread. Notifications are enabled
 * first and the queues re-checked through rxq_notify's return value, so a
 * frame that arrived after the last poll is never left waiting for the next
 * one.
 */
static void dp_try_sleep(struct dp_thread *t, const struct dp_view *v)
{
	struct epoll_event ev[16];

	if (t->ep_version != v->version && !dp_epoll_rebuild(t, v))
		return;
	if (!dp_notify_all(t, v, true))
		return;
	atomic_store(&t->sleeping, true);
	if (atomic_load(&t->dp->view) == v && !atomic_load(&t->stop)) {
		rs_stat_add(&t->sleeps, 1); /* read by control (dp_thread_info) */
		(void)epoll_wait(t->epfd, ev, RS_ARRAY_SIZE(ev), DP_SLEEP_MS);
	}
	atomic_store(&t->sleeping, false);
	/* The view may have changed while asleep: kicks are re-disabled for the
	 * queues of whatever view the next iteration loads. */
	t->seen_version = 0;
}

static void dp_pin(struct dp_thread *t)
{
	cpu_set_t set;
	if (t->core < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(t->core, &set);
	int err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	if (err)
		RS_LOG(RS_LOG_WARN, "dp", "thread %u: cannot pin to core %d: %s", t->idx, t->core,
		       strerror(err));
}

static void *dp_thread_main(void *arg)
{
	struct dp_thread *t = arg;
	uint64_t last_work = dp_now_ns();

	dp_pin(t);
#ifdef RS_AB_TOGGLE
	dp_ab_init(&t->ab);
#endif
	while (!atomic_load_explicit(&t->stop, memory_order_relaxed)) {
		const struct dp_view *v = atomic_load(&t->dp->view);
		uint64_t start = dp_rdtsc();
		unsigned moved = 0;

		t->now_s = dp_now_s();
		/* Kicks off for every owned queue: when the view changes, and again
		 * every DP_RENOTIFY_ITERS iterations, because a front-end may
		 * re-initialise its rings (testpmd's port start zeroes used->flags)
		 * without anything here changing, and would then kick per burst. */
		if (v->version != t->seen_version || (++t->iters & (DP_RENOTIFY_ITERS - 1)) == 0) {
			dp_notify_all(t, v, false);
			t->seen_version = v->version;
		}
		for (unsigned i = 0; i < v->n_rxq[t->idx]; i++)
			moved += dp_poll_rxq(t, v, &v->rxq[t->idx][i]);
		uint64_t cycles = dp_rdtsc() - start;
#ifdef RS_AB_TOGGLE
		dp_ab_tick(&t->ab, moved);
#endif
		if (moved) {
			rs_stat_add(&t->packets, moved);
			rs_stat_add(&t->busy_cycles, cycles);
			last_work = 0; /* read the clock at the first idle poll, not per burst */
		} else {
			rs_stat_add(&t->idle_cycles, cycles);
			if (!atomic_load_explicit(&t->dp->busy_poll, memory_order_relaxed)) {
				uint64_t now = dp_now_ns();
				if (last_work == 0)
					last_work = now;
				if (now - last_work >=
				    atomic_load_explicit(&t->dp->idle_ns, memory_order_relaxed)) {
					uint64_t s0 = dp_rdtsc();
					dp_try_sleep(t, v);
					rs_stat_add(&t->idle_cycles, dp_rdtsc() - s0);
					last_work = dp_now_ns();
				}
			}
		}
		/* Quiescent point: nothing of 'v' is held past here. Only this
		 * thread writes seq: a release store, not a locked increment. */
		atomic_store_explicit(&t->seq,
				      atomic_load_explicit(&t->seq, memory_order_relaxed) + 1,
				      memory_order_release);
	}
	atomic_store(&t->sleeping, true);
	return NULL;
}

static void dp_thread_free(struct dp_thread *t)
{
	if (t->wake_fd >= 0)
		close(t->wake_fd);
	if (t->epfd >= 0)
		close(t->epfd);
	pbuf_pool_fini(&t->pool);
	pbuf_pool_fini(&t->pool_big);
	emc_fini(&t->emc);
	free(t->burst);
	free(t);
}

static struct dp_thread *dp_thread_new(struct dp *dp, unsigned idx, int core)
{
	struct dp_thread *t = aligned_alloc(RS_CACHE_LINE, (sizeof(*t) + RS_CACHE_LINE - 1) &
							       ~(size_t)(RS_CACHE_LINE - 1));
	if (!t)
		return NULL;
	memset(t, 0, sizeof(*t));
	t->dp = dp;
	t->idx = idx;
	t->core = core;
	t->epfd = -1;
	t->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->wake_fd < 0 || pbuf_pool_init(&t->pool, DP_POOL_BUFS, DP_POOL_ROOM) ||
	    pbuf_pool_init(&t->pool_big, DP_POOL_BIG_BUFS, DP_POOL_BIG_ROOM) ||
	    emc_init(&t->emc, DP_EMC_ENTRIES) || !(t->burst = dp_burst_new())) {
		dp_thread_free(t);
		return NULL;
	}
	t->pool.big = &t->pool_big;
	t->cstats = cls_stats_register(dp->clst);
	if (!t->cstats) {
		dp_thread_free(t);
		return NULL;
	}
	return t;
}

int dp_threads_start(struct dp *dp)
{
	for (unsigned i = 0; i < dp->settings.n_cores; i++) {
		struct dp_thread *t = dp_thread_new(dp, i, dp->settings.cores[i]);
		if (!t)
			goto fail;
		dp->threads[i] = t;
		dp->n_threads = i + 1;
		int err = pthread_create(&t->tid, NULL, dp_thread_main, t);
		if (err) {
			errno = err;
			goto fail;
		}
		t->started = true;
		char name[16];
		snprintf(name, sizeof(name), "rs-pmd%d", t->core);
		pthread_setname_np(t->tid, name);
	}
	return 0;
fail:
	dp_threads_stop(dp);
	return -ENOMEM;
}

/* Folds a stopping thread's counters into the dp's retired totals. */
static void dp_thread_retire(struct dp *dp, struct dp_thread *t)
{
	for (unsigned p = 0; p < DP_MAX_PORTS; p++) {
		uint64_t *dst = (uint64_t *)&dp->retired_pc[p];
		const uint64_t *src = (const uint64_t *)&t->pc[p];
		for (size_t k = 0; k < sizeof(t->pc[p]) / sizeof(uint64_t); k++)
			dst[k] += src[k];
	}
	cls_stats_unregister(dp->clst, t->cstats);
}

void dp_threads_stop(struct dp *dp)
{
	for (unsigned i = 0; i < dp->n_threads; i++) {
		struct dp_thread *t = dp->threads[i];
		atomic_store(&t->stop, true);
		(void)eventfd_write(t->wake_fd, 1);
	}
	for (unsigned i = 0; i < dp->n_threads; i++) {
		struct dp_thread *t = dp->threads[i];
		if (t->started)
			pthread_join(t->tid, NULL);
		dp_thread_retire(dp, t);
		dp_thread_free(t);
		dp->threads[i] = NULL;
	}
	dp->n_threads = 0;
}

/*
 * Returns once every thread has passed a quiescent point after the caller's
 * last store to dp->view: its iteration counter moved (the iteration that
 * might have loaded the old view has ended), or it is asleep (it loads the
 * view afresh when it wakes). Threads never wait for control, so this ends.
 */
void dp_synchronize(struct dp *dp)
{
	uint64_t seen[DP_MAX_THREADS];

	for (unsigned i = 0; i < dp->n_threads; i++) {
		seen[i] = atomic_load(&dp->threads[i]->seq);
		(void)eventfd_write(dp->threads[i]->wake_fd, 1);
	}
	for (unsigned i = 0; i < dp->n_threads; i++) {
		struct dp_thread *t = dp->threads[i];
		while (atomic_load(&t->seq) == seen[i] && !atomic_load(&t->sleeping))
			sched_yield();
	}
}
