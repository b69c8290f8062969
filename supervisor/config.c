/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Setup file parsing: the file is split into (section, key, value) triples (INI: '#'
 * or ';' comments, [section] headers, key = value; no limit on a line's length) and
 * given meaning here, then config_check.c checks the whole (references, sharing
 * rules) and derives the channels. Errors are collected, not fatal at the first one,
 * so a user fixes a file in one round.
 */
#include "config.h"
#include "config_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

enum section_type { SEC_NONE, SEC_GLOBAL, SEC_DRIVER, SEC_CLIENT, SEC_HOST, SEC_DEVICE, SEC_BAD };

struct parse_state {
	struct config *cfg;
	const char *name;	/* file name for messages */
	char dir[CFG_PATH_MAX]; /* relative paths are resolved against it */
	int line;		/* current line, counted by our reader */
	char section[128];	/* last section header seen */
	enum section_type type;
	struct cfg_vm *vm;
	struct cfg_device *dev;
	/* string input (tests) */
	const char *text;
	/* "set twice" detection: keys seen in the current section */
	char seen[32][24];
	unsigned nr_seen;
	int in_key; /* perr is about the value of a key in ps->section */
};

/* The line number of one "file:LINE: message" entry of cfg->errors for FILE; 0 for
 * "file: message" and for another file's entries. */
static int error_line(const char *entry, const char *file)
{
	size_t n = strlen(file);

	if (strncmp(entry, file, n) || entry[n] != ':' || !isdigit((unsigned char)entry[n + 1]))
		return 0;
	return atoi(entry + n + 1);
}

/*
 * Errors are reported in the file's line order, whichever pass found them (the parse
 * reads top to bottom, config_check.c checks references and sharing after it): a
 * message goes before the first one of the same file with a later line. Messages
 * without a line (the file as a whole) stay in the order they came. What does not
 * fit in cfg->errors is counted but not kept.
 */
void cfg_error(struct config *cfg, const char *file, int line, const char *fmt, ...)
{
	char msg[1024], *at;
	size_t len = strlen(cfg->errors), n;
	va_list ap;
	int k;

	cfg->nr_errors++;
	k = line > 0 ? snprintf(msg, sizeof(msg), "%s:%d: ", file, line)
		     : snprintf(msg, sizeof(msg), "%s: ", file);
	n = k < 0 ? 0 : (size_t)k < sizeof(msg) ? (size_t)k : sizeof(msg) - 1;
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - n, fmt, ap);
	va_end(ap);
	n = strlen(msg); /* every entry ends in a newline, a cut one too */
	if (n + 1 < sizeof(msg))
		n++;
	msg[n - 1] = '\n';
	msg[n] = 0;
	if (len + n + 1 > sizeof(cfg->errors))
		return;
	at = cfg->errors + len; /* no line: after all the others */
	if (line > 0)
		for (at = cfg->errors; *at; at = strchr(at, '\n') + 1)
			if (error_line(at, file) > line)
				break;
	memmove(at + n, at, len - (size_t)(at - cfg->errors) + 1);
	memcpy(at, msg, n);
}

void cfg_section_error(struct config *cfg, const char *file, int line, const char *section,
		       const char *fmt, va_list ap)
{
	char msg[768];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (section && section[0] && msg[0] != '[')
		cfg_error(cfg, file, line, "[%s]: %s", section, msg);
	else
		cfg_error(cfg, file, line, "%s", msg);
}

/* A problem at the current line; one in a key's value names its section too, as the
 * unknown-key messages do: a user reading only the message knows which device or VM
 * it is about. */
static void perr(struct parse_state *ps, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void perr(struct parse_state *ps, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cfg_section_error(ps->cfg, ps->name, ps->line, ps->in_key ? ps->section : NULL, fmt, ap);
	va_end(ap);
}

const char *cfg_role_name(enum cfg_role r)
{
	switch (r) {
	case CFG_DRIVER_VM:
		return "driver-vm";
	case CFG_CLIENT_VM:
		return "client-vm";
	case CFG_HOST_CLIENT:
		return "host-client";
	}
	return "?";
}

const char *cfg_mac_str(const unsigned char mac[6], char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
		 mac[5]);
	return buf;
}

const char *cfg_kind_name(enum cfg_kind k)
{
	return k == CFG_NET ? "net" : k == CFG_BLK ? "blk" : "?";
}

static int name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= CFG_NAME_MAX || !isalpha((unsigned char)s[0]))
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
			return 0;
	return 1;
}

/* Copy a value into a fixed field; refuse (with a message) what does not fit. */
static int set_str(struct parse_state *ps, const char *key, char *dst, size_t size, const char *val)
{
	if (strlen(val) >= size) {
		perr(ps, "%s: value is too long (at most %zu characters)", key, size - 1);
		return -1;
	}
	strcpy(dst, val);
	return 0;
}

