// PgVectorStore: options, opening (extension, tables, index, model check),
// the read-side Store methods, tombstone expiry and CheckInvariants.

#include "pgvector/pg_vector_store.h"

#include <regex>
#include <utility>

namespace tandem {
namespace pgvector_internal {
namespace {

Status ValidateOptions(const PgVectorStoreOptions& o) {
  auto bad = [](const std::string& m) { return Status::InvalidArgument("pgvector store: " + m); };
  if (o.url.empty()) return bad("url is required");
  static const std::regex kPrefix("[a-z_][a-z0-9_]{0,39}");
  if (!std::regex_match(o.table_prefix, kPrefix)) {
    return bad("table_prefix \"" + o.table_prefix + "\" must match [a-z_][a-z0-9_]{0,39}");
  }
  if (o.embedder == nullptr) return bad("embedder is required");
  const size_t d = o.embedder->dimension();
  if (d == 0 || d > 2000) {
    return bad("embedder dimension " + std::to_string(d) +
               " is outside 1..2000 (pgvector's HNSW limit for vector)");
  }
  if (o.hnsw_m < 2 || o.hnsw_m > 100) return bad("hnsw_m must be 2..100");
  if (o.hnsw_ef_construction < 4 || o.hnsw_ef_construction > 1000 ||
      o.hnsw_ef_construction < 2 * o.hnsw_m) {
    return bad("hnsw_ef_construction must be 4..1000 and at least 2 * hnsw_m");
  }
  if (o.hnsw_ef_search < 1 || o.hnsw_ef_search > 1000) return bad("hnsw_ef_search must be 1..1000");
  if (o.statement_timeout_ms < 0) return bad("statement_timeout_ms must be >= 0");
  if (o.scan_page_rows < 1 || o.scan_page_rows > 100'000) {
    return bad("scan_page_rows must be 1..100000");
  }
  for (const auto& [type, fields] : o.text_fields) {
    for (const std::string& f : fields) {
      if (f.empty()) return bad("text_fields[" + type + "]: empty field name");
    }
  }
  return Status::OK();
}

std::string_view OpClass(PgVectorDistance d) {
  switch (d) {
    case PgVectorDistance::kL2:
      return "vector_l2_ops";
    case PgVectorDistance::kInnerProduct:
      return "vector_ip_ops";
    case PgVectorDistance::kCosine:
      break;
  }
  return "vector_cosine_ops";
}

Status Broken(const std::string& what) { return Status::Corruption("pgvector invariant: " + what); }

}  // namespace

PgVectorStore::PgVectorStore(const PgVectorStoreOptions& options,
                             std::unique_ptr<PgSession> session)
    : options_(options),
      embedder_(*options.embedder),
      dimension_(options.embedder->dimension()),
      clock_(options.clock != nullptr ? *options.clock : SystemClock()),
      session_(std::move(session)) {}

Result<std::unique_ptr<VectorStore>> PgVectorStore::Open(const PgVectorStoreOptions& options) {
  TANDEM_RETURN_IF_ERROR(ValidateOptions(options));
  TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<PgSession> session,
                          PgSession::Connect(options.url, options.statement_timeout_ms));
  std::unique_ptr<PgVectorStore> store(new PgVectorStore(options, std::move(session)));
  std::lock_guard<std::mutex> lock(store->mu_);
  TANDEM_RETURN_IF_ERROR(store->CreateSchema());
  TANDEM_RETURN_IF_ERROR(store->CheckOrWriteMeta());
  return std::unique_ptr<VectorStore>(std::move(store));
}

Status PgVectorStore::CreateSchema() {
  const std::string docs = Table("documents");
  std::string sql;
  if (options_.create_extension) sql += "CREATE EXTENSION IF NOT EXISTS vector;\n";
  sql += "CREATE TABLE IF NOT EXISTS " + Table("meta") +
         " (key text PRIMARY KEY, value text NOT NULL);\n"
         "CREATE TABLE IF NOT EXISTS " +
         docs +
         " (entity_id text COLLATE \"C\" PRIMARY KEY, entity_type text NOT NULL,"
         " payload text NOT NULL, metadata jsonb, text text, content_hash text,"
         " embedding vector(" +
         std::to_string(dimension_) +
         "), version bigint,"
         " topic text NOT NULL, partition bigint NOT NULL, log_offset numeric(20,0) NOT NULL,"
         " event_id text NOT NULL, deleted boolean NOT NULL, applied_at_us bigint NOT NULL);\n"
         "CREATE INDEX IF NOT EXISTS " +
         docs + "_embedding ON " + docs + " USING hnsw (embedding " +
         std::string(OpClass(options_.distance)) +
         ") WITH (m = " + std::to_string(options_.hnsw_m) +
         ", ef_construction = " + std::to_string(options_.hnsw_ef_construction) +
         ");\n"
         "CREATE INDEX IF NOT EXISTS " +
         docs + "_tombstones ON " + docs +
         " (applied_at_us) WHERE deleted;\n"
         "CREATE TABLE IF NOT EXISTS " +
         Table("positions") +
         " (topic text COLLATE \"C\" NOT NULL, partition bigint NOT NULL,"
         " log_offset numeric(20,0) NOT NULL, PRIMARY KEY (topic, partition));\n";
  PgTransaction tx(*session_);
  TANDEM_RETURN_IF_ERROR(tx.Begin());
  // Two processes opening the same new tables at once: the lock makes the
  // second one find them.
  TANDEM_RETURN_IF_ERROR(session_->Exec("SELECT pg_advisory_xact_lock(hashtext($1))",
                                        {"tandem-pgvector:" + options_.table_prefix}));
  TANDEM_RETURN_IF_ERROR(session_->ExecScript(sql).WithContext("create tables"));
  return tx.Commit();
}

Status PgVectorStore::CheckOrWriteMeta() {
  const std::map<std::string, std::string> want = {
      {"format", std::string(kPgVectorFormat)},
      {"model_id", embedder_.model_id()},
      {"dimension", std::to_string(dimension_)},
      {"distance", std::string(PgVectorDistanceName(options_.distance))}};
  PgTransaction tx(*session_);
  TANDEM_RETURN_IF_ERROR(tx.Begin());
  PgRows rows;
  TANDEM_RETURN_IF_ERROR(session_->Exec("SELECT key, value FROM " + Table("meta"), {}, &rows));
  std::map<std::string, std::string> have;
  for (const PgRow& r : rows) have[r[0].value_or("")] = r[1].value_or("");
  if (have.empty()) {
    for (const auto& [k, v] : want) {
      TANDEM_RETURN_IF_ERROR(
          session_->Exec("INSERT INTO " + Table("meta") + " (key, value) VALUES ($1, $2)", {k, v}));
    }
    return tx.Commit();
  }
  const std::string where = "pgvector store \"" + options_.table_prefix + "\": ";
  if (have["format"] != want.at("format")) {
    return Status::FailedPrecondition(where + "format \"" + have["format"] +
                                      "\", this build reads \"" + want.at("format") + "\"");
  }
  if (have["model_id"] != want.at("model_id") || have["dimension"] != want.at("dimension")) {
    return Status::FailedPrecondition(
        where + "the tables hold vectors of embedder \"" + have["model_id"] +
        "\" (d=" + have["dimension"] + "), not of \"" + want.at("model_id") +
        "\" (d=" + want.at("dimension") + "); rebuild from the log under another table_prefix");
  }
  if (have["distance"] != want.at("distance")) {
    return Status::FailedPrecondition(where + "the index was built for distance \"" +
                                      have["distance"] + "\", not \"" + want.at("distance") + "\"");
  }
  return tx.Commit();
}

Result<PositionMap> PgVectorStore::Positions() {
  std::lock_guard<std::mutex> lock(mu_);
  PgRows rows;
  TANDEM_RETURN_IF_ERROR(session_->Exec(
      "SELECT topic, partition::text, log_offset::text FROM " + Table("positions"), {}, &rows));
  PositionMap out;
  for (const PgRow& r : rows) {
    TopicPartition tp{r[0].value_or(""), 0};
    uint64_t offset = 0;
    try {
      tp.partition = static_cast<uint32_t>(std::stoul(r[1].value_or("")));
      offset = std::stoull(r[2].value_or(""));
    } catch (const std::exception&) {
      return Status::Corruption("pgvector positions: a row does not parse");
    }
    out[tp] = offset;
  }
  return out;
}

Result<EntityState> PgVectorStore::Get(std::string_view entity_id) {
  TANDEM_ASSIGN_OR_RETURN(VectorDocument d, GetDocument(entity_id));
  return std::move(d.state);
}

Result<VectorDocument> PgVectorStore::GetDocument(std::string_view entity_id) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string id(entity_id);
  PgTransaction tx(*session_);
  TANDEM_RETURN_IF_ERROR(tx.BeginSnapshot());
  std::unordered_map<std::string, DocRow> rows;
  TANDEM_RETURN_IF_ERROR(LoadRows({id}, false, &rows));
  auto it = rows.find(id);
  if (it == rows.end() || Expired(it->second.marker, clock_.NowMicros())) {
    return Status::NotFound("entity \"" + id + "\"");
  }
  DocRow& row = it->second;
  VectorDocument out;
  out.state.entity_id = id;
  out.state.entity_type = std::move(row.entity_type);
  out.state.payload = std::move(row.payload);
  out.state.marker = std::move(row.marker);
  out.text = std::move(row.text);
  if (row.has_vector) {
    PgRows v;
    TANDEM_RETURN_IF_ERROR(session_->Exec(
        "SELECT embedding::text FROM " + Table("documents") + " WHERE entity_id = $1", {id}, &v));
    if (v.size() != 1 || !v[0][0].has_value()) {
      return Status::Corruption("pgvector: document \"" + id + "\" lost its embedding");
    }
    TANDEM_RETURN_IF_ERROR(
        ParseVectorLiteral(*v[0][0], "embedding of \"" + id + "\"", &out.vector));
    out.indexed = true;  // the HNSW index holds every non-NULL embedding
  }
  TANDEM_RETURN_IF_ERROR(tx.Commit());
  return out;
}

