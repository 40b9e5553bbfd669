/*
 * test_sw_security.c - access control on a real ringswitchd:
 *  - test_sw_port_security_mac / _ip: a port with allowed-mac= and
 *    allowed-ip= may only send with those addresses (Ethernet source, ARP
 *    sender hardware and protocol addresses, IPv4 source); other frames are
 *    dropped at ingress, before learning, and counted in port-stats
 *    drops.port_security. ARP probes and DHCP requests from 0.0.0.0 pass.
 *  - test_sw_port_security_change: set-port changes and lifts the lists
 *    ("any") at run time; the lists are saved and survive a restart.
 *  - test_sw_socket_owner (root): owner= group= perm= of a vhost-user-server
 *    socket; an unknown user is refused with nothing saved.
 *  - test_sw_ctl_group (root): --ctl-group gives the control socket that
 *    group, mode 0660.
 *  - test_sw_run_dir_refused (root): a run directory writable by everybody
 *    without the sticky bit, or owned by another non-root user, makes the
 *    daemon refuse to start with a clear message; /tmp-like (sticky) is fine.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "swtest.h"

#define SILENT_MS 100

static struct st {
	struct swd d;
	struct fe a, b;
	uint32_t seq;
	int64_t drops; /* drops.port_security of port a expected so far */
} T;

static int st_setup(void **state)
{
	(void)state;
	memset(&T, 0, sizeof(T));
	struct fe_cfg none = {0};
	fe_init(&T.a, &none);
	fe_init(&T.b, &none);
	return 0;
}

static int st_teardown(void **state)
{
	(void)state;
	fe_close(&T.a);
	fe_close(&T.b);
	swd_cleanup(&T.d);
	return 0;
}

static void st_require_root(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "SKIP: needs root (chown of sockets to other users)\n");
		skip();
	}
}

/* An ARP request: sender 'sha'/'spa' (host order), target 'tpa'. */
static size_t st_arp(uint8_t *f, struct swt_mac src, struct swt_mac sha, uint32_t spa, uint32_t tpa)
{
	static const uint8_t hdr[8] = {0, 1, 8, 0, 6, 4, 0, 1};
	memset(f, 0, 60);
	memcpy(f, swt_bcast.b, 6);
	memcpy(f + 6, src.b, 6);
	f[12] = 0x08;
	f[13] = 0x06;
	memcpy(f + 14, hdr, 8);
	memcpy(f + 22, sha.b, 6);
	for (int i = 0; i < 4; i++) {
		f[28 + i] = (uint8_t)(spa >> (24 - 8 * i));
		f[38 + i] = (uint8_t)(tpa >> (24 - 8 * i));
	}
	return 60;
}

/* 'f' from a: arrives on b byte for byte ('pass'), or is dropped and counted. */
static void st_check(const uint8_t *f, size_t len, bool pass, const char *what)
{
	swt_send(&T.a, 0, f, len);
	if (pass) {
		swt_expect(&T.b, what, 0, f, len);
	} else {
		swt_silence(&T.b, what, SILENT_MS);
		T.drops++;
	}
	int64_t got = swt_wait_stat(&T.d, "a", "drops.port_security", T.drops);
	if (got != T.drops)
		fail_msg("%s: drops.port_security %lld, want %lld", what, (long long)got,
			 (long long)T.drops);
}

static void st_start(const char *a_keys)
{
	char conf[512];
	snprintf(
	    conf, sizeof(conf),
	    "add-port a vhost-user-server queues=1 %s\nadd-port b vhost-user-server queues=1\n",
	    a_keys);
	swd_start(&T.d, conf);
	swt_fe_attach(&T.d, &T.a, "a", 1);
	swt_fe_attach(&T.d, &T.b, "b", 1);
}

static size_t st_eth(uint8_t *f, uint8_t src)
{
	return swt_eth(f, 100, swt_bcast, swt_mac(src), ++T.seq);
}

static size_t st_udp(uint8_t *f, uint8_t src, uint32_t sip, uint16_t sport, uint16_t dport)
{
	return swt_ip4(f, swt_bcast, swt_mac(src), 17, sip, SWT_IP(10, 0, 0, 99), sport, dport, 40,
		       ++T.seq);
}

