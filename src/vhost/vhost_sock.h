/*
 * vhost_sock.h - the vhost-user unix socket of one device: listening (server
 * mode: QEMU connects, with reconnect=1) or connecting with backoff (client
 * mode: QEMU's server=on socket), framing messages with their SCM_RIGHTS fds,
 * and handing each to vhost_dev_handle. This is the only file of the layer
 * that makes socket syscalls; the message decoder it calls is pure.
 *
 * The socket does not own an event loop. The owner asks which fds to watch
 * (vhost_sock_pollfds) and for how long it may sleep (vhost_sock_timeout_ms),
 * and calls vhost_sock_handle when one is readable or the timeout passed.
 * Call vhost_sock_pollfds again after every vhost_sock_handle: the fds change
 * when a front-end connects or goes away. Control thread only.
 */
#ifndef RS_VHOST_SOCK_H
#define RS_VHOST_SOCK_H

#include <poll.h>
#include <stdint.h>
#include <sys/types.h>

#include "vhost_dev.h"

enum vhost_sock_mode {
	VHOST_SOCK_SERVER, /* we listen on 'path' */
	VHOST_SOCK_CLIENT, /* we connect to 'path' and reconnect when it goes away */
};

struct vhost_sock_cfg {
	const char *path;
	enum vhost_sock_mode mode;
	mode_t perm;            /* server socket file mode; 0 means 0660 */
	uid_t owner;            /* (uid_t)-1 keeps ours */
	gid_t group;            /* (gid_t)-1 keeps ours */
	uint32_t reconnect_min_ms; /* client backoff start; 0 means 100 ms */
	uint32_t reconnect_max_ms; /* client backoff cap; 0 means 5 s */
};

struct vhost_sock;

/*
 * Server mode: removes a stale socket file (a socket nobody listens on; any
 * other file is left alone and -EEXIST returned), binds, applies perm and
 * ownership, listens. Client mode: starts the first connection attempt.
 * Returns NULL with errno set on failure.
 */
struct vhost_sock *vhost_sock_open(const struct vhost_sock_cfg *cfg, struct vhost_dev *dev);
/* Disconnects the front-end (vhost_dev_disconnect), closes, removes our socket file. */
void vhost_sock_close(struct vhost_sock *s);

/* Fills up to 'max' pollfds (POLLIN) to watch now; returns how many. */
unsigned vhost_sock_pollfds(const struct vhost_sock *s, struct pollfd *pfd, unsigned max);
/* Milliseconds until vhost_sock_handle is due without I/O, or -1. */
int vhost_sock_timeout_ms(const struct vhost_sock *s, uint64_t now_ms);
/* Processes whatever the fds reported ('pfd' as filled, revents set) and due timers. */
void vhost_sock_handle(struct vhost_sock *s, const struct pollfd *pfd, unsigned n,
		       uint64_t now_ms);

int vhost_sock_connected(const struct vhost_sock *s);
struct vhost_dev *vhost_sock_dev(const struct vhost_sock *s);

#endif
