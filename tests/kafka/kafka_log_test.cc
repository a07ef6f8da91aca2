// The Kafka bus against librdkafka's mock cluster (a separate process): the
// produce path (partition by key with Kafka's murmur2, offsets from delivery
// reports, dedup by id, limits), reads, and subscriptions (per-key order,
// commits that survive a reopen, nack redelivery, dead letters, consumers
// leaving, lag).

#include <gtest/gtest.h>

#include <librdkafka/rdkafka.h>

#include <set>

#include "kafka_test_util.h"

namespace tandem::kafka_test {
namespace {

#define KAFKA_ASSERT_OK(expr)                                   \
  do {                                                          \
    const auto& _r = (expr);                                    \
    ASSERT_TRUE(_r.ok()) << _r.status().ToString();             \
  } while (0)
#define KAFKA_ASSERT_STATUS_OK(expr)            \
  do {                                          \
    const Status _s = (expr);                   \
    ASSERT_TRUE(_s.ok()) << _s.ToString();      \
  } while (0)

class KafkaLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(cluster_.bootstrap().empty()) << "kafka_mock did not start";
    Result<std::unique_ptr<Log>> log = OpenKafkaLog(cluster_.Options());
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(log).value();
  }
  void TearDown() override {
    if (log_ != nullptr) {
      EXPECT_TRUE(log_->Close().ok());
    }
  }

  // Appends `n` records: key "k<i % keys>", value "v<i>", id "id-<i>".
  std::vector<AppendResult> AppendMany(const std::string& topic, int n, int keys) {
    std::vector<ProduceRecord> recs;
    for (int i = 0; i < n; ++i) {
      recs.push_back(ProduceRecord{"k" + std::to_string(i % keys), "v" + std::to_string(i),
                                   "id-" + std::to_string(i), {}, 0});
    }
    std::vector<AppendResult> results;
    Status s = log_->AppendBatch(topic, recs, &results);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return results;
  }

  MockCluster cluster_;
  std::unique_ptr<Log> log_;
};

TEST(KafkaPartitioner, MatchesKafkasMurmur2) {
  // The Java client's murmur2 test vectors (also librdkafka's rdmurmur2.c);
  // the partition is (murmur2(key) & 0x7fffffff) % n, so with n = 2^31 - 1
  // it is the masked hash itself.
  const std::pair<const char*, uint32_t> vectors[] = {
      {"kafka", 0xd067cf64u}, {"giberish123456789", 0x8f552b0cu}, {"1234", 0x9fc97b14u},
      {"234", 0xe7c009cau},   {"34", 0x873930dau},                {"4", 0x5a4b5ca1u},
      {"PreAmbleWillBeRemoved,ThePrePartThatIs", 0x78424f1cu}};
  for (const auto& [key, hash] : vectors) {
    EXPECT_EQ(KafkaPartitionForKey(key, 0x7fffffff), (hash & 0x7fffffffu) % 0x7fffffffu) << key;
  }
  EXPECT_EQ(KafkaPartitionForKey("", 4), 0u) << "an empty key goes to partition 0";
  std::set<uint32_t> seen;
  for (int i = 0; i < 200; ++i) seen.insert(KafkaPartitionForKey("person-" + std::to_string(i), 8));
  EXPECT_EQ(seen.size(), 8u) << "keys spread over every partition";
}

TEST(KafkaOpen, RefusesMissingBootstrap) {
  Result<std::unique_ptr<Log>> log = OpenKafkaLog(KafkaOptions{});
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(log.status().message().find("bootstrap_servers"), std::string::npos);
}

TEST(KafkaOpen, NoBrokerIsUnavailable) {
  KafkaOptions o;
  o.bootstrap_servers = "127.0.0.1:1";
  o.request_timeout_ms = 500;
  Result<std::unique_ptr<Log>> log = OpenKafkaLog(o);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), StatusCode::kUnavailable) << log.status().ToString();
}

