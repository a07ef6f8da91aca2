// The real `tandem serve` on the Kafka bus (issue 7 §3): librdkafka's mock
// cluster as a separate process (kafka_mock, stopped by PID), the banking
// sample posted over HTTP, both legs applying it, an entity whose stores
// agree, POST /v1/audit clean, and a restart of serve keeping everything (the
// log is in the cluster, the legs' positions in its consumer groups).
//
// The 2.0.2 mock has no CreateTopics, so the config says
// bus.kafka.topic_creation: auto and partitions: 4 (what the mock
// auto-creates; topic_creation auto refuses any other count).
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "../server/serve_child.h"
#include "kafka_test_util.h"

namespace tandem {
namespace {

using testing::Child;
using testing::Http;
using testing::Reply;

constexpr int kSampleEvents = 57;  // examples/banking/events.ndjson

std::string KafkaBusConfig(const std::string& bootstrap) {
  return "server: {port: 0}\n"
         "bus:\n  kind: kafka\n"
         "  kafka: {bootstrap_servers: \"" +
         bootstrap +
         "\", topic_creation: auto, partitions: 4, linger: 1ms,"
         " session_timeout: 6s, metadata_refresh: 1s, request_timeout: 5s,"
         " delivery_timeout: 10s}\n";
}

int Serve(Child& serve) {
  const int port = testing::StartServe(serve);
  EXPECT_GT(port, 0) << (port > 0 ? "" : (serve.Wait(5'000), serve.Stderr()));
  return port;
}

void ExpectAgreesAndAuditClean(Http& http) {
  Reply e = http.Get("/v1/entities/p-1004");
  ASSERT_EQ(e.status, 200) << e.body;
  EXPECT_EQ(e.json()["agree"], true) << e.body;
  EXPECT_EQ(e.json()["graph"]["properties"]["risk_rating"], "high") << e.body;
  Reply audit = http.Post("/v1/audit", "", "application/json");
  ASSERT_EQ(audit.status, 200) << audit.body;
  const testing::Json report = audit.json();
  EXPECT_TRUE(report["clean"].get<bool>()) << audit.body;
  EXPECT_EQ(report["records_read"], kSampleEvents) << audit.body;
  for (const testing::Json& store : report["stores"]) {
    for (const char* k : {"missing", "extra", "stale"}) EXPECT_EQ(store[k], 0) << audit.body;
  }
}

void StopCleanly(Child& serve) {
  serve.Signal(SIGTERM);
  std::optional<int> code = serve.Wait();
  ASSERT_TRUE(code.has_value()) << "did not exit within 30 s of SIGTERM";
  EXPECT_EQ(*code, 0) << serve.Stderr();
}

uint64_t RecordsInTopics(Http& http) {
  Reply topics = http.Get("/v1/admin/topics");
  EXPECT_EQ(topics.status, 200) << topics.body;
  uint64_t records = 0;
  const testing::Json listed = topics.json();
  for (const testing::Json& t : listed["topics"]) {
    if (!t["dlq"].get<bool>()) records += t["records"].get<uint64_t>();
  }
  return records;
}

TEST(KafkaServe, IngestApplyAuditRestartOnTheKafkaBus) {
  kafka_test::MockCluster cluster;
  ASSERT_FALSE(cluster.bootstrap().empty()) << "kafka_mock did not start";
  testing::TempDir dir;
  const std::string config = testing::WriteConfig(dir, KafkaBusConfig(cluster.bootstrap()));
  {
    Child serve({TANDEM_BINARY, "serve", "--config", config});
    Http http(Serve(serve));
    Reply r = http.Post("/v1/events", testing::ReadFile(TANDEM_BANKING_EVENTS),
                        "application/x-ndjson");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json()["accepted"], kSampleEvents) << r.body;
    testing::WaitForLegs(http);
    // A retry of the whole file is deduplicated (the in-process window).
    r = http.Post("/v1/events", testing::ReadFile(TANDEM_BANKING_EVENTS), "application/x-ndjson");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json()["accepted"], 0) << r.body;
    EXPECT_EQ(RecordsInTopics(http), static_cast<uint64_t>(kSampleEvents));
    ExpectAgreesAndAuditClean(http);
    StopCleanly(serve);
  }
  // The local data dir holds only the stores: the log is in the cluster.
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/data/log/topics"));
  Child serve({TANDEM_BINARY, "serve", "--config", config});
  Http http(Serve(serve));
  testing::Json legs = testing::WaitForLegs(http);
  ASSERT_EQ(legs["legs"].size(), 2u) << legs.dump();
  for (const testing::Json& leg : legs["legs"]) {
    // Committed offsets live in the consumer groups: nothing is applied again.
    EXPECT_EQ(leg["stats"]["applied"], 0) << leg.dump();
    EXPECT_EQ(leg["stats"]["dead_lettered_permanent"], 0) << leg.dump();
  }
  EXPECT_EQ(RecordsInTopics(http), static_cast<uint64_t>(kSampleEvents));
  // After a restart the dedup window is rebuilt from the topics' headers.
  Reply again = http.Post("/v1/events", testing::ReadFile(TANDEM_BANKING_EVENTS),
                          "application/x-ndjson");
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.json()["accepted"], 0) << again.body;
  ExpectAgreesAndAuditClean(http);
  StopCleanly(serve);
}

}  // namespace
}  // namespace tandem
