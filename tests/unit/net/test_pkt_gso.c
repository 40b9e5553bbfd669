/*
 * test_pkt_gso.c - offload metadata checks and software segmentation, byte
 * for byte against the segments Linux makes (offload_vectors.h, generated
 * with scapy by gen_offload_vectors.py): every vector in full and partial
 * checksum mode, the mss cap, a frame that needs one segment, the error
 * paths with the pool checked for leaks, checksum completion, and a hostile
 * table for pkt_ol_check() that hits every refusal reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include <cmocka.h>

#include "lib/pbuf.h"
#include "net/pkt_csum.h"
#include "net/pkt_gso.h"
#include "virtio/virtio_spec.h"
#include "frame_hex.h"
#include "offload_vectors.h"

#define NPBUF	     16
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static struct pbuf_pool pool;

static int setup(void **state)
{
	(void)state;
	return pbuf_pool_init(&pool, NPBUF, 9000) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	pbuf_pool_fini(&pool);
	return 0;
}

static const struct ovec *vec(const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(ovec_gso); i++)
		if (strcmp(ovec_gso[i].name, name) == 0)
			return &ovec_gso[i];
	for (size_t i = 0; i < ARRAY_LEN(ovec_csum); i++)
		if (strcmp(ovec_csum[i].name, name) == 0)
			return &ovec_csum[i];
	fail_msg("no vector %s", name);
	return NULL;
}

/* Checks and segments vector 'v' (ASan-exact copy) and compares to its expected segments. */
static void run_vector(const struct ovec *v, unsigned flags)
{
	struct pkt_ol_info info;
	struct pbuf *out[NPBUF];
	uint8_t *f = frame_dup(v->in.b, v->in.len);

	assert_int_equal(pkt_ol_check(f, v->in.len, &v->ol, &info), 0);
	int n = pkt_gso_segment(f, v->in.len, &v->ol, &info, v->mss_cap, flags, &pool, out, NPBUF);
	if (n != (int)v->nout)
		fail_msg("%s: %d segments, expected %u", v->name, n, v->nout);
	for (int i = 0; i < n; i++) {
		struct pbuf *p = out[i];
		assert_int_equal(p->len, v->out[i].len);
		if (flags & PKT_GSO_PARTIAL_CSUM) {
			assert_int_equal(p->ol.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
			assert_int_equal(p->ol.gso_type, 0);
			assert_int_equal(p->ol.csum_start, v->ol.csum_start);
			assert_int_equal(p->ol.csum_offset, v->ol.csum_offset);
			assert_int_equal(
			    pkt_csum_complete(p->data, p->len, p->ol.csum_start, p->ol.csum_offset),
			    0);
		} else {
			struct pbuf_offload zero = {0};
			assert_memory_equal(&p->ol, &zero, sizeof(zero));
		}
		if (memcmp(p->data, v->out[i].b, p->len) != 0) {
			for (uint32_t k = 0; k < p->len; k++)
				if (p->data[k] != v->out[i].b[k])
					fail_msg("%s seg %d byte %u: %02x, expected %02x", v->name,
						 i, k, p->data[k], v->out[i].b[k]);
		}
	}
	pbuf_free_bulk(&pool, out, (unsigned)n);
	assert_int_equal(pool.nfree, NPBUF);
	free(f);
}

static void test_vectors_full_csum(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(ovec_gso); i++)
		run_vector(&ovec_gso[i], 0);
}

static void test_vectors_partial_csum(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(ovec_gso); i++)
		run_vector(&ovec_gso[i], PKT_GSO_PARTIAL_CSUM);
}

