#include "leg/worker.h"

#include <algorithm>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace tandem::leg {
namespace {

// How long an idle worker's first Poll waits for data (real time); bounds how
// long Stop waits for an idle worker.
constexpr int64_t kIdlePollUs = 20'000;
// Pause after a failed Poll (a log read error) before polling again.
constexpr int64_t kPollErrorPauseUs = 100'000;

std::string Describe(const MessageId& id) {
  return id.topic + "/" + std::to_string(id.partition) + "@" + std::to_string(id.offset);
}

bool IsSettleRetryable(const Status& s) {
  return s.code() != StatusCode::kAborted && s.code() != StatusCode::kNotFound &&
         s.code() != StatusCode::kInvalidArgument;
}

}  // namespace

// Events of a batch that still need the sink, in delivery order. `events` is
// contiguous because Sink::Apply takes a span; `meta[i]` belongs to events[i].
struct Worker::Pending {
  struct Meta {
    MessageId id;
    uint32_t delivery_count = 1;
    std::string last_error;  // the latest transient reason (or "held behind ...")
  };
  std::vector<StoreEvent> events;
  std::vector<Meta> meta;

  bool empty() const { return events.empty(); }
  size_t size() const { return events.size(); }
  const std::string& key(size_t i) const { return events[i].event.entity_id; }
  void Add(StoreEvent e, Meta m) {
    events.push_back(std::move(e));
    meta.push_back(std::move(m));
  }
  // Moves the entries at `keep` (ascending indices) into a new Pending.
  Pending Take(const std::vector<size_t>& keep) {
    Pending out;
    out.events.reserve(keep.size());
    out.meta.reserve(keep.size());
    for (size_t i : keep) out.Add(std::move(events[i]), std::move(meta[i]));
    return out;
  }
};

Worker::Worker(const WorkerContext& context, std::unique_ptr<Consumer> consumer, uint64_t seed)
    : ctx_(context),
      consumer_(std::move(consumer)),
      parser_(context.clock, context.options.parser),
      backoff_(context.options.retry, seed) {}

Worker::~Worker() { Join(); }

void Worker::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Worker::Join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::Run() {
  while (!ctx_.stop.requested()) {
    PermitKind permit = PermitKind::kNone;
    if (!AcquirePermit(&permit)) break;
    std::vector<Message> messages;
    Status st = PollBatch(ctx_.max_batch, &messages);
    if (!st.ok() || messages.empty()) {
      ctx_.breaker.Release(permit, CircuitBreaker::CallResult::kNoCall);
      if (st.code() == StatusCode::kAborted) break;  // the subscription closed
      if (!st.ok()) {
        LegCounters::Add(ctx_.counters.poll_errors);
        ctx_.stop.WaitFor(kPollErrorPauseUs);
      }
      continue;
    }
    Process(std::move(messages), permit);
  }
}

// Waits until the breaker lets a call through. False when stopped first.
bool Worker::AcquirePermit(PermitKind* permit) {
  while (!ctx_.stop.requested()) {
    int64_t retry_at = 0;
    *permit = ctx_.breaker.TryAcquire(&retry_at);
    if (*permit != PermitKind::kNone) return true;
    const int64_t now = ctx_.clock.MonotonicNanos() / 1000;
    // Open: wait out the open period on the clock. Half-open with the trial
    // taken: look again after a real-time slice.
    const bool ok = retry_at > now ? WaitForClock(ctx_.clock, ctx_.stop, retry_at)
                                   : ctx_.stop.WaitFor(kWaitSliceUs);
    if (!ok) break;
  }
  *permit = PermitKind::kNone;
  return false;
}

// Keeps `*permit` if it still admits a call, else waits for a new one. False
// when stopped first.
bool Worker::RevalidatePermit(PermitKind* permit) {
  if (ctx_.breaker.Admits(*permit)) return true;
  ctx_.breaker.Release(*permit, CircuitBreaker::CallResult::kNoCall);
  return AcquirePermit(permit);
}

// Polls up to `max` messages: waits up to kIdlePollUs for the first ones, then
// keeps polling until the batch is full, max_batch_delay_us passed (on the
// clock) or a poll comes back empty.
Status Worker::PollBatch(size_t max, std::vector<Message>* out) {
  TANDEM_ASSIGN_OR_RETURN(*out, consumer_->Poll(max, kIdlePollUs));
  if (out->empty()) return Status::OK();
  const int64_t deadline = ctx_.clock.MonotonicNanos() / 1000 + ctx_.options.max_batch_delay_us;
  while (out->size() < max) {
    const int64_t left = deadline - ctx_.clock.MonotonicNanos() / 1000;
    if (left <= 0) break;
    Result<std::vector<Message>> more = consumer_->Poll(max - out->size(), left);
    if (!more.ok()) {
      // Keep what we hold; the next Poll reports the error again if it persists.
      LegCounters::Add(ctx_.counters.poll_errors);
      break;
    }
    if (more->empty()) break;
    for (Message& m : *more) out->push_back(std::move(m));
  }
  return Status::OK();
}

