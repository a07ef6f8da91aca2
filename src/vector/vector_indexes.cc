// The in-memory HNSW indexes: loading snapshots and catching up from the
// journal on open, rebuilding from the documents, updating after commits,
// writing snapshots and trimming the journal behind them.
//
// Crash windows: an index snapshot is written after the commits it reflects
// (it carries the store sequence of the last one), so it never reflects more
// than RocksDB holds; the journal entries after it are replayed on open. The
// journal is trimmed only below the oldest durable snapshot of every index,
// in a WriteBatch after those snapshots were renamed into place. A snapshot
// that is missing, corrupt, of another dimension, newer than the store, or
// older than the journal reaches back is replaced by a rebuild.

#include <algorithm>
#include <thread>
#include <utility>

#include "vector/rocks_vector_store.h"

namespace tandem::vector_internal {

std::string RocksVectorStore::SnapshotPath(const std::string& type) const {
  return options_.dir + "/index/" + type + ".tvix";
}

Result<std::unique_ptr<VectorIndex>> RocksVectorStore::NewIndex() const {
  VectorIndexOptions o;
  o.dimension = dimension_;
  o.m = options_.hnsw_m;
  o.ef_construction = options_.hnsw_ef_construction;
  return VectorIndex::Create(o);
}

Status RocksVectorStore::ReadState(const ReadView& view, uint64_t* sequence, uint64_t* floor,
                                   std::map<std::string, uint64_t>* counts) const {
  auto read_u64 = [&](std::string_view name, uint64_t fallback, uint64_t* out) -> Status {
    std::optional<std::string> v;
    TANDEM_RETURN_IF_ERROR(view.Get(MetaKey(name), &v));
    if (!v.has_value()) {
      *out = fallback;
      return Status::OK();
    }
    return DecodeU64(*v, out);
  };
  TANDEM_RETURN_IF_ERROR(read_u64("sequence", 0, sequence));
  TANDEM_RETURN_IF_ERROR(read_u64("journal_floor", 0, floor));
  return view.Scan(std::string(1, kCountPrefix),
                   [&](std::string_view k, std::string_view v) -> Result<bool> {
                     TANDEM_RETURN_IF_ERROR(DecodeU64(v, &(*counts)[std::string(k.substr(1))]));
                     return true;
                   });
}

Status RocksVectorStore::LoadIndexes() {
  std::lock_guard<std::mutex> lock(apply_mu_);
  ReadView view(*db_);
  std::map<std::string, uint64_t> counts;
  TANDEM_RETURN_IF_ERROR(ReadState(view, &sequence_, &journal_floor_, &counts));
  {
    std::optional<std::string> v;
    TANDEM_RETURN_IF_ERROR(view.Get(MetaKey("next_label"), &v));
    next_label_ = 1;
    if (v.has_value()) TANDEM_RETURN_IF_ERROR(DecodeU64(*v, &next_label_));
  }
  std::set<std::string> rebuild;
  std::map<std::string, TypeIndex> loaded;
  uint64_t oldest = sequence_;
  for (const auto& [type, count] : counts) {
    uint64_t seq = 0;
    Result<std::unique_ptr<VectorIndex>> idx =
        VectorIndex::LoadSnapshot(fs_, SnapshotPath(type), &seq);
    if (!idx.ok() || (*idx)->options().dimension != dimension_ || seq > sequence_ ||
        seq < journal_floor_) {
      rebuild.insert(type);
      continue;
    }
    TypeIndex& ti = loaded[type];
    ti.index = std::move(idx).value();
    ti.snapshot_sequence = seq;
    oldest = std::min(oldest, seq);
  }
  // Catch up: every (type, label) the journal changed after the oldest
  // loaded snapshot takes the document's current state.
  uint64_t replayed = 0;
  std::set<std::pair<std::string, uint64_t>> touched;
  TANDEM_RETURN_IF_ERROR(
      view.ScanRange(JournalKey(oldest + 1), PrefixEnd(std::string(1, kJournalPrefix)),
                     [&](std::string_view k, std::string_view v) -> Result<bool> {
                       uint64_t seq = 0;
                       TANDEM_RETURN_IF_ERROR(DecodeJournalKey(k, &seq));
                       std::vector<IndexChange> changes;
                       TANDEM_RETURN_IF_ERROR(DecodeJournal(seq, v, &changes));
                       bool used = false;
                       for (const IndexChange& c : changes) {
                         auto it = loaded.find(c.entity_type);
                         if (it == loaded.end() || seq <= *it->second.snapshot_sequence) continue;
                         touched.emplace(c.entity_type, c.label);
                         used = true;
                       }
                       if (used) ++replayed;
                       return true;
                     }));
  for (const auto& [type, label] : touched) {
    TypeIndex& ti = loaded.at(type);
    std::optional<DocRecord> doc;
    std::string id;
    TANDEM_RETURN_IF_ERROR(ResolveLabel(view, label, &doc, &id));
    Status s;
    if (doc.has_value() && doc->has_vector && doc->entity_type == type) {
      std::optional<std::string> bytes;
      TANDEM_RETURN_IF_ERROR(view.Get(VectorKey(label), &bytes));
      std::vector<float> vec;
      if (!bytes.has_value()) return Status::Corruption("vector: label without a vector");
      TANDEM_RETURN_IF_ERROR(DecodeVector(label, *bytes, dimension_, &vec));
      s = ti.index->Upsert(label, vec);
    } else {
      s = ti.index->Remove(label);
    }
    if (!s.ok()) ti.dirty = true;
    ++ti.changes_since_snapshot;
  }
  for (auto& [type, ti] : loaded) {
    if (ti.dirty || ti.index->size() != counts.at(type)) {
      rebuild.insert(type);
      continue;
    }
    std::unique_lock ilock(indexes_mu_);
    indexes_[type] = std::move(ti);
  }
  {
    std::lock_guard<std::mutex> stats(stats_mu_);
    vcounters_.journal_entries_replayed += replayed;
  }
  if (!rebuild.empty()) TANDEM_RETURN_IF_ERROR(RebuildIndexes(rebuild));
  return Status::OK();
}

Status RocksVectorStore::RebuildIndexes(const std::set<std::string>& types) {
  ReadView view(*db_);
  std::map<std::string, std::unique_ptr<VectorIndex>> built;
  for (const std::string& type : types) {
    TANDEM_ASSIGN_OR_RETURN(built[type], NewIndex());
  }
  std::unordered_map<uint64_t, VectorIndex*> by_label;
  TANDEM_RETURN_IF_ERROR(view.Scan(std::string(1, kDocPrefix),
                                   [&](std::string_view k, std::string_view v) -> Result<bool> {
                                     DocRecord d;
                                     TANDEM_RETURN_IF_ERROR(DecodeDoc(k.substr(1), v, &d));
                                     if (!d.has_vector) return true;
                                     auto it = built.find(d.entity_type);
                                     if (it != built.end()) by_label[*d.label] = it->second.get();
                                     return true;
                                   }));
  std::vector<float> vec;
  TANDEM_RETURN_IF_ERROR(view.Scan(
      std::string(1, kVectorPrefix), [&](std::string_view k, std::string_view v) -> Result<bool> {
        uint64_t label = 0;
        TANDEM_RETURN_IF_ERROR(DecodeLabelKey(k, &label));
        auto it = by_label.find(label);
        if (it == by_label.end()) return true;
        TANDEM_RETURN_IF_ERROR(DecodeVector(label, v, dimension_, &vec));
        TANDEM_RETURN_IF_ERROR(it->second->Upsert(label, vec));
        return true;
      }));
  {
    std::unique_lock ilock(indexes_mu_);
    for (auto& [type, index] : built) {
      TypeIndex& ti = indexes_[type];
      ti.index = std::move(index);
      ti.dirty = false;
      ti.changes_since_snapshot = 1;  // not snapshotted yet
      ti.snapshot_sequence.reset();
    }
  }
  std::lock_guard<std::mutex> stats(stats_mu_);
  vcounters_.index_rebuilds += types.size();
  return Status::OK();
}

void RocksVectorStore::UpdateIndexes(const std::vector<IndexUpdate>& updates) {
  if (updates.empty()) return;
  std::set<std::string> dirty;
  {
    std::unique_lock ilock(indexes_mu_);
    for (const IndexUpdate& u : updates) {
      if (indexes_.contains(u.change.entity_type)) continue;
      Result<std::unique_ptr<VectorIndex>> idx = NewIndex();
      if (!idx.ok()) {
        dirty.insert(u.change.entity_type);
        continue;
      }
      indexes_[u.change.entity_type].index = std::move(idx).value();
    }
  }
  {
    std::shared_lock ilock(indexes_mu_);
    // Each (type, label) occurs once per batch, so the updates are
    // independent and run on up to index_insert_threads threads (hnswlib
    // inserts distinct labels concurrently).
    std::vector<char> failed(updates.size(), 0);
    auto run = [&](size_t begin, size_t step) {
      for (size_t i = begin; i < updates.size(); i += step) {
        const IndexUpdate& u = updates[i];
        auto it = indexes_.find(u.change.entity_type);
        if (it == indexes_.end()) continue;
        VectorIndex& index = *it->second.index;
        Status s = u.change.op == IndexOp::kUpsert ? index.Upsert(u.change.label, u.vector)
                                                   : index.Remove(u.change.label);
        failed[i] = !s.ok();
      }
    };
    const size_t threads =
        std::max<size_t>(1, std::min(options_.index_insert_threads, updates.size() / 32));
    std::vector<std::thread> helpers;
    for (size_t t = 1; t < threads; ++t) helpers.emplace_back(run, t, threads);
    run(0, threads);
    for (std::thread& h : helpers) h.join();
    // The bookkeeping is only touched under apply_mu_, which the caller holds.
    for (size_t i = 0; i < updates.size(); ++i) {
      auto it = indexes_.find(updates[i].change.entity_type);
      if (it == indexes_.end()) continue;
      ++it->second.changes_since_snapshot;
      if (failed[i]) it->second.dirty = true;
    }
    for (const auto& [type, ti] : indexes_) {
      if (ti.dirty) dirty.insert(type);
    }
  }
  // The documents are the truth: an index that missed an update is rebuilt
  // from them now; if that fails too it stays dirty and the next batch tries again.
  if (!dirty.empty()) {
    Status s = RebuildIndexes(dirty);
    (void)s;
  }
}

Status RocksVectorStore::SnapshotType(const std::string& type, TypeIndex& ti) {
  if (ti.dirty) return Status::FailedPrecondition("vector: index of " + type + " is dirty");
  TANDEM_RETURN_IF_ERROR(fs_.CreateDirs(options_.dir + "/index"));
  TANDEM_RETURN_IF_ERROR(ti.index->SaveSnapshot(fs_, SnapshotPath(type), sequence_));
  ti.snapshot_sequence = sequence_;
  ti.changes_since_snapshot = 0;
  std::lock_guard<std::mutex> stats(stats_mu_);
  ++vcounters_.snapshots_written;
  return Status::OK();
}

Status RocksVectorStore::MaybeSnapshotAndTrim() {
  if (options_.snapshot_every_changes == 0) return Status::OK();
  bool wrote = false;
  {
    std::shared_lock ilock(indexes_mu_);
    for (auto& [type, ti] : indexes_) {
      if (ti.changes_since_snapshot < options_.snapshot_every_changes) continue;
      TANDEM_RETURN_IF_ERROR(SnapshotType(type, ti));
      wrote = true;
    }
  }
  return wrote ? TrimJournal() : Status::OK();
}

Status RocksVectorStore::TrimJournal() {
  uint64_t floor = sequence_;
  {
    std::shared_lock ilock(indexes_mu_);
    for (const auto& [type, ti] : indexes_) {
      if (ti.snapshot_sequence.has_value()) floor = std::min(floor, *ti.snapshot_sequence);
    }
  }
  if (floor <= journal_floor_) return Status::OK();
  WriteBuffer wb(*db_);
  wb.Put(MetaKey("journal_floor"), EncodeU64(floor));
  wb.DeleteRange(JournalKey(0), JournalKey(floor + 1));
  TANDEM_RETURN_IF_ERROR(wb.Commit(write_options_));
  journal_floor_ = floor;
  return Status::OK();
}

Status RocksVectorStore::SaveSnapshots() {
  std::lock_guard<std::mutex> lock(apply_mu_);
  Status first;
  {
    std::shared_lock ilock(indexes_mu_);
    for (auto& [type, ti] : indexes_) {
      if (ti.snapshot_sequence.has_value() && ti.changes_since_snapshot == 0) continue;
      Status s = SnapshotType(type, ti);
      if (first.ok() && !s.ok()) first = s;
    }
  }
  TANDEM_RETURN_IF_ERROR(first);
  return TrimJournal();
}

}  // namespace tandem::vector_internal
