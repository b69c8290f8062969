/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of ring/ring.c: every operation and every validation path, seen from a
 * producer and a consumer that share one region (two private struct ddvm_ring views
 * of the same shared control block, as two VMs would have). A "hostile peer" is the
 * test writing the other side's shared index directly.
 *
 * Built with ASan+UBSan against libddvmring-san.a.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ddvm/abi.h"
#include "ddvm/net.h"
#include "region.h"
#include "ring.h"

#define ENTRIES 16u
#define SLOT	256u

struct pair {
	void *base;
	uint64_t size;
	struct ddvm_region rg;
	struct ddvm_ring p;  /* frontend: produces into ring 0 */
	struct ddvm_ring c;  /* backend: consumes ring 0 */
	struct ddvm_ring rp; /* backend: produces into ring 1 (no payload) */
	struct ddvm_ring rc; /* frontend: consumes ring 1 */
};

static int setup(void **state)
{
	struct ddvm_layout_params lp;
	struct pair *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	ddvm_layout_defaults(&lp, DDVM_KIND_NET);
	lp.fe_entries = ENTRIES;
	lp.fe_slot = SLOT;
	lp.be_entries = ENTRIES;
	lp.be_slot = 0;
	t->size = ddvm_layout_size(&lp);
	assert_true(t->size >= DDVM_HDR_SIZE);
	t->base = aligned_alloc(4096, t->size);
	assert_non_null(t->base);
	memset(t->base, 0xa5, t->size); /* init must not rely on zeroed memory */
	assert_int_equal(ddvm_region_init(t->base, t->size, &lp), 0);
	assert_int_equal(ddvm_region_attach(&t->rg, t->base, t->size), 0);
	assert_int_equal(ddvm_region_ring(&t->rg, 0, DDVM_SIDE_FRONTEND, &t->p), 0);
	assert_int_equal(ddvm_region_ring(&t->rg, 0, DDVM_SIDE_BACKEND, &t->c), 0);
	assert_int_equal(ddvm_region_ring(&t->rg, 1, DDVM_SIDE_BACKEND, &t->rp), 0);
	assert_int_equal(ddvm_region_ring(&t->rg, 1, DDVM_SIDE_FRONTEND, &t->rc), 0);
	assert_true(t->p.is_producer);
	assert_false(t->c.is_producer);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct pair *t = *state;

	free(t->base);
	free(t);
	return 0;
}

/* A descriptor carrying a sequence number in its first 8 bytes and a fill pattern. */
static void desc_make(struct ddvm_desc *d, uint64_t seq)
{
	unsigned int i;

	for (i = 0; i < DDVM_DESC_SIZE; i++)
		d->bytes[i] = (uint8_t)(seq * 31 + i);
	memcpy(d->bytes, &seq, sizeof(seq));
}

static void desc_expect(const struct ddvm_desc *d, uint64_t seq)
{
	struct ddvm_desc want;

	desc_make(&want, seq);
	assert_memory_equal(d, &want, sizeof(want));
}

/* Move both views of ring 0 (and the shared block) to index x, as if 'x' descriptors
 * had already gone through and the consumer had asked for no kicks. */
static void pair_set_index(struct pair *t, uint32_t x)
{
	t->p.prod = t->p.cons = t->p.published = x;
	t->c.prod = t->c.cons = t->c.published = x;
	t->p.ctl->prod = x;
	t->p.ctl->cons = x;
	t->p.ctl->prod_event = x - 1; /* nobody asleep */
	t->p.ctl->cons_event = x - 1;
}

/* --- basic operations ---------------------------------------------------------------- */

static void test_init_rejects_bad_entries(void **state)
{
	static const uint32_t bad[] = { 0,	     3,		 6, 100, DDVM_RING_MAX_ENTRIES * 2,
					0x80000000u, 0xffffffffu };
	struct pair *t = *state;
	struct ddvm_ring_layout l = t->rg.rings[0];
	struct ddvm_ring r;
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		l.entries = bad[i];
		assert_int_equal(ddvm_ring_init(&r, t->base, &l, 1), -EINVAL);
	}
	l.entries = 1;
	assert_int_equal(ddvm_ring_init(&r, t->base, &l, 1), 0);
	assert_int_equal(r.mask, 0);
	l.entries = DDVM_RING_MAX_ENTRIES;
	assert_int_equal(ddvm_ring_init(&r, t->base, &l, 0), 0);
	assert_int_equal(r.mask, DDVM_RING_MAX_ENTRIES - 1);
	assert_false(r.is_producer);

	/* a ring without payload area has no data pointer and no slot size */
	assert_null(t->rp.data);
	assert_int_equal(t->rp.slot_size, 0);
	assert_non_null(t->p.data);
	assert_int_equal(t->p.slot_size, SLOT);
	assert_int_equal(t->p.vector, DDVM_VECTOR_QUEUE(0));
}

