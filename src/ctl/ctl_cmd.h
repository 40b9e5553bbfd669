/*
 * ctl_cmd.h - ringctl commands: tokens in, a typed struct ctl_cmd out, and
 * back to text. The same commands arrive over the control socket (as argv)
 * and from the config file (one per line). Pure: no switch state; port names
 * in flows are resolved through a callback (see flow_parse.h).
 *
 * Commands (NAME: a port name, see ctl_port_name_check()):
 *   show | pmd-show | dump-flows [MATCH] | fdb-show | reload
 *   port-stats [NAME] | fdb-flush [NAME]
 *   add-port NAME TYPE [KEY=VALUE...]
 *   del-port NAME
 *   set-port NAME KEY=VALUE...
 *   set KEY=VALUE...
 *   add-flow FLOW                    (one argument: quote it)
 *   del-flows [--strict] [MATCH]     (priority= only with --strict)
 *
 * Port TYPEs and their keys (K: any type; S: vhost-user-server;
 * C: vhost-user-client; T: tap; * changeable with set-port):
 *   path=ABSPATH        S C   unix socket path, < 108 bytes; required for C,
 *                             optional for S (the daemon derives one)
 *   perm=OCTAL          S     socket file mode, 0..0777
 *   owner=USER|UID      S     socket file owner (user name or number)
 *   group=GROUP|GID     S     socket file group (group name or number)
 *   reconnect-ms=N      C *   0..3600000, 0: do not reconnect
 *   ifname=IFNAME       T     kernel interface name, default NAME
 *   queues=N            K     1..16 queue pairs (default 1)
 *   vlan-mode=M         K *   access | trunk (default: neither, the port
 *                             carries every VLAN, like OVS)
 *   tag=VID             K *   0..4095; implies vlan-mode=access
 *   trunks=LIST         K *   VIDs and ranges "10,20,30-40"; implies
 *                             vlan-mode=trunk; trunk without trunks = all
 *   rxq-affinity=LIST   K *   QUEUE:CORE pairs "0:1,1:3"; QUEUE < queues,
 *                             CORE 0..1023, each queue at most once
 *   allowed-mac=LIST    K *   port security: "MAC[,MAC...]" (at most 8,
 *                             unicast) the only Ethernet sources the port may
 *                             send from (ARP sender hardware address too);
 *                             "any" lifts the restriction
 *   allowed-ip=LIST     K *   port security: "A.B.C.D[,...]" (at most 8) the
 *                             only IPv4 sources and ARP sender addresses the
 *                             port may use (0.0.0.0 is let through for ARP
 *                             probes and DHCP); "any" lifts the restriction
 *   offloads=on|off     K     checksum and TCP/UDP segmentation offloads with
 *                             the peer (virtio-net features, tap TUNSETOFFLOAD);
 *                             default on; off: plain, checksummed frames only
 * path, perm, owner, group, ifname, queues and offloads cannot change: del-port and
 * add-port again. Frames a port may not send are dropped at ingress and
 * counted (port-stats drops.port_security).
 *
 * Global settings (set):
 *   pmd-cores=LIST      CPU ids and ranges "1,2" or "2-5", 0..1023
 *   poll-mode=M         busy | adaptive
 *   idle-us=N           0..10000000, adaptive: idle time before sleeping
 *   mac-aging=SECONDS   1..86400
 *   mac-table-size=N    16..16777216 entries
 *   log-level=L         err | warn | info | debug
 *   metrics-listen=A    serve Prometheus metrics at http://A/metrics, A being
 *                       IPV4:PORT or [IPV6]:PORT (numeric, PORT 1..65535);
 *                       off or empty: no metrics (the default)
 *
 * Every key may appear once per command.
 */
#ifndef RS_CTL_CTL_CMD_H
#define RS_CTL_CTL_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ctl_lex.h"
#include "flow_parse.h"

#define CTL_PATH_SIZE		108 /* sizeof(sockaddr_un.sun_path), NUL included */
#define CTL_QUEUES_MAX		16
#define CTL_CPU_MAX		1024
#define CTL_VLAN_WORDS		(4096 / 64)
#define CTL_CPU_WORDS		(CTL_CPU_MAX / 64)
#define CTL_PORT_DEFAULT_QUEUES 1
#define CTL_CMD_TEXT_MAX	4096 /* enough for any formatted command */
#define CTL_LISTEN_SIZE		64   /* "[IPv6]:PORT", NUL included */

