// The bus contract: what legs, ingest and audit rely on from any `Log`
// (include/tandem/log.h, include/tandem/bus.h), as one typed GoogleTest suite.
//
// To run it on a bus, write a factory type with:
//
//   struct MyBus {
//     MyBus();                                      // a fresh, empty bus
//     Result<std::unique_ptr<Log>> Open();          // opens it (again after a Close:
//                                                   // the same data, like a restart)
//     SubscriptionOptions Subscription(std::string name);  // options with the bus's
//                                                   // fast test timings (FastSubscription)
//   };
//   INSTANTIATE_TYPED_TEST_SUITE_P(My, BusContract, MyBus);
//
// The factory's Open() must give 4 partitions to topics created on first use.
// Waits are bounded "eventually" loops (PollFor), never a timing assertion.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "../log/log_test_util.h"
#include "tandem/log.h"

namespace tandem::bus_test {

using testing::Rec;

// Subscription options with fast nack backoffs (1..5 ms), for factories.
inline SubscriptionOptions FastSubscription(std::string name) {
  SubscriptionOptions o;
  o.name = std::move(name);
  o.nack_backoff_base_ms = 1;
  o.nack_backoff_max_ms = 5;
  return o;
}

// Polls until `n` messages arrived or `timeout_ms` passed; acks them when `ack`.
// The bound is generous: a Kafka consumer's first poll includes the group join
// (3-5 s on the mock cluster, more on a loaded CI machine); passing runs return
// as soon as the messages are there.
inline std::vector<Message> PollFor(Consumer& c, size_t n, bool ack, int64_t timeout_ms = 30'000) {
  std::vector<Message> got;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (got.size() < n && std::chrono::steady_clock::now() < deadline) {
    Result<std::vector<Message>> r = c.Poll(n - got.size(), 20'000);
    if (!r.ok()) {
      ADD_FAILURE() << r.status().ToString();
      break;
    }
    for (Message& m : *r) {
      if (ack) {
        EXPECT_TRUE(c.Ack(m.id).ok());
      }
      got.push_back(std::move(m));
    }
  }
  return got;
}

inline std::string HeaderOf(const Record& r, const std::string& key) {
  for (const Header& h : r.headers) {
    if (h.key == key) return h.value;
  }
  return "";
}

template <typename Bus>
class BusContract : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }
  void TearDown() override { Close(); }

  void Open() {
    Result<std::unique_ptr<Log>> l = bus_.Open();
    ASSERT_TRUE(l.ok()) << l.status().ToString();
    log_ = std::move(*l);
  }
  void Close() {
    if (log_ != nullptr) {
      EXPECT_TRUE(log_->Close().ok());
    }
    log_.reset();
  }
  void Reopen() {
    Close();
    Open();
  }
  Log& log() { return *log_; }

  std::unique_ptr<Subscription> Subscribe(const std::string& name,
                                          std::vector<std::string> topics = {"orders"}) {
    SubscriptionOptions o = bus_.Subscription(name);
    o.topics = std::move(topics);
    Result<std::unique_ptr<Subscription>> s = log_->Subscribe(o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }
  std::unique_ptr<Consumer> AddConsumer(Subscription& s, const std::string& name) {
    Result<std::unique_ptr<Consumer>> c = s.AddConsumer(name);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(*c) : nullptr;
  }
  // Appends `n` records "v<i>" of key `key` (ids "<key>-<i>") to "orders".
  void AppendKey(const std::string& key, int n, int first = 0) {
    for (int i = first; i < first + n; ++i) {
      ASSERT_TRUE(log_->Append("orders", Rec(key, "v" + std::to_string(i),
                                             key + "-" + std::to_string(i))).ok());
    }
  }
  // "orders" with one partition, so offsets and order are global.
  void CreateSinglePartitionTopic() {
    ASSERT_TRUE(log_->CreateTopic("orders", TopicOptions{.partitions = 1}).ok());
  }

  Bus bus_;
  std::unique_ptr<Log> log_;
};

TYPED_TEST_SUITE_P(BusContract);

TYPED_TEST_P(BusContract, OffsetsAreDensePerPartitionFromZero) {
  std::map<uint32_t, uint64_t> next;
  for (int i = 0; i < 40; ++i) {
    Result<AppendResult> a =
        this->log().Append("orders", Rec("k" + std::to_string(i % 7), "v", "id-" + std::to_string(i)));
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    EXPECT_FALSE(a->duplicate);
    EXPECT_EQ(a->offset, next[a->partition]++) << "partition " << a->partition;
  }
  Result<TopicStats> s = this->log().Stats("orders");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->partitions.size(), 4u);
  for (const PartitionStats& p : s->partitions) {
    EXPECT_EQ(p.start_offset, 0u);
    EXPECT_EQ(p.end_offset, next[p.partition]);
  }
  EXPECT_EQ(s->records(), 40u);
}

