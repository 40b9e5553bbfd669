/*
 * dp_pipeline.c - what happens to one received burst: each frame is parsed
 * once into a flow key, looked up in the thread's exact-match cache and then
 * the classifier (or, with no rules, handed to 'normal'), its actions run, and
 * its outputs are collected per destination port. After the burst every
 * destination gets its frames in one tx burst per tx queue; the queue is the
 * flow hash modulo the destination's ready queues, so one flow always lands on
 * one queue. Frames are copied by the port's tx, so one pbuf may go to many
 * ports; every buffer of the burst is freed at the end.
 *
 * VLANs follow OVS: a port's access tag or trunk list applies to the normal
 * and flood actions; output:PORT sends the frame as it is.
 */
#include "dp_internal.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "../net/pkt_parse.h"
#include "../net/pkt_vlan.h"
#include "dp_memo.h"

#define DP_MAX_CLONES (2 * DP_BURST)

/* Frames bound for one destination port during one burst. */
struct dp_batch {
	uint16_t n;
	struct pbuf *pkts[DP_BURST * 2];
	uint32_t hash[DP_BURST * 2];
};

struct dp_burst {
	struct dp_thread *t;
	const struct dp_view *v;
	uint32_t in;
	uint32_t last_out; /* the last port dp_out found ready in this burst; 0: none */
	uint16_t n_dest;
	uint8_t dest[DP_MAX_PORTS]; /* ports with a batch, in first-use order */
	uint8_t has_batch[DP_MAX_PORTS];
	struct dp_batch batch[DP_MAX_PORTS];
	uint16_t n_clones;
	struct pbuf *clones[DP_MAX_CLONES];
	struct dp_memo memo;
	struct dp_l2_memo l2; /* normal's last learning decision in this burst */
};

/* Per-packet variants for VLAN egress: the frame untagged and tagged with its VLAN. */
struct dp_variants {
	struct pbuf *untagged;
	struct pbuf *tagged;
	uint16_t vlan;
	uint16_t pcp; /* the ingress tag's priority, kept on egress as OVS does */
};

static struct pbuf *dp_clone(struct dp_burst *b, const struct pbuf *src)
{
	if (b->n_clones >= DP_MAX_CLONES)
		return NULL;
	struct pbuf *c = pbuf_alloc_len(&b->t->pool, src->len); /* a super-frame: a big one */
	if (!c)
		return NULL;
	if (src->tail) { /* the clone shares the read-only tail: still one copy of it */
		memcpy(c->data, src->data, src->head);
		c->head = src->head;
		c->tail = src->tail;
	} else {
		memcpy(c->data, src->data, src->len);
	}
	c->len = src->len;
	c->ol = src->ol;
	c->hash = src->hash;
	b->clones[b->n_clones++] = c;
	return c;
}

/* Is 'port' ready to send (else counted as a drop)? Opens its batch for this burst. */
static bool dp_out_open(struct dp_burst *b, uint32_t port)
{
	if (port >= b->v->max_port || !b->v->ports[port].port || b->v->ports[port].n_txq == 0) {
		if (port < DP_MAX_PORTS)
			rs_stat_add(&b->t->pc[port].drop_not_ready, 1);
		return false;
	}
	if (!b->has_batch[port]) {
		b->has_batch[port] = 1;
		b->dest[b->n_dest++] = (uint8_t)port;
		b->batch[port].n = 0;
	}
	b->last_out = port;
	return true;
}

static void dp_out(struct dp_burst *b, uint32_t port, struct pbuf *pkt, uint32_t hash)
{
	if (RS_UNLIKELY(!pkt))
		return; /* a clone the pool could not supply */
	/* A burst mostly goes to one port: its checks are made once. */
	if (port != b->last_out && !dp_out_open(b, port))
		return;
	struct dp_batch *bt = &b->batch[port];
	if (bt->n >= RS_ARRAY_SIZE(bt->pkts))
		return;
	bt->pkts[bt->n] = pkt;
	bt->hash[bt->n++] = hash;
}

/* ---- VLAN membership (normal / flood) ---- */

static bool dp_trunk_allows(const struct dp_pview *pv, uint16_t vid)
{
	return pv->trunk_all || (pv->vlan.trunks[vid / 64] >> (vid % 64)) & 1;
}

static bool dp_port_in_vlan(const struct dp_pview *pv, uint16_t vid)
{
	if (pv->vlan.mode == DP_VLAN_ACCESS)
		return pv->vlan.tag == vid;
	return dp_trunk_allows(pv, vid);
}

