#!/bin/bash
# timeout: 300
# nbdkit-ddvm-plugin: a reused disk exported over NBD through libddvm, through `ddvm
# up` and examples/host-clients.ini as a user would copy it (the disk in $T):
#   raw image -> nvme in the driver VM -> ddvm_blkback <== channel disk0.mybox ==>
#     nbdkit (libddvm, socket RUNDIR/channels/disk0.mybox.client.sock) -> NBD on a unix
#     socket -> nbdcopy writes 32 MiB of random data, qemu-img reads the whole disk
#     back; the checksums match, and so does the image file after `ddvm down`.
# nbdkit outlives a supervisor restart (`ddvm down` + `up`: reads fail meanwhile, then
# go on) and stops when the channel serves another disk than the one it exported.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
PLUGIN=$BUILD/lib/nbdkit-ddvm-plugin.so
command -v nbdkit >/dev/null || t_skip "nbdkit not installed (make deps)"
command -v nbdcopy >/dev/null || t_skip "nbdcopy not installed (libnbd-bin; make deps)"
t_need_file "$PLUGIN"
MB=32

head -c $((MB << 20)) /dev/urandom >"$T/src.img"
want=$(sha256sum <"$T/src.img" | cut -d' ' -f1)
sup_example hc host-clients -e "s|^image .*|image  = $T/disk0.img|"
grep -q "^image  = $T/disk0.img" "$T/hc.ini" || t_fail "examples/host-clients.ini has no image line to edit"
sup_up "$T/hc.ini"

# nbdkit writes its pid file once the export is ready (it waits for the driver VM)
nbdkit -f -U "$T/nbd.sock" -P "$T/nbdkit.pid" "$PLUGIN" socket="$DDVM_RUNDIR/channels/disk0.mybox.client.sock" \
	timeout=60 >"$T/nbdkit.log" 2>&1 &
echo $! >"$T/nbdkit.bgpid"
t_on_exit "t_kill_pidfile '$T/nbdkit.bgpid'; cat '$T/nbdkit.log'"
for _ in $(seq 1200); do
	[ -s "$T/nbdkit.pid" ] && [ -S "$T/nbd.sock" ] && break
	kill -0 "$(cat "$T/nbdkit.bgpid")" 2>/dev/null || t_fail "nbdkit exited"
	sleep 0.05
done
[ -S "$T/nbd.sock" ] || t_fail "nbdkit did not come up"
URI="nbd+unix:///?socket=$T/nbd.sock"
nbdinfo "$URI" | grep -E 'export-size|block_size|can_' | sed 's/^/  /'
size=$(nbdinfo --size "$URI")
[ "$size" = $((64 << 20)) ] || t_fail "export size $size, want $((64 << 20))"

t_log "nbdcopy: $MB MiB into the reused disk"
nbdcopy --flush "$T/src.img" "$URI" || t_fail "nbdcopy into the disk failed"
t_log "qemu-img: the whole disk back"
qemu-img convert -f raw -O raw "$URI" "$T/back.img" || t_fail "qemu-img convert failed"
got=$(head -c $((MB << 20)) "$T/back.img" | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || t_fail "checksum through NBD: $got, want $want"
t_log "checksums match: $want"
! grep -aqE "$T_KERNEL_TROUBLE" "$DDVM_RUNDIR/drv.log" || t_fail "the driver VM's kernel complained"
[ "$(sup_chan_field disk0.mybox errors)" = 0 ] || t_fail "errors on channel disk0.mybox"

# `ddvm down` + `up` (a supervisor restart) under a running nbdkit: reads fail with an
# I/O error while nothing serves the channel, then nbdkit opens the new channel
nbdpid=$(cat "$T/nbdkit.bgpid")
"$DDVM" down || t_fail "ddvm down failed"
sup_wait_gone 30
! nbdcopy "$URI" "$T/during.img" 2>"$T/during.err" || t_fail "a read through nbdkit succeeded with no supervisor"
t_log "with ddvm down: $(head -n 1 "$T/during.err")"
sup_up "$T/hc.ini"
qemu-img convert -f raw -O raw "$URI" "$T/back2.img" || t_fail "no read through nbdkit after ddvm up again: $(tail -n 5 "$T/nbdkit.log")"
got=$(head -c $((MB << 20)) "$T/back2.img" | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || t_fail "checksum through NBD after the supervisor restart: $got"
kill -0 "$nbdpid" 2>/dev/null || t_fail "nbdkit exited"
grep -q 'served again' "$T/nbdkit.log" || t_fail "nbdkit did not say the channel is back: $(cat "$T/nbdkit.log")"
t_log "after ddvm up again: the same nbdkit (pid $nbdpid) reads the disk back, checksums match"
# and a restart while nbdkit is idle: the first request of the new supervisor's time
# works (it failed once: the old channel's shutdown was noticed only by failing it)
"$DDVM" down || t_fail "ddvm down failed"
sup_wait_gone 30
sup_up "$T/hc.ini"
nbdcopy "$URI" "$T/back3.img" 2>"$T/idle.err" || t_fail "the first read after an idle supervisor restart failed: $(cat "$T/idle.err")"
[ "$(head -c $((MB << 20)) "$T/back3.img" | sha256sum | cut -d' ' -f1)" = "$want" ] ||
	t_fail "checksum through NBD after an idle supervisor restart"
t_log "an idle restart: the first read after it works"

# ... but not another disk under the geometry its NBD clients were told of: it stops
"$DDVM" down || t_fail "ddvm down failed"
sup_wait_gone 30
qemu-img create -q -f raw "$T/other.img" 32M
sed "s|^image .*|image  = $T/other.img|" "$T/hc.ini" >"$T/other.ini"
sup_up "$T/other.ini"
! nbdcopy "$URI" "$T/other-back.img" 2>/dev/null || t_fail "nbdkit served a 32 MiB disk as the 64 MiB one"
for _ in $(seq 200); do kill -0 "$nbdpid" 2>/dev/null || break; sleep 0.05; done
! kill -0 "$nbdpid" 2>/dev/null || t_fail "nbdkit still runs after its disk changed"
grep -q 'serves another disk now' "$T/nbdkit.log" || t_fail "nbdkit did not say why it stopped: $(cat "$T/nbdkit.log")"
t_log "another disk behind the socket: $(grep -o 'serves another disk now.*' "$T/nbdkit.log" | head -n 1)"
"$DDVM" down || t_fail "ddvm down failed"
sup_wait_gone 30
got=$(head -c $((MB << 20)) "$T/disk0.img" | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || t_fail "the image file does not hold what was written"
echo SUCCESS
