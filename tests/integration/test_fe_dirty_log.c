/*
 * test_fe_dirty_log.c - live migration's dirty page log (issue 15, proof 1)
 * with the project's front-end against ringswitch-loopback in pair mode, no
 * QEMU: front-end A is the migrating guest (port0), B its peer (port1). A
 * turns logging on as QEMU 7.2 does (fe_log_start: SET_LOG_BASE with its
 * empty reply, SET_FEATURES with LOG_ALL, SET_VRING_ADDR with the log flag
 * and log_guest_addr = the used ring on every queue).
 *
 * A's guest memory: three regions at guest-physical 0x40000000 and up (the
 * front-end's straddle layout needs more regions than queues), data buffers
 * crossing region boundaries and 4 KiB pages, RX buffers of 1100 bytes so
 * frames of up to 4000 bytes merge up to four of them (num_buffers), chains
 * of three descriptors, directly in the ring or through indirect tables;
 * rings of 1024, so used entries run from a used ring's first page into its
 * second and avail_event sits alone on a third.
 *
 * The tests: (a) every page the device wrote has its bit, with direct chains
 * (used->flags written) and with indirect tables (avail_event written); (b)
 * after GET_VRING_BASE's reply not a byte is written, not a bit set; (c) a
 * second SET_LOG_BASE replaces the first log while traffic runs: the old one
 * gets no bit after the reply; (d) a log too small for the memory table is
 * taken, traffic flows, and what the loopback shows of the lost pages is
 * printed (tests/switch/test_sw_hostile.c checks ringswitchd's error line).
 *
 * What the device writes is told from what the guest writes by keeping A's
 * front-end from writing between two snapshots of its memory: its RX buffers
 * are posted and its TX frames written (held) before the first snapshot; the
 * one store in between, TX avail->idx, is copied into the first snapshot
 * (the device never writes it); the wait for used entries reads guest memory
 * only. Needs $RS_LOOPBACK (skips without).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fe.h"
#include "it.h"
#include "lb.h"

#define F(b)	     VIRTIO_BIT(b)
#define PAGE(gpa)    ((gpa) >> FE_LOG_PAGE_SHIFT)
#define PAGE_SZ	     (1ull << FE_LOG_PAGE_SHIFT)
#define DL_MAX_FRAME 4000
#define DL_RX_BUF    1100
#define DL_QSIZE     1024 /* A's rings: the used ring spans three pages */
#define DL_SPLIT     512  /* used entry 511 straddles the used ring's first page end */
#define DL_RXQ	     0	  /* A's RX queue: the device writes frames and used entries */
#define DL_TXQ	     1	  /* A's TX queue: the device writes used entries only */

/* Frames of the measured bursts: one buffer, exactly one, one byte over, up to four. */
static const size_t dl_sizes[] = {60,	4000, 1088, 1089, 3000, 2188, 4000, 514,
				  1500, 3333, 4000, 100,  2500, 3999, 64,   4000};
#define DL_N (sizeof(dl_sizes) / sizeof(dl_sizes[0]))

static struct {
	struct lb lb;
	struct fe a, b;
	struct fe_log log, log2;
	uint8_t *snap0, *snap1; /* A's memory, [FE_GPA_BASE, fe_mem_end) */
	uint64_t mem_len;
	uint32_t seq;
} D;

/* ---- fixture ---- */

/* A: logging possible (LOG_SHMFD acked); without indirect tables also without
 * EVENT_IDX, so the device's used->flags writes are exercised, else avail_event. */
static struct fe_cfg dl_cfg_a(bool indirect)
{
	struct fe_cfg c = {.queue_size = DL_QSIZE,
			   .nregions = 3,
			   .straddle = true,
			   .max_frame = DL_MAX_FRAME,
			   .rx_buf_size = DL_RX_BUF,
			   .rx_segs = 3,
			   .tx_segs = 3,
			   .rx_indirect = indirect,
			   .tx_indirect = indirect,
			   .protocol_extra = F(VHOST_USER_PROTOCOL_F_LOG_SHMFD)};
	if (!indirect)
		c.features_off = F(VIRTIO_RING_F_EVENT_IDX);
	return c;
}

static void dl_open(struct fe *fe, int port, const struct fe_cfg *cfg)
{
	char path[256];
	lb_sock_path(&D.lb, port, path, sizeof(path));
	if (fe_open(fe, cfg, path) < 0)
		fail_msg("front-end on port %d: %s", port, fe->err);
}

