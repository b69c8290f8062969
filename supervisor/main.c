/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ddvm: the command. `ddvm up` runs the supervisor (supervisor.c); every other
 * subcommand talks to a running supervisor over RUNDIR/ddvm.sock, or reads its files.
 */
#include "accel.h"
#include "log.h"
#include "supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

/* Exit codes (also in `ddvm --help`). */
#define EX_OK	      0
#define EX_FAIL	      1 /* something did not work; the message says what */
#define EX_USAGE      2 /* bad command line */
#define EX_CONFIG     3 /* the setup file is wrong */
#define EX_NOTRUNNING 4 /* no supervisor runs in the run dir */
#define EX_NOVM	      5 /* no such VM */
#define EX_BUSY	      6 /* a supervisor already runs in the run dir */

static char rundir[CFG_PATH_MAX];
static int rundir_option; /* --rundir was given (it sets DDVM_RUNDIR for our children) */

static const char main_help[] =
    "usage: ddvm [--rundir DIR] COMMAND [ARGS]\n"
    "\n"
    "Run unmodified Linux device drivers in driver VMs and serve their devices to\n"
    "client VMs and host processes over shared-memory channels.\n"
    "\n"
    "commands:\n"
    "  up CONFIG [-d]    start the setup described by CONFIG (foreground; -d detaches)\n"
    "  check CONFIG      check CONFIG and the host as 'up' would, starting nothing\n"
    "  status [--json]   VMs, their state, uptime and restarts; channels and counters\n"
    "  down              stop everything and remove what ddvm created\n"
    "  restart VM        stop VM and start it again (restart = snapshot: restored; spare =\n"
    "                    yes: the spare takes over); a driver VM's clients see a new epoch\n"
    "  upgrade VM [--kernel F] [--initrd F] [--append S]   replace driver VM by one\n"
    "                    booted from a new image, without an outage (spare = yes)\n"
    "  logs VM [-f]      print VM's console log (-f: keep following it)\n"
    "  console VM        attach to VM's serial console (leave with Ctrl-])\n"
    "  inject VM KIND [DEVICE|-] [ARG]   inject a fault into VM (fault campaigns)\n"
    "  accel KERNEL      print the accelerator 'up' would use (kvm or tcg)\n"
    "  libvirt-xml CONFIG CLIENT   libvirt <shmem> devices for CLIENT's channels\n"
    "  qemu-args CONFIG CLIENT     QEMU options for CLIENT's channels (a VM of yours)\n"
    "\n"
    "'ddvm COMMAND --help' explains each. Run dir: --rundir, else $DDVM_RUNDIR, else\n"
    "(up, libvirt-xml, qemu-args) the setup file's [ddvm] rundir, else /run/ddvm (root),\n"
    "$XDG_RUNTIME_DIR/ddvm or /tmp/ddvm-UID. The other commands do not read the setup\n"
    "file: give them the same --rundir or DDVM_RUNDIR.\n"
    "\n"
    "environment: DDVM_ACCEL=kvm|tcg (default: kvm if /dev/kvm boots the guest kernel;\n"
    "  the answer is cached in $DDVM_ACCEL_CACHE, else\n"
    "  ${XDG_CACHE_HOME:-~/.cache}/ddvm/accel),\n"
    "  DDVM_QEMU (QEMU binary), DDVM_CACHE_DIR (cached QEMU answers), DDVM_DEBUG=1 (verbose\n"
    "  log)\n"
    "\n"
    "exit codes: 0 ok, 1 failed, 2 usage, 3 bad setup file, 4 no supervisor running,\n"
    "  5 no such VM, 6 a supervisor already runs in the run dir\n";

static const char check_help[] =
    "usage: ddvm check CONFIG\n"
    "\n"
    "Read CONFIG as 'ddvm up' does and check it and the host (kernel, initrds, disk\n"
    "images, run scripts, bridges, QEMU and its device models) without starting\n"
    "anything. Every problem is one line, FILE:LINE: what is wrong; what to do.\n"
    "\n"
    "exit codes: 0 'ddvm up' would start it (a summary on stdout), 2 usage, 3 problems\n"
    "  (on stderr). What only a start can find (a QEMU that refuses an image it can\n"
    "  read, a guest that does not boot) 'ddvm up' reports.\n";

static const char accel_help[] =
    "usage: ddvm accel KERNEL\n"
    "\n"
    "Print the accelerator 'ddvm up' uses: kvm when /dev/kvm opens, speaks KVM API 12,\n"
    "creates a VM and boots KERNEL (a guest kernel) to its panic=-1 panic within 12 s,\n"
    "else tcg. DDVM_ACCEL=kvm|tcg overrides; the answer is cached in $DDVM_ACCEL_CACHE,\n"
    "else ${XDG_CACHE_HOME:-~/.cache}/ddvm/accel (delete it to probe again).\n";

static const char libvirt_xml_help[] =
    "usage: ddvm libvirt-xml CONFIG CLIENT\n"
    "\n"
    "Print, for each channel of CLIENT in CONFIG, a libvirt domain <shmem> device: model\n"
    "ivshmem-doorbell, its server the channel's client socket in the run dir 'ddvm up\n"
    "CONFIG' uses (RUNDIR/channels/DEVICE.CLIENT.client.sock), as many MSI-X vectors as\n"
    "the channel needs. Paste them into <devices> of the domain ('virsh edit'). CLIENT\n"
    "is a [client-vm CLIENT] with 'external = yes': the supervisor serves its channels\n"
    "and leaves the VM to libvirt. The VM needs the client drivers (the ddvm-dkms\n"
    "package, 'make deb'); they load when the devices appear. See docs/clients.md.\n";

static const char qemu_args_help[] =
    "usage: ddvm qemu-args CONFIG CLIENT\n"
    "\n"
    "Print, for each channel of CLIENT in CONFIG, the QEMU options that give a VM of\n"
    "your own that channel: a -chardev socket on the channel's client socket in the run\n"
    "dir 'ddvm up CONFIG' uses (RUNDIR/channels/DEVICE.CLIENT.client.sock) and an\n"
    "ivshmem-doorbell device with the channel's MSI-X vectors, one option a line (in a\n"
    "shell: qemu-system-x86_64 ... $(ddvm qemu-args CONFIG CLIENT)). CLIENT is a\n"
    "[client-vm CLIENT] with 'external = yes'. The VM needs the client drivers: ddvm's\n"
    "client image loads them when it finds ivshmem devices; any other Linux, the\n"
    "ddvm-dkms package ('make deb'). See docs/clients.md, 'A QEMU VM of your own'.\n";

