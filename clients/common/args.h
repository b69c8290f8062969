/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Numbers on the command lines of ddvm's host tools (ddvm-blkcheck, ddvm-pong,
 * ddvm-tapbridge, the nbdkit plugin's timeout=): whole, unsigned, decimal or 0x hex,
 * nothing after them, no sign, at most MAX. atoi() and strtoull() alone took "abc" for
 * 0 and "-1" for 2^64 - 1, and the tools then failed far from the typo (a timeout of
 * 0 said "Connection timed out"; a length of -65536 tried to allocate 16 EiB).
 */
#ifndef DDVM_ARGS_H
#define DDVM_ARGS_H

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

/* 0 and *out = the value, or -1 when S is not such a number or exceeds MAX. */
static inline int ddvm_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

#endif /* DDVM_ARGS_H */
