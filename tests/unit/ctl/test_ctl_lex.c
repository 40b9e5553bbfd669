/*
 * test_ctl_lex.c - the tokeniser: splitting, quoting, escapes, comments,
 * columns (also inside quoted tokens), lexical errors with their columns,
 * argv input, and ctl_lex_quote() read back by ctl_lex() for random strings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include <cmocka.h>

#include "ctl/ctl_lex.h"

struct lex_case {
	const char *in;
	unsigned flags;
	const char *toks; /* tokens joined by '|' */
	const char *cols; /* their columns, comma-separated */
};

static const struct lex_case cases[] = {
    {"", CTL_LEX_COMMENTS, "", ""},
    {"   \t ", CTL_LEX_COMMENTS, "", ""},
    {"# only a comment", CTL_LEX_COMMENTS, "", ""},
    {"show", 0, "show", "1"},
    {"show\n", 0, "show", "1"},
    {"show\r\n", 0, "show", "1"},
    {"  add-port  vm1\tvhost-user-server ", 0, "add-port|vm1|vhost-user-server", "3,13,17"},
    {"a 'b c' d", 0, "a|b c|d", "1,3,9"},
    {"a \"b c\" d", 0, "a|b c|d", "1,3,9"},
    {"a'b c'd", 0, "ab cd", "1"},
    {"'' x", 0, "|x", "1,4"},
    {"\"\"", 0, "", "1"},
    {"a\\ b", 0, "a b", "1"},
    {"a\\'b", 0, "a'b", "1"},
    {"'a\\b'", 0, "a\\b", "1"},
    {"\"a\\\"b\\\\c\\d\"", 0, "a\"b\\c\\d", "1"},
    {"\"it's\"", 0, "it's", "1"},
    {"'say \"hi\"'", 0, "say \"hi\"", "1"},
    {"set a=1 # trailing comment", CTL_LEX_COMMENTS, "set|a=1", "1,5"},
    {"set a#b", CTL_LEX_COMMENTS, "set|a#b", "1,5"},
    {"set '#x'", CTL_LEX_COMMENTS, "set|#x", "1,5"},
    {"set #x", 0, "set|#x", "1,5"},
    {"caf\xc3\xa9 ok", 0, "caf\xc3\xa9|ok", "1,7"},
};

static void join(const struct ctl_tokens *t, char *toks, size_t tn, char *cols, size_t cn)
{
	size_t a = 0, b = 0;

	toks[0] = cols[0] = '\0';
	for (int i = 0; i < t->n; i++) {
		a += (size_t)snprintf(toks + a, tn - a, "%s%s", i ? "|" : "", t->tok[i].text);
		b += (size_t)snprintf(cols + b, cn - b, "%s%d", i ? "," : "", t->tok[i].column);
		assert_int_equal(strlen(t->tok[i].text), t->tok[i].len);
	}
}

static void test_cases(void **state)
{
	(void)state;
	char toks[256], cols[256];
	struct ctl_tokens t;
	struct ctl_error err;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = ctl_lex(cases[i].in, strlen(cases[i].in), cases[i].flags, &t, &err);
		if (r != 0)
			fail_msg("'%s': %s", cases[i].in, err.msg);
		join(&t, toks, sizeof(toks), cols, sizeof(cols));
		if (strcmp(toks, cases[i].toks) || strcmp(cols, cases[i].cols))
			fail_msg("'%s'\n  got  %s / %s\n  want %s / %s", cases[i].in, toks, cols,
				 cases[i].toks, cases[i].cols);
		ctl_tokens_free(&t);
	}
}

struct lex_bad {
	const char *in;
	size_t len; /* 0: strlen */
	const char *msg;
	int column, token;
};

static const struct lex_bad bads[] = {
    {"set 'abc", 0, "unterminated single quote", 5, 1},
    {"a \"b c", 0, "unterminated double quote", 3, 1},
    {"abc\\", 0, "trailing backslash", 4, 0},
    {"a b\x1b[31m", 0, "control character in line", 4, 1},
    {"a 'b\x7f'", 0, "control character in line", 5, 1},
    {"a\\\x01", 0, "control character in line", 3, 0},
    {"ab\0cd", 5, "NUL byte in line", 3, 0},
    {"a\nb", 0, "control character in line", 2, 0},
};

static void test_errors(void **state)
{
	(void)state;
	struct ctl_tokens t;
	struct ctl_error err;

	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		size_t len = bads[i].len ? bads[i].len : strlen(bads[i].in);
		assert_int_equal(ctl_lex(bads[i].in, len, 0, &t, &err), -EINVAL);
		if (strcmp(err.msg, bads[i].msg) || err.column != bads[i].column ||
		    err.token_index != bads[i].token)
			fail_msg("case %zu: got %d/%d %s", i, err.token_index, err.column, err.msg);
		ctl_tokens_free(&t); /* safe after failure */
	}
}