static void test_sw_port_security_mac(void **state)
{
	(void)state;
	uint8_t f[SWT_FRAME_MAX];
	st_start("allowed-mac=02:00:00:00:00:01,02:00:00:00:00:02");
	st_check(f, st_eth(f, 1), true, "listed source 01");
	st_check(f, st_eth(f, 2), true, "listed source 02");
	st_check(f, st_eth(f, 3), false, "unlisted source 03");
	st_check(f, st_arp(f, swt_mac(1), swt_mac(1), SWT_IP(10, 0, 0, 1), SWT_IP(10, 0, 0, 2)),
		 true, "ARP from 01");
	st_check(f, st_arp(f, swt_mac(1), swt_mac(9), SWT_IP(10, 0, 0, 1), SWT_IP(10, 0, 0, 2)),
		 false, "ARP with a spoofed sender MAC");
	/* Tagged frames are checked the same way (the key's source, after the tag). */
	size_t n = st_eth(f, 3);
	st_check(f, swt_tag(f, n, 5), false, "tagged, unlisted source");
	/* No IP list: any IPv4 source from a listed MAC. */
	st_check(f, st_udp(f, 1, SWT_IP(192, 168, 7, 7), 1, 2), true, "any IPv4 source");
	/* Nothing was learned from the dropped frames. */
	json_t *fdb = swctl_ok(&T.d, true, "fdb-show");
	size_t i;
	json_t *e;
	json_array_foreach(fdb, i, e)
	{
		const char *mac = json_string_value(json_object_get(e, "mac"));
		if (strcmp(mac, "02:00:00:00:00:03") == 0 || strcmp(mac, "02:00:00:00:00:09") == 0)
			fail_msg("a dropped frame's source %s was learned", mac);
	}
	json_decref(fdb);
	/* The other port is unrestricted. */
	swt_send(&T.b, 0, f, st_eth(f, 3));
	swt_expect(&T.a, "b unrestricted", 0, f, 100);
	assert_int_equal(swt_stat(&T.d, "b", "drops.port_security"), 0);
}

static void test_sw_port_security_ip(void **state)
{
	(void)state;
	uint8_t f[SWT_FRAME_MAX];
	st_start("allowed-mac=02:00:00:00:00:01 allowed-ip=10.0.0.1,10.0.0.11");
	const uint32_t ok = SWT_IP(10, 0, 0, 1), ok2 = SWT_IP(10, 0, 0, 11);
	st_check(f, st_udp(f, 1, ok, 1000, 2000), true, "IPv4 from 10.0.0.1");
	st_check(f, st_udp(f, 1, ok2, 1000, 2000), true, "IPv4 from 10.0.0.11");
	st_check(f, st_udp(f, 1, SWT_IP(10, 0, 0, 2), 1000, 2000), false, "IPv4 from 10.0.0.2");
	st_check(f, st_udp(f, 2, ok, 1000, 2000), false, "listed IP, unlisted MAC");
	st_check(f, swt_ip4(f, swt_bcast, swt_mac(1), 1, SWT_IP(1, 2, 3, 4), ok, 7, 0, 20, ++T.seq),
		 false, "ICMP from a spoofed source");
	st_check(f, st_arp(f, swt_mac(1), swt_mac(1), ok, SWT_IP(10, 0, 0, 2)), true,
		 "ARP from 10.0.0.1");
	st_check(f, st_arp(f, swt_mac(1), swt_mac(1), SWT_IP(10, 0, 0, 3), SWT_IP(10, 0, 0, 2)),
		 false, "ARP claiming 10.0.0.3");
	st_check(f, st_arp(f, swt_mac(1), swt_mac(1), 0, ok), true, "ARP probe from 0.0.0.0");
	st_check(f, st_udp(f, 1, 0, 68, 67), true, "DHCP request from 0.0.0.0");
	st_check(f, st_udp(f, 1, 0, 1234, 67), false, "other UDP from 0.0.0.0");
	/* A runt IPv4 header carries no checkable source. */
	size_t n = st_udp(f, 1, ok, 1, 2);
	st_check(f, 14 + 10, false, "truncated IPv4 header");
	(void)n;
	/* Not IPv4 or ARP: only the MAC list applies. */
	st_check(f, st_eth(f, 1), true, "non-IP ethertype");
	st_check(f, st_eth(f, 4), false, "non-IP ethertype, unlisted MAC");
}

