/*
 * vhost_mem.h - mapping the front-end's guest memory: each vhost-user memory
 * region arrives as (guest address, size, user address, mmap offset) plus an
 * fd; we fstat the fd, mmap the range MAP_SHARED and record the mapping in a
 * struct gmem (src/virtio/gmem.h), which the ring code translates through.
 *
 * Ownership: a struct gmem_region filled here owns its mapping (map_base,
 * map_len) and its fd; vhost_mem_unmap_region() releases both. Every function
 * leaves the caller's fd untouched when it fails, so the caller (the
 * dispatcher) closes it. Control thread only; a table that forwarding
 * threads may read must only be changed with its queues stopped.
 */
#ifndef RS_VHOST_MEM_H
#define RS_VHOST_MEM_H

#include "../virtio/gmem.h"
#include "vhost_user.h"

/*
 * Maps region 'r' from 'fd' into 'out'. Fails with -ENODEV when the fd is not
 * a regular file (memfd, tmpfs, hugetlbfs are), -EOVERFLOW when offset + size
 * wraps or does not fit the address space, -ERANGE when mmap_offset + size is
 * past the end of the file, -EINVAL for size 0, or mmap's errno. On success
 * 'out' owns 'fd'. A mmap_offset that is not page aligned is mapped from the
 * aligned-down offset (and 'out->host' points at the region's first byte).
 */
int vhost_mem_map_region(const struct vhost_user_mem_region *r, int fd, struct gmem_region *out);

/* Unmaps and closes what 'r' owns; safe on a zeroed region or with fd -1. */
void vhost_mem_unmap_region(struct gmem_region *r);

/* Unmaps every region of 'm' and empties it. */
void vhost_mem_clear(struct gmem *m);

/*
 * Fills the empty table 'm' from a SET_MEM_TABLE payload (already checked by
 * vhost_msg_check) and its fds. On success takes every fd (sets fds[i] to
 * -1). On failure 'm' is left empty, every mapping made is undone, the fds
 * are left to the caller, and '*bad' is the failing region's index.
 */
int vhost_mem_load_table(struct gmem *m, const struct vhost_user_mem_table *t, int *fds,
			 unsigned *bad);

/*
 * ADD_MEM_REG: maps and inserts one region; takes '*fd' (sets it to -1) on
 * success. A region equal to one already mapped only takes a reference (the
 * caller keeps and closes '*fd').
 */
int vhost_mem_add(struct gmem *m, const struct vhost_user_mem_region *r, int *fd);

/* REM_MEM_REG: drops a reference to the region matching (gpa, size, uva), unmapping it
 * with the last one; -ENOENT if none. */
int vhost_mem_remove(struct gmem *m, const struct vhost_user_mem_region *r);

/*
 * SET_LOG_BASE: maps the dirty log, mmap_size bytes at mmap_offset of 'fd',
 * checked like a memory region against the fd's real size (-ERANGE past its
 * end, -EOVERFLOW when the range wraps, -EINVAL for size 0). On success 'out'
 * (host = the log's first byte, size = its bytes) owns the mapping and 'fd';
 * release it with vhost_mem_unmap_region().
 */
int vhost_mem_map_log(const struct vhost_user_log *l, int fd, struct gmem_region *out);

/* Words for an error of the functions above, for the caller's log line. */
const char *vhost_mem_strerror(int err);

#endif
