// Comparing one store with the truth: range digests first, a merge-join of
// the truth cursor with the store's ScanEntities where they differ, the
// classification of each divergent entity, and the repair.

#include <algorithm>
#include <utility>

#include "audit/audit_internal.h"
#include "common/coding.h"
#include "common/hash.h"

namespace tandem::audit_internal {
namespace {

// Divergent entities held before their repairs run (a scan pass stops and
// resumes after this many).
constexpr size_t kMaxQueuedRepairs = 4096;

enum class Kind { kOk, kMissing, kExtra, kStale, kUnindexed };

bool Live(const EntityState* s) { return s != nullptr && !s->marker.deleted; }

bool SameMarker(const AppliedMarker& a, const AppliedMarker& b) {
  return a.version == b.version && a.position == b.position && a.event_id == b.event_id &&
         a.deleted == b.deleted;
}

// The hash of everything the audit compares of one entity; summed per range.
uint64_t AuditHash(const EntityState& s, const std::optional<std::string>& content, bool index_ok) {
  std::string buf;
  const AppliedMarker& m = s.marker;
  buf.push_back(m.deleted ? 'd' : 'l');
  coding::PutStr(&buf, s.entity_id);
  coding::PutStr(&buf, s.entity_type);
  buf.push_back(m.version.has_value() ? 'v' : '-');
  coding::PutLE(&buf, static_cast<uint64_t>(m.version.value_or(0)), 8);
  coding::PutStr(&buf, m.position.topic);
  coding::PutVarint(&buf, m.position.partition);
  coding::PutVarint(&buf, m.position.offset);
  coding::PutStr(&buf, m.event_id);
  if (!m.deleted) {
    coding::PutStr(&buf, s.payload);
    buf.push_back(content.has_value() ? 'c' : '-');
    if (content.has_value()) coding::PutStr(&buf, *content);
    buf.push_back(index_ok ? 'i' : '-');
  }
  return StableHash64(buf);
}

struct Repair {
  std::string id;
  std::optional<AppliedMarker> expected;
  std::optional<EntityState> target;
};

class StoreComparer {
 public:
  StoreComparer(Log& log, TruthDb& truth, const AuditTarget& target, size_t index,
                const EndMap& ends, const AuditOptions& options, StoreAuditReport* report)
      : log_(log),
        truth_(truth),
        target_(target),
        index_(index),
        ends_(ends),
        options_(options),
        report_(*report) {}

  Status Run();

 private:
  std::optional<std::string> TruthContent(const TruthEntry& t) const {
    return index_ < t.contents.size() ? t.contents[index_] : std::nullopt;
  }
  Status DiffRange(const std::string& begin, const std::string& end);
  // One entity present in the truth (t, may be without state) and/or the store (s).
  Status Visit(std::string_view id, const TruthEntry* t, const EntityState* s);
  Kind Classify(const TruthEntry* t, const EntityState* s) const;
  Result<bool> Pending(const TruthEntry* t, const EntityState* s);
  Status RunRepairs();
  void Note(Kind kind, std::string_view id);

