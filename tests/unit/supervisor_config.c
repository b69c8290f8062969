/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Setup file parsing: a good file parses into the expected VMs, devices and channels;
 * a table of bad files, each with the message (file:line and advice) it must produce.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
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

static char img[64], img2[64], img3[64];

/*
 * QEMU as the config checks see it: a canned excerpt of `qemu-system-x86_64 -device
 * help` and of `-device DEV,help`, so the tests need no QEMU (config__set_qemu_query).
 */
static const char qemu_devices[] =
    "Controller/Bridge/Hub devices:\n"
    "name \"pcie-root-port\", bus PCI, desc \"PCI Express Root Port\"\n"
    "\n"
    "USB devices:\n"
    "name \"qemu-xhci\", bus PCI\n"
    "\n"
    "Storage devices:\n"
    "name \"am53c974\", bus PCI, desc \"AMD Am53c974 PCscsi-PCI SCSI adapter\"\n"
    "name \"ich9-ahci\", bus PCI, alias \"ahci\"\n"
    "name \"ide-hd\", bus IDE, desc \"virtual IDE disk\"\n"
    "name \"lsi53c895a\", bus PCI, alias \"lsi\"\n"
    "name \"megasas\", bus PCI, desc \"LSI MegaRAID SAS 1078\"\n"
    "name \"megasas-gen2\", bus PCI, desc \"LSI MegaRAID SAS 2108\"\n"
    "name \"mptsas1068\", bus PCI, desc \"LSI SAS 1068\"\n"
    "name \"nvme\", bus PCI, desc \"Non-Volatile Memory Express\"\n"
    "name \"pvscsi\", bus PCI\n"
    "name \"scsi-hd\", bus SCSI, desc \"virtual SCSI disk\"\n"
    "name \"sdhci-pci\", bus PCI\n"
    "name \"usb-storage\", bus usb-bus\n"
    "name \"virtio-blk-pci\", bus PCI, alias \"virtio-blk\"\n"
    "name \"virtio-scsi-pci\", bus PCI, alias \"virtio-scsi\"\n"
    "name \"vhost-user-blk-pci-non-transitional-with-a-long-name\", bus PCI\n"
    "\n"
    "Network devices:\n"
    "name \"e1000\", bus PCI, alias \"e1000-82540em\", desc \"Intel Gigabit Ethernet\"\n"
    "name \"ne2k_isa\", bus ISA\n"
    "name \"usb-net\", bus usb-bus\n"
    "name \"virtio-net-pci\", bus PCI, alias \"virtio-net\"\n"
    "\n"
    "Misc devices:\n"
    "name \"pvpanic\", bus ISA\n";

static int qemu_queries;

static char *fake_qemu(const char *dev)
{
	static const struct {
		const char *dev, *help;
	} props[] = {
		{ "scsi-hd",
		  "scsi-hd options:\n  drive=<str>\n  logical_block_size=<size> - A power\n"
		  "  physical_block_size=<size>\n  serial=<str>\n  wwn=<uint64>\n" },
		{ "ide-hd", "ide-hd options:\n  drive=<str>\n  logical_block_size=<size>\n"
			    "  serial=<str>\n" },
		{ "virtio-blk-pci", "virtio-blk-pci options:\n  addr=<int32>\n  drive=<str>\n"
				    "  logical_block_size=<size>\n  num-queues=<uint16>\n"
				    "  discard=<bool>\n  serial=<str>\n" },
		{ "nvme",
		  "nvme options:\n  drive=<str>\n  serial=<str>\n  logical_block_size=<size>\n" },
		{ "usb-storage", "usb-storage options:\n  drive=<str>\n  serial=<str>\n"
				 "  logical_block_size=<size>\n" },
		{ "megasas", "megasas options:\n  addr=<int32>\n  max_cmds=<uint32>\n" },
		{ "qemu-xhci",
		  "qemu-xhci options:\n  addr=<int32>\n  p2=<uint32>\n  p3=<uint32>\n" },
		{ "e1000", "e1000 options:\n  addr=<int32>\n  mac=<str>\n  netdev=<str>\n" },
		{ "virtio-net-pci", "virtio-net-pci options:\n  host_mtu=<uint16>\n  mq=<bool>\n"
				    "  mac=<str>\n" },
		{ "sdhci-pci", "sdhci-pci options:\n  addr=<int32>\n" },
		{ "vhost-user-blk-pci-non-transitional-with-a-long-name",
		  "vhost-user-blk-pci-non-transitional-with-a-long-name options:\n  drive=<str>\n"
		  "  serial=<str>\n  x=<str>\n" },
	};
	unsigned i;

	qemu_queries++;
	if (!dev)
		return strdup(qemu_devices);
	for (i = 0; i < sizeof(props) / sizeof(props[0]); i++)
		if (!strcmp(props[i].dev, dev))
			return strdup(props[i].help);
	return strdup("qemu-system-x86_64: -device x,help: Device 'x' not found\n");
}

/* Replace every "@IMG@" / "@IMG2@" with the path of a real, writable image file. */
static char *subst(const char *text)
{
	size_t cap = strlen(text) * 2 + 256;
	char *out = malloc(cap), *o = out;
	const char *p;

	assert_non_null(out);
	for (p = text; *p;) {
		if (!strncmp(p, "@IMG@", 5)) {
			o += sprintf(o, "%s", img);
			p += 5;
		} else if (!strncmp(p, "@IMG2@", 6)) {
			o += sprintf(o, "%s", img2);
			p += 6;
		} else if (!strncmp(p, "@IMG3@", 6)) {
			o += sprintf(o, "%s", img3);
			p += 6;
		} else {
			*o++ = *p++;
		}
	}
	*o = 0;
	return out;
}

static int parse(struct config *cfg, const char *text)
{
	char *t = subst(text);
	int ret = config__parse_string(cfg, "t.ini", t);

	free(t);
	return ret;
}

static const char good[] = "# a complete setup\n"
			   "[ddvm]\n"
			   "kernel = /k\n"
			   "driver_initrd = /d.cpio.gz\n"
			   "client_initrd = /c.cpio.gz\n"
			   "\n"
			   "[driver-vm netvm]\n"
			   "memory = 512M\n"
			   "cpus = 2\n"
			   "restart_max = 3\n"
			   "restart = snapshot\n"
			   "\n"
			   "[device nic0]\n"
			   "vm = netvm\n"
			   "kind = net\n"
			   "model = e1000\n"
			   "backend = user\n"
			   "mac = 52:54:00:12:34:56\n"
			   "\n"
			   "[device disk0]\n"
			   "vm = netvm\n"
			   "kind = blk\n"
			   "image = @IMG@\n"
			   "\n"
			   "[client-vm app]\n"
			   "memory = 1G\n"
			   "devices = nic0, disk0\n"
			   "\n"
			   "[host-client bridge]\n"
			   "devices = nic0\n";

static void test_good(void **state)
{
	struct config *cfg = calloc(1, sizeof(*cfg));
	struct cfg_vm *vm;

	(void)state;
	assert_int_equal(parse(cfg, good), 0);
	assert_string_equal(cfg->errors, "");
	assert_int_equal(cfg->nr_vms, 3);
	assert_int_equal(cfg->nr_devices, 2);
	vm = config__find_vm(cfg, "netvm");
	assert_non_null(vm);
	assert_int_equal(vm->role, CFG_DRIVER_VM);
	assert_int_equal(vm->memory_mb, 512);
	assert_int_equal(vm->cpus, 2);
	assert_int_equal(vm->restart_max, 3);
	assert_int_equal(vm->restart, CFG_RESTART_SNAPSHOT);
	assert_string_equal(vm->kernel, "/k");
	assert_string_equal(vm->initrd, "/d.cpio.gz");
	vm = config__find_vm(cfg, "app");
	assert_int_equal(vm->memory_mb, 1024);
	assert_string_equal(vm->initrd, "/c.cpio.gz");
	assert_int_equal(cfg->devices[0].pci_slot, 4);
	assert_int_equal(cfg->devices[1].pci_slot, 5);
	assert_string_equal(cfg->devices[1].model, "virtio-blk-pci");
	/* host storage: errors fail the request (no paused VM), discards reach the image */
	assert_string_equal(cfg->devices[1].werror, "report");
	assert_string_equal(cfg->devices[1].rerror, "report");
	assert_int_equal(cfg->devices[1].discard, 1);
	assert_string_equal(cfg->devices[1].detect_zeroes, "unmap");

	assert_int_equal(cfg->nr_channels, 3);
	assert_string_equal(cfg->channels[0].name, "nic0.app");
	assert_string_equal(cfg->channels[1].name, "disk0.app");
	assert_string_equal(cfg->channels[2].name, "nic0.bridge");
	assert_int_equal(cfg->channels[1].index_in_client, 1);
	assert_int_equal(cfg->channels[2].index_in_driver, 2);
	assert_int_equal(cfg->channels[2].client->role, CFG_HOST_CLIENT);
	free(cfg);
}

/*
 * Client MACs: unique in the setup. nic0.a and nic0.fpbg hash (FNV-1a) to the same
 * 52:54:00:dd:ed:d2, which left the second client of a shared NIC off the network;
 * a derived MAC also steps aside for a NIC's own `mac =`, and a single client gets its
 * NIC's `mac =`.
 */