static void dl_start(bool indirect)
{
	if (!lb_binary())
		skip();
	struct fe_cfg ca = dl_cfg_a(indirect), cb = {.max_frame = DL_MAX_FRAME};
	assert_int_equal(lb_start(&D.lb, NULL, false), 0);
	dl_open(&D.a, 0, &ca);
	dl_open(&D.b, 1, &cb);
	D.mem_len = fe_mem_end(&D.a.mem) - FE_GPA_BASE;
	D.snap0 = malloc(D.mem_len);
	D.snap1 = malloc(D.mem_len);
	assert_non_null(D.snap0);
	assert_non_null(D.snap1);
}

static int dl_setup(void **state)
{
	(void)state;
	struct fe_cfg none = {0};
	memset(&D, 0, sizeof(D));
	fe_init(&D.a, &none);
	fe_init(&D.b, &none);
	D.log.fd = D.log2.fd = -1;
	D.seq = 1;
	return 0;
}

static int dl_teardown(void **state)
{
	(void)state;
	fe_close(&D.a);
	fe_close(&D.b);
	fe_log_destroy(&D.log);
	fe_log_destroy(&D.log2);
	free(D.snap0);
	free(D.snap1);
	if (D.lb.pid > 0 && lb_stop(&D.lb) != 0)
		return -1; /* the tool crashed or left sockets: lb.c kept its log */
	return 0;
}

/* Creates 'log' ('size' bytes, 0: as QEMU sizes it) and turns A's logging on. */
static void dl_log_on(struct fe_log *log, uint64_t size)
{
	assert_int_equal(fe_log_create(log, size ? size : fe_log_bytes_for(&D.a.mem)), 0);
	if (fe_log_start(&D.a, log) < 0)
		fail_msg("logging on: %s", D.a.err);
}

/* ---- traffic ---- */

/* 'n' frames each way, received and compared byte for byte. */
static void dl_traffic(unsigned n)
{
	if (it_xfer(&D.a, 0, &D.b, 0, dl_sizes, n, n, &D.seq, NULL) < 0 ||
	    it_xfer(&D.b, 0, &D.a, 0, dl_sizes, n, n, &D.seq, NULL) < 0)
		fail_msg("traffic: %s", it_err);
}

static void dl_send(struct fe *fe, size_t len, uint32_t seq)
{
	static uint8_t f[DL_MAX_FRAME];
	it_frame(f, len, seq);
	if (fe_send(fe, 0, f, len) < 0)
		fail_msg("send %zu bytes: %s", len, fe->err);
}

/* Frame 'seq' of 'len' bytes arrives next on 'fe'. */
static void dl_expect(struct fe *fe, size_t len, uint32_t seq)
{
	static uint8_t got[DL_MAX_FRAME + 64], exp[DL_MAX_FRAME];
	size_t n = 0;
	if (fe_recv(fe, 0, got, sizeof(got), &n) < 0)
		fail_msg("frame %u: %s", seq, fe->err);
	it_frame(exp, len, seq);
	if (n != len || memcmp(got, exp, len) != 0)
		fail_msg("frame %u: %zu bytes, want %zu, or other bytes", seq, n, len);
}

/* Every TX chain of 'fe' completed (the used entries consumed). */
static void dl_tx_drained(struct fe *fe)
{
	int64_t deadline = fe_now_ms() + 3000;
	while (fe_tx_reclaim(fe, 0) > 0 && fe_now_ms() < deadline)
		usleep(1000);
	assert_int_equal(fe_tx_reclaim(fe, 0), 0);
}

/* Waits, reading guest memory only, until A's queue 'q' holds exactly 'want' new used entries. */
static void dl_wait_used(uint16_t q, uint16_t want)
{
	int64_t deadline = fe_now_ms() + 5000;
	while (fe_vq_pending(&D.a.vq[q]) < want && fe_now_ms() < deadline)
		usleep(1000);
	if (fe_vq_pending(&D.a.vq[q]) != want)
		fail_msg("A's queue %u: %u used entries, want %u", q, fe_vq_pending(&D.a.vq[q]),
			 want);
}

/*
 * Sends 60-byte frames (one used entry each, on both sides) from 'tx' to 'rx'
 * until A's used index '*idx' is 'to'.
 */
