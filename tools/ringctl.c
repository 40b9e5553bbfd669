/*
 * ringctl.c - the command-line client of ringswitchd: sends its arguments as
 * one JSON request over the control socket and prints the reply (text, or
 * the JSON result with --json). On an error it prints the daemon's message
 * and, when the daemon names a token, the command line with a caret under it.
 *
 * Contract: ringctl [--run-dir DIR | --socket PATH] [--json] [--timeout SECS] COMMAND...
 * Exit status: 0 ok, 1 the daemon refused the command, 2 usage or connection error.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl/ctl_json.h"

#define RINGCTL_DEFAULT_RUN_DIR "/run/ringswitch"

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: ringctl [--run-dir DIR | --socket PATH] [--json] [--timeout SECS] COMMAND...\n"
	    "commands:\n"
	    "  show | pmd-show | port-stats [PORT] | dump-flows [MATCH] | fdb-show\n"
	    "  add-port NAME TYPE [key=value...]   TYPE: vhost-user-server | vhost-user-client | "
	    "tap\n"
	    "  del-port NAME | set-port NAME key=value... | set key=value...\n"
	    "  add-flow 'priority=N,MATCH,actions=ACTIONS' | del-flows [--strict] [MATCH]\n"
	    "  fdb-flush [PORT] | reload\n");
}

static int ctl_connect(const char *path, int timeout_ms)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "ringctl: socket path too long: %s\n", path);
		return -1;
	}
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		fprintf(stderr, "ringctl: cannot connect to %s: %s (is ringswitchd running?)\n",
			path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads one response line; returns a malloc'ed buffer or NULL. */
static char *recv_line(int fd, size_t *len)
{
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		if (n == cap) {
			if (cap >= CTL_JSON_MAX_RESPONSE)
				break;
			char *nb = realloc(buf, cap * 2);
			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		ssize_t r = recv(fd, buf + n, cap - n, 0);
		if (r <= 0)
			break;
		char *nl = memchr(buf + n, '\n', (size_t)r);
		n += (size_t)r;
		if (nl) {
			*len = (size_t)(nl - buf);
			return buf;
		}
	}
	free(buf);
	return NULL;
}

/* Prints the command with a caret under argv[token]. */
static void point_at(int argc, char **argv, int token)
{
	size_t col = 0, at = 0;
	fprintf(stderr, "  ringctl");
	col = strlen("  ringctl");
	for (int i = 0; i < argc; i++) {
		fprintf(stderr, " %s", argv[i]);
		if (i == token)
			at = col + 1;
		col += 1 + strlen(argv[i]);
	}
	fprintf(stderr, "\n%*s^\n", (int)at, "");
}

static int print_response(const char *buf, size_t len, int argc, char **argv, bool json)
{
	struct ctl_response resp;
	struct ctl_error err;
	if (ctl_json_decode_response(buf, len, &resp, &err)) {
		fprintf(stderr, "ringctl: bad response from the daemon: %s\n", err.msg);
		return 2;
	}
	int rc = 0;
	if (!resp.ok) {
		fprintf(stderr, "ringctl: error: %s\n", resp.error);
		if (resp.token >= 0 && resp.token < argc)
			point_at(argc, argv, resp.token);
		rc = 1;
	} else if (json_is_string(resp.result) && !json) {
		fputs(json_string_value(resp.result), stdout);
	} else if (!json_is_null(resp.result)) {
		char *s = json_dumps(resp.result, JSON_INDENT(2) | JSON_ENCODE_ANY);
		if (s)
			printf("%s\n", s);
		free(s);
	}
	ctl_json_response_free(&resp);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"run-dir", required_argument, NULL, 'r'}, {"socket", required_argument, NULL, 's'},
	    {"json", no_argument, NULL, 'j'},	       {"timeout", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},	       {NULL, 0, NULL, 0}};
	const char *run_dir = RINGCTL_DEFAULT_RUN_DIR, *sock = NULL;
	bool json = false;
	int timeout_s = 30, c;
	char path[4096];

	/* '+': stop at the first non-option, so "del-flows --strict" reaches the daemon. */
	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			run_dir = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 't':
			timeout_s = atoi(optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc || timeout_s <= 0) {
		usage(stderr);
		return 2;
	}
	if (!sock) {
		snprintf(path, sizeof(path), "%s/ctl.sock", run_dir);
		sock = path;
	}
	char *req =
	    ctl_json_encode_request(argc - optind, (const char *const *)argv + optind, json);
	int fd = req ? ctl_connect(sock, timeout_s * 1000) : -1;
	if (fd < 0) {
		free(req);
		return 2;
	}
	size_t len = 0;
	char *resp = NULL;
	if (send_all(fd, req, strlen(req)) == 0 && send_all(fd, "\n", 1) == 0)
		resp = recv_line(fd, &len);
	close(fd);
	free(req);
	if (!resp) {
		fprintf(stderr, "ringctl: no response from %s\n", sock);
		return 2;
	}
	int rc = print_response(resp, len, argc - optind, argv + optind, json);
	free(resp);
	return rc;
}
