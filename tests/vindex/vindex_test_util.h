// Helpers shared by the vector index tests: random unit vectors, index
// builders, status assertions and recall.
//
// Thread safety: free functions; a Random is per caller.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <set>
#include <vector>

#include "tandem/env.h"
#include "vindex/vector_index.h"

namespace tandem::vindex_test {

// A standard normal sample (Box-Muller).
inline double Gaussian(Random& rng) {
  const double u1 = std::max(rng.NextDouble(), 1e-300);
  const double u2 = rng.NextDouble();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

// Uniform on the unit sphere.
inline std::vector<float> RandomUnit(Random& rng, size_t dim) {
  std::vector<float> v(dim);
  double norm = 0;
  for (auto& x : v) {
    x = static_cast<float>(Gaussian(rng));
    norm += static_cast<double>(x) * x;
  }
  for (auto& x : v) x = static_cast<float>(x / std::sqrt(norm));
  return v;
}

inline std::vector<std::vector<float>> RandomUnits(uint64_t seed, size_t n, size_t dim) {
  Random rng(seed);
  std::vector<std::vector<float>> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) out.push_back(RandomUnit(rng, dim));
  return out;
}

inline VectorIndexOptions Options(size_t dim, size_t capacity = 1024) {
  VectorIndexOptions o;
  o.dimension = dim;
  o.initial_capacity = capacity;
  return o;
}

// An index holding vectors[i] under label i.
inline std::unique_ptr<VectorIndex> Build(const VectorIndexOptions& options,
                                          const std::vector<std::vector<float>>& vectors) {
  auto index = VectorIndex::Create(options);
  EXPECT_TRUE(index.ok()) << index.status().ToString();
  if (!index.ok()) return nullptr;
  for (size_t i = 0; i < vectors.size(); ++i) {
    Status s = (*index)->Upsert(i, vectors[i]);
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  return std::move(index).value();
}

inline float Dot(const std::vector<float>& a, const std::vector<float>& b) {
  float d = 0;
  for (size_t i = 0; i < a.size(); ++i) d += a[i] * b[i];
  return d;
}

// |approx ∩ exact| / |exact| by label.
inline double Recall(const std::vector<SearchHit>& approx, const std::vector<SearchHit>& exact) {
  if (exact.empty()) return 1.0;
  std::set<uint64_t> truth;
  for (const auto& h : exact) truth.insert(h.label);
  size_t found = 0;
  for (const auto& h : approx) found += truth.count(h.label);
  return static_cast<double>(found) / static_cast<double>(exact.size());
}

// Best first, ties by label, no label twice.
inline void ExpectRanked(const std::vector<SearchHit>& hits) {
  std::set<uint64_t> seen;
  for (size_t i = 0; i < hits.size(); ++i) {
    EXPECT_TRUE(seen.insert(hits[i].label).second) << "label " << hits[i].label << " twice";
    if (i == 0) continue;
    const auto& a = hits[i - 1];
    const auto& b = hits[i];
    EXPECT_TRUE(a.score > b.score || (a.score == b.score && a.label < b.label))
        << "hit " << i << " out of order";
  }
}

inline const Status& StatusOf(const Status& s) { return s; }
template <typename T>
const Status& StatusOf(const Result<T>& r) {
  return r.status();
}

}  // namespace tandem::vindex_test

#define VINDEX_ASSERT_OK(expr)                                                      \
  do {                                                                              \
    const ::tandem::Status _vindex_s = ::tandem::vindex_test::StatusOf(expr);       \
    ASSERT_TRUE(_vindex_s.ok()) << #expr << ": " << _vindex_s.ToString();           \
  } while (0)
