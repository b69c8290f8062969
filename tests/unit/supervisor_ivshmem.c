/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The ivshmem server, driven by test clients over real unix sockets. The server runs
 * in a thread with its own poll loop, exactly as a caller of the library would run it.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../clients/common/ivshmem_peer.h"
#include "ivshmem_server.h"

/* The peers' side of the protocol (clients/common/ivshmem_peer.h) and the server's. */
_Static_assert(IVSHMEM_PEER_PROTOCOL_VERSION == IVSHMEM_PROTOCOL_VERSION, "protocol version");

#define VECTORS	 3
#define SHM_SIZE (1 << 20)

struct fixture {
	char dir[64];
	char path[2][128];
	int shm_fd;
	int stop_fd; /* wakes the server thread: to stop, or to notice a closed fd */
	_Atomic int stopping;
	pthread_mutex_t lock; /* the server is not thread-safe; tests peek under it */
	struct ivshmem_server srv;
	pthread_t thread;
};

static void *server_thread(void *arg)
{
	struct fixture *f = arg;

	for (;;) {
		struct pollfd fds[IVSHMEM_SERVER_MAX_POLLFDS + 1];
		size_t n;

		pthread_mutex_lock(&f->lock);
		n = ivshmem_server__pollfds(&f->srv, fds, IVSHMEM_SERVER_MAX_POLLFDS);
		pthread_mutex_unlock(&f->lock);
		fds[n] = (struct pollfd){ .fd = f->stop_fd, .events = POLLIN };
		if (poll(fds, n + 1, -1) < 0)
			continue;
		if (fds[n].revents) {
			uint64_t v;

			if (read(f->stop_fd, &v, sizeof(v)) < 0 || f->stopping)
				return NULL;
			continue;
		}
		pthread_mutex_lock(&f->lock);
		ivshmem_server__handle(&f->srv, fds, n);
		pthread_mutex_unlock(&f->lock);
	}
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int i;

	assert_non_null(f);
	strcpy(f->dir, "/tmp/ddvm-ivsrv.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	for (i = 0; i < 2; i++)
		snprintf(f->path[i], sizeof(f->path[i]), "%s/role%d.sock", f->dir, i);
	f->shm_fd = memfd_create("test-chan", MFD_CLOEXEC);
	assert_true(f->shm_fd >= 0);
	assert_int_equal(ftruncate(f->shm_fd, SHM_SIZE), 0);
	f->stop_fd = eventfd(0, EFD_CLOEXEC);
	pthread_mutex_init(&f->lock, NULL);
	assert_int_equal(ivshmem_server__init(&f->srv, "test", f->shm_fd, VECTORS), 0);
	assert_int_equal(ivshmem_server__add_role(&f->srv, f->path[0], 0), 0);
	assert_int_equal(ivshmem_server__add_role(&f->srv, f->path[1], 1), 0);
	assert_int_equal(pthread_create(&f->thread, NULL, server_thread, f), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	uint64_t one = 1;

	f->stopping = 1;
	assert_int_equal(write(f->stop_fd, &one, sizeof(one)), sizeof(one));
	pthread_join(f->thread, NULL);
	ivshmem_server__close(&f->srv);
	/* close() must unlink the sockets: nothing is left behind. */
	assert_int_equal(access(f->path[0], F_OK), -1);
	assert_int_equal(access(f->path[1], F_OK), -1);
	close(f->shm_fd);
	close(f->stop_fd);
	rmdir(f->dir);
	free(f);
	return 0;
}

static int client_connect(const char *path)
{
	struct timeval tv = { .tv_sec = 5 };
	int fd = ivshmem_peer_connect(path);

	assert_true(fd >= 0);
	/* A missing message fails the test instead of hanging it. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* One message: returns the value, stores the fd (or -1). Fails the test on EOF. */
static int64_t client_recv(int sock, int *fd)
{
	int64_t v;

	assert_int_equal(ivshmem_peer_recv(sock, &v, fd, 0), 1);
	return v;
}

static void expect_plain(int sock, int64_t want)
{
	int fd;

	assert_int_equal(client_recv(sock, &fd), want);
	assert_int_equal(fd, -1);
}

/* Receive N eventfds for peer ID; store them in EFDS. */
static void expect_eventfds(int sock, int64_t id, int *efds)
{
	unsigned v;

	for (v = 0; v < VECTORS; v++) {
		int fd;

		assert_int_equal(client_recv(sock, &fd), id);
		assert_true(fd >= 0);
		efds[v] = fd;
	}
}

/* The setup every new peer gets: version, id, shm. Returns the shm fd. */
static int expect_setup(int sock, int64_t id)
{
	struct stat st;
	uint16_t got;
	int fd = -1;

	assert_int_equal(ivshmem_peer_welcome(sock, &got, &fd), 0);
	assert_int_equal(got, id);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, SHM_SIZE);
	return fd;
}

static void close_all(int *fds, unsigned n)
{
	while (n--)
		close(fds[n]);
}

/* Nothing more is pending on SOCK right now... after the server had a chance to act. */
static void expect_nothing(struct fixture *f, int sock)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };

	assert_int_equal(poll(&p, 1, 100), 0);
}

