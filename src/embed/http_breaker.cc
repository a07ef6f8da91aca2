#include "embed/http_breaker.h"

namespace tandem::embed {

Breaker::Permit Breaker::Acquire() {
  if (threshold_ == 0) return Permit::kNormal;
  std::lock_guard l(mu_);
  if (state_ == State::kClosed) return Permit::kNormal;
  if (NowUs() < open_until_us_ || trial_in_flight_) return Permit::kNone;
  trial_in_flight_ = true;  // half-open
  return Permit::kTrial;
}

void Breaker::Release(Permit permit, bool failed, const std::string& error) {
  if (threshold_ == 0 || permit == Permit::kNone) return;
  std::lock_guard l(mu_);
  if (failed) last_error_ = error;
  if (permit == Permit::kTrial) {
    trial_in_flight_ = false;
    if (failed) {
      open_until_us_ = NowUs() + open_us_;
    } else {
      state_ = State::kClosed;
      failures_ = 0;
    }
    return;
  }
  if (state_ != State::kClosed) return;  // a request that started before it opened
  if (!failed) {
    failures_ = 0;
  } else if (++failures_ >= threshold_) {
    state_ = State::kOpen;
    open_until_us_ = NowUs() + open_us_;
  }
}

bool Breaker::open() const {
  if (threshold_ == 0) return false;
  std::lock_guard l(mu_);
  return state_ == State::kOpen && NowUs() < open_until_us_;
}

std::string Breaker::last_error() const {
  std::lock_guard l(mu_);
  return last_error_;
}

}  // namespace tandem::embed
