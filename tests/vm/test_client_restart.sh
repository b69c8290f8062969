#!/bin/bash
# timeout: 480
# A client that dies, reboots or reloads its driver starts a fresh session of its
# channel; the driver VM is not its business (issue 15). Through `ddvm up`: driver VM
# "drv" with an nvme disk, client VM "cli" (restart_max = 2, so the supervisor boots it
# again when it dies). The client writes 1 MiB blocks of random data round-robin over 32
# slots of the disk, each with O_DIRECT and an fsync, and prints each block's sha256
# once the fsync returned ("DURABLE round slot sha"). The test kills the client VM's
# QEMU (kill -9) in the middle of that; the supervisor boots the client again, which
# finds the marker the first boot left in block 0 and
#   1. reads every slot back: each must hold what was last made durable in it (a slot
#      whose write was in flight at the kill may hold anything and is not checked);
#   2. writes new blocks and reads them back;
#   3. reloads its driver (rmmod ddvm_blkfront; modprobe ddvm_blkfront) while the
#      driver VM stays up, reads every slot again (same checksums), writes, reads back.
# Passes when all of that matches, the client never saw an I/O error (no "I/O error",
# "channel broken" or violation line on its console or in dmesg), the driver VM was
# never restarted (restarts 0, no "drv: FAILED" in the supervisor log) and the client
# VM was restarted exactly once. Every check is made; the verdict names each failure and
# in which phase (before the kill, after the restart, after the reload) it happened.
# About 1.5-2.5 min under TCG on 2 cores.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
source "$(dirname "$0")/../lib/recover.sh"
t_need_root

NSLOTS=32   # slots 1..32 (MiB offsets); block 0 holds the marker
MIN_ROUNDS=40 # durable rounds before the kill: every slot written, some twice
NEW=40      # new data after the restart: slots 40..43, after the reload 44..47

