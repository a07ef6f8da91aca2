// A random banking workload for the graph tests: payloads of the five
// banking entity types whose reference fields point at other entities of the
// workload or, one time in ten, at ids that never arrive (placeholders).
//
// Thread safety: pure functions over the caller's Random.
#pragma once

#include <string>

#include "../store/store_test_util.h"

namespace tandem::graph_test {

using store_test::EntityName;
using store_test::LogOptions;

inline constexpr size_t kEntities = 100;

inline std::string Ref(Random& rnd) {
  if (rnd.OneIn(10)) return "ghost-" + std::to_string(rnd.Uniform(5));  // never arrives
  return EntityName(rnd.Uniform(kEntities));
}

// A value for a reference field: an id, sometimes null (drops the edge).
inline std::string RefValue(Random& rnd, EventType type) {
  if (type == EventType::kUpdate && rnd.OneIn(5)) return "null";
  return "\"" + Ref(rnd) + "\"";
}

inline std::string BankingPayload(Random& rnd, const std::string& entity_type, const std::string&,
                                  EventType type) {
  const bool partial = type == EventType::kUpdate;  // updates touch some fields only
  auto maybe = [&](std::string field) { return !partial || rnd.OneIn(2) ? field : ""; };
  std::string out = "{\"note\":\"n" + std::to_string(rnd.Uniform(4)) + "\"";
  auto add = [&](const std::string& field, const std::string& value) {
    if (!field.empty()) out += ",\"" + field + "\":" + value;
  };
  if (entity_type == "account") {
    add(maybe("owner_id"), RefValue(rnd, type));
  } else if (entity_type == "transaction") {
    add(maybe("from_account"), RefValue(rnd, type));
    add(maybe("to_account"), RefValue(rnd, type));
    add("amount", std::to_string(rnd.Uniform(10000)) + ".5");
  } else if (entity_type == "communication") {
    add(maybe("from_person"), RefValue(rnd, type));
    add(maybe("to_person"), RefValue(rnd, type));
  } else if (entity_type == "company") {
    std::string list = "[";
    for (uint64_t k = rnd.Uniform(4); k > 0; --k)
      list += "\"" + Ref(rnd) + "\"" + (k > 1 ? "," : "");
    add(maybe("directors"), list + "]");
    if (rnd.OneIn(3)) add("beneficial_owners", "[\"" + Ref(rnd) + "\"]");
  } else if (entity_type == "person") {
    if (rnd.OneIn(2)) add("employer_id", RefValue(rnd, type));
  }
  return out + "}";
}

inline LogOptions BankingLog() {
  LogOptions o;
  o.entities = kEntities;
  o.events = 2000;
  o.partitions = 4;
  o.entity_types = {"person", "company", "account", "transaction", "communication"};
  o.payload = BankingPayload;
  return o;
}

}  // namespace tandem::graph_test