static void wait_peer_state(struct fixture *f, uint16_t id, int up)
{
	int i, now = -1;

	for (i = 0; i < 500; i++) {
		pthread_mutex_lock(&f->lock);
		now = ivshmem_server__peer_up(&f->srv, id);
		pthread_mutex_unlock(&f->lock);
		if (now == up)
			return;
		usleep(10000);
	}
	fail_msg("peer %u never became %s", id, up ? "up" : "down");
}

static void test_single_peer_setup(void **state)
{
	struct fixture *f = *state;
	int s = client_connect(f->path[1]);
	int shm = expect_setup(s, 1);
	int own[VECTORS];

	/* Nobody else is connected: only our own eventfds follow. */
	expect_eventfds(s, 1, own);
	expect_nothing(f, s);
	close_all(own, VECTORS);
	close(shm);
	close(s);
}

static void test_two_peers_and_doorbells(void **state)
{
	struct fixture *f = *state;
	int a = client_connect(f->path[0]);
	int shm_a = expect_setup(a, 0);
	int a_own[VECTORS], b_own[VECTORS], a_sees_b[VECTORS], b_sees_a[VECTORS];
	int b, shm_b;
	uint64_t val = 1;

	expect_eventfds(a, 0, a_own);
	wait_peer_state(f, 0, 1);

	b = client_connect(f->path[1]);
	shm_b = expect_setup(b, 1);
	expect_eventfds(b, 0, b_sees_a); /* others first */
	expect_eventfds(b, 1, b_own);	 /* then its own */
	expect_eventfds(a, 1, a_sees_b); /* a is told about b */

	/* B rings A's vector 2: A's own eventfd 2 fires. Same eventfd, different fds. */
	assert_int_equal(write(b_sees_a[2], &val, sizeof(val)), sizeof(val));
	val = 0;
	assert_int_equal(read(a_own[2], &val, sizeof(val)), sizeof(val));
	assert_int_equal(val, 1);

	/* The server side rings B's vector 1 (the supervisor after an epoch bump). */
	pthread_mutex_lock(&f->lock);
	assert_int_equal(ivshmem_server__ring(&f->srv, 1, 1), 0);
	assert_int_equal(ivshmem_server__ring(&f->srv, 1, VECTORS), -EINVAL);
	assert_int_equal(ivshmem_server__ring(&f->srv, 3, 0), -ENOTCONN);
	pthread_mutex_unlock(&f->lock);
	val = 0;
	assert_int_equal(read(b_own[1], &val, sizeof(val)), sizeof(val));
	assert_int_equal(val, 1);

	/* Shared memory really is shared. */
	char *pa = mmap(NULL, SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, shm_a, 0);
	char *pb = mmap(NULL, SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, shm_b, 0);
	assert_true(pa != MAP_FAILED && pb != MAP_FAILED);
	strcpy(pa + 4096, "hello");
	assert_string_equal(pb + 4096, "hello");
	munmap(pa, SHM_SIZE);
	munmap(pb, SHM_SIZE);

	close_all(a_own, VECTORS);
	close_all(b_own, VECTORS);
	close_all(a_sees_b, VECTORS);
	close_all(b_sees_a, VECTORS);
	close(shm_a);
	close(shm_b);
	close(a);
	close(b);
}

/*
 * The private peer (the driver VM's health doorbell): introduced to role 0 only, with
 * one eventfd; role 1 never hears of it, so it cannot ring it; the server reads what
 * role 0 rang. Its id may not collide with a role's key or the fresh ids.
 */
