/*
 * vq_net.c - the virtio-net data path over a split virtqueue (virtio 1.2
 * sections 2.7.13-2.7.14 and 5.1.6): guest TX chains into packet buffers
 * (vq_dequeue_burst) and packet buffers into guest RX chains, with and without
 * mergeable receive buffers (vq_enqueue_burst). Chains are validated by
 * vq_walk_chain; this file checks what virtio-net adds (direction, header
 * length, buffer sizes), copies bytes straight between guest pieces and
 * pbufs, and completes chains in order. Each burst reads avail->idx once with
 * acquire and publishes used->idx once with release; last_avail and last_used
 * are 16-bit free-running counters and all their arithmetic wraps mod 2^16.
 */
#include "vq.h"

#include <errno.h>
#include <string.h>

#include "../lib/compiler.h"
#include "../lib/copy.h"

/* A read/write position over the pieces of a chain. */
struct vq_cur {
	const struct gmem_iov *iov;
	unsigned n;	/* pieces */
	unsigned i;	/* current piece */
	uint32_t off;	/* bytes already used in iov[i] */
	struct vq *log; /* writes: the queue whose dirty log they go to, or NULL */
};

/* A write position over pieces of 'vq''s guest memory, logged when logging is on. */
static inline struct vq_cur vq_cur_out(struct vq *vq, const struct gmem_iov *iov, unsigned n)
{
	return (struct vq_cur){.iov = iov, .n = n, .log = vq->log ? vq : NULL};
}

enum vq_cur_op { VQ_CUR_READ, VQ_CUR_WRITE, VQ_CUR_SKIP };

/*
 * Moves up to 'len' bytes between 'buf' and the pieces (or skips them), never
 * past the last piece. Returns the bytes moved.
 */
static uint32_t vq_cur_move(struct vq_cur *k, uint8_t *buf, uint32_t len, enum vq_cur_op op)
{
	uint32_t done = 0;

	while (done < len && k->i < k->n) {
		uint8_t *g = (uint8_t *)k->iov[k->i].base + k->off;
		uint32_t chunk = RS_MIN(len - done, k->iov[k->i].len - k->off);
		if (op == VQ_CUR_READ)
			memcpy(buf + done, g, chunk);
		else if (op == VQ_CUR_WRITE) {
			/* memmove: a split frame's tail is guest memory too */
			memmove(g, buf + done, chunk);
			if (RS_UNLIKELY(k->log != NULL))
				vq_log_host(k->log, g, chunk);
		}
		done += chunk;
		k->off += chunk;
		if (k->off == k->iov[k->i].len) {
			k->i++;
			k->off = 0;
		}
	}
	return done;
}

static uint32_t vq_cur_read(struct vq_cur *k, void *dst, uint32_t len)
{
	return vq_cur_move(k, dst, len, VQ_CUR_READ);
}

static uint32_t vq_cur_write(struct vq_cur *k, const void *src, uint32_t len)
{
	return vq_cur_move(k, (uint8_t *)src, len, VQ_CUR_WRITE);
}

/* Copies a virtio-net header: two fixed sizes, so the copy is inlined, never a call. */
static inline void vq_hdr_copy(void *dst, const void *src, uint16_t hdr_len)
{
	if (hdr_len == VIRTIO_NET_HDR_LEN_MRG)
		memcpy(dst, src, VIRTIO_NET_HDR_LEN_MRG);
	else
		memcpy(dst, src, VIRTIO_NET_HDR_LEN_LEGACY);
}

/* Writes bytes [off, off + len) of frame 'p' (split or not, pbuf.h) at the position 'k'. */
static void vq_cur_write_frame(struct vq_cur *k, const struct pbuf *p, uint32_t off, uint32_t len)
{
	uint32_t head = pbuf_head_len(p);
	if (off < head) {
		uint32_t n = RS_MIN(len, head - off);
		vq_cur_write(k, p->data + off, n);
		off += n;
		len -= n;
	}
	if (len)
		vq_cur_write(k, p->tail + (off - head), len);
}

/*
 * Where a burst writes its used entries: after the ones already written and
 * not yet published (the entries held for an earlier burst,
 * vq_dequeue_burst_ref). Read once per burst, into locals: the compiler
 * would otherwise reload the vq's fields after every store into guest memory.
 */
struct vq_used_cur {
	struct virtq_used_elem *ring;
	uint16_t first; /* ring position of the burst's entry 0 */
	uint16_t mask;
};

