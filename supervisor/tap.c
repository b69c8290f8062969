/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A driver VM's tap back-ends, set up outside QEMU: QEMU creates each tap (its -netdev
 * line comes from vm.c), or with spare = yes the supervisor does (tap.h); this file
 * gives it its MTU and bridge, and owns the queues of the supervisor's taps.
 */
#include "tap.h"
#include "log.h"
#include "supervisor.h"
#include "vm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* Is D one of VM's NICs on a tap (backend = tap)? */
static int tap_nic_of(const struct vm *vm, const struct cfg_device *d)
{
	return d->vm == vm->cfg && d->kind == CFG_NET && d->net_backend == CFG_NET_TAP;
}

int tap__exist(const struct vm *vm)
{
	const struct config *cfg;
	unsigned i;

	if (!vm->sup || vm->cfg->role != CFG_DRIVER_VM)
		return 1;
	cfg = vm->sup->cfg;
	for (i = 0; i < cfg->nr_devices; i++)
		if (tap_nic_of(vm, &cfg->devices[i]) && !if_nametoindex(cfg->devices[i].tap))
			return 0;
	return 1;
}

/*
 * D's tap (of VM) has problem WHY ("" = none any more): kept on every channel of D for
 * `ddvm status` and logged when it changes, not at each retry.
 */
static void tap_problem(struct vm *vm, const struct cfg_device *d, const char *why)
{
	struct supervisor *sup = vm->sup;
	unsigned i;
	int said = 0;

	for (i = 0; i < sup->cfg->nr_channels; i++) {
		char *p = sup->startup[i].tap_problem;

		if (sup->cfg->channels[i].dev != d || !strcmp(p, why))
			continue;
		if (!said && why[0])
			pr_warn("%s: %s", vm->cfg->name, why);
		else if (!said)
			pr_info("%s: tap %s: set up after all (%s)", vm->cfg->name, d->tap, p);
		said = 1;
		snprintf(p, sizeof(sup->startup[i].tap_problem), "%s", why);
	}
}

/* Tap back-ends: QEMU created the tap at 1500 bytes. With `mtu = N` set its MTU
 * (SIOCSIFMTU, like ip link set mtu) -- before it joins a bridge, so the bridge, whose
 * MTU follows its ports' unless set by hand, can follow it; with `bridge = BR` join it to BR
 * and bring it up (ioctls, like brctl addif + ip link set up). Done once per
 * incarnation: a new QEMU creates a new tap, so a restarted driver VM is on the wire
 * again, at the same MTU, without the client noticing more than a link flap. */
/* The bridge port number of interface NAME (its brport/port_no), or -1. */
static int bridge_port_of(const char *name)
{
	char path[80], buf[16] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/net/%s/brport/port_no", name);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return buf[0] ? (int)strtol(buf, NULL, 0) : -1;
}

/*
 * A MAC that ddvm derives (no `mac =`) is the same in every setup of the same device and
 * client names: two such setups on one bridge have two NICs with one MAC, and each
 * loses the other's frames. When one of D's clients' MACs is on D's bridge already,
 * learned on another port than D's tap, say so (an entry ages out after 300 s of
 * silence: a quiet other setup goes unseen).
 */
static void warn_mac_elsewhere(const struct vm *vm, const struct cfg_device *d)
{
	const struct config *cfg = vm->sup->cfg;
	struct __fdb_entry e[64];
	char path[80], mac[18];
	int port = bridge_port_of(d->tap), fd;
	ssize_t n;
	unsigned i, k;

	snprintf(path, sizeof(path), "/sys/class/net/%s/brforward", d->bridge);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || port < 0) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((n = read(fd, e, sizeof(e))) >= (ssize_t)sizeof(e[0]))
		for (k = 0; k < (size_t)n / sizeof(e[0]); k++) {
			int at = e[k].port_hi << 8 | e[k].port_no;

			if (e[k].is_local || at == port)
				continue;
			for (i = 0; i < cfg->nr_channels; i++) {
				const struct cfg_channel *ch = &cfg->channels[i];

				if (ch->dev != d || memcmp(ch->mac, e[k].mac_addr, 6))
					continue;
				pr_warn(
				    "%s: device %s: MAC %s (client %s's) is on bridge %s already, "
				    "behind another port (%d): another setup's NIC with the same "
				    "MAC? Two NICs with one MAC on a bridge lose each other's "
				    "frames: give one of them its own 'mac =' ([device %s])",
				    vm->cfg->name, d->name, cfg_mac_str(ch->mac, mac),
				    ch->client->name, d->bridge, at, d->name);
			}
		}
	close(fd);
}

