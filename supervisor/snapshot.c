/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * restart = snapshot: save a driver VM once after its first boot, restore it instead of
 * booting it again, hot-plug its channels (see snapshot.h for the whole path).
 *
 * Everything here is driven by the supervisor's one loop: commands go out with an id,
 * and their replies and QEMU's MIGRATION events come back through health's QMP
 * callback. Nothing blocks: device_add of an ivshmem-doorbell makes QEMU wait for our
 * ivshmem server, which runs in this same loop.
 */
#include "snapshot.h"
#include "log.h"
#include "spare.h"
#include "supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

void snapshot__init(struct vm *vm, const char *rundir)
{
	vm->ram_fd = -1;
	vm->snap_ram_fd = -1;
	snprintf(vm->snap_path, sizeof(vm->snap_path), "%s/%s.snap", rundir, vm->cfg->name);
	/* a snapshot of an earlier run belongs to other channels and another disk state */
	snapshot__remove(vm);
}

int snapshot__enabled(const struct vm *vm)
{
	return vm->cfg->role == CFG_DRIVER_VM && vm->cfg->restart == CFG_RESTART_SNAPSHOT;
}

void snapshot__remove(struct vm *vm)
{
	char tmp[sizeof(vm->snap_path) + 8];

	if (!vm->snap_path[0])
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", vm->snap_path);
	unlink(vm->snap_path);
	unlink(tmp);
	vm->snap_valid = 0;
	if (vm->snap_ram_fd >= 0)
		close(vm->snap_ram_fd);
	vm->snap_ram_fd = -1;
}

int snapshot__ram_fd(struct vm *vm)
{
	char name[64];

	if (!snapshot__enabled(vm))
		return -ENOENT;
	snapshot__qemu_gone(vm);
	if (vm->restoring)
		return vm->snap_ram_fd;
	snprintf(name, sizeof(name), "ddvm-%s-ram", vm->cfg->name);
	vm->ram_fd = memfd_create(name, MFD_CLOEXEC);
	return vm->ram_fd < 0 ? -errno : vm->ram_fd;
}

void snapshot__qemu_gone(struct vm *vm)
{
	if (vm->ram_fd >= 0)
		close(vm->ram_fd);
	vm->ram_fd = -1;
}

/*
 * The guest's RAM as it is now (the guest is stopped), into a new memfd, sealed: no
 * one writes it again, restores map it private. Only the data: the holes of a RAM
 * the guest never touched stay holes. Blocks the loop for the copy (~100 MiB, once).
 */
static int copy_ram(struct vm *vm, uint64_t *copied)
{
	char name[64];
	off_t data, hole, end;
	int fd, err = 0;

	*copied = 0;
	snprintf(name, sizeof(name), "ddvm-%s-snapshot-ram", vm->cfg->name);
	fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	end = lseek(vm->ram_fd, 0, SEEK_END);
	if (end < 0 || ftruncate(fd, end) < 0)
		err = -errno;
	for (data = 0; !err && data < end; data = hole) {
		data = lseek(vm->ram_fd, data, SEEK_DATA);
		if (data < 0) {
			err = errno == ENXIO ? 0 : -errno; /* ENXIO: only a hole is left */
			break;
		}
		hole = lseek(vm->ram_fd, data, SEEK_HOLE);
		if (hole < 0) {
			err = -errno;
			break;
		}
		for (off_t in = data, out = data; !err && in < hole;) {
			ssize_t n = copy_file_range(vm->ram_fd, &in, fd, &out, hole - in, 0);

			if (n <= 0)
				err = n < 0 ? -errno : -EIO;
			else
				*copied += (uint64_t)n;
		}
	}
	if (!err &&
	    fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL))
		err = -errno;
	if (err) {
		close(fd);
		return err;
	}
	if (vm->snap_ram_fd >= 0)
		close(vm->snap_ram_fd);
	vm->snap_ram_fd = fd;
	return 0;
}

