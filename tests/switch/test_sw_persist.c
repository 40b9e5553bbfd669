/*
 * test_sw_persist.c - the configuration of a real ringswitchd survives and
 * converges:
 *  - test_sw_persist: ports, VLAN settings, global settings and flows added
 *    with ringctl survive kill -9: after a restart with the same --config,
 *    show --json and dump-flows --json equal what they were; front-ends
 *    reconnect to the server sockets (as QEMU with reconnect=1) and traffic
 *    flows. A config file with an error on line N is refused by reload and
 *    by SIGHUP with "FILE:N:" and the running switch is unchanged. A valid
 *    edit converges on reload (ports added, removed and changed in place,
 *    flows replaced) and on SIGHUP.
 *  - test_sw_save_failure (root: mounts a 16 KiB tmpfs for the config file):
 *    when the file system is full every change is refused with "not saved",
 *    the running switch and the old file are unchanged, no temp file is
 *    left; once there is room again the change goes through.
 *  - test_sw_reload_port_fails, test_sw_start_port_fails: a config whose
 *    port cannot be opened (socket directory missing) and whose flow uses
 *    that port: reload must either converge or refuse with the running
 *    switch unchanged, and a start must still bring the other ports up.
 *  - test_sw_config_sequence: del-port, set-port and del-flows lines of a
 *    config file (which config.h allows) are honoured at start.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "swtest.h"

static struct pt {
	struct swd d;
	struct fe a, b, c;
	uint32_t seq;
	char mnt[128];
} T;

static int pt_teardown(void **state)
{
	(void)state;
	fe_close(&T.a);
	fe_close(&T.b);
	fe_close(&T.c);
	if (T.d.pid > 0)
		(void)swd_signal_wait(&T.d, SIGTERM, 5000);
	if (T.mnt[0])
		umount2(T.mnt, MNT_DETACH);
	swd_cleanup(&T.d);
	memset(&T, 0, sizeof(T));
	return 0;
}

static int pt_setup(void **state)
{
	(void)state;
	memset(&T, 0, sizeof(T));
	struct fe_cfg none = {0};
	fe_init(&T.a, &none);
	fe_init(&T.b, &none);
	fe_init(&T.c, &none);
	return 0;
}

/* One frame from 'from' arrives, byte for byte, on 'to'. */
static void pt_ping(struct fe *from, struct fe *to, const char *who)
{
	uint8_t f[SWT_FRAME_MAX];
	uint32_t seq = ++T.seq;
	size_t len = swt_eth(f, 100 + seq % 900, swt_bcast, swt_mac(0x30), seq);
	swt_send(from, 0, f, len);
	swt_expect(to, who, 0, f, len);
}

static void pt_same_json(json_t *a, json_t *b, const char *what)
{
	if (json_equal(a, b))
		return;
	char *x = json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS);
	char *y = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);
	fprintf(stderr, "%s differs:\n before: %s\n after:  %s\n", what, x, y);
	fail_msg("%s differs (both printed above)", what);
}

static int pt_strcmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The names of the ports show --json lists, sorted, space-separated. */
static void pt_port_names(char *out, size_t cap)
{
	json_t *s = swctl_ok(&T.d, true, "show");
	const char *v[64];
	size_t i, n = 0;
	json_t *p;
	json_array_foreach(json_object_get(s, "ports"), i, p)
	{
		if (n < 64)
			v[n++] = json_string_value(json_object_get(p, "name"));
	}
	qsort(v, n, sizeof(v[0]), pt_strcmp);
	out[0] = '\0';
	for (i = 0; i < n; i++)
		snprintf(out + strlen(out), cap - strlen(out), "%s%s", i ? " " : "", v[i]);
	json_decref(s);
}

