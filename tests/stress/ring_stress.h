/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A channel under load: two sides (frontend and backend) on one region, each producing
 * into its ring and consuming the other's, sleeping on an eventfd doorbell with the
 * real sleep/wake-up protocol (prepare_wait / wait_space, kicks only when publish or
 * release say so). Every payload has a varying size and a checksum the consumer checks
 * on its private copy.
 *
 * The two sides run as two processes, each with its own mapping of one memfd (the
 * ASan/UBSan build), or as two threads of one process (the TSan build).
 *
 * Lost wake-ups make the test fail instead of hang: a side that sleeps longer than
 * watchdog_ms reports "lost wake-up" with both rings' indices; alarm() bounds the
 * whole run as well.
 */
#ifndef DDVM_RING_STRESS_H
#define DDVM_RING_STRESS_H

#include <stdint.h>

enum stress_mode {
	STRESS_PROCESSES,
	STRESS_THREADS,
};

struct stress_opts {
	enum stress_mode mode;
	uint64_t count[2];	  /* descriptors side i sends (0 frontend, 1 backend) */
	uint32_t entries;	  /* per ring, power of two */
	uint32_t slot;		  /* payload slot bytes (largest payload) */
	uint32_t pause_every[2];  /* side i stalls every n descriptors received (0: never)
				     until the other side must sleep; forces sleep/wake */
	unsigned int watchdog_ms; /* a sleep longer than this is a lost wake-up */
	unsigned int alarm_s;	  /* the whole run */
	int no_kick[2];		  /* side i "forgets" every kick: the watchdog must fire */
};

struct stress_side_stats {
	uint64_t sent, received;
	uint64_t kicks, sleeps, wakeups, pauses, bytes;
};

struct stress_result {
	struct stress_side_stats side[2];
	double secs;
	int failed;
	char msg[1040]; /* both sides' messages */
};

void stress_opts_default(struct stress_opts *o);

/* 0 when both sides moved and verified every descriptor, else -1 with res->msg. */
int stress_run(const struct stress_opts *o, struct stress_result *res);

#endif
