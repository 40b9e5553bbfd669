/*
 * fuzz_config.c - libFuzzer target for config-file text (ctl_config_parse:
 * lexer, every command parser, the flow language and the cross-line port
 * checks). Invariants: an error names a line of the input; an accepted
 * config, written back one ctl_cmd_format() line per command, parses again
 * to identical commands (what the daemon's save-then-restart relies on).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_config c, d;
	struct ctl_config_error err;

	if (size > 65536)
		return 0;
	if (ctl_config_parse((const char *)data, size, "fuzz", &c, &err) < 0) {
		size_t lines = 1;
		for (size_t i = 0; i < size; i++)
			lines += data[i] == '\n';
		if (err.line < 0 || (size_t)err.line > lines)
			abort();
		return 0;
	}
	char *text = malloc(c.n * CTL_CMD_TEXT_MAX + 1);
	size_t o = 0;
	if (!text)
		abort();
	for (size_t i = 0; i < c.n; i++) {
		size_t n = ctl_cmd_format(&c.v[i].cmd, NULL, NULL, text + o, CTL_CMD_TEXT_MAX);
		if (n >= CTL_CMD_TEXT_MAX - 1)
			abort();
		o += n;
		text[o++] = '\n';
	}
	if (ctl_config_parse(text, o, "again", &d, &err) < 0 || d.n != c.n)
		abort();
	for (size_t i = 0; i < c.n; i++)
		if (memcmp(&c.v[i].cmd, &d.v[i].cmd, sizeof(struct ctl_cmd)) != 0)
			abort();
	free(text);
	ctl_config_free(&c);
	ctl_config_free(&d);
	return 0;
}
