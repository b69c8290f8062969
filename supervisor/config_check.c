/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Checks of a parsed setup as a whole, after every section was read: each device
 * belongs to a driver VM and is complete, each client's device list names devices,
 * a blk device serves one client, restart = snapshot only with migratable devices,
 * nothing (image file, MAC, tap, host device) is given twice, each model is a device
 * of its kind that QEMU has and each property one that QEMU's device takes;
 * then the channels (device x client) are derived and numbered, and VMs inherit the
 * global kernel and initramfs. Errors go to cfg->errors like the parser's.
 */
#include "config.h"
#include "config_internal.h"
#include "tap.h"

#include <errno.h>
#include <stdarg.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* A problem with device D or VM VM, at LINE of file F (cfg_section_error). */
void cfg_dev_error(struct config *cfg, const char *f, const struct cfg_device *d, int line,
		   const char *fmt, ...)
{
	char section[CFG_NAME_MAX + 8];
	va_list ap;

	snprintf(section, sizeof(section), "device %s", d->name);
	va_start(ap, fmt);
	cfg_section_error(cfg, f, line, section, fmt, ap);
	va_end(ap);
}

static void vm_error(struct config *cfg, const char *f, const struct cfg_vm *vm, int line,
		     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void vm_error(struct config *cfg, const char *f, const struct cfg_vm *vm, int line,
		     const char *fmt, ...)
{
	char section[CFG_NAME_MAX + 16];
	va_list ap;

	snprintf(section, sizeof(section), "%s %s", cfg_role_name(vm->role), vm->name);
	va_start(ap, fmt);
	cfg_section_error(cfg, f, line, section, fmt, ap);
	va_end(ap);
}

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
#define CFG_FIRST_DEV_SLOT  0x04
#define CFG_FIRST_CHAN_SLOT 0x10

/* ---- what QEMU knows: its devices and their properties ------------------------------ */

static cfg_qemu_query_fn qemu_query_fn;

void config__set_qemu_query(cfg_qemu_query_fn fn)
{
	qemu_query_fn = fn;
}

static const char *qemu_binary(void)
{
	const char *q = getenv("DDVM_QEMU");

	return q && *q ? q : "qemu-system-x86_64";
}

/* The binary's file: BIN itself or the first match in $PATH. */
static int qemu_stat(const char *bin, struct stat *st)
{
	const char *path = getenv("PATH");
	char buf[4096];

	if (strchr(bin, '/'))
		return stat(bin, st);
	while (path && *path) {
		const char *colon = strchr(path, ':');
		size_t n = colon ? (size_t)(colon - path) : strlen(path);

		if (n &&
		    (size_t)snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, bin) <
			sizeof(buf) &&
		    !access(buf, X_OK) && !stat(buf, st))
			return 0;
		path = colon ? colon + 1 : NULL;
	}
	return -1;
}

static int cache_dir(char *buf, size_t len)
{
	const char *d = getenv("DDVM_CACHE_DIR"), *x = getenv("XDG_CACHE_HOME"),
		   *h = getenv("HOME");
	char parent[4096];

	if (d && *d) {
		snprintf(parent, sizeof(parent), "%s", d);
		if ((size_t)snprintf(buf, len, "%s", d) >= len)
			return -1;
	} else if (x && *x) {
		snprintf(parent, sizeof(parent), "%s", x);
		if ((size_t)snprintf(buf, len, "%s/ddvm", x) >= len)
			return -1;
	} else if (h && *h) {
		snprintf(parent, sizeof(parent), "%s/.cache", h);
		if ((size_t)snprintf(buf, len, "%s/.cache/ddvm", h) >= len)
			return -1;
	} else {
		return -1;
	}
	mkdir(parent, 0755);
	if (mkdir(buf, 0755) && errno != EEXIST)
		return -1;
	return 0;
}

static char *read_all(int fd)
{
	size_t cap = 8192, len = 0;
	char *buf = malloc(cap);

	while (buf) {
		ssize_t n;

		if (len + 1 >= cap) {
			char *nb = realloc(buf, cap * 2);

			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			buf[len] = 0;
			return buf;
		}
		len += n;
	}
	free(buf);
	return NULL;
}

/* Run `BIN -device help` (DEV NULL) or `BIN -device DEV,help`; its output, or NULL. */
static char *qemu_run(const char *bin, const char *dev)
{
	char arg[CFG_MODEL_MAX + 8];
	int pfd[2], status;
	char *out;
	pid_t pid;

	snprintf(arg, sizeof(arg), "%s%s", dev ? dev : "help", dev ? ",help" : "");
	if (pipe2(pfd, O_CLOEXEC))
		return NULL;
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return NULL;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		if (null >= 0)
			dup2(null, 0);
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		execlp(bin, bin, "-nodefaults", "-machine", "none", "-device", arg, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	out = read_all(pfd[0]);
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) == 127) {
		free(out);
		return NULL;
	}
	return out;
}

/* The default query: QEMU's answer from the cache file, else from QEMU (then cached). */
static char *qemu_query_default(const char *dev)
{
	const char *bin = qemu_binary();
	char dir[4096], path[4096 + 256], tmp[4096 + 300];
	struct stat st;
	char *text;
	int fd;

	if (qemu_stat(bin, &st))
		return NULL;
	if (!cache_dir(dir, sizeof(dir))) {
		snprintf(path, sizeof(path), "%s/qemu-%lx-%lx-%lld-%lld.%s.txt", dir,
			 (unsigned long)st.st_dev, (unsigned long)st.st_ino, (long long)st.st_size,
			 (long long)st.st_mtime, dev ? dev : "devices");
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			text = read_all(fd);
			close(fd);
			if (text && *text)
				return text;
			free(text);
		}
	} else {
		path[0] = 0;
	}
	text = qemu_run(bin, dev);
	if (text && path[0]) {
		snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid());
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd >= 0) {
			size_t len = strlen(text);
			int ok = write(fd, text, len) == (ssize_t)len;

			if (close(fd) || !ok || rename(tmp, path))
				unlink(tmp);
		}
	}
	return text;
}

/* Answers already had in this process (one QEMU run per question at most). */
#define QEMU_MEMO 48
static struct {
	char dev[CFG_MODEL_MAX]; /* "" = the device list */
	char *text;
	cfg_qemu_query_fn fn;
} memo[QEMU_MEMO];

static const char *qemu_ask(const char *dev)
{
	cfg_qemu_query_fn fn = qemu_query_fn ? qemu_query_fn : qemu_query_default;
	unsigned i;

	for (i = 0; i < QEMU_MEMO && memo[i].fn; i++)
		if (memo[i].fn == fn && !strcmp(memo[i].dev, dev ? dev : ""))
			return memo[i].text;
	if (i == QEMU_MEMO) { /* full: start over */
		for (i = 0; i < QEMU_MEMO; i++) {
			free(memo[i].text);
			memo[i].text = NULL;
			memo[i].fn = NULL;
		}
		i = 0;
	}
	memo[i].fn = fn;
	snprintf(memo[i].dev, sizeof(memo[i].dev), "%s", dev ? dev : "");
	memo[i].text = fn(dev);
	return memo[i].text;
}

struct qemu_dev {
	char name[CFG_MODEL_MAX]; /* QEMU's own name (the model may be an alias) */
	char category[48];	  /* "Storage", "Network", ... */
	char bus[24];		  /* "PCI", "usb-bus", "SCSI", ... */
};

/*
 * Find MODEL in the text of `-device help`:
 *   Storage devices:
 *   name "ich9-ahci", bus PCI, alias "ahci"
 */
