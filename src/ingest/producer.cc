#include "tandem/producer.h"

#include <condition_variable>
#include <map>
#include <mutex>

#include "tandem/env.h"

namespace tandem {
namespace {

ProduceRecord ToRecord(const EntityEvent& e) {
  ProduceRecord r;
  r.key = e.entity_id;
  r.id = e.event_id;
  r.value = Serialize(e);
  return r;
}

// Counts down the topics of one PublishBatch; the first error wins.
struct Latch {
  std::mutex mu;
  std::condition_variable cv;
  size_t pending = 0;
  Status status;
};

}  // namespace

Result<AppendResult> Producer::Publish(const EntityEvent& event) {
  return log_.Append(event.entity_type, ToRecord(event));
}

Status Producer::PublishBatch(std::span<const EntityEvent> events,
                              std::vector<AppendResult>* results) {
  std::map<std::string_view, std::vector<size_t>> by_topic;
  for (size_t i = 0; i < events.size(); ++i) by_topic[events[i].entity_type].push_back(i);
  results->assign(events.size(), AppendResult{});
  Latch latch;
  latch.pending = by_topic.size();
  for (const auto& entry : by_topic) {
    // Not a structured binding: clang 14 (the fuzz build) cannot capture one.
    const auto& topic = entry.first;
    const auto& idx = entry.second;
    std::vector<ProduceRecord> recs;
    recs.reserve(idx.size());
    for (size_t i : idx) recs.push_back(ToRecord(events[i]));
    log_.AppendAsync(topic, std::move(recs),
                     [&latch, &idx, results](Status s, std::vector<AppendResult> r) {
                       std::lock_guard<std::mutex> l(latch.mu);
                       if (s.ok()) {
                         for (size_t k = 0; k < idx.size() && k < r.size(); ++k) {
                           (*results)[idx[k]] = r[k];
                         }
                       } else if (latch.status.ok()) {
                         latch.status = s;
                       }
                       if (--latch.pending == 0) latch.cv.notify_all();
                     });
  }
  std::unique_lock<std::mutex> l(latch.mu);
  latch.cv.wait(l, [&] { return latch.pending == 0; });
  return latch.status;
}

Result<IngestSummary> IngestNdjson(Log& log, std::istream& in, size_t batch_size) {
  Producer producer(log);
  EventParser parser(SystemClock());
  IngestSummary sum;
  std::vector<EntityEvent> batch;
  std::vector<AppendResult> results;
  auto flush = [&]() -> Status {
    if (batch.empty()) return Status::OK();
    TANDEM_RETURN_IF_ERROR(producer.PublishBatch(batch, &results));
    for (const AppendResult& r : results) (r.duplicate ? sum.duplicates : sum.appended)++;
    batch.clear();
    return Status::OK();
  };
  std::string line;
  for (uint64_t n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    Result<EntityEvent> e = parser.Parse(line);
    if (!e.ok()) {
      sum.rejected.push_back("line " + std::to_string(n) + ": " + e.status().message());
      continue;
    }
    batch.push_back(std::move(*e));
    if (batch.size() >= batch_size) TANDEM_RETURN_IF_ERROR(flush());
  }
  TANDEM_RETURN_IF_ERROR(flush());
  return sum;
}

}  // namespace tandem
