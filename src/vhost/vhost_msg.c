/*
 * vhost_msg.c - the vhost-user request table and the pure validator of
 * untrusted front-end messages. Owns: which requests exist for ringswitch,
 * their fd counts, payload sizes and reply rules, and every content rule that
 * can be decided without device state other than struct vhost_msg_ctx.
 * Spec: QEMU docs/interop/vhost-user.rst; virtio 1.2 section 2.7 for rings.
 */
#include "vhost_msg.h"

#include <stddef.h>

#include "../lib/compiler.h"
#include "../virtio/virtio_spec.h"

/* Payload sizes ("Message types"/"Payload" in vhost-user.rst). */
#define SZ_U64	  ((uint16_t)sizeof(uint64_t))
#define SZ_STATE  ((uint16_t)sizeof(struct vhost_user_vring_state))
#define SZ_ADDR	  ((uint16_t)sizeof(struct vhost_user_vring_addr))
#define SZ_REGION ((uint16_t)sizeof(struct vhost_user_single_region))
#define SZ_MEMHDR ((uint16_t)offsetof(struct vhost_user_mem_table, regions))
#define SZ_MEMMAX ((uint16_t)sizeof(struct vhost_user_mem_table))
/*
 * "request payload: N/A": QEMU sends size 0. Up to one u64 is tolerated (and
 * ignored) because some front-ends send a zeroed u64; anything longer is a
 * framing mistake worth reporting.
 */
#define SZ_NA_MAX SZ_U64

#define NA	  0, SZ_NA_MAX
#define EXACT(s)  (s), (s)
#define FDS(a, b) VHOST_MSG_FDS_RANGE, (a), (b)
#define NOGATE	  VHOST_MSG_NO_GATE

/* ENTRY(request, min size, max size, fd rule, min fds, max fds, vring field, gate, reply) */
#define ENTRY(req, ...) [VHOST_USER_##req] = {#req, VHOST_USER_##req, __VA_ARGS__}

/*
 * Every request we implement. Requests absent here (LOG_BASE/LOG_FD: we do
 * not offer LOG_SHMFD or VHOST_F_LOG_ALL; IOTLB, ENDIAN, CONFIG, ...) are
 * VHOST_MSG_E_UNKNOWN. Gates follow the "should be sent only when" clauses;
 * GET_QUEUE_NUM is not gated because the spec ties it to MQ being *queried*
 * (we always offer it), and SEND_RARP is accepted without RARP because it
 * has no effect yet.
 */
