/*
 * lb.c - ringswitch-loopback as a child process of the integration tests:
 * spawn, line reader on its stdout, SIGUSR1 statistics parser, /proc
 * resource counts, and stop by PID. See lb.h for the tool's output contract.
 */
#include "lb.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fe.h"

const char *lb_binary(void)
{
	const char *p = getenv("RS_LOOPBACK");
	return p && access(p, X_OK) == 0 ? p : NULL;
}

/* Reads one line (without '\n') from the tool's stdout before the deadline. */
static int lb_read_line(struct lb *lb, char *line, size_t cap, int64_t deadline)
{
	for (;;) {
		char *nl = memchr(lb->buf, '\n', lb->blen);
		if (nl) {
			size_t n = (size_t)(nl - lb->buf);
			size_t c = n < cap - 1 ? n : cap - 1;
			memcpy(line, lb->buf, c);
			line[c] = 0;
			memmove(lb->buf, nl + 1, lb->blen - n - 1);
			lb->blen -= n + 1;
			return 0;
		}
		if (lb->blen == sizeof(lb->buf))
			lb->blen = 0; /* a line longer than the buffer: drop it */
		struct pollfd p = {.fd = lb->out, .events = POLLIN};
		int64_t left = deadline - fe_now_ms();
		if (left <= 0 || poll(&p, 1, (int)left) == 0)
			return -ETIMEDOUT;
		ssize_t r = read(lb->out, lb->buf + lb->blen, sizeof(lb->buf) - lb->blen);
		if (r == 0)
			return -EPIPE;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r > 0)
			lb->blen += (size_t)r;
	}
}

