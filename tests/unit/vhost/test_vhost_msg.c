/*
 * test_vhost_msg.c - the pure vhost-user message validator, table-driven:
 * each case is the bytes of one message (header and payload words), the fd
 * count that came with it and the negotiated protocol features, and the
 * exact error vhost_msg_check must name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/compiler.h"
#include "vhost/vhost_msg.h"
#include "virtio/virtio_spec.h"

#define V    VHOST_USER_VERSION
#define NR   VHOST_USER_FLAG_NEED_REPLY
#define RE   VHOST_USER_FLAG_REPLY
#define P(b) (1ull << VHOST_USER_PROTOCOL_F_##b)
#define ALLP                                                                                       \
	(P(MQ) | P(REPLY_ACK) | P(CONFIGURE_MEM_SLOTS) | P(NET_MTU) | P(BACKEND_REQ) | P(STATUS))
#define ST(i, n) ((uint64_t)(i) | ((uint64_t)(n) << 32))
#define NOFD	 VHOST_USER_VRING_NOFD_MASK
/* A region as four payload words: gpa, size, uva, mmap offset. */
#define REG(g, s, u, o) (g), (s), (u), (o)
#define MEMT(n)		((uint64_t)(n))
#define R1		REG(0, 0x100000, 0x7f0000000000, 0)
#define R2		REG(0x100000, 0x100000, 0x7f0000100000, 0x100000)

struct msg_case {
	const char *name;
	uint32_t request;
	uint32_t flags;
	uint32_t size;
	unsigned nfds;
	uint64_t proto;
	uint64_t w[VHOST_MEMORY_BASELINE_NREGIONS * 4 + 2]; /* payload, as little-endian words */
	enum vhost_msg_err want;
};

#define OK   VHOST_MSG_OK
#define E(x) VHOST_MSG_E_##x

