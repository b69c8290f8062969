/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of ring/region.c: layout parameters, region_init, and region_attach's
 * validation of a header a hostile peer (or a confused supervisor) may have written.
 * Each rejection case starts from a valid header and breaks exactly one thing.
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
#include "ddvm/blk.h"
#include "ddvm/net.h"
#include "region.h"
#include "ring.h"

struct reg {
	void *base;
	uint64_t size;
	struct ddvm_layout_params lp;
};

static struct reg *reg_new(uint32_t kind, uint32_t queues)
{
	struct reg *g = calloc(1, sizeof(*g));

	assert_non_null(g);
	ddvm_layout_defaults(&g->lp, kind);
	g->lp.num_queues = queues;
	g->lp.channel_id = 0x1122334455667788ull;
	g->size = ddvm_layout_size(&g->lp);
	assert_true(g->size > 0);
	g->base = aligned_alloc(4096, g->size);
	assert_non_null(g->base);
	memset(g->base, 0x5a, g->size);
	assert_int_equal(ddvm_region_init(g->base, g->size, &g->lp), 0);
	return g;
}

static void reg_free(struct reg *g)
{
	free(g->base);
	free(g);
}

static struct ddvm_region_hdr *hdr(struct reg *g)
{
	return g->base;
}

static int setup_net(void **state)
{
	*state = reg_new(DDVM_KIND_NET, 2);
	return 0;
}

static int setup_blk(void **state)
{
	*state = reg_new(DDVM_KIND_BLK, 1);
	return 0;
}

static int teardown(void **state)
{
	reg_free(*state);
	return 0;
}

/* --- layout parameters ----------------------------------------------------------------- */

static void test_defaults(void **state)
{
	struct ddvm_layout_params p;

	(void)state;
	ddvm_layout_defaults(&p, DDVM_KIND_NET);
	assert_int_equal(p.kind, DDVM_KIND_NET);
	assert_int_equal(p.num_queues, 1);
	/* a whole 64 KiB GSO frame fits one slot, both ways */
	assert_true(p.fe_slot >= DDVM_NET_MAX_FRAME);
	assert_true(p.be_slot >= DDVM_NET_MAX_FRAME);
	assert_true(p.fe_entries > 0 && (p.fe_entries & (p.fe_entries - 1)) == 0);
	assert_true(p.be_entries > 0 && (p.be_entries & (p.be_entries - 1)) == 0);

	ddvm_layout_defaults(&p, DDVM_KIND_BLK);
	assert_int_equal(p.kind, DDVM_KIND_BLK);
	assert_int_equal(p.num_queues, 1);
	assert_true(p.fe_slot >= 4096 && p.fe_slot % 512 == 0);
	assert_int_equal(p.be_slot, 0); /* responses carry no data */
	/* tags index slots: one per request ring entry */
	assert_true(p.fe_entries <= 0x10000);

	ddvm_layout_defaults(&p, DDVM_KIND_NONE);
	assert_int_equal(ddvm_layout_size(&p), 0);
}

static void test_layout_size_valid(void **state)
{
	struct ddvm_layout_params p;
	uint32_t kind, q;

	(void)state;
	for (kind = DDVM_KIND_NET; kind <= DDVM_KIND_BLK; kind++)
		for (q = 1; q <= DDVM_MAX_RINGS / 2; q++) {
			uint64_t size, need_min;

			ddvm_layout_defaults(&p, kind);
			p.num_queues = q;
			size = ddvm_layout_size(&p);
			assert_true(size > 0);
			assert_int_equal(size & (size - 1), 0); /* power of two */
			need_min = DDVM_HDR_SIZE + q * ((uint64_t)p.fe_entries * p.fe_slot +
							(uint64_t)p.be_entries * p.be_slot);
			assert_true(size >= need_min);
			assert_true(size < 2 * need_min + 2 * 1024 * 1024);
		}
	/* the smallest region: one page of header plus rings */
	memset(&p, 0, sizeof(p));
	p.kind = DDVM_KIND_BLK;
	p.num_queues = 1;
	p.fe_entries = 1;
	p.be_entries = 1;
	assert_int_equal(ddvm_layout_size(&p), 8192);
}

