/*
 * pkt_gso.c - checking a guest's offload metadata against the headers of its
 * frame, and software segmentation (see pkt_gso.h). pkt_parse() is not used:
 * the flow key has no use here and its meta does not say where the L4 header
 * ends; the small parser below reads only the fields the offloads need, and
 * unlike pkt_parse() it refuses what it cannot segment.
 *
 * Segmentation copies the headers into each output and patches the fields
 * that differ per segment; Linux's inet_gso_segment(), ipv6_gso_segment(),
 * tcp_gso_segment() and __udp_gso_segment() are the reference for which
 * fields those are.
 */
#include "pkt_gso.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "pkt_csum.h"
#include "../virtio/virtio_spec.h"

#define PKT_ETH_HLEN	  14
#define PKT_ETHERTYPE_IP4 0x0800
#define PKT_ETHERTYPE_IP6 0x86dd
#define PKT_IP4_HLEN	  20
#define PKT_IP6_HLEN	  40
#define PKT_TCP_HLEN	  20
#define PKT_UDP_HLEN	  8
#define PKT_PROTO_TCP	  6
#define PKT_PROTO_UDP	  17
#define PKT_TCP_CSUM_OFF  16
#define PKT_UDP_CSUM_OFF  6
#define PKT_TCP_FIN	  0x01
#define PKT_TCP_PSH	  0x08
#define PKT_TCP_CWR	  0x80
#define PKT_VLAN_MAX	  2

static const char *const pkt_ol_reason_names[] = {
    [PKT_OL_OK] = "ok",
    [PKT_OL_GSO_TYPE_UNKNOWN] = "gso_type_unknown",
    [PKT_OL_GSO_UFO] = "gso_ufo_unsupported",
    [PKT_OL_GSO_ECN_NOT_TCP] = "gso_ecn_not_tcp",
    [PKT_OL_GSO_SIZE_ZERO] = "gso_size_zero",
    [PKT_OL_HDR_LEN_PAST_FRAME] = "hdr_len_past_frame",
    [PKT_OL_L2_TRUNC] = "l2_truncated",
    [PKT_OL_L3_TRUNC] = "l3_truncated",
    [PKT_OL_IP_VERSION] = "ip_version_bad",
    [PKT_OL_IP4_IHL] = "ip4_ihl_bad",
    [PKT_OL_IP_LEN_PAST_FRAME] = "ip_len_past_frame",
    [PKT_OL_IP_LEN_SHORT] = "ip_len_short",
    [PKT_OL_GSO_PADDED] = "gso_frame_padded",
    [PKT_OL_GSO_FRAGMENT] = "gso_ip_fragment",
    [PKT_OL_GSO_IP6_EXT] = "gso_ip6_ext_unsupported",
    [PKT_OL_L4_TRUNC] = "l4_truncated",
    [PKT_OL_TCP_DOFF] = "tcp_doff_bad",
    [PKT_OL_CSUM_START] = "csum_start_out_of_frame",
    [PKT_OL_CSUM_OFFSET] = "csum_offset_out_of_frame",
    [PKT_OL_CSUM_NOT_L4] = "csum_not_l4_checksum",
    [PKT_OL_GSO_MISMATCH] = "gso_type_mismatch",
    [PKT_OL_USO_NO_CSUM] = "uso_without_needs_csum",
    [PKT_OL_GSO_NO_PAYLOAD] = "gso_no_payload",
};
static_assert(sizeof(pkt_ol_reason_names) / sizeof(pkt_ol_reason_names[0]) == PKT_OL_REASON_MAX,
	      "one name per reason");

const char *pkt_ol_reason_name(enum pkt_ol_reason r)
{
	if ((unsigned)r >= PKT_OL_REASON_MAX)
		return "unknown";
	return pkt_ol_reason_names[r];
}

static uint16_t pkt_rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t pkt_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void pkt_wr32(uint8_t *p, uint32_t v)
{
	pkt_csum_put(p, (uint16_t)(v >> 16));
	pkt_csum_put(p + 2, (uint16_t)v);
}

static int pkt_ol_fail(struct pkt_ol_info *info, enum pkt_ol_reason r, int err)
{
	info->reason = r;
	return err;
}

