// The network_risk enricher on the banking schema: a person linked to a
// sanctioned entity scores above an unlinked one with the same activity,
// the score is deterministic, and it waits for the graph leg.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "enrich_test_util.h"

namespace tandem::enrich_test {
namespace {

EntityEvent Ev(const std::string& type, const std::string& id, const std::string& payload) {
  EntityEvent e;
  e.event_id = "evt-" + id;
  e.event_type = EventType::kUpsert;
  e.entity_type = type;
  e.entity_id = id;
  e.payload = payload;
  e.timestamp = "2024-03-01T00:00:00Z";
  return e;
}

// Two persons with one account each and the same transactions; p-bad directs
// a company that a sanction entry lists.
std::vector<EntityEvent> World() {
  std::vector<EntityEvent> w = {
      Ev("person", "p-bad", R"({"name":"Ivan Bad"})"),
      Ev("person", "p-good", R"({"name":"Ann Good"})"),
      Ev("company", "c-shell", R"({"name":"Shell Ltd","directors":["p-bad"]})"),
      Ev("sanction_entry", "s-1", R"({"list":"OFAC","matches_entity":"c-shell"})"),
      Ev("account", "a-bad", R"({"owner_id":"p-bad"})"),
      Ev("account", "a-good", R"({"owner_id":"p-good"})"),
      Ev("account", "a-x", R"({"owner_id":"c-shell"})"),
  };
  for (int i = 0; i < 3; ++i) {
    const std::string n = std::to_string(i);
    w.push_back(Ev("transaction", "t-bad-" + n,
                   R"({"from_account":"a-bad","to_account":"a-x)" + n + R"(","amount":1000})"));
    w.push_back(Ev("transaction", "t-good-" + n,
                   R"({"from_account":"a-good","to_account":"a-x)" + n + R"(","amount":1000})"));
  }
  return w;
}

double Risk(GraphStore& g, const std::string& id, nlohmann::json* factors = nullptr) {
  Result<EntityState> s = g.Get(id);
  EXPECT_TRUE(s.ok()) << id;
  if (!s.ok()) return -1;
  const nlohmann::json p = nlohmann::json::parse(s->payload);
  EXPECT_EQ(p.value("enrichment_status", ""), "completed") << id;
  if (factors != nullptr && p.contains("network_risk_factors")) *factors = p["network_risk_factors"];
  return p.value("network_risk", -1.0);
}

TEST(NetworkRisk, APersonLinkedToASanctionedEntityScoresAboveAnUnlinkedOne) {
  LegEnv env;
  env.OpenLog();
  TempDir dir;
  std::unique_ptr<GraphStore> graph = env.OpenGraph("graph");
  std::unique_ptr<Leg> graph_leg = MakeGraphLeg(env.log(), *graph, TestLegOptions("graph")).value();
  std::unique_ptr<Enricher> risk = NewNetworkRiskEnricher(*graph, {}).value();
  EnrichLegOptions o = TestEnrichOptions(dir.path(), "risk");
  std::unique_ptr<EnrichLeg> leg = NewEnrichLeg(env.log(), *risk, o).value();
  // The graph holds the whole world before the jobs run (a neighbour that
  // arrives later does not re-trigger an entity's job: README "Known limits").
  LEG_ASSERT_OK(graph_leg->Start());
  env.Publish(World());
  LEG_ASSERT_OK(graph_leg->WaitForCaughtUp(kWaitUs));
  LEG_ASSERT_OK(leg->Start());
  LEG_ASSERT_OK(leg->WaitForCaughtUp(kWaitUs));
  LEG_ASSERT_OK(graph_leg->WaitForCaughtUp(kWaitUs));
  nlohmann::json bad_factors, good_factors;
  const double bad = Risk(*graph, "p-bad", &bad_factors);
  const double good = Risk(*graph, "p-good", &good_factors);
  EXPECT_GT(bad, good);
  EXPECT_GT(good, 0.0);  // activity counts for something
  EXPECT_LE(bad, 1.0);
  EXPECT_EQ(bad_factors["sanctions"]["nearest_hops"], 1);
  EXPECT_TRUE(good_factors["sanctions"]["nearest_hops"].is_null());
  EXPECT_EQ(bad_factors["transaction_count"]["value"], 3);
  EXPECT_EQ(bad_factors["fan"]["out"], 3);
  EXPECT_EQ(bad_factors["transaction_volume"], good_factors["transaction_volume"]);
  // The listed company itself is at 0 hops.
  nlohmann::json shell;
  EXPECT_GT(Risk(*graph, "c-shell", &shell), bad);
  EXPECT_EQ(shell["sanctions"]["nearest_hops"], 0);
  EXPECT_EQ(leg->enrich_stats().jobs_failed, 0u);

  // Deterministic: the same graph gives the same answer.
  EnrichRequest r;
  r.entity_id = "p-bad";
  r.entity_type = "person";
  r.payload = "{}";
  r.progress = [](double, std::string_view) {};
  EXPECT_EQ(risk->Enrich(r).value(), risk->Enrich(r).value());

  // A job waits (Busy, retried) until the graph leg applied its event.
  LEG_ASSERT_OK(graph_leg->Stop());
  env.Publish({Ev("person", "p-new", R"({"name":"New Person"})")});
  ASSERT_TRUE(Eventually([&] { return leg->enrich_stats().not_ready > 0; }));
  std::unique_ptr<Leg> graph_leg2 = MakeGraphLeg(env.log(), *graph, TestLegOptions("graph")).value();
  LEG_ASSERT_OK(graph_leg2->Start());
  LEG_ASSERT_OK(leg->WaitForCaughtUp(kWaitUs));
  LEG_ASSERT_OK(graph_leg2->WaitForCaughtUp(kWaitUs));
  EXPECT_GE(Risk(*graph, "p-new"), 0.0);
  EXPECT_EQ(leg->enrich_stats().jobs_failed, 0u);
}

}  // namespace
}  // namespace tandem::enrich_test
