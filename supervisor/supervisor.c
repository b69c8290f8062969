/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The supervisor's life: claim a run dir, create channels, start VMs, run the one
 * poll loop that serves everything, tear everything down.
 */
#include "supervisor.h"
#include "accel.h"
#include "image_lock.h"
#include "log.h"
#include "snapshot.h"
#include "spare.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#define SHUTDOWN_GRACE_MS 5000
#define QMP_RETRY_MS	  50

uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct vm *supervisor__find_vm(struct supervisor *sup, const char *name)
{
	unsigned i;

	for (i = 0; i < sup->nr_vms; i++)
		if (!strcmp(sup->vms[i].cfg->name, name))
			return &sup->vms[i];
	return NULL;
}

int supervisor__vm_serves(const struct vm *vm, const struct channel *ch)
{
	return ch->cfg && ch->cfg->dev->vm == vm->cfg;
}

int supervisor__vm_uses(const struct vm *vm, const struct channel *ch)
{
	return ch->cfg && ch->cfg->client == vm->cfg;
}

/* The accelerator (accel.c), checked with the kernel of the first VM. */
static void supervisor__pick_accel(struct supervisor *sup)
{
	const char *kernel = sup->nr_vms ? sup->vms[0].cfg->kernel : NULL;

	accel__pick(sup->qemu, kernel, sup->accel, sizeof(sup->accel));
}

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[CFG_PATH_MAX], *p;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/*
 * The run dir holds the channel sockets, the snapshots QEMU restores device state from,
 * the logs and the pid file, all opened by path: it must be ours alone. A directory
 * another user made first (the fallback /tmp/ddvm-UID is a name anyone can take) or
 * may write in could plant a symlink where we open ddvm.pid (and truncate what it
 * points to) or replace a socket (a peer in the middle of every channel). Returns 0,
 * or -EPERM with why logged.
 */
static int supervisor__check_dir(const char *dir)
{
	struct stat st;
	int err;

	if (lstat(dir, &st) == 0 && S_ISLNK(st.st_mode) && st.st_uid != geteuid()) {
		pr_err("run dir %s is a symbolic link of uid %u, not of this user (uid %u): "
		       "another user could point it elsewhere; remove it, or choose a "
		       "directory of your own (--rundir DIR or DDVM_RUNDIR)",
		       dir, (unsigned)st.st_uid, (unsigned)geteuid());
		return -EPERM;
	}
	if (stat(dir, &st) < 0) {
		err = errno;
		pr_err("run dir %s: %s", dir, strerror(err));
		return -err;
	}
	if (st.st_uid != geteuid()) {
		pr_err("run dir %s belongs to uid %u, not to this user (uid %u): another user "
		       "could replace its sockets and files; remove it, or choose a directory "
		       "of your own (--rundir DIR or DDVM_RUNDIR)",
		       dir, (unsigned)st.st_uid, (unsigned)geteuid());
		return -EPERM;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		pr_err("run dir %s is writable by its group or others (mode %03o): another user "
		       "could replace its sockets and files; 'chmod go-w %s', or choose a "
		       "directory of your own (--rundir DIR or DDVM_RUNDIR)",
		       dir, (unsigned)(st.st_mode & 07777), dir);
		return -EPERM;
	}
	return 0;
}

/* RUNDIR/ddvm.pid, locked for as long as we live: a second `ddvm up` is refused. */
static int supervisor__lock(struct supervisor *sup)
{
	char path[CFG_PATH_MAX + 16];
	int fd;

	snprintf(path, sizeof(path), "%s/ddvm.pid", sup->rundir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return -EALREADY; /* `ddvm up` exits 6 for this one only */
	}
	if (ftruncate(fd, 0) == 0)
		dprintf(fd, "%d\n", getpid());
	sup->lock_fd = fd;
	return 0;
}

