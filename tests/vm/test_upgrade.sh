#!/bin/bash
# timeout: 600
# ddvm upgrade through `ddvm up` with examples/spare.ini (an e1000 on user networking and
# a raw virtio-blk disk in the driver VM, a warm spare, one client VM using both) while
# the client pings through the e1000 and writes + reads back 1 MiB O_DIRECT blocks:
#  1. an upgrade to an image that cannot boot (a "kernel" that is not one) fails: the
#     CLI says so (exit 1), the driver VM never stopped (same pid), a spare of the old
#     image is ready again, the client's data and pings go on; the same with an
#     initramfs that is not one (the kernel panics: that is the reason given);
#  2. `ddvm upgrade drv --initrd NEW --append ...` replaces the driver VM by one booted
#     from a new initramfs (the old one plus /etc/ddvm-image-id = v2, which the driver
#     VM's run script prints): the CLI returns 0, the new QEMU runs the new initrd and
#     command line, its console said "IMAGE-ID v2", service was restored (the gap is
#     printed), status --json says done;
#  3. a kill -9 after it: the next spare (restored from the NEW image's snapshot) takes
#     over and also runs the new initrd.
# At the end: no client I/O error, no mismatch, every block reads back as last written,
# the client never restarted. UPGRADES=N (default 1) repeats step 2 N times, between
# two new images (v2, v3), and prints the gaps (p50/p90/max) for docs/dependability.md.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
source "$(dirname "$0")/spare_lib.sh"
command -v jq >/dev/null || t_skip "needs jq (scripts/deps.sh installs it)"
command -v cpio >/dev/null || t_skip "needs cpio"

cat >"$T/drv-run.sh" <<'EOF2'
echo "IMAGE-ID $(cat /etc/ddvm-image-id 2>/dev/null || echo stock)"
EOF2

# the new image: the driver initramfs and one more archive after it (the kernel unpacks
# them in order), which adds /etc/ddvm-image-id
UPGRADES=${UPGRADES:-1}
for v in v2 v3; do
	mkdir -p "$T/extra-$v/etc"
	echo $v >"$T/extra-$v/etc/ddvm-image-id"
	(cd "$T/extra-$v" && find . | cpio -o -H newc --quiet | gzip) >"$T/extra-$v.cpio.gz"
	cat "$DDVM_DRIVER_INITRD" "$T/extra-$v.cpio.gz" >"$T/driver-$v.cpio.gz"
done

spare_config "$T/spare.ini" yes "run = $T/drv-run.sh"
sup_up "$T/spare.ini"
sup_wait_log 'drv: snapshot taken in' 120
sup_wait_console app 'CLIENT-UP' 180
sup_wait_log 'drv: spare: ready \(paused' 120
grep -aq 'IMAGE-ID stock' "$DDVM_RUNDIR/drv.log" || t_fail "the first driver VM did not run its run script"

# The disk's QEMUs run with QEMU's image locking off (the paused spare holds the image
# too): the supervisor holds the lock. A second setup of the same file (its own run
# dir) is refused before it starts anything, and a plain QEMU cannot write the image.
mkdir -m 700 "$T/run2"
rc=0
"$DDVM" --rundir "$T/run2" up -d "$T/spare.ini" >"$T/second.out" 2>&1 || rc=$?
if ((rc != 1)) || ! grep -q "image $T/disk0.img is in use: another process has it open for writing" "$T/second.out"; then
	t_fail "a second setup on the same image: rc $rc: $(cat "$T/second.out")"
fi
[ ! -e "$T/run2/ddvm.pid" ] || t_fail "the refused second setup left a supervisor: $(cat "$T/run2/ddvm.pid")"
if command -v qemu-io >/dev/null; then
	if qemu-io -f raw -c 'write 0 512' "$T/disk0.img" >"$T/qemu-io.out" 2>&1 ||
		! grep -q 'Failed to get "write" lock' "$T/qemu-io.out"; then
		t_fail "a QEMU could write the image beside the setup: $(cat "$T/qemu-io.out")"
	fi