static void test_layout_size_invalid(void **state)
{
	struct ddvm_layout_params p, good;

	(void)state;
	ddvm_layout_defaults(&good, DDVM_KIND_NET);
#define BAD(stmt)                                                                                  \
	do {                                                                                       \
		p = good;                                                                          \
		stmt;                                                                              \
		assert_int_equal(ddvm_layout_size(&p), 0);                                         \
	} while (0)
	BAD(p.kind = DDVM_KIND_NONE);
	BAD(p.kind = 3);
	BAD(p.num_queues = 0);
	BAD(p.num_queues = DDVM_MAX_RINGS / 2 + 1);
	BAD(p.num_queues = 0xffffffffu);
	BAD(p.fe_entries = 0);
	BAD(p.fe_entries = 3);
	BAD(p.fe_entries = DDVM_RING_MAX_ENTRIES * 2);
	BAD(p.be_entries = 0);
	BAD(p.be_entries = 96);
	BAD(p.fe_slot = DDVM_SLOT_MAX + 1);
	BAD(p.be_slot = 0xffffffffu);
	/* too big for 32-bit wire offsets: 8 queues x 4096 x 1 MiB each way */
	BAD((p.num_queues = 8, p.fe_entries = p.be_entries = DDVM_RING_MAX_ENTRIES,
	     p.fe_slot = p.be_slot = DDVM_SLOT_MAX));
#undef BAD
}

static void test_init_too_small(void **state)
{
	struct ddvm_layout_params p;
	uint64_t size;
	void *base;

	(void)state;
	ddvm_layout_defaults(&p, DDVM_KIND_BLK);
	size = ddvm_layout_size(&p);
	base = aligned_alloc(4096, size);
	assert_non_null(base);
	assert_int_equal(ddvm_region_init(base, size - 1, &p), -EINVAL);
	assert_int_equal(ddvm_region_init(base, DDVM_HDR_SIZE, &p), -EINVAL);
	p.num_queues = 0;
	assert_int_equal(ddvm_region_init(base, size, &p), -EINVAL);
	free(base);
}

/* --- init + attach roundtrip ------------------------------------------------------------ */

static void check_roundtrip(struct reg *g)
{
	const struct ddvm_region_hdr *h = hdr(g);
	struct ddvm_region rg;
	uint32_t i, j;

	assert_int_equal(h->magic, DDVM_MAGIC);
	assert_int_equal(h->abi_major, DDVM_ABI_MAJOR);
	assert_int_equal(h->abi_minor, DDVM_ABI_MINOR);
	assert_int_equal(h->region_size, g->size);
	assert_int_equal(h->channel_id, g->lp.channel_id);
	assert_int_equal(h->epoch, 1);
	assert_int_equal(h->backend_state, DDVM_STATE_ABSENT);
	assert_int_equal(h->frontend_state, DDVM_STATE_ABSENT);

	assert_int_equal(ddvm_region_attach(&rg, g->base, g->size), 0);
	assert_ptr_equal(rg.base, g->base);
	assert_ptr_equal(rg.hdr, g->base);
	assert_int_equal(rg.size, g->size);
	assert_int_equal(rg.kind, g->lp.kind);
	assert_int_equal(rg.num_queues, g->lp.num_queues);
	assert_int_equal(rg.num_rings, 2 * g->lp.num_queues);
	assert_int_equal(rg.abi_minor, DDVM_ABI_MINOR);
	assert_int_equal(ddvm_region_epoch(&rg), 1);

	for (i = 0; i < rg.num_rings; i++) {
		const struct ddvm_ring_layout *l = &rg.rings[i];
		int fe = i % 2 == 0;
		struct ddvm_ring pr, co;
		const struct ddvm_ring_ctl *ctl;

		assert_int_equal(l->entries, fe ? g->lp.fe_entries : g->lp.be_entries);
		assert_int_equal(l->slot_size, fe ? g->lp.fe_slot : g->lp.be_slot);
		assert_int_equal(l->data_size, (uint64_t)l->entries * l->slot_size);
		assert_int_equal(l->producer, fe ? DDVM_SIDE_FRONTEND : DDVM_SIDE_BACKEND);
		assert_int_equal(l->vector, DDVM_VECTOR_QUEUE(i / 2));
		assert_int_equal(l->ring_off % DDVM_CACHELINE, 0);
		assert_true(l->ring_off >= DDVM_HDR_SIZE);
		assert_true(l->ring_off + DDVM_RING_BYTES(l->entries) <= g->size);
		if (l->data_size) {
			assert_int_equal(l->data_off % 4096, 0);
			assert_true((uint64_t)l->data_off + l->data_size <= g->size);
		}
		for (j = 0; j < i; j++) {
			const struct ddvm_ring_layout *m = &rg.rings[j];

			assert_true(l->ring_off >= m->ring_off + DDVM_RING_BYTES(m->entries) ||
				    m->ring_off >= l->ring_off + DDVM_RING_BYTES(l->entries));
		}
		ctl = (const void *)((const uint8_t *)g->base + l->ring_off);
		assert_int_equal(ctl->prod, 0);
		assert_int_equal(ctl->cons, 0);
		assert_int_equal(ctl->prod_event, 0);
		assert_int_equal(ctl->cons_event, 0);

		/* each side gets the right role */
		assert_int_equal(ddvm_region_ring(&rg, i, DDVM_SIDE_FRONTEND, &pr), 0);
		assert_int_equal(ddvm_region_ring(&rg, i, DDVM_SIDE_BACKEND, &co), 0);
		assert_int_equal(pr.is_producer, fe);
		assert_int_equal(co.is_producer, !fe);
		assert_ptr_equal(pr.ctl, ctl);
		assert_int_equal(pr.entries, l->entries);
		if (l->data_size)
			assert_ptr_equal(pr.data, (uint8_t *)g->base + l->data_off);
		else
			assert_null(pr.data);
	}
	assert_int_equal(
	    ddvm_region_ring(&rg, rg.num_rings, DDVM_SIDE_FRONTEND, &(struct ddvm_ring){ 0 }),
	    -EINVAL);
	assert_int_equal(
	    ddvm_region_ring(&rg, 0xffffffffu, DDVM_SIDE_FRONTEND, &(struct ddvm_ring){ 0 }),
	    -EINVAL);
}

