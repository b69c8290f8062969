#!/bin/bash
# timeout: 240
# Anti-spoofing, frame by frame (driver-vm/net/antispoof.c; docs/net.md,
# "Anti-spoofing"). A hostile host client (tests/vm/spoof_frames.c, libddvm) sends
# hand-made frames no kernel would build through two channels of `ddvm up`: nic0 with
# `ip = h=10.9.0.5,fd00:9::5` (antispoof = ip) and nic1 with `antispoof = mac`. Each
# set either must be dropped, frame for frame (the channel's tx_spoof_drops grows by
# exactly the set's size), or must pass (a pass set followed by a drop set as a marker
# adds only the marker's frames). ip, to be dropped: another source MAC, ARP with
# another sender address / sender MAC / from 0.0.0.0 as a reply / not IPv4 over
# Ethernet, IPv4 from another address / from 0.0.0.0 not to DHCP / malformed, tagged
# ARP, IPv6 from another address / from :: outside DAD, a neighbour advertisement for
# another's address from its own link-local address, a solicitation with another
# MAC in its link-layer option, a router advertisement, a malformed option, another
# ethertype (16). To pass: ARP request and probe, IPv4 from its address and a DHCP
# request, IPv6 from its address and its link-local one, DAD, its own advertisement,
# solicitations, an MLDv2 report behind a hop-by-hop header (11). mac: another source
# MAC and ARP sender MAC are dropped; address claims pass. The driver VM's log names
# every one of the 14 reasons. About 16 s under TCG (one driver VM, no client VM).
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
command -v jq >/dev/null || t_skip "needs jq (scripts/deps.sh installs it)"
SPOOF=$BUILD/tests/bin/spoof_frames
t_need_file "$SPOOF"

sup_config as <<'INI'
[driver-vm drv]
memory = 256M
boot_timeout_ms = 180000

[device nic0]
vm      = drv
kind    = net
model   = e1000
backend = user
ip      = h=10.9.0.5,fd00:9::5 v=10.9.0.7

[device nic1]
vm        = drv
kind      = net
model     = e1000
backend   = user
antispoof = mac

[host-client h]
devices = nic0, nic1

# another client of nic0, whose channel takes offloads (as ddvm-tapbridge's does)
[host-client v]
devices = nic0
INI
sup_up "$T/as.ini"
sup_wait_log 'drv: state booting -> running' 180
sup_wait_chan nic0.h backend_state ready 60
sup_wait_chan nic1.h backend_state ready 60

drops() { sup_chan_field "$1" counters | jq '.tx_spoof_drops // 0'; }
# send CHANNEL SET: the set's frames through CHANNEL; prints how many
send() {
	local out
	out=$("$SPOOF" --sock "$DDVM_RUNDIR/channels/$1.client.sock" --ip 10.9.0.5 --ip6 fd00:9::5 \
		--other 10.9.0.6 --other6 fd00:9::6 --set "$2" 2>&1) || { echo "$out" >&2; t_fail "spoof_frames --set $2 on $1 failed"; }
	echo "${out#sent }"
}
# expect CHANNEL N: until CHANNEL's tx_spoof_drops reach N (published about once a
# second), then it must be exactly N
expect() {
	local n
	for _ in $(seq 100); do
		n=$(drops "$1")
		((n >= $2)) && break
		sleep 0.1
	done
	[ "$n" = "$2" ] || t_fail "$1: tx_spoof_drops $n, expected $2 ($3)"
	t_log "$1: tx_spoof_drops $n ($3)"
}

check_channel() { # CHANNEL DROP-SET PASS-SET
	local base nd np
	base=$(drops "$1")
	nd=$(send "$1" "$2")
	expect "$1" $((base + nd)) "$nd frames of $2 dropped"
	np=$(send "$1" "$3")
	send "$1" "$2" >/dev/null # the marker: dropped again, and nothing of the pass set
	expect "$1" $((base + 2 * nd)) "$np frames of $3 passed"
}
check_channel nic0.h ip-drop ip-pass
check_channel nic1.h mac-drop mac-pass

