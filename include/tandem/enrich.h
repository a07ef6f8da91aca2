// Enrichment: the asynchronous leg that calls an enricher (an HTTP service or
// a built-in computation) for each entity whose input changed, and publishes
// the result back to the log as an `update` event of the same entity, so the
// graph and vector stores receive it in order like any other change.
//
//   std::unique_ptr<Enricher> risk = NewNetworkRiskEnricher(*graph, {}).value();
//   EnrichLegOptions o;
//   o.name = "risk";                      // subscription "enrich-risk"
//   o.types = {"person", "company"};      // topics consumed
//   o.dir = data_dir + "/enrich/risk";    // its small RocksDB state store
//   TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<EnrichLeg> leg, NewEnrichLeg(*log, *risk, o));
//   TANDEM_RETURN_IF_ERROR(leg->Start());
//   ...
//   TANDEM_RETURN_IF_ERROR(leg->Stop());
//
// The leg never makes the graph and vector legs wait: it has its own durable
// subscription, and its sink only records work (a durable *job*) and acks;
// a pool of `concurrency` workers calls the enricher afterwards. The design
// (outbox, input hash, loop safety, event ids, status field, DLQ format) is
// in src/enrich/README.md. In short, per entity:
//
//   event applied to the state store ──► input hash changed? ──► job (durable) + ack
//   worker: update {status: "pending"} ──► enricher (timeout, retries, breaker)
//     ok     ──► update {<fields>, status: "completed"} + <topic>.completed event
//     failed ──► <topic>.dlq record + update {status: "failed"} + <topic>.completed event
//
// Thread safety: EnrichLeg methods are safe from any thread (Start/Stop are
// serialised). An Enricher is called from several workers at once and must be
// safe for concurrent use. Lifetimes: the Log and the Enricher must outlive
// the leg (and a network_risk enricher's GraphStore must outlive it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/env.h"
#include "tandem/leg.h"
#include "tandem/status.h"
#include "tandem/store.h"

namespace tandem {

class GraphStore;  // tandem/graph.h
class Histogram;   // tandem/metrics.h
class Log;         // tandem/log.h

// ---- Enrichers -------------------------------------------------------------

// Reports progress of long work: `fraction` in 0..1 and a short message. Each
// call appends one CloudEvent to "<topic>.progress". Safe to call from the
// enricher's own threads while Enrich runs; not after it returned.
using EnrichProgress = std::function<void(double fraction, std::string_view message)>;

struct EnrichRequest {
  std::string entity_id;
  std::string entity_type;
  // The entity's canonical payload without the enrichment-owned fields (the
  // input the job was queued for).
  std::string payload;
  // The log position of the event that queued the job (a built-in enricher
  // reading another store waits until that store has applied it).
  LogPosition source;
  // Time budget of this call (EnrichLegOptions::timeout_us).
  int64_t timeout_us = 0;
  EnrichProgress progress;  // never empty when called by the leg
};

// How the leg treats an enricher's error (see Enricher::Enrich).
enum class EnrichErrorClass {
  kNotReady,   // Busy: the input is not ready yet; retried, not a breaker failure
  kTransient,  // Unavailable, IOError, Aborted, NoSpace: retried with backoff; breaker failure
  kPermanent,  // anything else: never retried; the job goes to the DLQ at once
};
EnrichErrorClass ClassifyEnrichError(const Status& s);

class Enricher {
 public:
  Enricher() = default;
  Enricher(const Enricher&) = delete;
  Enricher& operator=(const Enricher&) = delete;
  virtual ~Enricher() = default;

