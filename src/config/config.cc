// Config: YAML → Config with env overrides and whole-config validation.
//
// The YAML text is loaded into a yaml-cpp node tree; each TANDEM_* override
// is written into the tree at its path (as a scalar, so "8" and "8" typed
// in the file read the same); then a Reader walks the tree section by
// section, converting each known key into its field and collecting every
// problem (bad value, unknown key) with the key's path, so one run of
// `tandem serve` reports all of them. yaml-cpp throws; nothing escapes this
// file.

#include "tandem/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <optional>
#include <set>
#include <sstream>
#include <utility>

extern char** environ;

namespace tandem {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Walks one mapping node; records problems into a shared list.
class Reader {
 public:
  Reader(YAML::Node node, std::string path, std::vector<std::string>* errors)
      : node_(std::move(node)), path_(std::move(path)), errors_(errors) {
    if (node_ && !node_.IsNull() && !node_.IsMap()) {
      Error("", "must be a mapping of keys to values");
      node_ = YAML::Node();
    }
  }
  // Reports keys nobody asked for.
  ~Reader() {
    if (!node_ || !node_.IsMap()) return;
    for (const auto& kv : node_) {
      const std::string key = kv.first.as<std::string>("");
      if (!seen_.contains(key)) Error(key, "unknown key");
    }
  }
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  Reader Section(const std::string& key) { return Reader(Get(key), Join(key), errors_); }

