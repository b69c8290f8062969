/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ring_bench: the channel's ring alone, between two processes on one shared mapping,
 * beside the baselines measured in the same run.
 *
 *   one-way streaming  the producer copies each payload into its slot, the consumer
 *                      copies it out (as the real sides do), with the real sleep/wake
 *                      protocol on eventfd doorbells; 64 B, 1500 B and 64 KiB payloads
 *   ping-pong latency  one 64-byte message each way, polled (both sides spin) and with
 *                      eventfd sleep/wake-up (every message wakes a sleeping peer)
 *   baselines          a pipe and a unix stream socket moving the same messages, and
 *                      memcpy of the same payloads through a buffer of the ring's size
 *                      (one core copying: the physical limit of copy-in + copy-out)
 *
 * Usage: ring_bench [-t SECONDS_PER_RUN] [-r RUNS_PER_CELL]
 *   defaults 0.5 s and 3 runs (the median is printed): about 25 s of measuring
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ddvm/abi.h"
#include "region.h"
#include "ring.h"

#define STOP_SEQ  UINT64_MAX
#define PING_SIZE 64

static double cell_secs = 0.5;
static int reps = 3; /* each cell is run reps times; the median is printed */

struct bdesc {
	uint32_t off;
	uint32_t len;
	uint64_t seq;
	uint64_t pad[2];
};
_Static_assert(sizeof(struct bdesc) == DDVM_DESC_SIZE, "bench desc");

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "ring_bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void xwrite(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;

	while (n) {
		ssize_t k = write(fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			die("write");
		p += k;
		n -= (size_t)k;
	}
}

/* Read exactly n bytes; 0 at a clean EOF before the first byte. */
static int xread(int fd, void *buf, size_t n)
{
	uint8_t *p = buf;
	size_t got = 0;

	while (got < n) {
		ssize_t k = read(fd, p + got, n - got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			die("read");
		if (k == 0) {
			if (got == 0)
				return 0;
			errno = EPIPE;
			die("short read");
		}
		got += (size_t)k;
	}
	return 1;
}

static pid_t xfork(void)
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (pid == 0)
		prctl(PR_SET_PDEATHSIG, SIGKILL);
	return pid;
}

static void xwait(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "ring_bench: child failed (status 0x%x)\n", st);
		exit(1);
	}
}

/* --- a channel: region + rings + doorbells ------------------------------------------ */

struct chan {
	void *base;
	uint64_t size;
	int efd[2]; /* doorbell of side 0 (frontend), side 1 (backend) */
};

struct end {
	struct ddvm_region rg;
	struct ddvm_ring tx, rx;
	int my_efd, peer_efd;
};

static void chan_open(struct chan *c, uint32_t entries, uint32_t slot)
{
	struct ddvm_layout_params lp;
	int fd;

	ddvm_layout_defaults(&lp, DDVM_KIND_NET);
	lp.fe_entries = lp.be_entries = entries;
	lp.fe_slot = lp.be_slot = slot;
	c->size = ddvm_layout_size(&lp);
	fd = memfd_create("ddvm-bench", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)c->size) < 0)
		die("memfd");
	c->base = mmap(NULL, c->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (c->base == MAP_FAILED)
		die("mmap");
	close(fd);
	if (ddvm_region_init(c->base, c->size, &lp)) {
		fprintf(stderr, "ring_bench: region_init failed\n");
		exit(1);
	}
	c->efd[0] = eventfd(0, EFD_CLOEXEC);
	c->efd[1] = eventfd(0, EFD_CLOEXEC);
	if (c->efd[0] < 0 || c->efd[1] < 0)
		die("eventfd");
}

static void chan_close(struct chan *c)
{
	munmap(c->base, c->size);
	close(c->efd[0]);
	close(c->efd[1]);
}

static void end_attach(struct end *e, struct chan *c, int side)
{
	enum ddvm_side me = side ? DDVM_SIDE_BACKEND : DDVM_SIDE_FRONTEND;

	if (ddvm_region_attach(&e->rg, c->base, c->size) ||
	    ddvm_region_ring(&e->rg, (unsigned int)side, me, &e->tx) ||
	    ddvm_region_ring(&e->rg, (unsigned int)!side, me, &e->rx)) {
		fprintf(stderr, "ring_bench: attach failed\n");
		exit(1);
	}
	e->my_efd = c->efd[side];
	e->peer_efd = c->efd[!side];
}