static void test_private_peer(void **state)
{
	struct fixture *f = *state;
	int a_own[VECTORS], b_own[VECTORS], a_sees_b[VECTORS], b_sees_a[VECTORS];
	int a, b, shm_a, shm_b, hfd, priv, ret;
	uint64_t val = 1;

	pthread_mutex_lock(&f->lock);
	assert_int_equal(ivshmem_server__add_private(&f->srv, 1, 0), -EEXIST); /* a role */
	assert_int_equal(ivshmem_server__add_private(&f->srv, IVSHMEM_SERVER_MAX_ROLES, 0),
			 -EINVAL); /* where fresh ids start */
	hfd = ivshmem_server__add_private(&f->srv, 3, 0);
	assert_true(hfd >= 0);
	assert_int_equal(ivshmem_server__add_private(&f->srv, 2, 0), -EEXIST); /* one only */
	assert_int_equal(ivshmem_server__add_role(&f->srv, "/tmp/unused.sock", 3), -EEXIST);
	pthread_mutex_unlock(&f->lock);

	a = client_connect(f->path[0]);
	shm_a = expect_setup(a, 0);
	assert_int_equal(client_recv(a, &priv), 3); /* the private peer: one eventfd */
	assert_true(priv >= 0);
	expect_eventfds(a, 0, a_own);
	wait_peer_state(f, 0, 1);

	b = client_connect(f->path[1]);
	shm_b = expect_setup(b, 1);
	expect_eventfds(b, 0, b_sees_a); /* role 0, but never the private peer */
	expect_eventfds(b, 1, b_own);
	expect_eventfds(a, 1, a_sees_b);
	expect_nothing(f, b);

	/* role 0 rings it; the server reads it, once */
	assert_int_equal(write(priv, &val, sizeof(val)), sizeof(val));
	val = 0;
	assert_int_equal(read(hfd, &val, sizeof(val)), sizeof(val));
	assert_int_equal(val, 1);
	ret = (int)read(hfd, &val, sizeof(val));
	assert_int_equal(ret, -1);
	assert_int_equal(errno, EAGAIN);

	close(priv);
	close_all(a_own, VECTORS);
	close_all(b_own, VECTORS);
	close_all(a_sees_b, VECTORS);
	close_all(b_sees_a, VECTORS);
	close(shm_a);
	close(shm_b);
	close(a);
	close(b);
}

/*
 * A warm spare (role 1 here) becomes the driver VM (role 0) without reconnecting: same
 * socket, same id, and the private peer (role 0's only) is introduced to it then. The
 * role it left gives its next peer a fresh id.
 */
static void test_promote(void **state)
{
	struct fixture *f = *state;
	int b_own[VECTORS], c_own[VECTORS], c_sees_b[VECTORS], b_sees_c[VECTORS];
	int b, c, shm_b, shm_c, hfd, priv;
	uint64_t val = 1;

	pthread_mutex_lock(&f->lock);
	hfd = ivshmem_server__add_private(&f->srv, 3, 0);
	assert_true(hfd >= 0);
	assert_int_equal(ivshmem_server__promote(&f->srv, 1, 0), -ENOTCONN); /* nobody */
	assert_int_equal(ivshmem_server__promote(&f->srv, 1, 2), -ENOENT);   /* no role 2 */
	pthread_mutex_unlock(&f->lock);

	b = client_connect(f->path[1]);
	shm_b = expect_setup(b, 1);
	expect_eventfds(b, 1, b_own); /* no private peer for role 1 */
	wait_peer_state(f, 1, 1);
	expect_nothing(f, b);

	pthread_mutex_lock(&f->lock);
	assert_int_equal(ivshmem_server__promote(&f->srv, 1, 0), 1);
	assert_int_equal(ivshmem_server__peer_id(&f->srv, 0), 1);
	assert_false(ivshmem_server__peer_up(&f->srv, 1));
	pthread_mutex_unlock(&f->lock);
	assert_int_equal(client_recv(b, &priv), 3); /* now it may ring the private peer */
	assert_true(priv >= 0);
	assert_int_equal(write(priv, &val, sizeof(val)), sizeof(val));
	val = 0;
	assert_int_equal(read(hfd, &val, sizeof(val)), sizeof(val));
	assert_int_equal(val, 1);

	/* the role it left: a fresh id of its series, introduced to the promoted peer */
	c = client_connect(f->path[1]);
	shm_c = expect_setup(c, 1 + IVSHMEM_SERVER_ID_STRIDE);
	expect_eventfds(c, 1, c_sees_b);
	expect_eventfds(c, 1 + IVSHMEM_SERVER_ID_STRIDE, c_own);
	expect_eventfds(b, 1 + IVSHMEM_SERVER_ID_STRIDE, b_sees_c);
	pthread_mutex_lock(&f->lock);
	assert_int_equal(ivshmem_server__promote(&f->srv, 1, 0), -EBUSY); /* 0 is held */
	pthread_mutex_unlock(&f->lock);

	close(priv);
	close_all(b_own, VECTORS);
	close_all(c_own, VECTORS);
	close_all(c_sees_b, VECTORS);
	close_all(b_sees_c, VECTORS);
	close(shm_b);
	close(shm_c);
	close(b);
	close(c);
}