  void String(const std::string& key, std::string* out) {
    YAML::Node v = Get(key);
    if (!v) return;
    if (!v.IsScalar()) return Error(key, "must be a string");
    *out = v.Scalar();
  }
  void Bool(const std::string& key, bool* out) {
    YAML::Node v = Get(key);
    if (!v) return;
    const std::string s = v.IsScalar() ? Lower(v.Scalar()) : "";
    if (s == "true") {
      *out = true;
    } else if (s == "false") {
      *out = false;
    } else {
      Error(key, "must be true or false, got " + Shown(v));
    }
  }
  template <typename T>
  void Int(const std::string& key, T* out, int64_t min, int64_t max) {
    YAML::Node v = Get(key);
    if (!v) return;
    int64_t x = 0;
    const std::string s = v.IsScalar() ? v.Scalar() : "";
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size() || x < min || x > max) {
      return Error(key, "must be an integer " + std::to_string(min) + ".." + std::to_string(max) +
                            ", got " + Shown(v));
    }
    *out = static_cast<T>(x);
  }
  template <typename T>
  void Double(const std::string& key, T* out, double min, double max) {
    YAML::Node v = Get(key);
    if (!v) return;
    const std::string s = v.IsScalar() ? v.Scalar() : "";
    char* end = nullptr;
    const double x = s.empty() ? 0 : std::strtod(s.c_str(), &end);
    if (s.empty() || end != s.c_str() + s.size() || !(x >= min && x <= max)) {
      std::ostringstream range;
      range << min << ".." << max;
      return Error(key, "must be a number " + range.str() + ", got " + Shown(v));
    }
    *out = static_cast<T>(x);
  }
  // "250us", "5ms", "10s", "2m", "24h", "7d" → microseconds. `allow_negative`:
  // "-1" (any unit) means "never / forever" where the field documents it.
  void Duration(const std::string& key, int64_t* out_us, bool allow_negative = false) {
    YAML::Node v = Get(key);
    if (!v) return;
    const std::string s = v.IsScalar() ? v.Scalar() : "";
    static const std::pair<const char*, int64_t> kUnits[] = {
        {"us", 1}, {"ms", 1000}, {"s", 1'000'000}, {"m", 60'000'000},
        {"h", 3'600'000'000}, {"d", 86'400'000'000}};
    for (const auto& [unit, scale] : kUnits) {
      const std::string_view u(unit);
      if (s.size() <= u.size() || s.compare(s.size() - u.size(), u.size(), u) != 0) continue;
      const std::string number = s.substr(0, s.size() - u.size());
      // "5ms" must not be read as 5m + "s": the digits must end right before the unit.
      if (number.empty() || !(std::isdigit(static_cast<unsigned char>(number.back())))) continue;
      int64_t x = 0;
      auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), x);
      if (ec != std::errc() || end != number.data() + number.size()) break;
      if (x < 0 && !(allow_negative && x == -1)) break;
      if (x > std::numeric_limits<int64_t>::max() / scale) break;
      *out_us = x < 0 ? -1 : x * scale;
      return;
    }
    Error(key, std::string("must be a duration such as 250us, 5ms, 10s, 2m, 24h or 7d") +
                   (allow_negative ? " (-1s: never)" : "") + ", got " + Shown(v));
  }
  // "4096", "64KiB", "128MiB", "1GiB" → bytes.
  template <typename T>
  void Size(const std::string& key, T* out, uint64_t min, uint64_t max) {
    YAML::Node v = Get(key);
    if (!v) return;
    const std::string s = v.IsScalar() ? v.Scalar() : "";
    uint64_t scale = 1;
    std::string number = s;
    static const std::pair<const char*, uint64_t> kUnits[] = {
        {"KiB", uint64_t{1} << 10}, {"MiB", uint64_t{1} << 20}, {"GiB", uint64_t{1} << 30},
        {"TiB", uint64_t{1} << 40}, {"B", 1}};
    for (const auto& [unit, factor] : kUnits) {
      const std::string_view u(unit);
      if (s.size() > u.size() && s.compare(s.size() - u.size(), u.size(), u) == 0) {
        number = s.substr(0, s.size() - u.size());
        scale = factor;
        break;
      }
    }
    uint64_t x = 0;
    auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), x);
    const bool parsed = !number.empty() && ec == std::errc() && end == number.data() + number.size();
    if (!parsed || x > max / scale || x * scale < min || x * scale > max) {
      return Error(key, "must be a size from " + std::to_string(min) + " to " +
                            std::to_string(max) + " bytes (e.g. 4096, 64KiB, 128MiB), got " +
                            Shown(v));
    }
    *out = static_cast<T>(x * scale);
  }
  // As Size, or "unlimited" (stored as -1).
  void SizeOrUnlimited(const std::string& key, int64_t* out, uint64_t min, uint64_t max) {
    YAML::Node v = Get(key);
    if (!v) return;
    if (v.IsScalar() && (v.Scalar() == "unlimited" || v.Scalar() == "-1")) {
      *out = -1;
      return;
    }
    seen_.erase(key);  // Size looks it up again
    Size(key, out, min, max);
  }
  // A mapping of names to lists of strings (vector.text_fields).
  void StringListMap(const std::string& key, std::map<std::string, std::vector<std::string>>* out) {
    YAML::Node v = Get(key);
    if (!v) return;
    if (!v.IsMap()) return Error(key, "must map entity types to lists of payload fields");
    std::map<std::string, std::vector<std::string>> m;
    for (const auto& kv : v) {
      const std::string name = kv.first.as<std::string>("");
      if (!kv.second.IsSequence()) return Error(key + "." + name, "must be a list of strings");
      for (const auto& item : kv.second) {
        if (!item.IsScalar()) return Error(key + "." + name, "must be a list of strings");
        m[name].push_back(item.Scalar());
      }
    }
    *out = std::move(m);
  }
  // A list of strings.
  void StringList(const std::string& key, std::vector<std::string>* out) {
    YAML::Node v = Get(key);
    if (!v) return;
    if (!v.IsSequence()) return Error(key, "must be a list of strings");
    std::vector<std::string> list;
    for (const auto& item : v) {
      if (!item.IsScalar()) return Error(key, "must be a list of strings");
      list.push_back(item.Scalar());
    }
    *out = std::move(list);
  }
  // A list of mappings; each item is read by a Reader named "<key>.<index>".
  std::vector<YAML::Node> List(const std::string& key) {
    YAML::Node v = Get(key);
    if (!v) return {};
    if (!v.IsSequence()) {
      Error(key, "must be a list");
      return {};
    }
    return std::vector<YAML::Node>(v.begin(), v.end());
  }
  std::string PathOf(const std::string& key) const { return Join(key); }
  // One of `choices`.
  void Choice(const std::string& key, std::string* out, const std::vector<std::string>& choices) {
    YAML::Node v = Get(key);
    if (!v) return;
    const std::string s = v.IsScalar() ? v.Scalar() : "";
    if (std::find(choices.begin(), choices.end(), s) == choices.end()) {
      std::string list;
      for (const std::string& c : choices) list += (list.empty() ? "" : ", ") + c;
      return Error(key, "must be one of " + list + ", got " + Shown(v));
    }
    *out = s;
  }

  void Error(const std::string& key, const std::string& why) {
    errors_->push_back(Join(key) + ": " + why);
  }

 private:
  YAML::Node Get(const std::string& key) {
    seen_.insert(key);
    if (!node_ || !node_.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
    YAML::Node v = node_[key];
    if (!v || v.IsNull()) return YAML::Node(YAML::NodeType::Undefined);
    return v;
  }
  std::string Join(const std::string& key) const {
    if (key.empty()) return path_.empty() ? "(config)" : path_;
    return path_.empty() ? key : path_ + "." + key;
  }
  static std::string Shown(const YAML::Node& v) {
    if (v.IsScalar()) return "\"" + v.Scalar() + "\"";
    return v.IsSequence() ? "a list" : "a mapping";
  }

  YAML::Node node_;
  std::string path_;
  std::vector<std::string>* errors_;
  std::set<std::string> seen_;
};

