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
#include <fcntl.h>
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

/* A 1 MiB sparse disk image at PATH (the parser refuses an empty one). */
static void make_disk(const char *path)
{
	int fd = open(path, O_CREAT | O_WRONLY, 0644);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	close(fd);
}

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

/* QEMU as the config checks see it (no QEMU needed): its devices, their properties. */
static char *fake_qemu(const char *dev)
{
	if (!dev)
		return strdup("Storage devices:\n"
			      "name \"am53c974\", bus PCI\n"
			      "name \"ich9-ahci\", bus PCI, alias \"ahci\"\n"
			      "name \"lsi53c895a\", bus PCI, alias \"lsi\"\n"
			      "name \"megasas\", bus PCI\n"
			      "name \"megasas-gen2\", bus PCI\n"
			      "name \"nvme\", bus PCI\n"
			      "name \"pvscsi\", bus PCI\n"
			      "name \"usb-storage\", bus usb-bus\n"
			      "name \"virtio-blk-pci\", bus PCI, alias \"virtio-blk\"\n"
			      "name \"virtio-scsi-pci\", bus PCI, alias \"virtio-scsi\"\n"
			      "\nNetwork devices:\n"
			      "name \"e1000\", bus PCI\n"
			      "name \"usb-net\", bus usb-bus\n"
			      "name \"virtio-net-pci\", bus PCI, alias \"virtio-net\"\n");
	if (!strcmp(dev, "virtio-net-pci"))
		return strdup("virtio-net-pci options:\n  host_mtu=<uint16>\n  mq=<bool>\n");
	return strdup(""); /* no property list: properties are not checked */
}

/* The value that follows OPT in A, or NULL. */
static const char *arg_after(const struct vm_argv *a, const char *opt)
{
	unsigned i;

	for (i = 0; i + 1 < a->argc; i++)
		if (!strcmp(a->argv[i], opt))
			return a->argv[i + 1];
	return NULL;
}

/* RESTORING: the incarnation that restores from the snapshot (restart = snapshot). */
static void build_as(struct config *cfg, const char *name, const char *accel, int restoring,
		     struct vm_argv *a)
{
	static struct vm vm;
	unsigned i;

	for (i = 0; i < cfg->nr_vms; i++)
		if (!strcmp(cfg->vms[i].name, name))
			break;
	assert_true(i < cfg->nr_vms);
	vm__init(&vm, NULL, &cfg->vms[i], "/run/t");
	vm.restoring = restoring;
	assert_int_equal(vm__build_argv(&vm, cfg, accel, "/run/t/channels", a), 0);
	assert_null(a->argv[a->argc]);
}

static void build(struct config *cfg, const char *name, const char *accel, struct vm_argv *a)
{
	build_as(cfg, name, accel, 0, a);
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
	assert_string_equal(arg_after(&a, "-accel"), "tcg,tb-size=32");
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
	/* TCG: the default model with RDRAND (the guest's random pool seeded at boot) */
	build(cfg, "drv", "tcg", &a);
	assert_string_equal(arg_after(&a, "-cpu"), "qemu64,+rdrand");
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
	/* the idle parameters, before the VM's own append (which can undo them) */
	assert_non_null(
	    strstr(ap, " tsc=reliable sysctl.vm.compaction_proactiveness=0 psi=0 nowatchdog"));
	assert_true(strstr(ap, "nowatchdog") < strstr(ap, " loglevel=7"));
	assert_null(strstr(ap, "io_timeout"));
	assert_int_equal(strcmp(ap + strlen(ap) - strlen(" loglevel=7"), " loglevel=7"), 0);
	build(cfg, "one", "tcg", &a);
	ap = arg_after(&a, "-append");
	assert_null(strstr(ap, "oops=panic"));
	assert_null(strstr(ap, "tsc=reliable"));
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
	char img[] = "/tmp/ddvm-argv-img.XXXXXX", img1[64], img2[64], text[1024];
	struct config *cfg = calloc(1, sizeof(*cfg));
	static struct vm_argv a;
	const char *drv;
	int fd;

	(void)state;
	fd = mkstemp(img);
	assert_true(fd >= 0);
	close(fd);
	snprintf(img1, sizeof(img1), "%s.1", img);
	snprintf(img2, sizeof(img2), "%s,2", img); /* a comma: doubled in file= */
	make_disk(img);
	make_disk(img1);
	make_disk(img2);
	snprintf(text, sizeof(text),
		 "[ddvm]\nkernel = /k\ndriver_initrd = /d\nclient_initrd = /c\n"
		 "[driver-vm drv]\n"
		 "[device d0]\nvm = drv\nkind = blk\nmodel = nvme\nimage = %s\n"
		 "[device d1]\nvm = drv\nkind = blk\nimage = %s\ndiscard = off\n"
		 "[device d2]\nvm = drv\nkind = blk\nimage = %s\nrerror = ignore\n"
		 "detect_zeroes = on\n"
		 "[client-vm c]\ndevices = d0 d1 d2\n",
		 img, img1, img2);
	if (config__parse_string(cfg, "t.ini", text))
		fail_msg("setup did not parse: %s", cfg->errors);
	build(cfg, "drv", "tcg", &a);
	unlink(img);
	unlink(img1);
	unlink(img2);

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
	{
		char want[96];

		snprintf(want, sizeof(want), "file=%s,,2,format=raw,", img);
		if (!strstr(drv, want))
			fail_msg("%s: no %s", drv, want);
	}
	assert_string_equal(nth_arg_after(&a, "-device", 3),
			    "virtio-blk-pci,drive=drv-d2,addr=0x6");
	free(cfg);
}

