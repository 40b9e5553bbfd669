/*
 * test_vhost_sock.c - the vhost-user socket over real unix sockets in a
 * temporary directory: server mode (mode 0660, stale socket removal, other
 * files refused, one front-end at a time, reconnect), client mode (connect,
 * reconnect with doubling backoff after the peer goes away), message framing
 * with SCM_RIGHTS, and hostile framing (stalled partial header, oversize
 * payload, too many fds) that must neither block nor leak.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "msg_build.h"
#include "vhost/vhost_sock.h"

struct fixture {
	char dir[64];
	char path[128];
	struct vhost_dev *dev;
	unsigned up, down;
};

static void on_queue(void *opaque, struct vhost_dev *dev, uint16_t q, bool ready)
{
	(void)opaque, (void)dev, (void)q, (void)ready;
}

static void on_conn(void *opaque, struct vhost_dev *dev, bool up)
{
	struct fixture *f = opaque;

	(void)dev;
	if (up)
		f->up++;
	else
		f->down++;
}

static const struct vhost_dev_ops ops = {.queue_state = on_queue, .conn_state = on_conn};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static unsigned count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct vhost_dev_cfg cfg = {.name = "sock-test", .max_queue_pairs = 1};

	strcpy(f->dir, "/tmp/rs_vhost_sock.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/vhu.sock", f->dir);
	f->dev = vhost_dev_new(&cfg, &ops, f);
	assert_non_null(f->dev);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vhost_dev_free(f->dev);
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Runs the owner's loop for up to 'ms' milliseconds (or one round when 0). */
static void pump(struct vhost_sock *s, int ms)
{
	uint64_t end = now_ms() + (uint64_t)ms;

	do {
		struct pollfd pfd[4];
		unsigned n = vhost_sock_pollfds(s, pfd, 4);
		int t = vhost_sock_timeout_ms(s, now_ms());
		int wait = ms == 0 ? 0 : 10;
		if (t >= 0 && t < wait)
			wait = t;
		assert_true(poll(pfd, n, wait) >= 0);
		vhost_sock_handle(s, pfd, n, now_ms());
	} while (now_ms() < end);
}

