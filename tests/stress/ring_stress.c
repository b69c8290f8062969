/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Two sides of a channel under load (see ring_stress.h).
 *
 * Side 0 is the frontend (produces into ring 0, consumes ring 1), side 1 the backend.
 * Each side runs the loop a real driver runs: consume a batch, release (kick if told),
 * produce a batch, publish (kick if told); with nothing to do, announce the sleep
 * (prepare_wait on its rx ring, wait_space on its tx ring) and sleep on its doorbell
 * only if both say so.
 *
 * Forced sleeps: every pause_every descriptors a side stalls (taking a token so that
 * both never stall at once) until its rx ring is full, its tx ring is drained and the
 * peer has asked for a kick -- the peer is then committed to sleeping, and only the
 * kicks computed by release/publish can wake it. This makes the sleep/wake-up path run
 * thousands of times per test on any machine, however the scheduler behaves.
 */
#include "ring_stress.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ddvm/abi.h"
#include "region.h"
#include "ring.h"

/* What the stress test puts in a descriptor. */
struct stress_desc {
	uint32_t off;
	uint32_t len;
	uint64_t seq;
	uint64_t csum;
	uint64_t magic;
};
_Static_assert(sizeof(struct stress_desc) == DDVM_DESC_SIZE, "stress desc");
#define STRESS_MAGIC 0x5354524553530a00ull

/* Coordination between the sides, outside the channel region (the test's own). */
struct stress_shared {
	uint32_t pause_token; /* 0 free, else 1 + the side that stalls */
	uint32_t stop;	      /* a side failed: the other stops too */
	struct stress_side_stats stats[2];
	int failed[2];
	char msg[2][512];
};

struct side {
	int id;
	const struct stress_opts *o;
	struct stress_shared *sh;
	void *base;
	uint64_t size;
	struct ddvm_region rg;
	struct ddvm_ring tx, rx;
	int my_efd, peer_efd;
	int death_fd;  /* process mode: POLLHUP when the peer process is gone */
	uint8_t *copy; /* private buffer the consumer copies each payload into */
	uint64_t rnd;
	struct stress_side_stats st;
};

