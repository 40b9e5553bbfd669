/*
 * metrics_http.c - the /metrics HTTP server (metrics_http.h): listening
 * sockets bound by us (so a bind failure has its errno), handed to a
 * libmicrohttpd daemon in external-polling epoll mode; GET /metrics answers
 * with the page source's text, anything else with 404 or 405. Owns the MHD
 * daemons (the one served and, between prepare and commit, the one
 * prepared) and their sockets.
 */
#include "metrics_http.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../ctl/ctl_cmd.h"
#include "../lib/log.h"

#define MH_MAX_CONNECTIONS 32	      /* every client together */
#define MH_MAX_PER_IP	   16	      /* one address (a Prometheus pair scrapes with 2) */
#define MH_TIMEOUT_S	   10	      /* an idle connection is closed after this */
#define MH_MEMORY_LIMIT	   (32 << 10) /* request headers and buffers, per connection */
#define MH_BACKLOG	   16
#define MH_CONTENT_TYPE	   "text/plain; version=0.0.4; charset=utf-8"

struct metrics_http {
	struct MHD_Daemon *serving;  /* NULL: off */
	struct MHD_Daemon *prepared; /* valid while has_prepared (NULL: off) */
	bool has_prepared;
	metrics_http_page_fn *page;
	void *page_ctx;
};

static void mh_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];
	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	/* Clients can trigger these (limits reached, bad requests): rate-limited. */
	RS_LOG_RL(RS_LOG_INFO, "metrics", "http: %s", msg);
}

static enum MHD_Result mh_reply(struct MHD_Connection *c, unsigned status, char *body, size_t len,
				enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	if (!r) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO; /* MHD closes the connection */
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				status == MHD_HTTP_OK ? MH_CONTENT_TYPE : "text/plain");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static char mh_not_found[] = "ringswitch: metrics are at /metrics\n";
static char mh_not_allowed[] = "ringswitch: GET or HEAD only\n";
static char mh_failed[] = "ringswitch: out of memory\n";

/* Answers as soon as the headers are in: no request of ours has a body. */
static enum MHD_Result mh_access(void *cls, struct MHD_Connection *c, const char *url,
				 const char *method, const char *version, const char *upload,
				 size_t *upload_size, void **con_cls)
{
	struct metrics_http *m = cls;
	size_t len = 0;
	(void)version, (void)upload, (void)upload_size, (void)con_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return mh_reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, mh_not_allowed,
				sizeof(mh_not_allowed) - 1, MHD_RESPMEM_PERSISTENT);
	if (strcmp(url, "/metrics"))
		return mh_reply(c, MHD_HTTP_NOT_FOUND, mh_not_found, sizeof(mh_not_found) - 1,
				MHD_RESPMEM_PERSISTENT);
	char *page = m->page ? m->page(m->page_ctx, &len) : NULL;
	if (!page)
		return mh_reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, mh_failed, sizeof(mh_failed) - 1,
				MHD_RESPMEM_PERSISTENT);
	return mh_reply(c, MHD_HTTP_OK, page, len, MHD_RESPMEM_MUST_FREE);
}

/* A listening socket on 'addr': the fd, or -errno with 'why' set. */
static int mh_listen(const char *addr, char *why, size_t cap)
{
	struct sockaddr_storage ss;
	socklen_t len;
	const char *bad;
	int one = 1, rc;
	if (ctl_listen_parse(addr, strlen(addr), &ss, &len, NULL, &bad)) {
		snprintf(why, cap, "%s", bad);
		return -EINVAL;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		snprintf(why, cap, "cannot create a socket: %s", strerror(errno));
		return rc;
	}
	/* SO_REUSEADDR: a restart may bind while old connections linger in TIME_WAIT. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&ss, len) || listen(fd, MH_BACKLOG)) {
		rc = -errno;
		snprintf(why, cap, "cannot listen: %s", strerror(errno));
		close(fd);
		return rc;
	}
	return fd;
}

static void mh_abort(void *ctx)
{
	struct metrics_http *m = ctx;
	if (m->prepared)
		MHD_stop_daemon(m->prepared);
	m->prepared = NULL;
	m->has_prepared = false;
}

static int mh_prepare(void *ctx, const char *addr, char *why, size_t cap)
{
	struct metrics_http *m = ctx;
	mh_abort(m);
	m->has_prepared = true;
	if (!addr[0])
		return 0; /* off: nothing to bind */
	int fd = mh_listen(addr, why, cap);
	if (fd < 0) {
		m->has_prepared = false;
		return fd;
	}
	m->prepared = MHD_start_daemon(
	    MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, mh_access, m,
	    MHD_OPTION_EXTERNAL_LOGGER, mh_log, m, MHD_OPTION_LISTEN_SOCKET, fd,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)MH_MAX_CONNECTIONS,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)MH_MAX_PER_IP,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)MH_TIMEOUT_S,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)MH_MEMORY_LIMIT, MHD_OPTION_END);
	if (!m->prepared) {
		/* Whether MHD closed the socket on its way out depends on where it failed. */
		if (fcntl(fd, F_GETFD) >= 0)
			close(fd);
		m->has_prepared = false;
		snprintf(why, cap, "cannot start the HTTP server (libmicrohttpd)");
		return -ENOMEM;
	}
	return 0;
}

static void mh_commit(void *ctx)
{
	struct metrics_http *m = ctx;
	if (!m->has_prepared)
		return;
	if (m->serving)
		MHD_stop_daemon(m->serving); /* closes its clients and its socket */
	m->serving = m->prepared;
	m->prepared = NULL;
	m->has_prepared = false;
}

const struct sw_listener_ops metrics_http_listener = {
    .prepare = mh_prepare,
    .commit = mh_commit,
    .abort = mh_abort,
};

struct metrics_http *metrics_http_new(metrics_http_page_fn *page, void *ctx)
{
	struct metrics_http *m = calloc(1, sizeof(*m));
	if (m)
		metrics_http_set_page(m, page, ctx);
	return m;
}

void metrics_http_set_page(struct metrics_http *m, metrics_http_page_fn *page, void *ctx)
{
	m->page = page;
	m->page_ctx = ctx;
}

void metrics_http_free(struct metrics_http *m)
{
	if (!m)
		return;
	mh_abort(m);
	if (m->serving)
		MHD_stop_daemon(m->serving);
	free(m);
}

unsigned metrics_http_pollfds(struct metrics_http *m, struct pollfd *pfd, unsigned max,
			      int *timeout_ms)
{
	MHD_UNSIGNED_LONG_LONG to;
	if (!m->serving || max == 0)
		return 0;
	const union MHD_DaemonInfo *i = MHD_get_daemon_info(m->serving, MHD_DAEMON_INFO_EPOLL_FD);
	if (!i)
		return 0;
	pfd[0] = (struct pollfd){.fd = i->epoll_fd, .events = POLLIN};
	if (MHD_get_timeout(m->serving, &to) == MHD_YES) {
		int t = to > INT_MAX ? INT_MAX : (int)to;
		if (*timeout_ms < 0 || t < *timeout_ms)
			*timeout_ms = t;
	}
	return 1;
}

void metrics_http_handle(struct metrics_http *m)
{
	if (m->serving)
		MHD_run(m->serving);
}
