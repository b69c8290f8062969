#!/bin/bash
# An ordinary Debian 12 client VM, from Debian's packages (debootstrap), for the tests
# that run ddvm's client drivers the way a user installs them (docs/clients.md).
#
#   images/debian-client.sh base
#       build/debian-client/base.tar.zst: a minbase bookworm with the stock kernel and
#       its headers, dkms, systemd, udev, iproute2, ping, e2fsprogs. Built once with
#       debootstrap (minutes: it downloads ~200 MB) and reused while PACKAGES and the
#       suite are unchanged (build/debian-client/base.key)
#   images/debian-client.sh disk DEB OVERLAY
#       prints PREFIX of PREFIX.img (raw ext4, the root file system), PREFIX.vmlinuz and
#       PREFIX.initrd, in build/debian-client/: the base with DEB installed by dpkg in a
#       chroot (a DKMS package builds its modules there, against the VM's own kernel
#       headers), the files of directory OVERLAY copied over it, an initramfs with just
#       what mounts a virtio-blk root (the generic one probes every driver: slow under
#       TCG). Cached by the checksums of the base, DEB and OVERLAY (the last one kept);
#       boot it through a copy-on-write overlay (qemu-img create -b). Needs root
#       (chroot, mounts in a private mount namespace).
#
# Environment: DDVM_DEBIAN_MIRROR (default http://deb.debian.org/debian).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
DIR=$BUILD/debian-client
SUITE=bookworm
MIRROR=${DDVM_DEBIAN_MIRROR:-http://deb.debian.org/debian}
PACKAGES=linux-image-amd64,linux-headers-amd64,dkms,systemd-sysv,udev,iproute2,iputils-ping,e2fsprogs,kmod,procps

die() { echo "debian-client.sh: $*" >&2; exit 1; }

base() {
	local key="$SUITE $PACKAGES"
	if [ -f "$DIR/base.tar.zst" ] && [ "$(cat "$DIR/base.key" 2>/dev/null)" = "$key" ]; then
		return 0
	fi
	command -v debootstrap >/dev/null || die "debootstrap missing: run 'make deps'"
	[ "$(id -u)" = 0 ] || die "debootstrap needs root"
	mkdir -p "$DIR"
	tmp=$(mktemp -d "$DIR/base.XXXXXX") # global: the EXIT trap removes it
	trap 'rm -rf "$tmp"' EXIT
	echo "debian-client.sh: debootstrap $SUITE from $MIRROR (once; cached in $DIR)" >&2
	debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$tmp/root" "$MIRROR" \
		>"$tmp/debootstrap.log" 2>&1 || { tail -n 20 "$tmp/debootstrap.log" >&2; die "debootstrap failed"; }
	# What no test needs: downloaded .debs, and the kernel's modules for hardware the VM
	# does not have (keeps the image and each test's copy small).
	rm -rf "$tmp/root/var/cache/apt/archives/"*.deb "$tmp/root/var/lib/apt/lists/"*_Packages
	for m in "$tmp"/root/lib/modules/*/kernel; do
		rm -rf "$m/sound" "$m/drivers/gpu" "$m/drivers/media" "$m/drivers/net/wireless" \
			"$m/drivers/infiniband" "$m/drivers/staging" "$m/drivers/isdn" "$m/drivers/bluetooth"
		chroot "$tmp/root" depmod "$(basename "$(dirname "$m")")"
	done
	tar -C "$tmp/root" --numeric-owner -cf - . | zstd -q -T0 -3 -o "$DIR/base.tar.zst.new"
	mv "$DIR/base.tar.zst.new" "$DIR/base.tar.zst"
	echo "$key" >"$DIR/base.key"
}

disk() {
	local deb=$1 overlay=$2 key out kver
	[ "$(id -u)" = 0 ] || die "needs root (chroot)"
	[ -f "$DIR/base.tar.zst" ] || die "no base: run '$0 base' first"
	key=$({
		cat "$DIR/base.key"
		sha256sum <"$deb"
		tar -C "$overlay" --sort=name --mtime=@0 --owner=0 --group=0 -cf - . | sha256sum
		sha256sum <"$0"
	} | sha256sum | cut -c1-16)
	out=$DIR/disk-$key
	if [ -f "$out.img" ] && [ -f "$out.vmlinuz" ] && [ -f "$out.initrd" ]; then
		echo "$out"
		return 0
	fi
	rm -f "$DIR"/disk-*
	r=$(mktemp -d "${TMPDIR:-/tmp}/debian-client.XXXXXX") # global: the EXIT trap removes it
	trap 'rm -rf "$r"' EXIT
	zstd -q -dc "$DIR/base.tar.zst" | tar -C "$r" --numeric-owner -xf -
	cp "$deb" "$r/tmp/"
	cp -a "$overlay/." "$r/"
	printf 'virtio_pci\nvirtio_blk\next4\n' >>"$r/etc/initramfs-tools/modules"
	sed -i 's/^MODULES=.*/MODULES=list/' "$r/etc/initramfs-tools/initramfs.conf"
	# dpkg, dkms and update-initramfs with /proc, /sys and /dev, in a mount namespace of
	# their own (the mounts vanish with it). A chroot has no running kernel of its own:
	# Debian's dkms helper then builds for the newest kernel in /lib/modules, the VM's.
	# shellcheck disable=SC2016 # expanded by the inner sh
	unshare --mount --propagation private sh -c '
		mount -t proc proc "$1/proc" && mount -t sysfs sys "$1/sys" &&
		mount --rbind /dev "$1/dev" &&
		chroot "$1" /usr/bin/env -i DEBIAN_FRONTEND=noninteractive HOME=/root LANG=C.UTF-8 \
			PATH=/usr/sbin:/usr/bin:/sbin:/bin \
			sh -c "dpkg -i /tmp/$2 && update-initramfs -u -k all"' sh "$r" "$(basename "$deb")" \
		>"$out.dpkg.log" 2>&1 ||
		{ cat "$out.dpkg.log" >&2; die "dpkg -i $(basename "$deb") failed in the chroot"; }
	rm -f "$r/tmp/$(basename "$deb")"
	kver=$(basename "$(find "$r/lib/modules" -mindepth 1 -maxdepth 1 | sort -V | tail -n 1)")
	cp "$r/boot/vmlinuz-$kver" "$out.vmlinuz.new"
	cp "$r/boot/initrd.img-$kver" "$out.initrd.new"
	mkfs.ext4 -q -F -L ddvmroot -d "$r" "$out.img.new" 3G >/dev/null
	for f in img vmlinuz initrd; do mv "$out.$f.new" "$out.$f"; done
	echo "$out"
}

case "${1:-}" in
base) base ;;
disk)
	[ $# = 3 ] || die "usage: $0 disk DEB OVERLAY"
	disk "$2" "$3"
	;;
*) die "usage: $0 base | disk DEB OVERLAY" ;;
esac
