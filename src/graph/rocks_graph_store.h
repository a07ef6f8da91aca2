// The RocksDB implementation of GraphStore (tandem/graph.h). This is the only
// header of the graph module that includes RocksDB; only the graph .cc files
// include it.
//
// Pieces:
//  * WriteBuffer: the pending writes of one ApplyBatch; reads see them first
//    (read-your-writes within the batch), then a cache of what the batch has
//    read, then the database. Committed as one rocksdb::WriteBatch.
//  * ReadView: a RocksDB snapshot with point reads and prefix scans, so each
//    query sees one committed state.
//  * RocksGraphStore: Open and the Store methods (graph_store.cc), event
//    application (graph_apply.cc), traversals (traversal.cc) and
//    CheckInvariants (invariants.cc).
//
// Thread safety: as GraphStore. apply_mu_ serialises the writers (ApplyBatch,
// ExpireTombstones); readers take snapshots and need no lock.
#pragma once

#include <rocksdb/db.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "graph/codec.h"
#include "graph/references.h"
#include "tandem/graph.h"

namespace tandem::graph_internal {

// RocksDB status → tandem Status ("rocksdb <what>: <message>").
Status FromRocks(const rocksdb::Status& s, std::string_view what);

// Continue (true) or stop (false) a scan, or fail it.
using ScanFn = std::function<Result<bool>(std::string_view key, std::string_view value)>;

class ReadView {
 public:
  // `db` must outlive the view. Takes a snapshot; the destructor releases it.
  explicit ReadView(rocksdb::DB& db);
  ~ReadView();
  ReadView(const ReadView&) = delete;
  ReadView& operator=(const ReadView&) = delete;

  // *out = the value, or nullopt when the key is absent.
  Status Get(std::string_view key, std::optional<std::string>* out) const;
  // Every key in [begin, end) in order ("" end: to the last key).
  Status ScanRange(std::string_view begin, std::string_view end, const ScanFn& fn) const;
  Status Scan(std::string_view prefix, const ScanFn& fn) const {
    return ScanRange(prefix, PrefixEnd(prefix), fn);
  }
  // The record of `id`, or nullopt.
  Status LoadVertex(std::string_view id, std::optional<VertexRecord>* out) const;

 private:
  rocksdb::DB& db_;
  const rocksdb::Snapshot* snapshot_;
};

class WriteBuffer {
 public:
  explicit WriteBuffer(rocksdb::DB& db) : db_(db) {}

  // `absent_in_db`: the caller knows the database has no such key (only
  // this batch's writes can hold it), which saves the RocksDB lookup.
  Status Get(const std::string& key, std::optional<std::string>* out, bool absent_in_db = false);
  void Put(std::string key, std::string value) { pending_[std::move(key)] = std::move(value); }
  void Delete(std::string key) { pending_[std::move(key)] = std::nullopt; }
  bool empty() const { return pending_.empty() && !any_vertex_dirty_; }
  // One WriteBatch with every pending write (deterministic key order).
  Status Commit(const rocksdb::WriteOptions& options);

  // Vertices are kept decoded: a hot vertex (an account in many
  // transactions of the batch) is decoded once when first read and encoded
  // once at Commit, not at every reference-count change.
  Status LoadVertex(std::string_view id, std::optional<VertexRecord>* out);
  // Reads the records of those `ids` not yet known with one MultiGet, so a
  // batch's own entities cost one RocksDB call rather than one each.
  Status Prefetch(const std::vector<std::string_view>& ids);
  void PutVertex(std::string_view id, const VertexRecord& v);
  void DeleteVertex(std::string_view id);

 private:
  struct VertexEntry {
    std::optional<VertexRecord> record;  // nullopt: absent
    bool dirty = false;                  // written by this batch
  };
  // The entry of `id`, read from the database on first use.
  Result<VertexEntry*> Vertex(std::string_view id);