static void test_client_macs(void **state)
{
	static const char text[] = "[ddvm]\nkernel = /k\ndriver_initrd = /d\nclient_initrd = /c\n"
				   "[driver-vm d]\n"
				   "[device nic0]\nvm = d\nkind = net\nbackend = user\n"
				   "[device nic1]\nvm = d\nkind = net\nbackend = user\n"
				   "mac = 52:54:00:dd:ed:d2\n"
				   "[device nic2]\nvm = d\nkind = net\nbackend = user\n"
				   "mac = 52:54:00:12:00:02\n"
				   "[client-vm a]\ndevices = nic0, nic1\n"
				   "[client-vm fpbg]\ndevices = nic0, nic2\n";
	static const unsigned char twin[6] = { 0x52, 0x54, 0x00, 0xdd, 0xed, 0xd2 };
	static const unsigned char nic2[6] = { 0x52, 0x54, 0x00, 0x12, 0x00, 0x02 };
	struct config *cfg = calloc(1, sizeof(*cfg));
	unsigned i, j;

	(void)state;
	assert_int_equal(parse(cfg, text), 0);
	assert_string_equal(cfg->errors, "");
	assert_int_equal(cfg->nr_channels, 4);
	assert_string_equal(cfg->channels[0].name, "nic0.a");
	assert_string_equal(cfg->channels[2].name, "nic0.fpbg");
	/* nic0.a's hash is nic1's own MAC (a NIC shared by nobody: its client has it) */
	assert_memory_equal(cfg->channels[1].mac, twin, 6);
	assert_memory_not_equal(cfg->channels[0].mac, twin, 6);
	assert_memory_equal(cfg->channels[3].mac, nic2, 6);
	for (i = 0; i < cfg->nr_channels; i++)
		for (j = 0; j < i; j++)
			assert_memory_not_equal(cfg->channels[i].mac, cfg->channels[j].mac, 6);
	free(cfg);
}

/*
 * Anti-spoofing: MAC by default, IP with `ip =` (prefixes masked, as the translation
 * module takes them), an exempt client OFF; the channels list's policy strings.
 */
static void test_antispoof(void **state)
{
	static const char text[] = "[ddvm]\nkernel = /k\ndriver_initrd = /d\nclient_initrd = /c\n"
				   "[driver-vm d]\n"
				   "[device nic0]\nvm = d\nkind = net\nbackend = user\n"
				   "[device nic1]\nvm = d\nkind = net\nbackend = user\n"
				   "ip = a=10.0.2.15,fd00:0:0:100::/56 b=10.0.2.16,192.168.7.0/24,"
				   "fd00::16\n"
				   "antispoof_exempt = tb\n"
				   "[device nic2]\nvm = d\nkind = net\nbackend = user\n"
				   "antispoof = off\n"
				   "[client-vm a]\ndevices = nic0, nic1, nic2\n"
				   "[client-vm b]\ndevices = nic1\n"
				   "[host-client tb]\ndevices = nic1\n";
	struct config *cfg = calloc(1, sizeof(*cfg));
	char buf[200];

	(void)state;
	assert_int_equal(parse(cfg, text), 0);
	assert_string_equal(cfg->errors, "");
	assert_int_equal(cfg->nr_channels, 5);
	assert_string_equal(cfg->channels[0].name, "nic0.a");
	assert_int_equal(cfg->channels[0].antispoof, CFG_ANTISPOOF_MAC);
	assert_int_equal(cfg_channel_antispoof(&cfg->channels[0], buf, sizeof(buf)), 3);
	assert_string_equal(buf, "mac");
	assert_string_equal(cfg->channels[1].name, "nic1.a");
	assert_int_equal(cfg->channels[1].antispoof, CFG_ANTISPOOF_IP);
	cfg_channel_antispoof(&cfg->channels[1], buf, sizeof(buf));
	assert_string_equal(buf, "ip:10.0.2.15/32+fd00:0:0:100::/56");
	assert_string_equal(cfg->channels[2].name, "nic2.a");
	cfg_channel_antispoof(&cfg->channels[2], buf, sizeof(buf));
	assert_string_equal(buf, "off");
	assert_string_equal(cfg->channels[3].name, "nic1.b");
	cfg_channel_antispoof(&cfg->channels[3], buf, sizeof(buf));
	assert_string_equal(buf, "ip:10.0.2.16/32+192.168.7.0/24+fd00::16/128");
	assert_string_equal(cfg->channels[4].name, "nic1.tb");
	assert_int_equal(cfg->channels[4].antispoof, CFG_ANTISPOOF_OFF);
	/* too small a buffer is refused, not cut */
	assert_int_equal(cfg_channel_antispoof(&cfg->channels[3], buf, 20), -1);
	/* 8 of the longest IPv6 prefixes fit the size the header promises */
	memset(cfg, 0, sizeof(*cfg));
	assert_int_equal(parse(cfg, "[ddvm]\nkernel = /k\ndriver_initrd = /d\nclient_initrd = /c\n"
				    "[driver-vm d]\n[device n]\nvm = d\nkind = net\n"
				    "ip = a=1111:2222:3333:4444:5555:6666:7777:8881/128,"
				    "1111:2222:3333:4444:5555:6666:7777:8882/128,"
				    "1111:2222:3333:4444:5555:6666:7777:8883/128,"
				    "1111:2222:3333:4444:5555:6666:7777:8884/128,"
				    "1111:2222:3333:4444:5555:6666:7777:8885/128,"
				    "1111:2222:3333:4444:5555:6666:7777:8886/128,"
				    "1111:2222:3333:4444:5555:6666:7777:8887/128,"
				    "1111:2222:3333:4444:5555:6666:7777:8889/128\n"
				    "[client-vm a]\ndevices = n\n"),
			 0);
	{
		char big[400];
		int n = cfg_channel_antispoof(&cfg->channels[0], big, sizeof(big));

		assert_true(n > 300 && n <= 360);
	}
	free(cfg);
}

/*
 * Queue pairs: a blk channel without `queues =` gets one per vCPU of its client VM, at
 * most the driver VM's vCPUs; `queues =` is taken as given; a host client's channel,
 * a net device's and a one-vCPU client's have one.
 */
static void test_queues(void **state)
{
	static const char text[] =
	    "[ddvm]\nkernel = /k\ndriver_initrd = /d\nclient_initrd = /c\n"
	    "[driver-vm d]\ncpus = 2\n"
	    "[device b1]\nvm = d\nkind = blk\nimage = @IMG@\n"
	    "[device b2]\nvm = d\nkind = blk\nimage = /tmp/ddvm-unit-b2.img\n"
	    "size = 64M\nqueues = 3\n"
	    "[device b3]\nvm = d\nkind = blk\nimage = @IMG3@\n"
	    "[device n]\nvm = d\nkind = net\nbackend = user\n"
	    "[client-vm a]\ncpus = 4\ndevices = b1, b2, n\n"
	    "[host-client h]\ndevices = b3\n";
	struct config *cfg = calloc(1, sizeof(*cfg));

	(void)state;
	assert_int_equal(parse(cfg, text), 0);
	assert_string_equal(cfg->errors, "");
	assert_int_equal(cfg->devices[0].queues, 2); /* a's 4 vCPUs, d's 2 */
	assert_int_equal(cfg->devices[1].queues, 3);
	assert_int_equal(cfg->devices[2].queues, 1); /* a host client */
	assert_int_equal(cfg->devices[3].queues, 1); /* net */
	memset(cfg, 0, sizeof(*cfg));
	assert_int_equal(parse(cfg, "[ddvm]\nkernel = /k\ndriver_initrd = /d\nclient_initrd = /c\n"
				    "[driver-vm d]\ncpus = 8\n"
				    "[device b1]\nvm = d\nkind = blk\nimage = @IMG@\n"
				    "[client-vm a]\ndevices = b1\n"),
			 0);
	assert_int_equal(cfg->devices[0].queues, 1); /* a has the default 1 vCPU */
	free(cfg);
}

/* external = yes: a client VM with channels that the supervisor does not start. */
static void test_external_client(void **state)
{
	struct config *cfg = calloc(1, sizeof(*cfg));
	struct cfg_vm *vm;

	(void)state;
	assert_int_equal(parse(cfg, "[ddvm]\nkernel = /k\ndriver_initrd = /d\n"
				    "[driver-vm d]\n[device n]\nvm = d\nkind = net\n"
				    "[client-vm lv]\nexternal = yes\ndevices = n\n"
				    "[client-vm own]\ndevices = n\n"),
			 0);
	vm = config__find_vm(cfg, "lv");
	assert_non_null(vm);
	assert_int_equal(vm->role, CFG_CLIENT_VM);
	assert_int_equal(vm->external, 1);
	assert_false(cfg_vm_started_here(vm));
	assert_string_equal(vm->kernel, ""); /* nothing to boot: no kernel inherited */
	assert_true(cfg_vm_started_here(config__find_vm(cfg, "own")));
	assert_true(cfg_vm_started_here(config__find_vm(cfg, "d")));
	assert_int_equal(cfg->nr_channels, 2);
	assert_string_equal(cfg->channels[0].name, "n.lv");
	assert_ptr_equal(cfg->channels[0].client, vm);
	free(cfg);
}

struct bad {
	const char *what;
	const char *text;
	const char *message; /* must appear in cfg->errors */
};

#define DRV "[driver-vm d]\n"
#define NIC "[device n]\nvm = d\nkind = net\n"
#define BLK "[device b]\nvm = d\nkind = blk\nimage = @IMG@\n"
#define AB  "[client-vm a]\ndevices = n\n[client-vm b]\ndevices = n\n" /* clients of NIC n */

