// Audit and repair: proves (or disproves, entity by entity) that every store
// agrees with the log — DESIGN §1 contract 6.
//
// The truth is derived from the log: every record of every entity topic
// (internal "<t>.dlq"-style topics excluded) and every partition, read from
// the first retained offset to the end offsets seen when the audit starts,
// parsed with EventParser and folded per entity with the store contract's own
// rule (store_internal::PlanEvent: CompareWithApplied, NextMarker,
// NextPayload — the code the stores run), plus each store's
// Store::NextContent (the vector store's embedding text). The truth is
// spilled into a temporary RocksDB under AuditOptions::temp_dir (memory
// bounded by memory_budget_bytes, never one hash map of every entity), then
// merge-joined in entity_id order with each store's Store::ScanEntities:
//
//   the id space is cut into ranges of range_entities truth entities; for
//   each range the audit compares a digest of the truth with a digest of the
//   store's range and diffs entity by entity only where they differ.
//
// For the embedded stores both digests are computed by scans (an equal range
// costs one store scan and no per-entity work); a remote store (PostgreSQL)
// can compute its range digest server side, which is what makes auditing it
// cheap. Per store the report counts:
//   checked        entities compared (truth ∪ store, tombstones included)
//   missing        truth live; the store lacks it or holds it deleted
//   extra          store live; the truth lacks it or has it deleted
//   stale          both hold it, but marker (version, position, event_id,
//                  deleted), entity_type, canonical payload or content
//                  differ — a write that bypassed the log lands here or in extra
//   unindexed      vector store: live with a vector that is not in its index
//   dead_lettered  divergent, but an event of the entity is in that leg's
//                  dead-letter topic: explained, not counted as divergence
//   pending        divergent, but the entity has an event the store's leg has
//                  not recorded yet (beyond the store's Positions() taken at
//                  the start, or the store moved past the audit's bound
//                  meanwhile): not counted as divergence
// clean() iff missing + extra + stale + unindexed == 0 for every store.
//
// Repair (AuditOptions::repair): each divergent entity is set to the truth
// with Store::RestoreEntity, the marker the audit saw as the expected one (a
// compare-and-set: an entity a leg changed meanwhile is counted
// repair_skipped_changed, not overwritten). Repairing twice is a no-op.
//
//   AuditOptions o;
//   o.temp_dir = data_dir + "/audit-tmp";
//   AuditTarget g{.name = "graph", .store = graph.get(), .leg = "graph"};
//   TANDEM_ASSIGN_OR_RETURN(AuditReport r, RunAudit(*log, {&g, 1}, o));
//   if (!r.clean()) ...
//
// Consistency while legs run: the audit reads a consistent snapshot of each
// store range, but the log and the stores move; divergences caused by events
// in flight are reported as pending. The result is exact at rest.
//
// Thread safety: RunAudit may run concurrently with legs and readers; two
// audits may run at once if their temp_dir differ.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tandem/event.h"
#include "tandem/leg.h"
#include "tandem/log.h"
#include "tandem/status.h"
#include "tandem/store.h"

namespace tandem {

// One store to audit.
struct AuditTarget {
  std::string name;       // "graph", "vector": names the store in the report
  Store* store = nullptr;  // required; must outlive RunAudit
  // The subscription (leg) name feeding the store: its dead letters
  // ("dlq.subscription" header) explain divergences. Empty: none.
  std::string leg;
  // The running leg, for the accounting identity; nullptr: not reported.
  const Leg* runtime = nullptr;
};

// What the truth is folded up to (and what "pending" means).
enum class AuditBound {
  // Default. The log's end offsets at the start; a divergent entity with an
  // event beyond the store's recorded Positions() is pending.
  kStorePositions,
  // The log's end offsets at the start; nothing is pending (use at rest).
  kLogEnd,
};

struct AuditOptions {
  // Directory under which the temporary truth database is created (a fresh
  // subdirectory, removed afterwards). Required. Put it in the data dir: it
  // needs about the size of the live entities' payloads.
  std::string temp_dir;
  // Memory of the truth database: memtable (half) and block cache (a
  // quarter) (default 64 MiB; at least 1 MiB). Lower: more flushes, slower.
  size_t memory_budget_bytes = size_t{64} << 20;
  // Truth entities per digest range (default 1000; >= 1). Smaller ranges
  // localise differences better; each differing range costs a second scan.
  size_t range_entities = 1000;
  // Ids listed per kind in the report (default 100).
  size_t max_ids = 100;
  // Re-apply the truth to every divergent entity (see the file comment).
  bool repair = false;
  AuditBound up_to = AuditBound::kStorePositions;
  // Bytes per Log::Read while folding (default 1 MiB).
  size_t read_bytes = size_t{1} << 20;
  // How records are decoded; use the legs' parser options. An undecodable
  // record is skipped (the legs dead-letter it).
  EventParserOptions parser;
  // Clock for the parser (timestamps of events without one); nullptr: system.
  Clock* clock = nullptr;
};

// The leg's accounting identity: acknowledged = applied + skipped +
// dead-lettered (tandem/leg.h). Exact when the leg is idle.
struct LegIdentity {
  uint64_t acknowledged = 0;
  uint64_t applied = 0;
  uint64_t skipped = 0;
  uint64_t dead_lettered = 0;
  bool holds() const { return acknowledged == applied + skipped + dead_lettered; }
};

struct StoreAuditReport {
  std::string name;
  uint64_t checked = 0;
  uint64_t missing = 0;
  uint64_t extra = 0;
  uint64_t stale = 0;
  uint64_t unindexed = 0;
  uint64_t dead_lettered = 0;
  uint64_t pending = 0;
  // The first AuditOptions::max_ids ids of each kind, in id order.
  std::vector<std::string> missing_ids, extra_ids, stale_ids, unindexed_ids, dead_lettered_ids,
      pending_ids;
  uint64_t ranges = 0;        // digest ranges compared
  uint64_t ranges_equal = 0;  // skipped without a per-entity diff
  // Repair (AuditOptions::repair).
  uint64_t repaired = 0;
  uint64_t repair_skipped_changed = 0;  // RestoreEntity's compare-and-set failed
  uint64_t repair_failed = 0;           // refused by the store (first error below)
  std::string repair_error;
  PositionMap positions;                // the store's Positions() at the start
  std::optional<LegIdentity> identity;  // when AuditTarget::runtime was given

