// VectorIndex behaviour on one thread: option checks, recall against the
// exact search, replace / remove / re-add, growth, filtered search and the
// result ordering.
#include <gtest/gtest.h>

#include <functional>
#include <set>

#include "vindex/vector_index.h"
#include "vindex_test_util.h"

namespace tandem {
namespace {

using vindex_test::Build;
using vindex_test::Dot;
using vindex_test::ExpectRanked;
using vindex_test::Options;
using vindex_test::RandomUnits;
using vindex_test::Recall;

void ExpectInvalid(const VectorIndexOptions& o, const std::string& field) {
  auto r = VectorIndex::Create(o);
  ASSERT_FALSE(r.ok()) << field;
  EXPECT_TRUE(r.status().IsInvalidArgument()) << r.status().ToString();
  EXPECT_NE(r.status().message().find(field), std::string::npos) << r.status().ToString();
}

TEST(VectorIndexOptions, OutOfRangeFieldsAreNamed) {
  VectorIndexOptions o = Options(8);
  o.dimension = 0;
  ExpectInvalid(o, "dimension");
  o.dimension = 4097;
  ExpectInvalid(o, "dimension");
  o = Options(8);
  o.m = 1;
  ExpectInvalid(o, "m must be");
  o.m = 101;
  ExpectInvalid(o, "m must be");
  o = Options(8);
  o.ef_construction = 0;
  ExpectInvalid(o, "ef_construction");
  o = Options(8);
  o.initial_capacity = 0;
  ExpectInvalid(o, "initial_capacity");
  o = Options(4096);
  VINDEX_ASSERT_OK(VectorIndex::Create(o));
}

TEST(VectorIndex, WrongDimensionsAndNonFiniteValuesAreInvalidArgument) {
  auto index = VectorIndex::Create(Options(16)).value();
  const std::vector<float> short_vec(15, 0.1f);
  const std::vector<float> long_vec(17, 0.1f);
  EXPECT_TRUE(index->Upsert(1, short_vec).IsInvalidArgument());
  EXPECT_TRUE(index->Upsert(1, long_vec).IsInvalidArgument());
  std::vector<float> nan_vec(16, 0.25f);
  nan_vec[3] = std::nanf("");
  Status s = index->Upsert(1, nan_vec);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("[3]"), std::string::npos) << s.ToString();
  EXPECT_EQ(index->size(), 0u);
  EXPECT_TRUE(index->Search(short_vec, 3, {}).status().IsInvalidArgument());
  EXPECT_TRUE(index->SearchExact(long_vec, 3, {}).status().IsInvalidArgument());
  SearchParams bad;
  bad.exact_scan_fraction = 1.5;
  EXPECT_TRUE(index->Search(std::vector<float>(16, 0.25f), 3, bad).status().IsInvalidArgument());
}

TEST(VectorIndex, EmptyIndexAndZeroKReturnNothing) {
  auto index = VectorIndex::Create(Options(8)).value();
  const std::vector<float> q(8, 0.35355339f);  // unit length
  EXPECT_TRUE(index->Search(q, 10, {}).value().empty());
  EXPECT_TRUE(index->SearchExact(q, 10, {}).value().empty());
  VINDEX_ASSERT_OK(index->Upsert(3, q));
  EXPECT_TRUE(index->Search(q, 0, {}).value().empty());
  auto hits = index->Search(q, 10, {}).value();
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].label, 3u);
  EXPECT_NEAR(hits[0].score, 1.0f, 1e-6);
}

// 3000 random 48-d unit vectors, M 16, ef_construction 100, ef 64. The 0.93
// bound holds for these fixed seeds (the data is deterministic); wider ef must
// do better still.
TEST(VectorIndex, RecallAgainstExactSearch) {
  const auto vectors = RandomUnits(1, 3000, 48);
  auto index = Build(Options(48), vectors);
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->size(), 3000u);
  const auto queries = RandomUnits(2, 200, 48);
  double recall = 0;
  for (const auto& q : queries) {
    auto approx = index->Search(q, 10, {}).value();
    auto exact = index->SearchExact(q, 10, {}).value();
    ASSERT_EQ(approx.size(), 10u);
    ASSERT_EQ(exact.size(), 10u);
    ExpectRanked(approx);
    ExpectRanked(exact);
    for (const auto& h : approx) {
      EXPECT_NEAR(h.score, Dot(q, vectors[h.label]), 1e-5);  // score = cosine
    }
    recall += Recall(approx, exact);
  }
  recall /= static_cast<double>(queries.size());
  EXPECT_GE(recall, 0.93);
  // A wide candidate list makes the approximate search (nearly) exact.
  SearchParams wide;
  wide.ef = 500;
  double wide_recall = 0;
  for (const auto& q : queries) {
    wide_recall += Recall(index->Search(q, 10, wide).value(), index->SearchExact(q, 10, {}).value());
  }
  EXPECT_GE(wide_recall / static_cast<double>(queries.size()), 0.995);
  EXPECT_GT(wide_recall / static_cast<double>(queries.size()), recall);
}

