/*
 * hostile_log_rows.h - hostile SET_LOG_BASE rows (live migration's dirty
 * log), part of HX_ROWS: hostile_rows.h includes this after its helpers, so
 * tests/integration/test_hostile.c and tests/switch/test_sw_hostile.c both
 * run them.
 *
 * SET_LOG_BASE owes a reply with an empty payload whatever happens
 * (vhost-user.rst "Dirty page logging"; QEMU 7.2 blocks on it), so a clean
 * refusal is that reply with the device left as it was. Each row sets the
 * hostile front-end up properly, LOG_SHMFD acked and logging on into a valid
 * log (fe_log_start), with frames flowing to and from the peer port; sends
 * one or more bad SET_LOG_BASE as QEMU sends it (no NEED_REPLY); and then
 * asserts: the empty reply to each; both queues still ready; frames both
 * ways byte for byte; the valid log, cleared after the replies, marked again
 * (the bad log did not replace it); the bad log's memfd, if any, untouched;
 * the connection still answering. The suite's teardown checks the target's
 * fds and mappings.
 */
#ifndef RS_TESTS_HOSTILE_LOG_ROWS_H
#define RS_TESTS_HOSTILE_LOG_ROWS_H

#include <stdint.h>

/* The logs of the row running; created logs have 'bits', others fd -1. */
static struct {
	struct fe_log ok;  /* the valid log, set by fe_log_start */
	struct fe_log bad; /* the row's bad log memfd, when it has one */
	uint32_t seq;
} HL;

static void hl_free(struct fe_log *l)
{
	if (l->bits)
		fe_log_destroy(l);
	l->fd = -1;
}

static uint64_t hl_bits(const struct fe_log *l)
{
	return l->bits ? fe_log_count(l, 0, l->size * 8) : 0;
}

/*
 * 8 frames of 60 to 1514 bytes from 'tx' to 'rx', compared byte for byte.
 * Not it_xfer: its buffers are shared with test_sw_hostile's traffic thread.
 */
static void hl_xfer(struct fe *tx, struct fe *rx)
{
	static uint8_t f[1514], got[1600];
	uint32_t first = HL.seq;
	for (unsigned i = 0; i < 8; i++, HL.seq++) {
		size_t len = 60 + (HL.seq * 211u) % (1514 - 60 + 1);
		it_frame(f, len, HL.seq);
		if (fe_send(tx, 0, f, len) < 0)
			fail_msg("send %zu bytes: %s", len, tx->err);
	}
	for (uint32_t s = first; s != HL.seq; s++) {
		size_t len = 60 + (s * 211u) % (1514 - 60 + 1), n = 0;
		if (fe_recv(rx, 0, got, sizeof(got), &n) < 0)
			fail_msg("frame %u: %s", s, rx->err);
		it_frame(f, len, s);
		if (n != len || memcmp(got, f, len) != 0)
			fail_msg("frame %u: %zu bytes, want %zu, or other bytes", s, n, len);
	}
}

/* Frames both ways between the hostile port and its peer. */
static void hl_traffic(void)
{
	hl_xfer(&HX.h, &HX.p);
	hl_xfer(&HX.p, &HX.h);
}

/*
 * HX.h fully set up with RX buffers, HX.p on the peer port. With 'shmfd'
 * LOG_SHMFD is acked and logging is on into HL.ok, which gets bits from
 * traffic; without, LOG_ALL alone is acked and there is no log.
 */
static void hl_ready(bool shmfd)
{
	struct fe_cfg c = {.queue_size = HX_QSIZE};
	hl_free(&HL.ok);
	hl_free(&HL.bad);
	if (shmfd)
		c.protocol_extra = F(VHOST_USER_PROTOCOL_F_LOG_SHMFD);
	else
		c.features_extra = F(VHOST_F_LOG_ALL);
	hx_connect(&c);
	if (fe_setup(&HX.h) < 0)
		fail_msg("setup: %s", HX.h.err);
	struct fe_cfg pc = {0};
	hx_open_peer(&pc);
	if (shmfd) {
		assert_int_equal(fe_log_create(&HL.ok, fe_log_bytes_for(&HX.h.mem)), 0);
		if (fe_log_start(&HX.h, &HL.ok) < 0)
			fail_msg("logging on: %s", HX.h.err);
	}
	hl_traffic();
	if (shmfd)
		assert_true(hl_bits(&HL.ok) > 0);
}

/* A bad log memfd of 'size' bytes in HL.bad. */
static int hl_bad_fd(uint64_t size)
{
	assert_int_equal(fe_log_create(&HL.bad, size), 0);
	return HL.bad.fd;
}

/* SET_LOG_BASE {size, offset} with 'nfds' fds, then the empty reply it owes. */
static void hl_send(uint64_t size, uint64_t offset, const int *fds, unsigned nfds)
{
	struct vhost_user_log l = {.mmap_size = size, .mmap_offset = offset};
	assert_int_equal(fe_msg_send(&HX.h, VHOST_USER_SET_LOG_BASE, VHOST_USER_VERSION, &l,
				     sizeof(l), fds, nfds),
			 0);
	if (fe_wait_reply(&HX.h, VHOST_USER_SET_LOG_BASE, 0, 2000) < 0)
		fail_msg("SET_LOG_BASE size 0x%llx offset 0x%llx, %u fds: no empty reply: %s",
			 (unsigned long long)size, (unsigned long long)offset, nfds, HX.h.err);
}

