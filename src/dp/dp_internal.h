/*
 * dp_internal.h - the datapath's private structures, shared by dp.c (control
 * side), dp_thread.c (thread loop) and dp_pipeline.c (packet processing).
 *
 * Ownership: struct dp and struct dp_port are control-thread state, except the
 * fields marked (fwd). A struct dp_view is immutable once published; threads
 * load dp->view at the top of every iteration and may use it until their next
 * quiescent point (the 'seq' bump at the end of the iteration, or going to
 * sleep).
 */
#ifndef RS_DP_INTERNAL_H
#define RS_DP_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "dp.h"
#include "../lib/pbuf.h"
#include "../switch/emc.h"

#define DP_BURST	  64	/* frames per rx burst: VQ_BURST_MAX */
#define DP_RENOTIFY_ITERS 1024u /* power of 2: kick suppression re-asserted this often */
#define DP_MAX_RXQ	  64	/* rx queues one thread can poll */
#define DP_POOL_BUFS	  512
#define DP_POOL_ROOM	  10240
/* GSO super-frames (up to 64 KiB of IP packet plus L2 headers): a second,
 * smaller pool per thread; its pages are touched only when such frames flow. */
#define DP_POOL_BIG_BUFS 96
#define DP_POOL_BIG_ROOM (65536 + 512)
#define DP_SLEEP_MS	 100
#define DP_EMC_ENTRIES	 8192

/* A tx-queue lock, taken only when more than one thread can reach the queue. */
struct dp_txq_lock {
	atomic_flag busy;
} RS_CACHE_ALIGN;

/* Control-side state of one port; stable for the port's life. */
struct dp_port {
	struct port *port;
	struct dp *dp;
	struct dp_port_vlan vlan;
	struct dp_port_sec sec;
	int rxq_core[PORT_MAX_QUEUES];	 /* pinned core or -1 */
	int rxq_thread[PORT_MAX_QUEUES]; /* sticky owner, -1 while not ready */
	bool rxq_ready[PORT_MAX_QUEUES];
	bool txq_ready[PORT_MAX_QUEUES];
	struct dp_txq_lock txq_lock[PORT_MAX_QUEUES];
};

struct dp_pview {
	struct port *port; /* NULL: no port with this id */
	struct dp_port *dpp;
	struct dp_port_vlan vlan;
	bool trunk_all;		/* trunk with an empty list: every VLAN (derived from vlan) */
	struct dp_port_sec sec; /* n_mac == n_ip == 0: unrestricted (the common case) */
	uint32_t ol_rx, ol_tx;	/* PORT_OL_* the port may send / accepts (struct port) */
	uint8_t n_txq;		/* ready tx queues, listed in txq[] */
	uint8_t txq[PORT_MAX_QUEUES];
};

struct dp_rxq_ref {
	uint32_t port;
	uint16_t q;
};

struct dp_view {
	uint64_t version;
	const struct cls *cls; /* NULL or empty: every packet takes 'normal' */
	uint64_t cls_gen;      /* cls_generation(cls), 0 without rules */
	uint32_t max_port;     /* ports[] valid below this id */
	bool shared_tx;	       /* more than one thread: lock tx queues */
	uint16_t n_rxq[DP_MAX_THREADS];
	struct dp_rxq_ref rxq[DP_MAX_THREADS][DP_MAX_RXQ];
	struct dp_pview ports[DP_MAX_PORTS];
};

#ifdef RS_AB_TOGGLE
/* The phase clock of a same-process A/B experiment (lib/ab.h, dp_ab.c). */
struct dp_ab {
	uint64_t pk[2], ns[2]; /* frames and time, per phase */
	uint64_t t0, report;   /* start of the current phase, next report */
	uint64_t period_ns;
	unsigned phase, mask;
	const char *out;
};
void dp_ab_init(struct dp_ab *ab);
void dp_ab_tick(struct dp_ab *ab, unsigned moved);
#endif

