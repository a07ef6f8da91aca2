// Opening the PostgreSQL graph store: the tables, the prepared statements,
// the connection pool, the error mapping, and the transaction runners every
// other file uses.

#include <algorithm>
#include <cctype>
#include <utility>

#include "pggraph/pg_store.h"

namespace tandem {
namespace pggraph_internal {
namespace {

// Bumped when the tables change incompatibly; a store of another format is
// refused rather than misread.
constexpr std::string_view kFormat = "tandem-pggraph-1";

Status ValidatePrefix(const std::string& p) {
  const bool ok = !p.empty() && p.size() <= 40 && p[0] >= 'a' && p[0] <= 'z' &&
                  std::all_of(p.begin(), p.end(), [](char c) {
                    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
                  });
  if (ok) return Status::OK();
  return Status::InvalidArgument("pggraph.table_prefix: \"" + p +
                                 "\" must match [a-z][a-z0-9_]{0,39}");
}

std::string Quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + '"';
}

}  // namespace

Status FromPg(const std::exception& e, std::string_view what) {
  const std::string m = "postgres " + std::string(what) + ": " + e.what();
  if (dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr ||
      dynamic_cast<const pqxx::statement_completion_unknown*>(&e) != nullptr) {
    return Status::IOError(m + " (outcome unknown)");
  }
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) return Status::Unavailable(m);
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e); sql != nullptr) {
    const std::string state = sql->sqlstate();
    // 40001 serialization_failure, 40P01 deadlock, 57014 query_canceled
    // (statement_timeout), 55P03 lock_not_available: retrying may succeed.
    if (state == "40001" || state == "40P01" || state == "57014" || state == "55P03") {
      return Status::Aborted(m);
    }
    if (state.rfind("23", 0) == 0) return Status::Corruption(m);  // integrity constraint
    if (state.rfind("08", 0) == 0 || state.rfind("57P", 0) == 0) return Status::Unavailable(m);
    if (state == "53100") return Status::NoSpace(m);  // disk_full
  }
  return Status::IOError(m);
}

std::string TextArray(const std::vector<std::string>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    out += Quoted(items[i]);
  }
  return out + "}";
}

std::string BoolArray(const std::vector<bool>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    out += items[i] ? 't' : 'f';
  }
  return out + "}";
}

std::string SchemaDdl(const std::string& p) {
  return "CREATE TABLE IF NOT EXISTS " + p +
         "_meta (name text COLLATE \"C\" PRIMARY KEY, value text NOT NULL);"
         "CREATE TABLE IF NOT EXISTS " +
         p +
         "_vertices ("
         " id text COLLATE \"C\" PRIMARY KEY,"
         " entity_type text COLLATE \"C\" NOT NULL DEFAULT '',"
         " properties text NOT NULL DEFAULT '{}',"
         " has_marker boolean NOT NULL DEFAULT false,"
         " deleted boolean NOT NULL DEFAULT false,"
         " version bigint,"
         " topic text NOT NULL DEFAULT '',"
         " part bigint NOT NULL DEFAULT 0,"
         " log_offset bigint NOT NULL DEFAULT 0,"
         " event_id text NOT NULL DEFAULT '',"
         " applied_at_us bigint NOT NULL DEFAULT 0,"
         " referenced boolean NOT NULL DEFAULT false,"
         " rev bigint NOT NULL DEFAULT 0,"
         " label text COLLATE \"C\" GENERATED ALWAYS AS (CASE WHEN has_marker AND NOT deleted"
         "   THEN entity_type WHEN referenced THEN '_placeholder' END) STORED);"
         "CREATE INDEX IF NOT EXISTS " +
         p + "_vertices_label ON " + p +
         "_vertices (label, id) WHERE label IS NOT NULL;"
         "CREATE INDEX IF NOT EXISTS " +
         p + "_vertices_tombstones ON " + p +
         "_vertices (applied_at_us) WHERE has_marker AND deleted;"
         "CREATE TABLE IF NOT EXISTS " +
         p +
         "_edges (src text COLLATE \"C\" NOT NULL, label text COLLATE \"C\" NOT NULL,"
         " dst text COLLATE \"C\" NOT NULL, multiplicity integer NOT NULL"
         " CHECK (multiplicity >= 0), PRIMARY KEY (src, label, dst));"
         "CREATE INDEX IF NOT EXISTS " +
         p + "_edges_in ON " + p +
         "_edges (dst, label, src);"
         "CREATE TABLE IF NOT EXISTS " +
         p +
         "_positions (topic text COLLATE \"C\" NOT NULL, part bigint NOT NULL,"
         " log_offset numeric(20, 0) NOT NULL, PRIMARY KEY (topic, part));";
}

