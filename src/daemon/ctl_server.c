/*
 * ctl_server.c - the control socket: a unix stream socket (mode 0660) where
 * each connection carries one request line of JSON and gets one response
 * line back (docs/control-protocol.md). Connections are non-blocking and
 * served from the control thread's poll loop; a client that stalls is
 * dropped after CTL_CLIENT_TIMEOUT_MS without holding anything else up.
 */
#include "ctl_server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../ctl/ctl_json.h"
#include "../dp/dp.h"
#include "../lib/log.h"

#define CTL_MAX_CLIENTS	      16
#define CTL_CLIENT_TIMEOUT_MS 5000

struct ctl_client {
	int fd;
	uint64_t deadline_ms;
	size_t len;
	char buf[CTL_JSON_MAX_REQUEST + 1];
};

struct ctl_server {
	int listen_fd;
	char path[108];
	struct sw *sw;
	struct ctl_client *clients[CTL_MAX_CLIENTS];
};

struct ctl_server *ctl_server_open(const char *path, mode_t perm, struct sw *sw)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(addr.sun_path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	struct ctl_server *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->sw = sw;
	snprintf(s->path, sizeof(s->path), "%s", path);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->listen_fd < 0)
		goto fail;
	unlink(path); /* the pid-file lock already proved no other daemon owns this run dir */
	/* Create the socket file with the final mode: no window where others could connect. */
	mode_t old = umask(0777 & ~perm);
	int rc = bind(s->listen_fd, (struct sockaddr *)&addr, sizeof(addr));
	umask(old);
	if (rc || listen(s->listen_fd, 16))
		goto fail;
	return s;
fail:
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	free(s);
	return NULL;
}

static void ctl_client_drop(struct ctl_server *s, unsigned i)
{
	close(s->clients[i]->fd);
	free(s->clients[i]);
	s->clients[i] = NULL;
}

void ctl_server_close(struct ctl_server *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < CTL_MAX_CLIENTS; i++)
		if (s->clients[i])
			ctl_client_drop(s, i);
	close(s->listen_fd);
	unlink(s->path);
	free(s);
}

unsigned ctl_server_pollfds(struct ctl_server *s, struct pollfd *pfd, unsigned max, int *timeout_ms)
{
	unsigned n = 0;
	uint64_t now = dp_now_ms();
	if (max == 0)
		return 0;
	pfd[n++] = (struct pollfd){.fd = s->listen_fd, .events = POLLIN};
	for (unsigned i = 0; i < CTL_MAX_CLIENTS && n < max; i++) {
		struct ctl_client *c = s->clients[i];
		if (!c)
			continue;
		pfd[n++] = (struct pollfd){.fd = c->fd, .events = POLLIN};
		int left = c->deadline_ms > now ? (int)(c->deadline_ms - now) : 0;
		if (*timeout_ms < 0 || left < *timeout_ms)
			*timeout_ms = left;
	}
	return n;
}

static void ctl_accept(struct ctl_server *s)
{
	int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	for (unsigned i = 0; i < CTL_MAX_CLIENTS; i++) {
		if (s->clients[i])
			continue;
		s->clients[i] = calloc(1, sizeof(struct ctl_client));
		if (!s->clients[i])
			break;
		s->clients[i]->fd = fd;
		s->clients[i]->deadline_ms = dp_now_ms() + CTL_CLIENT_TIMEOUT_MS;
		return;
	}
	RS_LOG_RL(RS_LOG_WARN, "ctl", "too many control clients; connection refused");
	close(fd);
}

/* Writes the whole response; the socket is non-blocking, so wait briefly if full. */
static void ctl_send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EAGAIN) {
			struct pollfd p = {.fd = fd, .events = POLLOUT};
			if (poll(&p, 1, 1000) <= 0)
				return;
			continue;
		}
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

static void ctl_serve(struct ctl_server *s, struct ctl_client *c)
{
	struct ctl_cmd cmd;
	struct ctl_error err;
	bool json = false;
	json_t *result = NULL;
	char *out;

	int rc = ctl_json_parse_request(c->buf, c->len, sw_resolve_port, s->sw, &cmd, &json, &err);
	if (rc == 0)
		rc = sw_exec(s->sw, &cmd, json, &result, &err);
	if (rc == 0) {
		out = ctl_json_encode_ok(result);
	} else {
		if (!err.msg[0])
			snprintf(err.msg, sizeof(err.msg), "%s", strerror(-rc));
		out = ctl_json_encode_error(&err);
	}
	json_decref(result);
	if (out) {
		ctl_send_all(c->fd, out, strlen(out));
		ctl_send_all(c->fd, "\n", 1);
		free(out);
	}
}

/* Reads what is there; returns true when the client is finished with. */
static bool ctl_client_read(struct ctl_server *s, struct ctl_client *c)
{
	ssize_t n = recv(c->fd, c->buf + c->len, CTL_JSON_MAX_REQUEST - c->len, 0);
	if (n < 0)
		return errno != EAGAIN && errno != EINTR;
	c->len += (size_t)n;
	char *nl = memchr(c->buf, '\n', c->len);
	if (nl || n == 0) {
		if (nl)
			c->len = (size_t)(nl - c->buf);
		if (c->len)
			ctl_serve(s, c);
		return true;
	}
	if (c->len == CTL_JSON_MAX_REQUEST) {
		static const char big[] = "{\"ok\":false,\"error\":\"request too large\"}\n";
		ctl_send_all(c->fd, big, sizeof(big) - 1);
		return true;
	}
	return false;
}

void ctl_server_handle(struct ctl_server *s, const struct pollfd *pfd, unsigned n)
{
	uint64_t now = dp_now_ms();
	for (unsigned k = 1; k < n; k++) {
		for (unsigned i = 0; i < CTL_MAX_CLIENTS; i++) {
			struct ctl_client *c = s->clients[i];
			if (!c || c->fd != pfd[k].fd)
				continue;
			if ((pfd[k].revents & (POLLIN | POLLHUP | POLLERR)) &&
			    ctl_client_read(s, c))
				ctl_client_drop(s, i);
			break;
		}
	}
	for (unsigned i = 0; i < CTL_MAX_CLIENTS; i++)
		if (s->clients[i] && s->clients[i]->deadline_ms <= now)
			ctl_client_drop(s, i);
	if (n > 0 && (pfd[0].revents & POLLIN))
		ctl_accept(s);
}
