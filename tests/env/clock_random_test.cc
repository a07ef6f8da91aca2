// Clock and Random: the manual clock moves only when told; Random is a fixed,
// unbiased sequence per seed.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "tandem/env.h"

namespace tandem {
namespace {

TEST(Random, SeedGivesAFixedSequence) {
  // Reference values from an independent Python transcription of SplitMix64
  // seeding xoshiro256** (Vigna's reference C). A change here breaks every
  // recorded seed of the crash and fuzz tests.
  Random r42(42);
  const std::vector<uint64_t> want42 = {0x15780b2e0c2ec716ULL, 0x6104d9866d113a7eULL,
                                        0xae17533239e499a1ULL, 0xecb8ad4703b360a1ULL,
                                        0xfde6dc7fe2ec5e64ULL};
  for (uint64_t w : want42) EXPECT_EQ(r42.Next(), w);
  Random r0(0);
  EXPECT_EQ(r0.Next(), 0x99ec5f36cb75f2b4ULL);
  EXPECT_EQ(r0.Next(), 0xbf6e1f784956452aULL);
}

TEST(Random, SameSeedSameNumbersDifferentSeedDifferent) {
  Random a(7), b(7), c(8);
  int differ = 0;
  for (int i = 0; i < 1000; ++i) {
    const uint64_t x = a.Next();
    EXPECT_EQ(x, b.Next());
    differ += x != c.Next();
  }
  EXPECT_GT(differ, 990);
}

TEST(Random, UniformStaysInRangeAndHitsEveryValue) {
  Random r(1);
  std::vector<int> counts(10, 0);
  for (int i = 0; i < 100000; ++i) {
    const uint64_t v = r.Uniform(10);
    ASSERT_LT(v, 10u);
    ++counts[v];
  }
  for (int c : counts) EXPECT_NEAR(c, 10000, 600);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(r.Uniform(1), 0u);
  const uint64_t huge = (1ULL << 63) + 12345;
  for (int i = 0; i < 1000; ++i) EXPECT_LT(r.Uniform(huge), huge);
}

// With n = 2/3 of 2^64, `Next() % n` puts two thirds of the draws in the lower
// half of [0, n); an unbiased method puts half there.
TEST(Random, UniformHasNoModuloBias) {
  Random r(3);
  const uint64_t n = (UINT64_MAX / 3) * 2;
  int lower = 0;
  const int draws = 20000;
  for (int i = 0; i < draws; ++i) lower += r.Uniform(n) < n / 2;
  EXPECT_NEAR(static_cast<double>(lower) / draws, 0.5, 0.03);
}

TEST(Random, NextDoubleIsInUnitIntervalWithMeanOneHalf) {
  Random r(5);
  double sum = 0;
  for (int i = 0; i < 100000; ++i) {
    const double d = r.NextDouble();
    ASSERT_GE(d, 0.0);
    ASSERT_LT(d, 1.0);
    sum += d;
  }
  EXPECT_NEAR(sum / 100000, 0.5, 0.01);
}

TEST(Random, OneInMatchesItsProbability) {
  Random r(9);
  int hits = 0;
  for (int i = 0; i < 40000; ++i) hits += r.OneIn(4);
  EXPECT_NEAR(hits, 10000, 500);
  EXPECT_TRUE(r.OneIn(1));
}

TEST(ManualClock, MovesOnlyWhenAdvanced) {
  ManualClock clock(1'000'000);
  EXPECT_EQ(clock.NowMicros(), 1'000'000);
  EXPECT_EQ(clock.NowMicros(), 1'000'000);
  EXPECT_EQ(clock.MonotonicNanos(), 1'000'000'000);
  clock.Advance(250);
  EXPECT_EQ(clock.NowMicros(), 1'000'250);
  EXPECT_EQ(clock.MonotonicNanos(), 1'000'250'000);
  clock.SleepForMicros(750);
  EXPECT_EQ(clock.NowMicros(), 1'001'000);
}

TEST(ManualClock, DefaultStartIsARecentWallTime) {
  ManualClock clock;
  EXPECT_EQ(clock.NowMicros(), 1'700'000'000'000'000);
}

TEST(SystemClock, ReadsRealTimeAndSleeps) {
  Clock& clock = SystemClock();
  EXPECT_GT(clock.NowMicros(), 1'600'000'000'000'000);  // after September 2020
  const int64_t before = clock.MonotonicNanos();
  clock.SleepForMicros(2000);
  const int64_t after = clock.MonotonicNanos();
  EXPECT_GE(after - before, 2'000'000);
  EXPECT_EQ(&clock, &SystemClock());
}

}  // namespace
}  // namespace tandem
