// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ddvm_netback: serve ddvm net channels from a driver VM's NIC (see netback.h and
 * docs/net.md). This file: the PCI driver for the channel's ivshmem device, the
 * channel's life cycle (attach, epoch, heartbeat, broken) and the tx-ring NAPI poll.
 *
 * The client is not trusted: each descriptor is copied out of the ring once
 * (ddvm_ring_pop), its slot and length are checked against our private copy of the
 * layout, its frame's headers are copied out once and only the copy is parsed (a large
 * frame's payload may go to the NIC from the slot: port_tx_zc), and every loop is
 * bounded by the NAPI budget. A violation breaks the port: counted, reported in
 * backend_state, the rings left alone until the supervisor starts a new epoch.
 */
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/etherdevice.h>
#include <linux/ethtool.h>
#include <linux/if_arp.h>
#include <linux/if_vlan.h>
#include <linux/rtnetlink.h>
#include "netback.h"
#include "ddvm_net_skb.h"
#include "ddvm_stats.h"

static bool offload = true;
module_param(offload, bool, 0444);
MODULE_PARM_DESC(offload, "offer checksum and TSO offloads to clients (default on)");

static bool zero_copy = true;
module_param(zero_copy, bool, 0644);
MODULE_PARM_DESC(zero_copy, "send clients' large frames to the NIC from their slots, without "
			    "copying them (default on; may be changed at run time)");

static struct ddvm_net_config *port_config(struct netback_port *p)
{
	return (struct ddvm_net_config *)p->t.rg.hdr->device;
}

/* Publish our state for the epoch and the client's session we serve. */
static void port_set_state(struct netback_port *p, u32 state)
{
	WRITE_ONCE(p->state, state);
	ddvm_region_session_ack(&p->t.rg, state, p->epoch, p->session);
	/* The supervisor watches our heartbeat from the first beat of an epoch: beat as
	 * we serve, not at the next tick, so that a hang right after it is found too. */
	if (state == DDVM_STATE_READY)
		ddvm_ivshmem_health(&p->t);
}

void port_break(struct netback_port *p, const char *why)
{
	if (xchg(&p->broken, true))
		return;
	WRITE_ONCE(p->active, false);
	port_backlog_purge(p); /* never called with rx_lock held */
	port_stat_inc(p, violations);
	ddvm_write64(&p->t.rg.hdr->backend_errors, READ_ONCE(p->st.violations));
	port_set_state(p, DDVM_STATE_BROKEN);
	if (__ratelimit(&p->log_rs))
		dev_warn(
		    &p->t.pdev->dev,
		    "ddvm_netback: client %pM broke the protocol (%s): channel stopped until a new "
		    "session\n",
		    p->mac, why);
}

/* Called under rtnl by the switch when the NIC went away. */
void port_nic_gone(struct netback_port *p)
{
	WRITE_ONCE(p->active, false);
	ddvm_write32(&port_config(p)->link_up, 0);
	if (!READ_ONCE(p->broken))
		port_set_state(p, DDVM_STATE_ATTACHING);
	if (!READ_ONCE(p->dying))
		mod_delayed_work(system_wq, &p->attach, HZ / 5);
}

/* --- client -> driver VM: the tx ring ------------------------------------------------ */

/* Schedule the tx NAPI from any context: the tick and the client's state (tasks), a
 * zero-copy completion (any). */
static void port_napi_kick(struct netback_port *p)
{
	if (in_task()) {
		local_bh_disable();
		napi_schedule(&p->napi);
		local_bh_enable();
	} else {
		napi_schedule(&p->napi);
	}
}

/*
 * A zero-copy frame is done with: no skb, clone or GSO segment refers to its slot's
 * pages any more (the NIC sent it, or the stack copied what it keeps: a local
 * delivery's skb_orphan_frags_rx). The slot may go back to the client, in ring order,
 * at the next poll. Runs in any context, possibly after a ring reset (then the slot
 * entry is no longer ours and stays as it is) and before remove finishes waiting.
 */
static void port_zc_done(struct sk_buff *skb, struct ubuf_info *ubuf, bool success)
{
	struct netback_zc *z = container_of(ubuf, struct netback_zc, ubuf);
	struct netback_port *p = z->p;
	unsigned long flags;

	if (!refcount_dec_and_test(&ubuf->refcnt))
		return; /* segments of the same frame still out */
	cmpxchg(&p->tx_zc[z->idx & p->tx.mask], z, NULL);
	kfree(z);
	port_napi_kick(p);
	spin_lock_irqsave(&p->zc_lock, flags);
	if (atomic_dec_and_test(&p->zc_inflight))
		wake_up(&p->zc_wq);
	spin_unlock_irqrestore(&p->zc_lock, flags);
}

/*
 * Zero-copy transmit: an skb whose linear part is a private copy of the frame's first
 * `linear` bytes (every header the stack parses: ddvm_net_desc_linear) and whose
 * fragments are the slot's own pages, so the NIC reads the payload where the client
 * wrote it. The client may change those bytes while the NIC reads them: that corrupts
 * only its own frame (the fragments are marked shared, so the stack linearises before
 * it would checksum them in software). NULL when the frame cannot go this way (no
 * pages there, too many fragments, no memory): the caller copies.
 */