  rocksdb::DB& db_;
  std::unordered_map<std::string, std::optional<std::string>> pending_;  // non-vertex keys
  std::unordered_map<std::string, VertexEntry> vertices_;                // by vertex id
  // Database reads of this batch, so a hot key (an account in many
  // transactions) is read from RocksDB once per batch. Only the batch's
  // writer touches the database meanwhile, so the cache cannot go stale.
  std::unordered_map<std::string, std::optional<std::string>> read_cache_;
  bool any_vertex_dirty_ = false;
};

class RocksGraphStore final : public GraphStore {
 public:
  static Result<std::unique_ptr<GraphStore>> Open(const GraphStoreOptions& options);
  ~RocksGraphStore() override;

  // Store
  Result<BatchResult> ApplyBatch(std::span<const StoreEvent> events) override;
  Result<PositionMap> Positions() override;
  Result<EntityState> Get(std::string_view entity_id) override;
  Result<StoreDigest> Digest() override;
  Result<uint64_t> ExpireTombstones() override;
  Status CheckInvariants() override;
  ApplyCounts counters() const override;

  // GraphStore
  Result<Vertex> GetVertex(std::string_view id) override;
  Result<std::vector<Edge>> Neighbors(std::string_view id, Direction direction,
                                      std::string_view edge_label, size_t limit) override;
  Result<Subgraph> Expand(std::string_view start, const ExpandOptions& options) override;
  Result<std::optional<Path>> ShortestPath(std::string_view from, std::string_view to,
                                           const PathOptions& options) override;
  Result<std::map<std::string, uint64_t>> CountByLabel() override;
  Result<std::vector<std::string>> VerticesWithLabel(std::string_view label, size_t limit) override;

 private:
  RocksGraphStore(const GraphStoreOptions& options, std::unique_ptr<rocksdb::DB> db);

  // graph_apply.cc. Each returns non-OK only for store failures, which
  // abandon the whole batch; problems of the event go into *outcome.
  Status ApplyOne(WriteBuffer& wb, const StoreEvent& e, int64_t now_us, ApplyOutcome* outcome);
  // `new_entity`: the entity had no vertex record when the event started,
  // so (every edge end has a record) no committed edge touches it.
  Status AddRef(WriteBuffer& wb, std::string_view entity_id, const OwnRef& ref, bool new_entity);
  Status RemoveRef(WriteBuffer& wb, std::string_view entity_id, const OwnRef& ref);
  Status AdjustEdge(WriteBuffer& wb, const EdgeKey& edge, int delta, bool absent_in_db = false);
  Status AdjustRefs(WriteBuffer& wb, std::string_view id, int delta);
  // Writes `after` over `before` (nullopt: absent) for `id`, keeping the
  // label index, label counts and tombstone index in step; deletes the
  // record when `after` is no longer needed.
  Status StoreVertex(WriteBuffer& wb, std::string_view id,
                     const std::optional<VertexRecord>& before, const VertexRecord& after);
  Status AdjustCount(WriteBuffer& wb, std::string_view label, int delta);
  Status RecordPositions(WriteBuffer& wb, const PositionMap& handled);

  // traversal.cc
  Status EdgesOf(const ReadView& view, std::string_view id, Direction direction,
                 const std::vector<std::string>& labels, size_t limit,
                 std::vector<Edge>* out) const;
  Result<Vertex> VertexAt(const ReadView& view, std::string_view id) const;

  bool Expired(const VertexRecord& v, int64_t now_us) const {
    return TombstoneExpired(v.marker, now_us, retention_us_);
  }

  const std::string dir_;
  Clock& clock_;
  const int64_t retention_us_;
  const ReferenceExtractor extractor_;
  rocksdb::WriteOptions write_options_;
  std::unique_ptr<rocksdb::DB> db_;

  mutable std::mutex apply_mu_;  // serialises writers
  ApplyCounts counters_;         // GUARDED_BY(apply_mu_)
};

}  // namespace tandem::graph_internal