std::vector<std::pair<std::string, std::string>> PreparedStatements(const std::string& p) {
  const std::string v = p + "_vertices";
  const std::string e = p + "_edges";
  const std::string cols(kRowColumns);
  const std::string page = " AND id >= $1 AND ($2 = '' OR id < $2) ORDER BY id LIMIT $3";
  const std::string edge_cols = "SELECT src, label, dst, multiplicity FROM " + e;
  const std::string labels = " AND (cardinality($2::text[]) = 0 OR label = ANY($2::text[]))";
  return {
      {"lock", "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))"},
      {"meta_get", "SELECT value FROM " + p + "_meta WHERE name = $1"},
      {"meta_put", "INSERT INTO " + p + "_meta (name, value) VALUES ($1, $2)"},
      {"load", "SELECT " + cols + " FROM " + v + " WHERE id = ANY($1::text[])"},
      {"get", "SELECT " + cols + " FROM " + v + " WHERE id = $1"},
      {"upsert_vertices",
       "INSERT INTO " + v +
           " AS v (id, entity_type, properties, has_marker, deleted, version,"
           " topic, part, log_offset, event_id, applied_at_us, rev)"
           " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bool[], $5::bool[],"
           " $6::bigint[], $7::text[], $8::bigint[], $9::bigint[], $10::text[], $11::bigint[],"
           " $12::bigint[])"
           " ON CONFLICT (id) DO UPDATE SET entity_type = excluded.entity_type,"
           " properties = excluded.properties, has_marker = excluded.has_marker,"
           " deleted = excluded.deleted, version = excluded.version, topic = excluded.topic,"
           " part = excluded.part, log_offset = excluded.log_offset, event_id = excluded.event_id,"
           " applied_at_us = excluded.applied_at_us, rev = excluded.rev"
           // The compare-and-set: only over the row version the batch planned on.
           " WHERE v.rev = excluded.rev - 1"},
      {"add_placeholders", "INSERT INTO " + v +
                               " (id, referenced) SELECT unnest($1::text[]), true"
                               " ON CONFLICT (id) DO NOTHING"},
      // PostgreSQL checks constraints on the row proposed for insertion
      // before ON CONFLICT, so additions (an upsert) and removals (an update
      // of existing rows) are separate statements.
      {"add_edges",
       "INSERT INTO " + e +
           " AS e (src, label, dst, multiplicity)"
           " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[])"
           " ON CONFLICT (src, label, dst) DO UPDATE SET multiplicity = e.multiplicity +"
           " excluded.multiplicity"},
      {"remove_edges",
       "UPDATE " + e +
           " AS e SET multiplicity = e.multiplicity - d.n"
           " FROM unnest($1::text[], $2::text[], $3::text[], $4::int[]) AS d(src, label, dst, n)"
           " WHERE e.src = d.src AND e.label = d.label AND e.dst = d.dst"},
      {"drop_zero_edges", "DELETE FROM " + e +
                              " WHERE (src, label, dst) IN (SELECT * FROM unnest($1::text[],"
                              " $2::text[], $3::text[])) AND multiplicity = 0"},
      // A vertex that is not a live entity is referenced exactly while an
      // edge touches it; one that is neither is not kept.
      {"refresh_referenced",
       "UPDATE " + v +
           " AS v SET referenced = NOT v.referenced WHERE v.id = ANY($1::text[])"
           " AND v.referenced <> (NOT (v.has_marker AND NOT v.deleted) AND"
           " (EXISTS (SELECT 1 FROM " +
           e + " WHERE src = v.id) OR EXISTS (SELECT 1 FROM " + e + " WHERE dst = v.id)))"},
      {"drop_unneeded",
       "DELETE FROM " + v + " WHERE id = ANY($1::text[]) AND NOT has_marker AND NOT referenced"},
      {"record_positions",
       "INSERT INTO " + p +
           "_positions AS p (topic, part, log_offset)"
           " SELECT * FROM unnest($1::text[], $2::bigint[], $3::numeric[])"
           " ON CONFLICT (topic, part) DO UPDATE SET log_offset = excluded.log_offset"
           " WHERE p.log_offset < excluded.log_offset"},
      {"positions", "SELECT topic, part, log_offset::text FROM " + p + "_positions"},
      {"scan_live", "SELECT " + cols + " FROM " + v + " WHERE has_marker AND NOT deleted" + page},
      {"scan_marked", "SELECT " + cols + " FROM " + v + " WHERE has_marker" + page},
      {"scan_all", "SELECT " + cols + " FROM " + v + " WHERE true" + page},
      {"scan_edges", edge_cols + " WHERE (src, label, dst) > ($1, $2, $3)"
                                 " ORDER BY src, label, dst LIMIT $4"},
      {"expire_drop", "DELETE FROM " + v +
                          " WHERE has_marker AND deleted AND applied_at_us < $1"
                          " AND NOT referenced"},
      {"expire_keep", "UPDATE " + v +
                          " SET has_marker = false, deleted = false, entity_type = '',"
                          " version = NULL, topic = '', part = 0, log_offset = 0, event_id = '', "
                          "applied_at_us = 0,"
                          " rev = rev + 1 WHERE has_marker AND deleted AND applied_at_us < $1"},
      {"vertices", "SELECT " + cols + ", (SELECT coalesce(sum(multiplicity), 0) FROM " + e +
                       " WHERE src = v.id) + (SELECT coalesce(sum(multiplicity), 0) FROM " + e +
                       " WHERE dst = v.id) FROM " + v +
                       " AS v WHERE v.id = ANY($1::text[]) AND v.label IS NOT NULL"},
      {"out_edges", edge_cols + " WHERE src = ANY($1::text[])" + labels +
                        " ORDER BY src, octet_length(label), label, dst LIMIT $3"},
      {"in_edges", edge_cols + " WHERE dst = ANY($1::text[])" + labels +
                       " ORDER BY dst, octet_length(label), label, src LIMIT $3"},
      {"count_labels",
       "SELECT label, count(*) FROM " + v + " WHERE label IS NOT NULL GROUP BY label"},
      {"with_label", "SELECT id FROM " + v + " WHERE label = $1 ORDER BY id LIMIT $2"},
  };
}

