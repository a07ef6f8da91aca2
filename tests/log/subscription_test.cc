// Subscriptions: delivery, acks and positions, nacks and backoff, dead
// letters, Key_Shared ownership, topic discovery, lag and start positions.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "log/position_store.h"
#include "log_test_util.h"
#include "tandem/log.h"

namespace tandem {
namespace {

using testing::AddConsumer;
using testing::HeaderValue;
using testing::LogEnv;
using testing::Opts;
using testing::PollN;
using testing::PollNone;
using testing::PollUntilQuiet;
using testing::Rec;

using Position = std::tuple<std::string, uint32_t, uint64_t>;
Position PosOf(const MessageId& id) { return {id.topic, id.partition, id.offset}; }

PartitionLag LagOf(Subscription& s, const std::string& topic, uint32_t partition) {
  for (PartitionLag& l : s.Lag()) {
    if (l.topic == topic && l.partition == partition) return l;
  }
  ADD_FAILURE() << "no lag row for " << topic << "/" << partition;
  return {};
}

TEST(SubscriptionDelivery, CleanRunDeliversEveryMessageOnceThenLagIsZero) {
  LogEnv env;
  env.Open();
  std::set<Position> appended;
  for (int i = 0; i < 400; ++i) {
    AppendResult a = env.Append(i % 3 ? "person" : "account",
                                Rec("k" + std::to_string(i % 37), std::to_string(i)));
    appended.insert({i % 3 ? "person" : "account", a.partition, a.offset});
  }
  auto sub = env.Subscribe(Opts("graph"));
  auto c = AddConsumer(*sub, "c0");
  std::vector<Message> got = PollN(*c, 400, 64);
  std::set<Position> delivered;
  for (const Message& m : got) {
    EXPECT_TRUE(delivered.insert(PosOf(m.id)).second) << "delivered twice: " << m.id.offset;
    EXPECT_EQ(m.delivery_count, 1u);
    EXPECT_EQ(m.record.offset, m.id.offset);
    ASSERT_TRUE(c->Ack(m.id).ok());
  }
  EXPECT_EQ(delivered, appended);
  EXPECT_TRUE(PollNone(*c).empty());
  EXPECT_TRUE(c->Ack(got[0].id).IsNotFound()) << "a second ack of the same message";
  for (const PartitionLag& l : sub->Lag()) {
    EXPECT_EQ(l.committed, l.end) << l.topic << "/" << l.partition;
    EXPECT_EQ(l.lag(), 0u);
  }
}

TEST(SubscriptionPositions, CommittedPositionStopsAtTheFirstUnackedGap) {
  LogEnv env;
  env.Open();
  ASSERT_TRUE(env.log().CreateTopic("one", {.partitions = 1}).ok());
  for (int i = 0; i < 6; ++i) env.Append("one", Rec("k" + std::to_string(i), "v"));
  auto sub = env.Subscribe(Opts("s"));
  auto c = AddConsumer(*sub, "c");
  std::vector<Message> got = PollN(*c, 6);
  ASSERT_EQ(got.size(), 6u);
  std::map<uint64_t, MessageId> by_offset;
  for (const Message& m : got) by_offset[m.id.offset] = m.id;
  for (uint64_t o : {4, 0, 1, 3}) ASSERT_TRUE(c->Ack(by_offset[o]).ok());
  EXPECT_EQ(LagOf(*sub, "one", 0).committed, 2u);
  EXPECT_EQ(LagOf(*sub, "one", 0).lag(), 4u);
  ASSERT_TRUE(c->Ack(by_offset[2]).ok());
  EXPECT_EQ(LagOf(*sub, "one", 0).committed, 5u) << "2 closes the gap up to 5";
}

TEST(SubscriptionPositions, RestartResumesAtCommittedWithoutSkippingUnacked) {
  LogEnv env;
  env.Open();
  ASSERT_TRUE(env.log().CreateTopic("one", {.partitions = 1}).ok());
  for (int i = 0; i < 10; ++i) env.Append("one", Rec("k" + std::to_string(i % 3), "v"));
  {
    auto sub = env.Subscribe(Opts("s"));
    auto c = AddConsumer(*sub, "c");
    std::vector<Message> got = PollN(*c, 10);
    for (const Message& m : got) {
      if (m.id.offset != 3 && m.id.offset != 7) {
        ASSERT_TRUE(c->Ack(m.id).ok());
      }
    }
    ASSERT_TRUE(sub->Commit().ok());
  }  // consumer and subscription destroyed: 3 and 7 were never acknowledged
  env.Reopen();
  auto sub = env.Subscribe(Opts("s"));
  EXPECT_EQ(LagOf(*sub, "one", 0).committed, 3u);
  auto c = AddConsumer(*sub, "c");
  std::vector<Message> again = PollN(*c, 7);
  std::set<uint64_t> offsets;
  for (const Message& m : again) offsets.insert(m.id.offset);
  EXPECT_EQ(offsets, (std::set<uint64_t>{3, 4, 5, 6, 7, 8, 9}))
      << "everything from the committed position on is redelivered, nothing below";
  EXPECT_TRUE(PollNone(*c).empty());
}

TEST(SubscriptionPositions, DestroyingTheSubscriptionCommits) {
  LogEnv env;
  env.Open();
  ASSERT_TRUE(env.log().CreateTopic("one", {.partitions = 1}).ok());
  for (int i = 0; i < 5; ++i) env.Append("one", Rec("k", std::to_string(i)));
  {
    auto sub =
        env.Subscribe(Opts("s", [](SubscriptionOptions& o) { o.commit_interval_ms = 3'600'000; }));
    auto c = AddConsumer(*sub, "c");
    for (const Message& m : PollN(*c, 5)) ASSERT_TRUE(c->Ack(m.id).ok());
  }
  env.Reopen();
  auto sub = env.Subscribe(Opts("s"));
  EXPECT_EQ(LagOf(*sub, "one", 0).committed, 5u);
}

TEST(SubscriptionPositions, CorruptPositionFileRefusesToOpen) {
  LogEnv env;
  env.Open();
  env.Append("person", Rec("k", "v"));
  ASSERT_TRUE(WriteFileAtomically(env.fs(), "/log/subscriptions/s.pos", "garbage!garbage!").ok());
  Result<std::unique_ptr<Subscription>> sub = env.log().Subscribe(Opts("s"));
  ASSERT_TRUE(sub.status().IsCorruption());
  EXPECT_NE(sub.status().message().find("/log/subscriptions/s.pos"), std::string::npos);
}

TEST(SubscriptionOpen, BadNamesAndDuplicateOpenAreRefused) {
  LogEnv env;
  env.Open();
  EXPECT_TRUE(env.log().Subscribe(Opts("")).status().IsInvalidArgument());
  EXPECT_TRUE(env.log().Subscribe(Opts("a/b")).status().IsInvalidArgument());
  EXPECT_TRUE(env.log()
                  .Subscribe(Opts("ok", [](SubscriptionOptions& o) { o.topics = {"Bad"}; }))
                  .status()
                  .IsInvalidArgument());
  auto first = env.Subscribe(Opts("graph"));
  EXPECT_EQ(env.log().Subscribe(Opts("graph")).status().code(), StatusCode::kFailedPrecondition);
  first.reset();
  EXPECT_TRUE(env.log().Subscribe(Opts("graph")).ok()) << "the name is free again";
}

SubscriptionOptions NackOptions() {
  SubscriptionOptions o;
  o.name = "nack";
  o.nack_backoff_base_ms = 100;
  o.nack_backoff_max_ms = 1000;
  o.nack_backoff_jitter = 0.2;
  return o;
}

TEST(SubscriptionNack, RedeliveredAfterBackoffWithCountAndLaterSameKeyHeldBack) {
  LogEnv env;
  env.Open();
  ASSERT_TRUE(env.log().CreateTopic("one", {.partitions = 1}).ok());
  env.Append("one", Rec("A", "a0"));  // offset 0
  env.Append("one", Rec("A", "a1"));  // offset 1
  env.Append("one", Rec("B", "b0"));  // offset 2
  auto sub = env.Subscribe(NackOptions());
  auto c = AddConsumer(*sub, "c");
  std::vector<Message> first = PollN(*c, 1, 1);
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(first[0].record.value, "a0");
  ASSERT_TRUE(c->Nack(first[0].id, "transient").ok());
  // B is another key: it flows. A's later message must wait for a0.
  std::vector<Message> next = PollN(*c, 1, 1);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].record.value, "b0");
  ASSERT_TRUE(c->Ack(next[0].id).ok());
  EXPECT_TRUE(PollNone(*c).empty()) << "a1 overtook the nacked a0";
  env.clock().Advance(79'000);  // under the smallest jittered backoff (80 ms)
  EXPECT_TRUE(PollNone(*c).empty()) << "redelivered before the backoff";
  env.clock().Advance(42'000);  // past the largest (120 ms)
  std::vector<Message> redelivered = PollN(*c, 1, 1);
  ASSERT_EQ(redelivered.size(), 1u);
  EXPECT_EQ(redelivered[0].record.value, "a0");
  EXPECT_EQ(redelivered[0].delivery_count, 2u);
  ASSERT_TRUE(c->Ack(redelivered[0].id).ok());
  std::vector<Message> last = PollN(*c, 1);
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0].record.value, "a1");
  EXPECT_EQ(last[0].delivery_count, 1u);
}

