#!/bin/bash
# timeout: 300
# A client that scribbles over its channel's layout while the driver VM boots hurts
# only itself, and only while it scribbles: the translation module takes the ring
# layout from the supervisor's list (the channel's kind and queue pairs, its
# `channels` parameter) and never reads it from the region's header, which the client
# can write at the moment the module probes. One driver VM serves disk0 (16 MiB) to host
# client a and disk1 (32 MiB) to host client b. A hostile writer
# (tests/vm/hostile_writer.py, kind layout) makes a's header lie (magic, ABI, size,
# kind, ring counts, ring table) every 20 ms while the driver VM is killed and boots
# again, so its modules probe a's channel with a lying header. Checked, once the writer
# stopped: b's channel was back at the new epoch, a's channel serves a's own disk (the
# new driver VM's dmesg), and ddvm-blkcheck writes and reads back 1 MiB through a's
# channel, with no second restart of the driver VM. Before, the module refused a's
# channel at its probe ("no valid ddvm region in BAR2") and a got no service until the
# driver VM restarted again, which every other client of it would have paid for.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
command -v jq >/dev/null || t_skip "needs jq (scripts/deps.sh installs it)"
t_need_file "$BUILD/bin/ddvm-blkcheck"

sup_config forged <<CONF
[driver-vm drv]
memory = 256M
restart_backoff_ms = 100
[device disk0]
vm = drv
kind = blk
model = virtio-blk-pci
image = $T/disk0.img
size = 16M
[device disk1]
vm = drv
kind = blk
model = virtio-blk-pci
image = $T/disk1.img
size = 32M
[host-client a]
devices = disk0
[host-client b]
devices = disk1
CONF
sup_up "$T/forged.ini"

chan() { awk -v c="$1" '$1 == c { print $4 }' "$DDVM_RUNDIR/drv.channels"; }
target() { sed -n "s/^$1 .*target=\\([^ ]*\\).*/\\1/p" "$DDVM_RUNDIR/drv.channels"; }
a_dev=$(chan disk0.a) b_dev=$(chan disk1.b) a_disk=$(target disk0.a)
[[ -n $a_dev && -n $b_dev && -n $a_disk ]] ||
	t_fail "drv.channels lacks an address: $(cat "$DDVM_RUNDIR/drv.channels")"
t_log "a: channel $a_dev, disk at $a_disk; b: channel $b_dev"

sup_hostile_writer disk0.a --kinds layout --duration 200 --period 200

"$DDVM" inject drv kill >/dev/null || t_fail "ddvm inject drv kill failed"
grep -q 'drv: FAILED' "$DDVM_RUNDIR/ddvm.log" || t_fail "inject kill answered before the failure was seen"
# b's channel served by the new driver VM: its modules have probed both channels (a's
# is on the lower PCI slot, probed first)
sup_wait_chan_epoch disk1.b 2 120
t_kill_pidfile "$T/writer.pid"
tail -n 2 "$DDVM_RUNDIR/hostile_writer.log"
forged=$(sed -n 's/.*forged writes per kind: layout \([0-9]*\).*/\1/p' "$DDVM_RUNDIR/hostile_writer.log")
((${forged:-0} >= 10)) || t_fail "the writer forged the layout ${forged:-0} times (not across the restart)"

# a, honest again, connects: a new session, the supervisor writes the header back
t0=$(now_ms)
rc=0
sup_blkcheck disk0.a 7 || rc=$?
dmesg_ddvm=$(sup_console_cmd drv 30 "dmesg | grep -E 'ddvm'")
grep -E "$a_dev|$b_dev" <<<"$dmesg_ddvm" | sed 's/^/    /' || true
((rc == 0)) || t_fail "a's channel did not serve a after the writer stopped (ddvm-blkcheck rc $rc)"
t_log "a's I/O done $(($(now_ms) - t0)) ms after it connected"
grep -q " 32768 sectors," "$T/check-disk0.a.log" ||
	t_fail "a's channel does not describe a's 16 MiB disk: $(head -n 3 "$T/check-disk0.a.log")"
grep -q "$a_dev: ddvm blk: serving /dev/disk/by-pci/$a_disk " <<<"$dmesg_ddvm" ||
	t_fail "the new driver VM does not serve a's disk on a's channel"
grep -Eq "$a_dev: ddvm: (no valid ddvm region|.*not served)" <<<"$dmesg_ddvm" &&
	t_fail "the new driver VM refused a's channel at its probe"
restarts=$(sup_vm_field drv restarts)
[ "$restarts" = 1 ] || t_fail "drv restarted $restarts times (1 expected: the injected kill)"
t_log "the lying layout was ignored: a served after the writer stopped, drv restarted once"
"$DDVM" down >/dev/null 2>&1
echo SUCCESS