static struct sk_buff *port_tx_zc(struct netback_port *p, const void *frame, u32 len, u32 linear,
				  u32 idx)
{
	resource_size_t off = (const u8 *)frame - (const u8 *)p->t.shm + linear;
	u32 left = len - linear;
	struct netback_zc *z;
	struct sk_buff *skb;
	int i = 0;

	if (!ddvm_ivshmem_page(&p->t, off) || !ddvm_ivshmem_page(&p->t, off + left - 1) ||
	    DIV_ROUND_UP(offset_in_page(off) + left, PAGE_SIZE) > MAX_SKB_FRAGS)
		return NULL;
	z = kmalloc(sizeof(*z), GFP_ATOMIC);
	if (!z)
		return NULL;
	skb = alloc_skb(NET_SKB_PAD + NET_IP_ALIGN + linear, GFP_ATOMIC);
	if (!skb) {
		kfree(z);
		return NULL;
	}
	skb_reserve(skb, NET_SKB_PAD + NET_IP_ALIGN);
	skb_put_data(skb, frame, linear);
	while (left) {
		struct page *pg = ddvm_ivshmem_page(&p->t, off);
		u32 n = min_t(u32, left, PAGE_SIZE - offset_in_page(off));

		get_page(pg);
		skb_fill_page_desc(skb, i++, pg, offset_in_page(off), n);
		off += n;
		left -= n;
	}
	skb->data_len = len - linear;
	skb->len += len - linear;
	skb->truesize += len - linear;
	z->p = p;
	z->idx = idx;
	z->ubuf.callback = port_zc_done;
	refcount_set(&z->ubuf.refcnt, 1);
	/* zero copy, the pages may change under us (SHARED_FRAG), and software GSO may
	 * hand the pages on to the segments instead of copying them (DONT_ORPHAN, as
	 * MSG_ZEROCOPY does; a local delivery still copies: skb_orphan_frags_rx) */
	z->ubuf.flags = SKBFL_ZEROCOPY_FRAG | SKBFL_DONT_ORPHAN;
	atomic_inc(&p->zc_inflight);
	WRITE_ONCE(p->tx_zc[idx & p->tx.mask], z);
	skb_zcopy_init(skb, &z->ubuf);
	return skb;
}

static void port_tx_one(struct netback_port *p, const struct ddvm_net_desc *d, u32 idx)
{
	bool gso_ok = p->features & (DDVM_NET_F_TSO4 | DDVM_NET_F_TSO6);
	const void *frame;
	struct sk_buff *skb = NULL;
	u32 linear;
	int depth;

	frame = ddvm_ring_slot_check(&p->tx, idx, d->off, d->len);
	if (!frame || d->len < DDVM_NET_MIN_FRAME || d->len > DDVM_NET_MAX_FRAME) {
		port_break(p, "tx descriptor outside its slot");
		return;
	}
	if (ddvm_net_desc_linear(d) > d->len) {
		port_stat_inc(p, tx_bad);
		return;
	}
	linear = min_t(u32, max_t(u32, ddvm_net_desc_linear(d), DDVM_NET_COPYBREAK), d->len);
	if (READ_ONCE(zero_copy) && smp_load_acquire(&p->zc) && d->len >= NETBACK_ZC_MIN_FRAME &&
	    d->len > linear) {
		skb = port_tx_zc(p, frame, d->len, linear, idx);
		if (skb)
			port_stat_add(p, &p->st.tx_copy_bytes, linear);
	}
	if (!skb) {
		skb = ddvm_net_skb_copy(frame, d->len, linear, GFP_ATOMIC);
		if (!skb) {
			port_stat_inc(p, tx_drops);
			return;
		}
		port_stat_add(p, &p->st.tx_copy_bytes, d->len);
	}
	skb_reset_mac_header(skb);
	skb->protocol = eth_hdr(skb)->h_proto;
	skb_set_network_header(skb, ETH_HLEN);
	if (eth_type_vlan(skb->protocol) && __vlan_get_protocol(skb, skb->protocol, &depth) != 0)
		skb_set_network_header(skb, depth);
	if (ddvm_net_desc_to_skb(skb, d, gso_ok)) {
		port_stat_inc(p, tx_bad);
		kfree_skb(skb);
		return;
	}
	if (!skb_transport_header_was_set(skb))
		skb_probe_transport_header(skb);
	port_stat_inc(p, tx_frames);
	port_stat_add(p, &p->st.tx_bytes, skb->len);
	switch_forward(p, skb);
}

/* The ring index up to which popped tx slots may go back: the first one whose frame
 * the NIC may still read. */
static u32 port_tx_releasable(struct netback_port *p)
{
	u32 i = p->tx.published;

	if (!READ_ONCE(p->zc))
		return p->tx.cons;
	while (i != p->tx.cons && !READ_ONCE(p->tx_zc[i & p->tx.mask]))
		i++;
	return i;
}

