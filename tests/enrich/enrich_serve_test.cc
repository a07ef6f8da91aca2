// `tandem serve` with enrichment enabled (in process, 127.0.0.1 port 0): the
// banking sample goes in over HTTP, the network_risk leg enriches persons and
// companies, both stores show the result through GET /v1/entities, the
// enrichment metrics are exported, and Stop drains cleanly.

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "../server/server_test_util.h"
#include "tandem/config.h"
#include "tandem/server.h"

namespace tandem {
namespace {

using testing::Http;
using testing::Json;
using testing::Reply;

TEST(EnrichServe, NetworkRiskLegRunsInsideServeAndIsExported) {
  testing::TempDir dir;
  const std::string yaml = "data_dir: " + dir.path() +
                           "\n"
                           "server: {port: 0}\n"
                           "log: {fsync: never}\n"
                           "graph: {sync: false}\n"
                           "vector: {sync: false}\n"
                           "enrichment:\n"
                           "  enabled: true\n"
                           "  enrichers:\n"
                           "    - {name: risk, kind: network_risk, initial_backoff: 1ms, "
                           "max_backoff: 10ms}\n";
  Result<Config> c = ParseConfig(yaml, {});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  Result<std::unique_ptr<Server>> server = Server::Start(*c);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  Http http((*server)->port());
  const Reply posted = http.Post("/v1/events", testing::ReadFile(TANDEM_BANKING_EVENTS),
                                 "application/x-ndjson");
  ASSERT_EQ(posted.status, 200) << posted.body;

  Json entity;
  bool done = false;
  for (int i = 0; i < 6000 && !done; ++i) {  // bounded: 60 s
    entity = http.Get("/v1/entities/p-1001").json();
    done = entity.is_object() && entity["graph"].is_object() && entity["vector"].is_object() &&
           entity["graph"]["properties"].value("enrichment_status", "") == "completed" &&
           entity["vector"]["payload"].value("enrichment_status", "") == "completed";
    if (!done) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(done) << entity.dump();
  EXPECT_TRUE(entity["graph"]["properties"]["network_risk"].is_number());
  EXPECT_EQ(entity["graph"]["properties"]["network_risk"],
            entity["vector"]["payload"]["network_risk"]);
  EXPECT_EQ(entity["graph"]["properties"]["name"], "Maria Schneider");  // input untouched

  const std::string metrics = http.Get("/metrics").body;
  for (const char* want : {"tandem_enrich_jobs_total{enricher=\"risk\",outcome=\"completed\"}",
                           "tandem_enricher_breaker_state{enricher=\"risk\"} 0",
                           "tandem_enricher_duration_seconds_count{enricher=\"risk\"}",
                           "tandem_enrich_queue_depth{enricher=\"risk\"}",
                           "tandem_leg_breaker_state{leg=\"enrich-risk\"}"}) {
    EXPECT_NE(metrics.find(want), std::string::npos) << want;
  }
  EXPECT_TRUE((*server)->Stop().ok());
}

// Per-stage switches: a disabled enricher builds no leg (the stage does
// nothing), and stages.graph.publish makes the graph leg publish CloudEvents
// of what it applied to graph.applied.
TEST(EnrichServe, StageSwitchesFromTheConfig) {
  testing::TempDir dir;
  Result<Config> c = ParseConfig("data_dir: " + dir.path() +
                                     "\nserver: {port: 0}\nlog: {fsync: never}\n"
                                     "graph: {sync: false}\nvector: {sync: false}\n"
                                     "stages: {graph: {publish: true}}\n"
                                     "enrichment:\n  enabled: true\n  enrichers:\n"
                                     "    - {name: risk, kind: network_risk, enabled: false}\n"
                                     "    - {name: later, kind: network_risk, auto_process: false,\n"
                                     "       leg: {ce_types: [x.y], max_age: 1h}}\n",
                                 {});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_FALSE(c->enrichment.enrichers[0].enabled);
  EXPECT_FALSE(c->enrichment.enrichers[1].leg.auto_process);
  EXPECT_EQ(c->enrichment.enrichers[1].leg.leg.ce_types, std::vector<std::string>{"x.y"});
  EXPECT_EQ(c->enrichment.enrichers[1].leg.leg.max_age_us, int64_t{3600} * 1'000'000);
  EXPECT_TRUE(c->stages.graph.publish);
  Result<std::unique_ptr<Server>> server = Server::Start(*c);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  Http http((*server)->port());
  const Json legs = http.Get("/v1/admin/legs").json();
  std::vector<std::string> names;
  for (const Json& l : legs["legs"]) names.push_back(l["name"].get<std::string>());
  EXPECT_EQ(names, (std::vector<std::string>{"graph", "vector", "enrich-later"}));
  ASSERT_EQ(
      http.Post("/v1/events", testing::ReadFile(TANDEM_BANKING_EVENTS), "application/x-ndjson")
          .status,
      200);
  // Every event the graph leg applied (or found already applied) has its record.
  bool published = false;
  uint64_t records = 0, applied = 0;
  for (int i = 0; i < 6000 && !published; ++i) {  // bounded: 60 s
    const Json topics = http.Get("/v1/admin/topics").json();
    const Json legs_now = http.Get("/v1/admin/legs").json();
    for (const Json& t : topics["topics"]) {
      if (t["name"] == "graph.applied") records = t["records"].get<uint64_t>();
    }
    for (const Json& l : legs_now["legs"]) {
      if (l["name"] != "graph") continue;
      applied =
          l["stats"]["applied"].get<uint64_t>() + l["stats"]["skipped_duplicate"].get<uint64_t>();
      published = l["total_lag"] == 0 && applied > 0 && records == applied;
    }
    if (!published) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(published) << records << " records in graph.applied, graph leg applied " << applied;
  // auto_process: false — nothing was enriched by itself.
  const Json p = http.Get("/v1/entities/p-1001").json();
  EXPECT_EQ(p["graph"]["properties"].value("enrichment_status", ""), "");
  EXPECT_TRUE((*server)->Stop().ok());
}

TEST(EnrichServe, ABadEnricherConfigFailsTheStartNamingIt) {
  testing::TempDir dir;
  Result<Config> c = ParseConfig("data_dir: " + dir.path() +
                                     "\nserver: {port: 0}\nenrichment:\n  enabled: true\n"
                                     "  enrichers:\n    - {name: kyc, kind: http, url: "
                                     "'ftp://x/y', fields: [kyc]}\n",
                                 {});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  Result<std::unique_ptr<Server>> server = Server::Start(*c);
  ASSERT_FALSE(server.ok());
  EXPECT_NE(server.status().message().find("enrichment.enrichers kyc"), std::string::npos)
      << server.status().ToString();
  EXPECT_NE(server.status().message().find("url:"), std::string::npos) << server.status().ToString();
}

}  // namespace
}  // namespace tandem