TYPED_TEST_P(BusContract, DuplicateIdGetsTheOriginalOffset) {
  Result<AppendResult> first = this->log().Append("orders", Rec("acct-1", "a", "evt-1"));
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(this->log().Append("orders", Rec("acct-1", "b", "evt-2")).ok());
  Result<AppendResult> again = this->log().Append("orders", Rec("acct-1", "a", "evt-1"));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->partition, first->partition);
  EXPECT_EQ(again->offset, first->offset);
  // In a batch too, and nothing was appended twice.
  std::vector<ProduceRecord> batch = {Rec("acct-1", "c", "evt-3"), Rec("acct-1", "a", "evt-1")};
  std::vector<AppendResult> results;
  ASSERT_TRUE(this->log().AppendBatch("orders", batch, &results).ok());
  ASSERT_EQ(results.size(), 2u);
  EXPECT_FALSE(results[0].duplicate);
  EXPECT_TRUE(results[1].duplicate);
  EXPECT_EQ(results[1].offset, first->offset);
  Result<TopicStats> s = this->log().Stats("orders");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->records(), 3u);
  // Records without an id are never deduplicated.
  ASSERT_TRUE(this->log().Append("orders", Rec("acct-1", "x")).ok());
  Result<AppendResult> twice = this->log().Append("orders", Rec("acct-1", "x"));
  ASSERT_TRUE(twice.ok());
  EXPECT_FALSE(twice->duplicate);
}

TYPED_TEST_P(BusContract, DedupSurvivesReopen) {
  Result<AppendResult> first = this->log().Append("orders", Rec("acct-1", "a", "evt-1"));
  ASSERT_TRUE(first.ok());
  this->Reopen();
  Result<AppendResult> again = this->log().Append("orders", Rec("acct-1", "a", "evt-1"));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->offset, first->offset);
}

TYPED_TEST_P(BusContract, PartitionOfAKeyIsStable) {
  EXPECT_EQ(this->log().PartitionFor("orders", "acct-1").status().code(), StatusCode::kNotFound);
  std::map<std::string, uint32_t> seen;
  for (int i = 0; i < 20; ++i) {
    const std::string key = "acct-" + std::to_string(i);
    Result<AppendResult> a = this->log().Append("orders", Rec(key, "v"));
    ASSERT_TRUE(a.ok());
    seen[key] = a->partition;
    Result<uint32_t> p = this->log().PartitionFor("orders", key);
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(*p, a->partition);
  }
  std::set<uint32_t> used;
  for (const auto& kv : seen) used.insert(kv.second);
  EXPECT_GT(used.size(), 1u) << "20 keys all in one partition";
  this->Reopen();
  for (const auto& [key, partition] : seen) {
    Result<uint32_t> p = this->log().PartitionFor("orders", key);
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(*p, partition) << key;
  }
}

TYPED_TEST_P(BusContract, ReadsFromAnOffsetWhatWasAppended) {
  this->CreateSinglePartitionTopic();
  for (int i = 0; i < 10; ++i) {
    ProduceRecord r = Rec("k" + std::to_string(i % 3), "value-" + std::to_string(i), "id" + std::to_string(i));
    r.headers = {{"h", "x" + std::to_string(i)}, {"empty", ""}};
    r.timestamp_us = 1'000'000 + i;
    ASSERT_TRUE(this->log().Append("orders", r).ok());
  }
  std::vector<Record> out;
  ASSERT_TRUE(this->log().Read("orders", 0, 4, 1 << 20, &out).ok());
  ASSERT_EQ(out.size(), 6u);
  for (size_t i = 0; i < out.size(); ++i) {
    const int n = static_cast<int>(i) + 4;
    EXPECT_EQ(out[i].offset, static_cast<uint64_t>(n));
    EXPECT_EQ(out[i].key, "k" + std::to_string(n % 3));
    EXPECT_EQ(out[i].value, "value-" + std::to_string(n));
    EXPECT_EQ(out[i].id, "id" + std::to_string(n));
    EXPECT_EQ(out[i].timestamp_us, 1'000'000 + n);
    EXPECT_EQ(out[i].headers, (std::vector<Header>{{"h", "x" + std::to_string(n)}, {"empty", ""}}));
  }
  out.assign(1, Record{});  // Read replaces what `out` held
  ASSERT_TRUE(this->log().Read("orders", 0, 10, 1 << 20, &out).ok());
  EXPECT_TRUE(out.empty());
  // A small budget still returns at least one record.
  ASSERT_TRUE(this->log().Read("orders", 0, 0, 1, &out).ok());
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out[0].offset, 0u);
}

