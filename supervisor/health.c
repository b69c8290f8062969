/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Failure detection and the restart policy.
 *
 * A VM has failed when its QEMU exits without being asked to, the guest panics
 * (pvpanic → QMP GUEST_PANICKED), it does not print its ready line within
 * boot_timeout_ms, or — driver VMs — the health doorbell of a channel it serves stops
 * ringing. Every failure is logged with a timestamp and its reason.
 *
 * Evidence and claims (docs/channel.md: a client can hurt only itself). The failures
 * above are evidence: no client can forge them. Whatever a channel's region says is
 * a claim, since both peers can write all of it: a side that reports the channel
 * broken, requests that look stalled in the ring indices, a header that changed.
 * A claim resets that channel alone (channel__new_session), with a back-off for a
 * channel that keeps breaking (then it is cut off, alone, with a log line); it
 * restarts the driver VM only where the one client that could have forged it is
 * the only one the restart hurts (stalled requests, when all the driver VM's
 * channels belong to that client).
 *
 * Policy: kill what is left of it, wait restart_backoff_ms (doubled per failure in a
 * row), bump the epoch of every channel a driver VM serves, start it again. After
 * restart_max failures in a row, give up loudly and mark its channels' backend broken
 * so clients stop waiting. A VM that stays healthy for HEALTHY_MS is forgiven its past.
 */
#include "log.h"
#include "snapshot.h"
#include "spare.h"
#include "supervisor.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#define HEALTHY_MS     60000
#define BACKOFF_MAX_MS 30000
/* Claims: the first CLAIM_FREE sessions in a row come at once, then each waits twice
 * as long as the one before, up to CLAIM_HOLD_MAX_MS; a channel quiet for
 * CLAIM_FORGIVE_MS starts over. */
#define CLAIM_FREE	    3
#define CLAIM_HOLD_FIRST_MS 1000
#define CLAIM_HOLD_MAX_MS   30000
#define CLAIM_FORGIVE_MS    60000
#define TAMPER_LOG_MS	    10000
/* After a restart, how long the outage waits for clients once the driver VM's side is
 * back on every channel: a client that does not resume (its driver unloaded, a client
 * VM paused, a hostile one) must not hold its driver VM "recovering" for good (the
 * 1 ms look, no new warm spare, no upgrade handover). */
#define CLIENTS_WAIT_MS 10000
/* ... and how long it waits for the driver VM's side of a channel once the driver VM
 * runs: a translation module that refused its device (a header a client scribbled
 * over while the driver VM booted; a module that failed) serves nothing until a new
 * epoch, and must not hold the outage, and with it the other channels' warm spare
 * and upgrades, for good. */
#define BACKENDS_WAIT_MS 30000

static void describe_status(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "QEMU exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "QEMU was killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "QEMU ended (wait status 0x%x)", status);
}

static uint64_t backoff_ms(const struct vm *vm)
{
	uint64_t d = vm->cfg->restart_backoff_ms;
	unsigned i;

	for (i = 1; i < vm->failures_in_row + vm->claimed_in_row + vm->host_failed_in_row &&
		    d < BACKOFF_MAX_MS;
	     i++)
		d *= 2;
	return d < BACKOFF_MAX_MS ? d : BACKOFF_MAX_MS;
}

/* The VM is dead (reaped, or QEMU never started) and FAILED: schedule its restart
 * or give up. */
