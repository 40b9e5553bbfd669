/*
 * test_pkt_hash.c - the steering hash (pkt_flow_hash) and the masked key
 * hash (flow_key_hash): which fields count, which do not, fragments, and the
 * spread of 10,000 random flows over 4 queues.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include "net/flow_hash.h"
#include "net/pkt_parse.h"

/* xorshift64*: deterministic test randomness. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd32(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

static struct flow_key v4_tcp(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport)
{
	struct flow_key k;
	memset(&k, 0, sizeof(k));
	k.dl_type = htons(0x0800);
	k.nw_proto = 6;
	k.nw_src = htonl(src);
	k.nw_dst = htonl(dst);
	k.tp_src = htons(sport);
	k.tp_dst = htons(dport);
	return k;
}

static struct flow_key v6_udp(uint32_t tail_src, uint32_t tail_dst, uint16_t sport, uint16_t dport)
{
	struct flow_key k;
	memset(&k, 0, sizeof(k));
	k.dl_type = htons(0x86dd);
	k.nw_proto = 17;
	k.ipv6_src[0] = 0x20;
	k.ipv6_dst[0] = 0x20;
	memcpy(k.ipv6_src + 12, &tail_src, 4);
	memcpy(k.ipv6_dst + 12, &tail_dst, 4);
	k.tp_src = htons(sport);
	k.tp_dst = htons(dport);
	return k;
}

/* Same 4-tuple, different everything else: same hash. */
static void test_tuple_only(void **state)
{
	(void)state;
	struct flow_key a = v4_tcp(0x0a000001, 0x0a000002, 1234, 80);
	struct flow_key b = a;
	b.in_port = 9;
	b.nw_ttl = 3;
	b.nw_tos = 0xb8;
	b.vlan_tci = htons(0x1064);
	b.dl_src.b[5] = 0x77;
	b.dl_dst.b[0] = 0x02;
	assert_int_equal(pkt_flow_hash(&a), pkt_flow_hash(&b));

	struct flow_key c = a;
	c.tp_src = htons(1235);
	assert_int_not_equal(pkt_flow_hash(&a), pkt_flow_hash(&c));
	c = a;
	c.nw_proto = 17;
	assert_int_not_equal(pkt_flow_hash(&a), pkt_flow_hash(&c));
	c = a;
	c.nw_dst = htonl(0x0a000003);
	assert_int_not_equal(pkt_flow_hash(&a), pkt_flow_hash(&c));

	struct flow_key x = v6_udp(1, 2, 53, 5353), y = x;
	y.nw_ttl = 1;
	y.in_port = 4;
	assert_int_equal(pkt_flow_hash(&x), pkt_flow_hash(&y));
	y.ipv6_src[15] ^= 0x10;
	assert_int_not_equal(pkt_flow_hash(&x), pkt_flow_hash(&y));
}

/* Parsed frames: the hash comes from the key, not from bytes outside the tuple. */
static void test_parsed_frames(void **state)
{
	(void)state;
	uint8_t f[54] = {2, 0, 0,  0, 0, 2, 2,	0, 0, 0, 0,  1, 0x08, 0x00, 0x45, 0,	0, 40, 0, 1,
			 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0,    2,    0x1f, 0x90, 0, 80};
	f[46] = 0x50;
	struct flow_key k1, k2;
	assert_int_equal(pkt_parse(f, sizeof(f), 1, &k1, NULL), 0);
	f[22] = 1;    /* TTL */
	f[15] = 0x10; /* TOS */
	f[5] = 9;     /* destination MAC */
	f[38] = 0xff; /* TCP sequence number */
	assert_int_equal(pkt_parse(f, sizeof(f), 2, &k2, NULL), 0);
	assert_int_equal(pkt_flow_hash(&k1), pkt_flow_hash(&k2));
}

/* All fragments of one datagram hash alike, ports or not. */
static void test_fragments(void **state)
{
	(void)state;
	struct flow_key first = v4_tcp(0x0a000001, 0x0a000002, 1234, 80);
	first.nw_frag = FLOW_FRAG_ANY;
	struct flow_key later = first;
	later.nw_frag = FLOW_FRAG_ANY | FLOW_FRAG_LATER;
	later.tp_src = later.tp_dst = 0;
	assert_int_equal(pkt_flow_hash(&first), pkt_flow_hash(&later));
}

