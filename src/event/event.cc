// The EntityEvent value type: names, the CloudEvents dedup key, Serialize.

#include "tandem/event.h"

#include "event/json_text.h"

namespace tandem {

using event_internal::AppendJsonString;

std::string_view EventTypeName(EventType type) {
  switch (type) {
    case EventType::kCreate:
      return "create";
    case EventType::kUpdate:
      return "update";
    case EventType::kUpsert:
      return "upsert";
    case EventType::kDelete:
      return "delete";
  }
  return "unknown";
}

std::optional<EventType> ParseEventType(std::string_view name) {
  if (name == "create") return EventType::kCreate;
  if (name == "update") return EventType::kUpdate;
  if (name == "upsert") return EventType::kUpsert;
  if (name == "delete") return EventType::kDelete;
  return std::nullopt;
}

std::string CloudEventId(std::string_view source, std::string_view id) {
  std::string out = "ce:";
  out += std::to_string(source.size());
  out += ':';
  out.append(source);
  out += ':';
  out.append(id);
  return out;
}

std::string Serialize(const EntityEvent& e) {
  std::string out;
  out.reserve(e.payload.size() + e.entity_id.size() + 160);
  out += "{\"event_id\":";
  AppendJsonString(e.event_id, &out);
  out += ",\"event_type\":\"";
  out += EventTypeName(e.event_type);
  out += "\",\"entity_type\":";
  AppendJsonString(e.entity_type, &out);
  out += ",\"entity_id\":";
  AppendJsonString(e.entity_id, &out);
  out += ",\"timestamp\":";
  AppendJsonString(e.timestamp, &out);
  if (e.version) out += ",\"version\":" + std::to_string(*e.version);
  if (!e.source.empty()) {
    out += ",\"source\":";
    AppendJsonString(e.source, &out);
  }
  if (e.text_for_embedding) {
    out += ",\"text_for_embedding\":";
    AppendJsonString(*e.text_for_embedding, &out);
  }
  if (e.cloudevent) {
    out += ",\"cloudevent\":{\"id\":";
    AppendJsonString(e.cloudevent->id, &out);
    out += ",\"source\":";
    AppendJsonString(e.cloudevent->source, &out);
    out += ",\"type\":";
    AppendJsonString(e.cloudevent->type, &out);
    out += '}';
  }
  out += ",\"payload\":";
  out += e.payload;
  out += '}';
  return out;
}

}  // namespace tandem
