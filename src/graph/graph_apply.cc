// Applying one event to the graph: plan it with the shared contract rule,
// read the new references, move the entity's edges, keep placeholders and
// the indexes in step (a vertex that is not a live entity is kept, as a
// placeholder, exactly while some edge touches it). Every check that can refuse the event runs before the
// first write to the WriteBuffer, so a refused event leaves no trace.

#include <algorithm>
#include <iterator>
#include <utility>

#include "graph/rocks_graph_store.h"
#include "store/entity_apply.h"

namespace tandem::graph_internal {
namespace {

using store_internal::EventPlan;
using store_internal::PlanEvent;

std::vector<OwnRef> Minus(const std::vector<OwnRef>& a, const std::vector<OwnRef>& b) {
  std::vector<OwnRef> out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

}  // namespace

Status RocksGraphStore::ApplyOne(WriteBuffer& wb, const StoreEvent& e, int64_t now_us,
                                 ApplyOutcome* outcome) {
  const std::string& id = e.event.entity_id;
  std::optional<VertexRecord> before;
  TANDEM_RETURN_IF_ERROR(wb.LoadVertex(id, &before));
  std::optional<EntityState> current;
  if (before.has_value() && before->has_marker) {
    current.emplace();
    current->entity_id = id;
    current->entity_type = before->entity_type;
    current->payload = before->payload;
    current->marker = before->marker;
  }
  TANDEM_ASSIGN_OR_RETURN(EventPlan plan,
                          PlanEvent(e, current ? &*current : nullptr, now_us, retention_us_));
  *outcome = ApplyOutcome{plan.code, plan.reason};
  if (plan.code != ApplyCode::kApplied) return Status::OK();

  std::vector<OwnRef> new_refs;
  if (!plan.marker.deleted) {
    Result<std::vector<OwnRef>> refs = extractor_.Extract(e.event.entity_type, plan.payload);
    if (!refs.ok()) {
      *outcome = ApplyOutcome{ApplyCode::kPermanentError, refs.status().message()};
      return Status::OK();
    }
    new_refs = std::move(refs).value();
  }
  const std::vector<OwnRef> old_refs =
      before.has_value() && before->live() ? before->own_refs : std::vector<OwnRef>{};

  // From here on only store failures can stop us.
  for (const OwnRef& r : Minus(old_refs, new_refs)) TANDEM_RETURN_IF_ERROR(RemoveRef(wb, id, r));
  const bool new_entity = !before.has_value();
  for (const OwnRef& r : Minus(new_refs, old_refs)) {
    TANDEM_RETURN_IF_ERROR(AddRef(wb, id, r, new_entity));
  }

  // Reload: a self-reference may have just made this vertex a placeholder.
  std::optional<VertexRecord> cur;
  TANDEM_RETURN_IF_ERROR(wb.LoadVertex(id, &cur));
  VertexRecord after = cur.value_or(VertexRecord{});
  after.has_marker = true;
  after.marker = std::move(plan.marker);
  after.entity_type = e.event.entity_type;
  after.own_refs = std::move(new_refs);
  if (after.marker.deleted) {
    after.payload = "{}";
    // Its own edges are gone; edges other entities declare towards it keep
    // it as a (deleted) placeholder.
    TANDEM_ASSIGN_OR_RETURN(after.referenced, HasEdges(wb, id));
  } else {
    after.payload = store_internal::ToCanonicalJson(plan.payload);
    after.referenced = false;
  }
  return StoreVertex(wb, id, cur, after);
}

Status RocksGraphStore::AddRef(WriteBuffer& wb, std::string_view entity_id, const OwnRef& ref,
                               bool new_entity) {
  TANDEM_RETURN_IF_ERROR(AdjustEdge(wb, EdgeOf(entity_id, ref), +1, new_entity));
  return MarkReferenced(wb, ref.target);
}

Status RocksGraphStore::RemoveRef(WriteBuffer& wb, std::string_view entity_id, const OwnRef& ref) {
  TANDEM_RETURN_IF_ERROR(AdjustEdge(wb, EdgeOf(entity_id, ref), -1));
  return UnmarkIfUnreferenced(wb, ref.target);
}

Status RocksGraphStore::MarkReferenced(WriteBuffer& wb, std::string_view target) {
  if (!wb.Touched(target) && known_.contains(target)) return Status::OK();
  std::optional<VertexRecord> before;
  TANDEM_RETURN_IF_ERROR(wb.LoadVertex(target, &before));
  // A live target or an existing placeholder does not change: the common
  // case (a transaction naming known accounts) writes nothing here.
  if (before.has_value() && (before->live() || before->referenced)) return Status::OK();
  VertexRecord after = before.value_or(VertexRecord{});
  after.referenced = true;
  return StoreVertex(wb, target, before, after);
}

Status RocksGraphStore::UnmarkIfUnreferenced(WriteBuffer& wb, std::string_view target) {
  if (!wb.Touched(target)) {
    if (auto it = known_.find(target); it != known_.end() && it->second) return Status::OK();
  }
  std::optional<VertexRecord> before;
  TANDEM_RETURN_IF_ERROR(wb.LoadVertex(target, &before));
  if (!before.has_value()) {
    return Status::Corruption("graph: \"" + std::string(target) +
                              "\" has an edge but no vertex record");
  }
  if (before->live() || !before->referenced) return Status::OK();
  TANDEM_ASSIGN_OR_RETURN(bool still, HasEdges(wb, target));
  if (still) return Status::OK();
  VertexRecord after = *before;
  after.referenced = false;
  return StoreVertex(wb, target, before, after);
}

Result<bool> RocksGraphStore::HasEdges(WriteBuffer& wb, std::string_view id) {
  TANDEM_ASSIGN_OR_RETURN(bool out, wb.AnyWithPrefix(OutEdgePrefix(id, "")));
  if (out) return true;
  return wb.AnyWithPrefix(InEdgePrefix(id, ""));
}

Status RocksGraphStore::AdjustEdge(WriteBuffer& wb, const EdgeKey& edge, int delta,
                                   bool absent_in_db) {
  std::string out_key = OutEdgeKey(edge.from, edge.label, edge.to);
  std::optional<std::string> old;
  TANDEM_RETURN_IF_ERROR(wb.Get(out_key, &old, absent_in_db));
  uint32_t count = 0;
  if (old.has_value()) TANDEM_RETURN_IF_ERROR(DecodeU32(*old, &count));
  if (delta < 0 && count < static_cast<uint32_t>(-delta)) {
    return Status::Corruption("graph: edge " + edge.from + " -" + edge.label + "-> " + edge.to +
                              " is missing while a reference to it is removed");
  }
  count = static_cast<uint32_t>(static_cast<int64_t>(count) + delta);
  std::string in_key = InEdgeKey(edge.to, edge.label, edge.from);
  if (count == 0) {
    wb.Delete(std::move(out_key));
    wb.Delete(std::move(in_key));
  } else {
    wb.Put(std::move(out_key), EncodeU32(count));
    wb.Put(std::move(in_key), EncodeU32(count));
  }
  return Status::OK();
}

Status RocksGraphStore::StoreVertex(WriteBuffer& wb, std::string_view id,
                                    const std::optional<VertexRecord>& before,
                                    const VertexRecord& after) {
  const std::string old_label = before.has_value() ? before->index_label() : std::string();
  const std::string new_label = after.index_label();
  if (old_label != new_label) {
    if (!old_label.empty()) {
      wb.Delete(LabelKey(old_label, id));
      TANDEM_RETURN_IF_ERROR(AdjustCount(wb, old_label, -1));
    }
    if (!new_label.empty()) {
      wb.Put(LabelKey(new_label, id), "");
      TANDEM_RETURN_IF_ERROR(AdjustCount(wb, new_label, +1));
    }
  }
  const std::string old_tomb = before.has_value() && before->tombstone()
                                   ? TombstoneKey(before->marker.applied_at_us, id)
                                   : std::string();
  const std::string new_tomb =
      after.tombstone() ? TombstoneKey(after.marker.applied_at_us, id) : std::string();
  if (old_tomb != new_tomb) {
    if (!old_tomb.empty()) wb.Delete(old_tomb);
    if (!new_tomb.empty()) wb.Put(new_tomb, "");
  }
  if (after.needed()) {
    wb.PutVertex(id, after);
  } else if (before.has_value()) {
    wb.DeleteVertex(id);
  }
  return Status::OK();
}

Status RocksGraphStore::AdjustCount(WriteBuffer& wb, std::string_view label, int delta) {
  std::string key = CountKey(label);
  std::optional<std::string> old;
  TANDEM_RETURN_IF_ERROR(wb.Get(key, &old));
  uint64_t count = 0;
  if (old.has_value()) TANDEM_RETURN_IF_ERROR(DecodeU64(*old, &count));
  if (delta < 0 && count < static_cast<uint64_t>(-delta)) {
    return Status::Corruption("graph: count of label \"" + std::string(label) +
                              "\" would drop below zero");
  }
  count = static_cast<uint64_t>(static_cast<int64_t>(count) + delta);
  if (count == 0) {
    wb.Delete(std::move(key));
  } else {
    wb.Put(std::move(key), EncodeU64(count));
  }
  return Status::OK();
}

}  // namespace tandem::graph_internal
