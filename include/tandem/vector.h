// The embedded vector store: one document per entity, its embedding in an
// HNSW index per entity type for k-nearest-neighbour search, written by the
// vector leg through the store contract (tandem/store.h).
//
// RocksDB is the durable truth: per entity the applied marker, the entity
// type, the canonical payload (metadata used by filters and returned by
// search), the hash of the embedded text and the vector. The HNSW indexes
// (src/vindex, hnswlib) are derived: snapshots are written now and then (temp
// file → fdatasync → rename, with a checksum and the store sequence they
// reflect); on open each index is loaded from its snapshot and caught up from
// a change journal kept in RocksDB, or rebuilt from the documents when the
// snapshot is missing, corrupt or of another model.
//
// What gets embedded (VectorStoreOptions::text_fields, DESIGN §5):
//  * the event's text_for_embedding when present ("" = no text);
//  * else, for an entity type with configured text fields, those payload
//    members (strings, or arrays of strings) of the new payload, joined by
//    " " in the configured order;
//  * else an `update` keeps the entity's previous text, and create/upsert
//    leave it without text.
// Then, by a 128-bit hash of that text (XXH3-128):
//  * text unchanged → metadata-only update, no embedder call
//    (counted in VectorCounters::embeddings_skipped);
//  * text changed → re-embedded, the vector replaced;
//  * no text → the document is kept (marker, metadata) but leaves the kNN
//    index (it is not searchable); delete → removed, a tombstone keeps the
//    marker. An entity without any text is still applied: the store agrees
//    with the log about it, there is just nothing to search.
//
// Embedding happens inside ApplyBatch, once per batch for all texts that
// changed (deduplicated). A transient embedder error (Unavailable, IOError,
// Busy) fails the whole call (nothing applied; the leg retries with backoff
// and its breaker opens on an outage); a permanent one (InvalidArgument,
// FailedPrecondition such as a dimension mismatch, TooLarge) is isolated to
// the events whose text caused it, reported kPermanentError with the
// embedder's message, and the rest of the batch applies.
//
// Durability: like the graph store, one RocksDB WriteBatch per ApplyBatch
// (documents, markers, journal entry, positions), WAL fdatasync'd when
// VectorStoreOptions::sync. The in-memory index is updated after the commit.
//
// Thread safety: safe for concurrent use; ApplyBatch calls are serialised,
// Search and Get run concurrently with them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/embed.h"
#include "tandem/env.h"
#include "tandem/status.h"
#include "tandem/store.h"

