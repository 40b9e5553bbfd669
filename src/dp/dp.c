/*
 * dp.c - the control side of the datapath: the set of ports and their queue
 * readiness, which thread owns which rx queue, the rules, and publishing all
 * of it to the forwarding threads as an immutable view.
 *
 * Rx-queue ownership is sticky: a queue keeps its thread for as long as it is
 * ready, so no two threads ever poll one queue. A queue that stops is removed
 * from the view and the control thread waits for a grace period before the
 * port may change it (that is what port->events.queue_state(false) promises
 * the port); when it becomes ready again it gets an owner afresh: its pinned
 * core if set, else the thread with the fewest queues.
 */
#include "dp_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>

#include "../lib/log.h"

/* ---- views ---- */

static void dp_view_fill_port(struct dp_view *v, const struct dp_port *dpp)
{
	struct dp_pview *pv = &v->ports[dpp->port->id];
	pv->port = dpp->port;
	pv->dpp = (struct dp_port *)dpp;
	pv->vlan = dpp->vlan;
	/* Derived once per view, not per packet: an empty trunk list means every VLAN. */
	pv->trunk_all = true;
	for (unsigned i = 0; i < RS_ARRAY_SIZE(pv->vlan.trunks); i++)
		if (pv->vlan.trunks[i])
			pv->trunk_all = false;
	pv->sec = dpp->sec;
	pv->ol_rx = dpp->port->ol_rx;
	pv->ol_tx = dpp->port->ol_tx;
	pv->n_txq = 0;
	for (uint8_t q = 0; q < PORT_MAX_QUEUES; q++)
		if (dpp->txq_ready[q])
			pv->txq[pv->n_txq++] = q;
	for (uint16_t q = 0; q < PORT_MAX_QUEUES; q++) {
		int th = dpp->rxq_thread[q];
		if (!dpp->rxq_ready[q] || th < 0 || v->n_rxq[th] >= DP_MAX_RXQ)
			continue;
		v->rxq[th][v->n_rxq[th]++] = (struct dp_rxq_ref){.port = dpp->port->id, .q = q};
	}
}

static struct dp_view *dp_view_build(struct dp *dp)
{
	struct dp_view *v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	v->version = ++dp->next_version;
	v->cls = dp->cls && cls_count(dp->cls) ? dp->cls : NULL;
	v->cls_gen = v->cls ? cls_generation(v->cls) : 0;
	v->shared_tx = dp->n_threads > 1;
	for (uint32_t id = 1; id < DP_MAX_PORTS; id++) {
		if (!dp->ports[id])
			continue;
		dp_view_fill_port(v, dp->ports[id]);
		v->max_port = id + 1;
	}
	return v;
}

/*
 * Publishes a view of the current state and waits out the grace period of
 * the old one. On allocation failure the old view stays (the change is then
 * only visible after the next successful publish), which is logged.
 */
static int dp_publish(struct dp *dp)
{
	struct dp_view *v = dp_view_build(dp);
	if (!v) {
		RS_LOG(RS_LOG_ERR, "dp", "out of memory publishing a datapath view");
		return -ENOMEM;
	}
	struct dp_view *old = atomic_exchange(&dp->view, v);
	dp_synchronize(dp);
	free(old);
	return 0;
}

/* ---- rx queue ownership ---- */

/*
 * Thread indices follow dp->settings, not dp->n_threads: dp_set_settings
 * assigns queues while the threads are stopped (n_threads 0), for the
 * threads it is about to start.
 */
static int dp_thread_for_core(const struct dp *dp, int core)
{
	for (unsigned i = 0; i < dp->settings.n_cores; i++)
		if (dp->settings.cores[i] == core)
			return (int)i;
	return -1;
}

static int dp_least_loaded_thread(const struct dp *dp)
{
	unsigned load[DP_MAX_THREADS] = {0};
	for (uint32_t id = 1; id < DP_MAX_PORTS; id++) {
		const struct dp_port *dpp = dp->ports[id];
		for (unsigned q = 0; dpp && q < PORT_MAX_QUEUES; q++)
			if (dpp->rxq_ready[q] && dpp->rxq_thread[q] >= 0)
				load[dpp->rxq_thread[q]]++;
	}
	int best = 0;
	for (unsigned i = 1; i < dp->settings.n_cores; i++)
		if (load[i] < load[best])
			best = (int)i;
	return best;
}

