#!/bin/sh
# Install the Debian packages ddvm needs to build, test and run its demo.
# Idempotent and quick when everything is present; needs root only to install.
set -eu

PKGS="
build-essential clang llvm libclang-rt-14-dev clang-format shellcheck
libcmocka-dev libinih-dev libjansson-dev libsystemd-dev pkg-config
linux-headers-amd64 kmod dkms
qemu-system-x86 qemu-utils
busybox-static cpio gzip zstd xz-utils
iperf3 fio e2fsprogs iproute2 iputils-ping ethtool
nbdkit nbdkit-plugin-dev libnbd-bin
gnuplot-nox python3 jq file elfutils strace
debootstrap libvirt-daemon-system libvirt-clients libvirt-daemon-driver-qemu systemd
"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed ||
		missing="$missing $p"
done

if [ -z "$missing" ]; then
	exit 0
fi

if [ "$(id -u)" != 0 ]; then
	echo "ddvm: missing Debian packages:$missing" >&2
	echo "ddvm: run 'sudo make deps' (or install them with apt-get) and try again" >&2
	exit 1
fi

echo "ddvm: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "ddvm: packages installed"
