/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The control socket (RUNDIR/ddvm.sock) that the `ddvm` subcommands talk to.
 *
 * Protocol: the client sends one command line; the supervisor answers with a first
 * line "OK" or "ERR <message>", then the payload, then closes — except for
 * "console VM", after which the connection carries the VM's serial port both ways.
 *
 *   status            the table `ddvm status` prints
 *   status json       the same as one JSON object (docs/supervisor.md, "status --json")
 *   down              stop everything
 *   restart VM        kill VM and start it again (a fresh boot; epochs bumped)
 *   upgrade {"vm": VM, "kernel": F, "initrd": F, "append": S}   replace a driver VM by
 *                     one booted from another image, through its warm spare (spare.h)
 *   console VM        attach to VM's serial console
 *   inject VM KIND [DEVICE] [ARG]   inject a fault (see inject.c)
 *   ping              "OK <pid>"
 */
#include "log.h"
#include "supervisor.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

void control_builtin_rundir(char *buf, size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	if (geteuid() == 0)
		snprintf(buf, len, "/run/ddvm");
	else if (xdg && *xdg)
		snprintf(buf, len, "%s/ddvm", xdg);
	else
		snprintf(buf, len, "/tmp/ddvm-%u", (unsigned)geteuid());
}

void control_default_rundir(char *buf, size_t len)
{
	const char *env = getenv("DDVM_RUNDIR");

	if (env && *env)
		snprintf(buf, len, "%s", env);
	else
		control_builtin_rundir(buf, len);
}

static int control_path(const struct supervisor *sup, char *buf, size_t len)
{
	if ((size_t)snprintf(buf, len, "%s/ddvm.sock", sup->rundir) >= len)
		return -ENAMETOOLONG;
	return 0;
}

int control__listen(struct supervisor *sup)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, ret;

	if (control_path(sup, sun.sun_path, sizeof(sun.sun_path)))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(sun.sun_path); /* we hold the run dir lock: a socket here is stale */
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(fd, 8) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	sup->control_fd = fd;
	return 0;
}

static void conn_close(struct supervisor *sup, struct control_conn *c)
{
	if (c->console)
		vm__console_detach(c->console, c->fd);
	if (c->inject)
		inject__forget(c);
	close(c->fd);
	c->fd = -1;
	c->len = 0;
	c->console = NULL;
	c->inject = NULL;
}

void control__close(struct supervisor *sup)
{
	char path[CFG_PATH_MAX + 16];
	unsigned i;

	for (i = 0; i < SUP_MAX_CONTROL; i++)
		if (sup->control[i].fd >= 0)
			conn_close(sup, &sup->control[i]);
	if (sup->control_fd >= 0) {
		close(sup->control_fd);
		if (!control_path(sup, path, sizeof(path)))
			unlink(path);
	}
	sup->control_fd = -1;
}

size_t control__pollfds(struct supervisor *sup, struct pollfd *fds, size_t max)
{
	size_t n = 0;
	unsigned i;

	if (sup->control_fd >= 0 && n < max)
		fds[n++] = (struct pollfd){ .fd = sup->control_fd, .events = POLLIN };
	for (i = 0; i < SUP_MAX_CONTROL && n < max; i++)
		if (sup->control[i].fd >= 0)
			fds[n++] = (struct pollfd){ .fd = sup->control[i].fd, .events = POLLIN };
	return n;
}

/*
 * The whole of BUF to the client, which waits for it (the socket is non-blocking: a
 * full one is waited on, for REPLY_WAIT_MS in all per connection, so a client that does
 * not read cannot hold the loop; what is left then is dropped, and the client sees a
 * reply cut short).
 */
#define REPLY_WAIT_MS 2000
static void reply_all(struct control_conn *c, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EAGAIN) {
			struct pollfd p = { .fd = c->fd, .events = POLLOUT };
			uint64_t t0 = now_ms();

			if (c->reply_waited_ms < REPLY_WAIT_MS &&
			    poll(&p, 1, (int)(REPLY_WAIT_MS - c->reply_waited_ms)) == 1) {
				c->reply_waited_ms += now_ms() - t0;
				continue;
			}
			c->reply_waited_ms = REPLY_WAIT_MS;
		}
		if (n <= 0) {
			pr_debug("control: reply lost: %s", n < 0 ? strerror(errno) : "?");
			return;
		}
		buf += n;
		len -= n;
	}
}

