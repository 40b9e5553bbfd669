/*
 * test_sw_cli.c - ringctl and the daemon's process contract:
 *  - usage errors exit 2 with the usage text; commands the daemon refuses
 *    (unknown verb, bad key, duplicate or missing port) exit 1 with the
 *    daemon's message and a caret under the offending argument;
 *  - no daemon: exit 2 with "cannot connect" (no socket file, and a socket
 *    file nobody listens on: "Connection refused");
 *  - --socket PATH reaches the daemon like --run-dir; --json prints JSON;
 *  - without a config file the daemon writes the default one (vm1, vm2);
 *  - the control socket and the vhost-user sockets are mode 0660 (perm=
 *    changes the latter), the pid file holds the daemon's pid;
 *  - a second ringswitchd on the same run directory refuses to start and
 *    leaves the first one working;
 *  - SIGTERM: exit 0, a connected front-end sees the disconnect, and the
 *    control socket, the vhost-user sockets and the pid file are removed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "swtest.h"

static struct ct {
	struct swd d;
	struct fe a;
} T;

static int ct_teardown(void **state)
{
	(void)state;
	fe_close(&T.a);
	swd_cleanup(&T.d);
	return 0;
}

/* Runs ringctl with exactly 'argv'; checks the exit code and that stderr holds 'needle'. */
static void ct_expect(const char *const *argv, int rc, const char *needle)
{
	struct swr r;
	swctl_opts(&r, argv);
	if (r.rc != rc || (needle && !strstr(r.err, needle)))
		fail_msg("ringctl %s ...: exit %d stderr '%s'; want exit %d and '%s'",
			 argv[0] ? argv[0] : "", r.rc, r.err, rc, needle ? needle : "");
	swr_free(&r);
}

/*
 * A refused command: exit 1, stderr "ringctl: error: ..." holding 'msg', then
 * the command line and a caret under argument 'tok' (0 is the verb).
 */
static void ct_refused(const char *const *args, const char *msg, int tok)
{
	struct swr r;
	swctl_v(&T.d, &r, false, args);
	if (r.rc != 1 || !strstr(r.err, "ringctl: error: ") || !strstr(r.err, msg))
		fail_msg("ringctl %s: exit %d stderr '%s'; want exit 1 and '%s'", args[0], r.rc,
			 r.err, msg);
	char line[1024] = "  ringctl";
	size_t col = 0;
	for (int i = 0; args[i]; i++) {
		if (i == tok)
			col = strlen(line) + 1;
		snprintf(line + strlen(line), sizeof(line) - strlen(line), " %s", args[i]);
	}
	const char *l = strstr(r.err, line);
	const char *nl = l ? strchr(l, '\n') : NULL;
	const char *hat = nl ? strchr(nl + 1, '^') : NULL;
	if (!hat || (size_t)(hat - nl - 1) != col || strspn(nl + 1, " ") != col)
		fail_msg("ringctl %s: no caret at column %zu under argument %d in '%s'", args[0],
			 col, tok, r.err);
	swr_free(&r);
}

#define REFUSED(msg, tok, ...) ct_refused((const char *const[]){__VA_ARGS__, NULL}, (msg), (tok))

static mode_t ct_mode(const char *path)
{
	struct stat st;
	if (lstat(path, &st))
		fail_msg("%s: %s", path, strerror(errno));
	if (!S_ISSOCK(st.st_mode) && !S_ISREG(st.st_mode))
		fail_msg("%s: neither a socket nor a file", path);
	return st.st_mode & 07777;
}

