#!/bin/bash
# timeout: 300
# README's "Using it by hand", literally: `build/bin/ddvm up examples/quickstart.ini`
# in the foreground (no namespace, no bridge, no image prepared: user-mode networking,
# the disk image created from `size =`), then `ddvm status`, `ddvm console app` (ping
# QEMU's gateway through the driver VM's e1000; mkfs.ext4 + mount on the driver VM's
# disk), `ddvm down`; the foreground `ddvm up` then exits 0.
# Before `ddvm down`, the data paths' counters after that traffic (docs/blk.md and
# docs/net.md, "Counters"): the driver VM's sysfs (ddvm_stats/ of each channel's PCI
# device, read on its console) shows zero-copy bytes on the virtio-blk disk, frames and
# bytes both ways on the e1000, interrupts and doorbells; `ddvm status --json` shows the
# same numbers under the same names, each between what it said just before the sysfs
# read and what it said at its first update after it; the client's ddvm_stats/ too.
# `ddvm inject drv oops` fails (exit 1, the reason) where ddvm_faultinj is not loaded,
# and `ddvm inject app oops` because app is a client VM; a device given to kill, or one
# drv does not have, is refused.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
command -v jq >/dev/null || t_skip "needs jq (scripts/deps.sh installs it)"
t_need_file "$DDVM_KERNEL"
t_need_file "$DDVM_DRIVER_INITRD"
t_need_file "$DDVM_CLIENT_INITRD"
cd "$DDVM_ROOT"

img=build/quickstart-disk0.img
# The test formats the quickstart's disk: never one a user left (ddvm up of the
# quickstart by hand keeps it); with an old file system on it mkfs would also stop to
# ask, and the test would wait for nothing.
[ ! -e "$img" ] || t_fail "$img exists (left by 'ddvm up examples/quickstart.ini'): this test formats the quickstart's disk, so it runs only without one; remove it and run the test again"
t_on_exit "rm -f '$DDVM_ROOT/$img'"
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
	printf 'for f in /sys/bus/pci/drivers/ddvm_*front/0000:*/ddvm_stats/*; do d=${f%%/ddvm_stats/*}; echo "QS-CSTAT $(basename $(readlink $d/driver)) ${f##*/} $(cat $f)"; done\n'
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

# A command piped into `ddvm console`, as the help shows it: its output comes back on
# stdout although the input ended at once (the console lingers until quiet for 1 s).
# shellcheck disable=SC2016 # expanded by the guest's shell
echo 'echo QS-PIPE-$((6*7))' | timeout 30 build/bin/ddvm console app >"$T/pipe.out" 2>&1 ||
	t_fail "ddvm console with piped input failed: $(cat "$T/pipe.out")"
tr -d '\r' <"$T/pipe.out" | grep -q '^QS-PIPE-42' ||
	t_fail "ddvm console with piped input printed no output: $(cat "$T/pipe.out")"

# The client drivers' counters: both channels took interrupts and rang doorbells.
tr -d '\r' <"$DDVM_RUNDIR/app.log" | grep -a '^QS-CSTAT ' >"$T/cstat" || true
for drv in ddvm_blkfront ddvm_netfront; do
	for name in interrupts doorbells_out polls sessions; do
		v=$(awk -v d=$drv -v n=$name '$2 == d && $3 == n {print $4}' "$T/cstat")
		if ! [[ $v =~ ^[0-9]+$ ]] || ((v == 0)); then
			cat "$T/cstat"
			t_fail "client $drv: ddvm_stats/$name is '$v', not > 0"
		fi
	done
done

# The driver VM's counters: sysfs on its console, between two looks of the supervisor.
counters() { # CHANNEL: its "counters" object in status --json, one line
	build/bin/ddvm status --json | jq -c --arg ch "$1" 'first(.channels[] | select(.name == $ch)) | .counters'
}
blk_before=$(counters disk0.app)
net_before=$(counters nic0.app)
if [ "$blk_before" = null ] || [ "$net_before" = null ]; then
	t_fail "status --json has no counters: $blk_before $net_before"
fi
{
	# shellcheck disable=SC2016 # expanded by the guest's shell
	printf '%s\n' '' 'for k in blk net; do for f in /sys/bus/pci/drivers/ddvm_${k}back/0000:*/ddvm_stats/*; do echo "QS-STAT $k ${f##*/} $(cat $f)"; done; done; echo QS-STAT-END'
	for _ in $(seq 600); do
		grep -aq '^QS-STAT-END' "$DDVM_RUNDIR/drv.log" && break
		sleep 0.1
	done
} | timeout 90 build/bin/ddvm console drv >/dev/null 2>&1 || true
tr -d '\r' <"$DDVM_RUNDIR/drv.log" | grep -a '^QS-STAT ' >"$T/stat" || t_fail "no ddvm_stats from the driver VM's console"
# the supervisor's first look at a block the driver VM wrote after the sysfs read
u=$(counters disk0.app | jq .updates)
v=$(counters nic0.app | jq .updates)
for _ in $(seq 100); do
	blk_after=$(counters disk0.app)
	net_after=$(counters nic0.app)
	(($(jq .updates <<<"$blk_after") > u && $(jq .updates <<<"$net_after") > v)) && break
	sleep 0.1