static void health__schedule(struct vm *vm, uint64_t now)
{
	struct supervisor *sup = vm->sup;
	int give_up = 0, claim, host;
	unsigned i;

	if (sup->stopping) {
		vm__event(vm, VM_EV_STOPPED);
		return;
	}
	if (vm->want_restart) {
		/* `ddvm restart`: not a failure, no back-off. */
		vm->want_restart = 0;
		vm->restart_at_ms = now;
		return;
	}
	claim = vm->failing_on_claim;
	host = vm->failing_on_host;
	vm->failing_on_claim = vm->failing_on_host = 0;
	if (claim)
		/* its sole client's word alone (health__check_channel): the client is the
		 * only one hurt by the restart, and it must get its channels back once it
		 * behaves, so never a give-up for this */
		vm->claimed_in_row++;
	else if (host)
		/* the host's (health__start_vm): nothing the driver VM did, and it passes */
		vm->host_failed_in_row++;
	else
		vm->failures_in_row++;
	if (startup__failed_again(vm)) {
		/* A QEMU that refuses to start refuses again: retrying only hides why. */
		give_up = 1;
		pr_err("%s: GIVING UP: it failed to start twice the same way (%s); it stays "
		       "down. Fix the cause, then 'ddvm restart %s' (a fix in the setup file: "
		       "'ddvm down' and 'ddvm up' again; a restart keeps the setup loaded at up)",
		       vm->cfg->name, vm->last_failure, vm->cfg->name);
	} else if (vm->failures_in_row > vm->cfg->restart_max) {
		give_up = 1;
		pr_err("%s: GIVING UP after %u failures in a row (last: %s); it stays down%s. "
		       "Fix the cause, then 'ddvm restart %s'",
		       vm->cfg->name, vm->failures_in_row, vm->last_failure,
		       spare__ready(vm) ? " (its warm spare stays ready: a restart hands it the "
					  "service at once)"
					: "",
		       vm->cfg->name);
	}
	if (!give_up && spare__ready(vm)) {
		if (claim)
			pr_info("%s: a failure on its sole client's region alone (%u in a row, "
				"not counted toward restart_max): the warm spare takes over",
				vm->cfg->name, vm->claimed_in_row);
		else
			pr_info("%s: failure %u of at most %u in a row: the warm spare takes over",
				vm->cfg->name, vm->failures_in_row, vm->cfg->restart_max);
		if (spare__failover(vm, now))
			return; /* the warm spare serves: no back-off, no restore */
	}
	if (give_up) {
		vm__event(vm, VM_EV_GIVE_UP);
		for (i = 0; i < sup->cfg->nr_channels; i++)
			if (supervisor__vm_serves(vm, &sup->channels[i]))
				channel__backend_dead(&sup->channels[i]);
		return;
	}
	vm->restart_at_ms = now + backoff_ms(vm);
	if (host)
		pr_warn("%s: another start in %llu ms, not counted toward restart_max = %u: the "
			"host's trouble, not the VM's (%u such starts in a row)",
			vm->cfg->name, (unsigned long long)(vm->restart_at_ms - now),
			vm->cfg->restart_max, vm->host_failed_in_row);
	else if (claim)
		pr_info("%s: restart in %llu ms, not counted toward restart_max = %u: the only "
			"evidence was its sole client's region (%u such restarts in a row)",
			vm->cfg->name, (unsigned long long)(vm->restart_at_ms - now),
			vm->cfg->restart_max, vm->claimed_in_row);
	else
		pr_info("%s: restart %u of at most %u in a row, in %llu ms", vm->cfg->name,
			vm->failures_in_row, vm->cfg->restart_max,
			(unsigned long long)(vm->restart_at_ms - now));
}

/* The boot deadline runs until the ready line; what restart = snapshot does after
 * it (save, plug the channels) or instead of it (restore) gets a deadline of its own:
 * a boot that printed its ready line at 59.8 s of 60 must not fail in the snapshot
 * that follows. */
static int boot_deadline_passed(const struct vm *vm, uint64_t now)
{
	return vm->state == VM_BOOTING && vm->cfg->boot_timeout_ms &&
	       now - (vm->snap_phase != SNAP_IDLE ? vm->snap_phase_ms : vm->started_ms) >=
		   vm->cfg->boot_timeout_ms;
}

