// The vector leg with the real HTTP embedder against a local
// OpenAI-compatible server (tests/embed/fake_openai_server.h): HTTP 500s
// open the leg's breaker and lose nothing; timeouts are retried and lose
// nothing; a server
// answering with the wrong dimension dead-letters the events with a reason
// naming both dimensions, and nothing of them is applied.

#include <gtest/gtest.h>

#include "../embed/fake_openai_server.h"
#include "../leg/leg_test_util.h"
#include "vector_test_util.h"

namespace tandem::vector_test {
namespace {

using leg_test::Eventually;
using leg_test::ExpectBalanced;
using leg_test::HeaderOf;
using leg_test::kWaitUs;
using leg_test::LegEnv;
using leg_test::TestLegOptions;

std::vector<EntityEvent> People(size_t n) {
  std::vector<EntityEvent> out;
  for (size_t i = 0; i < n; ++i) {
    EntityEvent e;
    e.event_id = "e-" + std::to_string(i);
    e.event_type = EventType::kUpsert;
    e.entity_type = "person";
    e.entity_id = "p-" + std::to_string(i);
    e.payload = "{\"name\":\"Person Number " + std::to_string(i) + "\"}";
    e.timestamp = "2024-03-01T00:00:00Z";
    out.push_back(std::move(e));
  }
  return out;
}

HttpEmbedderOptions HttpOptions(const testing::FakeOpenAiServer& server, Clock* clock) {
  HttpEmbedderOptions o;
  o.url = server.url();
  o.model = "m1";
  o.dimension = kDim;
  o.max_attempts = 2;
  o.timeout_us = 200'000;  // the hang test waits this long per attempt (real time)
  o.breaker_failure_threshold = 0;  // the leg's breaker is the one under test here
  o.clock = clock;
  return o;
}

TEST(VectorHttpLeg, ServerErrorsOpenTheBreakerAndLoseNothing) {
  testing::FakeOpenAiServer server(kDim);
  server.fail_with_500 = 1'000'000;  // down until the test says otherwise
  LegEnv env;
  env.OpenLog();
  const std::vector<EntityEvent> events = People(40);
  env.Publish(events);
  ManualClock clock;  // embedder backoff and the leg's breaker
  std::unique_ptr<Embedder> embedder = NewHttpEmbedder(HttpOptions(server, &clock)).value();
  TempDir dir;
  std::unique_ptr<VectorStore> store = Open(StoreOptions(dir.path() + "/v", embedder.get()));
  ASSERT_NE(store, nullptr);

  LegOptions o = TestLegOptions("vector");
  o.workers = 1;
  o.clock = &clock;
  o.breaker.failure_threshold = 3;
  o.breaker.open_duration_us = 1'000'000;
  o.retry.max_attempts = 1000;  // keep the batch in the runtime
  Result<std::unique_ptr<Leg>> leg = MakeVectorLeg(env.log(), *store, o);
  LEG_ASSERT_OK(leg);
  LEG_ASSERT_OK((*leg)->Start());
  ASSERT_TRUE(Eventually([&] { return (*leg)->stats().breaker_state == BreakerState::kOpen; }));
  const size_t requests_when_open = server.requests();
  EXPECT_GE(requests_when_open, 6u);  // 3 failed sink calls × 2 attempts each
  EXPECT_EQ(store->Digest()->entities, 0u);

  server.fail_with_500 = 0;  // back
  clock.Advance(o.breaker.open_duration_us);
  LEG_ASSERT_OK((*leg)->WaitForCaughtUp(kWaitUs));
  LEG_ASSERT_OK((*leg)->Stop());
  const LegStats s = (*leg)->stats();
  EXPECT_EQ(s.applied, events.size());
  EXPECT_EQ(s.dead_lettered(), 0u);
  EXPECT_GE(s.breaker_opens, 1u);
  ExpectBalanced(s);
  EXPECT_EQ(*store->Digest(), leg_test::ReferenceDigest(events));
  EXPECT_EQ(store->IndexSizes().at("person"), events.size());
  EXPECT_GE(store->vector_counters().embedder_failures, 3u);
  STORE_EXPECT_OK(store->CheckInvariants());
}

TEST(VectorHttpLeg, TimeoutsAreRetriedAndLoseNothing) {
  testing::FakeOpenAiServer server(kDim);
  server.hang = 3;  // the first three requests outlast the 200 ms timeout
  LegEnv env;
  env.OpenLog();
  const std::vector<EntityEvent> events = People(20);
  env.Publish(events);
  ManualClock clock;
  std::unique_ptr<Embedder> embedder = NewHttpEmbedder(HttpOptions(server, &clock)).value();
  TempDir dir;
  std::unique_ptr<VectorStore> store = Open(StoreOptions(dir.path() + "/v", embedder.get()));
  ASSERT_NE(store, nullptr);
  LegOptions o = TestLegOptions("vector");
  o.workers = 1;
  o.clock = &clock;
  o.breaker.failure_threshold = 0;  // never opens: every retry reaches the server
  o.retry.max_attempts = 1000;
  Result<std::unique_ptr<Leg>> leg = MakeVectorLeg(env.log(), *store, o);
  LEG_ASSERT_OK(leg);
  LEG_ASSERT_OK((*leg)->Start());
  LEG_ASSERT_OK((*leg)->WaitForCaughtUp(kWaitUs));
  server.Release();
  LEG_ASSERT_OK((*leg)->Stop());
  const LegStats s = (*leg)->stats();
  EXPECT_EQ(s.applied, events.size());
  EXPECT_EQ(s.dead_lettered(), 0u);
  EXPECT_GE(s.sink_failures, 1u);  // 2 timed-out attempts made one sink call fail
  ExpectBalanced(s);
  EXPECT_GE(server.requests(), 4u);
  EXPECT_EQ(*store->Digest(), leg_test::ReferenceDigest(events));
  STORE_EXPECT_OK(store->CheckInvariants());
}

TEST(VectorHttpLeg, WrongDimensionFromTheServerIsDeadLetteredNamingBoth) {
  testing::FakeOpenAiServer server(kDim);
  server.dimension = 7;
  LegEnv env;
  env.OpenLog();
  const std::vector<EntityEvent> events = People(5);
  env.Publish(events);
  ManualClock clock;
  std::unique_ptr<Embedder> embedder = NewHttpEmbedder(HttpOptions(server, &clock)).value();
  TempDir dir;
  std::unique_ptr<VectorStore> store = Open(StoreOptions(dir.path() + "/v", embedder.get()));
  ASSERT_NE(store, nullptr);

  Result<std::unique_ptr<Leg>> leg = MakeVectorLeg(env.log(), *store, TestLegOptions("vector"));
  LEG_ASSERT_OK(leg);
  LEG_ASSERT_OK((*leg)->Start());
  LEG_ASSERT_OK((*leg)->WaitForCaughtUp(kWaitUs));
  LEG_ASSERT_OK((*leg)->Stop());
  const LegStats s = (*leg)->stats();
  EXPECT_EQ(s.dead_lettered_permanent, events.size());
  EXPECT_EQ(s.applied, 0u);
  ExpectBalanced(s);
  const std::vector<Record> dlq = env.ReadAll("person.dlq");
  ASSERT_EQ(dlq.size(), events.size());
  for (const Record& r : dlq) {
    EXPECT_NE(HeaderOf(r, "dlq.reason").find("dimension: expected 32, server returned 7"),
              std::string::npos)
        << HeaderOf(r, "dlq.reason");
  }
  EXPECT_EQ(store->Digest()->entities, 0u);  // nothing half-applied
  STORE_EXPECT_OK(store->CheckInvariants());
}

}  // namespace
}  // namespace tandem::vector_test
