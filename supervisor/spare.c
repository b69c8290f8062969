/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * spare = yes: keep a warm spare of a driver VM (restored from its snapshot, its
 * channels on standby, paused) and hand it the service when the active one fails
 * (see spare.h for the whole path and its safety rules).
 */
#include "spare.h"
#include "log.h"
#include "snapshot.h"
#include "supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SPARE_SETTLE_MS	     30000 /* QEMU start -> paused on standby, at most */
#define SPARE_BACKOFF_MS     200   /* a spare that died: the next one after this, */
#define SPARE_BACKOFF_MAX_MS 30000 /* doubled per death in a row, up to this */

const char *spare_phase_name(enum spare_phase p)
{
	static const char *const names[] = { "down", "restoring", "standby", "pausing", "ready" };

	return (unsigned)p < sizeof(names) / sizeof(names[0]) ? names[p] : "?";
}

static void phase(struct vm *s, enum spare_phase p, uint64_t now)
{
	s->spare_phase = p;
	s->spare_phase_ms = now;
}

void spare__init(struct vm *spare, struct vm *active, const char *rundir)
{
	const char *n = active->cfg->name;

	vm__init(spare, active->sup, active->cfg, rundir);
	spare->spare_of = active;
	active->spare = spare;
	/* its own files; the snapshot (snap_path) is the active's */
	snprintf(spare->qmp_path, sizeof(spare->qmp_path), "%s/%s.spare.qmp", rundir, n);
	snprintf(spare->pid_path, sizeof(spare->pid_path), "%s/%s.spare.pid", rundir, n);
	snprintf(spare->log_path, sizeof(spare->log_path), "%s/%s.spare.log", rundir, n);
	snprintf(spare->qemu_log_path, sizeof(spare->qemu_log_path), "%s/%s.spare.qemu.log", rundir,
		 n);
	snprintf(spare->chan_path, sizeof(spare->chan_path), "%s/%s.spare.channels", rundir, n);
	phase(spare, SPARE_DOWN, 0);
}

/* The channels the driver VM serves (the spare serves the same ones). */
static unsigned nr_channels(const struct vm *vm)
{
	const struct supervisor *sup = vm->sup;
	unsigned i, n = 0;

	for (i = 0; i < sup->cfg->nr_channels; i++)
		n += supervisor__vm_serves(vm, &sup->channels[i]);
	return n;
}

static void cmd(struct vm *vm, const char *name, const char *id)
{
	int ret = qmp__command(&vm->qmp, name, NULL, id);

	if (ret)
		pr_warn("%s: spare: QMP %s: %s", vm->cfg->name, name, strerror(-ret));
}

static void spare_start(struct vm *a, uint64_t now)
{
	struct vm *s = a->spare;
	int fd = fcntl(a->snap_ram_fd, F_DUPFD_CLOEXEC, 0);

	if (fd < 0) {
		pr_warn("%s: spare: %s; no spare", a->cfg->name, strerror(errno));
		s->spare_at_ms = now + SPARE_BACKOFF_MAX_MS;
		return;
	}
	/* the snapshot the active restores from, RAM included */
	if (s->snap_ram_fd >= 0)
		close(s->snap_ram_fd);
	s->snap_ram_fd = fd;
	snprintf(s->snap_path, sizeof(s->snap_path), "%s", a->snap_path);
	s->snap_valid = 1;
	s->snap_disabled = 0;
	s->spare_standby = 0;
	phase(s, SPARE_RESTORING, now);
	if (vm__start(s)) {
		pr_warn("%s: spare: QEMU did not start; next try in %u ms", a->cfg->name,
			SPARE_BACKOFF_MAX_MS);
		phase(s, SPARE_DOWN, now);
		s->spare_at_ms = now + SPARE_BACKOFF_MAX_MS;
		return;
	}
	if (!s->restoring) { /* cannot happen: the snapshot was checked */
		spare__fail(s, "not restoring from the snapshot", now);
		return;
	}
	pr_info("%s: spare: started (pid %d), restoring %s", a->cfg->name, s->pid, s->snap_path);
}