static const char up_help[] =
    "usage: ddvm up CONFIG [-d|--detach]   (options in any order)\n"
    "\n"
    "Create a channel (shared memory + doorbells) for each device a client uses, boot\n"
    "every driver VM and client VM of CONFIG (an INI file; see examples/demo.ini), and\n"
    "supervise them: a driver VM that exits, panics, stops its heartbeat or stops\n"
    "completing requests is killed and restarted (with back-off; a failure after\n"
    "restart_max restarts in a row leaves it down), and its channels' epoch is bumped so\n"
    "that clients re-attach.\n"
    "\n"
    "Runs in the foreground and logs there; Ctrl-C (SIGINT), SIGTERM or a hang-up of\n"
    "its terminal (SIGHUP) tears everything down. -d detaches once every VM is ready\n"
    "(log: RUNDIR/ddvm.log; a SIGHUP is ignored there) and exits 0; it exits 1 as soon\n"
    "as a VM failed for good (a QEMU that refuses to start, with QEMU's own words; the\n"
    "supervisor stays up for 'ddvm status', 'ddvm restart', 'ddvm down').\n"
    "\n"
    "A start that fails before the guest booted is retried once; the same failure twice\n"
    "and the VM is given up on (state gave-up, the reason in 'ddvm status').\n"
    "\n"
    "RUNDIR: 'ddvm --rundir DIR up CONFIG' (before the command), else $DDVM_RUNDIR, else\n"
    "CONFIG's [ddvm] rundir, else /run/ddvm (root), $XDG_RUNTIME_DIR/ddvm or\n"
    "/tmp/ddvm-UID. Several setups run side by side in different run dirs; give the\n"
    "other commands the same --rundir or DDVM_RUNDIR.\n"
    "\n"
    "Files in RUNDIR: ddvm.sock (control), ddvm.pid, ddvm.log (-d), VM.log (console),\n"
    "VM.qemu.log, VM.pid, VM.qmp, VM.channels, channels/CHANNEL.{driver,client,host}.sock\n"
    "(ivshmem servers; a host client connects to CHANNEL.client.sock). Each log at\n"
    "16 MiB (VM.qemu.log: 4 MiB) moves to LOG.1, replacing the one before.\n"
    "\n"
    "exit codes: 0 ok (foreground: stopped cleanly), 1 failed, 2 usage, 3 bad setup\n"
    "  file (nothing started), 6 a supervisor already runs in the run dir, 130 -d\n"
    "  interrupted while it waited (the supervisor goes on; 'ddvm down' stops it)\n";

static const char status_help[] =
    "usage: ddvm status [--json]\n"
    "\n"
    "One line per VM: role, state (stopped, booting, running, stopping, failed, gave-up;\n"
    "external for a client VM that ddvm serves but does not run), uptime\n"
    "of the current incarnation, restarts since 'up', QEMU pid, devices; below it the\n"
    "last failure (for a start that failed: QEMU's own words) and each disk's host I/O\n"
    "errors. Then one line per channel: epoch (bumped at each driver VM restart),\n"
    "whether each side's ivshmem peer is connected, backend/frontend state, HEALTH (the\n"
    "driver VM's health-doorbell beats), descriptors each side produced, protocol\n"
    "errors the sides reported, RESETS (sessions the supervisor started for this channel\n"
    "alone); below it the translation module's counters (bytes by path, doorbells,\n"
    "polls, frames dropped as spoofed; display only) and why a channel is not ready\n"
    "when it should be.\n"
    "\n"
    "--json: the same as one JSON object with stable field names (docs/supervisor.md):\n"
    "  {pid, rundir, accel, \"vms\": [{name, role, state, uptime_ms, restarts, pid,\n"
    "  pss_kib, devices, last_failure, disks, external, spare, upgrade}], \"channels\":\n"
    "  [{name, kind,\n"
    "  device, client, mac, antispoof, epoch, driver_up, client_up, backend_state,\n"
    "  frontend_state, backend_epoch, frontend_epoch, health, requests, responses,\n"
    "  errors, claim_resets, problem, counters, queues}]}\n"
    "  counters: the translation module's, or null (docs/supervisor.md); mac and\n"
    "  antispoof (net): the client's MAC and what it may send as its own\n"
    "\n"
    "exit codes: 0 ok, 1 not this user's run dir (permission denied), 4 no supervisor\n"
    "  running (or it is stopping)\n";

static const char down_help[] =
    "usage: ddvm down\n"
    "\n"
    "Stop every VM (SIGTERM, then SIGKILL after 5 s), close every channel, remove every\n"
    "socket, pid file and shared memory region ddvm created; tap devices QEMU created\n"
    "vanish with it. Console logs stay. Waits until the supervisor has exited.\n";

static const char restart_help[] =
    "usage: ddvm restart VM\n"
    "\n"
    "Kill VM and boot it again, like a failure but without back-off; also revives a VM\n"
    "that was given up on. For a driver VM, every channel it serves gets a new epoch.\n"
    "Waits until the VM is ready again.\n";

static const char upgrade_help[] =
    "usage: ddvm upgrade VM [--kernel FILE] [--initrd FILE] [--append ARGS]\n"
    "\n"
    "Replace the running driver VM VM by one booted from another kernel, initramfs\n"
    "(driver and module set) or kernel command line, while its clients keep going: the\n"
    "new image boots as VM's warm spare (so VM needs spare = yes), takes a snapshot,\n"
    "attaches its channels on standby, then takes over as after a failure; clients see\n"
    "the failover's gap (milliseconds), not a reboot. What is not given stays as it is.\n"
    "The new image is VM's from then on (later restarts and spares use it; the setup\n"
    "file is not changed). If the new image does not reach standby (it does not boot, a\n"
    "channel does not attach), the upgrade fails and VM goes on with the old one.\n"
    "Waits until the new image serves (exit 0) or the upgrade failed (exit 1).\n"
    "Progress: 'ddvm status' (upgrade: waiting, booting, handover, done, failed).\n";

static const char logs_help[] =
    "usage: ddvm logs VM [-f|--follow]\n"
    "\n"
    "Print VM's console log (all incarnations). -f keeps printing what is added,\n"
    "until interrupted. QEMU's own messages are in RUNDIR/VM.qemu.log. A run dir\n"
    "keeps the logs of earlier setups: a VM not in the running one gets a note.\n";

static const char console_help[] =
    "usage: ddvm console VM [--linger SECONDS]\n"
    "\n"
    "Attach the terminal to VM's serial console. Ctrl-] detaches; the VM keeps running.\n"
    "Input that is not a terminal (a pipe, a file) is typed in as it is; when it ends,\n"
    "what the console prints is still shown until it has been quiet for SECONDS\n"
    "(default 1, at most 60; 0 leaves at once), and SECONDS + 10 s at the most:\n"
    "  echo 'uname -r' | ddvm console drv\n";

static const char inject_help[] =
    "usage: ddvm inject VM KIND [DEVICE|-] [ARG]\n"
    "\n"
    "Inject a fault into VM (a driver VM; kill and stop also into a client VM), for\n"
    "testing recovery. The supervisor logs the injection, then how long detection\n"
    "took ('FAILED: ... (detected N ms after injecting KIND)') and how long until\n"
    "service was back ('service restored N ms after the failure was detected').\n"
    "\n"
    "from outside the guest (no DEVICE or ARG):\n"
    "  kill         SIGKILL the VM's QEMU (answered once the supervisor saw it die)\n"
    "  stop         freeze every vCPU (QMP stop): a hang only the heartbeat reveals\n"
    "into the unmodified driver of DEVICE (default: the VM's first device), through\n"
    "ddvm_faultinj.ko, which the driver VM must have loaded ('append =\n"
    "ddvm.load=ddvm_faultinj' in its section, or modprobe in its run script); typed into\n"
    "its console's shell, answered when the guest says what became of it (a fault\n"
    "that never returns, such as panic or hang: 2 s after the module took it):\n"
    "  panic        kernel panic\n"
    "  oops         NULL dereference in the driver's hot path (kprobe; ARG = symbol)\n"
    "  hang         interrupts off, spin forever\n"
    "  softirq      a tasklet that never returns\n"
    "  wqhang       a work item that never sleeps (work queued behind it stalls)\n"
    "  codeflip     flip ARG (1) random bits of the driver module's code\n"
    "  datacorrupt  flip ARG (8) random bits of the driver's private structure\n"
    "  garbage      ARG (16) random words into the channel's rings\n"
    "\n"
    "exit codes: 0 injected, 1 refused or not injected (the message says why: VM not\n"
    "  running, an unknown DEVICE, ddvm_faultinj not loaded or refusing, no answer\n"
    "  from the guest), 2 usage (an unknown KIND), 4 no supervisor, 5 no such VM\n";