void ReadLeg(Reader r, LegOptions* o) {
  r.Int("workers", &o->workers, 1, 64);
  r.Int("batch_events", &o->max_batch_events, 1, 100'000);
  r.Duration("batch_delay", &o->max_batch_delay_us);
  r.Int("max_in_flight", &o->max_in_flight_events, 0, 10'000'000);
  r.Bool("from_beginning", &o->from_beginning);
  r.StringList("ce_types", &o->ce_types);
  r.Duration("max_age", &o->max_age_us, /*allow_negative=*/true);
  r.Duration("commit_interval", &o->commit_interval_us);
  {
    Reader x = r.Section("retry");
    x.Duration("initial_backoff", &o->retry.initial_backoff_us);
    x.Duration("max_backoff", &o->retry.max_backoff_us);
    x.Double("multiplier", &o->retry.multiplier, 1.0, 100.0);
    x.Double("jitter", &o->retry.jitter, 0.0, 1.0);
    x.Int("max_attempts", &o->retry.max_attempts, 1, 1000);
  }
  {
    Reader x = r.Section("breaker");
    x.Int("failure_threshold", &o->breaker.failure_threshold, 0, 1'000'000);
    x.Duration("open_duration", &o->breaker.open_duration_us);
  }
  {
    Reader x = r.Section("redelivery");
    x.Duration("backoff_base", &o->redelivery.backoff_base_us);
    x.Duration("backoff_max", &o->redelivery.backoff_max_us);
    x.Double("jitter", &o->redelivery.jitter, 0.0, 1.0);
    x.Int("max_deliveries", &o->redelivery.max_deliveries, 1, 1000);
  }
}

bool ValidEnricherName(const std::string& s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

bool ValidEntityType(const std::string& s) {
  if (s.empty() || s.size() > 64 || !(s[0] >= 'a' && s[0] <= 'z')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

void ReadEnricher(Reader& x, EnricherConfig* e, std::set<std::string>* names) {
  x.String("name", &e->name);
  x.Choice("kind", &e->kind, {"http", "network_risk"});
  x.Bool("enabled", &e->enabled);
  x.StringList("types", &e->types);
  x.StringList("topics", &e->leg.topics);
  x.Bool("auto_process", &e->leg.auto_process);
  x.String("url", &e->http.url);
  x.StringList("fields", &e->http.fields);
  x.String("api_key", &e->http.api_key);
  EnrichLegOptions& o = e->leg;
  x.Duration("timeout", &o.timeout_us);
  x.Int("concurrency", &o.concurrency, 1, 1024);
  x.Int("max_attempts", &o.max_attempts, 1, 1000);
  x.Duration("initial_backoff", &o.initial_backoff_us);
  x.Duration("max_backoff", &o.max_backoff_us);
  x.Duration("max_not_ready", &o.max_not_ready_us);
  x.Bool("publish_pending", &o.publish_pending);
  {
    Reader b = x.Section("breaker");
    b.Int("failure_threshold", &o.breaker.failure_threshold, 0, 1'000'000);
    b.Duration("open_duration", &o.breaker.open_duration_us);
  }
  ReadLeg(x.Section("leg"), &o.leg);
  if (!ValidEnricherName(e->name)) {
    x.Error("name", "is required and must match [a-z0-9_-]{1,64}, got \"" + e->name + "\"");
  } else if (!names->insert(e->name).second) {
    x.Error("name", "\"" + e->name + "\" is used by another enricher");
  }
  if (e->kind.empty()) x.Error("kind", "is required (http or network_risk)");
  if (e->types.empty()) x.Error("types", "must name at least one entity type");
  for (const std::string& t : e->types) {
    if (!ValidEntityType(t)) x.Error("types", "\"" + t + "\" is not an entity type");
  }
  if (e->kind == "http") {
    if (e->http.url.empty()) x.Error("url", "is required when kind is http");
    if (e->http.fields.empty()) {
      x.Error("fields", "is required when kind is http (the members the service answers with)");
    }
  }
  if (o.timeout_us <= 0) x.Error("timeout", "must be > 0");
  if (o.max_backoff_us < o.initial_backoff_us) x.Error("max_backoff", "must be >= initial_backoff");
}

void ReadEnrichment(Reader r, Config* c, std::vector<std::string>* errors) {
  EnrichmentConfig& en = c->enrichment;
  r.Bool("enabled", &en.enabled);
  r.String("dir", &en.dir);
  const std::vector<YAML::Node> items = r.List("enrichers");
  std::set<std::string> names;
  for (size_t i = 0; i < items.size(); ++i) {
    Reader x(items[i], r.PathOf("enrichers") + "." + std::to_string(i), errors);
    EnricherConfig e;
    ReadEnricher(x, &e, &names);
    if (en.enabled && e.kind == "network_risk" && !c->graph.enabled) {
      x.Error("kind", "network_risk needs the graph store (graph.enabled: true)");
    }
    en.enrichers.push_back(std::move(e));
  }
}

// bus: {kind, redis: {...}} (RedisBusOptions in tandem/bus.h documents each).
// bus.kafka: KafkaOptions (tandem/kafka.h), durations in the config's units.
void ReadKafka(Reader k, KafkaOptions* o) {
  k.String("bootstrap_servers", &o->bootstrap_servers);
  k.String("client_id", &o->client_id);
  k.String("topic_prefix", &o->topic_prefix);
  k.String("group_prefix", &o->group_prefix);
  k.Int("partitions", &o->default_partitions, 1, 10'000);
  k.Int("replication_factor", &o->replication_factor, 1, 32);
  std::string creation = o->topic_creation == KafkaTopicCreation::kAdmin ? "admin" : "auto";
  k.Choice("topic_creation", &creation, {"admin", "auto"});
  o->topic_creation =
      creation == "admin" ? KafkaTopicCreation::kAdmin : KafkaTopicCreation::kBrokerAuto;
  k.Size("batch_size", &o->batch_bytes, 1024, int64_t{1} << 30);
  k.Size("max_record_size", &o->max_record_bytes, 1024, uint64_t{256} << 20);
  k.Int("max_buffered_per_partition", &o->max_buffered_per_partition, 1, 10'000'000);
  k.Int("dedup_max_entries", &o->dedup_max_entries, 0, 100'000'000);
  const std::pair<const char*, int64_t*> durations[] = {
      {"request_timeout", &o->request_timeout_ms},
      {"delivery_timeout", &o->delivery_timeout_ms},
      {"linger", &o->linger_ms},
      {"session_timeout", &o->session_timeout_ms},
      {"max_poll_interval", &o->max_poll_interval_ms},
      {"metadata_refresh", &o->metadata_refresh_ms},
      {"dedup_window", &o->dedup_window_ms}};
  for (const auto& [key, ms] : durations) {
    int64_t us = *ms * 1000;
    k.Duration(key, &us);
    *ms = us / 1000;
  }
}

void ReadBus(Reader r, BusConfig* b) {
  r.Choice("kind", &b->kind, {"embedded", "redis", "kafka"});
  ReadKafka(r.Section("kafka"), &b->kafka);
  Reader x = r.Section("redis");
  RedisBusOptions& o = b->redis;
  x.String("host", &o.host);
  x.Int("port", &o.port, 1, 65535);
  x.String("password", &o.password);
  x.Int("db", &o.db, 0, 1'000'000);
  x.String("prefix", &o.prefix);
  x.Int("partitions", &o.default_partitions, 1, 1024);
  x.Int("connections", &o.connections, 1, 256);
  x.Int("fetch_count", &o.fetch_count, 1, 100'000);
  x.Int("max_len", &o.max_len, -1, std::numeric_limits<int64_t>::max());
  x.Size("max_record_size", &o.max_record_bytes, 1024, uint64_t{256} << 20);
  const std::pair<const char*, int64_t*> durations[] = {
      {"connect_timeout", &o.connect_timeout_ms},
      {"command_timeout", &o.command_timeout_ms},
      {"reconnect_backoff", &o.reconnect_backoff_base_ms},
      {"reconnect_backoff_max", &o.reconnect_backoff_max_ms},
      {"dedup_window", &o.dedup_window_ms},
      {"retention_check", &o.retention_check_ms},
      {"lease_ttl", &o.lease_ttl_ms},
      {"lease_renew", &o.lease_renew_ms},
      {"max_poll_interval", &o.max_poll_interval_ms},
      {"block", &o.block_ms},
      {"topic_refresh", &o.topic_refresh_ms}};
  for (const auto& [key, ms] : durations) {
    int64_t us = *ms * 1000;
    x.Duration(key, &us);
    *ms = us / 1000;
  }
  int64_t us = o.retention_ms * 1000;
  x.Duration("retention_age", &us, /*allow_negative=*/true);
  o.retention_ms = us < 0 ? -1 : us / 1000;
  if (o.prefix.empty()) x.Error("prefix", "must not be empty");
  if (o.lease_renew_ms <= 0 || o.lease_renew_ms * 2 >= o.lease_ttl_ms) {
    x.Error("lease_renew", "must be positive and below half of lease_ttl");
  }
  if (o.block_ms <= 0) x.Error("block", "must be positive");
  if (b->kind == "kafka" && b->kafka.bootstrap_servers.empty()) {
    r.Section("kafka").Error("bootstrap_servers", "required when bus.kind is kafka");
  }
}

// stages: {graph: {publish, topic}, vector: {publish, topic}} (tandem/stage.h).
void ReadStages(Reader r, Config* c) {
  for (auto [name, stage] : {std::pair{"graph", &c->stages.graph}, {"vector", &c->stages.vector}}) {
    Reader x = r.Section(name);
    x.Bool("publish", &stage->publish);
    x.String("topic", &stage->topic);
  }
}

void ReadAll(const YAML::Node& root, Config* c, std::vector<std::string>* errors) {
  Reader top(root, "", errors);
  top.String("data_dir", &c->data_dir);
  {
    Reader r = top.Section("server");
    r.String("listen", &c->server.listen);
    r.Int("port", &c->server.port, 0, 65535);
    r.String("auth_token", &c->server.auth_token);
    r.Size("max_body", &c->server.max_body_bytes, 1024, uint64_t{1} << 30);
    r.Int("threads", &c->server.threads, 1, 256);
    r.Duration("shutdown_timeout", &c->server.shutdown_timeout_us);
    r.Int("search_context_vertices", &c->server.search_context_vertices, 1, 10'000);
    r.Int("entity_edge_summary", &c->server.entity_edge_summary, 1, 10'000'000);
    r.Int("entity_neighbors", &c->server.entity_neighbors, 0, 10'000);
  }
  {
    Reader r = top.Section("log");
    LogOptions& o = c->log;
    r.String("dir", &o.dir);
    r.Int("partitions", &o.default_partitions, 1, 1024);
    std::string fsync = "always";
    r.Choice("fsync", &fsync, {"always", "interval", "never"});
    o.fsync = fsync == "interval" ? FsyncPolicy::kInterval
              : fsync == "never"  ? FsyncPolicy::kNever
                                  : FsyncPolicy::kAlways;
    int64_t us = o.fsync_interval_ms * 1000;
    r.Duration("fsync_interval", &us);
    o.fsync_interval_ms = us / 1000;
    r.Size("segment_size", &o.segment_bytes, 1 << 16, uint64_t{1} << 40);
    us = o.segment_ms * 1000;
    r.Duration("segment_age", &us);
    o.segment_ms = us / 1000;
    us = o.retention_ms * 1000;
    r.Duration("retention_age", &us, /*allow_negative=*/true);
    o.retention_ms = us < 0 ? -1 : us / 1000;
    r.SizeOrUnlimited("retention_size", &o.retention_bytes, 1 << 16, uint64_t{1} << 50);
    std::string compression = "none";
    r.Choice("compression", &compression, {"none", "zstd"});
    o.compression = compression == "zstd" ? Compression::kZstd : Compression::kNone;
    us = o.dedup_window_ms * 1000;
    r.Duration("dedup_window", &us);
    o.dedup_window_ms = us / 1000;
    r.Int("dedup_entries", &o.dedup_max_entries, 0, 100'000'000);
  }
  ReadBus(top.Section("bus"), &c->bus);
  {
    Reader r = top.Section("events");
    EventParserOptions& o = c->events;
    r.Size("max_event_size", &o.limits.max_event_bytes, 1024, uint64_t{64} << 20);
    r.Int("max_depth", &o.limits.max_depth, 2, 1024);
    r.Int("max_entity_id", &o.limits.max_entity_id_bytes, 1, 1024);
    r.Size("max_text", &o.limits.max_text_bytes, 0, uint64_t{16} << 20);
    r.Size("max_batch_size", &o.limits.max_batch_bytes, 1024, uint64_t{1} << 30);
    r.Int("max_batch_items", &o.limits.max_batch_items, 1, 10'000'000);
    r.Bool("allow_unknown_fields", &o.allow_unknown_fields);
  }
  {
    Reader r = top.Section("graph");
    GraphConfig& g = c->graph;
    r.Bool("enabled", &g.enabled);
    r.String("dir", &g.store.dir);
    r.String("schema_file", &g.schema_file);
    r.Bool("sync", &g.store.sync);
    r.Duration("tombstone_retention", &g.store.tombstone_retention_us, /*allow_negative=*/true);
    r.Size("block_cache", &g.store.block_cache_bytes, 0, uint64_t{1} << 40);
    r.Size("write_buffer", &g.store.write_buffer_bytes, 1 << 20, uint64_t{1} << 34);
    r.Int("known_vertices", &g.store.known_vertex_cache_entries, 0, 1'000'000'000);
    r.Choice("backend", &g.backend, {"rocksdb", "postgres"});
    {
      Reader p = r.Section("postgres");
      p.String("url", &g.postgres.url);
      p.String("table_prefix", &g.postgres.table_prefix);
      p.Int("pool_size", &g.postgres.pool_size, 2, 64);
      p.Duration("statement_timeout", &g.postgres.statement_timeout_us);
      p.Duration("acquire_timeout", &g.postgres.acquire_timeout_us);
    }
    if (g.backend == "postgres" && g.postgres.url.empty()) {
      errors->push_back("graph.postgres.url: required when graph.backend is postgres");
    }
    ReadLeg(r.Section("leg"), &g.leg);
  }
  {
    Reader r = top.Section("vector");
    VectorConfig& v = c->vector;
    r.Bool("enabled", &v.enabled);
    r.String("dir", &v.store.dir);
    r.Bool("sync", &v.store.sync);
    r.Duration("tombstone_retention", &v.store.tombstone_retention_us, /*allow_negative=*/true);
    r.Int("snapshot_every", &v.store.snapshot_every_changes, 0, 1'000'000'000);
    r.StringListMap("text_fields", &v.store.text_fields);
    r.Size("block_cache", &v.store.block_cache_bytes, 0, uint64_t{1} << 40);
    r.Size("write_buffer", &v.store.write_buffer_bytes, 1 << 20, uint64_t{1} << 34);
    r.Choice("backend", &v.backend, {"hnsw", "pgvector"});
    {
      Reader p = r.Section("pgvector");
      p.String("url", &v.pgvector.url);
      p.String("table_prefix", &v.pgvector.table_prefix);
      p.Choice("distance", &v.pgvector.distance, {"cosine", "l2", "inner_product"});
      p.Duration("statement_timeout", &v.pgvector.statement_timeout_us);
      p.Bool("create_extension", &v.pgvector.create_extension);
    }
    if (v.backend == "pgvector" && v.pgvector.url.empty()) {
      errors->push_back("vector.pgvector.url: required when vector.backend is pgvector");
    }
    {
      Reader h = r.Section("hnsw");
      h.Int("m", &v.store.hnsw_m, 2, 100);
      h.Int("ef_construction", &v.store.hnsw_ef_construction, 1, 10'000);
      h.Int("ef_search", &v.store.hnsw_ef_search, 1, 10'000);
      h.Int("insert_threads", &v.store.index_insert_threads, 1, 64);
    }
    {
      Reader e = r.Section("embedder");
      e.Choice("kind", &v.embedder.kind, {"hash", "http"});
      size_t dimension = 0;
      e.Int("dimension", &dimension, 8, 4096);
      HashEmbedderOptions& h = v.embedder.hash;
      HttpEmbedderOptions& x = v.embedder.http;
      if (dimension != 0) h.dimension = x.dimension = dimension;
      e.Int("min_ngram", &h.min_ngram, 1, 5);
      e.Int("max_ngram", &h.max_ngram, 1, 5);
      e.Double("word_weight", &h.word_weight, 0.0, 100.0);
      e.Int("seed", &h.seed, 0, std::numeric_limits<int64_t>::max());
      e.String("url", &x.url);
      e.String("model", &x.model);
      e.String("api_key", &x.api_key);
      e.Int("max_batch", &x.max_batch, 1, 10'000);
      e.Duration("timeout", &x.timeout_us);
      e.Int("max_attempts", &x.max_attempts, 1, 100);
      size_t max_text = 0;  // both embedders refuse longer texts (kTooLarge → DLQ)
      e.Size("max_text", &max_text, 1, uint64_t{16} << 20);
      if (max_text != 0) h.max_text_bytes = x.max_text_bytes = max_text;
      if (v.embedder.kind == "http" && v.enabled) {
        if (x.url.empty()) e.Error("url", "is required when kind is http");
        if (x.model.empty()) e.Error("model", "is required when kind is http");
        if (x.dimension == 0) e.Error("dimension", "is required when kind is http");
      }
      if (h.min_ngram > h.max_ngram) e.Error("min_ngram", "must not exceed max_ngram");
    }
    ReadLeg(r.Section("leg"), &v.leg);
  }
  ReadEnrichment(top.Section("enrichment"), c, errors);
  ReadStages(top.Section("stages"), c);
}

// The index a key names in a sequence ("0", "12"); nullopt for other keys.
std::optional<size_t> IndexKey(const std::string& key) {
  if (key.empty() || key.size() > 6 || !std::all_of(key.begin(), key.end(), ::isdigit)) {
    return std::nullopt;
  }
  return static_cast<size_t>(std::stoul(key));
}

// Writes `value` at the path `keys` of `root`, creating mappings on the way;
// a numeric key inside a list names an existing item. False (nothing
// written) when it names an item the list does not have.
bool SetPath(YAML::Node root, const std::vector<std::string>& keys, const std::string& value) {
  YAML::Node node = root;
  for (size_t i = 0; i + 1 < keys.size(); ++i) {
    if (node.IsSequence()) {
      const std::optional<size_t> index = IndexKey(keys[i]);
      if (!index.has_value() || *index >= node.size()) return false;
      YAML::Node item = node[*index];
      if (!item.IsMap()) return false;
      node.reset(item);
      continue;
    }
    YAML::Node child = node[keys[i]];
    // No configuration key is a number: an index under a missing key names
    // a list item that does not exist.
    if ((!child || child.IsNull()) && IndexKey(keys[i + 1]).has_value()) return false;
    const bool list_next = child && child.IsSequence() && IndexKey(keys[i + 1]).has_value();
    if (!list_next && (!child || !child.IsMap())) {
      node[keys[i]] = YAML::Node(YAML::NodeType::Map);
    }
    node.reset(node[keys[i]]);
  }
  if (node.IsSequence()) return false;
  node[keys.back()] = value;
  return true;
}

const std::set<std::string>& TopLevelKeys() {
  static const std::set<std::string> keys = {"data_dir", "server", "log",       "bus",  "events",
                                             "graph",    "vector", "enrichment", "stages"};
  return keys;
}

}  // namespace

EnvironmentMap EnvironmentOverrides() {
  EnvironmentMap out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv(*e);
    if (!kv.starts_with("TANDEM_")) continue;
    const size_t eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    out.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return out;
}

Result<Config> ParseConfig(std::string_view yaml, const EnvironmentMap& env,
                           std::string_view source) {
  YAML::Node root;
  try {
    root = yaml.empty() ? YAML::Node(YAML::NodeType::Map) : YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(std::string(source) + ": not valid YAML: " + e.what());
  }
  if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) {
    return Status::InvalidArgument(std::string(source) + ": must be a mapping of keys to values");
  }
  std::vector<std::string> errors;
  std::map<std::string, std::string> from_env;  // key path → variable
  try {
    for (const auto& [name, value] : env) {
      if (!name.starts_with("TANDEM_")) continue;
      std::vector<std::string> keys;
      std::string rest = name.substr(7);
      size_t at = 0;
      while (true) {
        const size_t sep = rest.find("__", at);
        keys.push_back(Lower(rest.substr(at, sep == std::string::npos ? std::string::npos
                                                                       : sep - at)));
        if (sep == std::string::npos) break;
        at = sep + 2;
      }
      if (!TopLevelKeys().contains(keys.front())) continue;  // not configuration
      if (std::any_of(keys.begin(), keys.end(), [](const std::string& k) { return k.empty(); })) {
        errors.push_back(name + ": malformed variable name");
        continue;
      }
      std::string path;
      for (const std::string& k : keys) path += (path.empty() ? "" : ".") + k;
      if (!SetPath(root, keys, value)) {
        errors.push_back(path + ": no such list item (set by " + name + ")");
        continue;
      }
      from_env[path] = name;
    }
    Config c;
    ReadAll(root, &c, &errors);
    for (std::string& e : errors) {
      const std::string path = e.substr(0, e.find(':'));
      if (auto it = from_env.find(path); it != from_env.end()) e += " (set by " + it->second + ")";
    }
    if (!errors.empty()) {
      std::string m = std::string(source) + ": " + std::to_string(errors.size()) +
                      (errors.size() == 1 ? " problem: " : " problems: ");
      for (size_t i = 0; i < errors.size(); ++i) m += (i ? "; " : "") + errors[i];
      return Status::InvalidArgument(std::move(m));
    }
    if (c.data_dir.empty()) return Status::InvalidArgument(std::string(source) + ": data_dir: must not be empty");
    if (c.log.dir.empty()) c.log.dir = c.data_dir + "/log";
    if (c.graph.store.dir.empty()) c.graph.store.dir = c.data_dir + "/graph";
    if (c.vector.store.dir.empty()) c.vector.store.dir = c.data_dir + "/vector";
    if (c.graph.leg.name.empty()) c.graph.leg.name = "graph";
    if (c.vector.leg.name.empty()) c.vector.leg.name = "vector";
    c.graph.leg.parser = c.events;
    c.vector.leg.parser = c.events;
    if (c.enrichment.dir.empty()) c.enrichment.dir = c.data_dir + "/enrich";
    for (EnricherConfig& e : c.enrichment.enrichers) {
      e.leg.name = e.name;
      e.leg.types = e.types;
      e.leg.dir = c.enrichment.dir + "/" + e.name;
      e.leg.leg.parser = c.events;
    }
    return c;
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(std::string(source) + ": " + e.what());
  }
}

Result<Config> LoadConfigFile(const std::string& path, const EnvironmentMap& env) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(path + ": cannot open the config file");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::IOError(path + ": read failed");
  return ParseConfig(text.str(), env, path);
}

}  // namespace tandem
