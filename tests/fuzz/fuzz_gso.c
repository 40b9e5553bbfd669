/*
 * fuzz_gso.c - libFuzzer target for the transmit offloads. The input is a
 * virtio-net header as a guest writes it (10 bytes, little-endian: flags,
 * gso_type, hdr_len, gso_size, csum_start, csum_offset) followed by the
 * frame. Bit 7 of flags, which pkt_ol_check() must ignore (5.1.6.2.2),
 * selects PKT_GSO_PARTIAL_CSUM. Whatever the bytes: pkt_ol_check() stays
 * inside the frame and names a reason exactly when it fails; completing a
 * checksum touches only the 2-byte field; segmentation either fails having
 * returned every buffer, or yields segments that each carry the headers and
 * at most one MSS of payload, whose payloads concatenate to the original,
 * whose L4 checksums verify, and which return to the pool when freed.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/pbuf.h"
#include "net/pkt_csum.h"
#include "net/pkt_gso.h"
#include "virtio/virtio_spec.h"

#define FUZZ_NPBUF 64
#define FUZZ_ROOM  9000
#define FUZZ_HDR   10

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check(bool ok)
{
	if (!ok)
		abort();
}

static uint16_t fuzz_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* An independent one's complement sum, a byte at a time. */
static uint32_t fuzz_sum(uint32_t s, const uint8_t *p, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		s += (i & 1) ? p[i] : (uint32_t)p[i] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

/* A segment's L4 checksum verifies: pseudo-header + L4 bytes sum to 0xffff. */
static void fuzz_check_l4(const struct pbuf *p, const struct pkt_ol_info *info)
{
	const uint8_t *ip = p->data + info->l3_off;
	uint32_t l4_len = p->len - info->l4_off, s = info->l4_proto + l4_len;
	s = info->is_ipv6 ? fuzz_sum(s, ip + 8, 32) : fuzz_sum(s, ip + 12, 8);
	s = fuzz_sum(s, p->data + info->l4_off, l4_len);
	fuzz_check(s == 0xffff);
}

static void fuzz_finish_csum(const uint8_t *frame, uint32_t len, const struct pbuf_offload *ol)
{
	uint8_t *copy = malloc(len ? len : 1);
	fuzz_check(copy != NULL);
	memcpy(copy, frame, len);
	fuzz_check(pkt_ol_finish_csum(copy, len, ol) == 0);
	uint32_t field = (uint32_t)ol->csum_start + ol->csum_offset;
	if (ol->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		fuzz_check(field + 2 <= len);
		fuzz_check(memcmp(copy, frame, field) == 0);
		fuzz_check(memcmp(copy + field + 2, frame + field + 2, len - field - 2) == 0);
	} else {
		fuzz_check(memcmp(copy, frame, len) == 0);
	}
	free(copy);
}

static void fuzz_segment(const uint8_t *frame, uint32_t len, const struct pbuf_offload *ol,
			 const struct pkt_ol_info *info, unsigned flags)
{
	static struct pbuf_pool pool;
	static bool ready;
	if (!ready) {
		fuzz_check(pbuf_pool_init(&pool, FUZZ_NPBUF, FUZZ_ROOM) == 0);
		ready = true;
	}
	struct pbuf *out[FUZZ_NPBUF];
	int n = pkt_gso_segment(frame, len, ol, info, 0, flags, &pool, out, FUZZ_NPBUF);
	if (n < 0) {
		fuzz_check(n == -E2BIG || n == -EMSGSIZE);
		fuzz_check(pool.nfree == FUZZ_NPBUF);
		return;
	}
	uint32_t hl = info->hdr_len, mss = ol->gso_size, off = hl;
	fuzz_check(n >= 1 && (uint32_t)n == (len - hl + mss - 1) / mss);
	for (int i = 0; i < n; i++) {
		const struct pbuf *p = out[i];
		fuzz_check(p->len > hl && p->len <= hl + mss);
		fuzz_check(i == n - 1 || p->len == hl + mss);
		fuzz_check(memcmp(p->data, frame, info->l3_off) == 0); /* L2 untouched */
		fuzz_check(memcmp(p->data + hl, frame + off, p->len - hl) == 0);
		off += p->len - hl;
		if (flags & PKT_GSO_PARTIAL_CSUM)
			fuzz_check(p->ol.flags == VIRTIO_NET_HDR_F_NEEDS_CSUM &&
				   p->ol.csum_start == info->l4_off);
		else
			fuzz_check_l4(p, info);
		if (!info->is_ipv6)
			fuzz_check(
			    pkt_csum_ip4_hdr(p->data + info->l3_off, info->l4_off - info->l3_off) ==
			    (p->data[info->l3_off + 10] << 8 | p->data[info->l3_off + 11]));
	}
	fuzz_check(off == len);
	pbuf_free_bulk(&pool, out, (unsigned)n);
	fuzz_check(pool.nfree == FUZZ_NPBUF);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < FUZZ_HDR || size - FUZZ_HDR > UINT16_MAX)
		return 0;
	struct pbuf_offload ol = {
	    .flags = data[0],
	    .gso_type = data[1],
	    .hdr_len = fuzz_le16(data + 2),
	    .gso_size = fuzz_le16(data + 4),
	    .csum_start = fuzz_le16(data + 6),
	    .csum_offset = fuzz_le16(data + 8),
	};
	unsigned flags = (ol.flags & 0x80) ? PKT_GSO_PARTIAL_CSUM : 0;
	uint32_t len = (uint32_t)(size - FUZZ_HDR);
	/* An exact-size copy, so ASan catches a read one byte past the frame. */
	uint8_t *frame = malloc(len ? len : 1);
	fuzz_check(frame != NULL);
	memcpy(frame, data + FUZZ_HDR, len);

	struct pkt_ol_info info;
	int ret = pkt_ol_check(frame, len, &ol, &info);
	fuzz_check((ret == 0) == (info.reason == PKT_OL_OK));
	fuzz_check(ret == 0 || ret == -EINVAL || ret == -ENOTSUP);
	fuzz_check(pkt_ol_reason_name(info.reason) != NULL);
	if (ret == 0 && info.l4_off)
		fuzz_check(info.l3_off >= 14 && info.l4_off > info.l3_off &&
			   info.hdr_len > info.l4_off && info.hdr_len <= info.l3_end &&
			   info.l3_end <= len);
	if (ret == 0 && ol.gso_type == VIRTIO_NET_HDR_GSO_NONE)
		fuzz_finish_csum(frame, len, &ol);
	else if (ret == 0)
		fuzz_segment(frame, len, &ol, &info, flags);
	free(frame);
	return 0;
}
