/*
 * fe_ring.c - one split virtqueue, driver side (virtio 1.2 section 2.7):
 * ring layout in guest memory, the descriptor free list (kept privately, the
 * device never writes descriptors), publishing avail entries, notification
 * suppression both ways (2.7.7, 2.7.10) and consuming used entries, checking
 * that the device only returns heads it was given.
 */
#include "fe.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lib/compiler.h"

/* 2.7.6/2.7.8: used_event follows avail->ring[num], avail_event used->ring[num]. */
static uint16_t *fe_vq_used_event(struct fe_vq *vq)
{
	return &vq->avail->ring[vq->num];
}

static uint16_t *fe_vq_avail_event(struct fe_vq *vq)
{
	return (uint16_t *)&vq->used->ring[vq->num];
}

static int fe_vq_layout(struct fe_vq *vq, struct fe_mem *m, bool straddle)
{
	uint32_t n = vq->num;
	vq->desc_gpa = fe_mem_alloc(m, virtq_desc_bytes(n), 4096, true);
	vq->avail_gpa = fe_mem_alloc(m, virtq_avail_bytes(n), 64, true);
	vq->used_gpa = fe_mem_alloc(m, virtq_used_bytes(n), 4096, true);
	vq->itab_gpa = fe_mem_alloc(m, (uint64_t)n * 16 * FE_MAX_SEGS, 64, true);
	if (straddle) {
		uint64_t b = fe_mem_boundary_after(m, m->next + 100);
		if (!b)
			return -ENOMEM;
		m->next = b - 100;
	}
	vq->buf_gpa =
	    fe_mem_alloc(m, (uint64_t)n * vq->slot_size, straddle ? 64 : vq->slot_size, false);
	if (!vq->desc_gpa || !vq->avail_gpa || !vq->used_gpa || !vq->itab_gpa || !vq->buf_gpa)
		return -ENOMEM;
	vq->desc = fe_mem_ptr(m, vq->desc_gpa, virtq_desc_bytes(n));
	vq->avail = fe_mem_ptr(m, vq->avail_gpa, virtq_avail_bytes(n));
	vq->used = fe_mem_ptr(m, vq->used_gpa, virtq_used_bytes(n));
	memset(vq->desc, 0, virtq_desc_bytes(n));
	memset(vq->avail, 0, virtq_avail_bytes(n));
	memset(vq->used, 0, virtq_used_bytes(n));
	return 0;
}

int fe_vq_create(struct fe_vq *vq, struct fe_mem *m, uint16_t qid, uint16_t num, uint32_t slot_size,
		 bool event_idx, bool straddle)
{
	memset(vq, 0, sizeof(*vq));
	vq->kickfd = vq->callfd = -1;
	vq->qid = qid;
	vq->num = num;
	vq->slot_size = slot_size;
	vq->event_idx = event_idx;
	int err = fe_vq_layout(vq, m, straddle);
	if (err < 0)
		return err;
	vq->dnext = calloc(num, sizeof(*vq->dnext));
	vq->chain_len = calloc(num, sizeof(*vq->chain_len));
	vq->wlen = calloc(num, sizeof(*vq->wlen));
	if (!vq->dnext || !vq->chain_len || !vq->wlen)
		goto fail;
	for (uint32_t i = 0; i < num; i++)
		vq->dnext[i] = (uint16_t)(i + 1);
	vq->nfree = num;
	vq->kickfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	vq->callfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (vq->kickfd < 0 || vq->callfd < 0)
		goto fail;
	return 0;
fail:
	fe_vq_destroy(vq);
	return -ENOMEM;
}

void fe_vq_destroy(struct fe_vq *vq)
{
	free(vq->dnext);
	free(vq->chain_len);
	free(vq->wlen);
	if (vq->kickfd >= 0)
		close(vq->kickfd);
	if (vq->callfd >= 0)
		close(vq->callfd);
	memset(vq, 0, sizeof(*vq));
	vq->kickfd = vq->callfd = -1;
}

int fe_vq_alloc_chain(struct fe_vq *vq, unsigned n)
{
	if (n == 0 || n > vq->nfree)
		return -ENOSPC;
	uint16_t head = vq->free_head, last = head;
	for (unsigned i = 1; i < n; i++)
		last = vq->dnext[last];
	vq->free_head = vq->dnext[last];
	vq->nfree -= (uint16_t)n;
	vq->chain_len[head] = (uint16_t)n;
	vq->wlen[head] = 0;
	return head;
}

static void fe_vq_free_chain(struct fe_vq *vq, uint16_t head)
{
	uint16_t last = head;
	for (unsigned i = 1; i < vq->chain_len[head]; i++)
		last = vq->dnext[last];
	vq->dnext[last] = vq->free_head;
	vq->free_head = head;
	vq->nfree += vq->chain_len[head];
	vq->chain_len[head] = 0;
}

