/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The supervisor as a library: one struct that owns a setup's channels and VMs, and a
 * loop that serves the channels' ivshmem servers, watches every VM (process exit,
 * QMP events, console, heartbeat, request progress), restarts the ones that fail, and
 * answers the `ddvm` command on a control socket (control.c).
 *
 * It outlives every VM: an ivshmem peer cannot reconnect to a restarted server, so
 * the channels live exactly as long as the supervisor.
 */
#ifndef DDVM_SUPERVISOR_H
#define DDVM_SUPERVISOR_H

#include <poll.h>
#include <stdint.h>

#include "channel.h"
#include "config.h"
#include "storage.h"
#include "vm.h"

/* Control connections at once (ddvm.sock); of them at most SUP_MAX_CONSOLES attached
 * consoles, so that commands always find a slot. One that has not sent its command
 * line after CONTROL_LINE_MS is closed, and the oldest such makes room when all are
 * taken: a program that connects and sends nothing must not lock `ddvm status`. */
#define SUP_MAX_CONTROL	 16
#define SUP_MAX_CONSOLES 8
#define CONTROL_LINE_MS	 5000
/* RUNDIR/ddvm.log (ddvm up -d) at this size becomes ddvm.log.1 (log_set_rotation) */
#define SUP_LOG_MAX_BYTES (16ull << 20)

struct control_conn {
	int fd;
	size_t len;
	char buf[8192]; /* one command line (`upgrade` carries paths and a kernel command line) */
	struct vm *console; /* attached to this VM's console, or NULL */
	struct vm *inject;  /* waiting for this VM's answer to `inject` (inject.c), or NULL */
	uint64_t accepted_ms;
	uint64_t reply_waited_ms; /* for the client to read a reply (control.c) */
};

struct supervisor {
	struct config *cfg;
	char rundir[CFG_PATH_MAX];
	char chan_dir[CFG_PATH_MAX];
	char accel[8];
	char qemu[CFG_PATH_MAX]; /* $DDVM_QEMU, a path as long as any other */
	unsigned nr_vms;
	struct vm vms[CFG_MAX_VMS];
	unsigned nr_spares;
	struct vm spares[CFG_MAX_VMS]; /* warm spares of driver VMs with spare = yes */
	struct channel channels[CFG_MAX_CHANNELS];
	struct storage_dev storage[CFG_MAX_DEVICES]; /* host I/O errors per device (storage.c) */
	uint64_t storage_space_ms; /* last look for full host file systems (storage.c) */
	uint64_t qemu_log_ms;	   /* last look at the sizes of VM.qemu.log (storage.c) */
	struct startup_chan startup[CFG_MAX_CHANNELS]; /* channels not ready in time (startup.c) */
	/* Each VM's kernel and initrd, opened at init: every start of a VM (its spare's
	 * too) boots the files as they were at `ddvm up` (/proc/PID/fd/N), whatever a
	 * rebuild put at their paths since (a driver image of another build refuses this
	 * supervisor's channels); `ddvm upgrade` opens the VM's new ones when it commits.
	 * Indexed like cfg->vms; -1: not open (missing: vm__start says so). */
	int boot_fd[CFG_MAX_VMS + CFG_MAX_HOST_CLIENTS][2];
	int lock_fd; /* RUNDIR/ddvm.pid, flock()ed: one supervisor per run dir */
	/* the images of driver VMs with spare = yes, locked as QEMU would (image_lock.h);
	 * indexed like cfg->devices, -1: none */
	int image_lock_fd[CFG_MAX_DEVICES];
	int signal_fd;
	int control_fd;
	struct control_conn control[SUP_MAX_CONTROL];
	int stopping;	/* teardown requested */
	int progress;	/* print boot progress on stdout (a terminal) */
	int foreground; /* `ddvm up` without -d: a hang-up of its terminal ends it */
	int ready_fd;	/* -d: write one byte when everything is up, then close */
	int exit_code;
};

uint64_t now_ms(void);

/* Claim RUNDIR, create the channels. Nothing is started yet. 0, -EALREADY when a
 * supervisor runs in RUNDIR already, or another -errno (each said why in the log). */
