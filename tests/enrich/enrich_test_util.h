// Helpers for the enrichment tests: scriptable in-process enrichers (a latch
// to hold calls, injected outages and failures, progress reports), a graph
// store and a vector store with their legs over one log, and readers of the
// records the enrichment leg writes.
//
// Thread safety: the enrichers are called from the leg's workers; their knobs
// are atomics or guarded by a mutex.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "../leg/leg_test_util.h"
#include "store/json_value.h"
#include "tandem/embed.h"
#include "tandem/enrich.h"
#include "tandem/graph.h"
#include "tandem/stage.h"
#include "tandem/vector.h"

namespace tandem::enrich_test {

using leg_test::Eventually;
using leg_test::HeaderOf;
using leg_test::kWaitUs;
using leg_test::LegEnv;
using leg_test::TestLegOptions;
using store_test::TempDir;

// Returns {"name_length": <bytes of payload.name>} for each entity. Knobs:
// hold (calls wait for Release), down (Unavailable), fail_ids (permanent
// error for those entities), fail_first (the first n calls of every entity
// fail transiently), progress (two progress reports per call).
class ScriptedEnricher final : public Enricher {
 public:
  std::atomic<bool> hold{false};
  std::atomic<bool> down{false};
  std::atomic<int> fail_first{0};
  std::atomic<bool> progress{false};

  std::string_view kind() const override { return "scripted"; }
  const std::vector<std::string>& fields() const override { return fields_; }

  Result<std::string> Enrich(const EnrichRequest& r) override {
    calls_.fetch_add(1);
    {
      std::unique_lock l(mu_);
      ++waiting_;
      cv_.notify_all();
      cv_.wait_for(l, std::chrono::seconds(60), [&] { return !hold.load(); });
      --waiting_;
      if (++per_entity_[r.entity_id] <= fail_first.load()) {
        return Status::Unavailable("scripted: transient failure");
      }
      if (fail_ids_.contains(r.entity_id)) return Status::InvalidArgument("scripted: refused");
    }
    if (down.load()) return Status::Unavailable("scripted: down");
    if (progress.load()) {
      r.progress(0.5, "half way");
      r.progress(1.0, "done");
    }
    Result<store_internal::JsonValue> doc = store_internal::ParseJson(r.payload);
    size_t n = 0;
    if (doc.ok() && doc->Find("name") != nullptr) n = doc->Find("name")->text.size();
    return "{\"name_length\":" + std::to_string(n) + "}";
  }

  void Release() {
    std::lock_guard l(mu_);
    hold = false;
    cv_.notify_all();
  }
  void FailPermanently(const std::string& id) {
    std::lock_guard l(mu_);
    fail_ids_.insert(id);
  }
  // Calls currently waiting on the latch.
  int waiting() {
    std::lock_guard l(mu_);
    return waiting_;
  }
  int calls() const { return calls_.load(); }

