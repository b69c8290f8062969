#!/bin/bash
# timeout: 240
# The `ddvm` command as documented: options in any order, every documented exit code,
# every documented run-dir file, `status --json` field names, and a QEMU that refuses
# to start (a corrupt qcow2 image: its magic right, which is what the setup check
# sees, its version not) is reported in
# QEMU's own words by `ddvm up -d` within seconds and given up on after the second
# identical failure, not retried restart_max times.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
command -v jq >/dev/null || t_skip "needs jq (scripts/deps.sh installs it)"

# expect CODE CMD... — run CMD, check its exit status.
expect() {
	local want=$1 rc=0
	shift
	"$@" >"$T/out" 2>&1 || rc=$?
	[ "$rc" = "$want" ] || { cat "$T/out"; t_fail "'$*' exited $rc, documented: $want"; }
}

# --- usage (2), bad setup file (3), no supervisor (4) ------------------------------
expect 2 "$DDVM"
expect 2 "$DDVM" frobnicate
expect 2 "$DDVM" up
expect 2 "$DDVM" up a.ini b.ini
expect 2 "$DDVM" up -x a.ini
expect 2 "$DDVM" up a.ini --rundir "$T/x" # a global option after the command: where it goes
grep -q 'ddvm: --rundir goes before the command: ddvm --rundir DIR up' "$T/out" ||
	t_fail "--rundir after up: no hint: $(cat "$T/out")"
expect 2 "$DDVM" status extra
expect 2 "$DDVM" restart
expect 2 "$DDVM" upgrade
expect 2 "$DDVM" upgrade drv # nothing to change
expect 2 "$DDVM" upgrade drv --initrd "$T/no-such.cpio.gz"
grep -q 'no-such.cpio.gz: No such file' "$T/out" || t_fail "upgrade: a missing file is not named: $(cat "$T/out")"
expect 0 "$DDVM" upgrade --help
expect 0 "$DDVM" up --help
expect 0 "$DDVM" status --help
printf '[driver-vm drv]\nmemory = lots\n' >"$T/broken.ini"
expect 3 "$DDVM" up "$T/broken.ini" -d
grep -q 'broken.ini:2' "$T/out" || t_fail "the config error does not name file:line: $(cat "$T/out")"
# the file's errors and the host's (a missing run script) in one run, line order
printf '[driver-vm drv]\nrun = /nonexistent/run.sh\nmemory = lots\n' >"$T/broken2.ini"
expect 3 "$DDVM" up -d "$T/broken2.ini"
if [ "$(grep -c 'broken2.ini:[0-9]*: ' "$T/out")" != 2 ] ||
	! grep -A1 'broken2.ini:2: \[driver-vm drv\]: run script /nonexistent/run.sh' "$T/out" |
	grep -q 'broken2.ini:3: \[driver-vm drv\]: memory = lots'; then
	t_fail "not both problems, in line order: $(cat "$T/out")"
fi
# `ddvm check`: the same problems, nothing started; a good file gets a summary
expect 3 "$DDVM" check "$T/broken2.ini"
[ "$(grep -c 'broken2.ini:[0-9]*: ' "$T/out")" = 2 ] || t_fail "check: not both problems: $(cat "$T/out")"
expect 2 "$DDVM" check
expect 0 "$DDVM" check --help
sup_example checked quickstart -e "s|^image *=.*|image  = $T/check.img|"
expect 0 "$DDVM" check "$T/checked.ini"
grep -q 'checked.ini: ok: 1 driver VM, 1 client VM, 0 host clients, 2 channels' "$T/out" ||
	t_fail "check of a good file: $(cat "$T/out")"
