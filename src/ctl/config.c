/*
 * config.c - load and atomically save the config file (see config.h).
 * Owns: the ctl_config arrays it allocates; the temp file while saving.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONFIG_HEADER                                                                              \
	"# ringswitchd configuration: ringctl commands, one per line.\n"                           \
	"# Written by ringswitchd; comments are not kept when it saves.\n"

static void cfg_err(struct ctl_config_error *err, const char *fname, int line, int col, int tok,
		    const char *fmt, ...) RS_PRINTF(6, 7);

static void cfg_err(struct ctl_config_error *err, const char *fname, int line, int col, int tok,
		    const char *fmt, ...)
{
	char why[300];
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	err->line = line;
	err->column = col;
	err->token_index = tok;
	if (line && col)
		snprintf(err->msg, sizeof(err->msg), "%s:%d:%d: %s", fname, line, col, why);
	else if (line)
		snprintf(err->msg, sizeof(err->msg), "%s:%d: %s", fname, line, why);
	else
		snprintf(err->msg, sizeof(err->msg), "%s: %s", fname, why);
}

void ctl_config_free(struct ctl_config *c)
{
	free(c->v);
	c->v = NULL;
	c->n = c->cap = 0;
}

/* ---- the ports a config has added so far ---- */

struct cfg_port {
	int line;
	struct ctl_port_spec spec;
};

struct cfg_state {
	struct cfg_port *ports;
	size_t n, cap;
};

static struct cfg_port *port_find(struct cfg_state *st, const char *name)
{
	for (size_t i = 0; i < st->n; i++)
		if (strcmp(st->ports[i].spec.name, name) == 0)
			return &st->ports[i];
	return NULL;
}

/* Flow resolver: names must be known; ids stay unresolved for the daemon. */
static int cfg_resolve(void *ctx, const char *name)
{
	return port_find(ctx, name) ? -EAGAIN : -ENOENT;
}

/* Checks 'cmd' against the ports so far and updates them; returns an error text or NULL. */
static const char *cfg_track(struct cfg_state *st, const struct ctl_cmd *cmd, int line, char *why,
			     size_t whylen)
{
	struct cfg_port *p;
	struct ctl_error e;

	switch (cmd->verb) {
	case CTL_ADD_PORT:
		p = port_find(st, cmd->u.port_spec.name);
		if (p) {
			snprintf(why, whylen, "port '%s' already added on line %d", p->spec.name,
				 p->line);
			return why;
		}
		if (st->n == CTL_CONFIG_MAX_PORTS)
			return "too many ports";
		if (st->n == st->cap) {
			size_t cap = st->cap ? st->cap * 2 : 16;
			struct cfg_port *v = realloc(st->ports, cap * sizeof(*v));
			if (!v)
				return "out of memory";
			st->ports = v;
			st->cap = cap;
		}
		st->ports[st->n].line = line;
		st->ports[st->n].spec = cmd->u.port_spec;
		st->n++;
		return NULL;
	case CTL_DEL_PORT:
	case CTL_SET_PORT:
		p = port_find(st, cmd->verb == CTL_DEL_PORT ? cmd->u.port : cmd->u.port_spec.name);
		if (!p) {
			snprintf(why, whylen, "no port '%s' was added before this line",
				 cmd->verb == CTL_DEL_PORT ? cmd->u.port : cmd->u.port_spec.name);
			return why;
		}
		if (cmd->verb == CTL_DEL_PORT) {
			*p = st->ports[--st->n];
			return NULL;
		}
		if (ctl_port_apply(&p->spec, &cmd->u.port_spec, &e) < 0) {
			snprintf(why, whylen, "%s", e.msg);
			return why;
		}
		return NULL;
	default:
		return NULL;
	}
}

static int cfg_line(struct cfg_state *st, const char *fname, const char *s, size_t len, int line,
		    struct ctl_config *out, struct ctl_config_error *err)
{
	struct ctl_tokens t;
	struct ctl_error e;
	struct ctl_cmd cmd;
	char why[300];

