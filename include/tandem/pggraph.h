// The PostgreSQL graph store: the same GraphStore (tandem/graph.h) as the
// embedded RocksDB one — entities as vertices, schema-declared references as
// edges, placeholders for targets that have not arrived, the store contract
// (tandem/store.h) — kept in three tables of a PostgreSQL 15 database, so
// several tandem processes can share one graph and other tools can query it
// with SQL.
//
//   PgGraphStoreOptions o;
//   o.url = "postgresql://tandem@127.0.0.1:5432/tandem";
//   TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<GraphStore> g, OpenPgGraphStore(o));
//   TANDEM_ASSIGN_OR_RETURN(BatchResult r, g->ApplyBatch(batch));
//
// Tables (prefix `tandem_graph` by default; src/pggraph/README.md has the
// DDL): <prefix>_vertices, <prefix>_edges (indexed from both ends),
// <prefix>_positions and <prefix>_meta (format and schema).
//
// Durability: ApplyBatch is one PostgreSQL transaction (the batch's vertices,
// edges and the leg's positions); it returns after COMMIT, i.e. after the
// server's WAL flush under its synchronous_commit setting (default on). A
// crash on either side before COMMIT leaves nothing of the batch.
//
// Thread safety: a store is safe for concurrent use. Writers (ApplyBatch,
// RestoreEntity, ExpireTombstones) are serialised in the process and, across
// processes sharing the tables, by a transaction-level advisory lock; each
// read runs in one REPEATABLE READ transaction (one committed state).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "tandem/env.h"
#include "tandem/graph.h"
#include "tandem/status.h"

namespace tandem {

struct PgGraphStoreOptions {
  // libpq connection string or URL ("host=127.0.0.1 port=5432 dbname=x" or
  // "postgresql://user@host:port/db"). Required. Never logged: it may hold a
  // password (prefer ~/.pgpass or PGPASSWORD).
  std::string url;
  // Table name prefix, [a-z][a-z0-9_]{0,39} (default "tandem_graph"). Two
  // graphs may share a database under different prefixes.
  std::string table_prefix = "tandem_graph";
  // As GraphStoreOptions::schema: fixed for the life of the tables; opening
  // them with another schema fails (FailedPrecondition).
  GraphSchema schema = BankingSchema();
  // Connections kept open (default 4, at least 2: ScanEntities holds one
  // while its visitor may call the store). Each costs a server backend.
  size_t pool_size = 4;
  // How long a call waits for a free connection before Unavailable
  // (default 30 s).
  int64_t acquire_timeout_ms = 30'000;
  // statement_timeout of every connection (default 30 s; 0 = none). A
  // statement past it fails the call (the batch is rolled back, transient).
  int64_t statement_timeout_ms = 30'000;
  // As GraphStoreOptions::tombstone_retention_us (default 7 days, < 0 =
  // forever; the same resurrection risk).
  int64_t tombstone_retention_us = int64_t{7} * 24 * 3600 * 1'000'000;
  // Clock for applied markers and tombstone expiry; nullptr = SystemClock().
  // Must outlive the store.
  Clock* clock = nullptr;
  // Rows fetched per round trip by the streaming scans (Digest,
  // ScanEntities, CheckInvariants); default 5000.
  size_t scan_page_rows = 5000;
};

// Connects, creates the tables when missing and checks their format and
// schema. InvalidArgument for bad options or schema; Unavailable when the
// server cannot be reached; FailedPrecondition when the tables hold another
// format or schema.
Result<std::unique_ptr<GraphStore>> OpenPgGraphStore(const PgGraphStoreOptions& options);

}  // namespace tandem
