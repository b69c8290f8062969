// SPDX-License-Identifier: BSD-2-Clause
/*
 * ddvm-tapbridge: give the host (or a network namespace) an ordinary TAP interface
 * whose "wire" is a NIC that a driver VM drives, through libddvm.
 *
 *   ddvm-tapbridge --sock DIR/frontend.sock --tap NAME [--no-offload] [--pidfile FILE]
 *                  [--timeout SECONDS] [--help]
 *
 * The interface takes the channel's MAC address (the one the driver VM switches to
 * this client) and the NIC's MTU, and has carrier exactly while the driver VM serves
 * the channel (a driver VM restart looks like a short link flap). Run it under
 * `ip netns exec NS` to create the interface inside a namespace.
 *
 * Offloads: the TAP is opened with IFF_VNET_HDR, whose virtio_net_hdr is field for
 * field the channel's descriptor metadata, so checksum offload and TSO/GSO frames
 * cross unchanged in both directions; TUNSETOFFLOAD enables on the TAP exactly what
 * the driver VM offers (DDVM_NET_F_CSUM, _TSO4, _TSO6). --no-offload turns that off.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if_arp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "args.h"
#include "ddvm.h"
#include "ddvm/net.h"

#define BATCH 64

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct bridge {
	struct ddvm_chan *c;
	int tap;
	int offload;
	int carrier;
	char name[IFNAMSIZ];
	uint8_t *frame;	 /* [vnet hdr][frame] read from the TAP, maybe waiting for space */
	ssize_t pending; /* bytes in frame, 0 when none */
	uint8_t *rx;
	uint32_t max_frame;
	uint64_t to_tap, from_tap, dropped;
};

_Static_assert(sizeof(struct virtio_net_hdr) == 10, "virtio_net_hdr");

static int tap_open(struct bridge *b, const char *name)
{
	struct ifreq ifr;
	int fd, hdr = sizeof(struct virtio_net_hdr);

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	memcpy(b->name, ifr.ifr_name, IFNAMSIZ);
	b->tap = fd;
	return 0;
}

/* MAC, MTU and offloads of the TAP, from the channel. */
static int tap_configure(struct bridge *b, const struct ddvm_net_info *ni)
{
	unsigned int off = 0;
	struct ifreq ifr;
	int s, ret = 0;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, b->name, IFNAMSIZ);
	ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
	memcpy(ifr.ifr_hwaddr.sa_data, ni->mac, 6);
	if (ioctl(s, SIOCSIFHWADDR, &ifr) < 0)
		ret = -errno;
	if (!ret && ni->mtu >= 68) {
		ifr.ifr_mtu = ni->mtu;
		if (ioctl(s, SIOCSIFMTU, &ifr) < 0)
			ret = -errno;
	}
	close(s);
	if (ret)
		return ret;
	if (b->offload && (ni->features & DDVM_NET_F_CSUM)) {
		off |= TUN_F_CSUM;
		if (ni->features & DDVM_NET_F_TSO4)
			off |= TUN_F_TSO4;
		if (ni->features & DDVM_NET_F_TSO6)
			off |= TUN_F_TSO6;
	}
	if (ioctl(b->tap, TUNSETOFFLOAD, off) < 0)
		return -errno;
	printf("ddvm-tapbridge: %s offloads%s%s%s\n", b->name, off & TUN_F_CSUM ? " csum" : "",
	       off & TUN_F_TSO4 ? " tso4" : "", off & TUN_F_TSO6 ? " tso6" : "");
	return 0;
}

static void tap_set_carrier(struct bridge *b, int up)
{
	if (b->carrier == up)
		return;
	b->carrier = up;
	if (ioctl(b->tap, TUNSETCARRIER, &up) < 0) {
		/* kernels before 5.0 lack it: the link just stays up */
	}
	printf("ddvm-tapbridge: %s carrier %s\n", b->name, up ? "on" : "off");
	fflush(stdout);
}

