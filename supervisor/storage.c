/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Host storage faults: a driver VM's disk image on a full or failing host file system.
 *
 * They are not driver VM failures. QEMU's default for writes (werror = enospc) pauses
 * the whole VM at the first ENOSPC: its heartbeat stops, the supervisor restarts it,
 * the restarted one fails the same way, and every other device of that driver VM goes
 * down with it. The supervisor runs each -drive with werror = rerror = report instead
 * (vm.c; `werror`/`rerror` in [device]): the request fails in the driver VM's guest,
 * the translation module answers it with an error status, the client's I/O fails, and
 * everything else runs on. The next request that the host file can take succeeds: no
 * restart, nothing to resume.
 *
 * QEMU reports each failed request as a QMP BLOCK_IO_ERROR event (device, operation,
 * action, nospace, reason). One per request is far too many for a log: the first of a
 * run of errors is logged at once with the VM, device, image, operation and errno;
 * then at most one line per STORAGE_SUMMARY_MS with the count; and a last line once
 * STORAGE_QUIET_MS passed without one. `ddvm status` shows the last error per device.
 *
 * With werror/rerror = stop or enospc QEMU pauses the VM instead (action "stop"); we
 * resume it every STORAGE_CONT_MS, QEMU retries the request, and it either passes
 * (space came back) or pauses the VM again: requests wait for space instead of
 * failing. config_check.c allows that only with the VM's heartbeat and request checks
 * off, since a paused VM beats no more.
 *
 * Capacity: a raw image the user grows or shrinks while the driver VM runs (`truncate
 * -s`) is not noticed by QEMU, which keeps the size it opened the file with. Each
 * second we stat every raw image of a running driver VM; a size that differs from the
 * one QEMU knows is sent as QMP block_resize (device drv-NAME, size in bytes). QEMU's
 * device model then tells the guest where it can: virtio-blk raises a configuration
 * change and the driver VM's Linux sets the disk's new capacity; the translation
 * module publishes it to the client (docs/blk.md, "Capacity changes"). A cold-booted
 * QEMU opens the file at its current size; a guest restored from a snapshot remembers
 * the size at the snapshot, which is what we compare with. QEMU 7.2's nvme refuses
 * block_resize (it does not share the resize permission): that is logged, and the
 * driver VM sees the new size after its next cold restart.
 *
 * No space: no emulated controller can tell its guest "no space" (virtio-blk and NVMe
 * fail the request with an I/O or media error), so a full host file system would reach
 * the client as EIO. While the supervisor knows the image's file system is full -- an
 * ENOSPC error reported for it, or (looked at every STORAGE_SPACE_MS) no free block
 * left -- it sets DDVM_CTL_HOST_NOSPC in the channel's header, and the translation
 * module answers the writes the disk fails with NOSPC; the flag goes once the file
 * system has STORAGE_SPACE_FREE bytes free again.
 */
#include "storage.h"
#include "log.h"
#include "supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define STORAGE_SUMMARY_MS	5000
#define STORAGE_QUIET_MS	10000
#define STORAGE_CONT_MS		1000
#define STORAGE_LOG_MS		200	      /* how often NAME.qemu.log is looked at (nvme) */
#define STORAGE_QEMU_LOG_CAP_MS 1000	      /* how often the logs' sizes are (vm__qemu_log_cap) */
#define STORAGE_SIZE_MS		1000	      /* how often the raw images' sizes are looked at */
#define STORAGE_SPACE_MS	1000	      /* how often full file systems are looked for */
#define STORAGE_SPACE_FREE	(1024 * 1024) /* bytes free again: no longer full */
#define RESIZE_ID		"sto-resize-"

const char *storage__errno_name(int err, char *buf, size_t len)
{
	const char *name = err > 0 ? strerrorname_np(err) : NULL;

	if (name)
		return name;
	if (err <= 0)
		return "errno unknown";
	snprintf(buf, len, "errno %d", err);
	return buf;
}