void snapshot__prepare_start(struct vm *vm)
{
	vm->restoring = snapshot__enabled(vm) && vm->snap_valid && !vm->snap_disabled &&
			vm->snap_ram_fd >= 0 && access(vm->snap_path, R_OK) == 0;
	vm->snap_phase = SNAP_IDLE;
	vm->snap_ready_pending = 0;
	vm->snap_plugs = 0;
	vm->snap_restored_ms = 0;
	if (vm->restoring && !vm->spare_of)
		pr_info("%s: restoring from snapshot %s", vm->cfg->name, vm->snap_path);
}

static void phase(struct vm *vm, enum snap_phase p, uint64_t now)
{
	vm->snap_phase = p;
	vm->snap_phase_ms = now;
}

static void cmd(struct vm *vm, const char *name, json_t *args, const char *id)
{
	int ret = qmp__command(&vm->qmp, name, args, id);

	if (ret)
		pr_warn("%s: QMP %s: %s", vm->cfg->name, name, strerror(-ret));
}

static void caps(struct vm *vm)
{
	/* events: MIGRATION status changes; x-ignore-shared: the RAM (shared memfd on the
	 * saving side) stays out of the stream, which carries the devices' state only */
	cmd(vm, "migrate-set-capabilities",
	    json_pack("{s:[{s:s, s:b}, {s:s, s:b}]}", "capabilities", "capability", "events",
		      "state", 1, "capability", "x-ignore-shared", "state", 1),
	    NULL);
}

/* The shell runs our URI: only paths that need no quoting beyond '...'. */
static int quotable(const char *path)
{
	return !strchr(path, '\'');
}

/* chardev-add + device_add per channel the VM serves; the replies count down snap_plugs. */
static void plug_channels(struct vm *vm, uint64_t now)
{
	struct supervisor *sup = vm->sup;
	unsigned i;

	phase(vm, SNAP_PLUGGING, now);
	vm->snap_plugs = 0;
	for (i = 0; i < sup->cfg->nr_channels; i++) {
		const struct channel *ch = &sup->channels[i];
		unsigned k = ch->cfg ? ch->cfg->index_in_driver : 0;
		char id[32], bus[32], path[CFG_PATH_MAX + 64];

		if (!supervisor__vm_serves(vm, ch))
			continue;
		snprintf(id, sizeof(id), "ch%u", k);
		snprintf(bus, sizeof(bus), "rp%u", k);
		/* a spare's devices connect as the spare: a peer id the header never names */
		snprintf(path, sizeof(path), "%s/%s.%s.sock", sup->chan_dir, ch->cfg->name,
			 vm->spare_of ? "spare" : "driver");
		cmd(vm, "chardev-add",
		    json_pack("{s:s, s:{s:s, s:{s:{s:s, s:{s:s}}, s:b}}}", "id", id, "backend",
			      "type", "socket", "data", "addr", "type", "unix", "data", "path",
			      path, "server", 0),
		    "snap-chardev");
		cmd(vm, "device_add",
		    json_pack("{s:s, s:s, s:s, s:I, s:s}", "driver", "ivshmem-doorbell", "id", id,
			      "chardev", id, "vectors",
			      (json_int_t)DDVM_VECTOR_QUEUE(ch->cfg->dev->queues), "bus", bus),
		    "snap-plug");
		vm->snap_plugs++;
	}
	if (!vm->snap_plugs)
		snapshot__qmp(vm, NULL, NULL, now); /* nothing to plug: done */
}

static void plugged(struct vm *vm, uint64_t now)
{
	phase(vm, SNAP_DONE, now);
	if (vm->spare_of) {
		spare__plugged(vm, now); /* not running: on standby, to be paused */
		return;
	}
	vm->ready_ms = now;
	if (vm->restoring)
		pr_info("%s: running %llu ms after QEMU started: snapshot restored in %llu ms, "
			"channels plugged in %llu ms",
			vm->cfg->name, (unsigned long long)(now - vm->started_ms),
			(unsigned long long)(vm->snap_restored_ms - vm->started_ms),
			(unsigned long long)(now - vm->snap_restored_ms));
	else
		pr_info("%s: channels plugged; running %.1f s after QEMU started", vm->cfg->name,
			(double)(now - vm->started_ms) / 1000);
	vm__event(vm, VM_EV_READY);
}