static const struct vhost_msg_desc msg_table[VHOST_USER_REQUEST_MAX] = {
    ENTRY(GET_FEATURES, NA, FDS(0, 0), VHOST_MSG_VRING_NONE, NOGATE, true),
    ENTRY(SET_FEATURES, EXACT(SZ_U64), FDS(0, 0), VHOST_MSG_VRING_NONE, NOGATE, false),
    ENTRY(SET_OWNER, NA, FDS(0, 0), VHOST_MSG_VRING_NONE, NOGATE, false),
    ENTRY(RESET_OWNER, NA, FDS(0, 0), VHOST_MSG_VRING_NONE, NOGATE, false),
    ENTRY(SET_MEM_TABLE, SZ_MEMHDR, SZ_MEMMAX, VHOST_MSG_FDS_NREGIONS, 0, 0, VHOST_MSG_VRING_NONE,
	  NOGATE, false),
    ENTRY(SET_VRING_NUM, EXACT(SZ_STATE), FDS(0, 0), VHOST_MSG_VRING_STATE, NOGATE, false),
    ENTRY(SET_VRING_ADDR, EXACT(SZ_ADDR), FDS(0, 0), VHOST_MSG_VRING_ADDR, NOGATE, false),
    ENTRY(SET_VRING_BASE, EXACT(SZ_STATE), FDS(0, 0), VHOST_MSG_VRING_STATE, NOGATE, false),
    ENTRY(GET_VRING_BASE, EXACT(SZ_STATE), FDS(0, 0), VHOST_MSG_VRING_STATE, NOGATE, true),
    ENTRY(SET_VRING_KICK, EXACT(SZ_U64), VHOST_MSG_FDS_NOFD_BIT, 0, 1, VHOST_MSG_VRING_FILE, NOGATE,
	  false),
    ENTRY(SET_VRING_CALL, EXACT(SZ_U64), VHOST_MSG_FDS_NOFD_BIT, 0, 1, VHOST_MSG_VRING_FILE, NOGATE,
	  false),
    ENTRY(SET_VRING_ERR, EXACT(SZ_U64), VHOST_MSG_FDS_NOFD_BIT, 0, 1, VHOST_MSG_VRING_FILE, NOGATE,
	  false),
    ENTRY(GET_PROTOCOL_FEATURES, NA, FDS(0, 0), VHOST_MSG_VRING_NONE, NOGATE, true),
    ENTRY(SET_PROTOCOL_FEATURES, EXACT(SZ_U64), FDS(0, 0), VHOST_MSG_VRING_NONE, NOGATE, false),
    ENTRY(GET_QUEUE_NUM, NA, FDS(0, 0), VHOST_MSG_VRING_NONE, NOGATE, true),
    ENTRY(SET_VRING_ENABLE, EXACT(SZ_STATE), FDS(0, 0), VHOST_MSG_VRING_STATE, NOGATE, false),
    ENTRY(SEND_RARP, EXACT(SZ_U64), FDS(0, 0), VHOST_MSG_VRING_NONE, NOGATE, false),
    ENTRY(NET_SET_MTU, EXACT(SZ_U64), FDS(0, 0), VHOST_MSG_VRING_NONE,
	  VHOST_USER_PROTOCOL_F_NET_MTU, false),
    ENTRY(SET_BACKEND_REQ_FD, NA, FDS(1, 1), VHOST_MSG_VRING_NONE,
	  VHOST_USER_PROTOCOL_F_BACKEND_REQ, false),
    ENTRY(GET_MAX_MEM_SLOTS, NA, FDS(0, 0), VHOST_MSG_VRING_NONE,
	  VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS, true),
    ENTRY(ADD_MEM_REG, EXACT(SZ_REGION), FDS(1, 1), VHOST_MSG_VRING_NONE,
	  VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS, false),
    /* "the back-end MAY accept messages with one file descriptor ... MUST close it" */
    ENTRY(REM_MEM_REG, EXACT(SZ_REGION), FDS(0, 1), VHOST_MSG_VRING_NONE,
	  VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS, false),
    ENTRY(SET_STATUS, EXACT(SZ_U64), FDS(0, 0), VHOST_MSG_VRING_NONE, VHOST_USER_PROTOCOL_F_STATUS,
	  false),
    ENTRY(GET_STATUS, NA, FDS(0, 0), VHOST_MSG_VRING_NONE, VHOST_USER_PROTOCOL_F_STATUS, true),
};

static const char *const err_names[VHOST_MSG_E_COUNT] = {
    [VHOST_MSG_OK] = "ok",
    [VHOST_MSG_E_UNKNOWN] = "unknown or unsupported request",
    [VHOST_MSG_E_VERSION] = "bad version in flags (must be 1)",
    [VHOST_MSG_E_REPLY_FLAG] = "REPLY flag set on a request",
    [VHOST_MSG_E_SIZE_SMALL] = "payload too small for the request",
    [VHOST_MSG_E_SIZE_LARGE] = "payload too large for the request",
    [VHOST_MSG_E_NFDS] = "wrong number of fds for the request",
    [VHOST_MSG_E_NOT_NEGOTIATED] = "protocol feature for the request not negotiated",
    [VHOST_MSG_E_VRING_IDX] = "vring index out of range",
    [VHOST_MSG_E_VRING_NUM] = "vring size not a power of 2 in 1..32768",
    [VHOST_MSG_E_VRING_BASE] = "vring base above 0xffff",
    [VHOST_MSG_E_VRING_FLAGS] = "unknown vring address flags",
    [VHOST_MSG_E_VRING_ENABLE] = "vring enable value not 0 or 1",
    [VHOST_MSG_E_NREGIONS] = "memory table with 0 or more than 8 regions",
    [VHOST_MSG_E_REGION] = "memory region empty or wrapping around",
    [VHOST_MSG_E_OVERLAP] = "memory regions overlap",
    [VHOST_MSG_E_VALUE] = "value out of range",
};

const struct vhost_msg_desc *vhost_msg_desc(uint32_t request)
{
	if (request >= VHOST_USER_REQUEST_MAX || msg_table[request].name == NULL)
		return NULL;
	return &msg_table[request];
}

const char *vhost_msg_name(uint32_t request)
{
	const struct vhost_msg_desc *d = vhost_msg_desc(request);

	return d ? d->name : "unknown";
}

