/*
 * fuzz_ctl_json.c - libFuzzer target for control-socket requests: bytes ->
 * JSON decode -> argv tokens -> command parse (ctl_json_parse_request), as
 * the daemon's dispatcher runs it; the same bytes also go through the
 * client's response decoder. Invariants: an error is encodable as a
 * response and names a token inside argv; an accepted command formats to a
 * line that parses to the identical command.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl_json.h"

static int resolve(void *ctx, const char *name)
{
	(void)ctx;
	return strcmp(name, "vm1") == 0 ? 1 : strcmp(name, "vm2") == 0 ? 2 : -ENOENT;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_cmd a, b;
	struct ctl_error err;
	struct ctl_response resp;
	char line[CTL_CMD_TEXT_MAX];
	bool json;

	if (ctl_json_decode_response((const char *)data, size, &resp, &err) == 0)
		ctl_json_response_free(&resp);
	if (ctl_json_parse_request((const char *)data, size, resolve, NULL, &a, &json, &err) < 0) {
		char *s = ctl_json_encode_error(&err);
		if (!s || err.token_index >= CTL_LEX_MAX_TOKENS)
			abort();
		free(s);
		return 0;
	}
	size_t n = ctl_cmd_format(&a, NULL, NULL, line, sizeof(line));
	if (n >= sizeof(line))
		abort();
	if (ctl_cmd_parse_line(line, n, resolve, NULL, &b, &err) < 0)
		abort();
	if (memcmp(&a, &b, sizeof(a)) != 0)
		abort();
	return 0;
}
