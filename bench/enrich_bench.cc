// Enrichment benchmark (issue 8): does an enrichment leg slow indexing down,
// and how many jobs per second does a slow enricher get through?
//
//   enrich_bench [--dir D] [--batches 200] [--batch 50] [--enricher-ms 50]
//
// Part 1, indexing with enrichment off vs on, in one run: persons are
// published in batches (Producer → log, fsync=always) and each batch's
// indexing latency is the time from the publish returning until the graph
// store and the vector store both hold its last entity (polled every 100 µs).
// "on" adds an enrichment leg (concurrency 8) whose enricher sleeps
// --enricher-ms per call; its pending/result events are extra work for the
// graph and vector legs, which is part of the cost measured.
//
// Part 2, enrichment throughput: N jobs through a leg whose enricher sleeps
// --enricher-ms, at concurrency 1, 8, 32 (N sized for about 2 s each);
// jobs/s from the first publish to WaitForCaughtUp, and the ideal
// concurrency / latency beside it.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "tandem/embed.h"
#include "tandem/enrich.h"
#include "tandem/graph.h"
#include "tandem/leg.h"
#include "tandem/log.h"
#include "tandem/producer.h"
#include "tandem/vector.h"

namespace tandem {
namespace {

using Clock = std::chrono::steady_clock;

struct Args {
  std::string dir = "/tmp/tandem-enrich-bench";
  int batches = 200;
  int batch = 50;
  int enricher_ms = 50;
};

class SleepEnricher final : public Enricher {
 public:
  explicit SleepEnricher(int ms) : ms_(ms) {}
  std::string_view kind() const override { return "sleep"; }
  const std::vector<std::string>& fields() const override { return fields_; }
  Result<std::string> Enrich(const EnrichRequest& r) override {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms_));
    return std::string("{\"score\":") + std::to_string(r.payload.size()) + "}";
  }

 private:
  const int ms_;
  const std::vector<std::string> fields_ = {"score"};
};

template <typename T>
T Must(Result<T> r, const char* what) {
  if (!r.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, r.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(r).value();
}
void Must(const Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, s.ToString().c_str());
    std::exit(1);
  }
}

EntityEvent Person(int run, int i) {
  EntityEvent e;
  e.entity_id = "p-" + std::to_string(run) + "-" + std::to_string(i);
  e.event_id = "e-" + e.entity_id;
  e.event_type = EventType::kUpsert;
  e.entity_type = "person";
  e.payload = "{\"name\":\"Person " + std::to_string(i) + " Example\",\"country\":\"DE\"}";
  e.timestamp = "2024-03-01T00:00:00Z";
  return e;
}

double Pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

struct IndexResult {
  double events_per_s = 0, p50_ms = 0, p99_ms = 0, max_ms = 0;
  uint64_t jobs_completed = 0;
};

