/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * One channel as the supervisor holds it: the memfd region (laid out with the ring
 * code's ddvm_region_init), its ivshmem server, and the supervisor's side of the
 * channel's life: epochs, the header fields it owns (kept privately, written back),
 * the driver VM's health doorbell, and the request progress it can see.
 *
 * Sockets (RUNDIR/channels/), with the peer ids of each (abi.h, "Peer ids"):
 *   CHANNEL.driver.sock   0, 4, 8, ...: the driver VM (DDVM_SIDE_BACKEND)
 *   CHANNEL.client.sock   1, 5, 9, ...: the client VM or host process (DDVM_SIDE_FRONTEND)
 *   CHANNEL.host.sock     2, 6, 10, ...: host tools (monitors, fault injectors)
 *   CHANNEL.spare.sock    7, 11, 15, ...: the driver VM's warm spare (spare = yes
 *                         only); introduced to no other peer, and its id not
 *                         published in the header, until a failover moves it into
 *                         the driver role (channel__promote_spare)
 */
#ifndef DDVM_CHANNEL_H
#define DDVM_CHANNEL_H

#include <stdint.h>

#include "config.h"
#include "counters.h"
#include "ivshmem_server.h"
#include "region.h"

#define CHANNEL_PEER_DRIVER 0
#define CHANNEL_PEER_CLIENT 1
#define CHANNEL_PEER_HOST   2
#define CHANNEL_PEER_SPARE  4 /* 3 is DDVM_PEER_SUPERVISOR, the health doorbell */

struct channel {
	const struct cfg_channel *cfg;
	int shm_fd;
	void *base;
	uint64_t size;
	uint32_t layout_id; /* ddvm_layout_id(): listed for the translation module */
	unsigned vectors;
	struct ddvm_region rg;	    /* our validated view; layout never re-read */
	struct ddvm_region_hdr own; /* what we wrote: the authority for what we own */
	struct ivshmem_server srv;
	char sock_path[4][108]; /* driver, client, host, spare ("" without a spare) */
	int health_fd;		/* the driver VM's health doorbell (server-owned) */
	/* health watch state (monotonic ms) */
	uint64_t hb_changed_ms;
	int hb_seen;	       /* health doorbell rung at least once this epoch */
	uint64_t health_beats; /* ... and how often, in all */
	/* claims (what a peer says about the other) and the sessions they cost */
	uint64_t claim_resets;	/* sessions started for this channel alone after claims */
	unsigned claims_in_row; /* sessions for claims, none of them quiet for long */
	uint64_t last_claim_ms; /* when the last claim got a session */
	uint64_t claim_hold_ms; /* no session for a claim before this (back-off) */
	uint64_t tamper_logged_ms;
	int throttled_logged;
	int slow_logged; /* "requests taken but not answered" told, until they move */
	uint32_t req_cons[DDVM_MAX_RINGS];
	uint64_t req_changed_ms[DDVM_MAX_RINGS];
	uint64_t req_look_ms; /* the last look at the rings (channel__requests_stalled) */
	/* recovery: a net channel whose NIC had its link when its driver VM failed is
	 * restored only with the link back; back_ms: when it was (0: not yet), and
	 * backend_back_ms when the driver VM's side was (the rest is the client's) */
	int link_was_up;
	uint64_t back_ms, backend_back_ms;
};

/* Counters for `ddvm status`, read from the region (untrusted, display only). */
struct channel_stats {
	uint32_t epoch;
	uint32_t backend_state, frontend_state;
	uint32_t backend_epoch, frontend_epoch; /* the epoch each side's state is of */
	uint64_t heartbeat;			/* hdr.heartbeat: the client's view */
	uint64_t health_beats; /* the driver VM's health doorbell: the supervisor's view */
	uint64_t claim_resets; /* sessions started for this channel alone after claims */
	uint64_t requests;     /* descriptors the frontend produced (all its rings, mod 2^32) */
	uint64_t responses;    /* descriptors the backend produced */
	uint64_t errors;       /* protocol violations both sides reported */
	/* per queue pair q (ring 2q and 2q+1): the producers' indices, as above */
	unsigned num_queues;
	uint64_t queue_requests[CFG_MAX_QUEUES], queue_responses[CFG_MAX_QUEUES];
	int driver_up, client_up;
	struct counters counters; /* the translation module's (hdr.stats): display only */
};

