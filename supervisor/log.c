/* SPDX-License-Identifier: BSD-2-Clause */
#include "log.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum log_level log_threshold = LOG_INFO;
static FILE *log_file;

static char rotate_path[4096];
static unsigned long long rotate_max, rotate_bytes;

void log_set_file(FILE *f)
{
	log_file = f;
}

void log_set_rotation(const char *path, unsigned long long max_bytes)
{
	struct stat st;

	snprintf(rotate_path, sizeof(rotate_path), "%s", path);
	rotate_max = max_bytes;
	rotate_bytes = stat(path, &st) == 0 ? (unsigned long long)st.st_size : 0;
}

/* Called with stderr's lock held, after a line. */
static void log_rotate(FILE *f)
{
	char old[sizeof(rotate_path) + 2];
	int fd;

	rotate_bytes = 0; /* a failure below tries again after as much more */
	snprintf(old, sizeof(old), "%s.1", rotate_path);
	if (rename(rotate_path, old) < 0)
		return;
	fd = open(rotate_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_NOFOLLOW,
		  0644);
	if (fd < 0)
		return;
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
	rotate_bytes = (unsigned long long)fprintf(
	    f, "----- ddvm: the log continues; the %llu MiB before are in %s -----\n",
	    rotate_max >> 20, old);
	fflush(f);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const tag[] = { "error: ", "warning: ", "", "debug: " };
	static int env_checked;
	struct timespec ts;
	struct tm tm;
	char when[32];
	FILE *f = log_file ? log_file : stderr;
	va_list ap;
	int n, m;

	if (!env_checked) {
		const char *d = getenv("DDVM_DEBUG");

		env_checked = 1;
		if (d && *d && strcmp(d, "0"))
			log_threshold = LOG_DEBUG;
	}
	if (level > log_threshold || !fmt)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	/* One fprintf per line piece under the FILE lock keeps lines whole across threads. */
	flockfile(f);
	n = fprintf(f, "%s.%03ld ddvm: %s", when, ts.tv_nsec / 1000000, tag[level]);
	va_start(ap, fmt);
	m = vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fflush(f);
	if (rotate_max && f == stderr) {
		rotate_bytes += (unsigned long long)(n > 0 ? n : 0) + (m > 0 ? m : 0) + 1;
		if (rotate_bytes >= rotate_max)
			log_rotate(f);
	}
	funlockfile(f);
}