/* Driver VM -> TAP. Returns frames moved. */
static int bridge_rx(struct bridge *b)
{
	int moved = 0;

	while (moved < BATCH) {
		struct virtio_net_hdr vh;
		struct ddvm_net_meta m;
		struct iovec iov[2];
		ssize_t n = ddvm_net_recv(b->c, b->rx, b->max_frame, &m);

		if (n == -EMSGSIZE || n == -EBADMSG) {
			/* counted toward the batch: a driver VM that sends nothing else
			 * must not keep us from the TAP's side and from SIGTERM */
			b->dropped++;
			moved++;
			continue;
		}
		if (n < 0)
			break;
		vh.flags = m.flags;
		vh.gso_type = m.gso_type;
		vh.hdr_len = m.hdr_len;
		vh.gso_size = m.gso_size;
		vh.csum_start = m.csum_start;
		vh.csum_offset = m.csum_offset;
		iov[0] = (struct iovec){ .iov_base = &vh, .iov_len = sizeof(vh) };
		iov[1] = (struct iovec){ .iov_base = b->rx, .iov_len = (size_t)n };
		if (writev(b->tap, iov, 2) < 0)
			b->dropped++; /* the host stack refused it (e.g. interface down) */
		else
			b->to_tap++;
		moved++;
	}
	return moved;
}

/* TAP -> driver VM. Returns frames moved; *blocked when the ring is full. */
static int bridge_tx(struct bridge *b, int *blocked)
{
	int moved = 0;

	*blocked = 0;
	while (moved < BATCH) {
		struct virtio_net_hdr vh;
		struct ddvm_net_meta m;
		int ret;

		if (!b->pending) {
			ssize_t n = read(b->tap, b->frame, sizeof(vh) + b->max_frame);

			if (n < 0)
				break;
			b->pending = n;
		}
		if (b->pending < (ssize_t)sizeof(vh)) {
			b->pending = 0;
			continue;
		}
		memcpy(&vh, b->frame, sizeof(vh));
		m.flags = vh.flags;
		m.gso_type = vh.gso_type;
		m.hdr_len = vh.hdr_len;
		m.gso_size = vh.gso_size;
		m.csum_start = vh.csum_start;
		m.csum_offset = vh.csum_offset;
		ret = ddvm_net_send(b->c, b->frame + sizeof(vh), (size_t)b->pending - sizeof(vh),
				    (vh.flags || vh.gso_type) ? &m : NULL, DDVM_NET_SEND_MORE);
		if (ret == -EAGAIN) {
			*blocked = 1;
			break;
		}
		if (ret)
			b->dropped++; /* link down, or a frame the driver VM cannot take */
		else
			b->from_tap++;
		b->pending = 0;
		moved++;
	}
	ddvm_net_flush(b->c);
	return moved;
}

