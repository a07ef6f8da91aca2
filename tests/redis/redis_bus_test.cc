// The bus contract suite on the Redis Streams bus, against a real
// redis-server started for this test binary (each test gets a fresh key
// prefix), plus what only a networked bus has: connection loss and
// reconnection, the append script's atomic dedup marker, the lease of a
// crashed consumer expiring.

#include <gtest/gtest.h>

#include <atomic>

#include "../bus/bus_contract_suite.h"
#include "redis/connection.h"
#include "redis_server.h"
#include "tandem/bus.h"

namespace tandem::bus_test {
namespace {

testing::RedisServer* server = nullptr;

// One redis-server for the whole binary.
class RedisEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    server = &server_;
    ASSERT_TRUE(server_.Start()) << server_.error();
  }
  void TearDown() override { server_.Stop(); }

 private:
  testing::RedisServer server_;
};

const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new RedisEnvironment);

RedisBusOptions FastOptions(const std::string& prefix) {
  RedisBusOptions o;
  o.port = server->port();
  o.prefix = prefix;
  o.default_partitions = 4;
  o.lease_ttl_ms = 1'000;
  o.lease_renew_ms = 100;
  o.block_ms = 20;
  o.reconnect_backoff_base_ms = 10;
  o.reconnect_backoff_max_ms = 100;
  return o;
}

std::string FreshPrefix() {
  static std::atomic<int> n{0};
  return "t" + std::to_string(getpid()) + "-" + std::to_string(n++) + ":";
}

}  // namespace

struct RedisBus {
  RedisBus() : options(FastOptions(FreshPrefix())) {}
  Result<std::unique_ptr<Log>> Open() { return OpenRedisBus(options); }
  SubscriptionOptions Subscription(std::string name) { return FastSubscription(std::move(name)); }
  RedisBusOptions options;
};

INSTANTIATE_TYPED_TEST_SUITE_P(Redis, BusContract, RedisBus);

namespace {

// `bus` opened with a one-partition "orders" holding `n` records "v<i>" of key "k".
std::unique_ptr<Log> OpenWithOrders(RedisBus& bus, int n) {
  Result<std::unique_ptr<Log>> log = bus.Open();
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  if (!log.ok()) return nullptr;
  EXPECT_TRUE((*log)->CreateTopic("orders", TopicOptions{.partitions = 1}).ok());
  for (int i = 0; i < n; ++i) EXPECT_TRUE((*log)->Append("orders", Rec("k", "v" + std::to_string(i))).ok());
  return std::move(*log);
}

TEST(RedisBus, OffsetsAreStreamIdsSoOtherClientsSeeThem) {
  RedisBus bus;
  Result<std::unique_ptr<Log>> log = bus.Open();
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)->CreateTopic("orders", TopicOptions{.partitions = 1}).ok());
  ASSERT_TRUE((*log)->Append("orders", Rec("k", "v0", "e0")).ok());
  ASSERT_TRUE((*log)->Append("orders", Rec("k", "v1", "e1")).ok());
  redis::RedisConnection c(bus.options);
  Result<redis::Reply> r = c.Command({"XRANGE", bus.options.prefix + "{orders:0}:s", "-", "+"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->elements.size(), 2u);
  EXPECT_EQ(r->elements[0].elements[0].str, "0-1");
  EXPECT_EQ(r->elements[1].elements[0].str, "0-2");
}

TEST(RedisBus, DedupMarkerExpiresWithTheWindow) {
  RedisBus bus;
  bus.options.dedup_window_ms = 50;
  Result<std::unique_ptr<Log>> log = bus.Open();
  ASSERT_TRUE(log.ok());
  Result<AppendResult> a = (*log)->Append("orders", Rec("k", "v", "e1"));
  ASSERT_TRUE(a.ok());
  redis::RedisConnection c(bus.options);
  const std::string marker =
      bus.options.prefix + "{orders:" + std::to_string(a->partition) + "}:d:e1";
  Result<redis::Reply> ttl = c.Command({"PTTL", marker});
  ASSERT_TRUE(ttl.ok());
  EXPECT_GT(ttl->integer, 0);
  EXPECT_LE(ttl->integer, 50);
  // Once the marker is gone the id is appended again, as the window documents.
  ASSERT_TRUE(c.Command({"DEL", marker}).ok());
  Result<AppendResult> b = (*log)->Append("orders", Rec("k", "v", "e1"));
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->duplicate);
  EXPECT_EQ(b->offset, a->offset + 1);
}

