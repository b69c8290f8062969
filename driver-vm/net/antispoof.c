// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ddvm_netback: anti-spoofing. A client of a shared NIC sends only as itself, as Xen's
 * vif antispoofing rules and libvirt's clean-traffic filter have it: the switch
 * forwards by destination MAC, so one client answering ARP (or IPv6 neighbour
 * discovery) for another's address would take that address's traffic from the wire
 * and from the other clients (docs/net.md, "Anti-spoofing").
 *
 * What is read: the headers of a frame the driver VM built (port_tx_one). Its first
 * DDVM_NET_COPYBREAK bytes (more than the Ethernet, ARP and IPv4 headers and a plain
 * IPv6 header) are a private copy, and so is all of a frame that was copied. The rest
 * of a zero-copy frame (NETBACK_ZC_MIN_FRAME bytes or more) is still the client's
 * slot, which the client can change after the check: an IPv6 frame of those whose
 * extension headers run past the private part, or whose neighbour discovery message
 * does (no real one is that long), is dropped rather than read there.
 */
#include <linux/etherdevice.h>
#include <linux/icmpv6.h>
#include <linux/if_arp.h>
#include <linux/inet.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <net/addrconf.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/ndisc.h>
#include "netback.h"

/*
 * Parse a channels entry's ANTISPOOF field (ddvm_ivshmem.h): "" or "mac" (the
 * default), "off", or "ip:" and 1 to NETBACK_ANTISPOOF_MAX_IP prefixes, IPv4
 * "A.B.C.D[/N]" or IPv6 "X:X::X[/N]", joined by '+'. Returns 0, or -EINVAL (POL then
 * unchanged).
 */
int antispoof_parse(struct netback_antispoof_policy *pol, const char *s)
{
	struct netback_antispoof_policy p = { .mode = NETBACK_ANTISPOOF_MAC };
	const char *end;

	if (!strcmp(s, "off"))
		p.mode = NETBACK_ANTISPOOF_OFF;
	else if (!strncmp(s, "ip:", 3))
		p.mode = NETBACK_ANTISPOOF_IP;
	else if (*s && strcmp(s, "mac"))
		return -EINVAL;
	for (s += p.mode == NETBACK_ANTISPOOF_IP ? 3 : strlen(s); *s; s = end + 1) {
		bool v6 = strchr(s, ':') && (!strchr(s, '+') || strchr(s, ':') < strchr(s, '+'));
		unsigned int len = v6 ? 128 : 32, max = len;
		struct in6_addr a6;
		__be32 a;

		if (p.n_ip + p.n_ip6 == NETBACK_ANTISPOOF_MAX_IP)
			return -EINVAL;
		if (v6 ? !in6_pton(s, -1, a6.s6_addr, -1, &end)
		       : !in4_pton(s, -1, (u8 *)&a, -1, &end))
			return -EINVAL;
		if (*end == '/') { /* 1 to 3 digits, at most max */
			for (len = 0, end++; *end >= '0' && *end <= '9' && len <= max; end++)
				len = len * 10 + (*end - '0');
			if (len > max || end[-1] == '/')
				return -EINVAL;
		}
		if (*end && (*end != '+' || !end[1])) /* nor a '+' with nothing after it */
			return -EINVAL;
		if (v6) {
			ipv6_addr_prefix(&p.net6[p.n_ip6], &a6, len);
			p.plen6[p.n_ip6++] = len;
		} else {
			p.mask[p.n_ip] = len ? htonl(~0u << (32 - len)) : 0;
			p.net[p.n_ip] = a & p.mask[p.n_ip];
			p.n_ip++;
		}
		if (!*end)
			break;
	}
	if (p.mode == NETBACK_ANTISPOOF_IP && !p.n_ip && !p.n_ip6)
		return -EINVAL;
	*pol = p;
	return 0;
}

