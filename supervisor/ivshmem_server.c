/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ivshmem-server protocol for one channel (see ivshmem_server.h for the wire format
 * and the ways ddvm's server differs from QEMU's contrib server).
 */
#include "ivshmem_server.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static void peer__reset(struct ivshmem_peer *p)
{
	unsigned i;

	p->sock = -1;
	for (i = 0; i < IVSHMEM_SERVER_MAX_VECTORS; i++)
		p->eventfds[i] = -1;
}

int ivshmem_server__init(struct ivshmem_server *s, const char *name, int shm_fd, unsigned vectors)
{
	if (shm_fd < 0 || vectors == 0 || vectors > IVSHMEM_SERVER_MAX_VECTORS)
		return -EINVAL;
	memset(s, 0, sizeof(*s));
	s->shm_fd = shm_fd;
	s->vectors = vectors;
	s->name = name ? name : "ivshmem";
	s->private_fd = -1;
	return 0;
}

int ivshmem_server__add_private(struct ivshmem_server *s, uint16_t id, uint16_t role)
{
	unsigned i;

	if (s->private_fd >= 0)
		return -EEXIST;
	for (i = 0; i < s->nr_roles; i++)
		if (s->roles[i].peer_id == id)
			return -EEXIST;
	/* the one id no role's series holds (ivshmem_server.h) */
	if (id != IVSHMEM_SERVER_HIDDEN_ID % IVSHMEM_SERVER_ID_STRIDE)
		return -EINVAL;
	s->private_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->private_fd < 0)
		return -errno;
	s->private_id = id;
	s->private_role = role;
	return s->private_fd;
}

static int add_role(struct ivshmem_server *s, const char *path, uint16_t peer_id, int hidden)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct ivshmem_role *r;
	unsigned i;
	int fd, ret;

	if (s->nr_roles == IVSHMEM_SERVER_MAX_ROLES)
		return -ENOSPC;
	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	for (i = 0; i < s->nr_roles; i++)
		if (s->roles[i].peer_id == peer_id || (hidden && s->roles[i].hidden))
			return -EEXIST;
	if (s->private_fd >= 0 && s->private_id == peer_id)
		return -EEXIST;
	/* a visible role's key is the first of its ids, and the series of ids must not
	 * meet another role's: K + 4n for K < 3; the hidden role's and the private
	 * peer's (3) are those of K = 3 */
	if (hidden ? peer_id >= IVSHMEM_SERVER_MAX_ROLES
		   : peer_id >= IVSHMEM_SERVER_HIDDEN_ID % IVSHMEM_SERVER_ID_STRIDE)
		return -EINVAL;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	strcpy(sun.sun_path, path);
	/* A socket file left by a crashed supervisor would make bind fail forever. */
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		ret = -errno;
		goto err_close;
	}
	if (listen(fd, 4) < 0) {
		ret = -errno;
		goto err_unlink;
	}

	r = &s->roles[s->nr_roles++];
	strcpy(r->path, path);
	r->listen_fd = fd;
	r->peer_id = peer_id;
	r->hidden = hidden;
	r->next_id = hidden ? IVSHMEM_SERVER_HIDDEN_ID : peer_id;
	peer__reset(&r->peer);
	return 0;

err_unlink:
	unlink(path);
err_close:
	close(fd);
	return ret;
}

int ivshmem_server__add_role(struct ivshmem_server *s, const char *path, uint16_t peer_id)
{
	return add_role(s, path, peer_id, 0);
}

int ivshmem_server__add_hidden_role(struct ivshmem_server *s, const char *path, uint16_t peer_id)
{
	return add_role(s, path, peer_id, 1);
}

/*
 * One protocol message. MSG_DONTWAIT: a peer that stops reading must not stall the
 * supervisor's loop; the caller closes it instead.
 */
