/*
 * fe.h - the project's own vhost-user front-end: the driver side that QEMU
 * and a guest's virtio-net driver play for a real VM, written from the specs
 * (vhost-user.rst "front-end", virtio 1.2 section 2.7 split ring, driver
 * side; 5.1.6 virtio-net header). It shares only the wire definitions
 * (vhost/vhost_user.h, virtio/virtio_spec.h) with the back-end.
 *
 * What it owns:
 *  - guest memory: one memfd, mapped as 1..8 separately mmapped regions that
 *    are contiguous in guest-physical space (fe_mem.c);
 *  - the unix socket, message framing with SCM_RIGHTS fds, QEMU-like
 *    negotiation with REPLY_ACK checked (fe_msg.c, fe.c);
 *  - per queue: the split ring in guest memory, descriptor free lists, the
 *    buffers posted, kick and call eventfds (fe_ring.c, fe_net.c);
 *  - a RAW API for hostile tests: arbitrary messages, descriptors, avail
 *    entries and indices;
 *  - dirty logs of live migration: memfds the back-end marks pages in, and
 *    QEMU 7.2's sequence turning logging on (fe_log.c).
 *
 * Queues follow virtio-net: queue 2k is the guest's RX queue of pair k (the
 * device writes), 2k+1 its TX queue (the device reads).
 *
 * Everything here is single-threaded: one struct fe belongs to one thread.
 * Functions return 0 or a negative errno; on failure fe->err says why in
 * words (tests print it).
 */
#ifndef RS_TESTS_FE_H
#define RS_TESTS_FE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vhost/vhost_user.h"
#include "virtio/virtio_spec.h"

#define FE_MAX_PAIRS   16
#define FE_MAX_QUEUES  (2 * FE_MAX_PAIRS)
#define FE_MAX_REGIONS VHOST_MEMORY_BASELINE_NREGIONS
#define FE_MAX_SEGS    16	     /* descriptors per chain the high-level API builds */
#define FE_SEG_GAP     16	     /* poisoned bytes between the pieces of one chain */
#define FE_GPA_BASE    0x40000000ull /* guest-physical address of the first region */

/* Virtio features the front-end knows how to drive. */
#define FE_FEATURES_SUPPORTED                                                                      \
	(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) |                     \
	 VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX) | VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC) |           \
	 VIRTIO_BIT(VIRTIO_NET_F_MQ) | VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES) |                \
	 VIRTIO_BIT(VIRTIO_F_IN_ORDER))

/*
 * The checksum and segmentation offloads (5.1.3) a test may ask the
 * front-end to ack with cfg.features_extra: partial checksums and TCP/UDP
 * GSO frames it sends (CSUM, HOST_*) and accepts (GUEST_*). Not acked unless
 * asked, so a default front-end sees plain, checksummed frames only.
 */
#define FE_FEATURES_OFFLOAD                                                                        \
	(VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |                     \
	 VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) |                 \
	 VIRTIO_BIT(VIRTIO_NET_F_HOST_ECN) | VIRTIO_BIT(VIRTIO_NET_F_HOST_USO) |                   \
	 VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) |               \
	 VIRTIO_BIT(VIRTIO_NET_F_GUEST_ECN) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_USO4) |                \
	 VIRTIO_BIT(VIRTIO_NET_F_GUEST_USO6))

struct fe_cfg {
	uint16_t queue_pairs;	 /* pairs set up and enabled; 0 means 1 */
	uint16_t queue_size;	 /* power of 2; 0 means 256 */
	uint64_t features_off;	 /* supported features not to ack */
	uint64_t features_extra; /* acked too when offered (FE_FEATURES_OFFLOAD or a part) */
	uint64_t features_need;	 /* fe_setup fails with -ENOTSUP unless these are offered */
	uint64_t protocol_off;	 /* protocol features not to ack (e.g. REPLY_ACK) */
	uint64_t protocol_extra; /* acked too when offered (e.g. LOG_SHMFD for fe_log_start) */
	unsigned nregions;	 /* guest memory regions, 1..8; 0 means 1 */
	uint64_t mem_size;	 /* total guest memory; 0 means computed from the queues */
	bool straddle;		 /* place data buffers so some cross region boundaries */
	uint32_t max_frame;	 /* largest frame sent or expected; 0 means 1514 */
	uint32_t rx_buf_size;	 /* writable bytes per RX chain; 0 means header + max_frame */
	uint16_t rx_segs;	 /* writable descriptors per RX chain; 0 means 1 */
	uint16_t tx_segs;	 /* descriptors per TX chain (header alone when > 1); 0 means 1 */
	bool tx_indirect;	 /* TX chains through an indirect table */
	bool rx_indirect;	 /* RX chains through an indirect table */
	uint16_t rx_post;	 /* RX chains kept posted; 0 means as many as fit */
	bool rx_manual;		 /* post no RX buffers (hostile tests write their own) */
	int timeout_ms;		 /* reply and data waits; 0 means 3000 */
};

