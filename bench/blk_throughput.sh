#!/bin/bash
# fio throughput through a driver VM vs native, measured side by side in one run.
#
#   bench/blk_throughput.sh [SECONDS] [SIZE_MB]      (default: 10 s per job, 512 MiB disk)
#
# reuse:  client VM (ddvm_blkfront) --ddvm channel--> driver VM (ddvm_blkback + stock
#         nvme driver) --emulated nvme--> raw image on the host
# native: the same client VM image owning the same emulated nvme (same QEMU drive and
#         device options) directly, with the stock nvme driver
# Both VMs: 1 vCPU, same memory. Jobs (O_DIRECT, libaio, each SECONDS long over the first
# 256 MiB): sequential read/write 128 KiB at iodepth 32, random read/write 4 KiB at
# iodepth 32 and 1. Prints MiB/s and IOPS per job and the ratio reuse / native.
source "$(dirname "$0")/../tests/lib/common.sh"
source "$(dirname "$0")/../tests/vm/blk_lib.sh"
blk_need_build
SECS=${1:-10}
SIZE_MB=${2:-512}

JOBS="seqread:read:128k:32 seqwrite:write:128k:32 randread:randread:4k:32"
JOBS="$JOBS randwrite:randwrite:4k:32 randread-qd1:randread:4k:1 randwrite-qd1:randwrite:4k:1"

# the client's run script: wait for DEV, fill the first 256 MiB, run each job
bench_script() { # DEV WAIT_SNIPPET
	echo "$2"
	cat <<EOF
d=$1
dd if=/dev/zero of=\$d bs=1M count=256 oflag=direct 2>/dev/null
for j in $JOBS; do
	set -- \$(echo \$j | tr ':' ' ')
	fio --name=\$1 --filename=\$d --direct=1 --ioengine=libaio --rw=\$2 --bs=\$3 \\
		--iodepth=\$4 --size=256M --time_based --runtime=$SECS --ramp_time=1 \\
		--randrepeat=0 --minimal >/tmp/out 2>&1 && echo "BENCH \$(cat /tmp/out)" ||
		{ echo "BENCH-FAIL \$1"; cat /tmp/out; }
done
echo BENCH-DONE
EOF
}

nvme_args() { blk_disk_args nvme "$1"; }

# --- reuse ---------------------------------------------------------------------------
qemu-img create -q -f raw "$T/reuse.img" "${SIZE_MB}M"
blk_chan_start nvme "disk/by-pci/${BLK_BDF[nvme]}"
mapfile -t drv_args < <(nvme_args "$T/reuse.img"; blk_chan_args 0 nvme backend)
mapfile -t cli_args < <(blk_chan_args 0 nvme frontend)
blk_driver_script "$T/driver.sh" nvme
blk_driver_vm drv pc "$T/driver.sh" "${drv_args[@]}"
bench_script /dev/ddvmblk0 "$(blk_wait_disks_sh 1)" >"$T/reuse.sh"
vm_wait drv 'BLK-DRIVER-UP' 120
blk_client_vm reuse "$T/reuse.sh" "${cli_args[@]}"
vm_wait reuse 'BENCH-DONE' $((SECS * 20 + 300))
t_kill_pidfile "$T/reuse.pid"
t_kill_pidfile "$T/drv.pid"

# --- native: the same client image with the nvme device itself -------------------------
qemu-img create -q -f raw "$T/native.img" "${SIZE_MB}M"
mapfile -t nat_args < <(nvme_args "$T/native.img")
wait_nvme='i=0; while [ ! -b /dev/nvme0n1 ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done'
bench_script /dev/nvme0n1 "$wait_nvme" >"$T/native.sh"
VM_MACHINE=pc VM_MEM=${CLIENT_MEM:-384} vm_start native "$DDVM_CLIENT_INITRD" "ddvm.load=nvme" \
	-fw_cfg name=opt/ddvm/run,file="$T/native.sh" "${nat_args[@]}"
vm_wait native 'BENCH-DONE' $((SECS * 20 + 300))

# --- report --------------------------------------------------------------------------
# fio terse v3: field 3 job, 7 read KiB/s, 8 read IOPS, 48 write KiB/s, 49 write IOPS
parse() { # VM JOB -> "KiB/s IOPS"
	grep -a "^BENCH 3;[^;]*;$2;" "$T/$1.console" | tr -d '\r' |
		awk -F';' '{ if ($7 > 0) print $7, $8; else print $48, $49 }'
}
grep -a 'BENCH-FAIL' "$T/reuse.console" "$T/native.console" && t_fail "a fio job failed"
printf '%-15s %12s %10s %12s %10s %8s\n' job "reuse MiB/s" IOPS "native MiB/s" IOPS ratio
for j in $JOBS; do
	name=${j%%:*}
	read -r rbw riops < <(parse reuse "$name")
	read -r nbw niops < <(parse native "$name")
	echo "$name $rbw $riops $nbw $niops" | awk '{ printf "%-15s %12.1f %10d %12.1f %10d %8.2f\n",
		$1, $2 / 1024, $3, $4 / 1024, $5, ($4 > 0 ? $2 / $4 : 0) }'
done
echo "host: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), accel $(ddvm_accel), $(qemu-system-x86_64 --version | head -n1)"
