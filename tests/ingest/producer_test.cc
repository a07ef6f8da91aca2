#include "tandem/producer.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "tandem/env.h"

namespace tandem {
namespace {

class ProducerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs_ = NewMemFileSystem();
    LogOptions o;
    o.dir = "/log";
    o.fs = fs_.get();
    o.clock = &clock_;
    o.default_partitions = 4;
    Result<std::unique_ptr<Log>> log = Log::Open(o);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(*log);
  }

  EntityEvent Event(std::string type, std::string id, std::string event_id) {
    EntityEvent e;
    e.event_id = std::move(event_id);
    e.event_type = EventType::kUpsert;
    e.entity_type = std::move(type);
    e.entity_id = std::move(id);
    e.payload = R"({"name":"x"})";
    e.timestamp = "2026-01-01T00:00:00Z";
    e.timestamp_us = 1767225600000000;
    return e;
  }

  std::vector<Record> ReadAll(const std::string& topic) {
    std::vector<Record> all;
    Result<TopicStats> st = log_->Stats(topic);
    EXPECT_TRUE(st.ok());
    if (!st.ok()) return all;
    for (const PartitionStats& ps : st->partitions) {
      std::vector<Record> recs;
      EXPECT_TRUE(log_->Read(topic, ps.partition, 0, 1 << 20, &recs).ok());
      all.insert(all.end(), recs.begin(), recs.end());
    }
    return all;
  }

  ManualClock clock_;
  std::unique_ptr<FileSystem> fs_;
  std::unique_ptr<Log> log_;
};

TEST_F(ProducerTest, EventGoesToItsTypeTopicKeyedByEntityId) {
  EntityEvent e = Event("person", "p-1", "evt-1");
  Result<AppendResult> r = Producer(*log_).Publish(e);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  Result<uint32_t> part = log_->PartitionFor("person", "p-1");
  ASSERT_TRUE(part.ok());
  EXPECT_EQ(r->partition, *part);
  std::vector<Record> recs = ReadAll("person");
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].key, "p-1");
  EXPECT_EQ(recs[0].id, "evt-1");
  EXPECT_EQ(recs[0].value, Serialize(e));
}

TEST_F(ProducerTest, BatchSpansTopicsAndKeepsInputOrderInResults) {
  std::vector<EntityEvent> events;
  for (int i = 0; i < 30; ++i) {
    events.push_back(Event(i % 3 == 0 ? "account" : "person", "e" + std::to_string(i),
                           "evt-" + std::to_string(i)));
  }
  std::vector<AppendResult> results;
  ASSERT_TRUE(Producer(*log_).PublishBatch(events, &results).ok());
  ASSERT_EQ(results.size(), events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    std::vector<Record> recs;
    ASSERT_TRUE(log_->Read(events[i].entity_type, results[i].partition, results[i].offset, 1,
                           &recs)
                    .ok());
    ASSERT_FALSE(recs.empty());
    EXPECT_EQ(recs[0].id, events[i].event_id) << "result " << i << " points at another record";
  }
  EXPECT_EQ(ReadAll("account").size(), 10u);
  EXPECT_EQ(ReadAll("person").size(), 20u);
}

TEST_F(ProducerTest, RepublishedEventIsAcknowledgedWithOriginalOffset) {
  Producer p(*log_);
  Result<AppendResult> first = p.Publish(Event("person", "p-1", "evt-1"));
  Result<AppendResult> again = p.Publish(Event("person", "p-1", "evt-1"));
  ASSERT_TRUE(first.ok() && again.ok());
  EXPECT_FALSE(first->duplicate);
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->offset, first->offset);
  EXPECT_EQ(ReadAll("person").size(), 1u);
}

TEST_F(ProducerTest, NdjsonRejectsBadLinesByNumberAndAppendsTheRest) {
  std::istringstream in(
      R"({"event_type":"create","entity_type":"person","entity_id":"p1","event_id":"a"})"
      "\n\n"
      R"({"event_type":"merge","entity_type":"person","entity_id":"p2"})"
      "\n"
      R"({"event_type":"delete","entity_type":"person","entity_id":"p3","event_id":"b"})"
      "\n"
      R"({"event_type":"create","entity_type":"person","entity_id":"p1","event_id":"a"})"
      "\n");
  Result<IngestSummary> sum = IngestNdjson(*log_, in, 2);
  ASSERT_TRUE(sum.ok()) << sum.status().ToString();
  EXPECT_EQ(sum->appended, 2u);
  EXPECT_EQ(sum->duplicates, 1u);
  ASSERT_EQ(sum->rejected.size(), 1u);
  EXPECT_EQ(sum->rejected[0].rfind("line 3: event_type:", 0), 0u) << sum->rejected[0];
  EXPECT_EQ(ReadAll("person").size(), 2u);
}

TEST_F(ProducerTest, BankingSampleIngestsIntoOneTopicPerEntityType) {
  std::ifstream in(TANDEM_BANKING_SAMPLE);
  ASSERT_TRUE(in.good());
  Result<IngestSummary> sum = IngestNdjson(*log_, in);
  ASSERT_TRUE(sum.ok()) << sum.status().ToString();
  EXPECT_TRUE(sum->rejected.empty()) << sum->rejected[0];
  EXPECT_GT(sum->appended, 40u);
  EXPECT_GE(sum->duplicates, 1u) << "the sample carries deliberate duplicates";
  std::vector<std::string> topics = log_->ListTopics();
  std::set<std::string> set(topics.begin(), topics.end());
  for (const char* t : {"person", "company", "account", "transaction", "communication"}) {
    EXPECT_TRUE(set.count(t)) << "missing topic " << t;
  }
}

}  // namespace
}  // namespace tandem