fi
t_log "the image is locked: a second setup and a plain QEMU are refused"

upgrade_state() { "$DDVM" status --json | jq -r '.vms[] | select(.name == "drv") | .upgrade.state'; }
wait_client "before the upgrades"

# 1. an image that cannot boot: refused by QEMU, the old one goes on (the supervisor log
# is kept in the test log: docs/supervisor.md quotes it)
pid=$(sup_vm_field drv pid)
t_log "upgrade to a kernel that is not one"
if "$DDVM" upgrade drv --kernel "$T/driver-v2.cpio.gz" >"$T/up1.out" 2>&1; then
	cat "$T/up1.out"
	t_fail "an upgrade to a broken kernel succeeded"
fi
cat "$T/up1.out"
grep -q 'upgrade of drv failed' "$T/up1.out" || t_fail "the CLI did not say the upgrade failed"
sup_wait_log 'drv: upgrade FAILED' 10
[ "$(upgrade_state)" = failed ] || t_fail "status --json: the upgrade is not 'failed'"
[ "$(sup_vm_field drv pid)" = "$pid" ] || t_fail "a failed upgrade stopped the driver VM"
sup_wait_log 'drv: spare: ready \(paused' 120 2
wait_client "after the failed upgrade"
# 1b. an initramfs that is not one: QEMU boots the kernel, which panics; the reason is
# that panic, not the earlier upgrade's QEMU words (a new-user trial got those)
head -c 65536 /dev/urandom >"$T/garbage.cpio.gz"
t_log "upgrade to an initramfs that is not one"
if "$DDVM" upgrade drv --initrd "$T/garbage.cpio.gz" >"$T/up1b.out" 2>&1; then
	cat "$T/up1b.out"
	t_fail "an upgrade to a garbage initramfs succeeded"
fi
cat "$T/up1b.out"
grep -q 'the new image did not boot: .*Kernel panic' "$T/up1b.out" ||
	t_fail "the failed upgrade's reason is not the new kernel's panic: $(cat "$T/up1b.out")"
[ "$(sup_vm_field drv pid)" = "$pid" ] || t_fail "a failed upgrade stopped the driver VM"
sup_wait_log 'drv: spare: ready \(paused' 120 3
wait_client "after the second failed upgrade"

