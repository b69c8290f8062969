/* SPDX-License-Identifier: BSD-2-Clause */
#include "qmp.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

void qmp__init(struct qmp *q)
{
	q->fd = -1;
	q->len = 0;
}

static int qmp_write(struct qmp *q, const char *s)
{
	size_t len = strlen(s), off = 0;

	/* Commands are tiny; the socket buffer is empty between them. */
	while (off < len) {
		ssize_t n = send(q->fd, s + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		off += n;
	}
	return 0;
}

int qmp__connect(struct qmp *q, const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, ret;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* A unix connect completes at once or fails; no EINPROGRESS dance needed. */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		ret = -errno;
		close(fd);
		return ret == -EAGAIN ? -ECONNREFUSED : ret;
	}
	q->fd = fd;
	q->len = 0;
	/* QEMU queues input until its greeting went out, so we need not wait for it. */
	ret = qmp_write(q, "{\"execute\":\"qmp_capabilities\"}\n");
	if (ret)
		qmp__close(q);
	return ret;
}

int qmp__execute(struct qmp *q, const char *cmd)
{
	return qmp__command(q, cmd, NULL, NULL);
}

int qmp__command(struct qmp *q, const char *cmd, json_t *args, const char *id)
{
	json_t *obj;
	char *text;
	int ret;

	if (q->fd < 0) {
		json_decref(args);
		return -ENOTCONN;
	}
	obj = json_pack("{s:s}", "execute", cmd);
	if (!obj) {
		json_decref(args);
		return -ENOMEM;
	}
	if (args)
		json_object_set_new(obj, "arguments", args);
	if (id)
		json_object_set_new(obj, "id", json_string(id));
	text = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (!text)
		return -ENOMEM;
	ret = qmp_write(q, text);
	if (!ret)
		ret = qmp_write(q, "\n");
	free(text);
	return ret;
}

static void qmp_line(const char *line, size_t len, qmp_event_fn fn, void *opaque)
{
	json_error_t err;
	json_t *msg = json_loadb(line, len, 0, &err);
	const char *event;

	if (!msg) {
		pr_warn("qmp: unparsable message (%s)", err.text);
		return;
	}
	if (json_unpack(msg, "{s:s}", "event", &event) == 0)
		fn(opaque, event, json_object_get(msg, "data"));
	else if (json_is_string(json_object_get(msg, "id")))
		fn(opaque, NULL, msg);
	else if (json_object_get(msg, "error"))
		pr_debug("qmp: error reply: %.*s", (int)len, line);
	json_decref(msg);
}

int qmp__read(struct qmp *q, qmp_event_fn fn, void *opaque)
{
	for (;;) {
		ssize_t n;
		char *nl;

		if (q->len == sizeof(q->buf)) {
			/* A line longer than anything QEMU sends us: drop the connection. */
			pr_warn("qmp: message too long; reconnecting");
			return -EPROTO;
		}
		n = recv(q->fd, q->buf + q->len, sizeof(q->buf) - q->len, MSG_DONTWAIT);
		if (n == 0)
			return -EPIPE;
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		q->len += n;
		while ((nl = memchr(q->buf, '\n', q->len))) {
			size_t line = nl - q->buf + 1;

			qmp_line(q->buf, line, fn, opaque);
			memmove(q->buf, q->buf + line, q->len - line);
			q->len -= line;
		}
	}
}

void qmp__close(struct qmp *q)
{
	if (q->fd >= 0)
		close(q->fd);
	q->fd = -1;
	q->len = 0;
}
