// vindex_bench: what the vector index adapter costs and which HNSW parameters
// to choose. Generated L2-normalised vectors, two kinds:
//   random     uniform on the unit sphere (the hardest case for HNSW);
//   clustered  a mixture of Gaussians around n/100 random centres, closer to
//              real embeddings (cosine to the centre about 0.8).
// Sections, each a Markdown table:
//  (1) inserts/s of the adapter (VectorIndex::Upsert, growing from its default
//      capacity) vs raw hnswlib addPoint (pre-sized) at the same M and
//      ef_construction, with 1 and --threads threads, at each --dims;
//  (2) M x ef_construction: build rate, heap bytes per vector, and for each
//      search ef the single-thread QPS and recall@10 against SearchExact;
//  (3) filtered search at several selectivities (QPS, recall@10);
//  (4) snapshot save / load time and size vs rebuilding the index.
//
//   vindex_bench [--n N] [--queries Q] [--dims 256,384] [--threads T]
//                [--data random|clustered|both] [--dir D] [--sections 1234]
#include <malloc.h>
#include <stdlib.h>

// hnswlib.h defines non-inline functions and variables that
// src/vindex/hnsw_index.cc (linked in through tandem_vindex) defines too; give
// this file's copies other names (namespace hnswlib included).
#define hnswlib vindex_bench_hnswlib
#define cpuid vindex_bench_cpuid
#define xgetbv vindex_bench_xgetbv
#define AVXCapable vindex_bench_AVXCapable
#define AVX512Capable vindex_bench_AVX512Capable
#include <hnswlib/hnswlib.h>
#undef cpuid
#undef xgetbv
#undef AVXCapable
#undef AVX512Capable

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tandem/env.h"
#include "vindex/vector_index.h"

namespace tandem::bench {
namespace {

using Clock = std::chrono::steady_clock;
using Vectors = std::vector<std::vector<float>>;

struct Flags {
  size_t n = 10'000;
  size_t queries = 200;
  std::vector<size_t> dims = {256, 384};
  size_t threads = 2;
  std::string data = "both";
  std::string dir;
  std::string sections = "1234";
  bool remove_dir = false;
};

std::vector<size_t> ParseList(const char* s) {
  std::vector<size_t> out;
  for (const char* p = s; *p;) {
    char* end = nullptr;
    out.push_back(std::strtoul(p, &end, 10));
    p = *end == ',' ? end + 1 : end;
    if (end == p && *p) break;
  }
  return out;
}

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const char* v = argv[i + 1];
    if (k == "--n") {
      f.n = std::max<size_t>(100, std::strtoul(v, nullptr, 10));
    } else if (k == "--queries") {
      f.queries = std::max<size_t>(1, std::strtoul(v, nullptr, 10));
    } else if (k == "--dims") {
      f.dims = ParseList(v);
    } else if (k == "--threads") {
      f.threads = std::max<size_t>(1, std::strtoul(v, nullptr, 10));
    } else if (k == "--data") {
      f.data = v;
    } else if (k == "--dir") {
      f.dir = v;
    } else if (k == "--sections") {
      f.sections = v;
    } else {
      std::fprintf(stderr, "unknown flag %s\n", k.c_str());
      std::exit(2);
    }
  }
  if (f.dir.empty()) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "tandem-vindexbench-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) {
      std::perror("mkdtemp");
      std::exit(1);
    }
    f.dir = tmpl;
    f.remove_dir = true;
  }
  return f;
}

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

double Gaussian(Random& rng) {
  const double u1 = std::max(rng.NextDouble(), 1e-300);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * rng.NextDouble());
}

void Normalise(std::vector<float>* v) {
  double norm = 0;
  for (float x : *v) norm += static_cast<double>(x) * x;
  for (auto& x : *v) x = static_cast<float>(x / std::sqrt(norm));
}

std::vector<float> RandomUnit(Random& rng, size_t dim) {
  std::vector<float> v(dim);
  for (auto& x : v) x = static_cast<float>(Gaussian(rng));
  Normalise(&v);
  return v;
}

