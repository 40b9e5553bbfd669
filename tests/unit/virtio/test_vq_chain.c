/*
 * test_vq_chain.c - the descriptor-chain walker against hostile guests: a
 * table of ring setups, each with the error and broken reason it must give
 * (or the chain shape it must produce); chain length equal to the queue size
 * (valid) and one more (a loop) for queue sizes 1, 2, 256 and 32768; too many
 * pieces (dropped, not broken); buffers and indirect tables that straddle two
 * guest memory regions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>

#include <cmocka.h>

#include "guest_sim.h"

#define F_IND VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC)
#define R     0
#define W     VIRTQ_DESC_F_WRITE
#define N     VIRTQ_DESC_F_NEXT
#define I     VIRTQ_DESC_F_INDIRECT

/* Guest address of a scratch buffer every case may point at (set per case). */
static uint64_t buf;

/* Writes indirect table entry 'i' at guest address 'tbl'. */
static void ind(struct gsim *g, uint64_t tbl, unsigned i, uint64_t addr, uint32_t len,
		uint16_t flags, uint16_t next)
{
	struct virtq_desc d = {.addr = addr, .len = len, .flags = flags, .next = next};
	gsim_write(g, tbl + 16ull * i, &d, sizeof(d));
}

static void s_head_range(struct gsim *g)
{
	gsim_desc(g, 0, buf, 10, R, 0);
}
static void s_next_range(struct gsim *g)
{
	gsim_desc(g, 0, buf, 10, R | N, 8);
}
static void s_self_loop(struct gsim *g)
{
	gsim_desc(g, 0, buf, 10, R | N, 0);
}
static void s_two_loop(struct gsim *g)
{
	gsim_desc(g, 0, buf, 10, R | N, 1);
	gsim_desc(g, 1, buf, 10, R | N, 0);
}
static void s_zero_len_loop(struct gsim *g)
{
	gsim_desc(g, 0, buf, 0, R | N, 1);
	gsim_desc(g, 1, buf, 0, R | N, 0);
}
static void s_addr_unmapped(struct gsim *g)
{
	gsim_desc(g, 0, 0x10, 10, R, 0);
}
static void s_addr_wraps(struct gsim *g)
{
	gsim_desc(g, 0, UINT64_MAX - 4, 16, R, 0);
}
static void s_addr_past_end(struct gsim *g)
{
	gsim_desc(g, 0, g->end - 4, 8, R, 0);
}
static void s_second_unmapped(struct gsim *g)
{
	gsim_desc(g, 0, buf, 10, R | N, 1);
	gsim_desc(g, 1, 0xdead0000000ull, 10, R, 0);
}
static void s_order(struct gsim *g)
{
	gsim_desc(g, 0, buf, 10, W | N, 1);
	gsim_desc(g, 1, buf, 10, R, 0);
}
static void s_len_overflow(struct gsim *g)
{
	/* A huge fake region: only translated, never dereferenced. */
	struct gmem_region r = {.gpa = 0x100000000ull,
				.size = 0xf0000000ull,
				.uva = 0x200000000ull,
				.host = (uint8_t *)(uintptr_t)0x100000000000ull};
	assert_int_equal(gmem_add(&g->mem, &r), 0);
	gsim_desc(g, 0, 0x100000000ull, 0xf0000000u, R | N, 1);
	gsim_desc(g, 1, 0x100000000ull, 0x10000000u, R, 0);
}
static void s_ind_not_negotiated(struct gsim *g)
{
	ind(g, buf, 0, buf + 256, 10, R, 0);
	gsim_desc(g, 0, buf, 16, I, 0);
}
static void s_ind_with_next(struct gsim *g)
{
	ind(g, buf, 0, buf + 256, 10, R, 0);
	gsim_desc(g, 0, buf, 16, I | N, 1);
	gsim_desc(g, 1, buf + 256, 10, R, 0);
}
static void s_ind_len0(struct gsim *g)
{
	gsim_desc(g, 0, buf, 0, I, 0);
}
static void s_ind_len24(struct gsim *g)
{
	gsim_desc(g, 0, buf, 24, I, 0);
}
static void s_ind_unmapped(struct gsim *g)
{
	gsim_desc(g, 0, 0x1000, 32, I, 0);
}
static void s_ind_partly_mapped(struct gsim *g)
{
	ind(g, g->end - 16, 0, buf, 10, R, 0);
	gsim_desc(g, 0, g->end - 16, 32, I, 0);
}
static void s_ind_huge(struct gsim *g)
{
	gsim_desc(g, 0, buf, 16u * (VIRTQ_MAX_SIZE + 1), I, 0);
}
static void s_ind_nested(struct gsim *g)
{
	ind(g, buf, 0, buf + 256, 16, I, 0);
	ind(g, buf + 256, 0, buf + 512, 10, R, 0);
	gsim_desc(g, 0, buf, 16, I, 0);
}
static void s_ind_loop(struct gsim *g)
{
	ind(g, buf, 0, buf + 256, 10, R | N, 1);
	ind(g, buf, 1, buf + 256, 10, R | N, 0);
	gsim_desc(g, 0, buf, 32, I, 0);
}
static void s_ind_next_range(struct gsim *g)
{
	ind(g, buf, 0, buf + 256, 10, R | N, 2);
	ind(g, buf, 1, buf + 256, 10, R, 0);
	gsim_desc(g, 0, buf, 32, I, 0);
}
static void s_ind_bad_addr(struct gsim *g)
{
	ind(g, buf, 0, buf + 256, 10, R | N, 1);
	ind(g, buf, 1, 0x10, 10, R, 0);
	gsim_desc(g, 0, buf, 32, I, 0);
}
static void s_ind_order(struct gsim *g)
{
	ind(g, buf, 0, buf + 256, 10, W | N, 1);
	ind(g, buf, 1, buf + 256, 10, R, 0);
	gsim_desc(g, 0, buf, 32, I, 0);
}
static void s_direct_w_then_ind_r(struct gsim *g)
{
	ind(g, buf, 0, buf + 256, 10, R, 0);
	gsim_desc(g, 0, buf + 256, 10, W | N, 1);
	gsim_desc(g, 1, buf, 16, I, 0);
}
static void s_one(struct gsim *g)
{
	gsim_desc(g, 0, buf, 10, R, 0);
}
static void s_zero_len_skipped(struct gsim *g)
{
	gsim_desc(g, 0, buf, 0, R | N, 1);
	gsim_desc(g, 1, 0x10, 0, R | N, 2); /* zero length: address not used */
	gsim_desc(g, 2, buf, 10, R | N, 3);
	gsim_desc(g, 3, buf, 0, W, 0);
}
static void s_out_in(struct gsim *g)
{
	gsim_desc(g, 5, buf, 12, R | N, 3);
	gsim_desc(g, 3, buf + 100, 100, W | N, 7);
	gsim_desc(g, 7, buf + 300, 50, W, 0);
}
static void s_ind_valid(struct gsim *g)
{
	ind(g, buf, 0, buf + 256, 12, R | N, 2);
	ind(g, buf, 2, buf + 300, 20, R | N, 1);
	ind(g, buf, 1, buf + 400, 30, W, 0);
	gsim_desc(g, 0, buf, 48, I, 0);
}
static void s_ind_unaligned(struct gsim *g)
{
	ind(g, buf + 8, 0, buf + 256, 12, R | N, 1);
	ind(g, buf + 8, 1, buf + 300, 20, W, 0);
	gsim_desc(g, 0, buf + 8, 32, I, 0);
}
static void s_direct_then_ind(struct gsim *g)
{
	ind(g, buf, 0, buf + 300, 20, W, 0);
	gsim_desc(g, 0, buf + 256, 12, R | N, 1);
	gsim_desc(g, 1, buf, 16, I, 0);
}
static void s_ind_full_table(struct gsim *g)
{
	/* a table longer than the queue (8): accepted, as Linux builds them */
	for (unsigned i = 0; i < 20; i++)
		ind(g, buf, i, buf + 512 + i, 1, (uint16_t)(R | (i < 19 ? N : 0)),
		    (uint16_t)(i + 1));
	gsim_desc(g, 0, buf, 20 * 16, I, 0);
}