/* Decodes gso_type and gso_size (Linux: the switch in virtio_net_hdr_to_skb()). */
static int pkt_ol_gso_type(const struct pbuf_offload *ol, struct pkt_ol_info *info)
{
	uint8_t base = ol->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	bool ecn = ol->gso_type & VIRTIO_NET_HDR_GSO_ECN;

	if (ol->gso_type == VIRTIO_NET_HDR_GSO_NONE)
		return 0;
	switch (base) {
	case VIRTIO_NET_HDR_GSO_TCPV4:
	case VIRTIO_NET_HDR_GSO_TCPV6:
		break;
	case VIRTIO_NET_HDR_GSO_UDP_L4:
		if (ecn)
			return pkt_ol_fail(info, PKT_OL_GSO_ECN_NOT_TCP, -EINVAL);
		break;
	case VIRTIO_NET_HDR_GSO_UDP:
		/* UFO means IP fragmentation; no current guest sends it (Linux 4.14 dropped it). */
		return pkt_ol_fail(info, PKT_OL_GSO_UFO, -ENOTSUP);
	default: /* includes ECN alone (base NONE) */
		return pkt_ol_fail(info, PKT_OL_GSO_TYPE_UNKNOWN, -EINVAL);
	}
	if (ol->gso_size == 0)
		return pkt_ol_fail(info, PKT_OL_GSO_SIZE_ZERO, -EINVAL);
	info->gso_type = base;
	return 0;
}

/* Ethernet and up to two VLAN tags; stores the EtherType after them in 'etype'. */
static int pkt_ol_l2(const uint8_t *f, uint32_t len, struct pkt_ol_info *info, uint16_t *etype)
{
	uint32_t off = 12;

	if (len < PKT_ETH_HLEN)
		return pkt_ol_fail(info, PKT_OL_L2_TRUNC, -EINVAL);
	uint16_t t = pkt_rd16(f + off);
	for (int tags = 0; tags < PKT_VLAN_MAX && (t == 0x8100 || t == 0x88a8); tags++) {
		if (len - off < 4 + 2)
			return pkt_ol_fail(info, PKT_OL_L2_TRUNC, -EINVAL);
		off += 4;
		t = pkt_rd16(f + off);
	}
	info->l2_len = (uint16_t)(off + 2);
	*etype = t;
	return 0;
}

/*
 * IPv4 (RFC 791): IHL, total length within the frame. Stores the protocol in
 * 'proto' (0 for a fragment: its L4 header is not whole) and the L4 offset.
 */
static int pkt_ol_ip4(const uint8_t *f, uint32_t len, bool gso, struct pkt_ol_info *info,
		      uint8_t *proto, uint32_t *l4)
{
	uint32_t o = info->l2_len;
	const uint8_t *ip = f + o;

	if (len - o < PKT_IP4_HLEN)
		return pkt_ol_fail(info, PKT_OL_L3_TRUNC, -EINVAL);
	if (ip[0] >> 4 != 4)
		return pkt_ol_fail(info, PKT_OL_IP_VERSION, -EINVAL);
	uint32_t ihl = (ip[0] & 0xfu) * 4;
	if (ihl < PKT_IP4_HLEN)
		return pkt_ol_fail(info, PKT_OL_IP4_IHL, -EINVAL);
	if (len - o < ihl)
		return pkt_ol_fail(info, PKT_OL_L3_TRUNC, -EINVAL);
	uint32_t tot = pkt_rd16(ip + 2);
	if (tot < ihl)
		return pkt_ol_fail(info, PKT_OL_IP_LEN_SHORT, -EINVAL);
	if (tot > len - o)
		return pkt_ol_fail(info, PKT_OL_IP_LEN_PAST_FRAME, -EINVAL);
	info->l3_off = (uint16_t)o;
	info->l3_end = o + tot;
	*l4 = o + ihl;
	*proto = ip[9];
	if (pkt_rd16(ip + 6) & 0x3fff) { /* MF or a fragment offset */
		if (gso)
			return pkt_ol_fail(info, PKT_OL_GSO_FRAGMENT, -EINVAL);
		*proto = 0;
	}
	return 0;
}

/* Hop-by-hop, routing and destination options share one length format (RFC 8200 4.3-4.6). */
static bool pkt_ol_ip6_ext(uint8_t nh)
{
	return nh == 0 || nh == 43 || nh == 60;
}

/*
 * IPv6 (RFC 8200): payload length within the frame; extension headers walked
 * (at most 8) for a plain checksum, refused for GSO. A fragment header, AH or
 * anything else ends the walk with that protocol, which has no L4 checks.
 */
