/*
 * ringswitchd.c - the switch daemon's main: options, run directory and pid
 * file, logging, the control thread's poll loop (signals, control socket,
 * ports), and a clean shutdown on SIGTERM (guests see a disconnect, sockets
 * and the pid file are removed). SIGHUP re-reads the config file.
 *
 * src/daemon is the shell around the switch model (src/model): this file and
 * the control socket (ctl_server.c). It owns the process (fds, signals, the
 * loop); everything the switch does is a call into sw.h. The /metrics HTTP
 * server (metrics_http.c) runs in the same loop.
 *
 * Contract (scripts rely on it): ringswitchd [--config FILE] [--run-dir DIR]
 * [--foreground] [--ctl-group GROUP]; the control socket is DIR/ctl.sock
 * (mode 0660, group GROUP when given), the pid file DIR/ringswitchd.pid.
 * The daemon refuses a run directory that others could tamper with: one
 * writable by everybody without the sticky bit, or owned by another
 * non-root user (they could replace the sockets it creates there).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl_server.h"
#include "metrics_http.h"
#include "../model/sw.h"
#include "../lib/log.h"

#define RSD_DEFAULT_RUN_DIR "/run/ringswitch"
#define RSD_DEFAULT_CONFIG  "/etc/ringswitch/ringswitch.conf"
#define RSD_MAX_POLLFDS	    1024

struct rsd_opts {
	const char *config;
	const char *run_dir;
	bool foreground;
	bool syslog;
	const char *log_level;
	const char *ctl_group;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ringswitchd [--config FILE] [--run-dir DIR] [--foreground]\n"
		"                   [--log-level err|warn|info|debug] [--syslog]\n"
		"                   [--ctl-group GROUP]\n"
		"  --config FILE   configuration, created when missing (default %s)\n"
		"  --run-dir DIR   control socket DIR/ctl.sock, pid file, default vhost-user\n"
		"                  sockets (default %s)\n"
		"  --foreground    stay in the foreground, log to stderr\n"
		"  --ctl-group G   group of the control socket (mode 0660): its members may\n"
		"                  use ringctl\n",
		RSD_DEFAULT_CONFIG, RSD_DEFAULT_RUN_DIR);
}

static int parse_args(int argc, char **argv, struct rsd_opts *o)
{
	static const struct option longopts[] = {{"config", required_argument, NULL, 'c'},
						 {"run-dir", required_argument, NULL, 'r'},
						 {"foreground", no_argument, NULL, 'f'},
						 {"syslog", no_argument, NULL, 's'},
						 {"log-level", required_argument, NULL, 'l'},
						 {"ctl-group", required_argument, NULL, 'g'},
						 {"help", no_argument, NULL, 'h'},
						 {NULL, 0, NULL, 0}};
	int c;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case 'r':
			o->run_dir = optarg;
			break;
		case 'f':
			o->foreground = true;
			break;
		case 's':
			o->syslog = true;
			break;
		case 'l':
			o->log_level = optarg;
			break;
		case 'g':
			o->ctl_group = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ringswitchd: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

/* Creates DIR (and its parents) with 'mode'. */
static int mkdir_p(const char *dir, mode_t mode)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s", dir);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(tmp, mode) && errno != EEXIST ? -errno : 0;
}

/*
 * The run directory holds our sockets and pid file: refuse one where another
 * user could replace them (world-writable without the sticky bit, or owned
 * by someone else who is not root). 0, or -1 with 'why' filled.
 */
static int run_dir_check(const char *dir, char *why, size_t cap)
{
	struct stat st;
	if (stat(dir, &st)) {
		snprintf(why, cap, "%s", strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(why, cap, "not a directory");
		return -1;
	}
	if ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX)) {
		snprintf(why, cap,
			 "writable by every user (mode %04o) without the sticky bit: other users "
			 "could replace its sockets; chmod o-w it or pick another --run-dir",
			 (unsigned)(st.st_mode & 07777));
		return -1;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		snprintf(why, cap,
			 "owned by uid %u, neither root nor us (uid %u): its owner could replace "
			 "our sockets",
			 (unsigned)st.st_uid, (unsigned)geteuid());
		return -1;
	}
	return 0;
}

