// Backoff delays for in-runtime retries (RetryPolicy): exponential growth,
// a cap and multiplicative jitter, the "full decorrelation" of lockstep
// retries that AWS's backoff notes recommend in its simplest form.
//
// Thread safety: none; each worker owns one (it holds a Random).
#pragma once

#include <cstdint>

#include "tandem/env.h"
#include "tandem/leg.h"

namespace tandem::leg {

class Backoff {
 public:
  Backoff(const RetryPolicy& policy, uint64_t seed) : policy_(policy), random_(seed) {}

  // The delay before retry `retry` (1 = the first retry):
  // min(max, initial * multiplier^(retry-1)) * (1 ± jitter), never negative.
  int64_t DelayUs(uint32_t retry);

 private:
  const RetryPolicy policy_;
  Random random_;
};

}  // namespace tandem::leg