static void dp_assign_rxq(struct dp *dp, struct dp_port *dpp, uint16_t q)
{
	int th = -1;
	if (dpp->rxq_core[q] >= 0) {
		th = dp_thread_for_core(dp, dpp->rxq_core[q]);
		if (th < 0)
			RS_LOG(RS_LOG_WARN, "dp",
			       "port %s rxq %u: core %d has no forwarding thread", dpp->port->name,
			       q, dpp->rxq_core[q]);
	}
	dpp->rxq_thread[q] = th >= 0 ? th : dp_least_loaded_thread(dp);
}

/* Called by ports (control thread). See port.h "Queue state". */
static void dp_on_queue_state(void *opaque, struct port *p, enum port_dir dir, uint16_t q,
			      bool ready)
{
	struct dp_port *dpp = opaque;
	struct dp *dp = dpp->dp;
	if (q >= PORT_MAX_QUEUES)
		return;
	bool *flag = dir == PORT_RX ? &dpp->rxq_ready[q] : &dpp->txq_ready[q];
	if (*flag == ready)
		return;
	*flag = ready;
	if (dir == PORT_RX) {
		if (ready)
			dp_assign_rxq(dp, dpp, q);
		else
			dpp->rxq_thread[q] = -1;
	}
	dp_publish(dp);
	RS_LOG(RS_LOG_INFO, "dp", "port %s %sq %u %s", p->name, dir == PORT_RX ? "rx" : "tx", q,
	       ready ? "ready" : "stopped");
}

static void dp_ignore_queue_state(void *opaque, struct port *p, enum port_dir dir, uint16_t q,
				  bool ready)
{
	(void)opaque, (void)p, (void)dir, (void)q, (void)ready;
}

static void dp_on_link_state(void *opaque, struct port *p, bool up)
{
	(void)opaque;
	RS_LOG(RS_LOG_INFO, "dp", "port %s: peer %s", p->name, up ? "connected" : "disconnected");
}

/* ---- public API ---- */

struct dp *dp_create(const struct dp_settings *s, struct ml_table *ml, struct cls_table *clst)
{
	if (s->n_cores == 0 || s->n_cores > DP_MAX_THREADS) {
		errno = EINVAL;
		return NULL;
	}
	struct dp *dp = calloc(1, sizeof(*dp));
	if (!dp)
		return NULL;
	dp->settings = *s;
	atomic_store(&dp->busy_poll, s->busy_poll);
	atomic_store(&dp->idle_ns, (uint64_t)s->idle_us * 1000);
	dp->ml = ml;
	dp->clst = clst;
	struct dp_view *v = dp_view_build(dp);
	if (!v) {
		free(dp);
		return NULL;
	}
	atomic_store(&dp->view, v);
	if (dp_threads_start(dp)) {
		free(v);
		free(dp);
		errno = ENOMEM;
		return NULL;
	}
	return dp;
}

void dp_destroy(struct dp *dp)
{
	if (!dp)
		return;
	dp_threads_stop(dp);
	free(atomic_load(&dp->view));
	cls_free(dp->cls);
	free(dp);
}

