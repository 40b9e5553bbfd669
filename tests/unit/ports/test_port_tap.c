/*
 * test_port_tap.c - the tap port against the kernel. Needs root,
 * /dev/net/tun and ip(8) with network namespaces; otherwise it says so and
 * exits 77, which meson reports as a skip.
 *
 * The tap is opened by the port, then moved into a private network
 * namespace (the port's fds keep working across the move), so nothing the
 * host does reaches it and nothing we send reaches the host. In the
 * namespace an AF_PACKET socket bound to the interface is the far end:
 * frames must cross both ways byte for byte. The kernel's own stack is
 * exercised too: an ARP request sent by the port is answered, and a UDP
 * datagram sent after checksum offload is forced on (behind the port's
 * back) arrives with NEEDS_CSUM and must be dropped as malformed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/pbuf.h"
#include "ports/port.h"
#include "virtio/virtio_spec.h"

#define WAIT_MS	  3000
#define POOL_BUFS 256
#define POOL_ROOM 2048
#define ETH_TEST  0x88b5      /* IEEE 802 local experimental ethertype */
#define NS_ADDR	  "10.77.0.1" /* the namespace's address on the tap */
#define PEER_ADDR "10.77.0.2" /* the switch side's (our frames') address */

static const uint8_t peer_mac[6] = {0x02, 0x52, 0x53, 0x00, 0x00, 0x02};

struct tap_fx {
	char ifname[IFNAMSIZ];
	char ns[32];
	bool ns_made;
	struct port port;
	bool opened;
	int ready[2], stopped[2], link_up, link_down;
	struct pbuf_pool pool;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static const char *missing_requirement(void)
{
	if (geteuid() != 0)
		return "root";
	if (access("/dev/net/tun", R_OK | W_OK) != 0)
		return "/dev/net/tun";
	if (run("ip -V >/dev/null 2>&1") != 0)
		return "ip(8)";
	if (run("ip netns add rs-tap-probe-%d >/dev/null 2>&1", (int)getpid()) != 0)
		return "network namespaces";
	run("ip netns del rs-tap-probe-%d >/dev/null 2>&1", (int)getpid());
	return NULL;
}

/* ---- port events (this thread is the control thread) --------------------- */

static void on_queue_state(void *opaque, struct port *p, enum port_dir dir, uint16_t q, bool ready)
{
	struct tap_fx *f = opaque;

	assert_ptr_equal(p, &f->port);
	assert_true(q < p->cfg.queues);
	if (ready)
		f->ready[dir]++;
	else
		f->stopped[dir]++;
}

static void on_link_state(void *opaque, struct port *p, bool up)
{
	struct tap_fx *f = opaque;

	assert_ptr_equal(p, &f->port);
	if (up)
		f->link_up++;
	else
		f->link_down++;
}

/* The fixture goes in *state so that the teardown cleans up after a failed assertion. */
static bool fx_no_offloads; /* the next fx_new() opens the port with offloads=off */

static struct tap_fx *fx_new(void **state, uint16_t queues)
{
	struct tap_fx *f = calloc(1, sizeof(*f));
	struct port *p = &f->port;

	assert_non_null(f);
	*state = f;
	snprintf(f->ifname, sizeof(f->ifname), "rst%u", (unsigned)getpid() % 1000000);
	snprintf(f->ns, sizeof(f->ns), "rs-port-tap-%d", (int)getpid());
	assert_int_equal(pbuf_pool_init(&f->pool, POOL_BUFS, POOL_ROOM), 0);
	p->id = 3;
	snprintf(p->name, sizeof(p->name), "tapport");
	p->cfg.type = PORT_TAP;
	memcpy(p->cfg.name, p->name, sizeof(p->name));
	memcpy(p->cfg.ifname, f->ifname, sizeof(f->ifname));
	p->cfg.queues = queues;
	p->cfg.no_offloads = fx_no_offloads;
	p->ops = port_ops_for(PORT_TAP);
	p->events.queue_state = on_queue_state;
	p->events.link_state = on_link_state;
	p->events_opaque = f;
	assert_int_equal(p->ops->open(p), 0);
	f->opened = true;
	return f;
}

static void fx_close_port(struct tap_fx *f)
{
	if (!f->opened)
		return;
	f->port.ops->close(&f->port);
	f->opened = false;
}

static void fx_free(struct tap_fx *f)
{
	fx_close_port(f);
	if (f->ns_made)
		run("ip netns del %s", f->ns);
	pbuf_pool_fini(&f->pool);
	free(f);
}

/* Moves the tap into a fresh namespace, up, with NS_ADDR. */
static void fx_move_to_ns(struct tap_fx *f)
{
	assert_int_equal(run("ip netns add %s", f->ns), 0);
	f->ns_made = true;
	/* Quiet: no IPv6 autoconfiguration chatter on the tap (best effort). */
	run("ip netns exec %s sysctl -qw net.ipv6.conf.default.disable_ipv6=1 2>/dev/null", f->ns);
	assert_int_equal(run("ip link set %s netns %s", f->ifname, f->ns), 0);
	assert_int_equal(run("ip -n %s link set %s up", f->ns, f->ifname), 0);
	assert_int_equal(run("ip -n %s addr add %s/24 dev %s", f->ns, NS_ADDR, f->ifname), 0);
}

/* Creates a socket inside the namespace (it stays there after we leave). */
static int ns_socket(struct tap_fx *f, int domain, int type, int proto, unsigned *ifindex)
{
	char path[64];
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);

