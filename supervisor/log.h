/* SPDX-License-Identifier: BSD-2-Clause */
/* Timestamped log lines for the supervisor: "2024-05-01 12:00:00.123 ddvm: ...". */
#ifndef DDVM_LOG_H
#define DDVM_LOG_H

#include <stdio.h>

enum log_level { LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Lines at or below this level are written (default LOG_INFO; DDVM_DEBUG=1 → DEBUG). */
extern enum log_level log_threshold;
/* Where lines go (default stderr). */
void log_set_file(FILE *f);
/*
 * The detached supervisor's log is the file PATH on its stdout and stderr (ddvm up -d):
 * once MAX_BYTES more have been written to it, PATH becomes PATH.1 (the one before is
 * dropped) and a new PATH is put on fds 1 and 2. Its bytes so far count. A guest or a
 * client that makes the supervisor log in a loop must not fill the run dir (a tmpfs,
 * whose space every VM start needs).
 */
void log_set_rotation(const char *path, unsigned long long max_bytes);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define pr_err(...)   log_msg(LOG_ERR, __VA_ARGS__)
#define pr_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define pr_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif /* DDVM_LOG_H */
