/*
 * fe_net.c - the test front-end's virtio-net data path, driver side: TX
 * frames behind a virtio-net header (5.1.6) in one or several descriptors or
 * an indirect table (2.7.5.3), RX buffers posted and frames reassembled from
 * used entries, with num_buffers checked for mergeable buffers (5.1.6.4).
 * The pieces of a chain are separated by poisoned gaps so a device reading
 * or writing past a descriptor is caught. Offload metadata goes out as the
 * test gives it (fe_send_hdr) and comes in checked against what was acked.
 */
#include "fe.h"

#include <errno.h>
#include <string.h>

#include "lib/compiler.h"

#define FE_POISON 0xEE

struct fe_seg {
	uint64_t gpa;
	uint32_t len;
};

/* Splits 'total' bytes at 'gpa' into up to 'k' pieces separated by gaps; returns the count. */
static unsigned fe_split(uint64_t gpa, uint32_t total, unsigned k, struct fe_seg *s)
{
	if (total == 0)
		return 0;
	if (k > total)
		k = total;
	uint32_t piece = total / k;
	for (unsigned i = 0; i < k; i++) {
		s[i].gpa = gpa;
		s[i].len = i + 1 < k ? piece : total - piece * (k - 1);
		gpa += s[i].len + FE_SEG_GAP;
	}
	return k;
}

static uint64_t fe_slot(const struct fe_vq *vq, uint16_t head)
{
	return vq->buf_gpa + (uint64_t)head * vq->slot_size;
}

/* Writes the chain's descriptors: in the ring, or in head's indirect table. */
static void fe_write_chain(struct fe *fe, struct fe_vq *vq, uint16_t head, const struct fe_seg *s,
			   unsigned n, uint16_t flags, bool indirect)
{
	for (unsigned i = 0; i < n; i++)
		fe->straddled += fe_mem_ptr(&fe->mem, s[i].gpa, s[i].len) == NULL;
	if (indirect) {
		uint64_t tgpa = vq->itab_gpa + (uint64_t)head * 16 * FE_MAX_SEGS;
		struct virtq_desc *t = fe_mem_ptr(&fe->mem, tgpa, 16ull * n);
		for (unsigned i = 0; i < n; i++)
			fe_vq_set_desc(&t[i], s[i].gpa, s[i].len,
				       flags | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0),
				       (uint16_t)(i + 1));
		fe_vq_set_desc(&vq->desc[head], tgpa, 16 * n, VIRTQ_DESC_F_INDIRECT, 0);
		return;
	}
	uint16_t d = head;
	for (unsigned i = 0; i < n; i++) {
		uint16_t next = fe_vq_next(vq, d);
		fe_vq_set_desc(&vq->desc[d], s[i].gpa, s[i].len,
			       flags | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0), next);
		d = next;
	}
}

static void fe_poison_gaps(struct fe *fe, const struct fe_seg *s, unsigned n)
{
	uint8_t gap[FE_SEG_GAP];
	memset(gap, FE_POISON, sizeof(gap));
	for (unsigned i = 0; i < n; i++)
		fe_mem_write(&fe->mem, s[i].gpa + s[i].len, gap, sizeof(gap));
}

static bool fe_gaps_intact(struct fe *fe, const struct fe_seg *s, unsigned n)
{
	uint8_t gap[FE_SEG_GAP];
	for (unsigned i = 0; i < n; i++) {
		fe_mem_read(&fe->mem, s[i].gpa + s[i].len, gap, sizeof(gap));
		for (unsigned j = 0; j < sizeof(gap); j++)
			if (gap[j] != FE_POISON)
				return false;
	}
	return true;
}

int fe_tx_reclaim(struct fe *fe, unsigned pair)
{
	struct fe_vq *vq = &fe->vq[2 * pair + 1];
	uint16_t head;
	uint32_t len;
	int r;
	while ((r = fe_vq_get_used(vq, &head, &len, &fe->dev_errors)) > 0)
		;
	if (r < 0)
		return fe_fail(fe, r, "TX queue %u: device returned head %u len %u it did not own",
			       vq->qid, head, len);
	return vq->inflight;
}

int fe_send(struct fe *fe, unsigned pair, const void *frame, size_t len)
{
	return fe_send_hdr(fe, pair, NULL, frame, len);
}

