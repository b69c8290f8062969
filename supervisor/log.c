/* SPDX-License-Identifier: BSD-2-Clause */
#include "log.h"

#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum log_level log_threshold = LOG_INFO;
static FILE *log_file;

#define LOG_LINE_MAX 4096
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

/*
 * A line (at most LOG_LINE_MAX bytes, so <= PIPE_BUF: a pipe that polls writable takes
 * it whole) to stderr, unless stderr cannot take it now: a foreground supervisor's
 * terminal stopped with Ctrl-S, a pipe nobody reads. The supervisor's loop must never
 * wait on its log (no restarts, no channel served meanwhile): such lines are counted,
 * and said when stderr takes lines again. Called with stderr's lock held.
 */
static void log_write(const char *line, size_t len)
{
	static unsigned long long dropped;
	struct pollfd p = { .fd = STDERR_FILENO, .events = POLLOUT };
	char note[128];
	ssize_t w;

	if (poll(&p, 1, 0) != 1 || !(p.revents & POLLOUT)) {
		dropped++;
		return;
	}
	if (dropped) {
		int k = snprintf(
		    note, sizeof(note),
		    "ddvm: warning: %llu log lines dropped: stderr was not being read\n", dropped);

		if (write(STDERR_FILENO, note, (size_t)k) == k)
			rotate_bytes += (unsigned long long)k;
		dropped = 0;
	}
	while (len) { /* a regular file (ddvm.log) can take it in pieces */
		w = write(STDERR_FILENO, line, len);
		if (w <= 0)
			return;
		rotate_bytes += (unsigned long long)w;
		line += w;
		len -= (size_t)w;
	}
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
	if (fd < 0) {
		/* fds 1 and 2 still write into it: back under its name, or no later
		 * rotation finds it and it grows without a bound */
		if (rename(old, rotate_path) < 0)
			rotate_max = 0;
		return;
	}
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
	rotate_bytes = (unsigned long long)fprintf(
	    f, "----- ddvm: the log continues; the %llu MiB before are in %s -----\n",
	    rotate_max >> 20, old);
	fflush(f);
}

/*
 * One line, printable: a message may quote what a guest printed (its console) or a
 * peer wrote, and escape sequences or a carriage return from there must not reach an
 * operator's terminal or forge the look of a line of ours. C0 controls but tab, DEL,
 * the C1 controls (U+0080-U+009F, which terminals also act on: CSI is U+009B) and
 * bytes that are not UTF-8 become '?', byte for byte; other UTF-8 stays.
 */
static void log_printable(char *s, size_t len)
{
	unsigned char *c = (unsigned char *)s, *end = c + len;

	while (c < end) {
		unsigned need, cp, k;

		if (*c < 0x80) {
			if ((*c < 0x20 && *c != '\t') || *c == 0x7f)
				*c = '?';
			c++;
			continue;
		}
		need = *c >= 0xf0 && *c <= 0xf4	 ? 3
		       : *c >= 0xe0		 ? 2
		       : *c >= 0xc2 && *c < 0xe0 ? 1
						 : 0;
		if (*c > 0xf4)
			need = 0;
		cp = need == 3 ? *c & 0x07 : need == 2 ? *c & 0x0f : *c & 0x1f;
		for (k = 1; need && k <= need; k++) {
			if (c + k >= end || (c[k] & 0xc0) != 0x80) {
				need = 0;
				break;
			}
			cp = cp << 6 | (c[k] & 0x3f);
		}
		/* overlong, surrogates, past U+10FFFF, C1: not kept */
		if (need && ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
			     (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff || cp < 0xa0))
			need = 0;
		if (!need) {
			*c++ = '?';
			continue;
		}
		c += need + 1;
	}
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const tag[] = { "error: ", "warning: ", "", "debug: " };
	static int env_checked;
	struct timespec ts;
	struct tm tm;
	char when[32];
	FILE *f = log_file ? log_file : stderr;
	char line[LOG_LINE_MAX];
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
	n = snprintf(line, sizeof(line), "%s.%03ld ddvm: %s", when, ts.tv_nsec / 1000000,
		     tag[level]);
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	m = m < 0 ? 0 : m > (int)sizeof(line) - n - 2 ? (int)sizeof(line) - n - 2 : m;
	log_printable(line + n, (size_t)m);
	n += m;
	line[n++] = '\n';
	if (f != stderr) {
		flockfile(f);
		fwrite(line, 1, (size_t)n, f);
		fflush(f);
		funlockfile(f);
		return;
	}
	flockfile(f);
	log_write(line, (size_t)n);
	if (rotate_max && rotate_bytes >= rotate_max)
		log_rotate(f);
	funlockfile(f);
}