static int qemu_find_device(const char *list, const char *model, struct qemu_dev *qd)
{
	char cat[48] = "";
	const char *p = list;

	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char line[512], name[CFG_MODEL_MAX], *a;

		snprintf(line, sizeof(line), "%.*s",
			 (int)(len < sizeof(line) ? len : sizeof(line) - 1), p);
		p = nl ? nl + 1 : NULL;
		if (!strncmp(line, "name \"", 6)) {
			char *q = strchr(line + 6, '"');
			int match;

			if (!q || q - line - 6 >= (ptrdiff_t)sizeof(name))
				continue;
			snprintf(name, sizeof(name), "%.*s", (int)(q - line - 6), line + 6);
			match = !strcmp(name, model);
			a = strstr(q, ", alias \"");
			if (!match && a) {
				char *e = strchr(a + 9, '"');

				match = e && (size_t)(e - a - 9) == strlen(model) &&
					!strncmp(a + 9, model, e - a - 9);
			}
			if (!match)
				continue;
			snprintf(qd->name, sizeof(qd->name), "%s", name);
			snprintf(qd->category, sizeof(qd->category), "%s", cat);
			qd->bus[0] = 0;
			a = strstr(q, ", bus ");
			if (a)
				sscanf(a + 6, "%23[^,]", qd->bus);
			return 1;
		}
		if (len > 9 && !strcmp(line + strlen(line) - 9, " devices:"))
			snprintf(cat, sizeof(cat), "%.*s", (int)(strlen(line) - 9), line);
	}
	return 0;
}

/* Whether the text of `-device DEV,help` lists property PROP ("  PROP=<type> ..."). */
static int qemu_has_prop(const char *help, const char *prop)
{
	size_t n = strlen(prop);
	const char *p = help;

	while ((p = strstr(p, prop))) {
		if (p >= help + 2 && p[-1] == ' ' && p[-2] == ' ' &&
		    (p == help + 2 || p[-3] == '\n') && p[n] == '=')
			return 1;
		p += n;
	}
	return 0;
}

/* ---- models: what a model is and how its disk is attached --------------------------- */

static const struct {
	const char *model;
	enum cfg_attach attach;
} blk_models[] = {
	{ "nvme", CFG_ATTACH_DIRECT },
	{ "virtio-blk-pci", CFG_ATTACH_DIRECT },
	{ "virtio-blk", CFG_ATTACH_DIRECT },
	{ "virtio-blk-pci-transitional", CFG_ATTACH_DIRECT },
	{ "virtio-blk-pci-non-transitional", CFG_ATTACH_DIRECT },
	{ "ahci", CFG_ATTACH_IDE },
	{ "ich9-ahci", CFG_ATTACH_IDE },
	{ "virtio-scsi-pci", CFG_ATTACH_SCSI },
	{ "virtio-scsi", CFG_ATTACH_SCSI },
	{ "virtio-scsi-pci-transitional", CFG_ATTACH_SCSI },
	{ "virtio-scsi-pci-non-transitional", CFG_ATTACH_SCSI },
	{ "megasas", CFG_ATTACH_SCSI },
	{ "megasas-gen2", CFG_ATTACH_SCSI },
	{ "mptsas1068", CFG_ATTACH_SCSI },
	{ "pvscsi", CFG_ATTACH_SCSI },
	{ "lsi53c895a", CFG_ATTACH_SCSI },
	{ "lsi", CFG_ATTACH_SCSI },
	{ "lsi53c810", CFG_ATTACH_SCSI },
	{ "am53c974", CFG_ATTACH_SCSI },
	{ "dc390", CFG_ATTACH_SCSI },
	{ "usb-storage", CFG_ATTACH_USB },
};

#define BLK_MODELS_HINT                                                                            \
	"nvme, virtio-blk-pci, ahci, virtio-scsi-pci, megasas, megasas-gen2, "                     \
	"lsi53c895a, lsi53c810, pvscsi, am53c974, dc390 or usb-storage"

static int blk_attach(const char *model, enum cfg_attach *attach)
{
	unsigned i;

	for (i = 0; i < sizeof(blk_models) / sizeof(blk_models[0]); i++)
		if (!strcmp(blk_models[i].model, model)) {
			*attach = blk_models[i].attach;
			return 1;
		}
	return 0;
}

const char *cfg_disk_device(const struct cfg_device *d)
{
	if (d->kind != CFG_BLK)
		return d->model;
	switch (d->attach) {
	case CFG_ATTACH_IDE:
		return "ide-hd";
	case CFG_ATTACH_SCSI:
		return "scsi-hd";
	default:
		return d->model;
	}
}

const char *cfg_controller_device(const struct cfg_device *d)
{
	if (d->kind != CFG_BLK)
		return d->attach == CFG_ATTACH_USB ? "qemu-xhci" : NULL;
	switch (d->attach) {
	case CFG_ATTACH_IDE:
	case CFG_ATTACH_SCSI:
		return d->model;
	case CFG_ATTACH_USB:
		return "qemu-xhci";
	default:
		return NULL;
	}
}

/* Whether "name=value,..." PROPS sets NAME. */
int cfg_props_has(const char *props, const char *name)
{
	size_t n = strlen(name);
	const char *p = props;

	while (p && *p) {
		if (!strncmp(p, name, n) && p[n] == '=')
			return 1;
		/* to the next single comma (",," is a comma inside a value) */
		while (*p && !(p[0] == ',' && p[1] != ','))
			p += p[0] == ',' ? 2 : 1;
		if (*p)
			p++;
	}
	return 0;
}

/* Properties the supervisor sets itself: a props line must not override them. */
static const char *const supervisor_props[] = { "drive",  "addr",    "bus", "id",
						"netdev", "chardev", NULL };

/* Each NAME in PROPS (KEY, at LINE) against QEMU's list for DEV. */
static void check_props(struct config *cfg, const char *f, const struct cfg_device *d,
			const char *key, const char *props, int line, const char *dev)
{
	const char *help = qemu_ask(dev), *p = props;
	unsigned i;

	while (*p) {
		char name[128];
		size_t n = strcspn(p, "=");

		snprintf(name, sizeof(name), "%.*s", (int)(n < sizeof(name) ? n : sizeof(name) - 1),
			 p);
		for (i = 0; supervisor_props[i]; i++)
			if (!strcmp(name, supervisor_props[i]))
				break;
		if (supervisor_props[i])
			cfg_dev_error(cfg, f, d, line,
				      "%s: %s is set by the supervisor (device %s); remove "
				      "it",
				      key, name, d->name);
		else if (!strcmp(name, "mac") && d->kind == CFG_NET)
			cfg_dev_error(cfg, f, d, line,
				      "%s: mac is the key 'mac = ...' of [device %s]; "
				      "use that",
				      key, d->name);
		else if (help && strstr(help, " options:") && !qemu_has_prop(help, name))
			cfg_dev_error(cfg, f, d, line,
				      "%s: QEMU's %s has no property '%s'; see %s "
				      "-device %s,help",
				      key, dev, name, qemu_binary(), dev);
		while (*p && !(p[0] == ',' && p[1] != ','))
			p += p[0] == ',' ? 2 : 1;
		if (*p)
			p++;
	}
}

/*
 * The model against QEMU's device list: known, of the device's kind, on a bus the
 * supervisor can attach; then props/controller_props against the property lists.
 */