/* A global option given after the command (`ddvm up X.ini --rundir D`): getopt said
 * "unrecognized option"; say where it goes. */
static void global_option_hint(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--rundir") || !strncmp(argv[i], "--rundir=", 9)) {
			fprintf(stderr,
				"ddvm: --rundir goes before the command: ddvm --rundir DIR "
				"%s ...\n",
				argv[0]);
			return;
		}
}

static int wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return 1;
	return 0;
}

/* Connect to the supervisor; send CMD; return the socket (first line not yet read).
 * QUIET: no word when none runs (the caller goes on without it). */
/* control_open's answer when the run dir or its socket is not ours to use */
#define CONTROL_DENIED (-2)
/* The exit code of a command that could not reach the supervisor (FD < 0). */
static int control_exit(int fd)
{
	return fd == CONTROL_DENIED ? EX_FAIL : EX_NOTRUNNING;
}

static int control_open(const char *cmd, int quiet)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/ddvm.sock", rundir) >=
	    sizeof(sun.sun_path)) {
		fprintf(stderr, "ddvm: run dir path %s is too long for a socket\n", rundir);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int err = errno;
		struct stat st;

		if (fd >= 0)
			close(fd);
		/* a run dir of root's (mode 0700, /run/ddvm) is no "nothing runs here" */
		if (err == EACCES || err == EPERM) {
			char owner[48] = "";

			if (!stat(rundir, &st)) {
				const struct passwd *pw = getpwuid(st.st_uid);

				if (pw)
					snprintf(owner, sizeof(owner), " (the run dir is %.24s's)",
						 pw->pw_name);
				else
					snprintf(owner, sizeof(owner), " (the run dir is uid %u's)",
						 (unsigned)st.st_uid);
			}
			if (!quiet)
				fprintf(
				    stderr,
				    "ddvm: permission denied: the supervisor's socket in %s is "
				    "not this user's to use%s; run ddvm as that user (sudo ddvm "
				    "... for root's)\n",
				    rundir, owner);
			return CONTROL_DENIED;
		}
		if (!quiet)
			fprintf(stderr,
				"ddvm: no supervisor running in %s (start one with 'ddvm up "
				"CONFIG', or set --rundir / DDVM_RUNDIR)\n",
				rundir);
		return -1;
	}
	if (dprintf(fd, "%s\n", cmd) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int control_connect(const char *cmd)
{
	return control_open(cmd, 0);
}

/* Read the "OK"/"ERR ..." line byte by byte (the rest may be a console stream). */
static int control_status_line(int fd, char *line, size_t len)
{
	size_t n = 0;
	char c;

	while (n < len - 1 && read(fd, &c, 1) == 1 && c != '\n')
		line[n++] = c;
	line[n] = 0;
	if (!strncmp(line, "OK", 2))
		return 0;
	if (!strncmp(line, "ERR ", 4))
		fprintf(stderr, "ddvm: %s\n", line + 4);
	else
		fprintf(stderr, "ddvm: the supervisor closed the connection without an answer "
				"(it is stopping, or it died)\n");
	return -1;
}

static int control_simple(const char *cmd);

/* control_simple(PREFIX CMD), for a command line longer than a stack buffer. */
static int control_simple_prefixed(const char *prefix, const char *cmd)
{
	char *line = NULL;
	int ret;

	if (asprintf(&line, "%s%s", prefix, cmd) < 0)
		return EX_FAIL;
	ret = control_simple(line);
	free(line);
	return ret;
}

/* Run CMD and copy its payload to stdout. */
static int control_simple(const char *cmd)
{
	char line[1024], buf[4096];
	ssize_t n;
	int fd = control_connect(cmd);

	if (fd < 0)
		return control_exit(fd);
	if (control_status_line(fd, line, sizeof(line))) {
		close(fd);
		/* no answer at all: a supervisor in `ddvm down` takes no more commands, as
		 * none runs (scripts that poll status during a down see 4, not 1) */
		return !line[0] ? EX_NOTRUNNING : strstr(line, "no VM named") ? EX_NOVM : EX_FAIL;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, n, stdout);
	close(fd);
	return EX_OK;
}

/* Does a supervisor hold RUNDIR's lock (ddvm.pid, flock: supervisor.c)? */
static int supervisor_runs_in(const char *dir)
{
	char path[CFG_PATH_MAX + 16];
	int fd, busy;

	snprintf(path, sizeof(path), "%s/ddvm.pid", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW); /* not waiting on a FIFO */
	if (fd < 0)
		return 0;
	busy = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd);
	return busy;
}

/* The child's report on the ready pipe (`up -d`): one byte, then, after F (something
 * gave up) or E (did not start), the reasons as text until the pipe closes; B (busy)
 * and I (did not start), the reasons already on our stderr; D, stopped before it was
 * up (`ddvm down`, a signal). */
static volatile sig_atomic_t up_wait_interrupted;

static void up_wait_signal(int sig)
{
	(void)sig;
	up_wait_interrupted = 1;
}

/* "ddvm COMMAND" as the user types it to reach this run dir: with --rundir when a
 * plain command would look elsewhere (the run dir came from --rundir or the setup
 * file's [ddvm] rundir, not from DDVM_RUNDIR or the default). */
static const char *ddvm_cmd(const char *command, char *buf, size_t len)
{
	char plain[CFG_PATH_MAX];

	control_default_rundir(plain, sizeof(plain));
	if (!rundir_option && !strcmp(plain, rundir))
		snprintf(buf, len, "ddvm %s", command);
	else
		snprintf(buf, len, "ddvm --rundir %s %s", rundir, command);
	return buf;
}

