/*
 * test_flow_parse.c - the flow-rule language: every match field, shorthand
 * and action (input -> canonical text), the key encoding of the tricky
 * fields, every class of error (input -> message and column), deferred port
 * resolution, and the round trip parse(format(parse(text))) on random rules.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include "ctl/flow_parse.h"

static const char *const port_names[] = {"vm1", "vm2", "vm3", "tap0", "uplink.1"};

static int resolve(void *ctx, const char *name)
{
	(void)ctx;
	for (size_t i = 0; i < sizeof(port_names) / sizeof(port_names[0]); i++)
		if (strcmp(name, port_names[i]) == 0)
			return (int)i + 1;
	return -ENOENT;
}

static const char *name_of(void *ctx, uint32_t id)
{
	(void)ctx;
	return id >= 1 && id <= 5 ? port_names[id - 1] : NULL;
}

#define ALL (CTL_FLOW_ACTIONS | CTL_FLOW_PRIORITY)

struct good {
	const char *in;
	const char *out; /* canonical text */
};

static const struct good goods[] = {
    {"actions=drop", "priority=32768,actions=drop"},
    {"actions=", "priority=32768,actions=drop"},
    {"priority=100,in_port=vm1,tcp,nw_dst=10.0.0.0/24,tp_dst=80,actions=output:vm2",
     "priority=100,tcp,in_port=vm1,nw_dst=10.0.0.0/24,tp_dst=80,actions=output:vm2"},
    {"priority=0,in_port=3 actions=normal", "priority=0,in_port=3,actions=normal"},
    {"priority=65535,in_port=uplink.1,actions=flood",
     "priority=65535,in_port=uplink.1,actions=flood"},
    {"dl_src=00:11:22:33:44:55,dl_dst=01:00:00:00:00:00/01:00:00:00:00:00,actions=flood",
     "priority=32768,dl_src=00:11:22:33:44:55,dl_dst=01:00:00:00:00:00/01:00:00:00:00:00,"
     "actions=flood"},
    {"dl_src=0:1:2:3:4:5/ff:ff:ff:ff:ff:ff,actions=drop",
     "priority=32768,dl_src=00:01:02:03:04:05,actions=drop"},
    {"dl_src=ff:ff:ff:ff:ff:ff/01:00:00:00:00:00,actions=drop",
     "priority=32768,dl_src=01:00:00:00:00:00/01:00:00:00:00:00,actions=drop"},
    {"dl_vlan=10,dl_vlan_pcp=3,actions=pop_vlan",
     "priority=32768,dl_vlan=10,dl_vlan_pcp=3,actions=pop_vlan"},
    {"dl_vlan_pcp=7,actions=strip_vlan", "priority=32768,dl_vlan_pcp=7,actions=pop_vlan"},
    {"dl_vlan=0,actions=drop", "priority=32768,dl_vlan=0,actions=drop"},
    {"dl_vlan=0xffff,actions=push_vlan:100/5,output:1",
     "priority=32768,dl_vlan=0xffff,actions=push_vlan:100/5,output:1"},
    {"dl_vlan=65535,actions=push_vlan:4095/0,output:vm3",
     "priority=32768,dl_vlan=0xffff,actions=push_vlan:4095,output:vm3"},
    {"ip,nw_src=10.1.2.3,nw_dst=192.168.0.0/255.255.0.0,nw_tos=16,nw_ttl=64,nw_proto=47,"
     "actions=drop",
     "priority=32768,ip,nw_proto=47,nw_src=10.1.2.3,nw_dst=192.168.0.0/16,nw_tos=16,nw_ttl=64,"
     "actions=drop"},
    {"ip,nw_dst=10.0.0.1/24,actions=drop", "priority=32768,ip,nw_dst=10.0.0.0/24,actions=drop"},
    {"ip,nw_src=10.9.8.7/255.0.255.0,actions=drop",
     "priority=32768,ip,nw_src=10.0.8.0/255.0.255.0,actions=drop"},
    {"ip,nw_src=10.9.8.7/32,actions=drop", "priority=32768,ip,nw_src=10.9.8.7,actions=drop"},
    {"ip,nw_src=10.9.8.7/0,actions=drop", "priority=32768,ip,actions=drop"},
    {"udp,tp_src=0x1000/0xf000,tp_dst=53,actions=normal",
     "priority=32768,udp,tp_src=0x1000/0xf000,tp_dst=53,actions=normal"},
    {"tcp,tp_dst=0x50,actions=normal", "priority=32768,tcp,tp_dst=80,actions=normal"},
    {"tcp,tp_dst=65535,tp_src=0,actions=normal",
     "priority=32768,tcp,tp_src=0,tp_dst=65535,actions=normal"},
    {"icmp,icmp_type=8,icmp_code=0,actions=normal",
     "priority=32768,icmp,icmp_type=8,icmp_code=0,actions=normal"},
    {"icmp6,icmp_type=135,ipv6_dst=ff02::1:ff00:0/104,actions=normal",
     "priority=32768,icmp6,icmp_type=135,ipv6_dst=ff02::1:ff00:0/104,actions=normal"},
    {"arp,arp_op=1,arp_spa=10.0.0.1,arp_tpa=10.0.0.0/8,arp_sha=00:11:22:33:44:55,"
     "arp_tha=ff:ff:ff:ff:ff:ff,actions=flood",
     "priority=32768,arp,arp_spa=10.0.0.1,arp_tpa=10.0.0.0/8,arp_op=1,"
     "arp_sha=00:11:22:33:44:55,arp_tha=ff:ff:ff:ff:ff:ff,actions=flood"},
    {"rarp,arp_op=3,actions=drop", "priority=32768,rarp,arp_op=3,actions=drop"},
    {"ipv6,ipv6_src=2001:db8::/32,nw_proto=89,actions=drop",
     "priority=32768,ipv6,nw_proto=89,ipv6_src=2001:db8::/32,actions=drop"},
    {"ipv6,ipv6_src=::1/::ffff,ipv6_dst=2001:DB8::1,actions=drop",
     "priority=32768,ipv6,ipv6_src=::1/::ffff,ipv6_dst=2001:db8::1,actions=drop"},
    {"tcp6,tp_dst=443,nw_tos=4,nw_ttl=1,actions=normal",
     "priority=32768,tcp6,nw_tos=4,nw_ttl=1,tp_dst=443,actions=normal"},
    {"udp6,tp_src=68,actions=normal", "priority=32768,udp6,tp_src=68,actions=normal"},
    {"sctp,tp_dst=9,actions=normal", "priority=32768,sctp,tp_dst=9,actions=normal"},
    {"sctp6,actions=normal", "priority=32768,sctp6,actions=normal"},
    {"dl_type=0x88cc,actions=drop", "priority=32768,dl_type=0x88cc,actions=drop"},
    {"dl_type=0x0800,actions=drop", "priority=32768,ip,actions=drop"},
    {"dl_type=34525,nw_proto=58,actions=drop", "priority=32768,icmp6,actions=drop"},
    {"dl_type=0x0800,nw_proto=58,actions=drop", "priority=32768,ip,nw_proto=58,actions=drop"},
    {"dl_type=0x86dd,nw_proto=1,actions=drop", "priority=32768,ipv6,nw_proto=1,actions=drop"},
    {"actions=set_eth_src:00:00:00:00:00:01,set_eth_dst:0:1:2:3:4:5,output:vm2",
     "priority=32768,actions=set_eth_src:00:00:00:00:00:01,set_eth_dst:00:01:02:03:04:05,"
     "output:vm2"},
    {"actions=mod_dl_src:aa:bb:cc:dd:ee:ff,mod_dl_dst:AA:BB:CC:DD:EE:FF",
     "priority=32768,actions=set_eth_src:aa:bb:cc:dd:ee:ff,set_eth_dst:aa:bb:cc:dd:ee:ff"},
    {"  priority=5 ip\tnw_src=1.2.3.4,, actions= normal , output:2 ",
     "priority=5,ip,nw_src=1.2.3.4,actions=normal,output:2"},
    {"actions=output:1,output:2,output:3,output:4,output:5,output:6,output:7,output:65535",
     "priority=32768,actions=output:1,output:2,output:3,output:4,output:5,output:6,output:7,"
     "output:65535"},
};

