// Reading references out of a payload: which edges an entity declares under
// a GraphSchema. Used when an event is applied (to diff the old and the new
// references) and by CheckInvariants (to recompute every edge).
//
// Thread safety: pure functions; a ReferenceExtractor is immutable after
// construction and may be shared.
#pragma once

#include <compare>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "store/json_value.h"
#include "tandem/graph.h"
#include "tandem/status.h"

namespace tandem::graph_internal {

// One reference an entity declares: an edge labelled `label` between the
// entity and `target`, pointing away from the entity (kOut) or towards it.
struct OwnRef {
  std::string label;
  ReferenceSpec::Orientation orientation = ReferenceSpec::Orientation::kOut;
  std::string target;
  friend auto operator<=>(const OwnRef&, const OwnRef&) = default;
  friend bool operator==(const OwnRef&, const OwnRef&) = default;
};

// An edge as stored: from -label-> to.
struct EdgeKey {
  std::string from;
  std::string label;
  std::string to;
  friend auto operator<=>(const EdgeKey&, const EdgeKey&) = default;
};

// The edge that `ref`, declared by `entity_id`, stands for.
EdgeKey EdgeOf(std::string_view entity_id, const OwnRef& ref);

class ReferenceExtractor {
 public:
  explicit ReferenceExtractor(const GraphSchema& schema);

  // The references of a live entity of `entity_type` with `payload` (an
  // object), sorted and without repeats. InvalidArgument
  // "payload.<field>: ..." when a reference field holds anything but an
  // entity_id string (1..1024 bytes), an array of them, or null.
  Result<std::vector<OwnRef>> Extract(std::string_view entity_type,
                                      const store_internal::JsonValue& payload) const;

 private:
  std::map<std::string, std::vector<ReferenceSpec>, std::less<>> by_type_;
};

}  // namespace tandem::graph_internal
