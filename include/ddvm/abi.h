/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ddvm wire ABI: the layout of one channel's shared-memory region.
 *
 * This header is compiled, unchanged, into every side of a channel: the Linux kernel
 * modules (driver VM and client VM), the host supervisor and library, the tests, and
 * freestanding programs (-ffreestanding -nostdlib). It must stay self-contained: only
 * <stdint.h>/<stddef.h> outside the kernel, <linux/types.h> inside it.
 *
 * Rules (append-only ABI):
 *  - Every field is fixed width and little-endian. ddvm only runs on little-endian
 *    hosts today; the build refuses a big-endian target instead of pretending.
 *  - Everything in shared memory is named by a byte OFFSET from the start of the
 *    region, never by a pointer.
 *  - Fields written by different parties live on different 64-byte cache lines.
 *  - Every size and offset is pinned by _Static_assert below. Do NOT change them:
 *    that would break existing driver VMs and clients. Grow by feature bits and by
 *    using reserved space, and bump DDVM_ABI_MINOR.
 *
 * Region layout (offsets from the region start; all set by the supervisor):
 *
 *   0x0000  struct ddvm_region_hdr (4 KiB)
 *             0x000 identity + layout    supervisor writes once, both sides copy
 *             0x040 control              supervisor: epoch, peer ids
 *             0x080 backend status       translation module (driver VM)
 *             0x0c0 frontend status      client driver
 *             0x100 device description   translation module
 *             0x200 ring table           supervisor writes once, both sides copy
 *             0x400 backend counters     translation module; display only (ABI 1.2)
 *   ring_off  struct ddvm_ring_ctl + entries x 32-byte descriptors, per ring
 *   data_off  payload slots of a ring: entries x slot_size bytes
 *
 * Nobody trusts anybody's copy in shared memory: each side copies the header's layout
 * ONCE when it attaches (ddvm_region_attach() in ring/region.c), validates the copy,
 * and from then on uses only its private copy. A peer that scribbles over the header
 * later cannot move a ring under our feet.
 */
#ifndef DDVM_ABI_H
#define DDVM_ABI_H

#if defined(__KERNEL__)
#include <linux/types.h>
#include <linux/stddef.h>
#else
#include <stdint.h>
#include <stddef.h>
#endif

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "ddvm's wire ABI is little-endian; add byte swapping before porting to big-endian"
#endif

/* Little-endian wire types. On a little-endian CPU these are the host types. */
typedef uint8_t ddvm_u8;
typedef uint16_t ddvm_le16;
typedef uint32_t ddvm_le32;
typedef uint64_t ddvm_le64;

#define DDVM_MAGIC     0x4d564444u /* "DDVM" as little-endian bytes */
#define DDVM_ABI_MAJOR 1	   /* incompatible layout change: refuse */
#define DDVM_ABI_MINOR 3	   /* compatible growth: accept any */
				   /* 1: backend_session, frontend_session */
				   /* 2: hdr.stats, the backend's counters */
				   /* 3: slots up to 1 MiB (was 256 KiB): a side built
				    * before refuses such a region's layout */
#define DDVM_CACHELINE	      64
#define DDVM_HDR_SIZE	      4096
#define DDVM_MAX_RINGS	      16 /* ring table entries in the header */
#define DDVM_DESC_SIZE	      32 /* every descriptor, every service */
#define DDVM_RING_MAX_ENTRIES 4096
#define DDVM_SLOT_MAX	      (1024u * 1024) /* largest payload slot */

/* What the channel carries. */
enum ddvm_kind {
	DDVM_KIND_NONE = 0,
	DDVM_KIND_NET = 1, /* Ethernet frames: include/ddvm/net.h */
	DDVM_KIND_BLK = 2, /* block requests: include/ddvm/blk.h */
};

/* Life cycle of one side (backend_state / frontend_state). */
enum ddvm_side_state {
	DDVM_STATE_ABSENT = 0,	  /* nobody attached (fresh region, or after a reset) */
	DDVM_STATE_ATTACHING = 1, /* attached, setting up; do not use the rings yet */
	DDVM_STATE_READY = 2,	  /* serving; rings live for state_epoch */
	DDVM_STATE_BROKEN = 3,	  /* saw a protocol violation; stopped using the rings */
	DDVM_STATE_CLOSED = 4,	  /* detached cleanly */
};

