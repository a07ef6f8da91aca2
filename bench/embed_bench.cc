// embed_bench: the hash embedder's speed and its name-matching quality.
//
//  1. Throughput, one thread, --names generated person names (default 100k):
//     (b) baseline: NormalizeText + XXH3 of each normalised name, the floor
//         cost of decoding, folding and touching the bytes;
//     (e) Embed() in batches of --batch names (the vector leg's call);
//     (1) Embed() one name per call, timed per call for p50/p99.
//     Reported as names/s, ns per name and the ratio to (b).
//  2. Quality: recall@1/5/10 of the intended entity by exact cosine (brute
//     force, no index) for --queries misspelled queries (1–2 variants each,
//     src/gen) against --persons person and --companies company names, for
//     the default options and alternatives (n-gram ranges, word weight,
//     dimension).
//
//   embed_bench [--names N] [--batch B] [--persons P] [--companies C]
//               [--queries Q] [--seed S] [--quality 0|1]
//
// Prints Markdown tables.
#define XXH_INLINE_ALL
#include <xxhash.h>

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "embed/text_normalize.h"
#include "gen/names.h"
#include "tandem/embed.h"

namespace tandem::bench {
namespace {

using Steady = std::chrono::steady_clock;

struct Flags {
  size_t names = 100'000;
  size_t batch = 1000;
  size_t persons = 2000;
  size_t companies = 500;
  size_t queries = 1000;
  uint64_t seed = 1;
  bool quality = true;
};

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const size_t v = std::strtoull(argv[i + 1], nullptr, 10);
    if (k == "--names") {
      f.names = std::max<size_t>(1, v);
    } else if (k == "--batch") {
      f.batch = std::max<size_t>(1, v);
    } else if (k == "--persons") {
      f.persons = v;
    } else if (k == "--companies") {
      f.companies = v;
    } else if (k == "--queries") {
      f.queries = v;
    } else if (k == "--quality") {
      f.quality = v != 0;
    } else if (k == "--seed") {
      f.seed = v;
    } else {
      std::fprintf(stderr, "unknown flag %s\n", k.c_str());
      std::exit(2);
    }
  }
  return f;
}

void Die(const Status& s, const char* what) {
  if (s.ok()) return;
  std::fprintf(stderr, "%s: %s\n", what, s.ToString().c_str());
  std::exit(1);
}

std::unique_ptr<Embedder> MakeEmbedder(const HashEmbedderOptions& o) {
  Result<std::unique_ptr<Embedder>> e = NewHashEmbedder(o);
  Die(e.status(), "NewHashEmbedder");
  return std::move(e).value();
}

// CPU seconds of the calling thread: on a shared machine, unlike wall time,
// not inflated by other processes taking the core.
double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(i), v.end());
  return v[i];
}

void Throughput(const Flags& f) {
  gen::NameGenerator g(f.seed);
  std::vector<std::string> names(f.names);
  size_t bytes = 0;
  for (std::string& n : names) {
    n = g.PersonName();
    bytes += n.size();
  }
  std::vector<std::string_view> views(names.begin(), names.end());

  // (b) the floor: decode, fold and hash each name once.
  uint64_t sink = 0;
  std::string norm;
  double start = ThreadCpuSeconds();
  for (std::string_view n : views) {
    embed::NormalizeText(n, &norm);
    sink ^= XXH3_64bits(norm.data(), norm.size());
  }
  const double base_s = ThreadCpuSeconds() - start;

  std::unique_ptr<Embedder> e = MakeEmbedder(HashEmbedderOptions{});
  std::vector<float> out;
  start = ThreadCpuSeconds();
  for (size_t i = 0; i < views.size(); i += f.batch) {
    const size_t n = std::min(f.batch, views.size() - i);
    Die(e->Embed(std::span<const std::string_view>(views).subspan(i, n), &out), "Embed");
    sink ^= static_cast<uint64_t>(out[0] * 1e6f);
  }
  const double batch_s = ThreadCpuSeconds() - start;

  std::vector<double> ns;
  ns.reserve(views.size());
  start = ThreadCpuSeconds();
  for (size_t i = 0; i < views.size(); ++i) {
    const auto t = Steady::now();
    Die(e->Embed(std::span<const std::string_view>(views).subspan(i, 1), &out), "Embed");
    ns.push_back(std::chrono::duration<double, std::nano>(Steady::now() - t).count());
  }
  const double single_s = ThreadCpuSeconds() - start;

  const double count = static_cast<double>(views.size());
  std::printf(
      "## Hash embedder throughput (one thread, thread CPU time; %zu person names, "
      "mean %.1f bytes, %s)\n\n",
      views.size(), static_cast<double>(bytes) / count, e->model_id().c_str());
  std::printf("| path | names/s | ns/name | p50 ns | p99 ns | ratio to (b) |\n");
  std::printf("|---|---:|---:|---:|---:|---:|\n");
  std::printf("| (b) baseline: NormalizeText + XXH3 | %.0f | %.0f | | | 1.00 |\n", count / base_s,
              base_s * 1e9 / count);
  std::printf("| (e) Embed, batches of %zu | %.0f | %.0f | | | %.2f |\n", f.batch, count / batch_s,
              batch_s * 1e9 / count, base_s / batch_s);
  std::printf("| (1) Embed, one name per call | %.0f | %.0f | %.0f | %.0f | %.2f |\n\n",
              count / single_s, single_s * 1e9 / count, Percentile(ns, 0.5),
              Percentile(ns, 0.99), base_s / single_s);
  if (sink == 42) std::printf(" \n");  // keeps the work observable
}

