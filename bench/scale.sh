#!/bin/bash
# Scale and footprint of idle driver VMs, and the smallest guest memory that works.
#
#   bench/scale.sh [idle] [minmem]   (both by default; root: KSM, tap, netns)
#
# 1. Idle, through `ddvm up` (what a user runs: the supervisor's QEMU command line,
#    its defaults — q35 without HPET, TCG's buffer capped by tb_size — and its
#    translation modules loaded by the image): 1, then 2, 4 and 8 driver VMs (256 MiB,
#    1 vCPU), each owning an emulated nvme that ddvm_blkback serves to a host client
#    that never attaches (the channel is up and its heartbeat runs, no requests); one
#    setup per count. After a settle time, host CPU of every driver VM's QEMU over a
#    window of BENCH_IDLE_SECS (60) s -> % of one core per VM; PSS of each QEMU
#    (/proc/PID/smaps_rollup). The control, beside the single driver VM in the same
#    setup: a driver VM with no device (the same image and defaults, no channel).
# 2. KSM, with 8 VMs up (where /sys/kernel/mm/ksm exists; QEMU's mem-merge is on by
#    default): ksmd on (run=1, faster scanning) until it has done 3 full scans or 90 s,
#    then PSS again; the previous KSM settings are restored on every exit path.
# 3. Smallest guest memory: driver VMs with BENCH_MEMS sizes (bisected) own an e1000
#    and an nvme, serve a net and a blk channel to a fresh client VM (ddvm_netfront +
#    ddvm_blkfront) and must pass a quick check: the client pings the peer (in a
#    private network namespace) through it and runs fio randwrite+verify 4 MiB through
#    it, each bounded (boot 90 s, carrier 60 s, disk 60 s, fio 60 s).
source "$(dirname "$0")/../tests/lib/common.sh"
source "$(dirname "$0")/../tests/lib/supervisor.sh"
source "$(dirname "$0")/../tests/vm/net_common.sh"
source "$(dirname "$0")/../tests/vm/blk_lib.sh"
source "$(dirname "$0")/lib.sh"
t_need_root
blk_need_build
net_need_build
IDLE_SECS=${BENCH_IDLE_SECS:-60}
SETTLE=${BENCH_SETTLE_SECS:-5}
COUNTS=${BENCH_COUNTS:-1 2 4 8}
read -ra MEMS <<<"${BENCH_MEMS:-64 80 96 128}"
PHASES=${*:-idle minmem}
blk_driver_script "$T/idle.sh" nvme

if [[ " $PHASES " == *" idle "* ]]; then
bench_part scale
bench_note idle "through \`ddvm up\` (the supervisor's QEMU command line and defaults), one setup per count; window $IDLE_SECS s after $SETTLE s settle; driver VMs: 256 MiB, an nvme served by ddvm_blkback to a host client that never attaches"

# --- 1. idle driver VMs -----------------------------------------------------------------
KSM=/sys/kernel/mm/ksm
if [ -w $KSM/run ]; then
	ksm0="$(cat $KSM/run) $(cat $KSM/pages_to_scan) $(cat $KSM/sleep_millisecs)"
	# registered before any VM: runs after every VM is gone
	t_on_exit "read r p s <<<'$ksm0'; echo \$p >$KSM/pages_to_scan; echo \$s >$KSM/sleep_millisecs; echo \$r >$KSM/run"
