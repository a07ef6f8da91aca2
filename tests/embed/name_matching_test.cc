// Name-matching quality of the hash embedder (issue 4 §5): generated entity
// names, misspelled queries (1–2 variants each: typos, phonetic spellings,
// accents, nicknames, dropped middle names), exact cosine over all entities.
//
// Measured with the default options (hash:d=256:n=2-2:w=0.5:s=0:v1), seed 1:
// recall@1 = 0.985, recall@5 = 1.000, recall@10 = 1.000 over 1,000 queries
// against 2,000 person and 500 company names; seed 2: 0.973 / 0.998 / 1.000
// (`embed_bench --seed N` prints the same numbers). The thresholds below sit a few points under that, so a
// change that hurts matching fails here while table tweaks do not.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "gen/names.h"
#include "tandem/embed.h"

namespace tandem {
namespace {

struct Recall {
  double at1 = 0, at5 = 0, at10 = 0;
};

// Rank of the target = the number of other entities scoring at least as
// high (ties count against it).
Recall Measure(Embedder& e, const gen::NameMatchingSet& set) {
  const size_t d = e.dimension();
  const std::vector<std::string_view> names(set.names.begin(), set.names.end());
  std::vector<std::string_view> queries;
  for (const gen::NameQuery& q : set.queries) queries.push_back(q.text);
  std::vector<float> nv, qv;
  EXPECT_TRUE(e.Embed(names, &nv).ok());
  EXPECT_TRUE(e.Embed(queries, &qv).ok());
  Recall r;
  for (size_t qi = 0; qi < queries.size(); ++qi) {
    auto score = [&](size_t ni) {
      float dot = 0;
      for (size_t k = 0; k < d; ++k) dot += qv[qi * d + k] * nv[ni * d + k];
      return dot;
    };
    const size_t target = set.queries[qi].target;
    const float want = score(target);
    size_t rank = 0;
    for (size_t ni = 0; ni < names.size(); ++ni) rank += ni != target && score(ni) >= want;
    r.at1 += rank < 1;
    r.at5 += rank < 5;
    r.at10 += rank < 10;
  }
  const double n = static_cast<double>(queries.size());
  return {r.at1 / n, r.at5 / n, r.at10 / n};
}

TEST(NameMatching, DefaultHashEmbedderFindsMisspelledNamesInTheTop5) {
  const gen::NameMatchingSet set = gen::MakeNameMatchingSet(1, 2000, 500, 1000);
  ASSERT_EQ(set.names.size(), 2500u);
  ASSERT_EQ(set.queries.size(), 1000u);
  std::unique_ptr<Embedder> e = NewHashEmbedder(HashEmbedderOptions{}).value();
  const Recall r = Measure(*e, set);
  RecordProperty("recall_at_1", std::to_string(r.at1));
  RecordProperty("recall_at_5", std::to_string(r.at5));
  EXPECT_GE(r.at5, 0.97) << "recall@1 " << r.at1 << " @5 " << r.at5 << " @10 " << r.at10;
  EXPECT_GE(r.at1, 0.94) << "recall@1 " << r.at1 << " @5 " << r.at5 << " @10 " << r.at10;
}

TEST(NameMatching, AnotherSeedHoldsTheSameBar) {
  // Guards against thresholds tuned to one lucky sample.
  const gen::NameMatchingSet set = gen::MakeNameMatchingSet(2, 2000, 500, 1000);
  std::unique_ptr<Embedder> e = NewHashEmbedder(HashEmbedderOptions{}).value();
  const Recall r = Measure(*e, set);
  EXPECT_GE(r.at5, 0.97) << "recall@1 " << r.at1 << " @5 " << r.at5;
  EXPECT_GE(r.at1, 0.94) << "recall@1 " << r.at1 << " @5 " << r.at5;
}

}  // namespace
}  // namespace tandem
