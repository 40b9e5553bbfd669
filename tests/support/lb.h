/*
 * lb.h - drives a ringswitch-loopback process for the integration tests:
 * starts it in a fresh run directory with its stdout on a pipe, waits for
 * "ready", asks for statistics with SIGUSR1 and parses them, reads its
 * resource use from /proc, and stops it by PID (SIGTERM, expecting a clean
 * exit with the sockets removed). The binary comes from $RS_LOOPBACK.
 *
 * Contract of the tool (tools/loopback.c): stats lines
 *   stats port=<i> qid=<q> dir=<rx|tx> ready=<0|1> packets=<n> bytes=<n>
 *   drop_ring_full=<n> drop_too_big=<n> drop_too_many_iov=<n> drop_not_ready=<n>
 *   broken=<none|reason>
 * then "stats end".
 */
#ifndef RS_TESTS_LB_H
#define RS_TESTS_LB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define LB_MAX_STATS 256

struct lb {
	pid_t pid;	 /* the tool; 0 when not running */
	char dir[128];	 /* run directory (ours, removed by lb_stop) */
	char log[160];	 /* the tool's stderr */
	int out;	 /* read end of the tool's stdout */
	char buf[16384]; /* stdout bytes not yet split into lines */
	size_t blen;
};

struct lb_qstat {
	int port, qid;
	bool rx; /* dir=rx: the guest's RX queue, filled by the tool */
	int ready;
	uint64_t packets, bytes, drop_ring_full, drop_too_big, drop_too_many_iov, drop_not_ready;
	char broken[32];
};

struct lb_stats {
	unsigned n;
	struct lb_qstat q[LB_MAX_STATS];
};

/* Path of the tool from $RS_LOOPBACK, or NULL (tests then skip). */
const char *lb_binary(void);
/*
 * Starts the tool with --run-dir <fresh dir> and the NULL-terminated extra
 * 'args'; unless 'client' is set waits for "ready". Returns 0 or -errno.
 */
int lb_start(struct lb *lb, const char *const *args, bool client);
/* SIGTERM, wait; returns the exit status (0 expected), -ETIMEDOUT (then killed), -EEXIST when a
 * socket file was left. */
int lb_stop(struct lb *lb);
/* DIR/port<i>.sock */
void lb_sock_path(const struct lb *lb, int port, char *out, size_t cap);
/* SIGUSR1 and parse until "stats end". Returns 0 or -errno. */
int lb_stats(struct lb *lb, struct lb_stats *s);
/* The line for (port, qid), or NULL. */
const struct lb_qstat *lb_find(const struct lb_stats *s, int port, int qid);
/* Polls the stats until (port, qid) reports broken != none; returns it (static) or "none". */
const char *lb_wait_broken(struct lb *lb, int port, int qid, int timeout_ms);
/* The process exists and has not exited. */
bool lb_alive(struct lb *lb);
int lb_fd_count(pid_t pid);
int lb_map_count(pid_t pid);
long lb_rss_kb(pid_t pid);
/* Waits until the fd and mapping counts equal the baseline; 0 or -ETIMEDOUT. */
int lb_wait_counts(pid_t pid, int fds, int maps, int timeout_ms);
/* Lines of the tool's stderr log containing 'needle'. */
int lb_log_count(const struct lb *lb, const char *needle);

#endif
