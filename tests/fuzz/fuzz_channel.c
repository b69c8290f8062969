/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer harness: the fuzzer is a hostile peer that owns the shared region.
 *
 * The input describes
 *   1. the region's header: either raw bytes, or a valid layout (from a few parameter
 *      bytes) with a few bytes patched afterwards, and the size we "mapped";
 *   2. a script of actions interleaving OUR side's operations (attach, consumer and
 *      producer loops with net- and blk-style descriptor validation, sleep
 *      announcements) with the PEER's: well-behaved ring operations, scribbles over
 *      ring indices, event indices, descriptors, payloads and the header itself.
 *
 * Our side must never crash, read or write outside the mapping (ASan: the mapping is
 * a heap block of exactly that size), hit undefined behaviour (UBSan), loop without
 * bound, or break the ring invariants checked below. Violations abort().
 *
 * Input format (every read past the end yields zeros):
 *   u8 flags   bit0 valid layout, bit1 we are the backend, bit2 blk (else net),
 *              bits3-4 mapped size (8, 16, 64 or 256 KiB, at least the layout size)
 *   valid layout: u8 queues, u8 fe_log2, u16 fe_slot, u8 be_log2, u16 be_slot,
 *                 u8 npatch, npatch x (u16 off, u8 width, u32 value)
 *   raw header:   u16 n, n bytes copied to the header
 *   then actions: u8 op, u8 ring, operands (see run_action; op % 12 selects it,
 *                 bit 7 of op makes our consumer hold what it popped)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddvm/abi.h"
#include "ddvm/blk.h"
#include "ddvm/net.h"
#include "region.h"
#include "ring.h"

#define MAX_ACTIONS 512

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "fuzz_channel: %s:%d: invariant broken: %s\n", __FILE__,   \
				__LINE__, #c);                                                     \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

struct input {
	const uint8_t *p;
	size_t n;
};

