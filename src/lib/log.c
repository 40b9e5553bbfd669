/*
 * log.c - the logging sink: formats "time level module: message" lines to
 * stderr (or syslog once selected) and implements the per-call-site rate
 * limiter. Rate-limit state is guarded by one mutex: the limiter is only
 * reached on error paths, never on the per-packet fast path.
 */
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#define RL_WINDOW_MS 5000
#define RL_BURST     10

static enum rs_log_level log_level = RS_LOG_INFO;
static int log_to_syslog;
static pthread_mutex_t rl_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {"err", "warn", "info", "debug"};

void rs_log_set_level(enum rs_log_level level)
{
	rs_store_relaxed(&log_level, level);
}

enum rs_log_level rs_log_get_level(void)
{
	return rs_load_relaxed(&log_level);
}

int rs_log_parse_level(const char *s, enum rs_log_level *out)
{
	for (unsigned i = 0; i < RS_ARRAY_SIZE(level_names); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum rs_log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

void rs_log_use_syslog(const char *ident)
{
	openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	log_to_syslog = 1;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void rs_log(enum rs_log_level level, const char *module, const char *fmt, ...)
{
	static const int syslog_prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (log_to_syslog) {
		syslog(syslog_prio[level], "%s: %s", module, msg);
		return;
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	localtime_r(&ts.tv_sec, &tm);
	fprintf(stderr, "%02d:%02d:%02d.%03ld %-5s %s: %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec,
		ts.tv_nsec / 1000000, level_names[level], module, msg);
}

int rs_log_ratelimit_ok(struct rs_ratelimit *rl, const char *module)
{
	uint64_t now = now_ms();
	uint32_t dropped = 0;
	int ok;

	pthread_mutex_lock(&rl_lock);
	if (now - rl->window_start_ms >= RL_WINDOW_MS) {
		dropped = rl->suppressed;
		rl->window_start_ms = now;
		rl->printed = 0;
		rl->suppressed = 0;
	}
	ok = rl->printed < RL_BURST;
	if (ok)
		rl->printed++;
	else
		rl->suppressed++;
	pthread_mutex_unlock(&rl_lock);
	if (dropped)
		rs_log(RS_LOG_WARN, module, "%u similar messages suppressed", dropped);
	return ok;
}
