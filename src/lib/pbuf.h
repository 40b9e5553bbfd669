/*
 * pbuf.h - packet buffers and their fixed-size pool. A pool is allocated once,
 * at start, and owned by exactly one thread (the forwarding thread that
 * dequeues, switches and frees the packet): alloc and free are a stack
 * pop/push with no lock and no malloc. Packet bytes start at 'data' (the
 * Ethernet header); PBUF_HEADROOM bytes in front let VLAN pushes grow the
 * frame without a copy.
 *
 * A frame may be split (copy once): its first 'head' bytes are in data[] and
 * the rest is still in the sender's memory at 'tail' (a guest's transmit
 * buffer the sender has not completed yet; read-only, valid until the burst
 * ends). Headers are always in data[]. Whatever reads past the headers
 * copies the frame out with pbuf_copy_frame() or first calls
 * pbuf_linearize(), which needs no allocation: a split buffer always has
 * room for the whole frame.
 */
#ifndef RS_LIB_PBUF_H
#define RS_LIB_PBUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "copy.h"

#define PBUF_HEADROOM 128
/* Bytes of a split frame copied into data[]: every header the switch parses or rewrites. */
#define PBUF_SPLIT_HEAD 128

/*
 * Offload metadata carried beside the frame (a host-order copy of the
 * virtio-net header fields; see virtio 1.2 section 5.1.6). Zero means "no
 * offload": a plain, fully checksummed frame.
 */
struct pbuf_offload {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
};

struct pbuf {
	uint8_t *data;	  /* first byte of the frame, inside buf[] */
	uint32_t len;	  /* frame length in bytes */
	uint32_t room;	  /* bytes available from data to the end of buf[] */
	uint32_t hash;	  /* flow hash, 0 when not computed */
	uint16_t in_port; /* set by the receiving layer */
	uint16_t in_queue;
	struct pbuf_offload ol;
	const uint8_t *tail;	 /* split frame: bytes [head, len) are here; else NULL */
	uint32_t head;		 /* split frame: bytes in data[] */
	struct pbuf_pool *owner; /* the pool this buffer returns to */
	uint8_t buf[];		 /* PBUF_HEADROOM + data room */
};

struct pbuf_pool {
	struct pbuf **free; /* stack of free buffers */
	uint32_t nfree;
	uint32_t count;	       /* buffers in the pool */
	uint32_t data_room;    /* bytes per buffer after the headroom */
	size_t stride;	       /* bytes per buffer including the header */
	uint8_t *mem;	       /* one allocation holding every buffer */
	uint64_t alloc_failed; /* times pbuf_alloc found the pool empty */
	struct pbuf_pool *big; /* larger buffers for frames over data_room (GSO
				  super-frames), owned by the same thread; or NULL */
};

/* Allocates 'count' buffers of 'data_room' bytes each. Returns 0 or -ENOMEM. */
int pbuf_pool_init(struct pbuf_pool *pool, uint32_t count, uint32_t data_room);
void pbuf_pool_fini(struct pbuf_pool *pool);

/* Returns a reset buffer (len 0, data at headroom) or NULL when empty. */
static inline struct pbuf *pbuf_alloc(struct pbuf_pool *pool)
{
	if (pool->nfree == 0) {
		pool->alloc_failed++;
		return NULL;
	}
	struct pbuf *p = pool->free[--pool->nfree];
	p->data = p->buf + PBUF_HEADROOM;
	p->len = 0;
	p->room = pool->data_room;
	p->hash = 0;
	p->ol = (struct pbuf_offload){0};
	p->tail = NULL;
	return p;
}

/* Bytes of the frame in data[]. */
static inline uint32_t pbuf_head_len(const struct pbuf *p)
{
	return p->tail ? p->head : p->len;
}

/* Copies the whole frame to 'dst' ('len' bytes). */
static inline void pbuf_copy_frame(const struct pbuf *p, uint8_t *dst)
{
	uint32_t h = pbuf_head_len(p);
	rs_copy(dst, p->data, h);
	if (p->tail) /* memmove: a hostile guest may overlap its RX and TX buffers */
		memmove(dst + h, p->tail, p->len - h);
}

/* Makes a split frame whole in data[] (a copy of its tail). */
static inline void pbuf_linearize(struct pbuf *p)
{
	if (p->tail) {
		memcpy(p->data + p->head, p->tail, p->len - p->head);
		p->tail = NULL;
	}
}

/* A buffer with room for 'len' bytes: from 'pool', else from pool->big; NULL when none. */
static inline struct pbuf *pbuf_alloc_len(struct pbuf_pool *pool, uint32_t len)
{
	if (len <= pool->data_room)
		return pbuf_alloc(pool);
	if (pool->big && len <= pool->big->data_room)
		return pbuf_alloc(pool->big);
	return NULL;
}

/* Returns 'p' to the pool it came from ('pool' or its big pool). */
static inline void pbuf_free(struct pbuf_pool *pool, struct pbuf *p)
{
	(void)pool;
	struct pbuf_pool *o = p->owner;
	o->free[o->nfree++] = p;
}

static inline void pbuf_free_bulk(struct pbuf_pool *pool, struct pbuf **p, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		pbuf_free(pool, p[i]);
}

#endif
