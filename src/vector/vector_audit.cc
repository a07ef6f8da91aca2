// The vector store's audit and repair primitives: ScanEntities (documents in
// id order, with their text as `content` and whether their vector is really
// in the HNSW index as `indexed`), RestoreEntity (a compare-and-set of one
// document under apply_mu_, the writers' lock, re-embedding only when the
// text changed) and NextContent (the embedding-text rule of ApplyBatch, for
// the audit's fold of the log).

#include <rocksdb/write_batch.h>

#include <cmath>
#include <utility>

#include "store/json_value.h"
#include "vector/rocks_vector_store.h"
#include "vector/vector_rules.h"

namespace tandem::vector_internal {

Status RocksVectorStore::ScanEntities(std::string_view begin, std::string_view end,
                                      const EntityVisitor& fn) {
  ReadView view(*db_);
  const int64_t now = clock_.NowMicros();
  const std::string from = DocKey(begin);
  const std::string to = end.empty() ? PrefixEnd(std::string(1, kDocPrefix)) : DocKey(end);
  return view.ScanRange(from, to, [&](std::string_view key, std::string_view bytes) -> Result<bool> {
    std::string_view id = key.substr(1);
    DocRecord d;
    TANDEM_RETURN_IF_ERROR(DecodeDoc(id, bytes, &d));
    if (Expired(d, now)) return true;
    EntityState s;
    s.entity_id = std::string(id);
    s.entity_type = std::move(d.entity_type);
    s.payload = std::move(d.payload);
    s.marker = std::move(d.marker);
    s.content = std::move(d.text);
    if (d.live() && d.has_vector && d.label.has_value()) {
      std::optional<std::string> vec;
      TANDEM_RETURN_IF_ERROR(view.Get(VectorKey(*d.label), &vec));
      bool in_index = false;
      {
        std::shared_lock lock(indexes_mu_);
        auto it = indexes_.find(s.entity_type);
        in_index = it != indexes_.end() && it->second.index->Contains(*d.label);
      }
      s.indexed = vec.has_value() && in_index;
    }
    return fn(s);
  });
}

std::optional<std::string> RocksVectorStore::NextContent(
    const StoreEvent& incoming, std::string_view payload,
    const std::optional<std::string>& previous) const {
  if (incoming.event.event_type == EventType::kDelete) return std::nullopt;
  Result<store_internal::JsonValue> doc = store_internal::ParseJson(payload);
  if (!doc.ok()) return std::nullopt;
  DocRecord live;
  live.text = previous;
  return TextOf(incoming, *doc, &live);
}

Status RocksVectorStore::RestoreVector(const std::optional<DocRecord>& before,
                                       const DocRecord& after, std::vector<float>* out) {
  out->clear();
  if (before.has_value() && before->live() && before->has_vector && before->label.has_value() &&
      before->text_hash == after.text_hash) {
    std::optional<std::string> bytes;
    ReadView view(*db_);
    TANDEM_RETURN_IF_ERROR(view.Get(VectorKey(*before->label), &bytes));
    if (bytes.has_value()) return DecodeVector(*before->label, *bytes, dimension_, out);
  }
  std::vector<float> v;
  Status s = Embed({std::string_view(*after.text)}, &v);
  if (!s.ok()) {
    if (IsTransientEmbedError(s)) return s.WithContext("embedder");
    return Status::InvalidArgument("target.content: embedder: " + s.ToString());
  }
  if (!NormalizeVector(&v)) {
    return Status::InvalidArgument("target.content: the embedder returned a non-finite value");
  }
  *out = std::move(v);
  return Status::OK();
}

Result<bool> RocksVectorStore::RestoreEntity(std::string_view entity_id,
                                             const std::optional<AppliedMarker>& expected,
                                             const std::optional<EntityState>& target) {
  std::optional<EntityState> next;
  if (target.has_value()) {
    TANDEM_ASSIGN_OR_RETURN(next, CheckRestoreTarget(entity_id, *target));
  }
  std::lock_guard<std::mutex> lock(apply_mu_);
  const int64_t now = clock_.NowMicros();
  std::optional<DocRecord> before;
  {
    ReadView view(*db_);
    TANDEM_RETURN_IF_ERROR(view.LoadDoc(entity_id, &before));
  }
  std::optional<AppliedMarker> current;
  if (before.has_value() && !Expired(*before, now)) current = before->marker;
  if (current != expected) return false;

  std::optional<DocRecord> after;
  std::vector<float> vec;
  if (next.has_value()) {
    after.emplace();
    after->marker = next->marker;
    after->marker.applied_at_us = now;
    after->entity_type = next->entity_type;
    after->payload = next->payload;
    if (!after->marker.deleted && next->content.has_value() && !next->content->empty()) {
      after->text = next->content;
      after->text_hash = TextHash(*after->text);
      TANDEM_RETURN_IF_ERROR(RestoreVector(before, *after, &vec));
    }
    after->has_vector = !vec.empty();
    after->label = before.has_value() ? before->label : std::nullopt;
  }
  const std::string id(entity_id);
  WriteBuffer wb(*db_);
  uint64_t next_label = next_label_;
  if (after.has_value() && after->has_vector && !after->label.has_value()) {
    after->label = next_label++;
    wb.Put(MetaKey("next_label"), EncodeU64(next_label));
  }
  const bool had_vector = before.has_value() && before->has_vector;
  if (after.has_value() && after->has_vector) wb.Put(VectorKey(*after->label), EncodeVector(vec));
  if (had_vector && !(after.has_value() && after->has_vector)) {
    wb.Delete(VectorKey(*before->label));
  }
  const bool had_label = before.has_value() && before->label.has_value();
  if (after.has_value() && after->label.has_value() && !had_label) {
    wb.Put(LabelKey(*after->label), id);
  }
  if (!after.has_value() && had_label) wb.Delete(LabelKey(*before->label));
  const std::string old_tomb = before.has_value() && before->marker.deleted
                                   ? TombstoneKey(before->marker.applied_at_us, id)
                                   : std::string();
  const std::string new_tomb = after.has_value() && after->marker.deleted
                                   ? TombstoneKey(after->marker.applied_at_us, id)
                                   : std::string();
  if (old_tomb != new_tomb) {
    if (!old_tomb.empty()) wb.Delete(old_tomb);
    if (!new_tomb.empty()) wb.Put(new_tomb, "");
  }
  // Index bookkeeping as BuildWrites, except that a live document with a
  // vector is always upserted again: that is what repairs `unindexed`.
  const std::string old_index = had_vector ? before->entity_type : std::string();
  const std::string new_index =
      after.has_value() && after->has_vector ? after->entity_type : std::string();
  std::map<std::string, int64_t> count_delta;
  std::vector<IndexChange> journal;
  std::vector<IndexUpdate> updates;
  if (!old_index.empty() && old_index != new_index) {
    --count_delta[old_index];
    journal.push_back({old_index, *before->label, IndexOp::kRemove});
    updates.push_back({journal.back(), {}});
  }
  if (!new_index.empty()) {
    if (old_index != new_index) ++count_delta[new_index];
    journal.push_back({new_index, *after->label, IndexOp::kUpsert});
    updates.push_back({journal.back(), vec});
  }
  TANDEM_RETURN_IF_ERROR(AddIndexedCounts(wb, count_delta));
  uint64_t sequence = sequence_;
  if (!journal.empty()) {
    ++sequence;
    wb.Put(JournalKey(sequence), EncodeJournal(journal));
    wb.Put(MetaKey("sequence"), EncodeU64(sequence));
  }
  if (after.has_value()) {
    wb.Put(DocKey(id), EncodeDoc(*after));
  } else if (before.has_value()) {
    wb.Delete(DocKey(id));
  }
  if (!wb.empty()) TANDEM_RETURN_IF_ERROR(wb.Commit(write_options_));
  next_label_ = next_label;
  sequence_ = sequence;
  UpdateIndexes(updates);
  Status snap = MaybeSnapshotAndTrim();  // as ApplyBatch: costs a rebuild at worst
  (void)snap;
  return true;
}

}  // namespace tandem::vector_internal