/* set_str for a key whose empty value means nothing (a `ready =` that no console line
 * can match would fail every boot, in a restart loop). */
static int set_word(struct parse_state *ps, const char *key, char *dst, size_t size,
		    const char *val)
{
	if (!*val) {
		perr(ps, "%s: empty value; give one or remove the line (for the default)", key);
		return -1;
	}
	return set_str(ps, key, dst, size, val);
}

/* A path: relative ones are taken relative to the setup file's directory. */
static int set_path(struct parse_state *ps, const char *key, char *dst, const char *val)
{
	char buf[2 * CFG_PATH_MAX];

	if (!*val) {
		perr(ps, "%s: empty path; give a file name or remove the line", key);
		return -1;
	}
	if (val[0] == '/' || !ps->dir[0])
		snprintf(buf, sizeof(buf), "%s", val);
	else
		snprintf(buf, sizeof(buf), "%s/%s", ps->dir, val);
	return set_str(ps, key, dst, CFG_PATH_MAX, buf);
}

static int set_uint(struct parse_state *ps, const char *key, unsigned *dst, const char *val,
		    unsigned min, unsigned max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(val, &end, 10);
	if (!*val || *end || errno || val[0] == '-' || v < min || v > max) {
		perr(ps, "%s = %s: expected a whole number from %u to %u", key, val, min, max);
		return -1;
	}
	*dst = v;
	return 0;
}

/* A size in MiB: "512" (MiB), "512M", "1G"; -1 when it is not one. */
static long parse_mib(const char *val)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(val, &end, 10);
	if (v > 1UL << 30)
		return -1;
	if (*end == 'G' || *end == 'g') {
		v *= 1024;
		end++;
	} else if (*end == 'M' || *end == 'm') {
		end++;
	}
	if (!*val || *end || errno || val[0] == '-')
		return -1;
	return (long)v;
}

/* Memory: from 64M to 64G. */
static int set_memory(struct parse_state *ps, const char *key, unsigned *dst, const char *val)
{
	long v = parse_mib(val);

	if (v < 64 || v > 65536) {
		perr(ps, "%s = %s: expected a size from 64M to 64G, like 256M or 1G", key, val);
		return -1;
	}
	*dst = v;
	return 0;
}

/* TCG's translation buffer: "0" (QEMU's default) or from 1M to 2G. */
static int set_tb_size(struct parse_state *ps, const char *key, unsigned *dst, const char *val)
{
	long v = parse_mib(val);

	if (v < 0 || v > 2048) {
		perr(ps, "%s = %s: expected 0 (QEMU's default) or a size from 1M to 2G, like 32M",
		     key, val);
		return -1;
	}
	*dst = v;
	return 0;
}

/* Disk size: "64M", "10G", "1T", or bytes; a multiple of 512, from 1M to 16T. */
static int set_disk_size(struct parse_state *ps, const char *key, uint64_t *dst, const char *val)
{
	unsigned long long v;
	unsigned shift = 0;
	char *end;

	errno = 0;
	v = strtoull(val, &end, 10);
	switch (*end) {
	case 'K':
	case 'k':
		shift = 10;
		end++;
		break;
	case 'M':
	case 'm':
		shift = 20;
		end++;
		break;
	case 'G':
	case 'g':
		shift = 30;
		end++;
		break;
	case 'T':
	case 't':
		shift = 40;
		end++;
		break;
	}
	if (!*val || *end || errno || val[0] == '-' || v > (16ULL << 40) >> shift ||
	    (v << shift) < (1ULL << 20) || (v << shift) % 512) {
		perr(ps, "%s = %s: expected a disk size from 1M to 16T, like 64M or 10G", key, val);
		return -1;
	}
	*dst = v << shift;
	return 0;
}

static int set_bool(struct parse_state *ps, const char *key, int *dst, const char *val)
{
	if (!strcasecmp(val, "yes") || !strcasecmp(val, "true") || !strcmp(val, "1") ||
	    !strcasecmp(val, "on")) {
		*dst = 1;
	} else if (!strcasecmp(val, "no") || !strcasecmp(val, "false") || !strcmp(val, "0") ||
		   !strcasecmp(val, "off")) {
		*dst = 0;
	} else {
		perr(ps, "%s = %s: expected yes or no", key, val);
		return -1;
	}
	return 0;
}

