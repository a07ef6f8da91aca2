// POST /v1/events: parse every item, publish the valid ones, answer per item.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <string>
#include <vector>

#include "server/context.h"

namespace tandem::server {
namespace {

enum class BodyKind {
  kNativeSingle,
  kNativeArray,
  kNdjson,
  kCloudEvent,
  kCloudEventBatch,
  kBinary
};

std::string MediaType(const httplib::Request& req) {
  std::string ct = req.get_header_value("Content-Type");
  ct = ct.substr(0, ct.find(';'));
  ct.erase(std::remove_if(ct.begin(), ct.end(), [](unsigned char c) { return std::isspace(c); }),
           ct.end());
  std::transform(ct.begin(), ct.end(), ct.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ct;
}

Result<BodyKind> KindOf(const httplib::Request& req) {
  if (req.has_header("ce-specversion")) return BodyKind::kBinary;
  const std::string ct = MediaType(req);
  if (ct == "application/cloudevents+json") return BodyKind::kCloudEvent;
  if (ct == "application/cloudevents-batch+json") return BodyKind::kCloudEventBatch;
  if (ct == "application/x-ndjson" || ct == "application/ndjson") return BodyKind::kNdjson;
  if (ct == "application/json" || ct.empty()) {
    const size_t first = req.body.find_first_not_of(" \t\r\n");
    if (first != std::string::npos && req.body[first] == '[') return BodyKind::kNativeArray;
    return BodyKind::kNativeSingle;
  }
  return Status::InvalidArgument(
      "Content-Type: unsupported media type \"" + ct +
      "\"; use application/json, application/x-ndjson, application/cloudevents+json or "
      "application/cloudevents-batch+json (or binary mode with ce-* headers)");
}

// "item 3: a: x; b: y" → ["a: x", "b: y"].
std::vector<std::string> SplitErrors(std::string message) {
  for (std::string_view prefix : {"item ", "line "}) {
    if (message.rfind(prefix, 0) == 0) {
      const size_t colon = message.find(": ");
      if (colon != std::string::npos) message = message.substr(colon + 2);
      break;
    }
  }
  std::vector<std::string> out;
  size_t at = 0;
  while (true) {
    const size_t sep = message.find("; ", at);
    out.push_back(message.substr(at, sep == std::string::npos ? std::string::npos : sep - at));
    if (sep == std::string::npos) break;
    at = sep + 2;
  }
  return out;
}

// Parses the body into items (the Status is not OK when the body as a whole is unusable).
Result<std::vector<BatchItem>> ParseBody(EventParser& parser, BodyKind kind,
                                         const httplib::Request& req) {
  std::vector<BatchItem> items;
  switch (kind) {
    case BodyKind::kBinary: {
      std::vector<HttpHeader> headers;
      headers.reserve(req.headers.size());
      for (const auto& [k, v] : req.headers) headers.emplace_back(k, v);
      items.push_back({0, parser.ParseCloudEventBinary(headers, req.body)});
      return items;
    }
    case BodyKind::kCloudEvent:
      items.push_back({0, parser.ParseCloudEvent(req.body)});
      return items;
    case BodyKind::kNativeSingle:
      items.push_back({0, parser.Parse(req.body)});
      return items;
    case BodyKind::kCloudEventBatch:
      return parser.ParseBatch(req.body, EventFormat::kCloudEvent, BatchFraming::kJsonArray);
    case BodyKind::kNativeArray:
      return parser.ParseBatch(req.body, EventFormat::kNative, BatchFraming::kJsonArray);
    case BodyKind::kNdjson:
      return parser.ParseBatch(req.body, EventFormat::kNative, BatchFraming::kNdjson);
  }
  return items;
}

void CountRejected(Context& ctx, std::string_view reason) {
  ctx.metrics
      .AddCounter("tandem_events_rejected_total", "Events refused at ingest, by reason",
                  {{"reason", std::string(reason)}})
      .Increment();
}

// The response body: one result per item, in input order. `valid[k]` and
// `appended[k]` belong to the k-th item whose event parsed.
Json ResultsBody(Context& ctx, const std::vector<BatchItem>& items,
                 const std::vector<EntityEvent>& valid, const std::vector<AppendResult>& appended,
                 bool ndjson, uint64_t* rejected) {
  Json results = Json::array();
  uint64_t accepted = 0, duplicates = 0;
  size_t k = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    Json r{{"index", i}};
    if (ndjson) r["line"] = items[i].position;
    if (!items[i].event.ok()) {
      ++*rejected;
      r["status"] = "rejected";
      r["errors"] = SplitErrors(items[i].event.status().message());
      CountRejected(ctx, StatusCodeName(items[i].event.status().code()));
      results.push_back(std::move(r));
      continue;
    }
    const EntityEvent& e = valid[k];
    const AppendResult& a = appended[k];
    ++k;
    r["status"] = a.duplicate ? "duplicate" : "appended";
    r["event_id"] = e.event_id;
    r["entity_id"] = e.entity_id;
    r["topic"] = e.entity_type;
    r["partition"] = a.partition;
    r["offset"] = a.offset;
    ++(a.duplicate ? duplicates : accepted);
    ctx.metrics
        .AddCounter(a.duplicate ? "tandem_events_duplicate_total" : "tandem_events_published_total",
                    a.duplicate ? "Events acknowledged with an earlier offset (dedup window)"
                                : "Events appended to the log",
                    {{"topic", e.entity_type}})
        .Increment();
    results.push_back(std::move(r));
  }
  return Json{{"accepted", accepted},
              {"duplicates", duplicates},
              {"rejected", *rejected},
              {"results", std::move(results)}};
}

void PostEvents(Context& ctx, const httplib::Request& req, httplib::Response& res) {
  const auto started = std::chrono::steady_clock::now();
  if (!CheckAuth(ctx, req, res)) return;
  Result<BodyKind> kind = KindOf(req);
  if (!kind.ok()) {
    SendError(res, 415, "unsupported_media_type", kind.status().message());
    return;
  }
  std::unique_ptr<EventParser> parser = ctx.parsers.Acquire();
  Result<std::vector<BatchItem>> items = ParseBody(*parser, *kind, req);
  ctx.parsers.Release(std::move(parser));
  if (!items.ok()) {
    CountRejected(ctx, "body_" + std::string(StatusCodeName(items.status().code())));
    return SendStatus(res, items.status().WithContext("body"));
  }
  if (items->empty()) return SendError(res, 400, "invalid_argument", "body: no events");
  std::vector<EntityEvent> valid;
  for (BatchItem& item : *items) {
    if (item.event.ok()) valid.push_back(*item.event);
  }
  std::vector<AppendResult> appended;
  if (!valid.empty()) {
    Status s = ctx.producer->PublishBatch(valid, &appended);
    if (!s.ok()) {
      ctx.metrics
          .AddCounter("tandem_publish_failures_total", "Publishes the log refused, by code",
                      {{"code", std::string(StatusCodeName(s.code()))}})
          .Increment();
      return SendStatus(res, s.WithContext("publish (some items may have been appended; "
                                           "re-posting the request is safe, duplicates keep "
                                           "their offsets)"));
    }
    ctx.publish_duration->Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }
  uint64_t rejected = 0;
  Json body = ResultsBody(ctx, *items, valid, appended, *kind == BodyKind::kNdjson, &rejected);
  SendJson(res, rejected == items->size() ? 400 : 200, body);
}

}  // namespace

void RegisterEventRoutes(Context& ctx, const Register& reg) {
  reg("POST", "/v1/events", "/v1/events",
      [&ctx](const httplib::Request& req, httplib::Response& res) { PostEvents(ctx, req, res); });
}

}  // namespace tandem::server
