/*
 * swtest.c - a ringswitchd child process, ringctl runs, front-ends attached
 * to the daemon's ports and test frames; see swtest.h.
 */
#include "swtest.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SWT_READY_MS 10000
#define SWT_CTL_MS   20000

const struct swt_mac swt_bcast = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};

/* The daemon of the running test: its log is printed when a traffic check fails. */
static const struct swd *swd_current;

static void swt_fail_log(void)
{
	if (!swd_current || !swd_current->dir[0])
		return;
	swd_dump_log(swd_current);
	/* Where did the frame go? Counters say dropped, never read, or queued; the
	 * threads' states and a second pmd-show say whether forwarding still runs. */
	if (swd_current->pid > 0) {
		char cmd[256];
		snprintf(
		    cmd, sizeof(cmd),
		    "for t in /proc/%d/task/*; do echo \"$(cat $t/comm) $(cut -d' ' -f3 $t/stat)"
		    " $(cat $t/wchan)\"; done >&2",
		    (int)swd_current->pid);
		fprintf(stderr, "---- daemon threads (name state wchan) ----\n");
		if (system(cmd) != 0)
			fprintf(stderr, "(could not read /proc)\n");
		static const char *const what[] = {"port-stats", "pmd-show", "pmd-show"};
		for (unsigned i = 0; i < 3; i++) {
			if (i == 2)
				usleep(1000 * 1000);
			struct swr r;
			swctl(swd_current, &r, false, what[i]);
			fprintf(stderr, "---- ringctl %s (exit %d) ----\n%s%s", what[i], r.rc,
				r.out, r.err);
			swr_free(&r);
		}
	}
}

static const char *swt_env_bin(const char *var)
{
	const char *p = getenv(var);
	return p && access(p, X_OK) == 0 ? p : NULL;
}

const char *swt_switchd(void)
{
	return swt_env_bin("RS_SWITCHD");
}

const char *swt_ringctl(void)
{
	return swt_env_bin("RS_RINGCTL");
}

void swt_require(void)
{
	if (!swt_switchd() || !swt_ringctl()) {
		fprintf(stderr, "SKIP: $RS_SWITCHD and $RS_RINGCTL must name the built binaries\n");
		skip();
	}
}

/* ---- files ---- */

char *swt_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);
	size_t r;
	while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap) {
			char *nb = realloc(buf, cap * 2 + 1);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
	}
	fclose(f);
	if (buf) {
		buf[n] = '\0';
		if (len)
			*len = n;
	}
	return buf;
}

int swt_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -errno;
	size_t n = strlen(text);
	int rc = fwrite(text, 1, n, f) == n ? 0 : -EIO;
	if (fclose(f) && rc == 0)
		rc = -errno;
	return rc;
}

/* rm -r for our own flat-ish test directories (one level of subdirectories). */
static void swt_rm_tree(const char *dir, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char p[512];
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		struct stat st;
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode) && depth < 4)
			swt_rm_tree(p, depth + 1);
		else
			unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

/* ---- the daemon ---- */

void swd_sock(const struct swd *d, const char *port, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s.sock", d->run, port);
}

int swd_spawn(struct swd *d, const char *conf)
{
	if (conf && conf != d->conf)
		snprintf(d->conf, sizeof(d->conf), "%s", conf);
	d->status = 0;
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int fd = open(d->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		closefrom(3);
		const char *av[48] = {"ringswitchd", "--config",     d->conf,	    "--run-dir",
				      d->run,	     "--foreground", "--log-level", "info"};
		unsigned n = 8;
		for (unsigned i = 0; d->extra_args && d->extra_args[i] && n < 47; i++)
			av[n++] = d->extra_args[i];
		av[n] = NULL;
		execv(swt_switchd(), (char *const *)av);
		_exit(127);
	}
	d->pid = pid;
	return 0;
}

bool swd_exited(struct swd *d)
{
	if (d->pid <= 0)
		return true;
	int st;
	pid_t w = waitpid(d->pid, &st, WNOHANG);
	if (w == d->pid) {
		d->status = st;
		d->pid = 0;
		return true;
	}
	return false;
}

