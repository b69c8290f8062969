/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The run dir's logs stay bounded whatever a guest or a client makes them say (the run
 * dir is a tmpfs whose space every VM start needs):
 * - vm__qemu_log_cap: NAME.qemu.log, held open by QEMU (O_APPEND), is copied to
 *   NAME.qemu.log.1 and emptied in place, and QEMU's next write lands at its start;
 * - log_set_rotation: the detached supervisor's ddvm.log becomes ddvm.log.1;
 * - a guest printing DDVM-LOAD-FAILED lines without end gets VM_LOAD_FAILED_MAX of them
 *   into the supervisor's log, and one line saying the rest are not.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "vm.h"

static char dir[] = "/tmp/ddvm-logs-XXXXXX";

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[64];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static off_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? -1 : st.st_size;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

static struct cfg_vm cfg_drv = { .name = "drv", .role = CFG_DRIVER_VM };

static void test_qemu_log_cap(void **state)
{
	struct vm vm = { .cfg = &cfg_drv };
	char old[300], line[80], *text;
	unsigned i, lines = 0;
	int qemu;

	(void)state;
	snprintf(vm.qemu_log_path, sizeof(vm.qemu_log_path), "%s/drv.qemu.log", dir);
	snprintf(old, sizeof(old), "%s.1", vm.qemu_log_path);
	/* QEMU's stderr as the supervisor opens it for QEMU */
	qemu = open(vm.qemu_log_path, O_WRONLY | O_CREAT | O_APPEND, 0640);
	assert_true(qemu >= 0);
	dprintf(qemu, "first line\n");
	vm__qemu_log_cap(&vm); /* small: left alone */
	assert_int_equal(file_size(old), -1);
	assert_int_equal(file_size(vm.qemu_log_path), 11);

	while (file_size(vm.qemu_log_path) < VM_QEMU_LOG_MAX_BYTES) {
		snprintf(line, sizeof(line), "qemu-system-x86_64: aio failed: line %u\n", lines++);
		assert_int_equal(write(qemu, line, strlen(line)), (ssize_t)strlen(line));
	}
	vm.storage.log_off = 12345;
	vm.startup.qlog_off = 12345;
	vm__qemu_log_cap(&vm);
	assert_true(file_size(old) >= VM_QEMU_LOG_MAX_BYTES);
	assert_int_equal(vm.storage.log_off, 0);
	assert_int_equal(vm.startup.qlog_off, 0);
	/* the old part whole, in order */
	text = slurp(old);
	assert_memory_equal(text, "first line\n", 11);
	snprintf(line, sizeof(line), "aio failed: line %u\n", lines - 1);
	assert_non_null(strstr(text, line));
	free(text);
	/* QEMU goes on writing through the same fd: at the start of the emptied file */
	dprintf(qemu, "after the cap\n");
	text = slurp(vm.qemu_log_path);
	assert_non_null(strstr(text, "QEMU's log continues"));
	assert_non_null(strstr(text, "after the cap\n"));
	assert_true(strlen(text) < 200);
	free(text);
	/* and again: .1 is replaced, not appended to */
	for (i = 0; file_size(vm.qemu_log_path) < VM_QEMU_LOG_MAX_BYTES; i++)
		dprintf(qemu, "second round %u\n", i);
	vm__qemu_log_cap(&vm);
	assert_true(file_size(old) < VM_QEMU_LOG_MAX_BYTES + 4096);
	text = slurp(old);
	assert_null(strstr(text, "first line"));
	free(text);
	close(qemu);
}

/* In a child: its stderr becomes a log file, as `ddvm up -d` makes it. */
static void test_log_rotation(void **state)
{
	char path[300], old[310], *text;
	int status;
	pid_t pid;

	(void)state;
	snprintf(path, sizeof(path), "%s/ddvm.log", dir);
	snprintf(old, sizeof(old), "%s.1", path);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
		unsigned i;

		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(2);
		close(fd);
		log_set_rotation(path, 1 << 20);
		for (i = 0; i < 3 * 20000; i++) /* ~ 80 bytes each: 4.6 MiB */
			pr_err("a client makes the supervisor say this, line %u", i);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_true(file_size(path) <= (1 << 20) + 200);
	assert_true(file_size(old) >= (1 << 20) - 200 && file_size(old) <= (1 << 20) + 200);
	text = slurp(path);
	assert_non_null(strstr(text, "the log continues; the 1 MiB before are in"));
	assert_non_null(strstr(text, "line 59999\n"));
	free(text);
}

/* A foreground supervisor's stderr that nobody reads (a pipe, a terminal stopped with
 * Ctrl-S) must not stop it: lines are dropped, counted, and said when it is read again. */