  // "http", "network_risk", or a test's name.
  virtual std::string_view kind() const = 0;
  // The top-level payload members this enricher owns (writes). They are
  // excluded from the input hash, which is what keeps the leg's own result
  // events from queueing new work. A result naming any other member is
  // refused (permanent error).
  virtual const std::vector<std::string>& fields() const = 0;
  // Computes the enrichment of one entity: OK with a JSON object text whose
  // members are a subset of fields() (merged into the payload as an update),
  // or an error classified by ClassifyEnrichError. Must be deterministic for
  // an input where possible (a re-run after a crash publishes again; the log
  // deduplicates by event id, so the first result wins within its window).
  virtual Result<std::string> Enrich(const EnrichRequest& request) = 0;
};

// The http enricher: POST <url> with {"entity_id","entity_type","payload"}
// (application/json) and expects a JSON object answer (2xx) that becomes the
// result. Classification: 2xx with a non-object body → transient (a proxy or
// a restarting service); 408, 429, 5xx, connection errors and timeouts →
// transient, honouring Retry-After (seconds) as the next backoff; other 4xx
// → permanent, with the service's message; 1xx/3xx → permanent (redirects
// are not followed). The per-call timeout is EnrichRequest::timeout_us
// (connect, read and write each).
struct HttpEnricherOptions {
  // http://host[:port]/path (https when cpp-httplib was built with TLS).
  // Required. InvalidArgument "url: ..." when malformed.
  std::string url;
  // The members the service answers with (Enricher::fields). Required:
  // without them the leg cannot tell results from input.
  std::vector<std::string> fields;
  // Sent as "Authorization: Bearer <api_key>" when non-empty.
  std::string api_key;
  // Idle keep-alive connections kept for reuse (default 32; at least the
  // leg's concurrency avoids reconnecting).
  size_t max_idle_connections = 32;
};
Result<std::unique_ptr<Enricher>> NewHttpEnricher(const HttpEnricherOptions& options);

// The network_risk enricher (banking schema, reads the GraphStore in process).
// Fields: network_risk (0..1, rounded to 4 decimals) and network_risk_factors
// (an object with each factor's raw value and its contribution). The formula
// is documented in src/enrich/README.md; it is deterministic for a graph state.
// Before computing, it waits (by answering Busy, which the leg retries) until
// the graph store's Positions() reach the job's source position, so the graph
// leg has applied at least the event that queued the job.
struct NetworkRiskOptions {
  // Vertices visited in the 2-hop neighbourhood (default 2000); beyond it the
  // factors are computed on what was visited and `truncated` is reported.
  size_t max_vertices = 2000;
  // Edges read per vertex and label (default 1000).
  size_t max_edges = 1000;
  // Saturation points of the factors (the value at which a factor's
  // contribution reaches its weight). Defaults suit the generated bank.
  double volume_saturation = 1'000'000;  // summed transaction amount
  double count_saturation = 50;          // transactions
  double fan_saturation = 20;            // distinct counterparties of the accounts
};
Result<std::unique_ptr<Enricher>> NewNetworkRiskEnricher(GraphStore& graph,
                                                         const NetworkRiskOptions& options);

// ---- The leg ---------------------------------------------------------------

struct EnrichLegOptions {
  // [a-z0-9_-]{1,64}, required. The subscription is "enrich-<name>"; event
  // ids and DLQ headers carry it.
  std::string name;
  // Entity types enriched; at least one. Also the topics consumed unless
  // `topics` is set.
  std::vector<std::string> types;
  // Topics consumed instead of `types` (default empty: the types' topics). A
  // chained stage reads an upstream stage's output, e.g. {"graph.applied"}
  // (tandem/stage.h) with leg.ce_types = {"tandem.graph.applied"}: enrich
  // what the graph store applied. Events of other entity types are
  // acknowledged without effect.
  std::vector<std::string> topics;
  // false: the leg folds every event into its state but queues a job only
  // when asked (status "retry", a DLQ replay, Backfill), not for new input
  // (default true). "Enrich on demand".
  bool auto_process = true;
  // Directory of the leg's RocksDB state store (entities' input, jobs,
  // positions). Required; one leg per directory.
  std::string dir;
  // fdatasync of the state store's WAL before the sink acks (default true).
  // false: a power loss may lose recorded jobs after their events were acked.
  bool sync = true;