static int up_wait_child(int fd)
{
	struct sigaction sa = { .sa_handler = up_wait_signal }; /* no SA_RESTART: read ends */
	char c = 0, why[2048], cmd[CFG_PATH_MAX + 64];
	ssize_t n;
	size_t len = 0;

	/* Ctrl-C while waiting: the supervisor is detached already (its own session) and
	 * goes on; say so rather than vanish, so nobody thinks it stopped */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (read(fd, &c, 1) != 1) {
		if (up_wait_interrupted) {
			fprintf(stderr,
				"\nddvm: no longer waiting; the supervisor goes on starting "
				"in the background: '%s' shows it, '",
				ddvm_cmd("status", cmd, sizeof(cmd)));
			fprintf(stderr, "%s' stops it\n", ddvm_cmd("down", cmd, sizeof(cmd)));
			return 128 + SIGINT;
		}
		c = 'E';
	}
	while (len < sizeof(why) - 1 && (n = read(fd, why + len, sizeof(why) - 1 - len)) > 0)
		len += n;
	why[len] = 0;
	switch (c) {
	case 'R':
		fprintf(stderr, "ddvm: up; see '%s'\n", ddvm_cmd("status", cmd, sizeof(cmd)));
		return EX_OK;
	case 'B': /* the child said so on our stderr */
		return EX_BUSY;
	case 'F':
		fprintf(
		    stderr,
		    "%sddvm: not up: a VM failed for good, or cannot start for now (above; "
		    "also in 'ddvm status'). The supervisor still runs: fix the cause and 'ddvm "
		    "restart VM', or 'ddvm down' (a fix in the setup file needs 'ddvm "
		    "down' and 'ddvm up': a restart keeps the setup loaded at up)\n",
		    why);
		return EX_FAIL;
	case 'D':
		fprintf(stderr,
			"ddvm: stopped before it was up ('ddvm down', or a signal); see "
			"%s/ddvm.log\n",
			rundir);
		return EX_FAIL;
	case 'I': /* the child said why on our stderr */
		fprintf(stderr, "ddvm: the supervisor did not start (above)\n");
		return EX_FAIL;
	default:
		fprintf(stderr, "%sddvm: the supervisor did not start; see %s/ddvm.log\n", why,
			rundir);
		return EX_FAIL;
	}
}

static int cmd_up(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "detach", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct config cfg;
	static struct supervisor sup;
	int detach = 0, opt, ret, pipefd[2] = { -1, -1 };
	const char *path;

	/* Options anywhere: `up CONFIG -d` and `up -d CONFIG` (GNU getopt permutes). */
	optind = 0;
	while ((opt = getopt_long(argc, argv, "dh", opts, NULL)) != -1) {
		if (opt == 'd') {
			detach = 1;
		} else if (opt == 'h') {
			fputs(up_help, stdout);
			return EX_OK;
		} else {
			global_option_hint(argc, argv);
			fputs(up_help, stderr);
			return EX_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "ddvm up: %s\n\n%s",
			optind == argc ? "which CONFIG?" : "one CONFIG only", up_help);
		return EX_USAGE;
	}
	path = argv[optind];
	/* both, so that one run names every problem: the file's and the host's */
	if ((config__load(&cfg, path) != 0) | (config__check_files(&cfg) != 0)) {
		fputs(cfg.errors, stderr);
		fprintf(stderr, "ddvm: %s: %d problem%s; nothing was started\n", path,
			cfg.nr_errors, cfg.nr_errors == 1 ? "" : "s");
		return EX_CONFIG;
	}
	if (cfg.rundir[0] && !getenv("DDVM_RUNDIR"))
		snprintf(rundir, sizeof(rundir), "%s", cfg.rundir);

	if (detach) {
		pid_t pid;

		/* Said before "starting in the background": the child's lock decides (two
		 * `up` at once), this only keeps the common case from promising first. */
		if (supervisor_runs_in(rundir)) {
			fprintf(stderr,
				"ddvm: a supervisor already runs in %s; 'ddvm down' it first, or "
				"run another in its own run dir (--rundir DIR or DDVM_RUNDIR)\n",
				rundir);
			return EX_BUSY;
		}
		if (pipe2(pipefd, O_CLOEXEC) < 0)
			return EX_FAIL;
		pid = fork();
		if (pid < 0)
			return EX_FAIL;
		if (pid > 0) {
			close(pipefd[1]);
			fprintf(stderr, "ddvm: starting in the background (log: %s/ddvm.log)...\n",
				rundir);
			return up_wait_child(pipefd[0]);
		}
		close(pipefd[0]);
		setsid();
	}
	ret = supervisor__init(&sup, &cfg, rundir);
	if (ret) {
		if (pipefd[1] >= 0 && write(pipefd[1], ret == -EALREADY ? "B" : "I", 1) < 0)
			return EX_FAIL;
		return ret == -EALREADY ? EX_BUSY : EX_FAIL;
	}
	if (detach) {
		char logpath[CFG_PATH_MAX + 16];
		int fd, nul = open("/dev/null", O_RDWR);

		snprintf(logpath, sizeof(logpath), "%s/ddvm.log", rundir);
		fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd >= 0 && nul >= 0) {
			dup2(nul, 0);
			dup2(fd, 1);
			dup2(fd, 2);
			log_set_rotation(logpath, SUP_LOG_MAX_BYTES);
		}
		sup.ready_fd = pipefd[1];
	} else {
		sup.progress = 1;
		sup.foreground = 1;
	}
	supervisor__up(&sup);
	return supervisor__run(&sup) ? EX_FAIL : EX_OK;
}

/* `ddvm check CONFIG`: what `ddvm up` checks before it starts anything. */
static int cmd_check(const char *path)
{
	static struct config cfg;
	unsigned i, drv = 0, cli = 0, host = 0;

	if ((config__load(&cfg, path) != 0) | (config__check_files(&cfg) != 0)) {
		fputs(cfg.errors, stderr);
		fprintf(stderr, "ddvm: %s: %d problem%s\n", path, cfg.nr_errors,
			cfg.nr_errors == 1 ? "" : "s");
		return EX_CONFIG;
	}
	for (i = 0; i < cfg.nr_vms; i++) {
		drv += cfg.vms[i].role == CFG_DRIVER_VM;
		cli += cfg.vms[i].role == CFG_CLIENT_VM;
		host += cfg.vms[i].role == CFG_HOST_CLIENT;
	}
	printf("%s: ok: %u driver VM%s, %u client VM%s, %u host client%s, %u channel%s\n", path,
	       drv, drv == 1 ? "" : "s", cli, cli == 1 ? "" : "s", host, host == 1 ? "" : "s",
	       cfg.nr_channels, cfg.nr_channels == 1 ? "" : "s");
	for (i = 0; i < cfg.nr_devices; i++) {
		unsigned j;

		for (j = 0; j < cfg.nr_channels && cfg.channels[j].dev != &cfg.devices[i]; j++)
			;
		if (j == cfg.nr_channels)
			printf("%s: note: device %s is used by no client (no devices = line names "
			       "it): its driver VM has it, nobody is served it\n",
			       path, cfg.devices[i].name);
	}
	return EX_OK;
}