static void test_sw_cli(void **state)
{
	(void)state;
	struct fe_cfg none = {0};
	fe_init(&T.a, &none);
	swd_start(&T.d, NULL); /* no config file: the default */
	char path[256], ctl[192];
	snprintf(ctl, sizeof(ctl), "%s/ctl.sock", T.d.run);

	/* The default configuration was written: vm1 and vm2. */
	char *conf = swt_read_file(T.d.conf, NULL);
	assert_non_null(conf);
	if (!strstr(conf, "add-port vm1 vhost-user-server") ||
	    !strstr(conf, "add-port vm2 vhost-user-server"))
		fail_msg("default config lacks vm1/vm2:\n%s", conf);
	free(conf);

	/* Usage errors: 2. */
	ct_expect((const char *const[]){NULL}, 2, "usage: ringctl");
	ct_expect((const char *const[]){"--bogus", "show", NULL}, 2, "usage: ringctl");
	ct_expect((const char *const[]){"--run-dir", T.d.run, NULL}, 2, "usage: ringctl");
	ct_expect((const char *const[]){"--run-dir", T.d.run, "--timeout", "0", "show", NULL}, 2,
		  "usage: ringctl");
	ct_expect((const char *const[]){"--help", NULL}, 0, NULL);

	/* Refused by the daemon: 1, the message, a caret under the argument. */
	REFUSED("unknown command", 0, "frobnicate");
	REFUSED("token 'bogus=1'", 3, "add-port", "vm5", "vhost-user-server", "bogus=1");
	REFUSED("token 'queues=99'", 3, "add-port", "vm5", "vhost-user-server", "queues=99");
	REFUSED("already exists", 1, "add-port", "vm1", "vhost-user-server");
	REFUSED("no port 'nosuch'", 1, "del-port", "nosuch");
	REFUSED("token 'queues=2'", 2, "set-port", "vm1", "queues=2");
	REFUSED("token 'frob=1'", 1, "set", "frob=1");
	REFUSED("no port 'nosuch'", 1, "port-stats", "nosuch");
	REFUSED("token 'tp_dst=1'", 1, "add-flow", "priority=1,tp_dst=1,actions=drop");
	struct swr r;
	swctl(&T.d, &r, true, "frobnicate"); /* --json: the same refusal */
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.err, "unknown command"));
	swr_free(&r);

	/* --socket PATH and --json. */
	swctl_opts(&r, (const char *const[]){"--socket", ctl, "--json", "show", NULL});
	assert_int_equal(r.rc, 0);
	json_t *js = json_loads(r.out, 0, NULL);
	assert_non_null(js);
	assert_int_equal(json_array_size(json_object_get(js, "ports")), 2);
	json_decref(js);
	swr_free(&r);
	swctl_opts(&r, (const char *const[]){"--socket", ctl, "show", NULL});
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "port 1: add-port vm1 vhost-user-server"));
	swr_free(&r);

	/* Modes and the pid file. */
	assert_int_equal(ct_mode(ctl), 0660);
	swd_sock(&T.d, "vm1", path, sizeof(path));
	assert_int_equal(ct_mode(path), 0660);
	swctl_do(&T.d, "add-port", "vm3", "vhost-user-server", "perm=0600");
	swd_sock(&T.d, "vm3", path, sizeof(path));
	assert_int_equal(ct_mode(path), 0600);
	snprintf(path, sizeof(path), "%s/ringswitchd.pid", T.d.run);
	char *pidtext = swt_read_file(path, NULL);
	assert_non_null(pidtext);
	assert_int_equal(atol(pidtext), T.d.pid);
	free(pidtext);

	/* A second daemon on the same run directory refuses to start. */
	struct swd d2 = T.d;
	snprintf(d2.log, sizeof(d2.log), "%s/second.log", T.d.dir);
	snprintf(path, sizeof(path), "%s/second.conf", T.d.dir);
	assert_int_equal(swd_spawn(&d2, path), 0);
	int64_t deadline = fe_now_ms() + 5000;
	while (!swd_exited(&d2) && fe_now_ms() < deadline)
		usleep(10000);
	if (d2.pid > 0) {
		(void)swd_signal_wait(&d2, SIGKILL, 1000);
		fail_msg("a second ringswitchd on %s kept running", T.d.run);
	}
	assert_true(WIFEXITED(d2.status) && WEXITSTATUS(d2.status) != 0);
	assert_true(swd_log_count(&d2, "another ringswitchd") > 0);
	assert_int_equal(swd_exited(&T.d), false);
	swctl_do(&T.d, "show"); /* the first still answers */
	snprintf(path, sizeof(path), "%s/ringswitchd.pid", T.d.run);
	pidtext = swt_read_file(path, NULL);
	assert_non_null(pidtext);
	assert_int_equal(atol(pidtext), T.d.pid);
	free(pidtext);
	assert_int_equal(ct_mode(ctl), 0660);

	/* SIGTERM: clean exit, the attached front-end sees the disconnect, files removed. */
	swt_fe_attach(&T.d, &T.a, "vm1", 1);
	int st = swd_signal_wait(&T.d, SIGTERM, 5000);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		swd_dump_log(&T.d);
		fail_msg("SIGTERM: wait status 0x%x, want exit 0", st);
	}
	assert_int_equal(fe_wait_closed(&T.a, 2000), 0);
	fe_close(&T.a);
	const char *gone[] = {"ctl.sock", "vm1.sock", "vm2.sock", "vm3.sock", "ringswitchd.pid"};
	for (unsigned i = 0; i < sizeof(gone) / sizeof(gone[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", T.d.run, gone[i]);
		if (access(path, F_OK) == 0)
			fail_msg("%s left behind after SIGTERM", path);
	}

	/* No daemon: exit 2, "cannot connect". */
	ct_expect((const char *const[]){"--run-dir", T.d.run, "show", NULL}, 2,
		  "No such file or directory (is ringswitchd running?)");
	int s = socket(AF_UNIX, SOCK_STREAM, 0); /* a socket file nobody listens on */
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	assert_true(strlen(ctl) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, ctl, strlen(ctl) + 1);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(s);
	ct_expect((const char *const[]){"--socket", ctl, "show", NULL}, 2, "cannot connect to");
	ct_expect((const char *const[]){"--socket", ctl, "show", NULL}, 2, "Connection refused");
	unlink(ctl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_sw_cli, ct_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
