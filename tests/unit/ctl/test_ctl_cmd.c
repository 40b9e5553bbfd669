/*
 * test_ctl_cmd.c - every verb: good lines (-> canonical text, which must
 * parse back to the same struct) and bad lines (-> message, token index and
 * column), struct fields for ports and settings, set-port merging
 * (ctl_port_apply), and a random round trip for add-port and set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include <cmocka.h>

#include "ctl/ctl_cmd.h"
#include "lib/log.h"

static int resolve(void *ctx, const char *name)
{
	(void)ctx;
	if (strcmp(name, "vm1") == 0)
		return 1;
	if (strcmp(name, "vm2") == 0)
		return 2;
	return -ENOENT;
}

static void parse_ok(const char *line, struct ctl_cmd *c)
{
	struct ctl_error err;
	int r = ctl_cmd_parse_line(line, strlen(line), resolve, NULL, c, &err);
	if (r != 0)
		fail_msg("'%s': %d %s", line, r, err.msg);
}

struct good {
	const char *in, *out;
};

static const struct good goods[] = {
    {"show", "show"},
    {"pmd-show", "pmd-show"},
    {"fdb-show", "fdb-show"},
    {"reload", "reload"},
    {"dump-flows", "dump-flows"},
    {"dump-flows 'tcp, tp_dst=80'", "dump-flows tcp,tp_dst=80"},
    {"port-stats", "port-stats"},
    {"port-stats vm1", "port-stats vm1"},
    {"fdb-flush", "fdb-flush"},
    {"fdb-flush vm.1", "fdb-flush vm.1"},
    {"del-port vm1", "del-port vm1"},
    {"add-port vm1 vhost-user-server", "add-port vm1 vhost-user-server"},
    {"add-port vm1 vhost-user-server path=/run/rs/vm1.sock perm=660 queues=2 # c",
     "add-port vm1 vhost-user-server path=/run/rs/vm1.sock perm=0660 queues=2"},
    {"add-port vm1 vhost-user-server perm=0 queues=16",
     "add-port vm1 vhost-user-server perm=0000 queues=16"},
    {"add-port vm2 vhost-user-client path='/tmp/my sock' reconnect-ms=500 tag=10",
     "add-port vm2 vhost-user-client 'path=/tmp/my sock' reconnect-ms=500 vlan-mode=access "
     "tag=10"},
    {"add-port vm2 vhost-user-client \"path=/tmp/it's\" reconnect-ms=3600000",
     "add-port vm2 vhost-user-client 'path=/tmp/it'\\''s' reconnect-ms=3600000"},
    {"add-port t0 tap ifname=tap-x queues=4 trunks=10,20,30-40,41 rxq-affinity=0:1,3:2",
     "add-port t0 tap ifname=tap-x queues=4 vlan-mode=trunk trunks=10,20,30-41 "
     "rxq-affinity=0:1,3:2"},
    {"add-port t0 tap trunks=0-4095 ifname=123",
     "add-port t0 tap ifname=123 vlan-mode=trunk trunks=0-4095"},
    {"add-port t1 tap vlan-mode=trunk", "add-port t1 tap vlan-mode=trunk"},
    {"add-port t1 tap vlan-mode=access", "add-port t1 tap vlan-mode=access"},
    {"add-port t1 tap tag=0 vlan-mode=access", "add-port t1 tap vlan-mode=access tag=0"},
    {"add-port t1 tap vlan-mode=trunk trunks=7", "add-port t1 tap vlan-mode=trunk trunks=7"},
    {"add-port vm1 vhost-user-server owner=qemu group=kvm perm=0660",
     "add-port vm1 vhost-user-server perm=0660 owner=qemu group=kvm"},
    {"add-port vm1 vhost-user-server owner=107 group=0",
     "add-port vm1 vhost-user-server owner=107 group=0"},
    {"add-port vm1 tap allowed-mac=02:00:00:00:00:0A,2:0:0:0:0:b allowed-ip=10.0.0.1,192.168.1.255",
     "add-port vm1 tap allowed-mac=02:00:00:00:00:0a,02:00:00:00:00:0b "
     "allowed-ip=10.0.0.1,192.168.1.255"},
    {"add-port vm1 tap allowed-mac=any allowed-ip=any", "add-port vm1 tap"},
    {"add-port vm1 vhost-user-client path=/x allowed-ip=0.0.0.0",
     "add-port vm1 vhost-user-client path=/x allowed-ip=0.0.0.0"},
    {"set-port vm1 allowed-mac=02:00:00:00:00:01", "set-port vm1 allowed-mac=02:00:00:00:00:01"},
    {"set-port vm1 allowed-mac=any allowed-ip=any", "set-port vm1 allowed-mac=any allowed-ip=any"},
    {"set-port vm1 tag=20", "set-port vm1 vlan-mode=access tag=20"},
    {"set-port vm1 reconnect-ms=0 rxq-affinity=15:1023",
     "set-port vm1 reconnect-ms=0 rxq-affinity=15:1023"},
    {"set pmd-cores=2,1 poll-mode=adaptive idle-us=100 mac-aging=300 mac-table-size=8192 "
     "log-level=debug",
     "set pmd-cores=1-2 poll-mode=adaptive idle-us=100 mac-aging=300 mac-table-size=8192 "
     "log-level=debug"},
    {"set log-level=err poll-mode=busy", "set poll-mode=busy log-level=err"},
    {"set pmd-cores=0,1023 idle-us=0 mac-aging=86400 mac-table-size=16",
     "set pmd-cores=0,1023 idle-us=0 mac-aging=86400 mac-table-size=16"},
    {"set metrics-listen=127.0.0.1:9100", "set metrics-listen=127.0.0.1:9100"},
    {"set metrics-listen=0.0.0.0:0x2382 log-level=info",
     "set log-level=info metrics-listen=0.0.0.0:9090"},
    {"set metrics-listen=off", "set metrics-listen=off"},
    {"set metrics-listen=", "set metrics-listen=off"},
    {"set metrics-listen=[0:0::1]:65535", "set metrics-listen=[::1]:65535"},
    {"set 'metrics-listen=[::]:1'", "set metrics-listen=[::]:1"},
    {"add-flow 'priority=100,in_port=vm1,tcp,tp_dst=80,actions=output:vm2'",
     "add-flow priority=100,tcp,in_port=vm1,tp_dst=80,actions=output:vm2"},
    {"add-flow \"ip nw_src=10.0.0.0/8 actions=drop\"",
     "add-flow priority=32768,ip,nw_src=10.0.0.0/8,actions=drop"},
    {"del-flows", "del-flows"},
    {"del-flows in_port=vm1", "del-flows in_port=vm1"},
    {"del-flows --strict", "del-flows --strict priority=32768"},
    {"del-flows --strict 'priority=5,ip'", "del-flows --strict priority=5,ip"},
};

static void test_good(void **state)
{
	(void)state;
	char buf[CTL_CMD_TEXT_MAX];
	struct ctl_cmd a, b;

	for (size_t i = 0; i < sizeof(goods) / sizeof(goods[0]); i++) {
		parse_ok(goods[i].in, &a);
		size_t n = ctl_cmd_format(&a, NULL, NULL, buf, sizeof(buf));
		assert_int_equal(n, strlen(buf));
		if (strcmp(buf, goods[i].out) != 0)
			fail_msg("'%s'\n  got  %s\n  want %s", goods[i].in, buf, goods[i].out);
		parse_ok(buf, &b);
		if (memcmp(&a, &b, sizeof(a)) != 0)
			fail_msg("'%s' does not round-trip through '%s'", goods[i].in, buf);
	}
}

struct bad {
	const char *in;
	const char *msg;
	int token, column;
};

static const struct bad bads[] = {
    {"frobnicate", "token 'frobnicate': unknown command", 0, 1},
    {"show x", "token 'x': too many arguments: usage: show", 1, 6},
    {"reload now please", "token 'now': too many arguments: usage: reload", 1, 8},
    {"add-port vm1", "missing argument: usage: add-port NAME TYPE [KEY=VALUE...]", 2, 14},
    {"add-port 1234 tap",
     "token '1234': port name must not be all digits (it would read as a port number)", 1, 10},
    {"add-port averyveryverylongname tap",
     "token 'averyveryverylongname': port name must be 1..15 bytes", 1, 10},
    {"add-port 'a b' tap", "token 'a b': port name may only hold A-Z a-z 0-9 _ . -", 1, 10},
    {"add-port vm1 vhost-user",
     "token 'vhost-user': port type must be vhost-user-server|vhost-user-client|tap", 2, 14},
    {"add-port vm1 tap queues=99", "token 'queues=99': queues out of range 1..16", 3, 25},
    {"add-port vm1 tap queues=0", "token 'queues=0': queues out of range 1..16", 3, 25},
    {"add-port vm1 tap queues=x", "token 'queues=x': queues out of range 1..16", 3, 25},
    {"add-port vm1 tap tag=4096", "token 'tag=4096': tag out of range 0..4095", 3, 22},
    {"add-port vm1 tap path=/x", "token 'path=/x': path does not apply to tap ports", 3, 18},
    {"add-port vm1 vhost-user-client",
     "token 'vhost-user-client': vhost-user-client ports need path=", 2, 14},
    {"add-port vm1 vhost-user-server path=rel.sock", "token 'path=rel.sock': path must be absolute",
     3, 37},
    {"add-port vm1 vhost-user-server path=/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     "token 'path=/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...': path too long for a "
     "unix socket (max 107 bytes)",
     3, 37},
    {"add-port vm1 vhost-user-server perm=0999", "token 'perm=0999': perm must be octal 0..0777", 3,
     37},
    {"add-port vm1 vhost-user-server perm=1777", "token 'perm=1777': perm must be octal 0..0777", 3,
     37},
    {"add-port vm1 vhost-user-server perm=00660", "token 'perm=00660': perm must be octal 0..0777",
     3, 37},
    {"add-port vm1 vhost-user-server reconnect-ms=5",
     "token 'reconnect-ms=5': reconnect-ms does not apply to vhost-user-server ports", 3, 32},
    {"add-port vm1 tap tag=1 trunks=2", "token 'trunks=2': tag and trunks exclude each other", 4,
     24},
    {"add-port vm1 tap vlan-mode=trunk tag=1", "token 'tag=1': tag requires vlan-mode=access", 4,
     34},
    {"add-port vm1 tap trunks=1 vlan-mode=access",
     "token 'trunks=1': trunks requires vlan-mode=trunk", 3, 18},
    {"add-port vm1 tap vlan-mode=hybrid",
     "token 'vlan-mode=hybrid': vlan-mode must be access|trunk", 3, 28},
    {"add-port vm1 tap trunks=10,,20", "token 'trunks=10,,20': empty element in list", 3, 28},
    {"add-port vm1 tap trunks=10,", "token 'trunks=10,': empty element in list", 3, 28},
    {"add-port vm1 tap trunks=1,40-30", "token 'trunks=1,40-30': bad range 40-30", 3, 27},
    {"add-port vm1 tap trunks=5000", "token 'trunks=5000': VLAN out of range 0..4095", 3, 25},
    {"add-port vm1 tap trunks=1-5000", "token 'trunks=1-5000': VLAN out of range 0..4095", 3, 25},
    {"add-port vm1 tap trunks=1-5,3", "token 'trunks=1-5,3': VLAN 3 listed twice", 3, 29},
    {"add-port vm1 tap trunks=", "token 'trunks=': missing value: use trunks=VALUE", 3, 18},
    {"add-port vm1 tap queues", "token 'queues': missing value: use queues=VALUE", 3, 18},
    {"add-port vm1 tap rxq-affinity=0:1,1:1",
     "token 'rxq-affinity=0:1,1:1': rxq-affinity queue 1 but the port has 1 queue(s)", 3, 18},
    {"add-port vm1 tap queues=2 rxq-affinity=0:1,0:2",
     "token 'rxq-affinity=0:1,0:2': queue 0 listed twice", 4, 44},
    {"add-port vm1 tap rxq-affinity=0-1",
     "token 'rxq-affinity=0-1': rxq-affinity wants QUEUE:CORE, queue 0..15, core 0..1023", 3, 31},
    {"add-port vm1 tap rxq-affinity=0:1024",
     "token 'rxq-affinity=0:1024': rxq-affinity wants QUEUE:CORE, queue 0..15, core 0..1023", 3,
     31},
    {"add-port vm1 tap queues=2 queues=3", "token 'queues=3': duplicate key queues", 4, 27},
    {"add-port vm1 tap color=red", "token 'color=red': unknown port key 'color'", 3, 18},
    {"add-port vm1 tap ifname=a/b", "token 'ifname=a/b': ifname may only hold A-Z a-z 0-9 _ . -", 3,
     25},
    {"add-port vm1 tap ifname=..", "token 'ifname=..': ifname must not be '.' or '..'", 3, 25},
    {"set-port vm1", "missing argument: usage: set-port NAME KEY=VALUE...", 2, 14},
    {"set-port vm1 queues=2",
     "token 'queues=2': queues cannot be changed by set-port: del-port and add-port again", 2, 14},
    {"set-port vm1 path=/x",
     "token 'path=/x': path cannot be changed by set-port: del-port and add-port again", 2, 14},
    {"set-port vm1 tag=1 trunks=2", "token 'trunks=2': tag and trunks exclude each other", 3, 20},
    {"add-port vm1 tap allowed-mac=02:00:00:00:00",
     "token 'allowed-mac=02:00:00:00:00': bad MAC "
     "(want xx:xx:xx:xx:xx:xx)",
     3, 30},
    {"add-port vm1 tap allowed-mac=01:00:5e:00:00:01",
     "token 'allowed-mac=01:00:5e:00:00:01': a multicast MAC cannot be a source", 3, 30},
    {"add-port vm1 tap allowed-mac=2:0:0:0:0:1,02:00:00:00:00:01",
     "token 'allowed-mac=2:0:0:0:0:1,02:00:00:00:00:01': MAC listed twice", 3, 42},
    {"add-port vm1 tap allowed-mac=2:0:0:0:0:1,",
     "token 'allowed-mac=2:0:0:0:0:1,': empty element "
     "in list",
     3, 42},
    {"add-port vm1 tap allowed-mac=2:0:0:0:0:1,2:0:0:0:0:2,2:0:0:0:0:3,2:0:0:0:0:4,2:0:0:0:0:5,"
     "2:0:0:0:0:6,2:0:0:0:0:7,2:0:0:0:0:8,2:0:0:0:0:9",
     "token 'allowed-mac=2:0:0:0:0:1,2:0:0:0:0:2,2:0:0:0:0:3,2:0:0:0:0:4,...': at most 8 "
     "addresses",
     3, 126},
    {"add-port vm1 tap allowed-ip=10.0.0.256",
     "token 'allowed-ip=10.0.0.256': bad IPv4 address "
     "(want A.B.C.D)",
     3, 29},
    {"add-port vm1 tap allowed-ip=10.0.0.1/24",
     "token 'allowed-ip=10.0.0.1/24': bad IPv4 address "
     "(want A.B.C.D)",
     3, 29},
    {"add-port vm1 tap allowed-ip=10.0.0.1,10.0.0.1",
     "token 'allowed-ip=10.0.0.1,10.0.0.1': IPv4 address listed twice", 3, 38},
    {"add-port vm1 tap allowed-ip=", "token 'allowed-ip=': missing value: use allowed-ip=VALUE", 3,
     18},
    {"add-port vm1 tap owner=qemu", "token 'owner=qemu': owner does not apply to tap ports", 3, 18},
    {"add-port vm1 vhost-user-client path=/x group=kvm",
     "token 'group=kvm': group does not apply to vhost-user-client ports", 4, 40},
    {"add-port vm1 vhost-user-server owner=-x",
     "token 'owner=-x': owner must be a name ([A-Za-z0-9_.-], not starting with -) or a number", 3,
     38},
    {"add-port vm1 vhost-user-server group=a/b",
     "token 'group=a/b': group must be a name ([A-Za-z0-9_.-], not starting with -) or a number", 3,
     38},
    {"add-port vm1 vhost-user-server owner=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     "token 'owner=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa': owner must be 1..32 bytes", 3, 38},
    {"set-port vm1 owner=qemu",
     "token 'owner=qemu': owner cannot be changed by set-port: del-port and add-port again", 2, 14},
    {"del-port", "missing argument: usage: del-port NAME", 1, 10},
    {"del-port a b", "token 'b': too many arguments: usage: del-port NAME", 2, 12},
    {"set", "missing argument: usage: set KEY=VALUE...", 1, 5},
    {"set pmd-cores=1,1024", "token 'pmd-cores=1,1024': CPU out of range 0..1023", 1, 17},
    {"set poll-mode=lazy", "token 'poll-mode=lazy': poll-mode must be busy|adaptive", 1, 15},
    {"set idle-us=10000001", "token 'idle-us=10000001': idle-us out of range 0..10000000", 1, 13},
    {"set mac-aging=0", "token 'mac-aging=0': mac-aging out of range 1..86400", 1, 15},
    {"set mac-table-size=15", "token 'mac-table-size=15': mac-table-size out of range 16..16777216",
     1, 20},
    {"set log-level=verbose", "token 'log-level=verbose': log-level must be err|warn|info|debug", 1,
     15},
    {"set foo=1", "token 'foo=1': unknown setting 'foo'", 1, 5},
    {"set metrics-listen=localhost:9100",
     "token 'metrics-listen=localhost:9100': metrics-listen: not a numeric IPv4 address (host "
     "names are not resolved)",
     1, 20},
    {"set metrics-listen=10.0.0.1",
     "token 'metrics-listen=10.0.0.1': metrics-listen: want "
     "IPV4:PORT or [IPV6]:PORT",
     1, 20},
    {"set metrics-listen=10.0.0.1:0",
     "token 'metrics-listen=10.0.0.1:0': metrics-listen: port out of range 1..65535", 1, 20},
    {"set metrics-listen=10.0.0.1:65536",
     "token 'metrics-listen=10.0.0.1:65536': metrics-listen: port out of range 1..65535", 1, 20},
    {"set metrics-listen=:9100",
     "token 'metrics-listen=:9100': metrics-listen: missing address before ':PORT'", 1, 20},
    {"set metrics-listen=::1:9100",
     "token 'metrics-listen=::1:9100': metrics-listen: an IPv6 address goes in brackets: "
     "[IPV6]:PORT",
     1, 20},
    {"set metrics-listen=[::1]9100",
     "token 'metrics-listen=[::1]9100': metrics-listen: want [IPV6]:PORT", 1, 20},
    {"set metrics-listen=[10.0.0.1]:80",
     "token 'metrics-listen=[10.0.0.1]:80': metrics-listen: not an IPv6 address", 1, 20},
    {"set metrics-listen=256.0.0.1:80",
     "token 'metrics-listen=256.0.0.1:80': metrics-listen: "
     "not a numeric IPv4 address (host names are not resolved)",
     1, 20},
    {"set log-level", "token 'log-level': missing value: use log-level=VALUE", 1, 5},
    {"set log-level=err log-level=info", "token 'log-level=info': duplicate key log-level", 2, 19},
    {"add-flow", "missing argument: usage: add-flow FLOW (one argument: quote it)", 1, 10},
    {"add-flow ip actions=drop",
     "token 'actions=drop': too many arguments: usage: add-flow FLOW (one argument: quote it)", 2,
     13},
    {"add-flow 'ip,tp_dst=80,actions=drop'",
     "token 'tp_dst=80': tp_dst requires nw_proto=6, 17 or 132", 1, 14},
    {"add-flow \"tcp,tp_dst=99999,actions=drop\"",
     "token 'tp_dst=99999': port out of range 0..65535", 1, 15},
    {"add-flow 'in_port=vm3,actions=drop'", "token 'in_port=vm3': unknown port 'vm3'", 1, 11},
    {"add-flow ip", "token 'ip': missing actions= (use actions=drop to drop)", 1, 10},
    {"del-flows priority=5",
     "token 'priority=5': priority is only allowed with add-flow or --strict", 1, 11},
    {"del-flows ip,actions=drop", "token 'actions=drop': actions are not allowed here", 1, 14},
    {"del-flows --strict a b", "token 'b': too many arguments: usage: del-flows [--strict] [MATCH]",
     3, 22},
    {"del-flows ip tcp", "token 'tcp': del-flows takes one MATCH argument: quote it", 2, 14},
    {"del-flows --bogus", "token '--bogus': unknown option", 1, 11},
    {"dump-flows --strict ip", "token 'ip': too many arguments: usage: dump-flows [MATCH]", 2, 21},
    {"port-stats 9", "token '9': port name must not be all digits (it would read as a port number)",
     1, 12},
    {"fdb-flush a b", "token 'b': too many arguments: usage: fdb-flush [PORT]", 2, 13},
    {"set 'idle-us=1", "unterminated single quote", 1, 5},
};

static void test_bad(void **state)
{
	(void)state;
	struct ctl_error err;
	struct ctl_cmd c;

	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		memset(&err, 0, sizeof(err));
		int r = ctl_cmd_parse_line(bads[i].in, strlen(bads[i].in), resolve, NULL, &c, &err);
		if (r != -EINVAL)
			fail_msg("'%s': expected -EINVAL, got %d", bads[i].in, r);
		if (strcmp(err.msg, bads[i].msg) || err.token_index != bads[i].token ||
		    err.column != bads[i].column)
			fail_msg("'%s'\n  got  tok %d col %d: %s\n  want tok %d col %d: %s",
				 bads[i].in, err.token_index, err.column, err.msg, bads[i].token,
				 bads[i].column, bads[i].msg);
		assert_int_equal(c.verb, CTL_VERB_NONE); /* nothing half-parsed */
	}
}