/* QEMU's reason is strerror() of the error: find the errno back (same C library). */
static int reason_errno(const char *reason, int nospace)
{
	int e;

	if (nospace)
		return ENOSPC;
	for (e = 1; e < 200 && reason; e++)
		if (!strcmp(strerror(e), reason))
			return e;
	return 0;
}

/* The [device] of VM that QEMU calls DRIVE ("drv-NAME", vm.c). */
static const struct cfg_device *find_drive(const struct vm *vm, const char *drive)
{
	const struct config *cfg = vm->sup->cfg;
	unsigned i;

	if (!drive || strncmp(drive, "drv-", 4))
		return NULL;
	for (i = 0; i < cfg->nr_devices; i++) {
		const struct cfg_device *d = &cfg->devices[i];

		if (d->vm == vm->cfg && d->kind == CFG_BLK && !strcmp(d->name, drive + 4))
			return d;
	}
	return NULL;
}

static struct storage_dev *dev_state(struct supervisor *sup, const struct cfg_device *d)
{
	return &sup->storage[d - sup->cfg->devices];
}

/* Tell D's channels whether the host file system of its image is full (FULL), once
 * per change. */
static void set_nospc(struct supervisor *sup, const struct cfg_device *d, int full, const char *why)
{
	struct storage_dev *s = dev_state(sup, d);
	unsigned i;

	if (s->nospc == full)
		return;
	s->nospc = full;
	for (i = 0; i < sup->cfg->nr_channels; i++)
		if (sup->channels[i].cfg && sup->channels[i].cfg->dev == d)
			channel__host_flag(&sup->channels[i], DDVM_CTL_HOST_NOSPC, full);
	if (full)
		pr_warn("%s: %s: the host file system of %s is full (%s): the client's failed "
			"writes are told 'no space'",
			d->vm->name, d->name, d->image, why);
	else
		pr_info("%s: %s: the host file system of %s has space again", d->vm->name, d->name,
			d->image);
}

/* Is the file system of D's image full, has it space again, or neither (-1)? */
static int image_fs_full(const struct cfg_device *d)
{
	struct statvfs st;
	unsigned long long blocks;

	if (statvfs(d->image, &st))
		return -1;
	blocks = geteuid() == 0 ? st.f_bfree : st.f_bavail; /* root may use the reserve */
	if (blocks == 0)
		return 1;
	return blocks * st.f_frsize >= STORAGE_SPACE_FREE ? 0 : -1;
}

static void space_tick(struct supervisor *sup, uint64_t now, int *next)
{
	const struct config *cfg = sup->cfg;
	unsigned j;
	int full;

	if (now - sup->storage_space_ms >= STORAGE_SPACE_MS) {
		sup->storage_space_ms = now;
		for (j = 0; j < cfg->nr_devices; j++) {
			const struct cfg_device *d = &cfg->devices[j];

			if (d->kind != CFG_BLK || d->host[0] || !d->image[0] || d->readonly)
				continue;
			full = image_fs_full(d);
			if (full == 1)
				set_nospc(sup, d, 1, "no free block");
			else if (full == 0)
				set_nospc(sup, d, 0, NULL);
		}
	}
	if ((int)(sup->storage_space_ms + STORAGE_SPACE_MS - now) < *next)
		*next = (int)(sup->storage_space_ms + STORAGE_SPACE_MS - now);
}

static const char *policy(const struct cfg_device *d, const char *op)
{
	return !strcmp(op, "read") ? d->rerror : d->werror;
}