[ ! -e "$T/check.img" ] || t_fail "check created the image (size = ...): it must start nothing"
grep -q 'note:' "$T/out" && t_fail "check of a good file has a note: $(cat "$T/out")"
# a device no client uses: ok, with a note saying nobody is served it
printf '[device spare0]\nvm = drv\nkind = blk\nimage = %s\nsize = 16M\n' "$T/check2.img" >>"$T/checked.ini"
expect 0 "$DDVM" check "$T/checked.ini"
grep -q 'checked.ini: note: device spare0 is used by no client' "$T/out" || t_fail "no note on an unused device: $(cat "$T/out")"
expect 4 "$DDVM" status
expect 4 "$DDVM" status --json
expect 4 "$DDVM" down
expect 4 "$DDVM" restart drv
expect 4 "$DDVM" upgrade drv --append x

# --- a QEMU that refuses to start ----------------------------------------------------
# a qcow2 header (the setup check looks at the magic) of a version QEMU refuses
{ printf 'QFI\xfb\0\0\0\x63'; head -c 1048568 /dev/zero; } >"$T/corrupt.qcow2"
sup_config bad <<CONF
[driver-vm drv]
restart_max = 5
restart_backoff_ms = 100
[device disk0]
vm = drv
kind = blk
model = virtio-blk-pci
image = $T/corrupt.qcow2
format = qcow2
[host-client hc]
devices = disk0
CONF
t_on_exit _sup_cleanup
t0=$(now_ms)
rc=0
"$DDVM" up "$T/bad.ini" -d >"$T/up.out" 2>&1 || rc=$? # CONFIG before -d
took=$(($(now_ms) - t0))
cat "$T/up.out"
t_log "ddvm up -d with a corrupt image: exit $rc after $took ms"
[ "$rc" = 1 ] || t_fail "ddvm up -d exited $rc, want 1"
((took < 20000)) || t_fail "ddvm up -d took $took ms to report a QEMU that cannot start"
grep -q "Unsupported qcow2 version 99" "$T/up.out" || t_fail "ddvm up -d does not say QEMU's words"
[ "$(grep -c 'drv: started' "$DDVM_RUNDIR/ddvm.log")" = 2 ] ||
	t_fail "not exactly 2 starts: $(grep 'drv:' "$DDVM_RUNDIR/ddvm.log")"
grep -q 'drv: GIVING UP: it failed to start twice the same way' "$DDVM_RUNDIR/ddvm.log" ||
	t_fail "no give-up line in the log"
grep -q 'drv: FAILED: QEMU exited with status 1 before the guest booted: .*Unsupported qcow2 version 99' \
	"$DDVM_RUNDIR/ddvm.log" || t_fail "the log does not carry QEMU's words"
[ "$(sup_vm_field drv state)" = gave-up ] || t_fail "drv is not gave-up: $("$DDVM" status)"
sup_vm_field drv last_failure | grep -q 'Unsupported qcow2 version 99' ||
	t_fail "status --json last_failure lacks QEMU's words"
# a given-up VM's console: refused, saying where its output is (1), not "connected"
expect 1 "$DDVM" console drv </dev/null
grep -q "drv is not running (state gave-up) and will not start by itself: what it printed is in 'ddvm logs drv'" "$T/out" ||
	t_fail "console of a given-up VM: $(cat "$T/out")"
# an unknown fault is a usage error (2), whatever the VM's state
expect 2 "$DDVM" inject drv bogus
grep -q "ddvm: unknown fault 'bogus'; known: kill stop panic" "$T/out" || t_fail "inject bogus: $(cat "$T/out")"
"$DDVM" status | grep -q 'last failure: .*Unsupported qcow2 version 99' ||
	t_fail "ddvm status does not show QEMU's words"
"$DDVM" status | grep -q "given up: 'ddvm restart drv' starts it again" ||
	t_fail "ddvm status of a given-up VM does not say how to start it again: $("$DDVM" status)"