/* Every disk controller by model alone: the controller at the device's slot (so the
 * disk's PCI function is the device's), the disk on its bus; props on the disk,
 * controller_props on the controller, drive options on the -drive; discard = off makes
 * a disk on a bus claim no discard (discard_granularity=0). */
static void test_controllers(void **state)
{
	static const char *const models[] = { "ahci",	      "virtio-scsi-pci", "megasas",
					      "megasas-gen2", "lsi53c895a",	 "pvscsi",
					      "am53c974",     "usb-storage",	 "nvme" };
	static const char *const want[][2] = {
		{ "ahci,id=hba-b0,addr=0x4",
		  "ide-hd,drive=drv-b0,bus=hba-b0.0,discard_granularity=0" },
		{ "virtio-scsi-pci,id=hba-b1,addr=0x5,num_queues=2",
		  "scsi-hd,drive=drv-b1,bus=hba-b1.0" },
		{ "megasas,id=hba-b2,addr=0x6",
		  "scsi-hd,drive=drv-b2,bus=hba-b2.0,logical_block_size=4096,"
		  "physical_block_size=4096" },
		{ "megasas-gen2,id=hba-b3,addr=0x7", "scsi-hd,drive=drv-b3,bus=hba-b3.0" },
		{ "lsi53c895a,id=hba-b4,addr=0x8",
		  "scsi-hd,drive=drv-b4,bus=hba-b4.0,discard_granularity=0" },
		{ "pvscsi,id=hba-b5,addr=0x9", "scsi-hd,drive=drv-b5,bus=hba-b5.0" },
		{ "am53c974,id=hba-b6,addr=0xa", "scsi-hd,drive=drv-b6,bus=hba-b6.0" },
		{ "qemu-xhci,id=usb-b7,addr=0xb",
		  "usb-storage,drive=drv-b7,bus=usb-b7.0,discard_granularity=0,serial=u1" },
		{ "nvme,drive=drv-b8,addr=0xc,serial=mine", NULL },
	};
	struct config *cfg = calloc(1, sizeof(*cfg));
	char *text = malloc(16384), *o = text, img[64], names[256] = "";
	static struct vm_argv a;
	unsigned i, dev = 1; /* -device 0 is pvpanic */

	(void)state;
	o += sprintf(o, "[ddvm]\nkernel = /k\ndriver_initrd = /d\nclient_initrd = /c\n"
			"[driver-vm drv]\n");
	for (i = 0; i < sizeof(models) / sizeof(models[0]); i++) {
		snprintf(img, sizeof(img), "/tmp/ddvm-argv-%d.%u", (int)getpid(), i);
		make_disk(img);
		o += sprintf(o, "[device b%u]\nvm = drv\nkind = blk\nmodel = %s\nimage = %s\n", i,
			     models[i], img);
		if (i == 0 || i == 4 || i == 7) /* the disk must not claim discard */
			o += sprintf(o, "discard = off\n");
		if (i == 1)
			o += sprintf(o, "controller_props = num_queues=2\n");
		if (i == 2)
			o += sprintf(o, "props = logical_block_size=4096,physical_block_size=4096\n"
					"cache = none\naio = native\nbps_limit = 1048576\n"
					"iops_limit = 500\n");
		if (i == 7)
			o += sprintf(o, "props = serial=u1\n");
		if (i == 8)
			o += sprintf(o, "props = serial=mine\n");
		sprintf(names + strlen(names), " b%u", i);
	}
	sprintf(o, "[client-vm c]\ndevices =%s\n", names);
	if (config__parse_string(cfg, "t.ini", text))
		fail_msg("setup did not parse: %s", cfg->errors);
	build(cfg, "drv", "tcg", &a);
	for (i = 0; i < sizeof(models) / sizeof(models[0]); i++) {
		const char *drive = nth_arg_after(&a, "-drive", i);

		snprintf(img, sizeof(img), "/tmp/ddvm-argv-%d.%u", (int)getpid(), i);
		unlink(img);
		assert_non_null(drive);
		assert_non_null(strstr(drive, img));
		if (i == 2)
			assert_non_null(strstr(drive, ",cache=none,aio=native,throttling.bps-total="
						      "1048576,throttling.iops-total=500"));
		else
			assert_null(strstr(drive, "cache="));
		if (i != 2)
			assert_null(strstr(drive, "throttling"));
		assert_string_equal(nth_arg_after(&a, "-device", dev++), want[i][0]);
		if (want[i][1])
			assert_string_equal(nth_arg_after(&a, "-device", dev++), want[i][1]);
	}
	free(text);
	free(cfg);
}