# One client's frame must not cut another off. h sends 8 broadcast TCP frames whose GSO
# metadata is in range but whose TCP header (doff 15) ends past the 64-byte frame, then
# an ARP request as the marker; v watches with offloads on. The driver VM drops the 8
# as malformed (h's tx_bad); before it checked the TCP header it forwarded them, v's
# libddvm read headers longer than the frame as its driver VM breaking the protocol
# and broke its channel at every one (the supervisor then gave v new sessions, later
# and later): a client could keep another off the NIC.
bad() { sup_chan_field "$1" counters | jq '.tx_bad // 0'; }
wait_line() { # FILE PATTERN SECS: until a line of FILE matches
	local end=$((SECONDS + $3))
	until grep -q "$2" "$1" 2>/dev/null; do ((SECONDS < end)) || return 1; sleep 0.1; done
}
bad0=$(bad nic0.h)
"$SPOOF" --sock "$DDVM_RUNDIR/channels/nic0.v.client.sock" --other 10.9.0.6 --watch 30 >"$T/watch.out" 2>&1 &
echo $! >"$T/watch.pid"
t_on_exit "t_kill_pidfile '$T/watch.pid'"
wait_line "$T/watch.out" '^watching' 60 || t_fail "the watching client never got READY: $(cat "$T/watch.out")"
# READY is the client's word; the driver VM delivers to it from its next look at the
# channel (a control doorbell later), and drops frames for it until then
vmac=$(grep -ao 'nic0.v: client MAC [0-9a-f:]*' "$DDVM_RUNDIR/ddvm.log" | awk '{ print $4 }')
sup_console_cmd drv 30 "i=0; while [ \$i -lt 200 ]; do dmesg | grep -q 'client $vmac connected' && exit 0; sleep 0.1; i=\$((i + 1)); done; exit 1" >/dev/null ||
	t_fail "the driver VM never said v ($vmac) connected"
n=$(send nic0.h gso-bad)
[ "$n" = 9 ] || t_fail "spoof_frames --set gso-bad sent $n frames, not 9"
wait_line "$T/watch.out" '^frames ' 40 || t_fail "the watching client did not finish: $(cat "$T/watch.out")"
grep -q ' badmsg 0 broken 0 marker 1$' "$T/watch.out" ||
	t_fail "v got h's malformed GSO frames or lost its channel: $(cat "$T/watch.out"); v's counters: $(sup_chan_field nic0.v counters | jq -c .)"
for _ in $(seq 30); do (($(bad nic0.h) >= bad0 + 8)) && break; sleep 0.1; done
[ "$(bad nic0.h)" = $((bad0 + 8)) ] || t_fail "nic0.h: tx_bad $(bad nic0.h), expected $((bad0 + 8))"
! grep -aq 'nic0.v.*broke the protocol' "$DDVM_RUNDIR/ddvm.log" ||
	t_fail "the supervisor heard v's channel break: $(grep -a 'nic0.v' "$DDVM_RUNDIR/ddvm.log" | tail -n 3)"
t_log "8 malformed GSO frames from h: dropped by the driver VM (tx_bad +8); v: $(cat "$T/watch.out")"

# Storm control counts wire frames: 40 broadcast TCP GSO frames of 60,000 bytes stand
# for 1,680 frames of 1448 bytes, over the 1,000 a second (storm_pps) a client may
# send; some must be dropped (counted as 40 descriptors, none were).
storm() { sup_chan_field "$1" counters | jq '.tx_storm_drops // 0'; }
s0=$(storm nic0.h)
n=$(send nic0.h storm-gso)
[ "$n" = 41 ] || t_fail "spoof_frames --set storm-gso sent $n frames, not 41"
for _ in $(seq 30); do (($(storm nic0.h) > s0)) && break; sleep 0.1; done
(($(storm nic0.h) > s0)) || t_fail "nic0.h: 40 broadcast 60 KB GSO frames, no tx_storm_drops ($(storm nic0.h))"
t_log "40 broadcast GSO frames of 60,000 bytes from h: $(($(storm nic0.h) - s0)) dropped by storm control"

sup_console_cmd drv 20 'dmesg | grep "not its own"' >"$T/dmesg.out" || true
for why in "its source MAC is not" "its ARP sender MAC is not" "its ARP sender address is not" \
	"an ARP that is not IPv4 over Ethernet" "its IPv4 source address is not" "a malformed IPv4 header" \
	"its IPv6 source address is not" "a malformed IPv6 packet" "a neighbour advertisement for an address not" \
	"a neighbour discovery link-layer address not" "a router advertisement or redirect" "neither ARP, IPv4 nor IPv6"; do
	grep -aq "dropped: $why" "$T/dmesg.out" || { cat "$T/dmesg.out"; t_fail "the driver VM's log never said: $why"; }
done
t_log "the driver VM's log named all 14 reasons; e.g. $(grep -a -m1 'neighbour advertisement' "$T/dmesg.out")"
[ "$(sup_vm_field drv restarts)" = 0 ] || t_fail "the driver VM restarted"
! grep -aqE "$T_KERNEL_TROUBLE" "$DDVM_RUNDIR/drv.log" || t_fail "the driver VM's kernel complained"
echo SUCCESS
