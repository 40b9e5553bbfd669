/*
 * test_pkt_vlan.c - VLAN push and pop on packet buffers, byte for byte:
 * headroom use, the tag's bytes, restoration by pop, the error cases, offload
 * offsets moving with the frame, and the Ethernet address setters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include "lib/pbuf.h"
#include "net/pkt_parse.h"
#include "net/pkt_vlan.h"

/* An untagged IPv4/UDP frame. */
static const uint8_t plain[] = {
    0x02, 0,  0,    0,	  0, 0x02, 0x02, 0, 0,	0,  0, 0x01, 0x08, 0x00, /* eth */
    0x45, 0,  0,    28,	  0, 1,	   0,	 0, 64, 17, 0, 0,    10,   0,
    0,	  1,  10,   0,	  0, 2,		    /* ipv4 */
    0,	  53, 0xd4, 0x31, 0, 8,	   0,	 0, /* udp */
};

/* The same frame with 802.1Q PCP 5, VID 100. */
static const uint8_t tagged[] = {
    0x02, 0,	0,    0, 0, 0x02, 0x02, 0,  0,	  0,	0,  0x01, 0x81, 0x00, 0xa0, 0x64,
    0x08, 0x00, 0x45, 0, 0, 28,	  0,	1,  0,	  0,	64, 17,	  0,	0,    10,   0,
    0,	  1,	10,   0, 0, 2,	  0,	53, 0xd4, 0x31, 0,  8,	  0,	0,
};

struct fixture {
	struct pbuf_pool pool;
	struct pbuf *p;
};

static int setup(void **state)
{
	static struct fixture fx;
	if (pbuf_pool_init(&fx.pool, 2, 2048) != 0)
		return -1;
	fx.p = pbuf_alloc(&fx.pool);
	*state = &fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	pbuf_free(&fx->pool, fx->p);
	pbuf_pool_fini(&fx->pool);
	return 0;
}

static void load(struct pbuf *p, const uint8_t *f, uint32_t len)
{
	p->data = p->buf + PBUF_HEADROOM;
	p->room = 2048;
	memcpy(p->data, f, len);
	p->len = len;
	p->ol = (struct pbuf_offload){0};
}

static void test_push_bytes(void **state)
{
	struct pbuf *p = ((struct fixture *)*state)->p;
	load(p, plain, sizeof(plain));
	uint8_t *before = p->data;

	assert_int_equal(pkt_vlan_push(p, 0xa064), 0);
	assert_ptr_equal(p->data, before - 4);
	assert_int_equal(p->len, sizeof(tagged));
	assert_int_equal(p->room, 2048 + 4);
	assert_memory_equal(p->data, tagged, sizeof(tagged));

	struct flow_key k;
	assert_int_equal(pkt_parse(p->data, p->len, 0, &k, NULL), 0);
	assert_int_equal(k.vlan_tci, htons(0xa064 | FLOW_VLAN_PRESENT));
	assert_int_equal(k.dl_type, htons(0x0800));
	assert_int_equal(k.tp_src, htons(53));
}

static void test_pop_bytes(void **state)
{
	struct pbuf *p = ((struct fixture *)*state)->p;
	load(p, tagged, sizeof(tagged));
	uint8_t *before = p->data;

	assert_int_equal(pkt_vlan_pop(p), 0);
	assert_ptr_equal(p->data, before + 4);
	assert_int_equal(p->len, sizeof(plain));
	assert_int_equal(p->room, 2048 - 4);
	assert_memory_equal(p->data, plain, sizeof(plain));
	assert_int_equal(pkt_vlan_pop(p), -ENOENT);
	assert_memory_equal(p->data, plain, sizeof(plain));
}

/* Two pushes make a double-tagged frame; two pops give back the original. */
static void test_push_push_pop_pop(void **state)
{
	struct pbuf *p = ((struct fixture *)*state)->p;
	load(p, plain, sizeof(plain));

	assert_int_equal(pkt_vlan_push(p, 0x0064), 0);
	assert_int_equal(pkt_vlan_push(p, 0x200a), 0);
	static const uint8_t hdr[] = {0x02, 0,	  0,	0,    0,    0x02, 0x02, 0,
				      0,    0,	  0,	0x01, 0x81, 0x00, 0x20, 0x0a,
				      0x81, 0x00, 0x00, 0x64, 0x08, 0x00};
	assert_memory_equal(p->data, hdr, sizeof(hdr));
	assert_memory_equal(p->data + sizeof(hdr), plain + 14, sizeof(plain) - 14);

	struct flow_key k;
	struct pkt_meta m;
	assert_int_equal(pkt_parse(p->data, p->len, 0, &k, &m), 0);
	assert_int_equal(k.vlan_tci, htons(0x200a | FLOW_VLAN_PRESENT));
	assert_true(m.flags & PKT_QINQ);

	assert_int_equal(pkt_vlan_pop(p), 0);
	assert_int_equal(pkt_vlan_pop(p), 0);
	assert_int_equal(p->len, sizeof(plain));
	assert_memory_equal(p->data, plain, sizeof(plain));
}