static int ivshmem_send(int sock, int64_t value, int fd)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	int64_t le = value; /* little-endian host: the wire format is the host format */
	struct iovec iov = { .iov_base = &le, .iov_len = sizeof(le) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (fd >= 0) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.buf;
		msg.msg_controllen = sizeof(ctl.buf);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	do
		n = sendmsg(sock, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == sizeof(le) ? 0 : -EIO;
}

/* Send peer P's eventfds (P + fd, once per vector) to SOCK. */
static int ivshmem_send_peer_fds(const struct ivshmem_server *s, int sock,
				 const struct ivshmem_role *p)
{
	unsigned v;
	int ret;

	for (v = 0; v < s->vectors; v++) {
		ret = ivshmem_send(sock, p->peer.id, p->peer.eventfds[v]);
		if (ret)
			return ret;
	}
	return 0;
}

static void peer__close_fds(struct ivshmem_peer *p)
{
	unsigned i;

	if (p->sock >= 0)
		close(p->sock);
	for (i = 0; i < IVSHMEM_SERVER_MAX_VECTORS; i++)
		if (p->eventfds[i] >= 0)
			close(p->eventfds[i]);
	peer__reset(p);
}

static void ivshmem_server__drop(struct ivshmem_server *s, struct ivshmem_role *r, const char *why);

/* Tell every other connected peer that R's id is gone (an id with no fd). */
static void ivshmem_server__notify_gone(struct ivshmem_server *s, struct ivshmem_role *r)
{
	unsigned i;

	if (r->hidden)
		return; /* nobody heard of it */
	for (i = 0; i < s->nr_roles; i++) {
		struct ivshmem_role *o = &s->roles[i];

		if (o == r || o->peer.sock < 0)
			continue;
		if (ivshmem_send(o->peer.sock, r->peer.id, -1) < 0)
			ivshmem_server__drop(s, o, "cannot send disconnect notice");
	}
}

static void ivshmem_server__drop(struct ivshmem_server *s, struct ivshmem_role *r, const char *why)
{
	uint16_t id = r->peer.id;
	int sock = r->peer.sock;

	if (sock < 0)
		return;
	pr_debug("%s: peer %u left (%s)", s->name, id, why);
	/* Mark it gone first: the notices below may recurse into other drops. */
	r->peer.sock = -1;
	s->stats.disconnects++;
	/* Recursion is bounded: each drop closes one peer, and there are few roles. */
	ivshmem_server__notify_gone(s, r);
	r->peer.sock = sock;
	peer__close_fds(&r->peer);
	if (s->event)
		s->event(s->event_opaque, r->peer_id, id, 0);
}

/* May a line about a refused or failed peer be logged now? (ivshmem_server.h) */
static int note_ok(struct ivshmem_server *s)
{
	struct timespec ts;
	uint64_t now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	if (!s->notes_window_ms || now - s->notes_window_ms >= IVSHMEM_NOTES_WINDOW_MS) {
		if (s->notes_dropped)
			pr_warn("%s: %u more lines about refused or failed peers not logged in "
				"the last %u s (something keeps connecting: 'ddvm status' shows "
				"who holds the channel)",
				s->name, s->notes_dropped, IVSHMEM_NOTES_WINDOW_MS / 1000);
		s->notes_window_ms = now;
		s->notes = 0;
		s->notes_dropped = 0;
	}
	if (s->notes < IVSHMEM_NOTES_MAX) {
		s->notes++;
		return 1;
	}
	s->notes_dropped++;
	return 0;
}

static int peer_uid_ok(int sock)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return 0;
	return cred.uid == 0 || cred.uid == geteuid();
}

/* Introduce R (its id + eventfds) to every other connected peer that may ring it. */
static void ivshmem_server__introduce(struct ivshmem_server *s, struct ivshmem_role *r)
{
	unsigned i;

	for (i = 0; i < s->nr_roles; i++) {
		struct ivshmem_role *o = &s->roles[i];

		if (o == r || o->peer.sock < 0)
			continue;
		if (ivshmem_send_peer_fds(s, o->peer.sock, r) < 0)
			ivshmem_server__drop(s, o, "cannot send new peer's eventfds");
	}
}

/* Hand the new peer its setup, then introduce it to the others (unless its role is
 * hidden) and them (but a hidden role's) to it. */
static int ivshmem_server__welcome(struct ivshmem_server *s, struct ivshmem_role *r)
{
	unsigned i, v;
	int ret;

	for (v = 0; v < s->vectors; v++) {
		r->peer.eventfds[v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (r->peer.eventfds[v] < 0)
			return -errno;
	}
	ret = ivshmem_send(r->peer.sock, IVSHMEM_PROTOCOL_VERSION, -1);
	if (!ret)
		ret = ivshmem_send(r->peer.sock, r->peer.id, -1);
	if (!ret)
		ret = ivshmem_send(r->peer.sock, -1, s->shm_fd);
	for (i = 0; !ret && i < s->nr_roles; i++) {
		struct ivshmem_role *o = &s->roles[i];

		if (o != r && o->peer.sock >= 0 && !o->hidden)
			ret = ivshmem_send_peer_fds(s, r->peer.sock, o);
	}
	/* the private peer: its one doorbell, for this role's holder only */
	if (!ret && s->private_fd >= 0 && r->peer_id == s->private_role)
		ret = ivshmem_send(r->peer.sock, s->private_id, s->private_fd);
	if (!ret)
		ret = ivshmem_send_peer_fds(s, r->peer.sock, r);
	if (ret)
		return ret;
	if (!r->hidden)
		ivshmem_server__introduce(s, r);
	return 0;
}

/* Has the current holder of R's id hung up without us having noticed yet? */
static int peer_hung_up(const struct ivshmem_peer *p)
{
	struct pollfd pfd = { .fd = p->sock, .events = POLLIN };

	return poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLHUP | POLLERR | POLLIN));
}