Result<StoreDigest> PgVectorStore::Digest() {
  std::lock_guard<std::mutex> lock(mu_);
  PgTransaction tx(*session_);
  TANDEM_RETURN_IF_ERROR(tx.BeginSnapshot());
  StoreDigest digest;
  TANDEM_RETURN_IF_ERROR(ScanRows("", "", /*live_only=*/true, [&](DocRow& r) -> Result<bool> {
    digest.Add(EntityHash(r.entity_type, r.entity_id, r.marker.version, r.payload));
    return true;
  }));
  TANDEM_RETURN_IF_ERROR(tx.Commit());
  return digest;
}

Result<uint64_t> PgVectorStore::ExpireTombstones() {
  if (options_.tombstone_retention_us < 0) return uint64_t{0};
  std::lock_guard<std::mutex> lock(mu_);
  // Expired ⇔ now - applied_at > retention (TombstoneExpired).
  const int64_t before = clock_.NowMicros() - options_.tombstone_retention_us;
  uint64_t deleted = 0;
  TANDEM_RETURN_IF_ERROR(session_->Exec(
      "DELETE FROM " + Table("documents") + " WHERE deleted AND applied_at_us < $1::bigint",
      {std::to_string(before)}, nullptr, &deleted));
  return deleted;
}

Status PgVectorStore::CheckRows() {
  const std::string docs = Table("documents");
  // Each count is a broken rule; the first non-zero one is reported.
  const std::vector<std::pair<std::string, std::string>> rules = {
      {"a tombstone keeps a payload, text, metadata or embedding",
       "deleted AND (payload <> '{}' OR text IS NOT NULL OR embedding IS NOT NULL"
       " OR metadata IS DISTINCT FROM '{}'::jsonb)"},
      {"an embedding without a text", "text IS NULL AND embedding IS NOT NULL"},
      {"a text without a content hash, or a hash without a text",
       "(text IS NULL) <> (content_hash IS NULL) OR text = ''"},
      {"an embedding that is not unit length", "abs(vector_norm(embedding) - 1) > 1e-3"},
      {"metadata that differs from the payload",
       "NOT deleted AND CASE WHEN metadata IS NULL THEN position('\\u0000' in payload) = 0"
       " ELSE metadata <> payload::jsonb END"}};
  for (const auto& [what, where] : rules) {
    PgRows rows;
    TANDEM_RETURN_IF_ERROR(session_->Exec(
        "SELECT entity_id FROM " + docs + " WHERE " + where + " LIMIT 1", {}, &rows));
    if (!rows.empty()) return Broken("document \"" + rows[0][0].value_or("") + "\": " + what);
  }
  PgRows index;
  TANDEM_RETURN_IF_ERROR(session_->Exec("SELECT 1 FROM pg_indexes WHERE indexname = $1",
                                        {docs + "_embedding"}, &index));
  if (index.empty()) return Broken("the HNSW index " + docs + "_embedding is missing");
  Status bad;
  TANDEM_RETURN_IF_ERROR(ScanRows("", "", /*live_only=*/false, [&](DocRow& r) -> Result<bool> {
    if (r.text.has_value() && r.content_hash != ContentHash(*r.text)) {
      bad = Broken("document \"" + r.entity_id + "\": content hash does not match its text");
      return false;
    }
    return true;
  }));
  return bad;
}

