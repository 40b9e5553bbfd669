/*
 * fe_msg.c - the test front-end's side of the vhost-user socket: connecting
 * or accepting, framing messages (12-byte header, payload, SCM_RIGHTS fds),
 * checking replies and REPLY_ACK acks as vhost-user.rst specifies them, and
 * the RAW senders the hostile tests use to put arbitrary bytes on the wire.
 */
#include "fe.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int fe_fail(struct fe *fe, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(fe->err, sizeof(fe->err), fmt, ap);
	va_end(ap);
	return err;
}

int64_t fe_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int fe_sockaddr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return 0;
}

int fe_connect(struct fe *fe, const char *path)
{
	struct sockaddr_un sa;
	if (fe_sockaddr(path, &sa) < 0)
		return fe_fail(fe, -ENAMETOOLONG, "socket path too long");
	int64_t deadline = fe_now_ms() + fe->cfg.timeout_ms;
	for (;;) {
		int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (s < 0)
			return fe_fail(fe, -errno, "socket: %s", strerror(errno));
		if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			fe->sock = s;
			return 0;
		}
		int err = errno;
		close(s);
		if ((err != ENOENT && err != ECONNREFUSED && err != EAGAIN) ||
		    fe_now_ms() > deadline)
			return fe_fail(fe, -err, "connect %s: %s", path, strerror(err));
		usleep(10000);
	}
}

void fe_adopt(struct fe *fe, int sock)
{
	fe->sock = sock;
}

int fe_listen(const char *path)
{
	struct sockaddr_un sa;
	if (fe_sockaddr(path, &sa) < 0)
		return -ENAMETOOLONG;
	struct stat st;
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, 4) < 0) {
		int err = -errno;
		close(s);
		return err;
	}
	return s;
}

int fe_accept(int lfd, int timeout_ms)
{
	struct pollfd p = {.fd = lfd, .events = POLLIN};
	int r = poll(&p, 1, timeout_ms);
	if (r == 0)
		return -ETIMEDOUT;
	if (r < 0)
		return -errno;
	int s = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	return s < 0 ? -errno : s;
}

int fe_raw_send(struct fe *fe, const void *bytes, size_t len, const int *fds, unsigned nfds)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 64)] = {0};
	if (nfds > 64)
		return -EINVAL;
	const uint8_t *p = bytes;
	size_t done = 0;
	do {
		struct iovec iov = {.iov_base = (void *)(p + done), .iov_len = len - done};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
		if (done == 0 && nfds > 0) {
			mh.msg_control = cbuf;
			mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
			struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
			memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
		}
		ssize_t n = sendmsg(fe->sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd p = {.fd = fe->sock, .events = POLLOUT};
			if (poll(&p, 1, fe->cfg.timeout_ms) == 0)
				return fe_fail(fe, -ETIMEDOUT, "send: peer does not read");
			continue;
		}
		if (n < 0)
			return fe_fail(fe, -errno, "sendmsg: %s", strerror(errno));
		done += (size_t)n;
	} while (done < len);
	return 0;
}

int fe_msg_send(struct fe *fe, uint32_t request, uint32_t flags, const void *payload, uint32_t size,
		const int *fds, unsigned nfds)
{
	struct vhost_user_msg m;
	memset(&m.hdr, 0, sizeof(m.hdr));
	m.hdr.request = request;
	m.hdr.flags = flags;
	m.hdr.size = size;
	if (size > sizeof(m.payload))
		return -EINVAL;
	if (size)
		memcpy(m.payload.raw, payload, size);
	return fe_raw_send(fe, &m, sizeof(m.hdr) + size, fds, nfds);
}

/* Reads exactly 'len' bytes before 'deadline', closing any fds that come along. */
static int fe_read_full(struct fe *fe, void *buf, size_t len, int64_t deadline)
{
	size_t done = 0;
	while (done < len) {
		struct pollfd p = {.fd = fe->sock, .events = POLLIN};
		int64_t left = deadline - fe_now_ms();
		int r = poll(&p, 1, left > 0 ? (int)left : 0);
		if (r == 0)
			return -ETIMEDOUT;
		if (r < 0 && errno == EINTR)
			continue;
		char cbuf[CMSG_SPACE(sizeof(int) * 16)];
		struct iovec iov = {.iov_base = (uint8_t *)buf + done, .iov_len = len - done};
		struct msghdr mh = {.msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = cbuf,
				    .msg_controllen = sizeof(cbuf)};
		ssize_t n = recvmsg(fe->sock, &mh, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ECONNRESET)
			return -ECONNRESET;
		if (n < 0)
			return -errno;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			int *f = (int *)CMSG_DATA(c);
			for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++)
				close(f[i]);
		}
		if (n == 0)
			return -ECONNRESET;
		done += (size_t)n;
	}
	return 0;
}

