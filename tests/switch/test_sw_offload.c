/*
 * test_sw_offload.c - checksum and segmentation offloads (virtio 1.2 section
 * 5.1.6.2) through a real ringswitchd, byte for byte against the frames Linux
 * makes (tests/unit/net/offload_vectors.h, generated with scapy):
 *  - passthrough: a super-frame or partial checksum reaches a front-end that
 *    acked the offloads unchanged, with the same header (hdr_len corrected
 *    to the real header length), spread over mergeable buffers;
 *  - software segmentation to a front-end without offloads (every segment,
 *    in order) and partial-checksum segmentation to one with GUEST_CSUM
 *    alone; checksum completion; a 64 KiB super-frame; a VLAN pushed by a
 *    rule moves the offsets with the frame;
 *  - hostile metadata (and any metadata from a front-end or port without
 *    offloads): dropped at ingress, drops.bad_offload one per frame,
 *    nothing delivered, the switch keeps serving;
 * in normal mode (no rules) and with port-to-port rules. port-stats'
 * offload counters are checked exactly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>

#include <cmocka.h>

#include "offload_vectors.h"
#include "swtest.h"

#define OT_MAX_FRAME 65600 /* a 64 KiB IP datagram behind Ethernet and two tags */
#define OT_QSIZE     128   /* 128 slots of 128 KiB per queue: sparse memfd pages */
#define OT_RX_SMALL  2048  /* mergeable buffers: a super-frame takes several */
#define OT_RX_WIRE   (VIRTIO_NET_HDR_LEN_MRG + 1514)
#define OT_NFE	     5
#define SILENT_MS    80
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The front-ends of a test: a sends; b, c, d receive; p sends without offloads. */
enum { A, B, C, D, P };
static const char *const names[OT_NFE] = {"a", "b", "c", "d", "p"};

#define OT_CSUM_ONLY (VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM))

static struct ot {
	struct swd d;
	struct fe fe[OT_NFE];
	uint32_t seq;
} T;

static uint8_t got[OT_MAX_FRAME + 64];

/* ---- set-up ---- */

static int ot_setup(void **state)
{
	(void)state;
	static const struct fe_cfg none;
	memset(&T, 0, sizeof(T));
	for (unsigned i = 0; i < OT_NFE; i++)
		fe_init(&T.fe[i], &none); /* no socket, no fds: fe_close is safe */
	return 0;
}

static int ot_teardown(void **state)
{
	(void)state;
	for (unsigned i = 0; i < OT_NFE; i++)
		fe_close(&T.fe[i]);
	swd_cleanup(&T.d);
	return 0;
}

/* The end of a test: the daemon alive, no front-end saw a ring protocol violation. */
static void ot_done(void)
{
	assert_false(swd_exited(&T.d));
	for (unsigned i = 0; i < OT_NFE; i++) {
		if (T.fe[i].sock < 0)
			continue;
		(void)fe_tx_reclaim(&T.fe[i], 0);
		if (T.fe[i].dev_errors)
			fail_msg("%s: %llu device errors: %s", names[i],
				 (unsigned long long)T.fe[i].dev_errors, T.fe[i].err);
	}
}

static bool ot_ready(const char *name)
{
	json_t *s = swctl_ok(&T.d, true, "show");
	size_t i;
	json_t *p;
	bool ready = false;
	json_array_foreach(json_object_get(s, "ports"), i, p)
	{
		if (strcmp(json_string_value(json_object_get(p, "name")), name) == 0)
			ready = json_array_size(json_object_get(p, "rxq_ready")) == 1 &&
				json_array_size(json_object_get(p, "txq_ready")) == 1;
	}
	json_decref(s);
	return ready;
}

/*
 * Attaches front-end 'i' to port 'port' acking the offloads 'extra' (when
 * offered), with RX buffers of 'rx_buf' bytes, and waits for its queues.
 */
static void ot_attach_to(int i, const char *port, uint64_t extra, uint32_t rx_buf)
{
	char path[192];
	struct fe_cfg cfg = {.queue_size = OT_QSIZE,
			     .timeout_ms = 2000,
			     .max_frame = OT_MAX_FRAME,
			     .rx_buf_size = rx_buf,
			     .features_extra = extra};
	swd_sock(&T.d, port, path, sizeof(path));
	if (fe_open(&T.fe[i], &cfg, path) < 0) {
		swd_dump_log(&T.d);
		fail_msg("front-end on %s: %s", port, T.fe[i].err);
	}
	for (int64_t end = fe_now_ms() + 5000; !ot_ready(port);) {
		if (fe_now_ms() > end)
			fail_msg("port %s: queues not ready", port);
		usleep(10000);
	}
}

