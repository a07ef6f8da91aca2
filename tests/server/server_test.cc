// In-process tests of the HTTP API: Server::Start on 127.0.0.1 port 0 over a
// temp data dir, driven with httplib::Client.
#include "tandem/server.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "env/fault_injection_fs.h"
#include "server/context.h"
#include "server_test_util.h"
#include "tandem/config.h"

namespace tandem {
namespace {

using testing::Http;
using testing::Json;
using testing::Reply;
using testing::TempDir;

constexpr const char* kNdjson = "application/x-ndjson";

class ServerTest : public ::testing::Test {
 protected:
  // `extra` is appended to a config on port 0 without fsyncs (speed only).
  // `server` is the server section (always on port 0).
  void StartServer(const std::string& extra = "", const std::string& server = "{port: 0}") {
    const std::string yaml = "data_dir: " + dir_.path() + "\nserver: " + server +
                             "\nlog: {fsync: never}\n"
                             "graph: {sync: false}\nvector: {sync: false}\n" +
                             extra;
    Result<Config> c = ParseConfig(yaml, {}, "test");
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    config_ = *c;
    Result<std::unique_ptr<Server>> s = Server::Start(config_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
    http_ = std::make_unique<Http>(server_->port());
  }
  void TearDown() override {
    if (server_) {
      EXPECT_TRUE(server_->Stop().ok());
    }
  }
  Reply IngestBanking(const httplib::Headers& h = {}) {
    return http_->Post("/v1/events", testing::ReadFile(TANDEM_BANKING_EVENTS), kNdjson, h);
  }

  TempDir dir_;
  Config config_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<Http> http_;
};

TEST_F(ServerTest, IngestsTheBankingSampleAndReportsDuplicatesOnRepost) {
  StartServer();
  Reply r = IngestBanking();
  ASSERT_EQ(r.status, 200) << r.body;
  Json j = r.json();
  ASSERT_EQ(j["results"].size(), 59u);
  // Lines 53 and 59 repeat evt-0021 (line 21) and evt-0037 (line 37): a
  // producer's retries, answered from the log's dedup window.
  EXPECT_EQ(j["accepted"], 57);
  EXPECT_EQ(j["duplicates"], 2);
  EXPECT_EQ(j["rejected"], 0);
  EXPECT_EQ(j["results"][52]["status"], "duplicate");
  EXPECT_EQ(j["results"][58]["status"], "duplicate");
  EXPECT_EQ(j["results"][58]["offset"], j["results"][36]["offset"]);
  EXPECT_EQ(j["results"][58]["partition"], j["results"][36]["partition"]);
  EXPECT_EQ(j["results"][0]["topic"], "person");
  EXPECT_EQ(j["results"][0]["line"], 1);

  Reply again = IngestBanking();
  ASSERT_EQ(again.status, 200);
  EXPECT_EQ(again.json()["accepted"], 0);
  EXPECT_EQ(again.json()["duplicates"], 59);
  EXPECT_EQ(again.json()["results"][3]["offset"], j["results"][3]["offset"]);
}

TEST_F(ServerTest, ABadItemIsRejectedWithItsFieldAndTheOthersAppended) {
  StartServer();
  const std::string body =
      R"([{"event_type":"create","entity_type":"person","entity_id":"p-1","payload":{"name":"A"}},)"
      R"({"event_type":"create","entity_type":"person","payload":{}},)"
      R"({"event_type":"create","entity_type":"person","entity_id":"p-2","version":0}])";
  Reply r = http_->Post("/v1/events", body, "application/json");
  ASSERT_EQ(r.status, 200) << r.body;
  Json j = r.json();
  EXPECT_EQ(j["accepted"], 1);
  EXPECT_EQ(j["rejected"], 2);
  EXPECT_EQ(j["results"][0]["status"], "appended");
  EXPECT_EQ(j["results"][1]["status"], "rejected");
  EXPECT_EQ(j["results"][1]["errors"][0].get<std::string>().rfind("entity_id:", 0), 0u)
      << j["results"][1];
  EXPECT_EQ(j["results"][2]["errors"][0].get<std::string>().rfind("version:", 0), 0u)
      << j["results"][2];
  // Nothing of the rejected items reached the log.
  Reply topics = http_->Get("/v1/admin/topics");
  ASSERT_EQ(topics.status, 200);
  EXPECT_EQ(topics.json()["topics"][0]["records"], 1);
}

TEST_F(ServerTest, AllItemsBadIs400WithTheSameBody) {
  StartServer();
  Reply r = http_->Post("/v1/events", "{\"entity_type\":\"Person\"}\n{\"x\":1}\n", kNdjson);
  ASSERT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.header("Content-Type"), "application/json");
  Json j = r.json();
  EXPECT_EQ(j["rejected"], 2);
  EXPECT_EQ(j["results"][1]["line"], 2);
  EXPECT_EQ(j["results"][1]["status"], "rejected");
  Reply bad = http_->Post("/v1/events", "{not json", "application/json");
  EXPECT_EQ(bad.status, 400);
  Reply type = http_->Post("/v1/events", "a,b", "text/csv");
  EXPECT_EQ(type.status, 415);
  EXPECT_NE(type.json()["error"]["message"].get<std::string>().find("Content-Type"),
            std::string::npos);
}

TEST_F(ServerTest, OversizeBodyIs413) {
  StartServer("events: {max_batch_size: 2048}\n");
  // max_body has a floor of 1 KiB in the config; set it below the body here.
  Reply big = http_->Post("/v1/events", std::string(3000, ' '), kNdjson);
  EXPECT_EQ(big.status, 413) << big.body;
  EXPECT_EQ(big.json()["error"]["code"], "too_large");
  EXPECT_TRUE(server_->Stop().ok());
  server_.reset();
  TempDir other;
  Result<Config> c = ParseConfig(
      "data_dir: " + other.path() + "\nserver: {port: 0, max_body: 1KiB}\nlog: {fsync: never}\n",
      {}, "test");
  ASSERT_TRUE(c.ok());
  Result<std::unique_ptr<Server>> s = Server::Start(*c);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  Http http((*s)->port());
  Reply r = http.Post("/v1/events", std::string(2048, ' '), kNdjson);
  EXPECT_EQ(r.status, 413) << r.body;
  EXPECT_EQ(r.json()["error"]["code"], "too_large");
  EXPECT_EQ(http.Get("/livez").status, 200);  // still serving
  EXPECT_TRUE((*s)->Stop().ok());
}

TEST_F(ServerTest, CloudEventsInBinaryStructuredAndBatchModes) {
  StartServer();
  httplib::Headers ce = {{"ce-specversion", "1.0"}, {"ce-id", "42"},
                         {"ce-source", "/crm"},     {"ce-type", "com.bank.person.created"},
                         {"ce-subject", "p-77"},    {"ce-entitytype", "person"},
                         {"ce-eventtype", "create"}};
  Reply r = http_->Post("/v1/events", R"({"name":"Ada"})", "application/json", ce);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["results"][0]["status"], "appended");
  EXPECT_EQ(r.json()["results"][0]["event_id"], "ce:4:/crm:42");
  EXPECT_EQ(r.json()["results"][0]["entity_id"], "p-77");
  Reply dup = http_->Post("/v1/events", R"({"name":"Ada"})", "application/json", ce);
  EXPECT_EQ(dup.json()["results"][0]["status"], "duplicate");

