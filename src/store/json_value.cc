#include "store/json_value.h"

#include <simdjson.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

#include "event/json_text.h"

namespace tandem::store_internal {
namespace {

bool KeyLess(const JsonMember& m, std::string_view key) { return m.key < key; }

// Sorts the members by key; a duplicated key keeps its last value, as most
// JSON readers do. In place: objects are small, so an insertion sort (stable,
// no temporary buffer) is cheapest below kInsertionSortMax members.
void Normalise(std::vector<JsonMember>* members) {
  constexpr size_t kInsertionSortMax = 16;
  const auto by_key = [](const JsonMember& a, const JsonMember& b) { return a.key < b.key; };
  const auto out_of_order = [](const JsonMember& a, const JsonMember& b) {
    return !(a.key < b.key);
  };
  auto& m = *members;
  if (std::adjacent_find(m.begin(), m.end(), out_of_order) == m.end()) return;
  if (m.size() <= kInsertionSortMax) {
    for (size_t i = 1; i < m.size(); ++i) {
      if (!by_key(m[i], m[i - 1])) continue;
      JsonMember moving = std::move(m[i]);
      size_t j = i;
      for (; j > 0 && by_key(moving, m[j - 1]); --j) m[j] = std::move(m[j - 1]);
      m[j] = std::move(moving);
    }
  } else {
    std::stable_sort(m.begin(), m.end(), by_key);
  }
  size_t kept = 0;
  for (size_t i = 0; i < m.size(); ++i) {
    if (kept > 0 && m[kept - 1].key == m[i].key) {
      m[kept - 1].value = std::move(m[i].value);
    } else {
      if (kept != i) m[kept] = std::move(m[i]);
      ++kept;
    }
  }
  m.erase(m.begin() + static_cast<std::ptrdiff_t>(kept), m.end());
}

namespace ondemand = simdjson::ondemand;

// simdjson's On Demand API parses numbers only when asked, so the token is
// checked with the event module's RFC 8259 grammar check.
using event_internal::IsJsonNumber;
using event_internal::TrimSpace;

// Builds JsonValues from simdjson's On Demand API, visiting every value (On
// Demand validates what it visits; stage 1 has validated UTF-8 and the
// structural characters of the whole text).
class Builder {
 public:
  static constexpr size_t kMembersReserved = 8;

  Status Value(ondemand::value v, size_t depth, JsonValue* out) {
    ondemand::json_type type;
    if (auto e = v.type().get(type); e) return Error(e);
    switch (type) {
      case ondemand::json_type::object: {
        if (depth >= kMaxJsonDepth) return Deep();
        out->kind = JsonValue::Kind::kObject;
        ondemand::object object;
        if (auto e = v.get_object().get(object); e) return Error(e);
        // Most objects are small: one allocation for their members.
        out->members.reserve(kMembersReserved);
        for (auto field : object) {
          std::string_view key;
          if (auto e = field.unescaped_key().get(key); e) return Error(e);
          JsonMember& m = out->members.emplace_back();
          m.key.assign(key);
          ondemand::value child;
          if (auto e = field.value().get(child); e) return Error(e);
          TANDEM_RETURN_IF_ERROR(Value(child, depth + 1, &m.value));
        }
        Normalise(&out->members);
        return Status::OK();
      }
      case ondemand::json_type::array: {
        if (depth >= kMaxJsonDepth) return Deep();
        out->kind = JsonValue::Kind::kArray;
        ondemand::array array;
        if (auto e = v.get_array().get(array); e) return Error(e);
        for (auto element : array) {
          ondemand::value child;
          if (auto e = element.get(child); e) return Error(e);
          out->elements.emplace_back();
          TANDEM_RETURN_IF_ERROR(Value(child, depth + 1, &out->elements.back()));
        }
        return Status::OK();
      }
      case ondemand::json_type::number:
        return Number(TrimSpace(v.raw_json_token()), out);
      case ondemand::json_type::string: {
        std::string_view str;
        if (auto e = v.get_string().get(str); e) return Error(e);
        out->kind = JsonValue::Kind::kString;
        out->text.assign(str);
        return Status::OK();
      }
      case ondemand::json_type::boolean: {
        bool b = false;
        if (auto e = v.get_bool().get(b); e) return Error(e);
        out->kind = JsonValue::Kind::kBool;
        out->boolean = b;
        return Status::OK();
      }
      case ondemand::json_type::null: {
        bool is_null = false;
        if (auto e = v.is_null().get(is_null); e || !is_null) {
          return Error(e ? e : simdjson::N_ATOM_ERROR);
        }
        return Status::OK();
      }
    }
    return Error(simdjson::INCORRECT_TYPE);
  }

  // Integers that fit 64 bits are printed in plain decimal (so "-0" is "0");
  // other numbers keep their token; numbers beyond the double range are
  // refused (they could not be kept as numbers by most readers).
  Status Number(std::string_view token, JsonValue* out) {
    if (!IsJsonNumber(token)) return Invalid("bad number \"" + std::string(token) + "\"");
    out->kind = JsonValue::Kind::kNumber;
    if (token.find_first_of(".eE") == std::string_view::npos) {
      int64_t i = 0;
      uint64_t u = 0;
      if (std::from_chars(token.data(), token.data() + token.size(), i).ec == std::errc()) {
        out->text = std::to_string(i);
        return Status::OK();
      }
      if (std::from_chars(token.data(), token.data() + token.size(), u).ec == std::errc()) {
        out->text = std::to_string(u);
        return Status::OK();
      }
    }
    const std::string copy(token);
    errno = 0;
    const double d = std::strtod(copy.c_str(), nullptr);
    if (errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL)) {
      return Invalid("number " + copy + " is out of range");
    }
    out->text = copy;
    return Status::OK();
  }