static void kick(struct end *e)
{
	uint64_t one = 1;

	xwrite(e->peer_efd, &one, sizeof(one));
}

static void doze(struct end *e)
{
	uint64_t v;

	if (read(e->my_efd, &v, sizeof(v)) < 0 && errno != EINTR)
		die("eventfd read");
}

static void ring_fail(const char *what)
{
	fprintf(stderr, "ring_bench: %s\n", what);
	exit(1);
}

/* Producer: push until the deadline, then a stop descriptor. Returns payloads sent. */
static uint64_t ring_stream_produce(struct end *e, const uint8_t *src, uint32_t size,
				    uint64_t deadline)
{
	uint64_t seq = 0;
	int stop = 0;

	while (!stop) {
		uint32_t n = ddvm_ring_space(&e->tx);

		if (n == 0) {
			if (ddvm_ring_broken(&e->tx))
				ring_fail("tx broken");
			if (!ddvm_ring_wait_space(&e->tx))
				doze(e);
			continue;
		}
		stop = now_ns() >= deadline;
		while (n--) {
			struct bdesc d = {
				.off = ddvm_ring_slot_off(&e->tx, e->tx.prod),
				.len = size,
				.seq = stop ? STOP_SEQ : seq,
			};

			if (!stop)
				memcpy(ddvm_ring_slot(&e->tx, e->tx.prod), src, size);
			if (ddvm_ring_push(&e->tx, &d))
				ring_fail("push");
			if (stop)
				break;
			seq++;
		}
		if (ddvm_ring_publish(&e->tx))
			kick(e);
	}
	return seq;
}

/* Consumer: pop and copy out until the stop descriptor. Returns payloads received. */
static uint64_t ring_stream_consume(struct end *e, uint8_t *dst)
{
	uint64_t got = 0;

	for (;;) {
		struct bdesc d;
		uint32_t idx = e->rx.cons;
		int rc = ddvm_ring_pop(&e->rx, &d);
		const void *p;

		if (rc == -EAGAIN) {
			if (ddvm_ring_release(&e->rx))
				kick(e);
			if (ddvm_ring_prepare_wait(&e->rx))
				doze(e);
			continue;
		}
		if (rc)
			ring_fail("rx broken");
		if (d.seq == STOP_SEQ)
			break;
		p = ddvm_ring_slot_check(&e->rx, idx, d.off, d.len);
		if (!p || d.seq != got)
			ring_fail("bad descriptor");
		memcpy(dst, p, d.len);
		got++;
		/* free slots in batches: one release per 16, or when the ring runs dry */
		if ((got & 15) == 0 && ddvm_ring_release(&e->rx))
			kick(e);
	}
	if (ddvm_ring_release(&e->rx))
		kick(e);
	return got;
}

struct rate {
	double per_sec; /* messages */
	double gbps;	/* payload GB/s */
};

static struct rate rate_of(uint64_t n, uint32_t size, uint64_t ns)
{
	struct rate r = { (double)n * 1e9 / (double)ns, (double)n * size / (double)ns };

	return r;
}

static struct rate bench_ring_stream(uint32_t size)
{
	uint32_t slot = size, entries = size >= 65536 ? 64 : 256;
	uint8_t *buf = malloc(size);
	struct chan c;
	struct end e;
	uint64_t t0, n;
	pid_t pid;
	int res[2];

	if (!buf || pipe(res))
		die("setup");
	memset(buf, 0x5a, size);
	chan_open(&c, entries, slot);
	pid = xfork();
	if (pid == 0) {
		uint64_t got;

		end_attach(&e, &c, 1);
		got = ring_stream_consume(&e, buf);
		xwrite(res[1], &got, sizeof(got));
		_exit(0);
	}
	end_attach(&e, &c, 0);
	t0 = now_ns();
	n = ring_stream_produce(&e, buf, size, t0 + (uint64_t)(cell_secs * 1e9));
	{
		uint64_t got;

		xread(res[0], &got, sizeof(got)); /* the consumer has copied everything out */
		if (got != n)
			ring_fail("consumer count differs");
	}
	t0 = now_ns() - t0;
	xwait(pid);
	chan_close(&c);
	close(res[0]);
	close(res[1]);
	free(buf);
	return rate_of(n, size, t0);
}