/* Threads restart when their number or cores change; every rx queue is reassigned. */
int dp_set_settings(struct dp *dp, const struct dp_settings *s)
{
	if (s->n_cores == 0 || s->n_cores > DP_MAX_THREADS)
		return -EINVAL;
	bool restart = s->n_cores != dp->settings.n_cores ||
		       memcmp(s->cores, dp->settings.cores, sizeof(int) * s->n_cores);
	/* Polling mode and idle time are read live by the threads: no restart,
	 * so their counters and queue ownership carry on. */
	dp->settings.busy_poll = s->busy_poll;
	dp->settings.idle_us = s->idle_us;
	atomic_store(&dp->busy_poll, s->busy_poll);
	atomic_store(&dp->idle_ns, (uint64_t)s->idle_us * 1000);
	if (!restart) {
		for (unsigned i = 0; i < dp->n_threads; i++)
			(void)eventfd_write(dp->threads[i]->wake_fd, 1);
		return 0;
	}
	dp_threads_stop(dp);
	dp->settings = *s;
	/*
	 * Threads are gone, so ownership can be rebuilt freely; but the new
	 * threads must not start on the old view: it assigns queues by the old
	 * thread indices (and says whether tx needs locks for the old thread
	 * count), so a queue that the new assignment moves would be polled by
	 * its old index's thread (still in the old view) and its new owner at
	 * once. They start on a view with no rx queue (nothing received, so
	 * nothing sent), published while no thread runs; then the real one.
	 */
	for (uint32_t id = 1; id < DP_MAX_PORTS; id++)
		for (unsigned q = 0; dp->ports[id] && q < PORT_MAX_QUEUES; q++)
			dp->ports[id]->rxq_thread[q] = -1;
	dp_publish(dp);
	int err = dp_threads_start(dp);
	for (uint32_t id = 1; id < DP_MAX_PORTS; id++)
		for (unsigned q = 0; dp->ports[id] && q < PORT_MAX_QUEUES; q++)
			if (dp->ports[id]->rxq_ready[q])
				dp_assign_rxq(dp, dp->ports[id], (uint16_t)q);
	dp_publish(dp);
	return err;
}

void dp_get_settings(const struct dp *dp, struct dp_settings *out)
{
	*out = dp->settings;
}

int dp_port_add(struct dp *dp, struct port *p, const struct dp_port_vlan *vlan,
		const struct dp_port_sec *sec, const int rxq_core[PORT_MAX_QUEUES])
{
	if (p->id == 0 || p->id >= DP_MAX_PORTS || dp->ports[p->id])
		return -EINVAL;
	struct dp_port *dpp = aligned_alloc(RS_CACHE_LINE, (sizeof(*dpp) + RS_CACHE_LINE - 1) &
							       ~(size_t)(RS_CACHE_LINE - 1));
	if (!dpp)
		return -ENOMEM;
	memset(dpp, 0, sizeof(*dpp));
	dpp->port = p;
	dpp->dp = dp;
	dpp->vlan = *vlan;
	if (sec)
		dpp->sec = *sec;
	for (unsigned q = 0; q < PORT_MAX_QUEUES; q++) {
		dpp->rxq_core[q] = rxq_core ? rxq_core[q] : -1;
		dpp->rxq_thread[q] = -1;
		atomic_flag_clear(&dpp->txq_lock[q].busy);
	}
	p->events.queue_state = dp_on_queue_state;
	p->events.link_state = dp_on_link_state;
	p->events_opaque = dpp;
	dp->ports[p->id] = dpp;
	return dp_publish(dp);
}

void dp_port_del(struct dp *dp, struct port *p)
{
	if (p->id == 0 || p->id >= DP_MAX_PORTS || !dp->ports[p->id])
		return;
	struct dp_port *dpp = dp->ports[p->id];
	dp->ports[p->id] = NULL;
	dp_publish(dp);
	/* The port still reports its queues stopping while it closes: nothing to do then. */
	p->events.queue_state = dp_ignore_queue_state;
	p->events.link_state = dp_on_link_state;
	p->events_opaque = NULL;
	free(dpp);
	ml_flush_port(dp->ml, (uint16_t)p->id);
}

int dp_port_set_vlan(struct dp *dp, struct port *p, const struct dp_port_vlan *vlan)
{
	if (p->id >= DP_MAX_PORTS || !dp->ports[p->id])
		return -ENOENT;
	dp->ports[p->id]->vlan = *vlan;
	ml_flush_port(dp->ml, (uint16_t)p->id);
	return dp_publish(dp);
}

int dp_port_set_sec(struct dp *dp, struct port *p, const struct dp_port_sec *sec)
{
	if (p->id >= DP_MAX_PORTS || !dp->ports[p->id])
		return -ENOENT;
	struct dp_port *dpp = dp->ports[p->id];
	if (memcmp(&dpp->sec, sec, sizeof(*sec)) == 0)
		return 0;
	dpp->sec = *sec;
	return dp_publish(dp);
}