/* COUNT requests of device D failed in the host file: count them, log the first of a run. */
static void record(struct vm *vm, const struct cfg_device *d, const char *op, const char *action,
		   int err, const char *reason, unsigned long long count, uint64_t now)
{
	struct storage_dev *s = dev_state(vm->sup, d);
	char eb[24];

	s->errors += count;
	s->last_ms = now;
	snprintf(s->op, sizeof(s->op), "%s", op);
	snprintf(s->action, sizeof(s->action), "%s", action);
	snprintf(s->reason, sizeof(s->reason), "%s", reason ? reason : "unknown");
	s->err = err;
	if (err == ENOSPC)
		set_nospc(vm->sup, d, 1, "ENOSPC");
	if (!strcmp(action, "stop") && !vm->storage.paused) {
		vm->storage.paused = 1;
		vm->storage.cont_ms = now;
	}
	if (!strcmp(action, "stop") && !s->spell_ms) {
		/* once per run of errors: each resume that meets a full disk pauses again */
		pr_warn("%s: QEMU paused the VM at a %s error of %s (%s = %s): resuming it every "
			"%u ms until the host file takes the request",
			vm->cfg->name, op, d->name, !strcmp(op, "read") ? "rerror" : "werror",
			policy(d, op), STORAGE_CONT_MS);
	}
	if (s->spell_ms)
		return; /* counted; storage__tick summarizes */
	s->spell_ms = now;
	s->log_ms = now;
	s->logged = s->errors;
	s->spell_errors = count;
	pr_err("%s: %s: host %s error on image %s: %s (%s); %s", vm->cfg->name, d->name, op,
	       d->image, storage__errno_name(s->err, eb, sizeof(eb)), s->reason,
	       !strcmp(action, "report")   ? "the request fails in the guest, the VM runs on"
	       : !strcmp(action, "ignore") ? "QEMU ignored it (the guest was told it worked)"
					   : "QEMU paused the VM");
}

/* BLOCK_IO_ERROR: one failed request (every device model with an error policy). */
static void io_error(struct vm *vm, json_t *data, uint64_t now)
{
	const char *drive = NULL, *op = "?", *action = "?", *reason = NULL;
	const struct cfg_device *d;
	int nospace = 0;

	json_unpack(data, "{s?s, s?s, s?s, s?b, s?s}", "device", &drive, "operation", &op, "action",
		    &action, "nospace", &nospace, "reason", &reason);
	d = find_drive(vm, drive);
	if (!d) {
		pr_warn("%s: host I/O error on a drive we do not know (%s): %s %s", vm->cfg->name,
			drive ? drive : "?", op, reason ? reason : "?");
		return;
	}
	record(vm, d, op, action, reason_errno(reason, nospace), reason, 1, now);
}

static int is_nvme(const struct cfg_device *d)
{
	return d->kind == CFG_BLK && !d->host[0] && !strcmp(d->model, "nvme");
}

/*
 * QEMU's nvme device has no error policy and sends no BLOCK_IO_ERROR: it completes the
 * command with a media error (Write Fault / Unrecovered Read Error; the guest sees
 * ENODATA or EIO) and prints "aio failed: REASON" on stderr, which is NAME.qemu.log.
 * Read what QEMU appended since the last look; for "aio failed" lines ask
 * query-blockstats which drive's failed-request counters moved.
 */
