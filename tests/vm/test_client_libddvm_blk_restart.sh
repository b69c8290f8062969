#!/bin/bash
# timeout: 400
# libddvm blk across a driver VM restart, through `ddvm up` and
# examples/host-clients.ini as a user would copy it (a 128 MiB disk in $T):
# ddvm-blkcheck writes 96 MiB through the driver VM's nvme driver with the channel's
# whole queue depth in flight; `ddvm inject drv kill` kills the driver VM in the middle,
# the supervisor moves the channel to a new epoch and boots a new one. libddvm
# re-submits what was in flight: the write completes without an error, every byte
# verifies through the new driver VM, and after `ddvm down` the image file holds the
# whole pattern — no acknowledged write was lost.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
t_need_file "$BUILD/bin/ddvm-blkcheck"
PAT="python3 $DDVM_ROOT/tests/vm/client_pattern.py"
LEN=$((96 << 20))

sup_example hc host-clients -e "s|^image .*|image  = $T/disk0.img|" -e "s|^size .*|size   = 128M|" \
	-e "/^\[driver-vm drv\]/a boot_timeout_ms = 180000"
grep -q "^size   = 128M" "$T/hc.ini" || t_fail "examples/host-clients.ini has no size line to edit"
sup_up "$T/hc.ini"

DDVM_DEBUG=1 "$BUILD/bin/ddvm-blkcheck" --sock "$DDVM_RUNDIR/channels/disk0.mybox.client.sock" \
	write 5 0 $LEN verify 5 0 $LEN >"$T/check.log" 2>&1 &
echo $! >"$T/check.pid"
t_on_exit "t_kill_pidfile '$T/check.pid'; cat '$T/check.log'"
for _ in $(seq 1200); do
	grep -q 'blkcheck: disk' "$T/check.log" && break
	sleep 0.05
done
grep -q 'blkcheck: disk' "$T/check.log" || t_fail "ddvm-blkcheck did not attach"

# The driver VM dies with writes in flight; the supervisor boots a new one, new epoch.
grep -q 'write OK' "$T/check.log" && t_skip "the write finished before the driver VM died"
"$DDVM" inject drv kill >/dev/null || t_fail "ddvm inject drv kill failed"
t_log "driver VM killed mid-write"
sup_wait_log 'drv: service restored [0-9]+ ms after' 240
t_log "$(grep -ao 'drv: service restored.*' "$DDVM_RUNDIR/ddvm.log")"

pid=$(cat "$T/check.pid")
for _ in $(seq 2400); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
if ! wait "$pid"; then
	cat "$T/check.log"
	# What the disk holds tells a lost write from a wrong read.
	"$DDVM" down
	sup_wait_gone 30
	$PAT diagnose "$T/disk0.img" 5 0 $LEN || true
	t_fail "ddvm-blkcheck failed across the restart"
fi
cat "$T/check.log"
grep -q 'write OK .*restarts 1' "$T/check.log" || t_fail "the write did not span the restart"
grep -q 'verify OK' "$T/check.log" || t_fail "no verify"
! grep -aqE "$T_KERNEL_TROUBLE" "$DDVM_RUNDIR/drv.log" || t_fail "the driver VM's kernel complained"
"$DDVM" down || t_fail "ddvm down failed"
sup_wait_gone 30
$PAT verify "$T/disk0.img" 5 0 $LEN || t_fail "the image file lost acknowledged writes"
echo SUCCESS
