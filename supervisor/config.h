/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The setup file: which driver VMs own which devices, which clients use them.
 * INI format (config.c reads it; no line length limit); examples/demo.ini is the
 * commented reference, examples/disks.ini and examples/jumbo.ini show disks and MTU.
 *
 *   [ddvm]              kernel, driver_initrd, client_initrd, rundir
 *   [driver-vm NAME]    memory, cpus, kernel, initrd, append, run, restart policy
 *   [device NAME]       vm = driver VM, kind = net|blk, model, back-end
 *   [client-vm NAME]    memory, cpus, ..., devices = DEV [DEV...]
 *   [host-client NAME]  devices = DEV [DEV...]
 *
 * Each (device, client) pair becomes one channel named "DEVICE.CLIENT". A net device
 * may serve several clients (the translation module switches by MAC); a blk device
 * serves exactly one.
 *
 * Every error names file:line, says what is wrong and what to do.
 */
#ifndef DDVM_CONFIG_H
#define DDVM_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define CFG_NAME_MAX	     24
#define CFG_PATH_MAX	     256
#define CFG_MAX_VMS	     16
#define CFG_MAX_DEVICES	     32
#define CFG_MAX_HOST_CLIENTS 8
#define CFG_MAX_USES	     15 /* devices one client lists (its channel slots 0x10-0x1e) */
#define CFG_MAX_CHANNELS     64
#define CFG_MAX_QUEUES	     8 /* queue pairs of a channel: DDVM_MAX_RINGS / 2 (abi.h) */
#define CFG_ERR_MAX	     8192
#define CFG_MODEL_MAX	     64	  /* QEMU device names are at most ~40 characters */
#define CFG_PROPS_MAX	     2048 /* device properties, drive options: no real list is longer */
#define CFG_TB_SIZE_MB	     32	  /* tb_size default (docs/bench.md, section 3) */
#define CFG_APPEND_MAX	     2048 /* x86's kernel command line limit (COMMAND_LINE_SIZE) */

enum cfg_role { CFG_DRIVER_VM, CFG_CLIENT_VM, CFG_HOST_CLIENT };
enum cfg_kind { CFG_NET = 1, CFG_BLK = 2 }; /* == enum ddvm_kind */
enum cfg_net_backend { CFG_NET_NONE, CFG_NET_USER, CFG_NET_TAP };
/* How a failed driver VM comes back: a cold boot, or a restore of the snapshot taken
 * after its first boot (channels hot-plugged afterwards; see snapshot.c). */
enum cfg_restart { CFG_RESTART_COLD, CFG_RESTART_SNAPSHOT };

struct cfg_vm;

/*
 * How a blk device's disk reaches QEMU (derived from `model` by config_check.c):
 * DIRECT: the model takes the drive itself (nvme, virtio-blk-pci); IDE: an AHCI
 * controller + ide-hd on its first port; SCSI: a SCSI HBA + scsi-hd on its bus; USB:
 * a USB host controller (qemu-xhci) + the model (usb-storage) on its bus. The controller
 * sits at the device's PCI slot in every case, so the disk's PCI function (the name the
 * translation module is given, disk/by-pci/BDF) is the device's slot.
 */
enum cfg_attach { CFG_ATTACH_DIRECT, CFG_ATTACH_IDE, CFG_ATTACH_SCSI, CFG_ATTACH_USB };

/*
 * Anti-spoofing on a NIC (docs/net.md): what each client of it may send as its own,
 * enforced by the translation module's switch. MAC (the default): its frames' source
 * MAC and its ARP sender MAC are the client's (the channel's). IP: also only ARP, IPv4
 * and IPv6, from the addresses the device's `ip =` gives the client (IPv6 also from
 * its MAC's link-local address). OFF: nothing is
 * checked (a bridge or router behind the channel: ddvm-tapbridge on a host bridge,
 * containers on macvlan). A client listed in `antispoof_exempt` is OFF.
 */