static void test_push_pop_roundtrip(void **state)
{
	struct pair *t = *state;
	struct ddvm_desc d;
	uint64_t i;

	assert_int_equal(ddvm_ring_space(&t->p), ENTRIES);
	assert_int_equal(ddvm_ring_pending(&t->c), 0);
	for (i = 0; i < 5; i++) {
		desc_make(&d, i);
		assert_int_equal(ddvm_ring_push(&t->p, &d), 0);
	}
	/* pushed but not published: invisible to the consumer */
	assert_int_equal(ddvm_ring_pending(&t->c), 0);
	assert_int_equal(ddvm_ring_pop(&t->c, &d), -EAGAIN);
	assert_int_equal(t->p.ctl->prod, 0);
	ddvm_ring_publish(&t->p);
	assert_int_equal(t->p.ctl->prod, 5);
	assert_int_equal(ddvm_ring_space(&t->p), ENTRIES - 5);
	assert_int_equal(ddvm_ring_pending(&t->c), 5);
	for (i = 0; i < 5; i++) {
		assert_int_equal(ddvm_ring_pop(&t->c, &d), 0);
		desc_expect(&d, i);
	}
	assert_int_equal(ddvm_ring_pop(&t->c, &d), -EAGAIN);
	assert_int_equal(ddvm_ring_pending(&t->c), 0);
	/* popped but not released: the producer still sees the slots taken */
	assert_int_equal(ddvm_ring_space(&t->p), ENTRIES - 5);
	ddvm_ring_release(&t->c);
	assert_int_equal(t->c.ctl->cons, 5);
	assert_int_equal(ddvm_ring_space(&t->p), ENTRIES);
	/* nothing new: publish and release are no-ops */
	assert_int_equal(ddvm_ring_publish(&t->p), 0);
	assert_int_equal(ddvm_ring_release(&t->c), 0);
	assert_false(ddvm_ring_broken(&t->p));
	assert_false(ddvm_ring_broken(&t->c));
}

static void test_full_and_empty(void **state)
{
	struct pair *t = *state;
	struct ddvm_desc d;
	uint64_t i;

	assert_int_equal(ddvm_ring_pop(&t->c, &d), -EAGAIN);
	for (i = 0; i < ENTRIES; i++) {
		desc_make(&d, i);
		assert_int_equal(ddvm_ring_push(&t->p, &d), 0);
	}
	assert_int_equal(ddvm_ring_push(&t->p, &d), -ENOSPC);
	assert_int_equal(ddvm_ring_space(&t->p), 0);
	ddvm_ring_publish(&t->p);
	assert_int_equal(ddvm_ring_pending(&t->c), ENTRIES);
	assert_int_equal(ddvm_ring_push(&t->p, &d), -ENOSPC);
	/* consumer pops two but has not released them: still full */
	assert_int_equal(ddvm_ring_pop(&t->c, &d), 0);
	assert_int_equal(ddvm_ring_pop(&t->c, &d), 0);
	assert_int_equal(ddvm_ring_push(&t->p, &d), -ENOSPC);
	ddvm_ring_release(&t->c);
	desc_make(&d, ENTRIES);
	assert_int_equal(ddvm_ring_push(&t->p, &d), 0);
	desc_make(&d, ENTRIES + 1);
	assert_int_equal(ddvm_ring_push(&t->p, &d), 0);
	assert_int_equal(ddvm_ring_push(&t->p, &d), -ENOSPC);
	ddvm_ring_publish(&t->p);
	for (i = 2; i < ENTRIES + 2; i++) {
		assert_int_equal(ddvm_ring_pop(&t->c, &d), 0);
		desc_expect(&d, i);
	}
	assert_int_equal(ddvm_ring_pop(&t->c, &d), -EAGAIN);
	assert_false(ddvm_ring_broken(&t->p));
	assert_false(ddvm_ring_broken(&t->c));
}