/* A failure was detected now: remember when (recovery time runs from here). */
static void health__detected(struct vm *vm, const char *reason, uint64_t now)
{
	snprintf(vm->last_failure, sizeof(vm->last_failure), "%s", reason);
	if (!vm->fail_ms)
		vm->fail_ms = now;
	if (vm->inject_ms) {
		pr_err("%s: FAILED: %s (detected %llu ms after injecting %s)", vm->cfg->name,
		       reason, (unsigned long long)(now - vm->inject_ms), vm->inject_kind);
		vm->inject_ms = 0;
	} else {
		pr_err("%s: FAILED: %s", vm->cfg->name, reason);
	}
}

/* The clock a driver VM's channels are watched by: without the time its QEMU waited
 * for a host CPU (cpu_wait.h). Every time a channel's health fields hold (last beat,
 * last ring movement, the start of an epoch or session) is of this clock. */
static uint64_t vm_clock(struct vm *vm, uint64_t now)
{
	return cpu_wait__clock(&vm->cpu_wait, vm->pid, vm->cfg->name, now);
}

/* The old incarnation of a driver VM is dead (reaped): nobody writes its rings any
 * more, so reset them and bump the epoch now. Clients pause at once (blk stalls, net
 * flaps its carrier) instead of after the back-off and the reboot. */
void health__new_epochs(struct vm *vm, uint64_t now)
{
	struct supervisor *sup = vm->sup;
	uint64_t vnow = vm_clock(vm, now);
	unsigned i;

	if (vm->cfg->role != CFG_DRIVER_VM)
		return;
	for (i = 0; i < sup->cfg->nr_channels; i++) {
		struct channel *ch = &sup->channels[i];

		if (supervisor__vm_serves(vm, ch))
			pr_info("%s: channel %s epoch %u", vm->cfg->name, ch->cfg->name,
				channel__new_epoch(ch, vnow));
	}
	vm->epoch_bumped = 1;
}

/* CLAIM: the only evidence is a region its sole client can write (vm.h). */
static void health__fail_as(struct vm *vm, const char *reason, int claim, uint64_t now)
{
	if (vm->spare_of) {
		spare__fail(vm, reason, now); /* a spare fails alone: nothing is counted */
		return;
	}
	if (vm->state == VM_STOPPING || !vm__alive(vm)) {
		/* already on its way down; a failure of its own meanwhile is not a claim */
		if (!claim)
			vm->failing_on_claim = 0;
		return;
	}
	health__detected(vm, reason, now);
	vm->stopping_for_failure = 1;
	vm->failing_on_claim = claim;
	vm__event(vm, VM_EV_HEALTH_FAILED);
	/* Nothing of a failed driver VM is worth a graceful shutdown; but what its disks
	 * acknowledged is (vm__kill flushes qcow2 images first). */
	vm__kill(vm, now);
}

void health__fail(struct vm *vm, const char *reason, uint64_t now)
{
	health__fail_as(vm, reason, 0, now);
}

static int health__guest_ended(struct vm *vm, int status, uint64_t now);

void health__vm_exited(struct vm *vm, int status, uint64_t now)
{
	char why[512];

	if (vm->spare_of) {
		spare__exited(vm, status, now);
		return;
	}
	describe_status(status, why, sizeof(why));
	if (vm->sup->stopping) {
		pr_debug("%s: stopped (%s)", vm->cfg->name, why);
		vm__event(vm, VM_EV_STOPPED);
		return;
	}
	if (health__guest_ended(vm, status, now))
		return;
	if (snapshot__restore_failed(vm, why, now)) {
		/* Not a new failure: the one being recovered from still is. Boot it cold. */
		vm->stopping_for_failure = 0;
		health__new_epochs(vm, now);
		vm__event(vm, VM_EV_QEMU_EXITED);
		vm->restart_at_ms = now;
		return;
	}
	if (vm->want_restart && !vm->stopping_for_failure) {
		/* `ddvm restart`: stopped as asked, not failed; health__check_vm starts it
		 * again at once (no back-off, no failure counted). */
		pr_info("%s: stopped for restart", vm->cfg->name);
		health__new_epochs(vm, now);
		vm__event(vm, VM_EV_STOPPED);
		if (spare__failover(vm, now))
			return; /* the warm spare took over */
		vm->restart_at_ms = now;
		return;
	}
	if (vm->stopping_for_failure) {
		/* We killed it for a reason already logged. */
		vm->stopping_for_failure = 0;
	} else {
		startup__exited(vm, status, why,
				sizeof(why)); /* QEMU's words, if it never booted */
		health__detected(vm, why, now);
	}
	health__new_epochs(vm, now);
	if (vm->ready_ms && now - vm->ready_ms >= HEALTHY_MS)
		vm->failures_in_row = vm->claimed_in_row = vm->host_failed_in_row = 0;
	vm__event(vm, VM_EV_QEMU_EXITED);
	health__schedule(vm, now);
}

