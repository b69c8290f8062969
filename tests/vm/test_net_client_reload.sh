#!/bin/bash
# timeout: 300
# A client that reloads its net driver while it moves traffic hurts nobody, itself
# included: `ddvm up` of examples/jumbo.ini (e1000, tap on bridge br0 in a namespace
# this test made; tap name substituted) with a client whose run script, 8 times, starts
# iperf3 -P 2 to the peer and 2 s later unloads and reloads ddvm_netfront under it,
# then sends 4 MiB of random bytes to a checksumming sink (tests/vm/sha_sink.py).
# Then it unloads the driver under iperf3 and stays unloaded for 12 s (more than the
# driver VM's 5 s request timeout) before it loads it again (before the fix in the
# supervisor's request check, the requests the unloaded driver left on its ring made
# the supervisor restart the driver VM after 5 s); meanwhile the supervisor says that
# the client driver detached (not that it "did not attach").
# Checked: every round the new interface got its carrier back; the bytes arrived
# intact; the client never reported the driver VM breaking the protocol (before the
# fix in ddvm_netfront's remove, its interface kept sending after it had told the
# driver VM CLOSED, read the driver VM's ring reset as a violation and claimed it: 1-3
# rounds in 12); the supervisor saw no claim, the channel stayed at epoch 1, the driver
# VM never restarted.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
source "$(dirname "$0")/../lib/recover.sh"
t_need_root
command -v jq >/dev/null || t_skip "needs jq (scripts/deps.sh installs it)"

ex=$DDVM_ROOT/examples
t_need_file "$ex/jumbo.ini"
ROUNDS=${RELOAD_ROUNDS:-8}
rec_netns
ip netns exec "$REC_NS" python3 "$DDVM_ROOT/tests/vm/sha_sink.py" 5300 >"$T/sink.log" 2>&1 &
echo $! >"$T/sink.pid"
t_on_exit "t_kill_pidfile '$T/sink.pid'"

cat >"$T/client-run.sh" <<EOF
ROUNDS=$ROUNDS
EOF
cat >>"$T/client-run.sh" <<'EOF'
# the interface with the channel's MAC, up, addressed, with its carrier (<= 60 s)
up() {
	ifn= i=0
	while [ -z "$ifn" ] && [ $i -lt 300 ]; do
		for d in /sys/class/net/*; do
			[ "$(cat "$d/address")" = 52:54:00:dd:09:01 ] && ifn=${d##*/}
		done
		[ -n "$ifn" ] || sleep 0.1
		i=$((i + 1))
	done
	[ -n "$ifn" ] || return 1
	ip link set "$ifn" up
	ip addr add 10.99.0.11/24 dev "$ifn" 2>/dev/null
	i=0
	while [ "$(cat "/sys/class/net/$ifn/carrier" 2>/dev/null)" != 1 ] && [ $i -lt 600 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}
modprobe ddvm_netfront
up
i=0
until ping -c 1 -W 1 10.99.0.1 >/dev/null 2>&1 || [ $i -ge 30 ]; do i=$((i + 1)); done
for r in $(seq "$ROUNDS"); do
	# a round that has not ended in 90 s shows the kernel's log (the console is quiet)
	(sleep 90 && echo "RELOAD-STUCK round $r" && dmesg | tail -n 60) &
	wd=$!
	timeout 40 iperf3 -c 10.99.0.1 -t 4 -P 2 >/dev/null 2>&1 &
	ip=$!
	sleep 2
	rmmod ddvm_netfront
	rm_rc=$?
	modprobe ddvm_netfront
	mp_rc=$?
	up || echo "RELOAD-NOIF round $r rmmod rc=$rm_rc modprobe rc=$mp_rc"
	wait $ip
	kill $wd 2>/dev/null
	echo "RELOAD-ROUND $r ifn=$ifn carrier=$(cat "/sys/class/net/$ifn/carrier" 2>/dev/null) rmmod=$rm_rc modprobe=$mp_rc"
