// What the enrichment leg writes to the log, built in one place: the input
// hash, the status and result `update` events with their deterministic ids,
// the CloudEvents of "<topic>.completed" and "<topic>.progress", and the DLQ
// record. Internal to src/enrich.
//
// Event ids (deterministic, so a re-publish after a crash is deduplicated by
// the log): "<kind>:<leg>:<entity_id>:<input hash, 16 hex>:<job seq>" with
// kind enrich-pending, enrich (the result), enrich-failed, enrich-retry (the
// DLQ record's event), enrich-completed and enrich-progress-<n>.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "enrich/state_store.h"
#include "tandem/event.h"
#include "tandem/log.h"
#include "tandem/status.h"

namespace tandem::enrich {

// The payload with the `excluded` members removed (canonical), and its hash:
// XXH64 of entity_type, NUL, that text; never 0 (0 means "no job yet").
struct Input {
  std::string payload;
  uint64_t hash = 0;
  bool empty = true;  // nothing left to enrich
};
Result<Input> InputOf(std::string_view entity_type, std::string_view canonical_payload,
                      const std::set<std::string>& excluded);

// The string value of `field` in `payload` (a JSON object text); "" otherwise.
std::string StringMember(std::string_view payload, std::string_view field);

std::string EventId(std::string_view kind, std::string_view leg, std::string_view entity_id,
                    const JobRecord& job);

// update {status_field: status} of the job's entity. `text` is the entity's
// current text_for_embedding (EntityRecord::text), carried on unchanged.
EntityEvent StatusEvent(std::string_view leg, std::string_view entity_id, const JobRecord& job,
                        std::string_view status_field, std::string_view status, int64_t now_us,
                        const std::optional<std::string>& text = std::nullopt);
// update {<result members>, status_field: "completed"}. InvalidArgument when
// `result` is not a JSON object or names a member outside `fields`.
Result<EntityEvent> ResultEvent(std::string_view leg, std::string_view entity_id,
                                const JobRecord& job, std::string_view result,
                                const std::set<std::string>& fields,
                                std::string_view status_field, int64_t now_us,
                                const std::optional<std::string>& text = std::nullopt);

// A CloudEvents 1.0 structured-mode JSON record for "<topic>.completed":
// type "tandem.enrichment.completed" or "tandem.enrichment.failed", source
// "tandem/enrich/<leg>", subject = entity_id, data {entity_type, enricher,
// status, input_hash, job_seq, attempts, reason?, result?}.
ProduceRecord CompletionRecord(std::string_view leg, std::string_view entity_id,
                               const JobRecord& job, bool ok, std::string_view result_or_reason,
                               int64_t now_us);
// "<topic>.progress": type "tandem.enrichment.progress", data {entity_type,
// enricher, fraction, message, job_seq}. `n` numbers the job's progress events.
ProduceRecord ProgressRecord(std::string_view leg, std::string_view entity_id,
                             const JobRecord& job, uint64_t n, double fraction,
                             std::string_view message, int64_t now_us);
// The "<topic>.dlq" record of a failed job, in the leg runtime's format
// (headers dlq.reason, dlq.subscription, dlq.topic, dlq.partition,
// dlq.offset = the source event's position, dlq.delivery_count = attempts).
// Its value is an update {status_field: "retry"} event, so replaying the dead
// letter (POST /v1/admin/dlq/<topic>/replay) queues the job again.
ProduceRecord DeadLetterRecord(std::string_view leg, std::string_view entity_id,
                               const JobRecord& job, std::string_view status_field,
                               std::string_view reason, int64_t now_us);

}  // namespace tandem::enrich
