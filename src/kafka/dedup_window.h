// DedupWindow: the Kafka bus's in-process memory of recently appended record
// ids (event_id), per topic, so a retried append is acknowledged with the
// original partition and offset instead of being produced twice.
//
// Kafka's idempotent producer removes duplicates caused by its own internal
// retries, not an application resending the same event; Kafka has no
// server-side dedup by application id. This window covers appends made
// through one KafkaLog in one process, within window_ms and the last
// max_entries ids of a topic; it is empty after a restart.
//
// Reserve/Finish make concurrent appends of one id safe: the first caller
// reserves the id, the others wait until it finished and then see its result
// (or, when it failed, one of them reserves it in turn).
//
// Thread safety: all methods are safe for concurrent use.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "tandem/env.h"
#include "tandem/log.h"

namespace tandem::kafka {

class DedupWindow {
 public:
  // window_ms <= 0 disables the window (Reserve always returns nullopt).
  DedupWindow(Clock& clock, int64_t window_ms, uint32_t max_entries);
  DedupWindow(const DedupWindow&) = delete;
  DedupWindow& operator=(const DedupWindow&) = delete;

  bool enabled() const { return window_us_ > 0 && max_entries_ > 0; }

  // The earlier result (duplicate = true) when `id` was appended to `topic`
  // within the window. Otherwise reserves the id and returns nullopt: the
  // caller must then call Finish for it exactly once.
  std::optional<AppendResult> Reserve(const std::string& topic, const std::string& id);
  // Ends a reservation: remembers `result`, or releases the id when nullptr
  // (the append failed, a retry may append it).
  void Finish(const std::string& topic, const std::string& id, const AppendResult* result);
  // Remembers an id found in the log (rebuilding the window) unless already
  // known; `at_us` is the record's timestamp. Ids older than the window are ignored.
  void Remember(const std::string& topic, const std::string& id, const AppendResult& result,
                int64_t at_us);

 private:
  struct Entry {
    bool pending = true;
    AppendResult result;
    int64_t at_us = 0;
  };
  struct TopicWindow {
    std::unordered_map<std::string, Entry> entries;
    std::deque<std::pair<int64_t, std::string>> order;  // (at_us, id), oldest first
  };
  void Evict(TopicWindow& w, int64_t now_us);

  Clock& clock_;
  const int64_t window_us_;
  const uint32_t max_entries_;
  std::mutex mu_;
  std::condition_variable done_;
  std::unordered_map<std::string, TopicWindow> topics_;
};

}  // namespace tandem::kafka