static void ot_attach(int i, uint64_t extra, uint32_t rx_buf)
{
	ot_attach_to(i, names[i], extra, rx_buf);
}

/* ---- frames and headers ---- */

static struct virtio_net_hdr ot_hdr(const struct pbuf_offload *ol)
{
	struct virtio_net_hdr h = {.flags = ol->flags, .gso_type = ol->gso_type};
	h.hdr_len = cpu_to_vle16(ol->hdr_len);
	h.gso_size = cpu_to_vle16(ol->gso_size);
	h.csum_start = cpu_to_vle16(ol->csum_start);
	h.csum_offset = cpu_to_vle16(ol->csum_offset);
	return h;
}

static void ot_send(int from, const struct pbuf_offload *ol, const uint8_t *f, size_t len)
{
	struct virtio_net_hdr h = ot_hdr(ol);
	if (fe_send_hdr(&T.fe[from], 0, &h, f, len) < 0)
		fail_msg("%s: send failed: %s", names[from], T.fe[from].err);
}

/* On a failure: is the daemon alive, and what do its counters say. */
static void ot_dump_state(void)
{
	if (swd_exited(&T.d)) {
		fprintf(stderr, "ringswitchd exited: wait status 0x%x\n", T.d.status);
		return;
	}
	struct swr r;
	swctl(&T.d, &r, false, "port-stats");
	fprintf(stderr, "---- ringctl port-stats (exit %d) ----\n%s%s", r.rc, r.out, r.err);
	swr_free(&r);
}

/* The first byte where 'a' and 'b' differ, for messages. */
static size_t ot_diff_at(const uint8_t *a, const uint8_t *b, size_t n)
{
	size_t k = 0;
	while (k < n && a[k] == b[k])
		k++;
	return k;
}

/*
 * Receives one frame on 'to' and checks it byte for byte and its header's
 * offload fields against 'ol' (NULL: none, every field zero). Returns the
 * received length (the frame is left in 'got').
 */
static size_t ot_expect(int to, const struct pbuf_offload *ol, const uint8_t *f, size_t len,
			const char *what)
{
	struct virtio_net_hdr h;
	size_t n = 0;
	int err = fe_recv_hdr(&T.fe[to], 0, &h, got, sizeof(got), &n, T.fe[to].cfg.timeout_ms);
	if (err < 0) {
		swd_dump_log(&T.d);
		ot_dump_state();
		fail_msg("%s: %s got no %zu-byte frame (%d: %s)", what, names[to], len, err,
			 T.fe[to].err);
	}
	if (f && (n != len || memcmp(got, f, len) != 0))
		fail_msg("%s: %s got %zu bytes, want %zu; first difference at byte %zu", what,
			 names[to], n, len, ot_diff_at(got, f, n < len ? n : len));
	struct pbuf_offload zero = {0}, w = ol ? *ol : zero;
	if (h.flags != w.flags || h.gso_type != w.gso_type ||
	    vle16_to_cpu(h.hdr_len) != w.hdr_len || vle16_to_cpu(h.gso_size) != w.gso_size ||
	    vle16_to_cpu(h.csum_start) != w.csum_start ||
	    vle16_to_cpu(h.csum_offset) != w.csum_offset)
		fail_msg("%s: %s header flags 0x%x gso 0x%x hdr_len %u gso_size %u csum %u/%u, "
			 "want 0x%x 0x%x %u %u %u/%u",
			 what, names[to], h.flags, h.gso_type, vle16_to_cpu(h.hdr_len),
			 vle16_to_cpu(h.gso_size), vle16_to_cpu(h.csum_start),
			 vle16_to_cpu(h.csum_offset), w.flags, w.gso_type, w.hdr_len, w.gso_size,
			 w.csum_start, w.csum_offset);
	return n;
}

/* Nothing arrives on the front-ends of 'mask' (the first waits 'ms'). */
static void ot_quiet(unsigned mask, const char *what)
{
	int wait = SILENT_MS;
	for (int i = 0; i < OT_NFE; i++) {
		if (!(mask & (1u << i)) || T.fe[i].sock < 0)
			continue;
		size_t n = 0;
		int err = fe_recv_wait(&T.fe[i], 0, got, sizeof(got), &n, wait);
		wait = 0;
		if (err == 0)
			fail_msg("%s: %s got a %zu-byte frame, want none", what, names[i], n);
		if (err != -ETIMEDOUT)
			fail_msg("%s: %s receive failed: %s", what, names[i], T.fe[i].err);
	}
}

