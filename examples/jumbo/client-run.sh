#!/bin/sh
# Client VM (app) of examples/jumbo.ini: the interface the driver VM's NIC gives it,
# at the MTU the channel announces (9000). Each time the channel (re)connects -- at
# boot, and after every restart of the driver VM -- it checks the path: a 9000-byte
# packet that may not be fragmented (ping -M do -s 8972) to the peer, 10 times, and
# prints JUMBO-PING round=N ... loss=L%.
modprobe ddvm_netfront
peer=10.99.0.1
mac=52:54:00:dd:09:01
i=0
while [ -z "${ifn:-}" ] && [ $i -lt 600 ]; do
	for d in /sys/class/net/*; do
		[ "$(cat "$d/address")" = $mac ] && ifn=${d##*/}
	done
	[ -n "${ifn:-}" ] || sleep 0.1
	i=$((i + 1))
done
[ -n "${ifn:-}" ] || { echo "JUMBO-FAIL no interface with MAC $mac"; exit 1; }
ip link set "$ifn" up
ip addr add 10.99.0.11/24 dev "$ifn"
echo "JUMBO-CLIENT-UP ifn=$ifn"
st=/sys/class/net/$ifn/device/ddvm
# in the background: the console's shell starts once this script ends
(
	seen=0
	round=0
	while :; do
		c=$(sed -n 's/^connects //p' "$st")
		if [ "$c" != "$seen" ] && [ "$(cat "/sys/class/net/$ifn/carrier")" = 1 ]; then
			seen=$c
			round=$((round + 1))
			# the path is up once an ordinary ping crosses (the tap joins the bridge when
			# the driver VM is ready, a moment after the channel is)
			i=0
			until ping -c 1 -W 1 $peer >/dev/null 2>&1 || [ $i -ge 30 ]; do i=$((i + 1)); done
			loss=$(ping -c 10 -i 0.2 -W 3 -M 'do' -s 8972 $peer 2>&1 |
				sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p')
			echo "JUMBO-PING round=$round connects=$c mtu=$(cat "/sys/class/net/$ifn/mtu") size=9000 loss=${loss:-100}%"
		fi
		sleep 0.2
	done
) &