int tap__setup(struct vm *vm)
{
	const struct config *cfg;
	char why[300];
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
		int idx, joined = 0;

		if (!tap_nic_of(vm, d) || (!d->bridge[0] && !d->mtu))
			continue;
		idx = if_nametoindex(d->tap);
		if (!idx) {
			ret = -errno;
			snprintf(why, sizeof(why), "tap %s: %s", d->tap, strerror(errno));
			tap_problem(vm, d, why);
			continue;
		}
		if (vm->tap_ifindex[i] == idx)
			continue; /* set up in this incarnation already: nothing new to say */
		why[0] = 0;
		if (d->mtu) {
			snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", d->tap);
			ifr.ifr_mtu = d->mtu;
			if (ioctl(fd, SIOCSIFMTU, &ifr) < 0) {
				/* on its bridge all the same, at the MTU it has */
				ret = -errno;
				snprintf(why, sizeof(why), "cannot set the MTU of tap %s to %u: %s",
					 d->tap, d->mtu, strerror(errno));
			}
		}
		if (d->bridge[0]) {
			memset(&ifr, 0, sizeof(ifr));
			snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", d->bridge);
			ifr.ifr_ifindex = idx;
			/* EBUSY: already a port (a tap the supervisor owns outlives each
			 * incarnation, tap.h) */
			if (ioctl(fd, SIOCBRADDIF, &ifr) == 0) {
				joined = 1;
			} else if (errno != EBUSY) {
				ret = -errno;
				snprintf(why, sizeof(why),
					 "cannot add tap %s to bridge %s: %s%s%s%s: the NIC is off "
					 "the network until it can (tried again every %u s)",
					 d->tap, d->bridge, strerror(errno),
					 errno == ENODEV ? " (the bridge is gone: 'ip link add "
							 : "",
					 errno == ENODEV ? d->bridge : "",
					 errno == ENODEV ? " type bridge' and bring it up)" : "",
					 TAP_RETRY_MS / 1000);
				tap_problem(vm, d, why);
				continue;
			}
		}
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", d->tap);
		if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
			ifr.ifr_flags |= IFF_UP;
			if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0) {
				ret = -errno;
				snprintf(why, sizeof(why), "cannot bring tap %s up: %s", d->tap,
					 strerror(errno));
			}
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
		tap_problem(vm, d, why); /* "": none (any more) */
		if (!why[0])
			vm->tap_ifindex[i] = idx; /* else tried again (health.c) */
		if (joined) {
			pr_info("%s: tap %s joined bridge %s, MTU %u", vm->cfg->name, d->tap,
				d->bridge, d->mtu ? d->mtu : 1500);
			warn_mac_elsewhere(vm, d);
		} else if (d->bridge[0])
			pr_debug("%s: tap %s still on bridge %s", vm->cfg->name, d->tap, d->bridge);
		else if (!why[0])
			pr_info("%s: tap %s: MTU %u", vm->cfg->name, d->tap, d->mtu);
	}
	close(fd);
	return ret;
}

void tap__watch(struct vm *vm)
{
	const struct config *cfg;
	char why[300];
	unsigned i;

	if (!vm->sup || vm->cfg->role != CFG_DRIVER_VM)
		return;
	cfg = vm->sup->cfg;
	for (i = 0; i < cfg->nr_devices; i++) {
		const struct cfg_device *d = &cfg->devices[i];
		int idx;

		if (!tap_nic_of(vm, d) || !vm->tap_ifindex[i])
			continue;
		idx = (int)if_nametoindex(d->tap);
		if (idx == vm->tap_ifindex[i])
			continue;
		snprintf(why, sizeof(why),
			 "tap %s was deleted under the running driver VM%s: its NIC is off the "
			 "network; 'ddvm restart %s' gives it a new one",
			 d->tap, idx ? " (one of that name is there again, but not QEMU's)" : "",
			 vm->cfg->name);
		tap_problem(vm, d, why);
	}
}

