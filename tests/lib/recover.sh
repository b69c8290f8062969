# shellcheck shell=bash
# Helpers for the recovery tests and the fault-injection campaign (sourced after
# tests/lib/common.sh and tests/lib/supervisor.sh).
#
# A setup is one supervised driver VM ("drv") owning an nvme disk (disk0) and, with
# REC_NET=1, an e1000 NIC (nic0) on a tap that the supervisor joins to a bridge inside
# a network namespace the test created; one client VM ("cli") uses both. The client's
# run script is the workload; it reports on its console (RUNDIR/cli.log).
#
# rec_setup NAME CLIENT_SCRIPT [EXTRA DRIVER KEYS]   write $T/NAME.ini (+ disk, scripts)
# rec_up NAME                                        ddvm up -d (in the netns if REC_NET)
# rec_requests CHANNEL                               requests the client produced so far
# rec_counters CHANNEL                               requests and responses so far
# rec_restarts VM                                    restarts of VM (`ddvm status --json`)

REC_IMG_MB=${REC_IMG_MB:-64}
REC_PEER=10.99.0.1
REC_CLIENT_IP=10.99.0.11
REC_MAC=52:54:00:dd:00:11

# The driver VM's run script: name each disk by its controller's PCI address (the
# supervisor's blk target is disk/by-pci/BDF; the image has no udev), load the
# translation modules and the fault injector, and say so. Then /init gives the
# console to a shell, through which `ddvm inject` reaches ddvm_faultinj.
rec_driver_script() {
	cat >"$1" <<'EOF2'
mkdir -p /dev/disk/by-pci
i=0
while [ $i -lt 300 ]; do
	for b in /sys/block/*; do
		[ -e $b/device ] || continue
		bdf=$(readlink -f $b/device | sed -n 's,^/sys/devices/pci0000:00/\(0000:00:[0-9a-f]*\.[0-7]\)/.*,\1,p')
		[ -n "$bdf" ] && [ ! -e /dev/disk/by-pci/$bdf ] && ln -s /dev/${b##*/} /dev/disk/by-pci/$bdf
	done
	[ -n "$(ls /dev/disk/by-pci)" ] && break
	sleep 0.1
	i=$((i + 1))
done
for m in ddvm_blkback ddvm_netback ddvm_faultinj; do
	modprobe $m || echo "DDVM-LOAD-FAILED module=$m"
done
echo DDVM-SERVICES-UP
EOF2
}

# rec_client_prologue — client run script head: load the client drivers, wait for
# the disk (and the interface, with REC_NET=1, configured with REC_CLIENT_IP).
rec_client_prologue() {
	cat <<EOF2
modprobe ddvm_blkfront
modprobe ddvm_netfront
i=0
while [ ! -b /dev/ddvmblk0 ] && [ \$i -lt 600 ]; do sleep 0.1; i=\$((i + 1)); done
[ -b /dev/ddvmblk0 ] && echo CLIENT-BLK-UP
if [ "${REC_NET:-0}" = 1 ]; then
	for d in /sys/class/net/*; do
		[ "\$(cat \$d/address)" = $REC_MAC ] && ifn=\${d##*/}
	done
	ip link set \$ifn up
	ip addr add $REC_CLIENT_IP/24 dev \$ifn
	i=0
	while [ "\$(cat /sys/class/net/\$ifn/carrier)" != 1 ] && [ \$i -lt 600 ]; do sleep 0.1; i=\$((i + 1)); done
	ping -c 1 -W 10 $REC_PEER >/dev/null && echo CLIENT-NET-UP ifn=\$ifn
fi
EOF2
}

# rec_net_device — with REC_NET=1, set net_dev (the [device nic0] section: an e1000 on
# tap REC_TAP, joined to br0, MAC REC_MAC) and net_use (" nic0") in the caller's scope.
rec_net_device() {
	if [ "${REC_NET:-0}" = 1 ]; then
		net_dev=$(printf '[device nic0]\nvm = drv\nkind = net\nmodel = e1000\nbackend = tap\ntap = %s\nbridge = br0\nmac = %s\n' "$REC_TAP" "$REC_MAC")
		net_use=" nic0"
	fi
}

rec_setup() {
	local name=$1 client=$2 extra=${3:-}
	qemu-img create -q -f raw "$T/disk0.img" "${REC_IMG_MB}M"
	rec_driver_script "$T/driver-run.sh"
	{
		rec_client_prologue
		cat "$client"
	} >"$T/client-run.sh"
	local net_dev="" net_use=""
	rec_net_device
	sup_config "$name" <<CONF
[driver-vm drv]
memory = 256M
run = $T/driver-run.sh
ready = DDVM-SERVICES-UP
restart_max = ${REC_RESTART_MAX:-1000}
restart_backoff_ms = 0
boot_timeout_ms = ${REC_BOOT_MS:-120000}
heartbeat_timeout_ms = ${REC_HB_MS:-3000}
request_timeout_ms = ${REC_REQ_MS:-4000}
$extra
[device disk0]
vm = drv
kind = blk
model = ${REC_BLK_MODEL:-nvme}
image = $T/disk0.img
format = raw
$net_dev
[client-vm cli]
memory = 384M
run = $T/client-run.sh
restart_max = 0
boot_timeout_ms = ${REC_BOOT_MS:-120000}
devices = disk0$net_use
CONF
}