  const std::string structured =
      R"({"specversion":"1.0","id":"43","source":"/crm","type":"t","subject":"p-78",)"
      R"("entitytype":"person","eventtype":"create","data":{"name":"Bo"}})";
  Reply s = http_->Post("/v1/events", structured, "application/cloudevents+json");
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_EQ(s.json()["accepted"], 1);
  Reply b = http_->Post("/v1/events", "[" + structured + "]", "application/cloudevents-batch+json");
  ASSERT_EQ(b.status, 200) << b.body;
  EXPECT_EQ(b.json()["duplicates"], 1);
  httplib::Headers missing = ce;
  missing.erase("ce-subject");
  Reply bad = http_->Post("/v1/events", "{}", "application/json", missing);
  EXPECT_EQ(bad.status, 400) << bad.body;
}

TEST_F(ServerTest, EntityAgreesAcrossStoresAfterTheLegsCatchUp) {
  StartServer();
  ASSERT_EQ(IngestBanking().status, 200);
  const Json legs = testing::WaitForLegs(*http_);
  ASSERT_EQ(legs["legs"].size(), 2u);
  for (const Json& leg : legs["legs"]) {
    EXPECT_EQ(leg["breaker"], "closed");
    EXPECT_EQ(leg["stats"]["applied"], 57) << leg["name"];
  }
  Reply r = http_->Get("/v1/entities/p-1004");
  ASSERT_EQ(r.status, 200) << r.body;
  Json j = r.json();
  EXPECT_EQ(j["agree"], true) << j.dump(2);
  EXPECT_EQ(j["graph"]["label"], "person");
  EXPECT_EQ(j["graph"]["version"], 2);
  EXPECT_EQ(j["graph"]["properties"]["kyc_status"], "escalated");
  EXPECT_EQ(j["graph"]["edges"]["out"]["owns"], 1);
  EXPECT_EQ(j["graph"]["edges"]["out"]["director_of"], 1);
  EXPECT_EQ(j["vector"]["entity_type"], "person");
  EXPECT_EQ(j["vector"]["indexed"], true);
  EXPECT_EQ(j["positions"]["graph"]["event_id"], "evt-0037");
  EXPECT_EQ(j["positions"]["vector"]["event_id"], "evt-0037");
  EXPECT_EQ(http_->Get("/v1/entities/nobody").status, 404);
}

TEST_F(ServerTest, SearchFindsTheMisspelledNameWithItsGraphContext) {
  StartServer();
  ASSERT_EQ(IngestBanking().status, 200);
  testing::WaitForLegs(*http_);
  Reply r = http_->Get("/v1/search?q=Viktor%20Petrof&type=person&k=3");
  ASSERT_EQ(r.status, 200) << r.body;
  Json j = r.json();
  ASSERT_FALSE(j["hits"].empty());
  const Json& top = j["hits"][0];
  EXPECT_EQ(top["entity_id"], "p-1004");
  EXPECT_EQ(top["entity_type"], "person");
  std::set<std::string> ids;
  for (const Json& v : top["graph"]["vertices"]) ids.insert(v["id"].get<std::string>());
  EXPECT_TRUE(ids.contains("a-3004")) << top["graph"].dump();  // the account it owns
  EXPECT_TRUE(ids.contains("c-2003")) << top["graph"].dump();  // director of
  bool owns = false;
  for (const Json& e : top["graph"]["edges"]) {
    owns |= e["label"] == "owns" && e["from"] == "p-1004" && e["to"] == "a-3004";
  }
  EXPECT_TRUE(owns);
  for (const Json& h : j["hits"]) EXPECT_EQ(h["entity_type"], "person");

  // Filters: nationality=RU keeps p-1004; the wrong nationality drops it.
  Reply ru = http_->Get("/v1/search?q=Viktor%20Petrof&nationality=RU&enrich=0");
  ASSERT_EQ(ru.status, 200) << ru.body;
  ASSERT_FALSE(ru.json()["hits"].empty());
  EXPECT_EQ(ru.json()["hits"][0]["entity_id"], "p-1004");
  EXPECT_EQ(ru.json()["hits"][0]["graph"]["vertices"].size(), 1u);
  Reply de = http_->Get("/v1/search?q=Viktor%20Petrof&nationality__ne=RU&type=person");
  ASSERT_EQ(de.status, 200) << de.body;
  const Json others = de.json();
  for (const Json& h : others["hits"]) EXPECT_NE(h["entity_id"], "p-1004");
}

TEST_F(ServerTest, BadSearchParametersAre400NamingTheParameter) {
  StartServer();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"/v1/search?q=x&k=0", "k:"},
      {"/v1/search?q=x&k=1001", "k:"},
      {"/v1/search?q=x&enrich=4", "enrich:"},
      {"/v1/search?q=x&amount__between=3", "amount__between:"},
      {"/v1/search?k=3", "q:"},
      {"/v1/search?q=x&exact=maybe", "exact:"},
  };
  for (const auto& [path, name] : cases) {
    Reply r = http_->Get(path);
    EXPECT_EQ(r.status, 400) << path << " " << r.body;
    EXPECT_EQ(r.json()["error"]["code"], "invalid_argument") << path;
    EXPECT_EQ(r.json()["error"]["message"].get<std::string>().rfind(name, 0), 0u) << r.body;
  }
}

