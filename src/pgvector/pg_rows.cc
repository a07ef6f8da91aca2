// Row reads and writes of <p>_documents and <p>_positions: multi-row
// statements over arrays (`unnest($1::text[], ...)`), never COPY (PGlite
// wedges on COPY FROM STDIN). Writes are compare-and-set on the applied
// marker: a row is updated only while it still holds the marker the caller
// planned against, which is how the store contract is enforced in SQL.

#include <charconv>
#include <string>
#include <utility>

#include "pgvector/pg_vector_store.h"

namespace tandem::pgvector_internal {
namespace {

constexpr std::string_view kDocColumns =
    "entity_id, entity_type, payload, version, topic, partition, log_offset::text, event_id, "
    "deleted, applied_at_us, text, content_hash, embedding IS NOT NULL";

template <typename T>
Status ParseInt(const std::optional<std::string>& field, std::string_view what, T* out) {
  if (!field.has_value())
    return Status::Corruption("pgvector row: " + std::string(what) + " is NULL");
  auto [end, ec] = std::from_chars(field->data(), field->data() + field->size(), *out);
  if (ec != std::errc() || end != field->data() + field->size()) {
    return Status::Corruption("pgvector row: " + std::string(what) + " \"" + *field +
                              "\" is not an integer in range");
  }
  return Status::OK();
}

Status RowFromFields(PgRow& f, DocRow* row) {
  if (f.size() != 13 || !f[0] || !f[1] || !f[2] || !f[4] || !f[7] || !f[8]) {
    return Status::Corruption("pgvector row: unexpected shape or NULL in a NOT NULL column");
  }
  row->entity_id = std::move(*f[0]);
  row->entity_type = std::move(*f[1]);
  row->payload = std::move(*f[2]);
  AppliedMarker& m = row->marker;
  m.version.reset();
  if (f[3].has_value()) TANDEM_RETURN_IF_ERROR(ParseInt(f[3], "version", &m.version.emplace()));
  m.position.topic = std::move(*f[4]);
  TANDEM_RETURN_IF_ERROR(ParseInt(f[5], "partition", &m.position.partition));
  TANDEM_RETURN_IF_ERROR(ParseInt(f[6], "log_offset", &m.position.offset));
  m.event_id = std::move(*f[7]);
  m.deleted = *f[8] == "t";
  TANDEM_RETURN_IF_ERROR(ParseInt(f[9], "applied_at_us", &m.applied_at_us));
  row->text = std::move(f[10]);
  row->content_hash = f[11].value_or("");
  row->has_vector = f[12] == std::optional<std::string>("t");
  return Status::OK();
}

PgParam Bool(bool b) { return std::string(b ? "t" : "f"); }

// The payload as jsonb text, or NULL when jsonb cannot hold it (a string
// with U+0000): such a document is never matched by a payload filter.
PgParam Metadata(const std::string& canonical_payload) {
  if (canonical_payload.find("\\u0000") != std::string::npos) return std::nullopt;
  return canonical_payload;
}

// Column-wise parameters of a multi-row statement: one array per column.
class Columns {
 public:
  explicit Columns(size_t n) : cols_(n) {}
  void Add(size_t col, PgParam v) { cols_[col].push_back(std::move(v)); }
  std::vector<PgParam> Params() const {
    std::vector<PgParam> out;
    for (const auto& c : cols_) out.emplace_back(ArrayLiteral(c));
    return out;
  }

