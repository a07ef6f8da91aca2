// Legs: the runtime that moves events from the log into a store (or any other
// sink), one runtime for every leg (graph now; vector and enrichment later).
//
// A leg is a durable subscription of the log plus a Sink. Its workers
// (Key_Shared consumers of the subscription) poll batches, decode each
// record's value (the Serialize(EntityEvent) JSON a Producer wrote), hand the
// batch to the sink and settle every message by the sink's per-event outcome:
//
//   applied / skipped_stale / skipped_duplicate  → Consumer::Ack
//   permanent error (or an undecodable record)   → Consumer::DeadLetter(reason), at once
//   transient error (or the whole call failed)   → retried in the runtime with
//       exponential backoff and jitter, up to RetryPolicy::max_attempts sink calls,
//       then Consumer::Nack: the log redelivers after its own backoff and, after
//       RedeliveryOptions::max_deliveries, the runtime dead-letters it.
//
// Messages are acknowledged only after the sink returned, i.e. after a Store
// sink committed them. A circuit breaker around the sink pauses consumption
// while the sink keeps failing.
//
//   std::unique_ptr<GraphStore> graph = ...;          // OpenGraphStore(...)
//   LegOptions o;                                      // defaults: see below
//   TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<Leg> leg, MakeGraphLeg(*log, *graph, o));
//   TANDEM_RETURN_IF_ERROR(leg->Start());
//   ...
//   TANDEM_RETURN_IF_ERROR(leg->Stop());               // drains, commits positions
//
// Effects are exactly-once, also across a crash between a sink's commit and
// the acknowledgement: delivery is at-least-once, and a Store sink refuses
// what it already applied by the per-entity applied marker it commits
// atomically with every batch (store.h, docs/store_contract.md), so a
// redelivered event comes back as skipped_duplicate or skipped_stale and is
// acked without effect. The runtime deliberately does NOT skip events by the
// sink's recorded Positions(): those are a high-water mark per partition, and
// with Key_Shared workers, nacks and dead letters an offset below it may still
// be unapplied (src/leg/README.md, "Exactly-once").
//
// Per-entity order: a key (entity_id) is held by one worker at a time and
// delivered in log order; a worker never lets a later event of an entity reach
// the sink before an earlier one of it has been applied, skipped or
// dead-lettered (it retries them together, and hands them back together).
//
// Thread safety: Leg methods are safe to call from any thread; Start and Stop
// are serialised. A Sink is called from several workers at once (see Sink).
// Lifetimes: the Log and the sink must outlive the Leg.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/env.h"
#include "tandem/event.h"
#include "tandem/log.h"
#include "tandem/status.h"
#include "tandem/store.h"

namespace tandem {

class GraphStore;  // tandem/graph.h

// ---- Sinks -----------------------------------------------------------------

// Where a leg's events go: a store (StoreSink), later an enricher that
// publishes results back to the log.
//
// Apply receives a batch of decoded events in log order per entity (events of
// different entities may interleave in any order) and returns one outcome per
// event (outcomes[i] belongs to events[i]):
//  * kApplied, kSkippedStale, kSkippedDuplicate: handled; the runtime acks it.
//  * kPermanentError + reason: never applicable; the sink left no trace of it.
//  * kTransientError + reason: not applied now, may succeed later; the sink
//    left no trace of it AND must not apply any later event of the same entity
//    in this call (report those kTransientError too): the runtime retries them
//    together, in order.
// A non-OK return means nothing of the batch was applied; every event counts
// as transient. After OK, the effects must be durable as the sink promises
// (a Store: committed), because the runtime acks right after.
//
// Apply may be called concurrently from several workers, never with two
// batches holding events of the same entity at once.
class Sink {
 public:
  Sink() = default;
  Sink(const Sink&) = delete;
  Sink& operator=(const Sink&) = delete;
  virtual ~Sink() = default;

  virtual Result<std::vector<ApplyOutcome>> Apply(std::span<const StoreEvent> events) = 0;

