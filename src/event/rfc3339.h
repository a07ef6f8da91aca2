// RFC 3339 date-times for event timestamps: strict parsing to microseconds
// since the Unix epoch, and formatting of a microsecond instant as UTC.
//
//   std::optional<int64_t> us = ParseRfc3339("2024-02-29T12:00:00.5+01:00");
//   std::string s = FormatRfc3339Utc(*us);  // "2024-02-29T11:00:00.500000Z"
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tandem::event_internal {

// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)`; 'T' and 'Z' may be
// lower case (RFC 3339 §5.6). Years 0001..9999, real calendar days, second 60
// (a leap second) counts as the first second of the next minute. Digits of
// the fraction beyond microseconds are truncated. nullopt when malformed.
std::optional<int64_t> ParseRfc3339(std::string_view text);

// "YYYY-MM-DDTHH:MM:SS.ffffffZ" for `micros` since the epoch (UTC).
std::string FormatRfc3339Utc(int64_t micros);

}  // namespace tandem::event_internal