/* Non-IP: MACs and EtherType. */
static void test_non_ip(void **state)
{
	(void)state;
	struct flow_key a;
	memset(&a, 0, sizeof(a));
	a.dl_type = htons(0x0806);
	a.dl_src.b[5] = 1;
	a.dl_dst.b[5] = 2;
	a.nw_src = 5; /* ARP addresses do not count */
	struct flow_key b = a;
	b.nw_src = 6;
	b.in_port = 3;
	assert_int_equal(pkt_flow_hash(&a), pkt_flow_hash(&b));
	b.dl_src.b[5] = 3;
	assert_int_not_equal(pkt_flow_hash(&a), pkt_flow_hash(&b));
	b = a;
	b.dl_type = htons(0x88cc);
	assert_int_not_equal(pkt_flow_hash(&a), pkt_flow_hash(&b));
	struct flow_key zero;
	memset(&zero, 0, sizeof(zero));
	assert_int_not_equal(pkt_flow_hash(&zero), 0);
}

static void check_spread(const char *what, const unsigned *q, unsigned nq, unsigned total)
{
	unsigned want = total / nq, slack = want * 15 / 100;
	for (unsigned i = 0; i < nq; i++) {
		if (q[i] < want - slack || q[i] > want + slack) {
			print_message("%s: queue %u got %u of %u\n", what, i, q[i], total);
			fail();
		}
	}
}

/* 10,000 random flows over 4 queues: each within 25% +- 15% of its share. */
static void test_distribution(void **state)
{
	(void)state;
	enum { FLOWS = 10000, NQ = 4 };
	unsigned mod[NQ] = {0}, mul[NQ] = {0}, v6[NQ] = {0}, seq[NQ] = {0};

	for (unsigned i = 0; i < FLOWS; i++) {
		struct flow_key k = v4_tcp(rnd32(), rnd32(), (uint16_t)rnd32(), (uint16_t)rnd32());
		uint32_t h = pkt_flow_hash(&k);
		mod[h % NQ]++;
		mul[(uint32_t)(((uint64_t)h * NQ) >> 32)]++;
		k = v6_udp(rnd32(), rnd32(), (uint16_t)rnd32(), 53);
		v6[pkt_flow_hash(&k) % NQ]++;
		/* Structured traffic: one client, sequential source ports. */
		k = v4_tcp(0xc0a80001, 0xc0a80002, (uint16_t)(10000 + i), 443);
		seq[pkt_flow_hash(&k) % NQ]++;
	}
	check_spread("v4 modulo", mod, NQ, FLOWS);
	check_spread("v4 multiply-shift", mul, NQ, FLOWS);
	check_spread("v6", v6, NQ, FLOWS);
	check_spread("sequential ports", seq, NQ, FLOWS);
}

/* flow_key_hash: masked-out bits do not count, basis does, NULL mask is all ones. */
static void test_flow_key_hash(void **state)
{
	(void)state;
	struct flow_key a = v4_tcp(0x0a000001, 0x0a000002, 1234, 80), b = a, mask, ones;
	memset(&mask, 0, sizeof(mask));
	memset(&ones, 0xff, sizeof(ones));
	mask.nw_dst = htonl(0xffffff00);
	mask.dl_type = 0xffff;
	b.nw_dst = htonl(0x0a000063);
	b.tp_src = 7;
	b.in_port = 5;
	assert_int_equal(flow_key_hash(&a, &mask, 0), flow_key_hash(&b, &mask, 0));
	assert_int_not_equal(flow_key_hash(&a, NULL, 0), flow_key_hash(&b, NULL, 0));
	assert_int_equal(flow_key_hash(&a, NULL, 42), flow_key_hash(&a, &ones, 42));
	assert_int_not_equal(flow_key_hash(&a, NULL, 1), flow_key_hash(&a, NULL, 2));

	/* Every single-bit change of the key changes the unmasked hash. */
	const uint8_t *base = (const uint8_t *)&a;
	uint32_t h0 = flow_key_hash(&a, NULL, 0);
	for (size_t i = 0; i < sizeof(a) * 8; i++) {
		struct flow_key c;
		memcpy(&c, base, sizeof(c));
		((uint8_t *)&c)[i / 8] ^= (uint8_t)(1u << (i % 8));
		assert_int_not_equal(flow_key_hash(&c, NULL, 0), h0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tuple_only),	 cmocka_unit_test(test_parsed_frames),
	    cmocka_unit_test(test_fragments),	 cmocka_unit_test(test_non_ip),
	    cmocka_unit_test(test_distribution), cmocka_unit_test(test_flow_key_hash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