/* mtu: on the virtio NIC (host_mtu), on the driver VM's kernel command line for the
 * translation module (before the user's append, which may override it); not on e1000. */
static void test_mtu(void **state)
{
	struct config *cfg = calloc(1, sizeof(*cfg));
	static struct vm_argv a;
	const char *ap;

	(void)state;
	if (config__parse_string(cfg, "t.ini",
				 "[ddvm]\nkernel = /k\ndriver_initrd = /d\nclient_initrd = /c\n"
				 "[driver-vm drv]\nappend = loglevel=7\n"
				 "[device n0]\nvm = drv\nkind = net\nmodel = virtio-net-pci\n"
				 "backend = tap\ntap = tj0\nmtu = 9000\nprops = mq=on\n"
				 "[driver-vm other]\n"
				 "[device n1]\nvm = other\nkind = net\nmodel = e1000\nmtu = 4000\n"
				 "[client-vm c]\ndevices = n0 n1\n"))
		fail_msg("setup did not parse: %s", cfg->errors);
	build(cfg, "drv", "tcg", &a);
	assert_string_equal(nth_arg_after(&a, "-device", 1),
			    "virtio-net-pci,netdev=net-n0,addr=0x4,host_mtu=9000,mq=on");
	ap = arg_after(&a, "-append");
	assert_non_null(strstr(ap, " ddvm_netback.nic_mtu=9000 loglevel=7"));
	build(cfg, "other", "tcg", &a);
	assert_string_equal(nth_arg_after(&a, "-device", 1), "e1000,addr=0x4");
	assert_non_null(strstr(arg_after(&a, "-append"), " ddvm_netback.nic_mtu=4000"));
	build(cfg, "c", "tcg", &a);
	assert_null(strstr(arg_after(&a, "-append"), "nic_mtu"));
	free(cfg);
}

/* usb-net (the Qubes sys-usb case): a qemu-xhci of its own at the device's slot --
 * the NIC's nearest PCI ancestor, by which the translation module finds it -- and the
 * NIC on its bus; controller_props on the xhci, props on the NIC. */
static void test_usb_nic(void **state)
{
	struct config *cfg = calloc(1, sizeof(*cfg));
	static struct vm_argv a;

	(void)state;
	if (config__parse_string(cfg, "t.ini",
				 "[ddvm]\nkernel = /k\ndriver_initrd = /d\nclient_initrd = /c\n"
				 "[driver-vm drv]\n"
				 "[device n0]\nvm = drv\nkind = net\nmodel = e1000\n"
				 "[device u0]\nvm = drv\nkind = net\nmodel = usb-net\n"
				 "backend = tap\ntap = tu0\nmac = 52:54:00:dd:0a:08\n"
				 "controller_props = p2=4\nprops = x=1\n"
				 "[device u1]\nvm = drv\nkind = net\nmodel = usb-net\n"
				 "[client-vm c]\ndevices = n0 u0 u1\n"))
		fail_msg("setup did not parse: %s", cfg->errors);
	build(cfg, "drv", "tcg", &a);
	assert_string_equal(nth_arg_after(&a, "-device", 1), "e1000,addr=0x4");
	assert_string_equal(nth_arg_after(&a, "-device", 2), "qemu-xhci,id=usb-u0,addr=0x5,p2=4");
	assert_string_equal(nth_arg_after(&a, "-device", 3),
			    "usb-net,netdev=net-u0,bus=usb-u0.0,mac=52:54:00:dd:0a:08,x=1");
	assert_string_equal(nth_arg_after(&a, "-device", 4), "qemu-xhci,id=usb-u1,addr=0x6");
	assert_string_equal(nth_arg_after(&a, "-device", 5), "usb-net,bus=usb-u1.0");
	free(cfg);
}

