// Search: the query checks and filter semantics of the embedded store
// (tandem/vector.h), run as one statement:
//
//   SELECT ... FROM <p>_documents WHERE embedding IS NOT NULL
//     [AND entity_type = ANY($types)] [AND <filter> ...]
//   ORDER BY embedding <=> $query LIMIT $k
//
// inside a transaction that sets hnsw.ef_search and hnsw.iterative_scan
// (relaxed_order: a filtered query keeps scanning the graph until k rows
// pass, up to hnsw.max_scan_tuples) or, for an exact query, turns index
// scans off. Rows are re-sorted by (score, type, id) here, which restores
// strict order and makes ties deterministic.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "pgvector/pg_vector_store.h"

namespace tandem::pgvector_internal {
namespace {

using store_internal::JsonValue;

inline constexpr size_t kMaxEfSearch = 1000;  // pgvector's limit

std::string_view SqlOp(FieldFilter::Op op) {
  switch (op) {
    case FieldFilter::Op::kEq:
      return "=";
    case FieldFilter::Op::kNe:
      return "<>";
    case FieldFilter::Op::kLt:
      return "<";
    case FieldFilter::Op::kLe:
      return "<=";
    case FieldFilter::Op::kGt:
      return ">";
    case FieldFilter::Op::kGe:
      break;
  }
  return ">=";
}

// Appends filter `i` as SQL over `metadata`, binding its field and value as
// parameters, with the semantics of vector_internal::ParseFieldFilter:
// numbers as float8 (doubles), strings bytewise (COLLATE "C"), booleans and
// null by eq/ne; a missing member, one of another JSON type, or a document
// without metadata never matches (not even kNe).
Status AppendFilter(const FieldFilter& f, size_t i, std::string* sql,
                    std::vector<PgParam>* params) {
  TANDEM_ASSIGN_OR_RETURN(JsonValue v, vector_internal::ParseFieldFilter(f, i));
  params->emplace_back(f.field);
  const std::string field = "$" + std::to_string(params->size()) + "::text";
  const std::string type_is = " AND jsonb_typeof(metadata->" + field + ") = ";
  const std::string value = "$" + std::to_string(params->size() + 1);
  const std::string op(SqlOp(f.op));
  switch (v.kind) {
    case JsonValue::Kind::kNumber: {
      const double x = std::strtod(v.text.c_str(), nullptr);
      char buf[40];
      std::snprintf(buf, sizeof buf, "%.17g", x);
      params->emplace_back(std::isinf(x) ? (x > 0 ? "Infinity" : "-Infinity") : buf);
      *sql += type_is + "'number' AND (metadata->>" + field + ")::float8 " + op + " " + value +
              "::float8";
      return Status::OK();
    }
    case JsonValue::Kind::kString:
      params->emplace_back(v.text);
      *sql += type_is + "'string' AND (metadata->>" + field + ") COLLATE \"C\" " + op + " " +
              value + "::text";
      return Status::OK();
    case JsonValue::Kind::kNull:
      *sql += type_is + "'null'";
      if (f.op == FieldFilter::Op::kNe) *sql += " AND false";  // null is never "not null"
      return Status::OK();
    default:  // kBool (ParseFieldFilter admits scalars only)
      params->emplace_back(v.boolean ? "true" : "false");
      *sql += type_is + "'boolean' AND (metadata->" + field + ") " + op + " " + value + "::jsonb";
      return Status::OK();
  }
}

}  // namespace

Result<std::vector<VectorHit>> PgVectorStore::Search(const VectorQuery& query) {
  TANDEM_RETURN_IF_ERROR(vector_internal::ValidateVectorQuery(query, dimension_));
  std::vector<PgParam> params(3);  // $1 query vector, $2 k, $3 entity types
  std::string filters_sql;
  for (size_t i = 0; i < query.filters.size(); ++i) {
    TANDEM_RETURN_IF_ERROR(AppendFilter(query.filters[i], i, &filters_sql, &params));
  }
  TANDEM_ASSIGN_OR_RETURN(std::vector<float> qv,
                          vector_internal::QueryVector(embedder_, dimension_, query));
  if (!NormalizeVector(&qv)) return Status::InvalidArgument("vector: holds a non-finite value");
  if (qv.empty()) return std::vector<VectorHit>{};  // no features: nothing is similar

  const std::string op = options_.distance == PgVectorDistance::kL2             ? "<->"
                         : options_.distance == PgVectorDistance::kInnerProduct ? "<#>"
                                                                                : "<=>";
  params[0] = VectorLiteral(qv);
  params[1] = std::to_string(query.k);
  std::string sql = "SELECT entity_id, entity_type, payload, text, (embedding " + op +
                    " $1::vector)::float8 FROM " + Table("documents") +
                    " WHERE embedding IS NOT NULL";
  if (!query.entity_types.empty()) {
    params[2] = ArrayLiteral({query.entity_types.begin(), query.entity_types.end()});
    sql += " AND entity_type = ANY($3::text[])";
  } else {
    sql += " AND $3::text[] IS NULL";
  }
  sql += filters_sql + " ORDER BY embedding " + op + " $1::vector LIMIT $2::bigint";
  const size_t ef =
      std::min(kMaxEfSearch, std::max(query.ef != 0 ? query.ef : options_.hnsw_ef_search, query.k));

  std::lock_guard<std::mutex> lock(mu_);
  PgTransaction tx(*session_);
  TANDEM_RETURN_IF_ERROR(tx.Begin());
  TANDEM_RETURN_IF_ERROR(
      session_->ExecScript(query.exact ? std::string("SET LOCAL enable_indexscan = off")
                                       : "SET LOCAL hnsw.ef_search = " + std::to_string(ef) +
                                             "; SET LOCAL hnsw.iterative_scan = relaxed_order"));
  PgRows rows;
  TANDEM_RETURN_IF_ERROR(session_->Exec(sql, params, &rows));
  TANDEM_RETURN_IF_ERROR(tx.Commit());
  std::vector<VectorHit> out;
  out.reserve(rows.size());
  for (PgRow& r : rows) {
    VectorHit& h = out.emplace_back();
    h.entity_id = r[0].value_or("");
    h.entity_type = r[1].value_or("");
    h.payload = r[2].value_or("{}");
    h.text = r[3].value_or("");
    const double d = std::strtod(r[4].value_or("nan").c_str(), nullptr);
    // Unit vectors: cosine similarity from each distance.
    h.score = static_cast<float>(options_.distance == PgVectorDistance::kL2 ? 1 - d * d / 2
                                 : options_.distance == PgVectorDistance::kInnerProduct ? -d
                                                                                        : 1 - d);
  }
  std::stable_sort(out.begin(), out.end(), [](const VectorHit& a, const VectorHit& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.entity_type != b.entity_type) return a.entity_type < b.entity_type;
    return a.entity_id < b.entity_id;
  });
  return out;
}

}  // namespace tandem::pgvector_internal