static void vm_defaults(struct cfg_vm *vm, enum cfg_role role)
{
	vm->role = role;
	vm->memory_mb = 256;
	vm->cpus = 1;
	vm->tb_size_mb = CFG_TB_SIZE_MB;
	vm->balloon = -1; /* unset: no (config__check); yes with restart = snapshot is refused */
	strcpy(vm->ready, "DDVM-READY");
	vm->restart_max = 5;
	vm->restart_backoff_ms = 200;
	vm->boot_timeout_ms = 60000;
	vm->heartbeat_timeout_ms = role == CFG_DRIVER_VM ? 3000 : 0;
	vm->request_timeout_ms = role == CFG_DRIVER_VM ? 5000 : 0;
}

static int begin_section(struct parse_state *ps, const char *section)
{
	struct config *cfg = ps->cfg;
	char type[32], name[64];
	unsigned i, same;

	ps->vm = NULL;
	ps->dev = NULL;
	ps->nr_seen = 0;
	ps->type = SEC_BAD;
	if (!strcmp(section, "ddvm")) {
		ps->type = SEC_GLOBAL;
		return 0;
	}
	if (sscanf(section, "%31s %63s", type, name) != 2) {
		perr(ps,
		     "[%s]: unknown section; expected [ddvm], [driver-vm NAME], "
		     "[client-vm NAME], [host-client NAME] or [device NAME]",
		     section);
		return -1;
	}
	if (!name_valid(name)) {
		perr(ps,
		     "[%s]: bad name '%s': use a letter, then letters, digits, '-' or '_' "
		     "(at most %d characters)",
		     section, name, CFG_NAME_MAX - 1);
		return -1;
	}
	if (!strcmp(type, "device")) {
		for (i = 0; i < cfg->nr_devices; i++)
			if (!strcmp(cfg->devices[i].name, name)) {
				perr(ps,
				     "[device %s]: defined twice (first at line %d); "
				     "give each device its own name",
				     name, cfg->devices[i].line);
				return -1;
			}
		if (cfg->nr_devices == CFG_MAX_DEVICES) {
			perr(ps, "too many devices (at most %d)", CFG_MAX_DEVICES);
			return -1;
		}
		ps->dev = &cfg->devices[cfg->nr_devices++];
		strcpy(ps->dev->name, name);
		ps->dev->line = ps->line;
		ps->dev->discard = 1;
		strcpy(ps->dev->format, "raw");
		ps->type = SEC_DEVICE;
		return 0;
	}

	enum cfg_role role;

	if (!strcmp(type, "driver-vm")) {
		role = CFG_DRIVER_VM;
		ps->type = SEC_DRIVER;
	} else if (!strcmp(type, "client-vm")) {
		role = CFG_CLIENT_VM;
		ps->type = SEC_CLIENT;
	} else if (!strcmp(type, "host-client")) {
		role = CFG_HOST_CLIENT;
		ps->type = SEC_HOST;
	} else {
		perr(ps,
		     "[%s]: unknown section type '%s'; expected driver-vm, client-vm, "
		     "host-client or device",
		     section, type);
		return -1;
	}
	for (i = 0; i < cfg->nr_vms; i++)
		if (!strcmp(cfg->vms[i].name, name)) {
			perr(ps,
			     "[%s]: the name '%s' is already used at line %d; VMs and host "
			     "clients need distinct names",
			     section, name, cfg->vms[i].line);
			ps->type = SEC_BAD;
			return -1;
		}
	/* the supervisor runs at most CFG_MAX_VMS QEMUs (its VM table), and serves at most
	 * CFG_MAX_HOST_CLIENTS host clients: counted apart */
	for (i = 0, same = 0; i < cfg->nr_vms; i++)
		same += (cfg->vms[i].role == CFG_HOST_CLIENT) == (role == CFG_HOST_CLIENT);
	if (same == (role == CFG_HOST_CLIENT ? CFG_MAX_HOST_CLIENTS : CFG_MAX_VMS)) {
		perr(ps, "[%s]: too many %s (at most %d)", section,
		     role == CFG_HOST_CLIENT ? "host clients" : "VMs (driver and client VMs)",
		     role == CFG_HOST_CLIENT ? CFG_MAX_HOST_CLIENTS : CFG_MAX_VMS);
		ps->type = SEC_BAD;
		return -1;
	}
	ps->vm = &cfg->vms[cfg->nr_vms++];
	strcpy(ps->vm->name, name);
	ps->vm->line = ps->line;
	vm_defaults(ps->vm, role);
	return 0;
}

