/*
 * pkt_vlan.c - VLAN push/pop and Ethernet address rewrites (see pkt_vlan.h).
 */
#include "pkt_vlan.h"

#include <errno.h>
#include <string.h>

#define PKT_ETH_HDR_LEN	  14
#define PKT_ETH_ADDRS_LEN 12

/* Moves the offload offsets with the frame by 'delta' bytes (+4 or -4). */
static void pkt_vlan_shift_offload(struct pbuf *p, int delta)
{
	if (p->ol.csum_start != 0 && p->ol.csum_start + delta >= PKT_ETH_HDR_LEN)
		p->ol.csum_start = (uint16_t)(p->ol.csum_start + delta);
	if (p->ol.hdr_len != 0 && p->ol.hdr_len + delta >= PKT_ETH_HDR_LEN)
		p->ol.hdr_len = (uint16_t)(p->ol.hdr_len + delta);
}

int pkt_vlan_push(struct pbuf *p, uint16_t tci)
{
	if (p->len < PKT_ETH_HDR_LEN)
		return -EINVAL;
	if ((size_t)(p->data - p->buf) < PKT_VLAN_TAG_LEN)
		return -ENOSPC;
	if (p->tail && p->head < PKT_ETH_HDR_LEN)
		pbuf_linearize(p);
	if (p->tail)
		p->head += PKT_VLAN_TAG_LEN;

	uint8_t *d = p->data - PKT_VLAN_TAG_LEN;
	memmove(d, p->data, PKT_ETH_ADDRS_LEN);
	d[12] = 0x81;
	d[13] = 0x00;
	d[14] = (uint8_t)(tci >> 8);
	d[15] = (uint8_t)tci;
	p->data = d;
	p->len += PKT_VLAN_TAG_LEN;
	p->room += PKT_VLAN_TAG_LEN;
	pkt_vlan_shift_offload(p, PKT_VLAN_TAG_LEN);
	return 0;
}

int pkt_vlan_pop(struct pbuf *p)
{
	if (p->len < PKT_ETH_HDR_LEN + PKT_VLAN_TAG_LEN)
		return -ENOENT;
	if (p->tail && p->head < PKT_ETH_HDR_LEN + PKT_VLAN_TAG_LEN)
		pbuf_linearize(p);
	uint16_t tpid = (uint16_t)(p->data[12] << 8 | p->data[13]);
	if (tpid != 0x8100 && tpid != 0x88a8)
		return -ENOENT;

	memmove(p->data + PKT_VLAN_TAG_LEN, p->data, PKT_ETH_ADDRS_LEN);
	if (p->tail)
		p->head -= PKT_VLAN_TAG_LEN;
	p->data += PKT_VLAN_TAG_LEN;
	p->len -= PKT_VLAN_TAG_LEN;
	p->room -= PKT_VLAN_TAG_LEN;
	pkt_vlan_shift_offload(p, -PKT_VLAN_TAG_LEN);
	return 0;
}

void pkt_set_eth_src(struct pbuf *p, const struct eth_addr *mac)
{
	if (p->len >= PKT_ETH_HDR_LEN)
		memcpy(p->data + 6, mac, 6);
}

void pkt_set_eth_dst(struct pbuf *p, const struct eth_addr *mac)
{
	if (p->len >= PKT_ETH_HDR_LEN)
		memcpy(p->data, mac, 6);
}