/* Absolute: libvirt hands the path to a QEMU that runs elsewhere (another cwd). */
static void abs_rundir(char *buf, size_t len)
{
	char cwd[CFG_PATH_MAX];

	if (rundir[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		snprintf(buf, len, "%s", rundir);
	else
		snprintf(buf, len, "%s/%s", cwd, rundir);
}

/* "external clients in the setup: a, b" (or that it has none): what a wrong
 * libvirt-xml CLIENT could have been instead. */
static const char *external_clients(const struct config *cfg)
{
	static char buf[(CFG_MAX_VMS + CFG_MAX_HOST_CLIENTS) * (CFG_NAME_MAX + 2) + 64];
	size_t n = 0;
	unsigned i;

	for (i = 0; i < cfg->nr_vms; i++)
		if (cfg->vms[i].role == CFG_CLIENT_VM && cfg->vms[i].external && n < sizeof(buf))
			n += snprintf(
			    buf + n, sizeof(buf) - n, "%s%s",
			    n ? ", " : "external clients in the setup: ", cfg->vms[i].name);
	if (!n)
		snprintf(buf, sizeof(buf), "the setup has no external client");
	return buf;
}

/*
 * The external client VM CLIENT of the setup file PATH (libvirt-xml, qemu-args), its
 * channels' run dir in DIR; NULL with what is wrong said on stderr, *RC the exit code.
 */
static const struct cfg_vm *external_client(struct config *cfg_out, const char *path,
					    const char *client, char *dir, size_t dir_len, int *rc)
{
	struct config *cfg = cfg_out;
	const struct cfg_vm *cv = NULL;
	unsigned i;

	*rc = EX_OK;
	if (config__load(cfg, path)) {
		fputs(cfg->errors, stderr);
		fprintf(stderr, "ddvm: %s: %d problem%s\n", path, cfg->nr_errors,
			cfg->nr_errors == 1 ? "" : "s");
		*rc = EX_CONFIG;
		return NULL;
	}
	for (i = 0; i < cfg->nr_vms; i++)
		if (!strcmp(cfg->vms[i].name, client))
			cv = &cfg->vms[i];
	if (!cv) {
		fprintf(stderr,
			"ddvm: %s has no client '%s' ([client-vm %s] with external = yes); %s\n",
			path, client, client, external_clients(cfg));
		*rc = EX_NOVM;
		return NULL;
	}
	if (cv->role == CFG_DRIVER_VM) {
		fprintf(stderr,
			"ddvm: '%s' in %s is a [driver-vm]: it owns the devices; a VM of your "
			"own (libvirt, QEMU) is a [client-vm NAME] with external = yes that uses "
			"them; %s\n",
			client, path, external_clients(cfg));
		*rc = EX_NOVM;
		return NULL;
	}
	if (cv->role == CFG_HOST_CLIENT) {
		fprintf(stderr,
			"ddvm: '%s' is a [host-client]: its channels are for a process on this "
			"host (libddvm), not for a VM; for a VM of your own (libvirt, QEMU), make "
			"it [client-vm %s] with external = yes; %s\n",
			client, client, external_clients(cfg));
		*rc = EX_NOVM;
		return NULL;
	}
	if (!cv->external)
		fprintf(stderr,
			"ddvm: warning: [client-vm %s] is not 'external = yes': 'ddvm up' starts "
			"a VM of its own on these channels; %s\n",
			client, external_clients(cfg));
	if (cfg->rundir[0] && !getenv("DDVM_RUNDIR"))
		snprintf(rundir, sizeof(rundir), "%s", cfg->rundir);
	abs_rundir(dir, dir_len);
	return cv;
}

static int cmd_qemu_args(const char *path, const char *client)
{
	static struct config cfg;
	char dir[2 * CFG_PATH_MAX + 2];
	const struct cfg_vm *cv;
	unsigned i;
	int rc;

	cv = external_client(&cfg, path, client, dir, sizeof(dir), &rc);
	if (!cv)
		return rc;
	for (i = 0; i < cfg.nr_channels; i++) {
		const struct cfg_channel *c = &cfg.channels[i];
		char sock[sizeof(dir) + CFG_NAME_MAX + 32], esc[2 * sizeof(sock) + 1];

		if (c->client != cv)
			continue;
		snprintf(sock, sizeof(sock), "%s/channels/%s.client.sock", dir, c->name);
		/* one word a line: $(...) in a shell splits them, paths have no blanks */
		printf("-chardev\nsocket,id=ddvm-%s,path=%s\n"
		       "-device\nivshmem-doorbell,chardev=ddvm-%s,vectors=%u,ioeventfd=on\n",
		       c->name, vm__qemu_opt_path(sock, esc, sizeof(esc)), c->name,
		       DDVM_VECTOR_QUEUE(c->dev->queues));
	}
	return EX_OK;
}

static int cmd_libvirt_xml(const char *path, const char *client)
{
	static struct config cfg;
	const struct cfg_vm *cv;
	char dir[2 * CFG_PATH_MAX + 2];
	unsigned i;
	int rc;

	cv = external_client(&cfg, path, client, dir, sizeof(dir), &rc);
	if (!cv)
		return rc;
	printf("<!-- ddvm channels of client %s (%s); the domain's QEMU must be able to open\n"
	       "     these sockets (docs/clients.md): for a supervisor run by root, run QEMU\n"
	       "     as root by adding after </devices>:\n"
	       "     <seclabel type='static' model='dac' relabel='no'><label>+0:+0</label>"
	       "</seclabel> -->\n",
	       client, path);
	for (i = 0; i < cfg.nr_channels; i++) {
		const struct cfg_channel *c = &cfg.channels[i];

		if (c->client != cv)
			continue;
		printf("<shmem name='ddvm-%s'>\n"
		       "  <model type='ivshmem-doorbell'/>\n"
		       "  <server path='%s/channels/%s.client.sock'/>\n"
		       "  <msi vectors='%u' ioeventfd='on'/>\n"
		       "</shmem>\n",
		       c->name, dir, c->name, DDVM_VECTOR_QUEUE(c->dev->queues));
	}
	return EX_OK;
}

static int cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int json = 0, opt;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		if (opt == 'j') {
			json = 1;
		} else if (opt == 'h') {
			fputs(status_help, stdout);
			return EX_OK;
		} else {
			global_option_hint(argc, argv);
			fputs(status_help, stderr);
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		fputs(status_help, stderr);
		return EX_USAGE;
	}
	return control_simple(json ? "status json" : "status");
}

/* Before `ddvm down`: an external client (libvirt's VM) connected to its channels
 * cannot reconnect to the next supervisor's (an ivshmem device keeps its server), so
 * its devices stay dead until the VM is power-cycled. Say so, per VM, from `status
 * --json` while the supervisor still answers; nothing when it does not. */
static void warn_external_clients(void)
{
	char line[1024], chans[CFG_MAX_USES * (2 * CFG_NAME_MAX + 3)];
	int fd = control_open("status json", 1);
	json_t *st = NULL, *v, *c;
	size_t i, j, n;

	if (fd < 0)
		return;
	if (!control_status_line(fd, line, sizeof(line)))
		st = json_loadfd(fd, 0, NULL);
	close(fd);
	json_array_foreach(json_object_get(st, "vms"), i, v)
	{
		const char *vm = json_string_value(json_object_get(v, "name"));

		if (!vm || !json_is_true(json_object_get(v, "external")))
			continue;
		n = 0;
		json_array_foreach(json_object_get(st, "channels"), j, c)
		{
			const char *name = json_string_value(json_object_get(c, "name"));
			const char *client = json_string_value(json_object_get(c, "client"));

			if (name && client && !strcmp(client, vm) &&
			    json_is_true(json_object_get(c, "client_up")) && n < sizeof(chans))
				n += snprintf(chans + n, sizeof(chans) - n, "%s%s", n ? ", " : "",
					      name);
		}
		if (n)
			fprintf(stderr,
				"ddvm: warning: external client %s is connected (channels %s); its "
				"devices stop working now and need a power cycle of the VM "
				"(virsh destroy %s; virsh start %s) after the next 'ddvm up' "
				"(docs/clients.md)\n",
				vm, chans, vm, vm);
	}
	json_decref(st);
}

static int cmd_down(void)
{
	char pidpath[CFG_PATH_MAX + 16];
	int pidfd = -1, ret;
	FILE *f;
	int pid = 0;

	/* Hold the supervisor by a pidfd first: "down" returns once it has exited. */
	snprintf(pidpath, sizeof(pidpath), "%s/ddvm.pid", rundir);
	f = fopen(pidpath, "re");
	if (f) {
		if (fscanf(f, "%d", &pid) == 1 && pid > 0)
			pidfd = syscall(SYS_pidfd_open, pid, 0);
		fclose(f);
	}
	warn_external_clients();
	ret = control_simple("down");
	if (ret) {
		if (pidfd >= 0)
			close(pidfd);
		return ret;
	}
	if (pidfd >= 0) {
		struct pollfd p = { .fd = pidfd, .events = POLLIN };

		if (isatty(2))
			fprintf(stderr, "ddvm: stopping...\n");
		if (poll(&p, 1, 60000) != 1) {
			fprintf(stderr,
				"ddvm: the supervisor (pid %d) is still running after 60 s\n", pid);
			close(pidfd);
			return EX_FAIL;
		}
		close(pidfd);
	}
	fprintf(stderr, "ddvm: down\n");
	return EX_OK;
}

/* State of VM from `status`, or "" if not found. */
/* VM's state in the running setup's `status` ("" if none); its role too if ROLE. */
static void vm_state_role(const char *vm, char *state, size_t len, char *role, size_t rlen)
{
	char line[512], name[64], ro[32], st[32];
	FILE *f;
	int fd = control_open("status", 1); /* what it is for says why, if it must */

	state[0] = 0;
	if (role)
		role[0] = 0;
	if (fd < 0)
		return;
	f = fdopen(fd, "r");
	while (f && fgets(line, sizeof(line), f)) {
		st[0] = 0; /* a line of two words has no state */
		if (sscanf(line, "%63s %31s %31s", name, ro, st) < 2 || strcmp(name, vm))
			continue;
		snprintf(state, len, "%s", st);
		if (role)
			snprintf(role, rlen, "%s", ro);
	}
	if (f)
		fclose(f);
}

static void vm_state(const char *vm, char *state, size_t len)
{
	vm_state_role(vm, state, len, NULL, 0);
}

static int cmd_restart(const char *vm)
{
	char cmd[128], state[32];
	int ret, i;

	snprintf(cmd, sizeof(cmd), "restart %s", vm);
	ret = control_simple(cmd);
	if (ret)
		return ret;
	/* Progress while it boots again (event: the supervisor saw the ready line). */
	for (i = 0; i < 6000; i++) {
		vm_state(vm, state, sizeof(state));
		if (i > 0 && !strcmp(state, "running")) {
			if (isatty(2))
				fputc('\n', stderr);
			fprintf(stderr, "ddvm: %s is running again\n", vm);
			return EX_OK;
		}
		if (!strcmp(state, "gave-up") || !state[0]) {
			fprintf(stderr, "\nddvm: %s did not come back (%s); see 'ddvm status'\n",
				vm, state[0] ? state : "supervisor gone");
			return EX_FAIL;
		}
		if (isatty(2) && i % 5 == 0)
			fprintf(stderr, "\rddvm: %s %s %.*s ", vm, state, (i / 5) % 20,
				"....................");
		usleep(100000);
	}
	return EX_FAIL;
}

/* VM's last upgrade in `status --json`: its state ("" when the supervisor is gone),
 * why it failed, how long it took and the clients' gap (ms; -1 while unknown). */
static void upgrade_state(const char *vm, char *state, size_t len, char *why, size_t wlen,
			  long long *took_ms, long long *gap_ms)
{
	char line[1024];
	json_t *st, *v;
	size_t i;
	int fd = control_connect("status json");

	state[0] = why[0] = 0;
	*took_ms = *gap_ms = -1;
	if (fd < 0)
		return;
	if (control_status_line(fd, line, sizeof(line))) {
		close(fd);
		return;
	}
	/* the whole reply, however long (a buffer of 64 KiB cut a setup of ~45 channels
	 * short: "the supervisor is gone" while the upgrade went on) */
	st = json_loadfd(fd, 0, NULL);
	close(fd);
	json_array_foreach(json_object_get(st, "vms"), i, v)
	{
		const char *name = json_string_value(json_object_get(v, "name"));
		json_t *up = json_object_get(v, "upgrade");
		const char *s = json_string_value(json_object_get(up, "state"));
		const char *w = json_string_value(json_object_get(up, "why")); /* or null */

		if (!name || strcmp(name, vm) || !s)
			continue;
		snprintf(state, len, "%s", s);
		snprintf(why, wlen, "%s", w ? w : "");
		if (json_is_integer(json_object_get(up, "took_ms")))
			*took_ms = json_integer_value(json_object_get(up, "took_ms"));
		if (json_is_integer(json_object_get(up, "gap_ms")))
			*gap_ms = json_integer_value(json_object_get(up, "gap_ms"));
	}
	json_decref(st);
}

static int cmd_upgrade(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' },
		{ "append", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char kernel[PATH_MAX] = "", initrd[PATH_MAX] = "", state[32], why[512];
	const char *append = NULL, *vm;
	json_t *req;
	char *line;
	int opt, ret, i, done_polls = 0;
	long long took, gap;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		char *dst = opt == 'k' ? kernel : opt == 'i' ? initrd : NULL;

		if (opt == 'h')
			return fputs(upgrade_help, stdout), EX_OK;
		if (opt == 'a') {
			append = optarg;
		} else if (dst) {
			/* the supervisor may run elsewhere (cwd): give it absolute paths */
			if (!realpath(optarg, dst)) {
				fprintf(stderr, "ddvm: upgrade: %s: %s\n", optarg, strerror(errno));
				return EX_USAGE;
			}
		} else {
			return fputs(upgrade_help, stderr), EX_USAGE;
		}
	}
	if (optind != argc - 1 || (!kernel[0] && !initrd[0] && !append)) {
		fputs(optind != argc - 1
			  ? upgrade_help
			  : "ddvm: upgrade: give at least one of --kernel, --initrd, "
			    "--append (what changes)\n",
		      stderr);
		return EX_USAGE;
	}
	vm = argv[optind];
	req = json_pack("{s:s}", "vm", vm);
	if (kernel[0])
		json_object_set_new(req, "kernel", json_string(kernel));
	if (initrd[0])
		json_object_set_new(req, "initrd", json_string(initrd));
	if (append)
		json_object_set_new(req, "append", json_string(append));
	line = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (!line)
		return EX_FAIL;
	ret = control_simple_prefixed("upgrade ", line);
	free(line);
	if (ret)
		return ret;
	/* Progress until the new image serves or the upgrade failed (the supervisor ends
	 * it within the boot deadline + 30 s; 15 minutes is a hung supervisor). */
	for (i = 0; i < 9000; i++) {
		upgrade_state(vm, state, sizeof(state), why, sizeof(why), &took, &gap);
		/* done: the new image serves; the clients' gap is known a moment later,
		 * when every channel is back (at most 5 s more) */
		if (!strcmp(state, "done") && (gap >= 0 || ++done_polls > 50)) {
			if (isatty(2))
				fputc('\n', stderr);
			fprintf(stderr,
				"ddvm: %s upgraded: the new image serves, %.1f s after the request",
				vm, (double)took / 1000);
			if (gap >= 0)
				fprintf(stderr, "; the clients' service gap was %lld ms\n", gap);
			else
				fprintf(stderr,
					"; its clients are not all back yet ('ddvm status')\n");
			return EX_OK;
		}
		if (!state[0]) {
			fprintf(stderr,
				"\nddvm: upgrade of %s: the supervisor is gone ('ddvm down'?); "
				"nothing runs any more\n",
				vm);
			return EX_FAIL;
		}
		if (!strcmp(state, "failed")) {
			fprintf(stderr,
				"\nddvm: upgrade of %s failed: %s; it goes on with its old image\n",
				vm, why);
			return EX_FAIL;
		}
		if (isatty(2) && i % 5 == 0)
			fprintf(stderr, "\rddvm: upgrading %s: %s %.*s ", vm, state, (i / 5) % 20,
				"....................");
		usleep(100000);
	}
	fprintf(stderr, "\nddvm: upgrade of %s: no result after 15 minutes; see 'ddvm status'\n",
		vm);
	return EX_FAIL;
}

/* A run dir keeps the logs of every setup brought up in it: say so when VM (or the
 * VM of a "VM.spare" log) is not in the setup the running supervisor serves, so that
 * an old file is not read as news. Silent when no supervisor runs. */
static void logs_warn_stale(const char *vm, const char *path)
{
	char base[64], state[32];

	if (!strcmp(vm, "ddvm") || !supervisor_runs_in(rundir))
		return;
	snprintf(base, sizeof(base), "%.*s", (int)strcspn(vm, "."), vm);
	vm_state(base, state, sizeof(state));
	if (!state[0])
		fprintf(stderr,
			"ddvm: note: '%s' is not in the setup running now; %s is from an "
			"earlier 'ddvm up' in %s\n",
			base, path, rundir);
}

/* Print what FD holds from where it is to its end, without the terminal queries
 * (vm__log_filter; HELD: a query's start across reads). */
static void logs_print(int fd, unsigned *held)
{
	char buf[8192], out[sizeof(buf) + 4];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(out, 1, vm__log_filter(held, buf, (size_t)n, out), stdout);
}

static int cmd_logs(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	/* buf: inotify events */
	char path[CFG_PATH_MAX + 64], older[sizeof(path) + 2],
	    buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int follow = 0, opt, fd, ofd, ino = -1, wd = -1;
	unsigned held = 0;
	const char *vm;
	ssize_t n;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
		if (opt == 'f') {
			follow = 1;
		} else if (opt == 'h') {
			fputs(logs_help, stdout);
			return EX_OK;
		} else {
			global_option_hint(argc, argv);
			fputs(logs_help, stderr);
			return EX_USAGE;
		}
	}
	if (optind != argc - 1) {
		fputs(logs_help, stderr);
		return EX_USAGE;
	}
	vm = argv[optind];
	snprintf(path, sizeof(path), "%s/%s.log", rundir, vm);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		char state[32], role[32];
		int err = errno;

		vm_state_role(vm, state, sizeof(state), role, sizeof(role));
		if (!strcmp(role, "host-client"))
			fprintf(stderr,
				"ddvm: '%s' is a host client: a process on this host that ddvm "
				"does not run, so it has no console log\n",
				vm);
		else if (!strcmp(state, "external"))
			fprintf(stderr,
				"ddvm: '%s' is an external client VM: its console is where it "
				"runs (libvirt: virsh console %s)\n",
				vm, vm);
		else if (err == EACCES) {
			fprintf(stderr,
				"ddvm: permission denied: %s is not this user's to read; run ddvm "
				"as the user who runs the supervisor (sudo ddvm ... for root's)\n",
				path);
			return EX_FAIL;
		} else
			fprintf(stderr, "ddvm: no log for VM '%s' in %s\n", vm, rundir);
		return EX_NOVM;
	}
	logs_warn_stale(vm, path);
	/* a log the supervisor rotated (VM_LOG_MAX_BYTES): its older part first */
	snprintf(older, sizeof(older), "%s.1", path);
	ofd = open(older, O_RDONLY | O_CLOEXEC);
	if (ofd >= 0) {
		logs_print(ofd, &held);
		close(ofd);
	}
	if (follow) {
		/* inotify: woken when the file grows, no polling interval; and when it is
		 * renamed to NAME.log.1, to go on with the new NAME.log */
		ino = inotify_init1(IN_CLOEXEC);
		if (ino >= 0)
			wd = inotify_add_watch(ino, path, IN_MODIFY | IN_MOVE_SELF);
	}
	for (;;) {
		const struct inotify_event *ev;
		int moved = 0;

		/* without the terminal queries of a log written before the supervisor
		 * dropped them (vm__log_filter): printed, they make the user's terminal
		 * answer into the user's shell */
		logs_print(fd, &held);
		fflush(stdout);
		if (!follow || ino < 0)
			break;
		n = read(ino, buf, sizeof(buf));
		if (n < 0)
			break;
		for (char *p = buf; p < buf + n; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)p;
			moved |= !!(ev->mask & IN_MOVE_SELF);
		}
		if (moved) {
			int nfd = -1;

			/* what was written before the rename, then the new file (the
			 * supervisor creates it right after the rename) */
			logs_print(fd, &held);
			for (int tries = 0; nfd < 0 && tries < 100; tries++) {
				nfd = open(path, O_RDONLY | O_CLOEXEC);
				if (nfd < 0)
					usleep(10000);
			}
			if (nfd < 0)
				break;
			close(fd);
			fd = nfd;
			inotify_rm_watch(ino, wd);
			wd = inotify_add_watch(ino, path, IN_MODIFY | IN_MOVE_SELF);
		}
	}
	fwrite("\033[6n", 1, held, stdout); /* the log ends in what may have been one */
	close(fd);
	return EX_OK;
}