static void reply(struct control_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void reply(struct control_conn *c, const char *fmt, ...)
{
	char buf[8192];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 1)
		n = sizeof(buf) - 1;
	if (n > 0)
		reply_all(c, buf, (size_t)n);
}

void control__answer(struct supervisor *sup, struct control_conn *c, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	reply(c, "%s", buf);
	conn_close(sup, c);
}

static void fmt_uptime(char *buf, size_t len, const struct vm *vm, uint64_t now)
{
	uint64_t s;

	if (!vm__alive(vm)) {
		snprintf(buf, len, "-");
		return;
	}
	s = (now - vm->up_since_ms) / 1000;
	if (s < 120)
		snprintf(buf, len, "%.1fs", (double)(now - vm->up_since_ms) / 1000);
	else if (s < 7200)
		snprintf(buf, len, "%llum%02llus", (unsigned long long)s / 60,
			 (unsigned long long)s % 60);
	else
		snprintf(buf, len, "%lluh%02llum", (unsigned long long)s / 3600,
			 (unsigned long long)s / 60 % 60);
}

/*
 * A side's state for the table: its name, and "@E" when it is the state of another
 * epoch than the channel's (a client that has not come back since a restart still
 * says READY, of the epoch before).
 */
/*
 * CONNECTED: whether that side's process holds its channel socket. A side that was
 * killed (kill -9, a crash) leaves its last state in the header, ready say: shown as
 * "gone" so that status does not call a dead client ready (the raw state is in --json).
 */
static const char *side_state(uint32_t state, uint32_t side_epoch, uint32_t epoch, int connected,
			      char *buf, size_t len)
{
	if (!connected && state != DDVM_STATE_ABSENT && state != DDVM_STATE_CLOSED)
		return "gone";
	if (side_epoch == epoch || state == DDVM_STATE_ABSENT)
		return channel_state_name(state);
	snprintf(buf, len, "%s@%u", channel_state_name(state), side_epoch);
	return buf;
}