void health__qmp_event(struct vm *vm, const char *event, json_t *data, uint64_t now)
{
	pr_debug("%s: QMP event %s", vm->cfg->name, event);
	if (!strcmp(event, "GUEST_PANICKED"))
		health__fail(vm, "guest kernel panicked (pvpanic)", now);
	if (!strcmp(event, "SHUTDOWN") && json_is_true(json_object_get(data, "guest"))) {
		const char *r = json_string_value(json_object_get(data, "reason"));

		if (r && !strcmp(r, "guest-reset"))
			vm->guest_exit = VM_GUEST_REBOOT;
		else if (r && !strcmp(r, "guest-shutdown"))
			vm->guest_exit = VM_GUEST_POWEROFF;
	}
}

/*
 * A client VM that rebooted or powered off from inside after its ready line: the
 * user's doing (`reboot`, `poweroff -f` on its console), not a failure. A reboot
 * starts it again at once, counted as a restart but not as a failure (no back-off,
 * never a give-up); after a poweroff it stays stopped until `ddvm restart`. A guest
 * that reset before its ready line failed to boot (a triple fault looks the same),
 * a panic comes as GUEST_PANICKED first, and a driver VM that reboots or powers off
 * has stopped serving its clients: those stay failures. Returns 1 when handled.
 */
static int health__guest_ended(struct vm *vm, int status, uint64_t now)
{
	int how = vm->guest_exit; /* vm__start clears it */

	if (how == VM_GUEST_NONE || vm->cfg->role != CFG_CLIENT_VM || status != 0 ||
	    !vm->ready_ms || vm->stopping_for_failure || vm->want_restart)
		return 0;
	vm->failures_in_row = 0;
	if (how == VM_GUEST_POWEROFF) {
		pr_info("%s: powered off from inside the VM; it stays stopped ('ddvm restart %s' "
			"starts it again)",
			vm->cfg->name, vm->cfg->name);
		vm__event(vm, VM_EV_STOPPED);
		return 1;
	}
	pr_info("%s: rebooted from inside the VM: starting it again", vm->cfg->name);
	vm->want_restart = 1; /* health__check_vm starts it: no back-off, not a failure */
	vm__event(vm, VM_EV_STOPPED);
	vm->restart_at_ms = now;
	return 1;
}

int health__start_vm(struct vm *vm, uint64_t now)
{
	int ret;

	if (vm->cfg->role == CFG_DRIVER_VM && vm->restarts + vm->failures_in_row > 0 &&
	    !vm->epoch_bumped) {
		/*
		 * A new incarnation: clients must learn that whatever the old one held is
		 * gone. (On the very first start the region is fresh at epoch 1; after a
		 * death the epoch was bumped when it was reaped.)
		 */
		health__new_epochs(vm, now);
	}
	vm->epoch_bumped = 0;
	vm->failing_on_claim = vm->failing_on_host = 0; /* counted by health__schedule already */
	startup__vm_starting(vm);
	ret = vm__start(vm);
	if (ret) {
		startup__start_error(vm, ret, vm->last_failure, sizeof(vm->last_failure));
		pr_err("%s: %s", vm->cfg->name, vm->last_failure);
		/* (a restart was counted by the caller that asked for it) */
		vm__event(vm, VM_EV_START_FAILED);
		health__schedule(vm, now);
		return ret;
	}
	pr_info("%s: started (%s, pid %d)", vm->cfg->name, cfg_role_name(vm->cfg->role), vm->pid);
	return 0;
}

