#include "event/uuid.h"

#include <array>

namespace tandem::event_internal {
namespace {

std::mt19937_64 SeededEngine(uint64_t seed) {
  if (seed != 0) return std::mt19937_64(seed);
  std::random_device device;
  std::array<std::seed_seq::result_type, 8> words;
  for (auto& w : words) w = device();
  std::seed_seq seq(words.begin(), words.end());
  return std::mt19937_64(seq);
}

}  // namespace

UuidGenerator::UuidGenerator(uint64_t seed) : rng_(SeededEngine(seed)) {}

std::string UuidGenerator::NewV4() {
  static constexpr char kHex[] = "0123456789abcdef";
  uint64_t hi = rng_();
  uint64_t lo = rng_();
  hi = (hi & ~uint64_t{0xF000}) | uint64_t{0x4000};            // version 4
  lo = (lo & ~(uint64_t{0xC} << 60)) | (uint64_t{0x8} << 60);  // variant 10xx
  std::string out(36, '-');
  size_t pos = 0;
  auto put = [&](uint64_t word) {
    for (int shift = 60; shift >= 0; shift -= 4) {
      if (pos == 8 || pos == 13 || pos == 18 || pos == 23) ++pos;
      out[pos++] = kHex[(word >> shift) & 0xF];
    }
  };
  put(hi);
  put(lo);
  return out;
}

}  // namespace tandem::event_internal
