// Permanent failures under the real `tandem serve` (issue 6 §3, DESIGN §1
// contract 5): with `vector.embedder.max_text: 1KiB` the embedder refuses
// longer texts (kTooLarge), so the vector leg dead-letters those events at
// once, with the reason, while the graph leg applies them. The cause is then
// fixed (restart with the limit raised to 64KiB) and `tandem dlq replay`
// (the CLI) re-publishes them: a plain replay inside the dedup window appends
// nothing, `--new-ids` appends them; afterwards every entity is in both
// stores with the latest event, and the audit is clean.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fault_util.h"

namespace tandem {
namespace {

using testing::Child;
using testing::Http;
using testing::Json;
using testing::MetricSample;
using testing::PersonEvents;
using testing::Reply;
using testing::StartServe;
using testing::TempDir;

constexpr int kLong = 6;

// Unversioned creates of c-0..c-<kLong-1> whose text is 2000 bytes:
// replayed under a new id, each is simply the entity's newer event in both
// stores (a versioned replay keeps the original's version: see the DLQ
// replay notes in src/server/README.md).
std::string LongTextBatch() {
  std::string body;
  for (int i = 0; i < kLong; ++i) {
    const std::string id = "c-" + std::to_string(i);
    Json e = {{"event_id", "long-" + std::to_string(i)},
              {"event_type", "create"},
              {"entity_type", "company"},
              {"entity_id", id},
              {"text_for_embedding", "Company " + id + " " + std::string(2000, 'z')},
              {"payload", {{"name", "Company " + id}}}};
    body += e.dump() + "\n";
  }
  return body;
}

std::string ConfigWithMaxText(const TempDir& dir, const std::string& max_text) {
  return testing::WriteServeConfig(dir, "server: {port: 0}\nvector: {embedder: {max_text: " + max_text +
                                       "}}\n");
}

// Runs `tandem dlq replay company [--new-ids] --json` against the server.
Json ReplayCli(int port, bool new_ids) {
  std::vector<std::string> args = {TANDEM_BINARY, "dlq",   "replay", "company",
                                   "--url",       "http://127.0.0.1:" + std::to_string(port),
                                   "--json"};
  if (new_ids) args.push_back("--new-ids");
  Child cli(args);
  std::optional<std::string> out = cli.FirstLine();
  EXPECT_EQ(cli.Wait(), 0) << cli.Stderr();
  return Json::parse(out.value_or(""), nullptr, false);
}

TEST(FaultPermanent, RefusedEventsAreDeadLetteredWithTheReasonAndApplyAfterTheFixAndAReplay) {
  TempDir dir;
  PersonEvents persons("pf-", 20, 100);
  std::map<std::string, std::string> latest;
  {
    Child serve({TANDEM_BINARY, "serve", "--config", ConfigWithMaxText(dir, "1KiB")});
    const int port = StartServe(serve);
    ASSERT_GT(port, 0) << serve.Stderr();
    Http http(port);
    ASSERT_TRUE(persons.Post(http, 40));
    Reply r = http.Post("/v1/events", LongTextBatch(), "application/x-ndjson");
    ASSERT_EQ(r.status, 200) << "accepted at the door (events.max_text is 64KiB): " << r.body;
    ASSERT_EQ(r.json()["accepted"], kLong) << r.body;
    ASSERT_TRUE(persons.Post(http, 40));
    testing::WaitForLegs(http);

    // Dead-lettered by the vector leg, at once (permanent), with the reason.
    Json dlq = http.Get("/v1/admin/dlq").json();
    ASSERT_EQ(dlq["dlq"].size(), 1u) << dlq.dump();
    const Json& t = dlq["dlq"][0];
    EXPECT_EQ(t["topic"], "company.dlq");
    ASSERT_EQ(t["entries"].size(), static_cast<size_t>(kLong)) << dlq.dump();
    for (const Json& e : t["entries"]) {
      EXPECT_EQ(e["subscription"], "vector") << e.dump();
      EXPECT_NE(e["reason"].get<std::string>().find("exceeds max_text_bytes 1024"),
                std::string::npos)
          << e.dump();
      EXPECT_EQ(e["delivery_count"], "1") << "permanent: no retries; " << e.dump();
    }
    const std::string metrics = http.Get("/metrics").body;
    EXPECT_EQ(MetricSample(metrics, "tandem_dlq_events_total",
                           "leg=\"vector\",reason=\"permanent\""),
              double{kLong});
    // The graph store applied them; the vector store does not have them.
    Reply c0 = http.Get("/v1/entities/c-0");
    ASSERT_EQ(c0.status, 200) << c0.body;
    EXPECT_TRUE(c0.json()["graph"].is_object()) << c0.body;
    EXPECT_TRUE(c0.json()["vector"].is_null()) << c0.body;
    serve.Signal(SIGTERM);
    ASSERT_EQ(serve.Wait(), 0) << serve.Stderr();
  }

  // The cause fixed: the limit raised, the server restarted, the DLQ replayed.
  Child serve({TANDEM_BINARY, "serve", "--config", ConfigWithMaxText(dir, "64KiB")});
  const int port = StartServe(serve);
  ASSERT_GT(port, 0) << serve.Stderr();
  Http http(port);
  Json plain = ReplayCli(port, false);
  EXPECT_EQ(plain["appended"], 0) << "inside the dedup window: " << plain.dump();
  EXPECT_EQ(plain["duplicates"], kLong) << plain.dump();
  EXPECT_TRUE(plain.contains("hint")) << plain.dump();
  Json replayed = ReplayCli(port, true);
  EXPECT_EQ(replayed["appended"], kLong) << replayed.dump();
  for (const Json& r : replayed["results"]) {
    const std::string event_id = r["event_id"].get<std::string>();
    latest["c-" + event_id.substr(5, event_id.find('#') - 5)] = event_id;
  }
  ASSERT_EQ(latest.size(), static_cast<size_t>(kLong)) << replayed.dump();
  // Replaying the same dead letters again appends nothing more.
  EXPECT_EQ(ReplayCli(port, true)["appended"], 0);

  for (const auto& [id, event_id] : persons.latest()) latest[id] = event_id;
  testing::ExpectEverythingApplied(http, latest, kLong);
  Reply c0 = http.Get("/v1/entities/c-0");
  EXPECT_TRUE(c0.json()["vector"]["indexed"].get<bool>()) << c0.body;
  serve.Signal(SIGTERM);
  EXPECT_EQ(serve.Wait(), 0) << serve.Stderr();
}

}  // namespace
}  // namespace tandem
