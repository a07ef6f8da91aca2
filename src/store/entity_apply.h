// What applying one event to one entity does, decided the same way by every
// store: the structural checks, the newer-than rule (CompareWithApplied), the
// entity_type conflict check and the payload transition. A store calls
// PlanEvent with the entity's current state, then performs the plan its own
// way (the graph store also moves edges) or reports the skip / error.
//
//   TANDEM_ASSIGN_OR_RETURN(EventPlan plan, PlanEvent(e, current, now, retention));
//   if (plan.code != ApplyCode::kApplied) { report(plan.code, plan.reason); continue; }
//   write(plan.marker, plan.payload);
//
// Thread safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "store/json_value.h"
#include "tandem/event.h"
#include "tandem/status.h"
#include "tandem/store.h"

namespace tandem::store_internal {

// As NextPayload (tandem/store.h), returning the document. `current` is the
// entity's live canonical payload, nullopt when it is missing or deleted.
Result<JsonValue> NextPayloadValue(EventType type, std::optional<std::string_view> current,
                                   std::string_view event_payload);

struct EventPlan {
  ApplyCode code = ApplyCode::kApplied;  // kApplied, kSkipped*, or kPermanentError
  std::string reason;                    // for kPermanentError
  AppliedMarker marker;                  // kApplied: the entity's new marker
  JsonValue payload;                     // kApplied: the new payload ({} for delete)
};

// Plans `e` against `current` (nullptr: the store holds nothing for the
// entity). A tombstone older than `retention_us` counts as nothing. Not OK
// only when the store's own data is bad (Corruption of the stored payload);
// problems of the event are a kPermanentError plan.
Result<EventPlan> PlanEvent(const StoreEvent& e, const EntityState* current, int64_t now_us,
                            int64_t retention_us);

// What PlanEvent reads of the entity's stored state, as views into the
// store's own record (valid for the call), so a store need not copy the
// record into an EntityState first.
struct StoredEntityView {
  std::string_view entity_type;
  std::string_view payload;  // canonical JSON
  const AppliedMarker& marker;
};
// As above; nullopt: the store holds nothing for the entity.
Result<EventPlan> PlanEvent(const StoreEvent& e, std::optional<StoredEntityView> current,
                            int64_t now_us, int64_t retention_us);

}  // namespace tandem::store_internal
