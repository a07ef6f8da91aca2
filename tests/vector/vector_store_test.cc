// The RocksDB vector store beyond the contract: the shared behaviour suite
// (vector_store_suite.h: update semantics, search, filters, embedder
// failures, model check) and the checks of its own options.

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "vector_store_suite.h"

namespace tandem::vector_test {
namespace {

class RocksVectorStoreFactory {
 public:
  Result<std::unique_ptr<VectorStore>> Open(Embedder* embedder, Clock* clock) {
    return OpenVectorStore(StoreOptions(dir_.path() + "/v", embedder, clock));
  }

 private:
  TempDir dir_;
};

INSTANTIATE_TYPED_TEST_SUITE_P(Rocks, VectorStoreSuite, ::testing::Types<RocksVectorStoreFactory>);

TEST(VectorStoreOptionsTest, BadOptionsAreRefused) {
  TempDir dir;
  TestEmbedder embedder(HashEmbedder());
  VectorStoreOptions o = StoreOptions("", &embedder);
  EXPECT_EQ(OpenVectorStore(o).status().code(), StatusCode::kInvalidArgument);
  o = StoreOptions(dir.path() + "/x", nullptr);
  EXPECT_NE(OpenVectorStore(o).status().message().find("embedder"), std::string::npos);
  o = StoreOptions(dir.path() + "/x", &embedder);
  o.hnsw_m = 0;
  EXPECT_NE(OpenVectorStore(o).status().message().find("hnsw_m"), std::string::npos);
}

}  // namespace
}  // namespace tandem::vector_test
