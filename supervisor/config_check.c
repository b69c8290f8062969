/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Checks of a parsed setup as a whole, after every section was read: each device
 * belongs to a driver VM and is complete, each client's device list names devices,
 * a blk device serves one client, restart = snapshot only with migratable devices;
 * then the channels (device x client) are derived and numbered, and VMs inherit the
 * global kernel and initramfs. Errors go to cfg->errors like the parser's.
 */
#include "config.h"
#include "config_internal.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

static struct cfg_device *find_device(struct config *cfg, const char *name)
{
	unsigned i;

	for (i = 0; i < cfg->nr_devices; i++)
		if (!strcmp(cfg->devices[i].name, name))
			return &cfg->devices[i];
	return NULL;
}

struct cfg_vm *config__find_vm(struct config *cfg, const char *name)
{
	unsigned i;

	for (i = 0; i < cfg->nr_vms; i++)
		if (!strcmp(cfg->vms[i].name, name))
			return &cfg->vms[i];
	return NULL;
}

/* First PCI slot the parser gives devices and channels (q35 uses 0x00-0x1f). */
#define CFG_FIRST_DEV_SLOT 0x04
#define CFG_FIRST_CHAN_SLOT 0x10

/* The first line that set one of the blk storage keys, or 0. */
static int storage_keys_line(const struct cfg_device *d)
{
	int l = 0;

	if (d->werror_line && (!l || d->werror_line < l))
		l = d->werror_line;
	if (d->rerror_line && (!l || d->rerror_line < l))
		l = d->rerror_line;
	if (d->discard_line && (!l || d->discard_line < l))
		l = d->discard_line;
	if (d->detect_zeroes_line && (!l || d->detect_zeroes_line < l))
		l = d->detect_zeroes_line;
	return l;
}

/*
 * A blk device with an image: fill in the defaults and check the combination.
 * werror/rerror = report is the default: a request the host file fails (ENOSPC, EIO)
 * fails in the guest, and the driver VM runs on serving its other devices. stop and
 * enospc pause the whole driver VM instead (the supervisor resumes it every second, so
 * requests wait for space); a paused VM's heartbeat stops, so they need the VM's
 * heartbeat and request checks off.
 */
static void check_storage(struct config *cfg, const char *f, struct cfg_device *d)
{
	const struct cfg_vm *vm = d->vm;
	int pauses;

	if (!d->werror[0])
		strcpy(d->werror, "report");
	if (!d->rerror[0])
		strcpy(d->rerror, "report");
	if (!d->detect_zeroes[0])
		strcpy(d->detect_zeroes, d->discard && !d->readonly ? "unmap" : "off");
	if (!strcmp(d->detect_zeroes, "unmap") && !d->discard)
		cfg_error(cfg, f, d->detect_zeroes_line, "detect_zeroes = unmap: needs discard = "
			  "unmap (zeroed blocks are discarded); use detect_zeroes = on or off, or "
			  "remove discard = off");
	pauses = strcmp(d->werror, "report") && strcmp(d->werror, "ignore");
	if (pauses || !strcmp(d->rerror, "stop")) {
		int line = pauses ? d->werror_line : d->rerror_line;

		if (!strcmp(d->model, "nvme"))
			cfg_error(cfg, f, line, "%s = %s: QEMU's nvme device has no error policy (it "
				  "always reports the error to the guest); use report, or model = "
				  "virtio-blk-pci", pauses ? "werror" : "rerror",
				  pauses ? d->werror : d->rerror);
		else if (vm && (vm->heartbeat_timeout_ms || vm->request_timeout_ms))
			cfg_error(cfg, f, line, "%s = %s pauses driver VM %s at a host I/O error; its "
				  "heartbeat stops and the supervisor would restart it: use report (the "
				  "default), or set heartbeat_timeout_ms = 0 and request_timeout_ms = 0 "
				  "in [driver-vm %s]", pauses ? "werror" : "rerror",
				  pauses ? d->werror : d->rerror, vm->name, vm->name);
	}
}