# A second supervisor in the same run dir: 6, in either option order, and nothing else.
expect 6 "$DDVM" up -d "$T/bad.ini"
grep -q 'already runs' "$T/out" || t_fail "no reason given: $(cat "$T/out")"
grep -q '^ddvm: up' "$T/out" && t_fail "says 'up' although it exits 6"
grep -q 'starting in the background' "$T/out" && t_fail "says 'starting' although it exits 6"
grep -q -- '--rundir DIR' "$T/out" || t_fail "exit 6 does not say how to run another: $(cat "$T/out")"
expect 6 "$DDVM" up "$T/bad.ini" -d
expect 6 "$DDVM" up "$T/bad.ini"
expect 5 "$DDVM" restart nosuch
expect 5 "$DDVM" console nosuch
expect 5 "$DDVM" logs nosuch
expect 5 "$DDVM" inject nosuch kill
expect 5 "$DDVM" upgrade nosuch --append x
expect 1 "$DDVM" upgrade drv --append x # no warm spare: refused, says what to add
grep -q "add 'spare = yes'" "$T/out" || t_fail "upgrade without a spare: no reason: $(cat "$T/out")"
expect 1 "$DDVM" inject drv kill # gave up: refused, says why
expect 0 "$DDVM" logs drv -f --help
# a log left by an earlier setup in this run dir is printed with a note saying so;
# the running setup's own logs are not
# (one written before the supervisor dropped busybox's cursor-position queries is
# printed without them: a terminal would type its answer into the user's shell)
printf 'from an earlier setup\n~ # \033[6n\033[6c ls\n' >"$DDVM_RUNDIR/oldvm.log"
expect 0 "$DDVM" logs oldvm
grep -q "^ddvm: note: 'oldvm' is not in the setup running now" "$T/out" ||
	t_fail "a stale log without the note: $(cat "$T/out")"
grep -q '^from an earlier setup' "$T/out" || t_fail "the stale log not printed: $(cat "$T/out")"
printf '~ # \033[6c ls\n' | cmp -s - <(tail -n 1 "$T/out") ||
	t_fail "the query not dropped (or more): $(tail -n 1 "$T/out" | od -c)"
expect 0 "$DDVM" logs drv
grep -q 'ddvm: note' "$T/out" && t_fail "the running VM's log has the stale note: $(head -3 "$T/out")"
rm -f "$DDVM_RUNDIR/oldvm.log"

# --- the run dir holds what docs/supervisor.md says ------------------------------------
# ("Files: `ddvm.sock` ..., `VM.log` ..., `channels/CHANNEL.{driver,client,host}.sock`")
# shellcheck disable=SC2016 # backquotes, literally: the markdown's code spans
files=$(sed -n '/^Run dir:/,/^$/p' "$DDVM_ROOT/docs/supervisor.md" | tr '\n' ' ' |
	sed 's/.*Files://' | grep -o '`[^`]*`' | tr -d '`' | grep -E '^(ddvm\.|VM\.|channels/)')
