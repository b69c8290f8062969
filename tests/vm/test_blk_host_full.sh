#!/bin/bash
# timeout: 300
# A full host file system is an I/O error, not a driver VM failure. The driver VM owns
# two disks whose images live on a small tmpfs the test mounts (disk0 on virtio-blk-pci,
# disk1 on nvme: QEMU reports the first through QMP BLOCK_IO_ERROR, the second only on
# its stderr) and an e1000 NIC in a test-made network namespace. The client pings the
# peer through that NIC all along while it writes 100 MiB with O_DIRECT to disk0 until
# the tmpfs is full, then to disk1. Each write fails with "No space left on device"
# (ENOSPC: the supervisor flags the channel DDVM_CTL_HOST_NOSPC, the translation module
# answers the failed write NOSPC; no emulated controller can say it) within seconds of
# the host's first ENOSPC; the supervisor logs the image and ENOSPC once per run of
# errors and `ddvm status` shows it; the driver VM is never paused or restarted, and
# ping loses nothing. Then the test frees space on the tmpfs: writes work again, with
# no restart, and the flag is gone.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
source "$(dirname "$0")/../lib/recover.sh"
source "$(dirname "$0")/../lib/hoststore.sh"
t_need_root
REC_NET=1
rec_netns

# 56 MiB of tmpfs, 8 MiB of it a filler the test deletes to free space
FS=$T/fs
mkdir "$FS"
mount -t tmpfs -o size=56M ddvm-host-full "$FS" || t_fail "cannot mount a tmpfs"
t_on_exit "umount '$FS' || umount -l '$FS'"
dd if=/dev/zero of="$FS/filler" bs=1M count=8 status=none
for i in 0 1; do qemu-img create -q -f raw "$FS/disk$i.img" 128M; done

{
	hs_client_wait_disks 2
	cat <<EOF
ping -i 0.2 $REC_PEER >/tmp/ping.txt 2>&1 &
pp=\$!
# 0xff, not zeroes: detect-zeroes=unmap would turn zeroes into holes that need no space
fill() { tr '\\0' '\\377' </dev/zero | dd of=/dev/ddvmblk\$1 bs=1M count=\$2 seek=\${3:-0} iflag=fullblock oflag=direct 2>/tmp/dd.txt; }
for d in 0 1; do
	mb=100; [ \$d = 1 ] && mb=16
	echo "DD\$d-START"
	fill \$d \$mb
	rc=\$?
	echo "DD\$d-END rc=\$rc: \$(grep -v records /tmp/dd.txt | head -n 1); \$(grep 'records out' /tmp/dd.txt)"
done
# a block neither image has allocated yet: it needs space
n=0
while :; do
	ok=0
	for d in 0 1; do fill \$d 1 120 && ok=\$((ok + 1)); done
	[ \$ok = 2 ] && break
	n=\$((n + 1))
	[ \$n = 1 ] && echo "PROBE-FAIL ok=\$ok pings=\$(grep -c 'bytes from' /tmp/ping.txt) seq=\$(grep -o 'seq=[0-9]*' /tmp/ping.txt | tail -n 1)"
	sleep 0.2
done
echo "PROBE-OK after \$n failed rounds pings=\$(grep -c 'bytes from' /tmp/ping.txt) seq=\$(grep -o 'seq=[0-9]*' /tmp/ping.txt | tail -n 1)"
base=\$(grep -c 'bytes from' /tmp/ping.txt)
i=0
while [ \$(grep -c 'bytes from' /tmp/ping.txt) -lt \$((base + 10)) ] && [ \$i -lt 100 ]; do sleep 0.2; i=\$((i + 1)); done
kill -INT \$pp
wait \$pp
echo "PING-SUMMARY \$(grep 'packets transmitted' /tmp/ping.txt)"
echo PING-DONE
EOF
} >"$T/work.sh"
hs_setup setup "$T/work.sh" \
	"disk0 virtio-blk-pci $FS/disk0.img" \
	"disk1 nvme $FS/disk1.img"
rec_up setup
sup_wait_console cli 'CLIENT-NET-UP' 150
sup_wait_console cli 'CLIENT-DISKS-UP' 60
sup_wait_console cli 'DD0-START' 30

# log line time (the supervisor's clock, this host's) in ms
log_ms() { date -d "$(grep -aE -m1 -- "$1" "$DDVM_RUNDIR/ddvm.log" | cut -c1-23)" +%s%3N; }

sup_wait_log 'drv: disk0: host write error on image .*/disk0.img: ENOSPC' 120
sup_wait_console cli 'DD0-END' 30
t_end=$(now_ms)
t_err=$(log_ms 'drv: disk0: host write error')
t_log "disk0 (virtio-blk): first host ENOSPC -> the client's write failed: $((t_end - t_err)) ms (host view, 50 ms polls)"
((t_end - t_err <= 15000)) || t_fail "the client's write took $((t_end - t_err)) ms to fail"
sup_wait_console cli 'DD1-END' 30
t_end1=$(now_ms)
sup_wait_log 'drv: disk1: host write error on image .*/disk1.img: ENOSPC' 15
t_err1=$(log_ms 'drv: disk1: host write error')
t_log "disk1 (nvme): the client's failed write seen $((t_end1 - t_err1)) ms after the supervisor's ENOSPC line (negative: before it)"
grep -a 'DD[01]-END' "$DDVM_RUNDIR/cli.log"
grep -aq 'DD0-END rc=[1-9].*No space left on device' "$DDVM_RUNDIR/cli.log" ||
	t_fail "the write to disk0 (virtio-blk) did not fail with ENOSPC"
grep -aq 'DD1-END rc=[1-9].*No space left on device' "$DDVM_RUNDIR/cli.log" ||
	t_fail "the write to disk1 (nvme) did not fail with ENOSPC"
