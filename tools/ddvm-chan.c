// SPDX-License-Identifier: BSD-2-Clause
/*
 * ddvm-chan: serve ONE ddvm channel without the full supervisor — the low-level tool
 * (like QEMU's ivshmem-server) used by the service tests and for debugging a
 * translation module or client driver by hand.
 *
 *   ddvm-chan --kind net|blk --dir DIR [--target NAME] [--mac MAC] [--vectors N]
 *
 * Creates a memfd region laid out for the service, and listens on
 *   DIR/backend.sock   peer id 0: the driver VM  (-chardev socket,path=...)
 *   DIR/frontend.sock  peer id 1: the client
 *   DIR/host.sock      peer id 2: host tools (e.g. a garbage writer in tests)
 * Prints "ddvm-chan: ready" once listening; writes DIR/ddvm-chan.pid.
 * SIGUSR1 simulates a driver-VM restart as the supervisor does it: reset the rings,
 * bump the epoch, ring the client's control vector. SIGTERM/SIGINT: clean exit.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ddvm/net.h"
#include "ddvm/blk.h"
#include "region.h"
#include "ivshmem_server.h"
#include "log.h"

static volatile sig_atomic_t stop_requested, restart_requested;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		restart_requested = 1;
	else if (sig == SIGUSR2)
		restart_requested = 2;
	else
		stop_requested = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ddvm-chan --kind net|blk --dir DIR [--target NAME] [--mac MAC] "
		"[--vectors N]\n"
		"Serve one ddvm channel (memfd region + ivshmem-server protocol).\n"
		"  --kind     service: net (Ethernet frames) or blk (block I/O)\n"
		"  --dir      directory for backend.sock, frontend.sock, host.sock, pid file\n"
		"  --target   driver VM device serving it (eth0, nvme0n1, 0000:00:03.0)\n"
		"  --mac      net: the client's MAC (default 52:54:00:dd:00:01)\n"
		"  --vectors  doorbell vectors per peer (default %d)\n"
		"Signals: USR1 = simulate a driver VM restart (epoch+1), USR2 = the same with the\n"
		"driver VM still running and connected, TERM/INT = exit.\n",
		DDVM_MAX_VECTORS);
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	int i;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
		return -1;
	for (i = 0; i < 6; i++) {
		if (b[i] > 255)
			return -1;
		mac[i] = (uint8_t)b[i];
	}
	return (mac[0] & 1) ? -1 : 0; /* multicast bit set: not a station address */
}

/* live_backend: the driver VM keeps running (SIGUSR2) and must stay reachable: keep
 * its doorbell connection (dropping it would make every later client doorbell vanish
 * in the client's QEMU) and let it resync itself, as it does on any epoch change. */
/*
 * A peer took a role: publish its id where the other side looks it up before each
 * doorbell, as the supervisor does (supervisor/channel.c). A driver VM that connects
 * after its predecessor left gets a fresh id, and its translation modules serve only
 * once the header names it (a device the header does not name is a warm spare's, on
 * standby: guest/ddvm_ivshmem.c).
 */
static void on_peer(void *opaque, uint16_t role, uint16_t id, int up)
{
	struct ddvm_region *rg = opaque;

	if (!up)
		return;
	if (role == DDVM_SIDE_BACKEND)
		__atomic_store_n(&rg->hdr->backend_peer, id, __ATOMIC_RELEASE);
	else if (role == DDVM_SIDE_FRONTEND)
		__atomic_store_n(&rg->hdr->frontend_peer, id, __ATOMIC_RELEASE);
}

