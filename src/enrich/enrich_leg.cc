// The enrichment leg: its sink (fold events into the state store, record
// jobs, ack) and the Leg that wires the subscription runtime, the sink and
// the workers together. README.md has the design.
#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "enrich/enrich_events.h"
#include "enrich/job_runner.h"
#include "enrich/state_store.h"
#include "tandem/enrich.h"
#include "tandem/log.h"

namespace tandem {
namespace enrich {
namespace {

// Folds a batch into the state store and records jobs (one atomic commit),
// then hands the new jobs to the runner. Never calls the enricher.
class EnrichSink final : public Sink {
 public:
  EnrichSink(StateStore& state, std::mutex& state_mu, const EnrichLegOptions& o, Clock& clock,
             Counters& c, std::set<std::string> excluded)
      : state_(state), state_mu_(state_mu), o_(o), clock_(clock), c_(c),
        excluded_(std::move(excluded)), types_(o.types.begin(), o.types.end()) {}

  void set_runner(JobRunner* runner) { runner_ = runner; }

  Result<std::vector<ApplyOutcome>> Apply(std::span<const StoreEvent> events) override {
    std::vector<ApplyOutcome> outcomes(events.size());
    std::vector<QueuedJob> queued;
    {
      std::lock_guard l(state_mu_);
      Plan plan;
      for (size_t i = 0; i < events.size(); ++i) {
        TANDEM_ASSIGN_OR_RETURN(outcomes[i], ApplyOne(events[i], &plan));
        const ApplyCode code = outcomes[i].code;
        if (code == ApplyCode::kApplied || code == ApplyCode::kSkippedDuplicate ||
            code == ApplyCode::kSkippedStale) {
          const LogPosition& p = events[i].position;
          uint64_t& high = plan.batch.positions[TopicPartition{p.topic, p.partition}];
          high = std::max(high, p.offset);
        }
      }
      for (const auto& [id, job] : plan.jobs) {
        // A job always belongs to an entity this batch wrote.
        if (job.has_value()) queued.push_back(QueuedJob{id, *job, plan.entities[id].text});
      }
      for (auto& [id, rec] : plan.entities) plan.batch.entities.emplace_back(id, std::move(rec));
      for (auto& [id, job] : plan.jobs) plan.batch.jobs.emplace_back(id, job);
      Status committed = state_.Commit(plan.batch);
      if (!committed.ok()) return committed;
      c_.queued.fetch_add(plan.created, std::memory_order_relaxed);
      c_.skipped.fetch_add(plan.skipped, std::memory_order_relaxed);
      c_.superseded.fetch_add(plan.superseded, std::memory_order_relaxed);
      c_.cancelled.fetch_add(plan.cancelled, std::memory_order_relaxed);
    }
    if (runner_ != nullptr) runner_->OnQueued(queued);
    return outcomes;
  }

  Result<PositionMap> Positions() override {
    std::lock_guard l(state_mu_);
    return state_.Positions();
  }

  Result<BackfillOutcome> Backfill(const EntityState& entity) {
    if (!types_.contains(entity.entity_type) || entity.deleted()) {
      return BackfillOutcome::kNothingToDo;
    }
    QueuedJob queued;
    {
      std::lock_guard l(state_mu_);
      Plan plan;
      TANDEM_ASSIGN_OR_RETURN(bool had_job, HasJob(entity.entity_id, &plan));
      if (had_job) return BackfillOutcome::kAlreadyQueued;
      TANDEM_ASSIGN_OR_RETURN(std::optional<EntityRecord> rec, Entity(entity.entity_id, &plan));
      EntityRecord out;
      if (rec.has_value() && !rec->marker.deleted) {
        out = *rec;  // the leg's own view is at least as recent for its events
      } else if (rec.has_value() && !TombstoneExpired(rec->marker, clock_.NowMicros(),
                                                      o_.tombstone_retention_us)) {
        return BackfillOutcome::kDeleted;
      } else {
        out.entity_type = entity.entity_type;
        out.payload = entity.payload;
        out.marker = entity.marker;
        if (rec.has_value()) out.job_seq = rec->job_seq;  // ids stay unique
      }
      TANDEM_ASSIGN_OR_RETURN(Input input, InputOf(out.entity_type, out.payload, excluded_));
      if (input.empty) return BackfillOutcome::kNothingToDo;
      JobRecord job;
      job.entity_type = out.entity_type;
      job.input_hash = input.hash;
      job.seq = ++out.job_seq;
      out.input_hash = input.hash;
      queued = QueuedJob{entity.entity_id, job, out.text};
      plan.batch.entities.emplace_back(entity.entity_id, std::move(out));
      plan.batch.jobs.emplace_back(entity.entity_id, job);
      TANDEM_RETURN_IF_ERROR(state_.Commit(plan.batch));
      c_.queued.fetch_add(1, std::memory_order_relaxed);
    }
    if (runner_ != nullptr) runner_->OnQueued({queued});
    return BackfillOutcome::kQueued;
  }

