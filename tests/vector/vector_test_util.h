// Helpers for the vector store tests: a controllable Embedder wrapper that
// fails on command and counts calls and texts, and store openers over the
// real hash embedder with a small dimension.
//
// Thread safety: TestEmbedder is safe for concurrent use (one mutex); the
// rest are test helpers for one thread.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "../store/store_test_util.h"
#include "tandem/embed.h"
#include "tandem/vector.h"

namespace tandem::vector_test {

using store_test::TempDir;

inline constexpr size_t kDim = 32;

inline std::unique_ptr<Embedder> HashEmbedder(size_t dimension = kDim) {
  HashEmbedderOptions o;
  o.dimension = dimension;
  Result<std::unique_ptr<Embedder>> e = NewHashEmbedder(o);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return e.ok() ? std::move(e).value() : nullptr;
}

// Wraps an embedder: transient outages (the next N calls, or until told),
// permanent refusals of given texts (InvalidArgument, or FailedPrecondition
// as a server answering with the wrong dimension would), and counters.
class TestEmbedder final : public Embedder {
 public:
  explicit TestEmbedder(std::unique_ptr<Embedder> inner) : inner_(std::move(inner)) {}

  size_t dimension() const override { return inner_->dimension(); }
  std::string model_id() const override { return inner_->model_id(); }

  Status Embed(std::span<const std::string_view> texts, std::vector<float>* out) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++calls_;
    for (std::string_view t : texts) seen_.emplace_back(t);
    if (down_ || transient_left_ > 0) {
      if (transient_left_ > 0) --transient_left_;
      ++failed_calls_;
      return Status::Unavailable("test embedder: server down");
    }
    for (std::string_view t : texts) {
      if (refused_.contains(std::string(t))) {
        ++failed_calls_;
        return Status::InvalidArgument("test embedder: HTTP 400: text refused: " + std::string(t));
      }
      if (wrong_dimension_.contains(std::string(t))) {
        ++failed_calls_;
        return Status::FailedPrecondition("dimension: expected " + std::to_string(dimension()) +
                                          ", server returned 7");
      }
    }
    return inner_->Embed(texts, out);
  }

  void SetDown(bool down) {
    std::lock_guard<std::mutex> lock(mu_);
    down_ = down;
  }
  void FailNext(int n) {
    std::lock_guard<std::mutex> lock(mu_);
    transient_left_ = n;
  }
  void Refuse(const std::string& text) {
    std::lock_guard<std::mutex> lock(mu_);
    refused_.insert(text);
  }
  void WrongDimensionFor(const std::string& text) {
    std::lock_guard<std::mutex> lock(mu_);
    wrong_dimension_.insert(text);
  }
  int calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  int failed_calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return failed_calls_;
  }
  // Every text passed to Embed, in order (failed calls included).
  std::vector<std::string> seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }
  void ClearSeen() {
    std::lock_guard<std::mutex> lock(mu_);
    seen_.clear();
    calls_ = 0;
  }

 private:
  std::unique_ptr<Embedder> inner_;
  std::mutex mu_;
  bool down_ = false;
  int transient_left_ = 0;
  std::set<std::string> refused_;
  std::set<std::string> wrong_dimension_;
  int calls_ = 0;
  int failed_calls_ = 0;
  std::vector<std::string> seen_;
};

inline VectorStoreOptions StoreOptions(const std::string& dir, Embedder* e,
                                       Clock* clock = nullptr) {
  VectorStoreOptions o;
  o.dir = dir;
  o.embedder = e;
  o.clock = clock;
  o.sync = false;  // tests that need the WAL fsync (crash tests) turn it on
  o.text_fields["widget"] = {"name"};
  o.text_fields["gadget"] = {"name", "tags"};
  return o;
}

inline std::unique_ptr<VectorStore> Open(const VectorStoreOptions& o) {
  Result<std::unique_ptr<VectorStore>> s = OpenVectorStore(o);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : nullptr;
}

inline std::vector<std::string> Ids(const std::vector<VectorHit>& hits) {
  std::vector<std::string> out;
  for (const VectorHit& h : hits) out.push_back(h.entity_id);
  return out;
}

}  // namespace tandem::vector_test
