/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The peer side of the ivshmem-server protocol (QEMU's docs/specs/ivshmem-spec.rst),
 * once for every host-side peer in C: libddvm (clients/lib/chan.c), the VM tests'
 * peer (tests/vm/supervisor_peer.c) and the server's unit test
 * (tests/unit/supervisor_ivshmem.c). tests/vm/ivshmem_peer.py is its Python twin.
 *
 * The server speaks in 8-byte little-endian integers, some carrying one fd:
 *   on connect:  the protocol version; the peer's own id; -1 with the shared memory
 *   then:        per peer already there, one message per vector: its id + an eventfd;
 *                then the same for the new peer itself (its own doorbells)
 *   later:       id + eventfd as other peers arrive; id without an fd when one leaves
 * A server that refuses the connection (the role is taken) hangs up without a word.
 *
 * Header-only (static inline): its three users are linked three different ways
 * (libddvm, the supervisor's unit tests, a stand-alone test binary), and a header is
 * a plain include in each.
 */
#ifndef DDVM_IVSHMEM_PEER_H
#define DDVM_IVSHMEM_PEER_H

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define IVSHMEM_PEER_PROTOCOL_VERSION 0
#define IVSHMEM_PEER_MAX_FDS	      4 /* a misbehaving server's extra fds are closed */

/*
 * One message: an 8-byte little-endian integer, maybe with one fd. Returns 1 with a
 * message, 0 at EOF, -EAGAIN when DONTWAIT and nothing is there, -errno. Extra fds
 * are closed; *fd is -1 when none came.
 */
static inline int ivshmem_peer_recv(int sock, int64_t *val, int *fd, int dontwait)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(IVSHMEM_PEER_MAX_FDS * sizeof(int))];
	} ctl;
	struct iovec iov = { .iov_base = val, .iov_len = sizeof(*val) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	ssize_t n;

	*fd = -1;
	msg.msg_control = ctl.buf;
	msg.msg_controllen = sizeof(ctl.buf);
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | (dontwait ? MSG_DONTWAIT : 0));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		size_t i, nfds;
		int fds[IVSHMEM_PEER_MAX_FDS];

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		nfds = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (nfds > IVSHMEM_PEER_MAX_FDS)
			nfds = IVSHMEM_PEER_MAX_FDS;
		memcpy(fds, CMSG_DATA(cm), nfds * sizeof(int));
		for (i = 0; i < nfds; i++) {
			if (*fd < 0)
				*fd = fds[i];
			else
				close(fds[i]);
		}
	}
	if (n == 0)
		return 0;
	if (n != sizeof(*val) || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		return -EPROTO;
	}
	return 1;
}

/*
 * The first three messages: version, our id, -1 + the shared memory, in this order
 * and without other fds. Returns 0 with *id and *shm_fd set; -EBUSY when the server
 * hung up at once (the role is taken, or we are refused); -EPROTO for anything else
 * the protocol does not allow; -errno.
 */
static inline int ivshmem_peer_welcome(int sock, uint16_t *id, int *shm_fd)
{
	int64_t v;
	int fd, ret;

	ret = ivshmem_peer_recv(sock, &v, &fd, 0);
	if (ret == 0)
		return -EBUSY;
	if (ret < 0 || fd >= 0 || v != IVSHMEM_PEER_PROTOCOL_VERSION)
		goto err_proto;
	ret = ivshmem_peer_recv(sock, &v, &fd, 0);
	if (ret <= 0 || fd >= 0 || v < 0 || v > 0xffff)
		goto err_proto;
	*id = (uint16_t)v;
	ret = ivshmem_peer_recv(sock, &v, &fd, 0);
	if (ret <= 0 || fd < 0 || v != -1)
		goto err_proto;
	*shm_fd = fd;
	return 0;

err_proto:
	if (ret > 0 && fd >= 0)
		close(fd);
	return ret < 0 && ret != -EPROTO ? ret : -EPROTO;
}

/* A connected (blocking, close-on-exec) socket to the server at PATH, or -errno. */
static inline int ivshmem_peer_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s, err;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		close(s);
		return err;
	}
	return s;
}

#endif /* DDVM_IVSHMEM_PEER_H */
