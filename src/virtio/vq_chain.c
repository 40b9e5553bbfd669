/*
 * vq_chain.c - the descriptor-chain walker for hostile guests (virtio 1.2
 * sections 2.7.5 and 2.7.5.3). It turns the chain starting at a head index
 * into host pieces (struct vq_chain), or marks the queue broken. Every
 * descriptor is copied once, field by field, from guest memory into a local
 * struct and only the copy is checked and used, so a guest rewriting the
 * table under us cannot make a checked value differ from a used one. Every
 * loop is bounded: the direct walk by the queue size, the indirect walk by
 * the table's entry count, and address translation by the region count.
 */
#include "vq.h"

#include <errno.h>
#include <string.h>

#include "../lib/compiler.h"

/*
 * Largest indirect table we accept, in entries. 2.7.5.3.1 forbids chains
 * longer than the queue size, but Linux drivers build indirect tables longer
 * than small queues; we accept what a 32768-entry queue could hold and bound
 * the work a guest can make one chain cost.
 */
#define VQ_INDIRECT_MAX VIRTQ_MAX_SIZE

/* State of one walk, beside the chain being filled. */
struct vq_walk {
	uint64_t total;	 /* bytes, summed in 64 bits */
	unsigned niov;	 /* pieces written to c->iov */
	bool seen_write; /* a device-writable descriptor was seen */
	bool too_many;	 /* more than VQ_MAX_IOV pieces: keep validating, then -E2BIG */
};

/*
 * Adds one buffer descriptor (already copied to 'd') to the chain. Returns 0
 * or -EIO after marking the queue broken.
 */
static int vq_walk_buffer(struct vq *vq, struct vq_chain *c, struct vq_walk *w,
			  const struct virtq_desc *d)
{
	bool writable = (d->flags & VIRTQ_DESC_F_WRITE) != 0;

	/* 2.7.4.2: "The driver MUST place any device-writable descriptor elements
	 * after any device-readable descriptor elements." */
	if (!writable && w->seen_write)
		return vq_mark_broken(vq, VQ_BROKEN_DESC_ORDER);
	w->seen_write |= writable;
	/* 2.7.5.2: "Drivers MUST NOT add a descriptor chain longer than 2^32
	 * bytes in total". */
	w->total += d->len;
	if (w->total > UINT32_MAX)
		return vq_mark_broken(vq, VQ_BROKEN_LEN_OVERFLOW);
	if (writable)
		c->in_len += d->len;
	else
		c->out_len += d->len;
	if (d->len == 0)
		return 0; /* allowed; contributes no piece */
	/* 2.7.5: addr/len must describe guest memory, possibly several regions. */
	unsigned room = w->too_many ? 0 : VQ_MAX_IOV - w->niov;
	int n = gmem_to_iov(vq->mem, &vq->mem_hint, d->addr, d->len, &c->iov[w->niov], room);
	if (n == -E2BIG) {
		w->too_many = true; /* the range is mapped; only our iov is too small */
		return 0;
	}
	if (n < 0)
		return vq_mark_broken(vq, VQ_BROKEN_DESC_ADDR);
	w->niov += (unsigned)n;
	if (writable)
		c->nr_in += (uint16_t)n;
	else
		c->nr_out += (uint16_t)n;
	return 0;
}

/* True when every byte of [gpa, gpa+len) is mapped, across adjacent regions. */
static bool vq_range_mapped(struct vq *vq, uint64_t gpa, uint64_t len)
{
	/* With room for no piece, gmem_to_iov answers -E2BIG for mapped ranges. */
	return gmem_to_iov(vq->mem, &vq->mem_hint, gpa, len, NULL, 0) == -E2BIG;
}

/*
 * Reads entry 'i' of the indirect table at guest address 'gpa': straight from
 * the translated table 'tbl' when it is one aligned host piece, else through
 * gmem_read. Returns 0 or -EFAULT.
 */
static int vq_indirect_load(struct vq *vq, const struct virtq_desc *tbl, uint64_t gpa, uint32_t i,
			    struct virtq_desc *d)
{
	if (tbl) {
		vq_desc_load(&tbl[i], d);
		return 0;
	}
	struct virtq_desc raw;
	if (gmem_read(vq->mem, &vq->mem_hint, gpa + 16ull * i, &raw, sizeof(raw)))
		return -EFAULT;
	d->addr = vle64_to_cpu(raw.addr);
	d->len = vle32_to_cpu(raw.len);
	d->flags = vle16_to_cpu(raw.flags);
	d->next = vle16_to_cpu(raw.next);
	return 0;
}