/* The 'config' text show prints for port 'name', into 'out' ("" when absent). */
static void pt_port_config(const char *name, char *out, size_t cap)
{
	json_t *s = swctl_ok(&T.d, true, "show");
	size_t i;
	json_t *p;
	out[0] = '\0';
	json_array_foreach(json_object_get(s, "ports"), i, p)
	{
		if (strcmp(json_string_value(json_object_get(p, "name")), name) == 0)
			snprintf(out, cap, "%s", json_string_value(json_object_get(p, "config")));
	}
	json_decref(s);
}

static void pt_file_is(const char *path, const char *want, size_t len, const char *why)
{
	size_t l;
	char *now = swt_read_file(path, &l);
	if (!now || l != len || memcmp(now, want, len) != 0)
		fprintf(stderr, "---- %s before\n%s---- now\n%s----\n", path, want,
			now ? now : "(unreadable)\n");
	if (!now || l != len || memcmp(now, want, len) != 0)
		fail_msg("%s: %s changed (both printed above)", why, path);
	free(now);
}

/* Waits for a daemon log line holding 'needle' (bounded); returns its count. */
static int pt_wait_log(const char *needle, int min)
{
	int64_t deadline = fe_now_ms() + 3000;
	int n;
	while ((n = swd_log_count(&T.d, needle)) < min && fe_now_ms() < deadline)
		usleep(20000);
	return n;
}

static void pt_restart(void)
{
	if (swd_spawn(&T.d, T.d.conf))
		fail_msg("fork: %s", strerror(errno));
	if (swd_wait_ready(&T.d, 10000)) {
		swd_dump_log(&T.d);
		fail_msg("ringswitchd did not come back after the restart (status 0x%x)",
			 T.d.status);
	}
}

/* Front-end reconnect, like QEMU's reconnect=1: drop the dead socket, connect again. */
static void pt_reattach(struct fe *fe, const char *port)
{
	fe_close(fe);
	swt_fe_attach(&T.d, fe, port, 1);
}