	snprintf(path, sizeof(path), "/run/netns/%s", f->ns);
	int nsfd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(self >= 0 && nsfd >= 0);
	assert_int_equal(setns(nsfd, CLONE_NEWNET), 0);
	int s = socket(domain, type | SOCK_CLOEXEC, proto);
	if (ifindex)
		*ifindex = if_nametoindex(f->ifname);
	assert_int_equal(setns(self, CLONE_NEWNET), 0);
	close(self);
	close(nsfd);
	assert_true(s >= 0);
	return s;
}

/* An AF_PACKET socket on the tap inside the namespace: the wire's far end. */
static int wire_open(struct tap_fx *f, unsigned *ifindex)
{
	int s = ns_socket(f, AF_PACKET, SOCK_RAW, htons(ETH_P_ALL), ifindex);
	struct sockaddr_ll sll = {.sll_family = AF_PACKET,
				  .sll_protocol = htons(ETH_P_ALL),
				  .sll_ifindex = (int)*ifindex};

	assert_true(*ifindex > 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sll, sizeof(sll)), 0);
	return s;
}

/* ---- frames -------------------------------------------------------------- */

static size_t frame_len(unsigned seed)
{
	return 60 + (seed * 211) % 1440;
}

static void frame_fill(uint8_t *fr, size_t len, unsigned seed)
{
	memset(fr, 0xff, 6); /* broadcast: every host takes it */
	memcpy(fr + 6, peer_mac, 6);
	fr[12] = ETH_TEST >> 8;
	fr[13] = ETH_TEST & 0xff;
	for (size_t i = 14; i < len; i++)
		fr[i] = (uint8_t)(seed * 13 + i * 5);
}

static uint16_t ethertype(const uint8_t *fr)
{
	return (uint16_t)(fr[12] << 8 | fr[13]);
}

/* Next ETH_TEST frame arriving on the wire socket (ignoring other traffic); its length. */
static size_t wire_recv(int s, uint8_t *buf, size_t cap)
{
	uint64_t deadline = now_ms() + WAIT_MS;

	while (now_ms() < deadline) {
		struct pollfd p = {.fd = s, .events = POLLIN};
		if (poll(&p, 1, 100) <= 0)
			continue;
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(s, buf, cap, 0, (struct sockaddr *)&from, &fl);
		assert_true(n >= 0);
		if (from.sll_pkttype == PACKET_OUTGOING || n < 14 || ethertype(buf) != ETH_TEST)
			continue;
		return (size_t)n;
	}
	fail_msg("no frame on the wire within %d ms", WAIT_MS);
	return 0;
}

/* Polls rx queue q until a frame with 'type' arrives; frees everything else. */
static struct pbuf *port_recv_type(struct tap_fx *f, uint16_t q, uint16_t type)
{
	struct port *p = &f->port;
	uint64_t deadline = now_ms() + WAIT_MS;

	while (now_ms() < deadline) {
		struct pbuf *pkts[32];
		int n = p->ops->rx_burst(p, q, &f->pool, pkts, 32);
		assert_true(n >= 0);
		struct pbuf *hit = NULL;
		for (int i = 0; i < n; i++) {
			if (!hit && pkts[i]->len >= 14 && ethertype(pkts[i]->data) == type)
				hit = pkts[i];
			else
				pbuf_free(&f->pool, pkts[i]);
		}
		if (hit)
			return hit;
		if (n == 0) {
			struct pollfd pf = {.fd = p->ops->rxq_wait_fd(p, q), .events = POLLIN};
			(void)poll(&pf, 1, 50); /* level-triggered: readable while frames wait */
		}
	}
	return NULL;
}

