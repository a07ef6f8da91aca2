// ApplyBatch: plan every event against the batch's own earlier effects,
// decide each entity's text, embed the texts that changed (one embedder call
// per batch), then write the final state of every touched entity, the
// journal entry and the positions in one WriteBatch, and update the
// in-memory indexes after the commit.
//
// Embedder failures: a transient one fails the call (nothing written); a
// permanent one is isolated by embedding the batch's texts one by one, the
// events introducing a refused text become kPermanentError with the
// embedder's message, and the batch is planned again without them (a later
// event of the same entity then applies against the state before the refused
// one, as if it had been dead-lettered first).

#include <rocksdb/write_batch.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "store/entity_apply.h"
#include "vector/rocks_vector_store.h"
#include "vector/vector_rules.h"

namespace tandem::vector_internal {

using store_internal::EventPlan;
using store_internal::JsonValue;
using store_internal::PlanEvent;

struct PendingDoc {
  std::optional<DocRecord> doc;  // the planned state; nullopt: nothing stored
  bool dirty = false;            // an event of this batch applied to it
};

struct BatchPlan {
  // The stored documents of the batch's entities (nullopt: none), read once.
  std::unordered_map<std::string, std::optional<DocRecord>> base;
  // Reset by every planning pass.
  BatchResult result;
  std::unordered_map<std::string, PendingDoc> docs;
  std::vector<std::string> order;  // entity ids in first-touch order
  PositionMap handled;
  uint64_t skipped = 0;       // applied with an unchanged text
  uint64_t without_text = 0;  // applied without text (deletes excluded)
  // Kept across passes: text hash → unit vector (empty: the text has no
  // features), and text hash → the embedder's reason for refusing it.
  std::unordered_map<std::string, std::vector<float>> vectors;
  std::unordered_map<std::string, std::string> bad_texts;
  // The texts still to embed after a pass (hash → text).
  std::map<std::string, std::string> missing;
};

namespace {



// The entity's state as the contract helpers see it.
std::optional<EntityState> StateOf(std::string_view id, const std::optional<DocRecord>& d) {
  if (!d.has_value()) return std::nullopt;
  EntityState s;
  s.entity_id = std::string(id);
  s.entity_type = d->entity_type;
  s.payload = d->payload;
  s.marker = d->marker;
  return s;
}

}  // namespace

std::optional<std::string> RocksVectorStore::TextOf(const StoreEvent& e, const JsonValue& payload,
                                                    const DocRecord* live) const {
  return EmbeddingText(options_.text_fields, e, payload, live != nullptr ? &live->text : nullptr);
}

Status RocksVectorStore::PlanBatch(std::span<const StoreEvent> events, int64_t now_us,
                                   BatchPlan* plan) {
  const auto& base = plan->base;
  plan->result = BatchResult{};
  plan->result.outcomes.resize(events.size());
  plan->docs.clear();
  plan->order.clear();
  plan->handled.clear();
  plan->skipped = plan->without_text = 0;
  plan->missing.clear();
  for (size_t i = 0; i < events.size(); ++i) {
    const StoreEvent& e = events[i];
    const std::string& id = e.event.entity_id;
    auto [it, first] = plan->docs.try_emplace(id);
    PendingDoc& pd = it->second;
    if (first) {
      plan->order.push_back(id);
      if (auto b = base.find(id); b != base.end()) pd.doc = b->second;
    }
    std::optional<EntityState> current = StateOf(id, pd.doc);
    TANDEM_ASSIGN_OR_RETURN(EventPlan ep, PlanEvent(e, current ? &*current : nullptr, now_us,
                                                    options_.tombstone_retention_us));
    ApplyOutcome& outcome = plan->result.outcomes[i];
    outcome = ApplyOutcome{ep.code, ep.reason};
    if (ep.code == ApplyCode::kApplied) {
      const bool deleted = ep.marker.deleted;
      const DocRecord* live =
          pd.doc.has_value() && pd.doc->live() && !Expired(*pd.doc, now_us) ? &*pd.doc : nullptr;
      DocRecord next;
      next.text = deleted ? std::nullopt : TextOf(e, ep.payload, live);
      if (next.text.has_value()) {
        next.text_hash = TextHash(*next.text);
        if (auto bad = plan->bad_texts.find(next.text_hash); bad != plan->bad_texts.end()) {
          outcome = ApplyOutcome{ApplyCode::kPermanentError, bad->second};
        } else if (live != nullptr && live->text.has_value() && live->text_hash == next.text_hash) {
          ++plan->skipped;
        } else if (!plan->vectors.contains(next.text_hash)) {
          // Every text an event introduces is embedded (not only the last
          // one of the entity in the batch), so whether an event is refused
          // does not depend on how the log was cut into batches.
          plan->missing.emplace(next.text_hash, *next.text);
        }
      } else if (!deleted) {
        ++plan->without_text;
      }
      if (outcome.code == ApplyCode::kApplied) {
        next.marker = std::move(ep.marker);
        next.entity_type = e.event.entity_type;
        next.payload = deleted ? std::string("{}") : store_internal::ToCanonicalJson(ep.payload);
        next.label = pd.doc.has_value() ? pd.doc->label : std::nullopt;
        pd.doc = std::move(next);
        pd.dirty = true;
      }
    }
    plan->result.counts.Add(outcome.code);
    if (outcome.code == ApplyCode::kPermanentError) continue;
    uint64_t& offset = plan->handled[{e.position.topic, e.position.partition}];
    offset = std::max(offset, e.position.offset);
  }
  return Status::OK();
}

Status RocksVectorStore::Embed(const std::vector<std::string_view>& texts,
                               std::vector<float>* out) {
  Status s = EmbedChecked(embedder_, dimension_, texts, out);
  std::lock_guard<std::mutex> lock(stats_mu_);
  ++vcounters_.embedder_calls;
  vcounters_.embeddings_computed += texts.size();
  if (!s.ok()) ++vcounters_.embedder_failures;
  return s;
}

Status RocksVectorStore::EmbedMissing(BatchPlan* plan, bool* found_bad) {
  auto embed = [this](std::span<const std::string_view> texts, std::vector<float>* out) {
    return Embed({texts.begin(), texts.end()}, out);
  };
  return EmbedNewTexts(embed, dimension_, plan->missing, &plan->vectors, &plan->bad_texts,
                       found_bad);
}

Status RocksVectorStore::LoadBase(std::span<const StoreEvent> events, BatchPlan* plan) {
  std::vector<std::string> keys;
  for (const StoreEvent& e : events) {
    if (plan->base.try_emplace(e.event.entity_id).second) keys.push_back(DocKey(e.event.entity_id));
  }
  if (keys.empty()) return Status::OK();
  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  db_->MultiGet(rocksdb::ReadOptions(), db_->DefaultColumnFamily(), keys.size(), slices.data(),
                values.data(), statuses.data());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (statuses[i].IsNotFound()) continue;
    if (!statuses[i].ok()) return FromRocks(statuses[i], "multiget");
    std::string_view id = std::string_view(keys[i]).substr(1);
    std::optional<DocRecord>& slot = plan->base.at(std::string(id));
    slot.emplace();
    TANDEM_RETURN_IF_ERROR(DecodeDoc(id, values[i].ToStringView(), &*slot));
  }
  return Status::OK();
}

