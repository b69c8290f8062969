#!/bin/sh
# Client VM (app) of examples/disks.ini: every disk the driver VM serves, whatever its
# controller there, is an ordinary /dev/ddvmblkN here. For each: mkfs.ext4, a file of
# random data, e2fsck, the file read back and compared by checksum; a disk with
# 4096-byte logical blocks must refuse a 512-byte O_DIRECT read and take a 4096-byte
# one. One line per disk: DISKS-RESULT ddvmblkN driver=DRIVER lbs=N ok (or FAIL why).
modprobe ddvm_blkfront
ndisks() { # how many /dev/ddvmblkN the client driver has made
	c=0
	for b in /sys/block/ddvmblk*; do [ -e "$b" ] && c=$((c + 1)); done
	echo "$c"
}
chans=/sys/firmware/qemu_fw_cfg/by_name/opt/ddvm/channels/raw
want=$(grep -c ' blk client ' "$chans")
i=0
while [ $i -lt 1200 ]; do
	n=$(ndisks)
	[ "$n" -ge "$want" ] && break
	sleep 0.1
	i=$((i + 1))
done
echo "DISKS-CLIENT-UP $n of $want disks"
fail=0
for k in $(seq 0 14); do
	d=ddvmblk$k
	[ -e "/sys/block/$d" ] || continue
	drv=$(dmesg | sed -n "s/.*ddvm blk: $d: .* (\(.*\) in the driver VM).*/\1/p" | tail -n 1)
	lbs=$(cat "/sys/block/$d/queue/logical_block_size")
	why=""
	mkfs.ext4 -q -F "/dev/$d" >/tmp/mkfs.txt 2>&1 || why="mkfs.ext4 failed: $(tail -n 1 /tmp/mkfs.txt)"
	if [ -z "$why" ]; then
		mkdir -p "/mnt/$d"
		mount "/dev/$d" "/mnt/$d" || why="mount failed"
	fi
	if [ -z "$why" ]; then
		dd if=/dev/urandom of="/mnt/$d/file" bs=1M count=4 2>/dev/null
		a=$(sha256sum "/mnt/$d/file" | cut -d' ' -f1)
		umount "/mnt/$d"
		echo 3 >/proc/sys/vm/drop_caches
		e2fsck -fn "/dev/$d" >/tmp/fsck.txt 2>&1 || why="e2fsck: $(tail -n 1 /tmp/fsck.txt)"
	fi
	if [ -z "$why" ]; then
		mount -o ro "/dev/$d" "/mnt/$d"
		b=$(sha256sum "/mnt/$d/file" | cut -d' ' -f1)
		umount "/mnt/$d"
		[ "$a" = "$b" ] || why="checksums differ: wrote $a, read $b"
	fi
	if [ -z "$why" ] && [ "$lbs" = 4096 ]; then
		fio --name=r --filename="/dev/$d" --direct=1 --rw=read --bs=512 --size=4k \
			--ioengine=psync --output=/tmp/fio512.txt >/dev/null 2>&1 &&
			why="a 512-byte O_DIRECT read worked on a 4096-byte-block disk"
		fio --name=r --filename="/dev/$d" --direct=1 --rw=read --bs=4096 --size=64k \
			--ioengine=psync --output=/tmp/fio4k.txt >/dev/null 2>&1 ||
			why="a 4096-byte O_DIRECT read failed: $(grep -i err /tmp/fio4k.txt | head -n 1)"
	fi
	if [ -z "$why" ]; then
		echo "DISKS-RESULT $d driver=$drv lbs=$lbs ok sha256=$(echo "$a" | cut -c1-16)"
	else
		echo "DISKS-RESULT $d driver=$drv lbs=$lbs FAIL $why"
		fail=$((fail + 1))
	fi
done
echo "DISKS-DONE disks=$(ndisks) of $want fail=$fail"
