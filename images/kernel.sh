#!/bin/bash
# The guest kernel: Debian's stock kernel, taken from the package archive and unpacked
# under build/kernel/ (never installed into the host's /boot).
#
#   images/kernel.sh release   print the kernel release linux-image-amd64 points to
#                              (e.g. 6.1.0-56-amd64); warns on stderr when the host's
#                              headers (/usr/src/linux-headers-REL) do not match
#   images/kernel.sh check     like release, but fails when the headers do not match
#   images/kernel.sh fetch     download linux-image-REL with apt-get download, unpack it
#                              into build/kernel/root, link build/kernel/vmlinuz and
#                              record the release in build/kernel/release (idempotent)
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
KBUILD=$BUILD/kernel
dl=

die() { echo "kernel.sh: $*" >&2; exit 1; }
warn() { echo "kernel.sh: $*" >&2; }

# The release a linux-*-amd64 meta package depends on: "linux-image-6.1.0-56-amd64"
# -> "6.1.0-56-amd64". apt's candidate first (what `apt-get download` fetches), then
# the installed package's metadata (works without apt lists).
meta_release() { # META-PACKAGE PREFIX
	local meta=$1 prefix=$2 dep
	dep=$(apt-cache depends "$meta" 2>/dev/null |
		sed -n "s/^ *Depends: ${prefix}\([0-9][^ ]*-amd64\)\$/\1/p" | head -n1)
	if [ -z "$dep" ]; then
		dep=$(dpkg-query -W -f='${Depends}' "$meta" 2>/dev/null |
			tr ',' '\n' | sed -n "s/^ *${prefix}\([0-9][^ (]*-amd64\).*/\1/p" | head -n1)
	fi
	echo "$dep"
}

image_release() {
	local rel
	rel=$(meta_release linux-image-amd64 linux-image-)
	[ -n "$rel" ] || die "cannot tell which kernel linux-image-amd64 points to; run 'apt-get update' and re-run"
	echo "$rel"
}

# Compare the image's release and package version with the host's headers.
# Prints a problem description (empty when all is well).
headers_problem() {
	local rel=$1 hrel iver hver
	if [ ! -d "/usr/src/linux-headers-$rel" ]; then
		hrel=$(meta_release linux-headers-amd64 linux-headers-)
		echo "linux-image-amd64 points to $rel but /usr/src/linux-headers-$rel is missing" \
			"(installed headers: ${hrel:-none}); run 'apt-get update && apt-get install" \
			"linux-headers-amd64' (or 'make deps') and re-run"
		return 0
	fi
	iver=$(apt-cache policy "linux-image-$rel" 2>/dev/null | sed -n 's/^ *Candidate: //p')
	hver=$(dpkg-query -W -f='${Version}' "linux-headers-$rel" 2>/dev/null || true)
	if [ -n "$iver" ] && [ -n "$hver" ] && [ "$iver" != "(none)" ] && [ "$iver" != "$hver" ]; then
		echo "linux-image-$rel is version $iver but linux-headers-$rel is $hver;" \
			"run 'apt-get update && apt-get install linux-headers-amd64' and re-run"
	fi
}

# release + headers problem, cached in build/kernel/.release (apt-cache takes about a
# second and mk/config.mk asks on every make). The cache is valid while it is newer
# than apt's package lists, dpkg's status and /usr/src.
CACHE=$KBUILD/.release
lookup() { # sets rel and prob
	local f
	if [ -f "$CACHE" ]; then
		for f in /var/lib/apt/lists /var/lib/dpkg/status /usr/src; do
			[ -e "$f" ] && [ "$f" -nt "$CACHE" ] && { rm -f "$CACHE"; break; }
		done
	fi
	if [ -f "$CACHE" ]; then
		rel=$(head -n1 "$CACHE")
		prob=$(tail -n +2 "$CACHE")
		[ -n "$rel" ] && return 0
	fi
	rel=$(image_release)
	prob=$(headers_problem "$rel")
	if mkdir -p "$KBUILD" 2>/dev/null && printf '%s\n%s\n' "$rel" "$prob" >"$CACHE.$$"; then
		mv "$CACHE.$$" "$CACHE" 2>/dev/null || true
	fi
}

cmd_release() {
	local rel prob
	lookup
	[ -z "$prob" ] || warn "warning: $prob"
	echo "$rel"
}

cmd_check() {
	local rel prob
	lookup
	[ -z "$prob" ] || die "$prob"
	echo "$rel"
}

cmd_fetch() {
	local rel ver deb prob
	lookup
	[ -z "$prob" ] || warn "warning: $prob"
	if [ -f "$KBUILD/release" ] && [ "$(cat "$KBUILD/release")" = "$rel" ] &&
		[ -f "$KBUILD/root/boot/vmlinuz-$rel" ] && [ -d "$KBUILD/root/lib/modules/$rel" ] &&
		[ -L "$KBUILD/vmlinuz" ]; then
		return 0 # already done
	fi
	command -v apt-get >/dev/null || die "apt-get not found (ddvm needs a Debian host)"
	command -v dpkg-deb >/dev/null || die "dpkg-deb not found"
	echo "kernel.sh: fetching linux-image-$rel from the Debian archive"
	mkdir -p "$KBUILD"
	# apt-get download drops privileges to _apt: download into a directory it can
	# write, then move the package under build/.
	dl=$(mktemp -d "${TMPDIR:-/tmp}/ddvm-kernel.XXXXXX")
	trap 'rm -rf "$dl"' EXIT
	chmod 0755 "$dl"
	if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then chown _apt "$dl"; fi
	(cd "$dl" && apt-get download -q "linux-image-$rel") ||
		die "apt-get download linux-image-$rel failed (run 'apt-get update' and re-run)"
	deb=$(find "$dl" -maxdepth 1 -name "linux-image-${rel}_*.deb" | head -n1)
	[ -n "$deb" ] || die "apt-get download produced no linux-image-$rel package"
	rm -rf "$KBUILD/root" "$KBUILD"/linux-image-*.deb "$KBUILD/release" "$KBUILD/version"
	mv "$deb" "$KBUILD/"
	deb=$KBUILD/$(basename "$deb")
	dpkg-deb -x "$deb" "$KBUILD/root" || die "dpkg-deb -x $deb failed"
	[ -f "$KBUILD/root/boot/vmlinuz-$rel" ] || die "$deb has no boot/vmlinuz-$rel"
	ver=$(dpkg-deb -f "$deb" Version)
	# Only the image and modules are needed; the .deb itself is not kept.
	rm -f "$deb"
	ln -sfn "root/boot/vmlinuz-$rel" "$KBUILD/vmlinuz"
	echo "$ver" >"$KBUILD/version"
	echo "$rel" >"$KBUILD/release"
	echo "kernel.sh: linux-image-$rel unpacked in $KBUILD/root"
}

case "${1:-}" in
release) cmd_release ;;
check) cmd_check ;;
fetch) cmd_fetch ;;
*)
	echo "usage: $0 release|check|fetch" >&2
	exit 2
	;;
esac