static void cmd_status(struct supervisor *sup, struct control_conn *c)
{
	const struct config *cfg = sup->cfg;
	uint64_t now = now_ms();
	unsigned i, j;

	reply(c, "OK\n");
	reply(c, "%-12s %-11s %-9s %-9s %-8s %-8s %s\n", "VM", "ROLE", "STATE", "UPTIME",
	      "RESTARTS", "PID", "DEVICES");
	for (i = 0; i < cfg->nr_vms; i++) {
		const struct cfg_vm *cv = &cfg->vms[i];
		struct vm *vm = supervisor__find_vm(sup, cv->name);
		/* room for every device: CFG_MAX_DEVICES x "name(kind model)" (~100 bytes
		 * each) and CFG_MAX_USES names; 256 cut a driver VM with 11 disks short */
		char up[32] = "-", pid[16] = "-", devs[4096] = "";
		size_t dl = 0;

		for (j = 0; j < cfg->nr_devices && dl < sizeof(devs) - 128; j++) {
			const struct cfg_device *d = &cfg->devices[j];

			if (d->vm == cv)
				dl += snprintf(devs + dl, sizeof(devs) - dl, "%s%s(%s %s)",
					       dl ? " " : "", d->name, cfg_kind_name(d->kind),
					       d->host[0] ? d->host : d->model);
		}
		for (j = 0; j < cv->nr_uses && dl < sizeof(devs) - 64; j++)
			dl += snprintf(devs + dl, sizeof(devs) - dl, "%s%s", dl ? " " : "",
				       cv->uses[j]);
		if (!vm) { /* a host client or external VM: no VM of ours, just its channels */
			reply(c, "%-12s %-11s %-9s %-9s %-8s %-8s %s\n", cv->name,
			      cfg_role_name(cv->role), cv->external ? "external" : "-", "-", "-",
			      "-", devs);
			continue;
		}
		fmt_uptime(up, sizeof(up), vm, now);
		if (vm__alive(vm))
			snprintf(pid, sizeof(pid), "%d", vm->pid);
		reply(c, "%-12s %-11s %-9s %-9s %-8u %-8s %s\n", cv->name, cfg_role_name(cv->role),
		      vm_state_name(vm->state), up, vm->restarts, pid, devs);
		if (vm->last_failure[0]) /* also after it recovered: what happened, at a glance */
			reply(c, "%-12s   last failure: %s%s\n", "", vm->last_failure,
			      vm->state == VM_RUNNING ? " (running again)" : "");
		if (vm->state == VM_GAVE_UP) /* what the log said when it gave up */
			reply(c, "%-12s   given up: 'ddvm restart %s' starts it again\n", "",
			      cv->name);
		if (vm->spare) {
			snprintf(pid, sizeof(pid), "%d", vm->spare->pid);
			reply(c, "%-12s   spare: %s%s, pid %s, failovers %u\n", "",
			      spare_phase_name(vm->spare->spare_phase),
			      vm->spare->spare_phase == SPARE_READY ? " (paused)"
			      : vm->spare->retiring ? " (the old QEMU of an upgrade, stopping)"
						    : "",
			      vm__alive(vm->spare) ? pid : "-", vm->failovers);
		}
		if (vm->upgrade.state != UPGRADE_NONE)
			reply(c, "%-12s   upgrade: %s%s%s (kernel %s, initrd %s%s%s)\n", "",
			      upgrade_state_name(vm->upgrade.state), vm->upgrade.why[0] ? ": " : "",
			      vm->upgrade.why, vm->upgrade.image.kernel, vm->upgrade.image.initrd,
			      vm->upgrade.image.append[0] ? ", append " : "",
			      vm->upgrade.image.append);
		for (j = 0; j < cfg->nr_devices; j++) {
			char line[CFG_PATH_MAX + 256];

			if (cfg->devices[j].vm == cv &&
			    storage__describe(sup, &cfg->devices[j], line, sizeof(line), now))
				reply(c, "%-12s   %s\n", "", line);
		}
	}
	if (!cfg->nr_channels)
		return;
	reply(c, "\n%-20s %-4s %-5s %-6s %-6s %-9s %-9s %-10s %-9s %-9s %-6s %s\n", "CHANNEL",
	      "KIND", "EPOCH", "DRIVER", "CLIENT", "BACKEND", "FRONTEND", "HEALTH", "REQUESTS",
	      "RESPONSES", "ERRORS", "RESETS");
	for (i = 0; i < cfg->nr_channels; i++) {
		struct channel_stats st;
		char line[512], be[24], fe[24];

		channel__stats(&sup->channels[i], &st);
		reply(c, "%-20s %-4s %-5u %-6s %-6s %-9s %-9s %-10llu %-9llu %-9llu %-6llu %llu\n",
		      cfg->channels[i].name, cfg_kind_name(cfg->channels[i].dev->kind), st.epoch,
		      st.driver_up ? "up" : "down", st.client_up ? "up" : "down",
		      side_state(st.backend_state, st.backend_epoch, st.epoch, st.driver_up, be,
				 sizeof(be)),
		      side_state(st.frontend_state, st.frontend_epoch, st.epoch, st.client_up, fe,
				 sizeof(fe)),
		      (unsigned long long)st.health_beats, (unsigned long long)st.requests,
		      (unsigned long long)st.responses, (unsigned long long)st.errors,
		      (unsigned long long)st.claim_resets);
		if (counters__line(&st.counters, line, sizeof(line)))
			reply(c, "%-20s   %s\n", "", line);
		if (st.num_queues > 1) {
			unsigned q;
			int n = snprintf(line, sizeof(line), "queues %u, requests", st.num_queues);

			for (q = 0; q < st.num_queues && n > 0 && (size_t)n < sizeof(line); q++)
				n += snprintf(line + n, sizeof(line) - n, "%s%llu", q ? " / " : " ",
					      (unsigned long long)st.queue_requests[q]);
			reply(c, "%-20s   %s\n", "", line);
		}
		if (sup->startup[i].told)
			reply(c, "%-20s   not ready: %s\n", "", sup->startup[i].problem);
		if (sup->startup[i].mtu_problem[0])
			reply(c, "%-20s   warning: %s\n", "", sup->startup[i].mtu_problem);
		if (sup->startup[i].tap_problem[0])
			reply(c, "%-20s   warning: %s\n", "", sup->startup[i].tap_problem);
	}
}