/* The VLAN a frame belongs to on ingress, or -1 when the port does not admit it. */
static int dp_ingress_vlan(const struct dp_pview *pv, const struct flow_key *key)
{
	bool tagged = key->vlan_tci & htons(FLOW_VLAN_PRESENT);
	uint16_t vid = tagged ? ntohs(key->vlan_tci) & FLOW_VLAN_VID_MASK : 0;
	if (pv->vlan.mode == DP_VLAN_ACCESS)
		return vid == 0 ? pv->vlan.tag : -1; /* priority tags (VID 0) are accepted */
	return dp_trunk_allows(pv, vid) ? vid : -1;
}

/* The frame as port 'pv' must receive it for VLAN 'var->vlan'; NULL when out of buffers. */
static struct pbuf *dp_variant_for(struct dp_burst *b, struct dp_variants *var,
				   const struct dp_pview *pv)
{
	bool want_tag = pv->vlan.mode == DP_VLAN_TRUNK && var->vlan != 0;
	if (!want_tag)
		return var->untagged;
	if (!var->tagged) {
		struct pbuf *c = dp_clone(b, var->untagged);
		if (c &&
		    pkt_vlan_push(c, (uint16_t)(var->vlan | var->pcp << FLOW_VLAN_PCP_SHIFT)) == 0)
			var->tagged = c;
	}
	return var->tagged;
}

static void dp_out_vlan(struct dp_burst *b, struct dp_variants *var, uint32_t port, uint32_t hash)
{
	struct pbuf *p = dp_variant_for(b, var, &b->v->ports[port]);
	if (p)
		dp_out(b, port, p, hash);
}

static void dp_flood(struct dp_burst *b, struct dp_variants *var, uint32_t hash)
{
	for (uint32_t id = 1; id < b->v->max_port; id++) {
		const struct dp_pview *pv = &b->v->ports[id];
		if (id == b->in || !pv->port || pv->n_txq == 0 || !dp_port_in_vlan(pv, var->vlan))
			continue;
		dp_out_vlan(b, var, id, hash);
	}
}

/*
 * Learns the source of a frame of VLAN 'vlan' and returns the port its
 * destination was learnt on, or -1 (unknown or multicast: flood); the same
 * addresses again in the burst take the answer from b->l2.
 */
static int dp_normal_learn(struct dp_burst *b, const struct flow_key *key, uint16_t vlan)
{
	struct dp_thread *t = b->t;
	struct dp_l2_memo *l2 = &b->l2;
	if (l2->valid && l2->vlan == vlan && !memcmp(&l2->src, &key->dl_src, 6) &&
	    !memcmp(&l2->dst, &key->dl_dst, 6))
		return l2->port;
	if (!(key->dl_src.b[0] & 1))
		(void)ml_learn(t->dp->ml, vlan, &key->dl_src, (uint16_t)b->in, t->now_s);
	int port = key->dl_dst.b[0] & 1 ? -1 : ml_lookup(t->dp->ml, vlan, &key->dl_dst, t->now_s);
	*l2 = (struct dp_l2_memo){
	    .valid = true, .vlan = vlan, .src = key->dl_src, .dst = key->dl_dst, .port = port};
	return port;
}

/*
 * The L2 learning switch: learn the source, forward to the known destination
 * in the same VLAN, else flood the VLAN; never back out of the ingress port.
 * 'learn' is false for the flood action. Returns the destination port when
 * the frame went, unchanged, to that one port (the same key in the same
 * burst goes there too: dp_normal_learn's memo), else 0.
 */
static uint32_t dp_normal(struct dp_burst *b, struct pbuf *pkt, const struct flow_key *key,
			  uint32_t hash, bool learn)
{
	struct dp_thread *t = b->t;
	int vlan = dp_ingress_vlan(&b->v->ports[b->in], key);
	if (vlan < 0) {
		rs_stat_add(&t->pc[b->in].drop_vlan, 1);
		return 0;
	}
	/* Work on the untagged frame: egress adds the tag back where a trunk wants it. */
	struct dp_variants var = {.untagged = pkt, .vlan = (uint16_t)vlan};
	if (key->vlan_tci & htons(FLOW_VLAN_PRESENT)) {
		var.pcp = ntohs(key->vlan_tci) >> FLOW_VLAN_PCP_SHIFT;
		struct pbuf *c = dp_clone(b, pkt);
		if (!c || pkt_vlan_pop(c))
			return 0;
		var.untagged = c;
	}
	if (learn) {
		int port = dp_normal_learn(b, key, (uint16_t)vlan);
		if (port == (int)b->in)
			return 0;
		if (port > 0 && (uint32_t)port < b->v->max_port && b->v->ports[port].port &&
		    dp_port_in_vlan(&b->v->ports[port], var.vlan)) {
			struct pbuf *out = dp_variant_for(b, &var, &b->v->ports[port]);
			if (out)
				dp_out(b, (uint32_t)port, out, hash);
			return out == pkt ? (uint32_t)port : 0;
		}
	}
	dp_flood(b, &var, hash);
	return 0;
}

