// Helpers shared by the event tests: a fixed clock and assertion helpers.
//
// Thread safety: test-only, single-threaded.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "tandem/env.h"
#include "tandem/event.h"

namespace tandem::testing {

// A clock frozen at a known instant (2023-11-14T22:13:20.123456Z). The env
// module's ManualClock would do, but this keeps the event tests independent
// of env's object code.
class FixedClock final : public Clock {
 public:
  static constexpr int64_t kNow = 1'700'000'000'123'456;
  int64_t NowMicros() override { return kNow; }
  int64_t MonotonicNanos() override { return 0; }
  void SleepForMicros(int64_t) override {}
};

inline constexpr char kFixedNowText[] = "2023-11-14T22:13:20.123456Z";

// Parser options with a fixed UUID seed, so generated ids are reproducible.
inline EventParserOptions TestOptions() {
  EventParserOptions o;
  o.uuid_seed = 42;
  return o;
}

// The message of a failed Result, or "<ok>".
template <typename T>
std::string ErrorOf(const Result<T>& r) {
  return r.ok() ? std::string("<ok>") : r.status().message();
}

}  // namespace tandem::testing
