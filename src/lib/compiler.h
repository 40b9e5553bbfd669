/*
 * compiler.h - small compiler helpers shared by every layer: branch hints,
 * cache-line alignment, and the memory-ordering primitives used on rings that
 * are shared with guests. Every acquire/release in the tree goes through
 * these names so that the pairing can be read from the call sites.
 */
#ifndef RS_LIB_COMPILER_H
#define RS_LIB_COMPILER_H

#include <stdint.h>

#define RS_LIKELY(x)   __builtin_expect(!!(x), 1)
#define RS_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define RS_CACHE_LINE  64
#define RS_CACHE_ALIGN __attribute__((aligned(RS_CACHE_LINE)))
#define RS_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define RS_UNUSED      __attribute__((unused))
#define RS_PRINTF(a, b) __attribute__((format(printf, a, b)))

#define RS_MIN(a, b) ((a) < (b) ? (a) : (b))
#define RS_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Loads and stores of memory another party (guest, other thread) writes. */
#define rs_load_acquire(p)     __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define rs_load_relaxed(p)     __atomic_load_n((p), __ATOMIC_RELAXED)
#define rs_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define rs_store_relaxed(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define rs_fence_full()        __atomic_thread_fence(__ATOMIC_SEQ_CST)

/*
 * Single-writer statistics counter: only the owning thread adds, any thread
 * may read. Relaxed atomics keep readers tear-free and the sanitizers quiet
 * without a locked instruction on the fast path.
 */
static inline void rs_stat_add(uint64_t *c, uint64_t n)
{
	rs_store_relaxed(c, rs_load_relaxed(c) + n);
}

static inline uint64_t rs_stat_get(const uint64_t *c)
{
	return rs_load_relaxed(c);
}

#endif