static int port_poll(struct napi_struct *napi, int budget)
{
	struct netback_port *p = container_of(napi, struct netback_port, napi);
	struct ddvm_net_desc d;
	int done = 0;

	port_stat_inc(p, polls);
	port_drain(p); /* the client may have freed rx slots for frames that wait */
	while (done < budget && READ_ONCE(p->active)) {
		if (ddvm_ring_pop(&p->tx, &d))
			break;
		done++;
		port_tx_one(p, &d, p->tx.cons - 1);
	}
	if (ddvm_ring_broken(&p->tx))
		port_break(p, "tx ring: client moved prod out of range");
	/* Free the whole batch of slots at once, up to the first one a zero-copy frame
	 * still holds; kick the client if it waits for them. */
	if (ddvm_ring_release_to(&p->tx, port_tx_releasable(p))) {
		ddvm_ivshmem_kick(&p->t, p->tx.vector);
		port_stat_inc(p, kicks_out);
	}
	if (done < budget && napi_complete_done(napi, done)) {
		/* Ask for a doorbell, then the final check closes the race with a client
		 * that published just before it could see our request. */
		if (READ_ONCE(p->active) && !ddvm_ring_prepare_wait(&p->tx))
			napi_schedule(napi);
	}
	return done;
}

/* --- channel life cycle ---------------------------------------------------------------- */

/* Start both rings from zero, the shared fields WE own included (rx: prod, cons_event;
 * tx: cons, prod_event), so that nothing we wrote before an epoch change survives it.
 * The client does the same for its fields when it re-attaches; nobody writes the other
 * side's fields. */
static void port_reset_rings(struct netback_port *p)
{
	u32 i;

	/* Frames still in flight from the old rings complete later and find their
	 * entries gone (port_zc_done): the client starts its rings from zero too and
	 * may write those slots again, which only alters what it sent itself. */
	for (i = 0; p->tx_zc && i < p->tx.entries; i++)
		WRITE_ONCE(p->tx_zc[i], NULL);
	ddvm_ring_reset_own(&p->tx);
	ddvm_ring_reset_own(&p->rx);
	ddvm_mb();
}

/* A new epoch (the supervisor's) or a new session (the client's, abi.h): start again
 * from zero, dropping what the old one left in the backlog. */
static void port_reset(struct netback_port *p, u32 epoch, u32 session)
{
	napi_disable(&p->napi);
	spin_lock_bh(&p->rx_lock);
	WRITE_ONCE(p->active, false);
	__skb_queue_purge(&p->rx_backlog);
	p->backlog_bytes = 0;
	port_reset_rings(p);
	port_stat_inc(p, sessions);
	if (epoch == p->epoch)
		p->session_at = jiffies; /* only the client's own requests are rate-limited */
	p->epoch = epoch;
	p->session = session;
	WRITE_ONCE(p->broken, false);
	spin_unlock_bh(&p->rx_lock);
	napi_enable(&p->napi);
	port_stat_inc(p, resets);
	port_set_state(p, rcu_access_pointer(p->sw) ? DDVM_STATE_READY : DDVM_STATE_ATTACHING);
	ddvm_ivshmem_kick(&p->t, DDVM_VECTOR_CONTROL);
	if (__ratelimit(&p->log_rs))
		dev_info(&p->t.pdev->dev, "ddvm_netback: epoch %u session %u: rings reset\n", epoch,
			 session);
}

/* Start or stop moving frames as the client's state says. */
static void port_follow_client(struct netback_port *p)
{
	const struct ddvm_region_hdr *h = p->t.rg.hdr;
	u32 fs = ddvm_load_acquire(&h->frontend_state);
	u32 fe = ddvm_read32(&h->frontend_epoch);
	bool want = fs == DDVM_STATE_READY && fe == p->epoch &&
		    ddvm_region_session_current(&p->t.rg, p->epoch, p->session) &&
		    !READ_ONCE(p->broken) && READ_ONCE(p->state) == DDVM_STATE_READY;

	/* A client that detached (its driver unloaded, its VM restarted) takes its ring
	 * state with it: start ours from zero too, once, so that it can come back within
	 * the same epoch. No more often than a session request: a client flipping its
	 * state between READY and CLOSED and ringing after each write would have the
	 * shared driver VM reset its port in a loop (the next tick or doorbell does it). */
	if (fs == DDVM_STATE_CLOSED || fs == DDVM_STATE_ABSENT) {
		if (!p->fe_gone && time_after_eq(jiffies, p->session_at + NETBACK_SESSION_GAP)) {
			p->fe_gone = true;
			if (READ_ONCE(p->active) || p->tx.cons || p->rx.prod)
				port_reset(p, p->epoch, p->session);
		}
	} else if (fs == DDVM_STATE_READY) {
		p->fe_gone = false;
	}

	if (want == READ_ONCE(p->active))
		return;
	if (want)
		WRITE_ONCE(p->fe_features, ddvm_read64(&h->driver_features) & p->features);
	spin_lock_bh(&p->rx_lock);
	WRITE_ONCE(p->active, want);
	if (!want) {
		__skb_queue_purge(&p->rx_backlog);
		p->backlog_bytes = 0;
	}
	spin_unlock_bh(&p->rx_lock);
	if (__ratelimit(&p->log_rs))
		dev_info(&p->t.pdev->dev,
			 "ddvm_netback: client %pM %s (epoch %u, features %#llx)\n", p->mac,
			 want ? "connected" : "disconnected", p->epoch, p->fe_features);
	if (want)
		port_napi_kick(p); /* anything queued before we looked */
}

