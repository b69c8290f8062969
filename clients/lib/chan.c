// SPDX-License-Identifier: BSD-2-Clause
/*
 * libddvm: attach to a channel as its frontend (the ivshmem-server protocol, the
 * shared memory, the doorbells) and follow its state and epoch. See ddvm.h.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "ivshmem_peer.h"

#define WAKE_INTERVAL_MS 100 /* look at the header at least this often */
#define OPEN_RETRY_MS	 100 /* ddvm_chan_open_wait: how often it tries the socket */

/* --- the ivshmem-server protocol (clients/common/ivshmem_peer.h) ----------------- */

static void peer_forget(struct ddvm_chan *c, unsigned int slot)
{
	unsigned int v;

	for (v = 0; v < CHAN_MAX_VECTORS; v++) {
		if (c->peers[slot].efd[v] >= 0)
			close(c->peers[slot].efd[v]);
		c->peers[slot].efd[v] = -1;
	}
	c->peers[slot].id = -1;
}

/* The slot holding peer `id`'s doorbells, or with `create` a free one for it. Peer ids
 * are whatever the server hands out (ddvm's are stable per role, but nothing here
 * relies on that: the header names the backend's id). */
static int peer_slot(struct ddvm_chan *c, int64_t id, int create)
{
	unsigned int i;

	for (i = 0; i < CHAN_MAX_PEERS; i++)
		if (c->peers[i].id == id)
			return (int)i;
	if (!create)
		return -1;
	for (i = 0; i < CHAN_MAX_PEERS; i++) {
		if (c->peers[i].id < 0) {
			c->peers[i].id = (int)id;
			return (int)i;
		}
	}
	return -1;
}

static int fd_store(int *fds, unsigned int max, int fd)
{
	unsigned int v;

	for (v = 0; v < max; v++) {
		if (fds[v] < 0) {
			fds[v] = fd;
			return (int)v;
		}
	}
	return -ENOSPC;
}

/* A server message after the welcome's first three: a peer's eventfd, or a peer left. */
static void chan_server_msg(struct ddvm_chan *c, int64_t id, int fd)
{
	int slot;

	if (id == c->my_id && fd >= 0) {
		struct epoll_event ev = { .events = EPOLLIN };
		int v = fd_store(c->my_efd, CHAN_MAX_VECTORS, fd);

		ev.data.fd = fd;
		if (v < 0 || epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			if (v >= 0)
				c->my_efd[v] = -1;
			close(fd);
			return;
		}
		c->my_nvec = (unsigned int)v + 1;
		return;
	}
	if (id < 0 || id > 0xffff || id == c->my_id) {
		if (fd >= 0)
			close(fd);
		return;
	}
	slot = peer_slot(c, id, fd >= 0);
	if (fd < 0) {
		if (slot >= 0)
			peer_forget(c, (unsigned int)slot); /* that peer left */
		return;
	}
	if (slot < 0 || fd_store(c->peers[slot].efd, CHAN_MAX_VECTORS, fd) < 0)
		close(fd);
}

/* Read what the server sent since last time. -ESHUTDOWN when it went away. */
static int chan_server_drain(struct ddvm_chan *c)
{
	unsigned int budget = 4 * CHAN_MAX_PEERS * CHAN_MAX_VECTORS;
	int64_t id;
	int fd, ret;

	while (budget--) {
		ret = ivshmem_peer_recv(c->sock, &id, &fd, 1);
		if (ret == -EAGAIN)
			return 0;
		if (ret <= 0)
			return -ESHUTDOWN;
		chan_server_msg(c, id, fd);
	}
	return 0;
}

/* --- state ------------------------------------------------------------------------- */

void chan_kick(struct ddvm_chan *c, unsigned int vector)
{
	/* The peer id is read each time (the supervisor owns it); a nonsense id only
	 * selects no doorbell. */
	uint16_t peer = ddvm_read32(&c->rg.hdr->backend_peer);
	int slot = peer_slot(c, peer, 0);
	uint64_t one = 1;
	int fd;

	if (slot < 0 || vector >= CHAN_MAX_VECTORS)
		return;
	fd = c->peers[slot].efd[vector];
	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0) {
		/* EAGAIN means the counter is saturated: the peer is woken anyway */
	}
}

