/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Following a channel's state from the frontend side: the one copy of the rules every
 * client (the Linux frontends, libddvm, newos) applies to the header it reads.
 *
 * The client keeps a struct ddvm_follower and, whenever it looks at the header (a
 * control doorbell, a timer, before I/O), asks ddvm_follow() what to do. The answer
 * is one of enum ddvm_follow_action, in the terms of Xen's xenbus states:
 *
 *   GONE       the supervisor gave up restarting the driver VM (DDVM_CTL_BACKEND_GONE):
 *              fail every request now, accept none; keep watching, `ddvm restart VM`
 *              clears the flag and starts a new epoch.
 *   RECONNECT  a new epoch (driver VM restarted, channel reset), no session yet, or
 *              the backend stopped serving our session without breaking it (it went
 *              ABSENT, ATTACHING, CLOSED, or reset for another session): take the
 *              in-flight requests back (resend them later, or fail them), reset our own
 *              ring fields, then ddvm_follower_begin().
 *   BROKEN     the rings are stopped until a new epoch: we saw a protocol violation
 *              (ddvm_follower_break()), or the backend says BROKEN in our session.
 *              Fail I/O; the supervisor restarts or resets the channel.
 *   WAIT       a session is asked for; the backend does not serve it yet.
 *   CONNECT    the backend serves our session at the current epoch (READY, after its
 *              reset): take the device description, ddvm_follower_connect(), start I/O.
 *   CONNECTED  nothing changed: keep going.
 *
 * Pure logic over shared fields read once each (never trusted beyond "which action"),
 * no allocation, no OS calls: compiled into the kernel modules, libddvm, newos and the
 * unit tests like ring.c and region.c. See docs/channel.md, "Following the state".
 */
#ifndef DDVM_FOLLOW_H
#define DDVM_FOLLOW_H

#include "region.h"

enum ddvm_follow_action {
	DDVM_FOLLOW_GONE = 0,
	DDVM_FOLLOW_RECONNECT = 1,
	DDVM_FOLLOW_BROKEN = 2,
	DDVM_FOLLOW_WAIT = 3,
	DDVM_FOLLOW_CONNECT = 4,
	DDVM_FOLLOW_CONNECTED = 5,
};

/* The frontend's own side: private, never in shared memory. Zeroed = no session. */
struct ddvm_follower {
	uint32_t epoch;	  /* epoch our session, and our rings, belong to */
	uint32_t session; /* our session (abi.h "Sessions"); 0: none asked yet */
	bool connected;	  /* we published READY in this session: the rings carry I/O */
	bool broken;	  /* rings stopped at this epoch (either side broke them) */
};

/* What to do now, from the header as it is and what we are. */
enum ddvm_follow_action ddvm_follow(const struct ddvm_follower *f, const struct ddvm_region *rg);

/* RECONNECT: our own ring fields are already reset (the backend may look as soon as
 * we are ATTACHING). Asks for a session at the current epoch; returns the epoch. The
 * caller rings the backend's control vector. */
uint32_t ddvm_follower_begin(struct ddvm_follower *f, const struct ddvm_region *rg);

/* CONNECT: publish READY for our session's epoch. */
void ddvm_follower_connect(struct ddvm_follower *f, const struct ddvm_region *rg);

/* We saw the backend break the protocol: publish BROKEN, stop until a new epoch. */
void ddvm_follower_break(struct ddvm_follower *f, const struct ddvm_region *rg);

/* Our status in the header as we last published it (READY while connected, BROKEN
 * once we broke): written again if something else is there. A peer can overwrite the
 * field -- a client's own hostile writer hid its complaint (BROKEN) under READY, and
 * the supervisor, which acts on what the header says, never started the new session
 * the client waited for: its channel stayed dead until the driver VM restarted.
 * Called from each client's periodic watch, as the backends re-assert theirs every
 * heartbeat. Returns true when it had to write. */
bool ddvm_follower_reassert(const struct ddvm_follower *f, const struct ddvm_region *rg);

/* For logs: "gone", "reconnect", ... */
const char *ddvm_follow_name(enum ddvm_follow_action a);

#endif /* DDVM_FOLLOW_H */
