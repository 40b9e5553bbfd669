/*
 * test_vq.c - queue life cycle and notifications: vq_setup's size and
 * alignment rules (sizes 1, 2, 256, 32768 via 0), header length from the
 * features, reset keeping statistics, reason names, the pending count across
 * 16-bit wrap, interrupt decisions with and without EVENT_IDX, and kick
 * suppression including the re-check that closes the sleep race.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>

#include <cmocka.h>

#include "guest_sim.h"

#define F_EVENT VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX)
#define F_V1	VIRTIO_BIT(VIRTIO_F_VERSION_1)
#define F_MRG	VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF)

static void test_setup_sizes(void **state)
{
	(void)state;
	static const uint32_t good[] = {1, 2, 256, VIRTQ_MAX_SIZE};
	for (size_t i = 0; i < RS_ARRAY_SIZE(good); i++) {
		struct gsim g;
		assert_int_equal(gsim_init(&g, good[i], 0, 0, 4096), 0);
		assert_int_equal(g.vq.size, (uint16_t)good[i]);
		assert_int_equal(g.vq.mask, (uint16_t)(good[i] - 1));
		gsim_fini(&g);
	}
	struct gsim g;
	assert_int_equal(gsim_init(&g, 256, 0, 0, 4096), 0);
	static const uint16_t bad[] = {3, 6, 255, 257, 32767, 40000, 65535};
	for (size_t i = 0; i < RS_ARRAY_SIZE(bad); i++)
		assert_int_equal(vq_setup(&g.vq, &g.mem, bad[i], g.desc, g.avail, g.used, 0, 0),
				 -EINVAL);
	gsim_fini(&g);
}

static void test_setup_alignment(void **state)
{
	(void)state;
	struct gsim g;
	assert_int_equal(gsim_init(&g, 8, 0, 0, 4096), 0);
	uint8_t *d = (uint8_t *)g.desc, *a = (uint8_t *)g.avail, *u = (uint8_t *)g.used;
	struct vq *vq = &g.vq;
	assert_int_equal(vq_setup(vq, &g.mem, 8, (void *)(d + 8), g.avail, g.used, 0, 0), -EINVAL);
	assert_int_equal(vq_setup(vq, &g.mem, 8, g.desc, (void *)(a + 1), g.used, 0, 0), -EINVAL);
	assert_int_equal(vq_setup(vq, &g.mem, 8, g.desc, g.avail, (void *)(u + 2), 0, 0), -EINVAL);
	assert_int_equal(vq_setup(vq, &g.mem, 8, NULL, g.avail, g.used, 0, 0), -EINVAL);
	assert_int_equal(vq_setup(vq, NULL, 8, g.desc, g.avail, g.used, 0, 0), -EINVAL);
	assert_int_equal(vq_setup(vq, &g.mem, 8, g.desc, (void *)(a + 2), (void *)(u + 4), 0, 0),
			 0);
	gsim_fini(&g);
}

static void test_setup_features(void **state)
{
	(void)state;
	static const struct {
		uint64_t features;
		uint16_t hdr_len;
		bool mrg, event, indirect;
	} cases[] = {
	    {0, 10, false, false, false},
	    {F_V1, 12, false, false, false},
	    {F_MRG, 12, true, false, false},
	    {F_V1 | F_MRG | F_EVENT, 12, true, true, false},
	    {VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC), 10, false, false, true},
	};
	for (size_t i = 0; i < RS_ARRAY_SIZE(cases); i++) {
		struct gsim g;
		assert_int_equal(gsim_init(&g, 4, cases[i].features, 77, 4096), 0);
		assert_int_equal(g.vq.hdr_len, cases[i].hdr_len);
		assert_int_equal(g.vq.mrg_rxbuf, cases[i].mrg);
		assert_int_equal(g.vq.event_idx, cases[i].event);
		assert_int_equal(g.vq.indirect, cases[i].indirect);
		assert_int_equal(g.vq.last_avail, 77);
		assert_int_equal(g.vq.last_used, 77);
		gsim_fini(&g);
	}
}

static void test_reset_and_names(void **state)
{
	(void)state;
	struct gsim g;
	assert_int_equal(gsim_init(&g, 4, 0, 0, 4096), 0);
	assert_int_equal(vq_mark_broken(&g.vq, VQ_BROKEN_HEAD_RANGE), -EIO);
	assert_int_equal(vq_mark_broken(&g.vq, VQ_BROKEN_DESC_LOOP), -EIO);
	assert_int_equal(g.vq.broken, VQ_BROKEN_HEAD_RANGE); /* first reason sticks */
	assert_int_equal(vq_dequeue_burst(&g.vq, NULL, NULL, 4), -EIO);
	assert_int_equal(vq_enqueue_burst(&g.vq, NULL, 0), -EIO);
	vq_reset(&g.vq);
	assert_int_equal(g.vq.broken, VQ_OK);
	assert_null(g.vq.desc);
	assert_int_equal(g.vq.stats.broken[VQ_BROKEN_HEAD_RANGE], 1);
	assert_int_equal(g.vq.stats.broken[VQ_BROKEN_DESC_LOOP], 1);
	/* a reset queue is inert */
	assert_int_equal(vq_dequeue_burst(&g.vq, NULL, NULL, 4), 0);
	assert_int_equal(vq_avail_count(&g.vq), 0);
	assert_false(vq_guest_wants_interrupt(&g.vq));
	assert_false(vq_enable_kicks(&g.vq));
	vq_disable_kicks(&g.vq);

	assert_string_equal(vq_broken_reason_name(VQ_OK), "ok");
	assert_string_equal(vq_broken_reason_name(VQ_BROKEN_AVAIL_IDX), "avail_idx_jump");
	assert_string_equal(vq_broken_reason_name(VQ_BROKEN_SHORT_CHAIN), "short_chain");
	assert_string_equal(vq_broken_reason_name(VQ_BROKEN_REASON_COUNT), "unknown");
	for (int r = 0; r < VQ_BROKEN_REASON_COUNT; r++)
		assert_non_null(vq_broken_reason_name((enum vq_broken_reason)r));
	gsim_fini(&g);
}

