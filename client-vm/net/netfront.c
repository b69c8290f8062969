// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ddvm_netfront: a client VM's Ethernet interface whose NIC is driven by an
 * unmodified driver in a driver VM, reached over a ddvm net channel (an ivshmem
 * device). Shaped like virtio_net and xen-netfront:
 *
 *   ndo_start_xmit  copies the frame (and its checksum/TSO metadata) into the next tx
 *                   slot; publishes per batch (xmit_more); stops the queue when the ring
 *                   is full and asks the backend for a kick when it frees slots.
 *   NAPI poll       copies rx frames out of their slots into skbs (GRO), wakes the tx
 *                   queue when slots came back, then asks for a kick before sleeping.
 *   watch           (delayed work, every 200 ms and on the control doorbell) follows
 *                   the channel: epoch, backend state, heartbeat, link. The carrier is
 *                   on only while the backend is READY in our session at the current
 *                   epoch, alive and its NIC has link. Every connect is a new session
 *                   (abi.h): a new epoch (driver VM restarted, or the channel reset by
 *                   the supervisor) resets the local ring state and reconnects;
 *                   interface and addresses stay.
 *
 * The backend is not trusted: a descriptor outside its slot or ring indices that lie
 * mark the channel broken (carrier off, rings unused until the next epoch); bad
 * offload metadata drops the frame. Nothing the backend does can make us loop,
 * sleep forever or touch memory outside the region.
 */
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/netdevice.h>
#include <linux/ratelimit.h>
#include <linux/etherdevice.h>
#include <linux/ethtool.h>
#include <linux/if_vlan.h>
#include <linux/rtnetlink.h>
#include "ddvm_ivshmem.h"
#include "ddvm_net_skb.h"
#include "ddvm_stats.h"
#include "follow.h"

#define NETFRONT_WATCH_MS   200
#define NETFRONT_HB_TIMEOUT (3 * HZ) /* heartbeat silent this long: backend is dead */
/*
 * A new epoch (the driver VM failed over, restarted or was upgraded): the carrier
 * stays as it was for up to this long while the interface reconnects, its queue
 * stopped, so that frames wait in the qdisc instead of being dropped. A carrier flap
 * would cost the client's stack far more than the gap itself: neigh_carrier_down()
 * flushes its neighbour entries and the qdisc is swapped for one that drops, so the
 * first ARP request goes out into the gap and is retried only a retrans_time (1 s)
 * later: a 50 ms failover became a 1.1 s pause of every flow. Longer than this, the
 * backend is gone for real and the carrier goes off.
 */
#define NETFRONT_CARRIER_GRACE HZ
/* At most one connect this often: a driver VM that flips its state between ABSENT and
 * READY in our session had us reconnect ~80 times a second, each under rtnl_lock (NAPI
 * off and on, netdev_update_features) with two log lines (found by a review). A
 * failover or restart is one reconnect; the gap delays only a second one. */
#define NETFRONT_SESSION_GAP msecs_to_jiffies(100)

#define NETFRONT_FEATURES                                                                          \
	(DDVM_NET_F_CSUM | DDVM_NET_F_GUEST_CSUM | DDVM_NET_F_TSO4 | DDVM_NET_F_TSO6 |             \
	 DDVM_NET_F_GUEST_TSO4 | DDVM_NET_F_GUEST_TSO6 | DDVM_NET_F_MTU)

struct netfront {
	struct ddvm_ivshmem t;
	struct net_device *ndev;
	struct napi_struct napi;
	struct ddvm_ring tx;	    /* we produce */
	struct ddvm_ring rx;	    /* we consume */
	struct ddvm_net_config cfg; /* private copy, taken at connect */
	u64 features;		    /* offered & ours */
	struct ddvm_follower fl;    /* our epoch and session (ring/follow.h) */
	bool live;		    /* connected: rings in use (changed under rtnl) */
	bool broken;		    /* backend broke the protocol: rings unused */
	bool hb_dead;
	bool reconnecting; /* new epoch: carrier held until back or the grace ends */
	unsigned long reconnect_at;
	unsigned long connect_at;      /* jiffies | 1 of the last connect; 0: none */
	struct ratelimit_state log_rs; /* connect/disconnect lines: the driver VM's doing */
	bool mtu_adopted;
	bool dying; /* probing or removing: interrupts are ignored */
	u64 hb_last;
	unsigned long hb_when;
	struct delayed_work watch;
	/* counters beyond ndev->stats */
	u64 kicks_out, irqs, violations, connects;
	u64 polls; /* NAPI polls (ddvm_stats) */
};