static void test_roundtrip_net(void **state)
{
	check_roundtrip(*state);
}

static void test_roundtrip_blk(void **state)
{
	check_roundtrip(*state);
}

static void test_roundtrip_all_queue_counts(void **state)
{
	uint32_t kind, q;

	(void)state;
	for (kind = DDVM_KIND_NET; kind <= DDVM_KIND_BLK; kind++)
		for (q = 1; q <= DDVM_MAX_RINGS / 2; q++) {
			struct reg *g = reg_new(kind, q);

			check_roundtrip(g);
			reg_free(g);
		}
}

static void test_init_backend_target(void **state)
{
	struct reg *g = *state;
	struct ddvm_layout_params p = g->lp;

	/* copied NUL-padded, and never to the last byte */
	memset(p.backend_target, 'x', sizeof(p.backend_target));
	assert_int_equal(ddvm_region_init(g->base, g->size, &p), 0);
	assert_int_equal(hdr(g)->backend_target[sizeof(hdr(g)->backend_target) - 1], 0);
	assert_int_equal(strnlen((char *)hdr(g)->backend_target, 32), 31);
	memset(p.backend_target, 0, sizeof(p.backend_target));
	strcpy(p.backend_target, "nvme0n1");
	assert_int_equal(ddvm_region_init(g->base, g->size, &p), 0);
	assert_string_equal((char *)hdr(g)->backend_target, "nvme0n1");
	assert_int_equal(hdr(g)->backend_target[7], 0);
	assert_int_equal(hdr(g)->backend_target[31], 0);
}

static void test_attach_copies_layout(void **state)
{
	struct reg *g = *state;
	struct ddvm_region rg;
	struct ddvm_ring_layout saved;

	assert_int_equal(ddvm_region_attach(&rg, g->base, g->size), 0);
	saved = rg.rings[0];
	/* the peer scribbles the header after we attached: our copy does not move */
	memset(hdr(g)->rings, 0xff, sizeof(hdr(g)->rings));
	hdr(g)->num_rings = 16;
	hdr(g)->kind = 99;
	assert_memory_equal(&rg.rings[0], &saved, sizeof(saved));
	assert_int_equal(rg.num_rings, 4);
	assert_int_equal(rg.kind, DDVM_KIND_NET);
}

