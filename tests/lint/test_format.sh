#!/bin/bash
# timeout: 120
# Every C file git tracks is formatted as .clang-format says (`make format` fixes it).
# Lists the files that differ and the first lines of the change clang-format wants.
source "$(dirname "$0")/../lib/common.sh"
cd "$DDVM_ROOT"
command -v clang-format >/dev/null || t_fail "clang-format missing: run scripts/deps.sh"
bad=0
while IFS= read -r f; do
	if ! clang-format "$f" | cmp -s - "$f"; then
		echo "not formatted: $f"
		clang-format "$f" | diff -u "$f" - | sed -n '1,12p' || true
		bad=$((bad + 1))
	fi
done < <(git ls-files '*.c' '*.h')
[ "$bad" = 0 ] || t_fail "$bad file(s) not formatted: run 'make format'"
echo "SUCCESS: $(git ls-files '*.c' '*.h' | wc -l) C files formatted"