int swd_wait_ready(struct swd *d, int timeout_ms)
{
	char sock[160];
	snprintf(sock, sizeof(sock), "%s/ctl.sock", d->run);
	int64_t deadline = fe_now_ms() + timeout_ms;
	while (fe_now_ms() < deadline) {
		if (swd_exited(d))
			return -1;
		if (access(sock, F_OK) == 0) {
			struct swr r;
			swctl(d, &r, false, "show");
			int rc = r.rc;
			swr_free(&r);
			if (rc == 0)
				return 0;
		}
		usleep(10000);
	}
	return -1;
}

void swd_init(struct swd *d)
{
	swt_require();
	memset(d, 0, sizeof(*d));
	snprintf(d->dir, sizeof(d->dir), "/tmp/rs-sw-XXXXXX");
	if (!mkdtemp(d->dir))
		fail_msg("mkdtemp: %s", strerror(errno));
	snprintf(d->run, sizeof(d->run), "%s/run", d->dir);
	snprintf(d->conf, sizeof(d->conf), "%s/switch.conf", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/daemon.log", d->dir);
	swd_current = d;
}

void swd_start(struct swd *d, const char *config)
{
	swd_init(d);
	if (config && swt_write_file(d->conf, config))
		fail_msg("cannot write %s", d->conf);
	if (swd_spawn(d, d->conf))
		fail_msg("fork: %s", strerror(errno));
	swd_current = d;
	if (swd_wait_ready(d, SWT_READY_MS)) {
		swd_dump_log(d);
		fail_msg("ringswitchd did not answer within %d ms (status %d)", SWT_READY_MS,
			 d->status);
	}
}

int swd_signal_wait(struct swd *d, int sig, int timeout_ms)
{
	if (d->pid <= 0)
		return -1;
	kill(d->pid, sig);
	int64_t deadline = fe_now_ms() + timeout_ms;
	while (fe_now_ms() < deadline) {
		if (swd_exited(d))
			return d->status;
		usleep(5000);
	}
	kill(d->pid, SIGKILL);
	waitpid(d->pid, &d->status, 0);
	d->pid = 0;
	return -1;
}

void swd_cleanup(struct swd *d)
{
	if (d->pid > 0)
		(void)swd_signal_wait(d, SIGTERM, 5000);
	if (d->dir[0] && !getenv("RS_SW_KEEP"))
		swt_rm_tree(d->dir, 0);
	d->dir[0] = '\0';
}

int swd_log_count(const struct swd *d, const char *needle)
{
	char *s = swt_read_file(d->log, NULL);
	int n = 0;
	for (char *p = s; p && (p = strstr(p, needle)); p += strlen(needle))
		n++;
	free(s);
	return n;
}

void swd_dump_log(const struct swd *d)
{
	char *s = swt_read_file(d->log, NULL);
	fprintf(stderr, "---- %s ----\n%s---- end of log ----\n", d->log, s ? s : "(none)\n");
	free(s);
}

/* ---- ringctl ---- */

static char *swt_slurp_fd(int fd, char **buf, size_t *len, size_t *cap)
{
	if (*len + 4096 + 1 > *cap) {
		size_t nc = (*cap + 4096) * 2;
		char *nb = realloc(*buf, nc);
		if (!nb)
			return NULL;
		*buf = nb;
		*cap = nc;
	}
	ssize_t r = read(fd, *buf + *len, *cap - *len - 1);
	if (r > 0)
		*len += (size_t)r;
	(*buf)[*len] = '\0';
	return r > 0 ? *buf : NULL;
}

void swctl_opts(struct swr *r, const char *const *argv)
{
	const char *av[300];
	unsigned n = 0;
	av[n++] = "ringctl";
	for (unsigned i = 0; argv[i] && n < 298; i++)
		av[n++] = argv[i];
	av[n] = NULL;

	memset(r, 0, sizeof(*r));
	r->rc = -1;
	int po[2], pe[2];
	if (pipe2(po, O_CLOEXEC) || pipe2(pe, O_CLOEXEC))
		fail_msg("pipe: %s", strerror(errno));
	pid_t pid = fork();
	if (pid < 0)
		fail_msg("fork: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(po[1], 1);
		dup2(pe[1], 2);
		closefrom(3);
		execv(swt_ringctl(), (char *const *)av);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	size_t ol = 0, oc = 0, el = 0, ec = 0;
	char *ob = NULL, *eb = NULL;
	bool oo = true, eo = true;
	int64_t deadline = fe_now_ms() + SWT_CTL_MS;
	swt_slurp_fd(-1, &ob, &ol, &oc); /* allocate both buffers */
	swt_slurp_fd(-1, &eb, &el, &ec);
	while ((oo || eo) && fe_now_ms() < deadline) {
		struct pollfd p[2] = {{.fd = oo ? po[0] : -1, .events = POLLIN},
				      {.fd = eo ? pe[0] : -1, .events = POLLIN}};
		if (poll(p, 2, 100) < 0 && errno != EINTR)
			break;
		if (oo && (p[0].revents & (POLLIN | POLLHUP)))
			oo = swt_slurp_fd(po[0], &ob, &ol, &oc) != NULL;
		if (eo && (p[1].revents & (POLLIN | POLLHUP)))
			eo = swt_slurp_fd(pe[0], &eb, &el, &ec) != NULL;
	}
	close(po[0]);
	close(pe[0]);
	int st;
	pid_t w;
	while ((w = waitpid(pid, &st, WNOHANG)) == 0 && fe_now_ms() < deadline)
		usleep(2000);
	if (w == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		fail_msg("ringctl %s did not finish within %d ms", av[1], SWT_CTL_MS);
	}
	r->rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	r->out = ob ? ob : strdup("");
	r->err = eb ? eb : strdup("");
}

void swctl_v(const struct swd *d, struct swr *r, bool json, const char *const *args)
{
	const char *av[300];
	unsigned n = 0;
	av[n++] = "--run-dir";
	av[n++] = d->run;
	if (json)
		av[n++] = "--json";
	for (unsigned i = 0; args[i] && n < 298; i++)
		av[n++] = args[i];
	av[n] = NULL;
	swctl_opts(r, av);
	if (json && r->rc == 0) {
		json_error_t je;
		r->js = json_loads(r->out, JSON_DECODE_ANY, &je);
	}
}

void swr_free(struct swr *r)
{
	free(r->out);
	free(r->err);
	json_decref(r->js);
	memset(r, 0, sizeof(*r));
}

json_t *swctl_ok_v(const struct swd *d, bool json, const char *const *args)
{
	struct swr r;
	swctl_v(d, &r, json, args);
	if (r.rc != 0 || (json && !r.js)) {
		char cmd[512] = "";
		for (unsigned i = 0; args[i]; i++)
			snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd), " %s", args[i]);
		swd_dump_log(d);
		fail_msg("ringctl%s%s: exit %d, stdout '%s', stderr '%s'", json ? " --json" : "",
			 cmd, r.rc, r.out, r.err);
	}
	json_t *js = json_incref(r.js);
	swr_free(&r);
	return js;
}

