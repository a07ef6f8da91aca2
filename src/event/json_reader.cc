#include "event/json_reader.h"

#include <algorithm>
#include <cstring>

#include "event/json_text.h"

namespace tandem::event_internal {
namespace {

bool HasBackslash(std::string_view s) { return std::memchr(s.data(), '\\', s.size()) != nullptr; }

}  // namespace

std::string_view JsonTypeName(ondemand::json_type type) {
  switch (type) {
    case ondemand::json_type::object:
      return "object";
    case ondemand::json_type::array:
      return "array";
    case ondemand::json_type::string:
      return "string";
    case ondemand::json_type::number:
      return "number";
    case ondemand::json_type::boolean:
      return "boolean";
    case ondemand::json_type::null:
      return "null";
  }
  return "unknown";
}

JsonReader::JsonReader(const EventLimits& limits) : limits_(limits) {}

void JsonReader::Load(std::string_view json) {
  size_t need = json.size() + simdjson::SIMDJSON_PADDING;
  if (need > capacity_) {
    capacity_ = std::max<size_t>(need, 2 * capacity_);
    buffer_ = std::make_unique<char[]>(capacity_);
  }
  std::memcpy(buffer_.get(), json.data(), json.size());
  std::memset(buffer_.get() + json.size(), 0, simdjson::SIMDJSON_PADDING);
  size_ = json.size();
}

Status JsonReader::Open(std::string_view json, std::string_view name) {
  name_.assign(name);
  Load(json);
  simdjson::error_code e = parser_.iterate(buffer_.get(), size_, capacity_).get(doc_);
  if (e == simdjson::UTF8_ERROR) return Utf8Error(json);
  if (e == simdjson::EMPTY)
    return Status::InvalidArgument(name_ + ": empty, expected a JSON object");
  if (e != simdjson::SUCCESS) {
    return Status::InvalidArgument(name_ + ": invalid JSON: " + simdjson::error_message(e));
  }
  ondemand::json_type type;
  if ((e = doc_.type().get(type))) return JsonError(e);
  if (type != ondemand::json_type::object) {
    return Status::InvalidArgument(name_ + ": must be a JSON object, got " +
                                   std::string(JsonTypeName(type)));
  }
  return Status::OK();
}

Result<ondemand::value> JsonReader::Root() {
  ondemand::value root;
  if (auto e = doc_.get_value().get(root)) return JsonError(e);
  return root;
}

Status JsonReader::Finish() {
  auto location = doc_.current_location();
  if (location.error() == simdjson::OUT_OF_BOUNDS) return Status::OK();
  return JsonError(simdjson::TRAILING_CONTENT);
}

Status JsonReader::JsonError(simdjson::error_code code) {
  size_t offset = size_;
  const char* at = nullptr;
  if (doc_.current_location().get(at) == simdjson::SUCCESS) {
    offset = static_cast<size_t>(at - buffer_.get());
  }
  return Status::InvalidArgument(name_ + ": invalid JSON at byte " + std::to_string(offset) + ": " +
                                 simdjson::error_message(code));
}

Status JsonReader::Utf8Error(std::string_view json) const {
  size_t offset = FindInvalidUtf8(json);
  std::string_view member = name_ == "(document)" ? TopLevelMemberAt(json, offset) : "";
  std::string field = member.empty() ? name_ : std::string(member);
  return Status::InvalidArgument(field + ": invalid UTF-8 at byte " + std::to_string(offset));
}

Status JsonReader::CheckDepth(size_t depth) const {
  if (depth <= limits_.max_depth) return Status::OK();
  return Status::InvalidArgument(name_ + ": nesting depth " + std::to_string(depth) +
                                 " exceeds limit " + std::to_string(limits_.max_depth));
}

Result<ondemand::json_type> JsonReader::TypeOf(ondemand::value& v) {
  ondemand::json_type type;
  if (auto e = v.type().get(type)) return JsonError(e);
  return type;
}

Status JsonReader::Walk(ondemand::value& v, size_t depth, std::string* out) {
  TANDEM_ASSIGN_OR_RETURN(ondemand::json_type type, TypeOf(v));
  switch (type) {
    case ondemand::json_type::object:
      return WalkObject(v, depth, out);
    case ondemand::json_type::array:
      return WalkArray(v, depth, out);
    default:
      return WalkScalar(v, type, out);
  }
}

Status JsonReader::WalkObject(ondemand::value& v, size_t depth, std::string* out) {
  TANDEM_RETURN_IF_ERROR(CheckDepth(depth));
  if (out != nullptr) out->push_back('{');
  bool first = true;
  TANDEM_RETURN_IF_ERROR(ForEachMember(v, [&](std::string_view key, ondemand::value& child) {
    if (out != nullptr) {
      if (!first) out->push_back(',');
      AppendJsonString(key, out);
      out->push_back(':');
    }
    first = false;
    return Walk(child, depth + 1, out);
  }));
  if (out != nullptr) out->push_back('}');
  return Status::OK();
}

Status JsonReader::WalkArray(ondemand::value& v, size_t depth, std::string* out) {
  TANDEM_RETURN_IF_ERROR(CheckDepth(depth));
  ondemand::array array;
  if (auto e = v.get_array().get(array)) return JsonError(e);
  if (out != nullptr) out->push_back('[');
  bool first = true;
  for (auto element : array) {
    ondemand::value child;
    if (auto e = std::move(element).get(child)) return JsonError(e);
    if (out != nullptr && !first) out->push_back(',');
    first = false;
    TANDEM_RETURN_IF_ERROR(Walk(child, depth + 1, out));
  }
  if (out != nullptr) out->push_back(']');
  return Status::OK();
}

// Scalars are checked from their raw token and left for the iterator to skip:
// simdjson's first stage already validated UTF-8, string framing and control
// characters, so only escapes, number grammar and literals remain.
Status JsonReader::WalkScalar(ondemand::value& v, ondemand::json_type type, std::string* out) {
  std::string_view token = TrimTrailingSpace(v.raw_json_token());
  simdjson::error_code e = simdjson::SUCCESS;
  if (type == ondemand::json_type::string) {
    std::string_view unused;
    if (HasBackslash(token)) e = v.get_string().get(unused);
  } else if (type == ondemand::json_type::number) {
    if (!IsJsonNumber(token)) e = simdjson::NUMBER_ERROR;
  } else if (type == ondemand::json_type::boolean) {
    if (token != "true" && token != "false") e = simdjson::T_ATOM_ERROR;
  } else if (token != "null") {
    e = simdjson::N_ATOM_ERROR;
  }
  if (e != simdjson::SUCCESS) return JsonError(e);
  if (out != nullptr) out->append(token);
  return Status::OK();
}

Status JsonReader::SkipWrongType(ondemand::value& v, ondemand::json_type type, size_t depth,
                                 std::string_view field, std::string_view expectation, bool null_ok,
                                 Draft* d) {
  TANDEM_RETURN_IF_ERROR(Walk(v, depth, nullptr));
  if (type != ondemand::json_type::null || !null_ok) {
    d->errors.Add(
        field, "must be " + std::string(expectation) + ", got " + std::string(JsonTypeName(type)));
  }
  return Status::OK();
}

Result<std::optional<std::string_view>> JsonReader::ReadString(ondemand::value& v,
                                                               std::string_view field, Draft* d,
                                                               bool null_ok, size_t depth) {
  TANDEM_ASSIGN_OR_RETURN(ondemand::json_type type, TypeOf(v));
  if (type != ondemand::json_type::string) {
    TANDEM_RETURN_IF_ERROR(SkipWrongType(v, type, depth, field, "a string", null_ok, d));
    return std::optional<std::string_view>();
  }
  std::string_view token = TrimTrailingSpace(v.raw_json_token());
  if (!HasBackslash(token)) return std::optional(token.substr(1, token.size() - 2));
  std::string_view s;
  if (auto e = v.get_string().get(s)) return JsonError(e);
  return std::optional(s);
}

Result<std::optional<int64_t>> JsonReader::ReadInteger(ondemand::value& v, std::string_view field,
                                                       std::string_view expectation, Draft* d,
                                                       std::string_view* raw) {
  TANDEM_ASSIGN_OR_RETURN(ondemand::json_type type, TypeOf(v));
  if (type != ondemand::json_type::number) {
    TANDEM_RETURN_IF_ERROR(SkipWrongType(v, type, kMemberDepth, field, expectation, true, d));
    return std::optional<int64_t>();
  }
  *raw = TrimTrailingSpace(v.raw_json_token());
  int64_t value = 0;
  if (v.get_int64().get(value) == simdjson::SUCCESS) return std::optional(value);
  if (!IsJsonNumber(*raw)) return JsonError(simdjson::NUMBER_ERROR);
  d->errors.Add(field, "must be " + std::string(expectation) + ", got " + Excerpt(*raw));
  return std::optional<int64_t>();
}

Result<bool> JsonReader::ReadObject(ondemand::value& v, std::string_view field, Draft* d,
                                    std::string* out, size_t depth) {
  TANDEM_ASSIGN_OR_RETURN(ondemand::json_type type, TypeOf(v));
  if (type != ondemand::json_type::object) {
    TANDEM_RETURN_IF_ERROR(SkipWrongType(v, type, depth, field, "a JSON object", true, d));
    return false;
  }
  out->clear();
  TANDEM_RETURN_IF_ERROR(Walk(v, depth, out));
  return true;
}

}  // namespace tandem::event_internal
