// Permanent failures and undecodable records: dead-lettered at once with
// their reason, never half-applied, never stopping the leg.

#include <gtest/gtest.h>

#include "leg_test_util.h"
#include "test_sinks.h"

namespace tandem::leg_test {
namespace {

EntityEvent Parse(const std::string& json) {
  EventParser parser(SystemClock());
  Result<EntityEvent> e = parser.Parse(json);
  EXPECT_TRUE(e.ok()) << json << ": " << e.status().ToString();
  return e.ok() ? *e : EntityEvent{};
}

LegStats RunLeg(LegEnv& env, Sink& sink) {
  Result<std::unique_ptr<Leg>> leg = NewLeg(env.log(), sink, TestLegOptions());
  EXPECT_TRUE(leg.ok()) << leg.status().ToString();
  if (!leg.ok()) return {};
  LEG_EXPECT_OK((*leg)->Start());
  LEG_EXPECT_OK((*leg)->WaitForCaughtUp(kWaitUs));
  LEG_EXPECT_OK((*leg)->Stop());
  return (*leg)->stats();
}

TEST(LegDeadLetter, PermanentErrorsGoToTheDlqWithTheirReasonAndTheRestIsApplied) {
  LegEnv env;
  env.OpenLog();
  const std::vector<EntityEvent> events = {
      Parse(R"({"event_id":"e1","event_type":"create","entity_type":"person",)"
            R"("entity_id":"p-1","payload":{"name":"Ada"}})"),
      // The graph store refuses it: a reference field holding a number.
      Parse(R"({"event_id":"e2","event_type":"create","entity_type":"account",)"
            R"("entity_id":"a-1","payload":{"owner_id":42,"iban":"DE00"}})"),
      // The sink wrapper refuses it; the entity's next event still applies.
      Parse(R"({"event_id":"e3","event_type":"create","entity_type":"person",)"
            R"("entity_id":"p-2","payload":{"name":"Bob","secret":"x"}})"),
      Parse(R"({"event_id":"e4","event_type":"update","entity_type":"person",)"
            R"("entity_id":"p-2","payload":{"city":"Oslo"}})"),
      Parse(R"({"event_id":"e5","event_type":"create","entity_type":"account",)"
            R"("entity_id":"a-2","payload":{"owner_id":"p-1"}})"),
  };
  env.Publish(events);
  std::unique_ptr<GraphStore> graph = env.OpenGraph("graph");
  std::unique_ptr<Sink> store_sink = NewStoreSink(*graph);
  FlakySink sink(*store_sink);
  sink.Refuse("e3", "test: refused by policy");
  const LegStats s = RunLeg(env, sink);

  EXPECT_EQ(s.dead_lettered_permanent, 2u);
  EXPECT_EQ(s.applied, 3u);
  EXPECT_EQ(s.transient_errors + s.nacked, 0u);
  ExpectBalanced(s);

  const std::vector<Record> accounts = env.ReadAll("account.dlq");
  ASSERT_EQ(accounts.size(), 1u);
  EXPECT_EQ(accounts[0].id, "e2");
  EXPECT_EQ(accounts[0].value, Serialize(events[1]));  // the original record, untouched
  EXPECT_EQ(HeaderOf(accounts[0], "dlq.reason").rfind("permanent_error: payload.owner_id", 0), 0u)
      << HeaderOf(accounts[0], "dlq.reason");
  EXPECT_EQ(HeaderOf(accounts[0], "dlq.topic"), "account");
  const std::vector<Record> persons = env.ReadAll("person.dlq");
  ASSERT_EQ(persons.size(), 1u);
  EXPECT_EQ(persons[0].id, "e3");
  EXPECT_EQ(HeaderOf(persons[0], "dlq.reason"), "permanent_error: test: refused by policy");

  // Nothing of the refused events is in the graph.
  EXPECT_TRUE(graph->GetVertex("a-1").status().IsNotFound());
  Result<Vertex> p2 = graph->GetVertex("p-2");
  LEG_ASSERT_OK(p2);
  EXPECT_EQ(p2->properties, R"({"city":"Oslo"})");
  Result<std::vector<Edge>> owns = graph->Neighbors("p-1", Direction::kOut, "owns", 10);
  LEG_ASSERT_OK(owns);
  ASSERT_EQ(owns->size(), 1u);
  EXPECT_EQ((*owns)[0].to, "a-2");
  LEG_EXPECT_OK(graph->CheckInvariants());
}

TEST(LegDeadLetter, UndecodableRecordsAreDeadLetteredAndTheLegKeepsGoing) {
  LegEnv env;
  env.OpenLog();
  ProduceRecord garbage;
  garbage.key = "p-9";
  garbage.value = "{not json";
  LEG_ASSERT_OK(env.log().Append("person", garbage));
  // A valid event filed under another key would escape per-entity order.
  ProduceRecord misfiled;
  misfiled.key = "p-8";
  misfiled.value = Serialize(Parse(R"({"event_type":"create","entity_type":"person",)"
                                   R"("entity_id":"p-7","payload":{}})"));
  LEG_ASSERT_OK(env.log().Append("person", misfiled));
  env.Publish({Parse(R"({"event_type":"create","entity_type":"person",)"
                     R"("entity_id":"p-1","payload":{"name":"Ada"}})")});
  std::unique_ptr<GraphStore> graph = env.OpenGraph("graph");
  std::unique_ptr<Sink> sink = NewStoreSink(*graph);
  const LegStats s = RunLeg(env, *sink);

  EXPECT_EQ(s.dead_lettered_undecodable, 2u);
  EXPECT_EQ(s.applied, 1u);
  ExpectBalanced(s);
  std::map<std::string, std::string> reasons;  // key → reason
  for (const Record& r : env.ReadAll("person.dlq")) reasons[r.key] = HeaderOf(r, "dlq.reason");
  ASSERT_EQ(reasons.size(), 2u);
  EXPECT_EQ(reasons["p-9"].rfind("undecodable: (document): invalid JSON", 0), 0u) << reasons["p-9"];
  EXPECT_EQ(reasons["p-8"], R"(undecodable: entity_id: "p-7" is not the record key "p-8")");
  EXPECT_TRUE(graph->GetVertex("p-1").ok());
  EXPECT_TRUE(graph->GetVertex("p-7").status().IsNotFound());
}

}  // namespace
}  // namespace tandem::leg_test