static void supervisor__unlock(struct supervisor *sup)
{
	char path[CFG_PATH_MAX + 16];

	if (sup->lock_fd < 0)
		return;
	snprintf(path, sizeof(path), "%s/ddvm.pid", sup->rundir);
	unlink(path);
	close(sup->lock_fd);
	sup->lock_fd = -1;
}

static int supervisor__vm_index(const struct supervisor *sup, const struct cfg_vm *vm)
{
	ptrdiff_t i = vm - sup->cfg->vms;

	return i >= 0 && (unsigned)i < sup->cfg->nr_vms ? (int)i : -1;
}

void supervisor__pin_boot_files(struct supervisor *sup, const struct cfg_vm *vm)
{
	int i = supervisor__vm_index(sup, vm), k;

	if (i < 0)
		return;
	for (k = 0; k < 2; k++) {
		int fd = open(k ? vm->initrd : vm->kernel, O_RDONLY | O_CLOEXEC);

		if (sup->boot_fd[i][k] >= 0)
			close(sup->boot_fd[i][k]);
		sup->boot_fd[i][k] = fd; /* -1 if missing: vm__start says so */
	}
}

static void supervisor__unpin_boot_files(struct supervisor *sup)
{
	unsigned i, k;

	for (i = 0; i < CFG_MAX_VMS + CFG_MAX_HOST_CLIENTS; i++)
		for (k = 0; k < 2; k++) {
			if (sup->boot_fd[i][k] >= 0)
				close(sup->boot_fd[i][k]);
			sup->boot_fd[i][k] = -1;
		}
}

const char *supervisor__boot_path(const struct supervisor *sup, const struct cfg_vm *vm, int which,
				  char *buf, size_t len)
{
	int i = sup ? supervisor__vm_index(sup, vm) : -1;

	if (i < 0 || sup->boot_fd[i][which] < 0)
		return which ? vm->initrd : vm->kernel;
	snprintf(buf, len, "/proc/%d/fd/%d", (int)getpid(), sup->boot_fd[i][which]);
	return buf;
}