enum cfg_antispoof { CFG_ANTISPOOF_UNSET, CFG_ANTISPOOF_MAC, CFG_ANTISPOOF_IP, CFG_ANTISPOOF_OFF };
#define CFG_ANTISPOOF_MAX_IP 8 /* prefixes per client (ddvm_netback takes as many) */

/* An address prefix of `ip =`: the address in network byte order (bits past LEN zero) */
struct cfg_ip_prefix {
	int v6; /* 0: IPv4, addr[0..3] */
	uint8_t addr[16];
	uint8_t len; /* prefix length, 0-32 or 0-128 */
};

struct cfg_device {
	char name[CFG_NAME_MAX];
	int line; /* of its [device] header */
	char vm_name[CFG_NAME_MAX];
	int vm_line;
	struct cfg_vm *vm; /* the driver VM that owns it */
	enum cfg_kind kind;
	char model[CFG_MODEL_MAX]; /* QEMU device: e1000, virtio-net-pci, nvme, ahci, ... */
	int model_line;
	enum cfg_attach attach; /* blk: how the disk is attached; net: USB (usb-net on its
				   own qemu-xhci) or DIRECT (a PCI NIC); from model */
	/* QEMU properties, "name=value,name=value": props on the device that holds the
	 * disk (nvme, virtio-blk-pci, scsi-hd, ide-hd, usb-storage) or on the NIC;
	 * controller_props on the HBA / AHCI / USB controller the supervisor adds */
	char props[CFG_PROPS_MAX];
	char controller_props[CFG_PROPS_MAX];
	int props_line, controller_props_line;
	char host[16]; /* vfio-pci host address (DDDD:BB:DD.F), "" = emulated */
	enum cfg_net_backend net_backend;
	char tap[16]; /* tap interface QEMU creates (and removes) */
	int tap_line, bridge_line, host_line, mac_line, image_line;
	char bridge[16]; /* tap: enslave it to this bridge once the VM is up */
	char mac[18];
	char image[CFG_PATH_MAX]; /* blk: disk image file */
	uint64_t size;		  /* blk: `size = 64M`: create the image at `up` if missing */
	int size_line;
	int kind_line;	 /* 'kind' given (a bad value was reported where it was read) */
	char format[8];	 /* raw | qcow2 */
	int format_line; /* 'format' given (0: raw by default) */
	int readonly;
	/* the channel's queue pairs: `queues =`, else (0 until config_check) one per vCPU
	 * of the client VM, at most the driver VM's vCPUs and 8; 1 for a host client
	 * and for net (netback and netfront serve one pair) */
	unsigned queues;
	int queues_line;
	/* blk, emulated: QEMU's -drive error policies and space reclaim (defaults filled in
	 * by config_check.c: werror/rerror report, discard on, detect_zeroes unmap) */
	char werror[8];	       /* report | stop | enospc | ignore */
	char rerror[8];	       /* report | stop | ignore */
	int discard;	       /* 1: discard=unmap (the guest's discards free space), 0: off */
	char detect_zeroes[8]; /* off | on | unmap */
	char cache[16];	       /* "" (QEMU's writeback) | none | writeback | writethrough |
				  directsync | unsafe */
	char aio[16];	       /* "" (QEMU's threads) | threads | native | io_uring */
	int cache_line, aio_line;
	/* blk: QEMU's I/O throttling of the disk (-drive throttling.bps-total and
	 * throttling.iops-total): bytes and requests per second, reads and writes
	 * together; 0 = none. A shared driver VM's cap on one client's disk. */
	unsigned bps_limit, iops_limit;
	int bps_limit_line, iops_limit_line;
	unsigned mtu; /* net: 0 = leave it (1500); else NIC, client, tap, bridge port */
	int mtu_line;
	int host_mtu; /* net, mtu set: the model takes host_mtu (virtio-net) */
	int werror_line, rerror_line, discard_line, detect_zeroes_line;
	unsigned pci_slot; /* slot in the driver VM, assigned by the parser */
	unsigned nr_users;
	/* net: `antispoof`, and its clients' addresses (`ip = CLIENT=ADDR[/N][,...] ...`)
	 * and exemptions (`antispoof_exempt = CLIENT ...`) as written: resolved into each
	 * channel by config_antispoof.c once the channels exist */
	enum cfg_antispoof antispoof;
	int antispoof_line, ip_line, antispoof_exempt_line;
	char ip[CFG_PROPS_MAX];
	char antispoof_exempt[CFG_PROPS_MAX];
};