static void test_good(void **state)
{
	(void)state;
	char buf[CTL_FLOW_TEXT_MAX];
	struct ctl_error err;
	struct ctl_flow f;

	for (size_t i = 0; i < sizeof(goods) / sizeof(goods[0]); i++) {
		int r = ctl_flow_parse(goods[i].in, ALL, resolve, NULL, &f, &err);
		if (r != 0)
			fail_msg("'%s': %s", goods[i].in, err.msg);
		ctl_flow_format(&f, ALL, NULL, NULL, buf, sizeof(buf));
		if (strcmp(buf, goods[i].out) != 0)
			fail_msg("'%s'\n  got  %s\n  want %s", goods[i].in, buf, goods[i].out);
	}
}

struct bad {
	const char *in;
	unsigned flags;
	const char *msg; /* the whole expected message */
	int column;
};

static const struct bad bads[] = {
    {"tp_dst=99999,tcp,actions=drop", ALL, "token 'tp_dst=99999': port out of range 0..65535", 1},
    {"dl_type=0x0800,tp_dst=80,actions=drop", ALL,
     "token 'tp_dst=80': tp_dst requires nw_proto=6, 17 or 132", 16},
    {"priority=100,in_port=vm1,dl_type=0x0800,nw_dst=10.0.0.0/24,tp_dst=80,actions=output:vm2", ALL,
     "token 'tp_dst=80': tp_dst requires nw_proto=6, 17 or 132", 60},
    {"icmp,tp_src=1,actions=drop", ALL, "token 'tp_src=1': tp_src requires nw_proto=6, 17 or 132",
     6},
    {"ip,nw_dst=10.0.0.0/33,actions=drop", ALL,
     "token 'nw_dst=10.0.0.0/33': prefix length out of range 0..32", 4},
    {"ip,nw_src=10.0.0.256,actions=drop", ALL,
     "token 'nw_src=10.0.0.256': bad IPv4 address '10.0.0.256'", 4},
    {"ip,nw_src=10.0.0,actions=drop", ALL, "token 'nw_src=10.0.0': bad IPv4 address '10.0.0'", 4},
    {"ip,nw_src=1.2.3.4/255.0.0.x,actions=drop", ALL,
     "token 'nw_src=1.2.3.4/255.0.0.x': bad IPv4 mask '255.0.0.x'", 4},
    {"dl_src=00:11:22:33:44,actions=drop", ALL,
     "token 'dl_src=00:11:22:33:44': bad MAC address '00:11:22:33:44'", 1},
    {"dl_src=00:11:22:33:44:55:66,actions=drop", ALL,
     "token 'dl_src=00:11:22:33:44:55:66': bad MAC address '00:11:22:33:44:55:66'", 1},
    {"dl_dst=00:11:22:33:44:gg,actions=drop", ALL,
     "token 'dl_dst=00:11:22:33:44:gg': bad MAC address '00:11:22:33:44:gg'", 1},
    {"dl_dst=000:11:22:33:44:55,actions=drop", ALL,
     "token 'dl_dst=000:11:22:33:44:55': bad MAC address '000:11:22:33:44:55'", 1},
    {"dl_dst=00:11:22:33:44:55/ff,actions=drop", ALL,
     "token 'dl_dst=00:11:22:33:44:55/ff': bad MAC mask 'ff'", 1},
    {"foo=1,actions=drop", ALL, "token 'foo=1': unknown field 'foo'", 1},
    {"ip,cookie,actions=drop", ALL, "token 'cookie': unknown field 'cookie'", 4},
    {"ip,ip,actions=drop", ALL, "token 'ip': duplicate field: already set by 'ip'", 4},
    {"tcp,nw_proto=17,actions=drop", ALL,
     "token 'nw_proto=17': duplicate field: already set by 'tcp'", 5},
    {"tcp,dl_type=0x0800,actions=drop", ALL,
     "token 'dl_type=0x0800': duplicate field: already set by 'tcp'", 5},
    {"in_port=1,in_port=2,actions=drop", ALL,
     "token 'in_port=2': duplicate field: already set by 'in_port=1'", 11},
    {"arp,arp_spa=1.2.3.4,nw_src=1.2.3.4,actions=drop", ALL,
     "token 'nw_src=1.2.3.4': duplicate field: already set by 'arp_spa=1.2.3.4'", 21},
    {"icmp,icmp_type=1,tp_src=1,actions=drop", ALL,
     "token 'tp_src=1': duplicate field: already set by 'icmp_type=1'", 18},
    {"ip,arp_spa=10.0.0.1,actions=drop", ALL,
     "token 'arp_spa=10.0.0.1': arp_spa requires dl_type=0x0806 (arp) or 0x8035 (rarp)", 4},
    {"arp_op=1,actions=drop", ALL,
     "token 'arp_op=1': arp_op requires dl_type=0x0806 (arp) or 0x8035 (rarp)", 1},
    {"nw_src=1.2.3.4,actions=drop", ALL,
     "token 'nw_src=1.2.3.4': nw_src requires dl_type=0x0800 (ip)", 1},
    {"ipv6,nw_src=1.2.3.4,actions=drop", ALL,
     "token 'nw_src=1.2.3.4': nw_src requires dl_type=0x0800 (ip)", 6},
    {"nw_proto=6,actions=drop", ALL,
     "token 'nw_proto=6': nw_proto requires dl_type=0x0800 or 0x86dd (ip or ipv6)", 1},
    {"arp,nw_tos=4,actions=drop", ALL,
     "token 'nw_tos=4': nw_tos requires dl_type=0x0800 or 0x86dd (ip or ipv6)", 5},
    {"tcp,icmp_type=3,actions=drop", ALL,
     "token 'icmp_type=3': icmp_type requires nw_proto=1 (with ip) or 58 (with ipv6)", 5},
    {"ipv6,nw_proto=1,icmp_code=3,actions=drop", ALL,
     "token 'icmp_code=3': icmp_code requires nw_proto=1 (with ip) or 58 (with ipv6)", 17},
    {"ip,ipv6_src=::1,actions=drop", ALL,
     "token 'ipv6_src=::1': ipv6_src requires dl_type=0x86dd (ipv6)", 4},
    {"ip,arp_sha=00:00:00:00:00:01,actions=drop", ALL,
     "token 'arp_sha=00:00:00:00:00:01': arp_sha requires dl_type=0x0806 (arp) or 0x8035 (rarp)",
     4},
    {"in_port=1", ALL, "token 'in_port=1': missing actions= (use actions=drop to drop)", 1},
    {"", ALL, "token '': missing actions= (use actions=drop to drop)", 1},
    {"in_port=vm9,actions=drop", ALL, "token 'in_port=vm9': unknown port 'vm9'", 1},
    {"in_port=70000,actions=drop", ALL, "token 'in_port=70000': port number out of range 0..65535",
     1},
    {"in_port=a!b,actions=drop", ALL,
     "token 'in_port=a!b': port name may only hold A-Z a-z 0-9 _ . -", 1},
    {"in_port=,actions=drop", ALL, "token 'in_port=': missing value: use in_port=VALUE", 1},
    {"in_port,actions=drop", ALL, "token 'in_port': missing value: use in_port=VALUE", 1},
    {"ip=1,actions=drop", ALL, "token 'ip=1': 'ip' takes no value", 1},
    {"actions=output:vm9", ALL, "token 'output:vm9': unknown port 'vm9'", 9},
    {"actions=output:", ALL, "token 'output:': output needs a port: output:PORT", 9},
    {"actions=output", ALL, "token 'output': output needs a port: output:PORT", 9},
    {"actions=drop,normal", ALL, "token 'normal': drop must be the only action", 14},
    {"actions=normal,drop", ALL, "token 'drop': drop must be the only action", 16},
    {"actions=drop,drop", ALL, "token 'drop': drop must be the only action", 14},
    {"actions=normal,,flood", ALL, "token '': empty action", 16},
    {"actions=normal,", ALL, "token '': empty action", 16},
    {"actions=normal:1", ALL, "token 'normal:1': normal takes no argument", 9},
    {"actions=bogus:1", ALL, "token 'bogus:1': unknown action 'bogus'", 9},
    {"actions=push_vlan:4096", ALL,
     "token 'push_vlan:4096': push_vlan needs VID 0..4095: push_vlan:VID[/PCP]", 9},
    {"actions=push_vlan", ALL,
     "token 'push_vlan': push_vlan needs VID 0..4095: push_vlan:VID[/PCP]", 9},
    {"actions=push_vlan:1/8", ALL, "token 'push_vlan:1/8': push_vlan PCP out of range 0..7", 9},
    {"actions=set_eth_src:zz", ALL,
     "token 'set_eth_src:zz': set_eth_src needs a MAC address: set_eth_src:xx:xx:xx:xx:xx:xx", 9},
    {"actions=output:1,output:2,output:3,output:4,output:5,output:6,output:7,output:8,output:9",
     ALL, "token 'output:9': too many actions (max 8)", 81},
    {"ip,nw_tos=3,actions=drop", ALL,
     "token 'nw_tos=3': nw_tos must be a multiple of 4 (the ECN bits are not matched)", 4},
    {"ip,nw_ttl=256,actions=drop", ALL, "token 'nw_ttl=256': nw_ttl out of range 0..255", 4},
    {"ip,nw_proto=-1,actions=drop", ALL, "token 'nw_proto=-1': nw_proto out of range 0..255", 4},
    {"icmp6,icmp_type=300,actions=drop", ALL,
     "token 'icmp_type=300': icmp_type out of range 0..255", 7},
    {"dl_vlan=4096,actions=drop", ALL,
     "token 'dl_vlan=4096': VLAN id out of range 0..4095 (or 0xffff: untagged)", 1},
    {"dl_vlan=0xffff,dl_vlan_pcp=1,actions=drop", ALL,
     "token 'dl_vlan_pcp=1': dl_vlan_pcp conflicts with dl_vlan=0xffff (untagged)", 16},
    {"dl_vlan_pcp=1,dl_vlan=0xffff,actions=drop", ALL,
     "token 'dl_vlan=0xffff': dl_vlan=0xffff (untagged) conflicts with dl_vlan_pcp", 15},
    {"dl_vlan_pcp=8,actions=drop", ALL, "token 'dl_vlan_pcp=8': VLAN PCP out of range 0..7", 1},
    {"ipv6,ipv6_src=2001:db8::/129,actions=drop", ALL,
     "token 'ipv6_src=2001:db8::/129': prefix length out of range 0..128", 6},
    {"ipv6,ipv6_src=2001:zz::,actions=drop", ALL,
     "token 'ipv6_src=2001:zz::': bad IPv6 address '2001:zz::'", 6},
    {"dl_type=,actions=drop", ALL, "token 'dl_type=': missing value: use dl_type=VALUE", 1},
    {"dl_type=0x10000,actions=drop", ALL, "token 'dl_type=0x10000': dl_type out of range 0..0xffff",
     1},
    {"dl_type=0x,actions=drop", ALL, "token 'dl_type=0x': dl_type out of range 0..0xffff", 1},
    {"priority=70000,actions=drop", ALL, "token 'priority=70000': priority out of range 0..65535",
     1},
    {"tcp,tp_dst=80/0x10000,actions=drop", ALL,
     "token 'tp_dst=80/0x10000': port mask out of range 0..0xffff", 5},
    {"actions", ALL, "token 'actions': actions need a value (actions=drop to drop)", 1},
    /* del-flows without --strict, and the match of any filter */
    {"priority=5", 0, "token 'priority=5': priority is only allowed with add-flow or --strict", 1},
    {"ip,actions=drop", 0, "token 'actions=drop': actions are not allowed here", 4},
    /* messages stay printable whatever the input */
    {"a\x01=1", ALL, "token 'a\\x01=1': unknown field 'a?'", 1},
};