static const struct msg_case cases[] = {
    /* Requests and flags. */
    {"get_features", VHOST_USER_GET_FEATURES, V, 0, 0, 0, {0}, OK},
    {"get_features u64 tolerated", VHOST_USER_GET_FEATURES, V, 8, 0, 0, {0}, OK},
    {"get_features too long", VHOST_USER_GET_FEATURES, V, 16, 0, 0, {0}, E(SIZE_LARGE)},
    {"get_features with fd", VHOST_USER_GET_FEATURES, V, 0, 1, 0, {0}, E(NFDS)},
    {"request 0", VHOST_USER_NONE, V, 0, 0, 0, {0}, E(UNKNOWN)},
    {"set_log_base", VHOST_USER_SET_LOG_BASE, V, 16, 1, P(LOG_SHMFD), {0x1000, 0}, OK},
    {"set_log_base ungated", VHOST_USER_SET_LOG_BASE, V, 16, 1, P(MQ), {0x1000, 0}, E(NOT_NEGOTIATED)},
    {"set_log_base no fd", VHOST_USER_SET_LOG_BASE, V, 16, 0, P(LOG_SHMFD), {0x1000, 0}, E(NFDS)},
    {"set_log_base two fds", VHOST_USER_SET_LOG_BASE, V, 16, 2, P(LOG_SHMFD), {0x1000, 0}, E(NFDS)},
    {"set_log_base short", VHOST_USER_SET_LOG_BASE, V, 8, 1, P(LOG_SHMFD), {0x1000}, E(SIZE_SMALL)},
    {"set_log_base long", VHOST_USER_SET_LOG_BASE, V, 24, 1, P(LOG_SHMFD), {0x1000}, E(SIZE_LARGE)},
    {"set_log_base size 0", VHOST_USER_SET_LOG_BASE, V, 16, 1, P(LOG_SHMFD), {0, 0}, E(VALUE)},
    {"set_log_base 8 GiB", VHOST_USER_SET_LOG_BASE, V, 16, 1, P(LOG_SHMFD), {1ull << 33, 0}, E(VALUE)},
    {"set_log_base offset wraps", VHOST_USER_SET_LOG_BASE, V, 16, 1, P(LOG_SHMFD),
     {0x1000, ~0ull - 0x10}, E(REGION)},
    {"set_log_fd", VHOST_USER_SET_LOG_FD, V, 0, 1, 0, {0}, OK},
    {"set_log_fd no fd", VHOST_USER_SET_LOG_FD, V, 0, 0, 0, {0}, E(NFDS)},
    {"iotlb unsupported", VHOST_USER_IOTLB_MSG, V, 8, 0, ALLP, {0}, E(UNKNOWN)},
    {"get_config unsupported", VHOST_USER_GET_CONFIG, V, 12, 0, ALLP, {0}, E(UNKNOWN)},
    {"request 26", 26, V, 0, 0, ALLP, {0}, E(UNKNOWN)},
    {"request max", VHOST_USER_REQUEST_MAX, V, 0, 0, ALLP, {0}, E(UNKNOWN)},
    {"request huge", 0xffffffffu, V, 0, 0, ALLP, {0}, E(UNKNOWN)},
    {"version 0", VHOST_USER_GET_FEATURES, 0, 0, 0, 0, {0}, E(VERSION)},
    {"version 2", VHOST_USER_GET_FEATURES, 2, 0, 0, 0, {0}, E(VERSION)},
    {"version 3", VHOST_USER_GET_FEATURES, 3, 0, 0, 0, {0}, E(VERSION)},
    {"reply flag on request", VHOST_USER_SET_OWNER, V | RE, 0, 0, 0, {0}, E(REPLY_FLAG)},
    {"need_reply ok", VHOST_USER_SET_OWNER, V | NR, 0, 0, 0, {0}, OK},
    {"nine fds", VHOST_USER_SET_OWNER, V, 0, 9, 0, {0}, E(NFDS)},
    /* u64 payloads. */
    {"set_features", VHOST_USER_SET_FEATURES, V, 8, 0, 0, {1ull << 32}, OK},
    {"set_features short", VHOST_USER_SET_FEATURES, V, 4, 0, 0, {0}, E(SIZE_SMALL)},
    {"set_features empty", VHOST_USER_SET_FEATURES, V, 0, 0, 0, {0}, E(SIZE_SMALL)},
    {"set_features long", VHOST_USER_SET_FEATURES, V, 12, 0, 0, {0}, E(SIZE_LARGE)},
    {"set_features fd", VHOST_USER_SET_FEATURES, V, 8, 1, 0, {0}, E(NFDS)},
    {"set_protocol_features", VHOST_USER_SET_PROTOCOL_FEATURES, V, 8, 0, 0, {ALLP}, OK},
    {"get_queue_num ungated", VHOST_USER_GET_QUEUE_NUM, V, 0, 0, 0, {0}, OK},
    {"send_rarp", VHOST_USER_SEND_RARP, V, 8, 0, 0, {0x112233445566ull}, OK},
    {"mtu ok", VHOST_USER_NET_SET_MTU, V | NR, 8, 0, P(NET_MTU), {1500}, OK},
    {"mtu ungated", VHOST_USER_NET_SET_MTU, V, 8, 0, P(MQ), {1500}, E(NOT_NEGOTIATED)},
    {"mtu 67", VHOST_USER_NET_SET_MTU, V, 8, 0, P(NET_MTU), {67}, E(VALUE)},
    {"mtu 65536", VHOST_USER_NET_SET_MTU, V, 8, 0, P(NET_MTU), {65536}, E(VALUE)},
    {"status ok", VHOST_USER_SET_STATUS, V, 8, 0, P(STATUS), {0xf}, OK},
    {"status wide", VHOST_USER_SET_STATUS, V, 8, 0, P(STATUS), {0x100}, E(VALUE)},
    {"status ungated", VHOST_USER_SET_STATUS, V, 8, 0, 0, {0}, E(NOT_NEGOTIATED)},
    {"get_status", VHOST_USER_GET_STATUS, V, 0, 0, P(STATUS), {0}, OK},
    {"max_mem_slots ungated", VHOST_USER_GET_MAX_MEM_SLOTS, V, 0, 0, P(MQ), {0}, E(NOT_NEGOTIATED)},
    {"max_mem_slots", VHOST_USER_GET_MAX_MEM_SLOTS, V, 0, 0, P(CONFIGURE_MEM_SLOTS), {0}, OK},
    {"backend_req_fd", VHOST_USER_SET_BACKEND_REQ_FD, V, 0, 1, P(BACKEND_REQ), {0}, OK},
    {"backend_req_fd no fd", VHOST_USER_SET_BACKEND_REQ_FD, V, 0, 0, P(BACKEND_REQ), {0}, E(NFDS)},
    {"backend_req_fd ungated", VHOST_USER_SET_BACKEND_REQ_FD, V, 0, 1, 0, {0}, E(NOT_NEGOTIATED)},
    /* Vring state messages (nr_queues is 4 in every case). */
    {"vring_num", VHOST_USER_SET_VRING_NUM, V, 8, 0, 0, {ST(3, 256)}, OK},
    {"vring_num 1", VHOST_USER_SET_VRING_NUM, V, 8, 0, 0, {ST(0, 1)}, OK},
    {"vring_num 32768", VHOST_USER_SET_VRING_NUM, V, 8, 0, 0, {ST(0, 32768)}, OK},
    {"vring_num 0", VHOST_USER_SET_VRING_NUM, V, 8, 0, 0, {ST(0, 0)}, E(VRING_NUM)},
    {"vring_num 3", VHOST_USER_SET_VRING_NUM, V, 8, 0, 0, {ST(0, 3)}, E(VRING_NUM)},
    {"vring_num 65536", VHOST_USER_SET_VRING_NUM, V, 8, 0, 0, {ST(0, 65536)}, E(VRING_NUM)},
    {"vring_num idx 4", VHOST_USER_SET_VRING_NUM, V, 8, 0, 0, {ST(4, 256)}, E(VRING_IDX)},
    {"vring_num idx huge",
     VHOST_USER_SET_VRING_NUM,
     V,
     8,
     0,
     0,
     {ST(0x80000000u, 256)},
     E(VRING_IDX)},
    {"vring_num short", VHOST_USER_SET_VRING_NUM, V, 4, 0, 0, {ST(0, 256)}, E(SIZE_SMALL)},
    {"vring_base", VHOST_USER_SET_VRING_BASE, V, 8, 0, 0, {ST(1, 0xffff)}, OK},
    {"vring_base wide", VHOST_USER_SET_VRING_BASE, V, 8, 0, 0, {ST(1, 0x10000)}, E(VRING_BASE)},
    {"get_vring_base", VHOST_USER_GET_VRING_BASE, V, 8, 0, 0, {ST(2, 0)}, OK},
    {"get_vring_base idx", VHOST_USER_GET_VRING_BASE, V, 8, 0, 0, {ST(9, 0)}, E(VRING_IDX)},
    {"get_vring_base empty", VHOST_USER_GET_VRING_BASE, V, 0, 0, 0, {0}, E(SIZE_SMALL)},
    {"vring_enable", VHOST_USER_SET_VRING_ENABLE, V, 8, 0, 0, {ST(1, 1)}, OK},
    {"vring_enable 2", VHOST_USER_SET_VRING_ENABLE, V, 8, 0, 0, {ST(1, 2)}, E(VRING_ENABLE)},
    /* Vring addresses: index|flags, desc, used, avail, log. */
    {"vring_addr", VHOST_USER_SET_VRING_ADDR, V, 40, 0, 0, {0, 0x1000, 0x3000, 0x2000, 0}, OK},
    {"vring_addr log flag", VHOST_USER_SET_VRING_ADDR, V, 40, 0, 0, {1ull << 32}, OK},
    {"vring_addr flags", VHOST_USER_SET_VRING_ADDR, V, 40, 0, 0, {2ull << 32}, E(VRING_FLAGS)},
    {"vring_addr idx", VHOST_USER_SET_VRING_ADDR, V, 40, 0, 0, {4}, E(VRING_IDX)},
    {"vring_addr truncated", VHOST_USER_SET_VRING_ADDR, V, 20, 0, 0, {0}, E(SIZE_SMALL)},
    {"vring_addr long", VHOST_USER_SET_VRING_ADDR, V, 48, 0, 0, {0}, E(SIZE_LARGE)},
    /* Vring files: bits 0-7 index, bit 8 no fd. */
    {"kick fd", VHOST_USER_SET_VRING_KICK, V, 8, 1, 0, {1}, OK},
    {"kick nofd", VHOST_USER_SET_VRING_KICK, V, 8, 0, 0, {1 | NOFD}, OK},
    {"kick missing fd", VHOST_USER_SET_VRING_KICK, V, 8, 0, 0, {1}, E(NFDS)},
    {"kick nofd with fd", VHOST_USER_SET_VRING_KICK, V, 8, 1, 0, {1 | NOFD}, E(NFDS)},
    {"kick two fds", VHOST_USER_SET_VRING_KICK, V, 8, 2, 0, {1}, E(NFDS)},
    {"kick idx 4", VHOST_USER_SET_VRING_KICK, V, 8, 1, 0, {4}, E(VRING_IDX)},
    {"kick idx 255", VHOST_USER_SET_VRING_KICK, V, 8, 1, 0, {255}, E(VRING_IDX)},
    {"kick idx masked", VHOST_USER_SET_VRING_KICK, V, 8, 1, 0, {0x1000 | 2}, OK},
    {"call nofd", VHOST_USER_SET_VRING_CALL, V, 8, 0, 0, {3 | NOFD}, OK},
    {"err fd", VHOST_USER_SET_VRING_ERR, V, 8, 1, 0, {0}, OK},
    {"call short", VHOST_USER_SET_VRING_CALL, V, 4, 1, 0, {0}, E(SIZE_SMALL)},
    /* Memory table. */
    {"mem 1", VHOST_USER_SET_MEM_TABLE, V, 40, 1, 0, {MEMT(1), R1}, OK},
    {"mem 2", VHOST_USER_SET_MEM_TABLE, V, 72, 2, 0, {MEMT(2), R1, R2}, OK},
    {"mem full struct size", VHOST_USER_SET_MEM_TABLE, V, 264, 1, 0, {MEMT(1), R1}, OK},
    {"mem 0 regions", VHOST_USER_SET_MEM_TABLE, V, 8, 0, 0, {MEMT(0)}, E(NREGIONS)},
    {"mem 9 regions", VHOST_USER_SET_MEM_TABLE, V, 264, 8, 0, {MEMT(9)}, E(NREGIONS)},
    {"mem huge nregions", VHOST_USER_SET_MEM_TABLE, V, 264, 8, 0, {MEMT(0xffffffff)}, E(NREGIONS)},
    {"mem header short", VHOST_USER_SET_MEM_TABLE, V, 4, 0, 0, {MEMT(1)}, E(SIZE_SMALL)},
    {"mem regions short", VHOST_USER_SET_MEM_TABLE, V, 40, 2, 0, {MEMT(2), R1, R2}, E(SIZE_SMALL)},
    {"mem too long", VHOST_USER_SET_MEM_TABLE, V, 272, 1, 0, {MEMT(1), R1}, E(SIZE_LARGE)},
    {"mem fewer fds", VHOST_USER_SET_MEM_TABLE, V, 72, 1, 0, {MEMT(2), R1, R2}, E(NFDS)},
    {"mem more fds", VHOST_USER_SET_MEM_TABLE, V, 40, 2, 0, {MEMT(1), R1}, E(NFDS)},
    {"mem size 0",
     VHOST_USER_SET_MEM_TABLE,
     V,
     40,
     1,
     0,
     {MEMT(1), REG(0, 0, 0x1000, 0)},
     E(REGION)},
    {"mem gpa wraps",
     VHOST_USER_SET_MEM_TABLE,
     V,
     40,
     1,
     0,
     {MEMT(1), REG(~0ull - 0xfff, 0x2000, 0x1000, 0)},
     E(REGION)},
    {"mem uva wraps",
     VHOST_USER_SET_MEM_TABLE,
     V,
     40,
     1,
     0,
     {MEMT(1), REG(0, 0x2000, ~0ull - 0xfff, 0)},
     E(REGION)},
    {"mem offset wraps",
     VHOST_USER_SET_MEM_TABLE,
     V,
     40,
     1,
     0,
     {MEMT(1), REG(0, 0x2000, 0x1000, ~0ull - 0xfff)},
     E(REGION)},
    {"mem gpa overlap",
     VHOST_USER_SET_MEM_TABLE,
     V,
     72,
     2,
     0,
     {MEMT(2), R1, REG(0xff000, 0x1000, 0x7f0000200000, 0)},
     E(OVERLAP)},
    {"mem uva overlap",
     VHOST_USER_SET_MEM_TABLE,
     V,
     72,
     2,
     0,
     {MEMT(2), R1, REG(0x200000, 0x1000, 0x7f00000ff000, 0)},
     E(OVERLAP)},
    {"mem same region twice", VHOST_USER_SET_MEM_TABLE, V, 72, 2, 0, {MEMT(2), R1, R1}, E(OVERLAP)},
    /* Single regions (CONFIGURE_MEM_SLOTS). */
    {"add_mem_reg", VHOST_USER_ADD_MEM_REG, V, 40, 1, P(CONFIGURE_MEM_SLOTS), {0, R1}, OK},
    {"add_mem_reg ungated", VHOST_USER_ADD_MEM_REG, V, 40, 1, 0, {0, R1}, E(NOT_NEGOTIATED)},
    {"add_mem_reg no fd",
     VHOST_USER_ADD_MEM_REG,
     V,
     40,
     0,
     P(CONFIGURE_MEM_SLOTS),
     {0, R1},
     E(NFDS)},
    {"add_mem_reg empty",
     VHOST_USER_ADD_MEM_REG,
     V,
     40,
     1,
     P(CONFIGURE_MEM_SLOTS),
     {0, REG(0, 0, 0, 0)},
     E(REGION)},
    {"add_mem_reg short",
     VHOST_USER_ADD_MEM_REG,
     V,
     32,
     1,
     P(CONFIGURE_MEM_SLOTS),
     {0, R1},
     E(SIZE_SMALL)},
    {"rem_mem_reg", VHOST_USER_REM_MEM_REG, V, 40, 0, P(CONFIGURE_MEM_SLOTS), {0, R1}, OK},
    {"rem_mem_reg one fd", VHOST_USER_REM_MEM_REG, V, 40, 1, P(CONFIGURE_MEM_SLOTS), {0, R1}, OK},
    {"rem_mem_reg two fds",
     VHOST_USER_REM_MEM_REG,
     V,
     40,
     2,
     P(CONFIGURE_MEM_SLOTS),
     {0, R1},
     E(NFDS)},
};

