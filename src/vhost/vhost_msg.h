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
#include <stddef.h>
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
	VHOST_MSG_E_VALUE,	    /* a value out of range (MTU, status, log size) */
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

/*
 * What a message stops before its handler runs, and re-evaluates after it
 * (vhost_dev.c's dispatcher does both, so no handler does either):
 *   NONE    nothing a ready queue uses changes;
 *   RING    the ring the message names (its vring field);
 *   DEVICE  every ring (features, memory table, dirty log, reset).
 */
enum vhost_msg_stop {
	VHOST_MSG_STOP_NONE = 0,
	VHOST_MSG_STOP_RING,
	VHOST_MSG_STOP_DEVICE,
};

/*
 * The protocol, declared once. Every request ringswitch implements is one
 * row; the row generates the validation table (vhost_msg.c), the handler
 * table (vhost_dev.c: the handler of row FOO is h_foo, named by the second
 * column, and its preparation p_bar, named by the third) and the tests' list
 * of requests. A request absent here is VHOST_MSG_E_UNKNOWN (IOTLB, ENDIAN,
 * CONFIG, ...). The dispatcher runs a row as: prepare (what can fail: map
 * the new memory table or log; the device is untouched when it does), stop
 * what the row stops, handle, re-evaluate readiness.
 *
 * Columns: X(REQUEST, handler, preparation, min size, max size, fd rule,
 *            min fds, max fds, vring field, protocol-feature gate,
 *            reply always owed, stops)
 * Sizes come from "Message types"/"Payload" in vhost-user.rst; gates follow
 * the "should be sent only when" clauses. GET_QUEUE_NUM is not gated because
 * the spec ties it to MQ being *queried* (we always offer it). SEND_RARP is
 * accepted without the RARP feature: QEMU sends it whenever it announces, and
 * a back-end that did not negotiate RARP simply injects nothing more than
 * one that did.
 */
#define VHOST_MSG_NA	    0, (uint16_t)sizeof(uint64_t)
#define VHOST_MSG_EXACT(s)  (uint16_t)(s), (uint16_t)(s)
#define VHOST_MSG_FDS(a, b) VHOST_MSG_FDS_RANGE, (a), (b)
#define VHOST_MSG_SZ_U64    sizeof(uint64_t)
#define VHOST_MSG_SZ_STATE  sizeof(struct vhost_user_vring_state)
#define VHOST_MSG_SZ_ADDR   sizeof(struct vhost_user_vring_addr)
#define VHOST_MSG_SZ_REGION sizeof(struct vhost_user_single_region)
#define VHOST_MSG_SZ_LOG    sizeof(struct vhost_user_log)
#define VHOST_MSG_SZ_MEMHDR (uint16_t)offsetof(struct vhost_user_mem_table, regions)
#define VHOST_MSG_SZ_MEMMAX (uint16_t)sizeof(struct vhost_user_mem_table)

