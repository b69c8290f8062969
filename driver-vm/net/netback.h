/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * ddvm_netback: the net translation module of a driver VM.
 *
 * One `port` per channel (an ivshmem device whose region carries DDVM_KIND_NET), one
 * `switch` per NIC. A switch is attached to its NIC the way a bridge port is: an rx
 * handler steals every frame the NIC receives, the NIC is promiscuous, and frames go
 * out through dev_queue_xmit(). The switch forwards by destination MAC between the
 * wire and its ports (each port = one client with the MAC the supervisor assigned).
 *
 *   client tx ring --NAPI (port_poll)--> switch_forward --> dev_queue_xmit(NIC)
 *                                                      \--> other ports' rx rings
 *   NIC rx handler (switch_rx) ----------------------------> ports' rx rings
 *
 * Locking: rtnl protects the list of switches and each switch's port list (writers);
 * the data path reads them under RCU. A port's rx ring (we produce) has many writers
 * (the NIC's rx path, other ports' NAPI) and is serialised by port->rx_lock; its tx
 * ring (we consume) is only touched by its NAPI poll.
 */
#ifndef DDVM_NETBACK_H
#define DDVM_NETBACK_H

#include <linux/ratelimit.h>
#include <linux/in6.h>
#include <linux/netdevice.h>
#include <linux/workqueue.h>
#include "ddvm_ivshmem.h"
#include "ddvm/net.h"

/* Heartbeat period. Everything that must be quick is event-driven (doorbells, the
 * NIC's carrier through the netdev notifier, epochs and sessions through the control
 * vector); the tick only proves health and is a backstop, so an idle driver VM wakes
 * once a second per channel rather than ten times (docs/net.md; docs/bench.md §3). */
#define NETBACK_TICK_MS	    1000
#define NETBACK_SESSION_GAP (HZ / 10) /* at most 10 session resets a second */
#define NETBACK_LOG_BURST   20	      /* per-port log lines per 10 s (log_rs) */
/* Frames waiting for rx slots, per client, counted by truesize: a clone holds the
 * NIC's whole receive buffer, so a client that never frees its rx slots and draws
 * small frames pinned 15-50 times its length in driver VM memory when this counted
 * skb->len. */
#define NETBACK_RX_BACKLOG_BYTES (4u << 20)
/* Zero-copy transmit (docs/net.md): frames of at least this many bytes go to the NIC
 * as page fragments of the client's slot; shorter ones are copied (a copy of a few
 * hundred bytes costs less than the page references and the completion). */
#define NETBACK_ZC_MIN_FRAME 1024
/* The slots get struct pages this long after the channel first serves: the mapping
 * (memremap_pages, ~10 ms for a net channel under TCG) never delays a restore. */
#define NETBACK_ZC_DELAY_MS 1000

struct netback_switch;

/*
 * Anti-spoofing (antispoof.c): what a client may send as its own, from the supervisor's
 * channel list (the device's `antispoof` and `ip` keys, docs/net.md). OFF: anything
 * (a bridge or router behind the channel); MAC: frames and ARP senders from the
 * client's MAC only (the default); IP: also only ARP, IPv4 and (with IPv6 addresses
 * listed) IPv6, from its addresses.
 */
enum netback_antispoof { NETBACK_ANTISPOOF_MAC, NETBACK_ANTISPOOF_OFF, NETBACK_ANTISPOOF_IP };
#define NETBACK_ANTISPOOF_MAX_IP 8 /* prefixes per client, IPv4 and IPv6 (supervisor: same) */

/* why a frame was dropped (antispoof.c, antispoof_reasons) */
enum {
	ANTISPOOF_SRC_MAC,
	ANTISPOOF_ARP_MAC,
	ANTISPOOF_ARP_IP,
	ANTISPOOF_ARP_KIND,
	ANTISPOOF_IP_SRC,
	ANTISPOOF_IP_BAD,
	ANTISPOOF_IP6_SRC,
	ANTISPOOF_IP6_BAD,
	ANTISPOOF_ND_TARGET,
	ANTISPOOF_ND_LLADDR,
	ANTISPOOF_ROUTER,
	ANTISPOOF_DHCP_SERVER,
	ANTISPOOF_DAD,
	ANTISPOOF_PROTO,
	NETBACK_ANTISPOOF_REASONS
};

