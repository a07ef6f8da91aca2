#!/usr/bin/env bash
# `tandem generate`: line counts as asked, the same bytes for the same seed
# (stdout and --out alike), a summary with the planted answers, bad flags
# exit 2 naming the flag, and `tandem log append` accepts every line.
#   cli_generate_test.sh <tandem binary>
set -euo pipefail
tandem=$1
dir=$(mktemp -d "${TMPDIR:-/tmp}/tandem-generate-XXXXXX")
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cd "$dir"

small=(--persons 300 --companies 80 --transactions 2000 --communications 200 --sanctioned 10)

"$tandem" generate --seed 5 "${small[@]}" > a.ndjson 2> a.err || fail "generate failed: $(cat a.err)"
[ ! -s a.err ] || fail "stderr without --summary: $(cat a.err)"
count() { grep -c "\"event_type\":\"$1\",\"entity_type\":\"$2\"" "$3" || true; }
[ "$(count create person a.ndjson)" = 300 ] || fail "persons: $(count create person a.ndjson)"
[ "$(count create company a.ndjson)" = 80 ] || fail "companies"
[ "$(count create transaction a.ndjson)" = 2000 ] || fail "transactions"
[ "$(count create communication a.ndjson)" = 200 ] || fail "communications"
[ "$(count create sanction_entry a.ndjson)" = 10 ] || fail "sanction entries"
accounts=$(count create account a.ndjson)
[ "$accounts" -ge 380 ] && [ "$accounts" -le 1140 ] || fail "accounts: $accounts"

# Determinism: a second run and the --out file hold the same bytes; another seed differs.
"$tandem" generate --seed 5 "${small[@]}" > b.ndjson
cmp -s a.ndjson b.ndjson || fail "same seed, different output"
"$tandem" generate --seed 5 "${small[@]}" --out c.ndjson --json > summary.json
cmp -s a.ndjson c.ndjson || fail "--out differs from stdout"
"$tandem" generate --seed 6 "${small[@]}" > d.ndjson
! cmp -s a.ndjson d.ndjson || fail "another seed, same output"

# The JSON summary counts every line and names the planted patterns.
total=$(wc -l < a.ndjson)
grep -q "\"total\":$total[,}]" summary.json || fail "summary total != $total lines: $(head -c 300 summary.json)"
grep -q '"fan_in":{"account":"a-' summary.json || fail "no fan-in in the summary"
grep -q '"sanctioned_director":{"person":"p-' summary.json || fail "no director in the summary"
"$tandem" generate --seed 5 "${small[@]}" --summary > /dev/null 2> text.txt
grep -q "generated $total events (seed 5)" text.txt || fail "text summary: $(cat text.txt)"
grep -q 'screening queries' text.txt || fail "no screening queries: $(cat text.txt)"

# Updates off: creates only.
"$tandem" generate --seed 5 "${small[@]}" --updates 0 > e.ndjson
! grep -q '"event_type":"update"' e.ndjson || fail "--updates 0 still updates"

# Bad values: exit 2, the flag named, nothing on stdout.
bad() {
  local want=$1; shift
  set +e
  "$tandem" generate "$@" > bad.out 2> bad.err; local rc=$?
  set -e
  [ "$rc" = 2 ] || fail "$* exit $rc, want 2: $(cat bad.err)"
  grep -q -- "$want" bad.err || fail "$* did not name $want: $(cat bad.err)"
  [ ! -s bad.out ] || fail "$* wrote to stdout"
}
bad '--persons: must be >= 0, got -5' --persons -5
bad '--transactions: must be a non-negative integer' --transactions lots
bad '--updates: must be a share in 0..1, got "1.5"' --updates 1.5
bad '--early: must be a share in 0..1' --early -0.1
bad '--communications: needs --persons' --persons 1 --communications 3

# The log takes every generated event.
"$tandem" log append --dir log --file a.ndjson > append.txt || fail "append: $(cat append.txt)"
grep -q "appended $total events (0 duplicates acknowledged with their original offset, 0 rejected)" \
  append.txt || fail "append summary: $(cat append.txt)"
echo OK
