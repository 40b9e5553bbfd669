/*
 * vq.h - one split virtqueue as the device sees it (virtio 1.2 section 2.7):
 * setup from translated ring addresses, the hostile-guest descriptor-chain
 * walker, burst dequeue from a guest TX queue into packet buffers, burst
 * enqueue from packet buffers into a guest RX queue (with and without
 * VIRTIO_NET_F_MRG_RXBUF), and notification suppression in both directions.
 *
 * Ownership: the control thread configures a queue (vq_setup, vq_reset) only
 * while no forwarding thread uses it; one forwarding thread at a time calls
 * the burst and notify functions. No syscalls here: eventfd writes are made by
 * the caller when vq_guest_wants_interrupt() says so.
 *
 * A guest that breaks the ring protocol (avail index jumping by more than the
 * queue size, head out of range, a malformed descriptor chain) gets its queue
 * marked broken: 'broken' is set to a reason, the matching counter is bumped,
 * and every later burst returns -EIO until vq_reset(). Nothing else is
 * touched; the caller logs once, naming its port and queue.
 */
#ifndef RS_VIRTIO_VQ_H
#define RS_VIRTIO_VQ_H

#include <stdbool.h>
#include <stdint.h>

#include "gmem.h"
#include "virtio_spec.h"
#include "../lib/compiler.h"
#include "../lib/pbuf.h"

/* Chains per burst. Each burst pays a few lines fetched from the front-end's
 * core (avail->idx, used->idx) at hundreds of cycles each here: 64 spreads
 * them over twice the frames of DPDK's usual 32 (docs/performance.md). */
#define VQ_BURST_MAX 64
/* Host pieces one chain may use; a longer chain is dropped, not broken. */
#define VQ_MAX_IOV 64

enum vq_broken_reason {
	VQ_OK = 0,
	VQ_BROKEN_AVAIL_IDX,	/* avail->idx moved by more than the queue size */
	VQ_BROKEN_HEAD_RANGE,	/* head index >= queue size */
	VQ_BROKEN_DESC_ADDR,	/* buffer not inside guest memory */
	VQ_BROKEN_DESC_LOOP,	/* chain longer than the queue (a loop) */
	VQ_BROKEN_DESC_NEXT,	/* next index out of range */
	VQ_BROKEN_INDIRECT,	/* bad indirect table: size, nesting, with NEXT, address */
	VQ_BROKEN_DESC_ORDER,	/* device-readable after device-writable */
	VQ_BROKEN_DESC_DIR,	/* TX chain with writable or RX chain with readable parts */
	VQ_BROKEN_LEN_OVERFLOW, /* lengths sum past 32 bits */
	VQ_BROKEN_SHORT_CHAIN,	/* chain shorter than the virtio-net header */
	VQ_BROKEN_REASON_COUNT
};

/* Stable names for logs and counters ("avail_idx_jump", ...). */
const char *vq_broken_reason_name(enum vq_broken_reason r);

struct vq_stats {
	uint64_t packets;	    /* dequeued (TX) or delivered (RX) */
	uint64_t bytes;		    /* frame bytes, virtio-net header excluded */
	uint64_t drop_ring_full;    /* RX: no guest buffer available */
	uint64_t drop_too_big;	    /* RX: frame larger than the buffers; TX: larger than a pbuf */
	uint64_t pool_empty;	    /* TX: pool empty (the chain stays in the ring) */
	uint64_t drop_too_many_iov; /* chain with more than VQ_MAX_IOV pieces */
	uint64_t interrupts;	    /* times vq_guest_wants_interrupt() said yes */
	uint64_t log_outside;	    /* dirty pages written outside the log: bits lost */
	uint64_t broken[VQ_BROKEN_REASON_COUNT];
};

/* A validated chain: device-readable pieces first, then device-writable ones. */
struct vq_chain {
	uint16_t head;
	uint16_t nr_out;  /* device-readable pieces: iov[0 .. nr_out) */
	uint16_t nr_in;	  /* device-writable pieces: iov[nr_out .. nr_out + nr_in) */
	uint32_t out_len; /* bytes readable */
	uint32_t in_len;  /* bytes writable */
	struct gmem_iov iov[VQ_MAX_IOV];
};

/*
 * The dirty log of vhost-user live migration ("Dirty page logging"): one bit
 * per 4 KiB page of guest-physical address, bit (page % 8) of byte (page / 8).
 * The front-end clears bits while we set them, so bits are only ever set with
 * an atomic OR. Owned by the vhost layer; replaced only while every queue of
 * the device is stopped.
 */
struct vq_log {
	uint8_t *bits;
	uint64_t size; /* bytes */
};
#define VQ_LOG_PAGE_SHIFT 12

