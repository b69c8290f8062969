#!/bin/bash
# timeout: 240
# libddvm blk against a real driver VM, through `ddvm up` and examples/host-clients.ini
# as a user would copy it (the disk in $T): a host process (build/bin/ddvm-blkcheck, the
# libddvm example) uses a raw disk image through the driver VM's unmodified nvme driver.
#   host writes a pattern into the image -> nvme in the driver VM -> ddvm_blkback
#     <== channel disk0.mybox ==> ddvm-blkcheck (libddvm, async reads + callbacks)
#     verifies it
# Then ddvm-blkcheck writes another pattern (pipelined writes + flush), reads it back,
# proves a wrong pattern is caught, and after `ddvm down` the host finds the written
# pattern in the image file.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
t_need_file "$BUILD/bin/ddvm-blkcheck"
PAT="python3 $DDVM_ROOT/tests/vm/client_pattern.py"
CHECK="$BUILD/bin/ddvm-blkcheck --sock $DDVM_RUNDIR/channels/disk0.mybox.client.sock"

qemu-img create -q -f raw "$T/disk0.img" 64M
$PAT write "$T/disk0.img" 7 $((1 << 20)) $((4 << 20))
sup_example hc host-clients -e "s|^image .*|image  = $T/disk0.img|"
grep -q "^image  = $T/disk0.img" "$T/hc.ini" || t_fail "examples/host-clients.ini has no image line to edit"
sup_up "$T/hc.ini"

# One connection for everything (see clients/examples/blkcheck.c: QEMU 7.2's ivshmem
# device must not see a peer id reconnect).
$CHECK info verify 7 $((1 << 20)) $((4 << 20)) \
	write 9 $((8 << 20)) $((4 << 20)) verify 9 $((8 << 20)) $((4 << 20)) \
	mismatch 8 $((8 << 20)) $((1 << 16)) || t_fail "ddvm-blkcheck failed"
! grep -aqE 'Oops|BUG:|Kernel panic' "$DDVM_RUNDIR/drv.log" || t_fail "the driver VM's kernel complained"

"$DDVM" down || t_fail "ddvm down failed"
sup_wait_gone 30
$PAT verify "$T/disk0.img" 9 $((8 << 20)) $((4 << 20)) || t_fail "written pattern not in the image"
$PAT verify "$T/disk0.img" 7 $((1 << 20)) $((4 << 20)) || t_fail "host pattern damaged"
echo SUCCESS
