// The PostgreSQL + pgvector vector store: the same VectorStore contract as
// the embedded RocksDB + hnswlib store (tandem/vector.h), kept in three
// tables of a PostgreSQL database with the pgvector extension, so that
// several tandem processes can share one vector store.
//
//   PgVectorStoreOptions o;
//   o.url = "postgresql://tandem@127.0.0.1:5432/tandem";
//   o.embedder = embedder.get();
//   TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<VectorStore> store, OpenPgVectorStore(o));
//
// Tables (created when missing; <p> = table_prefix):
//  * <p>_documents: one row per entity — the applied marker, the canonical
//    payload (text: the digest input) and its jsonb copy `metadata` (what the
//    search filters read), the embedded text and its XXH3-128 content hash,
//    `embedding vector(D)` (NULL when the entity has no text, a text without
//    features, or is a tombstone), indexed by HNSW for the configured
//    distance;
//  * <p>_positions: the leg's highest handled offset per (topic, partition);
//  * <p>_meta: format, embedder model id and dimension (checked on open).
//
// The contract (docs/store_contract.md) is decided by the same rule as every
// other store (PlanEvent) on the rows read `FOR UPDATE`, and enforced in SQL:
// each row is written by `UPDATE ... WHERE <stored marker> = <the marker the
// plan was made against>` (new entities by `INSERT ... ON CONFLICT DO
// NOTHING`); one transaction per ApplyBatch holds the documents and the
// positions. A row that changed underneath (another process) rolls the batch
// back: Aborted, retry. Digest is defined exactly as the RocksDB vector
// store's, so audit and replay compare across backends. There is nothing to
// snapshot: SaveSnapshots is a no-op and the index is PostgreSQL's.
//
// Thread safety: safe for concurrent use. The store holds one connection and
// serialises every call on it (PGlite, the test server, serves one
// connection at a time anyway); ScanEntities holds it for the whole scan, so
// `fn` must not call the store.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/embed.h"
#include "tandem/env.h"
#include "tandem/status.h"
#include "tandem/vector.h"

namespace tandem {

enum class PgVectorDistance {
  kCosine,        // <=>, vector_cosine_ops (default)
  kL2,            // <->, vector_l2_ops
  kInnerProduct,  // <#>, vector_ip_ops
};

// "cosine", "l2", "inner_product" ↔ the enum. InvalidArgument naming the
// accepted values for anything else.
Result<PgVectorDistance> ParsePgVectorDistance(std::string_view name);
std::string_view PgVectorDistanceName(PgVectorDistance d);

struct PgVectorStoreOptions {
  // libpq connection string or URI (required), e.g.
  // "postgresql://user@127.0.0.1:5432/db?connect_timeout=5". Never logged.
  std::string url;
  // Prefix of the three table names (default "tandem_vector"):
  // [a-z_][a-z0-9_]{0,39}. Two stores with different prefixes share a
  // database without seeing each other.
  std::string table_prefix = "tandem_vector";
  // The embedder (required; must outlive the store). Its model_id() and
  // dimension() (1..2000, pgvector's HNSW limit for `vector`) are recorded:
  // opening the tables with another model is FailedPrecondition.
  Embedder* embedder = nullptr;
  // As VectorStoreOptions::text_fields.
  std::map<std::string, std::vector<std::string>> text_fields = {{"person", {"name", "aliases"}},
                                                                 {"company", {"name", "aliases"}}};
  // The operator class of the HNSW index. Vectors are stored unit length, so
  // all three rank alike and Search reports the cosine similarity for each;
  // kInnerProduct is the cheapest to compute.
  PgVectorDistance distance = PgVectorDistance::kCosine;
  // HNSW build parameters, used when the index is created (an existing index
  // keeps its own: drop it to rebuild). m 2..100, ef_construction 4..1000
  // and >= 2*m (pgvector's limits). Defaults as the embedded store.
  size_t hnsw_m = 16;
  size_t hnsw_ef_construction = 100;
  // hnsw.ef_search of a query without VectorQuery::ef (1..1000; a larger k
  // or ef is capped at 1000, and the iterative scan fills the rest).
  size_t hnsw_ef_search = 64;
  // statement_timeout of the session (default 30 s; 0 = none). A statement
  // over it fails its call with Unavailable, which a leg retries.
  int64_t statement_timeout_ms = 30'000;
  // Rows fetched per round trip by ScanEntities, Digest and CheckInvariants
  // (default 1000; 1..100000): memory per page versus round trips.
  size_t scan_page_rows = 1000;
  // Run `CREATE EXTENSION IF NOT EXISTS vector` on open (default true). Set
  // false when the role may not create extensions and an administrator
  // created it.
  bool create_extension = true;
  // Clock for markers and tombstone expiry; nullptr = SystemClock().
  Clock* clock = nullptr;
  // As VectorStoreOptions::tombstone_retention_us (default 7 days; < 0 forever).
  int64_t tombstone_retention_us = int64_t{7} * 24 * 3600 * 1'000'000;
};

// Connects, creates the extension, tables and index when missing, and checks
// the recorded model. InvalidArgument for bad options; Unavailable when the
// server cannot be reached; FailedPrecondition for another format or model.
Result<std::unique_ptr<VectorStore>> OpenPgVectorStore(const PgVectorStoreOptions& options);

}  // namespace tandem
