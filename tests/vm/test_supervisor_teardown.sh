#!/bin/bash
# timeout: 400
# `ddvm down`, SIGTERM and (in the foreground) SIGHUP leave nothing behind — checked,
# not assumed (a detached supervisor ignores SIGHUP): no QEMU or
# supervisor process, no socket or pid file, no process holding a channel's memfd, no
# tap device. Runs the supervisor inside a network namespace this test creates, so
# the tap device QEMU makes lives (and must die) there.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
t_need_root
command -v ip >/dev/null || t_skip "needs iproute2"

ns=ddvm-td-$$
ip netns add "$ns" || t_skip "cannot create a network namespace"
t_on_exit "ip netns del '$ns'"
in_ns() { ip netns exec "$ns" "$@"; }

sup_config setup <<CONF
[driver-vm drv]
memory = 256M
[device nic0]
vm = drv
kind = net
model = e1000
backend = tap
tap = ddvmtd0
[client-vm cli]
memory = 256M
devices = nic0
CONF

# A process that exited is gone even while it is a zombie (the detached supervisor's
# parent is PID 1, which in some containers never reaps).
alive() { [ -r "/proc/$1/stat" ] && ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$1/stat"; }

# Everything ddvm created must be gone; $1 says after what.
check_clean() {
	local what=$1 pid f
	for pid in $qemu_pids $sup_pid; do
		alive "$pid" && t_fail "$what: process $pid still alive"
	done
	for f in "$DDVM_RUNDIR"/*.sock "$DDVM_RUNDIR"/*.pid "$DDVM_RUNDIR"/*.qmp \
		"$DDVM_RUNDIR"/channels; do
		[ -e "$f" ] && t_fail "$what: $f is left behind"
	done
	# memfds show up as /proc/PID/fd/N -> /memfd:NAME (deleted): grep reads the link targets
	# shellcheck disable=SC2010
	if ls -l /proc/[0-9]*/fd 2>/dev/null | grep -q 'memfd:nic0\.cli'; then
		t_fail "$what: a process still holds the channel's shared memory"
	fi
	in_ns ip link show ddvmtd0 >/dev/null 2>&1 && t_fail "$what: tap device ddvmtd0 is left"
	t_log "$what: nothing left behind"
}

bring_up() {
	t_on_exit _sup_cleanup
	in_ns "$DDVM" up -d "$T/setup.ini" || t_fail "ddvm up failed: $(tail -n 20 "$DDVM_RUNDIR/ddvm.log")"
	qemu_pids="$(cat "$DDVM_RUNDIR/drv.pid") $(cat "$DDVM_RUNDIR/cli.pid")"
	sup_pid=$(cat "$DDVM_RUNDIR/ddvm.pid")
	# While up, all of it exists (so the checks below can fail).
	[ -S "$DDVM_RUNDIR/channels/nic0.cli.driver.sock" ] || t_fail "no channel socket while up"
	# shellcheck disable=SC2010 # the link targets, as above
	ls -l /proc/"$sup_pid"/fd | grep -q 'memfd:nic0\.cli' || t_fail "supervisor holds no memfd"
	in_ns ip link show ddvmtd0 >/dev/null || t_fail "no tap device while up"
	t_log "up: supervisor $sup_pid, qemu $qemu_pids"
}

bring_up
"$DDVM" down || t_fail "ddvm down failed"
check_clean "ddvm down"

bring_up
kill -TERM "$sup_pid"
deadline=$((SECONDS + 30))
while alive "$sup_pid"; do
	((SECONDS < deadline)) || t_fail "supervisor still running 30 s after SIGTERM"
	sleep 0.05
done
check_clean "SIGTERM"
grep -q 'signal 15 (Terminated): shutting down' "$DDVM_RUNDIR/ddvm.log" || t_fail "SIGTERM not logged"

# SIGHUP: ignored by a detached supervisor (it has no terminal: someone else's signal)...
bring_up
downs=$(grep -c 'shutting down' "$DDVM_RUNDIR/ddvm.log" || true) # the log is appended to
kill -HUP "$sup_pid"
"$DDVM" status >/dev/null || t_fail "no status after SIGHUP"
"$DDVM" status >/dev/null || t_fail "no second status after SIGHUP"
alive "$sup_pid" || t_fail "the detached supervisor died of a SIGHUP"
[ "$(grep -c 'shutting down' "$DDVM_RUNDIR/ddvm.log")" = "$downs" ] ||
	t_fail "the detached supervisor shut down on SIGHUP"
"$DDVM" down || t_fail "ddvm down failed"
check_clean "ddvm down after a SIGHUP"

# ... and the end of a foreground one, as its terminal hanging up (a closed window, a
# dropped ssh) would otherwise leave VMs running that nobody sees
t_on_exit _sup_cleanup
ip netns exec "$ns" "$DDVM" up "$T/setup.ini" >"$T/fg.out" 2>&1 & # not in_ns: $! must be ddvm
sup_pid=$!
sup_wait_vm cli state running 60 "$T/fg.out"
qemu_pids="$(cat "$DDVM_RUNDIR/drv.pid") $(cat "$DDVM_RUNDIR/cli.pid")"
kill -HUP "$sup_pid"
rc=0
wait "$sup_pid" || rc=$?
[ "$rc" = 0 ] || t_fail "foreground up ended by SIGHUP exited $rc: $(tail "$T/fg.out")"
check_clean "SIGHUP (foreground)"
grep -q 'signal 1 (Hangup): shutting down' "$T/fg.out" || t_fail "SIGHUP not logged: $(tail "$T/fg.out")"
echo SUCCESS