TEST_F(KafkaLogTest, BrokerAutoCreationTakesTheBrokersPartitionCount) {
  KafkaOptions o = cluster_.Options();
  o.create_topic_fn = nullptr;
  o.topic_creation = KafkaTopicCreation::kBrokerAuto;
  Result<std::unique_ptr<Log>> auto_log = OpenKafkaLog(o);
  KAFKA_ASSERT_OK(auto_log);
  // The mock broker's num.partitions is 4.
  KAFKA_ASSERT_STATUS_OK((*auto_log)->CreateTopic("person", TopicOptions{4}));
  EXPECT_EQ((*auto_log)->CreateTopic("person", TopicOptions{4}).code(),
            StatusCode::kAlreadyExists);
  // It cannot choose another partition count: asking for one is refused, not ignored.
  EXPECT_EQ((*auto_log)->CreateTopic("company", TopicOptions{6}).code(),
            StatusCode::kInvalidArgument);
  KAFKA_ASSERT_OK((*auto_log)->Append("account", ProduceRecord{"a", "b", "", {}, 0}));
  KAFKA_ASSERT_OK((*auto_log)->PartitionFor("account", "a"));
  KAFKA_ASSERT_STATUS_OK((*auto_log)->Close());
}

TEST_F(KafkaLogTest, AppendPartitionsByKeyAndAssignsOffsets) {
  std::vector<AppendResult> results = AppendMany("person", 40, 10);
  ASSERT_EQ(results.size(), 40u);
  std::map<uint32_t, uint64_t> next;
  for (int i = 0; i < 40; ++i) {
    const std::string key = "k" + std::to_string(i % 10);
    EXPECT_EQ(results[i].partition, KafkaPartitionForKey(key, 4));
    Result<uint32_t> p = log_->PartitionFor("person", key);
    KAFKA_ASSERT_OK(p);
    EXPECT_EQ(*p, results[i].partition);
    EXPECT_EQ(results[i].offset, next[results[i].partition]++) << "offsets are dense per partition";
    EXPECT_FALSE(results[i].duplicate);
  }
  Result<TopicStats> st = log_->Stats("person");
  KAFKA_ASSERT_OK(st);
  EXPECT_EQ(st->records(), 40u);
}

TEST_F(KafkaLogTest, DuplicateIdIsAcknowledgedWithTheOriginalOffset) {
  ProduceRecord r{"p-1", R"({"a":1})", "evt-1", {}, 0};
  Result<AppendResult> first = log_->Append("person", r);
  KAFKA_ASSERT_OK(first);
  Result<AppendResult> again = log_->Append("person", r);
  KAFKA_ASSERT_OK(again);
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->offset, first->offset);
  EXPECT_EQ(again->partition, first->partition);
  // Within one batch too.
  std::vector<ProduceRecord> batch = {{"p-2", "x", "evt-2", {}, 0}, {"p-2", "x", "evt-2", {}, 0}};
  std::vector<AppendResult> results;
  KAFKA_ASSERT_STATUS_OK(log_->AppendBatch("person", batch, &results));
  EXPECT_FALSE(results[0].duplicate);
  EXPECT_TRUE(results[1].duplicate);
  EXPECT_EQ(results[1].offset, results[0].offset);
  Result<TopicStats> st = log_->Stats("person");
  KAFKA_ASSERT_OK(st);
  EXPECT_EQ(st->records(), 2u);
}

TEST_F(KafkaLogTest, TooLargeRecordIsRefused) {
  ProduceRecord r{"k", std::string((1u << 20) + (64u << 10) + 1, 'x'), "", {}, 0};
  EXPECT_EQ(log_->Append("person", r).status().code(), StatusCode::kTooLarge);
}

