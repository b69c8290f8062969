#!/bin/bash
# timeout: 400
# Every shell script git tracks passes shellcheck (settings in .shellcheckrc; a
# deliberate exception is a `# shellcheck disable=SCnnnn` line with its reason).
# A shell script: a *.sh file, or any other file whose first line is a sh or bash
# shebang (.ci/run).
source "$(dirname "$0")/../lib/common.sh"
cd "$DDVM_ROOT"
command -v shellcheck >/dev/null || t_fail "shellcheck missing: run scripts/deps.sh"
files=()
while IFS= read -r f; do
	[ -f "$f" ] || continue # deleted in the work tree, not yet in the index
	case "$f" in
	*.sh) files+=("$f") ;;
	*)
		first=""
		IFS= read -r first <"$f" 2>/dev/null || true
		[[ $first =~ ^#!\ *(/usr)?/bin/(env\ +)?(ba)?sh([[:space:]]|$) ]] && files+=("$f")
		;;
	esac
done < <(git ls-files)
[ ${#files[@]} -gt 0 ] || t_fail "no shell scripts found"
if ! shellcheck -f gcc "${files[@]}" >"$T/sc.out" 2>&1; then
	cat "$T/sc.out"
	t_fail "shellcheck: $(wc -l <"$T/sc.out") finding(s) in $(cut -d: -f1 "$T/sc.out" | sort -u | wc -l) file(s)"
fi
echo "SUCCESS: ${#files[@]} shell scripts pass shellcheck"