/* A client VM or driver VM. */
struct cfg_vm {
	char name[CFG_NAME_MAX];
	int line;
	enum cfg_role role;
	unsigned memory_mb;
	unsigned cpus;
	unsigned tb_size_mb; /* TCG's translation buffer; 0 = QEMU's default (1 GiB) */
	int balloon;	     /* virtio-balloon, free-page reporting; -1 = the default */
	int balloon_line;
	char kernel[CFG_PATH_MAX];
	char initrd[CFG_PATH_MAX];
	char append[CFG_APPEND_MAX];
	char run[CFG_PATH_MAX]; /* script the guest's /init runs (fw_cfg opt/ddvm/run) */
	int kernel_line, initrd_line, run_line; /* where set (0: inherited from [ddvm]) */
	char ready[64];				/* console line meaning "booted" */
	unsigned restart_max;			/* restarts in a row before giving up */
	unsigned restart_backoff_ms;		/* first delay; doubles each time */
	unsigned boot_timeout_ms;
	unsigned heartbeat_timeout_ms; /* 0 = do not watch the heartbeat */
	unsigned request_timeout_ms;   /* 0 = do not watch request progress */
	enum cfg_restart restart;      /* driver VMs: cold (default) or snapshot */
	int restart_line;
	int spare; /* driver VMs, restart = snapshot: keep a warm spare (spare.c) */
	int spare_line;
	/* client VMs: external = yes: started elsewhere (libvirt, ...), not by us */
	int external;
	int vm_key_line; /* the first key that only a VM we start can use */
	char vm_key[24]; /* ... and its name, refused with external = yes */
	/* clients: devices used (names until resolved) */
	unsigned nr_uses;
	char uses[CFG_MAX_USES][CFG_NAME_MAX];
	int uses_line;
};

struct cfg_channel {
	char name[2 * CFG_NAME_MAX + 1];
	struct cfg_device *dev;
	struct cfg_vm *client;	  /* role CFG_CLIENT_VM or CFG_HOST_CLIENT */
	unsigned index_in_client; /* nth channel of the client: its PCI slot order */
	unsigned index_in_driver; /* nth channel of the driver VM */
	/* net: the client's MAC on the NIC (assign_client_macs, config_check.c): the
	 * device's `mac =` when this is its only client, else derived from the channel's
	 * name; unique in the setup. */
	unsigned char mac[6];
	/* net: the client's anti-spoofing policy (never UNSET once checked) and, with
	 * CFG_ANTISPOOF_IP, its IPv4 and IPv6 prefixes */
	enum cfg_antispoof antispoof;
	unsigned nr_ip;
	struct cfg_ip_prefix ip[CFG_ANTISPOOF_MAX_IP];
};

struct config {
	char path[CFG_PATH_MAX];
	char kernel[CFG_PATH_MAX];
	char driver_initrd[CFG_PATH_MAX];
	char client_initrd[CFG_PATH_MAX];
	int kernel_line, driver_initrd_line, client_initrd_line; /* in [ddvm] */
	char rundir[CFG_PATH_MAX];
	unsigned nr_vms; /* VMs and host clients, in file order */
	struct cfg_vm vms[CFG_MAX_VMS + CFG_MAX_HOST_CLIENTS];
	unsigned nr_devices;
	struct cfg_device devices[CFG_MAX_DEVICES];
	unsigned nr_channels;
	struct cfg_channel channels[CFG_MAX_CHANNELS];
	/* parse state */
	int nr_errors;
	char errors[CFG_ERR_MAX]; /* "file:line: message\n" each */
};