TEST(VectorIndex, UpsertOfAnExistingLabelReplacesItsVector) {
  const auto vectors = RandomUnits(3, 600, 32);
  auto index = Build(Options(32), vectors);
  const auto fresh = RandomUnits(4, 1, 32)[0];
  VINDEX_ASSERT_OK(index->Upsert(7, fresh));
  EXPECT_EQ(index->size(), 600u);
  auto hits = index->Search(fresh, 1, {}).value();
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].label, 7u);
  EXPECT_NEAR(hits[0].score, 1.0f, 1e-5);
  // The old vector no longer finds label 7: its nearest is someone else.
  auto old_hits = index->SearchExact(vectors[7], 600, {}).value();
  ASSERT_FALSE(old_hits.empty());
  EXPECT_NE(old_hits[0].label, 7u);
  for (const auto& h : old_hits) {
    if (h.label == 7) {
      EXPECT_NEAR(h.score, Dot(vectors[7], fresh), 1e-5);
    }
  }
  EXPECT_NE(index->Search(vectors[7], 1, {}).value()[0].label, 7u);
  // Upserting the same vector again changes nothing.
  VINDEX_ASSERT_OK(index->Upsert(7, fresh));
  EXPECT_EQ(index->Search(fresh, 1, {}).value()[0].label, 7u);
}

TEST(VectorIndex, RemoveHidesALabelAndUpsertBringsItBack) {
  const auto vectors = RandomUnits(5, 800, 32);
  auto index = Build(Options(32), vectors);
  VINDEX_ASSERT_OK(index->Remove(42));
  VINDEX_ASSERT_OK(index->Remove(42));      // twice: still OK
  VINDEX_ASSERT_OK(index->Remove(999999));  // unknown: OK
  EXPECT_FALSE(index->Contains(42));
  EXPECT_FALSE(index->Contains(999999));
  EXPECT_TRUE(index->Contains(41));
  EXPECT_EQ(index->size(), 799u);
  auto approx = index->Search(vectors[42], 50, {}).value();
  auto exact = index->SearchExact(vectors[42], 1000, {}).value();
  EXPECT_EQ(approx.size(), 50u);
  EXPECT_EQ(exact.size(), 799u);
  for (const auto& h : approx) EXPECT_NE(h.label, 42u);
  for (const auto& h : exact) EXPECT_NE(h.label, 42u);

  // Re-added with its old vector, then with a new one.
  VINDEX_ASSERT_OK(index->Upsert(42, vectors[42]));
  EXPECT_TRUE(index->Contains(42));
  EXPECT_EQ(index->size(), 800u);
  EXPECT_EQ(index->Search(vectors[42], 1, {}).value()[0].label, 42u);
  VINDEX_ASSERT_OK(index->Remove(42));
  const auto fresh = RandomUnits(6, 1, 32)[0];
  VINDEX_ASSERT_OK(index->Upsert(42, fresh));
  EXPECT_EQ(index->Search(fresh, 1, {}).value()[0].label, 42u);
  EXPECT_EQ(index->size(), 800u);
}

TEST(VectorIndex, GrowsPastItsInitialCapacity) {
  const auto vectors = RandomUnits(7, 1000, 32);
  auto index = Build(Options(32, /*capacity=*/4), vectors);
  EXPECT_EQ(index->size(), 1000u);
  size_t self_found = 0;
  for (size_t i = 0; i < vectors.size(); ++i) {
    ASSERT_TRUE(index->Contains(i));
    auto hits = index->Search(vectors[i], 1, {}).value();
    self_found += (!hits.empty() && hits[0].label == i);
  }
  EXPECT_GE(self_found, 995u);
}

TEST(VectorIndex, TiesAreBrokenByLabel) {
  auto index = VectorIndex::Create(Options(4)).value();
  const std::vector<float> v = {0.5f, 0.5f, 0.5f, 0.5f};
  for (uint64_t label : {9, 3, 5}) VINDEX_ASSERT_OK(index->Upsert(label, v));
  VINDEX_ASSERT_OK(index->Upsert(1, std::vector<float>{1, 0, 0, 0}));
  const std::vector<uint64_t> expected = {3, 5, 9, 1};
  for (const auto& hits : {index->Search(v, 4, {}).value(), index->SearchExact(v, 4, {}).value()}) {
    ASSERT_EQ(hits.size(), 4u);
    for (size_t i = 0; i < 4; ++i) EXPECT_EQ(hits[i].label, expected[i]) << i;
  }
}