static inline struct vq_used_cur vq_used_begin(const struct vq *vq)
{
	return (struct vq_used_cur){.ring = vq->used->ring,
				    .first = (uint16_t)(vq->last_used + vq->used_held),
				    .mask = vq->mask};
}

static inline struct virtq_used_elem *vq_used_at(const struct vq_used_cur *u, uint16_t k)
{
	return &u->ring[(uint16_t)(u->first + k) & u->mask];
}

/* Writes used entry number 'k' of this burst (not yet visible to the guest). */
static inline void vq_used_put(const struct vq_used_cur *u, uint16_t k, uint16_t head, uint32_t len)
{
	*vq_used_at(u, k) =
	    (struct virtq_used_elem){.id = cpu_to_vle32(head), .len = cpu_to_vle32(len)};
}

/* Logs used entries [first, first + n) of the ring (wrapping) as dirty. */
static void vq_log_used_entries(struct vq *vq, uint16_t first, uint16_t n)
{
	uint16_t pos = first & vq->mask;
	uint16_t run = (uint16_t)RS_MIN((uint32_t)n, (uint32_t)vq->size - pos);

	vq_log_used(vq, &vq->used->ring[pos], (uint64_t)run * sizeof(struct virtq_used_elem));
	if (run < n)
		vq_log_used(vq, &vq->used->ring[0],
			    (uint64_t)(n - run) * sizeof(struct virtq_used_elem));
}

/* Makes the burst's 'n' used entries, and the bytes they describe, visible. */
static void vq_used_publish(struct vq *vq, uint16_t n)
{
	if (n == 0)
		return;
	uint16_t first = vq->last_used;
	vq->last_used = (uint16_t)(vq->last_used + n);
	/* Pairs with the guest's read barrier between loading used->idx and
	 * reading the used entries and buffers (2.7.14). */
	rs_store_release(&vq->used->idx, cpu_to_vle16(vq->last_used));
	if (RS_UNLIKELY(vq->log != NULL)) { /* the one branch logging costs a burst */
		vq_log_used_entries(vq, first, n);
		vq_log_used(vq, &vq->used->idx, sizeof(vq->used->idx));
	}
}

/*
 * Chains the guest made available since last_avail, as of one acquire load
 * of avail->idx (pairs with the guest's write barrier before its store of
 * avail->idx, 2.7.13.3). Returns -EIO after marking the queue broken.
 */
static int vq_pending(struct vq *vq, uint16_t *avail_idx)
{
	*avail_idx = vle16_to_cpu(rs_load_acquire(&vq->avail->idx));
	uint16_t n = (uint16_t)(*avail_idx - vq->last_avail);
	/* 2.7.13.3: idx only moves by the number of heads added, and the
	 * ring holds at most 'size' of them. */
	if (n > vq->size)
		return vq_mark_broken(vq, VQ_BROKEN_AVAIL_IDX);
	return n;
}

static uint16_t vq_avail_head(const struct vq *vq, uint16_t slot)
{
	return vle16_to_cpu(rs_load_relaxed(&vq->avail->ring[slot & vq->mask]));
}

/*
 * Asks for the used ring lines that the burst's first 'n' entries live in,
 * for writing: the front-end read them last, and reads them again only
 * after used->idx moves. Not used->idx itself: the front-end polls it, and
 * would only pull it back before the burst's store.
 */
static inline void vq_prefetch_used(const struct vq_used_cur *u, unsigned n)
{
	const uint8_t *a = (const uint8_t *)vq_used_at(u, 0);
	const uint8_t *z = (const uint8_t *)vq_used_at(u, (uint16_t)(n - 1));

	if (z < a) /* wraps: the ring's end, then its start */
		z = (const uint8_t *)&u->ring[u->mask];
	for (; a <= z; a += RS_CACHE_LINE)
		__builtin_prefetch(a, 1);
	__builtin_prefetch(z, 1);
}

/* What one look at the next avail slots found (vq_look_ahead). */
struct vq_ahead {
	unsigned n;    /* slots looked at */
	bool writable; /* the direction wanted: RX chains */
	uint16_t head[VQ_BURST_MAX];
	bool single[VQ_BURST_MAX];	     /* slot k: one descriptor of that direction... */
	struct gmem_iov piece[VQ_BURST_MAX]; /* ...at this piece (read once, then used) */
};