/* restart = snapshot: the RAM is the memfd at fd 3 (snapshot.h), shared on a cold boot
 * (the snapshot leaves it out of the stream and copies it), private on a restore (the
 * copy stays as the first boot left it); no channel device on the command line. Any
 * other VM keeps QEMU's own RAM. */
static void test_snapshot_ram(void **state)
{
	struct config *cfg = calloc(1, sizeof(*cfg));
	static struct vm_argv a;

	(void)state;
	if (config__parse_string(cfg, "t.ini",
				 "[ddvm]\nkernel = /k\ndriver_initrd = /d\nclient_initrd = /c\n"
				 "[driver-vm drv]\nmemory = 192M\nrestart = snapshot\n"
				 "[device n0]\nvm = drv\nkind = net\nmodel = e1000\n"
				 "[client-vm c]\ndevices = n0\n"))
		fail_msg("setup did not parse: %s", cfg->errors);
	build(cfg, "drv", "tcg", &a);
	assert_string_equal(arg_after(&a, "-M"), "q35,hpet=off,memory-backend=ram");
	assert_string_equal(arg_after(&a, "-m"), "192");
	assert_string_equal(
	    arg_after(&a, "-object"),
	    "memory-backend-file,id=ram,size=192M,mem-path=/proc/self/fd/3,share=on");
	assert_null(arg_after(&a, "-incoming"));
	for (unsigned i = 0; i < a.argc; i++)
		assert_null(strstr(a.argv[i], "ivshmem"));
	build_as(cfg, "drv", "tcg", 1, &a);
	assert_string_equal(
	    arg_after(&a, "-object"),
	    "memory-backend-file,id=ram,size=192M,mem-path=/proc/self/fd/3,share=off");
	assert_string_equal(arg_after(&a, "-incoming"), "defer");
	build(cfg, "c", "tcg", &a);
	assert_string_equal(arg_after(&a, "-M"), "q35,hpet=off");
	assert_null(arg_after(&a, "-object"));
	free(cfg);
}

/* spare = yes with taps: the supervisor's multiqueue tap queues, fd 4, 5, ... in the
 * order of the VM's tap NICs (tap.h); a VM without a spare lets QEMU create its tap. */
static void test_spare_tap(void **state)
{
	struct config *cfg = calloc(1, sizeof(*cfg));
	static struct vm_argv a;

	(void)state;
	if (config__parse_string(cfg, "t.ini",
				 "[ddvm]\nkernel = /k\ndriver_initrd = /d\nclient_initrd = /c\n"
				 "[driver-vm drv]\nrestart = snapshot\nspare = yes\n"
				 "[device n0]\nvm = drv\nkind = net\nbackend = tap\ntap = ta0\n"
				 "[device n1]\nvm = drv\nkind = net\nbackend = user\n"
				 "[device n2]\nvm = drv\nkind = net\nbackend = tap\ntap = ta2\n"
				 "[driver-vm two]\n"
				 "[device n3]\nvm = two\nkind = net\nbackend = tap\ntap = ta3\n"
				 "[client-vm c]\ndevices = n0 n1 n2 n3\n"))
		fail_msg("setup did not parse: %s", cfg->errors);
	build(cfg, "drv", "tcg", &a);
	assert_string_equal(nth_arg_after(&a, "-netdev", 0), "tap,id=net-n0,fd=4");
	assert_string_equal(nth_arg_after(&a, "-netdev", 1), "user,id=net-n1,restrict=on");
	assert_string_equal(nth_arg_after(&a, "-netdev", 2), "tap,id=net-n2,fd=5");
	build_as(cfg, "drv", "tcg", 1, &a); /* a restore (the spare's) too */
	assert_string_equal(nth_arg_after(&a, "-netdev", 2), "tap,id=net-n2,fd=5");
	build(cfg, "two", "tcg", &a);
	assert_string_equal(arg_after(&a, "-netdev"),
			    "tap,id=net-n3,ifname=ta3,script=no,downscript=no");
	free(cfg);
}

