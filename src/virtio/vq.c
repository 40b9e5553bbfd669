/*
 * vq.c - the life cycle and notification side of a split virtqueue (virtio
 * 1.2 section 2.7): setup and reset, the broken state, the count of pending
 * chains, interrupt suppression (2.7.7, 2.7.10 used_event) and kick
 * suppression (2.7.10 avail_event, 2.7.8 VIRTQ_USED_F_NO_NOTIFY). The chain
 * walker lives in vq_chain.c and the packet bursts in vq_net.c.
 *
 * Ordering: every check of a guest flag or event index that decides whether
 * one side may sleep is preceded by a full fence, so that our store (used->idx
 * or avail_event) and the guest's store (avail->idx or used_event) cannot
 * both be missed by the other side.
 */
#include "vq.h"

#include <errno.h>
#include <string.h>

#include "../lib/compiler.h"

static const char *const vq_reason_names[VQ_BROKEN_REASON_COUNT] = {
    [VQ_OK] = "ok",
    [VQ_BROKEN_AVAIL_IDX] = "avail_idx_jump",
    [VQ_BROKEN_HEAD_RANGE] = "head_range",
    [VQ_BROKEN_DESC_ADDR] = "desc_addr",
    [VQ_BROKEN_DESC_LOOP] = "desc_loop",
    [VQ_BROKEN_DESC_NEXT] = "desc_next",
    [VQ_BROKEN_INDIRECT] = "indirect",
    [VQ_BROKEN_DESC_ORDER] = "desc_order",
    [VQ_BROKEN_DESC_DIR] = "desc_dir",
    [VQ_BROKEN_LEN_OVERFLOW] = "len_overflow",
    [VQ_BROKEN_SHORT_CHAIN] = "short_chain",
};

const char *vq_broken_reason_name(enum vq_broken_reason r)
{
	if ((unsigned)r >= VQ_BROKEN_REASON_COUNT)
		return "unknown";
	return vq_reason_names[r];
}

int vq_mark_broken(struct vq *vq, enum vq_broken_reason reason)
{
	if (vq->broken == VQ_OK)
		vq->broken = reason;
	if ((unsigned)reason < VQ_BROKEN_REASON_COUNT)
		rs_stat_add(&vq->stats.broken[reason], 1);
	return -EIO;
}

/* Everything but the statistics, back to the state of a fresh queue. */
static void vq_clear(struct vq *vq)
{
	struct vq_stats stats = vq->stats;

	memset(vq, 0, sizeof(*vq));
	vq->stats = stats;
}

int vq_setup(struct vq *vq, const struct gmem *mem, uint16_t size_or_0_for_32768,
	     struct virtq_desc *desc, struct virtq_avail *avail, struct virtq_used *used,
	     uint64_t features, uint16_t base)
{
	uint32_t size = size_or_0_for_32768 ? size_or_0_for_32768 : VIRTQ_MAX_SIZE;

	/* 2.7: "Queue Size value is always a power of 2. The maximum Queue Size value is 32768." */
	if ((size & (size - 1)) != 0)
		return -EINVAL;
	/* 2.7 Table "Virtqueue Part Alignment": desc 16, avail 2, used 4. */
	if (!mem || !desc || !avail || !used || ((uintptr_t)desc & 15) != 0 ||
	    ((uintptr_t)avail & 1) != 0 || ((uintptr_t)used & 3) != 0)
		return -EINVAL;
	vq_clear(vq);
	vq->mem = mem;
	vq->desc = desc;
	vq->avail = avail;
	vq->used = used;
	vq->size = (uint16_t)size; /* 32768 fits: 0x8000 */
	vq->mask = (uint16_t)(size - 1);
	/* 5.1.6: num_buffers is present with VERSION_1 or MRG_RXBUF. */
	vq->hdr_len =
	    (features & (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF)))
		? VIRTIO_NET_HDR_LEN_MRG
		: VIRTIO_NET_HDR_LEN_LEGACY;
	vq->event_idx = (features & VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX)) != 0;
	vq->indirect = (features & VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC)) != 0;
	vq->mrg_rxbuf = (features & VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF)) != 0;
	/* We complete chains in order, in the burst that takes them. */
	vq->last_avail = base;
	vq->last_used = base;
	return 0;
}

