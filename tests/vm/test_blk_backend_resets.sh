#!/bin/bash
# timeout: 360
# A driver VM cannot keep a client's I/O waiting for ever by resetting the channel
# instead of answering. blkfront fails a request the driver VM does not answer within
# io_timeout (30 s), and requeues what is in flight when the driver VM resets the
# channel (a new session, as after a restart) -- so a driver VM that resets a little
# before io_timeout, over and over, while it answers nothing, had the requests
# requeued, re-sent and never answered: the client's I/O hung, never failed (found by
# a code review). Now a queue whose driver VM completed nothing for progress_timeout
# seconds across resets fails what waits. One client VM (ddvm_blkfront,
# progress_timeout = 12) on a channel (ddvm-chan) whose driver VM is a host process
# (tests/vm/blk_reset_backend.py): it serves every session and answers the client's
# requests (its partition scan) until one reads the disk's second MiB, then answers
# nothing, resetting 3 s after requests were left waiting. Checked: the client's dd of
# the 4 KiB there fails with an I/O error (not a hang: before, 25 resets in 90 s and
# no end), the backend reset at least 3 times, and the client's kernel said why; no
# oops.
# Second round (--keep-one, a later review): the driver VM answers every other request
# (a reader in the background keeps the queue moving, so the queue-wide bound never
# fires) but takes that one read and keeps it, resetting 3 s later, round after round:
# the read hung in D state for good (35 resets in 120 s). Now a request first sent
# progress_timeout ago and taken back at a reset fails; checked as above.
# Third (--storm-at, the same review): a driver VM that breaks the protocol and then
# rings the client's queue doorbell as fast as it can, moving the response ring's prod
# before each ring so that each looks like work, kept the client's vCPU in the
# interrupt handler (~900-1,400/s); the doorbell guard now asks blkfront whether it
# uses the rings (blkfront_serving): at most what the guard lets through.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/blk_lib.sh"
t_need_file "$DDVM_CHAN"
t_need_file "$DDVM_CLIENT_INITRD"

# backend_start MODE ARGS...: channel MODE (ddvm-chan) with blk_reset_backend.py ARGS as
# its driver VM, connected
backend_start() {
	local mode=$1
	shift
	blk_chan_start "$mode" "stall0"
	python3 "$DDVM_ROOT/tests/vm/blk_reset_backend.py" "$T/ch-$mode" --duration 200 "$@" \
		>"$T/backend-$mode.log" 2>&1 &
	echo $! >"$T/backend-$mode.pid"
	t_on_exit "t_kill_pidfile '$T/backend-$mode.pid'"
	for _ in $(seq 100); do grep -q 'BACKEND: connected' "$T/backend-$mode.log" && break; sleep 0.1; done
	grep -q 'BACKEND: connected' "$T/backend-$mode.log" || t_fail "$mode: the hostile backend did not connect: $(cat "$T/backend-$mode.log")"
}

