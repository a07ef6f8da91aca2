// The built-in network_risk enricher (banking schema): a risk score from the
// entity's graph context. The formula is in README.md ("network_risk").
#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>

#include "tandem/enrich.h"
#include "tandem/graph.h"

namespace tandem {
namespace {

using json = nlohmann::json;

// Weights of the factors (they sum to 1).
constexpr double kSanctionWeight = 0.6;
constexpr double kVolumeWeight = 0.15;
constexpr double kCountWeight = 0.1;
constexpr double kFanWeight = 0.15;
// Sanction factor by the hops between the entity and a listed entity.
constexpr double kSanctionByHops[] = {1.0, 0.6, 0.3};

double Round4(double x) { return std::round(x * 10'000) / 10'000; }

struct Flows {
  uint64_t count = 0;
  double volume = 0;
  std::set<std::string> in, out;  // counterparty accounts
};

class NetworkRiskEnricher final : public Enricher {
 public:
  NetworkRiskEnricher(GraphStore& graph, const NetworkRiskOptions& o) : graph_(graph), o_(o) {}

  std::string_view kind() const override { return "network_risk"; }
  const std::vector<std::string>& fields() const override { return fields_; }

  Result<std::string> Enrich(const EnrichRequest& r) override {
    TANDEM_RETURN_IF_ERROR(WaitForGraph(r.source));
    Result<Subgraph> sub = graph_.Expand(r.entity_id, ExpandOptions{Direction::kBoth, {}, 2,
                                                                   o_.max_vertices});
    if (!sub.ok()) {
      if (sub.status().IsNotFound()) {
        return Status::Busy("graph: vertex " + r.entity_id + " not there yet");
      }
      return sub.status();
    }
    // Sanctions: the nearest listed person/company within 2 hops.
    std::optional<uint32_t> nearest;
    uint64_t listed = 0;
    for (const Subgraph::Entry& e : sub->vertices) {
      if (e.vertex.label != "person" && e.vertex.label != "company") continue;
      TANDEM_ASSIGN_OR_RETURN(std::vector<Edge> lists,
                              graph_.Neighbors(e.vertex.id, Direction::kIn, "lists", 1));
      if (lists.empty()) continue;
      ++listed;
      nearest = std::min(nearest.value_or(e.depth), e.depth);
    }
    TANDEM_ASSIGN_OR_RETURN(Flows flows, AccountFlows(r.entity_id));
    const double sanction = nearest.has_value() ? kSanctionByHops[std::min<uint32_t>(*nearest, 2)] : 0;
    const double volume =
        std::min(1.0, std::log1p(flows.volume) / std::log1p(std::max(1.0, o_.volume_saturation)));
    const double count =
        std::min(1.0, static_cast<double>(flows.count) / std::max(1.0, o_.count_saturation));
    const double fan = std::min(1.0, static_cast<double>(flows.in.size() + flows.out.size()) /
                                         std::max(1.0, o_.fan_saturation));
    const double score =
        std::min(1.0, kSanctionWeight * sanction + kVolumeWeight * volume + kCountWeight * count +
                          kFanWeight * fan);
    json factors = {
        {"sanctions", {{"listed_within_2_hops", listed},
                       {"nearest_hops", nearest.has_value() ? json(*nearest) : json(nullptr)},
                       {"contribution", Round4(kSanctionWeight * sanction)}}},
        {"transaction_volume", {{"value", Round4(flows.volume)},
                                {"contribution", Round4(kVolumeWeight * volume)}}},
        {"transaction_count", {{"value", flows.count},
                               {"contribution", Round4(kCountWeight * count)}}},
        {"fan", {{"in", flows.in.size()},
                 {"out", flows.out.size()},
                 {"contribution", Round4(kFanWeight * fan)}}},
        {"truncated", sub->truncated}};
    return json{{"network_risk", Round4(score)}, {"network_risk_factors", std::move(factors)}}.dump();
  }

 private:
  // Busy until the graph store recorded the job's source position.
  Status WaitForGraph(const LogPosition& source) {
    if (source.topic.empty()) return Status::OK();
    TANDEM_ASSIGN_OR_RETURN(PositionMap positions, graph_.Positions());
    auto it = positions.find(TopicPartition{source.topic, source.partition});
    // A stage topic ("graph.applied", tandem/stage.h) is written after the
    // graph leg applied the event; the graph store never reads it.
    if (it == positions.end() && source.topic.find('.') != std::string::npos) {
      return Status::OK();
    }
    if (it == positions.end() || it->second < source.offset) {
      return Status::Busy("graph: has not applied " + source.topic + "/" +
                          std::to_string(source.partition) + "@" + std::to_string(source.offset) +
                          " yet");
    }
    return Status::OK();
  }

  // Transactions of the entity's accounts (owns → account; account -sent->
  // transaction; transaction -received_by-> account).
  Result<Flows> AccountFlows(const std::string& id) {
    Flows f;
    TANDEM_ASSIGN_OR_RETURN(std::vector<Edge> owns,
                            graph_.Neighbors(id, Direction::kOut, "owns", o_.max_edges));
    std::set<std::string> own;
    for (const Edge& e : owns) own.insert(e.to);
    std::set<std::string> seen;
    for (const std::string& account : own) {
      TANDEM_ASSIGN_OR_RETURN(std::vector<Edge> sent,
                              graph_.Neighbors(account, Direction::kOut, "sent", o_.max_edges));
      TANDEM_ASSIGN_OR_RETURN(std::vector<Edge> received, graph_.Neighbors(
                                  account, Direction::kIn, "received_by", o_.max_edges));
      for (const Edge& e : sent) TANDEM_RETURN_IF_ERROR(Count(e.to, "to_account", own, &seen, &f.out, &f));
      for (const Edge& e : received) {
        TANDEM_RETURN_IF_ERROR(Count(e.from, "from_account", own, &seen, &f.in, &f));
      }
    }
    return f;
  }

  Status Count(const std::string& tx, const char* other_field, const std::set<std::string>& own,
               std::set<std::string>* seen, std::set<std::string>* counterparties, Flows* f) {
    if (!seen->insert(tx).second) return Status::OK();
    Result<Vertex> v = graph_.GetVertex(tx);
    if (!v.ok()) return v.status().IsNotFound() ? Status::OK() : v.status();
    if (v->placeholder) return Status::OK();
    const json p = json::parse(v->properties, nullptr, /*allow_exceptions=*/false);
    if (!p.is_object()) return Status::OK();
    ++f->count;
    if (auto a = p.find("amount"); a != p.end() && a->is_number()) {
      f->volume += std::abs(a->get<double>());
    }
    if (auto o = p.find(other_field); o != p.end() && o->is_string()) {
      const std::string other = o->get<std::string>();
      if (!own.contains(other)) counterparties->insert(other);
    }
    return Status::OK();
  }

  GraphStore& graph_;
  const NetworkRiskOptions o_;
  const std::vector<std::string> fields_ = {"network_risk", "network_risk_factors"};
};

}  // namespace

Result<std::unique_ptr<Enricher>> NewNetworkRiskEnricher(GraphStore& graph,
                                                         const NetworkRiskOptions& o) {
  if (o.max_vertices == 0) return Status::InvalidArgument("max_vertices: must be > 0");
  if (o.max_edges == 0) return Status::InvalidArgument("max_edges: must be > 0");
  return std::unique_ptr<Enricher>(std::make_unique<NetworkRiskEnricher>(graph, o));
}

}  // namespace tandem
