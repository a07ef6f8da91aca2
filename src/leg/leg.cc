// LegImpl: the Leg of include/tandem/leg.h. It owns the subscription, the
// workers (src/leg/worker.h), the breaker and the
// counters; Start/Stop are serialised by lifecycle_mu_.
#include "tandem/leg.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <mutex>
#include <random>
#include <thread>

#include "leg/circuit_breaker.h"
#include "leg/flow_control.h"
#include "leg/leg_counters.h"
#include "leg/worker.h"

namespace tandem {
namespace {

int64_t CeilMs(int64_t us) { return us <= 0 ? 0 : (us + 999) / 1000; }

Status ValidateLegOptions(const LegOptions& o) {
  auto bad = [&o](const std::string& what) {
    return Status::InvalidArgument("leg " + o.name + ": " + what);
  };
  if (o.name.empty()) return Status::InvalidArgument("leg: name: required");
  if (o.workers == 0) return bad("workers: must be >= 1");
  if (o.max_batch_events == 0) return bad("max_batch_events: must be >= 1");
  if (o.max_batch_delay_us < 0) return bad("max_batch_delay_us: must be >= 0");
  if (o.retry.max_attempts == 0) return bad("retry.max_attempts: must be >= 1");
  if (o.retry.initial_backoff_us < 0 || o.retry.max_backoff_us < 0) {
    return bad("retry: backoffs must be >= 0");
  }
  if (!(o.retry.jitter >= 0 && o.retry.jitter <= 1)) return bad("retry.jitter: must be in 0..1");
  if (o.breaker.open_duration_us < 0) return bad("breaker.open_duration_us: must be >= 0");
  if (o.redelivery.max_deliveries == 0) return bad("redelivery.max_deliveries: must be >= 1");
  if (o.redelivery.backoff_base_us < 0 || o.redelivery.backoff_max_us < 0) {
    return bad("redelivery: backoffs must be >= 0");
  }
  if (!(o.redelivery.jitter >= 0 && o.redelivery.jitter <= 1)) {
    return bad("redelivery.jitter: must be in 0..1");
  }
  if (o.commit_interval_us < 0) return bad("commit_interval_us: must be >= 0");
  return Status::OK();
}

LegOptions Normalise(LegOptions o) {
  if (o.clock == nullptr) o.clock = &SystemClock();
  if (o.seed == 0) o.seed = (uint64_t{std::random_device{}()} << 32) | std::random_device{}();
  if (o.max_in_flight_events == 0) o.max_in_flight_events = o.workers * o.max_batch_events;
  o.max_in_flight_events = std::max<size_t>(o.max_in_flight_events, o.workers);
  return o;
}

// What one worker may hold: its equal share of the in-flight bound, at most a batch.
size_t WorkerShare(const LegOptions& o) {
  return std::min(o.max_batch_events, o.max_in_flight_events / o.workers);
}

SubscriptionOptions ToSubscriptionOptions(const LegOptions& o) {
  SubscriptionOptions s;
  s.name = o.name;
  s.topics = o.topics;
  s.from_beginning = o.from_beginning;
  s.ce_types = o.ce_types;
  s.max_age_ms = o.max_age_us < 0 ? -1 : o.max_age_us / 1000;
  s.nack_backoff_base_ms = CeilMs(o.redelivery.backoff_base_us);
  s.nack_backoff_max_ms = CeilMs(o.redelivery.backoff_max_us);
  s.nack_backoff_jitter = o.redelivery.jitter;
  s.max_deliveries = o.redelivery.max_deliveries;
  // A worker holds one batch at a time; the log enforces the share too.
  s.max_unacked_per_consumer =
      static_cast<uint32_t>(std::min<size_t>(WorkerShare(o), std::numeric_limits<uint32_t>::max()));
  s.commit_interval_ms = CeilMs(o.commit_interval_us);
  return s;
}

class LegImpl final : public Leg {
 public:
  LegImpl(Log& log, Sink& sink, std::unique_ptr<Sink> owned, const LegOptions& options)
      : log_(log),
        owned_sink_(std::move(owned)),
        sink_(sink),
        options_(Normalise(options)),
        breaker_(options_.breaker, *options_.clock) {}
  ~LegImpl() override { (void)Stop(); }

  Status Start() override;
  Status Stop() override;
  Status WaitForCaughtUp(int64_t timeout_us) override;
  std::vector<PartitionLag> Lag() override;
  LegStats stats() const override;
  const LegOptions& options() const override { return options_; }

 private:
  enum class Phase { kNew, kRunning, kStopped };

  void MeasureRedeliveryWindow();  // REQUIRES(lifecycle_mu_)

  Log& log_;
  std::unique_ptr<Sink> owned_sink_;
  Sink& sink_;
  const LegOptions options_;
  leg::CircuitBreaker breaker_;
  leg::LegCounters counters_;
  leg::StopSignal stop_;

