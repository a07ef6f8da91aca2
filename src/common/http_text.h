// Text helpers shared by tandem's HTTP clients (the http embedder and the
// http enricher): a printable excerpt of a response body, the server's own
// error message out of the JSON shapes services use, and the Retry-After
// header in its delay-seconds form. Pure functions over strings, so callers
// keep their HTTP library to themselves.
//
//   std::string m = ServerErrorMessage(res.body);            // "model not found"
//   std::optional<int64_t> s = RetryAfterSeconds(res.get_header_value("Retry-After"));
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tandem {

// The first `max_bytes` bytes of `body` with line breaks turned into spaces,
// "..." appended when cut.
std::string BodyExcerpt(std::string_view body, size_t max_bytes = 200);

// The message of an error answer: {"error":{"message":...}}, {"error":"..."}
// or {"message":...} (OpenAI, TEI, vLLM and Ollama differ), else BodyExcerpt.
std::string ServerErrorMessage(std::string_view body);

// A Retry-After value in its delay-seconds form ("120"): the seconds, or
// nullopt when empty, not all digits or longer than 9 digits. The HTTP-date
// form is not understood (nullopt).
std::optional<int64_t> RetryAfterSeconds(std::string_view value);

}  // namespace tandem
