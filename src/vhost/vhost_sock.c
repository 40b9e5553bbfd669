/*
 * vhost_sock.c - the vhost-user unix socket of one device (vhost_sock.h):
 * listening or connecting with backoff, framing messages with their
 * SCM_RIGHTS fds, handing them to vhost_dev_handle and sending replies. Owns
 * the listening socket, the connection, the socket file (server mode) and
 * the fds of a message still being received.
 *
 * Partial messages: the connection is non-blocking and a message is
 * assembled across as many readable events as it takes (header first, then
 * hdr.size payload bytes), with the fds collected on the way. A front-end
 * that sends half a message and stalls therefore holds only its own
 * connection and one message buffer; the control thread never waits on it,
 * and no timer is needed to protect the other ports. A header announcing
 * more than VHOST_USER_PAYLOAD_MAX bytes cannot be resynchronised and drops
 * the connection.
 */
#include "vhost_sock.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../lib/log.h"

#define LOG_MOD "vhost_sock"

#define SOCK_DEFAULT_PERM    0660
#define SOCK_DEFAULT_MIN_MS  100
#define SOCK_DEFAULT_MAX_MS  5000
#define SOCK_BACKLOG	     4
#define SOCK_MSGS_PER_HANDLE 64 /* fairness between ports sharing the control thread */

struct vhost_sock {
	struct vhost_sock_cfg cfg; /* cfg.path points at 'path' */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct vhost_dev *dev;
	int listen_fd; /* server mode */
	int conn_fd;   /* the front-end, -1 when none */
	/* Client mode reconnection. */
	uint64_t next_attempt_ms; /* 0: due now */
	uint32_t backoff_ms;
	/* The message being received. */
	size_t have; /* bytes of header + payload received */
	int fds[VHOST_USER_MAX_FDS];
	unsigned nfds;
	struct vhost_user_msg msg;
	struct vhost_user_msg reply;
};

static void sock_drop_fds(struct vhost_sock *s)
{
	for (unsigned i = 0; i < s->nfds; i++)
		close(s->fds[i]);
	s->nfds = 0;
	s->have = 0;
}

static int sock_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return 0;
}

/* A non-blocking connect to 'path': the connected fd, or a negative errno. */
static int sock_connect(const char *path)
{
	struct sockaddr_un sa;
	int rc = sock_addr(path, &sa);

	if (rc < 0)
		return rc;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/*
	 * A unix-socket connect completes at once or fails (EAGAIN when the
	 * listener's backlog is full): it never leaves a connection in progress,
	 * so there is nothing to wait for with POLLOUT.
	 */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

static void sock_disconnect(struct vhost_sock *s, uint64_t now_ms, const char *why)
{
	if (s->conn_fd < 0)
		return;
	RS_LOG(RS_LOG_INFO, LOG_MOD, "%s: front-end disconnected (%s)", vhost_dev_name(s->dev),
	       why);
	sock_drop_fds(s);
	close(s->conn_fd);
	s->conn_fd = -1;
	vhost_dev_disconnect(s->dev);
	if (s->cfg.mode == VHOST_SOCK_CLIENT)
		s->next_attempt_ms = now_ms + s->backoff_ms;
}

/* ---- server mode -------------------------------------------------------- */

/*
 * An existing file at 'path' is removed only when it is a socket nobody
 * listens on (a previous run's leftover); anything else is -EEXIST, a live
 * socket -EADDRINUSE.
 */
static int sock_remove_stale(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	int fd = sock_connect(path);
	if (fd >= 0) {
		close(fd);
		return -EADDRINUSE;
	}
	if (fd != -ECONNREFUSED)
		return fd;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static int sock_listen(struct vhost_sock *s)
{
	struct sockaddr_un sa;
	int rc = sock_addr(s->path, &sa);

	if (rc < 0)
		return rc;
	rc = sock_remove_stale(s->path);
	if (rc < 0)
		return rc;
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->listen_fd < 0)
		return -errno;
	if (bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto fail;
	/*
	 * Between bind and chmod the file has umask permissions; the caller's
	 * directory permissions are what keeps strangers out of that window.
	 */
	if (chmod(s->path, s->cfg.perm) < 0)
		goto fail_unlink;
	if ((s->cfg.owner != (uid_t)-1 || s->cfg.group != (gid_t)-1) &&
	    chown(s->path, s->cfg.owner, s->cfg.group) < 0)
		goto fail_unlink;
	if (listen(s->listen_fd, SOCK_BACKLOG) < 0)
		goto fail_unlink;
	return 0;

fail_unlink:
	rc = -errno;
	unlink(s->path);
	goto out;
fail:
	rc = -errno;
out:
	close(s->listen_fd);
	s->listen_fd = -1;
	return rc;
}

static void sock_accept(struct vhost_sock *s)
{
	int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR)
			RS_LOG_RL(RS_LOG_WARN, LOG_MOD, "%s: accept: %s", vhost_dev_name(s->dev),
				  strerror(errno));
		return;
	}
	if (s->conn_fd >= 0) {
		RS_LOG_RL(RS_LOG_WARN, LOG_MOD,
			  "%s: second front-end refused: one is already connected",
			  vhost_dev_name(s->dev));
		close(fd);
		return;
	}
	s->conn_fd = fd;
	RS_LOG(RS_LOG_INFO, LOG_MOD, "%s: front-end connected", vhost_dev_name(s->dev));
}

