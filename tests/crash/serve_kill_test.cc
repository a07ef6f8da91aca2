// `tandem serve` killed with SIGKILL at random moments under continuous
// ingest (issue 6 §3, DESIGN §1 contracts 1 and 5).
//
// Each round starts the real binary on the same data dir (log fsync=always,
// the default), posts NDJSON batches of banking events from one client
// thread (persons updated, upserted and deleted, accounts moving between
// owners, transactions between accounts; every event versioned), kills the
// process after a random delay, restarts it and checks:
//  * durability: every event the server acknowledged ("appended" or
//    "duplicate" with an offset) is in the log at that very
//    (topic, partition, offset) under its event_id;
//  * consistency, once both legs caught up: an oracle folds the whole log
//    (highest version wins per entity) and every entity's graph vertex and
//    vector document carry the marker of the log's latest event (live or
//    deleted), nothing is dead-lettered, and POST /v1/audit finds no
//    divergent entity.
// Rounds: TANDEM_SERVE_KILL_ROUNDS, else TANDEM_CRASH_ROUNDS (make test-long
// sets 200), else 20. The seed is printed; TANDEM_SEED reproduces a run.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "../server/serve_child.h"

namespace tandem {
namespace {

using testing::Child;
using testing::Http;
using testing::Json;
using testing::Reply;
using testing::StartServe;
using testing::TempDir;

constexpr int kPersons = 60;
constexpr int kAccounts = 80;

int Rounds() {
  for (const char* var : {"TANDEM_SERVE_KILL_ROUNDS", "TANDEM_CRASH_ROUNDS"}) {
    if (const char* v = std::getenv(var); v != nullptr && std::atoi(v) > 0) return std::atoi(v);
  }
  return 20;
}

// Where the server said an event went.
struct Ack {
  std::string topic;
  uint32_t partition = 0;
  uint64_t offset = 0;
};

// The workload: versioned events over a small, fixed set of entities, so
// that every round updates, deletes and re-creates entities earlier rounds
// wrote, and edges move between them.
class Workload {
 public:
  explicit Workload(uint64_t seed) : rng_(seed) {}

  // One NDJSON line; `round` and the sequence make the event_id unique.
  std::string Next(int round) {
    const uint64_t seq = seq_++;
    const std::string event_id = "k" + std::to_string(round) + "-" + std::to_string(seq);
    const int kind = Pick(100);
    Json e;
    e["event_id"] = event_id;
    if (kind < 35) {  // a person: upsert or update, sometimes a delete
      const std::string id = "p-" + std::to_string(Pick(kPersons));
      e["entity_type"] = "person";
      e["entity_id"] = id;
      const int what = Pick(10);
      if (what == 0) {
        e["event_type"] = "delete";
      } else {
        const std::string name = kNames[Pick(std::size(kNames))] + std::string(" ") +
                                 kSurnames[Pick(std::size(kSurnames))];
        e["event_type"] = what < 5 ? "upsert" : "update";
        e["payload"] = {{"name", name}, {"city", kCities[Pick(std::size(kCities))]}};
        e["text_for_embedding"] = name;
      }
      e["version"] = ++versions_[id];
    } else if (kind < 60) {  // an account moving between owners
      const std::string id = "a-" + std::to_string(Pick(kAccounts));
      e["entity_type"] = "account";
      e["entity_id"] = id;
      e["event_type"] = Pick(12) == 0 ? "delete" : "upsert";
      if (e["event_type"] == "upsert") {
        e["payload"] = {{"owner_id", "p-" + std::to_string(Pick(kPersons))},
                        {"iban", "DE" + std::to_string(1000 + Pick(9000))}};
      }
      e["version"] = ++versions_[id];
    } else {  // a transaction between accounts, written once
      const std::string id = "t-" + event_id;
      e["entity_type"] = "transaction";
      e["entity_id"] = id;
      e["event_type"] = "create";
      e["payload"] = {{"from_account", "a-" + std::to_string(Pick(kAccounts))},
                      {"to_account", "a-" + std::to_string(Pick(kAccounts))},
                      {"amount", Pick(100000)}};
      e["version"] = 1;
    }
    return e.dump();
  }