enum ctl_verb {
	CTL_VERB_NONE = 0,
	CTL_SHOW,
	CTL_PORT_STATS,
	CTL_PMD_SHOW,
	CTL_DUMP_FLOWS,
	CTL_FDB_SHOW,
	CTL_FDB_FLUSH,
	CTL_RELOAD,
	CTL_ADD_PORT,
	CTL_DEL_PORT,
	CTL_SET_PORT,
	CTL_SET,
	CTL_ADD_FLOW,
	CTL_DEL_FLOWS,
	CTL_VERB_COUNT
};

enum ctl_port_type {
	CTL_PORT_NONE = 0, /* set-port: type unchanged */
	CTL_PORT_VHOST_SERVER,
	CTL_PORT_VHOST_CLIENT,
	CTL_PORT_TAP,
};

enum ctl_vlan_mode {
	CTL_VLAN_NONE = 0, /* no VLAN config: every VLAN, tagged as received */
	CTL_VLAN_ACCESS,
	CTL_VLAN_TRUNK,
};

/* ctl_port_spec.set and ctl_settings.set: which fields carry a value. */
#define CTL_PORT_F_PATH	     0x001
#define CTL_PORT_F_PERM	     0x002
#define CTL_PORT_F_QUEUES    0x004
#define CTL_PORT_F_RECONNECT 0x008
#define CTL_PORT_F_IFNAME    0x010
#define CTL_PORT_F_VLAN_MODE 0x020
#define CTL_PORT_F_TAG	     0x040
#define CTL_PORT_F_TRUNKS    0x080
#define CTL_PORT_F_RXQ_AFF   0x100
#define CTL_PORT_F_ALLOW_MAC 0x200
#define CTL_PORT_F_ALLOW_IP  0x400
#define CTL_PORT_F_OWNER     0x800
#define CTL_PORT_F_GROUP     0x1000
#define CTL_PORT_F_OFFLOADS  0x2000
/* Keys set-port may change. */
#define CTL_PORT_F_CHANGEABLE                                                                      \
	(CTL_PORT_F_RECONNECT | CTL_PORT_F_VLAN_MODE | CTL_PORT_F_TAG | CTL_PORT_F_TRUNKS |        \
	 CTL_PORT_F_RXQ_AFF | CTL_PORT_F_ALLOW_MAC | CTL_PORT_F_ALLOW_IP)

#define CTL_PORT_ALLOWED_MAX 8	/* addresses in allowed-mac, and in allowed-ip */
#define CTL_ID_NAME_SIZE     33 /* owner=/group=: a name or number, NUL included */

struct ctl_rxq_aff {
	uint16_t queue;
	uint16_t core;
};

/*
 * A port as add-port describes it, or the changes set-port asks for. Only
 * fields whose CTL_PORT_F_* bit is in 'set' mean anything; the others are
 * zero and the daemon applies its defaults.
 */
struct ctl_port_spec {
	char name[CTL_PORT_NAME_SIZE];
	uint8_t type;	   /* enum ctl_port_type; CTL_PORT_NONE for set-port */
	uint8_t vlan_mode; /* enum ctl_vlan_mode */
	uint8_t offloads;  /* 1: on (the default), 0: off */
	uint16_t queues;   /* 1..CTL_QUEUES_MAX */
	uint16_t tag;	   /* access VID */
	uint16_t perm;	   /* 0..0777 */
	uint32_t set;	   /* CTL_PORT_F_* */
	uint32_t reconnect_ms;
	char path[CTL_PATH_SIZE];
	char ifname[CTL_PORT_NAME_SIZE];
	uint64_t trunks[CTL_VLAN_WORDS]; /* VID bitmap; empty in trunk mode = all */
	uint8_t n_rxq_aff;
	struct ctl_rxq_aff rxq_aff[CTL_QUEUES_MAX];
	/*
	 * Port security. With the key given, n_allowed_* > 0 lists the
	 * addresses; set-port's "any" gives the key with a count of 0 (lift the
	 * restriction), which ctl_port_apply turns into the key being unset.
	 */
	uint8_t n_allowed_mac, n_allowed_ip;
	uint8_t allowed_mac[CTL_PORT_ALLOWED_MAX][6];
	uint32_t allowed_ip[CTL_PORT_ALLOWED_MAX]; /* network byte order */
	/* Socket ownership, as given (resolved by the daemon when it opens the port). */
	char owner[CTL_ID_NAME_SIZE];
	char group[CTL_ID_NAME_SIZE];
};

enum ctl_poll_mode {
	CTL_POLL_BUSY = 1,
	CTL_POLL_ADAPTIVE,
};

