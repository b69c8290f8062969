// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ddvm_netback: one switch per NIC, attached like a bridge port (see netback.h).
 *
 * The switch steals every frame the NIC receives (rx handler, promiscuous NIC) and
 * hands it to the port whose client owns the destination MAC, or to every port for
 * broadcast and multicast. Frames from a client go to another client when it owns the
 * destination MAC, to every other client and the wire when it is broadcast or
 * multicast, and to the wire otherwise.
 *
 * Storm control: broadcast and multicast from one client reach every other client of
 * the NIC (and the wire), so one client's flood would fill the others' rx rings and
 * take their driver VM's CPU. Like a hardware switch's storm control, each client may
 * send at most storm_pps such frames a second (a burst of one second's worth); the
 * rest are dropped and counted (tx_storm_drops). Frames from the wire are not limited:
 * the LAN is the NIC's, not one client's.
 *
 * Anti-spoofing (antispoof.c): what a client sends as someone else is dropped before
 * anything else looks at it, on its way to the wire and to other clients alike.
 */
#include <linux/module.h>
#include <linux/etherdevice.h>
#include <linux/if_vlan.h>
#include <linux/rtnetlink.h>
#include "netback.h"
#include "ddvm_net_skb.h"

static LIST_HEAD(switches); /* struct netback_switch, under rtnl */

static unsigned int nic_mtu;
module_param(nic_mtu, uint, 0444);
MODULE_PARM_DESC(nic_mtu, "set the NIC's MTU when attaching (0: leave it)");

static unsigned int storm_pps = 1000;
module_param(storm_pps, uint, 0644);
MODULE_PARM_DESC(storm_pps,
		 "broadcast/multicast frames a second each client may send (0: no limit)");

/* What a broadcast/multicast frame costs of the storm budget: the wire frames it
 * stands for, by its segments (a GSO frame) or its bytes in frames of the NIC's MTU
 * (WIRE_FRAME bytes with the Ethernet header and a tag), whichever is more. Every
 * other client gets a copy; one 64 KiB frame counted as one would carry 44 frames'
 * worth past storm_pps. */
static u64 storm_cost(const struct sk_buff *skb, unsigned int wire_frame)
{
	u64 frames = DIV_ROUND_UP(skb->len, wire_frame);

	if (skb_is_gso(skb) && skb_shinfo(skb)->gso_size)
		frames = max_t(u64, frames, DIV_ROUND_UP(skb->len, skb_shinfo(skb)->gso_size));
	return max_t(u64, frames, 1);
}

/* May FROM send one more broadcast/multicast frame? A token bucket of storm_pps
 * (wire) frames a second, holding at most one second's worth. Called from FROM's tx
 * path only. */
static bool storm_ok(struct netback_port *from, const struct sk_buff *skb, unsigned int wire_frame)
{
	unsigned int rate = READ_ONCE(storm_pps);
	unsigned long now = jiffies;
	u64 add, cost;

	if (!rate)
		return true;
	add = (u64)(now - from->storm_stamp) * rate / HZ;
	if (add) { /* else the time stays counted for the next frame */
		from->storm_tokens = min_t(u64, from->storm_tokens + add, rate);
		from->storm_stamp = now;
	}
	/* a frame costing more than storm_pps: one a second */
	cost = min_t(u64, storm_cost(skb, wire_frame), rate);
	if (from->storm_tokens < cost) {
		port_stat_inc(from, tx_storm_drops);
		if (!from->storm_told || time_after(now, from->storm_told + 10 * HZ)) {
			from->storm_told = now ? now : 1;
			dev_info(&from->t.pdev->dev,
				 "ddvm_netback: client %pM sends over %u broadcast/multicast "
				 "frames a second: the rest are dropped (storm_pps; %llu so far, "
				 "told once per 10 s)\n",
				 from->mac, rate, READ_ONCE(from->st.tx_storm_drops));
		}
		return false;
	}
	from->storm_tokens -= cost;
	return true;
}

static struct netback_port *switch_find(struct netback_switch *sw, const u8 *mac)
{
	struct netback_port *p;

	list_for_each_entry_rcu(p, &sw->ports, sw_node, lockdep_rtnl_is_held())
		if (ether_addr_equal(p->mac, mac))
			return p;
	return NULL;
}

/* MAC's entry, or NULL. Caller holds fdb_lock. */
static struct switch_fdb *fdb_entry(struct netback_switch *sw, const u8 *mac)
{
	unsigned int i;

	for (i = 0; i < SWITCH_FDB_SIZE; i++)
		if (sw->fdb[i].port && ether_addr_equal(sw->fdb[i].mac, mac))
			return &sw->fdb[i];
	return NULL;
}

/* Free entry E. Caller holds fdb_lock. */
static void fdb_drop(struct netback_switch *sw, struct switch_fdb *e)
{
	e->port = NULL;
	WRITE_ONCE(sw->fdb_used, sw->fdb_used - 1);
}

/* The port a learned MAC is behind, or NULL. Under rcu_read_lock (a port leaving
 * purges its entries before it waits for readers). */
static struct netback_port *fdb_find(struct netback_switch *sw, const u8 *mac)
{
	struct netback_port *p = NULL;
	struct switch_fdb *e;

	if (!READ_ONCE(sw->fdb_used)) /* nothing learned: the usual case, no lock */
		return NULL;
	spin_lock_bh(&sw->fdb_lock);
	e = fdb_entry(sw, mac);
	if (e && time_before(jiffies, e->seen + SWITCH_FDB_AGE))
		p = e->port;
	else if (e) /* aged out */
		fdb_drop(sw, e);
	spin_unlock_bh(&sw->fdb_lock);
	return p;
}

/* FROM (not checked: antispoof off or exempt) sent from MAC: frames to MAC go to it.
 * An entry of MAC is refreshed (or moves to FROM); else a free or aged-out entry, else
 * the oldest, takes it. */
static void fdb_learn(struct netback_switch *sw, struct netback_port *from, const u8 *mac)
{
	struct switch_fdb *e, *hit = NULL, *free = NULL, *oldest = NULL;
	unsigned long now = jiffies;
	unsigned int i;

	spin_lock_bh(&sw->fdb_lock);
	/* FROM leaving (switch_port_detach clears its sw, then purges under this lock):
	 * an entry learned now would outlive it */
	if (rcu_access_pointer(from->sw) != sw)
		goto out;
	for (i = 0; i < SWITCH_FDB_SIZE; i++) {
		e = &sw->fdb[i];
		if (e->port && ether_addr_equal(e->mac, mac)) {
			hit = e;
			break;
		}
		if (!e->port || !time_before(now, e->seen + SWITCH_FDB_AGE)) {
			if (!free)
				free = e;
		} else if (!oldest || time_before(e->seen, oldest->seen)) {
			oldest = e;
		}
	}
	e = hit ? hit : free ? free : oldest;
	if (!e->port)
		WRITE_ONCE(sw->fdb_used, sw->fdb_used + 1);
	ether_addr_copy(e->mac, mac);
	e->port = from;
	e->seen = now;
out:
	spin_unlock_bh(&sw->fdb_lock);
}

/* MAC sent from the wire: it is not behind a client (a bridge moves an entry the same
 * way), else a client's bridge that once carried a wire host's frame (an uplink to the
 * same LAN) would keep drawing that host's traffic until the entry aged out. */
static void fdb_forget(struct netback_switch *sw, const u8 *mac)
{
	struct switch_fdb *e;

	if (!READ_ONCE(sw->fdb_used))
		return;
	spin_lock_bh(&sw->fdb_lock);
	e = fdb_entry(sw, mac);
	if (e)
		fdb_drop(sw, e);
	spin_unlock_bh(&sw->fdb_lock);
}

/* P leaves SW: forget what was learned behind it (then the caller waits for readers). */
static void fdb_purge(struct netback_switch *sw, struct netback_port *p)
{
	unsigned int i;

	spin_lock_bh(&sw->fdb_lock);
	for (i = 0; i < SWITCH_FDB_SIZE; i++)
		if (sw->fdb[i].port == p)
			fdb_drop(sw, &sw->fdb[i]);
	spin_unlock_bh(&sw->fdb_lock);
}

/* The client that owns MAC: by its channel's MAC, else learned behind an unchecked one. */
static struct netback_port *switch_lookup(struct netback_switch *sw, const u8 *mac)
{
	struct netback_port *p = switch_find(sw, mac);

	return p ? p : fdb_find(sw, mac);
}

/* A backlogged frame's descriptor template lives in its skb's control block. */
#define PORT_CB(skb) ((struct ddvm_net_desc *)(skb)->cb)

/* Copy one frame into the next rx slot. Caller holds rx_lock and saw space. */
static void port_fill(struct netback_port *p, const struct sk_buff *skb,
		      const struct ddvm_net_desc *meta)
{
	struct ddvm_net_desc d = *meta;
	u32 idx = p->rx.prod;

	if (skb_copy_bits(skb, 0, ddvm_ring_slot(&p->rx, idx), skb->len)) {
		port_stat_inc(p, rx_drops);
		return;
	}
	d.off = ddvm_ring_slot_off(&p->rx, idx);
	d.len = skb->len;
	if (ddvm_ring_push(&p->rx, &d)) {
		port_stat_inc(p, rx_drops);
		return;
	}
	port_stat_inc(p, rx_frames);
	port_stat_add(p, &p->st.rx_bytes, skb->len);
	port_stat_add(p, &p->st.rx_copy_bytes, skb->len);
}

/*
 * Move backlogged frames into free slots and publish them. Caller holds rx_lock.
 * Returns true when the client asked for a doorbell. Bounded: every round either
 * moves at least one frame out of the (bounded) backlog or stops.
 */
static bool port_drain_locked(struct netback_port *p)
{
	struct sk_buff *skb;
	u32 n;

	for (;;) {
		n = ddvm_ring_space(&p->rx);
		while (n && (skb = __skb_dequeue(&p->rx_backlog))) {
			n--;
			p->backlog_bytes -= skb->truesize;
			port_fill(p, skb, PORT_CB(skb));
			consume_skb(skb);
		}
		if (skb_queue_empty(&p->rx_backlog) || ddvm_ring_broken(&p->rx))
			break;
		/* frames still wait: ask for a doorbell when the client frees slots (it
		 * may have already: then go round again) */
		if (!ddvm_ring_wait_space(&p->rx))
			break;
	}
	return ddvm_ring_publish(&p->rx);
}

/* Forget the backlog (the client went away, or the rings were reset). */
void port_backlog_purge(struct netback_port *p)
{
	spin_lock_bh(&p->rx_lock);
	__skb_queue_purge(&p->rx_backlog);
	p->backlog_bytes = 0;
	spin_unlock_bh(&p->rx_lock);
}

/* Called from the port's NAPI poll after the client freed rx slots. */
void port_drain(struct netback_port *p)
{
	bool kick;

	if (skb_queue_empty_lockless(&p->rx_backlog))
		return;
	spin_lock_bh(&p->rx_lock);
	kick = p->active && port_drain_locked(p);
	spin_unlock_bh(&p->rx_lock);
	if (kick) {
		ddvm_ivshmem_kick(&p->t, p->rx.vector);
		port_stat_inc(p, kicks_out);
	}
	if (ddvm_ring_broken(&p->rx))
		port_break(p, "rx ring: client moved cons out of range");
}

/*
 * Put one frame whose offload metadata the client accepts into p's rx ring; when the
 * ring is full, keep it (a clone) in a bounded backlog, like a tap's queue, and ask
 * the client for a doorbell when it frees slots. Beyond the backlog: drop and count.
 */
static void port_push(struct netback_port *p, struct sk_buff *skb, const struct ddvm_net_desc *meta)
{
	struct sk_buff *clone;
	bool kick, broken = false;

	spin_lock_bh(&p->rx_lock);
	if (!p->active || skb->len > p->rx.slot_size)
		goto drop;
	if (skb_queue_empty(&p->rx_backlog) && ddvm_ring_space(&p->rx)) {
		port_fill(p, skb, meta);
	} else {
		broken = ddvm_ring_broken(&p->rx);
		if (broken || p->backlog_bytes + skb->truesize > NETBACK_RX_BACKLOG_BYTES)
			goto drop;
		/* A clone of a zero-copy frame would hold the sender's slot for as long as
		 * this client leaves it waiting, and the sender's slots go back in ring
		 * order: one client must not stall another's transmit. Copy those. */
		clone = skb_zcopy(skb) ? skb_copy(skb, GFP_ATOMIC) : skb_clone(skb, GFP_ATOMIC);
		if (!clone)
			goto drop;
		*PORT_CB(clone) = *meta;
		__skb_queue_tail(&p->rx_backlog, clone);
		p->backlog_bytes += clone->truesize;
		port_stat_inc(p, rx_queued);
	}
	kick = port_drain_locked(p);
	spin_unlock_bh(&p->rx_lock);
	if (kick) {
		ddvm_ivshmem_kick(&p->t, p->rx.vector);
		port_stat_inc(p, kicks_out);
	}
	return;

drop:
	spin_unlock_bh(&p->rx_lock);
	port_stat_inc(p, rx_drops);
	if (broken)
		port_break(p, "rx ring: client moved cons out of range");
}

/* The client cannot take this frame's offloads: resolve them here in software
 * (segment and/or checksum a private copy) and push the results. Rare: GRO'd frames
 * for a client without GUEST_TSO, local frames for a client without GUEST_CSUM. */
static void port_push_soft(struct netback_port *p, struct sk_buff *skb)
{
	struct sk_buff *copy, *segs, *seg, *next;
	struct ddvm_net_desc d;

	port_stat_inc(p, rx_soft);
	copy = skb_copy(skb, GFP_ATOMIC);
	if (!copy)
		goto drop;
	if (!skb_is_gso(copy)) {
		if (copy->ip_summed == CHECKSUM_PARTIAL && skb_checksum_help(copy))
			goto drop_copy;
		ddvm_net_skb_to_desc(copy, &d);
		port_push(p, copy, &d);
		consume_skb(copy);
		return;
	}
	/* no device features: segments come back linear and fully checksummed */
	segs = skb_gso_segment(copy, 0);
	if (IS_ERR_OR_NULL(segs))
		goto drop_copy;
	consume_skb(copy);
	skb_list_walk_safe(segs, seg, next) {
		skb_mark_not_on_list(seg);
		if (ddvm_net_skb_to_desc(seg, &d) == 0)
			port_push(p, seg, &d);
		else
			port_stat_inc(p, rx_drops);
		consume_skb(seg);
	}
	return;

drop_copy:
	kfree_skb(copy);
drop:
	port_stat_inc(p, rx_drops);
}

/* Deliver a copy of skb (data at the Ethernet header; not consumed) to p's client. */
void port_deliver(struct netback_port *p, struct sk_buff *skb)
{
	u64 feat = READ_ONCE(p->fe_features);
	struct ddvm_net_desc d;
	bool soft = false;

	if (!READ_ONCE(p->active)) {
		port_stat_inc(p, rx_drops);
		return;
	}
	/* a GRO'd frame from the wire may exceed what a descriptor carries (64 KiB of
	 * IP + Ethernet + a VLAN tag put back): segmented here */
	if (skb->len > DDVM_NET_MAX_FRAME && !skb_is_gso(skb)) {
		port_stat_inc(p, rx_drops);
		return;
	}
	if (ddvm_net_skb_to_desc(skb, &d) || skb->len > DDVM_NET_MAX_FRAME)
		soft = true;
	else if ((d.gso_type & ~DDVM_NET_GSO_ECN) == DDVM_NET_GSO_TCPV4)
		soft = !(feat & DDVM_NET_F_GUEST_TSO4);
	else if ((d.gso_type & ~DDVM_NET_GSO_ECN) == DDVM_NET_GSO_TCPV6)
		soft = !(feat & DDVM_NET_F_GUEST_TSO6);
	if ((d.flags & DDVM_NET_DESC_NEEDS_CSUM) && !(feat & DDVM_NET_F_GUEST_CSUM))
		soft = true;
	if (!(feat & DDVM_NET_F_GUEST_CSUM))
		d.flags &= ~DDVM_NET_DESC_DATA_VALID;

	if (soft)
		port_push_soft(p, skb);
	else
		port_push(p, skb, &d);
}

/* Send a client's frame out of the NIC. Consumes skb. */
static void switch_xmit(struct netback_switch *sw, struct netback_port *from, struct sk_buff *skb)
{
	struct net_device *nic = sw->nic;
	unsigned int len = skb->len;

	if (!skb_is_gso(skb) && len > nic->mtu + nic->hard_header_len + VLAN_HLEN) {
		port_stat_inc(from, tx_drops); /* bigger than the wire takes */
		kfree_skb(skb);
		return;
	}
	skb->dev = nic;
	/* The stack resolves what the NIC cannot do (software GSO and checksums, the
	 * latter re-validating SKB_GSO_DODGY headers) in validate_xmit_skb(). */
	if (dev_queue_xmit(skb) == NET_XMIT_SUCCESS)
		port_stat_inc(from, tx_wire);
	else
		port_stat_inc(from, tx_drops);
}

void switch_forward(struct netback_port *from, struct sk_buff *skb)
{
	struct netback_switch *sw;
	struct netback_port *q;
	const u8 *dst;

	rcu_read_lock();
	sw = rcu_dereference(from->sw);
	if (!sw) {
		port_stat_inc(from, tx_drops);
		kfree_skb(skb);
		goto out;
	}
	if (!antispoof_ok(from, skb)) {
		kfree_skb(skb);
		goto out;
	}
	dst = skb->data;
	if (from->spoof.mode == NETBACK_ANTISPOOF_OFF && is_valid_ether_addr(dst + ETH_ALEN) &&
	    !ether_addr_equal(dst + ETH_ALEN, from->mac) && !switch_find(sw, dst + ETH_ALEN))
		fdb_learn(sw, from, dst + ETH_ALEN); /* a bridge or macvlan behind FROM */
	if (is_multicast_ether_addr(dst)) {
		if (!storm_ok(from, skb,
			      max_t(unsigned int, READ_ONCE(sw->nic->mtu), ETH_DATA_LEN) +
				  ETH_HLEN + VLAN_HLEN)) {
			kfree_skb(skb);
			goto out;
		}
		list_for_each_entry_rcu(q, &sw->ports, sw_node)
			if (q != from)
				port_deliver(q, skb);
		switch_xmit(sw, from, skb);
		goto out;
	}
	q = switch_lookup(sw, dst);
	if (!q) {
		switch_xmit(sw, from, skb);
		goto out;
	}
	if (q != from) {
		port_deliver(q, skb);
		port_stat_inc(from, tx_local);
	} else {
		port_stat_inc(from, tx_drops); /* to itself: no hairpin */
	}
	consume_skb(skb);
out:
	rcu_read_unlock();
}

/* The NIC's rx handler: every frame it receives comes here instead of the stack. */
static rx_handler_result_t switch_rx(struct sk_buff **pskb)
{
	struct sk_buff *skb = *pskb;
	struct netback_switch *sw = rcu_dereference(skb->dev->rx_handler_data);
	struct netback_port *q;
	const u8 *dst;

	if (unlikely(skb->pkt_type == PACKET_LOOPBACK))
		return RX_HANDLER_PASS;
	skb = skb_share_check(skb, GFP_ATOMIC);
	if (!skb)
		return RX_HANDLER_CONSUMED;
	/* eth_type_trans() pulled the Ethernet header: the client wants the frame */
	skb_push(skb, skb->data - skb_mac_header(skb));
	if (skb_vlan_tag_present(skb)) {
		skb = __vlan_hwaccel_push_inside(skb);
		if (!skb)
			return RX_HANDLER_CONSUMED;
	}
	dst = skb->data;
	fdb_forget(sw, dst + ETH_ALEN);
	if (is_multicast_ether_addr(dst)) {
		list_for_each_entry_rcu(q, &sw->ports, sw_node)
			port_deliver(q, skb);
	} else {
		q = switch_lookup(sw, dst);
		if (q)
			port_deliver(q, skb);
	}
	consume_skb(skb);
	return RX_HANDLER_CONSUMED;
}

static struct netback_switch *switch_create(struct net_device *nic)
{
	struct netback_switch *sw;
	int err;

	ASSERT_RTNL();
	sw = kzalloc(sizeof(*sw), GFP_KERNEL);
	if (!sw)
		return ERR_PTR(-ENOMEM);
	INIT_LIST_HEAD(&sw->ports);
	spin_lock_init(&sw->fdb_lock);
	sw->nic = nic;
	if (nic_mtu && nic->mtu != nic_mtu) {
		err = dev_set_mtu(nic, nic_mtu);
		if (err)
			netdev_warn(nic, "ddvm_netback: cannot set MTU %u (%d), keeping %u\n",
				    nic_mtu, err, nic->mtu);
	}
	if (!(nic->flags & IFF_UP)) {
		err = dev_open(nic, NULL);
		if (err)
			goto out_free;
	}
	err = dev_set_promiscuity(nic, 1);
	if (err)
		goto out_free;
	err = netdev_rx_handler_register(nic, switch_rx, sw);
	if (err)
		goto out_promisc; /* e.g. the NIC is a bridge port already */
	dev_hold(nic);
	list_add(&sw->node, &switches);
	return sw;

out_promisc:
	dev_set_promiscuity(nic, -1);
out_free:
	kfree(sw);
	return ERR_PTR(err);
}

static void switch_destroy(struct netback_switch *sw)
{
	ASSERT_RTNL();
	list_del(&sw->node);
	netdev_rx_handler_unregister(sw->nic); /* waits for rx handlers in flight */
	dev_set_promiscuity(sw->nic, -1);
	dev_put(sw->nic);
	kfree(sw);
}

int switch_port_attach(struct netback_port *p, struct net_device *nic)
{
	struct netback_switch *sw = NULL, *s;

	ASSERT_RTNL();
	list_for_each_entry(s, &switches, node)
		if (s->nic == nic)
			sw = s;
	if (!sw) {
		sw = switch_create(nic);
		if (IS_ERR(sw))
			return PTR_ERR(sw);
	} else if (switch_find(sw, p->mac)) {
		return -EADDRINUSE; /* two clients with one MAC cannot be switched */
	}
	list_add_tail_rcu(&p->sw_node, &sw->ports);
	sw->nports++;
	rcu_assign_pointer(p->sw, sw);
	return 0;
}

void switch_port_detach(struct netback_port *p)
{
	struct netback_switch *sw = rtnl_dereference(p->sw);

	if (!sw)
		return;
	RCU_INIT_POINTER(p->sw, NULL);
	list_del_rcu(&p->sw_node);
	fdb_purge(sw, p);
	if (--sw->nports == 0)
		switch_destroy(sw);
	synchronize_net(); /* no frame is on its way into p any more */
}

/* A NIC going away takes its switch with it; the ports wait for it to come back. A
 * carrier or up/down change is published to the clients at once (each port's tick
 * writes link_up), not at the next heartbeat. */
static int switch_netdev_event(struct notifier_block *nb, unsigned long event, void *ptr)
{
	struct net_device *dev = netdev_notifier_info_to_dev(ptr);
	struct netback_switch *sw, *s;
	struct netback_port *p;
	int n;

	if (event != NETDEV_UNREGISTER && event != NETDEV_CHANGE && event != NETDEV_UP &&
	    event != NETDEV_DOWN)
		return NOTIFY_DONE;
	sw = NULL;
	list_for_each_entry(s, &switches, node)
		if (s->nic == dev)
			sw = s;
	if (!sw)
		return NOTIFY_DONE;
	if (event != NETDEV_UNREGISTER) {
		list_for_each_entry(p, &sw->ports, sw_node)
			if (!READ_ONCE(p->dying))
				mod_delayed_work(system_wq, &p->tick, 0);
		return NOTIFY_DONE;
	}
	netdev_info(dev, "ddvm_netback: NIC going away, detaching %d client(s)\n", sw->nports);
	for (n = sw->nports; n > 0; n--) {
		p = list_first_entry(&sw->ports, struct netback_port, sw_node);
		switch_port_detach(p); /* the last one frees sw */
		port_nic_gone(p);
	}
	return NOTIFY_DONE;
}

static struct notifier_block switch_notifier = {
	.notifier_call = switch_netdev_event,
};

int switch_notifier_register(void)
{
	return register_netdevice_notifier(&switch_notifier);
}

void switch_notifier_unregister(void)
{
	unregister_netdevice_notifier(&switch_notifier);
}
