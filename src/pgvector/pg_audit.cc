// Audit and repair: ScanEntities (rows in id order from one REPEATABLE READ
// snapshot, page by page), RestoreEntity (a compare-and-set of one row in a
// transaction, re-embedding only when the text changed) and NextContent (the
// embedding-text rule of ApplyBatch, for the audit's fold of the log).

#include <utility>

#include "pgvector/pg_vector_store.h"

namespace tandem::pgvector_internal {

Status PgVectorStore::ScanEntities(std::string_view begin, std::string_view end,
                                   const EntityVisitor& fn) {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = clock_.NowMicros();
  PgTransaction tx(*session_);
  TANDEM_RETURN_IF_ERROR(tx.BeginSnapshot());
  TANDEM_RETURN_IF_ERROR(ScanRows(begin, end, /*live_only=*/false, [&](DocRow& r) -> Result<bool> {
    if (Expired(r.marker, now)) return true;
    EntityState s;
    s.entity_id = std::move(r.entity_id);
    s.entity_type = std::move(r.entity_type);
    s.payload = std::move(r.payload);
    s.marker = std::move(r.marker);
    s.content = std::move(r.text);
    // PostgreSQL indexes every stored embedding in the same transaction, so
    // a stored vector is never unindexed.
    if (!s.marker.deleted && r.has_vector) s.indexed = true;
    return fn(s);
  }));
  return tx.Commit();
}

std::optional<std::string> PgVectorStore::NextContent(
    const StoreEvent& incoming, std::string_view payload,
    const std::optional<std::string>& previous) const {
  if (incoming.event.event_type == EventType::kDelete) return std::nullopt;
  Result<store_internal::JsonValue> doc = store_internal::ParseJson(payload);
  if (!doc.ok()) return std::nullopt;
  return EmbeddingText(options_.text_fields, incoming, *doc, &previous);
}

Status PgVectorStore::RestoreVector(const std::optional<DocRow>& before, RowWrite* w) {
  if (before.has_value() && !before->marker.deleted && before->text.has_value() &&
      before->content_hash == w->after.content_hash) {
    w->keep_vector = true;
    w->after.has_vector = before->has_vector;
    return Status::OK();
  }
  std::vector<float> v;
  Status s = Embed({std::string_view(*w->after.text)}, &v);
  if (!s.ok()) {
    if (IsTransientEmbedError(s)) return s.WithContext("embedder");
    return Status::InvalidArgument("target.content: embedder: " + s.ToString());
  }
  if (!NormalizeVector(&v)) {
    return Status::InvalidArgument("target.content: the embedder returned a non-finite value");
  }
  w->vector = std::move(v);
  w->after.has_vector = !w->vector.empty();
  return Status::OK();
}

Result<bool> PgVectorStore::RestoreEntity(std::string_view entity_id,
                                          const std::optional<AppliedMarker>& expected,
                                          const std::optional<EntityState>& target) {
  std::optional<EntityState> next;
  if (target.has_value()) {
    TANDEM_ASSIGN_OR_RETURN(next, CheckRestoreTarget(entity_id, *target));
    if (next->content.has_value()) {
      for (std::string_view s : {std::string_view(entity_id), std::string_view(*next->content)}) {
        if (s.find('\0') != std::string_view::npos) {
          return Status::InvalidArgument("target: PostgreSQL text cannot hold a NUL byte");
        }
      }
    }
  }
  const std::string id(entity_id);
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = clock_.NowMicros();
  PgTransaction tx(*session_);
  TANDEM_RETURN_IF_ERROR(tx.Begin());
  std::unordered_map<std::string, DocRow> rows;
  TANDEM_RETURN_IF_ERROR(LoadRows({id}, /*for_update=*/true, &rows));
  std::optional<DocRow> before;
  if (auto it = rows.find(id); it != rows.end()) before = std::move(it->second);
  std::optional<AppliedMarker> current;
  if (before.has_value() && !Expired(before->marker, now)) current = before->marker;
  if (current != expected) return false;  // rolled back by tx

  if (!next.has_value()) {
    if (before.has_value()) TANDEM_RETURN_IF_ERROR(DeleteRow(id, before->marker));
    TANDEM_RETURN_IF_ERROR(tx.Commit());
    return true;
  }
  RowWrite w;
  if (before.has_value()) w.stored = before->marker;
  w.after.entity_id = id;
  w.after.entity_type = next->entity_type;
  w.after.payload = next->payload;
  w.after.marker = next->marker;
  w.after.marker.applied_at_us = now;
  if (!w.after.marker.deleted && next->content.has_value() && !next->content->empty()) {
    w.after.text = next->content;
    w.after.content_hash = ContentHash(*w.after.text);
    TANDEM_RETURN_IF_ERROR(RestoreVector(before, &w));
  }
  TANDEM_RETURN_IF_ERROR(WriteRows({w}));
  TANDEM_RETURN_IF_ERROR(tx.Commit());
  return true;
}

}  // namespace tandem::pgvector_internal
