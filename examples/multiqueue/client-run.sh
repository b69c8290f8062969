#!/bin/sh
# Client VM (app) of examples/multiqueue.ini: once /dev/ddvmblk0 is there, prints
#   MQ-CLIENT-UP cpus=N queues=Q        (Q: blk-mq's hardware queues: the channel's
#                                        pairs, at most one per vCPU)
# then writes and verifies the disk with fio in rounds, one job pinned to each vCPU (so
# both queue pairs carry requests), 32 MiB each of random 4-128 KiB writes at depth 16,
# read back and checked (crc32c), and prints one line a round:
#   MQ-ROUND n rc=0 errors=0            (rc: fio's exit status; errors: its err= total)
# until the disk goes away. A restart of the driver VM in the middle of a round is
# the client driver's to hide: the round still passes.
modprobe ddvm_blkfront
i=0
while [ ! -e /sys/block/ddvmblk0 ] && [ $i -lt 1200 ]; do
	sleep 0.1
	i=$((i + 1))
done
q=0
for d in /sys/block/ddvmblk0/mq/*; do [ -d "$d" ] && q=$((q + 1)); done
echo "MQ-CLIENT-UP cpus=$(nproc) queues=$q"
# in the background: the console's shell starts once this script ends
(
n=1
while [ -e /sys/block/ddvmblk0 ]; do
	fio --filename=/dev/ddvmblk0 --direct=1 --ioengine=libaio --iodepth=16 \
		--rw=randwrite --bsrange=4k-128k --size=32M --verify=crc32c --verify_fatal=1 \
		--name=cpu0 --cpus_allowed=0 --offset=0 \
		--name=cpu1 --cpus_allowed=1 --offset=64M \
		--output=/tmp/fio.txt >/dev/null 2>&1
	rc=$?
	errs=$(sed -n 's/.*err= *\([0-9]*\).*/\1/p' /tmp/fio.txt | awk '{ s += $1 } END { print s + 0 }')
	echo "MQ-ROUND $n rc=$rc errors=$errs"
	[ "$rc" = 0 ] || tail -n 20 /tmp/fio.txt
	n=$((n + 1))
done
echo "MQ-CLIENT-GONE"
) &