/* Random batches through a ring whose free-running indices cross 2^32. */
static void run_wrap(struct pair *t, uint32_t start, unsigned int rounds)
{
	uint64_t sent = 0, got = 0;
	unsigned int seed = 12345, k;

	pair_set_index(t, start);
	assert_int_equal(ddvm_ring_space(&t->p), ENTRIES);
	assert_int_equal(ddvm_ring_pending(&t->c), 0);
	for (k = 0; k < rounds; k++) {
		unsigned int n = (unsigned int)rand_r(&seed) % (ENTRIES + 3), i;

		for (i = 0; i < n; i++) {
			uint8_t *slot = ddvm_ring_slot(&t->p, t->p.prod);
			struct ddvm_net_desc nd = { 0 };
			int rc;

			/* the slot of prod is ours only while there is space */
			if (ddvm_ring_space(&t->p) == 0) {
				assert_int_equal(t->p.prod - t->p.cons, ENTRIES);
				assert_int_equal(ddvm_ring_push(&t->p, &nd), -ENOSPC);
				break;
			}
			nd.off = ddvm_ring_slot_off(&t->p, t->p.prod);
			nd.len = (uint32_t)(sent % SLOT);
			memset(slot, (int)(sent & 0xff), nd.len);
			memcpy(&nd.reserved2, &sent, sizeof(sent));
			rc = ddvm_ring_push(&t->p, &nd);
			assert_int_equal(rc, 0);
			sent++;
		}
		ddvm_ring_publish(&t->p);
		n = (unsigned int)rand_r(&seed) % (ENTRIES + 3);
		for (i = 0; i < n; i++) {
			struct ddvm_net_desc nd;
			uint32_t idx = t->c.cons;
			const uint8_t *buf;
			uint64_t seq;
			int rc = ddvm_ring_pop(&t->c, &nd);

			if (rc == -EAGAIN) {
				assert_int_equal(got, sent);
				break;
			}
			assert_int_equal(rc, 0);
			memcpy(&seq, &nd.reserved2, sizeof(seq));
			assert_int_equal(seq, got);
			buf = ddvm_ring_slot_check(&t->c, idx, nd.off, nd.len);
			assert_non_null(buf);
			assert_int_equal(nd.len, got % SLOT);
			for (unsigned int b = 0; b < nd.len; b++)
				assert_int_equal(buf[b], got & 0xff);
			got++;
		}
		ddvm_ring_release(&t->c);
		assert_false(ddvm_ring_broken(&t->p));
		assert_false(ddvm_ring_broken(&t->c));
	}
	assert_true(sent > rounds); /* the batches really moved data */
	/* indices really crossed 2^32 */
	assert_true((uint32_t)(start + (uint32_t)got) < start);
}

static void test_wrap_around(void **state)
{
	run_wrap(*state, 0xffffff00u, 400);
}

static void test_wrap_around_at_boundary(void **state)
{
	/* one descriptor before the wrap: the very first batch crosses it */
	run_wrap(*state, 0xffffffffu, 50);
}

static void test_full_across_wrap(void **state)
{
	struct pair *t = *state;
	struct ddvm_desc d;
	uint32_t i;

	pair_set_index(t, 0xfffffff8u);
	for (i = 0; i < ENTRIES; i++) {
		desc_make(&d, i);
		assert_int_equal(ddvm_ring_push(&t->p, &d), 0);
	}
	assert_int_equal(t->p.prod, 8); /* wrapped */
	assert_int_equal(ddvm_ring_push(&t->p, &d), -ENOSPC);
	ddvm_ring_publish(&t->p);
	assert_int_equal(ddvm_ring_pending(&t->c), ENTRIES);
	for (i = 0; i < ENTRIES; i++) {
		assert_int_equal(ddvm_ring_pop(&t->c, &d), 0);
		desc_expect(&d, i);
	}
	assert_int_equal(ddvm_ring_pop(&t->c, &d), -EAGAIN);
	ddvm_ring_release(&t->c);
	assert_int_equal(ddvm_ring_space(&t->p), ENTRIES);
}

static void test_wrong_role(void **state)
{
	struct pair *t = *state;
	struct ddvm_desc d = { { 0 } };

	/* a producer cannot consume, a consumer cannot produce */
	assert_int_equal(ddvm_ring_pop(&t->p, &d), -EPROTO);
	assert_int_equal(ddvm_ring_pending(&t->p), 0);
	assert_int_equal(ddvm_ring_release(&t->p), 0);
	assert_int_equal(ddvm_ring_push(&t->c, &d), -EPROTO);
	assert_int_equal(ddvm_ring_space(&t->c), 0);
	assert_int_equal(ddvm_ring_publish(&t->c), 0);
	assert_int_equal(ddvm_ring_wait_space(&t->c), 0);
	assert_int_equal(t->c.ctl->prod, 0);
	assert_int_equal(t->c.ctl->cons, 0);
}

static void test_copy_is_private(void **state)
{
	struct pair *t = *state;
	struct ddvm_desc d, copy;

	desc_make(&d, 7);
	assert_int_equal(ddvm_ring_push(&t->p, &d), 0);
	ddvm_ring_publish(&t->p);
	assert_int_equal(ddvm_ring_pop(&t->c, &copy), 0);
	/* the producer scribbles the shared descriptor after the pop: our copy holds */
	memset(&t->p.desc[0], 0xff, sizeof(t->p.desc[0]));
	desc_expect(&copy, 7);
}

