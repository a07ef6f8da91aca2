// The native event format of DESIGN §3 (documented in tandem/event.h).

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "event/decoder.h"
#include "event/json_text.h"

namespace tandem::event_internal {
namespace {

// Depth of the members of the "cloudevent" provenance object.
constexpr size_t kOriginMemberDepth = kMemberDepth + 1;

using Handler = Status (*)(DecodeContext&, ondemand::value&, Draft*);

Status OnEventId(DecodeContext& c, ondemand::value& v, Draft* d) {
  // The maximum length is checked in CheckEventIdMember: it does not apply
  // to an id derived from CloudEvents provenance.
  TANDEM_ASSIGN_OR_RETURN(auto s, c.json.ReadString(v, "event_id", d));
  if (!s) return Status::OK();
  if (s->empty()) {
    CheckString("event_id", *s, 1, c.limits().max_event_id_bytes, d);  // records the error
  } else {
    d->event.event_id.assign(*s);
  }
  return Status::OK();
}

Status OnEventType(DecodeContext& c, ondemand::value& v, Draft* d) {
  TANDEM_ASSIGN_OR_RETURN(auto s, c.json.ReadString(v, "event_type", d, /*null_ok=*/false));
  if (s) CheckEventType("event_type", *s, d);
  return Status::OK();
}

Status OnEntityType(DecodeContext& c, ondemand::value& v, Draft* d) {
  TANDEM_ASSIGN_OR_RETURN(auto s, c.json.ReadString(v, "entity_type", d, /*null_ok=*/false));
  if (s) CheckEntityType("entity_type", *s, d);
  return Status::OK();
}

Status OnEntityId(DecodeContext& c, ondemand::value& v, Draft* d) {
  TANDEM_ASSIGN_OR_RETURN(auto s, c.json.ReadString(v, "entity_id", d, /*null_ok=*/false));
  if (s && CheckString("entity_id", *s, 1, c.limits().max_entity_id_bytes, d)) {
    d->event.entity_id.assign(*s);
  }
  return Status::OK();
}

Status OnPayload(DecodeContext& c, ondemand::value& v, Draft* d) {
  return c.json.ReadObject(v, "payload", d, &d->event.payload).status();
}

Status OnText(DecodeContext& c, ondemand::value& v, Draft* d) {
  TANDEM_ASSIGN_OR_RETURN(auto s, c.json.ReadString(v, "text_for_embedding", d));
  if (s && CheckString("text_for_embedding", *s, 0, c.limits().max_text_bytes, d)) {
    d->event.text_for_embedding.emplace(*s);
  }
  return Status::OK();
}

Status OnTimestamp(DecodeContext& c, ondemand::value& v, Draft* d) {
  TANDEM_ASSIGN_OR_RETURN(auto s, c.json.ReadString(v, "timestamp", d));
  if (s) CheckTimestamp("timestamp", *s, d);
  return Status::OK();
}

Status OnVersion(DecodeContext& c, ondemand::value& v, Draft* d) {
  std::string_view raw;
  TANDEM_ASSIGN_OR_RETURN(auto n, c.json.ReadInteger(v, "version", "an integer >= 1", d, &raw));
  if (n) CheckVersion("version", *n, raw, d);
  return Status::OK();
}

Status OnSource(DecodeContext& c, ondemand::value& v, Draft* d) {
  TANDEM_ASSIGN_OR_RETURN(auto s, c.json.ReadString(v, "source", d));
  if (s && CheckString("source", *s, 0, c.limits().max_attribute_bytes, d)) {
    d->event.source.assign(*s);
  }
  return Status::OK();
}

// One member of the "cloudevent" object into `origin`.
Status OnOriginMember(DecodeContext& c, std::string_view key, ondemand::value& v,
                      CloudEventOrigin* origin, Draft* d) {
  std::string* target = key == "id"       ? &origin->id
                        : key == "source" ? &origin->source
                        : key == "type"   ? &origin->type
                                          : nullptr;
  std::string field = "cloudevent." + std::string(key);
  if (target == nullptr) {
    d->errors.Add(field, "unknown field (expected id, source, type)");
    return c.json.Walk(v, kOriginMemberDepth, nullptr);
  }
  TANDEM_ASSIGN_OR_RETURN(auto s, c.json.ReadString(v, field, d, false, kOriginMemberDepth));
  if (s) target->assign(*s);
  return Status::OK();
}

Status OnCloudEventOrigin(DecodeContext& c, ondemand::value& v, Draft* d) {
  TANDEM_ASSIGN_OR_RETURN(ondemand::json_type type, c.json.TypeOf(v));
  if (type != ondemand::json_type::object) {
    return c.json.SkipWrongType(v, type, kMemberDepth, "cloudevent",
                                "an object with id, source and type", true, d);
  }
  TANDEM_RETURN_IF_ERROR(c.json.CheckDepth(kMemberDepth));
  CloudEventOrigin origin;
  TANDEM_RETURN_IF_ERROR(c.json.ForEachMember(v, [&](std::string_view key, ondemand::value& m) {
    return OnOriginMember(c, key, m, &origin, d);
  }));
  const EventLimits& limits = c.limits();
  CheckString("cloudevent.id", origin.id, 1, limits.max_event_id_bytes, d);
  CheckString("cloudevent.source", origin.source, 1, limits.max_attribute_bytes, d);
  CheckString("cloudevent.type", origin.type, 1, limits.max_attribute_bytes, d);
  d->event.cloudevent = std::move(origin);
  return Status::OK();
}

struct Member {
  std::string_view name;
  Handler handle;
};

// The index of a member is its bit in Draft::seen.
constexpr std::array<Member, 10> kMembers = {{
    {"event_id", &OnEventId},
    {"event_type", &OnEventType},
    {"entity_type", &OnEntityType},
    {"entity_id", &OnEntityId},
    {"payload", &OnPayload},
    {"text_for_embedding", &OnText},
    {"timestamp", &OnTimestamp},
    {"version", &OnVersion},
    {"source", &OnSource},
    {"cloudevent", &OnCloudEventOrigin},
}};
constexpr int kEventTypeBit = 1, kEntityTypeBit = 2, kEntityIdBit = 3;
static_assert(kMembers[kEventTypeBit].name == "event_type" &&
              kMembers[kEntityTypeBit].name == "entity_type" &&
              kMembers[kEntityIdBit].name == "entity_id");

// Levenshtein distance, for "did you mean" hints on short member names.
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t next = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = row[j];
      row[j] = next;
    }
  }
  return row[b.size()];
}

