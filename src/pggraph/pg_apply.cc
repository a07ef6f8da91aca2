// Writes to the PostgreSQL graph store: ApplyBatch, RestoreEntity and
// ExpireTombstones. A batch is planned in C++ with the shared contract rule
// (store_internal::PlanEvent, the one place the newer-than decision is made)
// over the rows it loaded in one round trip, then written with a fixed
// number of multi-row statements (unnest of arrays), whatever its size:
//
//   lock → load → upsert vertices (compare-and-set on rev) → placeholders →
//   edge multiplicities → drop zero edges → referenced flags → drop unneeded
//   vertices → positions (WHERE stored < new) → COMMIT
//
// Every check that can refuse an event runs before the event touches the
// writer's state, so a refused event leaves nothing.

#include <algorithm>
#include <iterator>
#include <set>
#include <utility>

#include "event/json_text.h"
#include "pggraph/pg_store.h"
#include "store/entity_apply.h"

namespace tandem::pggraph_internal {
namespace {

std::vector<OwnRef> Minus(const std::vector<OwnRef>& a, const std::vector<OwnRef>& b) {
  std::vector<OwnRef> out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

// PostgreSQL text holds neither NUL bytes nor invalid UTF-8 (in a UTF8
// database): such a string could never be stored, so the event is refused.
std::optional<std::string> TextProblem(std::string_view field, std::string_view s) {
  if (s.find('\0') != std::string_view::npos) {
    return std::string(field) + ": holds a NUL byte, which PostgreSQL text cannot store";
  }
  if (event_internal::FindInvalidUtf8(s) != s.size()) {
    return std::string(field) + ": is not valid UTF-8, which PostgreSQL text cannot store";
  }
  return std::nullopt;
}

}  // namespace

// The state of one write transaction: the rows it loaded and changed, and
// the edge multiplicity changes, flushed as a handful of statements.
class BatchWriter {
 public:
  BatchWriter(PgGraphStore& store, pqxx::work& t) : store_(store), t_(t) {}

  // Loads the rows of `ids` (one round trip); later lookups of them are local.
  void Load(const std::vector<std::string>& ids) {
    std::vector<std::string> missing;
    for (const std::string& id : ids) {
      if (!entries_.contains(id)) missing.push_back(id);
    }
    if (missing.empty()) return;
    for (const std::string& id : missing) entries_.try_emplace(id);
    pqxx::result r = t_.exec_prepared("load", TextArray(missing));
    for (const pqxx::row& row : r) {
      Row loaded = RowFrom(row);
      Entry& e = entries_[loaded.id];
      e.loaded_rev = loaded.rev;
      e.row = std::move(loaded);
    }
  }

  // The current row of a loaded id (nullopt: none).
  const std::optional<Row>& Current(const std::string& id) { return entries_.at(id).row; }

  // The references the current row of `id` declares.
  Result<std::vector<OwnRef>> CurrentRefs(const std::string& id) {
    Entry& e = entries_.at(id);
    if (!e.refs.has_value()) {
      if (!e.row.has_value()) return std::vector<OwnRef>{};
      TANDEM_ASSIGN_OR_RETURN(e.refs, store_.OwnRefs(*e.row));
    }
    return *e.refs;
  }

  // Moves the edges `id` declares from `old_refs` to `new_refs` and sets its row.
  void Set(Row after, const std::vector<OwnRef>& old_refs, std::vector<OwnRef> new_refs) {
    const std::string id = after.id;
    for (const OwnRef& r : Minus(old_refs, new_refs)) Adjust(id, r, -1);
    for (const OwnRef& r : Minus(new_refs, old_refs)) {
      Adjust(id, r, +1);
      placeholders_.insert(r.target);
    }
    touched_.insert(id);
    Entry& e = entries_.at(id);
    e.row = std::move(after);
    e.refs = std::move(new_refs);
    e.dirty = true;
  }

