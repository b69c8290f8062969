#!/bin/bash
# timeout: 360
# A slow disk is its own client's wait, not a driver VM failure: one driver VM serves
# disk0 to host client a, capped by QEMU's throttling (bps_limit = 65536: a slow host
# file, as a client's lone flush of much dirty data on slow storage is), and disk1 to
# host client b. a writes 1 MiB and reads it back (the read, merged into one request
# in the driver VM, waits about 16 s with nothing answered) while b writes and reads
# back its own disk over and over. Checked: a's data reads back, every one of b's rounds passes,
# the supervisor said a's requests were taken and not answered (and that it does not
# restart the shared driver VM for that), and the driver VM was not restarted. Before
# 2026-12-01 blkback stopped its health beat when its disk completed nothing for
# stall_ms (3 s), and the supervisor restarted the driver VM 3 s later: b's disk went
# away for a client's slow disk.
# Host client c does the same on a usb-storage disk (a depth-1 controller: the driver
# VM's block layer holds two requests, and blkback's submission of the third sleeps
# until the first completes, ~8 s at 128 KiB/s): 3 MiB written and read back. Checked
# as well: no new session of c's channel for "requests untouched" behind the ones
# taken. Before 2026-12-02 blkback's health probe was that sleeping work: the
# supervisor restarted the driver VM every ~6 s (b's disk gone each time), and with
# the probe fixed it reset c's channel over and over for the untouched requests.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
command -v jq >/dev/null || t_skip "needs jq (scripts/deps.sh installs it)"
CHECK=$BUILD/bin/ddvm-blkcheck
t_need_file "$CHECK"

sup_config slow <<CONF
[driver-vm drv]
memory = 256M
[device disk0]
vm = drv
kind = blk
model = virtio-blk-pci
image = $T/disk0.img
size = 16M
bps_limit = 65536
[device disk1]
vm = drv
kind = blk
model = virtio-blk-pci
image = $T/disk1.img
size = 16M
[device disk2]
vm = drv
kind = blk
model = usb-storage
image = $T/disk2.img
size = 16M
bps_limit = 131072
[host-client a]
devices = disk0
[host-client b]
devices = disk1
[host-client c]
devices = disk2
CONF
sup_up "$T/slow.ini"
grep -aq 'throttling.bps-total=65536' "/proc/$(cat "$DDVM_RUNDIR/drv.pid")/cmdline" ||
	t_fail "drv's QEMU has no throttling.bps-total=65536 for disk0"

a() { "$CHECK" --sock "$DDVM_RUNDIR/channels/disk0.a.client.sock" "$@"; }
b() { "$CHECK" --sock "$DDVM_RUNDIR/channels/disk1.b.client.sock" "$@"; }
c() { "$CHECK" --sock "$DDVM_RUNDIR/channels/disk2.c.client.sock" "$@"; }

# QEMU's throttling lets a first request through at once and holds the next ones
# until the bucket has drained: the write passes, the read back waits ~30 s
t0=$(now_ms)
{ a write 5 0 1048576 && a verify 5 0 1048576; } >"$T/a.out" 2>&1 &
echo $! >"$T/a.pid"
t_on_exit "t_kill_pidfile '$T/a.pid'"
{ c write 7 0 3145728 && c verify 7 0 3145728; } >"$T/c.out" 2>&1 &
echo $! >"$T/c.pid"
t_on_exit "t_kill_pidfile '$T/c.pid'"
rounds=0
while kill -0 "$(cat "$T/a.pid")" 2>/dev/null || kill -0 "$(cat "$T/c.pid")" 2>/dev/null; do
	rounds=$((rounds + 1))
	b write "$rounds" 0 262144 >/dev/null 2>&1 || t_fail "b's write $rounds failed while a's disk was slow"
	b verify "$rounds" 0 262144 >/dev/null 2>&1 || t_fail "b's data $rounds did not read back"
	(($(now_ms) - t0 < 150000)) || t_fail "a's 1 MiB or c's 3 MiB write and read back not done after 150 s"
	sleep 0.5
done
rc=0
wait "$(cat "$T/a.pid")" || rc=$?
[ "$rc" = 0 ] || t_fail "a's write and read back failed (rc $rc): $(cat "$T/a.out")"
rc=0
wait "$(cat "$T/c.pid")" || rc=$?
[ "$rc" = 0 ] || t_fail "c's write and read back failed (rc $rc): $(cat "$T/c.out")"
t_log "a's 1 MiB (64 KiB/s) and c's 3 MiB (usb-storage, 128 KiB/s) written and read back in $(($(now_ms) - t0)) ms; b did $rounds rounds meanwhile"
grep -q 'drv: channel disk0.a ring 0: [0-9]* requests taken but not answered .*not restarted' "$DDVM_RUNDIR/ddvm.log" ||
	t_fail "the supervisor did not see (or say) a's stalled disk: $(tail -n 5 "$DDVM_RUNDIR/ddvm.log")"
t_log "$(grep -o 'channel disk0.a ring 0: .*answered for [0-9]* ms' "$DDVM_RUNDIR/ddvm.log" | head -n 1)"
grep -q 'new session of channel' "$DDVM_RUNDIR/ddvm.log" &&
	t_fail "a slow disk's channel was reset: $(grep 'new session of channel' "$DDVM_RUNDIR/ddvm.log" | head -n 2)"
grep -q 'drv: FAILED' "$DDVM_RUNDIR/ddvm.log" &&
	t_fail "drv was failed for a's slow disk: $(grep 'drv: FAILED' "$DDVM_RUNDIR/ddvm.log")"
[ "$(sup_vm_field drv restarts)" = 0 ] || t_fail "drv was restarted"
t_log "PASS"
