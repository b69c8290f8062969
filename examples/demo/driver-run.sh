#!/bin/sh
# Driver VM (netvm) of the demo: load the translation modules, then report, whenever
# they change, the counters of the unmodified drivers (the NIC's and the disk's own
# statistics) and of the translation modules, so the demo can show what went through.
for m in ddvm_netback ddvm_blkback; do
	modprobe "$m" || echo "DDVM-LOAD-FAILED module=$m"
done
echo DDVM-SERVICES-UP

drv() { basename "$(readlink "$1/device/driver")" 2>/dev/null; }
report() {
	for n in /sys/class/net/*; do
		[ -e "$n/device" ] || continue
		echo "nic  ${n##*/} (driver $(drv "$n")): rx $(cat "$n/statistics/rx_bytes") bytes in $(cat "$n/statistics/rx_packets") frames, tx $(cat "$n/statistics/tx_bytes") bytes in $(cat "$n/statistics/tx_packets") frames"
	done
	for b in /sys/block/*; do
		[ -e "$b/device" ] || continue
		# shellcheck disable=SC2046 # the fields of the stat line, split into $1..$11
		set -- $(cat "$b/stat")
		echo "disk ${b##*/} (driver $(drv "$b")): $1 reads ($(($3 / 2)) KiB), $5 writes ($(($7 / 2)) KiB)"
	done
	for d in /sys/bus/pci/devices/*; do
		[ -r "$d/stats" ] || continue
		echo "ddvm_netback ${d##*/}: $(grep -E '^(client|tx_frames|rx_frames|kicks_out|irqs|violations) ' "$d/stats" | tr '\n' ' ')"
	done
}
(
	old=""
	while sleep 1; do
		cur=$(report)
		if [ "$cur" != "$old" ]; then
			echo "$cur" | sed 's/^/DEMO-DRIVER /'
			echo DEMO-DRIVER-END
			old=$cur
		fi
	done
) &
