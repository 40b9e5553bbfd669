/*
 * ctl_server.h - the daemon's control socket (one JSON request line in, one
 * response line out, per connection). Runs on the control thread's poll loop
 * like the ports: ask for fds, hand back what poll() reported. Part of the
 * daemon shell (src/daemon): it decodes requests with src/ctl's pure
 * ctl_json and runs them with the switch model's sw_exec (src/model).
 */
#ifndef RS_DAEMON_CTL_SERVER_H
#define RS_DAEMON_CTL_SERVER_H

#include <poll.h>
#include <sys/types.h>

#include "../model/sw.h"

struct ctl_server;

/* Listens on 'path' with mode 'perm'. NULL with errno set. */
struct ctl_server *ctl_server_open(const char *path, mode_t perm, struct sw *sw);
/* Drops every client, closes and removes the socket file. */
void ctl_server_close(struct ctl_server *s);
/* The listening fd first, then clients; lowers '*timeout_ms' to the next client deadline. */
unsigned ctl_server_pollfds(struct ctl_server *s, struct pollfd *pfd, unsigned max,
			    int *timeout_ms);
void ctl_server_handle(struct ctl_server *s, const struct pollfd *pfd, unsigned n);

#endif