struct chain_case {
	const char *name;
	uint64_t features;
	void (*setup)(struct gsim *g);
	uint16_t head;
	int rc;
	enum vq_broken_reason reason;
	uint16_t nr_out, nr_in;
	uint32_t out_len, in_len;
};

static const struct chain_case chain_cases[] = {
    {"head out of range", 0, s_head_range, 8, -EIO, VQ_BROKEN_HEAD_RANGE, 0, 0, 0, 0},
    {"head 0xffff", 0, s_head_range, 0xffff, -EIO, VQ_BROKEN_HEAD_RANGE, 0, 0, 0, 0},
    {"next out of range", 0, s_next_range, 0, -EIO, VQ_BROKEN_DESC_NEXT, 0, 0, 0, 0},
    {"self loop", 0, s_self_loop, 0, -EIO, VQ_BROKEN_DESC_LOOP, 0, 0, 0, 0},
    {"two-descriptor loop", 0, s_two_loop, 0, -EIO, VQ_BROKEN_DESC_LOOP, 0, 0, 0, 0},
    {"zero-length loop", 0, s_zero_len_loop, 0, -EIO, VQ_BROKEN_DESC_LOOP, 0, 0, 0, 0},
    {"addr unmapped", 0, s_addr_unmapped, 0, -EIO, VQ_BROKEN_DESC_ADDR, 0, 0, 0, 0},
    {"addr+len wraps", 0, s_addr_wraps, 0, -EIO, VQ_BROKEN_DESC_ADDR, 0, 0, 0, 0},
    {"addr past end", 0, s_addr_past_end, 0, -EIO, VQ_BROKEN_DESC_ADDR, 0, 0, 0, 0},
    {"second unmapped", 0, s_second_unmapped, 0, -EIO, VQ_BROKEN_DESC_ADDR, 0, 0, 0, 0},
    {"readable after writable", 0, s_order, 0, -EIO, VQ_BROKEN_DESC_ORDER, 0, 0, 0, 0},
    {"lengths past 32 bits", 0, s_len_overflow, 0, -EIO, VQ_BROKEN_LEN_OVERFLOW, 0, 0, 0, 0},
    {"indirect not negotiated", 0, s_ind_not_negotiated, 0, -EIO, VQ_BROKEN_INDIRECT, 0, 0, 0, 0},
    {"indirect with next", F_IND, s_ind_with_next, 0, -EIO, VQ_BROKEN_INDIRECT, 0, 0, 0, 0},
    {"indirect len 0", F_IND, s_ind_len0, 0, -EIO, VQ_BROKEN_INDIRECT, 0, 0, 0, 0},
    {"indirect len 24", F_IND, s_ind_len24, 0, -EIO, VQ_BROKEN_INDIRECT, 0, 0, 0, 0},
    {"indirect unmapped", F_IND, s_ind_unmapped, 0, -EIO, VQ_BROKEN_INDIRECT, 0, 0, 0, 0},
    {"indirect partly mapped", F_IND, s_ind_partly_mapped, 0, -EIO, VQ_BROKEN_INDIRECT, 0, 0, 0, 0},
    {"indirect too large", F_IND, s_ind_huge, 0, -EIO, VQ_BROKEN_INDIRECT, 0, 0, 0, 0},
    {"indirect nested", F_IND, s_ind_nested, 0, -EIO, VQ_BROKEN_INDIRECT, 0, 0, 0, 0},
    {"indirect loop", F_IND, s_ind_loop, 0, -EIO, VQ_BROKEN_DESC_LOOP, 0, 0, 0, 0},
    {"indirect next out of table", F_IND, s_ind_next_range, 0, -EIO, VQ_BROKEN_DESC_NEXT, 0, 0, 0,
     0},
    {"indirect entry unmapped", F_IND, s_ind_bad_addr, 0, -EIO, VQ_BROKEN_DESC_ADDR, 0, 0, 0, 0},
    {"indirect order", F_IND, s_ind_order, 0, -EIO, VQ_BROKEN_DESC_ORDER, 0, 0, 0, 0},
    {"direct W then indirect R", F_IND, s_direct_w_then_ind_r, 0, -EIO, VQ_BROKEN_DESC_ORDER, 0, 0,
     0, 0},
    {"one readable", 0, s_one, 0, 0, VQ_OK, 1, 0, 10, 0},
    {"zero-length skipped", 0, s_zero_len_skipped, 0, 0, VQ_OK, 1, 0, 10, 0},
    {"out then in", 0, s_out_in, 5, 0, VQ_OK, 1, 2, 12, 150},
    {"indirect valid", F_IND, s_ind_valid, 0, 0, VQ_OK, 2, 1, 32, 30},
    {"indirect unaligned table", F_IND, s_ind_unaligned, 0, 0, VQ_OK, 1, 1, 12, 20},
    {"direct then indirect", F_IND, s_direct_then_ind, 0, 0, VQ_OK, 1, 1, 12, 20},
    {"indirect longer than queue", F_IND, s_ind_full_table, 0, 0, VQ_OK, 20, 0, 20, 0},
};

