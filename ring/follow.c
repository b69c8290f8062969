/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Following a channel's state from the frontend side (see follow.h).
 */
#include "follow.h"

enum ddvm_follow_action ddvm_follow(const struct ddvm_follower *f, const struct ddvm_region *rg)
{
	const struct ddvm_region_hdr *h = rg->hdr;
	uint32_t epoch;

	/* First: the supervisor clears the flag before it publishes the epoch that
	 * revives the channel, so while it is set no epoch of ours will be served. */
	if (ddvm_read32(&h->ctl_flags) & DDVM_CTL_BACKEND_GONE)
		return DDVM_FOLLOW_GONE;
	/* acquire: a client that sees the new epoch sees the rings the supervisor zeroed */
	epoch = ddvm_load_acquire(&h->epoch);
	if (!f->session || epoch != f->epoch)
		return DDVM_FOLLOW_RECONNECT;
	if (f->broken)
		return DDVM_FOLLOW_BROKEN;
	if (ddvm_region_session_served(rg, epoch, f->session))
		return f->connected ? DDVM_FOLLOW_CONNECTED : DDVM_FOLLOW_CONNECT;
	if (!f->connected)
		return DDVM_FOLLOW_WAIT;
	/* We were served and are not any more. A backend that says BROKEN in our session
	 * at our epoch stopped the rings (the supervisor starts a new epoch); anything
	 * else (ABSENT, ATTACHING, CLOSED, another session or epoch) is a backend that
	 * restarts or reset: it serves only a new session, asked for while ATTACHING. */
	if (ddvm_load_acquire(&h->backend_state) == DDVM_STATE_BROKEN &&
	    ddvm_read32(&h->backend_epoch) == epoch &&
	    ddvm_read32(&h->backend_session) == f->session)
		return DDVM_FOLLOW_BROKEN;
	return DDVM_FOLLOW_RECONNECT;
}

uint32_t ddvm_follower_begin(struct ddvm_follower *f, const struct ddvm_region *rg)
{
	f->epoch = ddvm_load_acquire(&rg->hdr->epoch);
	f->session = ddvm_region_session_begin(rg, f->epoch);
	f->connected = false;
	f->broken = false;
	return f->epoch;
}

void ddvm_follower_connect(struct ddvm_follower *f, const struct ddvm_region *rg)
{
	f->connected = true;
	ddvm_region_set_frontend(rg, DDVM_STATE_READY, f->epoch);
}

void ddvm_follower_break(struct ddvm_follower *f, const struct ddvm_region *rg)
{
	f->broken = true;
	f->connected = false;
	ddvm_region_set_frontend(rg, DDVM_STATE_BROKEN, f->epoch);
}

bool ddvm_follower_reassert(const struct ddvm_follower *f, const struct ddvm_region *rg)
{
	uint32_t want;

	if (f->broken)
		want = DDVM_STATE_BROKEN;
	else if (f->connected)
		want = DDVM_STATE_READY;
	else
		return false; /* a session being asked for: session_begin's to write */
	if (ddvm_load_acquire(&rg->hdr->frontend_state) == want &&
	    ddvm_read32(&rg->hdr->frontend_epoch) == f->epoch)
		return false;
	ddvm_region_set_frontend(rg, want, f->epoch);
	return true;
}

const char *ddvm_follow_name(enum ddvm_follow_action a)
{
	switch (a) {
	case DDVM_FOLLOW_GONE:
		return "gone";
	case DDVM_FOLLOW_RECONNECT:
		return "reconnect";
	case DDVM_FOLLOW_BROKEN:
		return "broken";
	case DDVM_FOLLOW_WAIT:
		return "wait";
	case DDVM_FOLLOW_CONNECT:
		return "connect";
	case DDVM_FOLLOW_CONNECTED:
		return "connected";
	}
	return "?";
}
