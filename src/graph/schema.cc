// GraphSchema: the banking default, validation, the JSON form, and reading
// references out of payloads.

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <tuple>
#include <utility>

#include "graph/references.h"
#include "tandem/graph.h"
#include "tandem/store.h"

namespace tandem {
namespace {

using Orientation = ReferenceSpec::Orientation;
using store_internal::JsonValue;

bool ValidName(std::string_view t) {
  if (t.empty() || t.size() > 64 || t[0] < 'a' || t[0] > 'z') return false;
  return std::all_of(t.begin(), t.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

std::string_view OrientationName(Orientation o) { return o == Orientation::kOut ? "out" : "in"; }

std::vector<ReferenceSpec> Sorted(std::vector<ReferenceSpec> refs) {
  std::sort(refs.begin(), refs.end(), [](const ReferenceSpec& a, const ReferenceSpec& b) {
    return std::tie(a.entity_type, a.field) < std::tie(b.entity_type, b.field);
  });
  return refs;
}

Result<ReferenceSpec> ParseSpec(const nlohmann::json& item, const std::string& where) {
  if (!item.is_object()) return Status::InvalidArgument(where + ": must be an object");
  ReferenceSpec spec;
  bool have[4] = {false, false, false, false};
  for (const auto& [key, value] : item.items()) {
    if (!value.is_string())
      return Status::InvalidArgument(where + "." + key + ": must be a string");
    const std::string& v = value.get_ref<const std::string&>();
    if (key == "entity_type") {
      spec.entity_type = v;
      have[0] = true;
    } else if (key == "field") {
      spec.field = v;
      have[1] = true;
    } else if (key == "edge") {
      spec.edge_label = v;
      have[2] = true;
    } else if (key == "direction") {
      if (v != "in" && v != "out") {
        return Status::InvalidArgument(where + ".direction: must be \"in\" or \"out\", got \"" + v +
                                       "\"");
      }
      spec.orientation = v == "out" ? Orientation::kOut : Orientation::kIn;
      have[3] = true;
    } else {
      return Status::InvalidArgument(where + "." + key + ": unknown member");
    }
  }
  static constexpr const char* kNames[] = {"entity_type", "field", "edge", "direction"};
  for (int i = 0; i < 4; ++i) {
    if (!have[i]) return Status::InvalidArgument(where + "." + kNames[i] + ": required");
  }
  return spec;
}

}  // namespace

GraphSchema BankingSchema() {
  auto ref = [](const char* type, const char* field, const char* label, Orientation o) {
    return ReferenceSpec{type, field, label, o};
  };
  GraphSchema s;
  s.references = {
      ref("account", "owner_id", "owns", Orientation::kIn),
      ref("communication", "from_person", "sent", Orientation::kIn),
      ref("communication", "to_person", "received_by", Orientation::kOut),
      ref("company", "beneficial_owners", "beneficial_owner_of", Orientation::kIn),
      ref("company", "directors", "director_of", Orientation::kIn),
      ref("company", "signatories", "signatory_of", Orientation::kIn),
      ref("person", "employer_id", "employed_by", Orientation::kOut),
      ref("sanction_entry", "matches_entity", "lists", Orientation::kOut),
      ref("transaction", "from_account", "sent", Orientation::kIn),
      ref("transaction", "to_account", "received_by", Orientation::kOut),
  };
  return s;
}

Status ValidateGraphSchema(const GraphSchema& schema) {
  std::set<std::pair<std::string, std::string>> seen;
  for (size_t i = 0; i < schema.references.size(); ++i) {
    const ReferenceSpec& r = schema.references[i];
    std::string where = "references[" + std::to_string(i) + "]";
    if (!ValidName(r.entity_type)) {
      return Status::InvalidArgument(where + ".entity_type: must match [a-z][a-z0-9_]{0,63}");
    }
    if (r.field.empty() || r.field.size() > 256) {
      return Status::InvalidArgument(where + ".field: must be 1..256 bytes");
    }
    if (!ValidName(r.edge_label)) {
      return Status::InvalidArgument(where + ".edge: must match [a-z][a-z0-9_]{0,63}");
    }
    if (!seen.emplace(r.entity_type, r.field).second) {
      return Status::InvalidArgument(where + ": " + r.entity_type + "." + r.field +
                                     " is declared twice");
    }
  }
  return Status::OK();
}

Result<GraphSchema> ParseGraphSchema(std::string_view json) {
  nlohmann::json doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status::InvalidArgument("schema: invalid JSON");
  if (!doc.is_object()) return Status::InvalidArgument("schema: must be a JSON object");
  GraphSchema schema;
  for (const auto& [key, value] : doc.items()) {
    if (key != "references") return Status::InvalidArgument("schema." + key + ": unknown member");
    if (!value.is_array()) return Status::InvalidArgument("references: must be an array");
    for (size_t i = 0; i < value.size(); ++i) {
      TANDEM_ASSIGN_OR_RETURN(ReferenceSpec spec,
                              ParseSpec(value[i], "references[" + std::to_string(i) + "]"));
      schema.references.push_back(std::move(spec));
    }
  }
  TANDEM_RETURN_IF_ERROR(ValidateGraphSchema(schema));
  return schema;
}

std::string SerializeGraphSchema(const GraphSchema& schema) {
  nlohmann::json refs = nlohmann::json::array();
  for (const ReferenceSpec& r : Sorted(schema.references)) {
    nlohmann::json item = nlohmann::json::object();
    item["entity_type"] = r.entity_type;
    item["field"] = r.field;
    item["edge"] = r.edge_label;
    item["direction"] = std::string(OrientationName(r.orientation));
    refs.push_back(std::move(item));
  }
  nlohmann::json doc = nlohmann::json::object();
  doc["references"] = std::move(refs);
  return doc.dump();
}

namespace graph_internal {

EdgeKey EdgeOf(std::string_view entity_id, const OwnRef& ref) {
  if (ref.orientation == Orientation::kOut) {
    return {std::string(entity_id), ref.label, ref.target};
  }
  return {ref.target, ref.label, std::string(entity_id)};
}

ReferenceExtractor::ReferenceExtractor(const GraphSchema& schema) {
  for (const ReferenceSpec& r : schema.references) by_type_[r.entity_type].push_back(r);
}

namespace {

Status BadReference(const ReferenceSpec& spec, std::string_view got) {
  return Status::InvalidArgument("payload." + spec.field +
                                 ": a reference must be an entity_id string (1.." +
                                 std::to_string(kMaxStoreEntityIdBytes) +
                                 " bytes) or an array of them, got " + std::string(got));
}

Status AddTarget(const ReferenceSpec& spec, const JsonValue& v, std::vector<OwnRef>* out) {
  if (v.kind != JsonValue::Kind::kString) {
    return BadReference(spec, store_internal::JsonKindName(v.kind));
  }
  if (v.text.empty() || v.text.size() > kMaxStoreEntityIdBytes) {
    return BadReference(spec, "a string of " + std::to_string(v.text.size()) + " bytes");
  }
  out->push_back(OwnRef{spec.edge_label, spec.orientation, v.text});
  return Status::OK();
}

}  // namespace

Result<std::vector<OwnRef>> ReferenceExtractor::Extract(std::string_view entity_type,
                                                        const JsonValue& payload) const {
  std::vector<OwnRef> refs;
  auto it = by_type_.find(entity_type);
  if (it == by_type_.end()) return refs;
  refs.reserve(it->second.size());
  for (const ReferenceSpec& spec : it->second) {
    const JsonValue* v = payload.Find(spec.field);
    if (v == nullptr || v->is_null()) continue;
    if (v->kind == JsonValue::Kind::kArray) {
      for (const JsonValue& element : v->elements) {
        TANDEM_RETURN_IF_ERROR(AddTarget(spec, element, &refs));
      }
    } else {
      TANDEM_RETURN_IF_ERROR(AddTarget(spec, *v, &refs));
    }
  }
  std::sort(refs.begin(), refs.end());
  refs.erase(std::unique(refs.begin(), refs.end()), refs.end());
  return refs;
}

}  // namespace graph_internal
}  // namespace tandem
