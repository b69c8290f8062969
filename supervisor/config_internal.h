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

/* cfg_section_error about device D ("[device NAME]: ..."). */
void cfg_dev_error(struct config *cfg, const char *file, const struct cfg_device *d, int line,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Check CFG (read from FILE) as a whole and derive its channels. */
void config__check(struct config *cfg, const char *file);

/* Resolve each net device's anti-spoofing keys into its channels (config_antispoof.c),
 * reporting what is wrong with them; after the channels were made. */
void config__check_antispoof(struct config *cfg, const char *file);

#endif