/* attach_params: the layout from what the supervisor listed, whatever the header says */
static void test_attach_params(void **state)
{
	uint32_t kind, q;

	(void)state;
	for (kind = DDVM_KIND_NET; kind <= DDVM_KIND_BLK; kind++)
		for (q = 1; q <= DDVM_MAX_RINGS / 2; q++) {
			struct reg *g = reg_new(kind, q);
			struct ddvm_region from_hdr, from_p;
			struct ddvm_layout_params p;
			struct ddvm_ring r;

			ddvm_layout_defaults(&p, kind);
			p.num_queues = q;
			assert_int_equal(ddvm_region_attach(&from_hdr, g->base, g->size), 0);
			/* the client scribbles over the whole header first */
			memset(g->base, 0xa5, DDVM_HDR_SIZE);
			assert_int_equal(ddvm_region_attach_params(&from_p, g->base, g->size, &p),
					 0);
			assert_int_equal(from_p.kind, kind);
			assert_int_equal(from_p.num_queues, q);
			assert_int_equal(from_p.num_rings, 2 * q);
			assert_ptr_equal(from_p.base, g->base);
			assert_memory_equal(from_p.rings, from_hdr.rings, sizeof(from_p.rings));
			assert_int_equal(
			    ddvm_region_ring(&from_p, 2 * q - 1, DDVM_SIDE_BACKEND, &r), 0);
			assert_int_equal(ddvm_region_ring(&from_p, 2 * q, DDVM_SIDE_BACKEND, &r),
					 -EINVAL);
			reg_free(g);
		}
}

/* the fingerprint: the same for the same layout, different for any other */
static void test_layout_id(void **state)
{
	struct ddvm_layout_params p, q;
	uint32_t kind, n, ids[2 * (DDVM_MAX_RINGS / 2)], nids = 0, i, j;

	(void)state;
	for (kind = DDVM_KIND_NET; kind <= DDVM_KIND_BLK; kind++)
		for (n = 1; n <= DDVM_MAX_RINGS / 2; n++) {
			ddvm_layout_defaults(&p, kind);
			p.num_queues = n;
			q = p;
			q.channel_id = 77; /* not part of the layout */
			strcpy(q.backend_target, "nvme0n1");
			assert_int_not_equal(ddvm_layout_id(&p), 0);
			assert_int_equal(ddvm_layout_id(&p), ddvm_layout_id(&q));
			q.fe_slot /= 2; /* one slot size of one ring: another layout */
			assert_int_not_equal(ddvm_layout_id(&p), ddvm_layout_id(&q));
			ids[nids++] = ddvm_layout_id(&p);
		}
	for (i = 0; i < nids; i++)
		for (j = i + 1; j < nids; j++)
			assert_int_not_equal(ids[i], ids[j]);
	p.num_queues = 0;
	assert_int_equal(ddvm_layout_id(&p), 0);
}

static void test_attach_params_rejects(void **state)
{
	struct reg *g = *state;
	struct ddvm_region rg;
	struct ddvm_layout_params p = g->lp;

	/* a mapping smaller than the layout the list names (a BAR of another size) */
	assert_int_equal(ddvm_region_attach_params(&rg, g->base, g->size / 2, &p), -EINVAL);
	assert_null(rg.base);
	p.num_queues = DDVM_MAX_RINGS / 2 + 1;
	assert_int_equal(ddvm_region_attach_params(&rg, g->base, g->size, &p), -EINVAL);
	p = g->lp;
	p.kind = 7;
	assert_int_equal(ddvm_region_attach_params(&rg, g->base, g->size, &p), -EINVAL);
	p = g->lp;
	p.num_queues = 0;
	assert_int_equal(ddvm_region_attach_params(&rg, g->base, g->size, &p), -EINVAL);
	assert_int_equal(ddvm_region_ring(&rg, 0, DDVM_SIDE_BACKEND, &(struct ddvm_ring){ 0 }),
			 -EINVAL);
}

static void test_reset_rings_and_status(void **state)
{
	struct reg *g = *state;
	struct ddvm_region rg;
	struct ddvm_ring p, c;
	uint32_t i;

	assert_int_equal(ddvm_region_attach(&rg, g->base, g->size), 0);
	for (i = 0; i < rg.num_rings; i++) {
		struct ddvm_ring_ctl *ctl = (void *)((uint8_t *)g->base + rg.rings[i].ring_off);

		ctl->prod = ctl->cons = ctl->prod_event = ctl->cons_event = 77;
	}
	ddvm_region_reset_rings(&rg);
	for (i = 0; i < rg.num_rings; i++) {
		struct ddvm_ring_ctl *ctl = (void *)((uint8_t *)g->base + rg.rings[i].ring_off);

		assert_int_equal(ctl->prod | ctl->cons | ctl->prod_event | ctl->cons_event, 0);
	}
	/* the rings work after the reset */
	assert_int_equal(ddvm_region_ring(&rg, 0, DDVM_SIDE_FRONTEND, &p), 0);
	assert_int_equal(ddvm_region_ring(&rg, 0, DDVM_SIDE_BACKEND, &c), 0);
	assert_int_equal(ddvm_ring_push(&p, &(struct ddvm_desc){ { 1 } }), 0);
	ddvm_ring_publish(&p);
	assert_int_equal(ddvm_ring_pending(&c), 1);

	ddvm_region_set_backend(&rg, DDVM_STATE_READY, 9);
	assert_int_equal(hdr(g)->backend_state, DDVM_STATE_READY);
	assert_int_equal(hdr(g)->backend_epoch, 9);
	ddvm_region_set_frontend(&rg, DDVM_STATE_BROKEN, 8);
	assert_int_equal(hdr(g)->frontend_state, DDVM_STATE_BROKEN);
	assert_int_equal(hdr(g)->frontend_epoch, 8);
	ddvm_region_heartbeat(&rg);
	ddvm_region_heartbeat(&rg);
	assert_int_equal(hdr(g)->heartbeat, 2);
	hdr(g)->epoch = 5;
	assert_int_equal(ddvm_region_epoch(&rg), 5);
}