/* A forwarding thread. */
struct dp_thread {
	struct dp *dp;
	unsigned idx;
	int core;
	pthread_t tid;
	bool started;
	atomic_bool stop;
	/* Quiescence, read by control. */
	atomic_uint_fast64_t seq RS_CACHE_ALIGN;
	atomic_bool sleeping;
	int wake_fd; /* eventfd; control writes to wake the thread */
	/* (fwd) private to the thread. */
	int epfd RS_CACHE_ALIGN; /* wait fds of the queues of 'ep_version' */
	uint64_t ep_version;
	uint64_t seen_version; /* view whose queues have kicks disabled */
	uint32_t now_s;	       /* refreshed once per iteration */
	struct pbuf_pool pool;
	struct pbuf_pool pool_big; /* pool.big */
	struct emc emc;
	struct cls_stats *cstats;
	struct dp_burst *burst; /* the pipeline's per-burst scratch space */
	uint8_t broken_logged[DP_MAX_PORTS][PORT_MAX_QUEUES / 8 + 1];
	uint64_t broken_version; /* view whose broken queues broken_logged records */
	/* (fwd) counters, read relaxed by control. */
	struct dp_port_counters pc[DP_MAX_PORTS];
	uint64_t packets, busy_cycles, idle_cycles, sleeps;
	uint64_t bursts;    /* non-empty rx bursts */
	uint64_t memo_hits; /* frames that reused the previous frame's flow (dp_memo.h) */
	uint32_t iters;	    /* loop iterations (wraps), for periodic work */
#ifdef RS_AB_TOGGLE
	struct dp_ab ab;
#endif
};

struct dp {
	struct dp_settings settings;
	atomic_bool busy_poll; /* live copies of the settings threads read */
	atomic_uint_fast64_t idle_ns;
	struct ml_table *ml;
	struct cls_table *clst;
	struct cls *cls;		/* published rules, owned */
	_Atomic(struct dp_view *) view; /* published; seq_cst store and load */
	uint64_t next_version;
	struct dp_port *ports[DP_MAX_PORTS];
	unsigned n_threads;
	struct dp_thread *threads[DP_MAX_THREADS];
	/* Counters of threads that were stopped, so totals never go back. */
	struct dp_port_counters retired_pc[DP_MAX_PORTS];
};

/* dp_thread.c */
int dp_threads_start(struct dp *dp);
void dp_threads_stop(struct dp *dp);
void dp_synchronize(struct dp *dp);

/* dp_pipeline.c: scratch space for one thread (free with free()), and */
struct dp_burst *dp_burst_new(void);

/* Most segments one super-frame may be cut into (64 KiB at an MSS of 536 is 123). */
#define DP_MAX_SEGS 128

/* dp_offload.c: checks a received frame's offload metadata (false: dropped and counted). */
bool dp_ol_ingress(struct dp_thread *t, const struct dp_pview *pv, uint32_t in, struct pbuf *pkt);
/* dp_offload.c: sends frames on tx queue q of 'port', doing in software the offloads it lacks. */
void dp_ol_tx(struct dp_thread *t, const struct dp_view *v, uint32_t port, uint8_t q,
	      struct pbuf **pkts, unsigned n);

static inline void dp_txq_lock(struct dp_txq_lock *l)
{
	while (atomic_flag_test_and_set_explicit(&l->busy, memory_order_acquire))
		__builtin_ia32_pause();
}

static inline void dp_txq_unlock(struct dp_txq_lock *l)
{
	atomic_flag_clear_explicit(&l->busy, memory_order_release);
}
/* dp_pipeline.c: processes one received burst of 'n' frames from port 'in'. */
void dp_pipeline_run(struct dp_thread *t, const struct dp_view *v, uint32_t in, struct pbuf **pkts,
		     unsigned n);

/* Monotonic nanoseconds: adaptive polling's idle clock and the A/B phase clock (dp_thread.c). */
uint64_t dp_now_ns(void);

static inline uint64_t dp_rdtsc(void)
{
	return __builtin_ia32_rdtsc();
}

#endif