int supervisor__init(struct supervisor *sup, struct config *cfg, const char *rundir);
/* Start every VM (driver VMs and clients boot in parallel). */
int supervisor__up(struct supervisor *sup);
/* Serve until SIGINT/SIGTERM or `ddvm down`; then tear everything down. */
int supervisor__run(struct supervisor *sup);
/* Stop every VM, close every channel, remove every socket and pid file. */
void supervisor__down(struct supervisor *sup);

struct vm *supervisor__find_vm(struct supervisor *sup, const char *name);
/* VM's kernel (WHICH 0) or initrd (1) as its QEMU is to open it: "/proc/PID/fd/N" of
 * the file opened at init or at an upgrade's commit (BUF holds it), else the path of
 * its setup (no supervisor: the unit tests). */
const char *supervisor__boot_path(const struct supervisor *sup, const struct cfg_vm *vm, int which,
				  char *buf, size_t len);
/* (Re)open VM's kernel and initrd at their paths now: init, an upgrade's commit. */
void supervisor__pin_boot_files(struct supervisor *sup, const struct cfg_vm *vm);
/* The channels a VM takes part in, as driver (ROLE driver) or client. */
int supervisor__vm_serves(const struct vm *vm, const struct channel *ch);
int supervisor__vm_uses(const struct vm *vm, const struct channel *ch);

/* health.c */
void health__vm_exited(struct vm *vm, int status, uint64_t now);
void health__qmp_event(struct vm *vm, const char *event, json_t *data, uint64_t now);
void health__fail(struct vm *vm, const char *reason, uint64_t now);
/* The driver VM's old incarnation writes nothing any more (reaped, or stopped for an
 * upgrade's handover): reset its channels' rings and bump their epochs. */
void health__new_epochs(struct vm *vm, uint64_t now);
/* Timers: boot timeout, heartbeat, requests, pending restarts. Returns ms until the
 * next thing to check (for poll's timeout). */
int health__tick(struct supervisor *sup, uint64_t now);
/* Start (or restart) a VM: bump epochs first if it is a driver VM coming back. */
int health__start_vm(struct vm *vm, uint64_t now);

/* inject.c: "VM KIND [DEVICE] [ARG]" → a fault in VM (see `ddvm inject --help`).
 * Returns 0 (done), 1 (typed into the guest's console: the answer goes to C when its
 * shell replied, by inject__console_line or inject__tick), or -errno with a message
 * in ERR. */
int inject__run(struct supervisor *sup, struct control_conn *c, char *args, char *err, size_t len);
/* Is KIND a fault `ddvm inject` knows? inject__kinds(): them all, space-separated. */
int inject__known_kind(const char *kind);
const char *inject__kinds(void);
/* A console line of VM: the shell's answer to an injection, if one is awaited. */
void inject__console_line(struct vm *vm, const char *line, uint64_t now);
/* An awaited answer that is overdue, or a VM that died meanwhile. Returns ms until
 * the next look. */
int inject__tick(struct vm *vm, uint64_t now);
/* C hung up while it waited for VM's answer. */
void inject__forget(struct control_conn *c);

/* control.c */
int control__listen(struct supervisor *sup);
void control__close(struct supervisor *sup);
size_t control__pollfds(struct supervisor *sup, struct pollfd *fds, size_t max);
/* Closes connections that sent no command line in CONTROL_LINE_MS; returns the ms until
 * the next such deadline (at most 1000). */
int control__tick(struct supervisor *sup, uint64_t now);
/* "no VM named 'NAME'", and why when the setup file names it (an external VM, a host
 * client): the answer to a command about a VM the supervisor does not run. The words
 * "no VM named" give `ddvm` its exit code 5. */
void control__why_no_vm(const struct supervisor *sup, const char *name, char *buf, size_t len);
void control__handle(struct supervisor *sup, const struct pollfd *fds, size_t n);
/* Answer C's command (a first line "OK ..." or "ERR ...") and close it: for answers
 * that come later than the command (inject.c). */
void control__answer(struct supervisor *sup, struct control_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Default run dir: $DDVM_RUNDIR, /run/ddvm (root), $XDG_RUNTIME_DIR/ddvm, /tmp/ddvm-UID */
void control_default_rundir(char *buf, size_t len);
/* The run dir without DDVM_RUNDIR: /run/ddvm (root), $XDG_RUNTIME_DIR/ddvm or
 * /tmp/ddvm-UID. */
void control_builtin_rundir(char *buf, size_t len);

#endif /* DDVM_SUPERVISOR_H */