int fe_send_hdr(struct fe *fe, unsigned pair, const struct virtio_net_hdr *hdr, const void *frame,
		size_t len)
{
	if (pair >= fe->cfg.queue_pairs)
		return -EINVAL;
	struct fe_vq *vq = &fe->vq[2 * pair + 1];
	if (fe->hdr_len + len + FE_SEG_GAP * FE_MAX_SEGS > vq->slot_size)
		return fe_fail(fe, -EMSGSIZE, "frame of %zu bytes exceeds the TX slot", len);
	bool ind = fe->cfg.tx_indirect;
	unsigned k = fe->cfg.tx_segs > FE_MAX_SEGS ? FE_MAX_SEGS : fe->cfg.tx_segs;
	int64_t deadline = fe_now_ms() + fe->cfg.timeout_ms;
	int r;
	while ((r = fe_tx_reclaim(fe, pair)) >= 0 && vq->nfree < (ind ? 1 : k)) {
		int64_t left = deadline - fe_now_ms();
		if (left <= 0 || fe_vq_wait(vq, (int)left) < 0)
			return fe_fail(fe, -ETIMEDOUT, "TX queue %u: no descriptors completed",
				       vq->qid);
	}
	if (r < 0)
		return r;
	struct fe_seg s[FE_MAX_SEGS];
	uint64_t base = fe_slot(vq, 0);
	unsigned n;
	if (k == 1) {
		n = fe_split(base, (uint32_t)(fe->hdr_len + len), 1, s);
	} else {
		s[0] = (struct fe_seg){base, fe->hdr_len};
		n = 1 + fe_split(base + fe->hdr_len + FE_SEG_GAP, (uint32_t)len, k - 1, s + 1);
	}
	int head = fe_vq_alloc_chain(vq, ind ? 1 : n);
	uint64_t off = fe_slot(vq, (uint16_t)head) - base;
	for (unsigned i = 0; i < n; i++)
		s[i].gpa += off;
	struct virtio_net_hdr h;
	memset(&h, 0, sizeof(h)); /* 5.1.6.2: no offloads, num_buffers 0 on transmit */
	if (hdr)
		h = *hdr;
	fe_poison_gaps(fe, s, n);
	fe_mem_write(&fe->mem, s[0].gpa, &h, fe->hdr_len);
	fe_mem_write(&fe->mem, s[0].gpa + fe->hdr_len, frame, s[0].len - fe->hdr_len);
	size_t done = s[0].len - fe->hdr_len;
	for (unsigned i = 1; i < n; i++, done += s[i - 1].len)
		fe_mem_write(&fe->mem, s[i].gpa, (const uint8_t *)frame + done, s[i].len);
	fe_write_chain(fe, vq, (uint16_t)head, s, n, 0, ind);
	uint16_t old = vq->avail_idx;
	fe_vq_publish(vq, (uint16_t)head);
	if (!vq->hold)
		fe_vq_notify(vq, old);
	return 0;
}

void fe_tx_hold(struct fe *fe, unsigned pair)
{
	struct fe_vq *vq = &fe->vq[2 * pair + 1];
	vq->hold = true;
	vq->hold_old = vq->avail_idx;
}

void fe_tx_flush(struct fe *fe, unsigned pair)
{
	struct fe_vq *vq = &fe->vq[2 * pair + 1];
	vq->hold = false;
	rs_store_release(&vq->avail->idx, cpu_to_vle16(vq->avail_idx));
	fe_vq_notify(vq, vq->hold_old);
}

/* The pieces of RX head 'head', as fe_rx_post laid them out. */
static unsigned fe_rx_segs(const struct fe *fe, const struct fe_vq *vq, uint16_t head,
			   struct fe_seg *s)
{
	return fe_split(fe_slot(vq, head), fe->cfg.rx_buf_size, fe->cfg.rx_segs, s);
}

static void fe_rx_post(struct fe *fe, struct fe_vq *vq)
{
	bool ind = fe->cfg.rx_indirect;
	struct fe_seg s[FE_MAX_SEGS];
	int head = fe_vq_alloc_chain(vq, ind ? 1 : fe->cfg.rx_segs);
	unsigned n = fe_rx_segs(fe, vq, (uint16_t)head, s);
	fe_poison_gaps(fe, s, n);
	fe_write_chain(fe, vq, (uint16_t)head, s, n, VIRTQ_DESC_F_WRITE, ind);
	vq->wlen[head] = fe->cfg.rx_buf_size;
	fe_vq_publish(vq, (uint16_t)head);
}