static bool antispoof_ip_ok(const struct netback_antispoof_policy *pol, __be32 a)
{
	unsigned int i;

	for (i = 0; i < pol->n_ip; i++)
		if ((a & pol->mask[i]) == pol->net[i])
			return true;
	return false;
}

/* One of FROM's IPv6 addresses: listed, or the link-local address its MAC gives
 * (ddvm_net_implicit_ll, include/ddvm/net.h). */
static bool antispoof_ip6_ok(const struct netback_port *from, const struct in6_addr *a)
{
	const struct netback_antispoof_policy *pol = &from->spoof;
	struct in6_addr ll;
	unsigned int i;

	for (i = 0; i < pol->n_ip6; i++)
		if (ipv6_prefix_equal(a, &pol->net6[i], pol->plen6[i]))
			return true;
	ddvm_net_implicit_ll(from->mac, ll.s6_addr);
	return ipv6_addr_equal(a, &ll);
}

/* The address a dropped frame claimed, for the log line (family 0: none) */
struct antispoof_addr {
	int family;
	__be32 a4;
	struct in6_addr a6;
};

static void addr4(struct antispoof_addr *a, __be32 v)
{
	a->family = AF_INET;
	a->a4 = v;
}

static void addr6(struct antispoof_addr *a, const struct in6_addr *v)
{
	a->family = AF_INET6;
	a->a6 = *v;
}

/* ARP for IPv4 over Ethernet, as it follows the Ethernet header */
struct antispoof_arp {
	struct arphdr h;
	u8 sha[ETH_ALEN];
	__be32 spa;
	u8 tha[ETH_ALEN];
	__be32 tpa;
} __packed;

/* Why a frame is not the client's own (antispoof_why): one kernel-log line per reason
 * and 10 s, so that one kind of drop (IPv6 without addresses) hides no other. */
static const char *const antispoof_reasons[NETBACK_ANTISPOOF_REASONS] = {
	[ANTISPOOF_SRC_MAC] = "its source MAC is not the client's",
	[ANTISPOOF_ARP_MAC] = "its ARP sender MAC is not the client's",
	[ANTISPOOF_ARP_IP] = "its ARP sender address is not one of the client's",
	[ANTISPOOF_ARP_KIND] = "an ARP that is not IPv4 over Ethernet (antispoof = ip)",
	[ANTISPOOF_IP_SRC] = "its IPv4 source address is not one of the client's",
	[ANTISPOOF_IP_BAD] = "a malformed IPv4 header (antispoof = ip)",
	[ANTISPOOF_IP6_SRC] = "its IPv6 source address is not one of the client's",
	[ANTISPOOF_IP6_BAD] = "a malformed IPv6 packet (antispoof = ip)",
	[ANTISPOOF_ND_TARGET] = "a neighbour advertisement for an address not the client's",
	[ANTISPOOF_ND_LLADDR] = "a neighbour discovery link-layer address not the client's",
	[ANTISPOOF_ROUTER] = "a router advertisement or redirect (antispoof = ip: clients "
			     "are not routers)",
	[ANTISPOOF_DHCP_SERVER] = "a DHCP or DHCPv6 server's message (antispoof = ip: clients "
				  "do not hand out addresses)",
	[ANTISPOOF_DAD] = "an address conflict probe for an address not the client's",
	[ANTISPOOF_PROTO] = "neither ARP, IPv4 nor IPv6 with addresses in ip = "
			    "(antispoof = ip passes only these)",
};

static int antispoof_arp(const struct netback_port *from, const struct sk_buff *skb,
			 struct antispoof_addr *addr)
{
	bool ip_mode = from->spoof.mode == NETBACK_ANTISPOOF_IP;
	struct antispoof_arp buf;
	const struct antispoof_arp *a = skb_header_pointer(skb, ETH_HLEN, sizeof(buf), &buf);