static void test_info_fields(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		uint16_t l2_len, l4_off, hdr_len;
		uint8_t proto, v6, gso;
	} cases[] = {
	    {"tcp4", 14, 34, 66, 6, 0, VIRTIO_NET_HDR_GSO_TCPV4},
	    {"tcp6_seq_wrap", 14, 54, 86, 6, 1, VIRTIO_NET_HDR_GSO_TCPV6},
	    {"tcp4_vlan_id_wrap", 18, 38, 70, 6, 0, VIRTIO_NET_HDR_GSO_TCPV4},
	    {"tcp4_ipopts_ecn", 14, 42, 74, 6, 0, VIRTIO_NET_HDR_GSO_TCPV4},
	    {"uso4_zero_csum", 14, 34, 42, 17, 0, VIRTIO_NET_HDR_GSO_UDP_L4},
	    {"uso6_qinq", 22, 62, 70, 17, 1, VIRTIO_NET_HDR_GSO_UDP_L4},
	    {"csum_udp6_hbh", 14, 62, 70, 17, 1, 0},
	    {"csum_tcp6_vlan", 18, 58, 90, 6, 1, 0},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		const struct ovec *v = vec(cases[i].name);
		struct pkt_ol_info info;
		assert_int_equal(pkt_ol_check(v->in.b, v->in.len, &v->ol, &info), 0);
		assert_int_equal(info.reason, PKT_OL_OK);
		assert_int_equal(info.l2_len, cases[i].l2_len);
		assert_int_equal(info.l3_off, cases[i].l2_len);
		assert_int_equal(info.l4_off, cases[i].l4_off);
		assert_int_equal(info.hdr_len, cases[i].hdr_len);
		assert_int_equal(info.l4_proto, cases[i].proto);
		assert_int_equal(info.is_ipv6, cases[i].v6);
		assert_int_equal(info.gso_type, cases[i].gso);
		assert_int_equal(info.l3_end, v->in.len);
	}
}

/* Payload within gso_size: one segment, the super-frame with its checksum completed. */
static void test_single_segment(void **state)
{
	(void)state;
	const struct ovec *v = vec("tcp4_ipopts_ecn");
	struct pbuf_offload ol = v->ol;
	struct pkt_ol_info info;
	struct pbuf *out[1];
	ol.gso_size = (uint16_t)(v->in.len - 74);

	uint8_t *want = frame_dup(v->in.b, v->in.len);
	assert_int_equal(pkt_csum_complete(want, v->in.len, ol.csum_start, ol.csum_offset), 0);
	assert_int_equal(pkt_ol_check(v->in.b, v->in.len, &ol, &info), 0);
	assert_int_equal(pkt_gso_segment(v->in.b, v->in.len, &ol, &info, 0, 0, &pool, out, 1), 1);
	assert_int_equal(out[0]->len, v->in.len);
	assert_memory_equal(out[0]->data, want, v->in.len); /* FIN/PSH/CWR, id and lengths kept */
	pbuf_free(&pool, out[0]);
	free(want);
}

/* A cap at or above gso_size changes nothing. */
static void test_mss_cap_above(void **state)
{
	(void)state;
	struct ovec v = *vec("tcp4");
	v.mss_cap = 1449;
	run_vector(&v, 0);
	v.mss_cap = 65535;
	run_vector(&v, 0);
}

static void test_errors_free_everything(void **state)
{
	(void)state;
	const struct ovec *v = vec("tcp4");
	struct pkt_ol_info info;
	struct pbuf *out[NPBUF];
	assert_int_equal(pkt_ol_check(v->in.b, v->in.len, &v->ol, &info), 0);

	/* 4 segments needed. */
	assert_int_equal(pkt_gso_segment(v->in.b, v->in.len, &v->ol, &info, 0, 0, &pool, out, 3),
			 -E2BIG);
	assert_int_equal(pkt_gso_segment(v->in.b, v->in.len, &v->ol, &info, 0, 0, &pool, out, 0),
			 -E2BIG);
	assert_int_equal(pool.nfree, NPBUF);

	/* The pool runs dry after two. */
	struct pbuf *held[NPBUF - 2];
	for (int i = 0; i < NPBUF - 2; i++)
		held[i] = pbuf_alloc(&pool);
	assert_int_equal(pkt_gso_segment(v->in.b, v->in.len, &v->ol, &info, 0, 0, &pool, out, 4),
			 -ENOBUFS);
	assert_int_equal(pool.nfree, 2);
	pbuf_free_bulk(&pool, held, NPBUF - 2);
	assert_int_equal(pool.nfree, NPBUF);

	/* Segments of 1514 bytes into buffers of 1513, then of exactly 1514. */
	struct pbuf_pool small;
	assert_int_equal(pbuf_pool_init(&small, 4, 1513), 0);
	assert_int_equal(pkt_gso_segment(v->in.b, v->in.len, &v->ol, &info, 0, 0, &small, out, 4),
			 -EMSGSIZE);
	assert_int_equal(small.nfree, 4);
	pbuf_pool_fini(&small);
	assert_int_equal(pbuf_pool_init(&small, 4, 1514), 0);
	assert_int_equal(pkt_gso_segment(v->in.b, v->in.len, &v->ol, &info, 0, 0, &small, out, 4),
			 4);
	pbuf_free_bulk(&small, out, 4);
	assert_int_equal(small.nfree, 4);
	pbuf_pool_fini(&small);
}

