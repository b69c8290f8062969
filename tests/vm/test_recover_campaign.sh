#!/bin/bash
# timeout: 420
# A short mixed fault-injection campaign (20 faults, every kind of
# tests/campaign/campaign.sh) against a driver VM serving fio with verification: no
# client crash, no data error (fio verify mismatch), and every detected failure ends
# with the service restored.
source "$(dirname "$0")/../lib/common.sh"
out=$T/campaign.jsonl
CAMPAIGN_SEED=${CAMPAIGN_SEED:-1} "$DDVM_ROOT/tests/campaign/campaign.sh" "${CAMPAIGN_N:-20}" "$out" ||
	t_fail "campaign did not complete"
"$DDVM_ROOT/tests/campaign/report.sh" "$out" "$T/report" >/dev/null
sed -n '/| faults injected/,/data errors/p' "$T/report/report.md"
n=$(wc -l <"$out")
[ "$n" -ge "${CAMPAIGN_N:-20}" ] || t_fail "only $n trials recorded"
[ "$(jq -s 'map(select(.client_crash)) | length' "$out")" = 0 ] || t_fail "a client crashed"
[ "$(jq -s 'map(.client_data_errors) | add' "$out")" = 0 ] || t_fail "data errors"
[ "$(jq -s 'map(select(.service_ms == null)) | length' "$out")" = 0 ] || t_fail "a trial never got service back"
echo SUCCESS
