// SPDX-License-Identifier: BSD-2-Clause
/*
 * libddvm against a fake backend: the real ivshmem server (supervisor/) in a thread,
 * a memfd region laid out by ring/region.c, and a backend thread that serves the rings
 * with the same ring code a translation module uses — an echoing NIC or a RAM disk.
 * The backend can pause, lie (bad offsets, unknown ids, short reads) and be
 * "restarted" (new epoch, rings reset) the way the supervisor does it.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "ddvm.h"
#include "region.h"
#include "ddvm/net.h"
#include "ddvm/blk.h"

/* The blk queue depth of the default layout (ring/region.c): what a client may keep in
 * flight. The tests' arrays hold up to 64. */
static unsigned blk_depth(void)
{
	struct ddvm_layout_params p;

	ddvm_layout_defaults(&p, DDVM_KIND_BLK);
	assert_true(p.fe_entries <= 64);
	return p.fe_entries;
}
#include "ivshmem_server.h"

/* EVIL_SIT: takes every request and answers none */
enum evil { EVIL_NONE, EVIL_BAD_OFF, EVIL_BAD_ID, EVIL_SHORT_READ, EVIL_BAD_META, EVIL_SIT };

struct fake {
	char dir[64];
	char fe_path[128];
	int memfd;
	void *base;
	uint64_t size;
	struct ddvm_region rg;
	struct ivshmem_server srv;
	pthread_t srv_thr;
	volatile int srv_stop;
	int be_sock;
	/* backend */
	pthread_t thr;
	volatile int run, pause, hold_release;
	int evil;
	int running;
	struct ddvm_ring tx, rx; /* net: tx we consume, rx we produce; blk: req, rsp */
	uint64_t features;
	uint8_t *disk;
	uint64_t disk_bytes;
	uint32_t served;
	uint32_t session; /* the client's session we serve (abi.h) */
};

static void *server_main(void *arg)
{
	struct fake *f = arg;

	while (!f->srv_stop) {
		struct pollfd pfds[IVSHMEM_SERVER_MAX_POLLFDS];
		size_t n = ivshmem_server__pollfds(&f->srv, pfds, IVSHMEM_SERVER_MAX_POLLFDS);

		if (poll(pfds, n, 10) > 0)
			ivshmem_server__handle(&f->srv, pfds, n);
	}
	return NULL;
}

/* Ring the client (peer 1) on vector v: its eventfds as the server handed them out. */
static void kick_client(struct fake *f, unsigned v)
{
	uint64_t one = 1;
	int fd = f->srv.roles[1].peer.eventfds[v];

	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0) {
	}
}

static struct fake *fake_new(uint32_t kind, uint64_t features)
{
	struct fake *f = calloc(1, sizeof(*f));
	struct ddvm_layout_params p;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[128];
	int i;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/ddvm-ut.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	ddvm_layout_defaults(&p, kind);
	f->size = ddvm_layout_size(&p);
	f->memfd = memfd_create("ut", MFD_CLOEXEC);
	assert_true(f->memfd >= 0);
	assert_int_equal(ftruncate(f->memfd, (off_t)f->size), 0);
	f->base = mmap(NULL, f->size, PROT_READ | PROT_WRITE, MAP_SHARED, f->memfd, 0);
	assert_true(f->base != MAP_FAILED);
	assert_int_equal(ddvm_region_init(f->base, f->size, &p), 0);
	assert_int_equal(ddvm_region_attach(&f->rg, f->base, f->size), 0);
	f->rg.hdr->backend_peer = 0;
	f->rg.hdr->frontend_peer = 1;
	if (kind == DDVM_KIND_NET) {
		static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0xdd, 0x00, 0x01 };

		memcpy(((struct ddvm_net_config *)f->rg.hdr->device)->mac, mac, 6);
	}
	f->features = features;

	assert_int_equal(ivshmem_server__init(&f->srv, "ut", f->memfd, DDVM_MAX_VECTORS), 0);
	snprintf(path, sizeof(path), "%s/backend.sock", f->dir);
	assert_int_equal(ivshmem_server__add_role(&f->srv, path, 0), 0);
	snprintf(f->fe_path, sizeof(f->fe_path), "%s/frontend.sock", f->dir);
	assert_int_equal(ivshmem_server__add_role(&f->srv, f->fe_path, 1), 0);
	{ /* host tools (peer ids 2, 6, ...), as the supervisor has them */
		char hp[sizeof(f->dir) + 16];

		snprintf(hp, sizeof(hp), "%s/host.sock", f->dir);
		assert_int_equal(ivshmem_server__add_role(&f->srv, hp, 2), 0);
	}
	assert_int_equal(pthread_create(&f->srv_thr, NULL, server_main, f), 0);

	/* The "driver VM" peer: connects so the client gets its doorbells; the test
	 * thread uses the server's copies of the eventfds. */
	f->be_sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	assert_int_equal(connect(f->be_sock, (struct sockaddr *)&sa, sizeof(sa)), 0);
	for (i = 0; i < 2000 && !ivshmem_server__peer_up(&f->srv, 0); i++)
		usleep(1000);
	assert_true(ivshmem_server__peer_up(&f->srv, 0));
	return f;
}

/* --- the backend thread ------------------------------------------------------------ */

static void serve_net(struct fake *f)
{
	struct ddvm_net_desc d;
	int kick_rx = 0;

	while (ddvm_ring_space(&f->rx) && ddvm_ring_pending(&f->tx)) {
		uint32_t idx = f->tx.cons;
		const void *src;

		assert_int_equal(ddvm_ring_pop(&f->tx, &d), 0);
		src = ddvm_ring_slot_check(&f->tx, idx, d.off, d.len);
		assert_non_null(src);
		/* echo it, metadata and all */
		memcpy(ddvm_ring_slot(&f->rx, f->rx.prod), src, d.len);
		d.off = ddvm_ring_slot_off(&f->rx, f->rx.prod);
		if (f->evil == EVIL_BAD_OFF)
			d.off += 4;
		/* a frame marked 0xee comes back as TCP GSO whose headers would end past
		 * the frame (what another client's frame forwarded as is could carry) */
		if (f->evil == EVIL_BAD_META && ((const uint8_t *)src)[0] == 0xee) {
			d.flags = DDVM_NET_DESC_NEEDS_CSUM;
			d.gso_type = DDVM_NET_GSO_TCPV4;
			d.gso_size = 1;
			d.csum_start = 34;
			d.csum_offset = 16;
			d.hdr_len = (uint16_t)(d.len + 42);
		}
		assert_int_equal(ddvm_ring_push(&f->rx, &d), 0);
		f->served++;
	}
	if (ddvm_ring_release(&f->tx))
		kick_client(f, f->tx.vector);
	kick_rx = ddvm_ring_publish(&f->rx);
	if (kick_rx)
		kick_client(f, f->rx.vector);
}

