/*
 * fuzz_flow_parse.c - libFuzzer target for the flow-rule language.
 *
 * Input: 1 flags byte (bit 0: actions required, bit 1: priority allowed,
 * bit 2: resolve names now instead of deferring them), then the rule text
 * (a NUL ends it early). Invariants: an error message is printable and its
 * column lies within the text; an accepted rule formats to text that parses
 * back to the identical struct and formats identically again.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/flow_parse.h"

static int resolve(void *ctx, const char *name)
{
	(void)ctx;
	if (strcmp(name, "vm1") == 0)
		return 1;
	if (strcmp(name, "vm2") == 0)
		return 2;
	return -ENOENT;
}

static int defer(void *ctx, const char *name)
{
	(void)ctx;
	(void)name;
	return -EAGAIN;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char text[CTL_LEX_MAX_LINE + 1], t1[CTL_FLOW_TEXT_MAX], t2[CTL_FLOW_TEXT_MAX];
	struct ctl_flow a, b;
	struct ctl_error err;

	if (size < 1 || size > CTL_LEX_MAX_LINE)
		return 0;
	unsigned flags = data[0] & (CTL_FLOW_ACTIONS | CTL_FLOW_PRIORITY);
	ctl_port_resolve_fn *rf = (data[0] & 4) ? resolve : defer;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	size_t len = strlen(text);

	if (ctl_flow_parse(text, flags, rf, NULL, &a, &err) < 0) {
		for (const char *p = err.msg; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				abort();
		if (err.column < 1 || (size_t)err.column > len + 1)
			abort();
		return 0;
	}
	size_t n = ctl_flow_format(&a, flags, NULL, NULL, t1, sizeof(t1));
	if (n >= sizeof(t1))
		abort();
	if (ctl_flow_parse(t1, flags, rf, NULL, &b, &err) < 0)
		abort();
	if (memcmp(&a, &b, sizeof(a)) != 0)
		abort();
	ctl_flow_format(&b, flags, NULL, NULL, t2, sizeof(t2));
	if (strcmp(t1, t2) != 0)
		abort();
	return 0;
}
