/*
 * pkt_rarp.c - builds the RARP announcement of a migrated guest (pkt_rarp.h).
 */
#include "pkt_rarp.h"

#include <string.h>

void pkt_rarp_build(uint8_t *buf, const uint8_t mac[6])
{
	memset(buf, 0, PKT_RARP_LEN);
	memset(buf, 0xff, 6); /* destination: broadcast */
	memcpy(buf + 6, mac, 6);
	buf[12] = PKT_ETHERTYPE_RARP >> 8;
	buf[13] = PKT_ETHERTYPE_RARP & 0xff;
	uint8_t *r = buf + 14;
	r[1] = 1;    /* hardware type: Ethernet */
	r[2] = 0x08; /* protocol type: IPv4 (0x0800) */
	r[4] = 6;    /* hardware address length */
	r[5] = 4;    /* protocol address length */
	r[7] = PKT_RARP_OP_REVREQ;
	memcpy(r + 8, mac, 6);	/* sender hardware address; sender IP 0 */
	memcpy(r + 18, mac, 6); /* target hardware address; target IP 0 */
}
