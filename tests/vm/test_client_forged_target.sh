#!/bin/bash
# timeout: 300
# A client cannot borrow another client's disk by naming it in its own channel: the
# translation module takes each channel's target from the supervisor's list (fw_cfg
# opt/ddvm/channels, its `channels` parameter), not from the region's header, which the
# client can write at the moment the module reads it. One driver VM serves disk0 (16
# MiB) to host client a and disk1 (32 MiB) to host client b. A hostile writer
# (tests/vm/hostile_writer.py, kind identity) holds a's backend_target at b's disk
# (disk/by-pci/B) every millisecond while the driver VM is killed and boots again, so
# its modules probe the channels with the forged header in place. Checked: a's channel
# serves a's own disk (16 MiB), b's serves b's (32 MiB) and is ready, in the new
# driver VM's own words (dmesg: "ddvm blk: serving ..."). With the header trusted, a's
# channel (the lower PCI slot, probed first) opened b's disk and b's waited for it.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
command -v jq >/dev/null || t_skip "needs jq (scripts/deps.sh installs it)"

sup_config forged <<CONF
[driver-vm drv]
memory = 256M
restart_backoff_ms = 100
[device disk0]
vm = drv
kind = blk
model = virtio-blk-pci
image = $T/disk0.img
size = 16M
[device disk1]
vm = drv
kind = blk
model = virtio-blk-pci
image = $T/disk1.img
size = 32M
[host-client a]
devices = disk0
[host-client b]
devices = disk1
CONF
sup_up "$T/forged.ini"

# the PCI addresses the supervisor gave: each channel's device and its disk's controller
chan() { awk -v c="$1" '$1 == c { print $4 }' "$DDVM_RUNDIR/drv.channels"; }
target() { sed -n "s/^$1 .*target=\\([^ ]*\\).*/\\1/p" "$DDVM_RUNDIR/drv.channels"; }
a_dev=$(chan disk0.a) b_dev=$(chan disk1.b)
a_disk=$(target disk0.a) b_disk=$(target disk1.b)
[[ -n $a_dev && -n $b_dev && -n $a_disk && -n $b_disk ]] ||
	t_fail "drv.channels lacks an address: $(cat "$DDVM_RUNDIR/drv.channels")"
t_log "a: channel $a_dev, disk at $a_disk; b: channel $b_dev, disk at $b_disk"

sup_hostile_writer disk0.a --kinds identity --target "disk/by-pci/$b_disk" --duration 200 \
	--period 200

pid0=$(sup_vm_field drv pid)
"$DDVM" inject drv kill >/dev/null || t_fail "ddvm inject drv kill failed"
# answered once the supervisor saw drv die: status no longer shows the killed QEMU
grep -q 'drv: FAILED' "$DDVM_RUNDIR/ddvm.log" || t_fail "inject kill answered before the failure was seen"
[ "$(sup_vm_field drv pid)" != "$pid0" ] || t_fail "status shows the killed QEMU ($pid0) after inject kill"
# both channels served again by the new driver VM
sup_wait_chan_epoch disk0.a 2 120
sup_wait_chan_epoch disk1.b 2 120
t_kill_pidfile "$T/writer.pid"
tail -n 2 "$DDVM_RUNDIR/hostile_writer.log"
forged=$(sed -n 's/.*forged writes per kind: identity \([0-9]*\).*/\1/p' "$DDVM_RUNDIR/hostile_writer.log")
((${forged:-0} >= 2)) || t_fail "the writer forged the target ${forged:-0} times (not across the restart)"

serving=$(sup_console_cmd drv 30 "dmesg | grep 'ddvm blk: serving'")
printf '    %s\n' "$serving"
grep -q "$a_dev: ddvm blk: serving /dev/disk/by-pci/$a_disk " <<<"$serving" ||
	t_fail "a's channel ($a_dev) does not serve a's disk ($a_disk): $(grep "$a_dev" <<<"$serving")"
grep -q "$b_dev: ddvm blk: serving /dev/disk/by-pci/$b_disk " <<<"$serving" ||
	t_fail "b's channel ($b_dev) does not serve b's disk ($b_disk): $(grep "$b_dev" <<<"$serving")"
grep -q "$a_dev: .* 65536 sectors" <<<"$serving" && t_fail "a's channel serves a 32 MiB disk: b's"
t_log "the forged target was ignored: each channel serves its own disk after the restart"
"$DDVM" down >/dev/null 2>&1
echo SUCCESS