/* Which side produces into a ring. */
enum ddvm_side {
	DDVM_SIDE_BACKEND = 0,	/* translation module in the driver VM */
	DDVM_SIDE_FRONTEND = 1, /* client driver */
};

/*
 * Doorbells. Each side's ivshmem device has vectors; vector 0 is the control vector
 * (epoch and state changes; the supervisor rings it too), vector 1 + q serves queue
 * pair q (both of its rings: new work for the consumer, free space for the producer).
 * With ivshmem-doorbell, ring peer P's vector V by writing (P << 16) | V to DOORBELL.
 */
#define DDVM_VECTOR_CONTROL  0
#define DDVM_VECTOR_QUEUE(q) (1 + (q))
#define DDVM_MAX_VECTORS     (1 + DDVM_MAX_RINGS / 2)

/* One ring in the ring table. Written by the supervisor once; copied by each side. */
struct ddvm_ring_layout {
	ddvm_le32 ring_off;  /* struct ddvm_ring_ctl, DDVM_CACHELINE aligned */
	ddvm_le32 entries;   /* descriptors; power of two, 1..DDVM_RING_MAX_ENTRIES */
	ddvm_le32 data_off;  /* payload area; 0 with data_size 0 when the ring has none */
	ddvm_le32 data_size; /* == entries * slot_size */
	ddvm_le32 slot_size; /* payload bytes per slot; <= DDVM_SLOT_MAX */
	ddvm_le16 producer;  /* enum ddvm_side */
	ddvm_le16 vector;    /* doorbell vector for this ring (both directions) */
	ddvm_le32 reserved[2];
};

/*
 * Backend counters (ABI 1.2): what the translation module counts about its channel,
 * published for the supervisor's `ddvm status` about once a heartbeat. DISPLAY ONLY:
 * like every byte of the region, the client can write these too, so no one may act on
 * them (no health decision, no restart, no claim, no size, no index, no loop bound).
 * A reader copies the block out once, ignores it unless magic == DDVM_STATS_MAGIC,
 * clamps chan_size and service_size to the areas below, and treats each counter as an
 * arbitrary 64-bit number. The supervisor clears magic when it starts a new driver VM.
 *
 * Counters only grow while one driver VM serves the channel (a reload of the module
 * or a restart of the driver VM starts them from 0 again). New counters are appended
 * to chan or service (the writer's *_size says how far it fills them); a reader shows
 * only what lies below the size the writer published.
 */
#define DDVM_STATS_MAGIC	0x54534444u /* "DDST" as little-endian bytes */
#define DDVM_STATS_SERVICE_SIZE 0x180	    /* bytes of ddvm_stats.service */

/* Every service's counters (docs/channel.md, "Counters"). */
struct ddvm_chan_stats {
	ddvm_le64 interrupts;		/* doorbells received from the client, all vectors */
	ddvm_le64 polls;		/* passes over the rings, whatever started them */
	ddvm_le64 doorbells_out;	/* doorbells rung to the client, all vectors */
	ddvm_le64 doorbells_suppressed; /* publishes the client needed no doorbell for */
	ddvm_le64 doorbells_throttled;	/* times the doorbell guard turned a vector off */
	ddvm_le64 sessions;		/* ring resets: first attach, new sessions, epochs */
};

/*
 * Each counters struct's names in struct order, with their units (COUNT: things,
 * BYTES, PATH: enum ddvm_blk_path), as X(name, unit): the one list from which the
 * kernel modules make their sysfs files (guest/ddvm_stats.h) and the supervisor the
 * fields of `ddvm status --json` (supervisor/counters.c). The asserts at the end of
 * this file (and of blk.h, net.h) prove that a list names every field of its struct,
 * once, in order.
 */
#define DDVM_CHAN_STATS_FIELDS(X)                                                                  \
	X(interrupts, COUNT)                                                                       \
	X(polls, COUNT)                                                                            \
	X(doorbells_out, COUNT)                                                                    \
	X(doorbells_suppressed, COUNT)                                                             \
	X(doorbells_throttled, COUNT)                                                              \
	X(sessions, COUNT)

