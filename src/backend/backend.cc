#include "backend/backend.h"

#include <fstream>
#include <sstream>
#include <utility>

#ifdef TANDEM_HAVE_PGGRAPH
#include "tandem/pggraph.h"
#endif
#ifdef TANDEM_HAVE_PGVECTOR
#include "tandem/pgvector.h"
#endif

namespace tandem {
namespace {

[[maybe_unused]] Status NotBuilt(const std::string& key, const std::string& value) {
  return Status::FailedPrecondition(key + ": " + value +
                                    " is not built into this tandem (it needs libpqxx-dev and "
                                    "libpq-dev at build time)");
}

Status NoReplayTarget(const std::string& key) {
  return Status::FailedPrecondition(key + ": rebuilding into another place is only offered for "
                                    "the embedded store; replay a shared database by opening "
                                    "it under a new table_prefix");
}

}  // namespace

Result<GraphSchema> LoadGraphSchema(const std::string& path) {
  if (path.empty()) return BankingSchema();
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument("graph.schema_file: cannot open \"" + path + "\"");
  std::ostringstream text;
  text << in.rdbuf();
  Result<GraphSchema> s = ParseGraphSchema(text.str());
  if (!s.ok()) {
    return Status::InvalidArgument("graph.schema_file: " + path + ": " + s.status().message());
  }
  return s;
}

bool GraphBackendIsLocal(const Config& config) { return config.graph.backend != "postgres"; }
bool VectorBackendIsLocal(const Config& config) { return config.vector.backend != "pgvector"; }

Result<std::unique_ptr<GraphStore>> OpenGraphBackend(const Config& config,
                                                     const GraphSchema& schema,
                                                     const std::string& dir) {
  if (config.graph.backend == "postgres") {
    if (!dir.empty()) return NoReplayTarget("graph.backend postgres");
#ifdef TANDEM_HAVE_PGGRAPH
    const PostgresGraphConfig& p = config.graph.postgres;
    PgGraphStoreOptions o;
    o.url = p.url;
    o.table_prefix = p.table_prefix;
    o.schema = schema;
    o.pool_size = p.pool_size;
    o.statement_timeout_ms = p.statement_timeout_us / 1000;
    o.acquire_timeout_ms = p.acquire_timeout_us / 1000;
    o.tombstone_retention_us = config.graph.store.tombstone_retention_us;
    Result<std::unique_ptr<GraphStore>> g = OpenPgGraphStore(o);
    if (!g.ok()) return g.status().WithContext("graph.postgres (table_prefix " + p.table_prefix + ")");
    return g;
#else
    return NotBuilt("graph.backend", "postgres");
#endif
  }
  GraphStoreOptions o = config.graph.store;
  if (!dir.empty()) o.dir = dir;
  o.schema = schema;
  Result<std::unique_ptr<GraphStore>> g = OpenGraphStore(o);
  if (!g.ok()) return g.status().WithContext("graph store " + o.dir);
  return g;
}

Result<std::unique_ptr<Embedder>> OpenEmbedder(const EmbedderConfig& config) {
  Result<std::unique_ptr<Embedder>> e =
      config.kind == "http" ? NewHttpEmbedder(config.http) : NewHashEmbedder(config.hash);
  if (!e.ok()) return e.status().WithContext("vector.embedder");
  return e;
}

Result<std::unique_ptr<VectorStore>> OpenVectorBackend(const Config& config, Embedder* embedder,
                                                       const std::string& dir) {
  if (config.vector.backend == "pgvector") {
    if (!dir.empty()) return NoReplayTarget("vector.backend pgvector");
#ifdef TANDEM_HAVE_PGVECTOR
    const PgVectorConfig& p = config.vector.pgvector;
    PgVectorStoreOptions o;
    o.url = p.url;
    o.table_prefix = p.table_prefix;
    o.embedder = embedder;
    o.text_fields = config.vector.store.text_fields;
    TANDEM_ASSIGN_OR_RETURN(o.distance, ParsePgVectorDistance(p.distance));
    o.hnsw_m = config.vector.store.hnsw_m;
    o.hnsw_ef_construction = config.vector.store.hnsw_ef_construction;
    o.hnsw_ef_search = config.vector.store.hnsw_ef_search;
    o.statement_timeout_ms = p.statement_timeout_us / 1000;
    o.create_extension = p.create_extension;
    o.tombstone_retention_us = config.vector.store.tombstone_retention_us;
    Result<std::unique_ptr<VectorStore>> v = OpenPgVectorStore(o);
    if (!v.ok()) {
      return v.status().WithContext("vector.pgvector (table_prefix " + p.table_prefix + ")");
    }
    return v;
#else
    return NotBuilt("vector.backend", "pgvector");
#endif
  }
  VectorStoreOptions o = config.vector.store;
  if (!dir.empty()) o.dir = dir;
  o.embedder = embedder;
  Result<std::unique_ptr<VectorStore>> v = OpenVectorStore(o);
  if (!v.ok()) return v.status().WithContext("vector store " + o.dir);
  return v;
}

}  // namespace tandem
