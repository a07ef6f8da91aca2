// A Jepsen-style history check (TESTING.md §1) of the log and Key_Shared
// subscriptions: several producer threads append (single and batch appends),
// several consumers poll, ack, sometimes nack, and one consumer leaves with
// messages in flight and is replaced. Every append and every delivery is
// recorded; after draining, the history must show no acknowledged append
// lost, no offset holding two values, no key held by two consumers at once,
// and per-key acknowledgements in offset order (no consumer went backwards).
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "log_test_util.h"
#include "tandem/log.h"

namespace tandem {
namespace {

using Pos = std::tuple<std::string, uint32_t, uint64_t>;

class History {
 public:
  void Appended(const std::string& topic, const AppendResult& a, const std::string& value) {
    std::lock_guard l(mu_);
    auto [it, inserted] = appended_.emplace(Pos{topic, a.partition, a.offset}, value);
    if (!inserted && it->second != value) {
      ADD_FAILURE() << "offset " << a.offset << " acknowledged for two values";
    }
  }
  void Delivered(const std::string& consumer, const Message& m) {
    std::lock_guard l(mu_);
    const Pos pos{m.id.topic, m.id.partition, m.id.offset};
    auto [it, inserted] = values_.emplace(pos, m.record.value);
    if (!inserted && it->second != m.record.value) {
      ADD_FAILURE() << "offset " << m.id.offset << " read with two values";
    }
    Holder& h = holders_[{m.id.topic, m.record.key}];
    if (h.in_flight > 0 && h.consumer != consumer) {
      ADD_FAILURE() << "key " << m.record.key << " held by " << h.consumer << " and " << consumer;
    }
    h.consumer = consumer;
    ++h.in_flight;
  }
  // Before the Ack call: the key's acks must come in offset order.
  void Acking(const Message& m) {
    std::lock_guard l(mu_);
    const std::pair<std::string, std::string> key{m.id.topic, m.record.key};
    --holders_[key].in_flight;
    auto [it, inserted] = last_ack_.emplace(key, m.id.offset);
    if (!inserted) {
      if (it->second >= m.id.offset) {
        ADD_FAILURE() << "key " << m.record.key << " acked " << m.id.offset << " after "
                      << it->second;
      }
      it->second = m.id.offset;
    }
    if (!acked_.insert(Pos{m.id.topic, m.id.partition, m.id.offset}).second) {
      ADD_FAILURE() << "offset " << m.id.offset << " acknowledged twice";
    }
  }
  void Released(const Message& m) {  // nacked, or left in flight by a leaving consumer
    std::lock_guard l(mu_);
    --holders_[{m.id.topic, m.record.key}].in_flight;
  }
  size_t acked() {
    std::lock_guard l(mu_);
    return acked_.size();
  }
  void Check() {
    std::lock_guard l(mu_);
    for (const auto& [pos, value] : appended_) {
      auto it = values_.find(pos);
      if (it == values_.end()) {
        ADD_FAILURE() << "acknowledged append " << std::get<2>(pos) << " never delivered";
      } else if (it->second != value) {
        ADD_FAILURE() << "offset " << std::get<2>(pos) << " holds two values";
      }
      if (acked_.count(pos) == 0) ADD_FAILURE() << "offset " << std::get<2>(pos) << " not acked";
    }
    EXPECT_EQ(values_.size(), appended_.size()) << "delivered offsets nobody appended";
  }