qemu-img create -q -f raw "$T/disk0.img" 64M
rec_driver_script "$T/driver-run.sh"
cat >"$T/client-run.sh" <<EOF
set -o pipefail
NSLOTS=$NSLOTS
NEW=$NEW
EOF
cat >>"$T/client-run.sh" <<'EOF'
modprobe ddvm_blkfront
d=/dev/ddvmblk0
waitdisk() {
	local i=0
	while [ ! -b $d ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
	[ -b $d ] || { echo "CLI-FAIL no $d"; exit 1; }
}
ioerr() { echo "CLI-IOERR $1: $(tr '\n' ' ' </tmp/err)" >&2; } # the console, also inside $(...)
rd() { # SLOT -> sha256 of the slot, read with O_DIRECT
	dd if=$d bs=1M skip=$1 count=1 iflag=direct 2>/tmp/err | sha256sum | cut -c1-64 ||
		ioerr "read slot $1"
}
wr() { # SLOT FILE -> O_DIRECT write + fsync
	dd if=$2 of=$d bs=1M seek=$1 count=1 oflag=direct conv=fsync,notrunc 2>/tmp/err ||
		{ ioerr "write slot $1"; return 1; }
}
newdata() { # TAG FIRST-SLOT: write 4 new blocks, read them back
	local k s sha
	for k in 0 1 2 3; do
		s=$(($2 + k))
		head -c 1048576 /dev/urandom >/tmp/n$k
		wr $s /tmp/n$k
	done
	for k in 0 1 2 3; do
		s=$(($2 + k))
		sha=$(sha256sum </tmp/n$k | cut -c1-64)
		if [ "$(rd $s)" = "$sha" ]; then echo "$1 $s ok"; else echo "$1 $s MISMATCH"; fi
	done
}
MARK=DDVM-CLIENT-RESTART-TEST
waitdisk
m=$(dd if=$d bs=4096 count=1 iflag=direct 2>/tmp/err | head -c ${#MARK}) || ioerr "read marker"
if [ "$m" != "$MARK" ]; then
	# first boot: mark the disk, then write until killed
	printf '%s' "$MARK" >/tmp/mark
	dd if=/tmp/mark of=$d bs=4096 count=1 conv=sync,fsync oflag=direct 2>/tmp/err ||
		ioerr "write marker"
	echo WRITER-START
	r=0
	while :; do
		r=$((r + 1))
		s=$(((r - 1) % NSLOTS + 1))
		head -c 1048576 /dev/urandom >/tmp/b
		sha=$(sha256sum </tmp/b | cut -c1-64)
		echo "WRITING $r $s $sha"
		wr $s /tmp/b && echo "DURABLE $r $s $sha"
	done
fi
echo VERIFIER-START
declare -A first
for s in $(seq $NSLOTS); do
	first[$s]=$(rd $s)
	echo "READBACK $s ${first[$s]}"
done
echo READBACK-DONE
newdata NEWDATA $NEW
echo "RELOAD-START"
if rmmod ddvm_blkfront 2>/tmp/err; then echo RELOAD-RMMOD-OK; else ioerr rmmod; fi
modprobe ddvm_blkfront || echo "CLI-FAIL modprobe"
waitdisk
for s in $(seq $NSLOTS); do
	if [ "$(rd $s)" = "${first[$s]}" ]; then echo "RELOAD-READBACK $s ok"; else echo "RELOAD-READBACK $s MISMATCH"; fi
done
newdata RELOAD-NEWDATA $((NEW + 4))
dmesg | grep -iE 'ddvm|I/O error' | grep -vE 'taints kernel|verification failed' | tail -n 12 | sed 's/^/CLI-DMESG /'
echo VERIFY-DONE
EOF

# boot_timeout_ms: TCG VMs on a loaded 2-core host can take more than the default 60 s
sup_config restart <<CONF
[driver-vm drv]
memory = 256M
run = $T/driver-run.sh
ready = DDVM-SERVICES-UP
boot_timeout_ms = 180000

[device disk0]
vm = drv
kind = blk
model = nvme
image = $T/disk0.img
format = raw

[client-vm cli]
memory = 256M
run = $T/client-run.sh
restart_max = 2
boot_timeout_ms = 180000
devices = disk0
CONF
rec_up restart
LOG=$DDVM_RUNDIR/cli.log
sup_wait_console cli 'WRITER-START' 180
# the console log has CRLF line ends: clog is it without the CRs
clog() { tr -d '\r' <"$LOG"; }
durable() { clog | grep -acE '^DURABLE [0-9]+ [0-9]+ [0-9a-f]{64}$' || true; }
deadline=$((SECONDS + 180))
until (($(durable) >= MIN_ROUNDS)); do
	((SECONDS < deadline)) || { tail -n 20 "$LOG"; t_fail "the client made fewer than $MIN_ROUNDS rounds durable in 180 s"; }
	grep -aq 'CLI-IOERR' "$LOG" && { grep -a 'CLI-IOERR' "$LOG"; t_fail "I/O error before the kill"; }
	sleep 0.2
done
# kill it while a block is being written: its WRITING line is the console's last line
deadline=$((SECONDS + 30))
until tail -n 1 "$LOG" | grep -aq '^WRITING '; do
	((SECONDS < deadline)) || t_fail "never caught the client writing"
	sleep 0.01
done
pid=$(cat "$DDVM_RUNDIR/cli.pid")
t_log "kill -9 client VM QEMU (pid $pid) after $(durable) durable rounds; last lines:"
kill -KILL "$pid"
tail -n 2 "$LOG"
sup_wait_log 'cli: FAILED: QEMU was killed by signal 9' 30
sup_wait_log 'cli: started' 30 2
t_log "client VM restarted by the supervisor"
sup_wait_console cli 'VERIFIER-START|WRITER-START' 180 2
# wait for the end; note how often the driver VM had failed when the reload began
drv_fails() { grep -c 'drv: FAILED' "$DDVM_RUNDIR/ddvm.log" || true; }
deadline=$((SECONDS + 300)) fails_at_reload=
until grep -aq 'VERIFY-DONE' "$LOG"; do
	[ -n "$fails_at_reload" ] || ! grep -aq 'RELOAD-START' "$LOG" || fails_at_reload=$(drv_fails)
	((SECONDS < deadline)) || { tail -n 30 "$LOG"; t_fail "the restarted client did not finish within 300 s"; }
	sleep 0.1
done
fails_at_reload=${fails_at_reload:-$(drv_fails)}
"$DDVM" status
grep -E 'drv: |cli: |disk0' "$DDVM_RUNDIR/ddvm.log" | tail -n 12
clog >"$T/cli.txt"
LOG=$T/cli.txt
grep -a -E '^(CLI-|NEWDATA|RELOAD-[A-Z]+ |RELOAD-NEWDATA|VERIFY-DONE)' "$LOG" | grep -v 'RELOAD-READBACK [0-9]* ok' | head -n 60

# What the first boot made durable: the last DURABLE line per slot, unless a later
# WRITING line for that slot says a write was in flight at the kill.
boundary=$(grep -an 'VERIFIER-START' "$LOG" | head -n1 | cut -d: -f1)
[ -n "$boundary" ] || t_fail "the restarted client did not find the first boot's marker (block 0)"
head -n $((boundary - 1)) "$LOG" | grep -aE '^(WRITING|DURABLE) [0-9]+ [0-9]+ [0-9a-f]{64}$' |
	awk '$1 == "WRITING" { w[$3] = $2 } $1 == "DURABLE" { d[$3] = $2; sha[$3] = $4 }
	     END { for (s in w) print s, (s in d && d[s] == w[s]) ? sha[s] : "inflight" }' |
	sort -n >"$T/expected"
tail -n +"$boundary" "$LOG" | grep -aE '^READBACK [0-9]+ [0-9a-f]{64}$' | awk '{ print $2, $3 }' |
	sort -n >"$T/got"
checked=0 inflight=0 bad=0
while read -r s sha; do
	if [ "$sha" = inflight ]; then
		inflight=$((inflight + 1))
		continue
	fi
	got=$(awk -v s="$s" '$1 == s { print $2 }' "$T/got")
	if [ "$got" = "$sha" ]; then checked=$((checked + 1)); else
		bad=$((bad + 1))
		echo "slot $s: durable sha $sha, read back ${got:-nothing}"
	fi
done <"$T/expected"
t_log "after the restart: $checked slots read back as made durable, $inflight in flight at the kill (not checked), $bad wrong"

# Every check, then one verdict that names all that failed.
fails=()
fail() { fails+=("$*"); echo "check failed: $*"; }
reload=$(grep -an 'RELOAD-START' "$LOG" | head -n1 | cut -d: -f1)
reload=${reload:-$(wc -l <"$LOG")}
ERR='CLI-IOERR|CLI-FAIL|I/O error|channel broken|violat'
phase() { # NAME FIRST-LINE LAST-LINE: I/O errors the client saw in that part of its console
	local n
	n=$(sed -n "$2,$3p" "$LOG" | grep -acE "$ERR" || true)
	((n == 0)) && return 0
	sed -n "$2,$3p" "$LOG" | grep -aE "$ERR" | head -n 6
	fail "the client saw I/O errors $1 ($n lines: $(sed -n "$2,$3p" "$LOG" | grep -aE "$ERR" | head -n1 | sed 's/^\[ *[0-9.]*\] //'))"
}
boot2=$(grep -an 'DDVM-READY role=client-vm' "$LOG" | sed -n 2p | cut -d: -f1)
boot2=${boot2:-$boundary}
phase "while writing, before the kill" 1 $((boot2 - 1))
phase "after its restart" "$boot2" $((reload - 1))
phase "after the module reload" "$reload" '$'
all=$(drv_fails)
drvfail=$(grep -E 'drv: FAILED' "$DDVM_RUNDIR/ddvm.log" | head -n1 || true) # none is the good case
((fails_at_reload == 0)) ||
	fail "the driver VM failed $fails_at_reload times after the client VM restart (first: ${drvfail#*FAILED: })"
((all == fails_at_reload)) || fail "the driver VM failed $((all - fails_at_reload)) times after the module reload"
[ "$(sup_vm_field drv 5)" = 0 ] || fail "the driver VM was restarted $(sup_vm_field drv 5) times"
[ "$(sup_vm_field cli 5)" = 1 ] || fail "the client VM was restarted $(sup_vm_field cli 5) times, not once"
((bad == 0)) || fail "the restarted client read back $bad slots that differ from what was made durable"
((checked >= NSLOTS - 2)) || fail "only $checked slots checked"
[ "$(grep -ac 'WRITER-START' "$LOG")" = 1 ] || fail "the restarted client did not read the marker back"
[ "$(grep -acE '^NEWDATA [0-9]+ ok$' "$LOG")" = 4 ] || fail "new data after the restart did not read back"
grep -aq RELOAD-RMMOD-OK "$LOG" || fail "rmmod ddvm_blkfront failed"
[ "$(grep -acE '^RELOAD-READBACK [0-9]+ ok$' "$LOG")" = $NSLOTS ] ||
	fail "after the module reload the slots read back differently"
[ "$(grep -acE '^RELOAD-NEWDATA [0-9]+ ok$' "$LOG")" = 4 ] || fail "new data after the module reload did not read back"
for vm in drv cli; do
	if grep -aqE "$T_KERNEL_TROUBLE" "$DDVM_RUNDIR/$vm.log"; then
		grep -aE -A12 "$T_KERNEL_TROUBLE" "$DDVM_RUNDIR/$vm.log" | head -n 30
		fail "$vm's kernel complained"
	fi
done
((${#fails[@]} == 0)) || t_fail "$(IFS=';'; echo "${fails[*]}")"
echo SUCCESS
