#!/bin/bash
# timeout: 240
# A channel that does not reach READY is not silent: a driver VM booted from an image
# whose translation module cannot load (the driver image, its modules.dep without
# ddvm_blkback) comes up, and 30 s after its ready line the supervisor logs the channel
# as not ready and `ddvm status` (table and --json "problem") says why; at once, as the
# guest says it could not load the module, the supervisor logs that, with modprobe's
# reason. Then a driver VM booted from the client image: failed at once, saying so.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
command -v jq >/dev/null || t_skip "needs jq (scripts/deps.sh installs it)"
command -v cpio >/dev/null || t_skip "needs cpio"
qemu-img create -q -f raw "$T/disk0.img" 16M
# the driver initramfs and one more archive after it (the kernel unpacks them in order)
# with a modules.dep that leaves ddvm_blkback out
mkdir -p "$T/extra"
(cd "$T/extra" && zcat "$DDVM_DRIVER_INITRD" | cpio -id --quiet 'lib/modules/*/modules.dep')
dep=$(find "$T/extra" -name modules.dep)
if [ -z "$dep" ] || ! grep -q ddvm_blkback "$dep"; then
	t_fail "no modules.dep naming ddvm_blkback in $DDVM_DRIVER_INITRD"
fi
sed -i '/ddvm_blkback/d' "$dep"
(cd "$T/extra" && find . | cpio -o -H newc --quiet | gzip) >"$T/extra.cpio.gz"
cat "$DDVM_DRIVER_INITRD" "$T/extra.cpio.gz" >"$T/noblk.cpio.gz"
sup_config late <<CONF
[driver-vm drv]
initrd = $T/noblk.cpio.gz
[device disk0]
vm = drv
kind = blk
model = virtio-blk-pci
image = $T/disk0.img
[host-client hc]
devices = disk0
CONF
sup_up "$T/late.ini"
sup_wait_log 'drv: ready after' 150
t0=$(now_ms)
sup_wait_log 'channel disk0.hc not ready: backend absent at epoch 1 [0-9]+ s after drv booted: the translation module \(ddvm_blkback\) did not attach' 60
t_log "reported $(($(now_ms) - t0)) ms after the ready line was logged"
grep -aq 'DDVM-LOAD-FAILED module=ddvm_blkback' "$DDVM_RUNDIR/drv.log" || t_fail "the guest did not say it could not load ddvm_blkback"
grep -q "drv: the guest could not load ddvm_blkback (modprobe: module ddvm_blkback not found in modules.dep); what it serves does not work: see 'ddvm logs drv'" "$DDVM_RUNDIR/ddvm.log" ||
	t_fail "the supervisor did not log the failed load: $(grep 'could not load' "$DDVM_RUNDIR/ddvm.log")"
grep -aq 'DDVM-SERVICES ddvm_blkback' "$DDVM_RUNDIR/drv.log" && t_fail "the guest says it loaded ddvm_blkback"
sup_chan_field disk0.hc problem | grep -q 'ddvm_blkback' || t_fail "status --json has no problem for disk0.hc"
"$DDVM" status | grep -q 'not ready: backend absent' || t_fail "ddvm status does not show it: $("$DDVM" status)"
[ "$(sup_vm_field drv restarts)" = 0 ] || t_fail "the driver VM was restarted for it"

# the client image in a driver VM: it says DDVM-READY role=client-vm, which is failed
# at once (before: a boot deadline, or an upgrade's standby, ran out saying less)
"$DDVM" down >/dev/null || t_fail "ddvm down failed"
sup_wait_gone 60
sed -i "s|^initrd = .*|initrd = $DDVM_CLIENT_INITRD|" "$T/late.ini"
# (up -d may see it fail for good before it returns: its exit status is not the check)
"$DDVM" up -d "$T/late.ini" >"$T/up2.out" 2>&1 || true
sup_wait_log "drv: FAILED: it booted ddvm's client-vm image, not the driver-vm one" 150
t_log "PASS"