static const char *const state_names[] = { "absent", "attaching", "ready", "broken", "closed" };

static const char *state_name(u32 s)
{
	return s < ARRAY_SIZE(state_names) ? state_names[s] : "?";
}

static void netfront_break(struct netfront *fe, const char *why)
{
	if (xchg(&fe->broken, true))
		return;
	fe->violations++;
	netif_carrier_off(fe->ndev);
	netif_stop_queue(fe->ndev);
	ddvm_write64(&fe->t.rg.hdr->frontend_errors, fe->violations);
	ddvm_follower_break(&fe->fl, &fe->t.rg);
	netdev_err(fe->ndev, "ddvm channel broken: %s; carrier off until a new epoch\n", why);
	if (!READ_ONCE(fe->dying))
		mod_delayed_work(system_highpri_wq, &fe->watch, 0);
}

/*
 * A ring index out of range. While the backend is at our epoch, it is the backend's
 * doing: broken. Otherwise it is the supervisor starting a new epoch, which marks the
 * backend ABSENT at the new epoch first and zeroes the rings after, so the data path
 * can meet the zeroed rings before the watch meets the epoch: stop the queue and let
 * the watch reconnect (the ring stays marked broken locally until the new session
 * resets it). A backend that writes another epoch to move indices at will gains
 * nothing: the watch reports the ring as broken once it is READY again at ours.
 */
static void netfront_ring_lied(struct netfront *fe, const char *why)
{
	const struct ddvm_region_hdr *h = fe->t.rg.hdr;

	if (ddvm_load_acquire(&h->backend_epoch) == fe->fl.epoch) {
		netfront_break(fe, why);
		return;
	}
	netif_stop_queue(fe->ndev);
	if (!READ_ONCE(fe->dying))
		mod_delayed_work(system_highpri_wq, &fe->watch, 0);
}

static void netfront_kick(struct netfront *fe, unsigned int vector)
{
	ddvm_ivshmem_kick(&fe->t, vector);
	fe->kicks_out++;
}

/* --- transmit ------------------------------------------------------------------------ */

static netdev_tx_t netfront_xmit(struct sk_buff *skb, struct net_device *ndev)
{
	struct netfront *fe = netdev_priv(ndev);
	struct ddvm_net_desc d;
	unsigned int len = skb->len;
	u32 idx;

	if (unlikely(!READ_ONCE(fe->live) || READ_ONCE(fe->broken)))
		goto drop;
	if (unlikely(len > fe->tx.slot_size || ddvm_net_skb_to_desc(skb, &d)))
		goto drop;
	if (unlikely(!ddvm_ring_space(&fe->tx))) {
		/* we stop the queue before the ring fills, so this is a lie or a bug */
		if (ddvm_ring_broken(&fe->tx))
			netfront_ring_lied(fe, "tx ring: backend moved cons out of range");
		goto drop;
	}
	idx = fe->tx.prod;
	if (skb_copy_bits(skb, 0, ddvm_ring_slot(&fe->tx, idx), len))
		goto drop;
	d.off = ddvm_ring_slot_off(&fe->tx, idx);
	d.len = len;
	if (ddvm_ring_push(&fe->tx, &d))
		goto drop;
	ndev->stats.tx_packets++;
	ndev->stats.tx_bytes += len;
	dev_consume_skb_any(skb);

	if (!netdev_xmit_more() || !ddvm_ring_space(&fe->tx)) {
		if (ddvm_ring_publish(&fe->tx))
			netfront_kick(fe, fe->tx.vector);
	}
	if (!ddvm_ring_space(&fe->tx)) {
		netif_stop_queue(ndev);
		/* ask for a kick when slots come back; they may have already */
		if (ddvm_ring_wait_space(&fe->tx))
			netif_start_queue(ndev);
		else if (ddvm_ring_broken(&fe->tx))
			netfront_ring_lied(fe, "tx ring: backend moved cons out of range");
	}
	return NETDEV_TX_OK;

drop:
	ndev->stats.tx_dropped++;
	dev_kfree_skb_any(skb);
	return NETDEV_TX_OK;
}

