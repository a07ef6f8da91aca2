// Runs the RocksDB graph store's behaviour tests (tests/graph/graph_test.cc,
// banking_graph_test.cc) on the PostgreSQL store: included by
// tests/graph/graph_test_util.h when compiled with
// -DTANDEM_GRAPH_TEST_BACKEND="pg_graph_backend.h". Each distinct
// GraphStoreOptions::dir (a fresh temp dir per test) maps to a fresh database,
// so reopening the same dir reopens the same tables.
//
// Thread safety: OpenTestGraphStore may be called from any thread.
#pragma once

#include <map>
#include <mutex>

#include "pg_test_util.h"

namespace tandem::graph_test {

inline Result<std::unique_ptr<GraphStore>> OpenTestGraphStore(const GraphStoreOptions& o) {
  static std::mutex mu;
  static std::map<std::string, std::string> db_of_dir;
  std::string db;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = db_of_dir.find(o.dir);
    if (it == db_of_dir.end()) {
      TANDEM_ASSIGN_OR_RETURN(std::string fresh, pg_test::SharedPgServer().FreshDatabase("g"));
      it = db_of_dir.emplace(o.dir, fresh).first;
    }
    db = it->second;
  }
  PgGraphStoreOptions p = pg_test::PgOptions(db, o.clock, o.tombstone_retention_us);
  p.schema = o.schema;
  return OpenPgGraphStore(p);
}

}  // namespace tandem::graph_test