uint16_t fe_vq_next(const struct fe_vq *vq, uint16_t i)
{
	return vq->dnext[i];
}

void fe_vq_set_desc(struct virtq_desc *d, uint64_t addr, uint32_t len, uint16_t flags,
		    uint16_t next)
{
	d->addr = addr;
	d->len = cpu_to_vle32(len);
	d->flags = cpu_to_vle16(flags);
	d->next = cpu_to_vle16(next);
}

void fe_vq_publish(struct fe_vq *vq, uint16_t head)
{
	vq->avail->ring[vq->avail_idx & (vq->num - 1)] = cpu_to_vle16(head);
	vq->avail_idx++;
	vq->inflight++;
	if (vq->hold)
		return;
	/* Pairs with the device's acquire of avail->idx before it reads the ring slot. */
	rs_store_release(&vq->avail->idx, cpu_to_vle16(vq->avail_idx));
}

void fe_vq_kick(struct fe_vq *vq)
{
	uint64_t one = 1;
	if (write(vq->kickfd, &one, sizeof(one)) == sizeof(one))
		vq->st.kicks++;
}

void fe_vq_notify(struct fe_vq *vq, uint16_t old_avail)
{
	/* 2.7.10.1: the idx store must be visible before we read the device's suppression. */
	rs_fence_full();
	bool need;
	if (vq->event_idx)
		need = virtq_need_event(rs_load_relaxed(fe_vq_avail_event(vq)), vq->avail_idx,
					old_avail);
	else
		need = !(rs_load_relaxed(&vq->used->flags) & VIRTQ_USED_F_NO_NOTIFY);
	if (need)
		fe_vq_kick(vq);
	else
		vq->st.kicks_suppressed++;
}

uint16_t fe_vq_pending(const struct fe_vq *vq)
{
	/* Pairs with the device's release of used->idx after writing the entries. */
	return (uint16_t)(vle16_to_cpu(rs_load_acquire(&vq->used->idx)) - vq->last_used);
}

int fe_vq_get_used(struct fe_vq *vq, uint16_t *head, uint32_t *len, uint64_t *errors)
{
	uint16_t pending = fe_vq_pending(vq);
	if (pending == 0)
		return 0;
	if (pending > vq->num) { /* 2.7.8: the device cannot have used more than it got */
		(*errors)++;
		return -EPROTO;
	}
	uint16_t slot = vq->last_used & (vq->num - 1);
	struct virtq_used_elem e = vq->used->ring[slot];
	vq->last_used++;
	uint32_t id = vle32_to_cpu(e.id);
	*head = (uint16_t)id;
	*len = vle32_to_cpu(e.len);
	/* In order, used entry k is the chain of avail slot k: inflight <= num,
	 * so that slot has not been rewritten since. */
	bool out_of_order = vq->in_order && id != vle16_to_cpu(vq->avail->ring[slot]);
	if (id >= vq->num || vq->chain_len[id] == 0 || out_of_order) {
		(*errors)++;
		return -EPROTO;
	}
	bool too_long = *len > vq->wlen[id];
	vq->inflight--;
	fe_vq_free_chain(vq, (uint16_t)id);
	if (too_long) { /* 2.7.8.2: len is what the device wrote into writable buffers */
		(*errors)++;
		return -EPROTO;
	}
	return 1;
}

static void fe_vq_arm(struct fe_vq *vq)
{
	if (vq->event_idx)
		rs_store_relaxed(fe_vq_used_event(vq), cpu_to_vle16(vq->last_used));
	else
		rs_store_relaxed(&vq->avail->flags, 0);
	/* 2.7.7.2: publish the request before re-checking used->idx. */
	rs_fence_full();
}

static void fe_vq_drain_call(struct fe_vq *vq)
{
	uint64_t v;
	if (read(vq->callfd, &v, sizeof(v)) == sizeof(v))
		vq->st.calls++;
}

int fe_vq_wait(struct fe_vq *vq, int timeout_ms)
{
	int64_t deadline = fe_now_ms() + timeout_ms;
	fe_vq_arm(vq);
	struct pollfd p = {.fd = vq->callfd, .events = POLLIN};
	for (;;) {
		if (fe_vq_pending(vq))
			return 0;
		int64_t left = deadline - fe_now_ms();
		int r = poll(&p, 1, left > 0 ? (int)left : 0);
		if (r > 0) {
			fe_vq_drain_call(vq);
			fe_vq_arm(vq);
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (!fe_vq_pending(vq))
			return -ETIMEDOUT;
		/* Entries but no call: allow the device a moment to signal, then count it. */
		if (poll(&p, 1, 200) > 0)
			fe_vq_drain_call(vq);
		else
			vq->st.missed_calls++;
		return 0;
	}
}