static void check_device(struct config *cfg, const char *f, struct cfg_device *d)
{
	struct cfg_vm *vm;
	unsigned i, nr_owned = 0;

	if (!d->kind)
		cfg_error(cfg, f, d->line, "[device %s]: 'kind' is missing; add kind = net or "
			  "kind = blk", d->name);
	if (!d->vm_name[0]) {
		cfg_error(cfg, f, d->line, "[device %s]: 'vm' is missing; add vm = NAME of the "
			  "driver VM that owns it", d->name);
		return;
	}
	vm = config__find_vm(cfg, d->vm_name);
	if (!vm || vm->role != CFG_DRIVER_VM) {
		cfg_error(cfg, f, d->vm_line, "vm = %s: %s; a device belongs to a [driver-vm] "
			  "section", d->vm_name, vm ? "that is not a driver VM" : "no such VM");
		return;
	}
	d->vm = vm;
	for (i = 0; &cfg->devices[i] != d; i++)
		nr_owned += cfg->devices[i].vm == vm;
	d->pci_slot = CFG_FIRST_DEV_SLOT + nr_owned;
	if (d->pci_slot >= CFG_FIRST_CHAN_SLOT)
		cfg_error(cfg, f, d->line, "[device %s]: driver VM %s owns too many devices "
			  "(at most %d)", d->name, vm->name, CFG_FIRST_CHAN_SLOT - CFG_FIRST_DEV_SLOT);
	if (!d->model[0])
		strcpy(d->model, d->kind == CFG_BLK ? "virtio-blk-pci" : "e1000");
	/* A snapshot is a migration stream: every device of the VM must be migratable. */
	if (vm->restart == CFG_RESTART_SNAPSHOT && d->host[0])
		cfg_error(cfg, f, vm->restart_line, "restart = snapshot: driver VM %s owns a real "
			  "device (%s, host = %s), which cannot be saved; use restart = cold",
			  vm->name, d->name, d->host);
	else if (vm->restart == CFG_RESTART_SNAPSHOT && !strcmp(d->model, "nvme"))
		cfg_error(cfg, f, vm->restart_line, "restart = snapshot: QEMU cannot save the "
			  "nvme device of %s (device %s is not migratable); use model = "
			  "virtio-blk-pci, or restart = cold", vm->name, d->name);
	if (storage_keys_line(d) && (d->host[0] || d->kind != CFG_BLK))
		cfg_error(cfg, f, storage_keys_line(d), "[device %s]: werror/rerror/discard/"
			  "detect_zeroes are for blk devices with an image; remove them", d->name);
	if (d->host[0]) {
		if (d->image[0] || d->net_backend != CFG_NET_NONE)
			cfg_error(cfg, f, d->line, "[device %s]: a real device (host = %s) has no "
				  "emulated back-end; remove image/backend", d->name, d->host);
		return;
	}
	if (d->kind == CFG_BLK) {
		if (!d->image[0])
			cfg_error(cfg, f, d->line, "[device %s]: a blk device needs 'image = FILE' "
				  "(create one with: truncate -s 64M disk.img)", d->name);
		else if (access(d->image, d->readonly ? R_OK : R_OK | W_OK))
			cfg_error(cfg, f, d->line, "[device %s]: image %s: %s; create it (truncate "
				  "-s 64M %s) or fix the path", d->name, d->image, strerror(errno),
				  d->image);
		if (d->net_backend != CFG_NET_NONE || d->tap[0] || d->mac[0])
			cfg_error(cfg, f, d->line, "[device %s]: backend/tap/mac are for net "
				  "devices; remove them", d->name);
		check_storage(cfg, f, d);
	} else if (d->kind == CFG_NET) {
		if (d->image[0])
			cfg_error(cfg, f, d->line, "[device %s]: 'image' is for blk devices; remove "
				  "it", d->name);
		if (d->net_backend == CFG_NET_TAP && !d->tap[0])
			cfg_error(cfg, f, d->line, "[device %s]: backend = tap needs 'tap = IFNAME' "
				  "(QEMU creates it and removes it on exit)", d->name);
		if (d->net_backend != CFG_NET_TAP && d->tap[0])
			cfg_error(cfg, f, d->line, "[device %s]: 'tap' is set but backend is not "
				  "tap; add backend = tap or remove tap", d->name);
	}
}