static void serve_blk(struct fake *f)
{
	struct ddvm_blk_req rq;

	while (ddvm_ring_space(&f->rx) && ddvm_ring_pending(&f->tx)) {
		struct ddvm_blk_rsp rsp;
		uint64_t off;
		void *buf;

		assert_int_equal(ddvm_ring_pop(&f->tx, &rq), 0);
		if (f->evil == EVIL_SIT)
			continue;
		memset(&rsp, 0, sizeof(rsp));
		rsp.id = rq.id;
		rsp.status = DDVM_BLK_S_OK;
		off = rq.sector * 512;
		buf = ddvm_ring_buf_check(&f->tx, rq.off, rq.len);
		if (!buf || off > f->disk_bytes || rq.len > f->disk_bytes - off) {
			rsp.status = DDVM_BLK_S_INVAL;
		} else {
			switch (rq.op) {
			case DDVM_BLK_OP_READ:
				memcpy(buf, f->disk + off, rq.len);
				rsp.len = rq.len;
				break;
			case DDVM_BLK_OP_WRITE:
				memcpy(f->disk + off, buf, rq.len);
				rsp.len = rq.len;
				break;
			case DDVM_BLK_OP_FLUSH:
				break;
			case DDVM_BLK_OP_DISCARD:
			case DDVM_BLK_OP_WRITE_ZEROES:
				memset(f->disk + off, 0, rq.len);
				break;
			default:
				rsp.status = DDVM_BLK_S_UNSUPP;
			}
		}
		if (f->evil == EVIL_BAD_ID)
			rsp.id ^= 1ull << 20;
		if (f->evil == EVIL_SHORT_READ && rq.op == DDVM_BLK_OP_READ)
			rsp.len -= 512;
		assert_int_equal(ddvm_ring_push(&f->rx, &rsp), 0);
		f->served++;
	}
	/* Like a real backend: answers may be published before the consumed requests
	 * are released, so the client can see its tags free while the req ring is full. */
	if (ddvm_ring_publish(&f->rx))
		kick_client(f, f->rx.vector);
	if (f->served % 3)
		sched_yield();
	if (!f->hold_release && ddvm_ring_release(&f->tx))
		kick_client(f, f->tx.vector);
}

/* A translation module's side of a session (abi.h), with ring/region.h's rules: a
 * client that asks for a new session gets our side reset and READY for it. */
static void fake_session(struct fake *f)
{
	uint32_t epoch = ddvm_region_epoch(&f->rg);
	uint32_t s = ddvm_region_session_request(&f->rg, epoch, f->session);

	if (!s)
		return;
	ddvm_ring_reset_own(&f->tx);
	ddvm_ring_reset_own(&f->rx);
	f->session = s;
	ddvm_region_session_ack(&f->rg, DDVM_STATE_READY, epoch, s);
	kick_client(f, DDVM_VECTOR_CONTROL);
}

static void *backend_main(void *arg)
{
	struct fake *f = arg;
	int fd = f->srv.roles[0].peer.eventfds[1];
	int ctl = f->srv.roles[0].peer.eventfds[DDVM_VECTOR_CONTROL];

	while (f->run) {
		struct pollfd pfd[2] = { { .fd = fd, .events = POLLIN },
					 { .fd = ctl, .events = POLLIN } };
		uint64_t cnt;

		fake_session(f);
		if (!f->pause &&
		    ddvm_region_session_current(&f->rg, ddvm_region_epoch(&f->rg), f->session)) {
			if (f->rg.kind == DDVM_KIND_NET)
				serve_net(f);
			else
				serve_blk(f);
			/* sleep only if nothing arrived after we said so */
			if (!ddvm_ring_prepare_wait(&f->tx))
				continue;
		}
		if (poll(pfd, 2, 5) > 0) {
			if (read(fd, &cnt, sizeof(cnt)) < 0 || read(ctl, &cnt, sizeof(cnt)) < 0) {
			}
		}
	}
	return NULL;
}

/* The device description and features a translation module publishes. */
static void fake_describe(struct fake *f)
{
	if (f->rg.kind == DDVM_KIND_NET) {
		struct ddvm_net_config *nc = (void *)f->rg.hdr->device;

		nc->mtu = 1500;
		nc->link_up = 1;
		memcpy(nc->nic_driver, "fake", 5);
	} else {
		struct ddvm_blk_config *bc = (void *)f->rg.hdr->device;

		bc->capacity = f->disk_bytes / 512;
		bc->logical_block = 512;
		bc->physical_block = 4096;
		bc->max_sectors = 256;
		bc->max_discard_sectors = 8192;
		memcpy(bc->disk_driver, "ramdisk", 8);
	}
	ddvm_write64(&f->rg.hdr->features, f->features);
}

static void backend_start(struct fake *f)
{
	uint32_t epoch = ddvm_region_epoch(&f->rg);

	assert_int_equal(ddvm_region_ring(&f->rg, 0, DDVM_SIDE_BACKEND, &f->tx), 0);
	assert_int_equal(ddvm_region_ring(&f->rg, 1, DDVM_SIDE_BACKEND, &f->rx), 0);
	fake_describe(f);
	ddvm_ring_reset_own(&f->tx);
	ddvm_ring_reset_own(&f->rx);
	f->session = 0; /* a new incarnation serves no session until asked */
	ddvm_region_session_ack(&f->rg, DDVM_STATE_READY, epoch, 0);
	f->run = 1;
	assert_int_equal(pthread_create(&f->thr, NULL, backend_main, f), 0);
	f->running = 1;
	kick_client(f, DDVM_VECTOR_CONTROL);
}

static void backend_stop(struct fake *f)
{
	if (!f->running)
		return;
	f->run = 0;
	pthread_join(f->thr, NULL);
	f->running = 0;
}

/* What the supervisor does when a driver VM died: reset rings, bump the epoch. */
static void backend_restart(struct fake *f, int evil)
{
	uint32_t epoch = ddvm_region_epoch(&f->rg) + 1;

	backend_stop(f);
	ddvm_region_set_backend(&f->rg, DDVM_STATE_ABSENT, epoch);
	ddvm_region_reset_rings(&f->rg);
	ddvm_store_release(&f->rg.hdr->epoch, epoch);
	kick_client(f, DDVM_VECTOR_CONTROL);
	f->evil = evil;
	f->pause = 0;
	backend_start(f);
}

