// The RocksDB implementation of VectorStore (tandem/vector.h). This is the
// only header of the vector module that includes RocksDB; only the vector .cc
// files include it.
//
// Pieces:
//  * ReadView: a RocksDB snapshot with point reads and prefix scans.
//  * WriteBuffer: the pending writes of one ApplyBatch with read-your-writes,
//    committed as one rocksdb::WriteBatch.
//  * RocksVectorStore: Open and the Store methods (vector_store.cc), event
//    application and embedding (vector_apply.cc), the in-memory indexes:
//    load, journal replay, rebuild, snapshots (vector_indexes.cc), Search
//    (vector_search.cc) and CheckInvariants (invariants.cc).
//
// Thread safety: as VectorStore. apply_mu_ serialises the writers
// (ApplyBatch, ExpireTombstones, SaveSnapshots); indexes_mu_ guards the map
// of indexes (shared for searches and index updates, exclusive to add or
// replace an index); readers take RocksDB snapshots.
#pragma once

#include <rocksdb/db.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "store/rocks_status.h"
#include "store/json_value.h"
#include "tandem/vector.h"
#include "vector/codec.h"
#include "vindex/vector_index.h"

namespace tandem::vector_internal {

// RocksDB status → tandem Status ("rocksdb <what>: <message>").
using store_internal::FromRocks;

using ScanFn = std::function<Result<bool>(std::string_view key, std::string_view value)>;

class ReadView {
 public:
  explicit ReadView(rocksdb::DB& db);
  ~ReadView();
  ReadView(const ReadView&) = delete;
  ReadView& operator=(const ReadView&) = delete;

  Status Get(std::string_view key, std::optional<std::string>* out) const;
  // Every key in [begin, end) in order ("" end: to the last key).
  Status ScanRange(std::string_view begin, std::string_view end, const ScanFn& fn) const;
  Status Scan(std::string_view prefix, const ScanFn& fn) const {
    return ScanRange(prefix, PrefixEnd(prefix), fn);
  }
  Status LoadDoc(std::string_view id, std::optional<DocRecord>* out) const;

 private:
  rocksdb::DB& db_;
  const rocksdb::Snapshot* snapshot_;
};

class WriteBuffer {
 public:
  explicit WriteBuffer(rocksdb::DB& db) : db_(db) {}
  Status Get(const std::string& key, std::optional<std::string>* out);
  void Put(std::string key, std::string value) { pending_[std::move(key)] = std::move(value); }
  void Delete(std::string key) { pending_[std::move(key)] = std::nullopt; }
  // Deletes [begin, end) at commit (after the point writes in key order).
  void DeleteRange(std::string begin, std::string end) {
    ranges_.emplace_back(std::move(begin), std::move(end));
  }
  bool empty() const { return pending_.empty() && ranges_.empty(); }
  Status Commit(const rocksdb::WriteOptions& options);

 private:
  rocksdb::DB& db_;
  std::map<std::string, std::optional<std::string>> pending_;
  std::unordered_map<std::string, std::optional<std::string>> read_cache_;
  std::vector<std::pair<std::string, std::string>> ranges_;
};

// Adds `delta` (per entity type) to the stored indexed-document counts in
// `wb`; a count reaching 0 is deleted. Corruption if one would go negative.
Status AddIndexedCounts(WriteBuffer& wb, const std::map<std::string, int64_t>& delta);

// The planned writes of one ApplyBatch (vector_apply.cc).
struct BatchPlan;

// An index change to make after a commit; `vector` is empty for a removal.
struct IndexUpdate {
  IndexChange change;
  std::vector<float> vector;
};

class RocksVectorStore final : public VectorStore {
 public:
  static Result<std::unique_ptr<VectorStore>> Open(const VectorStoreOptions& options);
  ~RocksVectorStore() override;

  // Store
  Result<BatchResult> ApplyBatch(std::span<const StoreEvent> events) override;
  Result<PositionMap> Positions() override;
  Result<EntityState> Get(std::string_view entity_id) override;
  Result<StoreDigest> Digest() override;
  Result<uint64_t> ExpireTombstones() override;
  Status CheckInvariants() override;
  ApplyCounts counters() const override;
  // vector_audit.cc
  Status ScanEntities(std::string_view begin, std::string_view end,
                      const EntityVisitor& fn) override;
  Result<bool> RestoreEntity(std::string_view entity_id,
                             const std::optional<AppliedMarker>& expected,
                             const std::optional<EntityState>& target) override;
  std::optional<std::string> NextContent(const StoreEvent& incoming, std::string_view payload,
                                         const std::optional<std::string>& previous) const override;

