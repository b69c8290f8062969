/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The accelerator: "kvm" when /dev/kvm exists *and works*, else "tcg".
 *
 * A /dev/kvm node can open, answer KVM_GET_API_VERSION and create VMs, and still not
 * run guests: on nested hosts a boot sector runs, but the Linux kernel hangs right
 * after the decompressor (this is the case on the machine docs/bench.md measured on).
 * So after the ioctls we boot the real guest kernel with no root file system and
 * panic=-1: a working accelerator reaches "Kernel panic" within a second or two, and
 * -no-reboot turns the reboot into an exit. Up to ACCEL_PROBE_TIMEOUT_MS, once: the
 * answer is cached. The shell tests ask this code too (`ddvm accel KERNEL`).
 */
#include "accel.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static unsigned long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int accel__kvm_usable(const char *dev)
{
	int fd, vm, ok = 0;

	fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (ioctl(fd, KVM_GET_API_VERSION, 0) == KVM_API_VERSION) {
		vm = ioctl(fd, KVM_CREATE_VM, 0);
		if (vm >= 0) {
			ok = 1;
			close(vm);
		}
	}
	close(fd);
	return ok;
}

int accel__kvm_boots(const char *qemu, const char *kernel, unsigned timeout_ms)
{
	static const char needle[] = "Kernel panic";
	unsigned long long deadline = mono_ms() + timeout_ms;
	char buf[4096 + sizeof(needle)];
	size_t keep = 0;
	int pfd[2], status, found = 0;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -errno;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (null >= 0)
			dup2(null, 0);
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		execlp(qemu, qemu, "-accel", "kvm", "-M", "q35", "-m", "128", "-display", "none",
		       "-nodefaults", "-serial", "stdio", "-no-reboot", "-kernel", kernel,
		       "-append", "console=ttyS0 panic=-1 root=/dev/ddvm-none", (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		unsigned long long now = mono_ms();
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		ssize_t n;

		if (now >= deadline || poll(&p, 1, (int)(deadline - now)) == 0)
			break; /* hangs: the case this probe exists for */
		n = read(pfd[0], buf + keep, sizeof(buf) - 1 - keep);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		keep += n;
		buf[keep] = 0;
		if (strstr(buf, needle)) {
			found = 1;
			break;
		}
		/* keep a tail long enough to hold a needle split across reads */
		if (keep >= sizeof(needle)) {
			memmove(buf, buf + keep - (sizeof(needle) - 1), sizeof(needle) - 1);
			keep = sizeof(needle) - 1;
		}
	}
	close(pfd[0]);
	kill(pid, SIGKILL); /* our child, not reaped yet: the pid is still ours */
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!found && WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return -ENOENT;
	return found;
}

static void cache_path(char *buf, size_t len)
{
	const char *env = getenv("DDVM_ACCEL_CACHE"), *xdg = getenv("XDG_CACHE_HOME"),
		   *home = getenv("HOME");

	buf[0] = 0;
	if (env)
		snprintf(buf, len, "%s", env);
	else if (xdg && *xdg)
		snprintf(buf, len, "%s/ddvm/accel", xdg);
	else if (home && *home)
		snprintf(buf, len, "%s/.cache/ddvm/accel", home);
}

/* The line a probe that found /dev/kvm usable but not booting the guest adds after
 * "tcg": that answer stands while /dev/kvm stays usable. A "tcg" without it was written
 * when /dev/kvm was not usable, and is asked again once it is. */
#define CACHE_PROBED "# /dev/kvm did not boot the guest kernel"

/* The cached answer (1, in OUT; *PROBED: its "tcg" came from a probe of a usable
 * /dev/kvm), or 0 */
static int read_cache(const char *path, char *out, size_t len, int *probed)
{
	char line[16] = "", more[64] = "";
	FILE *f;

	if (!path[0] || !(f = fopen(path, "re")))
		return 0;
	if (!fgets(line, sizeof(line), f))
		line[0] = 0;
	if (!fgets(more, sizeof(more), f))
		more[0] = 0;
	fclose(f);
	line[strcspn(line, "\n")] = 0;
	more[strcspn(more, "\n")] = 0;
	if (strcmp(line, "kvm") && strcmp(line, "tcg"))
		return 0;
	snprintf(out, len, "%s", line);
	*probed = !strcmp(more, CACHE_PROBED);
	return 1;
}

static void write_cache(const char *path, const char *accel, int probed)
{
	char dir[4096], *slash;
	FILE *f;

	if (!path[0])
		return;
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		/* ~/.cache/ddvm: two levels at most are missing */
		slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = 0;
			mkdir(dir, 0755);
			*slash = '/';
		}
		mkdir(dir, 0755);
	}
	f = fopen(path, "we");
	if (!f) {
		pr_debug("accelerator cache %s: %s", path, strerror(errno));
		return;
	}
	fprintf(f, "%s\n%s", accel, probed && !strcmp(accel, "tcg") ? CACHE_PROBED "\n" : "");
	fclose(f);
}

