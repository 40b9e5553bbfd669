/*
 * copy.h - the frame copy of the fast path. Most frames a switch moves are
 * small, and for them the call into libc's memcpy (its size dispatch, the
 * call itself) costs more than the bytes: rs_copy moves up to RS_COPY_INLINE
 * bytes inline in 16-byte pieces, the last piece overlapping the one before
 * instead of a byte loop, and hands longer copies to memcpy. It reads exactly
 * [src, src+len) and writes exactly [dst, dst+len), like memcpy, so it may
 * read guest memory that ends at the frame. Overlapping ranges (a hostile
 * guest's RX buffer over its own TX buffer) give wrong bytes, never a wrong
 * access.
 */
#ifndef RS_LIB_COPY_H
#define RS_LIB_COPY_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define RS_COPY_INLINE 256

typedef uint8_t rs_copy_v __attribute__((vector_size(16)));

static inline void rs_copy16(uint8_t *d, const uint8_t *s)
{
	rs_copy_v v;
	memcpy(&v, s, sizeof(v));
	/* An empty asm on the value: keeps the compiler from turning the loop
	 * back into the memcpy call this avoids. */
#if defined(__x86_64__) || defined(__i386__)
	__asm__("" : "+x"(v));
#else
	__asm__("" : : "r"(&v) : "memory");
#endif
	memcpy(d, &v, sizeof(v));
}

static inline void rs_copy(void *dst, const void *src, size_t len)
{
	uint8_t *d = dst;
	const uint8_t *s = src;

	if (len < 16 || len > RS_COPY_INLINE) {
		memcpy(d, s, len);
		return;
	}
	if (len <= 64) { /* two or four pieces, the last ones overlapping, no loop */
		rs_copy16(d, s);
		if (len > 32) {
			rs_copy16(d + 16, s + 16);
			rs_copy16(d + len - 32, s + len - 32);
		}
		rs_copy16(d + len - 16, s + len - 16);
		return;
	}
	for (size_t off = 0; off + 16 < len; off += 16)
		rs_copy16(d + off, s + off);
	rs_copy16(d + len - 16, s + len - 16);
}

#endif