static void check_model(struct config *cfg, const char *f, struct cfg_device *d, const char *list)
{
	int line = d->model_line ? d->model_line : d->line;
	struct qemu_dev qd = { "", "", "" };
	int known;

	known = qemu_find_device(list, d->model, &qd);
	if (!known) {
		cfg_dev_error(cfg, f, d, line,
			      "model = %s: QEMU has no such device; for kind = %s use "
			      "%s (all: %s -device help)",
			      d->model, cfg_kind_name(d->kind),
			      d->kind == CFG_BLK
				  ? BLK_MODELS_HINT
				  : "e1000, e1000e, virtio-net-pci, rtl8139, vmxnet3, ...",
			      qemu_binary());
		return;
	}
	if (d->kind == CFG_NET) {
		if (strcmp(qd.category, "Network")) {
			cfg_dev_error(
			    cfg, f, d, line,
			    "model = %s: QEMU's %s is a%s %s device, not a NIC; "
			    "use kind = %s, or a NIC model such as e1000 or virtio-net-pci",
			    d->model, qd.name, qd.category[0] ? "" : "n",
			    qd.category[0] ? qd.category : "uncategorized",
			    !strcmp(qd.category, "Storage") ? "blk" : "net");
			return;
		}
		if (!strcmp(qd.bus, "usb-bus")) {
			/* usb-net: on a qemu-xhci of its own at the device's slot; the
			 * translation module takes the NIC whose nearest PCI ancestor is
			 * that function (the xhci) */
			d->attach = CFG_ATTACH_USB;
		} else if (strcmp(qd.bus, "PCI")) {
			cfg_dev_error(
			    cfg, f, d, line,
			    "model = %s: a NIC on bus %s is not served (the "
			    "translation module finds its NIC by the PCI function at the "
			    "device's slot); use a PCI NIC such as e1000 or virtio-net-pci, or "
			    "usb-net",
			    d->model, qd.bus[0] ? qd.bus : "none");
			return;
		}
		if (d->mtu && !cfg_props_has(d->props, "host_mtu")) {
			const char *help = qemu_ask(qd.name);

			d->host_mtu = help && qemu_has_prop(help, "host_mtu");
		}
	} else {
		if (strcmp(qd.category, "Storage")) {
			cfg_dev_error(cfg, f, d, line,
				      "model = %s: QEMU's %s is a%s %s device, not a disk "
				      "controller; use kind = %s, or one of " BLK_MODELS_HINT,
				      d->model, qd.name, qd.category[0] ? "" : "n",
				      qd.category[0] ? qd.category : "uncategorized",
				      !strcmp(qd.category, "Network") ? "net" : "blk");
			return;
		}
		if (!strcmp(qd.name, "mptsas1068")) {
			/* docs/images.md: the driver binds, but no disk ever appears */
			cfg_dev_error(
			    cfg, f, d, line,
			    "model = %s: the driver VM's mptsas binds to QEMU's "
			    "SAS 1068 but never finds a disk on it (QEMU 7.2 reports no SAS phys); "
			    "use megasas-gen2 (an LSI SAS HBA whose driver finds its disks) or "
			    "another of " BLK_MODELS_HINT,
			    d->model);
			return;
		}
		if (!blk_attach(d->model, &d->attach) && !blk_attach(qd.name, &d->attach)) {
			const char *help = qemu_ask(qd.name);

			if (!strcmp(qd.bus, "PCI") && help && qemu_has_prop(help, "drive")) {
				d->attach = CFG_ATTACH_DIRECT;
			} else {
				cfg_dev_error(cfg, f, d, line,
					      "model = %s: the supervisor cannot attach a disk "
					      "to QEMU's %s (bus %s); use one of " BLK_MODELS_HINT,
					      d->model, qd.name, qd.bus[0] ? qd.bus : "none");
				return;
			}
		}
	}
	/* QEMU's own names (the model may be an alias) */
	if (d->props[0])
		check_props(cfg, f, d, "props", d->props, d->props_line,
			    cfg_disk_device(d) == d->model ? qd.name : cfg_disk_device(d));
	if (d->controller_props[0]) {
		if (!cfg_controller_device(d))
			cfg_dev_error(
			    cfg, f, d, d->controller_props_line,
			    "controller_props: model = %s "
			    "%s itself, there is no separate controller; put its properties in "
			    "props",
			    d->model, d->kind == CFG_NET ? "is on PCI" : "holds the disk");
		else
			check_props(cfg, f, d, "controller_props", d->controller_props,
				    d->controller_props_line,
				    cfg_controller_device(d) == d->model
					? qd.name
					: cfg_controller_device(d));
	}
}

/* ---- the setup as a whole: nothing may be given twice -------------------------------- */

static int mac_parse(const char *s, unsigned char m[6])
{
	unsigned v[6], i;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		return -1;
	for (i = 0; i < 6; i++)
		m[i] = v[i];
	return 0;
}

static int bdf_equal(const char *a, const char *b)
{
	unsigned x[4], y[4];

	if (sscanf(a, "%x:%x:%x.%x", &x[0], &x[1], &x[2], &x[3]) != 4 ||
	    sscanf(b, "%x:%x:%x.%x", &y[0], &y[1], &y[2], &y[3]) != 4)
		return !strcasecmp(a, b);
	return !memcmp(x, y, sizeof(x));
}

/* An image that does not exist yet (`size =` creates it): its would-be path with the
 * directory resolved, so that two spellings of one path compare equal. */
static void future_path(const char *image, char *out, size_t len)
{
	char dir[CFG_PATH_MAX], real[4096];
	const char *base = strrchr(image, '/');

	snprintf(dir, sizeof(dir), "%.*s", base ? (int)(base - image) : 1, base ? image : ".");
	if (!dir[0])
		strcpy(dir, "/");
	if (!realpath(dir, real))
		snprintf(real, sizeof(real), "%s", dir);
	snprintf(out, len, "%s/%s", real, base ? base + 1 : image);
}

static void check_unique(struct config *cfg, const char *f)
{
	static struct stat st[CFG_MAX_DEVICES];
	static char future[CFG_MAX_DEVICES][4096 + CFG_PATH_MAX];
	int have[CFG_MAX_DEVICES] = { 0 }; /* 1: stat, 2: future path */
	unsigned i, j;

	for (i = 0; i < cfg->nr_devices; i++) {
		struct cfg_device *d = &cfg->devices[i];

		if (d->kind == CFG_BLK && !d->host[0] && d->image[0]) {
			have[i] = stat(d->image, &st[i]) ? 2 : 1;
			if (have[i] == 2)
				future_path(d->image, future[i], sizeof(future[i]));
		}
		for (j = 0; j < i; j++) {
			struct cfg_device *e = &cfg->devices[j];
			unsigned char m1[6], m2[6];
			int same = have[i] == 1 && have[j] == 1 ? st[i].st_dev == st[j].st_dev &&
								      st[i].st_ino == st[j].st_ino
				   : have[i] == 2 && have[j] == 2 ? !strcmp(future[i], future[j])
								  : 0;

			if (same && !(d->readonly && e->readonly))
				cfg_dev_error(
				    cfg, f, d, d->image_line,
				    "image = %s: the same file as the image "
				    "of device %s (line %d, %s); QEMU locks an image for one "
				    "writer: give each device its own image file",
				    d->image, e->name, e->image_line, e->image);
			if (d->mac[0] && e->mac[0] && !mac_parse(d->mac, m1) &&
			    !mac_parse(e->mac, m2) && !memcmp(m1, m2, 6))
				cfg_dev_error(cfg, f, d, d->mac_line,
					      "mac = %s: device %s has that MAC already "
					      "(line %d); give each NIC's client its own address",
					      d->mac, e->name, e->mac_line);
			if (d->tap[0] && !strcmp(d->tap, e->tap))
				cfg_dev_error(
				    cfg, f, d, d->tap_line,
				    "tap = %s: device %s uses that tap already "
				    "(line %d); QEMU creates one tap per NIC: give each its own "
				    "name",
				    d->tap, e->name, e->tap_line);
			if (d->host[0] && e->host[0] && bdf_equal(d->host, e->host))
				cfg_dev_error(
				    cfg, f, d, d->host_line,
				    "host = %s: device %s is that PCI device "
				    "already (line %d); a real device can be given to one driver "
				    "VM once",
				    d->host, e->name, e->host_line);
		}
	}
}

