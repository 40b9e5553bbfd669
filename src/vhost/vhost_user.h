/*
 * vhost_user.h - the vhost-user wire format (QEMU docs/interop/vhost-user.rst):
 * request codes, header flags, protocol feature bits and payload layouts.
 * Shared by the back-end (this layer) and the project's test front-end, so
 * both speak from one definition. Only structures and constants here; the
 * decoder that validates untrusted messages lives in vhost_msg.h.
 */
#ifndef RS_VHOST_USER_H
#define RS_VHOST_USER_H

#include <stdint.h>

/* Front-end requests ("Front-end message types"). */
enum vhost_user_request {
	VHOST_USER_NONE = 0,
	VHOST_USER_GET_FEATURES = 1,
	VHOST_USER_SET_FEATURES = 2,
	VHOST_USER_SET_OWNER = 3,
	VHOST_USER_RESET_OWNER = 4,
	VHOST_USER_SET_MEM_TABLE = 5,
	VHOST_USER_SET_LOG_BASE = 6,
	VHOST_USER_SET_LOG_FD = 7,
	VHOST_USER_SET_VRING_NUM = 8,
	VHOST_USER_SET_VRING_ADDR = 9,
	VHOST_USER_SET_VRING_BASE = 10,
	VHOST_USER_GET_VRING_BASE = 11,
	VHOST_USER_SET_VRING_KICK = 12,
	VHOST_USER_SET_VRING_CALL = 13,
	VHOST_USER_SET_VRING_ERR = 14,
	VHOST_USER_GET_PROTOCOL_FEATURES = 15,
	VHOST_USER_SET_PROTOCOL_FEATURES = 16,
	VHOST_USER_GET_QUEUE_NUM = 17,
	VHOST_USER_SET_VRING_ENABLE = 18,
	VHOST_USER_SEND_RARP = 19,
	VHOST_USER_NET_SET_MTU = 20,
	VHOST_USER_SET_BACKEND_REQ_FD = 21,
	VHOST_USER_IOTLB_MSG = 22,
	VHOST_USER_SET_VRING_ENDIAN = 23,
	VHOST_USER_GET_CONFIG = 24,
	VHOST_USER_SET_CONFIG = 25,
	VHOST_USER_GET_MAX_MEM_SLOTS = 36,
	VHOST_USER_ADD_MEM_REG = 37,
	VHOST_USER_REM_MEM_REG = 38,
	VHOST_USER_SET_STATUS = 39,
	VHOST_USER_GET_STATUS = 40,
	VHOST_USER_REQUEST_MAX = 41
};

/* Header flags: bits 0-1 version (always 1), bit 2 reply, bit 3 need-reply. */
#define VHOST_USER_VERSION_MASK	   0x3u
#define VHOST_USER_VERSION	   0x1u
#define VHOST_USER_FLAG_REPLY	   (1u << 2)
#define VHOST_USER_FLAG_NEED_REPLY (1u << 3)

/* Protocol features ("Protocol features"). */
#define VHOST_USER_PROTOCOL_F_MQ		  0
#define VHOST_USER_PROTOCOL_F_LOG_SHMFD		  1
#define VHOST_USER_PROTOCOL_F_RARP		  2
#define VHOST_USER_PROTOCOL_F_REPLY_ACK		  3
#define VHOST_USER_PROTOCOL_F_NET_MTU		  4
#define VHOST_USER_PROTOCOL_F_BACKEND_REQ	  5
#define VHOST_USER_PROTOCOL_F_CONFIG		  9
#define VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS 15
#define VHOST_USER_PROTOCOL_F_STATUS		  16

/* SET_VRING_KICK/CALL/ERR payload: low byte is the index, bit 8 "no fd". */
#define VHOST_USER_VRING_IDX_MASK  0xffu
#define VHOST_USER_VRING_NOFD_MASK (1u << 8)

/* At most this many regions (and fds) in one SET_MEM_TABLE. */
#define VHOST_MEMORY_BASELINE_NREGIONS 8
/* Largest payload we accept; everything we understand is far smaller. */
#define VHOST_USER_PAYLOAD_MAX 4096
#define VHOST_USER_MAX_FDS     8

struct vhost_user_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size; /* payload bytes that follow */
} __attribute__((packed));

struct vhost_user_vring_state {
	uint32_t index;
	uint32_t num;
} __attribute__((packed));

#define VHOST_VRING_F_LOG 0
struct vhost_user_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc_user_addr;
	uint64_t used_user_addr;
	uint64_t avail_user_addr;
	uint64_t log_guest_addr;
} __attribute__((packed));

struct vhost_user_mem_region {
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;
	uint64_t mmap_offset;
} __attribute__((packed));

struct vhost_user_mem_table {
	uint32_t nregions;
	uint32_t padding;
	struct vhost_user_mem_region regions[VHOST_MEMORY_BASELINE_NREGIONS];
} __attribute__((packed));

/* SET_LOG_BASE payload ("Log description"): the dirty log lives in the fd
 * that comes with the message, mmap_size bytes from mmap_offset. */
struct vhost_user_log {
	uint64_t mmap_size;
	uint64_t mmap_offset;
} __attribute__((packed));

/* ADD_MEM_REG / REM_MEM_REG payload. */
struct vhost_user_single_region {
	uint64_t padding;
	struct vhost_user_mem_region region;
} __attribute__((packed));

struct vhost_user_msg {
	struct vhost_user_hdr hdr;
	union {
		uint64_t u64;
		struct vhost_user_vring_state state;
		struct vhost_user_vring_addr addr;
		struct vhost_user_mem_table mem;
		struct vhost_user_single_region mem_reg;
		struct vhost_user_log log;
		uint8_t raw[VHOST_USER_PAYLOAD_MAX];
	} payload;
} __attribute__((packed));

#endif
