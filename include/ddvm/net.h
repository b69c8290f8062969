/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ddvm net service: Ethernet frames between a client and a NIC in a driver VM.
 *
 * Queue pair q uses two rings of the region:
 *   ring 2q     "tx": client -> driver VM; producer DDVM_SIDE_FRONTEND
 *   ring 2q+1   "rx": driver VM -> client; producer DDVM_SIDE_BACKEND
 * A frame travels in the payload slot of the descriptor's ring index
 * (off == (index & (entries - 1)) * slot_size); the consumer checks that and the length
 * against its private copy of the layout, copies the frame out, and then frees the
 * slot by advancing cons. Offload metadata rides in the descriptor, shaped like
 * virtio-net's struct virtio_net_hdr, so large sends stay large across the channel.
 */
#ifndef DDVM_NET_H
#define DDVM_NET_H

#include "abi.h"

/* Feature bits (hdr.features offered by the backend, driver_features used by the client). */
#define DDVM_NET_F_CSUM	      (1ull << 0) /* backend takes frames with a partial csum */
#define DDVM_NET_F_GUEST_CSUM (1ull << 1) /* backend may send partial/validated csums */
#define DDVM_NET_F_TSO4	      (1ull << 2) /* backend takes TCPv4 GSO frames */
#define DDVM_NET_F_TSO6	      (1ull << 3) /* backend takes TCPv6 GSO frames */
#define DDVM_NET_F_GUEST_TSO4 (1ull << 4) /* backend may send TCPv4 GSO frames */
#define DDVM_NET_F_GUEST_TSO6 (1ull << 5) /* backend may send TCPv6 GSO frames */
#define DDVM_NET_F_MTU	      (1ull << 6) /* dev.mtu is valid */

/* Device description at hdr.device. mac: supervisor; the rest: translation module. */
struct ddvm_net_config {
	ddvm_u8 mac[6];		/* the client's own MAC address (assigned by the supervisor) */
	ddvm_le16 mtu;		/* the NIC's MTU (L3 bytes) */
	ddvm_le32 link_up;	/* 1 while the NIC has carrier */
	ddvm_le32 speed_mbps;	/* the NIC's link speed, 0 if unknown */
	ddvm_u8 nic_driver[16]; /* the unmodified driver's name, NUL-padded, for humans */
	ddvm_u8 reserved[0x100 - 32];
};

/*
 * A client's implicit IPv6 link-local address: fe80::/64 and the modified EUI-64
 * interface identifier of its MAC (RFC 4291, appendix A; what Linux forms with its
 * default addr_gen_mode). Under anti-spoofing the translation module lets a client
 * send from it without a listing, and the supervisor refuses an `ip =` entry of
 * another client that covers it: one rule both must apply alike, hence here.
 */
static inline void ddvm_net_implicit_ll(const ddvm_u8 mac[6], ddvm_u8 addr[16])
{
	unsigned int i;

	for (i = 0; i < 16; i++)
		addr[i] = 0;
	addr[0] = 0xfe;
	addr[1] = 0x80;
	addr[8] = mac[0] ^ 0x02; /* the universal/local bit, inverted */
	addr[9] = mac[1];
	addr[10] = mac[2];
	addr[11] = 0xff;
	addr[12] = 0xfe;
	addr[13] = mac[3];
	addr[14] = mac[4];
	addr[15] = mac[5];
}

/* ddvm_net_desc.flags */
#define DDVM_NET_DESC_NEEDS_CSUM (1u << 0) /* csum_start/csum_offset are valid */
#define DDVM_NET_DESC_DATA_VALID (1u << 1) /* checksum already verified */

/* ddvm_net_desc.gso_type (values of virtio-net) */
#define DDVM_NET_GSO_NONE   0
#define DDVM_NET_GSO_TCPV4  1
#define DDVM_NET_GSO_UDP    3
#define DDVM_NET_GSO_TCPV6  4
#define DDVM_NET_GSO_UDP_L4 5
#define DDVM_NET_GSO_ECN    0x80

/* Ethernet frame lengths the service accepts (without FCS). */
#define DDVM_NET_MIN_FRAME 14	 /* an Ethernet header */
#define DDVM_NET_MAX_FRAME 65550 /* 64 KiB GSO frame + Ethernet/VLAN header */

struct ddvm_net_desc {
	ddvm_le32 off;	       /* payload offset in the ring's data area */
	ddvm_le32 len;	       /* frame length in bytes */
	ddvm_u8 flags;	       /* DDVM_NET_DESC_* */
	ddvm_u8 gso_type;      /* DDVM_NET_GSO_* */
	ddvm_le16 hdr_len;     /* bytes of headers to copy into each segment */
	ddvm_le16 gso_size;    /* payload bytes per segment */
	ddvm_le16 csum_start;  /* where checksumming starts */
	ddvm_le16 csum_offset; /* where to store it, after csum_start */
	ddvm_le16 reserved0;
	ddvm_le32 reserved1;
	ddvm_le64 reserved2;
};

/* The net translation module's counters: hdr.stats.service (abi.h; display only).
 * tx: client -> driver VM, rx: driver VM -> client; docs/net.md, "Counters". */