 private:
  struct Plan {
    std::map<std::string, EntityRecord> entities;           // written by this batch
    std::map<std::string, std::optional<JobRecord>> jobs;   // nullopt: delete
    StateStore::Batch batch;
    uint64_t created = 0, skipped = 0, superseded = 0, cancelled = 0;
  };

  Result<std::optional<EntityRecord>> Entity(const std::string& id, Plan* plan) {
    if (auto it = plan->entities.find(id); it != plan->entities.end()) {
      return std::optional<EntityRecord>(it->second);
    }
    return state_.GetEntity(id);
  }
  Result<bool> HasJob(const std::string& id, Plan* plan) {
    if (auto it = plan->jobs.find(id); it != plan->jobs.end()) return it->second.has_value();
    TANDEM_ASSIGN_OR_RETURN(std::optional<JobRecord> j, state_.GetJob(id));
    return j.has_value();
  }

  static ApplyOutcome Permanent(std::string reason) {
    return ApplyOutcome{ApplyCode::kPermanentError, std::move(reason)};
  }

  // Not OK only for errors of the state store itself (the batch fails whole).
  Result<ApplyOutcome> ApplyOne(const StoreEvent& e, Plan* plan) {
    if (Status v = ValidateStoreEvent(e); !v.ok()) return Permanent(v.message());
    // Another type in a chained stage's topic: not this leg's business.
    if (!types_.contains(e.event.entity_type)) return ApplyOutcome{ApplyCode::kApplied, ""};
    const std::string& id = e.event.entity_id;
    TANDEM_ASSIGN_OR_RETURN(std::optional<EntityRecord> rec, Entity(id, plan));
    const int64_t now = clock_.NowMicros();
    const bool known = rec.has_value() && !(rec->marker.deleted &&
                                            TombstoneExpired(rec->marker, now, o_.tombstone_retention_us));
    switch (CompareWithApplied(known ? &rec->marker : nullptr, e)) {
      case Freshness::kDuplicate:
        return ApplyOutcome{ApplyCode::kSkippedDuplicate, ""};
      case Freshness::kStale:
        return ApplyOutcome{ApplyCode::kSkippedStale, ""};
      case Freshness::kIncomparable:
        return Permanent("position: an unversioned event from another topic or partition cannot "
                         "be ordered against the entity's last applied event");
      case Freshness::kNewer:
        break;
    }
    const bool live = known && !rec->marker.deleted;
    // The stores' rule (IsDerivedUpdate): a late result never re-creates a
    // deleted entity, here either.
    if (!live && IsDerivedUpdate(e.event)) return ApplyOutcome{ApplyCode::kSkippedStale, ""};
    if (live && rec->entity_type != e.event.entity_type) {
      return Permanent("entity_type: \"" + e.event.entity_type + "\" but the entity is a \"" +
                       rec->entity_type + "\"");
    }
    std::optional<std::string> current;
    if (live) current = rec->payload;
    Result<std::string> next = NextPayload(e.event.event_type, current, e.event.payload);
    if (!next.ok()) return Permanent(next.status().message());
    EntityRecord out = known ? *rec : EntityRecord{};
    if (!known && rec.has_value()) out.job_seq = rec->job_seq;  // ids stay unique
    out.entity_type = e.event.entity_type;
    out.marker = NextMarker(known ? &rec->marker : nullptr, e, now);
    out.payload = std::move(*next);
    out.text = e.event.text_for_embedding;
    if (e.event.event_type == EventType::kDelete) {
      TANDEM_ASSIGN_OR_RETURN(bool had_job, HasJob(id, plan));
      if (had_job) {
        plan->jobs[id] = std::nullopt;
        ++plan->cancelled;
      }
      out.input_hash = 0;  // a re-created entity is enriched again
    } else {
      TANDEM_RETURN_IF_ERROR(MaybeQueue(e, id, &out, plan));
    }
    plan->entities[id] = std::move(out);
    return ApplyOutcome{ApplyCode::kApplied, ""};
  }

