/*
 * test_config.c - config load (line numbers, the error on line N names N
 * and the column, sequence checks across lines) and atomic save (file
 * replaced, mode kept, nothing left behind, and on ENOSPC, EIO, EROFS or a
 * line that does not parse the old file is intact). The full-tmpfs and
 * read-only cases need root (a private mount namespace); they say so and
 * skip otherwise, and the same failure paths are also driven by injected
 * write/fsync errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "ctl/config.h"

static const char good_cfg[] =
    "# ringswitch test config\n"
    "\n"
    "set pmd-cores=1-2 poll-mode=adaptive\n"
    "add-port vm1 vhost-user-server path=/run/rs/vm1.sock queues=2   # first VM\n"
    "add-port vm2 vhost-user-client 'path=/run/rs/vm 2.sock' tag=10\n"
    "  set-port vm1 rxq-affinity=0:1,1:2\n"
    "add-flow 'priority=100,in_port=vm1,tcp,tp_dst=80,actions=output:vm2'\n"
    "add-flow \"in_port=3 actions=normal\"\n"
    "del-flows --strict priority=5\n"
    "add-port tmp tap\n"
    "del-port tmp\n"
    "add-port tmp tap queues=2\n"
    "\t# trailing comment, no newline at the end";

static int resolve(void *ctx, const char *name)
{
	(void)ctx;
	return strcmp(name, "vm1") == 0 ? 10 : strcmp(name, "vm2") == 0 ? 20 : -ENOENT;
}

static void test_parse_good(void **state)
{
	(void)state;
	struct ctl_config c;
	struct ctl_config_error err;
	static const int lines[] = {3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
	static const enum ctl_verb verbs[] = {
	    CTL_SET,	  CTL_ADD_PORT,	 CTL_ADD_PORT, CTL_SET_PORT, CTL_ADD_FLOW,
	    CTL_ADD_FLOW, CTL_DEL_FLOWS, CTL_ADD_PORT, CTL_DEL_PORT, CTL_ADD_PORT};

	assert_int_equal(ctl_config_parse(good_cfg, strlen(good_cfg), "t.conf", &c, &err), 0);
	assert_int_equal(c.n, 10);
	for (size_t i = 0; i < c.n; i++) {
		assert_int_equal(c.v[i].line, lines[i]);
		assert_int_equal(c.v[i].cmd.verb, verbs[i]);
	}
	/* Flow ports stay unresolved until the daemon runs the command. */
	struct ctl_flow *f = &c.v[4].cmd.u.flow;
	assert_int_equal(f->match.in_port, CTL_PORT_UNRESOLVED);
	assert_string_equal(f->out_name[0], "vm2");
	assert_int_equal(ctl_flow_resolve(f, resolve, NULL, NULL), 0);
	assert_int_equal(f->match.in_port, 10);
	assert_int_equal(f->actions.a[0].port, 20);
	assert_int_equal(c.v[5].cmd.u.flow.match.in_port, 3);
	assert_string_equal(c.v[2].cmd.u.port_spec.path, "/run/rs/vm 2.sock");
	ctl_config_free(&c);
	ctl_config_free(&c); /* idempotent */

	assert_int_equal(ctl_config_parse("", 0, "empty", &c, &err), 0);
	assert_int_equal(c.n, 0);
	ctl_config_free(&c);
}

struct bad_cfg {
	const char *text;
	size_t len; /* 0: strlen */
	const char *msg;
	int line, column;
};