# 2. the new initramfs and command line (v2, v3, v2, ... for UPGRADES > 1)
for u in $(seq "$UPGRADES"); do
	[ $((u % 2)) = 1 ] && v=v2 || v=v3
	n=$(count 'service restored' ddvm.log)
	# the run script runs after the ready line, where the snapshot is taken: in the
	# spare restored from the new image's snapshot, on its console (drv.spare.log) if
	# it got that far before the spare was paused, else once it serves (drv.log)
	ids() { echo $(($(count "IMAGE-ID $1" drv.spare.log) + $(count "IMAGE-ID $1" drv.log))); }
	images=$(ids "$v")
	pid=$(sup_vm_field drv pid)
	# The host's page cache kept dirty in the disk image during the upgrade (64 MiB
	# rewritten in a loop past the client's 32 slots, where nothing reads), as a busy
	# driver VM keeps it: a stop that flushes the image pays for it.
	(while :; do dd if=/dev/zero of="$T/disk0.img" bs=1M count=64 seek=128 conv=notrunc status=none; done) &
	echo $! >"$T/dirty.pid"
	t_on_exit "t_kill_pidfile '$T/dirty.pid'"
	t0=$SECONDS
	"$DDVM" upgrade drv --initrd "$T/driver-$v.cpio.gz" --append "ddvm.test=$v" >"$T/up2.out" 2>&1 ||
		{ cat "$T/up2.out"; t_fail "ddvm upgrade $u failed"; }
	t_kill_pidfile "$T/dirty.pid"
	cat "$T/up2.out"
	grep -Eq "^ddvm: drv upgraded: the new image serves, [0-9.]+ s after the request; the clients' service gap was [0-9]+ ms$" "$T/up2.out" ||
		t_fail "ddvm upgrade $u: not the documented summary: $(cat "$T/up2.out")"
	t_log "ddvm upgrade $u (to $v) returned after $((SECONDS - t0)) s"
	sup_wait_log 'drv: upgrade: the new image serves' 10 "$u"
	sup_wait_log 'drv: service restored [0-9]+ ms after' 60 $((n + 1))
	[ "$(upgrade_state)" = "done" ] || t_fail "status --json: the upgrade is not 'done'"
	new=$(sup_vm_field drv pid)
	[ "$new" != "$pid" ] || t_fail "the driver VM still has its old QEMU (pid $pid)"
	tr '\0' ' ' </proc/"$new"/cmdline | grep -q -- "-initrd $T/driver-$v.cpio.gz" ||
		t_fail "the new driver VM's QEMU does not boot the new initrd"
	tr '\0' ' ' </proc/"$new"/cmdline | grep -q "ddvm.test=$v" ||
		t_fail "the new driver VM's QEMU does not have the new command line"
	deadline=$((SECONDS + 30))
	until (($(ids "$v") > images)); do
		((SECONDS < deadline)) || t_fail "the new image's run script did not print $v within 30 s of the upgrade"
		sleep 0.1
	done
	wait_client "after upgrade $u"
	t_log "$(grep -o 'upgrade: the new image is on standby.*' "$DDVM_RUNDIR/ddvm.log" | tail -n 1);" \
		"$(grep -o 'the old image is stopped ([^)]*) [0-9]* ms' "$DDVM_RUNDIR/ddvm.log" | tail -n 1);" \
		"$(grep -o 'failover to spare in [0-9]* ms' "$DDVM_RUNDIR/ddvm.log" | tail -n 1) (from the handover's start);" \
		"$(grep -o 'channel [a-z0-9.]* back [0-9]* ms.*side after [0-9]* ms' "$DDVM_RUNDIR/ddvm.log" | sed 's/ after the handover began (the driver VM.s side after / (driver VM /' | tail -n 2 | tr '\n' ' ')" \
		"$(grep -o 'service restored [0-9]* ms' "$DDVM_RUNDIR/ddvm.log" | tail -n 1)"
	sup_wait_log 'drv: spare: ready \(paused' 180 $((2 * u + 2))
done

# 3. the next spare restores the new image's snapshot
initrd_of() { tr '\0' '\n' </proc/"$1"/cmdline | sed -n '/^-initrd$/{n;p}'; }
n=$(count 'service restored' ddvm.log)
"$DDVM" inject drv kill >/dev/null || t_fail "ddvm inject drv kill failed"
sup_wait_log 'drv: failover to spare in' 30 $((UPGRADES + 1))
sup_wait_log 'drv: service restored [0-9]+ ms after' 60 $((n + 1))
new2=$(sup_vm_field drv pid)
[ "$new2" != "$new" ] || t_fail "the kill after the upgrade did not fail over"
# the file its QEMU was given: a path, or the supervisor's open file (/proc/PID/fd/N)
[ "$(readlink -f "$(initrd_of "$new2")")" = "$(readlink -f "$T/driver-$v.cpio.gz")" ] ||
	t_fail "the spare after the upgrade does not run the new initrd"
wait_client "after the kill following the upgrade"

spare_check_client
t_log "the client: $(grep -a 'DATA-PASS' "$DDVM_RUNDIR/app.log" | tail -n 1); $(grep -a PINGSTAT "$DDVM_RUNDIR/app.log" | tail -n 1)"
t_log "upgrade -> service restored (the gap: QMP stop of the old image -> both channels back), ms:" \
	"$(grep -o 'service restored [0-9]* ms after the handover' "$DDVM_RUNDIR/ddvm.log" | awk '{ print $3 }' |
		stats)"
echo SUCCESS