/* Stop using the rings until a new epoch: in-flight I/O fails with -EPIPE. PUBLISH when
 * we saw the violation ourselves; a backend that says BROKEN has told the supervisor. */
static void chan_stop(struct ddvm_chan *c, const char *why, int publish)
{
	struct ddvm_region_hdr *h = c->rg.hdr;

	if (c->state == DDVM_CHAN_BROKEN || c->state == DDVM_CHAN_SHUTDOWN)
		return;
	c->state = DDVM_CHAN_BROKEN;
	snprintf(c->why, sizeof(c->why), "%s", why);
	if (publish) {
		ddvm_write64(&h->frontend_errors, ddvm_read64(&h->frontend_errors) + 1);
		ddvm_follower_break(&c->fl, &c->rg);
	} else {
		c->fl.broken = true;
		c->fl.connected = false;
	}
	if (getenv("DDVM_DEBUG"))
		fprintf(stderr, "libddvm: channel broken in epoch %u: %s\n", c->fl.epoch, why);
	if (c->kind == DDVM_CHAN_BLK)
		blk_on_broken(c);
	if (publish)
		chan_kick(c, DDVM_VECTOR_CONTROL);
}

void chan_break(struct ddvm_chan *c, const char *why)
{
	chan_stop(c, why, 1);
}

static void chan_shutdown(struct ddvm_chan *c)
{
	if (c->state == DDVM_CHAN_SHUTDOWN)
		return;
	c->state = DDVM_CHAN_SHUTDOWN;
	if (c->kind == DDVM_CHAN_BLK)
		blk_on_shutdown(c);
}

/* BACKEND_GONE: nothing will serve this epoch; fail now rather than let callers wait. */
static void chan_gone(struct ddvm_chan *c)
{
	if (c->state == DDVM_CHAN_GONE)
		return;
	c->state = DDVM_CHAN_GONE;
	c->fl.connected = false;
	if (getenv("DDVM_DEBUG"))
		fprintf(stderr, "libddvm: the supervisor gave up on the driver VM (epoch %u)\n",
			c->fl.epoch);
	if (c->kind == DDVM_CHAN_BLK)
		blk_on_gone(c);
}

int chan_io_error(const struct ddvm_chan *c)
{
	switch (c->state) {
	case DDVM_CHAN_READY:
		return 0;
	case DDVM_CHAN_BROKEN:
		return -EPIPE;
	case DDVM_CHAN_SHUTDOWN:
		return -ESHUTDOWN;
	case DDVM_CHAN_GONE:
		return -ENODEV;
	default:
		return -ENOTCONN;
	}
}

/*
 * RECONNECT (ring/follow.h): our side of the rings from zero, then a session at the
 * current epoch: the backend drops whatever an earlier client (or an earlier session
 * of ours) left and resets its side. The rings are ours again once it serves it.
 */
static void chan_session_begin(struct ddvm_chan *c)
{
	c->tx_waiting = 0;
	c->why[0] = '\0';
	ddvm_ring_reset_own(&c->fe);
	ddvm_ring_reset_own(&c->be);
	c->state = DDVM_CHAN_WAITING;
	ddvm_write64(&c->rg.hdr->driver_features, c->want_features);
	ddvm_follower_begin(&c->fl, &c->rg);
	chan_kick(c, DDVM_VECTOR_CONTROL);
}

static void chan_became_ready(struct ddvm_chan *c)
{
	struct ddvm_region_hdr *h = c->rg.hdr;

	/* One private copy of the device description per epoch; only it is used. */
	c->features = ddvm_read64(&h->features);
	if (c->kind == DDVM_CHAN_NET)
		memcpy(&c->net_cfg, h->device, sizeof(c->net_cfg));
	else
		memcpy(&c->blk_cfg, h->device, sizeof(c->blk_cfg));
	/* a capacity whose size in bytes fits an off_t (as blkfront's): callers compute
	 * capacity * 512 (nbdkit's size), which a driver VM's 2^63 sectors wrapped */
	if (c->kind == DDVM_CHAN_BLK && c->blk_cfg.capacity > (uint64_t)INT64_MAX / 512)
		c->blk_cfg.capacity = (uint64_t)INT64_MAX / 512;
	ddvm_follower_connect(&c->fl, &c->rg);
	c->state = DDVM_CHAN_READY;
	c->ever_ready = 1;
	if (c->kind == DDVM_CHAN_BLK)
		blk_on_ready(c);
}

