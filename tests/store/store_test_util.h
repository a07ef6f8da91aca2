// Helpers shared by the store tests: status assertions, a temporary directory,
// StoreEvent builders, a seeded generator of event logs and of at-least-once
// delivery sequences (redeliveries, shuffling across entities), and batch
// application.
//
// Thread safety: test helpers; use from one thread.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/hash.h"
#include "tandem/env.h"
#include "tandem/store.h"

namespace tandem::store_test {

inline const Status& StatusOf(const Status& s) { return s; }
template <typename T>
const Status& StatusOf(const Result<T>& r) {
  return r.status();
}

}  // namespace tandem::store_test

#define STORE_ASSERT_OK(expr)                                          \
  do {                                                                 \
    const ::tandem::Status _st = ::tandem::store_test::StatusOf(expr); \
    ASSERT_TRUE(_st.ok()) << #expr << ": " << _st.ToString();          \
  } while (0)

#define STORE_EXPECT_OK(expr)                                          \
  do {                                                                 \
    const ::tandem::Status _st = ::tandem::store_test::StatusOf(expr); \
    EXPECT_TRUE(_st.ok()) << #expr << ": " << _st.ToString();          \
  } while (0)

namespace tandem::store_test {

// Tombstone retention the store tests open stores with.
inline constexpr int64_t kRetentionUs = int64_t{3600} * 1'000'000;  // 1 h

// A fresh directory from mkdtemp(3) under /tmp, removed with its contents.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = "/tmp/tandem-store-XXXXXX";
    char* p = mkdtemp(tmpl.data());
    EXPECT_NE(p, nullptr) << "mkdtemp failed";
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// An event of `entity_type` for `id` at offset `offset` of partition 0 of the
// topic named after the type; event_id "<topic>/<partition>@<offset>".
inline StoreEvent Ev(EventType type, std::string_view entity_type, std::string_view id,
                     uint64_t offset, std::string_view payload = "{}",
                     std::optional<int64_t> version = std::nullopt, uint32_t partition = 0) {
  StoreEvent e;
  e.event.event_type = type;
  e.event.entity_type = std::string(entity_type);
  e.event.entity_id = std::string(id);
  e.event.payload = std::string(payload);
  e.event.version = version;
  e.event.timestamp = "2024-03-01T00:00:00Z";
  e.position = LogPosition{std::string(entity_type), partition, offset};
  e.event.event_id =
      e.position.topic + "/" + std::to_string(partition) + "@" + std::to_string(offset);
  return e;
}

inline std::vector<ApplyCode> Codes(const BatchResult& r) {
  std::vector<ApplyCode> out;
  for (const ApplyOutcome& o : r.outcomes) out.push_back(o.code);
  return out;
}

// Applies `events` in consecutive batches of random size 1..max_batch.
inline Status ApplyInBatches(Store& store, std::span<const StoreEvent> events, Random& rnd,
                             size_t max_batch, ApplyCounts* counts = nullptr) {
  size_t i = 0;
  while (i < events.size()) {
    size_t n = std::min(events.size() - i, 1 + static_cast<size_t>(rnd.Uniform(max_batch)));
    TANDEM_ASSIGN_OR_RETURN(BatchResult r, store.ApplyBatch(events.subspan(i, n)));
    for (size_t k = 0; k < r.outcomes.size(); ++k) {
      if (r.outcomes[k].code == ApplyCode::kPermanentError ||
          r.outcomes[k].code == ApplyCode::kTransientError) {
        return Status::FailedPrecondition(
            "unexpected " + std::string(ApplyCodeName(r.outcomes[k].code)) + " for " +
            events[i + k].event.entity_id + ": " + r.outcomes[k].reason);
      }
    }
    if (counts != nullptr) *counts += r.counts;
    i += n;
  }
  return Status::OK();
}

// ---- Generated logs -------------------------------------------------------

// Makes a payload for an event of `type` on entity `id` of `entity_type`.
using PayloadFn = std::function<std::string(Random& rnd, const std::string& entity_type,
                                            const std::string& id, EventType type)>;

// A small random JSON object over a few shared field names, with nested
// objects, arrays and (for updates) nulls that delete members.
inline std::string GenericPayload(Random& rnd, const std::string&, const std::string&,
                                  EventType type) {
  static const char* kFields[] = {"name", "city", "score", "tags", "meta", "flag"};
  std::string out = "{";
  bool first = true;
  for (const char* f : kFields) {
    if (!rnd.OneIn(2)) continue;
    if (!first) out += ",";
    first = false;
    out += "\"" + std::string(f) + "\":";
    uint64_t v = rnd.Uniform(5);
    if (type == EventType::kUpdate && rnd.OneIn(4)) {
      out += "null";
    } else if (std::string_view(f) == "meta") {
      out += "{\"level\":" + std::to_string(v) + (rnd.OneIn(2) ? ",\"note\":null" : "") + ",\"k" +
             std::to_string(rnd.Uniform(3)) + "\":\"x\"}";
    } else if (std::string_view(f) == "tags") {
      out += "[\"t" + std::to_string(v) + "\",1.50]";
    } else if (std::string_view(f) == "flag") {
      out += v % 2 ? "true" : "false";
    } else {
      out += "\"v" + std::to_string(v) + "\"";
    }
  }
  return out + "}";
}

struct LogOptions {
  size_t entities = 40;
  size_t events = 600;
  uint32_t partitions = 3;
  std::vector<std::string> entity_types = {"widget", "gadget"};
  PayloadFn payload = GenericPayload;
  // Chance (1 in n) of a producer retry: the previous event of the entity
  // appended again with the same event_id (escaping the log's dedup).
  uint64_t retry_one_in = 25;
};

// Out of line: gcc 12 crashes on `LogOptions{}` inside a template.
inline LogOptions DefaultLogOptions() { return LogOptions{}; }

inline std::string EntityName(size_t i) { return "e" + std::to_string(i); }

// A log in offset order: per entity a fixed type and a versioning mode
// (versioned with occasional late/equal versions, unversioned, or mixed);
// event types weighted create 2 : update 4 : upsert 2 : delete 1.
inline std::vector<StoreEvent> GenerateLog(Random& rnd, const LogOptions& o) {
  std::map<std::pair<std::string, uint32_t>, uint64_t> next_offset;
  std::vector<int64_t> version(o.entities, 0);
  std::vector<std::optional<StoreEvent>> last(o.entities);
  std::vector<StoreEvent> log;
  for (size_t n = 0; n < o.events; ++n) {
    size_t i = rnd.Uniform(o.entities);
    const std::string id = EntityName(i);
    const std::string& type = o.entity_types[i % o.entity_types.size()];
    const uint32_t partition = PartitionForKey(id, o.partitions);
    uint64_t& offset = next_offset[{type, partition}];
    if (last[i].has_value() && rnd.OneIn(o.retry_one_in)) {
      StoreEvent retry = *last[i];
      retry.position.offset = offset++;
      log.push_back(std::move(retry));
      continue;
    }
    static constexpr EventType kTypes[] = {
        EventType::kCreate, EventType::kCreate, EventType::kUpdate,
        EventType::kUpdate, EventType::kUpdate, EventType::kUpdate,
        EventType::kUpsert, EventType::kUpsert, EventType::kDelete};
    EventType et = kTypes[rnd.Uniform(9)];
    std::optional<int64_t> v;
    const int mode = static_cast<int>(i % 3);  // 0 versioned, 1 unversioned, 2 mixed
    if (mode == 0 || (mode == 2 && rnd.OneIn(2))) {
      if (version[i] > 1 && rnd.OneIn(6)) {
        v = 1 + static_cast<int64_t>(rnd.Uniform(static_cast<uint64_t>(version[i])));  // late
      } else {
        v = ++version[i];
      }
    }
    std::string payload = et == EventType::kDelete ? "{}" : o.payload(rnd, type, id, et);
    StoreEvent e = Ev(et, type, id, offset++, payload, v, partition);
    last[i] = e;
    log.push_back(std::move(e));
  }
  return log;
}

// At-least-once delivery of `log`: the first copies keep each entity's log
// order but interleave entities at random; every event is delivered
// min_copies..max_copies times, the extra copies at random later points.
inline std::vector<StoreEvent> Redeliver(Random& rnd, const std::vector<StoreEvent>& log,
                                         uint64_t min_copies = 2, uint64_t max_copies = 3) {
  std::map<std::string, std::vector<size_t>> per_entity;
  for (size_t i = 0; i < log.size(); ++i) per_entity[log[i].event.entity_id].push_back(i);
  std::vector<std::vector<size_t>*> streams;
  for (auto& [id, s] : per_entity) {
    std::reverse(s.begin(), s.end());
    streams.push_back(&s);
  }
  std::vector<size_t> order;  // indexes into log
  while (!streams.empty()) {
    size_t k = rnd.Uniform(streams.size());
    order.push_back(streams[k]->back());
    streams[k]->pop_back();
    if (streams[k]->empty()) {
      streams[k] = streams.back();
      streams.pop_back();
    }
  }
  std::vector<size_t> out = order;
  for (size_t first = 0; first < order.size(); ++first) {
    uint64_t extra = min_copies - 1 + rnd.Uniform(max_copies - min_copies + 1);
    for (uint64_t c = 0; c < extra; ++c) {
      auto at = std::find(out.begin(), out.end(), order[first]);
      size_t lo = static_cast<size_t>(at - out.begin()) + 1;
      size_t pos = lo + rnd.Uniform(out.size() - lo + 1);
      out.insert(out.begin() + static_cast<std::ptrdiff_t>(pos), order[first]);
    }
  }
  std::vector<StoreEvent> events;
  events.reserve(out.size());
  for (size_t i : out) events.push_back(log[i]);
  return events;
}

// The fields of an EntityState that replays must reproduce.
inline std::string Describe(const EntityState& s) {
  const AppliedMarker& m = s.marker;
  return s.entity_type + " " + s.entity_id + (m.deleted ? " deleted" : " live") +
         " v=" + (m.version ? std::to_string(*m.version) : "-") + " at " + m.position.topic + "/" +
         std::to_string(m.position.partition) + "@" + std::to_string(m.position.offset) +
         " id=" + m.event_id + " " + s.payload;
}

}  // namespace tandem::store_test