static const struct bad bad[] = {
	{ "syntax", DRV "this is not ini\n", "t.ini:2: syntax error: expected 'key = value'" },
	{ "key outside section", "memory = 1G\n" DRV, "t.ini:1: 'memory' is outside any section" },
	{ "unknown section type", "[printer p]\n" DRV,
	  "t.ini:1: [printer p]: unknown section type 'printer'" },
	{ "section without name", "[driver-vm]\n",
	  "t.ini:1: [driver-vm]: unknown section; expected [ddvm]" },
	{ "bad name", "[driver-vm 9lives]\n", "t.ini:1: [driver-vm 9lives]: bad name '9lives'" },
	{ "duplicate vm", DRV "[client-vm d]\n",
	  "t.ini:2: [client-vm d]: the name 'd' is "
	  "already used at line 1" },
	{ "duplicate device", DRV NIC "[device n]\n",
	  "t.ini:5: [device n]: defined twice "
	  "(first at line 2)" },
	{ "unknown vm key", DRV "colour = blue\n",
	  "t.ini:2: [driver-vm d]: unknown key "
	  "'colour'; known: memory" },
	{ "unknown device key", DRV NIC "speed = 10G\n",
	  "t.ini:5: [device n]: unknown key "
	  "'speed'" },
	{ "set twice", DRV "cpus = 1\ncpus = 2\n",
	  "t.ini:3: 'cpus' is set twice in "
	  "[driver-vm d]" },
	{ "memory garbage", DRV "memory = lots\n",
	  "t.ini:2: [driver-vm d]: memory = lots: expected a size "
	  "from 64M to 64G" },
	{ "memory too small", DRV "memory = 1M\n",
	  "t.ini:2: [driver-vm d]: memory = 1M: expected a size" },
	{ "cpus zero", DRV "cpus = 0\n",
	  "t.ini:2: [driver-vm d]: cpus = 0: expected a whole number from 1 "
	  "to 64" },
	{ "cpus negative", DRV "cpus = -1\n",
	  "t.ini:2: [driver-vm d]: cpus = -1: expected a whole number" },
	{ "device without kind", DRV "[device n]\nvm = d\n",
	  "t.ini:2: [device n]: 'kind' is "
	  "missing" },
	{ "device without vm", DRV "[device n]\nkind = net\n",
	  "t.ini:2: [device n]: 'vm' is "
	  "missing; add vm = NAME" },
	{ "device of unknown vm", DRV "[device n]\nvm = ghost\nkind = net\n",
	  "t.ini:3: [device n]: vm = ghost: no such VM" },
	{ "device of a client vm",
	  DRV "[client-vm c]\ndevices = n\n[device n]\nvm = c\nkind = "
	      "net\n",
	  "t.ini:5: [device n]: vm = c: that is not a driver VM" },
	{ "bad kind", DRV "[device n]\nkind = gpu\n",
	  "t.ini:3: [device n]: kind = gpu: expected net or blk" },
	{ "bad backend", DRV NIC "backend = wifi\n",
	  "t.ini:5: [device n]: backend = wifi: expected none, "
	  "user" },
	{ "tap without name", DRV NIC "backend = tap\n",
	  "t.ini:2: [device n]: backend = tap "
	  "needs 'tap = IFNAME'" },
	{ "tap name without tap", DRV NIC "tap = tap0\n",
	  "t.ini:2: [device n]: 'tap' is set but "
	  "backend is not tap" },
	{ "tap name too long", DRV NIC "backend = tap\ntap = averyveryverylongname\n",
	  "t.ini:6: [device n]: tap = averyveryverylongname: expected an interface name" },
	{ "bad mac", DRV NIC "mac = 52:54:00:12:34\n",
	  "t.ini:5: [device n]: mac = 52:54:00:12:34: expected "
	  "a unicast MAC" },
	{ "multicast mac", DRV NIC "mac = 01:00:5e:00:00:01\n", "expected a unicast MAC" },
	{ "zero mac", DRV NIC "mac = 00:00:00:00:00:00\n", "expected a unicast MAC" },
	{ "bad vfio address", DRV NIC "host = 3:0\n",
	  "t.ini:5: [device n]: host = 3:0: expected a PCI "
	  "address like 0000:03:00.0" },
	{ "blk without image", DRV "[device b]\nvm = d\nkind = blk\n",
	  "t.ini:2: [device b]: a blk device needs 'image = FILE'" },
	{ "blk image missing", DRV "[device b]\nvm = d\nkind = blk\nimage = /nonexistent-x.img\n",
	  "t.ini:2: [device b]: image /nonexistent-x.img: No such file or directory; create it" },
	{ "blk image a directory", DRV "[device b]\nvm = d\nkind = blk\nimage = /tmp\n",
	  "t.ini:5: [device b]: image /tmp is a directory, not a disk image" },
	{ "blk image in a missing directory",
	  DRV "[device b]\nvm = d\nkind = blk\nimage = /nonexistent/x.img\n",
	  "t.ini:2: [device b]: image /nonexistent/x.img: its directory does not exist" },

	{ "blk with net backend",
	  DRV "[device b]\nvm = d\nkind = blk\nimage = @IMG@\nbackend = "
	      "user\n",
	  "t.ini:2: [device b]: backend/tap/bridge/mac are for net devices" },
	{ "read-only ahci",
	  DRV "[device b]\nvm = d\nkind = blk\nmodel = ahci\nimage = @IMG@\nreadonly = yes\n",
	  "t.ini:2: [device b]: readonly = yes with model = ahci: QEMU's IDE disk (ide-hd) cannot "
	  "be read-only" },
	{ "read-only ich9-ahci (the same controller)",
	  DRV "[device b]\nvm = d\nkind = blk\nmodel = ich9-ahci\nimage = @IMG@\nreadonly = yes\n",
	  "t.ini:2: [device b]: readonly = yes with model = ich9-ahci: QEMU's IDE disk (ide-hd) "
	  "cannot be read-only" },
	{ "blk with a bridge", DRV "[device b]\nvm = d\nkind = blk\nimage = @IMG@\nbridge = br0\n",
	  "t.ini:2: [device b]: backend/tap/bridge/mac are for net devices" },
	{ "bridge without a tap", DRV NIC "backend = user\nbridge = br0\n",
	  "t.ini:2: [device n]: 'bridge' is set but backend is not tap" },
	{ "empty ready", DRV "ready =\n",
	  "t.ini:2: [driver-vm d]: ready: empty value; give one or remove the line" },
	{ "net with image", DRV NIC "image = @IMG@\n",
	  "t.ini:2: [device n]: 'image' is for blk "
	  "devices" },
	{ "bad format", DRV "[device b]\nformat = vmdk\n",
	  "t.ini:3: [device b]: format = vmdk: expected raw "
	  "or qcow2" },
	{ "client uses unknown device", DRV NIC "[client-vm c]\ndevices = n, nope\n",
	  "t.ini:6: [client-vm c]: devices: no device named 'nope'; define it in a [device nope] "
	  "section" },
	{ "client uses nothing", DRV NIC "[client-vm c]\n",
	  "t.ini:5: [client-vm c]: uses no device; add devices = NAME" },
	{ "client lists device twice", DRV NIC "[client-vm c]\ndevices = n n\n",
	  "t.ini:6: [client-vm c]: devices: 'n' is listed twice" },
	{ "driver vm lists devices", DRV "devices = n\n",
	  "t.ini:2: [driver-vm d]: devices: a driver VM does not list devices" },
	{ "blk shared by two clients",
	  DRV "[device b]\nvm = d\nkind = blk\nimage = @IMG@\n"
	      "[client-vm c1]\ndevices = b\n"
	      "[client-vm c2]\ndevices = b\n",
	  "t.ini:9: [client-vm c2]: devices: blk device 'b' is already used by c1 (line 7); a "
	  "block device "
	  "serves one client" },
	{ "blk shared with a host client",
	  DRV "[device b]\nvm = d\nkind = blk\nimage = @IMG@\n"
	      "[client-vm c1]\ndevices = b\n"
	      "[host-client h]\ndevices = b\n",
	  "t.ini:9: [host-client h]: devices: blk device 'b' is already used by c1" },
	{ "host client with vm keys", DRV NIC "[host-client h]\nmemory = 1G\n",
	  "t.ini:6: [host-client h]: unknown key 'memory'; known: devices" },
	{ "external client vm with vm keys",
	  DRV NIC "[client-vm e]\nmemory = 1G\nexternal = yes\ndevices = n\n",
	  "t.ini:6: [client-vm e]: memory: an external client VM is defined where it runs "
	  "(libvirt, ...); the supervisor only serves its channels; remove the key, or set "
	  "external = no" },
	{ "external on a host client", DRV NIC "[host-client h]\nexternal = yes\n",
	  "t.ini:6: [host-client h]: unknown key 'external'; known: devices" },
	{ "external not yes or no", DRV NIC "[client-vm e]\nexternal = maybe\ndevices = n\n",
	  "t.ini:6: [client-vm e]: external = maybe: expected yes or no" },
	{ "no driver vm", "[ddvm]\nkernel = /k\n", "t.ini: no [driver-vm NAME] section" },
	{ "empty path", DRV "kernel =\n", "t.ini:2: [driver-vm d]: kernel: empty path" },
	{ "bad section line", "[driver-vm d\n", "t.ini:1: syntax error: expected 'key = value'" },
	{ "unknown global key", "[ddvm]\nfoo = 1\n" DRV, "t.ini:2: [ddvm]: unknown key 'foo'" },
	{ "bad restart", DRV "restart = warm\n",
	  "t.ini:2: [driver-vm d]: restart = warm: expected cold or "
	  "snapshot" },
	{ "restart of a client", DRV NIC "[client-vm c]\ndevices = n\nrestart = snapshot\n",
	  "t.ini:7: [client-vm c]: restart: only a driver VM is restarted by the supervisor" },
	{ "snapshot with nvme",
	  DRV "restart = snapshot\n[device b]\nvm = d\nkind = blk\n"
	      "model = nvme\nimage = @IMG@\n",
	  "t.ini:2: [driver-vm d]: restart = snapshot: QEMU cannot save the "
	  "nvme device of d" },
	{ "snapshot with vfio", DRV "restart = snapshot\n" NIC "host = 0000:03:00.0\n",
	  "t.ini:2: [driver-vm d]: restart = snapshot: driver VM d owns a real device (n, host = "
	  "0000:03:00.0)" },
	{ "spare without snapshot", DRV "spare = yes\n" BLK,
	  "t.ini:2: [driver-vm d]: spare = yes: driver VM d has restart = cold; a warm spare is "
	  "restored from "
	  "the snapshot: add restart = snapshot, or remove spare = yes" },
	{ "spare not yes or no", DRV "restart = snapshot\nspare = hot\n" BLK,
	  "t.ini:3: [driver-vm d]: spare = hot: expected yes or no" },
	{ "spare on a client", DRV NIC "[client-vm c]\ndevices = n\nspare = yes\n",
	  "t.ini:7: [client-vm c]: unknown key 'spare'" },
	{ "spare with 9 taps",
	  DRV "restart = snapshot\nspare = yes\n"
	      "[device n0]\nvm = d\nkind = net\nbackend = tap\ntap = t0\n"
	      "[device n1]\nvm = d\nkind = net\nbackend = tap\ntap = t1\n"
	      "[device n2]\nvm = d\nkind = net\nbackend = tap\ntap = t2\n"
	      "[device n3]\nvm = d\nkind = net\nbackend = tap\ntap = t3\n"
	      "[device n4]\nvm = d\nkind = net\nbackend = tap\ntap = t4\n"
	      "[device n5]\nvm = d\nkind = net\nbackend = tap\ntap = t5\n"
	      "[device n6]\nvm = d\nkind = net\nbackend = tap\ntap = t6\n"
	      "[device n7]\nvm = d\nkind = net\nbackend = tap\ntap = t7\n"
	      "[device n8]\nvm = d\nkind = net\nbackend = tap\ntap = t8\n",
	  "t.ini:3: [driver-vm d]: spare = yes: driver VM d has 9 tap NICs; the supervisor holds "
	  "the taps of a "
	  "VM with a spare, at most 8: use fewer, or remove spare = yes" },
	{ "spare with qcow2", DRV "restart = snapshot\nspare = yes\n" BLK "format = qcow2\n",
	  "t.ini:3: [driver-vm d]: spare = yes: disk b of d is qcow2: a paused spare's QEMU keeps "
	  "the image's "
	  "metadata cached, which goes stale while the active one allocates clusters; only raw "
	  "images can have a spare" },
	{ "spare with vfio", DRV "restart = snapshot\nspare = yes\n" NIC "host = 0000:03:00.0\n",
	  "t.ini:3: [driver-vm d]: spare = yes: driver VM d owns a real device (n, host = "
	  "0000:03:00.0), which "
	  "one QEMU at a time can hold; remove spare = yes" },
	{ "bad werror", DRV BLK "werror = panic\n",
	  "t.ini:6: [device b]: werror = panic: expected report "
	  "(the default: the write fails, the driver VM runs on), stop, enospc or ignore" },
	{ "bad rerror", DRV BLK "rerror = enospc\n",
	  "t.ini:6: [device b]: rerror = enospc: expected report" },
	{ "bad discard", DRV BLK "discard = maybe\n",
	  "t.ini:6: [device b]: discard = maybe: expected unmap" },
	{ "discard off with nvme", DRV BLK "model = nvme\ndiscard = off\n",
	  "t.ini:7: [device b]: discard = off: QEMU's nvme always offers Dataset Management" },
	{ "bad detect_zeroes", DRV BLK "detect_zeroes = always\n",
	  "t.ini:6: [device b]: detect_zeroes = always: expected unmap" },
	{ "detect_zeroes unmap without discard", DRV BLK "discard = off\ndetect_zeroes = unmap\n",
	  "t.ini:7: [device b]: detect_zeroes = unmap: needs discard = unmap" },
	{ "werror on a net device", DRV NIC "werror = report\n",
	  "t.ini:5: [device n]: werror (line 5) is for blk devices with an image only; remove "
	  "it" },
	{ "two storage keys on a net device",
	  DRV NIC "cache = none\nmac = 52:54:00:00:00:01\n"
		  "aio = threads\n",
	  "t.ini:5: [device n]: cache (line 5), aio (line 7) are for blk devices with an image "
	  "only; remove them" },
	{ "discard on a vfio disk",
	  DRV "[device b]\nvm = d\nkind = blk\nhost = 0000:03:00.0\n"
	      "discard = off\n",
	  "t.ini:6: [device b]: discard (line 6) is for blk devices with an image only" },
	{ "werror stop with nvme",
	  DRV "heartbeat_timeout_ms = 0\nrequest_timeout_ms = 0\n" BLK
	      "model = nvme\nwerror = stop\n",
	  "t.ini:9: [device b]: werror = stop: QEMU's nvme device has no "
	  "error policy" },
	{ "werror enospc with a heartbeat", DRV BLK "werror = enospc\n",
	  "t.ini:6: [device b]: werror = enospc pauses driver VM d at a host I/O error; its "
	  "heartbeat stops" },
	{ "rerror stop with a request check",
	  DRV "heartbeat_timeout_ms = 0\n" BLK "rerror = stop\n",
	  "t.ini:7: [device b]: rerror = stop pauses driver VM d" },
	/* the same thing given twice */
	{ "same image twice", DRV BLK "[device c]\nvm = d\nkind = blk\nimage = @IMG@\n",
	  "t.ini:9: [device c]: image = " },
	{ "same image twice, message", DRV BLK "[device c]\nvm = d\nkind = blk\nimage = @IMG@\n",
	  ": the same file as the image of device b (line 5, " },
	{ "same image through a symlink",
	  DRV BLK "[device c]\nvm = d\nkind = blk\n"
		  "image = @LINK@\n",
	  "t.ini:9: [device c]: image = " },
	{ "same image, other spelling",
	  DRV BLK "[device c]\nvm = d\nkind = blk\n"
		  "image = /tmp/../@IMG@\n",
	  "the same file as the image of device b" },
	{ "same image to be created twice",
	  DRV "[device b]\nvm = d\nkind = blk\n"
	      "image = /tmp/ddvm-cfg-new.img\nsize = 1M\n[device c]\nvm = d\nkind = blk\n"
	      "image = /tmp/../tmp/ddvm-cfg-new.img\nsize = 1M\n",
	  "t.ini:10: [device c]: image = "
	  "/tmp/../tmp/ddvm-cfg-new.img: the same file as the image of device b (line 5" },
	{ "duplicate mac",
	  DRV NIC "mac = 52:54:00:12:34:56\n[device m]\nvm = d\nkind = net\n"
		  "mac = 52:54:00:12:34:56\n",
	  "t.ini:9: [device m]: mac = 52:54:00:12:34:56: device n has that MAC "
	  "already (line 5)" },
	{ "duplicate mac, other case",
	  DRV NIC "mac = 52:54:00:ab:cd:ef\n[device m]\nvm = d\n"
		  "kind = net\nmac = 52:54:00:AB:CD:EF\n",
	  "t.ini:9: [device m]: mac = 52:54:00:AB:CD:EF: device n "
	  "has that MAC already" },
	{ "duplicate tap",
	  DRV NIC "backend = tap\ntap = t0\n[device m]\nvm = d\nkind = net\n"
		  "backend = tap\ntap = t0\n",
	  "t.ini:11: [device m]: tap = t0: device n uses that tap already "
	  "(line 6)" },
	{ "duplicate host device",
	  DRV NIC "host = 0000:03:00.0\n[device m]\nvm = d\nkind = net\n"
		  "host = 0000:03:00.0\n",
	  "t.ini:9: [device m]: host = 0000:03:00.0: device n is that PCI device "
	  "already (line 5)" },
	{ "duplicate host device, other spelling",
	  DRV NIC "host = 0000:03:00.0\n[device m]\n"
		  "vm = d\nkind = blk\nhost = 0000:03:00.0\n",
	  "device n is that PCI device already" },
	/* models: QEMU's own device list decides */
	{ "unknown model", DRV NIC "model = e1000x\n",
	  "t.ini:5: [device n]: model = e1000x: QEMU has no such "
	  "device; for kind = net use e1000" },
	{ "unknown blk model", DRV BLK "model = fastdisk\n",
	  "t.ini:6: [device b]: model = fastdisk: QEMU has "
	  "no such device; for kind = blk use nvme, virtio-blk-pci, ahci" },
	{ "disk model as a NIC", DRV NIC "model = nvme\n",
	  "t.ini:5: [device n]: model = nvme: QEMU's nvme is "
	  "a Storage device, not a NIC; use kind = blk" },
	{ "NIC model as a disk", DRV BLK "model = virtio-net\n",
	  "t.ini:6: [device b]: model = virtio-net: "
	  "QEMU's virtio-net-pci is a Network device, not a disk controller; use kind = net" },
	{ "misc device as a disk", DRV BLK "model = pvpanic\n",
	  "t.ini:6: [device b]: model = pvpanic: QEMU's "
	  "pvpanic is a Misc device, not a disk controller" },
	{ "storage device without a drive", DRV BLK "model = sdhci-pci\n",
	  "t.ini:6: [device b]: model = "
	  "sdhci-pci: the supervisor cannot attach a disk to QEMU's sdhci-pci (bus PCI)" },
	{ "mptsas1068", DRV BLK "model = mptsas1068\n",
	  "t.ini:6: [device b]: model = mptsas1068: the driver VM's "
	  "mptsas binds to QEMU's SAS 1068 but never finds a disk on it" },
	{ "ISA NIC", DRV NIC "model = ne2k_isa\n",
	  "t.ini:5: [device n]: model = ne2k_isa: a NIC on bus ISA "
	  "is not served (the translation module finds its NIC by the PCI function at the "
	  "device's slot); use a PCI NIC such as e1000 or virtio-net-pci, or usb-net" },
	{ "controller props on a PCI NIC", DRV NIC "controller_props = p2=4\n",
	  "t.ini:5: [device n]: "
	  "controller_props: model = e1000 is on PCI itself, there is no separate controller" },
	{ "unknown controller property of a USB NIC",
	  DRV NIC "model = usb-net\n"
		  "controller_props = ports=8\n",
	  "t.ini:6: [device n]: controller_props: QEMU's qemu-xhci has no "
	  "property 'ports'" },
	{ "model with properties", DRV NIC "model = e1000,mac=52:54:00:00:00:01\n",
	  "t.ini:5: [device n]: model = e1000,mac=52:54:00:00:00:01: not a QEMU device name; see "
	  "qemu-system-x86_64 -device help (properties go in props" },
	{ "model too long",
	  DRV BLK "model = "
		  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
	  "t.ini:6: [device b]: model = xxx" },
	/* properties: QEMU's list for the device that gets them */
	{ "unknown property",
	  DRV BLK "model = megasas\nprops = logical_block_size=4096,"
		  "blocksize=4096\n",
	  "t.ini:7: [device b]: props: QEMU's scsi-hd has no property 'blocksize'; see "
	  "qemu-system-x86_64 -device scsi-hd,help" },
	{ "unknown nic property", DRV NIC "props = jumbo=on\n",
	  "t.ini:5: [device n]: props: QEMU's e1000 "
	  "has no property 'jumbo'" },
	{ "unknown controller property",
	  DRV BLK "model = usb-storage\n"
		  "controller_props = ports=8\n",
	  "t.ini:7: [device b]: controller_props: QEMU's qemu-xhci has no "
	  "property 'ports'" },
	{ "controller props without a controller",
	  DRV BLK "model = nvme\n"
		  "controller_props = x=1\n",
	  "t.ini:7: [device b]: controller_props: model = nvme holds the disk "
	  "itself" },
	{ "property the supervisor sets", DRV BLK "props = drive=other\n",
	  "t.ini:6: [device b]: props: drive "
	  "is set by the supervisor (device b); remove it" },
	{ "mac as a property", DRV NIC "props = mac=52:54:00:00:00:01\n",
	  "t.ini:5: [device n]: props: mac is "
	  "the key 'mac = ...'" },
	{ "props syntax", DRV BLK "props = logical_block_size 4096\n",
	  "t.ini:6: [device b]: props = "
	  "logical_block_size 4096: expected NAME=VALUE[,NAME=VALUE...]" },
	{ "props empty item", DRV BLK "props = serial=a,,,=b\n",
	  "t.ini:6: [device b]: props = serial=a,,,=b: "
	  "expected NAME=VALUE" },
	{ "props on a real device",
	  DRV "[device b]\nvm = d\nkind = blk\nhost = 0000:03:00.0\n"
	      "props = serial=x\n",
	  "t.ini:6: [device b]: props are for emulated devices" },
	/* drive options */
	{ "bad cache", DRV BLK "cache = fast\n",
	  "t.ini:6: [device b]: cache = fast: expected writeback" },
	{ "bad aio", DRV BLK "aio = posix\n",
	  "t.ini:6: [device b]: aio = posix: expected threads" },
	{ "aio native without O_DIRECT", DRV BLK "aio = native\n",
	  "t.ini:6: [device b]: aio = native: Linux "
	  "AIO needs O_DIRECT; add cache = none" },
	{ "cache on a net device", DRV NIC "cache = none\n",
	  "t.ini:5: [device n]: cache (line 5) is for blk devices" },
	{ "queues on a net device", DRV NIC "queues = 2\n",
	  "t.ini:5: [device n]: queues = 2: a net channel has one queue pair" },
	{ "too many queues", DRV BLK "queues = 9\n", "t.ini:6: [device b]: queues = 9: expected" },
	{ "bps_limit on a net device", DRV NIC "bps_limit = 1000\n",
	  "t.ini:5: [device n]: bps_limit (line 5) is for blk devices" },
	{ "bad iops_limit", DRV BLK "iops_limit = fast\n",
	  "t.ini:6: [device b]: iops_limit = fast: expected" },
	{ "negative bps_limit", DRV BLK "bps_limit = -1\n",
	  "t.ini:6: [device b]: bps_limit = -1: expected" },
	{ "bps_limit too low to boot", DRV BLK "bps_limit = 5\n",
	  "t.ini:6: [device b]: bps_limit = 5: at least 65536 bytes a second, or 0 for no limit" },
	{ "iops_limit too low to boot", DRV BLK "iops_limit = 2\n",
	  "t.ini:6: [device b]: iops_limit = 2: at least 10 requests a second, or 0 for no limit" },
	/* mtu */
	{ "mtu too small", DRV NIC "mtu = 60\n",
	  "t.ini:5: [device n]: mtu = 60: expected a whole number from "
	  "68 to 65521" },
	{ "mtu on a disk", DRV BLK "mtu = 9000\n", "t.ini:6: [device b]: mtu is for net devices" },
	{ "jumbo mtu on user-mode networking", DRV NIC "backend = user\nmtu = 9000\n",
	  "[device n]: mtu = 9000 needs backend = tap: QEMU's user-mode network" },
	{ "mtus disagree in one driver VM",
	  DRV NIC "mtu = 9000\n[device m]\nvm = d\nkind = net\n"
		  "mtu = 4000\n",
	  "t.ini:5: [device n]: mtu = 9000: device m of the same driver VM d has mtu = 4000; "
	  "the translation module sets one MTU on every NIC of its VM" },
	/* anti-spoofing (config_antispoof.c) */
	{ "bad antispoof", DRV NIC "antispoof = strict\n" AB,
	  "t.ini:5: [device n]: antispoof = strict: expected mac (each client sends from its "
	  "own MAC only, the default), ip (and ARP, IPv4 and IPv6 only, from its addresses in "
	  "ip =) or off" },
	{ "antispoof on a disk", DRV BLK "antispoof = ip\n",
	  "t.ini:6: [device b]: antispoof, ip and antispoof_exempt are for net devices" },
	{ "antispoof = ip without ip", DRV NIC "antispoof = ip\n" AB,
	  "t.ini:5: [device n]: antispoof = ip needs ip = CLIENT=ADDRESS[,ADDRESS...]" },
	{ "ip with antispoof = off", DRV NIC "antispoof = off\nip = a=10.0.0.1\n" AB,
	  "t.ini:6: [device n]: ip = gives the clients' addresses for antispoof = ip, but "
	  "antispoof = off here" },
	{ "ip for a client not on the NIC", DRV NIC "ip = a=10.0.0.1 b=10.0.0.2 c=10.0.0.3\n" AB,
	  "t.ini:5: [device n]: ip = c=...: c does not use device n (its clients: a, b)" },
	{ "ip leaves a client out", DRV NIC "ip = a=10.0.0.1\n" AB,
	  "t.ini:5: [device n]: ip = gives b, a client of n, no address: add b=ADDRESS" },
	{ "ip not an address", DRV NIC "ip = a=10.0.0.1 b=10.0.0.300\n" AB,
	  "t.ini:5: [device n]: ip = b=...: '10.0.0.300' is not an IP address or prefix" },
	{ "ip prefix too long", DRV NIC "ip = a=10.0.0.1/33 b=10.0.0.2\n" AB,
	  "t.ini:5: [device n]: ip = a=...: '10.0.0.1/33' is not an IP address" },
	{ "ip with host bits set", DRV NIC "ip = a=10.0.2.15/24 b=10.0.3.16\n" AB,
	  "t.ini:5: [device n]: ip = a=...: 10.0.2.15/24 has host bits set; give 10.0.2.15 for "
	  "that one address, or 10.0.2.0/24 for every address of the prefix" },
	{ "ip IPv6 with host bits set", DRV NIC "ip = a=fd00::15/64 b=10.0.3.16\n" AB,
	  "t.ini:5: [device n]: ip = a=...: fd00::15/64 has host bits set; give fd00::15 for "
	  "that one address, or fd00::/64" },
	{ "ip multicast", DRV NIC "ip = a=224.0.0.1 b=10.0.3.16\n" AB,
	  "t.ini:5: [device n]: ip = a=...: 224.0.0.1 is a multicast address, not one a client "
	  "sends from" },
	{ "ip unspecified", DRV NIC "ip = a=0.0.0.0 b=10.0.3.16\n" AB,
	  "t.ini:5: [device n]: ip = a=...: 0.0.0.0 is the unspecified address" },
	{ "ip loopback", DRV NIC "ip = a=::1 b=10.0.3.16\n" AB,
	  "t.ini:5: [device n]: ip = a=...: ::1 is a loopback address" },
	{ "ip broadcast", DRV NIC "ip = a=255.255.255.255 b=10.0.3.16\n" AB,
	  "t.ini:5: [device n]: ip = a=...: 255.255.255.255 is the broadcast address" },
	{ "ip link-local prefix", DRV NIC "ip = a=fe80::/64 b=10.0.3.16\n" AB,
	  "t.ini:5: [device n]: ip = a=...: fe80::/64 is a link-local prefix; every client has "
	  "its own link-local address from its MAC without it" },
	{ "ip IPv6 prefix too long", DRV NIC "ip = a=fd00::1/129 b=10.0.0.2\n" AB,
	  "t.ini:5: [device n]: ip = a=...: 'fd00::1/129' is not an IP address" },
	{ "IPv6 shared by two clients", DRV NIC "ip = a=fd00::1,10.0.0.1 b=fd00::/64,10.0.0.2\n" AB,
	  "t.ini:5: [device n]: ip =: fd00::1/128 of a and fd00::/64 of b overlap" },
	{ "ip entry without =", DRV NIC "ip = a 10.0.0.1\n" AB,
	  "t.ini:5: [device n]: ip = ... a ...: expected CLIENT=ADDRESS[,ADDRESS...]" },
	{ "ip given twice to a client", DRV NIC "ip = a=10.0.0.1 a=10.0.0.3 b=10.0.0.2\n" AB,
	  "t.ini:5: [device n]: ip = a=... is given twice" },
	{ "ip shared by two clients", DRV NIC "ip = a=10.0.0.0/24 b=10.0.0.2\n" AB,
	  "t.ini:5: [device n]: ip =: 10.0.0.0/24 of a and 10.0.0.2/32 of b overlap" },
	{ "too many addresses",
	  DRV NIC "ip = a=1.0.0.1,1.0.0.2,1.0.0.3,1.0.0.4,1.0.0.5,1.0.0.6,"
		  "1.0.0.7,1.0.0.8,1.0.0.9 b=2.0.0.1\n" AB,
	  "t.ini:5: [device n]: ip = a=...: more than 8 addresses" },
	{ "exempt client not on the NIC", DRV NIC "antispoof_exempt = c\n" AB,
	  "t.ini:5: [device n]: antispoof_exempt: c does not use device n (its clients: a, b)" },
	{ "exempt client given addresses",
	  DRV NIC "ip = a=10.0.0.1 b=10.0.0.2\n"
		  "antispoof_exempt = b\n" AB,
	  "t.ini:5: [device n]: ip = b=...: b is in antispoof_exempt" },
	{ "mtu on one NIC of two", DRV NIC "mtu = 9000\n[device m]\nvm = d\nkind = net\n",
	  "t.ini:5: [device n]: mtu = 9000: device m of the same driver VM d has mtu = 1500 (no "
	  "mtu key)" },
};

