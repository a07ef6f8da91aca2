// POST /v1/audit?repair=false&max_ids=100 (admin): tandem audit against the
// live log and stores while the legs run (tandem/audit.h). The body is the
// report (AuditReportJson), 200 whether clean or not; "clean" says which.
// The truth database goes to <data_dir>/audit-tmp and is removed afterwards.
#include <vector>

#include "server/context.h"
#include "tandem/audit.h"

namespace tandem::server {
namespace {

// The leg feeding the store named `store` ("graph", "vector"), or nullptr.
const Leg* LegOf(const Context& ctx, std::string_view store) {
  for (const LegEntry& e : ctx.legs) {
    if (e.store == store) return e.leg.get();
  }
  return nullptr;
}

void AddTarget(const Context& ctx, const std::string& name, Store* store,
               const std::string& default_leg, std::vector<AuditTarget>* out) {
  if (store == nullptr) return;
  const Leg* leg = LegOf(ctx, name);
  out->push_back(AuditTarget{name, store, leg != nullptr ? leg->options().name : default_leg, leg});
}

}  // namespace

void RegisterAuditRoutes(Context& ctx, const Register& reg) {
  reg("POST", "/v1/audit", "/v1/audit", [&ctx](const httplib::Request& req,
                                               httplib::Response& res) {
    if (!CheckAuth(ctx, req, res)) return;
    Result<bool> repair = BoolParam(req, "repair", false);
    if (!repair.ok()) return SendStatus(res, repair.status());
    Result<int64_t> max_ids = IntParam(req, "max_ids", 100, 0, 1'000'000);
    if (!max_ids.ok()) return SendStatus(res, max_ids.status());
    AuditOptions o;
    o.temp_dir = ctx.config.data_dir + "/audit-tmp";
    o.repair = *repair;
    o.max_ids = static_cast<size_t>(*max_ids);
    o.parser = ctx.config.graph.leg.parser;
    std::vector<AuditTarget> targets;
    AddTarget(ctx, "graph", ctx.graph.get(), "graph", &targets);
    AddTarget(ctx, "vector", ctx.vector.get(), "vector", &targets);
    Result<AuditReport> report = RunAudit(*ctx.log, targets, o);
    if (!report.ok()) return SendStatus(res, report.status());
    res.status = 200;
    res.set_content(AuditReportJson(*report), "application/json");
  });
}

}  // namespace tandem::server
