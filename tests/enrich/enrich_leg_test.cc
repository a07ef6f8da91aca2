// The enrichment leg end to end: Producer → log → graph, vector and
// enrichment legs → results back through the log into both stores.

#include <gtest/gtest.h>

#include "enrich/state_store.h"
#include "enrich_test_util.h"

namespace tandem::enrich_test {
namespace {

TEST(EnrichLeg, BothStoresEndCompletedWithTheEnrichersFieldsAfterPending) {
  LegEnv env;
  env.OpenLog();
  Pipeline p(env);
  ScriptedEnricher enricher;
  enricher.progress = true;
  std::unique_ptr<EnrichLeg> leg =
      NewEnrichLeg(env.log(), enricher, TestEnrichOptions(p.dir())).value();
  p.Start();
  LEG_ASSERT_OK(leg->Start());
  std::vector<EntityEvent> events = People(20);
  events[0].text_for_embedding = "Name 0, Berlin, born 1970";
  env.Publish(events);
  LEG_ASSERT_OK(leg->WaitForCaughtUp(kWaitUs));
  p.WaitStores();
  // The enrichment updates carry the entity's text on: what is embedded stays.
  Result<VectorDocument> doc = p.vector().GetDocument("p-0");
  LEG_ASSERT_OK(doc);
  EXPECT_EQ(doc->text, std::optional<std::string>("Name 0, Berlin, born 1970"));

  for (Store* store : {static_cast<Store*>(&p.graph()), static_cast<Store*>(&p.vector())}) {
    for (const EntityEvent& e : events) {
      Result<EntityState> s = store->Get(e.entity_id);
      LEG_ASSERT_OK(s);
      EXPECT_EQ(Member(s->payload, "enrichment_status"), "completed") << e.entity_id;
      EXPECT_EQ(Member(s->payload, "name_length"),
                std::to_string(Member(e.payload, "name").size()));
      EXPECT_EQ(Member(s->payload, "name"), Member(e.payload, "name"));  // input kept
    }
  }
  // In the log, each entity's pending precedes its result (same partition).
  const std::vector<Record> person = env.ReadAll("person");
  for (const EntityEvent& e : events) {
    int pending_at = -1, result_at = -1, i = 0;
    for (const Record& r : person) {
      if (r.key == e.entity_id && r.id.starts_with("enrich-pending:t:")) pending_at = i;
      if (r.key == e.entity_id && r.id.starts_with("enrich:t:")) result_at = i;
      ++i;
    }
    EXPECT_GE(pending_at, 0) << e.entity_id;
    EXPECT_GT(result_at, pending_at) << e.entity_id;
  }
  EXPECT_EQ(CountWithPrefix(person, "enrich:t:"), events.size());
  EXPECT_EQ(CountWithPrefix(person, "enrich-pending:t:"), events.size());
  EXPECT_EQ(env.ReadAll("person.completed").size(), events.size());
  EXPECT_EQ(env.ReadAll("person.progress").size(), 2 * events.size());
  const EnrichStats s = leg->enrich_stats();
  EXPECT_EQ(s.jobs_queued, events.size());
  EXPECT_EQ(s.jobs_completed, events.size());
  // The leg's own pending/result events came back and queued nothing.
  EXPECT_EQ(s.jobs_skipped, 2 * events.size());
  ExpectJobsBalanced(s);
  LEG_EXPECT_OK(leg->Stop());
}

TEST(EnrichLeg, ABlockedEnricherNeverHoldsBackTheGraphAndVectorLegs) {
  LegEnv env;
  env.OpenLog();
  Pipeline p(env);
  ScriptedEnricher enricher;
  enricher.hold = true;
  EnrichLegOptions o = TestEnrichOptions(p.dir());
  o.concurrency = 2;
  std::unique_ptr<EnrichLeg> leg = NewEnrichLeg(env.log(), enricher, o).value();
  p.Start();
  LEG_ASSERT_OK(leg->Start());
  const std::vector<EntityEvent> events = People(50);
  env.Publish(events);
  // Every worker is stuck inside the enricher ...
  ASSERT_TRUE(Eventually([&] { return enricher.waiting() == 2; }));
  // ... and yet both stores catch up on every event, and show "pending" for
  // all: the enrichment leg's sink recorded every job without the enricher.
  ASSERT_TRUE(Eventually([&] {
    if (!p.graph_leg().WaitForCaughtUp(kWaitUs).ok() ||
        !p.vector_leg().WaitForCaughtUp(kWaitUs).ok()) {
      return false;
    }
    for (Store* st : {static_cast<Store*>(&p.graph()), static_cast<Store*>(&p.vector())}) {
      for (const auto& [id, status] : Statuses(*st, events)) {
        if (status != "pending") return false;
      }
    }
    return true;
  }));
  EXPECT_EQ(leg->enrich_stats().jobs_completed, 0u);
  EXPECT_EQ(leg->enrich_stats().jobs_queued, events.size());
  EXPECT_EQ(p.graph().Digest()->entities, events.size());
  enricher.Release();
  LEG_ASSERT_OK(leg->WaitForCaughtUp(kWaitUs));
  p.WaitStores();
  for (const auto& [id, status] : Statuses(p.graph(), events)) EXPECT_EQ(status, "completed") << id;
  for (const auto& [id, status] : Statuses(p.vector(), events)) EXPECT_EQ(status, "completed") << id;
  ExpectJobsBalanced(leg->enrich_stats());
}

TEST(EnrichLeg, UnderFailuresEveryEntityEndsCompletedOrFailedWithItsDeadLetter) {
  LegEnv env;
  env.OpenLog();
  Pipeline p(env);
  ScriptedEnricher enricher;
  enricher.fail_first = 2;  // every entity fails twice transiently
  const std::vector<EntityEvent> events = People(30);
  std::set<std::string> refused;
  for (size_t i = 0; i < events.size(); i += 5) {
    enricher.FailPermanently(events[i].entity_id);
    refused.insert(events[i].entity_id);
  }
  EnrichLegOptions o = TestEnrichOptions(p.dir());
  o.max_attempts = 3;
  o.breaker.failure_threshold = 0;  // this test is about the retry budget
  std::unique_ptr<EnrichLeg> leg = NewEnrichLeg(env.log(), enricher, o).value();
  p.Start();
  LEG_ASSERT_OK(leg->Start());
  env.Publish(events);
  LEG_ASSERT_OK(leg->WaitForCaughtUp(kWaitUs));
  p.WaitStores();
  for (const auto& [id, status] : Statuses(p.graph(), events)) {
    EXPECT_EQ(status, refused.contains(id) ? "failed" : "completed") << id;
  }
  for (const auto& [id, status] : Statuses(p.vector(), events)) {
    EXPECT_EQ(status, refused.contains(id) ? "failed" : "completed") << id;
  }
  const std::vector<Record> dlq = env.ReadAll("person.dlq");
  ASSERT_EQ(dlq.size(), refused.size());
  for (const Record& r : dlq) {
    EXPECT_TRUE(refused.contains(r.key));
    EXPECT_EQ(HeaderOf(r, "dlq.subscription"), "enrich-t");
    EXPECT_EQ(HeaderOf(r, "dlq.topic"), "person");
    EXPECT_TRUE(HeaderOf(r, "dlq.reason").starts_with("permanent_error: ")) << HeaderOf(r, "dlq.reason");
    EXPECT_EQ(HeaderOf(r, "dlq.delivery_count"), "2");  // two transient failures before
  }
  const EnrichStats s = leg->enrich_stats();
  EXPECT_EQ(s.jobs_failed, refused.size());
  EXPECT_EQ(s.jobs_completed, events.size() - refused.size());
  EXPECT_EQ(s.transient_errors, 2 * events.size());
  ExpectJobsBalanced(s);
}

TEST(EnrichLeg, RetriesExhaustedGoToTheDlqAndAReplayedDeadLetterEnrichesAgain) {
  LegEnv env;
  env.OpenLog();
  TempDir dir;
  std::unique_ptr<GraphStore> graph = env.OpenGraph("graph");
  std::unique_ptr<Leg> graph_leg = MakeGraphLeg(env.log(), *graph, TestLegOptions("graph")).value();
  ScriptedEnricher enricher;
  enricher.down = true;
  EnrichLegOptions o = TestEnrichOptions(dir.path());
  o.max_attempts = 3;
  o.breaker.failure_threshold = 0;
  std::unique_ptr<EnrichLeg> leg = NewEnrichLeg(env.log(), enricher, o).value();
  LEG_ASSERT_OK(graph_leg->Start());
  LEG_ASSERT_OK(leg->Start());
  const std::vector<EntityEvent> events = People(5);
  env.Publish(events);
  LEG_ASSERT_OK(leg->WaitForCaughtUp(kWaitUs));
  LEG_ASSERT_OK(graph_leg->WaitForCaughtUp(kWaitUs));
  for (const auto& [id, status] : Statuses(*graph, events)) EXPECT_EQ(status, "failed") << id;
  const std::vector<Record> dlq = env.ReadAll("person.dlq");
  ASSERT_EQ(dlq.size(), events.size());
  EXPECT_TRUE(HeaderOf(dlq[0], "dlq.reason").starts_with("retries_exhausted: 3 attempts: "));
  EXPECT_EQ(enricher.calls(), 3 * static_cast<int>(events.size()));

  // The service is back; replaying the dead letters (what the admin route
  // publishes: each record's event) queues the jobs again.
  enricher.down = false;
  EventParser parser(SystemClock());
  std::vector<EntityEvent> replay;
  for (const Record& r : dlq) replay.push_back(parser.Parse(r.value).value());
  env.Publish(replay);
  LEG_ASSERT_OK(leg->WaitForCaughtUp(kWaitUs));
  LEG_ASSERT_OK(graph_leg->WaitForCaughtUp(kWaitUs));
  for (const auto& [id, status] : Statuses(*graph, events)) EXPECT_EQ(status, "completed") << id;
  ExpectJobsBalanced(leg->enrich_stats());
}

TEST(EnrichLeg, BreakerOpensOnAnOutageAndRecoversThroughHalfOpen) {
  LegEnv env;
  env.OpenLog();
  TempDir dir;
  ScriptedEnricher enricher;
  enricher.down = true;
  ManualClock clock;
  EnrichLegOptions o = TestEnrichOptions(dir.path());
  o.concurrency = 1;
  o.clock = &clock;
  o.max_attempts = 1000;
  o.breaker.failure_threshold = 3;
  o.breaker.open_duration_us = 10'000'000;
  std::unique_ptr<EnrichLeg> leg = NewEnrichLeg(env.log(), enricher, o).value();
  LEG_ASSERT_OK(leg->Start());
  const std::vector<EntityEvent> events = People(10);
  env.Publish(events);
  ASSERT_TRUE(Eventually([&] { return leg->enrich_stats().breaker_state == BreakerState::kOpen; }));
  // While open (the manual clock does not move) nobody calls the enricher.
  EXPECT_EQ(enricher.calls(), 3);
  EXPECT_EQ(leg->enrich_stats().breaker_opens, 1u);
  LEG_ASSERT_OK(leg->WaitForCaughtUp(0).code() == StatusCode::kBusy ? Status::OK()
                                                                     : Status::Aborted("idle"));
  EXPECT_EQ(enricher.calls(), 3);

  enricher.down = false;
  clock.Advance(o.breaker.open_duration_us);
  LEG_ASSERT_OK(leg->WaitForCaughtUp(kWaitUs));
  const EnrichStats s = leg->enrich_stats();
  EXPECT_EQ(s.breaker_state, BreakerState::kClosed);
  EXPECT_EQ(s.breaker_half_opens, 1u);
  EXPECT_EQ(s.breaker_closes, 1u);
  EXPECT_EQ(s.jobs_completed, events.size());
  EXPECT_EQ(s.jobs_failed, 0u);
  ExpectJobsBalanced(s);
}

TEST(EnrichLeg, JobsRecordedBeforeACrashAreResumedAndPublishedOnce) {
  LegEnv env;
  env.OpenLog();
  TempDir dir;
  const std::vector<EntityEvent> events = People(12);
  const EnrichLegOptions o = TestEnrichOptions(dir.path());
  {
    // First life: the jobs are committed and acked, the enricher never answers.
    ScriptedEnricher down;
    down.down = true;
    EnrichLegOptions first = o;
    first.max_attempts = 1000;
    first.initial_backoff_us = first.max_backoff_us = 60'000'000;  // stays in backoff
    first.breaker.failure_threshold = 0;
    std::unique_ptr<EnrichLeg> leg = NewEnrichLeg(env.log(), down, first).value();
    LEG_ASSERT_OK(leg->Start());
    env.Publish(events);
    ASSERT_TRUE(Eventually([&] { return leg->enrich_stats().jobs_queued == events.size(); }));
    LEG_ASSERT_OK(leg->Stop());
    EXPECT_EQ(leg->enrich_stats().jobs_completed, 0u);
  }
  {
    // Second life: every job is resumed and completed.
    ScriptedEnricher up;
    std::unique_ptr<EnrichLeg> leg = NewEnrichLeg(env.log(), up, o).value();
    LEG_ASSERT_OK(leg->Start());
    LEG_ASSERT_OK(leg->WaitForCaughtUp(kWaitUs));
    EXPECT_EQ(leg->enrich_stats().jobs_resumed, events.size());
    EXPECT_EQ(leg->enrich_stats().jobs_queued, 0u);
    EXPECT_EQ(leg->enrich_stats().jobs_completed, events.size());
    LEG_ASSERT_OK(leg->Stop());
  }
  {
    // A crash after the publish but before the job was deleted: put the job
    // records back. The third life redoes them; the log keeps one result each.
    std::unique_ptr<enrich::StateStore> state = enrich::StateStore::Open(o.dir, false).value();
    enrich::StateStore::Batch b;
    for (const EntityEvent& e : events) {
      enrich::EntityRecord rec = state->GetEntity(e.entity_id).value().value();
      enrich::JobRecord job;
      job.entity_type = "person";
      job.input_hash = rec.input_hash;
      job.seq = rec.job_seq;
      b.jobs.emplace_back(e.entity_id, job);
    }
    LEG_ASSERT_OK(state->Commit(b));
  }
  ScriptedEnricher up;
  std::unique_ptr<EnrichLeg> leg = NewEnrichLeg(env.log(), up, o).value();
  LEG_ASSERT_OK(leg->Start());
  LEG_ASSERT_OK(leg->WaitForCaughtUp(kWaitUs));
  EXPECT_EQ(leg->enrich_stats().jobs_resumed, events.size());
  EXPECT_EQ(up.calls(), static_cast<int>(events.size()));
  const std::vector<Record> person = env.ReadAll("person");
  EXPECT_EQ(CountWithPrefix(person, "enrich:t:"), events.size());
  EXPECT_EQ(CountWithPrefix(person, "enrich-pending:t:"), events.size());
  EXPECT_EQ(env.ReadAll("person.completed").size(), events.size());
  ExpectJobsBalanced(leg->enrich_stats());
}

TEST(EnrichLeg, RedeliveryAndReplayQueueNothingNew) {
  LegEnv env;
  env.OpenLog();
  TempDir dir;
  const std::vector<EntityEvent> events = People(15);
  EnrichLegOptions o = TestEnrichOptions(dir.path());
  o.leg.commit_interval_us = 0;  // positions only at Start and Stop
  LEG_ASSERT_OK(env.log().CreateTopic("person.completed", TopicOptions{}));
  env.Publish(events);
  {
    ScriptedEnricher enricher;
    std::unique_ptr<EnrichLeg> leg = NewEnrichLeg(env.log(), enricher, o).value();
    LEG_ASSERT_OK(leg->Start());
    LEG_ASSERT_OK(leg->WaitForCaughtUp(kWaitUs));
    EXPECT_EQ(leg->enrich_stats().jobs_completed, events.size());
    env.LoseUncommittedAcks();  // no subscription position reaches the disk
    EXPECT_FALSE(leg->Stop().ok());
  }
  env.RestartLog();  // everything is delivered again, the leg's own events too
  ScriptedEnricher enricher;
  std::unique_ptr<EnrichLeg> leg = NewEnrichLeg(env.log(), enricher, o).value();
  LEG_ASSERT_OK(leg->Start());
  LEG_ASSERT_OK(leg->WaitForCaughtUp(kWaitUs));
  const LegStats ls = leg->stats();
  EXPECT_EQ(ls.applied, 0u);
  EXPECT_EQ(ls.skipped_duplicate + ls.skipped_stale, 3 * events.size());
  EXPECT_EQ(leg->enrich_stats().jobs_queued, 0u);
  EXPECT_EQ(enricher.calls(), 0);
  // The same events published again under new ids but with the same content
  // (update merges, input unchanged) queue nothing either.
  std::vector<EntityEvent> again = events;
  for (EntityEvent& e : again) {
    e.event_id += "-again";
    e.event_type = EventType::kUpdate;
  }
  env.Publish(again);
  LEG_ASSERT_OK(leg->WaitForCaughtUp(kWaitUs));
  EXPECT_EQ(leg->enrich_stats().jobs_queued, 0u);
  EXPECT_EQ(leg->enrich_stats().jobs_skipped, events.size());
}

TEST(EnrichLeg, ADeleteCancelsTheQueuedJobAndAChangedInputSupersedesIt) {
  LegEnv env;
  env.OpenLog();
  TempDir dir;
  ScriptedEnricher enricher;
  enricher.hold = true;
  EnrichLegOptions o = TestEnrichOptions(dir.path());
  o.concurrency = 1;
  std::unique_ptr<EnrichLeg> leg = NewEnrichLeg(env.log(), enricher, o).value();
  // The worker is held by p-0; then p-1 is created and deleted, p-2 changes twice.
  LEG_ASSERT_OK(leg->Start());
  env.Publish({Person("p-0", "Zero")});
  ASSERT_TRUE(Eventually([&] { return enricher.waiting() == 1; }));
  EntityEvent del = Person("p-1", "One");
  del.event_id = "del-p-1";
  del.event_type = EventType::kDelete;
  del.payload = "{}";
  env.Publish({Person("p-1", "One"), Person("p-2", "Two"), del, Person("p-2", "Two bis")});
  ASSERT_TRUE(Eventually([&] { return leg->enrich_stats().jobs_cancelled == 1; }));
  enricher.Release();
  LEG_ASSERT_OK(leg->WaitForCaughtUp(kWaitUs));
  const EnrichStats s = leg->enrich_stats();
  EXPECT_EQ(s.jobs_cancelled, 1u);
  const std::vector<Record> person = env.ReadAll("person");
  EXPECT_EQ(CountWithPrefix(person, "enrich:t:p-1:"), 0u);
  EXPECT_EQ(CountWithPrefix(person, "enrich:t:p-0:"), 1u);
  // p-2's latest input was enriched (the first job was superseded or ran first).
  size_t p2_results = CountWithPrefix(person, "enrich:t:p-2:");
  EXPECT_GE(p2_results, 1u);
  EXPECT_EQ(p2_results + s.jobs_superseded, 2u);
  ExpectJobsBalanced(s);
}

TEST(EnrichLeg, WithoutPendingPublishingOnlyTheOutcomeReachesTheLog) {
  LegEnv env;
  env.OpenLog();
  TempDir dir;
  ScriptedEnricher enricher;
  EnrichLegOptions o = TestEnrichOptions(dir.path());
  o.publish_pending = false;
  std::unique_ptr<EnrichLeg> leg = NewEnrichLeg(env.log(), enricher, o).value();
  LEG_ASSERT_OK(leg->Start());
  const std::vector<EntityEvent> events = People(10);
  env.Publish(events);
  LEG_ASSERT_OK(leg->WaitForCaughtUp(kWaitUs));
  const std::vector<Record> person = env.ReadAll("person");
  EXPECT_EQ(CountWithPrefix(person, "enrich-pending:"), 0u);
  EXPECT_EQ(CountWithPrefix(person, "enrich:t:"), events.size());
  EXPECT_EQ(person.size(), 2 * events.size());
  ExpectJobsBalanced(leg->enrich_stats());
}

TEST(EnrichLeg, BadOptionsAreRefusedNamingTheOption) {
  LegEnv env;
  env.OpenLog();
  TempDir dir;
  ScriptedEnricher enricher;
  EnrichLegOptions o = TestEnrichOptions(dir.path());
  o.name = "Bad Name";
  EXPECT_NE(NewEnrichLeg(env.log(), enricher, o).status().message().find("name:"), std::string::npos);
  o = TestEnrichOptions(dir.path());
  o.types.clear();
  EXPECT_NE(NewEnrichLeg(env.log(), enricher, o).status().message().find("types:"), std::string::npos);
  o = TestEnrichOptions(dir.path());
  o.concurrency = 0;
  EXPECT_NE(NewEnrichLeg(env.log(), enricher, o).status().message().find("concurrency:"),
            std::string::npos);
  o = TestEnrichOptions(dir.path());
  o.max_backoff_us = 1;
  EXPECT_NE(NewEnrichLeg(env.log(), enricher, o).status().message().find("max_backoff:"),
            std::string::npos);
}

}  // namespace
}  // namespace tandem::enrich_test
