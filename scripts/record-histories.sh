#!/usr/bin/env bash
# Record workflow histories from the Temporal dev server for the replay tests
# (workflows/replay_test.go), one JSON file per workflow in
# workflows/testdata/histories/, named after the workflow ID with "/" written
# as %2F and ":" as %3A (the replay test reads the ID back from the name).
#
# Usage: scripts/record-histories.sh WORKFLOW_ID...
#
# Record real runs of every workflow type, covering what the code can do: a
# demo cycle (`make demo`: two rounds, a task overdue, escalated and
# reassigned) and its unit children, a cancelled cycle, a yearly start. When
# a change to the workflows breaks the replay of a recorded history, running
# cycles would break the same way: version the change (workflow.GetVersion)
# rather than re-recording, and record new histories for the new behaviour.
#
# Record runs made without payload encryption (`DEMO_ENCRYPT=0 make demo`, programs without
# OHO_PAYLOAD_KEYS_FILE): the histories are committed and must replay without keys. A history
# holding encrypted payloads is refused.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TEMPORAL=$ROOT/.tools/bin/temporal
OUT=$ROOT/workflows/testdata/histories
[[ $# -gt 0 ]] || { echo "usage: scripts/record-histories.sh WORKFLOW_ID..." >&2; exit 2; }
[[ -x $TEMPORAL ]] || { echo "record-histories: no Temporal CLI in .tools/bin; run 'make up' first" >&2; exit 1; }
mkdir -p "$OUT"
for id in "$@"; do
	file=$OUT/$(printf '%s' "$id" | sed -e 's|/|%2F|g' -e 's|:|%3A|g').json
	tmp=$(mktemp "$OUT/.record.XXXXXX")
	if ! "$TEMPORAL" workflow show --address "${TEMPORAL_ADDRESS:-127.0.0.1:7233}" \
		--namespace "${TEMPORAL_NAMESPACE:-default}" --workflow-id "$id" --output json >"$tmp"; then
		rm -f "$tmp"
		echo "record-histories: could not fetch the history of $id" >&2
		exit 1
	fi
	# "binary/encrypted", the payloadcrypt marker, as a payload's metadata holds it (base64).
	if grep -q 'YmluYXJ5L2VuY3J5cHRlZA==' "$tmp"; then
		rm -f "$tmp"
		echo "record-histories: the history of $id holds encrypted payloads, which the replay tests cannot read without the key; record a run made without encryption (DEMO_ENCRYPT=0 make demo)" >&2
		exit 1
	fi
	chmod 644 "$tmp"
	mv "$tmp" "$file"
	echo "recorded $id -> ${file#"$ROOT"/}"
done
