// A store failing transiently under the real `tandem serve` (issue 6 §3).
//
// EmbedderOutage (CI): the vector store's embedder is an OpenAI-compatible
// HTTP server (tests/embed/fake_openai_server.h, on 127.0.0.1) that starts
// answering 500 for a while under continuous ingest. The vector leg's breaker
// must open (GET /metrics: tandem_leg_breaker_state{leg="vector"} 2) while
// the graph leg and ingest carry on; once the embedder answers again, every
// acknowledged event is applied in both stores, nothing is dead-lettered and
// the audit is clean — without a restart.
//
// DiskFullGraphStore (disabled: a known defect, see below): the graph store's
// directory is a small tmpfs that a ballast file fills, so RocksDB's WAL
// appends and flushes fail with ENOSPC. The breaker opens as expected, but
// when the space returns RocksDB 7.8 (Debian's librocksdb, built with
// assertions) aborts the process on the next write: the WAL writer that saw
// ENOSPC is reused after the background error was cleared
// (WritableFileWriter::AssertFalseAndGetStatusForPrevError). Calling
// DB::Resume() from the store (tried) aborts the same way, during the outage.
// Nothing acknowledged is lost (the log is the truth; a restart re-applies),
// but the server goes down. Run it with --gtest_also_run_disabled_tests.
// Needs root to mount; TANDEM_SKIP_MOUNT_TESTS=1 skips it.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>

#include "../embed/fake_openai_server.h"
#include "fault_util.h"

namespace tandem {
namespace {

using testing::Child;
using testing::Http;
using testing::MetricSample;
using testing::PersonEvents;
using testing::StartServe;
using testing::TempDir;
using testing::TmpfsMount;

// Writes `path` until its file system is full (1 MiB chunks, at most 1024:
// bounded by the tmpfs size). What is left is under a chunk; RocksDB's
// appends fail once it is gone.
void FillUp(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr) << path;
  const std::string chunk(1 << 20, 'b');
  for (int i = 0; i < 1024; ++i) {
    if (std::fwrite(chunk.data(), 1, chunk.size(), f) != chunk.size()) break;
    if (std::fflush(f) != 0) break;
  }
  std::fclose(f);
}

std::optional<double> Breaker(Http& http, const std::string& leg) {
  return MetricSample(http.Get("/metrics").body, "tandem_leg_breaker_state",
                      "leg=\"" + leg + "\"");
}

// Posts batches of 50 every 20 ms until `stop`; a refusal fails the test.
void IngestUntil(int port, PersonEvents* events, const std::atomic<bool>& stop) {
  Http client(port);
  for (int i = 0; i < 100'000 && !stop.load(); ++i) {
    if (!events->Post(client, 50)) {
      ADD_FAILURE() << "ingest refused while only a store is down (batch " << i << ")";
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// Polls /metrics until `leg`'s breaker is open (bounded: 60 s).
bool WaitForOpenBreaker(Http& http, const std::string& leg) {
  for (int i = 0; i < 600; ++i) {
    if (Breaker(http, leg) == 2.0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

// The scenario both tests share: `tandem serve` with `config`; a first
// ingest applied everywhere; then `break_store` under continuous ingest until
// `leg`'s breaker opens (the other leg's stays closed), the outage lasting a
// while; `heal_store` while ingest goes on; finally every acknowledged event
// applied in both stores, nothing dead-lettered, audit clean, the breaker
// closed again, and a clean shutdown.
void RunOutage(const std::string& config, const std::string& leg, const std::string& other_leg,
               const std::function<void()>& break_store, const std::function<void()>& heal_store) {
  Child serve({TANDEM_BINARY, "serve", "--config", config});
  const int port = StartServe(serve);
  ASSERT_GT(port, 0) << serve.Stderr();
  Http http(port);
  PersonEvents events("out-", 300, 300);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(events.Post(http, 100));
  testing::WaitForLegs(http);
  EXPECT_EQ(Breaker(http, leg), 0.0);

  break_store();
  std::atomic<bool> stop{false};
  std::thread ingest([&] { IngestUntil(port, &events, stop); });  // sole user of `events`
  EXPECT_TRUE(WaitForOpenBreaker(http, leg))
      << "the " << leg << " leg's breaker did not open; legs: " << http.Get("/v1/admin/legs").body;
  EXPECT_EQ(Breaker(http, other_leg), 0.0) << "the " << other_leg << " leg is not held up";
  std::this_thread::sleep_for(std::chrono::seconds(2));  // the outage lasts a while
  heal_store();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  stop = true;
  ingest.join();
  std::printf("fault_store_outage: %llu events acknowledged\n",
              static_cast<unsigned long long>(events.acked()));

  testing::ExpectEverythingApplied(http, events.latest());
  const std::string after = http.Get("/metrics").body;
  EXPECT_EQ(MetricSample(after, "tandem_leg_breaker_state", "leg=\"" + leg + "\""), 0.0);
  EXPECT_GT(MetricSample(after, "tandem_leg_retries_total", "leg=\"" + leg + "\"").value_or(0),
            0.0);
  serve.Signal(SIGTERM);
  EXPECT_EQ(serve.Wait(), 0) << serve.Stderr();
}

TEST(FaultStoreOutage, EmbedderOutageOpensTheVectorBreakerAndEverythingAppliesAfterRecovery) {
  testing::FakeOpenAiServer embedder(64);
  TempDir dir;
  // A short leg breaker and redelivery, and a generous retry budget (50
  // deliveries x 5 attempts; an open breaker burns none), so the outage
  // (seconds, plus the embedder client's own 10 s breaker) dead-letters
  // nothing.
  const std::string config = testing::WriteServeConfig(
      dir, "server: {port: 0}\n"
           "vector: {embedder: {kind: http, url: \"" + embedder.url() +
               "\", model: fake, dimension: 64, timeout: 2s, max_attempts: 2},\n"
           "  leg: {breaker: {failure_threshold: 3, open_duration: 1s},\n"
           "        redelivery: {backoff_base: 50ms, backoff_max: 1s, max_deliveries: 50}}}\n");
  RunOutage(
      config, "vector", "graph", [&] { embedder.fail_with_500 = 1'000'000; },
      [&] { embedder.fail_with_500 = 0; });
}

TEST(FaultStoreOutage, DISABLED_DiskFullGraphStoreRecoversWhenSpaceReturns) {
  TempDir dir;
  const std::string graph_dir = dir.path() + "/data/graph";
  std::filesystem::create_directories(graph_dir);
  TmpfsMount fs(graph_dir, 24);
  if (!fs.error().empty()) {
    if (testing::SkipMountTests()) GTEST_SKIP() << "TANDEM_SKIP_MOUNT_TESTS=1: " << fs.error();
    FAIL() << fs.error()
           << " (run as root, or set TANDEM_SKIP_MOUNT_TESTS=1 on machines that cannot mount)";
  }
  const std::string config = testing::WriteServeConfig(
      dir,
      "server: {port: 0}\n"
      "graph: {write_buffer: 1MiB, block_cache: 1MiB, leg: {breaker: {failure_threshold: 3, "
      "open_duration: 500ms}, redelivery: {backoff_base: 50ms, backoff_max: 1s, "
      "max_deliveries: 50}}}\n");
  const std::string ballast = graph_dir + "/ballast";
  RunOutage(
      config, "graph", "vector", [&] { FillUp(ballast); },
      [&] { std::filesystem::remove(ballast); });
}

}  // namespace
}  // namespace tandem