Status RocksVectorStore::BuildWrites(WriteBuffer& wb, BatchPlan& plan, uint64_t* next_label,
                                     uint64_t* sequence, std::vector<IndexUpdate>* updates) {
  std::map<std::string, int64_t> count_delta;
  std::vector<IndexChange> journal;
  const uint64_t first_label = *next_label;
  for (const std::string& id : plan.order) {
    PendingDoc& pd = plan.docs.at(id);
    if (!pd.dirty) continue;
    const std::optional<DocRecord>& before = plan.base.at(id);
    DocRecord& after = *pd.doc;
    const bool reuse = before.has_value() && before->live() && before->text.has_value() &&
                       after.text.has_value() && before->text_hash == after.text_hash &&
                       before->entity_type == after.entity_type;
    const std::vector<float>* vec = nullptr;
    if (!after.text.has_value()) {
      after.has_vector = false;
    } else if (reuse) {
      after.has_vector = before->has_vector;
    } else {
      vec = &plan.vectors.at(after.text_hash);
      after.has_vector = !vec->empty();
    }
    if (after.has_vector && !after.label.has_value()) after.label = (*next_label)++;
    const bool had_vector = before.has_value() && before->has_vector;
    if (after.has_vector && !reuse) wb.Put(VectorKey(*after.label), EncodeVector(*vec));
    if (had_vector && !after.has_vector) wb.Delete(VectorKey(*before->label));
    if (after.label.has_value() && !(before.has_value() && before->label.has_value())) {
      wb.Put(LabelKey(*after.label), id);
    }
    const std::string old_tomb = before.has_value() && before->marker.deleted
                                     ? TombstoneKey(before->marker.applied_at_us, id)
                                     : std::string();
    const std::string new_tomb =
        after.marker.deleted ? TombstoneKey(after.marker.applied_at_us, id) : std::string();
    if (old_tomb != new_tomb) {
      if (!old_tomb.empty()) wb.Delete(old_tomb);
      if (!new_tomb.empty()) wb.Put(new_tomb, "");
    }
    const std::string old_index = had_vector ? before->entity_type : std::string();
    const std::string new_index = after.has_vector ? after.entity_type : std::string();
    if (!old_index.empty() && old_index != new_index) {
      --count_delta[old_index];
      journal.push_back({old_index, *before->label, IndexOp::kRemove});
      updates->push_back({journal.back(), {}});
    }
    if (!new_index.empty() && (old_index != new_index || !reuse)) {
      if (old_index != new_index) ++count_delta[new_index];
      journal.push_back({new_index, *after.label, IndexOp::kUpsert});
      updates->push_back({journal.back(), *vec});
    }
    wb.Put(DocKey(id), EncodeDoc(after));
  }
  TANDEM_RETURN_IF_ERROR(AddIndexedCounts(wb, count_delta));
  if (*next_label != first_label) wb.Put(MetaKey("next_label"), EncodeU64(*next_label));
  if (!journal.empty()) {
    ++*sequence;
    wb.Put(JournalKey(*sequence), EncodeJournal(journal));
    wb.Put(MetaKey("sequence"), EncodeU64(*sequence));
  }
  for (const auto& [tp, offset] : plan.handled) {
    std::string key = PositionKey(tp.topic, tp.partition);
    std::optional<std::string> old;
    TANDEM_RETURN_IF_ERROR(wb.Get(key, &old));
    uint64_t stored = 0;
    if (old.has_value()) TANDEM_RETURN_IF_ERROR(DecodeU64(*old, &stored));
    if (old.has_value() && stored >= offset) continue;
    wb.Put(std::move(key), EncodeU64(offset));
  }
  return Status::OK();
}

