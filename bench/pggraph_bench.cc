// The banking workload applied to the graph store on both backends in one
// run: the embedded RocksDB store (WAL fdatasync per batch) and the
// PostgreSQL store (one transaction per batch, fsync and synchronous_commit
// on) on a PostgreSQL 15 server this benchmark starts on a loopback port
// (tests/pg_fixture/pg_server.h; as root it runs initdb/pg_ctl via runuser).
// Reports events/s, client CPU per event and p50/p99 batch latency, and
// checks that both stores end with the same digest.
//
//   build/bench/pggraph_bench --events 50000 --batch 500
//
// Flags: --events N (default 50000), --batch N (500), --seed N (1),
// --pool N (PostgreSQL connections, 4), --fsync 0|1 (PostgreSQL fsync, 1).

#include <cstdio>
#include <map>
#include <span>

#include "../tests/pg_fixture/pg_server.h"
#include "bench_util.h"
#include "common/hash.h"
#include "tandem/pggraph.h"
#include "tandem/graph.h"

namespace tandem::bench {
namespace {

struct Run {
  std::string name;
  double seconds = 0;
  double cpu_seconds = 0;
  uint64_t applied = 0;
  std::vector<double> batch_ms;
  StoreDigest digest;
};

Result<Run> Measure(const std::string& name, GraphStore& g, std::span<const StoreEvent> events,
                    size_t batch) {
  Run run;
  run.name = name;
  const auto start = Steady::now();
  const double cpu_start = ProcessCpuSeconds();
  for (size_t i = 0; i < events.size(); i += batch) {
    const size_t n = std::min(batch, events.size() - i);
    const auto t = Steady::now();
    TANDEM_ASSIGN_OR_RETURN(BatchResult r, g.ApplyBatch(events.subspan(i, n)));
    run.batch_ms.push_back(std::chrono::duration<double, std::milli>(Steady::now() - t).count());
    run.applied += r.counts.applied;
  }
  run.seconds = SecondsSince(start);
  run.cpu_seconds = ProcessCpuSeconds() - cpu_start;
  TANDEM_ASSIGN_OR_RETURN(run.digest, g.Digest());
  return run;
}

Status Main(int argc, char** argv) {
  TANDEM_ASSIGN_OR_RETURN(Flags f,
                          Flags::Parse(argc, argv, {"events", "batch", "seed", "pool", "fsync"}));
  TANDEM_ASSIGN_OR_RETURN(uint64_t n, f.Uint("events", 50'000, 1, 10'000'000));
  TANDEM_ASSIGN_OR_RETURN(uint64_t batch, f.Uint("batch", 500, 1, 100'000));
  TANDEM_ASSIGN_OR_RETURN(uint64_t seed, f.Uint("seed", 1, 0, ~uint64_t{0}));
  TANDEM_ASSIGN_OR_RETURN(uint64_t pool, f.Uint("pool", 4, 2, 64));
  TANDEM_ASSIGN_OR_RETURN(uint64_t fsync, f.Uint("fsync", 1, 0, 1));

  TANDEM_ASSIGN_OR_RETURN(std::vector<EntityEvent> raw, BankingEvents(n, seed));
  std::vector<StoreEvent> events;
  std::map<std::pair<std::string, uint32_t>, uint64_t> next;
  for (EntityEvent& e : raw) {
    const uint32_t p = PartitionForKey(e.entity_id, 8);
    LogPosition pos{e.entity_type, p, next[{e.entity_type, p}]++};
    events.push_back(StoreEvent{std::move(e), std::move(pos)});
  }

  TANDEM_ASSIGN_OR_RETURN(TempDir dir, TempDir::Create("pggraph-bench"));
  pg_test::PgServerOptions so;
  so.fsync = fsync != 0;
  TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<pg_test::PgServer> server, pg_test::PgServer::Start(so));
  TANDEM_ASSIGN_OR_RETURN(std::string db, server->FreshDatabase("bench"));

  std::vector<Run> runs;
  {
    GraphStoreOptions o;
    o.dir = dir.Sub("rocks");
    TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<GraphStore> g, OpenGraphStore(o));
    TANDEM_ASSIGN_OR_RETURN(
        Run r, Measure("RocksDB graph store (WAL fdatasync/batch)", *g, events, batch));
    runs.push_back(std::move(r));
  }
  {
    PgGraphStoreOptions o;
    o.url = server->Url(db);
    o.pool_size = pool;
    TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<GraphStore> g, OpenPgGraphStore(o));
    TANDEM_ASSIGN_OR_RETURN(Run r, Measure(std::string("PostgreSQL 15 graph store (fsync ") +
                                               (fsync ? "on" : "off") + ", 1 txn/batch)",
                                           *g, events, batch));
    TANDEM_RETURN_IF_ERROR(g->CheckInvariants());
    runs.push_back(std::move(r));
  }
  server->Stop();

  std::printf("pggraph_bench: %zu banking events, batches of %llu, load %s\n\n", events.size(),
              static_cast<unsigned long long>(batch), LoadAverage().c_str());
  Table t({"store", "events/s", "vs RocksDB", "client CPU µs/event", "batch p50 ms", "batch p99 ms",
           "applied"},
          "lrrrrrr");
  const double base = static_cast<double>(events.size()) / runs[0].seconds;
  for (const Run& r : runs) {
    const double rate = static_cast<double>(events.size()) / r.seconds;
    t.Row({r.name, Fixed(rate, 0), Fixed(rate / base, 2),
           Fixed(r.cpu_seconds * 1e6 / static_cast<double>(events.size()), 1),
           Fixed(Percentile(r.batch_ms, 0.5), 2), Fixed(Percentile(r.batch_ms, 0.99), 2),
           std::to_string(r.applied)});
  }
  t.Print();
  const bool same = runs[0].digest == runs[1].digest;
  std::printf("\ndigests: %s %s (%s)\n", runs[0].digest.ToString().c_str(),
              runs[1].digest.ToString().c_str(), same ? "equal" : "DIFFERENT");
  return same ? Status::OK() : Status::Corruption("the two stores' digests differ");
}

}  // namespace
}  // namespace tandem::bench

int main(int argc, char** argv) {
  tandem::Status s = tandem::bench::Main(argc, argv);
  if (!s.ok()) {
    std::fprintf(stderr, "pggraph_bench: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}