// `n` vectors (and `q` queries from the same distribution).
Vectors Generate(const std::string& kind, size_t n, size_t dim, uint64_t seed) {
  Random rng(seed);
  Vectors out;
  out.reserve(n);
  if (kind == "random") {
    for (size_t i = 0; i < n; ++i) out.push_back(RandomUnit(rng, dim));
    return out;
  }
  Random centre_rng(4242 + dim);  // the same centres for data and queries
  Vectors centres;
  for (size_t c = 0; c < std::max<size_t>(1, n / 100); ++c) centres.push_back(RandomUnit(centre_rng, dim));
  const double sigma = 0.75 / std::sqrt(static_cast<double>(dim));
  for (size_t i = 0; i < n; ++i) {
    std::vector<float> v = centres[rng.Uniform(centres.size())];
    for (auto& x : v) x += static_cast<float>(sigma * Gaussian(rng));
    Normalise(&v);
    out.push_back(std::move(v));
  }
  return out;
}

size_t HeapInUse() { return mallinfo2().uordblks; }

// Raw hnswlib, the baseline: pre-sized, addPoint from `threads` threads.
double RawInsertRate(const Vectors& data, size_t m, size_t efc, size_t threads) {
  hnswlib::InnerProductSpace space(data[0].size());
  hnswlib::HierarchicalNSW<float> index(&space, data.size(), m, efc, 100);
  std::atomic<size_t> next{0};
  const auto start = Clock::now();
  std::vector<std::thread> pool;
  for (size_t t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (size_t i; (i = next.fetch_add(1)) < data.size();) index.addPoint(data[i].data(), i);
    });
  }
  for (auto& t : pool) t.join();
  return static_cast<double>(data.size()) / Seconds(start);
}

// The adapter from `threads` threads; returns inserts/s (and the index).
double AdapterInsertRate(const Vectors& data, const VectorIndexOptions& options, size_t threads,
                         std::unique_ptr<VectorIndex>* out = nullptr) {
  auto index = VectorIndex::Create(options).value();
  std::atomic<size_t> next{0};
  std::atomic<size_t> errors{0};
  const auto start = Clock::now();
  std::vector<std::thread> pool;
  for (size_t t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (size_t i; (i = next.fetch_add(1)) < data.size();) {
        if (!index->Upsert(i, data[i]).ok()) errors++;
      }
    });
  }
  for (auto& t : pool) t.join();
  const double rate = static_cast<double>(data.size()) / Seconds(start);
  if (errors.load() != 0) std::fprintf(stderr, "%zu upserts failed\n", errors.load());
  if (out != nullptr) *out = std::move(index);
  return rate;
}

VectorIndexOptions Options(size_t dim, size_t m, size_t efc) {
  VectorIndexOptions o;
  o.dimension = dim;
  o.m = m;
  o.ef_construction = efc;
  return o;
}

std::vector<std::string> DataKinds(const Flags& f) {
  if (f.data == "both") return {"random", "clustered"};
  return {f.data};
}

void InsertSection(const Flags& f) {
  const VectorIndexOptions defaults;
  std::printf("\n## (1) Inserts/s: adapter vs raw hnswlib (M %zu, ef_construction %zu, n %zu)\n\n",
              defaults.m, defaults.ef_construction, f.n);
  std::printf("| data | dim | threads | raw hnswlib/s | adapter/s | adapter / raw | speed-up vs 1 thread |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  for (const auto& kind : DataKinds(f)) {
    for (size_t dim : f.dims) {
      const Vectors data = Generate(kind, f.n, dim, 1);
      double adapter_single = 0;
      for (size_t threads : {size_t{1}, f.threads}) {
        if (threads == f.threads && threads == 1 && adapter_single > 0) break;
        const double raw = RawInsertRate(data, defaults.m, defaults.ef_construction, threads);
        const double adapter =
            AdapterInsertRate(data, Options(dim, defaults.m, defaults.ef_construction), threads);
        if (threads == 1) adapter_single = adapter;
        std::printf("| %s | %zu | %zu | %.0f | %.0f | %.2f | %.2f |\n", kind.c_str(), dim, threads,
                    raw, adapter, adapter / raw, adapter / adapter_single);
        std::fflush(stdout);
      }
    }
  }
}

struct Truth {
  Vectors queries;
  std::vector<std::set<uint64_t>> top10;
};