/* All of BUF, also into a non-blocking socket: the client reads it as we write. */
static json_t *json_str_or_null(const char *s)
{
	return s && s[0] ? json_string(s) : json_null();
}

static json_t *status_device(const struct cfg_device *d)
{
	return json_pack("{s:s, s:s, s:s}", "name", d->name, "kind", cfg_kind_name(d->kind),
			 "model", d->host[0] ? "vfio-pci" : d->model);
}

/* A driver VM's disks and their host I/O errors (storage.c keeps them). */
static json_t *status_disks(struct supervisor *sup, const struct cfg_vm *cv, uint64_t now)
{
	const struct vm *vm = supervisor__find_vm(sup, cv->name);
	json_t *a = json_array();
	unsigned j;

	for (j = 0; j < sup->cfg->nr_devices; j++) {
		const struct cfg_device *d = &sup->cfg->devices[j];
		const struct storage_dev *s = &sup->storage[j];
		json_t *last = json_null();
		char eb[24];

		if (d->vm != cv || d->kind != CFG_BLK || d->host[0])
			continue;
		if (s->last_ms)
			last = json_pack("{s:s, s:s, s:s, s:I}", "op", s->op, "errno",
					 storage__errno_name(s->err, eb, sizeof(eb)), "reason",
					 s->reason, "ago_ms", (json_int_t)(now - s->last_ms));
		json_array_append_new(a, json_pack("{s:s, s:s, s:I, s:o, s:b}", "name", d->name,
						   "image", d->image, "host_io_errors",
						   (json_int_t)s->errors, "last_error", last,
						   "paused", vm && vm->storage.paused));
	}
	return a;
}

static json_t *status_vm(struct supervisor *sup, const struct cfg_vm *cv, uint64_t now)
{
	const struct config *cfg = sup->cfg;
	struct vm *vm = supervisor__find_vm(sup, cv->name);
	json_t *devs = json_array(), *o;
	unsigned j;

	for (j = 0; j < cfg->nr_devices; j++)
		if (cfg->devices[j].vm == cv)
			json_array_append_new(devs, status_device(&cfg->devices[j]));
	for (j = 0; j < cv->nr_uses; j++) {
		unsigned k;

		for (k = 0; k < cfg->nr_devices; k++)
			if (!strcmp(cfg->devices[k].name, cv->uses[j]))
				json_array_append_new(devs, status_device(&cfg->devices[k]));
	}
	o = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "name", cv->name, "role",
		      cfg_role_name(cv->role), "state",
		      vm ? json_string(vm_state_name(vm->state)) : json_null(), "uptime_ms",
		      vm && vm__alive(vm) ? json_integer(now - vm->up_since_ms) : json_null(),
		      "restarts", vm ? json_integer(vm->restarts) : json_null(), "pid",
		      vm && vm__alive(vm) ? json_integer(vm->pid) : json_null(), "devices", devs,
		      "last_failure", json_str_or_null(vm ? vm->last_failure : NULL));
	json_object_set_new(o, "pss_kib", vm ? vm__pss_kib(vm, now) : json_null());
	if (cv->role == CFG_DRIVER_VM)
		json_object_set_new(o, "disks", status_disks(sup, cv, now));
	if (vm && vm->spare) /* spare = yes: its warm spare (spare.c) */
		json_object_set_new(
		    o, "spare",
		    json_pack(
			"{s:s, s:o, s:o, s:I}", "state",
			/* an upgrade's old QEMU, stopped, killed once service is back */
			vm->spare->retiring ? "retiring" : spare_phase_name(vm->spare->spare_phase),
			"pid", vm__alive(vm->spare) ? json_integer(vm->spare->pid) : json_null(),
			"pss_kib", vm__pss_kib(vm->spare, now), "failovers",
			(json_int_t)vm->failovers));
	if (vm && vm->spare) /* `ddvm upgrade`: the last one (spare.h) */
		json_object_set_new(
		    o, "upgrade",
		    vm->upgrade.state == UPGRADE_NONE
			? json_null()
			: json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o}", "state",
				    upgrade_state_name(vm->upgrade.state), "kernel",
				    vm->upgrade.image.kernel, "initrd", vm->upgrade.image.initrd,
				    "append", vm->upgrade.image.append, "why",
				    json_str_or_null(vm->upgrade.why), "took_ms",
				    vm->upgrade.done_ms
					? json_integer(vm->upgrade.done_ms - vm->upgrade.asked_ms)
					: json_null(),
				    "gap_ms",
				    vm->upgrade.gap_ms ? json_integer(vm->upgrade.gap_ms)
						       : json_null()));
	if (cv->role == CFG_CLIENT_VM)
		json_object_set_new(o, "external", json_boolean(cv->external));
	return o;
}