TEST_F(KafkaLogTest, TwoProcessesOfOneGroupShareThePartitions) {
  // A second "process": its own Log (producer, consumer group member).
  Result<std::unique_ptr<Log>> other = OpenKafkaLog(cluster_.Options());
  KAFKA_ASSERT_OK(other);
  Result<std::unique_ptr<Subscription>> s1 = log_->Subscribe(TestSubscription("shared", {"person"}));
  Result<std::unique_ptr<Subscription>> s2 =
      (*other)->Subscribe(TestSubscription("shared", {"person"}));
  KAFKA_ASSERT_OK(s1);
  KAFKA_ASSERT_OK(s2);
  Result<std::unique_ptr<Consumer>> c1 = (*s1)->AddConsumer("a");
  Result<std::unique_ptr<Consumer>> c2 = (*s2)->AddConsumer("b");
  KAFKA_ASSERT_OK(c1);
  KAFKA_ASSERT_OK(c2);
  // Rounds of 16 keys until both members received records (one member may
  // hold every partition until the group has rebalanced). A rebalance may
  // hand a partition over once, so a value can come twice, but every
  // appended value comes.
  std::map<std::string, std::set<std::string>> keys_of;  // member → keys
  std::set<std::string> values;
  size_t appended = 0;
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  while ((values.size() < appended || keys_of["a"].empty() || keys_of["b"].empty()) &&
         std::chrono::steady_clock::now() < deadline) {
    if (values.size() == appended) {
      for (int k = 0; k < 16; ++k, ++appended) {
        KAFKA_ASSERT_OK(log_->Append("person", ProduceRecord{"k" + std::to_string(k),
                                                             "v" + std::to_string(appended),
                                                             "", {}, 0}));
      }
    }
    for (auto& [name, c] : {std::pair{"a", c1->get()}, std::pair{"b", c2->get()}}) {
      Result<std::vector<Message>> ms = c->Poll(100, 50'000);
      KAFKA_ASSERT_OK(ms);
      for (const Message& m : *ms) {
        values.insert(m.record.value);
        keys_of[name].insert(m.record.key);
        KAFKA_ASSERT_STATUS_OK(c->Ack(m.id));
      }
    }
  }
  EXPECT_EQ(values.size(), appended);
  // Kafka's group split the 4 partitions between the two members.
  EXPECT_FALSE(keys_of["a"].empty());
  EXPECT_FALSE(keys_of["b"].empty());
  c2->reset();
  s2->reset();
  EXPECT_TRUE((*other)->Close().ok());
}

TEST_F(KafkaLogTest, CloudEventTypeFilterAcknowledgesOthersWithoutDelivery) {
  auto rec = [](std::string value, std::string type) {
    ProduceRecord r{"k", std::move(value), "", {}, 0};
    if (!type.empty()) r.headers.push_back({std::string(kCloudEventTypeHeader), std::move(type)});
    return r;
  };
  KAFKA_ASSERT_OK(log_->Append("person", rec("a", "com.example.person.created")));
  KAFKA_ASSERT_OK(log_->Append("person", rec("b", "com.example.person.deleted")));
  KAFKA_ASSERT_OK(log_->Append("person", rec("c", "")));
  KAFKA_ASSERT_OK(log_->Append("person", rec("d", "com.example.person.created")));
  SubscriptionOptions so = TestSubscription("typed", {"person"});
  so.ce_types = {"com.example.person.created"};
  Result<std::unique_ptr<Subscription>> sub = log_->Subscribe(so);
  KAFKA_ASSERT_OK(sub);
  Result<std::unique_ptr<Consumer>> c = (*sub)->AddConsumer("c");
  KAFKA_ASSERT_OK(c);
  std::vector<Message> ms = PollN(**c, 2);
  ASSERT_EQ(ms.size(), 2u);
  EXPECT_EQ(ms[0].record.value, "a");
  EXPECT_EQ(ms[1].record.value, "d");
  for (const Message& m : ms) KAFKA_ASSERT_STATUS_OK((*c)->Ack(m.id));
  KAFKA_ASSERT_STATUS_OK((*sub)->Commit());
  uint64_t lag = 0;
  for (const PartitionLag& l : (*sub)->Lag()) lag += l.lag();
  EXPECT_EQ(lag, 0u) << "filtered records count as acknowledged";
}

}  // namespace
}  // namespace tandem::kafka_test
