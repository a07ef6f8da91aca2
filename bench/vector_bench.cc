// vector_bench: the vector leg against raw hnswlib, and search quality.
//
// Workload: --n generated person names (tandem_gen), one upsert each
// ({"name": ...}), hash embedder d=--dim (default 256).
//
// Upsert rows, in one run, same M / ef_construction everywhere:
//  (r)  raw hnswlib: HierarchicalNSW<float>::addPoint of the pre-computed
//       vectors, one thread, no durability: the floor the issue compares with;
//  (e)  the hash embedder alone (Embed in batches of --batch);
//  (r+e) raw hnswlib including the embedding (the sum of the two);
//  (a)  VectorStore::ApplyBatch directly, --batch events per call (embedding,
//       RocksDB WriteBatch with WAL fsync, index insert on --index-threads
//       threads, VectorStoreOptions::index_insert_threads);
//  (b)  the vector leg draining the same events from a log backlog
//       (Log → MakeVectorLeg → store), --workers workers.
// Each row: inserts/s and the ratio to (r) and to (r+e), and the process
// CPU time per item (all threads; steadier than wall time on a shared box;
// (b) includes the log and the leg runtime).
//
// Search (on the store built by (a)): --queries misspelled names; QPS of
// HNSW search at several ef, k=10, recall@10 against the exact scan, and
// recall@5 of the intended person; then the exact scan's QPS.
//
//   vector_bench [--n N] [--dim D] [--m M] [--ef-construction E] [--batch B]
//                [--workers W] [--index-threads T] [--queries Q] [--dir DIR]
//
// Prints Markdown tables.
#include <stdlib.h>
#include <sys/resource.h>

// hnswlib.h defines non-inline functions and variables that
// src/vindex/hnsw_index.cc (linked in through tandem_vindex) defines too; give
// this file's copies other names (as bench/vindex_bench.cc does).
#define hnswlib vector_bench_hnswlib
#define cpuid vector_bench_cpuid
#define xgetbv vector_bench_xgetbv
#define AVXCapable vector_bench_AVXCapable
#define AVX512Capable vector_bench_AVX512Capable
#include <hnswlib/hnswlib.h>
#undef cpuid
#undef xgetbv
#undef AVXCapable
#undef AVX512Capable

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "common/hash.h"
#include "gen/names.h"
#include "tandem/embed.h"
#include "tandem/leg.h"
#include "tandem/log.h"
#include "tandem/producer.h"
#include "tandem/vector.h"

namespace tandem::bench {
namespace {

using Steady = std::chrono::steady_clock;

struct Flags {
  size_t n = 50'000;
  size_t dim = 256;
  size_t m = 16;
  size_t ef_construction = 100;
  size_t batch = 500;
  uint32_t workers = 2;
  size_t index_threads = 1;
  size_t queries = 1'000;
  std::string dir;
  bool remove_dir = false;
};

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const char* v = argv[i + 1];
    const size_t n = std::strtoul(v, nullptr, 10);
    if (k == "--n") {
      f.n = std::max<size_t>(100, n);
    } else if (k == "--dim") {
      f.dim = n;
    } else if (k == "--m") {
      f.m = n;
    } else if (k == "--ef-construction") {
      f.ef_construction = n;
    } else if (k == "--batch") {
      f.batch = std::max<size_t>(1, n);
    } else if (k == "--workers") {
      f.workers = std::max<uint32_t>(1, static_cast<uint32_t>(n));
    } else if (k == "--index-threads") {
      f.index_threads = std::max<size_t>(1, n);
    } else if (k == "--queries") {
      f.queries = std::max<size_t>(1, n);
    } else if (k == "--dir") {
      f.dir = v;
    } else {
      std::fprintf(stderr, "unknown flag %s\n", k.c_str());
      std::exit(2);
    }
  }
  if (f.dir.empty()) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "tandem-vecbench-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) {
      std::perror("mkdtemp");
      std::exit(1);
    }
    f.dir = tmpl;
    f.remove_dir = true;
  }
  return f;
}

void Die(const Status& s, const char* what) {
  if (s.ok()) return;
  std::fprintf(stderr, "%s: %s\n", what, s.ToString().c_str());
  std::exit(1);
}

double ProcessCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto secs = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return secs(u.ru_utime) + secs(u.ru_stime);
}

double Since(Steady::time_point t) {
  return std::chrono::duration<double>(Steady::now() - t).count();
}

struct Row {
  std::string name;
  double seconds = 0;
  size_t items = 0;
  double cpu_seconds = 0;  // process CPU (all threads) while the row ran
};

// Times `fn` in wall-clock and process CPU seconds into `row`.
template <typename F>
void Measure(Row* row, F fn) {
  const auto t = Steady::now();
  const double cpu = ProcessCpuSeconds();
  fn();
  row->seconds = Since(t);
  row->cpu_seconds = ProcessCpuSeconds() - cpu;
}