int ivshmem_accept(int listen_fd)
{
	static int reserve = -2; /* -2: not opened yet */
	int fd, err;

	if (reserve == -2)
		reserve = open("/dev/null", O_RDONLY | O_CLOEXEC);
	fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd >= 0 || (errno != EMFILE && errno != ENFILE) || reserve < 0)
		return fd;
	err = errno;
	close(reserve);
	fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd >= 0)
		close(fd);
	reserve = open("/dev/null", O_RDONLY | O_CLOEXEC);
	errno = err;
	return -1;
}

static void ivshmem_server__accept(struct ivshmem_server *s, struct ivshmem_role *r)
{
	int sock, ret;

	sock = ivshmem_accept(r->listen_fd);
	if (sock < 0) {
		if (errno != EAGAIN && errno != EINTR && note_ok(s))
			pr_warn("%s: accept on %s: %s", s->name, r->path, strerror(errno));
		return;
	}
	if (!peer_uid_ok(sock)) {
		if (note_ok(s))
			pr_warn("%s: refused a peer of another user on %s", s->name, r->path);
		goto err_reject;
	}
	if (r->peer.sock >= 0) {
		/*
		 * A restarted VM may connect before we saw its predecessor's hang-up in
		 * this same poll round. If the old holder is really gone, retire it.
		 */
		if (peer_hung_up(&r->peer)) {
			ivshmem_server__drop(s, r, "hung up");
		} else {
			if (note_ok(s))
				pr_warn("%s: peer id %u is taken; refused a second peer on %s",
					s->name, r->peer_id, r->path);
			goto err_reject;
		}
	}
	if (r->next_id > IVSHMEM_MAX_PEER_ID) {
		if (note_ok(s))
			pr_warn(
			    "%s: out of peer ids for %s (each of its peers took a fresh one, and "
			    "QEMU cannot take an id back); refusing: a new channel (ddvm down, up) "
			    "starts the series again",
			    s->name, r->path);
		goto err_reject;
	}
	r->peer.sock = sock;
	r->peer.id = (uint16_t)r->next_id;
	r->next_id += IVSHMEM_SERVER_ID_STRIDE;
	ret = ivshmem_server__welcome(s, r);
	if (ret) {
		/* a peer that hung up at once (a tool that was refused, or quit) is not a
		 * problem of the channel */
		if (!note_ok(s))
			;
		else if (ret == -EPIPE || ret == -ECONNRESET)
			pr_info("%s: peer %u left before it was set up", s->name, r->peer_id);
		else
			pr_warn("%s: setting up peer %u failed: %s", s->name, r->peer_id,
				strerror(-ret));
		peer__close_fds(&r->peer);
		s->stats.rejected++;
		return;
	}
	s->stats.connects++;
	pr_debug("%s: peer %u connected on %s", s->name, r->peer.id, r->path);
	if (s->event)
		s->event(s->event_opaque, r->peer_id, r->peer.id, 1);
	return;

err_reject:
	s->stats.rejected++;
	close(sock);
}

size_t ivshmem_server__pollfds(const struct ivshmem_server *s, struct pollfd *fds, size_t max)
{
	size_t n = 0;
	unsigned i;

	/* Peers first: a hang-up must be seen before a reconnect on the same role. */
	for (i = 0; i < s->nr_roles && n < max; i++) {
		if (s->roles[i].peer.sock >= 0)
			fds[n++] = (struct pollfd){ .fd = s->roles[i].peer.sock, .events = POLLIN };
	}
	for (i = 0; i < s->nr_roles && n < max; i++)
		fds[n++] = (struct pollfd){ .fd = s->roles[i].listen_fd, .events = POLLIN };
	return n;
}

static void ivshmem_server__peer_event(struct ivshmem_server *s, struct ivshmem_role *r,
				       short revents)
{
	char junk;
	ssize_t n;

	if (!(revents & POLLIN)) {
		ivshmem_server__drop(s, r, "hung up");
		return;
	}
	/* Peers have nothing to say to the server: data means a broken peer. */
	n = recv(r->peer.sock, &junk, 1, MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		ivshmem_server__drop(s, r, "hung up");
	} else if (n > 0) {
		if (note_ok(s))
			pr_warn("%s: peer %u sent data; closing it (protocol violation)", s->name,
				r->peer.id);
		s->stats.violations++;
		ivshmem_server__drop(s, r, "protocol violation");
	}
}