static void dl_advance(struct fe *tx, struct fe *rx, const uint16_t *idx, uint16_t to)
{
	static size_t s60[32];
	for (unsigned i = 0; i < 32; i++)
		s60[i] = 60;
	while (*idx < to) {
		unsigned n = (unsigned)(to - *idx) < 32u ? (unsigned)(to - *idx) : 32u;
		if (it_xfer(tx, 0, rx, 0, s60, n, n, &D.seq, NULL) < 0)
			fail_msg("advancing: %s", it_err);
		dl_tx_drained(tx);
	}
	assert_int_equal(*idx, to);
}

/* ---- snapshots and the log ---- */

static void dl_snap(uint8_t *dst)
{
	assert_int_equal(fe_mem_read(&D.a.mem, FE_GPA_BASE, dst, D.mem_len), 0);
}

/* A's front-end stored TX avail->idx after snapshot 0: its own write, copied in. */
static void dl_snap0_own_idx(void)
{
	uint64_t gpa = D.a.vq[DL_TXQ].avail_gpa + offsetof(struct virtq_avail, idx);
	assert_int_equal(fe_mem_read(&D.a.mem, gpa, D.snap0 + (gpa - FE_GPA_BASE), 2), 0);
}

static bool dl_in(uint64_t page, uint64_t gpa, uint64_t len)
{
	return len && page >= PAGE(gpa) && page <= PAGE(gpa + len - 1);
}

/* What A keeps in guest-physical page 'page', for failure messages. */
static const char *dl_what(uint64_t page)
{
	static char s[64];
	for (uint16_t q = 0; q < D.a.nqueues; q++) {
		const struct fe_vq *v = &D.a.vq[q];
		const char *dir = q & 1 ? "TX" : "RX";
		if (dl_in(page, v->used_gpa, virtq_used_bytes(v->num)))
			snprintf(s, sizeof(s), "%s used ring", dir);
		else if (dl_in(page, v->buf_gpa, (uint64_t)v->num * v->slot_size))
			snprintf(s, sizeof(s), "%s buffers", dir);
		else if (dl_in(page, v->desc_gpa, virtq_desc_bytes(v->num)) ||
			 dl_in(page, v->avail_gpa, virtq_avail_bytes(v->num)) ||
			 dl_in(page, v->itab_gpa, 16ull * FE_MAX_SEGS * v->num))
			snprintf(s, sizeof(s), "%s descriptors or avail ring", dir);
		else
			continue;
		return s;
	}
	return "unused";
}

struct dl_cmp {
	uint64_t changed, logged, logged_same, missed, outside, rx_buf_changed;
	char same[64]; /* what the first page marked but left equal holds */
};

/* Every page that differs between the snapshots must have its bit in 'log'. */
static struct dl_cmp dl_compare(const struct fe_log *log)
{
	struct dl_cmp r = {0};
	const struct fe_vq *rx = &D.a.vq[DL_RXQ];
	uint64_t first = PAGE(FE_GPA_BASE), n = D.mem_len / PAGE_SZ;
	for (uint64_t i = 0; i < n; i++) {
		bool ch = memcmp(D.snap0 + i * PAGE_SZ, D.snap1 + i * PAGE_SZ, PAGE_SZ) != 0;
		bool lg = fe_log_test(log, first + i);
		r.changed += ch;
		r.logged += lg;
		if (ch && getenv("RS_IT_VERBOSE"))
			print_message("  written: page 0x%llx (%s)%s\n",
				      (unsigned long long)((first + i) << FE_LOG_PAGE_SHIFT),
				      dl_what(first + i), lg ? "" : ", NOT LOGGED");
		if (lg && !ch && r.logged_same++ == 0)
			snprintf(r.same, sizeof(r.same), "%s", dl_what(first + i));
		r.rx_buf_changed +=
		    ch && dl_in(first + i, rx->buf_gpa, (uint64_t)rx->num * rx->slot_size);
		if (ch && !lg && r.missed++ < 8)
			print_message("  page 0x%llx (%s) written, its bit not set\n",
				      (unsigned long long)((first + i) << FE_LOG_PAGE_SHIFT),
				      dl_what(first + i));
	}
	/* Below guest memory (0 .. 1 GiB) and past it: no byte of A lives there. */
	r.outside = fe_log_count(log, 0, first) + fe_log_count(log, first + n, log->size * 8);
	return r;
}

static uint64_t dl_log_total(const struct fe_log *log)
{
	return fe_log_count(log, 0, log->size * 8);
}

/* A's RX used entries for the frames 'sizes': mergeable buffers filled in turn. */
static uint16_t dl_rx_entries(const size_t *sizes, unsigned n)
{
	unsigned e = 0;
	for (unsigned i = 0; i < n; i++)
		e += (unsigned)((D.a.hdr_len + sizes[i] + DL_RX_BUF - 1) / DL_RX_BUF);
	return (uint16_t)e;
}