int supervisor__init(struct supervisor *sup, struct config *cfg, const char *rundir)
{
	struct rlimit nofile;
	sigset_t mask;
	unsigned i, created = 0;
	int ret;

	memset(sup, 0, sizeof(*sup));
	for (i = 0; i < CFG_MAX_VMS + CFG_MAX_HOST_CLIENTS; i++)
		sup->boot_fd[i][0] = sup->boot_fd[i][1] = -1;
	for (i = 0; i < CFG_MAX_DEVICES; i++)
		sup->image_lock_fd[i] = -1;
	sup->cfg = cfg;
	sup->lock_fd = sup->signal_fd = sup->control_fd = sup->ready_fd = -1;
	for (i = 0; i < SUP_MAX_CONTROL; i++)
		sup->control[i].fd = -1;
	snprintf(sup->rundir, sizeof(sup->rundir), "%s", rundir);
	snprintf(sup->chan_dir, sizeof(sup->chan_dir), "%s/channels", rundir);
	snprintf(sup->qemu, sizeof(sup->qemu), "%s",
		 getenv("DDVM_QEMU") ? getenv("DDVM_QEMU") : "qemu-system-x86_64");
	/* Each channel holds 11-15 fds and more per queue vector and peer: the soft limit
	 * (1024 under systemd's defaults) would end a large setup's starts in EMFILE. */
	if (!getrlimit(RLIMIT_NOFILE, &nofile) && nofile.rlim_cur < nofile.rlim_max) {
		nofile.rlim_cur = nofile.rlim_max;
		setrlimit(RLIMIT_NOFILE, &nofile);
	}
	/* each checked before anything is made in it */
	ret = mkdir_p(rundir, 0700);
	if (ret) {
		pr_err("cannot create %s: %s", rundir, strerror(-ret));
		return ret;
	}
	ret = supervisor__check_dir(rundir);
	if (ret)
		return ret;
	ret = mkdir_p(sup->chan_dir, 0700);
	if (ret) {
		pr_err("cannot create %s: %s", sup->chan_dir, strerror(-ret));
		return ret;
	}
	ret = supervisor__check_dir(sup->chan_dir);
	if (ret)
		return ret;
	ret = supervisor__lock(sup);
	if (ret) {
		if (ret == -EALREADY)
			pr_err("a supervisor already runs in %s; 'ddvm down' it first, or run "
			       "another in its own run dir (--rundir DIR or DDVM_RUNDIR)",
			       rundir);
		else
			pr_err("cannot lock %s: %s", rundir, strerror(-ret));
		return ret;
	}

	for (i = 0; i < cfg->nr_vms; i++)
		supervisor__pin_boot_files(sup, &cfg->vms[i]);
	/* (the bridges were checked with the setup file: config__check_files) */
	ret = startup__create_images(sup); /* `size =` images that do not exist yet */
	if (!ret)
		ret = image_lock__take(sup); /* spare = yes: QEMU's image locks are off;
					      * the others: in use elsewhere? */
	if (ret)
		goto err_unlock;

	/* Signals become events of the loop; QEMU children unblock them again. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sup->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sup->signal_fd < 0) {
		ret = -errno;
		goto err_unlock;
	}

	for (i = 0; i < cfg->nr_channels; i++, created++) {
		ret = channel__create(&sup->channels[i], &cfg->channels[i], i, sup->chan_dir);
		if (ret == -ENAMETOOLONG) {
			pr_err("channel %s: its sockets' paths (%s/%s.ROLE.sock) are longer than a "
			       "Unix socket's %zu bytes: use a shorter run dir (--rundir DIR)",
			       cfg->channels[i].name, sup->chan_dir, cfg->channels[i].name,
			       sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
			goto err_channels;
		} else if (ret) {
			pr_err("channel %s: %s", cfg->channels[i].name, strerror(-ret));
			goto err_channels;
		}
	}
	for (i = 0; i < cfg->nr_vms; i++) {
		if (!cfg_vm_started_here(&cfg->vms[i]))
			continue;
		vm__init(&sup->vms[sup->nr_vms++], sup, &cfg->vms[i], sup->rundir);
	}
	for (i = 0; i < sup->nr_vms; i++)
		if (sup->vms[i].cfg->role == CFG_DRIVER_VM && sup->vms[i].cfg->spare)
			spare__init(&sup->spares[sup->nr_spares++], &sup->vms[i], sup->rundir);
	for (i = 0; i < sup->nr_vms; i++) {
		ret = tap__prepare(&sup->vms[i]); /* bridges there, spare VMs' taps made */
		if (ret)
			goto err_taps;
	}
	ret = control__listen(sup);
	if (ret) {
		pr_err("control socket in %s: %s", rundir, strerror(-ret));
		goto err_taps;
	}
	supervisor__pick_accel(sup);
	return 0;

err_taps:
	for (i = 0; i < sup->nr_vms; i++)
		tap__release(&sup->vms[i]);
err_channels:
	while (created--)
		channel__destroy(&sup->channels[created]);
	close(sup->signal_fd);
err_unlock:
	image_lock__release(sup);
	supervisor__unpin_boot_files(sup);
	supervisor__unlock(sup);
	return ret;
}