  // Workers calling the enricher (default 4; 1..1024). Each holds one call.
  uint32_t concurrency = 4;
  // Budget of one enricher call (default 10 s), passed to the enricher.
  int64_t timeout_us = 10'000'000;
  // Enricher calls per job before it goes to the DLQ (default 5; >= 1).
  uint32_t max_attempts = 5;
  // Backoff before retry n: min(max, initial * multiplier^(n-1)) * (1 ± jitter)
  // (defaults 100 ms, 30 s, 2.0, 0.2). A Retry-After is not consulted here:
  // the http enricher reports it in its message only.
  int64_t initial_backoff_us = 100'000;
  int64_t max_backoff_us = 30'000'000;
  double multiplier = 2.0;
  double jitter = 0.2;
  // How long a job may wait for a not-ready input (Busy) before such answers
  // count against max_attempts (default 60 s of LegOptions-clock time).
  int64_t max_not_ready_us = 60'000'000;
  // Breaker around the enricher: after failure_threshold consecutive
  // transient failures no worker calls it for open_duration_us, then one
  // trial call decides (defaults 5 and 5 s).
  BreakerOptions breaker;

  // The payload member holding the status: "pending", "completed", "failed"
  // (written by the leg) or "retry" (written by a DLQ replay or a user: forces
  // a new job for the current input). Owned by the leg.
  std::string status_field = "enrichment_status";
  // Publish the "pending" status when a job is queued (default true). false:
  // the stores show only "completed" / "failed", and the graph and vector legs
  // apply one event fewer per job (see the benchmark in src/enrich/README.md).
  bool publish_pending = true;
  // More members excluded from the input hash: the fields of the other
  // enrichers of the same types (the server fills it), so that two enrichers
  // do not re-trigger each other.
  std::vector<std::string> ignored_fields;
  // Tombstones of deleted entities refuse stale events this long (default 7 days).
  int64_t tombstone_retention_us = int64_t{7} * 24 * 3600 * 1'000'000;

