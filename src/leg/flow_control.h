// The waiting primitives of the leg runtime: a stop signal that interrupts
// every wait, and clock-driven sleeps and waits in bounded slices.
//
// Two kinds of time are involved. Policy times (backoff, the breaker's open
// period, the batch delay) follow LegOptions::clock, so a ManualClock drives
// them in tests. The slices in which a thread actually blocks are real time
// and short (kWaitSliceUs), so Stop is noticed quickly whatever the clock does.
//
// Thread safety: all classes are safe for concurrent use.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "tandem/env.h"

namespace tandem::leg {

// Longest real-time block of a runtime thread between checks of the stop signal.
inline constexpr int64_t kWaitSliceUs = 5'000;

class StopSignal {
 public:
  void Request();
  bool requested() const;
  // Blocks up to `real_us` of real time or until Request. Returns !requested().
  bool WaitFor(int64_t real_us);

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool requested_ = false;  // GUARDED_BY(mu_)
};

// Sleeps `us` on `clock` (Clock::SleepForMicros, in slices of at most
// kWaitSliceUs, so a ManualClock advances instantly). False when stopped early.
bool SleepOnClock(Clock& clock, StopSignal& stop, int64_t us);

// Waits until `clock`'s monotonic time reaches `until_us`, checking every
// kWaitSliceUs of real time. It never advances the clock, so with a ManualClock
// it waits for whoever advances it. False when stopped first.
bool WaitForClock(Clock& clock, StopSignal& stop, int64_t until_us);

}  // namespace tandem::leg