grep -aF "drv: disk0: the host file system of $FS/disk0.img is full" "$DDVM_RUNDIR/ddvm.log" >/dev/null ||
	t_fail "the supervisor did not flag disk0's channel 'no space'"
grep -aF "drv: disk0: host write error on image $FS/disk0.img: ENOSPC (No space left on device)" "$DDVM_RUNDIR/ddvm.log" >/dev/null ||
	t_fail "the log does not name disk0's image and ENOSPC"
grep -aF "drv: disk1: host write error on image $FS/disk1.img: ENOSPC (No space left on device)" "$DDVM_RUNDIR/ddvm.log" >/dev/null ||
	t_fail "the log does not name disk1's image and ENOSPC"

# still full: the client's probe write fails, again and again; keep it so until the
# supervisor summarized the errors that followed the first one (5 s after it)
sup_wait_console cli 'PROBE-FAIL' 60
t_full=$(now_ms)
sup_wait_log 'drv: disk0: [0-9]+ more host I/O errors in' 30
sup_wait_log 'drv: disk1: [0-9]+ more host I/O errors in' 30
status=$("$DDVM" status)
echo "$status" | head -n 5
for d in 0 1; do
	echo "$status" | grep -F "disk$d: " | grep -F "write ENOSPC (No space left on device)" |
		grep -qF "image $FS/disk$d.img" || t_fail "ddvm status does not show disk$d's last error"
done
[ "$(rec_restarts drv)" = 0 ] || t_fail "the driver VM restarted"
[ "$(sup_vm_field drv 3)" = running ] || t_fail "the driver VM is $(sup_vm_field drv 3)"
# one line per run of errors, not one per failed request
for d in 0 1; do
	n=$(grep -ac "drv: disk$d: host write error" "$DDVM_RUNDIR/ddvm.log" || true)
	[ "$n" = 1 ] || t_fail "disk$d: $n first-error lines for one run of errors"
done

# the quiet line to wait for is the one after this run of errors, not an earlier one
quiet0=$(grep -c 'drv: disk0: no host I/O error for 10 s' "$DDVM_RUNDIR/ddvm.log" || true)
t_free=$(now_ms)
t_log "free 8 MiB on the host file system"
rm "$FS/filler"
sup_wait_console cli 'PROBE-OK' 30
t_ok=$(now_ms)
t_log "space freed -> both disks take new writes again: $((t_ok - t_free)) ms"
((t_ok - t_free <= 15000)) || t_fail "writes worked again only $((t_ok - t_free)) ms after space was freed"
p0=$(grep -a 'PROBE-FAIL' "$DDVM_RUNDIR/cli.log" | sed -n 's/.*pings=\([0-9]*\).*/\1/p')
p1=$(grep -a 'PROBE-OK' "$DDVM_RUNDIR/cli.log" | sed -n 's/.*pings=\([0-9]*\).*/\1/p')
s0=$(grep -a 'PROBE-FAIL' "$DDVM_RUNDIR/cli.log" | sed -n 's/.* seq=seq=\([0-9]*\).*/\1/p')
s1=$(grep -a 'PROBE-OK' "$DDVM_RUNDIR/cli.log" | sed -n 's/.* seq=seq=\([0-9]*\).*/\1/p')
t_log "while the disks were full ($((t_ok - t_full)) ms): $((p1 - p0)) ping replies, icmp_seq ${s0:-?} -> ${s1:-?}"
if [ -n "$s0" ] && [ -n "$s1" ]; then
	((s1 - s0 - (p1 - p0) <= 1)) || t_fail "ping lost $((s1 - s0 - (p1 - p0))) of $((s1 - s0)) while the disks were full"
fi
# The NIC kept moving: at least 1 reply a second (a paused or stuck driver VM gives
# none). Not 5: ping -i 0.2 sends late on a busy TCG guest (a fresh-clone CI saw 29
# replies in 7.6 s, none lost); lost pings are the summary's check below.
((p1 - p0 >= (t_ok - t_full) / 1000)) || t_fail "only $((p1 - p0)) ping replies in $((t_ok - t_full)) ms of full disks"
sup_wait_log "drv: disk0: the host file system of $FS/disk0.img has space again" 15
sup_wait_console cli 'PING-DONE' 60
sup_wait_log 'drv: disk0: no host I/O error for 10 s' 30 $((quiet0 + 1))
grep -aE 'drv: disk[01]:' "$DDVM_RUNDIR/ddvm.log" | cut -c12-
summary=$(grep -a 'PING-SUMMARY' "$DDVM_RUNDIR/cli.log" | tr -d '\r')
t_log "$summary"
read -r tx rx < <(sed -n 's/.* \([0-9]*\) packets transmitted, \([0-9]*\) received.*/\1 \2/p' <<<"$summary") || true
[[ -n ${tx:-} && -n ${rx:-} ]] || t_fail "no ping summary"
((tx >= 25)) || t_fail "only $tx pings sent"
((tx - rx <= 1)) || t_fail "ping lost $((tx - rx)) of $tx while the host file system was full"

[ "$(rec_restarts drv)" = 0 ] || t_fail "the driver VM restarted"
[ "$(rec_restarts cli)" = 0 ] || t_fail "the client VM restarted"
! grep -aq 'drv: FAILED' "$DDVM_RUNDIR/ddvm.log" || t_fail "the supervisor declared the driver VM failed"
! grep -aq 'QEMU paused' "$DDVM_RUNDIR/ddvm.log" || t_fail "QEMU paused the driver VM"
! grep -qE "$T_KERNEL_TROUBLE" "$DDVM_RUNDIR/cli.log" "$DDVM_RUNDIR/drv.log" ||
	t_fail "a kernel complained"
echo SUCCESS
