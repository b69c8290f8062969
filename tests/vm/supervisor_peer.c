/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * supervisor_peer SOCKET [SECONDS]: a host process as an ivshmem peer, for VM tests.
 * Connects to an ivshmem-server socket, prints "peer id N", "shm SIZE", one line per
 * peer whose eventfds arrive ("peer P vectors V") or who leaves ("peer P gone"), and
 * "doorbell vector V" each time a guest rings one of our own vectors. Exits after
 * SECONDS (default 60) or when the server closes the socket.
 */
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAXV 64

static int64_t recv_msg(int s, int *fd)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} ctl;
	int64_t v;
	struct iovec iov = { &v, sizeof(v) };
	struct msghdr m = { .msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = ctl.b,
			    .msg_controllen = sizeof(ctl.b) };
	struct cmsghdr *c;

	*fd = -1;
	if (recvmsg(s, &m, 0) != sizeof(v))
		return INT64_MIN;
	c = CMSG_FIRSTHDR(&m);
	if (c && c->cmsg_type == SCM_RIGHTS)
		memcpy(fd, CMSG_DATA(c), sizeof(int));
	return v;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int own[MAXV], nown = 0, s, fd, i, last_peer = -1, count = 0;
	int64_t me, v;
	time_t end;
	struct stat st;

	if (argc < 2)
		return 2;
	end = time(NULL) + (argc > 2 ? atoi(argv[2]) : 60);
	setvbuf(stdout, NULL, _IOLBF, 0);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", argv[1]);
	if (connect(s, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		perror("connect");
		return 1;
	}
	if (recv_msg(s, &fd) != 0 || fd != -1)
		return printf("bad version\n"), 1;
	me = recv_msg(s, &fd);
	printf("peer id %lld\n", (long long)me);
	if (recv_msg(s, &fd) != -1 || fd < 0 || fstat(fd, &st))
		return printf("bad shm\n"), 1;
	printf("shm %lld\n", (long long)st.st_size);
	while (time(NULL) < end) {
		struct pollfd p[MAXV + 1];

		p[0] = (struct pollfd){ .fd = s, .events = POLLIN };
		for (i = 0; i < nown; i++)
			p[1 + i] = (struct pollfd){ .fd = own[i], .events = POLLIN };
		if (poll(p, 1 + nown, 200) <= 0)
			continue;
		for (i = 0; i < nown; i++) {
			uint64_t n;

			if (p[1 + i].revents && read(own[i], &n, sizeof(n)) == sizeof(n))
				printf("doorbell vector %d\n", i);
		}
		if (!p[0].revents)
			continue;
		v = recv_msg(s, &fd);
		if (v == INT64_MIN)
			return printf("server closed\n"), 0;
		if (fd < 0) {
			printf("peer %lld gone\n", (long long)v);
			continue;
		}
		if (v != last_peer) {
			if (last_peer >= 0)
				printf("peer %d vectors %d\n", last_peer, count);
			last_peer = v;
			count = 0;
		}
		count++;
		if (v == me && nown < MAXV)
			own[nown++] = fd;
		else
			close(fd);
		/* Flush the count as soon as the burst for one peer is over. */
		{
			struct pollfd q = { .fd = s, .events = POLLIN };

			if (poll(&q, 1, 50) == 0) {
				printf("peer %d vectors %d\n", last_peer, count);
				last_peer = -1;
			}
		}
	}
	return 0;
}