struct ddvm_stats {
	ddvm_le32 magic;	/* DDVM_STATS_MAGIC once the backend writes the block */
	ddvm_le32 epoch;	/* the epoch the backend served at its last update */
	ddvm_le64 updates;	/* times the backend wrote the block */
	ddvm_le32 chan_size;	/* bytes of chan the backend fills */
	ddvm_le32 service_size; /* bytes of service the backend fills */
	ddvm_u8 reserved0[0x20 - 0x18];
	struct ddvm_chan_stats chan; /* 0x20 */
	ddvm_u8 chan_reserved[0x80 - 0x20 - 6 * 8];
	/* 0x80: the service's own: struct ddvm_blk_stats (blk.h), ddvm_net_stats (net.h) */
	ddvm_u8 service[DDVM_STATS_SERVICE_SIZE];
};

/*
 * The region header. Offsets are pinned below; the comment on each group says who
 * writes it. Everyone else only reads it.
 */
struct ddvm_region_hdr {
	/* 0x000: identity and layout — supervisor, once, before any VM attaches. */
	ddvm_le32 magic;       /* DDVM_MAGIC */
	ddvm_le16 abi_major;   /* DDVM_ABI_MAJOR */
	ddvm_le16 abi_minor;   /* DDVM_ABI_MINOR */
	ddvm_le64 region_size; /* bytes; a side refuses one larger than what it mapped */
	ddvm_le32 kind;	       /* enum ddvm_kind */
	ddvm_le32 num_rings;   /* used entries of rings[] */
	ddvm_le32 num_queues;  /* queue pairs; rings 2q and 2q+1 form pair q */
	ddvm_le32 hdr_reserved0;
	ddvm_le64 channel_id; /* supervisor's name for this channel, for logs */
	ddvm_u8 hdr_reserved[0x40 - 0x28];

	/* 0x040: control — supervisor. */
	ddvm_le32 epoch;	 /* bumped each time the driver VM is (re)started */
	ddvm_le16 backend_peer;	 /* ivshmem peer id of the driver VM */
	ddvm_le16 frontend_peer; /* ivshmem peer id of the client */
	ddvm_le32 ctl_flags;	 /* DDVM_CTL_* */
	ddvm_le32 ctl_reserved0;
	/* Which device of the driver VM serves this channel, NUL-padded: a network
	 * interface ("eth0"), a PCI address ("0000:00:03.0") or a disk ("nvme0n1").
	 * Informational where the supervisor started the driver VM: the translation
	 * module takes the target from the supervisor's list (its `channels` parameter,
	 * docs/channel.md), since a client can rewrite this field when it is read. Only
	 * without that list (a hand-built QEMU) is it used: copied once, untrusted text. */
	ddvm_u8 backend_target[32];
	ddvm_u8 ctl_reserved[0x80 - 0x70];

	/* 0x080: backend status — translation module in the driver VM. */
	ddvm_le32 backend_state;   /* enum ddvm_side_state */
	ddvm_le32 backend_epoch;   /* epoch the state refers to */
	ddvm_le64 heartbeat;	   /* advanced while the backend is healthy */
	ddvm_le64 features;	   /* device features offered (service-specific bits) */
	ddvm_le64 backend_errors;  /* protocol violations the backend saw */
	ddvm_le32 backend_session; /* the frontend_session the backend last reset for */
	ddvm_u8 backend_reserved[0xc0 - 0xa4];

	/* 0x0c0: frontend status — client driver. */
	ddvm_le32 frontend_state;   /* enum ddvm_side_state */
	ddvm_le32 frontend_epoch;   /* epoch the state refers to */
	ddvm_le64 driver_features;  /* subset of features the client uses */
	ddvm_le64 frontend_errors;  /* protocol violations the frontend saw */
	ddvm_le32 frontend_session; /* fresh, nonzero, at every attach: see "Sessions" */
	ddvm_u8 frontend_reserved[0x100 - 0xdc];

	/* 0x100: device description — translation module (see net.h / blk.h). */
	ddvm_u8 device[0x100];

	/* 0x200: ring table — supervisor, once. */
	struct ddvm_ring_layout rings[DDVM_MAX_RINGS];