# round MODE BACKEND-ARGS...: one client VM against one hostile backend
round() {
	local mode=$1 line resets why
	shift
	backend_start "$mode" --wedge-at 2048 --reset-after 3 "$@"

	mapfile -t cli_args < <(blk_chan_args 0 "$mode" frontend)
	{
		blk_wait_disks_sh 1
		# the others' requests, answered: the queue makes progress meanwhile
		if [ "$mode" = keepone ]; then
			echo '( while :; do dd if=/dev/ddvmblk0 of=/dev/null bs=4096 count=1 iflag=direct 2>/dev/null; sleep 0.5; done ) &'
		fi
		cat <<'EOF'
t0=$(date +%s)
dd if=/dev/ddvmblk0 of=/dev/null bs=4096 skip=256 count=1 iflag=direct 2>/tmp/dd.err
rc=$?
echo "DD-DONE rc=$rc after $(($(date +%s) - t0)) s: $(tr '\n' ' ' </tmp/dd.err)"
dmesg | grep 'ddvm blk' | tail -n 6
while :; do sleep 3600; done
EOF
	} >"$T/client-$mode.sh"
	BLK_CLI_APPEND="ddvm_blkfront.progress_timeout=12" blk_client_vm "$mode" "$T/client-$mode.sh" "${cli_args[@]}"
	t_on_failure "tail -n 4 '$T/backend-$mode.log'; grep -a 'ddvm blk' '$T/$mode.console' | tail -n 6"
	# no DD-DONE within 90 s: the read neither completed nor failed (requeued for ever)
	vm_wait "$mode" 'DD-DONE' 90
	line=$(grep -a 'DD-DONE' "$T/$mode.console" | tr -d '\r')
	echo "    $mode: $line"
	grep -a 'ddvm blk' "$T/$mode.console" | tail -n 6 | sed 's/^/    /' || true
	tail -n 3 "$T/backend-$mode.log" | sed 's/^/    /'
	vm_no_oops "$mode"
	[[ $line == *"rc=0"* ]] && t_fail "$mode: the read succeeded although the driver VM never answered it"
	resets=$(grep -c 'BACKEND: reset' "$T/backend-$mode.log" || true)
	((resets >= 3)) || t_fail "$mode: the backend reset the channel $resets times, not 3: not the attack"
	why='completed no request for .* across channel resets'
	[ "$mode" = keepone ] && why='taken back at every channel reset, never answered'
	grep -aq "$why" "$T/$mode.console" || t_fail "$mode: the client's kernel does not say why it failed the I/O"
	if [ "$mode" = keepone ]; then
		grep -q 'took and keeps' "$T/backend-$mode.log" || t_fail "keepone: the backend never kept a request: not the attack"
	fi
	t_log "$mode: the read failed after $resets resets of a driver VM that never answered it: no hang"
}
# storm_round: the driver VM storms the client's queue doorbell after breaking the
# protocol (--storm-at); the client's CPU pays for at most what the guard lets through
storm_round() {
	local mode=storm line irqs n
	backend_start "$mode" --wedge-at -1 --storm-at 4096
	mapfile -t cli_args < <(blk_chan_args 0 "$mode" frontend)
	{
		blk_wait_disks_sh 1
		cat <<'EOF'
S=$(ls -d /sys/bus/pci/drivers/ddvm_blkfront/0000*/ddvm_stats)
dd if=/dev/ddvmblk0 of=/dev/null bs=4096 skip=512 count=1 iflag=direct 2>/dev/null &
sleep 1
i0=$(cat $S/interrupts); sleep 4; i1=$(cat $S/interrupts)
echo "STORM-IRQS $(((i1 - i0) / 4)) per s, throttled $(cat $S/doorbells_throttled)"
while :; do sleep 3600; done
EOF
	} >"$T/client-$mode.sh"
	blk_client_vm "$mode" "$T/client-$mode.sh" "${cli_args[@]}"
	vm_wait "$mode" 'STORM-IRQS' 120
	line=$(grep -a 'STORM-IRQS' "$T/$mode.console" | tr -d '\r')
	vm_no_oops "$mode"
	for _ in $(seq 150); do grep -q 'storm done' "$T/backend-$mode.log" && break; sleep 0.1; done
	n=$(grep -o 'storm done: [0-9]*' "$T/backend-$mode.log" | grep -o '[0-9]*$' || true)
	t_log "$mode: the client took ${line#STORM-IRQS } while the driver VM rang ${n:-?} times in 8 s"
	((${n:-0} > 10000)) || t_fail "storm: the backend rang ${n:-no} doorbells in 8 s: not the attack"
	irqs=$(awk '{ print $2 }' <<<"$line")
	# the guard lets 32 a 100 ms window through (DDVM_DOORBELL_IDLE_MAX): 320/s and
	# the control vector's; before, every doorbell whose indices moved was "work"
	((irqs <= 400)) || t_fail "storm: the client took $irqs doorbell interrupts a second from a driver VM that broke the channel"
}
round silent
round keepone --keep-one
storm_round
echo SUCCESS