static void test_sw_persist(void **state)
{
	(void)state;
	swd_start(&T.d, "add-port vm1 vhost-user-server\nadd-port vm2 vhost-user-server\n");
	const char *conf = T.d.conf;

	/* Changes made with ringctl. */
	swctl_do(&T.d, "add-port", "vm3", "vhost-user-server", "queues=2", "tag=20");
	swctl_do(&T.d, "set-port", "vm2", "trunks=10,20,30-40");
	swctl_do(&T.d, "set-port", "vm1", "tag=10");
	swctl_do(&T.d, "set", "mac-aging=600", "idle-us=100");
	swctl_do(&T.d, "add-flow", "priority=100,in_port=vm1,actions=output:vm2");
	swctl_do(&T.d, "add-flow", "priority=100,in_port=vm2,actions=output:vm1");
	swctl_do(&T.d, "add-flow", "priority=50,udp,nw_dst=192.168.0.0/16,actions=drop");
	json_t *show0 = swctl_ok(&T.d, true, "show");
	json_t *flows0 = swctl_ok(&T.d, true, "dump-flows");
	assert_int_equal(json_array_size(flows0), 3);
	size_t conf0_len;
	char *conf0 = swt_read_file(conf, &conf0_len);
	assert_non_null(conf0);

	swt_fe_attach(&T.d, &T.a, "vm1", 1);
	swt_fe_attach(&T.d, &T.b, "vm2", 1);
	pt_ping(&T.a, &T.b, "vm2");
	pt_ping(&T.b, &T.a, "vm1");

	/* kill -9: no chance to clean up; the front-ends see their sockets close. */
	pid_t old = T.d.pid;
	assert_int_not_equal(swd_signal_wait(&T.d, SIGKILL, 5000), -1);
	assert_int_equal(fe_wait_closed(&T.a, 2000), 0);
	assert_int_equal(fe_wait_closed(&T.b, 2000), 0);
	pt_restart();
	assert_int_not_equal(T.d.pid, old);
	pt_file_is(conf, conf0, conf0_len, "a restart");
	json_t *show1 = swctl_ok(&T.d, true, "show");
	json_t *flows1 = swctl_ok(&T.d, true, "dump-flows");
	pt_same_json(show0, show1, "show --json across kill -9 and restart");
	pt_same_json(flows0, flows1, "dump-flows --json across kill -9 and restart");
	json_decref(show0);
	json_decref(show1);
	json_decref(flows0);
	json_decref(flows1);

	/* The front-ends reconnect and traffic flows by the restored rules. */
	pt_reattach(&T.a, "vm1");
	pt_reattach(&T.b, "vm2");
	pt_ping(&T.a, &T.b, "vm2");
	pt_ping(&T.b, &T.a, "vm1");

	/* A config file with an error on line N: reload and SIGHUP refuse it. */
	json_t *show2 = swctl_ok(&T.d, true, "show");
	char *bad = malloc(conf0_len + 256);
	memcpy(bad, conf0, conf0_len);
	int line = 1;
	for (size_t i = 0; i < conf0_len; i++)
		line += conf0[i] == '\n';
	snprintf(bad + conf0_len, 256,
		 "add-port vm7 vhost-user-server queues=99\n"
		 "add-port vm8 vhost-user-server\n");
	assert_int_equal(swt_write_file(conf, bad), 0);
	char where[256];
	snprintf(where, sizeof(where), "%s:%d:", conf, line);
	struct swr r;
	swctl(&T.d, &r, false, "reload");
	if (r.rc != 1 || !strstr(r.err, where))
		fail_msg("reload of a bad file: exit %d, stderr '%s'; want exit 1 and '%s'", r.rc,
			 r.err, where);
	swr_free(&r);
	json_t *show3 = swctl_ok(&T.d, true, "show");
	pt_same_json(show2, show3, "show after a refused reload");
	json_decref(show3);
	int before = swd_log_count(&T.d, where);
	kill(T.d.pid, SIGHUP);
	if (pt_wait_log(where, before + 1) < before + 1) {
		swd_dump_log(&T.d);
		fail_msg("no log line naming %s after SIGHUP with a bad file", where);
	}
	show3 = swctl_ok(&T.d, true, "show");
	pt_same_json(show2, show3, "show after SIGHUP with a bad file");
	json_decref(show3);
	pt_ping(&T.a, &T.b, "vm2");
	free(bad);

	/* A valid edit: vm2 goes, vm4 comes, vm3 changes VLAN in place, flows replaced. */
	assert_int_equal(swt_write_file(conf,
					"# edited by hand\n"
					"set mac-aging=600 idle-us=100\n"
					"add-port vm1 vhost-user-server tag=10\n"
					"add-port vm3 vhost-user-server queues=2 tag=30\n"
					"add-port vm4 vhost-user-server\n"
					"add-flow 'priority=10,in_port=vm1,actions=output:vm4'\n"
					"add-flow 'priority=10,in_port=vm4,actions=output:vm1'\n"),
			 0);
	swctl_do(&T.d, "reload");
	char names[128], cfg[256];
	pt_port_names(names, sizeof(names));
	assert_string_equal(names, "vm1 vm3 vm4");
	pt_port_config("vm3", cfg, sizeof(cfg));
	if (!strstr(cfg, " tag=30"))
		fail_msg("vm3 after reload: '%s', want tag=30", cfg);
	json_t *fl = swctl_ok(&T.d, true, "dump-flows");
	assert_int_equal(json_array_size(fl), 2);
	for (size_t i = 0; i < 2; i++) {
		const char *m = json_string_value(json_object_get(json_array_get(fl, i), "match"));
		if (strcmp(m, "priority=10,in_port=vm1") && strcmp(m, "priority=10,in_port=vm4"))
			fail_msg("unexpected rule after reload: %s", m);
	}
	json_decref(fl);
	assert_int_equal(fe_wait_closed(&T.b, 2000), 0); /* vm2 is gone */
	fe_close(&T.b);
	char vm2sock[192];
	swd_sock(&T.d, "vm2", vm2sock, sizeof(vm2sock));
	assert_int_not_equal(access(vm2sock, F_OK), 0);
	swt_fe_attach(&T.d, &T.c, "vm4", 1);
	pt_ping(&T.a, &T.c, "vm4"); /* the kept port's front-end still works */
	pt_ping(&T.c, &T.a, "vm1");

	/* SIGHUP converges too: vm2 back, the flows replaced again. */
	assert_int_equal(swt_write_file(conf,
					"add-port vm1 vhost-user-server tag=10\n"
					"add-port vm2 vhost-user-server\n"
					"add-port vm4 vhost-user-server\n"
					"add-flow 'priority=20,in_port=vm1,actions=output:vm2'\n"),
			 0);
	kill(T.d.pid, SIGHUP);
	int64_t deadline = fe_now_ms() + 3000;
	do {
		usleep(20000);
		pt_port_names(names, sizeof(names));
	} while (strcmp(names, "vm1 vm2 vm4") != 0 && fe_now_ms() < deadline);
	assert_string_equal(names, "vm1 vm2 vm4");
	fl = swctl_ok(&T.d, true, "dump-flows");
	assert_int_equal(json_array_size(fl), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(fl, 0), "match")),
			    "priority=20,in_port=vm1");
	json_decref(fl);
	swt_fe_attach(&T.d, &T.b, "vm2", 1);
	pt_ping(&T.a, &T.b, "vm2");
	swt_silence(&T.c, "vm4", 100);

	json_decref(show2);
	free(conf0);
	swt_fe_detach(&T.a);
	swt_fe_detach(&T.b);
	swt_fe_detach(&T.c);
}