  // VectorStore
  Result<std::vector<VectorHit>> Search(const VectorQuery& query) override;
  Result<VectorDocument> GetDocument(std::string_view entity_id) override;
  Status SaveSnapshots() override;
  VectorCounters vector_counters() const override;
  std::map<std::string, uint64_t> IndexSizes() const override;

 private:
  // One HNSW index per entity type, and its snapshot bookkeeping (the
  // bookkeeping is touched only under apply_mu_).
  struct TypeIndex {
    std::unique_ptr<VectorIndex> index;
    uint64_t changes_since_snapshot = 0;
    std::optional<uint64_t> snapshot_sequence;  // of the last durable snapshot
    bool dirty = false;                         // an update failed: rebuild before use
  };

  RocksVectorStore(const VectorStoreOptions& options, std::unique_ptr<rocksdb::DB> db,
                   std::unique_ptr<FileSystem> owned_fs);

  // vector_apply.cc
  Status LoadBase(std::span<const StoreEvent> events, BatchPlan* plan);
  Status PlanBatch(std::span<const StoreEvent> events, int64_t now_us, BatchPlan* plan);
  Status EmbedMissing(BatchPlan* plan, bool* found_bad);
  // Writes the final state of every touched entity; allocates labels from
  // *next_label and records the journal entry under *sequence + 1 (both
  // advanced only in the copies the caller keeps until the commit).
  Status BuildWrites(WriteBuffer& wb, BatchPlan& plan, uint64_t* next_label, uint64_t* sequence,
                     std::vector<IndexUpdate>* updates);
  std::optional<std::string> TextOf(const StoreEvent& e, const store_internal::JsonValue& payload,
                                    const DocRecord* live) const;
  Status Embed(const std::vector<std::string_view>& texts, std::vector<float>* out);

  // vector_audit.cc: the unit vector of target `after`'s text (reusing the
  // stored one of `before` when the text is unchanged and it is there);
  // empty when the text has no features.
  Status RestoreVector(const std::optional<DocRecord>& before, const DocRecord& after,
                       std::vector<float>* out);

  // vector_indexes.cc
  Status LoadIndexes();
  Result<std::unique_ptr<VectorIndex>> NewIndex() const;
  // Builds the indexes of `types` from the documents (one scan).
  Status RebuildIndexes(const std::set<std::string>& types);
  void UpdateIndexes(const std::vector<IndexUpdate>& updates);
  Status SnapshotType(const std::string& type, TypeIndex& ti);
  Status MaybeSnapshotAndTrim();
  Status TrimJournal();
  std::string SnapshotPath(const std::string& type) const;
  Status ReadState(const ReadView& view, uint64_t* sequence, uint64_t* floor,
                   std::map<std::string, uint64_t>* counts) const;

  // vector_search.cc
  Status ResolveLabel(const ReadView& view, uint64_t label, std::optional<DocRecord>* doc,
                      std::string* id) const;

  bool Expired(const DocRecord& d, int64_t now_us) const {
    return d.marker.deleted && TombstoneExpired(d.marker, now_us, options_.tombstone_retention_us);
  }

  const VectorStoreOptions options_;
  Embedder& embedder_;
  const size_t dimension_;
  Clock& clock_;
  std::unique_ptr<FileSystem> owned_fs_;
  FileSystem& fs_;
  rocksdb::WriteOptions write_options_;
  std::unique_ptr<rocksdb::DB> db_;

  mutable std::mutex apply_mu_;  // serialises writers
  ApplyCounts counters_;         // GUARDED_BY(apply_mu_)
  uint64_t sequence_ = 0;        // GUARDED_BY(apply_mu_): last committed journal sequence
  uint64_t next_label_ = 1;      // GUARDED_BY(apply_mu_)
  uint64_t journal_floor_ = 0;   // GUARDED_BY(apply_mu_): entries <= it are trimmed

  mutable std::shared_mutex indexes_mu_;
  std::map<std::string, TypeIndex> indexes_;  // GUARDED_BY(indexes_mu_)

  mutable std::mutex stats_mu_;
  VectorCounters vcounters_;  // GUARDED_BY(stats_mu_)
};

}  // namespace tandem::vector_internal