/* ---- (a) every page the device writes is logged ---- */

/*
 * With logging on, B sends 16 frames to A and A sends 16 to B in one go:
 * the device writes A's RX buffers (headers with num_buffers, frames spread
 * over up to four buffers and three descriptors each, across regions and
 * pages), both used rings, used->idx and used->flags or avail_event. Every
 * 4 KiB page of A that differs afterwards has its bit; no bit lies outside
 * A's memory. Then the frames are taken and compared, both ways.
 */
static void dl_every_written_page(bool indirect)
{
	dl_start(indirect);
	dl_traffic(8); /* before migration */
	dl_log_on(&D.log, 0);
	dl_traffic(DL_N); /* rings restarted with logging */
	dl_tx_drained(&D.a);
	/* The burst's used entries will run from the used rings' first page into the second. */
	dl_advance(&D.a, &D.b, &D.a.vq[DL_TXQ].last_used, DL_SPLIT - DL_N / 2);
	dl_advance(&D.b, &D.a, &D.a.vq[DL_RXQ].last_used, DL_SPLIT - 20);
	uint32_t sa = D.seq, sb = D.seq + DL_N;
	D.seq += 2 * DL_N;

	fe_tx_hold(&D.a, 0); /* A's frames and descriptors written, not yet available */
	for (unsigned i = 0; i < DL_N; i++)
		dl_send(&D.a, dl_sizes[i], sa + i);
	fe_log_clear(&D.log);
	dl_snap(D.snap0);
	fe_tx_flush(&D.a, 0);
	dl_snap0_own_idx();
	for (unsigned i = 0; i < DL_N; i++)
		dl_send(&D.b, dl_sizes[i], sb + i);
	dl_wait_used(DL_TXQ, DL_N);
	dl_wait_used(DL_RXQ, dl_rx_entries(dl_sizes, DL_N));
	usleep(100000); /* the bits of a burst are set just after its used->idx */
	dl_snap(D.snap1);
	struct dl_cmp r = dl_compare(&D.log);
	print_message(
	    "  %s: %llu pages of %llu written by the device, %llu bits set "
	    "(%llu on pages left equal: %s), %llu RX buffer pages, %llu bits outside memory\n",
	    indirect ? "indirect tables" : "direct chains", (unsigned long long)r.changed,
	    (unsigned long long)(D.mem_len / PAGE_SZ), (unsigned long long)r.logged,
	    (unsigned long long)r.logged_same, r.logged_same ? r.same : "-",
	    (unsigned long long)r.rx_buf_changed, (unsigned long long)r.outside);
	assert_int_equal(r.missed, 0);
	assert_int_equal(r.outside, 0);
	assert_true(D.a.straddled > 0); /* chain pieces crossed region boundaries */
	/* The burst wrote what it should: frames in A's RX buffers, both pages of used entries. */
	assert_true(r.rx_buf_changed >= 10);
	for (uint16_t q = 0; q < 2; q++) {
		for (uint64_t p = PAGE(D.a.vq[q].used_gpa); p < PAGE(D.a.vq[q].used_gpa) + 2; p++)
			assert_memory_not_equal(D.snap0 + (p - PAGE(FE_GPA_BASE)) * PAGE_SZ,
						D.snap1 + (p - PAGE(FE_GPA_BASE)) * PAGE_SZ,
						PAGE_SZ);
	}
	for (unsigned i = 0; i < DL_N; i++)
		dl_expect(&D.a, dl_sizes[i], sb + i);
	for (unsigned i = 0; i < DL_N; i++)
		dl_expect(&D.b, dl_sizes[i], sa + i);
	assert_int_equal(D.a.dev_errors + D.b.dev_errors, 0);
}

static void test_every_written_page_logged_direct(void **state)
{
	(void)state;
	dl_every_written_page(false);
}

static void test_every_written_page_logged_indirect(void **state)
{
	(void)state;
	dl_every_written_page(true);
}

/* ---- (b) nothing after GET_VRING_BASE ---- */

/*
 * A stops every queue (GET_VRING_BASE, replies received) while logging;
 * then B sends 32 frames to A and A makes one more TX frame available and
 * kicks. The device takes B's frames (B's TX completes) and drops them, not
 * ready; within 200 ms afterwards not one byte of A's memory changed and
 * not one bit was set.
 */
