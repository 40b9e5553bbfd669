/*
 * test_sw_flows.c - the flow table of a real ringswitchd, driven with
 * ringctl add-flow / del-flows / dump-flows and checked with traffic from
 * three test front-ends: port-to-port output, a higher-priority ICMP drop
 * while UDP passes, IPv4 prefixes and transport-port masks, set_eth_dst,
 * push_vlan with a PCP and pop_vlan; frames no rule matches are dropped and
 * counted (drops.no_rule) while the table is not empty; dump-flows counts
 * packets and bytes exactly; del-flows --strict and non-strict remove what
 * they should and an empty table means 'normal' again; an invalid rule is
 * refused (exit 1, the field named, a caret line) and changes nothing, the
 * config file stays byte-identical.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "swtest.h"

#define NP	  3
#define SILENT_MS 80
#define UDP	  17
#define ICMP	  1

static const char *const names[NP] = {"vm1", "vm2", "vm3"};

/* What dump-flows must say about one rule. */
struct rexp {
	int prio;
	const char *match; /* the canonical match text dump-flows prints */
	uint64_t pk, by;
	bool live;
};

enum { R_PORT, R_ICMP, R_NET, R_MOD, R_PUSH, R_POP, R_N };

static struct ft {
	struct swd d;
	struct fe fe[NP];
	struct swt_mac mac[NP];
	struct rexp r[R_N];
	uint64_t no_rule[NP];
	uint32_t seq;
} T;

static void ft_send(int from, const uint8_t *f, size_t len, int rule)
{
	swt_send(&T.fe[from], 0, f, len);
	if (rule >= 0) {
		T.r[rule].pk++;
		T.r[rule].by += len;
	} else if (rule == -1) {
		T.no_rule[from]++;
	}
}

/* Nothing on the ports of 'mask'. */
static void ft_quiet(unsigned mask)
{
	for (int i = 0; i < NP; i++)
		if (mask & (1u << i))
			swt_silence(&T.fe[i], names[i], SILENT_MS);
}

/* A UDP frame from port 'from' to 'dip':'dport' of 'plen' payload bytes. */
static size_t ft_udp(uint8_t *f, int from, uint32_t dip, uint16_t dport, size_t plen)
{
	uint32_t seq = ++T.seq;
	return swt_ip4(f, T.mac[(from + 1) % NP], T.mac[from], UDP, SWT_IP(10, 1, 0, from + 1), dip,
		       (uint16_t)(1000 + seq), dport, plen, seq);
}

static size_t ft_icmp(uint8_t *f, int from, uint32_t dip, size_t plen)
{
	return swt_ip4(f, T.mac[(from + 1) % NP], T.mac[from], ICMP, SWT_IP(10, 1, 0, from + 1),
		       dip, 7, 0, plen, ++T.seq);
}

/* Sends 'f' from 'from' counting it on rule 'rule'; expects it unchanged on 'to' alone. */
static void ft_pass(int from, const uint8_t *f, size_t len, int rule, int to)
{
	ft_send(from, f, len, rule);
	swt_expect(&T.fe[to], names[to], 0, f, len);
	ft_quiet(((1u << NP) - 1) & ~(1u << to));
}

/* Sends 'f' from 'from'; nothing may come out anywhere. rule -1: no rule matches. */
static void ft_dropped(int from, const uint8_t *f, size_t len, int rule)
{
	ft_send(from, f, len, rule);
	ft_quiet((1u << NP) - 1);
}

static void ft_add(int rule, int prio, const char *flow, const char *match)
{
	swctl_do(&T.d, "add-flow", flow);
	T.r[rule] = (struct rexp){.prio = prio, .match = match, .live = true};
}

