// POST /v1/enrich/backfill (admin): one page of an enrichment backfill
// (tandem/enrich.h RunBackfillPage), driven page by page by
// `tandem enrich backfill`. Parameters (query string):
//   type      required, the entity type
//   rate      jobs queued per second (default 100; > 0)
//   limit     entities needing work per page (default: the rate, at least 1,
//             at most 10,000 — about one second of work per page)
//   after     resume after this entity_id (the previous page's next_after)
//   enricher  only this enricher (default: every enricher of the type)
// Source of the entities: the graph store, else the vector store. Answer:
// {"type","scanned","matched","already_enriched","queued","already_queued",
//  "deleted","nothing_to_do","next_after","done","total"} where total is the
// type's vertex count in the graph store (-1 when unknown).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <vector>

#include "server/context.h"

namespace tandem::server {
namespace {

constexpr size_t kMaxPage = 10'000;

Result<double> RateParam(const httplib::Request& req) {
  if (!req.has_param("rate")) return 100.0;
  const std::string v = req.get_param_value("rate");
  double rate = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), rate);
  if (ec != std::errc() || end != v.data() + v.size() || !(rate > 0) || !std::isfinite(rate)) {
    return Status::InvalidArgument("rate: must be a number > 0 (per second), got \"" + v + "\"");
  }
  return rate;
}

Result<std::vector<EnrichLeg*>> LegsFor(Context& ctx, const std::string& enricher) {
  if (ctx.enrich_legs.empty()) {
    return Status::FailedPrecondition("enrichment: no enrichment leg runs (enrichment.enabled)");
  }
  if (enricher.empty()) return ctx.enrich_legs;
  for (EnrichLeg* leg : ctx.enrich_legs) {
    if (leg->enrich_options().name == enricher) return std::vector<EnrichLeg*>{leg};
  }
  return Status::NotFound("enricher: no enricher named \"" + enricher + "\"");
}

Json ReportJson(const std::string& type, const BackfillReport& r, int64_t total) {
  return Json{{"type", type},
              {"scanned", r.scanned},
              {"matched", r.matched},
              {"already_enriched", r.already_enriched},
              {"queued", r.queued},
              {"already_queued", r.already_queued},
              {"deleted", r.deleted},
              {"nothing_to_do", r.nothing_to_do},
              {"next_after", r.next_after},
              {"done", r.done},
              {"total", total}};
}

void Backfill(Context& ctx, const httplib::Request& req, httplib::Response& res) {
  if (!CheckAuth(ctx, req, res)) return;
  BackfillRequest r;
  r.type = req.get_param_value("type");
  r.after = req.get_param_value("after");
  Result<double> rate = RateParam(req);
  if (!rate.ok()) return SendStatus(res, rate.status());
  r.rate_per_second = *rate;
  const auto default_limit = static_cast<int64_t>(std::clamp(*rate, 1.0, double{kMaxPage}));
  Result<int64_t> limit = IntParam(req, "limit", default_limit, 1, kMaxPage);
  if (!limit.ok()) return SendStatus(res, limit.status());
  r.limit = static_cast<size_t>(*limit);
  Result<std::vector<EnrichLeg*>> legs = LegsFor(ctx, req.get_param_value("enricher"));
  if (!legs.ok()) return SendStatus(res, legs.status());
  Store* source = ctx.graph ? static_cast<Store*>(ctx.graph.get()) : ctx.vector.get();
  if (source == nullptr) {
    return SendStatus(res, Status::FailedPrecondition("backfill: needs the graph or vector store"));
  }
  Result<BackfillReport> report = RunBackfillPage(*source, *legs, r);
  if (!report.ok()) return SendStatus(res, report.status());
  int64_t total = -1;
  if (ctx.graph) {
    Result<std::map<std::string, uint64_t>> counts = ctx.graph->CountByLabel();
    if (counts.ok()) {
      auto it = counts->find(r.type);
      total = it != counts->end() ? static_cast<int64_t>(it->second) : 0;
    }
  }
  SendJson(res, 200, ReportJson(r.type, *report, total));
}

}  // namespace

void RegisterEnrichRoutes(Context& ctx, const Register& reg) {
  reg("POST", "/v1/enrich/backfill", "/v1/enrich/backfill",
      [&ctx](const httplib::Request& req, httplib::Response& res) { Backfill(ctx, req, res); });
}

}  // namespace tandem::server
