/*
 * test_gmem.c - the guest memory table: insertion order and every rejection
 * of gmem_add (empty, wrapping, overlapping in gpa or uva, full), removal,
 * translation at region edges and with addresses near 2^64, the hint being
 * any value, pieces across adjacent regions, gaps, and the piece limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>

#include <cmocka.h>

#include "virtio/gmem.h"

static uint8_t backing[4][4096];

static struct gmem_region reg(uint64_t gpa, uint64_t size, uint64_t uva, void *host)
{
	return (struct gmem_region){.gpa = gpa, .size = size, .uva = uva, .host = host, .fd = -1};
}

/* Three adjacent 4 KiB regions at 0x10000 (uva 0x90000) and one at 0x20000. */
static void four_regions(struct gmem *m)
{
	gmem_init(m);
	/* inserted out of order on purpose */
	assert_int_equal(gmem_add(m, &(struct gmem_region){.gpa = 0x20000,
							   .size = 4096,
							   .uva = 0xa0000,
							   .host = backing[3]}),
			 0);
	for (int i = 2; i >= 0; i--) {
		struct gmem_region r =
		    reg(0x10000 + 4096 * i, 4096, 0x90000 + 4096 * i, backing[i]);
		assert_int_equal(gmem_add(m, &r), 0);
	}
}

static void test_add_sorted(void **state)
{
	(void)state;
	struct gmem m;
	four_regions(&m);
	assert_int_equal(m.nregions, 4);
	for (unsigned i = 1; i < m.nregions; i++)
		assert_true(m.regions[i - 1].gpa < m.regions[i].gpa);
}

struct add_case {
	const char *name;
	uint64_t gpa, size, uva;
	int expect;
};

static void test_add_rejects(void **state)
{
	(void)state;
	static const struct add_case cases[] = {
	    {"size 0", 0x50000, 0, 0x50000, -EINVAL},
	    {"gpa wraps", UINT64_MAX - 10, 4096, 0x50000, -EINVAL},
	    {"uva wraps", 0x50000, 4096, UINT64_MAX - 100, -EINVAL},
	    {"gpa overlaps head", 0x0f000, 0x1001, 0x50000, -EINVAL},
	    {"gpa overlaps tail", 0x12fff, 16, 0x50000, -EINVAL},
	    {"gpa inside", 0x11000, 1, 0x50000, -EINVAL},
	    {"gpa covers all", 0, UINT64_MAX, 0x50000, -EINVAL},
	    {"uva overlaps", 0x30000, 4096, 0x92000, -EINVAL},
	    {"touching below ok", 0x0f000, 0x1000, 0x50000, 0},
	    {"touching above ok", 0x21000, 0x1000, 0x50000, 0},
	    {"last byte of space ok", UINT64_MAX - 4095, 4096, 0x60000, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct gmem m;
		four_regions(&m);
		struct gmem_region r = reg(cases[i].gpa, cases[i].size, cases[i].uva, backing[0]);
		int rc = gmem_add(&m, &r);
		if (rc != cases[i].expect)
			fail_msg("case '%s': got %d want %d", cases[i].name, rc, cases[i].expect);
	}
}

static void test_add_full(void **state)
{
	(void)state;
	static struct gmem m;
	gmem_init(&m);
	for (uint64_t i = 0; i < GMEM_MAX_REGIONS; i++) {
		struct gmem_region r = reg((GMEM_MAX_REGIONS - i) * 0x2000, 0x1000,
					   0x1000000 + i * 0x1000, backing[0]);
		assert_int_equal(gmem_add(&m, &r), 0);
	}
	struct gmem_region r = reg(0x10000000, 0x1000, 0x9000000, backing[0]);
	assert_int_equal(gmem_add(&m, &r), -ENOSPC);
	for (unsigned i = 1; i < m.nregions; i++)
		assert_true(m.regions[i - 1].gpa < m.regions[i].gpa);
	/* binary search over many regions, with a stale hint */
	uint32_t hint = 7;
	for (uint64_t i = 1; i <= GMEM_MAX_REGIONS; i++) {
		assert_non_null(gmem_translate(&m, &hint, i * 0x2000 + 5, 10));
		assert_null(gmem_translate(&m, &hint, i * 0x2000 + 0x1000, 1));
	}
}

static void test_remove(void **state)
{
	(void)state;
	struct gmem m;
	struct gmem_region out;
	four_regions(&m);
	assert_int_equal(gmem_remove(&m, 0x11000, 4096, 0x91000 + 1, &out), -ENOENT);
	assert_int_equal(gmem_remove(&m, 0x11000, 4096, 0x91000, &out), 0);
	assert_ptr_equal(out.host, backing[1]);
	assert_int_equal(m.nregions, 3);
	uint32_t hint = 1;
	assert_null(gmem_translate(&m, &hint, 0x11000, 1));
	assert_non_null(gmem_translate(&m, &hint, 0x12000, 1));
	assert_int_equal(gmem_remove(&m, 0x11000, 4096, 0x91000, &out), -ENOENT);
}

struct tr_case {
	const char *name;
	uint64_t gpa, len;
	int region; /* expected region, -1 for NULL */
};

static void test_translate(void **state)
{
	(void)state;
	static const struct tr_case cases[] = {
	    {"first byte", 0x10000, 1, 0},	  {"whole region", 0x11000, 4096, 1},
	    {"last byte", 0x12fff, 1, 2},	  {"len 0 mapped", 0x12fff, 0, 2},
	    {"len 0 unmapped", 0x13000, 0, -1},	  {"spans two regions", 0x10ff0, 0x20, -1},
	    {"one past end", 0x12fff, 2, -1},	  {"below all", 0xffff, 1, -1},
	    {"in gap", 0x1f000, 1, -1},		  {"gpa+len wraps", 0x20010, UINT64_MAX - 8, -1},
	    {"len max", 0x20000, UINT64_MAX, -1}, {"gpa max", UINT64_MAX, 1, -1},
	};
	struct gmem m;
	four_regions(&m);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tr_case *c = &cases[i];
		for (uint32_t hint = 0; hint < 6; hint++) { /* any hint, even out of range */
			uint32_t h = hint;
			uint8_t *p = gmem_translate(&m, &h, c->gpa, c->len);
			uint8_t *want = NULL;
			if (c->region >= 0)
				want =
				    m.regions[c->region].host + (c->gpa - m.regions[c->region].gpa);
			if (p != want)
				fail_msg("case '%s' hint %u: %p want %p", c->name, hint, (void *)p,
					 (void *)want);
		}
	}
	uint32_t hint = UINT32_MAX;
	assert_ptr_equal(gmem_translate(&m, &hint, 0x20000, 1), backing[3]);
	assert_int_equal(hint, 3);
}