struct vq {
	/* Set by vq_setup (control thread, queue stopped). */
	const struct gmem *mem;
	struct virtq_desc *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;
	uint16_t size;
	uint16_t mask;
	uint16_t hdr_len; /* virtio-net header bytes: 12 or 10 */
	bool event_idx;	  /* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool indirect;	  /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	bool mrg_rxbuf;	  /* VIRTIO_NET_F_MRG_RXBUF negotiated */
	/* Set by vq_set_log after vq_setup (control thread, queue stopped). */
	bool log_used;		  /* used-ring writes are logged (VHOST_VRING_F_LOG) */
	const struct vq_log *log; /* NULL: logging off, the data path pays one branch */
	uint64_t log_used_gpa;	  /* guest address the used ring is logged at */

	/* Owned by the forwarding thread that polls the queue. */
	uint16_t last_avail;	 /* next avail slot to consume */
	uint16_t last_used;	 /* our copy of used->idx */
	uint16_t used_held;	 /* used entries written after last_used, not yet published */
	uint16_t signalled_used; /* used->idx when we last decided to interrupt */
	bool signalled_valid;
	uint32_t mem_hint; /* gmem last-hit hint */
	enum vq_broken_reason broken;
	struct vq_stats stats;
};

/*
 * Configures the queue on translated ring memory. 'features' are the
 * negotiated virtio feature bits; 'base' is the first avail index to process
 * (SET_VRING_BASE). Checks 2.7 rules: size a power of 2 in 1..32768, desc
 * 16-byte, avail 2-byte, used 4-byte aligned. Returns 0 or -EINVAL.
 */
int vq_setup(struct vq *vq, const struct gmem *mem, uint16_t size_or_0_for_32768,
	     struct virtq_desc *desc, struct virtq_avail *avail, struct virtq_used *used,
	     uint64_t features, uint16_t base);

/*
 * Turns dirty logging on for a queue just set up: every byte the ring code
 * writes into guest memory from now on (RX headers and frames, used entries,
 * used->idx, used->flags, avail_event) sets its page's bit in 'log'. With
 * 'log_used', used-ring writes are logged at 'used_gpa' + their offset in
 * the used ring ("log_guest_addr", which may lie outside the memory table);
 * without it they are not logged. vq_setup and vq_reset turn logging off.
 */
void vq_set_log(struct vq *vq, const struct vq_log *log, bool log_used, uint64_t used_gpa);

/* Dirty logging of [gpa, gpa + len): pages past the log's end count log_outside. */
void vq_log_gpa(struct vq *vq, uint64_t gpa, uint64_t len);
/* The same for a host range inside the queue's guest memory (a chain's piece). */
void vq_log_host(struct vq *vq, const void *host, uint64_t len);
/* The same for a range of the used ring, when used-ring logging is on. */
void vq_log_used(struct vq *vq, const void *host, uint64_t len);

/* Forgets the rings and the broken state; statistics are kept. */
void vq_reset(struct vq *vq);

/*
 * Marks the queue broken for 'reason' (the first reason sticks) and bumps
 * stats.broken[reason]. Returns -EIO, for "return vq_mark_broken(...)".
 */
int vq_mark_broken(struct vq *vq, enum vq_broken_reason reason);

/* Number of chains the guest has made available and we have not consumed. */
uint16_t vq_avail_count(struct vq *vq);

/*
 * Walks the chain whose head descriptor index is 'head' (as read from an avail
 * ring slot; nothing is consumed) into 'c'. Returns 0, -EIO after marking the
 * queue broken, or -E2BIG when the chain is valid but needs more than
 * VQ_MAX_IOV pieces (then c->head, c->out_len and c->in_len are complete;
 * the pieces and their counts are not).
 */
int vq_walk_chain(struct vq *vq, uint16_t head, struct vq_chain *c);

/* One descriptor, read exactly once from guest memory (only the copy is used). */
static inline void vq_desc_load(const struct virtq_desc *src, struct virtq_desc *d)
{
	d->addr = vle64_to_cpu(rs_load_relaxed(&src->addr));
	d->len = vle32_to_cpu(rs_load_relaxed(&src->len));
	d->flags = vle16_to_cpu(rs_load_relaxed(&src->flags));
	d->next = vle16_to_cpu(rs_load_relaxed(&src->next));
}

/*
 * The rule of vq_peek_single, for a descriptor already loaded: true when 'd'
 * is a whole chain (no NEXT, no INDIRECT) of a non-empty buffer lying inside
 * region 'r'; then '*piece' is that buffer.
 */
static inline bool vq_desc_single(const struct virtq_desc *d, const struct gmem_region *r,
				  struct gmem_iov *piece)
{
	if ((d->flags & (VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_INDIRECT)) || d->len == 0)
		return false;
	void *host = gmem_region_translate(r, d->addr, d->len);
	if (!host)
		return false;
	piece->base = host;
	piece->len = d->len;
	return true;
}

/*
 * The common case of vq_walk_chain in a few instructions: true when the chain
 * at 'head' (< size, checked by the caller) is one descriptor without NEXT or
 * INDIRECT whose buffer lies inside the region of the last translation; then
 * '*piece' and '*writable' describe it. False for everything else, including
 * every error: the caller then takes vq_walk_chain, which reads the chain
 * again from scratch and validates it in full.
 */
