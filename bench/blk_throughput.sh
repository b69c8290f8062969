#!/bin/bash
# fio throughput through a driver VM vs native, side by side in one run.
#
#   [ROUNDS=5] bench/blk_throughput.sh [SECONDS] [SIZE_MB]   (default 3 s per job, 512 MiB)
#
# reuse:  `ddvm up` of a setup a user could write ($T/bench.ini: a driver VM with an
#         nvme disk, a client VM with that disk): client VM (ddvm_blkfront) --ddvm
#         channel--> driver VM (ddvm_blkback + stock nvme driver) --emulated nvme-->
#         raw image on the host; fio is typed into the client's console
#         (sup_console_cmd), the way a user would run it
# native: the same client VM image owning the same emulated nvme (same QEMU drive
#         options: raw, cache=writeback, no zero detection) directly, with the stock
#         nvme driver, booted by hand (no ddvm in it); an agent (tests/vm/net_common.sh)
#         runs its commands
# All three VMs run at once (1 vCPU each, clients 384 MiB); the jobs alternate between
# the two setups, ROUNDS times, the order flipping every round. Jobs (O_DIRECT, libaio,
# SECONDS each over the first 256 MiB, written once before): sequential read/write
# 1 MiB and random read/write 4 KiB, each at iodepth 1 and 32. Prints medians of
# MiB/s, IOPS and host CPU seconds (utime + stime of every QEMU process of the setup,
# and of reuse's supervisor) per GB moved, and the ratio reuse / native; every run is
# also recorded for bench/report.py ($BENCH_OUT/blk.jsonl).
source "$(dirname "$0")/../tests/lib/common.sh"
source "$(dirname "$0")/../tests/vm/net_common.sh"
source "$(dirname "$0")/../tests/vm/blk_lib.sh"
source "$(dirname "$0")/../tests/lib/supervisor.sh"
source "$(dirname "$0")/lib.sh"
blk_need_build
SECS=${1:-3}
SIZE_MB=${2:-512}
ROUNDS=${ROUNDS:-5}
NVME_APPEND=${BLK_NVME_APPEND:-}
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
bench_part blk

# NAME:rw:bs:iodepth (BLK_JOBS="seqread-qd1 seqread-qd32" runs a subset while iterating)
JOBS="seqread-qd1:read:1m:1 seqread-qd32:read:1m:32 seqwrite-qd1:write:1m:1"
JOBS="$JOBS seqwrite-qd32:write:1m:32 randread-qd1:randread:4k:1 randread-qd32:randread:4k:32"
JOBS="$JOBS randwrite-qd1:randwrite:4k:1 randwrite-qd32:randwrite:4k:32"
if [ -n "${BLK_JOBS:-}" ]; then
	sel=""
	for j in $JOBS; do [[ " $BLK_JOBS " == *" ${j%%:*} "* ]] && sel="$sel $j"; done
	JOBS=$sel
fi

# --- both setups up at once -----------------------------------------------------------
qemu-img create -q -f raw "$T/reuse.img" "${SIZE_MB}M"
qemu-img create -q -f raw "$T/native.img" "${SIZE_MB}M"
# loglevel=5: the nvme driver's "timeout, aborting" warnings on the driver VM's console;
# BLK_ZERO_COPY=0: the translation module copies instead of letting the nvme DMA into
# the slots (docs/blk.md)
sup_config bench <<EOF
[driver-vm drv]
memory = ${DRIVER_MEM:-256}M
append = loglevel=5 ddvm_blkback.zero_copy=${BLK_ZERO_COPY:-1}

[device disk0]
vm     = drv
kind   = blk
model  = nvme
image  = $T/reuse.img
format = raw
cache  = writeback
detect_zeroes = off

[client-vm app]
memory  = ${CLIENT_MEM:-384}M
devices = disk0
EOF
mapfile -t nat_args < <(blk_disk_args nvme "$T/native.img")
VM_MACHINE=pc VM_MEM=${CLIENT_MEM:-384} net_vm_start native "$DDVM_CLIENT_INITRD" \
	"ddvm.load=nvme $NVME_APPEND" "${nat_args[@]}"