 private:
  std::vector<std::vector<std::optional<std::string>>> cols_;
};

// The marker columns of `m` from column `first` on: version, topic,
// partition, offset, event_id, deleted, applied_at_us.
void AddMarker(Columns& c, size_t first, const AppliedMarker& m) {
  c.Add(first, m.version.has_value() ? PgParam(std::to_string(*m.version)) : std::nullopt);
  c.Add(first + 1, m.position.topic);
  c.Add(first + 2, std::to_string(m.position.partition));
  c.Add(first + 3, std::to_string(m.position.offset));
  c.Add(first + 4, m.event_id);
  c.Add(first + 5, Bool(m.deleted));
  c.Add(first + 6, std::to_string(m.applied_at_us));
}

// Columns 0..13 of a row write: the document as it should be stored.
void AddDocument(Columns& c, const RowWrite& w) {
  const DocRow& d = w.after;
  c.Add(0, d.entity_id);
  c.Add(1, d.entity_type);
  c.Add(2, d.payload);
  c.Add(3, d.marker.deleted ? PgParam("{}") : Metadata(d.payload));
  c.Add(4, d.text);
  c.Add(5, d.text.has_value() ? PgParam(d.content_hash) : std::nullopt);
  c.Add(6, w.vector.empty() ? std::nullopt : PgParam(VectorLiteral(w.vector)));
  AddMarker(c, 7, d.marker);
}

constexpr std::string_view kDocArrays =
    "$1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], "
    "$8::bigint[], $9::text[], $10::bigint[], $11::numeric[], $12::text[], $13::bool[], "
    "$14::bigint[]";
constexpr std::string_view kDocAliases =
    "entity_id, entity_type, payload, metadata, text, content_hash, embedding, version, topic, "
    "partition, log_offset, event_id, deleted, applied_at_us";

}  // namespace

Status PgVectorStore::LoadRows(const std::vector<std::string>& ids, bool for_update,
                               std::unordered_map<std::string, DocRow>* out) {
  if (ids.empty()) return Status::OK();
  std::vector<std::optional<std::string>> items(ids.begin(), ids.end());
  PgRows rows;
  TANDEM_RETURN_IF_ERROR(
      session_->Exec("SELECT " + std::string(kDocColumns) + " FROM " + Table("documents") +
                         " WHERE entity_id = ANY($1::text[])" + (for_update ? " FOR UPDATE" : ""),
                     {ArrayLiteral(items)}, &rows));
  for (PgRow& r : rows) {
    DocRow row;
    TANDEM_RETURN_IF_ERROR(RowFromFields(r, &row));
    std::string id = row.entity_id;
    (*out)[std::move(id)] = std::move(row);
  }
  return Status::OK();
}

Status PgVectorStore::ScanRows(std::string_view begin, std::string_view end, bool live_only,
                               const RowVisitor& fn) {
  std::string from(begin);
  bool first = true;
  // Each page either ends the scan or starts after the last id it returned:
  // the loop visits every row once and ends.
  for (;;) {
    std::string sql = "SELECT " + std::string(kDocColumns) + " FROM " + Table("documents") +
                      " WHERE entity_id " + (first ? ">=" : ">") + " $1";
    std::vector<PgParam> params = {from, std::to_string(options_.scan_page_rows)};
    if (!end.empty()) {
      sql += " AND entity_id < $3";
      params.emplace_back(std::string(end));
    }
    if (live_only) sql += " AND NOT deleted";
    sql += " ORDER BY entity_id LIMIT $2::bigint";
    PgRows rows;
    TANDEM_RETURN_IF_ERROR(session_->Exec(sql, params, &rows));
    for (PgRow& r : rows) {
      DocRow row;
      TANDEM_RETURN_IF_ERROR(RowFromFields(r, &row));
      from = row.entity_id;
      TANDEM_ASSIGN_OR_RETURN(bool more, fn(row));
      if (!more) return Status::OK();
    }
    if (rows.size() < options_.scan_page_rows) return Status::OK();
    first = false;
  }
}

Status PgVectorStore::WriteRows(const std::vector<RowWrite>& rows) {
  Columns update(22), insert(14);
  size_t updates = 0, inserts = 0;
  for (const RowWrite& w : rows) {
    Columns& c = w.stored.has_value() ? update : insert;
    AddDocument(c, w);
    if (w.stored.has_value()) {
      c.Add(14, Bool(w.keep_vector));
      AddMarker(c, 15, *w.stored);  // the marker the row must still hold
      ++updates;
    } else {
      ++inserts;
    }
  }
  const std::string docs = Table("documents");
  if (updates > 0) {
    const std::string sql =
        "UPDATE " + docs +
        " AS d SET entity_type = u.entity_type, payload = u.payload, metadata = u.metadata::jsonb,"
        " text = u.text, content_hash = u.content_hash,"
        " embedding = CASE WHEN u.keep THEN d.embedding ELSE u.embedding::vector END,"
        " version = u.version, topic = u.topic, partition = u.partition,"
        " log_offset = u.log_offset, event_id = u.event_id, deleted = u.deleted,"
        " applied_at_us = u.applied_at_us FROM unnest(" +
        std::string(kDocArrays) +
        ", $15::bool[], $16::bigint[], $17::text[], $18::bigint[], $19::numeric[], $20::text[],"
        " $21::bool[], $22::bigint[]) AS u(" +
        std::string(kDocAliases) +
        ", keep, s_version, s_topic, s_partition, s_offset, s_event_id, s_deleted, s_applied_at)"
        " WHERE d.entity_id = u.entity_id AND d.version IS NOT DISTINCT FROM u.s_version"
        " AND d.topic = u.s_topic AND d.partition = u.s_partition AND d.log_offset = u.s_offset"
        " AND d.event_id = u.s_event_id AND d.deleted = u.s_deleted"
        " AND d.applied_at_us = u.s_applied_at";
    uint64_t changed = 0;
    TANDEM_RETURN_IF_ERROR(session_->Exec(sql, update.Params(), nullptr, &changed));
    if (changed != updates) {
      return Status::Aborted("pgvector: " + std::to_string(updates - changed) +
                             " document(s) changed concurrently; retry the batch");
    }
  }
  if (inserts > 0) {
    const std::string sql = "INSERT INTO " + docs + " (" + std::string(kDocAliases) +
                            ") SELECT entity_id, entity_type, payload, metadata::jsonb, text,"
                            " content_hash, embedding::vector, version, topic, partition,"
                            " log_offset, event_id, deleted, applied_at_us FROM unnest(" +
                            std::string(kDocArrays) + ") AS u(" + std::string(kDocAliases) +
                            ") ON CONFLICT (entity_id) DO NOTHING";
    uint64_t added = 0;
    TANDEM_RETURN_IF_ERROR(session_->Exec(sql, insert.Params(), nullptr, &added));
    if (added != inserts) {
      return Status::Aborted("pgvector: " + std::to_string(inserts - added) +
                             " document(s) created concurrently; retry the batch");
    }
  }
  return Status::OK();
}

Status PgVectorStore::DeleteRow(const std::string& id, const AppliedMarker& stored) {
  Columns c(7);
  AddMarker(c, 0, stored);
  std::vector<PgParam> params = c.Params();
  params.emplace_back(id);
  uint64_t deleted = 0;
  TANDEM_RETURN_IF_ERROR(session_->Exec(
      "DELETE FROM " + Table("documents") +
          " AS d USING unnest($1::bigint[], $2::text[], $3::bigint[], $4::numeric[], $5::text[],"
          " $6::bool[], $7::bigint[]) AS s(version, topic, partition, log_offset, event_id,"
          " deleted, applied_at_us) WHERE d.entity_id = $8 AND d.version IS NOT DISTINCT FROM"
          " s.version AND d.topic = s.topic AND d.partition = s.partition"
          " AND d.log_offset = s.log_offset AND d.event_id = s.event_id"
          " AND d.deleted = s.deleted AND d.applied_at_us = s.applied_at_us",
      params, nullptr, &deleted));
  if (deleted != 1)
    return Status::Aborted("pgvector: document \"" + id + "\" changed concurrently");
  return Status::OK();
}

Status PgVectorStore::WritePositions(const PositionMap& handled) {
  if (handled.empty()) return Status::OK();
  Columns c(3);
  for (const auto& [tp, offset] : handled) {
    c.Add(0, tp.topic);
    c.Add(1, std::to_string(tp.partition));
    c.Add(2, std::to_string(offset));
  }
  const std::string table = Table("positions");
  return session_->Exec("INSERT INTO " + table +
                            " AS p (topic, partition, log_offset) SELECT * FROM unnest($1::text[],"
                            " $2::bigint[], $3::numeric[]) ON CONFLICT (topic, partition) DO"
                            " UPDATE SET log_offset = GREATEST(p.log_offset, excluded.log_offset)",
                        c.Params());
}

}  // namespace tandem::pgvector_internal
