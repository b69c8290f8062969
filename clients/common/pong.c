// SPDX-License-Identifier: BSD-2-Clause
/* pong: ARP + ICMP echo responder (see pong.h). Freestanding: no libc calls. */
#include "pong.h"

#define ETH_HLEN       14
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_ARP  0x0806
#define ARP_LEN	       28
#define IPPROTO_ICMP_  1

static void copy(uint8_t *d, const uint8_t *s, size_t n)
{
	while (n--)
		*d++ = *s++;
}

static void fill(uint8_t *d, uint8_t v, size_t n)
{
	while (n--)
		*d++ = v;
}

static int same(const uint8_t *a, const uint8_t *b, size_t n)
{
	while (n--)
		if (*a++ != *b++)
			return 0;
	return 1;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* The Internet checksum (RFC 1071) of n bytes. */
static uint16_t inet_csum(const uint8_t *p, size_t n)
{
	uint32_t sum = 0;

	for (; n > 1; p += 2, n -= 2)
		sum += be16(p);
	if (n)
		sum += (uint32_t)p[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static size_t pad(uint8_t *out, size_t len)
{
	if (len < PONG_MIN_FRAME) {
		fill(out + len, 0, PONG_MIN_FRAME - len);
		len = PONG_MIN_FRAME;
	}
	return len;
}

static void arp_build(uint8_t *out, const uint8_t *dst_mac, uint16_t op, const uint8_t *smac,
		      const uint8_t *sip, const uint8_t *tmac, const uint8_t *tip)
{
	uint8_t *a = out + ETH_HLEN;

	copy(out, dst_mac, 6);
	copy(out + 6, smac, 6);
	put_be16(out + 12, ETHERTYPE_ARP);
	put_be16(a, 1);			 /* hardware: Ethernet */
	put_be16(a + 2, ETHERTYPE_IPV4); /* protocol: IPv4 */
	a[4] = 6;
	a[5] = 4;
	put_be16(a + 6, op);
	copy(a + 8, smac, 6);
	copy(a + 14, sip, 4);
	copy(a + 18, tmac, 6);
	copy(a + 24, tip, 4);
}

static size_t arp_handle(struct pong *p, const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	const uint8_t *a = in + ETH_HLEN;

	if (len < ETH_HLEN + ARP_LEN || cap < PONG_MIN_FRAME)
		return 0;
	if (be16(a) != 1 || be16(a + 2) != ETHERTYPE_IPV4 || a[4] != 6 || a[5] != 4)
		return 0;
	if (be16(a + 6) != 1 || !same(a + 24, p->ip, 4)) /* a request for us? */
		return 0;
	arp_build(out, a + 8, 2, p->mac, p->ip, a + 8, a + 14);
	p->arp_replies++;
	return pad(out, ETH_HLEN + ARP_LEN);
}

static size_t icmp_handle(struct pong *p, const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	const uint8_t *ip = in + ETH_HLEN;
	size_t ihl, tot, icmp_len;
	uint8_t *oip, *icmp;

	if (len < ETH_HLEN + 20)
		return 0;
	ihl = (size_t)(ip[0] & 0x0f) * 4;
	tot = be16(ip + 2);
	if ((ip[0] >> 4) != 4 || ihl < 20 || tot < ihl + 8 || tot > len - ETH_HLEN)
		return 0;
	if (ip[9] != IPPROTO_ICMP_ || !same(ip + 16, p->ip, 4))
		return 0;
	if ((be16(ip + 6) & 0x3fff) != 0) /* fragments: not for us */
		return 0;
	if (ip[ihl] != 8 || ip[ihl + 1] != 0 || inet_csum(ip, ihl) != 0) /* echo request */
		return 0;
	icmp_len = tot - ihl;
	if (inet_csum(ip + ihl, icmp_len) != 0 || cap < ETH_HLEN + tot || cap < PONG_MIN_FRAME)
		return 0;

	copy(out, in + 6, 6); /* back to the sender */
	copy(out + 6, p->mac, 6);
	put_be16(out + 12, ETHERTYPE_IPV4);
	oip = out + ETH_HLEN;
	copy(oip, ip, tot);
	copy(oip + 12, p->ip, 4);
	copy(oip + 16, ip + 12, 4);
	oip[8] = 64; /* ttl */
	put_be16(oip + 10, 0);
	put_be16(oip + 10, inet_csum(oip, ihl));
	icmp = oip + ihl;
	icmp[0] = 0; /* echo reply */
	put_be16(icmp + 2, 0);
	put_be16(icmp + 2, inet_csum(icmp, icmp_len));
	p->icmp_replies++;
	return pad(out, ETH_HLEN + tot);
}

size_t pong_handle(struct pong *p, const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	size_t r = 0;

	if (len >= ETH_HLEN && (same(in, p->mac, 6) || same(in, bcast, 6))) {
		if (be16(in + 12) == ETHERTYPE_ARP)
			r = arp_handle(p, in, len, out, cap);
		else if (be16(in + 12) == ETHERTYPE_IPV4 && same(in, p->mac, 6))
			r = icmp_handle(p, in, len, out, cap);
	}
	if (!r)
		p->ignored++;
	return r;
}

size_t pong_arp_request(const struct pong *p, const uint8_t target[4], uint8_t *out)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t zero[6];

	arp_build(out, bcast, 1, p->mac, p->ip, zero, target);
	return pad(out, ETH_HLEN + ARP_LEN);
}

int pong_arp_reply_from(const uint8_t *in, size_t len, const uint8_t target[4], uint8_t mac[6])
{
	const uint8_t *a = in + ETH_HLEN;

	if (len < ETH_HLEN + ARP_LEN || be16(in + 12) != ETHERTYPE_ARP)
		return 0;
	if (be16(a) != 1 || be16(a + 2) != ETHERTYPE_IPV4 || a[4] != 6 || a[5] != 4 ||
	    be16(a + 6) != 2 || !same(a + 14, target, 4))
		return 0;
	copy(mac, a + 8, 6);
	return 1;
}

int pong_parse_ip(const char *s, uint8_t ip[4])
{
	unsigned int i, v;

	for (i = 0; i < 4; i++) {
		if (*s < '0' || *s > '9')
			return -1;
		for (v = 0; *s >= '0' && *s <= '9'; s++) {
			v = v * 10 + (unsigned int)(*s - '0');
			if (v > 255)
				return -1;
		}
		ip[i] = (uint8_t)v;
		if (i < 3 && *s++ != '.')
			return -1;
	}
	return *s == '\0' || *s == ' ' ? 0 : -1;
}