fi
# scale_setup N — the setup file of N idle driver VMs (+ the control when N is 1)
scale_setup() {
	local n=$1 i devs=""
	for ((i = 1; i <= n; i++)); do
		printf '[driver-vm idle%d]\nmemory = 256M\n\n' "$i"
		printf '[device disk%d]\nvm = idle%d\nkind = blk\nmodel = nvme\nimage = %s\nsize = 16M\nformat = raw\n\n' \
			"$i" "$i" "$T/idle$i.img"
		devs="$devs disk$i"
	done
	[ "$n" = 1 ] && printf '[driver-vm bare]\nmemory = 256M\n\n'
	printf '[host-client idle]\ndevices =%s\n' "$devs"
}
# pss_split PID RAM_MIB -> "guest_ram tcg_buffer other" PSS in MiB: the mapping of
# exactly the guest's RAM size, TCG's code buffer (the executable anonymous mappings:
# tb_size, split into per-vCPU regions by guard pages; nothing else of QEMU's is
# executable and anonymous), everything else (QEMU's own heap, libraries, ...)
pss_split() {
	awk -v ram=$(($2 * 1024)) '
	/^[0-9a-f]+-[0-9a-f]+ / { perm = $2; anon = NF < 6; next }
	/^Size:/ { kind = "other"; if ($2 == ram) kind = "ram"; else if (perm ~ /x/ && anon) kind = "tcg" }
	/^Pss:/ { p[kind] += $2 }
	END { printf "%.1f %.1f %.1f\n", p["ram"] / 1024, p["tcg"] / 1024, p["other"] / 1024 }' "/proc/$1/smaps"
}
up=0
for n in $COUNTS; do
	if ((up)); then
		"$DDVM" down >/dev/null || t_fail "ddvm down failed"
	fi
	scale_setup "$n" | sup_config "scale$n"
	sup_up "$T/scale$n.ini"
	up=$n
	sleep "$SETTLE"
	declare -A c0=()
	for ((i = 1; i <= n; i++)); do c0[$i]=$(cpu_ticks "$DDVM_RUNDIR/idle$i.pid"); done
	[ "$n" = 1 ] && c0bare=$(cpu_ticks "$DDVM_RUNDIR/bare.pid")
	l0=$(cut -d' ' -f1 /proc/loadavg)
	sleep "$IDLE_SECS"
	tot=0 pss=0
	for ((i = 1; i <= n; i++)); do
		pf=$DDVM_RUNDIR/idle$i.pid
		pct=$(echo "$(ticks_to_secs "${c0[$i]}" "$(cpu_ticks "$pf")") $IDLE_SECS" | awk '{printf "%.3f", 100 * $1 / $2}')
		mib=$(awk '{printf "%.1f", $1 / 1024}' <<<"$(pss_kib "$(cat "$pf")")")
		bench_sample "idle_cpu_pct_n$n" driver-vm "$i" "$pct"
		bench_sample "pss_mib_n$n" driver-vm "$i" "$mib"
		tot=$(echo "$tot $pct" | awk '{print $1 + $2}')
		pss=$(echo "$pss $mib" | awk '{print $1 + $2}')
	done
	if [ "$n" = 1 ]; then
		bench_sample idle_cpu_pct_bare bare-vm 1 "$(echo "$(ticks_to_secs "$c0bare" "$(cpu_ticks "$DDVM_RUNDIR/bare.pid")") $IDLE_SECS" | awk '{printf "%.3f", 100 * $1 / $2}')"
		read -r pr pt po < <(pss_split "$(cat "$DDVM_RUNDIR/idle1.pid")" 256)
		bench_sample pss_guest_ram_mib driver-vm 1 "$pr"
		bench_sample pss_tcg_buffer_mib driver-vm 1 "$pt"
		bench_sample pss_qemu_other_mib driver-vm 1 "$po"
		# where an idle driver VM's host CPU goes (10 s of cpu-clock samples)
		perf_start idle-driver-vm 10 "$DDVM_RUNDIR/idle1.pid"
		perf_finish idle-driver-vm
	fi
	bench_note "load_n$n" "$l0 -> $(cut -d' ' -f1 /proc/loadavg)"
	t_log "$n idle driver VMs: $(echo "$tot $n" | awk '{printf "%.3f", $1 / $2}') % of a core each (mean), PSS $(echo "$pss $n" | awk '{printf "%.1f", $1 / $2}') MiB each (mean)"
done

# --- 2. KSM ------------------------------------------------------------------------------
if [ -w $KSM/run ]; then
	echo 4000 >$KSM/pages_to_scan
	echo 10 >$KSM/sleep_millisecs
	echo 1 >$KSM/run
	s0=$(cat $KSM/full_scans)
	deadline=$((SECONDS + 90))
	while (($(cat $KSM/full_scans) < s0 + 3)) && ((SECONDS < deadline)); do sleep 1; done
	for i in $(seq "$up"); do
		bench_sample "pss_ksm_mib_n$up" driver-vm "$i" "$(awk '{printf "%.1f", $1 / 1024}' <<<"$(pss_kib "$(cat "$DDVM_RUNDIR/idle$i.pid")")")"
	done
	bench_note ksm "run=1 pages_to_scan=4000 sleep_millisecs=10, $(($(cat $KSM/full_scans) - s0)) full scans; pages_shared $(cat $KSM/pages_shared), pages_sharing $(cat $KSM/pages_sharing)"
	t_log "KSM: $(($(cat $KSM/full_scans) - s0)) full scans, pages_shared $(cat $KSM/pages_shared) pages_sharing $(cat $KSM/pages_sharing)"
	read -r r p s <<<"$ksm0"
	echo "$p" >$KSM/pages_to_scan
	echo "$s" >$KSM/sleep_millisecs
	echo "$r" >$KSM/run
else
	bench_note ksm "no /sys/kernel/mm/ksm on this host"
fi
"$DDVM" down >/dev/null || t_fail "ddvm down failed"

fi