/* ---- statistics ---- */

json_t *swt_port_stats(const struct swd *d, const char *port)
{
	json_t *a = swctl_ok(d, true, "port-stats", port);
	if (!json_is_array(a) || json_array_size(a) != 1)
		fail_msg("port-stats %s: not a one-element array", port);
	json_t *p = json_incref(json_array_get(a, 0));
	json_decref(a);
	return p;
}

static int64_t swt_path_int(json_t *o, const char *path)
{
	char key[64];
	const char *dot = strchr(path, '.');
	if (dot) {
		snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
		return swt_path_int(json_object_get(o, key), dot + 1);
	}
	json_t *v = json_object_get(o, path);
	if (!json_is_integer(v))
		fail_msg("no integer '%s' in the statistics", path);
	return json_integer_value(v);
}

int64_t swt_stat(const struct swd *d, const char *port, const char *path)
{
	json_t *p = swt_port_stats(d, port);
	int64_t v = swt_path_int(p, path);
	json_decref(p);
	return v;
}

int64_t swt_wait_stat(const struct swd *d, const char *port, const char *path, int64_t want)
{
	int64_t deadline = fe_now_ms() + 2000, v;
	while ((v = swt_stat(d, port, path)) != want && fe_now_ms() < deadline)
		usleep(20000);
	return v;
}

int64_t swt_queue_stat(json_t *ps, const char *dir, int q, const char *key)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(ps, "queues"), i, e)
	{
		if (strcmp(json_string_value(json_object_get(e, "dir")), dir) == 0 &&
		    json_integer_value(json_object_get(e, "queue")) == q)
			return json_integer_value(json_object_get(e, key));
	}
	return 0;
}

/* ---- resources ---- */

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SWT_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SWT_SANITIZED 1
#endif
#endif
#ifndef SWT_SANITIZED
#define SWT_SANITIZED 0
#endif