static int key_global(struct parse_state *ps, const char *k, const char *v)
{
	struct config *cfg = ps->cfg;

	if (!strcmp(k, "kernel")) {
		cfg->kernel_line = ps->line;
		return set_path(ps, k, cfg->kernel, v);
	}
	if (!strcmp(k, "driver_initrd")) {
		cfg->driver_initrd_line = ps->line;
		return set_path(ps, k, cfg->driver_initrd, v);
	}
	if (!strcmp(k, "client_initrd")) {
		cfg->client_initrd_line = ps->line;
		return set_path(ps, k, cfg->client_initrd, v);
	}
	if (!strcmp(k, "rundir"))
		return set_path(ps, k, cfg->rundir, v);
	perr(ps, "[ddvm]: unknown key '%s'; known: kernel, driver_initrd, client_initrd, rundir",
	     k);
	return -1;
}

/* "a b, c" → uses[] */
static int set_uses(struct parse_state *ps, struct cfg_vm *vm, const char *v)
{
	char buf[1024], *tok, *save;

	if (set_str(ps, "devices", buf, sizeof(buf), v))
		return -1;
	vm->uses_line = ps->line;
	for (tok = strtok_r(buf, " ,\t", &save); tok; tok = strtok_r(NULL, " ,\t", &save)) {
		if (vm->nr_uses == CFG_MAX_USES) {
			perr(ps, "devices: too many (at most %d per client)", CFG_MAX_USES);
			return -1;
		}
		if (!name_valid(tok)) {
			perr(ps, "devices: '%s' is not a device name", tok);
			return -1;
		}
		strcpy(vm->uses[vm->nr_uses++], tok);
	}
	if (!vm->nr_uses) {
		perr(ps, "devices: empty; list the devices this client uses, or remove the line");
		return -1;
	}
	return 0;
}

static int set_restart(struct parse_state *ps, struct cfg_vm *vm, const char *v)
{
	if (vm->role != CFG_DRIVER_VM) {
		perr(ps,
		     "restart: only a driver VM is restarted by the supervisor; remove it "
		     "from [%s %s]",
		     cfg_role_name(vm->role), vm->name);
		return -1;
	}
	vm->restart_line = ps->line;
	if (!strcmp(v, "cold")) {
		vm->restart = CFG_RESTART_COLD;
	} else if (!strcmp(v, "snapshot")) {
		vm->restart = CFG_RESTART_SNAPSHOT;
	} else {
		perr(ps, "restart = %s: expected cold or snapshot", v);
		return -1;
	}
	return 0;
}

static int key_vm(struct parse_state *ps, const char *k, const char *v)
{
	struct cfg_vm *vm = ps->vm;
	int is_vm = vm->role != CFG_HOST_CLIENT;

	if (!strcmp(k, "devices")) {
		if (vm->role == CFG_DRIVER_VM) {
			perr(ps,
			     "devices: a driver VM does not list devices; each [device] section "
			     "names its driver VM with 'vm = %s'",
			     vm->name);
			return -1;
		}
		return set_uses(ps, vm, v);
	}
	if (vm->role == CFG_CLIENT_VM && !strcmp(k, "external"))
		return set_bool(ps, k, &vm->external, v);
	if (is_vm && !vm->vm_key_line) {
		vm->vm_key_line = ps->line;
		snprintf(vm->vm_key, sizeof(vm->vm_key), "%s", k);
	}
	if (is_vm) {
		if (!strcmp(k, "memory"))
			return set_memory(ps, k, &vm->memory_mb, v);
		if (!strcmp(k, "cpus"))
			return set_uint(ps, k, &vm->cpus, v, 1, 64);
		if (!strcmp(k, "tb_size"))
			return set_tb_size(ps, k, &vm->tb_size_mb, v);
		if (!strcmp(k, "balloon")) {
			vm->balloon_line = ps->line;
			return set_bool(ps, k, &vm->balloon, v);
		}
		if (!strcmp(k, "kernel")) {
			vm->kernel_line = ps->line;
			return set_path(ps, k, vm->kernel, v);
		}
		if (!strcmp(k, "initrd")) {
			vm->initrd_line = ps->line;
			return set_path(ps, k, vm->initrd, v);
		}
		if (!strcmp(k, "append"))
			return set_str(ps, k, vm->append, sizeof(vm->append), v);
		if (!strcmp(k, "run")) {
			vm->run_line = ps->line;
			return set_path(ps, k, vm->run, v);
		}
		if (!strcmp(k, "ready"))
			return set_word(ps, k, vm->ready, sizeof(vm->ready), v);
		if (!strcmp(k, "restart_max"))
			return set_uint(ps, k, &vm->restart_max, v, 0, 1000);
		if (!strcmp(k, "restart_backoff_ms"))
			return set_uint(ps, k, &vm->restart_backoff_ms, v, 0, 600000);
		if (!strcmp(k, "boot_timeout_ms"))
			return set_uint(ps, k, &vm->boot_timeout_ms, v, 0, 3600000);
		if (!strcmp(k, "heartbeat_timeout_ms"))
			return set_uint(ps, k, &vm->heartbeat_timeout_ms, v, 0, 3600000);
		if (!strcmp(k, "request_timeout_ms"))
			return set_uint(ps, k, &vm->request_timeout_ms, v, 0, 3600000);
		if (!strcmp(k, "restart"))
			return set_restart(ps, vm, v);
		if (!strcmp(k, "spare") && vm->role == CFG_DRIVER_VM) {
			vm->spare_line = ps->line;
			return set_bool(ps, k, &vm->spare, v);
		}
	}
	if (is_vm)
		perr(ps,
		     "[%s %s]: unknown key '%s'; known: memory, cpus, tb_size, balloon, kernel, "
		     "initrd, append, "
		     "run, ready, restart_max, restart_backoff_ms, boot_timeout_ms, "
		     "heartbeat_timeout_ms, request_timeout_ms%s",
		     cfg_role_name(vm->role), vm->name, k,
		     vm->role == CFG_CLIENT_VM ? ", devices, external" : ", restart, spare");
	else
		perr(ps, "[host-client %s]: unknown key '%s'; known: devices", vm->name, k);
	return -1;
}