/*
 * A hidden role (a warm spare's): its peers get 7, 11, ...; it hears of the others, but
 * nobody hears of it (so nobody but the server can ring it) until it is promoted, when
 * the others get its eventfds as a new peer's; its comings and goings are not told.
 */
static void test_hidden_role(void **state)
{
	struct fixture *f = *state;
	int a_own[VECTORS], c_own[VECTORS], s_own[VECTORS], s2_own[VECTORS];
	int a_sees_c[VECTORS], c_sees_a[VECTORS], s_sees_a[VECTORS], s_sees_c[VECTORS];
	int c_sees_s[VECTORS], s2_sees_c[VECTORS], s2_sees_s[VECTORS];
	int a, c, s, s2, shm_a, shm_c, shm_s, shm_s2, priv;
	char path[160];

	snprintf(path, sizeof(path), "%s/spare.sock", f->dir);
	pthread_mutex_lock(&f->lock);
	assert_true(ivshmem_server__add_private(&f->srv, 3, 0) >= 0);
	assert_int_equal(ivshmem_server__add_role(&f->srv, path, 4), -EINVAL); /* 4 = 0 + 4 */
	assert_int_equal(ivshmem_server__add_hidden_role(&f->srv, path, 3), -EEXIST);
	assert_int_equal(ivshmem_server__add_hidden_role(&f->srv, path, 4), 0);
	assert_int_equal(ivshmem_server__add_hidden_role(&f->srv, "/tmp/unused.sock", 2),
			 -EEXIST); /* one only */
	pthread_mutex_unlock(&f->lock);

	a = client_connect(f->path[0]);
	shm_a = expect_setup(a, 0);
	assert_int_equal(client_recv(a, &priv), 3);
	close(priv);
	expect_eventfds(a, 0, a_own);
	c = client_connect(f->path[1]);
	shm_c = expect_setup(c, 1);
	expect_eventfds(c, 0, c_sees_a);
	expect_eventfds(c, 1, c_own);
	expect_eventfds(a, 1, a_sees_c);

	/* the spare: told of a and c, told of no private peer, and nobody told of it */
	s = client_connect(path);
	shm_s = expect_setup(s, IVSHMEM_SERVER_HIDDEN_ID);
	expect_eventfds(s, 0, s_sees_a);
	expect_eventfds(s, 1, s_sees_c);
	expect_eventfds(s, IVSHMEM_SERVER_HIDDEN_ID, s_own);
	wait_peer_state(f, 4, 1);
	expect_nothing(f, a);
	expect_nothing(f, c);

	/* the driver VM dies: everyone who knew it hears so; then the spare takes over,
	 * and only now the client gets its eventfds (and the spare the private peer) */
	close(a);
	expect_plain(c, 0);
	expect_plain(s, 0);
	wait_peer_state(f, 0, 0);
	pthread_mutex_lock(&f->lock);
	assert_int_equal(ivshmem_server__promote(&f->srv, 4, 0), IVSHMEM_SERVER_HIDDEN_ID);
	pthread_mutex_unlock(&f->lock);
	expect_eventfds(c, IVSHMEM_SERVER_HIDDEN_ID, c_sees_s);
	assert_int_equal(client_recv(s, &priv), 3);
	close(priv);

	/* the next spare: the hidden series goes on; it comes and goes unheard */
	s2 = client_connect(path);
	shm_s2 = expect_setup(s2, IVSHMEM_SERVER_HIDDEN_ID + IVSHMEM_SERVER_ID_STRIDE);
	expect_eventfds(s2, IVSHMEM_SERVER_HIDDEN_ID, s2_sees_s); /* role 0 now */
	expect_eventfds(s2, 1, s2_sees_c);
	expect_eventfds(s2, IVSHMEM_SERVER_HIDDEN_ID + IVSHMEM_SERVER_ID_STRIDE, s2_own);
	close(s2);
	wait_peer_state(f, 4, 0);
	expect_nothing(f, s);
	expect_nothing(f, c);

	close_all(a_own, VECTORS);
	close_all(c_own, VECTORS);
	close_all(s_own, VECTORS);
	close_all(s2_own, VECTORS);
	close_all(a_sees_c, VECTORS);
	close_all(c_sees_a, VECTORS);
	close_all(s_sees_a, VECTORS);
	close_all(s_sees_c, VECTORS);
	close_all(c_sees_s, VECTORS);
	close_all(s2_sees_c, VECTORS);
	close_all(s2_sees_s, VECTORS);
	close(shm_a);
	close(shm_c);
	close(shm_s);
	close(shm_s2);
	close(c);
	close(s);
}