static void test_limits(void **state)
{
	(void)state;
	struct ctl_tokens t;
	struct ctl_error err;
	char *big = malloc(CTL_LEX_MAX_LINE + 2);

	/* 256 tokens fit, 257 do not. */
	for (int i = 0; i < 257; i++) {
		big[2 * i] = 'x';
		big[2 * i + 1] = ' ';
	}
	assert_int_equal(ctl_lex(big, 2 * 256, 0, &t, &err), 0);
	assert_int_equal(t.n, 256);
	assert_int_equal(t.tok[255].column, 511);
	ctl_tokens_free(&t);
	assert_int_equal(ctl_lex(big, 2 * 257, 0, &t, &err), -EINVAL);
	assert_string_equal(err.msg, "too many tokens (max 256)");
	assert_int_equal(err.column, 513);

	memset(big, 'a', CTL_LEX_MAX_LINE + 1);
	assert_int_equal(ctl_lex(big, CTL_LEX_MAX_LINE, 0, &t, &err), 0);
	assert_int_equal(t.n, 1);
	ctl_tokens_free(&t);
	assert_int_equal(ctl_lex(big, CTL_LEX_MAX_LINE + 1, 0, &t, &err), -EINVAL);
	assert_string_equal(err.msg, "line too long (max 65536 bytes)");
	free(big);
}

/* Columns of bytes inside a token follow quotes and escapes back to the source. */
static void test_inner_columns(void **state)
{
	(void)state;
	struct ctl_tokens t;
	struct ctl_error err;
	const char *line = "add-flow 'ip,'\"nw_\\\"x\"y";

	assert_int_equal(ctl_lex(line, strlen(line), 0, &t, &err), 0);
	assert_int_equal(t.n, 2);
	assert_string_equal(t.tok[1].text, "ip,nw_\"xy");
	/* i p , n w _ " x y (end) at source columns: */
	static const int want[] = {11, 12, 13, 16, 17, 18, 20, 21, 23, 24};
	for (size_t i = 0; i <= t.tok[1].len; i++)
		assert_int_equal(ctl_tok_column(&t, 1, i), want[i]);
	assert_int_equal(ctl_tok_column(&t, 1, 999), 24);
	assert_int_equal(ctl_tok_column(&t, 5, 0), 0);
	ctl_tokens_free(&t);
}

static void test_argv(void **state)
{
	(void)state;
	struct ctl_tokens t;
	struct ctl_error err;
	const char *argv[] = {"add-port", "vm 1", "", "x"};
	const char *bad[] = {"set", "a=\x1b"};

	assert_int_equal(ctl_lex_argv(4, argv, &t, &err), 0);
	assert_int_equal(t.n, 4);
	assert_string_equal(t.tok[1].text, "vm 1");
	assert_int_equal(t.tok[1].column, 10);
	assert_int_equal(t.tok[2].column, 15);
	assert_int_equal(t.tok[3].column, 16);
	assert_int_equal(ctl_tok_column(&t, 1, 3), 13);
	ctl_tokens_free(&t);

	assert_int_equal(ctl_lex_argv(2, bad, &t, &err), -EINVAL);
	assert_int_equal(err.token_index, 1);
	assert_int_equal(err.column, 7);
	assert_int_equal(ctl_lex_argv(0, NULL, &t, &err), 0);
	assert_int_equal(t.n, 0);
	ctl_tokens_free(&t);
	assert_int_equal(ctl_lex_argv(257, argv, &t, &err), -EINVAL);
}

static uint64_t rng = 88172645463325252ull;

static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

/* quote(s) lexes back to exactly s, for random printable strings. */
static void test_quote_round_trip(void **state)
{
	(void)state;
	static const char alphabet[] = "ab/=,:' \"\\#\t$`*?;&|<>()~{}-_.\xc3\xa9";
	char s[64], q[512];
	struct ctl_tokens t;
	struct ctl_error err;

	for (int i = 0; i < 20000; i++) {
		size_t n = rnd(sizeof(s));
		for (size_t j = 0; j < n; j++)
			s[j] = alphabet[rnd(sizeof(alphabet) - 1)];
		s[n] = '\0';
		size_t qn = ctl_lex_quote(s, q, sizeof(q));
		assert_int_equal(qn, strlen(q));
		assert_int_equal(ctl_lex(q, qn, CTL_LEX_COMMENTS, &t, &err), 0);
		if (t.n != 1 || strcmp(t.tok[0].text, s) != 0)
			fail_msg("quote(%s) = %s lexes to %d token(s)", s, q, t.n);
		ctl_tokens_free(&t);
	}
	assert_int_equal(ctl_lex_quote("plain/path=1,2:3", q, sizeof(q)), 16);
	assert_string_equal(q, "plain/path=1,2:3");
	assert_int_equal(ctl_lex_quote("", q, sizeof(q)), 2);
	assert_string_equal(q, "''");
	assert_int_equal(ctl_lex_quote("it's", q, 4), 9);
	assert_string_equal(q, "'it");
}

static void test_error_message(void **state)
{
	(void)state;
	struct ctl_error err;
	char longtok[200];

	ctl_error_set(&err, 3, 7, "tp_dst=99999", 12, "port out of range %d..%d", 0, 65535);
	assert_string_equal(err.msg, "token 'tp_dst=99999': port out of range 0..65535");
	assert_int_equal(err.token_index, 3);
	assert_int_equal(err.column, 7);
	memset(longtok, 'z', sizeof(longtok));
	ctl_error_set(&err, 0, 1, longtok, sizeof(longtok), "too long");
	assert_non_null(strstr(err.msg, "zzz...': too long"));
	ctl_error_set(&err, 0, 1, "a'\\\x01\xff", 5, "x\x1b");
	assert_string_equal(err.msg, "token 'a\\x27\\x5c\\x01\\xff': x?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cases),	  cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_limits),	  cmocka_unit_test(test_inner_columns),
	    cmocka_unit_test(test_argv),	  cmocka_unit_test(test_quote_round_trip),
	    cmocka_unit_test(test_error_message),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
