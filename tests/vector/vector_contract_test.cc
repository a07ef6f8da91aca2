// The store contract suite on the RocksDB vector store, with the hash
// embedder (d=32) behind a TestEmbedder that refuses one text, and text
// fields configured for the suite's entity types (widget: name; gadget:
// name, tags; refusable: name), so the suite's payloads are embedded, re-embedded and skipped.

#include <memory>
#include <vector>

#include "../store/store_contract_suite.h"
#include "vector_test_util.h"

namespace tandem::store_test {
namespace {

class VectorStoreFactory {
 public:
  VectorStoreFactory() : embedder_(vector_test::HashEmbedder()) {
    embedder_.Refuse("refused by the embedder");
  }
  Result<std::unique_ptr<Store>> Open(const StoreTestConfig& config) {
    VectorStoreOptions o =
        vector_test::StoreOptions(dir_.path() + "/vector", &embedder_, config.clock);
    o.tombstone_retention_us = config.tombstone_retention_us;
    o.sync = true;
    o.text_fields["refusable"] = {"name"};
    o.snapshot_every_changes = 7;  // snapshots and journal trims happen during the suite
    TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<VectorStore> v, OpenVectorStore(o));
    return std::unique_ptr<Store>(std::move(v));
  }
  // A text the embedder refuses permanently (HTTP 400).
  std::vector<InvalidPayload> InvalidPayloads() {
    return {{"refusable", R"({"name":"refused by the embedder"})", "text refused"}};
  }

 private:
  TempDir dir_;
  vector_test::TestEmbedder embedder_;
};

INSTANTIATE_TYPED_TEST_SUITE_P(Vector, StoreContractTest, ::testing::Types<VectorStoreFactory>);

}  // namespace
}  // namespace tandem::store_test