int supervisor__up(struct supervisor *sup)
{
	uint64_t now = now_ms();
	char builtin[sizeof(sup->rundir)];
	unsigned i;

	pr_info("up: %u VMs, %u channels, accelerator %s, run dir %s", sup->nr_vms,
		sup->cfg->nr_channels, sup->accel, sup->rundir);
	/* the hints in the lines below ("see 'ddvm logs drv'") leave the run dir out */
	control_builtin_rundir(builtin, sizeof(builtin));
	if (strcmp(builtin, sup->rundir))
		pr_info("run dir %s is not the default (%s): the 'ddvm ...' commands this log "
			"suggests need 'ddvm --rundir %s ...' (or DDVM_RUNDIR=%s)",
			sup->rundir, builtin, sup->rundir, sup->rundir);
	/* the driver VM's anti-spoofing lines name a client by its MAC: say whose it is */
	for (i = 0; i < sup->cfg->nr_channels; i++) {
		const struct cfg_channel *c = &sup->cfg->channels[i];
		char spoof[400], mac[18];

		if (c->dev->kind == CFG_NET && cfg_channel_antispoof(c, spoof, sizeof(spoof)) >= 0)
			pr_info("%s: client MAC %s, antispoof %s", c->name,
				cfg_mac_str(c->mac, mac), spoof);
	}
	for (i = 0; i < sup->cfg->nr_vms; i++)
		if (sup->cfg->vms[i].role == CFG_HOST_CLIENT)
			pr_info("host client %s: connect to %s/<channel>.client.sock",
				sup->cfg->vms[i].name, sup->chan_dir);
		else if (sup->cfg->vms[i].external)
			pr_info("external client VM %s: its ivshmem-doorbell devices connect to "
				"%s/<channel>.client.sock ('ddvm libvirt-xml CONFIG %s')",
				sup->cfg->vms[i].name, sup->chan_dir, sup->cfg->vms[i].name);
	/* what a qcow2 disk can lose, once (vm_kill.c; docs/blk.md) */
	for (i = 0; i < sup->cfg->nr_devices; i++) {
		const struct cfg_device *d = &sup->cfg->devices[i];

		if (cfg_device_qcow2(d))
			pr_info(
			    "%s: %s is qcow2: flushed before %s is killed for a failure or a "
			    "restart; a QEMU that dies by itself (a crash, 'ddvm inject %s kill') "
			    "loses the writes its client did not flush (raw images do not; "
			    "docs/blk.md)",
			    d->vm->name, d->name, d->vm->name, d->vm->name);
	}
	for (i = 0; i < sup->nr_vms; i++)
		health__start_vm(&sup->vms[i], now);
	return 0;
}

static void qmp_event_cb(void *opaque, const char *event, json_t *data)
{
	snapshot__qmp(opaque, event, data, now_ms());
	storage__qmp(opaque, event, data, now_ms());
	spare__qmp(opaque, event, data, now_ms());
	vm__kill_qmp(opaque, event, data, now_ms());
	if (event)
		health__qmp_event(opaque, event, data, now_ms());
}

/* QEMU exited (pidfd, SIGCHLD): reap it, drain what it said last, apply the policy. */
static void supervisor__check_exit(struct vm *vm)
{
	int status;

	if (vm->qmp.fd >= 0)
		qmp__read(&vm->qmp, qmp_event_cb, vm); /* a GUEST_PANICKED just before exit */
	status = vm__reap(vm);
	if (status == -EAGAIN || status == -ECHILD)
		return;
	health__vm_exited(vm, status, now_ms());
}

static void supervisor__signal(struct supervisor *sup)
{
	struct signalfd_siginfo si;
	unsigned i;

	while (read(sup->signal_fd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			for (i = 0; i < sup->nr_vms; i++)
				supervisor__check_exit(&sup->vms[i]);
			for (i = 0; i < sup->nr_spares; i++)
				supervisor__check_exit(&sup->spares[i]);
			break;
		case SIGHUP:
			/* `up -d` has no terminal (setsid): a SIGHUP is someone's, and ignored.
			 * In the foreground it is the terminal going away (a closed window, a
			 * dropped ssh): with it go the log and Ctrl-C, so stop as on Ctrl-C
			 * rather than leave VMs running that nobody sees. */
			if (!sup->foreground)
				break;
			/* fall through */
		default:
			if (!sup->stopping)
				pr_info("signal %d (%s): shutting down", (int)si.ssi_signo,
					strsignal(si.ssi_signo));
			sup->stopping = 1;
		}
	}
}

