/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A channel's region as one side sees it: lay it out (supervisor), attach to it and
 * validate the layout (every side), and reach its rings and status fields.
 */
#ifndef DDVM_REGION_H
#define DDVM_REGION_H

#include "ring.h"

/* What the supervisor asks for when it lays out a region. Each queue pair has one
 * ring the frontend produces into (net tx / blk req) and one the backend produces into
 * (net rx / blk rsp). A slot size of 0 means the ring carries no payload. */
struct ddvm_layout_params {
	uint32_t kind;	     /* enum ddvm_kind */
	uint32_t num_queues; /* queue pairs, 1..DDVM_MAX_RINGS/2 */
	uint32_t fe_entries; /* frontend-produced ring: descriptors */
	uint32_t fe_slot;    /* ...and payload bytes per slot */
	uint32_t be_entries; /* backend-produced ring */
	uint32_t be_slot;
	uint64_t channel_id;
	char backend_target[32]; /* copied into hdr.backend_target, NUL-padded */
};

/* Defaults used by the supervisor for each service (see docs/channel.md). */
void ddvm_layout_defaults(struct ddvm_layout_params *p, uint32_t kind);

/* Bytes the layout needs, rounded up to a power of two (ivshmem BAR size); 0 if the
 * parameters are invalid. */
uint64_t ddvm_layout_size(const struct ddvm_layout_params *p);

/* A fingerprint of the layout P gives (its size and every ring's offsets, sizes,
 * producer and vector; FNV-1a), 0 if P is invalid. The supervisor lists it with each
 * channel, and a translation module that computes the layout itself
 * (ddvm_region_attach_params) refuses a channel whose fingerprint differs from its
 * own computation: a driver image of another build, with other defaults. */
uint32_t ddvm_layout_id(const struct ddvm_layout_params *p);

/* Write a fresh header and zeroed rings into base[0, size). Supervisor only. */
int ddvm_region_init(void *base, uint64_t size, const struct ddvm_layout_params *p);

/* This side's validated, private view of a region. */
struct ddvm_region {
	ddvm_u8 *base;
	uint64_t size;		     /* what this side mapped */
	struct ddvm_region_hdr *hdr; /* shared: status fields only, never layout */
	uint32_t kind;
	uint32_t num_rings;
	uint32_t num_queues;
	uint16_t abi_minor;
	struct ddvm_ring_layout rings[DDVM_MAX_RINGS]; /* private copy */
};

/* Copy the header's identity and layout out of shared memory once and validate the
 * copy against what we mapped: magic, major version, sizes, alignment, every ring
 * and payload area inside the mapping and clear of the header and of each other.
 * Returns 0, -EPROTONOSUPPORT (wrong magic or major version) or -EINVAL. */
int ddvm_region_attach(struct ddvm_region *rg, void *base, uint64_t mapped_size);

/* The layout a region was created with, computed from P (what the supervisor told this
 * side out of band, e.g. a translation module's channel list: the channel's kind and
 * queue pairs with ddvm_layout_defaults()) instead of copied from the header, which
 * the peer may be rewriting when we look. The header is not read at all: a peer that
 * scribbles over it can break only its own view. Returns 0, or -EINVAL when P is
 * invalid or its layout does not fit the mapping. */
int ddvm_region_attach_params(struct ddvm_region *rg, void *base, uint64_t mapped_size,
			      const struct ddvm_layout_params *p);

/* Set up ring i of an attached region for side `me`. */
int ddvm_region_ring(const struct ddvm_region *rg, unsigned int i, enum ddvm_side me,
		     struct ddvm_ring *r);

/* Zero every ring's shared control block (supervisor, while no VM uses them). */
void ddvm_region_reset_rings(const struct ddvm_region *rg);

/* Status accessors: single untorn reads/writes of shared fields. */
static inline uint32_t ddvm_region_epoch(const struct ddvm_region *rg)
{
	return ddvm_read32(&rg->hdr->epoch);
}

static inline void ddvm_region_set_backend(const struct ddvm_region *rg, uint32_t state,
					   uint32_t epoch)
{
	ddvm_write32(&rg->hdr->backend_epoch, epoch);
	/* state last: a reader that sees READY sees the epoch it belongs to */
	ddvm_store_release(&rg->hdr->backend_state, state);
}