TEST(VectorIndex, ResultsNeverHoldRemovedLabels) {
  const auto vectors = RandomUnits(8, 2000, 32);
  auto index = Build(Options(32), vectors);
  std::set<uint64_t> removed;
  for (uint64_t l = 0; l < 2000; l += 3) {
    VINDEX_ASSERT_OK(index->Remove(l));
    removed.insert(l);
  }
  EXPECT_EQ(index->size(), 2000u - removed.size());
  const auto queries = RandomUnits(9, 100, 32);
  double recall = 0;
  for (const auto& q : queries) {
    auto approx = index->Search(q, 10, {}).value();
    auto exact = index->SearchExact(q, 10, {}).value();
    ASSERT_EQ(approx.size(), 10u);
    ExpectRanked(approx);
    for (const auto& h : approx) EXPECT_EQ(removed.count(h.label), 0u) << h.label;
    for (const auto& h : exact) EXPECT_EQ(removed.count(h.label), 0u) << h.label;
    recall += Recall(approx, exact);
  }
  EXPECT_GE(recall / 100.0, 0.93);
}

class FilteredSearch : public ::testing::Test {
 protected:
  void SetUp() override {
    vectors_ = RandomUnits(10, 5000, 32);
    index_ = Build(Options(32), vectors_);
    queries_ = RandomUnits(11, 50, 32);
  }
  std::vector<std::vector<float>> vectors_;
  std::unique_ptr<VectorIndex> index_;
  std::vector<std::vector<float>> queries_;
};

TEST_F(FilteredSearch, ReturnsOnlyPassingLabelsAndFindsAllK) {
  const std::function<bool(uint64_t)> even = [](uint64_t l) { return l % 2 == 0; };
  SearchParams params;
  params.filter = &even;
  double recall = 0;
  for (const auto& q : queries_) {
    auto hits = index_->Search(q, 10, params).value();
    ASSERT_EQ(hits.size(), 10u);
    ExpectRanked(hits);
    for (const auto& h : hits) EXPECT_EQ(h.label % 2, 0u);
    auto exact = index_->SearchExact(q, 10, params).value();
    for (const auto& h : exact) EXPECT_EQ(h.label % 2, 0u);
    recall += Recall(hits, exact);
  }
  EXPECT_GE(recall / static_cast<double>(queries_.size()), 0.9);
}

TEST_F(FilteredSearch, SelectiveFilterFallsBackToTheExactTopK) {
  const std::function<bool(uint64_t)> one_percent = [](uint64_t l) { return l % 100 == 7; };
  SearchParams params;
  params.filter = &one_percent;
  for (const auto& q : queries_) {
    auto hits = index_->Search(q, 10, params).value();
    auto exact = index_->SearchExact(q, 10, params).value();
    ASSERT_EQ(hits.size(), 10u);
    EXPECT_EQ(hits, exact);  // the exact scan answered
  }
}

TEST_F(FilteredSearch, FewerPassingThanKReturnsAllOfThem) {
  const std::function<bool(uint64_t)> five = [](uint64_t l) { return l < 5; };
  const std::function<bool(uint64_t)> none = [](uint64_t) { return false; };
  SearchParams params;
  params.filter = &five;
  auto hits = index_->Search(queries_[0], 10, params).value();
  ASSERT_EQ(hits.size(), 5u);
  ExpectRanked(hits);
  std::set<uint64_t> labels;
  for (const auto& h : hits) labels.insert(h.label);
  EXPECT_EQ(labels, (std::set<uint64_t>{0, 1, 2, 3, 4}));
  params.filter = &none;
  EXPECT_TRUE(index_->Search(queries_[0], 10, params).value().empty());
}

TEST_F(FilteredSearch, ModerateFilterWidensWithoutGivingUpRecall) {
  // 5% pass: the first round finds about 3 of 10; the search must widen.
  const std::function<bool(uint64_t)> five_percent = [](uint64_t l) { return l % 20 == 0; };
  SearchParams params;
  params.filter = &five_percent;
  params.exact_scan_fraction = 1.0;  // never fall back: exercise the widening
  double recall = 0;
  for (const auto& q : queries_) {
    auto hits = index_->Search(q, 10, params).value();
    ASSERT_EQ(hits.size(), 10u);
    for (const auto& h : hits) EXPECT_EQ(h.label % 20, 0u);
    recall += Recall(hits, index_->SearchExact(q, 10, params).value());
  }
  EXPECT_GE(recall / static_cast<double>(queries_.size()), 0.9);
}

TEST_F(FilteredSearch, ThrowingFilterIsAnErrorNotACrash) {
  const std::function<bool(uint64_t)> throws = [](uint64_t) -> bool {
    throw std::runtime_error("filter broke");
  };
  SearchParams params;
  params.filter = &throws;
  auto r = index_->Search(queries_[0], 10, params);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("filter broke"), std::string::npos);
  EXPECT_FALSE(index_->SearchExact(queries_[0], 10, params).ok());
  EXPECT_TRUE(index_->Search(queries_[0], 10, {}).ok());  // the index is still usable
}

}  // namespace
}  // namespace tandem