/* One guest memory region (fe_mem.c). */
struct fe_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t mmap_offset; /* offset in fe->mem.fd */
	uint8_t *host;	      /* our mapping; its address is the region's userspace_addr */
};

struct fe_mem {
	int fd; /* the memfd behind every region, -1 when none */
	uint64_t fd_size;
	unsigned nregions;
	struct fe_region r[FE_MAX_REGIONS];
	uint64_t next; /* bump allocator: next free gpa */
};

/* Driver-side statistics of one queue; tests assert on these. */
struct fe_vq_stats {
	uint64_t kicks;		   /* eventfd writes */
	uint64_t kicks_suppressed; /* notifications the device said it did not need */
	uint64_t calls;		   /* call eventfd wake-ups */
	uint64_t missed_calls;	   /* used entries found after a wait the device never signalled */
};

/* One split virtqueue, driver side (fe_ring.c). */
struct fe_vq {
	uint16_t qid;
	uint16_t num;
	bool event_idx;
	bool in_order;		 /* VIRTIO_F_IN_ORDER: used entries must follow the avail order */
	struct virtq_desc *desc; /* in guest memory */
	struct virtq_avail *avail;
	struct virtq_used *used;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint64_t buf_gpa; /* data slot of head h: buf_gpa + h * slot_size */
	uint32_t slot_size;
	uint64_t itab_gpa;  /* indirect table of head h: itab_gpa + h * 16 * FE_MAX_SEGS */
	uint16_t avail_idx; /* our next avail->idx */
	bool hold;	    /* fe_tx_hold: avail->idx not stored until fe_tx_flush */
	uint16_t hold_old;  /* avail->idx the device last saw */
	uint16_t last_used; /* used entries consumed */
	uint16_t free_head;
	uint16_t nfree;
	uint16_t inflight;   /* heads given to the device and not yet used */
	uint16_t stop_base;  /* GET_VRING_BASE answer at fe_stop */
	uint16_t *dnext;     /* private copy of each descriptor's next link / free list */
	uint16_t *chain_len; /* descriptors held by an in-flight head, 0 when free */
	uint32_t *wlen;	     /* writable bytes of an in-flight head */
	int kickfd, callfd;  /* eventfds we created; -1 when none */
	struct fe_vq_stats st;
};

struct fe {
	struct fe_cfg cfg;
	int sock;		/* connected socket, -1 when none */
	uint64_t dev_features;	/* GET_FEATURES */
	uint64_t features;	/* what we acked with SET_FEATURES */
	uint64_t dev_protocol;	/* GET_PROTOCOL_FEATURES, 0 when not offered */
	uint64_t protocol;	/* acked protocol features */
	uint64_t dev_queue_num; /* GET_QUEUE_NUM, 0 when not asked */
	uint64_t dev_mem_slots; /* GET_MAX_MEM_SLOTS, 0 when not asked */
	uint16_t hdr_len;	/* virtio-net header: 12 or 10 */
	uint16_t nqueues;	/* queues set up: 2 * pairs */
	struct fe_mem mem;
	struct fe_vq vq[FE_MAX_QUEUES];
	uint64_t dev_errors; /* device protocol violations seen on the rings */
	uint64_t straddled;  /* chain pieces given to the device that cross regions */
	uint64_t last_ack;   /* payload of the last REPLY_ACK */
	char err[256];
};

