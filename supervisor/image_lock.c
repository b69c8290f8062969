/* SPDX-License-Identifier: BSD-2-Clause */
/* The supervisor's own lock on the images of driver VMs with a spare (image_lock.h). */
#include "image_lock.h"
#include "log.h"
#include "supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* QEMU's lock bytes (block/file-posix.c, RAW_LOCK_PERM_BASE / RAW_LOCK_SHARED_BASE)
 * for BLK_PERM_WRITE (bit 1 of QEMU's block permissions, block-common.h) */
#define QEMU_LOCK_PERM_BASE   100
#define QEMU_LOCK_SHARED_BASE 200
#define QEMU_PERM_WRITE_BIT   1

/* F_OFD_SETLK (shared) or F_OFD_GETLK (would an exclusive one conflict?) on one byte */
static int lock_byte(int fd, int cmd, short type, off_t byte)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1 };

	if (fcntl(fd, cmd, &fl) < 0)
		return -errno;
	return cmd == F_OFD_GETLK && fl.l_type != F_UNLCK ? -EAGAIN : 0;
}

/* Lock PATH's bytes as a user that shares writing with no one, and as a writer if
 * WRITER: an fd that holds the locks (close it to release them), -EAGAIN if another open
 * file (another process) writes or would write PATH, or another -errno; WHY says why.
 * !TAKE: only look (0 when nobody is in the way; nothing held). */
static int lock_image(const char *path, int writer, int take, char *why, size_t len)
{
	const off_t perm = QEMU_LOCK_PERM_BASE + QEMU_PERM_WRITE_BIT,
		    shared = QEMU_LOCK_SHARED_BASE + QEMU_PERM_WRITE_BIT;
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = 0;

	if (fd < 0) {
		ret = -errno;
		snprintf(why, len, "cannot open it: %s", strerror(-ret));
		return ret;
	}
	/* Take first, then test: two supervisors starting at once both see the other (QEMU
	 * does the same, raw_apply_lock_bytes before raw_check_lock_bytes). As QEMU checks:
	 * no other writer (101) for anyone; for a writer also no other user that shares
	 * writing with no one (201): two readers do not refuse each other. */
	if (writer && take)
		ret = lock_byte(fd, F_OFD_SETLK, F_RDLCK, perm);
	if (!ret && take)
		ret = lock_byte(fd, F_OFD_SETLK, F_RDLCK, shared);
	if (!ret && (ret = lock_byte(fd, F_OFD_GETLK, F_WRLCK, perm)) == -EAGAIN)
		snprintf(why, len, "another process has it open for writing");
	else if (!ret && writer && (ret = lock_byte(fd, F_OFD_GETLK, F_WRLCK, shared)) == -EAGAIN)
		snprintf(why, len, "another process has it open and shares writing with no one");
	else if (ret)
		snprintf(why, len, "cannot lock it: %s", strerror(-ret));
	if (ret || !take) {
		close(fd);
		return ret;
	}
	return fd;
}

int image_lock__take(struct supervisor *sup)
{
	const struct config *cfg = sup->cfg;
	unsigned i;

	for (i = 0; i < cfg->nr_devices; i++) {
		const struct cfg_device *d = &cfg->devices[i];
		char why[96];
		int fd;

		if (d->kind != CFG_BLK || !d->image[0] || !d->vm)
			continue;
		/* Without a spare, the driver VM's QEMU takes QEMU's locks itself; a look
		 * now refuses a setup whose image another one writes before anything
		 * starts (else its driver VM failed "Failed to get "write" lock" at each
		 * start until the supervisor gave up, which stayed up). */
		fd = lock_image(d->image, !d->readonly, d->vm->spare, why, sizeof(why));
		if (fd == -EAGAIN) {
			pr_err("%s: disk %s: image %s is in use: %s (another 'ddvm up' of a setup "
			       "with this image, or a QEMU: 'fuser -v %s' names it); stop it, or "
			       "give this disk an image of its own",
			       d->vm->name, d->name, d->image, why, d->image);
			return fd;
		}
		if (fd < 0 && !d->vm->spare) /* QEMU finds out for itself, and says so */
			continue;
		if (fd < 0) {
			/* a file system without open file description locks (some NFS, 9p,
			 * FUSE): QEMU runs without image locks there too */
			pr_warn("%s: disk %s: image %s: %s; another setup or QEMU writing it at "
				"the same time is not kept out",
				d->vm->name, d->name, d->image, why);
			continue;
		}
		if (d->vm->spare)
			sup->image_lock_fd[i] = fd;
	}
	return 0;
}

void image_lock__release(struct supervisor *sup)
{
	unsigned i;

	for (i = 0; i < CFG_MAX_DEVICES; i++) {
		if (sup->image_lock_fd[i] >= 0)
			close(sup->image_lock_fd[i]);
		sup->image_lock_fd[i] = -1;
	}
}
