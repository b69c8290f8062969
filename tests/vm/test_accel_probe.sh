#!/bin/bash
# timeout: 90
# The one accelerator probe (supervisor/accel.c, `ddvm accel KERNEL`), which `ddvm up`,
# the shell tests (tests/lib/common.sh ddvm_accel), the demo and the benchmarks all ask:
# probing afresh (no cache) it answers kvm or tcg, the same as the tests' cached answer,
# and caches what it found; DDVM_ACCEL overrides; a cached answer is used without a
# probe (a missing kernel does not matter then); with nothing cached and no kernel to
# boot, a usable-looking /dev/kvm is not trusted (tcg).
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/supervisor.sh"
t_need_file "$DDVM_KERNEL"

probe() { env -u DDVM_ACCEL DDVM_ACCEL_CACHE="$T/$1.cache" "$DDVM" accel "$2"; }

t0=$(now_ms)
c=$(probe fresh "$DDVM_KERNEL")
t1=$(now_ms)
t_log "ddvm accel (fresh probe): $c ($((t1 - t0)) ms); the tests' cached answer: $(ddvm_accel)"
case $c in kvm | tcg) ;; *) t_fail "ddvm accel printed '$c'" ;; esac
[ "$(head -n 1 "$T/fresh.cache")" = "$c" ] || t_fail "ddvm accel did not cache its answer"
[ "$(ddvm_accel)" = "$c" ] || t_fail "the tests' cached answer ($(ddvm_accel)) is not what a fresh probe says ($c)"
if [ ! -w /dev/kvm ]; then
	[ "$c" = tcg ] || t_fail "no usable /dev/kvm, yet ddvm accel says $c"
fi

# Overrides and caches: read, no probe. A cached kvm holds while /dev/kvm is usable;
# without a /dev/kvm it is not believed (a home shared with a host that has KVM).
for a in kvm tcg; do
	got=$(DDVM_ACCEL=$a "$DDVM" accel "$DDVM_KERNEL")
	[ "$got" = "$a" ] || t_fail "DDVM_ACCEL=$a: ddvm accel printed $got"
	echo $a >"$T/cached.cache"
	got=$(probe cached /nonexistent 2>"$T/cached.err")
	if [ $a = kvm ] && [ ! -e /dev/kvm ]; then
		if [ "$got" != tcg ] || ! grep -q "the accelerator cache $T/cached.cache says kvm, but /dev/kvm is not usable now" "$T/cached.err"; then
			t_fail "cache says kvm, no /dev/kvm: ddvm accel printed $got: $(cat "$T/cached.err")"
		fi
	else
		[ "$got" = "$a" ] || t_fail "cache says $a: ddvm accel printed $got"
	fi
done

# Nothing cached, no kernel to boot: KVM is not trusted on the ioctls alone.
got=$(probe nokernel /nonexistent 2>/dev/null)
[ "$got" = tcg ] || t_fail "no kernel to test KVM with: ddvm accel said $got"
echo "accelerator: $c"
