// Soak (issue 6 §3): the real `tandem serve` under ingest at a fixed rate
// for a long time, its resident set size sampled every 5 s from
// /proc/<pid>/status (VmRSS), which must stay flat; the samples go to a CSV
// in the build directory (soak_rss_<seconds>s.csv: seconds, rss_kib,
// events_acknowledged, graph_lag, vector_lag).
//
// Built twice from this file: soak_test (label slow; TANDEM_SOAK_SECONDS,
// default 1800) and soak_short_test (label crash, 60 s, for CI). The rate is
// TANDEM_SOAK_RATE events/s (default 500), posted as NDJSON batches every
// 100 ms on a fixed schedule.
//
// The workload has a steady state: upserts of a fixed set of 3000 persons
// (about one in ten changes the embedded text, the rest change metadata), so
// the stores stop growing after the first pass. The configured caches are
// made small so they fill during the warm-up rather than during the
// measurement: block caches 8 MiB, memtables 2 MiB, log dedup window 2,000
// ids per partition (all documented limits whose filling is not a leak).
//
// Rule: after a warm-up (the first 20% of the run), the samples are split
// in thirds; max(last third) <= max(first third) * 1.15 + 16 MiB. Max, not
// mean, because RSS is a sawtooth (memtables fill and flush, allocator
// arenas); 15% tolerates allocator fragmentation drifting slowly, and the
// 16 MiB floor covers one memtable cycle per store (2 x 2 MiB active +
// immutable) and glibc's per-thread arenas (64 MiB reserved, touched
// lazily) at a small absolute RSS. A leak of even 1 KiB per request (about
// 10 requests/s, 18 MiB over 30 min) or 100 bytes per event (90 MB over
// 30 min at 500 ev/s) breaks it.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "fault_util.h"

namespace tandem {
namespace {

using testing::Child;
using testing::Http;
using testing::Json;
using testing::Reply;
using testing::StartServe;
using testing::TempDir;

constexpr int kPersons = 3000;
constexpr auto kSampleEvery = std::chrono::seconds(5);
constexpr auto kTick = std::chrono::milliseconds(100);

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && std::atoi(v) > 0 ? std::atoi(v) : fallback;
}

// VmRSS of `pid` in KiB; 0 when unreadable.
uint64_t RssKib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10);
  }
  return 0;
}

// The soak's workload: person upserts over a fixed id set.
class SteadyWorkload {
 public:
  std::string Batch(int n) {
    std::string body;
    for (int i = 0; i < n; ++i) {
      const uint64_t k = seq_++;
      const std::string id = "p-" + std::to_string(k % kPersons);
      const uint64_t round = k / kPersons;
      // The text changes every 10th round of an entity: a re-embedding.
      const std::string text = "Person " + id + " alias " + std::to_string(round / 10);
      Json e = {{"event_id", "soak-" + std::to_string(k)},
                {"event_type", "upsert"},
                {"entity_type", "person"},
                {"entity_id", id},
                {"version", round + 1},
                {"text_for_embedding", text},
                {"payload", {{"name", text}, {"round", round}, {"note", std::string(200, 'n')}}}};
      body += e.dump() + "\n";
    }
    return body;
  }

 private:
  uint64_t seq_ = 0;
};

struct Sample {
  double seconds;
  uint64_t rss_kib;
  uint64_t acked;
  uint64_t graph_lag;
  uint64_t vector_lag;
};

std::pair<uint64_t, uint64_t> Lags(Http& http) {
  Json legs = http.Get("/v1/admin/legs").json();
  uint64_t graph = 0, vector = 0;
  if (!legs.contains("legs")) return {0, 0};
  for (const Json& l : legs["legs"]) {
    (l["name"] == "graph" ? graph : vector) = l["total_lag"].get<uint64_t>();
  }
  return {graph, vector};
}

void WriteCsv(const std::string& path, const std::vector<Sample>& samples) {
  std::ofstream out(path);
  out << "seconds,rss_kib,events_acknowledged,graph_lag,vector_lag\n";
  for (const Sample& s : samples) {
    out << s.seconds << "," << s.rss_kib << "," << s.acked << "," << s.graph_lag << ","
        << s.vector_lag << "\n";
  }
}

