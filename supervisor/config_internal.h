/* SPDX-License-Identifier: BSD-2-Clause */
/* Shared by the two halves of setup-file handling: config.c (parse) and config_check.c
 * (check the whole, derive channels). Not part of the supervisor's interface. */
#ifndef DDVM_SUPERVISOR_CONFIG_INTERNAL_H
#define DDVM_SUPERVISOR_CONFIG_INTERNAL_H

#include "config.h"

/* Append "FILE:LINE: message" (LINE <= 0: "FILE: message") to cfg->errors. */
void cfg_error(struct config *cfg, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Check CFG (read from FILE) as a whole and derive its channels. */
void config__check(struct config *cfg, const char *file);

#endif