/* ---- client mode -------------------------------------------------------- */

static void sock_try_connect(struct vhost_sock *s, uint64_t now_ms)
{
	int fd = sock_connect(s->path);

	if (fd < 0) {
		s->next_attempt_ms = now_ms + s->backoff_ms;
		s->backoff_ms = RS_MIN(s->backoff_ms * 2, s->cfg.reconnect_max_ms);
		return;
	}
	s->conn_fd = fd;
	s->backoff_ms = s->cfg.reconnect_min_ms;
	RS_LOG(RS_LOG_INFO, LOG_MOD, "%s: connected to %s", vhost_dev_name(s->dev), s->path);
}

/* ---- messages ----------------------------------------------------------- */

/* Collects SCM_RIGHTS fds; false when they do not fit (all received ones are closed). */
static bool sock_take_fds(struct vhost_sock *s, struct msghdr *mh)
{
	bool ok = !(mh->msg_flags & MSG_CTRUNC);

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		unsigned n = (unsigned)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		int *p = (int *)CMSG_DATA(c);
		for (unsigned i = 0; i < n; i++) {
			int fd;
			memcpy(&fd, &p[i], sizeof(fd));
			if (s->nfds < VHOST_USER_MAX_FDS)
				s->fds[s->nfds++] = fd;
			else {
				close(fd);
				ok = false;
			}
		}
	}
	return ok;
}

/* How many bytes the message being received has in all, once its header is in. */
static size_t sock_msg_len(const struct vhost_sock *s)
{
	size_t len = sizeof(s->msg.hdr);

	return s->have >= len ? len + s->msg.hdr.size : len;
}