static json_t *status_channel(struct supervisor *sup, unsigned i)
{
	const struct cfg_channel *cc = &sup->cfg->channels[i];
	const struct startup_chan *s = &sup->startup[i];
	/* not ready (after its grace), else a NIC not at its mtu */
	const char *problem = s->told		  ? s->problem
			      : s->tap_problem[0] ? s->tap_problem
						  : s->mtu_problem;
	json_t *queues = json_array();
	struct channel_stats st;
	char mac[18], spoof[400];
	int net = cc->dev->kind == CFG_NET;
	unsigned q;

	/* net: the client's MAC and anti-spoofing policy, as the driver VM was told */
	cfg_mac_str(cc->mac, mac);
	if (!net || cfg_channel_antispoof(cc, spoof, sizeof(spoof)) < 0)
		spoof[0] = '\0';
	channel__stats(&sup->channels[i], &st);
	for (q = 0; q < st.num_queues; q++)
		json_array_append_new(
		    queues, json_pack("{s:I, s:I}", "requests", (json_int_t)st.queue_requests[q],
				      "responses", (json_int_t)st.queue_responses[q]));
	return json_pack(
	    "{s:s, s:s, s:s, s:s, s:o, s:o, s:I, s:b, s:b, s:s, s:s, s:I, s:I, s:I, s:I, s:I, "
	    "s:I, s:I, s:o, s:o, s:o}",
	    "name", cc->name, "kind", cfg_kind_name(cc->dev->kind), "device", cc->dev->name,
	    "client", cc->client->name, "mac", net ? json_string(mac) : json_null(), "antispoof",
	    spoof[0] ? json_string(spoof) : json_null(), "epoch", (json_int_t)st.epoch, "driver_up",
	    st.driver_up, "client_up", st.client_up, "backend_state",
	    channel_state_name(st.backend_state), "frontend_state",
	    channel_state_name(st.frontend_state), "backend_epoch", (json_int_t)st.backend_epoch,
	    "frontend_epoch", (json_int_t)st.frontend_epoch, "health", (json_int_t)st.health_beats,
	    "requests", (json_int_t)st.requests, "responses", (json_int_t)st.responses, "errors",
	    (json_int_t)st.errors, "claim_resets", (json_int_t)st.claim_resets, "problem",
	    json_str_or_null(problem), "counters", counters__json(&st.counters), "queues", queues);
}

/* `ddvm status --json`: field names are an interface (docs/supervisor.md). */
static void cmd_status_json(struct supervisor *sup, struct control_conn *c)
{
	uint64_t now = now_ms();
	json_t *root, *vms = json_array(), *chans = json_array();
	unsigned i;
	char *text;

	for (i = 0; i < sup->cfg->nr_vms; i++)
		json_array_append_new(vms, status_vm(sup, &sup->cfg->vms[i], now));
	for (i = 0; i < sup->cfg->nr_channels; i++)
		json_array_append_new(chans, status_channel(sup, i));
	root = json_pack("{s:I, s:s, s:s, s:o, s:o}", "pid", (json_int_t)getpid(), "rundir",
			 sup->rundir, "accel", sup->accel, "vms", vms, "channels", chans);
	text = root ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(root);
	if (!text) {
		reply(c, "ERR cannot build the status as JSON\n");
		return;
	}
	reply(c, "OK\n");
	reply_all(c, text, strlen(text));
	reply_all(c, "\n", 1);
	free(text);
}

