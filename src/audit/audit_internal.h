// The pieces of RunAudit (tandem/audit.h): folding the log into the truth
// (fold.cc) and comparing one store with it range by range (compare.cc).
//
// Thread safety: one audit per TruthDb, one thread.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "audit/truth_db.h"
#include "tandem/audit.h"

namespace tandem::audit_internal {

// (topic, partition) → end offset (exclusive) the truth is folded up to.
using EndMap = std::map<TopicPartition, uint64_t>;

// The end offsets of every entity topic's partitions (topics without '.').
Result<EndMap> EntityTopicEnds(Log& log);

// Folds every record below `ends` into `truth` (see tandem/audit.h), with
// the content rule of each target. Counts records_read, undecodable and
// truth_entities into *report.
Status FoldLog(Log& log, const EndMap& ends, std::span<const AuditTarget> targets,
               const AuditOptions& options, TruthDb& truth, AuditReport* report);

// Records (leg, entity_id) of every record in the "<t>.dlq" topics.
Status ReadDeadLetters(Log& log, const AuditOptions& options, TruthDb& truth,
                       AuditReport* report);

// Compares targets[index] with the truth (and repairs it when asked);
// report->positions must hold the store's Positions() taken before `ends`.
Status CompareStore(Log& log, TruthDb& truth, const AuditTarget& target, size_t index, const EndMap& ends,
                    const AuditOptions& options, StoreAuditReport* report);

}  // namespace tandem::audit_internal