struct netback_antispoof_policy {
	enum netback_antispoof mode;
	unsigned int n_ip, n_ip6;
	__be32 net[NETBACK_ANTISPOOF_MAX_IP], mask[NETBACK_ANTISPOOF_MAX_IP];
	struct in6_addr net6[NETBACK_ANTISPOOF_MAX_IP];
	u8 plen6[NETBACK_ANTISPOOF_MAX_IP];
};

struct netback_stats {
	u64 tx_frames, tx_bytes; /* client -> driver VM (wire or local) */
	u64 tx_wire, tx_local;	 /* ... sent to the NIC / switched to another client */
	u64 tx_drops, tx_bad;	 /* dropped (no memory, too big) / malformed by client */
	u64 tx_storm_drops;	 /* broadcast/multicast over storm_pps, dropped */
	u64 tx_spoof_drops;	 /* from an address not the client's (antispoof), dropped */
	u64 rx_frames, rx_bytes; /* driver VM -> client */
	u64 rx_drops;		 /* rx ring and backlog full, or channel not ready */
	u64 rx_queued;		 /* frames that waited in the backlog for a slot */
	u64 kicks_out, irqs;	 /* doorbells rung / taken */
	u64 polls;		 /* NAPI polls of the tx ring */
	u64 violations;		 /* protocol violations (each one breaks the port) */
	u64 resets;		 /* epoch changes followed */
	/* more for "ddvm_stats" and hdr.stats (docs/net.md, "Counters") */
	u64 tx_copy_bytes, rx_copy_bytes; /* bytes copied between slots and skbs */
	u64 rx_soft;			  /* frames whose offloads we resolved (a copy) */
	u64 sessions;			  /* ring resets: first attach, sessions, epochs */
};

struct netback_port {
	struct ddvm_ivshmem t;
	struct ddvm_ring tx;	  /* client -> us: we consume */
	struct ddvm_ring rx;	  /* us -> client: we produce */
	u8 mac[ETH_ALEN];	  /* the client's MAC, copied once */
	char target[32];	  /* hdr.backend_target, copied once, NUL-terminated */
	u32 epoch;		  /* the epoch our rings belong to */
	u32 session;		  /* the client's session we serve (abi.h; 0: none yet) */
	unsigned long session_at; /* jiffies of the last reset a client's request caused */
	unsigned long epoch_at;	  /* jiffies of the last reset an epoch change caused */
	u32 state;		  /* what we published in backend_state */
	u64 features;		  /* offered */
	u64 fe_features;	  /* offered & what the client said it uses (private copy) */
	bool active;		  /* client READY at our epoch: move frames */
	bool broken;		  /* protocol violation seen: rings unused until a new session */
	bool fe_gone;		  /* saw the client CLOSED/ABSENT and reset for it */
	bool dying; /* no doorbell schedules anything: set until probed, and at remove */
	/* a warm spare's device (ddvm_ivshmem_standby): nothing runs until the channel
	 * names us; the control doorbell runs takeover, which asks again */
	bool standby;
	struct work_struct takeover;
	/* storm control (switch.c): broadcast/multicast the client may still send, and
	 * when the bucket was last filled; the tx path (NAPI) alone touches them */
	u32 storm_tokens;
	unsigned long storm_stamp;
	unsigned long storm_told; /* jiffies of the last "dropping" line (one per 10 s) */
	/* anti-spoofing: set with the identity, before the port moves frames */
	struct netback_antispoof_policy spoof;
	unsigned long spoof_told[NETBACK_ANTISPOOF_REASONS]; /* jiffies of the last line */

	struct netback_switch __rcu *sw; /* NULL until attached to the NIC */
	struct list_head sw_node;	 /* in sw->ports (rtnl + RCU) */