static void test_need_event(void **state)
{
	(void)state;
	/* batch (old, new] = (5, 10]: event indices 5..9 are crossed */
	assert_false(ddvm_need_event(4, 10, 5));
	assert_true(ddvm_need_event(5, 10, 5));
	assert_true(ddvm_need_event(9, 10, 5));
	assert_false(ddvm_need_event(10, 10, 5));
	assert_false(ddvm_need_event(5, 5, 5)); /* empty batch */
	/* across the wrap */
	assert_true(ddvm_need_event(0xfffffffeu, 2, 0xfffffffcu));
	assert_true(ddvm_need_event(1, 2, 0xfffffffcu));
	assert_false(ddvm_need_event(2, 2, 0xfffffffcu));
	assert_false(ddvm_need_event(0xfffffffbu, 2, 0xfffffffcu));
}

/* --- event suppression ------------------------------------------------------------- */

static void push_n(struct ddvm_ring *r, unsigned int n)
{
	struct ddvm_desc d = { { 0 } };

	while (n--)
		assert_int_equal(ddvm_ring_push(r, &d), 0);
}

static void pop_n(struct ddvm_ring *r, unsigned int n)
{
	struct ddvm_desc d;

	while (n--)
		assert_int_equal(ddvm_ring_pop(r, &d), 0);
}

static void test_publish_kicks_only_when_asked(void **state)
{
	struct pair *t = *state;

	/* A fresh ring counts as "consumer asleep at 0": the first publish kicks. */
	push_n(&t->p, 1);
	assert_true(ddvm_ring_publish(&t->p));
	assert_int_equal(t->p.suppressed, 0);
	/* the consumer is awake (did not prepare_wait): no kicks however much we publish,
	 * and each such publish counts as a doorbell saved */
	push_n(&t->p, 1);
	assert_false(ddvm_ring_publish(&t->p));
	push_n(&t->p, 3);
	assert_false(ddvm_ring_publish(&t->p));
	assert_int_equal(t->p.suppressed, 2);
	/* consumer drains; pending work blocks sleep; then it may sleep */
	assert_false(ddvm_ring_prepare_wait(&t->c)); /* 5 pending: do not sleep */
	pop_n(&t->c, 5);
	assert_true(ddvm_ring_release(&t->c)); /* first release: producer counted asleep at 0 */
	assert_true(ddvm_ring_prepare_wait(&t->c));
	assert_int_equal(t->c.ctl->prod_event, 5);
	/* the next publish kicks exactly once */
	push_n(&t->p, 1);
	assert_true(ddvm_ring_publish(&t->p));
	push_n(&t->p, 1);
	assert_false(ddvm_ring_publish(&t->p));
	/* prepare_wait sees the work that came meanwhile (the final check) */
	assert_false(ddvm_ring_prepare_wait(&t->c));
	pop_n(&t->c, 2);
	assert_true(ddvm_ring_prepare_wait(&t->c));
	assert_true(ddvm_ring_publish(&t->p) == 0); /* nothing pushed: nothing to say */
	assert_int_equal(t->p.suppressed, 3);	    /* ... and no doorbell saved */
	push_n(&t->p, 1);
	assert_true(ddvm_ring_publish(&t->p));
	/* a reset of the ring's indices keeps the counter (it counts for humans) */
	ddvm_ring_reset_local(&t->p);
	assert_int_equal(t->p.suppressed, 3);
}

static void test_batching_one_kick(void **state)
{
	struct pair *t = *state;
	unsigned int kicks = 0, round;

	/* consumer asleep; the producer pushes a batch and publishes once: one kick */
	pair_set_index(t, 100);
	for (round = 0; round < 10; round++) {
		assert_true(ddvm_ring_prepare_wait(&t->c));
		push_n(&t->p, ENTRIES);
		kicks += (unsigned int)ddvm_ring_publish(&t->p);
		/* consumer woke up and is busy: more publishes kick nobody */
		pop_n(&t->c, ENTRIES / 2);
		ddvm_ring_release(&t->c);
		push_n(&t->p, ENTRIES / 2);
		kicks += (unsigned int)ddvm_ring_publish(&t->p);
		pop_n(&t->c, ENTRIES);
		ddvm_ring_release(&t->c);
	}
	assert_int_equal(kicks, 10);
	/* many small publishes while the consumer sleeps once: one kick */
	kicks = 0;
	assert_true(ddvm_ring_prepare_wait(&t->c));
	for (round = 0; round < ENTRIES; round++) {
		push_n(&t->p, 1);
		kicks += (unsigned int)ddvm_ring_publish(&t->p);
	}
	assert_int_equal(kicks, 1);
}