std::vector<EntityEvent> Events(const std::vector<std::string>& names) {
  std::vector<EntityEvent> out;
  for (size_t i = 0; i < names.size(); ++i) {
    EntityEvent e;
    e.event_id = "evt-" + std::to_string(i);
    e.event_type = EventType::kUpsert;
    e.entity_type = "person";
    e.entity_id = "p-" + std::to_string(i);
    e.payload = "{\"name\":\"" + names[i] + "\"}";
    e.timestamp = "2024-03-01T00:00:00Z";
    e.timestamp_us = 1'709'251'200'000'000;
    out.push_back(std::move(e));
  }
  return out;
}

VectorStoreOptions StoreOptions(const Flags& f, Embedder* e, const std::string& name) {
  VectorStoreOptions o;
  o.dir = f.dir + "/" + name;
  o.embedder = e;
  o.hnsw_m = f.m;
  o.hnsw_ef_construction = f.ef_construction;
  o.index_insert_threads = f.index_threads;
  o.snapshot_every_changes =
      0;  // a snapshot of a growing index inside the timing is not an insert cost
  return o;
}

Row Embedding(const Flags& f, Embedder& e, const std::vector<std::string>& names,
              std::vector<float>* vectors) {
  Row row{"(e) hash embedder alone", 0, names.size()};
  vectors->clear();
  Measure(&row, [&] {
    std::vector<float> out;
    for (size_t i = 0; i < names.size(); i += f.batch) {
      std::vector<std::string_view> texts;
      for (size_t j = i; j < std::min(names.size(), i + f.batch); ++j) texts.push_back(names[j]);
      Die(e.Embed(texts, &out), "embed");
      vectors->insert(vectors->end(), out.begin(), out.end());
    }
  });
  return row;
}

Row RawHnsw(const Flags& f, const std::vector<float>& vectors) {
  Row row{"(r) raw hnswlib addPoint, 1 thread", 0, vectors.size() / f.dim};
  hnswlib::InnerProductSpace space(f.dim);
  hnswlib::HierarchicalNSW<float> index(&space, row.items, f.m, f.ef_construction, 100);
  Measure(&row, [&] {
    for (size_t i = 0; i < row.items; ++i) index.addPoint(vectors.data() + i * f.dim, i + 1);
  });
  return row;
}

Row Direct(const Flags& f, VectorStore& store, const std::vector<EntityEvent>& events) {
  Row row{"(a) VectorStore::ApplyBatch (embed + RocksDB + index)", 0, events.size()};
  std::vector<StoreEvent> batch;
  for (size_t i = 0; i < events.size(); ++i) {
    batch.push_back(StoreEvent{events[i], LogPosition{"person", 0, i}});
  }
  Measure(&row, [&] {
    for (size_t i = 0; i < batch.size(); i += f.batch) {
      const size_t n = std::min(f.batch, batch.size() - i);
      Result<BatchResult> r = store.ApplyBatch(std::span<const StoreEvent>(batch).subspan(i, n));
      Die(r.status(), "ApplyBatch");
    }
  });
  return row;
}

Row ThroughLeg(const Flags& f, Embedder& e, const std::vector<EntityEvent>& events) {
  LogOptions lo;
  lo.dir = f.dir + "/log";
  Result<std::unique_ptr<Log>> log = Log::Open(lo);
  Die(log.status(), "open log");
  {
    Producer producer(**log);
    std::vector<AppendResult> results;
    for (size_t i = 0; i < events.size(); i += f.batch) {
      const size_t n = std::min(f.batch, events.size() - i);
      Die(producer.PublishBatch(std::span<const EntityEvent>(events).subspan(i, n), &results),
          "publish");
    }
  }
  Result<std::unique_ptr<VectorStore>> store = OpenVectorStore(StoreOptions(f, &e, "leg"));
  Die(store.status(), "open store");
  LegOptions o;
  o.max_batch_events = f.batch;
  o.workers = f.workers;
  Result<std::unique_ptr<Leg>> leg = MakeVectorLeg(**log, **store, o);
  Die(leg.status(), "leg");
  Row row{"(b) log backlog → vector leg → store", 0, events.size()};
  Measure(&row, [&] {
    Die((*leg)->Start(), "leg start");
    Die((*leg)->WaitForCaughtUp(int64_t{3600} * 1'000'000), "wait for the leg");
  });
  Die((*leg)->Stop(), "leg stop");
  if ((*leg)->stats().applied != events.size()) {
    std::fprintf(stderr, "leg applied %llu of %zu\n",
                 static_cast<unsigned long long>((*leg)->stats().applied), events.size());
  }
  leg->reset();
  store->reset();
  Die((*log)->Close(), "log close");
  return row;
}

