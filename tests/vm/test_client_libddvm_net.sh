#!/bin/bash
# timeout: 300
# libddvm net against a real driver VM, through `ddvm up` and examples/host-clients.ini
# as a user would copy it (its NIC moved from user-mode networking to a tap on the
# bridge br0 of a network namespace the test creates; the disk in $T): a host process
# (build/bin/ddvm-pong, the libddvm example) is an IPv4 host whose NIC is the driver
# VM's unmodified e1000.
#   netns peer 10.99.0.1 (br0) <-> tap <-> e1000 in the driver VM <-> ddvm_netback
#     <== channel nic0.mybox ==> ddvm-pong on the host (libddvm) 10.99.0.2
# ddvm-pong ARPs for the peer (rx + tx through the driver VM), then the peer pings it.
# Then `ddvm inject drv kill`: the supervisor restarts the driver VM in a new epoch, and
# ddvm-pong must follow and keep answering pings. At `ddvm down` it exits (1), saying why.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
source "$(dirname "$0")/net_common.sh"
t_need_root
t_need_file "$BUILD/bin/ddvm-pong"

net_ns_setup
net_ns_bridge br0
sup_example hc host-clients -e "s|^image .*|image  = $T/disk0.img|" \
	-e "s|^backend = user|backend = tap\ntap     = $NET_TAP\nbridge  = br0|"
grep -q "^tap     = $NET_TAP" "$T/hc.ini" || t_fail "examples/host-clients.ini has no 'backend = user' line to edit"
sup_up "$T/hc.ini" "$NET_NS"

"$BUILD/bin/ddvm-pong" --sock "$DDVM_RUNDIR/channels/nic0.mybox.client.sock" --ip 10.99.0.2 --probe "$NET_PEER" \
	--timeout 250 >"$T/pong.log" 2>&1 &
echo $! >"$T/pong.pid"
t_on_exit "t_kill_pidfile '$T/pong.pid'; cat '$T/pong.log'"

wait_log() { # FILE REGEX SECS
	local i
	for ((i = 0; i < $3 * 20; i++)); do
		grep -Eq -- "$2" "$1" && return 0
		kill -0 "$(cat "$T/pong.pid")" 2>/dev/null || break
		sleep 0.05
	done
	cat "$1"
	t_fail "no /$2/ in $1 within $3 s"
}
wait_log "$T/pong.log" 'ddvm-pong: ready' 90
t_log "$(grep 'ddvm-pong: ready' "$T/pong.log")"
wait_log "$T/pong.log" 'arp reply from' 30
t_log "$(grep 'arp reply' "$T/pong.log")"
ip netns exec "$NET_NS" ping -c 3 -W 5 10.99.0.2 || t_fail "peer cannot ping the libddvm host"

# The driver VM dies; the supervisor starts a new one in a new epoch.
"$DDVM" inject drv kill >/dev/null || t_fail "ddvm inject drv kill failed"
sup_wait_log 'drv: service restored [0-9]+ ms after' 180
t_log "$(grep -ao 'drv: service restored.*' "$DDVM_RUNDIR/ddvm.log")"
t_log "new driver VM in a new epoch ($(sup_epoch nic0.mybox)); pinging again"
ok=0
for _ in $(seq 30); do
	ip netns exec "$NET_NS" ping -c 1 -W 2 10.99.0.2 >/dev/null && { ok=$((ok + 1)); [ $ok -ge 3 ] && break; }
done
if [ $ok -lt 3 ]; then
	ip -n "$NET_NS" neigh show
	cat "$T/pong.log"
	t_fail "no pings answered after the new epoch"
fi
pid=$(cat "$T/pong.pid")
kill -TERM "$pid"
wait "$pid" || t_fail "ddvm-pong exited with an error"
grep -q 'restarts 1' "$T/pong.log" || t_fail "ddvm-pong did not see the new epoch"
t_log "$(tail -n1 "$T/pong.log")"

# `ddvm down` under a running client: it says so and exits (1), at once; before, every
# wait returned at once on the closed socket and it printed "recv: the channel was
# shut down" ~100,000 times a second until its --timeout
"$BUILD/bin/ddvm-pong" --sock "$DDVM_RUNDIR/channels/nic0.mybox.client.sock" --ip 10.99.0.2 \
	--timeout 250 >"$T/pong2.log" 2>&1 &
echo $! >"$T/pong.pid"
wait_log "$T/pong2.log" 'ddvm-pong: ready' 60
"$DDVM" down >/dev/null
pid=$(cat "$T/pong.pid")
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && t_fail "ddvm-pong still runs 10 s after ddvm down: $(tail -n 3 "$T/pong2.log")"
rc=0
wait "$pid" || rc=$?
lines=$(wc -l <"$T/pong2.log")
t_log "after ddvm down: ddvm-pong exited $rc, $lines lines: $(grep -m1 'exiting' "$T/pong2.log")"
((rc == 1)) || t_fail "ddvm-pong exited $rc after ddvm down, not 1"
grep -q 'the channel was shut down: exiting' "$T/pong2.log" || t_fail "ddvm-pong did not say why it exits"
((lines < 10)) || t_fail "ddvm-pong wrote $lines lines after ddvm down"
echo SUCCESS