Row RowFrom(const pqxx::row& r) {
  Row row;
  row.id = r[0].as<std::string>();
  row.entity_type = r[1].as<std::string>();
  row.payload = r[2].as<std::string>();
  row.has_marker = r[3].as<bool>();
  row.marker.deleted = r[4].as<bool>();
  if (!r[5].is_null()) row.marker.version = r[5].as<int64_t>();
  row.marker.position.topic = r[6].as<std::string>();
  row.marker.position.partition = static_cast<uint32_t>(r[7].as<int64_t>());
  // Offsets are kept as the bits of a uint64 in a bigint: compared only for
  // equality by the contract rule, which runs in C++.
  row.marker.position.offset = static_cast<uint64_t>(r[8].as<int64_t>());
  row.marker.event_id = r[9].as<std::string>();
  row.marker.applied_at_us = r[10].as<int64_t>();
  row.referenced = r[11].as<bool>();
  row.rev = r[12].as<int64_t>();
  return row;
}

// ---- ConnectionPool ---------------------------------------------------------

ConnectionPool::ConnectionPool(const PgGraphStoreOptions& options, std::string prefix)
    : options_(options), prefix_(std::move(prefix)) {
  conns_.resize(options.pool_size);
  busy_.assign(options.pool_size, false);
}

ConnectionPool::Lease::~Lease() {
  if (pool_ != nullptr) pool_->Release(slot_, discard_);
}

pqxx::connection& ConnectionPool::Lease::conn() { return *pool_->conns_[slot_]; }

Result<ConnectionPool::Lease> ConnectionPool::Acquire() {
  size_t slot = 0;
  {
    std::unique_lock<std::mutex> lock(mu_);
    auto free_slot = [&] { return std::find(busy_.begin(), busy_.end(), false) != busy_.end(); };
    if (!cv_.wait_for(lock, std::chrono::milliseconds(options_.acquire_timeout_ms), free_slot)) {
      return Status::Unavailable("postgres: no free connection within " +
                                 std::to_string(options_.acquire_timeout_ms) +
                                 " ms (pggraph.pool_size " + std::to_string(busy_.size()) + ")");
    }
    slot = static_cast<size_t>(std::find(busy_.begin(), busy_.end(), false) - busy_.begin());
    busy_[slot] = true;
  }
  Lease lease(this, slot);
  if (conns_[slot] == nullptr || !conns_[slot]->is_open()) {
    Status s = Connect(slot);
    if (!s.ok()) {
      lease.Discard();
      return s;
    }
  }
  return lease;
}

Status ConnectionPool::Connect(size_t slot) {
  try {
    auto c = std::make_unique<pqxx::connection>(options_.url);
    {
      pqxx::nontransaction n(*c);
      n.exec("SET statement_timeout = " +
             std::to_string(std::max<int64_t>(0, options_.statement_timeout_ms)));
      // Plan every execution with its parameters: a cached generic plan of
      // `id = ANY($1)` made while the tables were small stays a sequential
      // scan as they grow (measured: load time linear in table size).
      n.exec("SET plan_cache_mode = force_custom_plan");
    }
    for (const auto& [name, sql] : PreparedStatements(prefix_)) c->prepare(name, sql);
    conns_[slot] = std::move(c);
    return Status::OK();
  } catch (const std::exception& e) {
    // libpq's message names host and port, never the password.
    return Status::Unavailable(std::string("postgres connect: ") + e.what());
  }
}