/* --- byte-stream baselines: pipe and unix socket ------------------------------------------ */

static void stream_pair(int kind, int fds[2])
{
	if (kind == 0 ? pipe2(fds, O_CLOEXEC) : socketpair(AF_UNIX, SOCK_STREAM, 0, fds))
		die("pipe/socketpair");
}

static struct rate bench_fd_stream(int kind, uint32_t size)
{
	uint8_t *buf = malloc(size);
	uint64_t t0, n = 0, deadline;
	int fds[2];
	pid_t pid;

	if (!buf)
		die("malloc");
	memset(buf, 0x5a, size);
	stream_pair(kind, fds);
	pid = xfork();
	if (pid == 0) {
		close(fds[1]);
		while (xread(fds[0], buf, size))
			;
		_exit(0);
	}
	close(fds[0]);
	t0 = now_ns();
	deadline = t0 + (uint64_t)(cell_secs * 1e9);
	do {
		unsigned int i;

		for (i = 0; i < 16; i++)
			xwrite(fds[1], buf, size);
		n += 16;
	} while (now_ns() < deadline);
	close(fds[1]);
	xwait(pid); /* the reader has read everything */
	t0 = now_ns() - t0;
	free(buf);
	return rate_of(n, size, t0);
}

/* memcpy of the same payloads through a buffer of the ring's data size. */
static struct rate bench_memcpy(uint32_t size)
{
	uint32_t entries = size >= 65536 ? 64 : 256;
	size_t area = (size_t)entries * size;
	uint8_t *src = malloc(size), *dst = malloc(area);
	uint64_t t0, n = 0, deadline;

	if (!src || !dst)
		die("malloc");
	memset(src, 0x5a, size);
	memset(dst, 0, area);
	t0 = now_ns();
	deadline = t0 + (uint64_t)(cell_secs * 1e9);
	do {
		unsigned int i;

		for (i = 0; i < entries; i++) {
			memcpy(dst + (size_t)i * size, src, size);
			__asm__ __volatile__("" : : "r"(dst) : "memory");
		}
		n += entries;
	} while (now_ns() < deadline);
	t0 = now_ns() - t0;
	free(src);
	free(dst);
	return rate_of(n, size, t0);
}

/* --- ping-pong ------------------------------------------------------------------------------ */

/* One round trip on the ring: send PING_SIZE bytes, wait for the answer. */
static void ring_send(struct end *e, const uint8_t *src, uint64_t seq, int sleepy)
{
	struct bdesc d = { .off = ddvm_ring_slot_off(&e->tx, e->tx.prod),
			   .len = PING_SIZE,
			   .seq = seq };

	while (ddvm_ring_space(&e->tx) == 0) {
		if (ddvm_ring_broken(&e->tx))
			ring_fail("tx broken");
		if (sleepy && !ddvm_ring_wait_space(&e->tx))
			doze(e);
	}
	memcpy(ddvm_ring_slot(&e->tx, e->tx.prod), src, PING_SIZE);
	if (ddvm_ring_push(&e->tx, &d))
		ring_fail("push");
	if (ddvm_ring_publish(&e->tx) && sleepy)
		kick(e);
}

static uint64_t ring_recv(struct end *e, uint8_t *dst, int sleepy)
{
	struct bdesc d;
	uint32_t idx;
	const void *p;

	for (;;) {
		idx = e->rx.cons;
		if (ddvm_ring_pop(&e->rx, &d) == 0)
			break;
		if (ddvm_ring_broken(&e->rx))
			ring_fail("rx broken");
		if (sleepy && ddvm_ring_prepare_wait(&e->rx))
			doze(e);
	}
	p = ddvm_ring_slot_check(&e->rx, idx, d.off, d.len);
	if (!p)
		ring_fail("bad descriptor");
	memcpy(dst, p, d.len);
	if (ddvm_ring_release(&e->rx) && sleepy)
		kick(e);
	return d.seq;
}

