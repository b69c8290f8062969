#!/bin/bash
# timeout: 240
# A driver VM that does not get a host CPU is not a hung one. One driver VM (a
# virtio-blk disk for host client a) is held by a CPU cgroup to 2 % of a CPU for 12 s,
# as a host oversubscribed by other VMs does (a new-user trial met it on the 2-core
# host: "FAILED: no heartbeat from the driver VM for 3516 ms" and a restart of a
# healthy driver VM); a 64 KiB write of a is in flight through it. Checked: no
# failure, no restart, the supervisor says the VM waited for a host CPU, a's write
# completes and reads back after the hold. Then the same driver VM is hung for real
# (`ddvm inject drv hang`, interrupts off and a spin): still found by the heartbeat
# and restarted. Before 2026-12-02 the heartbeat and request timeouts were wall time:
# the hold failed the driver VM after ~3 s.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
command -v jq >/dev/null || t_skip "needs jq (scripts/deps.sh installs it)"
t_need_root
CHECK=$BUILD/bin/ddvm-blkcheck
t_need_file "$CHECK"

# a CPU cgroup this test owns: cgroup v2 (cpu.max) or v1 (cpu.cfs_quota_us)
if [ -e /sys/fs/cgroup/cgroup.controllers ] && grep -qw cpu /sys/fs/cgroup/cgroup.controllers; then
	CG=/sys/fs/cgroup/ddvm-test-$$ CG_ROOT=/sys/fs/cgroup
	if ! grep -qw cpu /sys/fs/cgroup/cgroup.subtree_control; then
		echo +cpu >/sys/fs/cgroup/cgroup.subtree_control || t_skip "cannot enable the cgroup v2 cpu controller"
		# as it was: registered first, so it runs after the group is gone
		t_on_exit "echo -cpu >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null"
	fi
elif [ -e /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]; then
	CG=/sys/fs/cgroup/cpu/ddvm-test-$$ CG_ROOT=/sys/fs/cgroup/cpu
else
	t_skip "no CPU cgroup controller (v1 cpu or v2 cpu.max) to hold a VM with"
fi
mkdir "$CG" || t_skip "cannot create $CG"
# move every process left in it back to the root group, then remove it
t_on_exit "for p in \$(cat '$CG/cgroup.procs' 2>/dev/null); do echo \$p >'$CG_ROOT/cgroup.procs'; done; rmdir '$CG'"
if [ "$CG_ROOT" = /sys/fs/cgroup ]; then
	echo "1000 1000000" >"$CG/cpu.max"
else
	echo 1000000 >"$CG/cpu.cfs_period_us" && echo 1000 >"$CG/cpu.cfs_quota_us"
fi

sup_config overload <<CONF
[driver-vm drv]
memory = 256M
append = ddvm.load=ddvm_faultinj
[device disk0]
vm = drv
kind = blk
model = virtio-blk-pci
image = $T/disk0.img
size = 16M
[host-client a]
devices = disk0
CONF
sup_up "$T/overload.ini"
a() { "$CHECK" --sock "$DDVM_RUNDIR/channels/disk0.a.client.sock" "$@"; }
a write 1 0 65536 >/dev/null || t_fail "a's first write failed"
pid=$(cat "$DDVM_RUNDIR/drv.pid")

t0=$(now_ms)
beats0=$(sup_chan_field disk0.a health)
echo "$pid" >"$CG/cgroup.procs" || t_fail "cannot move drv's QEMU ($pid) into $CG"
t_log "drv's QEMU held to 1 ms of CPU a second (health beats so far: $beats0)"
{ a write 2 65536 65536 && a verify 2 65536 65536; } >"$T/a.out" 2>&1 &
echo $! >"$T/a.pid"
t_on_exit "t_kill_pidfile '$T/a.pid'"
while (($(now_ms) - t0 < 12000)); do
	grep -q 'drv: FAILED' "$DDVM_RUNDIR/ddvm.log" && break
	sleep 0.2
done
beats1=$(sup_chan_field disk0.a health)
echo "$pid" >"$CG_ROOT/cgroup.procs"
t_log "released after $(($(now_ms) - t0)) ms (health beats $beats0 -> $beats1)"
grep -q 'drv: FAILED' "$DDVM_RUNDIR/ddvm.log" &&
	t_fail "a driver VM held off the CPU was failed: $(grep 'drv: FAILED' "$DDVM_RUNDIR/ddvm.log" | head -n 1)"
grep -q 'drv: its QEMU waited [0-9]* ms of the last [0-9]* ms for a host CPU' "$DDVM_RUNDIR/ddvm.log" ||
	t_fail "the supervisor did not say that drv waited for a host CPU"
t_log "$(grep -o 'drv: its QEMU waited [0-9]* ms of the last [0-9]* ms' "$DDVM_RUNDIR/ddvm.log" | head -n 1)"
rc=0
timeout 60 tail --pid="$(cat "$T/a.pid")" -f /dev/null || rc=$?
[ "$rc" = 0 ] || t_fail "a's write through the held driver VM was not done 60 s after the hold"
wait "$(cat "$T/a.pid")" || t_fail "a's write and read back failed: $(cat "$T/a.out")"
# a few seconds more at full speed: nothing owed from the hold fires late
sleep 5
grep -q 'drv: FAILED' "$DDVM_RUNDIR/ddvm.log" &&
	t_fail "drv failed after the hold: $(grep 'drv: FAILED' "$DDVM_RUNDIR/ddvm.log" | head -n 1)"
[ "$(sup_vm_field drv restarts)" = 0 ] || t_fail "drv was restarted"
t_log "held 12 s: no failure, a's write done and read back"

# a real hang is still a failure
t1=$(now_ms)
"$DDVM" inject drv hang >/dev/null || t_fail "ddvm inject drv hang failed"
sup_wait_log 'drv: FAILED: no heartbeat from the driver VM' 30
t_log "a hung drv found in $(($(now_ms) - t1)) ms: $(grep -o 'no heartbeat from the driver VM for [0-9]* ms' "$DDVM_RUNDIR/ddvm.log" | head -n 1)"
sup_wait_log 'drv: ready after' 120 2
a verify 1 0 65536 >/dev/null || t_fail "a cannot read its disk after the restart"
t_log "PASS"
