#!/bin/bash
# Where a restart's time goes, from a supervisor log (ddvm.log of a campaign; `make
# campaign` keeps the last one in build/test-logs/campaign-run/):
#   tests/campaign/restore-split.sh DDVM.LOG
# For every failure that ended in "service restored N ms after the failure was
# detected", split N into: stop (failure declared -> the new QEMU started: reaping the
# old one, epoch bump), qemu (QEMU started -> guest running: process start + reading the
# snapshot stream, or a whole cold boot), plug (channels hot-plugged, snapshot mode)
# and attach (running -> both sides READY: the guest's probe of the channel, the
# translation module's attach, the client's re-attach). Prints p50/p90/p99/max of each,
# then, per channel, when it was back ("channel NAME back N ms": both sides READY, and
# for a NIC that had its link, the link up again) counted from the end of plug.
set -euo pipefail
LOG=${1:?usage: restore-split.sh DDVM.LOG}
awk '
function ms(d, t,   a) { split(t, a, ":"); return (a[1] * 3600 + a[2] * 60 + a[3]) * 1000 }
/: FAILED: / { f = ms($1, $2); s = q = p = -1; next }
f && / started \(driver-vm/ { s = ms($1, $2); next }
f && /running [0-9]+ ms after QEMU started: snapshot restored in/ {
	for (i = 1; i <= NF; i++) { if ($i == "running") q = $(i + 1); if ($i == "plugged") p = $(i + 2) }
	q -= p; next
}
f && /: ready after [0-9.]+ s/ {
	for (i = 1; i <= NF; i++) if ($i == "after") q = $(i + 1) * 1000
	p = 0; next
}
f && /channels plugged; running [0-9.]+ s after QEMU started/ {
	for (i = 1; i <= NF; i++) if ($i == "running") q = $(i + 1) * 1000
	p = 0; next
}
f && /: channel [^ ]+ back [0-9]+ ms after the failure/ {
	for (i = 1; i <= NF; i++) if ($i == "back") { c = $(i - 1); b[c] = $(i + 1) }
	next
}
f && /service restored [0-9]+ ms after the failure/ {
	for (i = 1; i <= NF; i++) if ($i == "restored") n = $(i + 1)
	if (s >= 0 && q >= 0) {
		print n, s - f, q, p, n - (s - f) - q - p
		for (c in b) print c, b[c] - (s - f) - q - p >chans
	}
	delete b
	f = 0
}' chans="${TMPDIR:-/tmp}/chans.$$" "$LOG" >"${TMPDIR:-/tmp}/split.$$"
touch "${TMPDIR:-/tmp}/chans.$$"
n=$(wc -l <"${TMPDIR:-/tmp}/split.$$")
echo "$n restarts in $LOG (ms)"
printf '%-8s %6s %6s %6s %6s\n' part p50 p90 p99 max
col=1
for part in total stop qemu plug attach; do
	sort -n -k$col,$col "${TMPDIR:-/tmp}/split.$$" | awk -v c=$col -v part=$part '
		{ v[NR] = $c }
		function q(p) { i = int((NR - 1) * p / 100 + 0.5) + 1; return v[i] }
		END { if (NR) printf "%-8s %6d %6d %6d %6d\n", part, q(50), q(90), q(99), v[NR] }'
	col=$((col + 1))
done
cut -d' ' -f1 "${TMPDIR:-/tmp}/chans.$$" | sort -u | while read -r c; do
	awk -v c="$c" '$1 == c { print $2 }' "${TMPDIR:-/tmp}/chans.$$" | sort -n | awk -v part="$c" '
		{ v[NR] = $1 }
		function q(p) { i = int((NR - 1) * p / 100 + 0.5) + 1; return v[i] }
		END { if (NR) printf "%-8s %6d %6d %6d %6d  (back, from the end of plug)\n", part, q(50), q(90), q(99), v[NR] }'
done
rm -f "${TMPDIR:-/tmp}/split.$$" "${TMPDIR:-/tmp}/chans.$$"
