// The event being assembled by one parse, the field errors found so far, and
// the field checks shared by every input format (native JSON, CloudEvents
// structured JSON, CloudEvents HTTP binary mode). A format's reader extracts
// typed values and hands them to these checks, so one rule is written once.
//
//   Draft d;
//   CheckEntityId(limits, "subject", id, &d);
//   ...
//   Status s = d.errors.ToStatus();  // "subject: must be 1..256 bytes, got 0; ..."
//
// Thread safety: values; one Draft per parse.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "tandem/event.h"

namespace tandem::event_internal {

// Field errors of one event, joined by "; " into one InvalidArgument.
class FieldErrors {
 public:
  // Records "<field>: <reason>".
  void Add(std::string_view field, std::string_view reason);
  bool empty() const { return message_.empty(); }
  // OK when nothing was recorded.
  Status ToStatus() const;

 private:
  std::string message_;
};

struct Draft {
  EntityEvent event;
  FieldErrors errors;
  uint64_t seen = 0;  // one bit per field of the format's table

  // Marks field `bit` as seen; records "<name>: given more than once" and
  // returns false when it already was.
  bool MarkSeen(int bit, std::string_view name);
  bool Has(int bit) const { return (seen >> bit) & 1; }
};

// `value` for an error message: cut after 64 bytes (at a character boundary)
// with "..." appended.
std::string Excerpt(std::string_view value);
// Excerpt(value) as a quoted, escaped JSON string.
std::string Quote(std::string_view value);

// Each check validates one value and records "<field>: <reason>" in the
// draft when it is bad. `field` is the name the producer used ("entity_id"
// natively, "subject" in a CloudEvent, "ce-subject" as an HTTP header). The
// Check* functions that take no output store the value in d->event.

// True when `value` has min..max bytes.
bool CheckString(std::string_view field, std::string_view value, size_t min, size_t max, Draft* d);
void CheckEventType(std::string_view field, std::string_view value, Draft* d);
void CheckEntityType(std::string_view field, std::string_view value, Draft* d);
void CheckTimestamp(std::string_view field, std::string_view value, Draft* d);
// `raw` is the value as written, for the message.
void CheckVersion(std::string_view field, int64_t value, std::string_view raw, Draft* d);
// The datacontenttype of a CloudEvent: JSON media types only. Stores nothing.
void CheckDataContentType(std::string_view field, std::string_view value, Draft* d);

// Records "<field>: required" unless field `bit` was seen.
void RequireField(int bit, std::string_view field, Draft* d);

}  // namespace tandem::event_internal