void accel__pick(const char *qemu, const char *kernel, char *out, size_t len)
{
	const char *env = getenv("DDVM_ACCEL");
	char cache[4096];
	int boots, usable, probed = 0;

	if (env && (!strcmp(env, "kvm") || !strcmp(env, "tcg"))) {
		snprintf(out, len, "%s", env);
		return;
	}
	if (env && env[0])
		pr_warn("DDVM_ACCEL=%s: not kvm or tcg; ignored (the accelerator is picked as "
			"without it)",
			env);
	cache_path(cache, sizeof(cache));
	usable = accel__kvm_usable("/dev/kvm");
	/* The cache is trusted while /dev/kvm is as it was: a cached "kvm" with /dev/kvm
	 * gone or closed to this user (a home shared between hosts, a user out of the kvm
	 * group) would fail every start in QEMU's words; a "tcg" of a host without KVM
	 * would keep it from using KVM once it has it. */
	if (read_cache(cache, out, len, &probed)) {
		if (!strcmp(out, "kvm") && !usable)
			pr_warn("the accelerator cache %s says kvm, but /dev/kvm is not usable now "
				"(it is not there, or does not open or make a VM for this user): "
				"using TCG",
				cache);
		else if (strcmp(out, "tcg") || !usable || probed)
			return;
	}
	snprintf(out, len, "tcg");
	if (usable) {
		if (!kernel || access(kernel, R_OK)) {
			/* cannot tell whether KVM runs guests: TCG now, ask again next time */
			pr_warn("/dev/kvm works, but no guest kernel (%s) to check that it runs "
				"guests: using TCG",
				kernel ? kernel : "none");
			return;
		}
		boots = accel__kvm_boots(qemu, kernel, ACCEL_PROBE_TIMEOUT_MS);
		if (boots < 0) {
			pr_warn("cannot run %s to check /dev/kvm: %s; using TCG", qemu,
				strerror(-boots));
			return;
		}
		if (boots)
			snprintf(out, len, "kvm");
		else
			pr_info("/dev/kvm does not boot the guest kernel within %u s: using TCG",
				ACCEL_PROBE_TIMEOUT_MS / 1000);
	}
	write_cache(cache, out, usable);
}

/*
 * Under TCG, QEMU's default CPU (qemu64) with RDRAND, which TCG emulates from the
 * host's random source: the guest kernel's random pool is seeded at boot from it
 * (random.trust_cpu, on in the stock kernel). Without a seed an idle guest polls for
 * one every 2 s (lib/vsprintf.c's fill_ptr_key_workfn) and its memory-cgroup stats
 * flush goes on every 2 s; with it, an idle driver VM wakes 0.65 times a second
 * instead of 1.7 (tracefs, 20 s; docs/supervisor.md, "Idle"). KVM: the host's CPU.
 */
const char *accel_cpu(const char *accel)
{
	return !strcmp(accel, "kvm") ? "host" : "qemu64,+rdrand";
}

void accel_smp(const char *accel, unsigned cpus, char *buf, size_t len)
{
	/* Under TCG, QEMU compiles a guest's memory barriers (mfence, lock-prefixed ops)
	 * to nothing when the machine can have only one vCPU (max_cpus == 1: no other
	 * vCPU could see the order). But device models run in other host threads and a
	 * channel's peer in another process, and both rely on the guest's store -> load
	 * fences: without them the nvme driver's shadow doorbell (and our own rings'
	 * sleep/wake-up) loses wake-ups and a request is never seen. One
	 * possible-but-absent vCPU makes TCG keep every barrier. (KVM runs them
	 * natively.) tests/lib/common.sh's ddvm_smp makes the same choice. */
	if (strcmp(accel, "kvm") && cpus < 2)
		snprintf(buf, len, "%u,maxcpus=2", cpus);
	else
		snprintf(buf, len, "%u", cpus);
}