static void test_no_write_after_get_vring_base(void **state)
{
	(void)state;
	dl_start(true);
	dl_log_on(&D.log, 0);
	dl_traffic(DL_N);
	assert_true(dl_log_total(&D.log) > 0); /* the log was being written */
	dl_tx_drained(&D.a);
	if (fe_stop(&D.a) < 0)
		fail_msg("GET_VRING_BASE: %s", D.a.err);
	assert_int_equal(D.a.vq[DL_TXQ].stop_base, D.a.vq[DL_TXQ].avail_idx);
	struct lb_stats s0, s1;
	assert_int_equal(lb_stats(&D.lb, &s0), 0);

	fe_tx_hold(&D.a, 0);
	dl_send(&D.a, 1500, D.seq++);
	fe_log_clear(&D.log);
	dl_snap(D.snap0);
	fe_tx_flush(&D.a, 0); /* and kicked: a stopped ring ignores it */
	dl_snap0_own_idx();
	for (unsigned i = 0; i < 32; i++)
		dl_send(&D.b, dl_sizes[i % DL_N], D.seq++);
	dl_tx_drained(&D.b);
	usleep(200000);
	dl_snap(D.snap1);
	for (uint64_t i = 0; i < D.mem_len / PAGE_SZ; i++)
		if (memcmp(D.snap0 + i * PAGE_SZ, D.snap1 + i * PAGE_SZ, PAGE_SZ) != 0)
			fail_msg("page 0x%llx (%s) written after GET_VRING_BASE",
				 (unsigned long long)(FE_GPA_BASE + i * PAGE_SZ),
				 dl_what(PAGE(FE_GPA_BASE) + i));
	assert_int_equal(dl_log_total(&D.log), 0);
	assert_int_equal(lb_stats(&D.lb, &s1), 0);
	const struct lb_qstat *b0 = lb_find(&s0, 1, 1), *b1 = lb_find(&s1, 1, 1);
	const struct lb_qstat *a0 = lb_find(&s0, 0, DL_TXQ), *a1 = lb_find(&s1, 0, DL_TXQ);
	assert_non_null(b1);
	assert_non_null(a1);
	print_message("  after GET_VRING_BASE: B's 32 frames dropped not ready (%llu), "
		      "A's memory unchanged, 0 bits\n",
		      (unsigned long long)(b1->drop_not_ready - b0->drop_not_ready));
	assert_int_equal(b1->drop_not_ready - b0->drop_not_ready, 32);
	assert_int_equal(a1->packets, a0->packets); /* A's last frame never taken */
	assert_int_equal(D.a.dev_errors + D.b.dev_errors, 0);
}

/* ---- (c) a new log replaces the old one ---- */

static struct {
	atomic_bool stop, failed;
	atomic_uint sent;
	char err[300];
} FL;

/* B sends to A without pause and drains what A sends it; B belongs to this thread. */
static void *dl_flood(void *arg)
{
	static uint8_t f[DL_MAX_FRAME + 64];
	uint32_t seq = *(uint32_t *)arg;
	size_t n;
	while (!atomic_load(&FL.stop)) {
		size_t len = dl_sizes[seq % DL_N];
		it_frame(f, len, seq);
		if (fe_send(&D.b, 0, f, len) < 0) {
			snprintf(FL.err, sizeof(FL.err), "B send: %s", D.b.err);
			atomic_store(&FL.failed, true);
			break;
		}
		seq++;
		atomic_fetch_add(&FL.sent, 1);
		while (fe_recv_wait(&D.b, 0, f, sizeof(f), &n, 0) == 0)
			;
		usleep(200);
	}
	return NULL;
}

/* A takes frames for 'ms' (sending one to B after each when 'send'); checks each. */
static unsigned dl_recv_for(int ms, bool send)
{
	static uint8_t got[DL_MAX_FRAME + 64], exp[DL_MAX_FRAME];
	unsigned k = 0;
	int64_t end = fe_now_ms() + ms;
	while (fe_now_ms() < end) {
		size_t n = 0;
		int r = fe_recv_wait(&D.a, 0, got, sizeof(got), &n, 20);
		if (r == -ETIMEDOUT)
			continue;
		if (r < 0)
			fail_msg("A recv: %s", D.a.err);
		uint32_t seq;
		memcpy(&seq, got + 14, 4);
		it_frame(exp, n, seq);
		if (memcmp(got, exp, n) != 0)
			fail_msg("A got frame %u of %zu bytes with other bytes", seq, n);
		k++;
		if (send)
			dl_send(&D.a, dl_sizes[k % DL_N], D.seq++);
	}
	return k;
}

