#include "leg/flow_control.h"

#include <algorithm>
#include <chrono>

namespace tandem::leg {

void StopSignal::Request() {
  {
    std::lock_guard l(mu_);
    requested_ = true;
  }
  cv_.notify_all();
}

bool StopSignal::requested() const {
  std::lock_guard l(mu_);
  return requested_;
}

bool StopSignal::WaitFor(int64_t real_us) {
  std::unique_lock l(mu_);
  cv_.wait_for(l, std::chrono::microseconds(std::max<int64_t>(0, real_us)),
               [this] { return requested_; });
  return !requested_;
}

bool SleepOnClock(Clock& clock, StopSignal& stop, int64_t us) {
  while (us > 0) {
    if (stop.requested()) return false;
    const int64_t step = std::min(us, kWaitSliceUs);
    clock.SleepForMicros(step);
    us -= step;
  }
  return !stop.requested();
}

bool WaitForClock(Clock& clock, StopSignal& stop, int64_t until_us) {
  for (;;) {
    const int64_t now = clock.MonotonicNanos() / 1000;
    if (now >= until_us) return !stop.requested();
    if (!stop.WaitFor(std::min(until_us - now, kWaitSliceUs))) return false;
  }
}

}  // namespace tandem::leg
