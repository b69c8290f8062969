// SPDX-License-Identifier: BSD-2-Clause
/*
 * spoof_frames: a hostile host client of a net channel (through libddvm) that sends
 * hand-made frames the client VM's kernel would never build, for
 * tests/vm/test_net_antispoof.sh: each frame of a set either must be dropped by the
 * driver VM's anti-spoofing (driver-vm/net/antispoof.c) or must pass it. The test
 * compares the channel's tx_spoof_drops before and after a set.
 *
 *   spoof_frames --sock CHANNEL.client.sock --ip A.B.C.D --ip6 X:X::X
 *                --other A.B.C.D --other6 X:X::X --set ip-drop|ip-pass|mac-drop|mac-pass
 *
 * --ip/--ip6: the client's own addresses (its `ip =`); --other/--other6: addresses that
 * are not its own. Prints "sent N" and exits 0, or 1 with why.
 *
 * --set gso-bad (the channel opened with offloads): 8 broadcast IPv4/TCP frames whose
 * TCP GSO metadata is in range but whose TCP header says it is 60 bytes long, past the
 * end of the 64-byte frame, then one ARP request for --other (the marker). The driver
 * VM must drop the 8 (tx_bad), not forward them to other clients. --set storm-gso: 40
 * broadcast TCP GSO frames of 60,000 bytes each (42 wire frames apiece, 1,680 in all,
 * sent within a second), then the marker: storm control must count wire frames, not
 * the 41 descriptors, and drop some (tx_storm_drops).
 *
 *   spoof_frames --sock CHANNEL.client.sock --other A.B.C.D --watch SECS
 *
 * The other client: opens its channel with offloads, prints "watching" once READY,
 * and counts what it receives until the marker (an ARP request for --other) came or
 * SECS passed: "frames N badmsg N broken N marker 0|1" (badmsg: frames libddvm
 * dropped for metadata that did not fit them; broken: the channel broke).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ddvm.h"

struct ctx {
	uint8_t mac[6];
	uint8_t ip[4], other[4];
	uint8_t ip6[16], other6[16], ll6[16]; /* ll6: the link-local address of mac */
};