static void test_bad(void **state)
{
	(void)state;
	struct ctl_error err;
	struct ctl_flow f;

	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		memset(&err, 0, sizeof(err));
		int r = ctl_flow_parse(bads[i].in, bads[i].flags, resolve, NULL, &f, &err);
		if (r != -EINVAL)
			fail_msg("'%s': expected an error, got %d", bads[i].in, r);
		if (strcmp(err.msg, bads[i].msg) != 0 || err.column != bads[i].column)
			fail_msg("'%s'\n  got  %d: %s\n  want %d: %s", bads[i].in, err.column,
				 err.msg, bads[i].column, bads[i].msg);
		assert_int_equal(err.token_index, -1);
	}
}

/* The key encoding flow.h documents, checked on the raw struct. */
static void test_encoding(void **state)
{
	(void)state;
	struct ctl_error err;
	struct ctl_flow f;

	assert_int_equal(ctl_flow_parse("in_port=vm2,dl_vlan=10,dl_vlan_pcp=5,tcp,tp_dst=80,"
					"nw_dst=10.1.2.0/24,nw_tos=8,"
					"actions=push_vlan:7/3,output:300",
					ALL, resolve, NULL, &f, &err),
			 0);
	assert_int_equal(f.match.in_port, 2);
	assert_int_equal(f.mask.in_port, UINT32_MAX);
	assert_int_equal(ntohs(f.match.vlan_tci), FLOW_VLAN_PRESENT | 10 | 5 << 13);
	assert_int_equal(ntohs(f.mask.vlan_tci), 0xffff);
	assert_int_equal(ntohs(f.match.dl_type), 0x0800);
	assert_int_equal(f.match.nw_proto, 6);
	assert_int_equal(f.mask.nw_proto, 0xff);
	assert_int_equal(ntohs(f.match.tp_dst), 80);
	assert_int_equal(ntohl(f.match.nw_dst), 0x0a010200);
	assert_int_equal(ntohl(f.mask.nw_dst), 0xffffff00);
	assert_int_equal(f.match.nw_tos, 8);
	assert_int_equal(f.mask.nw_tos, 0xfc);
	assert_string_equal(f.in_port_name, "vm2");
	assert_int_equal(f.actions.n, 2);
	assert_int_equal(f.actions.a[0].type, ACT_PUSH_VLAN);
	assert_int_equal(f.actions.a[0].vid, 7);
	assert_int_equal(f.actions.a[0].pcp, 3);
	assert_int_equal(f.actions.a[1].type, ACT_OUTPUT);
	assert_int_equal(f.actions.a[1].port, 300);
	assert_string_equal(f.out_name[1], "");
	/* Everything not named is zero in both value and mask. */
	struct flow_key zero;
	memset(&zero, 0, sizeof(zero));
	assert_memory_equal(f.match.dl_src.b, zero.dl_src.b, 6);
	assert_memory_equal(f.mask.ipv6_src, zero.ipv6_src, 16);

	assert_int_equal(ctl_flow_parse("dl_vlan=0xffff,icmp,icmp_type=8,icmp_code=1,actions=drop",
					ALL, resolve, NULL, &f, &err),
			 0);
	assert_int_equal(f.match.vlan_tci, 0);
	assert_int_equal(f.mask.vlan_tci, 0xffff);
	assert_int_equal(ntohs(f.match.tp_src), 8);
	assert_int_equal(ntohs(f.match.tp_dst), 1);
	assert_int_equal(f.priority, CTL_FLOW_PRIORITY_DEFAULT);
	assert_int_equal(f.actions.n, 0);

	/* Every value is pre-masked, so flow_match() works on it directly. */
	assert_int_equal(ctl_flow_parse("arp,arp_op=2,arp_tpa=10.0.0.0/8,actions=drop", ALL, NULL,
					NULL, &f, &err),
			 0);
	assert_int_equal(ntohs(f.match.arp_op), 2);
	struct flow_key pkt;
	memset(&pkt, 0, sizeof(pkt));
	pkt.dl_type = htons(0x0806);
	pkt.arp_op = htons(2);
	pkt.nw_dst = htonl(0x0a636363);
	pkt.in_port = 7;
	assert_true(flow_match(&pkt, &f.mask, &f.match));
	pkt.nw_dst = htonl(0x0b000001);
	assert_false(flow_match(&pkt, &f.mask, &f.match));
}

