// CircuitBreaker: the closed / open / half-open state machine that a leg puts
// around its sink (Nygard's "Release It!" breaker, as in resilience4j).
//
//   closed ──(failure_threshold consecutive failed calls)──► open
//   open ──(open_duration_us passed on the clock)──► half-open
//   half-open ──(the one trial call succeeds)──► closed
//   half-open ──(the trial call fails)──► open
//
// A worker asks for a Permit before it polls and calls the sink, and settles
// it with the call's result. While open every TryAcquire says "wait"; in
// half-open exactly one worker at a time holds the trial permit (a trial that
// made no call, e.g. the poll found nothing, is released with kNoCall and the
// next worker may try). Results of ordinary permits that arrive after the
// breaker left the closed state (calls that started before it opened) do not
// change it.
//
// Thread safety: safe for concurrent use (one mutex). No waiting inside: the
// caller waits (src/leg/worker.cc) and asks again.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>

#include "tandem/env.h"
#include "tandem/leg.h"

namespace tandem::leg {

class CircuitBreaker {
 public:
  enum class PermitKind { kNone, kNormal, kTrial };
  enum class CallResult { kSuccess, kFailure, kNoCall };

  // `clock` must outlive the breaker.
  CircuitBreaker(const BreakerOptions& options, Clock& clock);

  // kNormal or kTrial: the caller may poll and call the sink now and must
  // Release the permit afterwards. kNone: not now; `*retry_at_us` (monotonic
  // micros of the clock) is when asking again can succeed (the end of the open
  // period), or "now" while another worker holds the trial.
  PermitKind TryAcquire(int64_t* retry_at_us);
  void Release(PermitKind permit, CallResult result);
  // Whether `permit` still admits a call: a trial always, an ordinary permit
  // only while the breaker is closed (it may have opened since it was taken,
  // e.g. while its holder polled).
  bool Admits(PermitKind permit) const {
    return permit == PermitKind::kTrial ||
           (permit == PermitKind::kNormal && state() == BreakerState::kClosed);
  }

  BreakerState state() const { return state_.load(std::memory_order_relaxed); }
  uint64_t opens() const { return opens_.load(std::memory_order_relaxed); }
  uint64_t half_opens() const { return half_opens_.load(std::memory_order_relaxed); }
  uint64_t closes() const { return closes_.load(std::memory_order_relaxed); }

 private:
  int64_t NowUs() const { return clock_.MonotonicNanos() / 1000; }
  void OpenLocked(int64_t now_us);  // REQUIRES(mu_)

  const BreakerOptions options_;
  Clock& clock_;
  std::mutex mu_;
  uint32_t consecutive_failures_ = 0;  // GUARDED_BY(mu_)
  int64_t open_until_us_ = 0;          // GUARDED_BY(mu_)
  bool trial_in_flight_ = false;       // GUARDED_BY(mu_)
  // Written under mu_, read lock-free by stats().
  std::atomic<BreakerState> state_{BreakerState::kClosed};
  std::atomic<uint64_t> opens_{0};
  std::atomic<uint64_t> half_opens_{0};
  std::atomic<uint64_t> closes_{0};
};

}  // namespace tandem::leg
