// The graph leg end to end: the banking sample through Producer → log →
// graph leg → graph store; full replay into a fresh store; redelivery of
// duplicated records after lost acknowledgements; a crash between the
// store's commit and the ack; the leg's lifecycle.

#include <gtest/gtest.h>

#include "leg_test_util.h"
#include "test_sinks.h"

namespace tandem::leg_test {
namespace {

bool HasEdge(GraphStore& g, const std::string& from, const std::string& label,
             const std::string& to) {
  Result<std::vector<Edge>> edges = g.Neighbors(from, Direction::kOut, label, 1000);
  if (!edges.ok()) return false;
  for (const Edge& e : *edges) {
    if (e.to == to) return true;
  }
  return false;
}

StoreDigest DigestOf(Store& s) {
  Result<StoreDigest> d = s.Digest();
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return d.ok() ? *d : StoreDigest{};
}

// Runs a graph leg over `graph` until it caught up, stops it, returns its stats.
LegStats RunToCompletion(Log& log, GraphStore& graph, const LegOptions& o) {
  Result<std::unique_ptr<Leg>> leg = MakeGraphLeg(log, graph, o);
  EXPECT_TRUE(leg.ok()) << leg.status().ToString();
  if (!leg.ok()) return {};
  LEG_EXPECT_OK((*leg)->Start());
  LEG_EXPECT_OK((*leg)->WaitForCaughtUp(kWaitUs));
  LEG_EXPECT_OK((*leg)->Stop());
  return (*leg)->stats();
}

TEST(GraphLeg, BankingSampleReachesTheGraph) {
  LegEnv env;
  env.OpenLog();
  const std::vector<EntityEvent> sample = SampleEvents();
  env.Publish(sample);
  std::unique_ptr<GraphStore> graph = env.OpenGraph("graph");
  ASSERT_NE(graph, nullptr);

  const LegStats s = RunToCompletion(env.log(), *graph, TestLegOptions());

  EXPECT_TRUE(HasEdge(*graph, "p-1001", "owns", "a-3001"));
  EXPECT_TRUE(HasEdge(*graph, "c-2002", "owns", "a-3003"));
  EXPECT_TRUE(HasEdge(*graph, "a-3005", "sent", "t-4001"));
  EXPECT_TRUE(HasEdge(*graph, "t-4001", "received_by", "a-3001"));
  EXPECT_TRUE(HasEdge(*graph, "p-1004", "sent", "m-5001"));
  EXPECT_TRUE(HasEdge(*graph, "p-1005", "beneficial_owner_of", "c-2002"));
  EXPECT_TRUE(HasEdge(*graph, "p-1004", "director_of", "c-2003"));
  EXPECT_FALSE(HasEdge(*graph, "p-1003", "owns", "a-3008"));  // a-3008 was deleted
  Result<Vertex> p1001 = graph->GetVertex("p-1001");
  LEG_ASSERT_OK(p1001);
  EXPECT_EQ(p1001->version, 2);  // the v2 update came after the create
  EXPECT_NE(p1001->properties.find(R"("city":"Hamburg")"), std::string::npos);
  Result<std::map<std::string, uint64_t>> counts = graph->CountByLabel();
  LEG_ASSERT_OK(counts);
  EXPECT_EQ(*counts, (std::map<std::string, uint64_t>{{"_placeholder", 1},
                                                      {"account", 8},
                                                      {"communication", 5},
                                                      {"company", 3},
                                                      {"person", 7},
                                                      {"transaction", 14}}));
  LEG_EXPECT_OK(graph->CheckInvariants());
  EXPECT_EQ(DigestOf(*graph), ReferenceDigest(sample));

  EXPECT_EQ(s.consumed, kSampleRecords);
  EXPECT_EQ(s.applied, kSampleRecords);
  EXPECT_EQ(s.skipped() + s.dead_lettered() + s.nacked + s.transient_errors, 0u);
  EXPECT_EQ(graph->counters().applied, kSampleRecords);
  EXPECT_GE(s.sink_calls, 1u);
  EXPECT_EQ(s.batch_events, kSampleRecords);
  EXPECT_LE(s.max_batch_events, 16u);
  EXPECT_EQ(s.breaker_state, BreakerState::kClosed);
  ExpectBalanced(s);
}

TEST(GraphLeg, FullReplayFromOffsetZeroIntoAFreshStoreGivesTheSameDigest) {
  LegEnv env;
  env.OpenLog();
  env.Publish(SampleEvents());
  std::unique_ptr<GraphStore> live = env.OpenGraph("live");
  std::unique_ptr<GraphStore> rebuilt = env.OpenGraph("rebuilt");
  ASSERT_TRUE(live != nullptr && rebuilt != nullptr);

  RunToCompletion(env.log(), *live, TestLegOptions("graph"));
  LegOptions replay = TestLegOptions("graph-replay");
  replay.workers = 3;
  replay.max_batch_events = 5;
  const LegStats s = RunToCompletion(env.log(), *rebuilt, replay);

  EXPECT_EQ(s.applied, kSampleRecords);
  EXPECT_EQ(DigestOf(*rebuilt), DigestOf(*live));
  EXPECT_EQ(DigestOf(*rebuilt).entities, 37u);
  LEG_EXPECT_OK(rebuilt->CheckInvariants());
  ExpectBalanced(s);
}

TEST(GraphLeg, DuplicatedAndRedeliveredRecordsChangeNothing) {
  LegEnv env;
  env.log_options().dedup_window_ms = 0;  // the log keeps both copies
  env.OpenLog();
  const std::vector<EntityEvent> sample = SampleEvents();
  env.Publish(sample);
  env.Publish(sample);
  const uint64_t records = 2 * sample.size();
  std::unique_ptr<GraphStore> graph = env.OpenGraph("graph");
  ASSERT_NE(graph, nullptr);
  LegOptions o = TestLegOptions();
  o.commit_interval_us = 0;  // positions only at Start and Stop

  Result<std::unique_ptr<Leg>> first = MakeGraphLeg(env.log(), *graph, o);
  LEG_ASSERT_OK(first);
  LEG_ASSERT_OK((*first)->Start());
  LEG_ASSERT_OK((*first)->WaitForCaughtUp(kWaitUs));
  env.LoseUncommittedAcks();
  EXPECT_FALSE((*first)->Stop().ok());  // the commit cannot reach the disk
  const LegStats s1 = (*first)->stats();
  first->reset();
  EXPECT_EQ(s1.consumed, records);
  EXPECT_GE(s1.applied, kSampleRecords);
  EXPECT_GT(s1.skipped(), 0u);
  EXPECT_EQ(s1.applied + s1.skipped(), records);
  const StoreDigest before = DigestOf(*graph);
  EXPECT_EQ(before, ReferenceDigest(sample));

  // Restart: the log lost every ack, so everything is delivered again.
  env.RestartLog();
  graph.reset();
  graph = env.OpenGraph("graph");
  ASSERT_NE(graph, nullptr);
  const LegStats s2 = RunToCompletion(env.log(), *graph, o);
  EXPECT_EQ(s2.consumed, records);
  EXPECT_EQ(s2.applied, 0u);
  EXPECT_EQ(s2.skipped(), records);
  EXPECT_EQ(s2.redelivery_window_at_start, records);
  EXPECT_EQ(DigestOf(*graph), before);
  LEG_EXPECT_OK(graph->CheckInvariants());
  ExpectBalanced(s1);
  ExpectBalanced(s2);
}

TEST(GraphLeg, CrashBetweenStoreCommitAndAckAppliesNothingTwice) {
  LegEnv env;
  env.OpenLog();
  const std::vector<EntityEvent> sample = SampleEvents();
  env.Publish(sample);
  std::unique_ptr<GraphStore> graph = env.OpenGraph("graph");
  ASSERT_NE(graph, nullptr);
  LegOptions o = TestLegOptions();
  o.max_batch_events = 8;
  o.commit_interval_us = 1'000;  // positions move while the leg runs, up to the crash

  // The third sink call commits in the store, then the process "dies" before
  // the runtime can ack: the log keeps only the positions committed so far.
  std::unique_ptr<Sink> store_sink = NewStoreSink(*graph);
  CrashingSink crashing(*store_sink, 3, [&env] { env.LoseUncommittedAcks(); });
  Result<std::unique_ptr<Leg>> dying = NewLeg(env.log(), crashing, o);
  LEG_ASSERT_OK(dying);
  LEG_ASSERT_OK((*dying)->Start());
  ASSERT_TRUE(Eventually([&] { return crashing.dead(); }));
  (void)(*dying)->Stop();  // its commit fails: the process is dead
  const LegStats s1 = (*dying)->stats();
  dying->reset();
  store_sink.reset();
  const uint64_t committed_by_store = crashing.applied();
  EXPECT_LT(s1.applied, committed_by_store);  // the last committed batch was never acked

  env.RestartLog();
  graph.reset();
  graph = env.OpenGraph("graph");
  ASSERT_NE(graph, nullptr);
  const LegStats s2 = RunToCompletion(env.log(), *graph, o);

  // Every event took effect exactly once over the two lives of the leg.
  EXPECT_EQ(committed_by_store + s2.applied, kSampleRecords);
  EXPECT_GE(s2.skipped(), committed_by_store - s1.applied);
  EXPECT_GT(s2.redelivery_window_at_start, 0u);
  EXPECT_EQ(s2.dead_lettered(), 0u);
  EXPECT_EQ(DigestOf(*graph), ReferenceDigest(sample));
  LEG_EXPECT_OK(graph->CheckInvariants());
  ExpectBalanced(s2);
}

TEST(GraphLeg, StopCommitsPositionsSoARestartRedeliversNothing) {
  LegEnv env;
  env.OpenLog();
  env.Publish(SampleEvents());
  std::unique_ptr<GraphStore> graph = env.OpenGraph("graph");
  ASSERT_NE(graph, nullptr);
  LegOptions o = TestLegOptions();
  o.commit_interval_us = 0;
  RunToCompletion(env.log(), *graph, o);
  env.RestartLog();
  const LegStats again = RunToCompletion(env.log(), *graph, o);
  EXPECT_EQ(again.consumed, 0u);
  EXPECT_EQ(again.redelivery_window_at_start, 0u);
}

TEST(LegLifecycle, InvalidOptionsAreRefused) {
  LegEnv env;
  env.OpenLog();
  std::unique_ptr<GraphStore> graph = env.OpenGraph("graph");
  ASSERT_NE(graph, nullptr);
  std::unique_ptr<Sink> sink = NewStoreSink(*graph);
  auto refused = [&](LegOptions o) { return NewLeg(env.log(), *sink, o).status().code(); };
  LegOptions o = TestLegOptions();
  o.name = "";
  EXPECT_EQ(refused(o), StatusCode::kInvalidArgument);
  o = TestLegOptions();
  o.workers = 0;
  EXPECT_EQ(refused(o), StatusCode::kInvalidArgument);
  o = TestLegOptions();
  o.max_batch_events = 0;
  EXPECT_EQ(refused(o), StatusCode::kInvalidArgument);
  o = TestLegOptions();
  o.retry.max_attempts = 0;
  EXPECT_EQ(refused(o), StatusCode::kInvalidArgument);
  o = TestLegOptions();
  o.redelivery.max_deliveries = 0;
  EXPECT_EQ(refused(o), StatusCode::kInvalidArgument);
  o = TestLegOptions();
  o.retry.jitter = 1.5;
  EXPECT_EQ(refused(o), StatusCode::kInvalidArgument);
  EXPECT_EQ(NewLeg(env.log(), std::unique_ptr<Sink>(), TestLegOptions()).status().code(),
            StatusCode::kInvalidArgument);
  // MakeGraphLeg names the subscription "graph" by default.
  LegOptions unnamed = TestLegOptions();
  unnamed.name = "";
  Result<std::unique_ptr<Leg>> leg = MakeGraphLeg(env.log(), *graph, unnamed);
  LEG_ASSERT_OK(leg);
  EXPECT_EQ((*leg)->options().name, "graph");
}

TEST(LegLifecycle, OneSubscriptionOneRunningLeg) {
  LegEnv env;
  env.OpenLog();
  std::unique_ptr<GraphStore> graph = env.OpenGraph("graph");
  ASSERT_NE(graph, nullptr);
  Result<std::unique_ptr<Leg>> a = MakeGraphLeg(env.log(), *graph, TestLegOptions("graph"));
  Result<std::unique_ptr<Leg>> b = MakeGraphLeg(env.log(), *graph, TestLegOptions("graph"));
  LEG_ASSERT_OK(a);
  LEG_ASSERT_OK(b);
  EXPECT_EQ((*b)->WaitForCaughtUp(0).code(), StatusCode::kFailedPrecondition);  // not running
  EXPECT_TRUE((*b)->Lag().empty());
  LEG_ASSERT_OK((*a)->Start());
  EXPECT_EQ((*a)->Start().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ((*b)->Start().code(), StatusCode::kFailedPrecondition);  // name in use
  LEG_EXPECT_OK((*a)->WaitForCaughtUp(kWaitUs));                     // nothing published: lag 0
  LEG_EXPECT_OK((*a)->Stop());
  LEG_EXPECT_OK((*a)->Stop());                                       // idempotent
  EXPECT_EQ((*a)->Start().code(), StatusCode::kFailedPrecondition);  // not restartable
}

}  // namespace
}  // namespace tandem::leg_test
