/*
 * mac_learning.c - the MAC learning table (see mac_learning.h for the
 * concurrency design). Every access to keys[], vals[], n, aging and stats is
 * an __atomic operation; the comments at each acquire/release name the
 * access they pair with.
 */
#include "mac_learning.h"

#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/compiler.h"
#include "../net/flow_hash.h"

/* Key word: BUSY | VALID | vlan (12 bits) | mac (48 bits). 0 is an empty slot. */
#define ML_BUSY	      (1ull << 63)
#define ML_VALID      (1ull << 60)
#define ML_VLAN_SHIFT 48
#define ML_MAC_MASK   0xffffffffffffull
#define ML_MIN_SLOTS  (2 * ML_WINDOW)
#define ML_MAX_LIMIT  (1u << 28)
#define ML_READ_TRIES 4

/* Value word: last seen (32 bits) | port (16) | tag (16). */
static inline uint64_t ml_make_val(uint32_t now, uint16_t port, uint16_t tag)
{
	return (uint64_t)now << 32 | (uint32_t)port << 16 | tag;
}

static inline uint32_t ml_val_time(uint64_t v)
{
	return (uint32_t)(v >> 32);
}

static inline uint16_t ml_val_port(uint64_t v)
{
	return (uint16_t)(v >> 16);
}

static inline uint16_t ml_val_tag(uint64_t v)
{
	return (uint16_t)v;
}

static inline uint64_t ml_make_key(uint16_t vlan, const struct eth_addr *mac)
{
	uint64_t m = 0;
	for (int i = 0; i < 6; i++)
		m = m << 8 | mac->b[i];
	return ML_VALID | (uint64_t)vlan << ML_VLAN_SHIFT | m;
}

static inline uint16_t ml_key_vlan(uint64_t k)
{
	return (uint16_t)((k >> ML_VLAN_SHIFT) & ML_VLAN_MAX);
}

static void ml_key_mac(uint64_t k, struct eth_addr *mac)
{
	for (int i = 5; i >= 0; i--, k >>= 8)
		mac->b[i] = (uint8_t)k;
}

static inline uint32_t ml_hash(const struct ml_table *t, uint64_t key)
{
	return flow_hash_finish(flow_hash_add64(t->seed, key), 8);
}

/* The tag binds a value word to its key: a reader rejects a value with another key's tag. */
static inline uint16_t ml_tag(uint32_t h)
{
	return (uint16_t)(h >> 16);
}

/* Signed difference, so threads whose 'now' differ by a second agree. */
static inline int32_t ml_age(uint64_t v, uint32_t now)
{
	return (int32_t)(now - ml_val_time(v));
}

static inline bool ml_expired(const struct ml_table *t, uint64_t v, uint32_t now)
{
	return ml_age(v, now) > (int32_t)rs_load_relaxed(&t->aging);
}