static void test_bad_table(void **state)
{
	struct config *cfg = calloc(1, sizeof(*cfg));
	unsigned i, failed = 0;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *text = strdup(bad[i].text), *at;
		int ret, queries = qemu_queries;

		/* @LINK@: a symbolic link to @IMG@ */
		at = strstr(text, "@LINK@");
		if (at)
			memcpy(at, "@IMG2@", 6);
		ret = parse(cfg, text);
		free(text);
		(void)queries;
		if (ret != -EINVAL || !strstr(cfg->errors, bad[i].message)) {
			printf("# case '%s': ret %d, wanted message:\n#   %s\n# got:\n#   %s\n",
			       bad[i].what, ret, bad[i].message, cfg->errors);
			failed++;
		}
	}
	free(cfg);
	assert_int_equal(failed, 0);
}

/* At most CFG_MAX_VMS VMs (the supervisor's table of QEMUs) and, apart from them,
 * CFG_MAX_HOST_CLIENTS host clients: the 17th VM is refused even with room left for
 * host clients (before, 16 VMs and a host client overran the supervisor's tables). */
static void test_vm_limits(void **state)
{
	struct config *cfg = calloc(1, sizeof(*cfg));
	char text[4096];
	size_t n = 0;
	unsigned i;

	(void)state;
	for (i = 0; i < CFG_MAX_HOST_CLIENTS; i++)
		n += snprintf(text + n, sizeof(text) - n, "[host-client h%u]\n", i);
	for (i = 0; i <= CFG_MAX_VMS; i++)
		n += snprintf(text + n, sizeof(text) - n, "[client-vm c%u]\n", i);
	assert_int_equal(parse(cfg, text), -EINVAL);
	assert_non_null(strstr(cfg->errors, "[client-vm c16]: too many VMs (driver and client "
					    "VMs) (at most 16)"));
	assert_null(strstr(cfg->errors, "[host-client"));
	memset(cfg, 0, sizeof(*cfg));
	n = 0;
	for (i = 0; i <= CFG_MAX_HOST_CLIENTS; i++)
		n += snprintf(text + n, sizeof(text) - n, "[host-client h%u]\n", i);
	assert_int_equal(parse(cfg, text), -EINVAL);
	assert_non_null(strstr(cfg->errors, "[host-client h8]: too many host clients (at most 8)"));
	free(cfg);
}

