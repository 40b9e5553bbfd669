/*
 * ctl_json.c - encode and decode control-protocol messages (see ctl_json.h
 * and docs/control-protocol.md). Owns: the request/response copies it
 * returns.
 */
#include "ctl_json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/*
 * Depth of the deepest array/object in 'buf', counted without parsing so a
 * hostile request cannot make the parser recurse. Brackets inside strings
 * do not count; malformed text is left for jansson to reject.
 */
static int json_depth(const char *buf, size_t len)
{
	int depth = 0, max = 0;
	bool str = false;

	for (size_t i = 0; i < len; i++) {
		char c = buf[i];
		if (str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				str = false;
		} else if (c == '"') {
			str = true;
		} else if (c == '[' || c == '{') {
			max = RS_MAX(max, ++depth);
		} else if (c == ']' || c == '}') {
			depth--;
		}
	}
	return max;
}

void ctl_json_request_free(struct ctl_request *req)
{
	if (!req)
		return;
	for (int i = 0; req->argv && i < req->argc; i++)
		free(req->argv[i]);
	free(req->argv);
	req->argv = NULL;
	req->argc = 0;
}

static int req_fail(struct ctl_request *req, struct ctl_error *err, int tok, const char *msg,
		    const char *detail)
{
	ctl_error_set(err, tok, 0, NULL, 0, "bad request: %s%s%s", msg, detail ? ": " : "",
		      detail ? detail : "");
	ctl_json_request_free(req);
	return -EINVAL;
}

/* Copies the argv array of strings into req. */
static int take_argv(json_t *argv, struct ctl_request *req, struct ctl_error *err)
{
	size_t n = json_array_size(argv);

	if (!json_is_array(argv) || n == 0)
		return req_fail(req, err, -1, "\"argv\" must be a non-empty array of strings",
				NULL);
	if (n > CTL_LEX_MAX_TOKENS)
		return req_fail(req, err, -1, "\"argv\" has too many elements (max 256)", NULL);
	req->argv = calloc(n + 1, sizeof(char *));
	if (!req->argv)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_array_get(argv, i);
		if (!json_is_string(s))
			return req_fail(req, err, (int)i, "\"argv\" elements must be strings",
					NULL);
		size_t sl = json_string_length(s);
		const char *v = json_string_value(s);
		if (strlen(v) != sl) /* not reachable without JSON_ALLOW_NUL; keep the check */
			return req_fail(req, err, (int)i, "NUL in argument", NULL);
		req->argv[i] = strdup(v);
		if (!req->argv[i])
			return -ENOMEM;
		req->argc = (int)i + 1;
	}
	return 0;
}

int ctl_json_decode_request(const char *buf, size_t len, struct ctl_request *req,
			    struct ctl_error *err)
{
	json_error_t je;
	const char *key;
	json_t *v;
	int r = 0;

	memset(req, 0, sizeof(*req));
	if (len > CTL_JSON_MAX_REQUEST)
		return req_fail(req, err, -1, "request too large (max 65536 bytes)", NULL);
	if (json_depth(buf, len) > CTL_JSON_MAX_DEPTH)
		return req_fail(req, err, -1, "request nested too deeply", NULL);
	json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return req_fail(req, err, -1, "invalid JSON", je.text);
	if (!json_is_object(root)) {
		r = req_fail(req, err, -1, "not a JSON object", NULL);
		goto out;
	}
	json_object_foreach(root, key, v)
	{
		if (strcmp(key, "argv") == 0) {
			r = take_argv(v, req, err);
		} else if (strcmp(key, "json") == 0) {
			if (!json_is_boolean(v))
				r = req_fail(req, err, -1, "\"json\" must be true or false", NULL);
			req->json = json_is_true(v);
		} else {
			r = req_fail(req, err, -1, "unknown member", NULL);
		}
		if (r < 0)
			goto out;
	}
	if (!req->argv)
		r = req_fail(req, err, -1, "missing \"argv\"", NULL);
out:
	if (r < 0)
		ctl_json_request_free(req);
	json_decref(root);
	return r;
}

