// LegCounters: the live counters behind LegStats, one relaxed atomic each,
// shared by a leg's workers. Snapshot copies them into a LegStats.
//
// Thread safety: safe for concurrent use; a snapshot reads the counters one
// by one (exact only when the workers are idle).
#pragma once

#include <atomic>
#include <cstdint>

#include "tandem/leg.h"

namespace tandem::leg {

struct LegCounters {
  using Counter = std::atomic<uint64_t>;

  Counter consumed{0};
  Counter acknowledged{0};
  Counter applied{0};
  Counter skipped_stale{0};
  Counter skipped_duplicate{0};
  Counter dead_lettered_undecodable{0};
  Counter dead_lettered_permanent{0};
  Counter dead_lettered_exhausted{0};
  Counter transient_errors{0};
  Counter held_back{0};
  Counter retries{0};
  Counter nacked{0};
  Counter released{0};
  Counter settle_errors{0};
  Counter dead_letter_errors{0};
  Counter poll_errors{0};
  Counter sink_calls{0};
  Counter sink_failures{0};
  Counter batch_events{0};
  Counter max_batch_events{0};
  Counter apply_latency_us_sum{0};
  Counter apply_latency_us_max{0};
  Counter redelivery_window_at_start{0};

  static void Add(Counter& c, uint64_t n = 1) { c.fetch_add(n, std::memory_order_relaxed); }
  static void Max(Counter& c, uint64_t v) {
    uint64_t cur = c.load(std::memory_order_relaxed);
    while (v > cur && !c.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
    }
  }

  // The counters' values; the breaker fields are left for the caller.
  LegStats Snapshot() const;
};

}  // namespace tandem::leg