  std::mutex lifecycle_mu_;
  Phase phase_ = Phase::kNew;                          // GUARDED_BY(lifecycle_mu_)
  std::unique_ptr<Subscription> subscription_;         // GUARDED_BY(lifecycle_mu_)
  std::vector<std::unique_ptr<leg::Worker>> workers_;  // GUARDED_BY(lifecycle_mu_)
};

Status LegImpl::Start() {
  std::lock_guard l(lifecycle_mu_);
  if (phase_ != Phase::kNew) {
    return Status::FailedPrecondition("leg " + options_.name + ": already started");
  }
  TANDEM_ASSIGN_OR_RETURN(subscription_, log_.Subscribe(ToSubscriptionOptions(options_)));
  const leg::WorkerContext context{
      options_, WorkerShare(options_), sink_, *options_.clock, breaker_, counters_, stop_};
  for (uint32_t i = 0; i < options_.workers; ++i) {
    Result<std::unique_ptr<Consumer>> consumer =
        subscription_->AddConsumer(options_.name + "-" + std::to_string(i));
    if (!consumer.ok()) {
      workers_.clear();
      subscription_.reset();
      return consumer.status();
    }
    const uint64_t seed = options_.seed + 0x9e3779b97f4a7c15ull * (i + 1);
    workers_.push_back(std::make_unique<leg::Worker>(context, std::move(*consumer), seed));
  }
  MeasureRedeliveryWindow();
  for (auto& w : workers_) w->Start();
  phase_ = Phase::kRunning;
  return Status::OK();
}

// How much of what the subscription will redeliver the sink already recorded.
void LegImpl::MeasureRedeliveryWindow() {
  Result<PositionMap> positions = sink_.Positions();
  if (!positions.ok()) return;  // informational only
  uint64_t window = 0;
  for (const PartitionLag& p : subscription_->Lag()) {
    auto it = positions->find(TopicPartition{p.topic, p.partition});
    if (it != positions->end() && it->second >= p.committed) {
      window += std::min(it->second + 1, p.end) - std::min(p.committed, p.end);
    }
  }
  counters_.redelivery_window_at_start.store(window, std::memory_order_relaxed);
}

Status LegImpl::Stop() {
  std::lock_guard l(lifecycle_mu_);
  if (phase_ != Phase::kRunning) {
    phase_ = Phase::kStopped;
    return Status::OK();
  }
  stop_.Request();
  for (auto& w : workers_) w->Join();
  workers_.clear();  // destroys the consumers: what they still hold goes back
  Status committed = subscription_->Commit();
  subscription_.reset();
  phase_ = Phase::kStopped;
  return committed.WithContext("leg " + options_.name + ": committing positions");
}

std::vector<PartitionLag> LegImpl::Lag() {
  std::lock_guard l(lifecycle_mu_);
  if (phase_ != Phase::kRunning) return {};
  return subscription_->Lag();
}

Status LegImpl::WaitForCaughtUp(int64_t timeout_us) {
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::microseconds(std::max<int64_t>(0, timeout_us));
  for (;;) {
    std::vector<PartitionLag> lag;
    {
      std::lock_guard l(lifecycle_mu_);
      if (phase_ != Phase::kRunning) {
        return Status::FailedPrecondition("leg " + options_.name + ": not running");
      }
      lag = subscription_->Lag();
    }
    uint64_t total = 0;
    std::string where;
    for (const PartitionLag& p : lag) {
      total += p.lag();
      if (p.lag() > 0 && where.size() < 200) {
        where += " " + p.topic + "/" + std::to_string(p.partition) + ":" + std::to_string(p.lag());
      }
    }
    if (total == 0) return Status::OK();
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status::Busy("leg " + options_.name + ": lag " + std::to_string(total) + " after " +
                          std::to_string(timeout_us / 1000) + " ms (" + where.substr(1) + ")");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

LegStats LegImpl::stats() const {
  LegStats s = counters_.Snapshot();
  s.breaker_state = breaker_.state();
  s.breaker_opens = breaker_.opens();
  s.breaker_half_opens = breaker_.half_opens();
  s.breaker_closes = breaker_.closes();
  return s;
}

}  // namespace

std::string_view BreakerStateName(BreakerState state) {
  switch (state) {
    case BreakerState::kClosed:
      return "closed";
    case BreakerState::kOpen:
      return "open";
    case BreakerState::kHalfOpen:
      return "half_open";
  }
  return "unknown";
}

Result<std::unique_ptr<Leg>> NewLeg(Log& log, Sink& sink, const LegOptions& options) {
  TANDEM_RETURN_IF_ERROR(ValidateLegOptions(options));
  return std::unique_ptr<Leg>(std::make_unique<LegImpl>(log, sink, nullptr, options));
}

Result<std::unique_ptr<Leg>> NewLeg(Log& log, std::unique_ptr<Sink> sink,
                                    const LegOptions& options) {
  if (sink == nullptr) return Status::InvalidArgument("leg " + options.name + ": sink is null");
  TANDEM_RETURN_IF_ERROR(ValidateLegOptions(options));
  Sink& ref = *sink;
  return std::unique_ptr<Leg>(std::make_unique<LegImpl>(log, ref, std::move(sink), options));
}

namespace leg {

LegStats LegCounters::Snapshot() const {
  auto v = [](const Counter& c) { return c.load(std::memory_order_relaxed); };
  LegStats s;
  s.consumed = v(consumed);
  s.acknowledged = v(acknowledged);
  s.applied = v(applied);
  s.skipped_stale = v(skipped_stale);
  s.skipped_duplicate = v(skipped_duplicate);
  s.dead_lettered_undecodable = v(dead_lettered_undecodable);
  s.dead_lettered_permanent = v(dead_lettered_permanent);
  s.dead_lettered_exhausted = v(dead_lettered_exhausted);
  s.transient_errors = v(transient_errors);
  s.held_back = v(held_back);
  s.retries = v(retries);
  s.nacked = v(nacked);
  s.released = v(released);
  s.settle_errors = v(settle_errors);
  s.dead_letter_errors = v(dead_letter_errors);
  s.poll_errors = v(poll_errors);
  s.sink_calls = v(sink_calls);
  s.sink_failures = v(sink_failures);
  s.batch_events = v(batch_events);
  s.max_batch_events = v(max_batch_events);
  s.apply_latency_us_sum = v(apply_latency_us_sum);
  s.apply_latency_us_max = v(apply_latency_us_max);
  s.redelivery_window_at_start = v(redelivery_window_at_start);
  return s;
}

}  // namespace leg
}  // namespace tandem
