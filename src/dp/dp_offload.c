/*
 * dp_offload.c - checksum and segmentation offloads across the switch (virtio
 * 1.2 section 5.1.6.2). On ingress a frame's offload metadata (pbuf.ol, the
 * virtio-net header of its port) is accepted only when the port negotiated
 * that offload and the metadata matches the frame's real headers
 * (pkt_ol_check); anything else is dropped and counted, never trusted. On
 * egress a frame goes out untouched when the destination accepts the same
 * offload (one copy of the whole super-frame into the guest or tap); else
 * the switch does the work: completes the checksum in place, or cuts the
 * super-frame into wire-sized segments (pkt_gso_segment) that replace it for
 * that destination only.
 */
#include "dp_internal.h"

#include <errno.h>

#include "../lib/log.h"
#include "../net/pkt_gso.h"
#include "../virtio/virtio_spec.h"

/* The PORT_OL_* a frame's metadata asks of whoever handles it next. */
static uint32_t dp_ol_need(const struct pbuf_offload *ol)
{
	uint32_t need = 0;

	if (ol->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
		need |= PORT_OL_CSUM;
	switch (ol->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) {
	case VIRTIO_NET_HDR_GSO_NONE:
		break;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		need |= PORT_OL_TSO4;
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		need |= PORT_OL_TSO6;
		break;
	case VIRTIO_NET_HDR_GSO_UDP_L4:
		need |= PORT_OL_USO;
		break;
	default:
		need |= 1u << 31; /* nobody negotiates it */
	}
	if (ol->gso_type & VIRTIO_NET_HDR_GSO_ECN)
		need |= PORT_OL_ECN;
	return need;
}

bool dp_ol_ingress(struct dp_thread *t, const struct dp_pview *pv, uint32_t in, struct pbuf *pkt)
{
	struct pbuf_offload *ol = &pkt->ol;
	struct pkt_ol_info info;

	/* DATA_VALID is the kernel's "checksum verified" hint; from a guest it is
	 * meaningless (5.1.6.2: the driver MUST NOT set it). Receivers verify. */
	ol->flags &= (uint8_t)~VIRTIO_NET_HDR_F_DATA_VALID;
	if (!(ol->flags | ol->gso_type)) {
		*ol = (struct pbuf_offload){0};
		return true;
	}
	/* The checks and the software offloads read the whole frame: copy a split one in. */
	pbuf_linearize(pkt);
	uint32_t need = dp_ol_need(ol);
	int rc = (need & ~pv->ol_rx) ? -EINVAL : pkt_ol_check(pkt->data, pkt->len, ol, &info);
	if (rc) {
		rs_stat_add(&t->pc[in].drop_bad_offload, 1);
		RS_LOG_RL(RS_LOG_WARN, "dp",
			  "port %s: frame with bad offload metadata dropped (%s; flags 0x%x "
			  "gso_type 0x%x gso_size %u csum_start %u csum_offset %u, len %u)",
			  pv->port->name,
			  (need & ~pv->ol_rx) ? "offload not negotiated"
					      : pkt_ol_reason_name(info.reason),
			  ol->flags, ol->gso_type, ol->gso_size, ol->csum_start, ol->csum_offset,
			  pkt->len);
		return false;
	}
	if (ol->gso_type) {
		ol->hdr_len = info.hdr_len; /* the real one, not the guest's */
		rs_stat_add(&t->pc[in].rx_gso, 1);
	} else {
		ol->gso_size = ol->hdr_len = 0;
		rs_stat_add(&t->pc[in].rx_csum, 1);
	}
	return true;
}

/* Sends 'n' frames on one tx queue of 'pv' (under the queue's lock when shared). */
static void dp_tx(const struct dp_view *v, const struct dp_pview *pv, uint8_t q,
		  struct pbuf *const *pkts, unsigned n)
{
	if (n == 0)
		return;
	struct dp_txq_lock *lock = &pv->dpp->txq_lock[q];
	if (v->shared_tx)
		dp_txq_lock(lock);
	(void)pv->port->ops->tx_burst(pv->port, q, pkts, n);
	if (v->shared_tx)
		dp_txq_unlock(lock);
}

/* Segments super-frame 'p' for 'pv' and sends the segments; false when it had to be dropped. */
static bool dp_ol_segment_tx(struct dp_thread *t, const struct dp_view *v,
			     const struct dp_pview *pv, uint8_t q, const struct pbuf *p)
{
	struct pbuf *seg[DP_MAX_SEGS];
	struct pkt_ol_info info;

	if (pkt_ol_check(p->data, p->len, &p->ol, &info))
		return false; /* cannot happen after dp_ol_ingress, unless a rewrite broke it */
	unsigned flags = (pv->ol_tx & PORT_OL_CSUM) ? PKT_GSO_PARTIAL_CSUM : 0;
	int n =
	    pkt_gso_segment(p->data, p->len, &p->ol, &info, 0, flags, &t->pool, seg, DP_MAX_SEGS);
	if (n < 0)
		return false;
	for (int i = 0; i < n; i += DP_BURST)
		dp_tx(v, pv, q, seg + i, RS_MIN((unsigned)(n - i), (unsigned)DP_BURST));
	pbuf_free_bulk(&t->pool, seg, (unsigned)n);
	return true;
}

void dp_ol_tx(struct dp_thread *t, const struct dp_view *v, uint32_t port, uint8_t q,
	      struct pbuf **pkts, unsigned n)
{
	const struct dp_pview *pv = &v->ports[port];
	unsigned start = 0;

	for (unsigned i = 0; i < n; i++) {
		struct pbuf *p = pkts[i];
		if (RS_LIKELY(!(p->ol.flags | p->ol.gso_type)) ||
		    !(dp_ol_need(&p->ol) & ~pv->ol_tx))
			continue;  /* goes as it is */
		pbuf_linearize(p); /* already done on ingress; the software offloads need it */
		if (!p->ol.gso_type) {
			/* In place: a completed checksum is right for every destination. */
			if (pkt_ol_finish_csum(p->data, p->len, &p->ol) == 0) {
				p->ol = (struct pbuf_offload){0};
				rs_stat_add(&t->pc[port].tx_csum_sw, 1);
				continue;
			}
		}
		/* The frames before it keep their order; the super-frame is replaced. */
		dp_tx(v, pv, q, pkts + start, i - start);
		start = i + 1;
		if (p->ol.gso_type && dp_ol_segment_tx(t, v, pv, q, p))
			rs_stat_add(&t->pc[port].tx_segmented, 1);
		else
			rs_stat_add(&t->pc[port].drop_bad_offload, 1);
	}
	dp_tx(v, pv, q, pkts + start, n - start);
}
