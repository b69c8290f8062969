#!/bin/bash
# timeout: 90
# The accelerator the daemon picks (supervisor/accel.c, printed by `ddvm accel`) and the
# one the shell tests boot with (scripts/accel.sh) agree on this machine, each probing
# afresh (no cache): /dev/kvm usable and booting the guest kernel to its panic, or TCG.
# Both honour DDVM_ACCEL and a cached answer the same way.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
t_need_file "$DDVM_KERNEL"

# scripts/accel.sh reads BUILD/kernel/vmlinuz and caches in DDVM_ACCEL_CACHE.
probe_sh() { env -u DDVM_ACCEL DDVM_ACCEL_CACHE="$T/sh.cache" "$DDVM_ROOT/scripts/accel.sh"; }
probe_c() { env -u DDVM_ACCEL DDVM_ACCEL_CACHE="$T/c.cache" "$DDVM" accel "$DDVM_KERNEL"; }

t0=$(now_ms)
sh=$(probe_sh)
t1=$(now_ms)
c=$(probe_c)
t2=$(now_ms)
t_log "scripts/accel.sh: $sh ($((t1 - t0)) ms); ddvm accel: $c ($((t2 - t1)) ms)"
case $c in kvm | tcg) ;; *) t_fail "ddvm accel printed '$c'" ;; esac
[ "$sh" = "$c" ] || t_fail "scripts/accel.sh says $sh, the daemon's probe says $c"
[ "$(cat "$T/c.cache")" = "$c" ] || t_fail "ddvm accel did not cache its answer"
[ "$(cat "$T/sh.cache")" = "$sh" ] || t_fail "scripts/accel.sh did not cache its answer"

# Overrides and caches: both read them, neither probes again.
for a in kvm tcg; do
	got=$(DDVM_ACCEL=$a "$DDVM" accel "$DDVM_KERNEL")
	[ "$got" = "$a" ] || t_fail "DDVM_ACCEL=$a: ddvm accel printed $got"
	got=$(DDVM_ACCEL=$a "$DDVM_ROOT/scripts/accel.sh")
	[ "$got" = "$a" ] || t_fail "DDVM_ACCEL=$a: scripts/accel.sh printed $got"
	echo $a >"$T/both.cache"
	got=$(env -u DDVM_ACCEL DDVM_ACCEL_CACHE="$T/both.cache" "$DDVM" accel /nonexistent)
	[ "$got" = "$a" ] || t_fail "cache says $a: ddvm accel printed $got"
	got=$(env -u DDVM_ACCEL DDVM_ACCEL_CACHE="$T/both.cache" "$DDVM_ROOT/scripts/accel.sh")
	[ "$got" = "$a" ] || t_fail "cache says $a: scripts/accel.sh printed $got"
done
echo "accelerator: both probes say $c"