/* ddvm_netback has one nic_mtu per driver VM: its NICs must agree. */
static void check_mtu(struct config *cfg, const char *f)
{
	unsigned i, j;

	for (i = 0; i < cfg->nr_devices; i++) {
		struct cfg_device *d = &cfg->devices[i];

		if (!d->mtu_line)
			continue;
		if (d->kind != CFG_NET) {
			cfg_dev_error(cfg, f, d, d->mtu_line, "mtu is for net devices; remove it");
			continue;
		}
		if (d->net_backend == CFG_NET_USER && d->mtu > 1500) {
			/* slirp passes frames of up to 1500 bytes: larger ones vanish unseen */
			cfg_dev_error(cfg, f, d, d->mtu_line,
				      "mtu = %u needs backend = tap: QEMU's user-mode network "
				      "(backend = user) takes frames of at most 1500 bytes and "
				      "drops larger ones without a word; remove mtu, or use a tap",
				      d->mtu);
			continue;
		}
		for (j = 0; j < cfg->nr_devices; j++) {
			struct cfg_device *e = &cfg->devices[j];

			if (j == i || e->kind != CFG_NET || !d->vm || e->vm != d->vm ||
			    e->mtu == d->mtu || (e->mtu && j < i))
				continue;
			cfg_dev_error(
			    cfg, f, d, d->mtu_line,
			    "mtu = %u: device %s of the same driver VM "
			    "%s has mtu = %u%s; the translation module sets one MTU on every NIC "
			    "of its VM: give both the same mtu, or put them in different driver "
			    "VMs",
			    d->mtu, e->name, d->vm->name, e->mtu ? e->mtu : 1500,
			    e->mtu ? "" : " (no mtu key)");
			break;
		}
	}
}

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
	if (d->cache_line && (!l || d->cache_line < l))
		l = d->cache_line;
	if (d->bps_limit_line && (!l || d->bps_limit_line < l))
		l = d->bps_limit_line;
	if (d->iops_limit_line && (!l || d->iops_limit_line < l))
		l = d->iops_limit_line;
	if (d->aio_line && (!l || d->aio_line < l))
		l = d->aio_line;
	return l;
}

/* "cache (line 7), bps_limit (line 9)": the blk storage keys D sets, in file order. */
static void storage_keys_list(const struct cfg_device *d, char *buf, size_t len)
{
	const struct {
		const char *key;
		int line;
	} k[] = {
		{ "werror", d->werror_line },	    { "rerror", d->rerror_line },
		{ "discard", d->discard_line },	    { "detect_zeroes", d->detect_zeroes_line },
		{ "cache", d->cache_line },	    { "aio", d->aio_line },
		{ "bps_limit", d->bps_limit_line }, { "iops_limit", d->iops_limit_line },
	};
	const size_t nk = sizeof(k) / sizeof(k[0]);
	size_t n = 0, i;
	int last = 0;

	buf[0] = 0;
	for (;;) {
		size_t next = nk;

		for (i = 0; i < nk; i++)
			if (k[i].line > last && (next == nk || k[i].line < k[next].line))
				next = i;
		if (next == nk || n >= len)
			return;
		n += (size_t)snprintf(buf + n, len - n, "%s%s (line %d)", n ? ", " : "",
				      k[next].key, k[next].line);
		last = k[next].line;
	}
}

/*
 * A blk device with an image: fill in the defaults and check the combination.
 * werror/rerror = report is the default: a request the host file fails (ENOSPC, EIO)
 * fails in the guest, and the driver VM runs on serving its other devices. stop and
 * enospc pause the whole driver VM instead (the supervisor resumes it every second, so
 * requests wait for space); a paused VM's heartbeat stops, so they need the VM's
 * heartbeat and request checks off.
 */
/*
 * bps_limit / iops_limit of a blk device with an image: a limit below what the driver VM
 * needs to boot is refused: its kernel reads each disk's partition table (a few
 * requests, some KiB) as it boots, and at a few bytes a second it never got to its
 * ready line (restarted for a boot timeout, the other disks lost with it).
 */
#define CFG_BPS_LIMIT_MIN  65536u
#define CFG_IOPS_LIMIT_MIN 10u

static void check_throttle(struct config *cfg, const char *f, const struct cfg_device *d)
{
	const struct {
		const char *key, *unit;
		unsigned value, min;
		int line;
	} lim[] = {
		{ "bps_limit", "bytes", d->bps_limit, CFG_BPS_LIMIT_MIN, d->bps_limit_line },
		{ "iops_limit", "requests", d->iops_limit, CFG_IOPS_LIMIT_MIN, d->iops_limit_line },
	};
	unsigned i;

	for (i = 0; i < sizeof(lim) / sizeof(lim[0]); i++)
		if (lim[i].value && lim[i].value < lim[i].min)
			cfg_dev_error(cfg, f, d, lim[i].line,
				      "%s = %u: at least %u %s a second, or 0 for no limit (the "
				      "driver VM reads each disk's partition table as it boots: "
				      "slower, it does not boot)",
				      lim[i].key, lim[i].value, lim[i].min, lim[i].unit);
}

static void check_storage(struct config *cfg, const char *f, struct cfg_device *d)
{
	const struct cfg_vm *vm = d->vm;
	int pauses;

	check_throttle(cfg, f, d);
	if (!d->werror[0])
		strcpy(d->werror, "report");
	if (!d->rerror[0])
		strcpy(d->rerror, "report");
	if (!d->detect_zeroes[0])
		strcpy(d->detect_zeroes, d->discard && !d->readonly ? "unmap" : "off");
	if (!strcmp(d->detect_zeroes, "unmap") && !d->discard)
		cfg_dev_error(
		    cfg, f, d, d->detect_zeroes_line,
		    "detect_zeroes = unmap: needs discard = "
		    "unmap (zeroed blocks are discarded); use detect_zeroes = on or off, or "
		    "remove discard = off");
	if (!d->discard && !strcmp(d->model, "nvme"))
		cfg_dev_error(cfg, f, d, d->discard_line,
			      "discard = off: QEMU's nvme always offers Dataset Management, so "
			      "the client's discards would succeed and be dropped; leave discard = "
			      "unmap (the default), or use model = virtio-blk-pci (or a SCSI/AHCI "
			      "controller)");
	if (d->readonly && d->attach == CFG_ATTACH_IDE) /* ahci and ich9-ahci */
		cfg_dev_error(
		    cfg, f, d, d->line,
		    "readonly = yes with model = %s: QEMU's IDE disk "
		    "(ide-hd) cannot be read-only, and QEMU would refuse to start the driver "
		    "VM (\"Block node is read-only\"); for a read-only disk use "
		    "virtio-blk-pci, nvme or a SCSI controller",
		    d->model);
	if (!strcmp(d->aio, "native") && strcmp(d->cache, "none") && strcmp(d->cache, "directsync"))
		cfg_dev_error(cfg, f, d, d->aio_line,
			      "aio = native: Linux AIO needs O_DIRECT; add cache "
			      "= none (or directsync), or use aio = threads or io_uring");
	pauses = strcmp(d->werror, "report") && strcmp(d->werror, "ignore");
	if (pauses || !strcmp(d->rerror, "stop")) {
		int line = pauses ? d->werror_line : d->rerror_line;

		if (!strcmp(d->model, "nvme"))
			cfg_dev_error(
			    cfg, f, d, line,
			    "%s = %s: QEMU's nvme device has no error policy (it "
			    "always reports the error to the guest); use report, or model = "
			    "virtio-blk-pci",
			    pauses ? "werror" : "rerror", pauses ? d->werror : d->rerror);
		else if (vm && (vm->heartbeat_timeout_ms || vm->request_timeout_ms))
			cfg_dev_error(
			    cfg, f, d, line,
			    "%s = %s pauses driver VM %s at a host I/O error; its "
			    "heartbeat stops and the supervisor would restart it: use report (the "
			    "default), or set heartbeat_timeout_ms = 0 and request_timeout_ms = 0 "
			    "in [driver-vm %s]",
			    pauses ? "werror" : "rerror", pauses ? d->werror : d->rerror, vm->name,
			    vm->name);
	}
}