int ctl_json_parse_request(const char *buf, size_t len, ctl_port_resolve_fn *resolve, void *ctx,
			   struct ctl_cmd *cmd, bool *json, struct ctl_error *err)
{
	struct ctl_request req;
	struct ctl_tokens t;

	*json = false;
	memset(cmd, 0, sizeof(*cmd));
	int r = ctl_json_decode_request(buf, len, &req, err);
	if (r < 0)
		return r;
	*json = req.json;
	r = ctl_lex_argv(req.argc, (const char *const *)req.argv, &t, err);
	if (r == 0) {
		r = ctl_cmd_parse(&t, resolve, ctx, cmd, err);
		ctl_tokens_free(&t);
	}
	ctl_json_request_free(&req);
	return r;
}

static char *dump(json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	json_decref(o);
	return s;
}

char *ctl_json_encode_request(int argc, const char *const *argv, bool json)
{
	json_t *arr = json_array();

	if (!arr)
		return NULL;
	for (int i = 0; i < argc; i++) {
		if (json_array_append_new(arr, json_string(argv[i])) < 0) {
			json_decref(arr); /* also a NULL json_string (invalid UTF-8) */
			return NULL;
		}
	}
	return dump(json_pack("{s:o,s:b}", "argv", arr, "json", json));
}

char *ctl_json_encode_ok(json_t *result)
{
	return dump(json_pack("{s:b,s:O}", "ok", 1, "result", result ? result : json_null()));
}

char *ctl_json_encode_error(const struct ctl_error *err)
{
	char safe[sizeof(err->msg)];
	json_t *msg = json_string(err->msg);

	if (!msg) { /* not UTF-8 (a message built outside ctl_error_set): make it ASCII */
		size_t i = 0;
		for (; i < sizeof(safe) - 1 && err->msg[i]; i++)
			safe[i] = (unsigned char)err->msg[i] < 0x7f ? err->msg[i] : '?';
		safe[i] = '\0';
		msg = json_string(safe);
	}
	json_t *o = json_pack("{s:b,s:o}", "ok", 0, "error", msg);

	if (o && err->token_index >= 0 &&
	    json_object_set_new(o, "token", json_integer(err->token_index)) < 0) {
		json_decref(o);
		return NULL;
	}
	return dump(o);
}

void ctl_json_response_free(struct ctl_response *resp)
{
	json_decref(resp->result);
	free(resp->error);
	memset(resp, 0, sizeof(*resp));
	resp->token = -1;
}

static int resp_fail(struct ctl_response *resp, json_t *root, struct ctl_error *err,
		     const char *msg)
{
	ctl_error_set(err, -1, 0, NULL, 0, "bad response: %s", msg);
	json_decref(root);
	ctl_json_response_free(resp);
	return -EINVAL;
}

int ctl_json_decode_response(const char *buf, size_t len, struct ctl_response *resp,
			     struct ctl_error *err)
{
	json_error_t je;

	memset(resp, 0, sizeof(*resp));
	resp->token = -1;
	if (len > CTL_JSON_MAX_RESPONSE)
		return resp_fail(resp, NULL, err, "too large");
	json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return resp_fail(resp, NULL, err, je.text);
	json_t *ok = json_object_get(root, "ok");
	if (!json_is_object(root) || !json_is_boolean(ok))
		return resp_fail(resp, root, err, "missing boolean \"ok\"");
	resp->ok = json_is_true(ok);
	if (resp->ok) {
		json_t *res = json_object_get(root, "result");
		resp->result = json_incref(res ? res : json_null());
	} else {
		json_t *e = json_object_get(root, "error"), *t = json_object_get(root, "token");
		if (!json_is_string(e))
			return resp_fail(resp, root, err, "missing string \"error\"");
		resp->error = strdup(json_string_value(e));
		if (!resp->error) {
			json_decref(root);
			return -ENOMEM;
		}
		if (t && (!json_is_integer(t) || json_integer_value(t) < 0 ||
			  json_integer_value(t) >= CTL_LEX_MAX_TOKENS))
			return resp_fail(resp, root, err, "bad \"token\"");
		if (t)
			resp->token = (int)json_integer_value(t);
	}
	json_decref(root);
	return 0;
}
