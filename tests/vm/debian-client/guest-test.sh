#!/bin/sh
# Runs at boot in the Debian client VM of tests/vm/test_libvirt_client.sh
# (ddvm-test.service); says what it saw on the serial console as "DDVM-T ..." lines.
# The ddvm modules must have come by themselves (udev, from the DKMS package); the NIC
# pings the peer behind the driver VM, the disk holds a checksummed file; then the host
# restarts the driver VM, and the same interface, the same mounted file system and the
# same file must work again.
PEER=10.99.18.1
ADDR=10.99.18.2/24

say() { echo "DDVM-T $*" >/dev/ttyS0; }
fail() {
	say "FAIL $*"
	dmesg | grep -i 'ddvm\|ivshmem\|1af4:1110' | sed 's/^/DDVM-T dmesg /' >/dev/ttyS0
	exit 1
}
epoch() { sed -n 's/^epoch //p' "$NF/ddvm"; }
# ping_ok TRIES: one answer within TRIES seconds, then "N received" of 3
ping_ok() {
	n=0
	until ping -c 1 -W 1 "$PEER" >/dev/null 2>&1; do
		n=$((n + 1))
		[ "$n" -le "$1" ] || return 1
	done
	ping -c 3 -i 0.3 -W 2 "$PEER" | grep -o '[0-9]* received'
}

say "START $(uname -r); ivshmem: $(grep -l 0x1110 /sys/bus/pci/devices/*/device | wc -l) devices"
n=0
until [ -b /dev/ddvmblk0 ] && ls -d /sys/bus/pci/drivers/ddvm_netfront/0000:*/net/* >/dev/null 2>&1; do
	n=$((n + 1))
	[ "$n" -le 60 ] || fail "no ddvm devices after 60 s; modules: $(lsmod | grep ddvm | tr '\n' ' ')"
	sleep 1
done
# udev may still rename the interface (eth0 -> ens3): let it finish first.
udevadm settle --timeout=60 || say "udevadm settle timed out"
say "MODULES $(modinfo -n ddvm_netfront) $(modinfo -n ddvm_blkfront)"
say "CMDLINE $(cat /proc/cmdline)"
for NF in /sys/bus/pci/drivers/ddvm_netfront/0000:*; do break; done
for IFN in "$NF"/net/*; do IFN=${IFN##*/}; break; done
ip link set "$IFN" up
ip addr add "$ADDR" dev "$IFN"
r=$(ping_ok 60) || fail "no answer from $PEER through the driver VM's NIC ($IFN)"
say "PING1 $IFN $r"

mkfs.ext4 -q -F /dev/ddvmblk0 || fail "mkfs.ext4 /dev/ddvmblk0"
mkdir -p /mnt/d
mount /dev/ddvmblk0 /mnt/d || fail "mount /dev/ddvmblk0"
{ head -c 16M /dev/urandom >/mnt/d/f1 && sync; } || fail "writing f1"
s1=$(sha256sum /mnt/d/f1 | cut -d' ' -f1)
e0=$(epoch)
say "PHASE1 epoch=$e0 sha1=$s1"

# The host restarts the driver VM now: wait for the channel's new epoch.
n=0
while [ "$(epoch)" = "$e0" ]; do
	n=$((n + 1))
	[ "$n" -le 600 ] || fail "the net channel's epoch stayed $e0 for 300 s"
	sleep 0.5
done
say "EPOCH $(epoch)"
r=$(ping_ok 120) || fail "no answer from $PEER after the driver VM's restart"
say "PING2 $IFN $r"
echo 3 >/proc/sys/vm/drop_caches
s1b=$(sha256sum /mnt/d/f1 | cut -d' ' -f1)
{ head -c 16M /dev/urandom >/mnt/d/f2 && sync; } || fail "writing f2 after the restart"
s2=$(sha256sum /mnt/d/f2 | cut -d' ' -f1)
{ umount /mnt/d && mount /dev/ddvmblk0 /mnt/d; } || fail "remount after the restart"
s1c=$(sha256sum /mnt/d/f1 | cut -d' ' -f1)
s2b=$(sha256sum /mnt/d/f2 | cut -d' ' -f1)
umount /mnt/d
{ [ "$s1b" = "$s1" ] && [ "$s1c" = "$s1" ]; } || fail "f1 read back as $s1b / $s1c, written as $s1"
[ "$s2b" = "$s2" ] || fail "f2 read back as $s2b, written as $s2"
say "RESULT ok sha1=$s1 sha2=$s2"
