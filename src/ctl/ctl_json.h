/*
 * ctl_json.h - the control protocol's JSON encoding (docs/control-protocol.md):
 *
 *   request  {"argv": ["add-port", "vm1", "vhost-user-server"], "json": false}
 *   response {"ok": true, "result": <any JSON>}
 *            {"ok": false, "error": "message", "token": N}
 *
 * Pure functions over byte buffers (jansson underneath); framing and sockets
 * belong to the caller. Requests are untrusted: size, nesting depth, argv
 * length and member types are checked before anything else looks at them.
 */
#ifndef RS_CTL_CTL_JSON_H
#define RS_CTL_CTL_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "ctl_cmd.h"

#define CTL_JSON_MAX_REQUEST  65536 /* bytes */
#define CTL_JSON_MAX_DEPTH    8	    /* nesting of arrays/objects in a request */
#define CTL_JSON_MAX_RESPONSE (16u << 20)

/* A decoded request; owns argv and its strings. Free with ctl_json_request_free(). */
struct ctl_request {
	int argc;
	char **argv; /* argc entries then NULL */
	bool json;   /* the client wants "result" as structured JSON, not text */
};

/* A decoded response; owns 'result' (a jansson reference) and 'error'. */
struct ctl_response {
	bool ok;
	json_t *result; /* ok: the result (never NULL: JSON null when absent) */
	char *error;	/* !ok: the message */
	int token;	/* !ok: offending argv index, -1 when none */
};

/*
 * Decodes 'len' bytes (not NUL-terminated; at most CTL_JSON_MAX_REQUEST).
 * "argv" must be a non-empty array of at most CTL_LEX_MAX_TOKENS strings
 * without NUL bytes; "json" is an optional boolean; other members are
 * errors. Returns 0, -EINVAL (err->msg says why, token_index -1) or -ENOMEM.
 */
int ctl_json_decode_request(const char *buf, size_t len, struct ctl_request *req,
			    struct ctl_error *err);
void ctl_json_request_free(struct ctl_request *req);

/*
 * Decode + ctl_lex_argv + ctl_cmd_parse in one step, for the daemon's
 * dispatcher. '*json' receives the request's "json" flag (false on error).
 */
int ctl_json_parse_request(const char *buf, size_t len, ctl_port_resolve_fn *resolve, void *ctx,
			   struct ctl_cmd *cmd, bool *json, struct ctl_error *err);

/*
 * Encoders return a malloc'ed compact JSON text without newlines (the caller
 * frees it, and may frame it with one), or NULL on allocation failure.
 */
char *ctl_json_encode_request(int argc, const char *const *argv, bool json);
/* Takes a reference to 'result' only while encoding; NULL encodes JSON null. */
char *ctl_json_encode_ok(json_t *result);
/*
 * "token" is included when err->token_index >= 0. A message that is not
 * valid UTF-8 is sent with its non-ASCII bytes replaced by '?'.
 */
char *ctl_json_encode_error(const struct ctl_error *err);

/* Client side. Returns 0, -EINVAL (malformed, err->msg says why) or -ENOMEM. */
int ctl_json_decode_response(const char *buf, size_t len, struct ctl_response *resp,
			     struct ctl_error *err);
void ctl_json_response_free(struct ctl_response *resp);

#endif
