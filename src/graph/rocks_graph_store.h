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
// Thread safety: as GraphStore. Writers (ApplyBatch, ExpireTombstones) plan
// one at a time under plan_mu_ and commit in planning order (see
// RocksGraphStore); readers take snapshots and need no lock.
#pragma once

#include <rocksdb/db.h>

#include <atomic>
#include <condition_variable>
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
#include "store/rocks_status.h"
#include "tandem/graph.h"

namespace tandem::graph_internal {

// RocksDB status → tandem Status ("rocksdb <what>: <message>").
using store_internal::FromRocks;

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

// Heterogeneous lookup of std::string keys by std::string_view.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// The pending writes of one batch. Reads see, in order: this batch's own
// writes, then the writes of the batches planned before it that may not be
// committed yet (the overlay chain: a batch is planned while the previous
// one is still being written, see RocksGraphStore), then what this batch has
// read before, then RocksDB. Only one batch plans at a time, and batches
// commit in the order they were planned, so a key no batch of the chain
// wrote has its committed value in RocksDB.
class WriteBuffer {
 public:
  // `overlay`: the previously planned batch, or nullptr when every earlier
  // batch is known to be committed.
  WriteBuffer(rocksdb::DB& db, std::shared_ptr<const WriteBuffer> overlay)
      : db_(db), overlay_(std::move(overlay)) {}

  // Room for the writes of about `events` events (no rehashing while planning).
  void Reserve(size_t events) {
    pending_.reserve(events * 6);
    vertices_.reserve(events * 2);
  }

  // `absent_in_db`: the caller knows that neither RocksDB nor an earlier
  // batch holds the key (only this batch's writes can), which saves the
  // lookups.
  Status Get(const std::string& key, std::optional<std::string>* out, bool absent_in_db = false);
  void Put(std::string key, std::string value) { pending_[std::move(key)] = std::move(value); }
  void Delete(std::string key) { pending_[std::move(key)] = std::nullopt; }
  bool empty() const { return pending_.empty() && !any_vertex_dirty_; }
  // True when some non-vertex key starting with `prefix` exists, counting
  // the pending writes of this batch and of the overlay chain (a RocksDB
  // prefix seek plus a pass over the pending writes: for rare events such as
  // removing a reference, not for every event).
  Result<bool> AnyWithPrefix(std::string_view prefix);

  // One WriteBatch with every pending write, in key order. Does not modify
  // the buffer, so later batches may read it (as their overlay) meanwhile.
  Status Commit(const rocksdb::WriteOptions& options) const;

  // Vertices are kept decoded: a hot vertex (an account in many
  // transactions of the batch) is decoded once when first read and encoded
  // once at Commit, not at every change.
  Status LoadVertex(std::string_view id, std::optional<VertexRecord>* out);
  // As LoadVertex, without the copy: the buffer's record of `id` (nullptr:
  // absent). The pointer stays valid until the vertex is next written
  // through this buffer (PutVertex, DeleteVertex), which replaces it.
  Result<const VertexRecord*> PeekVertex(std::string_view id);
  // Reads the records of those `ids` not yet known with one MultiGet, so a
  // batch's own entities cost one RocksDB call rather than one each.
  Status Prefetch(const std::vector<std::string_view>& ids);
  void PutVertex(std::string_view id, VertexRecord&& v);
  void DeleteVertex(std::string_view id);
  // True when this batch or an earlier one of the overlay chain has read
  // (this batch) or written (any of them) the vertex `id`: its state is then
  // known here, and wins over anything cached outside the buffers.
  bool Touched(std::string_view id) const;
  // Every vertex the batch read or wrote, with its state as of the buffer
  // (nullopt: absent). After Commit: the committed state.
  template <typename Fn>
  void ForEachVertex(Fn&& fn) const {
    for (const auto& [id, entry] : vertices_) fn(id, entry.record);
  }

  // Label counts change by the batch's net delta, read and written once per
  // batch (RocksGraphStore::FlushCounts) rather than once per event.
  void AddToCount(std::string_view label, int64_t delta);
  const std::vector<std::pair<std::string, int64_t>>& count_deltas() const { return count_deltas_; }
  void ClearCounts() { count_deltas_.clear(); }

  // Forgets the overlay (called once this batch has committed, with
  // planning excluded, so that the chain does not grow without bound).
  void DropOverlay() { overlay_.reset(); }
  const WriteBuffer* overlay() const { return overlay_.get(); }

  // How this batch's commit ended; written and read under the store's
  // commit_mu_, once the commit finished.
  Status commit_status;

 private:
  struct VertexEntry {
    std::optional<VertexRecord> record;  // nullopt: absent
    bool dirty = false;                  // written by this batch
  };
  // The newest write of `key` in the overlay chain, or nullptr.
  const std::optional<std::string>* FindInChain(const std::string& key) const;
  // The newest written state of vertex `id` in the overlay chain, or nullptr.
  const VertexEntry* FindVertexInChain(std::string_view id) const;
  // The entry of `id`, read through the chain and the database on first use.
  Result<VertexEntry*> Vertex(std::string_view id);

