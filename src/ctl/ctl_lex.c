/*
 * ctl_lex.c - the shell-like tokeniser and the error helper of src/ctl. See
 * ctl_lex.h for the rules. Owns: nothing beyond the ctl_tokens it fills.
 */
#include "ctl_lex.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_SHOWN_MAX 60 /* longer tokens are cut in messages */

static bool is_ctrl(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

/* Appends 'n' bytes of 's' to 'out' with control and non-ASCII bytes as \xNN. */
static size_t escape_into(char *out, size_t size, const char *s, size_t n)
{
	size_t o = 0;
	bool cut = n > TOKEN_SHOWN_MAX;

	if (cut)
		n = TOKEN_SHOWN_MAX;
	for (size_t i = 0; i < n && o + 5 < size; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c >= 0x7f || c == '\'' || c == '\\')
			o += (size_t)snprintf(out + o, size - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	if (cut && o + 4 < size) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return o;
}

void ctl_error_set(struct ctl_error *err, int tok, int col, const char *toktext, size_t toklen,
		   const char *fmt, ...)
{
	va_list ap;
	size_t o = 0;

	if (!err)
		return;
	err->token_index = tok;
	err->column = col;
	if (toktext) {
		char shown[TOKEN_SHOWN_MAX * 4 + 8];
		escape_into(shown, sizeof(shown), toktext, toklen);
		int r = snprintf(err->msg, sizeof(err->msg), "token '%s': ", shown);
		o = r < 0 ? 0 : RS_MIN((size_t)r, sizeof(err->msg) - 1);
	}
	va_start(ap, fmt);
	vsnprintf(err->msg + o, sizeof(err->msg) - o, fmt, ap);
	va_end(ap);
	/*
	 * The formatted part may quote user input too: keep the whole message
	 * printable ASCII, so that it is safe on a terminal and always valid
	 * UTF-8 for a JSON response.
	 */
	for (char *p = err->msg; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
}

void ctl_tokens_free(struct ctl_tokens *t)
{
	if (!t)
		return;
	free(t->buf);
	free(t->map);
	t->buf = NULL;
	t->map = NULL;
	t->n = 0;
}

int ctl_tok_column(const struct ctl_tokens *t, int idx, size_t off)
{
	if (idx < 0 || idx >= t->n)
		return 0;
	const struct ctl_token *k = &t->tok[idx];
	if (off > k->len)
		off = k->len;
	return (int)k->src[off] + 1;
}

static int lex_alloc(struct ctl_tokens *out, size_t len)
{
	out->n = 0;
	/* Each source byte yields at most one text byte, plus one NUL per token. */
	out->buf = malloc(len + CTL_LEX_MAX_TOKENS + 1);
	out->map = malloc((len + CTL_LEX_MAX_TOKENS + 1) * sizeof(uint32_t));
	if (!out->buf || !out->map) {
		ctl_tokens_free(out);
		return -ENOMEM;
	}
	return 0;
}

static int lex_fail(struct ctl_tokens *out, struct ctl_error *err, size_t off, const char *msg)
{
	ctl_error_set(err, out->n, (int)off + 1, NULL, 0, "%s", msg);
	ctl_tokens_free(out);
	return -EINVAL;
}

/* Lexer state over one line; 'o' is the write position in out->buf. */
struct lexer {
	const char *s;
	size_t len, i, o;
	struct ctl_tokens *out;
};

static void put(struct lexer *lx, char c, size_t src)
{
	lx->out->buf[lx->o] = c;
	lx->out->map[lx->o] = (uint32_t)src;
	lx->o++;
}

/* Reads one token starting at lx->i (not a blank). Returns NULL or an error text. */
static const char *lex_word(struct lexer *lx, size_t *bad)
{
	while (lx->i < lx->len) {
		unsigned char c = (unsigned char)lx->s[lx->i];
		if (c == ' ' || c == '\t')
			break;
		if (is_ctrl(c)) {
			*bad = lx->i;
			return c == 0 ? "NUL byte in line" : "control character in line";
		}
		if (c == '\\') {
			if (lx->i + 1 >= lx->len) {
				*bad = lx->i;
				return "trailing backslash";
			}
			if (is_ctrl((unsigned char)lx->s[lx->i + 1])) {
				*bad = lx->i + 1;
				return "control character in line";
			}
			put(lx, lx->s[lx->i + 1], lx->i + 1);
			lx->i += 2;
		} else if (c == '\'' || c == '"') {
			size_t open = lx->i++;
			for (;;) {
				if (lx->i >= lx->len) {
					*bad = open;
					return c == '\'' ? "unterminated single quote"
							 : "unterminated double quote";
				}
				unsigned char q = (unsigned char)lx->s[lx->i];
				if (q == c)
					break;
				if (is_ctrl(q)) {
					*bad = lx->i;
					return "control character in line";
				}
				if (c == '"' && q == '\\' && lx->i + 1 < lx->len &&
				    (lx->s[lx->i + 1] == '"' || lx->s[lx->i + 1] == '\\'))
					lx->i++;
				put(lx, lx->s[lx->i], lx->i);
				lx->i++;
			}
			lx->i++; /* closing quote */
		} else {
			put(lx, (char)c, lx->i);
			lx->i++;
		}
	}
	return NULL;
}

int ctl_lex(const char *line, size_t len, unsigned flags, struct ctl_tokens *out,
	    struct ctl_error *err)
{
	struct lexer lx = {.s = line, .out = out};
	size_t bad = 0;
	const char *why;

	out->buf = NULL;
	out->map = NULL;
	out->n = 0;
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len > CTL_LEX_MAX_LINE) {
		ctl_error_set(err, -1, 0, NULL, 0, "line too long (max %d bytes)",
			      CTL_LEX_MAX_LINE);
		return -EINVAL;
	}
	lx.len = len;
	if (lex_alloc(out, len) < 0)
		return -ENOMEM;
	for (;;) {
		while (lx.i < len && (line[lx.i] == ' ' || line[lx.i] == '\t'))
			lx.i++;
		if (lx.i >= len || ((flags & CTL_LEX_COMMENTS) && line[lx.i] == '#'))
			break;
		if (out->n == CTL_LEX_MAX_TOKENS)
			return lex_fail(out, err, lx.i, "too many tokens (max 256)");
		struct ctl_token *t = &out->tok[out->n];
		size_t start = lx.o, first = lx.i;
		why = lex_word(&lx, &bad);
		if (why)
			return lex_fail(out, err, bad, why);
		t->len = lx.o - start;
		put(&lx, '\0', lx.i); /* map[len] = the end of the token in the source */
		t->text = out->buf + start;
		t->src = out->map + start;
		t->column = (int)first + 1;
		out->n++;
	}
	return 0;
}

int ctl_lex_argv(int argc, const char *const *argv, struct ctl_tokens *out, struct ctl_error *err)
{
	size_t total = 0;

	out->buf = NULL;
	out->map = NULL;
	out->n = 0;
	if (argc < 0 || argc > CTL_LEX_MAX_TOKENS) {
		ctl_error_set(err, -1, 0, NULL, 0, "too many arguments (max %d)",
			      CTL_LEX_MAX_TOKENS);
		return -EINVAL;
	}
	for (int i = 0; i < argc; i++) {
		total += strlen(argv[i]) + 1;
		if (total > CTL_LEX_MAX_LINE + 1) {
			ctl_error_set(err, i, 0, NULL, 0, "arguments too long (max %d bytes)",
				      CTL_LEX_MAX_LINE);
			return -EINVAL;
		}
	}
	if (lex_alloc(out, total) < 0)
		return -ENOMEM;
	size_t o = 0, col = 0;
	for (int i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]);
		struct ctl_token *t = &out->tok[i];
		for (size_t j = 0; j < n; j++) {
			if (is_ctrl((unsigned char)argv[i][j])) {
				ctl_error_set(err, i, (int)(col + j) + 1, NULL, 0,
					      "argument %d: control character", i);
				ctl_tokens_free(out);
				return -EINVAL;
			}
			out->buf[o + j] = argv[i][j];
			out->map[o + j] = (uint32_t)(col + j);
		}
		out->buf[o + n] = '\0';
		out->map[o + n] = (uint32_t)(col + n);
		t->text = out->buf + o;
		t->src = out->map + o;
		t->len = n;
		t->column = (int)col + 1;
		o += n + 1;
		col += n + 1;
		out->n++;
	}
	return 0;
}