IndexResult RunIndexing(const Args& a, bool enrich, bool pending, int run) {
  const std::string dir = a.dir + "/index-" + std::to_string(run);
  std::filesystem::remove_all(dir);
  LogOptions lo;
  lo.dir = dir + "/log";
  lo.default_partitions = 4;
  std::unique_ptr<Log> log = Must(Log::Open(lo), "log");
  GraphStoreOptions go;
  go.dir = dir + "/graph";
  std::unique_ptr<GraphStore> graph = Must(OpenGraphStore(go), "graph");
  HashEmbedderOptions ho;
  std::unique_ptr<Embedder> embedder = Must(NewHashEmbedder(ho), "embedder");
  VectorStoreOptions vo;
  vo.dir = dir + "/vector";
  vo.embedder = embedder.get();
  std::unique_ptr<VectorStore> vector = Must(OpenVectorStore(vo), "vector");
  LegOptions leg;
  leg.max_batch_delay_us = 1000;
  std::unique_ptr<Leg> gl = Must(MakeGraphLeg(*log, *graph, leg), "graph leg");
  std::unique_ptr<Leg> vl = Must(MakeVectorLeg(*log, *vector, leg), "vector leg");
  SleepEnricher enricher(a.enricher_ms);
  std::unique_ptr<EnrichLeg> el;
  if (enrich) {
    EnrichLegOptions eo;
    eo.name = "bench";
    eo.types = {"person"};
    eo.dir = dir + "/enrich";
    eo.concurrency = 8;
    eo.publish_pending = pending;
    eo.leg.max_batch_delay_us = 1000;
    el = Must(NewEnrichLeg(*log, enricher, eo), "enrich leg");
    Must(el->Start(), "enrich start");
  }
  Must(gl->Start(), "graph start");
  Must(vl->Start(), "vector start");
  Producer producer(*log);
  std::vector<double> lat;
  const auto t0 = Clock::now();
  for (int b = 0; b < a.batches; ++b) {
    std::vector<EntityEvent> events;
    for (int i = 0; i < a.batch; ++i) events.push_back(Person(run, b * a.batch + i));
    std::vector<AppendResult> res;
    Must(producer.PublishBatch(events, &res), "publish");
    const auto published = Clock::now();
    const std::string& last = events.back().entity_id;
    for (int spin = 0; spin < 600'000; ++spin) {  // bounded: 60 s
      if (graph->Get(last).ok() && vector->Get(last).ok()) break;
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    lat.push_back(std::chrono::duration<double, std::milli>(Clock::now() - published).count());
  }
  Must(gl->WaitForCaughtUp(60'000'000), "graph caught up");
  Must(vl->WaitForCaughtUp(60'000'000), "vector caught up");
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  IndexResult r;
  r.events_per_s = a.batches * a.batch / secs;
  r.p50_ms = Pct(lat, 0.5);
  r.p99_ms = Pct(lat, 0.99);
  r.max_ms = Pct(lat, 1.0);
  if (el) {
    r.jobs_completed = el->enrich_stats().jobs_completed;
    (void)el->Stop();
  }
  (void)gl->Stop();
  (void)vl->Stop();
  (void)log->Close();
  return r;
}

double RunThroughput(const Args& a, uint32_t concurrency, int jobs) {
  const std::string dir = a.dir + "/tput-" + std::to_string(concurrency);
  std::filesystem::remove_all(dir);
  LogOptions lo;
  lo.dir = dir + "/log";
  lo.default_partitions = 4;
  std::unique_ptr<Log> log = Must(Log::Open(lo), "log");
  SleepEnricher enricher(a.enricher_ms);
  EnrichLegOptions eo;
  eo.name = "bench";
  eo.types = {"person"};
  eo.dir = dir + "/enrich";
  eo.concurrency = concurrency;
  std::unique_ptr<EnrichLeg> el = Must(NewEnrichLeg(*log, enricher, eo), "enrich leg");
  std::vector<EntityEvent> events;
  for (int i = 0; i < jobs; ++i) events.push_back(Person(1000 + static_cast<int>(concurrency), i));
  const auto t0 = Clock::now();
  Must(el->Start(), "start");
  Producer producer(*log);
  std::vector<AppendResult> res;
  Must(producer.PublishBatch(events, &res), "publish");
  Must(el->WaitForCaughtUp(600'000'000), "enrichment caught up");
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  const uint64_t done = el->enrich_stats().jobs_completed;
  (void)el->Stop();
  (void)log->Close();
  if (done != static_cast<uint64_t>(jobs)) {
    std::fprintf(stderr, "completed %llu of %d jobs\n", static_cast<unsigned long long>(done), jobs);
    std::exit(1);
  }
  return jobs / secs;
}

int Main(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--dir")) a.dir = argv[i + 1];
    else if (!std::strcmp(argv[i], "--batches")) a.batches = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--batch")) a.batch = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--enricher-ms")) a.enricher_ms = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  const IndexResult off = RunIndexing(a, false, false, 1);
  const IndexResult on = RunIndexing(a, true, true, 2);
  const IndexResult quiet = RunIndexing(a, true, false, 3);
  std::printf("| enrichment | events/s (graph+vector indexed) | batch latency p50 ms | p99 ms | max ms | jobs completed meanwhile |\n");
  std::printf("|---|---:|---:|---:|---:|---:|\n");
  std::printf("| off | %.0f | %.1f | %.1f | %.1f | - |\n", off.events_per_s, off.p50_ms, off.p99_ms, off.max_ms);
  std::printf("| on (%d ms enricher, concurrency 8) | %.0f | %.1f | %.1f | %.1f | %llu |\n", a.enricher_ms,
              on.events_per_s, on.p50_ms, on.p99_ms, on.max_ms,
              static_cast<unsigned long long>(on.jobs_completed));
  std::printf("| on, publish_pending false | %.0f | %.1f | %.1f | %.1f | %llu |\n",
              quiet.events_per_s, quiet.p50_ms, quiet.p99_ms, quiet.max_ms,
              static_cast<unsigned long long>(quiet.jobs_completed));
  std::printf("| ratio on/off | %.2f | %.2f | %.2f | | |\n", on.events_per_s / off.events_per_s,
              on.p50_ms / off.p50_ms, on.p99_ms / off.p99_ms);
  std::printf("| ratio on (no pending)/off | %.2f | %.2f | %.2f | | |\n\n",
              quiet.events_per_s / off.events_per_s, quiet.p50_ms / off.p50_ms,
              quiet.p99_ms / off.p99_ms);
  std::printf("| concurrency | jobs | jobs/s | ideal (concurrency / %d ms) | ratio |\n", a.enricher_ms);
  std::printf("|---:|---:|---:|---:|---:|\n");
  for (uint32_t c : {1u, 8u, 32u}) {
    const double ideal = c * 1000.0 / a.enricher_ms;
    const int jobs = std::max(10, static_cast<int>(ideal * 2));
    const double got = RunThroughput(a, c, jobs);
    std::printf("| %u | %d | %.1f | %.0f | %.2f |\n", c, jobs, got, ideal, got / ideal);
  }
  std::filesystem::remove_all(a.dir);
  return 0;
}

}  // namespace
}  // namespace tandem

int main(int argc, char** argv) { return tandem::Main(argc, argv); }