TYPED_TEST_P(BusContract, TopicsAreListedAndCreatedOnce) {
  ASSERT_TRUE(this->log().CreateTopic("orders", TopicOptions{.partitions = 2}).ok());
  EXPECT_EQ(this->log().CreateTopic("orders", TopicOptions{}).code(), StatusCode::kAlreadyExists);
  EXPECT_FALSE(this->log().CreateTopic("Bad Name", TopicOptions{}).ok());
  ASSERT_TRUE(this->log().Append("payments", Rec("k", "v")).ok());
  const std::vector<std::string> topics = this->log().ListTopics();
  EXPECT_EQ(std::set<std::string>(topics.begin(), topics.end()),
            (std::set<std::string>{"orders", "payments"}));
  Result<TopicStats> s = this->log().Stats("orders");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->partitions.size(), 2u);
  EXPECT_EQ(this->log().Stats("missing").status().code(), StatusCode::kNotFound);
}

TYPED_TEST_P(BusContract, EachKeyReachesConsumersInOrder) {
  for (int i = 0; i < 30; ++i) {
    for (int k = 0; k < 8; ++k) this->AppendKey("acct-" + std::to_string(k), 1, i);
  }
  auto sub = this->Subscribe("leg");
  auto a = this->AddConsumer(*sub, "a");
  auto b = this->AddConsumer(*sub, "b");
  std::map<std::string, std::vector<std::string>> by_key;
  std::map<std::string, std::set<Consumer*>> consumers_of;
  size_t total = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (total < 240 && std::chrono::steady_clock::now() < deadline) {
    for (Consumer* c : {a.get(), b.get()}) {
      Result<std::vector<Message>> r = c->Poll(16, 5'000);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      for (const Message& m : *r) {
        by_key[m.record.key].push_back(m.record.value);
        consumers_of[m.record.key].insert(c);
        ASSERT_TRUE(c->Ack(m.id).ok());
        ++total;
      }
    }
  }
  ASSERT_EQ(total, 240u);
  for (const auto& [key, values] : by_key) {
    ASSERT_EQ(values.size(), 30u) << key;
    for (int i = 0; i < 30; ++i) EXPECT_EQ(values[i], "v" + std::to_string(i)) << key;
  }
}

TYPED_TEST_P(BusContract, NackRedeliversBeforeLaterMessagesOfTheKey) {
  this->CreateSinglePartitionTopic();
  this->AppendKey("acct-1", 2);  // offsets 0, 1
  auto sub = this->Subscribe("leg");
  auto c = this->AddConsumer(*sub, "a");
  std::vector<Message> first = PollFor(*c, 1, /*ack=*/false);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].id.offset, 0u);
  EXPECT_EQ(first[0].delivery_count, 1u);
  ASSERT_TRUE(c->Nack(first[0].id, "transient").ok());
  std::vector<Message> next = PollFor(*c, 1, /*ack=*/false);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].id.offset, 0u) << "offset 1 overtook the nacked offset 0 of its key";
  EXPECT_EQ(next[0].delivery_count, 2u);
  EXPECT_EQ(next[0].record.value, "v0");
  ASSERT_TRUE(c->Ack(next[0].id).ok());
  std::vector<Message> last = PollFor(*c, 1, /*ack=*/true);
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0].id.offset, 1u);
  EXPECT_EQ(last[0].delivery_count, 1u);
}