int fe_rx_fill(struct fe *fe, unsigned pair)
{
	struct fe_vq *vq = &fe->vq[2 * pair];
	unsigned need = fe->cfg.rx_indirect ? 1 : fe->cfg.rx_segs;
	unsigned limit = fe->cfg.rx_post ? fe->cfg.rx_post : vq->num;
	if (need > FE_MAX_SEGS || fe->cfg.rx_buf_size < need)
		return fe_fail(fe, -EINVAL, "bad RX layout");
	uint16_t old = vq->avail_idx;
	while (vq->inflight < limit && vq->nfree >= need)
		fe_rx_post(fe, vq);
	if (vq->avail_idx != old)
		fe_vq_notify(vq, old);
	return 0;
}

/* Copies 'n' bytes at offset 'off' of the chain's logical buffer. */
static int fe_chain_read(struct fe *fe, const struct fe_seg *s, unsigned ns, uint32_t off,
			 uint8_t *dst, uint32_t n)
{
	for (unsigned i = 0; i < ns && n > 0; i++) {
		if (off >= s[i].len) {
			off -= s[i].len;
			continue;
		}
		uint32_t c = s[i].len - off < n ? s[i].len - off : n;
		fe_mem_read(&fe->mem, s[i].gpa + off, dst, c);
		dst += c;
		n -= c;
		off = 0;
	}
	return n ? -EFAULT : 0;
}

/* Takes one used RX entry before 'deadline' and checks the gaps around its pieces. */
static int fe_rx_take(struct fe *fe, struct fe_vq *vq, int64_t deadline, uint16_t *head,
		      uint32_t *len, struct fe_seg *s, unsigned *ns)
{
	int r;
	while ((r = fe_vq_get_used(vq, head, len, &fe->dev_errors)) == 0) {
		int64_t left = deadline - fe_now_ms();
		if (left < 0 || fe_vq_wait(vq, (int)left) < 0)
			return -ETIMEDOUT;
	}
	if (r < 0)
		return fe_fail(fe, -EPROTO, "RX queue %u: used entry head %u len %u is invalid",
			       vq->qid, *head, *len);
	*ns = fe_rx_segs(fe, vq, *head, s);
	if (!fe_gaps_intact(fe, s, *ns)) {
		fe->dev_errors++;
		return fe_fail(fe, -EPROTO, "RX queue %u: device wrote outside head %u's buffers",
			       vq->qid, *head);
	}
	return 0;
}

/* 5.1.6.4.1: the device sets only the offloads the driver accepted. */
static bool fe_rx_hdr_acked(const struct fe *fe, const struct virtio_net_hdr *h)
{
	const uint64_t f = fe->features;
	const uint8_t type = h->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	if (h->flags & ~(VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID))
		return false; /* RSC_INFO and unknown bits: never acked */
	if (h->flags && !(f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM)))
		return false;
	if ((h->gso_type & VIRTIO_NET_HDR_GSO_ECN) &&
	    (type == VIRTIO_NET_HDR_GSO_NONE || !(f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_ECN))))
		return false;
	switch (type) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return true;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		return f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4);
	case VIRTIO_NET_HDR_GSO_TCPV6:
		return f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6);
	case VIRTIO_NET_HDR_GSO_UDP_L4:
		return f &
		       (VIRTIO_BIT(VIRTIO_NET_F_GUEST_USO4) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_USO6));
	default:
		return false; /* UFO (never acked) and unknown types */
	}
}

