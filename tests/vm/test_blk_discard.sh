#!/bin/bash
# timeout: 360
# TRIM reaches the host file, through `ddvm up` with the default drive options
# (discard=unmap, detect-zeroes=unmap). One driver VM owns four disks: disk0 on nvme,
# disk1 on virtio-blk-pci, disk2 on virtio-blk-pci with `discard = off` (raw images),
# disk3 on nvme with a qcow2 image, disk4 on ahci with `discard = off` (a disk behind a
# bus: QEMU's ide-hd/scsi-hd claim TRIM/UNMAP unless told otherwise). The client makes
# ext4 on each, writes a file (64 MiB; 16 MiB on disk2 and disk4) and syncs: the host
# images hold those blocks. Then rm + fstrim: the images of disk0, disk1 and disk3 drop
# to a few MiB; the channels of disk2 and disk4 never claimed discard (the client's
# queue says discard_max_bytes 0, fstrim is refused) and their images keep every block.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
source "$(dirname "$0")/../lib/recover.sh"
source "$(dirname "$0")/../lib/hoststore.sh"

MB=${DISCARD_MB:-64}
for i in 0 1 2 4; do qemu-img create -q -f raw "$T/disk$i.img" 256M; done
qemu-img create -q -f qcow2 "$T/disk3.img" 256M

{
	hs_client_wait_disks 5
	cat <<EOF
for d in 0 1 2 3 4; do
	echo "DISCARD-MAX \$d \$(cat /sys/block/ddvmblk\$d/queue/discard_max_bytes)"
	mkfs.ext4 -q -F /dev/ddvmblk\$d || echo "MKFS-FAILED \$d"
	mkdir -p /mnt/\$d && mount /dev/ddvmblk\$d /mnt/\$d || echo "MOUNT-FAILED \$d"
	mb=$MB; case \$d in 2 | 4) mb=16 ;; esac
	# not zeroes: detect-zeroes=unmap would make holes of those
	tr '\\0' '\\377' </dev/zero | dd of=/mnt/\$d/f bs=1M count=\$mb iflag=fullblock 2>/dev/null ||
		echo "WRITE-FAILED \$d"
done
sync
echo WRITTEN
while read -r line; do [ "\$line" = TRIM-GO ] && break; done
for d in 0 1 2 3 4; do
	rm /mnt/\$d/f
	sync
	echo "FSTRIM \$d: \$(fstrim -v /mnt/\$d 2>&1) rc=\$?"
done
echo TRIM-DONE
EOF
} >"$T/work.sh"
hs_setup setup "$T/work.sh" \
	"disk0 nvme $T/disk0.img" \
	"disk1 virtio-blk-pci $T/disk1.img" \
	"disk2 virtio-blk-pci $T/disk2.img discard=off" \
	"disk3 nvme $T/disk3.img format=qcow2" \
	"disk4 ahci $T/disk4.img discard=off"
rec_up setup
sup_wait_console cli 'CLIENT-DISKS-UP' 150
sup_wait_console cli 'WRITTEN' 240
! grep -aE 'CLIENT-DISK-MISSING|MKFS-FAILED|MOUNT-FAILED|WRITE-FAILED' "$DDVM_RUNDIR/cli.log" ||
	t_fail "the client could not set up its disks"
grep -a 'DISCARD-MAX' "$DDVM_RUNDIR/cli.log"
for d in 0 1 3; do
	max=$(grep -a "DISCARD-MAX $d " "$DDVM_RUNDIR/cli.log" | awk '{ print $3 }' | tr -d '\r')
	[ "${max:-0}" -gt 0 ] || t_fail "disk$d: the client sees no discard support"
done
for d in 2 4; do
	max=$(grep -a "DISCARD-MAX $d " "$DDVM_RUNDIR/cli.log" | awk '{ print $3 }' | tr -d '\r')
	[ "$max" = 0 ] || t_fail "disk$d (discard = off): the client was told it can discard ($max)"
done

declare -A before after
for d in 0 1 2 3 4; do before[$d]=$(hs_alloc_kib "$T/disk$d.img"); done
t_log "allocated before trim: disk0 ${before[0]} KiB, disk1 ${before[1]} KiB, disk2 ${before[2]} KiB, disk3 (qcow2) ${before[3]} KiB, disk4 ${before[4]} KiB"
for d in 0 1 3; do
	((before[$d] >= MB * 1024)) || t_fail "disk$d: the image holds only ${before[$d]} KiB after writing $MB MiB"
done
for d in 2 4; do
	((before[$d] >= 16 * 1024)) || t_fail "disk$d: the image holds only ${before[$d]} KiB after writing 16 MiB"
done

start=$(now_ms)
hs_console_send cli TRIM-GO
sup_wait_console cli 'TRIM-DONE' 120
t_log "rm + fstrim of five file systems: $(($(now_ms) - start)) ms"
grep -a 'FSTRIM' "$DDVM_RUNDIR/cli.log"
for d in 0 1 2 3 4; do after[$d]=$(hs_alloc_kib "$T/disk$d.img"); done
t_log "allocated after trim: disk0 ${after[0]} KiB, disk1 ${after[1]} KiB, disk2 ${after[2]} KiB, disk3 (qcow2) ${after[3]} KiB, disk4 ${after[4]} KiB"
for d in 0 1 3; do
	grep -aq "FSTRIM $d: .*trimmed.* rc=0" "$DDVM_RUNDIR/cli.log" || t_fail "disk$d: fstrim failed"
	((after[$d] <= 8 * 1024)) || t_fail "disk$d: the image still holds ${after[$d]} KiB after rm + fstrim"
done
for d in 2 4; do
	grep -aq "FSTRIM $d: .*rc=0" "$DDVM_RUNDIR/cli.log" && t_fail "disk$d (discard = off): fstrim succeeded"
	((after[$d] >= 16 * 1024)) || t_fail "disk$d (discard = off): the image gave blocks back (${after[$d]} KiB)"
done

[ "$(rec_restarts drv)" = 0 ] || t_fail "the driver VM restarted"
! grep -qE "$T_KERNEL_TROUBLE" "$DDVM_RUNDIR/cli.log" "$DDVM_RUNDIR/drv.log" ||
	t_fail "a kernel complained"
echo SUCCESS
