/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Ending a failed (or restarted) VM's QEMU without losing what its disks acknowledged.
 *
 * SIGKILL is the rule: nothing of a failed driver VM is worth a graceful shutdown, and
 * a raw image loses nothing by it (once QEMU completed a write, the data is in the
 * host's page cache). A qcow2 image is different: QEMU's qcow2 driver keeps the
 * metadata of newly allocated clusters (L2 tables, refcount blocks) in its own memory
 * until a flush, so a QEMU killed without one loses the data of every write that
 * allocated a cluster since. In a driver VM those are writes acknowledged to a client
 * that goes on running, unaware: its next flush cannot bring them back
 * (tests/vm/test_blk_qcow2_restart.sh showed it: zeros where the client had written).
 *
 * So a VM with a qcow2 disk gets QMP `stop` first, which drains and flushes every disk
 * before it answers (QEMU's do_vm_stop: bdrv_drain_all, bdrv_flush_all — the qcow2
 * caches to the file, then fdatasync), and the SIGKILL follows its answer, or
 * VM_KILL_FLUSH_WAIT_MS without one (a QEMU too broken to answer: said in the log).
 * What is left: a QEMU that dies by itself (a crash, the OOM killer, `ddvm inject
 * kill`) takes the qcow2 metadata it had not written with it (docs/blk.md).
 */
#include "log.h"
#include "supervisor.h"

#include <signal.h>
#include <string.h>

#define KILL_ID "kill-flush-stop"

/* Does QEMU hold unwritten state of one of this VM's disks between flushes? */
static int vm_caches_disk_metadata(const struct vm *vm)
{
	const struct config *cfg = vm->sup->cfg;
	unsigned i;

	for (i = 0; i < cfg->nr_devices; i++) {
		const struct cfg_device *d = &cfg->devices[i];

		if (d->vm == vm->cfg && cfg_device_qcow2(d))
			return 1;
	}
	return 0;
}

void vm__kill(struct vm *vm, uint64_t now)
{
	if (vm->kill_at_ms)
		return; /* its stop is out already */
	if (vm_caches_disk_metadata(vm) && vm->qmp.fd >= 0 &&
	    qmp__command(&vm->qmp, "stop", NULL, KILL_ID) == 0) {
		vm->kill_stop_ms = now;
		vm->kill_at_ms = now + VM_KILL_FLUSH_WAIT_MS;
		return;
	}
	/* before its ready line no client has written through it: nothing to say */
	if (vm_caches_disk_metadata(vm) && vm->ready_ms)
		pr_warn("%s: no QMP connection to flush its qcow2 disks: killed without a flush "
			"(writes its clients did not flush may be lost)",
			vm->cfg->name);
	vm__signal(vm, SIGKILL);
}

void vm__kill_qmp(struct vm *vm, const char *event, json_t *data, uint64_t now)
{
	const char *id, *err = NULL;

	if (event || !data || !vm->kill_at_ms)
		return;
	id = json_string_value(json_object_get(data, "id"));
	if (!id || strcmp(id, KILL_ID))
		return;
	json_unpack(data, "{s:{s:s}}", "error", "desc", &err);
	if (err)
		pr_warn("%s: QMP stop failed (%s): killed without a flush of its qcow2 disks "
			"(writes its clients did not flush may be lost)",
			vm->cfg->name, err);
	else
		pr_info("%s: disks flushed (QMP stop answered in %llu ms); killing it",
			vm->cfg->name, (unsigned long long)(now - vm->kill_stop_ms));
	vm->kill_at_ms = 0;
	vm__signal(vm, SIGKILL);
}

int vm__kill_tick(struct vm *vm, uint64_t now)
{
	if (!vm->kill_at_ms)
		return 1000;
	if (now < vm->kill_at_ms)
		return (int)(vm->kill_at_ms - now);
	pr_warn("%s: QMP stop not answered within %u ms: killed without a flush of its qcow2 "
		"disks (writes its clients did not flush may be lost)",
		vm->cfg->name, VM_KILL_FLUSH_WAIT_MS);
	vm->kill_at_ms = 0;
	vm__signal(vm, SIGKILL);
	return 1000;
}
