#!/usr/bin/env bash
# `tandem log verify` on a damaged log: exit 1, naming the segment file and
# the byte offset; opening the log refuses to start instead of losing data.
#   cli_verify_test.sh <tandem binary>
set -euo pipefail
tandem=$1
dir=$(mktemp -d "${TMPDIR:-/tmp}/tandem-cli-XXXXXX")
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

ev() { printf '{"event_id":"e%s","event_type":"upsert","entity_type":"person","entity_id":"p1","payload":{"n":%s}}\n' "$1" "$1"; }
# Three separate appends: three batches in the one partition of p1.
for i in 1 2 3; do ev $i | "$tandem" log append --dir "$dir/log" --partitions 1 --file - >/dev/null; done

"$tandem" log verify --dir "$dir/log" > "$dir/ok.txt" || fail "verify of a healthy log failed"
grep -q 'OK' "$dir/ok.txt" || fail "healthy log not reported OK: $(cat "$dir/ok.txt")"

seg=$(find "$dir/log" -name '*.log' -size +0 | head -n1)
[ -n "$seg" ] || fail "no segment file found"
# Flip a byte inside the first batch's body (past its 52-byte header).
printf '\xff' | dd of="$seg" bs=1 seek=60 count=1 conv=notrunc status=none

set +e
"$tandem" log verify --dir "$dir/log" > "$dir/bad.txt" 2>&1
rc=$?
set -e
[ "$rc" = 1 ] || fail "verify exit code $rc, want 1: $(cat "$dir/bad.txt")"
grep -q "$(basename "$seg")" "$dir/bad.txt" || fail "verify does not name the file: $(cat "$dir/bad.txt")"
grep -q 'DAMAGED' "$dir/bad.txt" || fail "verify does not say DAMAGED"

set +e
"$tandem" log stats --dir "$dir/log" > "$dir/open.txt" 2>&1
rc=$?
set -e
[ "$rc" != 0 ] || fail "a log damaged before its tail opened: $(cat "$dir/open.txt")"
grep -q 'corruption' "$dir/open.txt" || fail "open error is not a corruption: $(cat "$dir/open.txt")"
grep -q "$(basename "$seg")" "$dir/open.txt" || fail "open error does not name the file"
echo "cli_verify_test: 1 passed, 0 failed"