static const struct bad_cfg bads[] = {
    {"add-port vm1 tap\n# fine\nadd-port vm2 tap queues=99\nadd-port vm3 tap\n", 0,
     "c.conf:3:25: token 'queues=99': queues out of range 1..16", 3, 25},
    {"add-port vm1 tap\nadd-flow 'in_port=vm9,actions=drop'\n", 0,
     "c.conf:2:11: token 'in_port=vm9': unknown port 'vm9'", 2, 11},
    {"add-port vm1 tap\nadd-flow 'in_port=vm1,actions=output:vm2'\nadd-port vm2 tap\n", 0,
     "c.conf:2:31: token 'output:vm2': unknown port 'vm2'", 2, 31},
    {"add-port vm1 tap\nadd-port  vm1 vhost-user-server\n", 0,
     "c.conf:2:11: token 'vm1': port 'vm1' already added on line 1", 2, 11},
    {"add-port vm1 tap\nset-port vm2 tag=1\n", 0,
     "c.conf:2:10: token 'vm2': no port 'vm2' was added before this line", 2, 10},
    {"add-port vm1 tap\ndel-port vm1\nset-port vm1 tag=1\n", 0,
     "c.conf:3:10: token 'vm1': no port 'vm1' was added before this line", 3, 10},
    {"add-port vm1 tap\ndel-port vm1\nadd-flow in_port=vm1,actions=drop\n", 0,
     "c.conf:3:10: token 'in_port=vm1': unknown port 'vm1'", 3, 10},
    {"add-port vm1 tap\nset-port vm1 reconnect-ms=5\n", 0,
     "c.conf:2:10: token 'vm1': reconnect-ms does not apply to tap ports", 2, 10},
    {"add-port vm1 tap queues=2\nset-port vm1 rxq-affinity=2:1\n", 0,
     "c.conf:2:10: token 'vm1': rxq-affinity queue 2 but port vm1 has 2 queue(s)", 2, 10},
    {"set log-level=info\nshow\n", 0,
     "c.conf:2:1: token 'show': command not allowed in a config file", 2, 1},
    {"fdb-flush\n", 0, "c.conf:1:1: token 'fdb-flush': command not allowed in a config file", 1, 1},
    {"set log-level=info\nset idle-us=1\x00\n", 34, "c.conf:2:14: NUL byte in line", 2, 14},
    {"\n\n\nset 'idle-us=1\n", 0, "c.conf:4:5: unterminated single quote", 4, 5},
    {"bogus\n", 0, "c.conf:1:1: token 'bogus': unknown command", 1, 1},
    {"add-flow 'ip,tp_dst=80,actions=drop'", 0,
     "c.conf:1:14: token 'tp_dst=80': tp_dst requires nw_proto=6, 17 or 132", 1, 14},
};

static void test_parse_bad(void **state)
{
	(void)state;
	struct ctl_config c;
	struct ctl_config_error err;

	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		size_t len = bads[i].len ? bads[i].len : strlen(bads[i].text);
		int r = ctl_config_parse(bads[i].text, len, "c.conf", &c, &err);
		if (r != -EINVAL)
			fail_msg("case %zu: expected -EINVAL, got %d", i, r);
		if (strcmp(err.msg, bads[i].msg) || err.line != bads[i].line ||
		    err.column != bads[i].column)
			fail_msg("case %zu\n  got  %d:%d %s\n  want %d:%d %s", i, err.line,
				 err.column, err.msg, bads[i].line, bads[i].column, bads[i].msg);
		assert_int_equal(c.n, 0); /* all or nothing */
		assert_null(c.v);
	}
}

/* ---- files ---- */

static char dir[64];

