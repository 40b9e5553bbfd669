/*
 * ctl_lex.h - the tokeniser shared by ringctl command lines, control-socket
 * requests and config-file lines, and the error record every ctl parser
 * fills. Pure functions over byte buffers: no I/O, no global state.
 *
 * Lexical rules (a small subset of POSIX sh, no expansions):
 *  - tokens are separated by spaces and tabs;
 *  - '...' quotes everything up to the next ' literally;
 *  - "..." quotes up to the next unescaped "; inside, \" and \\ are escapes
 *    and any other backslash is literal;
 *  - outside quotes a backslash escapes the next byte (a trailing one is an
 *    error);
 *  - with CTL_LEX_COMMENTS, a '#' that starts a token starts a comment that
 *    runs to the end of the line ("a#b" is one token);
 *  - quoted and unquoted pieces with no blank between them form one token
 *    (a'b c'd is "ab cd");
 *  - NUL and other control bytes (0x01-0x1f but tab, 0x7f) are rejected, so
 *    error messages and config files never carry terminal escapes. A
 *    trailing "\n" or "\r\n" is ignored.
 *
 * Every token remembers where each of its bytes came from, so a parser that
 * finds a bad sub-field deep inside a quoted token can still report the exact
 * source column.
 */
#ifndef RS_CTL_CTL_LEX_H
#define RS_CTL_CTL_LEX_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/compiler.h"

#define CTL_LEX_MAX_TOKENS 256
#define CTL_LEX_MAX_LINE   65536 /* bytes per line, and per argv vector in total */

/* ctl_lex() flags */
#define CTL_LEX_COMMENTS 0x1 /* '#' at a token start begins a comment */

/*
 * Where and why parsing failed. 'msg' names the offending token in the form
 * "token 'tp_dst=99999': port out of range 0..65535" and never contains
 * control characters.
 */
struct ctl_error {
	int token_index; /* index of the offending token, -1 when not about one token */
	int column;	 /* 1-based byte column in the source line, 0 when unknown */
	char msg[256];
};

struct ctl_token {
	const char *text;    /* unquoted, NUL-terminated; points into ctl_tokens.buf */
	size_t len;	     /* strlen(text) */
	int column;	     /* 1-based source column of the token's first byte */
	const uint32_t *src; /* src[i]: 0-based source offset of text[i]; src[len]: end */
};

/* The result of a lex; owns 'buf' and 'map'. Release with ctl_tokens_free(). */
struct ctl_tokens {
	int n;
	struct ctl_token tok[CTL_LEX_MAX_TOKENS];
	char *buf;
	uint32_t *map;
};

/*
 * Splits 'len' bytes at 'line' (which need not be NUL-terminated) into
 * tokens. Returns 0 (out->n may be 0 for a blank or comment-only line),
 * -EINVAL with 'err' filled for a lexical error, or -ENOMEM. On failure 'out'
 * holds nothing that needs freeing, but ctl_tokens_free() is still safe.
 */
int ctl_lex(const char *line, size_t len, unsigned flags, struct ctl_tokens *out,
	    struct ctl_error *err);

/*
 * Builds tokens from an argv vector (the control protocol and ringctl both
 * deliver argv, already unquoted). Columns are those of the arguments joined
 * by single spaces. Rejects control bytes like ctl_lex(). Same returns.
 */
int ctl_lex_argv(int argc, const char *const *argv, struct ctl_tokens *out, struct ctl_error *err);

void ctl_tokens_free(struct ctl_tokens *t);

/* Source column (1-based) of byte 'off' (0..len) of token 'idx'. */
int ctl_tok_column(const struct ctl_tokens *t, int idx, size_t off);

/*
 * Writes 's' quoted so that ctl_lex() reads it back as exactly one token
 * equal to 's' (bare when it only holds safe bytes, else in single quotes).
 * Returns the length it needs (excluding the NUL), like snprintf.
 */
size_t ctl_lex_quote(const char *s, char *out, size_t size);

/*
 * Fills 'err': token index 'tok', column 'col', and a message
 * "token 'TEXT': FMT..." where TEXT is 'toklen' bytes at 'toktext' (escaped
 * and shortened as needed); with 'toktext' NULL the message is FMT alone.
 */
void ctl_error_set(struct ctl_error *err, int tok, int col, const char *toktext, size_t toklen,
		   const char *fmt, ...) RS_PRINTF(6, 7);

/*
 * Appends printf-style text to a fixed buffer like snprintf: 'n' counts the
 * bytes the whole text needs, so a formatter can return it when 'buf' was
 * too small. Shared by the command and flow formatters.
 */
struct ctl_out {
	char *buf;
	size_t size, n;
};
void ctl_outf(struct ctl_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