TEST(RedisBus, ConcurrentRetriesOfOneIdAppendOnce) {
  RedisBus bus;
  Result<std::unique_ptr<Log>> log = bus.Open();
  ASSERT_TRUE(log.ok());
  std::vector<std::thread> threads;
  std::atomic<int> appended{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        Result<AppendResult> r = (*log)->Append("orders", Rec("k", "v", "id-" + std::to_string(i)));
        if (r.ok() && !r->duplicate) ++appended;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(appended.load(), 50);
  Result<TopicStats> s = (*log)->Stats("orders");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->records(), 50u);
}

TEST(RedisBus, ServerDownIsUnavailableAndRecoversAfterRestart) {
  RedisBus bus;
  Result<std::unique_ptr<Log>> log = bus.Open();
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)->Append("orders", Rec("k", "before")).ok());
  server->Stop();
  Result<AppendResult> down = (*log)->Append("orders", Rec("k", "during"));
  EXPECT_EQ(down.status().code(), StatusCode::kUnavailable) << down.status().ToString();
  EXPECT_EQ(OpenRedisBus(bus.options).status().code(), StatusCode::kUnavailable);
  ASSERT_TRUE(server->Start()) << server->error();
  // The server restarted empty (no persistence in tests); the bus reconnects
  // after its backoff and reloads its script.
  Status last;
  for (int i = 0; i < 200; ++i) {
    last = (*log)->Append("orders", Rec("k", "after")).status();
    if (last.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(last.ok()) << last.ToString();
}

TEST(RedisBus, CrashedConsumersLeaseExpiresAndItsMessagesAreClaimed) {
  RedisBus bus;
  std::unique_ptr<Log> log = OpenWithOrders(bus, 3);
  ASSERT_NE(log, nullptr);
  SubscriptionOptions o = bus.Subscription("leg");
  o.topics = {"orders"};
  // A "crashed" consumer: another process took the lease and read the
  // entries, then vanished without releasing anything.
  {
    Result<std::unique_ptr<Subscription>> sub = log->Subscribe(o);
    ASSERT_TRUE(sub.ok());
    redis::RedisConnection c(bus.options);
    const std::string stream = bus.options.prefix + "{orders:0}:s";
    ASSERT_TRUE(c.Command({"SET", bus.options.prefix + "{orders:0}:l:leg", "ghost", "PX", "300"}).ok());
    ASSERT_TRUE(c.Command({"XREADGROUP", "GROUP", "leg", "ghost", "STREAMS", stream, ">"}).ok());
    auto consumer = (*sub)->AddConsumer("a");
    ASSERT_TRUE(consumer.ok());
    std::vector<Message> got = PollFor(**consumer, 3, /*ack=*/true);
    ASSERT_EQ(got.size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
      EXPECT_EQ(got[i].id.offset, i);
      EXPECT_EQ(got[i].delivery_count, 2u);
    }
  }
}

// A pending list larger than the read-ahead budget is claimed in parts, and
// no new entry overtakes the older pending ones.
TEST(RedisBus, LargePendingListIsClaimedInOrderWithinTheBudget) {
  RedisBus bus;
  std::unique_ptr<Log> log = OpenWithOrders(bus, 10);
  ASSERT_NE(log, nullptr);
  SubscriptionOptions o = bus.Subscription("leg");
  o.topics = {"orders"};
  o.max_unacked_per_consumer = 3;
  Result<std::unique_ptr<Subscription>> sub = log->Subscribe(o);
  ASSERT_TRUE(sub.ok());
  redis::RedisConnection c(bus.options);
  ASSERT_TRUE(c.Command({"XREADGROUP", "GROUP", "leg", "ghost", "STREAMS",
                         bus.options.prefix + "{orders:0}:s", ">"}).ok());
  for (int i = 10; i < 12; ++i) ASSERT_TRUE(log->Append("orders", Rec("k", "v" + std::to_string(i))).ok());
  auto consumer = (*sub)->AddConsumer("a");
  ASSERT_TRUE(consumer.ok());
  std::vector<Message> got = PollFor(**consumer, 12, /*ack=*/true);
  ASSERT_EQ(got.size(), 12u);
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].id.offset, i);
    EXPECT_EQ(got[i].delivery_count, i < 10 ? 2u : 1u) << i;
  }
}