static int one_of(const char *v, const char *const *set)
{
	for (; *set; set++)
		if (!strcmp(v, *set))
			return 1;
	return 0;
}

/* blk: what QEMU does with a failed request of the host file, and with discards. */
static int key_storage(struct parse_state *ps, struct cfg_device *d, const char *k, const char *v)
{
	static const char *const werror[] = { "report", "stop", "enospc", "ignore", NULL };
	static const char *const rerror[] = { "report", "stop", "ignore", NULL };
	static const char *const zeroes[] = { "off", "on", "unmap", NULL };

	if (!strcmp(k, "werror")) {
		d->werror_line = ps->line;
		if (!one_of(v, werror)) {
			perr(ps,
			     "werror = %s: expected report (the default: the write fails, the "
			     "driver VM runs on), stop, enospc or ignore",
			     v);
			return -1;
		}
		return set_str(ps, k, d->werror, sizeof(d->werror), v);
	}
	if (!strcmp(k, "rerror")) {
		d->rerror_line = ps->line;
		if (!one_of(v, rerror)) {
			perr(ps,
			     "rerror = %s: expected report (the default: the read fails, the "
			     "driver VM runs on), stop or ignore",
			     v);
			return -1;
		}
		return set_str(ps, k, d->rerror, sizeof(d->rerror), v);
	}
	if (!strcmp(k, "discard")) {
		d->discard_line = ps->line;
		if (!strcmp(v, "unmap") || !strcmp(v, "on")) {
			d->discard = 1;
		} else if (!strcmp(v, "off") || !strcmp(v, "ignore")) {
			d->discard = 0;
		} else {
			perr(ps,
			     "discard = %s: expected unmap (the default: the guest's discards "
			     "free space in the image) or off",
			     v);
			return -1;
		}
		return 0;
	}
	d->detect_zeroes_line = ps->line;
	if (!one_of(v, zeroes)) {
		perr(ps,
		     "detect_zeroes = %s: expected unmap (the default with discard on), on or off",
		     v);
		return -1;
	}
	return set_str(ps, k, d->detect_zeroes, sizeof(d->detect_zeroes), v);
}

/*
 * props / controller_props: QEMU's own "name=value,name=value" (",," is a comma inside
 * a value). Names are checked against QEMU's list in config_check.c.
 */
static int set_props(struct parse_state *ps, struct cfg_device *d, const char *k, const char *v)
{
	int props = !strcmp(k, "props");
	const char *p = v;

	if (props)
		d->props_line = ps->line;
	else
		d->controller_props_line = ps->line;
	if (!*v) {
		perr(ps, "%s: empty; give NAME=VALUE[,NAME=VALUE...] or remove the line", k);
		return -1;
	}
	while (*p) {
		const char *end = p, *eq, *sp = strpbrk(p, " \t");

		while (*end && !(end[0] == ',' && end[1] != ',')) /* ",," stays in the value */
			end += end[0] == ',' ? 2 : 1;
		eq = memchr(p, '=', end - p);
		if (!eq || eq == p || (sp && sp < end)) {
			perr(ps,
			     "%s = %s: expected NAME=VALUE[,NAME=VALUE...] (QEMU's -device "
			     "syntax, no spaces), like logical_block_size=4096,serial=disk1",
			     k, v);
			return -1;
		}
		p = *end ? end + 1 : end;
	}
	return set_str(ps, k, props ? d->props : d->controller_props, CFG_PROPS_MAX, v);
}