const char *vhost_msg_strerror(enum vhost_msg_err err)
{
	if ((unsigned)err >= VHOST_MSG_E_COUNT)
		return "invalid error";
	return err_names[err];
}

bool vhost_msg_reply_owed(const struct vhost_user_msg *msg)
{
	const struct vhost_msg_desc *d = vhost_msg_desc(msg->hdr.request);

	return (msg->hdr.flags & VHOST_USER_FLAG_NEED_REPLY) || (d && d->reply);
}

int vhost_msg_vring_index(const struct vhost_user_msg *msg)
{
	const struct vhost_msg_desc *d = vhost_msg_desc(msg->hdr.request);

	if (d == NULL)
		return -1;
	switch (d->vring) {
	case VHOST_MSG_VRING_STATE:
		return (int)(msg->payload.state.index & 0x7fffffff);
	case VHOST_MSG_VRING_ADDR:
		return (int)(msg->payload.addr.index & 0x7fffffff);
	case VHOST_MSG_VRING_FILE:
		return (int)(msg->payload.u64 & VHOST_USER_VRING_IDX_MASK);
	default:
		return -1;
	}
}

static enum vhost_msg_err check_nfds(const struct vhost_msg_desc *d,
				     const struct vhost_user_msg *msg, unsigned nfds)
{
	unsigned lo = d->min_fds, hi = d->max_fds;

	if (d->fds == VHOST_MSG_FDS_NOFD_BIT) {
		/* SET_VRING_KICK/CALL/ERR: "This flag is set when there is no file descriptor" */
		lo = hi = (msg->payload.u64 & VHOST_USER_VRING_NOFD_MASK) ? 0 : 1;
	} else if (d->fds == VHOST_MSG_FDS_NREGIONS) {
		/* SET_MEM_TABLE: "The size and ordering of the fds matches the number ... of
		 * regions" */
		lo = hi = msg->payload.mem.nregions;
	}
	return (nfds < lo || nfds > hi) ? VHOST_MSG_E_NFDS : VHOST_MSG_OK;
}

static bool range_wraps(uint64_t start, uint64_t len)
{
	return start + len < start || start + len == 0;
}

/* One region: non-empty, and none of its three ranges wraps the 64-bit space. */
static enum vhost_msg_err check_region(const struct vhost_user_mem_region *r)
{
	if (r->memory_size == 0 || range_wraps(r->guest_phys_addr, r->memory_size) ||
	    range_wraps(r->userspace_addr, r->memory_size) ||
	    range_wraps(r->mmap_offset, r->memory_size))
		return VHOST_MSG_E_REGION;
	return VHOST_MSG_OK;
}

static bool ranges_overlap(uint64_t a, uint64_t b, uint64_t len_a, uint64_t len_b)
{
	return a < b + len_b && b < a + len_a;
}

static enum vhost_msg_err check_mem_table(const struct vhost_user_mem_table *t)
{
	for (uint32_t i = 0; i < t->nregions; i++) {
		const struct vhost_user_mem_region *a = &t->regions[i];
		enum vhost_msg_err e = check_region(a);

		if (e != VHOST_MSG_OK)
			return e;
		for (uint32_t j = 0; j < i; j++) {
			const struct vhost_user_mem_region *b = &t->regions[j];

			if (ranges_overlap(a->guest_phys_addr, b->guest_phys_addr, a->memory_size,
					   b->memory_size) ||
			    ranges_overlap(a->userspace_addr, b->userspace_addr, a->memory_size,
					   b->memory_size))
				return VHOST_MSG_E_OVERLAP;
		}
	}
	return VHOST_MSG_OK;
}

