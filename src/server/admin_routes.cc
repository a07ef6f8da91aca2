// Admin routes (bearer token when configured): topics, records, legs, the
// dead-letter topics and their replay.
#include <string>
#include <vector>

#include "server/context.h"

namespace tandem::server {
namespace {

constexpr std::string_view kDlqSuffix = ".dlq";
constexpr size_t kReadChunkBytes = size_t{1} << 20;

bool IsDlq(std::string_view topic) {
  return topic.size() > kDlqSuffix.size() &&
         topic.substr(topic.size() - kDlqSuffix.size()) == kDlqSuffix;
}

std::string HeaderValue(const Record& r, std::string_view key) {
  for (const Header& h : r.headers) {
    if (h.key == key) return h.value;
  }
  return "";
}

Json RecordJson(const Record& r, uint32_t partition) {
  Json headers = Json::object();
  for (const Header& h : r.headers) headers[h.key] = h.value;
  return Json{{"partition", partition},
              {"offset", r.offset},
              {"timestamp_us", r.timestamp_us},
              {"key", r.key},
              {"id", r.id},
              {"headers", std::move(headers)},
              {"value", JsonOrString(r.value)}};
}

// Up to `limit` records of `topic`/`partition` from `offset`.
Status ReadRecords(Log& log, const std::string& topic, uint32_t partition, uint64_t offset,
                   size_t limit, std::vector<Record>* out) {
  // Bounded: every Read returns at least one record or none (the end).
  while (out->size() < limit) {
    std::vector<Record> chunk;
    TANDEM_RETURN_IF_ERROR(log.Read(topic, partition, offset, kReadChunkBytes, &chunk));
    if (chunk.empty()) break;
    for (Record& r : chunk) {
      if (out->size() >= limit) break;
      offset = r.offset + 1;
      out->push_back(std::move(r));
    }
  }
  return Status::OK();
}

// Every record of every partition of `topic`, up to `limit` in all.
Status ReadAll(Log& log, const TopicStats& stats, size_t limit,
               std::vector<std::pair<uint32_t, Record>>* out) {
  for (const PartitionStats& p : stats.partitions) {
    if (out->size() >= limit) break;
    std::vector<Record> records;
    TANDEM_RETURN_IF_ERROR(
        ReadRecords(log, stats.name, p.partition, p.start_offset, limit - out->size(), &records));
    for (Record& r : records) out->emplace_back(p.partition, std::move(r));
  }
  return Status::OK();
}

Json TopicJson(const TopicStats& s) {
  Json parts = Json::array();
  for (const PartitionStats& p : s.partitions) {
    parts.push_back(Json{{"partition", p.partition},
                         {"start_offset", p.start_offset},
                         {"end_offset", p.end_offset},
                         {"records", p.end_offset - p.start_offset},
                         {"bytes", p.bytes},
                         {"segments", p.segments}});
  }
  return Json{{"name", s.name},
              {"dlq", IsDlq(s.name)},
              {"records", s.records()},
              {"bytes", s.bytes()},
              {"partitions", std::move(parts)}};
}

void Topics(Context& ctx, const httplib::Request& req, httplib::Response& res) {
  if (!CheckAuth(ctx, req, res)) return;
  Json topics = Json::array();
  for (const std::string& t : ctx.log->ListTopics()) {
    Result<TopicStats> s = ctx.log->Stats(t);
    if (!s.ok()) return SendStatus(res, s.status().WithContext("topic " + t));
    topics.push_back(TopicJson(*s));
  }
  SendJson(res, 200, Json{{"topics", std::move(topics)}});
}

void TopicRecords(Context& ctx, const httplib::Request& req, httplib::Response& res) {
  if (!CheckAuth(ctx, req, res)) return;
  const std::string topic = req.matches[1];
  Result<TopicStats> stats = ctx.log->Stats(topic);
  if (!stats.ok()) return SendStatus(res, stats.status());
  Result<int64_t> partition =
      IntParam(req, "partition", 0, 0, static_cast<int64_t>(stats->partitions.size()) - 1);
  Result<int64_t> offset = IntParam(req, "offset", 0, 0, INT64_MAX);
  Result<int64_t> limit = IntParam(req, "limit", 20, 1, 1000);
  for (const Status& s : {partition.status(), offset.status(), limit.status()}) {
    if (!s.ok()) return SendStatus(res, s);
  }
  std::vector<Record> records;
  Status s = ReadRecords(*ctx.log, topic, static_cast<uint32_t>(*partition),
                         static_cast<uint64_t>(*offset), static_cast<size_t>(*limit), &records);
  if (!s.ok()) return SendStatus(res, s);
  Json list = Json::array();
  for (const Record& r : records) list.push_back(RecordJson(r, static_cast<uint32_t>(*partition)));
  const PartitionStats& p = stats->partitions[static_cast<size_t>(*partition)];
  SendJson(res, 200,
           Json{{"topic", topic},
                {"partition", *partition},
                {"start_offset", p.start_offset},
                {"end_offset", p.end_offset},
                {"records", std::move(list)}});
}

void Legs(Context& ctx, const httplib::Request& req, httplib::Response& res) {
  if (!CheckAuth(ctx, req, res)) return;
  Json legs = Json::array();
  for (const LegEntry& e : ctx.legs) {
    const LegStats st = e.leg->stats();
    Json lag = Json::array();
    uint64_t total = 0;
    for (const PartitionLag& l : e.leg->Lag()) {
      total += l.lag();
      lag.push_back(Json{{"topic", l.topic},
                         {"partition", l.partition},
                         {"committed", l.committed},
                         {"end", l.end},
                         {"lag", l.lag()}});
    }
    legs.push_back(Json{{"name", e.leg->options().name},
                        {"store", e.store},
                        {"breaker", std::string(BreakerStateName(st.breaker_state))},
                        {"total_lag", total},
                        {"stats", LegStatsJson(st)},
                        {"lag", std::move(lag)}});
  }
  SendJson(res, 200, Json{{"legs", std::move(legs)}});
}

void Dlq(Context& ctx, const httplib::Request& req, httplib::Response& res) {
  if (!CheckAuth(ctx, req, res)) return;
  Result<int64_t> limit = IntParam(req, "limit", 100, 1, 10'000);
  if (!limit.ok()) return SendStatus(res, limit.status());
  Json out = Json::array();
  for (const std::string& t : ctx.log->ListTopics()) {
    if (!IsDlq(t)) continue;
    Result<TopicStats> stats = ctx.log->Stats(t);
    if (!stats.ok()) return SendStatus(res, stats.status().WithContext("topic " + t));
    std::vector<std::pair<uint32_t, Record>> records;
    Status s = ReadAll(*ctx.log, *stats, static_cast<size_t>(*limit), &records);
    if (!s.ok()) return SendStatus(res, s);
    Json entries = Json::array();
    for (const auto& [partition, r] : records) {
      entries.push_back(Json{{"partition", partition},
                             {"offset", r.offset},
                             {"key", r.key},
                             {"event_id", r.id},
                             {"reason", HeaderValue(r, "dlq.reason")},
                             {"subscription", HeaderValue(r, "dlq.subscription")},
                             {"source",
                              {{"topic", HeaderValue(r, "dlq.topic")},
                               {"partition", HeaderValue(r, "dlq.partition")},
                               {"offset", HeaderValue(r, "dlq.offset")}}},
                             {"delivery_count", HeaderValue(r, "dlq.delivery_count")},
                             {"value", JsonOrString(r.value)}});
    }
    out.push_back(Json{{"topic", t},
                       {"source_topic", t.substr(0, t.size() - kDlqSuffix.size())},
                       {"records", stats->records()},
                       {"entries", std::move(entries)}});
  }
  SendJson(res, 200, Json{{"dlq", std::move(out)}});
}

// The dead-lettered event with a fresh dedup id derived from its DLQ position,
// so replaying one DLQ record twice still appends it once.
void RenameForReplay(EntityEvent* e, uint32_t partition, uint64_t offset) {
  const std::string suffix = "#replay-" + std::to_string(partition) + "-" + std::to_string(offset);
  if (e->cloudevent) {
    e->cloudevent->id += suffix;
    e->event_id = CloudEventId(e->cloudevent->source, e->cloudevent->id);
  } else {
    e->event_id += suffix;
  }
}

void Replay(Context& ctx, const httplib::Request& req, httplib::Response& res) {
  if (!CheckAuth(ctx, req, res)) return;
  const std::string topic = req.matches[1];
  const std::string dlq = topic + std::string(kDlqSuffix);
  Result<int64_t> limit = IntParam(req, "limit", 1000, 1, 10'000);
  Result<bool> new_ids = BoolParam(req, "new_ids", false);
  if (!limit.ok()) return SendStatus(res, limit.status());
  if (!new_ids.ok()) return SendStatus(res, new_ids.status());
  Result<TopicStats> stats = ctx.log->Stats(dlq);
  if (!stats.ok()) {
    if (stats.status().IsNotFound()) {
      return SendError(res, 404, "not_found", "topic \"" + dlq + "\": no dead letters");
    }
    return SendStatus(res, stats.status());
  }
  std::vector<std::pair<uint32_t, Record>> records;
  Status s = ReadAll(*ctx.log, *stats, static_cast<size_t>(*limit), &records);
  if (!s.ok()) return SendStatus(res, s);
  std::unique_ptr<EventParser> parser = ctx.parsers.Acquire();
  std::vector<EntityEvent> events;
  std::vector<std::pair<uint32_t, uint64_t>> from;
  Json results = Json::array();
  Json unparsable = Json::array();
  for (const auto& [partition, r] : records) {
    Result<EntityEvent> e = parser->Parse(r.value);
    if (!e.ok() || e->entity_type != topic) {
      unparsable.push_back(
          Json{{"partition", partition},
               {"offset", r.offset},
               {"error", e.ok() ? "entity_type: not " + topic : e.status().message()}});
      continue;
    }
    if (*new_ids) RenameForReplay(&*e, partition, r.offset);
    events.push_back(std::move(*e));
    from.emplace_back(partition, r.offset);
  }
  ctx.parsers.Release(std::move(parser));
  std::vector<AppendResult> appended;
  if (!events.empty()) {
    Status p = ctx.producer->PublishBatch(events, &appended);
    if (!p.ok()) return SendStatus(res, p.WithContext("replay publish"));
  }
  uint64_t n_appended = 0, n_duplicates = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    (appended[i].duplicate ? n_duplicates : n_appended)++;
    results.push_back(Json{{"dlq_partition", from[i].first},
                           {"dlq_offset", from[i].second},
                           {"event_id", events[i].event_id},
                           {"status", appended[i].duplicate ? "duplicate" : "appended"},
                           {"partition", appended[i].partition},
                           {"offset", appended[i].offset}});
  }
  Json body{{"topic", topic},
            {"dlq", dlq},
            {"new_ids", *new_ids},
            {"replayed", events.size()},
            {"appended", n_appended},
            {"duplicates", n_duplicates},
            {"unparsable", std::move(unparsable)},
            {"results", std::move(results)}};
  if (n_duplicates > 0 && !*new_ids) {
    body["hint"] =
        "events still inside the log's dedup window keep their original event_id and were not "
        "appended again; replay with ?new_ids=true to append them under \"<event_id>#replay-"
        "<partition>-<offset>\"";
  }
  SendJson(res, 200, body);
}

}  // namespace

void RegisterAdminRoutes(Context& ctx, const Register& reg) {
  reg("GET", "/v1/admin/topics", "/v1/admin/topics",
      [&ctx](const httplib::Request& q, httplib::Response& r) { Topics(ctx, q, r); });
  reg("GET", R"(/v1/admin/topics/([^/]+)/records)", "/v1/admin/topics/{t}/records",
      [&ctx](const httplib::Request& q, httplib::Response& r) { TopicRecords(ctx, q, r); });
  reg("GET", "/v1/admin/legs", "/v1/admin/legs",
      [&ctx](const httplib::Request& q, httplib::Response& r) { Legs(ctx, q, r); });
  reg("GET", "/v1/admin/dlq", "/v1/admin/dlq",
      [&ctx](const httplib::Request& q, httplib::Response& r) { Dlq(ctx, q, r); });
  reg("POST", R"(/v1/admin/dlq/([^/]+)/replay)", "/v1/admin/dlq/{t}/replay",
      [&ctx](const httplib::Request& q, httplib::Response& r) { Replay(ctx, q, r); });
}

}  // namespace tandem::server