done
(($(jq .updates <<<"$blk_after") > u && $(jq .updates <<<"$net_after") > v)) || t_fail "counters not updated within 10 s"
t_log "status --json counters of disk0.app: $blk_after"
t_log "status --json counters of nic0.app: $net_after"
build/bin/ddvm status | grep -A1 -E '^(disk0|nic0)\.app'
n=0
while read -r _ kind name val; do
	if [ "$kind" = blk ]; then b=$blk_before a=$blk_after; else b=$net_before a=$net_after; fi
	jb=$(jq -r --arg f "$name" '.[$f] // "missing"' <<<"$b")
	ja=$(jq -r --arg f "$name" '.[$f] // "missing"' <<<"$a")
	if [ "$name" = path ]; then
		[ "$val" = "$ja" ] || t_fail "$kind path: sysfs '$val', status --json '$ja'"
		continue
	fi
	[[ $val =~ ^[0-9]+$ && $jb =~ ^[0-9]+$ && $ja =~ ^[0-9]+$ ]] || t_fail "$kind $name: sysfs '$val', status --json '$jb' then '$ja'"
	((jb <= val && val <= ja)) || t_fail "$kind $name: sysfs $val is not between status --json's $jb and $ja"
	n=$((n + 1))
done <"$T/stat"
((n >= 30)) || { cat "$T/stat"; t_fail "only $n counters in the driver VM's sysfs"; }
want() { # KIND NAME: sysfs value > 0
	local val
	val=$(awk -v k="$1" -v n="$2" '$2 == k && $3 == n {print $4}' "$T/stat")
	if ! [[ $val =~ ^[0-9]+$ ]] || ((val == 0)); then
		t_fail "driver VM $1 ddvm_stats/$2 is '$val', not > 0"
	fi
}
[ "$(awk '$2 == "blk" && $3 == "path" {print $4}' "$T/stat")" = zero-copy ] || t_fail "virtio-blk is not on the zero-copy path"
for name in zero_copy_bytes zero_copy_requests requests write_bytes interrupts polls doorbells_out sessions; do
	want blk $name
done
for name in tx_frames tx_bytes rx_frames rx_bytes interrupts polls doorbells_out sessions; do
	want net $name
done
t_log "counters: $n numbers of the driver VM's sysfs agree with status --json"

# A fault into the driver of a driver VM that has not loaded ddvm_faultinj (the
# quickstart's does not): refused with the reason, nothing injected, nothing failed.
rc=0
build/bin/ddvm inject drv oops >"$T/inject.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || { cat "$T/inject.out"; t_fail "ddvm inject drv oops without ddvm_faultinj exited $rc, not 1"; }
grep -q 'has not loaded ddvm_faultinj, so nothing was injected' "$T/inject.out" ||
	t_fail "ddvm inject without ddvm_faultinj: no reason: $(cat "$T/inject.out")"
t_log "inject without ddvm_faultinj: $(cat "$T/inject.out")"
rc=0
build/bin/ddvm inject app oops >"$T/inject.out" 2>&1 || rc=$?
if [ "$rc" != 1 ] || ! grep -q 'app is a client-vm' "$T/inject.out"; then
	t_fail "ddvm inject app oops (a client VM): exit $rc, $(cat "$T/inject.out")"
fi
# a device given to kill (which kills the whole QEMU) is refused, not ignored; a device
# the VM does not have is named
rc=0
build/bin/ddvm inject drv kill nosuchdev >"$T/inject.out" 2>&1 || rc=$?
if [ "$rc" != 1 ] || ! grep -q 'kill takes no device or argument' "$T/inject.out"; then
	t_fail "ddvm inject drv kill nosuchdev: exit $rc, $(cat "$T/inject.out")"
fi
rc=0
build/bin/ddvm inject drv oops nosuchdev >"$T/inject.out" 2>&1 || rc=$?
if [ "$rc" != 1 ] || ! grep -q "drv has no device 'nosuchdev'" "$T/inject.out"; then
	t_fail "ddvm inject drv oops nosuchdev: exit $rc, $(cat "$T/inject.out")"
fi
! grep -aq 'drv: FAILED' "$DDVM_RUNDIR/ddvm.log" || t_fail "the driver VM failed after a refused injection"
[ "$(sup_vm_field drv state)" = running ] || t_fail "drv is $(sup_vm_field drv state) after a refused injection"

build/bin/ddvm down || t_fail "ddvm down failed"
rc=0
wait $up_pid || rc=$?
[ "$rc" = 0 ] || { cat "$T/up.out"; t_fail "the foreground ddvm up exited $rc"; }
t_log "PASS: README's by-hand session, $(($(now_ms) - t0)) ms"