	spinlock_t rx_lock;		/* the rx ring's producer side and the backlog */
	struct sk_buff_head rx_backlog; /* frames waiting for rx slots (under rx_lock) */
	u32 backlog_bytes;		/* truesize of the backlog's frames */
	struct net_device napi_dev;	/* dummy netdev that hosts the tx NAPI */
	struct napi_struct napi;
	struct delayed_work tick;   /* heartbeat, epoch, client state, link */
	struct delayed_work attach; /* find the NIC (it may appear after us) */
	bool attach_logged;

	struct netback_stats st;

	/* Zero-copy transmit. tx_zc[i] is the frame in flight from tx slot i (NULL: the
	 * slot may go back to the client): set by the NAPI poll, cleared by the frame's
	 * completion (port_zc_done, any context, cmpxchg) or forgotten by a ring reset.
	 * zc_inflight counts frames not yet completed; remove waits for 0 before the
	 * pages go (zc_lock closes the race with a completion's wake-up). */
	bool zc;		   /* slot pages mapped (READ_ONCE: set by zc_map) */
	struct netback_zc **tx_zc; /* tx.entries of them */
	atomic_t zc_inflight;
	spinlock_t zc_lock;
	wait_queue_head_t zc_wq;
	struct delayed_work zc_map;
	/* the lines a client's own doing prints (broke, reset, connected): at most
	 * NETBACK_LOG_BURST per 10 s per port, so that one client cannot flush the
	 * others' record (antispoof drops) out of the driver VM's log */
	struct ratelimit_state log_rs;
};

/* One zero-copy frame in flight: its skb's ubuf_info (MSG_ZEROCOPY's completion: the
 * callback runs once no skb, clone or segment refers to the slot's pages). */
struct netback_zc {
	struct ubuf_info ubuf;
	struct netback_port *p;
	u32 idx; /* the tx ring index it came from */
};

/*
 * MACs learned behind a client that is not checked (antispoof off or exempt: a bridge
 * or macvlan in a client VM, ddvm-tapbridge's TAP on a host bridge), as a bridge's
 * forwarding database: frames to them go to that client. Bounded (the oldest entry
 * makes room), aged like a bridge's (300 s). A client's own (channel) MAC is never
 * learned elsewhere: it is looked up first and refused as a learned address.
 */
#define SWITCH_FDB_SIZE 256
#define SWITCH_FDB_AGE	(300 * HZ)

struct switch_fdb {
	u8 mac[ETH_ALEN];
	struct netback_port *port; /* NULL: free */
	unsigned long seen;	   /* jiffies */
};

struct netback_switch {
	struct list_head node;	/* in the global list (rtnl) */
	struct net_device *nic; /* held */
	struct list_head ports; /* struct netback_port (rtnl; RCU readers) */
	int nports;
	spinlock_t fdb_lock;   /* fdb; a port leaving purges its entries under it */
	unsigned int fdb_used; /* entries with a port (written under fdb_lock) */
	struct switch_fdb fdb[SWITCH_FDB_SIZE];
};

/* switch.c */
int switch_port_attach(struct netback_port *p, struct net_device *nic);
void switch_port_detach(struct netback_port *p);
void switch_forward(struct netback_port *from, struct sk_buff *skb);
void port_deliver(struct netback_port *p, struct sk_buff *skb);
void port_drain(struct netback_port *p);
void port_backlog_purge(struct netback_port *p);
int switch_notifier_register(void);
void switch_notifier_unregister(void);

/* antispoof.c */
int antispoof_parse(struct netback_antispoof_policy *pol, const char *s);
bool antispoof_ok(struct netback_port *from, struct sk_buff *skb);

/* netback.c */
void port_break(struct netback_port *p, const char *why);
void port_nic_gone(struct netback_port *p);

static inline void port_stat_add(struct netback_port *p, u64 *ctr, u64 v)
{
	/* Counters are best-effort: concurrent writers may lose an update, never tear
	 * a value on 64-bit. */
	WRITE_ONCE(*ctr, READ_ONCE(*ctr) + v);
}

#define port_stat_inc(p, field) port_stat_add((p), &(p)->st.field, 1)

#endif /* DDVM_NETBACK_H */