/* blk: QEMU's -drive cache and aio. */
static int key_drive(struct parse_state *ps, struct cfg_device *d, const char *k, const char *v)
{
	static const char *const cache[] = { "none",	   "writeback", "writethrough",
					     "directsync", "unsafe",	NULL };
	static const char *const aio[] = { "threads", "native", "io_uring", NULL };

	if (!strcmp(k, "cache")) {
		d->cache_line = ps->line;
		if (!one_of(v, cache)) {
			perr(ps,
			     "cache = %s: expected writeback (QEMU's default: the host's page "
			     "cache, flushed when the guest flushes), none (O_DIRECT), "
			     "writethrough, directsync or unsafe",
			     v);
			return -1;
		}
		return set_str(ps, k, d->cache, sizeof(d->cache), v);
	}
	d->aio_line = ps->line;
	if (!one_of(v, aio)) {
		perr(ps,
		     "aio = %s: expected threads (QEMU's default), native (Linux AIO; needs "
		     "cache = none or directsync) or io_uring",
		     v);
		return -1;
	}
	return set_str(ps, k, d->aio, sizeof(d->aio), v);
}

/* blk: bps_limit / iops_limit, QEMU's throttling; 0 is none. Their minimum is checked
 * with the device's other storage keys (config_check.c, check_throttle), once its kind
 * is known. */
static int key_throttle(struct parse_state *ps, struct cfg_device *d, const char *k, const char *v)
{
	int bps = !strcmp(k, "bps_limit");

	*(bps ? &d->bps_limit_line : &d->iops_limit_line) = ps->line;
	return set_uint(ps, k, bps ? &d->bps_limit : &d->iops_limit, v, 0, UINT_MAX);
}

