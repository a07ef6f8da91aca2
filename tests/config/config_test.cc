// The configuration: the shipped example equals the defaults, units, every
// problem reported with its key, environment overrides, derived directories.

#include "tandem/config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace tandem {
namespace {

Config MustParse(std::string_view yaml, const EnvironmentMap& env = {}) {
  Result<Config> c = ParseConfig(yaml, env);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? std::move(c).value() : Config{};
}

std::string Problems(std::string_view yaml, const EnvironmentMap& env = {}) {
  Result<Config> c = ParseConfig(yaml, env);
  EXPECT_FALSE(c.ok()) << yaml;
  EXPECT_TRUE(c.status().IsInvalidArgument()) << c.status().ToString();
  return c.status().message();
}

TEST(Config, ShippedExampleIsTheDefaults) {
  std::ifstream in(TANDEM_EXAMPLE_CONFIG_PATH);
  std::stringstream file;
  file << in.rdbuf();
  ASSERT_FALSE(file.str().empty());
  EXPECT_EQ(ExampleConfigYaml(), file.str());  // `tandem init` writes exactly the file

  const Config d = MustParse("");
  const Config e = MustParse(ExampleConfigYaml());
  EXPECT_EQ(e.data_dir, d.data_dir);
  EXPECT_EQ(e.server.listen, "127.0.0.1");
  EXPECT_EQ(e.server.port, d.server.port);
  EXPECT_EQ(e.server.max_body_bytes, d.server.max_body_bytes);
  EXPECT_EQ(e.server.shutdown_timeout_us, d.server.shutdown_timeout_us);
  EXPECT_EQ(e.log.default_partitions, d.log.default_partitions);
  EXPECT_EQ(e.log.fsync, d.log.fsync);
  EXPECT_EQ(e.log.fsync_interval_ms, d.log.fsync_interval_ms);
  EXPECT_EQ(e.log.segment_bytes, d.log.segment_bytes);
  EXPECT_EQ(e.log.segment_ms, d.log.segment_ms);
  EXPECT_EQ(e.log.retention_ms, d.log.retention_ms);
  EXPECT_EQ(e.log.retention_bytes, d.log.retention_bytes);
  EXPECT_EQ(e.log.dedup_window_ms, d.log.dedup_window_ms);
  EXPECT_EQ(e.log.dedup_max_entries, d.log.dedup_max_entries);
  EXPECT_EQ(e.events.limits.max_event_bytes, d.events.limits.max_event_bytes);
  EXPECT_EQ(e.events.limits.max_depth, d.events.limits.max_depth);
  EXPECT_EQ(e.events.limits.max_text_bytes, d.events.limits.max_text_bytes);
  EXPECT_EQ(e.events.limits.max_batch_items, d.events.limits.max_batch_items);
  EXPECT_EQ(e.graph.store.sync, d.graph.store.sync);
  EXPECT_EQ(e.graph.store.tombstone_retention_us, d.graph.store.tombstone_retention_us);
  EXPECT_EQ(e.graph.store.write_buffer_bytes, d.graph.store.write_buffer_bytes);
  EXPECT_EQ(e.graph.store.known_vertex_cache_entries, d.graph.store.known_vertex_cache_entries);
  for (const LegOptions* leg : {&e.graph.leg, &e.vector.leg}) {
    const LegOptions def;
    EXPECT_EQ(leg->workers, def.workers);
    EXPECT_EQ(leg->max_batch_events, def.max_batch_events);
    EXPECT_EQ(leg->max_batch_delay_us, def.max_batch_delay_us);
    EXPECT_EQ(leg->commit_interval_us, def.commit_interval_us);
    EXPECT_EQ(leg->retry.initial_backoff_us, def.retry.initial_backoff_us);
    EXPECT_EQ(leg->retry.max_attempts, def.retry.max_attempts);
    EXPECT_EQ(leg->breaker.open_duration_us, def.breaker.open_duration_us);
    EXPECT_EQ(leg->redelivery.backoff_max_us, def.redelivery.backoff_max_us);
    EXPECT_EQ(leg->redelivery.max_deliveries, def.redelivery.max_deliveries);
  }
  EXPECT_EQ(e.vector.store.text_fields, d.vector.store.text_fields);
  EXPECT_EQ(e.vector.store.hnsw_m, d.vector.store.hnsw_m);
  EXPECT_EQ(e.vector.store.hnsw_ef_construction, d.vector.store.hnsw_ef_construction);
  EXPECT_EQ(e.vector.store.hnsw_ef_search, d.vector.store.hnsw_ef_search);
  EXPECT_EQ(e.vector.store.snapshot_every_changes, d.vector.store.snapshot_every_changes);
  EXPECT_EQ(e.vector.embedder.kind, "hash");
  EXPECT_EQ(e.vector.embedder.hash.dimension, d.vector.embedder.hash.dimension);
  EXPECT_EQ(e.vector.embedder.hash.min_ngram, d.vector.embedder.hash.min_ngram);
  EXPECT_EQ(e.vector.embedder.hash.max_ngram, d.vector.embedder.hash.max_ngram);
  EXPECT_EQ(e.vector.embedder.hash.word_weight, d.vector.embedder.hash.word_weight);
  EXPECT_EQ(e.vector.embedder.http.timeout_us, d.vector.embedder.http.timeout_us);
}

TEST(Config, UnitsAndDerivedDirectories) {
  const Config c = MustParse(R"(
data_dir: /srv/tandem
server: {port: 0, max_body: 64KiB, shutdown_timeout: 250ms}
log: {fsync: interval, fsync_interval: 2s, segment_size: 1GiB, retention_age: -1s,
      retention_size: 512MiB, compression: zstd}
graph: {tombstone_retention: -1s, leg: {batch_delay: 250us, workers: 1}}
vector: {dir: /fast/vector, text_fields: {person: [full_name]}}
)");
  EXPECT_EQ(c.server.port, 0);
  EXPECT_EQ(c.server.max_body_bytes, 64u << 10);
  EXPECT_EQ(c.server.shutdown_timeout_us, 250'000);
  EXPECT_EQ(c.log.fsync, FsyncPolicy::kInterval);
  EXPECT_EQ(c.log.fsync_interval_ms, 2000);
  EXPECT_EQ(c.log.segment_bytes, uint64_t{1} << 30);
  EXPECT_EQ(c.log.retention_ms, -1);
  EXPECT_EQ(c.log.retention_bytes, int64_t{512} << 20);
  EXPECT_EQ(c.log.compression, Compression::kZstd);
  EXPECT_EQ(c.graph.store.tombstone_retention_us, -1);
  EXPECT_EQ(c.graph.leg.max_batch_delay_us, 250);
  EXPECT_EQ(c.graph.leg.workers, 1u);
  EXPECT_EQ(c.log.dir, "/srv/tandem/log");
  EXPECT_EQ(c.graph.store.dir, "/srv/tandem/graph");
  EXPECT_EQ(c.vector.store.dir, "/fast/vector");
  EXPECT_EQ(c.graph.leg.name, "graph");
  EXPECT_EQ(c.vector.leg.name, "vector");
  EXPECT_EQ(c.vector.store.text_fields,
            (std::map<std::string, std::vector<std::string>>{{"person", {"full_name"}}}));
}

TEST(Config, EveryProblemIsReportedWithItsKey) {
  const std::string m = Problems(R"(
server: {port: 80x, lisen: 0.0.0.0}
log: {fsync: sometimes, segment_size: 12XB}
graph: {leg: {wrokers: 3, batch_delay: 5}}
vector: {hnsw: {m: 1}, embedder: {kind: http}}
)");
  for (const char* want :
       {"server.port: must be an integer 0..65535, got \"80x\"",
        "server.lisen: unknown key", "log.fsync: must be one of always, interval, never",
        "log.segment_size: must be a size", "graph.leg.wrokers: unknown key",
        "graph.leg.batch_delay: must be a duration", "vector.hnsw.m: must be an integer 2..100",
        "vector.embedder.url: is required when kind is http",
        "vector.embedder.model: is required when kind is http"}) {
    EXPECT_NE(m.find(want), std::string::npos) << "missing \"" << want << "\" in: " << m;
  }
  EXPECT_NE(m.find("10 problems"), std::string::npos) << m;

  EXPECT_NE(Problems("server: [1, 2]").find("server: must be a mapping"), std::string::npos);
  EXPECT_NE(Problems("{unclosed").find("not valid YAML"), std::string::npos);
  EXPECT_NE(Problems("- a\n- b").find("must be a mapping"), std::string::npos);
  EXPECT_NE(Problems("graph: {enabled: yes}").find("graph.enabled: must be true or false"),
            std::string::npos);
}

TEST(Config, EnvironmentOverridesTheFile) {
  const EnvironmentMap env = {{"TANDEM_SERVER__PORT", "9000"},
                              {"TANDEM_DATA_DIR", "/env/data"},
                              {"TANDEM_GRAPH__LEG__WORKERS", "4"},
                              {"TANDEM_VECTOR__EMBEDDER__API_KEY", "sk-test"},
                              {"TANDEM_CRASH_ROUNDS", "200"},  // not configuration
                              {"PATH", "/usr/bin"}};
  const Config c = MustParse("server: {port: 8000}\ngraph: {leg: {workers: 1}}\n", env);
  EXPECT_EQ(c.server.port, 9000);
  EXPECT_EQ(c.data_dir, "/env/data");
  EXPECT_EQ(c.log.dir, "/env/data/log");
  EXPECT_EQ(c.graph.leg.workers, 4u);
  EXPECT_EQ(c.vector.leg.workers, LegOptions().workers);  // only the named leg
  EXPECT_EQ(c.vector.embedder.http.api_key, "sk-test");

  const std::string m = Problems("", {{"TANDEM_SERVER__PROT", "1"}, {"TANDEM_LOG__PARTITIONS", "0"}});
  EXPECT_NE(m.find("server.prot: unknown key (set by TANDEM_SERVER__PROT)"), std::string::npos)
      << m;
  EXPECT_NE(m.find("log.partitions: must be an integer 1..1024, got \"0\" (set by "
                   "TANDEM_LOG__PARTITIONS)"),
            std::string::npos)
      << m;
}

TEST(Config, EnrichmentSectionMapsOntoTheLegOptions) {
  const Config d = MustParse("");
  EXPECT_FALSE(d.enrichment.enabled);
  EXPECT_TRUE(d.enrichment.enrichers.empty());
  EXPECT_EQ(d.enrichment.dir, d.data_dir + "/enrich");
  const Config c = MustParse(
      "data_dir: /d\n"
      "enrichment:\n"
      "  enabled: true\n"
      "  enrichers:\n"
      "    - {name: risk, kind: network_risk}\n"
      "    - name: kyc\n"
      "      kind: http\n"
      "      types: [person]\n"
      "      url: http://127.0.0.1:9/kyc\n"
      "      fields: [kyc_level]\n"
      "      timeout: 2s\n"
      "      concurrency: 32\n"
      "      max_attempts: 3\n"
      "      initial_backoff: 10ms\n"
      "      max_backoff: 1s\n"
      "      breaker: {failure_threshold: 2, open_duration: 30s}\n",
      {{"TANDEM_ENRICHMENT__ENRICHERS__1__URL", "http://127.0.0.1:8/kyc"}});
  ASSERT_EQ(c.enrichment.enrichers.size(), 2u);
  const EnricherConfig& risk = c.enrichment.enrichers[0];
  EXPECT_EQ(risk.kind, "network_risk");
  EXPECT_EQ(risk.types, (std::vector<std::string>{"person", "company"}));
  EXPECT_EQ(risk.leg.name, "risk");
  EXPECT_EQ(risk.leg.dir, "/d/enrich/risk");
  EXPECT_EQ(risk.leg.concurrency, EnrichLegOptions().concurrency);
  const EnricherConfig& kyc = c.enrichment.enrichers[1];
  EXPECT_EQ(kyc.http.url, "http://127.0.0.1:8/kyc");  // the environment wins
  EXPECT_EQ(kyc.http.fields, std::vector<std::string>{"kyc_level"});
  EXPECT_EQ(kyc.leg.types, std::vector<std::string>{"person"});
  EXPECT_EQ(kyc.leg.timeout_us, 2'000'000);
  EXPECT_EQ(kyc.leg.concurrency, 32u);
  EXPECT_EQ(kyc.leg.max_attempts, 3u);
  EXPECT_EQ(kyc.leg.initial_backoff_us, 10'000);
  EXPECT_EQ(kyc.leg.max_backoff_us, 1'000'000);
  EXPECT_EQ(kyc.leg.breaker.failure_threshold, 2u);
  EXPECT_EQ(kyc.leg.breaker.open_duration_us, 30'000'000);
}

TEST(Config, EnrichmentProblemsNameTheItemAndKey) {
  const std::string m = Problems(
      "graph: {enabled: false}\n"
      "enrichment:\n"
      "  enabled: true\n"
      "  enrichers:\n"
      "    - {name: a, kind: http, concurrency: 0}\n"
      "    - {name: a, kind: network_risk, types: [Person], colour: red}\n"
      "    - {kind: magic}\n");
  for (const char* want : {
           "enrichment.enrichers.0.url: is required when kind is http",
           "enrichment.enrichers.0.fields: is required when kind is http",
           "enrichment.enrichers.0.concurrency: must be an integer 1..1024, got \"0\"",
           "enrichment.enrichers.1.name: \"a\" is used by another enricher",
           "enrichment.enrichers.1.types: \"Person\" is not an entity type",
           "enrichment.enrichers.1.colour: unknown key",
           "enrichment.enrichers.1.kind: network_risk needs the graph store",
           "enrichment.enrichers.2.kind: must be one of http, network_risk, got \"magic\"",
           "enrichment.enrichers.2.name: is required",
       }) {
    EXPECT_NE(m.find(want), std::string::npos) << want << "\n" << m;
  }
  const std::string env = Problems("", {{"TANDEM_ENRICHMENT__ENRICHERS__3__URL", "x"}});
  EXPECT_NE(env.find("enrichment.enrichers.3.url: no such list item (set by "
                     "TANDEM_ENRICHMENT__ENRICHERS__3__URL)"),
            std::string::npos)
      << env;
}

TEST(Config, MissingFileIsNotFound) {
  Result<Config> c = LoadConfigFile("/nonexistent/tandem.yaml", {});
  EXPECT_TRUE(c.status().IsNotFound()) << c.status().ToString();
  Result<Config> example = LoadConfigFile(TANDEM_EXAMPLE_CONFIG_PATH, {});
  EXPECT_TRUE(example.ok()) << example.status().ToString();
}

}  // namespace
}  // namespace tandem
