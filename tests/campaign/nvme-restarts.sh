#!/bin/bash
# Cold restarts of an nvme driver VM under client I/O, counting the restarts after
# which the disk stops answering (the lost nvme doorbell of docs/blk.md):
#   tests/campaign/nvme-restarts.sh [N]        (N restarts, default 150; ~5.5 s each)
# Each round: `ddvm inject drv panic`, wait for "service restored", then for 400
# responses in the new epoch. A round whose responses stand still for 2 s with
# requests outstanding is a stall: it is counted, and with
# DOORBELLS=1 the nvme shadow doorbell and event index pages (NVMe Doorbell Buffer
# Config, found in a QEMU trace) are read through a monitor socket and printed — the
# guest's submission tail ahead of the controller's event index is a lost doorbell.
# The nvme driver's and the supervisor's timeouts are raised so a stall stays as it is
# (the supervisor would restart the VM at 4 s, the driver reset the controller at 30 s).
# Environment: DDVM_SMP_PLAIN=1 boots the driver VM with plain "-smp 1" (the setting
# that loses doorbells under TCG) to show the difference.
# Prints "restarts N, stalls S" last; exits 1 if there was a stall.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
source "$(dirname "$0")/../lib/recover.sh"
N=${1:-150}
REC_REQ_MS=600000
REC_HB_MS=600000

# A QEMU wrapper for the driver VM (the one with the nvme): monitor socket, trace of
# the doorbell buffer's addresses, and optionally the old -smp.
mkdir -p "$T/q"
cat >"$T/qemu.sh" <<EOF
#!/bin/bash
case "\$*" in *nvme*) ;; *) exec qemu-system-x86_64 "\$@" ;; esac
args=(); prev=
for a in "\$@"; do
	[ "${DDVM_SMP_PLAIN:-0}" = 1 ] && [ "\$prev" = -smp ] && a=1
	prev=\$a; args+=("\$a")
done
echo pci_nvme_dbbuf_config >"$T/q/events"
exec qemu-system-x86_64 "\${args[@]}" -monitor unix:$T/q/mon.sock,server=on,wait=off \\
	-trace events=$T/q/events,file=$T/q/trace-\$\$.log
EOF
chmod +x "$T/qemu.sh"
export DDVM_QEMU=$T/qemu.sh

hmp() { # COMMAND — one human-monitor command to the driver VM's QEMU
	python3 - "$T/q/mon.sock" "$1" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1]); s.settimeout(2)
def prompt():
    buf = b""
    try:
        while not buf.endswith(b"(qemu) "):
            d = s.recv(65536)
            if not d: break
            buf += d
    except socket.timeout:
        pass
    return buf.decode(errors="replace").replace("\r", "")
prompt(); s.sendall((sys.argv[2] + "\n").encode()); print(prompt())
EOF
}

doorbells() { # print the doorbell buffer pages of the running driver VM
	local tr dbs eis
	# shellcheck disable=SC2012 # the newest by mtime; the names are ours (trace-N.log)
	tr=$(ls -t "$T"/q/trace-*.log | head -n 1)
	dbs=$(sed -n 's/.*dbs_addr=\(0x[0-9a-f]*\).*/\1/p' "$tr" | tail -n 1)
	eis=$(sed -n 's/.*eis_addr=\(0x[0-9a-f]*\).*/\1/p' "$tr" | tail -n 1)
	[ -n "$dbs" ] || { echo "  (no doorbell buffer configured)"; return; }
	echo "  shadow doorbells (admin sq, admin cq, io sq 1 tail, io cq 1 head):"
	hmp "xp /4wx $dbs" | grep '^0' | sed 's/^/    /'
	echo "  event indexes (same order):"
	hmp "xp /4wx $eis" | grep '^0' | sed 's/^/    /'
}

rec_fio_loop_script >"$T/work.sh"
rec_setup setup "$T/work.sh" "append = nvme_core.io_timeout=600"
rec_up setup
sup_wait_console cli 'CLIENT-BLK-UP' 180
# watch N — until the channel's response counter reaches N in this epoch; returns 1 if
# it stood still for 2 s with requests outstanding first (a stall), 0 otherwise.
watch() {
	local want=$1 req rsp last=-1 since
	since=$(now_ms)
	while :; do
		read -r req rsp < <(rec_counters disk0.cli)
		((rsp >= want)) && return 0
		if [ "$rsp" != "$last" ] || [ "$req" = "$rsp" ]; then last=$rsp since=$(now_ms); fi
		if (($(now_ms) - since > 2000)); then
			t_log "restart $i: STALL, $((req - rsp)) requests unanswered for 2 s (requests $req, responses $rsp)"
			return 1
		fi
		sleep 0.05
	done
}

stalls=0 i=0
watch 400 || t_fail "stalled before the first restart"
for i in $(seq "$N"); do
	restored=$(grep -c 'drv: service restored' "$DDVM_RUNDIR/ddvm.log" || true)
	"$DDVM" inject drv panic >/dev/null || t_fail "ddvm inject drv panic failed"
	sup_wait_log "drv: service restored" 120 $((restored + 1))
	# 400 responses in the new epoch: the requeued batch first, then fio's stream
	if watch 400; then
		t_log "restart $i: ok"
		continue
	fi
	stalls=$((stalls + 1))
	[ "${DOORBELLS:-0}" = 1 ] && doorbells
	# restart it (and so end the stall) before the next round
	"$DDVM" inject drv panic >/dev/null
	sup_wait_log "drv: service restored" 120 $((restored + 2))
	watch 100 || t_fail "stalled again right after the restart that ended a stall"
done
echo "restarts $N, stalls $stalls"
[ $stalls = 0 ]