static void test_cases(void **state)
{
	(void)state;
	struct vhost_msg_ctx ctx = {.nr_queues = 4};
	struct vhost_user_msg m;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct msg_case *c = &cases[i];
		memset(&m, 0xa5, sizeof(m)); /* bytes past hdr.size must not matter */
		m.hdr.request = c->request;
		m.hdr.flags = c->flags;
		m.hdr.size = c->size;
		memcpy(m.payload.raw, c->w, RS_MIN(sizeof(c->w), (size_t)c->size));
		ctx.proto_features = c->proto;
		enum vhost_msg_err got = vhost_msg_check(&m, c->nfds, &ctx);
		if (got != c->want)
			fail_msg("case '%s': got '%s', want '%s'", c->name, vhost_msg_strerror(got),
				 vhost_msg_strerror(c->want));
	}
}

/* Every byte pattern of a header over every request code: never a crash, always a verdict. */
static void test_all_requests_total(void **state)
{
	(void)state;
	struct vhost_msg_ctx ctx = {.nr_queues = 2, .proto_features = ~0ull};
	struct vhost_user_msg m;

	for (uint32_t req = 0; req < 64; req++)
		for (uint32_t size = 0; size <= VHOST_USER_PAYLOAD_MAX + 1; size += 4)
			for (unsigned nfds = 0; nfds <= 9; nfds += 3) {
				memset(&m, 0xff, sizeof(m));
				m.hdr.request = req;
				m.hdr.flags = VHOST_USER_VERSION;
				m.hdr.size = size;
				enum vhost_msg_err e = vhost_msg_check(&m, nfds, &ctx);
				assert_true((unsigned)e < VHOST_MSG_E_COUNT);
			}
}