  rocksdb::DB& db_;
  std::shared_ptr<const WriteBuffer> overlay_;
  std::unordered_map<std::string, std::optional<std::string>> pending_;  // non-vertex keys
  std::unordered_map<std::string, VertexEntry, StringHash, std::equal_to<>> vertices_;  // by id
  // Database reads of this batch, so a hot key (an account in many
  // transactions) is read from RocksDB once per batch.
  std::unordered_map<std::string, std::optional<std::string>> read_cache_;
  bool any_vertex_dirty_ = false;
  // Net change of each label's count (few labels: a linear search).
  std::vector<std::pair<std::string, int64_t>> count_deltas_;
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
  // graph_audit.cc
  Status ScanEntities(std::string_view begin, std::string_view end,
                      const EntityVisitor& fn) override;
  Result<bool> RestoreEntity(std::string_view entity_id,
                             const std::optional<AppliedMarker>& expected,
                             const std::optional<EntityState>& target) override;

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
  // The edge `entity_id` declares with `ref` (both keys) changes multiplicity by `delta`.
  Status AdjustEdge(WriteBuffer& wb, std::string_view entity_id, const OwnRef& ref, int delta,
                    bool absent_in_db = false);
  // After an edge to `target` was added: a missing target becomes a
  // placeholder, an unreferenced tombstone becomes a referenced one.
  Status MarkReferenced(WriteBuffer& wb, std::string_view target);
  // After an edge to `target` was removed: a placeholder (or referenced
  // tombstone) with no edge left stops being one.
  Status UnmarkIfUnreferenced(WriteBuffer& wb, std::string_view target);
  // Any out- or in-edge of `id`, this batch's writes included.
  Result<bool> HasEdges(WriteBuffer& wb, std::string_view id);
  // Writes `after` over `before` (nullopt: absent) for `id`, keeping the
  // label index, label counts and tombstone index in step; deletes the
  // record when `after` is no longer needed.
  Status StoreVertex(WriteBuffer& wb, std::string_view id,
                     const std::optional<VertexRecord>& before, const VertexRecord& after);
  // As above; `before` (nullptr: absent) may point into `wb` (PeekVertex).
  Status StoreVertex(WriteBuffer& wb, std::string_view id, const VertexRecord* before,
                     VertexRecord&& after);
  // Writes the batch's net label count changes (WriteBuffer::AddToCount);
  // called once, when the batch is planned. Corruption when a count would
  // drop below zero.
  Status FlushCounts(WriteBuffer& wb);
  Status RecordPositions(WriteBuffer& wb, const PositionMap& handled);

  // graph_audit.cc: the record `id` must have to hold `target` (nullopt:
  // no entity), with the entity's edges moved to its references in `wb`.
  Status RestoreInto(WriteBuffer& wb, std::string_view id, const std::optional<VertexRecord>& before,
                     const std::optional<EntityState>& target, int64_t now_us);

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

  // Writers are pipelined: a batch is planned (events read, checked and
  // turned into writes) under plan_mu_, one at a time, on top of the batches
  // planned before it (WriteBuffer's overlay chain), and then written to
  // RocksDB outside plan_mu_, in planning order. So the next batch is
  // planned while the previous one is written (its memtable inserts and WAL
  // fdatasync), which is what lets two leg workers use two cores. A batch
  // whose predecessor failed to commit fails too (it was planned on top of
  // writes that never happened); nothing of it is written.
  // Takes a commit ticket for `wb` (planned under `plan`), releases
  // plan_mu_, waits for the earlier tickets, commits, and records the result.
  Status CommitInOrder(std::unique_lock<std::mutex>& plan, std::shared_ptr<WriteBuffer> wb,
                       const ApplyCounts& counts);
  // Waits until every planned batch has been written (under plan_mu_, so
  // nothing new is planned meanwhile).
  void DrainCommits(std::unique_lock<std::mutex>& plan);

  mutable std::mutex plan_mu_;
  ApplyCounts counters_;                   // GUARDED_BY(plan_mu_)
  std::shared_ptr<WriteBuffer> inflight_;  // GUARDED_BY(plan_mu_): latest planned, uncommitted
  // Vertices that are live (true) or placeholders (false) as of the last
  // commit, so that a reference to a known vertex (a transaction naming an
  // account) costs no read: only this store's writers change vertices, and
  // each refreshes the entries of every vertex its batch touched once the
  // batch committed (in commit order); batches planned meanwhile see those
  // vertices in their overlay chain first. Cleared when it would exceed
  // known_capacity_ entries. GUARDED_BY(plan_mu_)
  std::unordered_map<std::string, bool, StringHash, std::equal_to<>> known_;
  const size_t known_capacity_;
  // Refreshes known_ from a committed WriteBuffer. Requires plan_mu_.
  void RememberVertices(const WriteBuffer& wb);

  std::mutex commit_mu_;
  std::condition_variable commit_cv_;
  uint64_t next_ticket_ = 0;       // GUARDED_BY(plan_mu_)
  uint64_t committed_tickets_ = 0;  // GUARDED_BY(commit_mu_): tickets finished, in order
};

}  // namespace tandem::graph_internal