/* dump-flows --json lists exactly the live rules with exactly their counters. */
static void ft_check_dump(void)
{
	int64_t deadline = fe_now_ms() + 2000;
	char why[512];
	for (;;) {
		json_t *a = swctl_ok(&T.d, true, "dump-flows");
		size_t live = 0, i;
		why[0] = '\0';
		for (int k = 0; k < R_N; k++) {
			if (!T.r[k].live)
				continue;
			live++;
			json_t *e, *hit = NULL;
			json_array_foreach(a, i, e)
			{
				if (strcmp(json_string_value(json_object_get(e, "match")),
					   T.r[k].match) == 0)
					hit = e;
			}
			if (!hit) {
				snprintf(why, sizeof(why), "rule '%s' not listed", T.r[k].match);
				break;
			}
			int64_t pk = json_integer_value(json_object_get(hit, "n_packets"));
			int64_t by = json_integer_value(json_object_get(hit, "n_bytes"));
			if (json_integer_value(json_object_get(hit, "priority")) != T.r[k].prio ||
			    pk != (int64_t)T.r[k].pk || by != (int64_t)T.r[k].by) {
				snprintf(why, sizeof(why),
					 "rule '%s': n_packets %lld n_bytes %lld, want %llu %llu",
					 T.r[k].match, (long long)pk, (long long)by,
					 (unsigned long long)T.r[k].pk,
					 (unsigned long long)T.r[k].by);
				break;
			}
		}
		if (!why[0] && json_array_size(a) != live)
			snprintf(why, sizeof(why), "dump-flows lists %zu rules, want %zu",
				 json_array_size(a), live);
		json_decref(a);
		if (!why[0])
			return;
		if (fe_now_ms() > deadline)
			fail_msg("%s", why);
		usleep(20000);
	}
}

static void ft_check_no_rule(void)
{
	for (int i = 0; i < NP; i++) {
		int64_t v = swt_wait_stat(&T.d, names[i], "drops.no_rule", (int64_t)T.no_rule[i]);
		if (v != (int64_t)T.no_rule[i])
			fail_msg("%s drops.no_rule %lld, want %llu", names[i], (long long)v,
				 (unsigned long long)T.no_rule[i]);
	}
}

static int64_t ft_deleted(const char *const *args)
{
	json_t *r = swctl_ok_v(&T.d, true, args);
	json_t *n = json_object_get(r, "deleted");
	if (!json_is_integer(n))
		fail_msg("del-flows: no 'deleted' count in the result");
	int64_t v = json_integer_value(n);
	json_decref(r);
	return v;
}

#define ft_del(...) ft_deleted((const char *const[]){"del-flows", __VA_ARGS__, NULL})

static void ft_strip_age(json_t *dump)
{
	size_t i;
	json_t *e;
	json_array_foreach(dump, i, e) json_object_del(e, "idle_age");
}

/* An invalid rule: exit 1, the message names 'token', the caret line, nothing changes. */
static void ft_refused(const char *flow, const char *token)
{
	size_t l0, l1;
	char *before = swt_read_file(T.d.conf, &l0);
	json_t *dump0 = swctl_ok(&T.d, true, "dump-flows");
	struct swr r;
	swctl(&T.d, &r, false, "add-flow", flow);
	if (r.rc != 1)
		fail_msg("add-flow '%s': exit %d, want 1 (stderr '%s')", flow, r.rc, r.err);
	char want[128];
	snprintf(want, sizeof(want), "token '%s'", token);
	if (!strstr(r.err, want))
		fail_msg("add-flow '%s': error does not name %s: '%s'", flow, want, r.err);
	/* ringctl points at the flow argument: a line of blanks and '^' under it. */
	const char *caret = strstr(r.err, "\n  ringctl add-flow ");
	const char *hat = caret ? strchr(caret + 1, '\n') : NULL;
	if (!hat || (size_t)(strchr(hat, '^') - hat - 1) != strlen("  ringctl add-flow "))
		fail_msg("add-flow '%s': no caret under the flow in '%s'", flow, r.err);
	swr_free(&r);
	char *after = swt_read_file(T.d.conf, &l1);
	assert_non_null(before);
	assert_non_null(after);
	if (l0 != l1 || memcmp(before, after, l0) != 0)
		fail_msg("add-flow '%s' was refused but the config file changed", flow);
	json_t *dump1 = swctl_ok(&T.d, true, "dump-flows");
	ft_strip_age(dump0);
	ft_strip_age(dump1); /* seconds tick on a slow machine */
	assert_true(json_equal(dump0, dump1));
	json_decref(dump0);
	json_decref(dump1);
	free(before);
	free(after);
}

