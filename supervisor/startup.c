/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Start failures and late channels: say why something did not come up, in QEMU's
 * words where QEMU is the one who refused, instead of retrying or waiting in silence.
 * The restart policy itself stays in health.c; this file decides what a start failure
 * is, what it was, and whether it is the same one again.
 */
#include "startup.h"
#include "log.h"
#include "supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#define QLOG_READ_MAX 65536

static int create_qcow2(const char *image, uint64_t size)
{
	char sz[32];
	int status;
	pid_t pid;

	snprintf(sz, sizeof(sz), "%llu", (unsigned long long)size);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		execlp("qemu-img", "qemu-img", "create", "-q", "-f", "qcow2", image, sz,
		       (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

static int create_raw(const char *image, uint64_t size)
{
	int fd = open(image, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600), ret = 0;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, size) < 0) /* sparse: blocks are allocated as the guest writes */
		ret = -errno;
	close(fd);
	if (ret)
		unlink(image);
	return ret;
}

int startup__create_images(struct supervisor *sup)
{
	unsigned i;

	for (i = 0; i < sup->cfg->nr_devices; i++) {
		const struct cfg_device *d = &sup->cfg->devices[i];
		int ret;

		if (d->kind != CFG_BLK || !d->size || !d->image[0] || !access(d->image, F_OK))
			continue;
		ret = strcmp(d->format, "qcow2") ? create_raw(d->image, d->size)
						 : create_qcow2(d->image, d->size);
		if (ret) {
			pr_err("%s: cannot create image %s (%s, %llu bytes): %s%s", d->name,
			       d->image, d->format, (unsigned long long)d->size,
			       ret == -EIO ? "qemu-img create failed" : strerror(-ret),
			       ret == -EFBIG ? " (its file system takes no file this large: a "
					       "smaller size =, or the image on another file "
					       "system)"
					     : "");
			return ret;
		}
		pr_info("%s: created image %s (%s, %llu MiB, empty)", d->name, d->image, d->format,
			(unsigned long long)(d->size >> 20));
	}
	return 0;
}

void startup__vm_starting(struct vm *vm)
{
	struct stat st;

	vm->startup.qlog_off = stat(vm->qemu_log_path, &st) == 0 ? st.st_size : 0;
	vm->startup.start_failed = 0;
}

/* Less than this free in the run dir's file system: a start's failure is the host's. */
#define RUNDIR_LOW_BYTES (1u << 20)

/*
 * Is this start failure the host's (ERR: vm__start's negative errno, or 0; QEMU: its
 * words, or NULL)? Then it is marked so, WHY says what to free, and 1 is returned.
 */
static int host_trouble(struct vm *vm, int err, const char *qemu, char *why, size_t len)
{
	/* QEMU's words only for space: "Cannot allocate memory" is as often a guest
	 * bigger than the host (memory = 8G on 4 GiB), a setup that never starts */
	static const char *const words[] = { "No space left on device", "Disk quota exceeded" };
	const char *dir = vm->sup ? vm->sup->rundir : NULL;
	int host = 0;
	struct statvfs sv;
	size_t n = strlen(why), i;

	switch (-err) {
	case ENOSPC:
	case EDQUOT:
	case ENOMEM:
	case EAGAIN:
	case EMFILE:
	case ENFILE:
	case ENOBUFS:
		host = 1;
	}
	for (i = 0; qemu && i < sizeof(words) / sizeof(words[0]); i++)
		host |= strstr(qemu, words[i]) != NULL;
	if (dir && !statvfs(dir, &sv) && (uint64_t)sv.f_bavail * sv.f_frsize < RUNDIR_LOW_BYTES) {
		host = 1;
		snprintf(why + n, len - n, " (the run dir %s has %llu KiB free)", dir,
			 (unsigned long long)sv.f_bavail * sv.f_frsize / 1024);
		n = strlen(why);
	}
	if (!host)
		return 0;
	vm->failing_on_host = 1;
	vm->startup.start_failed = 0; /* not QEMU refusing the setup: no give-up for it */
	snprintf(why + n, len - n,
		 ": the host's trouble (space in the run dir's file system, memory or file "
		 "descriptors), retried until it passes");
	return 1;
}

void startup__start_error(struct vm *vm, int err, char *why, size_t len)
{
	char qemu[384];
	int have = startup__qemu_error(vm, qemu, sizeof(qemu));

	vm->startup.start_failed = 1;
	snprintf(why, len, "cannot start QEMU: %s", have ? qemu : strerror(-err));
	host_trouble(vm, err, have ? qemu : NULL, why, len);
}

/* "qemu-system-x86_64: -drive ...: reason" → "-drive ...: reason"; NULL if LINE is not
 * an error line of QEMU (or of our fork, which says "ddvm: cannot run ..."). */
static const char *qemu_words(const char *line, const char *qemu)
{
	const char *base = strrchr(qemu, '/'), *p;

	base = base ? base + 1 : qemu;
	if (!strncmp(line, "ddvm: ", 6))
		return line + 6;
	p = strstr(line, ": ");
	if (!p || memchr(line, ' ', p - line))
		return NULL; /* no "PROGRAM: " prefix */
	if (!((size_t)(p - line) == strlen(qemu) && !strncmp(line, qemu, p - line)) &&
	    !((size_t)(p - line) >= strlen(base) && !strncmp(p - strlen(base), base, strlen(base))))
		return NULL;
	p += 2;
	/* a warning, also one about an option ("-drive ...: warning: short-form boolean
	 * option ..."): the error that follows it is the cause */
	if (!strncmp(p, "warning: ", 9) || strstr(p, ": warning: "))
		return NULL;
	return p;
}

/* QEMU's words that do not say what is wrong in a user's terms: what they mean. */
static void qemu_hint(char *buf, size_t len)
{
	size_t n = strlen(buf);

	/* x86's loader, for a file without a Linux boot header given with an initrd */
	if (strstr(buf, "linux kernel too old to load a ram disk") && n < len)
		snprintf(buf + n, len - n,
			 " (is the kernel file a Linux bzImage? Another file "
			 "given as the kernel reads like this)");
}

int startup__qemu_error(const struct vm *vm, char *buf, size_t len)
{
	static char text[QLOG_READ_MAX + 1];
	const char *qemu = vm->sup && vm->sup->qemu[0] ? vm->sup->qemu : "qemu-system-x86_64";
	char *line, *save = NULL, *last = NULL;
	ssize_t n;
	int fd;

	buf[0] = 0;
	fd = open(vm->qemu_log_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = pread(fd, text, QLOG_READ_MAX, vm->startup.qlog_off);
	close(fd);
	if (n <= 0)
		return 0;
	text[n] = 0;
	/* The first error QEMU printed is the cause; later lines are its consequences. */
	for (line = strtok_r(text, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
		const char *w = qemu_words(line, qemu);

		if (w) {
			snprintf(buf, len, "%s", w);
			qemu_hint(buf, len);
			return 1;
		}
		if (*line)
			last = line;
	}
	if (last) {
		snprintf(buf, len, "%s", last);
		qemu_hint(buf, len);
	}
	return last != NULL;
}

void startup__exited(struct vm *vm, int status, char *why, size_t len)
{
	char qemu[384];
	size_t n = strlen(why);
	int have;
	int exit0 = WIFEXITED(status) && WEXITSTATUS(status) == 0; /* the guest ended it */

	if (vm->state != VM_BOOTING || vm->ready_ms)
		return; /* it had booted: an ordinary failure */
	if (exit0 && vm->panic_line[0]) {
		snprintf(why + n, len - n, ": the guest's kernel panicked while booting (%s)",
			 vm->panic_line);
		return;
	}
	if (exit0 && vm->guest_exit != VM_GUEST_POWEROFF) {
		/* QEMU's -no-reboot: a triple fault, or a kernel that died before it could
		 * print, ends it like a reboot (QMP may not even be connected yet); the usual
		 * cause is a guest too small for the kernel and its initrd */
		snprintf(why + n, len - n,
			 ": the guest reset itself while booting, before its kernel said why "
			 "(memory = %uM too small for the kernel and initrd?)",
			 vm->cfg->memory_mb);
		return;
	}
	if (!WIFEXITED(status) || exit0)
		return; /* killed, or the guest powered off: not a refusal to start */
	vm->startup.start_failed = 1;
	have = startup__qemu_error(vm, qemu, sizeof(qemu));
	if (have)
		/* QEMU's image locks: another QEMU holds the file, typically a setup of
		 * the same file in another run dir (the run dir's own guard cannot see it) */
		snprintf(why + n, len - n, " before the guest booted: %s%s", qemu,
			 strstr(qemu, "Failed to get \"write\" lock") ||
				 strstr(qemu, "Failed to get \"consistent read\" lock")
			     ? " (another process has the image open: another 'ddvm up' of "
			       "this setup in another run dir? 'fuser -v IMAGE' names it)"
			 : strstr(qemu, "/dev/net/tun") && strstr(qemu, "Device or resource busy")
			     ? " (another process holds that tap: another setup's QEMU? give "
			       "this NIC a tap of its own)"
			     : "");
	else
		snprintf(why + n, len - n, " before the guest booted (nothing in %s)",
			 vm->qemu_log_path);
	host_trouble(vm, 0, have ? qemu : NULL, why, len);
}

int startup__failed_again(struct vm *vm)
{
	struct startup_vm *s = &vm->startup;
	int again;

	if (!s->start_failed) {
		s->prev_failure[0] = 0;
		return 0;
	}
	again = !strcmp(s->prev_failure, vm->last_failure);
	snprintf(s->prev_failure, sizeof(s->prev_failure), "%s", vm->last_failure);
	return again;
}

void startup__forget(struct vm *vm)
{
	vm->startup.prev_failure[0] = 0;
	vm->startup.start_failed = 0;
}

/* Is side SIDE's state READY at the channel's current epoch? */
static int side_ready(const struct channel *ch, int backend)
{
	const struct ddvm_region_hdr *h = ch->rg.hdr;
	uint32_t state =
	    backend ? ddvm_load_acquire(&h->backend_state) : ddvm_load_acquire(&h->frontend_state);
	uint32_t epoch = backend ? ddvm_read32(&h->backend_epoch) : ddvm_read32(&h->frontend_epoch);

	return state == DDVM_STATE_READY && epoch == ch->own.epoch;
}

static int booted_for(const struct vm *vm, uint64_t now)
{
	return vm && vm->state == VM_RUNNING && vm->ready_ms &&
	       now - vm->ready_ms >= STARTUP_CHANNEL_MS;
}

/* What keeps channel CH from READY, in words, or "" (DRV: its driver VM, or NULL). */
static void channel_problem(struct supervisor *sup, const struct channel *ch, const struct vm *drv,
			    const struct startup_chan *s, uint64_t now, char *buf, size_t len)
{
	const struct cfg_channel *cc = ch->cfg;
	const struct vm *cli =
	    cc->client->role == CFG_CLIENT_VM ? supervisor__find_vm(sup, cc->client->name) : NULL;
	const char *kind = cfg_kind_name(cc->dev->kind);

	buf[0] = 0;
	if (!drv || drv->state != VM_RUNNING)
		return; /* booting, failed, restarting: health.c speaks for it */
	if (booted_for(drv, now) && !side_ready(ch, 1)) {
		snprintf(buf, len,
			 "backend %s at epoch %u %llu s after %s booted: the "
			 "translation module (ddvm_%sback) did not attach; see 'ddvm logs %s'",
			 channel_state_name(ddvm_read32(&ch->rg.hdr->backend_state)), ch->own.epoch,
			 (unsigned long long)(now - drv->ready_ms) / 1000, drv->cfg->name, kind,
			 drv->cfg->name);
		return;
	}
	if (cli && cli->state == VM_RUNNING && side_ready(ch, 1) &&
	    ddvm_read32(&ch->rg.hdr->frontend_state) == DDVM_STATE_CLOSED) {
		/* it had attached and let go (unloaded, or its device unbound): no boot
		 * grace to wait for */
		snprintf(buf, len,
			 "frontend closed at epoch %u: the client driver (ddvm_%sfront) in %s "
			 "detached (unloaded?); 'modprobe ddvm_%sfront' there attaches it again",
			 ch->own.epoch, kind, cli->cfg->name, kind);
		return;
	}
	if (cli && booted_for(cli, now) && side_ready(ch, 1) && !side_ready(ch, 0) &&
	    now - s->backend_ready_ms >= STARTUP_CHANNEL_MS) {
		uint32_t fe = ddvm_read32(&ch->rg.hdr->frontend_epoch);
		uint64_t since = now - (s->backend_ready_ms > cli->ready_ms ? s->backend_ready_ms
									    : cli->ready_ms);

		/* the frontend's state belongs to its own epoch, which may be an old one */
		if (fe != ch->own.epoch)
			snprintf(buf, len,
				 "the client %s has not attached at epoch %u (its frontend is %s "
				 "at epoch %u) %llu s after the backend was ready: a Linux "
				 "client's ddvm_%sfront does so by itself; see 'ddvm logs %s'",
				 cli->cfg->name, ch->own.epoch,
				 channel_state_name(ddvm_read32(&ch->rg.hdr->frontend_state)), fe,
				 (unsigned long long)since / 1000, kind, cli->cfg->name);
		else
			snprintf(buf, len,
				 "frontend %s at epoch %u %llu s after %s booted: the client "
				 "driver (ddvm_%sfront in a Linux client) did not attach; see "
				 "'ddvm logs %s'",
				 channel_state_name(ddvm_read32(&ch->rg.hdr->frontend_state)),
				 ch->own.epoch, (unsigned long long)since / 1000, cli->cfg->name,
				 kind, cli->cfg->name);
	}
}

/*
 * A running driver VM whose side of a channel is not READY: ring its control vector
 * (once a tick). A translation module waits for that doorbell where its device has a
 * warm spare's peer id (abi.h, "Peer ids"): one reloaded in a driver VM that had been
 * the spare would otherwise serve only after the client's next control doorbell. To
 * any other module a control doorbell is a look at the header, nothing more.
 */
static void nudge_backend(struct channel *ch, const struct vm *drv)
{
	if (drv && drv->state == VM_RUNNING && drv->ready_ms && !side_ready(ch, 1))
		channel__ring_driver(ch);
}

/*
 * A net device's `mtu = N` reaches the NIC through the driver VM's boot (ddvm_netback's
 * nic_mtu): a driver that cannot take N keeps its MTU with no more than a kernel
 * message ("mtu greater than device maximum"), the channel then announces that MTU and
 * the client adopts it, and frames over it are lost while the tap and the bridge run at
 * N. Said once per epoch, as soon as the translation module describes the NIC.
 */
static void check_mtu(struct supervisor *sup, unsigned i)
{
	const struct channel *ch = &sup->channels[i];
	const struct cfg_device *d = ch->cfg->dev;
	struct startup_chan *s = &sup->startup[i];
	char drv[17];
	unsigned mtu;

	if (d->kind != CFG_NET || !d->mtu || s->mtu_epoch == ch->own.epoch)
		return;
	mtu = channel__nic_mtu(ch, drv);
	if (!mtu)
		return; /* not described at this epoch yet */
	s->mtu_epoch = ch->own.epoch;
	if (mtu == d->mtu) {
		s->mtu_problem[0] = 0;
		return;
	}
	snprintf(s->mtu_problem, sizeof(s->mtu_problem),
		 "the NIC runs at MTU %u, not mtu = %u: its driver (%s) in %s did not take %u "
		 "('ddvm logs %s' says why); the client is at %u and larger frames do not "
		 "cross. Set mtu to what the NIC takes (docs/net.md)",
		 mtu, d->mtu, drv[0] ? drv : "?", d->vm->name, d->mtu, d->vm->name, mtu);
	pr_warn("channel %s: %s", ch->cfg->name, s->mtu_problem);
}

int startup__tick(struct supervisor *sup, uint64_t now)
{
	unsigned i;

	for (i = 0; i < sup->cfg->nr_channels; i++) {
		struct startup_chan *s = &sup->startup[i];
		const struct vm *drv =
		    supervisor__find_vm(sup, sup->cfg->channels[i].dev->vm->name);
		char problem[sizeof(s->problem)];

		if (side_ready(&sup->channels[i], 1) &&
		    s->backend_epoch != sup->channels[i].own.epoch) {
			s->backend_epoch = sup->channels[i].own.epoch;
			s->backend_ready_ms = now;
		}
		nudge_backend(&sup->channels[i], drv);
		check_mtu(sup, i);
		channel_problem(sup, &sup->channels[i], drv, s, now, problem, sizeof(problem));
		if (problem[0] && !s->problem[0])
			s->since_ms = now;
		if (problem[0] && !s->told && now - s->since_ms >= STARTUP_PROBLEM_MS) {
			pr_warn("channel %s not ready: %s", sup->cfg->channels[i].name, problem);
			s->told = 1;
		} else if (!problem[0] && s->told) {
			pr_info("channel %s: ready now", sup->cfg->channels[i].name);
			s->told = 0;
		}
		snprintf(s->problem, sizeof(s->problem), "%s", problem);
	}
	return 1000;
}