/* NAPI context: slots came back while the queue was stopped. */
static void netfront_tx_wake(struct netfront *fe)
{
	struct net_device *ndev = fe->ndev;

	if (!netif_queue_stopped(ndev) || READ_ONCE(fe->broken))
		return;
	netif_tx_lock(ndev);
	if (ddvm_ring_space(&fe->tx))
		netif_wake_queue(ndev);
	else if (ddvm_ring_broken(&fe->tx))
		netfront_ring_lied(fe, "tx ring: backend moved cons out of range");
	netif_tx_unlock(ndev);
}

/* --- receive ------------------------------------------------------------------------- */

static void netfront_rx_one(struct netfront *fe, const struct ddvm_net_desc *d, u32 idx)
{
	struct net_device *ndev = fe->ndev;
	bool gso_ok = fe->features & (DDVM_NET_F_GUEST_TSO4 | DDVM_NET_F_GUEST_TSO6);
	const void *frame;
	struct sk_buff *skb;

	frame = ddvm_ring_slot_check(&fe->rx, idx, d->off, d->len);
	if (!frame || d->len < ETH_HLEN || d->len > DDVM_NET_MAX_FRAME) {
		netfront_break(fe, "rx descriptor outside its slot");
		return;
	}
	if (ddvm_net_desc_linear(d) > d->len) {
		ndev->stats.rx_length_errors++;
		ndev->stats.rx_errors++;
		return;
	}
	skb = ddvm_net_skb_copy(frame, d->len, ddvm_net_desc_linear(d), GFP_ATOMIC);
	if (!skb) {
		ndev->stats.rx_dropped++;
		return;
	}
	if (ddvm_net_desc_to_skb(skb, d, gso_ok)) {
		ndev->stats.rx_frame_errors++;
		ndev->stats.rx_errors++;
		kfree_skb(skb);
		return;
	}
	skb->protocol = eth_type_trans(skb, ndev);
	ndev->stats.rx_packets++;
	ndev->stats.rx_bytes += d->len;
	napi_gro_receive(&fe->napi, skb);
}

static int netfront_poll(struct napi_struct *napi, int budget)
{
	struct netfront *fe = container_of(napi, struct netfront, napi);
	struct ddvm_net_desc d;
	int done = 0;

	WRITE_ONCE(fe->polls, fe->polls + 1);
	while (done < budget && !READ_ONCE(fe->broken)) {
		if (ddvm_ring_pop(&fe->rx, &d))
			break;
		done++;
		netfront_rx_one(fe, &d, fe->rx.cons - 1);
	}
	if (ddvm_ring_broken(&fe->rx))
		netfront_ring_lied(fe, "rx ring: backend moved prod out of range");
	if (ddvm_ring_release(&fe->rx))
		netfront_kick(fe, fe->rx.vector);
	netfront_tx_wake(fe);

	if (done < budget && napi_complete_done(napi, done)) {
		/* ask for a doorbell; the final check closes the race with a publish */
		if (!READ_ONCE(fe->broken) && !ddvm_ring_prepare_wait(&fe->rx))
			napi_schedule(napi);
	}
	return done;
}

/* The doorbell guard's question (ddvm_ivshmem_set_serving): do we use the rings now?
 * A broken channel's doorbells, or those before a session, are none of our work, and
 * a driver VM that moves an index before each one (so that it looks like work) could
 * otherwise keep us in the interrupt handler: ~1,000/s measured under TCG. */
static bool netfront_serving(struct ddvm_ivshmem *t)
{
	struct netfront *fe = container_of(t, struct netfront, t);

	return READ_ONCE(fe->live) && !READ_ONCE(fe->broken);
}

