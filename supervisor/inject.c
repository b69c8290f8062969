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
 *
 * A fault typed into the guest is answered only once the guest said what became of it
 * (the command waits; inject__console_line): the shell prints "ddvm-inject N:
 * no-module" when ddvm_faultinj is not loaded (nothing injected: an error, not a
 * silent OK), the module prints "DDVM-FAULTINJ inject ..." when it took the write and
 * "DDVM-FAULTINJ done KIND err=E" when it returns (E < 0: it refused; nothing
 * injected). A fault that never returns (panic, hang) is answered OK
 * INJECT_RETURN_MS after the module took it, or when the VM goes down; a shell that
 * says nothing within INJECT_ANSWER_MS is an error.
 */
#include "log.h"
#include "supervisor.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INJECT_ANSWER_MS 10000 /* typed -> the shell or the module said something */
#define INJECT_RETURN_MS 2000  /* the module took it -> it returned (or never will) */

#define FAULTINJ_PARAM "/sys/module/ddvm_faultinj/parameters/inject"

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

int inject__known_kind(const char *kind)
{
	return !strcmp(kind, "kill") || !strcmp(kind, "stop") || is_guest_kind(kind);
}

const char *inject__kinds(void)
{
	static char buf[160];
	size_t n;
	unsigned i;

	if (!buf[0]) {
		n = (size_t)snprintf(buf, sizeof(buf), "kill stop");
		for (i = 0; guest_kinds[i] && n < sizeof(buf); i++)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, " %s", guest_kinds[i]);
	}
	return buf;
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

/* Stop waiting for VM's answer: tell whoever asked (if still there) OK or ERR WHY. */
static void inject_answer(struct vm *vm, const char *why)
{
	struct control_conn *c = vm->inject_conn;

	vm->inject_wait = INJECT_IDLE;
	vm->inject_conn = NULL;
	if (why && vm->inject_ms) {
		/* nothing was injected: no failure to time against it */
		pr_warn("%s: inject %s: %s", vm->cfg->name, vm->inject_kind, why);
		vm->inject_ms = 0;
	}
	if (!c)
		return;
	c->inject = NULL;
	if (why)
		control__answer(vm->sup, c, "ERR %s\n", why);
	else
		control__answer(vm->sup, c, "OK\n");
}

void inject__forget(struct control_conn *c)
{
	if (c->inject)
		c->inject->inject_conn = NULL;
	c->inject = NULL;
}

void inject__console_line(struct vm *vm, const char *line, uint64_t now)
{
	char tag[48], why[512];
	const char *p;
	int err;

	if (vm->inject_wait == INJECT_IDLE)
		return;
	snprintf(tag, sizeof(tag), "ddvm-inject %u: no-module", vm->inject_seq);
	if (strstr(line, tag)) {
		snprintf(
		    why, sizeof(why),
		    "%s has not loaded ddvm_faultinj, so nothing was injected: add 'append = "
		    "ddvm.load=ddvm_faultinj' to [driver-vm %s] (the driver image carries it), "
		    "then 'ddvm down' and 'ddvm up' (a restart keeps the setup loaded at up), "
		    "or modprobe it in its run script; 'ddvm inject %s kill' and 'stop' need "
		    "nothing in the guest",
		    vm->cfg->name, vm->cfg->name, vm->cfg->name);
		inject_answer(vm, why);
	} else if (strstr(line, "DDVM-FAULTINJ inject ")) {
		vm->inject_wait = INJECT_WRITING;
		vm->inject_deadline_ms = now + INJECT_RETURN_MS;
	} else if ((p = strstr(line, "DDVM-FAULTINJ done ")) && (p = strstr(p, " err="))) {
		err = atoi(p + 5);
		if (err < 0) {
			snprintf(
			    why, sizeof(why),
			    "ddvm_faultinj in %s refused %s: %s, so nothing was injected (%s's "
			    "console says more)",
			    vm->cfg->name, vm->inject_kind, strerror(-err), vm->cfg->name);
			inject_answer(vm, why);
		} else {
			inject_answer(vm, NULL);
		}
	}
}

int inject__tick(struct vm *vm, uint64_t now)
{
	char why[256];

	if (vm->inject_wait == INJECT_IDLE)
		return 1000;
	/* A failure detected since the injection (health.c cleared inject_ms, having timed
	 * the detection against it) answers it: the fault took the VM down, perhaps before
	 * its console lines were read, and a warm spare may serve again already. */
	if (!vm->inject_ms ||
	    (vm->inject_wait == INJECT_WRITING &&
	     (now >= vm->inject_deadline_ms || !vm__alive(vm) || vm->state != VM_RUNNING))) {
		/* taken and never returned (panic, hang), or it took the VM down (failed) */
		inject_answer(vm, NULL);
		return 1000;
	}
	if (!vm__alive(vm) || vm->state != VM_RUNNING) {
		snprintf(why, sizeof(why),
			 "%s went down before its console said whether it took the fault",
			 vm->cfg->name);
		inject_answer(vm, why);
		return 1000;
	}
	if (now >= vm->inject_deadline_ms) {
		snprintf(why, sizeof(why),
			 "no answer on %s's console within %u ms: is a shell on it (the examples' "
			 "run scripts leave one), and is the guest alive?",
			 vm->cfg->name, INJECT_ANSWER_MS);
		inject_answer(vm, why);
		return 1000;
	}
	return (int)(vm->inject_deadline_ms - now);
}

