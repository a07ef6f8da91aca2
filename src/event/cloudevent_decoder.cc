// CloudEvents 1.0: structured-mode JSON and HTTP binary mode, mapped onto
// EntityEvent as documented in tandem/event.h.

#include <array>

#include "event/decoder.h"
#include "event/json_text.h"

namespace tandem::event_internal {
namespace {

enum class Kind { kString, kInteger, kData, kRefused };

struct Attribute {
  std::string_view name;
  Kind kind;
  bool required;
};

// The index of an attribute is its bit in Draft::seen.
enum AttributeIndex {
  kSpecVersion,
  kId,
  kSource,
  kType,
  kSubject,
  kTime,
  kDataContentType,
  kDataSchema,
  kData,
  kDataBase64,
  kEntityType,
  kEventType,
  kEntityVersion,
  kTextForEmbedding,
};
constexpr std::array<Attribute, 14> kAttributes = {{
    {"specversion", Kind::kString, true},
    {"id", Kind::kString, true},
    {"source", Kind::kString, true},
    {"type", Kind::kString, true},
    {"subject", Kind::kString, true},
    {"time", Kind::kString, false},
    {"datacontenttype", Kind::kString, false},
    {"dataschema", Kind::kString, false},
    {"data", Kind::kData, false},
    {"data_base64", Kind::kRefused, false},
    {"entitytype", Kind::kString, true},
    {"eventtype", Kind::kString, true},
    {"entityversion", Kind::kInteger, false},
    {"textforembedding", Kind::kString, false},
}};
static_assert(kAttributes.size() == kTextForEmbedding + 1 && kAttributes.size() <= 64);
static_assert(kAttributes[kEntityVersion].name == "entityversion");

int FindAttribute(std::string_view name) {
  for (size_t i = 0; i < kAttributes.size(); ++i) {
    if (kAttributes[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

// CloudEvents attribute names are lower-case ASCII letters and digits.
bool IsAttributeName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

std::string BadNameReason(std::string_view name) {
  std::string reason = "not a CloudEvents attribute name (lower-case a-z and 0-9 only)";
  std::string folded;
  for (char c : name) {
    if (c == '_' || c == '-') continue;
    folded.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  if (FindAttribute(folded) >= 0) reason += "; did you mean " + folded + "?";
  return reason;
}

CloudEventOrigin& Origin(Draft* d) { return *d->event.cloudevent; }

// Applies a string-valued attribute, whichever mode it came from.
void ApplyString(const EventLimits& limits, int index, std::string_view field,
                 std::string_view value, Draft* d) {
  EntityEvent& e = d->event;
  switch (index) {
    case kSpecVersion:
      if (value != "1.0") d->errors.Add(field, "must be \"1.0\", got " + Quote(value));
      return;
    case kId:
      if (CheckString(field, value, 1, limits.max_event_id_bytes, d)) Origin(d).id = value;
      return;
    case kSource:
      if (!CheckString(field, value, 1, limits.max_attribute_bytes, d)) return;
      Origin(d).source = value;
      e.source = value;
      return;
    case kType:
      if (CheckString(field, value, 1, limits.max_attribute_bytes, d)) Origin(d).type = value;
      return;
    case kSubject:
      if (CheckString(field, value, 1, limits.max_entity_id_bytes, d)) e.entity_id = value;
      return;
    case kTime:
      return CheckTimestamp(field, value, d);
    case kDataContentType:
      return CheckDataContentType(field, value, d);
    case kDataSchema:
      CheckString(field, value, 0, limits.max_attribute_bytes, d);
      return;
    case kEntityType:
      return CheckEntityType(field, value, d);
    case kEventType:
      return CheckEventType(field, value, d);
    case kTextForEmbedding:
      if (CheckString(field, value, 0, limits.max_text_bytes, d)) e.text_for_embedding = value;
      return;
    default:
      return;
  }
}

Status OnStructuredAttribute(DecodeContext& c, int index, ondemand::value& v, Draft* d) {
  const Attribute& a = kAttributes[index];
  if (a.kind == Kind::kString) {
    TANDEM_ASSIGN_OR_RETURN(auto s, c.json.ReadString(v, a.name, d, !a.required));
    if (s) ApplyString(c.limits(), index, a.name, *s, d);
  } else if (a.kind == Kind::kInteger) {
    std::string_view raw;
    TANDEM_ASSIGN_OR_RETURN(auto n, c.json.ReadInteger(v, a.name, "an integer >= 1", d, &raw));
    if (n) CheckVersion(a.name, *n, raw, d);
  } else if (a.kind == Kind::kData) {
    return c.json.ReadObject(v, a.name, d, &d->event.payload).status();
  } else {
    d->errors.Add(a.name, "binary data is not supported; send data as a JSON object");
    return c.json.Walk(v, kMemberDepth, nullptr);
  }
  return Status::OK();
}

Status OnStructuredMember(DecodeContext& c, std::string_view key, ondemand::value& v, Draft* d) {
  int index = FindAttribute(key);
  if (index < 0) {
    // Unknown extension attributes are allowed by CloudEvents and dropped.
    if (!IsAttributeName(key)) d->errors.Add(key, BadNameReason(key));
    return c.json.Walk(v, kMemberDepth, nullptr);
  }
  if (!d->MarkSeen(index, key)) return c.json.Walk(v, kMemberDepth, nullptr);
  return OnStructuredAttribute(c, index, v, d);
}

// Required attributes, the dedup key, and the common defaults.
Result<EntityEvent> FinishCloudEvent(DecodeContext& c, std::string_view prefix, Draft* d) {
  for (size_t i = 0; i < kAttributes.size(); ++i) {
    if (!kAttributes[i].required) continue;
    RequireField(static_cast<int>(i), std::string(prefix) + std::string(kAttributes[i].name), d);
  }
  const CloudEventOrigin& origin = Origin(d);
  if (!origin.id.empty() && !origin.source.empty()) {
    d->event.event_id = CloudEventId(origin.source, origin.id);
  }
  return FinishDraft(c, d);
}

char LowerAscii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& ch : out) ch = LowerAscii(ch);
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = LowerAscii(c);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

// CloudEvents HTTP binding §3.1.3.2: header values are percent-encoded.
bool PercentDecode(std::string_view in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out->push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    int hi = HexValue(in[i + 1]), lo = HexValue(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

// Parses a base-10 integer header value; false unless it fits int64.
bool ParseInt64(std::string_view s, int64_t* out) {
  bool negative = !s.empty() && s[0] == '-';
  if (negative) s.remove_prefix(1);
  if (s.empty() || s.size() > 18) return false;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = negative ? -v : v;
  return true;
}

void OnBinaryAttribute(DecodeContext& c, int index, std::string_view field, std::string_view value,
                       Draft* d) {
  const Attribute& a = kAttributes[index];
  if (a.kind == Kind::kString) return ApplyString(c.limits(), index, field, value, d);
  if (a.kind == Kind::kInteger) {
    int64_t n = 0;
    if (!ParseInt64(value, &n)) {
      d->errors.Add(field, "must be an integer >= 1, got " + Quote(value));
      return;
    }
    return CheckVersion(field, n, value, d);
  }
  d->errors.Add(field, "not allowed as a header; the HTTP body is the data");
}

// One HTTP header: "content-type" or "ce-<attribute>"; others are ignored.
void OnHeader(DecodeContext& c, std::string_view name, std::string_view raw_value, Draft* d) {
  std::string field = Lower(name);
  std::string attribute;
  if (field == "content-type") {
    attribute = "datacontenttype";
  } else if (field.starts_with("ce-")) {
    attribute = field.substr(3);
  } else {
    return;
  }
  std::string value;
  if (!PercentDecode(TrimSpace(raw_value), &value))
    return d->errors.Add(field, "bad percent-encoding");
  if (FindInvalidUtf8(value) != value.size()) return d->errors.Add(field, "invalid UTF-8");
  int index = FindAttribute(attribute);
  if (index < 0) return;  // an extension attribute we do not use
  if (!d->MarkSeen(index, field)) return;
  OnBinaryAttribute(c, index, field, value, d);
}

}  // namespace

Result<EntityEvent> DecodeCloudEvent(DecodeContext& c, std::string_view json) {
  TANDEM_RETURN_IF_ERROR(CheckEventSize(c.limits(), json.size()));
  TANDEM_RETURN_IF_ERROR(c.json.Open(json, "(document)"));
  TANDEM_ASSIGN_OR_RETURN(ondemand::value root, c.json.Root());
  Draft d;
  d.event.cloudevent.emplace();
  TANDEM_RETURN_IF_ERROR(c.json.ForEachMember(root, [&](std::string_view key, ondemand::value& v) {
    return OnStructuredMember(c, key, v, &d);
  }));
  TANDEM_RETURN_IF_ERROR(c.json.Finish());
  return FinishCloudEvent(c, "", &d);
}

Result<EntityEvent> DecodeCloudEventBinary(DecodeContext& c, std::span<const HttpHeader> headers,
                                           std::string_view body) {
  size_t bytes = body.size();
  for (const HttpHeader& h : headers) bytes += h.first.size() + h.second.size();
  TANDEM_RETURN_IF_ERROR(CheckEventSize(c.limits(), bytes));
  Draft d;
  d.event.cloudevent.emplace();
  for (const HttpHeader& h : headers) OnHeader(c, h.first, h.second, &d);
  if (!TrimSpace(body).empty()) {
    TANDEM_RETURN_IF_ERROR(c.json.Open(body, "data"));
    TANDEM_ASSIGN_OR_RETURN(ondemand::value root, c.json.Root());
    d.event.payload.clear();
    TANDEM_RETURN_IF_ERROR(c.json.Walk(root, kMemberDepth, &d.event.payload));
    TANDEM_RETURN_IF_ERROR(c.json.Finish());
  }
  return FinishCloudEvent(c, "ce-", &d);
}

}  // namespace tandem::event_internal
