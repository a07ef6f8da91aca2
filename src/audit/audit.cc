// RunAudit: the store positions, the log's bounds, the truth, then each
// store compared (and repaired) in turn; and the report's JSON and text.

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <utility>

#include "audit/audit_internal.h"
#include "common/hash.h"

namespace tandem {
namespace {

using audit_internal::EndMap;
using audit_internal::TruthDb;

Status ValidateOptions(std::span<const AuditTarget> targets, const AuditOptions& o) {
  if (o.temp_dir.empty()) return Status::InvalidArgument("audit: temp_dir is required");
  if (o.memory_budget_bytes < (size_t{1} << 20)) {
    return Status::InvalidArgument("audit: memory_budget_bytes must be at least 1 MiB");
  }
  if (o.range_entities == 0) return Status::InvalidArgument("audit: range_entities must be >= 1");
  if (o.read_bytes == 0) return Status::InvalidArgument("audit: read_bytes must be >= 1");
  for (const AuditTarget& t : targets) {
    if (t.store == nullptr) {
      return Status::InvalidArgument("audit: target \"" + t.name + "\" has no store");
    }
  }
  return Status::OK();
}

// A fresh name under temp_dir: several audits may share it.
std::string ScratchDir(const std::string& temp_dir) {
  const auto now = std::chrono::system_clock::now().time_since_epoch().count();
  static std::atomic<uint64_t> seq{0};
  return temp_dir + "/audit-" + std::to_string(now) + "-" + std::to_string(seq.fetch_add(1));
}

}  // namespace

bool AuditReport::clean() const {
  for (const StoreAuditReport& s : stores) {
    if (!s.clean()) return false;
  }
  return true;
}

Result<AuditReport> RunAudit(Log& log, std::span<const AuditTarget> targets,
                             const AuditOptions& options) {
  TANDEM_RETURN_IF_ERROR(ValidateOptions(targets, options));
  const auto started = std::chrono::steady_clock::now();
  AuditReport report;
  report.repair = options.repair;
  // Positions before the log's ends: everything a store recorded is below them.
  for (const AuditTarget& t : targets) {
    StoreAuditReport& s = report.stores.emplace_back();
    s.name = t.name;
    TANDEM_ASSIGN_OR_RETURN(s.positions, t.store->Positions());
  }
  TANDEM_ASSIGN_OR_RETURN(EndMap ends, audit_internal::EntityTopicEnds(log));
  TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<TruthDb> truth,
                          TruthDb::Create(ScratchDir(options.temp_dir), options.memory_budget_bytes));
  TANDEM_RETURN_IF_ERROR(audit_internal::FoldLog(log, ends, targets, options, *truth, &report));
  TANDEM_RETURN_IF_ERROR(audit_internal::ReadDeadLetters(log, options, *truth, &report));
  for (size_t i = 0; i < targets.size(); ++i) {
    TANDEM_RETURN_IF_ERROR(
        audit_internal::CompareStore(log, *truth, targets[i], i, ends, options, &report.stores[i])
            .WithContext("audit of " + targets[i].name));
    if (targets[i].runtime != nullptr) {
      const LegStats st = targets[i].runtime->stats();
      report.stores[i].identity =
          LegIdentity{st.acknowledged, st.applied, st.skipped(), st.dead_lettered()};
    }
  }
  report.duration_us = std::chrono::duration_cast<std::chrono::microseconds>(
                           std::chrono::steady_clock::now() - started)
                           .count();
  return report;
}