int swt_map_count(pid_t pid)
{
	char p[64], line[1024];
	snprintf(p, sizeof(p), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(p, "r");
	if (!f)
		return -errno;
	int n = 0;
	while (fgets(line, sizeof(line), f)) {
		/* address perms offset dev inode [path] */
		char path[512] = "";
		if (SWT_SANITIZED && (sscanf(line, "%*s %*s %*s %*s %*s %511s", path) != 1 ||
				      strncmp(path, "[anon", 5) == 0))
			continue;
		n++;
	}
	fclose(f);
	return n;
}

static int swt_fd_count(pid_t pid)
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

int swt_wait_counts(pid_t pid, int fds, int maps, int timeout_ms)
{
	int64_t deadline = fe_now_ms() + timeout_ms;
	do {
		if (swt_fd_count(pid) == fds && swt_map_count(pid) == maps)
			return 0;
		usleep(10000);
	} while (fe_now_ms() < deadline);
	return -ETIMEDOUT;
}

/* ---- front-ends ---- */

static bool swt_has_queues(json_t *arr, unsigned pairs)
{
	for (unsigned q = 0; q < pairs; q++) {
		bool found = false;
		size_t i;
		json_t *v;
		json_array_foreach(arr, i, v) found |= json_integer_value(v) == (json_int_t)q;
		if (!found)
			return false;
	}
	return true;
}

void swt_fe_attach(const struct swd *d, struct fe *fe, const char *name, unsigned pairs)
{
	char path[192];
	struct fe_cfg cfg = {.queue_pairs = (uint16_t)pairs, .timeout_ms = 2000};
	swd_sock(d, name, path, sizeof(path));
	int err = fe_open(fe, &cfg, path);
	if (err < 0) {
		swd_dump_log(d);
		fail_msg("front-end on %s: %d: %s", name, err, fe->err);
	}
	int64_t deadline = fe_now_ms() + 5000;
	while (fe_now_ms() < deadline) {
		json_t *s = swctl_ok(d, true, "show");
		size_t i;
		json_t *p;
		bool ready = false;
		json_array_foreach(json_object_get(s, "ports"), i, p)
		{
			if (strcmp(json_string_value(json_object_get(p, "name")), name) == 0)
				ready = swt_has_queues(json_object_get(p, "rxq_ready"), pairs) &&
					swt_has_queues(json_object_get(p, "txq_ready"), pairs);
		}
		json_decref(s);
		if (ready)
			return;
		usleep(10000);
	}
	swd_dump_log(d);
	fail_msg("port %s: queues not ready 5 s after the front-end attached", name);
}

void swt_fe_detach(struct fe *fe)
{
	if (fe->sock < 0)
		return;
	for (unsigned p = 0; p < fe->cfg.queue_pairs; p++)
		(void)fe_tx_reclaim(fe, p);
	assert_int_equal(fe->dev_errors, 0);
	fe_close(fe);
}

/* ---- frames ---- */

struct swt_mac swt_mac(uint8_t n)
{
	struct swt_mac m = {{0x02, 0, 0, 0, 0, n}};
	return m;
}

static void swt_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void swt_put32(uint8_t *p, uint32_t v)
{
	swt_put16(p, (uint16_t)(v >> 16));
	swt_put16(p + 2, (uint16_t)v);
}

static void swt_pattern(uint8_t *p, size_t n, uint32_t seq)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seq * 131u + i * 7u + 3);
	for (size_t i = 0; i < 4 && i < n; i++)
		p[i] = (uint8_t)(seq >> (24 - 8 * i));
}

size_t swt_eth(uint8_t *buf, size_t len, struct swt_mac dst, struct swt_mac src, uint32_t seq)
{
	memcpy(buf, dst.b, 6);
	memcpy(buf + 6, src.b, 6);
	swt_put16(buf + 12, 0x88b5);
	swt_pattern(buf + 14, len - 14, seq);
	return len;
}

static uint16_t swt_csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

