#!/bin/bash
# timeout: 300
# kill -9 of the driver VM's QEMU in the middle of iperf3: the client's interface keeps
# its name and address (a carrier flap), the TCP connection survives the restart and
# iperf3 completes. The supervisor runs inside a network namespace the test created:
# QEMU's tap joins bridge br0 there (REC_PEER, the iperf3 server); nothing leaves it.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
source "$(dirname "$0")/../lib/recover.sh"
t_need_root
command -v iperf3 >/dev/null || t_skip "iperf3 not installed on the host"
REC_NET=1
rec_netns

cat >"$T/work.sh" <<EOF
echo IPERF-START
iperf3 -c $REC_PEER -t 25 -f m --connect-timeout 10000 >/tmp/iperf.txt 2>&1
rc=\$?
tail -n 4 /tmp/iperf.txt
ip -br addr show \$ifn
dmesg | grep -i 'ddvm' | tail -n 6
echo "IPERF-DONE rc=\$rc"
EOF
rec_setup setup "$T/work.sh"
rec_up setup
sup_wait_console cli 'CLIENT-NET-UP' 150
sup_wait_console cli 'IPERF-START' 30
rec_wait_requests nic0.cli 2000 60
pid=$(cat "$DDVM_RUNDIR/drv.pid")
t_log "kill -9 driver VM QEMU (pid $pid) in the middle of iperf3"
kill -KILL "$pid"
sup_wait_log 'drv: FAILED: QEMU was killed by signal 9' 30
sup_wait_log 'drv: service restored [0-9]+ ms after' 120
sup_wait_console cli 'IPERF-DONE' 120
grep -a -A8 'IPERF-START' "$DDVM_RUNDIR/cli.log" | tail -n 12
grep -q 'IPERF-DONE rc=0' "$DDVM_RUNDIR/cli.log" || t_fail "iperf3 did not survive the restart"
grep -q "$REC_CLIENT_IP/24" "$DDVM_RUNDIR/cli.log" || t_fail "the client lost its address"
[ "$(rec_restarts cli)" = 0 ] || t_fail "the client VM restarted"
! grep -qE "$T_KERNEL_TROUBLE" "$DDVM_RUNDIR/cli.log" || t_fail "the client kernel complained"
t_log "$(grep -o 'service restored [0-9]* ms' "$DDVM_RUNDIR/ddvm.log" | tail -n1)"
echo SUCCESS