static struct port_queue_stats stats(struct tap_fx *f, enum port_dir dir, uint16_t q)
{
	struct port_queue_stats s;

	f->port.ops->queue_stats(&f->port, dir, q, &s);
	return s;
}

static int port_send(struct tap_fx *f, uint16_t q, const uint8_t *fr, size_t len)
{
	struct pbuf *b = pbuf_alloc(&f->pool);

	assert_non_null(b);
	memcpy(b->data, fr, len);
	b->len = (uint32_t)len;
	int r = f->port.ops->tx_burst(&f->port, q, &b, 1);
	pbuf_free(&f->pool, b);
	return r;
}

/* ---- tests --------------------------------------------------------------- */

static bool link_is_up(const char *ifname)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(s >= 0);
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, ifname, strnlen(ifname, IFNAMSIZ - 1));
	int rc = ioctl(s, SIOCGIFFLAGS, &ifr);
	close(s);
	return rc == 0 && (ifr.ifr_flags & IFF_UP);
}

/* Frames both ways byte for byte, an ARP exchange with the kernel, stats, close. */
static void test_tap_frames(void **state)
{
	struct tap_fx *f = fx_new(state, 1);
	struct port *p = &f->port;
	uint8_t fr[POOL_ROOM], got[POOL_ROOM];
	unsigned ifindex = 0;

	/* Ready at once, link up. */
	assert_int_equal(f->ready[PORT_RX], 1);
	assert_int_equal(f->ready[PORT_TX], 1);
	assert_int_equal(f->link_up, 1);
	assert_int_equal(p->ops->nr_queues(p, PORT_RX), 1);
	assert_int_equal(p->ops->nr_queues(p, PORT_TX), 1);
	assert_int_equal(p->ops->pollfds(p, NULL, 0), 0);
	assert_int_equal(p->ops->timeout_ms(p, 0), -1);
	assert_false(p->ops->rxq_notify(p, 0, true));
	assert_true(if_nametoindex(f->ifname) > 0);
	assert_true(link_is_up(f->ifname));

	fx_move_to_ns(f);
	int wire = wire_open(f, &ifindex);

	/* Switch -> kernel. */
	uint64_t tx_bytes = 0;
	for (unsigned i = 0; i < 20; i++) {
		size_t len = frame_len(i);
		frame_fill(fr, len, i);
		assert_int_equal(port_send(f, 0, fr, len), 1);
		tx_bytes += len;
		size_t n = wire_recv(wire, got, sizeof(got));
		assert_int_equal(n, len);
		assert_memory_equal(got, fr, len);
	}

	/* Kernel -> switch. */
	struct sockaddr_ll to = {
	    .sll_family = AF_PACKET, .sll_ifindex = (int)ifindex, .sll_halen = 6};
	memset(to.sll_addr, 0xff, 6);
	uint64_t rx_bytes = 0;
	for (unsigned i = 100; i < 120; i++) {
		size_t len = frame_len(i);
		frame_fill(fr, len, i);
		assert_int_equal(sendto(wire, fr, len, 0, (struct sockaddr *)&to, sizeof(to)),
				 (ssize_t)len);
		struct pbuf *b = port_recv_type(f, 0, ETH_TEST);
		assert_non_null(b);
		assert_int_equal(b->len, len);
		assert_memory_equal(b->data, fr, len);
		assert_int_equal(b->in_port, 3);
		assert_int_equal(b->in_queue, 0);
		rx_bytes += len;
		pbuf_free(&f->pool, b);
	}

	/* The kernel parses what we send: it answers an ARP request (RFC 826). */
	static const uint8_t arp_tail[] = {0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01};
	uint8_t arp[60] = {0};
	memset(arp, 0xff, 6);
	memcpy(arp + 6, peer_mac, 6);
	arp[12] = 0x08, arp[13] = 0x06;
	memcpy(arp + 14, arp_tail, sizeof(arp_tail));
	memcpy(arp + 22, peer_mac, 6);
	assert_int_equal(inet_pton(AF_INET, PEER_ADDR, arp + 28), 1);
	assert_int_equal(inet_pton(AF_INET, NS_ADDR, arp + 38), 1);
	assert_int_equal(port_send(f, 0, arp, sizeof(arp)), 1);
	struct pbuf *reply = port_recv_type(f, 0, 0x0806);
	assert_non_null(reply);
	assert_memory_equal(reply->data, peer_mac, 6);	    /* to us */
	assert_int_equal(reply->data[21], 2);		    /* ARP reply */
	assert_memory_equal(reply->data + 28, arp + 38, 4); /* from NS_ADDR */
	assert_memory_equal(reply->data + 32, peer_mac, 6);
	pbuf_free(&f->pool, reply);

	struct port_queue_stats s = stats(f, PORT_TX, 0);
	assert_int_equal(s.packets, 21);
	assert_int_equal(s.bytes, tx_bytes + sizeof(arp));
	assert_int_equal(s.drop_full + s.drop_too_big + s.drop_error, 0);
	s = stats(f, PORT_RX, 0);
	assert_true(s.packets >= 21); /* ours and the ARP reply, maybe other chatter */
	assert_true(s.bytes >= rx_bytes);
	assert_int_equal(s.drop_malformed + s.drop_too_big, 0);
	assert_int_equal(s.broken, 0);

	/* The interface taken down: the kernel refuses frames, counted as errors. */
	assert_int_equal(run("ip -n %s link set %s down", f->ns, f->ifname), 0);
	assert_int_equal(port_send(f, 0, arp, sizeof(arp)), 0);
	s = stats(f, PORT_TX, 0);
	assert_int_equal(s.drop_error, 1);
	assert_int_equal(s.packets, 21);

	/* Close: queues stopped, link down, and the interface goes with the last fd. */
	close(wire);
	fx_close_port(f);
	assert_int_equal(f->stopped[PORT_RX], 1);
	assert_int_equal(f->stopped[PORT_TX], 1);
	assert_int_equal(f->link_down, 1);
	assert_true(run("ip -n %s link show %s >/dev/null 2>&1", f->ns, f->ifname) != 0);
	fx_free(f);
	*state = NULL;
}

