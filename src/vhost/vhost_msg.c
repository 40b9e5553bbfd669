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

/*
 * The validation table, generated from VHOST_MSG_LIST: one entry per row,
 * indexed by request code.
 */
#define VHOST_MSG_ENTRY(req, fn, prep, ...)                                                        \
	[VHOST_USER_##req] = {#req, VHOST_USER_##req, __VA_ARGS__},
static const struct vhost_msg_desc msg_table[VHOST_USER_REQUEST_MAX] = {
    VHOST_MSG_LIST(VHOST_MSG_ENTRY)};
#undef VHOST_MSG_ENTRY

/*
 * Static checks on every row: the request code fits the table, sizes fit the
 * payload buffer, fd counts fit what the socket layer receives, and a message
 * that stops "its ring" names one (DPDK's message table checks its lock rules
 * the same way).
 */
/* The indirection expands the row's column macros (VHOST_MSG_NA, ...) before they are counted. */
#define VHOST_MSG_ROW_CHECK(req, fn, prep, ...) VHOST_MSG_ROW_CHECK_(req, __VA_ARGS__)
#define VHOST_MSG_ROW_CHECK_(req, min, max, fdrule, minfds, maxfds, vring, gate, reply, stop)      \
	_Static_assert(VHOST_USER_##req < VHOST_USER_REQUEST_MAX, #req ": code past the table");   \
	_Static_assert((min) <= (max) && (max) <= VHOST_USER_PAYLOAD_MAX, #req ": sizes");         \
	_Static_assert((minfds) <= (maxfds) && (maxfds) <= VHOST_USER_MAX_FDS, #req ": fds");      \
	_Static_assert((stop) != VHOST_MSG_STOP_RING || (vring) != VHOST_MSG_VRING_NONE,           \
		       #req ": stops a ring it does not name");
VHOST_MSG_LIST(VHOST_MSG_ROW_CHECK)
#undef VHOST_MSG_ROW_CHECK
#undef VHOST_MSG_ROW_CHECK_

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

/*
 * SET_LOG_BASE ("Log description"): a non-empty log whose range in the fd
 * does not wrap, and at most VHOST_MSG_LOG_MAX bytes (one bit per 4 KiB page
 * covers 128 TiB of guest memory). Whether the range lies inside the fd is
 * checked against the fd's real size when it is mapped (DPDK's
 * CVE-2020-10722 trusted mmap_size).
 */
static enum vhost_msg_err check_log(const struct vhost_user_log *l)
{
	if (l->mmap_size == 0 || l->mmap_size > VHOST_MSG_LOG_MAX)
		return VHOST_MSG_E_VALUE;
	if (range_wraps(l->mmap_offset, l->mmap_size))
		return VHOST_MSG_E_REGION;
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
	case VHOST_USER_SET_LOG_BASE:
		return check_log(&msg->payload.log);
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
	if (msg->hdr.size < VHOST_MSG_SZ_MEMHDR + n * sizeof(struct vhost_user_mem_region))
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
