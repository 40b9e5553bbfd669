/*
 * pkt_csum.c - the Internet checksum (see pkt_csum.h). The inner loop adds
 * native-order 64-bit loads into a 64-bit accumulator with end-around carry:
 * the one's complement sum does not depend on byte order (RFC 1071 section
 * 2(B)), so one byte swap at the end gives the big-endian sum, and memcpy()
 * loads make any alignment safe.
 */
#include "pkt_csum.h"

#include <errno.h>
#include <string.h>

/* Folds a 64-bit one's complement accumulator to 16 bits (not complemented). */
static uint16_t pkt_csum_fold64(uint64_t acc)
{
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffffu) + (acc >> 16);
	acc = (acc & 0xffffu) + (acc >> 16);
	acc = (acc & 0xffffu) + (acc >> 16);
	return (uint16_t)acc;
}

/* acc + w with end-around carry. */
static uint64_t pkt_csum_acc(uint64_t acc, uint64_t w)
{
	acc += w;
	return acc + (acc < w);
}

/* Sum of 'len' bytes as native-order 16-bit words, a trailing odd byte padded with zero. */
static uint16_t pkt_csum_native(const uint8_t *p, size_t len)
{
	uint64_t acc = 0;
	for (; len >= 8; p += 8, len -= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		acc = pkt_csum_acc(acc, w);
	}
	if (len >= 4) {
		uint32_t w;
		memcpy(&w, p, 4);
		acc = pkt_csum_acc(acc, w);
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t w;
		memcpy(&w, p, 2);
		acc = pkt_csum_acc(acc, w);
		p += 2;
		len -= 2;
	}
	if (len) {
		/* The odd byte is the high byte of a big-endian word: its first byte in memory. */
		uint8_t last[2] = {p[0], 0};
		uint16_t w;
		memcpy(&w, last, 2);
		acc = pkt_csum_acc(acc, w);
	}
	return pkt_csum_fold64(acc);
}

uint32_t pkt_csum_add32(uint32_t a, uint32_t b)
{
	uint32_t s = a + b;
	return s + (s < b); /* 2^32 is 1 modulo 0xffff: a carry out adds one */
}

uint32_t pkt_csum_add(uint32_t sum, const void *buf, size_t len)
{
	uint16_t s = pkt_csum_native(buf, len);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	s = (uint16_t)(s >> 8 | s << 8);
#endif
	return pkt_csum_add32(sum, s);
}

uint16_t pkt_csum_fold(uint32_t sum)
{
	return (uint16_t)~pkt_csum_fold64(sum);
}

/* The length and protocol words shared by both pseudo-headers. */
static uint32_t pkt_csum_pseudo_tail(uint8_t proto, uint32_t l4_len)
{
	return pkt_csum_add32(pkt_csum_add32(l4_len >> 16, l4_len & 0xffffu), proto);
}

uint32_t pkt_csum_pseudo4(const uint8_t *src, const uint8_t *dst, uint8_t proto, uint32_t l4_len)
{
	uint32_t sum = pkt_csum_add(0, src, 4);
	sum = pkt_csum_add(sum, dst, 4);
	return pkt_csum_add32(sum, pkt_csum_pseudo_tail(proto, l4_len));
}

uint32_t pkt_csum_pseudo6(const uint8_t *src, const uint8_t *dst, uint8_t proto, uint32_t l4_len)
{
	uint32_t sum = pkt_csum_add(0, src, 16);
	sum = pkt_csum_add(sum, dst, 16);
	return pkt_csum_add32(sum, pkt_csum_pseudo_tail(proto, l4_len));
}

uint16_t pkt_csum_ip4_hdr(const uint8_t *iph, size_t hlen)
{
	uint32_t sum = pkt_csum_add(0, iph, 10);
	sum = pkt_csum_add(sum, iph + 12, hlen - 12);
	return pkt_csum_fold(sum);
}

int pkt_csum_complete(uint8_t *frame, uint32_t len, uint16_t csum_start, uint16_t csum_offset)
{
	if (csum_start >= len || (uint32_t)csum_offset + 2 > len - csum_start)
		return -EINVAL;
	uint16_t c = pkt_csum_fold(pkt_csum_add(0, frame + csum_start, len - csum_start));
	pkt_csum_put(frame + csum_start + csum_offset, c ? c : 0xffff);
	return 0;
}
