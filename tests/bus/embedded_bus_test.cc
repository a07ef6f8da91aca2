// The bus contract suite on the embedded log (a MemFileSystem; the real
// clock, as nack backoffs must pass on their own).

#include "bus_contract_suite.h"
#include "tandem/env.h"

namespace tandem::bus_test {

struct EmbeddedBus {
  EmbeddedBus() : fs(NewMemFileSystem()) {}

  Result<std::unique_ptr<Log>> Open() {
    LogOptions o;
    o.dir = "/log";
    o.fs = fs.get();
    o.default_partitions = 4;
    return Log::Open(o);
  }
  SubscriptionOptions Subscription(std::string name) { return FastSubscription(std::move(name)); }

  std::unique_ptr<FileSystem> fs;
};

INSTANTIATE_TYPED_TEST_SUITE_P(Embedded, BusContract, EmbeddedBus);

}  // namespace tandem::bus_test