std::string UnknownMemberReason(std::string_view key) {
  std::string reason = "unknown field";
  if (key.size() > 64) return reason;
  for (const Member& m : kMembers) {
    if (EditDistance(key, m.name) <= 2) {
      return reason + " (did you mean " + std::string(m.name) + "?)";
    }
  }
  return reason;
}

Status OnMember(DecodeContext& c, std::string_view key, ondemand::value& v, Draft* d) {
  for (size_t i = 0; i < kMembers.size(); ++i) {
    if (kMembers[i].name != key) continue;
    if (!d->MarkSeen(static_cast<int>(i), key)) return c.json.Walk(v, kMemberDepth, nullptr);
    return kMembers[i].handle(c, v, d);
  }
  if (!c.options.allow_unknown_fields) d->errors.Add(key, UnknownMemberReason(key));
  return c.json.Walk(v, kMemberDepth, nullptr);
}

// A CloudEvent-derived event_id must match its provenance; any other must
// respect max_event_id_bytes.
void CheckEventIdMember(const EventLimits& limits, Draft* d) {
  EntityEvent& e = d->event;
  if (!e.cloudevent) {
    if (!e.event_id.empty()) CheckString("event_id", e.event_id, 1, limits.max_event_id_bytes, d);
    return;
  }
  std::string derived = CloudEventId(e.cloudevent->source, e.cloudevent->id);
  if (!e.event_id.empty() && e.event_id != derived) {
    d->errors.Add("event_id", "must be " + Quote(derived) +
                                  " (derived from cloudevent.source and cloudevent.id), got " +
                                  Quote(e.event_id));
  }
  e.event_id = std::move(derived);
}

}  // namespace

Result<EntityEvent> DecodeNative(DecodeContext& c, std::string_view json) {
  TANDEM_RETURN_IF_ERROR(CheckEventSize(c.limits(), json.size()));
  TANDEM_RETURN_IF_ERROR(c.json.Open(json, "(document)"));
  TANDEM_ASSIGN_OR_RETURN(ondemand::value root, c.json.Root());
  Draft d;
  TANDEM_RETURN_IF_ERROR(c.json.ForEachMember(
      root, [&](std::string_view key, ondemand::value& v) { return OnMember(c, key, v, &d); }));
  TANDEM_RETURN_IF_ERROR(c.json.Finish());
  CheckEventIdMember(c.limits(), &d);
  RequireField(kEventTypeBit, "event_type", &d);
  RequireField(kEntityTypeBit, "entity_type", &d);
  RequireField(kEntityIdBit, "entity_id", &d);
  return FinishDraft(c, &d);
}

}  // namespace tandem::event_internal