static void test_bad_info(void **state)
{
	(void)state;
	const struct ovec *v = vec("tcp4");
	struct pkt_ol_info good, info;
	struct pbuf *out[NPBUF];
	assert_int_equal(pkt_ol_check(v->in.b, v->in.len, &v->ol, &good), 0);

	info = good;
	info.gso_type = VIRTIO_NET_HDR_GSO_NONE;
	assert_int_equal(pkt_gso_segment(v->in.b, v->in.len, &v->ol, &info, 0, 0, &pool, out, 8),
			 -EINVAL);
	info = good;
	info.reason = PKT_OL_GSO_SIZE_ZERO;
	assert_int_equal(pkt_gso_segment(v->in.b, v->in.len, &v->ol, &info, 0, 0, &pool, out, 8),
			 -EINVAL);
	info = good; /* info of another frame */
	assert_int_equal(
	    pkt_gso_segment(v->in.b, v->in.len - 1, &v->ol, &info, 0, 0, &pool, out, 8), -EINVAL);
	info = good;
	info.hdr_len = 40; /* TCP header would not fit */
	assert_int_equal(pkt_gso_segment(v->in.b, v->in.len, &v->ol, &info, 0, 0, &pool, out, 8),
			 -EINVAL);
	info = good;
	info.l4_proto = 17;
	assert_int_equal(pkt_gso_segment(v->in.b, v->in.len, &v->ol, &info, 0, 0, &pool, out, 8),
			 -EINVAL);
	struct pbuf_offload ol = v->ol;
	ol.gso_size = 0;
	assert_int_equal(pkt_gso_segment(v->in.b, v->in.len, &ol, &good, 0, 0, &pool, out, 8),
			 -EINVAL);
	assert_int_equal(pool.nfree, NPBUF);
}

static void test_finish_csum(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(ovec_csum); i++) {
		const struct ovec *v = &ovec_csum[i];
		uint8_t *f = frame_dup(v->in.b, v->in.len);
		assert_int_equal(pkt_ol_finish_csum(f, v->in.len, &v->ol), 0);
		assert_memory_equal(f, v->out[0].b, v->in.len);
		free(f);
	}
	/* A GSO frame must be segmented; without NEEDS_CSUM nothing changes. */
	const struct ovec *v = vec("tcp4");
	uint8_t *f = frame_dup(v->in.b, v->in.len);
	assert_int_equal(pkt_ol_finish_csum(f, v->in.len, &v->ol), -EINVAL);
	struct pbuf_offload none = {.flags = VIRTIO_NET_HDR_F_DATA_VALID};
	assert_int_equal(pkt_ol_finish_csum(f, v->in.len, &none), 0);
	assert_memory_equal(f, v->in.b, v->in.len);
	free(f);
	/* The check runs first: a broken header is refused. */
	v = vec("csum_tcp4");
	f = frame_dup(v->in.b, v->in.len);
	f[14] = 0x44;
	assert_int_equal(pkt_ol_finish_csum(f, v->in.len, &v->ol), -EINVAL);
	free(f);
}

/* ---- The hostile table ---- */

enum ol_field { OL_NONE, OL_FLAGS, OL_GSO_TYPE, OL_HDR_LEN, OL_GSO_SIZE, OL_START, OL_OFFSET };

