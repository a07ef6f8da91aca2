#!/usr/bin/env bash
# The demo behind `make demo`: the banking sample through the embedded log.
#   scripts/demo.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
tandem="$build/src/cli/tandem"
data=$(mktemp -d "${TMPDIR:-/tmp}/tandem-demo-XXXXXX")
trap 'rm -rf "$data"' EXIT
log="$data/log"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "tandem $("$tandem" version | cut -d' ' -f2): the banking sample into an embedded log ($log)"
echo "$(wc -l < examples/banking/events.ndjson) events: persons, companies, accounts, transactions, communications"
"$tandem" log append --dir "$log" --file examples/banking/events.ndjson --partitions 4

step "Topics: one per entity type, partitioned by entity_id"
"$tandem" log stats --dir "$log"

step "The person topic, partition 0 (key = entity_id, id = event_id)"
"$tandem" log read --dir "$log" --topic person --partition 0 --max 5

step "Producer retries change nothing: the same file again is acknowledged with the original offsets"
"$tandem" log append --dir "$log" --file examples/banking/events.ndjson
"$tandem" log stats --dir "$log"

step "A subscription (the future graph leg) reads everything back and commits its position"
"$tandem" log consume --dir "$log" --subscription graph
step "Consuming again from the committed position finds nothing new"
"$tandem" log consume --dir "$log" --subscription graph

step "Bad input is refused at the door, naming the field and the reason"
printf '%s\n' '{"event_type":"merge","entity_type":"Person","entity_id":"","version":0}' \
  | "$tandem" log append --dir "$log" --file - || true

step "Every batch of every segment checks out (CRC-32C, offsets, indexes)"
"$tandem" log verify --dir "$log"