static int defer_all(void *ctx, const char *name)
{
	(void)ctx;
	(void)name;
	return -EAGAIN;
}

/* Names accepted now and resolved later, as the config loader does. */
static void test_deferred(void **state)
{
	(void)state;
	struct ctl_error err;
	struct ctl_flow f;
	char buf[CTL_FLOW_TEXT_MAX];

	assert_int_equal(ctl_flow_parse("in_port=vm1,actions=output:vm3,output:4,output:nope", ALL,
					defer_all, NULL, &f, &err),
			 0);
	assert_int_equal(f.match.in_port, CTL_PORT_UNRESOLVED);
	assert_int_equal(f.actions.a[0].port, CTL_PORT_UNRESOLVED);
	assert_int_equal(f.actions.a[1].port, 4);
	ctl_flow_format(&f, ALL, NULL, NULL, buf, sizeof(buf));
	assert_string_equal(buf,
			    "priority=32768,in_port=vm1,actions=output:vm3,output:4,output:nope");
	assert_int_equal(ctl_flow_resolve(&f, resolve, NULL, &err), -ENOENT);
	assert_string_equal(err.msg, "unknown port 'nope'");

	assert_int_equal(
	    ctl_flow_parse("in_port=vm1,actions=output:vm3", ALL, NULL, NULL, &f, &err), 0);
	assert_int_equal(ctl_flow_resolve(&f, resolve, NULL, &err), 0);
	assert_int_equal(f.match.in_port, 1);
	assert_int_equal(f.actions.a[0].port, 3);

	/* Numbers format through the name callback when it knows them. */
	assert_int_equal(
	    ctl_flow_parse("in_port=2,actions=output:5,output:9", ALL, NULL, NULL, &f, &err), 0);
	ctl_flow_format(&f, ALL, name_of, NULL, buf, sizeof(buf));
	assert_string_equal(buf, "priority=32768,in_port=vm2,actions=output:uplink.1,output:9");
	ctl_actions_format(&f, name_of, NULL, buf, sizeof(buf));
	assert_string_equal(buf, "output:uplink.1,output:9");
}