struct hostile {
	const char *what;
	const char *base; /* vector whose frame and ol are the start */
	uint32_t cut;	  /* truncate to this length; 0 keeps it */
	struct {
		uint16_t off, val; /* off 0 ends the list */
		bool byte;
	} patch[2];
	struct {
		enum ol_field f;
		uint16_t val;
	} ol[2];
	int ret;
	enum pkt_ol_reason reason;
};

#define W(o, v)                                                                                    \
	{                                                                                          \
		(o), (v), false                                                                    \
	} /* 16-bit big-endian write */
#define B(o, v)                                                                                    \
	{                                                                                          \
		(o), (v), true                                                                     \
	} /* one byte */
#define NOP W(0, 0)
#define KEEP                                                                                       \
	{                                                                                          \
		OL_NONE, 0                                                                         \
	}

/* tcp4: 4510 bytes, IPv4 at 14 (total length 4496), TCP at 34 (32 bytes), csum at 50. */
static const struct hostile hostile[] = {
    {"gso type 2 (old TCPV4_ECN)",
     "tcp4",
     0,
     {NOP},
     {{OL_GSO_TYPE, 2}},
     -EINVAL,
     PKT_OL_GSO_TYPE_UNKNOWN},
    {"gso type 6", "tcp4", 0, {NOP}, {{OL_GSO_TYPE, 6}}, -EINVAL, PKT_OL_GSO_TYPE_UNKNOWN},
    {"ECN bit alone", "tcp4", 0, {NOP}, {{OL_GSO_TYPE, 0x80}}, -EINVAL, PKT_OL_GSO_TYPE_UNKNOWN},
    {"UFO", "uso4_zero_csum", 0, {NOP}, {{OL_GSO_TYPE, VIRTIO_NET_HDR_GSO_UDP}}, -ENOTSUP, PKT_OL_GSO_UFO},
    {"USO with ECN", "uso4_zero_csum", 0, {NOP}, {{OL_GSO_TYPE, 0x85}}, -EINVAL, PKT_OL_GSO_ECN_NOT_TCP},
    {"gso_size 0", "tcp4", 0, {NOP}, {{OL_GSO_SIZE, 0}}, -EINVAL, PKT_OL_GSO_SIZE_ZERO},
    {"hdr_len past frame",
     "tcp4",
     0,
     {NOP},
     {{OL_HDR_LEN, 4511}},
     -EINVAL,
     PKT_OL_HDR_LEN_PAST_FRAME},
    {"runt", "csum_tcp4", 13, {NOP}, {KEEP}, -EINVAL, PKT_OL_L2_TRUNC},
    {"VLAN tag cut", "tcp4_vlan_id_wrap", 16, {NOP}, {{OL_HDR_LEN, 0}}, -EINVAL, PKT_OL_L2_TRUNC},
    {"IPv4 header cut", "csum_tcp4", 33, {NOP}, {KEEP}, -EINVAL, PKT_OL_L3_TRUNC},
    {"IPv4 options cut", "csum_tcp4", 40, {B(14, 0x4f)}, {KEEP}, -EINVAL, PKT_OL_L3_TRUNC},
    {"IPv6 header cut", "csum_tcp6_vlan", 57, {NOP}, {KEEP}, -EINVAL, PKT_OL_L3_TRUNC},
    {"hop-by-hop past datagram", "csum_udp6_hbh", 0, {B(55, 20)}, {KEEP}, -EINVAL, PKT_OL_L3_TRUNC},
    {"version 6 in IPv4", "tcp4", 0, {B(14, 0x65)}, {KEEP}, -EINVAL, PKT_OL_IP_VERSION},
    {"version 4 in IPv6", "tcp6_seq_wrap", 0, {B(14, 0x42)}, {KEEP}, -EINVAL, PKT_OL_IP_VERSION},
    {"IHL 4", "tcp4", 0, {B(14, 0x44)}, {KEEP}, -EINVAL, PKT_OL_IP4_IHL},
    {"IHL 0", "csum_udp4_odd", 0, {B(14, 0x40)}, {KEEP}, -EINVAL, PKT_OL_IP4_IHL},
    {"IPv4 total length past frame",
     "tcp4",
     0,
     {W(16, 4497)},
     {KEEP},
     -EINVAL,
     PKT_OL_IP_LEN_PAST_FRAME},
    {"IPv4 total length past frame, no GSO",
     "csum_udp4_odd",
     0,
     {W(16, 74)},
     {KEEP},
     -EINVAL,
     PKT_OL_IP_LEN_PAST_FRAME},
    {"IPv6 payload length past frame",
     "tcp6_seq_wrap",
     0,
     {W(18, 4324)},
     {KEEP},
     -EINVAL,
     PKT_OL_IP_LEN_PAST_FRAME},
    {"IPv4 total length below IHL", "tcp4", 0, {W(16, 19)}, {KEEP}, -EINVAL, PKT_OL_IP_LEN_SHORT},
    {"GSO frame padded", "tcp4", 0, {W(16, 4495)}, {KEEP}, -EINVAL, PKT_OL_GSO_PADDED},
    {"GSO on a first fragment", "tcp4", 0, {W(20, 0x6000)}, {KEEP}, -EINVAL, PKT_OL_GSO_FRAGMENT},
    {"GSO on a later fragment", "tcp4", 0, {W(20, 0x0001)}, {KEEP}, -EINVAL, PKT_OL_GSO_FRAGMENT},
    {"GSO with a hop-by-hop header",
     "tcp6_seq_wrap",
     0,
     {W(20, 0x0040)},
     {KEEP},
     -ENOTSUP,
     PKT_OL_GSO_IP6_EXT},
    {"TCP header cut by IP length", "csum_tcp4", 0, {W(16, 39)}, {KEEP}, -EINVAL, PKT_OL_L4_TRUNC},
    {"TCP data offset past datagram",
     "csum_tcp4",
     0,
     {W(16, 60), B(46, 0xf0)},
     {KEEP},
     -EINVAL,
     PKT_OL_L4_TRUNC},
    {"TCP data offset past frame, GSO",
     "tcp4",
     74,
     {W(16, 60), B(46, 0xf0)},
     {KEEP},
     -EINVAL,
     PKT_OL_L4_TRUNC},
    {"UDP header cut", "csum_udp4_odd", 0, {W(16, 27)}, {KEEP}, -EINVAL, PKT_OL_L4_TRUNC},
    {"TCP data offset 4", "tcp4", 0, {B(46, 0x40)}, {KEEP}, -EINVAL, PKT_OL_TCP_DOFF},
    {"csum_start past frame", "csum_tcp4", 0, {NOP}, {{OL_START, 166}}, -EINVAL, PKT_OL_CSUM_START},
    {"csum_start 65535", "tcp4", 0, {NOP}, {{OL_START, 65535}}, -EINVAL, PKT_OL_CSUM_START},
    {"csum_start in the padding",
     "csum_udp4_padded",
     0,
     {NOP},
     {{OL_START, 50}},
     -EINVAL,
     PKT_OL_CSUM_START},
    {"csum_offset past end",
     "csum_tcp4",
     0,
     {NOP},
     {{OL_OFFSET, 131}},
     -EINVAL,
     PKT_OL_CSUM_OFFSET},
    {"csum_offset 65535", "csum_tcp4", 0, {NOP}, {{OL_OFFSET, 65535}}, -EINVAL, PKT_OL_CSUM_OFFSET},
    {"csum field in the padding",
     "csum_udp4_padded",
     0,
     {NOP},
     {{OL_START, 46}, {OL_OFFSET, 0}},
     -EINVAL,
     PKT_OL_CSUM_OFFSET},
    {"TCP csum_offset of UDP", "tcp4", 0, {NOP}, {{OL_OFFSET, 6}}, -EINVAL, PKT_OL_CSUM_NOT_L4},
    {"csum_start at the IP header",
     "csum_tcp4",
     0,
     {NOP},
     {{OL_START, 14}},
     -EINVAL,
     PKT_OL_CSUM_NOT_L4},
    {"UDP csum_offset of TCP",
     "csum_udp4_odd",
     0,
     {NOP},
     {{OL_OFFSET, 16}},
     -EINVAL,
     PKT_OL_CSUM_NOT_L4},
    {"TCPV4 on IPv6",
     "tcp6_seq_wrap",
     0,
     {NOP},
     {{OL_GSO_TYPE, VIRTIO_NET_HDR_GSO_TCPV4}},
     -EINVAL,
     PKT_OL_GSO_MISMATCH},
    {"TCPV6 on IPv4",
     "tcp4",
     0,
     {NOP},
     {{OL_GSO_TYPE, VIRTIO_NET_HDR_GSO_TCPV6}},
     -EINVAL,
     PKT_OL_GSO_MISMATCH},
    {"TCPV4 on UDP",
     "uso4_zero_csum",
     0,
     {NOP},
     {{OL_GSO_TYPE, VIRTIO_NET_HDR_GSO_TCPV4}},
     -EINVAL,
     PKT_OL_GSO_MISMATCH},
    {"UDP_L4 on TCP",
     "tcp4",
     0,
     {NOP},
     {{OL_GSO_TYPE, VIRTIO_NET_HDR_GSO_UDP_L4}},
     -EINVAL,
     PKT_OL_GSO_MISMATCH},
    {"TCPV4 on ARP", "tcp4", 0, {W(12, 0x0806)}, {KEEP}, -EINVAL, PKT_OL_GSO_MISMATCH},
    {"TCPV4 on ICMP", "tcp4", 0, {W(22, 0x4001)}, {KEEP}, -EINVAL, PKT_OL_GSO_MISMATCH},
    {"TCPV4 behind a third VLAN tag",
     "tcp4_vlan_id_wrap",
     0,
     {W(16, 0x8100), W(20, 0x8100)},
     {KEEP},
     -EINVAL,
     PKT_OL_GSO_MISMATCH},
    {"USO without NEEDS_CSUM", "uso4_zero_csum", 0, {NOP}, {{OL_FLAGS, 0}}, -EINVAL, PKT_OL_USO_NO_CSUM},
    {"GSO with no payload", "tcp4", 66, {W(16, 52)}, {KEEP}, -EINVAL, PKT_OL_GSO_NO_PAYLOAD},
    /* Accepted. */
    {"hdr_len 0", "tcp4", 0, {NOP}, {{OL_HDR_LEN, 0}}, 0, PKT_OL_OK},
    {"hdr_len = frame", "tcp4", 0, {NOP}, {{OL_HDR_LEN, 4510}}, 0, PKT_OL_OK},
    {"unknown flag bits ignored", "tcp4", 0, {NOP}, {{OL_FLAGS, 0xff}}, 0, PKT_OL_OK},
    {"TSO without NEEDS_CSUM", "tcp4", 0, {NOP}, {{OL_FLAGS, 0}}, 0, PKT_OL_OK},
    {"NEEDS_CSUM on ARP: bounds only",
     "csum_udp4_odd",
     0,
     {W(12, 0x0806)},
     {{OL_START, 20}},
     0,
     PKT_OL_OK},
    {"NEEDS_CSUM on an IPv4 fragment",
     "csum_udp4_odd",
     0,
     {W(20, 0x2000)},
     {{OL_START, 20}},
     0,
     PKT_OL_OK},
    {"NEEDS_CSUM on ICMP", "csum_udp4_odd", 0, {W(22, 0x4001)}, {{OL_OFFSET, 2}}, 0, PKT_OL_OK},
    {"TCPV6 with ECN", "tcp6_seq_wrap", 0, {NOP}, {{OL_GSO_TYPE, 0x84}}, 0, PKT_OL_OK},
};

