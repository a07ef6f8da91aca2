// The HTTP embedder's circuit breaker: closed / open / half-open on a Clock.
//
//   closed ──(failure_threshold consecutive failed requests)──► open
//   open ──(open_us passed)──► half-open: one trial request at a time
//   half-open ──(trial succeeds)──► closed;  ──(trial fails)──► open
//
// "Failed" means a transient failure (connection error, timeout, HTTP
// 429/5xx, malformed reply); a permanent answer (HTTP 400, wrong dimension)
// proves the server alive and counts as a success. Results of ordinary
// requests that finish after the breaker opened do not change it.
// A threshold of 0 disables the breaker.
//
// Thread safety: safe for concurrent use (one mutex, no waiting inside).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "tandem/env.h"

namespace tandem::embed {

class Breaker {
 public:
  enum class Permit { kNone, kNormal, kTrial };

  // `clock` must outlive the breaker.
  Breaker(uint32_t failure_threshold, int64_t open_us, Clock& clock)
      : threshold_(failure_threshold), open_us_(open_us), clock_(clock) {}

  // kNone: fail fast (open, or half-open with the trial in flight).
  Permit Acquire();
  // Settles a permit; `error` is kept for the fail-fast message.
  void Release(Permit permit, bool failed, const std::string& error);

  // Open and still inside its open period (a retry loop stops sleeping).
  bool open() const;

  uint32_t failures_to_open() const { return threshold_; }
  std::string last_error() const;

 private:
  enum class State { kClosed, kOpen };
  int64_t NowUs() const { return clock_.MonotonicNanos() / 1000; }

  const uint32_t threshold_;
  const int64_t open_us_;
  Clock& clock_;
  mutable std::mutex mu_;
  State state_ = State::kClosed;       // GUARDED_BY(mu_)
  uint32_t failures_ = 0;              // GUARDED_BY(mu_): consecutive, while closed
  int64_t open_until_us_ = 0;          // GUARDED_BY(mu_)
  bool trial_in_flight_ = false;       // GUARDED_BY(mu_)
  std::string last_error_;             // GUARDED_BY(mu_)
};

}  // namespace tandem::embed