TYPED_TEST_P(BusContract, NackAtMaxDeliveriesGoesToTheDeadLetterTopic) {
  this->CreateSinglePartitionTopic();
  this->AppendKey("acct-1", 2);
  SubscriptionOptions o = this->bus_.Subscription("leg");
  o.topics = {"orders"};
  o.max_deliveries = 3;
  Result<std::unique_ptr<Subscription>> sub = this->log().Subscribe(o);
  ASSERT_TRUE(sub.ok());
  auto c = this->AddConsumer(**sub, "a");
  for (uint32_t delivery = 1; delivery <= 3; ++delivery) {
    std::vector<Message> m = PollFor(*c, 1, /*ack=*/false);
    ASSERT_EQ(m.size(), 1u);
    EXPECT_EQ(m[0].id.offset, 0u);
    EXPECT_EQ(m[0].delivery_count, delivery);
    ASSERT_TRUE(c->Nack(m[0].id, "sink down").ok());
  }
  std::vector<Message> after = PollFor(*c, 1, /*ack=*/true);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].id.offset, 1u) << "a dead-lettered message was delivered again";
  Result<TopicStats> s = this->log().Stats("orders.dlq");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  std::vector<Record> dead;
  for (const PartitionStats& p : s->partitions) {
    std::vector<Record> part;  // Read replaces its output
    ASSERT_TRUE(this->log().Read("orders.dlq", p.partition, 0, 1 << 20, &part).ok());
    dead.insert(dead.end(), part.begin(), part.end());
  }
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].value, "v0");
  EXPECT_EQ(dead[0].key, "acct-1");
  EXPECT_EQ(HeaderOf(dead[0], "dlq.reason"), "sink down");
  EXPECT_EQ(HeaderOf(dead[0], "dlq.delivery_count"), "3");
  EXPECT_EQ(HeaderOf(dead[0], "dlq.offset"), "0");
  EXPECT_EQ(HeaderOf(dead[0], "dlq.topic"), "orders");
}

TYPED_TEST_P(BusContract, DeadLetterKeepsTheReasonAndCountsAsAcked) {
  this->CreateSinglePartitionTopic();
  this->AppendKey("acct-1", 3);
  {
    auto sub = this->Subscribe("leg");
    auto c = this->AddConsumer(*sub, "a");
    std::vector<Message> m = PollFor(*c, 1, /*ack=*/false);
    ASSERT_EQ(m.size(), 1u);
    ASSERT_TRUE(c->DeadLetter(m[0].id, "permanent_error: bad amount").ok());
    EXPECT_EQ(PollFor(*c, 2, /*ack=*/true).size(), 2u);
    ASSERT_TRUE(sub->Commit().ok());
  }
  Result<uint32_t> p = this->log().PartitionFor("orders.dlq", "acct-1");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  std::vector<Record> dead;
  ASSERT_TRUE(this->log().Read("orders.dlq", *p, 0, 1 << 20, &dead).ok());
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].id, "acct-1-0");
  EXPECT_EQ(HeaderOf(dead[0], "dlq.reason"), "permanent_error: bad amount");
  EXPECT_EQ(HeaderOf(dead[0], "dlq.subscription"), "leg");
  // Nothing comes back after a restart: the dead letter counted as acked.
  this->Reopen();
  auto sub = this->Subscribe("leg");
  auto c = this->AddConsumer(*sub, "a");
  Result<std::vector<Message>> again = c->Poll(10, 200'000);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());
}

TYPED_TEST_P(BusContract, PositionsSurviveCommitAndReopen) {
  this->CreateSinglePartitionTopic();
  this->AppendKey("acct-1", 6);
  {
    auto sub = this->Subscribe("leg");
    auto c = this->AddConsumer(*sub, "a");
    std::vector<Message> m = PollFor(*c, 6, /*ack=*/false);
    ASSERT_EQ(m.size(), 6u);
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(c->Ack(m[i].id).ok());  // 4, 5 stay unacked
    ASSERT_TRUE(sub->Commit().ok());
  }
  this->Reopen();
  this->AppendKey("acct-1", 2, 6);
  auto sub = this->Subscribe("leg");
  auto c = this->AddConsumer(*sub, "a");
  std::vector<Message> m = PollFor(*c, 4, /*ack=*/true);
  std::vector<uint64_t> offsets;
  for (const Message& x : m) offsets.push_back(x.id.offset);
  EXPECT_EQ(offsets, (std::vector<uint64_t>{4, 5, 6, 7}));
  Result<std::vector<Message>> more = c->Poll(10, 200'000);
  ASSERT_TRUE(more.ok());
  EXPECT_TRUE(more->empty()) << "an acked message was delivered again";
}

TYPED_TEST_P(BusContract, DestroyedConsumersMessagesGoToAnother) {
  this->CreateSinglePartitionTopic();
  this->AppendKey("acct-1", 3);
  auto sub = this->Subscribe("leg");
  auto a = this->AddConsumer(*sub, "a");
  std::vector<Message> held = PollFor(*a, 3, /*ack=*/false);
  ASSERT_EQ(held.size(), 3u);
  auto b = this->AddConsumer(*sub, "b");
  Result<std::vector<Message>> none = b->Poll(10, 100'000);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty()) << "a key was given to two consumers at once";
  a.reset();
  std::vector<Message> got = PollFor(*b, 3, /*ack=*/true);
  ASSERT_EQ(got.size(), 3u);
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].id.offset, i);
    EXPECT_EQ(got[i].delivery_count, 2u);
  }
}

