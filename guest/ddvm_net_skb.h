/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Frames <-> sk_buffs for both ends of a ddvm net channel (the translation module in
 * the driver VM and the client driver): copy a frame out of a payload slot into a
 * private skb, and carry checksum/segmentation offload metadata between an skb and a
 * struct ddvm_net_desc the way virtio_net_hdr_{to,from}_skb() do for virtio-net.
 *
 * Everything here works on PRIVATE copies: the descriptor was copied out of the ring
 * once (ddvm_ring_pop) and the frame is copied out of its slot once, before any field
 * of either is parsed.
 */
#ifndef DDVM_NET_SKB_H
#define DDVM_NET_SKB_H

#include <linux/skbuff.h>
#include <linux/etherdevice.h>
#include <linux/if_vlan.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include "ddvm/net.h"

#define DDVM_NET_COPYBREAK 128 /* at least this many bytes go to the linear part */
#define DDVM_NET_MAX_SEGS  256 /* a GSO frame may not ask for more segments */

/* Build an skb holding a private copy of frame[0, len): the first `linear` bytes
 * (headers the stack must find in the linear area) in skb->data, the rest in page
 * fragments, so a 64 KiB GSO frame needs no high-order allocation. */
static inline struct sk_buff *ddvm_net_skb_copy(const void *frame, u32 len, u32 linear, gfp_t gfp)
{
	struct sk_buff *skb;
	int err;

	linear = min(max_t(u32, linear, DDVM_NET_COPYBREAK), len);
	skb = alloc_skb_with_frags(NET_SKB_PAD + NET_IP_ALIGN + linear, len - linear,
				   PAGE_ALLOC_COSTLY_ORDER, &err, gfp);
	if (!skb)
		return NULL;
	skb_reserve(skb, NET_SKB_PAD + NET_IP_ALIGN);
	skb_put(skb, linear);
	skb->data_len = len - linear;
	skb->len += len - linear;
	if (skb_store_bits(skb, 0, frame, len)) {
		kfree_skb(skb);
		return NULL;
	}
	return skb;
}

/* Bytes of the frame that must be linear for ddvm_net_desc_to_skb(). */
static inline u32 ddvm_net_desc_linear(const struct ddvm_net_desc *d)
{
	u32 need = d->hdr_len;

	if (d->flags & DDVM_NET_DESC_NEEDS_CSUM)
		need = max_t(u32, need, (u32)d->csum_start + d->csum_offset + sizeof(__sum16));
	return need;
}

/*
 * Apply a peer's offload metadata to an skb whose data starts at the Ethernet header.
 * Untrusted input: every combination that is not a well-formed request fails with
 * -EINVAL (the caller drops the frame and counts it). GSO frames are marked
 * SKB_GSO_DODGY, so the stack re-validates their headers before segmenting them.
 * gso_ok: which DDVM_NET_GSO_* types this side agreed to take (bit per type).
 */
static inline int ddvm_net_desc_to_skb(struct sk_buff *skb, const struct ddvm_net_desc *d,
				       bool gso_ok)
{
	u8 type = d->gso_type & ~DDVM_NET_GSO_ECN;
	const struct tcphdr *th;
	unsigned int gso_type;
	struct tcphdr _th;

	if (d->flags & ~(DDVM_NET_DESC_NEEDS_CSUM | DDVM_NET_DESC_DATA_VALID))
		return -EINVAL;
	if (d->flags & DDVM_NET_DESC_NEEDS_CSUM) {
		/* checks csum_start + csum_offset + 2 <= skb_headlen() */
		if (!skb_partial_csum_set(skb, d->csum_start, d->csum_offset))
			return -EINVAL;
	} else if (d->flags & DDVM_NET_DESC_DATA_VALID) {
		skb->ip_summed = CHECKSUM_UNNECESSARY;
	}

	if (type == DDVM_NET_GSO_NONE)
		return d->gso_type ? -EINVAL : 0;
	if (!gso_ok || !(d->flags & DDVM_NET_DESC_NEEDS_CSUM))
		return -EINVAL;
	switch (type) {
	case DDVM_NET_GSO_TCPV4:
		gso_type = SKB_GSO_TCPV4;
		break;
	case DDVM_NET_GSO_TCPV6:
		gso_type = SKB_GSO_TCPV6;
		break;
	default:
		return -EINVAL; /* UFO and UDP_L4 are not offered */
	}
	if (d->gso_type & DDVM_NET_GSO_ECN)
		gso_type |= SKB_GSO_TCP_ECN;
	/* A gso_size of a few bytes would make one frame into tens of thousands. */
	if (d->gso_size == 0 || skb->len > (u32)d->gso_size * DDVM_NET_MAX_SEGS)
		return -EINVAL;
	/* The TCP header every segment repeats: where the checksum offsets put it, and
	 * ending inside the frame. Its doff is the peer's: unchecked, a frame forwarded
	 * to another client (which no stack re-validates, unlike the NIC's path) would
	 * claim headers longer than itself. */
	if (d->csum_offset != offsetof(struct tcphdr, check))
		return -EINVAL;
	th = skb_header_pointer(skb, d->csum_start, sizeof(_th), &_th);
	if (!th || th->doff < 5 || (u32)d->csum_start + th->doff * 4 >= skb->len)
		return -EINVAL;
	skb_shinfo(skb)->gso_size = d->gso_size;
	skb_shinfo(skb)->gso_type = gso_type | SKB_GSO_DODGY;
	skb_shinfo(skb)->gso_segs = 0;
	return 0;
}

/* Describe an skb's offload state (data at the Ethernet header) in a descriptor.
 * -EOPNOTSUPP for a GSO type the channel cannot carry, -EINVAL for GSO headers that
 * do not end inside the frame (the caller segments it in software, which checks). */
static inline int ddvm_net_skb_to_desc(const struct sk_buff *skb, struct ddvm_net_desc *d)
{
	memset(d, 0, sizeof(*d));
	if (skb_is_gso(skb)) {
		const struct skb_shared_info *si = skb_shinfo(skb);

		if (si->gso_type & SKB_GSO_TCPV4)
			d->gso_type = DDVM_NET_GSO_TCPV4;
		else if (si->gso_type & SKB_GSO_TCPV6)
			d->gso_type = DDVM_NET_GSO_TCPV6;
		else
			return -EOPNOTSUPP;
		if (si->gso_type & SKB_GSO_TCP_ECN)
			d->gso_type |= DDVM_NET_GSO_ECN;
		if (skb->ip_summed != CHECKSUM_PARTIAL)
			return -EOPNOTSUPP;
		if (skb_tcp_all_headers(skb) >= skb->len)
			return -EINVAL;
		d->gso_size = si->gso_size;
		d->hdr_len = skb_tcp_all_headers(skb);
	}
	if (skb->ip_summed == CHECKSUM_PARTIAL) {
		d->flags = DDVM_NET_DESC_NEEDS_CSUM;
		d->csum_start = skb_checksum_start_offset(skb);
		d->csum_offset = skb->csum_offset;
	} else if (skb->ip_summed == CHECKSUM_UNNECESSARY) {
		d->flags = DDVM_NET_DESC_DATA_VALID;
	}
	return 0;
}

#endif /* DDVM_NET_SKB_H */
