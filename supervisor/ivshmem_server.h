/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * An ivshmem-server for one ddvm channel.
 *
 * Speaks the protocol of QEMU's docs/specs/ivshmem-spec.rst, so an unmodified QEMU
 * `-device ivshmem-doorbell,chardev=...` and any host process can be a peer. Messages
 * are 8-byte little-endian integers, some carrying one file descriptor (SCM_RIGHTS):
 *
 *   to a new peer:   0 (protocol version), its own id, -1 + shm fd,
 *                    then for every other connected peer P: P + eventfd, once per vector,
 *                    then its own id + eventfd, once per vector
 *   to the others:   new peer's id + eventfd, once per vector
 *   when a peer goes: its id with no fd, to everyone left
 *
 * ddvm differences from QEMU's contrib server:
 *  - Peers come by ROLE: each listening socket is one role (driver VM, client, host
 *    tool), one peer per role at a time. Role K (0, 1 or 2) gives its peers the ids K,
 *    K + 4, K + 8, ... in turn: a peer that connects after its predecessor left gets a
 *    FRESH id (never reused), and from its role's own series, so a peer that reconnects
 *    without end uses up its role's ids only (16,384 of them; then the role is refused)
 *    and never another role's (the rule is include/ddvm/abi.h's, "Peer ids"). Reusing
 *    an id is not an option with QEMU 7.2: its ivshmem frees a departed peer's eventfd
 *    array without forgetting it (close_peer_eventfds), and a later peer with the same
 *    id writes into the freed array — heap corruption in every other VM of the
 *    channel. Whoever needs the current id (the channel header's
 *    backend_peer/frontend_peer) learns it from the event callback.
 *  - One HIDDEN role (ivshmem_server__add_hidden_role; a warm spare's) gives its peers
 *    the ids 7, 11, 15, ... and introduces them to no other peer: it hears of the
 *    others (and can ring them), but nobody can ring it but the server, until
 *    ivshmem_server__promote() moves it into a role that is not hidden.
 *  - Peers never talk to the server. Anything a peer sends is a protocol violation and
 *    closes that peer. Sends never block: a peer that lets its socket fill up is closed.
 *  - Only peers running as our own uid (or root) are accepted.
 *  - A private peer (ivshmem_server__add_private): an id with one eventfd that has no
 *    socket and no VM behind it, introduced to the holder of ONE role only. Only that
 *    peer can ring it; the supervisor reads it (the driver VM's health doorbell).
 *
 * The caller owns the poll loop: ivshmem_server__pollfds() fills pollfd entries,
 * ivshmem_server__handle() consumes their revents. No threads, no timers, so a test
 * can run the real server in a thread of its own.
 */
#ifndef DDVM_IVSHMEM_SERVER_H
#define DDVM_IVSHMEM_SERVER_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#define IVSHMEM_PROTOCOL_VERSION   0
#define IVSHMEM_SERVER_MAX_ROLES   5	 /* listening sockets (= peer ids) per server */
#define IVSHMEM_SERVER_MAX_VECTORS 64	 /* eventfds per peer; QEMU's MSI-X table is small */
#define IVSHMEM_MAX_PEER_ID	   65535 /* QEMU's IVSHMEM_MAX_PEERS */
#define IVSHMEM_SERVER_ID_STRIDE   4	 /* a role's ids: K, K + 4, K + 8, ... */
#define IVSHMEM_SERVER_HIDDEN_ID   7	 /* the hidden role's first id (then + 4) */

/* pollfd entries one server can ask for: a listener and a peer per role. */
#define IVSHMEM_SERVER_MAX_POLLFDS (2 * IVSHMEM_SERVER_MAX_ROLES)

struct ivshmem_peer {
	int sock;    /* -1 when nobody holds this role */
	uint16_t id; /* current peer id of the role's holder */
	int eventfds[IVSHMEM_SERVER_MAX_VECTORS];
};

struct ivshmem_role {
	char path[108]; /* sun_path */
	int listen_fd;
	uint16_t peer_id; /* the role's key (and the id of its first peer, unless hidden) */
	int hidden;	  /* its peer is introduced to nobody (add_hidden_role) */
	uint32_t next_id; /* the id its next peer gets (the role's series, above) */
	struct ivshmem_peer peer;
};

struct ivshmem_server_stats {
	uint64_t connects;
	uint64_t disconnects;
	uint64_t rejected;   /* refused: id taken, wrong uid, setup failed */
	uint64_t violations; /* peers closed for breaking the protocol */
};

/* Optional callback: a peer took ROLE with id ID (up=1), or left it (up=0). */
typedef void (*ivshmem_server_event_fn)(void *opaque, uint16_t role, uint16_t id, int up);

struct ivshmem_server {
	int shm_fd;	  /* not owned: the caller created the region and closes it */
	unsigned vectors; /* eventfds per peer */
	unsigned nr_roles;
	struct ivshmem_role roles[IVSHMEM_SERVER_MAX_ROLES];
	struct ivshmem_server_stats stats;
	ivshmem_server_event_fn event;
	void *event_opaque;
	int private_fd; /* the private peer's eventfd (vector 0), or -1 */
	uint16_t private_id;
	uint16_t private_role; /* the only role it is introduced to */
	const char *name;      /* for log lines */
	/* Lines about refused or failed peers: at most IVSHMEM_NOTES_MAX per
	 * IVSHMEM_NOTES_WINDOW_MS, so that a process connecting in a loop cannot grow the
	 * supervisor's log (in RUNDIR: /run, memory) without bound. */
	uint64_t notes_window_ms;
	unsigned notes, notes_dropped;
};

#define IVSHMEM_NOTES_MAX	10
#define IVSHMEM_NOTES_WINDOW_MS 10000

int ivshmem_server__init(struct ivshmem_server *s, const char *name, int shm_fd, unsigned vectors);
/*
 * Listen on PATH (created; an existing socket file is replaced) for peers of the role
 * PEER_ID, 0, 1 or 2 (its peers get the ids PEER_ID, PEER_ID + 4, ...; -EINVAL for
 * another key). The functions below name roles by this key.
 */
int ivshmem_server__add_role(struct ivshmem_server *s, const char *path, uint16_t peer_id);
/*
 * The same for the one hidden role, key PEER_ID (< IVSHMEM_SERVER_MAX_ROLES, not a role
 * or the private peer): its peers get the ids 7, 11, 15, ... and are introduced to no
 * other peer until promoted. -EEXIST if there is one already.
 */
int ivshmem_server__add_hidden_role(struct ivshmem_server *s, const char *path, uint16_t peer_id);
/*
 * A private peer ID (3: the one id no role's series holds) with one eventfd,
 * introduced only to peers of role ROLE. Returns the eventfd (nonblocking;
 * the server owns it) or a negative errno.
 */
int ivshmem_server__add_private(struct ivshmem_server *s, uint16_t id, uint16_t role);
/* Fill up to MAX entries; returns how many. Pass the same slice to __handle. */
size_t ivshmem_server__pollfds(const struct ivshmem_server *s, struct pollfd *fds, size_t max);
void ivshmem_server__handle(struct ivshmem_server *s, const struct pollfd *fds, size_t n);
/*
 * accept4(LISTEN_FD) non-blocking and close-on-exec, for every listener of the
 * supervisor's loop. Out of file descriptors (EMFILE, ENFILE), the connection waiting
 * is taken on a descriptor held in reserve and closed at once (the peer sees EOF):
 * left in the backlog it keeps the listener readable, and poll() returns at once, for
 * ever. Returns the new fd, or -1 (errno).
 */
int ivshmem_accept(int listen_fd);
/* Is the role held right now? */
int ivshmem_server__peer_up(const struct ivshmem_server *s, uint16_t peer_id);
/* The current id of the role's holder, or -ENOTCONN. */
int ivshmem_server__peer_id(const struct ivshmem_server *s, uint16_t peer_id);
/*
 * Ring VECTOR of the peer holding PEER_ID from the server side (the supervisor's
 * "look at the control block" after an epoch bump). -ENOTCONN if nobody holds it.
 */
int ivshmem_server__ring(struct ivshmem_server *s, uint16_t peer_id, unsigned vector);
/*
 * Move the peer holding role FROM into role TO, which nobody holds (a warm spare
 * becomes the driver VM): same socket, same id, same eventfds. FROM hidden: it is
 * introduced to the other peers now (its id + eventfds, as a new peer would be); else
 * they knew it already and hear nothing. If the private peer belongs to TO, it is
 * introduced to the newcomer too. FROM is free afterwards; its next peer gets a fresh
 * id. Returns the peer's id, -ENOTCONN (nobody holds FROM), -EBUSY (TO is held),
 * -ENOENT (no such role) or the error of the private peer's introduction (the peer is
 * dropped; another peer that cannot take the introduction is dropped instead).
 */
int ivshmem_server__promote(struct ivshmem_server *s, uint16_t from, uint16_t to);
/* Drop a peer (e.g. the supervisor killed its VM); the others hear it left. */
void ivshmem_server__kick(struct ivshmem_server *s, uint16_t peer_id);
/* Close every peer and listener and unlink the socket files. */
void ivshmem_server__close(struct ivshmem_server *s);

#endif /* DDVM_IVSHMEM_SERVER_H */