static uint8_t in_u8(struct input *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static uint16_t in_u16(struct input *in)
{
	return (uint16_t)(in_u8(in) | in_u8(in) << 8);
}

static uint32_t in_u32(struct input *in)
{
	return (uint32_t)in_u16(in) | (uint32_t)in_u16(in) << 16;
}

static void in_bytes(struct input *in, void *dst, size_t n)
{
	size_t k = n < in->n ? n : in->n;

	memcpy(dst, in->p, k);
	memset((uint8_t *)dst + k, 0, n - k);
	in->p += k;
	in->n -= k;
}

struct world {
	uint8_t *base;
	uint64_t mapped;
	enum ddvm_side me;
	struct ddvm_region rg;
	struct ddvm_region_hdr hdr_copy; /* what the header said when we attached */
	struct ddvm_ring ours[DDVM_MAX_RINGS];
	struct ddvm_ring peer[DDVM_MAX_RINGS]; /* the peer's well-behaved view */
	uint8_t copy[DDVM_SLOT_MAX];	       /* where our consumer copies payloads */
};

/* A pointer our code obtained for [p, p + len) must lie in the mapping, past the
 * header, and inside the ring's payload area. */
static void check_span(const struct world *w, const struct ddvm_ring *r, const void *ptr,
		       uint32_t len)
{
	const uint8_t *p = ptr;

	CHECK(r->data != NULL);
	CHECK(p >= r->data && (uint64_t)(p - r->data) + len <= r->data_size);
	CHECK(p >= w->base + DDVM_HDR_SIZE && (uint64_t)(p - w->base) + len <= w->mapped);
}

static void check_ring(const struct world *w, const struct ddvm_ring *r)
{
	const uint8_t *c = (const uint8_t *)r->ctl;

	/* where attach let the ring live */
	CHECK(c >= w->base + DDVM_HDR_SIZE);
	CHECK((uint64_t)(c - w->base) + DDVM_RING_BYTES(r->entries) <= w->mapped);
	/* private indices never claim more than the ring holds:
	 *   producer: cons (seen) <= published <= prod <= cons + entries
	 *   consumer: published (released) <= cons <= prod <= published + entries */
	if (r->is_producer) {
		CHECK(r->published - r->cons <= r->prod - r->cons);
		CHECK(r->prod - r->cons <= r->entries);
	} else {
		CHECK(r->cons - r->published <= r->prod - r->published);
		CHECK(r->prod - r->published <= r->entries);
	}
}

static void check_all_fail(struct ddvm_ring *r)
{
	struct ddvm_desc d;

	memset(&d, 0, sizeof(d));
	CHECK(r->broken);
	CHECK(ddvm_ring_space(r) == 0);
	CHECK(ddvm_ring_pending(r) == 0);
	CHECK(ddvm_ring_push(r, &d) == -EPROTO);
	CHECK(ddvm_ring_pop(r, &d) == -EPROTO);
	CHECK(ddvm_ring_publish(r) == 0);
	CHECK(ddvm_ring_release(r) == 0);
}

/* --- our side: what a translation module / client driver does ------------------------ */

/* Validate one popped descriptor as the service would; returns 1 if usable. */
static int validate(struct world *w, unsigned int ring, uint32_t idx, const struct ddvm_desc *d)
{
	struct ddvm_ring *r = &w->ours[ring];
	const void *p = NULL;
	uint32_t len = 0;

	if (w->rg.kind == DDVM_KIND_NET) {
		struct ddvm_net_desc nd;

		memcpy(&nd, d, sizeof(nd));
		if (nd.len < DDVM_NET_MIN_FRAME || nd.len > DDVM_NET_MAX_FRAME)
			return 0;
		p = ddvm_ring_slot_check(r, idx, nd.off, nd.len);
		len = nd.len;
		if (p && nd.flags & DDVM_NET_DESC_NEEDS_CSUM &&
		    (uint32_t)nd.csum_start + nd.csum_offset + 2 > nd.len)
			return 0;
	} else if (ring % 2 == 0) { /* blk request ring: we are the backend */
		struct ddvm_blk_req rq;
		uint32_t tag;

		memcpy(&rq, d, sizeof(rq));
		tag = DDVM_BLK_TAG(rq.id);
		if (tag >= r->entries || rq.op > DDVM_BLK_OP_WRITE_ZEROES ||
		    rq.len % (1u << DDVM_BLK_SECTOR_SHIFT))
			return 0;
		if (rq.op == DDVM_BLK_OP_FLUSH)
			return rq.len == 0;
		if (rq.op == DDVM_BLK_OP_READ || rq.op == DDVM_BLK_OP_WRITE) {
			p = ddvm_ring_slot_check(r, tag, rq.off, rq.len);
			len = rq.len;
		} else {
			return 1; /* discard / write zeroes carry no buffer */
		}
	} else { /* blk response ring: we are the frontend */
		struct ddvm_blk_rsp rs;

		memcpy(&rs, d, sizeof(rs));
		if (DDVM_BLK_TAG(rs.id) >= w->ours[ring - 1].entries ||
		    rs.status > DDVM_BLK_S_NOSPC)
			return 0;
		if (rs.len > w->ours[ring - 1].slot_size)
			return 0;
		/* read data comes back in the request's slot */
		p = ddvm_ring_buf_check(&w->ours[ring - 1],
					DDVM_BLK_TAG(rs.id) * w->ours[ring - 1].slot_size, rs.len);
		if (p)
			check_span(w, &w->ours[ring - 1], p, rs.len);
		if (p && rs.len)
			memcpy(w->copy, p, rs.len);
		return p != NULL;
	}
	if (!p)
		return 0;
	check_span(w, r, p, len);
	memcpy(w->copy, p, len); /* copy out once; ASan checks every byte */
	return 1;
}

/* Pop up to max descriptors, validate and copy each; release them unless `hold`
 * (a consumer may keep popped slots across a peer's moves, e.g. while a request is
 * in flight). */
static void our_consume(struct world *w, unsigned int ring, unsigned int max, int hold)
{
	struct ddvm_ring *r = &w->ours[ring];
	uint32_t n = ddvm_ring_pending(r), got = 0;
	struct ddvm_desc d;

	CHECK(n <= r->entries);
	while (got < max) {
		uint32_t idx = r->cons;
		int rc = ddvm_ring_pop(r, &d);

		if (rc == -EAGAIN)
			break;
		if (rc) {
			CHECK(rc == -EPROTO && r->broken);
			break;
		}
		got++;
		CHECK(got <= r->entries); /* never more than one ring's worth per look */
		validate(w, ring, idx, &d);
	}
	if (!hold)
		ddvm_ring_release(r);
	if (r->broken)
		check_all_fail(r);
	check_ring(w, r);
}

static void our_produce(struct world *w, unsigned int ring, unsigned int max, uint8_t fill)
{
	struct ddvm_ring *r = &w->ours[ring];
	uint32_t space = ddvm_ring_space(r), pushed = 0;

	CHECK(space <= r->entries);
	while (pushed < max && pushed < space) {
		struct ddvm_net_desc nd;
		int rc;

		memset(&nd, 0, sizeof(nd));
		if (r->data) {
			uint8_t *slot = ddvm_ring_slot(r, r->prod);

			check_span(w, r, slot, r->slot_size);
			memset(slot, fill, r->slot_size);
			nd.off = ddvm_ring_slot_off(r, r->prod);
			nd.len = r->slot_size;
		}
		rc = ddvm_ring_push(r, &nd);
		CHECK(rc == 0);
		pushed++;
	}
	if (pushed == space && pushed < max) {
		int rc = ddvm_ring_push(r, &(struct ddvm_desc){ { 0 } });

		CHECK(rc == -ENOSPC || rc == -EPROTO || rc == 0);
	}
	ddvm_ring_publish(r);
	if (r->broken)
		check_all_fail(r);
	check_ring(w, r);
}

/* --- the peer ------------------------------------------------------------------------------ */

static struct ddvm_ring_ctl *ctl_of(struct world *w, unsigned int ring)
{
	return w->ours[ring].ctl;
}

static void peer_scribble_index(struct world *w, unsigned int ring, uint8_t field, uint32_t v)
{
	struct ddvm_ring_ctl *c = ctl_of(w, ring);
	uint32_t *f[4] = { &c->prod, &c->cons, &c->prod_event, &c->cons_event };
	uint32_t *t = f[field & 3];

	if (field & 4) /* relative: near where the index is now */
		v = *t + (uint32_t)(int32_t)(int8_t)v;
	__atomic_store_n(t, v, __ATOMIC_RELEASE);
}

static void run_action(struct world *w, struct input *in)
{
	uint8_t op = in_u8(in);
	unsigned int ring = in_u8(in) % w->rg.num_rings;
	struct ddvm_ring *ours = &w->ours[ring], *peer = &w->peer[ring];

	switch (op % 12) {
	case 0: /* our consumer or producer loop, whichever we are on this ring */
	case 1:
		if (ours->is_producer)
			our_produce(w, ring, in_u8(in) % (ours->entries + 2) + 1, in_u8(in));
		else
			our_consume(w, ring, in_u8(in) % (ours->entries + 2) + 1, op & 0x80);
		break;
	case 2: /* about to sleep */
		if (ours->is_producer)
			ddvm_ring_wait_space(ours);
		else
			ddvm_ring_prepare_wait(ours);
		check_ring(w, ours);
		break;
	case 3: /* scribble an index */
	case 4: {
		uint8_t field = in_u8(in);

		peer_scribble_index(w, ring, field, in_u32(in));
		break;
	}
	case 5: { /* scribble a descriptor */
		uint32_t i = in_u16(in) & ours->mask;

		in_bytes(in, &ours->desc[i], DDVM_DESC_SIZE);
		break;
	}
	case 6: { /* a well-formed descriptor from a well-behaved peer producer */
		struct ddvm_net_desc nd;

		if (peer->is_producer && !peer->broken && ddvm_ring_space(peer)) {
			memset(&nd, 0, sizeof(nd));
			in_bytes(in, &nd, sizeof(nd));
			if (in_u8(in) & 1) { /* make the buffer right, keep the rest */
				nd.off = ddvm_ring_slot_off(peer, peer->prod);
				nd.len = peer->slot_size ? nd.len % (peer->slot_size + 1) : 0;
				if (w->rg.kind == DDVM_KIND_BLK && ring % 2 == 0) {
					struct ddvm_blk_req rq;

					memcpy(&rq, &nd, sizeof(rq));
					rq.id = (rq.id & ~0xffffull) | (peer->prod & peer->mask);
					rq.off = ddvm_ring_slot_off(peer, peer->prod);
					rq.len &= ~511u;
					if (rq.len > peer->slot_size)
						rq.len = 0;
					memcpy(&nd, &rq, sizeof(rq));
				}
			}
			ddvm_ring_push(peer, &nd);
		}
		ddvm_ring_publish(peer);
		break;
	}
	case 7: { /* a well-behaved peer consumer */
		struct ddvm_desc d;
		unsigned int n = in_u8(in);

		while (!peer->is_producer && n-- && ddvm_ring_pop(peer, &d) == 0)
			;
		ddvm_ring_release(peer);
		break;
	}
	case 8: /* the peer sleeps */
		if (peer->is_producer)
			ddvm_ring_wait_space(peer);
		else
			ddvm_ring_prepare_wait(peer);
		break;
	case 9: { /* scribble payload bytes anywhere in the rings' areas */
		uint32_t off = in_u32(in) % (uint32_t)(w->mapped - DDVM_HDR_SIZE);
		uint8_t len = in_u8(in);

		if (off + len > w->mapped - DDVM_HDR_SIZE)
			len = (uint8_t)(w->mapped - DDVM_HDR_SIZE - off);
		in_bytes(in, w->base + DDVM_HDR_SIZE + off, len);
		break;
	}
	case 10: { /* scribble the header: our private copy of the layout must hold */
		uint16_t off = in_u16(in) % (DDVM_HDR_SIZE - 8);

		in_bytes(in, w->base + off, 8);
		break;
	}
	case 11: /* the supervisor resets the ring; both sides start over */
		ddvm_ring_reset_shared(ours);
		ddvm_ring_reset_local(ours);
		ddvm_ring_reset_local(peer);
		break;
	}
	/* whatever the peer did, our private copy of the layout did not move */
	CHECK(memcmp(w->rg.rings, w->hdr_copy.rings, sizeof(w->rg.rings)) == 0);
	check_ring(w, ours);
}

static int setup_header(struct world *w, struct input *in, uint8_t flags)
{
	static const uint64_t sizes[4] = { 8192, 16384, 65536, 262144 };
	uint64_t mapped = sizes[(flags >> 3) & 3];

	if (flags & 1) {
		struct ddvm_layout_params lp;
		uint64_t need;
		unsigned int i, npatch;

		ddvm_layout_defaults(&lp, flags & 4 ? DDVM_KIND_BLK : DDVM_KIND_NET);
		lp.num_queues = 1 + in_u8(in) % 2;
		lp.fe_entries = 1u << (in_u8(in) % 7);
		lp.fe_slot = in_u16(in) % 2049;
		lp.be_entries = 1u << (in_u8(in) % 7);
		lp.be_slot = in_u16(in) % 2049;
		need = ddvm_layout_size(&lp);
		if (!need)
			return -1;
		if (mapped < need)
			mapped = need;
		w->base = malloc(mapped);
		if (!w->base)
			return -1;
		w->mapped = mapped;
		CHECK(ddvm_region_init(w->base, mapped, &lp) == 0);
		npatch = in_u8(in) % 8;
		for (i = 0; i < npatch; i++) {
			uint16_t off = in_u16(in) % DDVM_HDR_SIZE;
			uint8_t width = (uint8_t)(1u << (in_u8(in) % 3));
			uint32_t v = in_u32(in);

			if (off + width > DDVM_HDR_SIZE)
				off = (uint16_t)(DDVM_HDR_SIZE - width);
			memcpy(w->base + off, &v, width);
		}
	} else {
		uint16_t n = in_u16(in) % (DDVM_HDR_SIZE + 1);

		w->base = calloc(1, mapped);
		if (!w->base)
			return -1;
		w->mapped = mapped;
		in_bytes(in, w->base, n);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct world w; /* large: keep it off the stack */
	struct input in = { data, size };
	uint8_t flags = in_u8(&in);
	unsigned int i, actions = 0;
	int rc;

	memset(&w, 0, offsetof(struct world, copy));
	if (setup_header(&w, &in, flags))
		goto out;
	w.me = flags & 2 ? DDVM_SIDE_BACKEND : DDVM_SIDE_FRONTEND;

	rc = ddvm_region_attach(&w.rg, w.base, w.mapped);
	CHECK(rc == 0 || rc == -EINVAL || rc == -EPROTONOSUPPORT);
	if (rc) {
		CHECK(w.rg.base == NULL);
		goto out;
	}
	/* what attach accepted is sane */
	CHECK(w.rg.num_rings >= 2 && w.rg.num_rings <= DDVM_MAX_RINGS);
	CHECK(w.rg.num_rings == 2 * w.rg.num_queues);
	CHECK(w.rg.kind == DDVM_KIND_NET || w.rg.kind == DDVM_KIND_BLK);
	memcpy(&w.hdr_copy.rings, w.rg.rings, sizeof(w.rg.rings));
	for (i = 0; i < w.rg.num_rings; i++) {
		enum ddvm_side peer =
		    w.me == DDVM_SIDE_BACKEND ? DDVM_SIDE_FRONTEND : DDVM_SIDE_BACKEND;

		CHECK(ddvm_region_ring(&w.rg, i, w.me, &w.ours[i]) == 0);
		CHECK(ddvm_region_ring(&w.rg, i, peer, &w.peer[i]) == 0);
		CHECK(w.ours[i].is_producer != w.peer[i].is_producer);
		check_ring(&w, &w.ours[i]);
		if (w.ours[i].data)
			check_span(&w, &w.ours[i], w.ours[i].data, w.ours[i].data_size);
	}
	CHECK(ddvm_region_ring(&w.rg, w.rg.num_rings, w.me, &w.ours[0]) == -EINVAL ||
	      w.rg.num_rings == DDVM_MAX_RINGS);
	/* the ring setup above must not have been clobbered by the failed call */
	CHECK(ddvm_region_ring(&w.rg, 0, w.me, &w.ours[0]) == 0);

	while (in.n && actions++ < MAX_ACTIONS)
		run_action(&w, &in);
out:
	free(w.base);
	w.base = NULL;
	return 0;
}