/* The directory IMAGE is (to be) in. */
static void image_dir(const char *image, char *dir, size_t len)
{
	char *slash;

	snprintf(dir, len, "%s", image);
	slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, len, ".");
	else if (slash == dir)
		dir[1] = 0;
	else
		*slash = 0;
}

static int dir_exists(const char *image)
{
	char dir[CFG_PATH_MAX];
	struct stat st;

	image_dir(image, dir, sizeof(dir));
	return stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

/* `size =` and no image yet: `ddvm up` creates it, so its directory must take it. */
static void check_image_dir(struct config *cfg, const char *f, const struct cfg_device *d)
{
	char dir[CFG_PATH_MAX];

	image_dir(d->image, dir, sizeof(dir));
	if (access(dir, W_OK | X_OK))
		cfg_dev_error(cfg, f, d, d->size_line,
			      "size = %llu bytes: image %s would be "
			      "created, but directory %s: %s; create the directory or fix the path",
			      (unsigned long long)d->size, d->image, dir, strerror(errno));
}

/* The format a disk image's first bytes name, NULL for none we know (raw data). From
 * each format's specification (QEMU's block drivers probe the same magics). Not LUKS:
 * a client that encrypts its whole disk leaves a LUKS header at the start of a raw
 * image, which must come up again as it was. */
static const char *image_magic_format(const unsigned char *b, size_t n)
{
	static const struct {
		const char *name;
		size_t off;
		const char *magic;
		size_t len;
	} m[] = {
		{ "qcow2", 0, "QFI\xfb", 4 },
		{ "qed", 0, "QED\0", 4 },
		{ "vmdk", 0, "KDMV", 4 },
		{ "vmdk", 0, "# Disk DescriptorFile", 21 },
		{ "vhdx", 0, "vhdxfile", 8 },
		{ "vpc", 0, "conectix", 8 },
		{ "vdi", 0x40, "\x7f\x10\xda\xbe", 4 },
	};
	unsigned i;

	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (n >= m[i].off + m[i].len && !memcmp(b + m[i].off, m[i].magic, m[i].len))
			return m[i].name;
	return NULL;
}

/*
 * An image that is there and readable: what it holds must be a disk of the format the
 * device says. A qcow2 file taken as raw (no `format =`) gave the client its header as
 * data, and the client's first write destroyed it; a raw file of 0 bytes or of a size
 * that is not whole sectors gave a disk that never attached or that grew on a write.
 */
static void check_image_contents(struct config *cfg, const char *f, const struct cfg_device *d,
				 const struct stat *st)
{
	int line = d->image_line ? d->image_line : d->line;
	unsigned char b[512];
	const char *named;
	ssize_t n = 0;
	int fd;

	fd = open(d->image, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = pread(fd, b, sizeof(b), 0);
		close(fd);
	}
	if (n < 0)
		n = 0;
	named = image_magic_format(b, (size_t)n);
	if (!strcmp(d->format, "raw") && named && !d->format_line && !strcmp(named, "qcow2"))
		cfg_dev_error(cfg, f, d, line,
			      "image %s is a qcow2 image (its header says so), not raw: add "
			      "'format = qcow2', or 'format = raw' to give the client the file's "
			      "bytes as they are (its first write would destroy the qcow2 header)",
			      d->image);
	else if (!strcmp(d->format, "raw") && named && !d->format_line)
		cfg_dev_error(cfg, f, d, line,
			      "image %s is a %s image (its header says so): ddvm serves raw and "
			      "qcow2; convert it (qemu-img convert -O qcow2 %s NEW.qcow2, then "
			      "format = qcow2), or add 'format = raw' to give the client the "
			      "file's bytes as they are (its first write would destroy the %s "
			      "header)",
			      d->image, named, d->image, named);
	else if (!strcmp(d->format, "qcow2") && S_ISREG(st->st_mode) &&
		 (!named || strcmp(named, "qcow2")))
		cfg_dev_error(cfg, f, d, d->format_line ? d->format_line : line,
			      "format = qcow2, but image %s is %s%s: fix the format (raw) or "
			      "the path",
			      d->image, named ? "a " : "not a qcow2 image",
			      named ? (strcmp(named, "qcow2") ? named : "") : "");
	else if (!strcmp(d->format, "raw") && S_ISREG(st->st_mode) && st->st_size == 0)
		cfg_dev_error(cfg, f, d, line,
			      "image %s is empty (0 bytes): a disk needs a size; give it one "
			      "(truncate -s 64M %s), or remove it%s",
			      d->image, d->image,
			      d->size_line ? " and 'ddvm up' creates it at 'size ='" : "");
	else if (!strcmp(d->format, "raw") && S_ISREG(st->st_mode) && st->st_size % 512 &&
		 !d->readonly) /* read-only: nothing grows it */
		cfg_dev_error(cfg, f, d, line,
			      "image %s is %lld bytes, not whole 512-byte sectors (the client "
			      "would see a last sector that is partly past the end, and a write "
			      "there grows the file): truncate -s %lld %s",
			      d->image, (long long)st->st_size,
			      (long long)(st->st_size + 511) / 512 * 512, d->image);
}

static void check_device(struct config *cfg, const char *f, struct cfg_device *d)
{
	struct stat st;
	struct cfg_vm *vm;
	unsigned i, nr_owned = 0;

	if (!d->kind && !d->kind_line)
		cfg_dev_error(cfg, f, d, d->line,
			      "'kind' is missing; add kind = net or kind = blk");
	if (!d->vm_name[0]) {
		cfg_dev_error(cfg, f, d, d->line,
			      "'vm' is missing; add vm = NAME of the driver VM that owns it");
		return;
	}
	vm = config__find_vm(cfg, d->vm_name);
	if (!vm || vm->role != CFG_DRIVER_VM) {
		cfg_dev_error(cfg, f, d, d->vm_line,
			      "vm = %s: %s; a device belongs to a [driver-vm] "
			      "section",
			      d->vm_name, vm ? "that is not a driver VM" : "no such VM");
		return;
	}
	d->vm = vm;
	for (i = 0; &cfg->devices[i] != d; i++)
		nr_owned += cfg->devices[i].vm == vm;
	d->pci_slot = CFG_FIRST_DEV_SLOT + nr_owned;
	if (d->pci_slot >= CFG_FIRST_CHAN_SLOT)
		cfg_dev_error(cfg, f, d, d->line, "driver VM %s owns too many devices (at most %d)",
			      vm->name, CFG_FIRST_CHAN_SLOT - CFG_FIRST_DEV_SLOT);
	if (!d->model[0])
		strcpy(d->model, d->kind == CFG_BLK ? "virtio-blk-pci" : "e1000");
	if (d->kind == CFG_BLK)
		blk_attach(d->model, &d->attach); /* check_model also asks QEMU about others */
	/* A snapshot is a migration stream: every device of the VM must be migratable. */
	if (vm->restart == CFG_RESTART_SNAPSHOT && d->host[0])
		vm_error(cfg, f, vm, vm->restart_line,
			 "restart = snapshot: driver VM %s owns a real "
			 "device (%s, host = %s), which cannot be saved; use restart = cold",
			 vm->name, d->name, d->host);
	else if (vm->restart == CFG_RESTART_SNAPSHOT && !strcmp(d->model, "nvme"))
		vm_error(cfg, f, vm, vm->restart_line,
			 "restart = snapshot: QEMU cannot save the "
			 "nvme device of %s (device %s is not migratable); use model = "
			 "virtio-blk-pci, or restart = cold",
			 vm->name, d->name);
	/* spare = yes: a second QEMU restored from the same snapshot holds every device
	 * too, paused, until it takes over (spare.c) */
	if (vm->spare && d->host[0] && vm->restart == CFG_RESTART_SNAPSHOT)
		vm_error(cfg, f, vm, vm->spare_line,
			 "spare = yes: driver VM %s owns a real device (%s, host = %s), which "
			 "one QEMU at a time can hold; remove spare = yes",
			 vm->name, d->name, d->host);
	else if (vm->spare && d->kind == CFG_BLK && d->image[0] && strcmp(d->format, "raw"))
		vm_error(cfg, f, vm, vm->spare_line,
			 "spare = yes: disk %s of %s is %s: a paused spare's QEMU keeps the "
			 "image's metadata cached, which goes stale while the active one "
			 "allocates clusters; only raw images can have a spare (convert it with "
			 "qemu-img convert -O raw), or remove spare = yes",
			 d->name, vm->name, d->format);
	if (storage_keys_line(d) && (d->host[0] || d->kind != CFG_BLK)) {
		char keys[256];

		storage_keys_list(d, keys, sizeof(keys));
		cfg_dev_error(cfg, f, d, storage_keys_line(d),
			      "%s %s for blk devices with an image only; remove %s", keys,
			      strchr(keys, ',') ? "are" : "is", strchr(keys, ',') ? "them" : "it");
	}
	if ((d->props_line || d->controller_props_line) && d->host[0])
		cfg_dev_error(cfg, f, d, d->props_line ? d->props_line : d->controller_props_line,
			      "props are for emulated devices; a real device (host = %s) "
			      "has its own: remove them",
			      d->host);
	if (d->host[0]) {
		if (d->image[0] || d->net_backend != CFG_NET_NONE)
			cfg_dev_error(cfg, f, d, d->line,
				      "a real device (host = %s) has no "
				      "emulated back-end; remove image/backend",
				      d->host);
		return;
	}
	if (d->kind == CFG_BLK) {
		if (!d->image[0])
			cfg_dev_error(cfg, f, d, d->line,
				      "a blk device needs 'image = FILE' "
				      "(create one with: truncate -s 64M disk.img)");
		else if (d->size_line && access(d->image, F_OK) && errno == ENOENT) {
			/* `ddvm up` creates it (startup.c); a bad size was reported */
			if (d->size)
				check_image_dir(cfg, f, d);
		} else if (access(d->image, d->readonly ? R_OK : R_OK | W_OK) && errno == ENOENT &&
			   !dir_exists(d->image))
			cfg_dev_error(cfg, f, d, d->line,
				      "image %s: its directory does not exist; fix the "
				      "path (or create the directory, then the image)",
				      d->image);
		else if (!d->readonly && !access(d->image, R_OK) && access(d->image, W_OK))
			/* there and readable, not writable: a read-only file or file system */
			cfg_dev_error(
			    cfg, f, d, d->line,
			    "image %s: %s: it can be read but not written; add 'readonly = "
			    "yes' to give the client a read-only disk, or make it writable",
			    d->image, strerror(errno));
		else if (access(d->image, d->readonly ? R_OK : R_OK | W_OK))
			cfg_dev_error(
			    cfg, f, d, d->line,
			    "image %s: %s; create it (truncate "
			    "-s 64M %s), give 'size = 64M' to have it created, or fix the path",
			    d->image, strerror(errno), d->image);
		else if (!stat(d->image, &st) && !S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
			cfg_dev_error(cfg, f, d, d->image_line ? d->image_line : d->line,
				      "image %s is a %s, not a disk image (a regular file or a "
				      "block device); fix the path",
				      d->image, S_ISDIR(st.st_mode) ? "directory" : "special file");
		else if (!stat(d->image, &st) && !access(d->image, R_OK))
			check_image_contents(cfg, f, d, &st);
		if (d->net_backend != CFG_NET_NONE || d->tap[0] || d->bridge[0] || d->mac[0])
			cfg_dev_error(cfg, f, d, d->line,
				      "backend/tap/bridge/mac are for net "
				      "devices; remove them");
		check_storage(cfg, f, d);
	} else if (d->kind == CFG_NET) {
		if (d->queues_line && d->queues > 1)
			cfg_dev_error(
			    cfg, f, d, d->queues_line,
			    "queues = %u: a net channel has one queue pair (ddvm_netback and "
			    "ddvm_netfront serve one); remove it or set 1",
			    d->queues);
		if (d->image[0])
			cfg_dev_error(cfg, f, d, d->line,
				      "'image' is for blk devices; remove "
				      "it");
		if (d->net_backend == CFG_NET_TAP && !d->tap[0] &&
		    !d->tap_line) /* a bad one: said */
			cfg_dev_error(cfg, f, d, d->line,
				      "backend = tap needs 'tap = IFNAME' "
				      "(QEMU creates it and removes it on exit)");
		if (d->net_backend != CFG_NET_TAP && d->tap[0])
			cfg_dev_error(cfg, f, d, d->line,
				      "'tap' is set but backend is not "
				      "tap; add backend = tap or remove tap");
		if (d->net_backend != CFG_NET_TAP && d->bridge[0])
			cfg_dev_error(cfg, f, d, d->line,
				      "'bridge' is set but backend is not tap (only a "
				      "tap joins a bridge); add backend = tap and tap = IFNAME, or "
				      "remove bridge");
	}
}

/* Every name in a client's devices list is a device: checked apart from the channels
 * (made only from a setup without errors), so that one run reports it with the rest. */
static void check_uses(struct config *cfg, const char *f)
{
	unsigned v, u;

	for (v = 0; v < cfg->nr_vms; v++) {
		const struct cfg_vm *c = &cfg->vms[v];

		for (u = 0; c->role != CFG_DRIVER_VM && u < c->nr_uses; u++)
			if (!find_device(cfg, c->uses[u]))
				vm_error(cfg, f, c, c->uses_line,
					 "devices: no device named '%s'; "
					 "define it in a [device %s] section",
					 c->uses[u], c->uses[u]);
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
			vm_error(cfg, f, c, c->line, "uses no device; add devices = NAME...");
		for (u = 0; u < c->nr_uses; u++) {
			struct cfg_device *d = find_device(cfg, c->uses[u]);
			struct cfg_channel *ch;
			unsigned di;

			if (!d)
				continue; /* check_uses said so */
			for (i = 0; i < u; i++)
				if (!strcmp(c->uses[i], c->uses[u]))
					break;
			if (i < u) {
				vm_error(cfg, f, c, c->uses_line, "devices: '%s' is listed twice",
					 c->uses[u]);
				continue;
			}
			di = d - cfg->devices;
			if (d->kind == CFG_BLK && blk_owner[di]) {
				vm_error(
				    cfg, f, c, c->uses_line,
				    "devices: blk device '%s' is already "
				    "used by %s (line %d); a block device serves one client: give "
				    "each client its own disk",
				    d->name, blk_owner[di]->client->name,
				    blk_owner[di]->client->uses_line);
				continue;
			}
			if (cfg->nr_channels == CFG_MAX_CHANNELS) {
				vm_error(cfg, f, c, c->uses_line, "too many channels (at most %d)",
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
			vm_error(cfg, f, &cfg->vms[v], cfg->vms[v].line,
				 "serves too many channels (at most %d)",
				 0x1f - CFG_FIRST_CHAN_SLOT);
	}
}

/*
 * Queue pairs of each blk channel not given `queues =`: one per vCPU of its client VM
 * (blk-mq maps each vCPU to one), at most the driver VM's vCPUs (blkback's work for a
 * queue runs on any of them) and CFG_MAX_QUEUES. A host client uses one pair
 * (libddvm, the nbdkit plugin), an external VM's vCPUs are not known here: 1.
 */
static void assign_queues(struct config *cfg)
{
	unsigned i;

	for (i = 0; i < cfg->nr_devices; i++) {
		struct cfg_device *d = &cfg->devices[i];

		if (d->kind != CFG_BLK)
			d->queues = 1;
	}
	for (i = 0; i < cfg->nr_channels; i++) {
		struct cfg_device *d = cfg->channels[i].dev;
		const struct cfg_vm *c = cfg->channels[i].client;
		unsigned n = c->role == CFG_CLIENT_VM && !c->external ? c->cpus : 1;

		if (d->queues)
			continue;
		if (n > d->vm->cpus)
			n = d->vm->cpus;
		d->queues = n < 1 ? 1 : n > CFG_MAX_QUEUES ? CFG_MAX_QUEUES : n;
	}
	for (i = 0; i < cfg->nr_devices; i++)
		if (!cfg->devices[i].queues)
			cfg->devices[i].queues = 1; /* a device no client uses */
}

/* Is m a client MAC given so far (channels before `upto`) or any NIC's `mac =`? */
static int mac_taken(const struct config *cfg, unsigned upto, const unsigned char m[6])
{
	unsigned char e[6];
	unsigned i;

	for (i = 0; i < upto; i++)
		if (cfg->channels[i].dev->kind == CFG_NET && !memcmp(cfg->channels[i].mac, m, 6))
			return 1;
	for (i = 0; i < cfg->nr_devices; i++)
		if (cfg->devices[i].mac[0] && !mac_parse(cfg->devices[i].mac, e) &&
		    !memcmp(e, m, 6))
			return 1;
	return 0;
}

/*
 * Each net channel's client MAC (the translation module switches frames to a client by
 * it): the device's `mac =` when the channel is its only client (the emulated NIC gets
 * the same address), else 52:54:00:dd:XX:YY from a hash (FNV-1a) of the channel's name,
 * stable across runs. Two names can hash alike (nic0.a and nic0.fpbg do): a derived
 * MAC that another client or NIC of the setup has already moves to the next free one,
 * in file order, so that no client is left off the network by a twin address.
 */
static void assign_client_macs(struct config *cfg)
{
	unsigned i, k;

	for (i = 0; i < cfg->nr_channels; i++) {
		struct cfg_channel *ch = &cfg->channels[i];
		uint32_t h = 2166136261u;
		uint16_t low;

		if (ch->dev->kind != CFG_NET)
			continue;
		if (ch->dev->mac[0] && ch->dev->nr_users <= 1 && !mac_parse(ch->dev->mac, ch->mac))
			continue;
		for (k = 0; ch->name[k]; k++)
			h = (h ^ (uint8_t)ch->name[k]) * 16777619u;
		low = (uint16_t)h;
		ch->mac[0] = 0x52;
		ch->mac[1] = 0x54;
		ch->mac[2] = 0x00;
		ch->mac[3] = 0xdd;
		for (k = 0; k < 0x10000; k++, low++) {
			ch->mac[4] = (uint8_t)(low >> 8);
			ch->mac[5] = (uint8_t)low;
			if (!mac_taken(cfg, i, ch->mac))
				break;
		}
	}
}

void config__check(struct config *cfg, const char *f)
{
	unsigned i, drivers = 0, emulated = 0;
	const char *list = NULL;

	for (i = 0; i < cfg->nr_devices; i++)
		check_device(cfg, f, &cfg->devices[i]);
	check_unique(cfg, f);
	check_mtu(cfg, f);
	/* Ask QEMU only about a setup that names devices of a known kind. */
	for (i = 0; i < cfg->nr_devices; i++)
		emulated += cfg->devices[i].kind && !cfg->devices[i].host[0];
	if (emulated) {
		list = qemu_ask(NULL);
		if (!list)
			cfg_error(cfg, f, 0,
				  "cannot ask QEMU (%s -device help) which devices it has; "
				  "install qemu-system-x86 or set DDVM_QEMU to its binary",
				  qemu_binary());
	}
	/* only devices whose driver VM is known got their (default) model */
	for (i = 0; list && i < cfg->nr_devices; i++)
		if (cfg->devices[i].kind && !cfg->devices[i].host[0] && cfg->devices[i].vm)
			check_model(cfg, f, &cfg->devices[i], list);
	for (i = 0; i < cfg->nr_vms; i++)
		drivers += cfg->vms[i].role == CFG_DRIVER_VM;
	if (!drivers && !cfg->nr_errors)
		cfg_error(cfg, f, 0,
			  "no [driver-vm NAME] section; a setup needs at least one "
			  "driver VM (see examples/demo.ini)");
	check_uses(cfg, f);
	if (!cfg->nr_errors) {
		make_channels(cfg, f);
		assign_client_macs(cfg);
		assign_queues(cfg);
		config__check_antispoof(cfg, f);
	}
	/* VMs inherit the global kernel/initrd. */
	for (i = 0; i < cfg->nr_vms; i++) {
		struct cfg_vm *vm = &cfg->vms[i];

		if (vm->external && vm->vm_key_line)
			vm_error(cfg, f, vm, vm->vm_key_line,
				 "%s: an external client VM is defined where "
				 "it runs (libvirt, ...); the supervisor only serves its "
				 "channels; remove the key, or set external = no",
				 vm->vm_key);
		if (vm->spare && vm->restart != CFG_RESTART_SNAPSHOT)
			vm_error(cfg, f, vm, vm->spare_line,
				 "spare = yes: driver VM %s has restart = cold; a warm spare is "
				 "restored from the snapshot: add restart = snapshot, or remove "
				 "spare = yes",
				 vm->name);
		if (vm->spare) {
			unsigned j, taps = 0;

			for (j = 0; j < cfg->nr_devices; j++)
				taps += cfg->devices[j].vm == vm &&
					cfg->devices[j].kind == CFG_NET &&
					cfg->devices[j].net_backend == CFG_NET_TAP;
			if (taps > TAP_MAX_OWNED)
				vm_error(
				    cfg, f, vm, vm->spare_line,
				    "spare = yes: driver VM %s has %u tap NICs; the supervisor "
				    "holds the taps of a VM with a spare, at most %u: use "
				    "fewer, or remove spare = yes",
				    vm->name, taps, TAP_MAX_OWNED);
		}
		if (!cfg_vm_started_here(vm))
			continue;
		/* A restored VM maps the first boot's RAM copy private: a free-page report
		 * cannot give pages back there (QEMU punches holes into the sealed copy) */
		/* Opt-in (default no): a device more in every guest, measured on a loaded
		 * host only (docs/bench.md, section 3). */
		if (vm->balloon < 0)
			vm->balloon = 0;
		else if (vm->balloon && vm->restart == CFG_RESTART_SNAPSHOT)
			vm_error(cfg, f, vm, vm->balloon_line,
				 "balloon = yes and restart = snapshot: a restored "
				 "VM's RAM is the snapshot's copy-on-write copy, which free-page "
				 "reporting cannot give back; remove balloon, or use restart = "
				 "cold");
		if (!vm->kernel[0])
			strcpy(vm->kernel, cfg->kernel);
		if (!vm->initrd[0])
			strcpy(vm->initrd,
			       vm->role == CFG_DRIVER_VM ? cfg->driver_initrd : cfg->client_initrd);
	}
}

/* One boot file of VM: PATH for KEY must name a readable file. A file with errors
 * already (QUIET) may have lost the path to one of them: "no KEY" is not said then. */
static void check_boot_file(struct config *cfg, const struct cfg_vm *vm, const char *key,
			    const char *path, int line, const char *fix, int quiet)
{
	const char *why;
	struct stat st;
	unsigned i;

	if (!path[0] && quiet)
		return;
	/* a file that VMs share (the [ddvm] kernel, an initrd) is reported once, at the
	 * first VM that uses it, not once per VM */
	for (i = 0; path[0] && &cfg->vms[i] < vm; i++)
		if (cfg_vm_started_here(&cfg->vms[i]) &&
		    (!strcmp(cfg->vms[i].kernel, path) || !strcmp(cfg->vms[i].initrd, path)))
			return;
	if (!path[0]) {
		vm_error(cfg, cfg->path, vm, vm->line, "no %s; %s", key, fix);
		return;
	}
	if (stat(path, &st))
		why = strerror(errno);
	else if (!S_ISREG(st.st_mode))
		why = "not a regular file";
	else if (access(path, R_OK))
		why = strerror(errno);
	else
		return;
	vm_error(cfg, cfg->path, vm, line ? line : vm->line, "%s %s: %s; %s", key, path, why, fix);
}

/* A tap's bridge must exist where `ddvm up` runs (its network namespace): QEMU's tap
 * would come up joined to nothing. tap.c checks again at each start of the driver VM. */
static void check_bridge(struct config *cfg, const struct cfg_device *d)
{
	char path[64];

	if (d->kind != CFG_NET || d->net_backend != CFG_NET_TAP || !d->bridge[0] || !d->vm ||
	    !cfg_vm_started_here(d->vm))
		return;
	snprintf(path, sizeof(path), "/sys/class/net/%s/bridge", d->bridge);
	if (!access(path, F_OK))
		return;
	if (if_nametoindex(d->bridge))
		cfg_dev_error(cfg, cfg->path, d, d->bridge_line,
			      "bridge = %s: %s is an interface here but not a bridge; name a "
			      "bridge ('ip -br link show type bridge' lists them) or create one "
			      "under another name",
			      d->bridge, d->bridge);
	else
		cfg_dev_error(cfg, cfg->path, d, d->bridge_line,
			      "bridge = %s: no interface %s here (in this network namespace): "
			      "create the bridge first (ip link add %s type bridge; ip link set %s "
			      "up), or fix the setup file",
			      d->bridge, d->bridge, d->bridge, d->bridge);
}

/*
 * A tap that exists already: QEMU (or with spare = yes the supervisor) would take it
 * over, which works for a tap only, and with spare = yes for a multiqueue one (the
 * active and the spare QEMU each hold a queue). Found here, not as a failed start.
 */
/* Do we have CAP_NET_ADMIN (bit 12 of CapEff in /proc/self/status), which creating a
 * tap takes? When it cannot tell: yes (`up` then says it in the kernel's words). */
static int have_net_admin(void)
{
	char line[128];
	unsigned long long caps = ~0ULL;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return 1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &caps) == 1)
			break;
	fclose(f);
	return (caps >> 12) & 1;
}

static void check_tap(struct config *cfg, const struct cfg_device *d)
{
	char path[80], flags[32] = "";
	int line = d->tap_line ? d->tap_line : d->line;
	FILE *f;

	if (d->kind != CFG_NET || d->net_backend != CFG_NET_TAP || !d->tap[0] || !d->vm ||
	    !cfg_vm_started_here(d->vm))
		return;
	/* as `up` would open it (QEMU, or the supervisor with spare = yes) */
	if (access("/dev/net/tun", R_OK | W_OK)) {
		int err = errno;

		cfg_dev_error(cfg, cfg->path, d, line, "tap = %s: cannot open /dev/net/tun: %s%s",
			      d->tap, strerror(err),
			      err == ENOENT ? " (modprobe tun)" : " (run ddvm as root)");
		return;
	}
	if (!if_nametoindex(d->tap)) {
		if (!have_net_admin())
			cfg_dev_error(cfg, cfg->path, d, line,
				      "tap = %s: creating a tap needs CAP_NET_ADMIN: run ddvm as "
				      "root, or create the tap beforehand ('ip tuntap add dev %s "
				      "mode tap%s user %s', as root)",
				      d->tap, d->tap, d->vm->spare ? " multi_queue" : "",
				      getenv("USER") ? getenv("USER") : "USER");
		return;
	}
	snprintf(path, sizeof(path), "/sys/class/net/%s/bridge", d->tap);
	if (!access(path, F_OK)) {
		cfg_dev_error(cfg, cfg->path, d, line,
			      "tap = %s: %s is a bridge here; the tap is the NIC's own interface, "
			      "which ddvm creates: name the bridge in 'bridge = %s' and give the "
			      "tap a name of its own",
			      d->tap, d->tap, d->tap);
		return;
	}
	snprintf(path, sizeof(path), "/sys/class/net/%s/tun_flags", d->tap);
	f = fopen(path, "re");
	if (!f) {
		cfg_dev_error(cfg, cfg->path, d, line,
			      "tap = %s: %s exists and is not a tap (another kind of interface): "
			      "give the NIC another tap name",
			      d->tap, d->tap);
		return;
	}
	if (!fgets(flags, sizeof(flags), f))
		flags[0] = 0;
	fclose(f);
	if (d->vm->spare && !(strtoul(flags, NULL, 0) & IFF_MULTI_QUEUE))
		cfg_dev_error(cfg, cfg->path, d, line,
			      "tap = %s: %s exists and is not a multiqueue tap, which spare = yes "
			      "needs (the active and the spare QEMU each hold a queue of it): if "
			      "nothing else uses it, delete it (ip link del %s) and ddvm creates "
			      "it, or create it with "
			      "'ip tuntap add dev %s mode tap multi_queue'",
			      d->tap, d->tap, d->tap, d->tap);
}

int config__check_files(struct config *cfg)
{
	int quiet = cfg->nr_errors > 0;
	unsigned i;

	for (i = 0; i < cfg->nr_devices; i++) {
		check_bridge(cfg, &cfg->devices[i]);
		check_tap(cfg, &cfg->devices[i]);
	}

	for (i = 0; i < cfg->nr_vms; i++) {
		const struct cfg_vm *vm = &cfg->vms[i];

		if (!cfg_vm_started_here(vm))
			continue;
		check_boot_file(cfg, vm, "kernel", vm->kernel,
				vm->kernel_line ? vm->kernel_line : cfg->kernel_line,
				"set kernel = in [ddvm] or in this section, or run 'make' (it "
				"builds build/kernel/vmlinuz)",
				quiet);
		check_boot_file(cfg, vm, "initrd", vm->initrd,
				vm->initrd_line		    ? vm->initrd_line
				: vm->role == CFG_DRIVER_VM ? cfg->driver_initrd_line
							    : cfg->client_initrd_line,
				vm->role == CFG_DRIVER_VM
				    ? "set driver_initrd = in [ddvm] or initrd = here, or run "
				      "'make' (build/images/driver-vm.cpio.gz)"
				    : "set client_initrd = in [ddvm] or initrd = here, or run "
				      "'make' (build/images/client-vm.cpio.gz)",
				quiet);
		if (vm->run[0])
			check_boot_file(cfg, vm, "run script", vm->run, vm->run_line,
					"fix the path in run = (relative paths are taken from "
					"the config file's directory)",
					quiet);
	}
	return cfg->nr_errors ? -EINVAL : 0;
}
