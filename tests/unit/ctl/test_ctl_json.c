/*
 * test_ctl_json.c - the control protocol: request decode (good and every
 * rejection: size, depth, types, members, NUL), decode + command parse with
 * the token index kept, encoders and the response decoder, and
 * encode -> decode round trips.
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

#include "ctl/ctl_json.h"

static void test_decode_good(void **state)
{
	(void)state;
	struct ctl_request req;
	struct ctl_error err;
	const char *s = "{\"argv\": [\"add-port\",\"vm1\",\"vhost-user-server\",\"queues=2\"],"
			" \"json\": true}";

	assert_int_equal(ctl_json_decode_request(s, strlen(s), &req, &err), 0);
	assert_int_equal(req.argc, 4);
	assert_string_equal(req.argv[0], "add-port");
	assert_string_equal(req.argv[3], "queues=2");
	assert_null(req.argv[4]);
	assert_true(req.json);
	ctl_json_request_free(&req);
	ctl_json_request_free(&req);

	s = "  {\"argv\":[\"show\"]}\n";
	assert_int_equal(ctl_json_decode_request(s, strlen(s), &req, &err), 0);
	assert_int_equal(req.argc, 1);
	assert_false(req.json);
	ctl_json_request_free(&req);

	s = "{\"argv\":[\"add-port\",\"caf\\u00e9\",\"x\\ty\"]}";
	assert_int_equal(ctl_json_decode_request(s, strlen(s), &req, &err), 0);
	assert_string_equal(req.argv[1], "caf\xc3\xa9");
	assert_string_equal(req.argv[2], "x\ty");
	ctl_json_request_free(&req);
}

struct bad_req {
	const char *in;
	const char *msg; /* prefix of the expected message */
	int token;
};

static const struct bad_req bads[] = {
    {"", "bad request: invalid JSON", -1},
    {"{", "bad request: invalid JSON", -1},
    {"[\"show\"]", "bad request: not a JSON object", -1},
    {"\"show\"", "bad request: invalid JSON", -1},
    {"{}", "bad request: missing \"argv\"", -1},
    {"{\"json\":true}", "bad request: missing \"argv\"", -1},
    {"{\"argv\":[]}", "bad request: \"argv\" must be a non-empty array of strings", -1},
    {"{\"argv\":\"show\"}", "bad request: \"argv\" must be a non-empty array of strings", -1},
    {"{\"argv\":[\"show\",1]}", "bad request: \"argv\" elements must be strings", 1},
    {"{\"argv\":[\"show\",[\"x\"]]}", "bad request: \"argv\" elements must be strings", 1},
    {"{\"argv\":[\"show\"],\"json\":1}", "bad request: \"json\" must be true or false", -1},
    {"{\"argv\":[\"show\"],\"user\":\"root\"}", "bad request: unknown member", -1},
    {"{\"argv\":[\"show\"],\"argv\":[\"show\"]}", "bad request: invalid JSON", -1},
    {"{\"argv\":[\"a\\u0000b\"]}", "bad request: invalid JSON", -1},
    {"{\"argv\":[\"\xff\"]}", "bad request: invalid JSON", -1},
    {"{\"argv\":[\"show\"]} {}", "bad request: invalid JSON", -1},
    {"{\"argv\":[\"show\"],\"x\":[[[[[[[[[1]]]]]]]]]}", "bad request: request nested too deeply",
     -1},
};

static void test_decode_bad(void **state)
{
	(void)state;
	struct ctl_request req;
	struct ctl_error err;

	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		int r = ctl_json_decode_request(bads[i].in, strlen(bads[i].in), &req, &err);
		if (r != -EINVAL || strncmp(err.msg, bads[i].msg, strlen(bads[i].msg)) ||
		    err.token_index != bads[i].token)
			fail_msg("'%s': got %d tok %d %s", bads[i].in, r, err.token_index, err.msg);
		assert_null(req.argv);
		assert_int_equal(req.argc, 0);
	}
}