  int Pick(size_t n) { return static_cast<int>(std::uniform_int_distribution<size_t>(0, n - 1)(rng_)); }

 private:
  static constexpr const char* kNames[] = {"Maria", "Viktor", "Aiko", "James", "Olena", "Chen"};
  static constexpr const char* kSurnames[] = {"Schneider", "Petrov", "Tanaka", "O'Connor",
                                              "Kovalenko", "Wei"};
  static constexpr const char* kCities[] = {"Berlin", "Limassol", "Osaka", "Dublin", "Kyiv"};
  std::mt19937_64 rng_;
  uint64_t seq_ = 0;
  std::map<std::string, int64_t> versions_;
};

// Posts batches until the server stops answering (it was killed) or `stop`.
// Every acknowledged event lands in `acks` (event_id → where).
void Ingest(Http& http, Workload& w, int round, const std::atomic<bool>& stop,
            std::map<std::string, Ack>* acks, std::mutex* mu) {
  for (int batch = 0; batch < 100000 && !stop.load(); ++batch) {
    std::string body;
    for (int i = 0; i < 20; ++i) body += w.Next(round) + "\n";
    Reply r = http.Post("/v1/events", body, "application/x-ndjson");
    if (r.status != 200) return;  // killed (no response) or refused: the round ends
    Json j = r.json();
    std::lock_guard<std::mutex> lock(*mu);
    for (const Json& item : j["results"]) {
      const std::string status = item.value("status", "");
      if (status != "appended" && status != "duplicate") continue;
      (*acks)[item["event_id"].get<std::string>()] =
          Ack{item["topic"].get<std::string>(), item["partition"].get<uint32_t>(),
              item["offset"].get<uint64_t>()};
    }
  }
}

// Every record of every entity topic: (topic, partition, offset) → record.
std::map<std::tuple<std::string, uint32_t, uint64_t>, Json> ReadLog(Http& http) {
  std::map<std::tuple<std::string, uint32_t, uint64_t>, Json> out;
  Json topics = http.Get("/v1/admin/topics").json();
  for (const Json& t : topics["topics"]) {
    if (t["dlq"].get<bool>()) continue;
    const std::string name = t["name"].get<std::string>();
    for (const Json& p : t["partitions"]) {
      const uint32_t partition = p["partition"].get<uint32_t>();
      uint64_t offset = p["start_offset"].get<uint64_t>();
      const uint64_t end = p["end_offset"].get<uint64_t>();
      for (int page = 0; page < 10000 && offset < end; ++page) {
        Reply r = http.Get("/v1/admin/topics/" + name + "/records?partition=" +
                           std::to_string(partition) + "&offset=" + std::to_string(offset) +
                           "&limit=1000");
        if (r.status != 200) {
          ADD_FAILURE() << "reading " << name << "/" << partition << ": " << r.body;
          return out;
        }
        Json records = r.json()["records"];
        if (records.empty()) break;
        for (Json& rec : records) {
          const uint64_t at = rec["offset"].get<uint64_t>();
          offset = at + 1;
          out[{name, partition, at}] = std::move(rec);
        }
      }
    }
  }
  return out;
}

TEST(ServeKill, AcknowledgedEventsSurviveSigkillAndStoresAgreeWithTheLog) {
  const char* seed_env = std::getenv("TANDEM_SEED");
  const uint64_t seed = seed_env != nullptr ? std::strtoull(seed_env, nullptr, 10)
                                            : std::random_device{}();
  const int rounds = Rounds();
  std::printf("serve_kill: %d rounds, TANDEM_SEED=%llu\n", rounds,
              static_cast<unsigned long long>(seed));
  TempDir dir;
  // The default log fsync (always): an acknowledged event is on disk. The
  // stores keep their defaults too.
  const std::string config = dir.path() + "/tandem.yaml";
  std::ofstream(config) << "data_dir: " << dir.path() << "/data\nserver: {port: 0}\n";
  Workload workload(seed);
  std::mt19937_64 rng(seed ^ 0x9e3779b97f4a7c15ULL);
  std::map<std::string, Ack> acks;
  std::mutex mu;
  // One more start than kills: the last start only verifies.
  for (int round = 0; round <= rounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    Child serve({TANDEM_BINARY, "serve", "--config", config});
    const int port = StartServe(serve);
    ASSERT_GT(port, 0) << serve.Stderr();
    Http http(port);

    // 1. Everything acknowledged so far (previous rounds included) is in the
    //    log where the server said it was.
    auto log = ReadLog(http);
    for (const auto& [event_id, ack] : acks) {
      auto it = log.find({ack.topic, ack.partition, ack.offset});
      ASSERT_NE(it, log.end()) << "acknowledged " << event_id << " at " << ack.topic << "/"
                               << ack.partition << "@" << ack.offset << " is not in the log";
      ASSERT_EQ(it->second["id"], event_id) << "at " << ack.topic << "/" << ack.partition << "@"
                                            << ack.offset;
    }

    // 2. Once the legs caught up, every store holds the log's latest event of
    //    every entity (the log is the truth), and nothing was dead-lettered.
    testing::WaitForLegs(http);
    std::map<std::string, std::pair<int64_t, Json>> latest;  // entity → (version, event)
    for (const auto& [pos, rec] : log) {
      const Json& e = rec["value"];
      const std::string id = e["entity_id"].get<std::string>();
      const int64_t v = e["version"].get<int64_t>();
      auto it = latest.find(id);
      if (it == latest.end() || v > it->second.first) latest[id] = {v, e};
    }
    // Persons and accounts every round; transactions (written once each) of
    // the previous round, and a sample of the older ones.
    const std::string last_round = "t-k" + std::to_string(round - 1) + "-";
    for (const auto& [id, ve] : latest) {
      const Json& e = ve.second;
      if (id.rfind("t-", 0) == 0 && id.rfind(last_round, 0) != 0 &&
          std::uniform_int_distribution<int>(0, 49)(rng) != 0) {
        continue;
      }
      Reply r = http.Get("/v1/entities/" + id);
      ASSERT_EQ(r.status, 200) << id << ": " << r.body;
      Json doc = r.json();
      for (const char* store : {"graph", "vector"}) {
        const Json& m = doc["positions"][store];
        ASSERT_TRUE(m.is_object()) << id << " has no " << store << " marker: " << r.body;
        EXPECT_EQ(m["event_id"], e["event_id"]) << id << " in the " << store << " store";
        EXPECT_EQ(m["deleted"].get<bool>(), e["event_type"] == "delete") << id << " in " << store;
      }
      EXPECT_TRUE(doc["agree"].get<bool>()) << r.body;
    }
    Json dlq = http.Get("/v1/admin/dlq").json();
    for (const Json& t : dlq["dlq"]) EXPECT_EQ(t["records"].get<uint64_t>(), 0u) << t.dump();
    Reply audit = http.Post("/v1/audit", "", "application/json");
    ASSERT_EQ(audit.status, 200) << audit.body;
    EXPECT_TRUE(audit.json()["clean"].get<bool>()) << audit.body;

    if (round == rounds) {
      serve.Signal(SIGTERM);
      EXPECT_EQ(serve.Wait(), 0) << serve.Stderr();
      break;
    }

    // 3. Ingest, and kill the server at a random moment.
    std::atomic<bool> stop{false};
    std::thread ingest([&] {
      Http client(port);
      Ingest(client, workload, round, stop, &acks, &mu);
    });
    const int delay_ms = std::uniform_int_distribution<int>(50, 1200)(rng);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    serve.Signal(SIGKILL);
    std::optional<int> code = serve.Wait();
    stop = true;
    ingest.join();
    ASSERT_TRUE(code.has_value());
    ASSERT_EQ(*code, 128 + SIGKILL) << serve.Stderr();
  }
  std::printf("serve_kill: %zu events acknowledged over %d rounds\n", acks.size(), rounds);
  EXPECT_GT(acks.size(), 0u);
}

}  // namespace
}  // namespace tandem
