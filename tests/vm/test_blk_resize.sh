#!/bin/bash
# timeout: 300
# A host image resized while the driver VM runs reaches the client as a resize, through
# `ddvm up`. One driver VM owns disk0 on virtio-blk-pci and disk1 on nvme (raw images of
# 64 MiB); one client uses both. The host grows both images to 128 MiB (truncate -s):
# the supervisor tells QEMU (QMP block_resize), virtio-blk tells the driver VM's Linux,
# ddvm_blkback publishes the new capacity and the client's /dev/ddvmblk0 is 128 MiB
# within seconds; a write at its new end reaches the host file. QEMU 7.2's nvme cannot
# be resized while it runs (QEMU refuses, the supervisor logs it): /dev/ddvmblk1 stays
# 64 MiB. Then disk0 shrinks to 96 MiB: the client sees 96 MiB, a write past the end
# fails (an error at once), a read there ends at once, and the channel still works.
# Then `ddvm restart drv` under read load: the client resumes with no I/O error, disk0
# still 96 MiB, disk1 now 128 MiB (the restarted driver VM serves the nvme disk at its
# new size: across a restart a new capacity is a resize, not "another disk"), and I/O
# at the new ends works. The driver VM restarted once (the restart asked for), the
# client never.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
source "$(dirname "$0")/../lib/recover.sh"
source "$(dirname "$0")/../lib/hoststore.sh"

MiB=1048576
for i in 0 1; do qemu-img create -q -f raw "$T/disk$i.img" 64M; done

{
	hs_client_wait_disks 2
	cat <<'EOF'
sz() { blockdev --getsize64 /dev/ddvmblk$1; }
echo "SIZES $(sz 0) $(sz 1)"
# report every size change of either disk (polled every 0.1 s)
(
	l0=$(sz 0) l1=$(sz 1)
	while :; do
		for d in 0 1; do
			s=$(sz $d)
			eval "l=\$l$d"
			[ "$s" != "$l" ] && echo "SIZE $d $s" && eval "l$d=$s"
		done
		sleep 0.1
	done
) &
# 4 KiB of random data written with O_DIRECT at byte offset $2 of disk $1, read back
io_at() {
	dd if=/dev/urandom of=/tmp/pat bs=4096 count=1 2>/dev/null
	dd if=/tmp/pat of=/dev/ddvmblk$1 bs=4096 seek=$(($2 / 4096)) count=1 oflag=direct conv=notrunc 2>/tmp/dd.txt ||
		{ echo "WRITE-FAILED $(head -n 1 /tmp/dd.txt)"; return; }
	dd if=/dev/ddvmblk$1 of=/tmp/back bs=4096 skip=$(($2 / 4096)) count=1 iflag=direct 2>/tmp/dd.txt ||
		{ echo "READ-FAILED $(head -n 1 /tmp/dd.txt)"; return; }
	cmp -s /tmp/pat /tmp/back && echo "ok $(sha256sum </tmp/pat | cut -c1-64)" || echo MISMATCH
}
# I/O at byte $2 of disk $1, its end: a write fails (ENOSPC), a read ends at once
past() {
	dd if=/tmp/pat of=/dev/ddvmblk$1 bs=4096 seek=$(($2 / 4096)) count=1 oflag=direct conv=notrunc 2>/tmp/dd.txt
	w=$?
	r=$(dd if=/dev/ddvmblk$1 bs=4096 skip=$(($2 / 4096)) count=1 iflag=direct 2>/dev/null | wc -c)
	dd if=/dev/ddvmblk$1 of=/dev/null bs=4096 count=16 iflag=direct 2>/dev/null
	rr=$?
	echo "write-rc=$w ($(head -n 1 /tmp/dd.txt)) read-bytes=$r in-range-read-rc=$rr"
}
load() {
	n=0 err=0
	while [ ! -e /tmp/stop ]; do
		for d in 0 1; do
			dd if=/dev/ddvmblk$d of=/dev/null bs=64k count=512 iflag=direct 2>/dev/null || err=$((err + 1))
		done
		n=$((n + 1))
	done
	echo "passes=$n errors=$err"
}
# "N COMMAND ARGS" from the console; the answer is one line "RN ..." (the console
# echoes what the test types: only R-lines are answers)
while read -r n cmd a b; do
	case $cmd in
	io) r=$(io_at $a $b) ;;
	past) r=$(past $a $b) ;;
	load-start) rm -f /tmp/stop; load >/tmp/load.txt 2>&1 & lp=$!; r=started ;;
	load-stop) touch /tmp/stop; wait $lp; r=$(cat /tmp/load.txt) ;;
	report)
		dmesg | grep 'ddvm blk' | tail -n 12
		r="sizes $(sz 0) $(sz 1) ioerrors $(dmesg | grep -c 'I/O error')" ;;
	*) r="unknown command $cmd" ;;
	esac
	echo "R$n $r"
