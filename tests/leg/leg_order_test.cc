// Several workers: per-entity order holds under retries and redeliveries,
// and the in-flight budget bounds what the workers hold (backpressure).

#include <gtest/gtest.h>

#include "leg_test_util.h"
#include "test_sinks.h"

namespace tandem::leg_test {
namespace {

// `entities` entities of two types, each updated `updates` times; every update
// adds its own member, so the end state holds every update exactly when each
// was applied (a store refuses an older offset after a newer one as stale).
std::vector<EntityEvent> UpdateWorkload(int entities, int updates) {
  EventParser parser(SystemClock());
  std::vector<EntityEvent> out;
  for (int u = 0; u < updates; ++u) {
    for (int i = 0; i < entities; ++i) {
      const std::string type = i % 2 == 0 ? "person" : "company";
      const std::string json = R"({"event_type":"update","entity_type":")" + type +
                               R"(","entity_id":"e-)" + std::to_string(i) + R"(","payload":{"u)" +
                               std::to_string(u) + R"(":)" + std::to_string(u) + R"(,"last":)" +
                               std::to_string(u) + "}}";
      Result<EntityEvent> e = parser.Parse(json);
      EXPECT_TRUE(e.ok()) << e.status().ToString();
      if (e.ok()) out.push_back(*e);
    }
  }
  return out;
}

TEST(LegOrder, SeveralWorkersKeepPerEntityOrderUnderRetriesAndRedeliveries) {
  constexpr int kEntities = 40, kUpdates = 15;
  LegEnv env;
  env.OpenLog();
  const std::vector<EntityEvent> events = UpdateWorkload(kEntities, kUpdates);
  env.Publish(events);
  std::unique_ptr<GraphStore> graph = env.OpenGraph("graph");
  std::unique_ptr<Sink> store_sink = NewStoreSink(*graph);
  FlakySink flaky(*store_sink);
  RecordingSink recording(flaky);
  flaky.FailNextCalls(4);
  for (int i = 0; i < kEntities; i += 3) flaky.FailEntity("e-" + std::to_string(i), 1 + i % 4);
  LegOptions o = TestLegOptions();
  o.workers = 3;
  o.max_batch_events = 24;
  o.retry.max_attempts = 2;  // entities failing 2+ times go back through the log
  o.breaker.failure_threshold = 0;
  Result<std::unique_ptr<Leg>> leg = NewLeg(env.log(), recording, o);
  LEG_ASSERT_OK(leg);
  LEG_ASSERT_OK((*leg)->Start());
  LEG_ASSERT_OK((*leg)->WaitForCaughtUp(kWaitUs));
  LEG_ASSERT_OK((*leg)->Stop());
  const LegStats s = (*leg)->stats();

  const auto applied = recording.applied();
  ASSERT_EQ(applied.size(), static_cast<size_t>(kEntities));
  for (const auto& [id, offsets] : applied) {
    ASSERT_EQ(offsets.size(), static_cast<size_t>(kUpdates)) << id;
    for (size_t k = 1; k < offsets.size(); ++k) {
      EXPECT_LT(offsets[k - 1], offsets[k]) << id << " applied out of log order";
    }
  }
  EXPECT_EQ(s.applied, events.size());
  EXPECT_EQ(s.skipped() + s.dead_lettered(), 0u);  // nothing was refused as stale
  EXPECT_GT(s.nacked, 0u);
  EXPECT_GT(s.held_back, 0u);
  Result<StoreDigest> d = graph->Digest();
  LEG_ASSERT_OK(d);
  EXPECT_EQ(*d, ReferenceDigest(events));
  LEG_EXPECT_OK(graph->CheckInvariants());
  ExpectBalanced(s);
}

TEST(LegBackpressure, WorkersNeverHoldMoreThanTheInFlightBudget) {
  LegEnv env;
  env.OpenLog();
  const std::vector<EntityEvent> events = UpdateWorkload(30, 2);
  env.Publish(events);
  std::unique_ptr<GraphStore> graph = env.OpenGraph("graph");
  std::unique_ptr<Sink> store_sink = NewStoreSink(*graph);
  BlockingSink blocking(*store_sink);
  LegOptions o = TestLegOptions();
  o.workers = 2;
  o.max_batch_events = 500;
  o.max_in_flight_events = 4;
  Result<std::unique_ptr<Leg>> leg = NewLeg(env.log(), blocking, o);
  LEG_ASSERT_OK(leg);
  LEG_ASSERT_OK((*leg)->Start());
  ASSERT_TRUE(blocking.WaitEntered(std::chrono::seconds(60)));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // give a leak time to show
  EXPECT_LE((*leg)->stats().consumed, 4u);
  blocking.Release();
  LEG_ASSERT_OK((*leg)->WaitForCaughtUp(kWaitUs));
  LEG_ASSERT_OK((*leg)->Stop());
  const LegStats s = (*leg)->stats();
  EXPECT_EQ(s.applied, events.size());
  EXPECT_LE(s.max_batch_events, 2u);  // each worker holds at most its share: 4 / 2
  ExpectBalanced(s);
}

}  // namespace
}  // namespace tandem::leg_test
