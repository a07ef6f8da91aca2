// Producer: the C++ way to publish EntityEvents to the log.
//
// An event goes to the topic named by its entity_type, keyed by its entity_id
// (so every event of one entity lands in one partition, in order), with its
// event_id as the record's dedup id and its canonical JSON (Serialize) as the
// value. A publish returns once the log acknowledged it under its fsync policy.
//
//   Producer producer(*log);
//   TANDEM_ASSIGN_OR_RETURN(AppendResult r, producer.Publish(event));
//
// Thread safety: safe for concurrent use (the log group-commits concurrent
// publishes). `log` must outlive the producer.
#pragma once

#include <cstdint>
#include <istream>
#include <span>
#include <string>
#include <vector>

#include "tandem/event.h"
#include "tandem/log.h"
#include "tandem/status.h"

namespace tandem {

class Producer {
 public:
  explicit Producer(Log& log) : log_(log) {}

  // Appends one event. The log's errors pass through (TooLarge, NoSpace, ...).
  Result<AppendResult> Publish(const EntityEvent& event);
  // Appends many events; topics are written in parallel, each topic's share
  // as one group per partition. On OK results[i] belongs to events[i]. On
  // failure some topics' shares may have been acknowledged (re-publishing is
  // safe: duplicates are answered with their original offsets).
  Status PublishBatch(std::span<const EntityEvent> events, std::vector<AppendResult>* results);

 private:
  Log& log_;
};

// What IngestNdjson did.
struct IngestSummary {
  uint64_t appended = 0;    // new records
  uint64_t duplicates = 0;  // acknowledged with an earlier offset
  std::vector<std::string> rejected;  // "line <n>: <field>: <reason>", input order
};

// Reads native events, one JSON object per line, from `in`, and publishes the
// valid ones in batches of `batch_size`. Invalid lines are reported in the
// summary and never appended; they do not stop the others. Fails only when the
// log fails (then some earlier batches may have been acknowledged).
Result<IngestSummary> IngestNdjson(Log& log, std::istream& in, size_t batch_size = 1000);

}  // namespace tandem
