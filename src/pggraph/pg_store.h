// The PostgreSQL implementation of GraphStore (tandem/pggraph.h). The only
// header of the module that includes libpqxx; only src/pggraph/*.cc include it.
//
// Pieces:
//  * ConnectionPool: a fixed number of libpq connections, each with the
//    module's statements prepared; a lease returns its connection, or drops
//    it when it broke (reconnected on the next lease).
//  * SQL text helpers: array literals for unnest()/ANY() parameters, so a
//    batch costs a fixed number of round trips whatever its size.
//  * PgGraphStore: open and DDL (pg_schema.cc), writes (pg_apply.cc), reads
//    and traversals (pg_read.cc), CheckInvariants (pg_invariants.cc).
//
// Thread safety: as GraphStore; writers serialise on write_mu_ and the
// advisory lock, readers take a pooled connection each.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <vector>

#include "graph/references.h"
#include "tandem/pggraph.h"

namespace tandem::pggraph_internal {

using graph_internal::EdgeKey;
using graph_internal::OwnRef;

// libpqxx / libpq exception → Status naming `what`: a lost connection is
// Unavailable, a serialisation failure, deadlock or statement timeout
// Aborted, an unknown commit outcome IOError, a constraint violation
// Corruption, anything else IOError.
Status FromPg(const std::exception& e, std::string_view what);

// PostgreSQL array literals ('{"a","b"}'), elements quoted and escaped.
std::string TextArray(const std::vector<std::string>& items);
template <typename T>
std::string NumberArray(const std::vector<std::optional<T>>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    out += items[i].has_value() ? std::to_string(*items[i]) : std::string("NULL");
  }
  return out + "}";
}
std::string BoolArray(const std::vector<bool>& items);

// The module's prepared statements, by name, for tables named `prefix`_*.
std::vector<std::pair<std::string, std::string>> PreparedStatements(const std::string& prefix);
// CREATE TABLE / INDEX IF NOT EXISTS for tables named `prefix`_*.
std::string SchemaDdl(const std::string& prefix);

class ConnectionPool {
 public:
  ConnectionPool(const PgGraphStoreOptions& options, std::string prefix);
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  class Lease {
   public:
    Lease(ConnectionPool* pool, size_t slot) : pool_(pool), slot_(slot) {}
    Lease(Lease&& other) noexcept : pool_(other.pool_), slot_(other.slot_) {
      other.pool_ = nullptr;
    }
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    pqxx::connection& conn();
    // The connection broke: close it instead of returning it.
    void Discard() { discard_ = true; }

   private:
    ConnectionPool* pool_;
    size_t slot_;
    bool discard_ = false;
  };

  // A connected lease. Unavailable when no connection frees up within the
  // acquire timeout, or the server cannot be reached.
  Result<Lease> Acquire();

 private:
  void Release(size_t slot, bool discard);
  Status Connect(size_t slot);  // requires mu_ not held; the slot is leased

  const PgGraphStoreOptions options_;
  const std::string prefix_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<pqxx::connection>> conns_;  // by slot
  std::vector<bool> busy_;                                // GUARDED_BY(mu_)
};

// A vertex row as the store keeps it (pg_schema.cc has the DDL).
struct Row {
  std::string id;
  std::string entity_type;
  std::string payload = "{}";
  bool has_marker = false;
  AppliedMarker marker;
  bool referenced = false;
  int64_t rev = 0;  // bumped by every write of the row's marker; 0 for a new row
  bool live() const { return has_marker && !marker.deleted; }
  bool tombstone() const { return has_marker && marker.deleted; }
};

// Columns of a Row, in the order RowFrom reads them.
inline constexpr std::string_view kRowColumns =
    "id, entity_type, properties, has_marker, deleted, version, topic, part, log_offset, "
    "event_id, applied_at_us, referenced, rev";
Row RowFrom(const pqxx::row& r);

class PgGraphStore final : public GraphStore {
 public:
  static Result<std::unique_ptr<GraphStore>> Open(const PgGraphStoreOptions& options);

  // Store
  Result<BatchResult> ApplyBatch(std::span<const StoreEvent> events) override;
  Result<PositionMap> Positions() override;
  Result<EntityState> Get(std::string_view entity_id) override;
  Result<StoreDigest> Digest() override;
  Result<uint64_t> ExpireTombstones() override;
  Status CheckInvariants() override;
  ApplyCounts counters() const override;
  Status ScanEntities(std::string_view begin, std::string_view end,
                      const EntityVisitor& fn) override;
  Result<bool> RestoreEntity(std::string_view entity_id,
                             const std::optional<AppliedMarker>& expected,
                             const std::optional<EntityState>& target) override;

  // GraphStore
  Result<Vertex> GetVertex(std::string_view id) override;
  Result<std::vector<Edge>> Neighbors(std::string_view id, Direction direction,
                                      std::string_view edge_label, size_t limit) override;
  Result<Subgraph> Expand(std::string_view start, const ExpandOptions& options) override;
  Result<std::optional<Path>> ShortestPath(std::string_view from, std::string_view to,
                                           const PathOptions& options) override;
  Result<std::map<std::string, uint64_t>> CountByLabel() override;
  Result<std::vector<std::string>> VerticesWithLabel(std::string_view label, size_t limit) override;

  using ReadFn = std::function<Status(pqxx::transaction_base&)>;
  using WriteFn = std::function<Status(pqxx::work&)>;
  // Runs `fn` in one REPEATABLE READ READ ONLY transaction.
  Status RunRead(std::string_view what, const ReadFn& fn);
  // Runs `fn` in one transaction holding the store's advisory lock (under
  // write_mu_, which the caller holds) and commits when it returns OK.
  Status RunWrite(std::string_view what, const WriteFn& fn);

 private:
  PgGraphStore(const PgGraphStoreOptions& options, std::unique_ptr<ConnectionPool> pool);
  Status CreateOrCheckTables();

  // pg_read.cc
  // Vertices (live or placeholder) among `ids`, by id.
  Result<std::map<std::string, Vertex>> LoadVertices(pqxx::transaction_base& t,
                                                     const std::vector<std::string>& ids);
  // Edges of each of `ids` in `direction`, in the RocksDB store's order
  // (out-edges, then in-edges; by label length, label, other end; a
  // self-loop once for kBoth; only `labels` in their order when given), at
  // most `limit` per id.
  Result<std::map<std::string, std::vector<Edge>>> EdgesOf(pqxx::transaction_base& t,
                                                           const std::vector<std::string>& ids,
                                                           Direction direction,
                                                           const std::vector<std::string>& labels,
                                                           size_t limit);
  // Visits the vertex rows matching `where` (over columns of kRowColumns,
  // with $1 the lower id bound, exclusive after the first page) in id order.
  Status ScanRows(pqxx::transaction_base& t, const std::string& statement, std::string_view begin,
                  std::string_view end, const std::function<Result<bool>(Row&)>& fn);
  // The references a live row declares, sorted (none for other rows).
  Result<std::vector<OwnRef>> OwnRefs(const Row& row) const;

  bool Expired(const AppliedMarker& m, int64_t now_us) const {
    return TombstoneExpired(m, now_us, retention_us_);
  }

  friend class BatchWriter;
  const PgGraphStoreOptions options_;
  const std::string prefix_;
  Clock& clock_;
  const int64_t retention_us_;
  const graph_internal::ReferenceExtractor extractor_;
  std::unique_ptr<ConnectionPool> pool_;

  mutable std::mutex write_mu_;  // serialises this process's writers
  ApplyCounts counters_;         // GUARDED_BY(write_mu_)
};

}  // namespace tandem::pggraph_internal
