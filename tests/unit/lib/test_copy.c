/*
 * test_copy.c - rs_copy, the fast path's frame copy: every length from 0 to
 * past the inline limit, at every alignment of source and destination, equals memcpy byte for byte,
 * writes nothing outside [dst, dst+len) and reads nothing outside
 * [src, src+len) (the source is an allocation of exactly 'len' bytes, so
 * AddressSanitizer reports any read past it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/copy.h"

static void test_lengths_and_alignments(void **state)
{
	(void)state;
	uint8_t dst[RS_COPY_INLINE + 64 + 32];
	for (size_t len = 0; len <= RS_COPY_INLINE + 40; len++) {
		for (size_t align = 0; align < 16; align++) {
			/* misaligned source too, still ending where its allocation ends */
			uint8_t *buf = malloc(len + align + 1);
			assert_non_null(buf);
			uint8_t *src = buf + align + 1;
			for (size_t i = 0; i < len; i++)
				src[i] = (uint8_t)(len * 7 + i * 13 + align);
			memset(dst, 0xa5, sizeof(dst));
			rs_copy(dst + 16 + align, src, len);
			assert_memory_equal(dst + 16 + align, src, len);
			for (size_t i = 0; i < 16 + align; i++)
				assert_int_equal(dst[i], 0xa5);
			for (size_t i = 16 + align + len; i < sizeof(dst); i++)
				assert_int_equal(dst[i], 0xa5);
			free(buf);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lengths_and_alignments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