#define LINGER_MAX_MS 10000 /* past --linger: the most `console` prints after its input */

static int cmd_console(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "linger", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char cmd[128], line[256], buf[4096], out[sizeof(buf) + 3], *end;
	struct termios saved, raw;
	int fd, tty = isatty(0), ret = EX_OK, opt, in_open = 1, linger_ms = 1000;
	/* not to a terminal: no one answers busybox's cursor query, drop it (vm.h) */
	int out_tty = isatty(1);
	unsigned held = 0;
	uint64_t eof_ms = 0;
	const char *vm;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (opt == 'l') {
			double secs = strtod(optarg, &end);

			if (end == optarg || *end || secs < 0 || secs > 60) {
				fprintf(stderr,
					"ddvm console: --linger %s: expected seconds, 0 to 60\n",
					optarg);
				return EX_USAGE;
			}
			linger_ms = (int)(secs * 1000);
		} else if (opt == 'h') {
			fputs(console_help, stdout);
			return EX_OK;
		} else {
			global_option_hint(argc, argv);
			fputs(console_help, stderr);
			return EX_USAGE;
		}
	}
	if (optind != argc - 1) {
		fputs(console_help, stderr);
		return EX_USAGE;
	}
	vm = argv[optind];
	snprintf(cmd, sizeof(cmd), "console %s", vm);
	fd = control_connect(cmd);
	if (fd < 0)
		return control_exit(fd);
	if (control_status_line(fd, line, sizeof(line))) {
		close(fd);
		return strstr(line, "no VM named") ? EX_NOVM : EX_FAIL;
	}
	fprintf(stderr, "ddvm: connected to %s's console; Ctrl-] leaves\r\n", vm);
	if (tty) {
		tcgetattr(0, &saved);
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(0, TCSANOW, &raw);
	}
	for (;;) {
		/* once the input ended, only the console, until it is quiet for linger_ms */
		struct pollfd p[2] = { { .fd = fd, .events = POLLIN },
				       { .fd = 0, .events = POLLIN } };
		ssize_t n;
		int r = poll(p, in_open ? 2 : 1, in_open ? -1 : linger_ms);

		if (r < 0 || (!in_open && r == 0))
			break;
		/* a console that never falls quiet (a chatty guest) ends it too */
		if (!in_open && now_ms() - eof_ms >= (uint64_t)linger_ms + LINGER_MAX_MS)
			break;
		if (p[0].revents) {
			n = read(fd, buf, sizeof(buf));
			if (n <= 0) {
				fprintf(stderr, "\r\nddvm: console closed\r\n");
				ret = EX_FAIL;
				break;
			}
			if (!out_tty)
				n = (ssize_t)vm__log_filter(&held, buf, (size_t)n, out);
			if (write(1, out_tty ? buf : out, n) < 0)
				break;
		}
		if (in_open && p[1].revents) {
			char *esc;

			n = read(0, buf, sizeof(buf));
			if (n <= 0) {
				/* a terminal's end (Ctrl-D in raw mode is a byte) or no linger */
				if (tty || !linger_ms)
					break;
				in_open = 0;
				eof_ms = now_ms();
				continue;
			}
			esc = memchr(buf, 0x1d, n); /* Ctrl-] */
			if (esc)
				n = esc - buf;
			if (n > 0 && write(fd, buf, n) < 0)
				break;
			if (esc)
				break;
		}
	}
	if (tty)
		tcsetattr(0, TCSANOW, &saved);
	close(fd);
	fputc('\n', stderr);
	return ret;
}