static void test_blank(void **state)
{
	(void)state;
	struct ctl_error err;
	struct ctl_cmd c;
	struct ctl_tokens t = {0};

	assert_int_equal(ctl_cmd_parse_line("  # nothing", 11, NULL, NULL, &c, &err), -ENODATA);
	assert_int_equal(ctl_cmd_parse(&t, NULL, NULL, &c, &err), -EINVAL);
	assert_string_equal(err.msg, "empty command");
}

static void test_fields(void **state)
{
	(void)state;
	struct ctl_cmd c;

	parse_ok("add-port t0 tap queues=4 trunks=10,20,30-40 rxq-affinity=0:1,3:2", &c);
	const struct ctl_port_spec *p = &c.u.port_spec;
	assert_int_equal(c.verb, CTL_ADD_PORT);
	assert_string_equal(p->name, "t0");
	assert_int_equal(p->type, CTL_PORT_TAP);
	assert_int_equal(p->queues, 4);
	assert_int_equal(p->vlan_mode, CTL_VLAN_TRUNK);
	assert_int_equal(p->set, CTL_PORT_F_QUEUES | CTL_PORT_F_TRUNKS | CTL_PORT_F_RXQ_AFF |
				     CTL_PORT_F_VLAN_MODE);
	for (unsigned v = 0; v < 4096; v++)
		assert_int_equal(ctl_bitmap_test(p->trunks, v),
				 v == 10 || v == 20 || (v >= 30 && v <= 40));
	assert_int_equal(p->n_rxq_aff, 2);
	assert_int_equal(p->rxq_aff[1].queue, 3);
	assert_int_equal(p->rxq_aff[1].core, 2);
	assert_string_equal(p->ifname, "");
	assert_string_equal(p->path, "");

	parse_ok("add-port s0 vhost-user-server path=/run/x.sock perm=0640", &c);
	assert_int_equal(c.u.port_spec.type, CTL_PORT_VHOST_SERVER);
	assert_int_equal(c.u.port_spec.perm, 0640);
	assert_string_equal(c.u.port_spec.path, "/run/x.sock");
	assert_int_equal(c.u.port_spec.vlan_mode, CTL_VLAN_NONE);

	parse_ok("set pmd-cores=1,3-4 poll-mode=adaptive idle-us=50 log-level=warn", &c);
	const struct ctl_settings *s = &c.u.settings;
	assert_int_equal(c.verb, CTL_SET);
	assert_int_equal(s->set, CTL_SET_F_PMD_CORES | CTL_SET_F_POLL_MODE | CTL_SET_F_IDLE_US |
				     CTL_SET_F_LOG_LEVEL);
	assert_int_equal(s->pmd_cores[0], 0x1a);
	assert_int_equal(s->poll_mode, CTL_POLL_ADAPTIVE);
	assert_int_equal(s->idle_us, 50);
	assert_int_equal(s->log_level, RS_LOG_WARN);

	parse_ok("del-flows --strict priority=7,in_port=vm2", &c);
	assert_true(c.u.filter.strict);
	assert_int_equal(c.u.filter.flow.priority, 7);
	assert_int_equal(c.u.filter.flow.match.in_port, 2);
}

