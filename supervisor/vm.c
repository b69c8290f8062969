/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * QEMU processes: command line, start, console, stop. Policy (when to start and
 * restart) lives in health.c.
 */
#include "vm.h"
#include "accel.h"
#include "log.h"
#include "snapshot.h"
#include "supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/*
 * Kernel parameters that take periodic work out of an idle driver VM, whose only jobs
 * are its devices and channels (issue 17's idle bar; docs/supervisor.md, "Idle"):
 * tsc=reliable: the TSC is the clocksource without the clocksource watchdog's check
 *   twice a second (the stock kernel marks it unstable under TCG and reads the ACPI
 *   PM timer instead, an I/O port QEMU emulates, at every clock read);
 * sysctl.vm.compaction_proactiveness=0: kcompactd sleeps until compaction is asked
 *   for instead of looking every 500 ms (proactive compaction is for huge pages);
 * psi=0: no pressure averages every 2 s;
 * nowatchdog: no soft-lockup check every 4 s (a hung driver VM is the supervisor's
 *   heartbeat to find, docs/dependability.md).
 * A trace of an idle guest's timers: ~9 wake-ups a second before, ~1.7 after.
 * A user's `append` comes after these and can undo any of them but nowatchdog
 * (tsc=unstable, sysctl.vm.compaction_proactiveness=20, psi=1).
 */
#define DRIVER_VM_IDLE_APPEND "tsc=reliable sysctl.vm.compaction_proactiveness=0 psi=0 nowatchdog"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

void vm__init(struct vm *vm, struct supervisor *sup, const struct cfg_vm *cfg, const char *rundir)
{
	unsigned i;

	memset(vm, 0, sizeof(*vm));
	vm->cfg = cfg;
	vm->sup = sup;
	vm->pid = -1;
	vm->pidfd = -1;
	vm->con_fd = -1;
	vm->log_fd = -1;
	vm->retired_ram_fd = -1;
	qmp__init(&vm->qmp);
	for (i = 0; i < VM_MAX_CONSOLES; i++)
		vm->consoles[i] = -1;
	for (i = 0; i < TAP_MAX_OWNED; i++)
		vm->tap_fds[i] = vm->tap_anchors[i] = -1;
	snprintf(vm->qmp_path, sizeof(vm->qmp_path), "%s/%s.qmp", rundir, cfg->name);
	snprintf(vm->pid_path, sizeof(vm->pid_path), "%s/%s.pid", rundir, cfg->name);
	snprintf(vm->log_path, sizeof(vm->log_path), "%s/%s.log", rundir, cfg->name);
	snprintf(vm->qemu_log_path, sizeof(vm->qemu_log_path), "%s/%s.qemu.log", rundir, cfg->name);
	snprintf(vm->chan_path, sizeof(vm->chan_path), "%s/%s.channels", rundir, cfg->name);
	snapshot__init(vm, rundir);
}

int vm__alive(const struct vm *vm)
{
	return vm->pid > 0;
}

json_t *vm__pss_kib(struct vm *vm, uint64_t now)
{
	char path[64], line[128];
	long long kib = -1;
	FILE *f;

	if (!vm__alive(vm))
		return json_null();
	/* walking QEMU's page tables costs ms: tools poll status far more often */
	if (vm->pss_ms && vm->pss_kib >= 0 && now - vm->pss_ms < VM_PSS_MAX_AGE_MS &&
	    vm->pss_ms >= vm->started_ms)
		return json_integer(vm->pss_kib);
	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)vm->pid);
	f = fopen(path, "re");
	if (!f)
		return json_null();
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Pss: %lld kB", &kib) == 1)
			break;
	fclose(f);
	vm->pss_kib = kib;
	vm->pss_ms = now;
	return kib >= 0 ? json_integer(kib) : json_null();
}

