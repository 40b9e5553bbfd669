/*
 * test_pkt_csum.c - the Internet checksum helpers: partial sums against a
 * byte-at-a-time reference over random data of every small length at every
 * alignment, carries over long runs, the RFC 1071 example, a known IPv4
 * header, both pseudo-headers, and pkt_csum_complete() on the generated
 * vectors (byte for byte against scapy) and at its bounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include <cmocka.h>

#include "net/pkt_csum.h"
#include "frame_hex.h"
#include "offload_vectors.h"

/* The reference: big-endian 16-bit words, one at a time, folded at the end. */
static uint32_t ref_sum(const uint8_t *p, size_t len)
{
	uint64_t s = 0;
	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len % 2)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint32_t)s;
}

static uint16_t ref_csum(const uint8_t *p, size_t len)
{
	return (uint16_t)~ref_sum(p, len);
}

static void test_random_lengths_alignments(void **state)
{
	(void)state;
	enum { MAX = 1100 };
	uint8_t *buf = malloc(MAX + 8);
	assert_non_null(buf);
	srand(7);
	for (int round = 0; round < 4; round++) {
		for (size_t i = 0; i < MAX + 8; i++)
			buf[i] = (uint8_t)(round == 3 ? 0xff : rand());
		for (size_t len = 0; len <= MAX; len += len < 80 ? 1 : 37) {
			for (size_t align = 0; align < 8; align++) {
				const uint8_t *p = buf + align;
				assert_int_equal(pkt_csum_fold(pkt_csum_add(0, p, len)),
						 ref_csum(p, len));
				/* Split at an even length: the pieces sum like the whole. */
				size_t half = (len / 2) & ~(size_t)1;
				uint32_t s = pkt_csum_add(0, p, half);
				s = pkt_csum_add(s, p + half, len - half);
				assert_int_equal(pkt_csum_fold(s), ref_csum(p, len));
				/* A starting sum is carried in. */
				uint32_t start = (uint32_t)rand();
				uint64_t r = (uint64_t)ref_sum(p, len) + start;
				while (r >> 16)
					r = (r & 0xffff) + (r >> 16);
				assert_int_equal(pkt_csum_fold(pkt_csum_add(start, p, len)),
						 (uint16_t)~r);
			}
		}
	}
	free(buf);
}

/* Long runs of 0xff make the 64-bit accumulator carry on nearly every word. */
static void test_long_runs(void **state)
{
	(void)state;
	size_t sizes[] = {65535, 65536, 65537, 200001};
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		uint8_t *b = malloc(sizes[k]);
		assert_non_null(b);
		memset(b, 0xff, sizes[k]);
		assert_int_equal(pkt_csum_fold(pkt_csum_add(0, b, sizes[k])),
				 ref_csum(b, sizes[k]));
		for (size_t i = 0; i < sizes[k]; i++)
			b[i] = (uint8_t)(i * 131 + 17);
		assert_int_equal(pkt_csum_fold(pkt_csum_add(0, b + 1, sizes[k] - 1)),
				 ref_csum(b + 1, sizes[k] - 1));
		free(b);
	}
	assert_int_equal(pkt_csum_add32(0xffffffffu, 1), 1);
	assert_int_equal(pkt_csum_fold(0), 0xffff);
	assert_int_equal(pkt_csum_fold(0xffff), 0);
	assert_int_equal(pkt_csum_fold(0x1fffe), 0);
}

/* RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to 0xddf2. */
static void test_rfc1071_example(void **state)
{
	(void)state;
	static const uint8_t b[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
	assert_int_equal(pkt_csum_fold(pkt_csum_add(0, b, sizeof(b))), (uint16_t)~0xddf2);
}

static void test_ip4_header(void **state)
{
	(void)state;
	uint8_t h[20];
	assert_int_equal(
	    frame_hex_decode("4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7", h, sizeof(h)),
	    20);
	assert_int_equal(pkt_csum_ip4_hdr(h, 20), 0xb861);
	h[10] = h[11] = 0x55; /* the field itself is not summed */
	assert_int_equal(pkt_csum_ip4_hdr(h, 20), 0xb861);
}

static void test_pseudo_headers(void **state)
{
	(void)state;
	uint8_t a4[4] = {192, 168, 1, 10}, b4[4] = {10, 0, 0, 255};
	uint8_t ph4[12] = {192, 168, 1, 10, 10, 0, 0, 255, 0, 17, 0x05, 0xdc};
	assert_int_equal(pkt_csum_fold(pkt_csum_pseudo4(a4, b4, 17, 1500)), ref_csum(ph4, 12));

	uint8_t a6[16], b6[16], ph6[40] = {0};
	for (int i = 0; i < 16; i++) {
		a6[i] = (uint8_t)(0xf0 + i);
		b6[i] = (uint8_t)(i * 17);
	}
	memcpy(ph6, a6, 16);
	memcpy(ph6 + 16, b6, 16);
	ph6[33] = 0x01; /* 0x00012345 bytes: upper-layer length is 32 bits */
	ph6[34] = 0x23;
	ph6[35] = 0x45;
	ph6[39] = 6;
	assert_int_equal(pkt_csum_fold(pkt_csum_pseudo6(a6, b6, 6, 0x12345)), ref_csum(ph6, 40));
}

/* Every checksum vector but the padded one (which pkt_ol_finish_csum() trims). */
static void test_complete_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(ovec_csum) / sizeof(ovec_csum[0]); i++) {
		const struct ovec *v = &ovec_csum[i];
		if (strcmp(v->name, "csum_udp4_padded") == 0)
			continue;
		uint8_t *f = frame_dup(v->in.b, v->in.len);
		assert_int_equal(
		    pkt_csum_complete(f, v->in.len, v->ol.csum_start, v->ol.csum_offset), 0);
		assert_int_equal(v->out[0].len, v->in.len);
		assert_memory_equal(f, v->out[0].b, v->in.len);
		free(f);
	}
}

static void test_complete_bounds(void **state)
{
	(void)state;
	static const struct {
		uint32_t len;
		uint16_t start, offset;
		int ret;
	} cases[] = {
	    {0, 0, 0, -EINVAL},	     {1, 0, 0, -EINVAL},      {2, 0, 0, 0},
	    {2, 1, 0, -EINVAL},	     {2, 2, 0, -EINVAL},      {10, 8, 0, 0},
	    {10, 8, 1, -EINVAL},     {10, 9, 0, -EINVAL},     {10, 0, 8, 0},
	    {10, 0, 9, -EINVAL},     {10, 3, 5, 0},	      {10, 65535, 65535, -EINVAL},
	    {10, 4, 65535, -EINVAL}, {70000, 65535, 4463, 0}, {70000, 65535, 4464, -EINVAL},
	};
	uint8_t *f = calloc(1, 70000);
	assert_non_null(f);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *d = frame_dup(f, cases[i].len);
		int ret = pkt_csum_complete(d, cases[i].len, cases[i].start, cases[i].offset);
		if (ret != cases[i].ret)
			fail_msg("case %zu: %d, expected %d", i, ret, cases[i].ret);
		if (ret != 0)
			assert_memory_equal(d, f, cases[i].len);
		else /* all zero bytes sum to 0: stored as 0xffff */
			assert_int_equal(d[cases[i].start + cases[i].offset], 0xff);
		free(d);
	}
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_random_lengths_alignments),
	    cmocka_unit_test(test_long_runs),
	    cmocka_unit_test(test_rfc1071_example),
	    cmocka_unit_test(test_ip4_header),
	    cmocka_unit_test(test_pseudo_headers),
	    cmocka_unit_test(test_complete_vectors),
	    cmocka_unit_test(test_complete_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
