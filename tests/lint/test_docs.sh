#!/bin/bash
# timeout: 60
# The docs stay true where a test can tell: no file of the tree names a file the tree
# lacks (tests/lint/doc_refs.py says what counts as a reference), and the README's
# count of real-VM tests is the number of tests/vm/test_*.sh.
source "$(dirname "$0")/../lib/common.sh"
cd "$DDVM_ROOT"
python3 tests/lint/doc_refs.py >"$T/refs" || {
	cat "$T/refs"
	t_fail "$(wc -l <"$T/refs") reference(s) to files the tree does not have"
}
have=$(find tests/vm -maxdepth 1 -name 'test_*.sh' | wc -l)
said=$(tr '\n' ' ' <README.md | grep -o '[0-9]\+ *real-VM tests' | grep -o '^[0-9]\+' || true)
[ -n "$said" ] || t_fail "README.md no longer says how many real-VM tests there are"
[ "$said" = "$have" ] || t_fail "README.md says $said real-VM tests; tests/vm has $have"
echo "SUCCESS: references resolve; README's $said real-VM tests"
