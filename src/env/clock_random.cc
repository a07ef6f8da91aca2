// The real clock, the manual test clock and the seeded random generator.
//
// Random is xoshiro256** (Blackman & Vigna, 2018) seeded by SplitMix64, the
// seeding its authors recommend: it turns any 64-bit seed, including 0, into a
// well-mixed non-zero state. Only fixed-width integer arithmetic is used, so a
// seed yields the same sequence on every platform.
#include <cerrno>
#include <cstdint>
#include <ctime>

#include "tandem/env.h"

namespace tandem {
namespace {

class PosixClock final : public Clock {
 public:
  int64_t NowMicros() override {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1'000;
  }

  int64_t MonotonicNanos() override {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
  }

  void SleepForMicros(int64_t micros) override {
    if (micros <= 0) return;
    struct timespec want;
    want.tv_sec = static_cast<time_t>(micros / 1'000'000);
    want.tv_nsec = static_cast<long>(micros % 1'000'000) * 1'000;
    struct timespec left;
    // A signal interrupts nanosleep; keep sleeping for what remains.
    while (nanosleep(&want, &left) != 0 && errno == EINTR) want = left;
  }
};

uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

constexpr uint64_t RotateLeft(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

Clock& SystemClock() {
  static PosixClock clock;  // stateless: safe to share between threads
  return clock;
}

int64_t ManualClock::NowMicros() { return now_.load(std::memory_order_relaxed); }

int64_t ManualClock::MonotonicNanos() { return now_.load(std::memory_order_relaxed) * 1000; }

void ManualClock::Advance(int64_t micros) { now_.fetch_add(micros, std::memory_order_relaxed); }

Random::Random(uint64_t seed) {
  for (uint64_t& word : s_) word = SplitMix64(&seed);
}

uint64_t Random::Next() {
  const uint64_t result = RotateLeft(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = RotateLeft(s_[3], 45);
  return result;
}

// Lemire, "Fast Random Integer Generation in an Interval" (2019): the high
// word of a 64x64→128 multiply, rejecting the few low words that would make
// some results more likely than others. No modulo bias, rarely a division.
uint64_t Random::Uniform(uint64_t n) {
  unsigned __int128 m = static_cast<unsigned __int128>(Next()) * n;
  uint64_t low = static_cast<uint64_t>(m);
  if (low < n) {
    const uint64_t threshold = (0 - n) % n;  // 2^64 mod n
    while (low < threshold) {
      m = static_cast<unsigned __int128>(Next()) * n;
      low = static_cast<uint64_t>(m);
    }
  }
  return static_cast<uint64_t>(m >> 64);
}

double Random::NextDouble() {
  // The top 53 bits fill a double's mantissa exactly: 0 ≤ x < 1.
  return static_cast<double>(Next() >> 11) * 0x1.0p-53;
}

}  // namespace tandem