struct ddvm_net_stats {
	ddvm_le64 tx_frames;	  /* frames taken from the client's tx ring */
	ddvm_le64 tx_bytes;	  /* ... their bytes */
	ddvm_le64 tx_copy_bytes;  /* bytes copied out of tx slots into skbs */
	ddvm_le64 tx_wire;	  /* frames handed to the NIC (dev_queue_xmit) */
	ddvm_le64 tx_local;	  /* frames switched to another client of the NIC */
	ddvm_le64 tx_drops;	  /* frames dropped (no memory, too big, no NIC) */
	ddvm_le64 tx_bad;	  /* frames with malformed offload metadata */
	ddvm_le64 rx_frames;	  /* frames put into the client's rx ring */
	ddvm_le64 rx_bytes;	  /* ... their bytes */
	ddvm_le64 rx_copy_bytes;  /* bytes copied from skbs into rx slots */
	ddvm_le64 rx_soft;	  /* frames whose offloads were resolved here (one more copy) */
	ddvm_le64 rx_queued;	  /* frames that waited in the backlog for an rx slot */
	ddvm_le64 rx_drops;	  /* frames dropped (ring and backlog full, client away) */
	ddvm_le64 tx_storm_drops; /* broadcast/multicast over the storm limit, dropped */
	ddvm_le64 tx_spoof_drops; /* frames from an address not the client's, dropped */
};

/* struct ddvm_net_stats' names and units, in order (abi.h, DDVM_CHAN_STATS_FIELDS). */
#define DDVM_NET_STATS_FIELDS(X)                                                                   \
	X(tx_frames, COUNT)                                                                        \
	X(tx_bytes, BYTES)                                                                         \
	X(tx_copy_bytes, BYTES)                                                                    \
	X(tx_wire, COUNT)                                                                          \
	X(tx_local, COUNT)                                                                         \
	X(tx_drops, COUNT)                                                                         \
	X(tx_bad, COUNT)                                                                           \
	X(rx_frames, COUNT)                                                                        \
	X(rx_bytes, BYTES)                                                                         \
	X(rx_copy_bytes, BYTES)                                                                    \
	X(rx_soft, COUNT)                                                                          \
	X(rx_queued, COUNT)                                                                        \
	X(rx_drops, COUNT)                                                                         \
	X(tx_storm_drops, COUNT)                                                                   \
	X(tx_spoof_drops, COUNT)

_Static_assert(sizeof(struct ddvm_net_config) == 0x100, "net config size");
_Static_assert(sizeof(struct ddvm_net_desc) == DDVM_DESC_SIZE, "net desc size");
_Static_assert(sizeof(struct ddvm_net_stats) == 15 * 8, "net counters size");
_Static_assert(DDVM_STATS_SERVICE_SIZE >= sizeof(struct ddvm_net_stats), "net counters fit");
DDVM_ASSERT_OFFSET(struct ddvm_net_config, mac, 0);
DDVM_ASSERT_OFFSET(struct ddvm_net_config, mtu, 6);
DDVM_ASSERT_OFFSET(struct ddvm_net_config, link_up, 8);
DDVM_ASSERT_OFFSET(struct ddvm_net_config, speed_mbps, 12);
DDVM_ASSERT_OFFSET(struct ddvm_net_config, nic_driver, 16);
DDVM_ASSERT_OFFSET(struct ddvm_net_desc, off, 0);
DDVM_ASSERT_OFFSET(struct ddvm_net_desc, len, 4);
DDVM_ASSERT_OFFSET(struct ddvm_net_desc, flags, 8);
DDVM_ASSERT_OFFSET(struct ddvm_net_desc, gso_type, 9);
DDVM_ASSERT_OFFSET(struct ddvm_net_desc, hdr_len, 10);
DDVM_ASSERT_OFFSET(struct ddvm_net_desc, gso_size, 12);
DDVM_ASSERT_OFFSET(struct ddvm_net_desc, csum_start, 14);
DDVM_ASSERT_OFFSET(struct ddvm_net_desc, csum_offset, 16);
DDVM_ASSERT_OFFSET(struct ddvm_net_stats, tx_frames, 0x00);
DDVM_ASSERT_OFFSET(struct ddvm_net_stats, tx_bytes, 0x08);
DDVM_ASSERT_OFFSET(struct ddvm_net_stats, tx_copy_bytes, 0x10);
DDVM_ASSERT_OFFSET(struct ddvm_net_stats, tx_wire, 0x18);
DDVM_ASSERT_OFFSET(struct ddvm_net_stats, tx_local, 0x20);
DDVM_ASSERT_OFFSET(struct ddvm_net_stats, tx_drops, 0x28);
DDVM_ASSERT_OFFSET(struct ddvm_net_stats, tx_bad, 0x30);
DDVM_ASSERT_OFFSET(struct ddvm_net_stats, rx_frames, 0x38);
DDVM_ASSERT_OFFSET(struct ddvm_net_stats, rx_bytes, 0x40);
DDVM_ASSERT_OFFSET(struct ddvm_net_stats, rx_copy_bytes, 0x48);
DDVM_ASSERT_OFFSET(struct ddvm_net_stats, rx_soft, 0x50);
DDVM_ASSERT_OFFSET(struct ddvm_net_stats, rx_queued, 0x58);
DDVM_ASSERT_OFFSET(struct ddvm_net_stats, rx_drops, 0x60);
DDVM_ASSERT_OFFSET(struct ddvm_net_stats, tx_storm_drops, 0x68);
DDVM_ASSERT_OFFSET(struct ddvm_net_stats, tx_spoof_drops, 0x70);
#define DDVM_NET_STAT_INDEX_(name, unit) DDVM_NET_STAT_##name,
enum { DDVM_NET_STATS_FIELDS(DDVM_NET_STAT_INDEX_) DDVM_NET_STATS_N };
#define DDVM_NET_STAT_ORDER_(name, unit)                                                           \
	DDVM_ASSERT_OFFSET(struct ddvm_net_stats, name, 8 * DDVM_NET_STAT_##name);
DDVM_NET_STATS_FIELDS(DDVM_NET_STAT_ORDER_)
_Static_assert(sizeof(struct ddvm_net_stats) == 8 * DDVM_NET_STATS_N, "net counters listed");

#endif /* DDVM_NET_H */