/* Several mistakes are all reported in one pass. */
static void test_all_errors_reported(void **state)
{
	struct config *cfg = calloc(1, sizeof(*cfg));

	(void)state;
	assert_int_equal(parse(cfg, DRV "cpus = 0\nmemory = x\n[device n]\nvm = d\n"), -EINVAL);
	assert_int_equal(cfg->nr_errors, 3);
	assert_non_null(strstr(cfg->errors, "t.ini:2: [driver-vm d]: cpus"));
	assert_non_null(strstr(cfg->errors, "t.ini:3: [driver-vm d]: memory"));
	assert_non_null(strstr(cfg->errors, "t.ini:4: [device n]: 'kind' is missing"));
	/* in line order, whichever pass found them (the missing kind is found by the
	 * check after the parse has reported line 6) */
	memset(cfg, 0, sizeof(*cfg));
	assert_int_equal(parse(cfg, "[device n]\nvm = d\n" DRV "memory = x\n[device m]\nvm = d\n"
				    "kind = net\nmtu = 1\n"),
			 -EINVAL);
	assert_int_equal(cfg->nr_errors, 3);
	assert_string_equal(
	    cfg->errors,
	    "t.ini:1: [device n]: 'kind' is missing; add kind = net or kind = blk\n"
	    "t.ini:4: [driver-vm d]: memory = x: expected a size from 64M to 64G, "
	    "like 256M or 1G\n"
	    "t.ini:8: [device m]: mtu = 1: expected a whole number from 68 to 65521\n");
	/* a storage key on a net device is one mistake, whatever its value */
	memset(cfg, 0, sizeof(*cfg));
	assert_int_equal(parse(cfg, DRV NIC "bps_limit = 1000\n"), -EINVAL);
	assert_string_equal(cfg->errors, "t.ini:5: [device n]: bps_limit (line 5) is for blk "
					 "devices with an image only; remove it\n");
	free(cfg);
}