static inline void ddvm_region_set_frontend(const struct ddvm_region *rg, uint32_t state,
					    uint32_t epoch)
{
	ddvm_write32(&rg->hdr->frontend_epoch, epoch);
	ddvm_store_release(&rg->hdr->frontend_state, state);
}

static inline void ddvm_region_heartbeat(const struct ddvm_region *rg)
{
	ddvm_write64(&rg->hdr->heartbeat, ddvm_read64(&rg->hdr->heartbeat) + 1);
}

/*
 * Backend: publish its counters in hdr.stats (ABI 1.2; abi.h says who may read them and
 * how: display only). CHAN, and SVC_SIZE bytes of SVC (the service's own counters,
 * clamped to the block), are copied word by word with single untorn 64-bit stores;
 * EPOCH is the epoch the backend serves. Does nothing in a region laid out by an older
 * supervisor (abi_minor < 2), where the block is reserved space.
 */
void ddvm_region_stats_publish(const struct ddvm_region *rg, uint32_t epoch,
			       const struct ddvm_chan_stats *chan, const void *svc,
			       uint32_t svc_size);

/*
 * Sessions: the rules of abi.h's "Sessions", once, for every side.
 */

/* Frontend: start a session at EPOCH (its own ring fields already reset, so that the
 * backend, which may look as soon as we are ATTACHING, finds them at zero). Returns
 * the session number; the caller rings the backend's control vector. */
static inline uint32_t ddvm_region_session_begin(const struct ddvm_region *rg, uint32_t epoch)
{
	uint32_t s = ddvm_read32(&rg->hdr->frontend_session) + 1;
	uint32_t served = ddvm_read32(&rg->hdr->backend_session); /* once: a peer writes it */

	/* never 0 ("no session"), never what the backend already claims to serve: at
	 * most two steps */
	while (s == 0 || s == served)
		s++;
	ddvm_write32(&rg->hdr->frontend_session, s);
	ddvm_region_set_frontend(rg, DDVM_STATE_ATTACHING, epoch);
	return s;
}

/* Frontend: does the backend serve SESSION at EPOCH (READY, after its reset)? The
 * acquire pairs with the backend's release of READY in ddvm_region_session_ack(). */
static inline bool ddvm_region_session_served(const struct ddvm_region *rg, uint32_t epoch,
					      uint32_t session)
{
	const struct ddvm_region_hdr *h = rg->hdr;

	return ddvm_load_acquire(&h->backend_state) == DDVM_STATE_READY &&
	       ddvm_read32(&h->backend_epoch) == epoch &&
	       ddvm_read32(&h->backend_session) == session && session != 0;
}

/* Backend: the session the frontend asks for at EPOCH that differs from SERVING (the
 * backend's private copy of the session it serves), or 0 when it asks for nothing. */
static inline uint32_t ddvm_region_session_request(const struct ddvm_region *rg, uint32_t epoch,
						   uint32_t serving)
{
	const struct ddvm_region_hdr *h = rg->hdr;
	uint32_t s;

	if (ddvm_load_acquire(&h->frontend_state) != DDVM_STATE_ATTACHING ||
	    ddvm_read32(&h->frontend_epoch) != epoch)
		return 0;
	s = ddvm_read32(&h->frontend_session);
	return s != serving ? s : 0;
}

/* Backend: is the frontend in SESSION at EPOCH (attaching or ready)? Only then are its
 * ring fields its fresh ones. */
static inline bool ddvm_region_session_current(const struct ddvm_region *rg, uint32_t epoch,
					       uint32_t session)
{
	const struct ddvm_region_hdr *h = rg->hdr;
	uint32_t st = ddvm_load_acquire(&h->frontend_state);

	return (st == DDVM_STATE_ATTACHING || st == DDVM_STATE_READY) &&
	       ddvm_read32(&h->frontend_epoch) == epoch &&
	       ddvm_read32(&h->frontend_session) == session && session != 0;
}

/* Backend: its side is reset for SESSION: publish it with STATE (READY, or ATTACHING
 * while its device is not there yet) at EPOCH; the caller rings the client. */
static inline void ddvm_region_session_ack(const struct ddvm_region *rg, uint32_t state,
					   uint32_t epoch, uint32_t session)
{
	ddvm_write32(&rg->hdr->backend_session, session);
	ddvm_region_set_backend(rg, state, epoch);
}

#endif /* DDVM_REGION_H */
