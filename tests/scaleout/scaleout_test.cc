// Scale-out (issue 7 §6): two real `tandem serve` processes sharing one
// redis-server (bus.kind redis, same prefix: same topics, dedup and consumer
// groups) and one PostgreSQL 15 (graph.backend postgres, same tables). Events
// go through either server, alternating; one server is SIGKILLed mid-run and
// ingest continues through the survivor, which takes over the dead one's
// partitions once their leases (lease_ttl) lapse and claims its pending
// messages. At the end every acknowledged event is applied (each entity's
// applied marker is its latest event in the log) and POST /v1/audit on the
// survivor is clean. The killed server is then restarted and both report the
// same entities.
//
// The vector store is off here (vector.enabled: false): pgvector is only
// available as PGlite on this machine, which serves one connection at a
// time, so two servers cannot share it. With a real PostgreSQL + pgvector
// both servers would set vector.backend: pgvector with the same url and
// table_prefix (docs/scaleout.md).
#include <gtest/gtest.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "../pg_fixture/pg_server.h"
#include "../redis/redis_server.h"
#include "../server/serve_child.h"

namespace tandem {
namespace {

using testing::Child;
using testing::Http;
using testing::Json;
using testing::Reply;
using testing::TempDir;

constexpr int kEntities = 40;    // p-0, a-1, p-2, a-3, ...: persons and accounts
constexpr int kRounds = 160;     // one POST of kEntities events per round
constexpr int kKillAfter = 10;   // B is killed once this many rounds are acknowledged
constexpr int kGateAfter = 140;  // later rounds wait (bounded) until the kill happened
constexpr int kMaxAttempts = 100;  // per round, 50 ms apart
constexpr auto kPace = std::chrono::milliseconds(25);  // between rounds: the kill lands mid-flow

std::string EntityId(int i) { return (i % 2 == 0 ? "p-" : "a-") + std::to_string(i); }

std::string EventId(int round, int i) {
  return "r" + std::to_string(round) + "-" + EntityId(i);
}

// Round `round`: an upsert of every entity carrying the round number; each
// account references the person before it (an `owns` edge in PostgreSQL).
std::string RoundBody(int round) {
  std::string body;
  for (int i = 0; i < kEntities; ++i) {
    Json payload{{"name", "entity " + std::to_string(i)}, {"seq", round}};
    if (i % 2 == 1) payload["owner_id"] = EntityId(i - 1);
    Json e{{"event_id", EventId(round, i)},
           {"event_type", "upsert"},
           {"entity_type", i % 2 == 0 ? "person" : "account"},
           {"entity_id", EntityId(i)},
           {"payload", payload}};
    body += e.dump() + "\n";
  }
  return body;
}

// `leg` adds keys to graph.leg (B holds its batches longer, so it dies with
// messages in flight that A must claim).
std::string ServeConfig(const TempDir& dir, uint16_t redis_port, const std::string& pg_url,
                        const std::string& leg) {
  const std::string path = dir.path() + "/tandem.yaml";
  std::ofstream(path)
      << "data_dir: " << dir.path() << "/data\n"
      << "server: {port: 0, shutdown_timeout: 5s}\n"
      << "bus:\n  kind: redis\n"
      << "  redis: {port: " << redis_port
      << ", prefix: \"scaleout:\", partitions: 4, lease_ttl: 2s, lease_renew: 200ms,"
         " connect_timeout: 1s, command_timeout: 2s, reconnect_backoff_max: 500ms}\n"
      << "graph:\n  backend: postgres\n"
      << "  postgres: {url: \"" << pg_url
      << "\", table_prefix: scaleout, statement_timeout: 10s, acquire_timeout: 10s}\n"
      << "  leg: {commit_interval: 100ms, redelivery: {backoff_base: 10ms, backoff_max: 200ms}"
      << leg << "}\n"
      << "vector: {enabled: false}\n";
  return path;
}

int Serve(Child& serve) {
  const int port = testing::StartServe(serve);
  EXPECT_GT(port, 0) << (port > 0 ? "" : (serve.Wait(5'000), serve.Stderr()));
  return port;
}

// What the ingest thread did; read after it was joined (and `acked` live).
struct IngestResult {
  std::atomic<int> acked{0};         // rounds acknowledged
  int redirected = 0;                // rounds meant for B that A took
  int failed_requests = 0;           // requests without a 200 (retried)
  bool all_acked = false;
};

// Posts the rounds, even ones to A and odd ones to B. Once B fails (no reply
// or not 200: unknown outcome) the round is retried with the same event_ids
// on A, which deduplicates whatever B had appended; B is not tried again.
// Rounds past kGateAfter wait (at most 30 s) for `killed`, so part of the run
// is guaranteed to happen after the kill.
void Ingest(int port_a, int port_b, const std::atomic<bool>& killed, IngestResult* out) {
  Http a(port_a), b(port_b);
  bool b_up = true;
  for (int round = 0; round < kRounds; ++round) {
    for (int w = 0; round >= kGateAfter && !killed && w < 3000; ++w) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::this_thread::sleep_for(kPace);
    const std::string body = RoundBody(round);
    bool ok = false;
    for (int attempt = 0; attempt < kMaxAttempts && !ok; ++attempt) {
      const bool to_b = round % 2 == 1 && b_up;
      Reply r = (to_b ? b : a).Post("/v1/events", body, "application/x-ndjson");
      ok = r.status == 200;
      if (ok) break;
      ++out->failed_requests;
      if (to_b) {
        b_up = false;
        continue;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!ok) return;
    if (round % 2 == 1 && !b_up) ++out->redirected;
    out->acked = round + 1;
  }
  out->all_acked = true;
}

// The graph leg's counters of a server (null when it does not answer).
Json LegStats(Http& http) {
  Reply r = http.Get("/v1/admin/legs");
  if (r.status != 200) return nullptr;
  const Json legs = r.json();
  return legs["legs"].empty() ? Json(nullptr) : legs["legs"][0]["stats"];
}

bool Applied(const Json& stats) {
  return !stats.is_null() && stats["applied"].get<uint64_t>() > 0;
}

// Entries of the graph group's pending lists idle for at least `idle_ms`,
// over every partition stream (redis-cli; key layout in src/redis/README.md).
// Taken after the kill and before lease_ttl, they are what B had read and not
// acknowledged: A's own entries are never idle that long (5 ms batches).
int IdlePending(uint16_t redis_port, int idle_ms) {
  int entries = 0;
  for (const char* topic : {"person", "account"}) {
    for (int p = 0; p < 4; ++p) {
      const std::string cmd = "redis-cli -p " + std::to_string(redis_port) +
                              " --raw XPENDING 'scaleout:{" + topic + ":" + std::to_string(p) +
                              "}:s' graph IDLE " + std::to_string(idle_ms) + " - + 100000";
      FILE* f = popen(cmd.c_str(), "r");
      if (f == nullptr) return -1;
      int lines = 0;
      bool error = false;  // NOGROUP, ERR, ...: redis-cli still exits 0
      for (int c, col = 0; (c = std::fgetc(f)) != EOF; col = c == '\n' ? 0 : col + 1) {
        lines += c == '\n';
        error |= col == 0 && std::isupper(c);
      }
      if (pclose(f) != 0 || error) return -1;
      entries += lines / 4;  // id, consumer, idle ms, delivery count
    }
  }
  return entries;
}

// Every entity's applied marker names its last acknowledged event (round
// kRounds - 1) and its vertex carries that round's payload.
void ExpectEveryEventApplied(Http& http, const std::string& who) {
  int wrong = 0;
  for (int i = 0; i < kEntities; ++i) {
    Reply r = http.Get("/v1/entities/" + EntityId(i));
    ASSERT_EQ(r.status, 200) << who << " " << EntityId(i) << ": " << r.body;
    const Json j = r.json();
    const bool right = j["positions"]["graph"]["event_id"] == EventId(kRounds - 1, i) &&
                       j["graph"]["properties"]["seq"] == kRounds - 1 && j["agree"] == true;
    if (!right && ++wrong <= 3) ADD_FAILURE() << who << " " << EntityId(i) << ": " << r.body;
  }
  EXPECT_EQ(wrong, 0) << who;
  // The `owns` edges written by both servers are in the shared tables.
  Reply p = http.Get("/v1/entities/p-0");
  EXPECT_EQ(p.json()["graph"]["edges"]["out"]["owns"], 1) << p.body;
}

void ExpectAuditClean(Http& http, const std::string& who) {
  Reply audit = http.Post("/v1/audit", "", "application/json");
  ASSERT_EQ(audit.status, 200) << who << ": " << audit.body;
  const Json j = audit.json();
  EXPECT_TRUE(j["clean"].get<bool>()) << who << ": " << audit.body;
  EXPECT_EQ(j["records_read"], kRounds * kEntities) << who << ": " << audit.body;
  ASSERT_EQ(j["stores"].size(), 1u) << audit.body;
  const Json& g = j["stores"][0];
  EXPECT_EQ(g["name"], "graph");
  EXPECT_EQ(g["checked"], kEntities) << audit.body;
  for (const char* k : {"missing", "extra", "stale", "dead_lettered"}) {
    EXPECT_EQ(g[k], 0) << who << " " << k << ": " << audit.body;
  }
}

void StopCleanly(Child& serve, const std::string& who) {
  serve.Signal(SIGTERM);
  std::optional<int> code = serve.Wait();
  ASSERT_TRUE(code.has_value()) << who << " did not exit within 30 s of SIGTERM";
  EXPECT_EQ(*code, 0) << who << ": " << serve.Stderr();
}

TEST(ScaleOut, TwoServersOnRedisAndPostgresSurviveTheLossOfOne) {
  testing::RedisServer redis;
  ASSERT_TRUE(redis.Start()) << redis.error();
  Result<std::unique_ptr<pg_test::PgServer>> pg = pg_test::PgServer::Start({});
  ASSERT_TRUE(pg.ok()) << pg.status().ToString();
  ASSERT_TRUE((*pg)->CreateDatabase("scaleout").ok());
  const std::string pg_url =
      "postgresql://postgres@127.0.0.1:" + std::to_string((*pg)->port()) + "/scaleout";
  TempDir dir_a, dir_b;
  const std::string config_a = ServeConfig(dir_a, redis.port(), pg_url, "");
  const std::string config_b =
      ServeConfig(dir_b, redis.port(), pg_url, ", batch_delay: 1s, batch_events: 100000");

  Child serve_a({TANDEM_BINARY, "serve", "--config", config_a});
  const int port_a = Serve(serve_a);
  ASSERT_GT(port_a, 0);
  auto serve_b = std::make_unique<Child>(std::vector<std::string>{TANDEM_BINARY, "serve",
                                                                  "--config", config_b});
  const int port_b = Serve(*serve_b);
  ASSERT_GT(port_b, 0);
  Http http_a(port_a), http_b(port_b);

  std::atomic<bool> killed{false};
  IngestResult ingest;
  std::thread writer(Ingest, port_a, port_b, std::cref(killed), &ingest);
  // B must be applying (holding partitions) before it dies: bounded waits.
  for (int i = 0; i < 3000 && ingest.acked < kKillAfter; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Json b_stats;
  for (int i = 0; i < 1000 && !Applied(b_stats); ++i) {
    b_stats = LegStats(http_b);
    if (!Applied(b_stats)) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  serve_b->Signal(SIGKILL);
  const auto killed_at = std::chrono::steady_clock::now();
  killed = true;
  const int acked_at_kill = ingest.acked;
  // Half way through B's lease_ttl (2 s): what B left pending, for the record.
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  const int orphaned = IdlePending(redis.port(), 1000);
  writer.join();
  ASSERT_TRUE(serve_b->Wait().has_value());
  serve_b.reset();

  ASSERT_TRUE(Applied(b_stats)) << "B never applied anything: " << b_stats.dump();
  const uint64_t applied_by_b = b_stats["applied"].get<uint64_t>();
  EXPECT_GE(orphaned, 0) << "redis-cli XPENDING failed";
  ASSERT_TRUE(ingest.all_acked) << "acknowledged rounds: " << ingest.acked;
  EXPECT_LT(acked_at_kill, kRounds) << "the kill must happen mid-run";
  EXPECT_GT(ingest.redirected, 0) << "no round meant for B went to A";

  // A takes over B's partitions after lease_ttl and applies what B held.
  testing::WaitForLegs(http_a);
  const double caught_up_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count();
  const Json legs_a = http_a.Get("/v1/admin/legs").json();
  std::printf("scaleout: B applied %llu and left %d pending when SIGKILLed after %d of %d "
              "rounds; A caught up %.2f s after the kill (lease_ttl 2s); %d requests retried on "
              "A; A's leg: %s\n",
              static_cast<unsigned long long>(applied_by_b), orphaned, acked_at_kill, kRounds,
              caught_up_s, ingest.failed_requests, legs_a["legs"][0]["stats"].dump().c_str());
  // Nothing B held is left behind: A claimed it (XAUTOCLAIM) and acknowledged it.
  EXPECT_EQ(IdlePending(redis.port(), 0), 0);
  ExpectEveryEventApplied(http_a, "survivor");
  ExpectAuditClean(http_a, "survivor");

  // B restarted: it joins the groups again (taking a share of the partitions) and both
  // servers report the same entities from the shared tables.
  Child again({TANDEM_BINARY, "serve", "--config", config_b});
  const int port_b2 = Serve(again);
  ASSERT_GT(port_b2, 0);
  Http http_b2(port_b2);
  testing::WaitForLegs(http_b2);
  ExpectEveryEventApplied(http_b2, "restarted");
  for (int i = 0; i < kEntities; ++i) {
    const std::string path = "/v1/entities/" + EntityId(i);
    EXPECT_EQ(http_a.Get(path).json()["positions"], http_b2.Get(path).json()["positions"]) << path;
  }
  ExpectAuditClean(http_b2, "restarted");
  StopCleanly(again, "restarted");
  StopCleanly(serve_a, "survivor");
}

}  // namespace
}  // namespace tandem
