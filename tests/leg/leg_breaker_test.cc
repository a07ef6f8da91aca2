// The circuit breaker: its state machine on a ManualClock, the backoff
// schedule, and a leg whose sink goes down: the breaker opens, consumption
// pauses (no polls, no sink calls), a trial runs only after the open period
// (driven by the ManualClock), a failed trial reopens, a good one closes.

#include <gtest/gtest.h>

#include "leg/backoff.h"
#include "leg/circuit_breaker.h"
#include "leg_test_util.h"
#include "test_sinks.h"

namespace tandem::leg_test {
namespace {

using leg::CircuitBreaker;
using Kind = CircuitBreaker::PermitKind;
using CallResult = CircuitBreaker::CallResult;

constexpr int64_t kOpenUs = 60'000'000;

BreakerOptions Breaker(uint32_t threshold) {
  BreakerOptions o;
  o.failure_threshold = threshold;
  o.open_duration_us = kOpenUs;
  return o;
}

TEST(CircuitBreaker, OpensAfterTheThresholdOfConsecutiveFailures) {
  ManualClock clock;
  CircuitBreaker b(Breaker(3), clock);
  int64_t at = 0;
  for (int i = 0; i < 2; ++i) b.Release(b.TryAcquire(&at), CallResult::kFailure);
  b.Release(b.TryAcquire(&at), CallResult::kSuccess);  // resets the count
  for (int i = 0; i < 2; ++i) b.Release(b.TryAcquire(&at), CallResult::kFailure);
  b.Release(b.TryAcquire(&at), CallResult::kNoCall);  // says nothing
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  b.Release(b.TryAcquire(&at), CallResult::kFailure);
  EXPECT_EQ(b.state(), BreakerState::kOpen);
  EXPECT_EQ(b.opens(), 1u);
  EXPECT_EQ(b.TryAcquire(&at), Kind::kNone);
  EXPECT_EQ(at, clock.MonotonicNanos() / 1000 + kOpenUs);
  clock.Advance(kOpenUs - 1);
  EXPECT_EQ(b.TryAcquire(&at), Kind::kNone);
  EXPECT_EQ(b.state(), BreakerState::kOpen);
}

TEST(CircuitBreaker, HalfOpenLetsOneTrialThroughAndASuccessCloses) {
  ManualClock clock;
  CircuitBreaker b(Breaker(1), clock);
  int64_t at = 0;
  b.Release(b.TryAcquire(&at), CallResult::kFailure);
  clock.Advance(kOpenUs);
  const Kind trial = b.TryAcquire(&at);
  EXPECT_EQ(trial, Kind::kTrial);
  EXPECT_EQ(b.state(), BreakerState::kHalfOpen);
  EXPECT_EQ(b.TryAcquire(&at), Kind::kNone);  // one trial at a time
  b.Release(trial, CallResult::kNoCall);      // the trial found nothing to do
  const Kind again = b.TryAcquire(&at);
  EXPECT_EQ(again, Kind::kTrial);
  b.Release(again, CallResult::kSuccess);
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  EXPECT_EQ(b.TryAcquire(&at), Kind::kNormal);
  EXPECT_EQ(b.half_opens(), 1u);
  EXPECT_EQ(b.closes(), 1u);
}

TEST(CircuitBreaker, FailedTrialReopensForAnotherFullPeriod) {
  ManualClock clock;
  CircuitBreaker b(Breaker(1), clock);
  int64_t at = 0;
  b.Release(b.TryAcquire(&at), CallResult::kFailure);
  clock.Advance(kOpenUs);
  b.Release(b.TryAcquire(&at), CallResult::kFailure);
  EXPECT_EQ(b.state(), BreakerState::kOpen);
  EXPECT_EQ(b.opens(), 2u);
  clock.Advance(kOpenUs - 1);
  EXPECT_EQ(b.TryAcquire(&at), Kind::kNone);
  clock.Advance(1);
  EXPECT_EQ(b.TryAcquire(&at), Kind::kTrial);
}

TEST(CircuitBreaker, LateResultsOfCallsStartedBeforeTheOpeningAreIgnored) {
  ManualClock clock;
  CircuitBreaker b(Breaker(1), clock);
  int64_t at = 0;
  const Kind first = b.TryAcquire(&at);
  const Kind second = b.TryAcquire(&at);
  b.Release(first, CallResult::kFailure);
  b.Release(second, CallResult::kSuccess);
  EXPECT_EQ(b.state(), BreakerState::kOpen);
}

TEST(CircuitBreaker, ZeroThresholdNeverOpens) {
  ManualClock clock;
  CircuitBreaker b(Breaker(0), clock);
  int64_t at = 0;
  for (int i = 0; i < 100; ++i) b.Release(b.TryAcquire(&at), CallResult::kFailure);
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  EXPECT_EQ(b.opens(), 0u);
}

TEST(Backoff, GrowsExponentiallyUpToTheCap) {
  RetryPolicy p;
  p.initial_backoff_us = 1'000;
  p.max_backoff_us = 10'000;
  p.multiplier = 2;
  p.jitter = 0;
  leg::Backoff b(p, 1);
  EXPECT_EQ(b.DelayUs(1), 1'000);
  EXPECT_EQ(b.DelayUs(2), 2'000);
  EXPECT_EQ(b.DelayUs(4), 8'000);
  EXPECT_EQ(b.DelayUs(5), 10'000);
  EXPECT_EQ(b.DelayUs(1000), 10'000);
}

TEST(Backoff, JitterStaysWithinItsBoundsAndFollowsTheSeed) {
  RetryPolicy p;
  p.initial_backoff_us = 10'000;
  p.jitter = 0.2;
  leg::Backoff a(p, 7), b(p, 7);
  std::set<int64_t> distinct;
  for (int i = 0; i < 1000; ++i) {
    const int64_t d = a.DelayUs(1);
    EXPECT_GE(d, 8'000);
    EXPECT_LE(d, 12'000);
    EXPECT_EQ(d, b.DelayUs(1));
    distinct.insert(d);
  }
  EXPECT_GT(distinct.size(), 100u);
}

// A one-worker graph leg over a sink that is down, on a ManualClock.
struct BreakerRig {
  LegEnv env;
  ManualClock clock;
  std::vector<EntityEvent> sample;
  std::unique_ptr<GraphStore> graph;
  std::unique_ptr<Sink> store_sink;
  std::unique_ptr<FlakySink> flaky;
  std::unique_ptr<Leg> leg;

  BreakerRig() {
    env.OpenLog();
    sample = SampleEvents();
    env.Publish(sample);
    graph = env.OpenGraph("graph");
    store_sink = NewStoreSink(*graph);
    flaky = std::make_unique<FlakySink>(*store_sink);
    flaky->SetDown(true);
    LegOptions o = TestLegOptions();
    o.workers = 1;  // the worker that fails is the one that pauses: no call can race the opening
    o.clock = &clock;
    o.breaker = Breaker(3);
    o.retry.max_attempts = 1000;  // keep the batch in the runtime
    o.retry.max_backoff_us = 1'000;
    Result<std::unique_ptr<Leg>> l = NewLeg(env.log(), *flaky, o);
    EXPECT_TRUE(l.ok()) << l.status().ToString();
    if (l.ok()) leg = std::move(l).value();
  }
  BreakerState state() { return leg->stats().breaker_state; }
  // Waits (bounded) until the breaker has opened `n` times and is open.
  bool OpenedTimes(uint64_t n) {
    return Eventually([&] {
      const LegStats s = leg->stats();
      return s.breaker_opens == n && s.breaker_state == BreakerState::kOpen;
    });
  }
  // While open, nothing may happen however long we look.
  void ExpectPaused() {
    const LegStats before = leg->stats();
    const int calls = flaky->calls();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const LegStats after = leg->stats();
    EXPECT_EQ(flaky->calls(), calls) << "the sink was called while the breaker was open";
    EXPECT_EQ(after.consumed, before.consumed) << "the worker polled while the breaker was open";
    EXPECT_EQ(after.sink_calls, before.sink_calls);
    EXPECT_EQ(after.breaker_state, BreakerState::kOpen);
  }
};

TEST(LegBreaker, OpensPausesConsumptionAndClosesAfterASuccessfulTrial) {
  BreakerRig rig;
  ASSERT_NE(rig.leg, nullptr);
  LEG_ASSERT_OK(rig.leg->Start());
  ASSERT_TRUE(rig.OpenedTimes(1));
  EXPECT_EQ(rig.flaky->calls(), 3);  // exactly the threshold
  rig.ExpectPaused();
  EXPECT_EQ(rig.leg->WaitForCaughtUp(20'000).code(), StatusCode::kBusy);

  // The open period passes while the sink is still down: one trial, which fails.
  rig.clock.Advance(kOpenUs);
  ASSERT_TRUE(rig.OpenedTimes(2));
  EXPECT_EQ(rig.flaky->calls(), 4);
  rig.ExpectPaused();

  // The sink recovers, but nothing happens before the next period is over.
  rig.flaky->SetDown(false);
  rig.ExpectPaused();
  rig.clock.Advance(kOpenUs);
  LEG_ASSERT_OK(rig.leg->WaitForCaughtUp(kWaitUs));
  LEG_ASSERT_OK(rig.leg->Stop());
  const LegStats s = rig.leg->stats();
  EXPECT_EQ(s.breaker_state, BreakerState::kClosed);
  EXPECT_EQ(s.breaker_opens, 2u);
  EXPECT_EQ(s.breaker_half_opens, 2u);
  EXPECT_EQ(s.breaker_closes, 1u);
  EXPECT_EQ(s.sink_failures, 4u);
  EXPECT_EQ(s.applied, kSampleRecords);
  EXPECT_EQ(s.dead_lettered() + s.nacked, 0u);
  Result<StoreDigest> d = rig.graph->Digest();
  LEG_ASSERT_OK(d);
  EXPECT_EQ(*d, ReferenceDigest(rig.sample));
  ExpectBalanced(s);
}

TEST(LegBreaker, StopWhileOpenReleasesTheBatchAndLosesNothing) {
  BreakerRig rig;
  ASSERT_NE(rig.leg, nullptr);
  LEG_ASSERT_OK(rig.leg->Start());
  ASSERT_TRUE(rig.OpenedTimes(1));
  LEG_ASSERT_OK(rig.leg->Stop());  // interrupts the wait for the open period
  const LegStats s = rig.leg->stats();
  EXPECT_GT(s.released, 0u);
  EXPECT_EQ(s.acknowledged, 0u);
  ExpectBalanced(s);

  // A new leg on a healthy sink picks up every released event.
  rig.flaky->SetDown(false);
  Result<std::unique_ptr<Leg>> next = NewLeg(rig.env.log(), *rig.flaky, TestLegOptions());
  LEG_ASSERT_OK(next);
  LEG_ASSERT_OK((*next)->Start());
  LEG_ASSERT_OK((*next)->WaitForCaughtUp(kWaitUs));
  LEG_ASSERT_OK((*next)->Stop());
  EXPECT_EQ((*next)->stats().applied, kSampleRecords);
  Result<StoreDigest> d = rig.graph->Digest();
  LEG_ASSERT_OK(d);
  EXPECT_EQ(*d, ReferenceDigest(rig.sample));
}

}  // namespace
}  // namespace tandem::leg_test
