/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A driver VM's tap back-ends, set up outside QEMU: QEMU creates each tap (its -netdev
 * line comes from vm.c), this file gives it its MTU and bridge.
 */
#include "tap.h"
#include "log.h"
#include "supervisor.h"
#include "vm.h"

#include <errno.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* Tap back-ends: QEMU created the tap at 1500 bytes. With `mtu = N` set its MTU
 * (SIOCSIFMTU, like ip link set mtu) -- before it joins a bridge, so the bridge, whose
 * MTU follows its ports' unless set by hand, can follow it; with `bridge = BR` join it to BR
 * and bring it up (ioctls, like brctl addif + ip link set up). Done once per
 * incarnation: a new QEMU creates a new tap, so a restarted driver VM is on the wire
 * again, at the same MTU, without the client noticing more than a link flap. */
int tap__setup(struct vm *vm)
{
	const struct config *cfg;
	unsigned i;
	int fd, ret = 0;

	if (!vm->sup || vm->cfg->role != CFG_DRIVER_VM)
		return 0;
	cfg = vm->sup->cfg;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	for (i = 0; i < cfg->nr_devices; i++) {
		const struct cfg_device *d = &cfg->devices[i];
		struct ifreq ifr = { 0 };
		int idx;

		if (d->vm != vm->cfg || d->net_backend != CFG_NET_TAP || (!d->bridge[0] && !d->mtu))
			continue;
		idx = if_nametoindex(d->tap);
		if (!idx) {
			ret = -errno;
			pr_warn("%s: tap %s: %s", vm->cfg->name, d->tap, strerror(errno));
			continue;
		}
		if (d->mtu) {
			snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", d->tap);
			ifr.ifr_mtu = d->mtu;
			if (ioctl(fd, SIOCSIFMTU, &ifr) < 0) {
				ret = -errno;
				pr_warn("%s: cannot set the MTU of tap %s to %u: %s", vm->cfg->name,
					d->tap, d->mtu, strerror(errno));
			}
		}
		if (d->bridge[0]) {
			memset(&ifr, 0, sizeof(ifr));
			snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", d->bridge);
			ifr.ifr_ifindex = idx;
			if (ioctl(fd, SIOCBRADDIF, &ifr) < 0 && errno != EBUSY) {
				ret = -errno;
				pr_warn("%s: cannot add tap %s to bridge %s: %s", vm->cfg->name,
					d->tap, d->bridge, strerror(errno));
				continue;
			}
		}
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", d->tap);
		if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
			ifr.ifr_flags |= IFF_UP;
			if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
				ret = -errno;
		}
		if (d->bridge[0] && d->mtu) {
			memset(&ifr, 0, sizeof(ifr));
			snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", d->bridge);
			if (ioctl(fd, SIOCGIFMTU, &ifr) == 0 && (unsigned)ifr.ifr_mtu < d->mtu)
				pr_warn(
				    "%s: bridge %s has MTU %d, below the tap's %u: larger frames "
				    "are dropped there (ip link set %s mtu %u)",
				    vm->cfg->name, d->bridge, ifr.ifr_mtu, d->mtu, d->bridge,
				    d->mtu);
		}
		if (d->bridge[0])
			pr_info("%s: tap %s joined bridge %s, MTU %u", vm->cfg->name, d->tap,
				d->bridge, d->mtu ? d->mtu : 1500);
		else
			pr_info("%s: tap %s: MTU %u", vm->cfg->name, d->tap, d->mtu);
	}
	close(fd);
	return ret;
}
