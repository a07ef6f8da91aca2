// ApplyBatch: in one transaction, read the batch's rows FOR UPDATE, plan
// every event with PlanEvent against the batch's own earlier effects, decide
// each entity's text, embed the texts that changed (one embedder call per
// batch), then write every touched row (compare-and-set on its marker) and
// the positions, and commit.
//
// Embedder failures as in the embedded store (src/vector/README.md): a
// transient one fails the call (rolled back, nothing written); a permanent
// one is isolated by embedding the batch's texts one by one, the events
// introducing a refused text become kPermanentError, and the batch is
// planned again without them.

#include <xxhash.h>

#include <algorithm>
#include <cstdio>
#include <utility>

#include "event/json_text.h"
#include "pgvector/pg_vector_store.h"
#include "store/entity_apply.h"

namespace tandem::pgvector_internal {

using store_internal::EventPlan;

std::string ContentHash(std::string_view text) {
  XXH128_hash_t h = XXH3_128bits(text.data(), text.size());
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(h.high64),
                static_cast<unsigned long long>(h.low64));
  return buf;
}

namespace {

// PostgreSQL text holds neither NUL bytes nor invalid UTF-8: such a string
// is this store's own permanent refusal, "<field>: <why>" (empty: fine).
std::string TextRefusal(std::string_view field, std::string_view s) {
  if (s.find('\0') != std::string_view::npos) {
    return std::string(field) + ": PostgreSQL text cannot hold a NUL byte";
  }
  const size_t bad = event_internal::FindInvalidUtf8(s);
  if (bad != s.size()) {
    return std::string(field) + ": invalid UTF-8 at byte " + std::to_string(bad);
  }
  return {};
}

std::string EventRefusal(const StoreEvent& e) {
  for (auto [field, value] :
       {std::pair<std::string_view, std::string_view>{"entity_id", e.event.entity_id},
        {"event_id", e.event.event_id},
        {"position.topic", e.position.topic}}) {
    if (std::string r = TextRefusal(field, value); !r.empty()) return r;
  }
  return {};
}

std::optional<EntityState> StateOf(const std::optional<DocRow>& d) {
  if (!d.has_value()) return std::nullopt;
  EntityState s;
  s.entity_id = d->entity_id;
  s.entity_type = d->entity_type;
  s.payload = d->payload;
  s.marker = d->marker;
  return s;
}

}  // namespace

struct PgVectorStore::Plan {
  std::unordered_map<std::string, std::optional<DocRow>> base;  // stored rows (nullopt: none)
  // Reset by every planning pass.
  BatchResult result;
  std::unordered_map<std::string, std::optional<DocRow>> docs;  // planned state
  std::vector<std::string> order;                               // touched ids, first-touch order
  PositionMap handled;
  uint64_t skipped = 0;
  uint64_t without_text = 0;
  // Kept across passes: content hash → unit vector (empty: no features) or
  // the embedder's reason for refusing the text.
  std::unordered_map<std::string, std::vector<float>> vectors;
  std::unordered_map<std::string, std::string> bad_texts;
  std::map<std::string, std::string> missing;  // hash → text still to embed
};

Status PgVectorStore::PlanBatch(std::span<const StoreEvent> events, int64_t now_us,
                                Plan* plan) const {
  plan->result = BatchResult{};
  plan->result.outcomes.resize(events.size());
  plan->docs.clear();
  plan->order.clear();
  plan->handled.clear();
  plan->skipped = plan->without_text = 0;
  plan->missing.clear();
  for (size_t i = 0; i < events.size(); ++i) {
    const StoreEvent& e = events[i];
    ApplyOutcome& outcome = plan->result.outcomes[i];
    if (std::string refusal = EventRefusal(e); !refusal.empty()) {
      outcome = ApplyOutcome{ApplyCode::kPermanentError, std::move(refusal)};
      plan->result.counts.Add(outcome.code);
      continue;
    }
    const std::string& id = e.event.entity_id;
    auto [it, first] = plan->docs.try_emplace(id);
    std::optional<DocRow>& doc = it->second;
    if (first) {
      plan->order.push_back(id);
      doc = plan->base.at(id);
    }
    std::optional<EntityState> current = StateOf(doc);
    TANDEM_ASSIGN_OR_RETURN(EventPlan ep,
                            store_internal::PlanEvent(e, current ? &*current : nullptr, now_us,
                                                      options_.tombstone_retention_us));
    outcome = ApplyOutcome{ep.code, ep.reason};
    if (ep.code == ApplyCode::kApplied) {
      const bool deleted = ep.marker.deleted;
      const DocRow* live = doc.has_value() && !doc->marker.deleted ? &*doc : nullptr;
      DocRow next;
      if (!deleted) {
        next.text = EmbeddingText(options_.text_fields, e, ep.payload,
                                  live != nullptr ? &live->text : nullptr);
      }
      if (next.text.has_value()) {
        next.content_hash = ContentHash(*next.text);
        if (std::string r = TextRefusal("text_for_embedding", *next.text); !r.empty()) {
          outcome = ApplyOutcome{ApplyCode::kPermanentError, std::move(r)};
        } else if (auto bad = plan->bad_texts.find(next.content_hash);
                   bad != plan->bad_texts.end()) {
          outcome = ApplyOutcome{ApplyCode::kPermanentError, bad->second};
        } else if (live != nullptr && live->text.has_value() &&
                   live->content_hash == next.content_hash) {
          ++plan->skipped;
        } else if (!plan->vectors.contains(next.content_hash)) {
          // Every text an event introduces is embedded, so whether an event
          // is refused never depends on how the log was cut into batches.
          plan->missing.emplace(next.content_hash, *next.text);
        }
      } else if (!deleted) {
        ++plan->without_text;
      }
      if (outcome.code == ApplyCode::kApplied) {
        next.entity_id = id;
        next.entity_type = e.event.entity_type;
        next.marker = std::move(ep.marker);
        next.payload = deleted ? std::string("{}") : store_internal::ToCanonicalJson(ep.payload);
        doc = std::move(next);
      }
    }
    plan->result.counts.Add(outcome.code);
    if (outcome.code == ApplyCode::kPermanentError) continue;
    uint64_t& offset = plan->handled[{e.position.topic, e.position.partition}];
    offset = std::max(offset, e.position.offset);
  }
  return Status::OK();
}