static int pkt_ol_ip6(const uint8_t *f, uint32_t len, bool gso, struct pkt_ol_info *info,
		      uint8_t *proto, uint32_t *l4)
{
	uint32_t o = info->l2_len;
	const uint8_t *ip = f + o;

	if (len - o < PKT_IP6_HLEN)
		return pkt_ol_fail(info, PKT_OL_L3_TRUNC, -EINVAL);
	if (ip[0] >> 4 != 6)
		return pkt_ol_fail(info, PKT_OL_IP_VERSION, -EINVAL);
	uint32_t plen = pkt_rd16(ip + 4);
	if (plen > len - o - PKT_IP6_HLEN)
		return pkt_ol_fail(info, PKT_OL_IP_LEN_PAST_FRAME, -EINVAL);
	info->l3_off = (uint16_t)o;
	info->is_ipv6 = 1;
	info->l3_end = o + PKT_IP6_HLEN + plen;

	uint8_t nh = ip[6];
	uint32_t off = o + PKT_IP6_HLEN;
	for (int i = 0; pkt_ol_ip6_ext(nh); i++) {
		if (gso)
			return pkt_ol_fail(info, PKT_OL_GSO_IP6_EXT, -ENOTSUP);
		if (i == 8) {
			nh = 0xff; /* too many to walk: no L4 checks */
			break;
		}
		if (info->l3_end - off < 8 || info->l3_end - off < (f[off + 1] + 1u) * 8)
			return pkt_ol_fail(info, PKT_OL_L3_TRUNC, -EINVAL);
		nh = f[off];
		off += (f[off + 1] + 1u) * 8;
	}
	*proto = nh;
	*l4 = off;
	return 0;
}

/* TCP (RFC 9293: data offset) or UDP header, whole inside the IP datagram. */
static int pkt_ol_l4(const uint8_t *f, struct pkt_ol_info *info, uint8_t proto, uint32_t off)
{
	uint32_t room = info->l3_end - off, hl;

	if (proto == PKT_PROTO_TCP) {
		if (room < PKT_TCP_HLEN)
			return pkt_ol_fail(info, PKT_OL_L4_TRUNC, -EINVAL);
		hl = (f[off + 12] >> 4) * 4u;
		if (hl < PKT_TCP_HLEN)
			return pkt_ol_fail(info, PKT_OL_TCP_DOFF, -EINVAL);
	} else if (proto == PKT_PROTO_UDP) {
		hl = PKT_UDP_HLEN;
	} else {
		return 0;
	}
	if (room < hl)
		return pkt_ol_fail(info, PKT_OL_L4_TRUNC, -EINVAL);
	info->l4_off = (uint16_t)off;
	info->l4_proto = proto;
	info->hdr_len = (uint16_t)(off + hl);
	return 0;
}

/* Parses the headers into 'info'; a non-IP frame is not an error here. */
static int pkt_ol_parse(const uint8_t *f, uint32_t len, bool gso, struct pkt_ol_info *info)
{
	uint16_t etype;
	uint8_t proto = 0;
	uint32_t l4 = 0;
	int err;

	info->l3_end = len;
	err = pkt_ol_l2(f, len, info, &etype);
	if (err)
		return err;
	if (etype == PKT_ETHERTYPE_IP4)
		err = pkt_ol_ip4(f, len, gso, info, &proto, &l4);
	else if (etype == PKT_ETHERTYPE_IP6)
		err = pkt_ol_ip6(f, len, gso, info, &proto, &l4);
	else
		return 0;
	if (err)
		return err;
	return pkt_ol_l4(f, info, proto, l4);
}

