/* SPDX-License-Identifier: BSD-2-Clause */
#include "log.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum log_level log_threshold = LOG_INFO;
static FILE *log_file;

void log_set_file(FILE *f)
{
	log_file = f;
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
	fprintf(f, "%s.%03ld ddvm: %s", when, ts.tv_nsec / 1000000, tag[level]);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fflush(f);
	funlockfile(f);
}