/* One mistake, one message: nothing that follows from it is reported again (a bad
 * kind is not also "missing", a bad size does not make the image "missing", a device
 * of an unknown VM gets no model error, an unknown device name in a list is still
 * reported beside another error). */
static void test_no_knock_on_errors(void **state)
{
	struct config *cfg = calloc(1, sizeof(*cfg));

	(void)state;
	assert_int_equal(parse(cfg, DRV "[device b]\nvm = d\nkind = disk\nimage = @IMG@\n"),
			 -EINVAL);
	assert_int_equal(cfg->nr_errors, 1);
	assert_non_null(
	    strstr(cfg->errors, "t.ini:4: [device b]: kind = disk: expected net or blk"));
	memset(cfg, 0, sizeof(*cfg));
	assert_int_equal(parse(cfg,
			       DRV "[device b]\nvm = d\nkind = blk\nimage = /nonexistent-y.img\n"
				   "size = 256\n"),
			 -EINVAL);
	assert_int_equal(cfg->nr_errors, 1);
	assert_non_null(
	    strstr(cfg->errors, "t.ini:6: [device b]: size = 256: expected a disk size"));
	memset(cfg, 0, sizeof(*cfg));
	assert_int_equal(parse(cfg, DRV "[device b]\nvm = x\nkind = blk\nimage = @IMG@\n"
					"[client-vm c]\ndevices = b z\n"),
			 -EINVAL);
	assert_int_equal(cfg->nr_errors, 2);
	assert_non_null(strstr(cfg->errors, "t.ini:3: [device b]: vm = x: no such VM"));
	assert_non_null(
	    strstr(cfg->errors, "t.ini:7: [client-vm c]: devices: no device named 'z'"));
	/* a tap name that is too long: one error, not also "backend = tap needs tap" */
	memset(cfg, 0, sizeof(*cfg));
	assert_int_equal(parse(cfg, DRV NIC "backend = tap\ntap = a-name-of-twenty-chars\n"),
			 -EINVAL);
	assert_int_equal(cfg->nr_errors, 1);
	assert_non_null(strstr(cfg->errors,
			       "t.ini:6: [device n]: tap = a-name-of-twenty-chars: expected an "
			       "interface name of 1 to 15 characters"));
	/* a listed address that is another client's implicit link-local address */
	{
		char text[512], ll[64];
		const unsigned char *m;

		memset(cfg, 0, sizeof(*cfg));
		assert_int_equal(parse(cfg, DRV NIC AB), 0);
		m = cfg->channels[1].mac; /* b's */
		snprintf(ll, sizeof(ll), "fe80::%02x%02x:%02xff:fe%02x:%02x%02x", m[0] ^ 2, m[1],
			 m[2], m[3], m[4], m[5]);
		snprintf(text, sizeof(text), DRV NIC "ip = a=10.0.2.15,%s b=10.0.2.16\n" AB, ll);
		memset(cfg, 0, sizeof(*cfg));
		assert_int_equal(parse(cfg, text), -EINVAL);
		assert_non_null(
		    strstr(cfg->errors, "of a is b's link-local address (from its MAC)"));
	}
	/* a bad address in ip =: one error, not also "ip = gives a ... no address" */
	memset(cfg, 0, sizeof(*cfg));
	assert_int_equal(parse(cfg, DRV NIC "ip = a=10.0.2.256 b=10.0.2.16\n" AB), -EINVAL);
	assert_int_equal(cfg->nr_errors, 1);
	assert_non_null(strstr(cfg->errors, "'10.0.2.256' is not an IP address"));
	free(cfg);
}

/* Storage keys that parse: a pausing policy with the VM's stall checks off, discard off
 * (detect_zeroes follows it), read-only (nothing to zero). */