void control__why_no_vm(const struct supervisor *sup, const char *name, char *buf, size_t len)
{
	const struct cfg_vm *cv = config__find_vm(sup->cfg, name);

	if (cv && cv->external)
		snprintf(buf, len,
			 "no VM named '%s' that ddvm runs: it is external (external = yes); "
			 "its manager (libvirt: virsh) owns its console, log and restarts",
			 name);
	else if (cv && cv->role == CFG_HOST_CLIENT)
		snprintf(buf, len,
			 "no VM named '%s': it is a host client (a process on this host: "
			 "libddvm, nbdkit with the ddvm plugin, ddvm-tapbridge), which ddvm does "
			 "not run; "
			 "its channels are in 'ddvm status'",
			 name);
	else
		snprintf(buf, len, "no VM named '%s'", name);
}

/* NAME is not a VM we run: say why (control__why_no_vm). */
static void reply_no_vm(struct supervisor *sup, struct control_conn *c, const char *name)
{
	char why[384];

	control__why_no_vm(sup, name, why, sizeof(why));
	reply(c, "ERR %s\n", why);
}

static void cmd_restart(struct supervisor *sup, struct control_conn *c, const char *name)
{
	struct vm *vm = supervisor__find_vm(sup, name);

	if (!vm) {
		reply_no_vm(sup, c, name);
		return;
	}
	pr_info("%s: restart requested", name);
	vm->failures_in_row = vm->claimed_in_row = vm->host_failed_in_row = 0; /* a clean slate */
	if (vm__alive(vm)) {
		if (vm->cfg->role == CFG_DRIVER_VM && !vm->fail_ms) {
			/* the outage is measured as a failure's ("service restored N ms") */
			vm->fail_ms = now_ms();
			vm->planned = VM_PLANNED_RESTART;
		}
		vm->want_restart = 1;
		vm__event(vm, VM_EV_RESTART_REQUESTED);
		vm__kill(vm, now_ms()); /* a qcow2 disk is flushed first */
	} else {
		/* Failed or given up: start over with a clean slate (and a new epoch, so
		 * clients told BACKEND_GONE wait for it again). The outage is the
		 * restart's from now on, not the time it spent given up. */
		if (vm->cfg->role == CFG_DRIVER_VM) {
			vm->fail_ms = now_ms();
			vm->planned = VM_PLANNED_RESTART;
		}
		vm->epoch_bumped = 0;
		startup__forget(vm);
		vm__event(vm, VM_EV_RESTART_REQUESTED);
		vm->restart_at_ms = now_ms();
	}
	reply(c, "OK\n");
}

/* upgrade {"vm": NAME, "kernel": FILE, "initrd": FILE, "append": ARGS} (absolute
 * paths; the command line tool resolves them). Only the request is checked here; the
 * supervisor's log and `ddvm status` tell how it goes (spare.h). */