/* The vring index and per-ring values (virtio 1.2 section 2.7). */
static enum vhost_msg_err check_vring(const struct vhost_msg_desc *d,
				      const struct vhost_user_msg *msg,
				      const struct vhost_msg_ctx *ctx)
{
	uint32_t idx;

	if (d->vring == VHOST_MSG_VRING_STATE)
		idx = msg->payload.state.index;
	else if (d->vring == VHOST_MSG_VRING_ADDR)
		idx = msg->payload.addr.index;
	else
		idx = (uint32_t)(msg->payload.u64 & VHOST_USER_VRING_IDX_MASK);
	if (idx >= ctx->nr_queues)
		return VHOST_MSG_E_VRING_IDX;

	uint32_t num = msg->payload.state.num;
	switch (msg->hdr.request) {
	case VHOST_USER_SET_VRING_NUM:
		/* 2.7: "Queue Size value is always a power of 2. The maximum ... is 32768" */
		if (num == 0 || num > VIRTQ_MAX_SIZE || (num & (num - 1)) != 0)
			return VHOST_MSG_E_VRING_NUM;
		break;
	case VHOST_USER_SET_VRING_BASE:
		/* Split rings only: the base is a 16-bit avail index. */
		if (num > UINT16_MAX)
			return VHOST_MSG_E_VRING_BASE;
		break;
	case VHOST_USER_SET_VRING_ENABLE:
		if (num > 1)
			return VHOST_MSG_E_VRING_ENABLE;
		break;
	case VHOST_USER_SET_VRING_ADDR:
		if (msg->payload.addr.flags & ~(1u << VHOST_VRING_F_LOG))
			return VHOST_MSG_E_VRING_FLAGS;
		break;
	default:
		break;
	}
	return VHOST_MSG_OK;
}

static enum vhost_msg_err check_content(const struct vhost_msg_desc *d,
					const struct vhost_user_msg *msg,
					const struct vhost_msg_ctx *ctx)
{
	if (d->vring != VHOST_MSG_VRING_NONE)
		return check_vring(d, msg, ctx);

	switch (msg->hdr.request) {
	case VHOST_USER_SET_MEM_TABLE:
		return check_mem_table(&msg->payload.mem);
	case VHOST_USER_ADD_MEM_REG:
	case VHOST_USER_REM_MEM_REG:
		return check_region(&msg->payload.mem_reg.region);
	case VHOST_USER_NET_SET_MTU:
		/* 5.1.4.1: "The device MUST NOT set mtu to a value below 68" */
		if (msg->payload.u64 < 68 || msg->payload.u64 > 65535)
			return VHOST_MSG_E_VALUE;
		return VHOST_MSG_OK;
	case VHOST_USER_SET_STATUS:
		/* 2.1 Device Status Field: an 8-bit value. */
		return msg->payload.u64 > 0xff ? VHOST_MSG_E_VALUE : VHOST_MSG_OK;
	default:
		return VHOST_MSG_OK;
	}
}

/* SET_MEM_TABLE: the size depends on nregions, checked before the fd count. */
static enum vhost_msg_err check_mem_table_size(const struct vhost_user_msg *msg)
{
	uint32_t n = msg->payload.mem.nregions;

	if (n == 0 || n > VHOST_MEMORY_BASELINE_NREGIONS)
		return VHOST_MSG_E_NREGIONS;
	if (msg->hdr.size < SZ_MEMHDR + n * sizeof(struct vhost_user_mem_region))
		return VHOST_MSG_E_SIZE_SMALL;
	return VHOST_MSG_OK;
}

enum vhost_msg_err vhost_msg_check(const struct vhost_user_msg *msg, unsigned nfds,
				   const struct vhost_msg_ctx *ctx)
{
	const struct vhost_msg_desc *d = vhost_msg_desc(msg->hdr.request);
	enum vhost_msg_err e;

	if (d == NULL)
		return VHOST_MSG_E_UNKNOWN;
	/* "Flags: ... the lower 2 bits store a version number (currently 0x1)" */
	if ((msg->hdr.flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION)
		return VHOST_MSG_E_VERSION;
	if (msg->hdr.flags & VHOST_USER_FLAG_REPLY)
		return VHOST_MSG_E_REPLY_FLAG;
	if (msg->hdr.size < d->min_size)
		return VHOST_MSG_E_SIZE_SMALL;
	if (msg->hdr.size > d->max_size)
		return VHOST_MSG_E_SIZE_LARGE;
	if (msg->hdr.request == VHOST_USER_SET_MEM_TABLE) {
		e = check_mem_table_size(msg);
		if (e != VHOST_MSG_OK)
			return e;
	}
	if (nfds > VHOST_USER_MAX_FDS)
		return VHOST_MSG_E_NFDS;
	e = check_nfds(d, msg, nfds);
	if (e != VHOST_MSG_OK)
		return e;
	if (d->proto_gate != VHOST_MSG_NO_GATE && !(ctx->proto_features & (1ull << d->proto_gate)))
		return VHOST_MSG_E_NOT_NEGOTIATED;
	return check_content(d, msg, ctx);
}
