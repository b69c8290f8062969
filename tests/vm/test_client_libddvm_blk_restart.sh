#!/bin/bash
# timeout: 300
# libddvm blk across a driver VM restart: ddvm-blkcheck writes 96 MiB through the
# driver VM's nvme driver with the channel's whole queue depth in flight; the driver
# VM is killed in the middle, the channel moves to a new epoch (ddvm-chan SIGUSR1, as
# the supervisor does it) and a new driver VM takes over. libddvm re-submits what was
# in flight: the write completes without an error, every byte verifies through the new
# driver VM, and the image file holds the whole pattern — no acknowledged write was lost.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/blk_lib.sh"
blk_need_build
t_need_file "$BUILD/bin/ddvm-blkcheck"
PAT="python3 $DDVM_ROOT/tests/vm/client_pattern.py"
LEN=$((96 << 20))

qemu-img create -q -f raw "$T/nvme.img" 128M
blk_nvme_driver_vm drv1 "$T/nvme.img"

DDVM_DEBUG=1 "$BUILD/bin/ddvm-blkcheck" --sock "$T/ch-nvme/frontend.sock" write 5 0 $LEN verify 5 0 $LEN \
	>"$T/check.log" 2>&1 &
echo $! >"$T/check.pid"
t_on_exit "t_kill_pidfile '$T/check.pid'; cat '$T/check.log'"
for _ in $(seq 600); do
	grep -q 'blkcheck: disk' "$T/check.log" && break
	sleep 0.05
done
grep -q 'blkcheck: disk' "$T/check.log" || t_fail "ddvm-blkcheck did not attach"

# The driver VM dies with writes in flight; a new one serves a new epoch.
t_kill_pidfile "$T/drv1.pid"
grep -q 'write OK' "$T/check.log" && t_skip "the write finished before the driver VM died"
t_log "driver VM 1 killed mid-write"
n=$(grep -c 'ddvm-chan: epoch' "$T/ch-nvme/log" || true)
kill -USR1 "$(cat "$T/ch-nvme/chan.pid")"
for _ in $(seq 100); do
	[ "$(grep -c 'ddvm-chan: epoch' "$T/ch-nvme/log" || true)" -gt "$n" ] && break
	sleep 0.05
done
blk_nvme_driver_vm drv2 "$T/nvme.img"
t_log "driver VM 2 up"

pid=$(cat "$T/check.pid")
for _ in $(seq 2400); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
if ! wait "$pid"; then
	cat "$T/check.log"
	# What the disk holds tells a lost write from a wrong read.
	t_kill_pidfile "$T/drv2.pid"
	$PAT diagnose "$T/nvme.img" 5 0 $LEN || true
	t_fail "ddvm-blkcheck failed across the restart"
fi
cat "$T/check.log"
grep -q 'write OK .*restarts 1' "$T/check.log" || t_fail "the write did not span the restart"
grep -q 'verify OK' "$T/check.log" || t_fail "no verify"
vm_no_oops drv2
t_kill_pidfile "$T/drv2.pid"
$PAT verify "$T/nvme.img" 5 0 $LEN || t_fail "the image file lost acknowledged writes"
echo SUCCESS