sup_up "$T/bench.ini"
sup_wait_log 'app: state booting -> running' 180
sup_wait_log 'drv: state booting -> running' 180
vm_wait native 'DDVM-AGENT up' 120
declare -A DEV=([reuse]=/dev/ddvmblk0 [native]=/dev/nvme0n1)
# the supervisor too: its ivshmem server and health checks are part of what reuse costs
declare -A PIDS=([reuse]="$DDVM_RUNDIR/drv.pid $DDVM_RUNDIR/app.pid $DDVM_RUNDIR/ddvm.pid" [native]="$T/native.pid")
# each setup's client VM: ddvm's "app", the hand-built "native"
declare -A CLIENT=([reuse]=app [native]=native)
for s in reuse native; do
	bench_vm_cmd "${CLIENT[$s]}" 60 "i=0; while [ ! -b ${DEV[$s]} ] && [ \$i -lt 400 ]; do sleep 0.1; i=\$((i + 1)); done; [ -b ${DEV[$s]} ]" ||
		t_fail "$s: no ${DEV[$s]}"
	bench_vm_cmd "${CLIENT[$s]}" 180 "dd if=/dev/zero of=${DEV[$s]} bs=1M count=256 oflag=direct 2>&1 | tail -n1" ||
		t_fail "$s: cannot fill ${DEV[$s]}"
done
t_log "both setups up, disks filled"

# nvme_timeouts SETUP — nvme command timeouts logged so far by the VM that drives the
# nvme (the driver VM's console shows warnings: loglevel=5; the native VM: its dmesg)
nvme_timeouts() {
	if [ "$1" = reuse ]; then
		grep -ac 'timeout, aborting' "$DDVM_RUNDIR/drv.log" || true
	else
		vm_cmd native 20 "dmesg | grep -c 'timeout, aborting'" || true
	fi
}

# run_job SETUP NAME RW BS QD ROUND — one fio run; records MiB/s, IOPS, CPU s/GB
# fio terse v3: 6 read KiB, 7 read KiB/s, 8 read IOPS, 47 write KiB, 48 KiB/s, 49 IOPS
run_job() {
	local s=$1 name=$2 rw=$3 bs=$4 qd=$5 r=$6 c0 c1 w0 w1 t0 out kib bw iops cpu
	t0=$(nvme_timeouts "$s")
	w0=$(date +%s%N)
	# shellcheck disable=SC2086
	c0=$(cpu_ticks ${PIDS[$s]})
	out=$(bench_vm_cmd "${CLIENT[$s]}" $((SECS + 60)) "fio --name=$name --filename=${DEV[$s]} --direct=1 --ioengine=libaio --rw=$rw --bs=$bs --iodepth=$qd --size=256M --time_based --runtime=$SECS --randrepeat=0 --minimal") ||
		{ echo "$out" >&2; t_fail "$s: fio $name failed"; }
	# shellcheck disable=SC2086
	c1=$(cpu_ticks ${PIDS[$s]})
	w1=$(date +%s%N)
	read -r kib bw iops < <(echo "$out" | grep -a "^3;" | tr -d '\r' |
		awk -F';' '{ if ($6 > 0) print $6, $7, $8; else print $47, $48, $49 }')
	[ -n "${kib:-}" ] || { echo "$out" >&2; t_fail "$s: no fio result for $name"; }
	cpu=$(echo "$(ticks_to_secs "$c0" "$c1") $kib" | awk '{printf "%.2f", $1 / ($2 * 1024 / 1e9)}')
	bench_sample "${name}_mibps" "$s" "$r" "$(echo "$bw" | awk '{printf "%.1f", $1 / 1024}')"
	bench_sample "${name}_iops" "$s" "$r" "$iops"
	bench_sample "${name}_cpu_s_per_gb" "$s" "$r" "$cpu"
	# runs hit by QEMU's nvme stall (docs/blk.md: "I/O N QID 1 timeout, aborting")
	bench_sample "${name}_nvme_timeouts" "$s" "$r" $(($(nvme_timeouts "$s") - t0))
	# how busy the setup's QEMUs were (% of one core): low = waiting, not computing
	bench_sample "${name}_host_cpu_pct" "$s" "$r" "$(echo "$(ticks_to_secs "$c0" "$c1") $w0 $w1" | awk '{printf "%.1f", 100 * $1 / (($3 - $2) / 1e9)}')"
	echo "$bw $iops $cpu"
}