static int key_device(struct parse_state *ps, const char *k, const char *v)
{
	struct cfg_device *d = ps->dev;

	if (!strcmp(k, "vm")) {
		d->vm_line = ps->line;
		return set_str(ps, k, d->vm_name, sizeof(d->vm_name), v);
	}
	if (!strcmp(k, "kind")) {
		d->kind_line = ps->line;
		if (!strcmp(v, "net"))
			d->kind = CFG_NET;
		else if (!strcmp(v, "blk"))
			d->kind = CFG_BLK;
		else {
			perr(ps, "kind = %s: expected net or blk", v);
			return -1;
		}
		return 0;
	}
	if (!strcmp(k, "model")) {
		d->model_line = ps->line;
		if (strlen(v) >= sizeof(d->model) || strpbrk(v, ", \t=") || !*v) {
			perr(ps,
			     "model = %s: not a QEMU device name; see qemu-system-x86_64 "
			     "-device help (properties go in props = NAME=VALUE,...)",
			     v);
			return -1;
		}
		return set_str(ps, k, d->model, sizeof(d->model), v);
	}
	if (!strcmp(k, "props") || !strcmp(k, "controller_props"))
		return set_props(ps, d, k, v);
	if (!strcmp(k, "cache") || !strcmp(k, "aio"))
		return key_drive(ps, d, k, v);
	if (!strcmp(k, "bps_limit") || !strcmp(k, "iops_limit"))
		return key_throttle(ps, d, k, v);
	if (!strcmp(k, "antispoof")) {
		d->antispoof_line = ps->line;
		if (!strcmp(v, "mac"))
			d->antispoof = CFG_ANTISPOOF_MAC;
		else if (!strcmp(v, "ip"))
			d->antispoof = CFG_ANTISPOOF_IP;
		else if (!strcmp(v, "off"))
			d->antispoof = CFG_ANTISPOOF_OFF;
		else {
			perr(ps,
			     "antispoof = %s: expected mac (each client sends from its own MAC "
			     "only, the default), ip (and ARP, IPv4 and IPv6 only, from its "
			     "addresses in ip =) or off",
			     v);
			return -1;
		}
		return 0;
	}
	if (!strcmp(k, "ip")) {
		d->ip_line = ps->line;
		return set_word(ps, k, d->ip, sizeof(d->ip), v);
	}
	if (!strcmp(k, "antispoof_exempt")) {
		d->antispoof_exempt_line = ps->line;
		return set_word(ps, k, d->antispoof_exempt, sizeof(d->antispoof_exempt), v);
	}
	if (!strcmp(k, "mtu")) {
		d->mtu_line = ps->line;
		return set_uint(ps, k, &d->mtu, v, 68, 65521);
	}
	if (!strcmp(k, "host")) {
		unsigned a, b, c, f;

		d->host_line = ps->line;
		char end;

		if (sscanf(v, "%4x:%2x:%2x.%1x%c", &a, &b, &c, &f, &end) != 4) {
			perr(ps,
			     "host = %s: expected a PCI address like 0000:03:00.0 "
			     "(see lspci -D)",
			     v);
			return -1;
		}
		return set_str(ps, k, d->host, sizeof(d->host), v);
	}
	if (!strcmp(k, "backend")) {
		if (!strcmp(v, "none"))
			d->net_backend = CFG_NET_NONE;
		else if (!strcmp(v, "user"))
			d->net_backend = CFG_NET_USER;
		else if (!strcmp(v, "tap"))
			d->net_backend = CFG_NET_TAP;
		else {
			perr(ps,
			     "backend = %s: expected none, user (QEMU user-mode networking, "
			     "restricted to the host) or tap",
			     v);
			return -1;
		}
		return 0;
	}
	if (!strcmp(k, "tap")) {
		d->tap_line = ps->line;
		if (!*v || strlen(v) >= 16 || strchr(v, '/') || strchr(v, ' ')) {
			perr(ps, "tap = %s: expected an interface name of 1 to 15 characters", v);
			return -1;
		}
		return set_str(ps, k, d->tap, sizeof(d->tap), v);
	}
	if (!strcmp(k, "bridge")) {
		d->bridge_line = ps->line;
		if (!*v || strlen(v) >= 16 || strchr(v, '/') || strchr(v, ' ')) {
			perr(ps, "bridge = %s: expected a bridge name of 1 to 15 characters", v);
			return -1;
		}
		return set_str(ps, k, d->bridge, sizeof(d->bridge), v);
	}
	if (!strcmp(k, "mac")) {
		unsigned m[6];
		char end;

		d->mac_line = ps->line;
		if (sscanf(v, "%2x:%2x:%2x:%2x:%2x:%2x%c", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5],
			   &end) != 6 ||
		    (m[0] & 1) || !(m[0] | m[1] | m[2] | m[3] | m[4] | m[5])) {
			/* all zeros: both drivers refuse it as "no valid MAC" */
			perr(ps, "mac = %s: expected a unicast MAC address like 52:54:00:12:34:56",
			     v);
			return -1;
		}
		return set_str(ps, k, d->mac, sizeof(d->mac), v);
	}
	if (!strcmp(k, "image")) {
		d->image_line = ps->line;
		return set_path(ps, k, d->image, v);
	}
	if (!strcmp(k, "size")) {
		d->size_line = ps->line;
		return set_disk_size(ps, k, &d->size, v);
	}
	if (!strcmp(k, "format")) {
		if (strcmp(v, "raw") && strcmp(v, "qcow2")) {
			perr(ps, "format = %s: expected raw or qcow2", v);
			return -1;
		}
		d->format_line = ps->line;
		return set_str(ps, k, d->format, sizeof(d->format), v);
	}
	if (!strcmp(k, "readonly"))
		return set_bool(ps, k, &d->readonly, v);
	if (!strcmp(k, "queues")) {
		d->queues_line = ps->line;
		return set_uint(ps, k, &d->queues, v, 1, CFG_MAX_QUEUES);
	}
	if (!strcmp(k, "werror") || !strcmp(k, "rerror") || !strcmp(k, "discard") ||
	    !strcmp(k, "detect_zeroes"))
		return key_storage(ps, d, k, v);
	perr(ps,
	     "[device %s]: unknown key '%s'; known: vm, kind, model, props, controller_props, "
	     "host, backend, tap, bridge, mac, mtu, antispoof, ip, antispoof_exempt, image, size, "
	     "format, readonly, queues, cache, aio, bps_limit, iops_limit, werror, rerror, "
	     "discard, detect_zeroes",
	     d->name, k);
	return -1;
}

static void config_key(struct parse_state *ps, const char *section, const char *key,
		       const char *val)
{
	unsigned i;

	if (ps->type == SEC_BAD)
		return; /* already reported at the header */
	if (ps->type == SEC_NONE) {
		perr(ps, "'%s' is outside any section; put it under a [section] header", key);
		return;
	}
	for (i = 0; i < ps->nr_seen; i++)
		if (!strcmp(ps->seen[i], key)) {
			perr(ps, "'%s' is set twice in [%s]; keep one", key, section);
			return;
		}
	if (ps->nr_seen < 32 && strlen(key) < sizeof(ps->seen[0]))
		strcpy(ps->seen[ps->nr_seen++], key);

	ps->in_key = 1;
	switch (ps->type) {
	case SEC_GLOBAL:
		key_global(ps, key, val);
		break;
	case SEC_DRIVER:
	case SEC_CLIENT:
	case SEC_HOST:
		key_vm(ps, key, val);
		break;
	case SEC_DEVICE:
		key_device(ps, key, val);
		break;
	default:
		break;
	}
	ps->in_key = 0;
	/* keep going: report every problem in one pass */
}

