#!/bin/bash
# timeout: 300
# Services load themselves: a config with no `run =` script for the driver VM (an e1000
# on a tap bridged in a namespace this test made, and a virtio-blk disk) and a client
# VM whose run script is only the workload (no modprobe, no by-pci links). The images'
# /init loads ddvm_netback + ddvm_blkback and ddvm_netfront + ddvm_blkfront from the
# channel list the supervisor hands each VM; ping crosses the driver VM's e1000, and a
# checksummed 8 MiB write reaches the driver VM's disk image on the host.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
t_need_root
command -v jq >/dev/null || t_skip "needs jq (scripts/deps.sh installs it)"

NS=ddvm-auto-$$
PEER=10.99.0.1
MAC=52:54:00:dd:00:21
ip netns add "$NS" || t_fail "cannot create network namespace $NS"
t_on_exit "ip netns del '$NS'"
ip -n "$NS" link set lo up
ip -n "$NS" link add br0 type bridge
ip -n "$NS" addr add "$PEER/24" dev br0
ip -n "$NS" link set br0 up

qemu-img create -q -f raw "$T/disk0.img" 64M
cat >"$T/workload.sh" <<EOF
i=0
while [ ! -b /dev/ddvmblk0 ] && [ \$i -lt 600 ]; do sleep 0.1; i=\$((i + 1)); done
[ -b /dev/ddvmblk0 ] || { echo "AUTO-FAIL no /dev/ddvmblk0"; exit 1; }
for d in /sys/class/net/*; do [ "\$(cat \$d/address)" = $MAC ] && ifn=\${d##*/}; done
[ -n "\$ifn" ] || { echo "AUTO-FAIL no interface with MAC $MAC"; exit 1; }
ip link set \$ifn up
ip addr add 10.99.0.11/24 dev \$ifn
i=0
while [ "\$(cat /sys/class/net/\$ifn/carrier)" != 1 ] && [ \$i -lt 600 ]; do sleep 0.1; i=\$((i + 1)); done
ping -c 3 -W 10 $PEER >/tmp/ping.txt && echo "AUTO-PING ok \$(grep -o '[0-9]* received' /tmp/ping.txt)"
dd if=/dev/urandom of=/tmp/data bs=1M count=8 2>/dev/null
dd if=/tmp/data of=/dev/ddvmblk0 bs=1M conv=fsync 2>/dev/null
sync
echo 3 >/proc/sys/vm/drop_caches
dd if=/dev/ddvmblk0 of=/tmp/back bs=1M count=8 2>/dev/null
echo "AUTO-DISK wrote \$(sha256sum </tmp/data | cut -c1-64) read \$(sha256sum </tmp/back | cut -c1-64)"
echo "AUTO-MODULES \$(cut -d' ' -f1 /proc/modules | grep ddvm | sort | tr '\n' ' ')"
echo AUTO-DONE
EOF
sup_config auto <<CONF
[driver-vm drv]
memory = 256M
[device nic0]
vm = drv
kind = net
model = e1000
backend = tap
tap = ddauto$$
bridge = br0
mac = $MAC
[device disk0]
vm = drv
kind = blk
model = virtio-blk-pci
image = $T/disk0.img
format = raw
[client-vm cli]
memory = 384M
devices = nic0 disk0
run = $T/workload.sh
CONF
t_on_exit _sup_cleanup
t0=$(now_ms)
ip netns exec "$NS" "$DDVM" up "$T/auto.ini" -d || {
	tail -n 30 "$DDVM_RUNDIR/ddvm.log"
	t_fail "ddvm up failed"
}
keep=$BUILD/test-logs/$(basename "$0" .sh)-run
t_on_exit "rm -rf '$keep'; mkdir -p '$keep'; cp '$DDVM_RUNDIR'/*.log '$keep'/ 2>/dev/null"
sup_wait_console cli 'AUTO-DONE|AUTO-FAIL' 240
t_log "workload done $(($(now_ms) - t0)) ms after ddvm up"
grep -a '^AUTO-\|DDVM-SERVICES\|DDVM-LOAD-FAILED' "$DDVM_RUNDIR/cli.log" | tr -d '\r'
grep -a 'DDVM-SERVICES\|DDVM-LOAD-FAILED' "$DDVM_RUNDIR/drv.log" | tr -d '\r'

grep -aq 'DDVM-SERVICES ddvm_netback ddvm_blkback' "$DDVM_RUNDIR/drv.log" ||
	t_fail "the driver VM did not load its translation modules by itself"
grep -aq 'DDVM-SERVICES ddvm_netfront ddvm_blkfront' "$DDVM_RUNDIR/cli.log" ||
	t_fail "the client VM did not load its client drivers by itself"
grep -aq 'AUTO-FAIL' "$DDVM_RUNDIR/cli.log" && t_fail "$(grep -a AUTO-FAIL "$DDVM_RUNDIR/cli.log")"
grep -aq 'AUTO-PING ok 3 received' "$DDVM_RUNDIR/cli.log" || t_fail "ping through the driver VM's e1000 failed"
line=$(grep -a '^AUTO-DISK' "$DDVM_RUNDIR/cli.log" | tr -d '\r')
read -r _ _ wrote _ back <<<"$line"
[[ -n $wrote && $wrote == "$back" ]] || t_fail "disk round trip: $line"

"$DDVM" status
"$DDVM" status --json >"$T/status.json"
for ch in nic0.cli disk0.cli; do
	jq -e --arg ch "$ch" 'first(.channels[] | select(.name == $ch)) |
		.backend_state == "ready" and .frontend_state == "ready" and .problem == null' \
		"$T/status.json" >/dev/null || t_fail "channel $ch is not ready: $(cat "$T/status.json")"
done
"$DDVM" down
# the data is in the driver VM's image on the host
host=$(head -c 8388608 "$T/disk0.img" | sha256sum | cut -c1-64)
[ "$host" = "$wrote" ] || t_fail "the image on the host holds $host, the client wrote $wrote"
t_log "PASS: ping and an 8 MiB checksummed write through services nobody loaded by hand"