Worker::Pending Worker::Decode(std::vector<Message>& messages) {
  LegCounters::Add(ctx_.counters.consumed, messages.size());
  Pending p;
  p.events.reserve(messages.size());
  p.meta.reserve(messages.size());
  for (Message& m : messages) {
    Result<EntityEvent> e = parser_.Parse(m.record.value);
    std::string problem;
    if (!e.ok()) {
      problem = e.status().message();
    } else if (e->entity_id != m.record.key) {
      // Key_Shared orders by the record key; an event filed under another key
      // would escape the per-entity order.
      problem =
          "entity_id: \"" + e->entity_id + "\" is not the record key \"" + m.record.key + "\"";
    }
    if (!problem.empty()) {
      (void)DeadLetter(m.id, DeadLetterClass::kUndecodable, "undecodable: " + problem);
      continue;
    }
    StoreEvent se{std::move(e).value(), LogPosition{m.id.topic, m.id.partition, m.id.offset}};
    p.Add(std::move(se), Pending::Meta{std::move(m.id), m.delivery_count, {}});
  }
  return p;
}

void Worker::Process(std::vector<Message> messages, PermitKind permit) {
  Pending pending = Decode(messages);
  if (pending.empty()) {
    ctx_.breaker.Release(permit, CircuitBreaker::CallResult::kNoCall);
    return;
  }
  uint32_t attempts = 0;  // sink calls within the current in-runtime budget
  uint32_t retry = 0;     // backoff step
  for (;;) {
    if (permit == PermitKind::kNone) {
      if (!SleepOnClock(ctx_.clock, ctx_.stop, backoff_.DelayUs(++retry))) break;
      if (!AcquirePermit(&permit)) break;
      LegCounters::Add(ctx_.counters.retries);
    }
    if (!RevalidatePermit(&permit)) break;
    CallSink(pending, permit);
    permit = PermitKind::kNone;
    if (pending.empty()) return;
    if (++attempts < ctx_.options.retry.max_attempts) continue;
    pending = GiveBack(pending);
    if (pending.empty()) return;
    attempts = 0;
    retry = 0;
  }
  // Stopped: what is pending stays unacknowledged and comes back after a restart.
  LegCounters::Add(ctx_.counters.released, pending.size());
}

// One Sink::Apply of everything pending; settles what it can and leaves in
// `pending` the transient events and the later events of their entities.
void Worker::CallSink(Pending& pending, PermitKind permit) {
  LegCounters& c = ctx_.counters;
  const size_t n = pending.size();
  const int64_t start = ctx_.clock.MonotonicNanos();
  Result<std::vector<ApplyOutcome>> result = ctx_.sink.Apply(pending.events);
  const uint64_t micros =
      static_cast<uint64_t>(std::max<int64_t>(0, ctx_.clock.MonotonicNanos() - start) / 1000);
  LegCounters::Add(c.sink_calls);
  LegCounters::Add(c.batch_events, n);
  LegCounters::Max(c.max_batch_events, n);
  LegCounters::Add(c.apply_latency_us_sum, micros);
  LegCounters::Max(c.apply_latency_us_max, micros);

  std::vector<ApplyOutcome> outcomes;
  if (result.ok() && result->size() == n) {
    outcomes = std::move(result).value();
  } else {
    LegCounters::Add(c.sink_failures);
    const std::string why = result.ok() ? "sink returned " + std::to_string(result->size()) +
                                              " outcomes for " + std::to_string(n) + " events"
                                        : result.status().ToString();
    outcomes.assign(n, ApplyOutcome{ApplyCode::kTransientError, why});
  }
  const bool failed = std::all_of(outcomes.begin(), outcomes.end(), [](const ApplyOutcome& o) {
    return o.code == ApplyCode::kTransientError;
  });
  ctx_.breaker.Release(
      permit, failed ? CircuitBreaker::CallResult::kFailure : CircuitBreaker::CallResult::kSuccess);

  std::vector<size_t> keep;
  std::unordered_map<std::string_view, size_t> blocked;  // entity → its first transient event
  for (size_t i = 0; i < n; ++i) {
    Pending::Meta& m = pending.meta[i];
    if (auto b = blocked.find(pending.key(i)); b != blocked.end()) {
      // Whatever the sink said, an entity's event never goes ahead of an
      // earlier one of it that must be retried (a conforming sink reported
      // it transient and did not apply it).
      LegCounters::Add(c.held_back);
      m.last_error = "held behind " + Describe(pending.meta[b->second].id);
      keep.push_back(i);
      continue;
    }
    const ApplyOutcome& o = outcomes[i];
    switch (o.code) {
      case ApplyCode::kApplied:
      case ApplyCode::kSkippedStale:
      case ApplyCode::kSkippedDuplicate:
        Ack(m.id, o.code);
        break;
      case ApplyCode::kPermanentError:
        (void)DeadLetter(m.id, DeadLetterClass::kPermanent, "permanent_error: " + o.reason);
        break;
      case ApplyCode::kTransientError:
        LegCounters::Add(c.transient_errors);
        m.last_error = o.reason;
        blocked.emplace(pending.key(i), i);
        keep.push_back(i);
        break;
    }
  }
  pending = pending.Take(keep);
}

