/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A non-blocking QMP client: connect to a VM's QMP socket, enter command mode, and
 * deliver asynchronous events (GUEST_PANICKED, SHUTDOWN, ...) to a callback. It never
 * blocks: QEMU waits in device realize for our ivshmem server, which runs in the same
 * loop, so a blocking QMP read there would deadlock the two.
 */
#ifndef DDVM_QMP_H
#define DDVM_QMP_H

#include <jansson.h>
#include <stddef.h>

#define QMP_BUF_MAX 65536 /* longest line we accept from QEMU */

struct qmp {
	int fd; /* -1 when not connected */
	size_t len;
	char buf[QMP_BUF_MAX];
};

/* An event: EVENT and its data. A reply to a command sent with an id (qmp__command):
 * EVENT is NULL and DATA the whole reply ({"return": ...} or {"error": ...}, "id"). */
typedef void (*qmp_event_fn)(void *opaque, const char *event, json_t *data);

void qmp__init(struct qmp *q);
/* Connect and send qmp_capabilities. -ENOENT / -ECONNREFUSED: not there yet, retry. */
int qmp__connect(struct qmp *q, const char *path);
/* Send {"execute": CMD}; the reply arrives (and is ignored) through __read. */
int qmp__execute(struct qmp *q, const char *cmd);
/* Send {"execute": CMD, "arguments": ARGS, "id": ID}; takes ARGS (may be NULL). The reply
 * reaches the callback of __read with event NULL. */
int qmp__command(struct qmp *q, const char *cmd, json_t *args, const char *id);
/* Read what is there; call FN for each event. -EPIPE when QEMU closed it. */
int qmp__read(struct qmp *q, qmp_event_fn fn, void *opaque);
void qmp__close(struct qmp *q);

#endif /* DDVM_QMP_H */