/* Do all the channels VM serves belong to one client? Then a claim from that client
 * can only hurt that client. */
static int health__sole_client(const struct vm *vm)
{
	const struct supervisor *sup = vm->sup;
	const struct cfg_vm *client = NULL;
	unsigned i;

	for (i = 0; i < sup->cfg->nr_channels; i++) {
		const struct channel *ch = &sup->channels[i];

		if (!supervisor__vm_serves(vm, ch))
			continue;
		if (client && ch->cfg->client != client)
			return 0;
		client = ch->cfg->client;
	}
	return 1;
}

/* A claim against channel CH (WHY): a new session of it alone, unless it is held
 * back by the claims before it. */
static void health__claim(struct vm *vm, struct channel *ch, const char *why, uint64_t now)
{
	uint64_t hold;

	if (now < ch->claim_hold_ms) {
		if (!ch->throttled_logged)
			pr_warn("%s: %s; throttled: next reset of this channel in %llu ms",
				vm->cfg->name, why, (unsigned long long)(ch->claim_hold_ms - now));
		ch->throttled_logged = 1;
		return;
	}
	if (ch->claims_in_row && now - ch->last_claim_ms >= CLAIM_FORGIVE_MS)
		ch->claims_in_row = 0;
	ch->claims_in_row++;
	ch->last_claim_ms = now;
	ch->throttled_logged = 0;
	hold = 0;
	if (ch->claims_in_row > CLAIM_FREE) {
		unsigned k = ch->claims_in_row - CLAIM_FREE - 1;

		hold = k >= 5 ? CLAIM_HOLD_MAX_MS : (uint64_t)CLAIM_HOLD_FIRST_MS << k;
		if (hold > CLAIM_HOLD_MAX_MS)
			hold = CLAIM_HOLD_MAX_MS;
	}
	ch->claim_hold_ms = now + hold;
	pr_warn("%s: %s: new session of channel %s alone (epoch %u; claim %u in a row)",
		vm->cfg->name, why, ch->cfg->name, channel__new_session(ch, vm_clock(vm, now)),
		ch->claims_in_row);
	if (hold == CLAIM_HOLD_MAX_MS && ch->claims_in_row == CLAIM_FREE + 6)
		pr_err("%s: channel %s keeps breaking: cut off, one reset per %u s until it "
		       "has been quiet for %u s; the driver VM and its other channels are not "
		       "affected",
		       vm->cfg->name, ch->cfg->name, CLAIM_HOLD_MAX_MS / 1000,
		       CLAIM_FORGIVE_MS / 1000);
}

/* One channel of a running driver VM: claims first, then evidence. Returns 1 when
 * the driver VM failed (health__fail was called). */
static int health__check_channel(struct vm *vm, struct channel *ch, uint64_t now)
{
	uint64_t vnow = vm_clock(vm, now);
	char why[256];
	int stall;

	if (channel__own_tampered(ch, why, sizeof(why)) &&
	    now - ch->tamper_logged_ms >= TAMPER_LOG_MS) {
		pr_warn("%s: %s", vm->cfg->name, why);
		ch->tamper_logged_ms = now;
	}
	if (channel__broken(ch, why, sizeof(why)))
		health__claim(vm, ch, why, now);
	if (channel__heartbeat_stalled(ch, vnow, vm->cfg->heartbeat_timeout_ms, why, sizeof(why))) {
		health__fail(vm, why, now);
		return 1;
	}
	stall = channel__requests_stalled(ch, vnow, vm->cfg->request_timeout_ms, why, sizeof(why));
	if (!stall) {
		ch->slow_logged = 0;
		return 0;
	}
	if (health__sole_client(vm)) {
		/* only that client waits, and only it is hurt by a restart; but the stall is
		 * read from its region, which it can write: not evidence enough to give up */
		health__fail_as(vm, why, 1, now);
		return 1;
	}
	if (stall == CHANNEL_STALL_UNANSWERED) {
		/*
		 * The translation module took the requests and its disk has not answered:
		 * a slow host file (a lone flush of much dirty data, a bps_limit) or a hung
		 * driver; nobody can tell which from here. Either way only this channel's
		 * client waits (a disk serves one channel), and a new session would throw
		 * away what the disk is doing: say so, once, and go on watching.
		 */
		if (!ch->slow_logged)
			pr_warn("%s: %s: its disk is slow, or its driver hangs; %s serves other "
				"clients too, so it is not restarted for this channel ('ddvm "
				"restart %s' if the driver hangs)",
				vm->cfg->name, why, vm->cfg->name, vm->cfg->name);
		ch->slow_logged = 1;
		return 0;
	}
	health__claim(vm, ch, why, now);
	return 0;
}