static void test_sw_flows(void **state)
{
	(void)state;
	memset(&T, 0, sizeof(T));
	swd_start(&T.d, "add-port vm1 vhost-user-server\n"
			"add-port vm2 vhost-user-server\n"
			"add-port vm3 vhost-user-server\n");
	for (int i = 0; i < NP; i++) {
		T.mac[i] = swt_mac((uint8_t)(0x20 + i));
		swt_fe_attach(&T.d, &T.fe[i], names[i], 1);
	}
	uint8_t f[SWT_FRAME_MAX], e[SWT_FRAME_MAX];
	size_t len;

	/* An empty table is 'normal': broadcast floods. */
	len = swt_eth(f, 100, swt_bcast, T.mac[0], ++T.seq);
	ft_send(0, f, len, -2);
	swt_expect(&T.fe[1], "vm2", 0, f, len);
	swt_expect(&T.fe[2], "vm3", 0, f, len);
	ft_quiet(1);

	/* Port to port: everything from vm1 goes to vm2, whatever its destination. */
	ft_add(R_PORT, 100, "priority=100,in_port=vm1,actions=output:vm2",
	       "priority=100,in_port=vm1");
	json_t *show = swctl_ok(&T.d, true, "show");
	assert_int_equal(json_integer_value(json_object_get(show, "flows")), 1);
	json_decref(show);
	len = swt_eth(f, 100, swt_bcast, T.mac[0], ++T.seq);
	ft_pass(0, f, len, R_PORT, 1);
	len = ft_udp(f, 0, SWT_IP(10, 0, 0, 3), 53, 200);
	memcpy(f, T.mac[2].b, 6); /* addressed to vm3's MAC: still vm2 */
	ft_pass(0, f, len, R_PORT, 1);
	/* No rule for vm2's frames: dropped and counted. */
	len = swt_eth(f, 64, swt_bcast, T.mac[1], ++T.seq);
	ft_dropped(1, f, len, -1);
	ft_check_dump();
	ft_check_no_rule();

	/* ICMP dropped at a higher priority, UDP still passes. */
	ft_add(R_ICMP, 200, "priority=200,icmp,actions=drop", "priority=200,icmp");
	len = ft_icmp(f, 0, SWT_IP(10, 0, 1, 3), 56);
	ft_dropped(0, f, len, R_ICMP);
	len = ft_udp(f, 0, SWT_IP(10, 0, 1, 3), 53, 56);
	ft_pass(0, f, len, R_PORT, 1);
	len = ft_icmp(f, 1, SWT_IP(10, 0, 1, 3), 100); /* the drop rule, not "no rule" */
	ft_dropped(1, f, len, R_ICMP);

	/* A prefix: UDP to 10.0.0.0/24 (given as 10.0.0.77/24) goes to vm3 from any port. */
	ft_add(R_NET, 300, "priority=300,udp,nw_dst=10.0.0.77/24,actions=output:vm3",
	       "priority=300,udp,nw_dst=10.0.0.0/24");
	len = ft_udp(f, 0, SWT_IP(10, 0, 0, 200), 9, 100);
	ft_pass(0, f, len, R_NET, 2);
	len = ft_udp(f, 0, SWT_IP(10, 0, 1, 200), 9, 100); /* outside the prefix */
	ft_pass(0, f, len, R_PORT, 1);
	len = ft_udp(f, 1, SWT_IP(10, 0, 0, 5), 9, 300);
	ft_pass(1, f, len, R_NET, 2);
	len = ft_udp(f, 1, SWT_IP(10, 0, 1, 5), 9, 300);
	ft_dropped(1, f, len, -1);
	len = ft_icmp(f, 0, SWT_IP(10, 0, 0, 1), 20); /* not UDP: the ICMP drop */
	ft_dropped(0, f, len, R_ICMP);

	/* set_eth_dst, and a transport-port mask: 5000/0xfff8 is 5000..5007. */
	ft_add(R_MOD, 400,
	       "priority=400,in_port=vm2,udp,tp_dst=5000/0xfff8,"
	       "actions=set_eth_dst:02:00:00:00:00:99,output:vm1",
	       "priority=400,udp,in_port=vm2,tp_dst=0x1388/0xfff8");
	for (uint16_t port = 5000; port <= 5007; port += 7) {
		len = ft_udp(f, 1, SWT_IP(10, 0, 1, 5), port, 150);
		ft_send(1, f, len, R_MOD);
		memcpy(e, f, len);
		memcpy(e, (uint8_t[]){0x02, 0, 0, 0, 0, 0x99}, 6);
		swt_expect(&T.fe[0], "vm1", 0, e, len);
		ft_quiet(0x6);
	}
	/* Back to back, one flow (the burst's flow memo reuses the parse, dp_memo.h): each frame
	 * rewritten, none left out, payloads intact. */
	for (int k = 0; k < 2; k++) {
		uint32_t seq0 = T.seq + 1;
		fe_tx_hold(&T.fe[1], 0);
		for (int i = 0; i < 24; i++) {
			len = swt_ip4(f, T.mac[2], T.mac[1], UDP, SWT_IP(10, 1, 0, 2),
				      SWT_IP(10, 0, 1, 5), 4242, 5001, k ? 900 : 150, ++T.seq);
			ft_send(1, f, len, R_MOD);
		}
		fe_tx_flush(&T.fe[1], 0);
		for (int i = 0; i < 24; i++) {
			len = swt_ip4(e, T.mac[2], T.mac[1], UDP, SWT_IP(10, 1, 0, 2),
				      SWT_IP(10, 0, 1, 5), 4242, 5001, k ? 900 : 150,
				      seq0 + (uint32_t)i);
			memcpy(e, (uint8_t[]){0x02, 0, 0, 0, 0, 0x99}, 6);
			swt_expect(&T.fe[0], "vm1", 0, e, len);
		}
	}
	ft_quiet(0x6);
	{ /* two bursts of 24: the first frame of each parsed, the 23 others memoised */
		json_t *pmd = swctl_ok(&T.d, true, "pmd-show");
		json_int_t hits = 0;
		size_t i;
		json_t *th;
		json_array_foreach(pmd, i, th) hits +=
		    json_integer_value(json_object_get(th, "memo_hits"));
		json_decref(pmd);
		if (hits < 46)
			fail_msg("pmd-show memo_hits %lld, want >= 46", (long long)hits);
	}
	len = ft_udp(f, 1, SWT_IP(10, 0, 1, 5), 5008, 150);
	ft_dropped(1, f, len, -1);
	len = ft_udp(f, 1, SWT_IP(10, 0, 1, 5), 4999, 150);
	ft_dropped(1, f, len, -1);

	/* push_vlan with a PCP, and pop_vlan of a matched VID (higher priority). */
	ft_add(R_PUSH, 400, "priority=400,in_port=vm3,udp,actions=push_vlan:42/5,output:vm1",
	       "priority=400,udp,in_port=vm3");
	ft_add(R_POP, 450, "priority=450,in_port=vm3,dl_vlan=42,actions=pop_vlan,output:vm2",
	       "priority=450,in_port=vm3,dl_vlan=42");
	len = ft_udp(f, 2, SWT_IP(10, 9, 9, 9), 9, 70);
	ft_send(2, f, len, R_PUSH);
	memcpy(e, f, len);
	size_t elen = swt_tag(e, len, 5 << 13 | 42);
	swt_expect(&T.fe[0], "vm1", 0, e, elen);
	ft_quiet(0x6);
	ft_send(2, e, elen, R_POP); /* tagged 42: popped, to vm2 */
	swt_expect(&T.fe[1], "vm2", 0, f, len);
	ft_quiet(0x5);
	len = swt_eth(f, 90, swt_bcast, T.mac[2], ++T.seq); /* not UDP, untagged: no rule */
	ft_dropped(2, f, len, -1);

	ft_check_dump();
	ft_check_no_rule();
	json_t *some = swctl_ok(&T.d, true, "dump-flows", "in_port=vm3");
	assert_int_equal(json_array_size(some), 2);
	json_decref(some);

	/* Invalid rules: refused, the field named, nothing changed. */
	ft_refused("priority=100,udp,tp_dst=99999,actions=drop", "tp_dst=99999");
	ft_refused("priority=100,nw_dst=10.0.0.0/24,actions=drop", "nw_dst=10.0.0.0/24");
	ft_refused("priority=100,in_port=vm9,actions=drop", "in_port=vm9");
	ft_refused("priority=100,actions=output:vm9", "output:vm9");
	ft_refused("priority=100,bogus_field=1,actions=drop", "bogus_field=1");
	ft_refused("priority=100,udp,actions=push_vlan:5000", "push_vlan:5000");
	ft_refused("priority=70000,actions=drop", "priority=70000");
	ft_refused("priority=1,actions=drop,output:vm1", "output:vm1");

	/* del-flows --strict: the priority must match too. */
	assert_int_equal(ft_del("--strict", "priority=401,in_port=vm2,udp,tp_dst=5000/0xfff8"), 0);
	assert_int_equal(ft_del("--strict", "priority=400,in_port=vm2,udp,tp_dst=5000/0xfff8"), 1);
	T.r[R_MOD].live = false;
	len = ft_udp(f, 1, SWT_IP(10, 0, 1, 5), 5000, 150); /* no rule any more */
	ft_dropped(1, f, len, -1);
	ft_check_dump();
	/* Non-strict: every rule at least as specific as the match, any priority. */
	assert_int_equal(ft_del("in_port=vm3"), 2);
	T.r[R_PUSH].live = T.r[R_POP].live = false;
	ft_check_dump();
	assert_int_equal(ft_del("udp"), 1);
	T.r[R_NET].live = false;
	len = ft_udp(f, 0, SWT_IP(10, 0, 0, 200), 9, 100); /* now the port rule */
	ft_pass(0, f, len, R_PORT, 1);
	ft_check_dump();
	ft_check_no_rule();
	assert_int_equal(ft_del("in_port=vm2"), 0);
	/* Everything: the table is empty and 'normal' forwards again. */
	assert_int_equal(ft_del("--strict", "priority=200,icmp"), 1);
	assert_int_equal(ft_deleted((const char *const[]){"del-flows", NULL}), 1);
	T.r[R_PORT].live = T.r[R_ICMP].live = false;
	ft_check_dump();
	show = swctl_ok(&T.d, true, "show");
	assert_int_equal(json_integer_value(json_object_get(show, "flows")), 0);
	json_decref(show);
	len = swt_eth(f, 100, swt_bcast, T.mac[1], ++T.seq);
	ft_send(1, f, len, -2);
	swt_expect(&T.fe[0], "vm1", 0, f, len);
	swt_expect(&T.fe[2], "vm3", 0, f, len);
	ft_quiet(2);
	len = ft_icmp(f, 2, SWT_IP(10, 0, 0, 1), 20); /* ICMP is no longer dropped */
	memcpy(f, T.mac[1].b, 6);
	ft_send(2, f, len, -2);
	swt_expect(&T.fe[1], "vm2", 0, f, len);
	ft_quiet(5);
	ft_check_no_rule(); /* unchanged: nothing is "no rule" in an empty table */
	char *conf = swt_read_file(T.d.conf, NULL);
	assert_non_null(conf);
	if (strstr(conf, "add-flow"))
		fail_msg("the config file still holds flows:\n%s", conf);
	free(conf);

	for (int i = 0; i < NP; i++)
		swt_fe_detach(&T.fe[i]);
	swd_cleanup(&T.d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_sw_flows)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