/*
 * Looks at the chains of the 'n' avail slots from 'first' before a burst
 * takes them: prefetches every head descriptor, then the buffer (for writing
 * on RX) of each chain that is one descriptor of the wanted direction inside
 * the memory region of the last translation, so that the copies find the
 * guest's memory on its way. That test is vq_desc_single, vq_peek_single's
 * rule, with the region read once per burst (the memory table only changes
 * while the queue is stopped). The pieces found are used as read; every
 * other chain gets the full walk when taken.
 */
static void vq_look_ahead(struct vq *vq, uint16_t first, unsigned n, bool writable,
			  struct vq_ahead *a)
{
	const struct virtq_desc *desc = vq->desc;
	const uint16_t mask = vq->mask, size = vq->size;
	const uint16_t want = writable ? VIRTQ_DESC_F_WRITE : 0;

	a->n = n;
	a->writable = writable;
	for (unsigned k = 0; k < n; k++) {
		a->head[k] = vq_avail_head(vq, (uint16_t)(first + k));
		__builtin_prefetch(&desc[a->head[k] & mask]);
	}
	if (vq->mem_hint >= vq->mem->nregions) {
		memset(a->single, 0, n);
		return;
	}
	/* A local copy: the stores below cannot alias it, so it stays in registers. */
	const struct gmem_region r = vq->mem->regions[vq->mem_hint];
	for (unsigned k = 0; k < n; k++) {
		struct virtq_desc d;
		uint16_t h = a->head[k];
		a->single[k] = false;
		if (h >= size)
			continue;
		vq_desc_load(&desc[h], &d);
		if ((d.flags & VIRTQ_DESC_F_WRITE) != want || !vq_desc_single(&d, &r, &a->piece[k]))
			continue;
		a->single[k] = true;
		/* The first line only: every line of the first 128 bytes (the frame of
		 * a DPDK mbuf starts in the second) showed no gain, and a burst's worth
		 * of them at once can outrun the core's outstanding-miss slots. */
		if (writable)
			__builtin_prefetch(a->piece[k].base, 1);
		else
			__builtin_prefetch(a->piece[k].base, 0);
	}
}

/* Chain 'c' for look-ahead slot k when it was a single descriptor; else false. */
static bool vq_ahead_chain(const struct vq_ahead *a, unsigned k, struct vq_chain *c)
{
	if (k >= a->n || !a->single[k])
		return false;
	vq_chain_single(c, a->head[k], &a->piece[k], a->writable);
	return true;
}

/* A pbuf for a TX frame of 'frame' bytes: 1 with '*out', 0 dropped (too big), -ENOBUFS. */
static int vq_tx_alloc(struct vq *vq, struct pbuf_pool *pool, uint32_t frame, struct pbuf **out)
{
	if (frame > pool->data_room && (!pool->big || frame > pool->big->data_room)) {
		rs_stat_add(&vq->stats.drop_too_big, 1);
		return 0;
	}
	*out = pbuf_alloc_len(pool, frame);
	if (!*out) {
		rs_stat_add(&vq->stats.pool_empty, 1);
		return -ENOBUFS;
	}
	return 1;
}

/*
 * A TX chain of one readable piece ('g', 'len' bytes: header, then frame)
 * into a pbuf; returns as vq_tx_one. The common case, taken straight from
 * the look-ahead.
 */
static int vq_tx_piece(struct vq *vq, struct pbuf_pool *pool, const uint8_t *g, uint32_t len,
		       bool ref, struct pbuf **out)
{
	struct virtio_net_hdr h;
	struct pbuf *p;

	/* 5.1.6.2: every packet is preceded by a struct virtio_net_hdr; a
	 * shorter chain is malformed (DPDK CVE-2022-2132). */
	if (len < vq->hdr_len)
		return vq_mark_broken(vq, VQ_BROKEN_SHORT_CHAIN);
	uint32_t frame = len - vq->hdr_len;
	int rc = vq_tx_alloc(vq, pool, frame, &p);
	if (rc <= 0)
		return rc;
	vq_hdr_copy(&h, g, vq->hdr_len); /* the offload fields are all in the legacy part */
	if (ref && frame > VQ_REF_MIN) {
		memcpy(p->data, g + vq->hdr_len, PBUF_SPLIT_HEAD);
		p->head = PBUF_SPLIT_HEAD;
		p->tail = g + vq->hdr_len + PBUF_SPLIT_HEAD;
	} else {
		rs_copy(p->data, g + vq->hdr_len, frame);
	}
	p->len = frame;
	vq_hdr_to_ol(&h, &p->ol);
	*out = p;
	return 1;
}

