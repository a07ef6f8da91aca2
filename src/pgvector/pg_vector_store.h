// The PostgreSQL + pgvector implementation of VectorStore (tandem/pgvector.h).
//
// Pieces:
//  * PgVectorStore: Open, schema and model check, the read-side Store methods
//    and CheckInvariants (pg_vector_store.cc); row reads and the CAS writes
//    (pg_rows.cc); ApplyBatch: planning with PlanEvent, the text rule,
//    embedding with permanent-error isolation (pg_apply.cc); Search
//    (pg_search.cc); ScanEntities / RestoreEntity / NextContent (pg_audit.cc).
//  * PgSession (pg_session.h): the connection; the only libpqxx user.
//
// Thread safety: as VectorStore. mu_ guards the session: every call that
// talks to PostgreSQL holds it, so calls are serialised. stats_mu_ guards
// the counters, so counters() never waits for a batch.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "pgvector/pg_session.h"
#include "store/json_value.h"
#include "tandem/pgvector.h"
#include "vector/codec.h"
#include "vector/vector_rules.h"

namespace tandem::pgvector_internal {

using vector_internal::EmbeddingText;
using vector_internal::IsTransientEmbedError;
using vector_internal::NormalizeVector;  // vector/codec.h (RocksDB-free)

// The format recorded in <p>_meta; another value is refused on open.
inline constexpr std::string_view kPgVectorFormat = "tandem-pgvector-1";

// One row of <p>_documents as the store code sees it (the embedding itself
// is read only by GetDocument).
struct DocRow {
  std::string entity_id;
  std::string entity_type;
  std::string payload = "{}";  // canonical JSON
  AppliedMarker marker;
  std::optional<std::string> text;  // the embedded text; nullopt: none
  std::string content_hash;         // hex XXH3-128 of text; "" without text
  bool has_vector = false;          // embedding IS NOT NULL
};

// A row to write: its new state, the marker stored now (nullopt: no row),
// and its embedding.
struct RowWrite {
  DocRow after;
  std::optional<AppliedMarker> stored;
  bool keep_vector = false;   // text unchanged: the stored embedding stays
  std::vector<float> vector;  // when !keep_vector: the unit vector (empty: NULL)
};

using RowVisitor = std::function<Result<bool>(DocRow& row)>;

// Hex XXH3-128 of `text` (the content_hash column).
std::string ContentHash(std::string_view text);

class PgVectorStore final : public VectorStore {
 public:
  static Result<std::unique_ptr<VectorStore>> Open(const PgVectorStoreOptions& options);

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
  std::optional<std::string> NextContent(const StoreEvent& incoming, std::string_view payload,
                                         const std::optional<std::string>& previous) const override;

  // VectorStore
  Result<std::vector<VectorHit>> Search(const VectorQuery& query) override;
  Result<VectorDocument> GetDocument(std::string_view entity_id) override;
  Status SaveSnapshots() override { return Status::OK(); }  // PostgreSQL keeps the index
  VectorCounters vector_counters() const override;
  std::map<std::string, uint64_t> IndexSizes() const override;

 private:
  struct Plan;  // pg_apply.cc

  PgVectorStore(const PgVectorStoreOptions& options, std::unique_ptr<PgSession> session);

  std::string Table(std::string_view suffix) const {
    return options_.table_prefix + "_" + std::string(suffix);
  }
  bool Expired(const AppliedMarker& m, int64_t now_us) const {
    return TombstoneExpired(m, now_us, options_.tombstone_retention_us);
  }

  // pg_vector_store.cc
  Status CreateSchema();
  Status CheckOrWriteMeta();
  Status CheckRows();

  // pg_rows.cc (all under mu_)
  Status LoadRows(const std::vector<std::string>& ids, bool for_update,
                  std::unordered_map<std::string, DocRow>* out);
  // Rows with id in [begin, end) ("" end: unbounded) in id order, a page of
  // scan_page_rows at a time; run it inside a snapshot transaction.
  Status ScanRows(std::string_view begin, std::string_view end, bool live_only,
                  const RowVisitor& fn);
  // Updates every row whose stored marker is still `stored` and inserts the
  // new ones; Aborted (nothing to keep: roll back) when a row changed.
  Status WriteRows(const std::vector<RowWrite>& rows);
  Status DeleteRow(const std::string& id, const AppliedMarker& stored);
  Status WritePositions(const PositionMap& handled);

  // pg_apply.cc
  Status PlanBatch(std::span<const StoreEvent> events, int64_t now_us, Plan* plan) const;
  Status EmbedMissing(Plan* plan, bool* found_bad);
  Status Embed(const std::vector<std::string_view>& texts, std::vector<float>* out);
  Status WritePlan(const Plan& plan);
  Result<BatchResult> ApplyLocked(std::span<const StoreEvent> events);

  // pg_audit.cc
  Status RestoreVector(const std::optional<DocRow>& before, RowWrite* w);

  const PgVectorStoreOptions options_;
  Embedder& embedder_;
  const size_t dimension_;
  Clock& clock_;

  mutable std::mutex mu_;
  std::unique_ptr<PgSession> session_;  // GUARDED_BY(mu_)

  mutable std::mutex stats_mu_;
  ApplyCounts counters_;      // GUARDED_BY(stats_mu_)
  VectorCounters vcounters_;  // GUARDED_BY(stats_mu_)
};

}  // namespace tandem::pgvector_internal