TYPED_TEST_P(BusContract, LagIsEndMinusLowestUnacked) {
  this->CreateSinglePartitionTopic();
  this->AppendKey("acct-1", 5);
  auto sub = this->Subscribe("leg");
  std::vector<PartitionLag> lag = sub->Lag();
  ASSERT_EQ(lag.size(), 1u);
  EXPECT_EQ(lag[0].end, 5u);
  EXPECT_EQ(lag[0].lag(), 5u);
  auto c = this->AddConsumer(*sub, "a");
  std::vector<Message> m = PollFor(*c, 5, /*ack=*/false);
  ASSERT_EQ(m.size(), 5u);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(c->Ack(m[i].id).ok());
  lag = sub->Lag();
  ASSERT_EQ(lag.size(), 1u);
  EXPECT_EQ(lag[0].committed, 3u);
  EXPECT_EQ(lag[0].lag(), 2u);
  for (int i = 3; i < 5; ++i) ASSERT_TRUE(c->Ack(m[i].id).ok());
  lag = sub->Lag();
  ASSERT_EQ(lag.size(), 1u);
  EXPECT_EQ(lag[0].lag(), 0u);
}

TYPED_TEST_P(BusContract, AllTopicsSubscriptionSkipsInternalTopicsAndFindsNewOnes) {
  ASSERT_TRUE(this->log().Append("orders", Rec("k", "o")).ok());
  ASSERT_TRUE(this->log().Append("orders.dlq", Rec("k", "dead")).ok());
  SubscriptionOptions o = this->bus_.Subscription("all");
  Result<std::unique_ptr<Subscription>> sub = this->log().Subscribe(o);
  ASSERT_TRUE(sub.ok());
  auto c = this->AddConsumer(**sub, "a");
  std::vector<Message> m = PollFor(*c, 1, /*ack=*/true);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].record.value, "o");
  ASSERT_TRUE(this->log().Append("payments", Rec("k", "p")).ok());
  m = PollFor(*c, 1, /*ack=*/true);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].id.topic, "payments");
  Result<std::vector<Message>> more = c->Poll(10, 200'000);
  ASSERT_TRUE(more.ok());
  EXPECT_TRUE(more->empty()) << "an internal ('.') topic was delivered";
}

TYPED_TEST_P(BusContract, FromEndSkipsWhatWasThere) {
  this->CreateSinglePartitionTopic();
  this->AppendKey("acct-1", 3);
  SubscriptionOptions o = this->bus_.Subscription("tail");
  o.topics = {"orders"};
  o.from_beginning = false;
  Result<std::unique_ptr<Subscription>> sub = this->log().Subscribe(o);
  ASSERT_TRUE(sub.ok());
  auto c = this->AddConsumer(**sub, "a");
  this->AppendKey("acct-1", 1, 3);
  std::vector<Message> m = PollFor(*c, 1, /*ack=*/true);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].id.offset, 3u);
}

REGISTER_TYPED_TEST_SUITE_P(BusContract, OffsetsAreDensePerPartitionFromZero,
                            DuplicateIdGetsTheOriginalOffset, DedupSurvivesReopen,
                            PartitionOfAKeyIsStable, ReadsFromAnOffsetWhatWasAppended,
                            TopicsAreListedAndCreatedOnce, EachKeyReachesConsumersInOrder,
                            NackRedeliversBeforeLaterMessagesOfTheKey,
                            NackAtMaxDeliveriesGoesToTheDeadLetterTopic,
                            DeadLetterKeepsTheReasonAndCountsAsAcked,
                            PositionsSurviveCommitAndReopen, DestroyedConsumersMessagesGoToAnother,
                            LagIsEndMinusLowestUnacked,
                            AllTopicsSubscriptionSkipsInternalTopicsAndFindsNewOnes,
                            FromEndSkipsWhatWasThere);

}  // namespace tandem::bus_test