static bool quote_safe(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != 0 && strchr("_-.,:/=+@%", c) != NULL);
}

size_t ctl_lex_quote(const char *s, char *out, size_t size)
{
	size_t n = 0;
	bool bare = *s != '\0';

	for (const char *p = s; *p && bare; p++)
		bare = quote_safe((unsigned char)*p);
#define EMIT(c)                                                                                    \
	do {                                                                                       \
		if (n + 1 < size)                                                                  \
			out[n] = (c);                                                              \
		n++;                                                                               \
	} while (0)
	if (!bare)
		EMIT('\'');
	for (const char *p = s; *p; p++) {
		if (*p == '\'') { /* close, escaped quote, reopen: '\'' */
			EMIT('\'');
			EMIT('\\');
			EMIT('\'');
			EMIT('\'');
		} else {
			EMIT(*p);
		}
	}
	if (!bare)
		EMIT('\'');
#undef EMIT
	if (size)
		out[n < size ? n : size - 1] = '\0';
	return n;
}

void ctl_outf(struct ctl_out *o, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int r = vsnprintf(o->n < o->size ? o->buf + o->n : NULL,
			  o->n < o->size ? o->size - o->n : 0, fmt, ap);
	va_end(ap);
	if (r > 0)
		o->n += (size_t)r;
}