/* ---- port security ---- */

static bool dp_sec_mac_ok(const struct dp_port_sec *sec, const struct eth_addr *a)
{
	for (unsigned i = 0; i < sec->n_mac; i++)
		if (memcmp(sec->mac[i].b, a->b, 6) == 0)
			return true;
	return false;
}

static bool dp_sec_ip_ok(const struct dp_port_sec *sec, uint32_t ip)
{
	for (unsigned i = 0; i < sec->n_ip; i++)
		if (sec->ip[i] == ip)
			return true;
	return false;
}

/*
 * May port 'pv' send the frame parsed into 'key'? See struct dp_port_sec.
 * Only called when the port has a list.
 */
static bool dp_sec_allows(const struct dp_port_sec *sec, const struct flow_key *key)
{
	bool arp = key->dl_type == htons(0x0806);
	if (sec->n_mac) {
		if (!dp_sec_mac_ok(sec, &key->dl_src))
			return false;
		if (arp && !dp_sec_mac_ok(sec, &key->arp_sha))
			return false;
	}
	if (!sec->n_ip)
		return true;
	if (arp) /* 0.0.0.0: an ARP probe (RFC 5227 2.1.1) */
		return key->nw_src == 0 || dp_sec_ip_ok(sec, key->nw_src);
	if (key->dl_type != htons(0x0800))
		return true;  /* allowed-ip restricts IPv4 and ARP; other types only by MAC */
	if (key->nw_src == 0) /* a DHCP client without an address yet */
		return key->nw_proto == 17 && !(key->nw_frag & FLOW_FRAG_LATER) &&
		       key->tp_src == htons(68) && key->tp_dst == htons(67);
	return dp_sec_ip_ok(sec, key->nw_src);
}

/* ---- actions ---- */

static bool dp_modifies_after(const struct action_list *al, unsigned i)
{
	for (unsigned j = i + 1; j < al->n; j++) {
		uint8_t ty = al->a[j].type;
		if (ty == ACT_PUSH_VLAN || ty == ACT_POP_VLAN || ty == ACT_SET_ETH_SRC ||
		    ty == ACT_SET_ETH_DST)
			return true;
	}
	return false;
}

/* The key the actions may change: 'own', a copy of 'key' made at the first change. */
static struct flow_key *dp_key_own(struct flow_key *own, const struct flow_key **key)
{
	if (*key != own)
		*own = **key;
	*key = own;
	return own;
}

/* Runs 'al' on 'pkt'; 'key' may be the memo's, so it is copied before any change. */
static void dp_execute(struct dp_burst *b, struct pbuf *pkt, const struct flow_key *key,
		       uint32_t hash, const struct action_list *al)
{
	struct flow_key own;

	if (al->n == 1 && al->a[0].type == ACT_OUTPUT) { /* the commonest list: no clone */
		if (al->a[0].port != b->in)
			dp_out(b, al->a[0].port, pkt, hash);
		return;
	}
	for (unsigned i = 0; i < al->n && pkt; i++) {
		const struct action *a = &al->a[i];
		switch (a->type) {
		case ACT_OUTPUT:
			if (a->port == b->in)
				break; /* OpenFlow: output to the ingress port is a no-op */
			dp_out(b, a->port, dp_modifies_after(al, i) ? dp_clone(b, pkt) : pkt, hash);
			break;
		case ACT_NORMAL:
			(void)dp_normal(b, pkt, key, hash, true);
			break;
		case ACT_FLOOD:
			(void)dp_normal(b, pkt, key, hash, false);
			break;
		case ACT_PUSH_VLAN:
			if (pkt_vlan_push(pkt, (uint16_t)(a->vid | (uint16_t)a->pcp << 13)) == 0)
				dp_key_own(&own, &key)->vlan_tci = htons((
				    uint16_t)(a->vid | (uint16_t)a->pcp << 13 | FLOW_VLAN_PRESENT));
			break;
		case ACT_POP_VLAN:
			if (pkt_vlan_pop(pkt) == 0)
				dp_key_own(&own, &key)->vlan_tci = 0;
			break;
		case ACT_SET_ETH_SRC:
			pkt_set_eth_src(pkt, &a->mac);
			dp_key_own(&own, &key)->dl_src = a->mac;
			break;
		case ACT_SET_ETH_DST:
			pkt_set_eth_dst(pkt, &a->mac);
			dp_key_own(&own, &key)->dl_dst = a->mac;
			break;
		default: /* ACT_DROP */
			return;
		}
	}
}

