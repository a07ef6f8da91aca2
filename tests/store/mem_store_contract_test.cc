// The contract suite on MemStore, the reference model: the suite and the
// model check each other before any real store is measured against either.

#include <memory>
#include <vector>

#include "store/mem_store.h"
#include "store_contract_suite.h"

namespace tandem::store_test {
namespace {

class MemStoreFactory {
 public:
  Result<std::unique_ptr<Store>> Open(const StoreTestConfig& config) {
    MemStoreOptions o;
    o.clock = config.clock;
    o.tombstone_retention_us = config.tombstone_retention_us;
    return NewMemStore(*data_, o);
  }
  std::vector<InvalidPayload> InvalidPayloads() { return {}; }

 private:
  std::unique_ptr<MemStoreData> data_ = std::make_unique<MemStoreData>();
};

INSTANTIATE_TYPED_TEST_SUITE_P(Mem, StoreContractTest, ::testing::Types<MemStoreFactory>);

}  // namespace
}  // namespace tandem::store_test