/* A frame larger than the pbuf is dropped whole, never truncated; one that fills it passes. */
static void test_tap_too_big(void **state)
{
	struct tap_fx *f = fx_new(state, 1);
	uint8_t fr[POOL_ROOM + 200];
	unsigned ifindex = 0;

	fx_move_to_ns(f);
	assert_int_equal(run("ip -n %s link set %s mtu 4000", f->ns, f->ifname), 0);
	int wire = wire_open(f, &ifindex);
	struct sockaddr_ll to = {
	    .sll_family = AF_PACKET, .sll_ifindex = (int)ifindex, .sll_halen = 6};
	memset(to.sll_addr, 0xff, 6);
	frame_fill(fr, sizeof(fr), 1);
	assert_int_equal(sendto(wire, fr, sizeof(fr), 0, (struct sockaddr *)&to, sizeof(to)),
			 (ssize_t)sizeof(fr));
	/* Exactly the pbuf's room fits. */
	frame_fill(fr, POOL_ROOM, 2);
	assert_int_equal(sendto(wire, fr, POOL_ROOM, 0, (struct sockaddr *)&to, sizeof(to)),
			 POOL_ROOM);
	struct pbuf *b = port_recv_type(f, 0, ETH_TEST);
	assert_non_null(b);
	assert_int_equal(b->len, POOL_ROOM);
	assert_memory_equal(b->data, fr, POOL_ROOM);
	pbuf_free(&f->pool, b);
	assert_int_equal(stats(f, PORT_RX, 0).drop_too_big, 1);
	close(wire);
	fx_free(f);
	*state = NULL;
}

/*
 * With offloads=off, offload metadata we did not ask for is dropped: checksum
 * offload is turned on behind the port's back, so the kernel hands a UDP
 * datagram over with NEEDS_CSUM (virtio 1.2 section 5.1.6.2).
 */