int chan_sync(struct ddvm_chan *c)
{
	uint32_t old_epoch = c->fl.epoch;
	int had_session = c->fl.session != 0;

	if (c->state == DDVM_CHAN_SHUTDOWN)
		return c->state;
	if (ddvm_read32(&c->rg.hdr->ctl_flags) & DDVM_CTL_SHUTDOWN) {
		chan_shutdown(c);
		return c->state;
	}
	switch (ddvm_follow(&c->fl, &c->rg)) {
	case DDVM_FOLLOW_GONE:
		chan_gone(c);
		break;
	case DDVM_FOLLOW_RECONNECT:
		/* blk: in-flight requests are resent in the new session */
		if (c->kind == DDVM_CHAN_BLK)
			blk_on_epoch(c);
		chan_session_begin(c);
		if (had_session && c->fl.epoch != old_epoch)
			c->restarts++;
		break;
	case DDVM_FOLLOW_BROKEN:
		chan_stop(c, "the driver VM stopped the channel (backend BROKEN)", 0);
		break;
	case DDVM_FOLLOW_WAIT:
		c->state = DDVM_CHAN_WAITING;
		break;
	case DDVM_FOLLOW_CONNECT:
		chan_became_ready(c);
		break;
	case DDVM_FOLLOW_CONNECTED:
		break;
	}
	ddvm_follower_reassert(&c->fl, &c->rg); /* our status, if someone overwrote it */
	return c->state;
}

int64_t chan_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- public: open / close ---------------------------------------------------------- */

static int chan_welcome(struct ddvm_chan *c)
{
	int64_t v;
	int fd, ret, own = 0;
	unsigned int budget = 4 * CHAN_MAX_PEERS * CHAN_MAX_VECTORS;

	ret = ivshmem_peer_welcome(c->sock, &c->my_id, &c->shm_fd);
	if (ret)
		return ret;
	/* A frontend is the client's peer (ids 1, 5, 9, ...: abi.h, "Peer ids"). On a
	 * driver VM's or a host tool's socket we would be a second producer on rings
	 * whose frontend is someone else (the driver VM then blamed for requests it
	 * never saw): refuse before anything is mapped. */
	if (c->my_id % DDVM_PEER_STRIDE != 1)
		return -EPERM;
	/* The other peers' eventfds, then ours. Block until we have one of ours; later
	 * ones (and news about other peers) are picked up by chan_server_drain(). */
	while (budget--) {
		ret = ivshmem_peer_recv(c->sock, &v, &fd, own);
		if (ret == -EAGAIN)
			return 0;
		if (ret <= 0)
			return ret < 0 && ret != -EPROTO ? ret : -EPROTO;
		chan_server_msg(c, v, fd);
		if (v == c->my_id && fd >= 0)
			own = 1;
	}
	return 0;
}

