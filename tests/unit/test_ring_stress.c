/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The channel under load (tests/stress/ring_stress.c), as cmocka cases:
 *   - built with ASan+UBSan: two processes, each with its own mapping of a memfd;
 *   - built with -DDDVM_STRESS_TSAN and TSan: two threads of one process.
 * DDVM_STRESS_COUNT overrides the number of descriptors each way.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ring_stress.h"

#ifdef DDVM_STRESS_TSAN
#define MODE	      STRESS_THREADS
#define MODE_NAME     "2 threads, TSan"
#define DEFAULT_COUNT (2ull * 1000 * 1000)
/* A race report fails the test at once, not only through the exit code at the end. */
const char *__tsan_default_options(void);
const char *__tsan_default_options(void)
{
	return "halt_on_error=1";
}
#else
#define MODE	      STRESS_PROCESSES
#define MODE_NAME     "2 processes, ASan+UBSan"
#define DEFAULT_COUNT (10ull * 1000 * 1000)
#endif

static void print_result(const char *what, const struct stress_opts *o,
			 const struct stress_result *r)
{
	uint64_t n = r->side[0].received + r->side[1].received;
	int i;

	printf("# %s, %s: %llu descriptors (%llu + %llu, %u entries, payload 0..%u B) "
	       "in %.2f s: %.2f M descriptors/s, %.1f MB/s of payload\n",
	       MODE_NAME, what, (unsigned long long)n, (unsigned long long)o->count[0],
	       (unsigned long long)o->count[1], o->entries, o->slot, r->secs,
	       (double)n / r->secs / 1e6,
	       (double)(r->side[0].bytes + r->side[1].bytes) / r->secs / 1e6);
	for (i = 0; i < 2; i++)
		printf("#   %s: kicks %llu, sleeps %llu, wake-ups %llu, forced stalls %llu\n",
		       i ? "backend " : "frontend", (unsigned long long)r->side[i].kicks,
		       (unsigned long long)r->side[i].sleeps,
		       (unsigned long long)r->side[i].wakeups,
		       (unsigned long long)r->side[i].pauses);
	fflush(stdout);
}

static uint64_t count_from_env(uint64_t dflt)
{
	const char *env = getenv("DDVM_STRESS_COUNT");

	return env ? strtoull(env, NULL, 0) : dflt;
}

static void run_ok(const char *what, const struct stress_opts *o)
{
	struct stress_result r;
	int i;

	if (stress_run(o, &r))
		fail_msg("%s: %s", what, r.msg);
	print_result(what, o, &r);
	for (i = 0; i < 2; i++) {
		assert_int_equal(r.side[i].sent, o->count[i]);
		assert_int_equal(r.side[i].received, o->count[!i]);
		/* The sleep/wake-up path really ran: each forced stall of one side put
		 * the other to sleep, and only a kick could wake it. */
		if (o->pause_every[i] && o->count[!i] > 4 * (uint64_t)o->pause_every[i]) {
			assert_true(r.side[i].pauses > 0);
			assert_true(r.side[!i].sleeps >= r.side[i].pauses);
			assert_true(r.side[i].kicks > 0);
		}
	}
}

/* Both ways at once, 10 million descriptors each (the ASan build). */
static void test_stress(void **state)
{
	struct stress_opts o;

	(void)state;
	stress_opts_default(&o);
	o.mode = MODE;
	o.count[0] = o.count[1] = count_from_env(DEFAULT_COUNT);
	run_ok("both ways", &o);
}

/* One way only: a side's sleeps can be ended only by the kicks of the one ring it
 * waits on (both ways, a kick for the other ring would hide a lost one). */
static void test_stress_one_way(void **state)
{
	struct stress_opts o;

	(void)state;
	stress_opts_default(&o);
	o.mode = MODE;
	o.count[0] = count_from_env(DEFAULT_COUNT) / 4;
	o.count[1] = 0;
	run_ok("frontend to backend", &o);
	o.count[1] = o.count[0];
	o.count[0] = 0;
	run_ok("backend to frontend", &o);
}

/* Tiny rings and payloads up to the slot: many more full/empty edges. */
static void test_stress_small_ring(void **state)
{
	struct stress_opts o;

	(void)state;
	stress_opts_default(&o);
	o.mode = MODE;
	o.count[0] = o.count[1] = count_from_env(DEFAULT_COUNT) / 40;
	o.entries = 2;
	o.slot = 64;
	o.pause_every[0] = 1001;
	o.pause_every[1] = 999;
	run_ok("both ways, 2 entries", &o);
	o.count[1] = 0;
	run_ok("one way, 2 entries", &o);
}

/* The watchdog must catch a lost wake-up: the backend never kicks, and stalls so that
 * the frontend is certain to go to sleep. */
static void test_watchdog_catches_lost_wakeup(void **state)
{
	struct stress_opts o;
	struct stress_result r;

	(void)state;
	stress_opts_default(&o);
	o.mode = MODE;
	o.count[0] = o.count[1] = 100000;
	o.pause_every[0] = 0;
	o.pause_every[1] = 100;
	o.no_kick[1] = 1;
	o.watchdog_ms = 500;
	assert_int_equal(stress_run(&o, &r), -1);
	printf("# expected failure: %s\n", r.msg);
	assert_non_null(strstr(r.msg, "lost wake-up"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stress),
		cmocka_unit_test(test_stress_one_way),
		cmocka_unit_test(test_stress_small_ring),
		cmocka_unit_test(test_watchdog_catches_lost_wakeup),
	};

	return cmocka_run_group_tests_name("ring_stress", tests, NULL, NULL);
}