/*
 * One validated TX chain into a pbuf. Returns 1 with '*out' set, 0 when the
 * frame is dropped (chain still completed), -ENOBUFS when the pool is empty
 * (chain left in the ring), -EIO after marking the queue broken.
 */
static int vq_tx_one(struct vq *vq, struct pbuf_pool *pool, const struct vq_chain *c, bool ref,
		     struct pbuf **out)
{
	/* 5.1.6.2: transmit buffers are device-readable only. */
	if (c->nr_in != 0 || c->in_len != 0)
		return vq_mark_broken(vq, VQ_BROKEN_DESC_DIR);
	if (c->nr_out == 1) /* header and frame in one piece */
		return vq_tx_piece(vq, pool, c->iov[0].base, c->out_len, ref, out);
	if (c->out_len < vq->hdr_len)
		return vq_mark_broken(vq, VQ_BROKEN_SHORT_CHAIN);
	uint32_t frame = c->out_len - vq->hdr_len;
	struct virtio_net_hdr h;
	struct pbuf *p;
	int rc = vq_tx_alloc(vq, pool, frame, &p);
	if (rc <= 0)
		return rc;
	struct vq_cur k = {.iov = c->iov, .n = c->nr_out};
	vq_cur_read(&k, &h, vq->hdr_len);
	p->len = vq_cur_read(&k, p->data, frame); /* == frame: out_len sums the pieces */
	vq_hdr_to_ol(&h, &p->ol);
	*out = p;
	return 1;
}

static int vq_dequeue(struct vq *vq, struct pbuf_pool *pool, struct pbuf **pkts, unsigned max,
		      bool ref)
{
	struct vq_ahead a;
	struct vq_chain c;
	uint16_t avail_idx, done = 0;
	unsigned npkts = 0;
	uint64_t bytes = 0;

	if (RS_UNLIKELY(vq->broken))
		return -EIO;
	if (RS_UNLIKELY(!vq->avail))
		return 0;
	int pending = vq_pending(vq, &avail_idx);
	if (pending <= 0)
		return pending;
	unsigned n = RS_MIN((unsigned)pending, RS_MIN(max, VQ_BURST_MAX));
	const struct vq_used_cur u = vq_used_begin(vq);
	vq_prefetch_used(&u, n);
	vq_look_ahead(vq, vq->last_avail, n, false, &a);
	for (unsigned i = 0; i < n; i++) {
		int rc;
		if (RS_LIKELY(a.single[i])) /* one readable piece, as the look-ahead read it */
			rc = vq_tx_piece(vq, pool, a.piece[i].base, a.piece[i].len, ref,
					 &pkts[npkts]);
		else if ((rc = vq_walk_chain(vq, a.head[i], &c)) == 0)
			rc = vq_tx_one(vq, pool, &c, ref, &pkts[npkts]);
		else if (rc == -E2BIG && c.in_len != 0) {
			rc = vq_mark_broken(vq, VQ_BROKEN_DESC_DIR); /* as in vq_tx_one */
		} else if (rc == -E2BIG) {
			rs_stat_add(&vq->stats.drop_too_many_iov, 1);
			rc = 0;
		}
		if (rc < 0)
			break; /* broken, or pool empty: the chain stays */
		if (rc > 0)
			bytes += pkts[npkts++]->len;
		vq_used_put(&u, done++, a.head[i], 0);
	}
	vq->last_avail = (uint16_t)(vq->last_avail + done);
	vq->used_held = (uint16_t)(vq->used_held + done);
	if (!ref)
		vq_dequeue_release(vq);
	rs_stat_add(&vq->stats.packets, npkts);
	rs_stat_add(&vq->stats.bytes, bytes);
	if (npkts == 0 && vq->broken)
		return -EIO;
	return (int)npkts;
}

int vq_dequeue_burst(struct vq *vq, struct pbuf_pool *pool, struct pbuf **pkts, unsigned max)
{
	return vq_dequeue(vq, pool, pkts, max, false);
}

int vq_dequeue_burst_ref(struct vq *vq, struct pbuf_pool *pool, struct pbuf **pkts, unsigned max)
{
	return vq_dequeue(vq, pool, pkts, max, true);
}