int tap__owned(const struct cfg_vm *vm)
{
	return vm->role == CFG_DRIVER_VM && vm->spare;
}

/* Attach (1) or detach (0) the queue of FD. */
static int tap_queue(int fd, int attach)
{
	struct ifreq ifr = { 0 };

	ifr.ifr_flags = attach ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE;
	return ioctl(fd, TUNSETQUEUE, &ifr) < 0 ? -errno : 0;
}

/* Is NAME a tun/tap device (it has tun_flags), or some other interface? */
static int tap_is_tuntap(const char *name)
{
	char path[64];

	snprintf(path, sizeof(path), "/sys/class/net/%s/tun_flags", name);
	return access(path, F_OK) == 0;
}

/* The u32 attribute TYPE among the attributes at RTA (LEN bytes), or -1. */
static long long rta_u32(const struct rtattr *rta, int len, unsigned short type)
{
	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len))
		if (rta->rta_type == type && RTA_PAYLOAD(rta) >= sizeof(uint32_t))
			return *(const uint32_t *)RTA_DATA(rta);
	return -1;
}

/* The payload of attribute TYPE (nested attributes, or a string) among the attributes
 * at RTA (LEN bytes), its length in *INNER_LEN; NULL if there is none. */
static const struct rtattr *rta_nested(const struct rtattr *rta, int len, unsigned short type,
				       int *inner_len)
{
	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len))
		if ((rta->rta_type & NLA_TYPE_MASK) == type) {
			*inner_len = (int)RTA_PAYLOAD(rta);
			return RTA_DATA(rta);
		}
	return NULL;
}

/*
 * How many queues of the tap NAME are open now, attached or detached: what the kernel
 * tells of a tun/tap link over rtnetlink (IFLA_LINKINFO > IFLA_INFO_DATA >
 * IFLA_TUN_NUM_QUEUES + IFLA_TUN_NUM_DISABLED_QUEUES, as `ip -d link` shows them).
 * -errno when it cannot tell (-ENODEV: no such link; -EPROTO: not a multiqueue tap).
 */
static int tap_queues_open(const char *name)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req = { 0 };
	union {
		struct nlmsghdr nh;
		char buf[32768];
	} rsp;
	const struct rtattr *info, *data;
	const void *kind;
	int fd, len, info_len, data_len, kind_len = 0, err;
	unsigned ifindex = if_nametoindex(name);
	long long attached, detached;
	ssize_t n;

	if (!ifindex)
		return -ENODEV;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.ifi));
	req.nh.nlmsg_type = RTM_GETLINK;
	req.nh.nlmsg_flags = NLM_F_REQUEST;
	req.ifi.ifi_family = AF_UNSPEC;
	req.ifi.ifi_index = (int)ifindex;
	if (send(fd, &req, req.nh.nlmsg_len, 0) < 0 || (n = recv(fd, &rsp, sizeof(rsp), 0)) < 0) {
		err = errno;
		close(fd);
		return -err;
	}
	close(fd);
	if (!NLMSG_OK(&rsp.nh, (unsigned)n))
		return -EPROTO;
	if (rsp.nh.nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *e = NLMSG_DATA(&rsp.nh);

		return e->error ? e->error : -EPROTO;
	}
	if (rsp.nh.nlmsg_type != RTM_NEWLINK)
		return -EPROTO;
	len = (int)IFLA_PAYLOAD(&rsp.nh);
	info = rta_nested(IFLA_RTA((struct ifinfomsg *)NLMSG_DATA(&rsp.nh)), len, IFLA_LINKINFO,
			  &info_len);
	kind = info ? rta_nested(info, info_len, IFLA_INFO_KIND, &kind_len) : NULL;
	if (!kind || kind_len < 4 || memcmp(kind, "tun", 4))
		return -EPROTO; /* not a tun/tap link */
	data = rta_nested(info, info_len, IFLA_INFO_DATA, &data_len);
	if (!data)
		return -EPROTO; /* a kernel older than 4.18 */
	/* the kernel reports them for a multiqueue tap only (a single-queue one is refused
	 * by its TUNSETIFF, tap_open_queue, and says so) */
	attached = rta_u32(data, data_len, IFLA_TUN_NUM_QUEUES);
	detached = rta_u32(data, data_len, IFLA_TUN_NUM_DISABLED_QUEUES);
	if (attached < 0 || detached < 0)
		return -EPROTO;
	return (int)(attached + detached);
}