TEST(TANDEM_SOAK_SUITE, ServerRssStaysFlatUnderSteadyIngest) {
  const int seconds = TANDEM_SOAK_ENV ? EnvInt("TANDEM_SOAK_SECONDS", TANDEM_SOAK_SECONDS)
                                      : TANDEM_SOAK_SECONDS;
  const int rate = EnvInt("TANDEM_SOAK_RATE", 500);
  const int per_tick = std::max(1, rate / 10);
  TempDir dir;
  const std::string config = testing::WriteServeConfig(
      dir,
      "server: {port: 0}\n"
      "log: {dedup_entries: 2000}\n"
      "graph: {block_cache: 8MiB, write_buffer: 2MiB}\n"
      "vector: {block_cache: 8MiB, write_buffer: 2MiB}\n");
  Child serve({TANDEM_BINARY, "serve", "--config", config});
  const int port = StartServe(serve);
  ASSERT_GT(port, 0) << serve.Stderr();
  Http http(port);
  SteadyWorkload workload;
  std::vector<Sample> samples;
  uint64_t acked = 0;
  int refused = 0;
  const auto start = std::chrono::steady_clock::now();
  const auto end = start + std::chrono::seconds(seconds);
  auto next_tick = start;
  auto next_sample = start + kSampleEvery;
  // Bounded: one iteration per tick until the end.
  for (int64_t tick = 0; tick < int64_t{seconds} * 10 + 1; ++tick) {
    if (std::chrono::steady_clock::now() >= end) break;
    Reply r = http.Post("/v1/events", workload.Batch(per_tick), "application/x-ndjson");
    if (r.status == 200) {
      acked += r.json()["accepted"].get<uint64_t>();
    } else {
      ++refused;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= next_sample) {
      const auto [graph_lag, vector_lag] = Lags(http);
      samples.push_back({std::chrono::duration<double>(now - start).count(), RssKib(serve.pid()),
                         acked, graph_lag, vector_lag});
      next_sample += kSampleEvery;
    }
    next_tick += kTick;
    std::this_thread::sleep_until(next_tick);
  }
  const std::string csv = std::string(TANDEM_SOAK_CSV_DIR) + "/soak_rss_" +
                          std::to_string(seconds) + "s.csv";
  WriteCsv(csv, samples);
  EXPECT_EQ(refused, 0) << "ingest refused batches";
  const double achieved = acked / std::chrono::duration<double>(
                                      std::chrono::steady_clock::now() - start).count();
  EXPECT_GT(achieved, rate * 0.9) << "the client did not keep the rate";

  const size_t warm = std::max<size_t>(1, samples.size() / 5);
  ASSERT_GE(samples.size(), warm + 6) << "too few samples for a soak of " << seconds << " s";
  const size_t third = (samples.size() - warm) / 3;
  uint64_t first_max = 0, last_max = 0;
  for (size_t i = warm; i < warm + third; ++i) first_max = std::max(first_max, samples[i].rss_kib);
  for (size_t i = samples.size() - third; i < samples.size(); ++i) {
    last_max = std::max(last_max, samples[i].rss_kib);
  }
  const uint64_t allowed = static_cast<uint64_t>(first_max * 1.15) + 16 * 1024;
  std::printf("soak: %d s at %d ev/s (achieved %.0f), %llu events, %zu samples in %s; RSS KiB: "
              "first sample %llu, first third max %llu, last third max %llu (allowed %llu), "
              "last %llu; lag at the end graph %llu vector %llu\n",
              seconds, rate, achieved, static_cast<unsigned long long>(acked), samples.size(),
              csv.c_str(), static_cast<unsigned long long>(samples.front().rss_kib),
              static_cast<unsigned long long>(first_max),
              static_cast<unsigned long long>(last_max), static_cast<unsigned long long>(allowed),
              static_cast<unsigned long long>(samples.back().rss_kib),
              static_cast<unsigned long long>(samples.back().graph_lag),
              static_cast<unsigned long long>(samples.back().vector_lag));
  EXPECT_LE(last_max, allowed) << "RSS grew: see " << csv;
  // The legs keep up with the rate (lag does not grow without bound).
  testing::WaitForLegs(http);
  serve.Signal(SIGTERM);
  EXPECT_EQ(serve.Wait(), 0) << serve.Stderr();
}

}  // namespace
}  // namespace tandem