static void hostile_apply(const struct hostile *h, uint8_t *f, struct pbuf_offload *ol)
{
	for (int k = 0; k < 2 && h->patch[k].off; k++) {
		if (h->patch[k].byte)
			f[h->patch[k].off] = (uint8_t)h->patch[k].val;
		else
			pkt_csum_put(f + h->patch[k].off, h->patch[k].val);
	}
	for (int k = 0; k < 2; k++) {
		uint16_t v = h->ol[k].val;
		switch (h->ol[k].f) {
		case OL_NONE:
			break;
		case OL_FLAGS:
			ol->flags = (uint8_t)v;
			break;
		case OL_GSO_TYPE:
			ol->gso_type = (uint8_t)v;
			break;
		case OL_HDR_LEN:
			ol->hdr_len = v;
			break;
		case OL_GSO_SIZE:
			ol->gso_size = v;
			break;
		case OL_START:
			ol->csum_start = v;
			break;
		case OL_OFFSET:
			ol->csum_offset = v;
			break;
		}
	}
}

static void test_hostile(void **state)
{
	(void)state;
	bool seen[PKT_OL_REASON_MAX] = {false};
	for (size_t i = 0; i < ARRAY_LEN(hostile); i++) {
		const struct hostile *h = &hostile[i];
		const struct ovec *v = vec(h->base);
		uint32_t len = h->cut ? h->cut : v->in.len;
		uint8_t *f = frame_dup(v->in.b, v->in.len);
		struct pbuf_offload ol = v->ol;
		struct pkt_ol_info info;
		hostile_apply(h, f, &ol);
		uint8_t *g = frame_dup(f, len); /* exactly 'len' bytes for ASan */
		int ret = pkt_ol_check(g, len, &ol, &info);
		if (ret != h->ret || info.reason != h->reason)
			fail_msg("%s: %d %s, expected %d %s", h->what, ret,
				 pkt_ol_reason_name(info.reason), h->ret,
				 pkt_ol_reason_name(h->reason));
		seen[info.reason] = true;
		free(g);
		free(f);
	}
	for (int r = 0; r < PKT_OL_REASON_MAX; r++)
		if (!seen[r])
			fail_msg("reason %s not covered",
				 pkt_ol_reason_name((enum pkt_ol_reason)r));
}