static int chan_map(struct ddvm_chan *c, int kind)
{
	struct stat st;
	int ret;

	if (fstat(c->shm_fd, &st) < 0)
		return -errno;
	if (st.st_size < DDVM_HDR_SIZE)
		return -EPROTONOSUPPORT;
	c->size = (uint64_t)st.st_size;
	c->base = mmap(NULL, c->size, PROT_READ | PROT_WRITE, MAP_SHARED, c->shm_fd, 0);
	if (c->base == MAP_FAILED) {
		c->base = NULL;
		return -errno;
	}
	ret = ddvm_region_attach(&c->rg, c->base, c->size);
	if (ret)
		return ret;
	if (c->rg.kind != DDVM_KIND_NET && c->rg.kind != DDVM_KIND_BLK)
		return -EMEDIUMTYPE;
	if (kind != DDVM_CHAN_ANY && (uint32_t)kind != c->rg.kind)
		return -EMEDIUMTYPE;
	c->kind = (int)c->rg.kind;
	ret = ddvm_region_ring(&c->rg, 0, DDVM_SIDE_FRONTEND, &c->fe);
	if (!ret)
		ret = ddvm_region_ring(&c->rg, 1, DDVM_SIDE_FRONTEND, &c->be);
	if (ret)
		return ret;
	/* net: both rings carry frames; blk: the request ring carries the payload */
	if (!c->fe.is_producer || c->be.is_producer || !c->fe.data ||
	    (c->kind == DDVM_CHAN_NET && !c->be.data))
		return -EPROTONOSUPPORT;
	return 0;
}

int ddvm_chan_open(struct ddvm_chan **out, const char *path, int kind, unsigned int flags)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	struct epoll_event ev = { .events = EPOLLIN };
	struct ddvm_chan *c;
	unsigned int p, v;
	int ret;

	if (!out || !path || (flags & ~DDVM_OPEN_NET_OFFLOADS) ||
	    (kind != DDVM_CHAN_ANY && kind != DDVM_CHAN_NET && kind != DDVM_CHAN_BLK))
		return -EINVAL;
	*out = NULL;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->shm_fd = -1;
	c->epfd = -1;
	for (v = 0; v < CHAN_MAX_VECTORS; v++)
		c->my_efd[v] = -1;
	for (p = 0; p < CHAN_MAX_PEERS; p++) {
		c->peers[p].id = -1;
		for (v = 0; v < CHAN_MAX_VECTORS; v++)
			c->peers[p].efd[v] = -1;
	}

	/* connect() to a file that is not a socket says ECONNREFUSED, which open_wait would
	 * take for "not up yet" and retry until its time is up: say what it is at once */
	if (stat(path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
		ret = -ENOTSOCK;
		goto err_free;
	}
	c->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->sock < 0) {
		ret = -errno;
		goto err_free;
	}
	if (connect(c->sock, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		goto err_close;
	}
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (c->epfd < 0) {
		ret = -errno;
		goto err_close;
	}
	ev.data.fd = c->sock;
	if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->sock, &ev) < 0) {
		ret = -errno;
		goto err_close;
	}
	ret = chan_welcome(c);
	if (ret)
		goto err_close;
	ret = chan_map(c, kind);
	if (!ret && (flags & DDVM_OPEN_NET_OFFLOADS) && c->kind != DDVM_CHAN_NET)
		ret = -EINVAL;
	if (ret)
		goto err_unmap;
	if (c->kind == DDVM_CHAN_BLK) {
		ret = blk_setup(c);
		if (ret)
			goto err_unmap;
	}
	/* The MAC is the supervisor's and valid from the start. We may always send with
	 * offloads (each send is checked against what the backend offers); receiving
	 * them is the caller's choice. */
	if (c->kind == DDVM_CHAN_NET) {
		memcpy(&c->net_cfg, c->rg.hdr->device, sizeof(c->net_cfg));
		c->want_features =
		    DDVM_NET_F_CSUM | DDVM_NET_F_TSO4 | DDVM_NET_F_TSO6 | DDVM_NET_F_MTU;
		if (flags & DDVM_OPEN_NET_OFFLOADS)
			c->want_features |=
			    DDVM_NET_F_GUEST_CSUM | DDVM_NET_F_GUEST_TSO4 | DDVM_NET_F_GUEST_TSO6;
	} else {
		c->want_features = DDVM_BLK_F_FLUSH | DDVM_BLK_F_FUA | DDVM_BLK_F_DISCARD |
				   DDVM_BLK_F_WRITE_ZEROES | DDVM_BLK_F_RO;
	}
	chan_sync(c); /* the first RECONNECT: a session of our own */
	*out = c;
	return 0;

err_unmap:
	/* never touch the header of a channel we did not attach to */
	if (c->base)
		munmap(c->base, c->size);
	c->base = NULL;