void SearchTable(const Flags& f, VectorStore& store, const gen::NameMatchingSet& set) {
  // Exact top-10 per query first: the reference of recall@10.
  std::vector<std::set<std::string>> exact(set.queries.size());
  auto t = Steady::now();
  for (size_t i = 0; i < set.queries.size(); ++i) {
    VectorQuery q;
    q.text = set.queries[i].text;
    q.exact = true;
    Result<std::vector<VectorHit>> hits = store.Search(q);
    Die(hits.status(), "exact search");
    for (const VectorHit& h : *hits) exact[i].insert(h.entity_id);
  }
  const double exact_qps = set.queries.size() / Since(t);
  std::printf(
      "\n| search (%zu names, %zu queries, k=10) | ef | QPS | recall@10 vs exact | "
      "intended person in top 5 |\n|---|---:|---:|---:|---:|\n",
      set.names.size(), set.queries.size());
  for (size_t ef : {16, 32, 64, 128, 256}) {
    size_t overlap = 0, found = 0;
    t = Steady::now();
    for (size_t i = 0; i < set.queries.size(); ++i) {
      VectorQuery q;
      q.text = set.queries[i].text;
      q.ef = ef;
      Result<std::vector<VectorHit>> hits = store.Search(q);
      Die(hits.status(), "search");
      const std::string want = "p-" + std::to_string(set.queries[i].target);
      for (size_t r = 0; r < hits->size(); ++r) {
        overlap += exact[i].contains((*hits)[r].entity_id);
        if (r < 5 && (*hits)[r].entity_id == want) ++found;
      }
    }
    const double qps = set.queries.size() / Since(t);
    std::printf("| HNSW | %zu | %.0f | %.3f | %.3f |\n", ef, qps,
                static_cast<double>(overlap) / (10.0 * set.queries.size()),
                static_cast<double>(found) / set.queries.size());
  }
  size_t found_exact = 0;
  for (size_t i = 0; i < set.queries.size(); ++i) {
    found_exact += exact[i].contains("p-" + std::to_string(set.queries[i].target));
  }
  std::printf("| exact scan | - | %.0f | 1.000 | (top 10: %.3f) |\n", exact_qps,
              static_cast<double>(found_exact) / set.queries.size());
}

int Main(int argc, char** argv) {
  const Flags f = ParseFlags(argc, argv);
  const gen::NameMatchingSet set = gen::MakeNameMatchingSet(7, f.n, 0, f.queries);
  const std::vector<EntityEvent> events = Events(set.names);
  HashEmbedderOptions eo;
  eo.dimension = f.dim;
  Result<std::unique_ptr<Embedder>> embedder = NewHashEmbedder(eo);
  Die(embedder.status(), "embedder");

  std::vector<Row> rows;
  std::vector<float> vectors;
  rows.push_back(Embedding(f, **embedder, set.names, &vectors));
  rows.push_back(RawHnsw(f, vectors));
  Row raw_e{"(r+e) raw hnswlib including the embedding", rows[0].seconds + rows[1].seconds,
            set.names.size(), rows[0].cpu_seconds + rows[1].cpu_seconds};
  rows.push_back(raw_e);
  Result<std::unique_ptr<VectorStore>> store =
      OpenVectorStore(StoreOptions(f, embedder->get(), "direct"));
  Die(store.status(), "open store");
  rows.push_back(Direct(f, **store, events));
  rows.push_back(ThroughLeg(f, **embedder, events));

  const double raw = rows[1].items / rows[1].seconds, raw_e_rate = raw_e.items / raw_e.seconds;
  std::printf(
      "| upserts (%zu names, d=%zu, M=%zu, ef_construction=%zu, batch %zu, index "
      "threads %zu) | items/s | × (r) | × (r+e) | CPU µs/item | CPU × (r) |\n"
      "|---|---:|---:|---:|---:|---:|\n",
      set.names.size(), f.dim, f.m, f.ef_construction, f.batch, f.index_threads);
  for (const Row& r : rows) {
    const double rate = r.items / r.seconds;
    const double cpu_us = 1e6 * r.cpu_seconds / r.items;
    std::printf("| %s | %.0f | %.2f | %.2f | %.1f | %.2f |\n", r.name.c_str(), rate, rate / raw,
                rate / raw_e_rate, cpu_us, cpu_us / (1e6 * rows[1].cpu_seconds / rows[1].items));
  }
  SearchTable(f, **store, set);
  store->reset();
  if (f.remove_dir) std::filesystem::remove_all(f.dir);
  return 0;
}

}  // namespace
}  // namespace tandem::bench

int main(int argc, char** argv) { return tandem::bench::Main(argc, argv); }
