#!/bin/bash
# timeout: 240
# A channel that does not reach READY is not silent: a driver VM booted from an image
# without the translation module (the client image has no ddvm_blkback) comes up, and
# 30 s after its ready line the supervisor logs the channel as not ready and
# `ddvm status` (table and --json "problem") says why; at once, as the guest says it
# could not load the module, the supervisor logs that, with modprobe's reason.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
command -v jq >/dev/null || t_skip "needs jq (scripts/deps.sh installs it)"
qemu-img create -q -f raw "$T/disk0.img" 16M
sup_config late <<CONF
[driver-vm drv]
initrd = $DDVM_CLIENT_INITRD
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
t_log "PASS"
