#!/bin/bash
# make bench-ring must keep working: a very short run of every cell, and its table.
# (Numbers are not judged here; see docs/channel.md for measured ones.)
# timeout: 60
source "$(dirname "$0")/../lib/common.sh"

BENCH=$BUILD/bench/ring_bench
t_need_file "$BENCH"
"$BENCH" -t 0.02 -r 1 | tee "$T/out"
for row in '^64 B ' '^1500 B ' '^64 KiB ' '^polled' '^eventfd'; do
	grep -q "$row" "$T/out" || t_fail "bench-ring printed no '$row' row"
done
