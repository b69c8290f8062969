/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * One VM (driver or client) as the supervisor runs it: the QEMU command line, the
 * process, its console (the supervisor owns the serial port: QEMU's stdio chardev is
 * our socketpair, so we log it, watch it for the ready line, and relay it to
 * `ddvm console`), and its QMP socket.
 *
 * Files in RUNDIR: NAME.log (console), NAME.qemu.log (QEMU's stderr), NAME.pid,
 * NAME.qmp, NAME.channels (channel list the guest reads via fw_cfg opt/ddvm/channels).
 */
#ifndef DDVM_VM_H
#define DDVM_VM_H

#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "cpu_wait.h"
#include "qmp.h"
#include "spare.h"
#include "startup.h"
#include "storage.h"
#include "tap.h"
#include "vm_state.h"

struct supervisor;

/* restart = snapshot (snapshot.c): where this incarnation is in the save/restore path */
enum snap_phase {
	SNAP_IDLE,     /* cold boot, ready line not seen yet (or restore: QMP not up yet) */
	SNAP_SAVING,   /* guest stopped, migration stream going to NAME.snap */
	SNAP_LOADING,  /* QEMU -incoming: migrate-incoming from NAME.snap sent */
	SNAP_PLUGGING, /* guest runs; channel devices being hot-plugged */
	SNAP_DONE,     /* channels plugged: the VM is RUNNING */
};

#define VM_MAX_CONSOLES 4
#define VM_ARGV_MAX	512

struct vm {
	const struct cfg_vm *cfg;
	struct supervisor *sup;
	enum vm_state state; /* changed by vm__event (vm_state.c) only */
	pid_t pid;
	int pidfd;
	int con_fd;	    /* our end of QEMU's serial port */
	int log_fd;	    /* NAME.log, append */
	uint64_t log_bytes; /* its size: at VM_LOG_MAX_BYTES it becomes NAME.log.1 */
	struct qmp qmp;
	char qmp_path[108];
	char pid_path[256];
	char log_path[256];
	char qemu_log_path[256];
	char chan_path[256];
	uint64_t started_ms;	  /* this incarnation */
	uint64_t up_since_ms;	  /* uptime: QEMU start, or a spare's takeover */
	uint64_t ready_ms;	  /* 0 until the ready line */
	unsigned restarts;	  /* total, since `ddvm up` */
	unsigned failures_in_row; /* reset after a healthy minute */
	/* Failures whose only evidence was its sole client's region (a request stall the
	 * client can forge): restarted with back-off like the others, never counted
	 * toward restart_max, so a client cannot make the supervisor give its own
	 * channels up for good (health.c). Reset with failures_in_row. */
	unsigned claimed_in_row;
	int failing_on_claim; /* the failure being handled is such a one */
	/* Starts the host could not make (no space in the run dir, no memory, no file
	 * descriptors: vm__start failed before QEMU ran): retried with back-off for as
	 * long as it lasts, never counted toward restart_max nor taken for a QEMU that
	 * refuses the setup (health.c). Reset with failures_in_row. */
	unsigned host_failed_in_row;
	int failing_on_host;
	uint64_t restart_at_ms;
	int stopping_for_failure; /* we SIGKILLed it because it failed */
	uint64_t kill_at_ms;	  /* vm__kill's QMP stop is out: SIGKILL by then (0: none) */
	uint64_t kill_stop_ms;	  /* when that stop was sent */
	/* QMP SHUTDOWN from the guest itself ("guest-reset", "guest-shutdown"): QEMU
	 * runs with -no-reboot, so a reboot and a poweroff both end it with status 0 */
	enum { VM_GUEST_NONE, VM_GUEST_REBOOT, VM_GUEST_POWEROFF } guest_exit;
	int want_restart; /* `ddvm restart`: come back without counting a failure */
	char last_failure[512];
	/* recovery bookkeeping (monotonic ms; 0 = none) */
	uint64_t fail_ms;	    /* failure detected; cleared when service is restored */
	uint64_t outage_running_ms; /* first look at it RUNNING in the outage of fail_ms */
	int planned;		    /* fail_ms is not a failure: VM_PLANNED_* */
	uint64_t inject_ms;	    /* `ddvm inject` sent; cleared at the next failure */
	char inject_kind[32];
	/* a fault typed into the guest's console shell, until the shell answered
	 * (inject.c): who asked (NULL once it hung up), the line's number, what was
	 * seen of the answer, when to stop waiting */
	struct control_conn *inject_conn;
	unsigned inject_seq;
	enum { INJECT_IDLE, INJECT_TYPED, INJECT_WRITING } inject_wait;
	uint64_t inject_deadline_ms;
	int epoch_bumped;      /* its channels already got the new epoch at its death */
	int taps_set;	       /* tap__setup done for this incarnation */
	uint64_t tap_retry_ms; /* ... else not tried again before this */
	/* each tap NIC's interface index once set up (by device index; 0: not yet): one
	 * deleted or replaced under the running VM is seen (tap__watch) */
	int tap_ifindex[CFG_MAX_DEVICES];
	/* restart = snapshot (snapshot.c) */
	char snap_path[256]; /* RUNDIR/NAME.snap */
	int snap_valid;	     /* snap_path holds a snapshot we took in this run */
	int snap_disabled;   /* saving or restoring failed for good: cold boots only */
	unsigned snap_restore_failures;
	int restoring;		/* this incarnation started with -incoming defer */
	int snap_ready_pending; /* ready line seen before QMP was connected */
	enum snap_phase snap_phase;
	unsigned snap_plugs;	   /* channel hot-plugs not answered yet */
	uint64_t snap_phase_ms;	   /* when the current phase began */
	uint64_t snap_restored_ms; /* restore: when the guest ran again */
	int ram_fd;		   /* a cold boot's RAM: memfd, QEMU maps it shared (fd 3) */
	int retiring;		   /* a spare struct holding an upgraded VM's old QEMU */
	long long pss_kib;	   /* last smaps_rollup Pss of this incarnation, -1: none */
	uint64_t pss_ms;	   /* when it was read */
	int snap_ram_fd;	   /* the RAM the snapshot goes with: sealed memfd, -1 */
	/* spare = yes (spare.c) */
	struct vm *spare;	      /* the active's warm spare, or NULL */
	struct vm *spare_of;	      /* this struct is the warm spare of that VM */
	enum spare_phase spare_phase; /* of a spare */
	uint64_t spare_phase_ms;      /* when it entered it */
	unsigned spare_standby;	      /* "ddvm: standby" lines of this incarnation */
	unsigned spare_fails_in_row;  /* spare QEMUs that died before they were ready */
	uint64_t spare_at_ms;	      /* start the next spare not before this */
	unsigned failovers;	      /* of the active: times a spare took over */
	uint64_t failover_ms;	      /* of the active: the last one (0: none) */
	struct vm_upgrade upgrade;    /* of the active: `ddvm upgrade` (spare.h) */
	int retired_ram_fd;	      /* the old image's snapshot RAM: closed once served */
	const struct vm_image *image; /* boot this, not cfg's kernel/initrd/append */
	int upgrade_restore;	      /* an upgrade's spare: its cold boot saved, it is
					 stopped (killed, then reaped) and restored from that
					 snapshot (spare.c) */
	/* spare = yes with backend = tap (tap.h): the supervisor's copies of this QEMU's
	 * tap queue fds (K-th tap NIC of the VM), -1 none; of the active only, the
	 * anchors that keep each tap for the whole run */
	int tap_fds[TAP_MAX_OWNED];
	int tap_anchors[TAP_MAX_OWNED];
	struct storage_vm storage;   /* host I/O errors (storage.c) */
	struct startup_vm startup;   /* start failures (startup.c) */
	struct cpu_wait_vm cpu_wait; /* its clock for health timeouts (cpu_wait.h) */
	char line[256];		     /* console line being assembled */
	char panic_line[160];	     /* this incarnation's "Kernel panic - not syncing" line */
	char prev_line[160];	     /* the console line before this one (the why of a failure) */
	unsigned load_failed_lines;  /* DDVM-LOAD-FAILED lines logged since QEMU started */
	size_t line_len;
	unsigned log_dsr;	       /* bytes of an ESC [ 6 n held back from the console log */
	int consoles[VM_MAX_CONSOLES]; /* attached `ddvm console` sockets */
};

/* vm->planned: what fail_ms (the outage's start) was, when not a failure */
#define VM_PLANNED_UPGRADE 1 /* an upgrade's handover (spare.c) */
#define VM_PLANNED_RESTART 2 /* `ddvm restart` */

/* restart = snapshot: the guest's RAM (a memfd) is this fd in QEMU (snapshot.h). */
#define VM_RAM_FD 3
/* virtio-balloon (balloon = yes): below the devices (0x04-0x0f) and channels (0x10-) */
#define VM_BALLOON_SLOT 0x03

/* argv for QEMU into ARGV (NULL-terminated), strings in STORE. Pure: no side effects. */
struct vm_argv {
	char *argv[VM_ARGV_MAX];
	unsigned argc;
	char store[65536];
	size_t used;
	int overflow;
};

void vm__init(struct vm *vm, struct supervisor *sup, const struct cfg_vm *cfg, const char *rundir);
/*
 * PATH as the value of a QEMU option (file=PATH,format=...): QEMU's option parser ends
 * a value at a comma and reads ",," as a comma, so a path with commas (an image
 * "a,b.img", a run dir "/run/x,y") had its rest taken for options. In BUF (LEN bytes:
 * twice the path's, plus one); the path itself when it has no comma.
 */
const char *vm__qemu_opt_path(const char *path, char *buf, size_t len);

int vm__build_argv(const struct vm *vm, const struct config *cfg, const char *accel,
		   const char *chan_dir, struct vm_argv *a);
/* Start QEMU; the VM is BOOTING afterwards. */
int vm__start(struct vm *vm);
/* Send SIG to QEMU (by pid, through the pidfd so a recycled pid is never hit). */
int vm__signal(struct vm *vm, int sig); /* 0, or -1 (errno) when it could not be sent */
/* If QEMU exited: reap it, close everything of this run, return its wait status;
 * -EAGAIN while it still runs. Never blocks. */
int vm__reap(struct vm *vm);
/* Consume console output (log it, relay it, spot the ready line). -EPIPE at EOF. */
int vm__console_read(struct vm *vm, uint64_t now_ms);
/* A line in VM's console log between two QEMUs' output: "----- ddvm: NAME: WHAT (pid
 * N) at TIME -----" (a start, a warm spare's takeover). */
void vm__log_separator(struct vm *vm, const char *what);
/*
 * NAME.qemu.log (QEMU's stderr, appended to by every start) past VM_QEMU_LOG_MAX_BYTES:
 * copied to NAME.qemu.log.1 and emptied in place; QEMU holds it open (O_APPEND), so it
 * cannot be renamed away, and its next line lands at the new start. What QEMU writes
 * during the copy can be lost. QEMU's nvme prints a line per failed request: a client
 * writing to a full disk without end must not fill the run dir.
 */
void vm__qemu_log_cap(struct vm *vm);
/*
 * The console bytes IN[0..N) as the console log keeps them, into OUT (N + 3 bytes at
 * least): without the terminal's cursor-position query ESC [ 6 n, which busybox's
 * shell sends at each prompt to size its line editor. An attached console gets it and
 * answers; printed by `ddvm logs`, it made the user's terminal type the answer
 * ("^[[24;1R") into the user's shell. *HELD carries a query's first bytes from one call
 * to the next (0 at the start). Returns the bytes in OUT.
 */
size_t vm__log_filter(unsigned *held, const char *in, size_t n, char *out);
/* Write bytes typed at `ddvm console` into the serial port. */
void vm__console_write(struct vm *vm, const char *buf, size_t len);
int vm__console_attach(struct vm *vm, int fd);
void vm__console_detach(struct vm *vm, int fd);
int vm__alive(const struct vm *vm);
/* A QEMU process and what belongs to it, while it moves between structs. */
struct vm_proc {
	pid_t pid;
	int pidfd, con_fd;
	struct qmp qmp;
	uint64_t started_ms;
	int tap_fds[TAP_MAX_OWNED];
};
/* Take VM's process out of it (VM has none afterwards; its files stay). */
void vm__detach_process(struct vm *vm, struct vm_proc *p);
/* Give VM (which has none) the process P. */
void vm__attach_process(struct vm *vm, const struct vm_proc *p);
/* Failover: DST (reaped) takes over SRC's running QEMU (pid, pidfd, console, QMP and
 * the restore's bookkeeping); SRC's pid file and QMP socket are renamed to DST's.
 * SRC has no process afterwards. */
void vm__take_process(struct vm *dst, struct vm *src);
/* QEMU's proportional set size in KiB (/proc/PID/smaps_rollup: shared pages divided
 * among their mappers), read at most once per VM_PSS_MAX_AGE_MS; null when not running. */
#define VM_PSS_MAX_AGE_MS 2000

/* A console log that reaches this size is renamed NAME.log.1 (replacing the one
 * before) and a new NAME.log begins: a guest that prints without end (a client VM's
 * kernel is the client's) cannot fill RUNDIR, which is memory under /run. */
#define VM_LOG_MAX_BYTES (16u << 20)
/* NAME.qemu.log at this size is copied to NAME.qemu.log.1 and emptied (vm__qemu_log_cap) */
#define VM_QEMU_LOG_MAX_BYTES (4u << 20)
/* a guest's DDVM-LOAD-FAILED lines logged per QEMU start (a guest can print any) */
#define VM_LOAD_FAILED_MAX 8
json_t *vm__pss_kib(struct vm *vm, uint64_t now_ms);

/*
 * End VM's QEMU for a failure or a restart (vm_kill.c): SIGKILL, at once — or, when
 * one of its disks is a qcow2 image, after QMP `stop` has drained and flushed its disks
 * (QEMU's qcow2 driver holds the metadata of new clusters until a flush: a kill
 * without one loses acknowledged writes). The SIGKILL then follows the answer
 * (vm__kill_qmp) or VM_KILL_FLUSH_WAIT_MS (vm__kill_tick, which returns the ms until it
 * wants to run again).
 */
#define VM_KILL_FLUSH_WAIT_MS 5000
void vm__kill(struct vm *vm, uint64_t now_ms);
void vm__kill_qmp(struct vm *vm, const char *event, json_t *data, uint64_t now_ms);
int vm__kill_tick(struct vm *vm, uint64_t now_ms);

#endif /* DDVM_VM_H */
