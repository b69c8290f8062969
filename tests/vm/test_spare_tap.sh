#!/bin/bash
# timeout: 900
# A warm spare with a tap NIC, through `ddvm up` with examples/spare-tap.ini (an e1000
# on a tap in bridge br0, a raw virtio-blk disk, spare = yes; tap name and paths
# substituted), inside a network namespace this test made (br0 = 10.99.0.1 is the
# peer). The client keeps ONE TCP connection to the peer for the whole test (numbered
# records every 10 ms, checked byte by byte by tests/vm/stream_sink.py), pings the peer
# and writes + reads back O_DIRECT blocks on the disk (spare_client.sh), while the
# driver VM is killed (kill -9) SPARE_TAP_KILLS times (default 3) and then upgraded to
# a new initramfs. Checked:
#  - the supervisor created a multiqueue tap: one queue attached (the active's), the
#    anchor and the paused spare's detached -- again after every takeover;
#  - every kill was taken by the spare, the upgrade is done, and after each the
#    stream moved on;
#  - the end: still the first TCP connection (no reset, no reconnect), every byte as
#    sent, no client I/O error, every block as last written, no client restart.
# First, a single-queue tap of the same name already there is refused by `ddvm check`,
# and of two setups started in the same instant on the one new tap, one at most goes on.
# Prints the TCP outage of each event (the pause between two arrivals at the peer that
# spans the failover), and for scale the longest pause of the stream in 15 s without
# a failure.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
source "$(dirname "$0")/../lib/recover.sh"
source "$(dirname "$0")/spare_lib.sh"
t_need_root
command -v jq >/dev/null || t_skip "needs jq (scripts/deps.sh installs it)"
command -v cpio >/dev/null || t_skip "needs cpio"
t_need_file "$DDVM_ROOT/examples/spare-tap.ini"
KILLS=${SPARE_TAP_KILLS:-3}
PORT=5001

rec_netns
ip netns exec "$REC_NS" python3 "$DDVM_ROOT/tests/vm/stream_sink.py" $PORT "$T/stream.json" &
echo $! >"$T/sink.pid"
t_on_exit "t_kill_pidfile '$T/sink.pid'"

# the client workload: the peer on the bridge, and the TCP stream to it
sed -e "s|^PEER=.*|PEER=$REC_PEER|" -e 's|^ADDR=.*|ADDR=10.99.0.15/24|' -e "s|^STREAM=.*|STREAM=$PORT|" \
	"$DDVM_ROOT/tests/vm/spare_client.sh" >"$T/client.sh"
grep -q "^STREAM=$PORT" "$T/client.sh" || t_fail "spare_client.sh has no STREAM= line to set"
SPARE_EXAMPLE=spare-tap SPARE_TAP=$REC_TAP SPARE_CLIENT=$T/client.sh spare_config "$T/spare.ini" yes
grep -q "^tap = $REC_TAP" "$T/spare.ini" || t_fail "examples/spare-tap.ini: no tap line to substitute"

# the upgrade's new image: the driver initramfs plus /etc/ddvm-image-id
mkdir -p "$T/extra/etc"
echo v2 >"$T/extra/etc/ddvm-image-id"
(cd "$T/extra" && find . | cpio -o -H newc --quiet | gzip) >"$T/extra.cpio.gz"
cat "$DDVM_DRIVER_INITRD" "$T/extra.cpio.gz" >"$T/driver-v2.cpio.gz"

# a tap of that name already there, not multiqueue (or a bridge): `ddvm check` (and so
# `ddvm up`) says so with file:line, before anything starts (exit 3)
ip -n "$REC_NS" tuntap add dev "$REC_TAP" mode tap
rc=0
ip netns exec "$REC_NS" "$DDVM" check "$T/spare.ini" >"$T/check.out" 2>&1 || rc=$?
if ((rc != 3)) || ! grep -q "spare.ini:[0-9]*: .*tap = $REC_TAP: $REC_TAP exists and is not a multiqueue tap" "$T/check.out"; then
	t_fail "ddvm check with a single-queue tap there: rc $rc: $(cat "$T/check.out")"
fi
ip -n "$REC_NS" link del "$REC_TAP"
rc=0
ip netns exec "$REC_NS" "$DDVM" check "$T/spare.ini" >"$T/check.out" 2>&1 || rc=$?
((rc == 0)) || t_fail "ddvm check: rc $rc: $(cat "$T/check.out")"

