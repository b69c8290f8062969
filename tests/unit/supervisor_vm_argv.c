/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * QEMU's command line as the supervisor builds it (vm__build_argv, pure): the parts
 * that decide whether a guest works at all, checked argument by argument.
 *
 * Under TCG a VM that can have only one vCPU must be booted with a second, absent one
 * (-smp 1,maxcpus=2): otherwise TCG compiles the guest's memory barriers to nothing
 * and the nvme driver's shadow doorbells (and our rings' sleep/wake-up) lose wake-ups
 * against QEMU's device threads and the channel's peers (docs/blk.md).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "vm.h"

static const char setup[] = "[ddvm]\n"
			    "kernel = /k\n"
			    "driver_initrd = /d.cpio.gz\n"
			    "client_initrd = /c.cpio.gz\n"
			    "[driver-vm drv]\n"
			    "append = loglevel=7\n"
			    "[device nic0]\n"
			    "vm = drv\n"
			    "kind = net\n"
			    "model = e1000\n"
			    "backend = user\n"
			    "[device nic1]\n"
			    "vm = drv\n"
			    "kind = net\n"
			    "model = e1000\n"
			    "backend = user\n"
			    "[client-vm one]\n"
			    "devices = nic0\n"
			    "[client-vm two]\n"
			    "cpus = 2\n"
			    "devices = nic1\n";

/* The value that follows OPT in A, or NULL. */
static const char *arg_after(const struct vm_argv *a, const char *opt)
{
	unsigned i;

	for (i = 0; i + 1 < a->argc; i++)
		if (!strcmp(a->argv[i], opt))
			return a->argv[i + 1];
	return NULL;
}

static void build(struct config *cfg, const char *name, const char *accel, struct vm_argv *a)
{
	static struct vm vm;
	unsigned i;

	for (i = 0; i < cfg->nr_vms; i++)
		if (!strcmp(cfg->vms[i].name, name))
			break;
	assert_true(i < cfg->nr_vms);
	vm__init(&vm, NULL, &cfg->vms[i], "/run/t");
	assert_int_equal(vm__build_argv(&vm, cfg, accel, "/run/t/channels", a), 0);
	assert_null(a->argv[a->argc]);
}

static struct config *load(void)
{
	struct config *cfg = calloc(1, sizeof(*cfg));

	assert_non_null(cfg);
	if (config__parse_string(cfg, "t.ini", setup))
		fail_msg("setup did not parse: %s", cfg->errors);
	return cfg;
}

/* TCG: one vCPU plus one possible-but-absent vCPU; more vCPUs stay as configured. */
static void test_tcg_keeps_barriers(void **state)
{
	struct config *cfg = load();
	static struct vm_argv a;

	(void)state;
	build(cfg, "drv", "tcg", &a);
	assert_string_equal(arg_after(&a, "-smp"), "1,maxcpus=2");
	assert_string_equal(arg_after(&a, "-accel"), "tcg");
	build(cfg, "one", "tcg", &a);
	assert_string_equal(arg_after(&a, "-smp"), "1,maxcpus=2");
	build(cfg, "two", "tcg", &a);
	assert_string_equal(arg_after(&a, "-smp"), "2");
	free(cfg);
}

/* KVM runs the guest's barriers on the CPU: the configured vCPUs, nothing more. */
static void test_kvm_as_configured(void **state)
{
	struct config *cfg = load();
	static struct vm_argv a;

	(void)state;
	build(cfg, "drv", "kvm", &a);
	assert_string_equal(arg_after(&a, "-smp"), "1");
	assert_string_equal(arg_after(&a, "-cpu"), "host");
	free(cfg);
}

/* The kernel command line: the driver VM panics on an oops, the user's append comes
 * last (so it can override), and no nvme timeout is slipped in behind the user's back
 * (it hid the lost wake-ups above for as long as they were not understood). */
static void test_append(void **state)
{
	struct config *cfg = load();
	static struct vm_argv a;
	const char *ap;

	(void)state;
	build(cfg, "drv", "tcg", &a);
	ap = arg_after(&a, "-append");
	assert_non_null(ap);
	assert_non_null(strstr(ap, "ddvm.vm=drv"));
	assert_non_null(strstr(ap, " oops=panic"));
	assert_null(strstr(ap, "io_timeout"));
	assert_int_equal(strcmp(ap + strlen(ap) - strlen(" loglevel=7"), " loglevel=7"), 0);
	build(cfg, "one", "tcg", &a);
	ap = arg_after(&a, "-append");
	assert_null(strstr(ap, "oops=panic"));
	free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcg_keeps_barriers),
		cmocka_unit_test(test_kvm_as_configured),
		cmocka_unit_test(test_append),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