/* With nothing asked for, no byte is read: a NULL frame is fine. */
static void test_no_offload(void **state)
{
	(void)state;
	struct pbuf_offload ol = {.flags = VIRTIO_NET_HDR_F_DATA_VALID, .hdr_len = 60000};
	struct pkt_ol_info info;
	assert_int_equal(pkt_ol_check(NULL, 0, &ol, &info), 0);
	assert_int_equal(info.reason, PKT_OL_OK);
	assert_int_equal(info.l4_off, 0);
}

static void test_reason_names(void **state)
{
	(void)state;
	assert_string_equal(pkt_ol_reason_name(PKT_OL_OK), "ok");
	assert_string_equal(pkt_ol_reason_name(PKT_OL_CSUM_START), "csum_start_out_of_frame");
	assert_string_equal(pkt_ol_reason_name(PKT_OL_GSO_SIZE_ZERO), "gso_size_zero");
	assert_string_equal(pkt_ol_reason_name(PKT_OL_GSO_MISMATCH), "gso_type_mismatch");
	assert_string_equal(pkt_ol_reason_name(PKT_OL_HDR_LEN_PAST_FRAME), "hdr_len_past_frame");
	assert_string_equal(pkt_ol_reason_name(PKT_OL_REASON_MAX), "unknown");
	assert_string_equal(pkt_ol_reason_name((enum pkt_ol_reason) - 1), "unknown");
	for (int a = 0; a < PKT_OL_REASON_MAX; a++) {
		const char *na = pkt_ol_reason_name((enum pkt_ol_reason)a);
		assert_true(strspn(na, "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(na));
		for (int b = a + 1; b < PKT_OL_REASON_MAX; b++)
			assert_string_not_equal(na, pkt_ol_reason_name((enum pkt_ol_reason)b));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vectors_full_csum), cmocka_unit_test(test_vectors_partial_csum),
	    cmocka_unit_test(test_info_fields),	      cmocka_unit_test(test_single_segment),
	    cmocka_unit_test(test_mss_cap_above),     cmocka_unit_test(test_errors_free_everything),
	    cmocka_unit_test(test_bad_info),	      cmocka_unit_test(test_finish_csum),
	    cmocka_unit_test(test_hostile),	      cmocka_unit_test(test_no_offload),
	    cmocka_unit_test(test_reason_names),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