TEST(SubscriptionNack, BackoffGrowsExponentiallyUpToTheMaximum) {
  LogEnv env;
  env.Open();
  env.Append("person", Rec("A", "a0"));
  SubscriptionOptions o = NackOptions();
  o.nack_backoff_jitter = 0;
  o.max_deliveries = 10;
  auto sub = env.Subscribe(o);
  auto c = AddConsumer(*sub, "c");
  // Delays without jitter: 100, 200, 400, 800, then capped at 1000 ms.
  for (int64_t delay_ms : {100, 200, 400, 800, 1000, 1000}) {
    std::vector<Message> m = PollN(*c, 1);
    ASSERT_EQ(m.size(), 1u);
    ASSERT_TRUE(c->Nack(m[0].id, "again").ok());
    env.clock().Advance(delay_ms * 1000 - 1);
    EXPECT_TRUE(PollNone(*c, 5'000).empty()) << "early redelivery for delay " << delay_ms;
    env.clock().Advance(1);
  }
  EXPECT_EQ(PollN(*c, 1).at(0).delivery_count, 7u);
}

TEST(SubscriptionDeadLetter, MaxDeliveriesMovesTheMessageToTheDlqWithHeaders) {
  LogEnv env;
  env.Open();
  ProduceRecord r = Rec("person-9", "{\"x\":1}", "evt-9");
  r.headers.push_back({"trace", "t-1"});
  AppendResult orig = env.Append("person", r);
  SubscriptionOptions o = NackOptions();
  o.max_deliveries = 3;
  auto sub = env.Subscribe(o);
  auto c = AddConsumer(*sub, "c");
  for (uint32_t delivery = 1; delivery <= 3; ++delivery) {
    std::vector<Message> m = PollN(*c, 1);
    ASSERT_EQ(m.size(), 1u);
    EXPECT_EQ(m[0].delivery_count, delivery);
    ASSERT_TRUE(c->Nack(m[0].id, "sink said no").ok());
    env.clock().Advance(10'000'000);
  }
  EXPECT_TRUE(PollNone(*c).empty()) << "a dead-lettered message is not redelivered";
  EXPECT_EQ(LagOf(*sub, "person", orig.partition).lag(), 0u) << "treated as acked";
  ASSERT_EQ(env.log().Stats("person.dlq")->records(), 1u);
  std::vector<Record> dlq;
  ASSERT_TRUE(env.log()
                  .Read("person.dlq", *env.log().PartitionFor("person.dlq", "person-9"), 0, 1, &dlq)
                  .ok());
  ASSERT_EQ(dlq.size(), 1u);
  EXPECT_EQ(dlq[0].key, "person-9");
  EXPECT_EQ(dlq[0].value, "{\"x\":1}");
  EXPECT_EQ(dlq[0].id, "evt-9");
  EXPECT_EQ(HeaderValue(dlq[0], "trace"), "t-1");
  EXPECT_EQ(HeaderValue(dlq[0], "dlq.reason"), "sink said no");
  EXPECT_EQ(HeaderValue(dlq[0], "dlq.subscription"), "nack");
  EXPECT_EQ(HeaderValue(dlq[0], "dlq.topic"), "person");
  EXPECT_EQ(HeaderValue(dlq[0], "dlq.partition"), std::to_string(orig.partition));
  EXPECT_EQ(HeaderValue(dlq[0], "dlq.offset"), std::to_string(orig.offset));
  EXPECT_EQ(HeaderValue(dlq[0], "dlq.delivery_count"), "3");
}

TEST(SubscriptionDeadLetter, DeadLetterIsImmediateAndReleasesTheKey) {
  LogEnv env;
  env.Open();
  ASSERT_TRUE(env.log().CreateTopic("one", {.partitions = 1}).ok());
  env.Append("one", Rec("A", "poison"));
  env.Append("one", Rec("A", "fine"));
  auto sub =
      env.Subscribe(Opts("leg", [](SubscriptionOptions& o) { o.max_unacked_per_consumer = 1; }));
  auto c = AddConsumer(*sub, "c");
  std::vector<Message> m = PollN(*c, 1);
  ASSERT_EQ(m.at(0).record.value, "poison");
  ASSERT_TRUE(c->DeadLetter(m[0].id, "bad payload").ok());
  EXPECT_TRUE(c->Ack(m[0].id).IsNotFound()) << "already acked by DeadLetter";
  std::vector<Message> next = PollN(*c, 1);
  ASSERT_EQ(next.at(0).record.value, "fine");
  EXPECT_EQ(LagOf(*sub, "one", 0).committed, 1u);
  std::vector<Record> dlq;
  ASSERT_TRUE(env.log().Read("one.dlq", *env.log().PartitionFor("one.dlq", "A"), 0, 1, &dlq).ok());
  ASSERT_EQ(dlq.size(), 1u);
  EXPECT_EQ(HeaderValue(dlq[0], "dlq.delivery_count"), "1");
  EXPECT_EQ(HeaderValue(dlq[0], "dlq.reason"), "bad payload");
  // The all-topics subscription does not read internal ('.') topics.
  auto all = env.Subscribe(Opts("all"));
  auto ca = AddConsumer(*all, "c");
  for (const Message& x : PollN(*ca, 2)) EXPECT_EQ(x.id.topic, "one");
  for (const PartitionLag& l : all->Lag()) EXPECT_EQ(l.topic, "one");
}

TEST(SubscriptionBackpressure, AtMostMaxUnackedInFlightPerConsumer) {
  LogEnv env;
  env.Open();
  for (int i = 0; i < 20; ++i) env.Append("person", Rec("k" + std::to_string(i), "v"));
  auto sub =
      env.Subscribe(Opts("bp", [](SubscriptionOptions& o) { o.max_unacked_per_consumer = 5; }));
  auto c = AddConsumer(*sub, "c");
  std::vector<Message> got = PollUntilQuiet(*c, 100);
  ASSERT_EQ(got.size(), 5u);
  ASSERT_TRUE(c->Ack(got[0].id).ok());
  ASSERT_TRUE(c->Ack(got[1].id).ok());
  EXPECT_EQ(PollUntilQuiet(*c, 100).size(), 2u);
}

TEST(SubscriptionTopics, AllTopicsSubscriptionPicksUpNewTopics) {
  LogEnv env;
  env.Open();
  env.Append("person", Rec("p", "1"));
  auto sub = env.Subscribe(Opts("all"));
  auto c = AddConsumer(*sub, "c");
  ASSERT_EQ(PollN(*c, 1).at(0).id.topic, "person");
  env.Append("company", Rec("c", "2"));  // created after the subscription
  env.Append("company.dlq", Rec("c", "internal"));
  std::vector<Message> got = PollN(*c, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id.topic, "company");
  EXPECT_EQ(got[0].record.value, "2");
  EXPECT_TRUE(PollNone(*c).empty());
  std::set<std::string> lag_topics;
  for (const PartitionLag& l : sub->Lag()) lag_topics.insert(l.topic);
  EXPECT_EQ(lag_topics, (std::set<std::string>{"company", "person"}));
}

TEST(SubscriptionTopics, ListedTopicsOnlyIncludingOnesNotCreatedYet) {
  LogEnv env;
  env.Open();
  env.Append("person", Rec("p", "1"));
  auto sub = env.Subscribe(Opts("acc", [](SubscriptionOptions& o) {
    o.topics = {"account"};
    o.from_beginning = false;
  }));
  auto c = AddConsumer(*sub, "c");
  EXPECT_TRUE(PollNone(*c).empty());
  env.Append("account", Rec("a", "first"));  // a topic created later is read from its start
  std::vector<Message> got = PollN(*c, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].record.value, "first");
}

TEST(SubscriptionLag, ReportsCommittedAndEndPerPartition) {
  LogEnv env;
  env.Open();
  ASSERT_TRUE(env.log().CreateTopic("t", {.partitions = 2}).ok());
  std::map<uint32_t, uint64_t> per_partition;
  for (int i = 0; i < 30; ++i)
    ++per_partition[env.Append("t", Rec(std::to_string(i), "v")).partition];
  auto sub = env.Subscribe(Opts("lag"));
  ASSERT_EQ(sub->Lag().size(), 2u);
  for (uint32_t p = 0; p < 2; ++p) {
    EXPECT_EQ(LagOf(*sub, "t", p).committed, 0u);
    EXPECT_EQ(LagOf(*sub, "t", p).end, per_partition[p]);
    EXPECT_EQ(LagOf(*sub, "t", p).lag(), per_partition[p]);
  }
  auto c = AddConsumer(*sub, "c");
  for (const Message& m : PollN(*c, 30)) {
    if (m.id.partition == 0) {
      ASSERT_TRUE(c->Ack(m.id).ok());
    }
  }
  EXPECT_EQ(LagOf(*sub, "t", 0).lag(), 0u);
  EXPECT_EQ(LagOf(*sub, "t", 1).lag(), per_partition[1]);
}

TEST(SubscriptionStart, FromBeginningFalseStartsAtTheEndAndRemembersIt) {
  LogEnv env;
  env.Open();
  ASSERT_TRUE(env.log().CreateTopic("one", {.partitions = 1}).ok());
  for (int i = 0; i < 5; ++i) env.Append("one", Rec("k", "old" + std::to_string(i)));
  {
    auto sub =
        env.Subscribe(Opts("tail", [](SubscriptionOptions& o) { o.from_beginning = false; }));
    auto c = AddConsumer(*sub, "c");
    EXPECT_TRUE(PollNone(*c).empty());
    EXPECT_EQ(LagOf(*sub, "one", 0).committed, 5u);
    // Already durable, before any destructor runs: a crash now must not move the start.
    std::string bytes;
    ASSERT_TRUE(ReadFileToString(env.fs(), "/log/subscriptions/tail.pos", &bytes).ok());
    PositionMap stored;
    ASSERT_TRUE(DecodePositions("tail.pos", bytes, &stored).ok());
    EXPECT_EQ((stored[{"one", 0}]), 5u);
  }
  env.Append("one", Rec("k", "new5"));
  env.Reopen();  // no message acked: the start position must have been stored
  auto sub = env.Subscribe(Opts("tail", [](SubscriptionOptions& o) { o.from_beginning = false; }));
  auto c = AddConsumer(*sub, "c");
  std::vector<Message> got = PollN(*c, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id.offset, 5u);
  EXPECT_EQ(got[0].record.value, "new5");
  EXPECT_TRUE(PollNone(*c).empty());
}

// Records which consumer holds which key; fails on overlap or reordering.
class OwnershipChecker {
 public:
  void Delivered(const std::string& consumer, const Message& m) {
    std::lock_guard l(mu_);
    Key& k = keys_[{m.id.topic, m.record.key}];
    if (k.in_flight > 0 && k.owner != consumer) {
      ADD_FAILURE() << "key " << m.record.key << " delivered to " << consumer << " while "
                    << k.owner << " holds " << k.in_flight << " of its messages";
    }
    if (m.delivery_count == 1 && k.last_first_delivery >= static_cast<int64_t>(m.id.offset)) {
      ADD_FAILURE() << "key " << m.record.key << " went backwards: " << m.id.offset << " after "
                    << k.last_first_delivery;
    }
    if (m.delivery_count == 1) k.last_first_delivery = static_cast<int64_t>(m.id.offset);
    k.owner = consumer;
    ++k.in_flight;
    seen_by_[consumer].insert(m.record.key);
  }
  // Call before Ack/Nack: after it the key may move.
  void Done(const Message& m) {
    std::lock_guard l(mu_);
    --keys_[{m.id.topic, m.record.key}].in_flight;
  }
  std::map<std::string, std::set<std::string>> seen_by() {
    std::lock_guard l(mu_);
    return seen_by_;
  }

 private:
  struct Key {
    std::string owner;
    int in_flight = 0;
    int64_t last_first_delivery = -1;
  };
  std::mutex mu_;
  std::map<std::pair<std::string, std::string>, Key> keys_;
  std::map<std::string, std::set<std::string>> seen_by_;
};

TEST(SubscriptionKeyShared, ThreeConsumersEachKeyOnOneConsumerInOrder) {
  LogEnv env;
  env.Open();
  constexpr int kKeys = 30, kPerKey = 20;
  for (int i = 0; i < kPerKey; ++i) {
    for (int k = 0; k < kKeys; ++k) env.Append("person", Rec("key" + std::to_string(k), "v"));
  }
  auto sub = env.Subscribe(Opts("ks"));
  std::vector<std::unique_ptr<Consumer>> consumers;
  for (int i = 0; i < 3; ++i) consumers.push_back(AddConsumer(*sub, "c" + std::to_string(i)));
  OwnershipChecker checker;
  std::atomic<int> acked{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&, i] {
      const std::string name = "c" + std::to_string(i);
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (acked.load() < kKeys * kPerKey && std::chrono::steady_clock::now() < deadline) {
        Result<std::vector<Message>> got = consumers[i]->Poll(7, 10'000);
        ASSERT_TRUE(got.ok());
        for (const Message& m : *got) checker.Delivered(name, m);
        std::this_thread::yield();
        for (const Message& m : *got) {
          checker.Done(m);
          ASSERT_TRUE(consumers[i]->Ack(m.id).ok());
          ++acked;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(acked.load(), kKeys * kPerKey);
  std::set<std::string> all;
  auto seen = checker.seen_by();
  for (const auto& [consumer, keys] : seen) {
    EXPECT_FALSE(keys.empty()) << consumer << " got no key: keys are not spread";
    all.insert(keys.begin(), keys.end());
  }
  EXPECT_EQ(seen.size(), 3u);
  EXPECT_EQ(all.size(), static_cast<size_t>(kKeys));
}

TEST(SubscriptionKeyShared, DestroyedConsumerReleasesItsMessagesInOrder) {
  LogEnv env;
  env.Open();
  ASSERT_TRUE(env.log().CreateTopic("one", {.partitions = 1}).ok());
  for (int i = 0; i < 4; ++i) {
    for (int k = 0; k < 10; ++k) env.Append("one", Rec("key" + std::to_string(k), "v"));
  }
  auto sub = env.Subscribe(Opts("ks"));
  auto doomed = AddConsumer(*sub, "doomed");
  auto heir = AddConsumer(*sub, "heir");
  std::vector<Message> held = PollUntilQuiet(*doomed);
  ASSERT_FALSE(held.empty());
  std::map<std::string, std::vector<uint64_t>> unacked;  // key -> offsets doomed still holds
  std::set<std::string> doomed_keys;
  for (const Message& m : held) {
    doomed_keys.insert(m.record.key);
    if (m.id.offset % 3 == 0) {
      ASSERT_TRUE(doomed->Ack(m.id).ok());
    } else {
      unacked[m.record.key].push_back(m.id.offset);
    }
  }
  // While doomed holds them, the heir must not see any message of those keys.
  for (const Message& m : PollUntilQuiet(*heir)) {
    EXPECT_EQ(doomed_keys.count(m.record.key), 0u) << m.record.key << " shared by two consumers";
    ASSERT_TRUE(heir->Ack(m.id).ok());
  }
  doomed.reset();
  size_t expected = 0;
  for (const auto& [k, offs] : unacked) expected += offs.size();
  std::vector<Message> inherited = PollN(*heir, expected, 1000);
  ASSERT_EQ(inherited.size(), expected);
  std::map<std::string, std::vector<uint64_t>> got;
  for (const Message& m : inherited) {
    EXPECT_EQ(m.delivery_count, 2u);
    got[m.record.key].push_back(m.id.offset);
    ASSERT_TRUE(heir->Ack(m.id).ok());
  }
  EXPECT_EQ(got, unacked) << "released messages come back per key in offset order";
  EXPECT_TRUE(PollNone(*heir).empty());
  EXPECT_EQ(LagOf(*sub, "one", 0).lag(), 0u);
}

TEST(SubscriptionKeyShared, JoiningConsumerWaitsForInFlightKeysToBeAcked) {
  LogEnv env;
  env.Open();
  ASSERT_TRUE(env.log().CreateTopic("one", {.partitions = 1}).ok());
  constexpr int kKeys = 40;
  for (int k = 0; k < kKeys; ++k) env.Append("one", Rec("key" + std::to_string(k), "first"));
  auto sub = env.Subscribe(Opts("handoff"));
  auto old_owner = AddConsumer(*sub, "old");
  std::vector<Message> held = PollN(*old_owner, kKeys);
  ASSERT_EQ(held.size(), static_cast<size_t>(kKeys));
  // New consumers join and more events of every key arrive.
  auto a = AddConsumer(*sub, "a");
  auto b = AddConsumer(*sub, "b");
  for (int k = 0; k < kKeys; ++k) env.Append("one", Rec("key" + std::to_string(k), "second"));
  for (Consumer* c : {a.get(), b.get()}) {
    EXPECT_TRUE(PollNone(*c, 50'000).empty())
        << "a key moved to a new consumer while its first event was in flight";
  }
  for (const Message& m : held) ASSERT_TRUE(old_owner->Ack(m.id).ok());
  std::map<std::string, int> seconds;
  std::map<std::string, std::set<std::string>> keys_of;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (seconds.size() < static_cast<size_t>(kKeys) &&
         std::chrono::steady_clock::now() < deadline) {
    for (auto [name, c] : {std::pair{"old", old_owner.get()}, {"a", a.get()}, {"b", b.get()}}) {
      for (const Message& m : PollNone(*c, 2'000)) {
        EXPECT_EQ(m.record.value, "second");
        ++seconds[m.record.key];
        keys_of[name].insert(m.record.key);
        ASSERT_TRUE(c->Ack(m.id).ok());
      }
    }
  }
  EXPECT_EQ(seconds.size(), static_cast<size_t>(kKeys));
  for (const auto& [k, n] : seconds) EXPECT_EQ(n, 1) << k;
  EXPECT_FALSE(keys_of["a"].empty()) << "idle keys should move to the new consumers";
  EXPECT_FALSE(keys_of["b"].empty());
}

}  // namespace
}  // namespace tandem
