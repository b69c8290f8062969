#!/bin/bash
# timeout: 300
# blk on a qcow2 image: what the client wrote and was acknowledged survives a restart
# of the driver VM, although the client never flushed it. QEMU's qcow2 driver keeps
# the metadata of newly allocated clusters (L2 tables, refcounts) in its own memory
# until a flush; a QEMU killed without one loses the data of every write that
# allocated a cluster since — where a driver VM's failure leaves the client running, so
# its later flushes would never bring that data back. The supervisor therefore stops a
# failing driver VM with qcow2 disks through QMP (`stop` drains and flushes every
# disk) before it kills it (docs/supervisor.md, "Health and restart policy").
#
# `ddvm up` of examples/quickstart.ini with its disk made a new qcow2 image; in the
# client, O_DIRECT writes of random data into clusters never written before (no fsync,
# no flush); then, each time, a restart of the driver VM and a read back of every region
# written so far: `ddvm restart drv` (asked for), `ddvm inject drv hang` (the heartbeat
# finds it) and `ddvm inject drv panic` (pvpanic). Checked: every region reads back as
# written, the supervisor said it flushed the disks before the kill, and `qemu-img
# check` finds the image clean after `ddvm down`.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
command -v jq >/dev/null || t_skip "needs jq (scripts/deps.sh installs it)"
command -v qemu-img >/dev/null || t_skip "needs qemu-img (scripts/deps.sh installs it)"

IMG=$T/disk0.qcow2
# ddvm_faultinj in the driver VM: `ddvm inject drv hang`
sup_example qcow2 quickstart -e "s|^image *=.*|image  = $IMG|" -e 's|^format *=.*|format = qcow2|' \
	-e 's|^\[driver-vm drv\]|[driver-vm drv]\nappend = ddvm.load=ddvm_faultinj|'
grep -q '^format = qcow2' "$T/qcow2.ini" || t_fail "examples/quickstart.ini: no format key to edit"
grep -q '^append = ddvm.load' "$T/qcow2.ini" || t_fail "examples/quickstart.ini: no [driver-vm drv] section"
sup_up "$T/qcow2.ini"
sup_wait_chan disk0.app frontend_state ready 120

declare -A want=() # MiB offset in the disk -> sha256 the client wrote there
# write 4 MiB of random data at OFFSET MiB, O_DIRECT, no sync: acknowledged, not flushed
write_region() {
	local off=$1 out
	out=$(sup_console_cmd app 60 "dd if=/dev/urandom of=/tmp/r bs=1M count=4 2>/dev/null && dd if=/tmp/r of=/dev/ddvmblk0 bs=1M seek=$off oflag=direct conv=notrunc 2>/dev/null && sha256sum </tmp/r") ||
		t_fail "the client's write at $off MiB failed: $out"
	want[$off]=${out%% *}
}
# every region written so far reads back as written (O_DIRECT: from the disk, not the
# client's page cache)
check_regions() {
	local off got
	for off in "${!want[@]}"; do
		got=$(sup_console_cmd app 60 "dd if=/dev/ddvmblk0 bs=1M skip=$off count=4 iflag=direct 2>/dev/null | sha256sum") ||
			t_fail "$1: the client's read at $off MiB failed: $got"
		[ "${got%% *}" = "${want[$off]}" ] ||
			t_fail "$1: the 4 MiB written at $off MiB (acknowledged, not flushed) read back as ${got%% *}, not ${want[$off]}: lost with the driver VM"
	done
	t_log "$1: ${#want[@]} regions read back as written"
}

step=0
for how in restart hang panic; do
	step=$((step + 1))
	write_region $((step * 16))
	write_region $((step * 16 + 8))
	if [ "$how" = restart ]; then
		"$DDVM" restart drv >/dev/null || t_fail "ddvm restart drv failed"
	else
		"$DDVM" inject drv "$how" >/dev/null || t_fail "ddvm inject drv $how failed"
	fi
	sup_wait_log 'drv: service restored' 180 "$step"
	check_regions "after $how"
	# a panicking QEMU may shut down (and flush) by itself before the supervisor's stop
	if [ "$how" != panic ]; then
		flushed=$(grep -c 'drv: disks flushed' "$DDVM_RUNDIR/ddvm.log") || true
		((flushed >= step)) || t_fail "$how: the supervisor did not say it flushed drv's disks before the kill"
		t_log "$how: $(grep 'drv: disks flushed' "$DDVM_RUNDIR/ddvm.log" | tail -n 1 | sed 's/.*drv: //')"
	fi
done

"$DDVM" down >/dev/null || t_fail "ddvm down failed"
sup_wait_gone 60
out=$(qemu-img check "$IMG" 2>&1) || t_fail "qemu-img check of the image: $out"
t_log "qemu-img check: $(echo "$out" | head -n 1)"
echo SUCCESS