# rec_netns — a namespace with bridge br0 = $REC_PEER and an iperf3 server; the
# supervisor (and so QEMU and its tap) runs inside it. Nothing is routed anywhere.
rec_netns() {
	REC_NS=ddvm-rec-$$
	REC_TAP=ddr$$
	ip netns add "$REC_NS" || t_fail "cannot create network namespace $REC_NS"
	t_on_exit "ip netns del '$REC_NS'"
	ip -n "$REC_NS" link set lo up
	ip -n "$REC_NS" link add br0 type bridge
	ip -n "$REC_NS" addr add "$REC_PEER/24" dev br0
	ip -n "$REC_NS" link set br0 up
	ip netns exec "$REC_NS" iperf3 -s -D -I "$T/iperf3.pid" >/dev/null ||
		t_fail "iperf3 server did not start"
	t_on_exit "t_kill_pidfile '$T/iperf3.pid'"
}

rec_up() {
	if [ "${REC_NET:-0}" = 1 ]; then
		t_on_exit _sup_cleanup
		t_on_failure _sup_keep_logs
		t_log "ddvm up -d $T/$1.ini (in $REC_NS)"
		ip netns exec "$REC_NS" "$DDVM" up -d "$T/$1.ini" ||
			{ tail -n 30 "$DDVM_RUNDIR/ddvm.log"; t_fail "ddvm up failed"; }
	else
		sup_up "$T/$1.ini"
	fi
	# keep the logs of the last run for a post-mortem
	local keep
	keep=$BUILD/test-logs/$(basename "$0" .sh)-run
	t_on_exit "rm -rf '$keep'; mkdir -p '$keep'; cp '$DDVM_RUNDIR'/*.log '$keep'/ 2>/dev/null"
}

rec_requests() {
	sup_chan_field "$1" requests
}

# rec_counters CHANNEL — "REQUESTS RESPONSES" (net: frames from / to the client)
rec_counters() {
	"$DDVM" status --json | jq -r --arg ch "$1" \
		'first(.channels[] | select(.name == $ch)) | "\(.requests) \(.responses)"'
}

rec_restarts() {
	sup_vm_field "$1" restarts
}

# rec_wait_requests CHANNEL N SECS — until the client produced N more requests.
rec_wait_requests() {
	local ch=$1 n=$2 secs=$3 base deadline cur
	base=$(rec_requests "$ch")
	deadline=$((SECONDS + secs))
	while ((SECONDS < deadline)); do
		# the counter restarts from 0 with each epoch
		cur=$(rec_requests "$ch")
		((cur >= base + n || cur < base)) && return 0
		sleep 0.05
	done
	t_fail "channel $ch: fewer than $n requests within ${secs}s"
}

# rec_fio_script PASSES — client workload: fio random writes with verification.
rec_fio_script() {
	cat <<EOF2
fail=0
for pass in \$(seq ${1:-1}); do
	echo "FIO-START \$pass"
	fio --eta=never --name=v --filename=/dev/ddvmblk0 --direct=1 --ioengine=libaio \
		--rw=randwrite --bs=4k --size=${REC_FIO_MB:-16}M --iodepth=16 --verify=crc32c \
		--do_verify=1 --verify_fatal=1 --randrepeat=0 --output=/tmp/fio.txt
	rc=\$?
	if [ \$rc = 0 ] && grep -q 'err= 0' /tmp/fio.txt; then echo "FIO-PASS \$pass ok"; else fail=1; echo "FIO-PASS \$pass FAILED rc=\$rc"; cat /tmp/fio.txt; fi
done
dmesg | grep -i 'ddvm' | tail -n 12
echo "FIO-DONE fail=\$fail"
EOF2
}

# rec_fio_loop_script [full] — client workload that never ends: fio random writes with
# verification, pass after pass; a failed pass prints "FIO-PASS N FAILED", its verify
# and I/O error lines as "FIO-ERR ..." and, with "full", fio's whole output.
rec_fio_loop_script() {
	cat <<'EOF2'
pass=0
while :; do
	pass=$((pass + 1))
	fio --eta=never --name=v --filename=/dev/ddvmblk0 --direct=1 --ioengine=libaio \
		--rw=randwrite --bs=4k --size=8M --iodepth=16 --verify=crc32c --do_verify=1 \
		--verify_fatal=1 --randrepeat=0 --output=/tmp/fio.txt
	rc=$?
	if [ $rc = 0 ] && grep -q 'err= 0' /tmp/fio.txt; then echo "FIO-PASS $pass ok"; else
		echo "FIO-PASS $pass FAILED rc=$rc"
		grep -E 'verify|io_u error' /tmp/fio.txt | sed 's/^/FIO-ERR /' | head -n 5
EOF2
	[ "${1:-}" = full ] && echo '		cat /tmp/fio.txt'
	cat <<'EOF2'
	fi
done
EOF2
}
