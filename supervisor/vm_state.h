/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A VM's life cycle as one state machine: the only place that changes vm->state.
 * Everything else raises an event (vm__event); the table in vm_state.c says where each
 * event leads from each state, which events are expected but change nothing (a ready
 * line printed while we kill the VM), and which are illegal (refused with a log line,
 * the state kept).
 *
 *   STOPPED  --start-->            BOOTING  --ready-->          RUNNING
 *   BOOTING, RUNNING --health-failed, restart-requested, stop-requested--> STOPPING
 *   BOOTING, RUNNING, STOPPING --qemu-exited--> FAILED (restart due at restart_at_ms)
 *   STOPPED, FAILED --start-failed--> FAILED     FAILED --start--> BOOTING
 *   FAILED --give-up--> GAVE_UP      FAILED, GAVE_UP, STOPPED --restart-requested--> FAILED
 *   any --stopped--> STOPPED (QEMU gone while the supervisor shuts down, or gone after
 *                              `ddvm restart` asked for it: health.c starts it again)
 */
#ifndef DDVM_VM_STATE_H
#define DDVM_VM_STATE_H

struct vm;

enum vm_state {
	VM_STOPPED,  /* not started yet, or stopped by `ddvm down` */
	VM_BOOTING,  /* QEMU runs; ready line not seen yet */
	VM_RUNNING,  /* ready line seen */
	VM_FAILED,   /* dead; restart scheduled at restart_at_ms */
	VM_GAVE_UP,  /* failed too often; stays down */
	VM_STOPPING, /* killed; waiting for QEMU to exit */
	VM_NR_STATES
};

enum vm_event {
	VM_EV_START,		 /* QEMU was started */
	VM_EV_START_FAILED,	 /* QEMU could not be started */
	VM_EV_READY,		 /* ready line seen (or, restart = snapshot, channels plugged) */
	VM_EV_HEALTH_FAILED,	 /* a failure was detected; QEMU is being killed */
	VM_EV_RESTART_REQUESTED, /* `ddvm restart` */
	VM_EV_STOP_REQUESTED,	 /* the supervisor shuts down; QEMU was told to stop */
	VM_EV_QEMU_EXITED,	 /* QEMU exited and was reaped; a restart is due */
	VM_EV_GIVE_UP,		 /* failed too often (or the same start failure twice) */
	VM_EV_STOPPED,		 /* QEMU is gone (or never ran) and the supervisor shuts down */
	VM_NR_EVENTS
};

/* What event EV does in state FROM. */
enum vm_transition_kind {
	VM_TR_ILLEGAL, /* must not happen: refused, logged, state kept */
	VM_TR_IGNORE,  /* can happen (a race with QEMU or the guest) and changes nothing */
	VM_TR_MOVE,    /* the state becomes *TO (which may be FROM again) */
};

enum vm_transition_kind vm_state_next(enum vm_state from, enum vm_event ev, enum vm_state *to);

/* Raise EV on VM: change vm->state as the table says and log it. Returns 0 when the
 * event was taken (moved or ignored), -EPERM when it was refused (state unchanged). */
int vm__event(struct vm *vm, enum vm_event ev);

const char *vm_state_name(enum vm_state s);
const char *vm_event_name(enum vm_event ev);

#endif /* DDVM_VM_STATE_H */