static void test_chain_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < RS_ARRAY_SIZE(chain_cases); i++) {
		const struct chain_case *c = &chain_cases[i];
		struct gsim g;
		struct vq_chain ch;
		assert_int_equal(gsim_init(&g, 8, c->features, 0, 8192), 0);
		buf = gsim_alloc(&g, 4096);
		c->setup(&g);
		int rc = vq_walk_chain(&g.vq, c->head, &ch);
		if (rc != c->rc || g.vq.broken != c->reason)
			fail_msg("case '%s': rc %d reason %s, want %d %s", c->name, rc,
				 vq_broken_reason_name(g.vq.broken), c->rc,
				 vq_broken_reason_name(c->reason));
		if (c->reason != VQ_OK && g.vq.stats.broken[c->reason] != 1)
			fail_msg("case '%s': counter not bumped", c->name);
		if (rc == 0 &&
		    (ch.nr_out != c->nr_out || ch.nr_in != c->nr_in || ch.out_len != c->out_len ||
		     ch.in_len != c->in_len || ch.head != c->head))
			fail_msg("case '%s': shape %u/%u %u/%u", c->name, ch.nr_out, ch.nr_in,
				 ch.out_len, ch.in_len);
		gsim_fini(&g);
	}
}

/* Chain of 'len' descriptors 0 -> 1 -> ...; 'loop' links the last back to 0. */
static void long_chain(struct gsim *g, uint32_t len, bool loop)
{
	for (uint32_t i = 0; i < len; i++) {
		bool last = i + 1 == len;
		uint16_t flags = (uint16_t)(R | (last && !loop ? 0 : N));
		/* only the first carries bytes, so the chain fits VQ_MAX_IOV */
		gsim_desc(g, (uint16_t)i, buf, i == 0 ? 64 : 0, flags,
			  (uint16_t)(last ? 0 : i + 1));
	}
}

