// Folding the log into the truth: every record of every entity topic, in
// offset order per partition, decided by store_internal::PlanEvent — the
// same code every store runs — with tombstones kept forever (the truth never
// forgets a delete; a store whose tombstone expired holds nothing, which
// counts as agreeing with a tombstone).

#include <utility>

#include "audit/audit_internal.h"
#include "store/entity_apply.h"

namespace tandem::audit_internal {
namespace {

bool IsInternalTopic(std::string_view topic) { return topic.find('.') != std::string_view::npos; }

// Reads [start, end) of one partition, calling fn for each record.
template <typename Fn>
Status ReadPartition(Log& log, const std::string& topic, uint32_t partition, uint64_t end,
                     size_t read_bytes, Fn&& fn) {
  uint64_t from = 0;
  std::vector<Record> records;
  while (from < end) {
    records.clear();
    TANDEM_RETURN_IF_ERROR(log.Read(topic, partition, from, read_bytes, &records));
    if (records.empty()) break;
    for (Record& r : records) {
      if (r.offset >= end) return Status::OK();
      TANDEM_RETURN_IF_ERROR(fn(r));
      from = r.offset + 1;
    }
  }
  return Status::OK();
}

// The truth after `e` (already decided applicable by `plan`).
void ApplyToTruth(const StoreEvent& e, store_internal::EventPlan& plan,
                  std::span<const AuditTarget> targets, TruthEntry* entry) {
  const bool was_live = entry->has_state && !entry->state.marker.deleted;
  entry->has_state = true;
  entry->state.entity_id = e.event.entity_id;
  entry->state.entity_type = e.event.entity_type;
  entry->state.marker = std::move(plan.marker);
  entry->state.marker.applied_at_us = 0;
  entry->state.payload =
      entry->state.marker.deleted ? std::string("{}") : store_internal::ToCanonicalJson(plan.payload);
  entry->contents.resize(targets.size());
  for (size_t i = 0; i < targets.size(); ++i) {
    std::optional<std::string> previous = was_live ? entry->contents[i] : std::nullopt;
    entry->contents[i] =
        entry->state.marker.deleted
            ? std::nullopt
            : targets[i].store->NextContent(e, entry->state.payload, previous);
  }
}

}  // namespace

Result<EndMap> EntityTopicEnds(Log& log) {
  EndMap ends;
  for (const std::string& topic : log.ListTopics()) {
    if (IsInternalTopic(topic)) continue;
    TANDEM_ASSIGN_OR_RETURN(TopicStats stats, log.Stats(topic));
    for (const PartitionStats& p : stats.partitions) ends[{topic, p.partition}] = p.end_offset;
  }
  return ends;
}

Status FoldLog(Log& log, const EndMap& ends, std::span<const AuditTarget> targets,
               const AuditOptions& options, TruthDb& truth, AuditReport* report) {
  EventParser parser(options.clock != nullptr ? *options.clock : SystemClock(), options.parser);
  std::optional<TruthEntry> entry;
  for (const auto& tp_end : ends) {
    // Not a structured binding: clang 14 (the fuzz build) cannot capture one.
    const auto& tp = tp_end.first;
    const auto& end = tp_end.second;
    auto fold = [&](Record& r) -> Status {
      ++report->records_read;
      Result<EntityEvent> parsed = parser.Parse(r.value);
      if (!parsed.ok() || parsed->entity_id != r.key) {
        ++report->undecodable;  // the legs dead-letter it as undecodable
        return Status::OK();
      }
      StoreEvent e{std::move(parsed).value(), LogPosition{tp.topic, tp.partition, r.offset}};
      TANDEM_RETURN_IF_ERROR(truth.Get(e.event.entity_id, &entry));
      if (!entry.has_value()) entry.emplace();
      const bool had_state = entry->has_state;
      TANDEM_ASSIGN_OR_RETURN(
          store_internal::EventPlan plan,
          store_internal::PlanEvent(e, had_state ? &entry->state : nullptr, 0, -1));
      if (plan.code == ApplyCode::kApplied) {
        if (!had_state) ++report->truth_entities;
        ApplyToTruth(e, plan, targets, &*entry);
      }
      entry->last_seen = e.position;
      return truth.Put(e.event.entity_id, *entry);
    };
    TANDEM_RETURN_IF_ERROR(
        ReadPartition(log, tp.topic, tp.partition, end, options.read_bytes, fold)
            .WithContext("audit: reading " + tp.topic + "/" + std::to_string(tp.partition)));
  }
  return Status::OK();
}

Status ReadDeadLetters(Log& log, const AuditOptions& options, TruthDb& truth,
                       AuditReport* report) {
  for (const std::string& topic : log.ListTopics()) {
    if (!topic.ends_with(".dlq")) continue;
    TANDEM_ASSIGN_OR_RETURN(TopicStats stats, log.Stats(topic));
    for (const PartitionStats& p : stats.partitions) {
      auto note = [&](Record& r) -> Status {
        ++report->dead_letters;
        for (const Header& h : r.headers) {
          if (h.key == "dlq.subscription") return truth.AddDeadLetter(h.value, r.key);
        }
        return Status::OK();
      };
      TANDEM_RETURN_IF_ERROR(
          ReadPartition(log, topic, p.partition, p.end_offset, options.read_bytes, note));
    }
  }
  return Status::OK();
}

}  // namespace tandem::audit_internal
