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

const char *upgrade_state_name(enum upgrade_state st)
{
	static const char *const names[] = { "none",	 "waiting", "booting",
					     "handover", "done",    "failed" };

	return (unsigned)st < sizeof(names) / sizeof(names[0]) ? names[st] : "?";
}

static void cmd(struct vm *vm, const char *name, const char *id);
static void spare_stop(struct vm *s, const char *why, int warn, uint64_t now);

/* The upgrade is over without the new image (the spare struct is down or going). An
 * active stopped for the handover is resumed: it serves on. */
static void upgrade_failed(struct vm *a, const char *why, uint64_t now)
{
	struct vm *s = a->spare;

	if (a->upgrade.state == UPGRADE_HANDOVER && vm__alive(a)) {
		/* resume what our stop stopped (whichever came first) */
		if (a->upgrade.sigstop)
			vm__signal(a, SIGCONT);
		else
			cmd(a, "cont", "upgrade-cont");
	}
	a->upgrade.state = UPGRADE_FAILED;
	a->upgrade.done_ms = now;
	snprintf(a->upgrade.why, sizeof(a->upgrade.why), "%s", why);
	pr_err("%s: upgrade FAILED: %s; the driver VM goes on with its old image (kernel %s, "
	       "initrd %s)",
	       a->cfg->name, why, a->cfg->kernel, a->cfg->initrd);
	/* its snapshot (NAME.snap.upgrade) is of an image nobody runs */
	if (s->image)
		snapshot__remove(s);
	s->image = NULL;
	s->upgrade_restore = 0;
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
	startup__vm_starting(s); /* QEMU's words of this start only */
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

/* An upgrade's spare: boot the new image cold (spare.h). */
static void upgrade_start(struct vm *a, uint64_t now)
{
	struct vm *s = a->spare;

	/* not the active's snapshot: this spare takes one of its own */
	if (s->snap_ram_fd >= 0)
		close(s->snap_ram_fd);
	s->snap_ram_fd = -1;
	if ((size_t)snprintf(s->snap_path, sizeof(s->snap_path), "%.*s.upgrade",
			     (int)sizeof(s->snap_path) - 9, a->snap_path) >= sizeof(s->snap_path) ||
	    strlen(a->snap_path) > sizeof(s->snap_path) - 9) {
		upgrade_failed(a, "the run dir's path is too long for the new image's snapshot",
			       now);
		return;
	}
	snapshot__remove(s);
	s->snap_disabled = 0;
	s->spare_standby = 0;
	s->image = &a->upgrade.image;
	a->upgrade.state = UPGRADE_BOOTING;
	phase(s, SPARE_RESTORING, now);
	/* QEMU's words of this start only: an upgrade that failed before left its own in
	 * VM.spare.qemu.log, and was named as this one's reason */
	startup__vm_starting(s);
	if (vm__start(s)) {
		phase(s, SPARE_DOWN, now);
		upgrade_failed(a, "its QEMU did not start (see the log above)", now);
		return;
	}
	pr_info(
	    "%s: upgrade: booting the new image as the spare (pid %d): kernel %s, initrd %s%s%s",
	    a->cfg->name, s->pid, s->image->kernel, s->image->initrd,
	    s->image->append[0] ? ", append " : "", s->image->append);
}

/*
 * An upgrade's spare took the new image's snapshot after its cold boot. It is not paused
 * as it is: it is stopped and restored from that snapshot, so that what takes over is
 * what every spare is, a restored QEMU. A cold-booted one carries what its devices
 * still had pending in virtual time into the takeover, e.g. QEMU's e1000 takes no frame
 * for 1 s after each write of its receive control register (its flush_queue_timer, not
 * in the migration stream): the NIC up at boot, saved and resumed within that second,
 * was deaf for the rest of it after the handover (a TCP stream paused 590-700 ms at an
 * upgrade against 190-410 ms at a kill's failover, docs/dependability.md).
 */
int spare__snapshot_saved(struct vm *s, uint64_t now)
{
	if (!s->spare_of || !s->image || s->spare_of->upgrade.state != UPGRADE_BOOTING)
		return 0;
	pr_info("%s: upgrade: the new image is saved %llu ms after its QEMU started; its spare "
		"is restored from that snapshot, as every spare",
		s->cfg->name, (unsigned long long)(now - s->started_ms));
	s->upgrade_restore = 1;
	s->stopping_for_failure = 1; /* no warning: spare__exited expects it */
	vm__signal(s, SIGKILL);
	return 1;
}

/* The upgrade's spare, its cold boot saved and gone: restore it (the snapshot file
 * appears once QEMU's `cat` is done with it). */
static int upgrade_restore_start(struct vm *a, uint64_t now)
{
	struct vm *s = a->spare;

	/* the active's recovery first (it gets the host's CPUs), as for any spare */
	if (a->state != VM_RUNNING || a->fail_ms)
		return 500;
	if (access(s->snap_path, R_OK)) {
		if (now - s->spare_phase_ms < 10000)
			return 50;
		s->upgrade_restore = 0;
		upgrade_failed(a, "the new image's snapshot file did not appear", now);
		return 1000;
	}
	s->upgrade_restore = 0;
	s->spare_standby = 0;
	phase(s, SPARE_RESTORING, now);
	startup__vm_starting(s); /* QEMU's words of this start only */
	if (vm__start(s)) {
		phase(s, SPARE_DOWN, now);
		upgrade_failed(a, "its QEMU did not start to restore the new image's snapshot",
			       now);
		return 1000;
	}
	if (!s->restoring) { /* cannot happen: the snapshot is there */
		spare__fail(s, "not restoring from the new image's snapshot", now);
		return 1000;
	}
	pr_info("%s: upgrade: spare restoring the new image's snapshot (pid %d)", a->cfg->name,
		s->pid);
	return 100;
}

/* The handover cannot happen: the new image's spare goes, the old image serves on
 * (resumed if it was stopped). Never a kill of the active: an upgrade is planned. */
static void upgrade_abort(struct vm *a, const char *why, uint64_t now)
{
	struct vm *s = a->spare;

	if (s->image && vm__alive(s) && !s->retiring)
		spare__fail(s, why, now);
	upgrade_failed(a, why, now);
}

static int upgrade_swap(struct vm *a, uint64_t now);

/*
 * How to stop the old image so that it does no more I/O. With QEMU's default thread
 * pool (aio = threads) every write is a pwritev in a worker thread, done in the
 * kernel before that thread can stop: once the whole thread group stopped (SIGSTOP,
 * waited for), nothing of it is in flight. That costs microseconds, where QMP stop
 * also flushes every image (an fdatasync each: 150+ ms with a dirty page cache, and
 * not needed, the page cache being the host's). Linux AIO and io_uring requests
 * complete in the kernel on their own time: for those, QMP stop, which drains them.
 */
static int upgrade_can_sigstop(const struct vm *a)
{
	const struct config *cfg = a->sup->cfg;
	unsigned i;

	for (i = 0; i < cfg->nr_devices; i++) {
		const struct cfg_device *d = &cfg->devices[i];

		if (d->vm == a->cfg && d->kind == CFG_BLK && d->aio[0] && strcmp(d->aio, "threads"))
			return 0;
	}
	return a->pidfd >= 0;
}

/* SIGSTOP sent: has the whole thread group stopped? (1 yes, 0 not yet, -1 gone) */
static int upgrade_stopped(struct vm *a)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)a->pid, &si, WSTOPPED | WNOHANG | WNOWAIT) < 0)
		return -1;
	return si.si_pid == a->pid && si.si_code == CLD_STOPPED;
}