/* Tell a `ddvm up -d` parent that everything is up (R) or, as soon as a VM gave up,
 * that it failed (F, then "ddvm: VM: reason" lines for the parent to print). */
/* Not up, and not about to be, for `up -d` and systemd's READY: given up, or its starts
 * failing for the host's trouble (retried for as long as it lasts: health.c), which a
 * waiting `ddvm up -d` must hear of rather than wait for ever. */
#define HOST_TROUBLE_REPORT 3
static int vm_not_up(const struct vm *vm)
{
	return vm->state == VM_GAVE_UP ||
	       (vm->state != VM_RUNNING && vm->host_failed_in_row >= HOST_TROUBLE_REPORT);
}

static void supervisor__report_ready(struct supervisor *sup)
{
	unsigned i, ready = 0, dead = 0;
	char c;

	if (sup->ready_fd < 0 && sup->progress != 1)
		return;
	for (i = 0; i < sup->nr_vms; i++) {
		/* a client VM powered off from inside after its ready line was up */
		ready += sup->vms[i].state == VM_RUNNING ||
			 (sup->vms[i].state == VM_STOPPED && sup->vms[i].ready_ms);
		dead += vm_not_up(&sup->vms[i]);
	}
	if (ready + dead < sup->nr_vms && !(dead && sup->ready_fd >= 0))
		return;
	c = dead ? 'F' : 'R';
	if (sup->ready_fd >= 0 && dead) {
		if (write(sup->ready_fd, &c, 1) < 0)
			pr_debug("ready pipe: %s", strerror(errno));
		for (i = 0; i < sup->nr_vms; i++)
			if (sup->vms[i].state == VM_GAVE_UP)
				dprintf(sup->ready_fd, "ddvm: %s gave up: %s\n",
					sup->vms[i].cfg->name, sup->vms[i].last_failure);
			else if (vm_not_up(&sup->vms[i]))
				dprintf(sup->ready_fd,
					"ddvm: %s cannot start, %u times in a row: %s (the "
					"supervisor goes on trying)\n",
					sup->vms[i].cfg->name, sup->vms[i].host_failed_in_row,
					sup->vms[i].last_failure);
		close(sup->ready_fd);
		sup->ready_fd = -1;
	}
	if (ready + dead < sup->nr_vms)
		return;
	if (sup->progress == 1) {
		pr_info(dead ? "%u of %u VMs up; see above" : "all %u of %u VMs ready", ready,
			sup->nr_vms);
		sup->progress = 2;
		/* systemd (Type=notify): up, also when a VM gave up -- 'ddvm status' says
		 * which; a no-op without $NOTIFY_SOCKET. */
		sd_notifyf(0, "READY=1\nSTATUS=%u of %u VMs ready", ready, sup->nr_vms);
	}
	if (sup->ready_fd >= 0) {
		if (write(sup->ready_fd, &c, 1) < 0)
			pr_debug("ready pipe: %s", strerror(errno));
		close(sup->ready_fd);
		sup->ready_fd = -1;
	}
}

enum slot_type { SLOT_SIGNAL, SLOT_PIDFD, SLOT_CONSOLE, SLOT_QMP, SLOT_CHANNEL, SLOT_CONTROL };

struct slot {
	enum slot_type type;
	void *obj;
	size_t n; /* pollfds this slot covers (channels, control) */
};

#define MAX_FDS                                                                                    \
	(1 + 2 * 3 * CFG_MAX_VMS + CFG_MAX_CHANNELS * IVSHMEM_SERVER_MAX_POLLFDS + 1 +             \
	 SUP_MAX_CONTROL)

/* The VM (or spare) I of the loop: sup->vms, then sup->spares. */
static struct vm *loop_vm(struct supervisor *sup, size_t i)
{
	return i < sup->nr_vms ? &sup->vms[i] : &sup->spares[i - sup->nr_vms];
}