static double bench_ring_pingpong(int sleepy)
{
	uint8_t buf[PING_SIZE];
	struct chan c;
	struct end e;
	uint64_t t0, n = 0, deadline;
	pid_t pid;

	memset(buf, 0x33, sizeof(buf));
	chan_open(&c, 64, 2048);
	pid = xfork();
	if (pid == 0) {
		end_attach(&e, &c, 1);
		for (;;) {
			uint64_t seq = ring_recv(&e, buf, sleepy);

			ring_send(&e, buf, seq, sleepy);
			if (seq == STOP_SEQ)
				_exit(0);
		}
	}
	end_attach(&e, &c, 0);
	t0 = now_ns();
	deadline = t0 + (uint64_t)(cell_secs * 1e9);
	do {
		unsigned int i;

		for (i = 0; i < 64; i++) {
			ring_send(&e, buf, n, sleepy);
			if (ring_recv(&e, buf, sleepy) != n)
				ring_fail("ping-pong out of step");
			n++;
		}
	} while (now_ns() < deadline);
	t0 = now_ns() - t0;
	ring_send(&e, buf, STOP_SEQ, sleepy);
	ring_recv(&e, buf, sleepy);
	xwait(pid);
	chan_close(&c);
	return (double)t0 / (double)n;
}

static double bench_fd_pingpong(int kind)
{
	uint8_t buf[PING_SIZE];
	uint64_t t0, n = 0, deadline;
	int a[2], b[2]; /* a: parent -> child, b: child -> parent */
	pid_t pid;

	memset(buf, 0x33, sizeof(buf));
	stream_pair(kind, a);
	stream_pair(kind, b);
	pid = xfork();
	if (pid == 0) {
		close(a[1]);
		close(b[0]);
		while (xread(a[0], buf, PING_SIZE))
			xwrite(b[1], buf, PING_SIZE);
		_exit(0);
	}
	close(a[0]);
	close(b[1]);
	t0 = now_ns();
	deadline = t0 + (uint64_t)(cell_secs * 1e9);
	do {
		unsigned int i;

		for (i = 0; i < 64; i++) {
			xwrite(a[1], buf, PING_SIZE);
			if (!xread(b[0], buf, PING_SIZE))
				ring_fail("pong: EOF");
		}
		n += 64;
	} while (now_ns() < deadline);
	t0 = now_ns() - t0;
	close(a[1]);
	xwait(pid);
	close(b[0]);
	return (double)t0 / (double)n;
}

/* --- medians ------------------------------------------------------------------------------------
 */

#define MAX_REPS 9

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static struct rate median_rate(struct rate (*fn)(int, uint32_t), int kind, uint32_t size)
{
	struct rate r[MAX_REPS];
	double v[MAX_REPS], mid;
	int i;

	for (i = 0; i < reps; i++) {
		r[i] = fn(kind, size);
		v[i] = r[i].per_sec;
	}
	qsort(v, (size_t)reps, sizeof(v[0]), cmp_double);
	mid = v[reps / 2];
	for (i = 0; i < reps; i++)
		if (r[i].per_sec == mid)
			return r[i];
	return r[0];
}

static double median_ns(double (*fn)(int), int arg)
{
	double v[MAX_REPS];
	int i;

	for (i = 0; i < reps; i++)
		v[i] = fn(arg);
	qsort(v, (size_t)reps, sizeof(v[0]), cmp_double);
	return v[reps / 2];
}

static struct rate cell_ring(int kind, uint32_t size)
{
	(void)kind;
	return bench_ring_stream(size);
}

static struct rate cell_memcpy(int kind, uint32_t size)
{
	(void)kind;
	return bench_memcpy(size);
}

/* --- the report ------------------------------------------------------------------------------- */