/*
 * A driver VM that dies and comes back takes the same role with a FRESH id (QEMU 7.2
 * corrupts its heap when a departed peer's id is reused); the client hears both.
 */
struct id_log {
	int n;
	uint16_t role[16], id[16];
	int up[16];
};

static void log_event(void *opaque, uint16_t role, uint16_t id, int up)
{
	struct id_log *l = opaque;

	if (l->n < 16) {
		l->role[l->n] = role;
		l->id[l->n] = id;
		l->up[l->n++] = up;
	}
}

static void test_restart_gets_fresh_id(void **state)
{
	struct fixture *f = *state;
	int cli_own[VECTORS], cli_sees_drv[VECTORS], drv_own[VECTORS], drv_sees_cli[VECTORS];
	struct id_log log = { 0 };
	int cli, shm_c, round;

	pthread_mutex_lock(&f->lock);
	f->srv.event = log_event;
	f->srv.event_opaque = &log;
	pthread_mutex_unlock(&f->lock);
	cli = client_connect(f->path[1]);
	shm_c = expect_setup(cli, 1);
	expect_eventfds(cli, 1, cli_own);
	for (round = 0; round < 3; round++) {
		/* The role's series: its key, then + 4 each time (abi.h, "Peer ids"). */
		int64_t id = round * IVSHMEM_SERVER_ID_STRIDE;
		int drv = client_connect(f->path[0]);
		int shm_d = expect_setup(drv, id);

		expect_eventfds(drv, 1, drv_sees_cli);
		expect_eventfds(drv, id, drv_own);
		expect_eventfds(cli, id, cli_sees_drv);
		pthread_mutex_lock(&f->lock);
		assert_int_equal(ivshmem_server__peer_id(&f->srv, 0), id);
		pthread_mutex_unlock(&f->lock);
		close(drv);	       /* the driver VM dies */
		expect_plain(cli, id); /* disconnect notice: id without fd */
		wait_peer_state(f, 0, 0);
		close_all(drv_own, VECTORS);
		close_all(drv_sees_cli, VECTORS);
		close_all(cli_sees_drv, VECTORS);
		close(shm_d);
	}
	pthread_mutex_lock(&f->lock);
	assert_int_equal(f->srv.stats.connects, 4);
	assert_int_equal(f->srv.stats.disconnects, 3);
	assert_int_equal(ivshmem_server__peer_id(&f->srv, 0), -ENOTCONN);
	/* client up (1), then driver up/down three times, with its ids */
	assert_int_equal(log.n, 7);
	assert_int_equal(log.role[0], 1);
	assert_int_equal(log.id[0], 1);
	assert_int_equal(log.role[5], 0);
	assert_int_equal(log.id[5], 2 * IVSHMEM_SERVER_ID_STRIDE);
	assert_int_equal(log.up[5], 1);
	assert_int_equal(log.up[6], 0);
	f->srv.event = NULL;
	pthread_mutex_unlock(&f->lock);
	close_all(cli_own, VECTORS);
	close(shm_c);
	close(cli);
}

/* A second peer on an occupied role is refused; the holder keeps its id. */
static void test_second_peer_refused(void **state)
{
	struct fixture *f = *state;
	int a = client_connect(f->path[0]);
	int shm = expect_setup(a, 0);
	int own[VECTORS];
	uint16_t id;
	int b, fd;

	expect_eventfds(a, 0, own);
	wait_peer_state(f, 0, 1);
	b = client_connect(f->path[0]);
	/* The server closes it without a word: what a peer reports as busy. */
	assert_int_equal(ivshmem_peer_welcome(b, &id, &fd), -EBUSY);
	pthread_mutex_lock(&f->lock);
	assert_int_equal(f->srv.stats.rejected, 1);
	pthread_mutex_unlock(&f->lock);
	expect_nothing(f, a);
	close(b);
	close_all(own, VECTORS);
	close(shm);
	close(a);
}