int fe_msg_recv(struct fe *fe, struct vhost_user_msg *m, int timeout_ms)
{
	int64_t deadline = fe_now_ms() + timeout_ms;
	int err = fe_read_full(fe, &m->hdr, sizeof(m->hdr), deadline);
	if (err < 0)
		return fe_fail(fe, err, "reply header: %s", strerror(-err));
	if (m->hdr.size > sizeof(m->payload))
		return fe_fail(fe, -EPROTO, "reply size %u too big", m->hdr.size);
	err = fe_read_full(fe, m->payload.raw, m->hdr.size, deadline);
	if (err < 0)
		return fe_fail(fe, err, "reply payload: %s", strerror(-err));
	return 0;
}

/* vhost-user.rst "Header": a reply carries version 1, the REPLY bit and the same request. */
static int fe_check_reply(struct fe *fe, const struct vhost_user_msg *m, uint32_t request,
			  uint32_t size)
{
	if (m->hdr.request != request)
		return fe_fail(fe, -EPROTO, "reply to %u for request %u", m->hdr.request, request);
	if ((m->hdr.flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION ||
	    !(m->hdr.flags & VHOST_USER_FLAG_REPLY))
		return fe_fail(fe, -EPROTO, "reply to %u has flags 0x%x", request, m->hdr.flags);
	if (m->hdr.size != size)
		return fe_fail(fe, -EPROTO, "reply to %u has size %u, want %u", request,
			       m->hdr.size, size);
	return 0;
}

int fe_get_u64(struct fe *fe, uint32_t request, uint64_t *val)
{
	int err = fe_msg_send(fe, request, VHOST_USER_VERSION, NULL, 0, NULL, 0);
	if (err < 0)
		return err;
	struct vhost_user_msg m;
	err = fe_msg_recv(fe, &m, fe->cfg.timeout_ms);
	if (err < 0)
		return err;
	err = fe_check_reply(fe, &m, request, sizeof(uint64_t));
	if (err < 0)
		return err;
	*val = m.payload.u64;
	return 0;
}

int fe_wait_reply(struct fe *fe, uint32_t request, uint32_t size, int timeout_ms)
{
	struct vhost_user_msg m;
	int err = fe_msg_recv(fe, &m, timeout_ms);
	if (err < 0)
		return err;
	return fe_check_reply(fe, &m, request, size);
}

int fe_wait_ack(struct fe *fe, uint32_t request, int timeout_ms)
{
	struct vhost_user_msg m;
	int err = fe_msg_recv(fe, &m, timeout_ms);
	if (err < 0)
		return err;
	err = fe_check_reply(fe, &m, request, sizeof(uint64_t));
	if (err < 0)
		return err;
	fe->last_ack = m.payload.u64;
	if (m.payload.u64 != 0)
		return fe_fail(fe, -EIO, "request %u acked with status %llu", request,
			       (unsigned long long)m.payload.u64);
	return 0;
}

int fe_request(struct fe *fe, uint32_t request, const void *payload, uint32_t size, const int *fds,
	       unsigned nfds)
{
	bool ack = fe->protocol & VIRTIO_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK);
	uint32_t flags = VHOST_USER_VERSION | (ack ? VHOST_USER_FLAG_NEED_REPLY : 0);
	int err = fe_msg_send(fe, request, flags, payload, size, fds, nfds);
	if (err < 0 || !ack)
		return err;
	return fe_wait_ack(fe, request, fe->cfg.timeout_ms);
}

int fe_wait_closed(struct fe *fe, int timeout_ms)
{
	int64_t deadline = fe_now_ms() + timeout_ms;
	uint8_t b[256];
	for (;;) {
		int err = fe_read_full(fe, b, 1, deadline);
		if (err == -ECONNRESET)
			return 0;
		if (err < 0)
			return err;
		return fe_fail(fe, -EPROTO, "unexpected byte 0x%02x while waiting for close", b[0]);
	}
}