static void test_chain_len_equals_size(void **state)
{
	(void)state;
	static const uint32_t sizes[] = {1, 2, 256, VIRTQ_MAX_SIZE};
	for (size_t i = 0; i < RS_ARRAY_SIZE(sizes); i++) {
		struct gsim g;
		struct vq_chain ch;
		assert_int_equal(gsim_init(&g, sizes[i], 0, 0, 4096), 0);
		buf = gsim_alloc(&g, 64);
		long_chain(&g, sizes[i], false);
		assert_int_equal(vq_walk_chain(&g.vq, 0, &ch), 0);
		assert_int_equal(ch.nr_out, 1);
		assert_int_equal(ch.out_len, 64);
		/* the same descriptors made circular: size + 1 steps */
		long_chain(&g, sizes[i], true);
		assert_int_equal(vq_walk_chain(&g.vq, 0, &ch), -EIO);
		assert_int_equal(g.vq.broken, VQ_BROKEN_DESC_LOOP);
		gsim_fini(&g);
	}
}

static void test_too_many_iov(void **state)
{
	(void)state;
	struct gsim g;
	struct vq_chain ch;
	assert_int_equal(gsim_init(&g, 128, 0, 0, 8192), 0);
	buf = gsim_alloc(&g, 4096);
	for (unsigned n = VQ_MAX_IOV - 1; n <= VQ_MAX_IOV + 1; n++) {
		for (unsigned i = 0; i < n; i++)
			gsim_desc(&g, (uint16_t)i, buf + i, 1, (uint16_t)(i + 1 < n ? N : 0),
				  (uint16_t)(i + 1));
		int rc = vq_walk_chain(&g.vq, 0, &ch);
		assert_int_equal(rc, n <= VQ_MAX_IOV ? 0 : -E2BIG);
		assert_int_equal(g.vq.broken, VQ_OK);
	}
	/* past the limit, later descriptors are still validated */
	gsim_desc(&g, VQ_MAX_IOV, buf, 1, N, VQ_MAX_IOV + 1);
	gsim_desc(&g, VQ_MAX_IOV + 1, 0x10, 1, 0, 0);
	assert_int_equal(vq_walk_chain(&g.vq, 0, &ch), -EIO);
	assert_int_equal(g.vq.broken, VQ_BROKEN_DESC_ADDR);
	gsim_fini(&g);
}