static void port_stats_publish(struct netback_port *p); /* counters, below */

static void port_tick(struct work_struct *w)
{
	struct netback_port *p = container_of(to_delayed_work(w), struct netback_port, tick);
	struct netback_switch *sw;
	u32 epoch, session, link = 0;

	/* A spare's port on standby is on its NIC's switch, whose carrier events queue
	 * this tick: it must not write a byte of the channel (takeover starts it). */
	if (READ_ONCE(p->standby))
		return;
	epoch = ddvm_region_epoch(&p->t.rg);
	session = ddvm_region_session_request(&p->t.rg, epoch, p->session);
	/* A client asking for sessions in a loop gets one per NETBACK_SESSION_GAP; and
	 * one that writes epoch after epoch over the supervisor's (which writes its own
	 * back) as many epoch changes: the supervisor changes it seldom, so a second
	 * change within the gap waits for the next tick or control doorbell. */
	if (epoch != p->epoch) {
		if (time_after_eq(jiffies, p->epoch_at + NETBACK_SESSION_GAP)) {
			p->epoch_at = jiffies;
			port_reset(p, epoch, session ? session : p->session);
		}
	} else if (session && time_after_eq(jiffies, p->session_at + NETBACK_SESSION_GAP)) {
		port_reset(p, epoch, session);
	}
	port_follow_client(p);
	if (READ_ONCE(p->active)) {
		/* Belt and braces: a doorbell lost on the way (a peer's QEMU restarting)
		 * must cost one tick, never a stalled channel. */
		port_napi_kick(p);
	}

	rcu_read_lock();
	sw = rcu_dereference(p->sw);
	if (sw)
		link = netif_running(sw->nic) && netif_carrier_ok(sw->nic);
	rcu_read_unlock();
	ddvm_write32(&port_config(p)->link_up, link);
	ddvm_write64(&p->t.rg.hdr->backend_errors, READ_ONCE(p->st.violations));
	/* Re-assert what we own: a scribbled status field heals within one tick. */
	ddvm_region_session_ack(&p->t.rg, READ_ONCE(p->state), p->epoch, p->session);
	ddvm_region_heartbeat(&p->t.rg);
	port_stats_publish(p);
	/* Healthy: this tick runs (a hung workqueue stops it). The supervisor hears it on
	 * a doorbell only we have; the client can scribble over hdr.heartbeat at will. */
	ddvm_ivshmem_health(&p->t);

	/* On whole seconds, with blkback's heartbeat and the kernel's housekeeping: one
	 * wake-up of an idle driver VM for all of them (round_jiffies_relative). */
	if (!READ_ONCE(p->dying))
		schedule_delayed_work(&p->tick,
				      round_jiffies_relative(msecs_to_jiffies(NETBACK_TICK_MS)));
}

/* Which NIC hdr.backend_target names: an interface ("eth0"), a PCI address
 * ("0000:00:03.0": the NIC's nearest PCI ancestor, so also a virtio NIC, whose parent
 * is the virtio device on that PCI function), or, when empty, the first Ethernet NIC
 * with a parent device. */
static struct net_device *port_find_nic(struct netback_port *p)
{
	struct net_device *dev;
	struct device *d;

	ASSERT_RTNL();
	if (p->target[0] && !strchr(p->target, ':'))
		return __dev_get_by_name(&init_net, p->target);
	for_each_netdev(&init_net, dev) {
		struct device *parent = dev->dev.parent;

		if (dev->type != ARPHRD_ETHER || (dev->flags & IFF_LOOPBACK) || !parent)
			continue;
		if (!p->target[0])
			return dev;
		for (d = parent; d && !dev_is_pci(d); d = d->parent)
			;
		if (d && !strcmp(pci_name(to_pci_dev(d)), p->target))
			return dev;
	}
	return NULL;
}

static void port_describe(struct netback_port *p, struct net_device *nic)
{
	struct ddvm_net_config *c = port_config(p);
	struct ethtool_link_ksettings ks;
	char drv[sizeof(c->nic_driver)] = "";
	u32 speed = 0, mtu;

	if (!__ethtool_get_link_ksettings(nic, &ks) && ks.base.speed != SPEED_UNKNOWN)
		speed = ks.base.speed;
	if (nic->dev.parent && nic->dev.parent->driver)
		strscpy(drv, nic->dev.parent->driver->name, sizeof(drv));
	/* The largest frame the client may send must fit a slot of either ring. */
	mtu = min3(nic->mtu, p->tx.slot_size, p->rx.slot_size);
	mtu = min_t(u32, mtu, min(p->tx.slot_size, p->rx.slot_size) - ETH_HLEN - VLAN_HLEN);
	mtu = min_t(u32, mtu, U16_MAX);

	ddvm_write64(&p->t.rg.hdr->features, p->features);
	WRITE_ONCE(c->mtu, (u16)mtu);
	ddvm_write32(&c->speed_mbps, speed);
	ddvm_write32(&c->link_up, netif_running(nic) && netif_carrier_ok(nic));
	memcpy(c->nic_driver, drv, sizeof(c->nic_driver));
}