static void test_deferred_names(void **state)
{
	(void)state;
	struct ctl_error err;
	struct ctl_cmd c;
	const char *line = "add-flow in_port=vm9,actions=output:vm1";

	/* No resolver: names stay unresolved for later. */
	assert_int_equal(ctl_cmd_parse_line(line, strlen(line), NULL, NULL, &c, &err), 0);
	assert_int_equal(c.u.flow.match.in_port, CTL_PORT_UNRESOLVED);
	assert_string_equal(c.u.flow.in_port_name, "vm9");
	assert_int_equal(ctl_flow_resolve(&c.u.flow, resolve, NULL, &err), -ENOENT);
	assert_string_equal(err.msg, "unknown port 'vm9'");
}

/* set-port applied to an existing port. */
static void test_port_apply(void **state)
{
	(void)state;
	struct ctl_cmd base, upd;
	struct ctl_error err;
	char buf[CTL_CMD_TEXT_MAX];

	parse_ok("add-port vm1 vhost-user-client path=/x queues=2 trunks=1-3", &base);
	struct ctl_port_spec port = base.u.port_spec;

	parse_ok("set-port vm1 tag=5", &upd);
	assert_int_equal(ctl_port_apply(&port, &upd.u.port_spec, &err), 0);
	ctl_port_format(&port, buf, sizeof(buf));
	assert_string_equal(
	    buf, "add-port vm1 vhost-user-client path=/x queues=2 vlan-mode=access tag=5");

	parse_ok("set-port vm1 vlan-mode=trunk reconnect-ms=9 rxq-affinity=1:3", &upd);
	assert_int_equal(ctl_port_apply(&port, &upd.u.port_spec, &err), 0);
	ctl_port_format(&port, buf, sizeof(buf));
	assert_string_equal(buf, "add-port vm1 vhost-user-client path=/x reconnect-ms=9 queues=2 "
				 "vlan-mode=trunk rxq-affinity=1:3");

	struct ctl_port_spec before = port;
	parse_ok("set-port vm1 rxq-affinity=2:0", &upd);
	assert_int_equal(ctl_port_apply(&port, &upd.u.port_spec, &err), -EINVAL);
	assert_string_equal(err.msg, "rxq-affinity queue 2 but port vm1 has 2 queue(s)");
	assert_memory_equal(&port, &before, sizeof(port));

	parse_ok("add-port t0 tap", &base);
	parse_ok("set-port t0 reconnect-ms=10", &upd);
	assert_int_equal(ctl_port_apply(&base.u.port_spec, &upd.u.port_spec, &err), -EINVAL);
	assert_string_equal(err.msg, "reconnect-ms does not apply to tap ports");
	parse_ok("set-port t0 rxq-affinity=0:7", &upd);
	assert_int_equal(ctl_port_apply(&base.u.port_spec, &upd.u.port_spec, &err), 0);

	/* Port security lists: replaced, and lifted again with "any". */
	parse_ok("set-port t0 allowed-mac=02:00:00:00:00:01 allowed-ip=10.1.2.3", &upd);
	assert_int_equal(ctl_port_apply(&base.u.port_spec, &upd.u.port_spec, &err), 0);
	ctl_port_format(&base.u.port_spec, buf, sizeof(buf));
	assert_string_equal(buf, "add-port t0 tap rxq-affinity=0:7 allowed-mac=02:00:00:00:00:01 "
				 "allowed-ip=10.1.2.3");
	parse_ok("set-port t0 allowed-ip=10.1.2.4,10.1.2.5", &upd);
	assert_int_equal(ctl_port_apply(&base.u.port_spec, &upd.u.port_spec, &err), 0);
	assert_int_equal(base.u.port_spec.n_allowed_ip, 2);
	assert_int_equal(base.u.port_spec.n_allowed_mac, 1);
	parse_ok("set-port t0 allowed-mac=any allowed-ip=any", &upd);
	assert_int_equal(ctl_port_apply(&base.u.port_spec, &upd.u.port_spec, &err), 0);
	ctl_port_format(&base.u.port_spec, buf, sizeof(buf));
	assert_string_equal(buf, "add-port t0 tap rxq-affinity=0:7");
	assert_int_equal(base.u.port_spec.set & (CTL_PORT_F_ALLOW_MAC | CTL_PORT_F_ALLOW_IP), 0);

	/* An update that was not built by set-port parsing is refused as a whole. */
	struct ctl_port_spec bad = {.set = CTL_PORT_F_QUEUES, .queues = 4};
	assert_int_equal(ctl_port_apply(&base.u.port_spec, &bad, &err), -EINVAL);
}