static void ot_stat_is(int port, const char *path, int64_t want)
{
	int64_t v = swt_wait_stat(&T.d, names[port], path, want);
	if (v != want)
		fail_msg("port %s: %s is %lld, want %lld", names[port], path, (long long)v,
			 (long long)want);
}

/* The vector called 'name'. */
static const struct ovec *ot_vec(const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(ovec_gso); i++)
		if (strcmp(ovec_gso[i].name, name) == 0)
			return &ovec_gso[i];
	for (size_t i = 0; i < ARRAY_LEN(ovec_csum); i++)
		if (strcmp(ovec_csum[i].name, name) == 0)
			return &ovec_csum[i];
	fail_msg("no vector %s", name);
	return NULL;
}

/* The header length pkt_ol_check() finds in each GSO vector (test_pkt_gso.c). */
static uint16_t ot_real_hdr_len(const struct ovec *v)
{
	static const struct {
		const char *name;
		uint16_t hdr_len;
	} t[] = {{"tcp4", 66},
		 {"tcp4_mss1000", 66},
		 {"tcp6_seq_wrap", 86},
		 {"tcp4_vlan_id_wrap", 70},
		 {"tcp4_ipopts_ecn", 74},
		 {"uso4_zero_csum", 42},
		 {"uso6_qinq", 70}};
	for (size_t i = 0; i < ARRAY_LEN(t); i++)
		if (strcmp(t[i].name, v->name) == 0)
			return t[i].hdr_len;
	fail_msg("no header length for %s", v->name);
	return 0;
}

/* What a front-end with the offloads receives of GSO vector 'v' moved by 'shift' bytes. */
static struct pbuf_offload ot_pass_ol(const struct ovec *v, int shift)
{
	struct pbuf_offload ol = v->ol;
	ol.flags &= (uint8_t)~VIRTIO_NET_HDR_F_DATA_VALID;
	ol.hdr_len = (uint16_t)(ot_real_hdr_len(v) + shift);
	ol.csum_start = (uint16_t)(ol.csum_start + shift);
	return ol;
}

/* ---- checksums (RFC 1071), to complete partial segments and build references ---- */

static uint32_t ot_sum(uint32_t s, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t ot_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void ot_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Completes a partial checksum as a driver does: the field holds the pseudo-header sum. */
static void ot_complete(uint8_t *f, size_t len, uint16_t start, uint16_t off)
{
	uint16_t c = ot_fold(ot_sum(0, f + start, len - start));
	ot_put16(f + start + off, c ? c : 0xffff);
}

/* ---- the offload cases, one vector each ---- */

/* A sends GSO vector 'v'; every front-end in 'pass', 'seg' and 'part' gets it as it should. */
static void ot_gso(const struct ovec *v, unsigned pass, unsigned seg, unsigned part)
{
	ot_send(A, &v->ol, v->in.b, v->in.len);
	for (int i = 0; i < OT_NFE; i++) {
		if (pass & (1u << i)) {
			struct pbuf_offload ol = ot_pass_ol(v, 0);
			ot_expect(i, &ol, v->in.b, v->in.len, v->name);
		}
		for (unsigned k = 0; (seg & (1u << i)) && k < v->nout; k++)
			ot_expect(i, NULL, v->out[k].b, v->out[k].len, v->name);
		for (unsigned k = 0; (part & (1u << i)) && k < v->nout; k++) {
			struct pbuf_offload ol = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
						  .csum_start = v->ol.csum_start,
						  .csum_offset = v->ol.csum_offset};
			size_t n = ot_expect(i, &ol, NULL, v->out[k].len, v->name);
			ot_complete(got, n, ol.csum_start, ol.csum_offset);
			if (n != v->out[k].len || memcmp(got, v->out[k].b, n) != 0)
				fail_msg(
				    "%s: %s partial segment %u differs (completed) at byte %zu",
				    v->name, names[i], k, ot_diff_at(got, v->out[k].b, n));
		}
	}
	ot_quiet(pass | seg | part, v->name);
}

/* A sends checksum vector 'v'; 'to' gets it partial (it has GUEST_CSUM) or completed. */
static void ot_csum(const struct ovec *v, int to, bool partial)
{
	ot_send(A, &v->ol, v->in.b, v->in.len);
	if (partial)
		ot_expect(to, &v->ol, v->in.b, v->in.len, v->name);
	else
		ot_expect(to, NULL, v->out[0].b, v->out[0].len, v->name);
	ot_quiet((1u << B) | (1u << C) | (1u << D), v->name);
}

static bool ot_is_gso_plain(const struct ovec *v)
{
	return v->mss_cap == 0; /* tcp4_mss1000 is tcp4 cut by a smaller device MSS */
}

/* ---- a 64 KiB super-frame and its reference segments ---- */