/* spare = yes: both QEMUs (active and spare) open the raw image, so image locking is
 * off on every incarnation's -drive; a VM without a spare keeps QEMU's locking. */
static void test_spare_drive(void **state)
{
	struct config *cfg = calloc(1, sizeof(*cfg));
	static struct vm_argv a;
	char ini[1024];

	(void)state;
	snprintf(ini, sizeof(ini),
		 "[ddvm]\nkernel = /k\ndriver_initrd = /d\nclient_initrd = /c\n"
		 "[driver-vm drv]\nrestart = snapshot\nspare = yes\n"
		 "[device d0]\nvm = drv\nkind = blk\nimage = %s\n"
		 "[driver-vm two]\nrestart = snapshot\n"
		 "[device d1]\nvm = two\nkind = blk\nimage = %s.2\nsize = 1M\n"
		 "[client-vm c]\ndevices = d0 d1\n",
		 "/tmp/ddvm-argv-spare.1", "/tmp/ddvm-argv-spare");
	make_disk("/tmp/ddvm-argv-spare.1"); /* an image that exists */
	if (config__parse_string(cfg, "t.ini", ini))
		fail_msg("setup did not parse: %s", cfg->errors);
	build_as(cfg, "drv", "tcg", 1, &a);
	assert_non_null(strstr(arg_after(&a, "-drive"), ",file.locking=off"));
	build(cfg, "two", "tcg", &a);
	assert_null(strstr(arg_after(&a, "-drive"), "locking"));
	unlink("/tmp/ddvm-argv-spare.1");
	free(cfg);
}

/* An idle VM's footprint: TCG's translation buffer capped (tb_size, 32 MiB by default;
 * 0 = QEMU's own; never under KVM); balloon = yes gives a VM a virtio-balloon with
 * free-page reporting after its own devices, no VM has one unless asked; balloon = yes with restart
 * = snapshot is refused. */
static void test_idle_footprint(void **state)
{
	struct config *cfg = calloc(1, sizeof(*cfg));
	static struct vm_argv a;
	const char *balloon = "virtio-balloon-pci,free-page-reporting=on,addr=0x3";
	unsigned i, n;

	(void)state;
	if (config__parse_string(cfg, "t.ini",
				 "[ddvm]\nkernel = /k\ndriver_initrd = /d\nclient_initrd = /c\n"
				 "[driver-vm drv]\nballoon = yes\n"
				 "[driver-vm big]\ntb_size = 0\nballoon = no\n"
				 "[driver-vm snap]\nrestart = snapshot\ntb_size = 1G\n"
				 "[device n0]\nvm = drv\nkind = net\nmodel = e1000\n"
				 "[device n1]\nvm = big\nkind = net\nmodel = e1000\n"
				 "[device n2]\nvm = snap\nkind = net\nmodel = e1000\n"
				 "[client-vm c]\ndevices = n0 n1 n2\n"
				 "[client-vm c2]\nballoon = yes\ntb_size = 8M\ndevices = n0\n"))
		fail_msg("setup did not parse: %s", cfg->errors);
	build(cfg, "drv", "tcg", &a);
	assert_string_equal(arg_after(&a, "-accel"), "tcg,tb-size=32");
	for (i = 0, n = 0; i < a.argc; i++)
		n += !strcmp(a.argv[i], balloon);
	assert_int_equal(n, 1);
	/* after the VM's own devices: their -device indices stay as they were */
	assert_string_equal(nth_arg_after(&a, "-device", 2), balloon);
	build(cfg, "drv", "kvm", &a);
	assert_string_equal(arg_after(&a, "-accel"), "kvm");
	build(cfg, "big", "tcg", &a);
	assert_string_equal(arg_after(&a, "-accel"), "tcg");
	for (i = 0; i < a.argc; i++)
		assert_null(strstr(a.argv[i], "balloon"));
	build(cfg, "snap", "tcg", &a);
	assert_string_equal(arg_after(&a, "-accel"), "tcg,tb-size=1024");
	for (i = 0; i < a.argc; i++)
		assert_null(strstr(a.argv[i], "balloon"));
	build(cfg, "c", "tcg", &a);
	for (i = 0; i < a.argc; i++)
		assert_null(strstr(a.argv[i], "balloon"));
	build(cfg, "c2", "tcg", &a);
	assert_string_equal(arg_after(&a, "-accel"), "tcg,tb-size=8");
	assert_string_equal(nth_arg_after(&a, "-device", 1), balloon);
	free(cfg);

	cfg = calloc(1, sizeof(*cfg));
	assert_non_null(cfg);
	assert_int_not_equal(config__parse_string(cfg, "t.ini",
						  "[ddvm]\nkernel = /k\ndriver_initrd = /d\n"
						  "[driver-vm snap]\nrestart = snapshot\n"
						  "balloon = yes\n"
						  "[device n0]\nvm = snap\nkind = net\n"),
			     0);
	assert_non_null(strstr(cfg->errors, "t.ini:6:"));
	assert_non_null(strstr(cfg->errors, "balloon = yes and restart = snapshot"));
	assert_int_not_equal(config__parse_string(cfg, "t.ini",
						  "[ddvm]\nkernel = /k\ndriver_initrd = /d\n"
						  "[driver-vm d]\ntb_size = 3T\n"
						  "[device n0]\nvm = d\nkind = net\n"),
			     0);
	assert_non_null(strstr(cfg->errors, "t.ini:5: [driver-vm d]: tb_size = 3T"));
	free(cfg);
}