static void add(struct vm_argv *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(struct vm_argv *a, const char *fmt, ...)
{
	size_t room = sizeof(a->store) - a->used;
	va_list ap;
	int n;

	if (a->overflow || a->argc + 1 >= VM_ARGV_MAX) {
		a->overflow = 1;
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(a->store + a->used, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room) {
		a->overflow = 1;
		return;
	}
	a->argv[a->argc++] = a->store + a->used;
	a->argv[a->argc] = NULL;
	a->used += n + 1;
}

const char *vm__qemu_opt_path(const char *path, char *buf, size_t len)
{
	size_t o = 0;

	if (!strchr(path, ','))
		return path;
	for (; *path && o + 2 < len; path++) {
		buf[o++] = *path;
		if (*path == ',')
			buf[o++] = ',';
	}
	buf[o] = 0;
	return buf;
}

/* ",PROPS" or "" */
static const char *comma(const char *props, char *buf, size_t len)
{
	if (!props || !*props)
		return "";
	snprintf(buf, len, ",%s", props);
	return buf;
}

/*
 * A disk: its -drive, then the device(s) that carry it, all at the device's PCI slot
 * (a controller the model needs sits there too, so the disk's PCI function -- the name
 * the translation module is given, disk/by-pci/0000:00:SS.0 -- is the device's slot).
 * A failed request of the host file (ENOSPC, EIO) fails in the guest (werror/rerror =
 * report) instead of pausing the whole driver VM, QEMU's default for writes (enospc);
 * the supervisor hears of it through QMP's BLOCK_IO_ERROR (storage.c). discard=unmap
 * lets the guest's discards punch holes into the image; detect-zeroes=unmap does the
 * same for written zeroes. props go on the device that holds the disk (user's values
 * win over the supervisor's defaults), controller_props on the controller.
 */
static void add_disk(const struct cfg_device *d, struct vm_argv *a)
{
	char p[CFG_PROPS_MAX + 2], cp[CFG_PROPS_MAX + 2], bps[48] = "", iops[48] = "";
	char img[2 * CFG_PATH_MAX + 1];
	const char *props = comma(d->props, p, sizeof(p));
	const char *cprops = comma(d->controller_props, cp, sizeof(cp));
	/* discard = off on a disk behind a bus (ide-hd, scsi-hd, usb-storage): QEMU
	 * offers TRIM/UNMAP whenever discard_granularity is nonzero, whatever the drive
	 * does with them; 0 makes the disk not claim discard, so the driver VM's Linux,
	 * and the channel's F_DISCARD after it, tell the truth (checked per controller:
	 * discard_max_bytes 0 in the driver VM). virtio-blk has discard=off below; nvme
	 * cannot (config_check.c refuses it). */
	const char *nogran = !d->discard && !cfg_props_has(d->props, "discard_granularity")
				 ? ",discard_granularity=0"
				 : "";

	if (d->bps_limit)
		snprintf(bps, sizeof(bps), ",throttling.bps-total=%u", d->bps_limit);
	if (d->iops_limit)
		snprintf(iops, sizeof(iops), ",throttling.iops-total=%u", d->iops_limit);
	add(a, "-drive");
	add(a,
	    "if=none,id=drv-%s,file=%s,format=%s,werror=%s,rerror=%s,discard=%s,"
	    "detect-zeroes=%s%s%s%s%s%s%s%s%s",
	    d->name, vm__qemu_opt_path(d->image, img, sizeof(img)), d->format,
	    d->werror[0] ? d->werror : "report", d->rerror[0] ? d->rerror : "report",
	    d->discard ? "unmap" : "ignore", d->detect_zeroes[0] ? d->detect_zeroes : "off",
	    d->readonly ? ",readonly=on" : "", d->cache[0] ? ",cache=" : "", d->cache,
	    d->aio[0] ? ",aio=" : "", d->aio, bps, iops,
	    /* spare = yes: the paused spare's QEMU holds the image open too, and QEMU's
	     * image locking would refuse it; the supervisor is the lock instead: the
	     * spare does no I/O until the active QEMU is reaped (spare.h). Raw only. */
	    d->vm && d->vm->spare ? ",file.locking=off" : "");
	switch (d->attach) {
	case CFG_ATTACH_IDE:  /* AHCI: the disk on the controller's first port */
	case CFG_ATTACH_SCSI: /* an HBA: the disk on its bus */
		add(a, "-device");
		add(a, "%s,id=hba-%s,addr=0x%x%s", d->model, d->name, d->pci_slot, cprops);
		add(a, "-device");
		add(a, "%s,drive=drv-%s,bus=hba-%s.0%s%s",
		    d->attach == CFG_ATTACH_IDE ? "ide-hd" : "scsi-hd", d->name, d->name, nogran,
		    props);
		return;
	case CFG_ATTACH_USB:
		/* a USB host controller of its own (xhci: usb-storage at USB 3 speed) */
		add(a, "-device");
		add(a, "qemu-xhci,id=usb-%s,addr=0x%x%s", d->name, d->pci_slot, cprops);
		add(a, "-device");
		add(a, "%s,drive=drv-%s,bus=usb-%s.0%s%s", d->model, d->name, d->name, nogran,
		    props);
		return;
	case CFG_ATTACH_DIRECT:
		break;
	}
	add(a, "-device");
	if (!strcmp(d->model, "nvme") && !cfg_props_has(d->props, "serial"))
		add(a, "nvme,drive=drv-%s,serial=ddvm-%s,addr=0x%x%s", d->name, d->name,
		    d->pci_slot, props);
	else if (!strncmp(d->model, "virtio-blk", 10) && !d->discard &&
		 !cfg_props_has(d->props, "discard"))
		/* discard = off: the disk does not claim it (the channel's F_DISCARD
		 * follows), rather than dropping what the guest sends */
		add(a, "%s,drive=drv-%s,addr=0x%x,discard=off%s", d->model, d->name, d->pci_slot,
		    props);
	else
		add(a, "%s,drive=drv-%s,addr=0x%x%s", d->model, d->name, d->pci_slot, props);
}

/* The driver VM's own devices, each on the PCI slot the config parser gave it. */
static void add_devices(const struct vm *vm, const struct config *cfg, struct vm_argv *a)
{
	unsigned i, taps = 0;

	for (i = 0; i < cfg->nr_devices; i++) {
		const struct cfg_device *d = &cfg->devices[i];

		if (d->vm != vm->cfg)
			continue;
		if (d->host[0]) {
			add(a, "-device");
			add(a, "vfio-pci,host=%s,addr=0x%x", d->host, d->pci_slot);
		} else if (d->kind == CFG_NET) {
			char mac[32] = "", mtu[32] = "", p[CFG_PROPS_MAX + 2];
			const char *props = comma(d->props, p, sizeof(p));

			if (d->mac[0])
				snprintf(mac, sizeof(mac), ",mac=%s", d->mac);
			/* virtio-net: the MTU the device offers the driver VM's guest */
			if (d->mtu && d->host_mtu)
				snprintf(mtu, sizeof(mtu), ",host_mtu=%u", d->mtu);
			if (d->net_backend == CFG_NET_USER) {
				/* restrict=on: the guest reaches the host only, never the world. */
				add(a, "-netdev");
				add(a, "user,id=net-%s,restrict=on", d->name);
			} else if (d->net_backend == CFG_NET_TAP && tap__owned(vm->cfg)) {
				/* spare = yes: a queue of the supervisor's multiqueue tap, open
				 * in QEMU as fd VM_TAP_FD_BASE + K (tap.h, vm__start) */
				add(a, "-netdev");
				add(a, "tap,id=net-%s,fd=%u", d->name, VM_TAP_FD_BASE + taps);
				taps++;
			} else if (d->net_backend == CFG_NET_TAP) {
				/* QEMU creates a non-persistent tap: it vanishes when QEMU exits.
				 * Its MTU is set once it exists (tap__setup, tap.c). */
				add(a, "-netdev");
				add(a, "tap,id=net-%s,ifname=%s,script=no,downscript=no", d->name,
				    d->tap);
			}
			if (d->attach == CFG_ATTACH_USB) {
				/* usb-net: a USB host controller of its own at the device's slot
				 * (the NIC's nearest PCI ancestor, how the translation module
				 * finds it), the NIC on its bus */
				char cp[CFG_PROPS_MAX + 2];

				add(a, "-device");
				add(a, "qemu-xhci,id=usb-%s,addr=0x%x%s", d->name, d->pci_slot,
				    comma(d->controller_props, cp, sizeof(cp)));
				add(a, "-device");
				if (d->net_backend == CFG_NET_NONE)
					add(a, "%s,bus=usb-%s.0%s%s%s", d->model, d->name, mac, mtu,
					    props);
				else
					add(a, "%s,netdev=net-%s,bus=usb-%s.0%s%s%s", d->model,
					    d->name, d->name, mac, mtu, props);
				continue;
			}
			add(a, "-device");
			if (d->net_backend == CFG_NET_NONE)
				add(a, "%s,addr=0x%x%s%s%s", d->model, d->pci_slot, mac, mtu,
				    props);
			else
				add(a, "%s,netdev=net-%s,addr=0x%x%s%s%s", d->model, d->name,
				    d->pci_slot, mac, mtu, props);
		} else if (d->kind == CFG_BLK) {
			add_disk(d, a);
		}
	}
}

/* A driver VM whose NICs have an mtu: the translation module sets it on each NIC
 * (ddvm_netback.nic_mtu; config_check.c makes the NICs of one VM agree), and the
 * client adopts the MTU the channel announces. 0: none. */
static unsigned nic_mtu(const struct vm *vm, const struct config *cfg)
{
	unsigned i;

	for (i = 0; i < cfg->nr_devices; i++)
		if (cfg->devices[i].vm == vm->cfg && cfg->devices[i].kind == CFG_NET &&
		    cfg->devices[i].mtu)
			return cfg->devices[i].mtu;
	return 0;
}

/*
 * Channel devices. The driver VM's are numbered by index_in_driver, a client's by
 * index_in_client, from slot 0x10, so each side finds channel N at a fixed address
 * (also listed in NAME.channels, which the guest reads as fw_cfg opt/ddvm/channels).
 */
static void add_channels(const struct vm *vm, const struct config *cfg, const char *chan_dir,
			 struct vm_argv *a)
{
	char dir[2 * CFG_PATH_MAX + 1];
	unsigned i;

	chan_dir = vm__qemu_opt_path(chan_dir, dir, sizeof(dir));
	for (i = 0; i < cfg->nr_channels; i++) {
		const struct cfg_channel *c = &cfg->channels[i];
		const char *role;
		unsigned slot;

		if (c->dev->vm == vm->cfg) {
			role = "driver";
			slot = 0x10 + c->index_in_driver;
		} else if (c->client == vm->cfg) {
			role = "client";
			slot = 0x10 + c->index_in_client;
		} else {
			continue;
		}
		add(a, "-chardev");
		add(a, "socket,id=ch%u,path=%s/%s.%s.sock", i, chan_dir, c->name, role);
		add(a, "-device");
		add(a, "ivshmem-doorbell,chardev=ch%u,vectors=%u,addr=0x%x", i,
		    DDVM_VECTOR_QUEUE(c->dev->queues), slot);
	}
}

/*
 * restart = snapshot: no channel device on the command line (it would block the
 * snapshot), one hot-plug capable root port per channel instead, at the slot the
 * channel would have had; snapshot.c plugs channel N into rpN, bus N+1 in the guest.
 */
static void add_root_ports(const struct vm *vm, const struct config *cfg, struct vm_argv *a)
{
	unsigned i;

	/* Hot-plug through ACPI (acpiphp), not the root port's native PCIe hot-plug: the
	 * guest's pciehp waits for the link as the PCIe spec asks (20 ms + 100 ms after
	 * "Link Up", measured 134 ms under TCG) before it even looks at the device, where
	 * acpiphp scans the slot at once. QEMU 7.2's q35 does this by default; pinned here
	 * because a restore's time depends on it. */
	add(a, "-global");
	add(a, "ICH9-LPC.acpi-pci-hotplug-with-bridge-support=on");

	for (i = 0; i < cfg->nr_channels; i++) {
		const struct cfg_channel *c = &cfg->channels[i];

		uint64_t size = vm->sup ? vm->sup->channels[i].size : 0, win = 1 << 20;

		if (c->dev->vm != vm->cfg)
			continue;
		/* The firmware sizes a hot-plug port's windows at boot: reserve room for the
		 * channel's BAR2 (the region, 64-bit prefetchable, naturally aligned) or it
		 * cannot be mapped. Twice its size: SeaBIOS aligns the window to 1 MiB only. */
		while (win < size)
			win <<= 1;
		win <<= 1;
		add(a, "-device");
		add(a,
		    "pcie-root-port,id=rp%u,bus=pcie.0,chassis=%u,addr=0x%x,"
		    "pref64-reserve=%llu",
		    c->index_in_driver, c->index_in_driver + 1, 0x10 + c->index_in_driver,
		    (unsigned long long)(size ? win : 64ULL << 20));
	}
}

/* What VM boots, kernel (WHICH 0) or initrd (1): an upgrade's new image while it boots
 * as the spare, else the file the supervisor holds open for it (supervisor.h). */
static const char *vm__boot_file(const struct vm *vm, int which, char *buf, size_t len)
{
	if (vm->image)
		return which ? vm->image->initrd : vm->image->kernel;
	return supervisor__boot_path(vm->sup, vm->cfg, which, buf, len);
}

int vm__build_argv(const struct vm *vm, const struct config *cfg, const char *accel,
		   const char *chan_dir, struct vm_argv *a)
{
	const struct cfg_vm *c = vm->cfg;
	char smp[32], bk[48], bi[48], esc[2 * CFG_PATH_MAX + 1];

	memset(a, 0, sizeof(*a));
	add(a, "%s", vm->sup && vm->sup->qemu[0] ? vm->sup->qemu : "qemu-system-x86_64");
	add(a, "-name");
	add(a, "%s,debug-threads=on", c->name);
	add(a, "-accel");
	/* TCG's translation buffer: QEMU reserves 1 GiB and keeps every page of it that it
	 * ever wrote (~54 MiB after a driver VM's boot); capped, TCG flushes it when full
	 * and re-translates what still runs (docs/bench.md, section 3). */
	if (!strcmp(accel, "tcg") && c->tb_size_mb)
		add(a, "tcg,tb-size=%u", c->tb_size_mb);
	else
		add(a, "%s", accel);
	if (accel_cpu(accel)) {
		add(a, "-cpu");
		add(a, "%s", accel_cpu(accel));
	}
	add(a, "-M");
	/* No emulated HPET: under TCG it is the guest's clocksource, and every clock read
	 * and timer of an idle guest is an MMIO exit; without it the guest uses the ACPI
	 * PM timer (TCG) or kvm-clock (KVM). Measured on an idle driver VM + client under
	 * `ddvm up` (TCG): 2.06-2.10 % of a core vs 2.36-2.56 % with it (docs/bench.md §3). */
	add(a, "q35,hpet=off%s", snapshot__enabled(vm) ? ",memory-backend=ram" : "");
	add(a, "-m");
	add(a, "%u", c->memory_mb);
	if (snapshot__enabled(vm)) {
		/* restart = snapshot: the guest's RAM is a memfd the supervisor hands QEMU as
		 * fd 3 (snapshot.h). A cold boot maps its own, shared, so that the snapshot
		 * can leave the RAM out of the stream (x-ignore-shared) and the supervisor can
		 * copy it; a restore maps that copy private: copy-on-write, the copy stays as
		 * it was after the first boot. */
		add(a, "-object");
		add(a, "memory-backend-file,id=ram,size=%uM,mem-path=/proc/self/fd/%d,share=%s",
		    c->memory_mb, VM_RAM_FD, vm->restoring ? "off" : "on");
	}
	/* Under TCG, a second, absent vCPU keeps the guest's memory barriers (accel.c). */
	accel_smp(accel, c->cpus, smp, sizeof(smp));
	add(a, "-smp");
	add(a, "%s", smp);
	add(a, "-nodefaults");
	add(a, "-display");
	add(a, "none");
	/* A guest reboot is a failure like any other: let QEMU exit and health.c decide. */
	add(a, "-no-reboot");
	add(a, "-kernel");
	add(a, "%s", vm__boot_file(vm, 0, bk, sizeof(bk)));
	add(a, "-initrd");
	add(a, "%s", vm__boot_file(vm, 1, bi, sizeof(bi)));
	add(a, "-append");
	/* A driver VM is disposable: an oops anywhere in it is a panic (pvpanic tells us at
	 * once) rather than a half-dead kernel holding the device. DRIVER_VM_IDLE_APPEND:
	 * fewer wake-ups of an idle driver VM. no_timer_check: on a
	 * loaded TCG host the kernel's boot-time test of the IO-APIC timer (a few ticks
	 * within a busy-wait) fails, and the guest hangs after "..MP-BIOS bug: 8254 timer
	 * not connected to IO-APIC" (seen at load 13-17 on 2 cores); QEMU's routing is
	 * known good, so skip the test as virtualised guests commonly do. */
	{
		const char *append = vm->image ? vm->image->append : c->append;
		char mtu[48] = "";

		if (c->role == CFG_DRIVER_VM && nic_mtu(vm, cfg))
			snprintf(mtu, sizeof(mtu), " ddvm_netback.nic_mtu=%u", nic_mtu(vm, cfg));
		add(a, "console=ttyS0 panic=-1 no_timer_check quiet ddvm.vm=%s%s%s%s%s", c->name,
		    c->role == CFG_DRIVER_VM ? " oops=panic " DRIVER_VM_IDLE_APPEND : "", mtu,
		    append[0] ? " " : "", append);
	}
	/* The serial port is our socketpair (QEMU's stdin/stdout). */
	add(a, "-chardev");
	add(a, "stdio,id=con0,signal=off,mux=off");
	add(a, "-serial");
	add(a, "chardev:con0");
	add(a, "-qmp");
	add(a, "unix:%s,server=on,wait=off", vm__qemu_opt_path(vm->qmp_path, esc, sizeof(esc)));
	/* Guest panics arrive as QMP GUEST_PANICKED instead of a silent hang. */
	add(a, "-device");
	add(a, "pvpanic");
	add(a, "-pidfile");
	add(a, "%s", vm->pid_path);
	add(a, "-fw_cfg");
	add(a, "name=opt/ddvm/channels,file=%s",
	    vm__qemu_opt_path(vm->chan_path, esc, sizeof(esc)));
	if (c->run[0]) {
		add(a, "-fw_cfg");
		add(a, "name=opt/ddvm/run,file=%s", vm__qemu_opt_path(c->run, esc, sizeof(esc)));
	}
	add_devices(vm, cfg, a);
	/* Free-page reporting: the guest tells QEMU which (2 MiB) blocks it freed -- its
	 * decompressor, the unpacked initramfs, boot-time allocations -- and QEMU gives
	 * them back to the host (MADV_DONTNEED), so an idle VM holds what it uses rather
	 * than everything it ever touched. The images' /init loads virtio_balloon. */
	if (c->balloon > 0) {
		add(a, "-device");
		add(a, "virtio-balloon-pci,free-page-reporting=on,addr=0x%x", VM_BALLOON_SLOT);
	}
	if (snapshot__enabled(vm)) {
		add_root_ports(vm, cfg, a);
		if (vm->restoring) {
			add(a, "-incoming");
			add(a, "defer");
		}
	} else {
		add_channels(vm, cfg, chan_dir, a);
	}
	return a->overflow ? -E2BIG : 0;
}

/*
 * NAME.channels: "CHANNEL KIND ROLE PCI-ADDRESS PEER-ID [target=BDF queues=N layout=ID [mac=MAC
 * antispoof=POLICY]]" per line, for the guest (fw_cfg opt/ddvm/channels). A driver VM's
 * /init hands its lines to the translation modules (their `channels` parameter): a
 * channel's kind, target, queue pairs (hence its region's layout, channel.c), client
 * MAC and anti-spoofing policy come from here, never from the region's header, which
 * the client can write when the module reads it (at probe, at a spare's takeover).
 */
static int vm__write_channels(const struct vm *vm, const struct config *cfg)
{
	FILE *f = fopen(vm->chan_path, "we");
	unsigned i;

	if (!f)
		return -errno;
	for (i = 0; i < cfg->nr_channels; i++) {
		const struct cfg_channel *c = &cfg->channels[i];
		char mac[480] = "", spoof[400], m[18];

		if (c->dev->kind == CFG_NET && cfg_channel_antispoof(c, spoof, sizeof(spoof)) < 0)
			log_msg(LOG_ERR,
				"%s: %s: its anti-spoofing policy does not fit the channel "
				"list; the driver VM will refuse the channel",
				vm->cfg->name, c->name);
		else if (c->dev->kind == CFG_NET)
			snprintf(mac, sizeof(mac), " mac=%s antispoof=%s", cfg_mac_str(c->mac, m),
				 spoof);
		if (c->dev->vm == vm->cfg && snapshot__enabled(vm))
			fprintf(f,
				"%s %s driver 0000:%02x:00.0 0 target=0000:00:%02x.0 queues=%u "
				"layout=%08x%s\n",
				c->name, cfg_kind_name(c->dev->kind), c->index_in_driver + 1,
				c->dev->pci_slot, c->dev->queues, vm->sup->channels[i].layout_id,
				mac);
		else if (c->dev->vm == vm->cfg)
			fprintf(f,
				"%s %s driver 0000:00:%02x.0 0 target=0000:00:%02x.0 queues=%u "
				"layout=%08x%s\n",
				c->name, cfg_kind_name(c->dev->kind), 0x10 + c->index_in_driver,
				c->dev->pci_slot, c->dev->queues, vm->sup->channels[i].layout_id,
				mac);
		else if (c->client == vm->cfg)
			fprintf(f, "%s %s client 0000:00:%02x.0 1\n", c->name,
				cfg_kind_name(c->dev->kind), 0x10 + c->index_in_client);
	}
	return fclose(f) ? -errno : 0;
}

/*
 * One console log holds every incarnation of its VM (restarts, a spare's successive
 * QEMUs, an upgrade's new image), appended: a line between them says which boot the
 * lines below belong to, for `ddvm logs`.
 */
void vm__log_separator(struct vm *vm, const char *what)
{
	char when[32];
	time_t t = time(NULL);
	struct tm tm;

	vm->log_dsr = 0; /* what the last QEMU left of a query is not the new one's */
	if (vm->log_fd < 0 || !localtime_r(&t, &tm) ||
	    !strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm))
		return;
	dprintf(vm->log_fd, "\n----- ddvm: %s%s: %s (pid %d) at %s -----\n", vm->cfg->name,
		vm->spare_of ? " (spare)" : "", what, vm->pid, when);
}

static void log_boot_separator(struct vm *vm)
{
	vm__log_separator(vm, "QEMU started");
}

int vm__start(struct vm *vm)
{
	struct supervisor *sup = vm->sup;
	struct vm_argv *a;
	int sv[2], qlog, ram, ret;
	pid_t pid, parent;
	char bk[48], bi[48];
	const char *kernel = vm__boot_file(vm, 0, bk, sizeof(bk));
	const char *initrd = vm__boot_file(vm, 1, bi, sizeof(bi));

	if (access(kernel, R_OK) || access(initrd, R_OK)) {
		pr_err("%s: kernel %s or initrd %s is missing; run 'make images' or fix the "
		       "setup file",
		       vm->cfg->name, vm->image ? vm->image->kernel : vm->cfg->kernel,
		       vm->image ? vm->image->initrd : vm->cfg->initrd);
		return -ENOENT;
	}
	a = malloc(sizeof(*a));
	if (!a)
		return -ENOMEM;
	snapshot__prepare_start(vm);
	ret = vm__build_argv(vm, sup->cfg, sup->accel, sup->chan_dir, a);
	if (ret)
		goto err_free;
	ram = snapshot__ram_fd(vm);
	if (ram < 0 && ram != -ENOENT) {
		ret = ram;
		goto err_free;
	}
	ret = vm__write_channels(vm, sup->cfg);
	if (ret)
		goto err_free;
	ret = tap__open_queues(vm);
	if (ret)
		goto err_free;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		ret = -errno;
		goto err_close_taps;
	}
	qlog = open(vm->qemu_log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (qlog < 0) {
		ret = -errno;
		goto err_close_pair;
	}
	if (vm->log_fd < 0) {
		struct stat st;

		vm->log_fd = open(vm->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
		vm->log_bytes =
		    vm->log_fd >= 0 && !fstat(vm->log_fd, &st) ? (uint64_t)st.st_size : 0;
	}

	parent = getpid();
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		goto err_close_qlog;
	}
	if (pid == 0) {
		/* Child: QEMU must die with the supervisor, even when it is SIGKILLed. */
		sigset_t none;
		int tap[TAP_MAX_OWNED];
		unsigned k;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* the supervisor died before that took effect: no QEMU outlives it */
		if (getppid() != parent)
			_exit(127);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		setpgid(0, 0); /* a ^C at the terminal goes to ddvm, which stops QEMU */
		dup2(sv[1], 0);
		dup2(sv[1], 1);
		dup2(qlog, 2);
		/* the tap queues out of the way of fds 3.. first (any of them may be one) */
		for (k = 0; k < TAP_MAX_OWNED; k++)
			if ((tap[k] = vm->tap_fds[k]) >= 0 &&
			    (tap[k] = fcntl(tap[k], F_DUPFD_CLOEXEC, 64)) < 0)
				_exit(127);
		/* dup2 leaves close-on-exec off on the copy; fd 3 itself keeps it */
		if (ram >= 0 &&
		    (ram == VM_RAM_FD ? fcntl(ram, F_SETFD, 0) : dup2(ram, VM_RAM_FD)) < 0)
			_exit(127);
		for (k = 0; k < TAP_MAX_OWNED; k++)
			if (tap[k] >= 0 && dup2(tap[k], VM_TAP_FD_BASE + (int)k) < 0)
				_exit(127);
		execvp(a->argv[0], a->argv);
		dprintf(2, "ddvm: cannot run %s: %s\n", a->argv[0], strerror(errno));
		_exit(127);
	}
	vm->pid = pid;
	log_boot_separator(vm);
	vm->pidfd = syscall(SYS_pidfd_open, pid, 0);
	if (vm->pidfd < 0)
		pr_warn("%s: pidfd_open: %s (exit detection by SIGCHLD only)", vm->cfg->name,
			strerror(errno));
	close(qlog);
	close(sv[1]);
	vm->con_fd = sv[0];
	fcntl(vm->con_fd, F_SETFL, O_NONBLOCK);
	vm->started_ms = now_ms();
	vm->up_since_ms = vm->started_ms;
	vm->ready_ms = 0;
	vm->taps_set = 0;
	vm->tap_retry_ms = 0;
	memset(vm->tap_ifindex, 0, sizeof(vm->tap_ifindex));
	vm->guest_exit = VM_GUEST_NONE;
	vm->panic_line[0] = 0;
	vm->prev_line[0] = 0;
	vm->load_failed_lines = 0;
	storage__vm_started(vm);
	vm->line_len = 0;
	vm__event(vm, VM_EV_START);
	pr_debug("%s: qemu pid %d: %s ...", vm->cfg->name, pid, a->argv[0]);
	free(a);
	return 0;

err_close_qlog:
	close(qlog);
err_close_pair:
	close(sv[0]);
	close(sv[1]);
err_close_taps:
	tap__close_queues(vm->tap_fds);
err_free:
	free(a);
	return ret;
}

int vm__signal(struct vm *vm, int sig)
{
	if (vm->pid <= 0) {
		errno = ESRCH;
		return -1;
	}
	/* Through the pidfd: a reaped and recycled pid can never be hit by mistake. */
	if (vm->pidfd >= 0)
		return syscall(SYS_pidfd_send_signal, vm->pidfd, sig, NULL, 0) < 0 ? -1 : 0;
	return kill(vm->pid, sig);
}

int vm__reap(struct vm *vm)
{
	int status = 0;
	pid_t r;

	if (vm->pid <= 0)
		return -ECHILD;
	do
		r = waitpid(vm->pid, &status, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return -EAGAIN; /* still running */
	vm->pid = -1;
	vm->kill_at_ms = 0; /* vm__kill's stop: gone with it */
	if (vm->pidfd >= 0)
		close(vm->pidfd);
	vm->pidfd = -1;
	if (vm->con_fd >= 0) {
		/* Whatever QEMU printed last (a panic trace) still goes to the log. */
		vm__console_read(vm, now_ms());
		close(vm->con_fd);
	}
	vm->con_fd = -1;
	qmp__close(&vm->qmp);
	tap__close_queues(vm->tap_fds); /* its queues go with it (tap.h) */
	unlink(vm->pid_path);
	unlink(vm->qmp_path);
	snapshot__qemu_gone(vm);
	return r < 0 ? 0 : status;
}

/* The guest's /init could not load a module it needed (images/init.sh prints the
 * line; the line before it is modprobe's reason): the channels that module serves
 * will never attach, so say so now, not only when startup.c finds them not ready. */
static void vm__load_failed(struct vm *vm)
{
	const char *m = strstr(vm->line, "DDVM-LOAD-FAILED module=");
	char mod[64];

	if (!m || vm->load_failed_lines > VM_LOAD_FAILED_MAX)
		return;
	if (++vm->load_failed_lines > VM_LOAD_FAILED_MAX) {
		pr_warn("%s: more DDVM-LOAD-FAILED lines than the %u modules a ddvm image loads: "
			"the rest are not logged until its next start (see 'ddvm logs %s')",
			vm->cfg->name, VM_LOAD_FAILED_MAX, vm->cfg->name);
		return;
	}
	snprintf(mod, sizeof(mod), "%s", m + strlen("DDVM-LOAD-FAILED module="));
	mod[strcspn(mod, "\r\n ")] = 0;
	vm->prev_line[strcspn(vm->prev_line, "\r")] = 0;
	pr_err("%s: the guest could not load %s%s%s%s; what it serves does not work: see 'ddvm "
	       "logs %s' (a mistyped append = %s.PARAMETER=VALUE?)",
	       vm->cfg->name, mod, vm->prev_line[0] ? " (" : "", vm->prev_line,
	       vm->prev_line[0] ? ")" : "", vm->cfg->name, mod);
}

/* Keep this line as the one before the next (empty ones, a "\r\n"'s halves, not). */
static void vm__keep_line(struct vm *vm)
{
	if (vm->line[strspn(vm->line, "\r\n \t")])
		snprintf(vm->prev_line, sizeof(vm->prev_line), "%.*s",
			 (int)sizeof(vm->prev_line) - 1, vm->line);
}

/*
 * ddvm's images print "DDVM-READY role=ROLE" (images/init.sh): a driver VM booting the
 * client image (or a client the driver image) would wait out its boot deadline, or an
 * upgrade its standby's, and say only that. 1 if the line says the other role (then
 * WHY says what to do).
 */
static int vm__wrong_image(const struct vm *vm, char *why, size_t len)
{
	static const char tag[] = "DDVM-READY role=";
	const char *want = vm->cfg->role == CFG_DRIVER_VM ? "driver-vm" : "client-vm",
		   *other = vm->cfg->role == CFG_DRIVER_VM ? "client-vm" : "driver-vm",
		   *r = strstr(vm->line, tag);

	if (!r || strncmp(r + strlen(tag), other, strlen(other)))
		return 0;
	snprintf(why, len,
		 "it booted ddvm's %s image, not the %s one (its console: '%s%s'): give it the "
		 "%s initrd (%s.cpio.gz of 'make')",
		 other, want, tag, other, want, want);
	return 1;
}

static void vm__console_line(struct vm *vm, uint64_t now)
{
	const char *panic;
	char why[256];

	vm->line[vm->line_len] = 0;
	vm__load_failed(vm);
	if (vm__wrong_image(vm, why, sizeof(why))) {
		if (vm->spare_of)
			spare__fail(vm, why, now);
		else
			health__fail(vm, why, now);
		vm->line_len = 0;
		return;
	}
	/* for the failure's reason when it dies booting (startup__exited) */
	panic = strstr(vm->line, "Kernel panic - not syncing");
	if (panic && !vm->panic_line[0]) {
		snprintf(vm->panic_line, sizeof(vm->panic_line), "%s", panic);
		vm->panic_line[strcspn(vm->panic_line, "\r")] = 0;
	}
	if (vm->spare_of) {
		spare__console_line(vm, vm->line, now);
		/* an upgrade's spare boots cold: its ready line takes its snapshot */
		if (!vm->restoring && vm->cfg->ready[0] && strstr(vm->line, vm->cfg->ready))
			snapshot__ready_line(vm, now);
		vm__keep_line(vm);
		vm->line_len = 0;
		return;
	}
	if (!vm->ready_ms && vm->cfg->ready[0] && snapshot__enabled(vm) &&
	    strstr(vm->line, vm->cfg->ready)) {
		/* RUNNING once the channels are plugged (after the snapshot, first time) */
		snapshot__ready_line(vm, now);
	} else if (!vm->ready_ms && vm->cfg->ready[0] && strstr(vm->line, vm->cfg->ready)) {
		vm->ready_ms = now;
		pr_info("%s: ready after %.1f s", vm->cfg->name,
			(double)(now - vm->started_ms) / 1000);
		vm__event(vm, VM_EV_READY);
	}
	inject__console_line(vm, vm->line, now);
	vm__keep_line(vm);
	vm->line_len = 0;
}

size_t vm__log_filter(unsigned *held, const char *in, size_t n, char *out)
{
	static const char dsr[] = "\033[6n";
	size_t i = 0, o = 0;

	while (i < n) {
		if (in[i] == dsr[*held]) {
			i++;
			if (++*held == sizeof(dsr) - 1)
				*held = 0; /* a whole query: dropped */
			continue;
		}
		if (*held) { /* not a query after all: its bytes go out, IN[i] is looked at again */
			memcpy(out + o, dsr, *held);
			o += *held;
			*held = 0;
			continue;
		}
		out[o++] = in[i++];
	}
	return o;
}

/* VM_LOG_MAX_BYTES reached: NAME.log becomes NAME.log.1 and a new one begins. */
static void log_rotate(struct vm *vm)
{
	char old[sizeof(vm->log_path) + 2];
	int fd;

	snprintf(old, sizeof(old), "%s.1", vm->log_path);
	if (rename(vm->log_path, old) < 0) {
		pr_warn("%s: console log: rename %s: %s", vm->cfg->name, vm->log_path,
			strerror(errno));
		vm->log_bytes = 0; /* try again after as much more */
		return;
	}
	fd = open(vm->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
	close(vm->log_fd);
	vm->log_fd = fd;
	vm->log_bytes = 0;
	if (fd >= 0) {
		int n = dprintf(
		    fd,
		    "----- ddvm: %s: console log continued; the %u MiB before are in %s -----\n",
		    vm->cfg->name, VM_LOG_MAX_BYTES >> 20, old);

		vm->log_bytes = n > 0 ? (uint64_t)n : 0;
	}
}

void vm__qemu_log_cap(struct vm *vm)
{
	char old[sizeof(vm->qemu_log_path) + 2], buf[65536];
	off_t left;
	struct stat st;
	int in, out, ok = 1;

	if (stat(vm->qemu_log_path, &st) || st.st_size < VM_QEMU_LOG_MAX_BYTES)
		return;
	snprintf(old, sizeof(old), "%s.1", vm->qemu_log_path);
	in = open(vm->qemu_log_path, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	out = open(old, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
	ok = out >= 0;
	for (left = st.st_size; in >= 0 && out >= 0 && left > 0;) {
		ssize_t n = read(in, buf, left < (off_t)sizeof(buf) ? (size_t)left : sizeof(buf));

		if (n <= 0 || write(out, buf, n) != n) {
			ok = 0; /* a full run dir: the old part is lost, the cap still holds */
			break;
		}
		left -= n;
	}
	if (in >= 0 && !ftruncate(in, 0)) {
		dprintf(in, "----- ddvm: %s: QEMU's log continues; %s the %u MiB before -----\n",
			vm->cfg->name, ok ? old : "could not keep", VM_QEMU_LOG_MAX_BYTES >> 20);
		pr_info("%s: QEMU's log reached %u MiB: %s", vm->cfg->name,
			VM_QEMU_LOG_MAX_BYTES >> 20,
			ok ? "the older part is in NAME.qemu.log.1"
			   : "its older part could not be kept");
		/* the readers of this incarnation's part start over */
		vm->storage.log_off = 0;
		vm->startup.qlog_off = 0;
	}
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
}

int vm__console_read(struct vm *vm, uint64_t now)
{
	char buf[4096], logged[sizeof(buf) + 4];
	unsigned i;

	for (;;) {
		ssize_t n = read(vm->con_fd, buf, sizeof(buf)), k;

		if (n == 0)
			return -EPIPE;
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		if (vm->log_fd >= 0) {
			size_t m = vm__log_filter(&vm->log_dsr, buf, (size_t)n, logged);

			if (write(vm->log_fd, logged, m) != (ssize_t)m)
				pr_debug("%s: console log write failed", vm->cfg->name);
			vm->log_bytes += m;
			if (vm->log_bytes >= VM_LOG_MAX_BYTES)
				log_rotate(vm);
		}
		for (i = 0; i < VM_MAX_CONSOLES; i++) {
			/* A console that cannot keep up loses output, not the supervisor. */
			if (vm->consoles[i] >= 0 &&
			    send(vm->consoles[i], buf, n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 &&
			    errno != EAGAIN)
				vm__console_detach(vm, vm->consoles[i]);
		}
		for (k = 0; k < n; k++) {
			if (buf[k] == '\n' || buf[k] == '\r') {
				vm__console_line(vm, now);
			} else if (vm->line_len < sizeof(vm->line) - 1) {
				vm->line[vm->line_len++] = buf[k];
			}
		}
	}
}

void vm__detach_process(struct vm *vm, struct vm_proc *p)
{
	p->pid = vm->pid;
	p->pidfd = vm->pidfd;
	p->con_fd = vm->con_fd;
	p->qmp = vm->qmp;
	p->started_ms = vm->started_ms;
	memcpy(p->tap_fds, vm->tap_fds, sizeof(p->tap_fds));
	memset(vm->tap_fds, -1, sizeof(vm->tap_fds));
	vm->pid = -1;
	vm->pidfd = -1;
	vm->con_fd = -1;
	qmp__init(&vm->qmp);
	vm->line_len = 0;
}

void vm__attach_process(struct vm *vm, const struct vm_proc *p)
{
	vm->pid = p->pid;
	vm->pidfd = p->pidfd;
	vm->con_fd = p->con_fd;
	vm->qmp = p->qmp;
	vm->started_ms = p->started_ms;
	tap__close_queues(vm->tap_fds);
	memcpy(vm->tap_fds, p->tap_fds, sizeof(vm->tap_fds));
	vm->line_len = 0;
}

void vm__take_process(struct vm *dst, struct vm *src)
{
	size_t line_len = src->line_len;
	struct vm_proc p;

	dst->restoring = 1;
	dst->snap_phase = SNAP_DONE;
	dst->snap_plugs = 0;
	dst->snap_ready_pending = 0;
	dst->snap_phase_ms = src->snap_phase_ms;
	dst->snap_restored_ms = src->snap_restored_ms;
	dst->pss_kib = -1;
	dst->pss_ms = 0;
	memcpy(dst->line, src->line, line_len);
	/* the names tools know (NAME.pid: ddvm's tests, scripts) now mean this QEMU */
	if (rename(src->pid_path, dst->pid_path) < 0)
		pr_debug("%s: rename %s: %s", dst->cfg->name, src->pid_path, strerror(errno));
	if (rename(src->qmp_path, dst->qmp_path) < 0)
		pr_debug("%s: rename %s: %s", dst->cfg->name, src->qmp_path, strerror(errno));
	vm__detach_process(src, &p);
	vm__attach_process(dst, &p);
	dst->line_len = line_len; /* a console line QEMU was in the middle of */
	src->snap_phase = SNAP_IDLE;
}

void vm__console_write(struct vm *vm, const char *buf, size_t len)
{
	if (vm->con_fd >= 0 && write(vm->con_fd, buf, len) < 0)
		pr_debug("%s: console input dropped", vm->cfg->name);
}

int vm__console_attach(struct vm *vm, int fd)
{
	unsigned i;

	for (i = 0; i < VM_MAX_CONSOLES; i++)
		if (vm->consoles[i] < 0) {
			vm->consoles[i] = fd;
			return 0;
		}
	return -EBUSY;
}

void vm__console_detach(struct vm *vm, int fd)
{
	unsigned i;

	for (i = 0; i < VM_MAX_CONSOLES; i++)
		if (vm->consoles[i] == fd)
			vm->consoles[i] = -1;
}