/* clang-format off */
#define VHOST_MSG_LIST(X)                                                                          \
    X(GET_FEATURES, get_features, none, VHOST_MSG_NA, VHOST_MSG_FDS(0, 0), VHOST_MSG_VRING_NONE,   \
      VHOST_MSG_NO_GATE, true, VHOST_MSG_STOP_NONE)                                                \
    X(SET_FEATURES, set_features, none, VHOST_MSG_EXACT(VHOST_MSG_SZ_U64), VHOST_MSG_FDS(0, 0),    \
      VHOST_MSG_VRING_NONE, VHOST_MSG_NO_GATE, false, VHOST_MSG_STOP_DEVICE)                       \
    X(SET_OWNER, set_owner, none, VHOST_MSG_NA, VHOST_MSG_FDS(0, 0), VHOST_MSG_VRING_NONE,         \
      VHOST_MSG_NO_GATE, false, VHOST_MSG_STOP_NONE)                                               \
    X(RESET_OWNER, reset_owner, none, VHOST_MSG_NA, VHOST_MSG_FDS(0, 0), VHOST_MSG_VRING_NONE,     \
      VHOST_MSG_NO_GATE, false, VHOST_MSG_STOP_DEVICE)                                             \
    X(SET_MEM_TABLE, set_mem_table, map_table, VHOST_MSG_SZ_MEMHDR, VHOST_MSG_SZ_MEMMAX,           \
      VHOST_MSG_FDS_NREGIONS, 0, 0, VHOST_MSG_VRING_NONE, VHOST_MSG_NO_GATE, false,                \
      VHOST_MSG_STOP_DEVICE)                                                                       \
    /* "the back-end must reply with zero-sized payload" (QEMU 7.2 waits for it) */                \
    X(SET_LOG_BASE, set_log_base, map_log, VHOST_MSG_EXACT(VHOST_MSG_SZ_LOG), VHOST_MSG_FDS(1, 1), \
      VHOST_MSG_VRING_NONE, VHOST_USER_PROTOCOL_F_LOG_SHMFD, true, VHOST_MSG_STOP_DEVICE)          \
    X(SET_LOG_FD, set_log_fd, none, VHOST_MSG_NA, VHOST_MSG_FDS(1, 1), VHOST_MSG_VRING_NONE,       \
      VHOST_MSG_NO_GATE, false, VHOST_MSG_STOP_NONE)                                               \
    X(SET_VRING_NUM, set_vring_num, none, VHOST_MSG_EXACT(VHOST_MSG_SZ_STATE), VHOST_MSG_FDS(0, 0), \
      VHOST_MSG_VRING_STATE, VHOST_MSG_NO_GATE, false, VHOST_MSG_STOP_RING)                        \
    X(SET_VRING_ADDR, set_vring_addr, none, VHOST_MSG_EXACT(VHOST_MSG_SZ_ADDR), VHOST_MSG_FDS(0, 0), \
      VHOST_MSG_VRING_ADDR, VHOST_MSG_NO_GATE, false, VHOST_MSG_STOP_RING)                         \
    X(SET_VRING_BASE, set_vring_base, none, VHOST_MSG_EXACT(VHOST_MSG_SZ_STATE), VHOST_MSG_FDS(0, 0), \
      VHOST_MSG_VRING_STATE, VHOST_MSG_NO_GATE, false, VHOST_MSG_STOP_RING)                        \
    X(GET_VRING_BASE, get_vring_base, none, VHOST_MSG_EXACT(VHOST_MSG_SZ_STATE), VHOST_MSG_FDS(0, 0), \
      VHOST_MSG_VRING_STATE, VHOST_MSG_NO_GATE, true, VHOST_MSG_STOP_RING)                         \
    X(SET_VRING_KICK, set_vring_kick, none, VHOST_MSG_EXACT(VHOST_MSG_SZ_U64), VHOST_MSG_FDS_NOFD_BIT, \
      0, 1, VHOST_MSG_VRING_FILE, VHOST_MSG_NO_GATE, false, VHOST_MSG_STOP_RING)                   \
    X(SET_VRING_CALL, set_vring_call, none, VHOST_MSG_EXACT(VHOST_MSG_SZ_U64), VHOST_MSG_FDS_NOFD_BIT, \
      0, 1, VHOST_MSG_VRING_FILE, VHOST_MSG_NO_GATE, false, VHOST_MSG_STOP_RING)                   \
    /* The ring's forwarding thread signals the error fd when the ring breaks. */                  \
    X(SET_VRING_ERR, set_vring_err, none, VHOST_MSG_EXACT(VHOST_MSG_SZ_U64), VHOST_MSG_FDS_NOFD_BIT, \
      0, 1, VHOST_MSG_VRING_FILE, VHOST_MSG_NO_GATE, false, VHOST_MSG_STOP_RING)                   \
    X(GET_PROTOCOL_FEATURES, get_protocol_features, none, VHOST_MSG_NA, VHOST_MSG_FDS(0, 0),       \
      VHOST_MSG_VRING_NONE, VHOST_MSG_NO_GATE, true, VHOST_MSG_STOP_NONE)                          \
    X(SET_PROTOCOL_FEATURES, set_protocol_features, none, VHOST_MSG_EXACT(VHOST_MSG_SZ_U64),       \
      VHOST_MSG_FDS(0, 0), VHOST_MSG_VRING_NONE, VHOST_MSG_NO_GATE, false, VHOST_MSG_STOP_NONE)    \
    X(GET_QUEUE_NUM, get_queue_num, none, VHOST_MSG_NA, VHOST_MSG_FDS(0, 0), VHOST_MSG_VRING_NONE, \
      VHOST_MSG_NO_GATE, true, VHOST_MSG_STOP_NONE)                                                \
    X(SET_VRING_ENABLE, set_vring_enable, none, VHOST_MSG_EXACT(VHOST_MSG_SZ_STATE),               \
      VHOST_MSG_FDS(0, 0), VHOST_MSG_VRING_STATE, VHOST_MSG_NO_GATE, false, VHOST_MSG_STOP_RING)   \
    X(SEND_RARP, send_rarp, none, VHOST_MSG_EXACT(VHOST_MSG_SZ_U64), VHOST_MSG_FDS(0, 0),          \
      VHOST_MSG_VRING_NONE, VHOST_MSG_NO_GATE, false, VHOST_MSG_STOP_NONE)                         \
    X(NET_SET_MTU, net_set_mtu, none, VHOST_MSG_EXACT(VHOST_MSG_SZ_U64), VHOST_MSG_FDS(0, 0),      \
      VHOST_MSG_VRING_NONE, VHOST_USER_PROTOCOL_F_NET_MTU, false, VHOST_MSG_STOP_NONE)             \
    X(SET_BACKEND_REQ_FD, set_backend_req_fd, none, VHOST_MSG_NA, VHOST_MSG_FDS(1, 1),             \
      VHOST_MSG_VRING_NONE, VHOST_USER_PROTOCOL_F_BACKEND_REQ, false, VHOST_MSG_STOP_NONE)         \
    X(GET_MAX_MEM_SLOTS, get_max_mem_slots, none, VHOST_MSG_NA, VHOST_MSG_FDS(0, 0),               \
      VHOST_MSG_VRING_NONE, VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS, true, VHOST_MSG_STOP_NONE)  \
    X(ADD_MEM_REG, add_mem_reg, none, VHOST_MSG_EXACT(VHOST_MSG_SZ_REGION), VHOST_MSG_FDS(1, 1),   \
      VHOST_MSG_VRING_NONE, VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS, false,                      \
      VHOST_MSG_STOP_DEVICE)                                                                       \
    /* "the back-end MAY accept messages with one file descriptor ... MUST close it" */            \
    X(REM_MEM_REG, rem_mem_reg, none, VHOST_MSG_EXACT(VHOST_MSG_SZ_REGION), VHOST_MSG_FDS(0, 1),   \
      VHOST_MSG_VRING_NONE, VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS, false,                      \
      VHOST_MSG_STOP_DEVICE)                                                                       \
    X(SET_STATUS, set_status, none, VHOST_MSG_EXACT(VHOST_MSG_SZ_U64), VHOST_MSG_FDS(0, 0),        \
      VHOST_MSG_VRING_NONE, VHOST_USER_PROTOCOL_F_STATUS, false, VHOST_MSG_STOP_NONE)              \
    X(GET_STATUS, get_status, none, VHOST_MSG_NA, VHOST_MSG_FDS(0, 0), VHOST_MSG_VRING_NONE,       \
      VHOST_USER_PROTOCOL_F_STATUS, true, VHOST_MSG_STOP_NONE)
/* clang-format on */

/* The request codes of VHOST_MSG_LIST, for tests: a list built from the one declaration. */
#define VHOST_MSG_REQUEST_CODE(req, ...) VHOST_USER_##req,
/* How many requests ringswitch implements. */
#define VHOST_MSG_COUNT_ONE(req, ...) +1
enum { VHOST_MSG_NR_REQUESTS = 0 VHOST_MSG_LIST(VHOST_MSG_COUNT_ONE) };

/* The largest dirty log accepted: one bit per 4 KiB page of 128 TiB. */
#define VHOST_MSG_LOG_MAX (1ull << 32)

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
	uint8_t stops;	    /* enum vhost_msg_stop */
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