TEST_F(ServerTest, NeighborsAndShortestPath) {
  StartServer();
  ASSERT_EQ(IngestBanking().status, 200);
  testing::WaitForLegs(*http_);
  Reply n = http_->Get("/v1/graph/p-1004/neighbors?direction=out&label=owns");
  ASSERT_EQ(n.status, 200) << n.body;
  ASSERT_EQ(n.json()["edges"].size(), 1u);
  EXPECT_EQ(n.json()["edges"][0]["neighbor"], "a-3004");
  Reply all = http_->Get("/v1/graph/p-1004/neighbors?limit=2");
  EXPECT_EQ(all.json()["edges"].size(), 2u);
  EXPECT_EQ(http_->Get("/v1/graph/nobody/neighbors").status, 404);
  EXPECT_EQ(http_->Get("/v1/graph/p-1004/neighbors?direction=up").status, 400);

  Reply p = http_->Get("/v1/graph/path?from=p-1004&to=c-2003");
  ASSERT_EQ(p.status, 200) << p.body;
  EXPECT_EQ(p.json()["length"], 1);
  EXPECT_EQ(p.json()["vertices"], Json({"p-1004", "c-2003"}));
  Reply far = http_->Get("/v1/graph/path?from=p-1004&to=p-1005");
  ASSERT_EQ(far.status, 200) << far.body;
  EXPECT_EQ(far.json()["length"], 2);  // via the communication m-5001
  Reply none = http_->Get("/v1/graph/path?from=p-1004&to=p-1001&max_depth=1");
  EXPECT_EQ(none.status, 404) << none.body;
  EXPECT_NE(none.body.find("no path within max_depth"), std::string::npos);
  EXPECT_EQ(http_->Get("/v1/graph/path?from=p-1004").status, 400);
}

