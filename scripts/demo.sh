#!/usr/bin/env bash
# The demo behind `make demo`: synthetic banking data through `tandem serve`
# (the embedded log, the graph leg and the vector leg), then a sanctions
# screening search for a misspelled name with its graph context.
#   scripts/demo.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
tandem="$PWD/$build/src/cli/tandem"
work=$(mktemp -d "${TMPDIR:-/tmp}/tandem-demo-XXXXXX")
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
export TANDEM_DATA_DIR="$work/data" TANDEM_SERVER__PORT=0

step "tandem $("$tandem" version | cut -d' ' -f2): a fresh config and data directory"
"$tandem" init --config "$work/tandem.yaml"

step "Start the server (log + graph leg + vector leg + HTTP API on 127.0.0.1)"
"$tandem" serve --config "$work/tandem.yaml" > "$work/serve.out" 2> "$work/serve.err" &
server_pid=$!
url=""
for _ in $(seq 1 300); do  # up to 30 s
  url=$(grep -o 'http://[0-9.]*:[0-9]*' "$work/serve.out" 2>/dev/null | head -n1 || true)
  [ -n "$url" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/serve.err"; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "server did not start"; cat "$work/serve.err"; exit 1; }
for _ in $(seq 1 300); do
  curl -fs "$url/readyz" > /dev/null && break
  sleep 0.1
done
echo "listening on $url (pid $server_pid)"

step "Generate synthetic banking data (seeded: the same every time)"
"$tandem" generate --seed 42 --out "$work/events.ndjson" --json > "$work/summary.json"
jq -r '"\(.counts.total) events: " + ([.counts.creates | to_entries[] | "\(.value) \(.key)"] | join(", "))
       + "; \(.counts.updates) updates, \(.counts.deletes) deletes"' "$work/summary.json"

step "Ingest: POST /v1/events, NDJSON in chunks of 5,000"
split -l 5000 "$work/events.ndjson" "$work/chunk-"
start=$(date +%s.%N)
for f in "$work"/chunk-*; do
  curl -fs -H 'Content-Type: application/x-ndjson' --data-binary @"$f" "$url/v1/events" \
    | jq -r '"  accepted \(.accepted), duplicates \(.duplicates), rejected \(.rejected)"'
done
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" -v n="$(wc -l < "$work/events.ndjson")" \
  'BEGIN { printf "  %d events acknowledged (fsync=always) in %.1f s: %.0f events/s\n", n, e - s, n / (e - s) }'

step "A producer retry changes nothing: the first chunk again"
curl -fs -H 'Content-Type: application/x-ndjson' --data-binary @"$work/chunk-aa" "$url/v1/events" \
  | jq -r '"  accepted \(.accepted), duplicates \(.duplicates) (answered with their original offsets)"'

step "Bad input is refused at the door, naming the field and the reason"
curl -s -H 'Content-Type: application/json' \
  --data '{"event_type":"merge","entity_type":"Person","entity_id":"","payload":{}}' "$url/v1/events" \
  | jq -r '.results[0].errors[] | "  " + .'

step "Wait until both legs have applied everything"
for _ in $(seq 1 1200); do  # up to 120 s
  lag=$(curl -fs "$url/v1/admin/legs" | jq '[.legs[].lag[].lag] | add // 0')
  [ "$lag" = 0 ] && break
  sleep 0.1
done
curl -fs "$url/v1/admin/legs" | jq -r '.legs[] | "  \(.name) leg: \(.stats.applied) applied, \(.stats.skipped_duplicate + .stats.skipped_stale) skipped, \(.stats.dead_lettered_permanent + .stats.dead_lettered_exhausted + .stats.dead_lettered_undecodable) dead-lettered, lag \([.lag[].lag] | add // 0), breaker \(.breaker)"'

query=$(jq -r '.sanctioned[1].query' "$work/summary.json")
expected_id=$(jq -r '.sanctioned[1].entity_id' "$work/summary.json")
expected=$(jq -r '.sanctioned[1] | "\(.entity_id) (\(.customer_name), listed on \(.list) as \"\(.listed_name)\")"' "$work/summary.json")
step "Screening: who is \"$query\"? (vector search, then graph context for each hit)"
echo "  expected: $expected"
q=$(jq -rn --arg q "$query" '$q | @uri')
curl -fs "$url/v1/search?q=$q&k=5&type=person&type=company&enrich=1" > "$work/search.json"
jq -r --arg want "$expected_id" '.hits | to_entries[] | .value as $h
  | "  \(.key + 1). \($h.score * 1000 | round / 1000)  \($h.entity_id)  \($h.payload.name)  (\($h.payload.nationality // $h.payload.country // "?"))"
    + (if $h.entity_id == $want then "   <- the listed customer" else "" end)' "$work/search.json"
echo "  graph context of $expected_id (as the analyst opens it):"
jq -r --arg want "$expected_id" '(first(.hits[] | select(.entity_id == $want)) // .hits[0]).graph.edges | group_by(.label)[] | "    \(.[0].label): " + ([.[] | "\(.from) → \(.to)"] | .[0:4] | join(", ")) + (if length > 4 then ", … (\(length))" else "" end)' "$work/search.json"

director=$(jq -r '.planted.sanctioned_director' "$work/summary.json")
dname=$(jq -r '.name' <<< "$director")
step "The planted case: $dname ($(jq -r '.person' <<< "$director")), on a sanctions list, directs a company whose account pays customers"
q=$(jq -rn --arg q "$(jq -r '.sanctioned[0].query' "$work/summary.json")" '$q | @uri')
curl -fs "$url/v1/search?q=$q&k=1&type=person&enrich=1" \
  | jq -r '.hits[0] | "  best match for \"\(.text)\": \(.entity_id) score \(.score * 1000 | round / 1000)", (.graph.edges[] | select(.label == "lists" or .label == "director_of" or .label == "owns") | "    \(.from) -\(.label)-> \(.to)")'
from=$(jq -r '.sanction_entry' <<< "$director")
to=$(jq -r '.recipient_accounts[0]' <<< "$director")
echo "  shortest path from the list entry $from to the customer account $to:"
curl -fs "$url/v1/graph/path?from=$from&to=$to&max_depth=6" \
  | jq -r '"    " + ([.edges[] | "\(.from) -\(.label)-> \(.to)"] | join("  "))'

id=$(jq -r '.person' <<< "$director")
step "Both stores agree with the log about $id"
curl -fs "$url/v1/entities/$id" | jq -r '"  agree: \(.agree); graph: \(.graph.label) v\(.graph.version) at \(.graph.position.topic)/\(.graph.position.partition)@\(.graph.position.offset); vector: indexed \(.vector.indexed), text \"\(.vector.text)\""'

step "Metrics (GET /metrics, Prometheus text format): a few lines"
curl -fs "$url/metrics" | grep -E '^tandem_(events_published_total|leg_events_total|embeddings_computed_total|embeddings_skipped_total|leg_breaker_state)' \
  | grep -v ' 0$' | sed 's/^/  /' | head -n 20

step "Stop: SIGTERM drains requests and legs, commits positions, closes the stores"
kill -TERM "$server_pid"
rc=0
wait "$server_pid" || rc=$?
server_pid=""
sed 's/^/  /' "$work/serve.err" | tail -n 3
echo "  exit code $rc"
