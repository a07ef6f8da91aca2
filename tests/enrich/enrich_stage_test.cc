// Issue 8 §3 and §4 in process: a late enrichment result never resurrects a
// deleted entity; backfill covers exactly the entities missing enrichment, at
// a rate; chained stages (graph leg → graph.applied CloudEvents → a filtered
// downstream subscription or an enrichment leg) deliver in order; a stage
// that does not auto-process does nothing until asked.
#include <gtest/gtest.h>

#include "enrich/enrich_events.h"
#include "enrich/token_bucket.h"
#include "enrich_test_util.h"
#include "tandem/log.h"
#include "tandem/stage.h"

namespace tandem::enrich_test {
namespace {

EntityEvent Deleted(const std::string& id) {
  EntityEvent d = Person(id, "");
  d.event_id = "del-" + id;
  d.event_type = EventType::kDelete;
  d.payload = "{}";
  return d;
}

// Pages RunBackfillPage until the scan is done; the summed report.
BackfillReport BackfillAll(Store& source, EnrichLeg& leg, BackfillRequest r, int* pages) {
  BackfillReport sum;
  EnrichLeg* legs[] = {&leg};
  for (*pages = 0; *pages < 1000; ++*pages) {
    Result<BackfillReport> page = RunBackfillPage(source, legs, r);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    if (!page.ok()) break;
    sum.scanned += page->scanned;
    sum.matched += page->matched;
    sum.already_enriched += page->already_enriched;
    sum.queued += page->queued;
    sum.already_queued += page->already_queued;
    sum.deleted += page->deleted;
    sum.nothing_to_do += page->nothing_to_do;
    r.after = page->next_after;
    if (page->done) {
      ++*pages;
      break;
    }
  }
  return sum;
}

TEST(EnrichDelete, ALateResultAfterADeleteDoesNotResurrectTheEntity) {
  LegEnv env;
  env.OpenLog();
  Pipeline p(env);
  ScriptedEnricher enricher;
  std::unique_ptr<EnrichLeg> leg =
      NewEnrichLeg(env.log(), enricher, TestEnrichOptions(p.dir())).value();
  p.Start();
  LEG_ASSERT_OK(leg->Start());
  env.Publish({Person("p-0", "Zero"), Person("p-1", "One")});
  LEG_ASSERT_OK(leg->WaitForCaughtUp(kWaitUs));
  p.WaitStores();
  env.Publish({Deleted("p-0")});
  LEG_ASSERT_OK(leg->WaitForCaughtUp(kWaitUs));
  p.WaitStores();
  const uint64_t queued_before = leg->enrich_stats().jobs_queued;
  // What a worker publishes when its call finished after the delete reached
  // the log but before the leg consumed it: pending, the result, the DLQ's
  // retry event.
  enrich::JobRecord job;
  job.entity_type = "person";
  job.input_hash = 0x1234;
  job.seq = 99;
  const int64_t now = SystemClock().NowMicros();
  env.Publish({enrich::StatusEvent("t", "p-0", job, "enrichment_status", "pending", now),
               enrich::ResultEvent("t", "p-0", job, "{\"name_length\":4}", {"name_length"},
                                   "enrichment_status", now)
                   .value(),
               enrich::StatusEvent("t", "p-0", job, "enrichment_status", "retry", now)});
  LEG_ASSERT_OK(leg->WaitForCaughtUp(kWaitUs));
  p.WaitStores();
  for (Store* store : {static_cast<Store*>(&p.graph()), static_cast<Store*>(&p.vector())}) {
    Result<EntityState> s = store->Get("p-0");
    LEG_ASSERT_OK(s);
    EXPECT_TRUE(s->deleted()) << "resurrected as " << s->payload;
    Result<EntityState> other = store->Get("p-1");
    LEG_ASSERT_OK(other);
    EXPECT_EQ(Member(other->payload, "enrichment_status"), "completed");
  }
  EXPECT_TRUE(p.graph().GetVertex("p-0").status().IsNotFound());
  EXPECT_GE(p.graph_leg().stats().skipped_stale, 3u);
  EXPECT_EQ(leg->enrich_stats().jobs_queued, queued_before) << "the retry must not queue a job";
  // The rule is narrow: a producer's own update still re-creates the entity.
  EntityEvent again = Person("p-0", "Zero again");
  again.event_type = EventType::kUpdate;
  env.Publish({again});
  p.WaitStores();
  Result<EntityState> back = p.graph().Get("p-0");
  LEG_ASSERT_OK(back);
  EXPECT_FALSE(back->deleted());
  ExpectJobsBalanced(leg->enrich_stats());
}

TEST(EnrichBackfill, CoversExactlyTheMissingOnesWithoutReEnrichingAnyone) {
  LegEnv env;
  env.OpenLog();
  Pipeline p(env);
  p.Start();
  // 30 persons indexed while enrichment was off ...
  std::vector<EntityEvent> old_people;
  for (int i = 0; i < 30; ++i)
    old_people.push_back(Person("old-" + std::to_string(i), "Old " + std::to_string(i)));
  env.Publish(old_people);
  env.Publish({Deleted("old-29")});
  p.WaitStores();
  // ... then enrichment starts at the end of the log (as when the old events
  // are past retention), and 10 new persons are enriched as they arrive.
  ScriptedEnricher enricher;
  EnrichLegOptions o = TestEnrichOptions(p.dir());
  o.leg.from_beginning = false;
  std::unique_ptr<EnrichLeg> leg = NewEnrichLeg(env.log(), enricher, o).value();
  LEG_ASSERT_OK(leg->Start());
  std::vector<EntityEvent> new_people;
  for (int i = 0; i < 10; ++i)
    new_people.push_back(Person("new-" + std::to_string(i), "New " + std::to_string(i)));
  env.Publish(new_people);
  LEG_ASSERT_OK(leg->WaitForCaughtUp(kWaitUs));
  p.WaitStores();
  ASSERT_EQ(enricher.calls(), 10);
  EXPECT_EQ(Statuses(p.graph(), old_people)["old-0"], "");

  ManualClock pace;
  const int64_t t0 = pace.MonotonicNanos();
  BackfillRequest r;
  r.type = "person";
  r.limit = 7;  // several pages
  r.rate_per_second = 10;
  r.clock = &pace;
  int pages = 0;
  const BackfillReport sum = BackfillAll(p.graph(), *leg, r, &pages);
  EXPECT_EQ(sum.queued, 29u);  // old-0..old-28; old-29 is deleted
  EXPECT_EQ(sum.matched, 39u);
  EXPECT_EQ(sum.already_enriched, 10u);
  EXPECT_EQ(sum.already_queued + sum.deleted + sum.nothing_to_do, 0u);
  EXPECT_GE(pages, 5);
  // 29 calls at 10/s with a burst of one token per page: at least (29 - pages) / 10 s.
  const double paced_s = static_cast<double>(pace.MonotonicNanos() - t0) / 1e9;
  EXPECT_GE(paced_s, (29.0 - pages) / 10 - 0.01);
  EXPECT_LE(paced_s, 29.0 / 10 + 0.01);

  LEG_ASSERT_OK(leg->WaitForCaughtUp(kWaitUs));
  p.WaitStores();
  old_people.pop_back();
  for (Store* store : {static_cast<Store*>(&p.graph()), static_cast<Store*>(&p.vector())}) {
    for (const auto& [id, status] : Statuses(*store, old_people))
      EXPECT_EQ(status, "completed") << id;
    for (const auto& [id, status] : Statuses(*store, new_people))
      EXPECT_EQ(status, "completed") << id;
  }
  Result<EntityState> gone = p.graph().Get("old-29");
  LEG_ASSERT_OK(gone);
  EXPECT_TRUE(gone->deleted());
  EXPECT_EQ(enricher.calls(), 39) << "each missing entity enriched once, none re-enriched";
  // A second backfill finds nothing to do.
  const BackfillReport again = BackfillAll(p.graph(), *leg, r, &pages);
  EXPECT_EQ(again.queued, 0u);
  EXPECT_EQ(again.already_enriched, 39u);
  // A later change of a backfilled entity is ordered against the seeded marker.
  env.Publish({Person("old-3", "Old three, renamed")});
  LEG_ASSERT_OK(leg->WaitForCaughtUp(kWaitUs));
  p.WaitStores();
  EXPECT_EQ(enricher.calls(), 40);
  EXPECT_EQ(Member(p.graph().Get("old-3")->payload, "name_length"), "18");
  ExpectJobsBalanced(leg->enrich_stats());
}

TEST(EnrichBackfill, BadRequestsAreRefusedNamingTheField) {
  LegEnv env;
  env.OpenLog();
  Pipeline p(env);
  ScriptedEnricher enricher;
  std::unique_ptr<EnrichLeg> leg =
      NewEnrichLeg(env.log(), enricher, TestEnrichOptions(p.dir())).value();
  EnrichLeg* legs[] = {leg.get()};
  BackfillRequest r;
  r.type = "account";
  EXPECT_NE(RunBackfillPage(p.graph(), legs, r).status().message().find("type:"),
            std::string::npos);
  r.type = "person";
  r.rate_per_second = 0;
  EXPECT_NE(RunBackfillPage(p.graph(), legs, r).status().message().find("rate:"),
            std::string::npos);
  r.rate_per_second = 5;
  r.limit = 0;
  EXPECT_NE(RunBackfillPage(p.graph(), legs, r).status().message().find("limit:"),
            std::string::npos);
}

TEST(TokenBucket, PacesToTheRateAfterTheBurst) {
  ManualClock clock;
  enrich::TokenBucket bucket(50, 1, clock);
  const int64_t t0 = clock.MonotonicNanos();
  for (int i = 0; i < 101; ++i) bucket.Acquire();
  // The first token is the burst; 100 more at 50/s take 2 s.
  EXPECT_NEAR(static_cast<double>(clock.MonotonicNanos() - t0) / 1e9, 2.0, 0.001);
}

// A downstream subscription on graph.applied with a type filter sees each
// entity's applied events in the order the graph leg applied them.
TEST(ChainedStages, GraphStageOutputReachesAFilteredSubscriptionInOrderPerEntity) {
  LegEnv env;
  env.OpenLog();
  Pipeline p(env, StageConfig{.publish = true, .topic = ""});
  p.Start();
  std::vector<EntityEvent> events;
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 8; ++i) {
      EntityEvent e = Person("p-" + std::to_string(i), "v" + std::to_string(round));
      e.event_id = "e-" + std::to_string(i) + "-" + std::to_string(round);
      events.push_back(e);
    }
  }
  events.push_back(Deleted("p-7"));
  env.Publish(events);
  env.Publish({events[0]});  // a duplicate event_id: deduplicated at the log, nothing new
  p.WaitStores();
  SubscriptionOptions so;
  so.name = "after-graph";
  so.topics = {"graph.applied"};
  so.ce_types = {"tandem.graph.applied"};
  std::unique_ptr<Subscription> sub = env.log().Subscribe(so).value();
  std::unique_ptr<Consumer> c = sub->AddConsumer("c0").value();
  std::map<std::string, std::vector<std::string>> seen;  // entity → payload names in order
  EventParser parser(SystemClock());
  size_t got = 0;
  ASSERT_TRUE(Eventually([&] {
    Result<std::vector<Message>> ms = c->Poll(100, 10'000);
    if (!ms.ok()) return true;
    for (const Message& m : *ms) {
      Result<EntityEvent> e = parser.Parse(m.record.value);  // a leg could decode it
      EXPECT_TRUE(e.ok()) << e.status().ToString();
      if (e.ok()) seen[e->entity_id].push_back(Member(e->payload, "name"));
      EXPECT_TRUE(c->Ack(m.id).ok());
      ++got;
    }
    return got >= 40;
  }));
  EXPECT_TRUE(c->Poll(100, 20'000)->empty()) << "the delete is filtered out, nothing else comes";
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(seen["p-" + std::to_string(i)],
              (std::vector<std::string>{"v0", "v1", "v2", "v3", "v4"}))
        << "p-" << i;
  }
  const std::vector<Record> all = env.ReadAll("graph.applied");
  EXPECT_EQ(all.size(), 41u);  // 40 applied + 1 deleted
  EXPECT_EQ(HeaderOf(all.back(), std::string(kCloudEventTypeHeader)).empty(), false);
}

// graph leg → graph.applied → an enrichment leg reading only what the graph
// store applied: every person ends enriched in both stores.
TEST(ChainedStages, AnEnrichmentLegCanConsumeTheGraphStageOutput) {
  LegEnv env;
  env.OpenLog();
  Pipeline p(env, StageConfig{.publish = true, .topic = ""});
  ScriptedEnricher enricher;
  EnrichLegOptions o = TestEnrichOptions(p.dir());
  o.topics = {"graph.applied"};
  o.leg.ce_types = {"tandem.graph.applied"};
  std::unique_ptr<EnrichLeg> leg = NewEnrichLeg(env.log(), enricher, o).value();
  p.Start();
  LEG_ASSERT_OK(leg->Start());
  const std::vector<EntityEvent> events = People(12);
  env.Publish(events);
  auto all_completed = [&](Store& store) {
    for (const auto& [id, status] : Statuses(store, events)) {
      if (status != "completed") return false;
    }
    return true;
  };
  ASSERT_TRUE(Eventually([&] { return all_completed(p.graph()) && all_completed(p.vector()); }));
  // Everything settles: the results' own graph.applied events reach the leg.
  p.WaitStores();
  LEG_ASSERT_OK(leg->WaitForCaughtUp(kWaitUs));
  for (Store* store : {static_cast<Store*>(&p.graph()), static_cast<Store*>(&p.vector())}) {
    for (const auto& [id, status] : Statuses(*store, events)) EXPECT_EQ(status, "completed") << id;
  }
  EXPECT_EQ(enricher.calls(), 12)
      << "the leg's own results came back through the chain and queued nothing";
  ExpectJobsBalanced(leg->enrich_stats());
}

TEST(ChainedStages, AStageWithoutAutoProcessDoesNothingUntilAsked) {
  LegEnv env;
  env.OpenLog();
  Pipeline p(env);
  ScriptedEnricher enricher;
  EnrichLegOptions o = TestEnrichOptions(p.dir());
  o.auto_process = false;
  std::unique_ptr<EnrichLeg> leg = NewEnrichLeg(env.log(), enricher, o).value();
  p.Start();
  LEG_ASSERT_OK(leg->Start());
  const std::vector<EntityEvent> events = People(6);
  env.Publish(events);
  LEG_ASSERT_OK(leg->WaitForCaughtUp(kWaitUs));
  p.WaitStores();
  EXPECT_EQ(enricher.calls(), 0);
  EXPECT_EQ(leg->enrich_stats().jobs_queued, 0u);
  EXPECT_TRUE(env.ReadAll("person.completed").empty());
  for (const auto& [id, status] : Statuses(p.graph(), events)) EXPECT_EQ(status, "") << id;
  // Asked for one entity (a user's retry): only that one is enriched.
  EntityEvent retry = Person("p-2", "Name 2");
  retry.event_id = "retry-p-2";
  retry.event_type = EventType::kUpdate;
  retry.payload = "{\"enrichment_status\":\"retry\"}";
  env.Publish({retry});
  LEG_ASSERT_OK(leg->WaitForCaughtUp(kWaitUs));
  p.WaitStores();
  EXPECT_EQ(enricher.calls(), 1);
  EXPECT_EQ(Statuses(p.graph(), events)["p-2"], "completed");
  EXPECT_EQ(Statuses(p.graph(), events)["p-3"], "");
}

}  // namespace
}  // namespace tandem::enrich_test
