/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ddvm ring operations (see ring.h). No allocation, no libc, no loops over anything
 * the peer controls except bounded by `entries`.
 */
#include "ring.h"

int ddvm_ring_init(struct ddvm_ring *r, void *base, const struct ddvm_ring_layout *l,
		   int is_producer)
{
	ddvm_u8 *b = base;

	if (l->entries == 0 || l->entries > DDVM_RING_MAX_ENTRIES ||
	    (l->entries & (l->entries - 1)) != 0)
		return -EINVAL;
	ddvm_memset(r, 0, sizeof(*r));
	r->ctl = (struct ddvm_ring_ctl *)(b + l->ring_off);
	r->desc = (struct ddvm_desc *)(b + l->ring_off + DDVM_RING_CTL_SIZE);
	r->data = l->data_size ? b + l->data_off : NULL;
	r->entries = l->entries;
	r->mask = l->entries - 1;
	r->slot_size = l->data_size ? l->slot_size : 0;
	r->data_size = l->data_size;
	r->vector = l->vector;
	r->is_producer = is_producer ? 1 : 0;
	return 0;
}

void ddvm_ring_reset_shared(struct ddvm_ring *r)
{
	ddvm_write32(&r->ctl->prod, 0);
	ddvm_write32(&r->ctl->cons_event, 0);
	ddvm_write32(&r->ctl->cons, 0);
	ddvm_write32(&r->ctl->prod_event, 0);
	ddvm_mb();
}

void ddvm_ring_reset_local(struct ddvm_ring *r)
{
	r->prod = 0;
	r->cons = 0;
	r->published = 0;
	r->broken = 0;
}

void ddvm_ring_reset_own(struct ddvm_ring *r)
{
	if (r->is_producer) {
		ddvm_write32(&r->ctl->prod, 0);
		ddvm_write32(&r->ctl->cons_event, 0);
	} else {
		ddvm_write32(&r->ctl->cons, 0);
		ddvm_write32(&r->ctl->prod_event, 0);
	}
	ddvm_ring_reset_local(r);
}

static void ring_break(struct ddvm_ring *r)
{
	r->broken = 1;
}

/* --- producer ---------------------------------------------------------------------- */

uint32_t ddvm_ring_space(struct ddvm_ring *r)
{
	uint32_t c;

	if (r->broken || !r->is_producer)
		return 0;
	/* Acquire: the consumer copied the payloads out before it advanced cons. */
	c = ddvm_load_acquire(&r->ctl->cons);
	/* The consumer may only move forward, and never past what we published:
	 * cons in [last seen cons, published]. Anything else is a lie. */
	if ((uint32_t)(c - r->cons) > (uint32_t)(r->published - r->cons)) {
		ring_break(r);
		return 0;
	}
	r->cons = c;
	return r->entries - (r->prod - c);
}

int ddvm_ring_push(struct ddvm_ring *r, const void *desc)
{
	if (r->broken || !r->is_producer)
		return -EPROTO;
	if (r->prod - r->cons >= r->entries && ddvm_ring_space(r) == 0)
		return r->broken ? -EPROTO : -ENOSPC;
	ddvm_memcpy(&r->desc[r->prod & r->mask], desc, DDVM_DESC_SIZE);
	r->prod++;
	return 0;
}

int ddvm_ring_publish(struct ddvm_ring *r)
{
	uint32_t old = r->published, ev;

	if (r->broken || !r->is_producer || old == r->prod)
		return 0;
	/* Release: the consumer sees descriptors and payloads /before/ the new prod.
	 * Pairs with the acquire in ddvm_ring_pending(). */
	ddvm_store_release(&r->ctl->prod, r->prod);
	r->published = r->prod;
	/* Full barrier: our store of prod must be visible before we read prod_event,
	 * or we could miss a consumer that went to sleep in between (it stores
	 * prod_event, then loads prod: the mirror image in ddvm_ring_prepare_wait). */
	ddvm_mb();
	ev = ddvm_read32(&r->ctl->prod_event);
	if (ddvm_need_event(ev, r->prod, old))
		return 1;
	r->suppressed++;
	return 0;
}

