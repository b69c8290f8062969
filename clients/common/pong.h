/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pong: the smallest useful IPv4 host — answers ARP requests for its address and ICMP
 * echo requests, and builds ARP probes. Freestanding (no libc): the bare-metal client
 * (clients/newos) and the libddvm example (clients/examples/pong.c) share it.
 * Frames are Ethernet II without FCS; everything in them is checked before use.
 */
#ifndef DDVM_PONG_H
#define DDVM_PONG_H

#include <stddef.h>
#include <stdint.h>

#define PONG_MIN_FRAME 60 /* Ethernet minimum without FCS: replies are padded to it */

struct pong {
	uint8_t mac[6];
	uint8_t ip[4];
	uint32_t arp_replies;
	uint32_t icmp_replies;
	uint32_t ignored;
};

/* Handle one received frame. If it asks us for something (ARP who-has our ip, ICMP
 * echo to our ip), write the reply into out (cap bytes) and return its length, else 0. */
size_t pong_handle(struct pong *p, const uint8_t *in, size_t len, uint8_t *out, size_t cap);

/* Build a broadcast ARP request "who has target? tell p->ip" into out (>= 60 bytes). */
size_t pong_arp_request(const struct pong *p, const uint8_t target[4], uint8_t *out);

/* Is this an ARP reply telling us target's MAC? Copies it to mac. */
int pong_arp_reply_from(const uint8_t *in, size_t len, const uint8_t target[4], uint8_t mac[6]);

/* Parse "a.b.c.d"; 0 on success, -1 otherwise. */
int pong_parse_ip(const char *s, uint8_t ip[4]);

#endif
