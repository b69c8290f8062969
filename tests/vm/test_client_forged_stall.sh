#!/bin/bash
# timeout: 300
# A client cannot make the supervisor give up its own driver VM, and with it its own
# channels for good. A driver VM whose channels all belong to one client is restarted
# when a request of that client stalls (only that client is hurt by the restart); but
# the stall is read from the client's region, which the client can forge, so those
# restarts must never count toward restart_max: a give-up marks every channel of the
# driver VM gone (DDVM_CTL_BACKEND_GONE) until an operator runs `ddvm restart`, i.e. the
# client, behaving again, would have no disk. One driver VM (restart_max = 1, restart
# = snapshot, request_timeout_ms = 1500) serves disk0 to host client a alone. A hostile
# writer (tests/vm/hostile_writer.py, kind unanswered) holds a's request ring one
# request past its responses (a hung disk driver, as the supervisor reads it) until
# the supervisor restarted the driver VM 3 times for it. Checked: no give-up, the log
# says those restarts were not counted, and once the writer stopped, ddvm-blkcheck
# writes and reads back 1 MiB through a's channel. Before, the second such failure
# gave the driver VM up ("GIVING UP after 2 failures in a row") and blkcheck failed.
# Then one forged write of ddvm_blkback's own status (state ABSENT, an old epoch) must
# be written back by it within 10 s (it stood for good before). Last, 8 s of session
# requests every 20 ms may add at most 42 lines to the driver VM's kernel log (166
# before the per-channel limit).
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
command -v jq >/dev/null || t_skip "needs jq (scripts/deps.sh installs it)"
t_need_file "$BUILD/bin/ddvm-blkcheck"

sup_config stall <<CONF
[driver-vm drv]
memory = 256M
restart = snapshot
restart_max = 1
restart_backoff_ms = 100
request_timeout_ms = 1500
[device disk0]
vm = drv
kind = blk
model = virtio-blk-pci
image = $T/disk0.img
size = 16M
[host-client a]
devices = disk0
CONF
sup_up "$T/stall.ini"
sup_wait_log 'drv: snapshot taken in' 120

sup_hostile_writer disk0.a --kinds unanswered --duration 200 --period 200
for _ in $(seq 1200); do
	(($(grep -c 'drv: FAILED: .*requests taken but not answered' "$DDVM_RUNDIR/ddvm.log") >= 3)) && break
	grep -q 'drv: GIVING UP' "$DDVM_RUNDIR/ddvm.log" && break
	sleep 0.1
done
t_kill_pidfile "$T/writer.pid"
tail -n 1 "$DDVM_RUNDIR/hostile_writer.log"
grep -E 'drv: (FAILED|GIVING UP|restart)' "$DDVM_RUNDIR/ddvm.log" | sed 's/^/    /' || true
grep -q 'drv: GIVING UP' "$DDVM_RUNDIR/ddvm.log" &&
	t_fail "the supervisor gave drv up on its sole client's forged stall"
fails=$(grep -c 'drv: FAILED: .*requests taken but not answered' "$DDVM_RUNDIR/ddvm.log" || true)
((fails >= 3)) || t_fail "the forged stall failed drv $fails times, not 3"
grep -q 'drv: restart in [0-9]* ms, not counted toward restart_max = 1' "$DDVM_RUNDIR/ddvm.log" ||
	t_fail "the log does not say the restarts were not counted"

# a, honest again: served by the restarted driver VM, without an operator
sup_blkcheck disk0.a 9 || t_fail "a's channel did not serve a after the writer stopped (ddvm-blkcheck failed)"
[ "$(sup_vm_field drv state)" = running ] || t_fail "drv is $(sup_vm_field drv state)"
t_log "drv restarted $fails times on a's forged stall, not given up; a served again"

# One forged write of the status the translation module owns (backend_state ABSENT,
# backend_epoch one behind), then nothing: ddvm_blkback writes its own back within a
# heartbeat or two (1 s each). Before it did (only ddvm_netback re-asserted), the
# forgery stood: the supervisor skipped the stall check of that channel, status said
# blkback never attached, and after a restart it waited 30 s for the channel to
# come back, holding spares and upgrades of the driver VM for every client.
epoch=$(sup_epoch disk0.a)
sup_hostile_writer disk0.a --kinds forged_once --duration 1 --period 1
# its summary line (after the forgery) says it wrote once
for _ in $(seq 100); do grep -q 'hostile_writer: done' "$DDVM_RUNDIR/hostile_writer.log" && break; sleep 0.1; done
grep -q 'forged_once 1;' "$DDVM_RUNDIR/hostile_writer.log" || t_fail "the writer did not forge: $(cat "$DDVM_RUNDIR/hostile_writer.log")"
t_kill_pidfile "$T/writer.pid"
got=
for _ in $(seq 100); do
	got=$("$DDVM" status --json | jq -r '.channels[] | select(.name == "disk0.a") | "\(.backend_state) \(.backend_epoch) \(.epoch)"')
	[ "$got" = "ready $epoch $epoch" ] && break
	sleep 0.1
done
[ "$got" = "ready $epoch $epoch" ] || t_fail "a's forged backend status stood 10 s: state, backend epoch, epoch = $got (epoch was $epoch)"
t_log "a forged blkback's status once: written back, status says $got"

# A client asking for a new session every 20 ms gets 10 resets a second, and each
# printed a line in the driver VM's kernel log (~15 KB/s from one client: the log
# buffer, the record of every client's anti-spoofing drops, turned over in seconds).
# Now at most 20 lines per 10 s per channel.
lines() { sup_console_cmd drv 20 'dmesg | wc -l' | tr -dc '0-9'; }
l0=$(lines)
[ -n "$l0" ] || t_fail "no line count from the driver VM's dmesg"
sup_hostile_writer disk0.a --kinds sessions --duration 8 --period 8
for _ in $(seq 120); do grep -q 'hostile_writer: done' "$DDVM_RUNDIR/hostile_writer.log" && break; sleep 0.1; done
grep -q 'sessions [1-9]' "$DDVM_RUNDIR/hostile_writer.log" || t_fail "the writer asked for no session: $(cat "$DDVM_RUNDIR/hostile_writer.log")"
l1=$(lines)
t_log "8 s of session requests: the driver VM's log grew $((l1 - l0)) lines (the channel's sessions so far: $(sup_chan_field disk0.a counters | jq .sessions))"
# the limit's 10 s window began at an earlier line of this channel (the reset of the
# blkcheck above), so 8 s may span two windows: 2 x 20 lines and 2 "suppressed" notes
((l1 - l0 <= 42)) || t_fail "8 s of one client's session requests wrote $((l1 - l0)) lines into the driver VM's log"
"$DDVM" down >/dev/null 2>&1
echo SUCCESS