struct Recall {
  double at1 = 0, at5 = 0, at10 = 0;
  double target_cos = 0;  // mean cosine of a query and its entity
  double other_cos = 0;   // mean cosine of a query and the other entities
};

// Rank of the target = entities scoring at least as high (ties count
// against the target); recall@k = share of queries with rank < k.
Recall Measure(Embedder& e, const gen::NameMatchingSet& set) {
  const size_t d = e.dimension();
  std::vector<std::string_view> names(set.names.begin(), set.names.end());
  std::vector<std::string_view> queries;
  for (const gen::NameQuery& q : set.queries) queries.push_back(q.text);
  std::vector<float> nv, qv;
  Die(e.Embed(names, &nv), "Embed names");
  Die(e.Embed(queries, &qv), "Embed queries");
  Recall r;
  std::vector<float> scores(names.size());
  for (size_t qi = 0; qi < queries.size(); ++qi) {
    const float* q = &qv[qi * d];
    for (size_t ni = 0; ni < names.size(); ++ni) {
      const float* v = &nv[ni * d];
      float dot = 0;
      for (size_t k = 0; k < d; ++k) dot += q[k] * v[k];
      scores[ni] = dot;
    }
    const float target = scores[set.queries[qi].target];
    size_t rank = 0;
    double others = 0;
    for (size_t ni = 0; ni < names.size(); ++ni) {
      if (ni == set.queries[qi].target) continue;
      others += scores[ni];
      if (scores[ni] >= target) ++rank;
    }
    r.target_cos += target;
    r.other_cos += others / static_cast<double>(std::max<size_t>(1, names.size() - 1));
    r.at1 += rank < 1;
    r.at5 += rank < 5;
    r.at10 += rank < 10;
  }
  const double n = static_cast<double>(std::max<size_t>(1, queries.size()));
  r.at1 /= n;
  r.at5 /= n;
  r.at10 /= n;
  r.target_cos /= n;
  r.other_cos /= n;
  return r;
}

void Quality(const Flags& f) {
  const gen::NameMatchingSet set =
      gen::MakeNameMatchingSet(f.seed, f.persons, f.companies, f.queries);
  struct Config {
    std::string what;
    HashEmbedderOptions o;
  };
  std::vector<Config> configs;
  configs.push_back({"default", HashEmbedderOptions{}});
  const HashEmbedderOptions d;
  auto add = [&](uint32_t lo, uint32_t hi, float w, size_t dim) {
    HashEmbedderOptions o;
    o.min_ngram = lo, o.max_ngram = hi, o.word_weight = w, o.dimension = dim;
    char what[96];
    std::snprintf(what, sizeof(what), "n-grams %u-%u, word weight %g, d=%zu", lo, hi,
                  static_cast<double>(w), dim);
    configs.push_back({what, o});
  };
  for (auto [lo, hi] : {std::pair{1u, 2u}, {1u, 3u}, {2u, 3u}, {2u, 4u}, {3u, 3u}}) {
    add(lo, hi, d.word_weight, d.dimension);
  }
  add(2, 3, 1.0f, d.dimension);  // the defaults before tuning
  for (float w : {0.0f, 1.0f, 2.0f}) add(d.min_ngram, d.max_ngram, w, d.dimension);
  for (size_t dim : {128, 512, 1024}) add(d.min_ngram, d.max_ngram, d.word_weight, dim);

  std::printf("## Name matching: recall of the intended entity (exact cosine)\n\n");
  std::printf("%zu entity names (%zu persons, %zu companies), %zu queries with 1-2 variants\n\n",
              set.names.size(), f.persons, f.companies, set.queries.size());
  std::printf(
      "| options | model_id | recall@1 | recall@5 | recall@10 | cos(query, entity) | "
      "cos(query, others) |\n");
  std::printf("|---|---|---:|---:|---:|---:|---:|\n");
  for (const Config& c : configs) {
    std::unique_ptr<Embedder> e = MakeEmbedder(c.o);
    const Recall r = Measure(*e, set);
    std::printf("| %s | %s | %.3f | %.3f | %.3f | %.3f | %.3f |\n", c.what.c_str(),
                e->model_id().c_str(), r.at1, r.at5, r.at10, r.target_cos, r.other_cos);
  }
  std::printf("\n");
}

}  // namespace
}  // namespace tandem::bench

int main(int argc, char** argv) {
  using namespace tandem::bench;
  const Flags f = ParseFlags(argc, argv);
  Throughput(f);
  if (f.quality) Quality(f);
  return 0;
}