  // The highest offset per (topic, partition) the sink recorded as handled,
  // atomically with its effects (Store::Positions); empty for a sink that
  // records none. Used for reporting and audits, not to skip events.
  virtual Result<PositionMap> Positions() = 0;
};

// A Sink over a Store: Apply = Store::ApplyBatch, Positions = Store::Positions.
// It relies on the store's contract (an event reported as an error left no
// trace) and on the store not applying a later event of an entity after
// reporting a transient error for an earlier one in the same batch (the graph
// store never reports per-event transient errors). `store` must outlive it.
std::unique_ptr<Sink> NewStoreSink(Store& store);

// ---- Options ---------------------------------------------------------------

// In-runtime retries of transient failures. Delay before retry n (n >= 1):
// min(max_backoff_us, initial_backoff_us * multiplier^(n-1)) * (1 ± jitter).
struct RetryPolicy {
  // First retry delay (default 10 ms). Shorter: hammers a struggling sink.
  int64_t initial_backoff_us = 10'000;
  // Cap of one delay (default 1 s). Longer: a recovered sink waits for nothing;
  // the worker (and its keys) stall that long.
  int64_t max_backoff_us = 1'000'000;
  // Growth per retry (default 2.0); values below 1 are treated as 1.
  double multiplier = 2.0;
  // Random spread ±jitter of each delay, 0..1 (default 0.2), so workers that
  // failed together do not retry in lockstep.
  double jitter = 0.2;
  // Sink calls per event in the runtime before it is handed back to the log
  // with Nack (default 5; >= 1). Higher: a worker holds its batch (and blocks
  // its keys) longer; lower: more round trips through the log's redelivery.
  uint32_t max_attempts = 5;
};

// The circuit breaker around the sink. A sink call fails when it returns
// non-OK or every event of it is transient. Closed: calls flow; after
// `failure_threshold` consecutive failed calls it opens. Open: no worker polls
// or calls the sink (retries do not burn) until `open_duration_us` has passed
// on LegOptions::clock. Half-open: one trial batch goes through; success
// closes the breaker, failure opens it again.
struct BreakerOptions {
  // Consecutive failed calls that open the breaker (default 5; 0 = never open).
  // Risk: too low trips on a blip; too high keeps hammering a dead sink.
  uint32_t failure_threshold = 5;
  // How long it stays open before a trial (default 5 s). Risk: too short
  // probes a down sink often; too long delays recovery by up to this much.
  int64_t open_duration_us = 5'000'000;
};

// The log's redelivery of nacked messages (SubscriptionOptions).
struct RedeliveryOptions {
  // Redelivery delay after the n-th nack: min(max, base * 2^(n-1)) * (1 ± jitter).
  int64_t backoff_base_us = 100'000;    // default 100 ms
  int64_t backoff_max_us = 30'000'000;  // default 30 s
  double jitter = 0.2;
  // A message delivered this many times and failing again is dead-lettered
  // with reason "retries_exhausted: ..." (default 5; >= 1). Total sink
  // attempts of an event before the DLQ: max_deliveries * RetryPolicy::max_attempts.
  uint32_t max_deliveries = 5;
};

struct LegOptions {
  // Durable subscription name (positions are kept per name). Required, except
  // that MakeGraphLeg defaults it to "graph". Two legs must not share one.
  std::string name;
  // Topics to consume; empty (default) = every entity topic, including ones
  // created later (internal "<t>.dlq"-style topics excluded).
  std::vector<std::string> topics;
  // Where a partition without a committed position starts: true (default) =
  // the first retained record; false = the end (skips the backlog).
  bool from_beginning = true;
  // Chained stages (SubscriptionOptions, src/log/README.md): deliver only
  // records whose CloudEvents type header is one of `ce_types` (empty: all),
  // and skip records older than max_age_us at Start (< 0, default: off).
  std::vector<std::string> ce_types;
  int64_t max_age_us = -1;

  // A batch is handed to the sink when it holds max_batch_events (default 500)
  // or max_batch_delay_us (default 5 ms) after its first message arrived,
  // whichever comes first. Bigger batches: more throughput (one store commit
  // each), more latency and more work repeated on a whole-batch failure.
  size_t max_batch_events = 500;
  int64_t max_batch_delay_us = 5'000;

  // Key_Shared consumers, one thread each (default 2). A key is served by one
  // worker at a time, so more workers help only with many distinct keys.
  uint32_t workers = 2;
  // Events polled but not yet settled (acked, dead-lettered, nacked), over all
  // workers (default 0 = workers * max_batch_events). Backpressure: each worker
  // holds at most its equal share (max_in_flight_events / workers, which also
  // caps its batches) and polls nothing more until it settled them, so a slow
  // sink leaves records in the log, not in memory. Values below `workers` are
  // raised to it. Risk: a small share means small batches.
  size_t max_in_flight_events = 0;

  RetryPolicy retry;
  BreakerOptions breaker;
  RedeliveryOptions redelivery;

  // Acknowledged positions are written durably at least this often (default
  // 1 s) and on Stop. Risk: a crash redelivers up to this much (harmless to a
  // Store sink, it skips them, but it is work).
  int64_t commit_interval_us = 1'000'000;

