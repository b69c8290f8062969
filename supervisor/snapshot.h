/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * restart = snapshot: a driver VM comes back from a snapshot taken after its first
 * boot instead of booting again.
 *
 * A driver VM in this mode boots WITHOUT its channel devices (an ivshmem device in peer
 * mode is a migration blocker, and one with master=on would carry the shared memory
 * into the snapshot: a stale channel). Its machine has one hot-plug capable
 * pcie-root-port per channel instead. Once its ready line appears:
 *
 *   first boot:  QMP stop; migrate "exec:cat > NAME.snap"; copy the RAM; cont;
 *                hot-plug the channels
 *   restart:     qemu ... -incoming defer; migrate-incoming "exec:cat NAME.snap";
 *                MIGRATION completed; hot-plug the channels; cont
 *
 * The RAM is not in NAME.snap. A VM in this mode gets its RAM from a memfd (QEMU's
 * memory-backend-file on /proc/self/fd/3): a cold boot maps a new one shared, and the
 * snapshot (migration capability x-ignore-shared) saves only the devices' state; while
 * the guest is stopped the supervisor copies that RAM into a second memfd and seals it
 * (no writes, no resize). A restore maps the sealed copy private (share=off): the
 * restored guest's writes are copy-on-write pages of its own, the copy stays the RAM
 * of the first boot, and the incoming stream is the devices' state only. Never the RAM
 * of a dead incarnation: that memfd is closed when its QEMU exits.
 *
 * Hot-plug is chardev-add (a socket to CHANNEL.driver.sock: the ivshmem server gives
 * it a fresh peer id) + device_add ivshmem-doorbell on root port rpN; the guest's pciehp
 * announces it and the translation module probes it like any PCI device. The VM is
 * RUNNING (health checks on) once every channel device exists. A restore that fails
 * falls back to a cold boot at once (which takes a new snapshot); a snapshot that
 * cannot be taken (a device QEMU cannot migrate) disables the mode for that VM.
 */
#ifndef DDVM_SNAPSHOT_H
#define DDVM_SNAPSHOT_H

#include <jansson.h>
#include <stdint.h>

struct vm;

void snapshot__init(struct vm *vm, const char *rundir);
/* The VM runs in snapshot mode (its channels are hot-plugged, never on the command line). */
int snapshot__enabled(const struct vm *vm);
/* Called by vm__start: decide whether this incarnation restores (sets vm->restoring). */
void snapshot__prepare_start(struct vm *vm);
/* QMP just connected. */
void snapshot__qmp_connected(struct vm *vm, uint64_t now);
/* The ready line appeared on the console of a VM in snapshot mode. */
void snapshot__ready_line(struct vm *vm, uint64_t now);
/* A QMP event (EVENT non-NULL) or a reply to one of our commands (EVENT NULL). */
void snapshot__qmp(struct vm *vm, const char *event, json_t *data, uint64_t now);
/* QEMU exited. Returns 1 when it was a restore that failed: restart it cold at once. */
int snapshot__restore_failed(struct vm *vm, const char *why, uint64_t now);
/* Delete the snapshot file and its RAM (`ddvm down`). */
void snapshot__remove(struct vm *vm);
/* The memfd QEMU maps as the guest's RAM (fd VM_RAM_FD), after prepare_start: a new one
 * for a cold boot, the snapshot's RAM for a restore; -ENOENT: not in snapshot mode. */
int snapshot__ram_fd(struct vm *vm);
/* QEMU of this incarnation exited (or never started): drop our fd to a cold boot's RAM. */
void snapshot__qemu_gone(struct vm *vm);

#endif /* DDVM_SNAPSHOT_H */