static void fake_free(struct fake *f)
{
	char path[160];

	backend_stop(f);
	f->srv_stop = 1;
	pthread_join(f->srv_thr, NULL);
	ivshmem_server__close(&f->srv);
	close(f->be_sock);
	munmap(f->base, f->size);
	close(f->memfd);
	free(f->disk);
	snprintf(path, sizeof(path), "%s/backend.sock", f->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/host.sock", f->dir);
	unlink(path);
	unlink(f->fe_path);
	rmdir(f->dir);
	free(f);
}

static struct ddvm_chan *open_ok(struct fake *f, int kind)
{
	struct ddvm_chan *c = NULL;

	assert_int_equal(ddvm_chan_open(&c, f->fe_path, kind, 0), 0);
	assert_non_null(c);
	return c;
}

/* --- tests: attach and misuse ------------------------------------------------------ */

static void on_alarm(int sig)
{
	(void)sig; /* a handled signal: ddvm_chan_open_wait's sleep ends with EINTR */
}

static void test_open_errors(void **state)
{
	struct ddvm_chan *c = (void *)1;
	struct fake *f;
	char longp[200];
	uint8_t fr[64] = { 0 };

	(void)state;
	assert_int_equal(ddvm_chan_open(NULL, "/x", 0, 0), -EINVAL);
	assert_int_equal(ddvm_chan_open(&c, NULL, 0, 0), -EINVAL);
	assert_int_equal(ddvm_chan_open(&c, "/x", 7, 0), -EINVAL);
	assert_int_equal(ddvm_chan_open(&c, "/x", 0, 2), -EINVAL);
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = 0;
	assert_int_equal(ddvm_chan_open(&c, longp, 0, 0), -ENAMETOOLONG);
	assert_int_equal(ddvm_chan_open(&c, "/nonexistent/ddvm.sock", 0, 0), -ENOENT);
	assert_null(c);
	{ /* ddvm_chan_open_wait: tries until its time is up, then says what open said */
		struct timespec t0, t1;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		assert_int_equal(ddvm_chan_open_wait(&c, "/nonexistent/ddvm.sock", 0, 0, 300),
				 -ENOENT);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		assert_true((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 >=
			    300);
		assert_null(c);
		assert_int_equal(ddvm_chan_open_wait(&c, NULL, 0, 0, 300), -EINVAL);
	}
	{ /* a path that is not a socket fails at once (connect() would say ECONNREFUSED,
	   * which open_wait retries), and a handled signal ends the wait */
		char nsock[] = "/tmp/ddvm-notsock-XXXXXX";
		int fd = mkstemp(nsock);
		struct sigaction sa = { .sa_handler = on_alarm };
		struct timespec t0, t1;

		assert_true(fd >= 0);
		close(fd);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		assert_int_equal(ddvm_chan_open_wait(&c, nsock, 0, 0, 5000), -ENOTSOCK);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		assert_true(t1.tv_sec - t0.tv_sec < 2);
		assert_null(c);
		unlink(nsock);
		sigaction(SIGALRM, &sa, NULL);
		alarm(1);
		assert_int_equal(ddvm_chan_open_wait(&c, "/nonexistent/ddvm.sock", 0, 0, 20000),
				 -EINTR);
		assert_null(c);
		signal(SIGALRM, SIG_DFL);
	}

	/* NULL channels are refused everywhere, never dereferenced */
	assert_int_equal(ddvm_net_send(NULL, fr, 60, NULL, 0), -EINVAL);
	assert_int_equal(ddvm_net_recv(NULL, fr, 60, NULL), -EINVAL);
	assert_int_equal(ddvm_blk_read(NULL, 0, fr, 512, 0), -EINVAL);
	assert_int_equal(ddvm_chan_process(NULL), -EINVAL);
	ddvm_chan_close(NULL);
	assert_true(strlen(ddvm_strerror(-EPIPE)) > 0);
	assert_true(strlen(ddvm_strerror(12345)) > 0);

	f = fake_new(DDVM_KIND_NET, 0);
	assert_int_equal(ddvm_chan_open(&c, f->fe_path, DDVM_CHAN_BLK, 0), -EMEDIUMTYPE);
	c = open_ok(f, DDVM_CHAN_ANY);
	assert_int_equal(ddvm_chan_kind(c), DDVM_CHAN_NET);
	{ /* one frontend per channel: the server refuses a second one */
		struct ddvm_chan *c2 = NULL;
		char hp[sizeof(f->dir) + 16];

		assert_int_equal(ddvm_chan_open(&c2, f->fe_path, 0, 0), -EBUSY);
		assert_null(c2);
		/* nor is a host tool's peer a frontend: refused, nothing written */
		snprintf(hp, sizeof(hp), "%s/host.sock", f->dir);
		assert_int_equal(ddvm_chan_open(&c2, hp, 0, 0), -EPERM);
		assert_null(c2);
		assert_string_not_equal(ddvm_strerror(-EPERM), strerror(EPERM));
	}
	assert_int_equal(ddvm_chan_state(c), DDVM_CHAN_WAITING);
	assert_int_equal(ddvm_net_send(c, fr, 60, NULL, 0), -ENOTCONN);
	assert_int_equal(ddvm_net_tx_pending(c), -ENOTCONN);
	assert_int_equal(ddvm_net_tx_pending(NULL), -EINVAL);
	assert_int_equal(ddvm_blk_read(c, 0, fr, 512, 0), -EOPNOTSUPP);
	assert_int_equal(ddvm_blk_pread(c, fr, 512, 0), -EOPNOTSUPP);
	{
		struct ddvm_blk_info bi;
		struct ddvm_net_info ni;

		assert_int_equal(ddvm_blk_info(c, &bi), -EOPNOTSUPP);
		assert_int_equal(ddvm_net_info(c, &ni), 0);
		assert_int_equal(ni.mac[5], 0x01);
	}
	/* the header says who we are: attaching, in a session of our own */
	assert_int_equal(f->rg.hdr->frontend_state, DDVM_STATE_ATTACHING);
	assert_int_not_equal(f->rg.hdr->frontend_session, 0);
	assert_int_equal(ddvm_chan_wait_ready(c, 50), -ETIMEDOUT);
	ddvm_chan_close(c);
	assert_int_equal(f->rg.hdr->frontend_state, DDVM_STATE_CLOSED);

	/* not a ddvm region */
	f->rg.hdr->magic = 0;
	assert_int_equal(ddvm_chan_open(&c, f->fe_path, 0, 0), -EPROTONOSUPPORT);
	fake_free(f);
}

/* --- tests: net -------------------------------------------------------------------- */

static void fill_frame(uint8_t *b, size_t len, unsigned seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		b[i] = (uint8_t)(seed * 31 + i * 7);
}

static ssize_t recv_wait(struct ddvm_chan *c, void *buf, size_t cap, struct ddvm_net_meta *m)
{
	int i;

	for (i = 0; i < 400; i++) {
		ssize_t n = ddvm_net_recv(c, buf, cap, m);

		if (n != -EAGAIN)
			return n;
		ddvm_chan_wait(c, 20);
	}
	return -ETIMEDOUT;
}

static void test_net_echo(void **state)
{
	struct fake *f = fake_new(DDVM_KIND_NET, DDVM_NET_F_CSUM | DDVM_NET_F_TSO4);
	static uint8_t out[70000], in[70000];
	struct ddvm_net_meta m, mr;
	struct ddvm_net_info ni;
	struct ddvm_chan *c;
	unsigned sent = 0, got = 0;

	(void)state;
	assert_int_equal(ddvm_chan_open(&c, f->fe_path, DDVM_CHAN_NET, DDVM_OPEN_NET_OFFLOADS), 0);
	/* the client announces what it takes */
	assert_true(f->rg.hdr->driver_features & DDVM_NET_F_GUEST_TSO4);
	backend_start(f);
	assert_int_equal(ddvm_chan_wait_ready(c, 5000), 0);
	assert_int_equal(ddvm_net_info(c, &ni), 0);
	assert_int_equal(ni.mtu, 1500);
	assert_string_equal(ni.nic_driver, "fake");
	assert_true(ni.max_frame >= 65536);

	/* 1000 frames of every size class, batched, echoed back in order */
	while (got < 1000) {
		while (sent < 1000) {
			size_t len = 14 + (sent * 97) % 9000;
			int r;

			fill_frame(out, len, sent);
			r = ddvm_net_send(c, out, len, NULL,
					  (sent % 8) != 7 ? DDVM_NET_SEND_MORE : 0);
			if (r == -EAGAIN)
				break;
			assert_int_equal(r, 0);
			sent++;
		}
		assert_int_equal(ddvm_net_flush(c), 0);
		for (;;) {
			ssize_t n = ddvm_net_recv(c, in, sizeof(in), NULL);
			size_t len = 14 + (got * 97) % 9000;

			if (n == -EAGAIN)
				break;
			assert_int_equal(n, (ssize_t)len);
			fill_frame(out, len, got);
			assert_memory_equal(in, out, len);
			got++;
		}
		if (got < sent || sent < 1000)
			ddvm_chan_wait(c, 50);
	}

	/* offload metadata crosses the channel */
	memset(&m, 0, sizeof(m));
	m.flags = DDVM_NET_META_NEEDS_CSUM;
	m.gso_type = DDVM_NET_META_GSO_TCPV4;
	m.gso_size = 1448;
	m.hdr_len = 66;
	m.csum_start = 34;
	m.csum_offset = 16;
	fill_frame(out, 60000, 9);
	assert_int_equal(ddvm_net_send(c, out, 60000, &m, 0), 0);
	assert_int_equal(recv_wait(c, in, sizeof(in), &mr), 60000);
	assert_memory_equal(&m, &mr, sizeof(m));
	/* echoed: the fake backend took every frame, no slot is still out */
	assert_int_equal(ddvm_net_tx_pending(c), 0);

	/* misuse */
	assert_int_equal(ddvm_net_send(c, out, 10, NULL, 0), -EMSGSIZE);
	assert_int_equal(ddvm_net_send(c, out, ni.max_frame + 1, NULL, 0), -EMSGSIZE);
	assert_int_equal(ddvm_net_send(c, out, 100, NULL, 0x80), -EINVAL);
	m.gso_type = DDVM_NET_META_GSO_TCPV6; /* not offered */
	assert_int_equal(ddvm_net_send(c, out, 1000, &m, 0), -EOPNOTSUPP);
	m.gso_type = 0;
	m.flags = 0x40;
	assert_int_equal(ddvm_net_send(c, out, 1000, &m, 0), -EINVAL);
	m.flags = DDVM_NET_META_NEEDS_CSUM;
	m.csum_start = 990;
	assert_int_equal(ddvm_net_send(c, out, 1000, &m, 0), -EINVAL);
	/* a frame that does not fit the caller's buffer is dropped, not truncated */
	assert_int_equal(ddvm_net_send(c, out, 500, NULL, 0), 0);
	assert_int_equal(recv_wait(c, in, 100, NULL), -EMSGSIZE);
	assert_int_equal(ddvm_net_send(c, out, 400, NULL, 0), 0);
	assert_int_equal(recv_wait(c, in, sizeof(in), NULL), 400);

	ddvm_chan_close(c);
	fake_free(f);
}

static void test_net_ring_full_and_wakeup(void **state)
{
	struct fake *f = fake_new(DDVM_KIND_NET, 0);
	uint8_t fr[128] = { 0 }, in[256];
	struct ddvm_chan *c;
	unsigned n = 0, got = 0;
	int r, i;

	(void)state;
	c = open_ok(f, DDVM_CHAN_NET);
	f->pause = 1;
	backend_start(f);
	assert_int_equal(ddvm_chan_wait_ready(c, 5000), 0);
	while ((r = ddvm_net_send(c, fr, sizeof(fr), NULL, 0)) == 0)
		n++;
	assert_int_equal(r, -EAGAIN);
	assert_int_equal(n, f->tx.entries);
	/* nothing to receive, nothing freed: we may sleep */
	assert_int_equal(ddvm_chan_prepare_wait(c), 1);
	f->pause = 0;
	/* the backend drains and echoes; the doorbell wakes us */
	for (i = 0; i < 200 && got < n; i++) {
		ddvm_chan_wait(c, 100);
		while (ddvm_net_recv(c, in, sizeof(in), NULL) == (ssize_t)sizeof(fr))
			got++;
	}
	assert_int_equal(got, n);
	assert_int_equal(ddvm_net_send(c, fr, sizeof(fr), NULL, 0), 0);
	ddvm_chan_close(c);
	fake_free(f);
}

/* Offload metadata that does not fit its frame drops that frame, not the channel. */
static void test_net_bad_meta_dropped(void **state)
{
	struct fake *f = fake_new(DDVM_KIND_NET, 0);
	uint8_t bad[100] = { 0xee }, good[100] = { 1 }, in[256];
	struct ddvm_chan *c;

	(void)state;
	f->evil = EVIL_BAD_META;
	c = open_ok(f, DDVM_CHAN_NET);
	backend_start(f);
	assert_int_equal(ddvm_chan_wait_ready(c, 5000), 0);
	assert_int_equal(ddvm_net_send(c, bad, sizeof(bad), NULL, 0), 0);
	assert_int_equal(ddvm_net_send(c, good, sizeof(good), NULL, 0), 0);
	assert_int_equal(recv_wait(c, in, sizeof(in), NULL), -EBADMSG);
	assert_int_equal(recv_wait(c, in, sizeof(in), NULL), sizeof(good));
	assert_memory_equal(in, good, sizeof(good));
	assert_int_equal(ddvm_chan_state(c), DDVM_CHAN_READY);
	assert_int_equal(f->rg.hdr->frontend_state, DDVM_STATE_READY);
	assert_int_equal(f->rg.hdr->frontend_errors, 0);
	assert_true(strlen(ddvm_strerror(-EBADMSG)) > 20);
	ddvm_chan_close(c);
	fake_free(f);
}

static void test_net_violation_and_recovery(void **state)
{
	struct fake *f = fake_new(DDVM_KIND_NET, 0);
	uint8_t fr[100] = { 1 }, in[256];
	struct ddvm_chan *c;
	int i;

	(void)state;
	f->evil = EVIL_BAD_OFF;
	c = open_ok(f, DDVM_CHAN_NET);
	backend_start(f);
	assert_int_equal(ddvm_chan_wait_ready(c, 5000), 0);
	assert_int_equal(ddvm_net_send(c, fr, sizeof(fr), NULL, 0), 0);
	assert_int_equal(recv_wait(c, in, sizeof(in), NULL), -EPIPE);
	assert_int_equal(ddvm_chan_state(c), DDVM_CHAN_BROKEN);
	assert_true(strlen(ddvm_chan_broken_reason(c)) > 0);
	assert_int_equal(f->rg.hdr->frontend_state, DDVM_STATE_BROKEN);
	assert_int_equal(f->rg.hdr->frontend_errors, 1);
	assert_int_equal(ddvm_net_send(c, fr, sizeof(fr), NULL, 0), -EPIPE);
	assert_int_equal(ddvm_chan_wait_ready(c, 20), -EPIPE);

	/* the supervisor restarts the driver VM: a new epoch heals the channel */
	backend_restart(f, EVIL_NONE);
	assert_int_equal(ddvm_chan_wait_ready(c, 5000), 0);
	assert_int_equal(ddvm_chan_restarts(c), 1);
	assert_int_equal(ddvm_chan_epoch(c), 2);
	assert_int_equal(f->rg.hdr->frontend_state, DDVM_STATE_READY);
	assert_int_equal(f->rg.hdr->frontend_epoch, 2);
	for (i = 0; i < 10; i++) {
		assert_int_equal(ddvm_net_send(c, fr, sizeof(fr), NULL, 0), 0);
		assert_int_equal(recv_wait(c, in, sizeof(in), NULL), sizeof(fr));
	}
	ddvm_chan_close(c);
	fake_free(f);
}

/* --- tests: blk -------------------------------------------------------------------- */

#define DISK_BYTES (4u << 20)

static struct fake *fake_blk(uint64_t features)
{
	struct fake *f = fake_new(DDVM_KIND_BLK, features);
	uint32_t i;

	f->disk_bytes = DISK_BYTES;
	f->disk = malloc(DISK_BYTES);
	assert_non_null(f->disk);
	for (i = 0; i < DISK_BYTES / 4; i++)
		((uint32_t *)f->disk)[i] = i * 2654435761u; /* "the host wrote a pattern" */
	return f;
}

static int reap_all(struct ddvm_chan *c, struct ddvm_blk_completion *out, unsigned want)
{
	unsigned got = 0;
	int i;

	for (i = 0; i < 1000 && got < want; i++) {
		int n = ddvm_blk_reap(c, out + got, want - got);

		assert_true(n >= 0);
		got += (unsigned)n;
		if (got < want)
			ddvm_chan_wait(c, 20);
	}
	return (int)got;
}

static void cb_count(struct ddvm_chan *c, uint64_t cookie, int result, void *opaque)
{
	unsigned *n = opaque;

	(void)c;
	assert_int_equal(result, 0);
	assert_int_equal(cookie, 1000 + *n);
	(*n)++;
}

static void test_blk_io(void **state)
{
	struct fake *f = fake_blk(DDVM_BLK_F_FLUSH | DDVM_BLK_F_DISCARD);
	struct ddvm_blk_completion comp[128];
	static uint8_t buf[1 << 20], buf2[1 << 20], small[64][512];
	struct ddvm_blk_info bi;
	struct ddvm_chan *c;
	unsigned i, ncb = 0;
	uint64_t seen = 0;
	const unsigned depth = blk_depth();

	(void)state;
	c = open_ok(f, DDVM_CHAN_BLK);
	assert_int_equal(ddvm_blk_read(c, 0, buf, 512, 0), -ENOTCONN); /* geometry unknown */
	assert_int_equal(ddvm_blk_info(c, &bi), -ENOTCONN);
	backend_start(f);
	assert_int_equal(ddvm_chan_wait_ready(c, 5000), 0);
	assert_int_equal(ddvm_blk_info(c, &bi), 0);
	assert_int_equal(bi.capacity, DISK_BYTES / 512);
	assert_int_equal(bi.max_io, 128 * 1024);
	assert_int_equal(bi.queue_depth, depth);
	assert_string_equal(bi.disk_driver, "ramdisk");

	/* read what "the host" wrote: 1 MiB, split into max_io pieces, pipelined */
	assert_int_equal(ddvm_blk_pread(c, buf, sizeof(buf), 512 * 1024), 0);
	assert_memory_equal(buf, f->disk + 512 * 1024, sizeof(buf));
	/* write, flush, read back */
	fill_frame(buf, sizeof(buf), 77);
	assert_int_equal(ddvm_blk_pwrite(c, buf, sizeof(buf), 3u << 20, 0), 0);
	assert_int_equal(ddvm_blk_flush_sync(c), 0);
	assert_memory_equal(f->disk + (3u << 20), buf, sizeof(buf));
	assert_int_equal(ddvm_blk_pread(c, buf2, sizeof(buf2), 3u << 20), 0);
	assert_memory_equal(buf, buf2, sizeof(buf));
	/* discard */
	assert_int_equal(ddvm_blk_trim_sync(c, DDVM_BLK_DISCARD, 65536, 3u << 20), 0);
	assert_int_equal(ddvm_blk_pread(c, buf2, 65536, 3u << 20), 0);
	memset(buf, 0, 65536);
	assert_memory_equal(buf, buf2, 65536);

	/* asynchronous: fill the queue, one more is -EAGAIN, reap them all */
	for (i = 0; i < depth; i++)
		assert_int_equal(ddvm_blk_read(c, i, small[i], 512, 100 + i), 0);
	assert_int_equal(ddvm_blk_inflight(c), depth);
	assert_int_equal(ddvm_blk_read(c, 0, buf, 512, 1), -EAGAIN);
	assert_int_equal(ddvm_blk_pread(c, buf, 512, 0), -EINPROGRESS);
	assert_non_null(strstr(ddvm_strerror(-EINPROGRESS), "in flight"));
	assert_int_equal(reap_all(c, comp, depth), depth);
	for (i = 0; i < depth; i++) {
		assert_int_equal(comp[i].result, 0);
		seen |= 1ull << (comp[i].cookie - 100);
	}
	assert_int_equal(seen, depth == 64 ? ~0ull : (1ull << depth) - 1);
	for (i = 0; i < depth; i++)
		assert_memory_equal(small[i], f->disk + i * 512, 512);

	/* misuse is refused up front */
	assert_int_equal(ddvm_blk_read(c, 0, buf, 100, 0), -EINVAL);
	assert_int_equal(ddvm_blk_read(c, 0, NULL, 512, 0), -EINVAL);
	assert_int_equal(ddvm_blk_read(c, DISK_BYTES / 512, buf, 512, 0), -ERANGE);
	assert_int_equal(ddvm_blk_read(c, DISK_BYTES / 512 - 1, buf, 1024, 0), -ERANGE);
	assert_int_equal(ddvm_blk_read(c, UINT64_MAX, buf, 512, 0), -ERANGE);
	assert_int_equal(ddvm_blk_read(c, 0, buf, 256 * 1024, 0), -E2BIG);
	assert_int_equal(ddvm_blk_submit(c, DDVM_BLK_FLUSH, 0, NULL, 512, 0, 0), -EINVAL);
	assert_int_equal(ddvm_blk_submit(c, 9, 0, buf, 512, 0, 0), -EINVAL);
	assert_int_equal(ddvm_blk_submit(c, DDVM_BLK_WRITE, 0, buf, 512, DDVM_BLK_IO_FUA, 0),
			 -EOPNOTSUPP);
	assert_int_equal(ddvm_blk_submit(c, DDVM_BLK_WRITE_ZEROES, 0, NULL, 512, 0, 0),
			 -EOPNOTSUPP);
	assert_int_equal(ddvm_blk_reap(c, NULL, 4), -EINVAL);
	assert_int_equal(ddvm_net_send(c, buf, 60, NULL, 0), -EOPNOTSUPP);

	/* callbacks, delivered from ddvm_chan_process() */
	assert_int_equal(ddvm_blk_set_callback(c, cb_count, &ncb), 0);
	for (i = 0; i < 10; i++)
		assert_int_equal(ddvm_blk_write(c, 100 + i, small[i], 512, 1000 + i), 0);
	for (i = 0; i < 500 && ncb < 10; i++)
		ddvm_chan_wait(c, 20);
	assert_int_equal(ncb, 10);
	assert_int_equal(ddvm_blk_pread(c, buf, 512, 0), -EINPROGRESS); /* callback set */
	ddvm_chan_close(c);
	fake_free(f);
}

static void test_blk_resubmit_after_restart(void **state)
{
	struct fake *f = fake_blk(DDVM_BLK_F_FLUSH);
	struct ddvm_blk_completion comp[16];
	static uint8_t w[8][4096], r[4096];
	struct ddvm_chan *c;
	unsigned i;

	(void)state;
	c = open_ok(f, DDVM_CHAN_BLK);
	f->pause = 1; /* the driver VM hangs: requests go out, nothing comes back */
	backend_start(f);
	assert_int_equal(ddvm_chan_wait_ready(c, 5000), 0);
	for (i = 0; i < 8; i++) {
		fill_frame(w[i], sizeof(w[i]), 500 + i);
		assert_int_equal(ddvm_blk_write(c, 64 + i * 8, w[i], sizeof(w[i]), i), 0);
	}
	assert_int_equal(ddvm_blk_read(c, 2048, r, sizeof(r), 8), 0);
	assert_int_equal(ddvm_blk_flush(c, 9), 0);
	assert_int_equal(ddvm_blk_reap(c, comp, 16), 0);

	/* restart: the new driver VM gets every request again, in order */
	backend_restart(f, EVIL_NONE);
	assert_int_equal(reap_all(c, comp, 10), 10);
	for (i = 0; i < 10; i++)
		assert_int_equal(comp[i].result, 0);
	assert_int_equal(ddvm_chan_restarts(c), 1);
	for (i = 0; i < 8; i++)
		assert_memory_equal(f->disk + (64 + i * 8) * 512, w[i], sizeof(w[i]));
	assert_memory_equal(r, f->disk + 2048 * 512, sizeof(r));
	ddvm_chan_close(c);
	fake_free(f);
}

/* The supervisor gives up on the driver VM (backend BROKEN + DDVM_CTL_BACKEND_GONE):
 * requests in flight complete with -ENODEV at once, new ones are refused, nothing
 * waits; `ddvm restart VM` (flag cleared, new epoch) brings the channel back. */
static void test_blk_backend_gone(void **state)
{
	struct fake *f = fake_blk(DDVM_BLK_F_FLUSH);
	struct ddvm_blk_completion comp[16];
	static uint8_t w[4096], r[4096];
	struct ddvm_chan *c;
	unsigned i;

	(void)state;
	c = open_ok(f, DDVM_CHAN_BLK);
	f->pause = 1; /* the driver VM hangs with our requests */
	backend_start(f);
	assert_int_equal(ddvm_chan_wait_ready(c, 5000), 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(ddvm_blk_read(c, i * 8, r, sizeof(r), i), 0);
	assert_int_equal(ddvm_blk_reap(c, comp, 16), 0);

	/* channel__backend_dead() */
	backend_stop(f);
	ddvm_region_set_backend(&f->rg, DDVM_STATE_BROKEN, ddvm_region_epoch(&f->rg));
	f->rg.hdr->ctl_flags |= DDVM_CTL_BACKEND_GONE;
	kick_client(f, DDVM_VECTOR_CONTROL);
	assert_int_equal(reap_all(c, comp, 4), 4);
	for (i = 0; i < 4; i++)
		assert_int_equal(comp[i].result, -ENODEV);
	assert_int_equal(ddvm_chan_state(c), DDVM_CHAN_GONE);
	assert_int_equal(ddvm_blk_write(c, 0, w, sizeof(w), 9), -ENODEV);
	assert_int_equal(ddvm_blk_pread(c, r, sizeof(r), 0), -ENODEV);
	assert_int_equal(ddvm_chan_wait_ready(c, 5000), -ENODEV);
	assert_non_null(strstr(ddvm_strerror(-ENODEV), "gave up"));

	/* `ddvm restart VM`: channel__new_epoch() clears the flag with the new epoch */
	f->rg.hdr->ctl_flags &= ~DDVM_CTL_BACKEND_GONE;
	backend_restart(f, EVIL_NONE);
	assert_int_equal(ddvm_chan_wait_ready(c, 5000), 0);
	fill_frame(w, sizeof(w), 42);
	assert_int_equal(ddvm_blk_pwrite(c, w, sizeof(w), 8192, 0), 0);
	assert_memory_equal(f->disk + 8192, w, sizeof(w));
	ddvm_chan_close(c);
	fake_free(f);
}

/* Answers arrive before the backend says it consumed the requests: the client's tags
 * are free but its req ring is full. New requests wait for ring space, then go. */
static void test_blk_ring_full_tags_free(void **state)
{
	struct fake *f = fake_blk(0);
	struct ddvm_blk_completion comp[64];
	static uint8_t r[64][512];
	struct ddvm_chan *c;
	unsigned i;
	const unsigned depth = blk_depth();

	(void)state;
	f->hold_release = 1;
	c = open_ok(f, DDVM_CHAN_BLK);
	backend_start(f);
	assert_int_equal(ddvm_chan_wait_ready(c, 5000), 0);
	for (i = 0; i < depth; i++)
		assert_int_equal(ddvm_blk_read(c, i, r[i], 512, i), 0);
	assert_int_equal(reap_all(c, comp, depth), depth);
	for (i = 0; i < 10; i++)
		assert_int_equal(ddvm_blk_read(c, i, r[i], 512, 100 + i), 0);
	assert_int_equal(ddvm_blk_inflight(c), 10);
	assert_int_equal(ddvm_blk_reap(c, comp, 64), 0);
	assert_int_equal(ddvm_chan_state(c), DDVM_CHAN_READY); /* not a violation */
	f->hold_release = 0;
	assert_int_equal(reap_all(c, comp, 10), 10);
	for (i = 0; i < 10; i++)
		assert_int_equal(comp[i].result, 0);
	ddvm_chan_close(c);
	fake_free(f);
}

static void test_blk_violations(void **state)
{
	struct fake *f = fake_blk(0);
	struct ddvm_blk_completion comp[4];
	static uint8_t r[8192];
	struct ddvm_chan *c;

	(void)state;
	f->evil = EVIL_BAD_ID;
	c = open_ok(f, DDVM_CHAN_BLK);
	backend_start(f);
	assert_int_equal(ddvm_chan_wait_ready(c, 5000), 0);
	/* no volatile cache: a flush completes at once, without the backend */
	assert_int_equal(ddvm_blk_flush(c, 77), 0);
	assert_int_equal(ddvm_blk_reap(c, comp, 4), 1);
	assert_int_equal(comp[0].cookie, 77);
	assert_int_equal(comp[0].result, 0);
	assert_int_equal(ddvm_blk_trim_sync(c, DDVM_BLK_DISCARD, 512, 0), -EOPNOTSUPP);

	/* a response with an id we never used: broken, the read fails */
	assert_int_equal(ddvm_blk_read(c, 0, r, 4096, 5), 0);
	assert_int_equal(reap_all(c, comp, 1), 1);
	assert_int_equal(comp[0].result, -EPIPE);
	assert_int_equal(ddvm_chan_state(c), DDVM_CHAN_BROKEN);
	assert_int_equal(ddvm_blk_read(c, 0, r, 4096, 5), -EPIPE);
	assert_int_equal(ddvm_blk_pread(c, r, 4096, 0), -EPIPE);

	/* after a restart, a short read is caught too */
	backend_restart(f, EVIL_SHORT_READ);
	assert_int_equal(ddvm_chan_wait_ready(c, 5000), 0);
	assert_int_equal(ddvm_blk_pwrite(c, r, 4096, 0, 0), 0); /* writes are fine */
	assert_int_equal(ddvm_blk_pread(c, r, 8192, 0), -EPIPE);
	assert_int_equal(f->rg.hdr->frontend_errors, 2);

	/* and a good backend heals it again */
	backend_restart(f, EVIL_NONE);
	assert_int_equal(ddvm_blk_pread(c, r, 8192, 0), 0);
	assert_memory_equal(r, f->disk, 8192);
	ddvm_chan_close(c);
	fake_free(f);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* No driver VM keeps a request for ever: one that sits on it breaks the channel after
 * io_timeout; one that takes it back at a new session again and again fails it after
 * total_timeout (ddvm_blk_set_timeouts). */
static void test_blk_timeouts(void **state)
{
	struct fake *f = fake_blk(0);
	struct ddvm_blk_completion comp[1];
	static uint8_t r[4096];
	struct ddvm_chan *c;
	int64_t t0, last;
	int n = 0;

	(void)state;
	f->evil = EVIL_SIT;
	c = open_ok(f, DDVM_CHAN_BLK);
	backend_start(f);
	assert_int_equal(ddvm_chan_wait_ready(c, 5000), 0);
	assert_int_equal(ddvm_blk_set_timeouts(c, -1, 0), -EINVAL);
	assert_int_equal(ddvm_blk_set_timeouts(c, 300, 0), 0);
	t0 = mono_ms();
	assert_int_equal(ddvm_blk_pread(c, r, 4096, 0), -EPIPE);
	assert_true(mono_ms() - t0 >= 300 && mono_ms() - t0 < 5000);
	assert_int_equal(ddvm_chan_state(c), DDVM_CHAN_BROKEN);

	backend_restart(f, EVIL_SIT);
	assert_int_equal(ddvm_chan_wait_ready(c, 5000), 0);
	assert_int_equal(ddvm_blk_set_timeouts(c, 0, 600), 0);
	assert_int_equal(ddvm_blk_read(c, 0, r, 4096, 9), 0);
	t0 = last = mono_ms();
	while (!(n = ddvm_blk_reap(c, comp, 1)) && mono_ms() - t0 < 5000) {
		assert_true(ddvm_chan_wait(c, 50) >= 0);
		if (mono_ms() - last >= 150) { /* a new epoch, the request sent again */
			backend_restart(f, EVIL_SIT);
			last = mono_ms();
		}
	}
	assert_int_equal(n, 1);
	assert_int_equal(comp[0].cookie, 9);
	/* taken back while waiting for the new driver VM: -ETIMEDOUT; on the ring when
	 * its time was up: the channel breaks, -EPIPE */
	if (comp[0].result != -ETIMEDOUT && comp[0].result != -EPIPE)
		fail_msg("result %d", comp[0].result);
	assert_true(mono_ms() - t0 >= 600);

	/* a good driver VM, the default bounds: all well again */
	assert_int_equal(
	    ddvm_blk_set_timeouts(c, DDVM_BLK_IO_TIMEOUT_MS, DDVM_BLK_TOTAL_TIMEOUT_MS), 0);
	backend_restart(f, EVIL_NONE);
	assert_int_equal(ddvm_blk_pread(c, r, 4096, 0), 0);
	ddvm_chan_close(c);
	fake_free(f);
}

/* --- a hostile driver VM: random indices and descriptors ------------------------------ */

/* What the supervisor does, but with no backend thread: the test writes the "backend"
 * side of the rings by hand, and serves the session client C asks for then. */
static void epoch_by_hand(struct fake *f, struct ddvm_chan *c)
{
	uint32_t epoch = ddvm_region_epoch(&f->rg) + 1;

	ddvm_region_set_backend(&f->rg, DDVM_STATE_ABSENT, epoch);
	ddvm_region_reset_rings(&f->rg);
	ddvm_store_release(&f->rg.hdr->epoch, epoch);
	ddvm_chan_process(c); /* the client sees the epoch and asks for a session */
	ddvm_region_session_ack(&f->rg, DDVM_STATE_READY, epoch,
				ddvm_read32(&f->rg.hdr->frontend_session));
}

static uint32_t rnd(unsigned *seed)
{
	return (uint32_t)rand_r(seed) ^ ((uint32_t)rand_r(seed) << 16);
}

/* Fill the backend-produced ring with garbage (sometimes plausible garbage). */
static void scribble(struct fake *f, unsigned *seed, const uint64_t *ids, unsigned nids)
{
	struct ddvm_ring r;
	uint32_t i, n = 1 + rnd(seed) % 8;

	assert_int_equal(ddvm_region_ring(&f->rg, 1, DDVM_SIDE_BACKEND, &r), 0);
	for (i = 0; i < n; i++) {
		uint8_t d[DDVM_DESC_SIZE];
		uint32_t k;

		for (k = 0; k < sizeof(d); k++)
			d[k] = (uint8_t)rnd(seed);
		if (f->rg.kind == DDVM_KIND_NET && rnd(seed) % 2) {
			struct ddvm_net_desc *nd = (void *)d;

			nd->off = ddvm_ring_slot_off(&r, i) + (rnd(seed) % 4 ? 0 : rnd(seed) % 64);
			nd->len = rnd(seed) % 4 ? 14 + rnd(seed) % 2000 : rnd(seed);
			nd->flags &= 3;
			nd->gso_type = rnd(seed) % 2 ? 0 : nd->gso_type;
		} else if (f->rg.kind == DDVM_KIND_BLK && nids && rnd(seed) % 2) {
			struct ddvm_blk_rsp *br = (void *)d;

			br->id =
			    ids[rnd(seed) % nids] ^ (rnd(seed) % 4 ? 0 : 1ull << (rnd(seed) % 64));
			br->status = rnd(seed) % 3 ? rnd(seed) % 6 : rnd(seed);
			br->len = rnd(seed) % 2 ? 4096 : rnd(seed);
		}
		memcpy(&r.desc[i & r.mask], d, sizeof(d));
	}
	/* a plausible or an absurd producer index */
	ddvm_store_release(&r.ctl->prod, rnd(seed) % 4 ? n : rnd(seed));
	if (rnd(seed) % 8 == 0)
		ddvm_store_release(
		    &f->rg.rings[0].ring_off
			? &((struct ddvm_ring_ctl *)((uint8_t *)f->base + f->rg.rings[0].ring_off))
			       ->cons
			: &r.ctl->cons,
		    rnd(seed));
}

static void test_hostile_backend(void **state)
{
	static uint8_t buf[70000], rbuf[8][4096];
	unsigned seed = 12345, round;
	struct fake *fn = fake_new(DDVM_KIND_NET, DDVM_NET_F_CSUM);
	struct fake *fb = fake_blk(DDVM_BLK_F_FLUSH);
	struct ddvm_chan *cn, *cb;

	(void)state;
	fake_describe(fn);
	fake_describe(fb);
	cn = open_ok(fn, DDVM_CHAN_NET);
	cb = open_ok(fb, DDVM_CHAN_BLK);
	for (round = 0; round < 300; round++) {
		struct ddvm_blk_completion comp[16];
		uint64_t ids[8];
		unsigned i, k, got = 0;

		epoch_by_hand(fn, cn);
		epoch_by_hand(fb, cb);
		assert_int_equal(ddvm_chan_wait_ready(cn, 2000), 0);
		assert_int_equal(ddvm_chan_wait_ready(cb, 2000), 0);
		/* net: frames in, whatever they are */
		memset(buf, 0, 64);
		assert_int_equal(ddvm_net_send(cn, buf, 60, NULL, 0), 0);
		scribble(fn, &seed, NULL, 0);
		for (i = 0; i < 12; i++) {
			ssize_t n = ddvm_net_recv(cn, buf, sizeof(buf), NULL);

			assert_true((n >= 14 && n <= 65550) || n == -EAGAIN || n == -EPIPE ||
				    n == -EMSGSIZE || n == -EBADMSG);
			(void)ddvm_net_send(cn, buf, 60, NULL, 0);
		}
		/* blk: 8 reads in flight, then answers that may or may not be ours */
		for (k = 0; k < 8; k++)
			assert_int_equal(ddvm_blk_read(cb, k * 8, rbuf[k], 4096, k), 0);
		for (k = 0; k < 8; k++) { /* the ids the library used: read them off the ring */
			struct ddvm_blk_req rq;

			memcpy(&rq, (uint8_t *)fb->base + fb->rg.rings[0].ring_off + 128 + k * 32,
			       sizeof(rq));
			ids[k] = rq.id;
		}
		scribble(fb, &seed, ids, 8);
		for (i = 0; i < 12 && got < 8; i++) {
			int n = ddvm_blk_reap(cb, comp, 16);

			assert_true(n >= 0);
			for (k = 0; k < (unsigned)n; k++) {
				int r = comp[k].result;

				assert_true(comp[k].cookie < 8);
				assert_true(r == 0 || r == -EIO || r == -EOPNOTSUPP ||
					    r == -EINVAL || r == -ENOSPC || r == -EPIPE);
			}
			got += (unsigned)n;
		}
		if (got < 8) { /* the rest stays in flight: a new epoch re-submits it... */
			epoch_by_hand(fb, cb);
			assert_int_equal(ddvm_chan_wait_ready(cb, 2000), 0);
			/* ...to a backend that never answers: close drops it */
		}
		/* a fresh channel per round keeps each round's garbage on its own */
		ddvm_chan_close(cb);
		cb = open_ok(fb, DDVM_CHAN_BLK);
	}
	ddvm_chan_close(cn);
	ddvm_chan_close(cb);
	fake_free(fn);
	fake_free(fb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_net_echo),
		cmocka_unit_test(test_net_ring_full_and_wakeup),
		cmocka_unit_test(test_net_bad_meta_dropped),
		cmocka_unit_test(test_net_violation_and_recovery),
		cmocka_unit_test(test_blk_io),
		cmocka_unit_test(test_blk_resubmit_after_restart),
		cmocka_unit_test(test_blk_backend_gone),
		cmocka_unit_test(test_blk_ring_full_tags_free),
		cmocka_unit_test(test_blk_violations),
		cmocka_unit_test(test_blk_timeouts),
		cmocka_unit_test(test_hostile_backend),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
