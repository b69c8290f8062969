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
	uint32_t kind;	      /* enum ddvm_kind */
	uint32_t num_queues;  /* queue pairs, 1..DDVM_MAX_RINGS/2 */
	uint32_t fe_entries;  /* frontend-produced ring: descriptors */
	uint32_t fe_slot;     /* ...and payload bytes per slot */
	uint32_t be_entries;  /* backend-produced ring */
	uint32_t be_slot;
	uint64_t channel_id;
	char backend_target[32]; /* copied into hdr.backend_target, NUL-padded */
};

/* Defaults used by the supervisor for each service (see docs/channel.md). */
void ddvm_layout_defaults(struct ddvm_layout_params *p, uint32_t kind);

/* Bytes the layout needs, rounded up to a power of two (ivshmem BAR size); 0 if the
 * parameters are invalid. */
uint64_t ddvm_layout_size(const struct ddvm_layout_params *p);

/* Write a fresh header and zeroed rings into base[0, size). Supervisor only. */
int ddvm_region_init(void *base, uint64_t size, const struct ddvm_layout_params *p);

/* This side's validated, private view of a region. */
struct ddvm_region {
	ddvm_u8 *base;
	uint64_t size; /* what this side mapped */
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

#endif /* DDVM_REGION_H */