/* The new image is on standby and paused: stop the active, then hand over
 * (upgrade_swap, from spare__tick once it stopped). */
static void upgrade_handover(struct vm *a, uint64_t now)
{
	struct vm *s = a->spare;

	a->upgrade.state = UPGRADE_HANDOVER;
	a->upgrade.handover_ms = now;
	a->upgrade.stop_answered = 0;
	a->upgrade.sigstop = upgrade_can_sigstop(a);
	pr_info("%s: upgrade: the new image is on standby %llu ms after its QEMU started; "
		"handing over (%s)",
		a->cfg->name, (unsigned long long)(now - s->started_ms),
		a->upgrade.sigstop ? "SIGSTOP" : "QMP stop: a disk uses aio other than threads");
	if (a->upgrade.sigstop) {
		if (vm__signal(a, SIGSTOP))
			upgrade_abort(a, "cannot stop the running driver VM's QEMU", now);
		return;
	}
	if (qmp__command(&a->qmp, "stop", NULL, "upgrade-stop"))
		upgrade_abort(a, "no QMP connection to the running driver VM to stop it", now);
}

int spare__upgrade(struct vm *a, const struct vm_image *img, char *err, size_t len)
{
	struct vm_upgrade *u = &a->upgrade;
	struct vm_image next;

	if (a->cfg->role != CFG_DRIVER_VM) {
		snprintf(err, len, "%s is a client VM; only a driver VM is upgraded", a->cfg->name);
		return -1;
	}
	if (!a->spare) {
		snprintf(err, len,
			 "%s has no warm spare: an upgrade boots the new image as the spare and "
			 "hands over to it; add 'spare = yes' (and restart = snapshot) to "
			 "[driver-vm %s] and run 'ddvm up' again (docs/supervisor.md, \"Upgrade\")",
			 a->cfg->name, a->cfg->name);
		return -1;
	}
	if (u->state == UPGRADE_WAITING || u->state == UPGRADE_BOOTING ||
	    u->state == UPGRADE_HANDOVER) {
		snprintf(err, len, "%s is being upgraded already (%s); wait for it ('ddvm status')",
			 a->cfg->name, upgrade_state_name(u->state));
		return -1;
	}
	if (a->state != VM_RUNNING) {
		snprintf(
		    err, len,
		    "%s is not running (state %s): an upgrade replaces a running driver VM; wait "
		    "until it runs, or 'ddvm restart %s' first (it boots the setup loaded at "
		    "'ddvm up'; a changed setup file takes 'ddvm down' and 'ddvm up')",
		    a->cfg->name, vm_state_name(a->state), a->cfg->name);
		return -1;
	}
	next = *img;
	if (access(next.kernel, R_OK) || access(next.initrd, R_OK)) {
		snprintf(err, len, "cannot read %s: %s",
			 access(next.kernel, R_OK) ? next.kernel : next.initrd, strerror(errno));
		return -1;
	}
	memset(u, 0, sizeof(*u));
	u->image = next;
	u->state = UPGRADE_WAITING;
	u->asked_ms = now_ms();
	pr_info("%s: upgrade requested: kernel %s, initrd %s%s%s", a->cfg->name, next.kernel,
		next.initrd, next.append[0] ? ", append " : "", next.append);
	return 0;
}

