// Helpers for the PostgreSQL graph store tests: one real PostgreSQL server per
// test binary (tests/pg_fixture/pg_server.h, started on first use and stopped
// when the binary exits normally) and a fresh database per test.
//
// Thread safety: SharedPgServer is safe to call from any thread; the server
// lives until static destruction, so a forked child must leave with _exit(2).
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "../pg_fixture/pg_server.h"
#include "tandem/pggraph.h"

namespace tandem::pg_test {

inline PgServer& SharedPgServer() {
  static std::unique_ptr<PgServer> server = [] {
    Result<std::unique_ptr<PgServer>> s = PgServer::Start({});
    if (!s.ok()) {
      std::fprintf(stderr, "cannot start PostgreSQL: %s\n", s.status().ToString().c_str());
      std::abort();
    }
    return std::move(s).value();
  }();
  return *server;
}

// A new, empty database on the shared server.
inline std::string FreshDatabase() {
  Result<std::string> db = SharedPgServer().FreshDatabase();
  if (!db.ok()) {
    ADD_FAILURE() << db.status().ToString();
    return "postgres";
  }
  return *db;
}

// Options for a store in database `db` (small pool, short timeouts).
inline PgGraphStoreOptions PgOptions(const std::string& db, Clock* clock, int64_t retention_us) {
  PgGraphStoreOptions o;
  o.url = SharedPgServer().Url(db);
  o.clock = clock;
  o.tombstone_retention_us = retention_us;
  o.pool_size = 3;
  o.acquire_timeout_ms = 10'000;
  o.statement_timeout_ms = 10'000;
  o.scan_page_rows = 7;  // several pages even in small tests
  return o;
}

}  // namespace tandem::pg_test
