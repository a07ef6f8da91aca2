// Transient failures: retried in the runtime with backoff, handed back to the
// log after the in-runtime budget, dead-lettered after every budget; an
// entity's later events never overtake an earlier one that must be retried.

#include <gtest/gtest.h>

#include "leg_test_util.h"
#include "test_sinks.h"

namespace tandem::leg_test {
namespace {

// Checks that every entity's events were applied in log order, each once.
void ExpectAppliedInLogOrder(const RecordingSink& rec, const std::vector<EntityEvent>& published) {
  std::map<std::string, size_t> expected;
  for (const EntityEvent& e : published) ++expected[e.entity_id];
  const std::map<std::string, std::vector<uint64_t>> applied = rec.applied();
  for (const auto& [id, offsets] : applied) {
    for (size_t i = 1; i < offsets.size(); ++i) {
      EXPECT_LT(offsets[i - 1], offsets[i]) << id << " applied out of log order";
    }
  }
  for (const auto& [id, n] : expected) {
    auto it = applied.find(id);
    EXPECT_TRUE(it != applied.end()) << id << " never applied";
  }
}

// The sample's entity with the most events, and how many it has.
std::pair<std::string, size_t> BusiestEntity(const std::vector<EntityEvent>& events) {
  std::map<std::string, size_t> n;
  std::set<std::string> seen_ids;
  for (const EntityEvent& e : events) {
    if (seen_ids.insert(e.event_id).second) ++n[e.entity_id];  // the log dedups re-sends
  }
  auto best = std::max_element(n.begin(), n.end(),
                               [](const auto& a, const auto& b) { return a.second < b.second; });
  return *best;
}

struct Rig {
  LegEnv env;
  std::vector<EntityEvent> sample;
  std::unique_ptr<GraphStore> graph;
  std::unique_ptr<Sink> store_sink;
  std::unique_ptr<FlakySink> flaky;
  std::unique_ptr<RecordingSink> recording;

  Rig() {
    env.OpenLog();
    sample = SampleEvents();
    env.Publish(sample);
    graph = env.OpenGraph("graph");
    store_sink = NewStoreSink(*graph);
    flaky = std::make_unique<FlakySink>(*store_sink);
    recording = std::make_unique<RecordingSink>(*flaky);
  }