/* TCPv4 super-frame of 'plen' payload bytes with vector tcp4's headers; returns its length. */
static size_t ot_big_tcp4(uint8_t *f, uint32_t plen, struct pbuf_offload *ol)
{
	const uint32_t hl = 66, ip = 14;
	memcpy(f, ovec_tcp4_in, hl);
	for (uint32_t i = 0; i < plen; i++)
		f[hl + i] = (uint8_t)(i * 7 + i / 251);
	ot_put16(f + ip + 2, (uint16_t)(hl - ip + plen));
	ot_put16(f + ip + 10, 0);
	ot_put16(f + ip + 10, ot_fold(ot_sum(0, f + ip, 20)));
	*ol = ot_vec("tcp4")->ol; /* NEEDS_CSUM, TCPV4, hdr_len 66, gso_size 1448, 34/16 */
	return hl + plen;
}

/*
 * Segment 'k' of super-frame 'f' as Linux cuts it (IPv4 length, id + k,
 * header checksum; sequence number; PSH and FIN on the last only; CWR on the
 * first only; TCP checksum complete). Checked against the vectors in
 * test_reference. Returns its length.
 */
static size_t ot_ref_seg(const uint8_t *f, size_t len, uint32_t l2, uint32_t hl, uint16_t mss,
			 unsigned k, uint8_t *out)
{
	uint32_t off = hl + (uint32_t)k * mss;
	uint32_t n = (uint32_t)(len - off) < mss ? (uint32_t)(len - off) : mss;
	bool last = off + n == len;
	uint8_t *iph = out + l2;
	uint32_t ihl = (f[l2] & 0xfu) * 4u;
	uint8_t *th = iph + ihl;
	memcpy(out, f, hl);
	memcpy(out + hl, f + off, n);
	ot_put16(iph + 2, (uint16_t)(hl - l2 + n));
	ot_put16(iph + 4, (uint16_t)((iph[4] << 8 | iph[5]) + k));
	ot_put16(iph + 10, 0);
	ot_put16(iph + 10, ot_fold(ot_sum(0, iph, ihl)));
	uint32_t seq = (uint32_t)th[4] << 24 | th[5] << 16 | th[6] << 8 | th[7];
	seq += (uint32_t)k * mss;
	for (int i = 0; i < 4; i++)
		th[4 + i] = (uint8_t)(seq >> (24 - 8 * i));
	if (!last)
		th[13] &= (uint8_t)~0x09; /* PSH, FIN */
	if (k > 0)
		th[13] &= (uint8_t)~0x80; /* CWR */
	uint32_t tl = hl - l2 - ihl + n, ps = ot_sum(0, iph + 12, 8) + 6 + tl;
	ot_put16(th + 16, 0);
	uint16_t c = ot_fold(ot_sum(ps, th, tl));
	ot_put16(th + 16, c ? c : 0xffff);
	return hl + n;
}

/*
 * 'to' receives the segments of super-frame 'f' (TCPv4, headers 'hl' long
 * from 'l2'): complete, or, with 'partial', with NEEDS_CSUM and the
 * pseudo-header sum in the field (completed here before the comparison).
 */
static void ot_expect_ref(int to, const uint8_t *f, size_t len, uint32_t l2, uint32_t hl,
			  uint16_t mss, bool partial, const char *what)
{
	static uint8_t want[OT_MAX_FRAME];
	const uint16_t cs = (uint16_t)(l2 + (f[l2] & 0xfu) * 4u);
	const struct pbuf_offload ol = {
	    .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = cs, .csum_offset = 16};
	unsigned nseg = (unsigned)((len - hl + mss - 1) / mss);
	for (unsigned k = 0; k < nseg; k++) {
		size_t n = ot_ref_seg(f, len, l2, hl, mss, k, want);
		if (!partial) {
			ot_expect(to, NULL, want, n, what);
			continue;
		}
		ot_expect(to, &ol, NULL, n, what);
		ot_complete(got, n, cs, 16);
		if (memcmp(got, want, n) != 0)
			fail_msg("%s: %s's segment %u (completed) differs at byte %zu", what,
				 names[to], k, ot_diff_at(got, want, n));
	}
}

/* ---- cases ---- */

/* The reference segmenter agrees with Linux's segments of the TCPv4 vectors. */
static void test_reference(void **state)
{
	(void)state;
	static uint8_t seg[2048];
	static const struct {
		const char *name;
		uint32_t l2, hl;
	} t[] = {{"tcp4", 14, 66}, {"tcp4_vlan_id_wrap", 18, 70}, {"tcp4_ipopts_ecn", 14, 74}};
	for (size_t i = 0; i < ARRAY_LEN(t); i++) {
		const struct ovec *v = ot_vec(t[i].name);
		for (unsigned k = 0; k < v->nout; k++) {
			size_t n = ot_ref_seg(v->in.b, v->in.len, t[i].l2, t[i].hl, v->ol.gso_size,
					      k, seg);
			assert_int_equal(n, v->out[k].len);
			assert_memory_equal(seg, v->out[k].b, n);
		}
	}
}