err_close:
	ddvm_chan_close(c);
	return ret;
err_free:
	free(c);
	return ret;
}

int ddvm_chan_open_wait(struct ddvm_chan **out, const char *socket_path, int kind,
			unsigned int flags, int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? INT64_MAX : chan_now_ms() + timeout_ms;
	int ret;

	for (;;) {
		ret = ddvm_chan_open(out, socket_path, kind, flags);
		if ((ret != -ENOENT && ret != -ECONNREFUSED) || chan_now_ms() >= deadline)
			return ret;
		/* a signal the program handles (its SIGTERM, SIGINT) ends the wait: the
		 * program decides, instead of waiting out its timeout deaf to it */
		if (usleep(OPEN_RETRY_MS * 1000) < 0 && errno == EINTR)
			return -EINTR;
	}
}

void ddvm_chan_close(struct ddvm_chan *c)
{
	unsigned int p, v;

	if (!c)
		return;
	if (c->base && c->rg.hdr) {
		ddvm_region_set_frontend(&c->rg, DDVM_STATE_CLOSED, c->fl.epoch);
		chan_kick(c, DDVM_VECTOR_CONTROL);
		munmap(c->base, c->size);
	}
	if (c->kind == DDVM_CHAN_BLK)
		blk_teardown(c);
	for (v = 0; v < CHAN_MAX_VECTORS; v++)
		if (c->my_efd[v] >= 0)
			close(c->my_efd[v]);
	for (p = 0; p < CHAN_MAX_PEERS; p++)
		peer_forget(c, p);
	if (c->shm_fd >= 0)
		close(c->shm_fd);
	if (c->epfd >= 0)
		close(c->epfd);
	if (c->sock >= 0)
		close(c->sock);
	free(c);
}

/* --- public: state and sleeping ---------------------------------------------------- */

int ddvm_chan_kind(const struct ddvm_chan *c)
{
	return c ? c->kind : -EINVAL;
}

int ddvm_chan_state(struct ddvm_chan *c)
{
	return c ? chan_sync(c) : -EINVAL;
}

uint32_t ddvm_chan_epoch(const struct ddvm_chan *c)
{
	return c ? c->fl.epoch : 0;
}

uint64_t ddvm_chan_restarts(const struct ddvm_chan *c)
{
	return c ? c->restarts : 0;
}

uint64_t ddvm_chan_features(const struct ddvm_chan *c)
{
	return c && c->ever_ready ? c->features : 0;
}

const char *ddvm_chan_broken_reason(const struct ddvm_chan *c)
{
	return c && c->state == DDVM_CHAN_BROKEN ? c->why : "";
}

int ddvm_chan_fd(const struct ddvm_chan *c)
{
	return c ? c->epfd : -EINVAL;
}

int ddvm_chan_process(struct ddvm_chan *c)
{
	struct epoll_event evs[CHAN_MAX_VECTORS + 1];
	int i, n;

	if (!c)
		return -EINVAL;
	n = epoll_wait(c->epfd, evs, CHAN_MAX_VECTORS + 1, 0);
	for (i = 0; i < n; i++) {
		uint64_t cnt;

		if (evs[i].data.fd == c->sock) {
			if (chan_server_drain(c) < 0)
				chan_shutdown(c);
		} else if (read(evs[i].data.fd, &cnt, sizeof(cnt)) < 0) {
			/* EAGAIN: already drained */
		}
	}
	chan_sync(c);
	if (c->kind == DDVM_CHAN_BLK) {
		blk_check_timeouts(c);
		blk_push_queued(c);
		if (c->cb)
			return ddvm_blk_reap(c, NULL, ~0u);
	}
	return 0;
}

int ddvm_chan_prepare_wait(struct ddvm_chan *c)
{
	if (!c)
		return -EINVAL;
	if (c->kind == DDVM_CHAN_BLK && blk_pending_work(c))
		return 0;
	if (chan_sync(c) != DDVM_CHAN_READY)
		return 1; /* state changes come with the control doorbell or the timeout */
	if (!ddvm_ring_prepare_wait(&c->be))
		return 0;
	if (c->tx_waiting && ddvm_ring_wait_space(&c->fe)) {
		c->tx_waiting = 0;
		return 0;
	}
	return 1;
}

