// Helpers for the Kafka bus tests: librdkafka's mock cluster run as a separate
// process (kafka_mock, started per test and stopped by PID), KafkaOptions with
// short timeouts, bounded waits and subscription draining.
//
// Thread safety: used by the test thread only.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <mutex>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tandem/kafka.h"
#include "tandem/log.h"
#include "kafka_mock_cluster.h"

namespace tandem::kafka_test {

inline constexpr auto kWait = std::chrono::seconds(60);  // bound of every wait

inline SubscriptionOptions TestSubscription(const std::string& name,
                                            std::vector<std::string> topics) {
  SubscriptionOptions o;
  o.name = name;
  o.topics = std::move(topics);
  o.nack_backoff_base_ms = 10;
  o.nack_backoff_max_ms = 50;
  o.commit_interval_ms = 100;
  return o;
}

// Polls `consumer` until `n` messages arrived or kWait passed (then fewer).
inline std::vector<Message> PollN(Consumer& consumer, size_t n) {
  std::vector<Message> out;
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
    Result<std::vector<Message>> got = consumer.Poll(n - out.size(), 200'000);
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    if (!got.ok()) break;
    for (Message& m : *got) out.push_back(std::move(m));
  }
  return out;
}

template <typename F>
bool Eventually(F done) {
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

inline std::string HeaderValue(const Record& r, const std::string& key) {
  for (const Header& h : r.headers) {
    if (h.key == key) return h.value;
  }
  return "";
}

// Every record of `topic`, all partitions, in (partition, offset) order.
inline std::vector<Record> ReadAll(Log& log, const std::string& topic) {
  std::vector<Record> out;
  Result<TopicStats> st = log.Stats(topic);
  EXPECT_TRUE(st.ok()) << st.status().ToString();
  if (!st.ok()) return out;
  for (const PartitionStats& p : st->partitions) {
    uint64_t from = p.start_offset;
    while (from < p.end_offset) {
      std::vector<Record> recs;
      Status s = log.Read(topic, p.partition, from, 1 << 20, &recs);
      EXPECT_TRUE(s.ok()) << s.ToString();
      if (!s.ok() || recs.empty()) break;
      from = recs.back().offset + 1;
      for (Record& r : recs) out.push_back(std::move(r));
    }
  }
  return out;
}

}  // namespace tandem::kafka_test