/* Resolve client device lists into channels; enforce one client per blk device. */
static void make_channels(struct config *cfg, const char *f)
{
	struct cfg_channel *blk_owner[CFG_MAX_DEVICES] = { 0 };
	unsigned v, u, i;

	for (v = 0; v < cfg->nr_vms; v++) {
		struct cfg_vm *c = &cfg->vms[v];

		if (c->role == CFG_DRIVER_VM)
			continue;
		if (!c->nr_uses)
			cfg_error(cfg, f, c->line, "[%s %s]: uses no device; add devices = NAME...",
				  cfg_role_name(c->role), c->name);
		for (u = 0; u < c->nr_uses; u++) {
			struct cfg_device *d = find_device(cfg, c->uses[u]);
			struct cfg_channel *ch;
			unsigned di;

			if (!d) {
				cfg_error(cfg, f, c->uses_line, "devices: no device named '%s'; "
					  "define it in a [device %s] section", c->uses[u], c->uses[u]);
				continue;
			}
			for (i = 0; i < u; i++)
				if (!strcmp(c->uses[i], c->uses[u]))
					break;
			if (i < u) {
				cfg_error(cfg, f, c->uses_line, "devices: '%s' is listed twice",
					  c->uses[u]);
				continue;
			}
			di = d - cfg->devices;
			if (d->kind == CFG_BLK && blk_owner[di]) {
				cfg_error(cfg, f, c->uses_line, "devices: blk device '%s' is already "
					  "used by %s (line %d); a block device serves one client: give "
					  "each client its own disk", d->name, blk_owner[di]->client->name,
					  blk_owner[di]->client->uses_line);
				continue;
			}
			if (cfg->nr_channels == CFG_MAX_CHANNELS) {
				cfg_error(cfg, f, c->uses_line, "too many channels (at most %d)",
					  CFG_MAX_CHANNELS);
				return;
			}
			ch = &cfg->channels[cfg->nr_channels++];
			/* Both names are < CFG_NAME_MAX, so "DEV.CLIENT" always fits. */
			strcpy(ch->name, d->name);
			strcat(ch->name, ".");
			strcat(ch->name, c->name);
			ch->dev = d;
			ch->client = c;
			ch->index_in_client = u;
			d->nr_users++;
			if (d->kind == CFG_BLK)
				blk_owner[di] = ch;
		}
	}
	/* Number each driver VM's channels: their slots in that VM. */
	for (v = 0; v < cfg->nr_vms; v++) {
		unsigned n = 0;

		for (i = 0; i < cfg->nr_channels; i++)
			if (cfg->channels[i].dev->vm == &cfg->vms[v])
				cfg->channels[i].index_in_driver = n++;
		if (n > 0x1f - CFG_FIRST_CHAN_SLOT)
			cfg_error(cfg, f, cfg->vms[v].line, "[driver-vm %s]: serves too many channels "
				  "(at most %d)", cfg->vms[v].name, 0x1f - CFG_FIRST_CHAN_SLOT);
	}
}

void config__check(struct config *cfg, const char *f)
{
	unsigned i, drivers = 0;

	for (i = 0; i < cfg->nr_devices; i++)
		check_device(cfg, f, &cfg->devices[i]);
	for (i = 0; i < cfg->nr_vms; i++)
		drivers += cfg->vms[i].role == CFG_DRIVER_VM;
	if (!drivers && !cfg->nr_errors)
		cfg_error(cfg, f, 0, "no [driver-vm NAME] section; a setup needs at least one "
			  "driver VM (see examples/demo.ini)");
	if (!cfg->nr_errors)
		make_channels(cfg, f);
	/* VMs inherit the global kernel/initrd. */
	for (i = 0; i < cfg->nr_vms; i++) {
		struct cfg_vm *vm = &cfg->vms[i];

		if (vm->role == CFG_HOST_CLIENT)
			continue;
		if (!vm->kernel[0])
			strcpy(vm->kernel, cfg->kernel);
		if (!vm->initrd[0])
			strcpy(vm->initrd, vm->role == CFG_DRIVER_VM ? cfg->driver_initrd
								       : cfg->client_initrd);
	}
}