  LegStats Run(const LegOptions& o) {
    Result<std::unique_ptr<Leg>> leg = NewLeg(env.log(), *recording, o);
    EXPECT_TRUE(leg.ok()) << leg.status().ToString();
    if (!leg.ok()) return {};
    LEG_EXPECT_OK((*leg)->Start());
    LEG_EXPECT_OK((*leg)->WaitForCaughtUp(kWaitUs));
    LEG_EXPECT_OK((*leg)->Stop());
    return (*leg)->stats();
  }
  StoreDigest Digest() {
    Result<StoreDigest> d = graph->Digest();
    EXPECT_TRUE(d.ok());
    return d.ok() ? *d : StoreDigest{};
  }
};

TEST(LegRetry, WholeBatchFailuresAreRetriedInTheRuntimeWithoutLoss) {
  Rig rig;
  rig.flaky->FailNextCalls(3);
  LegOptions o = TestLegOptions();
  o.retry.max_attempts = 10;  // more than the failures: nothing goes back to the log
  o.breaker.failure_threshold = 0;
  const LegStats s = rig.Run(o);

  EXPECT_EQ(s.sink_failures, 3u);
  EXPECT_GE(s.retries, 3u);
  EXPECT_GE(s.transient_errors, 3u);
  EXPECT_EQ(s.nacked, 0u);
  EXPECT_EQ(s.applied, kSampleRecords);
  EXPECT_EQ(s.dead_lettered(), 0u);
  EXPECT_EQ(rig.Digest(), ReferenceDigest(rig.sample));
  ExpectAppliedInLogOrder(*rig.recording, rig.sample);
  ExpectBalanced(s);
}

TEST(LegRetry, TransientErrorOfOneEventHoldsBackTheLaterEventsOfItsEntity) {
  Rig rig;
  const auto [entity, events] = BusiestEntity(rig.sample);
  ASSERT_GE(events, 3u);
  rig.flaky->FailEntity(entity, 2);
  LegOptions o = TestLegOptions();
  o.workers = 1;
  o.max_batch_events = 100;  // the whole sample is one batch
  const LegStats s = rig.Run(o);

  EXPECT_EQ(s.transient_errors, 2u);
  EXPECT_EQ(s.held_back, 2 * (events - 1));  // its followers waited in both failed calls
  EXPECT_EQ(s.retries, 2u);
  EXPECT_EQ(s.nacked, 0u);
  EXPECT_EQ(s.applied, kSampleRecords);
  EXPECT_EQ(rig.recording->applied()[entity].size(), events);
  EXPECT_EQ(rig.Digest(), ReferenceDigest(rig.sample));
  ExpectAppliedInLogOrder(*rig.recording, rig.sample);
  ExpectBalanced(s);
}

TEST(LegRetry, SpentRuntimeBudgetHandsTheEntityBackToTheLogInOrder) {
  Rig rig;
  const auto [entity, events] = BusiestEntity(rig.sample);
  rig.flaky->FailEntity(entity, 3);
  LegOptions o = TestLegOptions();
  o.workers = 1;
  o.max_batch_events = 100;
  o.retry.max_attempts = 2;  // two calls, then Nack; the redelivery fails once more
  const LegStats s = rig.Run(o);

  EXPECT_EQ(s.transient_errors, 3u);
  EXPECT_EQ(s.nacked, events);  // the failing head and its held-back followers, once
  EXPECT_EQ(s.consumed, kSampleRecords + events);
  EXPECT_EQ(s.applied, kSampleRecords);
  EXPECT_EQ(s.dead_lettered(), 0u);
  EXPECT_EQ(rig.recording->applied()[entity].size(), events);
  EXPECT_EQ(rig.Digest(), ReferenceDigest(rig.sample));
  ExpectAppliedInLogOrder(*rig.recording, rig.sample);
  ExpectBalanced(s);
}

TEST(LegRetry, EventFailingPastEveryBudgetIsDeadLetteredAndItsEntityMovesOn) {
  Rig rig;
  const auto [entity, events] = BusiestEntity(rig.sample);
  const EntityEvent* head = nullptr;
  for (const EntityEvent& e : rig.sample) {
    if (e.entity_id == entity && head == nullptr) head = &e;
  }
  ASSERT_NE(head, nullptr);
  rig.flaky->FailEvent(head->event_id, 1000);
  LegOptions o = TestLegOptions();
  o.workers = 1;
  o.max_batch_events = 100;
  o.retry.max_attempts = 1;
  o.redelivery.max_deliveries = 2;
  const LegStats s = rig.Run(o);

  EXPECT_EQ(s.dead_lettered_exhausted, 1u);
  EXPECT_EQ(s.nacked, events);  // after the first delivery: head and followers
  EXPECT_EQ(s.applied, kSampleRecords - 1);
  EXPECT_EQ(rig.recording->applied()[entity].size(), events - 1);  // the followers did apply
  const std::vector<Record> dlq = rig.env.ReadAll(head->entity_type + ".dlq");
  ASSERT_EQ(dlq.size(), 1u);
  EXPECT_EQ(dlq[0].id, head->event_id);
  EXPECT_EQ(dlq[0].key, entity);
  EXPECT_EQ(HeaderOf(dlq[0], "dlq.reason"),
            "retries_exhausted: 2 deliveries: flaky sink: injected transient error");
  EXPECT_EQ(HeaderOf(dlq[0], "dlq.subscription"), "graph");
  EXPECT_EQ(HeaderOf(dlq[0], "dlq.delivery_count"), "2");
  LEG_EXPECT_OK(rig.graph->CheckInvariants());
  ExpectBalanced(s);
}

// A store records the highest offset it handled per partition, not a
// contiguous prefix: an event below it may still be unapplied. Skipping
// redeliveries by that position would lose this event.
TEST(LegRetry, TransientlyFailedEventBelowTheSinksRecordedPositionIsStillApplied) {
  LegEnv env;
  env.OpenLog();
  std::string first, second;  // two persons in one partition
  for (int i = 0; second.empty(); ++i) {
    const std::string id = "p-" + std::to_string(i);
    if (first.empty()) {
      first = id;
    } else if (PartitionForKey(id, kPartitions) == PartitionForKey(first, kPartitions)) {
      second = id;
    }
  }
  EventParser parser(SystemClock());
  std::vector<EntityEvent> events;
  for (const std::string& id : {first, second}) {
    Result<EntityEvent> e = parser.Parse(R"({"event_type":"create","entity_type":"person",)"
                                         R"("entity_id":")" +
                                         id + R"(","payload":{"n":1}})");
    LEG_ASSERT_OK(e);
    events.push_back(*e);
  }
  env.Publish(events);
  std::unique_ptr<GraphStore> graph = env.OpenGraph("graph");
  std::unique_ptr<Sink> store_sink = NewStoreSink(*graph);
  FlakySink flaky(*store_sink);
  flaky.FailEntity(first, 1);
  LegOptions o = TestLegOptions();
  o.workers = 1;
  o.retry.max_attempts = 1;  // straight back to the log
  Result<std::unique_ptr<Leg>> leg = NewLeg(env.log(), flaky, o);
  LEG_ASSERT_OK(leg);
  LEG_ASSERT_OK((*leg)->Start());
  LEG_ASSERT_OK((*leg)->WaitForCaughtUp(kWaitUs));
  LEG_ASSERT_OK((*leg)->Stop());
  const LegStats s = (*leg)->stats();

  EXPECT_EQ(s.nacked, 1u);
  EXPECT_EQ(s.applied, 2u);
  EXPECT_EQ(s.skipped(), 0u);
  EXPECT_TRUE(graph->GetVertex(first).ok());
  Result<PositionMap> positions = graph->Positions();
  LEG_ASSERT_OK(positions);
  const TopicPartition tp{"person", PartitionForKey(first, kPartitions)};
  EXPECT_EQ((*positions)[tp], 1u);
  ExpectBalanced(s);
}

}  // namespace
}  // namespace tandem::leg_test
