// The store contract suite on the pgvector store (PGlite with pgvector, or
// $TANDEM_PGVECTOR_URL), set up as the RocksDB vector store's
// (tests/vector/vector_contract_test.cc): the hash embedder (d=32) behind a
// TestEmbedder that refuses one text, text fields for the suite's types.

#include <memory>
#include <vector>

#include "../store/store_contract_suite.h"
#include "pgvector_test_util.h"

namespace tandem::store_test {
namespace {

class PgVectorStoreFactory {
 public:
  PgVectorStoreFactory() : embedder_(vector_test::HashEmbedder()) {
    embedder_.Refuse("refused by the embedder");
  }
  Result<std::unique_ptr<Store>> Open(const StoreTestConfig& config) {
    PgVectorStoreOptions o =
        pgvector_test::PgStoreOptions(location_.prefix(), &embedder_, config.clock);
    o.tombstone_retention_us = config.tombstone_retention_us;
    o.text_fields["refusable"] = {"name"};
    o.scan_page_rows = 3;  // scans, digests and checks cross page boundaries in the suite
    TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<VectorStore> v, OpenPgVectorStore(o));
    return std::unique_ptr<Store>(std::move(v));
  }
  std::vector<InvalidPayload> InvalidPayloads() {
    return {{"refusable", R"({"name":"refused by the embedder"})", "text refused"}};
  }

 private:
  pgvector_test::PgLocation location_;
  vector_test::TestEmbedder embedder_;
};

INSTANTIATE_TYPED_TEST_SUITE_P(PgVector, StoreContractTest, ::testing::Types<PgVectorStoreFactory>);

}  // namespace
}  // namespace tandem::store_test