static void netfront_irq(struct ddvm_ivshmem *t, unsigned int vector)
{
	struct netfront *fe = container_of(t, struct netfront, t);

	if (smp_load_acquire(&fe->dying))
		return;
	fe->irqs++;
	if (vector == DDVM_VECTOR_CONTROL)
		mod_delayed_work(system_highpri_wq, &fe->watch, 0);
	else
		napi_schedule(&fe->napi); /* a no-op while NAPI is disabled */
}

/* --- channel state ------------------------------------------------------------------- */

static u32 netfront_mtu_limit(const struct netfront *fe)
{
	u32 slot = min(fe->tx.slot_size, fe->rx.slot_size);

	return min_t(u32, slot - ETH_HLEN - VLAN_HLEN, ETH_MAX_MTU);
}

static void netfront_connect(struct netfront *fe)
{
	struct ddvm_region_hdr *h = fe->t.rg.hdr;
	struct net_device *ndev = fe->ndev;
	u32 mtu = ETH_DATA_LEN;

	ASSERT_RTNL();
	memcpy(&fe->cfg, h->device, sizeof(fe->cfg)); /* one copy; values checked below */
	fe->features = ddvm_read64(&h->features) & NETFRONT_FEATURES;
	/* from zero, the shared fields we own included (tx: prod, cons_event; rx: cons,
	 * prod_event): nothing we published in an earlier epoch survives into this one */
	ddvm_ring_reset_own(&fe->tx);
	ddvm_ring_reset_own(&fe->rx);
	ddvm_mb();

	if (fe->features & DDVM_NET_F_MTU)
		mtu = clamp_t(u32, fe->cfg.mtu, ETH_MIN_MTU, netfront_mtu_limit(fe));
	ndev->max_mtu = mtu;
	if (!fe->mtu_adopted || ndev->mtu > mtu)
		dev_set_mtu(ndev, mtu);
	fe->mtu_adopted = true;
	netdev_update_features(ndev);

	ddvm_write64(&h->driver_features, fe->features);
	WRITE_ONCE(fe->broken, false);
	fe->hb_last = ddvm_read64(&h->heartbeat);
	fe->hb_when = jiffies;
	fe->hb_dead = false;
	WRITE_ONCE(fe->live, true);
	ddvm_follower_connect(&fe->fl, &fe->t.rg);
	if (netif_running(ndev)) {
		napi_enable(&fe->napi);
		local_bh_disable();
		napi_schedule(&fe->napi);
		local_bh_enable();
		netif_wake_queue(ndev);
	}
	netfront_kick(fe, DDVM_VECTOR_CONTROL);
	fe->connects++;
	if (__ratelimit(&fe->log_rs)) {
		char drv[sizeof(fe->cfg.nic_driver) + 1];
		unsigned int i;

		/* the driver VM wrote these bytes: printable ones only into our log */
		for (i = 0; i < sizeof(fe->cfg.nic_driver) && fe->cfg.nic_driver[i]; i++)
			drv[i] = fe->cfg.nic_driver[i] >= 0x20 && fe->cfg.nic_driver[i] < 0x7f
				     ? fe->cfg.nic_driver[i]
				     : '?'; /* (the kernel's isprint takes Latin-1) */
		drv[i] = 0;
		netdev_info(ndev, "ddvm: connected at epoch %u to %s (mtu %u, features %#llx)\n",
			    fe->fl.epoch, drv, ndev->mtu, fe->features);
	}
}

/* Stop using the rings; the carrier is the watch's (NETFRONT_CARRIER_GRACE). */
static void netfront_disconnect(struct netfront *fe, const char *why)
{
	struct net_device *ndev = fe->ndev;

	ASSERT_RTNL();
	fe->reconnecting = true;
	fe->reconnect_at = jiffies;
	if (netif_running(ndev)) {
		netif_tx_disable(ndev);
		napi_disable(&fe->napi);
	}
	WRITE_ONCE(fe->live, false);
	if (__ratelimit(&fe->log_rs))
		netdev_info(ndev, "ddvm: disconnected (%s)\n", why);
}

