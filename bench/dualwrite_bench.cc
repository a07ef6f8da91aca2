// dualwrite_bench: the baseline users have today, the naive dual write,
// against tandem with all its guarantees, on one banking workload (issue 6 §4).
//
// Workload: the first --events events of the banking generator (src/gen)
// scaled to about that many: persons, companies, accounts, transactions,
// communications, the sanctions list, updates and a few deletes.
//
//  (n) naive dual write: one producer thread calls GraphStore::ApplyBatch and
//      then VectorStore::ApplyBatch itself, --batch events per call, no log,
//      no legs. This is what teams write by hand ("write to the graph, then
//      to the search index"). A crash between the two calls leaves the stores
//      disagreeing, and there is no log to repair them from or replay; a
//      failure of the second write needs hand-written compensation. The
//      events carry the positions the log would give them (8 partitions per
//      entity type), so that both stores can apply their markers.
//  (t) tandem: one producer thread, Producer::PublishBatch of --batch events
//      per call → log (fsync=always) → graph leg and vector leg (LegOptions
//      defaults: 2 workers, batches of 500) until both caught up.
// Both rows: fresh stores (GraphStoreOptions / VectorStoreOptions defaults:
// RocksDB WAL fdatasync per batch, HNSW M=16) in temp dirs, the same hash
// embedder (defaults, d=256).
//
// Columns: events/s to acknowledged (the producer's last call returned: (n)
// both stores written; (t) durable in the log), events/s to both stores
// applied ((t): the legs caught up), the producer's call latency p50/p99 per
// batch, process CPU µs per event (getrusage, all threads), and t/n of both
// rates. After both rows the stores' digests are compared ((n) graph = (t)
// graph, (n) vector = (t) vector): equal means both paths reached the same state.
//
//   dualwrite_bench [--events N] [--batch B] [--seed S] [--catchup-timeout SECONDS]
//
// Exits 1 with a message when a leg has not caught up within --catchup-timeout
// (default 300 s). Temp dirs (TMPDIR) are removed at exit. Prints a Markdown
// table on stdout, progress on stderr.
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "common/hash.h"
#include "tandem/embed.h"
#include "tandem/graph.h"
#include "tandem/leg.h"
#include "tandem/log.h"
#include "tandem/producer.h"
#include "tandem/vector.h"