/*
 * Sessions (abi.h): the rules every side compiles from ring/region.h. The frontend
 * and backend below are two views of one region, as a client driver and a
 * translation module see it.
 */
static void test_sessions(void **state)
{
	struct reg *g = *state;
	struct ddvm_region fe, be;
	uint32_t s1, s2, s3;

	assert_int_equal(ddvm_region_attach(&fe, g->base, g->size), 0);
	assert_int_equal(ddvm_region_attach(&be, g->base, g->size), 0);
	hdr(g)->epoch = 4;

	/* no request yet: a fresh region asks for nothing */
	assert_int_equal(ddvm_region_session_request(&be, 4, 0), 0);
	assert_false(ddvm_region_session_current(&be, 4, 0));

	/* a client attaches: a nonzero session, ATTACHING at the epoch */
	s1 = ddvm_region_session_begin(&fe, 4);
	assert_int_not_equal(s1, 0);
	assert_int_equal(hdr(g)->frontend_state, DDVM_STATE_ATTACHING);
	assert_int_equal(hdr(g)->frontend_epoch, 4);
	assert_int_equal(hdr(g)->frontend_session, s1);
	/* not served before the backend acked it, nor at another epoch */
	assert_false(ddvm_region_session_served(&fe, 4, s1));
	assert_int_equal(ddvm_region_session_request(&be, 5, 0), 0);
	assert_int_equal(ddvm_region_session_request(&be, 4, 0), s1);
	/* a backend READY at the epoch but for another session does not serve it */
	ddvm_region_session_ack(&be, DDVM_STATE_READY, 4, s1 + 1);
	assert_false(ddvm_region_session_served(&fe, 4, s1));
	ddvm_region_session_ack(&be, DDVM_STATE_ATTACHING, 4, s1);
	assert_false(ddvm_region_session_served(&fe, 4, s1));
	ddvm_region_session_ack(&be, DDVM_STATE_READY, 4, s1);
	assert_true(ddvm_region_session_served(&fe, 4, s1));
	assert_false(ddvm_region_session_served(&fe, 5, s1));
	/* served: no request any more, the client's fields are current while it is
	 * ATTACHING or READY in that session */
	assert_int_equal(ddvm_region_session_request(&be, 4, s1), 0);
	assert_true(ddvm_region_session_current(&be, 4, s1));
	ddvm_region_set_frontend(&fe, DDVM_STATE_READY, 4);
	assert_true(ddvm_region_session_current(&be, 4, s1));
	assert_int_equal(ddvm_region_session_request(&be, 4, s1), 0);
	assert_false(ddvm_region_session_current(&be, 3, s1));
	ddvm_region_set_frontend(&fe, DDVM_STATE_CLOSED, 4);
	assert_false(ddvm_region_session_current(&be, 4, s1));

	/* the client reloads: a new session, never 0, never what the backend serves */
	s2 = ddvm_region_session_begin(&fe, 4);
	assert_int_not_equal(s2, s1);
	assert_int_equal(ddvm_region_session_request(&be, 4, s1), s2);
	assert_false(ddvm_region_session_current(&be, 4, s1));
	assert_false(ddvm_region_session_served(&fe, 4, s2)); /* still s1's READY */

	/* a scribbler that set frontend_session to what the backend serves, or to the
	 * value before 0, cannot make the next session look served already */
	ddvm_region_session_ack(&be, DDVM_STATE_READY, 4, 77);
	hdr(g)->frontend_session = 76;
	s3 = ddvm_region_session_begin(&fe, 4);
	assert_int_equal(s3, 78);
	assert_false(ddvm_region_session_served(&fe, 4, s3));
	hdr(g)->frontend_session = UINT32_MAX;
	ddvm_region_session_ack(&be, DDVM_STATE_READY, 4, 1);
	s3 = ddvm_region_session_begin(&fe, 4);
	assert_int_equal(s3, 2);
	/* a backend that was never asked serves session 0, which no client has */
	ddvm_region_session_ack(&be, DDVM_STATE_READY, 4, 0);
	assert_false(ddvm_region_session_served(&fe, 4, 0));
}