/* RECONNECT (ring/follow.h): a session at the current epoch, our ring fields from zero
 * first. Not live. */
static void netfront_session_begin(struct netfront *fe)
{
	ddvm_ring_reset_own(&fe->tx);
	ddvm_ring_reset_own(&fe->rx);
	ddvm_follower_begin(&fe->fl, &fe->t.rg);
	netfront_kick(fe, DDVM_VECTOR_CONTROL);
}

static void netfront_watch(struct work_struct *w)
{
	struct netfront *fe = container_of(to_delayed_work(w), struct netfront, watch);
	const struct ddvm_region_hdr *h = fe->t.rg.hdr;
	const struct ddvm_net_config *c = (const void *)h->device;
	struct net_device *ndev = fe->ndev;
	enum ddvm_follow_action a;
	unsigned long next = msecs_to_jiffies(NETFRONT_WATCH_MS);
	u32 bstate, bepoch;
	bool ready, carrier;
	u64 hb;

	rtnl_lock();
	bstate = ddvm_load_acquire(&h->backend_state);
	bepoch = ddvm_read32(&h->backend_epoch);
	/* GONE (the supervisor gave up restarting the driver VM) and BROKEN (either side
	 * stopped the rings at this epoch) keep the carrier off until a new epoch. */
	a = ddvm_follow(&fe->fl, &fe->t.rg);
	if (a == DDVM_FOLLOW_RECONNECT) {
		if (fe->live)
			netfront_disconnect(fe, "new epoch, or the backend reset the channel");
		netfront_session_begin(fe);
	} else if (a == DDVM_FOLLOW_CONNECT) {
		/* the costly half of a reconnect, at most once per gap: follow says
		 * CONNECT again at the next look, when the gap is over */
		if (fe->connect_at && time_before(jiffies, fe->connect_at + NETFRONT_SESSION_GAP)) {
			next = fe->connect_at + NETFRONT_SESSION_GAP - jiffies;
			a = DDVM_FOLLOW_WAIT;
		} else {
			netfront_connect(fe);
			fe->connect_at = jiffies | 1;
		}
	}
	ready = a == DDVM_FOLLOW_CONNECT || a == DDVM_FOLLOW_CONNECTED;
	/* our BROKEN (or READY) back in the header if someone overwrote it */
	ddvm_follower_reassert(&fe->fl, &fe->t.rg);
	/* an index that lied while the backend was not READY (netfront_ring_lied), and
	 * it is READY again at the same epoch: it was the backend */
	if (a == DDVM_FOLLOW_CONNECTED && fe->live && !READ_ONCE(fe->broken) &&
	    (ddvm_ring_broken(&fe->tx) || ddvm_ring_broken(&fe->rx)))
		netfront_break(fe, "ring indices out of range");

	hb = ddvm_read64(&h->heartbeat);
	if (hb != fe->hb_last) {
		if (fe->hb_dead)
			netdev_info(ndev, "ddvm: backend heartbeat is back\n");
		fe->hb_last = hb;
		fe->hb_when = jiffies;
		fe->hb_dead = false;
	} else if (fe->live && !fe->hb_dead &&
		   time_after(jiffies, fe->hb_when + NETFRONT_HB_TIMEOUT)) {
		netdev_warn(ndev, "ddvm: backend heartbeat stopped: carrier off\n");
		fe->hb_dead = true;
	}

	carrier =
	    fe->live && ready && !READ_ONCE(fe->broken) && !fe->hb_dead && ddvm_read32(&c->link_up);
	if (carrier || READ_ONCE(fe->broken) ||
	    time_after_eq(jiffies, fe->reconnect_at + NETFRONT_CARRIER_GRACE))
		fe->reconnecting = false;
	if (fe->reconnecting)
		carrier = netif_carrier_ok(ndev); /* held while the backend comes back */
	if (carrier && !netif_carrier_ok(ndev)) {
		netif_carrier_on(ndev);
	} else if (!carrier && netif_carrier_ok(ndev)) {
		netif_carrier_off(ndev);
		if (fe->live && !ready)
			netdev_info(ndev, "ddvm: backend %s at epoch %u\n", state_name(bstate),
				    bepoch);
	}
	if (fe->live && !READ_ONCE(fe->broken) && netif_running(ndev)) {
		/* a lost doorbell costs one watch period, never a stalled interface */
		local_bh_disable();
		napi_schedule(&fe->napi);
		local_bh_enable();
	}
	rtnl_unlock();
	if (!READ_ONCE(fe->dying))
		queue_delayed_work(system_highpri_wq, &fe->watch, next);
}

