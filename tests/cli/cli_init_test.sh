#!/usr/bin/env bash
# `tandem init`: writes the example config (exactly the shipped file) and the
# data dir; refuses to overwrite without --force; a bad override fails with
# exit 2 naming the key and the variable, writing nothing.
#   cli_init_test.sh <tandem binary> <config/tandem.example.yaml>
set -euo pipefail
tandem=$1
example=$2
dir=$(mktemp -d "${TMPDIR:-/tmp}/tandem-init-XXXXXX")
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cd "$dir"

"$tandem" init > out.txt || fail "init failed: $(cat out.txt)"
cmp -s tandem.yaml "$example" || fail "tandem.yaml differs from the shipped example"
[ -d tandem-data ] || fail "data dir not created"
grep -q 'tandem serve --config tandem.yaml' out.txt || fail "no next step printed"

set +e
"$tandem" init > again.txt 2>&1; rc=$?
set -e
[ "$rc" = 1 ] || fail "second init exit $rc, want 1"
grep -q 'exists; pass --force' again.txt || fail "no overwrite hint: $(cat again.txt)"

TANDEM_DATA_DIR="$dir/elsewhere" "$tandem" init --config sub/t.yaml > /dev/null
[ -f sub/t.yaml ] && [ -d elsewhere ] || fail "--config path or TANDEM_DATA_DIR ignored"

set +e
TANDEM_SERVER__PORT=80x "$tandem" init --config bad.yaml > bad.txt 2>&1; rc=$?
set -e
[ "$rc" = 2 ] || fail "bad override exit $rc, want 2: $(cat bad.txt)"
grep -q 'server.port: must be an integer 0..65535, got "80x" (set by TANDEM_SERVER__PORT)' bad.txt \
  || fail "bad override not explained: $(cat bad.txt)"
[ ! -e bad.yaml ] || fail "a bad config was written"
echo OK