  // A job is needed when the input (payload without owned fields) changed,
  // when the event asks for it (status "retry"), or when a create/upsert
  // replaced the payload without the status field (the stores lost the
  // enrichment even if the input is the same).
  Status MaybeQueue(const StoreEvent& e, const std::string& id, EntityRecord* out, Plan* plan) {
    TANDEM_ASSIGN_OR_RETURN(Input input, InputOf(out->entity_type, out->payload, excluded_));
    const bool retry = StringMember(e.event.payload, o_.status_field) == "retry";
    const bool replaced = (e.event.event_type == EventType::kCreate ||
                           e.event.event_type == EventType::kUpsert) &&
                          StringMember(out->payload, o_.status_field).empty();
    if (input.empty || (input.hash == out->input_hash && !retry && !replaced) ||
        (!o_.auto_process && !retry)) {
      ++plan->skipped;
      return Status::OK();
    }
    TANDEM_ASSIGN_OR_RETURN(bool had_job, HasJob(id, plan));
    if (had_job) ++plan->superseded;
    JobRecord job;
    job.entity_type = out->entity_type;
    job.input_hash = input.hash;
    job.seq = ++out->job_seq;
    job.source = e.position;
    out->input_hash = input.hash;
    plan->jobs[id] = job;
    ++plan->created;
    return Status::OK();
  }