static void take_snapshot(struct vm *vm, uint64_t now)
{
	char uri[3 * sizeof(vm->snap_path) + 64];

	if (!quotable(vm->snap_path)) {
		pr_warn("%s: run dir path has a quote; no snapshot (cold restarts)", vm->cfg->name);
		vm->snap_disabled = 1;
		plug_channels(vm, now);
		return;
	}
	/* cat writes a temporary file; the name appears only once it is complete */
	snprintf(uri, sizeof(uri), "exec:cat > '%s.tmp' && mv '%s.tmp' '%s'", vm->snap_path,
		 vm->snap_path, vm->snap_path);
	phase(vm, SNAP_SAVING, now);
	caps(vm);
	/* a stopped guest: one pass over its RAM, no dirty-page rounds, no speed limit */
	cmd(vm, "migrate-set-parameters", json_pack("{s:I}", "max-bandwidth", (json_int_t)1 << 40),
	    NULL);
	cmd(vm, "stop", NULL, NULL);
	cmd(vm, "migrate", json_pack("{s:s}", "uri", uri), "snap-migrate");
}

void snapshot__ready_line(struct vm *vm, uint64_t now)
{
	if (vm->snap_phase != SNAP_IDLE)
		return;
	if (vm->qmp.fd < 0) {
		vm->snap_ready_pending = 1; /* QMP connects within ms; go on then */
		return;
	}
	pr_info("%s: %sready after %.1f s (cold boot)", vm->cfg->name,
		vm->spare_of ? "spare: " : "", (double)(now - vm->started_ms) / 1000);
	if (vm->snap_valid || vm->snap_disabled)
		plug_channels(vm, now);
	else
		take_snapshot(vm, now);
}

void snapshot__qmp_connected(struct vm *vm, uint64_t now)
{
	char uri[sizeof(vm->snap_path) + 32];

	if (!snapshot__enabled(vm))
		return;
	if (vm->restoring && vm->snap_phase == SNAP_IDLE) {
		snprintf(uri, sizeof(uri), "exec:cat '%s'", vm->snap_path);
		phase(vm, SNAP_LOADING, now);
		caps(vm);
		cmd(vm, "migrate-incoming", json_pack("{s:s}", "uri", uri), "snap-incoming");
	} else if (vm->snap_ready_pending) {
		vm->snap_ready_pending = 0;
		snapshot__ready_line(vm, now);
	}
}

/* Saving failed (a device QEMU cannot migrate, the file system): run on without one. */
static void save_failed(struct vm *vm, const char *why, uint64_t now)
{
	pr_warn("%s: cannot take a snapshot (%s); restarts will be cold boots", vm->cfg->name, why);
	vm->snap_disabled = 1;
	snapshot__remove(vm);
	cmd(vm, "cont", NULL, "snap-cont"); /* its reply plugs the channels */
}

static void migration_status(struct vm *vm, const char *status, uint64_t now)
{
	if (vm->snap_phase == SNAP_SAVING && !strcmp(status, "completed")) {
		uint64_t saved = now, copied;
		int err = copy_ram(vm, &copied);

		if (err) {
			save_failed(vm, strerror(-err), now);
			return;
		}
		now = now_ms();
		snapshot__qemu_gone(vm); /* QEMU keeps its mapping; we need no fd to it */
		vm->snap_valid = 1;
		storage__snapshot_taken(vm);
		spare__snapshot_taken(vm);
		pr_info(
		    "%s: %ssnapshot taken in %llu ms (devices %llu ms, %llu MiB of RAM copied in "
		    "%llu ms): restarts restore it",
		    vm->cfg->name, vm->spare_of ? "spare: " : "",
		    (unsigned long long)(now - vm->snap_phase_ms),
		    (unsigned long long)(saved - vm->snap_phase_ms),
		    (unsigned long long)(copied >> 20), (unsigned long long)(now - saved));
		/* an upgrade's spare is not resumed: it is restored from what it saved */
		if (spare__snapshot_saved(vm, now))
			return;
		/* QEMU sends "completed" before it switches to postmigrate; a cont that came
		 * in between would be overridden. Ask until it is there. */
		cmd(vm, "query-status", NULL, "snap-status");
	} else if (vm->snap_phase == SNAP_SAVING && !strcmp(status, "failed")) {
		save_failed(vm, "migration failed", now);
	} else if (vm->snap_phase == SNAP_LOADING && !strcmp(status, "completed")) {
		/* The guest was stopped when it was saved, so QEMU keeps it paused. Plug the
		 * channels while it is, then resume it (QMP runs commands in order): the
		 * guest wakes up with every channel's hot-plug event pending and handles
		 * them in one pass, instead of meeting them one by one while it runs. */
		vm->snap_restored_ms = now;
		plug_channels(vm, now);
		cmd(vm, "cont", NULL, "snap-rcont");
	}
	/* LOADING + failed: QEMU exits; snapshot__restore_failed takes it from there */
}

