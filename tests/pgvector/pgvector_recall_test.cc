// Search quality of pgvector's HNSW index through the store: recall@10 of
// Search against an exact brute force computed here, on random unit vectors
// (the hard case for HNSW: no clusters). Also prints, for information only,
// the per-query latency of the same searches on the embedded hnswlib store
// (timing never decides this test; PGlite is single-threaded WASM).

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "pgvector_test_util.h"

namespace tandem::pgvector_test {
namespace {

constexpr size_t kDocs = 3000;
constexpr size_t kDim = 32;
constexpr size_t kQueries = 100;
constexpr size_t kK = 10;

std::vector<float> RandomUnit(Random& rnd) {
  std::vector<float> v(kDim);
  double sum = 0;
  for (float& x : v) {
    // Sum of uniforms: near-Gaussian, so directions are close to uniform.
    double g = 0;
    for (int i = 0; i < 4; ++i) g += rnd.NextDouble() - 0.5;
    x = static_cast<float>(g);
    sum += g * g;
  }
  for (float& x : v) x = static_cast<float>(x / std::sqrt(sum));
  return v;
}

// Maps the text "doc <i>" to the i-th random vector (a lookup "model").
class TableEmbedder final : public Embedder {
 public:
  explicit TableEmbedder(const std::vector<std::vector<float>>* table) : table_(table) {}
  size_t dimension() const override { return kDim; }
  std::string model_id() const override { return "table:random:d=32"; }
  Status Embed(std::span<const std::string_view> texts, std::vector<float>* out) override {
    out->clear();
    for (std::string_view t : texts) {
      const size_t i = std::stoul(std::string(t.substr(4)));
      if (i >= table_->size()) return Status::InvalidArgument("unknown text");
      out->insert(out->end(), (*table_)[i].begin(), (*table_)[i].end());
    }
    return Status::OK();
  }

 private:
  const std::vector<std::vector<float>>* table_;
};

std::vector<std::string> BruteForce(const std::vector<std::vector<float>>& docs,
                                    const std::vector<float>& q) {
  std::vector<std::pair<float, size_t>> scored;
  for (size_t i = 0; i < docs.size(); ++i) {
    float dot = 0;
    for (size_t j = 0; j < kDim; ++j) dot += docs[i][j] * q[j];
    scored.emplace_back(dot, i);
  }
  std::partial_sort(scored.begin(), scored.begin() + kK, scored.end(),
                    [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<std::string> out;
  for (size_t i = 0; i < kK; ++i) out.push_back("d" + std::to_string(scored[i].second));
  return out;
}

struct Quality {
  double recall = 0;
  double micros_per_query = 0;
};

Quality Measure(VectorStore& store, const std::vector<std::vector<float>>& docs,
                const std::vector<std::vector<float>>& queries) {
  size_t found = 0;
  const auto start = std::chrono::steady_clock::now();
  for (const std::vector<float>& qv : queries) {
    VectorQuery q;
    q.vector = qv;
    q.k = kK;
    Result<std::vector<VectorHit>> hits = store.Search(q);
    EXPECT_TRUE(hits.ok()) << hits.status().ToString();
    if (!hits.ok()) continue;
    const std::vector<std::string> truth = BruteForce(docs, qv);
    for (const VectorHit& h : *hits) {
      found += std::count(truth.begin(), truth.end(), h.entity_id);
    }
  }
  const double micros =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
  return {static_cast<double>(found) / (kK * queries.size()), micros / queries.size()};
}

Status Load(VectorStore& store, size_t n) {
  for (size_t first = 0; first < n; first += 500) {
    std::vector<StoreEvent> batch;
    for (size_t i = first; i < std::min(n, first + 500); ++i) {
      StoreEvent e = store_test::Ev(EventType::kCreate, "doc", "d" + std::to_string(i), i,
                                    R"({"i":)" + std::to_string(i) + "}");
      e.event.text_for_embedding = "doc " + std::to_string(i);
      batch.push_back(std::move(e));
    }
    TANDEM_ASSIGN_OR_RETURN(BatchResult r, store.ApplyBatch(batch));
    if (r.counts.applied != batch.size()) return Status::Aborted("not every event applied");
  }
  return Status::OK();
}

TEST(PgVectorRecall, HnswRecallAt10IsAtLeastPoint9AgainstBruteForce) {
  Random rnd(42);
  std::vector<std::vector<float>> docs, queries;
  for (size_t i = 0; i < kDocs; ++i) docs.push_back(RandomUnit(rnd));
  for (size_t i = 0; i < kQueries; ++i) queries.push_back(RandomUnit(rnd));
  TableEmbedder embedder(&docs);

  PgLocation location;
  PgVectorStoreOptions o = PgStoreOptions(location.prefix(), &embedder);
  Result<std::unique_ptr<VectorStore>> pg = OpenPgVectorStore(o);
  STORE_ASSERT_OK(pg);
  const auto load_start = std::chrono::steady_clock::now();
  STORE_ASSERT_OK(Load(**pg, kDocs));
  const double load_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
  EXPECT_EQ((*pg)->IndexSizes()["doc"], kDocs);
  const Quality pgq = Measure(**pg, docs, queries);
  EXPECT_GE(pgq.recall, 0.9);

  store_test::TempDir dir;
  VectorStoreOptions ro;
  ro.dir = dir.path() + "/v";
  ro.embedder = &embedder;
  ro.sync = false;
  Result<std::unique_ptr<VectorStore>> rocks = OpenVectorStore(ro);
  STORE_ASSERT_OK(rocks);
  STORE_ASSERT_OK(Load(**rocks, kDocs));
  const Quality rq = Measure(**rocks, docs, queries);
  std::printf(
      "recall@10 over %zu random %zu-d unit vectors, %zu queries (M=16, ef_construction=100, "
      "ef_search=64):\n  pgvector (PGlite): recall %.3f, %.0f us/query, load %.1f s\n"
      "  hnswlib (embedded): recall %.3f, %.0f us/query\n",
      kDocs, kDim, kQueries, pgq.recall, pgq.micros_per_query, load_s, rq.recall,
      rq.micros_per_query);
}

}  // namespace
}  // namespace tandem::pgvector_test