static void test_to_iov(void **state)
{
	(void)state;
	struct gmem m;
	struct gmem_iov iov[4];
	uint32_t hint = 0;
	four_regions(&m);

	assert_int_equal(gmem_to_iov(&m, &hint, 0x10000, 0, iov, 4), 0);
	assert_int_equal(gmem_to_iov(&m, &hint, 0x10010, 16, iov, 4), 1);
	assert_ptr_equal(iov[0].base, backing[0] + 16);
	/* across all three adjacent regions */
	assert_int_equal(gmem_to_iov(&m, &hint, 0x10ff0, 0x2010, iov, 4), 3);
	assert_ptr_equal(iov[0].base, backing[0] + 0xff0);
	assert_int_equal(iov[0].len, 0x10);
	assert_ptr_equal(iov[1].base, backing[1]);
	assert_int_equal(iov[1].len, 0x1000);
	assert_ptr_equal(iov[2].base, backing[2]);
	assert_int_equal(iov[2].len, 0x1000);
	/* runs into the gap after region 2 */
	assert_int_equal(gmem_to_iov(&m, &hint, 0x12ff0, 0x20, iov, 4), -EFAULT);
	assert_int_equal(gmem_to_iov(&m, &hint, 0x13000, 1, iov, 4), -EFAULT);
	/* more pieces than room; mapped vs unmapped with no room */
	assert_int_equal(gmem_to_iov(&m, &hint, 0x10ff0, 0x2010, iov, 2), -E2BIG);
	assert_int_equal(gmem_to_iov(&m, &hint, 0x10ff0, 0x20, NULL, 0), -E2BIG);
	assert_int_equal(gmem_to_iov(&m, &hint, 0x12ff0, 0x2000, iov, 1), -EFAULT);
	assert_int_equal(gmem_to_iov(&m, &hint, UINT64_MAX - 1, 4, iov, 4), -EFAULT);
}

static void test_read_across(void **state)
{
	(void)state;
	struct gmem m;
	uint8_t out[64];
	uint32_t hint = 3;
	four_regions(&m);
	memset(backing[0] + 4096 - 32, 0x11, 32);
	memset(backing[1], 0x22, 32);
	assert_int_equal(gmem_read(&m, &hint, 0x11000 - 32, out, 64), 0);
	for (int i = 0; i < 64; i++)
		assert_int_equal(out[i], i < 32 ? 0x11 : 0x22);
	assert_int_equal(gmem_read(&m, &hint, 0x12fff, out, 2), -EFAULT);
	assert_int_equal(gmem_read(&m, &hint, 0x50000, out, 0), 0);
}

static void test_uva(void **state)
{
	(void)state;
	struct gmem m;
	four_regions(&m);
	assert_ptr_equal(gmem_uva_to_host(&m, 0x91010, 16), backing[1] + 16);
	assert_ptr_equal(gmem_uva_to_host(&m, 0xa0000, 4096), backing[3]);
	assert_null(gmem_uva_to_host(&m, 0x91ff0, 0x20)); /* one region only */
	assert_null(gmem_uva_to_host(&m, 0xa0001, 4096));
	assert_null(gmem_uva_to_host(&m, 0x8ffff, 1));
	assert_null(gmem_uva_to_host(&m, 0x90010, UINT64_MAX));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_add_sorted),	cmocka_unit_test(test_add_rejects),
	    cmocka_unit_test(test_add_full),	cmocka_unit_test(test_remove),
	    cmocka_unit_test(test_translate),	cmocka_unit_test(test_to_iov),
	    cmocka_unit_test(test_read_across), cmocka_unit_test(test_uva),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