	/* Linux's ARP takes IEEE 802 hardware (6) on Ethernet as it takes Ethernet (1) */
	if (!a || (a->h.ar_hrd != htons(ARPHRD_ETHER) && a->h.ar_hrd != htons(ARPHRD_IEEE802)) ||
	    a->h.ar_pro != htons(ETH_P_IP) || a->h.ar_hln != ETH_ALEN || a->h.ar_pln != 4)
		return ip_mode ? ANTISPOOF_ARP_KIND : -1;
	if (!ether_addr_equal(a->sha, from->mac))
		return ANTISPOOF_ARP_MAC;
	if (!ip_mode || antispoof_ip_ok(&from->spoof, a->spa))
		return -1;
	/* 0.0.0.0: an ARP probe (RFC 5227), which nobody learns an address from, and only
	 * for an address of the client's own: a probe for another's address would make
	 * that client's conflict detection give its address up */
	if (!a->spa && a->h.ar_op == htons(ARPOP_REQUEST)) {
		if (antispoof_ip_ok(&from->spoof, a->tpa))
			return -1;
		addr4(addr, a->tpa);
		return ANTISPOOF_DAD;
	}
	addr4(addr, a->spa);
	return ANTISPOOF_ARP_IP;
}

static int antispoof_ipv4(const struct netback_port *from, const struct sk_buff *skb,
			  struct antispoof_addr *addr)
{
	struct iphdr ibuf;
	const struct iphdr *ip = skb_header_pointer(skb, ETH_HLEN, sizeof(ibuf), &ibuf);
	struct udphdr ubuf;
	const struct udphdr *udp;
	u8 cbuf[ETH_ALEN];
	const u8 *chaddr;

	if (!ip || ip->version != 4 || ip->ihl < 5)
		return ANTISPOOF_IP_BAD;
	udp = ip->protocol == IPPROTO_UDP && !(ip->frag_off & htons(IP_OFFSET))
		  ? skb_header_pointer(skb, ETH_HLEN + ip->ihl * 4, sizeof(ubuf), &ubuf)
		  : NULL;
	/* a DHCP server's answer would make the client that takes it use the sender as
	 * its router and name server (as a router advertisement would, IPv6). By either
	 * port: DHCP clients check the port they listen on (68), not the sender's. */
	if (udp && (udp->source == htons(67) || udp->dest == htons(68)))
		return ANTISPOOF_DHCP_SERVER;
	if (antispoof_ip_ok(&from->spoof, ip->saddr))
		return -1;
	addr4(addr, ip->saddr);
	if (ip->saddr || !udp || udp->dest != htons(67))
		return ANTISPOOF_IP_SRC;
	/* 0.0.0.0 to the DHCP server's port: a client asking for its address, for its own
	 * MAC (chaddr, after the 28 bytes of BOOTP's fixed fields) */
	chaddr =
	    skb_header_pointer(skb, ETH_HLEN + ip->ihl * 4 + sizeof(*udp) + 28, ETH_ALEN, cbuf);
	return chaddr && ether_addr_equal(chaddr, from->mac) ? -1 : ANTISPOOF_IP_SRC;
}

/* Neighbour discovery options from OFF to END: a source/target link-layer address
 * option (RFC 4861 4.6.1) must carry the client's MAC. */
static int antispoof_nd_opts(const struct netback_port *from, const struct sk_buff *skb,
			     unsigned int off, unsigned int end)
{
	while (off + 2 <= end) {
		u8 buf[8];
		const u8 *o = skb_header_pointer(skb, off, 2, buf);

		if (!o || !o[1] || off + o[1] * 8 > end)
			return ANTISPOOF_IP6_BAD;
		if ((o[0] == ND_OPT_SOURCE_LL_ADDR || o[0] == ND_OPT_TARGET_LL_ADDR) &&
		    (o[1] != 1 || !(o = skb_header_pointer(skb, off, 8, buf)) ||
		     !ether_addr_equal(o + 2, from->mac)))
			return ANTISPOOF_ND_LLADDR;
		off += o[1] * 8;
	}
	return -1;
}

