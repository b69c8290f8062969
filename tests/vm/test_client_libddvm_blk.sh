#!/bin/bash
# timeout: 240
# libddvm blk against a real driver VM: a host process (build/bin/ddvm-blkcheck, the
# libddvm example) uses a raw disk image through the driver VM's unmodified nvme driver.
#   host writes a pattern into the image -> nvme in the driver VM -> ddvm_blkback
#     <== channel ==> ddvm-blkcheck (libddvm, async reads + callbacks) verifies it
# Then ddvm-blkcheck writes another pattern (pipelined writes + flush), reads it back,
# proves a wrong pattern is caught, and after the driver VM is gone the host finds the
# written pattern in the image file.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/blk_lib.sh"
blk_need_build
t_need_file "$BUILD/bin/ddvm-blkcheck"
PAT="python3 $DDVM_ROOT/tests/vm/client_pattern.py"
CHECK="$BUILD/bin/ddvm-blkcheck --sock $T/ch-nvme/frontend.sock"

qemu-img create -q -f raw "$T/nvme.img" 64M
$PAT write "$T/nvme.img" 7 $((1 << 20)) $((4 << 20))
blk_nvme_driver_vm drv "$T/nvme.img"

# One connection for everything (see clients/examples/blkcheck.c: QEMU 7.2's ivshmem
# device must not see a peer id reconnect).
$CHECK info verify 7 $((1 << 20)) $((4 << 20)) \
	write 9 $((8 << 20)) $((4 << 20)) verify 9 $((8 << 20)) $((4 << 20)) \
	mismatch 8 $((8 << 20)) $((1 << 16)) || t_fail "ddvm-blkcheck failed"
vm_no_oops drv

t_kill_pidfile "$T/drv.pid"
$PAT verify "$T/nvme.img" 9 $((8 << 20)) $((4 << 20)) || t_fail "written pattern not in the image"
$PAT verify "$T/nvme.img" 7 $((1 << 20)) $((4 << 20)) || t_fail "host pattern damaged"
echo SUCCESS
