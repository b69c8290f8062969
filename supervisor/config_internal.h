/* SPDX-License-Identifier: BSD-2-Clause */
/* Shared by the two halves of setup-file handling: config.c (parse) and config_check.c
 * (check the whole, derive channels). Not part of the supervisor's interface. */
#ifndef DDVM_SUPERVISOR_CONFIG_INTERNAL_H
#define DDVM_SUPERVISOR_CONFIG_INTERNAL_H

#include "config.h"

#include <stdarg.h>

/* Add "FILE:LINE: message" (LINE <= 0: "FILE: message") to cfg->errors, in line order. */
void cfg_error(struct config *cfg, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* cfg_error about SECTION ("device nic0", "driver-vm drv"; NULL or "": none): the
 * message names it first ("[device nic0]: mtu = 9: ..."), unless it starts with a
 * section of its own. */
void cfg_section_error(struct config *cfg, const char *file, int line, const char *section,
		       const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

/* Check CFG (read from FILE) as a whole and derive its channels. */
void config__check(struct config *cfg, const char *file);

#endif