/* The backend's counters (abi.h, ABI 1.2): zero in a fresh region, written word by word
 * with the service's part clamped to the block, and not at all in an older layout. */
static void test_stats_publish(void **state)
{
	struct reg *g = *state;
	struct ddvm_stats *s = &hdr(g)->stats;
	struct ddvm_chan_stats chan = { .interrupts = 1, .polls = 2, .sessions = 6 };
	uint64_t svc[DDVM_STATS_SERVICE_SIZE / 8 + 4];
	struct ddvm_region rg;
	uint32_t i;

	for (i = 0; i < sizeof(svc) / 8; i++)
		svc[i] = 100 + i;
	assert_int_equal(s->magic, 0);
	assert_int_equal(s->updates, 0);
	assert_int_equal(ddvm_region_attach(&rg, g->base, g->size), 0);
	ddvm_region_stats_publish(&rg, 7, &chan, svc, 3 * 8);
	assert_int_equal(s->magic, DDVM_STATS_MAGIC);
	assert_int_equal(s->epoch, 7);
	assert_int_equal(s->updates, 1);
	assert_int_equal(s->chan_size, sizeof(chan));
	assert_int_equal(s->service_size, 3 * 8);
	assert_memory_equal(&s->chan, &chan, sizeof(chan));
	assert_memory_equal(s->service, svc, 3 * 8);
	assert_int_equal(s->service[3 * 8], 0); /* nothing past what was given */
	/* too much: clamped to the block, nothing written past it */
	memset(s->service, 0, sizeof(s->service));
	hdr(g)->tail_reserved[0] = 0x33;
	ddvm_region_stats_publish(&rg, 8, &chan, svc, sizeof(svc));
	assert_int_equal(s->service_size, DDVM_STATS_SERVICE_SIZE);
	assert_memory_equal(s->service, svc, DDVM_STATS_SERVICE_SIZE);
	assert_int_equal(hdr(g)->tail_reserved[0], 0x33);
	assert_int_equal(s->updates, 2);
	/* a region laid out by an ABI 1.1 supervisor has no block: reserved space */
	memset(s, 0, sizeof(*s));
	rg.abi_minor = 1;
	ddvm_region_stats_publish(&rg, 9, &chan, svc, 8);
	assert_int_equal(s->magic, 0);
	assert_int_equal(s->chan.interrupts, 0);
}

static void test_ring_not_attached(void **state)
{
	struct ddvm_region rg;
	struct ddvm_ring r;

	(void)state;
	memset(&rg, 0, sizeof(rg));
	rg.num_rings = 2;
	assert_int_equal(ddvm_region_ring(&rg, 0, DDVM_SIDE_FRONTEND, &r), -EINVAL);
	/* a failed attach leaves nothing usable behind */
	memset(&rg, 0x11, sizeof(rg));
	{
		uint8_t junk[DDVM_HDR_SIZE] = { 0 };

		assert_int_equal(ddvm_region_attach(&rg, junk, sizeof(junk)), -EPROTONOSUPPORT);
	}
	assert_null(rg.base);
	assert_int_equal(rg.num_rings, 0);
	assert_int_equal(ddvm_region_ring(&rg, 0, DDVM_SIDE_FRONTEND, &r), -EINVAL);
}

/* --- attach rejects ---------------------------------------------------------------------- */

/* Where the last ring or payload area of a header ends. */
static uint64_t layout_end(const struct ddvm_region_hdr *h)
{
	uint64_t end = 0;
	uint32_t i;

	for (i = 0; i < h->num_rings; i++) {
		const struct ddvm_ring_layout *l = &h->rings[i];

		if (l->ring_off + DDVM_RING_BYTES(l->entries) > end)
			end = l->ring_off + DDVM_RING_BYTES(l->entries);
		if (l->data_size && (uint64_t)l->data_off + l->data_size > end)
			end = (uint64_t)l->data_off + l->data_size;
	}
	return end;
}