/*
 * While B floods A, A sends SET_LOG_BASE with a second log. Once its reply
 * is in, the first log is cleared, and it stays all zero while traffic goes
 * on both ways; the second log gets the bits, A's used rings among them.
 */
static void test_new_log_replaces_old(void **state)
{
	(void)state;
	dl_start(true);
	dl_log_on(&D.log, 0);
	dl_traffic(DL_N);
	assert_true(dl_log_total(&D.log) > 0);
	pthread_t t;
	uint32_t bseq = 1000000;
	memset(&FL, 0, sizeof(FL));
	assert_int_equal(pthread_create(&t, NULL, dl_flood, &bseq), 0);
	unsigned before = dl_recv_for(200, false);
	assert_int_equal(fe_log_create(&D.log2, fe_log_bytes_for(&D.a.mem)), 0);
	int r = fe_log_base(&D.a, &D.log2);
	fe_log_clear(&D.log);
	unsigned after = r == 0 ? dl_recv_for(400, true) : 0;
	atomic_store(&FL.stop, true);
	pthread_join(t, NULL);
	if (r < 0)
		fail_msg("second SET_LOG_BASE: %s", D.a.err);
	if (atomic_load(&FL.failed))
		fail_msg("%s", FL.err);
	uint64_t old = dl_log_total(&D.log), new = dl_log_total(&D.log2);
	print_message("  B sent %u frames; A took %u before the new log, %u after; "
		      "old log %llu bits, new log %llu bits\n",
		      atomic_load(&FL.sent), before, after, (unsigned long long)old,
		      (unsigned long long)new);
	assert_true(before > 0 && after > 0);
	assert_int_equal(old, 0);
	assert_true(fe_log_test(&D.log2, PAGE(D.a.vq[DL_RXQ].used_gpa)));
	assert_true(fe_log_test(&D.log2, PAGE(D.a.vq[DL_TXQ].used_gpa)));
	assert_int_equal(D.a.dev_errors + D.b.dev_errors, 0);
}

/* ---- (d) a log too small for the memory table ---- */

/*
 * A's log covers guest-physical 0 up to its second region only: QEMU would
 * never size it so, but the back-end must take it (empty reply, LOG_ALL and
 * the log flag acked), warn when it arrives, keep forwarding, and mark the
 * pages the log does cover (A's RX rings live in the first region). Pages
 * past it are lost: the device counts them (vq_stats.log_outside), and what
 * of that the loopback shows is printed.
 */
static void test_log_too_small(void **state)
{
	(void)state;
	dl_start(false);
	uint64_t small = PAGE(D.a.mem.r[1].gpa) / 8 & ~7ull;
	dl_log_on(&D.log, small);
	int64_t deadline = fe_now_ms() + 2000;
	while (lb_log_count(&D.lb, "smaller than the memory table") == 0 && fe_now_ms() < deadline)
		usleep(10000);
	assert_int_equal(lb_log_count(&D.lb, "smaller than the memory table"), 1);
	fe_log_clear(&D.log);
	dl_traffic(DL_N);
	dl_traffic(DL_N);
	assert_true(fe_log_test(&D.log, PAGE(D.a.vq[DL_RXQ].used_gpa)));
	assert_true(PAGE(D.a.vq[DL_TXQ].used_gpa) >= small * 8); /* TX used ring: past it */
	struct lb_stats s;
	assert_int_equal(lb_stats(&D.lb, &s), 0);
	for (int q = 0; q < 2; q++) {
		const struct lb_qstat *st = lb_find(&s, 0, q);
		assert_non_null(st);
		assert_int_equal(st->ready, 1);
		assert_string_equal(st->broken, "none");
	}
	int lines = lb_log_count(&D.lb, "outside the migration's dirty log");
	print_message("  log of %llu bytes (%llu needed): %llu bits set; the loopback's log has "
		      "%d lines about lost pages%s\n",
		      (unsigned long long)small, (unsigned long long)fe_log_bytes_for(&D.a.mem),
		      (unsigned long long)dl_log_total(&D.log), lines,
		      lines ? "" : " (its stats lines carry no log_outside counter either)");
	assert_int_equal(D.a.dev_errors + D.b.dev_errors, 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, dl_setup, dl_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_every_written_page_logged_direct),
	    T(test_every_written_page_logged_indirect),
	    T(test_no_write_after_get_vring_base),
	    T(test_new_log_replaces_old),
	    T(test_log_too_small),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