Status PgVectorStore::CheckInvariants() {
  std::lock_guard<std::mutex> lock(mu_);
  PgTransaction tx(*session_);
  TANDEM_RETURN_IF_ERROR(tx.BeginSnapshot());
  PgRows rows;
  TANDEM_RETURN_IF_ERROR(
      session_->Exec("SELECT value FROM " + Table("meta") + " WHERE key = 'format'", {}, &rows));
  if (rows.size() != 1 || rows[0][0] != std::optional<std::string>(std::string(kPgVectorFormat))) {
    return Broken("format metadata missing or wrong");
  }
  TANDEM_RETURN_IF_ERROR(CheckRows());
  return tx.Commit();
}

ApplyCounts PgVectorStore::counters() const {
  std::lock_guard<std::mutex> lock(stats_mu_);
  return counters_;
}

VectorCounters PgVectorStore::vector_counters() const {
  std::lock_guard<std::mutex> lock(stats_mu_);
  return vcounters_;
}

std::map<std::string, uint64_t> PgVectorStore::IndexSizes() const {
  std::lock_guard<std::mutex> lock(mu_);
  PgRows rows;
  Status s = session_->Exec("SELECT entity_type, count(embedding)::text FROM " +
                                Table("documents") + " WHERE NOT deleted GROUP BY entity_type",
                            {}, &rows);
  std::map<std::string, uint64_t> out;
  if (!s.ok()) return out;  // the interface has no error path; empty is "unknown"
  for (const PgRow& r : rows) {
    out[r[0].value_or("")] = std::strtoull(r[1].value_or("0").c_str(), nullptr, 10);
  }
  return out;
}

}  // namespace pgvector_internal

Result<PgVectorDistance> ParsePgVectorDistance(std::string_view name) {
  if (name == "cosine") return PgVectorDistance::kCosine;
  if (name == "l2") return PgVectorDistance::kL2;
  if (name == "inner_product") return PgVectorDistance::kInnerProduct;
  return Status::InvalidArgument("distance: \"" + std::string(name) +
                                 "\" is not one of cosine, l2, inner_product");
}

std::string_view PgVectorDistanceName(PgVectorDistance d) {
  switch (d) {
    case PgVectorDistance::kL2:
      return "l2";
    case PgVectorDistance::kInnerProduct:
      return "inner_product";
    case PgVectorDistance::kCosine:
      break;
  }
  return "cosine";
}

Result<std::unique_ptr<VectorStore>> OpenPgVectorStore(const PgVectorStoreOptions& options) {
  return pgvector_internal::PgVectorStore::Open(options);
}

}  // namespace tandem