# --- 3. smallest guest memory -----------------------------------------------------------
[[ " $PHASES " == *" minmem "* ]] || exit 0
bench_part minmem
net_ns_setup
MAC=52:54:00:dd:06:01
k=0
try_mem() { # MIB -> 0 if a driver VM with MIB of memory passes the check
	local mem=$1 tap=${NET_TAP}m$1 args cargs ifn rc=0
	k=$((k + 1))
	# a fresh client and fresh channels per size: the check is about the driver VM's
	# memory, not about reconnecting after a restart
	net_chan_start "mnet$k" $MAC
	blk_chan_start "mblk$k" "disk/by-pci/${BLK_BDF[nvme]}"
	qemu-img create -q -f raw "$T/mdisk$k.img" 64M
	mapfile -t cargs < <(blk_chan_args 0 "mblk$k" frontend; net_chan_args "mnet$k" frontend 0x11)
	VM_MEM=384 net_vm_start "cli$k" "$DDVM_CLIENT_INITRD" "ddvm.load=ddvm_blkfront,ddvm_netfront" "${cargs[@]}"
	net_tap_create "$tap"
	mapfile -t args < <(blk_disk_args nvme "$T/mdisk$k.img"; blk_chan_args 0 "mblk$k" backend
		net_nic_args e1000 "$tap" 52:54:00:99:00:01; net_chan_args "mnet$k" backend 0x11)
	DRIVER_MEM=$mem BLK_DRV_APPEND="loglevel=5 ddvm.load=ddvm_netback" \
		blk_driver_vm "mdrv$k" pc "$T/idle.sh" "${args[@]}"
	vm_wait "cli$k" 'DDVM-AGENT up' 180
	ifn=$(net_ifname "cli$k" $MAC)
	net_client_up "cli$k" "$ifn" 10.99.0.11
	# a VM that cannot boot panics (panic=-1, -no-reboot: QEMU exits) or never says UP
	( vm_wait "mdrv$k" 'BLK-DRIVER-UP' 90 ) >"$T/mdrv$k.wait" 2>&1 || rc=1
	if [ $rc = 0 ]; then
		net_tap_to_ns "$tap" 10.99.0.1/24
		vm_cmd "cli$k" 70 "i=0; while [ \"\$(cat /sys/class/net/$ifn/carrier)\" != 1 ] && [ \$i -lt 600 ]; do sleep 0.1; i=\$((i + 1)); done; ping -c 3 -W 20 10.99.0.1" >"$T/mping$k" 2>&1 || rc=2
	fi
	if [ $rc = 0 ]; then
		vm_cmd "cli$k" 130 "i=0; while [ ! -b /dev/ddvmblk0 ] && [ \$i -lt 600 ]; do sleep 0.1; i=\$((i + 1)); done; [ -b /dev/ddvmblk0 ] || { echo no /dev/ddvmblk0; exit 1; }; timeout 60 fio --name=c --filename=/dev/ddvmblk0 --direct=1 --ioengine=libaio --rw=randwrite --bs=4k --size=4M --iodepth=4 --verify=crc32c --do_verify=1 --verify_fatal=1 --output=/tmp/c.txt; rc=\$?; grep -q 'err= 0' /tmp/c.txt && [ \$rc = 0 ] || { echo fio rc \$rc; cat /tmp/c.txt; exit 1; }" >"$T/mfio$k" 2>&1 || rc=3
	fi
	grep -Eq 'Out of memory|Kernel panic|oom-kill' "$T/mdrv$k.console" && rc=${rc/0/4}
	bench_sample minmem_pass "${mem}MiB" "$k" "$((rc == 0 ? 1 : 0))"
	if [ "$rc" != 0 ]; then
		{
			echo "== check output"
			cat "$T/mfio$k" "$T/mping$k" "$T/mdrv$k.wait" 2>/dev/null
			echo "== driver VM console (tail)"
			tail -n 30 "$T/mdrv$k.console"
			echo "== client dmesg (tail)"
			vm_cmd "cli$k" 20 "dmesg | tail -n 25"
		} >"$BENCH_OUT/minmem-${mem}MiB.txt" 2>&1
	fi
	t_log "driver VM with $mem MiB: $(case $rc in 0) echo passes ;; 1) echo "does not boot ($(grep -Eo 'Kernel panic.*|Out of memory.*' "$T/mdrv$k.console" | head -n1))" ;; 2) echo "no ping" ;; 3) echo "fio check failed" ;; *) echo "OOM during the check" ;; esac)"
	t_kill_pidfile "$T/mdrv$k.pid"
	t_kill_pidfile "$T/cli$k.pid"
	ip -n "$NET_NS" link del "$tap" 2>/dev/null
	return "$rc"
}
# bisect: the smallest passing size among MEMS (assumes passing is monotonic in size)
lo=0 hi=$((${#MEMS[@]} - 1)) best=""
while ((lo <= hi)); do
	mid=$(((lo + hi) / 2))
	if try_mem "${MEMS[mid]}"; then best=${MEMS[mid]}; hi=$((mid - 1)); else lo=$((mid + 1)); fi
done
[ -n "$best" ] && bench_sample minmem_mib driver-vm 1 "$best"
bench_note minmem "bisected among ${MEMS[*]} MiB: smallest passing ${best:-none}"
t_log "smallest driver VM memory that passes: ${best:-none of ${MEMS[*]}} MiB"
