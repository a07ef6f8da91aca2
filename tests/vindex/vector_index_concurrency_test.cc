// VectorIndex under concurrent use: parallel upserts (growth included),
// removes, searches and snapshots. Outcomes are checked after joining, never
// by timing; every loop is bounded. Meant to run under TSan too
// (-DTANDEM_TSAN=ON); see src/vindex/README.md for what hnswlib itself races on.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "vindex/vector_index.h"
#include "vindex_test_util.h"

// hnswlib 0.6.2 races by design (unlocked reads of link lists and vectors
// during searches, a shared level generator, nested node locks TSan takes for
// an inversion); src/vindex/README.md explains why each is benign for us. Only
// reports with an hnswlib frame are silenced: the adapter's own locking stays
// checked.
#if defined(__SANITIZE_THREAD__)
extern "C" const char* __tsan_default_suppressions() {
  return "race:hnswlib::\n"
         "deadlock:hnswlib::\n";
}
#endif

namespace tandem {
namespace {

using vindex_test::ExpectRanked;
using vindex_test::Options;
using vindex_test::RandomUnits;

constexpr size_t kDim = 32;
constexpr size_t kWriters = 4;
constexpr size_t kPerWriter = 400;
constexpr size_t kMaxReaderRounds = 100'000;

// Writer w owns labels [w * kPerWriter, (w + 1) * kPerWriter); it removes every
// tenth label right after inserting it.
bool RemovedByWriter(uint64_t label) { return label % 10 == 9; }

TEST(VectorIndexConcurrency, ParallelUpsertsRemovesAndSearches) {
  const auto vectors = RandomUnits(20, kWriters * kPerWriter, kDim);
  auto index = VectorIndex::Create(Options(kDim, /*capacity=*/4)).value();
  std::atomic<size_t> writers_left{kWriters};
  std::atomic<size_t> errors{0};
  std::atomic<size_t> searches{0};

  std::vector<std::thread> threads;
  for (size_t w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (size_t i = 0; i < kPerWriter; ++i) {
        const uint64_t label = w * kPerWriter + i;
        if (!index->Upsert(label, vectors[label]).ok()) errors++;
        if (RemovedByWriter(label) && !index->Remove(label).ok()) errors++;
      }
      writers_left--;
    });
  }
  for (size_t r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      for (size_t round = 0; round < kMaxReaderRounds && writers_left.load() > 0; ++round) {
        const auto& q = vectors[(round * 7 + r) % vectors.size()];
        auto hits = round % 16 == 0 ? index->SearchExact(q, 10, {}) : index->Search(q, 10, {});
        if (!hits.ok()) {
          errors++;
          continue;
        }
        ExpectRanked(*hits);
        (void)index->Contains(round % vectors.size());
        searches++;
      }
    });
  }
  for (auto& t : threads) t.join();

  EXPECT_EQ(errors.load(), 0u);
  size_t expected_live = 0;
  size_t self_found = 0;
  for (uint64_t label = 0; label < vectors.size(); ++label) {
    const bool live = !RemovedByWriter(label);
    expected_live += live;
    ASSERT_EQ(index->Contains(label), live) << label;
    if (!live) continue;
    EXPECT_EQ(index->SearchExact(vectors[label], 1, {}).value()[0].label, label);
    self_found += index->Search(vectors[label], 1, {}).value()[0].label == label;
  }
  EXPECT_EQ(index->size(), expected_live);
  EXPECT_GE(self_found, expected_live * 99 / 100);
}

TEST(VectorIndexConcurrency, SameLabelsFromManyThreadsStayConsistent) {
  constexpr size_t kLabels = 50;
  auto index = VectorIndex::Create(Options(kDim, /*capacity=*/8)).value();
  std::atomic<size_t> errors{0};
  std::vector<std::thread> threads;
  for (size_t t = 0; t < kWriters; ++t) {
    threads.emplace_back([&, t] {
      const auto mine = RandomUnits(30 + t, 300, kDim);
      for (size_t i = 0; i < mine.size(); ++i) {
        const uint64_t label = i % kLabels;
        Status s = i % 7 == 3 ? index->Remove(label) : index->Upsert(label, mine[i]);
        if (!s.ok() && errors++ == 0) ADD_FAILURE() << s.ToString();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0u);
  EXPECT_LE(index->size(), kLabels);
  // The graph is intact: every label takes a known vector and is found by it.
  const auto final_vectors = RandomUnits(40, kLabels, kDim);
  for (uint64_t label = 0; label < kLabels; ++label) {
    VINDEX_ASSERT_OK(index->Upsert(label, final_vectors[label]));
  }
  EXPECT_EQ(index->size(), kLabels);
  for (uint64_t label = 0; label < kLabels; ++label) {
    auto hits = index->Search(final_vectors[label], 1, {}).value();
    ASSERT_EQ(hits.size(), 1u);
    EXPECT_EQ(hits[0].label, label);
    EXPECT_NEAR(hits[0].score, 1.0f, 1e-5);
  }
}

TEST(VectorIndexConcurrency, SnapshotsTakenDuringInsertsLoadConsistently) {
  const auto vectors = RandomUnits(50, 1200, kDim);
  auto fs = NewMemFileSystem();
  VINDEX_ASSERT_OK(fs->CreateDirs("/snap"));
  auto index = VectorIndex::Create(Options(kDim, 16)).value();
  std::atomic<bool> done{false};
  std::atomic<size_t> errors{0};
  std::thread writer([&] {
    for (uint64_t label = 0; label < vectors.size(); ++label) {
      if (!index->Upsert(label, vectors[label]).ok()) errors++;
    }
    done = true;
  });
  size_t snapshots = 0;
  for (uint64_t seq = 1; seq <= 1000; ++seq) {  // at least one, then until the writer is done
    const bool last = done.load();
    ASSERT_TRUE(index->SaveSnapshot(*fs, "/snap/index", seq).ok());
    uint64_t loaded_seq = 0;
    auto loaded = VectorIndex::LoadSnapshot(*fs, "/snap/index", &loaded_seq);
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    EXPECT_EQ(loaded_seq, seq);
    // Inserts go in label order: a consistent copy holds a prefix.
    const size_t n = (*loaded)->size();
    for (uint64_t label = 0; label < n; ++label) ASSERT_TRUE((*loaded)->Contains(label)) << label;
    EXPECT_FALSE((*loaded)->Contains(n));
    ++snapshots;
    if (last) break;
  }
  writer.join();
  EXPECT_EQ(errors.load(), 0u);
  EXPECT_GE(snapshots, 1u);
}

}  // namespace
}  // namespace tandem