static void test_avail_count_wrap(void **state)
{
	(void)state;
	struct gsim g;
	assert_int_equal(gsim_init(&g, 8, 0, 65533, 4096), 0);
	assert_int_equal(vq_avail_count(&g.vq), 0);
	for (int i = 0; i < 5; i++)
		gsim_push(&g, 0);
	assert_int_equal(g.avail->idx, 2); /* wrapped */
	assert_int_equal(vq_avail_count(&g.vq), 5);
	gsim_fini(&g);
}

/* Publishes 'n' used entries as a burst would. */
static void publish(struct gsim *g, uint16_t n)
{
	g->vq.last_used = (uint16_t)(g->vq.last_used + n);
	g->used->idx = g->vq.last_used;
}

static void test_interrupt_no_event_idx(void **state)
{
	(void)state;
	struct gsim g;
	assert_int_equal(gsim_init(&g, 8, 0, 0, 4096), 0);
	publish(&g, 1);
	assert_true(vq_guest_wants_interrupt(&g.vq));
	assert_false(vq_guest_wants_interrupt(&g.vq)); /* nothing new */
	g.avail->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	publish(&g, 2);
	assert_false(vq_guest_wants_interrupt(&g.vq));
	g.avail->flags = 0;
	publish(&g, 1);
	assert_true(vq_guest_wants_interrupt(&g.vq));
	assert_int_equal(g.vq.stats.interrupts, 2);
	gsim_fini(&g);
}

struct ev_case {
	const char *name;
	uint16_t base;	     /* used idx at setup */
	uint16_t first;	     /* entries published before the first check */
	uint16_t used_event; /* what the guest writes before the second burst */
	uint16_t second;     /* entries published in the second burst */
	bool want;	     /* second decision */
};

static void test_interrupt_event_idx(void **state)
{
	(void)state;
	static const struct ev_case cases[] = {
	    /* after the first check, signalled_used = base + first */
	    {"event is next entry", 0, 1, 1, 1, true},
	    {"event inside burst", 0, 1, 3, 4, true},
	    {"event at end of burst, not reached", 0, 1, 5, 4, false},
	    {"event already passed", 0, 4, 1, 2, false},
	    {"event far ahead", 0, 1, 100, 4, false},
	    {"wrap: event before 0", 65534, 1, 65535, 3, true},
	    {"wrap: event after 0", 65534, 1, 1, 3, true},
	    {"wrap: event at new idx", 65534, 1, 2, 3, false},
	    {"nothing new", 10, 1, 11, 0, false},
	};
	for (size_t i = 0; i < RS_ARRAY_SIZE(cases); i++) {
		const struct ev_case *c = &cases[i];
		struct gsim g;
		assert_int_equal(gsim_init(&g, 256, F_EVENT, c->base, 4096), 0);
		publish(&g, c->first);
		/* the first decision has no history and always signals */
		assert_true(vq_guest_wants_interrupt(&g.vq));
		g.avail->ring[256] = c->used_event; /* used_event */
		publish(&g, c->second);
		bool want = vq_guest_wants_interrupt(&g.vq);
		if (want != c->want)
			fail_msg("case '%s': got %d", c->name, want);
		gsim_fini(&g);
	}
}

static void test_kicks_no_event_idx(void **state)
{
	(void)state;
	struct gsim g;
	assert_int_equal(gsim_init(&g, 8, 0, 0, 4096), 0);
	vq_disable_kicks(&g.vq);
	assert_int_equal(g.used->flags, VIRTQ_USED_F_NO_NOTIFY);
	assert_false(vq_enable_kicks(&g.vq));
	assert_int_equal(g.used->flags, 0);
	/* the race: a chain published while kicks were off */
	vq_disable_kicks(&g.vq);
	gsim_push(&g, 0);
	assert_true(vq_enable_kicks(&g.vq));
	assert_int_equal(g.used->flags, 0);
	gsim_fini(&g);
}

static void test_kicks_event_idx(void **state)
{
	(void)state;
	struct gsim g;
	assert_int_equal(gsim_init(&g, 4, F_EVENT, 65535, 4096), 0);
	vle16 *avail_event = (vle16 *)&g.used->ring[4];
	*avail_event = 1234;
	vq_disable_kicks(&g.vq);
	assert_int_equal(g.used->flags, 0);
	assert_int_equal(*avail_event, 1234); /* left behind while polling */
	assert_false(vq_enable_kicks(&g.vq));
	assert_int_equal(*avail_event, 65535); /* = last_avail */
	gsim_push(&g, 0);
	assert_true(vq_enable_kicks(&g.vq));
	/* broken queues never claim work */
	vq_mark_broken(&g.vq, VQ_BROKEN_DESC_ADDR);
	assert_false(vq_enable_kicks(&g.vq));
	gsim_fini(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_setup_sizes),
	    cmocka_unit_test(test_setup_alignment),
	    cmocka_unit_test(test_setup_features),
	    cmocka_unit_test(test_reset_and_names),
	    cmocka_unit_test(test_avail_count_wrap),
	    cmocka_unit_test(test_interrupt_no_event_idx),
	    cmocka_unit_test(test_interrupt_event_idx),
	    cmocka_unit_test(test_kicks_no_event_idx),
	    cmocka_unit_test(test_kicks_event_idx),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