static const char *side_name(int id)
{
	return id ? "backend" : "frontend";
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* --- payloads ------------------------------------------------------------------------ */

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

/* Sizes vary: mostly small frames, 1 in 16 anywhere up to the whole slot, and the
 * edge cases 0 and exactly slot. */
static uint32_t payload_len(uint64_t seq, int side, uint32_t slot)
{
	uint64_t h = mix64(seq * 2 + (uint64_t)side);

	if (seq % 997 == 0)
		return slot;
	if (seq % 991 == 0)
		return 0;
	if ((h & 15) == 0)
		return (uint32_t)((h >> 8) % (slot + 1));
	return (uint32_t)((h >> 8) % (slot < 128 ? slot + 1 : 129));
}

static uint64_t csum(const uint8_t *p, uint32_t len)
{
	uint64_t h = 0xcbf29ce484222325ull ^ len, w;
	uint32_t i = 0;

	for (; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0x100000001b3ull;
		h ^= h >> 29;
	}
	for (; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

/* Fill a slot: the sequence number first, then a stream only this (seq, side) makes. */
static uint64_t payload_fill(uint8_t *dst, uint64_t seq, int side, uint32_t len)
{
	uint64_t x = mix64(seq ^ ((uint64_t)side << 63)) | 1;
	uint32_t i = 0;

	if (len >= 8) {
		memcpy(dst, &seq, 8);
		i = 8;
	}
	for (; i + 8 <= len; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(dst + i, &x, 8);
	}
	for (; i < len; i++)
		dst[i] = (uint8_t)(seq + i);
	return csum(dst, len);
}

/* --- failure -------------------------------------------------------------------------- */

static void kick(struct side *s);

/* Descriptors this side sends and receives. */
static uint64_t tx_count(const struct side *s)
{
	return s->o->count[s->id];
}

static uint64_t rx_count(const struct side *s)
{
	return s->o->count[!s->id];
}

static int side_fail(struct side *s, const char *fmt, ...)
{
	char *m = s->sh->msg[s->id];
	size_t n;
	va_list ap;

	if (s->sh->failed[s->id])
		return -1;
	n = (size_t)snprintf(m, sizeof(s->sh->msg[0]), "%s: ", side_name(s->id));
	va_start(ap, fmt);
	vsnprintf(m + n, sizeof(s->sh->msg[0]) - n, fmt, ap);
	va_end(ap);
	s->sh->failed[s->id] = 1;
	__atomic_store_n(&s->sh->stop, 1, __ATOMIC_SEQ_CST);
	kick(s); /* wake the peer so it sees stop */
	return -1;
}

static int stopped(struct side *s)
{
	return __atomic_load_n(&s->sh->stop, __ATOMIC_SEQ_CST) != 0;
}

static void ring_state(const struct ddvm_ring *r, char *buf, size_t n)
{
	snprintf(buf, n, "prod=%u cons=%u prod_event=%u cons_event=%u (private prod=%u cons=%u)",
		 __atomic_load_n(&r->ctl->prod, __ATOMIC_RELAXED),
		 __atomic_load_n(&r->ctl->cons, __ATOMIC_RELAXED),
		 __atomic_load_n(&r->ctl->prod_event, __ATOMIC_RELAXED),
		 __atomic_load_n(&r->ctl->cons_event, __ATOMIC_RELAXED), r->prod, r->cons);
}

/* --- doorbells -------------------------------------------------------------------------- */

static void kick(struct side *s)
{
	uint64_t one = 1;

	if (s->o->no_kick[s->id] && !stopped(s))
		return;
	s->st.kicks++;
	if (write(s->peer_efd, &one, sizeof(one)) != sizeof(one))
		abort(); /* an eventfd write of 1 cannot fail short of a bug here */
}

/* Sleep until kicked. A sleep longer than the watchdog is a lost wake-up. */
static int side_sleep(struct side *s)
{
	struct pollfd fds[2] = {
		{ .fd = s->my_efd, .events = POLLIN },
		{ .fd = s->death_fd, .events = POLLIN },
	};
	int n = s->death_fd >= 0 ? 2 : 1, rc;
	uint64_t v;

	s->st.sleeps++;
	do
		rc = poll(fds, (nfds_t)n, (int)s->o->watchdog_ms);
	while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return side_fail(s, "poll: %s", strerror(errno));
	if (stopped(s))
		return -1;
	if (rc == 0) {
		char a[160], b[160];

		ring_state(&s->tx, a, sizeof(a));
		ring_state(&s->rx, b, sizeof(b));
		return side_fail(s,
				 "watchdog: lost wake-up: asleep for %u ms with nothing to do "
				 "after %llu sent, %llu received; tx ring %s; rx ring %s",
				 s->o->watchdog_ms, (unsigned long long)s->st.sent,
				 (unsigned long long)s->st.received, a, b);
	}
	if (fds[0].revents & POLLIN) {
		if (read(s->my_efd, &v, sizeof(v)) == sizeof(v))
			s->st.wakeups++;
		return 0;
	}
	/* The peer exited without waking us: it may only do that once it is done,
	 * and then it had to kick us for its last descriptors or freed slots. */
	return side_fail(s, "the peer process exited and nobody kicked us");
}

/* --- forced stalls ------------------------------------------------------------------------ */

static int pause_done(struct side *s)
{
	const struct ddvm_ring_ctl *rx = s->rx.ctl, *tx = s->tx.ctl;
	uint32_t rprod = __atomic_load_n(&rx->prod, __ATOMIC_ACQUIRE);

	/* rx full: the peer cannot produce; tx drained: it cannot consume; and it asked
	 * for a kick when we free rx space, i.e. it is going to sleep. */
	return rprod - s->rx.published == s->rx.entries &&
	       __atomic_load_n(&tx->cons, __ATOMIC_ACQUIRE) == s->tx.published &&
	       __atomic_load_n(&rx->cons_event, __ATOMIC_ACQUIRE) == s->rx.published &&
	       (s->st.sent == tx_count(s) || /* then the peer waits on its tx only */
		__atomic_load_n(&tx->prod_event, __ATOMIC_ACQUIRE) == s->tx.published);
}

static int side_pause(struct side *s)
{
	uint32_t free_token = 0;
	uint64_t deadline;

	/* only while the peer still has a ring's worth to send */
	if (rx_count(s) - s->st.received <= s->rx.entries)
		return 0;
	if (!__atomic_compare_exchange_n(&s->sh->pause_token, &free_token, 1u + (uint32_t)s->id, 0,
					 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		return 0; /* the peer is stalling right now */
	if (ddvm_ring_release(&s->rx))
		kick(s);
	if (ddvm_ring_publish(&s->tx))
		kick(s);
	deadline = now_ns() + (uint64_t)s->o->watchdog_ms * 1000000ull;
	while (!pause_done(s)) {
		if (stopped(s))
			return -1;
		if (now_ns() > deadline) {
			char a[160], b[160];

			ring_state(&s->tx, a, sizeof(a));
			ring_state(&s->rx, b, sizeof(b));
			return side_fail(s,
					 "stall: in %u ms the peer did not fill our rx "
					 "ring and ask for a kick (a lost wake-up?); tx %s; rx %s",
					 s->o->watchdog_ms, a, b);
		}
		sched_yield();
	}
	s->st.pauses++;
	__atomic_store_n(&s->sh->pause_token, 0, __ATOMIC_SEQ_CST);
	return 0;
}

/* --- the loop ------------------------------------------------------------------------------ */

static int side_consume(struct side *s, int *progress)
{
	struct stress_desc d;
	uint32_t budget = s->rx.entries;

	while (budget-- && s->st.received < rx_count(s)) {
		uint32_t idx = s->rx.cons, want_len;
		uint64_t seq = s->st.received, first;
		const uint8_t *p;
		int rc = ddvm_ring_pop(&s->rx, &d);

		if (rc == -EAGAIN)
			break;
		if (rc)
			return side_fail(s, "pop: %d (ring broken) at seq %llu", rc,
					 (unsigned long long)seq);
		/* everything below uses only the private copy d */
		if (d.magic != STRESS_MAGIC || d.seq != seq)
			return side_fail(s,
					 "descriptor %llu: seq %llu magic %llx (lost, "
					 "duplicated or reordered)",
					 (unsigned long long)seq, (unsigned long long)d.seq,
					 (unsigned long long)d.magic);
		want_len = payload_len(seq, !s->id, s->o->slot);
		p = ddvm_ring_slot_check(&s->rx, idx, d.off, d.len);
		if (!p || d.len != want_len)
			return side_fail(s, "descriptor %llu: bad buffer off %u len %u (want %u)",
					 (unsigned long long)seq, d.off, d.len, want_len);
		memcpy(s->copy, p, d.len); /* copy out once, check the copy */
		if (csum(s->copy, d.len) != d.csum)
			return side_fail(s, "payload %llu (len %u): checksum mismatch",
					 (unsigned long long)seq, d.len);
		if (d.len >= 8) {
			memcpy(&first, s->copy, 8);
			if (first != seq)
				return side_fail(s, "payload %llu holds payload %llu",
						 (unsigned long long)seq,
						 (unsigned long long)first);
		}
		s->st.received++;
		s->st.bytes += d.len;
		(*progress)++;
		if (s->o->pause_every[s->id] && s->st.received % s->o->pause_every[s->id] == 0 &&
		    side_pause(s))
			return -1;
	}
	if (ddvm_ring_release(&s->rx))
		kick(s);
	return 0;
}

static int side_produce(struct side *s, int *progress)
{
	uint32_t n = ddvm_ring_space(&s->tx);

	while (n-- && s->st.sent < tx_count(s)) {
		uint64_t seq = s->st.sent;
		struct stress_desc d = {
			.off = ddvm_ring_slot_off(&s->tx, s->tx.prod),
			.len = payload_len(seq, s->id, s->o->slot),
			.seq = seq,
			.magic = STRESS_MAGIC,
		};

		d.csum = payload_fill(ddvm_ring_slot(&s->tx, s->tx.prod), seq, s->id, d.len);
		if (ddvm_ring_push(&s->tx, &d))
			return side_fail(s, "push failed with space left");
		s->st.sent++;
		(*progress)++;
	}
	if (ddvm_ring_broken(&s->tx))
		return side_fail(s, "tx ring broken");
	if (ddvm_ring_publish(&s->tx))
		kick(s);
	return 0;
}

static void jitter(struct side *s)
{
	uint64_t r = mix64(++s->rnd), n;

	if (r & 3)
		return;
	for (n = (r >> 8) % 2048; n; n--)
		__asm__ __volatile__("" ::: "memory");
}

static int side_loop(struct side *s)
{
	while (s->st.sent < tx_count(s) || s->st.received < rx_count(s)) {
		int progress = 0, may_sleep = 1;

		if (stopped(s))
			return -1;
		if (side_consume(s, &progress) || side_produce(s, &progress))
			return -1;
		if (progress)
			continue;
		/* Widen the race windows the protocol must close: the peer may publish
		 * or release right between our last look and our announcement. */
		jitter(s);
		/* Nothing to do: announce the sleep on both rings, then re-check. */
		if (s->st.received < rx_count(s) && !ddvm_ring_prepare_wait(&s->rx))
			may_sleep = 0;
		if (s->st.sent < tx_count(s) && ddvm_ring_wait_space(&s->tx))
			may_sleep = 0;
		if (ddvm_ring_broken(&s->rx) || ddvm_ring_broken(&s->tx))
			return side_fail(s, "ring broken while going to sleep");
		if (may_sleep && side_sleep(s))
			return -1;
	}
	return 0;
}

/* Attach to the region as a real side does: validate the header, set up both rings. */
static int side_attach(struct side *s)
{
	enum ddvm_side me = s->id ? DDVM_SIDE_BACKEND : DDVM_SIDE_FRONTEND;
	int rc = ddvm_region_attach(&s->rg, s->base, s->size);

	if (rc)
		return side_fail(s, "attach: %d", rc);
	if (ddvm_region_ring(&s->rg, (unsigned int)s->id, me, &s->tx) ||
	    ddvm_region_ring(&s->rg, (unsigned int)!s->id, me, &s->rx))
		return side_fail(s, "ring setup");
	if (!s->tx.is_producer || s->rx.is_producer)
		return side_fail(s, "wrong ring roles");
	s->copy = malloc(s->o->slot ? s->o->slot : 1);
	if (!s->copy)
		return side_fail(s, "out of memory");
	return 0;
}

static int side_main(struct side *s)
{
	int rc = side_attach(s);

	if (!rc)
		rc = side_loop(s);
	free(s->copy);
	s->copy = NULL;
	s->sh->stats[s->id] = s->st;
	return rc;
}

/* --- running the two sides ---------------------------------------------------------------- */

static void on_alarm(int sig)
{
	static const char m[] = "ring stress: watchdog alarm: the run took too long "
				"(hung: lost wake-up or livelock)\n";

	(void)sig;
	if (write(2, m, sizeof(m) - 1) < 0)
		_exit(3);
	_exit(3);
}

void stress_opts_default(struct stress_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->mode = STRESS_PROCESSES;
	o->count[0] = o->count[1] = 10 * 1000 * 1000;
	o->entries = 64;
	o->slot = 2048;
	o->pause_every[0] = 4096 + 7;
	o->pause_every[1] = 4096 - 7;
	o->watchdog_ms = 10000;
	o->alarm_s = 300;
}

static void *thread_main(void *arg)
{
	side_main(arg);
	return NULL;
}

int stress_run(const struct stress_opts *o, struct stress_result *res)
{
	struct ddvm_layout_params lp;
	struct stress_shared *sh;
	struct side sides[2];
	uint64_t size, t0;
	void *base = NULL;
	int efd[2] = { -1, -1 }, memfd = -1, death[2] = { -1, -1 }, rc = -1, i;

	memset(res, 0, sizeof(*res));
	ddvm_layout_defaults(&lp, DDVM_KIND_NET);
	lp.fe_entries = lp.be_entries = o->entries;
	lp.fe_slot = lp.be_slot = o->slot;
	size = ddvm_layout_size(&lp);
	if (!size) {
		snprintf(res->msg, sizeof(res->msg), "bad layout parameters");
		return -1;
	}
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		snprintf(res->msg, sizeof(res->msg), "mmap: %s", strerror(errno));
		return -1;
	}
	memset(sh, 0, sizeof(*sh));
	efd[0] = eventfd(0, EFD_CLOEXEC);
	efd[1] = eventfd(0, EFD_CLOEXEC);
	memfd = memfd_create("ddvm-stress", MFD_CLOEXEC);
	if (efd[0] < 0 || efd[1] < 0 || memfd < 0 || ftruncate(memfd, (off_t)size) < 0) {
		snprintf(res->msg, sizeof(res->msg), "setup: %s", strerror(errno));
		goto out;
	}
	/* the supervisor's part: lay the region out */
	base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (base == MAP_FAILED) {
		base = NULL;
		snprintf(res->msg, sizeof(res->msg), "mmap region: %s", strerror(errno));
		goto out;
	}
	if (ddvm_region_init(base, size, &lp)) {
		snprintf(res->msg, sizeof(res->msg), "region_init failed");
		goto out;
	}
	for (i = 0; i < 2; i++) {
		memset(&sides[i], 0, sizeof(sides[i]));
		sides[i].id = i;
		sides[i].o = o;
		sides[i].sh = sh;
		sides[i].base = base;
		sides[i].size = size;
		sides[i].my_efd = efd[i];
		sides[i].peer_efd = efd[!i];
		sides[i].death_fd = -1;
	}

	signal(SIGALRM, on_alarm);
	alarm(o->alarm_s);
	t0 = now_ns();
	if (o->mode == STRESS_THREADS) {
		pthread_t th;

		if (pthread_create(&th, NULL, thread_main, &sides[1])) {
			snprintf(res->msg, sizeof(res->msg), "pthread_create failed");
			goto out_alarm;
		}
		side_main(&sides[0]);
		pthread_join(th, NULL);
	} else {
		pid_t pid;
		int status;

		if (pipe2(death, O_CLOEXEC) < 0) {
			snprintf(res->msg, sizeof(res->msg), "pipe: %s", strerror(errno));
			goto out_alarm;
		}
		pid = fork();
		if (pid < 0) {
			snprintf(res->msg, sizeof(res->msg), "fork: %s", strerror(errno));
			goto out_alarm;
		}
		if (pid == 0) {
			/* The backend process: its own mapping of the memfd, at its own
			 * address, as a second VM would have. */
			struct side *s = &sides[1];

			prctl(PR_SET_PDEATHSIG, SIGKILL);
			close(death[0]);
			munmap(base, size);
			s->base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
			if (s->base == MAP_FAILED)
				_exit(side_fail(s, "mmap: %s", strerror(errno)) ? 1 : 1);
			_exit(side_main(s) ? 1 : 0);
		}
		close(death[1]);
		death[1] = -1;
		sides[0].death_fd = death[0];
		side_main(&sides[0]);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(status) || (WEXITSTATUS(status) && !sh->failed[1])) {
			sh->failed[1] = 1;
			snprintf(sh->msg[1], sizeof(sh->msg[1]),
				 "backend process died (status 0x%x)", status);
		}
	}
	res->secs = (double)(now_ns() - t0) / 1e9;
	res->side[0] = sh->stats[0];
	res->side[1] = sh->stats[1];
	res->failed = sh->failed[0] || sh->failed[1];
	if (res->failed) {
		snprintf(res->msg, sizeof(res->msg), "%s%s%s", sh->msg[0],
			 sh->failed[0] && sh->failed[1] ? "; " : "", sh->msg[1]);
	} else {
		for (i = 0; i < 2; i++)
			if (res->side[i].sent != o->count[i] ||
			    res->side[i].received != o->count[!i]) {
				res->failed = 1;
				snprintf(res->msg, sizeof(res->msg), "%s moved %llu/%llu",
					 side_name(i), (unsigned long long)res->side[i].sent,
					 (unsigned long long)res->side[i].received);
			}
	}
	rc = res->failed ? -1 : 0;
out_alarm:
	alarm(0);
out:
	for (i = 0; i < 2; i++) {
		if (efd[i] >= 0)
			close(efd[i]);
		if (death[i] >= 0)
			close(death[i]);
	}
	if (memfd >= 0)
		close(memfd);
	if (base)
		munmap(base, size);
	munmap(sh, sizeof(*sh));
	return rc;
}