/*
 * Parse PATH into CFG. Returns 0, or -EINVAL with every problem found listed in
 * cfg->errors (also for I/O errors: -ENOENT etc.). Relative paths inside the file are
 * taken relative to the file's directory.
 */
int config__load(struct config *cfg, const char *path);
/* Same, from a string (tests); NAME is used in messages. */
int config__parse_string(struct config *cfg, const char *name, const char *text);

/*
 * The files the VMs boot from exist and can be read: each VM's kernel and initramfs
 * (after inheriting [ddvm]'s) and its `run =` script, and a tap's bridge. `ddvm up`
 * calls it after config__load, also when that found errors (one run names them all,
 * in line order; a path missing from a file with errors is not reported), before
 * anything starts (config__load itself stays free of the build's files, for the unit
 * tests). Returns 0, or -EINVAL with the problems (the load's too) in cfg->errors.
 */
int config__check_files(struct config *cfg);
struct cfg_vm *config__find_vm(struct config *cfg, const char *name);

/*
 * The QEMU the supervisor will run is asked which devices it has (`-device help`) and
 * which properties a device takes (`-device DEV,help`), so that a model QEMU does not
 * know, a model of the wrong kind and a property it would refuse are reported with
 * file:line before anything starts. The default query runs $DDVM_QEMU (else
 * qemu-system-x86_64) and caches each answer in $DDVM_CACHE_DIR, else
 * $XDG_CACHE_HOME/ddvm, else ~/.cache/ddvm, keyed by the binary (device, inode, size,
 * mtime), so an upgraded QEMU is asked again. A query returns malloc'd text (QEMU's
 * output) or NULL when QEMU cannot be run. Tests inject their own (NULL: the default).
 */
typedef char *(*cfg_qemu_query_fn)(const char *device);
void config__set_qemu_query(cfg_qemu_query_fn fn);

/* The property list that goes on the device holding DEV's disk (or DEV itself), and
 * whether NAME is set in a "name=value,..." list. */
const char *cfg_disk_device(const struct cfg_device *d);
const char *cfg_controller_device(const struct cfg_device *d);
int cfg_props_has(const char *props, const char *name);
const char *cfg_role_name(enum cfg_role r);

/* Whether the supervisor starts (and restarts) this VM: not a host client, not a
 * client VM declared external (it only has channels here). */
static inline int cfg_vm_started_here(const struct cfg_vm *vm)
{
	return vm->role != CFG_HOST_CLIENT && !vm->external;
}
/* A disk on a qcow2 image: QEMU holds its new clusters' metadata until a flush
 * (vm_kill.c, docs/blk.md). */
static inline int cfg_device_qcow2(const struct cfg_device *d)
{
	return d->kind == CFG_BLK && d->image[0] && !strcmp(d->format, "qcow2");
}
const char *cfg_kind_name(enum cfg_kind k);
/* MAC as "52:54:00:dd:ed:d2" in BUF (18 bytes); returns BUF. */
const char *cfg_mac_str(const unsigned char mac[6], char buf[18]);

/* A net channel's anti-spoofing policy as the translation module takes it (the
 * channels list, guest/ddvm_ivshmem.h): "mac", "off" or "ip:PREFIX+..." (A.B.C.D/N or
 * X:X::X/N). Returns the length, or -1 when it does not fit in LEN (at most 360 bytes
 * are needed). */
int cfg_channel_antispoof(const struct cfg_channel *c, char *buf, size_t len);

#endif /* DDVM_CONFIG_H */