namespace tandem::bench {
namespace {

struct Options {
  uint64_t events = 100'000;
  uint64_t batch = 500;
  uint64_t seed = 1;
  double catchup_timeout_s = 300;
};

Result<Options> ParseOptions(int argc, char** argv) {
  TANDEM_ASSIGN_OR_RETURN(Flags f,
                          Flags::Parse(argc, argv, {"events", "batch", "seed", "catchup-timeout"}));
  Options o;
  TANDEM_ASSIGN_OR_RETURN(o.events, f.Uint("events", o.events, 1, 100'000'000));
  TANDEM_ASSIGN_OR_RETURN(o.batch, f.Uint("batch", o.batch, 1, 100'000));
  TANDEM_ASSIGN_OR_RETURN(o.seed, f.Uint("seed", o.seed, 0, UINT64_MAX));
  TANDEM_ASSIGN_OR_RETURN(uint64_t t, f.Uint("catchup-timeout", 300, 1, 86'400));
  o.catchup_timeout_s = static_cast<double>(t);
  return o;
}

struct Stores {
  std::unique_ptr<Embedder> embedder;
  std::unique_ptr<GraphStore> graph;
  std::unique_ptr<VectorStore> vector;
};

// Fresh stores with their defaults under `dir`.
Result<Stores> OpenStores(const std::string& dir) {
  Stores s;
  TANDEM_ASSIGN_OR_RETURN(s.embedder, NewHashEmbedder(HashEmbedderOptions{}));
  GraphStoreOptions go;
  go.dir = dir + "/graph";
  TANDEM_ASSIGN_OR_RETURN(s.graph, OpenGraphStore(go));
  VectorStoreOptions vo;
  vo.dir = dir + "/vector";
  vo.embedder = s.embedder.get();
  TANDEM_ASSIGN_OR_RETURN(s.vector, OpenVectorStore(vo));
  return s;
}

struct Row {
  std::string name;
  double ack_s = 0;      // until the producer's last call returned
  double applied_s = 0;  // until both stores applied everything
  double cpu_s = 0;
  std::vector<double> batch_ms;
  uint64_t events = 0;
  StoreDigest graph_digest, vector_digest;
};

Status CheckOutcomes(const BatchResult& r, const char* store) {
  if (r.counts.transient + r.counts.permanent == 0) return Status::OK();
  for (const ApplyOutcome& o : r.outcomes) {
    if (o.code == ApplyCode::kPermanentError || o.code == ApplyCode::kTransientError) {
      return Status::Aborted(std::string(store) + " refused an event: " + o.reason);
    }
  }
  return Status::OK();
}

Status Digests(Stores& s, Row* row) {
  TANDEM_ASSIGN_OR_RETURN(row->graph_digest, s.graph->Digest());
  TANDEM_ASSIGN_OR_RETURN(row->vector_digest, s.vector->Digest());
  return Status::OK();
}

// (n): graph then vector, per batch, from the producer thread.
Result<Row> Naive(const TempDir& base, const std::vector<EntityEvent>& events, size_t batch) {
  TANDEM_ASSIGN_OR_RETURN(Stores s, OpenStores(base.Sub("naive")));
  std::vector<StoreEvent> positioned;
  std::map<std::pair<std::string, uint32_t>, uint64_t> next;
  for (const EntityEvent& e : events) {
    const uint32_t p = PartitionForKey(e.entity_id, LogOptions().default_partitions);
    positioned.push_back(StoreEvent{e, LogPosition{e.entity_type, p, next[{e.entity_type, p}]++}});
  }
  Row row;
  row.name = "(n) naive dual write: graph ApplyBatch, then vector ApplyBatch";
  const auto start = Steady::now();
  const double cpu = ProcessCpuSeconds();
  for (size_t i = 0; i < positioned.size(); i += batch) {
    const auto part =
        std::span<const StoreEvent>(positioned).subspan(i, std::min(batch, positioned.size() - i));
    const auto t0 = Steady::now();
    TANDEM_ASSIGN_OR_RETURN(BatchResult g, s.graph->ApplyBatch(part));
    // A crash here leaves the graph ahead of the vector store, for good.
    TANDEM_ASSIGN_OR_RETURN(BatchResult v, s.vector->ApplyBatch(part));
    row.batch_ms.push_back(SecondsSince(t0) * 1e3);
    TANDEM_RETURN_IF_ERROR(CheckOutcomes(g, "graph store"));
    TANDEM_RETURN_IF_ERROR(CheckOutcomes(v, "vector store"));
  }
  row.ack_s = row.applied_s = SecondsSince(start);
  row.cpu_s = ProcessCpuSeconds() - cpu;
  row.events = events.size();
  TANDEM_RETURN_IF_ERROR(Digests(s, &row));
  return row;
}

// Waits for `leg` within what is left of the deadline; Busy naming it otherwise.
Status CatchUp(Leg& leg, const char* name, Steady::time_point deadline, double timeout_s) {
  const double left = std::chrono::duration<double>(deadline - Steady::now()).count();
  Status s = leg.WaitForCaughtUp(static_cast<int64_t>(std::max(0.0, left) * 1e6));
  if (s.ok()) return s;
  return Status::Busy(std::string(name) + " leg did not catch up within " + Fixed(timeout_s, 0) +
                      " s (--catchup-timeout): " + s.ToString());
}

// (t): Producer → log → both legs.
Result<Row> Tandem(const TempDir& base, const std::vector<EntityEvent>& events, size_t batch,
                   double timeout_s) {
  const std::string dir = base.Sub("tandem");
  TANDEM_ASSIGN_OR_RETURN(Stores s, OpenStores(dir));
  LogOptions lo;  // defaults: fsync=always
  lo.dir = dir + "/log";
  TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<Log> log, Log::Open(lo));
  TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<Leg> graph_leg,
                          MakeGraphLeg(*log, *s.graph, LegOptions{}));
  TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<Leg> vector_leg,
                          MakeVectorLeg(*log, *s.vector, LegOptions{}));
  Row row;
  row.name = "(t) tandem: Producer → log (fsync=always) → graph leg + vector leg";
  const auto start = Steady::now();
  const double cpu = ProcessCpuSeconds();
  TANDEM_RETURN_IF_ERROR(graph_leg->Start());
  TANDEM_RETURN_IF_ERROR(vector_leg->Start());
  Producer producer(*log);
  std::vector<AppendResult> results;
  for (size_t i = 0; i < events.size(); i += batch) {
    const auto part =
        std::span<const EntityEvent>(events).subspan(i, std::min(batch, events.size() - i));
    const auto t0 = Steady::now();
    TANDEM_RETURN_IF_ERROR(producer.PublishBatch(part, &results));
    row.batch_ms.push_back(SecondsSince(t0) * 1e3);
  }
  row.ack_s = SecondsSince(start);
  const auto deadline =
      Steady::now() + std::chrono::microseconds(static_cast<int64_t>(timeout_s * 1e6));
  TANDEM_RETURN_IF_ERROR(CatchUp(*graph_leg, "graph", deadline, timeout_s));
  TANDEM_RETURN_IF_ERROR(CatchUp(*vector_leg, "vector", deadline, timeout_s));
  row.applied_s = SecondsSince(start);
  row.cpu_s = ProcessCpuSeconds() - cpu;
  row.events = events.size();
  TANDEM_RETURN_IF_ERROR(graph_leg->Stop());
  TANDEM_RETURN_IF_ERROR(vector_leg->Stop());
  for (Leg* leg : {graph_leg.get(), vector_leg.get()}) {
    const LegStats st = leg->stats();
    if (st.acknowledged != events.size() || st.dead_lettered() != 0) {
      return Status::Aborted(leg->options().name + " leg acknowledged " +
                             std::to_string(st.acknowledged) + " of " +
                             std::to_string(events.size()) + " events, dead-lettered " +
                             std::to_string(st.dead_lettered()));
    }
  }
  TANDEM_RETURN_IF_ERROR(Digests(s, &row));
  graph_leg.reset();
  vector_leg.reset();
  TANDEM_RETURN_IF_ERROR(log->Close());
  return row;
}

void Print(const Options& o, const std::vector<Row>& rows, const std::string& load_before) {
  const Row& n = rows[0];
  std::printf(
      "### Naive dual write vs tandem\n\n"
      "%llu banking events (seed %llu), batches of %llu, one producer thread; stores with "
      "their defaults (RocksDB WAL fdatasync per batch), hash embedder d=256. "
      "Load average before/after: %s / %s.\n\n",
      static_cast<unsigned long long>(n.events), static_cast<unsigned long long>(o.seed),
      static_cast<unsigned long long>(o.batch), load_before.c_str(), LoadAverage().c_str());
  Table t({"path", "events/s to acknowledged", "events/s to both stores applied",
           "batch p50 ms", "batch p99 ms", "CPU µs/event", "ratio t/n (ack)",
           "ratio t/n (applied)"},
          "lrrrrrrr");
  for (const Row& r : rows) {
    const double ev = static_cast<double>(r.events);
    t.Row({r.name, Fixed(ev / r.ack_s, 0), Fixed(ev / r.applied_s, 0),
           Fixed(Percentile(r.batch_ms, 0.5), 2), Fixed(Percentile(r.batch_ms, 0.99), 2),
           Fixed(r.cpu_s * 1e6 / ev, 1), Fixed(n.ack_s / r.ack_s, 2),
           Fixed(n.applied_s / r.applied_s, 2)});
  }
  t.Print();
  const Row& tr = rows[1];
  std::printf(
      "\nStore digests, (n) vs (t): graph %s / %s (%s), vector %s / %s (%s).\n\n",
      n.graph_digest.ToString().c_str(), tr.graph_digest.ToString().c_str(),
      n.graph_digest == tr.graph_digest ? "equal" : "DIFFERENT", n.vector_digest.ToString().c_str(),
      tr.vector_digest.ToString().c_str(),
      n.vector_digest == tr.vector_digest ? "equal" : "DIFFERENT");
  std::fflush(stdout);
}

Status Run(const Options& o) {
  TANDEM_ASSIGN_OR_RETURN(TempDir base, TempDir::Create("tandem-dualwrite"));
  std::fprintf(stderr, "dualwrite_bench: generating %llu banking events\n",
               static_cast<unsigned long long>(o.events));
  TANDEM_ASSIGN_OR_RETURN(std::vector<EntityEvent> events, BankingEvents(o.events, o.seed));
  const std::string load_before = LoadAverage();
  std::vector<Row> rows;
  std::fprintf(stderr, "dualwrite_bench: (n) naive dual write\n");
  TANDEM_ASSIGN_OR_RETURN(Row n, Naive(base, events, o.batch));
  rows.push_back(std::move(n));
  std::error_code ec;
  std::filesystem::remove_all(base.Sub("naive"), ec);
  std::fprintf(stderr, "dualwrite_bench: (t) tandem\n");
  TANDEM_ASSIGN_OR_RETURN(Row t, Tandem(base, events, o.batch, o.catchup_timeout_s));
  rows.push_back(std::move(t));
  Print(o, rows, load_before);
  return Status::OK();
}

int Main(int argc, char** argv) {
  Result<Options> o = ParseOptions(argc, argv);
  if (!o.ok()) {
    std::fprintf(stderr, "dualwrite_bench: %s\n", o.status().ToString().c_str());
    return 2;
  }
  Status s = Run(*o);
  if (!s.ok()) {
    std::fprintf(stderr, "dualwrite_bench: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace tandem::bench

int main(int argc, char** argv) { return tandem::bench::Main(argc, argv); }
