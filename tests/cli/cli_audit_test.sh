#!/usr/bin/env bash
# `tandem audit` and `tandem replay` end to end with the real binary:
# a log filled with the banking sample, `tandem serve` catching up (audit over
# HTTP: clean, identity holds), the offline commands refused while it runs,
# exit 3 for an unreachable server, offline audit clean after it stopped,
# replay of both legs (same digest, swapped, old dir kept), a restart that
# re-applies nothing, a partial replay forced in (audit exit 1), repaired
# (exit 0), and usage errors (exit 2).
#   cli_audit_test.sh <tandem binary> <banking events.ndjson>
set -euo pipefail
tandem=$1
events=$2
dir=$(mktemp -d "${TMPDIR:-/tmp}/tandem-audit-XXXXXX")
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill -KILL "$server_pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cd "$dir"
cat > tandem.yaml <<YAML
data_dir: $dir/data
server:
  listen: 127.0.0.1
  port: 0
YAML

"$tandem" log append --dir "$dir/data/log" --file "$events" > append.out || fail "log append"

start_server() {
  "$tandem" serve --config tandem.yaml > serve.out 2> serve.err &
  server_pid=$!
  url=""
  for _ in $(seq 1 200); do  # bounded: 20 s
    url=$(sed -n 's/^listening on \(http:[^ ]*\)$/\1/p' serve.out)
    [ -n "$url" ] && break
    kill -0 "$server_pid" 2>/dev/null || fail "serve exited: $(cat serve.err)"
    sleep 0.1
  done
  [ -n "$url" ] || fail "serve did not start: $(cat serve.err)"
}
stop_server() {
  kill -TERM "$server_pid"
  wait "$server_pid" || fail "serve did not stop cleanly: $(cat serve.err)"
  server_pid=""
}
# Audits over HTTP until clean (the legs catch up); bounded: 30 s.
audit_until_clean() {
  for _ in $(seq 1 300); do
    if "$tandem" audit --url "$url" --json > audit.json 2> audit.err; then return 0; fi
    sleep 0.1
  done
  fail "never clean: $(cat audit.json audit.err)"
}

start_server
audit_until_clean
grep -q '"clean":true' audit.json || fail "not clean: $(cat audit.json)"
grep -q '"holds":true' audit.json || fail "identity: $(cat audit.json)"
! grep -q '"holds":false' audit.json || fail "identity broken: $(cat audit.json)"

# Offline commands are refused while the server holds the data dir.
set +e
"$tandem" audit --offline --config tandem.yaml > off.out 2> off.err; rc=$?
set -e
[ "$rc" = 1 ] || fail "offline audit while serving: exit $rc"
grep -q "data dir in use by a running tandem serve; use --url" off.err || fail "$(cat off.err)"
set +e
"$tandem" replay --config tandem.yaml --leg graph > rep.out 2> rep.err; rc=$?
set -e
[ "$rc" = 1 ] || fail "replay while serving: exit $rc"
grep -q "data dir in use" rep.err || fail "$(cat rep.err)"
stop_server

# An unreachable server: exit 3.
set +e
"$tandem" audit --url http://127.0.0.1:1 > /dev/null 2> unreach.err; rc=$?
set -e
[ "$rc" = 3 ] || fail "unreachable: exit $rc ($(cat unreach.err))"

"$tandem" audit --offline --config tandem.yaml > off.out || fail "offline audit: $(cat off.out)"
grep -q "^graph: clean" off.out || fail "$(cat off.out)"
grep -q "^vector: clean" off.out || fail "$(cat off.out)"

# Replay both legs: equal digests, swapped, the old store kept.
for leg in graph vector; do
  "$tandem" replay --config tandem.yaml --leg $leg --from beginning > replay.out \
    || fail "replay $leg: $(cat replay.out)"
  live=$(sed -n 's/^live digest *//p' replay.out)
  rebuilt=$(sed -n 's/^rebuilt digest *//p' replay.out)
  [ -n "$live" ] && [ "$live" = "$rebuilt" ] || fail "$leg digests: $(cat replay.out)"
  old=$(sed -n 's/^swapped in; the old store is at //p' replay.out)
  [ -d "$old" ] || fail "$leg: old store not kept: $(cat replay.out)"
  [ -d "data/$leg" ] || fail "$leg: no store after the swap"
done

# The swapped-in stores serve after a restart; the legs re-apply nothing.
start_server
audit_until_clean
grep -q '"applied":0' audit.json || fail "re-applied after replay: $(cat audit.json)"
! grep -q '"applied":[1-9]' audit.json || fail "re-applied after replay: $(cat audit.json)"
stop_server

# A partial replay differs from the live store: kept without --force ...
set +e
"$tandem" replay --config tandem.yaml --leg graph --from 2 > partial.out; rc=$?
set -e
[ "$rc" = 1 ] || fail "partial replay without --force: exit $rc"
grep -q "digests differ: the live store is kept" partial.out || fail "$(cat partial.out)"
"$tandem" audit --offline --config tandem.yaml > /dev/null || fail "live store changed"
# ... swapped with --force: the audit finds it divergent, the repair fixes it.
"$tandem" replay --config tandem.yaml --leg graph --from 2 --force --keep-old false > forced.out \
  || fail "forced replay: $(cat forced.out)"
set +e
"$tandem" audit --offline --config tandem.yaml > div.out; rc=$?
set -e
[ "$rc" = 1 ] || fail "divergent audit: exit $rc ($(cat div.out))"
grep -q "^graph: DIVERGENT" div.out || fail "$(cat div.out)"
grep -q "missing: " div.out || fail "no missing ids listed: $(cat div.out)"
"$tandem" audit --offline --config tandem.yaml --repair > repair.out \
  || fail "repair did not make it clean: $(cat repair.out)"
grep -q "repaired [1-9]" repair.out || fail "$(cat repair.out)"
"$tandem" audit --offline --config tandem.yaml --repair --json > again.json || fail "second repair"
grep -q '"repaired":0' again.json || fail "second repair did something: $(cat again.json)"

# Usage errors: exit 2.
set +e
"$tandem" replay --config tandem.yaml --leg nope > /dev/null 2>&1; rc=$?
[ "$rc" = 2 ] || fail "--leg nope: exit $rc"
"$tandem" replay --config tandem.yaml --leg graph --from soon > /dev/null 2>&1; rc=$?
[ "$rc" = 2 ] || fail "--from soon: exit $rc"
"$tandem" audit --config tandem.yaml > /dev/null 2>&1; rc=$?
[ "$rc" = 2 ] || fail "--config without --offline: exit $rc"
set -e
echo PASS
