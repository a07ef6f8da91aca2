// Byte-level JSON helpers of the event module that need no parser: string
// escaping for Serialize and minified output, number/literal token checks,
// locating the first invalid UTF-8 byte, naming the top-level member that
// holds a byte offset, and splitting batch bodies into items.
//
//   std::string out;
//   AppendJsonString("a\"b", &out);  // out == R"("a\"b")"
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/status.h"

namespace tandem::event_internal {

// Appends `s` as a quoted JSON string. Escapes '"', '\\' and bytes < 0x20;
// other bytes (UTF-8 included) are copied as they are.
void AppendJsonString(std::string_view s, std::string* out);

// `s` without trailing JSON whitespace (space, tab, CR, LF).
std::string_view TrimTrailingSpace(std::string_view s);
// `s` without leading and trailing JSON whitespace.
std::string_view TrimSpace(std::string_view s);

// True when `token` is exactly one RFC 8259 number (any magnitude).
bool IsJsonNumber(std::string_view token);

// Offset of the first byte of `s` that is not valid UTF-8, or s.size().
size_t FindInvalidUtf8(std::string_view s);

// The name (as written, without quotes) of the top-level member of the JSON
// object `json` whose value contains byte `offset`, or "" when the offset is
// in a key or outside any member. Best effort: it assumes the text before
// `offset` is well formed.
std::string_view TopLevelMemberAt(std::string_view json, size_t offset);

// Splits a JSON array into the text of its elements, trimmed of whitespace.
// Checks only what splitting needs (brackets balance outside strings, strings
// close, nothing follows the array); each element is validated by its own
// parse. An empty element ("[1,,2]") is returned as "". InvalidArgument when
// the body cannot be split; TooLarge when it has more than `max_items`.
Status SplitJsonArray(std::string_view body, size_t max_items,
                      std::vector<std::string_view>* items);

// One NDJSON line: its 1-based number and its text without the line break.
struct NdjsonLine {
  size_t number;
  std::string_view text;
};
// Splits `body` on '\n' (a trailing '\r' is dropped), skipping blank lines.
// TooLarge when it has more than `max_items` non-blank lines.
Status SplitNdjson(std::string_view body, size_t max_items, std::vector<NdjsonLine>* lines);

}  // namespace tandem::event_internal
