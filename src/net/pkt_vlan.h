/*
 * pkt_vlan.h - header rewrites on a packet buffer: push and pop an 802.1Q tag
 * in place, and set the Ethernet addresses. A push uses the pbuf headroom
 * (PBUF_HEADROOM bytes in front of 'data'): the 12 address bytes move 4 bytes
 * towards the front and the tag goes in behind them, so no payload is copied.
 * All functions run on the thread that owns the buffer.
 *
 * Offload metadata: a non-zero p->ol.csum_start or p->ol.hdr_len is an offset
 * from the frame start (virtio 1.2 section 5.1.6), so a push adds 4 to it
 * and a pop subtracts 4 (when the offset lies past the removed tag).
 */
#ifndef RS_NET_PKT_VLAN_H
#define RS_NET_PKT_VLAN_H

#include <stdint.h>

#include "flow.h"
#include "../lib/pbuf.h"

#define PKT_VLAN_TAG_LEN 4

/*
 * Inserts an 802.1Q tag (TPID 0x8100) carrying 'tci' (host order: PCP, DEI,
 * VID) as the outermost tag of 'p'. Returns 0, -ENOSPC when fewer than 4
 * bytes of headroom are left, or -EINVAL when the frame is shorter than an
 * Ethernet header.
 */
int pkt_vlan_push(struct pbuf *p, uint16_t tci);

/*
 * Removes the outermost tag (TPID 0x8100, or 0x88a8, which pkt_parse() also
 * treats as the outer tag). Returns 0, or -ENOENT when the frame carries no
 * complete tag.
 */
int pkt_vlan_pop(struct pbuf *p);

/* Set the Ethernet source or destination address; no-ops on a frame shorter than 14 bytes. */
void pkt_set_eth_src(struct pbuf *p, const struct eth_addr *mac);
void pkt_set_eth_dst(struct pbuf *p, const struct eth_addr *mac);

#endif