done
# unloaded for longer than the driver VM's request timeout (5 s), traffic in flight
# at the unload: the requests it left on the ring are nobody's to serve
timeout 40 iperf3 -c 10.99.0.1 -t 4 -P 2 >/dev/null 2>&1 &
sleep 2
rmmod ddvm_netfront
echo RELOAD-UNLOADED
sleep 12
modprobe ddvm_netfront
up || echo "RELOAD-NOIF after the long unload"
wait
i=0
until ping -c 1 -W 1 10.99.0.1 >/dev/null 2>&1 || [ $i -ge 30 ]; do i=$((i + 1)); done
head -c 4194304 /dev/urandom >/tmp/xfer
want=$(sha256sum </tmp/xfer | cut -c1-64)
got=$(timeout 60 nc 10.99.0.1 5300 </tmp/xfer 2>/dev/null | head -c 64)
[ "$got" = "$want" ] && echo "RELOAD-XFER ok" || echo "RELOAD-XFER bad got=${got:-none}"
echo RELOAD-DONE
EOF

sup_example reload jumbo -e '/^\[ddvm\]/d' \
	-e "s|^tap *=.*|tap     = $REC_TAP|" -e "s|^run *= *jumbo/driver|run = $ex/jumbo/driver|" \
	-e "s|^run *= *jumbo/client-run.sh|run = $T/client-run.sh|"
grep -q "^run = $T/client-run.sh" "$T/reload.ini" || t_fail "examples/jumbo.ini: no client run line to substitute"

REC_NET=1
rec_up reload
sup_wait_console app '^RELOAD-DONE' 240
grep -a '^RELOAD-' "$DDVM_RUNDIR/app.log" | tr -d '\r' | sed 's/^/    /'

fails=()
n=$(grep -acE '^RELOAD-ROUND [0-9]+ ifn=[^ ]+ carrier=1 rmmod=0 modprobe=0' "$DDVM_RUNDIR/app.log")
[ "$n" = "$ROUNDS" ] || fails+=("$n of $ROUNDS rounds unloaded and loaded the driver (rmmod, modprobe rc 0) and had the carrier back")
grep -aq '^RELOAD-UNLOADED' "$DDVM_RUNDIR/app.log" || fails+=("the client did not unload its driver for the long pause")
grep -aq '^RELOAD-NOIF' "$DDVM_RUNDIR/app.log" && fails+=("an interface did not come back after a load")
grep -q 'nic0.app not ready: frontend closed at epoch 1: the client driver (ddvm_netfront) in app detached' "$DDVM_RUNDIR/ddvm.log" ||
	fails+=("the supervisor did not say that the client driver detached during the long unload")
grep -aq '^RELOAD-XFER ok' "$DDVM_RUNDIR/app.log" || fails+=("the 4 MiB after the reloads did not arrive intact")
broken=$(grep -a 'ddvm channel broken' "$DDVM_RUNDIR/app.log" | tr -d '\r' | head -n 3 || true)
[ -z "$broken" ] || fails+=("the client reported the driver VM breaking the protocol: $broken")
claims=$(grep -a 'broke the protocol' "$DDVM_RUNDIR/ddvm.log" | head -n 3 || true)
[ -z "$claims" ] || fails+=("the supervisor got claims: $claims")
[ "$(sup_epoch nic0.app)" = 1 ] || fails+=("nic0.app is at epoch $(sup_epoch nic0.app), not 1")
[ "$(sup_vm_field netvm restarts)" = 0 ] || fails+=("the driver VM restarted")
((${#fails[@]} == 0)) || t_fail "$(printf '%s; ' "${fails[@]}")"
t_log "$ROUNDS reloads of ddvm_netfront under iperf3 and one 12 s unload: carrier back each time, no claim, epoch 1, no driver VM restart, 4 MiB intact"
echo SUCCESS