	/* 0x400: backend counters (ABI 1.2) — translation module; display only. */
	struct ddvm_stats stats;

	ddvm_u8 tail_reserved[DDVM_HDR_SIZE - 0x600];
};

/*
 * Sessions (ABI 1.1). Every attach of a client driver (a VM boot, a module reload, a
 * library reconnect, a resync after a new epoch) starts a session of its channel:
 *   frontend: reset its own ring fields; frontend_session = a new nonzero number (the
 *             old one + 1, never equal to backend_session); frontend ATTACHING at the
 *             current epoch; ring the control vector. Use the rings only once the
 *             backend is READY at that epoch with backend_session == frontend_session.
 *   backend:  on a frontend ATTACHING at its epoch with a frontend_session other than
 *             the one it serves: drop everything of the old session (in-flight work
 *             finishes, its answers are discarded), reset its own ring fields, write
 *             backend_session, READY, ring the client's control vector.
 * So a new client never reads an old client's answers, and no session needs the
 * supervisor or a driver VM restart. ring/region.h holds these rules, once.
 *
 * The driver VM's health never lives in a region a client can write. Each channel's
 * ivshmem server has a private peer, DDVM_PEER_SUPERVISOR, whose doorbell it hands to
 * the driver VM only: the translation module rings its vector 0 every heartbeat
 * period while it is healthy (its timers run, its work runs, the disk below it
 * answers). hdr.heartbeat stays for the client's own use; the supervisor ignores it.
 */
#define DDVM_PEER_SUPERVISOR 3 /* ivshmem peer id; no socket, no VM */

/*
 * Peer ids. The supervisor's ivshmem server (supervisor/ivshmem_server.h) gives each
 * role of a channel its own series of ids and never reuses one: the driver VM 0, 4,
 * 8, ...; the client 1, 5, 9, ...; a host tool 2, 6, 10, ...; a warm spare 7, 11, 15,
 * ...; 3 is its private peer (above). Each side reads its own id from its device
 * (IVPosition), which no other peer can change, so unlike any header field the series
 * is evidence a client cannot forge:
 * - A translation module whose device has a spare's id runs in a warm spare: it stays
 *   on standby until its control vector first rings. Until the supervisor makes the
 *   spare the channel's driver VM no other peer is given the spare's doorbells, so
 *   only the supervisor can ring it: a client cannot keep a spare from standby, nor
 *   make it serve beside the driver VM.
 * - A translation module rings only a client's or a host tool's id: frontend_peer is
 *   the client's to write, and must not aim the driver VM's doorbells elsewhere (at the
 *   supervisor's private peer, whose doorbell says "the driver VM is healthy").
 */
#define DDVM_PEER_STRIDE	4
#define DDVM_PEER_IS_SPARE(id)	((id) % DDVM_PEER_STRIDE == 3 && (id) != DDVM_PEER_SUPERVISOR)
#define DDVM_PEER_IS_CLIENT(id) ((id) % DDVM_PEER_STRIDE == 1 || (id) % DDVM_PEER_STRIDE == 2)

/* ctl_flags */
#define DDVM_CTL_SHUTDOWN (1u << 0) /* supervisor is tearing the channel down */
#define DDVM_CTL_BACKEND_GONE                                                                      \
	(1u << 1) /* supervisor gave up restarting the driver VM:                                  \
		     fail I/O now instead of waiting */
/* blk: the host file system that holds this channel's disk image is full (the supervisor
 * saw ENOSPC from it, or no free space, and has not seen space come back). No emulated
 * disk controller can say "no space" (virtio-blk and NVMe fail the request with an I/O
 * or media error), so the translation module answers a write the disk failed with
 * DDVM_BLK_S_NOSPC while this is set. A client that forges it only relabels its own
 * failed writes. */
#define DDVM_CTL_HOST_NOSPC (1u << 2)

