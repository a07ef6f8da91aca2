// The store contract suite on the RocksDB graph store (banking schema, WAL
// fsync per batch: the defaults).

#include <memory>
#include <vector>

#include "../store/store_contract_suite.h"
#include "tandem/graph.h"

namespace tandem::store_test {
namespace {

class GraphStoreFactory {
 public:
  Result<std::unique_ptr<Store>> Open(const StoreTestConfig& config) {
    GraphStoreOptions o;
    o.dir = dir_.path() + "/graph";
    o.clock = config.clock;
    o.tombstone_retention_us = config.tombstone_retention_us;
    TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<GraphStore> g, OpenGraphStore(o));
    return std::unique_ptr<Store>(std::move(g));
  }
  // References the banking schema declares, holding what is not an entity_id.
  std::vector<InvalidPayload> InvalidPayloads() {
    return {{"account", R"({"owner_id":42})", "payload.owner_id"},
            {"company", R"({"directors":["p-1",7]})", "payload.directors"},
            {"transaction", R"({"from_account":"","to_account":"a-1"})", "payload.from_account"},
            {"communication", R"({"to_person":{"id":"p-1"}})", "payload.to_person"}};
  }

 private:
  TempDir dir_;
};

INSTANTIATE_TYPED_TEST_SUITE_P(Graph, StoreContractTest, ::testing::Types<GraphStoreFactory>);

}  // namespace
}  // namespace tandem::store_test
