#include "store/mem_store.h"

#include <mutex>
#include <utility>

#include "store/entity_apply.h"

namespace tandem {
namespace {

using store_internal::EventPlan;
using store_internal::PlanEvent;
using store_internal::ToCanonicalJson;

class MemStore final : public Store {
 public:
  MemStore(MemStoreData& data, const MemStoreOptions& options)
      : data_(data),
        clock_(options.clock != nullptr ? *options.clock : SystemClock()),
        retention_us_(options.tombstone_retention_us) {}

  Result<BatchResult> ApplyBatch(std::span<const StoreEvent> events) override {
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t now = clock_.NowMicros();
    // Staged changes: committed into data_ only after every event is planned.
    std::map<std::string, EntityState, std::less<>> staged;
    PositionMap positions;
    BatchResult result;
    for (const StoreEvent& e : events) {
      const EntityState* current = Lookup(staged, e.event.entity_id);
      TANDEM_ASSIGN_OR_RETURN(EventPlan plan, PlanEvent(e, current, now, retention_us_));
      result.outcomes.push_back({plan.code, plan.reason});
      result.counts.Add(plan.code);
      if (plan.code == ApplyCode::kPermanentError) continue;
      uint64_t& pos = positions[{e.position.topic, e.position.partition}];
      pos = std::max(pos, e.position.offset);
      if (plan.code != ApplyCode::kApplied) continue;
      EntityState next;
      next.entity_id = e.event.entity_id;
      next.entity_type = e.event.entity_type;
      next.payload = ToCanonicalJson(plan.payload);
      next.marker = std::move(plan.marker);
      staged[e.event.entity_id] = std::move(next);
    }
    for (auto& [id, state] : staged) data_.entities[id] = std::move(state);
    for (const auto& [tp, offset] : positions) {
      uint64_t& pos = data_.positions[tp];
      pos = std::max(pos, offset);
    }
    counters_ += result.counts;
    return result;
  }

  Result<PositionMap> Positions() override {
    std::lock_guard<std::mutex> lock(mu_);
    return data_.positions;
  }

  Result<EntityState> Get(std::string_view entity_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = data_.entities.find(entity_id);
    if (it == data_.entities.end() || Expired(it->second)) {
      return Status::NotFound("entity \"" + std::string(entity_id) + "\"");
    }
    return it->second;
  }

  Result<StoreDigest> Digest() override {
    std::lock_guard<std::mutex> lock(mu_);
    StoreDigest d;
    for (const auto& [id, s] : data_.entities) {
      if (s.deleted()) continue;
      d.Add(EntityHash(s.entity_type, s.entity_id, s.marker.version, s.payload));
    }
    return d;
  }

  Result<uint64_t> ExpireTombstones() override {
    std::lock_guard<std::mutex> lock(mu_);
    uint64_t n = 0;
    for (auto it = data_.entities.begin(); it != data_.entities.end();) {
      if (Expired(it->second)) {
        it = data_.entities.erase(it);
        ++n;
      } else {
        ++it;
      }
    }
    return n;
  }

  // Every entry is keyed by its own id and carries a canonical payload.
  Status CheckInvariants() override {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, s] : data_.entities) {
      if (id != s.entity_id)
        return Status::Corruption("entity key \"" + id + "\" holds " + s.entity_id);
      Result<std::string> canonical = CanonicalJson(s.payload);
      if (!canonical.ok() || *canonical != s.payload) {
        return Status::Corruption("entity \"" + id + "\": payload is not canonical JSON");
      }
      if (s.deleted() && s.payload != "{}") {
        return Status::Corruption("entity \"" + id + "\": tombstone with a payload");
      }
    }
    return Status::OK();
  }

  ApplyCounts counters() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return counters_;
  }

  Status ScanEntities(std::string_view begin, std::string_view end,
                      const EntityVisitor& fn) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = data_.entities.lower_bound(begin); it != data_.entities.end(); ++it) {
      if (!end.empty() && std::string_view(it->first) >= end) break;
      if (Expired(it->second)) continue;
      TANDEM_ASSIGN_OR_RETURN(bool more, fn(it->second));
      if (!more) break;
    }
    return Status::OK();
  }

  Result<bool> RestoreEntity(std::string_view entity_id,
                             const std::optional<AppliedMarker>& expected,
                             const std::optional<EntityState>& target) override {
    std::optional<EntityState> next;
    if (target.has_value()) {
      TANDEM_ASSIGN_OR_RETURN(next, CheckRestoreTarget(entity_id, *target));
    }
    std::lock_guard<std::mutex> lock(mu_);
    auto it = data_.entities.find(entity_id);
    std::optional<AppliedMarker> current;
    if (it != data_.entities.end() && !Expired(it->second)) current = it->second.marker;
    if (current != expected) return false;
    if (!next.has_value()) {
      if (it != data_.entities.end()) data_.entities.erase(it);
      return true;
    }
    next->marker.applied_at_us = clock_.NowMicros();
    next->content.reset();
    next->indexed.reset();
    data_.entities.insert_or_assign(std::string(entity_id), std::move(*next));
    return true;
  }

 private:
  const EntityState* Lookup(const std::map<std::string, EntityState, std::less<>>& staged,
                            std::string_view id) const {
    if (auto it = staged.find(id); it != staged.end()) return &it->second;
    if (auto it = data_.entities.find(id); it != data_.entities.end()) return &it->second;
    return nullptr;
  }
  bool Expired(const EntityState& s) const {
    return TombstoneExpired(s.marker, clock_.NowMicros(), retention_us_);
  }

  mutable std::mutex mu_;
  MemStoreData& data_;  // GUARDED_BY(mu_)
  Clock& clock_;
  const int64_t retention_us_;
  ApplyCounts counters_;  // GUARDED_BY(mu_)
};

}  // namespace

Result<EntityState> CheckRestoreTarget(std::string_view entity_id, const EntityState& target) {
  if (target.entity_id != entity_id) {
    return Status::InvalidArgument("target.entity_id: \"" + target.entity_id.substr(0, 80) +
                                   "\" is not the entity restored, \"" +
                                   std::string(entity_id.substr(0, 80)) + "\"");
  }
  StoreEvent probe;
  probe.event.entity_id = target.entity_id;
  probe.event.entity_type = target.entity_type;
  probe.position.topic = "restore";
  if (Status s = ValidateStoreEvent(probe); !s.ok()) {
    return Status::InvalidArgument("target." + s.message());
  }
  EntityState out = target;
  if (target.marker.deleted) {
    out.payload = "{}";
    out.content.reset();
    return out;
  }
  Result<store_internal::JsonValue> doc = store_internal::ParseJson(target.payload);
  if (!doc.ok()) return Status::InvalidArgument("target.payload: " + doc.status().message());
  if (!doc->is_object()) {
    return Status::InvalidArgument("target.payload: must be a JSON object, got " +
                                   std::string(store_internal::JsonKindName(doc->kind)));
  }
  out.payload = store_internal::ToCanonicalJson(*doc);
  return out;
}

std::unique_ptr<Store> NewMemStore(MemStoreData& data, const MemStoreOptions& options) {
  return std::make_unique<MemStore>(data, options);
}

}  // namespace tandem