/* Sets fe->err from the format and returns 'err' (fe_msg.c). */
int fe_fail(struct fe *fe, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* CLOCK_MONOTONIC in milliseconds. */
int64_t fe_now_ms(void);

/* ---- lifecycle (fe.c) ---- */

/* Fills defaults into a copy of 'cfg' and initialises 'fe' (no socket yet). */
void fe_init(struct fe *fe, const struct fe_cfg *cfg);
/* Connects to a back-end listening on 'path', retrying until the timeout. */
int fe_connect(struct fe *fe, const char *path);
/* Adopts an already connected socket (server mode, see fe_listen). */
void fe_adopt(struct fe *fe, int sock);
/*
 * The full QEMU-like bring-up on a connected fe: features, owner, protocol
 * features, queue count, memory slots, SET_FEATURES, guest memory and its
 * table, then every queue (num, base, addr, kick, call, enable) and the RX
 * buffers posted. Each step's reply or ack is checked.
 */
int fe_setup(struct fe *fe);
/* The first half of fe_setup: features, owner, protocol features, SET_FEATURES. */
int fe_negotiate(struct fe *fe);
/* The second half: memory table, rings, RX buffers. */
int fe_setup_rings(struct fe *fe);
/* fe_init + fe_connect + fe_setup. */
int fe_open(struct fe *fe, const struct fe_cfg *cfg, const char *path);
/*
 * SET_VRING_ADDR for 'vq' (the rings where fe_vq_create laid them out) with
 * 'flags' (1 << VHOST_VRING_F_LOG or 0) and 'log_gpa' (log_guest_addr).
 */
int fe_vring_addr(struct fe *fe, const struct fe_vq *vq, uint32_t flags, uint64_t log_gpa);
/* GET_VRING_BASE on every queue (stopping them; answers in vq[].stop_base). */
int fe_stop(struct fe *fe);
/* Closes the socket and eventfds, unmaps memory; safe on any state. */
void fe_close(struct fe *fe);

/* Server mode: a listening socket at 'path' (stale file removed); returns fd or -errno. */
int fe_listen(const char *path);
/* Accepts one connection within 'timeout_ms'; returns fd or -errno. */
int fe_accept(int lfd, int timeout_ms);

/* ---- data path (fe_net.c) ---- */

/* Sends one frame on TX queue of 'pair'; waits for free descriptors. */
int fe_send(struct fe *fe, unsigned pair, const void *frame, size_t len);
/*
 * Like fe_send, behind header 'h' (wire format; NULL: all zero) instead of
 * the zero header: its first fe->hdr_len bytes are written as they are, so
 * a test may send offload metadata the front-end did not negotiate.
 */
int fe_send_hdr(struct fe *fe, unsigned pair, const struct virtio_net_hdr *h, const void *frame,
		size_t len);
/*
 * Frames sent on 'pair' after fe_tx_hold reach the device together at
 * fe_tx_flush (one avail->idx store, one notification): a burst the device
 * takes at once. Hold fewer frames than the TX ring has free slots.
 */
void fe_tx_hold(struct fe *fe, unsigned pair);
void fe_tx_flush(struct fe *fe, unsigned pair);
/*
 * Receives one frame from RX queue of 'pair' into 'buf' (capacity 'cap'),
 * waiting up to the timeout; the buffers of a frame that spans several
 * (MRG_RXBUF, num_buffers) are joined. Checks the header (no offload the
 * front-end did not ack, num_buffers) and the used lengths; reposts the
 * buffers. -ETIMEDOUT when nothing came, -EPROTO when the device broke the
 * protocol (fe->err says how).
 */
int fe_recv(struct fe *fe, unsigned pair, void *buf, size_t cap, size_t *len);
/* Like fe_recv with an explicit wait; 0 polls once. */
int fe_recv_wait(struct fe *fe, unsigned pair, void *buf, size_t cap, size_t *len, int timeout_ms);
/*
 * Like fe_recv_wait, and stores the frame's header in 'h' (wire format; the
 * first fe->hdr_len bytes, the rest zero). The header may carry only the
 * offloads acked (5.1.6.4.1): NEEDS_CSUM and DATA_VALID with GUEST_CSUM,
 * TCPV4/TCPV6/UDP_L4 with GUEST_TSO4/GUEST_TSO6/GUEST_USO4 or 6 and a
 * gso_size, ECN with GUEST_ECN; a partial checksum field inside the frame.
 */
int fe_recv_hdr(struct fe *fe, unsigned pair, struct virtio_net_hdr *h, void *buf, size_t cap,
		size_t *len, int timeout_ms);
/* Posts RX chains on the RX queue of 'pair' up to cfg.rx_post and notifies. */
int fe_rx_fill(struct fe *fe, unsigned pair);
/* Reclaims completed TX chains of 'pair'; returns how many are still in flight. */
int fe_tx_reclaim(struct fe *fe, unsigned pair);

/* ---- guest memory (fe_mem.c) ---- */

/* Creates the memfd and maps 'nregions' regions of 'size' bytes in total. */
int fe_mem_create(struct fe_mem *m, uint64_t size, unsigned nregions);
void fe_mem_destroy(struct fe_mem *m);
/*
 * Allocates 'len' bytes aligned to 'align'. With 'one_region' the range never
 * crosses a region boundary (rings, indirect tables). Returns the gpa, 0 when full.
 */
uint64_t fe_mem_alloc(struct fe_mem *m, uint64_t len, uint64_t align, bool one_region);
/* The first region start above 'gpa', 0 when none. */
uint64_t fe_mem_boundary_after(const struct fe_mem *m, uint64_t gpa);
/* Our pointer to [gpa, gpa+len) when it lies in one region, else NULL. */
void *fe_mem_ptr(const struct fe_mem *m, uint64_t gpa, uint64_t len);
/* Copies across region boundaries; -EFAULT when any byte is outside memory. */
int fe_mem_write(const struct fe_mem *m, uint64_t gpa, const void *src, uint64_t len);
int fe_mem_read(const struct fe_mem *m, uint64_t gpa, void *dst, uint64_t len);
/* One past the last guest-physical byte. */
uint64_t fe_mem_end(const struct fe_mem *m);
/* Fills a SET_MEM_TABLE payload describing every region; returns its size. */
uint32_t fe_mem_table(const struct fe_mem *m, struct vhost_user_mem_table *t);

/* ---- rings, driver side (fe_ring.c) ---- */

/*
 * Lays out queue 'vq' (num entries, 'slot_size' data bytes per head) in 'm'
 * and creates its eventfds. Rings and indirect tables never cross a region
 * boundary; with 'straddle' the data slots are misaligned and the first one
 * starts 100 bytes before a region boundary, so the first piece of head 0
 * (always handed out first) crosses it.
 */
int fe_vq_create(struct fe_vq *vq, struct fe_mem *m, uint16_t qid, uint16_t num, uint32_t slot_size,
		 bool event_idx, bool straddle);
void fe_vq_destroy(struct fe_vq *vq);
/* Takes 'n' free descriptors linked as a chain; returns the head or -ENOSPC. */
int fe_vq_alloc_chain(struct fe_vq *vq, unsigned n);
/* Writes descriptor 'i' of the table (or of any table at 'd'). */
void fe_vq_set_desc(struct virtq_desc *d, uint64_t addr, uint32_t len, uint16_t flags,
		    uint16_t next);
/* Index of the descriptor after 'i' in the chain allocated by fe_vq_alloc_chain. */
uint16_t fe_vq_next(const struct fe_vq *vq, uint16_t i);
/* Puts 'head' in the next avail slot and publishes avail->idx (release). */
void fe_vq_publish(struct fe_vq *vq, uint16_t head);
/* Kicks unless the device suppressed notifications (2.7.10); 'old' = idx before. */
void fe_vq_notify(struct fe_vq *vq, uint16_t old_avail);
/* Unconditional eventfd kick. */
void fe_vq_kick(struct fe_vq *vq);
/*
 * Takes the next used entry: 1 with '*head', '*len' set (the chain freed), 0
 * when none, -EPROTO when the device used a head it did not own.
 */
int fe_vq_get_used(struct fe_vq *vq, uint16_t *head, uint32_t *len, uint64_t *errors);
/* Used entries published and not yet consumed. */
uint16_t fe_vq_pending(const struct fe_vq *vq);
/*
 * Asks for an interrupt (used_event or flags), then sleeps on the call fd
 * until used entries arrive or 'timeout_ms' passes. Returns 0 when entries
 * are pending, -ETIMEDOUT otherwise. Counts missed calls.
 */
int fe_vq_wait(struct fe_vq *vq, int timeout_ms);

/* ---- messages and RAW API (fe_msg.c) ---- */

/* Sends 'len' arbitrary bytes with 'nfds' fds in one sendmsg (fds with the first byte). */
int fe_raw_send(struct fe *fe, const void *bytes, size_t len, const int *fds, unsigned nfds);
/* Sends a header (request, flags, size) and 'size' payload bytes with 'nfds' fds. */
int fe_msg_send(struct fe *fe, uint32_t request, uint32_t flags, const void *payload, uint32_t size,
		const int *fds, unsigned nfds);
/* Receives one message; -ETIMEDOUT, -ECONNRESET on EOF, -EPROTO on a bad header. */
int fe_msg_recv(struct fe *fe, struct vhost_user_msg *m, int timeout_ms);
/* Request with a u64 reply (GET_FEATURES, ...). */
int fe_get_u64(struct fe *fe, uint32_t request, uint64_t *val);
/*
 * Sends a request without an explicit reply; when REPLY_ACK is negotiated
 * sets NEED_REPLY and checks the ack (-EIO when it reports failure).
 */
int fe_request(struct fe *fe, uint32_t request, const void *payload, uint32_t size, const int *fds,
	       unsigned nfds);
/* Waits for an ack of 'request': 0 ok, -EIO nonzero status, other -errno. */
int fe_wait_ack(struct fe *fe, uint32_t request, int timeout_ms);
/*
 * Waits for the reply to 'request' and checks its header (version 1, REPLY,
 * the same request) and that its payload is 'size' bytes: 0, or -EPROTO.
 */
int fe_wait_reply(struct fe *fe, uint32_t request, uint32_t size, int timeout_ms);
/* 0 when the peer closed the socket within 'timeout_ms', -ETIMEDOUT, -EPROTO on data. */
int fe_wait_closed(struct fe *fe, int timeout_ms);

/* ---- dirty page log of live migration (fe_log.c) ---- */

/*
 * A dirty log as QEMU's vhost_log (vhost-user.rst "Dirty page logging"): a
 * memfd shared with the back-end, one bit per 4 KiB guest-physical page, bit
 * page % 8 of byte page / 8, set by the back-end for every page it writes.
 * The test reads and clears it through its own mapping.
 */
#define FE_LOG_PAGE_SHIFT 12

struct fe_log {
	int fd;	       /* the memfd, -1 when none */
	uint64_t size; /* bytes (mmap_size of SET_LOG_BASE) */
	uint8_t *bits; /* our shared mapping, NULL when none */
};

/*
 * The log QEMU 7.2 sizes for memory 'm' (vhost_get_log_size): one bit per
 * page from guest-physical 0 to fe_mem_end, in whole 64-bit words.
 */
uint64_t fe_log_bytes_for(const struct fe_mem *m);
/* Creates and maps a zeroed log of 'size' bytes (> 0). 0 or -errno. */
int fe_log_create(struct fe_log *log, uint64_t size);
/* Unmaps and closes; safe on a log never created (fd -1) or destroyed. */
void fe_log_destroy(struct fe_log *log);
/* Clears every bit, word by word with an atomic exchange as QEMU's sync does. */
void fe_log_clear(struct fe_log *log);
/* Whether 'page' (gpa >> FE_LOG_PAGE_SHIFT) is marked; false past the log's end. */
bool fe_log_test(const struct fe_log *log, uint64_t page);
/* Marked pages among [first, first + n), pages past the log's end counting 0. */
uint64_t fe_log_count(const struct fe_log *log, uint64_t first, uint64_t n);
/*
 * SET_LOG_BASE for 'log' (mmap_size log->size, mmap_offset 0, its fd), sent
 * as QEMU 7.2 sends it (no NEED_REPLY), then waits for the reply every
 * back-end owes: request SET_LOG_BASE, REPLY, size 0. Needs LOG_SHMFD acked
 * (cfg.protocol_extra), else -ENOTSUP without sending.
 */
int fe_log_base(struct fe *fe, const struct fe_log *log);
/*
 * Migration starts, in the order of QEMU 7.2's vhost_migration_log(true):
 * SET_LOG_BASE ('log'), SET_FEATURES with VHOST_F_LOG_ALL added, then
 * SET_VRING_ADDR with VHOST_VRING_F_LOG and log_guest_addr = the used ring's
 * gpa on every queue, each acked when REPLY_ACK is. -ENOTSUP when the
 * back-end does not offer LOG_ALL or LOG_SHMFD was not acked.
 */
int fe_log_start(struct fe *fe, const struct fe_log *log);

#endif