static void reply(struct vm *vm, json_t *msg, uint64_t now)
{
	const char *id = json_string_value(json_object_get(msg, "id"));
	const char *err = NULL;
	char why[300];

	if (!id)
		return;
	json_unpack(msg, "{s:{s:s}}", "error", "desc", &err);
	if (!strcmp(id, "snap-status") && vm->snap_phase == SNAP_SAVING) {
		const char *st = "?";

		json_unpack(msg, "{s:{s:s}}", "return", "status", &st);
		if (!strcmp(st, "postmigrate"))
			cmd(vm, "cont", NULL, "snap-cont");
		else
			cmd(vm, "query-status", NULL, "snap-status");
	} else if (!strcmp(id, "snap-cont") && vm->snap_phase == SNAP_SAVING) {
		if (err) {
			snprintf(why, sizeof(why), "cannot resume after the snapshot: %s", err);
			health__fail(vm, why, now);
		} else {
			plug_channels(vm, now);
		}
	} else if (!strcmp(id, "snap-migrate") && err && vm->snap_phase == SNAP_SAVING) {
		save_failed(vm, err, now);
	} else if ((!strcmp(id, "snap-chardev") || !strcmp(id, "snap-plug")) && err &&
		   vm->snap_phase == SNAP_PLUGGING) {
		snprintf(why, sizeof(why), "hot-plug of a channel failed: %s", err);
		health__fail(vm, why, now);
	} else if (!strcmp(id, "snap-plug") && vm->snap_phase == SNAP_PLUGGING && vm->snap_plugs &&
		   --vm->snap_plugs == 0) {
		plugged(vm, now);
	} else if (!strcmp(id, "snap-rcont") && err) {
		snprintf(why, sizeof(why), "cannot resume the restored VM: %s", err);
		health__fail(vm, why, now);
	} else if (!strcmp(id, "snap-incoming") && err) {
		pr_warn("%s: migrate-incoming: %s", vm->cfg->name, err);
	}
}

void snapshot__qmp(struct vm *vm, const char *event, json_t *data, uint64_t now)
{
	const char *status;

	if (!snapshot__enabled(vm))
		return;
	if (!event && !data) {
		if (vm->snap_phase == SNAP_PLUGGING && !vm->snap_plugs)
			plugged(vm, now);
	} else if (!event) {
		reply(vm, data, now);
	} else if (!strcmp(event, "MIGRATION") && !json_unpack(data, "{s:s}", "status", &status)) {
		migration_status(vm, status, now);
	}
}

int snapshot__restore_failed(struct vm *vm, const char *why, uint64_t now)
{
	if (!vm->restoring || vm->snap_phase == SNAP_DONE)
		return 0;
	vm->snap_restore_failures++;
	pr_err("%s: restore from snapshot failed after %llu ms (%s); cold boot instead",
	       vm->cfg->name, (unsigned long long)(now - vm->started_ms), why);
	snapshot__remove(vm);
	if (vm->snap_restore_failures >= 2) {
		pr_warn("%s: restores failed %u times; no more snapshots", vm->cfg->name,
			vm->snap_restore_failures);
		vm->snap_disabled = 1;
	}
	vm->restoring = 0;
	return 1;
}
