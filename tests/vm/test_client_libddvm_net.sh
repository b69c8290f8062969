#!/bin/bash
# timeout: 240
# libddvm net against a real driver VM: a host process (build/bin/ddvm-pong, the
# libddvm example) is an IPv4 host whose NIC is the driver VM's unmodified e1000.
#   netns peer 10.99.0.1 (tap) <-> e1000 in the driver VM <-> ddvm_netback
#     <== channel ==> ddvm-pong on the host (libddvm) 10.99.0.2
# ddvm-pong ARPs for the peer (rx + tx through the driver VM), then the peer pings it.
# Then the driver VM is killed and a new one started in a new epoch (ddvm-chan SIGUSR1,
# as the supervisor does it): ddvm-pong must follow and keep answering pings.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/net_common.sh"
net_need_build
t_need_file "$BUILD/bin/ddvm-pong"

net_ns_setup
net_tap_create "$NET_TAP"
net_chan_start host 52:54:00:dd:00:21
net_driver_vm_start drv e1000 "$NET_TAP" host
net_tap_to_ns "$NET_TAP" "$NET_PEER/24"
vm_wait drv 'DDVM-AGENT up' 90

"$BUILD/bin/ddvm-pong" --sock "$T/ch-host/frontend.sock" --ip 10.99.0.2 --probe "$NET_PEER" \
	--timeout 200 >"$T/pong.log" 2>&1 &
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
t_kill_pidfile "$T/drv.pid"
ip -n "$NET_NS" link del "$NET_TAP"
net_chan_restart host
net_tap_create "${NET_TAP}b"
net_driver_vm_start drv2 e1000 "${NET_TAP}b" host
net_tap_to_ns "${NET_TAP}b" "$NET_PEER/24"
vm_wait drv2 'DDVM-AGENT up' 90
t_log "new driver VM in a new epoch; pinging again"
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
echo SUCCESS