	int r = ctl_lex(s, len, CTL_LEX_COMMENTS, &t, &e);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		cfg_err(err, fname, line, e.column, e.token_index, "%s", e.msg);
		return r;
	}
	if (t.n == 0)
		goto out;
	r = ctl_cmd_parse(&t, cfg_resolve, st, &cmd, &e);
	if (r < 0) {
		cfg_err(err, fname, line, e.column, e.token_index, "%s", e.msg);
		goto out;
	}
	if (!ctl_verb_in_config(cmd.verb)) {
		cfg_err(err, fname, line, t.tok[0].column, 0,
			"token '%s': command not allowed in a config file", t.tok[0].text);
		r = -EINVAL;
		goto out;
	}
	const char *bad = cfg_track(st, &cmd, line, why, sizeof(why));
	if (bad) {
		cfg_err(err, fname, line, t.n > 1 ? t.tok[1].column : 1, t.n > 1 ? 1 : 0,
			"token '%s': %s", t.n > 1 ? t.tok[1].text : "", bad);
		r = -EINVAL;
		goto out;
	}
	if (out->n == CTL_CONFIG_MAX_CMDS) {
		cfg_err(err, fname, line, 0, -1, "too many commands (max %d)", CTL_CONFIG_MAX_CMDS);
		r = -EFBIG;
		goto out;
	}
	if (out->n == out->cap) {
		size_t cap = out->cap ? out->cap * 2 : 16;
		struct ctl_config_entry *v = realloc(out->v, cap * sizeof(*v));
		if (!v) {
			r = -ENOMEM;
			goto out;
		}
		out->v = v;
		out->cap = cap;
	}
	out->v[out->n].line = line;
	out->v[out->n].cmd = cmd;
	out->n++;
out:
	ctl_tokens_free(&t);
	return r;
}

int ctl_config_parse(const char *text, size_t len, const char *fname, struct ctl_config *out,
		     struct ctl_config_error *err)
{
	struct cfg_state st = {0};
	size_t i = 0;
	int line = 0, r = 0;

	out->n = out->cap = 0;
	out->v = NULL;
	if (len > CTL_CONFIG_MAX_BYTES) {
		cfg_err(err, fname, 0, 0, -1, "file too large (max %u bytes)",
			CTL_CONFIG_MAX_BYTES);
		return -EFBIG;
	}
	while (i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - text) : len;
		line++;
		r = cfg_line(&st, fname, text + i, end - i, line, out, err);
		if (r < 0)
			break;
		i = end + 1;
	}
	free(st.ports);
	if (r < 0) {
		if (r == -ENOMEM)
			cfg_err(err, fname, line, 0, -1, "out of memory");
		ctl_config_free(out);
	}
	return r;
}

