// SPDX-License-Identifier: BSD-2-Clause
/*
 * libddvm net: Ethernet frames through a driver VM's NIC (include/ddvm/net.h).
 * Queue pair 0: ring 0 "tx" (we produce), ring 1 "rx" (the driver VM produces).
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

static int net_check(struct ddvm_chan *c)
{
	if (!c)
		return -EINVAL;
	if (c->kind != DDVM_CHAN_NET)
		return -EOPNOTSUPP;
	chan_sync(c);
	return chan_io_error(c);
}

static uint32_t net_max_frame(const struct ddvm_chan *c)
{
	uint32_t m = c->fe.slot_size < c->be.slot_size ? c->fe.slot_size : c->be.slot_size;

	return m < DDVM_NET_MAX_FRAME ? m : DDVM_NET_MAX_FRAME;
}

int ddvm_net_info(struct ddvm_chan *c, struct ddvm_net_info *info)
{
	const struct ddvm_net_config *nc;

	if (!c || !info)
		return -EINVAL;
	if (c->kind != DDVM_CHAN_NET)
		return -EOPNOTSUPP;
	chan_sync(c);
	nc = &c->net_cfg;
	memset(info, 0, sizeof(*info));
	memcpy(info->mac, nc->mac, 6);
	info->max_frame = net_max_frame(c);
	if (!c->ever_ready)
		return 0;
	info->mtu = nc->mtu;
	info->link_up = nc->link_up == 1;
	info->speed_mbps = nc->speed_mbps;
	memcpy(info->nic_driver, nc->nic_driver, sizeof(nc->nic_driver));
	info->nic_driver[sizeof(info->nic_driver) - 1] = '\0';
	info->features = c->features;
	return 0;
}

/* Check the caller's offload metadata against the frame and what the backend offers. */
static int net_meta_check(const struct ddvm_chan *c, const struct ddvm_net_meta *m, size_t len)
{
	uint8_t gso = m->gso_type & (uint8_t)~DDVM_NET_META_GSO_ECN;

	if (m->flags & ~(DDVM_NET_META_NEEDS_CSUM | DDVM_NET_META_DATA_VALID))
		return -EINVAL;
	if (m->flags & DDVM_NET_META_NEEDS_CSUM) {
		if ((size_t)m->csum_start + m->csum_offset + 2 > len)
			return -EINVAL;
		if (!(c->features & DDVM_NET_F_CSUM))
			return -EOPNOTSUPP;
	}
	if (gso == DDVM_NET_GSO_NONE)
		return m->gso_type ? -EINVAL : 0; /* ECN without GSO */
	if (!m->gso_size || m->hdr_len > len || !(m->flags & DDVM_NET_META_NEEDS_CSUM))
		return -EINVAL;
	if (gso == DDVM_NET_GSO_TCPV4)
		return c->features & DDVM_NET_F_TSO4 ? 0 : -EOPNOTSUPP;
	if (gso == DDVM_NET_GSO_TCPV6)
		return c->features & DDVM_NET_F_TSO6 ? 0 : -EOPNOTSUPP;
	return -EOPNOTSUPP;
}

int ddvm_net_flush(struct ddvm_chan *c)
{
	int ret = net_check(c);

	if (ret)
		return ret;
	if (ddvm_ring_publish(&c->fe))
		chan_kick(c, c->fe.vector);
	return 0;
}

int ddvm_net_send(struct ddvm_chan *c, const void *frame, size_t len,
		  const struct ddvm_net_meta *meta, unsigned int flags)
{
	struct ddvm_net_desc d;
	int ret;

	if (!c || !frame || (flags & ~DDVM_NET_SEND_MORE))
		return -EINVAL;
	ret = net_check(c);
	if (ret)
		return ret;
	if (len < DDVM_NET_MIN_FRAME || len > net_max_frame(c))
		return -EMSGSIZE;
	memset(&d, 0, sizeof(d));
	if (meta) {
		ret = net_meta_check(c, meta, len);
		if (ret)
			return ret;
		d.flags = meta->flags;
		d.gso_type = meta->gso_type;
		d.hdr_len = meta->hdr_len;
		d.gso_size = meta->gso_size;
		d.csum_start = meta->csum_start;
		d.csum_offset = meta->csum_offset;
	}
	if (ddvm_ring_space(&c->fe) == 0) {
		if (ddvm_ring_broken(&c->fe)) {
			chan_break(c, "tx ring: the consumer index moved backwards or too far");
			return -EPIPE;
		}
		/* Publish what is queued so the backend can drain it, and ask for a kick. */
		if (ddvm_ring_publish(&c->fe))
			chan_kick(c, c->fe.vector);
		c->tx_waiting = 1;
		return -EAGAIN;
	}
	d.off = ddvm_ring_slot_off(&c->fe, c->fe.prod);
	d.len = (uint32_t)len;
	memcpy(ddvm_ring_slot(&c->fe, c->fe.prod), frame, len);
	ret = ddvm_ring_push(&c->fe, &d);
	if (ret)
		return ret == -ENOSPC ? -EAGAIN : -EPIPE;
	if (!(flags & DDVM_NET_SEND_MORE) && ddvm_ring_publish(&c->fe))
		chan_kick(c, c->fe.vector);
	return 0;
}