done
EOF
} >"$T/work.sh"
hs_setup setup "$T/work.sh" \
	"disk0 virtio-blk-pci $T/disk0.img" \
	"disk1 nvme $T/disk1.img"
rec_up setup
sup_wait_console cli 'CLIENT-DISKS-UP' 150
sup_wait_console cli "SIZES $((64 * MiB)) $((64 * MiB))" 30
t_log "the client sees both disks at 64 MiB"
# A boot that a loaded host made miss its deadline is not what this test is about:
# count the restarts from here.
drv0=$(rec_restarts drv) cli0=$(rec_restarts cli)

# ask COMMAND ARGS... — type it on the client's console, wait for its answer: $ANSWER
ASKED=0
ask() {
	ASKED=$((ASKED + 1))
	hs_console_send cli "$ASKED $*"
	sup_wait_console cli "^R$ASKED " "${ASK_SECS:-30}"
	ANSWER=$(grep -a "^R$ASKED " "$DDVM_RUNDIR/cli.log" | head -n 1 | tr -d '\r')
	ANSWER=${ANSWER#R"$ASKED" }
}
# sha256 of the 4 KiB at byte offset $2 of image $1, as the host file holds it
host_sha() { dd if="$1" bs=4096 skip=$(($2 / 4096)) count=1 status=none | sha256sum | cut -c1-64; }
# io DISK OFFSET: a checked write + read at OFFSET, and the host image holds the data
io() {
	ask io "$1" "$2"
	[[ "$ANSWER" == "ok "* ]] || t_fail "$3: disk$1: I/O at byte $2: $ANSWER"
	[ "${ANSWER#ok }" = "$(host_sha "$T/disk$1.img" "$2")" ] ||
		t_fail "$3: disk$1: the host image does not hold what the client wrote at byte $2"
}
chan_ok() {
	local ch st
	for ch in disk0.cli disk1.cli; do
		st="$(sup_chan_field $ch backend_state)/$(sup_chan_field $ch frontend_state)"
		[ "$st" = ready/ready ] || t_fail "$1: channel $ch is $st"
		[ "$(sup_chan_field $ch errors)" = 0 ] || t_fail "$1: channel $ch counts errors"
	done
}
size_lines() { grep -ac "^SIZE $1 " "$DDVM_RUNDIR/cli.log" || true; }

# --- grow: 64 -> 128 MiB ----------------------------------------------------------------
start=$(now_ms)
truncate -s 128M "$T/disk0.img" "$T/disk1.img"
sup_wait_console cli "^SIZE 0 $((128 * MiB))" 30
grow_ms=$(($(now_ms) - start))
t_log "disk0 (virtio-blk) grown to 128 MiB on the host -> the client sees 128 MiB: $grow_ms ms"
sup_wait_log "drv: disk0: image .*/disk0.img grew from $((64 * MiB)) to $((128 * MiB)) bytes; told QEMU" 10
sup_wait_log "drv: disk1: image .*/disk1.img is now $((128 * MiB)) bytes .*QEMU refused to resize drv-disk1" 10
grep -a 'drv: disk[01]: image' "$DDVM_RUNDIR/ddvm.log"
io 0 $((128 * MiB - 4096)) "grown"
[ "$(size_lines 1)" = 0 ] || t_fail "disk1 (nvme) changed size while running"
chan_ok "after the grow"

# --- shrink disk0: 128 -> 96 MiB -----------------------------------------------------------
start=$(now_ms)
truncate -s 96M "$T/disk0.img"
sup_wait_console cli "^SIZE 0 $((96 * MiB))" 30
shrink_ms=$(($(now_ms) - start))
t_log "disk0 shrunk to 96 MiB on the host -> the client sees 96 MiB: $shrink_ms ms"
sup_wait_log "drv: disk0: image .*/disk0.img shrank from $((128 * MiB)) to $((96 * MiB)) bytes; told QEMU" 10
# at the end itself (the block device refuses to seek further, EINVAL): the first byte
# past it
start=$(now_ms)
ask past 0 $((96 * MiB))
t_log "I/O past the new end ($(($(now_ms) - start)) ms, with the console round trip): $ANSWER"
[[ "$ANSWER" == "write-rc=1 "*"No space left on device"*"read-bytes=0 in-range-read-rc=0" ]] ||
	t_fail "I/O past the shrunk end: $ANSWER"
io 0 $((96 * MiB - 4096)) "shrunk"
[ "$(stat -c %s "$T/disk0.img")" = $((96 * MiB)) ] || t_fail "the image is $(stat -c %s "$T/disk0.img") bytes, not 96 MiB"
chan_ok "after the shrink"
[ "$(rec_restarts drv)" = "$drv0" ] || t_fail "the driver VM restarted during the resizes"

# --- restart the driver VM under read load ---------------------------------------------------
ask load-start
sleep 2
start=$(now_ms)
"$DDVM" restart drv || t_fail "ddvm restart drv failed"
# (a restart asked for is no failure: no "service restored" line) both channels ready
# on both sides at the new epoch
deadline=$((SECONDS + 120))
until [ "$("$DDVM" status --json | jq -r '[.channels[] | select(.epoch == 2 and
	.backend_state == "ready" and .frontend_state == "ready")] | length')" = 2 ]; do
	((SECONDS < deadline)) || t_fail "the channels did not come back after the restart"
	sleep 0.1
