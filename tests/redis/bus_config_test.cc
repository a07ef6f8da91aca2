// The `bus:` section of the configuration (include/tandem/config.h): kind,
// the redis keys with units, TANDEM_BUS__* overrides, and validation that
// names the key.

#include <gtest/gtest.h>

#include "tandem/config.h"

namespace tandem {
namespace {

TEST(BusConfig, DefaultIsTheEmbeddedLog) {
  Result<Config> c = ParseConfig("", {});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->bus.kind, "embedded");
}

TEST(BusConfig, RedisKeysWithUnitsAndEnvironmentOverrides) {
  const std::string yaml =
      "bus:\n  kind: redis\n  redis: {host: 10.0.0.5, port: 7000, lease_ttl: 30s, lease_renew: 5s,"
      " dedup_window: 1h, max_len: 1000000, retention_age: -1s, max_record_size: 2MiB}\n";
  Result<Config> c = ParseConfig(yaml, {{"TANDEM_BUS__REDIS__PREFIX", "prod:"},
                                        {"TANDEM_BUS__REDIS__PASSWORD", "s3cret"}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const RedisBusOptions& r = c->bus.redis;
  EXPECT_EQ(c->bus.kind, "redis");
  EXPECT_EQ(r.host, "10.0.0.5");
  EXPECT_EQ(r.port, 7000);
  EXPECT_EQ(r.lease_ttl_ms, 30'000);
  EXPECT_EQ(r.lease_renew_ms, 5'000);
  EXPECT_EQ(r.dedup_window_ms, 3'600'000);
  EXPECT_EQ(r.max_len, 1'000'000);
  EXPECT_EQ(r.retention_ms, -1);
  EXPECT_EQ(r.max_record_bytes, 2u << 20);
  EXPECT_EQ(r.prefix, "prod:");
  EXPECT_EQ(r.password, "s3cret");
}

TEST(BusConfig, BadValuesNameTheirKeys) {
  Result<Config> c = ParseConfig(
      "bus: {kind: kafka-ish, redis: {port: 0, lease_ttl: 1s, lease_renew: 1s, prefix: \"\","
      " colour: red}}\n",
      {{"TANDEM_BUS__REDIS__BLOCK", "0ms"}});
  ASSERT_FALSE(c.ok());
  const std::string m(c.status().message());
  for (const char* key : {"bus.kind", "bus.redis.port", "bus.redis.lease_renew", "bus.redis.prefix",
                          "bus.redis.colour: unknown key", "bus.redis.block"}) {
    EXPECT_NE(m.find(key), std::string::npos) << key << " missing in: " << m;
  }
  EXPECT_NE(m.find("TANDEM_BUS__REDIS__BLOCK"), std::string::npos) << m;
}

}  // namespace
}  // namespace tandem