/* Reads toward a full message: 1 when complete, 0 when more must arrive, <0 to drop. */
static int sock_read_msg(struct vhost_sock *s, const char **why)
{
	union {
		char buf[CMSG_SPACE(VHOST_USER_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} ctl;

	for (;;) {
		if (s->have >= sizeof(s->msg.hdr) && s->msg.hdr.size > VHOST_USER_PAYLOAD_MAX) {
			*why = "payload size above the maximum";
			return -EBADMSG;
		}
		size_t want = sock_msg_len(s);
		if (s->have == want)
			return 1;
		struct iovec iov = {(uint8_t *)&s->msg + s->have, want - s->have};
		struct msghdr mh = {.msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = ctl.buf,
				    .msg_controllen = sizeof(ctl.buf)};
		ssize_t n = recvmsg(s->conn_fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			*why = strerror(errno);
			return -errno;
		}
		if (!sock_take_fds(s, &mh)) {
			*why = "too many fds or truncated control data";
			return -EBADMSG;
		}
		if (n == 0) {
			*why = s->have ? "closed in the middle of a message" : "closed";
			return -ECONNRESET;
		}
		s->have += (size_t)n;
	}
}

static int sock_send_reply(struct vhost_sock *s)
{
	size_t len = sizeof(s->reply.hdr) + s->reply.hdr.size;
	ssize_t n = send(s->conn_fd, &s->reply, len, MSG_NOSIGNAL | MSG_DONTWAIT);

	/* A reply is tiny: a peer whose socket buffer is full is not reading. */
	return n == (ssize_t)len ? 0 : -EIO;
}

static void sock_read(struct vhost_sock *s, uint64_t now_ms)
{
	const char *why = "error";

	for (unsigned i = 0; i < SOCK_MSGS_PER_HANDLE && s->conn_fd >= 0; i++) {
		int rc = sock_read_msg(s, &why);
		if (rc == 0)
			return;
		if (rc < 0)
			goto drop;
		unsigned nfds = s->nfds;
		s->nfds = 0;
		s->have = 0;
		rc = vhost_dev_handle(s->dev, &s->msg, s->fds, nfds, &s->reply);
		if (rc < 0) {
			why = "protocol state beyond repair";
			goto drop;
		}
		if (rc > 0 && sock_send_reply(s) < 0) {
			why = "reply not sent";
			goto drop;
		}
	}
	return;
drop:
	sock_disconnect(s, now_ms, why);
}

/* ---- API ---------------------------------------------------------------- */

struct vhost_sock *vhost_sock_open(const struct vhost_sock_cfg *cfg, struct vhost_dev *dev)
{
	struct vhost_sock *s;
	int rc = -EINVAL;

	if (cfg == NULL || cfg->path == NULL || dev == NULL)
		goto fail;
	rc = -ENAMETOOLONG;
	if (strlen(cfg->path) >= sizeof(s->path))
		goto fail;
	rc = -ENOMEM;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		goto fail;
	strcpy(s->path, cfg->path);
	s->cfg = *cfg;
	s->cfg.path = s->path;
	if (s->cfg.perm == 0)
		s->cfg.perm = SOCK_DEFAULT_PERM;
	if (s->cfg.reconnect_min_ms == 0)
		s->cfg.reconnect_min_ms = SOCK_DEFAULT_MIN_MS;
	if (s->cfg.reconnect_max_ms == 0)
		s->cfg.reconnect_max_ms = SOCK_DEFAULT_MAX_MS;
	s->cfg.reconnect_max_ms = RS_MAX(s->cfg.reconnect_max_ms, s->cfg.reconnect_min_ms);
	s->backoff_ms = s->cfg.reconnect_min_ms;
	s->dev = dev;
	s->listen_fd = -1;
	s->conn_fd = -1;
	if (cfg->mode == VHOST_SOCK_SERVER) {
		rc = sock_listen(s);
		if (rc < 0)
			goto fail_free;
	} else {
		/*
		 * First attempt now; on failure the retry is due at once (we do
		 * not know the owner's clock yet), then the backoff applies.
		 */
		sock_try_connect(s, 0);
		s->next_attempt_ms = 0;
	}
	return s;

fail_free:
	free(s);
fail:
	errno = -rc;
	return NULL;
}

void vhost_sock_close(struct vhost_sock *s)
{
	if (s == NULL)
		return;
	sock_disconnect(s, 0, "closing");
	if (s->listen_fd >= 0) {
		close(s->listen_fd);
		unlink(s->path);
	}
	free(s);
}

unsigned vhost_sock_pollfds(const struct vhost_sock *s, struct pollfd *pfd, unsigned max)
{
	unsigned n = 0;

	if (s->listen_fd >= 0 && n < max)
		pfd[n++] = (struct pollfd){.fd = s->listen_fd, .events = POLLIN};
	if (s->conn_fd >= 0 && n < max)
		pfd[n++] = (struct pollfd){.fd = s->conn_fd, .events = POLLIN};
	return n;
}

int vhost_sock_timeout_ms(const struct vhost_sock *s, uint64_t now_ms)
{
	if (s->cfg.mode != VHOST_SOCK_CLIENT || s->conn_fd >= 0)
		return -1;
	if (s->next_attempt_ms <= now_ms)
		return 0;
	return (int)RS_MIN(s->next_attempt_ms - now_ms, (uint64_t)INT32_MAX);
}

void vhost_sock_handle(struct vhost_sock *s, const struct pollfd *pfd, unsigned n, uint64_t now_ms)
{
	bool accept_due = false;

	/*
	 * The connection first: when a front-end reconnects, its old
	 * connection's EOF and the new connection arrive in the same round, and
	 * the new one must not be refused as a second front-end.
	 */
	for (unsigned i = 0; i < n; i++) {
		if (pfd[i].revents == 0 || pfd[i].fd < 0)
			continue;
		if (pfd[i].fd == s->conn_fd)
			sock_read(s, now_ms); /* POLLHUP/POLLERR show up as EOF or an error */
		else if (pfd[i].fd == s->listen_fd)
			accept_due = true;
	}
	if (accept_due)
		sock_accept(s);
	if (s->cfg.mode == VHOST_SOCK_CLIENT && s->conn_fd < 0 && s->next_attempt_ms <= now_ms)
		sock_try_connect(s, now_ms);
}

int vhost_sock_connected(const struct vhost_sock *s)
{
	return s->conn_fd >= 0;
}

struct vhost_dev *vhost_sock_dev(const struct vhost_sock *s)
{
	return s->dev;
}