static inline bool vq_peek_single(struct vq *vq, uint16_t head, struct gmem_iov *piece,
				  bool *writable)
{
	struct virtq_desc d;

	if (vq->mem_hint >= vq->mem->nregions)
		return false;
	vq_desc_load(&vq->desc[head], &d);
	*writable = (d.flags & VIRTQ_DESC_F_WRITE) != 0;
	return vq_desc_single(&d, &vq->mem->regions[vq->mem_hint], piece);
}

/* Chain 'c' as the one piece vq_peek_single found at 'head' (its values, not a re-read). */
static inline void vq_chain_single(struct vq_chain *c, uint16_t head, const struct gmem_iov *piece,
				   bool writable)
{
	c->head = head;
	c->iov[0] = *piece;
	c->nr_out = writable ? 0 : 1;
	c->nr_in = writable ? 1 : 0;
	c->out_len = writable ? 0 : piece->len;
	c->in_len = writable ? piece->len : 0;
}

/* The offload fields of a virtio-net header (5.1.6) into host order, and back. */
static inline void vq_hdr_to_ol(const struct virtio_net_hdr *h, struct pbuf_offload *ol)
{
	ol->flags = h->flags;
	ol->gso_type = h->gso_type;
	ol->hdr_len = vle16_to_cpu(h->hdr_len);
	ol->gso_size = vle16_to_cpu(h->gso_size);
	ol->csum_start = vle16_to_cpu(h->csum_start);
	ol->csum_offset = vle16_to_cpu(h->csum_offset);
}

static inline void vq_ol_to_hdr(const struct pbuf_offload *ol, struct virtio_net_hdr *h)
{
	h->flags = ol->flags;
	h->gso_type = ol->gso_type;
	h->hdr_len = cpu_to_vle16(ol->hdr_len);
	h->gso_size = cpu_to_vle16(ol->gso_size);
	h->csum_start = cpu_to_vle16(ol->csum_start);
	h->csum_offset = cpu_to_vle16(ol->csum_offset);
}

/*
 * Guest TX: consumes up to 'max' (<= VQ_BURST_MAX) chains, copying each frame
 * (after the virtio-net header) into a buffer from 'pool'; the header's
 * offload fields go to pkt->ol; pkt->in_queue is left to the caller. Returns
 * the number of packets, or -EIO when the queue is broken. When the guest
 * breaks the ring in the middle of a burst, the packets taken before the bad
 * chain are returned and the next call returns -EIO. A frame larger than a
 * pbuf is dropped (drop_too_big) and its chain completed. When the pool is
 * empty the chain stays in the ring (pool_empty) for the next burst.
 * Used entries are published once per burst.
 */
int vq_dequeue_burst(struct vq *vq, struct pbuf_pool *pool, struct pbuf **pkts, unsigned max);

/* Frames above this many bytes are split by vq_dequeue_burst_ref (smaller ones copy cheaply). */
#define VQ_REF_MIN 512

/*
 * As vq_dequeue_burst, copying each frame once (guest TX buffer to guest RX
 * buffer): a frame longer than VQ_REF_MIN in one guest piece comes back
 * split (pbuf.h): its first PBUF_SPLIT_HEAD bytes copied, the rest referenced
 * in guest memory. Its chain stays the switch's until vq_dequeue_release(),
 * which publishes the used entries of every burst since the last release;
 * the caller releases once nothing refers to the frames any more (the guest
 * may reuse a completed buffer at once, so publishing earlier could send
 * another guest whatever it writes there next). Several bursts may be taken
 * before one release.
 */
int vq_dequeue_burst_ref(struct vq *vq, struct pbuf_pool *pool, struct pbuf **pkts, unsigned max);
/* Publishes the used entries held by vq_dequeue_burst_ref; returns how many. */
uint16_t vq_dequeue_release(struct vq *vq);

/*
 * Guest RX: copies up to 'n' (<= VQ_BURST_MAX) frames into guest buffers,
 * writing a virtio-net header (num_buffers with MRG_RXBUF). The caller keeps
 * ownership of every pbuf. Frames that do not fit are counted (drop_too_big,
 * drop_ring_full), never truncated. Returns the number delivered, or -EIO when
 * the queue is broken. Used entries are published once per burst.
 */
int vq_enqueue_burst(struct vq *vq, struct pbuf *const *pkts, unsigned n);

/*
 * After a burst: true when the guest asked to be interrupted for the used
 * entries published since the last interrupt (EVENT_IDX used_event, else
 * VIRTQ_AVAIL_F_NO_INTERRUPT). Issues the full barrier the check needs.
 */
bool vq_guest_wants_interrupt(struct vq *vq);

/*
 * Kick suppression (2.7.10): disable while polling; enable before sleeping.
 * vq_enable_kicks returns true when chains arrived meanwhile (do not sleep).
 */
void vq_disable_kicks(struct vq *vq);
bool vq_enable_kicks(struct vq *vq);

#endif
