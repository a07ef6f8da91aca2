// The hash embedder: normalised words → padded character n-grams and whole
// words → signed feature hashing → sublinear term weights → L2 norm.
// See README.md for the design and the measured numbers.
#define XXH_INLINE_ALL
#include <xxhash.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "embed/text_normalize.h"
#include "tandem/embed.h"

namespace tandem {
namespace {

// Word features are hashed with a different seed from n-grams, so that the
// word "jo" and the bigram "jo" are distinct features.
constexpr uint64_t kWordSalt = 0x9E3779B97F4A7C15ULL;

// Per-thread buffers: one text allocates nothing once they have grown.
struct Scratch {
  std::vector<uint32_t> cps;     // normalised words with sentinels
  std::vector<uint64_t> grams;   // n-gram feature hashes
  std::vector<uint64_t> words;   // word feature hashes
};

// A name has a few dozen features: insertion sort beats introsort there.
void SortSmall(std::vector<uint64_t>& v) {
  if (v.size() > 64) {
    std::sort(v.begin(), v.end());
    return;
  }
  for (size_t i = 1; i < v.size(); ++i) {
    const uint64_t x = v[i];
    size_t j = i;
    for (; j > 0 && v[j - 1] > x; --j) v[j] = v[j - 1];
    v[j] = x;
  }
}

Scratch& ThreadScratch() {
  thread_local Scratch scratch;
  return scratch;
}

class HashEmbedder final : public Embedder {
 public:
  explicit HashEmbedder(const HashEmbedderOptions& o)
      : o_(o), dim_(static_cast<uint32_t>(o.dimension)), word_seed_(o.seed ^ kWordSalt) {
    char buf[160];
    std::snprintf(buf, sizeof(buf), "hash:d=%zu:n=%u-%u:w=%g:s=%llu:v1", o.dimension, o.min_ngram,
                  o.max_ngram, static_cast<double>(o.word_weight),
                  static_cast<unsigned long long>(o.seed));
    model_id_ = buf;
  }

  size_t dimension() const override { return o_.dimension; }
  std::string model_id() const override { return model_id_; }

  Status Embed(std::span<const std::string_view> texts, std::vector<float>* out) override {
    for (size_t i = 0; i < texts.size(); ++i) {
      if (texts[i].size() > o_.max_text_bytes) {
        return Status::TooLarge("text " + std::to_string(i) + ": " +
                                std::to_string(texts[i].size()) +
                                " bytes exceeds max_text_bytes " +
                                std::to_string(o_.max_text_bytes));
      }
    }
    out->assign(texts.size() * o_.dimension, 0.0f);
    Scratch& s = ThreadScratch();
    for (size_t i = 0; i < texts.size(); ++i) {
      EmbedOne(texts[i], s, out->data() + i * o_.dimension);
    }
    return Status::OK();
  }

 private:
  void EmbedOne(std::string_view text, Scratch& s, float* v) const {
    s.cps.clear();
    s.grams.clear();
    s.words.clear();
    embed::NormalizeToCodePoints(text, &s.cps);
    Features(s);
    Accumulate(s.grams, 1.0f, v);
    Accumulate(s.words, o_.word_weight, v);
    Normalize(v);
  }

  // Hashes every n-gram of every padded word, and every word.
  void Features(Scratch& s) const {
    const uint32_t* cps = s.cps.data();
    const size_t size = s.cps.size();
    for (size_t begin = 0; begin < size;) {
      size_t end = begin + 1;
      while (cps[end] != embed::kWordEnd) ++end;
      const size_t padded = end + 1 - begin;  // ^ letters $
      for (uint32_t n = o_.min_ngram; n <= o_.max_ngram && n <= padded; ++n) {
        for (size_t i = begin; i + n <= end + 1; ++i) {
          if (n == 1 && (cps[i] == embed::kWordBegin || cps[i] == embed::kWordEnd)) continue;
          s.grams.push_back(XXH3_64bits_withSeed(cps + i, n * sizeof(uint32_t), o_.seed));
        }
      }
      if (o_.word_weight > 0) {
        s.words.push_back(
            XXH3_64bits_withSeed(cps + begin + 1, (end - begin - 1) * sizeof(uint32_t), word_seed_));
      }
      begin = end + 1;
    }
  }

  // Adds sign(h) * weight * (1 + ln tf) to bucket(h) for each distinct h.
  void Accumulate(std::vector<uint64_t>& hashes, float weight, float* v) const {
    if (hashes.empty() || weight == 0) return;
    SortSmall(hashes);
    for (size_t i = 0; i < hashes.size();) {
      const uint64_t h = hashes[i];
      size_t j = i + 1;
      while (j < hashes.size() && hashes[j] == h) ++j;
      const size_t tf = j - i;
      const float w = weight * (tf == 1 ? 1.0f : 1.0f + std::log(static_cast<float>(tf)));
      // Low 32 bits pick the bucket (multiply-shift, no modulo bias worth
      // the name), the top bit the sign.
      const uint32_t bucket = static_cast<uint32_t>(((h & 0xFFFFFFFFULL) * dim_) >> 32);
      v[bucket] += (h >> 63) != 0 ? -w : w;
      i = j;
    }
  }

  void Normalize(float* v) const {
    double sum = 0;
    for (uint32_t i = 0; i < dim_; ++i) sum += static_cast<double>(v[i]) * v[i];
    if (sum == 0) return;  // no features: the zero vector
    const float scale = static_cast<float>(1.0 / std::sqrt(sum));
    for (uint32_t i = 0; i < dim_; ++i) v[i] *= scale;
  }

  const HashEmbedderOptions o_;
  const uint32_t dim_;
  const uint64_t word_seed_;
  std::string model_id_;
};

}  // namespace

Result<std::unique_ptr<Embedder>> NewHashEmbedder(const HashEmbedderOptions& o) {
  if (o.dimension < 8 || o.dimension > 4096) {
    return Status::InvalidArgument("dimension: " + std::to_string(o.dimension) +
                                   " is outside 8..4096");
  }
  if (o.min_ngram < 1 || o.min_ngram > 5) {
    return Status::InvalidArgument("min_ngram: " + std::to_string(o.min_ngram) +
                                   " is outside 1..5");
  }
  if (o.max_ngram < o.min_ngram || o.max_ngram > 5) {
    return Status::InvalidArgument("max_ngram: " + std::to_string(o.max_ngram) +
                                   " is outside min_ngram.." + "5");
  }
  if (!std::isfinite(o.word_weight) || o.word_weight < 0 || o.word_weight > 100) {
    return Status::InvalidArgument("word_weight: must be a number in 0..100");
  }
  if (o.max_text_bytes == 0) {
    return Status::InvalidArgument("max_text_bytes: must be > 0");
  }
  return std::unique_ptr<Embedder>(std::make_unique<HashEmbedder>(o));
}

}  // namespace tandem