// The in-runtime budget is spent: hands events back to the log, entity by
// entity, keeping each entity's order. Returns what must still be retried here
// (the followers of a head that was dead-lettered).
Worker::Pending Worker::GiveBack(Pending& pending) {
  enum class Fate { kNacked, kDeadLettered, kAbandoned };
  std::unordered_map<std::string_view, std::pair<Fate, size_t>> heads;  // entity → fate, head
  std::vector<size_t> keep;
  const uint32_t max_deliveries = ctx_.options.redelivery.max_deliveries;
  for (size_t i = 0; i < pending.size(); ++i) {
    const Pending::Meta& m = pending.meta[i];
    auto it = heads.find(pending.key(i));
    if (it == heads.end()) {
      Fate fate = Fate::kNacked;
      if (m.delivery_count >= max_deliveries) {
        const std::string reason = "retries_exhausted: " + std::to_string(m.delivery_count) +
                                   " deliveries: " + m.last_error;
        fate = DeadLetter(m.id, DeadLetterClass::kExhausted, reason) == Settled::kDone
                   ? Fate::kDeadLettered
                   : Fate::kAbandoned;
      } else {
        Nack(m.id, "transient_error: " + m.last_error);
      }
      heads.emplace(pending.key(i), std::make_pair(fate, i));
      continue;
    }
    switch (it->second.first) {
      case Fate::kNacked:
        // Followers go back too. Their delivery counts never exceed their
        // head's (they were delivered with or after it and handed back with
        // it), so this Nack never dead-letters them.
        Nack(m.id, "held behind " + Describe(pending.meta[it->second.second].id));
        break;
      case Fate::kDeadLettered:
        keep.push_back(i);
        break;
      case Fate::kAbandoned:
        LegCounters::Add(ctx_.counters.released);
        break;
    }
  }
  return pending.Take(keep);
}

void Worker::Ack(const MessageId& id, ApplyCode code) {
  LegCounters& c = ctx_.counters;
  if (!consumer_->Ack(id).ok()) {
    LegCounters::Add(c.settle_errors);
    return;
  }
  LegCounters::Add(c.acknowledged);
  switch (code) {
    case ApplyCode::kApplied:
      LegCounters::Add(c.applied);
      break;
    case ApplyCode::kSkippedStale:
      LegCounters::Add(c.skipped_stale);
      break;
    default:
      LegCounters::Add(c.skipped_duplicate);
      break;
  }
}

void Worker::Nack(const MessageId& id, const std::string& reason) {
  LegCounters::Add(consumer_->Nack(id, reason).ok() ? ctx_.counters.nacked
                                                    : ctx_.counters.settle_errors);
}

// Dead-letters `id`, retrying a failing DLQ append with backoff until it
// succeeds or the leg stops (the message stays in flight meanwhile, so its
// entity waits: nothing vanishes). kAbandoned when it could not be settled.
Worker::Settled Worker::DeadLetter(const MessageId& id, DeadLetterClass cls,
                                   const std::string& reason) {
  LegCounters& c = ctx_.counters;
  for (uint32_t attempt = 1;; ++attempt) {
    Status st = consumer_->DeadLetter(id, reason);
    if (st.ok()) break;
    if (!IsSettleRetryable(st)) {
      LegCounters::Add(c.settle_errors);
      return Settled::kAbandoned;
    }
    LegCounters::Add(c.dead_letter_errors);
    if (!SleepOnClock(ctx_.clock, ctx_.stop, backoff_.DelayUs(attempt))) {
      LegCounters::Add(c.released);
      return Settled::kAbandoned;
    }
  }
  LegCounters::Add(c.acknowledged);
  switch (cls) {
    case DeadLetterClass::kUndecodable:
      LegCounters::Add(c.dead_lettered_undecodable);
      break;
    case DeadLetterClass::kPermanent:
      LegCounters::Add(c.dead_lettered_permanent);
      break;
    case DeadLetterClass::kExhausted:
      LegCounters::Add(c.dead_lettered_exhausted);
      break;
  }
  return Settled::kDone;
}

}  // namespace tandem::leg
