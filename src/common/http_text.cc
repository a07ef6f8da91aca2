#include "common/http_text.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

namespace tandem {

std::string BodyExcerpt(std::string_view body, size_t max_bytes) {
  std::string s(body.substr(0, max_bytes));
  std::replace_if(
      s.begin(), s.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  if (body.size() > max_bytes) s += "...";
  return s;
}

std::string ServerErrorMessage(std::string_view body) {
  using nlohmann::json;
  const json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object()) {
    const auto err = j.find("error");
    if (err != j.end() && err->is_string()) return err->get<std::string>();
    if (err != j.end() && err->is_object()) {
      const auto m = err->find("message");
      if (m != err->end() && m->is_string()) return m->get<std::string>();
    }
    const auto m = j.find("message");
    if (m != j.end() && m->is_string()) return m->get<std::string>();
  }
  return BodyExcerpt(body);
}

std::optional<int64_t> RetryAfterSeconds(std::string_view value) {
  if (value.empty() || value.size() > 9 ||
      !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  int64_t s = 0;
  for (char c : value) s = s * 10 + (c - '0');
  return s;
}

}  // namespace tandem