static void test_table_and_names(void **state)
{
	(void)state;
	/* The tests' list of requests, generated from the protocol's one declaration. */
	static const uint32_t implemented[] = {VHOST_MSG_LIST(VHOST_MSG_REQUEST_CODE)};
	unsigned count = 0;

	for (size_t i = 0; i < sizeof(implemented) / sizeof(implemented[0]); i++) {
		const struct vhost_msg_desc *d = vhost_msg_desc(implemented[i]);
		assert_non_null(d);
		assert_int_equal(d->request, implemented[i]);
		assert_true(d->min_size <= d->max_size);
		assert_true(d->max_size <= VHOST_USER_PAYLOAD_MAX);
		assert_true(d->max_fds <= VHOST_USER_MAX_FDS);
		assert_true(d->stops <= VHOST_MSG_STOP_DEVICE);
		/* A GET_* request answers; a request that changes a ring stops it. */
		if (strncmp(d->name, "GET_", 4) == 0)
			assert_true(d->reply);
		if (strncmp(d->name, "SET_VRING_", 10) == 0 || d->request == VHOST_USER_GET_VRING_BASE)
			assert_int_equal(d->stops, VHOST_MSG_STOP_RING);
	}
	assert_int_equal(sizeof(implemented) / sizeof(implemented[0]), VHOST_MSG_NR_REQUESTS);
	for (uint32_t r = 0; r < VHOST_USER_REQUEST_MAX + 5; r++)
		count += vhost_msg_desc(r) != NULL;
	assert_int_equal(count, sizeof(implemented) / sizeof(implemented[0]));
	assert_string_equal(vhost_msg_name(VHOST_USER_SET_MEM_TABLE), "SET_MEM_TABLE");
	assert_string_equal(vhost_msg_name(1234), "unknown");
	for (int e = 0; e <= VHOST_MSG_E_COUNT; e++)
		assert_non_null(vhost_msg_strerror((enum vhost_msg_err)e));
}