static void cmd_upgrade(struct supervisor *sup, struct control_conn *c, const char *arg)
{
	const char *name = NULL, *kernel = "", *initrd = "", *append = NULL;
	struct vm_image img;
	json_error_t jerr;
	char err[512];
	json_t *req = json_loads(arg, 0, &jerr);
	struct vm *vm;

	if (!req || json_unpack_ex(req, &jerr, 0, "{s:s, s?s, s?s, s?s}", "vm", &name, "kernel",
				   &kernel, "initrd", &initrd, "append", &append)) {
		reply(c, "ERR upgrade: %s\n", jerr.text);
		json_decref(req);
		return;
	}
	vm = supervisor__find_vm(sup, name);
	if (vm) { /* what is not given stays as it is */
		kernel = kernel[0] ? kernel : vm->cfg->kernel;
		initrd = initrd[0] ? initrd : vm->cfg->initrd;
		append = append ? append : vm->cfg->append;
	}
	if (!vm) {
		reply_no_vm(sup, c, name);
	} else if (strlen(kernel) >= sizeof(img.kernel) || strlen(initrd) >= sizeof(img.initrd) ||
		   strlen(append) >= sizeof(img.append) || strchr(append, '\n')) {
		reply(c,
		      "ERR upgrade: a path or the command line is too long (or has a newline)\n");
	} else {
		memset(&img, 0, sizeof(img));
		snprintf(img.kernel, sizeof(img.kernel), "%s", kernel);
		snprintf(img.initrd, sizeof(img.initrd), "%s", initrd);
		snprintf(img.append, sizeof(img.append), "%s", append);
		if (spare__upgrade(vm, &img, err, sizeof(err)))
			reply(c, "ERR %s\n", err);
		else
			reply(c, "OK\n");
	}
	json_decref(req);
}

static void cmd_console(struct supervisor *sup, struct control_conn *c, const char *name)
{
	struct vm *vm = supervisor__find_vm(sup, name);
	unsigned i, n;

	if (!vm) {
		reply_no_vm(sup, c, name);
		return;
	}
	if ((vm->state == VM_GAVE_UP || vm->state == VM_STOPPED) && !vm->want_restart) {
		/* no QEMU now nor later: what is typed would go nowhere (a VM that failed
		 * and waits for its restart is attached: its next boot comes on) */
		reply(c,
		      "ERR %s is not running (state %s) and will not start by itself: what it "
		      "printed is in 'ddvm logs %s'; 'ddvm restart %s' starts it again\n",
		      name, vm_state_name(vm->state), name, name);
		return;
	}
	for (i = 0, n = 0; i < SUP_MAX_CONTROL; i++)
		n += sup->control[i].fd >= 0 && sup->control[i].console;
	if (n >= SUP_MAX_CONSOLES) {
		reply(c, "ERR %u consoles are attached, the most at once: leave one first\n", n);
		return;
	}
	if (vm__console_attach(vm, c->fd)) {
		reply(c, "ERR %s has too many consoles attached\n", name);
		return;
	}
	c->console = vm;
	reply(c, "OK\n");
}

/* Returns 1 if the connection stays open (console; an inject waiting for the guest). */
static int control__command(struct supervisor *sup, struct control_conn *c, char *line)
{
	char *arg = strchr(line, ' ');

	if (arg)
		*arg++ = 0;
	if (!strcmp(line, "status") && arg && !strcmp(arg, "json")) {
		cmd_status_json(sup, c);
	} else if (!strcmp(line, "status")) {
		cmd_status(sup, c);
	} else if (!strcmp(line, "ping")) {
		reply(c, "OK %d\n", getpid());
	} else if (!strcmp(line, "down")) {
		pr_info("'ddvm down' requested");
		reply(c, "OK\n");
		sup->stopping = 1;
	} else if (!strcmp(line, "restart") && arg) {
		cmd_restart(sup, c, arg);
	} else if (!strcmp(line, "upgrade") && arg) {
		cmd_upgrade(sup, c, arg);
	} else if (!strcmp(line, "inject") && arg) {
		char err[256];
		int ret = inject__run(sup, c, arg, err, sizeof(err));

		if (ret < 0)
			reply(c, "ERR %s\n", err);
		else if (ret == 0)
			reply(c, "OK\n");
		return ret > 0; /* 1: the guest's shell answers later (control__answer) */
	} else if (!strcmp(line, "console") && arg) {
		cmd_console(sup, c, arg);
		return c->console != NULL;
	} else {
		reply(c, "ERR unknown command '%s'\n", line);
	}
	return 0;
}

/* Still waiting for its command line (not a console, not an inject's answer). */
static int conn_pending(const struct control_conn *c)
{
	return c->fd >= 0 && !c->console && !c->inject;
}

static void control__input(struct supervisor *sup, struct control_conn *c);

/*
 * Serve a line C may have sent that waits unread, then close C if it is still waiting
 * for one (a silent connection). Returns 1 if C was closed for its silence.
 */