/* --- net_device ------------------------------------------------------------------------ */

static int netfront_open(struct net_device *ndev)
{
	struct netfront *fe = netdev_priv(ndev);

	if (fe->live) {
		napi_enable(&fe->napi);
		local_bh_disable();
		napi_schedule(&fe->napi);
		local_bh_enable();
	}
	netif_start_queue(ndev);
	return 0;
}

static int netfront_stop(struct net_device *ndev)
{
	struct netfront *fe = netdev_priv(ndev);

	netif_tx_disable(ndev);
	if (fe->live)
		napi_disable(&fe->napi);
	return 0;
}

/* Offer only what the backend takes: checksum offload needs CSUM, TSO needs TSOx. */
static netdev_features_t netfront_fix_features(struct net_device *ndev, netdev_features_t f)
{
	struct netfront *fe = netdev_priv(ndev);

	if (!(fe->features & DDVM_NET_F_CSUM))
		f &= ~(NETIF_F_HW_CSUM | NETIF_F_ALL_TSO);
	if (!(fe->features & DDVM_NET_F_TSO4))
		f &= ~(NETIF_F_TSO | NETIF_F_TSO_ECN);
	if (!(fe->features & DDVM_NET_F_TSO6))
		f &= ~NETIF_F_TSO6;
	return f;
}

static const struct net_device_ops netfront_ops = {
	.ndo_open = netfront_open,
	.ndo_stop = netfront_stop,
	.ndo_start_xmit = netfront_xmit,
	.ndo_fix_features = netfront_fix_features,
	.ndo_validate_addr = eth_validate_addr,
};

static void netfront_get_drvinfo(struct net_device *ndev, struct ethtool_drvinfo *info)
{
	struct netfront *fe = netdev_priv(ndev);

	strscpy(info->driver, "ddvm_netfront", sizeof(info->driver));
	strscpy(info->bus_info, pci_name(fe->t.pdev), sizeof(info->bus_info));
	/* what really drives the NIC, as the backend reports it (for humans) */
	snprintf(info->fw_version, sizeof(info->fw_version), "backend %.*s",
		 (int)strnlen((const char *)fe->cfg.nic_driver, sizeof(fe->cfg.nic_driver)),
		 fe->cfg.nic_driver);
}

static int netfront_get_link_ksettings(struct net_device *ndev, struct ethtool_link_ksettings *ks)
{
	struct netfront *fe = netdev_priv(ndev);
	u32 speed = fe->cfg.speed_mbps;

	ethtool_link_ksettings_zero_link_mode(ks, supported);
	ethtool_link_ksettings_zero_link_mode(ks, advertising);
	ks->base.speed = speed && speed <= SPEED_400000 ? speed : SPEED_UNKNOWN;
	ks->base.duplex = DUPLEX_FULL;
	ks->base.port = PORT_OTHER;
	ks->base.autoneg = AUTONEG_DISABLE;
	return 0;
}

static const struct ethtool_ops netfront_ethtool_ops = {
	.get_drvinfo = netfront_get_drvinfo,
	.get_link = ethtool_op_get_link,
	.get_link_ksettings = netfront_get_link_ksettings,
};

/* --- counters (sysfs, on the PCI device) ------------------------------------------- */

