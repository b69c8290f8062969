#!/bin/bash
# timeout: 300
# A full run dir (a tmpfs: /run, $XDG_RUNTIME_DIR) is the host's trouble, not the
# driver VM's: a restart that cannot start QEMU for want of space (the channel list
# VM.channels cannot be written: ENOSPC) is retried with back-off for as long as it
# lasts, never counted toward restart_max, and never taken for a QEMU that refuses the
# setup ("failed to start twice the same way"). Before, the second identical ENOSPC
# gave the driver VM up for good ("GIVING UP"), its clients' channels gone until an
# operator came. Here the run dir is a 4 MiB tmpfs of the test's own; the driver VM
# (restart_max = 1) serves host client a one disk; the test fills the run dir, kills
# the driver VM (`ddvm inject drv kill`) and checks: `status` shows the start failing
# for want of space, several attempts, no give-up; once the space is freed, the driver
# VM runs again without an operator, and ddvm-blkcheck writes and reads back 1 MiB.
# Then `ddvm up -d` into the full run dir: it exits 1 after 3 such starts, saying why
# (it waited for ever), and the driver VM comes up by itself once there is room.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
t_need_root
command -v jq >/dev/null || t_skip "needs jq (scripts/deps.sh installs it)"
t_need_file "$BUILD/bin/ddvm-blkcheck"

mkdir -p "$DDVM_RUNDIR"
mount -t tmpfs -o size=4M,mode=0700 ddvm-test-rundir "$DDVM_RUNDIR" || t_skip "cannot mount a tmpfs"
t_on_exit "umount '$DDVM_RUNDIR'" # after the supervisor's teardown (cleanups run last first)

sup_config full <<CONF
[driver-vm drv]
memory = 256M
restart_max = 1
restart_backoff_ms = 100
boot_timeout_ms = 180000
[device disk0]
vm = drv
kind = blk
model = virtio-blk-pci
image = $T/disk0.img
size = 16M
[host-client a]
devices = disk0
CONF
sup_up "$T/full.ini"
sup_wait_chan disk0.a backend_state ready 120

# the run dir full to the last block, also the blocks of the files a start rewrites
# (a tmpfs hands a truncated file's pages to the next writer)
dd if=/dev/zero of="$DDVM_RUNDIR/fill" bs=4k 2>/dev/null || true
rm -f "$DDVM_RUNDIR/drv.channels"
dd if=/dev/zero of="$DDVM_RUNDIR/fill2" bs=4k 2>/dev/null || true
t_log "run dir: $(df -k --output=avail "$DDVM_RUNDIR" | tail -n 1 | tr -d ' ') KiB free"
restarts0=$(sup_vm_field drv restarts)
"$DDVM" inject drv kill >/dev/null || t_fail "ddvm inject drv kill failed"
# attempts with back-off (100, 200, 400, ... ms): at least 4 in 8 s, none of them a
# give-up, the reason in status (ddvm.log is in the full run dir: it may lose lines)
deadline=$((SECONDS + 8))
while ((SECONDS < deadline)); do
	state=$(sup_vm_field drv state)
	[ "$state" = gave-up ] && t_fail "drv given up on a full run dir: $(sup_vm_field drv last_failure)"
	sleep 0.2
done
why=$(sup_vm_field drv last_failure)
tries=$(($(sup_vm_field drv restarts) - restarts0))
t_log "after 8 s: drv $(sup_vm_field drv state), $tries starts; last failure: $why"
grep -q "the host's trouble (space in the run dir's file system" <<<"$why" ||
	t_fail "status does not say the host is out of space: $why"
((tries >= 4)) || t_fail "only $tries starts in 8 s"

rm -f "$DDVM_RUNDIR/fill" "$DDVM_RUNDIR/fill2"
t0=$(now_ms)
sup_wait_vm drv state running 90
sup_wait_chan disk0.a backend_state ready 90
t_log "space freed: drv running and its channel ready $(($(now_ms) - t0)) ms later"
grep -E 'drv: (another start|GIVING UP|restart)' "$DDVM_RUNDIR/ddvm.log" | tail -n 3 | sed 's/^/    /' || true
sup_blkcheck disk0.a 5 || t_fail "a's channel does not serve a after the space came back"
t_log "a full run dir delayed drv's restart; it was not given up, and serves again"
"$DDVM" down >/dev/null 2>&1
sup_wait_gone 60

# `ddvm up -d` into a full run dir: it does not wait for ever; after 3 starts that
# failed for the host's trouble it exits 1 saying so, and the supervisor goes on: once
# there is room, drv comes up by itself
rm -f "$DDVM_RUNDIR"/*.log "$DDVM_RUNDIR/drv.channels"
dd if=/dev/zero of="$DDVM_RUNDIR/fill" bs=4k 2>/dev/null || true
t0=$(now_ms)
rc=0
"$DDVM" up -d "$T/full.ini" >"$T/up.out" 2>&1 || rc=$?
cat "$T/up.out"
t_log "ddvm up -d into a full run dir: exit $rc after $(($(now_ms) - t0)) ms"
((rc == 1)) || t_fail "ddvm up -d into a full run dir exited $rc, not 1"
grep -q "ddvm: drv cannot start, 3 times in a row: .*the host's trouble.*(the supervisor goes on trying)" "$T/up.out" ||
	t_fail "ddvm up -d does not say why drv is not up"
rm -f "$DDVM_RUNDIR/fill"
sup_wait_vm drv state running 90
sup_wait_chan disk0.a backend_state ready 90
t_log "space freed: drv up by itself"
"$DDVM" down >/dev/null 2>&1
echo SUCCESS