static void test_release_kicks_waiting_producer(void **state)
{
	struct pair *t = *state;

	pair_set_index(t, 0x7ffffffau);
	/* producer not full: wait_space says "space, don't sleep"; the request for a
	 * kick stays armed, so the next release kicks once (spurious, harmless) */
	assert_true(ddvm_ring_wait_space(&t->p));
	push_n(&t->p, ENTRIES);
	ddvm_ring_publish(&t->p);
	pop_n(&t->c, 1);
	assert_true(ddvm_ring_release(&t->c));
	/* consumer releases while the producer is awake: no kick */
	pop_n(&t->c, 1);
	assert_false(ddvm_ring_release(&t->c));
	push_n(&t->p, 1);
	push_n(&t->p, 1);
	/* full: the producer asks for a kick and may sleep */
	assert_false(ddvm_ring_wait_space(&t->p));
	assert_int_equal(t->p.ctl->cons_event, t->p.cons);
	pop_n(&t->c, 3);
	assert_true(ddvm_ring_release(&t->c));
	/* the producer woke; consumer frees more without the producer waiting: no kick */
	pop_n(&t->c, 1);
	assert_false(ddvm_ring_release(&t->c));
	/* wait_space sees space released before it asked (the final check) */
	push_n(&t->p, 4);
	assert_int_equal(ddvm_ring_push(&t->p, &(struct ddvm_desc){ { 0 } }), -ENOSPC);
	pop_n(&t->c, 1);
	ddvm_ring_release(&t->c);
	assert_true(ddvm_ring_wait_space(&t->p));
}

/* Zero-copy transmit gives slots back in ring order, only up to the first one the NIC
 * still reads: the producer sees exactly the released ones free, never more; indices
 * outside [released, cons] release nothing. */
static void test_release_to_partial(void **state)
{
	struct pair *t = *state;

	pair_set_index(t, 0xfffffffcu); /* across the 32-bit wrap */
	push_n(&t->p, 6);
	ddvm_ring_publish(&t->p);
	pop_n(&t->c, 6);
	assert_int_equal(ddvm_ring_space(&t->p), ENTRIES - 6);
	assert_int_equal(ddvm_ring_release_to(&t->c, 0xfffffffcu), 0); /* nothing */
	ddvm_ring_release_to(&t->c, 0xfffffffeu);
	assert_int_equal(t->c.ctl->cons, 0xfffffffeu);
	assert_int_equal(ddvm_ring_space(&t->p), ENTRIES - 4);
	/* beyond what was popped, or behind what was released: refused, no change */
	assert_int_equal(ddvm_ring_release_to(&t->c, 3), 0);
	assert_int_equal(ddvm_ring_release_to(&t->c, 0xfffffffdu), 0);
	assert_int_equal(t->c.ctl->cons, 0xfffffffeu);
	ddvm_ring_release_to(&t->c, 1);
	assert_int_equal(t->c.ctl->cons, 1);
	assert_int_equal(ddvm_ring_space(&t->p), ENTRIES - 1);
	/* a full producer waiting for space is kicked by the release of the last one */
	push_n(&t->p, ENTRIES - 1);
	ddvm_ring_publish(&t->p);
	assert_false(ddvm_ring_wait_space(&t->p));
	assert_true(ddvm_ring_release(&t->c));
	assert_int_equal(ddvm_ring_space(&t->p), 1);
	assert_false(ddvm_ring_broken(&t->c));
	assert_false(ddvm_ring_broken(&t->p));
}

static void test_sleep_race_closed(void **state)
{
	struct pair *t = *state;
	unsigned int i;

	/* Interleave every step of "consumer goes to sleep" with "producer publishes":
	 * whichever order, either the consumer's final check sees the work or the
	 * producer's publish returns a kick. */
	pair_set_index(t, 0xfffffff0u);
	for (i = 0; i < 64; i++) {
		int kick, may_sleep;

		if (i % 2) {
			push_n(&t->p, 1 + i % 3);
			kick = ddvm_ring_publish(&t->p);
			may_sleep = ddvm_ring_prepare_wait(&t->c);
		} else {
			may_sleep = ddvm_ring_prepare_wait(&t->c);
			push_n(&t->p, 1 + i % 3);
			kick = ddvm_ring_publish(&t->p);
		}
		assert_true(kick || !may_sleep);
		pop_n(&t->c, ddvm_ring_pending(&t->c));
		ddvm_ring_release(&t->c);
	}
}

/* --- hostile peer -------------------------------------------------------------------- */

static void expect_all_ops_fail(struct pair *t)
{
	struct ddvm_desc d = { { 0 } };

	assert_true(ddvm_ring_broken(&t->p) || ddvm_ring_broken(&t->c));
	if (ddvm_ring_broken(&t->p)) {
		assert_int_equal(ddvm_ring_space(&t->p), 0);
		assert_int_equal(ddvm_ring_push(&t->p, &d), -EPROTO);
		assert_int_equal(ddvm_ring_publish(&t->p), 0);
		assert_int_equal(ddvm_ring_wait_space(&t->p), 0);
	}
	if (ddvm_ring_broken(&t->c)) {
		uint32_t cons = t->c.ctl->cons, ev = t->c.ctl->prod_event;

		assert_int_equal(ddvm_ring_pending(&t->c), 0);
		assert_int_equal(ddvm_ring_pop(&t->c, &d), -EPROTO);
		assert_int_equal(ddvm_ring_release(&t->c), 0);
		/* a broken consumer stops: "may sleep", and writes nothing shared */
		assert_true(ddvm_ring_prepare_wait(&t->c));
		assert_int_equal(t->c.ctl->cons, cons);
		assert_int_equal(t->c.ctl->prod_event, ev);
	}
}

