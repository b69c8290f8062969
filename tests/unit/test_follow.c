/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of ring/follow.c: the frontend's channel-state rules, one test per rule,
 * driven the way every client (blkfront, netfront, libddvm, newos) drives them. The
 * backend and the supervisor are played here by writing the header as they do
 * (region.h's session calls; the epoch, backend state and ctl_flags directly).
 *
 * Built with ASan+UBSan against libddvmring-san.a.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ddvm/abi.h"
#include "follow.h"

struct fx {
	void *base;
	struct ddvm_region rg;
	struct ddvm_follower f;
	uint32_t serving; /* the backend's private copy of the session it serves */
};

static int setup(void **state)
{
	struct ddvm_layout_params lp;
	struct fx *x = calloc(1, sizeof(*x));
	uint64_t size;

	assert_non_null(x);
	ddvm_layout_defaults(&lp, DDVM_KIND_BLK);
	size = ddvm_layout_size(&lp);
	x->base = aligned_alloc(4096, size);
	assert_non_null(x->base);
	assert_int_equal(ddvm_region_init(x->base, size, &lp), 0);
	assert_int_equal(ddvm_region_attach(&x->rg, x->base, size), 0);
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;

	free(x->base);
	free(x);
	return 0;
}

static struct ddvm_region_hdr *H(struct fx *x)
{
	return x->rg.hdr;
}

/* The backend as blkback/netback: serve what the frontend asks for at the epoch. */
static void backend_serve(struct fx *x, uint32_t state)
{
	uint32_t epoch = ddvm_region_epoch(&x->rg);
	uint32_t s = ddvm_region_session_request(&x->rg, epoch, x->serving);

	if (s)
		x->serving = s;
	ddvm_region_session_ack(&x->rg, state, epoch, x->serving);
}

/* The supervisor as channel__new_epoch(): backend ABSENT, flag cleared, epoch last. */
static void supervisor_new_epoch(struct fx *x)
{
	uint32_t e = ddvm_region_epoch(&x->rg) + 1;

	ddvm_region_set_backend(&x->rg, DDVM_STATE_ABSENT, e);
	H(x)->ctl_flags &= ~DDVM_CTL_BACKEND_GONE;
	ddvm_region_reset_rings(&x->rg);
	ddvm_store_release(&H(x)->epoch, e);
	x->serving = 0; /* a new driver VM */
}

/* A client's loop body: act on RECONNECT and CONNECT, return what it saw. */
static enum ddvm_follow_action step(struct fx *x)
{
	enum ddvm_follow_action a = ddvm_follow(&x->f, &x->rg);

	if (a == DDVM_FOLLOW_RECONNECT)
		ddvm_follower_begin(&x->f, &x->rg);
	else if (a == DDVM_FOLLOW_CONNECT)
		ddvm_follower_connect(&x->f, &x->rg);
	return a;
}

static void connect_now(struct fx *x)
{
	assert_int_equal(step(x), DDVM_FOLLOW_RECONNECT);
	backend_serve(x, DDVM_STATE_READY);
	assert_int_equal(step(x), DDVM_FOLLOW_CONNECT);
	assert_int_equal(step(x), DDVM_FOLLOW_CONNECTED);
}

/* Fresh region: no session yet, so ask for one; then wait for a backend. */
static void test_fresh_region(void **state)
{
	struct fx *x = *state;

	assert_int_equal(ddvm_follow(&x->f, &x->rg), DDVM_FOLLOW_RECONNECT);
	assert_int_equal(ddvm_follower_begin(&x->f, &x->rg), 1);
	assert_int_not_equal(x->f.session, 0);
	assert_int_equal(H(x)->frontend_state, DDVM_STATE_ATTACHING);
	assert_int_equal(H(x)->frontend_session, x->f.session);
	assert_int_equal(H(x)->frontend_epoch, 1);
	for (int i = 0; i < 3; i++)
		assert_int_equal(ddvm_follow(&x->f, &x->rg), DDVM_FOLLOW_WAIT);
}

/* A backend ATTACHING (its device not there yet) in our session is not READY. */
static void test_backend_attaching(void **state)
{
	struct fx *x = *state;

	assert_int_equal(step(x), DDVM_FOLLOW_RECONNECT);
	backend_serve(x, DDVM_STATE_ATTACHING);
	assert_int_equal(H(x)->backend_session, x->f.session);
	assert_int_equal(step(x), DDVM_FOLLOW_WAIT);
	/* READY at an older epoch is not READY now */
	ddvm_region_session_ack(&x->rg, DDVM_STATE_READY, 0, x->f.session);
	assert_int_equal(step(x), DDVM_FOLLOW_WAIT);
}

/* READY in our session at our epoch: connect once, then steady. */
static void test_ready(void **state)
{
	struct fx *x = *state;

	connect_now(x);
	assert_int_equal(H(x)->frontend_state, DDVM_STATE_READY);
	assert_int_equal(H(x)->frontend_epoch, x->f.epoch);
	assert_true(x->f.connected);
	assert_int_equal(step(x), DDVM_FOLLOW_CONNECTED);
}

/* A new epoch while I/O is in flight: reconnect in a new session at the new epoch;
 * the backend's READY of the old epoch does not count. */
static void test_new_epoch_mid_io(void **state)
{
	struct fx *x = *state;
	uint32_t old_session;

	connect_now(x);
	old_session = x->f.session;
	/* the epoch alone moves (channel__new_session: the driver VM lives on) */
	ddvm_store_release(&H(x)->epoch, 2);
	assert_int_equal(step(x), DDVM_FOLLOW_RECONNECT);
	assert_int_equal(x->f.epoch, 2);
	assert_int_not_equal(x->f.session, old_session);
	assert_false(x->f.connected);
	assert_int_equal(step(x), DDVM_FOLLOW_WAIT); /* backend still READY at epoch 1 */
	backend_serve(x, DDVM_STATE_READY);
	assert_int_equal(step(x), DDVM_FOLLOW_CONNECT);

	/* a driver VM restart: backend ABSENT first, at the same epoch for a moment */
	ddvm_region_set_backend(&x->rg, DDVM_STATE_ABSENT, 2);
	assert_int_equal(step(x), DDVM_FOLLOW_RECONNECT);
	assert_int_equal(step(x), DDVM_FOLLOW_WAIT);
	supervisor_new_epoch(x);
	assert_int_equal(step(x), DDVM_FOLLOW_RECONNECT);
	assert_int_equal(x->f.epoch, 3);
	backend_serve(x, DDVM_STATE_READY);
	assert_int_equal(step(x), DDVM_FOLLOW_CONNECT);
}

/* The backend serves a session that is not ours (another client wrote the region, or
 * an older one): before we connect, wait; once connected, reconnect. */
static void test_served_other_session(void **state)
{
	struct fx *x = *state;

	assert_int_equal(step(x), DDVM_FOLLOW_RECONNECT);
	ddvm_region_session_ack(&x->rg, DDVM_STATE_READY, 1, x->f.session + 7);
	assert_int_equal(step(x), DDVM_FOLLOW_WAIT);
	backend_serve(x, DDVM_STATE_READY);
	assert_int_equal(step(x), DDVM_FOLLOW_CONNECT);
	ddvm_region_session_ack(&x->rg, DDVM_STATE_READY, 1, x->f.session + 1);
	assert_int_equal(step(x), DDVM_FOLLOW_RECONNECT);
	/* our new session never equals what the backend claims to serve */
	assert_int_not_equal(x->f.session, H(x)->backend_session);
	assert_int_equal(step(x), DDVM_FOLLOW_WAIT);
	/* a session of 0 is never served */
	ddvm_region_session_ack(&x->rg, DDVM_STATE_READY, 1, 0);
	assert_int_equal(step(x), DDVM_FOLLOW_WAIT);
}

/* The backend detached cleanly (CLOSED) in our session: a reloaded translation module
 * serves only a new session, so reconnect rather than stop. */
static void test_backend_closed(void **state)
{
	struct fx *x = *state;

	connect_now(x);
	ddvm_region_set_backend(&x->rg, DDVM_STATE_CLOSED, x->f.epoch);
	assert_int_equal(step(x), DDVM_FOLLOW_RECONNECT);
	backend_serve(x, DDVM_STATE_READY);
	assert_int_equal(step(x), DDVM_FOLLOW_CONNECT);
}

/* The supervisor gave up (backend BROKEN + BACKEND_GONE): GONE whatever we were, until
 * `ddvm restart` clears the flag with a new epoch; then a new session. */
static void test_gone_then_new_epoch(void **state)
{
	struct fx *x = *state;
	int i;

	connect_now(x);
	ddvm_region_set_backend(&x->rg, DDVM_STATE_BROKEN, x->f.epoch);
	H(x)->ctl_flags |= DDVM_CTL_BACKEND_GONE;
	for (i = 0; i < 3; i++)
		assert_int_equal(step(x), DDVM_FOLLOW_GONE);
	/* a frontend that broke too, or one still waiting: GONE as well */
	ddvm_follower_break(&x->f, &x->rg);
	assert_int_equal(step(x), DDVM_FOLLOW_GONE);
	memset(&x->f, 0, sizeof(x->f));
	assert_int_equal(step(x), DDVM_FOLLOW_GONE);
	/* the epoch bumps of failed restarts change nothing while the flag is set */
	ddvm_store_release(&H(x)->epoch, H(x)->epoch + 1);
	assert_int_equal(step(x), DDVM_FOLLOW_GONE);
	/* `ddvm restart VM` */
	supervisor_new_epoch(x);
	assert_int_equal(step(x), DDVM_FOLLOW_RECONNECT);
	assert_int_equal(step(x), DDVM_FOLLOW_WAIT);
	backend_serve(x, DDVM_STATE_READY);
	assert_int_equal(step(x), DDVM_FOLLOW_CONNECT);
	assert_int_equal(step(x), DDVM_FOLLOW_CONNECTED);
}

/* We saw a protocol violation: BROKEN, published, whatever the backend says, until a
 * new epoch. */
static void test_broken_by_frontend(void **state)
{
	struct fx *x = *state;

	connect_now(x);
	ddvm_follower_break(&x->f, &x->rg);
	assert_int_equal(H(x)->frontend_state, DDVM_STATE_BROKEN);
	assert_int_equal(H(x)->frontend_epoch, x->f.epoch);
	assert_int_equal(step(x), DDVM_FOLLOW_BROKEN);
	backend_serve(x, DDVM_STATE_READY); /* still READY in our session */
	assert_int_equal(step(x), DDVM_FOLLOW_BROKEN);
	ddvm_region_set_backend(&x->rg, DDVM_STATE_ABSENT, x->f.epoch);
	assert_int_equal(step(x), DDVM_FOLLOW_BROKEN);
	supervisor_new_epoch(x);
	assert_int_equal(step(x), DDVM_FOLLOW_RECONNECT);
	backend_serve(x, DDVM_STATE_READY);
	assert_int_equal(step(x), DDVM_FOLLOW_CONNECT);
}

/* The backend says BROKEN in our session at our epoch: stop until a new epoch. The
 * same BROKEN for another session or epoch is a backend that reset: reconnect. */
static void test_broken_by_backend(void **state)
{
	struct fx *x = *state;

	connect_now(x);
	ddvm_region_session_ack(&x->rg, DDVM_STATE_BROKEN, x->f.epoch, x->f.session);
	assert_int_equal(step(x), DDVM_FOLLOW_BROKEN);
	assert_int_equal(step(x), DDVM_FOLLOW_BROKEN);
	ddvm_store_release(&H(x)->epoch, x->f.epoch + 1);
	assert_int_equal(step(x), DDVM_FOLLOW_RECONNECT);
	backend_serve(x, DDVM_STATE_READY);
	assert_int_equal(step(x), DDVM_FOLLOW_CONNECT);
	ddvm_region_session_ack(&x->rg, DDVM_STATE_BROKEN, x->f.epoch, x->f.session + 1);
	assert_int_equal(step(x), DDVM_FOLLOW_RECONNECT);
	/* before we connect, a backend BROKEN in our session is one to wait out */
	ddvm_region_session_ack(&x->rg, DDVM_STATE_BROKEN, x->f.epoch, x->f.session);
	assert_int_equal(step(x), DDVM_FOLLOW_WAIT);
}

/* Our published status comes back after a peer overwrote it: BROKEN (hidden under
 * READY by a client's own hostile writer), READY while connected; nothing is written
 * while a session is being asked for. */
static void test_reassert(void **state)
{
	struct fx *x = *state;

	assert_int_equal(step(x), DDVM_FOLLOW_RECONNECT);
	ddvm_region_set_frontend(&x->rg, DDVM_STATE_ABSENT, x->f.epoch);
	assert_false(ddvm_follower_reassert(&x->f, &x->rg)); /* attaching: not ours to fix */
	backend_serve(x, DDVM_STATE_READY);
	ddvm_follower_begin(&x->f, &x->rg);
	backend_serve(x, DDVM_STATE_READY);
	assert_int_equal(step(x), DDVM_FOLLOW_CONNECT);
	assert_false(ddvm_follower_reassert(&x->f, &x->rg));
	ddvm_region_set_frontend(&x->rg, DDVM_STATE_CLOSED, x->f.epoch);
	assert_true(ddvm_follower_reassert(&x->f, &x->rg));
	assert_int_equal(H(x)->frontend_state, DDVM_STATE_READY);
	ddvm_follower_break(&x->f, &x->rg);
	ddvm_region_set_frontend(&x->rg, DDVM_STATE_READY, x->f.epoch); /* the complaint hidden */
	assert_true(ddvm_follower_reassert(&x->f, &x->rg));
	assert_int_equal(H(x)->frontend_state, DDVM_STATE_BROKEN);
	assert_int_equal(H(x)->frontend_epoch, x->f.epoch);
	ddvm_region_set_frontend(&x->rg, DDVM_STATE_BROKEN, x->f.epoch + 7); /* another epoch */
	assert_true(ddvm_follower_reassert(&x->f, &x->rg));
	assert_int_equal(H(x)->frontend_epoch, x->f.epoch);
	assert_false(ddvm_follower_reassert(&x->f, &x->rg));
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(ddvm_follow_name(DDVM_FOLLOW_GONE), "gone");
	assert_string_equal(ddvm_follow_name(DDVM_FOLLOW_CONNECTED), "connected");
	assert_string_equal(ddvm_follow_name((enum ddvm_follow_action)99), "?");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_fresh_region),
		T(test_backend_attaching),
		T(test_ready),
		T(test_new_epoch_mid_io),
		T(test_served_other_session),
		T(test_backend_closed),
		T(test_gone_then_new_epoch),
		T(test_broken_by_frontend),
		T(test_broken_by_backend),
		T(test_reassert),
		T(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