# Two setups naming the one new tap, started in the same instant (own images and run
# dirs): strace holds each supervisor 1.5 s in every ioctl (TUNSETIFF among them), so
# both find the tap free before either holds a queue of it. At most one may go on
# (take, then test: supervisor/tap.c); the other says the tap is in use, exit 1.
command -v strace >/dev/null || t_fail "needs strace (scripts/deps.sh installs it)"
race_down() {
	"$DDVM" --rundir "$T/race$1" down >/dev/null 2>&1 || true
	t_kill_pidfile "$T/race$1/ddvm.pid"
	t_kill_pidfile "$T/race$1.pid"
}
for i in 1 2; do
	sed "s|^image .*|image = $T/race$i.img|" "$T/spare.ini" >"$T/race$i.ini"
	mkdir -m 700 "$T/race$i"
	DDVM_ACCEL=tcg ip netns exec "$REC_NS" strace -qq -o /dev/null -e trace=ioctl \
		-e inject=ioctl:delay_enter=1500000 "$DDVM" --rundir "$T/race$i" up "$T/race$i.ini" \
		>"$T/race$i.out" 2>&1 &
	echo $! >"$T/race$i.pid"
	t_on_exit "race_down $i"
done
# each: "in use" (refused; its process gone) or "went on" (its `up:` line)
race_state() {
	if grep -q "tap $REC_TAP is in use" "$T/race$1.out" && ! kill -0 "$(cat "$T/race$1.pid")" 2>/dev/null; then
		echo refused
	elif grep -q "up: [0-9]* VMs" "$T/race$1.out"; then
		echo went-on
	fi
}
deadline=$((SECONDS + 60))
while [ -z "$(race_state 1)" ] || [ -z "$(race_state 2)" ]; do
	((SECONDS < deadline)) || t_fail "two setups on one new tap: no outcome in 60 s: $(cat "$T/race1.out" "$T/race2.out")"
	sleep 0.1
done
if [ "$(race_state 1)" = went-on ] && [ "$(race_state 2)" = went-on ]; then
	t_fail "two setups started in the same instant both went on with tap $REC_TAP: $(cat "$T/race1.out" "$T/race2.out")"
fi
t_log "two setups on one new tap in the same instant: $(race_state 1), $(race_state 2)"
race_down 1
race_down 2
! ip -n "$REC_NS" link show "$REC_TAP" >/dev/null 2>&1 || t_fail "tap $REC_TAP is left after both racing setups ended"

t_on_exit _sup_cleanup
t_on_failure _sup_keep_logs
t_log "ddvm up -d $T/spare.ini (in $REC_NS)"
ip netns exec "$REC_NS" "$DDVM" up -d "$T/spare.ini" ||
	{ tail -n 30 "$DDVM_RUNDIR/ddvm.log"; t_fail "ddvm up failed"; }
sup_wait_log 'drv: snapshot taken in' 120
sup_wait_console app 'CLIENT-UP' 180

stream() { jq -r ".$1" "$T/stream.json"; }
# the tap: QUEUES attached, DISABLED detached (iproute2's tun details)
check_queues() {
	local d
	d=$(ip -n "$REC_NS" -d link show "$REC_TAP")
	grep -q "multi_queue numqueues 1 numdisabled 2" <<<"$d" ||
		{ echo "$d"; t_fail "$1: tap $REC_TAP is not multi_queue with 1 queue attached and 2 detached"; }
}
# wait_stream WHY — until the stream moved 1 MiB past what it was
wait_stream() {
	local b0 deadline=$((SECONDS + 60))
	b0=$(stream bytes)
	while ((SECONDS < deadline)); do
		(($(stream bytes) > b0 + 1048576)) && return 0
		sleep 0.1
	done
	cat "$T/stream.json"
	t_fail "$1: the TCP stream did not move within 60 s"
}
# pause_since T — the longest pause (ms) between arrivals that ended within 15 s after
# time T (s)
pause_since() { jq "[.gaps[] | select(.[0] >= $1 and .[0] <= $1 + 15) | .[1]] | max // 0" "$T/stream.json"; }
# failover_at N — wall-clock time (s) of the Nth "failover to spare" (a kill's or the
# upgrade's): the spare was resumed then, the old QEMU already dead or stopped, so every
# flow's outage spans that instant
failover_at() {
	local l
	l=$(grep -a 'drv: failover to spare in' "$DDVM_RUNDIR/ddvm.log" | sed -n "${1}p")
	[ -n "$l" ] || t_fail "no failover number $1 in ddvm.log"
	date -d "${l:0:23}" +%s.%3N
}
# pause_at T — the stream's outage at time T (ms): the pause between two arrivals that
# spans T, 0 if none over 20 ms did. Not the longest pause after T: the client VM's own
# work stalls the stream ~250 ms every few seconds under TCG with or without a failure.
pause_at() {
	jq --argjson t "$1" '[.gaps[] | select(.[0] >= $t and .[0] - .[1] / 1000 <= $t) | .[1]] | max // 0' \
		"$T/stream.json"
}