static void test_consumer_prod_jumps(void **state)
{
	struct pair *t = *state;
	struct ddvm_desc d;

	pair_set_index(t, 0xfffffffcu);
	/* exactly a full ring is legal */
	t->p.ctl->prod = 0xfffffffcu + ENTRIES;
	assert_int_equal(ddvm_ring_pending(&t->c), ENTRIES);
	assert_false(ddvm_ring_broken(&t->c));
	/* one more than the ring holds is a lie */
	t->p.ctl->prod = 0xfffffffcu + ENTRIES + 1;
	assert_int_equal(ddvm_ring_pending(&t->c), 0);
	assert_true(ddvm_ring_broken(&t->c));
	/* and stays broken even when the peer "fixes" it */
	t->p.ctl->prod = 0xfffffffcu + 1;
	assert_int_equal(ddvm_ring_pop(&t->c, &d), -EPROTO);
	expect_all_ops_fail(t);
}

/* Slots the consumer popped stay its own until it releases them: a producer that
 * publishes into them (prod beyond released cons + entries) is lying, even though
 * prod is within `entries` of the consumer's private cons. */
static void test_consumer_prod_beyond_released(void **state)
{
	struct pair *t = *state;
	struct ddvm_desc d;

	push_n(&t->p, 6);
	ddvm_ring_publish(&t->p);
	pop_n(&t->c, 4);	  /* popped, not released: t->c.published is still 0 */
	t->p.ctl->prod = ENTRIES; /* exactly what the released slots allow: legal */
	assert_int_equal(ddvm_ring_pending(&t->c), ENTRIES - 4);
	assert_false(ddvm_ring_broken(&t->c));
	t->p.ctl->prod = ENTRIES + 4; /* reuses the 4 slots we still hold */
	assert_int_equal(ddvm_ring_pending(&t->c), 0);
	assert_true(ddvm_ring_broken(&t->c));
	assert_int_equal(ddvm_ring_pop(&t->c, &d), -EPROTO);
	expect_all_ops_fail(t);
}

static void test_consumer_prod_jumps_via_pop(void **state)
{
	struct pair *t = *state;
	struct ddvm_desc d;

	t->p.ctl->prod = 0x80000000u;
	assert_int_equal(ddvm_ring_pop(&t->c, &d), -EPROTO);
	expect_all_ops_fail(t);
}

static void test_consumer_prod_backwards(void **state)
{
	struct pair *t = *state;
	struct ddvm_desc d;

	push_n(&t->p, 6);
	ddvm_ring_publish(&t->p);
	assert_int_equal(ddvm_ring_pending(&t->c), 6);
	pop_n(&t->c, 2);
	/* the producer takes back published descriptors not yet consumed */
	t->p.ctl->prod = 4;
	assert_int_equal(ddvm_ring_pending(&t->c), 0);
	assert_true(ddvm_ring_broken(&t->c));
	assert_int_equal(ddvm_ring_pop(&t->c, &d), -EPROTO);
	expect_all_ops_fail(t);
}

static void test_consumer_prod_below_cons(void **state)
{
	struct pair *t = *state;

	push_n(&t->p, 6);
	ddvm_ring_publish(&t->p);
	pop_n(&t->c, 6);
	t->p.ctl->prod = 5; /* behind what we already consumed */
	assert_int_equal(ddvm_ring_pending(&t->c), 0);
	assert_true(ddvm_ring_broken(&t->c));
	expect_all_ops_fail(t);
}

static void test_consumer_prepare_wait_breaks(void **state)
{
	struct pair *t = *state;

	t->p.ctl->prod = ENTRIES + 5;
	/* the final check sees the lie: may sleep (the ring is dead), and broken */
	assert_true(ddvm_ring_prepare_wait(&t->c));
	assert_true(ddvm_ring_broken(&t->c));
	expect_all_ops_fail(t);
}

static void test_producer_cons_beyond_published(void **state)
{
	struct pair *t = *state;

	push_n(&t->p, 5);
	ddvm_ring_publish(&t->p);
	push_n(&t->p, 3); /* pushed, not published */
	/* consumer claims to have consumed what it never saw published */
	t->c.ctl->cons = 6;
	assert_int_equal(ddvm_ring_space(&t->p), 0);
	assert_true(ddvm_ring_broken(&t->p));
	expect_all_ops_fail(t);
}