/* Fills the file system of 'dir' with one file; returns the bytes written. */
static size_t pt_fill(const char *dir)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/filler", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		fail_msg("%s: %s", path, strerror(errno));
	char buf[512];
	memset(buf, 'x', sizeof(buf));
	size_t total = 0;
	for (;;) {
		ssize_t w = write(fd, buf, sizeof(buf));
		if (w <= 0)
			break;
		total += (size_t)w;
	}
	for (;;) { /* the last bytes of a page */
		ssize_t w = write(fd, buf, 1);
		if (w <= 0)
			break;
		total++;
	}
	close(fd);
	return total;
}

static int pt_count_tmp(const char *dir)
{
	DIR *dd = opendir(dir);
	struct dirent *e;
	int n = 0;
	while (dd && (e = readdir(dd)))
		n += strstr(e->d_name, ".tmp") != NULL;
	if (dd)
		closedir(dd);
	return n;
}

static void pt_not_saved(const char *const *args, const char *conf, const char *old, size_t len)
{
	json_t *show0 = swctl_ok(&T.d, true, "show");
	json_t *flows0 = swctl_ok(&T.d, true, "dump-flows");
	struct swr r;
	swctl_v(&T.d, &r, false, args);
	if (r.rc != 1 || !strstr(r.err, "not saved"))
		fail_msg("%s on a full file system: exit %d, stderr '%s'; want exit 1 and "
			 "\"not saved\"",
			 args[0], r.rc, r.err);
	swr_free(&r);
	json_t *show1 = swctl_ok(&T.d, true, "show");
	json_t *flows1 = swctl_ok(&T.d, true, "dump-flows");
	pt_same_json(show0, show1, "show after a change that could not be saved");
	pt_same_json(flows0, flows1, "dump-flows after a change that could not be saved");
	pt_file_is(conf, old, len, "a change that could not be saved");
	json_decref(show0);
	json_decref(show1);
	json_decref(flows0);
	json_decref(flows1);
}