/*
 * Attach to the NIC (it may appear after us: retried from the attach work), then
 * describe it and serve. A warm spare's port on standby attaches only (its frames are
 * dropped until it is active: port_deliver) and then says it is prepared, so that a
 * takeover only describes the NIC and publishes READY.
 */
static void port_attach(struct netback_port *p)
{
	struct net_device *nic;
	int err;

	rtnl_lock();
	if (READ_ONCE(p->dying))
		goto out;
	if (!rtnl_dereference(p->sw)) {
		nic = port_find_nic(p);
		if (!nic) {
			if (!p->attach_logged)
				dev_info(&p->t.pdev->dev, "ddvm_netback: waiting for NIC '%s'\n",
					 p->target[0] ? p->target : "(any)");
			p->attach_logged = true;
			schedule_delayed_work(&p->attach, HZ / 5);
			goto out;
		}
		err = switch_port_attach(p, nic);
		if (err) {
			if (!p->attach_logged)
				dev_err(&p->t.pdev->dev,
					"ddvm_netback: cannot attach to %s: %d (retrying)\n",
					nic->name, err);
			p->attach_logged = true;
			schedule_delayed_work(&p->attach, HZ);
			goto out;
		}
		p->attach_logged = false;
	}
	if (READ_ONCE(p->standby)) {
		ddvm_ivshmem_standby_prepared(&p->t);
		rtnl_unlock();
		return; /* no tick on standby: it writes the header */
	}
	nic = rtnl_dereference(p->sw)->nic;
	port_describe(p, nic);
	if (!READ_ONCE(p->broken)) {
		port_set_state(p, DDVM_STATE_READY);
		/* the client waits for READY: tell it now, not at its next poll (200 ms) */
		ddvm_ivshmem_kick(&p->t, DDVM_VECTOR_CONTROL);
	}
	if (!READ_ONCE(p->zc))
		schedule_delayed_work(&p->zc_map, msecs_to_jiffies(NETBACK_ZC_DELAY_MS));
	dev_info(&p->t.pdev->dev, "ddvm_netback: serving client %pM on %s (%s, mtu %u), epoch %u\n",
		 p->mac, nic->name, port_config(p)->nic_driver, port_config(p)->mtu, p->epoch);
out:
	rtnl_unlock();
	if (!READ_ONCE(p->standby))
		mod_delayed_work(system_wq, &p->tick, 0);
}

static void port_attach_work(struct work_struct *w)
{
	port_attach(container_of(to_delayed_work(w), struct netback_port, attach));
}

/* The doorbell guard's question (guest/ddvm_ivshmem.h): do we move frames now? */
static bool port_serving(struct ddvm_ivshmem *t)
{
	return READ_ONCE(container_of(t, struct netback_port, t)->active);
}

static void port_irq(struct ddvm_ivshmem *t, unsigned int vector)
{
	struct netback_port *p = container_of(t, struct netback_port, t);

	if (smp_load_acquire(&p->dying)) /* not probed yet, or being removed */
		return;
	if (READ_ONCE(p->standby)) {
		if (vector == DDVM_VECTOR_CONTROL)
			schedule_work(&p->takeover);
		return;
	}
	port_stat_inc(p, irqs);
	if (vector == DDVM_VECTOR_CONTROL)
		mod_delayed_work(system_wq, &p->tick, 0);
	else if (!READ_ONCE(p->broken)) /* stopped: nothing to poll until a new session */
		napi_schedule(&p->napi);
}

/* Which NIC and which client MAC: from the supervisor's channel list, or (no list: a
 * hand-built QEMU) copied out of the header, and checked (read only: a spare's port on
 * standby does this too, to attach to its NIC early). */
static int port_identity(struct netback_port *p)
{
	struct ddvm_region *rg = &p->t.rg;
	struct device *dev = &p->t.pdev->dev;
	unsigned int i;

	if (p->t.has_identity) /* the supervisor's list (ddvm_ivshmem_probe), not the header */
		strscpy(p->target, p->t.id_target, sizeof(p->target));
	else
		memcpy(p->target, rg->hdr->backend_target, sizeof(p->target));
	p->target[sizeof(p->target) - 1] = '\0';
	for (i = 0; p->target[i]; i++) {
		if (!isalnum(p->target[i]) && !strchr(":._-", p->target[i])) {
			dev_err(dev, "ddvm_netback: backend_target is not a device name\n");
			return -EINVAL;
		}
	}
	memcpy(p->mac, p->t.has_identity ? p->t.id_mac : port_config(p)->mac, ETH_ALEN);
	if (!is_valid_ether_addr(p->mac)) {
		dev_err(dev, "ddvm_netback: channel gives the client no valid MAC (%pM)\n", p->mac);
		return -EINVAL;
	}
	/* no list (a hand-built QEMU): the default, the client's own MAC only */
	if (antispoof_parse(&p->spoof, p->t.has_identity ? p->t.id_antispoof : "")) {
		dev_err(dev, "ddvm_netback: channels entry: antispoof policy '%s' is malformed\n",
			p->t.id_antispoof);
		return -EINVAL;
	}
	return 0;
}

