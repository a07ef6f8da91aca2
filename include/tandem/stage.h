// Chained stages (DESIGN §5, issue 8 §4): a leg can tell the next stage what
// it did by publishing one CloudEvent per event it applied to a downstream
// topic, so a later stage (a subscription with a CloudEvents type filter, or
// another leg) works from "what the graph store applied" rather than from raw
// input.
//
//   StageOutputOptions out;
//   out.stage = "graph";                    // type tandem.graph.applied, topic graph.applied
//   std::unique_ptr<Sink> sink = NewStageOutputSink(log, NewStoreSink(graph), out).value();
//   std::unique_ptr<Leg> leg = NewLeg(log, std::move(sink), leg_options).value();
//
//   SubscriptionOptions next;               // the downstream stage
//   next.name = "after-graph";
//   next.topics = {"graph.applied"};
//   next.ce_types = {"tandem.graph.applied"};
//
// Each record is a CloudEvent in the Kafka protocol binding's binary mode:
// the attributes are headers (ce_specversion "1.0", ce_id "<stage>:<event_id>",
// ce_source "tandem/stage/<stage>", ce_type, ce_subject = entity_id, ce_time,
// content-type application/json) and the value, the CloudEvent's data, is the
// applied event itself in the native format (tandem/event.h Serialize). So a
// downstream leg decodes it like ingest's output — same event_id, version and
// payload — and sees one entity's events in the order the upstream leg
// applied them (records are keyed by entity_id). The ce_type header
// (kCloudEventTypeHeader) is what subscription filters match.
//
// Delivery: the records of a batch are appended (one group, acknowledged
// after fdatasync under fsync=always) after the inner sink committed and
// before the batch is acknowledged, so a crash in between redelivers the
// batch; the inner sink then reports duplicates, which are published again
// with the same CloudEvent id (derived from the event's event_id) and
// deduplicated by the log's dedup window. At-least-once per applied event,
// exactly-once within the dedup window.
//
// Thread safety: the sink is called by the leg's workers concurrently, as any
// Sink; it adds no shared state beyond the Log (thread-safe).
#pragma once

#include <memory>
#include <string>

#include "tandem/leg.h"
#include "tandem/status.h"
#include "tandem/store.h"

namespace tandem {

class Log;  // tandem/log.h

struct StageOutputOptions {
  // The stage's name, [a-z][a-z0-9_]{0,63}: CloudEvents types
  // "tandem.<stage>.applied" (create, update, upsert) and
  // "tandem.<stage>.deleted", source "tandem/stage/<stage>". Required.
  std::string stage;
  // The downstream topic; empty (default) = "<stage>.applied". A name with a
  // '.' is internal: no all-topics subscription reads it by accident.
  std::string topic;
};

// The CloudEvents type of an applied event of `event_type` in `stage`.
std::string StageEventType(std::string_view stage, EventType event_type);

// A Sink that applies `inner` and then publishes a CloudEvent for every event
// `inner` reported kApplied or kSkippedDuplicate (a duplicate may be a
// redelivery after a crash that lost the publish). Stale events, errors and
// nothing else are published. A failed append fails the whole call (the
// runtime retries the batch). InvalidArgument for a bad stage or topic name.
// `log` must outlive the sink.
Result<std::unique_ptr<Sink>> NewStageOutputSink(Log& log, std::unique_ptr<Sink> inner,
                                                 const StageOutputOptions& options);

// Per-stage switches of a store leg (config `stages.<name>`).
struct StageConfig {
  // Publish CloudEvents of what the leg applied (default false).
  bool publish = false;
  // Where to (default "<stage>.applied").
  std::string topic;
};

// The leg of `store` named options.name (default `stage`), publishing its
// stage output when `config.publish`. Errors as NewLeg and NewStageOutputSink.
Result<std::unique_ptr<Leg>> MakeStageLeg(Log& log, Store& store, std::string_view stage,
                                          LegOptions options, const StageConfig& config);

}  // namespace tandem