  StateStore& state_;
  std::mutex& state_mu_;
  const EnrichLegOptions& o_;
  Clock& clock_;
  Counters& c_;
  const std::set<std::string> excluded_;
  const std::set<std::string> types_;
  JobRunner* runner_ = nullptr;
};

bool ValidName(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

Status Validate(const EnrichLegOptions& o) {
  if (!ValidName(o.name)) {
    return Status::InvalidArgument("name: must match [a-z0-9_-]{1,64}, got \"" + o.name + "\"");
  }
  if (o.types.empty()) return Status::InvalidArgument("types: at least one entity type is required");
  for (const std::string& t : o.types) {
    if (t.empty() || t.find('.') != std::string::npos) {
      return Status::InvalidArgument("types: \"" + t + "\" is not an entity type");
    }
  }
  for (const std::string& t : o.topics) {
    if (t.empty()) return Status::InvalidArgument("topics: an empty topic name");
  }
  if (o.dir.empty()) return Status::InvalidArgument("dir: must not be empty");
  if (o.concurrency == 0 || o.concurrency > 1024) {
    return Status::InvalidArgument("concurrency: must be 1..1024, got " + std::to_string(o.concurrency));
  }
  if (o.max_attempts == 0) return Status::InvalidArgument("max_attempts: must be >= 1");
  if (o.timeout_us <= 0) return Status::InvalidArgument("timeout: must be > 0");
  if (o.initial_backoff_us < 0) return Status::InvalidArgument("initial_backoff: must be >= 0");
  if (o.max_backoff_us < o.initial_backoff_us) {
    return Status::InvalidArgument("max_backoff: must be >= initial_backoff");
  }
  if (!(o.jitter >= 0 && o.jitter <= 1)) return Status::InvalidArgument("jitter: must be 0..1");
  if (o.max_not_ready_us < 0) return Status::InvalidArgument("max_not_ready: must be >= 0");
  if (o.breaker.failure_threshold > 0 && o.breaker.open_duration_us <= 0) {
    return Status::InvalidArgument("breaker.open_duration: must be > 0");
  }
  if (o.status_field.empty()) return Status::InvalidArgument("status_field: must not be empty");
  return Status::OK();
}

class EnrichLegImpl final : public EnrichLeg {
 public:
  EnrichLegImpl(Log& log, Enricher& enricher, const EnrichLegOptions& o,
                std::unique_ptr<StateStore> state)
      : o_(o),
        clock_(o.clock != nullptr ? *o.clock : SystemClock()),
        state_(std::move(state)),
        runner_(log, enricher, *state_, state_mu_, o_, clock_, counters_) {
    std::set<std::string> excluded(enricher.fields().begin(), enricher.fields().end());
    excluded.insert(o_.status_field);
    excluded.insert(o_.ignored_fields.begin(), o_.ignored_fields.end());
    sink_ = std::make_unique<EnrichSink>(*state_, state_mu_, o_, clock_, counters_,
                                         std::move(excluded));
    sink_->set_runner(&runner_);
  }
  ~EnrichLegImpl() override { (void)Stop(); }

  Status Init(Log& log) {
    LegOptions lo = o_.leg;
    lo.name = "enrich-" + o_.name;
    lo.topics = o_.topics.empty() ? o_.types : o_.topics;
    TANDEM_ASSIGN_OR_RETURN(leg_, NewLeg(log, *sink_, lo));
    return Status::OK();
  }

  Status Start() override {
    std::lock_guard l(start_mu_);
    if (started_) return Status::FailedPrecondition("enrichment leg " + o_.name + ": already started");
    started_ = true;
    TANDEM_RETURN_IF_ERROR(runner_.Start());
    return leg_->Start();
  }

  Status Stop() override {
    std::lock_guard l(start_mu_);
    if (!started_ || stopped_) return Status::OK();
    stopped_ = true;
    Status s = leg_->Stop();
    runner_.Stop();
    return s;
  }

  Status WaitForCaughtUp(int64_t timeout_us) override {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(timeout_us);
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::microseconds>(
                            deadline - std::chrono::steady_clock::now())
                            .count();
      TANDEM_RETURN_IF_ERROR(leg_->WaitForCaughtUp(std::max<int64_t>(left, 0)));
      // Idle first, then the lag: results published before the runner went
      // idle are then counted in the lag read after it.
      if (runner_.Idle()) {
        bool caught_up = true;
        for (const PartitionLag& p : leg_->Lag()) caught_up = caught_up && p.lag() == 0;
        if (caught_up) return Status::OK();
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        return Status::Busy("enrichment leg " + o_.name + ": " +
                            std::to_string(runner_.queue_depth()) + " jobs not finished");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  Result<BackfillOutcome> Backfill(const EntityState& entity) override {
    return sink_->Backfill(entity);
  }

  std::vector<PartitionLag> Lag() override { return leg_->Lag(); }
  LegStats stats() const override { return leg_->stats(); }
  const LegOptions& options() const override { return leg_->options(); }
  const EnrichLegOptions& enrich_options() const override { return o_; }

  EnrichStats enrich_stats() const override {
    auto get = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
    EnrichStats s;
    s.jobs_queued = get(counters_.queued);
    s.jobs_resumed = get(counters_.resumed);
    s.jobs_skipped = get(counters_.skipped);
    s.jobs_completed = get(counters_.completed);
    s.jobs_failed = get(counters_.failed);
    s.jobs_superseded = get(counters_.superseded);
    s.jobs_cancelled = get(counters_.cancelled);
    s.in_flight = runner_.in_flight();
    s.queue_depth = runner_.queue_depth();
    s.enricher_calls = get(counters_.calls);
    s.transient_errors = get(counters_.transient);
    s.permanent_errors = get(counters_.permanent);
    s.not_ready = get(counters_.not_ready);
    s.publish_errors = get(counters_.publish_errors);
    s.progress_events = get(counters_.progress);
    s.latency_us_sum = get(counters_.latency_us_sum);
    s.latency_us_max = get(counters_.latency_us_max);
    const leg::CircuitBreaker& b = runner_.breaker();
    s.breaker_state = b.state();
    s.breaker_opens = b.opens();
    s.breaker_half_opens = b.half_opens();
    s.breaker_closes = b.closes();
    return s;
  }

 private:
  const EnrichLegOptions o_;
  Clock& clock_;
  std::unique_ptr<StateStore> state_;
  std::mutex state_mu_;
  Counters counters_;
  JobRunner runner_;
  std::unique_ptr<EnrichSink> sink_;
  std::unique_ptr<Leg> leg_;
  std::mutex start_mu_;
  bool started_ = false;  // GUARDED_BY(start_mu_)
  bool stopped_ = false;  // GUARDED_BY(start_mu_)
};

}  // namespace
}  // namespace enrich

std::string_view BackfillOutcomeName(BackfillOutcome outcome) {
  switch (outcome) {
    case BackfillOutcome::kQueued:
      return "queued";
    case BackfillOutcome::kAlreadyQueued:
      return "already_queued";
    case BackfillOutcome::kDeleted:
      return "deleted";
    case BackfillOutcome::kNothingToDo:
      return "nothing_to_do";
  }
  return "unknown";
}

Result<std::unique_ptr<EnrichLeg>> NewEnrichLeg(Log& log, Enricher& enricher,
                                                const EnrichLegOptions& options) {
  TANDEM_RETURN_IF_ERROR(enrich::Validate(options));
  for (const std::string& f : enricher.fields()) {
    if (f == options.status_field) {
      return Status::InvalidArgument("fields: \"" + f + "\" is the status field");
    }
  }
  TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<enrich::StateStore> state,
                          enrich::StateStore::Open(options.dir, options.sync));
  auto leg = std::make_unique<enrich::EnrichLegImpl>(log, enricher, options, std::move(state));
  TANDEM_RETURN_IF_ERROR(leg->Init(log));
  return std::unique_ptr<EnrichLeg>(std::move(leg));
}

}  // namespace tandem