static void test_stderr_not_read(void **state)
{
	int out[2], go[2], done[2], status;
	static char buf[1 << 20];
	size_t got = 0;
	ssize_t n;
	char c;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(out), 0);
	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(done), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		unsigned i;

		alarm(20); /* a log that blocks: killed, and the test fails */
		if (dup2(out[1], STDERR_FILENO) < 0)
			_exit(2);
		for (i = 0; i < 100000; i++) /* ~ 8 MiB into a 64 KiB pipe */
			pr_err("nobody reads this, line %u", i);
		if (write(done[1], "d", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(3);
		pr_err("read again");
		_exit(0);
	}
	assert_int_equal(read(done[0], &c, 1), 1); /* flooded without blocking */
	fcntl(out[0], F_SETFL, O_NONBLOCK);	   /* the pipe's content, until it is empty */
	while (read(out[0], buf, 65536) > 0)
		;
	fcntl(out[0], F_SETFL, 0);
	assert_int_equal(write(go[1], "g", 1), 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(out[1]);
	while ((n = read(out[0], buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = 0;
	assert_non_null(strstr(buf, "log lines dropped: stderr was not being read"));
	assert_non_null(strstr(buf, "read again\n"));
}

/* What a guest printed reaches the log printable: no escape sequence, no carriage
 * return or newline of its own (a line of ours could be forged), tabs kept. */
static void test_control_chars(void **state)
{
	char logbuf[1024] = { 0 };
	FILE *f = fmemopen(logbuf, sizeof(logbuf), "w");

	(void)state;
	assert_non_null(f);
	log_set_file(f);
	pr_err("app: the guest could not load %s", "m\x1b[2J\rddvm: forged\nline\tx\x7f");
	fflush(f);
	log_set_file(NULL);
	fclose(f);
	assert_non_null(strstr(logbuf, "could not load m?[2J?ddvm: forged?line\tx?\n"));
	/* C1 (CSI as U+009B and as a raw byte), a lone continuation byte, and an
	 * overlong encoding go; real UTF-8 stays */
	f = fmemopen(logbuf, sizeof(logbuf), "w");
	assert_non_null(f);
	log_set_file(f);
	pr_err("x%sy", "\xc2\x9b"
		       "2J|\x9b|\x80|\xc0\xaf|caf\xc3\xa9 \xe2\x80\x94 \xf0\x9f\x98\x80|\xe2\x80");
	fflush(f);
	log_set_file(NULL);
	fclose(f);
	assert_non_null(strstr(logbuf,
			       "x??"
			       "2J|?|?|??|caf\xc3\xa9 \xe2\x80\x94 \xf0\x9f\x98\x80|??y\n"));
	assert_null(strchr(logbuf, '\x1b'));
	assert_ptr_equal(strchr(logbuf, '\n'), logbuf + strlen(logbuf) - 1);
}

static void test_load_failed_flood(void **state)
{
	static char logbuf[1 << 16];
	struct cfg_vm cfg = { .name = "cli", .role = CFG_CLIENT_VM };
	struct vm vm = { .cfg = &cfg, .log_fd = -1 };
	char lines[64 * 1024];
	size_t n = 0;
	unsigned i;
	int sv[2];
	FILE *f;

	(void)state;
	for (i = 0; i < VM_MAX_CONSOLES; i++)
		vm.consoles[i] = -1;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	vm.con_fd = sv[0];
	f = fmemopen(logbuf, sizeof(logbuf), "w");
	assert_non_null(f);
	log_set_file(f);
	for (i = 0; i < 1000; i++)
		n += (size_t)snprintf(lines + n, sizeof(lines) - n,
				      "modprobe: FATAL\nDDVM-LOAD-FAILED module=m%u\n", i);
	assert_int_equal(write(sv[1], lines, n), (ssize_t)n);
	assert_int_equal(vm__console_read(&vm, 1), 0);
	fflush(f);
	log_set_file(NULL);
	fclose(f);
	n = 0;
	for (const char *p = strstr(logbuf, "could not load"); p;
	     p = strstr(p + 1, "could not load"))
		n++;
	assert_int_equal(n, VM_LOAD_FAILED_MAX);
	assert_non_null(strstr(logbuf, "the guest could not load m0 (modprobe: FATAL)"));
	assert_non_null(strstr(logbuf, "the rest are not logged until its next start"));
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qemu_log_cap),	cmocka_unit_test(test_log_rotation),
		cmocka_unit_test(test_stderr_not_read), cmocka_unit_test(test_load_failed_flood),
		cmocka_unit_test(test_control_chars),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