int ddvm_ring_wait_space(struct ddvm_ring *r)
{
	if (r->broken || !r->is_producer)
		return 0;
	/* Kick me once the consumer frees the slot it is at now. */
	ddvm_write32(&r->ctl->cons_event, r->cons);
	ddvm_mb(); /* store cons_event before re-reading cons; pairs with release() */
	return ddvm_ring_space(r) != 0;
}

/* --- consumer ---------------------------------------------------------------------- */

uint32_t ddvm_ring_pending(struct ddvm_ring *r)
{
	uint32_t p;

	if (r->broken || r->is_producer)
		return 0;
	/* Acquire: pairs with the release in ddvm_ring_publish(). */
	p = ddvm_load_acquire(&r->ctl->prod);
	/* The producer may only move forward, and publish at most `entries` beyond
	 * what we released (slots we popped stay ours until ddvm_ring_release()):
	 * prod in [last seen prod, released + entries]. Anything else is a lie. */
	if ((uint32_t)(p - r->prod) > (uint32_t)(r->published + r->entries - r->prod)) {
		ring_break(r);
		return 0;
	}
	r->prod = p;
	return p - r->cons;
}

int ddvm_ring_pop(struct ddvm_ring *r, void *out)
{
	if (r->broken || r->is_producer)
		return -EPROTO;
	if (r->cons == r->prod && ddvm_ring_pending(r) == 0)
		return r->broken ? -EPROTO : -EAGAIN;
	/* The one and only read of this descriptor: from here on the caller checks
	 * and uses its private copy, which the producer cannot change. */
	ddvm_memcpy(out, &r->desc[r->cons & r->mask], DDVM_DESC_SIZE);
	r->cons++;
	return 0;
}

int ddvm_ring_release_to(struct ddvm_ring *r, uint32_t upto)
{
	uint32_t old = r->published, ev;

	if (r->broken || r->is_producer || upto == old ||
	    (uint32_t)(upto - old) > (uint32_t)(r->cons - old))
		return 0;
	/* Release: we are done reading the slots /before/ the producer may reuse them.
	 * Pairs with the acquire in ddvm_ring_space(). */
	ddvm_store_release(&r->ctl->cons, upto);
	r->published = upto;
	ddvm_mb(); /* store cons before reading cons_event; pairs with wait_space() */
	ev = ddvm_read32(&r->ctl->cons_event);
	return ddvm_need_event(ev, upto, old);
}

int ddvm_ring_release(struct ddvm_ring *r)
{
	return ddvm_ring_release_to(r, r->cons);
}

int ddvm_ring_prepare_wait(struct ddvm_ring *r)
{
	if (r->broken || r->is_producer)
		return 1;
	/* Kick me when the producer publishes index r->cons. */
	ddvm_write32(&r->ctl->prod_event, r->cons);
	/* Full barrier, then the final check: a producer that published before it could
	 * see our prod_event did not kick us, so we must see its prod here. */
	ddvm_mb();
	return ddvm_ring_pending(r) == 0;
}

/* --- payload slots ----------------------------------------------------------------- */

const void *ddvm_ring_slot_check(const struct ddvm_ring *r, uint32_t slot, uint32_t off,
				 uint32_t len)
{
	if (!r->data || off != ddvm_ring_slot_off(r, slot) || len > r->slot_size)
		return NULL;
	return r->data + off;
}

void *ddvm_ring_buf_check(const struct ddvm_ring *r, uint32_t off, uint32_t len)
{
	/* Written as subtraction so off + len cannot overflow. */
	if (!r->data || off > r->data_size || len > r->data_size - off)
		return NULL;
	return r->data + off;
}
