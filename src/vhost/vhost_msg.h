/*
 * vhost_msg.h - pure decoding and validation of vhost-user front-end
 * messages (QEMU docs/interop/vhost-user.rst, "Front-end message types").
 *
 * One table declares every request ringswitch implements: its name, how many
 * fds it carries, its payload size, whether a reply is always owed, which
 * vring index field it has, and which protocol feature must have been
 * negotiated first. vhost_msg_check() applies the table plus the per-message
 * content rules and names exactly what is wrong. No syscalls and no state
 * beyond the caller's 'ctx': safe to fuzz, safe to call on any bytes.
 *
 * Ordering rules we deliberately do NOT impose: ring messages are accepted
 * before SET_FEATURES and before the memory table (QEMU sends
 * SET_VRING_NUM/BASE before the table on some paths; rings are translated
 * when the table arrives), and GET/SET_PROTOCOL_FEATURES are accepted before
 * SET_FEATURES as the spec requires ("must support this message even before
 * VHOST_USER_SET_FEATURES was called").
 */
#ifndef RS_VHOST_MSG_H
#define RS_VHOST_MSG_H

#include <stdbool.h>
#include <stdint.h>

#include "vhost_user.h"

/* What vhost_msg_check() found wrong; VHOST_MSG_OK (0) when nothing. */
enum vhost_msg_err {
	VHOST_MSG_OK = 0,
	VHOST_MSG_E_UNKNOWN,	    /* request code we do not implement */
	VHOST_MSG_E_VERSION,	    /* flags bits 0-1 are not version 1 */
	VHOST_MSG_E_REPLY_FLAG,	    /* a request carrying the REPLY flag */
	VHOST_MSG_E_SIZE_SMALL,	    /* payload shorter than the request needs */
	VHOST_MSG_E_SIZE_LARGE,	    /* payload longer than the request allows */
	VHOST_MSG_E_NFDS,	    /* wrong number of fds for the request */
	VHOST_MSG_E_NOT_NEGOTIATED, /* gated on a protocol feature not negotiated */
	VHOST_MSG_E_VRING_IDX,	    /* vring index >= the device's queue count */
	VHOST_MSG_E_VRING_NUM,	    /* queue size not a power of 2 in 1..32768 */
	VHOST_MSG_E_VRING_BASE,	    /* split-ring base above 0xffff */
	VHOST_MSG_E_VRING_FLAGS,    /* unknown SET_VRING_ADDR flags */
	VHOST_MSG_E_VRING_ENABLE,   /* SET_VRING_ENABLE num other than 0/1 */
	VHOST_MSG_E_NREGIONS,	    /* SET_MEM_TABLE nregions 0 or > 8 */
	VHOST_MSG_E_REGION,	    /* region of size 0 or wrapping gpa/uva/offset */
	VHOST_MSG_E_OVERLAP,	    /* two SET_MEM_TABLE regions overlap */
	VHOST_MSG_E_VALUE,	    /* a u64 value out of range (MTU, status) */
	VHOST_MSG_E_COUNT
};

/* Where a request carries its vring index. */
enum vhost_msg_vring {
	VHOST_MSG_VRING_NONE = 0,
	VHOST_MSG_VRING_STATE, /* struct vhost_user_vring_state .index */
	VHOST_MSG_VRING_ADDR,  /* struct vhost_user_vring_addr .index */
	VHOST_MSG_VRING_FILE,  /* u64: bits 0-7 index, bit 8 "no fd" */
};

/* How many fds a request carries. */
enum vhost_msg_fds {
	VHOST_MSG_FDS_RANGE = 0, /* min_fds .. max_fds */
	VHOST_MSG_FDS_NOFD_BIT,	 /* 0 with VHOST_USER_VRING_NOFD_MASK, else 1 */
	VHOST_MSG_FDS_NREGIONS,	 /* exactly mem.nregions */
};

#define VHOST_MSG_NO_GATE 0xff

struct vhost_msg_desc {
	const char *name;  /* "SET_MEM_TABLE" */
	uint32_t request;  /* also the handler id: vhost_dev.c indexes by it */
	uint16_t min_size; /* payload bytes */
	uint16_t max_size;
	uint8_t fds; /* enum vhost_msg_fds */
	uint8_t min_fds;
	uint8_t max_fds;
	uint8_t vring;	    /* enum vhost_msg_vring */
	uint8_t proto_gate; /* VHOST_USER_PROTOCOL_F_* that must be negotiated, or NO_GATE */
	bool reply;	    /* a reply is always owed (GET_*), NEED_REPLY or not */
};

/* Device state the checks depend on. */
struct vhost_msg_ctx {
	uint32_t nr_queues;	 /* vring indexes 0 .. nr_queues-1 are valid */
	uint64_t proto_features; /* negotiated protocol features */
};

/* The table entry for 'request', or NULL when we do not implement it. */
const struct vhost_msg_desc *vhost_msg_desc(uint32_t request);

/* "SET_MEM_TABLE", or "unknown" for requests without a table entry. */
const char *vhost_msg_name(uint32_t request);

/* Stable text for logs: "payload too small for the request", ... */
const char *vhost_msg_strerror(enum vhost_msg_err err);

/*
 * Validates a message as received: 'msg->hdr' and the first hdr.size bytes of
 * the payload ('msg' must hold a full struct vhost_user_msg), plus the number
 * of fds that arrived with it. Checks, in order: known request, version and
 * flags, payload size, fd count, protocol-feature gate, then the content
 * (vring index and values, memory regions). Returns the first failure.
 */
enum vhost_msg_err vhost_msg_check(const struct vhost_user_msg *msg, unsigned nfds,
				   const struct vhost_msg_ctx *ctx);

/*
 * True when the front-end waits for a reply: the request always has one
 * (GET_*), or it set NEED_REPLY (REPLY_ACK). Also answers for unknown
 * requests (NEED_REPLY only).
 */
bool vhost_msg_reply_owed(const struct vhost_user_msg *msg);

/* The vring index a request names (for logs), or -1 when it names none. */
int vhost_msg_vring_index(const struct vhost_user_msg *msg);

#endif
