// The store contract suite on the PostgreSQL graph store (banking schema), a
// fresh database per test on the binary's PostgreSQL server.

#include <memory>
#include <vector>

#include "../store/store_contract_suite.h"
#include "pg_test_util.h"

namespace tandem::store_test {
namespace {

class PgGraphFactory {
 public:
  PgGraphFactory() : db_(pg_test::FreshDatabase()) {}
  Result<std::unique_ptr<Store>> Open(const StoreTestConfig& config) {
    TANDEM_ASSIGN_OR_RETURN(
        std::unique_ptr<GraphStore> g,
        OpenPgGraphStore(pg_test::PgOptions(db_, config.clock, config.tombstone_retention_us)));
    return std::unique_ptr<Store>(std::move(g));
  }
  // As the RocksDB graph store, plus what PostgreSQL text cannot hold.
  std::vector<InvalidPayload> InvalidPayloads() {
    return {{"account", R"({"owner_id":42})", "payload.owner_id"},
            {"company", R"({"directors":["p-1",7]})", "payload.directors"},
            {"transaction", R"({"from_account":"","to_account":"a-1"})", "payload.from_account"},
            {"communication", R"({"to_person":{"id":"p-1"}})", "payload.to_person"},
            {"account", R"({"owner_id":"p\u0000"})", "NUL byte"}};
  }

 private:
  std::string db_;
};

INSTANTIATE_TYPED_TEST_SUITE_P(PgGraph, StoreContractTest, ::testing::Types<PgGraphFactory>);

}  // namespace
}  // namespace tandem::store_test
