/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Tap back-ends of a driver VM's NICs (backend = tap): their MTU and bridge, set
 * outside QEMU, and -- for a driver VM with a warm spare -- the tap itself.
 *
 * Who creates the tap. Without a spare, QEMU does (-netdev tap,ifname=): one queue,
 * gone with the QEMU that made it. With spare = yes two QEMUs (the active and its
 * paused spare) need the same tap, so that the host's side -- the bridge port, the
 * peer's neighbour and TCP state -- outlives a failover or an upgrade. The supervisor
 * then creates the tap with IFF_MULTI_QUEUE (Documentation/networking/tuntap.rst,
 * "multiqueue tuntap") and opens one queue per QEMU, handed over as -netdev tap,fd=N:
 *   - the active's queue is attached: the kernel steers the tap's frames to it;
 *   - the spare's queue is detached (TUNSETQUEUE IFF_DETACH_QUEUE) from the start, so
 *     that not a frame lands in a QEMU that is paused;
 *   - at takeover the old QEMU's queue is detached (an upgrade's old QEMU is only
 *     stopped, not gone yet) and the spare's attached, before the spare resumes;
 *   - one more detached queue, the anchor, stays with the supervisor for the whole
 *     run: a tap lives while one of its queues is open, so the tap (and its bridge
 *     port and MTU) never vanishes between one QEMU and the next.
 * The supervisor keeps its own copy of each QEMU's queue fd (the same open file, so
 * TUNSETQUEUE on the copy moves QEMU's queue) until that QEMU is reaped.
 */
#ifndef DDVM_TAP_H
#define DDVM_TAP_H

struct cfg_vm;
struct config;
struct vm;

/* At most this many tap NICs in a driver VM with spare = yes (config_check.c). */
#define TAP_MAX_OWNED 8
/* QEMU's fd numbers for those queues: VM_TAP_FD_BASE + K for the VM's K-th tap NIC
 * (fd 3 is the RAM, VM_RAM_FD). */
#define VM_TAP_FD_BASE 4

/* Does the supervisor create VM's taps (spare = yes), or QEMU (ifname=)? */
int tap__owned(const struct cfg_vm *vm);

/* At `ddvm up`, before any QEMU: every tap NIC's bridge exists, and with spare = yes
 * the supervisor's taps are created (their anchors), so that a tap name taken by
 * something else fails `up` at once. 0 or -errno, after an error message. */
int tap__prepare(struct vm *vm);
/* Before QEMU of VM (an active or a spare struct) starts, after tap__prepare: one queue
 * per tap NIC is open in vm->tap_fds (attached for an active, detached for a spare).
 * 0, or -errno after an error message saying what to do; nothing is left open then. */
int tap__open_queues(struct vm *vm);
/* Close the supervisor's copies of VM's queue fds (its QEMU was reaped or never ran). */
void tap__close_queues(int *fds);
/* Takeover: OLD's queues (NULL: none left open) stop receiving, NEW's start. Returns 0
 * or the last -errno (logged); a queue that could not be attached loses its frames. */
int tap__handover(const int *old_fds, const int *new_fds, const char *vm_name);
/* `ddvm down` / the supervisor's end: the anchors go, and with them the taps. */
void tap__release(struct vm *vm);

/* Set the MTU of VM's taps, join them to their bridges, bring them up. Once per
 * incarnation: as soon as QEMU has created them (tap__exist, looked at while the VM
 * boots: health.c), and again, doing nothing new, when it runs (vm_state.c); one that
 * failed (a bridge deleted after `ddvm up`) is tried again every TAP_RETRY_MS while the
 * VM boots or runs, its problem shown by `ddvm status` on the NIC's channels. Returns 0
 * or the last -errno. */
#define TAP_RETRY_MS 2000
int tap__setup(struct vm *vm);
/* Every TAP_RETRY_MS while VM runs: a tap set up for it and deleted since (or deleted
 * and made again: another interface, which QEMU's queues are not on) is a problem of
 * its NIC's channels in `ddvm status`, logged once. */
void tap__watch(struct vm *vm);
/* Do all of VM's taps exist (QEMU creates them before its guest runs)? 1 also when it
 * has none. */
int tap__exist(const struct vm *vm);

#endif /* DDVM_TAP_H */
