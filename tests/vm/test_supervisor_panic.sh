#!/bin/bash
# timeout: 400
# A guest kernel panic in a driver VM is detected through pvpanic (QMP GUEST_PANICKED,
# logged as such, not merely as "QEMU exited"), the VM is restarted and its channel's
# epoch is bumped.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
t_need_file "$DDVM_DRIVER_INITRD"
initrd=$DDVM_DRIVER_INITRD
cat >"$T/panic.sh" <<'GUEST'
# The guest needs a pvpanic driver: pvpanic-mmio binds QEMU's ISA pvpanic (ACPI QEMU0001).
# (core first: pvpanic-mmio needs pvpanic's symbols)
for m in pvpanic pvpanic-mmio; do [ -f /ddvm-extra/$m.ko ] && insmod /ddvm-extra/$m.ko; done
ls /sys/bus/acpi/devices/QEMU0001:00/driver >/dev/null 2>&1 || modprobe pvpanic_mmio
echo PANIC-NOW
echo c >/proc/sysrq-trigger
GUEST
# If the image lacks the module, append it from the kernel package as a second cpio
# archive (the kernel unpacks concatenated initramfs archives in order).
if ! zcat "$initrd" | cpio -t 2>/dev/null | grep -q 'pvpanic-mmio\.ko'; then
	kmods=$(find "$BUILD/kernel/root/lib/modules" -path '*/pvpanic/*' -name 'pvpanic*.ko*' 2>/dev/null | sort)
	[ -n "$kmods" ] || t_skip "no pvpanic module in the image or in $BUILD/kernel/root"
	mkdir -p "$T/extra/ddvm-extra"
	for m in $kmods; do
		case "$m" in *.xz) xz -dc "$m" >"$T/extra/ddvm-extra/$(basename "${m%.xz}")" ;;
		*) cp "$m" "$T/extra/ddvm-extra/" ;; esac
	done
	rm -f "$T/extra/ddvm-extra/pvpanic-pci.ko"
	(cd "$T/extra" && find . | cpio -o -H newc 2>/dev/null | gzip) >"$T/extra.cpio.gz"
	cat "$initrd" "$T/extra.cpio.gz" >"$T/driver-vm.cpio.gz"
	initrd=$T/driver-vm.cpio.gz
	# shellcheck disable=SC2012 # names for the log; the files are ours
	t_log "appended $(ls "$T/extra/ddvm-extra" | tr '\n' ' ')to the driver VM's initramfs"
fi

# The run script panics the guest once it is up; the restarted one panics again, so
# restart_max = 1 also lets us see the supervisor give up loudly.
sup_config setup <<CONF
[driver-vm drv]
memory = 256M
initrd = $initrd
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
sup_wait_log 'drv: FAILED: guest kernel panicked \(pvpanic\)' 240 2
sup_wait_log 'drv: GIVING UP after 2 failures in a row' 30
[ "$(sup_vm_field drv 3)" = gave-up ] || t_fail "drv not marked gave-up: $("$DDVM" status)"
"$DDVM" status | grep -q 'last failure: guest kernel panicked' || t_fail "status does not say why"
[ "$(sup_chan_field nic0.cli backend_state)" = broken ] ||
	t_fail "the client is not told that the backend is gone: $("$DDVM" status)"
t_log "panic detected twice via pvpanic; gave up loudly; client told"
echo SUCCESS
