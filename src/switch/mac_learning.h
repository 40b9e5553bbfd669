/*
 * mac_learning.h - the MAC learning table (forwarding database) of the NORMAL
 * action: (VLAN, MAC) -> port, learnt from source addresses on the fast path
 * by every forwarding thread, read by all of them, aged, bounded in size.
 *
 * Concurrency design
 * ------------------
 * Writers are several forwarding threads (learning) and the control thread
 * (flushes, expiry); readers are every forwarding thread. Forwarding threads
 * never wait: no call they make blocks.
 *
 *  - Storage: an open-addressing table of 2^k >= 2 * limit slots, as two
 *    arrays of 64-bit words, keys[] and vals[]. A key word packs VALID, the
 *    VLAN and the MAC; a value word packs the last-seen time, the port and a
 *    16-bit tag derived from the key. A (VLAN, MAC) lives in one of the
 *    ML_WINDOW slots that follow its hash slot (bounded linear probing with
 *    no tombstones: lookups scan the whole window, deletes write 0).
 *  - Readers take no lock: they read key, value, then the key again (the
 *    seqlock pattern, with the key word itself as the sequence), and accept
 *    the value only when the key did not change and the tag matches. A
 *    writer stores BUSY into the key, then the value with release, then the
 *    key with release; a reader loads the key and the value with acquire, so
 *    a value newer than its first key load guarantees that the second key
 *    load sees BUSY or later. No fences (TSan does not model them). So a
 *    reader may see a port that is a moment stale (the packet floods, or goes
 *    to the old port once), but never the port of another (VLAN, MAC).
 *  - Refresh and MAC move (the common case of learning: the entry exists)
 *    are lock-free too: a thread sets the ML_BUSY bit in the key word with one
 *    compare-and-swap, stores the new value, and clears the bit. A refresh
 *    only writes when the second or the port changed, so steady traffic costs
 *    one read per packet and one CAS per MAC per second.
 *  - Inserting a new MAC, evicting and deleting change key words, and are
 *    serialised by one mutex. Forwarding threads only ever try it
 *    (pthread_mutex_trylock): when it is held, or a slot they need is BUSY,
 *    they skip learning this packet (counted in 'contended'); the next packet
 *    from that MAC learns it. Serialising inserts is what keeps every key
 *    unique in the table. The control thread takes the mutex blocking, and
 *    may spin on a slot a forwarding thread holds BUSY (control waits for
 *    forwarding threads, never the other way round).
 *
 * Why not per-thread tables: a MAC learnt on one thread must be found by
 * the others at once, so every lookup would search every table.
 *
 * Size limit: when 'limit' entries are live, inserting evicts one, like OVS:
 * the oldest of the next ML_EVICT_SAMPLE live entries under a clock hand, or
 * the first expired one it meets (exact LRU when limit <= ML_EVICT_SAMPLE, an
 * approximation of it otherwise; a full scan per insert under a MAC flood
 * would be the attack's goal). When a key's window is full, the oldest
 * entry of that window makes room ('collisions'); the hash is keyed with the
 * caller's seed so a guest cannot aim at one window.
 *
 * Time: 'now' is supplied by the caller, in seconds (any epoch, wrapping is
 * fine); an entry is live while now - last_seen <= aging. Expired entries are
 * invisible to lookups and are reclaimed by ml_expire(), by eviction, or by
 * being learnt again.
 *
 * Ports: 16-bit ids (as pbuf.in_port), 0..ML_PORT_MAX. A lookup can return a
 * port that has just been deleted (a packet in flight re-learnt it before or
 * while ml_flush_port() ran): callers check the result against their own
 * port table before using it.
 */
#ifndef RS_SWITCH_MAC_LEARNING_H
#define RS_SWITCH_MAC_LEARNING_H

#include <pthread.h>
#include <stdint.h>

#include "../net/flow.h"

