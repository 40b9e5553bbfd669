/*
 * pkt_gso.h - the software fallback for a guest's transmit offloads (virtio
 * 1.2 section 5.1.6.2): checking the offload metadata of a frame against its
 * real headers, completing a partial checksum, and cutting a TCP (TSO) or UDP
 * (USO) super-frame into wire-sized frames, with the same output as Linux's
 * virtio_net_hdr_to_skb() followed by skb_gso_segment(). The metadata and
 * the frame come from a guest: nothing in them is trusted, every offset is
 * checked before use, and all work is bounded by the frame length.
 *
 * Use: pkt_ol_check() first (it names the reason of a refusal for a drop
 * counter); then, for a frame without GSO, pkt_ol_finish_csum(); for a GSO
 * frame, pkt_gso_segment() with the info pkt_ol_check() filled. No state, no
 * allocation other than from the caller's pool, no syscalls.
 */
#ifndef RS_NET_PKT_GSO_H
#define RS_NET_PKT_GSO_H

#include <stdint.h>

#include "../lib/pbuf.h"

/* Why pkt_ol_check() refused a frame; one drop counter each. Values are stable. */
enum pkt_ol_reason {
	PKT_OL_OK = 0,
	PKT_OL_GSO_TYPE_UNKNOWN,   /* gso_type not NONE/TCPV4/TCPV6/UDP_L4 (+ECN), or ECN alone */
	PKT_OL_GSO_UFO,		   /* VIRTIO_NET_HDR_GSO_UDP (IP fragmentation): -ENOTSUP */
	PKT_OL_GSO_ECN_NOT_TCP,	   /* the ECN bit with UDP_L4 */
	PKT_OL_GSO_SIZE_ZERO,	   /* a gso_type with gso_size 0 */
	PKT_OL_HDR_LEN_PAST_FRAME, /* hdr_len larger than the frame */
	PKT_OL_L2_TRUNC,	   /* frame ends inside the Ethernet header or a VLAN tag */
	PKT_OL_L3_TRUNC,	   /* ends inside the IP header or an IPv6 extension header */
	PKT_OL_IP_VERSION,	   /* the version field disagrees with the EtherType */
	PKT_OL_IP4_IHL,		   /* IPv4 IHL below 5 */
	PKT_OL_IP_LEN_PAST_FRAME,  /* IP length reaches past the frame */
	PKT_OL_IP_LEN_SHORT,	   /* IPv4 total length below the header length */
	PKT_OL_GSO_PADDED,	   /* GSO frame with bytes after the IP datagram */
	PKT_OL_GSO_FRAGMENT,	   /* GSO on an IPv4 fragment */
	PKT_OL_GSO_IP6_EXT,	   /* GSO with IPv6 extension headers: -ENOTSUP */
	PKT_OL_L4_TRUNC,	   /* ends inside the TCP or UDP header */
	PKT_OL_TCP_DOFF,	   /* TCP data offset below 5 words */
	PKT_OL_CSUM_START,	   /* csum_start not inside the frame */
	PKT_OL_CSUM_OFFSET,	   /* the checksum field not inside the frame */
	PKT_OL_CSUM_NOT_L4,	   /* TCP/UDP: csum_start/csum_offset not the L4 checksum field */
	PKT_OL_GSO_MISMATCH,	   /* gso_type does not match the headers (or not IP at all) */
	PKT_OL_USO_NO_CSUM,	   /* UDP_L4 without NEEDS_CSUM (Linux requires it) */
	PKT_OL_GSO_NO_PAYLOAD,	   /* GSO frame with no byte after the headers */
	PKT_OL_REASON_MAX
};

/* A stable snake_case name for counters ("gso_size_zero"); "unknown" when out of range. */
const char *pkt_ol_reason_name(enum pkt_ol_reason r);

/*
 * What pkt_ol_check() learnt from the headers. Offsets are from the first
 * byte of the frame. Fields past the last header it could parse are 0.
 */
struct pkt_ol_info {
	uint16_t l2_len;  /* Ethernet header and VLAN tags */
	uint16_t l3_off;  /* IPv4/IPv6 header (equal to l2_len); 0 when not IP */
	uint16_t l4_off;  /* TCP/UDP header (past IPv6 extension headers); 0 otherwise */
	uint16_t hdr_len; /* the real header length: l4_off + TCP/UDP header; 0 otherwise */
	uint32_t l3_end;  /* end of the IP datagram (the frame may be padded); else frame length */
	uint8_t l4_proto; /* 6 (TCP) or 17 (UDP) when l4_off is set, else 0 */
	uint8_t is_ipv6;  /* 1 for IPv6 */
	uint8_t gso_type; /* VIRTIO_NET_HDR_GSO_* without the ECN bit */
	uint8_t pad;	  /* zero */
	enum pkt_ol_reason reason;
};