int supervisor__run(struct supervisor *sup)
{
	static struct pollfd fds[MAX_FDS];
	static struct slot slots[MAX_FDS];

	while (!sup->stopping) {
		uint64_t now = now_ms();
		size_t n = 0, ns = 0, k, i;
		int timeout = health__tick(sup, now), st = storage__tick(sup, now),
		    ct = control__tick(sup, now);

		if (st < timeout)
			timeout = st;
		if (ct < timeout)
			timeout = ct;

		supervisor__report_ready(sup);
		fds[n] = (struct pollfd){ .fd = sup->signal_fd, .events = POLLIN };
		slots[ns++] = (struct slot){ SLOT_SIGNAL, sup, 1 };
		n++;
		for (i = 0; i < sup->nr_vms + sup->nr_spares; i++) {
			struct vm *vm = loop_vm(sup, i);

			if (vm->pidfd >= 0) {
				fds[n++] = (struct pollfd){ .fd = vm->pidfd, .events = POLLIN };
				slots[ns++] = (struct slot){ SLOT_PIDFD, vm, 1 };
			}
			if (vm->con_fd >= 0) {
				fds[n++] = (struct pollfd){ .fd = vm->con_fd, .events = POLLIN };
				slots[ns++] = (struct slot){ SLOT_CONSOLE, vm, 1 };
			}
			if (vm__alive(vm) && vm->qmp.fd < 0) {
				if (qmp__connect(&vm->qmp, vm->qmp_path) == 0)
					snapshot__qmp_connected(vm, now);
				else if (timeout > QMP_RETRY_MS)
					timeout = QMP_RETRY_MS; /* QEMU has not created it yet */
			}
			if (vm->qmp.fd >= 0) {
				fds[n++] = (struct pollfd){ .fd = vm->qmp.fd, .events = POLLIN };
				slots[ns++] = (struct slot){ SLOT_QMP, vm, 1 };
			}
		}
		for (i = 0; i < sup->cfg->nr_channels; i++) {
			size_t m = ivshmem_server__pollfds(&sup->channels[i].srv, fds + n,
							   IVSHMEM_SERVER_MAX_POLLFDS);

			slots[ns++] = (struct slot){ SLOT_CHANNEL, &sup->channels[i], m };
			n += m;
		}
		k = control__pollfds(sup, fds + n, 1 + SUP_MAX_CONTROL);
		slots[ns++] = (struct slot){ SLOT_CONTROL, sup, k };
		n += k;

		if (poll(fds, n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			pr_err("poll: %s", strerror(errno));
			sup->exit_code = 1;
			break;
		}
		now = now_ms();
		for (i = 0, k = 0; i < ns; k += slots[i].n, i++) {
			struct slot *s = &slots[i];
			struct vm *vm = s->obj;
			int ret;

			if (s->type == SLOT_CHANNEL) {
				ivshmem_server__handle(&((struct channel *)s->obj)->srv, fds + k,
						       s->n);
				continue;
			}
			if (s->type == SLOT_CONTROL) {
				control__handle(sup, fds + k, s->n);
				continue;
			}
			if (!fds[k].revents)
				continue;
			switch (s->type) {
			case SLOT_SIGNAL:
				supervisor__signal(sup);
				break;
			case SLOT_PIDFD:
				supervisor__check_exit(vm);
				break;
			case SLOT_CONSOLE:
				/* EOF on the console is not an exit: the pidfd says that. */
				if (vm->con_fd >= 0 && fds[k].fd == vm->con_fd &&
				    vm__console_read(vm, now) < 0) {
					close(vm->con_fd);
					vm->con_fd = -1;
				}
				break;
			case SLOT_QMP:
				if (vm->qmp.fd < 0 || fds[k].fd != vm->qmp.fd)
					break;
				ret = qmp__read(&vm->qmp, qmp_event_cb, vm);
				if (ret < 0)
					qmp__close(&vm->qmp);
				break;
			default:
				break;
			}
		}
	}
	supervisor__down(sup);
	return sup->exit_code;
}

/* Stop every QEMU: SIGTERM, a grace period, then SIGKILL; always reaped. */
static void supervisor__stop_vms(struct supervisor *sup)
{
	uint64_t deadline = now_ms() + SHUTDOWN_GRACE_MS;
	unsigned i, alive;

	sup->stopping = 1;
	sd_notify(0, "STOPPING=1");
	for (i = 0; i < sup->nr_vms + sup->nr_spares; i++) {
		if (!vm__alive(loop_vm(sup, i)))
			continue;
		vm__event(loop_vm(sup, i), VM_EV_STOP_REQUESTED);
		vm__signal(loop_vm(sup, i), SIGTERM);
	}
	for (;;) {
		struct pollfd fds[2 * CFG_MAX_VMS];
		unsigned n = 0;

		alive = 0;
		for (i = 0; i < sup->nr_vms + sup->nr_spares; i++) {
			struct vm *vm = loop_vm(sup, i);

			if (!vm__alive(vm))
				continue;
			if (vm__reap(vm) != -EAGAIN) {
				vm__event(vm, VM_EV_STOPPED);
				continue;
			}
			alive++;
			if (vm->pidfd >= 0)
				fds[n++] = (struct pollfd){ .fd = vm->pidfd, .events = POLLIN };
		}
		if (!alive)
			break;
		if (now_ms() >= deadline) {
			for (i = 0; i < sup->nr_vms + sup->nr_spares; i++)
				if (vm__alive(loop_vm(sup, i))) {
					pr_warn("%s%s: did not stop within %d ms; killing it",
						loop_vm(sup, i)->cfg->name,
						loop_vm(sup, i)->spare_of ? " (spare)" : "",
						SHUTDOWN_GRACE_MS);
					vm__signal(loop_vm(sup, i), SIGKILL);
				}
			deadline = now_ms() + 60000; /* SIGKILL cannot be ignored */
		}
		/* pidfds say when; a short cap covers a VM without one. */
		poll(fds, n, 100);
	}
}

void supervisor__down(struct supervisor *sup)
{
	unsigned i;

	if (sup->lock_fd < 0)
		return; /* already down */
	pr_info("down: stopping %u VM%s", sup->nr_vms, sup->nr_vms == 1 ? "" : "s");
	supervisor__stop_vms(sup);
	for (i = 0; i < sup->nr_vms + sup->nr_spares; i++) {
		struct vm *vm = loop_vm(sup, i);

		unlink(vm->chan_path);
		snapshot__remove(vm);
		tap__release(vm); /* a tap ddvm created (spare = yes) goes now */
		unlink(vm->pid_path);
		unlink(vm->qmp_path);
		if (vm->log_fd >= 0)
			close(vm->log_fd);
		vm->log_fd = -1;
	}
	for (i = 0; i < sup->cfg->nr_channels; i++)
		channel__destroy(&sup->channels[i]);
	rmdir(sup->chan_dir);
	supervisor__unpin_boot_files(sup);
	image_lock__release(sup); /* after the last QEMU that wrote them */
	control__close(sup);
	if (sup->signal_fd >= 0)
		close(sup->signal_fd);
	sup->signal_fd = -1;
	if (sup->ready_fd >= 0) {
		/* `up -d` still waits: stopped (`ddvm down`, a signal) before it was up */
		if (write(sup->ready_fd, "D", 1) < 0)
			pr_debug("up -d no longer waits");
		close(sup->ready_fd);
	}
	sup->ready_fd = -1;
	supervisor__unlock(sup);
	pr_info("down: everything stopped and removed (logs stay in %s)", sup->rundir);
}
