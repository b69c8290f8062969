#!/bin/sh
# The client VM's workload in the warm spare and upgrade tests (test_recover_spare.sh,
# test_upgrade.sh; run = this file): bring up the channel's NIC (MAC 52:54:00:dd:00:11)
# and ping QEMU's user-mode gateway every 0.2 s, counted ("PINGSTAT ok= lost=" every 2
# s); write fresh 1 MiB blocks to 32 slots of /dev/ddvmblk0 (O_DIRECT + fsync), read
# each back (O_DIRECT) and compare ("DATA-PASS n= ok=" every 4), and check every slot
# against what it should hold every 16 writes ("DATA-VERIFY good= bad="). Errors:
# DATA-IOERR, DATA-MISMATCH, DATA-VERIFY-BAD lines.
# With STREAM set (test_spare_tap.sh): also one TCP connection to PEER:STREAM for the
# whole run, 64 KiB of numbered 16-byte records every 10 ms (tests/vm/stream_sink.py
# checks them); "STREAM-END" if it ever ends.
PEER=10.0.2.2 # QEMU's user-mode gateway (examples/spare.ini)
ADDR=10.0.2.15/24
STREAM=
i=0
while [ ! -b /dev/ddvmblk0 ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done
for d in /sys/class/net/*; do
	[ "$(cat "$d/address")" = 52:54:00:dd:00:11 ] && ifn=${d##*/}
done
ip link set "$ifn" up
ip addr add "$ADDR" dev "$ifn"
i=0
while [ "$(cat /sys/class/net/"$ifn"/carrier)" != 1 ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done
ping -c 1 -W 10 "$PEER" >/dev/null && echo "CLIENT-UP ifn=$ifn"
# pings: one every 0.2 s, counted; a summary line every 2 s
( ok=0; lost=0; n=0
  while :; do
	if ping -c 1 -W 1 "$PEER" >/dev/null 2>&1; then ok=$((ok + 1)); else lost=$((lost + 1)); fi
	n=$((n + 1)); [ $((n % 10)) = 0 ] && echo "PINGSTAT ok=$ok lost=$lost"
	sleep 0.2
  done ) &
if [ -n "$STREAM" ]; then
	for r in $(seq 0 4095); do printf '%015d\n' "$r"; done >/tmp/chunk
	( while :; do cat /tmp/chunk || break; usleep 10000; done | nc "$PEER" "$STREAM"
	  echo "STREAM-END rc=$?" ) &
fi
# data: 32 slots of 1 MiB; write a fresh block (O_DIRECT + fsync), read it back
# (O_DIRECT), compare; keep what each slot should hold and check them all every 16
dd if=/dev/urandom of=/tmp/pat bs=1M count=1 2>/dev/null
n=0; ok=0
while :; do
	s=$((n % 32))
	{ printf '%016d' $n; head -c 1048560 /tmp/pat; } >/tmp/blk
	if ! dd if=/tmp/blk of=/dev/ddvmblk0 bs=1M seek=$s oflag=direct conv=fsync,notrunc 2>/tmp/err; then
		echo "DATA-IOERR write n=$n: $(tail -n 1 /tmp/err)"
	elif ! dd if=/dev/ddvmblk0 of=/tmp/rd bs=1M skip=$s count=1 iflag=direct 2>/tmp/err; then
		echo "DATA-IOERR read n=$n: $(tail -n 1 /tmp/err)"
	elif cmp -s /tmp/blk /tmp/rd; then
		ok=$((ok + 1)); cp /tmp/blk /tmp/slot.$s
	else
		echo "DATA-MISMATCH n=$n slot=$s"
	fi
	n=$((n + 1))
	[ $((n % 4)) = 0 ] && echo "DATA-PASS n=$n ok=$ok"
	if [ $((n % 16)) = 0 ]; then
		good=0; bad=0
		for f in /tmp/slot.*; do
			s=${f##*.}
			if dd if=/dev/ddvmblk0 bs=1M skip="$s" count=1 iflag=direct 2>/dev/null | cmp -s - "$f"; then
				good=$((good + 1))
			else
				bad=$((bad + 1)); echo "DATA-VERIFY-BAD slot=$s"
			fi
		done
		echo "DATA-VERIFY good=$good bad=$bad"
	fi
done