std::string AuditReportJson(const AuditReport& r) {
  using nlohmann::json;
  json stores = json::array();
  for (const StoreAuditReport& s : r.stores) {
    json positions = json::array();
    for (const auto& [tp, offset] : s.positions) {
      positions.push_back({{"topic", tp.topic}, {"partition", tp.partition}, {"offset", offset}});
    }
    json j = {{"name", s.name},
              {"clean", s.clean()},
              {"checked", s.checked},
              {"missing", s.missing},
              {"extra", s.extra},
              {"stale", s.stale},
              {"unindexed", s.unindexed},
              {"dead_lettered", s.dead_lettered},
              {"pending", s.pending},
              {"ids",
               {{"missing", s.missing_ids},
                {"extra", s.extra_ids},
                {"stale", s.stale_ids},
                {"unindexed", s.unindexed_ids},
                {"dead_lettered", s.dead_lettered_ids},
                {"pending", s.pending_ids}}},
              {"ranges", s.ranges},
              {"ranges_equal", s.ranges_equal},
              {"repaired", s.repaired},
              {"repair_skipped_changed", s.repair_skipped_changed},
              {"repair_failed", s.repair_failed},
              {"repair_error", s.repair_error},
              {"positions", positions}};
    if (s.identity.has_value()) {
      j["identity"] = {{"acknowledged", s.identity->acknowledged},
                       {"applied", s.identity->applied},
                       {"skipped", s.identity->skipped},
                       {"dead_lettered", s.identity->dead_lettered},
                       {"holds", s.identity->holds()}};
    }
    stores.push_back(std::move(j));
  }
  json out = {{"clean", r.clean()},
              {"repair", r.repair},
              {"records_read", r.records_read},
              {"undecodable", r.undecodable},
              {"truth_entities", r.truth_entities},
              {"dead_letters", r.dead_letters},
              {"duration_ms", static_cast<double>(r.duration_us) / 1000.0},
              {"stores", stores}};
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string AuditReportText(const AuditReport& r) {
  std::string out = "audit: " + std::to_string(r.records_read) + " records (" +
                    std::to_string(r.undecodable) + " undecodable), " +
                    std::to_string(r.truth_entities) + " entities in the log, " +
                    std::to_string(r.dead_letters) + " dead letters\n";
  auto ids = [](const std::vector<std::string>& v) {
    std::string s;
    for (const std::string& id : v) s += (s.empty() ? "" : ", ") + id;
    return s;
  };
  for (const StoreAuditReport& s : r.stores) {
    out += s.name + ": " + (s.clean() ? "clean" : "DIVERGENT") + " — checked " +
           std::to_string(s.checked) + ", missing " + std::to_string(s.missing) + ", extra " +
           std::to_string(s.extra) + ", stale " + std::to_string(s.stale) + ", unindexed " +
           std::to_string(s.unindexed) + ", dead-lettered " + std::to_string(s.dead_lettered) +
           ", pending " + std::to_string(s.pending) + " (" + std::to_string(s.ranges_equal) + "/" +
           std::to_string(s.ranges) + " ranges equal by digest)\n";
    const std::pair<const char*, const std::vector<std::string>*> kinds[] = {
        {"missing", &s.missing_ids},     {"extra", &s.extra_ids},
        {"stale", &s.stale_ids},         {"unindexed", &s.unindexed_ids},
        {"dead-lettered", &s.dead_lettered_ids}, {"pending", &s.pending_ids}};
    for (const auto& [name, list] : kinds) {
      if (!list->empty()) out += std::string("  ") + name + ": " + ids(*list) + "\n";
    }
    if (r.repair) {
      out += "  repaired " + std::to_string(s.repaired) + ", skipped (changed meanwhile) " +
             std::to_string(s.repair_skipped_changed) + ", refused " +
             std::to_string(s.repair_failed) +
             (s.repair_error.empty() ? "" : " (" + s.repair_error + ")") + "\n";
    }
    if (s.identity.has_value()) {
      const LegIdentity& i = *s.identity;
      out += "  leg: acknowledged " + std::to_string(i.acknowledged) + " = applied " +
             std::to_string(i.applied) + " + skipped " + std::to_string(i.skipped) +
             " + dead-lettered " + std::to_string(i.dead_lettered) + ": " +
             (i.holds() ? "holds" : "DOES NOT HOLD") + "\n";
    }
  }
  return out;
}

}  // namespace tandem