static void test_limits(void **state)
{
	(void)state;
	struct ctl_request req;
	struct ctl_error err;
	char *buf = malloc(CTL_JSON_MAX_REQUEST + 64);
	size_t n;

	/* Exactly the size limit is accepted; one byte more is not. */
	n = (size_t)snprintf(buf, 64, "{\"argv\":[\"set\",\"");
	memset(buf + n, 'a', CTL_JSON_MAX_REQUEST - n - 3);
	memcpy(buf + CTL_JSON_MAX_REQUEST - 3, "\"]}", 3);
	assert_int_equal(ctl_json_decode_request(buf, CTL_JSON_MAX_REQUEST, &req, &err), 0);
	ctl_json_request_free(&req);
	assert_int_equal(ctl_json_decode_request(buf, CTL_JSON_MAX_REQUEST + 1, &req, &err),
			 -EINVAL);
	assert_string_equal(err.msg, "bad request: request too large (max 65536 bytes)");

	/* 256 arguments fit, 257 do not. */
	n = (size_t)snprintf(buf, 64, "{\"argv\":[");
	for (int i = 0; i < 257; i++)
		n += (size_t)snprintf(buf + n, 16, "%s\"x\"", i ? "," : "");
	memcpy(buf + n, "]}", 3);
	assert_int_equal(ctl_json_decode_request(buf, n + 2, &req, &err), -EINVAL);
	assert_string_equal(err.msg, "bad request: \"argv\" has too many elements (max 256)");
	memcpy(buf + n - 4, "]}", 3);
	assert_int_equal(ctl_json_decode_request(buf, n - 2, &req, &err), 0);
	assert_int_equal(req.argc, 256);
	ctl_json_request_free(&req);

	/* Deep nesting is refused before the parser sees it; brackets in strings do not count. */
	n = (size_t)snprintf(buf, 64, "{\"argv\":[\"show\"],\"x\":");
	for (int i = 0; i < 10000; i++)
		buf[n++] = '[';
	assert_int_equal(ctl_json_decode_request(buf, n, &req, &err), -EINVAL);
	assert_string_equal(err.msg, "bad request: request nested too deeply");
	const char *s = "{\"argv\":[\"[[[[[[[[[[[[\\\"[[[[[[[\"]}";
	assert_int_equal(ctl_json_decode_request(s, strlen(s), &req, &err), 0);
	ctl_json_request_free(&req);
	free(buf);
}

static void test_parse_request(void **state)
{
	(void)state;
	struct ctl_cmd cmd;
	struct ctl_error err;
	bool json;
	const char *s = "{\"argv\":[\"add-port\",\"vm1\",\"tap\",\"queues=99\"],\"json\":true}";

	assert_int_equal(ctl_json_parse_request(s, strlen(s), NULL, NULL, &cmd, &json, &err),
			 -EINVAL);
	assert_true(json);
	assert_int_equal(err.token_index, 3);
	assert_int_equal(err.column, 25); /* as if joined by spaces */
	assert_string_equal(err.msg, "token 'queues=99': queues out of range 1..16");
	char *resp = ctl_json_encode_error(&err);
	assert_string_equal(resp,
			    "{\"ok\":false,\"error\":\"token 'queues=99': queues out of range "
			    "1..16\",\"token\":3}");
	free(resp);

	s = "{\"argv\":[\"add-flow\",\"priority=7,tcp,tp_dst=22,actions=normal\"]}";
	assert_int_equal(ctl_json_parse_request(s, strlen(s), NULL, NULL, &cmd, &json, &err), 0);
	assert_false(json);
	assert_int_equal(cmd.verb, CTL_ADD_FLOW);
	assert_int_equal(cmd.u.flow.priority, 7);

	s = "{\"argv\":[\"set\",\"log-level=\\u001b[31m\"]}";
	assert_int_equal(ctl_json_parse_request(s, strlen(s), NULL, NULL, &cmd, &json, &err),
			 -EINVAL);
	assert_int_equal(err.token_index, 1);
	assert_string_equal(err.msg, "argument 1: control character");

	s = "{\"argv\":[\"show\"";
	assert_int_equal(ctl_json_parse_request(s, strlen(s), NULL, NULL, &cmd, &json, &err),
			 -EINVAL);
	assert_int_equal(cmd.verb, CTL_VERB_NONE);
}