int ddvm_net_tx_pending(struct ddvm_chan *c)
{
	int ret = net_check(c);
	uint32_t space;

	if (ret)
		return ret;
	space = ddvm_ring_space(&c->fe);
	if (ddvm_ring_broken(&c->fe)) {
		chan_break(c, "tx ring: the consumer index moved backwards or too far");
		return -EPIPE;
	}
	return (int)(c->fe.entries - space);
}

/*
 * A received descriptor the driver VM wrote. A buffer outside its slot or a length out
 * of range breaks the ring protocol: the channel is broken. Offload metadata that does
 * not describe the frame is the frame's fault, which may be another client's that the
 * driver VM forwarded: the frame is dropped (-EBADMSG), as ddvm_netfront drops it, and
 * the channel goes on.
 */
static const char *net_rx_check(const struct ddvm_chan *c, const struct ddvm_net_desc *d,
				uint32_t idx, const void **payload)
{
	*payload = ddvm_ring_slot_check(&c->be, idx, d->off, d->len);
	if (!*payload)
		return "rx descriptor names a buffer outside its slot";
	if (d->len < DDVM_NET_MIN_FRAME || d->len > DDVM_NET_MAX_FRAME)
		return "rx frame length out of range";
	return NULL;
}

static bool net_rx_meta_ok(const struct ddvm_net_desc *d)
{
	uint8_t gso = d->gso_type & (uint8_t)~DDVM_NET_GSO_ECN;

	if (d->flags & ~(DDVM_NET_DESC_NEEDS_CSUM | DDVM_NET_DESC_DATA_VALID))
		return false;
	if ((d->flags & DDVM_NET_DESC_NEEDS_CSUM) &&
	    (uint32_t)d->csum_start + d->csum_offset + 2 > d->len)
		return false;
	if (gso != DDVM_NET_GSO_NONE && gso != DDVM_NET_GSO_TCPV4 && gso != DDVM_NET_GSO_UDP &&
	    gso != DDVM_NET_GSO_TCPV6 && gso != DDVM_NET_GSO_UDP_L4)
		return false;
	if (gso != DDVM_NET_GSO_NONE && (!d->gso_size || d->hdr_len > d->len))
		return false;
	return true;
}

ssize_t ddvm_net_recv(struct ddvm_chan *c, void *buf, size_t cap, struct ddvm_net_meta *meta)
{
	struct ddvm_net_desc d;
	const void *payload;
	const char *bad;
	uint32_t idx;
	ssize_t ret;

	if (!c || !buf)
		return -EINVAL;
	ret = net_check(c);
	if (ret)
		return ret;
	idx = c->be.cons;
	ret = ddvm_ring_pop(&c->be, &d);
	if (ret == -EAGAIN)
		return -EAGAIN;
	if (ret) {
		chan_break(c, "rx ring: the producer index moved backwards or too far");
		return -EPIPE;
	}
	bad = net_rx_check(c, &d, idx, &payload);
	if (bad) {
		chan_break(c, bad);
		return -EPIPE;
	}
	if (!net_rx_meta_ok(&d)) {
		ret = -EBADMSG;
	} else if (d.len > cap) {
		ret = -EMSGSIZE;
	} else {
		memcpy(buf, payload, d.len);
		ret = d.len;
		if (meta) {
			meta->flags = d.flags;
			meta->gso_type = d.gso_type;
			meta->hdr_len = d.hdr_len;
			meta->gso_size = d.gso_size;
			meta->csum_start = d.csum_start;
			meta->csum_offset = d.csum_offset;
		}
	}
	/* Give the slot back at once; a batch of pops costs one kick at most. */
	if (ddvm_ring_release(&c->be))
		chan_kick(c, c->be.vector);
	return ret;
}