int spare__tick(struct vm *a, uint64_t now)
{
	struct vm *s = a->spare;

	if (!s || a->sup->stopping)
		return 1000;
	switch (s->spare_phase) {
	case SPARE_DOWN:
		/* After the snapshot, with the active serving (not while it recovers: the
		 * host's CPUs go to it first), and not while the last spare is still dying. */
		if (vm__alive(s) || a->state != VM_RUNNING || a->fail_ms || !a->snap_valid ||
		    a->snap_disabled || a->snap_ram_fd < 0 || access(a->snap_path, R_OK))
			return 1000;
		if (now < s->spare_at_ms)
			return (int)(s->spare_at_ms - now);
		spare_start(a, now);
		return 100;
	case SPARE_RESTORING:
	case SPARE_STANDBY:
	case SPARE_PAUSING:
		if (vm__alive(s) && now - s->spare_phase_ms >= SPARE_SETTLE_MS &&
		    now - s->started_ms >= SPARE_SETTLE_MS) {
			char why[96];

			snprintf(why, sizeof(why),
				 "not paused on standby %u s after it started (%s)",
				 SPARE_SETTLE_MS / 1000, spare_phase_name(s->spare_phase));
			spare__fail(s, why, now);
		}
		return 500;
	case SPARE_READY:
		break;
	}
	return 1000;
}

/* Every channel is on standby: pause it. */
static void maybe_pause(struct vm *s, uint64_t now)
{
	if (s->spare_phase != SPARE_STANDBY || s->spare_standby < nr_channels(s))
		return;
	phase(s, SPARE_PAUSING, now);
	cmd(s, "stop", "spare-stop");
}

void spare__console_line(struct vm *s, const char *line, uint64_t now)
{
	if (!strstr(line, "ddvm: standby"))
		return;
	s->spare_standby++;
	maybe_pause(s, now);
}

void spare__plugged(struct vm *s, uint64_t now)
{
	phase(s, SPARE_STANDBY, now);
	pr_info("%s: spare: restored and plugged %llu ms after its QEMU started; waiting for "
		"its channels' standby",
		s->cfg->name, (unsigned long long)(now - s->started_ms));
	maybe_pause(s, now);
}

void spare__qmp(struct vm *vm, const char *event, json_t *data, uint64_t now)
{
	const char *id, *err = NULL;
	unsigned i;

	if (event || !data)
		return;
	id = json_string_value(json_object_get(data, "id"));
	if (!id)
		return;
	json_unpack(data, "{s:{s:s}}", "error", "desc", &err);
	if (vm->spare_of && !strcmp(id, "spare-stop") && vm->spare_phase == SPARE_PAUSING) {
		if (err) {
			char why[256];

			snprintf(why, sizeof(why), "cannot pause it: %s", err);
			spare__fail(vm, why, now);
			return;
		}
		phase(vm, SPARE_READY, now);
		vm->spare_fails_in_row = 0;
		pr_info("%s: spare: ready (paused, %u channel%s on standby) %llu ms after its QEMU "
			"started",
			vm->cfg->name, vm->spare_standby, vm->spare_standby == 1 ? "" : "s",
			(unsigned long long)(now - vm->started_ms));
	} else if (!vm->spare_of && !strcmp(id, "spare-cont")) {
		if (err) {
			char why[256];

			snprintf(why, sizeof(why), "the spare cannot be resumed: %s", err);
			health__fail(vm, why, now);
			return;
		}
		/* resumed: ring once more, in case the doorbell rung while it was paused
		 * went nowhere (the translation module re-checks; twice is harmless) */
		for (i = 0; i < vm->sup->cfg->nr_channels; i++)
			if (supervisor__vm_serves(vm, &vm->sup->channels[i]))
				channel__ring_driver(&vm->sup->channels[i]);
	}
}

void spare__fail(struct vm *s, const char *why, uint64_t now)
{
	if (!vm__alive(s) || s->spare_phase == SPARE_DOWN)
		return;
	pr_warn("%s: spare: %s; stopping it", s->cfg->name, why);
	phase(s, SPARE_DOWN, now);
	s->stopping_for_failure = 1;
	vm__signal(s, SIGKILL);
}

