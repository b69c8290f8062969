#!/bin/bash
# timeout: 300
# `make install` and the systemd unit (packaging/, docs/install.md). Two installs: with
# DESTDIR (PREFIX=/usr: the files and paths a package would hold) and with PREFIX=$T/p
# (absolute paths that exist here), whose unit `systemd-analyze verify` must pass
# without a word. Then the service as systemd would run it, where systemd cannot run
# (CI's containers): the unit's Environment= and ExecStart= with $NOTIFY_SOCKET on a
# socket of ours, the installed example setup and the installed kernel and images
# (paths moved into $T as RuntimeDirectory/CacheDirectory/StateDirectory would give
# them); READY=1 must come once the driver VM booted, the log on stderr (the journal)
# in the supervisor's format, and ExecStop= (`ddvm down`) must end it with STOPPING=1,
# exit 0 and an empty run dir. The accelerator probe runs from the installed binary.
# Last, `make uninstall` must leave only the setup in PREFIX, and succeed a second time.
source "$(dirname "$0")/../lib/common.sh"
cd "$DDVM_ROOT"
t_need_file "$BUILD/bin/ddvm"
command -v systemd-analyze >/dev/null || t_fail "systemd-analyze missing (package systemd)"

# 1. DESTDIR: exactly these files, paths for /usr.
make --no-print-directory install DESTDIR="$T/dest" PREFIX=/usr >"$T/install.log" 2>&1 ||
	{ cat "$T/install.log"; t_fail "make install DESTDIR=... failed"; }
(cd "$T/dest" && find . -type f | sed 's|^\./|/|' | sort) >"$T/files"
cat >"$T/want" <<EOT
/usr/bin/ddvm
/usr/bin/ddvm-chan
/usr/bin/ddvm-tapbridge
/usr/bin/ddvm-blkcheck
/usr/bin/ddvm-pong
/usr/include/ddvm.h
/usr/lib/libddvm.a
/usr/lib/systemd/system/ddvm.service
/usr/share/ddvm/client-vm.cpio.gz
/usr/share/ddvm/$(basename "$(find "$BUILD/deb" -name 'ddvm-dkms_*_all.deb' | head -n1)")
/usr/share/ddvm/driver-vm.cpio.gz
/usr/share/ddvm/examples/ddvm.ini
/usr/share/ddvm/vmlinuz
EOT
# the nbdkit plugin, where it was built (nbdkit-plugin-dev), in nbdkit's own directory
[ -e "$BUILD/lib/nbdkit-ddvm-plugin.so" ] &&
	echo "$(pkg-config --variable=plugindir nbdkit)/nbdkit-ddvm-plugin.so" >>"$T/want"
sort -o "$T/want" "$T/want"
diff -u "$T/want" "$T/files" || t_fail "make install DESTDIR=... installed other files (- missing, + extra)"
grep -qx 'ExecStart=/usr/bin/ddvm up /etc/ddvm/ddvm.ini' "$T/dest/usr/lib/systemd/system/ddvm.service" ||
	t_fail "the unit's ExecStart is not /usr/bin/ddvm up /etc/ddvm/ddvm.ini"
! grep -rlI 'scripts/\|@[A-Z]\+@' "$T/dest" || t_fail "installed text files name scripts/ or an unfilled @VAR@"
! strings "$T/dest/usr/bin/ddvm" | grep -q 'scripts/' || t_fail "the installed ddvm names scripts/"

# 2. PREFIX=$T/p; the unit verified by systemd itself.
P=$T/p
make --no-print-directory install PREFIX="$P" >"$T/install.log" 2>&1 ||
	{ cat "$T/install.log"; t_fail "make install PREFIX=... failed"; }
unit=$P/lib/systemd/system/ddvm.service
systemd-analyze verify "$unit" >"$T/verify" 2>&1 || true
[ ! -s "$T/verify" ] || { cat "$T/verify"; t_fail "systemd-analyze verify complains about the unit"; }
t_log "systemd-analyze verify $unit: clean"

# The accelerator probe from the installed binary alone (no scripts/, fresh cache).
acc=$(cd / && env -u DDVM_ACCEL DDVM_ACCEL_CACHE="$T/accel" "$P/bin/ddvm" accel "$P/share/ddvm/vmlinuz") ||
	t_fail "installed 'ddvm accel' failed"
case "$acc" in kvm | tcg) t_log "installed ddvm accel: $acc" ;; *) t_fail "installed 'ddvm accel' said '$acc'" ;; esac