uint16_t vq_dequeue_release(struct vq *vq)
{
	uint16_t n = vq->used_held;
	vq->used_held = 0;
	vq_used_publish(vq, n);
	return n;
}

/* RX burst state: chains taken but not yet published. */
struct vq_rx {
	uint16_t avail_idx; /* snapshot of avail->idx */
	uint16_t next;	    /* next avail slot to take */
	uint16_t nused;	    /* used entries written in this burst */
	bool have;	    /* 'c' holds the walked chain at slot 'next' */
	uint16_t first;	    /* slot of ahead's entry 0 */
	struct vq_used_cur u;
	struct vq_ahead ahead;
	struct vq_chain c;
};

/*
 * Walks the RX chain at slot st->next into 'c'. Returns 0, -ENOBUFS when the
 * guest has no more buffers, -E2BIG (valid, too many pieces), or -EIO.
 */
static int vq_rx_walk(struct vq *vq, struct vq_rx *st, struct vq_chain *c)
{
	if (st->next == st->avail_idx)
		return -ENOBUFS;
	/* A single descriptor the look-ahead found is used as it was read. */
	if (!vq_ahead_chain(&st->ahead, (uint16_t)(st->next - st->first), c)) {
		int rc = vq_walk_chain(vq, vq_avail_head(vq, st->next), c);
		if (rc != 0 && rc != -E2BIG)
			return rc;
		/* 5.1.6.3: receive buffers are device-writable only (out_len is
		 * complete even when the pieces were too many). */
		if (c->nr_out != 0 || c->out_len != 0)
			return vq_mark_broken(vq, VQ_BROKEN_DESC_DIR);
		if (rc)
			return rc;
	}
	/* 5.1.6.3.1: "If VIRTIO_NET_F_MRG_RXBUF is negotiated, each buffer MUST
	 * be at least the size of the struct virtio_net_hdr." */
	if (vq->mrg_rxbuf && c->in_len < vq->hdr_len)
		return vq_mark_broken(vq, VQ_BROKEN_SHORT_CHAIN);
	return 0;
}

/* The RX header for 'p' (5.1.6.4): offloads from p->ol, num_buffers 'nbufs'. */
static void vq_rx_hdr(const struct vq *vq, const struct pbuf *p, uint16_t nbufs,
		      struct virtio_net_hdr *h)
{
	memset(h, 0, sizeof(*h));
	vq_ol_to_hdr(&p->ol, h);
	/* 5.1.6.4: "If VIRTIO_NET_F_MRG_RXBUF has not been negotiated, the
	 * device MUST set num_buffers to 1" (when the field exists). */
	if (vq->hdr_len == VIRTIO_NET_HDR_LEN_MRG)
		h->num_buffers = cpu_to_vle16(nbufs);
}

/*
 * Writes header 'h' at 'g' only where the guest's bytes differ. A guest that
 * recycles its receive buffers quickly (DPDK's virtio PMD, through its
 * mempool) finds the same header there again; storing equal bytes would still
 * take the line away from the guest's core, which then misses on it when it
 * reads num_buffers. DPDK's virtio TX spares the same line the same way
 * (ASSIGN_UNLESS_EQUAL). The guest sees the same bytes either way.
 */
static inline void vq_hdr_store(uint8_t *g, const struct virtio_net_hdr *h, uint16_t hdr_len)
{
	/* Fixed-size compares, as in vq_hdr_copy: they inline, a variable one is a call. */
	bool same = hdr_len == VIRTIO_NET_HDR_LEN_MRG
			? memcmp(g, h, VIRTIO_NET_HDR_LEN_MRG) == 0
			: memcmp(g, h, VIRTIO_NET_HDR_LEN_LEGACY) == 0;
	if (!same)
		vq_hdr_copy(g, h, hdr_len);
}

/* Writes header 'h' and frame 'p' into the one guest piece 'g', which has room for both. */
static inline void vq_rx_write_piece(struct vq *vq, uint8_t *g, const struct virtio_net_hdr *h,
				     const struct pbuf *p)
{
	vq_hdr_store(g, h, vq->hdr_len);
	pbuf_copy_frame(p, g + vq->hdr_len);
	if (RS_UNLIKELY(vq->log != NULL))
		vq_log_host(vq, g, (uint64_t)vq->hdr_len + p->len);
}