void vq_reset(struct vq *vq)
{
	vq_clear(vq);
}

uint16_t vq_avail_count(struct vq *vq)
{
	if (vq->broken || !vq->avail)
		return 0;
	/* Pairs with the guest's store-release of avail->idx (2.7.13.3). */
	return (uint16_t)(rs_load_acquire(&vq->avail->idx) - vq->last_avail);
}

/* 2.7.6: used_event sits after the avail ring's 'size' entries. */
static vle16 *vq_used_event(struct vq *vq)
{
	return &vq->avail->ring[vq->size];
}

/* 2.7.8: avail_event sits after the used ring's 'size' entries. */
static vle16 *vq_avail_event(struct vq *vq)
{
	return (vle16 *)&vq->used->ring[vq->size];
}

bool vq_guest_wants_interrupt(struct vq *vq)
{
	if (!vq->avail)
		return false;
	uint16_t new_idx = vq->last_used;
	uint16_t old_idx = vq->signalled_used;
	bool valid = vq->signalled_valid;

	if (valid && new_idx == old_idx)
		return false; /* nothing published since the last decision */
	vq->signalled_used = new_idx;
	vq->signalled_valid = true;
	/*
	 * Orders our store-release of used->idx (vq_net.c) before the load of
	 * used_event / avail->flags; pairs with the guest's full barrier
	 * between writing used_event (or clearing NO_INTERRUPT) and re-reading
	 * used->idx (2.7.7.2, 2.7.10).
	 */
	rs_fence_full();
	bool want;
	if (vq->event_idx) {
		uint16_t ev = vle16_to_cpu(rs_load_relaxed(vq_used_event(vq)));
		want = !valid || virtq_need_event(ev, new_idx, old_idx);
	} else {
		uint16_t flags = vle16_to_cpu(rs_load_relaxed(&vq->avail->flags));
		want = !(flags & VIRTQ_AVAIL_F_NO_INTERRUPT);
	}
	if (want)
		rs_stat_add(&vq->stats.interrupts, 1);
	return want;
}

void vq_disable_kicks(struct vq *vq)
{
	if (!vq->used)
		return;
	/*
	 * With EVENT_IDX the guest kicks only when avail->idx passes
	 * avail_event; leaving avail_event behind while we poll suppresses
	 * kicks (2.7.10), so there is nothing to write.
	 */
	/* Read first: callers re-assert this often, and a store to the used ring's
	 * first line would pull it away from the guest for nothing. */
	if (!vq->event_idx &&
	    !(rs_load_relaxed(&vq->used->flags) & cpu_to_vle16(VIRTQ_USED_F_NO_NOTIFY))) {
		rs_store_relaxed(&vq->used->flags, cpu_to_vle16(VIRTQ_USED_F_NO_NOTIFY));
		vq_log_used(vq, &vq->used->flags, sizeof(vq->used->flags));
	}
}

bool vq_enable_kicks(struct vq *vq)
{
	if (!vq->used || vq->broken)
		return false;
	if (vq->event_idx) {
		rs_store_relaxed(vq_avail_event(vq), cpu_to_vle16(vq->last_avail));
		vq_log_used(vq, vq_avail_event(vq), sizeof(vle16));
	} else {
		rs_store_relaxed(&vq->used->flags, cpu_to_vle16(0));
		vq_log_used(vq, &vq->used->flags, sizeof(vq->used->flags));
	}
	/*
	 * Orders the store above before the re-read of avail->idx; pairs with
	 * the guest's full barrier between its store of avail->idx and its
	 * load of avail_event / used->flags (2.7.13.4). Without it, a chain
	 * published just before we slept would neither be seen nor kicked.
	 */
	rs_fence_full();
	return rs_load_acquire(&vq->avail->idx) != vq->last_avail;
}