static void test_encode(void **state)
{
	(void)state;
	const char *argv[] = {"add-port", "vm \"1\"", "tap"};
	struct ctl_request req;
	struct ctl_error err;

	char *s = ctl_json_encode_request(3, argv, true);
	assert_string_equal(s, "{\"argv\":[\"add-port\",\"vm \\\"1\\\"\",\"tap\"],\"json\":true}");
	assert_int_equal(ctl_json_decode_request(s, strlen(s), &req, &err), 0);
	assert_int_equal(req.argc, 3);
	assert_string_equal(req.argv[1], "vm \"1\"");
	assert_true(req.json);
	ctl_json_request_free(&req);
	free(s);
	const char *bad[] = {"\xff"};
	assert_null(ctl_json_encode_request(1, bad, false)); /* not UTF-8 */

	s = ctl_json_encode_ok(NULL);
	assert_string_equal(s, "{\"ok\":true,\"result\":null}");
	free(s);
	json_t *res = json_pack("{s:[i,i],s:s}", "ports", 1, 2, "text", "a\nb");
	s = ctl_json_encode_ok(res);
	assert_string_equal(s, "{\"ok\":true,\"result\":{\"ports\":[1,2],\"text\":\"a\\nb\"}}");
	assert_null(strchr(s, '\n'));	    /* newline framing stays possible */
	assert_int_equal(res->refcount, 1); /* the caller's reference is untouched */
	json_decref(res);

	struct ctl_response resp;
	assert_int_equal(ctl_json_decode_response(s, strlen(s), &resp, &err), 0);
	assert_true(resp.ok);
	assert_int_equal(
	    json_integer_value(json_array_get(json_object_get(resp.result, "ports"), 1)), 2);
	ctl_json_response_free(&resp);
	free(s);

	struct ctl_error e = {.token_index = -1};
	snprintf(e.msg, sizeof(e.msg), "no such port");
	s = ctl_json_encode_error(&e);
	assert_string_equal(s, "{\"ok\":false,\"error\":\"no such port\"}");
	assert_int_equal(ctl_json_decode_response(s, strlen(s), &resp, &err), 0);
	assert_false(resp.ok);
	assert_string_equal(resp.error, "no such port");
	assert_int_equal(resp.token, -1);
	ctl_json_response_free(&resp);
	free(s);
}

/* Found by fuzz_ctl_json: a parse error quoting invalid UTF-8 must still encode. */
static void test_error_not_utf8(void **state)
{
	(void)state;
	static const char req[] = "{\"a\\\xcb\x84\x00\x80`\x00\x00rgv\":[\"set-port\"]}";
	struct ctl_cmd cmd;
	struct ctl_error err;
	bool json;

	assert_int_equal(
	    ctl_json_parse_request(req, sizeof(req) - 1, NULL, NULL, &cmd, &json, &err), -EINVAL);
	char *s = ctl_json_encode_error(&err);
	assert_non_null(s);
	free(s);

	struct ctl_error e = {.token_index = 0};
	snprintf(e.msg, sizeof(e.msg), "port 'caf\xc3\xa9' and 'bad\xff'");
	s = ctl_json_encode_error(&e);
	assert_string_equal(s, "{\"ok\":false,\"error\":\"port 'caf?\?' and 'bad?'\",\"token\":0}");
	free(s);
	snprintf(e.msg, sizeof(e.msg), "port 'caf\xc3\xa9'");
	s = ctl_json_encode_error(&e);
	assert_string_equal(s, "{\"ok\":false,\"error\":\"port 'caf\xc3\xa9'\",\"token\":0}");
	free(s);
}

static void test_decode_response_bad(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "",
	    "[]",
	    "{}",
	    "{\"ok\":1}",
	    "{\"ok\":false}",
	    "{\"ok\":false,\"error\":3}",
	    "{\"ok\":false,\"error\":\"x\",\"token\":-1}",
	    "{\"ok\":false,\"error\":\"x\",\"token\":\"1\"}",
	    "{\"ok\":false,\"error\":\"x\",\"token\":99999}",
	};
	struct ctl_response resp;
	struct ctl_error err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(ctl_json_decode_response(bad[i], strlen(bad[i]), &resp, &err),
				 -EINVAL);
		assert_null(resp.result);
		assert_null(resp.error);
	}
	const char *s = "{\"ok\":false,\"error\":\"x\",\"token\":2}";
	assert_int_equal(ctl_json_decode_response(s, strlen(s), &resp, &err), 0);
	assert_int_equal(resp.token, 2);
	ctl_json_response_free(&resp);
	s = "{\"ok\":true}";
	assert_int_equal(ctl_json_decode_response(s, strlen(s), &resp, &err), 0);
	assert_true(json_is_null(resp.result));
	ctl_json_response_free(&resp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_decode_good),	   cmocka_unit_test(test_decode_bad),
	    cmocka_unit_test(test_limits),	   cmocka_unit_test(test_parse_request),
	    cmocka_unit_test(test_encode),	   cmocka_unit_test(test_decode_response_bad),
	    cmocka_unit_test(test_error_not_utf8),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
