/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A VM's clock without the time its QEMU waited for a CPU (supervisor/cpu_wait.c):
 * schedstat and stat lines parsed; no process means wall time; and, for real, a "vCPU" thread
 * of a child process that shares one CPU with a second spinning thread waits about
 * half of the time, and the clock lags the wall clock by that much; a sleeping
 * process's clock does not lag.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cpu_wait.h"

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void test_parse(void **state)
{
	uint64_t d = 0;

	(void)state;
	char st = 0;

	assert_int_equal(cpu_wait__parse("1234 5678 9\n", &d), 0);
	assert_int_equal(d, 1234);
	assert_int_equal(cpu_wait__parse("18446744073709551615 42 1", &d), 0);
	assert_int_equal(d, 18446744073709551615ULL);
	assert_int_equal(cpu_wait__parse("1234 5678", &d), -1); /* not a schedstat line */
	assert_int_equal(cpu_wait__parse("", &d), -1);
	assert_int_equal(cpu_wait__parse("x y z", &d), -1);
	assert_int_equal(cpu_wait__parse_state("77 (CPU 0/TCG) R 1 2 3", &st), 0);
	assert_int_equal(st, 'R');
	assert_int_equal(cpu_wait__parse_state("78 (a) b) (c) S 1", &st), 0);
	assert_int_equal(st, 'S');
	assert_int_equal(cpu_wait__parse_state("79 (x)", &st), -1);
	assert_int_equal(cpu_wait__parse_state("no parenthesis", &st), -1);
}

static void test_no_process(void **state)
{
	struct cpu_wait_vm w = { 0 };

	(void)state;
	assert_int_equal(cpu_wait__clock(&w, -1, "t", 1000), 1000);
	assert_int_equal(cpu_wait__clock(&w, -1, "t", 5000), 5000);
	assert_int_equal(cpu_wait__clock(&w, 0, "t", 9000), 9000);
}

static void *spinner(void *arg)
{
	(void)arg;
	for (;;)
		;
	return NULL;
}

/* A stand-in for a QEMU: a child process whose threads all share one CPU, a "vCPU"
 * that spins beside another spinning thread, its main thread asleep. */
static pid_t fake_qemu(void)
{
	pid_t pid = fork();
	pthread_t vcpu, other;
	cpu_set_t one;

	if (pid)
		return pid;
	CPU_ZERO(&one);
	sched_getaffinity(0, sizeof(one), &one);
	for (int i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &one)) {
			CPU_ZERO(&one);
			CPU_SET(i, &one);
			break;
		}
	sched_setaffinity(0, sizeof(one), &one); /* the threads inherit it */
	pthread_create(&vcpu, NULL, spinner, NULL);
	pthread_setname_np(vcpu, "CPU 0/TCG"); /* what cpu_wait looks for */
	pthread_create(&other, NULL, spinner, NULL);
	for (;;)
		pause();
}

static void test_lag_when_starved(void **state)
{
	struct cpu_wait_vm w = { 0 };
	uint64_t t0, c0, now = 0, c = 0, prev = 0;
	pid_t pid = fake_qemu();

	(void)state;
	assert_true(pid > 0);
	usleep(100000); /* its threads start */
	t0 = mono_ms();
	c0 = cpu_wait__clock(&w, pid, "t", t0); /* finds the threads */
	while ((now = mono_ms()) - t0 < 800) {
		c = cpu_wait__clock(&w, pid, "t", now);
		assert_true(c >= prev); /* never backwards */
		assert_true(c <= now);
		prev = c;
		usleep(5000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	print_message("wall %llu ms, the VM's clock %llu ms\n", (unsigned long long)(now - t0),
		      (unsigned long long)(c - c0));
	/* two spinning threads on one CPU: the "vCPU" ran about half of the time on an idle
	 * host, less with other work on that CPU (55 of 800 ms beside two VM tests): it
	 * lagged, and its clock moved (what it ran) */
	assert_true(now - t0 - (c - c0) >= 200);
	assert_true(c > c0);
}

/* A thread that sleeps is not waiting: an idle guest's clock is wall time. */
static void test_no_lag_when_idle(void **state)
{
	struct cpu_wait_vm w = { 0 };
	uint64_t t0, c0, now, c = 0;
	pid_t pid = fork();

	(void)state;
	if (!pid)
		for (;;)
			pause();
	usleep(50000);
	t0 = mono_ms();
	c0 = cpu_wait__clock(&w, pid, "t", t0);
	while ((now = mono_ms()) - t0 < 300) {
		c = cpu_wait__clock(&w, pid, "t", now);
		usleep(5000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	assert_true(now - t0 - (c - c0) <= 30);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_no_process),
		cmocka_unit_test(test_lag_when_starved),
		cmocka_unit_test(test_no_lag_when_idle),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
