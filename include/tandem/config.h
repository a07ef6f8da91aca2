// The configuration of a tandem process (`tandem serve --config tandem.yaml`):
// one YAML file, every key overridable by a TANDEM_* environment variable,
// validated as a whole before anything starts.
//
//   TANDEM_ASSIGN_OR_RETURN(Config c, LoadConfigFile("tandem.yaml", EnvironmentOverrides()));
//   c.log.dir == c.data_dir + "/log"   // derived unless set
//
// The file (config/tandem.example.yaml is the commented reference; `tandem
// init` writes it) has these sections, all optional:
//
//   data_dir: ./tandem-data
//   server: {listen, port, auth_token, max_body, threads, shutdown_timeout}
//   log: {partitions, fsync, fsync_interval, segment_size, segment_age,
//         retention_age, retention_size, compression, dedup_window, dedup_entries}
//   bus: {kind: embedded|redis, redis: {host, port, password, db, prefix,
//         partitions, connect_timeout, command_timeout, connections,
//         reconnect_backoff, reconnect_backoff_max, dedup_window, max_len,
//         retention_age, retention_check, lease_ttl, lease_renew,
//         max_poll_interval, block,
//         fetch_count, topic_refresh, max_record_size}}
//   events: {max_event_size, max_depth, max_entity_id, max_text, max_batch_size,
//            max_batch_items, allow_unknown_fields}
//   graph: {enabled, dir, schema_file, sync, tombstone_retention, block_cache,
//           write_buffer, known_vertices, leg: {...}}
//   vector: {enabled, dir, sync, tombstone_retention, snapshot_every,
//            text_fields: {type: [field, ...]}, hnsw: {m, ef_construction, ef_search},
//            embedder: {kind: hash|http, dimension, min_ngram, max_ngram,
//                       word_weight, seed, url, model, api_key, max_batch,
//                       timeout, max_attempts, max_text}, leg: {...}}
//   enrichment: {enabled, dir, enrichers: [{name, kind, enabled, types, topics,
//                auto_process, url, fields, api_key, timeout, concurrency, ...}]}
//   stages: {graph: {publish, topic}, vector: {publish, topic}}
//   leg (inside graph/vector/enrichers): {workers, batch_events, batch_delay, max_in_flight,
//        from_beginning, ce_types, max_age, commit_interval, retry: {initial_backoff, max_backoff,
//        multiplier, jitter, max_attempts}, breaker: {failure_threshold,
//        open_duration}, redelivery: {backoff_base, backoff_max, max_deliveries}}
//
// Values: durations are a number with a unit ("250us", "5ms", "10s", "2m",
// "24h", "7d"); sizes are bytes or a number with a unit ("4096", "64KiB",
// "128MiB", "1GiB"); booleans are true/false.
//
// Environment: TANDEM_<PATH> overrides the key at PATH, where "__" separates
// nesting levels and the rest is the key in upper case:
//   TANDEM_DATA_DIR=/var/lib/tandem          → data_dir
//   TANDEM_SERVER__PORT=9000                 → server.port
//   TANDEM_VECTOR__EMBEDDER__API_KEY=...     → vector.embedder.api_key
//   TANDEM_ENRICHMENT__ENRICHERS__0__URL=... → enrichment.enrichers[0].url
//                                              (a list item by its 0-based index;
//                                              the item must exist in the file)
// A variable whose first segment names a top-level key is applied (and must
// name a real key); others (TANDEM_CRASH_ROUNDS, ...) are not configuration
// and are ignored.
//
// Errors: InvalidArgument listing every problem, each naming the key (or the
// variable) and the reason: "server.port: must be an integer 0..65535, got
// \"80x\"", "graph.leg.wrokers: unknown key", "server.prot: unknown key (set
// by TANDEM_SERVER__PROT)". Nothing is half-applied: a bad config loads nothing.
//
// Thread safety: pure functions over values.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/bus.h"
#include "tandem/embed.h"
#include "tandem/enrich.h"
#include "tandem/event.h"
#include "tandem/graph.h"
#include "tandem/leg.h"
#include "tandem/log.h"
#include "tandem/stage.h"
#include "tandem/status.h"
#include "tandem/vector.h"