/* Four ports in normal mode: a sends; b with every offload, c without, d with checksums. */
static void ot_start_four(void)
{
	swd_start(&T.d, "add-port a vhost-user-server\nadd-port b vhost-user-server\n"
			"add-port c vhost-user-server\nadd-port d vhost-user-server\n");
	ot_attach(A, FE_FEATURES_OFFLOAD, 0);
	ot_attach(B, FE_FEATURES_OFFLOAD, OT_RX_SMALL);
	ot_attach(C, 0, OT_RX_WIRE);
	ot_attach(D, OT_CSUM_ONLY, OT_RX_WIRE);
	assert_int_equal(T.fe[A].features & FE_FEATURES_OFFLOAD, FE_FEATURES_OFFLOAD);
	assert_int_equal(T.fe[C].features & FE_FEATURES_OFFLOAD, 0);
	assert_int_equal(T.fe[D].features & FE_FEATURES_OFFLOAD, OT_CSUM_ONLY);
}

/* A frame from 'port' with source 'src' in VLAN 'vid' (0: untagged) so the switch learns it. */
static void ot_learn(int port, const uint8_t *src, uint16_t vid)
{
	uint8_t f[128];
	size_t len = swt_eth(f, 64, swt_bcast, swt_mac(0x77), ++T.seq);
	memcpy(f + 6, src, 6);
	if (vid)
		len = swt_tag(f, len, vid);
	if (fe_send(&T.fe[port], 0, f, len) < 0)
		fail_msg("learn: %s", T.fe[port].err);
	for (int i = 0; i < OT_NFE; i++)
		if (i != port && T.fe[i].sock >= 0)
			ot_expect(i, NULL, f, len, "learn");
}

/* (a)-(c) in normal mode: flooded super-frames to b, c, d at once; checksums to a learnt port. */
static void test_normal(void **state)
{
	(void)state;
	ot_start_four();
	unsigned n = 0;
	for (size_t i = 0; i < ARRAY_LEN(ovec_gso); i++) {
		/* Not uso6_qinq: normal re-tags its 802.1ad outer tag as 802.1Q (0x8100). */
		if (!ot_is_gso_plain(&ovec_gso[i]) || strcmp(ovec_gso[i].name, "uso6_qinq") == 0)
			continue;
		ot_gso(&ovec_gso[i], 1u << B, 1u << C, 1u << D);
		n++;
	}
	ot_stat_is(A, "offload.rx_gso", n);
	ot_stat_is(B, "offload.tx_segmented", 0);
	ot_stat_is(C, "offload.tx_segmented", n);
	ot_stat_is(D, "offload.tx_segmented", n);

	/* Checksums: the vectors' destination MAC learnt on one port at a time. */
	const uint8_t *dst = ovec_csum[0].in.b;
	const int to[] = {B, C, D};
	for (size_t k = 0; k < ARRAY_LEN(to); k++) {
		ot_learn(to[k], dst, 0);
		ot_learn(to[k], dst, 7); /* csum_tcp6_vlan is in VLAN 7 */
		for (size_t i = 0; i < ARRAY_LEN(ovec_csum); i++)
			ot_csum(&ovec_csum[i], to[k], to[k] != C);
	}
	ot_stat_is(A, "offload.rx_csum", 3 * ARRAY_LEN(ovec_csum));
	ot_stat_is(B, "offload.tx_csum_sw", 0);
	ot_stat_is(C, "offload.tx_csum_sw", ARRAY_LEN(ovec_csum));
	ot_stat_is(D, "offload.tx_csum_sw", 0);
	for (int i = A; i <= D; i++)
		ot_stat_is(i, "drops.bad_offload", 0);
	ot_done();
}