TEST_F(ServerTest, TokenGuardsWritesAndAdminButNotReads) {
  StartServer("", "{port: 0, auth_token: s3cret}");
  const std::string ev =
      R"({"event_type":"create","entity_type":"person","entity_id":"p-1","payload":{}})";
  Reply none = http_->Post("/v1/events", ev, "application/json");
  EXPECT_EQ(none.status, 401);
  EXPECT_NE(none.header("WWW-Authenticate").find("Bearer"), std::string::npos);
  EXPECT_EQ(none.json()["error"]["code"], "unauthenticated");
  Reply wrong =
      http_->Post("/v1/events", ev, "application/json", {{"Authorization", "Bearer s3cre"}});
  EXPECT_EQ(wrong.status, 401);
  const httplib::Headers auth = {{"Authorization", "Bearer s3cret"}};
  EXPECT_EQ(http_->Post("/v1/events", ev, "application/json", auth).status, 200);
  EXPECT_EQ(http_->Get("/v1/admin/topics").status, 401);
  EXPECT_EQ(http_->Get("/v1/admin/legs").status, 401);
  EXPECT_EQ(http_->Post("/v1/admin/dlq/person/replay", "", "application/json").status, 401);
  EXPECT_EQ(http_->Get("/v1/admin/topics", auth).status, 200);
  testing::WaitForLegs(*http_, auth);
  EXPECT_EQ(http_->Get("/v1/entities/p-1").status, 200);
  EXPECT_EQ(http_->Get("/v1/search?q=x").status, 200);
  EXPECT_EQ(http_->Get("/metrics").status, 200);
  EXPECT_EQ(http_->Get("/readyz").status, 200);
}

TEST(ServerHelpers, ConstantTimeEqualsAndRouteLabels) {
  EXPECT_TRUE(server::ConstantTimeEquals("s3cret", "s3cret"));
  EXPECT_FALSE(server::ConstantTimeEquals("s3cret", "s3cre"));
  EXPECT_FALSE(server::ConstantTimeEquals("s3cret", "s3cret!"));
  EXPECT_FALSE(server::ConstantTimeEquals("s3cret", "S3cret"));
  EXPECT_FALSE(server::ConstantTimeEquals("", "x"));
  EXPECT_EQ(server::RouteLabel("GET", "/v1/entities/p-1"), "/v1/entities/{id}");
  EXPECT_EQ(server::RouteLabel("GET", "/v1/graph/p-1/neighbors"), "/v1/graph/{id}/neighbors");
  EXPECT_EQ(server::RouteLabel("POST", "/v1/admin/dlq/person/replay"), "/v1/admin/dlq/{t}/replay");
  EXPECT_EQ(server::RouteLabel("GET", "/etc/passwd"), "other");
}