static void test_storage_keys(void **state)
{
	struct config *cfg = calloc(1, sizeof(*cfg));

	(void)state;
	assert_int_equal(parse(cfg,
			       DRV "heartbeat_timeout_ms = 0\nrequest_timeout_ms = 0\n" BLK
				   "werror = enospc\nrerror = stop\ndiscard = off\n"
				   "[device r]\nvm = d\nkind = blk\nmodel = nvme\nimage = @IMG3@\n"
				   "readonly = yes\nwerror = report\nrerror = ignore\n"
				   "[client-vm c]\ndevices = b r\n"),
			 0);
	assert_string_equal(cfg->devices[0].werror, "enospc");
	assert_string_equal(cfg->devices[0].rerror, "stop");
	assert_int_equal(cfg->devices[0].discard, 0);
	assert_string_equal(cfg->devices[0].detect_zeroes, "off");
	assert_string_equal(cfg->devices[1].rerror, "ignore");
	assert_int_equal(cfg->devices[1].discard, 1);
	assert_string_equal(cfg->devices[1].detect_zeroes, "off");
	free(cfg);
}

/* Every disk controller of the driver image by model alone, with properties and drive
 * options; lines of any length; NIC MTU (host_mtu where QEMU's model has it). */
static void test_models_and_props(void **state)
{
	static const struct {
		const char *model;
		enum cfg_attach attach;
		const char *disk, *controller;
	} want[] = {
		{ "nvme", CFG_ATTACH_DIRECT, "nvme", NULL },
		{ "virtio-blk-pci", CFG_ATTACH_DIRECT, "virtio-blk-pci", NULL },
		{ "ahci", CFG_ATTACH_IDE, "ide-hd", "ahci" },
		{ "virtio-scsi-pci", CFG_ATTACH_SCSI, "scsi-hd", "virtio-scsi-pci" },
		{ "megasas", CFG_ATTACH_SCSI, "scsi-hd", "megasas" },
		{ "megasas-gen2", CFG_ATTACH_SCSI, "scsi-hd", "megasas-gen2" },
		{ "lsi53c895a", CFG_ATTACH_SCSI, "scsi-hd", "lsi53c895a" },
		{ "pvscsi", CFG_ATTACH_SCSI, "scsi-hd", "pvscsi" },
		{ "am53c974", CFG_ATTACH_SCSI, "scsi-hd", "am53c974" },
		{ "usb-storage", CFG_ATTACH_USB, "usb-storage", "qemu-xhci" },
		{ "vhost-user-blk-pci-non-transitional-with-a-long-name", CFG_ATTACH_DIRECT, NULL,
		  NULL },
	};
	struct config *cfg = calloc(1, sizeof(*cfg));
	char *text = malloc(65536), *o = text, names[512] = "";
	unsigned i;

	(void)state;
	o += sprintf(o, "[driver-vm d]\nappend = %0900d\n", 0);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		char dimg[96];
		int fd;

		snprintf(dimg, sizeof(dimg), "%s.%u", img, i);
		fd = open(dimg, O_CREAT | O_WRONLY, 0644);
		assert_true(fd >= 0);
		assert_int_equal(ftruncate(fd, 1 << 20), 0); /* a disk, not an empty file */
		close(fd);
		o += sprintf(o, "[device b%u]\nvm = d\nkind = blk\nmodel = %s\nimage = %s\n", i,
			     want[i].model, dimg);
		sprintf(names + strlen(names), " b%u", i);
	}
	o += sprintf(o, "props = serial=%0300d,,x\n", 7); /* a long value, a ",," comma */
	o += sprintf(o,
		     "[device b99]\nvm = d\nkind = blk\nmodel = megasas\nimage = @IMG@\n"
		     "props = logical_block_size=4096,physical_block_size=4096\n"
		     "controller_props = max_cmds=64\ncache = none\naio = native\n"
		     "[driver-vm f]\n"
		     "[device n0]\nvm = f\nkind = net\nmodel = virtio-net\nmtu = 9000\n"
		     "props = mq=on\n"
		     "[driver-vm e]\n[device n1]\nvm = e\nkind = net\nmodel = e1000\n"
		     "mtu = 4000\nbackend = tap\ntap = t1\n"
		     "[device n2]\nvm = e\nkind = net\nmodel = usb-net\nmtu = 4000\n"
		     "controller_props = p2=4\n"
		     "[client-vm c]\ndevices =%s b99 n0\n[client-vm c2]\ndevices = n1 n2\n",
		     names);
	if (parse(cfg, text))
		fail_msg("%s", cfg->errors);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		char dimg[96];

		snprintf(dimg, sizeof(dimg), "%s.%u", img, i);
		unlink(dimg);
		assert_string_equal(cfg->devices[i].model, want[i].model);
		assert_int_equal(cfg->devices[i].attach, want[i].attach);
		if (want[i].disk)
			assert_string_equal(cfg_disk_device(&cfg->devices[i]), want[i].disk);
		if (want[i].controller)
			assert_string_equal(cfg_controller_device(&cfg->devices[i]),
					    want[i].controller);
		else
			assert_null(cfg_controller_device(&cfg->devices[i]));
	}
	assert_int_equal(strlen(cfg->vms[0].append), 900);
	assert_int_equal(strlen(cfg->devices[i - 1].props), strlen("serial=") + 300 + 3);
	assert_true(cfg_props_has(cfg->devices[i - 1].props, "serial"));
	assert_false(cfg_props_has(cfg->devices[i - 1].props, "x"));
	assert_string_equal(cfg->devices[i].props,
			    "logical_block_size=4096,physical_block_size=4096");
	assert_true(cfg_props_has(cfg->devices[i].props, "physical_block_size"));
	assert_false(cfg_props_has(cfg->devices[i].props, "block_size"));
	assert_string_equal(cfg->devices[i].controller_props, "max_cmds=64");
	assert_string_equal(cfg->devices[i].cache, "none");
	assert_string_equal(cfg->devices[i].aio, "native");
	assert_int_equal(cfg->devices[i + 1].mtu, 9000);
	assert_int_equal(cfg->devices[i + 1].host_mtu, 1); /* virtio-net-pci has host_mtu */
	assert_int_equal(cfg->devices[i + 2].mtu, 4000);
	assert_int_equal(cfg->devices[i + 2].host_mtu, 0); /* e1000 has not */
	assert_int_equal(cfg->devices[i + 2].attach, CFG_ATTACH_DIRECT);
	assert_null(cfg_controller_device(&cfg->devices[i + 2]));
	/* usb-net: on a qemu-xhci of its own */
	assert_int_equal(cfg->devices[i + 3].attach, CFG_ATTACH_USB);
	assert_string_equal(cfg_controller_device(&cfg->devices[i + 3]), "qemu-xhci");
	assert_int_equal(cfg->devices[i + 3].host_mtu, 0);
	assert_int_equal(cfg->nr_channels, 15);
	free(text);
	free(cfg);
}

/* QEMU that cannot be asked: one error, not one per device. */
static char *no_qemu(const char *dev)
{
	(void)dev;
	return NULL;
}

static void test_no_qemu(void **state)
{
	struct config *cfg = calloc(1, sizeof(*cfg));

	(void)state;
	config__set_qemu_query(no_qemu);
	assert_int_equal(parse(cfg, DRV NIC "[device m]\nvm = d\nkind = net\n"), -EINVAL);
	config__set_qemu_query(fake_qemu);
	assert_int_equal(cfg->nr_errors, 1);
	assert_non_null(strstr(cfg->errors, "t.ini: cannot ask QEMU (qemu-system-x86_64 -device "
					    "help) which devices it has"));
	free(cfg);
}

/* The default query runs $DDVM_QEMU (here a script standing in for QEMU) and caches its
 * answers in $DDVM_CACHE_DIR, in files named by the binary's identity. */