int spare__tick(struct vm *a, uint64_t now)
{
	struct vm *s = a->spare;

	if (!s || a->sup->stopping)
		return 1000;
	if (a->retired_ram_fd >= 0 && !a->fail_ms) {
		close(a->retired_ram_fd);
		a->retired_ram_fd = -1;
	}
	/* an upgrade's old QEMU (stopped): killed once service is back, when its teardown
	 * no longer competes with the new image for the CPUs (at most 1 s after) */
	if (s->retiring && vm__alive(s) && !s->stopping_for_failure &&
	    (!a->fail_ms || now - s->spare_phase_ms >= 1000)) {
		s->stopping_for_failure = 1;
		vm__signal(s, SIGKILL);
	}
	if (a->upgrade.state == UPGRADE_WAITING) {
		/* the old image's spare goes first (not a failure of it: no back-off) */
		if (vm__alive(s)) {
			if (s->spare_phase != SPARE_DOWN)
				spare_stop(s, "replaced by the new image of an upgrade", 0, now);
			return 100;
		}
		upgrade_start(a, now);
		return 100;
	}
	if (a->upgrade.state == UPGRADE_HANDOVER && a->upgrade.sigstop) {
		int st = upgrade_stopped(a);

		if (st == 0)
			return 1; /* a thread still on its way to the stop */
		a->upgrade.stop_answered = st > 0 ? 1 : -1;
	}
	if (a->upgrade.state == UPGRADE_HANDOVER && a->upgrade.stop_answered) {
		int ok = a->upgrade.stop_answered > 0;

		a->upgrade.stop_answered = 0;
		if (!ok)
			upgrade_abort(a, "the running driver VM could not be stopped", now);
		else if (!upgrade_swap(a, now))
			upgrade_abort(a, "the new image's spare could not take over", now);
		return 1;
	}
	if (a->upgrade.state == UPGRADE_BOOTING && s->upgrade_restore && !vm__alive(s))
		return upgrade_restore_start(a, now);
	if (a->upgrade.state == UPGRADE_BOOTING && s->image && s->spare_phase == SPARE_READY &&
	    a->state == VM_RUNNING && vm__alive(a) && !a->fail_ms) {
		upgrade_handover(a, now);
		return 100;
	}
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
	case SPARE_PAUSING: {
		/* an upgrade's spare boots cold first: its boot deadline on top */
		uint64_t settle = SPARE_SETTLE_MS + (s->image ? s->cfg->boot_timeout_ms : 0);
		char why[96];

		if (!vm__alive(s) || now - s->spare_phase_ms < settle ||
		    now - s->started_ms < settle)
			return 500;
		snprintf(why, sizeof(why), "not paused on standby %llu s after it started (%s)",
			 (unsigned long long)settle / 1000, spare_phase_name(s->spare_phase));
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
	} else if (!vm->spare_of && !strcmp(id, "upgrade-stop") &&
		   vm->upgrade.state == UPGRADE_HANDOVER) {
		/* spare__tick swaps the processes: not here, inside the read of this very
		 * QMP connection (the swap moves it) */
		if (err)
			pr_warn("%s: upgrade: QMP stop: %s", vm->cfg->name, err);
		vm->upgrade.stop_answered = err ? -1 : 1;
	} else if (!vm->spare_of && !strcmp(id, "spare-cont")) {
		if (err) {
			char why[256];

			snprintf(why, sizeof(why), "the spare cannot be resumed: %s", err);
			health__fail(vm, why, now);
			return;
		}
		pr_debug("%s: spare: QMP cont answered %llu ms after the failover", vm->cfg->name,
			 (unsigned long long)(now - vm->failover_ms));
		/* resumed: ring once more, in case the doorbell rung while it was paused
		 * went nowhere (the translation module re-checks; twice is harmless) */
		for (i = 0; i < vm->sup->cfg->nr_channels; i++)
			if (supervisor__vm_serves(vm, &vm->sup->channels[i]))
				channel__ring_driver(&vm->sup->channels[i]);
	}
}

