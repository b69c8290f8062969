/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ddvm ring operations: one single-producer/single-consumer ring of a channel, seen
 * from one side. Written once, compiled into the kernel modules, the supervisor, the
 * host library and freestanding clients (see ddvm_sys.h).
 *
 * A struct ddvm_ring lives in PRIVATE memory and holds this side's view: pointers into
 * the shared region computed from a validated private copy of the layout, and private
 * shadows of the indices. The shared control block is read only to learn what the peer
 * published, and every value read from it is checked before use. Once a ring sees a
 * violation it is "broken": every operation fails from then on, and the caller marks
 * its side DDVM_STATE_BROKEN and fails its I/O.
 *
 * Producer:                               Consumer:
 *   while (ddvm_ring_space(r)) {            n = ddvm_ring_pending(r);
 *     fill ddvm_ring_slot(r, r->prod)       while (n-- && ddvm_ring_pop(r, &d) == 0) {
 *     ddvm_ring_push(r, &desc);               validate d (ddvm_ring_slot_check), copy
 *   }                                         the payload out, use it
 *   if (ddvm_ring_publish(r)) kick peer;    }
 *                                           if (ddvm_ring_release(r)) kick peer;
 * Before sleeping:                          Before sleeping:
 *   if (!ddvm_ring_wait_space(r)) sleep     if (ddvm_ring_prepare_wait(r)) sleep
 *                                           (else more arrived: go on consuming)
 */
#ifndef DDVM_RING_H
#define DDVM_RING_H

#include "ddvm_sys.h"
#include "ddvm/abi.h"

struct ddvm_ring {
	struct ddvm_ring_ctl *ctl; /* shared */
	struct ddvm_desc *desc;	   /* shared, entries of them */
	ddvm_u8 *data;		   /* shared payload slots, NULL when none */
	uint32_t entries;
	uint32_t mask;
	uint32_t slot_size;
	uint32_t data_size;
	/* Private shadows. A producer owns prod and remembers the last cons it saw;
	 * a consumer owns cons and remembers the last prod it saw. */
	uint32_t prod;
	uint32_t cons;
	uint32_t published; /* the last prod (producer) or cons (consumer) made public */
	uint16_t vector;
	uint8_t is_producer;
	uint8_t broken;
	/* A counter for humans (never reset, never read by the ring code): producer
	 * publishes that made descriptors visible to a consumer that was awake, so event
	 * suppression saved a doorbell. Written by ddvm_ring_publish() only. */
	uint64_t suppressed;
};

/* Set up a ring from a validated layout (normally via ddvm_region_ring()). The
 * caller guarantees that base[ring_off, ring_off + DDVM_RING_BYTES(entries)) and
 * base[data_off, data_off + data_size) are inside its mapping; ddvm_region_attach()
 * checked that. Private indices start at zero: a side attaches to a ring whose shared
 * control block is zero (fresh, or reset by the supervisor after a restart). */
int ddvm_ring_init(struct ddvm_ring *r, void *base, const struct ddvm_ring_layout *l,
		   int is_producer);

/* Zero the shared control block (the supervisor, when no side uses the ring). */
void ddvm_ring_reset_shared(struct ddvm_ring *r);

/* Forget private state and start again from index 0 (after the peer was reset). */
void ddvm_ring_reset_local(struct ddvm_ring *r);

/* Re-attach after a reset while the peer may be running: zero the shared fields THIS
 * side writes (producer: prod and cons_event; consumer: cons and prod_event), which a
 * side that had not yet noticed the reset may have written after the supervisor zeroed
 * them, then ddvm_ring_reset_local(). Announce it (a state change with release order)
 * before the peer reads these fields again; never touch the peer's fields. */
void ddvm_ring_reset_own(struct ddvm_ring *r);

/* --- producer ---------------------------------------------------------------------- */

/* Free descriptors (0 when full or broken). Reads the consumer's index. */
uint32_t ddvm_ring_space(struct ddvm_ring *r);

/* Put one descriptor at r->prod (private until published). -ENOSPC when full,
 * -EPROTO when broken. */
int ddvm_ring_push(struct ddvm_ring *r, const void *desc);

/* Make pushed descriptors visible. True when the consumer asked to be woken; false
 * after a publish that needed no doorbell counts in r->suppressed. */
int ddvm_ring_publish(struct ddvm_ring *r);

/* The producer is about to wait for space: ask for a kick. Returns nonzero if space
 * appeared meanwhile (do not sleep). */
int ddvm_ring_wait_space(struct ddvm_ring *r);

/* --- consumer ---------------------------------------------------------------------- */

/* Descriptors published and not yet popped (0 when empty or broken). */
uint32_t ddvm_ring_pending(struct ddvm_ring *r);

/* Copy the next descriptor out of shared memory into *out (exactly once; use only the
 * copy). -EAGAIN when empty, -EPROTO when broken. The slot stays the consumer's until
 * ddvm_ring_release(). */
int ddvm_ring_pop(struct ddvm_ring *r, void *out);

/* Give popped slots back to the producer. True when the producer asked to be woken. */
int ddvm_ring_release(struct ddvm_ring *r);

/* Give back popped slots only up to ring index `upto`, which must lie in [last
 * released, cons]; the slots from `upto` on stay the consumer's (zero-copy transmit
 * keeps a slot until the NIC has read it). Slots go back in ring order. An `upto`
 * outside that range releases nothing. True when the producer asked to be woken. */
int ddvm_ring_release_to(struct ddvm_ring *r, uint32_t upto);

/* The consumer is about to sleep: ask for a kick. Returns nonzero when it may sleep,
 * zero when descriptors arrived meanwhile. */
int ddvm_ring_prepare_wait(struct ddvm_ring *r);

/* --- payload slots ----------------------------------------------------------------- */

/* The payload slot of ring index idx (producer: fill it before pushing). */
static inline void *ddvm_ring_slot(const struct ddvm_ring *r, uint32_t idx)
{
	return r->data + (uint64_t)(idx & r->mask) * r->slot_size;
}

static inline uint32_t ddvm_ring_slot_off(const struct ddvm_ring *r, uint32_t idx)
{
	return (idx & r->mask) * r->slot_size;
}

/* Check a peer-supplied (off, len) against slot `slot`: off must be that slot's start
 * and len must fit the slot. Returns the payload or NULL (and marks nothing broken:
 * the caller decides whether a bad buffer fails the request or the channel). */
const void *ddvm_ring_slot_check(const struct ddvm_ring *r, uint32_t slot, uint32_t off,
				 uint32_t len);

/* Check a peer-supplied (off, len) against the whole payload area, overflow-safe. */
void *ddvm_ring_buf_check(const struct ddvm_ring *r, uint32_t off, uint32_t len);

static inline int ddvm_ring_broken(const struct ddvm_ring *r)
{
	return r->broken;
}

/* virtio's vring_need_event(): did the batch (old, new] cross event? */
static inline int ddvm_need_event(uint32_t event, uint32_t new_idx, uint32_t old)
{
	return (uint32_t)(new_idx - event - 1) < (uint32_t)(new_idx - old);
}

#endif /* DDVM_RING_H */
