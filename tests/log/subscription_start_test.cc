// Subscriptions for chained stages (issue 8 §4): a CloudEvents type filter,
// start from a position, start from a time, and a backlog with a maximum age.
// Filtered records are acknowledged without delivery, so lag still drains.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "log_test_util.h"
#include "tandem/log.h"

namespace tandem {
namespace {

using testing::AddConsumer;
using testing::LogEnv;
using testing::Opts;
using testing::PollN;
using testing::PollNone;
using testing::PollUntilQuiet;
using testing::Rec;

ProduceRecord Typed(std::string key, std::string value, std::string type) {
  ProduceRecord r = Rec(std::move(key), std::move(value));
  if (!type.empty()) r.headers.push_back({std::string(kCloudEventTypeHeader), std::move(type)});
  return r;
}

std::vector<std::string> Values(const std::vector<Message>& got) {
  std::vector<std::string> out;
  for (const Message& m : got) out.push_back(m.record.value);
  return out;
}

void AckAll(Consumer& c, const std::vector<Message>& got) {
  for (const Message& m : got) ASSERT_TRUE(c.Ack(m.id).ok());
}

uint64_t TotalLag(Subscription& s) {
  uint64_t lag = 0;
  for (const PartitionLag& l : s.Lag()) lag += l.lag();
  return lag;
}

TEST(SubscriptionFilters, TypeFilterDeliversOnlyMatchingTypesInOrderAndLagDrains) {
  LogEnv env;
  env.Open();
  // One key, so one partition: the delivered order is the log order.
  const char* types[] = {"tandem.graph.applied", "tandem.graph.deleted", "",
                         "tandem.graph.applied"};
  for (int i = 0; i < 40; ++i)
    env.Append("graph.applied", Typed("e1", std::to_string(i), types[i % 4]));
  auto sub = env.Subscribe(Opts("downstream", [](SubscriptionOptions& o) {
    o.topics = {"graph.applied"};
    o.ce_types = {"tandem.graph.applied"};
  }));
  auto c = AddConsumer(*sub, "c0");
  std::vector<Message> got = PollUntilQuiet(*c);
  std::vector<std::string> want;
  for (int i = 0; i < 40; ++i) {
    if (i % 4 == 0 || i % 4 == 3) want.push_back(std::to_string(i));
  }
  EXPECT_EQ(Values(got), want);
  AckAll(*c, got);
  EXPECT_EQ(TotalLag(*sub), 0u) << "filtered records must not pin the position";
}

TEST(SubscriptionFilters, StartPositionOverridesFromBeginningUntilAPositionIsCommitted) {
  LogEnv env;
  env.Open();
  AppendResult first{};
  for (int i = 0; i < 10; ++i) {
    AppendResult a = env.Append("person", Rec("p1", std::to_string(i)));
    if (i == 0) first = a;
  }
  auto opts = Opts("stage", [&](SubscriptionOptions& o) {
    o.topics = {"person"};
    o.start_positions = {{"person", first.partition, first.offset + 6}};
  });
  {
    auto sub = env.Subscribe(opts);
    auto c = AddConsumer(*sub, "c0");
    std::vector<Message> got = PollUntilQuiet(*c);
    EXPECT_EQ(Values(got), (std::vector<std::string>{"6", "7", "8", "9"}));
    ASSERT_EQ(got.size(), 4u);
    ASSERT_TRUE(c->Ack(got[0].id).ok());  // committed position becomes offset 7
    ASSERT_TRUE(sub->Commit().ok());
  }
  // Reopened: the committed position wins over start_positions.
  env.Append("person", Rec("p1", "10"));
  auto sub = env.Subscribe(opts);
  auto c = AddConsumer(*sub, "c0");
  EXPECT_EQ(Values(PollUntilQuiet(*c)), (std::vector<std::string>{"7", "8", "9", "10"}));
}

TEST(SubscriptionFilters, StartPositionIsClampedToTheRetainedRange) {
  LogEnv env;
  env.Open();
  AppendResult a = env.Append("person", Rec("p1", "only"));
  auto sub = env.Subscribe(Opts("stage", [&](SubscriptionOptions& o) {
    o.topics = {"person"};
    o.start_positions = {{"person", a.partition, 1000}};
  }));
  auto c = AddConsumer(*sub, "c0");
  EXPECT_TRUE(PollNone(*c).empty()) << "beyond the end starts at the end";
  env.Append("person", Rec("p1", "next"));
  EXPECT_EQ(Values(PollN(*c, 1)), (std::vector<std::string>{"next"}));
}

TEST(SubscriptionFilters, StartTimeSkipsOlderRecordsAcrossRestartsAndNewTopics) {
  LogEnv env;
  env.Open();
  for (int i = 0; i < 5; ++i)
    env.Append("person", Rec("p" + std::to_string(i), "old" + std::to_string(i)));
  env.clock().Advance(60'000'000);
  const int64_t start = env.clock().NowMicros();
  for (int i = 0; i < 5; ++i)
    env.Append("person", Rec("p" + std::to_string(i), "new" + std::to_string(i)));
  auto opts = Opts("from-time", [&](SubscriptionOptions& o) { o.start_time_us = start; });
  std::vector<std::string> seen;
  {
    auto sub = env.Subscribe(opts);
    auto c = AddConsumer(*sub, "c0");
    std::vector<Message> got = PollUntilQuiet(*c);
    for (const Message& m : got) seen.push_back(m.record.value);
    // Only the first is acked: the rest is redelivered after the restart.
    ASSERT_FALSE(got.empty());
    ASSERT_TRUE(c->Ack(got[0].id).ok());
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<std::string>{"new0", "new1", "new2", "new3", "new4"}));
  env.Reopen();
  env.Append("company", Rec("c1", "new-topic"));
  auto sub = env.Subscribe(opts);
  auto c = AddConsumer(*sub, "c0");
  std::vector<Message> got = PollUntilQuiet(*c);
  for (const Message& m : got) EXPECT_NE(m.record.value.substr(0, 3), "old") << m.record.value;
  EXPECT_EQ(got.size(), 5u) << "four unacked new records and the new topic's record";
  AckAll(*c, got);
  EXPECT_EQ(TotalLag(*sub), 0u);
}

TEST(SubscriptionFilters, MaxAgeProcessesOnlyTheRecentBacklog) {
  LogEnv env;
  env.Open();
  env.Append("person", Rec("p1", "two-hours-old"));
  env.clock().Advance(int64_t{3600} * 1'000'000);
  env.Append("person", Rec("p1", "one-hour-old"));
  env.clock().Advance(int64_t{3600} * 1'000'000);
  env.Append("person", Rec("p1", "fresh"));
  auto sub =
      env.Subscribe(Opts("backlog", [](SubscriptionOptions& o) { o.max_age_ms = 90 * 60 * 1000; }));
  auto c = AddConsumer(*sub, "c0");
  EXPECT_EQ(Values(PollUntilQuiet(*c)), (std::vector<std::string>{"one-hour-old", "fresh"}));
}

TEST(SubscriptionFilters, BadOptionsAreRefusedNamingTheField) {
  LogEnv env;
  env.Open();
  Result<std::unique_ptr<Subscription>> s =
      env.log().Subscribe(Opts("bad", [](SubscriptionOptions& o) { o.ce_types = {""}; }));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("ce_types"), std::string::npos) << s.status().ToString();
  s = env.log().Subscribe(Opts("bad", [](SubscriptionOptions& o) { o.start_time_us = -5; }));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("start_time_us"), std::string::npos);
}

}  // namespace
}  // namespace tandem