#define CTL_SET_F_PMD_CORES 0x01
#define CTL_SET_F_POLL_MODE 0x02
#define CTL_SET_F_IDLE_US   0x04
#define CTL_SET_F_MAC_AGING 0x08
#define CTL_SET_F_MAC_TABLE 0x10
#define CTL_SET_F_LOG_LEVEL 0x20
#define CTL_SET_F_METRICS   0x40

/* Global settings given by one 'set' command; see 'set' for validity. */
struct ctl_settings {
	uint32_t set;	   /* CTL_SET_F_* */
	uint8_t poll_mode; /* enum ctl_poll_mode */
	uint8_t log_level; /* enum rs_log_level */
	uint32_t idle_us;
	uint32_t mac_aging; /* seconds */
	uint32_t mac_table_size;
	uint64_t pmd_cores[CTL_CPU_WORDS];    /* CPU bitmap, at least one bit set */
	char metrics_listen[CTL_LISTEN_SIZE]; /* canonical ADDR:PORT; "" = off */
};

/* del-flows and dump-flows. */
struct ctl_flow_filter {
	bool strict;	      /* --strict: match and priority must be equal */
	struct ctl_flow flow; /* match (and priority with strict); no actions */
};

struct ctl_cmd {
	enum ctl_verb verb;
	union {
		/* del-port; port-stats and fdb-flush ("" = every port) */
		char port[CTL_PORT_NAME_SIZE];
		struct ctl_port_spec port_spec; /* add-port, set-port */
		struct ctl_settings settings;	/* set */
		struct ctl_flow flow;		/* add-flow */
		struct ctl_flow_filter filter;	/* del-flows, dump-flows */
	} u;
};

/*
 * Parses 'toks' into 'cmd' (fully overwritten). Flow port names go through
 * 'resolve' (NULL: leave them unresolved). Returns 0 or -EINVAL with 'err'
 * naming the token (its index, its source column, or the column of the bad
 * part inside it).
 */
int ctl_cmd_parse(const struct ctl_tokens *toks, ctl_port_resolve_fn *resolve, void *ctx,
		  struct ctl_cmd *cmd, struct ctl_error *err);

/* ctl_lex() with CTL_LEX_COMMENTS then ctl_cmd_parse(); a blank line is -ENODATA. */
int ctl_cmd_parse_line(const char *line, size_t len, ctl_port_resolve_fn *resolve, void *ctx,
		       struct ctl_cmd *cmd, struct ctl_error *err);

/*
 * Applies the set-port changes 'upd' to the port 'port' and checks the
 * result (type-specific keys, rxq-affinity against queues). Setting
 * vlan-mode (explicitly or through tag/trunks) drops the other mode's data.
 * Returns 0 or -EINVAL with 'err' set, 'port' unchanged on error.
 */
int ctl_port_apply(struct ctl_port_spec *port, const struct ctl_port_spec *upd,
		   struct ctl_error *err);

/*
 * Text of a command that ctl_cmd_parse_line() reads back as an equal
 * struct: canonical order, values quoted where needed. 'name' formats flow
 * port ids (see ctl_flow_format). Returns the length needed, like snprintf.
 */
size_t ctl_cmd_format(const struct ctl_cmd *cmd, ctl_port_name_fn *name, void *ctx, char *buf,
		      size_t size);
/* Shortcuts for the config writer: "add-port ...", "set ...", "add-flow '...'". */
size_t ctl_port_format(const struct ctl_port_spec *p, char *buf, size_t size);
size_t ctl_settings_format(const struct ctl_settings *s, char *buf, size_t size);
size_t ctl_add_flow_format(const struct ctl_flow *f, ctl_port_name_fn *name, void *ctx, char *buf,
			   size_t size);

/*
 * An HTTP listen address: "A.B.C.D:PORT" or "[IPV6]:PORT", numeric (nothing
 * is resolved), PORT 1..65535. Fills 'sa' and '*len' (either may be NULL)
 * and 'canon' (NULL, or CTL_LISTEN_SIZE bytes) with the canonical text.
 * Returns 0, or -EINVAL with '*why' pointing to a static reason.
 */
int ctl_listen_parse(const char *s, size_t n, struct sockaddr_storage *sa, socklen_t *len,
		     char *canon, const char **why);

const char *ctl_verb_name(enum ctl_verb verb); /* "add-port"; NULL when out of range */
/* True for the verbs a config file may hold (they change configuration). */
bool ctl_verb_in_config(enum ctl_verb verb);
const char *ctl_port_type_name(enum ctl_port_type type);

static inline bool ctl_bitmap_test(const uint64_t *map, unsigned bit)
{
	return (map[bit / 64] >> (bit % 64)) & 1;
}

#endif
