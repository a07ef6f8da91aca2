// The workload shared by graph_crash_test and its child process: a seeded
// banking log cut into fixed batches, so both sides agree on batch k.
//
// Thread safety: pure functions.
#pragma once

#include <span>
#include <vector>

#include "banking_workload.h"

namespace tandem::graph_test {

inline constexpr size_t kCrashBatch = 25;

inline std::vector<StoreEvent> CrashLog(uint64_t seed) {
  Random rnd(seed);
  LogOptions o = BankingLog();
  o.events = 500;
  return store_test::GenerateLog(rnd, o);
}

inline size_t CrashBatches(const std::vector<StoreEvent>& log) {
  return (log.size() + kCrashBatch - 1) / kCrashBatch;
}

inline std::span<const StoreEvent> CrashBatch(const std::vector<StoreEvent>& log, size_t k) {
  size_t begin = k * kCrashBatch;
  return std::span<const StoreEvent>(log).subspan(begin, std::min(kCrashBatch, log.size() - begin));
}

}  // namespace tandem::graph_test