/* Writes header 'h' and frame 'p' into chain 'c', which has room for both. */
static void vq_rx_write(struct vq *vq, const struct vq_chain *c, const struct virtio_net_hdr *h,
			const struct pbuf *p)
{
	if (RS_LIKELY(c->nr_in == 1)) {
		vq_rx_write_piece(vq, c->iov[0].base, h, p);
		return;
	}
	struct vq_cur k = vq_cur_out(vq, &c->iov[0], c->nr_in);
	vq_cur_write(&k, h, vq->hdr_len);
	vq_cur_write_frame(&k, p, 0, p->len);
}

/*
 * Handles a chain that is valid but has too many pieces while delivering a
 * packet: the packet is dropped and the chains taken for it so far, plus this
 * one, are completed empty (vq.h).
 */
static void vq_rx_too_many(struct vq *vq, struct vq_rx *st, uint16_t first_used,
			   const struct vq_chain *c)
{
	for (uint16_t k = first_used; k != st->nused; k++)
		vq_used_at(&st->u, k)->len = cpu_to_vle32(0);
	vq_used_put(&st->u, st->nused++, c->head, 0);
	st->next++;
	st->have = false;
	rs_stat_add(&vq->stats.drop_too_many_iov, 1);
}

/* Gets the first chain for a packet into st->c. Returns 0 or <0 as vq_rx_walk. */
static int vq_rx_first(struct vq *vq, struct vq_rx *st)
{
	if (st->have)
		return 0;
	int rc = vq_rx_walk(vq, st, &st->c);
	if (rc == -ENOBUFS)
		rs_stat_add(&vq->stats.drop_ring_full, 1);
	else if (rc == -E2BIG)
		vq_rx_too_many(vq, st, st->nused, &st->c);
	else if (rc == 0)
		st->have = true;
	return rc;
}

/*
 * The common case, with or without MRG_RXBUF: the look-ahead found the next
 * chain to be one writable piece with room for the header and the whole
 * frame. Writes both and the used entry; false leaves the frame to the full
 * path, untouched.
 */
static bool vq_rx_fast(struct vq *vq, struct vq_rx *st, const struct pbuf *p)
{
	unsigned k = (uint16_t)(st->next - st->first);

	if (st->have || k >= st->ahead.n || !st->ahead.single[k])
		return false;
	uint32_t need = vq->hdr_len + p->len;
	if (st->ahead.piece[k].len < need)
		return false;
	struct virtio_net_hdr h;
	vq_rx_hdr(vq, p, 1, &h);
	vq_rx_write_piece(vq, st->ahead.piece[k].base, &h, p);
	vq_used_put(&st->u, st->nused++, st->ahead.head[k], need);
	st->next++;
	return true;
}

/* Without MRG_RXBUF: the whole packet in one chain. Returns 1, 0 (dropped) or -EIO. */
static int vq_rx_one(struct vq *vq, struct vq_rx *st, const struct pbuf *p)
{
	struct virtio_net_hdr h;
	int rc = vq_rx_first(vq, st);

	if (rc)
		return rc == -EIO ? rc : 0;
	uint64_t need = (uint64_t)vq->hdr_len + p->len;
	if (need > st->c.in_len) {
		/* Not consumed: a smaller packet may fit (5.1.6.3.1 SHOULD sizes). */
		rs_stat_add(&vq->stats.drop_too_big, 1);
		return 0;
	}
	vq_rx_hdr(vq, p, 1, &h);
	vq_rx_write(vq, &st->c, &h, p);
	vq_used_put(&st->u, st->nused++, st->c.head, (uint32_t)need);
	st->next++;
	st->have = false;
	return 1;
}

/*
 * With MRG_RXBUF: the packet spread over as many chains as it needs, the
 * header (with num_buffers) in the first (5.1.6.4). When the guest runs out
 * of chains, everything taken for this packet is given back. Returns 1, 0
 * (dropped) or -EIO.
 */
