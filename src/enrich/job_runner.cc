// The enrichment workers (job_runner.h).
#include "enrich/job_runner.h"

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "enrich/enrich_events.h"
#include "tandem/metrics.h"

namespace tandem {

EnrichErrorClass ClassifyEnrichError(const Status& s) {
  switch (s.code()) {
    case StatusCode::kBusy:
      return EnrichErrorClass::kNotReady;
    case StatusCode::kUnavailable:
    case StatusCode::kIOError:
    case StatusCode::kAborted:
    case StatusCode::kNoSpace:
      return EnrichErrorClass::kTransient;
    default:
      return EnrichErrorClass::kPermanent;
  }
}

namespace enrich {

JobRunner::JobRunner(Log& log, Enricher& enricher, StateStore& state, std::mutex& state_mu,
                     const EnrichLegOptions& options, Clock& clock, Counters& counters)
    : log_(log),
      enricher_(enricher),
      state_(state),
      state_mu_(state_mu),
      o_(options),
      clock_(clock),
      c_(counters),
      producer_(log),
      breaker_(options.breaker, clock) {
  owned_.insert(enricher.fields().begin(), enricher.fields().end());
  owned_.insert(options.status_field);
  excluded_ = owned_;
  excluded_.insert(options.ignored_fields.begin(), options.ignored_fields.end());
}

JobRunner::~JobRunner() { Stop(); }

Status JobRunner::Start() {
  std::vector<std::pair<std::string, JobRecord>> jobs;
  {
    std::lock_guard l(state_mu_);
    TANDEM_ASSIGN_OR_RETURN(jobs, state_.AllJobs());
  }
  for (const auto& [id, job] : jobs) Enqueue(id);
  c_.resumed.fetch_add(jobs.size(), std::memory_order_relaxed);
  const uint64_t seed = o_.seed != 0 ? o_.seed : static_cast<uint64_t>(clock_.MonotonicNanos());
  for (uint32_t i = 0; i < o_.concurrency; ++i) {
    threads_.emplace_back([this, i, seed] {
      leg::Backoff backoff(RetryPolicy{o_.initial_backoff_us, o_.max_backoff_us, o_.multiplier,
                                       o_.jitter, o_.max_attempts},
                           seed + i);
      std::string id;
      while (Take(&id)) {
        Process(id, backoff);
        Finish(id);
      }
    });
  }
  return Status::OK();
}

void JobRunner::Stop() {
  {
    std::lock_guard l(mu_);
    stopping_ = true;
  }
  stop_.Request();
  cv_.notify_all();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

void JobRunner::OnQueued(const std::vector<QueuedJob>& jobs) {
  if (jobs.empty()) return;
  if (!o_.publish_pending) {
    for (const QueuedJob& q : jobs) Enqueue(q.id);
    return;
  }
  std::vector<EntityEvent> pending;
  pending.reserve(jobs.size());
  const int64_t now = NowUs();
  for (const QueuedJob& q : jobs) {
    pending.push_back(StatusEvent(o_.name, q.id, q.job, o_.status_field, "pending", now, q.text));
  }
  // Best effort: a worker publishes the same (deduplicated) event before its
  // first call, so a failure here delays "pending" but never loses it.
  std::vector<AppendResult> results;
  if (producer_.PublishBatch(pending, &results).ok()) {
    std::lock_guard l(mu_);
    for (const QueuedJob& q : jobs) pending_sent_.emplace(q.id, q.job.seq);
  } else {
    c_.publish_errors.fetch_add(1, std::memory_order_relaxed);
  }
  for (const QueuedJob& q : jobs) Enqueue(q.id);
}

void JobRunner::Enqueue(const std::string& id) {
  {
    std::lock_guard l(mu_);
    if (in_flight_.contains(id)) {
      deferred_.insert(id);
      return;
    }
    if (!queued_.insert(id).second) return;
    queue_.push_back(id);
  }
  cv_.notify_one();
}

bool JobRunner::Take(std::string* id) {
  std::unique_lock l(mu_);
  while (true) {
    if (stopping_) return false;
    if (!queue_.empty()) {
      *id = std::move(queue_.front());
      queue_.pop_front();
      queued_.erase(*id);
      in_flight_.insert(*id);
      return true;
    }
    cv_.wait(l);
  }
}

void JobRunner::Finish(const std::string& id) {
  bool again = false;
  {
    std::lock_guard l(mu_);
    in_flight_.erase(id);
    again = deferred_.erase(id) > 0;
  }
  if (again) Enqueue(id);
}

bool JobRunner::TakePendingSent(const std::string& id, uint64_t seq) {
  std::lock_guard l(mu_);
  // Entries of older (superseded) jobs of the entity go too.
  const bool sent = pending_sent_.contains({id, seq});
  pending_sent_.erase(pending_sent_.lower_bound({id, 0}), pending_sent_.upper_bound({id, seq}));
  return sent;
}

bool JobRunner::Idle() const {
  std::lock_guard l(mu_);
  return queue_.empty() && in_flight_.empty() && deferred_.empty();
}

uint64_t JobRunner::in_flight() const {
  std::lock_guard l(mu_);
  return in_flight_.size();
}

uint64_t JobRunner::queue_depth() const {
  std::lock_guard l(mu_);
  return queue_.size() + in_flight_.size() + deferred_.size();
}

bool JobRunner::StillCurrent(const std::string& id, const JobRecord& job) {
  std::lock_guard l(state_mu_);
  Result<std::optional<JobRecord>> cur = state_.GetJob(id);
  // A read error keeps the job: it is retried or resumed, never dropped.
  return !cur.ok() || (cur->has_value() && (*cur)->seq == job.seq);
}

std::optional<std::string> JobRunner::CurrentText(const std::string& id) {
  std::lock_guard l(state_mu_);
  Result<std::optional<EntityRecord>> e = state_.GetEntity(id);
  if (!e.ok() || !e->has_value()) return std::nullopt;
  return (*e)->text;
}

bool JobRunner::DeleteIfCurrent(const std::string& id, const JobRecord& job) {
  std::lock_guard l(state_mu_);
  Result<std::optional<JobRecord>> cur = state_.GetJob(id);
  if (!cur.ok() || !cur->has_value() || (*cur)->seq != job.seq) return false;
  StateStore::Batch b;
  b.jobs.emplace_back(id, std::nullopt);
  // If this fails the job stays recorded and is redone after a restart; its
  // events carry the same ids, so the log keeps one copy of each.
  return state_.Commit(b).ok();
}

void JobRunner::SaveAttempts(const std::string& id, const JobRecord& job) {
  std::lock_guard l(state_mu_);
  Result<std::optional<JobRecord>> cur = state_.GetJob(id);
  if (!cur.ok() || !cur->has_value() || (*cur)->seq != job.seq) return;
  StateStore::Batch b;
  b.jobs.emplace_back(id, job);
  (void)state_.Commit(b);
}

template <typename F>
bool JobRunner::Retrying(leg::Backoff& backoff, F append) {
  for (uint32_t n = 1;; ++n) {
    if (append().ok()) return true;
    c_.publish_errors.fetch_add(1, std::memory_order_relaxed);
    if (!leg::SleepOnClock(clock_, stop_, backoff.DelayUs(std::min(n, 20u)))) return false;
  }
}

Result<std::string> JobRunner::Call(const std::string& id, const JobRecord& job,
                                    const std::string& input) {
  auto progress_n = std::make_shared<std::atomic<uint64_t>>(0);
  EnrichRequest req;
  req.entity_id = id;
  req.entity_type = job.entity_type;
  req.payload = input;
  req.source = job.source;
  req.timeout_us = o_.timeout_us;
  req.progress = [this, id, job, progress_n](double fraction, std::string_view message) {
    const uint64_t n = progress_n->fetch_add(1) + 1;
    ProduceRecord r = ProgressRecord(o_.name, id, job, n, std::clamp(fraction, 0.0, 1.0),
                                     message, NowUs());
    if (log_.Append(job.entity_type + ".progress", r).ok()) {
      c_.progress.fetch_add(1, std::memory_order_relaxed);
    } else {
      c_.publish_errors.fetch_add(1, std::memory_order_relaxed);
    }
  };
  c_.calls.fetch_add(1, std::memory_order_relaxed);
  const auto t0 = std::chrono::steady_clock::now();
  Result<std::string> r = enricher_.Enrich(req);
  const auto us = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                            std::chrono::steady_clock::now() - t0)
                                            .count());
  c_.latency_us_sum.fetch_add(us, std::memory_order_relaxed);
  uint64_t max = c_.latency_us_max.load(std::memory_order_relaxed);
  while (us > max && !c_.latency_us_max.compare_exchange_weak(max, us)) {
  }
  if (o_.latency != nullptr) o_.latency->Observe(static_cast<double>(us) / 1e6);
  return r;
}

void JobRunner::Process(const std::string& id, leg::Backoff& backoff) {
  std::optional<JobRecord> job;
  std::optional<EntityRecord> entity;
  {
    std::lock_guard l(state_mu_);
    Result<std::optional<JobRecord>> j = state_.GetJob(id);
    Result<std::optional<EntityRecord>> e = state_.GetEntity(id);
    if (!j.ok() || !e.ok()) return;  // resumed at the next Start
    job = *j;
    entity = *e;
  }
  if (!job.has_value()) {  // finished, or cancelled by a delete
    (void)TakePendingSent(id, UINT64_MAX);
    return;
  }
  if (!entity.has_value() || entity->marker.deleted) {
    // The sink deletes the job of a deleted entity; only a damaged state gets here.
    if (DeleteIfCurrent(id, *job)) c_.cancelled.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  Result<Input> input = InputOf(job->entity_type, entity->payload, excluded_);
  if (!input.ok()) return Fail(id, *job, "state: " + input.status().message(), backoff);
  const EntityEvent pending =
      StatusEvent(o_.name, id, *job, o_.status_field, "pending", NowUs(), entity->text);
  if (o_.publish_pending && !TakePendingSent(id, job->seq) &&
      !Retrying(backoff, [&] { return producer_.Publish(pending).status(); })) {
    return;
  }

  const int64_t not_ready_since = clock_.MonotonicNanos() / 1000;
  for (uint32_t retry = 1;; ++retry) {
    // Superseded or cancelled jobs were counted by the sink that replaced them.
    if (!StillCurrent(id, *job)) return;
    int64_t retry_at = 0;
    const leg::CircuitBreaker::PermitKind permit = breaker_.TryAcquire(&retry_at);
    if (permit == leg::CircuitBreaker::PermitKind::kNone) {
      const int64_t until = std::max(retry_at, clock_.MonotonicNanos() / 1000 + 1000);
      if (!leg::WaitForClock(clock_, stop_, until)) return;
      --retry;
      continue;
    }
    Result<std::string> r = Call(id, *job, input->payload);
    Status failure = r.status();
    if (r.ok()) {
      Result<EntityEvent> ev = ResultEvent(o_.name, id, *job, *r, owned_, o_.status_field, NowUs());
      if (ev.ok()) {
        breaker_.Release(permit, leg::CircuitBreaker::CallResult::kSuccess);
        return Complete(id, *job, *r, backoff);
      }
      failure = ev.status();
    }
    switch (ClassifyEnrichError(failure)) {
      case EnrichErrorClass::kPermanent:
        // The enricher answered: it is alive.
        breaker_.Release(permit, leg::CircuitBreaker::CallResult::kSuccess);
        c_.permanent.fetch_add(1, std::memory_order_relaxed);
        return Fail(id, *job, "permanent_error: " + failure.ToString(), backoff);
      case EnrichErrorClass::kNotReady:
        breaker_.Release(permit, leg::CircuitBreaker::CallResult::kNoCall);
        c_.not_ready.fetch_add(1, std::memory_order_relaxed);
        if (clock_.MonotonicNanos() / 1000 - not_ready_since < o_.max_not_ready_us) {
          if (!leg::SleepOnClock(clock_, stop_, backoff.DelayUs(std::min(retry, 20u)))) return;
          continue;
        }
        break;
      case EnrichErrorClass::kTransient:
        breaker_.Release(permit, leg::CircuitBreaker::CallResult::kFailure);
        c_.transient.fetch_add(1, std::memory_order_relaxed);
        break;
    }
    ++job->attempts;
    if (job->attempts >= o_.max_attempts) {
      return Fail(id, *job,
                  "retries_exhausted: " + std::to_string(job->attempts) +
                      " attempts: " + failure.ToString(),
                  backoff);
    }
    SaveAttempts(id, *job);
    if (!leg::SleepOnClock(clock_, stop_, backoff.DelayUs(job->attempts))) return;
  }
}

void JobRunner::Complete(const std::string& id, const JobRecord& job, const std::string& result,
                         leg::Backoff& backoff) {
  if (!StillCurrent(id, job)) return;
  const int64_t now = NowUs();
  Result<EntityEvent> ev =
      ResultEvent(o_.name, id, job, result, owned_, o_.status_field, now, CurrentText(id));
  if (!ev.ok()) return;  // checked by the caller
  if (!Retrying(backoff, [&] { return producer_.Publish(*ev).status(); })) return;
  const ProduceRecord done = CompletionRecord(o_.name, id, job, true, result, now);
  if (!Retrying(backoff, [&] { return log_.Append(job.entity_type + ".completed", done).status(); })) {
    return;
  }
  if (DeleteIfCurrent(id, job)) c_.completed.fetch_add(1, std::memory_order_relaxed);
}

void JobRunner::Fail(const std::string& id, const JobRecord& job, const std::string& reason,
                     leg::Backoff& backoff) {
  if (!StillCurrent(id, job)) return;
  const int64_t now = NowUs();
  const ProduceRecord dead = DeadLetterRecord(o_.name, id, job, o_.status_field, reason, now);
  if (!Retrying(backoff, [&] { return log_.Append(job.entity_type + ".dlq", dead).status(); })) {
    return;
  }
  const EntityEvent failed =
      StatusEvent(o_.name, id, job, o_.status_field, "failed", now, CurrentText(id));
  if (!Retrying(backoff, [&] { return producer_.Publish(failed).status(); })) return;
  const ProduceRecord done = CompletionRecord(o_.name, id, job, false, reason, now);
  if (!Retrying(backoff, [&] { return log_.Append(job.entity_type + ".completed", done).status(); })) {
    return;
  }
  if (DeleteIfCurrent(id, job)) c_.failed.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace enrich
}  // namespace tandem