static void test_verb_table(void **state)
{
	(void)state;
	assert_string_equal(ctl_verb_name(CTL_ADD_PORT), "add-port");
	assert_string_equal(ctl_verb_name(CTL_DEL_FLOWS), "del-flows");
	assert_null(ctl_verb_name(CTL_VERB_NONE));
	assert_null(ctl_verb_name(CTL_VERB_COUNT));
	assert_true(ctl_verb_in_config(CTL_ADD_FLOW));
	assert_true(ctl_verb_in_config(CTL_SET));
	assert_false(ctl_verb_in_config(CTL_SHOW));
	assert_false(ctl_verb_in_config(CTL_FDB_FLUSH));
	assert_false(ctl_verb_in_config(CTL_RELOAD));
	for (int v = CTL_VERB_NONE + 1; v < CTL_VERB_COUNT; v++)
		assert_non_null(ctl_verb_name((enum ctl_verb)v));
}

static uint64_t rng = 0x2545f4914f6cdd1dull;

static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static size_t rnd_list(char *b, size_t n, unsigned max)
{
	size_t o = 0;
	unsigned at = rnd(max / 4);
	int k = 1 + (int)rnd(5);
	for (int i = 0; i < k && at < max; i++) {
		unsigned hi = at + rnd(4);
		if (hi >= max)
			hi = at;
		o += (size_t)snprintf(b + o, n - o, i ? ",%u" : "%u", at);
		if (hi > at)
			o += (size_t)snprintf(b + o, n - o, "-%u", hi);
		at = hi + 2 + rnd(max / 8);
	}
	return o;
}