void ConnectionPool::Release(size_t slot, bool discard) {
  if (discard) conns_[slot].reset();
  {
    std::lock_guard<std::mutex> lock(mu_);
    busy_[slot] = false;
  }
  cv_.notify_one();
}

// ---- PgGraphStore: open and transactions ------------------------------------

PgGraphStore::PgGraphStore(const PgGraphStoreOptions& options, std::unique_ptr<ConnectionPool> pool)
    : options_(options),
      prefix_(options.table_prefix),
      clock_(options.clock != nullptr ? *options.clock : SystemClock()),
      retention_us_(options.tombstone_retention_us),
      extractor_(options.schema),
      pool_(std::move(pool)) {}

Result<std::unique_ptr<GraphStore>> PgGraphStore::Open(const PgGraphStoreOptions& options) {
  if (options.url.empty()) return Status::InvalidArgument("pggraph.url: required");
  TANDEM_RETURN_IF_ERROR(ValidatePrefix(options.table_prefix));
  if (options.pool_size < 2) {
    return Status::InvalidArgument("pggraph.pool_size: must be at least 2, got " +
                                   std::to_string(options.pool_size));
  }
  if (options.scan_page_rows == 0) {
    return Status::InvalidArgument("pggraph.scan_page_rows: must be at least 1");
  }
  if (options.acquire_timeout_ms <= 0) {
    return Status::InvalidArgument("pggraph.acquire_timeout_ms: must be positive");
  }
  TANDEM_RETURN_IF_ERROR(ValidateGraphSchema(options.schema).WithContext("graph schema"));
  auto pool = std::make_unique<ConnectionPool>(options, options.table_prefix);
  std::unique_ptr<PgGraphStore> store(new PgGraphStore(options, std::move(pool)));
  TANDEM_RETURN_IF_ERROR(store->CreateOrCheckTables());
  return std::unique_ptr<GraphStore>(std::move(store));
}

Status PgGraphStore::CreateOrCheckTables() {
  std::lock_guard<std::mutex> lock(write_mu_);
  const std::string schema = SerializeGraphSchema(options_.schema);
  return RunWrite("open", [&](pqxx::work& t) -> Status {
    t.exec(SchemaDdl(prefix_));
    for (const auto& [name, want] :
         {std::pair<std::string, std::string>{"format", std::string(kFormat)},
          std::pair<std::string, std::string>{"schema", schema}}) {
      pqxx::result r = t.exec_prepared("meta_get", name);
      if (r.empty()) {
        t.exec_prepared("meta_put", name, want);
      } else if (r[0][0].as<std::string>() != want) {
        return Status::FailedPrecondition("pggraph: tables " + prefix_ + "_* hold " + name + " " +
                                          r[0][0].as<std::string>() + ", not " + want +
                                          " (rebuild the graph from the log)");
      }
    }
    return Status::OK();
  });
}

namespace {

// Runs `body` on `lease`'s connection; exceptions become statuses, and a
// broken connection is dropped from the pool.
template <typename Body>
Status Guarded(ConnectionPool::Lease& lease, std::string_view what, Body&& body) {
  try {
    return body(lease.conn());
  } catch (const pqxx::broken_connection& e) {
    lease.Discard();
    return FromPg(e, what);
  } catch (const std::exception& e) {
    return FromPg(e, what);
  }
}

}  // namespace

Status PgGraphStore::RunRead(std::string_view what, const ReadFn& fn) {
  TANDEM_ASSIGN_OR_RETURN(ConnectionPool::Lease lease, pool_->Acquire());
  return Guarded(lease, what, [&](pqxx::connection& c) -> Status {
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> t(c);
    TANDEM_RETURN_IF_ERROR(fn(t));
    t.commit();
    return Status::OK();
  });
}

Status PgGraphStore::RunWrite(std::string_view what, const WriteFn& fn) {
  TANDEM_ASSIGN_OR_RETURN(ConnectionPool::Lease lease, pool_->Acquire());
  return Guarded(lease, what, [&](pqxx::connection& c) -> Status {
    pqxx::work t(c);
    // Writers of these tables, in any process, one at a time: what a batch
    // reads stays true until it commits.
    t.exec_prepared("lock", "tandem_graph:" + prefix_);
    TANDEM_RETURN_IF_ERROR(fn(t));
    t.commit();
    return Status::OK();
  });
}

ApplyCounts PgGraphStore::counters() const {
  std::lock_guard<std::mutex> lock(write_mu_);
  return counters_;
}

}  // namespace pggraph_internal

Result<std::unique_ptr<GraphStore>> OpenPgGraphStore(const PgGraphStoreOptions& options) {
  return pggraph_internal::PgGraphStore::Open(options);
}

}  // namespace tandem