/* ---- output ---- */

/* Sends a destination's frames, one tx burst per tx queue. */
static void dp_flush_port(struct dp_burst *b, uint32_t port)
{
	const struct dp_pview *pv = &b->v->ports[port];
	struct dp_batch *bt = &b->batch[port];
	struct pbuf *q_pkts[RS_ARRAY_SIZE(bt->pkts)];
	uint8_t qsel[RS_ARRAY_SIZE(bt->pkts)];
	bool done[RS_ARRAY_SIZE(bt->pkts)] = {0};

	if (pv->n_txq == 1) { /* one queue: no grouping, no division per frame */
		dp_ol_tx(b->t, b->v, port, pv->txq[0], bt->pkts, bt->n);
		bt->n = 0;
		b->has_batch[port] = 0;
		return;
	}
	for (unsigned i = 0; i < bt->n; i++)
		qsel[i] = pv->txq[bt->hash[i] % pv->n_txq];
	for (unsigned i = 0; i < bt->n; i++) {
		if (done[i])
			continue;
		unsigned n = 0;
		for (unsigned j = i; j < bt->n; j++) {
			if (!done[j] && qsel[j] == qsel[i]) {
				q_pkts[n++] = bt->pkts[j];
				done[j] = true;
			}
		}
		dp_ol_tx(b->t, b->v, port, qsel[i], q_pkts, n);
	}
	bt->n = 0;
	b->has_batch[port] = 0;
}

struct dp_burst *dp_burst_new(void)
{
	return calloc(1, sizeof(struct dp_burst));
}

/* Per-burst totals, added to the shared counters once per burst (or rule run). */
struct dp_tally {
	uint64_t rx_packets, rx_bytes;
	const struct cls_rule *rule; /* the rule of the current run of packets */
	uint64_t rule_packets, rule_bytes;
};

/* Adds the run of frames of ty->rule to its counters and starts a run of 'rule'. */
static void dp_tally_flush(struct dp_thread *t, struct dp_tally *ty, const struct cls_rule *rule)
{
	if (ty->rule)
		cls_stats_add(t->cstats, ty->rule, ty->rule_packets, ty->rule_bytes, t->now_s);
	ty->rule = rule;
	ty->rule_packets = ty->rule_bytes = 0;
}

static inline void dp_tally_rule(struct dp_thread *t, struct dp_tally *ty,
				 const struct cls_rule *rule, uint32_t len)
{
	if (RS_UNLIKELY(ty->rule != rule))
		dp_tally_flush(t, ty, rule);
	ty->rule_packets++;
	ty->rule_bytes += len;
}

/* The classifier's verdict for 'key' (EMC first); NULL: no rule matched. */
static const struct cls_rule *dp_classify(struct dp_thread *t, const struct dp_view *v,
					  const struct flow_key *key, uint32_t hash, uint32_t in)
{
	const struct cls_rule *rule;
	uint32_t ehash = emc_hash_from_flow(hash, in);

	if (!emc_lookup(&t->emc, key, ehash, v->cls_gen, &rule)) {
		rule = cls_lookup(v->cls, key);
		emc_insert(&t->emc, key, ehash, v->cls_gen, rule);
	}
	return rule;
}

/*
 * Points '*keyp' at the key of 'pkt' (the memo's when the frame is the
 * memoised flow, else 'key' parsed afresh) and fills what the pipeline
 * derives from the key alone. Returns false when port security drops the
 * frame.
 */