static void lb_exec(const struct lb *lb, const char *const *args, int outw)
{
	const char *argv[40];
	unsigned n = 0;
	argv[n++] = lb_binary();
	argv[n++] = "--run-dir";
	argv[n++] = lb->dir;
	for (unsigned i = 0; args && args[i] && n < 38; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* In sanitizer builds any undefined behaviour in the tool ends it: exit status != 0. */
	setenv("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1", 0);
	int logfd = open(lb->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(outw, 1);
	if (logfd >= 0)
		dup2(logfd, 2);
	closefrom(3);
	execv(argv[0], (char *const *)argv);
	_exit(127);
}

int lb_start(struct lb *lb, const char *const *args, bool client)
{
	memset(lb, 0, sizeof(*lb));
	lb->out = -1;
	if (!lb_binary())
		return -ENOENT;
	snprintf(lb->dir, sizeof(lb->dir), "/tmp/rs-it-XXXXXX");
	if (!mkdtemp(lb->dir))
		return -errno;
	snprintf(lb->log, sizeof(lb->log), "%s/loopback.log", lb->dir);
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		lb_exec(lb, args, p[1]);
	close(p[1]);
	lb->out = p[0];
	lb->pid = pid;
	if (client)
		return 0;
	char line[512];
	int64_t deadline = fe_now_ms() + 10000;
	int err;
	while ((err = lb_read_line(lb, line, sizeof(line), deadline)) == 0)
		if (strcmp(line, "ready") == 0)
			return 0;
	return err;
}

/* Keeps the log of a tool that did not exit cleanly, and says where. */
static void lb_keep_log(const struct lb *lb, int status)
{
	char keep[192];
	snprintf(keep, sizeof(keep), "/tmp/rs-it-loopback-%d.log", (int)lb->pid);
	if (rename(lb->log, keep) == 0)
		fprintf(stderr, "loopback exit status %d; its log: %s\n", status, keep);
}

static void lb_rmdir(struct lb *lb)
{
	DIR *d = opendir(lb->dir);
	struct dirent *e;
	int left = 0;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char p[512];
		snprintf(p, sizeof(p), "%s/%s", lb->dir, e->d_name);
		if (strstr(e->d_name, ".sock"))
			left++;
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(lb->dir);
	lb->dir[0] = left ? '!' : 0;
}

int lb_stop(struct lb *lb)
{
	if (lb->pid <= 0)
		return -ESRCH;
	int st = 0, ret;
	kill(lb->pid, SIGTERM);
	int64_t deadline = fe_now_ms() + 5000;
	pid_t w;
	while ((w = waitpid(lb->pid, &st, WNOHANG)) == 0 && fe_now_ms() < deadline)
		usleep(5000);
	if (w == 0) {
		kill(lb->pid, SIGKILL);
		waitpid(lb->pid, &st, 0);
		ret = -ETIMEDOUT;
	} else {
		ret = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	}
	if (ret != 0)
		lb_keep_log(lb, ret);
	lb->pid = 0;
	if (lb->out >= 0)
		close(lb->out);
	lb->out = -1;
	lb_rmdir(lb);
	if (ret == 0 && lb->dir[0] == '!')
		ret = -EEXIST;
	return ret;
}

void lb_sock_path(const struct lb *lb, int port, char *out, size_t cap)
{
	snprintf(out, cap, "%s/port%d.sock", lb->dir, port);
}

static uint64_t lb_field(const char *line, const char *key)
{
	const char *p = strstr(line, key);
	return p ? strtoull(p + strlen(key), NULL, 10) : UINT64_MAX;
}

static void lb_parse(const char *line, struct lb_qstat *q)
{
	memset(q, 0, sizeof(*q));
	q->port = (int)lb_field(line, " port=");
	q->qid = (int)lb_field(line, " qid=");
	q->rx = strstr(line, " dir=rx") != NULL;
	q->ready = (int)lb_field(line, " ready=");
	q->packets = lb_field(line, " packets=");
	q->bytes = lb_field(line, " bytes=");
	q->drop_ring_full = lb_field(line, " drop_ring_full=");
	q->drop_too_big = lb_field(line, " drop_too_big=");
	q->drop_too_many_iov = lb_field(line, " drop_too_many_iov=");
	q->drop_not_ready = lb_field(line, " drop_not_ready=");
	const char *b = strstr(line, " broken=");
	snprintf(q->broken, sizeof(q->broken), "%s", b ? b + 8 : "?");
	q->broken[strcspn(q->broken, " \r")] = 0;
}

int lb_stats(struct lb *lb, struct lb_stats *s)
{
	s->n = 0;
	if (kill(lb->pid, SIGUSR1) < 0)
		return -errno;
	char line[512];
	int64_t deadline = fe_now_ms() + 5000;
	int err;
	while ((err = lb_read_line(lb, line, sizeof(line), deadline)) == 0) {
		if (strcmp(line, "stats end") == 0)
			return 0;
		if (strncmp(line, "stats port=", 11) == 0 && s->n < LB_MAX_STATS)
			lb_parse(line, &s->q[s->n++]);
	}
	return err;
}

const struct lb_qstat *lb_find(const struct lb_stats *s, int port, int qid)
{
	for (unsigned i = 0; i < s->n; i++)
		if (s->q[i].port == port && s->q[i].qid == qid)
			return &s->q[i];
	return NULL;
}

const char *lb_wait_broken(struct lb *lb, int port, int qid, int timeout_ms)
{
	static char reason[32];
	static struct lb_stats s;
	int64_t deadline = fe_now_ms() + timeout_ms;
	do {
		if (lb_stats(lb, &s) < 0)
			break;
		const struct lb_qstat *q = lb_find(&s, port, qid);
		if (q && strcmp(q->broken, "none") != 0) {
			snprintf(reason, sizeof(reason), "%s", q->broken);
			return reason;
		}
		usleep(20000);
	} while (fe_now_ms() < deadline);
	return "none";
}

bool lb_alive(struct lb *lb)
{
	int st;
	return lb->pid > 0 && kill(lb->pid, 0) == 0 && waitpid(lb->pid, &st, WNOHANG) == 0;
}

int lb_fd_count(pid_t pid)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(p);
	if (!d)
		return -errno;
	int n = 0;
	for (struct dirent *e; (e = readdir(d));)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

int lb_map_count(pid_t pid)
{
	char p[64], line[512];
	snprintf(p, sizeof(p), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(p, "r");
	if (!f)
		return -errno;
	int n = 0;
	while (fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	return n;
}

long lb_rss_kb(pid_t pid)
{
	char p[64], line[256];
	snprintf(p, sizeof(p), "/proc/%d/status", (int)pid);
	FILE *f = fopen(p, "r");
	long kb = -1;
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "VmRSS:", 6) == 0)
			kb = strtol(line + 6, NULL, 10);
	if (f)
		fclose(f);
	return kb;
}

int lb_wait_counts(pid_t pid, int fds, int maps, int timeout_ms)
{
	int64_t deadline = fe_now_ms() + timeout_ms;
	do {
		if (lb_fd_count(pid) == fds && lb_map_count(pid) == maps)
			return 0;
		usleep(10000);
	} while (fe_now_ms() < deadline);
	return -ETIMEDOUT;
}

int lb_log_count(const struct lb *lb, const char *needle)
{
	FILE *f = fopen(lb->log, "r");
	char line[1024];
	int n = 0;
	while (f && fgets(line, sizeof(line), f))
		n += strstr(line, needle) != NULL;
	if (f)
		fclose(f);
	return n;
}