 private:
  const std::vector<std::string> fields_ = {"name_length"};
  std::atomic<int> calls_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  int waiting_ = 0;                           // GUARDED_BY(mu_)
  std::map<std::string, int> per_entity_;     // GUARDED_BY(mu_)
  std::set<std::string> fail_ids_;            // GUARDED_BY(mu_)
};

inline EntityEvent Person(const std::string& id, const std::string& name) {
  EntityEvent e;
  e.event_id = "evt-" + id + "-" + name;
  e.event_type = EventType::kUpsert;
  e.entity_type = "person";
  e.entity_id = id;
  e.payload = "{\"name\":\"" + name + "\"}";
  e.timestamp = "2024-03-01T00:00:00Z";
  return e;
}

inline std::vector<EntityEvent> People(size_t n) {
  std::vector<EntityEvent> out;
  for (size_t i = 0; i < n; ++i) out.push_back(Person("p-" + std::to_string(i), "Name " + std::to_string(i)));
  return out;
}

// Fast options for tests: small backoffs, a state store under `dir`.
inline EnrichLegOptions TestEnrichOptions(const std::string& dir, const std::string& name = "t") {
  EnrichLegOptions o;
  o.name = name;
  o.types = {"person", "company"};
  o.dir = dir + "/enrich-" + name;
  o.sync = false;
  o.concurrency = 4;
  o.initial_backoff_us = 1'000;
  o.max_backoff_us = 5'000;
  o.leg = TestLegOptions("");
  o.seed = 7;
  return o;
}

// The string member `field` of a canonical payload ("" when absent).
inline std::string Member(const std::string& payload, const std::string& field) {
  Result<store_internal::JsonValue> doc = store_internal::ParseJson(payload);
  if (!doc.ok()) return "";
  const store_internal::JsonValue* v = doc->Find(field);
  if (v == nullptr) return "";
  return v->kind == store_internal::JsonValue::Kind::kString ? v->text
                                                             : store_internal::ToCanonicalJson(*v);
}

// The enrichment_status of every entity in `ids` in `store`.
inline std::map<std::string, std::string> Statuses(Store& store, const std::vector<EntityEvent>& events) {
  std::map<std::string, std::string> out;
  for (const EntityEvent& e : events) {
    Result<EntityState> s = store.Get(e.entity_id);
    out[e.entity_id] = s.ok() ? Member(s->payload, "enrichment_status") : "<missing>";
  }
  return out;
}

inline size_t CountWithPrefix(const std::vector<Record>& records, const std::string& prefix) {
  size_t n = 0;
  for (const Record& r : records) n += r.id.starts_with(prefix) ? 1 : 0;
  return n;
}

inline void ExpectJobsBalanced(const EnrichStats& s) {
  EXPECT_EQ(s.queue_depth, 0u);
  EXPECT_EQ(s.in_flight, 0u);
  EXPECT_EQ(s.jobs_queued + s.jobs_resumed,
            s.jobs_completed + s.jobs_failed + s.jobs_superseded + s.jobs_cancelled);
}

// A log with a graph store, a vector store and their legs.
class Pipeline {
 public:
  // `graph_stage`: the graph leg's stage output (tandem/stage.h); off by default.
  explicit Pipeline(LegEnv& env, const StageConfig& graph_stage = {}) : env_(env) {
    graph_ = env.OpenGraph("graph");
    HashEmbedderOptions h;
    h.dimension = 64;
    embedder_ = NewHashEmbedder(h).value();
    VectorStoreOptions v;
    v.dir = dir_.path() + "/vector";
    v.embedder = embedder_.get();
    v.sync = false;
    vector_ = OpenVectorStore(v).value();
    graph_leg_ =
        MakeStageLeg(env.log(), *graph_, "graph", TestLegOptions("graph"), graph_stage).value();
    vector_leg_ = MakeVectorLeg(env.log(), *vector_, TestLegOptions("vector")).value();
  }
  void Start() {
    LEG_ASSERT_OK(graph_leg_->Start());
    LEG_ASSERT_OK(vector_leg_->Start());
  }
  void WaitStores() {
    LEG_ASSERT_OK(graph_leg_->WaitForCaughtUp(kWaitUs));
    LEG_ASSERT_OK(vector_leg_->WaitForCaughtUp(kWaitUs));
  }
  GraphStore& graph() { return *graph_; }
  VectorStore& vector() { return *vector_; }
  Leg& graph_leg() { return *graph_leg_; }
  Leg& vector_leg() { return *vector_leg_; }
  const std::string& dir() { return dir_.path(); }

 private:
  LegEnv& env_;
  TempDir dir_;
  std::unique_ptr<GraphStore> graph_;
  std::unique_ptr<Embedder> embedder_;
  std::unique_ptr<VectorStore> vector_;
  std::unique_ptr<Leg> graph_leg_;
  std::unique_ptr<Leg> vector_leg_;
};

}  // namespace tandem::enrich_test