void ivshmem_server__handle(struct ivshmem_server *s, const struct pollfd *fds, size_t n)
{
	size_t k;
	unsigned i;

	for (k = 0; k < n; k++) {
		if (!fds[k].revents)
			continue;
		for (i = 0; i < s->nr_roles; i++) {
			struct ivshmem_role *r = &s->roles[i];

			/* The fd may have been closed (and reused) earlier in this round. */
			if (r->peer.sock == fds[k].fd && fds[k].events == POLLIN &&
			    fds[k].fd != r->listen_fd) {
				ivshmem_server__peer_event(s, r, fds[k].revents);
				break;
			}
			if (r->listen_fd == fds[k].fd) {
				ivshmem_server__accept(s, r);
				break;
			}
		}
	}
}

int ivshmem_server__peer_up(const struct ivshmem_server *s, uint16_t peer_id)
{
	unsigned i;

	for (i = 0; i < s->nr_roles; i++)
		if (s->roles[i].peer_id == peer_id)
			return s->roles[i].peer.sock >= 0;
	return 0;
}

int ivshmem_server__ring(struct ivshmem_server *s, uint16_t peer_id, unsigned vector)
{
	uint64_t one = 1;
	unsigned i;

	if (vector >= s->vectors)
		return -EINVAL;
	for (i = 0; i < s->nr_roles; i++) {
		struct ivshmem_role *r = &s->roles[i];

		if (r->peer_id != peer_id || r->peer.sock < 0)
			continue;
		/* EAGAIN means the counter is saturated: the peer has a wake-up pending. */
		if (write(r->peer.eventfds[vector], &one, sizeof(one)) < 0 && errno != EAGAIN)
			return -errno;
		return 0;
	}
	return -ENOTCONN;
}

int ivshmem_server__peer_id(const struct ivshmem_server *s, uint16_t peer_id)
{
	unsigned i;

	for (i = 0; i < s->nr_roles; i++)
		if (s->roles[i].peer_id == peer_id)
			return s->roles[i].peer.sock >= 0 ? s->roles[i].peer.id : -ENOTCONN;
	return -ENOTCONN;
}

static struct ivshmem_role *ivshmem_server__role(struct ivshmem_server *s, uint16_t peer_id)
{
	unsigned i;

	for (i = 0; i < s->nr_roles; i++)
		if (s->roles[i].peer_id == peer_id)
			return &s->roles[i];
	return NULL;
}

int ivshmem_server__promote(struct ivshmem_server *s, uint16_t from, uint16_t to)
{
	struct ivshmem_role *f = ivshmem_server__role(s, from), *t = ivshmem_server__role(s, to);
	int ret;

	if (!f || !t || f == t)
		return -ENOENT;
	if (f->peer.sock < 0)
		return -ENOTCONN;
	if (t->peer.sock >= 0)
		return -EBUSY;
	t->peer = f->peer;
	peer__reset(&f->peer);
	if (f->hidden && !t->hidden)
		ivshmem_server__introduce(s, t); /* now anyone may ring it */
	if (s->private_fd >= 0 && s->private_role == to) {
		ret = ivshmem_send(t->peer.sock, s->private_id, s->private_fd);
		if (ret) {
			ivshmem_server__drop(s, t, "cannot introduce the private peer");
			return ret;
		}
	}
	pr_debug("%s: peer %u moved from role %u to role %u", s->name, t->peer.id, from, to);
	if (s->event)
		s->event(s->event_opaque, to, t->peer.id, 1);
	return t->peer.id;
}

void ivshmem_server__kick(struct ivshmem_server *s, uint16_t peer_id)
{
	unsigned i;

	for (i = 0; i < s->nr_roles; i++)
		if (s->roles[i].peer_id == peer_id)
			ivshmem_server__drop(s, &s->roles[i], "dropped by the supervisor");
}

void ivshmem_server__close(struct ivshmem_server *s)
{
	unsigned i;

	for (i = 0; i < s->nr_roles; i++) {
		struct ivshmem_role *r = &s->roles[i];

		peer__close_fds(&r->peer);
		if (r->listen_fd >= 0) {
			close(r->listen_fd);
			unlink(r->path);
			r->listen_fd = -1;
		}
	}
	s->nr_roles = 0;
	if (s->private_fd >= 0)
		close(s->private_fd);
	s->private_fd = -1;
}
