/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * One channel as the supervisor holds it: the memfd region (laid out with the ring
 * code's ddvm_region_init), its ivshmem server, and the supervisor's side of the
 * channel's life: epochs, and watching the backend's heartbeat and request progress.
 *
 * Sockets (RUNDIR/channels/):
 *   CHANNEL.driver.sock   peer id 0: the driver VM (DDVM_SIDE_BACKEND)
 *   CHANNEL.client.sock   peer id 1: the client VM or host process (DDVM_SIDE_FRONTEND)
 *   CHANNEL.host.sock     peer id 2: host tools (monitors, fault injectors)
 */
#ifndef DDVM_CHANNEL_H
#define DDVM_CHANNEL_H

#include <stdint.h>

#include "config.h"
#include "ivshmem_server.h"
#include "region.h"

#define CHANNEL_PEER_DRIVER 0
#define CHANNEL_PEER_CLIENT 1
#define CHANNEL_PEER_HOST 2

struct channel {
	const struct cfg_channel *cfg;
	int shm_fd;
	void *base;
	uint64_t size;
	unsigned vectors;
	struct ddvm_region rg; /* our validated view; layout never re-read */
	struct ivshmem_server srv;
	char sock_path[3][108];
	/* health watch state (monotonic ms) */
	uint64_t hb_last;
	uint64_t hb_changed_ms;
	int hb_seen;		 /* heartbeat advanced at least once this epoch */
	uint32_t req_cons[DDVM_MAX_RINGS];
	uint64_t req_changed_ms[DDVM_MAX_RINGS];
};

/* Counters for `ddvm status`, read from the region (untrusted, display only). */
struct channel_stats {
	uint32_t epoch;
	uint32_t backend_state, frontend_state;
	uint64_t heartbeat;
	uint64_t requests; /* descriptors the frontend produced (all its rings, mod 2^32) */
	uint64_t responses; /* descriptors the backend produced */
	uint64_t errors;   /* protocol violations both sides reported */
	int driver_up, client_up;
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
/* The driver VM gave up for good: tell the client (backend state BROKEN + doorbell). */
void channel__backend_dead(struct channel *ch);

/*
 * Health checks, each returning 1 and a reason in WHY when the backend failed:
 * its heartbeat stopped advancing for TIMEOUT ms (only once it has advanced in this
 * epoch), or requests it should consume sat untouched for TIMEOUT ms.
 */
int channel__heartbeat_stalled(struct channel *ch, uint64_t now_ms, unsigned timeout_ms,
			       char *why, size_t len);
int channel__requests_stalled(struct channel *ch, uint64_t now_ms, unsigned timeout_ms,
			      char *why, size_t len);

/* Either side declared the channel broken at the current epoch: the driver VM wrote
 * garbage (or its translation module gave up); only a new epoch repairs it. */
int channel__broken(struct channel *ch, char *why, size_t len);
/* Service is back: the backend serves the current epoch and so does a connected client. */
int channel__restored(struct channel *ch);

void channel__stats(const struct channel *ch, struct channel_stats *st);
const char *channel_state_name(uint32_t state);

#endif /* DDVM_CHANNEL_H */
