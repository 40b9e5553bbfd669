/*
 * pkt_csum.h - the Internet checksum (RFC 1071) and what is built from it:
 * partial sums over byte buffers, folding, the IPv4 and IPv6 pseudo-headers
 * (RFC 793, RFC 768, RFC 8200 section 8.1), the IPv4 header checksum, and
 * completing a checksum that a guest left partial (virtio 1.2 section
 * 5.1.6.2, VIRTIO_NET_HDR_F_NEEDS_CSUM). Pure functions over byte buffers.
 *
 * Values: a "partial sum" is a 32-bit one's complement accumulator of the
 * bytes read as big-endian 16-bit words, so it means the same on any host and
 * sums can be added with pkt_csum_add32(). pkt_csum_fold() turns it into the
 * 16-bit checksum in host order, which pkt_csum_put() stores in network order.
 */
#ifndef RS_NET_PKT_CSUM_H
#define RS_NET_PKT_CSUM_H

#include <stddef.h>
#include <stdint.h>

/*
 * Adds the 'len' bytes at 'buf' to the partial sum 'sum' and returns the new
 * partial sum. 'buf' needs no alignment and 'len' may be odd; the first byte
 * is taken as the high byte of a 16-bit word, so a buffer split in pieces
 * sums like the whole only when every piece but the last has an even length.
 */
uint32_t pkt_csum_add(uint32_t sum, const void *buf, size_t len);

/* One's complement sum of two partial sums. */
uint32_t pkt_csum_add32(uint32_t a, uint32_t b);

/* Folds a partial sum to 16 bits and complements it: the checksum to store. */
uint16_t pkt_csum_fold(uint32_t sum);

/*
 * Partial sums of the pseudo-headers that TCP and UDP checksums cover:
 * source and destination address (4 or 16 bytes, network order, as in the
 * frame), protocol, and 'l4_len', the length of the L4 header plus payload.
 */
uint32_t pkt_csum_pseudo4(const uint8_t *src, const uint8_t *dst, uint8_t proto, uint32_t l4_len);
uint32_t pkt_csum_pseudo6(const uint8_t *src, const uint8_t *dst, uint8_t proto, uint32_t l4_len);

/*
 * The checksum of the 'hlen'-byte IPv4 header at 'iph', computed as if its
 * checksum field (bytes 10-11) were zero: what the field must hold. 'hlen' is
 * at least 20.
 */
uint16_t pkt_csum_ip4_hdr(const uint8_t *iph, size_t hlen);

/* Stores the host-order 16-bit value 'v' at 'p' in network order. */
static inline void pkt_csum_put(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/*
 * Completes a partial checksum in place, as the device does for a frame with
 * VIRTIO_NET_HDR_F_NEEDS_CSUM (virtio 1.2 section 5.1.6.2): the 16-bit field
 * at csum_start + csum_offset holds the pseudo-header sum (Linux leaves it
 * there); the checksum over [csum_start, len) replaces it. A result of 0 is
 * stored as 0xffff, as Linux's skb_checksum_help() does for every protocol:
 * UDP needs it (0 means "no checksum"), and for any other Internet checksum
 * the two are the same number.
 *
 * Returns 0, or -EINVAL when csum_start is not inside the first 'len' bytes or
 * the field does not fit between csum_start and len.
 */
int pkt_csum_complete(uint8_t *frame, uint32_t len, uint16_t csum_start, uint16_t csum_offset);

#endif