/* Stop the spare: a failure of it (WARN), or a planned replacement (an info line). */
static void spare_stop(struct vm *s, const char *why, int warn, uint64_t now)
{
	if (!vm__alive(s) || s->spare_phase == SPARE_DOWN)
		return;
	if (warn)
		pr_warn("%s: spare: %s; stopping it", s->cfg->name, why);
	else
		pr_info("%s: spare: %s; stopping it", s->cfg->name, why);
	if (s->image && s->spare_of->upgrade.state == UPGRADE_BOOTING)
		upgrade_failed(s->spare_of, why, now);
	phase(s, SPARE_DOWN, now);
	s->stopping_for_failure = 1;
	vm__signal(s, SIGKILL);
}

void spare__fail(struct vm *s, const char *why, uint64_t now)
{
	spare_stop(s, why, 1, now);
}

void spare__exited(struct vm *s, int status, uint64_t now)
{
	uint64_t d = SPARE_BACKOFF_MS;
	unsigned i;

	if (s->retiring) { /* an upgraded driver VM's old QEMU, killed after the handover */
		s->retiring = 0;
		s->stopping_for_failure = 0;
		phase(s, SPARE_DOWN, now);
		vm__event(s, VM_EV_STOPPED);
		s->spare_at_ms = now;
		return;
	}
	phase(s, SPARE_DOWN, now);
	vm__event(s, VM_EV_STOPPED);
	if (s->sup->stopping)
		return;
	if (s->upgrade_restore) { /* the cold boot, stopped once saved: spare__tick restores */
		s->stopping_for_failure = 0;
		return;
	}
	if (!s->stopping_for_failure) {
		if (WIFSIGNALED(status))
			pr_warn("%s: spare: QEMU was killed by signal %d (%s)", s->cfg->name,
				WTERMSIG(status), strsignal(WTERMSIG(status)));
		else if (WIFEXITED(status) && !WEXITSTATUS(status) &&
			 s->guest_exit != VM_GUEST_NONE)
			/* -no-reboot: a guest's reboot (a panic's too) ends its QEMU */
			pr_warn("%s: spare: its guest %s; QEMU exited", s->cfg->name,
				s->guest_exit == VM_GUEST_REBOOT ? "rebooted (a kernel panic does)"
								 : "powered off");
		else
			pr_warn("%s: spare: QEMU exited with status %d", s->cfg->name,
				WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}
	s->stopping_for_failure = 0;
	if (s->image) { /* the new image died before it took over: in QEMU's words */
		char why[400], qerr[200];

		/* the new kernel's panic (QEMU ran it), or QEMU's words, or where to look */
		if (s->panic_line[0])
			snprintf(why, sizeof(why),
				 "the new image did not boot: %.200s ('ddvm logs %s.spare')",
				 s->panic_line, s->cfg->name);
		else if (startup__qemu_error(s, qerr, sizeof(qerr)))
			snprintf(why, sizeof(why), "its QEMU exited before it was on standby: %s",
				 qerr);
		else
			snprintf(
			    why, sizeof(why),
			    "its QEMU exited before it was on standby ('ddvm logs %s.spare' has "
			    "its console)",
			    s->cfg->name);
		upgrade_failed(s->spare_of, why, now);
	}
	if (s->spare_of->upgrade.state == UPGRADE_WAITING) {
		s->spare_at_ms = now; /* stopped for the upgrade: none of its failures */
		return;
	}
	/* not a failure of the driver VM: a new spare, after a back-off of its own */
	s->spare_fails_in_row++;
	for (i = 1; i < s->spare_fails_in_row && d < SPARE_BACKOFF_MAX_MS; i++)
		d *= 2;
	if (d > SPARE_BACKOFF_MAX_MS)
		d = SPARE_BACKOFF_MAX_MS;
	s->spare_at_ms = now + d;
	pr_info("%s: spare: a new one in %llu ms", s->cfg->name, (unsigned long long)d);
}

/* The new image took over: it is the driver VM's from now on (restarts, spares). */
static void upgrade_commit(struct vm *a, struct vm *s, uint64_t now)
{
	struct config *cfg = a->sup->cfg;
	struct cfg_vm *mc = NULL;
	unsigned i;

	for (i = 0; i < cfg->nr_vms; i++)
		if (&cfg->vms[i] == a->cfg)
			mc = &cfg->vms[i];
	if (mc) {
		snprintf(mc->kernel, sizeof(mc->kernel), "%s", s->image->kernel);
		snprintf(mc->initrd, sizeof(mc->initrd), "%s", s->image->initrd);
		snprintf(mc->append, sizeof(mc->append), "%s", s->image->append);
		/* from now on its starts boot the new files, as they are now */
		supervisor__pin_boot_files(a->sup, mc);
	}
	/* its snapshot is the one restarts and the next spare restore */
	if (rename(s->snap_path, a->snap_path) == 0 && s->snap_ram_fd >= 0) {
		/* Closing the old RAM's last fd frees ~100 MiB (tens of ms): not now,
		 * in the middle of the failover; spare__tick does it once served. */
		if (a->retired_ram_fd >= 0)
			close(a->retired_ram_fd);
		a->retired_ram_fd = a->snap_ram_fd;
		a->snap_ram_fd = s->snap_ram_fd;
		s->snap_ram_fd = -1;
		a->snap_valid = 1;
		a->snap_disabled = 0;
	} else {
		pr_warn("%s: upgrade: cannot keep the new image's snapshot (%s); the next restart "
			"boots cold and takes a new one",
			a->cfg->name, strerror(errno));
		snapshot__remove(a);
		snapshot__remove(s);
	}
	s->snap_valid = 0;
	s->image = NULL;
	a->upgrade.state = UPGRADE_DONE;
	a->upgrade.done_ms = now;
	pr_info("%s: upgrade: the new image serves %llu ms after it was asked for", a->cfg->name,
		(unsigned long long)(now - a->upgrade.asked_ms));
}

int spare__ready(const struct vm *a)
{
	const struct vm *s = a->spare;

	return s && s->spare_phase == SPARE_READY && vm__alive(s) && !s->retiring &&
	       !a->sup->stopping;
}

/* Can A's spare take over now: ready (paused on standby), its QEMU alive, every
 * channel device of it connected (its QEMU holds the peer)? */
static int spare_usable(struct vm *a, uint64_t now)
{
	struct supervisor *sup = a->sup;
	struct vm *s = a->spare;
	unsigned i;

	if (!s || s->spare_phase != SPARE_READY || !vm__alive(s) || s->retiring || sup->stopping)
		return 0;
	for (i = 0; i < sup->cfg->nr_channels; i++) {
		struct channel *ch = &sup->channels[i];

		if (supervisor__vm_serves(a, ch) && !channel__spare_up(ch)) {
			pr_warn("%s: spare: channel %s is not connected; no failover", a->cfg->name,
				ch->cfg->name);
			spare__fail(s, "a channel device lost its connection", now);
			return 0;
		}
	}
	return 1;
}

/* A has no QEMU now (reaped, or an upgrade's stopped one moved away: OLD_TAPS are its
 * tap queues then, NULL after a reap) and its epochs were bumped: the spare's process
 * becomes the driver VM's, its tap queues receive, its peers are promoted, it is
 * resumed. */
static void failover_finish(struct vm *a, const int *old_taps, uint64_t t0, uint64_t now)
{
	struct supervisor *sup = a->sup;
	struct vm *s = a->spare;
	unsigned i, moved = 0;
	int upgraded;

	vm__take_process(a, s);
	/* it serves from now on: its uptime, not the standby's (`ddvm status`) */
	a->up_since_ms = now;
	/* before it resumes: what the host sends meanwhile waits in the queue */
	tap__handover(old_taps, a->tap_fds, a->cfg->name);
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
			if (s->image)
				upgrade_failed(a, why, now);
			vm__event(a, VM_EV_START);
			health__fail(a, why, now); /* killed, reaped, restored as usual */
			return;
		}
		pr_info("%s: channel %s: the spare is the driver VM now (peer %d, epoch %u)",
			a->cfg->name, ch->cfg->name, id, channel__epoch(ch));
		moved++;
	}
	cmd(a, "cont", "spare-cont");
	upgraded = s->image != NULL;
	if (s->image)
		upgrade_commit(a, s, now);
	a->restarts++;
	a->failovers++;
	a->epoch_bumped = 0;
	a->want_restart = 0;
	a->failover_ms = now_ms();
	vm__event(a, VM_EV_START);
	a->ready_ms = a->failover_ms;
	vm__event(a, VM_EV_READY);
	/* its console goes on in the active's log: say where one QEMU ends */
	vm__log_separator(a, upgraded ? "the upgraded image's QEMU took over"
				      : "the warm spare's QEMU took over");
	pr_info("%s: failover to spare in %llu ms (pid %d; %u channel%s moved, resumed in %llu ms)",
		a->cfg->name, (unsigned long long)(a->failover_ms - (a->fail_ms ? a->fail_ms : t0)),
		a->pid, moved, moved == 1 ? "" : "s", (unsigned long long)(a->failover_ms - t0));
}