int ctl_config_load(const char *path, struct ctl_config *out, struct ctl_config_error *err)
{
	struct stat stb;
	char *buf = NULL;
	size_t n = 0;
	int r, fd;

	out->n = out->cap = 0;
	out->v = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		cfg_err(err, path, 0, 0, -1, "%s", strerror(-r));
		return r;
	}
	if (fstat(fd, &stb) < 0) {
		r = -errno;
		goto fail;
	}
	if (!S_ISREG(stb.st_mode)) {
		r = -EINVAL;
		goto fail;
	}
	if ((uint64_t)stb.st_size > CTL_CONFIG_MAX_BYTES) {
		r = -EFBIG;
		goto fail;
	}
	buf = malloc((size_t)stb.st_size + 1);
	if (!buf) {
		r = -ENOMEM;
		goto fail;
	}
	/* Read at most the size we saw plus one byte, to notice growth. */
	while (n <= (size_t)stb.st_size) {
		ssize_t k = read(fd, buf + n, (size_t)stb.st_size + 1 - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = -errno;
			goto fail;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	if (n > (size_t)stb.st_size) {
		r = -EAGAIN; /* the file changed while we read it */
		goto fail;
	}
	close(fd);
	r = ctl_config_parse(buf, n, path, out, err);
	free(buf);
	return r;
fail:
	cfg_err(err, path, 0, 0, -1, "%s", r == -EINVAL ? "not a regular file" : strerror(-r));
	free(buf);
	close(fd);
	return r;
}

/* ---- save ---- */

static ssize_t sys_write(int fd, const void *buf, size_t n)
{
	return write(fd, buf, n);
}

static int sys_fsync(int fd)
{
	return fsync(fd);
}

static const struct ctl_config_io sys_io = {sys_write, sys_fsync};

/* Header + lines, each with '\n'; NULL and -EINVAL in *r on a line with a newline. */
static char *build_text(const char *const *lines, size_t n, size_t *len, int *r,
			struct ctl_config_error *err, const char *path)
{
	size_t total = sizeof(CONFIG_HEADER) - 1;

	for (size_t i = 0; i < n; i++) {
		if (strchr(lines[i], '\n')) {
			cfg_err(err, path, (int)i + 3, 0, -1, "line %zu holds a newline", i);
			*r = -EINVAL;
			return NULL;
		}
		total += strlen(lines[i]) + 1;
	}
	char *text = malloc(total + 1), *p = text;
	if (!text) {
		*r = -ENOMEM;
		return NULL;
	}
	memcpy(p, CONFIG_HEADER, sizeof(CONFIG_HEADER) - 1);
	p += sizeof(CONFIG_HEADER) - 1;
	for (size_t i = 0; i < n; i++) {
		size_t k = strlen(lines[i]);
		memcpy(p, lines[i], k);
		p[k] = '\n';
		p += k + 1;
	}
	*p = '\0';
	*len = total;
	return text;
}

static int write_all(const struct ctl_config_io *io, int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t k = io->write(fd, buf, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			return -EIO;
		buf += k;
		n -= (size_t)k;
	}
	return 0;
}

/* The directory part of 'path' ("." when none), in 'dir'. */
static void dir_of(const char *path, char *dir, size_t size)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(dir, size, ".");
	else if (slash == path)
		snprintf(dir, size, "/");
	else
		snprintf(dir, size, "%.*s", (int)(slash - path), path);
}

static int fsync_dir(const struct ctl_config_io *io, const char *path)
{
	char dir[4096];

	dir_of(path, dir, sizeof(dir));
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = io->fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return r;
}

int ctl_config_save(const char *path, const char *const *lines, size_t n,
		    const struct ctl_config_io *io, struct ctl_config_error *err)
{
	struct ctl_config check;
	struct stat old;
	size_t len = 0, plen = strlen(path);
	int r = 0, fd = -1;
	char *tmp = NULL;
	const char *step = "";

	if (!io)
		io = &sys_io;
	char *text = build_text(lines, n, &len, &r, err, path);
	if (!text)
		return r;
	r = ctl_config_parse(text, len, path, &check, err);
	ctl_config_free(&check);
	if (r < 0)
		goto out;
	tmp = malloc(plen + sizeof(".tmp.XXXXXX"));
	if (!tmp) {
		r = -ENOMEM;
		goto out;
	}
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".tmp.XXXXXX", sizeof(".tmp.XXXXXX"));
	step = "create temp file";
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		free(tmp);
		tmp = NULL; /* nothing to unlink */
		goto fail;
	}
	step = "chmod";
	if (fchmod(fd, stat(path, &old) == 0 ? (old.st_mode & 07777) : 0644) < 0) {
		r = -errno;
		goto fail;
	}
	step = "write";
	r = write_all(io, fd, text, len);
	if (r < 0)
		goto fail;
	step = "fsync";
	if (io->fsync(fd) < 0) {
		r = -errno;
		goto fail;
	}
	step = "close";
	r = close(fd) < 0 ? -errno : 0;
	fd = -1;
	if (r < 0)
		goto fail;
	step = "rename";
	if (rename(tmp, path) < 0) {
		r = -errno;
		goto fail;
	}
	free(tmp);
	tmp = NULL;
	step = "fsync directory";
	r = fsync_dir(io, path);
	if (r < 0)
		goto fail;
	goto out;
fail:
	cfg_err(err, path, 0, 0, -1, "%s: %s", step, strerror(-r));
	if (fd >= 0)
		close(fd);
	if (tmp)
		unlink(tmp);
out:
	free(tmp);
	free(text);
	return r;
}