/* What vm->fail_ms marks, for the "back N ms after ..." lines. */
static const char *outage_start(const struct vm *vm)
{
	return vm->planned == VM_PLANNED_UPGRADE   ? "the handover began"
	       : vm->planned == VM_PLANNED_RESTART ? "the restart began"
						   : "the failure was detected";
}

static int health__check_vm(struct vm *vm, uint64_t now)
{
	struct supervisor *sup = vm->sup;
	uint64_t last_back;
	char why[256];
	unsigned i;
	int all_backs;

	if (vm->state == VM_STOPPED && vm->want_restart) {
		vm->want_restart = 0;
		vm->restarts++;
		health__start_vm(vm, now);
		return 0;
	}
	if (vm->state == VM_FAILED) {
		/* A warm spare that is ready takes over whenever the driver VM is down and
		 * due back: one that became ready during the back-off, or one kept ready
		 * through a give-up and used by `ddvm restart`. (The failure was counted
		 * already: failovers count toward restart_max like restarts.) */
		if (spare__ready(vm)) {
			if (!vm->epoch_bumped)
				health__new_epochs(vm, now);
			if (spare__failover(vm, now))
				return 0;
		}
		if (now >= vm->restart_at_ms) {
			vm->restarts++;
			health__start_vm(vm, now);
		}
		return vm->state == VM_FAILED ? (int)(vm->restart_at_ms - now) : 0;
	}
	if (boot_deadline_passed(vm, now) &&
	    /* the ready line may be waiting unread in the console socket: the supervisor
	     * itself did not run for a while (stopped, a host that did not schedule it),
	     * and this tick comes before the loop reads the consoles */
	    (vm->con_fd < 0 || vm__console_read(vm, now) < 0 || boot_deadline_passed(vm, now))) {
		if (vm->snap_phase == SNAP_IDLE)
			snprintf(why, sizeof(why), "no '%s' on the console within %u ms",
				 vm->cfg->ready, vm->cfg->boot_timeout_ms);
		else
			snprintf(why, sizeof(why),
				 "restart = snapshot: the %s step did not finish within %u ms",
				 vm->snap_phase == SNAP_SAVING	  ? "snapshot"
				 : vm->snap_phase == SNAP_LOADING ? "restore"
								  : "channel hot-plug",
				 vm->cfg->boot_timeout_ms);
		health__fail(vm, why, now);
		return 100;
	}
	/* Its taps on their bridges as soon as QEMU made them, not at the ready line: the
	 * translation module serves, and a client's carrier is up, before the driver VM
	 * prints it (seconds under TCG, a snapshot's save after it), and a client's first
	 * frames went into a tap that was down and on no bridge (a first ping lost in
	 * test_client_hostile, three VMs booting on a loaded host). */
	if ((vm->state == VM_BOOTING || vm->state == VM_RUNNING) && vm__alive(vm) &&
	    now >= vm->tap_retry_ms) {
		if (!vm->taps_set && tap__exist(vm)) {
			vm->taps_set = !tap__setup(vm);
			vm->tap_retry_ms = now + TAP_RETRY_MS;
		} else if (vm->taps_set && vm->state == VM_RUNNING) {
			tap__watch(vm);
			vm->tap_retry_ms = now + TAP_RETRY_MS;
		}
	}
	if (vm->state == VM_BOOTING && vm->cfg->role == CFG_DRIVER_VM) {
		/* The translation modules probe while it boots, and read what we own in
		 * the header then: written back now too, not only once it runs (a client
		 * that overwrote it after the new epoch had its channel refused) */
		for (i = 0; i < sup->cfg->nr_channels; i++) {
			struct channel *ch = &sup->channels[i];

			if (supervisor__vm_serves(vm, ch) &&
			    channel__own_tampered(ch, why, sizeof(why)) &&
			    now - ch->tamper_logged_ms >= TAMPER_LOG_MS) {
				pr_warn("%s: %s", vm->cfg->name, why);
				ch->tamper_logged_ms = now;
			}
		}
	}
	if (vm->state != VM_RUNNING || vm->cfg->role != CFG_DRIVER_VM)
		return 100;
	all_backs = 0;
	last_back = 0;
	if (vm->fail_ms) {
		unsigned served = 0, restored = 0, backs = 0, vm_missing = 0;
		uint64_t back_at = 0;
		char missing[256] = "", absent[256] = "";

		if (vm->outage_running_ms < vm->fail_ms)
			vm->outage_running_ms = now;

		for (i = 0; i < sup->cfg->nr_channels; i++) {
			struct channel *ch = &sup->channels[i];

			if (!supervisor__vm_serves(vm, ch))
				continue;
			served++;
			if (!ch->backend_back_ms && channel__backend_back(ch))
				ch->backend_back_ms = now;
			if (!ch->back_ms && channel__restored(ch)) {
				ch->back_ms = now;
				/* "back" claims the client resumed: say so only when one is
				 * connected (channel__restored counts an absent client as
				 * having nothing to resume). */
				if (ivshmem_server__peer_up(&ch->srv, CHANNEL_PEER_CLIENT))
					pr_info("%s: channel %s back %llu ms after %s (the driver "
						"VM's side after %llu ms)",
						vm->cfg->name, ch->cfg->name,
						(unsigned long long)(now - vm->fail_ms),
						outage_start(vm),
						(unsigned long long)(ch->backend_back_ms -
								     vm->fail_ms));
				else
					pr_info(
					    "%s: channel %s served again %llu ms after %s (no "
					    "client connected to it)",
					    vm->cfg->name, ch->cfg->name,
					    (unsigned long long)(ch->backend_back_ms - vm->fail_ms),
					    outage_start(vm));
			}
			restored += ch->back_ms != 0;
			if (ch->back_ms > back_at)
				back_at = ch->back_ms;
			if (ch->backend_back_ms) {
				backs++;
				if (ch->backend_back_ms > last_back)
					last_back = ch->backend_back_ms;
			}
			if (!ch->backend_back_ms &&
			    strlen(absent) + strlen(ch->cfg->name) + 2 < sizeof(absent))
				snprintf(absent + strlen(absent), sizeof(absent) - strlen(absent),
					 "%s%s", absent[0] ? ", " : "", ch->cfg->name);
			vm_missing += !ch->back_ms && ch->cfg->client->role == CFG_CLIENT_VM;
			if (!ch->back_ms &&
			    strlen(missing) + strlen(ch->cfg->name) + 2 < sizeof(missing))
				snprintf(missing + strlen(missing),
					 sizeof(missing) - strlen(missing), "%s%s",
					 missing[0] ? ", " : "", ch->cfg->name);
		}
		all_backs = backs == served;
		/*
		 * When service came back: the last channel resumed by its client or served
		 * again by the driver VM. After a wait for clients that lag (or for a
		 * driver VM's side that never came back), that is the number to report, not
		 * the end of the wait: a host client that re-attaches only at its next
		 * request made every restart read "restored 10 s after" the failure.
		 */
		if (last_back > back_at)
			back_at = last_back;
		if (!back_at || back_at < vm->fail_ms)
			back_at = now;
		if (restored < served && all_backs && now - last_back >= CLIENTS_WAIT_MS) {
			/* the driver VM serves again; the rest is up to those clients */
			if (vm->planned == VM_PLANNED_UPGRADE)
				vm->upgrade.gap_ms =
				    back_at > vm->fail_ms ? back_at - vm->fail_ms : 1;
			if (vm_missing)
				pr_warn("%s: service restored %llu ms after %s on %u of %u "
					"channels; not resumed by their client %u s after the "
					"driver VM's side was back: %s (the client's own matter: "
					"'ddvm status')",
					vm->cfg->name, (unsigned long long)(back_at - vm->fail_ms),
					outage_start(vm), restored, served, CLIENTS_WAIT_MS / 1000,
					missing);
			else /* libddvm follows the epoch at its next call: no news */
				pr_info("%s: service restored %llu ms after %s (%u of %u channels "
					"resumed; host clients re-attach at their next request: "
					"%s)",
					vm->cfg->name, (unsigned long long)(back_at - vm->fail_ms),
					outage_start(vm), restored, served, missing);
			vm->fail_ms = 0;
			vm->planned = 0;
		} else if (!all_backs && now - vm->outage_running_ms >= BACKENDS_WAIT_MS &&
			   (!last_back || now - last_back >= BACKENDS_WAIT_MS)) {
			if (vm->planned == VM_PLANNED_UPGRADE)
				vm->upgrade.gap_ms =
				    back_at > vm->fail_ms ? back_at - vm->fail_ms : 1;
			pr_warn("%s: service restored %llu ms after %s on %u of %u channels; "
				"the driver VM's side of %s did not come back %u s after it ran "
				"('ddvm status' says why; 'ddvm logs %s')",
				vm->cfg->name, (unsigned long long)(back_at - vm->fail_ms),
				outage_start(vm), backs, served, absent, BACKENDS_WAIT_MS / 1000,
				vm->cfg->name);
			vm->fail_ms = 0;
			vm->planned = 0;
		} else if (restored == served) {
			/* `ddvm upgrade` reports it; 0 means "not yet", so at least 1 */
			if (vm->planned == VM_PLANNED_UPGRADE)
				vm->upgrade.gap_ms = now > vm->fail_ms ? now - vm->fail_ms : 1;
			pr_info("%s: service restored %llu ms after %s (%u channel%s)",
				vm->cfg->name, (unsigned long long)(now - vm->fail_ms),
				outage_start(vm), served, served == 1 ? "" : "s");
			vm->fail_ms = 0;
			vm->planned = 0;
		}
	}
	for (i = 0; i < sup->cfg->nr_channels; i++) {
		struct channel *ch = &sup->channels[i];

		if (supervisor__vm_serves(vm, ch) && health__check_channel(vm, ch, now))
			break;
	}
	/* Running again but not yet serving every channel: look each millisecond, so
	 * that "service restored" is as exact as a warm spare's gap needs (a few ms);
	 * once the driver VM's side is back and a client lags by over a second, every
	 * 50 ms (the outage ends at CLIENTS_WAIT_MS anyway). */
	if (!vm->fail_ms)
		return 100;
	return all_backs && now - last_back >= 1000 ? 50 : 1;
}

int health__tick(struct supervisor *sup, uint64_t now)
{
	int next = 1000, t;
	unsigned i;

	if (sup->stopping)
		return next;
	for (i = 0; i < sup->nr_vms; i++) {
		t = health__check_vm(&sup->vms[i], now);
		if (t < next)
			next = t;
		t = spare__tick(&sup->vms[i], now);
		if (t < next)
			next = t;
		t = inject__tick(&sup->vms[i], now);
		if (t < next)
			next = t;
		t = vm__kill_tick(&sup->vms[i], now);
		if (t < next)
			next = t;
	}
	t = startup__tick(sup, now);
	if (t < next)
		next = t;
	return next < 1 ? 1 : next; /* 1 ms only while a driver VM's service comes back */
}