sup_wait_log 'drv: spare: ready \(paused' 120
check_queues "with a spare ready"
# A second setup naming the same tap (its own image and run dir) is refused before it
# touches the tap: joining it would split the tap's frames between the two setups.
sed "s|^image .*|image = $T/other.img|" "$T/spare.ini" >"$T/other.ini"
mkdir -m 700 "$T/run2"
rc=0
ip netns exec "$REC_NS" "$DDVM" --rundir "$T/run2" up -d "$T/other.ini" >"$T/other.out" 2>&1 || rc=$?
if ((rc != 1)) || ! grep -q "tap $REC_TAP is in use: 3 queues of it open in another process" "$T/other.out"; then
	t_fail "a second setup on the same tap: rc $rc: $(cat "$T/other.out")"
fi
[ ! -e "$T/run2/ddvm.pid" ] || t_fail "the refused second setup left a supervisor: $(cat "$T/run2/ddvm.pid")"
check_queues "after a second setup was refused the tap"
t_log "a second setup on the same tap: refused, this one's queues as they were"
wait_stream "before the first kill"
[ "$(stream conns)" = 1 ] || t_fail "the client opened $(stream conns) TCP connections, not 1"
wait_client "before the first kill"

# for scale: the longest pause of the same stream in the 15 s before, with no failure
# (the client VM also writes its disk and pings: under TCG it sends in bursts)
base=$(pause_since $(($(date +%s) - 15)))
pauses=()
for n in $(seq "$KILLS"); do
	sup_wait_log 'drv: spare: ready \(paused' 180 "$n"
	wait_client "before kill $n"
	t0=$(date +%s.%N)
	"$DDVM" inject drv kill >/dev/null || t_fail "ddvm inject drv kill failed"
	sup_wait_log 'drv: failover to spare in' 30 "$n"
	sup_wait_log 'drv: service restored [0-9]+ ms after' 60 "$n"
	wait_stream "after kill $n"
	wait_client "after kill $n"
	p=$(pause_at "$(failover_at "$n")")
	pauses+=("$p")
	t_log "kill $n: $(grep -o 'failover to spare in [0-9]* ms' "$DDVM_RUNDIR/ddvm.log" | tail -n 1);" \
		"$(grep -o 'service restored [0-9]* ms' "$DDVM_RUNDIR/ddvm.log" | tail -n 1); TCP outage $p ms" \
		"(longest pause in the 15 s after the kill: $(pause_since "$t0") ms)"
	sup_wait_log 'drv: spare: ready \(paused' 180 $((n + 1))
	check_queues "after kill $n"
done
[ "$(count 'restoring from snapshot' ddvm.log)" = 0 ] || t_fail "a kill was recovered by a restore, not by the spare"

t0=$(date +%s.%N)
"$DDVM" upgrade drv --initrd "$T/driver-v2.cpio.gz" >"$T/up.out" 2>&1 ||
	{ cat "$T/up.out"; t_fail "ddvm upgrade failed"; }
[ "$("$DDVM" status --json | jq -r '.vms[] | select(.name == "drv") | .upgrade.state')" = 'done' ] ||
	t_fail "status --json: the upgrade is not done"
wait_stream "after the upgrade"
wait_client "after the upgrade"
p=$(pause_at "$(failover_at $((KILLS + 1)))")
t_log "upgrade: $(grep -o 'service restored [0-9]* ms' "$DDVM_RUNDIR/ddvm.log" | tail -n 1); TCP outage $p ms" \
	"(longest pause in the 15 s after the upgrade began: $(pause_since "$t0") ms)"
sup_wait_log 'drv: spare: ready \(paused' 240 $((KILLS + 2))
check_queues "after the upgrade"

spare_check_client
! grep -aq 'STREAM-END' "$DDVM_RUNDIR/app.log" || t_fail "the client's TCP stream ended: $(grep -a STREAM-END "$DDVM_RUNDIR/app.log")"
[ "$(stream conns)" = 1 ] || t_fail "the client opened $(stream conns) TCP connections: one was reset"
[ "$(stream ended)" = null ] || t_fail "the TCP connection ended: $(stream ended)"
[ "$(stream bad)" = 0 ] || t_fail "$(stream bad) bytes of the TCP stream were not what the client sent"
t_log "one TCP connection throughout: $(stream bytes) bytes, all as sent; TCP outages at the kills: ${pauses[*]} ms, at the upgrade: $p ms (0: under 20 ms; the longest pause in 15 s without a failure: $base ms)"
echo SUCCESS