static void test_reply_owed_and_index(void **state)
{
	(void)state;
	struct vhost_user_msg m;

	memset(&m, 0, sizeof(m));
	m.hdr.flags = V;
	m.hdr.request = VHOST_USER_GET_FEATURES;
	assert_true(vhost_msg_reply_owed(&m));
	m.hdr.request = VHOST_USER_SET_FEATURES;
	assert_false(vhost_msg_reply_owed(&m));
	m.hdr.flags |= NR;
	assert_true(vhost_msg_reply_owed(&m));
	m.hdr.request = 999;
	assert_true(vhost_msg_reply_owed(&m));
	m.hdr.flags = V;
	assert_false(vhost_msg_reply_owed(&m));
	assert_int_equal(vhost_msg_vring_index(&m), -1);

	m.hdr.request = VHOST_USER_SET_VRING_CALL;
	m.payload.u64 = 5 | NOFD;
	assert_int_equal(vhost_msg_vring_index(&m), 5);
	m.hdr.request = VHOST_USER_SET_VRING_NUM;
	m.payload.state.index = 7;
	assert_int_equal(vhost_msg_vring_index(&m), 7);
	m.hdr.request = VHOST_USER_SET_VRING_ADDR;
	m.payload.addr.index = 3;
	assert_int_equal(vhost_msg_vring_index(&m), 3);
	m.hdr.request = VHOST_USER_GET_FEATURES;
	assert_int_equal(vhost_msg_vring_index(&m), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cases),
	    cmocka_unit_test(test_all_requests_total),
	    cmocka_unit_test(test_table_and_names),
	    cmocka_unit_test(test_reply_owed_and_index),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