/*
 * Ring control block. The producer writes the first cache line, the consumer the
 * second; descriptors follow at offset 128. Indices are free-running 32-bit counters
 * (masked by entries - 1 to find a slot), so prod - cons is the fill level even
 * across wrap-around.
 *
 * Event suppression (virtio's event index, and the sleep/wake-up protocols of the
 * seed papers): a consumer about to sleep writes prod_event = its cons and then
 * re-checks prod after a full barrier; a producer, after publishing prod, does a full
 * barrier and rings the doorbell only if its batch crossed prod_event. Symmetrically a
 * producer that finds the ring full writes cons_event and the consumer kicks it when
 * it frees past that point. The full barriers close the store->load race in which
 * both sides would otherwise decide not to wake the other.
 */
struct ddvm_ring_ctl {
	/* producer's cache line */
	ddvm_le32 prod;	      /* descriptors published so far */
	ddvm_le32 cons_event; /* producer asleep: kick me when cons passes this */
	ddvm_u8 prod_pad[DDVM_CACHELINE - 8];
	/* consumer's cache line */
	ddvm_le32 cons;	      /* descriptors consumed (slots free) so far */
	ddvm_le32 prod_event; /* consumer asleep: kick me when prod passes this */
	ddvm_u8 cons_pad[DDVM_CACHELINE - 8];
	/* descriptors follow: entries x DDVM_DESC_SIZE */
};

#define DDVM_RING_CTL_SIZE 128u

/* An opaque descriptor as the ring moves it; services overlay their own layout. */
struct ddvm_desc {
	ddvm_u8 bytes[DDVM_DESC_SIZE];
};

/* Bytes a ring's control block and descriptors take. */
#define DDVM_RING_BYTES(entries) (DDVM_RING_CTL_SIZE + (uint64_t)(entries)*DDVM_DESC_SIZE)