static bool st_config_has(const char *needle)
{
	char *s = swt_read_file(T.d.conf, NULL);
	bool r = s && strstr(s, needle);
	free(s);
	return r;
}

static void test_sw_port_security_change(void **state)
{
	(void)state;
	uint8_t f[SWT_FRAME_MAX];
	st_start("");
	st_check(f, st_eth(f, 7), true, "no lists");
	swctl_do(&T.d, "set-port", "a", "allowed-mac=02:00:00:00:00:01", "allowed-ip=10.0.0.1");
	assert_true(st_config_has("allowed-mac=02:00:00:00:00:01 allowed-ip=10.0.0.1"));
	st_check(f, st_eth(f, 7), false, "after set-port allowed-mac");
	st_check(f, st_udp(f, 1, SWT_IP(10, 0, 0, 1), 5, 6), true, "listed after set-port");

	/* Restart: the lists come back from the config file. */
	fe_close(&T.a);
	fe_close(&T.b);
	assert_int_equal(swd_signal_wait(&T.d, SIGKILL, 5000) >= 0, 1);
	assert_int_equal(swd_spawn(&T.d, T.d.conf), 0);
	assert_int_equal(swd_wait_ready(&T.d, 10000), 0);
	swt_fe_attach(&T.d, &T.a, "a", 1);
	swt_fe_attach(&T.d, &T.b, "b", 1);
	T.drops = 0; /* counters start again */
	st_check(f, st_udp(f, 1, SWT_IP(10, 0, 0, 2), 5, 6), false, "after restart");
	st_check(f, st_udp(f, 1, SWT_IP(10, 0, 0, 1), 5, 6), true, "listed after restart");

	swctl_do(&T.d, "set-port", "a", "allowed-ip=any");
	st_check(f, st_udp(f, 1, SWT_IP(10, 0, 0, 2), 5, 6), true, "allowed-ip lifted");
	st_check(f, st_eth(f, 7), false, "allowed-mac kept");
	swctl_do(&T.d, "set-port", "a", "allowed-mac=any");
	st_check(f, st_eth(f, 7), true, "everything lifted");
	assert_false(st_config_has("allowed-"));

	/* A bad list is refused and changes nothing. */
	struct swr r;
	swctl(&T.d, &r, false, "set-port", "a", "allowed-mac=ff:ff:ff:ff:ff:ff");
	assert_int_not_equal(r.rc, 0);
	assert_non_null(strstr(r.err, "multicast"));
	swr_free(&r);
	st_check(f, st_eth(f, 7), true, "after a refused set-port");
}

static void test_sw_socket_owner(void **state)
{
	(void)state;
	swt_require();
	st_require_root();
	struct passwd *pw = getpwnam("nobody");
	struct group *gr = getgrnam("nogroup");
	if (!pw || !gr) {
		fprintf(stderr, "SKIP: needs user nobody and group nogroup\n");
		skip();
	}
	uid_t uid = pw->pw_uid;
	gid_t gid = gr->gr_gid;
	swd_start(&T.d, "add-port a vhost-user-server queues=1\n");
	swctl_do(&T.d, "add-port", "s1", "vhost-user-server", "owner=nobody", "group=nogroup",
		 "perm=0640");
	swctl_do(&T.d, "add-port", "s2", "vhost-user-server", "owner=4242", "group=4243");
	char path[192];
	struct stat st;
	swd_sock(&T.d, "s1", path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, uid);
	assert_int_equal(st.st_gid, gid);
	assert_int_equal(st.st_mode & 07777, 0640);
	swd_sock(&T.d, "s2", path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, 4242);
	assert_int_equal(st.st_gid, 4243);
	assert_int_equal(st.st_mode & 07777, 0660);
	swd_sock(&T.d, "a", path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_mode & 07777, 0660);
	assert_true(st_config_has("owner=nobody group=nogroup"));

	struct swr r;
	swctl(&T.d, &r, false, "add-port", "s3", "vhost-user-server", "owner=no-such-user-rs");
	assert_int_not_equal(r.rc, 0);
	if (!strstr(r.err, "no such user"))
		fail_msg("unknown owner: stderr '%s'", r.err);
	swr_free(&r);
	swctl(&T.d, &r, false, "add-port", "s3", "vhost-user-server", "group=no-such-group-rs");
	assert_int_not_equal(r.rc, 0);
	assert_non_null(strstr(r.err, "no such group"));
	swr_free(&r);
	assert_false(st_config_has("s3"));
	swd_sock(&T.d, "s3", path, sizeof(path));
	assert_int_not_equal(stat(path, &st), 0);

	/* Restart: the ownership is applied again from the config file. */
	assert_true(swd_signal_wait(&T.d, SIGTERM, 5000) >= 0);
	assert_int_equal(swd_spawn(&T.d, T.d.conf), 0);
	assert_int_equal(swd_wait_ready(&T.d, 10000), 0);
	swd_sock(&T.d, "s1", path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, uid);
	assert_int_equal(st.st_gid, gid);
}