Truth ExactTruth(const VectorIndex& index, const Vectors& queries,
                 const std::function<bool(uint64_t)>* filter = nullptr) {
  Truth t;
  t.queries = queries;
  SearchParams p;
  p.filter = filter;
  for (const auto& q : queries) {
    std::set<uint64_t> s;
    const std::vector<SearchHit> hits = index.SearchExact(q, 10, p).value();
    for (const auto& h : hits) s.insert(h.label);
    t.top10.push_back(std::move(s));
  }
  return t;
}

// (QPS, recall@10) of Search with `params`, single thread.
std::pair<double, double> Measure(const VectorIndex& index, const Truth& truth,
                                  const SearchParams& params) {
  size_t found = 0, expected = 0;
  const auto start = Clock::now();
  for (size_t i = 0; i < truth.queries.size(); ++i) {
    const std::vector<SearchHit> hits = index.Search(truth.queries[i], 10, params).value();
    for (const auto& h : hits) found += truth.top10[i].count(h.label);
    expected += truth.top10[i].size();
  }
  const double qps = static_cast<double>(truth.queries.size()) / Seconds(start);
  return {qps, expected == 0 ? 1.0 : static_cast<double>(found) / static_cast<double>(expected)};
}

void ParameterSection(const Flags& f) {
  const size_t dim = f.dims.front();
  const std::vector<size_t> efs = {16, 32, 64, 128, 256};
  for (const auto& kind : DataKinds(f)) {
    std::printf("\n## (2) M x ef_construction, %s data, dim %zu, n %zu, %zu queries, k 10\n\n",
                kind.c_str(), dim, f.n, f.queries);
    // hnswlib's per-index fixed cost (65536 update mutexes, ...), left out of
    // the per-vector figure.
    const size_t before_empty = HeapInUse();
    auto empty = VectorIndex::Create([&] {
                   VectorIndexOptions o = Options(dim, 16, 100);
                   o.initial_capacity = 1;
                   return o;
                 }())
                     .value();
    const size_t fixed_heap = HeapInUse() - before_empty;
    empty.reset();
    std::printf("(fixed heap per index, not in bytes/vector: %.1f MB)\n\n", fixed_heap / 1e6);
    std::printf("| M | ef_c | build/s | bytes/vector |");
    for (size_t ef : efs) std::printf(" ef %zu: recall / QPS |", ef);
    std::printf("\n|---|---|---|---|");
    for (size_t i = 0; i < efs.size(); ++i) std::printf("---|");
    std::printf("\n");
    const Vectors data = Generate(kind, f.n, dim, 1);
    const Vectors queries = Generate(kind, f.queries, dim, 2);
    Truth truth;
    for (size_t m : {8, 16, 32}) {
      for (size_t efc : {50, 100, 200}) {
        VectorIndexOptions o = Options(dim, m, efc);
        o.initial_capacity = f.n;  // no growth slack in the memory figure
        const size_t heap_before = HeapInUse() + fixed_heap;
        std::unique_ptr<VectorIndex> index;
        const double rate = AdapterInsertRate(data, o, 1, &index);
        const double bytes =
            static_cast<double>(HeapInUse() - heap_before) / static_cast<double>(f.n);
        if (truth.queries.empty()) truth = ExactTruth(*index, queries);
        std::printf("| %zu | %zu | %.0f | %.0f |", m, efc, rate, bytes);
        for (size_t ef : efs) {
          SearchParams p;
          p.ef = ef;
          auto [qps, recall] = Measure(*index, truth, p);
          std::printf(" %.3f / %.0f |", recall, qps);
        }
        std::printf("\n");
        std::fflush(stdout);
      }
    }
    // The exact scan, for scale.
    VectorIndexOptions o = Options(dim, 16, 100);
    std::unique_ptr<VectorIndex> index;
    (void)AdapterInsertRate(data, o, 1, &index);
    const auto start = Clock::now();
    for (const auto& q : queries) (void)index->SearchExact(q, 10, {}).value();
    std::printf("\nExact scan (SearchExact) on the same data: %.0f QPS.\n",
                static_cast<double>(queries.size()) / Seconds(start));
  }
}

