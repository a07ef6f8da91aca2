// The contract helpers of tandem/store.h: the newer-than rule, markers,
// digests and the structural checks every store shares.

#include <cinttypes>
#include <cstdio>
#include <string>

#include "common/hash.h"
#include "store/entity_apply.h"
#include "store/json_value.h"
#include "tandem/store.h"

namespace tandem {

std::string_view ApplyCodeName(ApplyCode code) {
  switch (code) {
    case ApplyCode::kApplied:
      return "applied";
    case ApplyCode::kSkippedStale:
      return "skipped_stale";
    case ApplyCode::kSkippedDuplicate:
      return "skipped_duplicate";
    case ApplyCode::kTransientError:
      return "transient_error";
    case ApplyCode::kPermanentError:
      return "permanent_error";
  }
  return "unknown";
}

void ApplyCounts::Add(ApplyCode code) {
  switch (code) {
    case ApplyCode::kApplied:
      ++applied;
      break;
    case ApplyCode::kSkippedStale:
      ++stale;
      break;
    case ApplyCode::kSkippedDuplicate:
      ++duplicate;
      break;
    case ApplyCode::kTransientError:
      ++transient;
      break;
    case ApplyCode::kPermanentError:
      ++permanent;
      break;
  }
}

ApplyCounts& ApplyCounts::operator+=(const ApplyCounts& o) {
  applied += o.applied;
  stale += o.stale;
  duplicate += o.duplicate;
  transient += o.transient;
  permanent += o.permanent;
  return *this;
}

std::string StoreDigest::ToString() const {
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%" PRIu64 ":%016" PRIx64, entities, hash);
  return buf;
}

Freshness CompareWithApplied(const AppliedMarker* applied, const StoreEvent& incoming) {
  if (applied == nullptr) return Freshness::kNewer;
  const EntityEvent& e = incoming.event;
  const LogPosition& p = incoming.position;
  if (applied->position == p) return Freshness::kDuplicate;
  if (!e.event_id.empty() && e.event_id == applied->event_id) return Freshness::kDuplicate;
  if (e.version.has_value() && applied->version.has_value()) {
    return *e.version > *applied->version ? Freshness::kNewer : Freshness::kStale;
  }
  if (applied->position.topic == p.topic && applied->position.partition == p.partition) {
    return p.offset > applied->position.offset ? Freshness::kNewer : Freshness::kStale;
  }
  return Freshness::kIncomparable;
}

AppliedMarker NextMarker(const AppliedMarker* previous, const StoreEvent& incoming,
                         int64_t now_us) {
  AppliedMarker m;
  m.version = incoming.event.version;
  if (previous != nullptr && previous->version.has_value() &&
      (!m.version.has_value() || *previous->version > *m.version)) {
    m.version = previous->version;
  }
  m.position = incoming.position;
  m.event_id = incoming.event.event_id;
  m.deleted = incoming.event.event_type == EventType::kDelete;
  m.applied_at_us = now_us;
  return m;
}

bool IsDerivedUpdate(const EntityEvent& event) {
  return event.event_type == EventType::kUpdate && event.source.starts_with(kDerivedSourcePrefix);
}

bool TombstoneExpired(const AppliedMarker& marker, int64_t now_us, int64_t retention_us) {
  return marker.deleted && retention_us >= 0 && now_us - marker.applied_at_us > retention_us;
}

uint64_t EntityHash(std::string_view entity_type, std::string_view entity_id,
                    std::optional<int64_t> version, std::string_view canonical_payload) {
  std::string buf;
  buf.reserve(entity_type.size() + entity_id.size() + canonical_payload.size() + 24);
  buf.append(entity_type);
  buf.push_back('\0');
  buf.append(entity_id);
  buf.push_back('\0');
  buf.append(version.has_value() ? std::to_string(*version) : "-");
  buf.push_back('\0');
  buf.append(canonical_payload);
  return StableHash64(buf);
}

namespace {

bool ValidEntityType(std::string_view t) {
  if (t.empty() || t.size() > 64 || t[0] < 'a' || t[0] > 'z') return false;
  for (char c : t) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

Status ValidateStoreEvent(const StoreEvent& e) {
  const std::string& id = e.event.entity_id;
  if (id.empty() || id.size() > kMaxStoreEntityIdBytes) {
    return Status::InvalidArgument("entity_id: must be 1.." +
                                   std::to_string(kMaxStoreEntityIdBytes) + " bytes, got " +
                                   std::to_string(id.size()));
  }
  if (!ValidEntityType(e.event.entity_type)) {
    return Status::InvalidArgument("entity_type: must match [a-z][a-z0-9_]{0,63}, got \"" +
                                   e.event.entity_type.substr(0, 80) + "\"");
  }
  if (e.position.topic.empty()) return Status::InvalidArgument("position.topic: must not be empty");
  return Status::OK();
}

Result<std::string> CanonicalJson(std::string_view json) {
  TANDEM_ASSIGN_OR_RETURN(store_internal::JsonValue v, store_internal::ParseJson(json));
  return store_internal::ToCanonicalJson(v);
}

namespace store_internal {

Result<JsonValue> NextPayloadValue(EventType type, std::optional<std::string_view> current,
                                   std::string_view event_payload) {
  if (type == EventType::kDelete) return JsonValue::Object();
  Result<JsonValue> patch = ParseJson(event_payload);
  if (!patch.ok()) return Status::InvalidArgument("payload: " + patch.status().message());
  if (!patch->is_object()) {
    return Status::InvalidArgument("payload: must be a JSON object, got " +
                                   std::string(JsonKindName(patch->kind)));
  }
  if (type != EventType::kUpdate) return std::move(patch).value();
  JsonValue target = JsonValue::Object();
  if (current.has_value()) {
    Result<JsonValue> stored = ParseJson(*current);
    if (!stored.ok()) return Status::Corruption("stored payload: " + stored.status().message());
    target = std::move(stored).value();
  }
  MergePatch(&target, *patch);
  return target;
}

}  // namespace store_internal

Result<std::string> NextPayload(EventType type, const std::optional<std::string>& current,
                                std::string_view event_payload) {
  TANDEM_ASSIGN_OR_RETURN(store_internal::JsonValue v,
                          store_internal::NextPayloadValue(type, current, event_payload));
  return store_internal::ToCanonicalJson(v);
}

}  // namespace tandem

namespace tandem::store_internal {
namespace {

EventPlan Refuse(std::string reason) {
  EventPlan p;
  p.code = ApplyCode::kPermanentError;
  p.reason = std::move(reason);
  return p;
}

std::string PositionText(const LogPosition& p) {
  return p.topic + "/" + std::to_string(p.partition) + "@" + std::to_string(p.offset);
}

}  // namespace

Result<EventPlan> PlanEvent(const StoreEvent& e, const EntityState* current, int64_t now_us,
                            int64_t retention_us) {
  std::optional<StoredEntityView> view;
  if (current != nullptr) {
    view.emplace(StoredEntityView{current->entity_type, current->payload, current->marker});
  }
  return PlanEvent(e, view, now_us, retention_us);
}

Result<EventPlan> PlanEvent(const StoreEvent& e, std::optional<StoredEntityView> current,
                            int64_t now_us, int64_t retention_us) {
  if (Status s = ValidateStoreEvent(e); !s.ok()) return Refuse(s.message());
  if (current.has_value() && TombstoneExpired(current->marker, now_us, retention_us)) {
    current.reset();
  }
  const AppliedMarker* marker = current.has_value() ? &current->marker : nullptr;
  const Freshness freshness = CompareWithApplied(marker, e);
  if (freshness == Freshness::kStale || freshness == Freshness::kDuplicate) {
    EventPlan p;
    p.code =
        freshness == Freshness::kStale ? ApplyCode::kSkippedStale : ApplyCode::kSkippedDuplicate;
    return p;
  }
  const bool live = current.has_value() && !current->marker.deleted;
  if (!live && IsDerivedUpdate(e.event)) {
    EventPlan p;
    p.code = ApplyCode::kSkippedStale;
    return p;
  }
  if (live && current->entity_type != e.event.entity_type) {
    return Refuse("entity_type: entity \"" + e.event.entity_id + "\" is a live " +
                  std::string(current->entity_type) + ", not a " + e.event.entity_type);
  }
  if (freshness == Freshness::kIncomparable) {
    return Refuse("position: unversioned event at " + PositionText(e.position) +
                  " cannot be ordered against the last applied event of entity \"" +
                  e.event.entity_id + "\" at " + PositionText(marker->position));
  }
  std::optional<std::string_view> current_payload;
  if (live) current_payload = current->payload;
  Result<JsonValue> payload =
      NextPayloadValue(e.event.event_type, current_payload, e.event.payload);
  if (!payload.ok()) {
    if (payload.status().IsInvalidArgument()) return Refuse(payload.status().message());
    return payload.status();
  }
  EventPlan p;
  p.marker = NextMarker(marker, e, now_us);
  p.payload = std::move(payload).value();
  return p;
}

}  // namespace tandem::store_internal
