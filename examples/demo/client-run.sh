#!/bin/sh
# Client VM (app) of the demo: use the NIC and the disk that live in the driver VM.
# Every line starting with DEMO- is picked up by scripts/demo.sh.
modprobe ddvm_netfront
modprobe ddvm_blkfront
peer=10.99.0.1
for d in /sys/class/net/*; do
	[ "$(cat "$d/address")" = 52:54:00:dd:00:01 ] && ifn=${d##*/}
done
[ -n "$ifn" ] || { echo "DEMO-FAIL no ddvm network interface"; exit 1; }
ip link set "$ifn" up
ip addr add 10.99.0.11/24 dev "$ifn"
i=0
while [ "$(cat "/sys/class/net/$ifn/carrier")" != 1 ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
while [ ! -b /dev/ddvmblk0 ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
echo "DEMO-CLIENT-UP ifn=$ifn driver=$(basename "$(readlink "/sys/class/net/$ifn/device/driver")")"

echo "DEMO-STEP ping $peer through the driver VM's e1000"
ping -c 5 -i 0.2 $peer | sed 's/^/DEMO-OUT /'
echo "DEMO-STEP iperf3 client -> peer (5 s)"
iperf3 -c $peer -t 5 -f m | grep -E 'sender|receiver' | sed 's/^/DEMO-OUT /'
echo "DEMO-STEP iperf3 peer -> client (5 s)"
iperf3 -c $peer -t 5 -f m -R | grep -E 'sender|receiver' | sed 's/^/DEMO-OUT /'

echo "DEMO-STEP mkfs.ext4 on /dev/ddvmblk0 (the driver VM's virtio-blk disk)"
sed 's/^/DEMO-OUT sectors: /' /sys/block/ddvmblk0/size
mkfs.ext4 -q -F /dev/ddvmblk0 && echo "DEMO-OUT mkfs.ext4 ok"
mkdir -p /mnt && mount /dev/ddvmblk0 /mnt
dd if=/dev/urandom of=/mnt/file bs=1M count=32 2>/dev/null
a=$(sha256sum /mnt/file | cut -d' ' -f1)
umount /mnt
echo 3 >/proc/sys/vm/drop_caches
e2fsck -fn /dev/ddvmblk0 >/dev/null 2>&1 && echo "DEMO-OUT e2fsck clean"
mount /dev/ddvmblk0 /mnt
b=$(sha256sum /mnt/file | cut -d' ' -f1)
umount /mnt
echo "DEMO-OUT wrote 32 MiB, sha256 $a"
echo "DEMO-OUT read back,  sha256 $b"
[ "$a" = "$b" ] && echo "DEMO-OUT checksums match" || echo "DEMO-FAIL checksums differ"
echo "DEMO-STEP client-side counters"
echo "DEMO-OUT $ifn: rx $(cat "/sys/class/net/$ifn/statistics/rx_bytes") bytes, tx $(cat "/sys/class/net/$ifn/statistics/tx_bytes") bytes"
grep -E 'reads|writes' /sys/block/ddvmblk0/stat >/dev/null 2>&1
# shellcheck disable=SC2046 # the fields of the stat line, split into $1..$11
set -- $(cat /sys/block/ddvmblk0/stat)
echo "DEMO-OUT ddvmblk0: $1 reads ($(($3 / 2)) KiB), $5 writes ($(($7 / 2)) KiB)"
echo DEMO-DONE
