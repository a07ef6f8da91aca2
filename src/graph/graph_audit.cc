// The graph store's audit and repair primitives (Store::ScanEntities and
// Store::RestoreEntity): a streaming scan of the vertex records that carry a
// marker, and a compare-and-set that sets one entity through the same
// planned, ordered commit path as ApplyBatch, moving its edges exactly as an
// applied event would.

#include <algorithm>
#include <iterator>
#include <utility>

#include "graph/rocks_graph_store.h"
#include "store/json_value.h"

namespace tandem::graph_internal {
namespace {

std::vector<OwnRef> Minus(const std::vector<OwnRef>& a, const std::vector<OwnRef>& b) {
  std::vector<OwnRef> out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

}  // namespace

Status RocksGraphStore::ScanEntities(std::string_view begin, std::string_view end,
                                     const EntityVisitor& fn) {
  ReadView view(*db_);
  const int64_t now = clock_.NowMicros();
  const std::string from = VertexKey(begin);
  const std::string to = end.empty() ? PrefixEnd(std::string(1, kVertexPrefix)) : VertexKey(end);
  return view.ScanRange(from, to, [&](std::string_view key, std::string_view bytes) -> Result<bool> {
    std::string_view id = key.substr(1);
    VertexRecord v;
    TANDEM_RETURN_IF_ERROR(DecodeVertex(id, bytes, &v));
    if (!v.has_marker || Expired(v, now)) return true;  // a placeholder, or nothing any more
    EntityState s;
    s.entity_id = std::string(id);
    s.entity_type = std::move(v.entity_type);
    s.payload = std::move(v.payload);
    s.marker = std::move(v.marker);
    return fn(s);
  });
}

Status RocksGraphStore::RestoreInto(WriteBuffer& wb, std::string_view id,
                                    const std::optional<VertexRecord>& before,
                                    const std::optional<EntityState>& target, int64_t now_us) {
  const bool live = target.has_value() && !target->marker.deleted;
  std::vector<OwnRef> new_refs;
  if (live) {
    TANDEM_ASSIGN_OR_RETURN(store_internal::JsonValue payload,
                            store_internal::ParseJson(target->payload));
    Result<std::vector<OwnRef>> refs = extractor_.Extract(target->entity_type, payload);
    if (!refs.ok()) return Status::InvalidArgument("target." + refs.status().message());
    new_refs = std::move(refs).value();
  }
  const std::vector<OwnRef> old_refs =
      before.has_value() && before->live() ? before->own_refs : std::vector<OwnRef>{};
  for (const OwnRef& r : Minus(old_refs, new_refs)) TANDEM_RETURN_IF_ERROR(RemoveRef(wb, id, r));
  for (const OwnRef& r : Minus(new_refs, old_refs)) {
    TANDEM_RETURN_IF_ERROR(AddRef(wb, id, r, !before.has_value()));
  }
  // Reload: a self-reference may have just made this vertex a placeholder.
  std::optional<VertexRecord> cur;
  TANDEM_RETURN_IF_ERROR(wb.LoadVertex(id, &cur));
  VertexRecord after = cur.value_or(VertexRecord{});
  after.own_refs = std::move(new_refs);
  if (!target.has_value()) {
    after.has_marker = false;
    after.marker = AppliedMarker{};
    after.entity_type.clear();
  } else {
    after.has_marker = true;
    after.marker = target->marker;
    after.marker.applied_at_us = now_us;
    after.entity_type = target->entity_type;
  }
  if (live) {
    after.payload = target->payload;
    after.referenced = false;
  } else {
    after.payload = "{}";
    // Edges other entities declare towards it keep it as a placeholder.
    TANDEM_ASSIGN_OR_RETURN(after.referenced, HasEdges(wb, id));
  }
  return StoreVertex(wb, id, cur, after);
}

Result<bool> RocksGraphStore::RestoreEntity(std::string_view entity_id,
                                            const std::optional<AppliedMarker>& expected,
                                            const std::optional<EntityState>& target) {
  std::optional<EntityState> next;
  if (target.has_value()) {
    TANDEM_ASSIGN_OR_RETURN(next, CheckRestoreTarget(entity_id, *target));
  }
  std::unique_lock<std::mutex> plan(plan_mu_);
  const int64_t now = clock_.NowMicros();
  auto wb = std::make_shared<WriteBuffer>(*db_, inflight_);
  std::optional<VertexRecord> before;
  TANDEM_RETURN_IF_ERROR(wb->LoadVertex(entity_id, &before));
  std::optional<AppliedMarker> current;
  if (before.has_value() && before->has_marker && !Expired(*before, now)) {
    current = before->marker;
  }
  if (current != expected) return false;
  // Nothing is written to the buffer before the target's references are
  // checked, so a refused target leaves no trace.
  TANDEM_RETURN_IF_ERROR(RestoreInto(*wb, entity_id, before, next, now));
  TANDEM_RETURN_IF_ERROR(CommitInOrder(plan, std::move(wb), ApplyCounts{}));
  return true;
}

}  // namespace tandem::graph_internal