Status PgVectorStore::Embed(const std::vector<std::string_view>& texts, std::vector<float>* out) {
  Status s = vector_internal::EmbedChecked(embedder_, dimension_, texts, out);
  std::lock_guard<std::mutex> lock(stats_mu_);
  ++vcounters_.embedder_calls;
  vcounters_.embeddings_computed += texts.size();
  if (!s.ok()) ++vcounters_.embedder_failures;
  return s;
}

Status PgVectorStore::EmbedMissing(Plan* plan, bool* found_bad) {
  auto embed = [this](std::span<const std::string_view> texts, std::vector<float>* out) {
    return Embed({texts.begin(), texts.end()}, out);
  };
  return vector_internal::EmbedNewTexts(embed, dimension_, plan->missing, &plan->vectors,
                                        &plan->bad_texts, found_bad);
}

Status PgVectorStore::WritePlan(const Plan& plan) {
  std::vector<RowWrite> writes;
  for (const std::string& id : plan.order) {
    const std::optional<DocRow>& after = plan.docs.at(id);
    const std::optional<DocRow>& before = plan.base.at(id);
    if (!after.has_value() || (before.has_value() && before->marker == after->marker)) {
      continue;  // nothing applied to it
    }
    RowWrite& w = writes.emplace_back();
    w.after = *after;
    if (before.has_value()) w.stored = before->marker;
    if (!after->text.has_value()) continue;
    w.keep_vector = before.has_value() && !before->marker.deleted && before->text.has_value() &&
                    before->content_hash == after->content_hash;
    if (w.keep_vector) {
      w.after.has_vector = before->has_vector;
      continue;
    }
    auto v = plan.vectors.find(after->content_hash);
    if (v == plan.vectors.end()) {
      return Status::Aborted("pgvector: a text of the batch was left without a vector");
    }
    w.vector = v->second;
    w.after.has_vector = !w.vector.empty();
  }
  TANDEM_RETURN_IF_ERROR(WriteRows(writes));
  return WritePositions(plan.handled);
}

Result<BatchResult> PgVectorStore::ApplyLocked(std::span<const StoreEvent> events) {
  if (events.empty()) return BatchResult{};
  const int64_t now = clock_.NowMicros();
  PgTransaction tx(*session_);
  TANDEM_RETURN_IF_ERROR(tx.Begin());
  Plan plan;
  std::vector<std::string> ids;
  for (const StoreEvent& e : events) {
    if (plan.base.try_emplace(e.event.entity_id).second && EventRefusal(e).empty()) {
      ids.push_back(e.event.entity_id);
    }
  }
  std::unordered_map<std::string, DocRow> rows;
  TANDEM_RETURN_IF_ERROR(LoadRows(ids, /*for_update=*/true, &rows));
  for (auto& [id, row] : rows) plan.base[id] = std::move(row);
  // Each pass after the first follows a newly refused text, and there are at
  // most events.size() distinct texts: the loop is bounded.
  for (size_t pass = 0; pass <= events.size() + 1; ++pass) {
    TANDEM_RETURN_IF_ERROR(PlanBatch(events, now, &plan));
    bool found_bad = false;
    TANDEM_RETURN_IF_ERROR(EmbedMissing(&plan, &found_bad));
    if (!found_bad) break;
  }
  TANDEM_RETURN_IF_ERROR(WritePlan(plan));
  TANDEM_RETURN_IF_ERROR(tx.Commit());
  std::lock_guard<std::mutex> stats(stats_mu_);
  counters_ += plan.result.counts;
  vcounters_.embeddings_skipped += plan.skipped;
  vcounters_.documents_without_text += plan.without_text;
  return std::move(plan.result);
}

Result<BatchResult> PgVectorStore::ApplyBatch(std::span<const StoreEvent> events) {
  std::lock_guard<std::mutex> lock(mu_);
  return ApplyLocked(events);
}

}  // namespace tandem::pgvector_internal