declare -A res=()
for r in $(seq "$ROUNDS"); do
	order="reuse native"
	((r % 2)) || order="native reuse"
	for j in $JOBS; do
		IFS=: read -r name rw bs qd <<<"$j"
		for s in $order; do
			read -r bw iops cpu < <(run_job "$s" "$name" "$rw" "$bs" "$qd" "$r")
			res[${s}_${name}_bw]+=" $bw" res[${s}_${name}_iops]+=" $iops" res[${s}_${name}_cpu]+=" $cpu"
		done
		t_log "round $r $name: reuse ${res[reuse_${name}_iops]##* } IOPS, native ${res[native_${name}_iops]##* } IOPS"
	done
done
# one more run per setup of two jobs under perf (cpu-clock sampling, not counted in the
# numbers above): where the host CPU goes
if [ "${BENCH_PERF:-1}" = 1 ]; then
	for j in seqread-qd32:read:1m:32 randread-qd32:randread:4k:32; do
		IFS=: read -r name rw bs qd <<<"$j"
		for s in reuse native; do
			# shellcheck disable=SC2086
			perf_start "blk-$s-$name" "$SECS" ${PIDS[$s]}
			BENCH_SAMPLES=/dev/null run_job "$s" "$name" "$rw" "$bs" "$qd" 0 >/dev/null
			perf_finish "blk-$s-$name"
		done
	done
fi
# evidence for the sequential jobs: how fast a guest copies memory under this
# accelerator (a tmpfs read is the kernel's copy_to_user, i.e. the same kind of copy
# blkback and blkfront make into and out of the channel's slots). The guest's busybox dd
# prints no rate: 8 reads of the file timed by /proc/uptime (10 ms steps, ~1 s in all).
# shellcheck disable=SC2016 # the $(...) and $a run in the guest
memcpy=$(vm_cmd native 60 'dd if=/dev/zero of=/tmp/z bs=1M count=128 2>/dev/null; a=$(cut -d" " -f1 /proc/uptime); for i in 1 2 3 4 5 6 7 8; do dd if=/tmp/z of=/dev/null bs=1M 2>/dev/null; done; b=$(cut -d" " -f1 /proc/uptime); rm -f /tmp/z; echo "$a $b" | awk "{ printf \"%.2f GB/s\", 8 * 134217728 / (\$2 - \$1) / 1e9 }"')
bench_note guest_memcpy "a guest copying 128 MiB 8 times (tmpfs read, dd bs=1M): ${memcpy//$'\r'/}"
t_log "guest memcpy: $memcpy"
bench_note fio "fio -runtime $SECS, $ROUNDS rounds, nvme, libaio O_DIRECT, setups alternating (order flipped every round)"
bench_note blkback "driver VM, the channel's counters at the end (ddvm status --json): $("$DDVM" status --json | jq -c 'first(.channels[] | select(.name == "disk0.app")) | .counters')"
bench_note blkfront "client VM, ddvm_blk_stats at the end: $(sup_console_cmd app 20 "cat /sys/bus/pci/drivers/ddvm_blkfront/0000:*/ddvm_blk_stats | tr '\n' ' '")"
bench_note load_before "$LOAD0"
bench_note load_after "$(cut -d' ' -f1-3 /proc/loadavg)"

# --- report --------------------------------------------------------------------------
echo
echo "blk throughput, nvme, fio -runtime $SECS x $ROUNDS rounds (medians), accel $(ddvm_accel), $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load before: $LOAD0"
printf '%-15s %12s %9s %12s %9s %7s %10s %10s\n' job "reuse MiB/s" IOPS "native MiB/s" IOPS ratio "CPU s/GB" "native"
for j in $JOBS; do
	name=${j%%:*}
	m() { echo "${res[$1]}" | median; }
	echo "$name $(m "reuse_${name}_bw") $(m "reuse_${name}_iops") $(m "native_${name}_bw") $(m "native_${name}_iops") $(m "reuse_${name}_cpu") $(m "native_${name}_cpu")" |
		awk '{ printf "%-15s %12.1f %9d %12.1f %9d %7.2f %10.1f %10.1f\n", $1, $2 / 1024, $3, $4 / 1024, $5, ($4 > 0 ? $2 / $4 : 0), $6, $7 }'
done
if grep -aE 'Oops|BUG:|Call Trace' "$DDVM_RUNDIR/drv.log" "$DDVM_RUNDIR/app.log"; then
	t_fail "a kernel oops on a console"
fi
[ "$(sup_vm_field drv restarts)" = 0 ] || t_fail "the driver VM restarted during the bench"
