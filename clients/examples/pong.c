// SPDX-License-Identifier: BSD-2-Clause
/*
 * ddvm-pong: a tiny IPv4 host on a reused NIC, through libddvm. It answers ARP and
 * ping for its address and can ARP for a peer — the libddvm net example.
 *
 *   ddvm-pong --sock DIR/frontend.sock --ip 10.0.0.2 [--probe 10.0.0.1]
 *             [--count N] [--timeout SECONDS]
 *
 * Prints "ddvm-pong: ready", "ddvm-pong: arp reply from IP is at MAC" (with --probe).
 * With --count: exits 0 once N pings are answered (and the probe, if any), 1 if
 * --timeout seconds (default 60) pass first. Without: runs until SIGINT/SIGTERM or the
 * timeout, then exits 0 if the probe was answered (or there was none), else 1.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "args.h"
#include "ddvm.h"
#include "pong.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* " (why the channel broke)", or "" when it did not say */
static const char *reason(struct ddvm_chan *c)
{
	static char buf[300];
	const char *why = ddvm_chan_broken_reason(c);

	if (!why || !why[0])
		return "";
	snprintf(buf, sizeof(buf), " (%s)", why);
	return buf;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "sock", required_argument, NULL, 's' },
		{ "ip", required_argument, NULL, 'i' },
		{ "probe", required_argument, NULL, 'p' },
		{ "count", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static uint8_t in[65536 + 64], out[65536 + 64];
	const char *sock = NULL, *ip = NULL, *probe = NULL;
	uint8_t peer[4], peer_mac[6];
	unsigned long count = 0;
	double timeout = 60, start, next_probe = 0;
	struct ddvm_net_info ni;
	struct pong p = { 0 };
	struct ddvm_chan *c;
	int opt, ret, probed = 0, help = 0, gone = 0, broken_said = 0;
	uint64_t v;

	while ((opt = getopt_long(argc, argv, "s:i:p:c:t:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			help = 1;
			goto usage;
		case 's':
			sock = optarg;
			break;
		case 'i':
			ip = optarg;
			break;
		case 'p':
			probe = optarg;
			break;
		case 'c':
			if (ddvm_parse_u64(optarg, UINT32_MAX, &v)) {
				fprintf(stderr, "ddvm-pong: --count '%s': not a whole number\n",
					optarg);
				return 2;
			}
			count = (unsigned long)v;
			break;
		case 't':
			if (ddvm_parse_u64(optarg, 86400, &v)) {
				fprintf(stderr,
					"ddvm-pong: --timeout '%s': not a whole number of seconds "
					"(0-86400)\n",
					optarg);
				return 2;
			}
			timeout = (double)v;
			break;
		default:
			goto usage;
		}
	}
	if ((ip && pong_parse_ip(ip, p.ip)) || (probe && pong_parse_ip(probe, peer))) {
		fprintf(stderr, "ddvm-pong: '%s' is not an IPv4 address (A.B.C.D)\n",
			ip && pong_parse_ip(ip, p.ip) ? ip : probe);
		return 2;
	}
	if (!sock || !ip || optind < argc)
		goto usage;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	ret = ddvm_chan_open_wait(&c, sock, DDVM_CHAN_NET, 0, (int)(timeout * 1000));
	if (ret) {
		fprintf(stderr, "ddvm-pong: %s: %s\n", sock, ddvm_strerror(ret));
		return 1;
	}
	start = now();
	ret = ddvm_chan_wait_ready(c, (int)(timeout * 1000));
	if (ret) {
		fprintf(stderr, "ddvm-pong: driver VM not ready: %s\n", ddvm_strerror(ret));
		goto out;
	}
	ddvm_net_info(c, &ni);
	memcpy(p.mac, ni.mac, 6);
	printf("ddvm-pong: ready ip=%s mac=%02x:%02x:%02x:%02x:%02x:%02x nic=%s mtu=%u\n", ip,
	       ni.mac[0], ni.mac[1], ni.mac[2], ni.mac[3], ni.mac[4], ni.mac[5], ni.nic_driver,
	       ni.mtu);
	fflush(stdout);

	ret = 1;
	while (!stop && now() - start < timeout) {
		ssize_t n;

		if (probe && !probed && now() >= next_probe) {
			size_t len = pong_arp_request(&p, peer, out);
			int r = ddvm_net_send(c, out, len, NULL, 0);

			if (r && r != -EAGAIN && r != -ENOTCONN)
				fprintf(stderr, "ddvm-pong: send: %s\n", ddvm_strerror(r));
			next_probe = now() + 0.5;
		}
		n = ddvm_net_recv(c, in, sizeof(in), NULL);
		if (n == -EAGAIN || n == -ENOTCONN) {
			ddvm_chan_wait(c, 100);
			continue;
		}
		if (n == -EMSGSIZE || n == -EBADMSG)
			continue; /* that frame was dropped; the next may be fine */
		if (n == -ESHUTDOWN || n == -ENODEV) {
			/* the supervisor went away (ddvm down), or gave the driver VM up (back
			 * only when an operator runs 'ddvm restart'): a wait returns at once */
			fprintf(stderr, "ddvm-pong: recv: %s%s: exiting\n", ddvm_strerror((int)n),
				reason(c));
			gone = 1;
			break;
		}
		if (n < 0) {
			/* broken: a new epoch brings it back; said once per breakage */
			if (!broken_said)
				fprintf(stderr, "ddvm-pong: recv: %s%s\n", ddvm_strerror((int)n),
					reason(c));
			broken_said = 1;
			ddvm_chan_wait(c, 100);
			continue;
		}
		broken_said = 0;
		if (probe && !probed && pong_arp_reply_from(in, (size_t)n, peer, peer_mac)) {
			printf("ddvm-pong: arp reply from %s is at "
			       "%02x:%02x:%02x:%02x:%02x:%02x\n",
			       probe, peer_mac[0], peer_mac[1], peer_mac[2], peer_mac[3],
			       peer_mac[4], peer_mac[5]);
			fflush(stdout);
			probed = 1;
		}
		n = (ssize_t)pong_handle(&p, in, (size_t)n, out, sizeof(out));
		if (n > 0) {
			int r = ddvm_net_send(c, out, (size_t)n, NULL, 0);

			if (r)
				fprintf(stderr, "ddvm-pong: reply: %s\n", ddvm_strerror(r));
		}
		if (count && p.icmp_replies >= count && (!probe || probed)) {
			ret = 0;
			break;
		}
	}
	printf("ddvm-pong: answered %u pings and %u ARP requests (restarts %llu)\n", p.icmp_replies,
	       p.arp_replies, (unsigned long long)ddvm_chan_restarts(c));
	if (!count)
		ret = (probe && !probed) || gone;
out:
	ddvm_chan_close(c);
	return ret ? 1 : 0;
usage:
	fprintf(help ? stdout : stderr,
		"usage: ddvm-pong --sock PATH --ip A.B.C.D [--probe A.B.C.D] "
		"[--count N] [--timeout SECONDS]\n"
		"A tiny IPv4 host on a ddvm NIC channel (PATH: RUNDIR/channels/"
		"DEVICE.CLIENT.client.sock):\n"
		"answers ARP and ping for --ip, ARPs for --probe. With --count: exits 0 once\n"
		"N pings are answered (and the probe), 1 if --timeout seconds (default 60;\n"
		"also how long it waits for the socket and the driver VM) pass first. Without:\n"
		"runs until SIGINT/SIGTERM or the timeout, then exits 0 if the probe was\n"
		"answered (or there was none), else 1.\n");
	return help ? 0 : 2;
}
