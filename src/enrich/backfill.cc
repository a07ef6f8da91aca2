// RunBackfillPage (tandem/enrich.h): one rate-limited page of a backfill.
#include <algorithm>
#include <vector>

#include "enrich/enrich_events.h"
#include "enrich/token_bucket.h"
#include "tandem/enrich.h"

namespace tandem {
namespace {

constexpr size_t kMaxPage = 100'000;

Status Validate(const BackfillRequest& r, std::span<EnrichLeg* const> legs) {
  if (r.type.empty()) return Status::InvalidArgument("type: an entity type is required");
  if (r.limit == 0 || r.limit > kMaxPage) {
    return Status::InvalidArgument("limit: must be 1..100000, got " + std::to_string(r.limit));
  }
  if (r.max_scan == 0) return Status::InvalidArgument("max_scan: must be >= 1");
  if (!(r.rate_per_second > 0)) return Status::InvalidArgument("rate: must be > 0 per second");
  for (EnrichLeg* leg : legs) {
    const std::vector<std::string>& types = leg->enrich_options().types;
    if (std::find(types.begin(), types.end(), r.type) != types.end()) return Status::OK();
  }
  return Status::InvalidArgument("type: no enrichment leg enriches \"" + r.type + "\"");
}

void Count(BackfillOutcome o, BackfillReport* report) {
  switch (o) {
    case BackfillOutcome::kQueued:
      ++report->queued;
      break;
    case BackfillOutcome::kAlreadyQueued:
      ++report->already_queued;
      break;
    case BackfillOutcome::kDeleted:
      ++report->deleted;
      break;
    case BackfillOutcome::kNothingToDo:
      ++report->nothing_to_do;
      break;
  }
}

}  // namespace

Result<BackfillReport> RunBackfillPage(Store& source, std::span<EnrichLeg* const> legs,
                                       const BackfillRequest& r) {
  TANDEM_RETURN_IF_ERROR(Validate(r, legs));
  std::vector<EnrichLeg*> mine;
  for (EnrichLeg* leg : legs) {
    const std::vector<std::string>& types = leg->enrich_options().types;
    if (std::find(types.begin(), types.end(), r.type) != types.end()) mine.push_back(leg);
  }
  // Collect the page first, then pace the work outside the store's scan (a
  // RocksDB iterator should not be held for the minutes a slow rate takes).
  BackfillReport report;
  std::vector<EntityState> page;
  std::string begin = r.after;
  if (!begin.empty()) begin.push_back('\0');  // strictly after
  bool stopped = false;
  Status scan = source.ScanEntities(begin, "", [&](const EntityState& e) -> Result<bool> {
    ++report.scanned;
    report.next_after = e.entity_id;
    if (e.entity_type == r.type && !e.deleted()) {
      ++report.matched;
      bool needed = false;
      for (EnrichLeg* leg : mine) {
        if (enrich::StringMember(e.payload, leg->enrich_options().status_field) == "completed") {
          ++report.already_enriched;
        } else {
          needed = true;
        }
      }
      if (needed) page.push_back(e);
    }
    stopped = page.size() >= r.limit || report.scanned >= r.max_scan;
    return !stopped;
  });
  TANDEM_RETURN_IF_ERROR(scan);
  report.done = !stopped;
  enrich::TokenBucket bucket(r.rate_per_second, 1, r.clock != nullptr ? *r.clock : SystemClock());
  for (const EntityState& e : page) {
    for (EnrichLeg* leg : mine) {
      if (enrich::StringMember(e.payload, leg->enrich_options().status_field) == "completed") {
        continue;  // counted by the scan
      }
      bucket.Acquire();
      TANDEM_ASSIGN_OR_RETURN(BackfillOutcome o, leg->Backfill(e));
      Count(o, &report);
    }
  }
  return report;
}

}  // namespace tandem