namespace tandem {

struct ServerConfig {
  // Address the HTTP API binds to. Loopback by default: exposing tandem
  // beyond the machine is a decision (set auth_token first).
  std::string listen = "127.0.0.1";
  uint16_t port = 7400;  // 0: any free port (printed at start)
  // Bearer token required by write and admin routes when non-empty.
  std::string auth_token;
  // Largest request body (default 16 MiB); bigger ones get 413.
  uint64_t max_body_bytes = uint64_t{16} << 20;
  uint32_t threads = 8;  // HTTP worker threads (1..256)
  // How long SIGTERM waits for in-flight requests and the legs to drain.
  int64_t shutdown_timeout_us = 10'000'000;
  // GET /v1/search&enrich=N: at most this many graph vertices of context per
  // hit (1..10,000; default 50), so a hub entity cannot blow up a response.
  uint32_t search_context_vertices = 50;
  // GET /v1/entities/{id}: edges counted per label and direction, at most
  // (1..10,000,000; default 10,000; beyond it the counts say truncated) ...
  uint32_t entity_edge_summary = 10'000;
  // ... and edges listed as neighbours (0..10,000; default 20).
  uint32_t entity_neighbors = 20;
};

struct EmbedderConfig {
  std::string kind = "hash";  // "hash" or "http"
  HashEmbedderOptions hash;   // used when kind == "hash"
  HttpEmbedderOptions http;   // used when kind == "http" (url, model, dimension required)
};

// graph.postgres: the PostgreSQL graph store (tandem/pggraph.h), used when
// graph.backend is "postgres". The url is never logged.
struct PostgresGraphConfig {
  std::string url;                       // required with backend postgres
  std::string table_prefix = "tandem_graph";
  uint32_t pool_size = 4;                // connections (2..64)
  int64_t statement_timeout_us = 30'000'000;
  int64_t acquire_timeout_us = 30'000'000;
};

// vector.pgvector: the pgvector store (tandem/pgvector.h), used when
// vector.backend is "pgvector". HNSW parameters come from vector.hnsw.
struct PgVectorConfig {
  std::string url;                       // required with backend pgvector
  std::string table_prefix = "tandem_vector";
  std::string distance = "cosine";       // cosine | l2 | inner_product
  int64_t statement_timeout_us = 30'000'000;
  bool create_extension = true;          // CREATE EXTENSION IF NOT EXISTS vector
};

struct GraphConfig {
  bool enabled = true;
  // "rocksdb" (embedded, the store.* keys) or "postgres" (graph.postgres).
  std::string backend = "rocksdb";
  PostgresGraphConfig postgres;
  // JSON schema file (config/banking_schema.json's format); empty: the
  // built-in banking schema.
  std::string schema_file;
  GraphStoreOptions store;  // store.dir defaults to <data_dir>/graph
  LegOptions leg;           // leg.name "graph"
};

struct VectorConfig {
  bool enabled = true;
  // "hnsw" (embedded RocksDB + hnswlib, the store.* keys) or "pgvector".
  std::string backend = "hnsw";
  PgVectorConfig pgvector;
  EmbedderConfig embedder;
  VectorStoreOptions store;  // store.dir defaults to <data_dir>/vector
  LegOptions leg;            // leg.name "vector"
};

// One enricher and its leg (tandem/enrich.h). The leg's name, types and dir
// are derived: name, types, <enrichment.dir>/<name>.
struct EnricherConfig {
  std::string name;  // required, [a-z0-9_-]{1,64}, unique
  std::string kind;  // required: "http" or "network_risk" (needs graph.enabled)
  bool enabled = true;  // false: this enricher's leg is not built (the stage does nothing)
  std::vector<std::string> types = {"person", "company"};
  HttpEnricherOptions http;  // kind http: url and fields required
  NetworkRiskOptions network_risk;
  EnrichLegOptions leg;  // concurrency, timeout, max_attempts, backoffs, breaker, leg
};

struct EnrichmentConfig {
  bool enabled = false;  // off by default: no enrichment leg starts
  std::string dir;       // state stores; defaults to <data_dir>/enrich
  std::vector<EnricherConfig> enrichers;
};

// Chained stages (tandem/stage.h): what the store legs publish downstream.
struct StagesConfig {
  StageConfig graph;   // publish: graph.applied CloudEvents of what the graph leg applied
  StageConfig vector;  // publish: vector.applied
};

struct Config {
  std::string data_dir = "tandem-data";
  ServerConfig server;
  LogOptions log;  // log.dir defaults to <data_dir>/log
  BusConfig bus;   // kind "embedded" (the log above) or "redis" (tandem/bus.h)
  EventParserOptions events;
  GraphConfig graph;
  VectorConfig vector;
  EnrichmentConfig enrichment;
  StagesConfig stages;
};

// NAME=VALUE pairs of TANDEM_* variables (the whole environment may be
// passed; only TANDEM_* names are looked at).
using EnvironmentMap = std::map<std::string, std::string>;

// The TANDEM_* variables of this process's environment.
EnvironmentMap EnvironmentOverrides();

// Parses `yaml` (empty: all defaults), applies `env`, validates, and derives
// the directories. `source` names the text in errors ("tandem.yaml").
Result<Config> ParseConfig(std::string_view yaml, const EnvironmentMap& env,
                           std::string_view source = "config");

// Reads and parses the file at `path` (NotFound naming it when missing).
Result<Config> LoadConfigFile(const std::string& path, const EnvironmentMap& env);

// The commented example configuration (config/tandem.example.yaml), every
// key at its default; what `tandem init` writes.
std::string ExampleConfigYaml();

}  // namespace tandem