static int vq_rx_one_mrg(struct vq *vq, struct vq_rx *st, const struct pbuf *p)
{
	const uint16_t start_next = st->next, start_used = st->nused;
	struct vq_chain more;
	struct virtio_net_hdr h;
	uint32_t left = p->len;
	int rc = vq_rx_first(vq, st);

	if (rc)
		return rc == -EIO ? rc : 0;
	if (RS_LIKELY(st->c.in_len - vq->hdr_len >= p->len)) { /* one chain is enough */
		vq_rx_hdr(vq, p, 1, &h);
		vq_rx_write(vq, &st->c, &h, p);
		vq_used_put(&st->u, st->nused++, st->c.head, vq->hdr_len + p->len);
		st->next++;
		st->have = false;
		return 1;
	}
	/* First chain: room for the header (written last), then the frame. */
	struct vq_cur hk = vq_cur_out(vq, &st->c.iov[0], st->c.nr_in);
	struct vq_cur k = hk;
	vq_cur_move(&k, NULL, vq->hdr_len, VQ_CUR_SKIP);
	uint32_t chunk = RS_MIN(left, st->c.in_len - vq->hdr_len); /* in_len >= hdr_len */
	vq_cur_write_frame(&k, p, 0, chunk);
	vq_used_put(&st->u, st->nused++, st->c.head, vq->hdr_len + chunk);
	st->next++;
	left -= chunk;
	uint16_t nbufs = 1;
	while (left > 0) {
		rc = vq_rx_walk(vq, st, &more);
		if (rc == -E2BIG) {
			vq_rx_too_many(vq, st, start_used, &more);
			return 0;
		}
		if (rc) {
			/* Out of chains (or broken): take nothing for this packet. The
			 * entries and bytes written for it stay in guest memory: log them. */
			if (RS_UNLIKELY(vq->log != NULL))
				vq_log_used_entries(vq, (uint16_t)(st->u.first + start_used),
						    (uint16_t)(st->nused - start_used));
			st->next = start_next;
			st->nused = start_used;
			if (rc == -ENOBUFS)
				rs_stat_add(&vq->stats.drop_ring_full, 1);
			return rc == -EIO ? rc : 0;
		}
		struct vq_cur mk = vq_cur_out(vq, &more.iov[0], more.nr_in);
		chunk = RS_MIN(left, more.in_len);
		vq_cur_write_frame(&mk, p, p->len - left, chunk);
		vq_used_put(&st->u, st->nused++, more.head, chunk);
		st->next++;
		left -= chunk;
		nbufs++;
	}
	vq_rx_hdr(vq, p, nbufs, &h);
	vq_cur_write(&hk, &h, vq->hdr_len);
	st->have = false;
	return 1;
}

int vq_enqueue_burst(struct vq *vq, struct pbuf *const *pkts, unsigned n)
{
	struct vq_rx st;
	unsigned delivered = 0;
	uint64_t bytes = 0;

	if (RS_UNLIKELY(vq->broken))
		return -EIO;
	if (RS_UNLIKELY(!vq->avail))
		return 0;
	int pending = vq_pending(vq, &st.avail_idx);
	if (pending < 0)
		return pending;
	/* Nothing ever waits for receive buffers (a frame with no room is dropped),
	 * so the guest's kicks on this queue would only cost it a system call per
	 * refill: suppress them (2.7.10), as DPDK's vhost library does, and keep
	 * them suppressed across ring re-initialisations. */
	vq_disable_kicks(vq);
	st.next = vq->last_avail;
	st.nused = 0;
	st.u = vq_used_begin(vq);
	st.have = false;
	n = RS_MIN(n, VQ_BURST_MAX);
	st.first = st.next;
	unsigned ahead = RS_MIN(n, (unsigned)(uint16_t)(st.avail_idx - st.next));
	if (ahead)
		vq_prefetch_used(&st.u, ahead);
	vq_look_ahead(vq, st.first, ahead, true, &st.ahead);
	for (unsigned i = 0; i < n; i++) {
		if (RS_LIKELY(vq_rx_fast(vq, &st, pkts[i]))) {
			delivered++;
			bytes += pkts[i]->len;
			continue;
		}
		int rc =
		    vq->mrg_rxbuf ? vq_rx_one_mrg(vq, &st, pkts[i]) : vq_rx_one(vq, &st, pkts[i]);
		if (rc < 0)
			break;
		if (rc > 0) {
			delivered++;
			bytes += pkts[i]->len;
		}
	}
	vq->last_avail = st.next;
	vq_used_publish(vq, st.nused);
	rs_stat_add(&vq->stats.packets, delivered);
	rs_stat_add(&vq->stats.bytes, bytes);
	if (delivered == 0 && vq->broken)
		return -EIO;
	return (int)delivered;
}
