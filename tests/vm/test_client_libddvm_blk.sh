#!/bin/bash
# timeout: 240
# libddvm blk against a real driver VM, through `ddvm up` and examples/host-clients.ini
# as a user would copy it (the disk in $T): a host process (build/bin/ddvm-blkcheck, the
# libddvm example) uses a raw disk image through the driver VM's unmodified nvme driver.
#   host writes a pattern into the image -> nvme in the driver VM -> ddvm_blkback
#     <== channel disk0.mybox ==> ddvm-blkcheck (libddvm, async reads + callbacks)
#     verifies it
# Then ddvm-blkcheck writes another pattern (pipelined writes + flush), reads it back,
# proves a wrong pattern is caught, and after `ddvm down` the host finds the written
# pattern in the image file. Also: a libddvm client started before `ddvm up` waits for
# its socket and works (as one started by a unit beside the supervisor would), and one
# pointed at the channel's host-tools or driver socket is refused with a message that
# names the right socket, without a driver VM restart (a second producer on the
# frontend's rings had the supervisor restart the driver VM for "requests untouched").
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
t_need_file "$BUILD/bin/ddvm-blkcheck"
PAT="python3 $DDVM_ROOT/tests/vm/client_pattern.py"
CHECK="$BUILD/bin/ddvm-blkcheck --sock $DDVM_RUNDIR/channels/disk0.mybox.client.sock"

qemu-img create -q -f raw "$T/disk0.img" 64M
$PAT write "$T/disk0.img" 7 $((1 << 20)) $((4 << 20))
sup_example hc host-clients -e "s|^image .*|image  = $T/disk0.img|"
grep -q "^image  = $T/disk0.img" "$T/hc.ini" || t_fail "examples/host-clients.ini has no image line to edit"
# started first: it waits for the socket (ddvm_chan_open_wait)
$CHECK info >"$T/early.txt" 2>&1 &
echo $! >"$T/early.pid"
t_on_exit "t_kill_pidfile '$T/early.pid'"
sleep 1 # (not an event wait: it must have tried and found no socket before `up`)
sup_up "$T/hc.ini"
wait "$(cat "$T/early.pid")" || { cat "$T/early.txt"; t_fail "ddvm-blkcheck started before ddvm up failed"; }
grep -q '^blkcheck: disk ' "$T/early.txt" || t_fail "the early ddvm-blkcheck did not see the disk: $(cat "$T/early.txt")"

$CHECK info verify 7 $((1 << 20)) $((4 << 20)) \
	write 9 $((8 << 20)) $((4 << 20)) verify 9 $((8 << 20)) $((4 << 20)) \
	mismatch 8 $((8 << 20)) $((1 << 16)) || t_fail "ddvm-blkcheck failed"
! grep -aqE "$T_KERNEL_TROUBLE" "$DDVM_RUNDIR/drv.log" || t_fail "the driver VM's kernel complained"

# the wrong sockets: refused, named, nothing written
for s in host driver; do
	rc=0
	"$BUILD/bin/ddvm-blkcheck" --sock "$DDVM_RUNDIR/channels/disk0.mybox.$s.sock" write 3 0 65536 \
		>"$T/wrong.txt" 2>&1 || rc=$?
	[ "$rc" = 1 ] || t_fail "blkcheck on $s.sock: exit $rc, not 1: $(cat "$T/wrong.txt")"
	grep -q "client socket\|CHANNEL.client.sock" "$T/wrong.txt" ||
		t_fail "blkcheck on $s.sock: the message does not name the client socket: $(cat "$T/wrong.txt")"
	t_log "$s.sock: $(cat "$T/wrong.txt")"
done
$CHECK verify 9 $((8 << 20)) $((4 << 20)) || t_fail "the disk changed or stopped after the refused attempts"
[ "$(sup_vm_field drv restarts)" = 0 ] || t_fail "the driver VM restarted: $(grep FAILED "$DDVM_RUNDIR/ddvm.log")"
[ "$(sup_vm_field mybox restarts)" = - ] || t_fail "a host client has restarts in status --json (no VM of ours to restart): $(sup_vm_field mybox restarts)"

# a client killed in the middle (kill -9: it cannot say CLOSED) is shown "gone", not ready
# (the second half of the disk: the patterns checked below are in the first)
half=("$((32 << 20))" "$((32 << 20))")
$CHECK write 5 "${half[@]}" verify 5 "${half[@]}" write 6 "${half[@]}" verify 6 "${half[@]}" \
	write 5 "${half[@]}" verify 5 "${half[@]}" \
	>"$T/killed.txt" 2>&1 &
echo $! >"$T/killed.pid"
t_on_exit "t_kill_pidfile '$T/killed.pid'"
sup_wait_chan disk0.mybox frontend_state ready 30
kill -KILL "$(cat "$T/killed.pid")"
wait "$(cat "$T/killed.pid")" 2>/dev/null || true
sup_wait_chan disk0.mybox client_up false 10
"$DDVM" status >"$T/status.txt"
line=$(grep '^disk0.mybox ' "$T/status.txt")
[ "$(awk '{ print $5, $7 }' <<<"$line")" = "down gone" ] ||
	t_fail "status after the client's kill -9 (want CLIENT down, FRONTEND gone): $line"
t_log "after kill -9 of the client: $line"
$CHECK verify 9 $((8 << 20)) $((4 << 20)) || t_fail "a new client could not use the disk after the kill"
[ "$(sup_vm_field drv restarts)" = 0 ] || t_fail "the driver VM restarted: $(grep FAILED "$DDVM_RUNDIR/ddvm.log")"

"$DDVM" down || t_fail "ddvm down failed"
sup_wait_gone 30
$PAT verify "$T/disk0.img" 9 $((8 << 20)) $((4 << 20)) || t_fail "written pattern not in the image"
$PAT verify "$T/disk0.img" 7 $((1 << 20)) $((4 << 20)) || t_fail "host pattern damaged"
echo SUCCESS
