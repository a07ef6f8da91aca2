// Applying one event to the graph: plan it with the shared contract rule,
// read the new references, move the entity's edges, keep placeholders and
// the indexes in step (a vertex that is not a live entity is kept, as a
// placeholder, exactly while some edge touches it). Every check that can refuse the event runs
// before the first write to the WriteBuffer, so a refused event leaves no trace.

#include <algorithm>
#include <iterator>
#include <utility>

#include "graph/rocks_graph_store.h"
#include "store/entity_apply.h"

namespace tandem::graph_internal {
namespace {

using store_internal::EventPlan;
using store_internal::PlanEvent;
using store_internal::StoredEntityView;

std::vector<OwnRef> Minus(const std::vector<OwnRef>& a, const std::vector<OwnRef>& b) {
  std::vector<OwnRef> out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

}  // namespace

Status RocksGraphStore::ApplyOne(WriteBuffer& wb, const StoreEvent& e, int64_t now_us,
                                 ApplyOutcome* outcome) {
  const std::string& id = e.event.entity_id;
  // Read in place: the record stays in the buffer (not copied) until this
  // event writes the vertex.
  TANDEM_ASSIGN_OR_RETURN(const VertexRecord* before, wb.PeekVertex(id));
  std::optional<StoredEntityView> current;
  if (before != nullptr && before->has_marker) {
    current.emplace(StoredEntityView{before->entity_type, before->payload, before->marker});
  }
  TANDEM_ASSIGN_OR_RETURN(EventPlan plan, PlanEvent(e, current, now_us, retention_us_));
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
  // Both differences before the first write: a self-reference rewrites
  // `before` in place.
  const bool new_entity = before == nullptr;
  std::vector<OwnRef> removed, added;
  const bool had_refs = before != nullptr && before->live() && !before->own_refs.empty();
  if (had_refs) {
    removed = Minus(before->own_refs, new_refs);
    added = Minus(new_refs, before->own_refs);
  }

  // From here on only store failures can stop us.
  for (const OwnRef& r : removed) TANDEM_RETURN_IF_ERROR(RemoveRef(wb, id, r));
  for (const OwnRef& r : had_refs ? added : new_refs) {
    TANDEM_RETURN_IF_ERROR(AddRef(wb, id, r, new_entity));
  }

  // Reload: a self-reference may have just made this vertex a placeholder.
  TANDEM_ASSIGN_OR_RETURN(const VertexRecord* cur, wb.PeekVertex(id));
  VertexRecord after;
  after.has_marker = true;
  after.marker = std::move(plan.marker);
  after.entity_type = e.event.entity_type;
  after.own_refs = std::move(new_refs);
  if (after.marker.deleted) {
    // Its own edges are gone; edges other entities declare towards it keep
    // it as a (deleted) placeholder.
    TANDEM_ASSIGN_OR_RETURN(after.referenced, HasEdges(wb, id));
  } else {
    after.payload = store_internal::ToCanonicalJson(plan.payload);
  }
  return StoreVertex(wb, id, cur, std::move(after));
}

Status RocksGraphStore::AddRef(WriteBuffer& wb, std::string_view entity_id, const OwnRef& ref,
                               bool new_entity) {
  TANDEM_RETURN_IF_ERROR(AdjustEdge(wb, entity_id, ref, +1, new_entity));
  return MarkReferenced(wb, ref.target);
}

Status RocksGraphStore::RemoveRef(WriteBuffer& wb, std::string_view entity_id, const OwnRef& ref) {
  TANDEM_RETURN_IF_ERROR(AdjustEdge(wb, entity_id, ref, -1));
  return UnmarkIfUnreferenced(wb, ref.target);
}

Status RocksGraphStore::MarkReferenced(WriteBuffer& wb, std::string_view target) {
  if (!wb.Touched(target) && known_.contains(target)) return Status::OK();
  TANDEM_ASSIGN_OR_RETURN(const VertexRecord* before, wb.PeekVertex(target));
  // A live target or an existing placeholder does not change: the common
  // case (a transaction naming known accounts) writes nothing here.
  if (before != nullptr && (before->live() || before->referenced)) return Status::OK();
  VertexRecord after = before != nullptr ? *before : VertexRecord{};
  after.referenced = true;
  return StoreVertex(wb, target, before, std::move(after));
}

Status RocksGraphStore::UnmarkIfUnreferenced(WriteBuffer& wb, std::string_view target) {
  if (!wb.Touched(target)) {
    if (auto it = known_.find(target); it != known_.end() && it->second) return Status::OK();
  }
  TANDEM_ASSIGN_OR_RETURN(const VertexRecord* before, wb.PeekVertex(target));
  if (before == nullptr) {
    return Status::Corruption("graph: \"" + std::string(target) +
                              "\" has an edge but no vertex record");
  }
  if (before->live() || !before->referenced) return Status::OK();
  TANDEM_ASSIGN_OR_RETURN(bool still, HasEdges(wb, target));
  if (still) return Status::OK();
  VertexRecord after = *before;
  after.referenced = false;
  return StoreVertex(wb, target, before, std::move(after));
}

Result<bool> RocksGraphStore::HasEdges(WriteBuffer& wb, std::string_view id) {
  TANDEM_ASSIGN_OR_RETURN(bool out, wb.AnyWithPrefix(OutEdgePrefix(id, "")));
  if (out) return true;
  return wb.AnyWithPrefix(InEdgePrefix(id, ""));
}

Status RocksGraphStore::AdjustEdge(WriteBuffer& wb, std::string_view entity_id, const OwnRef& ref,
                                   int delta, bool absent_in_db) {
  const bool out = ref.orientation == ReferenceSpec::Orientation::kOut;
  const std::string_view from = out ? entity_id : std::string_view(ref.target);
  const std::string_view to = out ? std::string_view(ref.target) : entity_id;
  std::string out_key = OutEdgeKey(from, ref.label, to);
  std::optional<std::string> old;
  TANDEM_RETURN_IF_ERROR(wb.Get(out_key, &old, absent_in_db));
  uint32_t count = 0;
  if (old.has_value()) TANDEM_RETURN_IF_ERROR(DecodeU32(*old, &count));
  if (delta < 0 && count < static_cast<uint32_t>(-delta)) {
    return Status::Corruption("graph: edge " + std::string(from) + " -" + ref.label + "-> " +
                              std::string(to) + " is missing while a reference to it is removed");
  }
  count = static_cast<uint32_t>(static_cast<int64_t>(count) + delta);
  std::string in_key = InEdgeKey(to, ref.label, from);
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
  return StoreVertex(wb, id, before.has_value() ? &*before : nullptr, VertexRecord(after));
}

Status RocksGraphStore::StoreVertex(WriteBuffer& wb, std::string_view id,
                                    const VertexRecord* before, VertexRecord&& after) {
  // Everything read from `before` first: it may be the buffer's own record,
  // which PutVertex replaces.
  const std::string_view old_label = before != nullptr ? before->index_label() : "";
  const std::string_view new_label = after.index_label();
  if (old_label != new_label) {
    if (!old_label.empty()) {
      wb.Delete(LabelKey(old_label, id));
      wb.AddToCount(old_label, -1);
    }
    if (!new_label.empty()) {
      wb.Put(LabelKey(new_label, id), "");
      wb.AddToCount(new_label, +1);
    }
  }
  const bool old_tomb = before != nullptr && before->tombstone();
  const bool new_tomb = after.tombstone();
  if (old_tomb != new_tomb ||
      (old_tomb && before->marker.applied_at_us != after.marker.applied_at_us)) {
    if (old_tomb) wb.Delete(TombstoneKey(before->marker.applied_at_us, id));
    if (new_tomb) wb.Put(TombstoneKey(after.marker.applied_at_us, id), "");
  }
  if (after.needed()) {
    wb.PutVertex(id, std::move(after));
  } else if (before != nullptr) {
    wb.DeleteVertex(id);
  }
  return Status::OK();
}

Status RocksGraphStore::FlushCounts(WriteBuffer& wb) {
  for (const auto& [label, delta] : wb.count_deltas()) {
    if (delta == 0) continue;
    std::string key = CountKey(label);
    std::optional<std::string> old;
    TANDEM_RETURN_IF_ERROR(wb.Get(key, &old));
    uint64_t count = 0;
    if (old.has_value()) TANDEM_RETURN_IF_ERROR(DecodeU64(*old, &count));
    if (delta < 0 && count < static_cast<uint64_t>(-delta)) {
      return Status::Corruption("graph: count of label \"" + label + "\" would drop below zero");
    }
    count = static_cast<uint64_t>(static_cast<int64_t>(count) + delta);
    if (count == 0) {
      wb.Delete(std::move(key));
    } else {
      wb.Put(std::move(key), EncodeU64(count));
    }
  }
  wb.ClearCounts();
  return Status::OK();
}

}  // namespace tandem::graph_internal