/* Truncated output is NUL-terminated and the returned length is the full one. */
static void test_format_truncation(void **state)
{
	(void)state;
	struct ctl_error err;
	struct ctl_flow f;
	char full[CTL_FLOW_TEXT_MAX], small[16];

	assert_int_equal(ctl_flow_parse("tcp,nw_src=1.2.3.4,tp_dst=22,actions=output:1,normal", ALL,
					NULL, NULL, &f, &err),
			 0);
	size_t n = ctl_flow_format(&f, ALL, NULL, NULL, full, sizeof(full));
	assert_int_equal(n, strlen(full));
	for (size_t sz = 0; sz < sizeof(small); sz++) {
		memset(small, 'X', sizeof(small));
		assert_int_equal(ctl_flow_format(&f, ALL, NULL, NULL, small, sz), n);
		if (sz) {
			assert_int_equal(strlen(small), sz - 1);
			assert_memory_equal(small, full, sz - 1);
		}
	}
}

/* ---- round trip on random rules ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static void rnd_mac(char *b, size_t n)
{
	snprintf(b, n, "%x:%02x:%x:%02x:%02x:%x", rnd(256), rnd(256), rnd(256), rnd(256), rnd(256),
		 rnd(256));
}

/* Builds a random valid rule text (fields in random order) into 'out'. */
static void random_rule(char *out, size_t size)
{
	char f[24][96];
	int n = 0;
	static const char *const l3[] = {NULL, "ip", "ipv6", "arp", "rarp", "dl_type=0x88cc"};
	static const char *const l4v4[] = {"tcp", "udp", "sctp", "icmp", "ip,nw_proto=47"};
	static const char *const l4v6[] = {"tcp6", "udp6", "sctp6", "icmp6", "ipv6,nw_proto=89"};
	unsigned t = rnd(8);
	const char *base = t < 6 ? l3[t] : t == 6 ? l4v4[rnd(5)] : l4v6[rnd(5)];
	bool v4 = t == 1 || t == 6, v6 = t == 2 || t == 7, arp = t == 3 || t == 4;
	bool l4 = false, icmp = false;

	if (t >= 6) {
		icmp = strstr(base, "icmp") != NULL;
		l4 = !icmp && strstr(base, "nw_proto") == NULL;
	}
	if (base)
		snprintf(f[n++], 96, "%s", base);
	if (rnd(2))
		snprintf(f[n++], 96, "priority=%u", rnd(65536));
	if (rnd(2))
		snprintf(f[n++], 96, "in_port=%s", rnd(2) ? "vm2" : "7");
	if (rnd(3) == 0)
		snprintf(f[n++], 96, "dl_vlan=%u", rnd(4) ? rnd(4096) : 0xffff);
	else if (rnd(3) == 0)
		snprintf(f[n++], 96, "dl_vlan_pcp=%u", rnd(8));
	for (int k = 0; k < 2; k++) {
		if (rnd(3) == 0) {
			char m[32], mm[32];
			rnd_mac(m, sizeof(m));
			rnd_mac(mm, sizeof(mm));
			if (rnd(2))
				snprintf(f[n++], 96, "%s=%s", k ? "dl_dst" : "dl_src", m);
			else
				snprintf(f[n++], 96, "%s=%s/%s", k ? "dl_dst" : "dl_src", m, mm);
		}
	}
	if (v4 || arp) {
		const char *names[2] = {arp ? "arp_spa" : "nw_src", arp ? "arp_tpa" : "nw_dst"};
		for (int k = 0; k < 2; k++) {
			if (!rnd(2))
				continue;
			unsigned a = rnd(256), b = rnd(256);
			if (rnd(3))
				snprintf(f[n++], 96, "%s=10.%u.%u.%u/%u", names[k], a, b, rnd(256),
					 rnd(33));
			else
				snprintf(f[n++], 96, "%s=10.%u.%u.%u/%u.%u.0.255", names[k], a, b,
					 rnd(256), rnd(256), rnd(256));
		}
	}
	if (v6) {
		for (int k = 0; k < 2; k++)
			if (rnd(2))
				snprintf(f[n++], 96, "%s=2001:db8:%x::%x/%u",
					 k ? "ipv6_dst" : "ipv6_src", rnd(65536), rnd(65536),
					 rnd(129));
	}
	if (v4 || v6) {
		if (rnd(2))
			snprintf(f[n++], 96, "nw_tos=%u", rnd(64) * 4);
		if (rnd(2))
			snprintf(f[n++], 96, "nw_ttl=%u", rnd(256));
	}
	if (l4) {
		if (rnd(2))
			snprintf(f[n++], 96, "tp_src=%u", rnd(65536));
		if (rnd(2))
			snprintf(f[n++], 96, "tp_dst=0x%x/0x%x", rnd(65536), rnd(65536));
	}
	if (icmp) {
		if (rnd(2))
			snprintf(f[n++], 96, "icmp_type=%u", rnd(256));
		if (rnd(2))
			snprintf(f[n++], 96, "icmp_code=%u", rnd(256));
	}
	if (arp) {
		char m[32];
		if (rnd(2))
			snprintf(f[n++], 96, "arp_op=%u", rnd(65536));
		rnd_mac(m, sizeof(m));
		if (rnd(2))
			snprintf(f[n++], 96, "arp_sha=%s", m);
		if (rnd(2))
			snprintf(f[n++], 96, "arp_tha=%s/ff:ff:ff:00:00:00", m);
	}
	for (int i = n - 1; i > 0; i--) { /* shuffle */
		char tmp[96];
		int j = (int)rnd((unsigned)i + 1);
		memcpy(tmp, f[i], 96);
		memcpy(f[i], f[j], 96);
		memcpy(f[j], tmp, 96);
	}
	size_t o = 0;
	for (int i = 0; i < n; i++)
		o += (size_t)snprintf(out + o, size - o, "%s%s", f[i], rnd(2) ? "," : " ");
	o += (size_t)snprintf(out + o, size - o, "actions=");
	unsigned na = rnd(10);
	if (na == 9) {
		snprintf(out + o, size - o, "drop");
		return;
	}
	for (unsigned i = 0; i < na; i++) {
		char m[32];
		rnd_mac(m, sizeof(m));
		switch (rnd(7)) {
		case 0:
			o +=
			    (size_t)snprintf(out + o, size - o, "output:%s", rnd(2) ? "vm1" : "12");
			break;
		case 1:
			o += (size_t)snprintf(out + o, size - o, "normal");
			break;
		case 2:
			o += (size_t)snprintf(out + o, size - o, "flood");
			break;
		case 3:
			o += (size_t)snprintf(out + o, size - o, "push_vlan:%u/%u", rnd(4096),
					      rnd(8));
			break;
		case 4:
			o += (size_t)snprintf(out + o, size - o, "pop_vlan");
			break;
		case 5:
			o += (size_t)snprintf(out + o, size - o, "set_eth_src:%s", m);
			break;
		default:
			o += (size_t)snprintf(out + o, size - o, "set_eth_dst:%s", m);
			break;
		}
		if (i + 1 < na)
			o += (size_t)snprintf(out + o, size - o, ",");
	}
}

