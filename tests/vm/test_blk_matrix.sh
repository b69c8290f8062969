#!/bin/bash
# timeout: 600
# blk: the disk controller matrix, each disk's unmodified driver in ONE driver VM
# (machine pc) and each served over its own channel to ONE client VM:
#   nvme, ahci (ich9-ahci + ide-hd), ata_piix (the pc board's IDE + ide-hd),
#   virtio-blk-pci, virtio-scsi-pci + scsi-hd, megasas (LSI MegaRAID SAS 1078) + scsi-hd.
# For each disk, through /dev/ddvmblkN in the client: mkfs.ext4 (first 40 MiB) + e2fsck + a file written,
# remounted, read back and checksummed (and the host reads the file back out of the raw
# image with debugfs); fio with verify (randwrite+verify, qd 16) from 44 MiB on. On nvme the full fio
# verify matrix: random and sequential, reads and writes, iodepth 1 and 32. Then the
# edges: I/O past the end and misaligned direct I/O fail cleanly; discard works where
# the device has it. Both VMs must stay up without an oops. Every controller must have
# served its reads and writes by DMA straight into the channel's slots (zero copy: the
# translation module's ddvm_blk_stats, printed by the driver VM every 5 s).
#   BLK_CTRLS="nvme ahci" tests/vm/test_blk_matrix.sh   runs a subset
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/blk_lib.sh"
blk_need_build

