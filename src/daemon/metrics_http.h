/*
 * metrics_http.h - the /metrics HTTP server of ringswitchd (libmicrohttpd).
 * MHD runs without a thread of its own, in the control thread's poll loop:
 * its epoll fd is one of the loop's pollfds, MHD_get_timeout bounds the
 * loop's timeout, and MHD_run serves what is ready without blocking. So a
 * scrape is answered on the control thread, where the switch model may be
 * read, and the forwarding threads only have their counters read (relaxed
 * loads): no lock, no syscall, nothing on their side.
 *
 * Clients are bounded (connections, memory per connection, an idle timeout):
 * a client that sends garbage gets a 400 and is closed; one that opens many
 * connections or stalls holds at most MH_MAX_CONNECTIONS slots of this
 * server, never the control socket or the ports, which share the loop.
 *
 * It implements the switch model's struct sw_listener_ops (sw.h): the model
 * binds a new address beside the one served (prepare), saves its config,
 * and swaps (commit) or drops it (abort). Control thread only.
 */
#ifndef RS_DAEMON_METRICS_HTTP_H
#define RS_DAEMON_METRICS_HTTP_H

#include <poll.h>
#include <stddef.h>

#include "../model/sw.h"

struct metrics_http;

/* The page's source: malloc'ed text (the server frees it), its length; NULL: error 500. */
typedef char *metrics_http_page_fn(void *ctx, size_t *len);

/* A server serving nothing yet; NULL on ENOMEM. */
struct metrics_http *metrics_http_new(metrics_http_page_fn *page, void *ctx);
/* Drops every client and closes the listeners. */
void metrics_http_free(struct metrics_http *m);
/* Sets the page's source (the switch exists only after the listener was first used). */
void metrics_http_set_page(struct metrics_http *m, metrics_http_page_fn *page, void *ctx);

/* sw_options.metrics for the switch model; ctx is the struct metrics_http. */
extern const struct sw_listener_ops metrics_http_listener;

/* The loop: at most one pollfd (none when off); lowers '*timeout_ms' to MHD's next deadline. */
unsigned metrics_http_pollfds(struct metrics_http *m, struct pollfd *pfd, unsigned max,
			      int *timeout_ms);
/* After poll(): serves what is ready (call it on every iteration, as MHD_run requires). */
void metrics_http_handle(struct metrics_http *m);

#endif