/* `ddvm upgrade`: an incarnation with vm->image boots that kernel, initrd and command
 * line (the driver VM's oops=panic kept), everything else as configured. */
/* The console log drops busybox's cursor-position query, also split across reads, and
 * keeps everything else, a near miss included. */
static void test_log_filter(void **state)
{
	static const char *const in[] = { "~ # \033[6n", "ok\033", "[6", "n\n\033[5n\033[6",
					  "\033[6nx\033[6" };
	char out[64], all[256] = "";
	unsigned held = 0, i;

	(void)state;
	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		size_t n = vm__log_filter(&held, in[i], strlen(in[i]), out);

		assert_true(n <= strlen(in[i]) + 3);
		strncat(all, out, n);
	}
	assert_string_equal(all, "~ # ok\n\033[5n\033[6x");
	assert_int_equal(held, 3); /* "ESC [ 6" waits for the next read */
}

static void test_upgrade_image(void **state)
{
	struct config *cfg = load();
	static struct vm_image img = { "/new/vmlinuz", "/new/driver.cpio.gz", "debug=2" };
	static struct vm_argv a;
	static struct vm vm;
	const char *ap;

	(void)state;
	vm__init(&vm, NULL, &cfg->vms[0], "/run/t");
	assert_string_equal(cfg->vms[0].name, "drv");
	vm.image = &img;
	assert_int_equal(vm__build_argv(&vm, cfg, "tcg", "/run/t/channels", &a), 0);
	assert_string_equal(arg_after(&a, "-kernel"), "/new/vmlinuz");
	assert_string_equal(arg_after(&a, "-initrd"), "/new/driver.cpio.gz");
	ap = arg_after(&a, "-append");
	assert_non_null(strstr(ap, " oops=panic"));
	assert_non_null(strstr(ap, " debug=2"));
	assert_null(strstr(ap, "loglevel=7")); /* the old append is replaced, not added to */
	vm.image = NULL;
	assert_int_equal(vm__build_argv(&vm, cfg, "tcg", "/run/t/channels", &a), 0);
	assert_string_equal(arg_after(&a, "-kernel"), "/k");
	assert_non_null(strstr(arg_after(&a, "-append"), "loglevel=7"));
	free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcg_keeps_barriers),
		cmocka_unit_test(test_kvm_as_configured),
		cmocka_unit_test(test_append),
		cmocka_unit_test(test_drive_options),
		cmocka_unit_test(test_controllers),
		cmocka_unit_test(test_mtu),
		cmocka_unit_test(test_usb_nic),
		cmocka_unit_test(test_snapshot_ram),
		cmocka_unit_test(test_spare_drive),
		cmocka_unit_test(test_spare_tap),
		cmocka_unit_test(test_idle_footprint),
		cmocka_unit_test(test_upgrade_image),
		cmocka_unit_test(test_log_filter),
	};

	config__set_qemu_query(fake_qemu);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