static int bridge_run(struct bridge *b)
{
	while (!stop) {
		struct pollfd pfd[2];
		int moved, blocked, up;

		ddvm_chan_process(b->c);
		up = ddvm_chan_state(b->c) == DDVM_CHAN_READY;
		tap_set_carrier(b, up);
		if (ddvm_chan_state(b->c) == DDVM_CHAN_SHUTDOWN) {
			fprintf(stderr, "ddvm-tapbridge: the channel was shut down\n");
			return 1;
		}
		moved = bridge_rx(b);
		moved += bridge_tx(b, &blocked);
		if (moved)
			continue;
		if (!ddvm_chan_prepare_wait(b->c))
			continue;
		pfd[0] = (struct pollfd){ .fd = b->tap, .events = blocked ? 0 : POLLIN };
		pfd[1] = (struct pollfd){ .fd = ddvm_chan_fd(b->c), .events = POLLIN };
		if (poll(pfd, 2, 100) < 0 && errno != EINTR) {
			perror("ddvm-tapbridge: poll");
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "sock", required_argument, NULL, 's' },
		{ "tap", required_argument, NULL, 't' },
		{ "no-offload", no_argument, NULL, 'n' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "timeout", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = NULL, *tap = NULL, *pidfile = NULL;
	struct bridge b = { .offload = 1, .carrier = -1, .tap = -1 };
	struct ddvm_net_info ni;
	int opt, ret, wait_s = 120, help = 0;
	uint64_t v;

	while ((opt = getopt_long(argc, argv, "s:t:np:w:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			help = 1;
			goto usage;
		case 's':
			sock = optarg;
			break;
		case 't':
			tap = optarg;
			break;
		case 'n':
			b.offload = 0;
			break;
		case 'p':
			pidfile = optarg;
			break;
		case 'w':
			if (ddvm_parse_u64(optarg, 86400, &v)) {
				fprintf(stderr,
					"ddvm-tapbridge: --timeout '%s': not a number of seconds "
					"(0-86400)\n",
					optarg);
				return 2;
			}
			wait_s = (int)v;
			break;
		default:
			goto usage;
		}
	}
	if (tap && strlen(tap) >= IFNAMSIZ) {
		fprintf(stderr, "ddvm-tapbridge: --tap '%s': longer than %d characters\n", tap,
			IFNAMSIZ - 1);
		return 2;
	}
	if (!sock || !tap || optind < argc)
		goto usage;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	if (pidfile) {
		FILE *f = fopen(pidfile, "w");

		if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f)) {
			fprintf(stderr, "ddvm-tapbridge: --pidfile %s: %s\n", pidfile,
				strerror(errno));
			if (f)
				unlink(pidfile);
			return 1;
		}
	}

	/* The TAP takes GSO and partial-checksum frames (IFF_VNET_HDR): ask for them. */
	ret = ddvm_chan_open_wait(&b.c, sock, DDVM_CHAN_NET, b.offload ? DDVM_OPEN_NET_OFFLOADS : 0,
				  wait_s * 1000);
	if (ret) {
		fprintf(stderr, "ddvm-tapbridge: %s: %s\n", sock, ddvm_strerror(ret));
		if (pidfile)
			unlink(pidfile);
		return 1;
	}
	ret = ddvm_chan_wait_ready(b.c, wait_s * 1000);
	if (!ret)
		ret = ddvm_net_info(b.c, &ni);
	if (ret) {
		fprintf(stderr, "ddvm-tapbridge: driver VM not ready: %s\n", ddvm_strerror(ret));
		goto err_chan;
	}
	b.max_frame = ni.max_frame;
	b.frame = malloc(sizeof(struct virtio_net_hdr) + b.max_frame);
	b.rx = malloc(b.max_frame);
	if (!b.frame || !b.rx) {
		ret = -ENOMEM;
		goto err_mem;
	}
	ret = tap_open(&b, tap);
	if (ret) {
		fprintf(stderr, "ddvm-tapbridge: tap %s: %s\n", tap, ddvm_strerror(ret));
		goto err_mem;
	}
	ret = tap_configure(&b, &ni);
	if (ret) {
		fprintf(stderr, "ddvm-tapbridge: configure %s: %s\n", b.name, ddvm_strerror(ret));
		goto err_tap;
	}
	printf("ddvm-tapbridge: ready %s mac=%02x:%02x:%02x:%02x:%02x:%02x mtu=%u nic=%s\n", b.name,
	       ni.mac[0], ni.mac[1], ni.mac[2], ni.mac[3], ni.mac[4], ni.mac[5], ni.mtu,
	       ni.nic_driver);
	fflush(stdout);
	ret = bridge_run(&b) ? -EIO : 0;
	printf("ddvm-tapbridge: %llu frames to %s, %llu from it, %llu dropped, %llu restarts\n",
	       (unsigned long long)b.to_tap, b.name, (unsigned long long)b.from_tap,
	       (unsigned long long)b.dropped, (unsigned long long)ddvm_chan_restarts(b.c));
err_tap:
	close(b.tap);
err_mem:
	free(b.frame);
	free(b.rx);
err_chan:
	ddvm_chan_close(b.c);
	if (pidfile)
		unlink(pidfile);
	return ret ? 1 : 0;
usage:
	fprintf(help ? stdout : stderr,
		"usage: ddvm-tapbridge --sock PATH --tap NAME [--no-offload] [--pidfile FILE] "
		"[--timeout SECONDS]\n"
		"Bridges a ddvm NIC channel (PATH: RUNDIR/channels/DEVICE.CLIENT.client.sock) to\n"
		"a TAP interface NAME (created if missing; needs CAP_NET_ADMIN), so the host's\n"
		"network stack uses the reused NIC. --no-offload: no GSO or partial checksums\n"
		"through the TAP. --timeout: how long to wait for the socket and then for the\n"
		"driver VM (default 120 s). Runs until SIGINT/SIGTERM (exit 0) or the channel's\n"
		"shutdown ('ddvm down'; exit 1).\n");
	return help ? 0 : 2;
}
