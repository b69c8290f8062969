#!/bin/bash
# timeout: 300
# nbdkit-ddvm-plugin: a reused disk exported over NBD through libddvm.
#   raw image -> nvme in a driver VM -> ddvm_blkback <== channel ==> nbdkit (libddvm)
#     -> NBD on a unix socket -> nbdcopy writes 32 MiB of random data, qemu-img reads
#        the whole disk back; the checksums match, and so does the image file after
#        the driver VM is gone.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/blk_lib.sh"
blk_need_build
PLUGIN=$BUILD/lib/nbdkit-ddvm-plugin.so
command -v nbdkit >/dev/null || t_skip "nbdkit not installed (make deps)"
command -v nbdcopy >/dev/null || t_skip "nbdcopy not installed (libnbd-bin; make deps)"
t_need_file "$PLUGIN"
MB=32

qemu-img create -q -f raw "$T/nvme.img" 64M
head -c $((MB << 20)) /dev/urandom >"$T/src.img"
want=$(sha256sum <"$T/src.img" | cut -d' ' -f1)
blk_nvme_driver_vm drv "$T/nvme.img"

# nbdkit writes its pid file once the export is ready (it waits for the driver VM)
nbdkit -f -U "$T/nbd.sock" -P "$T/nbdkit.pid" "$PLUGIN" socket="$T/ch-nvme/frontend.sock" \
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
vm_no_oops drv

t_kill_pidfile "$T/nbdkit.bgpid"
t_kill_pidfile "$T/drv.pid"
got=$(head -c $((MB << 20)) "$T/nvme.img" | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || t_fail "the image file does not hold what was written"
echo SUCCESS