static ssize_t ddvm_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct netfront *fe = pci_get_drvdata(to_pci_dev(dev));
	const struct ddvm_region_hdr *h = fe->t.rg.hdr;

	return sysfs_emit(buf,
			  "ifname %s\nlive %d\nbroken %d\nheartbeat_dead %d\nepoch %u\n"
			  "backend_state %s\nbackend_epoch %u\nheartbeat %llu\nfeatures %#llx\n"
			  "connects %llu\nkicks_out %llu\nirqs %llu\nviolations %llu\n",
			  fe->ndev->name, READ_ONCE(fe->live), READ_ONCE(fe->broken), fe->hb_dead,
			  fe->fl.epoch, state_name(ddvm_read32(&h->backend_state)),
			  ddvm_read32(&h->backend_epoch), ddvm_read64(&h->heartbeat), fe->features,
			  fe->connects, fe->kicks_out, fe->irqs, fe->violations);
}
static DEVICE_ATTR_RO(ddvm);

static struct attribute *netfront_attrs[] = {
	&dev_attr_ddvm.attr,
	NULL,
};

static const struct attribute_group netfront_group = {
	.attrs = netfront_attrs,
};

/* "ddvm_stats": the client's side of the counters the driver VM publishes (docs/net.md,
 * "Counters"); frames and bytes are the interface's own (/sys/class/net/X/statistics). */
static void netfront_stats_snapshot(struct device *dev, struct ddvm_chan_stats *s)
{
	struct netfront *fe = pci_get_drvdata(to_pci_dev(dev));

	memset(s, 0, sizeof(*s));
	ddvm_stats_transport(&fe->t, s);
	s->polls = READ_ONCE(fe->polls);
	s->doorbells_suppressed = READ_ONCE(fe->tx.suppressed); /* racy read */
	s->sessions = READ_ONCE(fe->connects);
}

/* sysfs ddvm_stats/: the channel counters of our side, named as on the wire (abi.h) */
#define NETFRONT_CHAN_STAT(name, unit)                                                             \
	DDVM_STAT_ENTRY(netfront, struct ddvm_chan_stats, name, name);
DDVM_CHAN_STATS_FIELDS(NETFRONT_CHAN_STAT)

static struct attribute *netfront_stats_attrs[] = {
	DDVM_CHAN_STATS_FIELDS(DDVM_STAT_ATTR) NULL,
};

static const struct attribute_group netfront_stats_group = {
	.name = DDVM_STATS_GROUP,
	.attrs = netfront_stats_attrs,
};

static const struct attribute_group *netfront_groups[] = {
	&netfront_group,
	&netfront_stats_group,
	NULL,
};

/* --- PCI driver -------------------------------------------------------------------- */

static int netfront_init_channel(struct netfront *fe)
{
	const struct ddvm_net_config *c = (const void *)fe->t.rg.hdr->device;
	struct device *dev = &fe->t.pdev->dev;
	u8 mac[ETH_ALEN];
	int err;

	err = ddvm_region_ring(&fe->t.rg, 0, DDVM_SIDE_FRONTEND, &fe->tx);
	if (!err)
		err = ddvm_region_ring(&fe->t.rg, 1, DDVM_SIDE_FRONTEND, &fe->rx);
	if (err || !fe->tx.is_producer || fe->rx.is_producer ||
	    fe->tx.slot_size < ETH_HLEN + VLAN_HLEN + ETH_MIN_MTU ||
	    fe->rx.slot_size < ETH_HLEN + VLAN_HLEN + ETH_MIN_MTU) {
		dev_err(dev, "ddvm_netfront: unusable net rings\n");
		return -EINVAL;
	}
	memcpy(mac, c->mac, ETH_ALEN);
	if (!is_valid_ether_addr(mac)) {
		dev_err(dev, "ddvm_netfront: channel has no valid MAC (%pM)\n", mac);
		return -EINVAL;
	}
	eth_hw_addr_set(fe->ndev, mac);
	return 0;
}

