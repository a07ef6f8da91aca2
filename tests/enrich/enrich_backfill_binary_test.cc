// `tandem enrich backfill` against the real binaries: 30 persons are indexed
// by a `tandem serve` without enrichment; the server restarts with an http
// enricher whose leg starts at the end of the log (as when the old events are
// past retention), 10 new persons are enriched as they arrive, then the
// backfill command queues exactly the 30 missing ones. The enricher (a local
// HTTP server in this test, 127.0.0.1) counts its calls per entity: every
// person is enriched exactly once.
#include <httplib.h>

#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "../server/serve_child.h"

namespace tandem {
namespace {

using testing::Child;
using testing::Http;
using testing::Json;
using testing::StartServe;
using testing::TempDir;
using testing::WriteConfig;

// POST /enrich {"entity_id","entity_type","payload"} → {"name_length": n}.
class CountingEnricher {
 public:
  CountingEnricher() {
    server_.Post("/enrich", [this](const httplib::Request& req, httplib::Response& res) {
      const Json j = Json::parse(req.body, nullptr, false);
      const std::string id = j.value("entity_id", "");
      {
        std::lock_guard l(mu_);
        ++calls_[id];
      }
      const std::string name = j["payload"].value("name", "");
      res.set_content(Json{{"name_length", name.size()}}.dump(), "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~CountingEnricher() {
    server_.stop();
    thread_.join();
  }
  int port() const { return port_; }
  std::map<std::string, int> calls() {
    std::lock_guard l(mu_);
    return calls_;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::map<std::string, int> calls_;  // GUARDED_BY(mu_)
};

std::string People(const std::string& prefix, int n) {
  std::string ndjson;
  for (int i = 0; i < n; ++i) {
    ndjson += Json{{"entity_id", prefix + std::to_string(i)},
                   {"entity_type", "person"},
                   {"event_type", "upsert"},
                   {"payload", {{"name", prefix + " person " + std::to_string(i)}}}}
                  .dump() +
              "\n";
  }
  return ndjson;
}

std::string StatusOf(Http& http, const std::string& id) {
  const Json e = http.Get("/v1/entities/" + id).json();
  if (!e.is_object() || !e["graph"].is_object() || !e["vector"].is_object()) return "<missing>";
  const std::string g = e["graph"]["properties"].value("enrichment_status", "");
  const std::string v = e["vector"]["payload"].value("enrichment_status", "");
  return g == v ? g : "<stores disagree: " + g + " / " + v + ">";
}

// Waits (bounded, 60 s) until every id of prefix0..n-1 shows `status`.
bool WaitForStatus(Http& http, const std::string& prefix, int n, const std::string& status) {
  for (int round = 0; round < 6000; ++round) {
    bool all = true;
    for (int i = 0; i < n && all; ++i) all = StatusOf(http, prefix + std::to_string(i)) == status;
    if (all) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

void Stop(Child& serve) {
  serve.Signal(SIGTERM);
  std::optional<int> code = serve.Wait();
  ASSERT_TRUE(code.has_value()) << "did not exit within 30 s of SIGTERM";
  EXPECT_EQ(*code, 0) << serve.Stderr();
}

TEST(EnrichBackfillBinary, BackfillCoversExactlyTheMissingOnes) {
  TempDir dir;
  CountingEnricher enricher;
  ASSERT_GT(enricher.port(), 0);
  {
    Child serve({TANDEM_BINARY, "serve", "--config", WriteConfig(dir, "server: {port: 0}\n")});
    const int port = StartServe(serve);
    ASSERT_GT(port, 0) << serve.Stderr();
    Http http(port);
    ASSERT_EQ(http.Post("/v1/events", People("old-", 30), "application/x-ndjson").status, 200);
    testing::WaitForLegs(http);
    EXPECT_EQ(StatusOf(http, "old-0"), "");
    Stop(serve);
  }
  const std::string config =
      WriteConfig(dir,
                  "server: {port: 0}\nenrichment:\n  enabled: true\n  enrichers:\n"
                  "    - {name: names, kind: http, types: [person], url: 'http://127.0.0.1:" +
                      std::to_string(enricher.port()) +
                      "/enrich', fields: [name_length], leg: {from_beginning: false}}\n");
  Child serve({TANDEM_BINARY, "serve", "--config", config});
  const int port = StartServe(serve);
  ASSERT_GT(port, 0) << serve.Stderr();
  Http http(port);
  ASSERT_EQ(http.Post("/v1/events", People("new-", 10), "application/x-ndjson").status, 200);
  ASSERT_TRUE(WaitForStatus(http, "new-", 10, "completed"));
  EXPECT_EQ(enricher.calls().size(), 10u) << "the old persons are not enriched by themselves";

  Child backfill({TANDEM_BINARY, "enrich", "backfill", "--type", "person", "--rate", "200/s",
                  "--limit", "7", "--url", "http://127.0.0.1:" + std::to_string(port), "--json"});
  const std::optional<std::string> line = backfill.FirstLine(60'000);
  ASSERT_TRUE(line.has_value()) << backfill.Stderr();
  ASSERT_EQ(backfill.Wait(), 0) << backfill.Stderr();
  const Json summary = Json::parse(*line, nullptr, false);
  ASSERT_TRUE(summary.is_object()) << *line;
  EXPECT_EQ(summary["queued"], 30) << *line;
  EXPECT_EQ(summary["already_enriched"], 10) << *line;
  EXPECT_EQ(summary["matched"], 40) << *line;
  EXPECT_GE(summary["pages"].get<int>(), 5) << *line;

  ASSERT_TRUE(WaitForStatus(http, "old-", 30, "completed"));
  const std::map<std::string, int> calls = enricher.calls();
  EXPECT_EQ(calls.size(), 40u);
  for (const auto& [id, n] : calls) EXPECT_EQ(n, 1) << id << " enriched " << n << " times";
  EXPECT_EQ(http.Get("/v1/entities/old-7").json()["graph"]["properties"]["name_length"], 13);

  // Again: nothing is missing, nothing is queued.
  Child again({TANDEM_BINARY, "enrich", "backfill", "--type", "person", "--url",
               "http://127.0.0.1:" + std::to_string(port), "--json"});
  const std::optional<std::string> line2 = again.FirstLine(60'000);
  ASSERT_TRUE(line2.has_value()) << again.Stderr();
  EXPECT_EQ(Json::parse(*line2)["queued"], 0) << *line2;
  // A type no enricher handles is a usage error (exit 2) naming the field.
  Child bad({TANDEM_BINARY, "enrich", "backfill", "--type", "account", "--url",
             "http://127.0.0.1:" + std::to_string(port)});
  EXPECT_EQ(bad.Wait(), 2);
  EXPECT_NE(bad.Stderr().find("type:"), std::string::npos);
  Stop(serve);
}

}  // namespace
}  // namespace tandem
