#!/bin/bash
# timeout: 180
# `make deb`'s package (packaging/packaging.mk): exactly the client drivers' sources, a
# dkms.conf of the package's version, dkms as a dependency; dkms builds both modules
# from the unpacked package (its own source and build trees under $T, never the host's)
# against the guest kernel's headers, and each module carries the modalias of the
# ivshmem PCI device, so udev loads it when a channel appears (no boot argument).
source "$(dirname "$0")/../lib/common.sh"
cd "$DDVM_ROOT"
command -v dkms >/dev/null || t_fail "dkms missing: run 'make deps'"
KREL=$(cat "$BUILD/kernel/release" 2>/dev/null) || t_fail "build/kernel/release missing: run 'make' first"
[ -d "/lib/modules/$KREL/build" ] || t_skip "no headers for $KREL in /lib/modules/$KREL/build"
deb=$(find "$BUILD/deb" -maxdepth 1 -name 'ddvm-dkms_*_all.deb' 2>/dev/null | head -n1)
[ -n "$deb" ] || t_fail "no build/deb/ddvm-dkms_*_all.deb: run 'make deb'"
ver=$(dpkg-deb -f "$deb" Version)
src=usr/src/ddvm-$ver

# Contents: the tracked sources the two Kbuild directories compile, and nothing else.
git ls-files include/ddvm ring guest client-vm/net client-vm/blk |
	grep -E '(\.[ch]|/Kbuild)$' | sed "s|^|$src/|" >"$T/want"
printf '%s\n' "$src/Kbuild" "$src/dkms.conf" >>"$T/want"
dpkg-deb -c "$deb" | awk '$1 !~ /^d/ {print $6}' | sed 's|^\./||' >"$T/have"
sort -o "$T/want" "$T/want"
sort -o "$T/have" "$T/have"
diff -u "$T/want" "$T/have" || t_fail "the package's files differ from the client drivers' sources (- missing, + extra)"
[ "$(dpkg-deb -f "$deb" Package)" = ddvm-dkms ] || t_fail "package name is not ddvm-dkms"
dpkg-deb -f "$deb" Depends | grep -q '^dkms' || t_fail "the package does not depend on dkms"
dpkg-deb -x "$deb" "$T/root"
dpkg-deb -e "$deb" "$T/control"
grep -qx "PACKAGE_VERSION=\"$ver\"" "$T/root/$src/dkms.conf" || t_fail "dkms.conf's version is not the package's ($ver)"
grep -q "common.postinst ddvm \"$ver\"" "$T/control/postinst" || t_fail "postinst does not run dkms for ddvm $ver"

# dkms add + build, in trees of our own.
mkdir -p "$T/dkms"
dk() { dkms "$@" -m ddvm -v "$ver" --sourcetree "$T/root/usr/src" --dkmstree "$T/dkms"; }
t0=$(now_ms)
dk add >"$T/dkms.log" 2>&1 || { cat "$T/dkms.log"; t_fail "dkms add failed"; }
dk build -k "$KREL" >>"$T/dkms.log" 2>&1 || {
	cat "$T/dkms.log" "$T/dkms/ddvm/$ver/build/make.log" 2>/dev/null
	t_fail "dkms build for $KREL failed"
}
t_log "dkms build for $KREL: $(($(now_ms) - t0)) ms"
for m in ddvm_netfront ddvm_blkfront; do
	ko=$(find "$T/dkms/ddvm/$ver/$KREL" -name "$m.ko*" | head -n1)
	[ -n "$ko" ] || t_fail "dkms built no $m.ko for $KREL"
	modinfo -F alias "$ko" | grep -qx 'pci:v00001AF4d00001110sv\*sd\*bc\*sc\*i\*' ||
		t_fail "$m has no modalias for the ivshmem PCI device (1af4:1110)"
	modinfo -F vermagic "$ko" | grep -q "^$KREL " || t_fail "$m is not built for $KREL"
	t_log "$m: $(basename "$ko"), alias $(modinfo -F alias "$ko")"
done
echo "SUCCESS: $(basename "$deb"): $(wc -l <"$T/have") files; dkms builds ddvm_netfront and ddvm_blkfront for $KREL"