static int netfront_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct net_device *ndev;
	struct netfront *fe;
	int err;

	ndev = alloc_etherdev(sizeof(*fe));
	if (!ndev)
		return -ENOMEM;
	fe = netdev_priv(ndev);
	fe->ndev = ndev;
	SET_NETDEV_DEV(ndev, &pdev->dev);
	ratelimit_state_init(&fe->log_rs, 10 * HZ, 20);
	INIT_DELAYED_WORK(&fe->watch, netfront_watch);
	netif_napi_add(ndev, &fe->napi, netfront_poll);
	/* Interrupts are ignored until the probe is done: the backend may ring the control
	 * doorbell as soon as the vectors are requested, and a watch queued then would run
	 * on a half-made channel (or, after a failed probe, on freed memory). */
	fe->dying = true;

	err = ddvm_ivshmem_probe(&fe->t, pdev, DDVM_SIDE_FRONTEND, DDVM_KIND_NET, netfront_irq, fe);
	if (err)
		goto out_napi;
	ddvm_ivshmem_set_serving(&fe->t, netfront_serving);
	err = netfront_init_channel(fe);
	if (err)
		goto out_ivshmem;
	ndev->netdev_ops = &netfront_ops;
	ndev->ethtool_ops = &netfront_ethtool_ops;
	ndev->hw_features =
	    NETIF_F_SG | NETIF_F_HW_CSUM | NETIF_F_TSO | NETIF_F_TSO6 | NETIF_F_TSO_ECN;
	ndev->features = ndev->hw_features | NETIF_F_RXCSUM;
	ndev->min_mtu = ETH_MIN_MTU;
	ndev->max_mtu = netfront_mtu_limit(fe);
	netif_set_tso_max_size(
	    ndev, min_t(u32, GSO_LEGACY_MAX_SIZE, fe->tx.slot_size - ETH_HLEN - VLAN_HLEN));
	netif_carrier_off(ndev);
	pci_set_drvdata(pdev, fe);
	err = register_netdev(ndev);
	if (err)
		goto out_ivshmem;
	/* The first watch asks for a session: whatever an earlier load of this driver (or
	 * an earlier boot of this VM) left on the rings, the backend drops it first. */
	smp_store_release(&fe->dying, false); /* what the probe made, before any irq uses it */
	queue_delayed_work(system_highpri_wq, &fe->watch, 0);
	netdev_info(ndev, "ddvm_netfront: %pM on %s\n", ndev->dev_addr, pci_name(pdev));
	return 0;

out_ivshmem:
	ddvm_ivshmem_remove(&fe->t);
out_napi:
	netif_napi_del(&fe->napi);
	free_netdev(ndev);
	return err;
}

static void netfront_remove(struct pci_dev *pdev)
{
	struct netfront *fe = pci_get_drvdata(pdev);
	struct net_device *ndev = fe->ndev;
	int v;

	WRITE_ONCE(fe->dying, true);
	for (v = 0; v < fe->t.nvec; v++)
		synchronize_irq(ddvm_ivshmem_vector_irq(&fe->t, v));
	cancel_delayed_work_sync(&fe->watch);
	/* The interface stops moving frames (ndo_stop: tx off, NAPI off) before we say
	 * CLOSED. At CLOSED the backend resets its side of the rings; an interface still
	 * sending would read that reset as the backend breaking the protocol (its cons
	 * back at 0), publish BROKEN over our CLOSED, and the supervisor would start a
	 * new session for a claim that was our own teardown. */
	unregister_netdev(ndev);
	ddvm_region_set_frontend(&fe->t.rg, DDVM_STATE_CLOSED, fe->fl.epoch);
	ddvm_ivshmem_kick(&fe->t, DDVM_VECTOR_CONTROL); /* the backend: we are gone */
	ddvm_ivshmem_remove(&fe->t);
	netif_napi_del(&fe->napi);
	free_netdev(ndev);
}

static const struct pci_device_id netfront_ids[] = {
	{ PCI_DEVICE(DDVM_IVSHMEM_VENDOR, DDVM_IVSHMEM_DEVICE) },
	{ 0 },
};
MODULE_DEVICE_TABLE(pci, netfront_ids);

static struct pci_driver netfront_driver = {
	.name = "ddvm_netfront",
	.id_table = netfront_ids,
	.probe = netfront_probe,
	.remove = netfront_remove,
	.dev_groups = netfront_groups,
};
module_pci_driver(netfront_driver);

MODULE_DESCRIPTION("ddvm net client: an Ethernet interface served by a driver VM");
MODULE_LICENSE("Dual BSD/GPL");