done
t_log "ddvm restart drv -> both channels ready again: $(($(now_ms) - start)) ms"
sup_wait_console cli "^SIZE 1 $((128 * MiB))" 30
t_log "disk1 (nvme) at 128 MiB in the client $(($(now_ms) - start)) ms after 'ddvm restart'"
ASK_SECS=60 ask load-stop
t_log "read load across the restart: $ANSWER"
[[ "$ANSWER" == passes=*" errors=0" ]] || t_fail "reads failed across the restart: $ANSWER"
io 0 $((96 * MiB - 4096)) "after the restart"
io 1 $((128 * MiB - 4096)) "after the restart"
io 1 0 "after the restart"
ask report
grep -a 'ddvm blk' "$DDVM_RUNDIR/cli.log" | tail -n 12 || true
[ "$ANSWER" = "sizes $((96 * MiB)) $((128 * MiB)) ioerrors 0" ] || t_fail "after the restart: $ANSWER"
grep -aq 'resumed at epoch' "$DDVM_RUNDIR/cli.log" || t_fail "the client never resumed"
! grep -aq 'serves another disk' "$DDVM_RUNDIR/cli.log" || t_fail "the client took the resize for another disk"
[ "$(size_lines 0)" = 2 ] || t_fail "disk0 changed size $(size_lines 0) times in the client (2 expected)"
chan_ok "after the restart"
[ "$(rec_restarts drv)" = $((drv0 + 1)) ] || t_fail "the driver VM restarted $(($(rec_restarts drv) - drv0)) times (1 asked for)"
[ "$(rec_restarts cli)" = "$cli0" ] || t_fail "the client VM restarted"
! grep -aqE "$T_KERNEL_TROUBLE" "$DDVM_RUNDIR/cli.log" "$DDVM_RUNDIR/drv.log" ||
	t_fail "a kernel complained"
t_log "measured: grow seen by the client in $grow_ms ms, shrink in $shrink_ms ms"
echo SUCCESS
