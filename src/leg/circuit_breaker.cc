#include "leg/circuit_breaker.h"

namespace tandem::leg {

CircuitBreaker::CircuitBreaker(const BreakerOptions& options, Clock& clock)
    : options_(options), clock_(clock) {}

CircuitBreaker::PermitKind CircuitBreaker::TryAcquire(int64_t* retry_at_us) {
  std::lock_guard l(mu_);
  const int64_t now = NowUs();
  *retry_at_us = now;
  switch (state_.load(std::memory_order_relaxed)) {
    case BreakerState::kClosed:
      return PermitKind::kNormal;
    case BreakerState::kOpen:
      if (now < open_until_us_) {
        *retry_at_us = open_until_us_;
        return PermitKind::kNone;
      }
      state_.store(BreakerState::kHalfOpen, std::memory_order_relaxed);
      half_opens_.fetch_add(1, std::memory_order_relaxed);
      [[fallthrough]];
    case BreakerState::kHalfOpen:
      if (trial_in_flight_) return PermitKind::kNone;
      trial_in_flight_ = true;
      return PermitKind::kTrial;
  }
  return PermitKind::kNone;
}

void CircuitBreaker::Release(PermitKind permit, CallResult result) {
  if (permit == PermitKind::kNone) return;
  std::lock_guard l(mu_);
  const BreakerState state = state_.load(std::memory_order_relaxed);
  if (permit == PermitKind::kTrial) {
    trial_in_flight_ = false;
    if (result == CallResult::kSuccess) {
      consecutive_failures_ = 0;
      state_.store(BreakerState::kClosed, std::memory_order_relaxed);
      closes_.fetch_add(1, std::memory_order_relaxed);
    } else if (result == CallResult::kFailure) {
      OpenLocked(NowUs());
    }
    return;
  }
  // An ordinary permit only counts while closed: a call that started before
  // the breaker opened says nothing about the sink's state now.
  if (state != BreakerState::kClosed || result == CallResult::kNoCall) return;
  if (result == CallResult::kSuccess) {
    consecutive_failures_ = 0;
    return;
  }
  ++consecutive_failures_;
  if (options_.failure_threshold > 0 && consecutive_failures_ >= options_.failure_threshold) {
    OpenLocked(NowUs());
  }
}

void CircuitBreaker::OpenLocked(int64_t now_us) {
  consecutive_failures_ = 0;
  open_until_us_ = now_us + options_.open_duration_us;
  state_.store(BreakerState::kOpen, std::memory_order_relaxed);
  opens_.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace tandem::leg