/* A 64 KiB super-frame: across 33 mergeable buffers to b, cut in 46 segments for c and d. */
static void test_big(void **state)
{
	(void)state;
	static uint8_t f[OT_MAX_FRAME];
	ot_start_four();
	struct pbuf_offload ol;
	size_t len = ot_big_tcp4(f, 65535 - 52, &ol);
	unsigned nseg = (unsigned)((len - 66 + ol.gso_size - 1) / ol.gso_size);
	ot_send(A, &ol, f, len);
	ot_expect(B, &ol, f, len, "64k");
	ot_expect_ref(C, f, len, 14, 66, ol.gso_size, false, "64k");
	ot_expect_ref(D, f, len, 14, 66, ol.gso_size, true, "64k");
	ot_quiet((1u << B) | (1u << C) | (1u << D), "64k");
	ot_stat_is(C, "offload.tx_segmented", 1);
	ot_stat_is(C, "tx_packets", nseg);

	/* gso_size 8: 556 segments, more than the switch cuts per frame. The peer
	 * with TSO still gets it; the others drop it, counted on their side. */
	len = ot_big_tcp4(f, 4444, &ol);
	ol.gso_size = 8;
	ot_send(A, &ol, f, len);
	ot_expect(B, &ol, f, len, "gso_size 8");
	ot_quiet((1u << B) | (1u << C) | (1u << D), "gso_size 8");
	ot_stat_is(C, "drops.bad_offload", 1);
	ot_stat_is(D, "drops.bad_offload", 1);
	ot_stat_is(A, "drops.bad_offload", 0);
	ot_done();
}

/*
 * A tagged 64 KiB super-frame in normal mode (popped, and pushed again, on a
 * copy), then under a rule that rewrites the frame after an output (a copy
 * again): copies of a super-frame need a big buffer.
 */
static void test_big_tagged(void **state)
{
	(void)state;
	static uint8_t f[OT_MAX_FRAME];
	ot_start_four();
	struct pbuf_offload ol;
	size_t len = ot_big_tcp4(f, 65535 - 52, &ol);
	len = swt_tag(f, len, 0xa064); /* VLAN 100, PCP 5 */
	ol.hdr_len += 4;
	ol.csum_start += 4;
	ot_send(A, &ol, f, len);
	ot_expect(B, &ol, f, len, "64k tagged");
	ot_expect_ref(C, f, len, 18, 70, ol.gso_size, false, "64k tagged");
	ot_quiet((1u << B) | (1u << C), "64k tagged");

	/* A rule that rewrites after an output copies the super-frame too. */
	swctl_do(&T.d, "add-flow",
		 "in_port=a,actions=output:b,set_eth_dst:02:00:00:00:00:33,output:c");
	ot_send(A, &ol, f, len);
	ot_expect(B, &ol, f, len, "64k, output then rewrite");
	memcpy(f, swt_mac(0x33).b, 6);
	ot_expect_ref(C, f, len, 18, 70, ol.gso_size, false, "64k, output then rewrite");
	ot_quiet((1u << B) | (1u << C), "64k, output then rewrite");
	ot_stat_is(A, "offload.rx_gso", 2);
	ot_done();
}

/* (e) the same with port-to-port rules, one destination at a time, then all three at once. */
static void test_rules(void **state)
{
	(void)state;
	ot_start_four();
	static const struct {
		const char *flow;
		unsigned pass, seg, part;
	} r[] = {
	    {"in_port=a,actions=output:b", 1u << B, 0, 0},
	    {"in_port=a,actions=output:c", 0, 1u << C, 0},
	    {"in_port=a,actions=output:d", 0, 0, 1u << D},
	    {"in_port=a,actions=output:b,output:c,output:d", 1u << B, 1u << C, 1u << D},
	};
	unsigned n = 0;
	for (size_t k = 0; k < ARRAY_LEN(r); k++) {
		swctl_do(&T.d, "del-flows");
		swctl_do(&T.d, "add-flow", r[k].flow);
		for (size_t i = 0; i < ARRAY_LEN(ovec_gso); i++) {
			if (!ot_is_gso_plain(&ovec_gso[i]))
				continue;
			ot_gso(&ovec_gso[i], r[k].pass, r[k].seg, r[k].part);
			n++;
		}
		for (size_t i = 0; i < ARRAY_LEN(ovec_csum) && k < 3; i++)
			ot_csum(&ovec_csum[i], 1 + (int)k, k != 1);
	}
	ot_stat_is(A, "offload.rx_gso", n);
	ot_stat_is(A, "offload.rx_csum", 3 * ARRAY_LEN(ovec_csum));
	ot_stat_is(B, "offload.tx_segmented", 0);
	ot_stat_is(C, "offload.tx_segmented", n / 2);
	ot_stat_is(C, "offload.tx_csum_sw", ARRAY_LEN(ovec_csum));
	ot_stat_is(A, "drops.bad_offload", 0);
	ot_done();
}