size_t swt_ip4(uint8_t *buf, struct swt_mac dst, struct swt_mac src, uint8_t proto, uint32_t sip,
	       uint32_t dip, uint16_t sport, uint16_t dport, size_t plen, uint32_t seq)
{
	size_t l4 = proto == 17 || proto == 1 ? 8 : 0;
	size_t iplen = 20 + l4 + plen;
	memcpy(buf, dst.b, 6);
	memcpy(buf + 6, src.b, 6);
	swt_put16(buf + 12, 0x0800);
	uint8_t *ip = buf + 14;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	swt_put16(ip + 2, (uint16_t)iplen);
	swt_put16(ip + 4, (uint16_t)seq);
	ip[8] = 64;
	ip[9] = proto;
	swt_put32(ip + 12, sip);
	swt_put32(ip + 16, dip);
	swt_put16(ip + 10, swt_csum(ip, 20));
	uint8_t *l = ip + 20;
	swt_pattern(l + l4, plen, seq);
	if (proto == 17) {
		swt_put16(l, sport);
		swt_put16(l + 2, dport);
		swt_put16(l + 4, (uint16_t)(8 + plen));
		swt_put16(l + 6, 0); /* no checksum: allowed for UDP over IPv4 */
	} else if (proto == 1) {
		l[0] = 8; /* echo request */
		l[1] = 0;
		swt_put16(l + 2, 0);
		swt_put16(l + 4, sport); /* identifier */
		swt_put16(l + 6, (uint16_t)seq);
		swt_put16(l + 2, swt_csum(l, 8 + plen));
	}
	size_t len = 14 + iplen;
	if (len < 60) { /* pad to the Ethernet minimum */
		memset(buf + len, 0, 60 - len);
		len = 60;
	}
	return len;
}

size_t swt_tag(uint8_t *buf, size_t len, uint16_t tci)
{
	memmove(buf + 16, buf + 12, len - 12);
	swt_put16(buf + 12, 0x8100);
	swt_put16(buf + 14, tci);
	return len + 4;
}

size_t swt_untag(uint8_t *buf, size_t len)
{
	memmove(buf + 12, buf + 16, len - 16);
	return len - 4;
}

/* ---- traffic ---- */

void swt_send(struct fe *fe, unsigned pair, const uint8_t *frame, size_t len)
{
	int err = fe_send(fe, pair, frame, len);
	if (err < 0)
		fail_msg("send %zu bytes on pair %u: %d: %s", len, pair, err, fe->err);
}

static void swt_hex(char *out, size_t cap, const uint8_t *p, size_t n)
{
	out[0] = '\0';
	for (size_t i = 0; i < n && strlen(out) + 4 < cap; i++)
		snprintf(out + strlen(out), cap - strlen(out), "%02x", p[i]);
}

void swt_expect(struct fe *fe, const char *who, unsigned pair, const uint8_t *frame, size_t len)
{
	static uint8_t got[SWT_FRAME_MAX + 64];
	size_t n = 0;
	int err = fe_recv(fe, pair, got, sizeof(got), &n);
	if (err < 0)
		swt_fail_log();
	if (err < 0)
		fail_msg("%s: expected a %zu-byte frame on pair %u, got none (%d: %s)", who, len,
			 pair, err, fe->err);
	if (n != len || memcmp(got, frame, len) != 0) {
		char a[200], b[200];
		swt_hex(a, sizeof(a), frame, len < 48 ? len : 48);
		swt_hex(b, sizeof(b), got, n < 48 ? n : 48);
		swt_fail_log();
		fail_msg("%s: frame differs on pair %u: want %zu bytes %s..., got %zu bytes %s...",
			 who, pair, len, a, n, b);
	}
}

void swt_silence(struct fe *fe, const char *who, int ms)
{
	static uint8_t got[SWT_FRAME_MAX + 64];
	size_t n = 0;
	for (unsigned p = 0; p < fe->cfg.queue_pairs; p++) {
		int err = fe_recv_wait(fe, p, got, sizeof(got), &n, p == 0 ? ms : 0);
		if (err == 0) {
			char h[200];
			swt_hex(h, sizeof(h), got, n < 48 ? n : 48);
			swt_fail_log();
			fail_msg("%s: expected nothing, got a %zu-byte frame on pair %u: %s...",
				 who, n, p, h);
		}
		if (err != -ETIMEDOUT)
			fail_msg("%s: receive failed on pair %u: %d: %s", who, p, err, fe->err);
	}
}

unsigned swt_drain(struct fe *fe)
{
	static uint8_t got[SWT_FRAME_MAX + 64];
	size_t n;
	unsigned count = 0;
	for (unsigned p = 0; p < fe->cfg.queue_pairs; p++)
		while (fe_recv_wait(fe, p, got, sizeof(got), &n, 0) == 0)
			count++;
	return count;
}