/*
 * IPv6 under antispoof = ip: only for a client with IPv6 addresses listed. The source
 * is one of them or its MAC's link-local address; "::" only in duplicate address
 * detection for an address of its own and the MLD reports that go with it (RFC 4862,
 * RFC 3590). Neighbour discovery: an advertisement's target is the client's,
 * link-layer address options carry its MAC; router advertisements, redirects and
 * DHCPv6 server messages are not a client's to send.
 */
static int antispoof_ipv6(const struct netback_port *from, struct sk_buff *skb,
			  struct antispoof_addr *addr)
{
	/* the fixed part of each message the options follow (RFC 4861 4.1, 4.3, 4.4) */
	static const u8 nd_len[] = { [NDISC_ROUTER_SOLICITATION - NDISC_ROUTER_SOLICITATION] = 8,
				     [NDISC_NEIGHBOUR_SOLICITATION - NDISC_ROUTER_SOLICITATION] =
					 24,
				     [NDISC_NEIGHBOUR_ADVERTISEMENT - NDISC_ROUTER_SOLICITATION] =
					 24 };
	struct ipv6hdr hbuf;
	const struct ipv6hdr *ip6;
	struct icmp6hdr ibuf;
	const struct icmp6hdr *icmp;
	unsigned int end, nd_off;
	__be16 frag_off;
	u8 nexthdr, type;
	int off;
	bool unspec;

	if (!from->spoof.n_ip6)
		return ANTISPOOF_PROTO;
	ip6 = skb_header_pointer(skb, ETH_HLEN, sizeof(hbuf), &hbuf);
	if (!ip6 || ip6->version != 6)
		return ANTISPOOF_IP6_BAD;
	nexthdr = ip6->nexthdr;
	off = ipv6_skip_exthdr(skb, ETH_HLEN + sizeof(*ip6), &nexthdr, &frag_off);
	if (off < 0 || (skb_zcopy(skb) && off + sizeof(*icmp) > skb_headlen(skb)))
		return ANTISPOOF_IP6_BAD;
	unspec = ipv6_addr_any(&ip6->saddr);
	addr6(addr, &ip6->saddr);
	if (!unspec && !antispoof_ip6_ok(from, &ip6->saddr))
		return ANTISPOOF_IP6_SRC;
	if (nexthdr == IPPROTO_UDP && !(frag_off & htons(IP6_OFFSET))) {
		struct udphdr ubuf;
		const struct udphdr *udp = skb_header_pointer(skb, off, sizeof(ubuf), &ubuf);

		/* a DHCPv6 server's (or relay's), by either port (clients listen on 546) */
		if (udp && (udp->source == htons(547) || udp->dest == htons(546)))
			return ANTISPOOF_DHCP_SERVER;
	}
	if (nexthdr != IPPROTO_ICMPV6 || (frag_off & htons(IP6_OFFSET)))
		return unspec ? ANTISPOOF_IP6_SRC : -1;
	icmp = skb_header_pointer(skb, off, sizeof(ibuf), &ibuf);
	if (!icmp)
		return ANTISPOOF_IP6_BAD;
	switch (icmp->icmp6_type) {
	case ICMPV6_MGM_REPORT:
	case ICMPV6_MGM_REDUCTION:
	case ICMPV6_MLD2_REPORT:
		return -1;
	case NDISC_ROUTER_ADVERTISEMENT:
	case NDISC_REDIRECT:
		return ANTISPOOF_ROUTER;
	case NDISC_ROUTER_SOLICITATION:
	case NDISC_NEIGHBOUR_SOLICITATION:
	case NDISC_NEIGHBOUR_ADVERTISEMENT:
		break;
	default:
		return unspec ? ANTISPOOF_IP6_SRC : -1;
	}
	type = icmp->icmp6_type;
	if (unspec && type != NDISC_NEIGHBOUR_SOLICITATION)
		return ANTISPOOF_IP6_SRC;
	end = min_t(unsigned int, skb->len, ETH_HLEN + sizeof(*ip6) + ntohs(ip6->payload_len));
	nd_off = off + nd_len[type - NDISC_ROUTER_SOLICITATION];
	if (nd_off > end || (skb_zcopy(skb) && end > skb_headlen(skb)))
		return ANTISPOOF_IP6_BAD;
	/* an advertisement's target, and a duplicate address detection's (a solicitation
	 * from ::, which another client's DAD takes as its address being in use), are
	 * the client's own */
	if (type == NDISC_NEIGHBOUR_ADVERTISEMENT || unspec) {
		struct in6_addr tbuf;
		const struct in6_addr *target =
		    skb_header_pointer(skb, off + 8, sizeof(tbuf), &tbuf);

		if (!target || !antispoof_ip6_ok(from, target)) {
			if (target)
				addr6(addr, target);
			return unspec ? ANTISPOOF_DAD : ANTISPOOF_ND_TARGET;
		}
	}
	return antispoof_nd_opts(from, skb, nd_off, end);
}