Result<BatchResult> RocksVectorStore::ApplyBatch(std::span<const StoreEvent> events) {
  std::lock_guard<std::mutex> lock(apply_mu_);
  const int64_t now = clock_.NowMicros();
  BatchPlan plan;
  TANDEM_RETURN_IF_ERROR(LoadBase(events, &plan));
  // Each pass after the first follows a newly refused text, and there are at
  // most events.size() distinct texts: the loop is bounded.
  for (size_t pass = 0; pass <= events.size() + 1; ++pass) {
    TANDEM_RETURN_IF_ERROR(PlanBatch(events, now, &plan));
    bool found_bad = false;
    TANDEM_RETURN_IF_ERROR(EmbedMissing(&plan, &found_bad));
    if (!found_bad) break;
  }
  if (!plan.missing.empty()) {
    for (const auto& [hash, text] : plan.missing) {
      if (!plan.vectors.contains(hash)) {
        return Status::Aborted("vector: a text of the batch was left without a vector");
      }
    }
  }
  WriteBuffer wb(*db_);
  uint64_t next_label = next_label_;
  uint64_t sequence = sequence_;
  std::vector<IndexUpdate> updates;
  TANDEM_RETURN_IF_ERROR(BuildWrites(wb, plan, &next_label, &sequence, &updates));
  if (!wb.empty()) TANDEM_RETURN_IF_ERROR(wb.Commit(write_options_));
  next_label_ = next_label;
  sequence_ = sequence;
  counters_ += plan.result.counts;
  {
    std::lock_guard<std::mutex> stats(stats_mu_);
    vcounters_.embeddings_skipped += plan.skipped;
    vcounters_.documents_without_text += plan.without_text;
  }
  UpdateIndexes(updates);
  // The batch is committed: snapshot trouble costs a rebuild on the next
  // open, never data, so it does not fail the call.
  Status snap = MaybeSnapshotAndTrim();
  (void)snap;
  return std::move(plan.result);
}

Status AddIndexedCounts(WriteBuffer& wb, const std::map<std::string, int64_t>& delta) {
  for (const auto& [type, d] : delta) {
    if (d == 0) continue;
    std::string key = CountKey(type);
    std::optional<std::string> old;
    TANDEM_RETURN_IF_ERROR(wb.Get(key, &old));
    uint64_t count = 0;
    if (old.has_value()) TANDEM_RETURN_IF_ERROR(DecodeU64(*old, &count));
    if (d < 0 && count < static_cast<uint64_t>(-d)) {
      return Status::Corruption("vector: indexed count of \"" + type + "\" would drop below zero");
    }
    count = static_cast<uint64_t>(static_cast<int64_t>(count) + d);
    if (count == 0) {
      wb.Delete(std::move(key));
    } else {
      wb.Put(std::move(key), EncodeU64(count));
    }
  }
  return Status::OK();
}

}  // namespace tandem::vector_internal
