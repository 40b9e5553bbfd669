/*
 * virtio_spec.h - the wire structures shared with guests, as the virtio 1.2
 * specification defines them: split-ring descriptors, available and used
 * rings (section 2.7), the virtio-net header (section 5.1.6) and the feature
 * bits ringswitch negotiates. Fields are little-endian in guest memory; they
 * have their own types and are read through the vle*_to_cpu accessors.
 * Names follow the spec (virtq_*) so they never clash with <linux/virtio_*.h>.
 */
#ifndef RS_VIRTIO_SPEC_H
#define RS_VIRTIO_SPEC_H

#include <stdint.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "ringswitch assumes a little-endian host; add byte swaps to the vle accessors"
#endif

typedef uint16_t vle16;
typedef uint32_t vle32;
typedef uint64_t vle64;

static inline uint16_t vle16_to_cpu(vle16 v) { return v; }
static inline uint32_t vle32_to_cpu(vle32 v) { return v; }
static inline uint64_t vle64_to_cpu(vle64 v) { return v; }
static inline vle16 cpu_to_vle16(uint16_t v) { return v; }
static inline vle32 cpu_to_vle32(uint32_t v) { return v; }

/* 2.7.5 The Virtqueue Descriptor Table */
#define VIRTQ_DESC_F_NEXT     1
#define VIRTQ_DESC_F_WRITE    2
#define VIRTQ_DESC_F_INDIRECT 4

struct virtq_desc {
	vle64 addr;
	vle32 len;
	vle16 flags;
	vle16 next;
};

/* 2.7.6 The Virtqueue Available Ring; used_event follows ring[num]. */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
struct virtq_avail {
	vle16 flags;
	vle16 idx;
	vle16 ring[];
};

/* 2.7.8 The Virtqueue Used Ring; avail_event follows ring[num]. */
#define VIRTQ_USED_F_NO_NOTIFY 1
struct virtq_used_elem {
	vle32 id;
	vle32 len;
};
struct virtq_used {
	vle16 flags;
	vle16 idx;
	struct virtq_used_elem ring[];
};

/* 2.7: queue size is a power of 2, at most 32768, for split rings. */
#define VIRTQ_MAX_SIZE 32768

/* Bytes each ring part occupies for a queue of 'num' entries, event fields included. */
static inline uint64_t virtq_desc_bytes(uint32_t num) { return 16ull * num; }
static inline uint64_t virtq_avail_bytes(uint32_t num) { return 6ull + 2ull * num; }
static inline uint64_t virtq_used_bytes(uint32_t num) { return 6ull + 8ull * num; }

/* 2.7.7.2 / 2.7.10: the event-index test, with 16-bit wrap-around. */
static inline int virtq_need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event_idx - 1) < (uint16_t)(new_idx - old_idx);
}

/* 5.1.6 Device Operation: the virtio-net header. */
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_GSO_NONE     0
#define VIRTIO_NET_HDR_GSO_TCPV4    1
#define VIRTIO_NET_HDR_GSO_UDP      3
#define VIRTIO_NET_HDR_GSO_TCPV6    4
#define VIRTIO_NET_HDR_GSO_UDP_L4   5 /* USO: IPv4 and IPv6 UDP, each segment a datagram */
#define VIRTIO_NET_HDR_GSO_ECN      0x80

struct virtio_net_hdr {
	uint8_t flags;
	uint8_t gso_type;
	vle16 hdr_len;
	vle16 gso_size;
	vle16 csum_start;
	vle16 csum_offset;
	vle16 num_buffers; /* present with VERSION_1 or MRG_RXBUF */
};
#define VIRTIO_NET_HDR_LEN_LEGACY 10
#define VIRTIO_NET_HDR_LEN_MRG    12

/* Feature bits (6 Reserved Feature Bits; 5.1.3 virtio-net). */
#define VIRTIO_NET_F_CSUM               0
#define VIRTIO_NET_F_GUEST_CSUM         1
#define VIRTIO_NET_F_MTU                3
#define VIRTIO_NET_F_MAC                5
#define VIRTIO_NET_F_GUEST_TSO4         7
#define VIRTIO_NET_F_GUEST_TSO6         8
#define VIRTIO_NET_F_GUEST_ECN          9
#define VIRTIO_NET_F_GUEST_UFO          10
#define VIRTIO_NET_F_HOST_TSO4          11
#define VIRTIO_NET_F_HOST_TSO6          12
#define VIRTIO_NET_F_HOST_ECN           13
#define VIRTIO_NET_F_HOST_UFO           14
#define VIRTIO_NET_F_MRG_RXBUF          15
#define VIRTIO_NET_F_STATUS             16
#define VIRTIO_NET_F_CTRL_VQ            17
#define VIRTIO_NET_F_CTRL_RX            18
#define VIRTIO_NET_F_GUEST_ANNOUNCE     21
#define VIRTIO_NET_F_MQ                 22
#define VIRTIO_F_NOTIFY_ON_EMPTY        24
#define VHOST_F_LOG_ALL                 26 /* vhost-user "Migration": dirty page logging */
#define VIRTIO_F_ANY_LAYOUT             27
#define VIRTIO_RING_F_INDIRECT_DESC     28
#define VIRTIO_RING_F_EVENT_IDX         29
#define VHOST_USER_F_PROTOCOL_FEATURES  30
#define VIRTIO_F_VERSION_1              32
#define VIRTIO_F_ACCESS_PLATFORM        33
#define VIRTIO_F_RING_PACKED            34
#define VIRTIO_F_IN_ORDER               35
#define VIRTIO_NET_F_GUEST_USO4         54
#define VIRTIO_NET_F_GUEST_USO6         55
#define VIRTIO_NET_F_HOST_USO           56

#define VIRTIO_BIT(b) (1ull << (b))

#endif