# 3. The service as systemd would start it.
mkdir -p "$P/etc/ddvm" "$T/state" "$T/run" "$T/cache"
sed "s|/var/lib/ddvm|$T/state|g" "$P/share/ddvm/examples/ddvm.ini" >"$P/etc/ddvm/ddvm.ini"
env_args=()
while IFS= read -r kv; do
	kv=${kv//\/run\/ddvm/$T/run}
	env_args+=("${kv//\/var\/cache\/ddvm/$T/cache}")
done < <(sed -n 's/^Environment=//p' "$unit")
read -r -a start < <(sed -n 's/^ExecStart=//p' "$unit")
read -r -a stop < <(sed -n 's/^ExecStop=//p' "$unit")
grep -qx 'Type=notify' "$unit" || t_fail "the unit is not Type=notify"

python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
open(sys.argv[1] + ".bound", "w").close()
with open(sys.argv[2], "a") as out:
    while True:
        msg = s.recv(4096).decode()
        out.write(msg.replace("\n", " ") + "\n")
        out.flush()
' "$T/notify" "$T/notified" &
echo $! >"$T/notify.pid"
t_on_exit "t_kill_pidfile '$T/notify.pid'"
for _ in $(seq 100); do [ -e "$T/notify.bound" ] && break; sleep 0.05; done
[ -e "$T/notify.bound" ] || t_fail "notify socket not bound"

t0=$(now_ms)
(cd / && exec env "${env_args[@]}" NOTIFY_SOCKET="$T/notify" DDVM_ACCEL_CACHE="$T/accel" \
	"${start[@]}" </dev/null >"$T/journal" 2>&1) &
echo $! >"$T/sup.pid"
sup_pid=$(cat "$T/sup.pid")
t_on_exit "env DDVM_RUNDIR='$T/run' '${stop[0]}' down; t_kill_pidfile '$T/run/drv.pid'; t_kill_pidfile '$T/sup.pid'"

deadline=$((SECONDS + 180))
until grep -q 'READY=1' "$T/notified" 2>/dev/null; do
	kill -0 "$sup_pid" 2>/dev/null || { cat "$T/journal"; t_fail "the supervisor exited before READY=1"; }
	((SECONDS < deadline)) || { tail -n 20 "$T/journal"; t_fail "no READY=1 within 180 s"; }
	sleep 0.1
done
t_log "READY=1 after $(($(now_ms) - t0)) ms: $(grep 'READY=1' "$T/notified")"
grep -q 'drv: ready' "$T/journal" || grep -q 'all 1 of 1 VMs ready' "$T/journal" ||
	{ cat "$T/journal"; t_fail "READY=1 came, but the log does not say the driver VM is ready"; }
grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:.]+ ddvm: up: 1 VMs, 2 channels' "$T/journal" ||
	{ cat "$T/journal"; t_fail "the log lines are not in the supervisor's format"; }
[ -S "$T/run/channels/nic0.app.client.sock" ] || t_fail "no client socket for nic0.app in the run dir"

t1=$(now_ms)
env "${env_args[@]}" "${stop[@]}" >"$T/stop.log" 2>&1 || { cat "$T/stop.log"; t_fail "ExecStop (ddvm down) failed"; }
rc=0
wait "$sup_pid" || rc=$?
[ "$rc" = 0 ] || { tail -n 20 "$T/journal"; t_fail "the supervisor exited $rc after ExecStop"; }
t_log "ExecStop: the supervisor exited 0 after $(($(now_ms) - t1)) ms"
grep -q 'STOPPING=1' "$T/notified" || t_fail "no STOPPING=1 on stop"
left=$(find "$T/run" -mindepth 1 -not -name '*.log' -not -name '*.channels' -not -name channels | head -n 5)
[ -z "$left" ] || t_fail "left in the run dir after ddvm down: $left"

# 4. make uninstall: every installed file and the directories it leaves empty go, the
# setup the service read ($P/etc/ddvm/ddvm.ini: the user's) stays; a second run is fine.
make --no-print-directory uninstall PREFIX="$P" >"$T/uninstall.log" 2>&1 ||
	{ cat "$T/uninstall.log"; t_fail "make uninstall PREFIX=... failed"; }
left=$(cd "$P" && find . -mindepth 1 | sort | tr '\n' ' ')
[ "$left" = "./etc ./etc/ddvm ./etc/ddvm/ddvm.ini " ] ||
	t_fail "after make uninstall, $P holds more than the setup: $left"
grep -q "kept what is yours: the setup $P/etc/ddvm" "$T/uninstall.log" ||
	{ cat "$T/uninstall.log"; t_fail "make uninstall did not say what it kept"; }
make --no-print-directory uninstall PREFIX="$P" >"$T/uninstall.log" 2>&1 ||
	{ cat "$T/uninstall.log"; t_fail "a second make uninstall failed"; }
echo "SUCCESS: make install (DESTDIR and PREFIX), systemd-analyze verify clean, installed 'ddvm accel' = $acc; READY=1, journal format, ExecStop -> exit 0; make uninstall keeps only the setup"
