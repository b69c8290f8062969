#!/bin/sh
# Client VM (app) of examples/nics.ini: one interface per NIC of the driver VM, each the
# ordinary Ethernet interface of ddvm_netfront, found by the MAC its device gives it.
# For NIC N, one after the other: address 10.99.N.11/24, carrier (the driver VM serves
# the channel), 3 pings to the peer 10.99.N.1, then iperf3 for 3 s client -> peer (its
# server on port 5201) and 3 s peer -> client (5202: a server still closing the first
# test would answer "busy"), then 4 MiB of random bytes client -> peer port 5300, where a
# checksumming sink (tests/vm/sha_sink.py) answers the SHA-256 of what arrived: the
# bytes the NIC sent are the bytes the client wrote (optional: no sink, xfer=none).
# One line per NIC:
#   NICS-RESULT n=N model=M ifn=IF driver=D ping=3/3 up=MBIT down=MBIT xfer=ok|none
# (driver: the NIC's driver in the driver VM, as the channel announces it; up/down in
# Mbit/s as iperf3's receiver counted them), or NICS-FAIL n=N model=M why; at the end
# NICS-DONE nics=K of 8 fail=F.

# N  model  the client's MAC on it  [iperf3 options of the peer -> client run]
# ne2k_pci: QEMU 7.2's NE2000 stops receiving for good once a frame arrives while its
# 15 KiB receive ring is full (natively too, without ddvm; docs/net.md), so the peer
# sends to it with at most 8 KiB in flight (-w: less than the ring holds, whatever the
# host's load) and at 40 Mbit/s at most.
nics='1 e1000          52:54:00:dd:0a:01
2 e1000e         52:54:00:dd:0a:02
3 rtl8139        52:54:00:dd:0a:03
4 pcnet          52:54:00:dd:0a:04
5 ne2k_pci       52:54:00:dd:0a:05 -b 40M -w 8K
6 virtio-net-pci 52:54:00:dd:0a:06
7 vmxnet3        52:54:00:dd:0a:07
8 usb-net        52:54:00:dd:0a:08'
secs=3

modprobe ddvm_netfront # /init loaded it already; harmless

# iperf3 from the client; prints the receiver's Mbit/s (empty on failure)
iperf() {
	timeout $((secs + 60)) iperf3 -c "$@" -t $secs -f m >/tmp/iperf.txt 2>&1
	awk '/receiver/ { for (i = 1; i < NF; i++) if ($(i + 1) == "Mbits/sec") print $i }' \
		/tmp/iperf.txt | tail -n 1
}

# 4 MiB client -> peer:5300; ok when the sink's SHA-256 is ours, none when nothing
# answered, else bad
xfer() {
	head -c 4194304 /dev/urandom >/tmp/xfer
	want=$(sha256sum </tmp/xfer | cut -c1-64)
	got=$(timeout 60 nc "$1" 5300 </tmp/xfer 2>/dev/null | head -c 64)
	if [ -z "$got" ]; then echo none; elif [ "$got" = "$want" ]; then echo ok; else echo bad; fi
}

# what the client saw of a NIC whose 4 MiB did not arrive: its counters, TCP's
# retransmissions, the channel's state (NICS-XFER lines, for whoever reads the log)
xfer_diag() {
	ip -s link show "$1" | sed 's/^/NICS-XFER /'
	grep '^Tcp:' /proc/net/snmp | sed 's/^/NICS-XFER /'
	sed 's/^/NICS-XFER /' "/sys/class/net/$1/device/ddvm"
}

ok=0
fail=0
while read -r n model mac down_opts; do
	peer=10.99.$n.1
	ifn=
	i=0
	while [ -z "$ifn" ] && [ $i -lt 600 ]; do
		for d in /sys/class/net/*; do
			[ "$(cat "$d/address")" = "$mac" ] && ifn=${d##*/}
		done
		[ -n "$ifn" ] || sleep 0.1
		i=$((i + 1))
	done
	if [ -z "$ifn" ]; then
		echo "NICS-FAIL n=$n model=$model no interface with MAC $mac"
		fail=$((fail + 1))
		continue
	fi
	ip link set "$ifn" up
	ip addr add "10.99.$n.11/24" dev "$ifn"
	i=0
	while [ "$(cat "/sys/class/net/$ifn/carrier" 2>/dev/null)" != 1 ] && [ $i -lt 1200 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if [ "$(cat "/sys/class/net/$ifn/carrier")" != 1 ]; then
		echo "NICS-FAIL n=$n model=$model ifn=$ifn no carrier after 120 s (channel not served)"
		cat "/sys/class/net/$ifn/device/ddvm"
		fail=$((fail + 1))
		continue
	fi
	drv=$(ethtool -i "$ifn" | sed -n 's/^firmware-version: backend //p')
	# the path is there once one ping crosses (the tap joins its bridge when the driver
	# VM is ready, a moment after it serves the channel)
	i=0
	until ping -c 1 -W 1 "$peer" >/dev/null 2>&1 || [ $i -ge 30 ]; do i=$((i + 1)); done
	got=$(ping -c 3 -W 5 "$peer" 2>&1 | sed -n 's/.* \([0-9]*\) received.*/\1/p')
	up=$(iperf "$peer")
	# shellcheck disable=SC2086 # the options are words
	down=$(iperf "$peer" -p 5202 -R $down_opts)
	x=$(xfer "$peer")
	[ "$x" = ok ] || xfer_diag "$ifn"
	if [ "${got:-0}" = 3 ] && [ -n "$up" ] && [ -n "$down" ] && [ "$x" != bad ]; then
		echo "NICS-RESULT n=$n model=$model ifn=$ifn driver=$drv ping=3/3 up=$up down=$down xfer=$x"
		ok=$((ok + 1))
	else
		echo "NICS-FAIL n=$n model=$model ifn=$ifn driver=$drv ping=${got:-0}/3 up=${up:-none} down=${down:-none} xfer=$x"
		tail -n 5 /tmp/iperf.txt
		cat "/sys/class/net/$ifn/device/ddvm"
		fail=$((fail + 1))
	fi
done <<EOF2
$nics
EOF2
echo "NICS-DONE nics=$ok of $(echo "$nics" | wc -l) fail=$fail"
