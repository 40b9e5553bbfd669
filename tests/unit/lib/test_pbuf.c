/*
 * test_pbuf.c - the packet-buffer pool: every buffer handed out once, reset
 * state on allocation, exhaustion counted, buffers aligned and disjoint.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>

#include <cmocka.h>

#include "lib/pbuf.h"

static void test_exhaust_and_refill(void **state)
{
	(void)state;
	struct pbuf_pool pool;
	struct pbuf *got[8];

	assert_int_equal(pbuf_pool_init(&pool, 8, 2048), 0);
	for (int i = 0; i < 8; i++) {
		got[i] = pbuf_alloc(&pool);
		assert_non_null(got[i]);
		assert_int_equal(got[i]->len, 0);
		assert_int_equal(got[i]->room, 2048);
		assert_ptr_equal(got[i]->data, got[i]->buf + PBUF_HEADROOM);
		assert_int_equal((uintptr_t)got[i] % 64, 0);
		memset(got[i]->data, i, 2048); /* buffers must not overlap */
	}
	assert_null(pbuf_alloc(&pool));
	assert_int_equal(pool.alloc_failed, 1);
	for (int i = 0; i < 8; i++)
		for (int j = 0; j < 2048; j++)
			assert_int_equal(got[i]->data[j], i);
	got[3]->len = 99;
	got[3]->data += 4;
	pbuf_free_bulk(&pool, got, 8);
	assert_int_equal(pool.nfree, 8);
	struct pbuf *p = pbuf_alloc(&pool);
	assert_int_equal(p->len, 0);
	assert_ptr_equal(p->data, p->buf + PBUF_HEADROOM);
	pbuf_free(&pool, p);
	pbuf_pool_fini(&pool);
}

static void test_bad_sizes(void **state)
{
	(void)state;
	struct pbuf_pool pool;
	assert_int_equal(pbuf_pool_init(&pool, 0, 2048), -EINVAL);
	assert_int_equal(pbuf_pool_init(&pool, 4, 0), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exhaust_and_refill),
		cmocka_unit_test(test_bad_sizes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