static void expect_attach(struct reg *g, uint64_t mapped, int want, const char *what)
{
	struct ddvm_region rg;
	int rc = ddvm_region_attach(&rg, g->base, mapped);

	if (rc != want)
		fail_msg("%s: attach returned %d, want %d", what, rc, want);
	if (rc)
		assert_null(rg.base);
}

/* Apply one corruption to a fresh copy of a valid region and check the verdict. */
#define CASE(want, what, stmt)                                                                     \
	do {                                                                                       \
		struct ddvm_region_hdr *h = hdr(g);                                                \
		struct ddvm_ring_layout *r0 = &h->rings[0], *r1 = &h->rings[1];                    \
		struct ddvm_ring_layout *r2 = &h->rings[2];                                        \
		(void)r0;                                                                          \
		(void)r1;                                                                          \
		(void)r2;                                                                          \
		memcpy(g->base, pristine, DDVM_HDR_SIZE);                                          \
		stmt;                                                                              \
		expect_attach(g, g->size, want, what);                                             \
	} while (0)

static void test_attach_rejects(void **state)
{
	struct reg *g = *state;
	uint8_t pristine[DDVM_HDR_SIZE];
	struct ddvm_region rg;

	memcpy(pristine, g->base, DDVM_HDR_SIZE);
	assert_int_equal(hdr(g)->num_rings, 4);
	assert_int_not_equal(hdr(g)->rings[0].data_size, 0);

	CASE(0, "pristine", (void)0);
	CASE(0, "newer minor", h->abi_minor = DDVM_ABI_MINOR + 7);
	CASE(0, "region_size < mapped, rings inside", h->region_size = layout_end(h));
	CASE(-EINVAL, "region_size cuts the last area", h->region_size = layout_end(h) - 1);

	CASE(-EPROTONOSUPPORT, "bad magic", h->magic ^= 1);
	CASE(-EPROTONOSUPPORT, "zero magic", h->magic = 0);
	CASE(-EPROTONOSUPPORT, "major + 1", h->abi_major = DDVM_ABI_MAJOR + 1);
	CASE(-EPROTONOSUPPORT, "major 0", h->abi_major = 0);

	CASE(-EINVAL, "region_size > mapped", h->region_size = g->size + 1);
	CASE(-EINVAL, "region_size huge", h->region_size = ~0ull);
	CASE(-EINVAL, "region_size < header", h->region_size = DDVM_HDR_SIZE - 1);
	CASE(-EINVAL, "kind none", h->kind = DDVM_KIND_NONE);
	CASE(-EINVAL, "kind 3", h->kind = 3);
	CASE(-EINVAL, "kind huge", h->kind = 0x80000001u);
	CASE(-EINVAL, "num_queues 0", (h->num_queues = 0, h->num_rings = 0));
	CASE(-EINVAL, "num_queues 9", (h->num_queues = 9, h->num_rings = 18));
	CASE(-EINVAL, "num_queues wraps", (h->num_queues = 0x80000002u, h->num_rings = 4));
	CASE(-EINVAL, "num_rings odd", h->num_rings = 3);
	CASE(-EINVAL, "num_rings mismatch", h->num_rings = 2);
	CASE(-EINVAL, "num_rings too many", h->num_rings = 17);

	CASE(-EINVAL, "entries 0", r1->entries = 0);
	CASE(-EINVAL, "entries non-pow2", r1->entries = 100);
	CASE(-EINVAL, "entries too many", r1->entries = DDVM_RING_MAX_ENTRIES * 2);
	CASE(-EINVAL, "entries huge", r1->entries = 0x80000000u);
	CASE(-EINVAL, "ring_off misaligned", r1->ring_off += 8);
	CASE(-EINVAL, "ring_off in header", r0->ring_off = 0);
	CASE(-EINVAL, "ring_off just below header", r0->ring_off = DDVM_HDR_SIZE - 64);
	CASE(-EINVAL, "ring past end",
	     r1->ring_off = (uint32_t)(g->size - DDVM_RING_BYTES(r1->entries) + 64));
	CASE(-EINVAL, "ring_off huge", r1->ring_off = 0xffffffc0u);
	CASE(-EINVAL, "producer swapped", r0->producer = DDVM_SIDE_BACKEND);
	CASE(-EINVAL, "producer bogus", r1->producer = 7);
	CASE(-EINVAL, "vector wrong", r2->vector = DDVM_VECTOR_QUEUE(0));
	CASE(-EINVAL, "vector control", r0->vector = DDVM_VECTOR_CONTROL);

	CASE(-EINVAL, "data_size != entries * slot", r0->data_size -= 1);
	CASE(-EINVAL, "slot 0 with data", (r0->slot_size = 0));
	CASE(-EINVAL, "slot too big",
	     (r0->slot_size = DDVM_SLOT_MAX * 2, r0->data_size = r0->entries * r0->slot_size));
	CASE(-EINVAL, "data_off in header", r0->data_off = 0);
	CASE(-EINVAL, "data past end", r0->data_off = (uint32_t)(g->size - r0->data_size + 4096));
	CASE(-EINVAL, "data_off + data_size wraps 32 bits", r0->data_off = 0xfffff000u);
	CASE(-EINVAL, "data overlaps other data", r2->data_off = r0->data_off + 4096);
	CASE(-EINVAL, "data overlaps a ring", r0->data_off = r1->ring_off & ~4095u);
	CASE(-EINVAL, "ring overlaps data", r1->ring_off = r0->data_off + 64);
	CASE(-EINVAL, "ring overlaps ring", r1->ring_off = r0->ring_off + 128);
	CASE(-EINVAL, "two rings at one offset", r2->ring_off = r0->ring_off);

	/* mapped sizes */
	memcpy(g->base, pristine, DDVM_HDR_SIZE);
	expect_attach(g, DDVM_HDR_SIZE - 1, -EINVAL, "mapped < header");
	expect_attach(g, 0, -EINVAL, "mapped 0");
	expect_attach(g, g->size - 1, -EINVAL, "mapped < region_size");
	expect_attach(g, g->size * 2, 0, "mapped > region_size");

	/* a ring without payload: data_off is ignored when data_size is 0 */
	memcpy(g->base, pristine, DDVM_HDR_SIZE);
	hdr(g)->rings[1].data_size = 0;
	hdr(g)->rings[1].slot_size = 0;
	hdr(g)->rings[1].data_off = 0xdeadbeefu;
	assert_int_equal(ddvm_region_attach(&rg, g->base, g->size), 0);
	assert_int_equal(ddvm_region_ring(&rg, 1, DDVM_SIDE_BACKEND, &(struct ddvm_ring){ 0 }), 0);
}