int spare__failover(struct vm *a, uint64_t now)
{
	uint64_t t0 = now_ms();

	/* the active QEMU is reaped first: never two QEMUs serving one disk */
	if (vm__alive(a) || !spare_usable(a, now))
		return 0;
	failover_finish(a, NULL, t0, now);
	return 1;
}

/*
 * An upgrade's handover, once the active answered QMP stop: its vCPUs are halted and
 * QEMU drained and flushed its block I/O before answering (do_vm_stop), so the old
 * QEMU does no more I/O — as good as reaped for the disk, and ~70 ms sooner than a
 * kill and a reap of it under TCG. Its process moves into the spare's struct (which
 * hands its own to the driver VM), is killed once service is back, and is reaped there.
 * 0 when the spare cannot take over: the caller aborts the upgrade (the active serves on).
 */
static int upgrade_swap(struct vm *a, uint64_t now)
{
	struct vm *s = a->spare;
	struct vm_proc old;
	uint64_t t0 = now_ms();

	if (!vm__alive(a) || !spare_usable(a, now))
		return 0;
	a->fail_ms = a->upgrade.handover_ms; /* not before: a RUNNING VM with fail_ms set is
						 checked for "service restored" at once */
	a->planned = VM_PLANNED_UPGRADE;
	vm__event(a, VM_EV_RESTART_REQUESTED);
	vm__detach_process(a, &old);
	pr_info("%s: upgrade: the old image is stopped (%s) %llu ms after it was asked; handing "
		"over before it exits",
		a->cfg->name,
		a->upgrade.sigstop ? "every thread of its QEMU" : "QMP: block I/O drained",
		(unsigned long long)(now - a->upgrade.handover_ms));
	health__new_epochs(a, now);
	vm__event(a, VM_EV_STOPPED);
	failover_finish(a, old.tap_fds, t0, now);
	vm__attach_process(s, &old); /* the spare's struct is empty now */
	s->retiring = 1;
	phase(s, SPARE_DOWN, now);
	return 1;
}

void spare__snapshot_taken(struct vm *a)
{
	if (a->spare && vm__alive(a->spare))
		spare_stop(a->spare, "the driver VM took a new snapshot", 0, now_ms());
}