int inject__run(struct supervisor *sup, struct control_conn *c, char *args, char *err, size_t len)
{
	char *save = NULL, *name, *kind, *dev, *arg, bdf[16], line[384];
	struct vm *vm;
	int ret;

	name = strtok_r(args, " ", &save);
	kind = strtok_r(NULL, " ", &save);
	dev = strtok_r(NULL, " ", &save);
	arg = strtok_r(NULL, " ", &save);
	vm = name ? supervisor__find_vm(sup, name) : NULL;
	if (!vm) {
		control__why_no_vm(sup, name ? name : "", err, len);
		return -ENOENT;
	}
	if (!kind) {
		snprintf(err, len,
			 "which fault? kill, stop, panic, oops, hang, softirq, wqhang, "
			 "codeflip, datacorrupt, garbage");
		return -EINVAL;
	}
	if (!inject__known_kind(kind)) { /* said before whether it could run now */
		snprintf(err, len, "unknown fault '%s'; known: %s", kind, inject__kinds());
		return -EINVAL;
	}
	if (vm->state != VM_RUNNING || !vm__alive(vm)) {
		snprintf(err, len, "%s is not running (state %s)", name, vm_state_name(vm->state));
		return -EAGAIN;
	}
	if (vm->inject_wait != INJECT_IDLE) {
		snprintf(err, len, "%s has not answered the last injection yet; try again", name);
		return -EBUSY;
	}
	/* A device named "-" means the default; an ARG may follow it. */
	if (dev && !strcmp(dev, "-"))
		dev = NULL;
	if ((!strcmp(kind, "kill") || !strcmp(kind, "stop")) && (dev || arg)) {
		/* said, not ignored: a user who named a device meant something else */
		snprintf(err, len,
			 "%s takes no device or argument: it %s %s's QEMU as a whole; a fault "
			 "in one device's driver is a guest kind (panic, oops, hang, ...)",
			 kind, !strcmp(kind, "kill") ? "kills" : "pauses", name);
		return -EINVAL;
	}
	if (!strcmp(kind, "kill")) {
		ret = 0;
	} else if (!strcmp(kind, "stop")) {
		ret = qmp__execute(&vm->qmp, "stop");
		if (ret) {
			snprintf(err, len, "QMP stop: %s", strerror(-ret));
			return ret;
		}
	} else if (is_guest_kind(kind) && vm->cfg->role != CFG_DRIVER_VM) {
		snprintf(err, len,
			 "%s is a %s: '%s' goes into the driver of a driver VM's device; a %s "
			 "takes kill and stop",
			 name, cfg_role_name(vm->cfg->role), kind, cfg_role_name(vm->cfg->role));
		return -EINVAL;
	} else if (is_guest_kind(kind)) {
		ret = inject_bdf(sup, vm, kind, dev, bdf, sizeof(bdf));
		if (ret) {
			if (dev)
				snprintf(err, len,
					 "%s has no device '%s' (its devices: 'ddvm status')", name,
					 dev);
			else
				snprintf(err, len, "%s has no device to inject '%s' into", name,
					 kind);
			return ret;
		}
		/* One line for the guest's console shell; ARG is a number or a symbol. */
		if (arg && strspn(arg, "abcdefghijklmnopqrstuvwxyz0123456789_x") != strlen(arg)) {
			snprintf(err, len, "ARG must be a number or a symbol name");
			return -EINVAL;
		}
		/* The answer's tag is printed, not typed (printf's %s), so the terminal's
		 * echo of this line does not look like the answer. */
		vm->inject_seq++;
		snprintf(line, sizeof(line),
			 "\nif [ -w %s ]; then echo '%s %s %s' > %s; else printf 'ddvm-%%s %%u: "
			 "%%s\\n' inject %u no-module; fi\n",
			 FAULTINJ_PARAM, kind, bdf, arg ? arg : "", FAULTINJ_PARAM, vm->inject_seq);
		vm__console_write(vm, line, strlen(line));
		vm->inject_wait = INJECT_TYPED;
		vm->inject_deadline_ms = now_ms() + INJECT_ANSWER_MS;
		vm->inject_conn = c;
		c->inject = vm;
	} else {
		snprintf(err, len, "unknown fault '%s'; known: %s", kind, inject__kinds());
		return -EINVAL;
	}
	vm->inject_ms = now_ms();
	snprintf(vm->inject_kind, sizeof(vm->inject_kind), "%s", kind);
	pr_info("%s: inject %s%s%s%s%s", name, kind, dev ? " " : "", dev ? dev : "", arg ? " " : "",
		arg ? arg : "");
	if (!strcmp(kind, "kill")) {
		/* answered once the failure is detected (the reap, a few ms), so that a
		 * `ddvm status` right after it no longer shows the QEMU it killed */
		vm__signal(vm, SIGKILL);
		vm->inject_wait = INJECT_WRITING;
		vm->inject_deadline_ms = vm->inject_ms + INJECT_RETURN_MS;
		vm->inject_conn = c;
		c->inject = vm;
	}
	return vm->inject_wait != INJECT_IDLE; /* 1: answered later (inject__tick and above) */
}