int dp_port_set_affinity(struct dp *dp, struct port *p, const int rxq_core[PORT_MAX_QUEUES])
{
	if (p->id >= DP_MAX_PORTS || !dp->ports[p->id])
		return -ENOENT;
	struct dp_port *dpp = dp->ports[p->id];
	/* Moving a queue between threads takes two publishes: off the old owner, then on. */
	bool moved[PORT_MAX_QUEUES] = {0};
	for (unsigned q = 0; q < PORT_MAX_QUEUES; q++) {
		dpp->rxq_core[q] = rxq_core[q];
		if (dpp->rxq_ready[q]) {
			dpp->rxq_ready[q] = false;
			moved[q] = true;
		}
	}
	dp_publish(dp);
	for (unsigned q = 0; q < PORT_MAX_QUEUES; q++) {
		if (!moved[q])
			continue;
		dpp->rxq_ready[q] = true;
		dp_assign_rxq(dp, dpp, (uint16_t)q);
	}
	return dp_publish(dp);
}

void dp_set_rules(struct dp *dp, struct cls *c)
{
	struct cls *old = dp->cls;
	dp->cls = c;
	dp_publish(dp);
	if (old != c)
		cls_free(old);
}

const struct cls *dp_rules(const struct dp *dp)
{
	return dp->cls;
}

void dp_port_counters(const struct dp *dp, uint32_t port_id, struct dp_port_counters *out)
{
	memset(out, 0, sizeof(*out));
	if (port_id >= DP_MAX_PORTS)
		return;
	uint64_t *dst = (uint64_t *)out;
	const size_t n = sizeof(*out) / sizeof(uint64_t);
	const uint64_t *ret = (const uint64_t *)&dp->retired_pc[port_id];
	for (size_t k = 0; k < n; k++)
		dst[k] = ret[k];
	for (unsigned i = 0; i < dp->n_threads; i++) {
		const uint64_t *src = (const uint64_t *)&dp->threads[i]->pc[port_id];
		for (size_t k = 0; k < n; k++)
			dst[k] += rs_stat_get(&src[k]);
	}
}

unsigned dp_n_threads(const struct dp *dp)
{
	return dp->n_threads;
}

void dp_thread_info(const struct dp *dp, unsigned idx, struct dp_thread_info *out)
{
	memset(out, 0, sizeof(*out));
	if (idx >= dp->n_threads)
		return;
	const struct dp_thread *t = dp->threads[idx];
	const struct dp_view *v = atomic_load(&((struct dp *)dp)->view);
	out->core = t->core;
	for (unsigned i = 0; i < v->n_rxq[idx] && i < RS_ARRAY_SIZE(out->rxq); i++) {
		out->rxq[i].port = v->rxq[idx][i].port;
		out->rxq[i].q = v->rxq[idx][i].q;
		out->n_rxq = i + 1;
	}
	out->packets = rs_stat_get(&t->packets);
	out->busy_cycles = rs_stat_get(&t->busy_cycles);
	out->idle_cycles = rs_stat_get(&t->idle_cycles);
	out->sleeps = rs_stat_get(&t->sleeps);
	out->bursts = rs_stat_get(&t->bursts);
	out->emc_hits = rs_stat_get(&t->emc.stats.hits);
	out->emc_misses = rs_stat_get(&t->emc.stats.misses);
	out->memo_hits = rs_stat_get(&t->memo_hits);
}

uint32_t dp_port_rxq_ready(const struct dp *dp, const struct port *p,
			   int thread_of[PORT_MAX_QUEUES])
{
	uint32_t bits = 0;
	const struct dp_port *dpp = p->id < DP_MAX_PORTS ? dp->ports[p->id] : NULL;
	for (unsigned q = 0; dpp && q < PORT_MAX_QUEUES; q++) {
		if (thread_of)
			thread_of[q] = dpp->rxq_ready[q] ? dpp->rxq_thread[q] : -1;
		if (dpp->rxq_ready[q])
			bits |= 1u << q;
	}
	return bits;
}

uint32_t dp_port_txq_ready(const struct dp *dp, const struct port *p)
{
	uint32_t bits = 0;
	const struct dp_port *dpp = p->id < DP_MAX_PORTS ? dp->ports[p->id] : NULL;
	for (unsigned q = 0; dpp && q < PORT_MAX_QUEUES; q++)
		if (dpp->txq_ready[q])
			bits |= 1u << q;
	return bits;
}