static int need_vm(int argc, char **argv, const char *help)
{
	if (argc != 2) {
		fputs(help, stderr);
		return 0;
	}
	return 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rundir", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd;
	int opt;

	control_default_rundir(rundir, sizeof(rundir));
	while ((opt = getopt_long(argc, argv, "+hr:", opts, NULL)) != -1) {
		if (opt == 'r') {
			snprintf(rundir, sizeof(rundir), "%s", optarg);
			setenv("DDVM_RUNDIR", optarg, 1);
			rundir_option = 1;
		} else if (opt == 'h') {
			fputs(main_help, stdout);
			return EX_OK;
		} else {
			fputs(main_help, stderr);
			return EX_USAGE;
		}
	}
	if (optind >= argc) {
		fputs(main_help, stderr);
		return EX_USAGE;
	}
	cmd = argv[optind];
	argc -= optind;
	argv += optind;

	if (!strcmp(cmd, "help")) {
		fputs(main_help, stdout);
		return EX_OK;
	}
	if (!strcmp(cmd, "up")) {
		if (wants_help(argc, argv))
			return fputs(up_help, stdout), EX_OK;
		return cmd_up(argc, argv);
	}
	if (!strcmp(cmd, "check")) {
		if (wants_help(argc, argv))
			return fputs(check_help, stdout), EX_OK;
		if (argc != 2)
			return fputs(check_help, stderr), EX_USAGE;
		return cmd_check(argv[1]);
	}
	if (!strcmp(cmd, "status"))
		return cmd_status(argc, argv);
	if (!strcmp(cmd, "down")) {
		if (wants_help(argc, argv))
			return fputs(down_help, stdout), EX_OK;
		if (argc != 1)
			return fputs(down_help, stderr), EX_USAGE;
		return cmd_down();
	}
	if (!strcmp(cmd, "restart")) {
		if (wants_help(argc, argv))
			return fputs(restart_help, stdout), EX_OK;
		return need_vm(argc, argv, restart_help) ? cmd_restart(argv[1]) : EX_USAGE;
	}
	if (!strcmp(cmd, "logs"))
		return cmd_logs(argc, argv);
	if (!strcmp(cmd, "upgrade"))
		return cmd_upgrade(argc, argv);
	if (!strcmp(cmd, "inject")) {
		char line[256] = "inject";
		size_t used = strlen(line);
		int i;

		if (wants_help(argc, argv))
			return fputs(inject_help, stdout), EX_OK;
		if (argc < 3 || argc > 5)
			return fputs(inject_help, stderr), EX_USAGE;
		for (i = 1; i < argc; i++)
			used += snprintf(line + used, used < sizeof(line) ? sizeof(line) - used : 0,
					 " %s", argv[i]);
		if (used >= sizeof(line))
			return fputs(inject_help, stderr), EX_USAGE;
		if (!inject__known_kind(argv[2])) {
			fprintf(stderr, "ddvm: unknown fault '%s'; known: %s\n", argv[2],
				inject__kinds());
			return EX_USAGE;
		}
		i = control_simple(line);
		if (i == EX_OK)
			fprintf(stderr,
				"ddvm: injected %s into %s; what the supervisor detected and "
				"did: 'ddvm status', and its log (%s/ddvm.log after 'up -d', "
				"else its terminal)\n",
				argv[2], argv[1], rundir);
		return i;
	}
	if (!strcmp(cmd, "accel")) {
		char accel[8];
		const char *qemu = getenv("DDVM_QEMU");

		if (wants_help(argc, argv))
			return fputs(accel_help, stdout), EX_OK;
		if (argc != 2)
			return fputs(accel_help, stderr), EX_USAGE;
		accel__pick(qemu ? qemu : "qemu-system-x86_64", argv[1], accel, sizeof(accel));
		printf("%s\n", accel);
		return EX_OK;
	}
	if (!strcmp(cmd, "libvirt-xml")) {
		if (wants_help(argc, argv))
			return fputs(libvirt_xml_help, stdout), EX_OK;
		if (argc != 3)
			return fputs(libvirt_xml_help, stderr), EX_USAGE;
		return cmd_libvirt_xml(argv[1], argv[2]);
	}
	if (!strcmp(cmd, "qemu-args")) {
		if (wants_help(argc, argv))
			return fputs(qemu_args_help, stdout), EX_OK;
		if (argc != 3)
			return fputs(qemu_args_help, stderr), EX_USAGE;
		return cmd_qemu_args(argv[1], argv[2]);
	}
	if (!strcmp(cmd, "console")) {
		if (wants_help(argc, argv))
			return fputs(console_help, stdout), EX_OK;
		return cmd_console(argc, argv);
	}
	fprintf(stderr, "ddvm: unknown command '%s'\n\n%s", cmd, main_help);
	return EX_USAGE;
}