static void test_tap_malformed(void **state)
{
	fx_no_offloads = true;
	struct tap_fx *f = fx_new(state, 1);
	fx_no_offloads = false;
	struct port *p = &f->port;
	assert_int_equal(p->ol_rx | p->ol_tx, 0);

	fx_move_to_ns(f);
	assert_int_equal(run("ip -n %s neigh add %s lladdr 02:52:53:00:00:02 dev %s", f->ns,
			     PEER_ADDR, f->ifname),
			 0);
	assert_int_equal(ioctl(p->ops->rxq_wait_fd(p, 0), TUNSETOFFLOAD, (unsigned long)TUN_F_CSUM),
			 0);
	int u = ns_socket(f, AF_INET, SOCK_DGRAM, 0, NULL);
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(9)};
	assert_int_equal(inet_pton(AF_INET, PEER_ADDR, &to.sin_addr), 1);
	char msg[200] = "ringswitch";
	uint64_t deadline = now_ms() + WAIT_MS;
	while (stats(f, PORT_RX, 0).drop_malformed == 0 && now_ms() < deadline) {
		assert_int_equal(sendto(u, msg, sizeof(msg), 0, (struct sockaddr *)&to, sizeof(to)),
				 (ssize_t)sizeof(msg));
		struct pbuf *pkts[32];
		int n;
		while ((n = p->ops->rx_burst(p, 0, &f->pool, pkts, 32)) > 0)
			pbuf_free_bulk(&f->pool, pkts, (unsigned)n);
		usleep(20000);
	}
	assert_true(stats(f, PORT_RX, 0).drop_malformed >= 1);
	close(u);
	fx_free(f);
	*state = NULL;
}

/*
 * Offloads on (the default): the port reports checksum and TSO both ways, and
 * a UDP datagram from the kernel arrives with its partial checksum described
 * in pbuf.ol (NEEDS_CSUM at the UDP checksum field), not dropped.
 */
static void test_tap_offloads(void **state)
{
	struct tap_fx *f = fx_new(state, 1);
	struct port *p = &f->port;
	uint32_t want = PORT_OL_CSUM | PORT_OL_TSO4 | PORT_OL_TSO6 | PORT_OL_ECN;

	assert_int_equal(p->ol_rx & want, want);
	assert_int_equal(p->ol_tx, p->ol_rx);
	fx_move_to_ns(f);
	assert_int_equal(run("ip -n %s neigh add %s lladdr 02:52:53:00:00:02 dev %s", f->ns,
			     PEER_ADDR, f->ifname),
			 0);
	int u = ns_socket(f, AF_INET, SOCK_DGRAM, 0, NULL);
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(9)};
	assert_int_equal(inet_pton(AF_INET, PEER_ADDR, &to.sin_addr), 1);
	char msg[200] = "ringswitch";
	bool seen = false;
	uint64_t deadline = now_ms() + WAIT_MS;
	while (!seen && now_ms() < deadline) {
		assert_int_equal(sendto(u, msg, sizeof(msg), 0, (struct sockaddr *)&to, sizeof(to)),
				 (ssize_t)sizeof(msg));
		struct pbuf *pkts[32];
		int n;
		while ((n = p->ops->rx_burst(p, 0, &f->pool, pkts, 32)) > 0) {
			for (int k = 0; k < n; k++) {
				struct pbuf *b = pkts[k];
				/* IPv4 (no options) + UDP to port 9 */
				if (b->len == 14 + 20 + 8 + sizeof(msg) && ethertype(b->data) == 0x0800 &&
				    b->data[23] == 17) {
					assert_true(b->ol.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM);
					assert_int_equal(b->ol.csum_start, 34);
					assert_int_equal(b->ol.csum_offset, 6);
					assert_int_equal(b->ol.gso_type, VIRTIO_NET_HDR_GSO_NONE);
					seen = true;
				}
			}
			pbuf_free_bulk(&f->pool, pkts, (unsigned)n);
		}
		usleep(20000);
	}
	assert_true(seen);
	assert_int_equal(stats(f, PORT_RX, 0).drop_malformed, 0);
	close(u);
	fx_free(f);
	*state = NULL;
}

