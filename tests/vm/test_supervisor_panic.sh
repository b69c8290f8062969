#!/bin/bash
# timeout: 400
# A guest kernel panic in a driver VM is detected through pvpanic (QMP GUEST_PANICKED,
# logged as such, not merely as "QEMU exited"), the VM is restarted and its channel's
# epoch is bumped.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
t_need_file "$DDVM_DRIVER_INITRD"
# The guest needs a pvpanic driver (pvpanic-mmio for QEMU's ISA pvpanic, ACPI QEMU0001).
zcat "$DDVM_DRIVER_INITRD" | cpio -t 2>/dev/null | grep -q 'pvpanic-mmio\.ko' ||
	t_skip "driver-vm image lacks pvpanic-mmio.ko (add pvpanic_mmio to images/build-initramfs.sh)"

# The run script panics the guest once it is up; the restarted one panics again, so
# restart_max = 1 also lets us see the supervisor give up loudly.
cat >"$T/panic.sh" <<'GUEST'
echo PANIC-NOW
echo c >/proc/sysrq-trigger
GUEST

sup_config setup <<CONF
[driver-vm drv]
memory = 256M
run = $T/panic.sh
restart_max = 1
restart_backoff_ms = 50
[device nic0]
vm = drv
kind = net
backend = none
[client-vm cli]
memory = 256M
devices = nic0
CONF
sup_up "$T/setup.ini"
sup_wait_log 'drv: FAILED: guest kernel panicked \(pvpanic\)' 240
sup_wait_log 'drv: channel nic0.cli epoch 2' 30
sup_wait_log 'drv: FAILED: guest kernel panicked \(pvpanic\)' 240
sup_wait_log 'drv: GIVING UP after 2 failures in a row' 30
[ "$(sup_vm_field drv 3)" = gave-up ] || t_fail "drv not marked gave-up: $("$DDVM" status)"
"$DDVM" status | grep -q 'last failure: guest kernel panicked' || t_fail "status does not say why"
"$DDVM" status | awk '$1 == "nic0.cli" { exit !($6 == "broken") }' ||
	t_fail "the client is not told that the backend is gone: $("$DDVM" status)"
t_log "panic detected twice via pvpanic; gave up loudly; client told"
echo SUCCESS
