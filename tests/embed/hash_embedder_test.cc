#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "gen/names.h"
#include "tandem/embed.h"

namespace tandem {
namespace {

std::unique_ptr<Embedder> Hash(HashEmbedderOptions o = {}) {
  Result<std::unique_ptr<Embedder>> e = NewHashEmbedder(o);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return std::move(e).value();
}

std::vector<float> EmbedAll(Embedder& e, const std::vector<std::string_view>& texts) {
  std::vector<float> out;
  const Status s = e.Embed(texts, &out);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

std::vector<float> EmbedOne(Embedder& e, std::string_view text) {
  return EmbedAll(e, std::vector<std::string_view>{text});
}

float Cosine(const float* a, const float* b, size_t d) {
  float dot = 0;
  for (size_t i = 0; i < d; ++i) dot += a[i] * b[i];
  return dot;
}

float Cosine(const std::vector<float>& a, const std::vector<float>& b) {
  return Cosine(a.data(), b.data(), a.size());
}

double Norm(const float* v, size_t d) {
  double s = 0;
  for (size_t i = 0; i < d; ++i) s += static_cast<double>(v[i]) * v[i];
  return std::sqrt(s);
}

TEST(HashEmbedder, VectorsAreUnitLengthWithTheConfiguredDimension) {
  for (size_t d : {8, 128, 256, 1000}) {
    HashEmbedderOptions o;
    o.dimension = d;
    auto e = Hash(o);
    EXPECT_EQ(e->dimension(), d);
    const std::vector<std::string_view> texts = {"John Smith", "Nordic Timber GmbH", "x"};
    const std::vector<float> v = EmbedAll(*e, texts);
    ASSERT_EQ(v.size(), texts.size() * d);
    for (size_t i = 0; i < texts.size(); ++i) EXPECT_NEAR(Norm(&v[i * d], d), 1.0, 1e-5);
  }
}

TEST(HashEmbedder, EmptyAndPunctuationOnlyTextsGiveTheZeroVector) {
  auto e = Hash();
  const std::vector<std::string_view> texts = {"", " ,.;!? ", "John"};
  const std::vector<float> v = EmbedAll(*e, texts);
  const size_t d = e->dimension();
  EXPECT_EQ(Norm(&v[0], d), 0.0);
  EXPECT_EQ(Norm(&v[d], d), 0.0);
  EXPECT_NEAR(Norm(&v[2 * d], d), 1.0, 1e-5);
  std::vector<float> none = {1.0f};
  ASSERT_TRUE(e->Embed({}, &none).ok());
  EXPECT_TRUE(none.empty());
}

TEST(HashEmbedder, DeterministicAcrossCallsInstancesAndThreads) {
  gen::NameGenerator g(5);
  std::vector<std::string> names(300);
  for (std::string& n : names) n = g.PersonName();
  const std::vector<std::string_view> views(names.begin(), names.end());
  auto e = Hash();
  const std::vector<float> first = EmbedAll(*e, views);
  EXPECT_EQ(EmbedAll(*e, views), first);
  EXPECT_EQ(EmbedAll(*Hash(), views), first);
  // One by one gives what a batch gives (no state leaks between texts).
  for (size_t i = 0; i < views.size(); i += 37) {
    const std::vector<float> one = EmbedOne(*e, views[i]);
    EXPECT_TRUE(std::equal(one.begin(), one.end(), first.begin() + i * e->dimension()));
  }
  std::vector<std::vector<float>> got(4);
  std::vector<std::thread> threads;
  for (auto& out : got) {
    threads.emplace_back([&] {
      for (int round = 0; round < 5; ++round) {
        ASSERT_TRUE(e->Embed(views, &out).ok());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (const auto& out : got) EXPECT_EQ(out, first);
}

TEST(HashEmbedder, FixedVectorsPinTheFormat) {
  // model_id promises the vectors: a change of hashing, folding or weights
  // must change "v1". These values were produced by this implementation.
  auto e = Hash();
  EXPECT_EQ(e->model_id(), "hash:d=256:n=2-2:w=0.5:s=0:v1");
  const std::vector<float> v = EmbedOne(*e, "John Smith");
  std::vector<std::pair<size_t, float>> nonzero;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] != 0) nonzero.emplace_back(i, v[i]);
  }
  // "^john$ ^smith$": 5 + 6 bigrams and 2 words, distinct features; a
  // collision merges two, so 12..13 non-zero buckets.
  EXPECT_GE(nonzero.size(), 12u);
  EXPECT_LE(nonzero.size(), 13u);
  uint64_t digest = 0;
  for (auto [i, x] : nonzero) digest = digest * 1000003 + i * 7 + (x > 0 ? 1 : 2);
  EXPECT_EQ(digest, 6791975102100594084u);
}

TEST(HashEmbedder, ModelIdNamesEveryOption) {
  HashEmbedderOptions o;
  o.dimension = 128;
  o.min_ngram = 1;
  o.max_ngram = 4;
  o.word_weight = 0.25f;
  o.seed = 9;
  EXPECT_EQ(Hash(o)->model_id(), "hash:d=128:n=1-4:w=0.25:s=9:v1");
  // A different seed is a different model with different vectors.
  HashEmbedderOptions a, b;
  b.seed = 1;
  EXPECT_NE(Hash(a)->model_id(), Hash(b)->model_id());
  EXPECT_LT(Cosine(EmbedOne(*Hash(a), "John Smith"), EmbedOne(*Hash(b), "John Smith")), 0.9f);
}

TEST(HashEmbedder, NormalisationMakesCaseAccentsAndPunctuationIrrelevant) {
  auto e = Hash();
  const std::vector<float> ref = EmbedOne(*e, "jose muller");
  EXPECT_EQ(EmbedOne(*e, "JOSÉ  Müller"), ref);
  EXPECT_EQ(EmbedOne(*e, "  José, MULLER! "), ref);
  EXPECT_EQ(EmbedOne(*e, "Muller Jose"), ref);  // word order is not a feature
  EXPECT_GT(Cosine(EmbedOne(*e, "Jose Mueller"), ref), 0.75f);
}

TEST(HashEmbedder, SpellingVariantsStayCloseUnrelatedNamesDoNot) {
  auto e = Hash();
  const std::vector<float> john = EmbedOne(*e, "John Smith");
  EXPECT_GT(Cosine(EmbedOne(*e, "Jon Smyth"), john), 0.5f);
  EXPECT_GT(Cosine(EmbedOne(*e, "Jonh Smith"), john), 0.6f);
  EXPECT_LT(Cosine(EmbedOne(*e, "Katarzyna Wójcik"), john), 0.2f);
}

TEST(HashEmbedder, JonSmythRanksJohnSmithFirstAmongGeneratedNames) {
  auto e = Hash();
  gen::NameGenerator g(11);
  std::vector<std::string> names = {"John Smith"};
  while (names.size() < 400) {
    std::string n = g.PersonName();
    if (n != "John Smith") names.push_back(std::move(n));
  }
  // Hard distractors: other people whose names are near the target's.
  for (const char* n : {"Joan Smith", "John Smithson", "Jon Smit", "John Schmidt", "Joanna Smith"}) {
    names.push_back(n);
  }
  const std::vector<std::string_view> views(names.begin(), names.end());
  const std::vector<float> v = EmbedAll(*e, views);
  const std::vector<float> q = EmbedOne(*e, "Jon Smyth");
  const size_t d = e->dimension();
  size_t best = 0;
  for (size_t i = 1; i < names.size(); ++i) {
    if (Cosine(&v[i * d], q.data(), d) > Cosine(&v[best * d], q.data(), d)) best = i;
  }
  EXPECT_EQ(names[best], "John Smith");
}

TEST(HashEmbedder, InvalidUtf8IsEmbeddedNotRefused) {
  auto e = Hash();
  const std::vector<float> latin1 = EmbedOne(*e, "M\xFCller");  // Latin-1 bytes
  EXPECT_NEAR(Norm(latin1.data(), latin1.size()), 1.0, 1e-5);
  EXPECT_GT(Cosine(latin1, EmbedOne(*e, "Müller")), 0.4f);
  const std::vector<float> junk = EmbedOne(*e, std::string("\xFF\xFE\x00\xC3", 4));
  EXPECT_EQ(junk.size(), e->dimension());
}

TEST(HashEmbedder, TextOverTheLimitIsTooLargeAndNamesTheText) {
  HashEmbedderOptions o;
  o.max_text_bytes = 16;
  auto e = Hash(o);
  std::vector<float> out;
  const std::vector<std::string_view> ok = {"sixteen bytes!!!"};
  EXPECT_TRUE(e->Embed(ok, &out).ok());
  const std::vector<std::string_view> big = {"a", "seventeen bytes!!"};
  const Status s = e->Embed(big, &out);
  EXPECT_EQ(s.code(), StatusCode::kTooLarge);
  EXPECT_NE(s.message().find("text 1"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("max_text_bytes"), std::string::npos) << s.message();
}

TEST(HashEmbedder, BadOptionsNameTheField) {
  auto expect_bad = [](HashEmbedderOptions o, std::string_view field) {
    Result<std::unique_ptr<Embedder>> e = NewHashEmbedder(o);
    ASSERT_FALSE(e.ok());
    EXPECT_EQ(e.status().code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(e.status().message().starts_with(field)) << e.status().message();
  };
  HashEmbedderOptions o;
  o.dimension = 4;
  expect_bad(o, "dimension");
  o = {};
  o.dimension = 5000;
  expect_bad(o, "dimension");
  o = {};
  o.min_ngram = 0;
  expect_bad(o, "min_ngram");
  o = {};
  o.min_ngram = 3;
  o.max_ngram = 2;
  expect_bad(o, "max_ngram");
  o = {};
  o.max_ngram = 6;
  expect_bad(o, "max_ngram");
  o = {};
  o.word_weight = -1;
  expect_bad(o, "word_weight");
  o = {};
  o.word_weight = std::nanf("");
  expect_bad(o, "word_weight");
  o = {};
  o.max_text_bytes = 0;
  expect_bad(o, "max_text_bytes");
}

TEST(HashEmbedder, EveryNgramRangeWorksOnShortAndLongWords) {
  for (uint32_t lo = 1; lo <= 5; ++lo) {
    for (uint32_t hi = lo; hi <= 5; ++hi) {
      HashEmbedderOptions o;
      o.min_ngram = lo;
      o.max_ngram = hi;
      o.word_weight = 0;
      auto e = Hash(o);
      // "a" padded is 3 long: with n-grams from 4 up and no word feature it
      // has no features at all.
      const std::vector<float> a = EmbedOne(*e, "a");
      EXPECT_NEAR(Norm(a.data(), a.size()), lo <= 3 ? 1.0 : 0.0, 1e-5) << lo << "-" << hi;
      const std::vector<float> w = EmbedOne(*e, "Supercalifragilistic Ltd");
      EXPECT_NEAR(Norm(w.data(), w.size()), 1.0, 1e-5);
    }
  }
}

}  // namespace
}  // namespace tandem