TEST_F(ServerTest, MetricsExposeTheDocumentedFamiliesInTextFormat) {
  StartServer();
  ASSERT_EQ(IngestBanking().status, 200);
  ASSERT_EQ(http_->Post("/v1/events", "{}", "application/json").status, 400);
  testing::WaitForLegs(*http_);
  Reply m = http_->Get("/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_EQ(m.header("Content-Type"), "text/plain; version=0.0.4");
  for (const char* name :
       {"tandem_events_published_total{topic=\"person\"} 14",
        "tandem_events_rejected_total{reason=\"invalid_argument\"} 1",
        "tandem_publish_duration_seconds_bucket", "tandem_publish_duration_seconds_count",
        "tandem_http_requests_total{code=\"200\",route=\"/v1/events\"}",
        "tandem_http_request_duration_seconds_bucket",
        "tandem_leg_events_total{leg=\"graph\",outcome=\"applied\"} 57",
        "tandem_leg_events_total{leg=\"vector\",outcome=\"skipped_stale\"}",
        "tandem_leg_events_total{leg=\"vector\",outcome=\"dead_lettered\"} 0",
        "tandem_leg_lag_events{leg=\"graph\",partition=\"0\",topic=\"person\"} 0",
        "tandem_leg_breaker_state{leg=\"vector\"} 0", "tandem_leg_retries_total{leg=\"graph\"}",
        "tandem_dlq_events_total{leg=\"graph\",reason=\"permanent\"} 0",
        "tandem_embeddings_computed_total", "tandem_embeddings_skipped_total"}) {
    EXPECT_NE(m.body.find(name), std::string::npos) << name << "\n" << m.body;
  }
  const std::regex sample(
      R"(^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? )"
      R"(([-+]?[0-9.eE+-]+|NaN|[+-]Inf)$)");
  std::istringstream lines(m.body);
  std::string line;
  int samples = 0;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    EXPECT_TRUE(std::regex_match(line, sample)) << line;
    ++samples;
  }
  EXPECT_GT(samples, 50);
}

TEST_F(ServerTest, ReadinessFollowsStartAndShutdown) {
  StartServer();
  EXPECT_EQ(http_->Get("/readyz").status, 200);
  EXPECT_EQ(http_->Get("/healthz").status, 200);
  EXPECT_EQ(http_->Get("/livez").status, 200);
  server_->RequestShutdown();
  server_->WaitForShutdownSignal();  // returns at once: the shutdown was requested
  Reply r = http_->Get("/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.json()["error"]["message"], "shutting down");
  EXPECT_EQ(http_->Get("/healthz").status, 503);
  EXPECT_EQ(http_->Get("/livez").status, 200);
  EXPECT_TRUE(server_->Stop().ok());
  EXPECT_TRUE(server_->Stop().ok());          // idempotent
  EXPECT_EQ(http_->Get("/livez").status, 0);  // nobody listens any more
  EXPECT_EQ(http_->Get("/nope").status, 0);
}

TEST_F(ServerTest, DiskFullIs503WithRetryAfterAndNothingHalfAcknowledged) {
  std::unique_ptr<FileSystem> posix = NewPosixFileSystem();
  FaultInjectionFileSystem fs(*posix);
  Result<Config> c = ParseConfig("data_dir: " + dir_.path() + "\nserver: {port: 0}\n", {}, "t");
  ASSERT_TRUE(c.ok());
  c->log.fs = &fs;
  Result<std::unique_ptr<Server>> s = Server::Start(*c);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  Http http((*s)->port());
  const std::string ev =
      R"({"event_id":"e-1","event_type":"create","entity_type":"person","entity_id":"p-1","payload":{}})";
  FaultSpec full;
  full.op_mask = FileOpBit(FileOp::kWrite);
  full.fail_after = 1;
  full.persistent = true;
  full.error = InjectedError::kNoSpace;
  fs.SetFault(full);
  Reply r = http.Post("/v1/events", ev, "application/json");
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(r.header("Retry-After"), "5");
  EXPECT_EQ(r.json()["error"]["code"], "no_space");
  EXPECT_EQ(r.json()["error"]["message"].get<std::string>().rfind("disk full", 0), 0u) << r.body;
  EXPECT_EQ(http.Get("/livez").status, 200);  // the server stays up
  Reply m = http.Get("/metrics");
  EXPECT_NE(m.body.find("tandem_publish_failures_total{code=\"no_space\"} 1"), std::string::npos);
  fs.ClearFaults();
  Reply again = http.Post("/v1/events", ev, "application/json");
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.json()["accepted"], 1) << again.body;  // the failed one was not acknowledged
  EXPECT_TRUE((*s)->Stop().ok());
}