/* Copy what we need out of the (already validated) region, once. */
static int port_init_channel(struct netback_port *p)
{
	struct ddvm_region *rg = &p->t.rg;
	int err;

	err = ddvm_region_ring(rg, 0, DDVM_SIDE_BACKEND, &p->tx);
	if (!err)
		err = ddvm_region_ring(rg, 1, DDVM_SIDE_BACKEND, &p->rx);
	if (err || p->tx.is_producer || !p->rx.is_producer || !p->tx.slot_size ||
	    !p->rx.slot_size || p->rx.slot_size < ETH_HLEN + VLAN_HLEN + 68) {
		dev_err(&p->t.pdev->dev, "ddvm_netback: unusable net rings\n");
		return -EINVAL;
	}
	err = port_identity(p);
	if (err)
		return err;
	if (!p->tx_zc) {
		p->tx_zc = kcalloc(p->tx.entries, sizeof(*p->tx_zc), GFP_KERNEL);
		if (!p->tx_zc)
			return -ENOMEM;
	}
	p->features = DDVM_NET_F_MTU;
	if (offload)
		p->features |= DDVM_NET_F_CSUM | DDVM_NET_F_GUEST_CSUM | DDVM_NET_F_TSO4 |
			       DDVM_NET_F_TSO6 | DDVM_NET_F_GUEST_TSO4 | DDVM_NET_F_GUEST_TSO6;
	p->epoch = ddvm_region_epoch(rg);
	port_reset_rings(p);
	port_stat_inc(p, sessions);
	/* a client already waiting (we are a restarted driver VM) gets its session now */
	p->session = ddvm_region_session_request(rg, p->epoch, 0);
	p->session_at = jiffies - NETBACK_SESSION_GAP;
	p->epoch_at = jiffies - NETBACK_SESSION_GAP;
	port_set_state(p, DDVM_STATE_ATTACHING);
	return 0;
}

/*
 * A warm spare's port: is it the channel's driver VM now? It attached to its NIC on
 * standby, so serve at once, in this work (the failover gap is what this costs). A MAC
 * that changed since (a scribbled header) re-attaches.
 */
static void port_takeover_work(struct work_struct *w)
{
	struct netback_port *p = container_of(w, struct netback_port, takeover);
	u8 mac[ETH_ALEN];

	if (READ_ONCE(p->dying) || !READ_ONCE(p->standby) || ddvm_ivshmem_standby(&p->t))
		return;
	cancel_delayed_work_sync(&p->attach); /* a standby attach still retrying */
	memcpy(mac, p->mac, ETH_ALEN);
	if (port_init_channel(p))
		return; /* said why; no heartbeat: the supervisor restarts us */
	WRITE_ONCE(p->standby, false);
	napi_enable(&p->napi);
	if (!ether_addr_equal(mac, p->mac)) {
		rtnl_lock();
		switch_port_detach(p);
		rtnl_unlock();
	}
	port_attach(p);
	dev_info(&p->t.pdev->dev, "ddvm_netback: named the channel's driver VM (epoch %u)\n",
		 p->epoch);
}

/* --- counters ---------------------------------------------------------------------- */

static ssize_t stats_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct netback_port *p = pci_get_drvdata(to_pci_dev(dev));
	const struct netback_stats *s = &p->st;
	static const char *const states[] = { "absent", "attaching", "ready", "broken", "closed" };
	u32 state = READ_ONCE(p->state);

	return sysfs_emit(buf,
			  "client %pM\ntarget %s\nstate %s\nepoch %u\nactive %d\n"
			  "tx_frames %llu\ntx_bytes %llu\ntx_wire %llu\ntx_local %llu\n"
			  "tx_drops %llu\ntx_bad %llu\ntx_storm_drops %llu\ntx_spoof_drops %llu\n"
			  "rx_frames %llu\n"
			  "rx_bytes %llu\n"
			  "rx_drops %llu\nrx_queued %llu\nkicks_out %llu\nirqs %llu\npolls %llu\n"
			  "violations %llu\nresets %llu\n",
			  p->mac, p->target, state < ARRAY_SIZE(states) ? states[state] : "?",
			  p->epoch, READ_ONCE(p->active), s->tx_frames, s->tx_bytes, s->tx_wire,
			  s->tx_local, s->tx_drops, s->tx_bad, s->tx_storm_drops, s->tx_spoof_drops,
			  s->rx_frames, s->rx_bytes, s->rx_drops, s->rx_queued, s->kicks_out,
			  s->irqs, s->polls, s->violations, s->resets);
}
static DEVICE_ATTR_RO(stats);

static struct attribute *netback_attrs[] = {
	&dev_attr_stats.attr,
	NULL,
};

static const struct attribute_group netback_group = {
	.attrs = netback_attrs,
};

/* "ddvm_stats": one file per counter, and the same numbers in hdr.stats for the host
 * (display only: abi.h, struct ddvm_stats). */
struct port_snap {
	struct ddvm_chan_stats c;
	struct ddvm_net_stats n;
};

