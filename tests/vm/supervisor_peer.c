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
#include <time.h>
#include <unistd.h>

#include "../../clients/common/ivshmem_peer.h"

#define MAXV 64

/* One message's value; INT64_MIN at EOF or on a protocol error. */
static int64_t recv_msg(int s, int *fd)
{
	int64_t v;

	return ivshmem_peer_recv(s, &v, fd, 0) == 1 ? v : INT64_MIN;
}

int main(int argc, char **argv)
{
	int own[MAXV], nown = 0, s, fd, shm, i, last_peer = -1, count = 0;
	uint16_t me;
	int64_t v;
	time_t end;
	struct stat st;

	if (argc < 2)
		return 2;
	end = time(NULL) + (argc > 2 ? atoi(argv[2]) : 60);
	setvbuf(stdout, NULL, _IOLBF, 0);
	s = ivshmem_peer_connect(argv[1]);
	if (s < 0) {
		fprintf(stderr, "connect %s: %s\n", argv[1], strerror(-s));
		return 1;
	}
	i = ivshmem_peer_welcome(s, &me, &shm);
	if (i)
		return printf("bad welcome: %s\n", strerror(-i)), 1;
	printf("peer id %u\n", me);
	if (fstat(shm, &st))
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
