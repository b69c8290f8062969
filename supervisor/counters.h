/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The translation module's counters of a channel (hdr.stats, abi.h), as `ddvm status`
 * shows them. The block lies in shared memory that the client can write as well as the
 * driver VM: it is copied out once, and every number in it is an arbitrary 64-bit
 * value that is only ever displayed. Nothing in the supervisor acts on it.
 */
#ifndef DDVM_COUNTERS_H
#define DDVM_COUNTERS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "ddvm/abi.h"

struct counters {
	int present;	       /* the block carried DDVM_STATS_MAGIC */
	uint32_t kind;	       /* enum ddvm_kind, from our own validated layout */
	uint32_t chan_size;    /* what the writer said it fills, clamped to the block */
	uint32_t service_size; /* ditto */
	struct ddvm_stats copy;
};

/* Copy SHARED (the region's hdr.stats) out once, for a channel of KIND. */
void counters__read(struct counters *c, const struct ddvm_stats *shared, uint32_t kind);

/* The value of counter NAME (a JSON field name, docs/supervisor.md): 0 and *V, or -1
 * when the block is absent or does not carry it. */
int counters__get(const struct counters *c, const char *name, uint64_t *v);

/* `status --json`'s "counters" of a channel: an object, or JSON null when absent.
 * Values above 2^63 - 1 (only a scribbled block has them) show as 2^63 - 1. */
json_t *counters__json(const struct counters *c);

/* One line for the plain `ddvm status` (no newline), always NUL-terminated and cut to
 * LEN; returns 0 (and an empty BUF) when the block is absent, else 1. */
int counters__line(const struct counters *c, char *buf, size_t len);

#endif /* DDVM_COUNTERS_H */