#define DDVM_ASSERT_OFFSET(type, field, off)                                                       \
	_Static_assert(offsetof(type, field) == (off), #type "." #field " moved")

_Static_assert(sizeof(struct ddvm_ring_layout) == 32, "ring layout size");
_Static_assert(sizeof(struct ddvm_region_hdr) == DDVM_HDR_SIZE, "region header size");
_Static_assert(sizeof(struct ddvm_ring_ctl) == DDVM_RING_CTL_SIZE, "ring ctl size");
_Static_assert(sizeof(struct ddvm_desc) == DDVM_DESC_SIZE, "descriptor size");
_Static_assert(sizeof(struct ddvm_chan_stats) == 6 * 8, "channel counters size");
_Static_assert(sizeof(struct ddvm_stats) == 0x200, "counters block size");
DDVM_ASSERT_OFFSET(struct ddvm_ring_layout, ring_off, 0);
DDVM_ASSERT_OFFSET(struct ddvm_ring_layout, entries, 4);
DDVM_ASSERT_OFFSET(struct ddvm_ring_layout, data_off, 8);
DDVM_ASSERT_OFFSET(struct ddvm_ring_layout, data_size, 12);
DDVM_ASSERT_OFFSET(struct ddvm_ring_layout, slot_size, 16);
DDVM_ASSERT_OFFSET(struct ddvm_ring_layout, producer, 20);
DDVM_ASSERT_OFFSET(struct ddvm_ring_layout, vector, 22);
DDVM_ASSERT_OFFSET(struct ddvm_region_hdr, magic, 0x00);
DDVM_ASSERT_OFFSET(struct ddvm_region_hdr, abi_major, 0x04);
DDVM_ASSERT_OFFSET(struct ddvm_region_hdr, abi_minor, 0x06);
DDVM_ASSERT_OFFSET(struct ddvm_region_hdr, region_size, 0x08);
DDVM_ASSERT_OFFSET(struct ddvm_region_hdr, kind, 0x10);
DDVM_ASSERT_OFFSET(struct ddvm_region_hdr, num_rings, 0x14);
DDVM_ASSERT_OFFSET(struct ddvm_region_hdr, num_queues, 0x18);
DDVM_ASSERT_OFFSET(struct ddvm_region_hdr, channel_id, 0x20);
DDVM_ASSERT_OFFSET(struct ddvm_region_hdr, epoch, 0x40);
DDVM_ASSERT_OFFSET(struct ddvm_region_hdr, backend_peer, 0x44);
DDVM_ASSERT_OFFSET(struct ddvm_region_hdr, frontend_peer, 0x46);
DDVM_ASSERT_OFFSET(struct ddvm_region_hdr, ctl_flags, 0x48);
DDVM_ASSERT_OFFSET(struct ddvm_region_hdr, backend_target, 0x50);
DDVM_ASSERT_OFFSET(struct ddvm_region_hdr, backend_state, 0x80);
DDVM_ASSERT_OFFSET(struct ddvm_region_hdr, backend_epoch, 0x84);
DDVM_ASSERT_OFFSET(struct ddvm_region_hdr, heartbeat, 0x88);
DDVM_ASSERT_OFFSET(struct ddvm_region_hdr, features, 0x90);
DDVM_ASSERT_OFFSET(struct ddvm_region_hdr, backend_errors, 0x98);
DDVM_ASSERT_OFFSET(struct ddvm_region_hdr, backend_session, 0xa0);
DDVM_ASSERT_OFFSET(struct ddvm_region_hdr, frontend_state, 0xc0);
DDVM_ASSERT_OFFSET(struct ddvm_region_hdr, frontend_epoch, 0xc4);
DDVM_ASSERT_OFFSET(struct ddvm_region_hdr, driver_features, 0xc8);
DDVM_ASSERT_OFFSET(struct ddvm_region_hdr, frontend_errors, 0xd0);
DDVM_ASSERT_OFFSET(struct ddvm_region_hdr, frontend_session, 0xd8);
DDVM_ASSERT_OFFSET(struct ddvm_region_hdr, device, 0x100);
DDVM_ASSERT_OFFSET(struct ddvm_region_hdr, rings, 0x200);
DDVM_ASSERT_OFFSET(struct ddvm_region_hdr, stats, 0x400);
DDVM_ASSERT_OFFSET(struct ddvm_stats, magic, 0x00);
DDVM_ASSERT_OFFSET(struct ddvm_stats, epoch, 0x04);
DDVM_ASSERT_OFFSET(struct ddvm_stats, updates, 0x08);
DDVM_ASSERT_OFFSET(struct ddvm_stats, chan_size, 0x10);
DDVM_ASSERT_OFFSET(struct ddvm_stats, service_size, 0x14);
DDVM_ASSERT_OFFSET(struct ddvm_stats, chan, 0x20);
DDVM_ASSERT_OFFSET(struct ddvm_stats, service, 0x80);
DDVM_ASSERT_OFFSET(struct ddvm_chan_stats, interrupts, 0x00);
DDVM_ASSERT_OFFSET(struct ddvm_chan_stats, polls, 0x08);
DDVM_ASSERT_OFFSET(struct ddvm_chan_stats, doorbells_out, 0x10);
DDVM_ASSERT_OFFSET(struct ddvm_chan_stats, doorbells_suppressed, 0x18);
DDVM_ASSERT_OFFSET(struct ddvm_chan_stats, doorbells_throttled, 0x20);
DDVM_ASSERT_OFFSET(struct ddvm_chan_stats, sessions, 0x28);
/* DDVM_CHAN_STATS_FIELDS names every field once (a name twice is a duplicate
 * enumerator), in order (field k at 8 * k), and no more (the size). */
#define DDVM_CHAN_STAT_INDEX_(name, unit) DDVM_CHAN_STAT_##name,
enum { DDVM_CHAN_STATS_FIELDS(DDVM_CHAN_STAT_INDEX_) DDVM_CHAN_STATS_N };
#define DDVM_CHAN_STAT_ORDER_(name, unit)                                                          \
	DDVM_ASSERT_OFFSET(struct ddvm_chan_stats, name, 8 * DDVM_CHAN_STAT_##name);
DDVM_CHAN_STATS_FIELDS(DDVM_CHAN_STAT_ORDER_)
_Static_assert(sizeof(struct ddvm_chan_stats) == 8 * DDVM_CHAN_STATS_N, "chan counters listed");
DDVM_ASSERT_OFFSET(struct ddvm_ring_ctl, prod, 0);
DDVM_ASSERT_OFFSET(struct ddvm_ring_ctl, cons_event, 4);
DDVM_ASSERT_OFFSET(struct ddvm_ring_ctl, cons, 64);
DDVM_ASSERT_OFFSET(struct ddvm_ring_ctl, prod_event, 68);

#endif /* DDVM_ABI_H */
