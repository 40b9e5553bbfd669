/*
 * log.h - leveled, per-module logging to stderr or syslog. Anything a packet
 * or a guest can trigger must use RS_LOG_RL, which allows a burst of lines and
 * then one line per interval per call site, counting what it suppressed.
 */
#ifndef RS_LIB_LOG_H
#define RS_LIB_LOG_H

#include <stdint.h>
#include "compiler.h"

enum rs_log_level { RS_LOG_ERR = 0, RS_LOG_WARN, RS_LOG_INFO, RS_LOG_DEBUG };

/* Per call-site rate limiter; zero-initialised static storage is valid. */
struct rs_ratelimit {
	uint64_t window_start_ms;
	uint32_t printed;    /* lines printed in the current window */
	uint32_t suppressed; /* lines dropped in the current window */
};

void rs_log_set_level(enum rs_log_level level);
enum rs_log_level rs_log_get_level(void);
/* Parses "err", "warn", "info", "debug"; returns 0 or -EINVAL. */
int rs_log_parse_level(const char *s, enum rs_log_level *out);
void rs_log_use_syslog(const char *ident);

void rs_log(enum rs_log_level level, const char *module, const char *fmt, ...) RS_PRINTF(3, 4);
/* Returns 1 when a rate-limited line may be printed now (and reports what was suppressed). */
int rs_log_ratelimit_ok(struct rs_ratelimit *rl, const char *module);

#define RS_LOG(level, mod, ...)                                                                     \
	do {                                                                                       \
		if ((level) <= rs_log_get_level())                                                 \
			rs_log((level), (mod), __VA_ARGS__);                                       \
	} while (0)

#define RS_LOG_RL(level, mod, ...)                                                                  \
	do {                                                                                       \
		static struct rs_ratelimit rl_;                                                    \
		if ((level) <= rs_log_get_level() && rs_log_ratelimit_ok(&rl_, (mod)))              \
			rs_log((level), (mod), __VA_ARGS__);                                       \
	} while (0)

#endif