TEST(ServerStart, BadSchemaFileIsInvalidArgumentNamingTheKey) {
  TempDir dir;
  std::ofstream(dir.path() + "/schema.json") << R"({"references":[{"entity_type":"x"}]})";
  Result<Config> c = ParseConfig("data_dir: " + dir.path() + "\nserver: {port: 0}\n" +
                                     "graph: {schema_file: " + dir.path() + "/schema.json}\n",
                                 {}, "t");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  Result<std::unique_ptr<Server>> s = Server::Start(*c);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.status().message().rfind("graph.schema_file: ", 0), 0u) << s.status().ToString();
  c->graph.schema_file = dir.path() + "/missing.json";
  Result<std::unique_ptr<Server>> missing = Server::Start(*c);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("missing.json"), std::string::npos);
}

TEST_F(ServerTest, UnknownRouteIsJson404) {
  StartServer();
  Reply r = http_->Get("/v2/whatever");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.json()["error"]["code"], "not_found");
}

TEST_F(ServerTest, DeadLettersAreListedAndReplayed) {
  StartServer();
  // Unversioned events of one entity id in two topics cannot be ordered: the
  // store that sees the second one refuses it permanently (dead letter).
  const std::string body =
      R"({"event_id":"e-a","event_type":"upsert","entity_type":"person","entity_id":"x-1","payload":{"name":"Ann"}})"
      "\n"
      R"({"event_id":"e-b","event_type":"upsert","entity_type":"company","entity_id":"x-1","payload":{"name":"Ann Ltd"}})"
      "\n";
  ASSERT_EQ(http_->Post("/v1/events", body, kNdjson).status, 200);
  testing::WaitForLegs(*http_);
  Reply d = http_->Get("/v1/admin/dlq");
  ASSERT_EQ(d.status, 200) << d.body;
  std::string source;
  int dlq_partition = -1;
  const Json dlq = d.json();
  for (const Json& t : dlq["dlq"]) {
    for (const Json& e : t["entries"]) {
      EXPECT_FALSE(e["reason"].get<std::string>().empty()) << e;
      EXPECT_EQ(e["key"], "x-1");
      source = t["source_topic"].get<std::string>();
      dlq_partition = e["partition"].get<int>();
    }
  }
  ASSERT_FALSE(source.empty()) << d.body;
  Reply plain = http_->Post("/v1/admin/dlq/" + source + "/replay", "", "application/json");
  ASSERT_EQ(plain.status, 200) << plain.body;
  EXPECT_EQ(plain.json()["appended"], 0);
  EXPECT_GE(plain.json()["duplicates"], 1);
  EXPECT_TRUE(plain.json().contains("hint"));
  Reply fresh =
      http_->Post("/v1/admin/dlq/" + source + "/replay?new_ids=true", "", "application/json");
  ASSERT_EQ(fresh.status, 200) << fresh.body;
  EXPECT_GE(fresh.json()["appended"], 1);
  EXPECT_NE(fresh.json()["results"][0]["event_id"].get<std::string>().find("#replay-"),
            std::string::npos);
  // Replaying the same dead letters again is idempotent: same derived ids.
  Reply twice =
      http_->Post("/v1/admin/dlq/" + source + "/replay?new_ids=true", "", "application/json");
  EXPECT_EQ(twice.json()["appended"], 0);
  EXPECT_EQ(http_->Post("/v1/admin/dlq/nothing/replay", "", "application/json").status, 404);

  Reply peek = http_->Get("/v1/admin/topics/" + source +
                          ".dlq/records?limit=5&partition=" + std::to_string(dlq_partition));
  ASSERT_EQ(peek.status, 200) << peek.body;
  EXPECT_FALSE(peek.json()["records"].empty());
  EXPECT_TRUE(peek.json()["records"][0]["value"].is_object());
  EXPECT_EQ(http_->Get("/v1/admin/topics/person/records?partition=999").status, 400);
  EXPECT_EQ(http_->Get("/v1/admin/topics/nope/records").status, 404);
}

}  // namespace
}  // namespace tandem