static void test_sw_ctl_group(void **state)
{
	(void)state;
	swt_require();
	st_require_root();
	struct group *gr = getgrnam("nogroup");
	if (!gr) {
		fprintf(stderr, "SKIP: needs group nogroup\n");
		skip();
	}
	gid_t gid = gr->gr_gid;
	static const char *const extra[] = {"--ctl-group", "nogroup", NULL};
	swd_init(&T.d);
	T.d.extra_args = extra;
	assert_int_equal(swd_spawn(&T.d, T.d.conf), 0);
	assert_int_equal(swd_wait_ready(&T.d, 10000), 0);
	char path[192];
	struct stat st;
	snprintf(path, sizeof(path), "%s/ctl.sock", T.d.run);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_gid, gid);
	assert_int_equal(st.st_mode & 07777, 0660);
	assert_true(swd_signal_wait(&T.d, SIGTERM, 5000) >= 0);

	static const char *const bad[] = {"--ctl-group", "no-such-group-rs", NULL};
	T.d.extra_args = bad;
	assert_int_equal(swd_spawn(&T.d, T.d.conf), 0);
	int status = swd_signal_wait(&T.d, 0, 5000);
	(void)status;
	assert_true(T.d.pid == 0);
	assert_true(WIFEXITED(T.d.status) && WEXITSTATUS(T.d.status) != 0);
	assert_true(swd_log_count(&T.d, "--ctl-group no-such-group-rs: no such group") > 0);
}

/* Starts the daemon on a prepared run dir; true when it came up. */
static bool st_try_start(void)
{
	assert_int_equal(swd_spawn(&T.d, T.d.conf), 0);
	if (swd_wait_ready(&T.d, 10000) == 0) {
		(void)swd_signal_wait(&T.d, SIGTERM, 5000);
		return true;
	}
	return false;
}

static void test_sw_run_dir_refused(void **state)
{
	(void)state;
	swt_require();
	st_require_root();
	swd_init(&T.d);
	assert_int_equal(mkdir(T.d.run, 0700), 0);

	assert_int_equal(chmod(T.d.run, 0777), 0);
	assert_false(st_try_start());
	assert_true(WIFEXITED(T.d.status) && WEXITSTATUS(T.d.status) == 1);
	assert_int_equal(swd_log_count(&T.d, "refusing run directory"), 1);
	assert_int_equal(swd_log_count(&T.d, "writable by every user (mode 0777)"), 1);

	assert_int_equal(chmod(T.d.run, 01777), 0); /* like /tmp: fine */
	assert_true(st_try_start());

	assert_int_equal(chmod(T.d.run, 0755), 0);
	assert_int_equal(chown(T.d.run, 65534, 65534), 0);
	assert_false(st_try_start());
	assert_int_equal(swd_log_count(&T.d, "refusing run directory"), 2);
	assert_int_equal(swd_log_count(&T.d, "owned by uid 65534"), 1);

	assert_int_equal(chown(T.d.run, 0, 0), 0);
	assert_true(st_try_start());
}

#define T_(f) cmocka_unit_test_setup_teardown(f, st_setup, st_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T_(test_sw_port_security_mac),
	    T_(test_sw_port_security_ip),
	    T_(test_sw_port_security_change),
	    T_(test_sw_socket_owner),
	    T_(test_sw_ctl_group),
	    T_(test_sw_run_dir_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
