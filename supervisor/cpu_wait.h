/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * How long a VM's QEMU waited for a host CPU, so that health timeouts count only the
 * time the guest could run (cpu_wait.c).
 *
 * The heartbeat and request checks (health.c) compare the supervisor's clock with
 * the last sign of life. On an oversubscribed host (2 cores, a client VM and other
 * VMs busy) a healthy driver VM's vCPU can sit runnable for seconds without a CPU;
 * measured by wall time that looked like a hung guest and the supervisor restarted
 * it (a new-user trial met it: "no heartbeat from the driver VM for 3516 ms" with
 * nothing wrong but the host's load).
 *
 * A VM's clock is the monotonic clock minus the time its QEMU waited for a CPU. Each
 * look (at most every CPU_WAIT_PERIOD_MS) samples its main-loop thread (timers,
 * doorbells, device emulation) and its vCPU threads ("CPU N/TCG", "CPU N/KVM"): the
 * time each has run (/proc/PID/task/TID/schedstat, first field, ns;
 * CONFIG_SCHED_INFO) and whether it is runnable (/proc/.../stat, state R). A thread
 * runnable at both looks waited for whatever of the time between it did not run;
 * the VM's lag grows by the longest such wait. (The kernel's own run_delay, the
 * second schedstat field, is no use here: it grows only once a wait has ended, so a
 * VM held off the CPU for 5 s shows nothing until the 5 s are over.) A guest that
 * spins with interrupts off still runs and is found after heartbeat_timeout_ms of
 * its own time; a guest that does not get a CPU is not judged until it did. Without
 * those files (another kernel) the clock is wall time.
 */
#ifndef DDVM_CPU_WAIT_H
#define DDVM_CPU_WAIT_H

#include <stdint.h>
#include <sys/types.h>

#define CPU_WAIT_THREADS   9  /* the main loop and up to 8 vCPUs */
#define CPU_WAIT_PERIOD_MS 20 /* read schedstat at most this often */

struct cpu_wait_vm {
	pid_t pid;			      /* the QEMU the threads below belong to; 0 none */
	pid_t tids[CPU_WAIT_THREADS];	      /* its main and vCPU threads */
	uint64_t run_ns[CPU_WAIT_THREADS];    /* how long each had run at the last look */
	int runnable[CPU_WAIT_THREADS];	      /* ... and whether it was runnable then */
	unsigned nr;			      /* threads found */
	uint64_t scan_ms;		      /* when the threads were last looked for */
	uint64_t look_ms;		      /* when run_delay was last read (0: never) */
	uint64_t waited_ms;		      /* in all, every incarnation: the clock's lag */
	uint64_t clock_ms;		      /* the last clock returned (it never goes back) */
	uint64_t window_ms, window_waited_ms; /* the current second, for the log line */
	uint64_t told_ms;		      /* last "waited for a host CPU" line */
};

/* VM's clock at NOW (monotonic ms): NOW minus the time its QEMU (pid PID, -1 or 0:
 * none) waited for a CPU. Non-decreasing. Logs, at most once a minute, a second in
 * which the VM waited for a CPU over half of the time. NAME: for that line. */
uint64_t cpu_wait__clock(struct cpu_wait_vm *w, pid_t pid, const char *name, uint64_t now);

/* Parse a schedstat line ("RUNTIME_NS RUN_DELAY_NS TIMESLICES"): 0 and *run_ns, or
 * -1 when it is not one. */
int cpu_wait__parse(const char *line, uint64_t *run_ns);

/* The state letter of a /proc/PID/task/TID/stat line ("TID (NAME) S ..."; NAME may
 * hold spaces and parentheses): 0 and *state, or -1. */
int cpu_wait__parse_state(const char *stat, char *state);

#endif