static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t foreign_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x99 };
static const uint8_t all_nodes6[6] = { 0x33, 0x33, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t any6[16];

/* Ethernet header at f; returns the offset after it */
static size_t eth(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = (uint8_t)(type >> 8);
	f[13] = (uint8_t)type;
	return 14;
}

/* ARP (Ethernet/IPv4, hlen 6 unless told) after the header; returns the frame length */
static size_t arp(uint8_t *f, size_t off, uint16_t op, const uint8_t *sha, const uint8_t *spa,
		  const uint8_t *tpa, uint8_t hlen)
{
	static const uint8_t zero[6];
	uint8_t *a = f + off;

	/* hlen 7: IEEE 802 hardware (type 6), 6-byte addresses, as Linux also takes */
	a[0] = 0, a[1] = hlen == 7 ? 6 : 1, a[2] = 0x08, a[3] = 0x00, a[4] = hlen == 7 ? 6 : hlen;
	a[5] = 4;
	a[6] = (uint8_t)(op >> 8), a[7] = (uint8_t)op;
	memcpy(a + 8, sha, 6);
	memcpy(a + 14, spa, 4);
	memcpy(a + 18, zero, 6);
	memcpy(a + 24, tpa, 4);
	return off + 28 + 18; /* padded to 60 */
}

/* IPv4 + UDP (ports sport -> dport, 8 bytes of payload); returns the frame length */
static size_t ipv4_udp(uint8_t *f, size_t off, const uint8_t *src, const uint8_t *dst,
		       uint16_t sport, uint16_t dport, uint8_t ver_ihl)
{
	uint8_t *ip = f + off, *u = ip + 20;

	memset(ip, 0, 36);
	ip[0] = ver_ihl, ip[3] = 36, ip[8] = 64, ip[9] = 17;
	memcpy(ip + 12, src, 4);
	memcpy(ip + 16, dst, 4);
	u[0] = (uint8_t)(sport >> 8), u[1] = (uint8_t)sport;
	u[2] = (uint8_t)(dport >> 8), u[3] = (uint8_t)dport;
	u[5] = 16;
	return off + 36 > 60 ? off + 36 : 60;
}

/* A DHCP (BOOTP) message from SRC, UDP sport -> dport, client hardware address CHADDR */
static size_t dhcp(uint8_t *f, size_t off, const uint8_t *src, const uint8_t *dst, uint16_t sport,
		   uint16_t dport, const uint8_t *chaddr)
{
	uint8_t *ip = f + off, *u = ip + 20, *b = u + 8;
	size_t len = 20 + 8 + 240;

	memset(ip, 0, len);
	ip[0] = 0x45, ip[2] = (uint8_t)(len >> 8), ip[3] = (uint8_t)len, ip[8] = 64, ip[9] = 17;
	memcpy(ip + 12, src, 4);
	memcpy(ip + 16, dst, 4);
	u[0] = (uint8_t)(sport >> 8), u[1] = (uint8_t)sport;
	u[2] = (uint8_t)(dport >> 8), u[3] = (uint8_t)dport;
	u[4] = (uint8_t)((len - 20) >> 8), u[5] = (uint8_t)(len - 20);
	b[0] = sport == 68 ? 1 : 2, b[1] = 1, b[2] = 6; /* request/reply, Ethernet */
	memcpy(b + 28, chaddr, 6);
	b[236] = 99, b[237] = 130, b[238] = 83, b[239] = 99; /* the magic cookie */
	return off + len;
}

/* IPv6 header with next header NH and PLEN bytes of payload; returns the payload offset */
static size_t ipv6(uint8_t *f, size_t off, const uint8_t *src, const uint8_t *dst, uint8_t nh,
		   uint16_t plen)
{
	uint8_t *h = f + off;

	memset(h, 0, 40);
	h[0] = 0x60;
	h[4] = (uint8_t)(plen >> 8), h[5] = (uint8_t)plen;
	h[6] = nh, h[7] = 255;
	memcpy(h + 8, src, 16);
	memcpy(h + 24, dst, 16);
	return off + 40;
}

static const uint8_t all_nodes6_ip[16] = { 0xff, 0x02, [15] = 1 };

/* ICMPv6 neighbour discovery: TYPE, TARGET (NS/NA; NULL for RS/RA), an optional
 * link-layer option (opt_type 1 source / 2 target, opt_len in 8-byte units, 0: none) */
static size_t nd(uint8_t *f, const struct ctx *x, const uint8_t *src_mac, const uint8_t *src,
		 uint8_t type, const uint8_t *target, uint8_t opt_type, const uint8_t *opt_mac,
		 uint8_t opt_len)
{
	size_t fixed = target ? 24 : (type == 134 ? 16 : 8), optb = opt_type ? 8 : 0;
	size_t off = eth(f, all_nodes6, src_mac, 0x86dd), p;
	uint8_t *m;

	(void)x;
	p = ipv6(f, off, src, all_nodes6_ip, 58, (uint16_t)(fixed + optb));
	m = f + p;
	memset(m, 0, fixed + optb);
	m[0] = type;
	if (target)
		memcpy(m + 8, target, 16);
	if (opt_type) {
		m[fixed] = opt_type;
		m[fixed + 1] = opt_len;
		memcpy(m + fixed + 2, opt_mac, 6);
	}
	return p + fixed + optb;
}

/* An MLDv2 report from SRC behind a hop-by-hop header (router alert), as a kernel sends */
static size_t mld_report(uint8_t *f, const struct ctx *x, const uint8_t *src)
{
	static const uint8_t mld_all[16] = { 0xff, 0x02, [15] = 0x16 };
	static const uint8_t mld_mac[6] = { 0x33, 0x33, 0, 0, 0, 0x16 };
	size_t off = eth(f, mld_mac, x->mac, 0x86dd);
	size_t p = ipv6(f, off, src, mld_all, 0 /* hop-by-hop */, 8 + 8);
	uint8_t *h = f + p;

	memset(h, 0, 16);
	h[0] = 58, h[1] = 0;			/* next: ICMPv6, 8 bytes */
	h[2] = 5, h[3] = 2, h[4] = 0, h[5] = 0; /* router alert: MLD */
	h[6] = 1, h[7] = 0;			/* PadN */
	h[8] = 143;				/* MLDv2 report, no records */
	return p + 16;
}

typedef size_t (*frame_fn)(uint8_t *f, const struct ctx *x);

/* --- the sets ---------------------------------------------------------------------- */

static size_t d_src_mac(uint8_t *f, const struct ctx *x)
{
	return ipv4_udp(f, eth(f, bcast, foreign_mac, 0x0800), x->ip, x->other, 9, 9, 0x45);
}
static size_t d_arp_foreign_spa(uint8_t *f, const struct ctx *x)
{
	return arp(f, eth(f, bcast, x->mac, 0x0806), 2, x->mac, x->other, x->other, 6);
}
static size_t d_arp_foreign_sha(uint8_t *f, const struct ctx *x)
{
	return arp(f, eth(f, bcast, x->mac, 0x0806), 1, foreign_mac, x->ip, x->other, 6);
}
static size_t d_arp_reply_from_zero(uint8_t *f, const struct ctx *x)
{
	static const uint8_t zero[4];
	return arp(f, eth(f, bcast, x->mac, 0x0806), 2, x->mac, zero, x->other, 6);
}
static size_t d_arp_hlen(uint8_t *f, const struct ctx *x)
{
	return arp(f, eth(f, bcast, x->mac, 0x0806), 1, x->mac, x->ip, x->other, 8);
}
static size_t d_ipv4_src(uint8_t *f, const struct ctx *x)
{
	return ipv4_udp(f, eth(f, bcast, x->mac, 0x0800), x->other, x->ip, 9, 9, 0x45);
}
static size_t d_ipv4_zero_not_dhcp(uint8_t *f, const struct ctx *x)
{
	static const uint8_t zero[4];
	return ipv4_udp(f, eth(f, bcast, x->mac, 0x0800), zero, x->other, 67, 68, 0x45);
}
static size_t d_ipv4_bad(uint8_t *f, const struct ctx *x)
{
	return ipv4_udp(f, eth(f, bcast, x->mac, 0x0800), x->ip, x->other, 9, 9, 0x44);
}
static size_t d_vlan_arp(uint8_t *f, const struct ctx *x)
{
	size_t off = eth(f, bcast, x->mac, 0x8100);

	f[off] = 0, f[off + 1] = 5, f[off + 2] = 0x08, f[off + 3] = 0x06; /* VLAN 5, ARP */
	return arp(f, off + 4, 1, x->mac, x->other, x->ip, 6);
}
static size_t d_ipv6_src(uint8_t *f, const struct ctx *x)
{
	size_t p = ipv6(f, eth(f, all_nodes6, x->mac, 0x86dd), x->other6, all_nodes6_ip, 17, 8);

	memset(f + p, 0, 8);
	return p + 8;
}
static size_t d_na_foreign_target(uint8_t *f, const struct ctx *x)
{
	return nd(f, x, x->mac, x->ll6, 136, x->other6, 2, x->mac, 1);
}
static size_t d_ns_foreign_slla(uint8_t *f, const struct ctx *x)
{
	return nd(f, x, x->mac, x->ip6, 135, x->other6, 1, foreign_mac, 1);
}
static size_t d_ra(uint8_t *f, const struct ctx *x)
{
	return nd(f, x, x->mac, x->ll6, 134, NULL, 1, x->mac, 1);
}
static size_t d_nd_opt_len0(uint8_t *f, const struct ctx *x)
{
	return nd(f, x, x->mac, x->ip6, 135, x->other6, 14 /* nonce */, x->mac, 0);
}
static size_t d_unspec_udp(uint8_t *f, const struct ctx *x)
{
	size_t p = ipv6(f, eth(f, all_nodes6, x->mac, 0x86dd), any6, all_nodes6_ip, 17, 8);

	memset(f + p, 0, 8);
	return p + 8;
}
static size_t d_dhcp_foreign_chaddr(uint8_t *f, const struct ctx *x)
{
	static const uint8_t zero[4];
	return dhcp(f, eth(f, bcast, x->mac, 0x0800), zero, bcast, 68, 67, foreign_mac);
}
static size_t d_dhcp_server(uint8_t *f, const struct ctx *x)
{
	return dhcp(f, eth(f, bcast, x->mac, 0x0800), x->ip, bcast, 67, 68, foreign_mac);
}
/* a DHCPv6 message (an empty UDP datagram) from port SPORT to clients (546) */
static size_t dhcpv6_to_clients(uint8_t *f, const struct ctx *x, uint16_t sport)
{
	size_t p = ipv6(f, eth(f, all_nodes6, x->mac, 0x86dd), x->ip6, all_nodes6_ip, 17, 8);

	memset(f + p, 0, 8);
	f[p] = (uint8_t)(sport >> 8), f[p + 1] = (uint8_t)sport, f[p + 2] = 546 >> 8;
	f[p + 3] = 546 & 0xff;
	return p + 8;
}
static size_t d_dhcpv6_server(uint8_t *f, const struct ctx *x)
{
	return dhcpv6_to_clients(f, x, 547);
}
/* a server's answer from another port than 67 (547): clients take it all the same */
static size_t d_dhcp_reply_port(uint8_t *f, const struct ctx *x)
{
	return dhcp(f, eth(f, bcast, x->mac, 0x0800), x->ip, bcast, 1067, 68, foreign_mac);
}
static size_t d_dhcpv6_reply_port(uint8_t *f, const struct ctx *x)
{
	return dhcpv6_to_clients(f, x, 1547);
}
static size_t d_arp_probe_foreign(uint8_t *f, const struct ctx *x)
{
	static const uint8_t zero[4];
	return arp(f, eth(f, bcast, x->mac, 0x0806), 1, x->mac, zero, x->other, 6);
}
static size_t d_dad_foreign(uint8_t *f, const struct ctx *x)
{
	return nd(f, x, x->mac, any6, 135, x->other6, 0, NULL, 0);
}
static size_t d_arp_ieee802_foreign_sha(uint8_t *f, const struct ctx *x)
{
	return arp(f, eth(f, bcast, x->mac, 0x0806), 1, foreign_mac, x->ip, x->other, 7);
}
static size_t d_ethertype(uint8_t *f, const struct ctx *x)
{
	size_t off = eth(f, bcast, x->mac, 0x88b5);

	memset(f + off, 0, 46);
	return 60;
}

static size_t p_arp_request(uint8_t *f, const struct ctx *x)
{
	return arp(f, eth(f, bcast, x->mac, 0x0806), 1, x->mac, x->ip, x->other, 6);
}
static size_t p_arp_probe(uint8_t *f, const struct ctx *x)
{
	static const uint8_t zero[4];
	return arp(f, eth(f, bcast, x->mac, 0x0806), 1, x->mac, zero, x->ip, 6);
}
static size_t p_ipv4_own(uint8_t *f, const struct ctx *x)
{
	return ipv4_udp(f, eth(f, bcast, x->mac, 0x0800), x->ip, x->other, 9, 9, 0x45);
}
static size_t p_dhcp(uint8_t *f, const struct ctx *x)
{
	static const uint8_t zero[4];
	return dhcp(f, eth(f, bcast, x->mac, 0x0800), zero, bcast, 68, 67, x->mac);
}
static size_t p_ipv6_own(uint8_t *f, const struct ctx *x)
{
	size_t p = ipv6(f, eth(f, all_nodes6, x->mac, 0x86dd), x->ip6, all_nodes6_ip, 17, 8);

	memset(f + p, 0, 8);
	return p + 8;
}
static size_t p_ipv6_ll(uint8_t *f, const struct ctx *x)
{
	size_t p = ipv6(f, eth(f, all_nodes6, x->mac, 0x86dd), x->ll6, all_nodes6_ip, 17, 8);

	memset(f + p, 0, 8);
	return p + 8;
}
static size_t p_dad_ns(uint8_t *f, const struct ctx *x)
{
	return nd(f, x, x->mac, any6, 135, x->ip6, 0, NULL, 0);
}
static size_t p_na_own(uint8_t *f, const struct ctx *x)
{
	return nd(f, x, x->mac, x->ip6, 136, x->ip6, 2, x->mac, 1);
}
static size_t p_ns_own(uint8_t *f, const struct ctx *x)
{
	return nd(f, x, x->mac, x->ll6, 135, x->other6, 1, x->mac, 1);
}
static size_t p_rs(uint8_t *f, const struct ctx *x)
{
	return nd(f, x, x->mac, x->ll6, 133, NULL, 1, x->mac, 1);
}
static size_t p_mld(uint8_t *f, const struct ctx *x)
{
	return mld_report(f, x, any6);
}

/* antispoof = ip: what must be dropped and what must pass. antispoof = mac: only the
 * MACs count; the address checks of ip are not made (so the ip set's address frames
 * pass). */
static const frame_fn ip_drop[] = {
	d_src_mac,
	d_arp_foreign_spa,
	d_arp_foreign_sha,
	d_arp_reply_from_zero,
	d_arp_hlen,
	d_ipv4_src,
	d_ipv4_zero_not_dhcp,
	d_ipv4_bad,
	d_vlan_arp,
	d_ipv6_src,
	d_na_foreign_target,
	d_ns_foreign_slla,
	d_ra,
	d_nd_opt_len0,
	d_unspec_udp,
	d_ethertype,
	d_dhcp_foreign_chaddr,
	d_dhcp_server,
	d_dhcpv6_server,
	d_dhcp_reply_port,
	d_dhcpv6_reply_port,
	d_arp_probe_foreign,
	d_dad_foreign,
	d_arp_ieee802_foreign_sha,
};
static const frame_fn ip_pass[] = {
	p_arp_request, p_arp_probe, p_ipv4_own, p_dhcp, p_ipv6_own, p_ipv6_ll,
	p_dad_ns,      p_na_own,    p_ns_own,	p_rs,	p_mld,
};
static const frame_fn mac_drop[] = { d_src_mac, d_arp_foreign_sha, d_arp_ieee802_foreign_sha };
static const frame_fn mac_pass[] = { d_arp_foreign_spa, d_ipv4_src,	     d_vlan_arp,
				     d_ipv6_src,	d_na_foreign_target, d_ra,
				     d_ethertype,	d_dhcp_server,	     d_dad_foreign,
				     d_dhcp_reply_port };

#define GSO_BAD_FRAMES	 8
#define STORM_GSO_FRAMES 40
#define STORM_GSO_DATA	 60000 /* bytes of TCP payload: 42 wire frames of 1448 */

/* Broadcast IPv4/TCP from the client's address with DATA bytes of payload and a TCP
 * header that claims DOFF words, with TCP GSO metadata (segments of 1448) in *m.
 * gso-bad: 10 bytes and doff 15, headers ending at byte 94 of a 64-byte frame. */
static size_t gso_frame(uint8_t *f, const struct ctx *x, struct ddvm_net_meta *m, unsigned int doff,
			size_t data)
{
	size_t off = eth(f, bcast, x->mac, 0x0800), len = 20 + 20 + data;
	uint8_t *ip = f + off, *th = ip + 20;

	memset(ip, 0, len);
	ip[0] = 0x45, ip[2] = (uint8_t)(len >> 8), ip[3] = (uint8_t)len, ip[8] = 64, ip[9] = 6;
	memcpy(ip + 12, x->ip, 4);
	memcpy(ip + 16, x->other, 4);
	th[0] = 0x30, th[1] = 0x39, th[2] = 0x00, th[3] = 0x50; /* ports 12345 -> 80 */
	th[12] = (uint8_t)(doff << 4);
	th[13] = 0x18; /* PSH, ACK */
	memset(m, 0, sizeof(*m));
	m->flags = DDVM_NET_META_NEEDS_CSUM;
	m->gso_type = DDVM_NET_META_GSO_TCPV4;
	m->gso_size = 1448;
	m->hdr_len = (uint16_t)(off + 40);
	m->csum_start = (uint16_t)(off + 20);
	m->csum_offset = 16;
	return off + len;
}

/* --watch: the other client of the NIC (see the top) */
static int watch(const char *sock, const struct ctx *x, int secs)
{
	static uint8_t in[65550];
	unsigned long frames = 0, badmsg = 0, broken = 0;
	struct timespec t0, t;
	struct ddvm_chan *c;
	int ret, marker = 0;

	ret = ddvm_chan_open_wait(&c, sock, DDVM_CHAN_NET, DDVM_OPEN_NET_OFFLOADS, 60000);
	if (!ret)
		ret = ddvm_chan_wait_ready(c, 60000);
	if (ret) {
		fprintf(stderr, "spoof_frames: %s: %s\n", sock, ddvm_strerror(ret));
		return 1;
	}
	printf("watching\n");
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		ssize_t n = ddvm_net_recv(c, in, sizeof(in), NULL);

		if (n == -EAGAIN || n == -ENOTCONN) {
			ddvm_chan_wait(c, 100);
		} else if (n == -EBADMSG) {
			badmsg++;
		} else if (n == -EPIPE) {
			broken++;
			ddvm_chan_wait_ready(c, 1000); /* back at the next session */
		} else if (n < 0) {
			fprintf(stderr, "spoof_frames: recv: %s\n", ddvm_strerror((int)n));
			break;
		} else {
			frames++;
			/* ARP request (op 1) for --other: the marker */
			if (n >= 42 && in[12] == 0x08 && in[13] == 0x06 && in[21] == 1 &&
			    !memcmp(in + 38, x->other, 4))
				marker = 1;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (!marker && t.tv_sec - t0.tv_sec < secs);
	printf("frames %lu badmsg %lu broken %lu marker %d\n", frames, badmsg, broken, marker);
	ddvm_chan_close(c);
	return 0;
}

static int parse_addr(int af, const char *s, uint8_t *out)
{
	return inet_pton(af, s, out) == 1 ? 0 : -1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "sock", required_argument, NULL, 's' },
		{ "ip", required_argument, NULL, 'i' },
		{ "ip6", required_argument, NULL, '6' },
		{ "other", required_argument, NULL, 'o' },
		{ "other6", required_argument, NULL, 'O' },
		{ "set", required_argument, NULL, 'S' },
		{ "watch", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = NULL, *set = NULL;
	const frame_fn *fns;
	struct ddvm_net_info ni;
	struct ddvm_chan *c;
	struct ctx x;
	size_t n = 0, i;
	int opt, ret, have = 0, secs = 0, gso;

	memset(&x, 0, sizeof(x));

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			sock = optarg;
			break;
		case 'S':
			set = optarg;
			break;
		case 'w':
			secs = atoi(optarg);
			break;
		case 'i':
			have |= parse_addr(AF_INET, optarg, x.ip) ? 0 : 1;
			break;
		case '6':
			have |= parse_addr(AF_INET6, optarg, x.ip6) ? 0 : 2;
			break;
		case 'o':
			have |= parse_addr(AF_INET, optarg, x.other) ? 0 : 4;
			break;
		case 'O':
			have |= parse_addr(AF_INET6, optarg, x.other6) ? 0 : 8;
			break;
		default:
			goto usage;
		}
	}
	if (secs > 0 && sock && (have & 4))
		return watch(sock, &x, secs);
	gso = !set ? 0 : !strcmp(set, "gso-bad") ? 1 : !strcmp(set, "storm-gso") ? 2 : 0;
	if (gso) {
		static const frame_fn marker[] = { p_arp_request };

		set = "marker";
		fns = marker, n = 1;
		have |= 10; /* no IPv6 in these frames */
	} else
		fns = !set			 ? NULL
		      : !strcmp(set, "ip-drop")	 ? (n = sizeof(ip_drop) / sizeof(*fns), ip_drop)
		      : !strcmp(set, "ip-pass")	 ? (n = sizeof(ip_pass) / sizeof(*fns), ip_pass)
		      : !strcmp(set, "mac-drop") ? (n = sizeof(mac_drop) / sizeof(*fns), mac_drop)
		      : !strcmp(set, "mac-pass") ? (n = sizeof(mac_pass) / sizeof(*fns), mac_pass)
						 : NULL;
	if (!sock || !fns || have != 15)
		goto usage;
	ret = ddvm_chan_open_wait(&c, sock, DDVM_CHAN_NET, gso ? DDVM_OPEN_NET_OFFLOADS : 0, 60000);
	if (!ret)
		ret = ddvm_chan_wait_ready(c, 60000);
	if (ret) {
		fprintf(stderr, "spoof_frames: %s: %s\n", sock, ddvm_strerror(ret));
		return 1;
	}
	ddvm_net_info(c, &ni);
	memcpy(x.mac, ni.mac, 6);
	x.ll6[0] = 0xfe, x.ll6[1] = 0x80;
	x.ll6[8] = ni.mac[0] ^ 2, x.ll6[9] = ni.mac[1], x.ll6[10] = ni.mac[2];
	x.ll6[11] = 0xff, x.ll6[12] = 0xfe;
	memcpy(x.ll6 + 13, ni.mac + 3, 3);
	for (i = 0; gso && i < (gso == 1 ? GSO_BAD_FRAMES : STORM_GSO_FRAMES); i++) {
		static uint8_t f[14 + 40 + STORM_GSO_DATA];
		struct ddvm_net_meta m;
		size_t len = gso == 1 ? gso_frame(f, &x, &m, 15, 10)
				      : gso_frame(f, &x, &m, 5, STORM_GSO_DATA);

		while ((ret = ddvm_net_send(c, f, len, &m, 0)) == -EAGAIN)
			ddvm_chan_wait(c, 100);
		if (ret) {
			fprintf(stderr, "spoof_frames: send gso %zu: %s\n", i, ddvm_strerror(ret));
			ddvm_chan_close(c);
			return 1;
		}
	}
	for (i = 0; i < n; i++) {
		uint8_t f[400];
		size_t len = fns[i](f, &x);
		struct timespec pause = { 0, 2000000 };

		while ((ret = ddvm_net_send(c, f, len, NULL, 0)) == -EAGAIN)
			ddvm_chan_wait(c, 100);
		if (ret) {
			fprintf(stderr, "spoof_frames: send %zu: %s\n", i, ddvm_strerror(ret));
			ddvm_chan_close(c);
			return 1;
		}
		nanosleep(&pause, NULL); /* one frame at a time through the driver VM */
	}
	/* the driver VM takes them at its pace: stay until it has every one (closing
	 * ends the session, and the rings are reset with what is still in them) */
	while ((ret = ddvm_net_tx_pending(c)) > 0)
		ddvm_chan_wait(c, 100);
	if (ret < 0) {
		fprintf(stderr, "spoof_frames: waiting for the driver VM: %s\n",
			ddvm_strerror(ret));
		ddvm_chan_close(c);
		return 1;
	}
	printf("sent %zu\n", n + (gso == 1 ? GSO_BAD_FRAMES : gso == 2 ? STORM_GSO_FRAMES : 0));
	ddvm_chan_close(c);
	return 0;
usage:
	fprintf(stderr, "usage: spoof_frames --sock SOCK --ip A --ip6 A6 --other B --other6 B6 "
			"--set ip-drop|ip-pass|mac-drop|mac-pass|gso-bad|storm-gso\n"
			"       spoof_frames --sock SOCK --other B --watch SECS\n");
	return 2;
}
