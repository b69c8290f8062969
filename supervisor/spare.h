/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * spare = yes: a warm spare driver VM, and failover to it in milliseconds.
 *
 * Once the active driver VM's snapshot exists (snapshot.h), the supervisor starts a
 * second QEMU for the same driver VM that restores that snapshot: the spare. Its
 * channel devices are hot-plugged on CHANNEL.spare.sock, a role of its own in each
 * channel's ivshmem server: a fresh peer id (never reused) that the channel header
 * never names, so each translation module in the spare finds hdr.backend_peer !=
 * its own IVPosition and stays on standby (guest/ddvm_ivshmem.c: it touches no ring,
 * rings nobody, sends no heartbeat, prints "ddvm: standby"). When every channel of
 * the spare said so on its console, the supervisor pauses it (QMP stop): a paused
 * spare costs no CPU, and its RAM is mostly the snapshot's pages, shared.
 *
 * Failover, when the active fails in any way: the active's QEMU is dead and reaped
 * first (never two QEMUs serving one disk), the epoch of each channel is bumped as for
 * any restart, the spare's peer moves into the driver role (its id published in
 * hdr.backend_peer, the health doorbell introduced to it), its control vectors are
 * rung and it is resumed (QMP cont). Its translation modules see their own id and
 * serve the new epoch; clients re-attach as after any restart. The spare's process
 * becomes the driver VM's (pid, console, QMP; NAME.pid and NAME.qmp are renamed), and
 * a new spare is started once service is restored. No spare ready: today's restore.
 *
 * A spare whose QEMU dies is started again after a back-off; no failure is counted
 * against the driver VM. Devices the two QEMUs share: raw images (opened by both with
 * file.locking=off: the spare is paused and does no I/O until the active is reaped),
 * user-mode NICs (each QEMU has its own). Taps, qcow2 and host devices are refused by
 * the config checks.
 */
#ifndef DDVM_SPARE_H
#define DDVM_SPARE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct vm;

/*
 * `ddvm upgrade VM`: replace a running driver VM by one booted from another kernel,
 * initramfs (its driver and module set) or command line, with the clients seeing only
 * a failover's gap. The same path as the warm spare (so it needs spare = yes): the
 * spare is replaced by one that boots the new image COLD (the old snapshot is of the
 * old image), takes its own snapshot after that boot (NAME.snap.upgrade), plugs its
 * channels on standby and is paused; then the active is restarted as by `ddvm
 * restart`, the new spare takes over, and the new image becomes the driver VM's: its
 * kernel/initrd/append replace the setup file's for every later restart, its snapshot
 * becomes NAME.snap, and the next spare restores that. If the new image does not reach
 * standby (QEMU refuses it, it does not boot, a channel does not attach), the upgrade
 * fails, the active never stops serving, and a spare of the old image comes back.
 */
struct vm_image {
	char kernel[CFG_PATH_MAX];
	char initrd[CFG_PATH_MAX];
	char append[CFG_APPEND_MAX];
};

enum upgrade_state {
	UPGRADE_NONE,	  /* never asked */
	UPGRADE_WAITING,  /* asked: the old image's spare is being stopped */
	UPGRADE_BOOTING,  /* the new image boots as the spare (cold, snapshot, standby) */
	UPGRADE_HANDOVER, /* on standby and paused: the active is being restarted */
	UPGRADE_DONE,	  /* the new image serves */
	UPGRADE_FAILED,	  /* the new image never took over (why); the old one serves */
};

struct vm_upgrade {
	struct vm_image image;
	enum upgrade_state state;
	uint64_t asked_ms, done_ms; /* monotonic */
	uint64_t handover_ms;	    /* the active was asked to stop (the gap starts) */
	uint64_t gap_ms;	    /* handover -> service restored; 0 until then */
	int stop_answered;	    /* its QMP stop: 1 done, -1 refused, 0 not yet */
	int sigstop;		    /* stopped by SIGSTOP (waited for), not QMP stop */
	char why[256];		    /* FAILED: what went wrong */
};

enum spare_phase {
	SPARE_DOWN,	 /* no spare QEMU (or it is on its way out) */
	SPARE_RESTORING, /* QEMU restoring the snapshot (an upgrade's: booting), plugging */
	SPARE_STANDBY,	 /* running: waiting for every channel's "ddvm: standby" line */
	SPARE_PAUSING,	 /* QMP stop sent */
	SPARE_READY,	 /* paused, every channel on standby: a failover takes it */
};

/* SPARE (its own struct vm, never in sup->vms) is ACTIVE's spare. */
void spare__init(struct vm *spare, struct vm *active, const char *rundir);
/* Start a spare when there should be one; watch one that does not settle. Returns
 * ms until the next look. */
int spare__tick(struct vm *active, uint64_t now);
/* A console line of the spare. */
void spare__console_line(struct vm *spare, const char *line, uint64_t now);
/* Every channel of the spare is plugged (snapshot.c). */
void spare__plugged(struct vm *spare, uint64_t now);
/* QMP event or reply (EVENT NULL) of a spare, or of an active just failed over. */
void spare__qmp(struct vm *vm, const char *event, json_t *data, uint64_t now);
/* Something is wrong with the spare: kill it (a new one comes after a back-off). */
void spare__fail(struct vm *spare, const char *why, uint64_t now);
/* The spare's QEMU was reaped. */
void spare__exited(struct vm *spare, int status, uint64_t now);
/* Is ACTIVE's spare paused on standby, ready to take over? */
int spare__ready(const struct vm *active);
/* ACTIVE failed and was reaped, its epochs bumped: hand its service to the spare.
 * Returns 1 if the spare took over, 0 when there was none ready. */
int spare__failover(struct vm *active, uint64_t now);
/* ACTIVE took a new snapshot: a spare of the old one is replaced. */
void spare__snapshot_taken(struct vm *active);
/* An upgrade's spare saved its cold boot: 1 if it is to be stopped and restored from
 * that snapshot (then it is: snapshot.c leaves it alone), 0 for any other VM. */
int spare__snapshot_saved(struct vm *s, uint64_t now);
const char *spare_phase_name(enum spare_phase p);
const char *upgrade_state_name(enum upgrade_state s);
/* `ddvm upgrade`: check the request (ERR gets a sentence for the user) and start it.
 * IMG is the whole new image (the caller fills in the current kernel, initrd or append
 * for what was not given). 0 or -1. */
int spare__upgrade(struct vm *active, const struct vm_image *img, char *err, size_t len);

#endif /* DDVM_SPARE_H */