/* Walks the indirect table described by 'ind' (2.7.5.3). Returns 0 or -EIO. */
static int vq_walk_indirect(struct vq *vq, struct vq_chain *c, struct vq_walk *w,
			    const struct virtq_desc *ind)
{
	/* 2.7.5.3.1: "The driver MUST NOT set the VIRTQ_DESC_F_INDIRECT flag
	 * unless the VIRTIO_F_INDIRECT_DESC feature was negotiated" and "MUST
	 * NOT set both VIRTQ_DESC_F_INDIRECT and VIRTQ_DESC_F_NEXT". */
	if (!vq->indirect || (ind->flags & VIRTQ_DESC_F_NEXT))
		return vq_mark_broken(vq, VQ_BROKEN_INDIRECT);
	/* 2.7.5.3: the table is len / 16 descriptors. */
	if (ind->len == 0 || ind->len % sizeof(struct virtq_desc) != 0 ||
	    ind->len / sizeof(struct virtq_desc) > VQ_INDIRECT_MAX ||
	    !vq_range_mapped(vq, ind->addr, ind->len))
		return vq_mark_broken(vq, VQ_BROKEN_INDIRECT);
	uint32_t n = ind->len / sizeof(struct virtq_desc);
	const struct virtq_desc *tbl = gmem_translate(vq->mem, &vq->mem_hint, ind->addr, ind->len);
	if (((uintptr_t)tbl & (_Alignof(struct virtq_desc) - 1)) != 0)
		tbl = NULL; /* unaligned: copy entries with memcpy instead */
	uint32_t i = 0, count = 0;
	for (;;) {
		struct virtq_desc d;
		/* Loop detection: a table of n entries has no chain longer than n. */
		if (++count > n)
			return vq_mark_broken(vq, VQ_BROKEN_DESC_LOOP);
		if (vq_indirect_load(vq, tbl, ind->addr, i, &d))
			return vq_mark_broken(vq, VQ_BROKEN_INDIRECT);
		/* 2.7.5.3.1: "MUST NOT set the VIRTQ_DESC_F_INDIRECT flag within
		 * an indirect descriptor (ie. only one table per descriptor)". */
		if (d.flags & VIRTQ_DESC_F_INDIRECT)
			return vq_mark_broken(vq, VQ_BROKEN_INDIRECT);
		int rc = vq_walk_buffer(vq, c, w, &d);
		if (rc)
			return rc;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (d.next >= n)
			return vq_mark_broken(vq, VQ_BROKEN_DESC_NEXT);
		i = d.next;
	}
}

int vq_walk_chain(struct vq *vq, uint16_t head, struct vq_chain *c)
{
	struct vq_walk w = {0};
	bool writable;

	c->head = head;
	c->nr_out = c->nr_in = 0;
	c->out_len = c->in_len = 0;
	/* 2.7.6: ring entries are descriptor indices below the queue size. */
	if (head >= vq->size)
		return vq_mark_broken(vq, VQ_BROKEN_HEAD_RANGE);
	uint16_t idx = head;
	uint32_t count = 0;
	struct gmem_iov piece;
	if (RS_LIKELY(vq_peek_single(vq, head, &piece, &writable))) {
		vq_chain_single(c, head, &piece, writable);
		return 0;
	}
	for (;;) {
		struct virtq_desc d;
		/* 2.7.5.3.1 / 2.7.13.1: no chain is longer than the queue size,
		 * so a longer one is a loop. */
		if (++count > vq->size)
			return vq_mark_broken(vq, VQ_BROKEN_DESC_LOOP);
		vq_desc_load(&vq->desc[idx], &d);
		int rc = (d.flags & VIRTQ_DESC_F_INDIRECT) ? vq_walk_indirect(vq, c, &w, &d)
							   : vq_walk_buffer(vq, c, &w, &d);
		if (rc)
			return rc;
		if ((d.flags & (VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_INDIRECT)) != VIRTQ_DESC_F_NEXT)
			break;
		/* 2.7.5: next is a descriptor index, below the queue size. */
		if (d.next >= vq->size)
			return vq_mark_broken(vq, VQ_BROKEN_DESC_NEXT);
		idx = d.next;
	}
	return w.too_many ? -E2BIG : 0;
}