  Status Error(simdjson::error_code e) const {
    return Invalid(simdjson::error_message(e));
  }
  static Status Invalid(std::string_view what) {
    return Status::InvalidArgument("invalid JSON: " + std::string(what));
  }
  static Status Deep() {
    return Status::InvalidArgument("invalid JSON: nesting deeper than " +
                                   std::to_string(kMaxJsonDepth));
  }

};

void AppendString(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  // Runs of characters that need no escape are appended whole.
  size_t run = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && c != '"' && c != '\\') continue;
    out->append(s.substr(run, i - run));
    run = i + 1;
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        out->append("\\u00");
        out->push_back(kHex[u >> 4]);
        out->push_back(kHex[u & 0xf]);
    }
  }
  out->append(s.substr(run));
  out->push_back('"');
}

}  // namespace

const JsonValue* JsonValue::Find(std::string_view key) const {
  auto it = std::lower_bound(members.begin(), members.end(), key, KeyLess);
  return it != members.end() && it->key == key ? &it->value : nullptr;
}

JsonValue& JsonValue::FindOrInsert(std::string_view key) {
  auto it = std::lower_bound(members.begin(), members.end(), key, KeyLess);
  if (it == members.end() || it->key != key) {
    it = members.insert(it, JsonMember{std::string(key), JsonValue{}});
  }
  return it->value;
}

void JsonValue::Erase(std::string_view key) {
  auto it = std::lower_bound(members.begin(), members.end(), key, KeyLess);
  if (it != members.end() && it->key == key) members.erase(it);
}

std::string_view JsonKindName(JsonValue::Kind kind) {
  switch (kind) {
    case JsonValue::Kind::kNull:
      return "null";
    case JsonValue::Kind::kBool:
      return "boolean";
    case JsonValue::Kind::kNumber:
      return "number";
    case JsonValue::Kind::kString:
      return "string";
    case JsonValue::Kind::kArray:
      return "array";
    case JsonValue::Kind::kObject:
      return "object";
  }
  return "?";
}

Result<JsonValue> ParseJson(std::string_view text) {
  // One parser per thread: its buffers grow to the largest document seen and
  // are reused (a parser is not thread-safe).
  thread_local ondemand::parser parser;
  // The text is parsed as the only element of an array, so that scalar and
  // container documents take the same path (On Demand treats scalar
  // documents specially) and anything after the value is an error of the
  // array. The padded copy lives in a per-thread buffer that grows to the
  // largest document seen, so a parse allocates nothing for the text.
  thread_local std::string buffer;
  const size_t size = text.size() + 3;
  if (buffer.size() < size + simdjson::SIMDJSON_PADDING) {
    buffer.resize(size + simdjson::SIMDJSON_PADDING);
  }
  buffer[0] = '[';
  std::memcpy(buffer.data() + 1, text.data(), text.size());
  buffer[size - 2] = '\n';
  buffer[size - 1] = ']';
  std::memset(buffer.data() + size, 0, simdjson::SIMDJSON_PADDING);
  ondemand::document doc;
  Builder builder;
  if (auto e = parser.iterate(buffer.data(), size, buffer.size()).get(doc); e) {
    return builder.Error(e);
  }
  ondemand::array outer;
  if (auto e = doc.get_array().get(outer); e) return builder.Error(e);
  JsonValue root;
  size_t values = 0;
  for (auto element : outer) {
    ondemand::value v;
    if (auto e = element.get(v); e) return builder.Error(e);
    if (++values > 1) return Builder::Invalid("more than one value");
    TANDEM_RETURN_IF_ERROR(builder.Value(v, 0, &root));
  }
  if (values == 0) return Builder::Invalid("no value");
  if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) {
    return Builder::Invalid("trailing content after the value");
  }
  return root;
}

void AppendCanonicalJson(const JsonValue& v, std::string* out) {
  switch (v.kind) {
    case JsonValue::Kind::kNull:
      out->append("null");
      return;
    case JsonValue::Kind::kBool:
      out->append(v.boolean ? "true" : "false");
      return;
    case JsonValue::Kind::kNumber:
      out->append(v.text);
      return;
    case JsonValue::Kind::kString:
      AppendString(v.text, out);
      return;
    case JsonValue::Kind::kArray:
      out->push_back('[');
      for (size_t i = 0; i < v.elements.size(); ++i) {
        if (i > 0) out->push_back(',');
        AppendCanonicalJson(v.elements[i], out);
      }
      out->push_back(']');
      return;
    case JsonValue::Kind::kObject:
      out->push_back('{');
      for (size_t i = 0; i < v.members.size(); ++i) {
        if (i > 0) out->push_back(',');
        AppendString(v.members[i].key, out);
        out->push_back(':');
        AppendCanonicalJson(v.members[i].value, out);
      }
      out->push_back('}');
      return;
  }
}

std::string ToCanonicalJson(const JsonValue& value) {
  std::string out;
  out.reserve(128);
  AppendCanonicalJson(value, &out);
  return out;
}

void MergePatch(JsonValue* target, const JsonValue& patch) {
  if (!patch.is_object()) {
    *target = patch;
    return;
  }
  if (!target->is_object()) *target = JsonValue::Object();
  for (const JsonMember& m : patch.members) {
    if (m.value.is_null()) {
      target->Erase(m.key);
    } else {
      MergePatch(&target->FindOrInsert(m.key), m.value);
    }
  }
}

}  // namespace tandem::store_internal