/* Create the region and listen on DIR/CHANNEL.{driver,client,host}.sock. */
int channel__create(struct channel *ch, const struct cfg_channel *cc, unsigned index,
		    const char *dir);
void channel__destroy(struct channel *ch);

/*
 * The driver VM is gone and a new one is about to start: drop its peer, reset the
 * rings, bump the epoch, and ring the client's control vector so it re-attaches.
 * Returns the new epoch.
 */
uint32_t channel__new_epoch(struct channel *ch, uint64_t now_ms);
/*
 * Failover (spare.c), after channel__new_epoch: the warm spare's peer becomes the
 * driver VM's (ivshmem_server__promote: the health doorbell is introduced to it), its id
 * is published in hdr.backend_peer (the spare's translation module sees its own id
 * there and leaves standby), and its control vector is rung. Returns its id or a
 * negative errno (no spare connected on this channel).
 */
int channel__promote_spare(struct channel *ch);
/* Ring the control vector of whoever holds the driver role (after the spare's cont). */
void channel__ring_driver(struct channel *ch);
/* Is the spare's peer connected (its channel device plugged)? */
int channel__spare_up(const struct channel *ch);

/*
 * Reset this channel alone while its driver VM lives on (a claim against it, see
 * health.c): bump its epoch and write back what we own; the translation module and
 * the client each reset their side and meet in a new session. Returns the new epoch.
 */
uint32_t channel__new_session(struct channel *ch, uint64_t now_ms);
/* The current epoch, from our private copy (never from the region). */
uint32_t channel__epoch(const struct channel *ch);
/* Did a peer overwrite what we own in the header? Then it is written back now, and
 * WHY says which part. */
int channel__own_tampered(struct channel *ch, char *why, size_t len);
/* The driver VM gave up for good: tell the client (backend state BROKEN + doorbell). */
void channel__backend_dead(struct channel *ch);
/* Set (ON) or clear one of the host's facts in ctl_flags (DDVM_CTL_HOST_NOSPC), written
 * at once and re-asserted like the rest of what we own. */
void channel__host_flag(struct channel *ch, uint32_t flag, int on);

/*
 * Health checks, each returning 1 and a reason in WHY:
 *  - heartbeat_stalled: the driver VM's health doorbell (abi.h) has not rung for
 *    TIMEOUT ms, once it rang in this epoch. Evidence: only the driver VM can ring it.
 *  - requests_stalled: requests it should consume sat untouched
 *    (CHANNEL_STALL_UNTOUCHED), or blk requests it took were not answered
 *    (CHANNEL_STALL_UNANSWERED: its disk is slow or its driver hangs), for TIMEOUT
 *    ms, as the ring indices in the region say. A claim: the client can write those
 *    indices too.
 */
#define CHANNEL_STALL_UNTOUCHED	 1
#define CHANNEL_STALL_UNANSWERED 2
/* requests_stalled counts only time it watched: a look more than this after the one
 * before it (the supervisor looks every second at most) restarts the clocks */
#define CHANNEL_LOOK_GAP_MS 2500
int channel__heartbeat_stalled(struct channel *ch, uint64_t now_ms, unsigned timeout_ms, char *why,
			       size_t len);
int channel__requests_stalled(struct channel *ch, uint64_t now_ms, unsigned timeout_ms, char *why,
			      size_t len);

/* Either side declared the channel broken at the current epoch. A claim: either side
 * can write either state; a new session of this channel repairs it. */
int channel__broken(struct channel *ch, char *why, size_t len);
/* Service is back: the backend serves the current epoch and so does a connected client;
 * for a net channel whose NIC had its link at the failure, the link is up again (the
 * translation module's link_up: what a client's carrier follows). Display only. */
int channel__restored(struct channel *ch);
/* The driver VM's half of channel__restored: READY at our epoch (a NIC with its link). */
int channel__backend_back(struct channel *ch);

/* A net channel's MTU as its translation module describes the NIC (L3 bytes; the NIC's
 * own, capped by the slots), with the driver's name into DRV (16 bytes + NUL); 0 when
 * not described at the current epoch. A claim (the driver VM writes it): display and
 * warnings only. */
unsigned channel__nic_mtu(const struct channel *ch, char drv[17]);

void channel__stats(const struct channel *ch, struct channel_stats *st);
const char *channel_state_name(uint32_t state);

#endif /* DDVM_CHANNEL_H */
