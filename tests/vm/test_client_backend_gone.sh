#!/bin/bash
# timeout: 480
# When the supervisor gives up on a driver VM (restart_max = 0 and a kill), every
# client fails its I/O at once instead of waiting (DDVM_CTL_BACKEND_GONE, ring/follow.h):
#   - libddvm: ddvm-blkcheck, mid-I/O on disk0 (its write, or the read back when the
#     write finished as the kill went in), fails with -ENODEV ("the supervisor gave up
#     restarting the driver VM");
#   - newos: mid-read on disk1 (or, if it already finished, a second one attaching
#     afterwards) reports BACKEND_GONE;
#   - the Linux blkfront in client VM cli: a read of disk2 fails with an I/O error.
# Then `ddvm restart drv` (a new epoch, the flag cleared) revives the channels: a new
# ddvm-blkcheck writes and verifies through the new driver VM.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
NEWOS=$BUILD/newos/ddvm-newos.elf
t_need_file "$NEWOS"
t_need_file "$BUILD/bin/ddvm-blkcheck"
command -v jq >/dev/null || t_skip "needs jq (scripts/deps.sh installs it)"
PAT="python3 $DDVM_ROOT/tests/vm/client_pattern.py"
LEN=$((96 << 20))
OSLEN=$((48 << 20))

qemu-img create -q -f raw "$T/disk0.img" 128M
qemu-img create -q -f raw "$T/disk1.img" 128M
qemu-img create -q -f raw "$T/disk2.img" 16M
$PAT write "$T/disk1.img" 7 0 $OSLEN
cat >"$T/cli-run.sh" <<'GUEST'
for _ in $(seq 600); do [ -b /dev/ddvmblk0 ] && break; sleep 0.1; done
# each pass reads the whole disk past the page cache, until a read fails
while dd if=/dev/ddvmblk0 of=/dev/null bs=64k iflag=direct 2>/tmp/dd.err; do
	echo CLI-READ-OK
	sleep 0.2
done
echo "CLI-READ-FAILED $(tail -n 1 /tmp/dd.err)"
GUEST
sup_config gone <<CONF
[driver-vm drv]
memory = 256M
restart_max = 0
boot_timeout_ms = 180000
[device disk0]
vm = drv
kind = blk
model = virtio-blk-pci
image = $T/disk0.img
[device disk1]
vm = drv
kind = blk
model = virtio-blk-pci
image = $T/disk1.img
[device disk2]
vm = drv
kind = blk
model = virtio-blk-pci
image = $T/disk2.img
[host-client hc]
devices = disk0
[host-client os]
devices = disk1
[client-vm cli]
memory = 256M
run = $T/cli-run.sh
boot_timeout_ms = 180000
devices = disk2
CONF
sup_up "$T/gone.ini"
sup_wait_console cli 'CLI-READ-OK' 240

start_newos() { # NAME
	: >"$T/$1.console"
	qemu-system-x86_64 -name "$1" -accel "$(ddvm_accel)" -M q35 -m 64 -nodefaults \
		-display none -no-reboot -kernel "$NEWOS" \
		-append "blkseed=7 blkoff=0 blklen=$OSLEN wseed=11 woff=$((50 << 20))" \
		-chardev file,id=con0,path="$T/$1.console" -serial chardev:con0 \
		-chardev socket,id=cb,path="$DDVM_RUNDIR/channels/disk1.os.client.sock" \
		-device ivshmem-doorbell,chardev=cb,vectors=2 \
		-pidfile "$T/$1.pid" -daemonize || t_fail "qemu for $1 did not start"
	t_on_exit "t_kill_pidfile '$T/$1.pid'; cp '$T/$1.console' '$BUILD/test-logs/gone-$1.console' 2>/dev/null"
}
wait_file() { # FILE REGEX SECONDS
	local deadline=$((SECONDS + $3))
	until grep -aEq -- "$2" "$1" 2>/dev/null || ((SECONDS >= deadline)); do sleep 0.05; done
	grep -aEq -- "$2" "$1" 2>/dev/null
}

