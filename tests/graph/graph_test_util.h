// Helpers for the graph store tests: a store in a fresh temp dir with a
// manual clock, edge listing, and a full dump of the graph for comparisons.
//
// Thread safety: test helpers; use from one thread.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "../store/store_test_util.h"
#include "tandem/graph.h"

// Another backend's tests compile these fixtures with
// -DTANDEM_GRAPH_TEST_BACKEND="header.h", a header defining
// graph_test::OpenTestGraphStore for that backend (tests/pggraph).
#ifdef TANDEM_GRAPH_TEST_BACKEND
#include TANDEM_GRAPH_TEST_BACKEND
#else
namespace tandem::graph_test {
inline Result<std::unique_ptr<GraphStore>> OpenTestGraphStore(const GraphStoreOptions& o) {
  return OpenGraphStore(o);
}
}  // namespace tandem::graph_test
#endif

namespace tandem::graph_test {

using store_test::Ev;
using store_test::TempDir;

using EdgeSet = std::set<std::tuple<std::string, std::string, std::string>>;

inline EdgeSet ToSet(const std::vector<Edge>& edges) {
  EdgeSet out;
  for (const Edge& e : edges) out.emplace(e.from, e.label, e.to);
  return out;
}

// Every vertex (by label) and every edge (from out-edge lists) of `g`.
struct GraphDump {
  std::map<std::string, uint64_t> counts;
  std::set<std::pair<std::string, std::string>> vertices;  // (label, id)
  std::map<std::tuple<std::string, std::string, std::string>, uint32_t> edges;
  friend bool operator==(const GraphDump&, const GraphDump&) = default;
};

inline Result<GraphDump> Dump(GraphStore& g) {
  GraphDump d;
  TANDEM_ASSIGN_OR_RETURN(d.counts, g.CountByLabel());
  for (const auto& [label, n] : d.counts) {
    TANDEM_ASSIGN_OR_RETURN(std::vector<std::string> ids, g.VerticesWithLabel(label, n + 1));
    if (ids.size() != n) return Status::Corruption("label count mismatch for " + label);
    for (const std::string& id : ids) {
      d.vertices.emplace(label, id);
      TANDEM_ASSIGN_OR_RETURN(std::vector<Edge> out, g.Neighbors(id, Direction::kOut, "", 1 << 20));
      for (const Edge& e : out) d.edges[{e.from, e.label, e.to}] = e.multiplicity;
    }
  }
  return d;
}

class GraphFixture : public ::testing::Test {
 protected:
  void SetUp() override { Open(BankingSchema()); }
  void TearDown() override {
    if (store_ != nullptr) STORE_EXPECT_OK(store_->CheckInvariants());
  }

  // Opens (or reopens) the store in <temp dir>/<name>.
  void Open(const GraphSchema& schema, const std::string& name = "graph") {
    store_.reset();
    GraphStoreOptions o;
    o.dir = dir_.path() + "/" + name;
    o.schema = schema;
    o.clock = &clock_;
    o.tombstone_retention_us = store_test::kRetentionUs;
    auto s = OpenTestGraphStore(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }

  std::vector<ApplyCode> Apply(const std::vector<StoreEvent>& events) {
    auto r = store_->ApplyBatch(events);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return {};
    for (const ApplyOutcome& o : r->outcomes) {
      EXPECT_NE(o.code, ApplyCode::kPermanentError) << o.reason;
    }
    STORE_EXPECT_OK(store_->CheckInvariants());
    return store_test::Codes(*r);
  }

  EdgeSet Edges(const std::string& id, Direction d, const std::string& label = "") {
    auto r = store_->Neighbors(id, d, label, 1000);
    EXPECT_TRUE(r.ok()) << id << ": " << r.status().ToString();
    return r.ok() ? ToSet(*r) : EdgeSet{};
  }

  std::optional<Vertex> V(const std::string& id) {
    auto r = store_->GetVertex(id);
    if (r.status().IsNotFound()) return std::nullopt;
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::optional<Vertex>(*r) : std::nullopt;
  }

  TempDir dir_;
  ManualClock clock_;
  std::unique_ptr<GraphStore> store_;
};

}  // namespace tandem::graph_test
