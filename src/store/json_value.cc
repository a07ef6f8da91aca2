#include "store/json_value.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

namespace tandem::store_internal {
namespace {

using nlohmann::json;

bool KeyLess(const JsonMember& m, std::string_view key) { return m.key < key; }

// Sorts the members by key; a duplicated key keeps its last value, as most
// JSON readers do.
void Normalise(std::vector<JsonMember>* members) {
  std::stable_sort(members->begin(), members->end(),
                   [](const JsonMember& a, const JsonMember& b) { return a.key < b.key; });
  std::vector<JsonMember> out;
  out.reserve(members->size());
  for (JsonMember& m : *members) {
    if (!out.empty() && out.back().key == m.key) {
      out.back().value = std::move(m.value);
    } else {
      out.push_back(std::move(m));
    }
  }
  *members = std::move(out);
}

// Builds a JsonValue from nlohmann's SAX events. `stack_` holds the open
// containers; a child is only appended to the innermost one, so the pointers
// in the stack stay valid.
class Builder final : public nlohmann::json_sax<json> {
 public:
  bool null() override { return Scalar(JsonValue{}); }
  bool boolean(bool v) override {
    JsonValue j;
    j.kind = JsonValue::Kind::kBool;
    j.boolean = v;
    return Scalar(std::move(j));
  }
  bool number_integer(number_integer_t v) override { return Number(std::to_string(v)); }
  bool number_unsigned(number_unsigned_t v) override { return Number(std::to_string(v)); }
  bool number_float(number_float_t, const string_t& raw) override { return Number(raw); }
  bool string(string_t& v) override {
    JsonValue j;
    j.kind = JsonValue::Kind::kString;
    j.text = std::move(v);
    return Scalar(std::move(j));
  }
  bool binary(binary_t&) override { return Fail(0, "binary values are not JSON"); }
  bool start_object(std::size_t) override { return Open(JsonValue::Kind::kObject); }
  bool key(string_t& k) override {
    key_ = std::move(k);
    return true;
  }
  bool end_object() override {
    Normalise(&stack_.back()->members);
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t) override { return Open(JsonValue::Kind::kArray); }
  bool end_array() override {
    stack_.pop_back();
    return true;
  }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& ex) override {
    return Fail(position, ex.what());
  }

  JsonValue& root() { return root_; }
  const std::string& error() const { return error_; }

 private:
  bool Fail(size_t position, std::string_view what) {
    if (error_.empty()) {
      error_ = "invalid JSON at byte " + std::to_string(position) + ": " + std::string(what);
    }
    return false;
  }
  bool Number(std::string text) {
    JsonValue j;
    j.kind = JsonValue::Kind::kNumber;
    j.text = std::move(text);
    return Scalar(std::move(j));
  }
  // Places `v` in the innermost container (or as the root); returns where it went.
  JsonValue* Place(JsonValue v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    JsonValue* parent = stack_.back();
    if (parent->kind == JsonValue::Kind::kArray) {
      parent->elements.push_back(std::move(v));
      return &parent->elements.back();
    }
    parent->members.push_back(JsonMember{std::move(key_), std::move(v)});
    return &parent->members.back().value;
  }
  bool Scalar(JsonValue v) {
    Place(std::move(v));
    return true;
  }
  bool Open(JsonValue::Kind kind) {
    if (stack_.size() >= kMaxJsonDepth) {
      error_ = "nesting deeper than " + std::to_string(kMaxJsonDepth);
      return false;
    }
    JsonValue v;
    v.kind = kind;
    stack_.push_back(Place(std::move(v)));
    return true;
  }

  JsonValue root_;
  std::vector<JsonValue*> stack_;
  std::string key_;
  std::string error_;
};

void AppendString(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
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
        if (u < 0x20) {
          out->append("\\u00");
          out->push_back(kHex[u >> 4]);
          out->push_back(kHex[u & 0xf]);
        } else {
          out->push_back(c);
        }
    }
  }
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
  Builder builder;
  bool ok = false;
  try {
    ok = json::sax_parse(text.begin(), text.end(), &builder);
  } catch (const std::exception& e) {  // nlohmann throws only on internal misuse
    return Status::InvalidArgument(std::string("invalid JSON: ") + e.what());
  }
  if (!ok) {
    return Status::InvalidArgument(builder.error().empty() ? "invalid JSON" : builder.error());
  }
  return std::move(builder.root());
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