int ddvm_chan_wait(struct ddvm_chan *c, int timeout_ms)
{
	struct pollfd pfd;
	int ret;

	if (!c)
		return -EINVAL;
	ret = ddvm_chan_prepare_wait(c);
	if (ret <= 0)
		return ret < 0 ? ret : ddvm_chan_process(c);
	if (timeout_ms < 0 || timeout_ms > WAKE_INTERVAL_MS)
		timeout_ms = WAKE_INTERVAL_MS;
	pfd.fd = c->epfd;
	pfd.events = POLLIN;
	do
		ret = poll(&pfd, 1, timeout_ms);
	while (ret < 0 && errno == EINTR);
	if (ret < 0)
		return -errno;
	return ddvm_chan_process(c);
}

int ddvm_chan_wait_ready(struct ddvm_chan *c, int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? INT64_MAX : chan_now_ms() + timeout_ms;

	if (!c)
		return -EINVAL;
	for (;;) {
		int st = chan_sync(c), ret;
		int64_t left;

		if (st == DDVM_CHAN_READY)
			return 0;
		if (st == DDVM_CHAN_SHUTDOWN || st == DDVM_CHAN_GONE)
			return chan_io_error(c);
		left = deadline - chan_now_ms();
		if (left <= 0)
			return st == DDVM_CHAN_BROKEN ? -EPIPE : -ETIMEDOUT;
		ret = ddvm_chan_wait(c, left > WAKE_INTERVAL_MS ? WAKE_INTERVAL_MS : (int)left);
		if (ret < 0)
			return ret;
	}
}

const char *ddvm_strerror(int err)
{
	const char *s;

	if (err < 0)
		err = -err;
	switch (err) {
	case 0:
		return "success";
	case EPIPE:
		return "the driver VM broke the channel protocol (channel broken until it is "
		       "restarted)";
	case ENOTCONN:
		return "the driver VM is not ready in this epoch (yet)";
	case ESHUTDOWN:
		return "the channel was shut down";
	case ENODEV:
		return "the supervisor gave up restarting the driver VM (`ddvm restart VM` "
		       "revives the channel)";
	case EBUSY:
		return "the server refused us: the channel has a client already (one at a "
		       "time, on RUNDIR/channels/CHANNEL.client.sock), or this is "
		       "CHANNEL.driver.sock, the driver VM's";
	case EINPROGRESS:
		return "asynchronous requests are in flight, or a completion callback is set: "
		       "the synchronous helpers need an otherwise idle channel";
	case ENOENT:
		return "no such socket (is the setup up? 'ddvm status' names its run dir)";
	case ENOTSOCK:
		return "not a socket: a channel's client socket is "
		       "RUNDIR/channels/CHANNEL.client.sock";
	case EINTR:
		return "interrupted by a signal while waiting for the socket";
	case ETIMEDOUT:
		return "timed out: the driver VM did not serve in time (a request: sent again "
		       "at each new session for longer than ddvm_blk_set_timeouts allows)";
	case ECONNREFUSED:
		return "nobody listens on the socket (the supervisor that made it is gone: "
		       "'ddvm up')";
	case EPERM:
		return "not a channel's client socket (the server made us a driver VM or a "
		       "host tool): connect to RUNDIR/channels/CHANNEL.client.sock";
	case EMEDIUMTYPE:
		return "the channel carries another kind of device";
	case EPROTONOSUPPORT:
		return "not a ddvm region, or an incompatible ddvm ABI";
	case EPROTO:
		return "the ivshmem server broke its protocol";
	case EAGAIN:
		return "the ring is full (or empty): wait and retry";
	case EBADMSG:
		return "a received frame's offload metadata did not fit it (the frame was "
		       "dropped; the channel goes on)";
	case E2BIG:
		return "request larger than the device's maximum transfer";
	case ERANGE:
		return "request beyond the end of the disk";
	}
	s = strerrordesc_np(err);
	return s ? s : "unknown error";
}