  Log& log_;
  TruthDb& truth_;
  const AuditTarget& target_;
  const size_t index_;
  const EndMap& ends_;
  const AuditOptions& options_;
  StoreAuditReport& report_;
  std::optional<EndMap> now_ends_;  // the log's ends now, read when first needed per range
  std::vector<Repair> repairs_;
};

Kind StoreComparer::Classify(const TruthEntry* t, const EntityState* s) const {
  const EntityState* ts = t != nullptr && t->has_state ? &t->state : nullptr;
  if (Live(ts)) {
    if (!Live(s)) return Kind::kMissing;
    if (ts->entity_type != s->entity_type || !SameMarker(ts->marker, s->marker) ||
        ts->payload != s->payload || TruthContent(*t) != s->content) {
      return Kind::kStale;
    }
    return s->indexed == false ? Kind::kUnindexed : Kind::kOk;
  }
  if (Live(s)) return Kind::kExtra;
  // Neither is live: two tombstones must carry the same marker; a tombstone
  // against nothing (expired, or a log without the entity) agrees.
  if (ts != nullptr && s != nullptr && !SameMarker(ts->marker, s->marker)) return Kind::kStale;
  return Kind::kOk;
}

Result<bool> StoreComparer::Pending(const TruthEntry* t, const EntityState* s) {
  if (options_.up_to != AuditBound::kStorePositions) return false;
  if (t != nullptr) {
    auto it = report_.positions.find({t->last_seen.topic, t->last_seen.partition});
    if (it == report_.positions.end() || t->last_seen.offset > it->second) return true;
  }
  if (s != nullptr) {
    // The store applied an event past the audit's bound: in flight if the
    // log holds it now (a write that bypassed the log does not).
    const TopicPartition tp{s->marker.position.topic, s->marker.position.partition};
    auto bound = ends_.find(tp);
    if (bound == ends_.end() || s->marker.position.offset >= bound->second) {
      if (!now_ends_.has_value()) {
        TANDEM_ASSIGN_OR_RETURN(EndMap now, EntityTopicEnds(log_));
        now_ends_ = std::move(now);
      }
      auto now = now_ends_->find(tp);
      if (now != now_ends_->end() && s->marker.position.offset < now->second) return true;
    }
  }
  return false;
}

void StoreComparer::Note(Kind kind, std::string_view id) {
  uint64_t* count = nullptr;
  std::vector<std::string>* ids = nullptr;
  switch (kind) {
    case Kind::kMissing:
      count = &report_.missing, ids = &report_.missing_ids;
      break;
    case Kind::kExtra:
      count = &report_.extra, ids = &report_.extra_ids;
      break;
    case Kind::kStale:
      count = &report_.stale, ids = &report_.stale_ids;
      break;
    case Kind::kUnindexed:
      count = &report_.unindexed, ids = &report_.unindexed_ids;
      break;
    case Kind::kOk:
      return;
  }
  ++*count;
  if (ids->size() < options_.max_ids) ids->emplace_back(id);
}

Status StoreComparer::Visit(std::string_view id, const TruthEntry* t, const EntityState* s) {
  ++report_.checked;
  const Kind kind = Classify(t, s);
  if (kind == Kind::kOk) return Status::OK();
  if (!target_.leg.empty()) {
    TANDEM_ASSIGN_OR_RETURN(bool dead, truth_.IsDeadLettered(target_.leg, id));
    if (dead) {
      ++report_.dead_lettered;
      if (report_.dead_lettered_ids.size() < options_.max_ids) {
        report_.dead_lettered_ids.emplace_back(id);
      }
      return Status::OK();
    }
  }
  TANDEM_ASSIGN_OR_RETURN(bool pending, Pending(t, s));
  if (pending) {
    ++report_.pending;
    if (report_.pending_ids.size() < options_.max_ids) report_.pending_ids.emplace_back(id);
    return Status::OK();
  }
  Note(kind, id);
  if (!options_.repair) return Status::OK();
  Repair r;
  r.id = std::string(id);
  if (s != nullptr) r.expected = s->marker;
  if (t != nullptr && t->has_state) {
    r.target = t->state;
    r.target->content = TruthContent(*t);
  }
  repairs_.push_back(std::move(r));
  return Status::OK();
}

Status StoreComparer::RunRepairs() {
  for (const Repair& r : repairs_) {
    Result<bool> done = target_.store->RestoreEntity(r.id, r.expected, r.target);
    if (!done.ok()) {
      if (!done.status().IsInvalidArgument()) return done.status().WithContext("repair " + r.id);
      if (report_.repair_failed++ == 0) {
        report_.repair_error = "\"" + r.id + "\": " + done.status().ToString();
      }
    } else if (*done) {
      ++report_.repaired;
    } else {
      ++report_.repair_skipped_changed;
    }
  }
  repairs_.clear();
  return Status::OK();
}

Status StoreComparer::DiffRange(const std::string& begin, const std::string& end) {
  now_ends_.reset();
  std::unique_ptr<TruthCursor> cursor = truth_.NewCursor();
  std::string from = begin;
  // Each pass either finishes the range or stops after kMaxQueuedRepairs
  // divergent entities, at a store id greater than every id visited: bounded.
  for (;;) {
    TANDEM_RETURN_IF_ERROR(cursor->Seek(from));
    TruthEntry t;
    std::optional<std::string> resume;
    Status failed;
    auto visit_store = [&](const EntityState& s) -> Result<bool> {
      if (repairs_.size() >= kMaxQueuedRepairs) {
        resume = s.entity_id;
        return false;
      }
      while (cursor->Valid(end) && cursor->id() < s.entity_id) {
        TANDEM_RETURN_IF_ERROR(cursor->Entry(&t));
        TANDEM_RETURN_IF_ERROR(Visit(t.state.entity_id, &t, nullptr));
        TANDEM_RETURN_IF_ERROR(cursor->Next());
      }
      if (cursor->Valid(end) && cursor->id() == s.entity_id) {
        TANDEM_RETURN_IF_ERROR(cursor->Entry(&t));
        TANDEM_RETURN_IF_ERROR(Visit(s.entity_id, &t, &s));
        TANDEM_RETURN_IF_ERROR(cursor->Next());
      } else {
        TANDEM_RETURN_IF_ERROR(Visit(s.entity_id, nullptr, &s));
      }
      return true;
    };
    TANDEM_RETURN_IF_ERROR(target_.store->ScanEntities(from, end, visit_store));
    const std::string stop = resume.value_or(end);
    while (cursor->Valid(stop)) {
      TANDEM_RETURN_IF_ERROR(cursor->Entry(&t));
      TANDEM_RETURN_IF_ERROR(Visit(t.state.entity_id, &t, nullptr));
      TANDEM_RETURN_IF_ERROR(cursor->Next());
    }
    TANDEM_RETURN_IF_ERROR(RunRepairs());
    if (!resume.has_value()) return Status::OK();
    from = *resume;
  }
}

Status StoreComparer::Run() {
  const size_t per_range = std::max<size_t>(1, options_.range_entities);
  std::unique_ptr<TruthCursor> cursor = truth_.NewCursor();
  TANDEM_RETURN_IF_ERROR(cursor->Seek(""));
  std::string begin;
  TruthEntry t;
  // Each range consumes range_entities truth entries (the last one the rest,
  // up to an unbounded end), so the loop ends after entities/range + 1 ranges.
  for (;;) {
    StoreDigest truth_digest;
    for (size_t n = 0; n < per_range && cursor->Valid(""); ++n) {
      TANDEM_RETURN_IF_ERROR(cursor->Entry(&t));
      if (t.has_state) truth_digest.Add(AuditHash(t.state, TruthContent(t), true));
      TANDEM_RETURN_IF_ERROR(cursor->Next());
    }
    const std::string end = cursor->Valid("") ? std::string(cursor->id()) : std::string();
    StoreDigest store_digest;
    TANDEM_RETURN_IF_ERROR(target_.store->ScanEntities(
        begin, end, [&](const EntityState& s) -> Result<bool> {
          store_digest.Add(AuditHash(s, s.content, s.indexed.value_or(true)));
          return true;
        }));
    ++report_.ranges;
    if (store_digest == truth_digest) {
      ++report_.ranges_equal;
      report_.checked += store_digest.entities;
    } else {
      TANDEM_RETURN_IF_ERROR(DiffRange(begin, end));
    }
    if (end.empty()) return Status::OK();
    begin = end;
  }
}

}  // namespace

Status CompareStore(Log& log, TruthDb& truth, const AuditTarget& target, size_t index,
                    const EndMap& ends, const AuditOptions& options, StoreAuditReport* report) {
  StoreComparer c(log, truth, target, index, ends, options, report);
  return c.Run();
}

}  // namespace tandem::audit_internal
