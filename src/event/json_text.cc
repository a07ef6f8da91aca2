#include "event/json_text.h"

#include <cstring>

namespace tandem::event_internal {
namespace {

constexpr size_t kNpos = std::string_view::npos;

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool NeedsEscape(unsigned char c) { return c < 0x20 || c == '"' || c == '\\'; }

void AppendEscaped(unsigned char c, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  switch (c) {
    case '"':
      out->append("\\\"");
      return;
    case '\\':
      out->append("\\\\");
      return;
    case '\b':
      out->append("\\b");
      return;
    case '\f':
      out->append("\\f");
      return;
    case '\n':
      out->append("\\n");
      return;
    case '\r':
      out->append("\\r");
      return;
    case '\t':
      out->append("\\t");
      return;
    default:
      break;
  }
  const char u[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
  out->append(u, sizeof(u));
}

size_t SkipSpace(std::string_view s, size_t i) {
  while (i < s.size() && IsSpace(s[i])) ++i;
  return i;
}

// `s[i]` is '"'. Returns the offset just past the closing quote, or kNpos.
size_t SkipString(std::string_view s, size_t i) {
  const char* base = s.data();
  size_t pos = i + 1;
  while (pos < s.size()) {
    const void* q = std::memchr(base + pos, '"', s.size() - pos);
    if (q == nullptr) return kNpos;
    size_t quote = static_cast<size_t>(static_cast<const char*>(q) - base);
    size_t backslashes = 0;
    while (quote - backslashes > i + 1 && s[quote - backslashes - 1] == '\\') ++backslashes;
    if (backslashes % 2 == 0) return quote + 1;
    pos = quote + 1;
  }
  return kNpos;
}

size_t Utf8SequenceLength(std::string_view s, size_t i) {
  auto at = [&](size_t k) -> unsigned { return i + k < s.size() ? uint8_t(s[i + k]) : 0u; };
  auto cont = [&](size_t k) { return (at(k) & 0xC0) == 0x80; };
  unsigned c = at(0);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    return at(1) >= lo && at(1) <= hi && cont(2) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    return at(1) >= lo && at(1) <= hi && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

Status ArrayError(std::string_view reason, size_t offset) {
  return Status::InvalidArgument("(batch): " + std::string(reason) + " at byte " +
                                 std::to_string(offset));
}

Status AddItem(std::string_view text, size_t max_items, std::vector<std::string_view>* items) {
  if (items->size() == max_items) {
    return Status::TooLarge("(batch): more than " + std::to_string(max_items) + " items");
  }
  items->push_back(TrimSpace(text));
  return Status::OK();
}

// Splits the elements of the array whose '[' is at `open`; sets `*close` to
// the offset of its ']'.
Status SplitElements(std::string_view body, size_t open, size_t max_items,
                     std::vector<std::string_view>* items, size_t* close) {
  size_t depth = 0;
  size_t start = open + 1;
  for (size_t i = start; i < body.size(); ++i) {
    char c = body[i];
    if (c == '"') {
      size_t end = SkipString(body, i);
      if (end == kNpos) return ArrayError("unterminated string", i);
      i = end - 1;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    } else if (c == '}') {
      return ArrayError("unbalanced '}'", i);
    } else if (c == ']' || (c == ',' && depth == 0)) {
      TANDEM_RETURN_IF_ERROR(AddItem(body.substr(start, i - start), max_items, items));
      start = i + 1;
      if (c == ']') {
        *close = i;
        return Status::OK();
      }
    }
  }
  return ArrayError("the array is not closed", body.size());
}

}  // namespace

void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  size_t run = 0;  // start of the pending run of bytes that need no escape
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (!NeedsEscape(c)) continue;
    out->append(s.data() + run, i - run);
    AppendEscaped(c, out);
    run = i + 1;
  }
  out->append(s.data() + run, s.size() - run);
  out->push_back('"');
}

std::string_view TrimTrailingSpace(std::string_view s) {
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

std::string_view TrimSpace(std::string_view s) {
  s = TrimTrailingSpace(s);
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  return s;
}

bool IsJsonNumber(std::string_view t) {
  size_t i = 0;
  const size_t n = t.size();
  auto digits = [&] {
    size_t first = i;
    while (i < n && t[i] >= '0' && t[i] <= '9') ++i;
    return i > first;
  };
  if (i < n && t[i] == '-') ++i;
  if (i < n && t[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < n && t[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < n && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < n && (t[i] == '+' || t[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == n;
}

size_t FindInvalidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    size_t len = Utf8SequenceLength(s, i);
    if (len == 0) return i;
    i += len;
  }
  return s.size();
}

std::string_view TopLevelMemberAt(std::string_view json, size_t offset) {
  size_t depth = 0;
  bool expect_key = false;
  std::string_view last_string, member;
  for (size_t i = 0; i < offset && i < json.size(); ++i) {
    char c = json[i];
    if (c == '"') {
      size_t end = SkipString(json, i);
      if (end == kNpos || end > offset) return expect_key ? std::string_view() : member;
      last_string = json.substr(i + 1, end - i - 2);
      i = end - 1;
    } else if (c == '{' || c == '[') {
      expect_key = ++depth == 1;
    } else if (c == '}' || c == ']') {
      if (depth > 0) --depth;
    } else if (depth == 1 && c == ':') {
      member = last_string;
      expect_key = false;
    } else if (depth == 1 && c == ',') {
      expect_key = true;
    }
  }
  return depth >= 1 && !expect_key ? member : std::string_view();
}

Status SplitJsonArray(std::string_view body, size_t max_items,
                      std::vector<std::string_view>* items) {
  items->clear();
  size_t open = SkipSpace(body, 0);
  if (open == body.size() || body[open] != '[') {
    return ArrayError("expected '[' (a JSON array of events)", open);
  }
  size_t close = 0;
  size_t first = SkipSpace(body, open + 1);
  if (first < body.size() && body[first] == ']') {
    close = first;  // an empty array
  } else {
    TANDEM_RETURN_IF_ERROR(SplitElements(body, open, max_items, items, &close));
  }
  size_t rest = SkipSpace(body, close + 1);
  if (rest != body.size()) return ArrayError("trailing content after the array", rest);
  return Status::OK();
}

Status SplitNdjson(std::string_view body, size_t max_items, std::vector<NdjsonLine>* lines) {
  lines->clear();
  size_t number = 0;
  size_t pos = 0;
  while (pos < body.size()) {
    ++number;
    size_t nl = body.find('\n', pos);
    size_t end = nl == kNpos ? body.size() : nl;
    std::string_view text = body.substr(pos, end - pos);
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    pos = end + 1;
    if (TrimSpace(text).empty()) continue;
    if (lines->size() == max_items) {
      return Status::TooLarge("(batch): more than " + std::to_string(max_items) + " lines");
    }
    lines->push_back({number, text});
  }
  return Status::OK();
}

}  // namespace tandem::event_internal