static int setup_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/rs-test-config-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	(void)state;
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[512];

	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
	return 0;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *read_file(const char *path)
{
	static char buf[1 << 16];
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Entries in 'd' (besides . and ..). */
static int count_entries(const char *d)
{
	DIR *dp = opendir(d);
	struct dirent *e;
	int n = 0;

	assert_non_null(dp);
	while ((e = readdir(dp)))
		n += e->d_name[0] != '.';
	closedir(dp);
	return n;
}

static void test_load(void **state)
{
	(void)state;
	char path[128];
	struct ctl_config c;
	struct ctl_config_error err;

	snprintf(path, sizeof(path), "%s/ringswitch.conf", dir);
	assert_int_equal(ctl_config_load(path, &c, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "No such file"));
	write_file(path, good_cfg);
	assert_int_equal(ctl_config_load(path, &c, &err), 0);
	assert_int_equal(c.n, 10);
	ctl_config_free(&c);

	write_file(path, "set idle-us=5\nset idle-us=x\n");
	assert_int_equal(ctl_config_load(path, &c, &err), -EINVAL);
	char want[256];
	snprintf(want, sizeof(want), "%s:2:13: token 'idle-us=x': idle-us out of range 0..10000000",
		 path);
	assert_string_equal(err.msg, want);
	assert_int_equal(ctl_config_load(dir, &c, &err), -EINVAL); /* a directory */
	unlink(path);
}

static const char *const lines[] = {
    "set pmd-cores=1-2",
    "add-port vm1 vhost-user-server 'path=/run/x y.sock' queues=2",
    "add-flow priority=1,in_port=vm1,actions=drop",
};

static void test_save(void **state)
{
	(void)state;
	char path[128];
	struct ctl_config c;
	struct ctl_config_error err;
	struct stat st;

	snprintf(path, sizeof(path), "%s/ringswitch.conf", dir);
	assert_int_equal(ctl_config_save(path, lines, 3, NULL, &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(ctl_config_load(path, &c, &err), 0);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.v[0].line, 3); /* after the two header lines */
	ctl_config_free(&c);
	const char *text = read_file(path);
	assert_non_null(strstr(text, "\nadd-flow priority=1,in_port=vm1,actions=drop\n"));

	/* Replacing keeps the mode of the old file; nothing else is left in the dir. */
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(ctl_config_save(path, lines, 1, NULL, &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_null(strstr(read_file(path), "add-port"));
	assert_int_equal(count_entries(dir), 1);

	/* Zero lines: just the header, which loads as an empty config. */
	assert_int_equal(ctl_config_save(path, NULL, 0, NULL, &err), 0);
	assert_int_equal(ctl_config_load(path, &c, &err), 0);
	assert_int_equal(c.n, 0);
	ctl_config_free(&c);
	unlink(path);
}

static void test_save_invalid(void **state)
{
	(void)state;
	char path[128], old[4096];
	struct ctl_config_error err;
	const char *bad1[] = {"set log-level=info", "add-flow in_port=vm7,actions=drop"};
	const char *bad2[] = {"set log-level=info\nshow"};

	snprintf(path, sizeof(path), "%s/ringswitch.conf", dir);
	assert_int_equal(ctl_config_save(path, lines, 3, NULL, &err), 0);
	snprintf(old, sizeof(old), "%s", read_file(path));
	assert_int_equal(ctl_config_save(path, bad1, 2, NULL, &err), -EINVAL);
	assert_int_equal(err.line, 4);
	assert_non_null(strstr(err.msg, ":4:10: token 'in_port=vm7': unknown port 'vm7'"));
	assert_int_equal(ctl_config_save(path, bad2, 1, NULL, &err), -EINVAL);
	assert_string_equal(read_file(path), old);
	assert_int_equal(count_entries(dir), 1);
	unlink(path);
}

/* ---- injected failures ---- */

static int writes_left;
static int fail_errno;

static ssize_t short_then_fail(int fd, const void *buf, size_t n)
{
	if (writes_left-- <= 0) {
		errno = fail_errno;
		return -1;
	}
	return write(fd, buf, n > 7 ? 7 : n); /* short writes first */
}

static int eintr_once;

static ssize_t interrupted(int fd, const void *buf, size_t n)
{
	if (eintr_once) {
		eintr_once = 0;
		errno = EINTR;
		return -1;
	}
	return write(fd, buf, n);
}

static int fsync_fails(int fd)
{
	(void)fd;
	errno = EIO;
	return -1;
}

static void test_save_faults(void **state)
{
	(void)state;
	char path[128], old[4096];
	struct ctl_config_error err;
	struct ctl_config_io io = {short_then_fail, fsync};

	snprintf(path, sizeof(path), "%s/ringswitch.conf", dir);
	assert_int_equal(ctl_config_save(path, lines, 1, NULL, &err), 0);
	snprintf(old, sizeof(old), "%s", read_file(path));

	writes_left = 3;
	fail_errno = ENOSPC;
	assert_int_equal(ctl_config_save(path, lines, 3, &io, &err), -ENOSPC);
	assert_non_null(strstr(err.msg, "write: No space left on device"));
	assert_string_equal(read_file(path), old);
	assert_int_equal(count_entries(dir), 1); /* temp file removed */

	io.fsync = fsync_fails;
	writes_left = 1000;
	assert_int_equal(ctl_config_save(path, lines, 3, &io, &err), -EIO);
	assert_non_null(strstr(err.msg, "fsync: Input/output error"));
	assert_string_equal(read_file(path), old);
	assert_int_equal(count_entries(dir), 1);

	/* Short writes alone are fine, and so is an EINTR. */
	io.fsync = fsync;
	assert_int_equal(ctl_config_save(path, lines, 3, &io, &err), 0);
	assert_non_null(strstr(read_file(path), "add-flow"));
	io.write = interrupted;
	eintr_once = 1;
	assert_int_equal(ctl_config_save(path, lines, 2, &io, &err), 0);
	assert_null(strstr(read_file(path), "add-flow"));

	/* A missing directory fails at the temp file and touches nothing. */
	assert_int_equal(ctl_config_save("/nonexistent-rs-dir/x.conf", lines, 1, NULL, &err),
			 -ENOENT);
	assert_non_null(strstr(err.msg, "create temp file"));
	unlink(path);
}

/* Real ENOSPC and EROFS on a small private tmpfs (root only). */
static void test_save_real_fs(void **state)
{
	(void)state;
	char path[128], old[4096];
	struct ctl_config_error err;
	char *big[64];
	static char line[1024];

	if (geteuid() != 0) {
		/* Without root a read-only directory gives EACCES. */
		snprintf(path, sizeof(path), "%s/ringswitch.conf", dir);
		assert_int_equal(ctl_config_save(path, lines, 1, NULL, &err), 0);
		assert_int_equal(chmod(dir, 0555), 0);
		assert_int_equal(ctl_config_save(path, lines, 3, NULL, &err), -EACCES);
		assert_int_equal(chmod(dir, 0755), 0);
		unlink(path);
		print_message("test_save_real_fs: not root, tmpfs ENOSPC/EROFS case skipped\n");
		return;
	}
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", dir, "tmpfs", 0, "size=16k") < 0) {
		print_message("test_save_real_fs: no private tmpfs (%s), skipped\n",
			      strerror(errno));
		return;
	}
	snprintf(path, sizeof(path), "%s/ringswitch.conf", dir);
	assert_int_equal(ctl_config_save(path, lines, 3, NULL, &err), 0);
	snprintf(old, sizeof(old), "%s", read_file(path));

	/* 64 lines of ~1000 bytes cannot fit next to the old file in 16 KiB. */
	snprintf(line, sizeof(line), "set log-level=info # %0990d", 0);
	for (int i = 0; i < 64; i++)
		big[i] = line;
	assert_int_equal(ctl_config_save(path, (const char *const *)big, 64, NULL, &err), -ENOSPC);
	assert_string_equal(read_file(path), old);
	assert_int_equal(count_entries(dir), 1);

	assert_int_equal(mount(NULL, dir, NULL, MS_REMOUNT | MS_RDONLY, NULL), 0);
	assert_int_equal(ctl_config_save(path, lines, 1, NULL, &err), -EROFS);
	assert_string_equal(read_file(path), old);
	assert_int_equal(umount(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_good),
	    cmocka_unit_test(test_parse_bad),
	    cmocka_unit_test_setup_teardown(test_load, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_save, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_save_invalid, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_save_faults, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_save_real_fs, setup_dir, teardown_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