void FilterSection(const Flags& f) {
  const size_t dim = f.dims.front();
  const VectorIndexOptions defaults;
  std::printf("\n## (3) Filtered search, random data, dim %zu, n %zu, k 10, ef %zu\n\n", dim, f.n,
              SearchParams{}.ef);
  std::printf("| labels passing | exact_scan_fraction | recall@10 | QPS |\n|---|---|---|---|\n");
  const Vectors data = Generate("random", f.n, dim, 1);
  const Vectors queries = Generate("random", f.queries, dim, 2);
  std::unique_ptr<VectorIndex> index;
  (void)AdapterInsertRate(data, Options(dim, defaults.m, defaults.ef_construction), 1, &index);
  for (uint64_t modulus : {1, 2, 10, 50, 100, 1000}) {
    const std::function<bool(uint64_t)> filter = [modulus](uint64_t l) { return l % modulus == 0; };
    const Truth truth = ExactTruth(*index, queries, &filter);
    for (double fraction : {0.1, 1.0}) {
      if (modulus == 1 && fraction == 1.0) continue;
      SearchParams p;
      p.filter = &filter;
      p.exact_scan_fraction = fraction;
      auto [qps, recall] = Measure(*index, truth, p);
      std::printf("| %.1f%% | %.1f | %.3f | %.0f |\n", 100.0 / static_cast<double>(modulus),
                  fraction, recall, qps);
      std::fflush(stdout);
    }
  }
}

void SnapshotSection(const Flags& f) {
  const size_t dim = f.dims.front();
  const VectorIndexOptions defaults;
  std::printf("\n## (4) Snapshot vs rebuild, random data, dim %zu, n %zu, M %zu, ef_c %zu\n\n",
              dim, f.n, defaults.m, defaults.ef_construction);
  const Vectors data = Generate("random", f.n, dim, 1);
  std::unique_ptr<VectorIndex> index;
  const auto build_start = Clock::now();
  (void)AdapterInsertRate(data, Options(dim, defaults.m, defaults.ef_construction), 1, &index);
  const double rebuild = Seconds(build_start);
  auto fs = NewPosixFileSystem();
  const std::string path = f.dir + "/index.tvix";
  auto start = Clock::now();
  Status s = index->SaveSnapshot(*fs, path, 1);
  const double save = Seconds(start);
  start = Clock::now();
  auto loaded = VectorIndex::LoadSnapshot(*fs, path, nullptr);
  const double load = Seconds(start);
  if (!s.ok() || !loaded.ok()) {
    std::fprintf(stderr, "snapshot failed: %s %s\n", s.ToString().c_str(),
                 loaded.status().ToString().c_str());
    return;
  }
  const double mb = static_cast<double>(fs->GetFileSize(path).value()) / 1e6;
  std::printf("| rebuild (1 thread) s | save s (incl. fdatasync) | load s | size MB | bytes/vector | rebuild / load |\n");
  std::printf("|---|---|---|---|---|---|\n");
  std::printf("| %.2f | %.3f | %.3f | %.1f | %.0f | %.0fx |\n", rebuild, save, load, mb,
              mb * 1e6 / static_cast<double>(f.n), rebuild / load);
  (void)fs->DeleteFile(path);
}

int Main(int argc, char** argv) {
  const Flags f = ParseFlags(argc, argv);
  std::printf("# vindex_bench\n\ncommand:");
  for (int i = 0; i < argc; ++i) std::printf(" %s", argv[i]);
  std::printf("\n\nn %zu, queries %zu, threads %zu, data %s, hardware threads %u, SIMD: %s\n", f.n,
              f.queries, f.threads, f.data.c_str(), std::thread::hardware_concurrency(),
#if defined(__AVX512F__)
              "AVX-512"
#elif defined(__AVX__)
              "AVX"
#else
              "SSE"
#endif
  );
  const auto start = Clock::now();
  if (f.sections.find('1') != std::string::npos) InsertSection(f);
  if (f.sections.find('2') != std::string::npos) ParameterSection(f);
  if (f.sections.find('3') != std::string::npos) FilterSection(f);
  if (f.sections.find('4') != std::string::npos) SnapshotSection(f);
  std::printf("\ntotal %.1f s\n", Seconds(start));
  if (f.remove_dir) std::filesystem::remove_all(f.dir);
  return 0;
}

}  // namespace
}  // namespace tandem::bench

int main(int argc, char** argv) { return tandem::bench::Main(argc, argv); }