TEST(RedisBus, RetentionTrimsOldEntriesFromTheHeadOnly) {
  RedisBus bus;
  bus.options.retention_ms = 60'000;
  bus.options.fetch_count = 2;  // several scan rounds
  Result<std::unique_ptr<Log>> log = bus.Open();
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)->CreateTopic("orders", TopicOptions{.partitions = 1}).ok());
  const int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::system_clock::now().time_since_epoch()).count();
  // Offsets 0-4 are two hours old, 5 is new, 6 is old again (kept: no holes).
  for (int i = 0; i < 7; ++i) {
    ProduceRecord r = Rec("k", "v" + std::to_string(i));
    r.timestamp_us = i == 5 ? now_us : now_us - 7'200'000'000;
    ASSERT_TRUE((*log)->Append("orders", r).ok());
  }
  ASSERT_TRUE((*log)->EnforceRetention().ok());
  Result<TopicStats> s = (*log)->Stats("orders");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->partitions[0].start_offset, 5u);
  EXPECT_EQ(s->partitions[0].end_offset, 7u);
  std::vector<Record> out;
  ASSERT_TRUE((*log)->Read("orders", 0, 0, 1 << 20, &out).ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].offset, 5u);
  EXPECT_EQ(out[1].offset, 6u);
}

// A consumer busy in a long sink call (no Poll for longer than lease_ttl)
// keeps its partition: its keeper thread renews the lease. Once it has not
// polled for max_poll_interval it is presumed stuck and the partition moves.
TEST(RedisBus, LeasesOutliveLongSinkCallsButNotStuckConsumers) {
  RedisBus bus;
  bus.options.max_poll_interval_ms = 3'000;
  std::unique_ptr<Log> log = OpenWithOrders(bus, 1);
  ASSERT_NE(log, nullptr);
  SubscriptionOptions o = bus.Subscription("leg");
  o.topics = {"orders"};
  Result<std::unique_ptr<Subscription>> sub = log->Subscribe(o);
  ASSERT_TRUE(sub.ok());
  auto a = (*sub)->AddConsumer("a");
  auto b = (*sub)->AddConsumer("b");
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(PollFor(**a, 1, /*ack=*/false).size(), 1u);
  // Two lease TTLs without a Poll of `a`: b must not get the message.
  const auto busy_until = std::chrono::steady_clock::now() + std::chrono::milliseconds(2'000);
  while (std::chrono::steady_clock::now() < busy_until) {
    Result<std::vector<Message>> r = (*b)->Poll(10, 50'000);
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE(r->empty()) << "the partition moved while its owner was in a sink call";
  }
  // Past max_poll_interval `a` is presumed stuck: b claims the message.
  std::vector<Message> got = PollFor(**b, 1, /*ack=*/true, 15'000);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].delivery_count, 2u);
}

TEST(RedisBus, PartitionsAreSharedBetweenConsumers) {
  RedisBus bus;
  Result<std::unique_ptr<Log>> log = bus.Open();
  ASSERT_TRUE(log.ok());
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE((*log)->Append("orders", Rec("acct-" + std::to_string(i % 40), "v")).ok());
  }
  SubscriptionOptions o = bus.Subscription("leg");
  o.topics = {"orders"};
  Result<std::unique_ptr<Subscription>> sub = (*log)->Subscribe(o);
  ASSERT_TRUE(sub.ok());
  auto a = (*sub)->AddConsumer("a");
  auto b = (*sub)->AddConsumer("b");
  ASSERT_TRUE(a.ok() && b.ok());
  std::map<Consumer*, std::set<uint32_t>> partitions;
  size_t total = 0;
  for (int round = 0; round < 500 && total < 200; ++round) {
    for (Consumer* c : {a->get(), b->get()}) {
      Result<std::vector<Message>> r = c->Poll(5, 10'000);
      ASSERT_TRUE(r.ok());
      for (const Message& m : *r) {
        partitions[c].insert(m.id.partition);
        ASSERT_TRUE(c->Ack(m.id).ok());
        ++total;
      }
    }
  }
  EXPECT_EQ(total, 200u);
  EXPECT_FALSE(partitions[a->get()].empty());
  EXPECT_FALSE(partitions[b->get()].empty());
}

TEST(RedisBus, OpenBusChoosesByKind) {
  BusConfig b;
  b.kind = "kafka?";
  EXPECT_EQ(OpenBus(b, LogOptions{}).status().code(), StatusCode::kInvalidArgument);
  b.kind = "redis";
  b.redis = FastOptions(FreshPrefix());
  Result<std::unique_ptr<Log>> log = OpenBus(b, LogOptions{});
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  EXPECT_TRUE((*log)->Append("orders", Rec("k", "v")).ok());
}

}  // namespace
}  // namespace tandem::bus_test
