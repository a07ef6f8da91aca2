// log_append_bench: append throughput and acknowledgement latency of the
// embedded log under fsync=always, side by side with the raw limit of the same
// disk (a plain write(2)+fdatasync(2) loop writing the same number of bytes
// per sync as the log's group commit achieved).
//
//   log_append_bench [--dir D] [--seconds S] [--record-bytes N]
//                    [--producers 1,4,16,64] [--batches 1,100] [--partitions P]
//
// Prints a Markdown table: one row per (producers, records per call).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/counting_fs.h"
#include "tandem/env.h"
#include "tandem/log.h"

namespace tandem::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Flags {
  std::string dir;
  double seconds = 3;
  size_t record_bytes = 700;
  std::vector<int> producers = {1, 4, 16, 64};
  std::vector<int> batches = {1, 100};
  uint32_t partitions = 1;
};

std::vector<int> ParseList(const char* s) {
  std::vector<int> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(std::atoi(item.c_str()));
  return out;
}

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    const char* v = argv[i + 1];
    if (k == "--dir") f.dir = v;
    else if (k == "--seconds") f.seconds = std::atof(v);
    else if (k == "--record-bytes") f.record_bytes = std::strtoul(v, nullptr, 10);
    else if (k == "--producers") f.producers = ParseList(v);
    else if (k == "--batches") f.batches = ParseList(v);
    else if (k == "--partitions") f.partitions = std::strtoul(v, nullptr, 10);
    else {
      std::fprintf(stderr, "unknown flag %s\n", k.c_str());
      std::exit(2);
    }
  }
  if (f.dir.empty()) f.dir = std::filesystem::temp_directory_path() / "tandem-bench";
  return f;
}

struct RunResult {
  double records_per_sec = 0;
  double mb_per_sec = 0;
  double p50_us = 0, p99_us = 0, p999_us = 0;
  double records_per_sync = 0;
};

double Percentile(std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  size_t i = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(i), v.end());
  return v[i];
}

void ProducerLoop(Log& log, const Flags& f, int thread, int batch, Clock::time_point deadline,
                  std::atomic<uint64_t>& records, std::vector<double>& lat_us) {
  Random rnd(thread + 1);
  std::vector<ProduceRecord> recs(batch);
  std::vector<AppendResult> results;
  uint64_t seq = 0;
  while (Clock::now() < deadline) {
    for (auto& r : recs) {
      r.key = "entity-" + std::to_string(rnd.Uniform(1'000'000));
      r.id = "t" + std::to_string(thread) + "-" + std::to_string(seq++);
      r.value.assign(f.record_bytes, 'x');
    }
    auto t0 = Clock::now();
    Status s = batch == 1 ? log.Append("bench", recs[0]).status()
                          : log.AppendBatch("bench", recs, &results);
    auto t1 = Clock::now();
    if (!s.ok()) {
      std::fprintf(stderr, "append failed: %s\n", s.ToString().c_str());
      std::exit(1);
    }
    lat_us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    records.fetch_add(batch, std::memory_order_relaxed);
  }
}

RunResult RunLog(const Flags& f, int producers, int batch) {
  std::filesystem::remove_all(f.dir);
  std::unique_ptr<FileSystem> posix = NewPosixFileSystem();
  CountingFileSystem fs(*posix);
  LogOptions o;
  o.dir = f.dir;
  o.fs = &fs;
  o.default_partitions = f.partitions;
  Result<std::unique_ptr<Log>> log = Log::Open(o);
  if (!log.ok()) {
    std::fprintf(stderr, "open: %s\n", log.status().ToString().c_str());
    std::exit(1);
  }
  if (!(*log)->CreateTopic("bench", TopicOptions{f.partitions}).ok()) std::exit(1);
  uint64_t syncs0 = fs.counters().syncs.load();
  std::atomic<uint64_t> records{0};
  std::vector<std::vector<double>> lats(producers);
  auto start = Clock::now();
  auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(f.seconds));
  std::vector<std::thread> threads;
  for (int t = 0; t < producers; ++t) {
    threads.emplace_back(
        [&, t] { ProducerLoop(**log, f, t, batch, deadline, records, lats[t]); });
  }
  for (auto& t : threads) t.join();
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  uint64_t syncs = fs.counters().syncs.load() - syncs0;
  (void)(*log)->Close();
  std::vector<double> all;
  for (auto& v : lats) all.insert(all.end(), v.begin(), v.end());
  RunResult r;
  r.records_per_sec = static_cast<double>(records.load()) / secs;
  r.mb_per_sec = r.records_per_sec * static_cast<double>(f.record_bytes) / 1e6;
  r.p50_us = Percentile(all, 0.50);
  r.p99_us = Percentile(all, 0.99);
  r.p999_us = Percentile(all, 0.999);
  r.records_per_sync = syncs ? static_cast<double>(records.load()) / static_cast<double>(syncs) : 0;
  return r;
}

// The disk's limit for `per_sync` records of `record_bytes` per fdatasync.
double RunRaw(const Flags& f, double per_sync) {
  std::filesystem::create_directories(f.dir);
  std::string path = f.dir + "/raw.bin";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) std::exit(1);
  size_t n = std::max<size_t>(1, static_cast<size_t>(per_sync + 0.5));
  std::string buf(n * f.record_bytes, 'x');
  uint64_t records = 0;
  auto start = Clock::now();
  auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(f.seconds));
  while (Clock::now() < deadline) {
    if (::write(fd, buf.data(), buf.size()) != static_cast<ssize_t>(buf.size())) std::exit(1);
    if (::fdatasync(fd) != 0) std::exit(1);
    records += n;
  }
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  ::close(fd);
  std::filesystem::remove(path);
  return static_cast<double>(records) / secs;
}

int Main(int argc, char** argv) {
  Flags f = ParseFlags(argc, argv);
  std::printf("| producers | records/call | records/s | MB/s | ack p50 µs | ack p99 µs | "
              "ack p99.9 µs | records/fdatasync | raw write+fdatasync records/s | ratio |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (int batch : f.batches) {
    for (int producers : f.producers) {
      RunResult r = RunLog(f, producers, batch);
      double raw = RunRaw(f, r.records_per_sync);
      std::printf("| %d | %d | %.0f | %.1f | %.0f | %.0f | %.0f | %.1f | %.0f | %.2f |\n",
                  producers, batch, r.records_per_sec, r.mb_per_sec, r.p50_us, r.p99_us,
                  r.p999_us, r.records_per_sync, raw, r.records_per_sec / raw);
      std::fflush(stdout);
    }
  }
  std::filesystem::remove_all(f.dir);
  return 0;
}

}  // namespace
}  // namespace tandem::bench

int main(int argc, char** argv) { return tandem::bench::Main(argc, argv); }
