// A small JSON document model for stores: exact (numbers keep the text the
// producer wrote), canonical when written (members sorted by key bytes), and
// with RFC 7386 merge patch. Parsing is done by simdjson's On Demand API
// (one parser per thread), whose header stays inside json_value.cc.
//
//   TANDEM_ASSIGN_OR_RETURN(JsonValue doc, ParseJson(R"({"b":1,"a":[true]})"));
//   MergePatch(&doc, *ParseJson(R"({"b":null})"));
//   ToCanonicalJson(doc) == R"({"a":[true]})";
//
// Thread safety: values; pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/status.h"

namespace tandem::store_internal {

// Objects nested deeper than this are refused (the event parser's default
// limit is 64; recursion over a value is bounded by it).
inline constexpr size_t kMaxJsonDepth = 128;

struct JsonMember;

struct JsonValue {
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };

  Kind kind = Kind::kNull;
  bool boolean = false;
  std::string text;                 // kNumber: the token; kString: the decoded UTF-8
  std::vector<JsonValue> elements;  // kArray
  std::vector<JsonMember> members;  // kObject, sorted by key, keys unique

  bool is_object() const { return kind == Kind::kObject; }
  bool is_null() const { return kind == Kind::kNull; }
  // The member named `key` of an object, or nullptr.
  const JsonValue* Find(std::string_view key) const;
  // The member named `key`, inserted as null when missing (the value must be an object).
  JsonValue& FindOrInsert(std::string_view key);
  // Removes member `key` when present.
  void Erase(std::string_view key);

  static JsonValue Object();
};

struct JsonMember {
  std::string key;
  JsonValue value;
};

// Defined once JsonMember is complete: constructing a JsonValue instantiates
// ~vector<JsonMember>, which clang (the fuzz build) refuses on an incomplete type.
inline JsonValue JsonValue::Object() {
  JsonValue v;
  v.kind = Kind::kObject;
  return v;
}

// "null", "boolean", "number", "string", "array" or "object".
std::string_view JsonKindName(JsonValue::Kind kind);

// Parses one JSON text (RFC 8259, UTF-8 validated, nothing after the value).
// InvalidArgument "invalid JSON: <reason>" (e.g. "nesting deeper than 128");
// also for numbers outside the double range (1e400), which cannot be kept.
Result<JsonValue> ParseJson(std::string_view text);

// Minified, members in key order, strings escaped minimally.
std::string ToCanonicalJson(const JsonValue& value);
void AppendCanonicalJson(const JsonValue& value, std::string* out);

// RFC 7386: a non-object patch replaces the target; an object patch turns a
// non-object target into {} and then, member by member, removes the member
// when the patch value is null and merges recursively otherwise.
void MergePatch(JsonValue* target, const JsonValue& patch);

}  // namespace tandem::store_internal
