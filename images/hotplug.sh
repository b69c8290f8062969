#!/bin/sh
# /sbin/ddvm-hotplug: the kernel's hotplug helper in ddvm guest images (there is no
# udev). For every disk that appears it creates /dev/disk/by-pci/<BDF> -> /dev/<disk>,
# where BDF is the PCI function of the disk's controller on the root bus. That is the
# stable name the supervisor gives a translation module (hdr.backend_target
# "disk/by-pci/0000:00:05.0"): kernel names like nvme0n1 or sda depend on probe order.
# Called with no arguments by /init for disks that exist already (coldplug).
PATH=/usr/sbin:/usr/bin:/sbin:/bin

link_disk() { # $1 = /sys/block/NAME or /sys/devices/.../NAME
	real=$(readlink -f "$1") || return 0
	bdf=$(echo "$real" | sed -n 's,^/sys/devices/pci0000:00/\(0000:00:[0-9a-f][0-9a-f]\.[0-7]\)/.*,\1,p')
	[ -n "$bdf" ] || return 0
	mkdir -p /dev/disk/by-pci
	[ -e "/dev/disk/by-pci/$bdf" ] || ln -s "/dev/${real##*/}" "/dev/disk/by-pci/$bdf"
}

if [ -n "${ACTION:-}" ]; then
	[ "$ACTION" = add ] && [ "${SUBSYSTEM:-}" = block ] && [ "${DEVTYPE:-}" = disk ] &&
		link_disk "/sys$DEVPATH"
	exit 0
fi
for b in /sys/block/*; do
	[ -e "$b/device" ] && link_disk "$b"
done
exit 0
