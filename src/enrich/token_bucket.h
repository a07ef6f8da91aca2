// TokenBucket: paces work to a rate (the backfill's --rate). Tokens accrue at
// `rate_per_second` up to `burst`; Acquire takes one, first sleeping on the
// clock until one has accrued. A ManualClock makes the pacing instant and
// exact in tests (its SleepForMicros advances it).
//
// Thread safety: one thread (a backfill page); not synchronised.
#pragma once

#include <algorithm>
#include <cstdint>

#include "tandem/env.h"

namespace tandem::enrich {

class TokenBucket {
 public:
  // rate_per_second > 0, burst >= 1 (checked by the caller). Starts full.
  TokenBucket(double rate_per_second, double burst, Clock& clock)
      : rate_(rate_per_second),
        burst_(burst),
        clock_(clock),
        tokens_(burst),
        last_ns_(clock.MonotonicNanos()) {}

  void Acquire() {
    Refill();
    if (tokens_ < 1) {
      const double wait_s = (1 - tokens_) / rate_;
      clock_.SleepForMicros(std::max<int64_t>(1, static_cast<int64_t>(wait_s * 1e6 + 0.5)));
      Refill();
      tokens_ = std::max(tokens_, 1.0);  // the sleep may round short by < 1 µs
    }
    tokens_ -= 1;
  }

 private:
  void Refill() {
    const int64_t now = clock_.MonotonicNanos();
    tokens_ = std::min(burst_, tokens_ + static_cast<double>(now - last_ns_) * 1e-9 * rate_);
    last_ns_ = now;
  }

  const double rate_;
  const double burst_;
  Clock& clock_;
  double tokens_;
  int64_t last_ns_;
};

}  // namespace tandem::enrich