/*
 * Why FROM may not send skb (data at the Ethernet header) as its own (an index of
 * antispoof_reasons), or -1 when it may; ADDR: the address at fault, if any.
 * MAC mode: the source MAC, and an Ethernet/IPv4 ARP's sender MAC, are the client's.
 * IP mode, also: only ARP, IPv4 and (with IPv6 addresses listed) IPv6, untagged, from
 * the client's addresses; IPv4's 0.0.0.0 only in an ARP probe and in a DHCP client's
 * request (UDP to port 67), before the client has its address.
 */
static int antispoof_why(const struct netback_port *from, struct sk_buff *skb,
			 struct antispoof_addr *addr)
{
	const struct ethhdr *eth = eth_hdr(skb);

	addr->family = 0;
	if (!ether_addr_equal(eth->h_source, from->mac))
		return ANTISPOOF_SRC_MAC;
	if (eth->h_proto == htons(ETH_P_ARP))
		return antispoof_arp(from, skb, addr);
	if (from->spoof.mode != NETBACK_ANTISPOOF_IP)
		return -1;
	if (eth->h_proto == htons(ETH_P_IP))
		return antispoof_ipv4(from, skb, addr);
	if (eth->h_proto == htons(ETH_P_IPV6))
		return antispoof_ipv6(from, skb, addr);
	return ANTISPOOF_PROTO;
}

/* May FROM send skb as its own? If not, count it and say so (once per reason and 10 s).
 * Called from FROM's tx path only. */
bool antispoof_ok(struct netback_port *from, struct sk_buff *skb)
{
	unsigned long now = jiffies, *told;
	struct antispoof_addr addr;
	char a[48] = "no address";
	int why;

	if (from->spoof.mode == NETBACK_ANTISPOOF_OFF)
		return true;
	why = antispoof_why(from, skb, &addr);
	if (why < 0)
		return true;
	port_stat_inc(from, tx_spoof_drops);
	told = &from->spoof_told[why];
	if (!*told || time_after(now, *told + 10 * HZ)) {
		*told = now ? now : 1;
		if (addr.family == AF_INET)
			snprintf(a, sizeof(a), "%pI4", &addr.a4);
		else if (addr.family == AF_INET6)
			snprintf(a, sizeof(a), "%pI6c", &addr.a6);
		dev_info(&from->t.pdev->dev,
			 "ddvm_netback: client %pM sent a frame that is not its own, dropped: %s "
			 "(source %pM, %s, type %04x; antispoof; %llu dropped so far, told once "
			 "per reason and 10 s)\n",
			 from->mac, antispoof_reasons[why], eth_hdr(skb)->h_source, a,
			 ntohs(eth_hdr(skb)->h_proto), READ_ONCE(from->st.tx_spoof_drops));
	}
	return false;
}
