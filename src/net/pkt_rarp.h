/*
 * pkt_rarp.h - the announcement a switch sends for a guest that moved and
 * cannot announce itself (vhost-user SEND_RARP after a live migration): a
 * broadcast RARP "reverse request" (RFC 903) from the guest's MAC, so every
 * learning switch on the way moves the MAC to the guest's new port at once.
 * The frame is the one DPDK's vhost library builds (make_rarp_packet): 64
 * bytes, Ethernet type 0x8035, hardware type Ethernet, protocol IPv4, opcode
 * 3, sender and target hardware address the guest's MAC, protocol addresses
 * zero, zero padding.
 */
#ifndef RS_NET_PKT_RARP_H
#define RS_NET_PKT_RARP_H

#include <stdint.h>

#define PKT_RARP_LEN	   64
#define PKT_ETHERTYPE_RARP 0x8035
#define PKT_RARP_OP_REVREQ 3

/* Writes the announcement for 'mac' into 'buf' (PKT_RARP_LEN bytes). */
void pkt_rarp_build(uint8_t *buf, const uint8_t mac[6]);

#endif
