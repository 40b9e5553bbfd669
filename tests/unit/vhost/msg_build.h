/*
 * msg_build.h - builders for vhost-user messages used by the vhost unit
 * tests: a zeroed message with version 1 flags and the payload the request
 * carries, so each test reads as the sequence a front-end would send.
 */
#ifndef RS_TEST_VHOST_MSG_BUILD_H
#define RS_TEST_VHOST_MSG_BUILD_H

#include <string.h>

#include "vhost/vhost_user.h"

static inline void mb_init(struct vhost_user_msg *m, uint32_t req, uint32_t size)
{
	memset(m, 0, sizeof(*m));
	m->hdr.request = req;
	m->hdr.flags = VHOST_USER_VERSION;
	m->hdr.size = size;
}

static inline void mb_u64(struct vhost_user_msg *m, uint32_t req, uint64_t v)
{
	mb_init(m, req, sizeof(uint64_t));
	m->payload.u64 = v;
}

static inline void mb_state(struct vhost_user_msg *m, uint32_t req, uint32_t idx, uint32_t num)
{
	mb_init(m, req, sizeof(m->payload.state));
	m->payload.state.index = idx;
	m->payload.state.num = num;
}

static inline void mb_addr(struct vhost_user_msg *m, uint32_t idx, uint64_t desc, uint64_t avail,
			   uint64_t used)
{
	mb_init(m, VHOST_USER_SET_VRING_ADDR, sizeof(m->payload.addr));
	m->payload.addr.index = idx;
	m->payload.addr.desc_user_addr = desc;
	m->payload.addr.avail_user_addr = avail;
	m->payload.addr.used_user_addr = used;
}

static inline struct vhost_user_mem_region mb_region(uint64_t gpa, uint64_t size, uint64_t uva,
						     uint64_t off)
{
	struct vhost_user_mem_region r = {gpa, size, uva, off};
	return r;
}

/* SET_MEM_TABLE sized as QEMU sends it: header plus 'n' regions. */
static inline void mb_mem_table(struct vhost_user_msg *m, uint32_t n,
				const struct vhost_user_mem_region *regs)
{
	mb_init(m, VHOST_USER_SET_MEM_TABLE, 8 + n * (uint32_t)sizeof(*regs));
	m->payload.mem.nregions = n;
	for (uint32_t i = 0; i < n && i < VHOST_MEMORY_BASELINE_NREGIONS; i++)
		m->payload.mem.regions[i] = regs[i];
}

static inline void mb_single_region(struct vhost_user_msg *m, uint32_t req,
				    struct vhost_user_mem_region r)
{
	mb_init(m, req, sizeof(m->payload.mem_reg));
	m->payload.mem_reg.region = r;
}

#endif
