#!/bin/bash
# timeout: 420
# blk: a new epoch in the middle of I/O (the supervisor's reset after a driver VM
# restart, simulated by ddvm-chan's SIGUSR2: backend ABSENT, rings zeroed, epoch + 1,
# both control vectors rung; the driver VM keeps its doorbell connection)
# loses no acknowledged write and hangs nothing. The client requeues what was in flight
# and resumes when the translation module serves the new epoch; fio verifies every
# block it wrote. (The driver VM itself survives here: the dependability issue kills it
# for real.)
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/blk_lib.sh"
blk_need_build

# virtio-blk, not nvme: QEMU 7.2's emulated nvme loses commands under TCG on a loaded
# machine (timeout, abort, controller reset, every ~9 s for minutes), which has
# nothing to do with the epoch change this test is about.
D=virtio-blk
qemu-img create -q -f raw "$T/disk.img" "${BLK_IMG_MB}M"
blk_chan_start $D "disk/by-pci/${BLK_BDF[$D]}"
mapfile -t drv_args < <(blk_disk_args $D "$T/disk.img"; blk_chan_args 0 $D backend)
mapfile -t cli_args < <(blk_chan_args 0 $D frontend)
# both sides' counters (doorbells, polls, lost wake-ups: ddvm_blk_stats) in the log;
# the $(...) runs in the driver VM
# shellcheck disable=SC2016
BLK_DRIVER_LOOP='while :; do sleep 5; echo "BLK-STATS $(tr "\n" " " </sys/bus/pci/devices/0000:00:10.0/ddvm_blk_stats)"; done' \
	blk_driver_script "$T/driver.sh" $D
blk_driver_vm drv pc "$T/driver.sh" "${drv_args[@]}"
{
	blk_wait_disks_sh 1
	cat <<'EOF'
fail=0
for pass in 1 2 3 4 5 6; do
	echo "BLK-EPOCH-PASS $pass"
	fio --eta=never --name=e --filename=/dev/ddvmblk0 --direct=1 --ioengine=libaio \
		--rw=randwrite --bs=4k --size=16M --iodepth=32 --verify=crc32c --do_verify=1 \
		--verify_fatal=1 --randrepeat=0 --output=/tmp/fio.txt && grep -q 'err= 0' /tmp/fio.txt ||
		{ fail=1; cat /tmp/fio.txt; }
done
dmesg | grep -i 'ddvm blk' | tail -n 8
echo "BLK-STATS $(tr '\n' ' ' </sys/bus/pci/devices/0000:00:10.0/ddvm_blk_stats)"
echo "BLK-EPOCH-DONE fail=$fail"
EOF
} >"$T/client.sh"

vm_wait drv 'BLK-DRIVER-UP' 120
blk_client_vm cli "$T/client.sh" "${cli_args[@]}"
# the client's boot, apart from the I/O (on a loaded host it alone took up to a minute)
vm_wait cli "BLK-EPOCH-PASS 1" 120
t_log "client up, pass 1 started"
for p in 2 4; do
	vm_wait cli "BLK-EPOCH-PASS $p" 120
	sleep 0.5
	kill -USR2 "$(cat "$T/ch-$D/chan.pid")"
	t_log "epoch bumped during pass $p"
done
vm_wait cli 'BLK-EPOCH-DONE' 240
t_log "6 passes done"
grep -a 'BLK-EPOCH\|ddvm blk' "$T/cli.console" | tail -n 12
echo "client:    $(grep -a '^BLK-STATS' "$T/cli.console" | tail -n1 | tr -d '\r')"
echo "driver VM: $(grep -a '^BLK-STATS' "$T/drv.console" | tail -n1 | tr -d '\r')"
vm_no_oops drv
vm_no_oops cli
grep -q 'BLK-EPOCH-DONE fail=0' "$T/cli.console" || t_fail "fio verify failed across an epoch change"
n=$(grep -c 'resumed at epoch' "$T/cli.console" || true)
[ "$n" -ge 2 ] || t_fail "the client resumed $n times, expected 2"
# A lost wake-up leaves requests (responses) to the 1 s backstop poll, which the counters
# see as work still waiting at the next poll: a broken sleep/wake-up makes it one per
# second of I/O (hundreds here); a few can be a guest that did not run for a second.
for side in cli drv; do
	lost=$(grep -a '^BLK-STATS' "$T/$side.console" | tail -n1 | sed -n 's/.* lost_wakeups \([0-9]*\).*/\1/p')
	[ "${lost:-0}" -le 20 ] || t_fail "$side: $lost lost wake-ups (requests paced by the backstop poll)"
done
echo SUCCESS
