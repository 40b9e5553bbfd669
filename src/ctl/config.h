/*
 * config.h - the persistent configuration: a text file of ringctl commands,
 * one per line ('#' comments, blank lines, shell quoting as in ctl_lex.h).
 * Loading is all-or-nothing: the first bad line fails the whole load with
 * "FILE:LINE:COL: message" and the caller keeps the configuration it had.
 * Saving replaces the file atomically and never leaves a half-written one.
 * This is the only file of src/ctl that touches the filesystem.
 *
 * A config may hold add-port, del-port, set-port, set, add-flow and
 * del-flows. Beyond per-command syntax the loader checks the file as a
 * sequence: a port is added once (unless deleted in between), set-port and
 * del-port name a port added earlier, set-port changes are valid for that
 * port (ctl_port_apply), and flows name only ports added earlier. Flow port
 * names stay unresolved (CTL_PORT_UNRESOLVED): the daemon calls
 * ctl_flow_resolve() when it runs each add-flow, after the ports exist.
 */
#ifndef RS_CTL_CONFIG_H
#define RS_CTL_CONFIG_H

#include <stddef.h>
#include <sys/types.h>

#include "ctl_cmd.h"

#define CTL_CONFIG_MAX_BYTES (4u << 20)
#define CTL_CONFIG_MAX_CMDS  65536
#define CTL_CONFIG_MAX_PORTS 4096

struct ctl_config_entry {
	int line; /* 1-based line number in the file */
	struct ctl_cmd cmd;
};

/* Owns 'v'; release with ctl_config_free(). */
struct ctl_config {
	size_t n, cap;
	struct ctl_config_entry *v;
};

struct ctl_config_error {
	int line;	 /* 0 when not about one line (I/O errors) */
	int column;	 /* 1-based, 0 when unknown */
	int token_index; /* in that line, -1 when unknown */
	char msg[768];	 /* "FILE:LINE:COL: token 'X': why" or "FILE: why" */
};

/*
 * Parses config text ('len' bytes, NUL bytes are an error) into 'out'.
 * 'fname' only labels messages. Returns 0, -EINVAL (err set, 'out' empty),
 * -EFBIG or -ENOMEM.
 */
int ctl_config_parse(const char *text, size_t len, const char *fname, struct ctl_config *out,
		     struct ctl_config_error *err);

/* Reads 'path' and parses it. Returns 0 or a negative errno (-ENOENT: no file). */
int ctl_config_load(const char *path, struct ctl_config *out, struct ctl_config_error *err);

void ctl_config_free(struct ctl_config *c);

/* System call hooks for ctl_config_save(), so tests can inject failures. */
struct ctl_config_io {
	ssize_t (*write)(int fd, const void *buf, size_t n);
	int (*fsync)(int fd);
};

/*
 * Writes 'n' command lines (each without '\n'; build them with
 * ctl_cmd_format() and friends) to 'path', after a header comment.
 * The text must pass ctl_config_parse() first, so a saved file always loads.
 * Then: temp file "PATH.tmp.XXXXXX" in the same directory (mode of the old
 * file, else 0644), write, fsync, rename over 'path', fsync the directory.
 * 'io' may be NULL (real syscalls). Returns 0, -EINVAL (a line does not
 * parse; err says which), or the negative errno of the failed step; on any
 * failure before the rename the old file is untouched and the temp file is
 * removed. A failure of the final directory fsync is reported although the
 * new file is already in place.
 */
int ctl_config_save(const char *path, const char *const *lines, size_t n,
		    const struct ctl_config_io *io, struct ctl_config_error *err);

#endif