  // The runtime of the leg's subscription (batching, workers applying the
  // sink, retries of the state store). name and topics are set by the leg.
  LegOptions leg;
  // Clock for backoffs, the breaker and timestamps; nullptr = SystemClock().
  Clock* clock = nullptr;
  // Seed of the backoff jitter (0: from the clock).
  uint64_t seed = 0;
  // Observes each enricher call's duration in seconds (nullptr: none).
  // Must outlive the leg.
  Histogram* latency = nullptr;
};

// A snapshot of an enrichment leg's job counters since Start. At rest
// (WaitForCaughtUp OK): queue_depth == 0, in_flight == 0, and every queued
// job is completed, failed, superseded or cancelled:
//   jobs_queued + jobs_resumed == jobs_completed + jobs_failed + jobs_superseded + jobs_cancelled
struct EnrichStats {
  uint64_t jobs_queued = 0;      // new jobs recorded by the sink
  uint64_t jobs_resumed = 0;     // unfinished jobs found at Start
  uint64_t jobs_skipped = 0;     // events whose input hash was unchanged (no job)
  uint64_t jobs_completed = 0;   // result published
  uint64_t jobs_failed = 0;      // sent to the DLQ, status "failed" published
  uint64_t jobs_superseded = 0;  // replaced by a newer job of the same entity before finishing
  uint64_t jobs_cancelled = 0;   // the entity was deleted while its job waited
  uint64_t in_flight = 0;        // jobs a worker holds now
  uint64_t queue_depth = 0;      // jobs recorded and not finished (in flight included)
  uint64_t enricher_calls = 0;
  uint64_t transient_errors = 0;
  uint64_t permanent_errors = 0;
  uint64_t not_ready = 0;        // Busy answers
  uint64_t publish_errors = 0;   // appends to the log that failed (retried)
  uint64_t progress_events = 0;
  uint64_t latency_us_sum = 0;
  uint64_t latency_us_max = 0;
  BreakerState breaker_state = BreakerState::kClosed;
  uint64_t breaker_opens = 0;
  uint64_t breaker_half_opens = 0;
  uint64_t breaker_closes = 0;
};

// An enrichment leg is a Leg (Start, Stop, Lag, stats of its subscription's
// runtime), with these differences: WaitForCaughtUp also waits until no job
// is queued or in flight; Stop drains the subscription, then lets each worker
// finish the call in hand (a job waiting for a retry stays recorded and is
// resumed by the next Start).
enum class BackfillOutcome {
  kQueued,         // a job was recorded (and the worker pool will run it)
  kAlreadyQueued,  // the entity has an open job
  kDeleted,        // the leg saw the entity deleted after the given state
  kNothingToDo,    // the payload has nothing but owned fields, or another type
};
// "queued", "already_queued", "deleted", "nothing_to_do".
std::string_view BackfillOutcomeName(BackfillOutcome outcome);

class EnrichLeg : public Leg {
 public:
  // Backfill (src/enrich/README.md "Backfill"): queues a job for `entity`, a
  // live entity as another store holds it (the graph store's ScanEntities),
  // unless the entity has an open job. When the leg's state already knows
  // the entity (live) its own payload is used; when it never saw it (the
  // entity is older than the log's retention, or the leg started at the
  // end) the state is seeded from `entity` (payload and marker), so later
  // events of the entity are ordered against that marker. The job's source
  // position is empty (the store already holds the input). Durable like a
  // job the sink records (one state commit). Store errors as they come.
  virtual Result<BackfillOutcome> Backfill(const EntityState& entity) = 0;
  virtual EnrichStats enrich_stats() const = 0;
  virtual const EnrichLegOptions& enrich_options() const = 0;
};

// ---- Backfill ----------------------------------------------------------------

// One page of a backfill (`tandem enrich backfill`, POST /v1/enrich/backfill):
// scan `source` (the graph store, or the vector store without one) in
// entity_id order after `after`, and for every live entity of `type` whose
// payload lacks `<status field>: "completed"` of a leg, call that leg's
// Backfill — at most `rate_per_second` of them per second (a token bucket of
// burst 1 on `clock`). Stops after `limit` such entities or `max_scan`
// entities visited, whichever comes first; resume with after = next_after.
struct BackfillRequest {
  std::string type;               // required, an entity type
  std::string after;              // "" = from the first entity
  size_t limit = 100;             // entities needing work per page (1..100,000)
  size_t max_scan = 10'000;       // entities visited per page (>= 1)
  double rate_per_second = 100;   // > 0; Backfill calls per second
  Clock* clock = nullptr;         // nullptr = SystemClock()
};

struct BackfillReport {
  uint64_t scanned = 0;           // entities visited (any type)
  uint64_t matched = 0;           // live entities of the type
  uint64_t already_enriched = 0;  // (entity, leg) pairs whose status is "completed"
  uint64_t queued = 0;            // (entity, leg) pairs: BackfillOutcome counts
  uint64_t already_queued = 0;
  uint64_t deleted = 0;
  uint64_t nothing_to_do = 0;
  std::string next_after;         // the last entity visited
  bool done = false;              // the scan reached the end of the store
};

// InvalidArgument naming the field for a bad request or when no leg enriches
// `type`; the store's and the legs' errors as they come. `legs` must be
// running for their jobs to run (jobs queued on a stopped leg wait for Start).
Result<BackfillReport> RunBackfillPage(Store& source, std::span<EnrichLeg* const> legs,
                                       const BackfillRequest& request);

// InvalidArgument naming the option for bad options (name, types, dir,
// concurrency, max_attempts, backoffs, jitter); the state store's errors
// (FailedPrecondition when the directory is locked by another leg).
Result<std::unique_ptr<EnrichLeg>> NewEnrichLeg(Log& log, Enricher& enricher,
                                                const EnrichLegOptions& options);

}  // namespace tandem