read -r -a ctrls <<<"${BLK_CTRLS:-nvme ahci piix virtio-blk virtio-scsi megasas}"
n=${#ctrls[@]}

drv_args=()
cli_args=()
for i in "${!ctrls[@]}"; do
	c=${ctrls[i]}
	qemu-img create -q -f raw "$T/$c.img" "${BLK_IMG_MB}M"
	blk_chan_start "$c" "disk/by-pci/${BLK_BDF[$c]}"
	mapfile -t a < <(blk_disk_args "$c" "$T/$c.img")
	drv_args+=("${a[@]}")
	mapfile -t a < <(blk_chan_args "$i" "$c" backend)
	drv_args+=("${a[@]}")
	mapfile -t a < <(blk_chan_args "$i" "$c" frontend)
	cli_args+=("${a[@]}")
done

# the $(...) runs in the driver VM
# shellcheck disable=SC2016
BLK_DRIVER_LOOP='while :; do sleep 5; for f in /sys/bus/pci/devices/*/ddvm_blk_stats; do d=${f%/*}; echo "BLK-PATH ${d##*/} $(tr "\n" " " <$f)"; done; done' \
	blk_driver_script "$T/driver.sh" "${ctrls[@]}"
blk_driver_vm drv pc "$T/driver.sh" "${drv_args[@]}"

# The client's script: one block per controller, results as BLK-... lines.
{
	blk_wait_disks_sh "$n"
	cat <<'EOF'
fail=0
fs_case() { # INDEX NAME
	d=/dev/ddvmblk$1
	echo "BLK-INFO $2 $(cat /sys/block/ddvmblk$1/size) sectors lbs=$(cat /sys/block/ddvmblk$1/queue/logical_block_size) wc=$(cat /sys/block/ddvmblk$1/queue/write_cache) fua=$(cat /sys/block/ddvmblk$1/queue/fua) discard=$(cat /sys/block/ddvmblk$1/queue/discard_max_bytes)"
	mkfs.ext4 -q -F -E nodiscard $d 40960 || return 1
	e2fsck -fn $d >/dev/null || return 2
	mount -t ext4 $d /mnt || return 3
	dd if=/dev/urandom of=/mnt/data bs=64k count=64 2>/dev/null || return 4
	mkdir -p /mnt/dir && cp /mnt/data /mnt/dir/copy || return 5
	s1=$(sha256sum </mnt/data | cut -d' ' -f1)
	umount /mnt || return 6
	echo 3 >/proc/sys/vm/drop_caches
	mount -t ext4 $d /mnt || return 7
	s2=$(sha256sum </mnt/data | cut -d' ' -f1)
	s3=$(sha256sum </mnt/dir/copy | cut -d' ' -f1)
	umount /mnt || return 8
	[ "$s1" = "$s2" ] && [ "$s1" = "$s3" ] || return 9
	e2fsck -fn $d >/dev/null || return 10
	echo "BLK-SUM $2 $s1"
}
fio_light() { # INDEX NAME
	fio --eta=never --name=light --filename=/dev/ddvmblk$1 --offset=44M --direct=1 --ioengine=libaio \
		--rw=randwrite --bs=4k --size=4M --iodepth=16 --verify=crc32c \
		--do_verify=1 --verify_fatal=1 --randrepeat=0 --output=/tmp/fio-$2.txt ||
		{ cat /tmp/fio-$2.txt; return 1; }
	grep -q 'err= 0' /tmp/fio-$2.txt
}
EOF
	for i in "${!ctrls[@]}"; do
		c=${ctrls[i]}
		cat <<EOF
fs_case $i $c; rc=\$?
[ \$rc = 0 ] && { fio_light $i $c || rc=20; }
echo "BLK-CASE $c rc=\$rc"
[ \$rc = 0 ] || fail=1
EOF
	done
	# the full fio verify matrix on the first controller (nvme by default)
	cat <<'EOF'
d=/dev/ddvmblk0
for rw in randwrite write; do
	for qd in 1 32; do
		# write with verify, then read the same data back with verify (sequential
		# or random reads of what the write phase laid down)
		rd=read; [ $rw = randwrite ] && rd=randread
		fio --eta=never --name=w --filename=$d --offset=44M --direct=1 --ioengine=libaio --rw=$rw --bs=16k \
			--size=8M --iodepth=$qd --verify=crc32c --do_verify=1 --verify_fatal=1 \
			--randrepeat=0 --output=/tmp/fio.txt && grep -q 'err= 0' /tmp/fio.txt &&
		fio --eta=never --name=w --filename=$d --offset=44M --direct=1 --ioengine=libaio --rw=$rd --bs=16k \
			--size=8M --iodepth=$qd --verify=crc32c --verify_only=1 --verify_fatal=1 \
			--randrepeat=0 --output=/tmp/fio2.txt && grep -q 'err= 0' /tmp/fio2.txt
		rc=$?
		[ $rc = 0 ] || { cat /tmp/fio.txt /tmp/fio2.txt; fail=1; }
		echo "BLK-FIO $rw+$rd qd=$qd rc=$rc"
	done
done
# mixed random read/write with verify at depth 32
fio --eta=never --name=m --filename=$d --offset=44M --direct=1 --ioengine=libaio --rw=randrw --bs=4k --size=8M \
	--iodepth=32 --verify=crc32c --do_verify=1 --verify_fatal=1 --randrepeat=0 \
	--output=/tmp/fio.txt && grep -q 'err= 0' /tmp/fio.txt
rc=$?; [ $rc = 0 ] || { cat /tmp/fio.txt; fail=1; }
echo "BLK-FIO randrw qd=32 rc=$rc"

# Edges: past the end and misaligned direct I/O fail with an error, nothing hangs.
sz=$(cat /sys/block/ddvmblk0/size)
if dd if=/dev/zero of=$d bs=512 count=8 seek=$sz oflag=direct 2>/tmp/dd.err; then
	echo "BLK-EDGE write-past-end succeeded"; fail=1
else echo "BLK-EDGE write-past-end error: $(tail -n1 /tmp/dd.err)"; fi
if dd if=$d of=/dev/null bs=512 count=8 skip=$((sz + 8)) iflag=direct 2>/tmp/dd.err &&
	[ -n "$(dd if=$d bs=512 count=8 skip=$((sz + 8)) iflag=direct 2>/dev/null | head -c1)" ]; then
	echo "BLK-EDGE read-past-end returned data"; fail=1
else echo "BLK-EDGE read-past-end: no data"; fi
if fio --eta=never --name=mis --filename=$d --direct=1 --rw=write --bs=1000 --size=1000 --output=/tmp/dd.err; then
	echo "BLK-EDGE misaligned-write succeeded"; fail=1
else echo "BLK-EDGE misaligned-write error: $(tail -n1 /tmp/dd.err)"; fi
if dd if=/dev/zero of=$d bs=512 seek=$((62 * 2048)) count=1 oflag=direct conv=notrunc 2>/tmp/dd.err; then
	echo "BLK-EDGE aligned-write ok"
else echo "BLK-EDGE aligned-write failed: $(tail -n1 /tmp/dd.err)"; fail=1; fi
if [ "$(cat /sys/block/ddvmblk0/queue/discard_max_bytes)" != 0 ]; then
	if blkdiscard -o $((60 << 20)) -l 1048576 $d; then echo "BLK-EDGE discard ok"
	else echo "BLK-EDGE discard failed"; fail=1; fi
fi
dmesg | grep -i 'ddvm' | tail -n 20
echo "BLK-CLIENT-DONE fail=$fail"
EOF
} >"$T/client.sh"

vm_wait drv 'DDVM-READY' 120
blk_client_vm cli "$T/client.sh" "${cli_args[@]}"
vm_wait drv 'BLK-DRIVER-UP' 120
for c in "${ctrls[@]}"; do
	grep -Eq "DDVM-PCI ${BLK_BDF[$c]} .* driver=${BLK_DRIVER[$c]}[[:space:]]*\$" "$T/drv.console" ||
		t_fail "$c: the driver VM did not bind ${BLK_DRIVER[$c]}"
done
vm_wait cli 'BLK-CLIENT-DONE' 240
grep -E '^BLK-' "$T/cli.console"
vm_no_oops drv
vm_no_oops cli

# The host reads each file back out of the raw image (the driver VM wrote it).
for c in "${ctrls[@]}"; do
	grep -q "^BLK-CASE $c rc=0" "$T/cli.console" || t_fail "$c failed in the client"
	want=$(sed -n "s/^BLK-SUM $c //p" "$T/cli.console" | tr -d '\r')
	got=$(debugfs -R "cat /data" "$T/$c.img" 2>/dev/null | sha256sum | cut -d' ' -f1)
	[ "$want" = "$got" ] || t_fail "$c: the image on the host holds $got, the client wrote $want"
	t_log "$c: ext4 + fio verify through ddvm_blkback, host image checksum ok"
done
grep -q 'BLK-CLIENT-DONE fail=0' "$T/cli.console" || t_fail "client checks failed"

# Which data path each disk took: the driver VM's counters after the client's I/O.
seen=$(grep -ac '^BLK-PATH' "$T/drv.console" || true)
deadline=$((SECONDS + 30))
while [ "$(grep -ac '^BLK-PATH' "$T/drv.console" || true)" -lt $((seen + 2 * n)) ]; do
	((SECONDS < deadline)) || t_fail "the driver VM printed no counters for 30 s"
	sleep 0.2
done
for i in "${!ctrls[@]}"; do
	c=${ctrls[i]}
	line=$(grep -a "^BLK-PATH 0000:00:$(printf %02x $((0x10 + i))).0 " "$T/drv.console" | tail -n1 | tr -d '\r')
	zc=$(sed -n 's/.* zero_copy_requests \([0-9]*\) .*/\1/p' <<<"$line")
	cp=$(sed -n 's/.* copy_requests \([0-9]*\) .*/\1/p' <<<"$line")
	[[ "$line" == *" path zero-copy "* && "${zc:-0}" -gt 0 && "$cp" = 0 ]] ||
		t_fail "$c: not served by zero copy: $line"
	t_log "$c: zero copy, $zc requests, $(sed -n 's/.* inflight_max \([0-9]*\).*/\1/p' <<<"$line") in flight at most"
done
echo SUCCESS