namespace tandem {

class Log;
class Leg;
struct LegOptions;

struct VectorStoreOptions {
  // RocksDB directory (created when missing); snapshots go to <dir>/index/.
  // Required.
  std::string dir;
  // The embedder (required; must outlive the store). Its model_id() and
  // dimension() are recorded: opening a store with another model fails
  // (FailedPrecondition) because the stored vectors would not be comparable.
  Embedder* embedder = nullptr;
  // entity_type → payload members whose text is embedded when an event has no
  // text_for_embedding. Default: the banking schema's names
  // (person: name, aliases; company: name, aliases).
  std::map<std::string, std::vector<std::string>> text_fields = {
      {"person", {"name", "aliases"}}, {"company", {"name", "aliases"}}};
  // HNSW parameters of every index (see src/vindex/README.md for the measured
  // trade-offs behind the defaults).
  size_t hnsw_m = 16;
  size_t hnsw_ef_construction = 100;
  size_t hnsw_ef_search = 64;
  // Threads inserting a batch's vectors into the indexes after its commit
  // (default 1: the ApplyBatch thread; 1..64). hnswlib inserts distinct
  // labels in parallel, which pays only with idle cores: on a busy 2-core box
  // 2 threads were slower (src/vector/README.md).
  size_t index_insert_threads = 1;
  // A snapshot of an index is written after this many changes to it since the
  // last one (default 10000; 0 = only on Close/destruction and SaveSnapshots).
  uint64_t snapshot_every_changes = 10'000;
  // true (default): fdatasync of the RocksDB WAL before ApplyBatch returns.
  bool sync = true;
  // Clock for markers and tombstone expiry; nullptr = SystemClock().
  Clock* clock = nullptr;
  // As GraphStoreOptions::tombstone_retention_us (default 7 days; < 0 forever).
  int64_t tombstone_retention_us = int64_t{7} * 24 * 3600 * 1'000'000;
  // File system for snapshots (nullptr = the POSIX one). RocksDB uses its own.
  FileSystem* fs = nullptr;
  size_t block_cache_bytes = size_t{64} << 20;
  size_t write_buffer_bytes = size_t{16} << 20;
};

// A payload filter: top-level member `field` compared with `value`.
struct FieldFilter {
  enum class Op { kEq, kNe, kLt, kLe, kGt, kGe };
  std::string field;
  Op op = Op::kEq;
  // JSON scalar text: "\"GB\"", "42", "true". Numbers compare numerically,
  // strings bytewise; a member of another type (or missing) never matches.
  std::string value;
};

struct VectorQuery {
  // Exactly one of text (embedded with the store's embedder) or vector.
  std::optional<std::string> text;
  std::optional<std::vector<float>> vector;
  size_t k = 10;                          // 1..10000
  std::vector<std::string> entity_types;  // empty: every type
  std::vector<FieldFilter> filters;       // all must hold
  bool exact = false;                     // brute force instead of HNSW
  size_t ef = 0;                          // 0: the store's hnsw_ef_search
};

struct VectorHit {
  std::string entity_id;
  std::string entity_type;
  float score = 0;              // cosine similarity, higher is closer
  std::string payload = "{}";  // canonical JSON
  std::string text;            // the embedded text
};

// Cumulative since open.
struct VectorCounters {
  uint64_t embeddings_computed = 0;       // texts sent to the embedder
  uint64_t embeddings_skipped = 0;        // text unchanged: metadata-only update
  uint64_t documents_without_text = 0;    // applied with no text (not searchable)
  uint64_t embedder_calls = 0;
  uint64_t embedder_failures = 0;
  uint64_t snapshots_written = 0;
  uint64_t index_rebuilds = 0;            // on open: snapshot missing/corrupt/stale model
  uint64_t journal_entries_replayed = 0;  // on open: catch-up after a snapshot load
};

// What a document looks like in the store (beyond EntityState).
struct VectorDocument {
  EntityState state;
  std::optional<std::string> text;  // nullopt: no text, not in the index
  std::vector<float> vector;        // empty when no text
  bool indexed = false;             // present in the type's HNSW index
};

class VectorStore : public Store {
 public:
  // k best documents for the query. InvalidArgument naming the field for a
  // bad query (both or neither of text/vector, k out of range, wrong vector
  // dimension, bad filter value); embedder errors as they come.
  virtual Result<std::vector<VectorHit>> Search(const VectorQuery& query) = 0;

  // The document of `entity_id`, tombstones included; NotFound otherwise.
  virtual Result<VectorDocument> GetDocument(std::string_view entity_id) = 0;

  // Writes a snapshot of every index now (also done on destruction).
  virtual Status SaveSnapshots() = 0;

  virtual VectorCounters vector_counters() const = 0;

  // Indexed documents per entity type.
  virtual std::map<std::string, uint64_t> IndexSizes() const = 0;
};

// Opens or creates the store. InvalidArgument for bad options;
// FailedPrecondition for another format version or embedder model.
Result<std::unique_ptr<VectorStore>> OpenVectorStore(const VectorStoreOptions& options);

// The vector leg: a leg over a StoreSink of `store`; options.name defaults to
// "vector". `log` and `store` must outlive the leg.
Result<std::unique_ptr<Leg>> MakeVectorLeg(Log& log, VectorStore& store, LegOptions options);

}  // namespace tandem
