// JobRunner: the enrichment leg's workers. They take jobs from the durable
// outbox (the state store's job records, mirrored in an in-memory FIFO of
// entity ids), call the enricher with retries, backoff and a circuit breaker,
// publish the outcome to the log and then delete the job record. See
// src/enrich/README.md for the job life cycle.
//
// Thread safety: Enqueue, Idle and the counters are safe from any thread;
// Start and Stop are called by the leg, serialised.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "enrich/state_store.h"
#include "leg/backoff.h"
#include "leg/circuit_breaker.h"
#include "leg/flow_control.h"
#include "tandem/enrich.h"
#include "tandem/log.h"
#include "tandem/producer.h"

namespace tandem::enrich {

// The relaxed atomics behind EnrichStats.
struct Counters {
  std::atomic<uint64_t> queued{0}, resumed{0}, skipped{0}, completed{0}, failed{0},
      superseded{0}, cancelled{0}, calls{0}, transient{0}, permanent{0}, not_ready{0},
      publish_errors{0}, progress{0}, latency_us_sum{0}, latency_us_max{0};
};

// A job the sink just recorded, with the entity's current text_for_embedding.
struct QueuedJob {
  std::string id;
  JobRecord job;
  std::optional<std::string> text;
};

class JobRunner {
 public:
  // `state_mu` serialises read-modify-writes of the state store with the sink.
  // Everything must outlive the runner.
  JobRunner(Log& log, Enricher& enricher, StateStore& state, std::mutex& state_mu,
            const EnrichLegOptions& options, Clock& clock, Counters& counters);
  ~JobRunner();
  JobRunner(const JobRunner&) = delete;
  JobRunner& operator=(const JobRunner&) = delete;

  // Loads the unfinished jobs (counted as resumed) and starts the workers.
  Status Start();
  // Workers finish the call in hand and exit; jobs still recorded stay for
  // the next Start. Idempotent.
  void Stop();

  // New jobs recorded by the sink: best-effort publish of their "pending"
  // status (one group append), then queue them.
  void OnQueued(const std::vector<QueuedJob>& jobs);
  // Nothing queued, deferred or in flight.
  bool Idle() const;
  uint64_t in_flight() const;
  uint64_t queue_depth() const;
  const leg::CircuitBreaker& breaker() const { return breaker_; }

 private:
  void Enqueue(const std::string& id);
  void Run(uint32_t index);
  bool Take(std::string* id);
  void Finish(const std::string& id);
  bool TakePendingSent(const std::string& id, uint64_t seq);
  void Process(const std::string& id, leg::Backoff& backoff);
  // The job still recorded for `id` with job.seq; false when superseded or cancelled.
  bool StillCurrent(const std::string& id, const JobRecord& job);
  // The entity's text_for_embedding now (carried on by the leg's events).
  std::optional<std::string> CurrentText(const std::string& id);
  // Deletes the job record when it is still `job`.
  bool DeleteIfCurrent(const std::string& id, const JobRecord& job);
  void SaveAttempts(const std::string& id, const JobRecord& job);
  Result<std::string> Call(const std::string& id, const JobRecord& job, const std::string& input);
  // Retries `append` with backoff until it succeeds or the runner stops.
  template <typename F>
  bool Retrying(leg::Backoff& backoff, F append);
  void Complete(const std::string& id, const JobRecord& job, const std::string& result,
                leg::Backoff& backoff);
  void Fail(const std::string& id, const JobRecord& job, const std::string& reason,
            leg::Backoff& backoff);
  int64_t NowUs() { return clock_.NowMicros(); }

  Log& log_;
  Enricher& enricher_;
  StateStore& state_;
  std::mutex& state_mu_;
  const EnrichLegOptions& o_;
  Clock& clock_;
  Counters& c_;
  Producer producer_;
  std::set<std::string> owned_;     // enricher fields + status field
  std::set<std::string> excluded_;  // owned + ignored_fields
  leg::CircuitBreaker breaker_;
  leg::StopSignal stop_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;   // GUARDED_BY(mu_)
  std::set<std::string> queued_;    // GUARDED_BY(mu_): ids in queue_
  std::set<std::string> in_flight_;  // GUARDED_BY(mu_)
  std::set<std::string> deferred_;  // GUARDED_BY(mu_): queued again while in flight
  bool stopping_ = false;           // GUARDED_BY(mu_)
  // (entity, job seq) whose "pending" the sink's group append acknowledged;
  // the worker then skips its own (deduplicated) re-publish.
  std::set<std::pair<std::string, uint64_t>> pending_sent_;  // GUARDED_BY(mu_)
  std::vector<std::thread> threads_;
};

}  // namespace tandem::enrich
