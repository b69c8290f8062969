#!/bin/bash
# timeout: 300
# README's "Using it by hand", literally: `build/bin/ddvm up examples/quickstart.ini`
# in the foreground (no namespace, no bridge, no image prepared: user-mode networking,
# the disk image created from `size =`), then `ddvm status`, `ddvm console app` (ping
# QEMU's gateway through the driver VM's e1000; mkfs.ext4 + mount on the driver VM's
# disk), `ddvm down`; the foreground `ddvm up` then exits 0.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
command -v jq >/dev/null || t_skip "needs jq (scripts/deps.sh installs it)"
t_need_file "$DDVM_KERNEL"
t_need_file "$DDVM_DRIVER_INITRD"
t_need_file "$DDVM_CLIENT_INITRD"
cd "$DDVM_ROOT"

img=build/quickstart-disk0.img
[ -e "$img" ] || t_on_exit "rm -f '$DDVM_ROOT/$img'" # ours to remove only if we made it
t_on_exit _sup_cleanup
t0=$(now_ms)
build/bin/ddvm up examples/quickstart.ini >"$T/up.out" 2>&1 &
up_pid=$!
t_on_exit "kill $up_pid 2>/dev/null"
deadline=$((SECONDS + 200))
until grep -q 'all 2 of 2 VMs ready' "$T/up.out"; do
	kill -0 $up_pid 2>/dev/null || { cat "$T/up.out"; t_fail "ddvm up exited"; }
	((SECONDS < deadline)) || { cat "$T/up.out"; t_fail "not ready within 200 s"; }
	sleep 0.1
done
t_log "ddvm up (foreground): both VMs ready after $(($(now_ms) - t0)) ms"
[ -f "$img" ] || t_fail "$img was not created from size ="
[ "$(stat -c %s "$img")" = $((256 << 20)) ] || t_fail "$img is not 256 MiB"
build/bin/ddvm status

# The client's console, as a user would type into it.
# shellcheck disable=SC2016 # expanded by the guest's shell
{
	printf '\nip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0\n'
	printf 'i=0; while [ "$(cat /sys/class/net/eth0/carrier)" != 1 ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done\n'
	printf 'ping -c 3 -W 10 10.0.2.2 >/tmp/p.txt; echo "QS-PING $(grep -o "[0-9]* received" /tmp/p.txt)"\n'
	printf 'mkfs.ext4 -q /dev/ddvmblk0 && mount /dev/ddvmblk0 /mnt && echo hello >/mnt/f && sync && echo "QS-DISK $(cat /mnt/f) $(df -k /mnt | tail -n1 | tr -s " " | cut -d" " -f2)"; umount /mnt\n'
	printf 'echo QS-END\n'
	for _ in $(seq 1200); do
		grep -aq '^QS-END' "$DDVM_RUNDIR/app.log" && break
		sleep 0.1
	done
} | timeout 150 build/bin/ddvm console app >"$T/console.out" 2>&1 || true
tr -d '\r' <"$T/console.out" | grep -a '^QS-' || true
grep -aq '^QS-PING 3 received' "$DDVM_RUNDIR/app.log" || t_fail "ping through the driver VM's e1000 (user networking) failed"
grep -aq '^QS-DISK hello [0-9]' "$DDVM_RUNDIR/app.log" || t_fail "mkfs/mount on the driver VM's disk failed"
[ "$(sup_chan_field disk0.app backend_state)" = ready ] || t_fail "disk0.app not ready"

build/bin/ddvm down || t_fail "ddvm down failed"
rc=0
wait $up_pid || rc=$?
[ "$rc" = 0 ] || { cat "$T/up.out"; t_fail "the foreground ddvm up exited $rc"; }
t_log "PASS: README's by-hand session, $(($(now_ms) - t0)) ms"
