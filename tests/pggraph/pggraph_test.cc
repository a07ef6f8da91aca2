// PostgreSQL-specific behaviour of the graph store: the same graph, digest
// and traversal answers as the RocksDB store for one workload; whole batches
// only across a SIGKILL between commit and ack; option and schema checks;
// two store objects (as two processes) sharing the tables; lost connections
// and statement timeouts reported as errors the leg retries.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "../graph/banking_workload.h"
#include "../graph/graph_test_util.h"
#include "pg_test_util.h"
#include "store/mem_store.h"

namespace tandem::graph_test {
namespace {

using store_test::kRetentionUs;

class PgGraph : public ::testing::Test {
 protected:
  std::unique_ptr<GraphStore> OpenPg(const std::string& db,
                                     const GraphSchema& schema = BankingSchema(),
                                     const std::string& prefix = "tandem_graph") {
    PgGraphStoreOptions o = pg_test::PgOptions(db, &clock_, kRetentionUs);
    o.schema = schema;
    o.table_prefix = prefix;
    auto s = OpenPgGraphStore(o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  std::unique_ptr<GraphStore> OpenRocks(const std::string& name) {
    GraphStoreOptions o;
    o.dir = dir_.path() + "/" + name;
    o.clock = &clock_;
    o.tombstone_retention_us = kRetentionUs;
    o.sync = false;
    auto s = OpenGraphStore(o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }

  TempDir dir_;
  ManualClock clock_;
};

std::string Describe(const Subgraph& g) {
  std::string out;
  for (const auto& e : g.vertices) {
    out += e.vertex.id + "@" + std::to_string(e.depth) + "/" + e.vertex.label + "/" +
           std::to_string(e.vertex.references) + (e.vertex.placeholder ? "p" : "") + " ";
  }
  for (const Edge& e : g.edges) {
    out += e.from + "-" + e.label + "->" + e.to + "x" + std::to_string(e.multiplicity) + " ";
  }
  return out + (g.truncated ? "truncated" : "");
}

std::string Describe(const Result<std::optional<Path>>& p) {
  if (!p.ok()) return p.status().ToString();
  if (!p->has_value()) return "none";
  std::string out;
  for (const std::string& v : (*p)->vertices) out += v + " ";
  for (const Edge& e : (*p)->edges) out += e.from + "-" + e.label + "->" + e.to + " ";
  return out;
}

TEST_F(PgGraph, SameGraphDigestAndTraversalsAsTheRocksDbStore) {
  Random rnd(42);
  const std::vector<StoreEvent> log = store_test::GenerateLog(rnd, BankingLog());
  std::unique_ptr<GraphStore> pg = OpenPg(pg_test::FreshDatabase());
  std::unique_ptr<GraphStore> rocks = OpenRocks("rocks");
  ASSERT_NE(pg, nullptr);
  ASSERT_NE(rocks, nullptr);
  for (size_t i = 0; i < log.size();) {
    size_t n = std::min(log.size() - i, 1 + static_cast<size_t>(rnd.Uniform(80)));
    std::span<const StoreEvent> batch(log.data() + i, n);
    auto a = pg->ApplyBatch(batch);
    auto b = rocks->ApplyBatch(batch);
    STORE_ASSERT_OK(a);
    STORE_ASSERT_OK(b);
    ASSERT_EQ(store_test::Codes(*a), store_test::Codes(*b)) << "batch at " << i;
    i += n;
  }
  STORE_ASSERT_OK(pg->CheckInvariants());
  EXPECT_EQ(*pg->Digest(), *rocks->Digest());
  EXPECT_GT(pg->Digest()->entities, 30u);
  EXPECT_EQ(*pg->Positions(), *rocks->Positions());
  EXPECT_EQ(pg->counters(), rocks->counters());
  auto dump = Dump(*pg);
  STORE_ASSERT_OK(dump);
  EXPECT_TRUE(*dump == *Dump(*rocks));
  EXPECT_GT(dump->edges.size(), 50u);
  EXPECT_GT(dump->counts["_placeholder"], 0u);

  for (size_t i = 0; i < kEntities; i += 7) {
    const std::string id = EntityName(i);
    auto a = pg->GetVertex(id);
    auto b = rocks->GetVertex(id);
    ASSERT_EQ(a.ok(), b.ok()) << id;
    if (!a.ok()) continue;
    EXPECT_EQ(a->references, b->references) << id;
    EXPECT_EQ(a->placeholder, b->placeholder) << id;
    EXPECT_EQ(a->deleted, b->deleted) << id;
    EXPECT_EQ(*pg->Neighbors(id, Direction::kBoth, "", 3),
              *rocks->Neighbors(id, Direction::kBoth, "", 3));
    EXPECT_EQ(*pg->Neighbors(id, Direction::kIn, "sent", 100),
              *rocks->Neighbors(id, Direction::kIn, "sent", 100));
    ExpandOptions eo;
    eo.max_depth = 3;
    eo.max_vertices = 25;
    EXPECT_EQ(Describe(*pg->Expand(id, eo)), Describe(*rocks->Expand(id, eo))) << id;
    eo.direction = Direction::kOut;
    eo.edge_labels = {"sent", "owns"};
    EXPECT_EQ(Describe(*pg->Expand(id, eo)), Describe(*rocks->Expand(id, eo))) << id;
    for (size_t j = 3; j < kEntities; j += 29) {
      PathOptions po;
      po.max_depth = 5;
      EXPECT_EQ(Describe(pg->ShortestPath(id, EntityName(j), po)),
                Describe(rocks->ShortestPath(id, EntityName(j), po)))
          << id << " to " << EntityName(j);
      po.direction = Direction::kOut;
      po.max_visited = 10;
      EXPECT_EQ(Describe(pg->ShortestPath(id, EntityName(j), po)),
                Describe(rocks->ShortestPath(id, EntityName(j), po)));
    }
  }
}

// A child applies numbered batches and reports each acknowledged one on a
// pipe; the parent SIGKILLs it at a random moment. Each batch sets every
// entity of the run to the batch number, so the store must hold exactly one
// whole batch's state — the one its positions name — never a mix, and never
// less than the child acknowledged.
TEST_F(PgGraph, CrashBetweenCommitAndAckKeepsWholeBatches) {
  const std::string db = pg_test::FreshDatabase();
  constexpr int kEntitiesPerBatch = 40;
  auto batch_of = [&](uint64_t k) {
    std::vector<StoreEvent> b;
    for (int i = 0; i < kEntitiesPerBatch; ++i) {
      // One partition, so the batch's position is its last offset.
      StoreEvent e = store_test::Ev(EventType::kUpsert, "account", "a" + std::to_string(i),
                                    k * kEntitiesPerBatch + i,
                                    R"({"owner_id":"p)" + std::to_string((k + i) % 7) +
                                        R"(","batch":)" + std::to_string(k) + "}");
      b.push_back(std::move(e));
    }
    return b;
  };
  Random rnd(7);
  uint64_t next_batch = 0;
  for (int round = 0; round < 4; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const uint64_t first = next_batch;
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      PgGraphStoreOptions o = pg_test::PgOptions(db, &clock_, kRetentionUs);
      auto s = OpenPgGraphStore(o);
      if (!s.ok()) _exit(2);
      for (uint64_t k = first; k < first + 10'000; ++k) {
        auto r = (*s)->ApplyBatch(batch_of(k));
        if (!r.ok()) _exit(3);
        if (write(fds[1], &k, sizeof(k)) != sizeof(k)) _exit(4);
      }
      _exit(0);
    }
    close(fds[1]);
    std::optional<uint64_t> acked;
    const uint64_t wait_for = 2 + rnd.Uniform(5);
    uint64_t k = 0;
    while (read(fds[0], &k, sizeof(k)) == sizeof(k)) {
      acked = k;
      if (k >= first + wait_for) break;
    }
    usleep(static_cast<useconds_t>(rnd.Uniform(3000)));  // somewhere inside a later batch
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    close(fds[0]);
    ASSERT_TRUE(acked.has_value()) << "child exited with status " << status;

    std::unique_ptr<GraphStore> g = OpenPg(db);
    ASSERT_NE(g, nullptr);
    auto positions = g->Positions();
    STORE_ASSERT_OK(positions);
    const uint64_t last_offset = positions->at({"account", 0});
    ASSERT_EQ((last_offset + 1) % kEntitiesPerBatch, 0u) << "positions inside a batch";
    const uint64_t committed = last_offset / kEntitiesPerBatch;
    EXPECT_GE(committed, *acked) << "an acknowledged batch was lost";
    // The store holds exactly batch `committed`: compare with the model.
    MemStoreData model_data;
    MemStoreOptions mo;
    mo.clock = &clock_;
    auto model = NewMemStore(model_data, mo);
    STORE_ASSERT_OK(model->ApplyBatch(batch_of(committed)));
    EXPECT_EQ(*g->Digest(), *model->Digest());
    STORE_ASSERT_OK(g->CheckInvariants());
    // Redelivery of the committed batch (the leg never saw its ack) is a no-op.
    auto again = g->ApplyBatch(batch_of(committed));
    STORE_ASSERT_OK(again);
    EXPECT_EQ(again->counts.duplicate, static_cast<uint64_t>(kEntitiesPerBatch));
    EXPECT_EQ(*g->Digest(), *model->Digest());
    next_batch = committed + 1;
  }
}

TEST_F(PgGraph, OpenChecksOptionsAndSchema) {
  const std::string db = pg_test::FreshDatabase();
  PgGraphStoreOptions o = pg_test::PgOptions(db, &clock_, kRetentionUs);
  PgGraphStoreOptions bad = o;
  bad.url.clear();
  EXPECT_TRUE(OpenPgGraphStore(bad).status().IsInvalidArgument());
  bad = o;
  bad.table_prefix = "Graph; DROP TABLE x";
  EXPECT_TRUE(OpenPgGraphStore(bad).status().IsInvalidArgument());
  bad = o;
  bad.pool_size = 1;
  EXPECT_TRUE(OpenPgGraphStore(bad).status().IsInvalidArgument());
  bad = o;
  bad.schema.references.push_back(bad.schema.references.front());
  EXPECT_TRUE(OpenPgGraphStore(bad).status().IsInvalidArgument());
  bad = o;
  bad.url = "host=127.0.0.1 port=1 dbname=x connect_timeout=2";
  EXPECT_EQ(OpenPgGraphStore(bad).status().code(), StatusCode::kUnavailable);

  std::unique_ptr<GraphStore> g = OpenPg(db);
  ASSERT_NE(g, nullptr);
  const std::vector<StoreEvent> one = {
      store_test::Ev(EventType::kCreate, "account", "a1", 0, R"({"owner_id":"p1"})")};
  STORE_ASSERT_OK(g->ApplyBatch(one));
  GraphSchema other = BankingSchema();
  other.references.pop_back();
  o.schema = other;
  EXPECT_EQ(OpenPgGraphStore(o).status().code(), StatusCode::kFailedPrecondition);
  // Another prefix is another graph in the same database.
  std::unique_ptr<GraphStore> second = OpenPg(db, other, "second_graph");
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->Digest()->entities, 0u);
  EXPECT_EQ(g->Digest()->entities, 1u);
}

// Two store objects on one database stand for two tandem processes: they
// serialise on the advisory lock, and the result is the graph one writer
// makes.
TEST_F(PgGraph, TwoWritersSharingTheTablesReachTheSameGraph) {
  Random rnd(11);
  const std::vector<StoreEvent> log = store_test::GenerateLog(rnd, BankingLog());
  const std::string db = pg_test::FreshDatabase();
  std::unique_ptr<GraphStore> a = OpenPg(db);
  std::unique_ptr<GraphStore> b = OpenPg(db);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  // Entities split by parity of their number; each writer keeps log order.
  std::vector<StoreEvent> even, odd;
  for (const StoreEvent& e : log) {
    (std::stoul(e.event.entity_id.substr(1)) % 2 == 0 ? even : odd).push_back(e);
  }
  std::atomic<bool> failed{false};
  auto run = [&](GraphStore* g, const std::vector<StoreEvent>* events, uint64_t seed) {
    Random r(seed);
    if (!store_test::ApplyInBatches(*g, *events, r, 30).ok()) failed = true;
  };
  std::thread ta(run, a.get(), &even, 1);
  std::thread tb(run, b.get(), &odd, 2);
  ta.join();
  tb.join();
  ASSERT_FALSE(failed.load());
  STORE_ASSERT_OK(a->CheckInvariants());

  std::unique_ptr<GraphStore> single = OpenRocks("single");
  ASSERT_NE(single, nullptr);
  STORE_ASSERT_OK(store_test::ApplyInBatches(*single, log, rnd, 30));
  EXPECT_EQ(*a->Digest(), *single->Digest());
  EXPECT_TRUE(*Dump(*a) == *Dump(*single));
}

TEST_F(PgGraph, LostConnectionsAndTimeoutsAreRetryableErrors) {
  const std::string db = pg_test::FreshDatabase();
  PgGraphStoreOptions o = pg_test::PgOptions(db, &clock_, kRetentionUs);
  o.statement_timeout_ms = 300;
  auto opened = OpenPgGraphStore(o);
  STORE_ASSERT_OK(opened);
  std::unique_ptr<GraphStore> g = std::move(opened).value();
  auto ev = [](uint64_t offset) {
    return std::vector<StoreEvent>{
        store_test::Ev(EventType::kCreate, "account", "a1", offset, R"({"owner_id":"p1"})")};
  };
  STORE_ASSERT_OK(g->ApplyBatch(ev(0)));

  pqxx::connection admin(pg_test::SharedPgServer().Url(db));
  {
    // Every connection of the store is cut (as by a server restart).
    pqxx::nontransaction n(admin);
    n.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = " +
           admin.quote(db) + " AND pid <> pg_backend_pid()");
  }
  auto lost = g->ApplyBatch(ev(1));
  EXPECT_EQ(lost.status().code(), StatusCode::kUnavailable) << lost.status().ToString();
  auto retried = g->ApplyBatch(ev(1));  // the pool reconnects
  STORE_ASSERT_OK(retried);
  EXPECT_EQ(retried->counts.applied, 1u);

  {
    // A lock held elsewhere for longer than statement_timeout.
    pqxx::work hold(admin);
    hold.exec("LOCK TABLE tandem_graph_vertices IN ACCESS EXCLUSIVE MODE");
    auto timed_out = g->ApplyBatch(ev(2));
    EXPECT_EQ(timed_out.status().code(), StatusCode::kAborted) << timed_out.status().ToString();
  }
  auto after = g->ApplyBatch(ev(2));
  STORE_ASSERT_OK(after);
  EXPECT_EQ(after->counts.applied, 1u);
  EXPECT_EQ(g->Positions()->at({"account", 0}), 2u);
  STORE_ASSERT_OK(g->CheckInvariants());
}

}  // namespace
}  // namespace tandem::graph_test