/* --ctl-group: a group name or number; 0 or -1. */
static int group_lookup(const char *name, gid_t *gid)
{
	char *end;
	unsigned long v = strtoul(name, &end, 10);
	if (name[0] >= '0' && name[0] <= '9' && !*end && v < (gid_t)-1) {
		*gid = (gid_t)v;
		return 0;
	}
	struct group *g = getgrnam(name);
	if (!g)
		return -1;
	*gid = g->gr_gid;
	return 0;
}

/* Locks and writes DIR/ringswitchd.pid; fails when another daemon holds it. */
static int pidfile_take(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		close(fd);
		return -EBUSY;
	}
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d\n", getpid());
	if (ftruncate(fd, 0) || write(fd, buf, (size_t)n) != n) {
		close(fd);
		return -EIO;
	}
	return fd; /* kept open (and locked) for the daemon's life */
}

static void print_qemu_hint(const char *run_dir)
{
	printf("ringswitchd: ready. Attach a QEMU guest to port vm1 (vm2 likewise) with:\n"
	       "  -object memory-backend-memfd,id=mem,size=512M,share=on -numa node,memdev=mem\n"
	       "  -chardev socket,id=c1,path=%s/vm1.sock,reconnect=1\n"
	       "  -netdev vhost-user,id=n1,chardev=c1,queues=2\n"
	       "  -device virtio-net-pci,netdev=n1,mq=on\n"
	       "Manage it with: ringctl --run-dir %s show\n",
	       run_dir, run_dir);
	fflush(stdout);
}

static char *rsd_metrics_page(void *sw, size_t *len)
{
	return sw_metrics_page(sw, len);
}

/* The control thread's loop; returns on SIGTERM/SIGINT. */
static void rsd_loop(struct sw *sw, struct ctl_server *cs, struct metrics_http *mh, int sigfd)
{
	static struct pollfd pfd[RSD_MAX_POLLFDS];
	for (;;) {
		int timeout = -1;
		pfd[0] = (struct pollfd){.fd = sigfd, .events = POLLIN};
		unsigned nc = ctl_server_pollfds(cs, &pfd[1], 32, &timeout);
		unsigned nm = metrics_http_pollfds(mh, &pfd[1 + nc], 1, &timeout);
		unsigned np =
		    sw_pollfds(sw, &pfd[1 + nc + nm], RSD_MAX_POLLFDS - 1 - nc - nm, &timeout);
		if (poll(pfd, 1 + nc + nm + np, timeout) < 0 && errno != EINTR) {
			RS_LOG(RS_LOG_ERR, "main", "poll: %s", strerror(errno));
			return;
		}
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sigfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo != SIGHUP) {
					RS_LOG(RS_LOG_INFO, "main", "signal %u: shutting down",
					       si.ssi_signo);
					return;
				}
				struct ctl_error err;
				if (sw_reload(sw, &err))
					RS_LOG(RS_LOG_ERR, "main", "reload failed: %s", err.msg);
			}
		}
		/* Ports and metrics first: a control command may close a port whose fds were
		 * polled, or replace the metrics listener. */
		sw_handle(sw, &pfd[1 + nc + nm], np);
		metrics_http_handle(mh);
		ctl_server_handle(cs, &pfd[1], nc);
	}
}

