/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Start failures and late channels (startup.c): what the supervisor says when a VM
 * or a channel does not come up, rather than retrying or waiting in silence.
 *
 * A QEMU that exits before its guest printed the ready line failed to start: the
 * reason is QEMU's own error line (from RUNDIR/VM.qemu.log, written since this start),
 * and a start that fails the same way twice is not retried: the VM is given up on at
 * once, with that reason. A channel whose backend (or, for a client VM, frontend) is
 * not READY STARTUP_CHANNEL_MS after its VM booted is logged and shown in `ddvm status`.
 */
#ifndef DDVM_STARTUP_H
#define DDVM_STARTUP_H

#include <stddef.h>
#include <stdint.h>

struct supervisor;
struct vm;

#define STARTUP_CHANNEL_MS 30000
/* A problem is logged once it lasted this long: a channel that a client resets over and
 * over (health.c's claims) flaps between states; each flap is not news. */
#define STARTUP_PROBLEM_MS 5000

/* Per VM. */
struct startup_vm {
	long long qlog_off;	/* size of VM.qemu.log when this incarnation started */
	int start_failed;	/* this incarnation failed before the guest booted */
	char prev_failure[512]; /* the start failure before this one ("" = none) */
};

/* Per channel: why it is not ready when it should be ("" = nothing to say). */
struct startup_chan {
	char problem[256]; /* what is wrong now ("" when nothing) */
	uint64_t since_ms; /* ... since when (monotonic ms) */
	int told;	   /* logged: a problem that lasted STARTUP_PROBLEM_MS */
	/* the backend READY at this epoch since (a client gets STARTUP_CHANNEL_MS from
	 * then to attach again, after a driver VM's restart as after its own boot) */
	uint32_t backend_epoch;
	uint64_t backend_ready_ms;
	/* net with `mtu =`: the NIC at another MTU (its driver refused it), "" when not;
	 * looked at once per epoch, at mtu_epoch */
	char mtu_problem[384];
	uint32_t mtu_epoch;
	/* net/tap: its tap could not get its MTU or join its bridge (a bridge deleted
	 * after `ddvm up`), "" when it did; retried while the driver VM runs (tap.c) */
	char tap_problem[384];
};

/* Disk images with `size =` that do not exist yet: create them (raw: a sparse file;
 * qcow2: qemu-img create). Returns 0 or the first -errno, logged. */
int startup__create_images(struct supervisor *sup);
/* A new incarnation of VM is about to start (before QEMU runs). */
void startup__vm_starting(struct vm *vm);
/* QEMU of VM could not even be run (ERR, negative errno): a start failure. */
void startup__start_error(struct vm *vm, int err, char *why, size_t len);
/* QEMU of VM exited on its own with wait STATUS; WHY (the status in words) gets QEMU's
 * own error line appended when QEMU gave up (exit status not 0) before the guest
 * booted. A signal is not QEMU refusing to start: someone killed it.
 * Both mark a failure that is the host's (vm->failing_on_host: out of space in the run
 * dir, out of memory or file descriptors; by the errno, QEMU's words, or the run dir's
 * free space, since a QEMU on a full run dir cannot even write why) rather than a
 * refusal of the setup: retried with back-off, never a give-up (health.c). */
void startup__exited(struct vm *vm, int status, char *why, size_t len);
/* Called once per failure, after last_failure is set: 1 when this start failure is
 * the one before it again (give up now), 0 otherwise. */
int startup__failed_again(struct vm *vm);
/* `ddvm restart` of a given-up VM: forget the past start failures. */
void startup__forget(struct vm *vm);
/* QEMU's error line in VM.qemu.log since this incarnation started, into BUF. */
int startup__qemu_error(const struct vm *vm, char *buf, size_t len);
/* Channels not ready STARTUP_CHANNEL_MS after their VMs booted. Returns ms until it
 * wants to look again. */
int startup__tick(struct supervisor *sup, uint64_t now);

#endif /* DDVM_STARTUP_H */