static void test_round_trip(void **state)
{
	(void)state;
	char text[2048], t1[CTL_FLOW_TEXT_MAX], t2[CTL_FLOW_TEXT_MAX];
	struct ctl_error err;
	struct ctl_flow a, b;

	for (int i = 0; i < 20000; i++) {
		random_rule(text, sizeof(text));
		if (ctl_flow_parse(text, ALL, resolve, NULL, &a, &err) != 0)
			fail_msg("generated rule rejected: %s\n  %s", text, err.msg);
		size_t n = ctl_flow_format(&a, ALL, NULL, NULL, t1, sizeof(t1));
		assert_true(n < sizeof(t1));
		if (ctl_flow_parse(t1, ALL, resolve, NULL, &b, &err) != 0)
			fail_msg("formatted rule rejected: %s\n  from %s\n  %s", t1, text, err.msg);
		if (memcmp(&a, &b, sizeof(a)) != 0)
			fail_msg("round trip changed the rule:\n  %s\n  %s", text, t1);
		ctl_flow_format(&b, ALL, NULL, NULL, t2, sizeof(t2));
		assert_string_equal(t1, t2);
		/* The match alone round-trips as a --strict filter too. */
		assert_int_equal(
		    ctl_flow_format(&a, CTL_FLOW_PRIORITY, NULL, NULL, t1, sizeof(t1)) < sizeof(t1),
		    1);
		assert_int_equal(ctl_flow_parse(t1, CTL_FLOW_PRIORITY, resolve, NULL, &b, &err), 0);
		a.actions = b.actions;
		memcpy(a.out_name, b.out_name, sizeof(a.out_name));
		assert_memory_equal(&a, &b, sizeof(a));
	}
}