start_newos newos1
DDVM_DEBUG=1 "$BUILD/bin/ddvm-blkcheck" --sock "$DDVM_RUNDIR/channels/disk0.hc.client.sock" \
	write 5 0 $LEN verify 5 0 $LEN >"$T/check.log" 2>&1 &
echo $! >"$T/check.pid"
t_on_exit "t_kill_pidfile '$T/check.pid'"
wait_file "$T/check.log" 'blkcheck: disk' 60 || { cat "$T/check.log"; t_fail "ddvm-blkcheck did not attach"; }
wait_file "$T/newos1.console" 'newos: blk disk' 60 || t_fail "newos did not attach: $(cat "$T/newos1.console")"

# The driver VM dies; restart_max = 0: the supervisor gives up at once.
grep -q 'write OK' "$T/check.log" && t_skip "the write finished before the driver VM died"
t0=$(now_ms)
"$DDVM" inject drv kill || t_fail "ddvm inject drv kill failed"
sup_wait_log 'drv: GIVING UP' 60
t_log "drv killed; the supervisor gave up $(($(now_ms) - t0)) ms later"
[ "$(sup_vm_field drv 3)" = gave-up ] || t_fail "drv not marked gave-up: $("$DDVM" status)"

fails=()
fail() { fails+=("$*"); echo "check failed: $*"; }

# libddvm: its I/O fails now with -ENODEV, it does not hang (the write, or the read back
# after it: the write can finish between the check above and the kill)
pid=$(cat "$T/check.pid")
for _ in $(seq 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$pid" 2>/dev/null; then
	fail "ddvm-blkcheck still waits 30 s after the supervisor gave up"
elif wait "$pid"; then
	fail "ddvm-blkcheck succeeded although its driver VM is gone"
fi
cat "$T/check.log"
grep -Eq 'blkcheck: (write|verify): the supervisor gave up restarting the driver VM' "$T/check.log" ||
	fail "ddvm-blkcheck did not fail with -ENODEV (BACKEND_GONE)"
t_log "libddvm: blkcheck failed $(($(now_ms) - t0)) ms after the kill"

# newos: mid-I/O, or a second one attaching now
if wait_file "$T/newos1.console" 'BACKEND_GONE' 60; then
	t_log "newos: failed mid-I/O: $(grep -a 'newos: blk' "$T/newos1.console" | tail -n 2 | tr '\n' ';')"
elif grep -aq 'write+flush+readback: OK' "$T/newos1.console"; then
	t_log "newos 1 finished before the kill; a second newos attaches to the gone channel"
	t_kill_pidfile "$T/newos1.pid"
	start_newos newos2
	wait_file "$T/newos2.console" 'BACKEND_GONE' 120 ||
		fail "newos attached to a gone channel does not report BACKEND_GONE: $(tail -n 5 "$T/newos2.console")"
else
	fail "newos did not report BACKEND_GONE: $(tail -n 5 "$T/newos1.console")"
fi
grep -a 'newos:' "$T"/newos*.console | sed 's/^/  /'

# the Linux blkfront: the reads in the client VM fail (no hang)
if wait_file "$DDVM_RUNDIR/cli.log" 'CLI-READ-FAILED' 60; then
	grep -a 'CLI-READ-FAILED\|ddvm blk:' "$DDVM_RUNDIR/cli.log" | tail -n 4
else
	fail "the client VM's reads did not fail"
fi

# `ddvm restart drv` revives the channel: a new epoch, the flag cleared
"$DDVM" restart drv || t_fail "ddvm restart drv failed"
"$BUILD/bin/ddvm-blkcheck" --sock "$DDVM_RUNDIR/channels/disk0.hc.client.sock" \
	write 9 0 $((8 << 20)) verify 9 0 $((8 << 20)) >"$T/check2.log" 2>&1 ||
	fail "ddvm-blkcheck after ddvm restart: $(cat "$T/check2.log")"
grep -q 'verify OK' "$T/check2.log" && t_log "after ddvm restart: $(grep 'verify OK' "$T/check2.log")"
((${#fails[@]} == 0)) || t_fail "${fails[*]}"
echo SUCCESS
