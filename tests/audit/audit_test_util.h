// The audit tests' world: a log (memory file system) with the banking sample,
// a graph store and a vector store in temp dirs, both fed by their legs.
//
// Thread safety: test helpers; one thread.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "../leg/leg_test_util.h"
#include "tandem/audit.h"
#include "tandem/embed.h"
#include "tandem/graph.h"
#include "tandem/vector.h"

namespace tandem::audit_test {

using leg_test::LegEnv;
using store_test::TempDir;

inline std::unique_ptr<Embedder> SmallHashEmbedder() {
  HashEmbedderOptions o;
  o.dimension = 32;
  Result<std::unique_ptr<Embedder>> e = NewHashEmbedder(o);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return e.ok() ? std::move(e).value() : nullptr;
}

// An event built by hand (for writes that bypass the log).
inline StoreEvent Fake(EventType type, std::string entity_type, std::string id,
                       std::string payload, uint64_t offset) {
  StoreEvent e;
  e.event.event_type = type;
  e.event.entity_type = std::move(entity_type);
  e.event.entity_id = std::move(id);
  e.event.payload = std::move(payload);
  e.event.event_id = "bypass-" + std::to_string(offset);
  // The entity's own partition: the store orders unversioned events only
  // within one (topic, partition).
  e.position = LogPosition{e.event.entity_type,
                           PartitionForKey(e.event.entity_id, leg_test::kPartitions), offset};
  return e;
}

class AuditWorld {
 public:
  AuditWorld() : embedder_(SmallHashEmbedder()) {
    env_.OpenLog();
    graph_ = env_.OpenGraph("graph");
    OpenVector();
  }
  ~AuditWorld() { StopLegs(); }

  void OpenVector() {
    VectorStoreOptions o;
    o.dir = dir_.path() + "/vector";
    o.embedder = embedder_.get();
    o.sync = false;
    Result<std::unique_ptr<VectorStore>> v = OpenVectorStore(o);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    vector_ = std::move(v).value();
  }

  void StartLegs() {
    Result<std::unique_ptr<Leg>> g =
        MakeGraphLeg(env_.log(), *graph_, leg_test::TestLegOptions("graph"));
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    graph_leg_ = std::move(g).value();
    Result<std::unique_ptr<Leg>> v =
        MakeVectorLeg(env_.log(), *vector_, leg_test::TestLegOptions("vector"));
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    vector_leg_ = std::move(v).value();
    STORE_ASSERT_OK(graph_leg_->Start());
    STORE_ASSERT_OK(vector_leg_->Start());
  }
  void CatchUp() {
    STORE_ASSERT_OK(graph_leg_->WaitForCaughtUp(leg_test::kWaitUs));
    STORE_ASSERT_OK(vector_leg_->WaitForCaughtUp(leg_test::kWaitUs));
  }
  void StopLegs() {
    if (graph_leg_ != nullptr) (void)graph_leg_->Stop();
    if (vector_leg_ != nullptr) (void)vector_leg_->Stop();
  }

  AuditOptions Options(bool repair = false) const {
    AuditOptions o;
    o.temp_dir = dir_.path() + "/tmp";
    o.range_entities = 8;
    o.repair = repair;
    return o;
  }
  AuditReport Audit(const AuditOptions& o) {
    AuditTarget targets[] = {{"graph", graph_.get(), "graph", graph_leg_.get()},
                             {"vector", vector_.get(), "vector", vector_leg_.get()}};
    Result<AuditReport> r = RunAudit(env_.log(), targets, o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : AuditReport{};
  }
  AuditReport Audit(bool repair = false) { return Audit(Options(repair)); }

  // Closes the graph store (the legs must be stopped) and opens `dir` in its place.
  void ReopenGraph(const std::string& dir) {
    graph_leg_.reset();
    graph_.reset();
    GraphStoreOptions o;
    o.dir = dir;
    Result<std::unique_ptr<GraphStore>> g = OpenGraphStore(o);
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    graph_ = std::move(g).value();
  }
  void CloseGraph() {
    graph_leg_.reset();
    graph_.reset();
  }
  Leg& graph_leg() { return *graph_leg_; }

  LegEnv& env() { return env_; }
  GraphStore& graph() { return *graph_; }
  VectorStore& vector() { return *vector_; }
  const std::string& dir() const { return dir_.path(); }

 private:
  TempDir dir_;
  LegEnv env_;
  std::unique_ptr<Embedder> embedder_;
  std::unique_ptr<GraphStore> graph_;
  std::unique_ptr<VectorStore> vector_;
  std::unique_ptr<Leg> graph_leg_;
  std::unique_ptr<Leg> vector_leg_;
};

}  // namespace tandem::audit_test