  uint64_t divergent() const { return missing + extra + stale + unindexed; }
  bool clean() const { return divergent() == 0; }
};

struct AuditReport {
  uint64_t records_read = 0;    // log records folded
  uint64_t undecodable = 0;     // skipped records (not a valid event, or key mismatch)
  uint64_t truth_entities = 0;  // entities the log has applied events for
  uint64_t dead_letters = 0;    // records in "<t>.dlq" topics
  bool repair = false;
  std::vector<StoreAuditReport> stores;
  int64_t duration_us = 0;

  bool clean() const;
};

// Runs the audit (and the repair when asked) of `targets` against `log`.
// InvalidArgument for bad options or a target without a store; the log's and
// stores' errors otherwise (the temp directory is removed in every case).
Result<AuditReport> RunAudit(Log& log, std::span<const AuditTarget> targets,
                             const AuditOptions& options);

// The report as one JSON object (the body of POST /v1/audit, `tandem audit
// --json`): {"clean", "repair", "records_read", "undecodable",
// "truth_entities", "dead_letters", "duration_ms", "stores": [{"name",
// "clean", "checked", "missing", "extra", "stale", "unindexed",
// "dead_lettered", "pending", "ids": {"missing": [...], ...}, "ranges",
// "ranges_equal", "repaired", "repair_skipped_changed", "repair_failed",
// "repair_error", "positions": [{"topic","partition","offset"}],
// "identity": {"acknowledged","applied","skipped","dead_lettered","holds"}
// (when known)}]}.
std::string AuditReportJson(const AuditReport& report);

// A human summary of a report, several lines.
std::string AuditReportText(const AuditReport& report);

// ---- Replay: rebuilding a store from the log (tandem replay) ---------------

struct ReplayOptions {
  // Where every partition starts: its first retained offset (default), or
  // `from_offset` (raised to the first retained one). A store rebuilt from
  // an offset holds only the suffix of the log.
  bool from_beginning = true;
  uint64_t from_offset = 0;
  // Topics to read; empty: every entity topic (no '.' in the name), as a leg.
  std::vector<std::string> topics;
  // Events per Sink::Apply (the leg's max_batch_events; default 500, >= 1).
  size_t batch_events = 500;
  size_t read_bytes = size_t{1} << 20;  // per Log::Read (default 1 MiB)
  EventParserOptions parser;            // the leg's
  Clock* clock = nullptr;               // for the parser; nullptr: system
};

struct ReplayStats {
  uint64_t records = 0;      // read from the log
  uint64_t applied = 0;      // ApplyCode::kApplied
  uint64_t skipped = 0;      // stale or duplicate
  uint64_t refused = 0;      // permanent errors (a leg would dead-letter them)
  uint64_t undecodable = 0;  // not a valid event, or entity_id != record key
};

// Applies the log, from the start (or the offset) to the end offsets seen at
// the call, to `store` through a store sink in batches of batch_events, one
// partition after another (an entity's events stay in log order). No
// subscription is opened or moved: the store records its own Positions() in
// its batches. Transient failures (an embedder outage) fail the replay
// (Unavailable); InvalidArgument for bad options.
Result<ReplayStats> ReplayLogInto(Log& log, Store& store, const ReplayOptions& options);

// Swaps a rebuilt store directory in: fsyncs every file of `fresh` and the
// directory, renames `live` → `old`, `fresh` → `live`, fsyncs the parent.
// Both stores must be closed. IOError naming the path that failed.
Status SwapStoreDirs(const std::string& live, const std::string& fresh, const std::string& old);

}  // namespace tandem
