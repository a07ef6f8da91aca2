// Random workloads on the banking schema: 2,000 events over 100 entities whose
// payloads reference each other (and ids that never arrive), with creates,
// merges, replacements, deletes, late versions and producer retries. The
// graph store must keep its invariants after every batch, agree with the
// reference model (MemStore) entity by entity, hold exactly the edges the
// live payloads declare, and reach the same graph from an at-least-once,
// shuffled replay.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <functional>
#include <thread>

#include "banking_workload.h"
#include "graph_test_util.h"
#include "store/mem_store.h"

namespace tandem::graph_test {
namespace {

using store_test::EntityName;

// The edges the reference model's live payloads declare under `schema`.
std::map<std::tuple<std::string, std::string, std::string>, uint32_t> ExpectedEdges(
    const MemStoreData& data, const GraphSchema& schema) {
  std::map<std::tuple<std::string, std::string, std::string>, uint32_t> out;
  for (const auto& [id, s] : data.entities) {
    if (s.deleted()) continue;
    auto payload = nlohmann::json::parse(s.payload);
    std::set<std::tuple<std::string, std::string, std::string>> mine;
    for (const ReferenceSpec& r : schema.references) {
      if (r.entity_type != s.entity_type || !payload.contains(r.field)) continue;
      const auto& v = payload[r.field];
      std::vector<std::string> targets;
      if (v.is_string()) targets.push_back(v.get<std::string>());
      if (v.is_array()) {
        for (const auto& t : v) targets.push_back(t.get<std::string>());
      }
      for (const std::string& t : targets) {
        bool out_dir = r.orientation == ReferenceSpec::Orientation::kOut;
        mine.emplace(out_dir ? id : t, r.edge_label, out_dir ? t : id);
      }
    }
    for (const auto& e : mine) ++out[e];
  }
  return out;
}

class GraphRandom : public GraphFixture, public ::testing::WithParamInterface<uint64_t> {
 protected:
  std::unique_ptr<GraphStore> OpenExtra(const std::string& name) {
    GraphStoreOptions o;
    o.dir = dir_.path() + "/" + name;
    o.clock = &clock_;
    o.sync = false;  // the contract suite covers the default; this is about logic
    auto s = OpenGraphStore(o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }
};

TEST_P(GraphRandom, InvariantsModelAgreementAndReplayEquivalence) {
  Random rnd(GetParam());
  const std::vector<StoreEvent> log = store_test::GenerateLog(rnd, BankingLog());
  std::unique_ptr<GraphStore> g = OpenExtra("once");
  ASSERT_NE(g, nullptr);
  MemStoreData model_data;
  MemStoreOptions mo;
  mo.clock = &clock_;
  std::unique_ptr<Store> model = NewMemStore(model_data, mo);

  ApplyCounts counts;
  for (size_t i = 0; i < log.size();) {
    size_t n = std::min(log.size() - i, 1 + static_cast<size_t>(rnd.Uniform(60)));
    std::span<const StoreEvent> batch(log.data() + i, n);
    auto r = g->ApplyBatch(batch);
    STORE_ASSERT_OK(r);
    auto m = model->ApplyBatch(batch);
    STORE_ASSERT_OK(m);
    ASSERT_EQ(store_test::Codes(*r), store_test::Codes(*m)) << "batch at " << i;
    counts += r->counts;
    STORE_ASSERT_OK(g->CheckInvariants());
    i += n;
  }
  EXPECT_EQ(counts.permanent, 0u);
  EXPECT_GT(counts.stale, 10u);  // late versions and retries behind newer events
  EXPECT_GT(counts.duplicate, 0u);

  auto digest = g->Digest();
  STORE_ASSERT_OK(digest);
  EXPECT_EQ(*digest, *model->Digest());
  EXPECT_GT(digest->entities, 30u);
  for (size_t i = 0; i < kEntities; ++i) {
    auto a = g->Get(EntityName(i));
    auto b = model->Get(EntityName(i));
    ASSERT_EQ(a.ok(), b.ok()) << EntityName(i);
    if (a.ok()) {
      EXPECT_EQ(store_test::Describe(*a), store_test::Describe(*b));
    }
  }
  auto dump = Dump(*g);
  STORE_ASSERT_OK(dump);
  EXPECT_EQ(dump->edges, ExpectedEdges(model_data, BankingSchema()));
  EXPECT_GT(dump->edges.size(), 50u);
  EXPECT_GT(dump->counts["_placeholder"], 0u);

  // The same log delivered at least once, shuffled across entities.
  std::unique_ptr<GraphStore> replayed = OpenExtra("replayed");
  ASSERT_NE(replayed, nullptr);
  Random delivery_rnd(GetParam() * 7919);
  std::vector<StoreEvent> delivery = store_test::Redeliver(delivery_rnd, log);
  STORE_ASSERT_OK(store_test::ApplyInBatches(*replayed, delivery, delivery_rnd, 80));
  STORE_ASSERT_OK(replayed->CheckInvariants());
  EXPECT_EQ(*replayed->Digest(), *digest);
  auto replay_dump = Dump(*replayed);
  STORE_ASSERT_OK(replay_dump);
  EXPECT_TRUE(*replay_dump == *dump);
  EXPECT_EQ(*replayed->Positions(), *g->Positions());
}

// Leg workers call ApplyBatch concurrently, never with one entity in two
// batches at once; the store plans one batch while the previous one is still
// being written. Four writers, each owning a quarter of the entities (but
// referencing everyone's, so placeholders are created and removed under
// each other's feet), must reach exactly the graph a single writer reaches.
TEST_P(GraphRandom, ConcurrentWritersOfDisjointEntitiesReachTheSameGraph) {
  Random rnd(GetParam() + 100);
  const std::vector<StoreEvent> log = store_test::GenerateLog(rnd, BankingLog());
  std::unique_ptr<GraphStore> serial = OpenExtra("serial");
  ASSERT_NE(serial, nullptr);
  STORE_ASSERT_OK(store_test::ApplyInBatches(*serial, log, rnd, 40));

  constexpr size_t kWriters = 4;
  std::vector<std::vector<StoreEvent>> shards(kWriters);
  for (const StoreEvent& e : log) {
    shards[std::hash<std::string>{}(e.event.entity_id) % kWriters].push_back(e);
  }
  std::unique_ptr<GraphStore> g = OpenExtra("concurrent");
  ASSERT_NE(g, nullptr);
  std::vector<Status> results(kWriters);
  std::vector<std::thread> writers;
  for (size_t w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      Random r(GetParam() * 31 + w);
      results[w] = store_test::ApplyInBatches(*g, shards[w], r, 12);
    });
  }
  for (std::thread& t : writers) t.join();
  for (const Status& st : results) STORE_ASSERT_OK(st);

  STORE_ASSERT_OK(g->CheckInvariants());
  EXPECT_EQ(*g->Digest(), *serial->Digest());
  auto a = Dump(*g);
  auto b = Dump(*serial);
  STORE_ASSERT_OK(a);
  STORE_ASSERT_OK(b);
  EXPECT_TRUE(*a == *b);
  EXPECT_GT(a->counts["_placeholder"], 0u);
  EXPECT_EQ(*g->Positions(), *serial->Positions());
  EXPECT_EQ(g->counters().applied, serial->counters().applied);
}

INSTANTIATE_TEST_SUITE_P(Seeds, GraphRandom, ::testing::Values(1, 2, 3));

}  // namespace
}  // namespace tandem::graph_test