[ -n "$files" ] || t_fail "no file list in docs/supervisor.md"
for f in $files; do
	case "$f" in VM.pid | VM.qmp) continue ;; esac # only while QEMU runs: checked below
	f=${f//VM/drv}
	f=${f//CHANNEL/disk0.hc}
	for g in $(eval "echo $f"); do # brace expansion
		[ -e "$DDVM_RUNDIR/$g" ] || t_fail "docs/supervisor.md names RUNDIR/$g; it is not there"
	done
done
# docs/libddvm.md's example socket is one the supervisor creates
lib=$(grep -o '/run/ddvm/[^"` ]*\.sock' "$DDVM_ROOT/docs/libddvm.md" | head -n1)
case "$lib" in /run/ddvm/channels/*.client.sock) ;; *) t_fail "docs/libddvm.md names $lib" ;; esac
expect 0 "$DDVM" down
expect 4 "$DDVM" status

# --- a good setup: `up -d CONFIG` (options first), status --json, VM.pid / VM.qmp ------
qemu-img create -q -f qcow2 "$T/good.qcow2" 16M
sed "s,$T/corrupt.qcow2,$T/good.qcow2," "$T/bad.ini" >"$T/good.ini"
expect 0 "$DDVM" up -d "$T/good.ini"
for f in drv.pid drv.qmp drv.channels ddvm.sock ddvm.pid channels/disk0.hc.client.sock; do
	[ -e "$DDVM_RUNDIR/$f" ] || t_fail "RUNDIR/$f missing while drv runs"
done
"$DDVM" status --json >"$T/status.json"
jq -e '.vms[] | select(.name == "drv") | .state == "running" and (.pid | type) == "number"
	and (.uptime_ms | type) == "number" and .restarts == 0 and .last_failure == null
	and .devices[0].name == "disk0" and .disks[0].host_io_errors == 0' "$T/status.json" >/dev/null ||
	t_fail "status --json, drv: $(cat "$T/status.json")"
jq -e '.channels[0] | .name == "disk0.hc" and .kind == "blk" and .epoch >= 1
	and has("driver_up") and has("client_up") and has("backend_state") and has("frontend_state") and has("backend_epoch") and has("frontend_epoch")
	and has("health") and has("requests") and has("responses") and has("errors")
	and has("claim_resets") and has("problem") and (.queues | length) == 1
	and .queues[0].requests == .requests' "$T/status.json" >/dev/null ||
	t_fail "status --json, channel: $(cat "$T/status.json")"
# --- connections to ddvm.sock that send nothing cannot lock out the commands ----------
# (16 slots: the oldest silent one makes room; each is closed after 5 s without a line)
python3 - "$DDVM_RUNDIR/ddvm.sock" >"$T/hog.out" 2>&1 <<'PY' &
import select, socket, sys, time
socks = []
for _ in range(40):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    socks.append(s)
print("HOG connected", len(socks), flush=True)
t0, open_ = time.monotonic(), set(socks)
while open_ and time.monotonic() - t0 < 20:
    for s in select.select(list(open_), [], [], 1)[0]:
        if not s.recv(64):
            open_.discard(s)
print("HOG closed by the supervisor: %d of %d, %.1f s" % (len(socks) - len(open_), len(socks), time.monotonic() - t0), flush=True)
PY
hog=$!
t_on_exit "kill $hog 2>/dev/null || true"
for _ in $(seq 100); do grep -q '^HOG connected' "$T/hog.out" && break; sleep 0.1; done
grep -q '^HOG connected 40' "$T/hog.out" || t_fail "the silent connections: $(cat "$T/hog.out")"
expect 0 "$DDVM" status
grep -q '^drv ' "$T/out" || t_fail "status under 40 silent connections: $(cat "$T/out")"
wait "$hog" || true
cat "$T/hog.out"
grep -q '^HOG closed by the supervisor: 40 of 40' "$T/hog.out" || t_fail "silent connections left open: $(cat "$T/hog.out")"
grep -q 'control: all 16 connections taken; closed one that sent no command' "$DDVM_RUNDIR/ddvm.log" ||
	t_fail "no eviction logged"

# a run dir that is not ours alone is refused before anything is made in it (1): one
# another user could write in, one another user made (/tmp/ddvm-UID is anyone's name)
mkdir "$T/shared" "$T/theirs"
chmod 1777 "$T/shared"
chown 65534 "$T/theirs"
expect 1 "$DDVM" --rundir "$T/shared" up -d "$T/good.ini"
grep -q "run dir $T/shared is writable by its group or others (mode 1777)" "$T/out" ||
	t_fail "a world-writable run dir is not refused: $(cat "$T/out")"
expect 1 "$DDVM" --rundir "$T/theirs" up "$T/good.ini"
grep -q "run dir $T/theirs belongs to uid 65534, not to this user (uid 0)" "$T/out" ||
	t_fail "another user's run dir is not refused: $(cat "$T/out")"
[ -z "$(find "$T/shared" "$T/theirs" -mindepth 1)" ] || t_fail "files made in a refused run dir: $(find "$T/shared" "$T/theirs")"
# the same setup in another run dir: refused before anything starts (its driver VM's
# QEMU used to find the image locked, fail twice and be given up on, the supervisor up)
t_on_exit "'$DDVM' --rundir '$T/run2' down >/dev/null 2>&1 || true"
expect 1 "$DDVM" --rundir "$T/run2" up -d "$T/good.ini"
grep -q "image $T/good.qcow2 is in use: another process has it open for writing" "$T/out" ||
	t_fail "a locked image is not explained: $(cat "$T/out")"
grep -q 'the supervisor did not start' "$T/out" || t_fail "a second setup on the image: $(cat "$T/out")"
expect 4 "$DDVM" --rundir "$T/run2" down
# another user (no access to the run dir): told so (1), not "no supervisor running" (4)
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 && command -v su >/dev/null &&
	su nobody -s /bin/sh -c "test -x '$DDVM'" 2>/dev/null; then
	rc=0
	su nobody -s /bin/sh -c "DDVM_RUNDIR='$DDVM_RUNDIR' '$DDVM' status" >"$T/out" 2>&1 || rc=$?
	if ((rc != 1)) || ! grep -q "ddvm: permission denied: the supervisor's socket in $DDVM_RUNDIR is not this user's to use" "$T/out"; then
		t_fail "status as another user: rc $rc: $(cat "$T/out")"
	fi
fi
expect 0 "$DDVM" restart drv
[ "$(sup_vm_field drv restarts)" = 1 ] || t_fail "restart not counted: $("$DDVM" status)"
# a host client is named for what it is, not "no VM named" alone
for cmd in "restart hc" "inject hc kill" "console hc" "logs hc" "libvirt-xml $T/good.ini hc"; do
	# shellcheck disable=SC2086 # the words of the command
	expect 5 "$DDVM" $cmd
	grep -q 'host.client' "$T/out" || t_fail "ddvm $cmd: does not say hc is a host client: $(cat "$T/out")"
done
expect 0 "$DDVM" down
expect 4 "$DDVM" down
[[ ! -e $DDVM_RUNDIR/ddvm.sock && ! -e $DDVM_RUNDIR/drv.pid ]] || t_fail "down left sockets or pid files"

# --- `ddvm down` while `up -d` still waits: 1, "stopped before it was up" -----------
# (a ready line the guest never prints: up -d waits for as long as the test likes)
sed '/^\[driver-vm drv\]/a ready = NEVER-PRINTED-BY-ANYONE\nboot_timeout_ms = 600000' "$T/good.ini" >"$T/slow.ini"
"$DDVM" up -d "$T/slow.ini" >"$T/slow.out" 2>&1 &
up_pid=$!
t_on_exit "kill $up_pid 2>/dev/null || true"
sup_wait_vm drv state booting 20 "$T/slow.out"
expect 0 "$DDVM" down
rc=0
wait "$up_pid" || rc=$?
[ "$rc" = 1 ] || { cat "$T/slow.out"; t_fail "up -d stopped by 'ddvm down' exited $rc, not 1"; }
grep -q "stopped before it was up ('ddvm down', or a signal)" "$T/slow.out" ||
	t_fail "up -d stopped by 'ddvm down' does not say so: $(cat "$T/slow.out")"
grep -q 'did not start' "$T/slow.out" && t_fail "up -d says 'did not start' after it started: $(cat "$T/slow.out")"
sup_wait_gone 60

# --- Ctrl-C while `up -d` waits: it says the supervisor goes on (130), and it does ---
"$DDVM" up -d "$T/slow.ini" >"$T/slow.out" 2>&1 &
up_pid=$!
t_on_exit "kill $up_pid 2>/dev/null || true"
sup_wait_vm drv state booting 20 "$T/slow.out"
kill -INT "$up_pid"
rc=0
wait "$up_pid" || rc=$?
[ "$rc" = 130 ] || { cat "$T/slow.out"; t_fail "up -d interrupted exited $rc, not 130"; }
grep -q "no longer waiting; the supervisor goes on starting in the background" "$T/slow.out" ||
	t_fail "up -d interrupted does not say the supervisor goes on: $(cat "$T/slow.out")"
expect 0 "$DDVM" status
expect 0 "$DDVM" down
t_log "PASS"