static void test_sw_save_failure(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		fprintf(stderr, "SKIP: needs root to mount a tmpfs for the config file\n");
		skip();
	}
	swd_init(&T.d);
	snprintf(T.mnt, sizeof(T.mnt), "%s/cfgfs", T.d.dir);
	assert_int_equal(mkdir(T.mnt, 0755), 0);
	if (mount("tmpfs", T.mnt, "tmpfs", 0, "size=16k,mode=0755")) {
		int e = errno;
		T.mnt[0] = '\0';
		fprintf(stderr, "SKIP: cannot mount a tmpfs: %s\n", strerror(e));
		skip();
	}
	char conf[192];
	snprintf(conf, sizeof(conf), "%s/switch.conf", T.mnt);
	assert_int_equal(swt_write_file(conf,
					"add-port vm1 vhost-user-server\n"
					"add-port vm2 vhost-user-server\n"
					"add-flow 'priority=5,in_port=vm1,actions=output:vm2'\n"),
			 0);
	if (swd_spawn(&T.d, conf) || swd_wait_ready(&T.d, 10000)) {
		swd_dump_log(&T.d);
		fail_msg("ringswitchd did not start with its config on a tmpfs");
	}
	swctl_do(&T.d, "set-port", "vm2", "tag=5"); /* saving works while there is room */
	size_t len;
	char *old = swt_read_file(conf, &len);
	assert_non_null(old);
	assert_true(strstr(old, "tag=5") != NULL);

	size_t filled = pt_fill(T.mnt);
	assert_true(filled > 0);
	pt_not_saved((const char *const[]){"add-port", "vm5", "vhost-user-server", NULL}, conf, old,
		     len);
	char sock[192];
	swd_sock(&T.d, "vm5", sock, sizeof(sock));
	assert_int_not_equal(access(sock, F_OK), 0);
	pt_not_saved((const char *const[]){"add-flow", "priority=9,in_port=vm2,actions=drop", NULL},
		     conf, old, len);
	pt_not_saved((const char *const[]){"set-port", "vm1", "tag=7", NULL}, conf, old, len);
	pt_not_saved((const char *const[]){"del-port", "vm2", NULL}, conf, old, len);
	pt_not_saved((const char *const[]){"del-flows", NULL}, conf, old, len);
	pt_not_saved((const char *const[]){"set", "mac-aging=100", NULL}, conf, old, len);
	assert_int_equal(pt_count_tmp(T.mnt), 0);

	/* Room again: the same change goes through and is in the file. */
	char filler[256];
	snprintf(filler, sizeof(filler), "%s/filler", T.mnt);
	assert_int_equal(unlink(filler), 0);
	swctl_do(&T.d, "add-port", "vm5", "vhost-user-server");
	char *now = swt_read_file(conf, NULL);
	assert_non_null(now);
	if (!strstr(now, "add-port vm5 "))
		fail_msg("vm5 not in the saved file:\n%s", now);
	free(now);
	free(old);
	assert_int_equal(access(sock, F_OK), 0);
}

/*
 * A port of the config cannot be opened (its socket directory does not
 * exist, as after a reboot wiped /run) and a flow names it.
 */
static void pt_port_fails_conf(char *text, size_t cap)
{
	snprintf(text, cap,
		 "add-port vm1 vhost-user-server\n"
		 "add-port vm3 vhost-user-server\n"
		 "add-port vm5 vhost-user-server path=%s/missing/vm5.sock\n"
		 "add-flow 'priority=5,in_port=vm5,actions=drop'\n"
		 "add-flow 'priority=5,in_port=vm1,actions=output:vm3'\n",
		 T.d.dir);
}

