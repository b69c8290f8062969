#!/bin/bash
# timeout: 240
# A running setup boots the kernel and initrd it was started with, whatever is put at
# their paths later: a rebuild (`make` while a setup runs) renames new images into
# place, and a driver VM restarted onto a driver image of another build could refuse
# this supervisor's channels (its translation module computes another layout: a trial
# saw both channels of a setup unserved after a rebuild). The supervisor opens the
# setup's kernels and initrds at `ddvm up` and has QEMU read those (/proc/PID/fd/N).
# Here the driver VM's initrd is a copy in the test's directory; after `ddvm up` an
# initramfs that cannot boot is renamed over it (a rebuild) and the driver VM is
# restarted: it must boot the original and serve host client a's disk (ddvm-blkcheck),
# and after `ddvm down` + `ddvm up` the setup takes the new file (the driver VM fails
# to boot, as it should).
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
command -v jq >/dev/null || t_skip "needs jq (scripts/deps.sh installs it)"
t_need_file "$BUILD/bin/ddvm-blkcheck"

cp "$DDVM_DRIVER_INITRD" "$T/driver.cpio.gz"
sup_config pinned <<CONF
[driver-vm drv]
memory = 256M
initrd = $T/driver.cpio.gz
restart_max = 1
restart_backoff_ms = 100
[device disk0]
vm = drv
kind = blk
model = virtio-blk-pci
image = $T/disk0.img
size = 16M
[host-client a]
devices = disk0
CONF
sup_up "$T/pinned.ini"
grep -q -- "-initrd /proc/[0-9]*/fd/[0-9]*" <(tr '\0' ' ' </proc/"$(sup_vm_field drv pid)"/cmdline) ||
	t_fail "QEMU does not read the initrd the supervisor opened: $(tr '\0' ' ' </proc/"$(sup_vm_field drv pid)"/cmdline)"

# a rebuild: a new file renamed over the old path (this one cannot boot)
head -c 1048576 /dev/urandom >"$T/driver.cpio.gz.new"
mv "$T/driver.cpio.gz.new" "$T/driver.cpio.gz"
"$DDVM" restart drv >/dev/null || t_fail "ddvm restart drv failed"
sup_blkcheck disk0.a 3 || t_fail "the restarted driver VM did not serve a (ddvm-blkcheck failed)"
grep -q 'drv: FAILED' "$DDVM_RUNDIR/ddvm.log" && t_fail "drv failed after the restart: $(grep 'drv: FAILED' "$DDVM_RUNDIR/ddvm.log")"
t_log "restarted onto the initrd of 'ddvm up', not the file renamed over it"

# a new `ddvm up` takes what is at the path now
"$DDVM" down >/dev/null 2>&1
rc=0
"$DDVM" up "$T/pinned.ini" -d >"$T/up2.out" 2>&1 || rc=$?
sed 's/^/    /' "$T/up2.out" | tail -n 3
[ "$rc" != 0 ] || t_fail "ddvm up booted an initrd that cannot boot: it did not read the new file"
grep -q 'drv: FAILED: .*panicked while booting' "$DDVM_RUNDIR/ddvm.log" ||
	t_fail "the second ddvm up failed, but not by booting the new initrd: $(grep 'drv:' "$DDVM_RUNDIR/ddvm.log" | tail -n 2)"
"$DDVM" down >/dev/null 2>&1 || true
echo SUCCESS
