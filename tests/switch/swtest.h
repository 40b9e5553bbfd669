/*
 * swtest.h - helpers for the switch integration tests: a real ringswitchd
 * process in a fresh temporary directory, ringctl run as a child with its
 * output and exit code captured (--json results parsed with jansson), the
 * project's test front-end (tests/support/fe.h) attached to the daemon's
 * vhost-user ports, and builders for the frames the tests send.
 *
 * Binaries come from $RS_SWITCHD and $RS_RINGCTL; without them tests skip.
 * Every wait is bounded; every daemon is a child of the test, started with
 * PR_SET_PDEATHSIG and stopped by its PID.
 *
 * Layout of a test directory (swd.dir = /tmp/rs-sw-XXXXXX):
 *   DIR/run/          --run-dir: ctl.sock, ringswitchd.pid, NAME.sock
 *   DIR/switch.conf   --config (written by the test before the start, or not)
 *   DIR/daemon.log    the daemon's stdout and stderr (appended across restarts)
 */
#ifndef RS_TESTS_SWTEST_H
#define RS_TESTS_SWTEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fe.h"

#define SWT_FRAME_MAX 2048

/* One daemon and its directory. */
struct swd {
	pid_t pid;	/* 0 when not running */
	char dir[64];	/* ours; removed by swd_cleanup */
	char run[96];	/* DIR/run */
	char conf[128]; /* DIR/switch.conf unless swd_start_conf gave another */
	char log[96];	/* DIR/daemon.log */
	int status;	/* wait status once reaped */
	/* Extra ringswitchd options (NULL-terminated, may be NULL), appended by swd_spawn. */
	const char *const *extra_args;
};

/* ringctl's result. */
struct swr {
	int rc;	    /* exit code; -1 when it did not exit normally */
	char *out;  /* stdout, NUL-terminated (never NULL after swctl) */
	char *err;  /* stderr */
	json_t *js; /* stdout parsed when --json was given and it parsed, else NULL */
};

/* The binaries, or NULL when the environment lacks them. */
const char *swt_switchd(void);
const char *swt_ringctl(void);
/* Skips the calling cmocka test when a binary is missing. */
void swt_require(void);

/*
 * Makes a fresh test directory; writes 'config' (NULL: no file, the daemon
 * creates its default) to DIR/switch.conf; starts the daemon and waits until
 * its control socket answers. Fails the test on error.
 */
void swd_start(struct swd *d, const char *config);
/* Only the directory and the paths (no daemon, no config file). */
void swd_init(struct swd *d);
/* Starts (or restarts) the daemon of an existing 'd' with config file 'conf'. */
int swd_spawn(struct swd *d, const char *conf);
/* Waits until ringctl show answers (or the daemon dies); 0 or -1. */
int swd_wait_ready(struct swd *d, int timeout_ms);
/* Sends 'sig' and waits up to 'timeout_ms' for the exit; returns the wait
 * status, or -1 (then killed with SIGKILL and reaped). */
int swd_signal_wait(struct swd *d, int sig, int timeout_ms);
/* The process has exited (reaps it); its wait status in d->status. */
bool swd_exited(struct swd *d);
/* SIGTERM (SIGKILL after 5 s) when running, then removes the directory. */
void swd_cleanup(struct swd *d);
/* DIR/run/NAME.sock */
void swd_sock(const struct swd *d, const char *port, char *out, size_t cap);
/* Lines of the daemon log that contain 'needle'. */
int swd_log_count(const struct swd *d, const char *needle);
/* Prints the daemon log to stderr (on failures). */
void swd_dump_log(const struct swd *d);

/*
 * Runs ringctl --run-dir DIR/run [--json] ARGS... (NULL-terminated) and
 * captures everything. With 'extra_opts' (NULL-terminated, may be NULL) the
 * given options replace --run-dir. Bounded by 20 s.
 */
void swctl_v(const struct swd *d, struct swr *r, bool json, const char *const *args);
void swctl_opts(struct swr *r, const char *const *argv); /* raw ringctl argv (after argv[0]) */
#define swctl(d, r, json, ...) swctl_v((d), (r), (json), (const char *const[]){__VA_ARGS__, NULL})
void swr_free(struct swr *r);
/* Runs the command and fails the test unless it exits 0; returns the JSON (owned by caller, may
 * be NULL without --json). */