/* Peers never talk to the server: one that does is closed, and the others told. */
static void test_talking_peer_is_closed(void **state)
{
	struct fixture *f = *state;
	int a_own[VECTORS], b_own[VECTORS], a_sees_b[VECTORS], b_sees_a[VECTORS];
	int a = client_connect(f->path[0]);
	int shm_a = expect_setup(a, 0);
	int b, shm_b;
	char c = 'x';

	expect_eventfds(a, 0, a_own);
	wait_peer_state(f, 0, 1);
	b = client_connect(f->path[1]);
	shm_b = expect_setup(b, 1);
	expect_eventfds(b, 0, b_sees_a);
	expect_eventfds(b, 1, b_own);
	expect_eventfds(a, 1, a_sees_b);

	assert_int_equal(write(b, &c, 1), 1);
	assert_int_equal(recv(b, &c, 1, 0), 0); /* closed on us */
	expect_plain(a, 1);			/* a hears b left */
	pthread_mutex_lock(&f->lock);
	assert_int_equal(f->srv.stats.violations, 1);
	pthread_mutex_unlock(&f->lock);

	close_all(a_own, VECTORS);
	close_all(b_own, VECTORS);
	close_all(a_sees_b, VECTORS);
	close_all(b_sees_a, VECTORS);
	close(shm_a);
	close(shm_b);
	close(a);
	close(b);
}

static void test_kick(void **state)
{
	struct fixture *f = *state;
	int a_own[VECTORS], b_own[VECTORS], b_sees_a[VECTORS], a_sees_b[VECTORS];
	int a = client_connect(f->path[0]);
	int shm_a = expect_setup(a, 0);
	int b, shm_b;
	char c;

	expect_eventfds(a, 0, a_own);
	wait_peer_state(f, 0, 1);
	b = client_connect(f->path[1]);
	shm_b = expect_setup(b, 1);
	expect_eventfds(b, 0, b_sees_a);
	expect_eventfds(b, 1, b_own);
	expect_eventfds(a, 1, a_sees_b);

	pthread_mutex_lock(&f->lock);
	ivshmem_server__kick(&f->srv, 0);
	pthread_mutex_unlock(&f->lock);
	/*
	 * The server thread sleeps in poll(), which holds a reference on the socket it
	 * watched: wake it so the close really takes effect (the supervisor kicks from
	 * inside its own loop, so it never has this problem).
	 */
	{
		uint64_t one = 1;

		assert_int_equal(write(f->stop_fd, &one, sizeof(one)), sizeof(one));
	}
	assert_int_equal(recv(a, &c, 1, 0), 0);
	expect_plain(b, 0);

	close_all(a_own, VECTORS);
	close_all(b_own, VECTORS);
	close_all(a_sees_b, VECTORS);
	close_all(b_sees_a, VECTORS);
	close(shm_a);
	close(shm_b);
	close(a);
	close(b);
}

static void test_init_bounds(void **state)
{
	struct ivshmem_server s;
	char longpath[200];

	(void)state;
	assert_int_equal(ivshmem_server__init(&s, "x", -1, 1), -EINVAL);
	assert_int_equal(ivshmem_server__init(&s, "x", 0, 0), -EINVAL);
	assert_int_equal(ivshmem_server__init(&s, "x", 0, IVSHMEM_SERVER_MAX_VECTORS + 1), -EINVAL);
	assert_int_equal(ivshmem_server__init(&s, "x", 0, 1), 0);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = 0;
	assert_int_equal(ivshmem_server__add_role(&s, longpath, 0), -ENAMETOOLONG);
	ivshmem_server__close(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_bounds),
		cmocka_unit_test_setup_teardown(test_single_peer_setup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_peers_and_doorbells, setup, teardown),
		cmocka_unit_test_setup_teardown(test_private_peer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_promote, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hidden_role, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_gets_fresh_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_peer_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_talking_peer_is_closed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kick, setup, teardown),
	};

	return cmocka_run_group_tests_name("supervisor_ivshmem", tests, NULL, NULL);
}