/* BLK: the response ring has no data; a hostile header that gives it some must still
 * be checked in full. */
static void test_attach_rejects_blk(void **state)
{
	struct reg *g = *state;
	uint8_t pristine[DDVM_HDR_SIZE];

	memcpy(pristine, g->base, DDVM_HDR_SIZE);
	assert_int_equal(hdr(g)->rings[1].data_size, 0);
	CASE(0, "pristine", (void)0);
	CASE(-EINVAL, "rsp data over req data",
	     (r1->slot_size = 64, r1->data_size = 64 * r1->entries, r1->data_off = r0->data_off));
	CASE(-EINVAL, "rsp data over header",
	     (r1->slot_size = 64, r1->data_size = 64 * r1->entries, r1->data_off = 64));
	CASE(-EINVAL, "rsp data slot/size mismatch",
	     (r1->slot_size = 64, r1->data_size = 65 * r1->entries, r1->data_off = 4096 * 3));
	CASE(-EINVAL, "kind net with blk ring count", h->num_queues = 2);
}
#undef CASE

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_layout_size_valid),
		cmocka_unit_test(test_layout_size_invalid),
		cmocka_unit_test(test_init_too_small),
		cmocka_unit_test_setup_teardown(test_roundtrip_net, setup_net, teardown),
		cmocka_unit_test_setup_teardown(test_roundtrip_blk, setup_blk, teardown),
		cmocka_unit_test(test_roundtrip_all_queue_counts),
		cmocka_unit_test_setup_teardown(test_init_backend_target, setup_net, teardown),
		cmocka_unit_test_setup_teardown(test_attach_copies_layout, setup_net, teardown),
		cmocka_unit_test(test_attach_params),
		cmocka_unit_test(test_layout_id),
		cmocka_unit_test_setup_teardown(test_attach_params_rejects, setup_net, teardown),
		cmocka_unit_test_setup_teardown(test_reset_rings_and_status, setup_net, teardown),
		cmocka_unit_test_setup_teardown(test_sessions, setup_net, teardown),
		cmocka_unit_test_setup_teardown(test_stats_publish, setup_net, teardown),
		cmocka_unit_test(test_ring_not_attached),
		cmocka_unit_test_setup_teardown(test_attach_rejects, setup_net, teardown),
		cmocka_unit_test_setup_teardown(test_attach_rejects_blk, setup_blk, teardown),
	};

	return cmocka_run_group_tests_name("region", tests, NULL, NULL);
}