json_t *swctl_ok_v(const struct swd *d, bool json, const char *const *args);
#define swctl_ok(d, json, ...) swctl_ok_v((d), (json), (const char *const[]){__VA_ARGS__, NULL})
#define swctl_do(d, ...)       json_decref(swctl_ok((d), false, __VA_ARGS__))

/* port-stats NAME --json, the port's object (owned by caller). */
json_t *swt_port_stats(const struct swd *d, const char *port);
/* A counter: "rx_packets" or "drops.vlan" style path into the port's stats. */
int64_t swt_stat(const struct swd *d, const char *port, const char *path);
/* Polls the counter until it equals 'want' (counters of the forwarding threads may lag the
 * frames by a moment); returns the last value read. Bounded by 2 s. */
int64_t swt_wait_stat(const struct swd *d, const char *port, const char *path, int64_t want);
/* Per-queue counter ("packets"/"bytes") of dir "rx"/"tx" queue q; 0 when not listed. */
int64_t swt_queue_stat(json_t *port_stats, const char *dir, int q, const char *key);

/*
 * Attaches 'fe' with 'pairs' queue pairs to port 'name' and waits until the
 * switch reports those queues ready (show --json rxq_ready / txq_ready), so
 * that frames are not dropped as not_ready. Fails the test on error.
 */
void swt_fe_attach(const struct swd *d, struct fe *fe, const char *name, unsigned pairs);
/* Reclaims TX, checks no device errors, closes. */
void swt_fe_detach(struct fe *fe);

/* ---- resources of the daemon (/proc) ---- */

/*
 * Its mappings. The daemon is built with the same flags as the tests; under
 * AddressSanitizer or ThreadSanitizer the allocator maps fresh anonymous
 * regions as freed memory sits in quarantine, so there only mappings with a
 * file behind them count (guest memory is memfd-backed, so a leaked region
 * still shows); otherwise every mapping.
 */
int swt_map_count(pid_t pid);
/* Waits until swt_map_count and the fd count equal 'maps' and 'fds'; 0 or -ETIMEDOUT. */
int swt_wait_counts(pid_t pid, int fds, int maps, int timeout_ms);

/* ---- frames ---- */

struct swt_mac {
	uint8_t b[6];
};

/* 02:00:00:00:00:NN */
struct swt_mac swt_mac(uint8_t n);
extern const struct swt_mac swt_bcast;

/* An Ethernet frame of 'len' bytes (>= 14 + 4): type 0x88b5, 'seq' and a pattern. */
size_t swt_eth(uint8_t *buf, size_t len, struct swt_mac dst, struct swt_mac src, uint32_t seq);
/*
 * An IPv4 frame: UDP (proto 17), ICMP echo (proto 1) or anything else with
 * a payload of 'plen' bytes carrying 'seq'. Source/destination IPs host
 * order. Header checksum valid. Returns the frame length.
 */
size_t swt_ip4(uint8_t *buf, struct swt_mac dst, struct swt_mac src, uint8_t proto, uint32_t sip,
	       uint32_t dip, uint16_t sport, uint16_t dport, size_t plen, uint32_t seq);
/* Inserts an 802.1Q tag (TPID 0x8100, TCI 'tci') after the MACs; returns the new length. */
size_t swt_tag(uint8_t *buf, size_t len, uint16_t tci);
/* Removes the outer 802.1Q tag; returns the new length. */
size_t swt_untag(uint8_t *buf, size_t len);

#define SWT_IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

/* ---- traffic checks (fail the test with a message) ---- */

/* Sends on pair 'pair'. */
void swt_send(struct fe *fe, unsigned pair, const uint8_t *frame, size_t len);
/* Receives one frame on 'pair' within the fe's timeout and compares it byte for byte. */
void swt_expect(struct fe *fe, const char *who, unsigned pair, const uint8_t *frame, size_t len);
/* Nothing arrives on any of fe's pairs within 'ms'. */
void swt_silence(struct fe *fe, const char *who, int ms);
/* Discards whatever is queued on every pair; returns how many frames. */
unsigned swt_drain(struct fe *fe);

/* Reads a whole file (malloc'ed, NUL-terminated) or NULL; '*len' may be NULL. */
char *swt_read_file(const char *path, size_t *len);
int swt_write_file(const char *path, const char *text);

#endif