/* A VLAN pushed by a rule: offsets move with the frame, segments carry the tag. */
static void test_rules_push_vlan(void **state)
{
	(void)state;
	static uint8_t in[8192], seg[2048];
	ot_start_four();
	const int to[] = {B, C};
	for (size_t k = 0; k < ARRAY_LEN(to); k++) {
		char flow[96];
		snprintf(flow, sizeof(flow), "in_port=a,actions=push_vlan:42,output:%s",
			 names[to[k]]);
		swctl_do(&T.d, "del-flows");
		swctl_do(&T.d, "add-flow", flow);
		for (size_t i = 0; i < ARRAY_LEN(ovec_gso); i++) {
			const struct ovec *v = &ovec_gso[i];
			uint16_t type = (uint16_t)(v->in.b[12] << 8 | v->in.b[13]);
			if (!ot_is_gso_plain(v) || type == 0x8100 || type == 0x88a8)
				continue; /* the untagged vectors */
			ot_send(A, &v->ol, v->in.b, v->in.len);
			if (to[k] == B) {
				memcpy(in, v->in.b, v->in.len);
				size_t len = swt_tag(in, v->in.len, 42);
				struct pbuf_offload ol = ot_pass_ol(v, 4);
				ot_expect(B, &ol, in, len, v->name);
			} else {
				for (unsigned s = 0; s < v->nout; s++) {
					memcpy(seg, v->out[s].b, v->out[s].len);
					size_t len = swt_tag(seg, v->out[s].len, 42);
					ot_expect(C, NULL, seg, len, v->name);
				}
			}
			ot_quiet((1u << B) | (1u << C) | (1u << D), v->name);
		}
	}
	ot_stat_is(A, "drops.bad_offload", 0);
	ot_done();
}

/* ---- (d) hostile metadata ---- */

struct hostile {
	const char *what;
	const uint8_t *f;
	uint32_t len;
	struct pbuf_offload ol;
};

#define NC	VIRTIO_NET_HDR_F_NEEDS_CSUM
#define T4	VIRTIO_NET_HDR_GSO_TCPV4
#define T6	VIRTIO_NET_HDR_GSO_TCPV6
#define U4	VIRTIO_NET_HDR_GSO_UDP_L4
#define ECN	VIRTIO_NET_HDR_GSO_ECN
#define TCP4_IN ovec_tcp4_in, sizeof(ovec_tcp4_in)
#define TCP6_IN ovec_tcp6_seq_wrap_in, sizeof(ovec_tcp6_seq_wrap_in)
#define UDP4_IN ovec_uso4_zero_csum_in, sizeof(ovec_uso4_zero_csum_in)
#define UDPC_IN ovec_csum_udp4_odd_in, sizeof(ovec_csum_udp4_odd_in)

/* From a front-end with every offload acked: each refused by pkt_ol_check(). */
static const struct hostile hostile_acked[] = {
    {"csum_start past the frame", UDPC_IN, {.flags = NC, .csum_start = 200, .csum_offset = 6}},
    {"csum_offset past the end", UDPC_IN, {.flags = NC, .csum_start = 34, .csum_offset = 52}},
    {"csum not at the UDP checksum", UDPC_IN, {.flags = NC, .csum_start = 34, .csum_offset = 4}},
    {"gso_size 0", TCP4_IN, {NC, T4, 66, 0, 34, 16}},
    {"TCPV4 on a UDP frame", UDP4_IN, {NC, T4, 42, 1200, 34, 6}},
    {"TCPV4 on IPv6", TCP6_IN, {NC, T4, 86, 1428, 54, 16}},
    {"TCPV6 on IPv4", TCP4_IN, {NC, T6, 66, 1448, 34, 16}},
    {"hdr_len past the frame", TCP4_IN, {NC, T4, 4511, 1448, 34, 16}},
    {"hdr_len 0xffff", TCP4_IN, {NC, T4, 0xffff, 1448, 34, 16}},
    {"gso_type 2", TCP4_IN, {NC, 2, 66, 1448, 34, 16}},
    {"gso_type 3 (UFO)", UDP4_IN, {NC, 3, 42, 1200, 34, 6}},
    {"gso_type 0x7f", TCP4_IN, {NC, 0x7f, 66, 1448, 34, 16}},
    {"ECN bit alone", TCP4_IN, {NC, ECN, 66, 1448, 34, 16}},
    {"ECN on UDP_L4", UDP4_IN, {NC, U4 | ECN, 42, 1200, 34, 6}},
    {"UDP_L4 without NEEDS_CSUM", UDP4_IN, {0, U4, 42, 1200, 34, 6}},
    {"GSO on a frame cut short", ovec_tcp4_in, 1000, {NC, T4, 66, 1448, 34, 16}},
};