static void test_region_spanning(void **state)
{
	(void)state;
	struct gsim g;
	struct vq_chain ch;
	const uint64_t rs[] = {16384, 4096, 4096};
	assert_int_equal(gsim_init_regions(&g, 8, F_IND, 0, rs, 3), 0);
	uint64_t r1 = gsim_region_gpa(&g, 1), r2 = gsim_region_gpa(&g, 2);
	/* one buffer over all three regions */
	gsim_desc(&g, 0, r1 - 100, 100 + 4096 + 50, R, 0);
	assert_int_equal(vq_walk_chain(&g.vq, 0, &ch), 0);
	assert_int_equal(ch.nr_out, 3);
	assert_ptr_equal(ch.iov[0].base, g.host[0] + 16384 - 100);
	assert_int_equal(ch.iov[0].len, 100);
	assert_ptr_equal(ch.iov[1].base, g.host[1]);
	assert_int_equal(ch.iov[1].len, 4096);
	assert_ptr_equal(ch.iov[2].base, g.host[2]);
	assert_int_equal(ch.iov[2].len, 50);
	/* an indirect table straddling regions 1 and 2 */
	uint64_t tbl = r2 - 24;
	ind(&g, tbl, 0, r1, 10, R | N, 2);
	ind(&g, tbl, 1, r1 + 100, 20, W, 0);
	ind(&g, tbl, 2, r2 - 5, 10, W | N, 1);
	gsim_desc(&g, 3, tbl, 48, I, 0);
	assert_int_equal(vq_walk_chain(&g.vq, 3, &ch), 0);
	assert_int_equal(ch.nr_out, 1);
	assert_int_equal(ch.nr_in, 3);
	assert_int_equal(ch.in_len, 30);
	assert_int_equal(ch.iov[1].len, 5);
	assert_int_equal(ch.iov[2].len, 5);
	/* running off the end of the last region */
	gsim_desc(&g, 1, r2 + 4000, 100, R, 0);
	assert_int_equal(vq_walk_chain(&g.vq, 1, &ch), -EIO);
	assert_int_equal(g.vq.broken, VQ_BROKEN_DESC_ADDR);
	gsim_fini(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_chain_table),
	    cmocka_unit_test(test_chain_len_equals_size),
	    cmocka_unit_test(test_too_many_iov),
	    cmocka_unit_test(test_region_spanning),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
