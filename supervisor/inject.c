/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fault injection: `ddvm inject VM KIND [DEVICE] [ARG]`.
 *
 * From outside the guest (the supervisor does it itself):
 *   kill       SIGKILL the VM's QEMU (the whole driver VM vanishes)
 *   stop       QMP "stop": every vCPU freezes (a hang seen only through the heartbeat)
 * Inside the guest, into the unmodified driver of DEVICE (default: the VM's first
 * device), through the helper module ddvm_faultinj.ko that the driver VM's run script
 * loads; the supervisor types one line into the guest's console shell:
 *   panic oops hang softirq wqhang codeflip datacorrupt garbage
 * (driver-vm/faultinj/ddvm_faultinj.c says what each does; ARG is its count or symbol).
 *
 * The time of the injection is remembered, so the failure log line says how long
 * detection took and the "service restored" line closes the trial.
 */
#include "log.h"
#include "supervisor.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static const char *const guest_kinds[] = { "panic",	  "oops",    "hang",
					   "softirq",	  "wqhang",  "codeflip",
					   "datacorrupt", "garbage", NULL };

static int is_guest_kind(const char *k)
{
	unsigned i;

	for (i = 0; guest_kinds[i]; i++)
		if (!strcmp(k, guest_kinds[i]))
			return 1;
	return 0;
}

/* PCI address (in the driver VM) of DEVICE, or of its first channel for "garbage". */
static int inject_bdf(struct supervisor *sup, struct vm *vm, const char *kind, const char *devname,
		      char *bdf, size_t len)
{
	const struct config *cfg = sup->cfg;
	const struct cfg_device *dev = NULL;
	unsigned i;

	for (i = 0; i < cfg->nr_devices && !dev; i++)
		if (cfg->devices[i].vm == vm->cfg &&
		    (!devname || !strcmp(cfg->devices[i].name, devname)))
			dev = &cfg->devices[i];
	if (!dev)
		return -ENODEV;
	if (strcmp(kind, "garbage")) {
		snprintf(bdf, len, "0000:00:%02x.0", dev->pci_slot);
		return 0;
	}
	/* A hot-plugged channel (restart = snapshot) sits alone on the secondary bus of
	 * root port rpN, the only bridges of the VM, which the firmware numbers in slot
	 * order: bus N+1. ddvm_faultinj refuses a BDF that is not an ivshmem device. */
	for (i = 0; i < cfg->nr_channels; i++)
		if (cfg->channels[i].dev == dev) {
			unsigned n = cfg->channels[i].index_in_driver;

			if (vm->cfg->restart == CFG_RESTART_SNAPSHOT)
				snprintf(bdf, len, "0000:%02x:00.0", n + 1);
			else
				snprintf(bdf, len, "0000:00:%02x.0", 0x10 + n);
			return 0;
		}
	return -ENODEV;
}

int inject__run(struct supervisor *sup, char *args, char *err, size_t len)
{
	char *save = NULL, *name, *kind, *dev, *arg, bdf[16], line[160];
	struct vm *vm;
	int ret;

	name = strtok_r(args, " ", &save);
	kind = strtok_r(NULL, " ", &save);
	dev = strtok_r(NULL, " ", &save);
	arg = strtok_r(NULL, " ", &save);
	vm = name ? supervisor__find_vm(sup, name) : NULL;
	if (!vm) {
		snprintf(err, len, "no VM named '%s'", name ? name : "");
		return -ENOENT;
	}
	if (!kind) {
		snprintf(err, len,
			 "which fault? kill, stop, panic, oops, hang, softirq, wqhang, "
			 "codeflip, datacorrupt, garbage");
		return -EINVAL;
	}
	if (vm->state != VM_RUNNING || !vm__alive(vm)) {
		snprintf(err, len, "%s is not running (state %s)", name, vm_state_name(vm->state));
		return -EAGAIN;
	}
	/* A device named "-" means the default; an ARG may follow it. */
	if (dev && !strcmp(dev, "-"))
		dev = NULL;
	if (!strcmp(kind, "kill")) {
		ret = 0;
	} else if (!strcmp(kind, "stop")) {
		ret = qmp__execute(&vm->qmp, "stop");
		if (ret) {
			snprintf(err, len, "QMP stop: %s", strerror(-ret));
			return ret;
		}
	} else if (is_guest_kind(kind)) {
		ret = inject_bdf(sup, vm, kind, dev, bdf, sizeof(bdf));
		if (ret) {
			snprintf(err, len, "%s has no device %s%s", name, dev ? dev : "",
				 dev ? "" : "(any)");
			return ret;
		}
		/* One line for the guest's console shell; ARG is a number or a symbol. */
		if (arg && strspn(arg, "abcdefghijklmnopqrstuvwxyz0123456789_x") != strlen(arg)) {
			snprintf(err, len, "ARG must be a number or a symbol name");
			return -EINVAL;
		}
		snprintf(line, sizeof(line),
			 "\necho '%s %s %s' > /sys/module/ddvm_faultinj/parameters/inject\n", kind,
			 bdf, arg ? arg : "");
		vm__console_write(vm, line, strlen(line));
	} else {
		size_t n = (size_t)snprintf(err, len, "unknown fault '%s'; known: kill stop", kind);
		unsigned i;

		for (i = 0; guest_kinds[i] && n < len; i++)
			n += (size_t)snprintf(err + n, len - n, " %s", guest_kinds[i]);
		return -EINVAL;
	}
	vm->inject_ms = now_ms();
	snprintf(vm->inject_kind, sizeof(vm->inject_kind), "%s", kind);
	pr_info("%s: inject %s%s%s%s%s", name, kind, dev ? " " : "", dev ? dev : "", arg ? " " : "",
		arg ? arg : "");
	if (!strcmp(kind, "kill"))
		vm__signal(vm, SIGKILL);
	return 0;
}