static void test_producer_cons_equal_published_ok(void **state)
{
	struct pair *t = *state;

	pair_set_index(t, 0xfffffffdu);
	push_n(&t->p, 5);
	ddvm_ring_publish(&t->p);
	t->c.ctl->cons = 0xfffffffdu + 5;
	assert_int_equal(ddvm_ring_space(&t->p), ENTRIES);
	assert_false(ddvm_ring_broken(&t->p));
}

static void test_producer_cons_backwards(void **state)
{
	struct pair *t = *state;

	pair_set_index(t, 3);
	push_n(&t->p, 5);
	ddvm_ring_publish(&t->p);
	t->c.ctl->cons = 3 + 4;
	assert_int_equal(ddvm_ring_space(&t->p), ENTRIES - 1);
	t->c.ctl->cons = 3 + 2; /* moves back */
	assert_int_equal(ddvm_ring_space(&t->p), 0);
	assert_true(ddvm_ring_broken(&t->p));
	expect_all_ops_fail(t);
}

static void test_producer_breaks_in_push(void **state)
{
	struct pair *t = *state;
	struct ddvm_desc d = { { 0 } };

	push_n(&t->p, ENTRIES);
	ddvm_ring_publish(&t->p);
	t->c.ctl->cons = 0xfffffff0u; /* "backwards" by a lot */
	assert_int_equal(ddvm_ring_push(&t->p, &d), -EPROTO);
	expect_all_ops_fail(t);
}

static void test_producer_breaks_in_wait_space(void **state)
{
	struct pair *t = *state;

	push_n(&t->p, ENTRIES);
	ddvm_ring_publish(&t->p);
	t->c.ctl->cons = ENTRIES + 1;
	assert_int_equal(ddvm_ring_wait_space(&t->p), 0);
	assert_true(ddvm_ring_broken(&t->p));
	expect_all_ops_fail(t);
}

static void test_reset_after_broken(void **state)
{
	struct pair *t = *state;
	struct ddvm_desc d;

	push_n(&t->p, 3);
	ddvm_ring_publish(&t->p);
	t->p.ctl->prod = 1000;
	assert_int_equal(ddvm_ring_pending(&t->c), 0);
	assert_true(ddvm_ring_broken(&t->c));
	/* the supervisor zeroes the shared block, both sides start over */
	ddvm_ring_reset_shared(&t->c);
	assert_int_equal(t->c.ctl->prod, 0);
	assert_int_equal(t->c.ctl->cons, 0);
	assert_int_equal(t->c.ctl->prod_event, 0);
	assert_int_equal(t->c.ctl->cons_event, 0);
	ddvm_ring_reset_local(&t->c);
	ddvm_ring_reset_local(&t->p);
	assert_false(ddvm_ring_broken(&t->c));
	desc_make(&d, 42);
	assert_int_equal(ddvm_ring_push(&t->p, &d), 0);
	ddvm_ring_publish(&t->p);
	assert_int_equal(ddvm_ring_pop(&t->c, &d), 0);
	desc_expect(&d, 42);
}

/* --- payload slots -------------------------------------------------------------------- */

static void test_slot_check(void **state)
{
	struct pair *t = *state;
	uint32_t i;

	for (i = 0; i < 2 * ENTRIES; i++) {
		uint32_t off = (i % ENTRIES) * SLOT;
		const uint8_t *p = ddvm_ring_slot_check(&t->c, i, off, 0);

		assert_ptr_equal(p, (uint8_t *)t->c.data + off);
		assert_ptr_equal(p, ddvm_ring_slot(&t->p, i));
		assert_int_equal(ddvm_ring_slot_off(&t->p, i), off);
		assert_ptr_equal(ddvm_ring_slot_check(&t->c, i, off, SLOT), p);
		assert_null(ddvm_ring_slot_check(&t->c, i, off, SLOT + 1));
		assert_null(ddvm_ring_slot_check(&t->c, i, off, 0xffffffffu));
		assert_null(ddvm_ring_slot_check(&t->c, i, off + 1, 1));
		assert_null(ddvm_ring_slot_check(&t->c, i + 1, off, 1)); /* wrong slot */
		assert_null(ddvm_ring_slot_check(&t->c, i, off + SLOT, 1));
	}
	/* offsets that would overflow or lie past the area */
	assert_null(ddvm_ring_slot_check(&t->c, 0, 0xffffff00u, 0x200));
	assert_null(ddvm_ring_slot_check(&t->c, 0, ENTRIES * SLOT, 1));
	assert_null(ddvm_ring_slot_check(&t->c, 0xffffffffu, 0xffffffffu, 1));
	/* the last slot, at the largest index */
	assert_non_null(ddvm_ring_slot_check(&t->c, 0xffffffffu, (ENTRIES - 1) * SLOT, SLOT));
	/* a ring without payload accepts no buffer at all */
	assert_null(ddvm_ring_slot_check(&t->rc, 0, 0, 0));
	assert_null(ddvm_ring_slot_check(&t->rc, 0, 0, 1));
}