/* Reload: either it converges (exit 0) or it is refused and nothing changed. */
static void test_sw_reload_port_fails(void **state)
{
	(void)state;
	swd_start(&T.d, "add-port vm1 vhost-user-server\nadd-port vm2 vhost-user-server\n");
	json_t *show0 = swctl_ok(&T.d, true, "show");
	char text[512];
	pt_port_fails_conf(text, sizeof(text));
	assert_int_equal(swt_write_file(T.d.conf, text), 0);
	struct swr r;
	swctl(&T.d, &r, false, "reload");
	fprintf(stderr, "reload: exit %d, stderr: %s", r.rc, r.err);
	json_t *show1 = swctl_ok(&T.d, true, "show");
	if (r.rc != 0) /* refused: then nothing may have changed */
		pt_same_json(show0, show1, "show after a reload that reported an error");
	swr_free(&r);
	json_decref(show0);
	json_decref(show1);
}

/* A start with that file must still bring up the ports that can be opened. */
static void test_sw_start_port_fails(void **state)
{
	(void)state;
	swd_init(&T.d);
	char text[512];
	pt_port_fails_conf(text, sizeof(text));
	assert_int_equal(swt_write_file(T.d.conf, text), 0);
	if (swd_spawn(&T.d, T.d.conf))
		fail_msg("fork: %s", strerror(errno));
	if (swd_wait_ready(&T.d, 5000)) {
		swd_dump_log(&T.d);
		fail_msg("ringswitchd did not start (status 0x%x) because port vm5 cannot be "
			 "opened",
			 T.d.status);
	}
	/* Like OVS, the port stays configured (its flows stay valid, it is saved and
	 * retried on reload) and show names its error; the others run. */
	char names[128];
	pt_port_names(names, sizeof(names));
	assert_string_equal(names, "vm1 vm3 vm5");
	json_t *show = swctl_ok(&T.d, true, "show");
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(show, "ports"), i, p)
	{
		const char *name = json_string_value(json_object_get(p, "name"));
		json_t *error = json_object_get(p, "error");
		if (strcmp(name, "vm5") == 0)
			assert_non_null(strstr(json_string_value(error), "cannot open"));
		else
			assert_null(error);
	}
	json_decref(show);
	json_t *flows = swctl_ok(&T.d, true, "dump-flows");
	assert_int_equal(json_array_size(flows), 2);
	json_decref(flows);
}

/*
 * config.h allows del-port, set-port and del-flows lines in a config file
 * (checked as a sequence by the loader): the daemon must honour them.
 */
static void test_sw_config_sequence(void **state)
{
	(void)state;
	swd_start(&T.d, "add-port vm1 vhost-user-server\n"
			"add-port vm2 vhost-user-server\n"
			"del-port vm2\n"
			"set-port vm1 tag=10\n"
			"add-flow 'priority=5,in_port=vm1,actions=drop'\n"
			"del-flows in_port=vm1\n"
			"add-port vm2 vhost-user-server queues=2\n");
	char cfg[256];
	pt_port_config("vm1", cfg, sizeof(cfg));
	if (!strstr(cfg, " tag=10"))
		fail_msg("'set-port vm1 tag=10' (line 4) ignored: vm1 is '%s'", cfg);
	pt_port_config("vm2", cfg, sizeof(cfg));
	if (!strstr(cfg, " queues=2"))
		fail_msg("'del-port vm2' then 'add-port vm2 ... queues=2' (lines 3, 7) ignored: "
			 "vm2 is '%s'",
			 cfg);
	json_t *fl = swctl_ok(&T.d, true, "dump-flows");
	size_t n = json_array_size(fl);
	json_decref(fl);
	if (n != 0)
		fail_msg("'del-flows in_port=vm1' (line 6) ignored: %zu rule(s) left", n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_sw_persist, pt_setup, pt_teardown),
	    cmocka_unit_test_setup_teardown(test_sw_save_failure, pt_setup, pt_teardown),
	    cmocka_unit_test_setup_teardown(test_sw_reload_port_fails, pt_setup, pt_teardown),
	    cmocka_unit_test_setup_teardown(test_sw_start_port_fails, pt_setup, pt_teardown),
	    cmocka_unit_test_setup_teardown(test_sw_config_sequence, pt_setup, pt_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
