// The workload shared by vector_crash_test and its child process: a seeded
// log of widget/gadget events whose names change now and then (so texts are
// embedded, kept and removed), cut into fixed batches, and the store options
// both sides open the store with (WAL fsync, hash embedder d=32, frequent
// snapshots so that snapshot writes and journal trims fall inside the run).
//
// Thread safety: pure functions.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "vector_test_util.h"

namespace tandem::vector_test {

inline constexpr size_t kCrashBatch = 20;

inline std::string CrashPayload(Random& rnd, const std::string&, const std::string&,
                                EventType type) {
  static const char* kWords[] = {"alpha",   "bravo", "charlie", "delta", "echo",
                                 "foxtrot", "golf",  "hotel",   "india", "juliet"};
  std::string out = "{\"n\":" + std::to_string(rnd.Uniform(100));
  if (!rnd.OneIn(5)) {
    out += ",\"name\":\"" + std::string(kWords[rnd.Uniform(10)]) + " " + kWords[rnd.Uniform(10)] +
           "\"";
  } else if (type == EventType::kUpdate) {
    out += ",\"name\":null";
  }
  return out + "}";
}

inline std::vector<StoreEvent> CrashLog(uint64_t seed) {
  Random rnd(seed);
  store_test::LogOptions o = store_test::DefaultLogOptions();
  o.events = 400;
  o.entities = 60;
  o.payload = CrashPayload;
  return store_test::GenerateLog(rnd, o);
}

inline size_t CrashBatches(const std::vector<StoreEvent>& log) {
  return (log.size() + kCrashBatch - 1) / kCrashBatch;
}

inline std::span<const StoreEvent> CrashBatch(const std::vector<StoreEvent>& log, size_t k) {
  size_t begin = k * kCrashBatch;
  return std::span<const StoreEvent>(log).subspan(begin, std::min(kCrashBatch, log.size() - begin));
}

inline VectorStoreOptions CrashStoreOptions(const std::string& dir, Embedder* e) {
  VectorStoreOptions o = StoreOptions(dir, e);
  o.sync = true;
  o.snapshot_every_changes = 40;
  return o;
}

}  // namespace tandem::vector_test
