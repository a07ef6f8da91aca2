#include "leg/backoff.h"

#include <algorithm>
#include <cmath>

namespace tandem::leg {

int64_t Backoff::DelayUs(uint32_t retry) {
  const double initial = static_cast<double>(std::max<int64_t>(0, policy_.initial_backoff_us));
  const double cap = static_cast<double>(std::max<int64_t>(0, policy_.max_backoff_us));
  const double growth = std::max(1.0, policy_.multiplier);
  const double exponent =
      static_cast<double>(std::min<uint32_t>(std::max<uint32_t>(retry, 1) - 1, 64));
  const double delay = std::min(cap, initial * std::pow(growth, exponent));
  const double jitter = std::clamp(policy_.jitter, 0.0, 1.0);
  const double factor = 1.0 + jitter * (2.0 * random_.NextDouble() - 1.0);
  return static_cast<int64_t>(std::max(0.0, delay * factor));
}

}  // namespace tandem::leg