 private:
  struct Holder {
    std::string consumer;
    int in_flight = 0;
  };
  std::mutex mu_;
  std::map<Pos, std::string> appended_;
  std::map<Pos, std::string> values_;
  std::set<Pos> acked_;
  std::map<std::pair<std::string, std::string>, Holder> holders_;
  std::map<std::pair<std::string, std::string>, uint64_t> last_ack_;
};

void Produce(Log& log, History& h, int thread, int records) {
  Random rnd(thread + 1);
  for (int i = 0; i < records;) {
    const std::string topic = rnd.OneIn(2) ? "person" : "account";
    std::vector<ProduceRecord> batch;
    const int n = rnd.OneIn(3) ? 1 + static_cast<int>(rnd.Uniform(20)) : 1;
    for (int j = 0; j < n && i < records; ++j, ++i) {
      const std::string value = "t" + std::to_string(thread) + "-" + std::to_string(i);
      batch.push_back(testing::Rec("key" + std::to_string(rnd.Uniform(40)), value, value));
    }
    std::vector<AppendResult> results;
    ASSERT_TRUE(log.AppendBatch(topic, batch, &results).ok());
    for (size_t j = 0; j < batch.size(); ++j) h.Appended(topic, results[j], batch[j].value);
  }
}

// Polls and acks until `stop`; nacks about one message in 25 (and the rest of
// that key in the same batch, as a leg keeping per-key order would). With
// `leave_after` > 0 it returns once it received that many messages, leaving its
// last batch in flight.
struct Counters {
  std::atomic<int> nacks{0};
  std::atomic<int> left_in_flight{0};
};

void Consume(Consumer& c, const std::string& name, History& h, std::atomic<bool>& stop,
             size_t leave_after, uint64_t seed, Counters& counters) {
  Random rnd(seed);
  for (size_t received = 0; !stop.load();) {
    Result<std::vector<Message>> got = c.Poll(50, 5'000);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    for (const Message& m : *got) h.Delivered(name, m);
    received += got->size();
    if (leave_after > 0 && received >= leave_after && !got->empty()) {
      for (const Message& m : *got) h.Released(m);
      counters.left_in_flight += static_cast<int>(got->size());
      return;
    }
    std::set<std::string> nacked_keys;
    for (const Message& m : *got) {
      if (nacked_keys.count(m.record.key) || rnd.OneIn(25)) {
        nacked_keys.insert(m.record.key);
        h.Released(m);
        ++counters.nacks;
        ASSERT_TRUE(c.Nack(m.id, "test").ok());
      } else {
        h.Acking(m);
        ASSERT_TRUE(c.Ack(m.id).ok());
      }
    }
  }
}

TEST(LogHistory, ProducersAndKeySharedConsumersLoseNothingAndKeepKeyOrder) {
  testing::LogEnv env;
  env.options().clock = nullptr;  // real time: nack backoffs must expire
  env.Open();
  constexpr int kProducers = 4, kPerProducer = 1500;
  SubscriptionOptions so;
  so.name = "history";
  so.nack_backoff_base_ms = 1;
  so.nack_backoff_max_ms = 4;
  so.max_deliveries = 1000;  // nothing is dead-lettered here
  so.max_unacked_per_consumer = 200;
  auto sub = env.Subscribe(so);
  History h;
  Counters counters;
  std::atomic<bool> stop{false};
  std::vector<std::unique_ptr<Consumer>> consumers;
  for (int i = 0; i < 3; ++i)
    consumers.push_back(testing::AddConsumer(*sub, "c" + std::to_string(i)));
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&, i] {
      Consume(*consumers[i], "c" + std::to_string(i), h, stop, i == 0 ? 300 : 0, 100 + i, counters);
      if (i == 0) {
        consumers[0].reset();  // leaves with a batch in flight
        auto replacement = testing::AddConsumer(*sub, "c3");
        Consume(*replacement, "c3", h, stop, 0, 103, counters);
      }
    });
  }
  std::vector<std::thread> producers;
  for (int t = 0; t < kProducers; ++t) {
    producers.emplace_back([&, t] { Produce(env.log(), h, t, kPerProducer); });
  }
  for (auto& t : producers) t.join();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (h.acked() < static_cast<size_t>(kProducers * kPerProducer) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  stop = true;
  for (auto& t : threads) t.join();
  h.Check();
  EXPECT_GT(counters.left_in_flight.load(), 0) << "the leave-with-messages path did not run";
  EXPECT_GT(counters.nacks.load(), 0);
  for (const PartitionLag& l : sub->Lag()) {
    EXPECT_EQ(l.committed, l.end) << l.topic << "/" << l.partition;
  }
}

}  // namespace
}  // namespace tandem
