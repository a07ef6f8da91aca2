// The bus contract suite (tests/bus/bus_contract_suite.h) on the Kafka bus,
// against librdkafka's mock cluster run as a separate process per test.

#include "../bus/bus_contract_suite.h"
#include "kafka_test_util.h"

namespace tandem::bus_test {

struct KafkaBus {
  Result<std::unique_ptr<Log>> Open() { return OpenKafkaLog(cluster.Options()); }
  SubscriptionOptions Subscription(std::string name) {
    SubscriptionOptions o;
    o.name = std::move(name);
    o.nack_backoff_base_ms = 1;
    o.nack_backoff_max_ms = 5;
    o.commit_interval_ms = 100;
    return o;
  }

  kafka_test::MockCluster cluster;
};

INSTANTIATE_TYPED_TEST_SUITE_P(Kafka, BusContract, KafkaBus);

}  // namespace tandem::bus_test