static int fe_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	strcpy(sa.sun_path, path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static int fe_listen(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	strcpy(sa.sun_path, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

/* Sends 'len' bytes of 'm' with 'nfds' fds in one sendmsg, as QEMU does. */
static void fe_send(int sock, const void *m, size_t len, const int *fds, unsigned nfds)
{
	union {
		char buf[CMSG_SPACE(16 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {(void *)m, len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	if (nfds) {
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	assert_int_equal(sendmsg(sock, &mh, MSG_NOSIGNAL), (ssize_t)len);
}

static void fe_send_msg(int sock, const struct vhost_user_msg *m, const int *fds, unsigned nfds)
{
	fe_send(sock, m, sizeof(m->hdr) + m->hdr.size, fds, nfds);
}

/* Reads one reply, pumping the socket meanwhile; returns the reply's u64. */
static uint64_t fe_reply(struct vhost_sock *s, int sock, uint32_t req)
{
	struct vhost_user_msg r;
	ssize_t n = -1;

	for (int i = 0; i < 200 && n < 0; i++) {
		pump(s, 0);
		n = recv(sock, &r, sizeof(r), MSG_DONTWAIT);
		if (n < 0)
			usleep(1000);
	}
	assert_int_equal(n, (ssize_t)(sizeof(r.hdr) + 8));
	assert_int_equal(r.hdr.request, req);
	assert_int_equal(r.hdr.flags, VHOST_USER_VERSION | VHOST_USER_FLAG_REPLY);
	assert_int_equal(r.hdr.size, 8);
	return r.payload.u64;
}

static uint64_t fe_get_features(struct vhost_sock *s, int sock)
{
	struct vhost_user_msg m;

	mb_init(&m, VHOST_USER_GET_FEATURES, 0);
	fe_send_msg(sock, &m, NULL, 0);
	return fe_reply(s, sock, VHOST_USER_GET_FEATURES);
}

/* True when the peer closed 'sock' (EOF), pumping meanwhile. */
static bool fe_closed(struct vhost_sock *s, int sock)
{
	char c;

	for (int i = 0; i < 200; i++) {
		pump(s, 0);
		ssize_t n = recv(sock, &c, 1, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return true;
		usleep(1000);
	}
	return false;
}

static struct vhost_sock *open_server(struct fixture *f)
{
	struct vhost_sock_cfg cfg = {
	    .path = f->path, .mode = VHOST_SOCK_SERVER, .owner = (uid_t)-1, .group = (gid_t)-1};
	struct vhost_sock *s = vhost_sock_open(&cfg, f->dev);

	assert_non_null(s);
	return s;
}

static void test_server_basics(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	struct vhost_sock *s = open_server(f);

	assert_int_equal(stat(f->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0660);
	assert_int_equal(vhost_sock_timeout_ms(s, now_ms()), -1);
	assert_ptr_equal(vhost_sock_dev(s), f->dev);
	assert_int_equal(vhost_sock_connected(s), 0);

	int fe = fe_connect(f->path);
	pump(s, 0);
	assert_int_equal(vhost_sock_connected(s), 1);
	assert_true(fe_get_features(s, fe) & (1ull << VIRTIO_F_VERSION_1));
	assert_int_equal(f->up, 1);

	/* A second front-end while one is active: accepted and closed at once. */
	int fe2 = fe_connect(f->path);
	assert_true(fe_closed(s, fe2));
	close(fe2);
	assert_true(fe_get_features(s, fe) != 0); /* the first one is unaffected */

	/* A memory table with its fd, acked. */
	int mfd = memfd_create("g", MFD_CLOEXEC);
	assert_int_equal(ftruncate(mfd, 1 << 20), 0);
	struct vhost_user_mem_region r = mb_region(0, 1 << 20, 0x7f0000000000ull, 0);
	struct vhost_user_msg m;
	mb_mem_table(&m, 1, &r);
	m.hdr.flags |= VHOST_USER_FLAG_NEED_REPLY;
	fe_send_msg(fe, &m, &mfd, 1);
	assert_int_equal(fe_reply(s, fe, VHOST_USER_SET_MEM_TABLE), 0);
	close(mfd);

	/* The front-end goes away and comes back (QEMU reconnect=1). */
	close(fe);
	for (int i = 0; i < 100 && vhost_sock_connected(s); i++)
		pump(s, 1);
	assert_int_equal(vhost_sock_connected(s), 0);
	assert_int_equal(f->down, 1);
	fe = fe_connect(f->path);
	assert_true(fe_get_features(s, fe) != 0);
	assert_int_equal(f->up, 2);

	vhost_sock_close(s);
	assert_int_equal(f->down, 2);
	char c;
	assert_int_equal(recv(fe, &c, 1, 0), 0);     /* closed on our side */
	assert_int_equal(access(f->path, F_OK), -1); /* our socket file is removed */
	close(fe);
}

static void test_server_stale_and_foreign_files(void **state)
{
	struct fixture *f = *state;
	struct vhost_sock_cfg cfg = {.path = f->path,
				     .mode = VHOST_SOCK_SERVER,
				     .perm = 0600,
				     .owner = (uid_t)-1,
				     .group = (gid_t)-1};
	struct stat st;

	/* A regular file is never removed. */
	int fd = open(f->path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);
	errno = 0;
	assert_null(vhost_sock_open(&cfg, f->dev));
	assert_int_equal(errno, EEXIST);
	assert_int_equal(stat(f->path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	unlink(f->path);

	/* A live socket is left alone. */
	int live = fe_listen(f->path);
	errno = 0;
	assert_null(vhost_sock_open(&cfg, f->dev));
	assert_int_equal(errno, EADDRINUSE);
	close(live);

	/* Now stale (nobody listens): removed and replaced. */
	struct vhost_sock *s = vhost_sock_open(&cfg, f->dev);
	assert_non_null(s);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	vhost_sock_close(s);

	/* A path that does not fit sun_path. */
	char longp[200];
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = 0;
	cfg.path = longp;
	errno = 0;
	assert_null(vhost_sock_open(&cfg, f->dev));
	assert_int_equal(errno, ENAMETOOLONG);
}

static void test_hostile_framing(void **state)
{
	struct fixture *f = *state;
	struct vhost_sock *s = open_server(f);
	struct vhost_user_msg m;
	unsigned fds_before = count_fds();

	/* A partial header, then a stall: the owner's loop returns at once. */
	int fe = fe_connect(f->path);
	mb_init(&m, VHOST_USER_GET_FEATURES, 0);
	fe_send(fe, &m, 5, NULL, 0);
	uint64_t t0 = now_ms();
	pump(s, 50);
	assert_true(now_ms() - t0 < 1000);
	assert_int_equal(vhost_sock_connected(s), 1);
	/* The rest arrives: the message is complete and answered. */
	fe_send(fe, (uint8_t *)&m + 5, sizeof(m.hdr) - 5, NULL, 0);
	assert_true(fe_reply(s, fe, VHOST_USER_GET_FEATURES) != 0);

	/* Header and payload in separate writes, fd with the payload. */
	int efd = eventfd(0, EFD_CLOEXEC);
	mb_u64(&m, VHOST_USER_SET_VRING_CALL, 0);
	m.hdr.flags |= VHOST_USER_FLAG_NEED_REPLY;
	fe_send(fe, &m, sizeof(m.hdr), NULL, 0);
	pump(s, 5);
	fe_send(fe, &m.payload, 8, &efd, 1);
	assert_int_equal(fe_reply(s, fe, VHOST_USER_SET_VRING_CALL), 0);
	close(efd);

	/* A malformed message is answered with an error; the connection stays. */
	mb_state(&m, VHOST_USER_SET_VRING_NUM, 0, 3);
	m.hdr.flags |= VHOST_USER_FLAG_NEED_REPLY;
	fe_send_msg(fe, &m, NULL, 0);
	assert_int_not_equal(fe_reply(s, fe, VHOST_USER_SET_VRING_NUM), 0);
	assert_int_equal(vhost_sock_connected(s), 1);

	/* Payload size above the maximum: the stream cannot be resynchronised. */
	mb_init(&m, VHOST_USER_SET_OWNER, VHOST_USER_PAYLOAD_MAX + 1);
	fe_send(fe, &m, sizeof(m.hdr), NULL, 0);
	assert_true(fe_closed(s, fe));
	assert_int_equal(vhost_sock_connected(s), 0);
	close(fe);

	/* More fds than a message may carry: control data truncated, all closed. */
	fe = fe_connect(f->path);
	int many[12];
	for (int i = 0; i < 12; i++)
		many[i] = eventfd(0, EFD_CLOEXEC);
	mb_u64(&m, VHOST_USER_SET_VRING_KICK, 0);
	fe_send_msg(fe, &m, many, 12);
	assert_true(fe_closed(s, fe));
	close(fe);
	for (int i = 0; i < 12; i++)
		close(many[i]);

	/* Closed in the middle of a message, with an fd pending. */
	fe = fe_connect(f->path);
	efd = eventfd(0, EFD_CLOEXEC);
	mb_u64(&m, VHOST_USER_SET_VRING_KICK, 0);
	fe_send(fe, &m, sizeof(m.hdr) + 2, &efd, 1);
	close(efd);
	pump(s, 5);
	close(fe);
	for (int i = 0; i < 100 && vhost_sock_connected(s); i++)
		pump(s, 1);
	assert_int_equal(vhost_sock_connected(s), 0);

	assert_int_equal(count_fds(), fds_before); /* nothing of theirs kept */
	vhost_sock_close(s);
}

static void test_client_mode(void **state)
{
	struct fixture *f = *state;
	struct vhost_sock_cfg cfg = {.path = f->path,
				     .mode = VHOST_SOCK_CLIENT,
				     .reconnect_min_ms = 100,
				     .reconnect_max_ms = 1000};

	/* Nobody listens yet: the retry is due at once, then backs off, doubling. */
	struct vhost_sock *s = vhost_sock_open(&cfg, f->dev);
	assert_non_null(s);
	assert_int_equal(vhost_sock_connected(s), 0);
	assert_int_equal(vhost_sock_timeout_ms(s, 5000), 0);
	static const int expect[] = {200, 400, 800, 1000, 1000};
	uint64_t t = 5000;
	for (unsigned i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		vhost_sock_handle(s, NULL, 0, t);
		assert_int_equal(vhost_sock_timeout_ms(s, t), expect[i]);
		assert_int_equal(vhost_sock_timeout_ms(s, t + 10), expect[i] - 10);
		t += (uint64_t)expect[i];
	}
	/* Not due yet: no attempt. */
	vhost_sock_handle(s, NULL, 0, t - 1);
	assert_int_equal(vhost_sock_timeout_ms(s, t - 1), 1);

	/* QEMU's server=on socket appears: the next attempt connects. */
	int lfd = fe_listen(f->path);
	vhost_sock_handle(s, NULL, 0, t);
	assert_int_equal(vhost_sock_connected(s), 1);
	assert_int_equal(vhost_sock_timeout_ms(s, t), -1);
	int fe = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(fe >= 0);
	assert_true(fe_get_features(s, fe) != 0);

	/* The peer goes away: disconnect, reconnect after the (reset) minimum backoff. */
	close(fe);
	for (int i = 0; i < 100 && vhost_sock_connected(s); i++)
		pump(s, 1);
	assert_int_equal(vhost_sock_connected(s), 0);
	assert_int_equal(f->down, 1);
	int wait = vhost_sock_timeout_ms(s, now_ms());
	assert_true(wait > 0 && wait <= 100);
	for (int i = 0; i < 100 && !vhost_sock_connected(s); i++)
		pump(s, 10);
	assert_int_equal(vhost_sock_connected(s), 1);
	fe = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(fe >= 0);
	assert_true(fe_get_features(s, fe) != 0);
	assert_int_equal(f->up, 2);

	vhost_sock_close(s);
	assert_int_equal(access(f->path, F_OK), 0); /* client mode never removes the file */
	close(fe);
	close(lfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_server_basics, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_server_stale_and_foreign_files, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hostile_framing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_client_mode, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