  // Writes everything and the positions; the caller commits.
  Status Flush(const PositionMap& handled) {
    TANDEM_RETURN_IF_ERROR(FlushVertices());
    if (!placeholders_.empty()) {
      t_.exec_prepared("add_placeholders", TextArray({placeholders_.begin(), placeholders_.end()}));
    }
    TANDEM_RETURN_IF_ERROR(FlushEdges());
    if (!touched_.empty()) {
      const std::string ids = TextArray({touched_.begin(), touched_.end()});
      t_.exec_prepared("refresh_referenced", ids);
      t_.exec_prepared("drop_unneeded", ids);
    }
    FlushPositions(handled);
    return Status::OK();
  }

 private:
  struct Entry {
    std::optional<Row> row;
    std::optional<std::vector<OwnRef>> refs;  // of `row`, once known
    int64_t loaded_rev = 0;
    bool dirty = false;
  };

  void Adjust(const std::string& id, const OwnRef& ref, int delta) {
    edge_delta_[graph_internal::EdgeOf(id, ref)] += delta;
    touched_.insert(ref.target);
  }

  Status FlushVertices() {
    std::vector<std::string> ids, types, payloads, topics, event_ids;
    std::vector<bool> marked, deleted;
    std::vector<std::optional<int64_t>> versions, parts, offsets, applied_at, revs;
    for (const auto& [id, e] : entries_) {
      if (!e.dirty) continue;
      const Row& r = *e.row;
      ids.push_back(id);
      types.push_back(r.entity_type);
      payloads.push_back(r.payload);
      marked.push_back(r.has_marker);
      deleted.push_back(r.marker.deleted);
      versions.push_back(r.marker.version);
      topics.push_back(r.marker.position.topic);
      parts.push_back(r.marker.position.partition);
      offsets.push_back(static_cast<int64_t>(r.marker.position.offset));
      event_ids.push_back(r.marker.event_id);
      applied_at.push_back(r.marker.applied_at_us);
      revs.push_back(e.loaded_rev + 1);
    }
    if (ids.empty()) return Status::OK();
    pqxx::result res = t_.exec_prepared(
        "upsert_vertices", TextArray(ids), TextArray(types), TextArray(payloads), BoolArray(marked),
        BoolArray(deleted), NumberArray(versions), TextArray(topics), NumberArray(parts),
        NumberArray(offsets), TextArray(event_ids), NumberArray(applied_at), NumberArray(revs));
    if (res.affected_rows() != ids.size()) {
      // Only a writer that ignores the advisory lock can get here.
      return Status::Aborted("pggraph: " + std::to_string(ids.size() - res.affected_rows()) +
                             " vertices changed under the batch (a writer outside the advisory"
                             " lock?); rolled back");
    }
    return Status::OK();
  }

  // Removals first (an update of existing rows, which must all exist: a
  // removal of a missing edge is Corruption), then the rows they emptied,
  // then additions.
  Status FlushEdges() {
    std::vector<std::string> src[2], label[2], dst[2];
    std::vector<std::optional<int64_t>> count[2];
    for (const auto& [k, d] : edge_delta_) {
      if (d == 0) continue;
      const int side = d > 0 ? 1 : 0;
      src[side].push_back(k.from);
      label[side].push_back(k.label);
      dst[side].push_back(k.to);
      count[side].push_back(d > 0 ? d : -d);
    }
    if (!src[0].empty()) {
      const std::string s = TextArray(src[0]), l = TextArray(label[0]), d = TextArray(dst[0]);
      pqxx::result r = t_.exec_prepared("remove_edges", s, l, d, NumberArray(count[0]));
      if (r.affected_rows() != src[0].size()) {
        return Status::Corruption("pggraph: " + std::to_string(src[0].size() - r.affected_rows()) +
                                  " edges are missing while references to them are removed");
      }
      t_.exec_prepared("drop_zero_edges", s, l, d);
    }
    if (!src[1].empty()) {
      t_.exec_prepared("add_edges", TextArray(src[1]), TextArray(label[1]), TextArray(dst[1]),
                       NumberArray(count[1]));
    }
    return Status::OK();
  }