static void random_port(char *b, size_t n)
{
	static const char *const types[] = {"vhost-user-server", "vhost-user-client", "tap"};
	unsigned t = rnd(3), queues = 1 + rnd(16);
	size_t o = (size_t)snprintf(b, n, "add-port p%u %s", rnd(1000), types[t]);

	if (t < 2 && (t == 1 || rnd(2)))
		o += (size_t)snprintf(b + o, n - o, " 'path=/run/rs/p %u.sock'", rnd(100));
	if (t == 0 && rnd(2))
		o += (size_t)snprintf(b + o, n - o, " perm=%o", rnd(01000));
	if (t == 1 && rnd(2))
		o += (size_t)snprintf(b + o, n - o, " reconnect-ms=%u", rnd(3600001));
	if (t == 2 && rnd(2))
		o += (size_t)snprintf(b + o, n - o, " ifname=tap%u", rnd(100));
	if (rnd(2))
		o += (size_t)snprintf(b + o, n - o, " queues=%u", queues);
	else
		queues = 1;
	switch (rnd(5)) {
	case 0:
		o += (size_t)snprintf(b + o, n - o, " tag=%u", rnd(4096));
		break;
	case 1:
		o += (size_t)snprintf(b + o, n - o, " vlan-mode=access%s", rnd(2) ? " tag=9" : "");
		break;
	case 2:
		o += (size_t)snprintf(b + o, n - o, " trunks=");
		o += rnd_list(b + o, n - o, 4096);
		break;
	case 3:
		o += (size_t)snprintf(b + o, n - o, " vlan-mode=trunk");
		break;
	default:
		break;
	}
	if (rnd(2)) {
		o += (size_t)snprintf(b + o, n - o, " rxq-affinity=");
		for (unsigned q = 0; q < queues; q++)
			o += (size_t)snprintf(b + o, n - o, q ? ",%u:%u" : "%u:%u", q, rnd(1024));
	}
	if (t == 0 && rnd(2))
		o +=
		    (size_t)snprintf(b + o, n - o, rnd(2) ? " owner=u%u" : " owner=%u", rnd(70000));
	if (t == 0 && rnd(2))
		o +=
		    (size_t)snprintf(b + o, n - o, rnd(2) ? " group=g%u" : " group=%u", rnd(70000));
	unsigned nm = rnd(CTL_PORT_ALLOWED_MAX + 1), ni = rnd(CTL_PORT_ALLOWED_MAX + 1);
	for (unsigned k = 0; k < nm; k++) /* distinct: the index is in the last byte */
		o += (size_t)snprintf(b + o, n - o, "%s%x:%x:%x:%x:%x:%x",
				      k ? "," : " allowed-mac=", rnd(128) * 2, rnd(256), rnd(256),
				      rnd(256), rnd(256) & ~7u, k);
	for (unsigned k = 0; k < ni; k++)
		o += (size_t)snprintf(b + o, n - o, "%s%u.%u.%u.%u",
				      k ? "," : " allowed-ip=", rnd(256), rnd(256), rnd(256), k);
}

