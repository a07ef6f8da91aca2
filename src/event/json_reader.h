// The simdjson adapter of the event module: reads one JSON document with the
// On Demand API, validating every byte it consumes and producing the typed
// values and field errors that the format decoders need. It is the only
// place in tandem that includes simdjson.h.
//
// simdjson's first stage validates UTF-8 and string framing for the whole
// document; the On Demand second stage validates only what is visited, so
// Walk() visits every value (members that a decoder does not want are walked
// too) and checks scalar tokens itself. Numbers are checked against the
// RFC 8259 grammar rather than parsed, so payload numbers of any magnitude
// are accepted and copied verbatim.
//
//   JsonReader reader(limits);
//   TANDEM_RETURN_IF_ERROR(reader.Open(json, "(document)"));
//   TANDEM_ASSIGN_OR_RETURN(ondemand::value root, reader.Root());
//   TANDEM_RETURN_IF_ERROR(reader.ForEachMember(root, [&](std::string_view key,
//                                                       ondemand::value& v) { ... }));
//   TANDEM_RETURN_IF_ERROR(reader.Finish());
//
// Errors: a Status returned by any method is fatal for the document (invalid
// JSON, nesting too deep): the reader cannot continue. Type mismatches of a
// member are not fatal: they are recorded in the Draft and the value skipped.
//
// Thread safety: not thread-safe; string_views it returns are valid until
// the next Open.
#pragma once

#include <simdjson.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "event/draft.h"
#include "tandem/event.h"
#include "tandem/status.h"

namespace tandem::event_internal {

namespace ondemand = simdjson::ondemand;

// Nesting depth of the values of the event object's members.
inline constexpr size_t kMemberDepth = 2;

class JsonReader {
 public:
  explicit JsonReader(const EventLimits& limits);
  JsonReader(const JsonReader&) = delete;
  JsonReader& operator=(const JsonReader&) = delete;

  // Copies `json` into a padded buffer and runs simdjson's first stage.
  // `name` prefixes document-level errors ("(document)", or "data" for a
  // binary-mode CloudEvent body). InvalidArgument when the text is empty, not
  // UTF-8 (naming the top-level member that holds the bad byte), or not a
  // JSON object.
  Status Open(std::string_view json, std::string_view name);
  // The root object of the document just opened.
  Result<ondemand::value> Root();
  // OK when nothing but whitespace follows the root object.
  Status Finish();

  // Calls `fn(key, value)` for each member of the object `v`, in document
  // order; stops at the first non-OK Status. `fn` must consume or leave alone
  // `value`; the reader validates whatever it leaves alone only if it Walks it.
  template <typename Fn>
  Status ForEachMember(ondemand::value& v, Fn&& fn);

  // Consumes `v`, whose own nesting depth is `depth`, validating all of it;
  // appends its minified text to `*out` unless `out` is null.
  Status Walk(ondemand::value& v, size_t depth, std::string* out);

  // Typed reads of member `field`. Each consumes the value. When the value
  // has another type it records "<field>: must be <...>, got <type>" in `d`
  // and yields nullopt / false; null yields nullopt / false with no error
  // (null means absent) unless `null_ok` is false.
  Result<std::optional<std::string_view>> ReadString(ondemand::value& v, std::string_view field,
                                                     Draft* d, bool null_ok = true,
                                                     size_t depth = kMemberDepth);
  // An integer that fits int64. `expectation` completes "must be ...". Sets
  // `*raw` to the token as written.
  Result<std::optional<int64_t>> ReadInteger(ondemand::value& v, std::string_view field,
                                             std::string_view expectation, Draft* d,
                                             std::string_view* raw);
  // A JSON object, minified into `*out`. False for null or another type.
  Result<bool> ReadObject(ondemand::value& v, std::string_view field, Draft* d, std::string* out,
                          size_t depth = kMemberDepth);

  // The type of `v` (from its first byte; nothing is consumed).
  Result<ondemand::json_type> TypeOf(ondemand::value& v);
  // Walks (skips) `v`, of type `type`, and records "<field>: must be
  // <expectation>, got <type>" unless it is null and `null_ok`.
  Status SkipWrongType(ondemand::value& v, ondemand::json_type type, size_t depth,
                       std::string_view field, std::string_view expectation, bool null_ok,
                       Draft* d);
  // "<name>: nesting depth N exceeds limit M" unless a container at `depth`
  // is within limits.
  Status CheckDepth(size_t depth) const;
  // "<name>: invalid JSON at byte N: <reason>" at the reader's position.
  Status JsonError(simdjson::error_code code);

 private:
  Status WalkObject(ondemand::value& v, size_t depth, std::string* out);
  Status WalkArray(ondemand::value& v, size_t depth, std::string* out);
  Status WalkScalar(ondemand::value& v, ondemand::json_type type, std::string* out);
  Status Utf8Error(std::string_view json) const;
  void Load(std::string_view json);

  const EventLimits& limits_;
  ondemand::parser parser_;
  ondemand::document doc_;
  std::unique_ptr<char[]> buffer_;  // the document plus SIMDJSON_PADDING bytes
  size_t capacity_ = 0;
  size_t size_ = 0;
  std::string name_;
};

// "object", "array", "string", "number", "boolean" or "null".
std::string_view JsonTypeName(ondemand::json_type type);

template <typename Fn>
Status JsonReader::ForEachMember(ondemand::value& v, Fn&& fn) {
  ondemand::object object;
  if (auto e = v.get_object().get(object)) return JsonError(e);
  for (auto member : object) {
    ondemand::field field;
    if (auto e = std::move(member).get(field)) return JsonError(e);
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) return JsonError(e);
    Status s = fn(key, field.value());
    if (!s.ok()) return s;
  }
  return Status::OK();
}

}  // namespace tandem::event_internal