void spare__exited(struct vm *s, int status, uint64_t now)
{
	uint64_t d = SPARE_BACKOFF_MS;
	unsigned i;

	phase(s, SPARE_DOWN, now);
	vm__event(s, VM_EV_STOPPED);
	if (s->sup->stopping)
		return;
	if (!s->stopping_for_failure) {
		if (WIFSIGNALED(status))
			pr_warn("%s: spare: QEMU was killed by signal %d (%s)", s->cfg->name,
				WTERMSIG(status), strsignal(WTERMSIG(status)));
		else
			pr_warn("%s: spare: QEMU exited with status %d", s->cfg->name,
				WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}
	s->stopping_for_failure = 0;
	/* not a failure of the driver VM: a new spare, after a back-off of its own */
	s->spare_fails_in_row++;
	for (i = 1; i < s->spare_fails_in_row && d < SPARE_BACKOFF_MAX_MS; i++)
		d *= 2;
	if (d > SPARE_BACKOFF_MAX_MS)
		d = SPARE_BACKOFF_MAX_MS;
	s->spare_at_ms = now + d;
	pr_info("%s: spare: a new one in %llu ms", s->cfg->name, (unsigned long long)d);
}

int spare__failover(struct vm *a, uint64_t now)
{
	struct supervisor *sup = a->sup;
	struct vm *s = a->spare;
	unsigned i, moved = 0;
	uint64_t t0 = now_ms();

	if (!s || s->spare_phase != SPARE_READY || !vm__alive(s) || vm__alive(a) || sup->stopping)
		return 0;
	/* Every channel device of the spare must be there (its QEMU holds the peer). */
	for (i = 0; i < sup->cfg->nr_channels; i++) {
		struct channel *ch = &sup->channels[i];

		if (supervisor__vm_serves(a, ch) && !channel__spare_up(ch)) {
			pr_warn("%s: spare: channel %s is not connected; no failover", a->cfg->name,
				ch->cfg->name);
			spare__fail(s, "a channel device lost its connection", now);
			return 0;
		}
	}
	/* The active QEMU is reaped (vm__alive(a) is 0) and its epochs were bumped. The
	 * spare's process becomes the driver VM's. */
	vm__take_process(a, s);
	vm__event(s, VM_EV_STOPPED); /* its struct waits for the next spare */
	phase(s, SPARE_DOWN, now);
	s->spare_at_ms = now;
	for (i = 0; i < sup->cfg->nr_channels; i++) {
		struct channel *ch = &sup->channels[i];
		int id;

		if (!supervisor__vm_serves(a, ch))
			continue;
		id = channel__promote_spare(ch);
		if (id < 0) {
			char why[256];

			snprintf(why, sizeof(why), "failover: channel %s: %s", ch->cfg->name,
				 strerror(-id));
			vm__event(a, VM_EV_START);
			health__fail(a, why, now); /* killed, reaped, restored as usual */
			return 1;
		}
		pr_info("%s: channel %s: the spare is the driver VM now (peer %d, epoch %u)",
			a->cfg->name, ch->cfg->name, id, channel__epoch(ch));
		moved++;
	}
	cmd(a, "cont", "spare-cont");
	a->restarts++;
	a->failovers++;
	a->epoch_bumped = 0;
	a->want_restart = 0;
	a->failover_ms = now_ms();
	vm__event(a, VM_EV_START);
	a->ready_ms = a->failover_ms;
	vm__event(a, VM_EV_READY);
	pr_info("%s: failover to spare in %llu ms (pid %d; %u channel%s moved, resumed in %llu ms)",
		a->cfg->name, (unsigned long long)(a->failover_ms - (a->fail_ms ? a->fail_ms : t0)),
		a->pid, moved, moved == 1 ? "" : "s", (unsigned long long)(a->failover_ms - t0));
	return 1;
}

void spare__snapshot_taken(struct vm *a)
{
	if (a->spare && vm__alive(a->spare))
		spare__fail(a->spare, "the driver VM took a new snapshot", now_ms());
}