/* One fd per queue (IFF_MULTI_QUEUE); every queue sends, the kernel's frames reach us. */
static void test_tap_multiqueue(void **state)
{
	struct tap_fx *f = fx_new(state, 4);
	struct port *p = &f->port;
	uint8_t fr[POOL_ROOM], got[POOL_ROOM];
	unsigned ifindex = 0;

	assert_int_equal(f->ready[PORT_RX], 4);
	assert_int_equal(f->ready[PORT_TX], 4);
	assert_int_equal(p->ops->nr_queues(p, PORT_RX), 4);
	for (uint16_t q = 0; q < 4; q++)
		for (uint16_t r = 0; r < q; r++)
			assert_int_not_equal(p->ops->rxq_wait_fd(p, q), p->ops->rxq_wait_fd(p, r));
	assert_int_equal(p->ops->rxq_wait_fd(p, 4), -1);

	fx_move_to_ns(f);
	int wire = wire_open(f, &ifindex);
	for (uint16_t q = 0; q < 4; q++) {
		size_t len = frame_len(q);
		frame_fill(fr, len, q);
		assert_int_equal(port_send(f, q, fr, len), 1);
		assert_int_equal(wire_recv(wire, got, sizeof(got)), len);
		assert_memory_equal(got, fr, len);
		assert_int_equal(stats(f, PORT_TX, q).packets, 1);
	}

	/* The kernel picks the queue; every frame must come out of one of them. */
	struct sockaddr_ll to = {
	    .sll_family = AF_PACKET, .sll_ifindex = (int)ifindex, .sll_halen = 6};
	memset(to.sll_addr, 0xff, 6);
	bool seen[16] = {false};
	for (unsigned i = 0; i < 16; i++) {
		frame_fill(fr, frame_len(i), i);
		fr[6 + 5] = (uint8_t)i; /* vary the flow */
		assert_true(sendto(wire, fr, frame_len(i), 0, (struct sockaddr *)&to, sizeof(to)) >
			    0);
	}
	unsigned found = 0;
	uint64_t deadline = now_ms() + WAIT_MS;
	while (found < 16 && now_ms() < deadline) {
		for (uint16_t q = 0; q < 4; q++) {
			struct pbuf *pkts[32];
			int n = p->ops->rx_burst(p, q, &f->pool, pkts, 32);
			assert_true(n >= 0);
			for (int k = 0; k < n; k++) {
				struct pbuf *b = pkts[k];
				assert_int_equal(b->in_queue, q);
				if (b->len >= 14 && ethertype(b->data) == ETH_TEST) {
					unsigned i = b->data[11];
					assert_true(i < 16);
					frame_fill(fr, frame_len(i), i);
					fr[11] = (uint8_t)i;
					assert_int_equal(b->len, frame_len(i));
					assert_memory_equal(b->data, fr, b->len);
					assert_false(seen[i]);
					seen[i] = true;
					found++;
				}
				pbuf_free(&f->pool, b);
			}
		}
		usleep(1000);
	}
	assert_int_equal(found, 16);
	close(wire);
	fx_close_port(f);
	assert_int_equal(f->stopped[PORT_RX], 4);
	assert_int_equal(f->stopped[PORT_TX], 4);
	fx_free(f);
	*state = NULL;
}

static void test_tap_open_errors(void **state)
{
	(void)state;
	struct port p;

	memset(&p, 0, sizeof(p));
	p.cfg.type = PORT_TAP;
	p.cfg.queues = 0;
	assert_int_equal(port_tap_ops.open(&p), -EINVAL);
	p.cfg.queues = PORT_MAX_QUEUES + 1;
	assert_int_equal(port_tap_ops.open(&p), -EINVAL);
	p.cfg.queues = 1; /* no name at all */
	assert_int_equal(port_tap_ops.open(&p), -EINVAL);
	assert_null(p.priv);
}

static int teardown(void **state)
{
	if (*state)
		fx_free(*state);
	*state = NULL;
	return 0;
}

int main(void)
{
	const struct CMUnitTest basic[] = {
	    cmocka_unit_test(test_tap_open_errors),
	};
	const struct CMUnitTest kernel[] = {
	    cmocka_unit_test_teardown(test_tap_frames, teardown),
	    cmocka_unit_test_teardown(test_tap_too_big, teardown),
	    cmocka_unit_test_teardown(test_tap_malformed, teardown),
	    cmocka_unit_test_teardown(test_tap_offloads, teardown),
	    cmocka_unit_test_teardown(test_tap_multiqueue, teardown),
	};
	int rc = cmocka_run_group_tests_name("tap_basic", basic, NULL, NULL);
	const char *missing = missing_requirement();

	if (missing) {
		/* 77: meson reports the test as skipped, not passed. */
		fprintf(stderr, "SKIP: the tap kernel tests need %s\n", missing);
		return rc ? rc : 77;
	}
	return rc + cmocka_run_group_tests_name("tap_kernel", kernel, NULL, NULL);
}
