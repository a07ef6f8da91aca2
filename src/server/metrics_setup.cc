// The metric families of `tandem serve`: counters updated by the handlers,
// and collectors that read the legs and the vector store at scrape time.
#include <string>

#include "server/context.h"

namespace tandem::server {
namespace {

double BreakerValue(BreakerState s) {
  switch (s) {
    case BreakerState::kClosed:
      return 0;
    case BreakerState::kHalfOpen:
      return 1;
    case BreakerState::kOpen:
      return 2;
  }
  return 0;
}

void CollectLegs(const Context& ctx, MetricsWriter& w) {
  for (const LegEntry& e : ctx.legs) {
    const std::string leg = e.leg->options().name;
    const LegStats s = e.leg->stats();
    const char* kEvents = "Events a leg settled, by outcome";
    w.Counter("tandem_leg_events_total", kEvents, {{"leg", leg}, {"outcome", "applied"}},
              static_cast<double>(s.applied));
    w.Counter("tandem_leg_events_total", kEvents, {{"leg", leg}, {"outcome", "skipped_stale"}},
              static_cast<double>(s.skipped_stale));
    w.Counter("tandem_leg_events_total", kEvents, {{"leg", leg}, {"outcome", "skipped_duplicate"}},
              static_cast<double>(s.skipped_duplicate));
    w.Counter("tandem_leg_events_total", kEvents, {{"leg", leg}, {"outcome", "dead_lettered"}},
              static_cast<double>(s.dead_lettered()));
    const char* kDlq = "Events a leg sent to a dead-letter topic, by reason";
    w.Counter("tandem_dlq_events_total", kDlq, {{"leg", leg}, {"reason", "undecodable"}},
              static_cast<double>(s.dead_lettered_undecodable));
    w.Counter("tandem_dlq_events_total", kDlq, {{"leg", leg}, {"reason", "permanent"}},
              static_cast<double>(s.dead_lettered_permanent));
    w.Counter("tandem_dlq_events_total", kDlq, {{"leg", leg}, {"reason", "retries_exhausted"}},
              static_cast<double>(s.dead_lettered_exhausted));
    w.Counter("tandem_leg_retries_total", "Sink calls repeating (part of) a batch", {{"leg", leg}},
              static_cast<double>(s.retries));
    w.Counter("tandem_leg_consumed_total", "Messages a leg received (redeliveries included)",
              {{"leg", leg}}, static_cast<double>(s.consumed));
    w.Gauge("tandem_leg_breaker_state",
            "Circuit breaker of a leg's sink: 0 closed, 1 half-open, 2 open", {{"leg", leg}},
            BreakerValue(s.breaker_state));
    for (const PartitionLag& l : e.leg->Lag()) {
      w.Gauge("tandem_leg_lag_events", "Events of a partition not yet acknowledged by a leg",
              {{"leg", leg}, {"topic", l.topic}, {"partition", std::to_string(l.partition)}},
              static_cast<double>(l.lag()));
    }
  }
  if (ctx.vector) {
    const VectorCounters c = ctx.vector->vector_counters();
    w.Counter("tandem_embeddings_computed_total", "Texts sent to the embedder", {},
              static_cast<double>(c.embeddings_computed));
    w.Counter("tandem_embeddings_skipped_total",
              "Embeddings skipped because the text did not change", {},
              static_cast<double>(c.embeddings_skipped));
    w.Counter("tandem_embedder_failures_total", "Embedder calls that failed", {},
              static_cast<double>(c.embedder_failures));
  }
}

void CollectEnrichment(const Context& ctx, MetricsWriter& w) {
  for (const EnrichLeg* leg : ctx.enrich_legs) {
    const std::string name = leg->enrich_options().name;
    const EnrichStats s = leg->enrich_stats();
    const char* kJobs = "Enrichment jobs, by outcome";
    const std::pair<const char*, uint64_t> outcomes[] = {
        {"queued", s.jobs_queued},       {"resumed", s.jobs_resumed},
        {"completed", s.jobs_completed}, {"failed", s.jobs_failed},
        {"skipped", s.jobs_skipped},     {"superseded", s.jobs_superseded},
        {"cancelled", s.jobs_cancelled}};
    for (const auto& [outcome, n] : outcomes) {
      w.Counter("tandem_enrich_jobs_total", kJobs, {{"enricher", name}, {"outcome", outcome}},
                static_cast<double>(n));
    }
    w.Gauge("tandem_enrich_jobs_in_flight", "Enricher calls in progress", {{"enricher", name}},
            static_cast<double>(s.in_flight));
    w.Gauge("tandem_enrich_queue_depth", "Enrichment jobs recorded and not finished",
            {{"enricher", name}}, static_cast<double>(s.queue_depth));
    w.Gauge("tandem_enricher_breaker_state",
            "Circuit breaker around an enricher: 0 closed, 1 half-open, 2 open",
            {{"enricher", name}}, BreakerValue(s.breaker_state));
    const char* kErrors = "Enricher calls that failed, by class";
    w.Counter("tandem_enricher_errors_total", kErrors, {{"enricher", name}, {"class", "transient"}},
              static_cast<double>(s.transient_errors));
    w.Counter("tandem_enricher_errors_total", kErrors, {{"enricher", name}, {"class", "permanent"}},
              static_cast<double>(s.permanent_errors));
    w.Counter("tandem_enricher_errors_total", kErrors, {{"enricher", name}, {"class", "not_ready"}},
              static_cast<double>(s.not_ready));
  }
}

}  // namespace

void SetUpMetrics(Context& ctx) {
  ctx.publish_duration = &ctx.metrics.AddHistogram(
      "tandem_publish_duration_seconds",
      "Time from receipt of POST /v1/events to the durable append of its events",
      Histogram::LatencyBuckets());
  // Families that must show up before the first event.
  ctx.metrics.AddCounter("tandem_events_rejected_total", "Events refused at ingest, by reason",
                         {{"reason", "invalid_argument"}});
  ctx.metrics.AddCounter("tandem_publish_failures_total", "Publishes the log refused, by code",
                         {{"code", "no_space"}});
  ctx.metrics.AddCollector([&ctx](MetricsWriter& w) { CollectLegs(ctx, w); });
  ctx.metrics.AddCollector([&ctx](MetricsWriter& w) { CollectEnrichment(ctx, w); });
}

}  // namespace tandem::server