static void port_stats_fill(struct netback_port *p, struct port_snap *s)
{
	const struct netback_stats *st = &p->st;

	memset(s, 0, sizeof(*s));
	ddvm_stats_transport(&p->t, &s->c);
	s->c.polls = READ_ONCE(st->polls);
	s->c.doorbells_suppressed = READ_ONCE(p->rx.suppressed); /* rx_lock; racy read */
	s->c.sessions = READ_ONCE(st->sessions);
	s->n.tx_frames = READ_ONCE(st->tx_frames);
	s->n.tx_bytes = READ_ONCE(st->tx_bytes);
	s->n.tx_copy_bytes = READ_ONCE(st->tx_copy_bytes);
	s->n.tx_wire = READ_ONCE(st->tx_wire);
	s->n.tx_local = READ_ONCE(st->tx_local);
	s->n.tx_drops = READ_ONCE(st->tx_drops);
	s->n.tx_bad = READ_ONCE(st->tx_bad);
	s->n.rx_frames = READ_ONCE(st->rx_frames);
	s->n.rx_bytes = READ_ONCE(st->rx_bytes);
	s->n.rx_copy_bytes = READ_ONCE(st->rx_copy_bytes);
	s->n.rx_soft = READ_ONCE(st->rx_soft);
	s->n.rx_queued = READ_ONCE(st->rx_queued);
	s->n.rx_drops = READ_ONCE(st->rx_drops);
	s->n.tx_storm_drops = READ_ONCE(st->tx_storm_drops);
	s->n.tx_spoof_drops = READ_ONCE(st->tx_spoof_drops);
}

static void port_stats_snapshot(struct device *dev, struct port_snap *s)
{
	port_stats_fill(pci_get_drvdata(to_pci_dev(dev)), s);
}

static void port_stats_publish(struct netback_port *p)
{
	struct port_snap s;

	port_stats_fill(p, &s);
	ddvm_region_stats_publish(&p->t.rg, p->epoch, &s.c, &s.n, sizeof(s.n));
}

/* sysfs ddvm_stats/: one file per counter, named as on the wire (net.h) */
#define PORT_CHAN_STAT(name, unit) DDVM_STAT_ENTRY(port, struct port_snap, c.name, name);
#define PORT_NET_STAT(name, unit)  DDVM_STAT_ENTRY(port, struct port_snap, n.name, name);
DDVM_CHAN_STATS_FIELDS(PORT_CHAN_STAT)
DDVM_NET_STATS_FIELDS(PORT_NET_STAT)

static struct attribute *netback_stats_attrs[] = {
	DDVM_CHAN_STATS_FIELDS(DDVM_STAT_ATTR) DDVM_NET_STATS_FIELDS(DDVM_STAT_ATTR) NULL,
};

static const struct attribute_group netback_stats_group = {
	.name = DDVM_STATS_GROUP,
	.attrs = netback_stats_attrs,
};

static const struct attribute_group *netback_groups[] = {
	&netback_group,
	&netback_stats_group,
	NULL,
};

/* --- zero-copy transmit: the slots' pages ---------------------------------------- */

static void port_zc_map_work(struct work_struct *w)
{
	struct netback_port *p = container_of(to_delayed_work(w), struct netback_port, zc_map);
	int err;

	if (READ_ONCE(p->dying) || READ_ONCE(p->zc) || !p->tx_zc)
		return;
	err = ddvm_ivshmem_map_pages(&p->t);
	if (err) {
		dev_info(&p->t.pdev->dev,
			 "ddvm_netback: no struct pages for the slots (%d): tx frames are copied\n",
			 err);
		return;
	}
	smp_store_release(&p->zc, true); /* after pages_start/end: see port_tx_zc() */
}

/* Wait until no skb refers to a slot's page (the pages go next). A NIC holds a frame
 * until it has sent it; one that is stuck is reset by its watchdog within seconds. */
static void port_zc_drain(struct netback_port *p)
{
	while (!wait_event_timeout(p->zc_wq, !atomic_read(&p->zc_inflight), 10 * HZ))
		dev_warn(&p->t.pdev->dev, "ddvm_netback: %d zero-copy frames still with the NIC\n",
			 atomic_read(&p->zc_inflight));
	/* the last completion may still be in its wake_up(): let it leave */
	spin_lock_irq(&p->zc_lock);
	spin_unlock_irq(&p->zc_lock);
}

/* --- PCI driver -------------------------------------------------------------------- */

