// The vector leg end to end (Producer → log → MakeVectorLeg → vector store):
// an embedder outage is retried, opens the leg's breaker and loses nothing;
// permanent embedder errors (a refused text, a wrong dimension) dead-letter
// exactly their events with the reason; and name matching on generated
// person names with typos through the whole pipeline.

#include <gtest/gtest.h>

#include <cstdio>

#include "../leg/leg_test_util.h"
#include "gen/names.h"
#include "vector_test_util.h"

namespace tandem::vector_test {
namespace {

using leg_test::Eventually;
using leg_test::ExpectBalanced;
using leg_test::HeaderOf;
using leg_test::kWaitUs;
using leg_test::LegEnv;
using leg_test::TestLegOptions;

// Measured: see the test below (printed). The threshold sits a few points
// under the measured HNSW recall so that a regression of the embedder or the
// index fails it.
inline constexpr double kNameRecallAt5 = 0.95;

EntityEvent Person(const std::string& id, const std::string& name, int64_t version = 1) {
  EntityEvent e;
  e.event_id = id + "@" + std::to_string(version);
  e.event_type = EventType::kUpsert;
  e.entity_type = "person";
  e.entity_id = id;
  e.payload = "{\"name\":\"" + name + "\",\"v\":" + std::to_string(version) + "}";
  e.version = version;
  e.timestamp = "2024-03-01T00:00:00Z";
  return e;
}

std::vector<EntityEvent> People(size_t n) {
  std::vector<EntityEvent> out;
  for (size_t i = 0; i < n; ++i) {
    out.push_back(Person("p-" + std::to_string(i), "Person Number " + std::to_string(i)));
  }
  return out;
}

TEST(VectorLeg, EmbedderOutageIsRetriedOpensTheBreakerAndLosesNothing) {
  LegEnv env;
  env.OpenLog();
  const std::vector<EntityEvent> events = People(40);
  env.Publish(events);
  TempDir dir;
  TestEmbedder embedder(HashEmbedder());
  std::unique_ptr<VectorStore> store = Open(StoreOptions(dir.path() + "/v", &embedder));
  ASSERT_NE(store, nullptr);
  embedder.SetDown(true);

  ManualClock clock;
  LegOptions o = TestLegOptions("");
  o.workers = 1;
  o.clock = &clock;
  o.breaker.failure_threshold = 3;
  o.breaker.open_duration_us = 1'000'000;
  o.retry.max_attempts = 1000;  // keep the batch in the runtime
  Result<std::unique_ptr<Leg>> leg = MakeVectorLeg(env.log(), *store, o);
  LEG_ASSERT_OK(leg);
  EXPECT_EQ((*leg)->options().name, "vector");
  LEG_ASSERT_OK((*leg)->Start());
  ASSERT_TRUE(Eventually([&] {
    const LegStats s = (*leg)->stats();
    return s.breaker_opens == 1 && s.breaker_state == BreakerState::kOpen;
  }));
  EXPECT_EQ(embedder.failed_calls(), 3);  // one embedder call per failed sink call
  EXPECT_EQ(store->Digest()->entities, 0u);

  embedder.SetDown(false);
  clock.Advance(o.breaker.open_duration_us);
  LEG_ASSERT_OK((*leg)->WaitForCaughtUp(kWaitUs));
  LEG_ASSERT_OK((*leg)->Stop());
  const LegStats s = (*leg)->stats();
  EXPECT_EQ(s.applied, events.size());
  EXPECT_EQ(s.dead_lettered() + s.nacked, 0u);
  EXPECT_GE(s.sink_failures, 3u);
  EXPECT_EQ(s.breaker_state, BreakerState::kClosed);
  ExpectBalanced(s);
  EXPECT_EQ(store->IndexSizes().at("person"), events.size());
  EXPECT_EQ(*store->Digest(), leg_test::ReferenceDigest(events));
  EXPECT_GE(store->vector_counters().embedder_failures, 3u);
  STORE_EXPECT_OK(store->CheckInvariants());
}

TEST(VectorLeg, PermanentEmbedderErrorsAreDeadLetteredWithTheReasonAndTheRestApplies) {
  LegEnv env;
  env.OpenLog();
  std::vector<EntityEvent> events = People(30);
  events.push_back(Person("p-5", "Refused Person", 2));    // HTTP 400 for this text
  events.push_back(Person("p-6", "Wrong Dimension", 2));   // the server answers with d=7
  events.push_back(Person("p-5", "Person Number 5b", 3));  // after the refused one: applies
  env.Publish(events);
  TempDir dir;
  TestEmbedder embedder(HashEmbedder());
  embedder.Refuse("Refused Person");
  embedder.WrongDimensionFor("Wrong Dimension");
  std::unique_ptr<VectorStore> store = Open(StoreOptions(dir.path() + "/v", &embedder));
  ASSERT_NE(store, nullptr);

  Result<std::unique_ptr<Leg>> leg = MakeVectorLeg(env.log(), *store, TestLegOptions("vector"));
  LEG_ASSERT_OK(leg);
  LEG_ASSERT_OK((*leg)->Start());
  LEG_ASSERT_OK((*leg)->WaitForCaughtUp(kWaitUs));
  LEG_ASSERT_OK((*leg)->Stop());
  const LegStats s = (*leg)->stats();
  EXPECT_EQ(s.dead_lettered_permanent, 2u);
  EXPECT_EQ(s.applied, events.size() - 2);
  ExpectBalanced(s);

  std::map<std::string, std::string> reasons;
  for (const Record& r : env.ReadAll("person.dlq")) reasons[r.key] = HeaderOf(r, "dlq.reason");
  ASSERT_EQ(reasons.size(), 2u);
  EXPECT_NE(reasons["p-5"].find("text refused: Refused Person"), std::string::npos)
      << reasons["p-5"];
  EXPECT_NE(reasons["p-6"].find("dimension: expected 32, server returned 7"), std::string::npos)
      << reasons["p-6"];
  EXPECT_EQ(store->GetDocument("p-5")->text, "Person Number 5b");
  EXPECT_EQ(store->GetDocument("p-6")->text, "Person Number 6");
  EXPECT_EQ(store->IndexSizes().at("person"), 30u);
  STORE_EXPECT_OK(store->CheckInvariants());
}

// 2,000 generated person names through the leg; misspelled queries (one or
// two variants: typos, phonetic spellings, nicknames, accents, middle names)
// must find the intended person in the top 5.
TEST(VectorLeg, MisspelledNamesFindTheIntendedPersonInTheTop5) {
  const gen::NameMatchingSet set = gen::MakeNameMatchingSet(2024, 2000, 0, 400);
  ASSERT_GE(set.names.size(), 1900u);
  LegEnv env;
  env.OpenLog();
  std::vector<EntityEvent> events;
  for (size_t i = 0; i < set.names.size(); ++i) {
    EntityEvent e = Person("p-" + std::to_string(i), "x");
    e.payload = "{\"name\":" + std::string("\"") + set.names[i] + "\"}";
    events.push_back(std::move(e));
  }
  env.Publish(events);
  TempDir dir;
  std::unique_ptr<Embedder> embedder = HashEmbedder(256);
  VectorStoreOptions so = StoreOptions(dir.path() + "/v", embedder.get());
  std::unique_ptr<VectorStore> store = Open(so);
  ASSERT_NE(store, nullptr);
  LegOptions o = TestLegOptions("vector");
  o.max_batch_events = 500;
  Result<std::unique_ptr<Leg>> leg = MakeVectorLeg(env.log(), *store, o);
  LEG_ASSERT_OK(leg);
  LEG_ASSERT_OK((*leg)->Start());
  LEG_ASSERT_OK((*leg)->WaitForCaughtUp(kWaitUs));
  LEG_ASSERT_OK((*leg)->Stop());
  ASSERT_EQ(store->IndexSizes().at("person"), set.names.size());

  size_t found = 0, found_exact = 0, first = 0;
  for (const gen::NameQuery& q : set.queries) {
    const std::string want = "p-" + std::to_string(q.target);
    VectorQuery vq;
    vq.text = q.text;
    vq.k = 5;
    Result<std::vector<VectorHit>> hits = store->Search(vq);
    LEG_ASSERT_OK(hits);
    for (const VectorHit& h : *hits) found += h.entity_id == want;
    first += !hits->empty() && (*hits)[0].entity_id == want;
    vq.exact = true;
    hits = store->Search(vq);
    LEG_ASSERT_OK(hits);
    for (const VectorHit& h : *hits) found_exact += h.entity_id == want;
  }
  const double recall = static_cast<double>(found) / set.queries.size();
  const double recall_exact = static_cast<double>(found_exact) / set.queries.size();
  std::printf(
      "name matching: recall@5 %.3f (HNSW), %.3f (exact), recall@1 %.3f, %zu queries, %zu names\n",
      recall, recall_exact, static_cast<double>(first) / set.queries.size(), set.queries.size(),
      set.names.size());
  EXPECT_GE(recall, kNameRecallAt5);
  EXPECT_GE(recall_exact, kNameRecallAt5);
}

}  // namespace
}  // namespace tandem::vector_test