/* Only acked offloads, a gso_size with GSO; num_buffers 1 unless buffers merge (5.1.6.4). */
static int fe_rx_check_hdr(struct fe *fe, const struct virtio_net_hdr *h, uint16_t *nb)
{
	bool mrg = fe->features & VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
	*nb = mrg ? vle16_to_cpu(h->num_buffers) : 1;
	if (!fe_rx_hdr_acked(fe, h))
		return fe_fail(fe, -EPROTO, "RX header flags 0x%x gso 0x%x not negotiated",
			       h->flags, h->gso_type);
	if (h->gso_type != VIRTIO_NET_HDR_GSO_NONE && vle16_to_cpu(h->gso_size) == 0)
		return fe_fail(fe, -EPROTO, "RX header gso 0x%x with gso_size 0", h->gso_type);
	if (fe->hdr_len == VIRTIO_NET_HDR_LEN_MRG && vle16_to_cpu(h->num_buffers) == 0)
		return fe_fail(fe, -EPROTO, "RX header num_buffers 0");
	if (!mrg && fe->hdr_len == VIRTIO_NET_HDR_LEN_MRG && h->num_buffers != 1)
		return fe_fail(fe, -EPROTO, "RX num_buffers %u without MRG_RXBUF", h->num_buffers);
	return 0;
}

/* 5.1.6.4.1: a partial checksum's field lies inside the frame the device wrote. */
static int fe_rx_check_csum(struct fe *fe, const struct virtio_net_hdr *h, size_t len)
{
	if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return 0;
	size_t end = (size_t)vle16_to_cpu(h->csum_start) + vle16_to_cpu(h->csum_offset) + 2;
	if (end > len)
		return fe_fail(fe, -EPROTO, "RX csum_start %u csum_offset %u past a %zu-byte frame",
			       vle16_to_cpu(h->csum_start), vle16_to_cpu(h->csum_offset), len);
	return 0;
}

/* One frame, joined from num_buffers used entries; its header in '*h'. */
static int fe_recv_frame(struct fe *fe, struct fe_vq *vq, int64_t deadline,
			 struct virtio_net_hdr *hout, uint8_t *buf, size_t cap, size_t *out)
{
	struct fe_seg s[FE_MAX_SEGS];
	unsigned ns;
	uint16_t head, nb;
	uint32_t len;
	int err = fe_rx_take(fe, vq, deadline, &head, &len, s, &ns);
	if (err < 0)
		return err;
	if (len < fe->hdr_len)
		return fe_fail(fe, -EPROTO, "RX used len %u shorter than the header", len);
	struct virtio_net_hdr h;
	memset(&h, 0, sizeof(h));
	fe_chain_read(fe, s, ns, 0, (uint8_t *)&h, fe->hdr_len);
	if ((err = fe_rx_check_hdr(fe, &h, &nb)) < 0)
		return err;
	size_t total = 0;
	for (uint16_t i = 0;; i++) {
		uint32_t off = i == 0 ? fe->hdr_len : 0;
		if (total + (len - off) > cap)
			return fe_fail(fe, -EMSGSIZE, "RX frame larger than %zu", cap);
		fe_chain_read(fe, s, ns, off, buf + total, len - off);
		total += len - off;
		if (i + 1 == nb)
			break;
		err = fe_rx_take(fe, vq, deadline, &head, &len, s, &ns);
		if (err == -ETIMEDOUT)
			return fe_fail(fe, -EPROTO, "RX num_buffers %u but only %u used", nb,
				       i + 1);
		if (err < 0)
			return err;
	}
	*out = total;
	*hout = h;
	return fe_rx_check_csum(fe, &h, total);
}

int fe_recv_hdr(struct fe *fe, unsigned pair, struct virtio_net_hdr *h, void *buf, size_t cap,
		size_t *len, int timeout_ms)
{
	if (pair >= fe->cfg.queue_pairs)
		return -EINVAL;
	struct fe_vq *vq = &fe->vq[2 * pair];
	struct virtio_net_hdr got;
	int err = fe_recv_frame(fe, vq, fe_now_ms() + timeout_ms, &got, buf, cap, len);
	int ferr = fe->cfg.rx_manual ? 0 : fe_rx_fill(fe, pair);
	if (h && err == 0)
		*h = got;
	return err < 0 ? err : ferr;
}

int fe_recv_wait(struct fe *fe, unsigned pair, void *buf, size_t cap, size_t *len, int timeout_ms)
{
	return fe_recv_hdr(fe, pair, NULL, buf, cap, len, timeout_ms);
}

int fe_recv(struct fe *fe, unsigned pair, void *buf, size_t cap, size_t *len)
{
	return fe_recv_wait(fe, pair, buf, cap, len, fe->cfg.timeout_ms);
}