int main(int argc, char **argv)
{
	struct rsd_opts o = {.config = RSD_DEFAULT_CONFIG, .run_dir = RSD_DEFAULT_RUN_DIR};
	char path[4096];
	enum rs_log_level lvl;

	if (parse_args(argc, argv, &o))
		return 2;
	if (o.log_level) {
		if (rs_log_parse_level(o.log_level, &lvl)) {
			fprintf(stderr, "ringswitchd: bad --log-level '%s'\n", o.log_level);
			return 2;
		}
		rs_log_set_level(lvl);
	}
	gid_t ctl_gid = (gid_t)-1;
	if (o.ctl_group && group_lookup(o.ctl_group, &ctl_gid)) {
		fprintf(stderr, "ringswitchd: --ctl-group %s: no such group\n", o.ctl_group);
		return 2;
	}
	int mrc = mkdir_p(o.run_dir, 0755);
	if (mrc) {
		fprintf(stderr, "ringswitchd: cannot create %s: %s\n", o.run_dir, strerror(-mrc));
		return 1;
	}
	char why[256];
	if (run_dir_check(o.run_dir, why, sizeof(why))) {
		fprintf(stderr, "ringswitchd: refusing run directory %s: %s\n", o.run_dir, why);
		return 1;
	}
	if (!o.foreground && daemon(0, 0)) {
		perror("ringswitchd: daemon");
		return 1;
	}
	if (o.syslog || !o.foreground)
		rs_log_use_syslog("ringswitchd");
	snprintf(path, sizeof(path), "%s/ringswitchd.pid", o.run_dir);
	int pidfd = pidfile_take(path);
	if (pidfd < 0) {
		RS_LOG(RS_LOG_ERR, "main", "%s: %s", path,
		       pidfd == -EBUSY ? "another ringswitchd runs with this run directory"
				       : strerror(-pidfd));
		return 1;
	}
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL); /* inherited by the forwarding threads */
	signal(SIGPIPE, SIG_IGN);
	int sigfd = signalfd(-1, &sigs, SFD_CLOEXEC);

	char cfgdir[4096];
	snprintf(cfgdir, sizeof(cfgdir), "%s", o.config);
	char *slash = strrchr(cfgdir, '/');
	if (slash && slash != cfgdir) {
		*slash = '\0';
		mkdir_p(cfgdir, 0755);
	}
	struct ctl_config_error cerr;
	struct metrics_http *mh = metrics_http_new(NULL, NULL);
	struct sw_options swo = {.config_path = o.config,
				 .run_dir = o.run_dir,
				 .metrics = &metrics_http_listener,
				 .metrics_ctx = mh};
	struct sw *sw = mh ? sw_create(&swo, &cerr) : NULL;
	if (!sw) {
		RS_LOG(RS_LOG_ERR, "main", "%s", mh ? cerr.msg : "out of memory");
		metrics_http_free(mh);
		unlink(path);
		return 1;
	}
	metrics_http_set_page(mh, rsd_metrics_page, sw);
	snprintf(path, sizeof(path), "%s/ctl.sock", o.run_dir);
	struct ctl_server *cs = ctl_server_open(path, 0660, sw);
	if (!cs) {
		RS_LOG(RS_LOG_ERR, "main", "control socket %s: %s", path, strerror(errno));
		sw_destroy(sw);
		metrics_http_free(mh);
		return 1;
	}
	/* Created 0660 with our group: tighter than the final state, never looser. */
	if (ctl_gid != (gid_t)-1 && chown(path, (uid_t)-1, ctl_gid)) {
		RS_LOG(RS_LOG_ERR, "main", "control socket %s: chown to group %s: %s", path,
		       o.ctl_group, strerror(errno));
		ctl_server_close(cs);
		sw_destroy(sw);
		metrics_http_free(mh);
		return 1;
	}
	if (o.foreground)
		print_qemu_hint(o.run_dir);
	RS_LOG(RS_LOG_INFO, "main", "ringswitchd running: config %s, control %s", o.config, path);
	rsd_loop(sw, cs, mh, sigfd);
	ctl_server_close(cs);
	sw_destroy(sw);
	metrics_http_free(mh);
	snprintf(path, sizeof(path), "%s/ringswitchd.pid", o.run_dir);
	unlink(path);
	close(pidfd);
	RS_LOG(RS_LOG_INFO, "main", "stopped");
	return 0;
}