static void test_buf_check(void **state)
{
	struct pair *t = *state;
	const uint32_t size = ENTRIES * SLOT;
	uint8_t *base = t->c.data;

	assert_int_equal(t->c.data_size, size);
	assert_ptr_equal(ddvm_ring_buf_check(&t->c, 0, size), base);
	assert_ptr_equal(ddvm_ring_buf_check(&t->c, 100, size - 100), base + 100);
	assert_ptr_equal(ddvm_ring_buf_check(&t->c, size, 0), base + size); /* empty, at end */
	assert_null(ddvm_ring_buf_check(&t->c, 0, size + 1));
	assert_null(ddvm_ring_buf_check(&t->c, 1, size));
	assert_null(ddvm_ring_buf_check(&t->c, size, 1));
	assert_null(ddvm_ring_buf_check(&t->c, size + 1, 0));
	/* off + len wraps around 2^32 to something small: must not pass */
	assert_null(ddvm_ring_buf_check(&t->c, 0xfffffff0u, 0x20));
	assert_null(ddvm_ring_buf_check(&t->c, 0x20, 0xfffffff0u));
	assert_null(ddvm_ring_buf_check(&t->c, 0xffffffffu, 0xffffffffu));
	assert_null(ddvm_ring_buf_check(&t->rc, 0, 0));
	assert_null(ddvm_ring_buf_check(&t->rc, 0, 1));
}

/* Net-style consumer validation of a hostile descriptor: what a translation module
 * does with each frame it pops. */
static int net_desc_ok(const struct ddvm_ring *r, uint32_t idx, const struct ddvm_net_desc *d)
{
	if (d->len < DDVM_NET_MIN_FRAME || d->len > DDVM_NET_MAX_FRAME)
		return 0;
	return ddvm_ring_slot_check(r, idx, d->off, d->len) != NULL;
}

static void test_net_desc_validation(void **state)
{
	struct pair *t = *state;
	struct ddvm_net_desc d = { 0 }, got;
	uint32_t idx;

	d.off = ddvm_ring_slot_off(&t->p, t->p.prod);
	d.len = 60;
	assert_int_equal(ddvm_ring_push(&t->p, &d), 0);
	d.off = 0; /* slot 0 named by descriptor 1 */
	assert_int_equal(ddvm_ring_push(&t->p, &d), 0);
	d.off = ddvm_ring_slot_off(&t->p, t->p.prod);
	d.len = SLOT + 1;
	assert_int_equal(ddvm_ring_push(&t->p, &d), 0);
	d.len = 10; /* runt */
	assert_int_equal(ddvm_ring_push(&t->p, &d), 0);
	ddvm_ring_publish(&t->p);

	idx = t->c.cons;
	assert_int_equal(ddvm_ring_pop(&t->c, &got), 0);
	assert_true(net_desc_ok(&t->c, idx, &got));
	idx = t->c.cons;
	assert_int_equal(ddvm_ring_pop(&t->c, &got), 0);
	assert_false(net_desc_ok(&t->c, idx, &got));
	idx = t->c.cons;
	assert_int_equal(ddvm_ring_pop(&t->c, &got), 0);
	assert_false(net_desc_ok(&t->c, idx, &got));
	idx = t->c.cons;
	assert_int_equal(ddvm_ring_pop(&t->c, &got), 0);
	assert_false(net_desc_ok(&t->c, idx, &got));
	/* a bad buffer fails the request, not the ring */
	assert_false(ddvm_ring_broken(&t->c));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_init_rejects_bad_entries),
		T(test_push_pop_roundtrip),
		T(test_full_and_empty),
		T(test_wrap_around),
		T(test_wrap_around_at_boundary),
		T(test_full_across_wrap),
		T(test_wrong_role),
		T(test_copy_is_private),
		cmocka_unit_test(test_need_event),
		T(test_publish_kicks_only_when_asked),
		T(test_batching_one_kick),
		T(test_release_kicks_waiting_producer),
		T(test_release_to_partial),
		T(test_sleep_race_closed),
		T(test_consumer_prod_jumps),
		T(test_consumer_prod_jumps_via_pop),
		T(test_consumer_prod_beyond_released),
		T(test_consumer_prod_backwards),
		T(test_consumer_prod_below_cons),
		T(test_consumer_prepare_wait_breaks),
		T(test_producer_cons_beyond_published),
		T(test_producer_cons_equal_published_ok),
		T(test_producer_cons_backwards),
		T(test_producer_breaks_in_push),
		T(test_producer_breaks_in_wait_space),
		T(test_reset_after_broken),
		T(test_slot_check),
		T(test_buf_check),
		T(test_net_desc_validation),
	};
#undef T
	return cmocka_run_group_tests_name("ring", tests, NULL, NULL);
}
