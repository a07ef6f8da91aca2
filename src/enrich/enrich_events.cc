#include "enrich/enrich_events.h"

#include <cinttypes>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "common/hash.h"
#include "event/rfc3339.h"
#include "store/json_value.h"

namespace tandem::enrich {
namespace {

using nlohmann::json;
using store_internal::JsonValue;

std::string Hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
  return buf;
}

std::string Subscription(std::string_view leg) { return "enrich-" + std::string(leg); }
std::string Source(std::string_view leg) { return "tandem/enrich/" + std::string(leg); }

EntityEvent UpdateEvent(std::string id, std::string_view entity_id, const JobRecord& job,
                        std::string payload, std::string_view leg, int64_t now_us) {
  EntityEvent e;
  e.event_id = std::move(id);
  e.event_type = EventType::kUpdate;
  e.entity_type = job.entity_type;
  e.entity_id = std::string(entity_id);
  e.payload = std::move(payload);
  e.timestamp = event_internal::FormatRfc3339Utc(now_us);
  e.timestamp_us = now_us;
  e.source = Source(leg);
  return e;
}

JsonValue StringValue(std::string_view s) {
  JsonValue v;
  v.kind = JsonValue::Kind::kString;
  v.text = std::string(s);
  return v;
}

ProduceRecord CloudEventRecord(std::string id, std::string_view type, std::string_view leg,
                               std::string_view entity_id, json data, int64_t now_us) {
  json ce = {{"specversion", "1.0"},
             {"id", id},
             {"source", Source(leg)},
             {"type", type},
             {"subject", std::string(entity_id)},
             {"time", event_internal::FormatRfc3339Utc(now_us)},
             {"datacontenttype", "application/json"},
             {"data", std::move(data)}};
  ProduceRecord r;
  r.key = std::string(entity_id);
  r.value = ce.dump(-1, ' ', false, json::error_handler_t::replace);
  r.id = std::move(id);
  r.headers.push_back({std::string(kCloudEventTypeHeader), std::string(type)});
  return r;
}

}  // namespace

Result<Input> InputOf(std::string_view entity_type, std::string_view canonical_payload,
                      const std::set<std::string>& excluded) {
  TANDEM_ASSIGN_OR_RETURN(JsonValue doc, store_internal::ParseJson(canonical_payload));
  if (!doc.is_object()) return Status::Corruption("enrich state: payload is not an object");
  for (const std::string& f : excluded) doc.Erase(f);
  Input in;
  in.empty = doc.members.empty();
  in.payload = store_internal::ToCanonicalJson(doc);
  std::string h(entity_type);
  h.push_back('\0');
  h.append(in.payload);
  in.hash = StableHash64(h);
  if (in.hash == 0) in.hash = 1;
  return in;
}

std::string StringMember(std::string_view payload, std::string_view field) {
  Result<JsonValue> doc = store_internal::ParseJson(payload);
  if (!doc.ok() || !doc->is_object()) return "";
  const JsonValue* v = doc->Find(field);
  return v != nullptr && v->kind == JsonValue::Kind::kString ? v->text : "";
}

std::string EventId(std::string_view kind, std::string_view leg, std::string_view entity_id,
                    const JobRecord& job) {
  return std::string(kind) + ":" + std::string(leg) + ":" + std::string(entity_id) + ":" +
         Hex(job.input_hash) + ":" + std::to_string(job.seq);
}

EntityEvent StatusEvent(std::string_view leg, std::string_view entity_id, const JobRecord& job,
                        std::string_view status_field, std::string_view status, int64_t now_us,
                        const std::optional<std::string>& text) {
  JsonValue doc = JsonValue::Object();
  doc.FindOrInsert(status_field) = StringValue(status);
  const std::string kind = status == "pending" ? "enrich-pending" : "enrich-" + std::string(status);
  EntityEvent e = UpdateEvent(EventId(kind, leg, entity_id, job), entity_id, job,
                              store_internal::ToCanonicalJson(doc), leg, now_us);
  e.text_for_embedding = text;
  return e;
}

Result<EntityEvent> ResultEvent(std::string_view leg, std::string_view entity_id,
                                const JobRecord& job, std::string_view result,
                                const std::set<std::string>& fields,
                                std::string_view status_field, int64_t now_us,
                                const std::optional<std::string>& text) {
  Result<JsonValue> doc = store_internal::ParseJson(result);
  if (!doc.ok()) return Status::InvalidArgument("result: " + doc.status().message());
  if (!doc->is_object()) return Status::InvalidArgument("result: must be a JSON object");
  for (const store_internal::JsonMember& m : doc->members) {
    if (!fields.contains(m.key)) {
      return Status::InvalidArgument("result: member \"" + m.key +
                                     "\" is not one of the enricher's fields");
    }
  }
  doc->FindOrInsert(status_field) = StringValue("completed");
  EntityEvent e = UpdateEvent(EventId("enrich", leg, entity_id, job), entity_id, job,
                              store_internal::ToCanonicalJson(*doc), leg, now_us);
  e.text_for_embedding = text;
  return e;
}

ProduceRecord CompletionRecord(std::string_view leg, std::string_view entity_id,
                               const JobRecord& job, bool ok, std::string_view result_or_reason,
                               int64_t now_us) {
  json data = {{"entity_type", job.entity_type},
               {"enricher", std::string(leg)},
               {"status", ok ? "completed" : "failed"},
               {"input_hash", Hex(job.input_hash)},
               {"job_seq", job.seq},
               {"attempts", job.attempts}};
  if (ok) {
    data["result"] = json::parse(result_or_reason, nullptr, /*allow_exceptions=*/false);
  } else {
    data["reason"] = std::string(result_or_reason);
  }
  return CloudEventRecord(EventId("enrich-completed", leg, entity_id, job),
                          ok ? "tandem.enrichment.completed" : "tandem.enrichment.failed", leg,
                          entity_id, std::move(data), now_us);
}

ProduceRecord ProgressRecord(std::string_view leg, std::string_view entity_id,
                             const JobRecord& job, uint64_t n, double fraction,
                             std::string_view message, int64_t now_us) {
  json data = {{"entity_type", job.entity_type},
               {"enricher", std::string(leg)},
               {"fraction", fraction},
               {"message", std::string(message)},
               {"job_seq", job.seq}};
  return CloudEventRecord(EventId("enrich-progress-" + std::to_string(n), leg, entity_id, job),
                          "tandem.enrichment.progress", leg, entity_id, std::move(data), now_us);
}

ProduceRecord DeadLetterRecord(std::string_view leg, std::string_view entity_id,
                               const JobRecord& job, std::string_view status_field,
                               std::string_view reason, int64_t now_us) {
  EntityEvent retry = StatusEvent(leg, entity_id, job, status_field, "retry", now_us);
  ProduceRecord r;
  r.key = std::string(entity_id);
  r.value = Serialize(retry);
  r.id = retry.event_id;
  r.headers = {{"dlq.reason", std::string(reason)},
               {"dlq.subscription", Subscription(leg)},
               // A backfill job has no source event: its entity's topic.
               {"dlq.topic", job.source.topic.empty() ? job.entity_type : job.source.topic},
               {"dlq.partition", std::to_string(job.source.partition)},
               {"dlq.offset", std::to_string(job.source.offset)},
               {"dlq.delivery_count", std::to_string(job.attempts)}};
  return r;
}

}  // namespace tandem::enrich