#define ML_DEFAULT_LIMIT 8192
#define ML_DEFAULT_AGING 300 /* seconds */
#define ML_PORT_MAX	 0xfffe
#define ML_VLAN_MAX	 4095
#define ML_WINDOW	 16 /* slots probed per key */
#define ML_EVICT_SAMPLE	 64 /* live entries compared per eviction */

/* Event counters; written with relaxed atomics by any thread, read with ml_get_stats(). */
struct ml_stats {
	uint64_t learned;    /* new entries */
	uint64_t moves;	     /* a live entry seen on another port */
	uint64_t evicted;    /* removed because the table was at its limit */
	uint64_t collisions; /* removed because the key's window was full */
	uint64_t expired;    /* removed by ml_expire() */
	uint64_t contended;  /* learns skipped: insert lock held or slot busy */
};

struct ml_table {
	uint64_t *keys; /* slot key words (atomic); 0 = empty */
	uint64_t *vals; /* slot value words (atomic) */
	uint32_t mask;	/* slots - 1; immutable */
	uint32_t limit; /* maximum live entries; immutable */
	uint32_t seed;	/* hash key; immutable */
	uint32_t aging; /* seconds; atomic, ml_set_aging() */
	uint32_t n;	/* entries in the table (live or expired); atomic, written under 'lock' */
	uint32_t hand;	/* eviction clock hand; under 'lock' */
	pthread_mutex_t lock; /* serialises key-word changes: insert, evict, delete */
	struct ml_stats stats;
};

/* One entry as reported by ml_foreach(). */
struct ml_entry_info {
	uint16_t vlan;
	uint16_t port;
	uint32_t age; /* seconds since last seen */
	struct eth_addr mac;
};

/*
 * Initialises 't' for at most 'limit' entries aged after 'aging_s' seconds
 * (0 selects the defaults); 'seed' keys the hash (pass a random value; tests
 * pass a constant). Returns 0, -EINVAL (limit above 2^28) or -ENOMEM.
 */
int ml_init(struct ml_table *t, uint32_t limit, uint32_t aging_s, uint32_t seed);
void ml_fini(struct ml_table *t);

/*
 * Records that 'mac' was seen as a source on 'vlan' from 'port' at 'now'.
 * Any thread. Returns 0 when the entry is in place (new, refreshed or moved);
 * -EINVAL for a VLAN above ML_VLAN_MAX, a port above ML_PORT_MAX or a
 * multicast 'mac' (never learnt); -EBUSY when skipped because another thread
 * was changing the table (best effort: the next packet learns it).
 */
int ml_learn(struct ml_table *t, uint16_t vlan, const struct eth_addr *mac, uint16_t port,
	     uint32_t now);

/* The port 'mac' was last seen on in 'vlan', or -1 when unknown or aged out. Any thread. */
int ml_lookup(struct ml_table *t, uint16_t vlan, const struct eth_addr *mac, uint32_t now);

/*
 * Removal; control thread (they wait for slots a forwarding thread holds
 * BUSY). Each returns the number of entries removed.
 */
unsigned ml_flush_all(struct ml_table *t);
unsigned ml_flush_port(struct ml_table *t, uint16_t port); /* when a port is deleted */
unsigned ml_flush_vlan(struct ml_table *t, uint16_t vlan);
unsigned ml_expire(struct ml_table *t, uint32_t now); /* entries older than the aging time */

/* Changes the aging time; takes effect for every entry at the next lookup. */
void ml_set_aging(struct ml_table *t, uint32_t aging_s);
uint32_t ml_get_aging(const struct ml_table *t);

/* Entries in the table, including expired ones not yet reclaimed. */
uint32_t ml_count(const struct ml_table *t);
void ml_get_stats(const struct ml_table *t, struct ml_stats *out);

/*
 * Calls 'cb' for every live entry (fdb-show), in table order, without
 * locking: entries learnt or removed meanwhile may or may not be reported.
 * Stops early and returns the callback's value when it is non-zero; else 0.
 */
int ml_foreach(struct ml_table *t, uint32_t now,
	       int (*cb)(const struct ml_entry_info *e, void *arg), void *arg);

#endif