static void print_machine(void)
{
	char line[256], model[128] = "unknown CPU";
	struct utsname u;
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (f) {
		while (fgets(line, sizeof(line), f))
			if (!strncmp(line, "model name", 10)) {
				char *v = strchr(line, ':');

				if (v) {
					snprintf(model, sizeof(model), "%s", v + 2);
					model[strcspn(model, "\n")] = 0;
				}
				break;
			}
		fclose(f);
	}
	uname(&u);
	printf("machine: %s, %ld online CPUs, Linux %s\n", model, sysconf(_SC_NPROCESSORS_ONLN),
	       u.release);
	f = fopen("/proc/loadavg", "r");
	if (f) {
		if (fgets(line, sizeof(line), f))
			printf("load average before the run: %s", line);
		fclose(f);
	}
	printf("each cell: median of %d runs of %.2f s; two processes, one shared mapping "
	       "(memfd)\n\n",
	       reps, cell_secs);
}

static const char *size_name(uint32_t size, char *buf, size_t n)
{
	if (size >= 1024 && size % 1024 == 0)
		snprintf(buf, n, "%u KiB", size / 1024);
	else
		snprintf(buf, n, "%u B", size);
	return buf;
}

int main(int argc, char **argv)
{
	static const uint32_t sizes[] = { 64, 1500, 65536 };
	unsigned int i;
	int opt;

	while ((opt = getopt(argc, argv, "t:r:")) != -1) {
		if (opt == 't' && atof(optarg) > 0) {
			cell_secs = atof(optarg);
		} else if (opt == 'r' && atoi(optarg) >= 1 && atoi(optarg) <= MAX_REPS) {
			reps = atoi(optarg);
		} else {
			fprintf(stderr, "usage: %s [-t seconds_per_run] [-r runs_per_cell]\n",
				argv[0]);
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	print_machine();

	printf("one-way streaming: producer copies each payload in, consumer copies it out\n");
	printf("(ring: eventfd sleep/wake-up with event suppression; pipe/unix: one write and "
	       "one read per message)\n");
	printf("%-8s | %10s %8s | %10s %8s | %10s %8s | %8s | %9s %9s %11s\n", "payload",
	       "ring Mm/s", "GB/s", "pipe Mm/s", "GB/s", "unix Mm/s", "GB/s", "memcpy", "ring/pipe",
	       "ring/unix", "ring/memcpy");
	printf("%-8s | %10s %8s | %10s %8s | %10s %8s | %8s | %9s %9s %11s\n", "", "", "", "", "",
	       "", "", "GB/s", "(msgs)", "(msgs)", "(bytes)");
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char nm[16];
		struct rate r = median_rate(cell_ring, 0, sizes[i]);
		struct rate p = median_rate(bench_fd_stream, 0, sizes[i]);
		struct rate u = median_rate(bench_fd_stream, 1, sizes[i]);
		struct rate m = median_rate(cell_memcpy, 0, sizes[i]);

		printf("%-8s | %10.3f %8.2f | %10.3f %8.2f | %10.3f %8.2f | %8.2f | %8.1fx %8.1fx "
		       "%10.2fx\n",
		       size_name(sizes[i], nm, sizeof(nm)), r.per_sec / 1e6, r.gbps,
		       p.per_sec / 1e6, p.gbps, u.per_sec / 1e6, u.gbps, m.gbps,
		       r.per_sec / p.per_sec, r.per_sec / u.per_sec, r.gbps / m.gbps);
	}

	printf("\nping-pong: %d-byte message each way, round-trip time in ns (lower is better)\n",
	       PING_SIZE);
	printf("%-22s | %9s | %9s %9s | %15s %15s\n", "ring mode", "ring ns", "pipe ns", "unix ns",
	       "pipe/ring", "unix/ring");
	{
		double pipe_ns = median_ns(bench_fd_pingpong, 0);
		double unix_ns = median_ns(bench_fd_pingpong, 1);
		double polled = median_ns(bench_ring_pingpong, 0);
		double sleepy = median_ns(bench_ring_pingpong, 1);

		printf("%-22s | %9.0f | %9.0f %9.0f | %14.1fx %14.1fx\n", "polled (both spin)",
		       polled, pipe_ns, unix_ns, pipe_ns / polled, unix_ns / polled);
		printf("%-22s | %9.0f | %9.0f %9.0f | %14.1fx %14.1fx\n", "eventfd sleep/wake",
		       sleepy, pipe_ns, unix_ns, pipe_ns / sleepy, unix_ns / sleepy);
	}
	return 0;
}
