#!/bin/bash
# timeout: 180
# blk: what the client wrote and flushed survives the client VM being killed.
#
# The driver VM owns an nvme disk backed by a raw image with cache=writeback (QEMU
# reports a volatile write cache to the guest and turns a guest flush into fdatasync on
# the host file). The client writes two random regions through /dev/ddvmblk0:
#   A: buffered writes + fsync        (the client's flush -> DDVM_BLK_OP_FLUSH ->
#                                      REQ_PREFLUSH in the driver VM -> nvme Flush)
#   B: O_DIRECT|O_SYNC writes (fio)    (REQ_FUA on each write, passed through)
# then says so, and the host SIGKILLs the client's QEMU (no shutdown, no sync) in the
# middle of further unsynced writes. The host compares sha256 of both image regions
# with what the client wrote, and checks that the flushes went all the way: completed
# by the driver VM's nvme disk (its /sys/block/nvme0n1/stat flush count grew) and
# executed by QEMU's nvme (trace event pci_nvme_flush_ns; QEMU completes an nvme Flush
# after fdatasync of the image): "flushed" means on the host file, not just in some
# guest's cache.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/blk_lib.sh"
blk_need_build

qemu-img create -q -f raw "$T/nvme.img" "${BLK_IMG_MB}M"
blk_chan_start nvme "disk/by-pci/${BLK_BDF[nvme]}"
mapfile -t drv_args < <(blk_disk_args nvme "$T/nvme.img"; blk_chan_args 0 nvme backend)
mapfile -t cli_args < <(blk_chan_args 0 nvme frontend)
# the driver VM reports its nvme disk's completed flushes (/sys/block/X/stat field 16)
# shellcheck disable=SC2016 # expanded by the guest's shell
BLK_DRIVER_LOOP='while :; do set -- $(cat /sys/block/nvme0n1/stat); echo "BLK-FLUSHES ${16}"; sleep 0.5; done' \
	blk_driver_script "$T/driver.sh" nvme
blk_driver_vm drv pc "$T/driver.sh" "${drv_args[@]}" \
	-trace enable=pci_nvme_flush_ns,file="$T/drv.trace"

{
	blk_wait_disks_sh 1
	cat <<'EOF'
d=/dev/ddvmblk0
dd if=/dev/urandom of=/tmp/a bs=1M count=4 2>/dev/null
echo "BLK-DUR-A $(sha256sum </tmp/a | cut -d' ' -f1)"
# A: 4 MiB at 8 MiB, through the page cache, then fsync (conv=fsync)
dd if=/tmp/a of=$d bs=1M seek=8 conv=fsync,notrunc 2>/dev/null || echo "BLK-DUR-FAIL a"
# B: 4 MiB at 20 MiB, O_DIRECT|O_SYNC writes of random data (fio), read back from the
# disk and verified by fio (each block carries its own checksum: a write acknowledged
# but never done reads back as the old zeros and fails), then its checksum
fio --eta=never --name=b --filename=$d --offset=20M --size=4M --bs=64k --rw=write \
	--direct=1 --sync=1 --refill_buffers --verify=crc32c --do_verify=1 \
	--verify_fatal=1 --output=/tmp/fio-b.txt || echo "BLK-DUR-FAIL b"
echo "BLK-DUR-B $(dd if=$d bs=1M skip=20 count=4 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)"
echo BLK-DUR-SYNCED
# keep writing (unsynced) until killed: the kill lands in the middle of I/O
while :; do dd if=/dev/urandom of=$d bs=64k seek=640 count=16 2>/dev/null; done
EOF
} >"$T/client.sh"

vm_wait drv 'BLK-DRIVER-UP' 120
flushes() { grep -a '^BLK-FLUSHES' "$T/drv.console" | tail -n1 | tr -dc '0-9'; }
vm_wait drv 'BLK-FLUSHES' 10
flush0=$(flushes)
blk_client_vm cli "$T/client.sh" "${cli_args[@]}"
vm_wait cli 'BLK-DUR-SYNCED|BLK-DUR-FAIL|BLK-CLIENT-NODISK' 120
sleep 1 # let the unsynced writer get going
kill -KILL "$(cat "$T/cli.pid")"
vm_wait_exit cli 10
t_log "client VM killed (SIGKILL) in the middle of I/O"
# The driver VM reports its flush count every 0.5 s: wait for two more reports, so the
# one we read was taken after the kill.
reports() { grep -ac '^BLK-FLUSHES' "$T/drv.console"; }
n=$(reports)
deadline=$((SECONDS + 30))
while (($(reports) < n + 2)); do
	((SECONDS < deadline)) || t_fail "the driver VM stopped reporting its flush count"
	sleep 0.1
done
flush1=$(flushes)
vm_no_oops drv
t_log "flushes completed by the driver VM's nvme disk: $flush0 -> $flush1"

grep -a 'BLK-DUR' "$T/cli.console"
grep -q 'BLK-DUR-FAIL' "$T/cli.console" && t_fail "a write or sync failed in the client"
[ "$flush1" -gt "$flush0" ] || t_fail "no flush reached the driver VM's disk"
want_a=$(sed -n 's/^BLK-DUR-A \([0-9a-f]*\).*/\1/p' "$T/cli.console")
want_b=$(sed -n 's/^BLK-DUR-B \([0-9a-f]*\).*/\1/p' "$T/cli.console")
got_a=$(dd if="$T/nvme.img" bs=1M skip=8 count=4 2>/dev/null | sha256sum | cut -d' ' -f1)
got_b=$(dd if="$T/nvme.img" bs=1M skip=20 count=4 2>/dev/null | sha256sum | cut -d' ' -f1)
[[ -n $want_a && $want_a == "$got_a" ]] || t_fail "region A (fsync): host image $got_a, client wrote $want_a"
[[ -n $want_b && $want_b == "$got_b" ]] || t_fail "region B (O_DSYNC): host image $got_b, client wrote $want_b"
t_log "both flushed regions are in the host image"
# QEMU's side: the nvme Flush commands it executed (trace, written when QEMU exits)
blk_qmp drv quit >/dev/null || true
vm_wait_exit drv 20
qflush=$(grep -c pci_nvme_flush_ns "$T/drv.trace" || true)
t_log "nvme Flush commands executed by the driver VM's QEMU (fdatasync of the image): $qflush"
[ "$qflush" -gt 0 ] || t_fail "QEMU saw no nvme Flush"
echo SUCCESS