static int serve_or_close(struct supervisor *sup, struct control_conn *c)
{
	control__input(sup, c);
	if (!conn_pending(c))
		return 0; /* served (and closed), or now a console or an inject */
	conn_close(sup, c);
	return 1;
}

static void control__accept(struct supervisor *sup)
{
	struct control_conn *slot = NULL, *oldest = NULL;
	uint64_t now = now_ms();
	unsigned i;
	int fd = ivshmem_accept(sup->control_fd);

	if (fd < 0)
		return;
	for (i = 0; i < SUP_MAX_CONTROL && !slot; i++) {
		struct control_conn *c = &sup->control[i];

		if (c->fd < 0)
			slot = c;
		else if (conn_pending(c) && (!oldest || c->accepted_ms < oldest->accepted_ms))
			oldest = c;
	}
	if (!slot && oldest) {
		uint64_t silent_ms = now - oldest->accepted_ms;

		if (serve_or_close(sup, oldest))
			pr_warn("control: all %u connections taken; closed one that sent no "
				"command for %llu ms",
				SUP_MAX_CONTROL, (unsigned long long)silent_ms);
		if (oldest->fd < 0)
			slot = oldest; /* served and closed, or closed: its slot is free */
	}
	if (!slot) {
		/* consoles and injects only: said, so that the client does not take the
		 * silence for a supervisor that is stopping (its status exits 4 then) */
		static const char busy[] = "ERR all control connections are taken by consoles "
					   "and injects: close one ('ddvm console' sessions)\n";

		if (send(fd, busy, sizeof(busy) - 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
			pr_debug("control: %s", strerror(errno));
		close(fd);
		return;
	}
	*slot = (struct control_conn){ .fd = fd, .accepted_ms = now };
}

int control__tick(struct supervisor *sup, uint64_t now)
{
	int next = 1000;
	unsigned i;

	for (i = 0; i < SUP_MAX_CONTROL; i++) {
		struct control_conn *c = &sup->control[i];
		uint64_t due;

		if (!conn_pending(c))
			continue;
		due = c->accepted_ms + CONTROL_LINE_MS;
		if (now >= due) {
			/* a loop that did not run for a while (the supervisor stopped) ticks
			 * before it polls: serve_or_close reads a waiting line first */
			if (serve_or_close(sup, c))
				pr_debug("control: a connection sent no command line in %u ms: "
					 "closed",
					 CONTROL_LINE_MS);
		} else if ((int)(due - now) < next) {
			next = (int)(due - now);
		}
	}
	return next;
}

static void control__input(struct supervisor *sup, struct control_conn *c)
{
	char *nl;
	ssize_t n;

	if (c->console) {
		char buf[1024];

		n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n <= 0) {
			if (n == 0 || (errno != EAGAIN && errno != EINTR))
				conn_close(sup, c);
			return;
		}
		vm__console_write(c->console, buf, n);
		return;
	}
	if (c->inject) {
		/* waiting for the guest's answer: nothing more to read but the hang-up */
		char buf[256];

		n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			conn_close(sup, c);
		return;
	}
	n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len, MSG_DONTWAIT);
	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			conn_close(sup, c);
		return;
	}
	c->len += n;
	c->buf[c->len] = 0;
	nl = strchr(c->buf, '\n');
	if (!nl) {
		if (c->len == sizeof(c->buf) - 1) {
			reply(c, "ERR command too long\n");
			conn_close(sup, c);
		}
		return;
	}
	*nl = 0;
	if (!control__command(sup, c, c->buf))
		conn_close(sup, c);
}

void control__handle(struct supervisor *sup, const struct pollfd *fds, size_t n)
{
	size_t k;
	unsigned i;

	for (k = 0; k < n; k++) {
		if (!fds[k].revents)
			continue;
		if (fds[k].fd == sup->control_fd) {
			control__accept(sup);
			continue;
		}
		for (i = 0; i < SUP_MAX_CONTROL; i++)
			if (sup->control[i].fd == fds[k].fd) {
				control__input(sup, &sup->control[i]);
				break;
			}
	}
}
