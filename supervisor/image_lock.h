/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The disk images of driver VMs with a warm spare, locked by the supervisor itself.
 *
 * A warm spare's paused QEMU holds the active's images open beside it, so every QEMU of
 * such a driver VM runs with QEMU's image locking off (`file.locking=off`, vm.c). Then
 * nothing kept a second setup (another `ddvm up` naming the same image, or any QEMU)
 * from writing the same image at the same time: the two setups overwrote each other's
 * data without a word. The supervisor takes, for the whole run, the locks such a QEMU
 * would have taken, in QEMU's own protocol (block/file-posix.c: open file description
 * locks on byte 100 + N while holding permission bit N, on byte 200 + N while sharing
 * it with no one; bit 1 is "write"): bytes 101 and 201. Another QEMU that would write
 * the image then fails to open it ("Failed to get "write" lock"), and another
 * supervisor, or this one finding a writer there already, refuses to start.
 */
#ifndef DDVM_SUPERVISOR_IMAGE_LOCK_H
#define DDVM_SUPERVISOR_IMAGE_LOCK_H

struct supervisor;

/* Lock the images of every driver VM with spare = yes (sup->image_lock_fd); for the
 * others, only look whether another process writes (or would write) one.
 * 0, or -EAGAIN (another process writes, or would write, an image: said why, with the
 * image's path); an image that cannot be locked at all (a file system without such
 * locks) is warned about and left unlocked. What was locked stays until
 * image_lock__release. */
int image_lock__take(struct supervisor *sup);
/* Let go of every image lock (the supervisor's teardown; closing does it). */
void image_lock__release(struct supervisor *sup);

#endif