static void test_qemu_query_default(void **state)
{
	struct config *cfg = calloc(1, sizeof(*cfg));
	char dir[] = "/tmp/ddvm-qemu.XXXXXX", path[128], cache[128], cmd[512];
	FILE *f;
	int n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/qemu", dir);
	snprintf(cache, sizeof(cache), "%s/cache", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f,
		"#!/bin/sh\necho \"$*\" >>%s/calls\n"
		"case \"$*\" in\n"
		"*'-device help') printf 'Network devices:\\nname \"e1000\", bus PCI\\n' ;;\n"
		"*'-device e1000,help') printf 'e1000 options:\\n  mac=<str>\\n' ;;\n"
		"esac\n",
		dir);
	fclose(f);
	chmod(path, 0755);
	setenv("DDVM_QEMU", path, 1);
	setenv("DDVM_CACHE_DIR", cache, 1);
	config__set_qemu_query(NULL);
	assert_int_equal(parse(cfg, DRV NIC "props = mac=52:54:00:00:00:01\n"), -EINVAL);
	assert_non_null(strstr(cfg->errors, "props: mac is the key 'mac = ...'"));
	assert_int_equal(parse(cfg, DRV NIC "model = e1001\n"), -EINVAL);
	assert_non_null(strstr(cfg->errors, "model = e1001: QEMU has no such device"));
	assert_int_equal(parse(cfg, DRV NIC), 0);
	config__set_qemu_query(fake_qemu);
	unsetenv("DDVM_QEMU");
	unsetenv("DDVM_CACHE_DIR");
	/* asked once, with -machine none; the answer cached */
	snprintf(cmd, sizeof(cmd),
		 "test $(grep -c -- '-machine none -device help$' %s/calls) = 1 && "
		 "ls %s/qemu-*.devices.txt >/dev/null && grep -q e1000 %s/qemu-*.devices.txt",
		 dir, cache, cache);
	n = system(cmd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(n, 0);
	free(cfg);
}

/* A tap's bridge is checked with the file (exit 3 of `ddvm up`, file:line, nothing
 * started): one that is not there, and an interface that is no bridge (lo). */
static void test_bridges(void **state)
{
	static const char text[] = "[driver-vm d]\n"
				   "[device n]\nvm = d\nkind = net\nbackend = tap\ntap = t0\n"
				   "bridge = nosuchbr9\n"
				   "[device m]\nvm = d\nkind = net\nbackend = tap\ntap = t1\n"
				   "bridge = lo\n";
	struct config *cfg = calloc(1, sizeof(*cfg));

	(void)state;
	assert_int_equal(parse(cfg, text), 0);
	assert_int_equal(config__check_files(cfg), -EINVAL);
	assert_non_null(strstr(cfg->errors,
			       "t.ini:7: [device n]: bridge = nosuchbr9: no interface nosuchbr9 "
			       "here (in this network namespace): create the bridge "
			       "first (ip link add nosuchbr9 type bridge"));
	assert_non_null(strstr(cfg->errors,
			       "t.ini:13: [device m]: bridge = lo: lo is an interface here but "
			       "not a bridge"));
	free(cfg);
}

/* What check_files finds is reported at the key's own line ([ddvm]'s for an inherited
 * kernel), and a tap name that is another kind of interface is refused there too. */
static void test_check_files_lines(void **state)
{
	static const char text[] = "[ddvm]\n"
				   "kernel = /nonexistent-kernel\n"
				   "[driver-vm d]\n"
				   "memory = 256M\n"
				   "initrd = /tmp\n"
				   "run = /nonexistent-run.sh\n"
				   "[device n]\nvm = d\nkind = net\nbackend = tap\n"
				   "tap = lo\n";
	struct config *cfg = calloc(1, sizeof(*cfg));

	(void)state;
	assert_int_equal(parse(cfg, text), 0);
	assert_int_equal(config__check_files(cfg), -EINVAL);
	assert_non_null(strstr(cfg->errors, "t.ini:2: [driver-vm d]: kernel /nonexistent-kernel: "
					    "No such file or directory"));
	assert_non_null(strstr(cfg->errors, "t.ini:5: [driver-vm d]: initrd /tmp: not a regular "
					    "file"));
	assert_non_null(strstr(cfg->errors, "t.ini:6: [driver-vm d]: run script "
					    "/nonexistent-run.sh: No such file or directory"));
	assert_non_null(strstr(cfg->errors, "t.ini:11: [device n]: tap = lo: lo exists and is "
					    "not a tap (another kind of interface)"));
	free(cfg);
}

static void test_missing_file(void **state)
{
	struct config *cfg = calloc(1, sizeof(*cfg));

	(void)state;
	assert_int_equal(config__load(cfg, "/nonexistent/setup.ini"), -ENOENT);
	assert_non_null(strstr(cfg->errors, "/nonexistent/setup.ini: cannot open: No such file"));
	free(cfg);
}

/* Relative paths in a file are relative to the file, not to the caller's cwd. */
static void test_relative_paths(void **state)
{
	struct config *cfg = calloc(1, sizeof(*cfg));
	char dir[] = "/tmp/ddvm-cfg.XXXXXX", path[96], want[96];
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/setup.ini", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("[ddvm]\nkernel = vmlinuz\n[driver-vm d]\n", f);
	fclose(f);
	assert_int_equal(config__load(cfg, path), 0);
	snprintf(want, sizeof(want), "%s/vmlinuz", dir);
	assert_string_equal(cfg->vms[0].kernel, want);
	unlink(path);
	rmdir(dir);
	free(cfg);
}

/* What an existing image holds: a format's header where raw is assumed, an empty file,
 * a size that is not whole sectors (config_check.c, check_image_contents). */
static void test_image_contents(void **state)
{
	static const struct {
		const char *bytes;
		size_t len;
		off_t size;
		const char *keys, *want;
	} cases[] = {
		{ "QFI\xfb\0\0\0\3", 8, 1 << 20, "",
		  "is a qcow2 image (its header says so), not raw: add 'format = qcow2'" },
		{ "QFI\xfb\0\0\0\3", 8, 1 << 20, "format = qcow2\n", NULL },
		{ "QFI\xfb\0\0\0\3", 8, 1 << 20, "format = raw\n", NULL },
		{ "KDMV", 4, 1 << 20, "", "is a vmdk image (its header says so): ddvm serves raw" },
		{ "\0\0\0\0", 4, 1 << 20, "format = qcow2\n",
		  "format = qcow2, but image @F@ is not a qcow2 image" },
		{ "", 0, 0, "", "is empty (0 bytes): a disk needs a size" },
		{ "", 0, 1000000, "",
		  "is 1000000 bytes, not whole 512-byte sectors (the client would see a last "
		  "sector that is partly past the end, and a write there grows the file): "
		  "truncate -s 1000448" },
		{ "\xeb\x63\x90", 3, 1 << 20, "", NULL }, /* an MBR: raw */
	};
	char path[96], text[512];
	unsigned i;

	(void)state;
	snprintf(path, sizeof(path), "%s.contents", img);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config *cfg = calloc(1, sizeof(*cfg));
		int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
		char want[256];

		assert_true(fd >= 0);
		assert_int_equal(write(fd, cases[i].bytes, cases[i].len), (ssize_t)cases[i].len);
		assert_int_equal(ftruncate(fd, cases[i].size), 0);
		close(fd);
		snprintf(text, sizeof(text),
			 "[ddvm]\nkernel = /k\ndriver_initrd = /d\nclient_initrd = /c\n"
			 "[driver-vm d]\n[device b]\nvm = d\nkind = blk\nmodel = nvme\n"
			 "image = %s\n%s[client-vm c]\ndevices = b\n",
			 path, cases[i].keys);
		if (!cases[i].want) {
			assert_int_equal(config__parse_string(cfg, "t.ini", text), 0);
		} else {
			const char *at = strstr(cases[i].want, "@F@");

			if (at)
				snprintf(want, sizeof(want), "%.*s%s%s", (int)(at - cases[i].want),
					 cases[i].want, path, at + 3);
			else
				snprintf(want, sizeof(want), "%s", cases[i].want);
			assert_int_equal(config__parse_string(cfg, "t.ini", text), -EINVAL);
			if (!strstr(cfg->errors, want))
				fail_msg("case %u: %s", i, cfg->errors);
		}
		free(cfg);
	}
	unlink(path);
}

static void test_example_parses(void **state)
{
	struct config *cfg = calloc(1, sizeof(*cfg));
	const char *root = getenv("DDVM_ROOT");
	char path[512], disk[512], dir[480];
	int made = 0, rc;

	(void)state;
	snprintf(path, sizeof(path), "%s/examples/demo.ini", root ? root : ".");
	if (access(path, R_OK)) {
		free(cfg);
		skip();
	}
	/* The demo's disk image is made by scripts/demo.sh; on a fresh clone it is not
	 * there yet, and the parser rightly insists on it. Stand one in for the parse. */
	snprintf(dir, sizeof(dir), "%s/build/demo", root ? root : ".");
	snprintf(disk, sizeof(disk), "%s/build/demo/disk0.img", root ? root : ".");
	if (access(disk, F_OK)) {
		mkdir(dir, 0755);
		rc = open(disk, O_CREAT | O_EXCL | O_WRONLY, 0644);
		assert_true(rc >= 0);
		assert_int_equal(ftruncate(rc, 1 << 20), 0); /* an empty one is refused */
		close(rc);
		made = 1;
	}
	rc = config__load(cfg, path);
	if (made)
		unlink(disk);
	if (rc)
		fail_msg("%s", cfg->errors);
	/* the other examples: disks.ini creates its images (size =) in build/ */
	snprintf(path, sizeof(path), "%s/examples/disks.ini", root ? root : ".");
	if (config__load(cfg, path))
		fail_msg("%s", cfg->errors);
	assert_int_equal(cfg->nr_devices, 11);
	assert_int_equal(cfg->nr_channels, 11);
	snprintf(path, sizeof(path), "%s/examples/jumbo.ini", root ? root : ".");
	if (config__load(cfg, path))
		fail_msg("%s", cfg->errors);
	assert_int_equal(cfg->devices[0].mtu, 9000);
	free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_client_macs),
		cmocka_unit_test(test_antispoof),
		cmocka_unit_test(test_external_client),
		cmocka_unit_test(test_queues),
		cmocka_unit_test(test_bad_table),
		cmocka_unit_test(test_vm_limits),
		cmocka_unit_test(test_all_errors_reported),
		cmocka_unit_test(test_no_knock_on_errors),
		cmocka_unit_test(test_storage_keys),
		cmocka_unit_test(test_models_and_props),
		cmocka_unit_test(test_no_qemu),
		cmocka_unit_test(test_qemu_query_default),
		cmocka_unit_test(test_bridges),
		cmocka_unit_test(test_check_files_lines),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_relative_paths),
		cmocka_unit_test(test_example_parses),
		cmocka_unit_test(test_image_contents),
	};
	int fd, ret;

	config__set_qemu_query(fake_qemu);
	strcpy(img, "/tmp/ddvm-cfg-img.XXXXXX");
	fd = mkstemp(img);
	if (fd < 0 || ftruncate(fd, 1 << 20)) /* a disk of whole sectors, not empty */
		return 1;
	close(fd);
	snprintf(img2, sizeof(img2), "%s.link", img);
	if (symlink(img, img2))
		return 1;
	snprintf(img3, sizeof(img3), "%s.other", img);
	fd = open(img3, O_CREAT | O_WRONLY, 0644);
	if (fd < 0 || ftruncate(fd, 1 << 20))
		return 1;
	close(fd);
	ret = cmocka_run_group_tests_name("supervisor_config", tests, NULL, NULL);
	unlink(img3);
	unlink(img2);
	unlink(img);
	return ret;
}
