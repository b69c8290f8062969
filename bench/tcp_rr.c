/* tcp_rr: a TCP request/response latency test (netperf TCP_RR in miniature).
 *
 *   tcp_rr -s [-p PORT]                   serve: echo every request, one client at a time
 *   tcp_rr -c HOST [-p PORT] [-t SECS] [-b BYTES]
 *                                         one connection, TCP_NODELAY; send BYTES, wait for
 *                                         BYTES back, repeat for SECS seconds
 *
 * The client prints one line:
 *   TCP_RR trans_per_s=N p50_us=N p90_us=N p99_us=N n=N
 * Built static so it can be handed to a guest through fw_cfg (bench/net_throughput.sh).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RR_MAX_BYTES   65536
#define RR_MAX_SAMPLES (1u << 22)

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Move exactly len bytes; -1 on error or EOF. */
static int io_full(int fd, char *buf, size_t len, int wr)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n =
		    wr ? write(fd, buf + done, len - done) : read(fd, buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

static void sock_nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int rr_serve(int port)
{
	static char buf[RR_MAX_BYTES];
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int one = 1, lfd;

	signal(SIGPIPE, SIG_IGN);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0)
		return perror("socket"), 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 4))
		return perror("bind/listen"), 1;
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		ssize_t n;

		if (fd < 0)
			continue;
		sock_nodelay(fd);
		/* echo whatever arrives: the client sends one request and waits for it */
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			if (io_full(fd, buf, (size_t)n, 1))
				break;
		close(fd);
	}
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int rr_client(const char *host, int port, double secs, size_t bytes)
{
	static char buf[RR_MAX_BYTES];
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	uint32_t *lat;
	uint64_t t0, end, t;
	size_t n = 0;
	int fd;

	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return fprintf(stderr, "tcp_rr: bad address %s\n", host), 1;
	lat = malloc(RR_MAX_SAMPLES * sizeof(*lat));
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (!lat || fd < 0)
		return perror("tcp_rr"), 1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return perror("connect"), 1;
	sock_nodelay(fd);
	memset(buf, 'r', bytes);
	t0 = now_ns();
	end = t0 + (uint64_t)(secs * 1e9);
	for (t = t0; t < end && n < RR_MAX_SAMPLES; n++) {
		uint64_t s = t;

		if (io_full(fd, buf, bytes, 1) || io_full(fd, buf, bytes, 0))
			return fprintf(stderr, "tcp_rr: connection lost after %zu\n", n), 1;
		t = now_ns();
		lat[n] = (uint32_t)((t - s) / 1000);
	}
	close(fd);
	if (!n)
		return fprintf(stderr, "tcp_rr: no transactions\n"), 1;
	qsort(lat, n, sizeof(*lat), cmp_u32);
	printf("TCP_RR trans_per_s=%.0f p50_us=%u p90_us=%u p99_us=%u n=%zu\n",
	       (double)n / ((double)(t - t0) / 1e9), lat[n / 2], lat[n * 9 / 10], lat[n * 99 / 100],
	       n);
	free(lat);
	return 0;
}

int main(int argc, char **argv)
{
	const char *host = NULL;
	double secs = 2;
	size_t bytes = 1;
	int port = 7777, serve = 0, c;

	while ((c = getopt(argc, argv, "sc:p:t:b:")) != -1) {
		switch (c) {
		case 's':
			serve = 1;
			break;
		case 'c':
			host = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 't':
			secs = atof(optarg);
			break;
		case 'b':
			bytes = (size_t)atol(optarg);
			break;
		default:
			goto usage;
		}
	}
	if (bytes < 1 || bytes > RR_MAX_BYTES || secs <= 0)
		goto usage;
	if (serve)
		return rr_serve(port);
	if (host)
		return rr_client(host, port, secs, bytes);
usage:
	fprintf(stderr, "usage: tcp_rr -s [-p PORT] | -c HOST [-p PORT] [-t SECS] [-b BYTES]\n");
	return 2;
}