static void random_set(char *b, size_t n)
{
	size_t o = (size_t)snprintf(b, n, "set");
	static const char *const lv[] = {"err", "warn", "info", "debug"};

	if (rnd(2)) {
		o += (size_t)snprintf(b + o, n - o, " pmd-cores=");
		o += rnd_list(b + o, n - o, 1024);
	}
	if (rnd(2))
		o += (size_t)snprintf(b + o, n - o, " poll-mode=%s", rnd(2) ? "busy" : "adaptive");
	if (rnd(2))
		o += (size_t)snprintf(b + o, n - o, " idle-us=%u", rnd(10000001));
	if (rnd(2))
		o += (size_t)snprintf(b + o, n - o, " mac-aging=%u", 1 + rnd(86400));
	if (rnd(2))
		o += (size_t)snprintf(b + o, n - o, " mac-table-size=%u", 16 + rnd(1000000));
	if (rnd(2) || o == 3)
		o += (size_t)snprintf(b + o, n - o, " log-level=%s", lv[rnd(4)]);
	if (rnd(4) == 0)
		o += (size_t)snprintf(b + o, n - o, " metrics-listen=%u.%u.%u.%u:%u", rnd(256),
				      rnd(256), rnd(256), rnd(256), 1 + rnd(65535));
}

static void test_round_trip(void **state)
{
	(void)state;
	char line[2048], text[CTL_CMD_TEXT_MAX];
	struct ctl_cmd a, b;

	for (int i = 0; i < 20000; i++) {
		if (i & 1)
			random_port(line, sizeof(line));
		else
			random_set(line, sizeof(line));
		parse_ok(line, &a);
		assert_true(ctl_cmd_format(&a, NULL, NULL, text, sizeof(text)) < sizeof(text));
		parse_ok(text, &b);
		if (memcmp(&a, &b, sizeof(a)) != 0)
			fail_msg("round trip changed the command:\n  %s\n  %s", line, text);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good),	   cmocka_unit_test(test_bad),
	    cmocka_unit_test(test_blank),	   cmocka_unit_test(test_fields),
	    cmocka_unit_test(test_deferred_names), cmocka_unit_test(test_port_apply),
	    cmocka_unit_test(test_verb_table),	   cmocka_unit_test(test_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