static inline void ml_stat_inc(uint64_t *c)
{
	__atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

static inline uint32_t ml_slot(const struct ml_table *t, uint32_t h, unsigned i)
{
	return (h + i) & t->mask;
}

/*
 * Reads slot 's' when it holds 'key'. Returns 1 with the value in '*val', 0
 * when the slot holds something else, -1 when it stayed BUSY or kept changing.
 */
static int ml_read_slot(struct ml_table *t, uint32_t s, uint64_t key, uint64_t *val)
{
	for (int tries = 0; tries < ML_READ_TRIES; tries++) {
		/* Pairs with the release store that ends ml_write_slot() and ml_refresh(). */
		uint64_t k1 = rs_load_acquire(&t->keys[s]);
		if ((k1 & ~ML_BUSY) != key)
			return 0;
		if (k1 & ML_BUSY)
			continue;
		/*
		 * Pairs with the release store of the value in ml_write_slot() and
		 * ml_refresh(): if 'v' comes from a write after 'k1', that writer's
		 * BUSY store happens-before the load below, which then differs.
		 */
		uint64_t v = rs_load_acquire(&t->vals[s]);
		if (rs_load_relaxed(&t->keys[s]) == k1) {
			*val = v;
			return 1;
		}
	}
	return -1;
}

/*
 * Writes (key, val) into slot 's', which the caller owns: it holds the lock
 * and the slot is empty, or it moved the slot to BUSY with a CAS.
 */
static void ml_write_slot(struct ml_table *t, uint32_t s, uint64_t key, uint64_t val)
{
	rs_store_relaxed(&t->keys[s], ML_BUSY);
	/* Release: a reader that sees this value also sees BUSY (see ml_read_slot()). */
	rs_store_release(&t->vals[s], val);
	/* Publishes the value with the key; pairs with the acquire in ml_read_slot(). */
	rs_store_release(&t->keys[s], key);
}

/* Empties slot 's' if it still holds 'k' (not BUSY). Lock held. */
static bool ml_try_remove_locked(struct ml_table *t, uint32_t s, uint64_t k)
{
	if (!__atomic_compare_exchange_n(&t->keys[s], &k, 0, false, __ATOMIC_RELEASE,
					 __ATOMIC_RELAXED))
		return false;
	rs_store_relaxed(&t->n, rs_load_relaxed(&t->n) - 1);
	return true;
}

/* Existing entry: update time and port in place, lock-free. 'old' is the value read. */
static int ml_refresh(struct ml_table *t, uint32_t s, uint64_t key, uint64_t old, uint64_t val,
		      uint32_t now)
{
	if (ml_val_port(old) == ml_val_port(val) && ml_age(old, now) <= 0)
		return 0; /* already seen this second (or later, by a thread ahead of us) */

	uint64_t expect = key;
	/* Acquire: pairs with the release that ended the previous writer's turn. */
	if (!__atomic_compare_exchange_n(&t->keys[s], &expect, key | ML_BUSY, false,
					 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
		ml_stat_inc(&t->stats.contended);
		return -EBUSY;
	}
	old = rs_load_relaxed(&t->vals[s]);
	if (ml_val_port(old) != ml_val_port(val) && !ml_expired(t, old, now))
		ml_stat_inc(&t->stats.moves);
	rs_store_release(&t->vals[s], val); /* as in ml_write_slot() */
	rs_store_release(&t->keys[s], key);
	return 0;
}

/* Frees one entry because the table is at its limit: see "Size limit" in the header. */
static bool ml_evict_clock_locked(struct ml_table *t, uint32_t now)
{
	uint32_t best = 0, seen = 0;
	uint64_t best_key = 0;
	int32_t best_age = INT32_MIN;

	for (uint32_t scanned = 0; scanned <= t->mask && seen < ML_EVICT_SAMPLE; scanned++) {
		uint32_t s = t->hand;
		t->hand = (t->hand + 1) & t->mask;
		uint64_t k = rs_load_relaxed(&t->keys[s]);
		if (k == 0 || (k & ML_BUSY))
			continue;
		uint64_t v = rs_load_relaxed(&t->vals[s]);
		int32_t age = ml_expired(t, v, now) ? INT32_MAX : ml_age(v, now);
		seen++;
		if (age > best_age) {
			best = s;
			best_key = k;
			best_age = age;
		}
		if (age == INT32_MAX)
			break;
	}
	if (!best_key || !ml_try_remove_locked(t, best, best_key))
		return false;
	ml_stat_inc(&t->stats.evicted);
	return true;
}

/*
 * A slot for a new key in the window at 'h': an empty one, else the oldest
 * entry's, emptied. Returns the slot, or -1 when every entry was BUSY.
 */
static int ml_find_slot_locked(struct ml_table *t, uint32_t h, uint32_t now)
{
	int victim = -1;
	uint64_t victim_key = 0;
	int32_t victim_age = INT32_MIN;

	for (unsigned i = 0; i < ML_WINDOW; i++) {
		uint32_t s = ml_slot(t, h, i);
		uint64_t k = rs_load_relaxed(&t->keys[s]);
		if (k == 0)
			return (int)s;
		if (k & ML_BUSY)
			continue;
		int32_t age = ml_age(rs_load_relaxed(&t->vals[s]), now);
		if (age > victim_age) {
			victim = (int)s;
			victim_key = k;
			victim_age = age;
		}
	}
	if (victim < 0 || !ml_try_remove_locked(t, (uint32_t)victim, victim_key))
		return -1;
	ml_stat_inc(&t->stats.collisions);
	return victim;
}

static int ml_insert_locked(struct ml_table *t, uint64_t key, uint32_t h, uint64_t val,
			    uint32_t now)
{
	/* Another thread may have inserted it since our lock-free scan. */
	for (unsigned i = 0; i < ML_WINDOW; i++)
		if ((rs_load_relaxed(&t->keys[ml_slot(t, h, i)]) & ~ML_BUSY) == key)
			return 0;
	if (rs_load_relaxed(&t->n) >= t->limit && !ml_evict_clock_locked(t, now))
		return -EBUSY;
	int s = ml_find_slot_locked(t, h, now);
	if (s < 0)
		return -EBUSY;
	ml_write_slot(t, (uint32_t)s, key, val);
	rs_store_relaxed(&t->n, rs_load_relaxed(&t->n) + 1);
	ml_stat_inc(&t->stats.learned);
	return 0;
}

int ml_learn(struct ml_table *t, uint16_t vlan, const struct eth_addr *mac, uint16_t port,
	     uint32_t now)
{
	if (vlan > ML_VLAN_MAX || port > ML_PORT_MAX || (mac->b[0] & 1))
		return -EINVAL;

	uint64_t key = ml_make_key(vlan, mac);
	uint32_t h = ml_hash(t, key);
	uint64_t val = ml_make_val(now, port, ml_tag(h));
	for (unsigned i = 0; i < ML_WINDOW; i++) {
		uint32_t s = ml_slot(t, h, i);
		uint64_t old;
		int r = ml_read_slot(t, s, key, &old);
		if (r > 0)
			return ml_refresh(t, s, key, old, val, now);
		if (r < 0) {
			ml_stat_inc(&t->stats.contended);
			return -EBUSY;
		}
	}

	if (pthread_mutex_trylock(&t->lock) != 0) {
		ml_stat_inc(&t->stats.contended);
		return -EBUSY;
	}
	int rc = ml_insert_locked(t, key, h, val, now);
	pthread_mutex_unlock(&t->lock);
	if (rc < 0)
		ml_stat_inc(&t->stats.contended);
	return rc;
}

int ml_lookup(struct ml_table *t, uint16_t vlan, const struct eth_addr *mac, uint32_t now)
{
	if (vlan > ML_VLAN_MAX)
		return -1;

	uint64_t key = ml_make_key(vlan, mac);
	uint32_t h = ml_hash(t, key);
	for (unsigned i = 0; i < ML_WINDOW; i++) {
		uint64_t v;
		int r = ml_read_slot(t, ml_slot(t, h, i), key, &v);
		if (r == 0)
			continue;
		if (r < 0 || ml_val_tag(v) != ml_tag(h) || ml_expired(t, v, now))
			return -1;
		return ml_val_port(v);
	}
	return -1;
}

/* Which entries a flush removes. */
struct ml_filter {
	enum { ML_ALL, ML_PORT, ML_VLAN, ML_OLD } kind;
	uint16_t arg;
	uint32_t now;
};

static bool ml_filter_match(const struct ml_table *t, const struct ml_filter *f, uint64_t k,
			    uint64_t v)
{
	switch (f->kind) {
	case ML_PORT:
		return ml_val_port(v) == f->arg;
	case ML_VLAN:
		return ml_key_vlan(k) == f->arg;
	case ML_OLD:
		return ml_expired(t, v, f->now);
	default:
		return true;
	}
}

/* Removes every entry 'f' matches; waits out slots a forwarding thread holds BUSY. */
static unsigned ml_flush(struct ml_table *t, const struct ml_filter *f)
{
	unsigned removed = 0;

	pthread_mutex_lock(&t->lock);
	for (uint32_t s = 0; s <= t->mask; s++) {
		for (;;) {
			/* Pairs with the release that ends a refresh: 'v' is its value. */
			uint64_t k = rs_load_acquire(&t->keys[s]);
			if (k == 0)
				break;
			if (k & ML_BUSY) {
				sched_yield();
				continue;
			}
			if (!ml_filter_match(t, f, k, rs_load_relaxed(&t->vals[s])))
				break;
			if (ml_try_remove_locked(t, s, k)) {
				removed++;
				break;
			}
		}
	}
	pthread_mutex_unlock(&t->lock);
	return removed;
}

unsigned ml_flush_all(struct ml_table *t)
{
	return ml_flush(t, &(struct ml_filter){.kind = ML_ALL});
}

unsigned ml_flush_port(struct ml_table *t, uint16_t port)
{
	return ml_flush(t, &(struct ml_filter){.kind = ML_PORT, .arg = port});
}

unsigned ml_flush_vlan(struct ml_table *t, uint16_t vlan)
{
	return ml_flush(t, &(struct ml_filter){.kind = ML_VLAN, .arg = vlan});
}

unsigned ml_expire(struct ml_table *t, uint32_t now)
{
	unsigned n = ml_flush(t, &(struct ml_filter){.kind = ML_OLD, .now = now});
	__atomic_fetch_add(&t->stats.expired, n, __ATOMIC_RELAXED);
	return n;
}

int ml_foreach(struct ml_table *t, uint32_t now,
	       int (*cb)(const struct ml_entry_info *e, void *arg), void *arg)
{
	for (uint32_t s = 0; s <= t->mask; s++) {
		uint64_t k = rs_load_relaxed(&t->keys[s]) & ~ML_BUSY;
		uint64_t v;
		if (!(k & ML_VALID) || ml_read_slot(t, s, k, &v) <= 0)
			continue;
		if (ml_val_tag(v) != ml_tag(ml_hash(t, k)) || ml_expired(t, v, now))
			continue;
		struct ml_entry_info e = {.vlan = ml_key_vlan(k),
					  .port = ml_val_port(v),
					  .age = (uint32_t)ml_age(v, now)};
		if (ml_age(v, now) < 0)
			e.age = 0;
		ml_key_mac(k, &e.mac);
		int rc = cb(&e, arg);
		if (rc)
			return rc;
	}
	return 0;
}

void ml_set_aging(struct ml_table *t, uint32_t aging_s)
{
	if (aging_s == 0)
		aging_s = ML_DEFAULT_AGING;
	rs_store_relaxed(&t->aging, RS_MIN(aging_s, (uint32_t)INT32_MAX));
}

uint32_t ml_get_aging(const struct ml_table *t)
{
	return rs_load_relaxed(&t->aging);
}

uint32_t ml_count(const struct ml_table *t)
{
	return rs_load_relaxed(&t->n);
}

void ml_get_stats(const struct ml_table *t, struct ml_stats *out)
{
	out->learned = rs_load_relaxed(&t->stats.learned);
	out->moves = rs_load_relaxed(&t->stats.moves);
	out->evicted = rs_load_relaxed(&t->stats.evicted);
	out->collisions = rs_load_relaxed(&t->stats.collisions);
	out->expired = rs_load_relaxed(&t->stats.expired);
	out->contended = rs_load_relaxed(&t->stats.contended);
}

int ml_init(struct ml_table *t, uint32_t limit, uint32_t aging_s, uint32_t seed)
{
	if (limit == 0)
		limit = ML_DEFAULT_LIMIT;
	if (limit > ML_MAX_LIMIT)
		return -EINVAL;

	uint32_t slots = ML_MIN_SLOTS;
	while (slots < 2 * limit)
		slots <<= 1;
	memset(t, 0, sizeof(*t));
	t->keys = calloc(slots, sizeof(*t->keys));
	t->vals = calloc(slots, sizeof(*t->vals));
	if (!t->keys || !t->vals)
		goto fail;
	if (pthread_mutex_init(&t->lock, NULL) != 0)
		goto fail;
	t->mask = slots - 1;
	t->limit = limit;
	t->seed = seed;
	ml_set_aging(t, aging_s);
	return 0;
fail:
	free(t->keys);
	free(t->vals);
	t->keys = t->vals = NULL;
	return -ENOMEM;
}

void ml_fini(struct ml_table *t)
{
	if (!t->keys)
		return;
	pthread_mutex_destroy(&t->lock);
	free(t->keys);
	free(t->vals);
	t->keys = t->vals = NULL;
}