/* One more queue of the multiqueue tap NAME (created if it does not exist), attached;
 * the fd or -errno, after an error message. IFF_VNET_HDR as QEMU asks for its own taps
 * (it probes the fd and uses the header when the tap has it). */
static int tap_open_queue(const char *vm, const char *name)
{
	struct ifreq ifr = { 0 };
	int fd, err;

	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		pr_err("%s: tap %s: cannot open /dev/net/tun: %s%s", vm, name, strerror(err),
		       err == ENOENT   ? " (modprobe tun)"
		       : err == EACCES ? " (it is root's: run ddvm as root, or create the tap "
					 "beforehand with 'ip tuntap add dev NAME mode tap "
					 "multi_queue user USER' and give USER /dev/net/tun)"
				       : "");
		return -err;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE;
	if (ioctl(fd, TUNSETIFF, &ifr) == 0)
		return fd;
	err = errno;
	close(fd);
	if (err == EINVAL && !tap_is_tuntap(name))
		pr_err("%s: %s exists and is not a tap (another kind of interface): give the "
		       "NIC another tap name (tap = ...)",
		       vm, name);
	else if (err == EINVAL)
		pr_err("%s: tap %s exists and is not a multiqueue tap, which spare = yes needs "
		       "(the active and the spare QEMU each hold a queue of it): if nothing else "
		       "uses it, delete it (ip link del %s) and ddvm creates it, or create it "
		       "with 'ip tuntap add dev %s mode tap multi_queue'",
		       vm, name, name, name);
	else if (err == EPERM || err == EACCES)
		pr_err("%s: tap %s: creating or opening a tap needs CAP_NET_ADMIN (run ddvm as "
		       "root, or create the tap beforehand with 'ip tuntap add dev %s mode tap "
		       "multi_queue user USER')",
		       vm, name, name);
	else
		pr_err("%s: tap %s: TUNSETIFF: %s", vm, name, strerror(err));
	return -err;
}

/* The anchor of ACTIVE's K-th tap NIC D: it creates the tap, and keeps it from then
 * on (a detached queue: no frame goes to it). 0 or -errno, said why. */
static int tap_anchor(struct vm *active, unsigned k, const struct cfg_device *d)
{
	int fd, ret;

	if (active->tap_anchors[k] >= 0)
		return 0;
	/* A tap that is there already with queues open is someone else's now: another
	 * setup's (its supervisor and QEMUs hold queues of it) or a QEMU's. Joining it
	 * would split its frames between two setups' NICs (the kernel spreads flows over
	 * the attached queues), cutting the other one off. */
	ret = tap_queues_open(d->tap);
	if (ret > 0) {
		pr_err("%s: tap %s is in use: %d queue%s of it open in another process (another "
		       "setup's, or a QEMU's): give this NIC a tap of its own (tap = ...), or "
		       "stop what holds it",
		       active->cfg->name, d->tap, ret, ret == 1 ? "" : "s");
		return -EBUSY;
	}
	fd = tap_open_queue(active->cfg->name, d->tap);
	if (fd < 0)
		return fd;
	/* Take, then test (as image_lock.c): two `ddvm up` naming one new tap in the same
	 * instant both found none open above; each now holds one, so at least one of them
	 * sees two and backs off. Never both go on; rarely neither (each says so). A
	 * kernel that cannot tell (< 0) is let through, as above. */
	ret = tap_queues_open(d->tap);
	if (ret > 1) {
		pr_err("%s: tap %s is in use: another process opened a queue of it while this "
		       "setup did (another 'ddvm up' naming the same tap?): give this NIC a tap "
		       "of its own (tap = ...), or start one setup at a time",
		       active->cfg->name, d->tap);
		close(fd);
		return -EBUSY;
	}
	ret = tap_queue(fd, 0);
	if (ret) {
		pr_err("%s: tap %s: cannot detach the supervisor's queue: %s", active->cfg->name,
		       d->tap, strerror(-ret));
		close(fd);
		return ret;
	}
	active->tap_anchors[k] = fd;
	return 0;
}