/* From a front-end or port without offloads: any metadata at all. */
static const struct hostile hostile_plain[] = {
    {"NEEDS_CSUM", UDPC_IN, {.flags = NC, .csum_start = 34, .csum_offset = 6}},
    {"TSO", TCP4_IN, {NC, T4, 66, 1448, 34, 16}},
    {"TSO without NEEDS_CSUM", TCP4_IN, {0, T4, 66, 1448, 34, 16}},
};

/*
 * Sends each frame of 't' from front-end 'from' on 'port': nothing arrives
 * on 'quiet', drops.bad_offload counts it once, and a plain frame sent after
 * it reaches b byte for byte.
 */
static void ot_hostile(int from, const char *port, const struct hostile *t, size_t n,
		       unsigned quiet)
{
	uint8_t f[256];
	int64_t drops = swt_stat(&T.d, port, "drops.bad_offload");
	for (size_t i = 0; i < n; i++) {
		ot_send(from, &t[i].ol, t[i].f, t[i].len);
		ot_quiet(quiet, t[i].what);
		int64_t v = swt_wait_stat(&T.d, port, "drops.bad_offload", ++drops);
		if (v != drops)
			fail_msg("%s from %s: drops.bad_offload %lld, want %lld", t[i].what, port,
				 (long long)v, (long long)drops);
		size_t len = swt_eth(f, 200, swt_mac(2), swt_mac((uint8_t)(0x10 + from)), ++T.seq);
		if (fe_send(&T.fe[from], 0, f, len) < 0)
			fail_msg("%s: %s", t[i].what, T.fe[from].err);
		ot_expect(B, NULL, f, len, t[i].what);
		ot_quiet(quiet, t[i].what);
	}
}

/* a with every offload, b receiving, p without offloads, q with offloads=off. */
static void ot_start_hostile(void)
{
	swd_start(&T.d,
		  "add-port a vhost-user-server\nadd-port b vhost-user-server\n"
		  "add-port p vhost-user-server\nadd-port q vhost-user-server offloads=off\n");
	ot_attach(A, FE_FEATURES_OFFLOAD, 0);
	ot_attach(B, FE_FEATURES_OFFLOAD, OT_RX_SMALL);
	ot_attach(P, 0, 0);
	struct swt_mac mb = swt_mac(2);
	ot_learn(B, mb.b, 0); /* the plain frames after each go to b alone */
}

/* (d) in normal mode, then under a rule that sends everything to b. */
static void test_hostile(void **state)
{
	(void)state;
	const unsigned quiet = (1u << A) | (1u << B) | (1u << P);
	ot_start_hostile();
	for (int rules = 0; rules < 2; rules++) {
		if (rules)
			swctl_do(&T.d, "add-flow", "actions=output:b");
		ot_hostile(A, "a", hostile_acked, ARRAY_LEN(hostile_acked), quiet);
		ot_hostile(P, "p", hostile_plain, ARRAY_LEN(hostile_plain), quiet);
	}
	ot_stat_is(A, "offload.rx_gso", 0);
	ot_stat_is(A, "offload.rx_csum", 0);
	ot_stat_is(B, "drops.bad_offload", 0);

	/* DATA_VALID alone means nothing from a guest (5.1.6.2): a plain frame. */
	const struct pbuf_offload dv = {.flags = VIRTIO_NET_HDR_F_DATA_VALID};
	const struct ovec *v = ot_vec("csum_tcp4"); /* its completed frame is a valid one */
	ot_send(A, &dv, v->out[0].b, v->out[0].len);
	ot_expect(B, NULL, v->out[0].b, v->out[0].len, "DATA_VALID");
	ot_quiet(quiet, "DATA_VALID");
	ot_stat_is(A, "drops.bad_offload", 2 * (int64_t)ARRAY_LEN(hostile_acked));
	ot_done();
}

/* A port with offloads=off offers none; a front-end asking for them gets none and is refused. */
static void test_offloads_off(void **state)
{
	(void)state;
	ot_start_hostile();
	ot_attach_to(D, "q", FE_FEATURES_OFFLOAD, 0);
	assert_int_equal(T.fe[D].dev_features & FE_FEATURES_OFFLOAD, 0);
	assert_int_equal(T.fe[D].features & FE_FEATURES_OFFLOAD, 0);
	ot_hostile(D, "q", hostile_plain, ARRAY_LEN(hostile_plain),
		   (1u << A) | (1u << B) | (1u << P));
	ot_done();
}

int main(void)
{
#define T_(f) cmocka_unit_test_setup_teardown(f, ot_setup, ot_teardown)
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reference),
	    T_(test_normal),
	    T_(test_big),
	    T_(test_big_tagged),
	    T_(test_rules),
	    T_(test_rules_push_vlan),
	    T_(test_hostile),
	    T_(test_offloads_off),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
