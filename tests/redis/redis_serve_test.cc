// The real `tandem serve` on the Redis bus (issue 7 §2, §3): a redis-server
// started by the test on a free loopback port, the banking sample posted,
// both legs applying it, a restart of serve keeping everything (the log and
// the subscriptions' positions live in Redis), and POST /v1/audit clean.

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "../server/serve_child.h"
#include "redis_server.h"

namespace tandem {
namespace {

using testing::Child;
using testing::Http;
using testing::Reply;
using testing::StartServe;
using testing::TempDir;

std::string RedisBusConfig(uint16_t port) {
  return "server: {port: 0}\n"
         "bus:\n  kind: redis\n  redis: {port: " +
         std::to_string(port) + ", prefix: \"serve-test:\", lease_ttl: 2s, lease_renew: 200ms}\n";
}

// The port `serve` printed (0 and a failure when it printed none).
int Serve(Child& serve) {
  const int port = StartServe(serve);
  EXPECT_GT(port, 0) << serve.Stderr();
  return port;
}

void PostSample(Http& http, int accepted) {
  Reply r =
      http.Post("/v1/events", testing::ReadFile(TANDEM_BANKING_EVENTS), "application/x-ndjson");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["accepted"], accepted) << r.body;
}

void ExpectAgreesAndAuditClean(Http& http) {
  Reply e = http.Get("/v1/entities/p-1004");
  ASSERT_EQ(e.status, 200) << e.body;
  EXPECT_EQ(e.json()["agree"], true) << e.body;
  Reply audit = http.Post("/v1/audit", "", "application/json");
  ASSERT_EQ(audit.status, 200) << audit.body;
  EXPECT_TRUE(audit.json()["clean"].get<bool>()) << audit.body;
}

void StopCleanly(Child& serve) {
  serve.Signal(SIGTERM);
  std::optional<int> code = serve.Wait();
  ASSERT_TRUE(code.has_value()) << "did not exit within 30 s of SIGTERM";
  EXPECT_EQ(*code, 0) << serve.Stderr();
}

TEST(RedisServe, IngestApplyRestartAuditOnTheRedisBus) {
  testing::RedisServer redis;
  ASSERT_TRUE(redis.Start()) << redis.error();
  TempDir dir;
  const std::string config = testing::WriteConfig(dir, RedisBusConfig(redis.port()));
  {
    Child serve({TANDEM_BINARY, "serve", "--config", config});
    Http http(Serve(serve));
    PostSample(http, 57);
    testing::WaitForLegs(http);
    // A retry of the whole file is deduplicated by event_id in Redis.
    PostSample(http, 0);
    testing::WaitForLegs(http);
    StopCleanly(serve);
  }
  // The local data dir holds only the stores: the log is in Redis.
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/data/log/topics"));
  Child serve({TANDEM_BINARY, "serve", "--config", config});
  Http http(Serve(serve));
  testing::Json legs = testing::WaitForLegs(http);
  ASSERT_EQ(legs["legs"].size(), 2u);
  for (const testing::Json& leg : legs["legs"]) {
    // Acked positions live in the consumer groups: nothing is applied again.
    EXPECT_EQ(leg["stats"]["applied"], 0) << leg.dump();
    EXPECT_EQ(leg["stats"]["dead_lettered_permanent"], 0) << leg.dump();
  }
  EXPECT_EQ(http.Get("/v1/entities/p-1004").json()["graph"]["properties"]["risk_rating"], "high");
  Reply topics = http.Get("/v1/admin/topics");
  ASSERT_EQ(topics.status, 200);
  uint64_t records = 0;
  const testing::Json listed = topics.json();
  for (const testing::Json& t : listed["topics"]) records += t["records"].get<uint64_t>();
  EXPECT_EQ(records, 57u) << topics.body;
  ExpectAgreesAndAuditClean(http);
  StopCleanly(serve);
}

// SIGKILL right after ingest: the dead process's leases expire (lease_ttl),
// the restarted one claims what was pending (XAUTOCLAIM) and applies it.
TEST(RedisServe, KilledServeLeavesNothingBehind) {
  testing::RedisServer redis;
  ASSERT_TRUE(redis.Start()) << redis.error();
  TempDir dir;
  const std::string config = testing::WriteConfig(dir, RedisBusConfig(redis.port()));
  {
    Child serve({TANDEM_BINARY, "serve", "--config", config});
    Http http(Serve(serve));
    PostSample(http, 57);
    serve.Signal(SIGKILL);
    ASSERT_TRUE(serve.Wait().has_value());
  }
  Child serve({TANDEM_BINARY, "serve", "--config", config});
  Http http(Serve(serve));
  testing::WaitForLegs(http);
  ExpectAgreesAndAuditClean(http);
  StopCleanly(serve);
}

TEST(RedisServe, RedisDownAtStartExitsNamingIt) {
  const uint16_t port = testing::FreeLoopbackPort();
  TempDir dir;
  const std::string config = testing::WriteConfig(dir, RedisBusConfig(port));
  Child serve({TANDEM_BINARY, "serve", "--config", config});
  std::optional<int> code = serve.Wait();
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0);
  const std::string err = serve.Stderr();
  EXPECT_NE(err.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << err;
}

}  // namespace
}  // namespace tandem