/* The GSO type against the parsed headers. */
static int pkt_ol_gso_match(const struct pbuf_offload *ol, struct pkt_ol_info *info)
{
	bool ip = info->l3_off != 0, tcp = info->l4_proto == PKT_PROTO_TCP, ok;

	switch (info->gso_type) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return 0;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		ok = ip && !info->is_ipv6 && tcp;
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		ok = ip && info->is_ipv6 && tcp;
		break;
	default: /* UDP_L4 */
		ok = info->l4_proto == PKT_PROTO_UDP;
		if (ok && !(ol->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
			return pkt_ol_fail(info, PKT_OL_USO_NO_CSUM, -EINVAL);
		break;
	}
	return ok ? 0 : pkt_ol_fail(info, PKT_OL_GSO_MISMATCH, -EINVAL);
}

/*
 * NEEDS_CSUM (5.1.6.2: csum_start, csum_offset): the field inside the IP
 * datagram; for TCP and UDP, the L4 checksum field, as Linux requires for GSO
 * since "net: drop bad gso csum_start and offset in virtio_net_hdr".
 */
static int pkt_ol_csum(const struct pbuf_offload *ol, struct pkt_ol_info *info)
{
	if (!(ol->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return 0;
	uint32_t end = info->l3_end;
	if (ol->csum_start >= end)
		return pkt_ol_fail(info, PKT_OL_CSUM_START, -EINVAL);
	if ((uint32_t)ol->csum_offset + 2 > end - ol->csum_start)
		return pkt_ol_fail(info, PKT_OL_CSUM_OFFSET, -EINVAL);
	if (info->l4_proto == 0)
		return 0;
	uint16_t want = info->l4_proto == PKT_PROTO_TCP ? PKT_TCP_CSUM_OFF : PKT_UDP_CSUM_OFF;
	if (ol->csum_start != info->l4_off || ol->csum_offset != want)
		return pkt_ol_fail(info, PKT_OL_CSUM_NOT_L4, -EINVAL);
	return 0;
}

/* A GSO frame is one IP datagram with a payload (nothing to pad a super-frame for). */
static int pkt_ol_gso_len(uint32_t len, struct pkt_ol_info *info)
{
	if (info->gso_type == VIRTIO_NET_HDR_GSO_NONE)
		return 0;
	if (info->l3_end != len)
		return pkt_ol_fail(info, PKT_OL_GSO_PADDED, -EINVAL);
	if (info->hdr_len >= len)
		return pkt_ol_fail(info, PKT_OL_GSO_NO_PAYLOAD, -EINVAL);
	return 0;
}

int pkt_ol_check(const uint8_t *frame, uint32_t len, const struct pbuf_offload *ol,
		 struct pkt_ol_info *info)
{
	*info = (struct pkt_ol_info){.l3_end = len};
	if (!(ol->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && ol->gso_type == VIRTIO_NET_HDR_GSO_NONE)
		return 0;

	int err = pkt_ol_gso_type(ol, info);
	if (!err && ol->hdr_len > len) /* as Linux's tun_get_user(); shorter is only a hint */
		err = pkt_ol_fail(info, PKT_OL_HDR_LEN_PAST_FRAME, -EINVAL);
	if (!err)
		err = pkt_ol_parse(frame, len, info->gso_type != VIRTIO_NET_HDR_GSO_NONE, info);
	if (!err)
		err = pkt_ol_gso_match(ol, info);
	if (!err)
		err = pkt_ol_csum(ol, info);
	if (!err)
		err = pkt_ol_gso_len(len, info);
	return err;
}

int pkt_ol_finish_csum(uint8_t *frame, uint32_t len, const struct pbuf_offload *ol)
{
	struct pkt_ol_info info;

	if (ol->gso_type != VIRTIO_NET_HDR_GSO_NONE)
		return -EINVAL;
	if (!(ol->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return 0;
	int err = pkt_ol_check(frame, len, ol, &info);
	if (err)
		return err;
	return pkt_csum_complete(frame, info.l3_end, ol->csum_start, ol->csum_offset);
}

/*
 * Whether 'info' describes a GSO frame of 'len' bytes whose fields
 * pkt_gso_fix() may write: the checks pkt_ol_check() made, repeated cheaply
 * so that a caller's mix-up cannot turn into a write out of bounds.
 */
static bool pkt_gso_info_ok(uint32_t len, const struct pkt_ol_info *info)
{
	bool tcp = info->l4_proto == PKT_PROTO_TCP;
	uint32_t l3min = info->is_ipv6 ? PKT_IP6_HLEN : PKT_IP4_HLEN;

	if (info->reason != PKT_OL_OK || info->l3_off < PKT_ETH_HLEN || info->l3_end != len)
		return false;
	switch (info->gso_type) {
	case VIRTIO_NET_HDR_GSO_TCPV4:
	case VIRTIO_NET_HDR_GSO_TCPV6:
		if (!tcp)
			return false;
		break;
	case VIRTIO_NET_HDR_GSO_UDP_L4:
		if (info->l4_proto != PKT_PROTO_UDP)
			return false;
		break;
	default:
		return false;
	}
	return info->l4_off >= info->l3_off + l3min &&
	       info->hdr_len >= info->l4_off + (tcp ? PKT_TCP_HLEN : PKT_UDP_HLEN) &&
	       info->hdr_len < len;
}

/* The L4 checksum of a segment: complete, or the pseudo-header sum for the port to finish. */
static void pkt_gso_l4_csum(struct pbuf *p, const struct pkt_ol_info *info, unsigned flags)
{
	uint8_t *ip = p->data + info->l3_off, *l4 = p->data + info->l4_off;
	uint32_t l4_len = p->len - info->l4_off;
	uint16_t off = info->l4_proto == PKT_PROTO_TCP ? PKT_TCP_CSUM_OFF : PKT_UDP_CSUM_OFF;
	uint32_t sum = info->is_ipv6 ? pkt_csum_pseudo6(ip + 8, ip + 24, info->l4_proto, l4_len)
				     : pkt_csum_pseudo4(ip + 12, ip + 16, info->l4_proto, l4_len);

	if (flags & PKT_GSO_PARTIAL_CSUM) {
		pkt_csum_put(l4 + off, (uint16_t)~pkt_csum_fold(sum));
		p->ol.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		p->ol.csum_start = info->l4_off;
		p->ol.csum_offset = off;
		return;
	}
	pkt_csum_put(l4 + off, 0);
	uint16_t c = pkt_csum_fold(pkt_csum_add(sum, l4, l4_len));
	if (c == 0 && info->l4_proto == PKT_PROTO_UDP)
		c = 0xffff; /* RFC 768: 0 would mean "no checksum" */
	pkt_csum_put(l4 + off, c);
}

/* Patches the copied headers of segment 'i' of 'n', whose payload starts 'seq_off' bytes in. */
static void pkt_gso_fix(struct pbuf *p, const struct pkt_ol_info *info, uint32_t i, uint32_t n,
			uint32_t seq_off, unsigned flags)
{
	uint8_t *ip = p->data + info->l3_off, *l4 = p->data + info->l4_off;

	if (info->is_ipv6) {
		pkt_csum_put(ip + 4, (uint16_t)(p->len - info->l3_off - PKT_IP6_HLEN));
	} else {
		/* inet_gso_segment(): every segment gets the next id, DF or not. */
		pkt_csum_put(ip + 2, (uint16_t)(p->len - info->l3_off));
		pkt_csum_put(ip + 4, (uint16_t)(pkt_rd16(ip + 4) + i));
		pkt_csum_put(ip + 10, pkt_csum_ip4_hdr(ip, info->l4_off - info->l3_off));
	}
	if (info->l4_proto == PKT_PROTO_TCP) {
		/* tcp_gso_segment(): FIN and PSH end the stream of bytes, CWR was sent once. */
		pkt_wr32(l4 + 4, pkt_rd32(l4 + 4) + seq_off);
		if (i + 1 < n)
			l4[13] &= (uint8_t) ~(PKT_TCP_FIN | PKT_TCP_PSH);
		if (i > 0)
			l4[13] &= (uint8_t)~PKT_TCP_CWR;
	} else {
		pkt_csum_put(l4 + 4, (uint16_t)(p->len - info->l4_off));
	}
	pkt_gso_l4_csum(p, info, flags);
}

int pkt_gso_segment(const uint8_t *frame, uint32_t len, const struct pbuf_offload *ol,
		    const struct pkt_ol_info *info, uint32_t mss_cap, unsigned flags,
		    struct pbuf_pool *pool, struct pbuf **out, unsigned max_out)
{
	uint32_t mss = ol->gso_size, hl = info->hdr_len;
	unsigned n = 0;
	int err;

	if (mss_cap != 0 && mss_cap < mss)
		mss = mss_cap;
	if (mss == 0 || !pkt_gso_info_ok(len, info))
		return -EINVAL;
	uint32_t payload = len - hl;
	uint32_t nseg = payload / mss + (payload % mss != 0);
	if (nseg > max_out)
		return -E2BIG;

	for (; n < nseg; n++) {
		uint32_t off = n * mss, plen = payload - off < mss ? payload - off : mss;
		struct pbuf *p = pbuf_alloc(pool);
		if (!p) {
			err = -ENOBUFS;
			goto fail;
		}
		out[n] = p;
		if (p->room < hl + plen) {
			n++;
			err = -EMSGSIZE;
			goto fail;
		}
		memcpy(p->data, frame, hl);
		memcpy(p->data + hl, frame + hl + off, plen);
		p->len = hl + plen;
		pkt_gso_fix(p, info, n, nseg, off, flags);
	}
	return (int)nseg;

fail:
	pbuf_free_bulk(pool, out, n);
	return err;
}