/* Arbitrary bytes: no crash, and either success or a printable message. */
static void test_garbage(void **state)
{
	(void)state;
	static const char alphabet[] = "=,/: .0123456789abcdefx_-actionsoutputiptcparp\t";
	char text[128];
	struct ctl_error err;
	struct ctl_flow f;

	for (int i = 0; i < 50000; i++) {
		size_t n = rnd(sizeof(text));
		for (size_t j = 0; j < n; j++)
			text[j] =
			    rnd(8) ? alphabet[rnd(sizeof(alphabet) - 1)] : (char)(rnd(255) + 1);
		text[n] = '\0';
		err.msg[0] = '\0';
		if (ctl_flow_parse(text, ALL, resolve, NULL, &f, &err) == 0)
			continue;
		for (const char *p = err.msg; *p; p++)
			assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
		assert_true(err.column >= 1 && (size_t)err.column <= n + 1);
	}
}

static void test_port_name_check(void **state)
{
	(void)state;
	assert_null(ctl_port_name_check("vm1", 3));
	assert_null(ctl_port_name_check("a.b-c_D.012345", 14));
	assert_null(ctl_port_name_check("12345678901234a", 15));
	assert_non_null(ctl_port_name_check("123456789012345a", 16));
	assert_non_null(ctl_port_name_check("", 0));
	assert_non_null(ctl_port_name_check("42", 2));
	assert_non_null(ctl_port_name_check(".", 1));
	assert_non_null(ctl_port_name_check("..", 2));
	assert_non_null(ctl_port_name_check("a/b", 3));
	assert_non_null(ctl_port_name_check("a b", 3));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good),
	    cmocka_unit_test(test_bad),
	    cmocka_unit_test(test_encoding),
	    cmocka_unit_test(test_deferred),
	    cmocka_unit_test(test_format_truncation),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_garbage),
	    cmocka_unit_test(test_port_name_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