/* Is D's bridge there (in this network namespace)? Says what to do when not. */
static int bridge_ok(const struct cfg_device *d)
{
	char path[64];

	snprintf(path, sizeof(path), "/sys/class/net/%s/bridge", d->bridge);
	if (!d->bridge[0] || !access(path, F_OK))
		return 1;
	/* checked at `ddvm up` (config__check_files): it went away, or changed, since */
	if (if_nametoindex(d->bridge))
		pr_err("%s: device %s: bridge = %s, but %s is no longer a bridge: name a "
		       "bridge in the setup file ('ddvm down', fix it, 'ddvm up')",
		       d->vm->name, d->name, d->bridge, d->bridge);
	else
		pr_err("%s: device %s: bridge = %s, but %s is gone: create it again (ip link "
		       "add %s type bridge; ip link set %s up), then 'ddvm restart %s'",
		       d->vm->name, d->name, d->bridge, d->bridge, d->bridge, d->bridge,
		       d->vm->name);
	return 0;
}

int tap__prepare(struct vm *vm)
{
	const struct config *cfg = vm->sup->cfg;
	unsigned i, k = 0;
	int ret;

	if (vm->cfg->role != CFG_DRIVER_VM)
		return 0;
	for (i = 0; i < cfg->nr_devices; i++) {
		const struct cfg_device *d = &cfg->devices[i];

		if (!tap_nic_of(vm, d))
			continue;
		if (!bridge_ok(d))
			return -ENODEV;
		if (tap__owned(vm->cfg) && k < TAP_MAX_OWNED) {
			ret = tap_anchor(vm, k++, d);
			if (ret)
				return ret;
		}
	}
	return 0;
}

int tap__open_queues(struct vm *vm)
{
	const struct config *cfg = vm->sup->cfg;
	unsigned i, k = 0;
	int fd, ret;

	tap__close_queues(vm->tap_fds);
	if (!tap__owned(vm->cfg))
		return 0;
	for (i = 0; i < cfg->nr_devices && k < TAP_MAX_OWNED; i++) {
		const struct cfg_device *d = &cfg->devices[i];

		if (!tap_nic_of(vm, d))
			continue;
		/* the tap exists: its anchor was made at `ddvm up` (tap__prepare) */
		fd = tap_open_queue(vm->cfg->name, d->tap);
		if (fd < 0) {
			ret = fd;
			goto err;
		}
		vm->tap_fds[k++] = fd;
		/* a spare's queue gets no frame until it takes over */
		ret = vm->spare_of ? tap_queue(fd, 0) : 0;
		if (ret) {
			pr_err("%s: spare: tap %s: cannot detach its queue: %s", vm->cfg->name,
			       d->tap, strerror(-ret));
			goto err;
		}
	}
	return 0;
err:
	tap__close_queues(vm->tap_fds);
	return ret;
}

void tap__close_queues(int *fds)
{
	unsigned k;

	for (k = 0; k < TAP_MAX_OWNED; k++) {
		if (fds[k] >= 0)
			close(fds[k]);
		fds[k] = -1;
	}
}

int tap__handover(const int *old_fds, const int *new_fds, const char *vm_name)
{
	unsigned k;
	int r, ret = 0;

	/* detach first: with two attached queues the kernel would spread the tap's flows
	 * over both, and half of them would go to a QEMU that never reads again */
	for (k = 0; old_fds && k < TAP_MAX_OWNED; k++)
		if (old_fds[k] >= 0 && (r = tap_queue(old_fds[k], 0)) && r != -EINVAL) {
			pr_warn("%s: tap queue %u of the old QEMU: detach: %s", vm_name, k,
				strerror(-r));
			ret = r;
		}
	for (k = 0; k < TAP_MAX_OWNED; k++)
		if (new_fds[k] >= 0 && (r = tap_queue(new_fds[k], 1))) {
			pr_warn("%s: tap queue %u: attach: %s; frames from the host are lost",
				vm_name, k, strerror(-r));
			ret = r;
		}
	return ret;
}

void tap__release(struct vm *vm)
{
	tap__close_queues(vm->tap_anchors);
}