/* After the refusals: the device as it was (see the top of the file). */
static void hl_expect_unchanged(void)
{
	if (HL.ok.bits)
		fe_log_clear(&HL.ok);
	assert_true(hx_stat(HX_RX).ready);
	assert_true(hx_stat(HX_TX).ready);
	hl_traffic();
	if (HL.ok.bits && hl_bits(&HL.ok) == 0)
		fail_msg("the valid log got no bits after the refusal: was it replaced?");
	if (hl_bits(&HL.bad) != 0)
		fail_msg("the refused log got %llu bits", (unsigned long long)hl_bits(&HL.bad));
	hx_expect_alive_conn();
	assert_int_equal(HX.h.dev_errors + HX.p.dev_errors, 0);
	hl_free(&HL.ok);
	hl_free(&HL.bad);
}

/* mmap_offset + mmap_size past the fd's end (DPDK's CVE-2020-10722), two ways. */
static void test_log_past_fd_end(void **state)
{
	(void)state;
	hl_ready(true);
	int fd = hl_bad_fd(8192);
	hl_send(8192, 4096, &fd, 1);
	hl_send(8192 * 4, 0, &fd, 1);
	hl_expect_unchanged();
}

static void test_log_zero_size(void **state)
{
	(void)state;
	hl_ready(true);
	int fd = hl_bad_fd(8192);
	hl_send(0, 0, &fd, 1);
	hl_expect_unchanged();
}

/* mmap_offset near 2^64: the range wraps, or lies far past the fd (and off_t). */
static void test_log_offset_overflow(void **state)
{
	(void)state;
	hl_ready(true);
	int fd = hl_bad_fd(8192);
	hl_send(8192, UINT64_MAX - 4095, &fd, 1);
	hl_send(4096, UINT64_MAX - 8191, &fd, 1);
	hl_send(4096, 1ull << 63, &fd, 1);
	hl_expect_unchanged();
}

/* More than 4 GiB of log (the table's limit), and exactly 4 GiB past the fd's end. */
static void test_log_size_over_4g(void **state)
{
	(void)state;
	hl_ready(true);
	int fd = hl_bad_fd(8192);
	hl_send((1ull << 32) + 8, 0, &fd, 1);
	hl_send(UINT64_MAX, 0, &fd, 1);
	hl_send(1ull << 32, 0, &fd, 1);
	hl_expect_unchanged();
}

static void test_log_no_fd(void **state)
{
	(void)state;
	hl_ready(true);
	hl_send(fe_log_bytes_for(&HX.h.mem), 0, NULL, 0);
	hl_expect_unchanged();
}

/* Two fds, each a fine log on its own: neither is taken, both are closed. */
static void test_log_two_fds(void **state)
{
	(void)state;
	hl_ready(true);
	int fd = hl_bad_fd(fe_log_bytes_for(&HX.h.mem));
	int fds[2] = {fd, fd};
	hl_send(HL.bad.size, 0, fds, 2);
	hl_expect_unchanged();
}

/* The fd is an eventfd: nothing to map. */
static void test_log_fd_not_mappable(void **state)
{
	(void)state;
	hl_ready(true);
	int e = eventfd(0, EFD_CLOEXEC);
	assert_true(e >= 0);
	hl_send(4096, 0, &e, 1);
	close(e);
	hl_expect_unchanged();
}

/*
 * LOG_SHMFD not negotiated (LOG_ALL is): a well-formed log is refused all the
 * same ("should be sent only when" the feature was negotiated), so the
 * device, which logs every write with LOG_ALL on, never marks it.
 */
static void test_log_without_shmfd(void **state)
{
	(void)state;
	hl_ready(false);
	assert_false(HX.h.protocol & F(VHOST_USER_PROTOCOL_F_LOG_SHMFD));
	int fd = hl_bad_fd(fe_log_bytes_for(&HX.h.mem));
	hl_send(HL.bad.size, 0, &fd, 1);
	hl_expect_unchanged();
}

/*
 * A log too small for the memory table (8 bytes: guest-physical 0-256 KiB,
 * none of the guest's memory) is no protocol error: it is taken, replacing
 * the valid one, and the device keeps forwarding; the old log gets no bit
 * after the reply, the new one none either (every write lies past it: the
 * target counts those pages as lost).
 */
static void test_log_too_small_for_table(void **state)
{
	(void)state;
	hl_ready(true);
	int fd = hl_bad_fd(8);
	hl_send(8, 0, &fd, 1);
	fe_log_clear(&HL.ok);
	assert_true(hx_stat(HX_RX).ready);
	assert_true(hx_stat(HX_TX).ready);
	hl_traffic();
	assert_int_equal(hl_bits(&HL.ok), 0);
	assert_int_equal(hl_bits(&HL.bad), 0);
	hx_expect_alive_conn();
	hl_free(&HL.ok);
	hl_free(&HL.bad);
}

#define HX_LOG_ROWS(ROW)                                                                           \
	ROW(test_log_past_fd_end), ROW(test_log_zero_size), ROW(test_log_offset_overflow),         \
	    ROW(test_log_size_over_4g), ROW(test_log_no_fd), ROW(test_log_two_fds),                \
	    ROW(test_log_fd_not_mappable), ROW(test_log_without_shmfd),                            \
	    ROW(test_log_too_small_for_table),

#endif
