/* SPDX-License-Identifier: BSD-2-Clause */
/* A VM's clock without the time its QEMU waited for a host CPU (cpu_wait.h). */
#include "cpu_wait.h"
#include "log.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cpu_wait__parse(const char *line, uint64_t *run_ns)
{
	unsigned long long run, delay;
	int n = -1;

	if (sscanf(line, "%llu %llu %*u%n", &run, &delay, &n) != 2 || n < 0)
		return -1;
	*run_ns = run;
	return 0;
}

int cpu_wait__parse_state(const char *stat, char *state)
{
	const char *p = strrchr(stat, ')'); /* the name may hold spaces and ')' */

	if (!p || p[1] != ' ' || !p[2])
		return -1;
	*state = p[2];
	return 0;
}

static int read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* How long the thread has run (ns) and whether it is runnable now ('R'). */
static int thread_sample(pid_t pid, pid_t tid, uint64_t *run_ns, int *runnable)
{
	char path[64], line[512], state;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat", (int)pid, (int)tid);
	if (read_file(path, line, sizeof(line)) || cpu_wait__parse(line, run_ns))
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	if (read_file(path, line, sizeof(line)) || cpu_wait__parse_state(line, &state))
		return -1;
	*runnable = state == 'R';
	return 0;
}

/* The QEMU's main thread and its vCPU threads (QEMU names them with debug-threads=on,
 * which vm.c passes: "CPU 0/TCG"). */
static void scan(struct cpu_wait_vm *w, pid_t pid)
{
	char path[64], comm[32];
	struct dirent *d;
	DIR *dir;

	w->nr = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (!dir)
		return;
	while ((d = readdir(dir)) && w->nr < CPU_WAIT_THREADS) {
		pid_t tid = (pid_t)strtol(d->d_name, NULL, 10);

		if (tid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", (int)pid, (int)tid);
		if (tid != pid && (read_file(path, comm, sizeof(comm)) || strncmp(comm, "CPU ", 4)))
			continue;
		if (thread_sample(pid, tid, &w->run_ns[w->nr], &w->runnable[w->nr]))
			continue;
		w->tids[w->nr++] = tid;
	}
	closedir(dir);
}

/* The clock never goes back: a look that finds a wait charges it to the time since
 * the previous look, which callers between the two were already told of. */
static uint64_t clock_at(struct cpu_wait_vm *w, uint64_t now)
{
	uint64_t c = now - w->waited_ms;

	if (c < w->clock_ms)
		c = w->clock_ms;
	return w->clock_ms = c;
}

uint64_t cpu_wait__clock(struct cpu_wait_vm *w, pid_t pid, const char *name, uint64_t now)
{
	uint64_t most = 0, since;
	unsigned i;

	if (w->look_ms && now - w->look_ms < CPU_WAIT_PERIOD_MS)
		return clock_at(w, now);
	since = w->look_ms ? now - w->look_ms : 0;
	w->look_ms = now;
	if (pid <= 0) {
		w->pid = 0;
		return clock_at(w, now);
	}
	/* A new QEMU (a restart, a spare's takeover) starts its own counters; its vCPU
	 * threads appear once it runs: look again while there is only the main one. */
	if (pid != w->pid || (w->nr < 2 && now - w->scan_ms >= 1000)) {
		w->pid = pid;
		w->scan_ms = now;
		scan(w, pid);
		return clock_at(w, now);
	}
	for (i = 0; i < w->nr; i++) {
		uint64_t run, ran_ms, waited;
		int runnable;

		if (thread_sample(pid, w->tids[i], &run, &runnable))
			continue;
		/* Runnable at both looks: what of the time between it did not run, it
		 * waited for (or slept in between: counted as waiting, which delays a
		 * verdict but never makes one) */
		ran_ms = run > w->run_ns[i] ? (run - w->run_ns[i]) / 1000000 : 0;
		waited = runnable && w->runnable[i] && ran_ms < since ? since - ran_ms : 0;
		if (waited > most)
			most = waited;
		w->run_ns[i] = run;
		w->runnable[i] = runnable;
	}
	/* threads wait side by side: the VM's lag is the longest one's */
	w->waited_ms += most;
	if (now - w->window_ms >= 1000) {
		/* a look's wait may reach back before the window began */
		if (w->window_waited_ms > now - w->window_ms)
			w->window_waited_ms = now - w->window_ms;
		if (w->window_waited_ms * 2 > now - w->window_ms && now - w->told_ms >= 60000) {
			pr_info("%s: its QEMU waited %" PRIu64 " ms of the last %" PRIu64
				" ms for a host CPU (the host is overloaded); its heartbeat and "
				"request timeouts count only the time it could run",
				name, w->window_waited_ms, now - w->window_ms);
			w->told_ms = now;
		}
		w->window_ms = now;
		w->window_waited_ms = 0;
	}
	w->window_waited_ms += most;
	return clock_at(w, now);
}
