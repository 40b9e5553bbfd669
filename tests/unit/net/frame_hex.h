/*
 * frame_hex.h - test helper: frames written as hex strings (spaces and
 * colons ignored), copied into a heap buffer of exactly their length so that
 * ASan reports any read past the end of a frame.
 */
#ifndef RS_TEST_FRAME_HEX_H
#define RS_TEST_FRAME_HEX_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline int frame_hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes 'hex' into 'out' (at most 'max' bytes); returns the length, or -1 on bad input. */
static inline int frame_hex_decode(const char *hex, uint8_t *out, size_t max)
{
	size_t n = 0;
	int hi = -1;
	for (; *hex; hex++) {
		int v = frame_hex_nibble(*hex);
		if (v < 0) {
			if (*hex == ' ' || *hex == ':')
				continue;
			return -1;
		}
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (n == max)
			return -1;
		out[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	return hi < 0 ? (int)n : -1;
}

/* A malloc'd copy of the first 'len' bytes of 'src' (never NULL for len 0: ASan-exact). */
static inline uint8_t *frame_dup(const uint8_t *src, size_t len)
{
	uint8_t *p = malloc(len ? len : 1);
	if (p && len)
		memcpy(p, src, len);
	return p;
}

#endif
