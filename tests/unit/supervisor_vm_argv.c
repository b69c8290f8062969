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
#include <unistd.h>

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

/* The Nth value of OPT in A (0 = the first), or NULL. */
static const char *nth_arg_after(const struct vm_argv *a, const char *opt, unsigned nth)
{
	unsigned i;

	for (i = 0; i + 1 < a->argc; i++)
		if (!strcmp(a->argv[i], opt) && nth-- == 0)
			return a->argv[i + 1];
	return NULL;
}

/* Disks: a host file that is full or failing fails the request in the guest instead of
 * pausing the driver VM (QEMU's default werror=enospc); the guest's discards, and
 * written zeroes, free space in the image; discard = off takes the claim away too. */
static void test_drive_options(void **state)
{
	char img[] = "/tmp/ddvm-argv-img.XXXXXX", text[1024];
	struct config *cfg = calloc(1, sizeof(*cfg));
	static struct vm_argv a;
	const char *drv;
	int fd;

	(void)state;
	fd = mkstemp(img);
	assert_true(fd >= 0);
	close(fd);
	snprintf(text, sizeof(text),
		 "[ddvm]\nkernel = /k\ndriver_initrd = /d\nclient_initrd = /c\n"
		 "[driver-vm drv]\n"
		 "[device d0]\nvm = drv\nkind = blk\nmodel = nvme\nimage = %s\n"
		 "[device d1]\nvm = drv\nkind = blk\nimage = %s\ndiscard = off\n"
		 "[device d2]\nvm = drv\nkind = blk\nimage = %s\nrerror = ignore\n"
		 "detect_zeroes = on\n"
		 "[client-vm c]\ndevices = d0 d1 d2\n", img, img, img);
	if (config__parse_string(cfg, "t.ini", text))
		fail_msg("setup did not parse: %s", cfg->errors);
	build(cfg, "drv", "tcg", &a);
	unlink(img);

	drv = nth_arg_after(&a, "-drive", 0);
	assert_non_null(drv);
	assert_non_null(strstr(drv, "id=drv-d0,"));
	assert_non_null(strstr(drv, ",werror=report,rerror=report,discard=unmap,"
				    "detect-zeroes=unmap"));
	assert_string_equal(nth_arg_after(&a, "-device", 1),
			    "nvme,drive=drv-d0,serial=ddvm-d0,addr=0x4");
	drv = nth_arg_after(&a, "-drive", 1);
	assert_non_null(strstr(drv, ",werror=report,rerror=report,discard=ignore,"
				    "detect-zeroes=off"));
	assert_string_equal(nth_arg_after(&a, "-device", 2),
			    "virtio-blk-pci,drive=drv-d1,addr=0x5,discard=off");
	drv = nth_arg_after(&a, "-drive", 2);
	assert_non_null(strstr(drv, ",werror=report,rerror=ignore,discard=unmap,"
				    "detect-zeroes=on"));
	assert_string_equal(nth_arg_after(&a, "-device", 3), "virtio-blk-pci,drive=drv-d2,addr=0x6");
	free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcg_keeps_barriers),
		cmocka_unit_test(test_kvm_as_configured),
		cmocka_unit_test(test_append),
		cmocka_unit_test(test_drive_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