  // Clock for backoff sleeps, the breaker's open duration and the batch delay;
  // nullptr = SystemClock(). A ManualClock makes backoffs instant (SleepForMicros
  // advances it) and holds an open breaker open until advanced. Must outlive
  // the leg. Timeouts of WaitForCaughtUp are in real time.
  Clock* clock = nullptr;
  // Seed of the jitter (default 0: from std::random_device).
  uint64_t seed = 0;
  // How record values are decoded. The defaults admit everything that ingest
  // admits with its defaults; an undecodable record is dead-lettered.
  EventParserOptions parser;
};

// ---- Statistics --------------------------------------------------------------

enum class BreakerState { kClosed, kOpen, kHalfOpen };
// "closed", "open", "half_open".
std::string_view BreakerStateName(BreakerState state);

// A snapshot of a leg's counters since Start (atomics read one by one, so a
// snapshot taken while workers run may be slightly inconsistent; at rest it is
// exact). When the leg is idle (Stop returned, or WaitForCaughtUp OK):
//   acknowledged == applied + skipped() + dead_lettered()
//   consumed     == acknowledged + nacked + released + settle_errors
struct LegStats {
  uint64_t consumed = 0;                   // messages received (redeliveries included)
  uint64_t acknowledged = 0;               // Ack or DeadLetter returned OK
  uint64_t applied = 0;                    // acked after the sink applied it
  uint64_t skipped_stale = 0;              // acked after the sink found it stale
  uint64_t skipped_duplicate = 0;          // acked after the sink found it already applied
  uint64_t dead_lettered_undecodable = 0;  // the value is not a valid event
  uint64_t dead_lettered_permanent = 0;    // the sink refused it permanently
  uint64_t dead_lettered_exhausted = 0;    // transient past every retry budget
  uint64_t transient_errors = 0;           // transient outcomes, per event per attempt
  uint64_t held_back = 0;      // events retried only because an earlier one of their entity was
  uint64_t retries = 0;        // sink calls repeating (part of) a batch
  uint64_t nacked = 0;         // handed back to the log for redelivery
  uint64_t released = 0;       // left unsettled by Stop; redelivered on restart
  uint64_t settle_errors = 0;  // Ack/Nack refused by the log (closed subscription)
  uint64_t dead_letter_errors = 0;    // DeadLetter failed (DLQ append); retried
  uint64_t poll_errors = 0;           // Poll failed (log read error); retried after a pause
  uint64_t sink_calls = 0;            // Sink::Apply calls
  uint64_t sink_failures = 0;         // calls that returned non-OK
  uint64_t batch_events = 0;          // sum of the sizes of all sink calls
  uint64_t max_batch_events = 0;      // largest sink call
  uint64_t apply_latency_us_sum = 0;  // time inside Sink::Apply, summed ...
  uint64_t apply_latency_us_max = 0;  // ... and the longest call
  BreakerState breaker_state = BreakerState::kClosed;
  uint64_t breaker_opens = 0;       // closed/half-open → open
  uint64_t breaker_half_opens = 0;  // open → half-open
  uint64_t breaker_closes = 0;      // half-open → closed
  // At Start: events the subscription will redeliver at or below the sink's
  // recorded positions (sum over partitions of position + 1 - committed): the
  // crash window that the sink's markers turn into skips.
  uint64_t redelivery_window_at_start = 0;

  uint64_t skipped() const { return skipped_stale + skipped_duplicate; }
  uint64_t dead_lettered() const {
    return dead_lettered_undecodable + dead_lettered_permanent + dead_lettered_exhausted;
  }
};

// ---- The leg -------------------------------------------------------------------

class Leg {
 public:
  Leg() = default;
  Leg(const Leg&) = delete;
  Leg& operator=(const Leg&) = delete;
  // Stops the leg (as Stop) if it runs.
  virtual ~Leg() = default;

  // Opens the subscription, adds the workers and starts them. FailedPrecondition
  // when already started (a stopped leg cannot be restarted: make a new one) or
  // when the subscription name is in use on this Log; the Log's errors otherwise.
  virtual Status Start() = 0;

  // Drains: stops polling, lets every worker finish the sink call in hand and
  // settle its outcomes (messages still waiting for a retry are left unacked and
  // redelivered on the next start), removes the workers and writes the
  // positions durably. Returns the commit's status. Idempotent; OK if never started.
  virtual Status Stop() = 0;

  // Waits until the subscription's lag is 0 on every partition (everything
  // delivered so far was acknowledged) or `timeout_us` of real time passed.
  // OK, Busy naming the lag on timeout, FailedPrecondition when not running.
  virtual Status WaitForCaughtUp(int64_t timeout_us) = 0;

  // The subscription's lag per partition; empty when not running.
  virtual std::vector<PartitionLag> Lag() = 0;

  virtual LegStats stats() const = 0;
  virtual const LegOptions& options() const = 0;
};

// A leg feeding `sink` (which must outlive the leg). InvalidArgument for bad
// options (empty name, zero workers or batch size, max_attempts or
// max_deliveries 0, negative durations, jitter outside 0..1).
Result<std::unique_ptr<Leg>> NewLeg(Log& log, Sink& sink, const LegOptions& options);
// The same, owning the sink.
Result<std::unique_ptr<Leg>> NewLeg(Log& log, std::unique_ptr<Sink> sink,
                                    const LegOptions& options);

// The graph leg: a leg over a StoreSink of `store`; options.name defaults to
// "graph". `log` and `store` must outlive the leg.
Result<std::unique_ptr<Leg>> MakeGraphLeg(Log& log, GraphStore& store, LegOptions options);

}  // namespace tandem
