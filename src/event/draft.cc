#include "event/draft.h"

#include <optional>

#include "event/json_text.h"
#include "event/rfc3339.h"

namespace tandem::event_internal {
namespace {

constexpr size_t kMaxQuotedBytes = 64;

std::string LengthReason(size_t min, size_t max, size_t got) {
  return "must be " + std::to_string(min) + ".." + std::to_string(max) + " bytes, got " +
         std::to_string(got);
}

bool IsEntityType(std::string_view s) {
  if (s.empty() || s.size() > 64 || s[0] < 'a' || s[0] > 'z') return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

char LowerAscii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

void FieldErrors::Add(std::string_view field, std::string_view reason) {
  if (!message_.empty()) message_ += "; ";
  message_.append(field);
  message_ += ": ";
  message_.append(reason);
}

Status FieldErrors::ToStatus() const {
  return message_.empty() ? Status::OK() : Status::InvalidArgument(message_);
}

bool Draft::MarkSeen(int bit, std::string_view name) {
  if (Has(bit)) {
    errors.Add(name, "given more than once");
    return false;
  }
  seen |= uint64_t{1} << bit;
  return true;
}

namespace {

std::string_view CutForMessage(std::string_view value) {
  if (value.size() <= kMaxQuotedBytes) return value;
  size_t n = kMaxQuotedBytes;
  while (n > 0 && (static_cast<unsigned char>(value[n]) & 0xC0) == 0x80) --n;  // whole chars
  return value.substr(0, n);
}

}  // namespace

std::string Excerpt(std::string_view value) {
  std::string out(CutForMessage(value));
  if (out.size() < value.size()) out += "...";
  return out;
}

std::string Quote(std::string_view value) {
  std::string out;
  std::string_view cut = CutForMessage(value);
  AppendJsonString(cut, &out);
  if (cut.size() < value.size()) out += "...";
  return out;
}

bool CheckString(std::string_view field, std::string_view value, size_t min, size_t max, Draft* d) {
  if (value.size() >= min && value.size() <= max) return true;
  d->errors.Add(field, LengthReason(min, max, value.size()));
  return false;
}

void CheckEventType(std::string_view field, std::string_view value, Draft* d) {
  std::optional<EventType> type = ParseEventType(value);
  if (!type) {
    d->errors.Add(field,
                  "unknown value " + Quote(value) + " (expected create, update, upsert, delete)");
    return;
  }
  d->event.event_type = *type;
}

void CheckEntityType(std::string_view field, std::string_view value, Draft* d) {
  if (!IsEntityType(value)) {
    d->errors.Add(field, "must match [a-z][a-z0-9_]{0,63}, got " + Quote(value));
    return;
  }
  d->event.entity_type.assign(value);
}

void CheckTimestamp(std::string_view field, std::string_view value, Draft* d) {
  std::optional<int64_t> micros = ParseRfc3339(value);
  if (!micros) {
    d->errors.Add(
        field, "must be an RFC 3339 date-time such as 2024-05-01T12:00:00Z, got " + Quote(value));
    return;
  }
  d->event.timestamp.assign(value);
  d->event.timestamp_us = *micros;
}

void CheckVersion(std::string_view field, int64_t value, std::string_view raw, Draft* d) {
  if (value < 1) {
    d->errors.Add(field, "must be an integer >= 1, got " + std::string(raw));
    return;
  }
  d->event.version = value;
}

void CheckDataContentType(std::string_view field, std::string_view value, Draft* d) {
  std::string media(TrimSpace(value.substr(0, value.find(';'))));
  for (char& c : media) c = LowerAscii(c);
  bool json = media == "application/json" || media == "text/json" ||
              (media.size() > 5 && media.ends_with("+json"));
  if (!json) {
    d->errors.Add(field,
                  "must be a JSON media type (application/json or */*+json), got " + Quote(value));
  }
}

void RequireField(int bit, std::string_view field, Draft* d) {
  if (!d->Has(bit)) d->errors.Add(field, "required");
}

}  // namespace tandem::event_internal
