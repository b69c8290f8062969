#!/bin/bash
# timeout: 300
# nbdkit-ddvm-plugin: a reused disk exported over NBD through libddvm, through `ddvm
# up` and examples/host-clients.ini as a user would copy it (the disk in $T):
#   raw image -> nvme in the driver VM -> ddvm_blkback <== channel disk0.mybox ==>
#     nbdkit (libddvm, socket RUNDIR/channels/disk0.mybox.client.sock) -> NBD on a unix
#     socket -> nbdcopy writes 32 MiB of random data, qemu-img reads the whole disk
#     back; the checksums match, and so does the image file after `ddvm down`.
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

t_kill_pidfile "$T/nbdkit.bgpid"
"$DDVM" down || t_fail "ddvm down failed"
sup_wait_gone 30
got=$(head -c $((MB << 20)) "$T/disk0.img" | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || t_fail "the image file does not hold what was written"
echo SUCCESS