static int netback_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct netback_port *p;
	int err;

	p = kzalloc(sizeof(*p), GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	ratelimit_state_init(&p->log_rs, 10 * HZ, NETBACK_LOG_BURST);
	spin_lock_init(&p->rx_lock);
	__skb_queue_head_init(&p->rx_backlog);
	INIT_LIST_HEAD(&p->sw_node);
	INIT_DELAYED_WORK(&p->tick, port_tick);
	INIT_DELAYED_WORK(&p->attach, port_attach_work);
	INIT_WORK(&p->takeover, port_takeover_work);
	INIT_DELAYED_WORK(&p->zc_map, port_zc_map_work);
	spin_lock_init(&p->zc_lock);
	init_waitqueue_head(&p->zc_wq);
	init_dummy_netdev(&p->napi_dev);
	netif_napi_add(&p->napi_dev, &p->napi, port_poll);
	/* On standby, and deaf to doorbells, until we know what we are: the client can
	 * ring ours as soon as ddvm_ivshmem_probe requested the interrupts (a storm of
	 * them while the driver VM boots), and a takeover scheduled then would race this
	 * probe (both enabling NAPI) or outlive a failed one (blkback's handler read
	 * memory it had not allocated yet: the driver VM panicked). */
	p->standby = true;
	p->dying = true;

	err = ddvm_ivshmem_probe(&p->t, pdev, DDVM_SIDE_BACKEND, DDVM_KIND_NET, port_irq, p);
	if (err)
		goto out_napi;
	ddvm_ivshmem_set_serving(&p->t, port_serving);
	if (ddvm_ivshmem_standby(&p->t)) {
		/* a warm spare: not a byte of the channel is ours yet; attach to the NIC
		 * now (frames dropped until active), so that a takeover only publishes */
		pci_set_drvdata(pdev, p);
		smp_store_release(&p->dying, false);
		if (port_identity(p))
			ddvm_ivshmem_standby_prepared(&p->t); /* takeover will fail: said why */
		else
			schedule_delayed_work(&p->attach, 0);
		return 0;
	}
	WRITE_ONCE(p->standby, false);
	err = port_init_channel(p);
	if (err)
		goto out_ivshmem;
	pci_set_drvdata(pdev, p);
	napi_enable(&p->napi);
	smp_store_release(&p->dying, false); /* doorbells from here on */
	schedule_delayed_work(&p->attach, 0);
	schedule_delayed_work(&p->tick, msecs_to_jiffies(NETBACK_TICK_MS));
	return 0;

out_ivshmem:
	ddvm_ivshmem_remove(&p->t);
out_napi:
	netif_napi_del(&p->napi);
	kfree(p->tx_zc);
	kfree(p);
	return err;
}

static void netback_remove(struct pci_dev *pdev)
{
	struct netback_port *p = pci_get_drvdata(pdev);
	const struct netback_stats *s = &p->st;
	int v;

	/*
	 * No new work from interrupts, then wait for what is queued or running. Order:
	 * attach can queue the tick; the netdev notifier (under rtnl) can queue both
	 * until the port leaves its switch; the tick queues only itself, and not once
	 * dying. So attach, then the switch, then the tick, last.
	 */
	WRITE_ONCE(p->dying, true);
	for (v = 0; v < p->t.nvec; v++)
		synchronize_irq(ddvm_ivshmem_vector_irq(&p->t, v));
	cancel_work_sync(&p->takeover);
	if (p->standby) { /* a spare's port never started anything but the attach */
		cancel_delayed_work_sync(&p->attach);
		rtnl_lock();
		switch_port_detach(p);
		rtnl_unlock();
		/* the NIC's notifier may have queued the tick (it returns at once on
		 * standby) while the port was on the switch */
		cancel_delayed_work_sync(&p->tick);
		ddvm_ivshmem_remove(&p->t);
		netif_napi_del(&p->napi);
		kfree(p->tx_zc);
		kfree(p);
		return;
	}
	cancel_delayed_work_sync(&p->attach);
	rtnl_lock();
	switch_port_detach(p);
	rtnl_unlock();
	cancel_delayed_work_sync(&p->tick);
	napi_disable(&p->napi);
	port_backlog_purge(p);
	port_stats_publish(p); /* the last word, for `ddvm status` */
	port_set_state(p, DDVM_STATE_CLOSED);
	ddvm_ivshmem_kick(&p->t, DDVM_VECTOR_CONTROL); /* the client: we are gone */
	dev_info(&pdev->dev,
		 "ddvm_netback: client %pM: tx %llu frames %llu bytes, rx %llu frames %llu bytes, "
		 "drops tx %llu rx %llu, violations %llu\n",
		 p->mac, s->tx_frames, s->tx_bytes, s->rx_frames, s->rx_bytes, s->tx_drops,
		 s->rx_drops, s->violations);
	/* frames the NIC still reads from the slots: they go before the pages do */
	cancel_delayed_work_sync(&p->zc_map);
	port_zc_drain(p);
	ddvm_ivshmem_unmap_pages(&p->t);
	ddvm_ivshmem_remove(&p->t);
	netif_napi_del(&p->napi);
	kfree(p->tx_zc);
	kfree(p);
}

static const struct pci_device_id netback_ids[] = {
	{ PCI_DEVICE(DDVM_IVSHMEM_VENDOR, DDVM_IVSHMEM_DEVICE) },
	{ 0 },
};
MODULE_DEVICE_TABLE(pci, netback_ids);

static struct pci_driver netback_driver = {
	.name = "ddvm_netback",
	.id_table = netback_ids,
	.probe = netback_probe,
	.remove = netback_remove,
	.dev_groups = netback_groups,
};

static int __init netback_init(void)
{
	int err;

	if (!zero_copy)
		pr_info(
		    "ddvm_netback: zero-copy transmit off (zero_copy=0): tx frames are copied\n");
	err = switch_notifier_register();
	if (err)
		return err;
	err = pci_register_driver(&netback_driver);
	if (err)
		switch_notifier_unregister();
	return err;
}

static void __exit netback_exit(void)
{
	pci_unregister_driver(&netback_driver);
	switch_notifier_unregister();
}

module_init(netback_init);
module_exit(netback_exit);
MODULE_DESCRIPTION("ddvm net translation module: serve a driver VM's NIC over ivshmem");
MODULE_LICENSE("Dual BSD/GPL");