static void read_qemu_log(struct vm *vm, uint64_t now)
{
	static const char tag[] = "aio failed: ";
	char buf[8192];
	unsigned rounds;
	int fd;

	vm->storage.log_ms = now;
	fd = open(vm->qemu_log_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	for (rounds = 0; rounds < 16; rounds++) { /* at most 128 KiB a look */
		ssize_t n = pread(fd, buf, sizeof(buf) - 1, vm->storage.log_off);
		char *line, *nl, *end;

		if (n <= 0)
			break;
		buf[n] = 0;
		end = memrchr(buf, '\n', n);
		if (!end) {
			if (n == (ssize_t)sizeof(buf) - 1)
				vm->storage.log_off += n; /* one endless line: skip it */
			break;
		}
		vm->storage.log_off += end - buf + 1;
		*end = 0;
		for (line = buf; line; line = nl) {
			char *p;

			nl = strchr(line, '\n');
			if (nl)
				*nl++ = 0;
			p = strstr(line, tag);
			if (!p)
				continue;
			snprintf(vm->storage.aio_reason, sizeof(vm->storage.aio_reason), "%s",
				 p + sizeof(tag) - 1);
			vm->storage.aio_lines++;
		}
	}
	close(fd);
	if (vm->storage.aio_lines > vm->storage.aio_counted && !vm->storage.stats_pending &&
	    vm->qmp.fd >= 0 && !qmp__command(&vm->qmp, "query-blockstats", NULL, "sto-stats"))
		vm->storage.stats_pending = 1;
}

/*
 * query-blockstats answered: record the failed requests of the nvme drives whose
 * failed-request counters grew. QEMU's nvme counts a failed request (block_acct_failed)
 * before it prints its "aio failed" line, so the counters may already hold requests
 * whose lines the next look reads: those lines are not new errors. Lines beyond every
 * count so far are requests no counter shows; they go to the VM's only nvme drive.
 */
static void blockstats(struct vm *vm, json_t *reply, uint64_t now)
{
	static const char *const ops[4] = { "read", "write", "flush", "discard" };
	static const char *const keys[4] = { "failed_rd_operations", "failed_wr_operations",
					     "failed_flush_operations", "failed_unmap_operations" };
	const char *reason = vm->storage.aio_reason;
	json_t *list = json_object_get(reply, "return"), *e;
	unsigned long long found = 0;
	size_t i;
	unsigned k;

	vm->storage.stats_pending = 0;
	json_array_foreach(list, i, e)
	{
		const char *drive = json_string_value(json_object_get(e, "device"));
		const struct cfg_device *d = find_drive(vm, drive);
		json_t *st = json_object_get(e, "stats");
		struct storage_dev *s;

		if (!d || !is_nvme(d) || !st)
			continue;
		s = dev_state(vm->sup, d);
		for (k = 0; k < 4; k++) {
			json_int_t v = json_integer_value(json_object_get(st, keys[k]));

			if ((unsigned long long)v > s->failed[k]) {
				unsigned long long n = v - s->failed[k];

				s->failed[k] = v;
				found += n;
				record(vm, d, ops[k], "report", reason_errno(reason, 0), reason, n,
				       now);
			}
		}
	}
	vm->storage.aio_counted += found;
	if (vm->storage.aio_lines > vm->storage.aio_counted) {
		/* lines no counter shows: one nvme drive is the one */
		const struct config *cfg = vm->sup->cfg;
		const struct cfg_device *only = NULL;
		unsigned long long extra = vm->storage.aio_lines - vm->storage.aio_counted;
		unsigned j, nr = 0;

		for (j = 0; j < cfg->nr_devices; j++)
			if (cfg->devices[j].vm == vm->cfg && is_nvme(&cfg->devices[j])) {
				only = &cfg->devices[j];
				nr++;
			}
		if (nr == 1)
			record(vm, only, "I/O", "report", reason_errno(reason, 0), reason, extra,
			       now);
		else
			pr_warn("%s: QEMU: %llu host I/O errors (%s) on an nvme drive",
				vm->cfg->name, extra, reason);
		vm->storage.aio_counted = vm->storage.aio_lines;
	}
}

/* Raw images can be looked at by their size (a qcow2 file's size is not its disk's). */
static int size_watched(const struct cfg_device *d)
{
	return d->kind == CFG_BLK && !d->host[0] && d->image[0] && !strcmp(d->format, "raw");
}

/* The image's size in bytes, or -1 (gone, or not a regular file). */
static long long image_size(const struct cfg_device *d)
{
	struct stat st;

	if (stat(d->image, &st) || !S_ISREG(st.st_mode))
		return -1;
	return st.st_size;
}

/* Remember which file QEMU opened for D (its incarnation starts now). */
static void image_remember(const struct cfg_device *d, struct storage_dev *s)
{
	struct stat st;

	s->replaced = 0;
	s->dev = s->ino = 0;
	if (!stat(d->image, &st)) {
		s->dev = st.st_dev;
		s->ino = st.st_ino;
	}
}

/*
 * Does D's path name another file than the one QEMU opened (deleted, or replaced by a
 * new file)? Then a size change of the path is not one of QEMU's disk: say so once,
 * and resize nothing.
 */
static int image_replaced(struct vm *vm, const struct cfg_device *d, struct storage_dev *s)
{
	struct stat st;
	int gone = stat(d->image, &st) != 0;

	if (!s->ino || (!gone && st.st_dev == s->dev && st.st_ino == s->ino))
		return 0;
	if (!s->replaced)
		pr_warn("%s: %s: image %s was %s while %s runs: QEMU still uses the file it "
			"opened, so its size is not followed; 'ddvm restart %s' to use %s",
			vm->cfg->name, d->name, d->image,
			gone ? "deleted" : "replaced by another file", vm->cfg->name, vm->cfg->name,
			gone ? "a new one" : "the new file");
	s->replaced = 1;
	return 1;
}

/*
 * After QEMU took a new size: "" where the controller tells the driver VM's Linux
 * (virtio-blk: a config change; virtio-scsi: a parameter-change event), else what the
 * user has to do. The others (IDE/AHCI, the SCSI HBAs, usb-storage) have no way to say
 * it, or Linux does not rescan on it (docs/blk.md, "Capacity changes").
 */
static const char *resize_hint(const struct cfg_device *d, const struct vm *vm, char *buf,
			       size_t len)
{
	if (!strncmp(d->model, "virtio-blk", 10) || !strncmp(d->model, "virtio-scsi", 11))
		return "";
	snprintf(buf, len,
		 "; %s does not pass it on to the driver VM's Linux while it runs: the client "
		 "sees the new size after 'ddvm restart %s'",
		 d->model, vm->cfg->name);
	return buf;
}

/* QEMU answered a block_resize of device number IDX. */
static void resize_reply(struct vm *vm, const char *idx, json_t *reply)
{
	const struct config *cfg = vm->sup->cfg;
	const struct cfg_device *d;
	struct storage_dev *s;
	const char *err = NULL;
	unsigned long j = strtoul(idx, NULL, 10);
	long long old;
	char hint[256];

	if (j >= cfg->nr_devices || cfg->devices[j].vm != vm->cfg)
		return;
	d = &cfg->devices[j];
	s = dev_state(vm->sup, d);
	if (s->resizing < 0)
		return;
	old = s->size;
	s->size = s->resizing; /* refused or not: asked once per size */
	s->resizing = -1;
	if (!json_unpack(reply, "{s:{s:s}}", "error", "desc", &err)) {
		pr_warn("%s: %s: image %s is now %lld bytes (was %lld); QEMU refused to resize "
			"drv-%s (%s): the driver VM sees the new size only after its next restart",
			vm->cfg->name, d->name, d->image, s->size, old, d->name, err);
		return;
	}
	if (old < 0)
		pr_info("%s: %s: image %s is %lld bytes; told QEMU%s", vm->cfg->name, d->name,
			d->image, s->size, resize_hint(d, vm, hint, sizeof(hint)));
	else
		pr_info("%s: %s: image %s %s from %lld to %lld bytes; told QEMU%s", vm->cfg->name,
			d->name, d->image, s->size > old ? "grew" : "shrank", old, s->size,
			resize_hint(d, vm, hint, sizeof(hint)));
}

/* Every STORAGE_SIZE_MS: a raw image whose size differs from QEMU's is resized in QEMU. */
static void size_tick(struct vm *vm, uint64_t now, int *next)
{
	const struct config *cfg = vm->sup->cfg;
	unsigned j;
	int t;

	/* running: QEMU opened the images and (restore) the guest runs its devices */
	if (vm->state != VM_RUNNING || vm->qmp.fd < 0)
		return;
	if (now - vm->storage.size_ms >= STORAGE_SIZE_MS) {
		vm->storage.size_ms = now;
		for (j = 0; j < cfg->nr_devices; j++) {
			const struct cfg_device *d = &cfg->devices[j];
			struct storage_dev *s = &vm->sup->storage[j];
			char id[32], drive[CFG_NAME_MAX + 8];
			long long size;

			if (d->vm != vm->cfg || !size_watched(d) || s->resizing >= 0)
				continue;
			if (image_replaced(vm, d, s))
				continue;
			size = image_size(d);
			if (size < 0 || size == s->size)
				continue;
			snprintf(id, sizeof(id), RESIZE_ID "%u", j);
			snprintf(drive, sizeof(drive), "drv-%s", d->name);
			if (!qmp__command(
				&vm->qmp, "block_resize",
				json_pack("{s:s, s:I}", "device", drive, "size", (json_int_t)size),
				id))
				s->resizing = size;
		}
	}
	t = (int)(vm->storage.size_ms + STORAGE_SIZE_MS - now);
	if (t < *next)
		*next = t;
}

void storage__qmp(struct vm *vm, const char *event, json_t *data, uint64_t now)
{
	const char *id, *err = NULL;

	if (event) {
		if (!strcmp(event, "BLOCK_IO_ERROR"))
			io_error(vm, data, now);
		else if (!strcmp(event, "RESUME"))
			vm->storage.paused = 0;
		return;
	}
	id = data ? json_string_value(json_object_get(data, "id")) : NULL;
	if (!id || strncmp(id, "sto-", 4))
		return;
	if (!strncmp(id, RESIZE_ID, sizeof(RESIZE_ID) - 1)) {
		resize_reply(vm, id + sizeof(RESIZE_ID) - 1, data);
		return;
	}
	if (!json_unpack(data, "{s:{s:s}}", "error", "desc", &err)) {
		pr_warn("%s: QMP %s: %s", vm->cfg->name, id, err);
		vm->storage.stats_pending = 0;
		return;
	}
	if (!strcmp(id, "sto-stats"))
		blockstats(vm, data, now);
}

void storage__vm_started(struct vm *vm)
{
	const struct config *cfg = vm->sup ? vm->sup->cfg : NULL;
	struct stat st;
	unsigned j;

	memset(&vm->storage, 0, sizeof(vm->storage));
	if (vm->spare_of)
		return; /* a spare does no I/O: the devices' state is the active's */
	/* QEMU appends to NAME.qemu.log across incarnations: read only this one's part */
	if (!stat(vm->qemu_log_path, &st))
		vm->storage.log_off = st.st_size;
	for (j = 0; cfg && j < cfg->nr_devices; j++) {
		if (cfg->devices[j].vm != vm->cfg)
			continue;
		memset(vm->sup->storage[j].failed, 0, sizeof(vm->sup->storage[j].failed));
		vm->storage.nvme |= is_nvme(&cfg->devices[j]);
		/* QEMU opens the image at its size now; a guest restored from a snapshot
		 * remembers the size it had then, and is told at the first look */
		vm->sup->storage[j].size =
		    vm->restoring ? vm->sup->storage[j].snap_size : image_size(&cfg->devices[j]);
		vm->sup->storage[j].resizing = -1;
		image_remember(&cfg->devices[j], &vm->sup->storage[j]);
	}
}

void storage__snapshot_taken(struct vm *vm)
{
	const struct config *cfg = vm->sup->cfg;
	unsigned j;

	for (j = 0; j < cfg->nr_devices; j++)
		if (cfg->devices[j].vm == vm->cfg)
			vm->sup->storage[j].snap_size = vm->sup->storage[j].size;
}

static void dev_tick(struct vm *vm, const struct cfg_device *d, uint64_t now, int *next)
{
	struct storage_dev *s = dev_state(vm->sup, d);
	unsigned long long n = s->errors - s->logged;
	char eb[24];
	int t;

	if (!s->spell_ms)
		return;
	if (n && now - s->log_ms >= STORAGE_SUMMARY_MS) {
		pr_warn("%s: %s: %llu more host I/O errors in %.1f s (last: %s %s, %s) on %s",
			vm->cfg->name, d->name, n, (double)(now - s->log_ms) / 1000, s->op,
			storage__errno_name(s->err, eb, sizeof(eb)), s->reason, d->image);
		s->spell_errors += n;
		s->logged = s->errors;
		s->log_ms = now;
		n = 0;
	}
	if (now - s->last_ms >= STORAGE_QUIET_MS) {
		s->spell_errors += n;
		s->logged = s->errors;
		pr_info(
		    "%s: %s: no host I/O error for %u s: %llu failed request%s on %s in %.1f s, "
		    "the last one %s %s",
		    vm->cfg->name, d->name, STORAGE_QUIET_MS / 1000, s->spell_errors,
		    s->spell_errors == 1 ? "" : "s", d->image,
		    (double)(s->last_ms - s->spell_ms) / 1000, s->op,
		    storage__errno_name(s->err, eb, sizeof(eb)));
		s->spell_ms = 0;
		return;
	}
	t = (int)(s->last_ms + STORAGE_QUIET_MS - now);
	if (n && (int)(s->log_ms + STORAGE_SUMMARY_MS - now) < t)
		t = (int)(s->log_ms + STORAGE_SUMMARY_MS - now);
	if (t < *next)
		*next = t;
}

int storage__tick(struct supervisor *sup, uint64_t now)
{
	const struct config *cfg = sup->cfg;
	int next = 1000;
	unsigned i, j;

	space_tick(sup, now, &next);
	if (now - sup->qemu_log_ms >= STORAGE_QEMU_LOG_CAP_MS) {
		sup->qemu_log_ms = now;
		for (i = 0; i < sup->nr_vms; i++)
			vm__qemu_log_cap(&sup->vms[i]);
		for (i = 0; i < sup->nr_spares; i++)
			vm__qemu_log_cap(&sup->spares[i]);
	}
	for (i = 0; i < sup->nr_vms; i++) {
		struct vm *vm = &sup->vms[i];

		if (vm->cfg->role != CFG_DRIVER_VM)
			continue;
		for (j = 0; j < cfg->nr_devices; j++)
			if (cfg->devices[j].vm == vm->cfg && cfg->devices[j].kind == CFG_BLK)
				dev_tick(vm, &cfg->devices[j], now, &next);
		if (!vm__alive(vm))
			continue;
		size_tick(vm, now, &next);
		if (vm->storage.nvme) {
			if (now - vm->storage.log_ms >= STORAGE_LOG_MS)
				read_qemu_log(vm, now);
			if ((int)(vm->storage.log_ms + STORAGE_LOG_MS - now) < next)
				next = (int)(vm->storage.log_ms + STORAGE_LOG_MS - now);
		}
		if (!vm->storage.paused || vm->qmp.fd < 0)
			continue;
		if (now - vm->storage.cont_ms >= STORAGE_CONT_MS) {
			vm->storage.cont_ms = now;
			qmp__command(&vm->qmp, "cont", NULL, "sto-cont");
		}
		if ((int)(vm->storage.cont_ms + STORAGE_CONT_MS - now) < next)
			next = (int)(vm->storage.cont_ms + STORAGE_CONT_MS - now);
	}
	return next < 10 ? 10 : next;
}

size_t storage__describe(struct supervisor *sup, const struct cfg_device *d, char *buf, size_t len,
			 uint64_t now)
{
	const struct storage_dev *s = dev_state(sup, d);
	const struct vm *vm = d->vm ? supervisor__find_vm(sup, d->vm->name) : NULL;
	char eb[24];
	int n;

	if (!s->last_ms || !len)
		return 0;
	n = snprintf(buf, len,
		     "%s: %llu host I/O error%s, the last %.1fs ago: %s %s (%s)%s, "
		     "image %s",
		     d->name, s->errors, s->errors == 1 ? "" : "s",
		     (double)(now - s->last_ms) / 1000, s->op,
		     storage__errno_name(s->err, eb, sizeof(eb)), s->reason,
		     vm && vm->storage.paused ? ", VM paused by QEMU" : "", d->image);
	return n < 0 ? 0 : (size_t)n >= len ? len - 1 : (size_t)n;
}
