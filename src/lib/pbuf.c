/*
 * pbuf.c - creation and teardown of packet-buffer pools. All buffers of a pool
 * live in one cache-line aligned allocation made at start; the fast-path
 * alloc/free are inline in pbuf.h.
 */
#include "pbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"

int pbuf_pool_init(struct pbuf_pool *pool, uint32_t count, uint32_t data_room)
{
	memset(pool, 0, sizeof(*pool));
	if (count == 0 || data_room == 0)
		return -EINVAL;
	size_t stride = sizeof(struct pbuf) + PBUF_HEADROOM + data_room;
	stride = (stride + RS_CACHE_LINE - 1) & ~(size_t)(RS_CACHE_LINE - 1);
	pool->mem = aligned_alloc(RS_CACHE_LINE, stride * count);
	pool->free = calloc(count, sizeof(*pool->free));
	if (!pool->mem || !pool->free) {
		free(pool->mem);
		free(pool->free);
		memset(pool, 0, sizeof(*pool));
		return -ENOMEM;
	}
	pool->count = count;
	pool->data_room = data_room;
	pool->stride = stride;
	for (uint32_t i = 0; i < count; i++) {
		pool->free[i] = (struct pbuf *)(pool->mem + (size_t)i * stride);
		pool->free[i]->owner = pool;
	}
	pool->nfree = count;
	return 0;
}

void pbuf_pool_fini(struct pbuf_pool *pool)
{
	free(pool->mem);
	free(pool->free);
	memset(pool, 0, sizeof(*pool));
}