static bool dp_flow_of(struct dp_burst *b, struct pbuf *pkt, struct flow_key *key,
		       const struct flow_key **keyp, uint32_t *hash, unsigned *memo_hits)
{
	struct dp_memo *m = &b->memo;
	const struct dp_port_sec *sec = &b->v->ports[b->in].sec;

	if (dp_memo_match(m, pkt->data, pkt->len, pbuf_head_len(pkt))) {
		*keyp = &m->key;
		*hash = m->hash;
		m->strikes = 0;
		(*memo_hits)++;
		return m->sec_ok;
	}
	if (m->valid)
		m->strikes++;
	*keyp = key;
	struct pkt_meta meta;
	int err = pkt_parse(pkt->data, pkt->len, b->in, key, &meta);
	bool want = m->strikes < DP_MEMO_STRIKES;
	uint32_t ext = want || pkt->tail ? pkt_parse_mask(key, &meta, err, pkt->len, m->mask) : 0;
	if (RS_UNLIKELY(pkt->tail) && (ext == 0 || ext > pkt->head)) {
		/* The parse may have depended on bytes past the copied head (pbuf.h): it
		 * read the buffer's stale bytes there. Parse the whole frame instead. */
		pbuf_linearize(pkt);
		err = pkt_parse(pkt->data, pkt->len, b->in, key, &meta);
		ext = pkt_parse_mask(key, &meta, err, pkt->len, m->mask);
	}
	bool sec_ok = !(sec->n_mac | sec->n_ip) || dp_sec_allows(sec, key);
	*hash = pkt_flow_hash(key);
	if (ext && want)
		dp_memo_store(m, pkt->data, pkt->len, ext, key, *hash, sec_ok);
	else
		m->valid = false;
	return sec_ok;
}

void dp_pipeline_run(struct dp_thread *t, const struct dp_view *v, uint32_t in, struct pbuf **pkts,
		     unsigned n)
{
	struct dp_burst *b = t->burst;
	struct dp_memo *m = &b->memo;
	struct dp_tally ty = {0};
	struct flow_key parsed;
	const struct flow_key *key;
	unsigned memo_hits = 0;

	b->t = t;
	b->v = v;
	b->in = in;
	b->last_out = 0;
	b->n_dest = 0;
	b->n_clones = 0;
	m->valid = false;
	m->strikes = 0;
	b->l2.valid = false;
	for (unsigned i = 0; i < n; i++) {
		struct pbuf *pkt = pkts[i];
		if (RS_UNLIKELY(pkt->len < 14)) {
			rs_stat_add(&t->pc[in].drop_malformed, 1);
			continue;
		}
		if (RS_UNLIKELY(pkt->ol.flags | pkt->ol.gso_type) &&
		    !dp_ol_ingress(t, &v->ports[in], in, pkt))
			continue;
		ty.rx_packets++;
		ty.rx_bytes += pkt->len;
		uint32_t hash;
		if (!dp_flow_of(b, pkt, &parsed, &key, &hash, &memo_hits)) {
			rs_stat_add(&t->pc[in].drop_port_security, 1);
			continue;
		}
		/* The memo is this frame's own (a hit, or stored with no rule yet). */
		struct dp_memo *mine = m->valid ? m : NULL;
		if (!v->cls) {
			if (mine && mine->normal_port)
				dp_out(b, mine->normal_port, pkt, hash);
			else if (mine)
				mine->normal_port = dp_normal(b, pkt, key, hash, true);
			else
				(void)dp_normal(b, pkt, key, hash, true);
			continue;
		}
		const struct cls_rule *rule;
		if (mine && mine->rule)
			rule = mine->rule;
		else
			rule = dp_classify(t, v, key, hash, in);
		if (mine)
			mine->rule = rule;
		if (!rule) {
			rs_stat_add(&t->pc[in].drop_no_rule, 1);
			continue;
		}
		dp_tally_rule(t, &ty, rule, pkt->len);
		dp_execute(b, pkt, key, hash, &rule->actions);
	}
	rs_stat_add(&t->pc[in].rx_packets, ty.rx_packets);
	rs_stat_add(&t->pc[in].rx_bytes, ty.rx_bytes);
	rs_stat_add(&t->memo_hits, memo_hits);
	dp_tally_flush(t, &ty, NULL);
	for (unsigned d = 0; d < b->n_dest; d++)
		dp_flush_port(b, b->dest[d]);
	pbuf_free_bulk(&t->pool, pkts, n);
	pbuf_free_bulk(&t->pool, b->clones, b->n_clones);
}