/* The 802.1ad service tag is an outer tag too. */
static void test_pop_88a8(void **state)
{
	struct pbuf *p = ((struct fixture *)*state)->p;
	uint8_t f[sizeof(tagged)];
	memcpy(f, tagged, sizeof(f));
	f[12] = 0x88;
	f[13] = 0xa8;
	load(p, f, sizeof(f));
	assert_int_equal(pkt_vlan_pop(p), 0);
	assert_memory_equal(p->data, plain, sizeof(plain));
}

static void test_errors(void **state)
{
	struct pbuf *p = ((struct fixture *)*state)->p;

	/* No headroom left. */
	load(p, plain, sizeof(plain));
	memmove(p->buf + 2, p->data, p->len);
	p->data = p->buf + 2;
	assert_int_equal(pkt_vlan_push(p, 1), -ENOSPC);
	assert_memory_equal(p->data, plain, sizeof(plain));
	p->data = p->buf + 4;
	memmove(p->data, p->buf + 2, p->len);
	assert_int_equal(pkt_vlan_push(p, 1), 0);
	assert_ptr_equal(p->data, p->buf);

	/* Runts. */
	load(p, plain, 13);
	assert_int_equal(pkt_vlan_push(p, 1), -EINVAL);
	assert_int_equal(p->len, 13);
	load(p, tagged, 17); /* tag present but the inner type cut */
	assert_int_equal(pkt_vlan_pop(p), -ENOENT);
	load(p, tagged, 18);
	assert_int_equal(pkt_vlan_pop(p), 0);
	assert_int_equal(p->len, 14);
	assert_memory_equal(p->data, plain, 14);
}

/* Checksum and GSO offsets move with the L3 header; zero (no offload) stays zero. */
static void test_offload_offsets(void **state)
{
	struct pbuf *p = ((struct fixture *)*state)->p;
	load(p, plain, sizeof(plain));
	p->ol.flags = 1;
	p->ol.csum_start = 34;
	p->ol.csum_offset = 6;
	p->ol.hdr_len = 42;
	assert_int_equal(pkt_vlan_push(p, 5), 0);
	assert_int_equal(p->ol.csum_start, 38);
	assert_int_equal(p->ol.csum_offset, 6);
	assert_int_equal(p->ol.hdr_len, 46);
	assert_int_equal(pkt_vlan_pop(p), 0);
	assert_int_equal(p->ol.csum_start, 34);
	assert_int_equal(p->ol.hdr_len, 42);

	p->ol = (struct pbuf_offload){0};
	assert_int_equal(pkt_vlan_push(p, 5), 0);
	assert_int_equal(p->ol.csum_start, 0);
	assert_int_equal(p->ol.hdr_len, 0);
}

static void test_set_eth(void **state)
{
	struct pbuf *p = ((struct fixture *)*state)->p;
	static const struct eth_addr a = {{0x52, 0x54, 0, 0xaa, 0xbb, 0xcc}};
	static const struct eth_addr b = {{0x02, 0x11, 0x22, 0x33, 0x44, 0x55}};
	load(p, plain, sizeof(plain));
	pkt_set_eth_src(p, &a);
	pkt_set_eth_dst(p, &b);
	assert_memory_equal(p->data, b.b, 6);
	assert_memory_equal(p->data + 6, a.b, 6);
	assert_memory_equal(p->data + 12, plain + 12, sizeof(plain) - 12);

	load(p, plain, 10); /* runt: untouched */
	pkt_set_eth_dst(p, &b);
	assert_memory_equal(p->data, plain, 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_push_bytes),
	    cmocka_unit_test(test_pop_bytes),
	    cmocka_unit_test(test_push_push_pop_pop),
	    cmocka_unit_test(test_pop_88a8),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_offload_offsets),
	    cmocka_unit_test(test_set_eth),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