  void FlushPositions(const PositionMap& handled) {
    if (handled.empty()) return;
    std::vector<std::string> topics;
    std::vector<std::optional<int64_t>> parts;
    std::vector<std::optional<uint64_t>> offsets;
    for (const auto& [tp, offset] : handled) {
      topics.push_back(tp.topic);
      parts.push_back(tp.partition);
      offsets.push_back(offset);
    }
    t_.exec_prepared("record_positions", TextArray(topics), NumberArray(parts),
                     NumberArray(offsets));
  }

  PgGraphStore& store_;
  pqxx::work& t_;
  std::map<std::string, Entry> entries_;
  std::map<EdgeKey, int> edge_delta_;
  std::set<std::string> placeholders_;  // targets of added references
  std::set<std::string> touched_;       // vertices whose referenced flag may change
};

namespace {

// Plans and stages one event. Returns non-OK only for store failures.
Status ApplyOne(const graph_internal::ReferenceExtractor& extractor, BatchWriter& w,
                const StoreEvent& e, int64_t now_us, int64_t retention_us, ApplyOutcome* outcome) {
  for (auto [field, text] :
       {std::pair<std::string_view, std::string_view>{"entity_id", e.event.entity_id},
        {"event_id", e.event.event_id},
        {"topic", e.position.topic}}) {
    if (auto problem = TextProblem(field, text)) {
      *outcome = ApplyOutcome{ApplyCode::kPermanentError, *problem};
      return Status::OK();
    }
  }
  const std::string& id = e.event.entity_id;
  const std::optional<Row>& cur = w.Current(id);
  std::optional<EntityState> current;
  if (cur.has_value() && cur->has_marker) {
    current.emplace();
    current->entity_id = id;
    current->entity_type = cur->entity_type;
    current->payload = cur->payload;
    current->marker = cur->marker;
  }
  TANDEM_ASSIGN_OR_RETURN(
      store_internal::EventPlan plan,
      store_internal::PlanEvent(e, current ? &*current : nullptr, now_us, retention_us));
  *outcome = ApplyOutcome{plan.code, plan.reason};
  if (plan.code != ApplyCode::kApplied) return Status::OK();

  std::vector<OwnRef> new_refs;
  if (!plan.marker.deleted) {
    Result<std::vector<OwnRef>> refs = extractor.Extract(e.event.entity_type, plan.payload);
    if (!refs.ok()) {
      *outcome = ApplyOutcome{ApplyCode::kPermanentError, refs.status().message()};
      return Status::OK();
    }
    new_refs = std::move(refs).value();
    for (const OwnRef& r : new_refs) {
      if (auto problem = TextProblem("payload reference", r.target)) {
        *outcome = ApplyOutcome{ApplyCode::kPermanentError, *problem};
        return Status::OK();
      }
    }
  }
  TANDEM_ASSIGN_OR_RETURN(std::vector<OwnRef> old_refs, w.CurrentRefs(id));
  Row after = cur.value_or(Row{});
  after.id = id;
  after.has_marker = true;
  after.marker = std::move(plan.marker);
  after.entity_type = e.event.entity_type;
  after.payload = after.marker.deleted ? "{}" : store_internal::ToCanonicalJson(plan.payload);
  w.Set(std::move(after), old_refs, std::move(new_refs));
  return Status::OK();
}

}  // namespace

Result<std::vector<OwnRef>> PgGraphStore::OwnRefs(const Row& row) const {
  if (!row.live()) return std::vector<OwnRef>{};
  Result<store_internal::JsonValue> payload = store_internal::ParseJson(row.payload);
  if (!payload.ok()) {
    return Status::Corruption("pggraph: vertex \"" + row.id +
                              "\" holds a bad payload: " + payload.status().message());
  }
  Result<std::vector<OwnRef>> refs = extractor_.Extract(row.entity_type, *payload);
  if (!refs.ok()) {
    return Status::Corruption("pggraph: vertex \"" + row.id +
                              "\" holds bad references: " + refs.status().message());
  }
  return refs;
}

Result<BatchResult> PgGraphStore::ApplyBatch(std::span<const StoreEvent> events) {
  BatchResult result;
  result.outcomes.resize(events.size());
  if (events.empty()) return result;
  std::lock_guard<std::mutex> lock(write_mu_);
  const int64_t now = clock_.NowMicros();
  TANDEM_RETURN_IF_ERROR(RunWrite("apply batch", [&](pqxx::work& t) -> Status {
    result.counts = ApplyCounts{};
    BatchWriter w(*this, t);
    std::vector<std::string> ids;
    ids.reserve(events.size());
    for (const StoreEvent& e : events) {
      if (!TextProblem("entity_id", e.event.entity_id)) ids.push_back(e.event.entity_id);
    }
    w.Load(ids);
    PositionMap handled;
    for (size_t i = 0; i < events.size(); ++i) {
      const StoreEvent& e = events[i];
      TANDEM_RETURN_IF_ERROR(ApplyOne(extractor_, w, e, now, retention_us_, &result.outcomes[i]));
      const ApplyCode code = result.outcomes[i].code;
      result.counts.Add(code);
      if (code == ApplyCode::kPermanentError || code == ApplyCode::kTransientError) continue;
      uint64_t& offset = handled[{e.position.topic, e.position.partition}];
      offset = std::max(offset, e.position.offset);
    }
    return w.Flush(handled);
  }));
  counters_ += result.counts;
  return result;
}

Result<bool> PgGraphStore::RestoreEntity(std::string_view entity_id,
                                         const std::optional<AppliedMarker>& expected,
                                         const std::optional<EntityState>& target) {
  std::optional<EntityState> next;
  if (target.has_value()) {
    TANDEM_ASSIGN_OR_RETURN(next, CheckRestoreTarget(entity_id, *target));
  }
  if (auto problem = TextProblem("entity_id", entity_id)) {
    return Status::InvalidArgument(*problem);
  }
  const bool live = next.has_value() && !next->marker.deleted;
  std::vector<OwnRef> new_refs;
  if (live) {
    TANDEM_ASSIGN_OR_RETURN(store_internal::JsonValue payload,
                            store_internal::ParseJson(next->payload));
    Result<std::vector<OwnRef>> refs = extractor_.Extract(next->entity_type, payload);
    if (!refs.ok()) return Status::InvalidArgument("target." + refs.status().message());
    new_refs = std::move(refs).value();
  }
  std::lock_guard<std::mutex> lock(write_mu_);
  const int64_t now = clock_.NowMicros();
  bool done = false;
  const std::string id(entity_id);
  TANDEM_RETURN_IF_ERROR(RunWrite("restore entity", [&](pqxx::work& t) -> Status {
    BatchWriter w(*this, t);
    w.Load({id});
    const std::optional<Row>& cur = w.Current(id);
    std::optional<AppliedMarker> current;
    if (cur.has_value() && cur->has_marker && !Expired(cur->marker, now)) current = cur->marker;
    if (current != expected) return Status::OK();
    TANDEM_ASSIGN_OR_RETURN(std::vector<OwnRef> old_refs, w.CurrentRefs(id));
    Row after = cur.value_or(Row{});
    after.id = id;
    after.has_marker = next.has_value();
    after.marker = next.has_value() ? next->marker : AppliedMarker{};
    if (next.has_value()) after.marker.applied_at_us = now;
    after.entity_type = next.has_value() ? next->entity_type : std::string();
    after.payload = live ? next->payload : "{}";
    w.Set(std::move(after), old_refs, new_refs);
    TANDEM_RETURN_IF_ERROR(w.Flush({}));
    done = true;
    return Status::OK();
  }));
  return done;
}

Result<uint64_t> PgGraphStore::ExpireTombstones() {
  if (retention_us_ < 0) return uint64_t{0};
  std::lock_guard<std::mutex> lock(write_mu_);
  const int64_t cutoff = clock_.NowMicros() - retention_us_;
  uint64_t expired = 0;
  TANDEM_RETURN_IF_ERROR(RunWrite("expire tombstones", [&](pqxx::work& t) -> Status {
    // Unreferenced: gone. Referenced: kept as a placeholder without marker.
    expired = t.exec_prepared("expire_drop", cutoff).affected_rows();
    expired += t.exec_prepared("expire_keep", cutoff).affected_rows();
    return Status::OK();
  }));
  return expired;
}

}  // namespace tandem::pggraph_internal