/* Strip leading and trailing white space in place. */
static char *strip(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = 0;
	return s;
}

/* One line of the file: a comment (';' or '#' first), [section], or key = value. */
static void parse_line(struct parse_state *ps, char *line)
{
	char *p = strip(line), *sep, *key, *val, *c;

	if (!*p || *p == ';' || *p == '#')
		return;
	if (*p == '[') {
		char *end = strchr(p, ']');

		if (!end || (*strip(end + 1) && *strip(end + 1) != '#' && *strip(end + 1) != ';') ||
		    end - p - 1 >= (ptrdiff_t)sizeof(ps->section)) {
			perr(ps, "syntax error: expected 'key = value', '[section]' or a comment "
				 "starting with # or ;");
			ps->type = SEC_BAD;
			return;
		}
		*end = 0;
		snprintf(ps->section, sizeof(ps->section), "%s", p + 1);
		begin_section(ps, ps->section);
		return;
	}
	sep = strpbrk(p, "=:");
	if (!sep || sep == p) {
		perr(ps, "syntax error: expected 'key = value', '[section]' or a comment "
			 "starting with # or ;");
		return;
	}
	*sep = 0;
	key = strip(p);
	val = sep + 1;
	/* an inline comment: ';' after white space */
	for (c = val; (c = strchr(c, ';')); c++)
		if (c > val && (c[-1] == ' ' || c[-1] == '\t')) {
			*c = 0;
			break;
		}
	val = strip(val);
	config_key(ps, ps->section, key, val);
}

/* The whole text, line by line: no limit on a line's length. */
static void parse_text(struct parse_state *ps, const char *text)
{
	size_t cap = 0;
	char *buf = NULL;

	if (!strncmp(text, "\xef\xbb\xbf", 3)) /* UTF-8 byte order mark */
		text += 3;
	while (*text) {
		const char *nl = strchr(text, '\n');
		size_t len = nl ? (size_t)(nl - text) : strlen(text);

		if (len + 1 > cap) {
			char *nb = realloc(buf, len + 1);

			if (!nb) {
				cfg_error(ps->cfg, ps->name, 0, "cannot parse (out of memory)");
				break;
			}
			buf = nb;
			cap = len + 1;
		}
		memcpy(buf, text, len);
		buf[len] = 0;
		ps->line++;
		parse_line(ps, buf);
		text += len + (nl ? 1 : 0);
	}
	free(buf);
}

static int parse(struct config *cfg, const char *name, const char *dir, const char *text)
{
	struct parse_state ps = { .cfg = cfg, .name = name };

	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->path, sizeof(cfg->path), "%s", name);
	snprintf(ps.dir, sizeof(ps.dir), "%s", dir ? dir : "");
	parse_text(&ps, text);
	config__check(cfg, name);
	return cfg->nr_errors ? -EINVAL : 0;
}

int config__parse_string(struct config *cfg, const char *name, const char *text)
{
	return parse(cfg, name, NULL, text);
}

int config__load(struct config *cfg, const char *path)
{
	char dirbuf[CFG_PATH_MAX], absdir[PATH_MAX], *dir, *text = NULL;
	size_t cap = 0;
	FILE *f;
	ssize_t n;
	int ret;

	f = fopen(path, "re");
	if (!f) {
		ret = -errno;
		memset(cfg, 0, sizeof(*cfg));
		cfg_error(cfg, path, 0, "cannot open: %s", strerror(-ret));
		return ret;
	}
	/* The whole file as one string: getdelim with NUL reads to EOF. */
	n = getdelim(&text, &cap, '\0', f);
	if (n < 0) {
		int err = ferror(f) ? errno : 0; /* EISDIR for a directory */

		free(text);
		fclose(f);
		memset(cfg, 0, sizeof(*cfg));
		if (err)
			cfg_error(cfg, path, 0, "cannot read: %s", strerror(err));
		else
			cfg_error(cfg, path, 0, "empty file");
		return -EINVAL;
	}
	fclose(f);
	if ((size_t)n != strlen(text)) {
		free(text);
		memset(cfg, 0, sizeof(*cfg));
		cfg_error(cfg, path, 0, "contains a NUL byte; is it a text file?");
		return -EINVAL;
	}
	/* Relative paths in the file are taken against its directory, made absolute here
	 * so that QEMU, `ddvm status` and the logs all name the same file wherever they
	 * run from. */
	snprintf(dirbuf, sizeof(dirbuf), "%s", path);
	dir = dirname(dirbuf);
	if (realpath(dir, absdir))
		dir = absdir;
	ret = parse(cfg, path, dir, text);
	free(text);
	return ret;
}