/*
 * Checks the offload metadata 'ol' of the 'len'-byte 'frame' and fills 'info'.
 * With no offload (no NEEDS_CSUM, gso_type NONE) it returns 0 at once and
 * reads no frame byte. Otherwise it parses Ethernet with up to 2 VLAN tags
 * (0x8100, 0x88a8), IPv4 (options, IHL, total length) or IPv6 (extension
 * headers skipped for a plain checksum, refused for GSO), and TCP (data
 * offset) or UDP, and checks, as Linux's virtio_net_hdr_to_skb() does:
 *   NEEDS_CSUM: the field inside the frame; for TCP and UDP, csum_start at
 *     the L4 header and csum_offset at its checksum (16, 6); for other
 *     protocols, or non-IP frames without GSO, the bounds only;
 *   GSO: TCPV4 needs IPv4/TCP, TCPV6 IPv6/TCP, UDP_L4 UDP and NEEDS_CSUM;
 *     gso_size > 0; ECN only with TCP; no IPv4 fragment; the IP length equal
 *     to the rest of the frame; at least one payload byte.
 * hdr_len is not trusted: info->hdr_len comes from the headers; a hdr_len
 * past the frame is refused, a shorter or longer one inside it tolerated.
 * Unknown flag bits are ignored (5.1.6.2.2). An IP frame whose IP or L4
 * header is malformed is refused whenever an offload is asked for.
 *
 * Returns 0, -EINVAL, or -ENOTSUP (UFO, IPv6 extension headers with GSO);
 * info->reason says why.
 */
int pkt_ol_check(const uint8_t *frame, uint32_t len, const struct pbuf_offload *ol,
		 struct pkt_ol_info *info);

/*
 * Completes the partial checksum of a frame with NEEDS_CSUM and no GSO, in
 * place, over [csum_start, end of the IP datagram) so that trailing padding
 * stays out of it. Checks the frame with pkt_ol_check() first. Returns 0
 * (also when NEEDS_CSUM is not set), -EINVAL for a GSO frame or when the
 * check fails, or the check's -ENOTSUP.
 */
int pkt_ol_finish_csum(uint8_t *frame, uint32_t len, const struct pbuf_offload *ol);

/* pkt_gso_segment() flags. */
#define PKT_GSO_PARTIAL_CSUM 0x1 /* leave L4 checksums partial: destination offloads them */

/*
 * Cuts the GSO 'frame' ('len' bytes; 'ol' and 'info' as pkt_ol_check()
 * accepted them) into segments of at most gso_size payload bytes, or
 * 'mss_cap' when it is not 0 and smaller. Each segment is a full frame in its
 * own pbuf from 'pool': the headers copied, then, as Linux's GSO does:
 *   IPv4 total length, id + i (segment i), header checksum; IPv6 payload
 *     length;
 *   TCP: sequence number + payload before it; FIN and PSH on the last
 *     segment only, CWR on the first only;
 *   UDP: length of the segment's datagram;
 *   L4 checksum complete (a UDP 0 sent as 0xffff), or, with
 *     PKT_GSO_PARTIAL_CSUM, the pseudo-header sum with the pbuf's ol set to
 *     NEEDS_CSUM, csum_start and csum_offset (for a port with checksum but
 *     not segmentation offload). Otherwise each pbuf's ol is zero.
 * The checksums are computed from the bytes, not adjusted from the guest's
 * field, so a wrong pseudo-header sum from the guest does not propagate.
 *
 * On success stores the pbufs in out[0..n) (owned by the caller) and returns
 * n >= 1. On failure frees whatever it took and returns -E2BIG when more than
 * 'max_out' segments are needed, -ENOBUFS when the pool runs dry, -EMSGSIZE
 * when a segment does not fit in a pbuf, -EINVAL when 'info' is not a GSO
 * frame's info consistent with 'len'.
 */
int pkt_gso_segment(const uint8_t *frame, uint32_t len, const struct pbuf_offload *ol,
		    const struct pkt_ol_info *info, uint32_t mss_cap, unsigned flags,
		    struct pbuf_pool *pool, struct pbuf **out, unsigned max_out);

#endif
