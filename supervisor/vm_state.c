/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The VM life cycle (vm_state.h): one table, one function that applies it. Policy
 * (when to restart, when to give up, back-off) stays in health.c; this file only says
 * which state follows which, so that no other file assigns vm->state.
 */
#include "vm_state.h"
#include "log.h"
#include "tap.h"
#include "vm.h"

#include <errno.h>

/* A cell: 0 = illegal, IGN = ignored, else 1 + the next state. */
#define IGN   (-1)
#define TO(s) ((s) + 1)

static const signed char table[VM_NR_STATES][VM_NR_EVENTS] = {
	[VM_STOPPED] = {
		[VM_EV_START] = TO(VM_BOOTING),
		[VM_EV_START_FAILED] = TO(VM_FAILED),
		[VM_EV_RESTART_REQUESTED] = TO(VM_FAILED),
		[VM_EV_STOP_REQUESTED] = IGN,
		[VM_EV_STOPPED] = IGN,
	},
	[VM_BOOTING] = {
		[VM_EV_READY] = TO(VM_RUNNING),
		[VM_EV_HEALTH_FAILED] = TO(VM_STOPPING),
		[VM_EV_RESTART_REQUESTED] = TO(VM_STOPPING),
		[VM_EV_STOP_REQUESTED] = TO(VM_STOPPING),
		[VM_EV_QEMU_EXITED] = TO(VM_FAILED),
		[VM_EV_STOPPED] = TO(VM_STOPPED),
	},
	[VM_RUNNING] = {
		[VM_EV_READY] = IGN,
		[VM_EV_HEALTH_FAILED] = TO(VM_STOPPING),
		[VM_EV_RESTART_REQUESTED] = TO(VM_STOPPING),
		[VM_EV_STOP_REQUESTED] = TO(VM_STOPPING),
		[VM_EV_QEMU_EXITED] = TO(VM_FAILED),
		[VM_EV_STOPPED] = TO(VM_STOPPED),
	},
	[VM_FAILED] = {
		[VM_EV_START] = TO(VM_BOOTING),
		[VM_EV_START_FAILED] = TO(VM_FAILED),
		[VM_EV_RESTART_REQUESTED] = TO(VM_FAILED),
		[VM_EV_STOP_REQUESTED] = IGN,
		[VM_EV_GIVE_UP] = TO(VM_GAVE_UP),
		[VM_EV_STOPPED] = TO(VM_STOPPED),
	},
	[VM_GAVE_UP] = {
		[VM_EV_RESTART_REQUESTED] = TO(VM_FAILED),
		[VM_EV_STOP_REQUESTED] = IGN,
		[VM_EV_STOPPED] = TO(VM_STOPPED),
	},
	[VM_STOPPING] = {
		/* the guest's last lines, or a panic, while we kill it */
		[VM_EV_READY] = IGN,
		[VM_EV_HEALTH_FAILED] = IGN,
		[VM_EV_RESTART_REQUESTED] = TO(VM_STOPPING),
		[VM_EV_STOP_REQUESTED] = TO(VM_STOPPING),
		[VM_EV_QEMU_EXITED] = TO(VM_FAILED),
		[VM_EV_STOPPED] = TO(VM_STOPPED),
	},
};

enum vm_transition_kind vm_state_next(enum vm_state from, enum vm_event ev, enum vm_state *to)
{
	int cell;

	*to = from;
	if ((unsigned)from >= VM_NR_STATES || (unsigned)ev >= VM_NR_EVENTS)
		return VM_TR_ILLEGAL;
	cell = table[from][ev];
	if (cell == 0)
		return VM_TR_ILLEGAL;
	if (cell == IGN)
		return VM_TR_IGNORE;
	*to = (enum vm_state)(cell - 1);
	return VM_TR_MOVE;
}

const char *vm_state_name(enum vm_state s)
{
	static const char *const names[] = { "stopped", "booting", "running",
					     "failed",	"gave-up", "stopping" };

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

const char *vm_event_name(enum vm_event ev)
{
	static const char *const names[] = {
		"start",	  "start-failed", "ready",   "health-failed", "restart-requested",
		"stop-requested", "qemu-exited",  "give-up", "stopped",
	};

	return (unsigned)ev < sizeof(names) / sizeof(names[0]) ? names[ev] : "?";
}

int vm__event(struct vm *vm, enum vm_event ev)
{
	enum vm_state from = vm->state, to;

	switch (vm_state_next(from, ev, &to)) {
	case VM_TR_ILLEGAL:
		/* A bug of ours, never the guest's doing: say so, and carry on. */
		pr_warn("%s: event %s refused in state %s; state kept", vm->cfg->name,
			vm_event_name(ev), vm_state_name(from));
		return -EPERM;
	case VM_TR_IGNORE:
		pr_debug("%s: event %s ignored in state %s", vm->cfg->name, vm_event_name(ev),
			 vm_state_name(from));
		return 0;
	case VM_TR_MOVE:
		break;
	}
	vm->state = to;
	if (vm->spare_of)
		return 0; /* a spare's life is spare_phase (spare.c); this only follows */
	if (from == to) {
		pr_debug("%s: state %s (%s)", vm->cfg->name, vm_state_name(to), vm_event_name(ev));
		return 0;
	}
	pr_info("%s: state %s -> %s (%s)", vm->cfg->name, vm_state_name(from), vm_state_name(to),
		vm_event_name(ev));
	/* Entry action: the taps QEMU created for this incarnation join their bridges
	 * once the guest is up (they exist by then; a new QEMU makes new taps). */
	if (to == VM_RUNNING) {
		vm->taps_set = !tap__setup(vm); /* else health.c tries again */
		vm->host_failed_in_row = 0;	/* the host's trouble passed */
	}
	return 0;
}