static void simulate_restart(struct ivshmem_server *srv, struct ddvm_region *rg, int live_backend)
{
	uint32_t epoch = ddvm_region_epoch(rg) + 1;

	/* As the supervisor does after the driver VM died: the backend is gone, so
	 * its rings can be zeroed; then a new epoch tells the client to re-attach. */
	if (!live_backend)
		ivshmem_server__kick(srv, DDVM_SIDE_BACKEND);
	ddvm_region_set_backend(rg, DDVM_STATE_ABSENT, epoch);
	ddvm_region_reset_rings(rg);
	ddvm_store_release(&rg->hdr->epoch, epoch);
	if (live_backend) {
		ivshmem_server__ring(srv, DDVM_SIDE_FRONTEND, DDVM_VECTOR_CONTROL);
		ivshmem_server__ring(srv, DDVM_SIDE_BACKEND, DDVM_VECTOR_CONTROL);
	}
	printf("ddvm-chan: epoch %u\n", epoch);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "kind", required_argument, NULL, 'k' },
		{ "dir", required_argument, NULL, 'd' },
		{ "target", required_argument, NULL, 't' },
		{ "mac", required_argument, NULL, 'm' },
		{ "vectors", required_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *kind_s = NULL, *target = "";
	uint8_t mac[6] = { 0x52, 0x54, 0x00, 0xdd, 0x00, 0x01 };
	unsigned vectors = DDVM_MAX_VECTORS;
	struct ddvm_layout_params p;
	struct ivshmem_server srv;
	struct ddvm_region rg;
	char path[256];
	uint64_t size;
	void *base;
	int c, fd, rc = 1;
	FILE *pf;

	while ((c = getopt_long(argc, argv, "k:d:t:m:v:h", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			kind_s = optarg;
			break;
		case 'd':
			dir = optarg;
			break;
		case 't':
			target = optarg;
			break;
		case 'm':
			if (parse_mac(optarg, mac)) {
				fprintf(stderr,
					"ddvm-chan: bad --mac '%s': want a unicast "
					"address like 52:54:00:12:34:56\n",
					optarg);
				return 2;
			}
			break;
		case 'v':
			vectors = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!dir || !kind_s || (strcmp(kind_s, "net") && strcmp(kind_s, "blk"))) {
		usage(stderr);
		return 2;
	}
	if (vectors < 2 || vectors > IVSHMEM_SERVER_MAX_VECTORS) {
		fprintf(stderr, "ddvm-chan: --vectors must be 2..%d\n", IVSHMEM_SERVER_MAX_VECTORS);
		return 2;
	}

	ddvm_layout_defaults(&p, strcmp(kind_s, "net") ? DDVM_KIND_BLK : DDVM_KIND_NET);
	snprintf(p.backend_target, sizeof(p.backend_target), "%s", target);
	p.channel_id = (uint64_t)getpid();
	size = ddvm_layout_size(&p);
	fd = memfd_create("ddvm-channel", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)size) < 0) {
		perror("ddvm-chan: memfd");
		return 1;
	}
	base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		perror("ddvm-chan: mmap");
		return 1;
	}
	if (ddvm_region_init(base, size, &p) || ddvm_region_attach(&rg, base, size)) {
		fprintf(stderr, "ddvm-chan: cannot lay out the region\n");
		return 1;
	}
	rg.hdr->backend_peer = DDVM_SIDE_BACKEND;
	rg.hdr->frontend_peer = DDVM_SIDE_FRONTEND;
	if (p.kind == DDVM_KIND_NET)
		memcpy(((struct ddvm_net_config *)rg.hdr->device)->mac, mac, 6);

	if (ivshmem_server__init(&srv, "chan", fd, vectors) < 0)
		return 1;
	srv.event = on_peer;
	srv.event_opaque = &rg;
	snprintf(path, sizeof(path), "%s/backend.sock", dir);
	if (ivshmem_server__add_role(&srv, path, 0) < 0)
		goto out;
	snprintf(path, sizeof(path), "%s/frontend.sock", dir);
	if (ivshmem_server__add_role(&srv, path, 1) < 0)
		goto out;
	snprintf(path, sizeof(path), "%s/host.sock", dir);
	if (ivshmem_server__add_role(&srv, path, 2) < 0)
		goto out;
	snprintf(path, sizeof(path), "%s/ddvm-chan.pid", dir);
	pf = fopen(path, "w");
	if (pf) {
		fprintf(pf, "%d\n", (int)getpid());
		fclose(pf);
	}

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGUSR1, on_signal);
	signal(SIGUSR2, on_signal);
	signal(SIGPIPE, SIG_IGN);
	printf("ddvm-chan: ready kind=%s size=%llu dir=%s\n", kind_s, (unsigned long long)size,
	       dir);
	fflush(stdout);

	while (!stop_requested) {
		struct pollfd pfds[IVSHMEM_SERVER_MAX_POLLFDS];
		size_t n = ivshmem_server__pollfds(&srv, pfds, IVSHMEM_SERVER_MAX_POLLFDS);

		if (restart_requested) {
			int live = restart_requested == 2;

			restart_requested = 0;
			simulate_restart(&srv, &rg, live);
		}
		if (poll(pfds, n, 200) < 0) {
			if (errno == EINTR)
				continue;
			perror("ddvm-chan: poll");
			break;
		}
		ivshmem_server__handle(&srv, pfds, n);
	}
	rc = 0;
out:
	ivshmem_server__close(&srv);
	unlink(path);
	munmap(base, size);
	close(fd);
	return rc;
}
