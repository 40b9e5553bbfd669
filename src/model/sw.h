/*
 * sw.h - the switch model (src/model): the switch as the control plane sees
 * it. The configuration (global settings, ports with their specs, the flow
 * table), the running objects that realise it (ports, the datapath, the MAC
 * table), and the execution of every ringctl command against them.
 *
 * Every change follows prepare -> save -> apply: the command is checked and
 * its effect computed (a port id, a new classifier snapshot) without touching
 * the running switch; the resulting configuration is written atomically to
 * the config file; only then is the change applied. A command that cannot be
 * saved (disk full, read-only) fails with the error and changes nothing. If
 * applying fails afterwards (a socket path in use), the previous file is
 * written back.
 *
 * src/model, lowest first: sw.c, the core (state, ports, settings, saving;
 * sw_internal.h); sw_ports.c, sw_flows.c, sw_show.c and sw_plan.c, the
 * commands, reports and plan built on it (sw_cmd.h); sw_exec.c, creation,
 * reload and dispatch. Each file calls only files below it.
 *
 * Control thread only.
 */
#ifndef RS_MODEL_SW_H
#define RS_MODEL_SW_H

#include <jansson.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

#include "../ctl/config.h"
#include "../ctl/ctl_cmd.h"

struct sw;

/*
 * The /metrics listener. The daemon shell serves it (src/daemon/metrics_http.c);
 * the model decides what it listens on (the metrics-listen setting) and drives
 * it in the model's own order: prepare (bind the new address beside the one
 * being served), save the config file, then commit (the prepared listener
 * replaces the served one) or abort (it is closed, nothing changed). At most
 * one listener is prepared at a time. Control thread only.
 */
struct sw_listener_ops {
	/* Binds 'addr' (canonical ADDR:PORT, "" for none) without serving it yet:
	 * 0, or -errno with 'why' (cap bytes) a short reason. */
	int (*prepare)(void *ctx, const char *addr, char *why, size_t cap);
	void (*commit)(void *ctx);
	void (*abort)(void *ctx);
};

struct sw_options {
	const char *config_path; /* the config file, created when missing */
	const char *run_dir;	 /* default vhost-user socket directory */
	bool print_qemu_hint;	 /* print how to attach guests after the first load */
	/* The metrics listener (NULL: this process serves no metrics, and a
	 * metrics-listen address is refused by set and reported by show). */
	const struct sw_listener_ops *metrics;
	void *metrics_ctx;
};

/*
 * Creates the switch from the config file (or the embedded default when the
 * file does not exist, which is then written). Returns NULL and fills 'err'
 * (FILE:LINE:COL: reason) when the file cannot be read or has an error.
 */
struct sw *sw_create(const struct sw_options *opt, struct ctl_config_error *err);
void sw_destroy(struct sw *sw);

/*
 * Runs one command. Query verbs fill '*result' (JSON when 'json', else a JSON
 * string holding the text a person reads); change verbs leave it NULL or set
 * a short message. Returns 0 or a negative errno with 'err' naming the
 * offending token where there is one.
 */
int sw_exec(struct sw *sw, const struct ctl_cmd *cmd, bool json, json_t **result,
	    struct ctl_error *err);

/* Re-reads the config file and converges to it (SIGHUP, ringctl reload). */
int sw_reload(struct sw *sw, struct ctl_error *err);

/* Port-name resolution for the command parser. */
int sw_resolve_port(void *sw, const char *name);

/* The control thread's event sources: every port's fds and timers. */
unsigned sw_pollfds(struct sw *sw, struct pollfd *pfd, unsigned max, int *timeout_ms);
void sw_handle(struct sw *sw, const struct pollfd *pfd, unsigned n);

/*
 * The /metrics page (Prometheus text format, sw_metrics.h): malloc'ed text the
 * caller frees, its length in '*len'; NULL on ENOMEM. Reads the model.
 */
char *sw_metrics_page(struct sw *sw, size_t *len);

/* The embedded default configuration (two vhost-user server ports, vm1 and vm2). */
extern const char sw_default_config[];

#endif
